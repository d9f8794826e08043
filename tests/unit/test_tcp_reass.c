/* Out-of-order reassembly (RFC 9293 3.10.7.4, RFC 2018) checked against a
 * deliberately naive reference: a bitmap of the bytes held. First the
 * range list alone on random segments (merging, the hole limit, most
 * recent first), then the whole rx path of the engine: random segments of
 * a random stream into a 4 KiB ring that wraps many times, with the glue
 * draining it, compared byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoststack/tcp_internal.h"

#define W 4096u

static uint64_t rs = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (uint32_t)(rs % n);
}

/* The reference: bit i set when byte base + i is held (i < 2W). */
typedef struct {
  uint8_t held[2 * W];
} ref_t;

/* Runs of held bytes at or after from, as ranges in sequence space. */
static int ref_runs(const ref_t *r, uint32_t from, uint32_t base,
                    mf_tcp_range_t *out, int max)
{
  int n = 0;
  for (uint32_t i = from; i < 2 * W;) {
    if (!r->held[i]) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j < 2 * W && r->held[j])
      j++;
    if (n < max)
      out[n] = (mf_tcp_range_t){base + i, base + j};
    n++;
    i = j;
  }
  return n;
}

static bool has_range(const mf_tcp_range_t *r, uint8_t n, mf_tcp_range_t x)
{
  for (uint8_t i = 0; i < n; i++)
    if (r[i].start == x.start && r[i].end == x.end)
      return true;
  return false;
}

static void test_ranges_vs_bitmap(void **state)
{
  for (int round = 0; round < 300; round++) {
    ref_t ref;
    memset(&ref, 0, sizeof(ref));
    uint32_t base = 0xffffffffu - rnd(3 * W); /* often wraps 2^32 */
    uint32_t nxt = 0;                        /* offset of rcv_nxt */
    mf_tcp_range_t r[MF_TCP_MAX_HOLES];
    uint8_t n = 0;
    for (int op = 0; op < 400 && nxt < W; op++) {
      /* On a grid of 50 bytes half the time, so that segments often end
       * exactly where a queued range starts; in order one time in four. */
      uint32_t s = nxt + rnd(W - nxt), len = 1 + rnd(300);
      if (rnd(2)) {
        s -= (s - nxt) % 50;
        len = 50 * (1 + rnd(6));
      }
      if (rnd(4) == 0)
        s = nxt;
      if (s + len > 2 * W)
        len = 2 * W - s;
      if (s == nxt) { /* in order: the list gives the new rcv_nxt */
        for (uint32_t i = s; i < s + len; i++)
          ref.held[i] = 1;
        uint32_t got = mf_tcp_reass_advance(r, &n, base + s + len);
        uint32_t want = nxt;
        while (want < 2 * W && ref.held[want])
          want++;
        assert_int_equal(got, base + want);
        nxt = want;
      } else {
        ref_t trial = ref;
        for (uint32_t i = s; i < s + len; i++)
          trial.held[i] = 1;
        mf_tcp_range_t runs[64];
        int k = ref_runs(&trial, nxt, base, runs, 64);
        int res = mf_tcp_reass_add(r, &n, base + s, base + s + len);
        if (k > MF_TCP_MAX_HOLES) {
          assert_int_equal(res, -1); /* refused, nothing changed */
        } else {
          assert_int_equal(res, 0);
          ref = trial;
          /* The newest segment's range comes first (RFC 2018 4). */
          assert_true(MF_SEQ_LEQ(r[0].start, base + s) &&
                      MF_SEQ_GEQ(r[0].end, base + s + len));
        }
      }
      mf_tcp_range_t runs[64];
      int k = ref_runs(&ref, nxt, base, runs, 64);
      assert_int_equal(k, n);
      for (int i = 0; i < k; i++)
        assert_true(has_range(r, n, runs[i]));
    }
  }
}

static void test_hole_limit(void **state)
{
  mf_tcp_range_t r[MF_TCP_MAX_HOLES];
  uint8_t n = 0;
  for (uint32_t i = 0; i < MF_TCP_MAX_HOLES; i++)
    assert_int_equal(mf_tcp_reass_add(r, &n, 100 + 20 * i, 110 + 20 * i), 0);
  assert_int_equal(n, MF_TCP_MAX_HOLES);
  /* A ninth island is refused; touching one still merges. */
  assert_int_equal(mf_tcp_reass_add(r, &n, 1000, 1010), -1);
  assert_int_equal(n, MF_TCP_MAX_HOLES);
  assert_int_equal(mf_tcp_reass_add(r, &n, 110, 120), 0); /* joins two */
  assert_int_equal(n, MF_TCP_MAX_HOLES - 1);
  assert_int_equal(r[0].start, 100);
  assert_int_equal(r[0].end, 130);
  /* Empty or inverted ranges change nothing. */
  assert_int_equal(mf_tcp_reass_add(r, &n, 50, 50), 0);
  assert_int_equal(n, MF_TCP_MAX_HOLES - 1);
}

/* ---- the engine's rx path ---- */
static uint8_t *no_alloc(void *ctx, uint32_t *room)
{
  static uint8_t seg[2048];
  *room = sizeof(seg);
  return seg;
}

static void no_send(void *ctx, uint8_t *seg, uint32_t len)
{
  (*(int *)ctx)++;
}

static uint32_t mk(uint8_t *p, uint32_t seq, uint32_t ack, const uint8_t *d,
                   uint32_t n)
{
  memset(p, 0, 20);
  mf_tcp_put16(p, 40000);
  mf_tcp_put16(p + 2, 80);
  mf_tcp_put32(p + 4, seq);
  mf_tcp_put32(p + 8, ack);
  p[12] = 5 << 4;
  p[13] = MF_TCP_ACK;
  mf_tcp_put16(p + 14, 65535);
  if (n)
    memcpy(p + 20, d, n);
  return 20 + n;
}

static void test_engine_rx_vs_reference(void **state)
{
  enum { STREAM = 1 << 20 };
  uint8_t *stream = malloc(STREAM), *got = malloc(STREAM), *held = calloc(STREAM, 1);
  assert_true(stream && got && held);
  for (uint32_t i = 0; i < STREAM; i++)
    stream[i] = (uint8_t)rnd(256);
  mf_tcp_cfg_t cfg;
  mf_tcp_cfg_default(&cfg);
  cfg.rx_buf = W;
  mf_tcp_mem_t mem;
  mf_tcp_mem_init(&mem, 1 << 20);
  int sent = 0;
  mf_tcp_io_t io = {.ctx = &sent, .seg_alloc = no_alloc, .seg_send = no_send};
  mf_tcp_conn_t c;
  uint8_t pkt[2048];
  /* A bare SYN (no options), then the handshake. */
  uint32_t irs = 0xfffffe00u, iss = 77;
  uint32_t n = mk(pkt, irs, 0, NULL, 0);
  pkt[13] = MF_TCP_SYN;
  assert_int_equal(mf_tcp_accept(&c, &cfg, pkt, n, iss, 1460, 1000), MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(&c, &cfg, 1000, &io);
  n = mk(pkt, irs + 1, iss + 1, NULL, 0);
  assert_int_equal(mf_tcp_input(&c, &cfg, &mem, pkt, n, 2000, &io), MF_TCP_V_ACCEPTED);
  uint32_t nxt = 0, taken = 0, limit_hits = 0;
  uint64_t now = 3000;
  for (int step = 0; step < 400000 && taken < STREAM; step++) {
    now += 10;
    /* Mostly segments near rcv_nxt, some beyond the ring, some old. */
    uint32_t room = W - (nxt - taken);
    uint32_t off = nxt + rnd(room + 600);
    off = off >= 300 && rnd(8) == 0 ? off - 300 : off;
    uint32_t len = 1 + rnd(700);
    if (rnd(2)) { /* segments that end where others begin */
      off -= off % 100;
      len = 100 * (1 + rnd(7));
    }
    if (off >= STREAM)
      continue;
    if (off + len > STREAM)
      len = STREAM - off;
    n = mk(pkt, irs + 1 + off, iss + 1, stream + off, len);
    uint8_t before = c.n_ooo;
    mf_tcp_verdict_t v = mf_tcp_input(&c, &cfg, &mem, pkt, n, now, &io);
    assert_true(v == MF_TCP_V_ACCEPTED || v == MF_TCP_V_RX_FULL ||
                v == MF_TCP_V_OUT_OF_WINDOW || v == MF_TCP_V_OOO_LIMIT);
    if (v == MF_TCP_V_OOO_LIMIT) {
      limit_hits++;
      assert_int_equal(c.n_ooo, before);
    } else if (v != MF_TCP_V_OUT_OF_WINDOW) {
      /* What fits in the ring from rcv_nxt on is held now. */
      uint32_t end = taken + W < off + len ? taken + W : off + len;
      for (uint32_t i = off > nxt ? off : nxt; i < end; i++)
        held[i] = 1;
    }
    while (nxt < STREAM && held[nxt])
      nxt++;
    assert_int_equal(c.rcv_nxt, irs + 1 + nxt);
    /* The queued ranges are exactly the held runs beyond rcv_nxt. */
    uint32_t runs = 0;
    for (uint32_t i = nxt; i < taken + W && i < STREAM;) {
      if (!held[i]) {
        i++;
        continue;
      }
      uint32_t j = i;
      while (j < STREAM && held[j])
        j++;
      mf_tcp_range_t x = {irs + 1 + i, irs + 1 + j};
      assert_true(has_range(c.ooo, c.n_ooo, x));
      runs++;
      i = j;
    }
    assert_int_equal(runs, c.n_ooo);
    /* The glue takes some in-order bytes now and then. */
    if (rnd(3) == 0) {
      struct iovec iov[2];
      uint32_t have = mf_tcp_rx_peek(&c, iov);
      assert_int_equal(have, nxt - taken);
      uint32_t k = rnd(have + 1), done = 0;
      for (int i = 0; i < 2 && done < k; i++) {
        uint32_t m = k - done < iov[i].iov_len ? k - done : (uint32_t)iov[i].iov_len;
        memcpy(got + taken + done, iov[i].iov_base, m);
        done += m;
      }
      mf_tcp_rx_consume(&c, &mem, k);
      taken += k;
      /* The ring goes back as soon as nothing is left in it. */
      if (taken == nxt && c.n_ooo == 0)
        assert_int_equal(mem.in_use, 0);
    }
  }
  assert_int_equal(taken, STREAM);
  assert_memory_equal(got, stream, STREAM);
  /* The hole limit, through the engine: islands of 10 bytes past the
   * end, one more than the list holds; the last is refused whole. */
  (void)limit_hits;
  for (uint32_t i = 0; i <= MF_TCP_MAX_HOLES; i++) {
    n = mk(pkt, irs + 1 + STREAM + 20 * (i + 1), iss + 1, stream, 10);
    mf_tcp_verdict_t v = mf_tcp_input(&c, &cfg, &mem, pkt, n, now, &io);
    assert_int_equal(v, i < MF_TCP_MAX_HOLES ? MF_TCP_V_ACCEPTED : MF_TCP_V_OOO_LIMIT);
  }
  assert_int_equal(c.n_ooo, MF_TCP_MAX_HOLES);
  assert_true(c.stats.ooo_segments > 1000);
  mf_tcp_release(&c, &mem);
  assert_int_equal(mem.in_use, 0);
  mf_tcp_mem_destroy(&mem);
  free(stream);
  free(got);
  free(held);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranges_vs_bitmap),
      cmocka_unit_test(test_hole_limit),
      cmocka_unit_test(test_engine_rx_vs_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
