/* The WireGuard socket's UDP offloads (wg_udp.h): how a vector is cut into
 * segmented datagrams (the Linux GSO rule: one destination, one size, the
 * last segment may be shorter, at most 64 segments and 64 KiB), the
 * UDP_SEGMENT and UDP_GRO control messages, splitting a coalesced read
 * into buffers (contents, order, sources, pool exhaustion, oversize and
 * truncated datagrams), and a round trip over the loopback device, where
 * a segmented send reaches a UDP_GRO socket as one coalesced read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buffer.h"
#include "io/udp.h"
#include "wireguard/wg_udp.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static mf_sockaddr_t addr(const char *text)
{
  mf_sockaddr_t a;
  const char *why;
  assert_int_equal(mf_sockaddr_parse(text, &a, &why), 0);
  return a;
}

/* ------------------------------------------------------------ planning */

static void test_plan_one_peer_same_size(void **state)
{
  uint32_t len[9] = {1452, 1452, 1452, 1452, 1452, 800, 1452, 1452, 1452};
  mf_sockaddr_t to[9];
  for (int i = 0; i < 9; i++)
    to[i] = addr("10.0.0.2:51820");
  mf_wg_udp_run_t runs[9];
  /* The shorter packet ends the first run as its last segment. */
  assert_int_equal(mf_wg_udp_plan(len, to, 9, MF_WG_UDP_MAX_SEGS, runs), 2);
  assert_int_equal(runs[0].first, 0);
  assert_int_equal(runs[0].n, 6);
  assert_int_equal(runs[0].seg, 1452);
  assert_int_equal(runs[1].first, 6);
  assert_int_equal(runs[1].n, 3);
  /* max_segs 1: every packet alone. */
  assert_int_equal(mf_wg_udp_plan(len, to, 9, 1, runs), 9);
  for (uint32_t i = 0; i < 9; i++)
    assert_true(runs[i].first == i && runs[i].n == 1 && runs[i].seg == len[i]);
}

static void test_plan_breaks(void **state)
{
  /* A longer packet after shorter ones, a new destination, a new port, a
   * zero-length packet: each starts a run of its own. */
  uint32_t len[8] = {100, 100, 200, 200, 200, 0, 0, 64};
  mf_sockaddr_t to[8];
  for (int i = 0; i < 8; i++)
    to[i] = addr("10.0.0.2:51820");
  to[4] = addr("10.0.0.3:51820");
  to[7] = addr("10.0.0.3:51821");
  mf_wg_udp_run_t runs[8];
  uint32_t n = mf_wg_udp_plan(len, to, 8, MF_WG_UDP_MAX_SEGS, runs);
  const uint32_t want_first[] = {0, 2, 4, 5, 6, 7}, want_n[] = {2, 2, 1, 1, 1, 1};
  assert_int_equal(n, 6);
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(runs[i].first, want_first[i]);
    assert_int_equal(runs[i].n, want_n[i]);
  }
  /* IPv6 endpoints: same address and port join, another scope does not. */
  mf_sockaddr_t six[3] = {addr("[fd00::2]:51820"), addr("[fd00::2]:51820"),
                          addr("[fd00::2]:51820")};
  six[2].in6.sin6_scope_id = 3;
  uint32_t l3[3] = {500, 500, 500};
  assert_int_equal(mf_wg_udp_plan(l3, six, 3, MF_WG_UDP_MAX_SEGS, runs), 2);
  assert_int_equal(runs[0].n, 2);
}

static void test_plan_limits(void **state)
{
  enum { N = 200 };
  uint32_t len[N];
  mf_sockaddr_t to[N];
  mf_wg_udp_run_t runs[N];
  for (int i = 0; i < N; i++) {
    len[i] = 1452;
    to[i] = addr("192.0.2.1:4500");
  }
  /* 64 KiB: 45 segments of 1452 bytes fit, 46 do not. */
  uint32_t n = mf_wg_udp_plan(len, to, N, MF_WG_UDP_MAX_SEGS, runs);
  uint32_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t bytes = 0;
    for (uint32_t k = 0; k < runs[i].n; k++)
      bytes += len[runs[i].first + k];
    assert_true(bytes <= MF_WG_UDP_GSO_MAX_BYTES);
    assert_true(runs[i].n <= MF_WG_UDP_MAX_SEGS);
    assert_int_equal(runs[i].first, total);
    total += runs[i].n;
  }
  assert_int_equal(total, N);
  assert_int_equal(runs[0].n, 45);
  /* Small packets: the segment count is the limit (and max_segs above it
   * is taken as the limit). */
  for (int i = 0; i < N; i++)
    len[i] = 96;
  n = mf_wg_udp_plan(len, to, N, 1000, runs);
  assert_int_equal(n, 4);
  assert_int_equal(runs[0].n, MF_WG_UDP_MAX_SEGS);
  assert_int_equal(runs[3].n, N - 3 * MF_WG_UDP_MAX_SEGS);
  assert_int_equal(mf_wg_udp_plan(len, to, 0, 64, runs), 0);
}

/* ------------------------------------------------------------ control messages */

static void test_segment_cmsg(void **state)
{
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl;
  struct msghdr h = {0};
  mf_wg_udp_set_segment(&h, ctl.buf, 1452);
  assert_ptr_equal(h.msg_control, ctl.buf);
  assert_int_equal(h.msg_controllen, CMSG_SPACE(sizeof(uint16_t)));
  struct cmsghdr *c = CMSG_FIRSTHDR(&h);
  assert_non_null(c);
  assert_int_equal(c->cmsg_level, SOL_UDP);
  assert_int_equal(c->cmsg_type, UDP_SEGMENT);
  assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(uint16_t)));
  uint16_t v;
  memcpy(&v, CMSG_DATA(c), sizeof(v));
  assert_int_equal(v, 1452);
  assert_null(CMSG_NXTHDR(&h, c));
}

static void test_gro_cmsg(void **state)
{
  union {
    char buf[CMSG_SPACE(sizeof(int)) * 2];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr h = {.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
  /* Another option first, then UDP_GRO as an int (as the kernel writes). */
  struct cmsghdr *c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_IPV6;
  c->cmsg_type = 50;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  c = CMSG_NXTHDR(&h, c);
  assert_non_null(c);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_GRO;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int v = 1300;
  memcpy(CMSG_DATA(c), &v, sizeof(v));
  assert_int_equal(mf_wg_udp_gro_size(&h), 1300);
  /* A u16 is read as well; a negative size means none. */
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t s = 900;
  memcpy(CMSG_DATA(c), &s, sizeof(s));
  assert_int_equal(mf_wg_udp_gro_size(&h), 900);
  c->cmsg_len = CMSG_LEN(sizeof(int));
  v = -1;
  memcpy(CMSG_DATA(c), &v, sizeof(v));
  assert_int_equal(mf_wg_udp_gro_size(&h), 0);
  /* No control message at all. */
  h.msg_controllen = 0;
  assert_int_equal(mf_wg_udp_gro_size(&h), 0);
}

/* ------------------------------------------------------------ splitting */

/* Byte j of packet p, so that any misplaced byte shows. */
static uint8_t pattern(uint32_t p, uint32_t j)
{
  return (uint8_t)(p * 31u + j * 7u + (j >> 8));
}

typedef struct {
  mf_buffer_pool_t pool;
  mf_wg_udp_rx_t rx;
  uint8_t *spill;
} split_fx;

static int split_setup(void **state)
{
  split_fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  assert_int_equal(mf_buffer_pool_init(&f->pool, 256), 0);
  f->spill = calloc(4, MF_WG_UDP_SPILL);
  assert_non_null(f->spill);
  *state = f;
  return 0;
}

static int split_teardown(void **state)
{
  split_fx *f = *state;
  mf_buffer_pool_free(&f->pool);
  free(f->spill);
  free(f);
  return 0;
}

/* Lays datagram i out as a read would: packets of the given sizes back to
 * back, the buffer's room first, then spill area i. */
static void lay_out(split_fx *f, uint32_t i, uint32_t bi, const uint32_t *sizes,
                    uint32_t n, uint32_t first_id, uint32_t gso)
{
  mf_buffer_t *b = mf_buffer_get(&f->pool, bi);
  uint32_t head = mf_buffer_tailroom(b);
  uint8_t *spill = f->spill + (size_t)i * MF_WG_UDP_SPILL;
  f->rx.iov[i][0] = (struct iovec){mf_buffer_data(b), head};
  f->rx.iov[i][1] = (struct iovec){spill, MF_WG_UDP_SPILL};
  uint32_t off = 0;
  for (uint32_t p = 0; p < n; p++)
    for (uint32_t j = 0; j < sizes[p]; j++, off++) {
      uint8_t v = pattern(first_id + p, j);
      if (off < head)
        mf_buffer_data(b)[off] = v;
      else
        spill[off - head] = v;
    }
  f->rx.len[i] = off;
  f->rx.gso[i] = gso;
}

/* Packet bi's length, and its bytes where src says: the buffer's data,
 * or (only when not copy_all) inside its datagram's spill area. */
static void check_at(split_fx *f, uint32_t bi, const uint8_t *src, bool copy_all,
                     uint32_t id, uint32_t size)
{
  mf_buffer_t *b = mf_buffer_get(&f->pool, bi);
  assert_int_equal(b->current_length, size);
  if (src != mf_buffer_data(b)) {
    assert_false(copy_all);
    assert_true(src >= f->spill && src + size <= f->spill + 4 * (size_t)MF_WG_UDP_SPILL);
  }
  for (uint32_t j = 0; j < size; j++)
    if (src[j] != pattern(id, j))
      fail_msg("packet %u byte %u", id, j);
}

static void check_packet(split_fx *f, uint32_t bi, uint32_t id, uint32_t size)
{
  check_at(f, bi, mf_buffer_data(mf_buffer_get(&f->pool, bi)), true, id, size);
}

static void split_mixed_read(split_fx *f, bool copy_all)
{
  uint32_t bi[4];
  assert_int_equal(mf_buffer_alloc(&f->pool, bi, 4), 4);
  /* 0: alone; 1: 40 segments of 1452 and a short one (most in the spill,
   * segments straddling the buffer's end); 2: alone, coalesced size but
   * one packet; 3: 3 small segments, all inside the buffer. */
  uint32_t big[41], small[3] = {96, 96, 40}, one = 1452, lone = 148;
  for (int k = 0; k < 40; k++)
    big[k] = 1452;
  big[40] = 1000;
  lay_out(f, 0, bi[0], &lone, 1, 0, 0);
  lay_out(f, 1, bi[1], big, 41, 100, 1452);
  lay_out(f, 2, bi[2], &one, 1, 200, 1452);
  lay_out(f, 3, bi[3], small, 3, 300, 96);
  uint32_t out[MF_WG_UDP_RX_MAX_PACKETS];
  const uint8_t *src[MF_WG_UDP_RX_MAX_PACKETS];
  uint8_t dg[MF_WG_UDP_RX_MAX_PACKETS];
  mf_wg_udp_split_t st;
  uint32_t free0 = f->pool.n_free;
  uint32_t n = mf_wg_udp_split(&f->rx, &f->pool, bi, 4, copy_all, out, src, dg, &st);
  assert_int_equal(n, 1 + 41 + 1 + 3);
  assert_int_equal(st.coalesced, 2);
  assert_int_equal(st.no_buffers, 0);
  assert_int_equal(st.n_bad, 0);
  /* Exactly the further segments came from the pool. */
  assert_int_equal(free0 - f->pool.n_free, 40 + 2);
  uint32_t k = 0, in_spill = 0;
  assert_int_equal(out[k], bi[0]);
  assert_int_equal(dg[k], 0);
  check_at(f, out[k], src[k], copy_all, 0, lone);
  k++;
  assert_int_equal(out[k], bi[1]); /* the first segment stays in place */
  for (uint32_t p = 0; p < 41; p++, k++) {
    assert_int_equal(dg[k], 1);
    check_at(f, out[k], src[k], copy_all, 100 + p, big[p]);
    in_spill += src[k] != mf_buffer_data(mf_buffer_get(&f->pool, out[k]));
  }
  /* Segment 1 straddles the buffer's end and is copied; 2..40 are whole
   * in the spill. */
  assert_int_equal(in_spill, copy_all ? 0 : 39);
  assert_int_equal(out[k], bi[2]);
  check_at(f, out[k], src[k], copy_all, 200, one);
  k++;
  for (uint32_t p = 0; p < 3; p++, k++) {
    assert_int_equal(dg[k], 3);
    check_at(f, out[k], src[k], copy_all, 300 + p, small[p]);
  }
  mf_buffer_free(&f->pool, out, n);
  assert_int_equal(f->pool.n_free, f->pool.n_total);
}

static void test_split_mixed_read(void **state)
{
  split_mixed_read(*state, true);
  split_mixed_read(*state, false);
}

static void test_split_bad_and_short_pool(void **state)
{
  split_fx *f = *state;
  uint32_t bi[4];
  assert_int_equal(mf_buffer_alloc(&f->pool, bi, 4), 4);
  uint32_t one = 3000, seg[4] = {2100, 2100, 2100, 10}, ok[3] = {1000, 1000, 1000};
  /* 0: one datagram larger than a buffer; 1: segments larger than a
   * buffer; 2: cut short by the kernel; 3: fine. */
  lay_out(f, 0, bi[0], &one, 1, 0, 0);
  lay_out(f, 1, bi[1], seg, 4, 10, 2100);
  lay_out(f, 2, bi[2], ok, 3, 20, 1000);
  f->rx.len[2] = UINT32_MAX;
  lay_out(f, 3, bi[3], ok, 3, 30, 1000);
  /* Leave the pool one buffer: datagram 3's third packet has none. */
  uint32_t hold[256];
  uint32_t n_hold = mf_buffer_alloc(&f->pool, hold, f->pool.n_free - 1);
  uint32_t out[16];
  const uint8_t *src[16];
  uint8_t dg[16];
  mf_wg_udp_split_t st;
  uint32_t n = mf_wg_udp_split(&f->rx, &f->pool, bi, 4, true, out, src, dg, &st);
  assert_int_equal(n, 2);
  assert_int_equal(st.no_buffers, 1);
  assert_int_equal(st.n_bad, 3);
  assert_int_equal(st.bad[0], bi[0]);
  assert_int_equal(st.bad[1], bi[1]);
  assert_int_equal(st.bad[2], bi[2]);
  check_packet(f, out[0], 30, 1000);
  check_packet(f, out[1], 31, 1000);
  assert_int_equal(f->pool.n_free, 0);
  mf_buffer_free(&f->pool, out, n);
  mf_buffer_free(&f->pool, st.bad, st.n_bad);
  mf_buffer_free(&f->pool, hold, n_hold);
  assert_int_equal(f->pool.n_free, f->pool.n_total);
}

/* More packets than a read may yield (no kernel delivers this, but the
 * bound must hold): every datagram still gets its first packet out, the
 * rest is counted. */
static void test_split_bound(void **state)
{
  mf_buffer_pool_t pool;
  assert_int_equal(mf_buffer_pool_init(&pool, 2048), 0);
  mf_wg_udp_rx_t *rx = calloc(1, sizeof(*rx));
  assert_non_null(rx);
  uint32_t bi[MF_WG_UDP_RX_PLAIN];
  assert_int_equal(mf_buffer_alloc(&pool, bi, MF_WG_UDP_RX_PLAIN), MF_WG_UDP_RX_PLAIN);
  for (uint32_t i = 0; i < MF_WG_UDP_RX_PLAIN; i++) {
    mf_buffer_t *b = mf_buffer_get(&pool, bi[i]);
    rx->iov[i][0] = (struct iovec){mf_buffer_data(b), mf_buffer_tailroom(b)};
    rx->iov[i][1] = (struct iovec){NULL, 0};
    rx->len[i] = 20 * 96;
    rx->gso[i] = 96;
  }
  static uint32_t out[MF_WG_UDP_RX_MAX_PACKETS];
  static const uint8_t *src[MF_WG_UDP_RX_MAX_PACKETS];
  static uint8_t dg[MF_WG_UDP_RX_MAX_PACKETS];
  mf_wg_udp_split_t st;
  uint32_t n = mf_wg_udp_split(rx, &pool, bi, MF_WG_UDP_RX_PLAIN, false, out, src, dg, &st);
  assert_int_equal(n, MF_WG_UDP_RX_MAX_PACKETS);
  assert_int_equal(st.no_buffers, MF_WG_UDP_RX_PLAIN * 20 - MF_WG_UDP_RX_MAX_PACKETS);
  for (uint32_t i = 0, k = 0; i < MF_WG_UDP_RX_PLAIN; i++) {
    while (k < n && dg[k] < i)
      k++;
    assert_true(k < n && dg[k] == i && out[k] == bi[i]);
  }
  mf_buffer_free(&pool, out, n);
  assert_int_equal(pool.n_free, pool.n_total);
  free(rx);
  mf_buffer_pool_free(&pool);
}

/* ------------------------------------------------------------ loopback */

static uint64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends sizes[] from one socket to another on 127.0.0.1 and reads them
 * back (at most 2 s); returns the packets read, in order, into got[]. */
static uint32_t round_trip(mf_buffer_pool_t *pool, bool offload, const uint32_t *sizes,
                           uint32_t n, uint32_t *got, mf_wg_udp_tx_stats_t *tst,
                           mf_wg_udp_split_t *sst_total)
{
  mf_udp_t a, b;
  char err[128];
  assert_int_equal(mf_udp_open(&a, 0, 0, err, sizeof(err)), 0);
  assert_int_equal(mf_udp_open(&b, 0, 0, err, sizeof(err)), 0);
  mf_wg_udp_offload_t oa = {0}, ob = {0};
  if (offload) {
    mf_wg_udp_offload_setup(a.fd, &oa);
    mf_wg_udp_offload_setup(b.fd, &ob);
  }
  char where[32];
  snprintf(where, sizeof(where), "127.0.0.1:%u", b.port);
  mf_sockaddr_t to[64];
  uint32_t bi[64];
  assert_true(n <= 64);
  assert_int_equal(mf_buffer_alloc(pool, bi, n), n);
  for (uint32_t p = 0; p < n; p++) {
    to[p] = addr(where);
    mf_buffer_t *buf = mf_buffer_get(pool, bi[p]);
    for (uint32_t j = 0; j < sizes[p]; j++)
      mf_buffer_data(buf)[j] = pattern(p, j);
    buf->current_length = sizes[p];
  }
  mf_wg_udp_tx_t *tx = calloc(1, sizeof(*tx));
  mf_wg_udp_rx_t *rx = calloc(1, sizeof(*rx));
  assert_true(tx && rx);
  mf_wg_udp_send(a.fd, &oa, tx, pool, bi, n, to, tst);
  assert_int_equal(tst->sent, n);
  mf_buffer_free(pool, bi, n);
  *sst_total = (mf_wg_udp_split_t){0};
  uint32_t k = 0;
  uint64_t deadline = mono_ms() + 2000;
  while (k < n && mono_ms() < deadline) {
    struct pollfd pfd = {.fd = b.fd, .events = POLLIN};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    uint32_t rb[MF_WG_UDP_RX_PLAIN];
    uint32_t m = mf_buffer_alloc(pool, rb, mf_wg_udp_rx_room(&ob));
    int r = mf_wg_udp_recv(b.fd, &ob, rx, pool, rb, m);
    assert_true(r >= 0);
    mf_buffer_free(pool, rb + r, m - (uint32_t)r);
    uint8_t dg[MF_WG_UDP_RX_MAX_PACKETS];
    const uint8_t *src[MF_WG_UDP_RX_MAX_PACKETS];
    mf_wg_udp_split_t sst;
    uint32_t np = mf_wg_udp_split(rx, pool, rb, (uint32_t)r, true, got + k, src, dg, &sst);
    assert_int_equal(sst.n_bad, 0);
    for (uint32_t i = 0; i < np; i++) {
      /* Every packet knows where it came from. */
      assert_int_equal(ntohs(rx->from[dg[i]].in6.sin6_port), a.port);
    }
    sst_total->coalesced += sst.coalesced;
    sst_total->no_buffers += sst.no_buffers;
    k += np;
  }
  mf_wg_udp_rx_free(rx);
  free(rx);
  free(tx);
  mf_udp_close(&a);
  mf_udp_close(&b);
  return k;
}

static void test_loopback_round_trip(void **state)
{
  mf_buffer_pool_t pool;
  assert_int_equal(mf_buffer_pool_init(&pool, 512), 0);
  uint32_t sizes[30];
  for (int p = 0; p < 30; p++)
    sizes[p] = p < 20 ? 1452 : p < 21 ? 700 : 1200;
  for (int offload = 0; offload < 2; offload++) {
    uint32_t got[MF_WG_UDP_RX_MAX_PACKETS];
    mf_wg_udp_tx_stats_t tst;
    mf_wg_udp_split_t sst;
    uint32_t n = round_trip(&pool, offload, sizes, 30, got, &tst, &sst);
    assert_int_equal(n, 30);
    for (uint32_t p = 0; p < n; p++) {
      mf_buffer_t *b = mf_buffer_get(&pool, got[p]);
      assert_int_equal(b->current_length, sizes[p]);
      for (uint32_t j = 0; j < sizes[p]; j++)
        if (mf_buffer_data(b)[j] != pattern(p, j))
          fail_msg("offload %d: packet %u byte %u", offload, p, j);
    }
    mf_buffer_free(&pool, got, n);
    assert_false(tst.gso_refused);
    if (!offload) {
      assert_int_equal(tst.gso_datagrams, 0);
      assert_int_equal(sst.coalesced, 0);
    } else {
      /* Two runs (20+1 and 9): the loopback hands both over whole. A
       * kernel without the offloads skips this part. */
      mf_wg_udp_offload_t probe;
      mf_udp_t s;
      char err[128];
      assert_int_equal(mf_udp_open(&s, 0, 0, err, sizeof(err)), 0);
      mf_wg_udp_offload_setup(s.fd, &probe);
      mf_udp_close(&s);
      if (probe.gso)
        assert_int_equal(tst.gso_datagrams, 2);
      if (probe.gso && probe.gro)
        assert_int_equal(sst.coalesced, 2);
    }
  }
  assert_int_equal(pool.n_free, pool.n_total);
  mf_buffer_pool_free(&pool);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_one_peer_same_size),
      cmocka_unit_test(test_plan_breaks),
      cmocka_unit_test(test_plan_limits),
      cmocka_unit_test(test_segment_cmsg),
      cmocka_unit_test(test_gro_cmsg),
      cmocka_unit_test_setup_teardown(test_split_mixed_read, split_setup, split_teardown),
      cmocka_unit_test_setup_teardown(test_split_bad_and_short_pool, split_setup,
                                      split_teardown),
      cmocka_unit_test(test_split_bound),
      cmocka_unit_test(test_loopback_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
