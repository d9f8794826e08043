/* Fault injection in tun-input and tun-output: with fault_drop_ppm at 0
 * every packet passes and the generator is never touched; otherwise about
 * ppm per million are dropped, each counted as fault-drop, and nothing
 * else is lost. A SOCK_SEQPACKET socket pair stands in for the TUN: one
 * packet per read or write, as on the device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/graph_rt.h"
#include "io/tun.h"

enum { N_PACKETS = 20480, BATCH = 64, PACKET_LEN = 40 };

static uint32_t delivered;

/* Stands in for ip4-input and ip6-input: counts and frees. */
static uint32_t sink_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                        uint32_t n)
{
  (void)node;
  delivered += n;
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

static const mf_node_reg_t ip4_stub = {.name = "ip4-input", .fn = sink_fn};
static const mf_node_reg_t ip6_stub = {.name = "ip6-input", .fn = sink_fn};
static const mf_node_reg_t *const regs[] = {
    &mf_tun_input_node, &ip4_stub, &ip6_stub, &mf_error_drop_node,
    &mf_tun_output_node};
enum { NODE_TUN_INPUT, NODE_TUN_OUTPUT = 4 };

typedef struct {
  mf_vm_t vm;
  mf_tun_t tun;
  int peer; /* the kernel's side of the pretend TUN */
} rig_t;

static void rig_up(rig_t *r)
{
  int sv[2];
  memset(r, 0, sizeof(*r));
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  r->tun.fd = sv[0];
  r->peer = sv[1];
  r->tun.if_index = 0;
  r->vm.n_ifs = 1;
  assert_int_equal(mf_buffer_pool_init(&r->vm.pool, 1024), 0);
  assert_int_equal(mf_graph_init(&r->vm, regs, 5, 64), 0);
  r->vm.nodes[NODE_TUN_INPUT].ctx = &r->tun;
  r->vm.nodes[NODE_TUN_OUTPUT].ctx = &r->tun;
  delivered = 0;
}

static void rig_down(rig_t *r)
{
  assert_int_equal(r->vm.pool.n_free, 1024); /* every buffer came back */
  mf_graph_free(&r->vm);
  mf_buffer_pool_free(&r->vm.pool);
  close(r->tun.fd);
  close(r->peer);
}

/* The count of `node`'s error called `name`. */
static uint64_t error_count(const mf_vm_t *vm, uint32_t node, const char *name)
{
  const mf_node_rt_t *n = &vm->nodes[node];
  for (uint32_t e = 0; e < n->reg->n_errors; e++)
    if (strcmp(n->reg->errors[e].name, name) == 0)
      return vm->errors[n->error_base + e];
  fail_msg("no error %s", name);
  return 0;
}

/* Sends N_PACKETS IPv4-looking packets into tun-input, BATCH at a time. */
static void run_input(rig_t *r)
{
  uint8_t pkt[PACKET_LEN] = {0x45};
  for (uint32_t sent = 0; sent < N_PACKETS; sent += BATCH) {
    for (uint32_t k = 0; k < BATCH; k++)
      assert_int_equal(write(r->peer, pkt, sizeof(pkt)), sizeof(pkt));
    uint32_t got = 0;
    for (int polls = 0; got < BATCH && polls < 10; polls++)
      got += mf_graph_poll(&r->vm, NODE_TUN_INPUT);
    assert_int_equal(got, BATCH);
  }
}

/* Hands N_PACKETS to tun-output, BATCH at a time, and reads what it
 * wrote. Returns the packets that came out. */
static uint32_t run_output(rig_t *r)
{
  uint32_t out = 0;
  uint8_t buf[MF_BUFFER_DATA_SIZE];
  for (uint32_t sent = 0; sent < N_PACKETS; sent += BATCH) {
    uint32_t bi[BATCH];
    assert_int_equal(mf_buffer_alloc(&r->vm.pool, bi, BATCH), BATCH);
    for (uint32_t k = 0; k < BATCH; k++) {
      mf_buffer_t *b = mf_buffer_get(&r->vm.pool, bi[k]);
      memset(mf_buffer_data(b), 0x60, PACKET_LEN);
      b->current_length = PACKET_LEN;
    }
    mf_graph_inject(&r->vm, NODE_TUN_OUTPUT, bi, BATCH);
    mf_graph_run(&r->vm);
    for (uint32_t k = 0; k <= BATCH; k++) {
      ssize_t n = read(r->peer, buf, sizeof(buf));
      if (n < 0) {
        assert_int_equal(errno, EAGAIN);
        break;
      }
      assert_int_equal(n, PACKET_LEN);
      out++;
    }
  }
  return out;
}

static void test_off_costs_nothing(void **state)
{
  (void)state;
  rig_t r;
  rig_up(&r);
  run_input(&r);
  assert_int_equal(delivered, N_PACKETS);
  assert_int_equal(error_count(&r.vm, NODE_TUN_INPUT, "fault-drop"), 0);
  assert_int_equal(run_output(&r), N_PACKETS);
  assert_int_equal(error_count(&r.vm, NODE_TUN_OUTPUT, "fault-drop"), 0);
  assert_int_equal(r.vm.ifs[0].tx_packets, N_PACKETS);
  assert_int_equal(r.vm.fault_rng, 0); /* the generator never ran */
  rig_down(&r);
}

/* 5% each way: the drops land within five standard deviations of
 * N * p = 1024 (sqrt(20480 * 0.05 * 0.95) = 31), and drops plus deliveries
 * account for every packet. */
static void test_drops_at_rate(void **state)
{
  (void)state;
  rig_t r;
  rig_up(&r);
  r.vm.fault_drop_ppm = 50000;
  run_input(&r);
  uint64_t in_drops = error_count(&r.vm, NODE_TUN_INPUT, "fault-drop");
  assert_int_equal(delivered + in_drops, N_PACKETS);
  assert_true(in_drops >= 1024 - 160 && in_drops <= 1024 + 160);
  assert_int_equal(r.vm.ifs[0].rx_packets, N_PACKETS);
  assert_int_not_equal(r.vm.fault_rng, 0); /* seeded on first use */

  uint32_t out = run_output(&r);
  uint64_t out_drops = error_count(&r.vm, NODE_TUN_OUTPUT, "fault-drop");
  assert_int_equal(out + out_drops, N_PACKETS);
  assert_true(out_drops >= 1024 - 160 && out_drops <= 1024 + 160);
  assert_int_equal(r.vm.ifs[0].tx_packets, out);
  assert_int_equal(error_count(&r.vm, NODE_TUN_OUTPUT, "write-error"), 0);
  print_message("5%%: %llu of %u dropped in, %llu out\n",
                (unsigned long long)in_drops, N_PACKETS,
                (unsigned long long)out_drops);
  rig_down(&r);
}

static void test_all_dropped(void **state)
{
  (void)state;
  rig_t r;
  rig_up(&r);
  r.vm.fault_drop_ppm = 1000000;
  run_input(&r);
  assert_int_equal(delivered, 0);
  assert_int_equal(error_count(&r.vm, NODE_TUN_INPUT, "fault-drop"),
                   N_PACKETS);
  assert_int_equal(run_output(&r), 0);
  assert_int_equal(error_count(&r.vm, NODE_TUN_OUTPUT, "fault-drop"),
                   N_PACKETS);
  rig_down(&r);
}

/* The same seed gives the same choices, run after run; one per million
 * over 20,480 packets drops next to nothing. */
static void test_low_rate_and_repeatable(void **state)
{
  (void)state;
  uint64_t drops[2];
  for (int run = 0; run < 2; run++) {
    rig_t r;
    rig_up(&r);
    r.vm.fault_drop_ppm = 200000;
    r.vm.fault_rng = 12345;
    run_input(&r);
    drops[run] = error_count(&r.vm, NODE_TUN_INPUT, "fault-drop");
    rig_down(&r);
  }
  assert_int_equal(drops[0], drops[1]);
  rig_t r;
  rig_up(&r);
  r.vm.fault_drop_ppm = 1;
  run_input(&r);
  assert_true(error_count(&r.vm, NODE_TUN_INPUT, "fault-drop") <= 2);
  rig_down(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off_costs_nothing),
      cmocka_unit_test(test_drops_at_rate),
      cmocka_unit_test(test_all_dropped),
      cmocka_unit_test(test_low_rate_and_repeatable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
