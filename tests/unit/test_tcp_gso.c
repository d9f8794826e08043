/* Software TCP segmentation against a naive reference: random IPv4 and
 * IPv6 super-packets are cut, and every segment's headers and checksums
 * are checked field by field (checksums recomputed here by a plain
 * word-by-word sum), and the payloads must concatenate back. Then the
 * completion of partial checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ip/headers.h"
#include "ip/tcp_gso.h"

#define ROUNDS 400
#define MAX_PKT 65535

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t below)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)((rng >> 32) % below);
}

/* The reference: RFC 1071 done the slow, obvious way. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, uint32_t len)
{
  for (uint32_t i = 0; i + 1 < len; i += 2)
    sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1)
    sum += (uint32_t)p[len - 1] << 8;
  return sum;
}
static uint16_t ref_fold(uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}
static uint32_t ref_pseudo(const uint8_t *pkt, bool v6, uint32_t l4_len)
{
  uint32_t s = 0;
  if (v6) {
    s = ref_sum(s, pkt + 8, 32);
  } else
    s = ref_sum(s, pkt + 12, 8);
  return s + MF_IP_PROTO_TCP + (l4_len >> 16) + (l4_len & 0xffff);
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct {
  uint8_t pkt[MAX_PKT + 64];
  uint32_t len, ip_len, tcp_len;
  bool v6;
  uint8_t flags;
} super_t;

static void make_super(super_t *s, bool v6, uint32_t payload, uint8_t flags)
{
  memset(s->pkt, 0, sizeof(s->pkt));
  s->v6 = v6;
  s->ip_len = v6 ? 40 : 20 + 4 * rnd(3);
  s->tcp_len = 20 + 4 * rnd(11);
  s->len = s->ip_len + s->tcp_len + payload;
  s->flags = flags;
  uint8_t *p = s->pkt;
  for (uint32_t i = 0; i < s->len; i++)
    p[i] = (uint8_t)rnd(256);
  if (v6) {
    p[0] = 0x60;
    p[4] = (uint8_t)((s->len - 40) >> 8);
    p[5] = (uint8_t)(s->len - 40);
    p[6] = MF_IP_PROTO_TCP;
  } else {
    p[0] = (uint8_t)(0x40 | s->ip_len / 4);
    p[2] = (uint8_t)(s->len >> 8);
    p[3] = (uint8_t)s->len;
    p[6] = 0x40; /* DF, no fragment */
    p[7] = 0;
    p[9] = MF_IP_PROTO_TCP;
  }
  uint8_t *t = p + s->ip_len;
  t[12] = (uint8_t)((s->tcp_len / 4) << 4);
  t[13] = flags;
}

static void check_segments(const super_t *s, uint32_t mss)
{
  mf_gso_plan_t plan;
  assert_int_equal(mf_gso_plan(&plan, s->pkt, s->len, mss), MF_GSO_OK);
  uint32_t payload = s->len - s->ip_len - s->tcp_len;
  uint32_t want_n = payload ? (payload + mss - 1) / mss : 1;
  assert_int_equal(plan.n_segments, want_n);
  static uint8_t joined[MAX_PKT], seg[MAX_PKT];
  uint32_t joined_len = 0;
  const uint8_t *t0 = s->pkt + s->ip_len;
  for (uint32_t k = 0; k < plan.n_segments; k++) {
    uint32_t len = mf_gso_segment_len(&plan, k);
    memset(seg, 0xee, sizeof(seg));
    mf_gso_write_segment(&plan, k, seg);
    uint32_t pl = len - s->ip_len - s->tcp_len;
    assert_true(pl <= mss);
    if (k + 1 < plan.n_segments)
      assert_int_equal(pl, mss);
    if (s->v6) {
      assert_int_equal(get16(seg + 4), len - 40);
      assert_memory_equal(seg + 8, s->pkt + 8, 32);
    } else {
      assert_int_equal(get16(seg + 2), len);
      assert_int_equal(get16(seg + 4), (uint16_t)(get16(s->pkt + 4) + k));
      assert_int_equal(ref_fold(ref_sum(0, seg, s->ip_len)), 0xffff);
      assert_memory_equal(seg + 12, s->pkt + 12, 8);
    }
    const uint8_t *t = seg + s->ip_len;
    assert_int_equal(get32(t + 4), get32(t0 + 4) + k * mss);
    assert_int_equal(get32(t + 8), get32(t0 + 8)); /* ack untouched */
    uint8_t want = s->flags;
    if (k + 1 < plan.n_segments)
      want &= (uint8_t)~(MF_TCP_FIN | MF_TCP_PSH);
    if (k > 0)
      want &= (uint8_t)~0x80;
    assert_int_equal(t[13], want);
    /* Options copied as they were. */
    assert_memory_equal(t + 20, t0 + 20, s->tcp_len - 20);
    uint32_t l4 = len - s->ip_len;
    assert_int_equal(ref_fold(ref_pseudo(seg, s->v6, l4) + ref_sum(0, t, l4)),
                     0xffff);
    memcpy(joined + joined_len, t + s->tcp_len, pl);
    joined_len += pl;
  }
  assert_int_equal(joined_len, payload);
  assert_memory_equal(joined, s->pkt + s->ip_len + s->tcp_len, payload);
}

static void test_random_super_packets(void **state)
{
  (void)state;
  static super_t s;
  for (int r = 0; r < ROUNDS; r++) {
    bool v6 = r & 1;
    uint32_t mss = 536 + rnd(1500 - 536);
    uint32_t max_payload = MAX_PKT - 40 - 60 - (v6 ? 40 : 60);
    uint32_t payload = r % 7 == 0 ? rnd(mss + 1) : rnd(max_payload + 1);
    if (payload / mss >= MF_GSO_MAX_SEGMENTS)
      payload = mss * 40;
    uint8_t flags = MF_TCP_ACK;
    if (r & 2)
      flags |= MF_TCP_PSH;
    if (r & 4)
      flags |= MF_TCP_FIN;
    if (r & 8)
      flags |= 0x80; /* CWR */
    make_super(&s, v6, payload, flags);
    check_segments(&s, mss);
  }
}

static void test_exact_multiple_and_bare_header(void **state)
{
  (void)state;
  static super_t s;
  make_super(&s, false, 1448 * 3, MF_TCP_ACK | MF_TCP_PSH | MF_TCP_FIN);
  check_segments(&s, 1448);
  make_super(&s, true, 0, MF_TCP_ACK | MF_TCP_FIN);
  check_segments(&s, 1448);
}

static void test_refused(void **state)
{
  (void)state;
  static super_t s;
  mf_gso_plan_t plan;
  make_super(&s, false, 4000, MF_TCP_ACK);
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.len, 0), MF_GSO_BAD_SIZE);
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.len, 10), MF_GSO_BAD_SIZE);
  /* Length fields that disagree with the packet. */
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.len - 1, 1000), MF_GSO_BAD_HEADER);
  s.pkt[9] = MF_IP_PROTO_UDP;
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.len, 1000), MF_GSO_BAD_HEADER);
  make_super(&s, true, 4000, MF_TCP_ACK);
  s.pkt[6] = 0; /* a hop-by-hop header */
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.len, 1000), MF_GSO_BAD_HEADER);
  make_super(&s, false, 4000, MF_TCP_ACK);
  /* A 60-byte TCP header in a packet that ends 40 bytes after the IP
   * header (total length said so too). */
  s.pkt[s.ip_len + 12] = 0xf0;
  s.pkt[2] = 0;
  s.pkt[3] = (uint8_t)(s.ip_len + 40);
  assert_int_equal(mf_gso_plan(&plan, s.pkt, s.ip_len + 40, 1000), MF_GSO_BAD_HEADER);
  assert_int_equal(mf_gso_plan(&plan, s.pkt, 0, 1000), MF_GSO_BAD_HEADER);
  uint8_t junk = 0x70;
  assert_int_equal(mf_gso_plan(&plan, &junk, 1, 1000), MF_GSO_BAD_HEADER);
}

/* A partial checksum as the kernel leaves it: the folded pseudo-header
 * sum, not complemented. Completing it must give the full checksum. */
static void test_csum_complete(void **state)
{
  (void)state;
  static super_t s;
  for (int r = 0; r < 50; r++) {
    bool v6 = r & 1;
    make_super(&s, v6, rnd(3000), MF_TCP_ACK);
    uint8_t *t = s.pkt + s.ip_len;
    uint32_t l4 = s.len - s.ip_len;
    uint16_t ps = ref_fold(ref_pseudo(s.pkt, v6, l4));
    t[16] = (uint8_t)(ps >> 8);
    t[17] = (uint8_t)ps;
    assert_int_equal(mf_gso_csum_complete(s.pkt, s.len, s.ip_len, 16), 0);
    assert_int_equal(ref_fold(ref_pseudo(s.pkt, v6, l4) + ref_sum(0, t, l4)),
                     0xffff);
  }
  assert_int_equal(mf_gso_csum_complete(s.pkt, 30, 20, 9), -1);
  assert_int_equal(mf_gso_csum_complete(s.pkt, 30, 31, 0), -1);
  assert_int_equal(mf_gso_csum_complete(s.pkt, 30, 20, 8), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_super_packets),
      cmocka_unit_test(test_exact_multiple_and_bare_header),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_csum_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
