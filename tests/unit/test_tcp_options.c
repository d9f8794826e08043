/* TCP options (RFC 9293 3.2, RFC 7323, RFC 2018): what we write parses
 * back the same; malformed lists (truncated, zero or one length, a length
 * past the end, known kinds of the wrong size) are refused; unknown kinds
 * and padding are skipped; the header parser refuses data offsets outside
 * the segment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoststack/tcp_internal.h"

static void assert_same(const mf_tcp_opts_t *a, const mf_tcp_opts_t *b)
{
  assert_int_equal(a->has_mss, b->has_mss);
  if (a->has_mss)
    assert_int_equal(a->mss, b->mss);
  assert_int_equal(a->has_wscale, b->has_wscale);
  if (a->has_wscale)
    assert_int_equal(a->wscale, b->wscale);
  assert_int_equal(a->sack_perm, b->sack_perm);
  assert_int_equal(a->has_ts, b->has_ts);
  if (a->has_ts) {
    assert_int_equal(a->tsval, b->tsval);
    assert_int_equal(a->tsecr, b->tsecr);
  }
}

static void test_round_trip_syn(void **state)
{
  /* Every combination of the SYN options. */
  for (int m = 0; m < 16; m++) {
    mf_tcp_opts_t o, p;
    memset(&o, 0, sizeof(o));
    o.has_mss = m & 1;
    o.mss = 1460;
    o.has_wscale = m & 2;
    o.wscale = 9;
    o.sack_perm = m & 4;
    o.has_ts = m & 8;
    o.tsval = 0xdeadbeef;
    o.tsecr = 0x01020304;
    uint8_t buf[40];
    uint32_t n = mf_tcp_options_write(buf, &o);
    assert_int_equal(n, mf_tcp_options_len(&o));
    assert_true(n <= 40 && n % 4 == 0);
    assert_int_equal(mf_tcp_options_parse(buf, n, &p), 0);
    assert_same(&o, &p);
    assert_int_equal(p.n_sack, 0);
  }
}

static void test_round_trip_sack(void **state)
{
  for (int ts = 0; ts < 2; ts++) {
    for (uint8_t k = 1; k <= 4; k++) {
      mf_tcp_opts_t o, p;
      memset(&o, 0, sizeof(o));
      o.has_ts = ts;
      o.tsval = 7;
      o.n_sack = k;
      for (uint8_t i = 0; i < k; i++)
        o.sack[i] = (mf_tcp_range_t){1000u * i + 0xfffff000u, 1000u * i + 500};
      uint8_t buf[40];
      uint32_t n = mf_tcp_options_write(buf, &o);
      assert_true(n <= 40 && n % 4 == 0);
      assert_int_equal(mf_tcp_options_parse(buf, n, &p), 0);
      /* With timestamps only three blocks fit in 40 bytes. */
      uint8_t fit = ts && k > 3 ? 3 : k;
      assert_int_equal(p.n_sack, fit);
      for (uint8_t i = 0; i < fit; i++) {
        assert_int_equal(p.sack[i].start, o.sack[i].start);
        assert_int_equal(p.sack[i].end, o.sack[i].end);
      }
      assert_same(&o, &p);
    }
  }
}

static void test_known_wire_bytes(void **state)
{
  /* A SYN's options as Linux writes them. */
  const uint8_t linux_syn[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34,
                               0, 0, 0, 0, 1, 3, 3, 7};
  mf_tcp_opts_t o;
  assert_int_equal(mf_tcp_options_parse(linux_syn, sizeof(linux_syn), &o), 0);
  assert_true(o.has_mss && o.mss == 1460);
  assert_true(o.sack_perm);
  assert_true(o.has_ts && o.tsval == 0x1234 && o.tsecr == 0);
  assert_true(o.has_wscale && o.wscale == 7);
  /* EOL ends the list: what follows is ignored, even garbage. */
  const uint8_t eol[] = {1, 1, 0, 2, 0, 9};
  assert_int_equal(mf_tcp_options_parse(eol, sizeof(eol), &o), 0);
  assert_false(o.has_mss);
  /* Unknown kinds are skipped by their length. */
  const uint8_t unk[] = {30, 6, 1, 2, 3, 4, 254, 2, 2, 4, 0x02, 0x18};
  assert_int_equal(mf_tcp_options_parse(unk, sizeof(unk), &o), 0);
  assert_true(o.has_mss && o.mss == 536);
  assert_int_equal(mf_tcp_options_parse(unk, 0, &o), 0);
}

static void test_malformed(void **state)
{
  mf_tcp_opts_t o;
  const uint8_t zero_len[] = {2, 0, 5, 0xb4};
  const uint8_t one_len[] = {30, 1, 0, 0};
  const uint8_t past_end[] = {30, 9, 0, 0};
  const uint8_t truncated_kind[] = {1, 1, 1, 2};      /* kind, no length */
  const uint8_t truncated_mss[] = {2, 4, 5};          /* length says 4 */
  const uint8_t mss_wrong[] = {2, 3, 5, 1, 1, 1};
  const uint8_t ws_wrong[] = {3, 4, 7, 0};
  const uint8_t sackp_wrong[] = {4, 3, 0, 1};
  const uint8_t ts_wrong[] = {8, 8, 0, 0, 0, 0, 0, 0};
  const uint8_t sack_odd[] = {5, 6, 0, 0, 0, 1};
  const uint8_t sack_empty[] = {5, 2, 1, 1};
  assert_int_equal(mf_tcp_options_parse(zero_len, sizeof(zero_len), &o), -1);
  assert_int_equal(mf_tcp_options_parse(one_len, sizeof(one_len), &o), -1);
  assert_int_equal(mf_tcp_options_parse(past_end, sizeof(past_end), &o), -1);
  assert_int_equal(mf_tcp_options_parse(truncated_kind, sizeof(truncated_kind), &o), -1);
  assert_int_equal(mf_tcp_options_parse(truncated_mss, sizeof(truncated_mss), &o), -1);
  assert_int_equal(mf_tcp_options_parse(mss_wrong, sizeof(mss_wrong), &o), -1);
  assert_int_equal(mf_tcp_options_parse(ws_wrong, sizeof(ws_wrong), &o), -1);
  assert_int_equal(mf_tcp_options_parse(sackp_wrong, sizeof(sackp_wrong), &o), -1);
  assert_int_equal(mf_tcp_options_parse(ts_wrong, sizeof(ts_wrong), &o), -1);
  assert_int_equal(mf_tcp_options_parse(sack_odd, sizeof(sack_odd), &o), -1);
  assert_int_equal(mf_tcp_options_parse(sack_empty, sizeof(sack_empty), &o), -1);
}

static void test_random_never_reads_past(void **state)
{
  /* Random option bytes in an exactly sized heap block: ASan catches any
   * read past it; the parser must say yes or no, nothing else. */
  uint64_t x = 0x1234567;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint32_t n = (uint32_t)(x % 41);
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (uint32_t k = 0; k < n; k++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      /* Bias toward known kinds and small lengths. */
      uint8_t v = (uint8_t)x;
      p[k] = k % 2 == 0 ? (uint8_t)(v % 10) : (uint8_t)(v % 12);
    }
    mf_tcp_opts_t o;
    int r = mf_tcp_options_parse(p, n, &o);
    assert_true(r == 0 || r == -1);
    if (r == 0)
      assert_true(o.n_sack <= MF_TCP_MAX_SACK);
    free(p);
  }
}

static void test_header(void **state)
{
  uint8_t h[60] = {0};
  mf_tcp_seg_t s;
  h[12] = 5 << 4;
  h[13] = 0xff; /* reserved bits (ECE, CWR) are not ours */
  mf_tcp_put32(h + 4, 0x01020304);
  mf_tcp_put32(h + 8, 0xa0b0c0d0);
  mf_tcp_put16(h + 14, 4321);
  assert_int_equal(mf_tcp_header_parse(h, 25, &s), 0);
  assert_int_equal(s.seq, 0x01020304);
  assert_int_equal(s.ack, 0xa0b0c0d0);
  assert_int_equal(s.wnd, 4321);
  assert_int_equal(s.flags, 0x3f);
  assert_int_equal(s.hdr_len, 20);
  assert_int_equal(s.data_len, 5);
  assert_int_equal(mf_tcp_header_parse(h, 19, &s), -1);
  h[12] = 4 << 4; /* below the fixed header */
  assert_int_equal(mf_tcp_header_parse(h, 60, &s), -1);
  h[12] = 15 << 4; /* 60 bytes of header */
  assert_int_equal(mf_tcp_header_parse(h, 59, &s), -1);
  assert_int_equal(mf_tcp_header_parse(h, 60, &s), 0);
  assert_int_equal(s.data_len, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_syn),
      cmocka_unit_test(test_round_trip_sack),
      cmocka_unit_test(test_known_wire_bytes),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_random_never_reads_past),
      cmocka_unit_test(test_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
