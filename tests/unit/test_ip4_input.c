/* ip4-input against a deliberately naive reference: random headers, some
 * valid and most of them broken in one or more ways, go through the node;
 * each must come out where the reference says (to ip4-lookup with its
 * length trimmed, or dropped under the error the reference names), and the
 * node's error counters must add up. Exercises the fast path's checksum as
 * a divisibility test against RFC 1071's folded sum, and the fall-back
 * from speculation at any position in the vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/graph_rt.h"
#include "ip/nodes.h"

#define N_PACKETS 20000
#define FRAME_MAX 256

typedef struct {
  uint32_t seen;
} sink_t;

static sink_t lookup_sink;
static uint8_t passed[N_PACKETS];

static uint32_t lookup_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                          uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    passed[b->aux] = 1;
    /* What ip4-input promises to the nodes after it. */
    assert_int_equal(b->l4_offset, (mf_buffer_data(b)[0] & 0xf) * 4);
    assert_int_equal(b->current_length,
                     (uint32_t)mf_buffer_data(b)[2] << 8 | mf_buffer_data(b)[3]);
  }
  lookup_sink.seen += n;
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

static const mf_node_reg_t lookup_node = {.name = "ip4-lookup", .fn = lookup_fn};
static const mf_node_reg_t *const regs[] = {&mf_ip4_input_node, &lookup_node,
                                            &mf_error_drop_node};

static uint32_t rng = 2463534242u;
static uint32_t next_rand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* RFC 1071 as written: 16-bit big-endian words, end-around carry. */
static uint16_t ref_sum(const uint8_t *p, uint32_t len)
{
  uint32_t s = 0;
  for (uint32_t i = 0; i + 1 < len; i += 2) {
    s += (uint32_t)p[i] << 8 | p[i + 1];
    s = (s & 0xffff) + (s >> 16);
  }
  return (uint16_t)s;
}

/* The reference verdict: 0 to pass, else 1 + the error's position in the
 * node's table (too-short, bad-version, bad-header-length,
 * bad-total-length, bad-checksum, multicast). */
static uint32_t ref_verdict(const uint8_t *h, uint32_t len)
{
  if (len < 20)
    return 1;
  if (h[0] >> 4 != 4)
    return 2;
  uint32_t hlen = (h[0] & 0xfu) * 4;
  if (hlen < 20 || hlen > len)
    return 3;
  uint32_t total = (uint32_t)h[2] << 8 | h[3];
  if (total < hlen || total > len)
    return 4;
  if (ref_sum(h, hlen) != 0xffff)
    return 5;
  if ((h[16] & 0xf0) == 0xe0 || (h[16] & h[17] & h[18] & h[19]) == 0xff)
    return 6;
  return 0;
}

/* Mostly good packets, so runs of passes alternate with failures. */
static uint32_t make_packet(uint8_t *h)
{
  uint32_t ihl = next_rand() % 8 == 0 ? 5 + next_rand() % 11 : 5;
  uint32_t payload = next_rand() % 64;
  uint32_t len = ihl * 4 + payload;
  for (uint32_t i = 0; i < len; i++)
    h[i] = (uint8_t)next_rand();
  h[0] = (uint8_t)(0x40 | ihl);
  h[2] = (uint8_t)(len >> 8);
  h[3] = (uint8_t)len;
  h[10] = h[11] = 0;
  h[16] &= 0x7f;
  /* Multicast and broadcast destinations, with a correct checksum. */
  if (next_rand() % 32 == 0)
    h[16] = (uint8_t)(0xe0 | next_rand());
  else if (next_rand() % 32 == 0)
    memset(h + 16, 0xff, 4);
  uint16_t c = (uint16_t)~ref_sum(h, ihl * 4);
  h[10] = (uint8_t)(c >> 8);
  h[11] = (uint8_t)c;
  if (next_rand() % 4 == 0) {
    switch (next_rand() % 8) {
    case 0: len = next_rand() % 20; break;
    case 1: h[0] = (uint8_t)next_rand(); break;
    case 2: h[2] = (uint8_t)next_rand(); h[3] = (uint8_t)next_rand(); break;
    case 3: h[10] ^= (uint8_t)(1 + next_rand() % 255); break;
    case 4: h[16] = (uint8_t)(0xe0 | next_rand()); break; /* and a bad sum */
    case 5: h[0] = (uint8_t)(0x40 | next_rand() % 5); break;
    case 6: h[12 + next_rand() % 8] ^= (uint8_t)(1 + next_rand() % 255); break;
    default: len += 1 + next_rand() % 8; break; /* link-layer padding */
    }
  }
  return len;
}

static void test_against_reference(void **state)
{
  static mf_vm_t vm;
  memset(&vm, 0, sizeof(vm));
  assert_int_equal(mf_buffer_pool_init(&vm.pool, 1024), 0);
  assert_int_equal(mf_graph_init(&vm, regs, 3, 16), 0);
  uint64_t want[7] = {0};
  uint32_t verdict[N_PACKETS];
  for (uint32_t done = 0; done < N_PACKETS;) {
    uint32_t n = 1 + next_rand() % FRAME_MAX;
    if (n > N_PACKETS - done)
      n = N_PACKETS - done;
    uint32_t bi[FRAME_MAX];
    assert_int_equal(mf_buffer_alloc(&vm.pool, bi, n), n);
    for (uint32_t i = 0; i < n; i++) {
      mf_buffer_t *b = mf_buffer_get(&vm.pool, bi[i]);
      uint8_t *h = mf_buffer_data(b);
      b->current_length = make_packet(h);
      b->aux = done + i;
      verdict[done + i] = ref_verdict(h, b->current_length);
      want[verdict[done + i]]++;
    }
    mf_graph_inject(&vm, 0, bi, n);
    mf_graph_run(&vm);
    done += n;
  }
  for (uint32_t i = 0; i < N_PACKETS; i++)
    assert_int_equal(passed[i], verdict[i] == 0);
  assert_int_equal(lookup_sink.seen, want[0]);
  for (uint32_t e = 1; e < 7; e++)
    assert_int_equal(vm.errors[vm.nodes[0].error_base + e - 1], want[e]);
  /* Each kind of packet really was made. */
  for (uint32_t e = 0; e < 7; e++)
    assert_true(want[e] > 0);
  assert_int_equal(vm.pool.n_free, 1024);
  mf_graph_free(&vm);
  mf_buffer_pool_free(&vm.pool);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
