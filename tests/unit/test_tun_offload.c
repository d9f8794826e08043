/* tun-input and tun-output with the virtio-net header: a super-packet
 * lands whole in a large buffer with its offload state, an ordinary packet
 * stays in an ordinary buffer, a header we never asked for is counted and
 * dropped, an empty large pool defers the read, and tun-output puts the
 * header in front. A SOCK_SEQPACKET socket pair stands in for the TUN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/graph_rt.h"
#include "io/tun.h"
#include "io/vnet.h"

enum { N_SMALL = 512, N_LARGE = 4, SUPER_LEN = 30000 };

typedef struct {
  uint32_t len, flags, gso_size;
  bool large;
  uint8_t first, last;
} seen_t;

static seen_t seen[8];
static uint32_t n_seen;

/* Stands in for ip4-input and ip6-input: notes and frees. */
static uint32_t sink_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                        uint32_t n)
{
  (void)node;
  for (uint32_t i = 0; i < n && n_seen < 8; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    seen[n_seen++] = (seen_t){b->current_length, b->flags, b->gso_size,
                              mf_buffer_is_large(&vm->pool, buffers[i]),
                              mf_buffer_data(b)[1],
                              mf_buffer_data(b)[b->current_length - 1]};
  }
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
  int peer;
} rig_t;

static rig_t rig;

static int rig_up(void **state)
{
  int sv[2];
  memset(&rig, 0, sizeof(rig));
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  int sz = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  rig.tun.fd = sv[0];
  rig.tun.vnet_hdr = true;
  rig.tun.spare_large = MF_BUFFER_INVALID;
  rig.peer = sv[1];
  rig.vm.n_ifs = 1;
  assert_int_equal(mf_buffer_pool_init_large(&rig.vm.pool, N_SMALL, N_LARGE), 0);
  assert_int_equal(mf_graph_init(&rig.vm, regs, 5, 64), 0);
  rig.vm.nodes[NODE_TUN_INPUT].ctx = &rig.tun;
  rig.vm.nodes[NODE_TUN_OUTPUT].ctx = &rig.tun;
  n_seen = 0;
  *state = &rig;
  return 0;
}

static int rig_down(void **state)
{
  (void)state;
  if (rig.tun.spare_large != MF_BUFFER_INVALID)
    mf_buffer_free(&rig.vm.pool, &rig.tun.spare_large, 1);
  assert_int_equal(rig.vm.pool.n_free, N_SMALL);
  assert_int_equal(rig.vm.pool.n_large_free, N_LARGE);
  mf_graph_free(&rig.vm);
  mf_buffer_pool_free(&rig.vm.pool);
  close(rig.tun.fd);
  close(rig.peer);
  return 0;
}

static uint64_t error_count(const char *name)
{
  const mf_node_rt_t *n = &rig.vm.nodes[NODE_TUN_INPUT];
  for (uint32_t e = 0; e < n->reg->n_errors; e++)
    if (strcmp(n->reg->errors[e].name, name) == 0)
      return rig.vm.errors[n->error_base + e];
  fail_msg("no error %s", name);
  return 0;
}

static void send_pkt(const struct virtio_net_hdr *h, uint32_t len)
{
  static uint8_t pkt[SUPER_LEN];
  for (uint32_t i = 0; i < len; i++)
    pkt[i] = (uint8_t)(i * 7);
  pkt[0] = 0x45;
  struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {pkt, len}};
  assert_int_equal(writev(rig.peer, iov, 2), (ssize_t)(sizeof(*h) + len));
}

static void poll_input(void)
{
  for (int i = 0; i < 4; i++)
    mf_graph_poll(&rig.vm, NODE_TUN_INPUT);
}

static void test_super_and_plain(void **state)
{
  (void)state;
  struct virtio_net_hdr super = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                 .hdr_len = 40, .gso_size = 1448,
                                 .csum_start = 20, .csum_offset = 16};
  struct virtio_net_hdr plain = {0};
  send_pkt(&super, SUPER_LEN);
  send_pkt(&plain, 100);
  send_pkt(&super, SUPER_LEN);
  poll_input();
  assert_int_equal(n_seen, 3);
  for (int k = 0; k < 3; k += 2) {
    assert_int_equal(seen[k].len, SUPER_LEN);
    assert_true(seen[k].large);
    assert_true(seen[k].flags & MF_BUFFER_F_GSO);
    assert_true(seen[k].flags & MF_BUFFER_F_CSUM_PARTIAL);
    assert_int_equal(seen[k].gso_size, 1448);
    /* The bytes that crossed from the ordinary buffer and the rest. */
    assert_int_equal(seen[k].first, 7);
    assert_int_equal(seen[k].last, (uint8_t)((SUPER_LEN - 1) * 7));
  }
  assert_int_equal(seen[1].len, 100);
  assert_false(seen[1].large);
  assert_int_equal(seen[1].flags & MF_BUFFER_F_OFFLOAD, 0);
  assert_int_equal(error_count("super-packets"), 2);
}

static void test_bad_header_dropped(void **state)
{
  (void)state;
  struct virtio_net_hdr udp = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .gso_type = VIRTIO_NET_HDR_GSO_UDP,
                               .gso_size = 1000, .csum_start = 20,
                               .csum_offset = 6};
  struct virtio_net_hdr plain = {0};
  send_pkt(&udp, SUPER_LEN);
  send_pkt(&plain, 60);
  poll_input();
  assert_int_equal(n_seen, 1);
  assert_int_equal(seen[0].len, 60);
  assert_int_equal(error_count("bad-vnet-header"), 1);
}

static void test_no_large_buffer_defers(void **state)
{
  (void)state;
  uint32_t held[N_LARGE];
  for (int i = 0; i < N_LARGE; i++)
    held[i] = mf_buffer_alloc_large(&rig.vm.pool);
  struct virtio_net_hdr plain = {0};
  send_pkt(&plain, 60);
  poll_input();
  assert_int_equal(n_seen, 0);
  assert_true(error_count("no-large-buffers") > 0);
  mf_buffer_free(&rig.vm.pool, held, N_LARGE);
  poll_input();
  assert_int_equal(n_seen, 1); /* it waited in the queue */
}

static void test_output_header(void **state)
{
  (void)state;
  uint32_t bi[2];
  assert_int_equal(mf_buffer_alloc(&rig.vm.pool, bi, 2), 2);
  for (int k = 0; k < 2; k++) {
    mf_buffer_t *b = mf_buffer_get(&rig.vm.pool, bi[k]);
    memset(mf_buffer_data(b), 0, 200);
    mf_buffer_data(b)[0] = 0x60;
    mf_buffer_data(b)[40 + 12] = 5 << 4;
    b->current_length = 200;
  }
  mf_buffer_t *g = mf_buffer_get(&rig.vm.pool, bi[1]);
  g->flags |= MF_BUFFER_F_GSO | MF_BUFFER_F_CSUM_PARTIAL;
  g->gso_type = MF_BUFFER_GSO_TCP6;
  g->gso_size = 100;
  g->csum_start = 40;
  g->csum_offset = 16;
  mf_graph_inject(&rig.vm, NODE_TUN_OUTPUT, bi, 2);
  mf_graph_run(&rig.vm);
  uint8_t buf[512];
  struct virtio_net_hdr h;
  assert_int_equal(read(rig.peer, buf, sizeof(buf)), (ssize_t)(sizeof(h) + 200));
  memcpy(&h, buf, sizeof(h));
  struct virtio_net_hdr zero = {0};
  assert_memory_equal(&h, &zero, sizeof(h));
  assert_int_equal(buf[sizeof(h)], 0x60);
  assert_int_equal(read(rig.peer, buf, sizeof(buf)), (ssize_t)(sizeof(h) + 200));
  memcpy(&h, buf, sizeof(h));
  assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
  assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
  assert_int_equal(h.gso_size, 100);
  assert_int_equal(h.hdr_len, 60);
  assert_int_equal(h.csum_start, 40);
  assert_int_equal(h.csum_offset, 16);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_super_and_plain, rig_up, rig_down),
      cmocka_unit_test_setup_teardown(test_bad_header_dropped, rig_up, rig_down),
      cmocka_unit_test_setup_teardown(test_no_large_buffer_defers, rig_up, rig_down),
      cmocka_unit_test_setup_teardown(test_output_header, rig_up, rig_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
