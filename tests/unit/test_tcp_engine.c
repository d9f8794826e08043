/* The TCP engine against a scripted app: each test writes the app's
 * segments by hand and reads back what the engine sent through a fake
 * mf_tcp_io_t. Handshake and options, data both ways, delayed ACK, half
 * close in each direction, RST (RFC 5961 3), SYN and ACK challenges (RFC
 * 5961 4-5), PAWS, abort, stateless reset, window scaling, zero window
 * and probes, retransmission and its limit, SACK recovery of every hole
 * and of lost resends, the loss probe, the RTO floor, TIME-WAIT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoststack/tcp_internal.h"

#define MS 1000ull
#define T0 (1000 * MS) /* the clock never starts at 0 */
#define IRS 1000000u
#define ISS 5000000u
#define MAX_OUT 256
#define SEG_ROOM 2048

/* ---- the fake glue: segments the engine sent ---- */
typedef struct {
  uint8_t buf[MAX_OUT][SEG_ROOM];
  uint32_t len[MAX_OUT];
  int n;
  bool refuse; /* seg_alloc returns NULL */
} out_t;

static uint8_t *fake_alloc(void *ctx, uint32_t *room)
{
  out_t *o = ctx;
  if (o->refuse || o->n >= MAX_OUT)
    return NULL;
  *room = SEG_ROOM;
  return o->buf[o->n];
}

static void fake_send(void *ctx, uint8_t *seg, uint32_t len)
{
  out_t *o = ctx;
  assert_ptr_equal(seg, o->buf[o->n]);
  assert_true(len >= 20 && len <= SEG_ROOM);
  o->len[o->n++] = len;
}

/* A sent segment, parsed. */
typedef struct {
  uint32_t seq, ack, wnd, len;
  uint8_t flags;
  mf_tcp_opts_t o;
  const uint8_t *data;
} seg_t;

static seg_t parsed(out_t *o, int i)
{
  assert_true(i < o->n);
  mf_tcp_seg_t s;
  seg_t r;
  assert_int_equal(mf_tcp_header_parse(o->buf[i], o->len[i], &s), 0);
  assert_int_equal(mf_tcp_options_parse(o->buf[i] + 20, s.hdr_len - 20, &r.o), 0);
  assert_int_equal(mf_tcp_get16(o->buf[i]), 80);    /* our port */
  assert_int_equal(mf_tcp_get16(o->buf[i] + 2), 40000); /* the app's */
  assert_int_equal(mf_tcp_get16(o->buf[i] + 16), 0);    /* checksum left */
  r.seq = s.seq;
  r.ack = s.ack;
  r.wnd = s.wnd;
  r.flags = s.flags;
  r.len = s.data_len;
  r.data = s.data;
  return r;
}

/* ---- the app's segments ---- */
typedef struct {
  uint32_t seq, ack;
  uint8_t flags;
  uint16_t wnd;
  bool ts;
  uint32_t tsval, tsecr;
  int n_sack;
  mf_tcp_range_t sack[4];
  const uint8_t *data;
  uint32_t len;
} app_seg_t;

static uint8_t pkt[4096];

static uint32_t build(const app_seg_t *a)
{
  mf_tcp_opts_t o;
  memset(&o, 0, sizeof(o));
  o.has_ts = a->ts;
  o.tsval = a->tsval;
  o.tsecr = a->tsecr;
  o.n_sack = (uint8_t)a->n_sack;
  memcpy(o.sack, a->sack, sizeof(o.sack));
  mf_tcp_put16(pkt, 40000);
  mf_tcp_put16(pkt + 2, 80);
  mf_tcp_put32(pkt + 4, a->seq);
  mf_tcp_put32(pkt + 8, a->ack);
  uint32_t ol = mf_tcp_options_write(pkt + 20, &o);
  pkt[12] = (uint8_t)(((20 + ol) / 4) << 4);
  pkt[13] = a->flags;
  mf_tcp_put16(pkt + 14, a->wnd);
  memset(pkt + 16, 0, 4);
  if (a->len)
    memcpy(pkt + 20 + ol, a->data, a->len);
  return 20 + ol + a->len;
}

/* SYN with every option: MSS 1460, wscale 7, SACK-permitted, TS. */
static uint32_t build_syn(bool options)
{
  mf_tcp_opts_t o;
  memset(&o, 0, sizeof(o));
  if (options) {
    o.has_mss = o.has_wscale = o.sack_perm = o.has_ts = true;
    o.mss = 1460;
    o.wscale = 7;
    o.tsval = 777;
  }
  mf_tcp_put16(pkt, 40000);
  mf_tcp_put16(pkt + 2, 80);
  mf_tcp_put32(pkt + 4, IRS);
  mf_tcp_put32(pkt + 8, 0);
  uint32_t ol = mf_tcp_options_write(pkt + 20, &o);
  pkt[12] = (uint8_t)(((20 + ol) / 4) << 4);
  pkt[13] = MF_TCP_SYN;
  mf_tcp_put16(pkt + 14, 64240);
  memset(pkt + 16, 0, 4);
  return 20 + ol;
}

/* ---- a fixture: one connection and its world ---- */
typedef struct {
  mf_tcp_cfg_t cfg;
  mf_tcp_mem_t mem;
  mf_tcp_conn_t c;
  out_t out;
  mf_tcp_io_t io;
  uint64_t now;
  uint32_t app_nxt; /* the app's next sequence number */
  uint32_t app_ts;
} fx_t;

static fx_t *fx_new(void)
{
  fx_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  mf_tcp_cfg_default(&f->cfg);
  mf_tcp_mem_init(&f->mem, 8u << 20);
  f->io.ctx = &f->out;
  f->io.seg_alloc = fake_alloc;
  f->io.seg_send = fake_send;
  f->now = T0;
  f->app_nxt = IRS + 1;
  f->app_ts = 1000;
  return f;
}

static void fx_free(fx_t *f)
{
  mf_tcp_release(&f->c, &f->mem);
  assert_int_equal(f->mem.in_use, 0);
  mf_tcp_mem_destroy(&f->mem);
  assert_int_equal(f->mem.cached, 0);
  free(f);
}

static mf_tcp_verdict_t fx_in(fx_t *f, app_seg_t *a)
{
  if (f->c.ts_ok && !a->ts) {
    a->ts = true;
    a->tsval = f->app_ts++;
    a->tsecr = 0;
  }
  uint32_t n = build(a);
  return mf_tcp_input(&f->c, &f->cfg, &f->mem, pkt, n, f->now, &f->io);
}

/* The app acknowledges everything we sent, with window wnd (unscaled). */
static mf_tcp_verdict_t fx_ack(fx_t *f, uint32_t ack, uint16_t wnd)
{
  app_seg_t a = {.seq = f->app_nxt, .ack = ack, .flags = MF_TCP_ACK, .wnd = wnd};
  return fx_in(f, &a);
}

static mf_tcp_verdict_t fx_data(fx_t *f, const uint8_t *d, uint32_t n,
                                uint8_t extra)
{
  app_seg_t a = {.seq = f->app_nxt, .ack = f->c.snd_max,
                 .flags = MF_TCP_ACK | extra, .wnd = 512, .data = d, .len = n};
  mf_tcp_verdict_t v = fx_in(f, &a);
  f->app_nxt += n + ((extra & MF_TCP_FIN) ? 1 : 0);
  return v;
}

/* Up to ESTABLISHED with all options (or none). */
static fx_t *fx_established(bool options)
{
  fx_t *f = fx_new();
  uint32_t n = build_syn(options);
  assert_int_equal(mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now),
                   MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 1);
  f->now += MS;
  /* wscale 7 in our SYN: the app's 512 means 64 KiB. */
  assert_int_equal(fx_ack(f, ISS + 1, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_ESTABLISHED);
  f->out.n = 0;
  f->c.events = 0;
  return f;
}

static void fill(uint8_t *d, uint32_t n, uint32_t seed)
{
  for (uint32_t i = 0; i < n; i++)
    d[i] = (uint8_t)((i + seed) * 2654435761u >> 24);
}

static uint32_t tx_put(fx_t *f, const uint8_t *d, uint32_t n)
{
  struct iovec iov[2];
  uint32_t room = mf_tcp_tx_space(&f->c, &f->cfg, &f->mem, iov);
  if (n > room)
    n = room;
  uint32_t k = n < iov[0].iov_len ? n : (uint32_t)iov[0].iov_len;
  if (k)
    memcpy(iov[0].iov_base, d, k);
  if (n > k)
    memcpy(iov[1].iov_base, d + k, n - k);
  mf_tcp_tx_commit(&f->c, n);
  return n;
}

/* ---- tests ---- */

static void test_handshake_options(void **state)
{
  fx_t *f = fx_new();
  uint32_t n = build_syn(true);
  assert_int_equal(mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1400, f->now),
                   MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_SYN_RECEIVED);
  assert_int_equal(f->out.n, 0); /* no SYN-ACK before the upstream */
  /* The app's SYN again while the upstream connects. */
  assert_int_equal(mf_tcp_input(&f->c, &f->cfg, &f->mem, pkt, n, f->now, &f->io),
                   MF_TCP_V_SYN_WAITING);
  assert_int_equal(f->out.n, 0);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 1);
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.flags, MF_TCP_SYN | MF_TCP_ACK);
  assert_int_equal(s.seq, ISS);
  assert_int_equal(s.ack, IRS + 1);
  assert_true(s.o.has_mss && s.o.mss == 1400);
  /* 256 KiB ring: the smallest shift with 262144 >> s <= 65535 is 3. */
  assert_true(s.o.has_wscale && s.o.wscale == 3);
  assert_true(s.o.sack_perm);
  assert_true(s.o.has_ts && s.o.tsecr == 777);
  assert_int_equal(s.wnd, 65535); /* a SYN's window is not scaled */
  assert_int_equal(f->c.snd_mss, 1400);
  assert_int_equal(f->c.snd_wscale, 7);
  /* Connected twice: nothing more. */
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 1);
  f->now += 3 * MS;
  assert_int_equal(fx_ack(f, ISS + 1, 100), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_ESTABLISHED);
  assert_true(f->c.events & MF_TCP_EV_ESTABLISHED);
  assert_int_equal(f->c.snd_wnd, 100 << 7);
  assert_int_equal(f->c.t_rexmit, 0);
  assert_int_equal(f->c.t_state, 0);
  assert_true(f->c.srtt_us >= 2900 && f->c.srtt_us <= 3100);
  assert_int_equal(f->mem.in_use, 0); /* no rings while idle */
  fx_free(f);
}

static void test_handshake_no_options(void **state)
{
  fx_t *f = fx_new();
  uint32_t n = build_syn(false);
  assert_int_equal(mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now),
                   MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  seg_t s = parsed(&f->out, 0);
  assert_true(s.o.has_mss);
  assert_false(s.o.has_wscale);
  assert_false(s.o.sack_perm);
  assert_false(s.o.has_ts);
  assert_int_equal(f->c.snd_mss, 536); /* RFC 9293 3.7.1 default */
  /* cfg may refuse what the app offers. */
  fx_t *g = fx_new();
  g->cfg.sack = g->cfg.timestamps = g->cfg.window_scaling = false;
  n = build_syn(true);
  assert_int_equal(mf_tcp_accept(&g->c, &g->cfg, pkt, n, ISS, 1460, g->now),
                   MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(&g->c, &g->cfg, g->now, &g->io);
  s = parsed(&g->out, 0);
  assert_false(s.o.has_wscale || s.o.sack_perm || s.o.has_ts);
  assert_int_equal(g->c.snd_wscale, 0);
  fx_free(g);
  /* Bad SYNs are refused. */
  fx_t *h = fx_new();
  n = build_syn(true);
  pkt[13] = MF_TCP_SYN | MF_TCP_ACK;
  assert_int_equal(mf_tcp_accept(&h->c, &h->cfg, pkt, n, ISS, 1460, h->now),
                   MF_TCP_V_BAD_FLAGS);
  n = build_syn(true);
  pkt[21] = 0; /* MSS option of length 0 */
  assert_int_equal(mf_tcp_accept(&h->c, &h->cfg, pkt, n, ISS, 1460, h->now),
                   MF_TCP_V_BAD_OPTIONS);
  assert_int_equal(mf_tcp_accept(&h->c, &h->cfg, pkt, 19, ISS, 1460, h->now),
                   MF_TCP_V_BAD_OPTIONS);
  fx_free(h);
  fx_free(f);
}

static void test_synack_retransmit_and_timeout(void **state)
{
  fx_t *f = fx_new();
  f->cfg.syn_rcvd_ms = 5000;
  uint32_t n = build_syn(true);
  mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(mf_tcp_next_timer(&f->c), f->now + 1000 * MS);
  f->now += 1000 * MS;
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 2);
  assert_int_equal(parsed(&f->out, 1).flags, MF_TCP_SYN | MF_TCP_ACK);
  assert_int_equal(f->c.rto_us, 2000 * MS);
  /* The app's SYN again (our SYN-ACK lost): answered at once. */
  n = build_syn(true);
  assert_int_equal(mf_tcp_input(&f->c, &f->cfg, &f->mem, pkt, n, f->now, &f->io),
                   MF_TCP_V_ACCEPTED);
  assert_int_equal(parsed(&f->out, 2).flags, MF_TCP_SYN | MF_TCP_ACK);
  /* Never acknowledged: after syn_rcvd_ms, a RST and the end. */
  for (int i = 0; i < 20 && f->c.state != MF_TCP_S_CLOSED; i++) {
    f->now = mf_tcp_next_timer(&f->c);
    mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  }
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->now <= T0 + 5000 * MS);
  assert_true(f->c.events & MF_TCP_EV_RESET);
  assert_true(f->c.events & MF_TCP_EV_CLOSED);
  assert_true(parsed(&f->out, f->out.n - 1).flags & MF_TCP_RST);
  assert_int_equal(mf_tcp_next_timer(&f->c), 0);
  fx_free(f);
}

static void test_bad_handshake_ack(void **state)
{
  fx_t *f = fx_new();
  uint32_t n = build_syn(false);
  mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now);
  /* Before the SYN-ACK nothing can be acknowledged. */
  assert_int_equal(fx_ack(f, ISS + 1, 100), MF_TCP_V_BAD_ACK);
  assert_int_equal(f->out.n, 0);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  /* A wrong ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>. */
  assert_int_equal(fx_ack(f, ISS + 7, 100), MF_TCP_V_BAD_ACK);
  seg_t s = parsed(&f->out, 1);
  assert_int_equal(s.flags, MF_TCP_RST);
  assert_int_equal(s.seq, ISS + 7);
  assert_int_equal(f->c.state, MF_TCP_S_SYN_RECEIVED);
  fx_free(f);
}

static void test_data_from_app_and_delack(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[3000];
  fill(d, sizeof(d), 1);
  assert_int_equal(fx_data(f, d, 1000, 0), MF_TCP_V_ACCEPTED);
  assert_true(f->c.events & MF_TCP_EV_RX_DATA);
  assert_int_equal(f->out.n, 0); /* one segment: the ACK waits */
  assert_int_equal(f->c.t_delack, f->now + 40 * MS);
  assert_true(f->mem.in_use > 0);
  assert_int_equal(fx_data(f, d + 1000, 1000, MF_TCP_PSH), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->out.n, 1); /* the second: ACK at once */
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.ack, IRS + 2001);
  assert_int_equal(s.flags, MF_TCP_ACK);
  assert_true(s.o.has_ts);
  assert_int_equal(f->c.t_delack, 0);
  assert_int_equal(fx_data(f, d + 2000, 1000, 0), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->out.n, 1);
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 2);
  assert_int_equal(parsed(&f->out, 1).ack, IRS + 3001);
  struct iovec iov[2];
  assert_int_equal(mf_tcp_rx_peek(&f->c, iov), 3000);
  assert_memory_equal(iov[0].iov_base, d, 3000);
  /* A duplicate lies before the window: answered with an ACK, and it
   * changes nothing. */
  app_seg_t a = {.seq = IRS + 1, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .data = d, .len = 1000};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_OUT_OF_WINDOW);
  assert_int_equal(f->out.n, 3);
  assert_int_equal(mf_tcp_rx_peek(&f->c, iov), 3000);
  mf_tcp_rx_consume(&f->c, &f->mem, 3000);
  assert_int_equal(f->mem.in_use, 0); /* empty ring returned */
  assert_false(mf_tcp_rx_eof(&f->c));
  fx_free(f);
}

static void test_data_to_app(void **state)
{
  fx_t *f = fx_established(true);
  static uint8_t d[20000];
  fill(d, sizeof(d), 7);
  assert_int_equal(tx_put(f, d, sizeof(d)), sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  /* Initial window: 10 segments of MSS less the 12 bytes of timestamps. */
  uint32_t seg = 1460 - 12;
  assert_int_equal(f->out.n, 10);
  uint32_t seq = ISS + 1;
  for (int i = 0; i < f->out.n; i++) {
    seg_t s = parsed(&f->out, i);
    assert_int_equal(s.seq, seq);
    assert_int_equal(s.len, seg);
    assert_memory_equal(s.data, d + (seq - ISS - 1), seg);
    assert_true(s.flags & MF_TCP_ACK);
    seq += s.len;
  }
  assert_int_equal(f->c.snd_max, seq);
  assert_true(f->c.t_rexmit > 0);
  /* ACKs open cwnd and free the ring's head; all acked, the ring goes. */
  for (int round = 0; round < 10 && f->c.snd_una != ISS + 1 + sizeof(d); round++) {
    f->now += MS;
    f->out.n = 0;
    assert_int_equal(fx_ack(f, f->c.snd_max, 512), MF_TCP_V_ACCEPTED);
    assert_true(f->c.events & MF_TCP_EV_TX_SPACE);
    for (int i = 0; i < f->out.n; i++) {
      seg_t s = parsed(&f->out, i);
      if (s.len)
        assert_memory_equal(s.data, d + (s.seq - ISS - 1), s.len);
    }
  }
  assert_int_equal(f->c.snd_una, ISS + 1 + sizeof(d));
  assert_int_equal(f->c.tx.len, 0);
  assert_null(f->c.tx.data);
  assert_int_equal(f->mem.in_use, 0);
  assert_int_equal(f->c.t_rexmit, 0);
  assert_int_equal(f->c.stats.bytes_out, sizeof(d));
  assert_true(f->c.cwnd > 10 * 1460);
  fx_free(f);
}

static void test_app_closes_first(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[100];
  fill(d, sizeof(d), 3);
  assert_int_equal(fx_data(f, d, 100, MF_TCP_FIN), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSE_WAIT);
  assert_true(f->c.events & MF_TCP_EV_RX_FIN);
  assert_int_equal(parsed(&f->out, 0).ack, IRS + 102); /* FIN: ACK at once */
  assert_false(mf_tcp_rx_eof(&f->c)); /* bytes before it wait */
  mf_tcp_rx_consume(&f->c, &f->mem, 100);
  assert_true(mf_tcp_rx_eof(&f->c));
  /* Half close: we still send. */
  tx_put(f, d, 50);
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(parsed(&f->out, 1).len, 50);
  assert_int_equal(fx_data(f, d, 10, 0), MF_TCP_V_AFTER_FIN);
  mf_tcp_tx_shutdown(&f->c);
  assert_int_equal(f->c.state, MF_TCP_S_LAST_ACK);
  assert_int_equal(tx_put(f, d, 10), 0); /* nothing after our FIN */
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  seg_t s = parsed(&f->out, f->out.n - 1);
  assert_true(s.flags & MF_TCP_FIN);
  assert_int_equal(s.seq, ISS + 51);
  f->app_nxt = IRS + 102;
  assert_int_equal(fx_ack(f, ISS + 52, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->c.events & MF_TCP_EV_CLOSED);
  assert_false(f->c.events & MF_TCP_EV_RESET);
  assert_int_equal(mf_tcp_next_timer(&f->c), 0);
  fx_free(f);
}

static void test_we_close_first(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[100];
  fill(d, sizeof(d), 5);
  tx_put(f, d, 100);
  mf_tcp_tx_shutdown(&f->c);
  assert_int_equal(f->c.state, MF_TCP_S_FIN_WAIT_1);
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 1); /* data and FIN in one segment */
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.len, 100);
  assert_true(s.flags & MF_TCP_FIN);
  assert_int_equal(fx_ack(f, ISS + 102, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_FIN_WAIT_2);
  assert_true(f->c.t_state > 0); /* fin_wait_2_ms */
  /* The app keeps sending: half close. */
  assert_int_equal(fx_data(f, d, 100, 0), MF_TCP_V_ACCEPTED);
  assert_int_equal(fx_data(f, d, 50, MF_TCP_FIN), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_TIME_WAIT);
  assert_int_equal(mf_tcp_next_timer(&f->c), f->now + 2000 * MS);
  /* A repeated FIN in TIME-WAIT: ACKed again. */
  int before = f->out.n;
  app_seg_t a = {.seq = f->app_nxt - 1, .ack = ISS + 102,
                 .flags = MF_TCP_ACK | MF_TCP_FIN, .wnd = 512};
  fx_in(f, &a);
  assert_int_equal(f->out.n, before + 1);
  assert_int_equal(parsed(&f->out, before).ack, f->app_nxt);
  /* A new SYN on the same ports belongs to the glue. */
  uint32_t n = build_syn(true);
  mf_tcp_put32(pkt + 4, IRS + 100000);
  assert_int_equal(mf_tcp_input(&f->c, &f->cfg, &f->mem, pkt, n, f->now, &f->io),
                   MF_TCP_V_CLOSED);
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->c.events & MF_TCP_EV_CLOSED);
  assert_int_equal(fx_ack(f, ISS + 102, 512), MF_TCP_V_CLOSED);
  fx_free(f);
}

static void test_fin_wait_2_timeout(void **state)
{
  fx_t *f = fx_established(false);
  mf_tcp_tx_shutdown(&f->c);
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(fx_ack(f, ISS + 2, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.state, MF_TCP_S_FIN_WAIT_2);
  f->now = mf_tcp_next_timer(&f->c);
  assert_int_equal(f->now - T0 - MS, 60000 * MS);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(parsed(&f->out, f->out.n - 1).flags & MF_TCP_RST);
  fx_free(f);
}

static void test_rst_rfc5961(void **state)
{
  fx_t *f = fx_established(true);
  /* In the window but not at rcv_nxt: challenge ACK. */
  app_seg_t a = {.seq = f->app_nxt + 100, .flags = MF_TCP_RST};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_RST_IN_WINDOW);
  assert_int_equal(f->out.n, 1);
  assert_int_equal(parsed(&f->out, 0).ack, f->app_nxt);
  /* Outside: silence. */
  a.seq = f->app_nxt + 10000000;
  assert_int_equal(fx_in(f, &a), MF_TCP_V_OUT_OF_WINDOW);
  assert_int_equal(f->out.n, 1);
  assert_int_equal(f->c.state, MF_TCP_S_ESTABLISHED);
  /* Exactly rcv_nxt: reset. */
  a.seq = f->app_nxt;
  assert_int_equal(fx_in(f, &a), MF_TCP_V_RST);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->c.events & MF_TCP_EV_RESET);
  assert_true(f->c.events & MF_TCP_EV_CLOSED);
  assert_int_equal(f->out.n, 1);
  fx_free(f);
}

static void test_syn_and_ack_challenges(void **state)
{
  fx_t *f = fx_established(true);
  /* RFC 5961 4: a SYN on a synchronized connection. */
  uint32_t n = build_syn(true);
  assert_int_equal(mf_tcp_input(&f->c, &f->cfg, &f->mem, pkt, n, f->now, &f->io),
                   MF_TCP_V_SYN_IN_STATE);
  assert_int_equal(f->out.n, 1);
  assert_int_equal(parsed(&f->out, 0).flags, MF_TCP_ACK);
  assert_int_equal(f->c.state, MF_TCP_S_ESTABLISHED);
  /* RFC 5961 5: ACK of data never sent; ACK far too old. */
  assert_int_equal(fx_ack(f, ISS + 5000, 512), MF_TCP_V_BAD_ACK);
  assert_int_equal(f->out.n, 2);
  assert_int_equal(fx_ack(f, ISS - 1000000, 512), MF_TCP_V_OLD_ACK);
  assert_int_equal(f->out.n, 3);
  /* A segment without ACK. */
  app_seg_t a = {.seq = f->app_nxt, .flags = 0, .wnd = 512};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_NO_ACK);
  /* SYN+FIN is nonsense. */
  a.flags = MF_TCP_SYN | MF_TCP_FIN;
  assert_int_equal(fx_in(f, &a), MF_TCP_V_BAD_FLAGS);
  /* Data far outside the window: ACK, nothing taken. */
  uint8_t d[10] = {0};
  a = (app_seg_t){.seq = f->app_nxt + 5000000, .ack = ISS + 1,
                  .flags = MF_TCP_ACK, .wnd = 512, .data = d, .len = 10};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_OUT_OF_WINDOW);
  assert_int_equal(f->c.rx.len, 0);
  assert_int_equal(f->c.n_ooo, 0);
  fx_free(f);
}

static void test_paws(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[10] = {1};
  app_seg_t a = {.seq = f->app_nxt, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .data = d, .len = 10, .ts = true,
                 .tsval = 5000, .tsecr = 0};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.ts_recent, 5000);
  a.seq += 10;
  a.tsval = 4000; /* older: a segment of a previous wrap */
  assert_int_equal(fx_in(f, &a), MF_TCP_V_PAWS);
  assert_int_equal(f->c.rx.len, 10);
  /* Our timestamps: ms clock plus the offset; the echo is ts_recent. */
  seg_t s = parsed(&f->out, f->out.n - 1);
  assert_int_equal(s.o.tsecr, 5000);
  assert_int_equal(s.o.tsval, (uint32_t)(f->now / 1000) + f->c.ts_offset);
  fx_free(f);
}

static void test_abort(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[500];
  fill(d, sizeof(d), 9);
  tx_put(f, d, 500);
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  f->out.n = 0;
  mf_tcp_abort(&f->c, &f->io);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->c.events & MF_TCP_EV_CLOSED);
  /* Bytes in flight: a RST at snd_una and one at snd_max. */
  assert_int_equal(f->out.n, 2);
  assert_int_equal(parsed(&f->out, 0).seq, ISS + 1);
  assert_int_equal(parsed(&f->out, 1).seq, ISS + 501);
  assert_true(parsed(&f->out, 1).flags & MF_TCP_RST);
  assert_int_equal(mf_tcp_next_timer(&f->c), 0);
  mf_tcp_abort(&f->c, &f->io); /* twice: nothing */
  assert_int_equal(f->out.n, 2);
  fx_free(f);

  /* Before the SYN-ACK: RST|ACK with ack = irs + 1, refused. */
  f = fx_new();
  uint32_t n = build_syn(true);
  mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now);
  mf_tcp_abort(&f->c, &f->io);
  assert_int_equal(f->out.n, 1);
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.flags, MF_TCP_RST | MF_TCP_ACK);
  assert_int_equal(s.ack, IRS + 1);
  assert_int_equal(s.seq, 0);
  fx_free(f);
}

static void test_stateless_reset(void **state)
{
  uint8_t out[64];
  /* A SYN: <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>, ports swapped. */
  uint32_t n = build_syn(true);
  assert_int_equal(mf_tcp_write_reset(pkt, n, out, sizeof(out)), 20);
  assert_int_equal(mf_tcp_get16(out), 80);
  assert_int_equal(mf_tcp_get16(out + 2), 40000);
  assert_int_equal(mf_tcp_get32(out + 4), 0);
  assert_int_equal(mf_tcp_get32(out + 8), IRS + 1);
  assert_int_equal(out[13], MF_TCP_RST | MF_TCP_ACK);
  assert_int_equal(out[12] >> 4, 5);
  /* Data with ACK: <SEQ=SEG.ACK><RST>. */
  uint8_t d[33] = {0};
  app_seg_t a = {.seq = 42, .ack = 99, .flags = MF_TCP_ACK, .data = d, .len = 33};
  n = build(&a);
  assert_int_equal(mf_tcp_write_reset(pkt, n, out, sizeof(out)), 20);
  assert_int_equal(mf_tcp_get32(out + 4), 99);
  assert_int_equal(out[13], MF_TCP_RST);
  /* Data and FIN without ACK: ack = seq + len + 1. */
  a.flags = MF_TCP_FIN;
  n = build(&a);
  mf_tcp_write_reset(pkt, n, out, sizeof(out));
  assert_int_equal(mf_tcp_get32(out + 8), 42 + 33 + 1);
  /* Never answer a RST; never read past a short or lying header. */
  a.flags = MF_TCP_RST | MF_TCP_ACK;
  n = build(&a);
  assert_int_equal(mf_tcp_write_reset(pkt, n, out, sizeof(out)), 0);
  assert_int_equal(mf_tcp_write_reset(pkt, 19, out, sizeof(out)), 0);
  a.flags = MF_TCP_ACK;
  build(&a);
  pkt[12] = 15 << 4; /* 60-byte header in a 20-byte segment */
  assert_int_equal(mf_tcp_write_reset(pkt, 20, out, sizeof(out)), 0);
  assert_int_equal(mf_tcp_write_reset(pkt, 53, out, 19), 0);
}

static void test_window_scaling(void **state)
{
  fx_t *f = fx_established(true);
  /* The app's window: 8 << 7 = 1024 bytes; we send no more. */
  assert_int_equal(fx_ack(f, ISS + 1, 8), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.snd_wnd, 1024);
  static uint8_t d[5000];
  fill(d, sizeof(d), 11);
  tx_put(f, d, sizeof(d));
  f->out.n = 0;
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  uint32_t total = 0;
  for (int i = 0; i < f->out.n; i++)
    total += parsed(&f->out, i).len;
  assert_int_equal(total, 1024);
  assert_int_equal(f->c.stats.window_full, 1);
  /* Our window, scaled by 3: 256 KiB free is 32768. */
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.wnd, 32768);
  /* 10000 bytes held: the edge stays, the field shrinks with rcv_nxt. */
  uint8_t big[1000];
  fill(big, sizeof(big), 2);
  for (int i = 0; i < 10; i++)
    fx_data(f, big, 1000, 0);
  f->out.n = 0;
  f->c.ack_pending = true;
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  s = parsed(&f->out, f->out.n - 1);
  assert_int_equal(s.wnd, (262144 - 10000 + 7) / 8);
  /* Edge = rcv_nxt + field << 3 never falls behind the announced one. */
  assert_true(MF_SEQ_GEQ(s.ack + (s.wnd << 3), IRS + 1 + 262144));
  /* The glue takes 9000: the window grows by more than an MSS, but not
   * to twice the announced, so no update of its own. */
  mf_tcp_rx_consume(&f->c, &f->mem, 9000);
  assert_false(mf_tcp_window_update_due(&f->c));
  fx_free(f);
}

static void test_window_update_after_full(void **state)
{
  fx_t *f = fx_established(true);
  f->cfg.rx_buf = 4096;
  /* A small ring: re-accept on a fresh fixture with rx_buf 4096. */
  fx_free(f);
  f = fx_new();
  f->cfg.rx_buf = 4096;
  uint32_t n = build_syn(true);
  mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now);
  assert_int_equal(f->c.rcv_wscale, 0);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(parsed(&f->out, 0).wnd, 4096);
  fx_ack(f, ISS + 1, 512);
  uint8_t d[1400];
  fill(d, sizeof(d), 4);
  fx_data(f, d, 1400, 0);
  fx_data(f, d, 1400, 0);
  assert_int_equal(fx_data(f, d, 1400, 0), MF_TCP_V_RX_FULL);
  assert_int_equal(f->c.rx.len, 4096);
  f->out.n = 0;
  /* Zero window: a byte at rcv_nxt is refused but its ACK is taken. */
  app_seg_t a = {.seq = IRS + 1 + 4096, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .data = d, .len = 1};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_RX_FULL);
  assert_int_equal(f->out.n, 1);
  assert_int_equal(parsed(&f->out, 0).wnd, 0);
  /* Receiver SWS avoidance: 100 bytes drained do not open the window. */
  mf_tcp_rx_consume(&f->c, &f->mem, 100);
  assert_false(mf_tcp_window_update_due(&f->c));
  f->c.ack_pending = true;
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 2);
  assert_int_equal(parsed(&f->out, 1).wnd, 0);
  f->out.n = 1;
  /* Draining half the ring makes a window update due. */
  mf_tcp_rx_consume(&f->c, &f->mem, 2900);
  assert_true(mf_tcp_window_update_due(&f->c));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 2);
  assert_int_equal(parsed(&f->out, 1).wnd, 3000);
  assert_false(mf_tcp_window_update_due(&f->c));
  fx_free(f);
}

static void test_zero_window_probe(void **state)
{
  fx_t *f = fx_established(true);
  assert_int_equal(fx_ack(f, ISS + 1, 0), MF_TCP_V_ACCEPTED);
  uint8_t d[3000];
  fill(d, sizeof(d), 13);
  tx_put(f, d, sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 0);
  assert_int_equal(f->c.stats.window_full, 1);
  assert_true(f->c.t_persist > 0);
  assert_int_equal(f->c.t_rexmit, 0);
  /* Probes with backoff; the app answers each with window 0: no abort. */
  uint64_t last = f->now, gap = 0;
  for (int i = 0; i < 12; i++) {
    f->now = mf_tcp_next_timer(&f->c);
    uint64_t g = f->now - last;
    assert_true(g >= gap);
    gap = g;
    last = f->now;
    mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
    seg_t s = parsed(&f->out, f->out.n - 1);
    assert_int_equal(s.seq, ISS + 1);
    assert_int_equal(s.len, 1);
    assert_int_equal(s.data[0], d[0]);
    assert_int_equal(fx_ack(f, ISS + 1, 0), MF_TCP_V_ACCEPTED);
  }
  assert_int_equal(f->c.stats.zero_window_probes, 12);
  assert_int_equal(f->c.state, MF_TCP_S_ESTABLISHED);
  assert_int_equal(f->c.stats.rto_expiries, 0);
  /* The window opens: the data flows from the probe's byte on. */
  f->out.n = 0;
  assert_int_equal(fx_ack(f, ISS + 2, 512), MF_TCP_V_ACCEPTED);
  assert_true(f->out.n >= 2);
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.seq, ISS + 2);
  assert_memory_equal(s.data, d + 1, s.len);
  assert_int_equal(f->c.t_persist, 0);
  fx_free(f);
}

static void test_rto_and_abort_after_retries(void **state)
{
  fx_t *f = fx_established(false);
  f->cfg.max_retries = 4;
  fx_ack(f, ISS + 1, 65535); /* no scaling agreed */
  uint8_t d[2000];
  fill(d, sizeof(d), 17);
  tx_put(f, d, sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 4); /* 536-byte segments, no options */
  uint32_t rto = f->c.rto_us;
  int sent = f->out.n;
  for (int i = 0; i < 4; i++) {
    f->now = mf_tcp_next_timer(&f->c);
    mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
    assert_int_equal(f->out.n, sent + 1); /* cwnd 1: one segment */
    seg_t s = parsed(&f->out, sent);
    assert_int_equal(s.seq, ISS + 1);
    assert_memory_equal(s.data, d, s.len);
    sent = f->out.n;
    assert_int_equal(f->c.rto_us, rto << (i + 1));
  }
  assert_int_equal(f->c.stats.rto_expiries, 4);
  assert_int_equal(f->c.stats.retransmits, 4);
  assert_int_equal(f->c.cwnd, 536);
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->c.state, MF_TCP_S_CLOSED);
  assert_true(f->c.events & MF_TCP_EV_RESET);
  assert_true(parsed(&f->out, f->out.n - 1).flags & MF_TCP_RST);
  fx_free(f);
}

static void test_rto_go_back_and_recover(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[4000];
  fill(d, sizeof(d), 19);
  tx_put(f, d, sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  int sent = f->out.n;
  assert_int_equal(sent, 3);
  uint32_t seg = 1460 - 12;
  /* First the tail loss probe (RFC 8985 7.3): the last segment again,
   * two RTTs on, well before the RTO. */
  f->now = mf_tcp_next_timer(&f->c);
  assert_true(f->now < f->c.t_rexmit);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, sent + 1);
  assert_int_equal(parsed(&f->out, sent).seq, ISS + 1 + 4000 - seg);
  assert_int_equal(f->c.stats.tlp_probes, 1);
  assert_int_equal(f->c.stats.rto_expiries, 0);
  /* No answer: a second probe after twice the wait, the same segment. */
  uint64_t first = f->now - T0;
  sent = f->out.n;
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->c.stats.tlp_probes, 2);
  assert_int_equal(f->out.n, sent + 1);
  assert_int_equal(parsed(&f->out, sent).seq, ISS + 1 + 4000 - seg);
  assert_true(f->now - T0 - first >= first);
  /* Still no answer: the RTO, one segment from snd_una (cwnd 1). */
  sent = f->out.n;
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->c.stats.rto_expiries, 1);
  assert_int_equal(f->out.n, sent + 1);
  assert_int_equal(parsed(&f->out, sent).seq, ISS + 1);
  /* The app had the first segment: its ACK moves past snd_nxt. */
  assert_int_equal(fx_ack(f, ISS + 1 + seg, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.retries, 0);
  /* Slow start from 1: two more segments, resent from the second on. */
  seg_t s = parsed(&f->out, sent + 1);
  assert_int_equal(s.seq, ISS + 1 + seg);
  assert_memory_equal(s.data, d + seg, s.len);
  assert_int_equal(fx_ack(f, ISS + 1 + 4000, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.snd_una, f->c.snd_max);
  assert_int_equal(f->c.t_rexmit, 0);
  fx_free(f);
}

static void test_out_of_order_and_sack(void **state)
{
  fx_t *f = fx_established(true);
  uint8_t d[3000];
  fill(d, sizeof(d), 23);
  /* Second and third 1000 first. */
  app_seg_t a = {.seq = IRS + 2001, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .data = d + 2000, .len = 1000};
  assert_int_equal(fx_in(f, &a), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->out.n, 1); /* out of order: ACK at once */
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.ack, IRS + 1);
  assert_int_equal(s.o.n_sack, 1);
  assert_int_equal(s.o.sack[0].start, IRS + 2001);
  assert_int_equal(s.o.sack[0].end, IRS + 3001);
  struct iovec iov[2];
  assert_int_equal(mf_tcp_rx_peek(&f->c, iov), 0);
  a.seq = IRS + 501;
  a.data = d + 500;
  a.len = 500;
  fx_in(f, &a);
  s = parsed(&f->out, 1); /* most recent block first (RFC 2018 4) */
  assert_int_equal(s.o.n_sack, 2);
  assert_int_equal(s.o.sack[0].start, IRS + 501);
  assert_int_equal(s.o.sack[1].start, IRS + 2001);
  assert_int_equal(f->c.stats.ooo_segments, 2);
  /* The hole filled: everything in order, ACK at once. */
  a.seq = IRS + 1;
  a.data = d;
  a.len = 1200; /* overlaps what was queued */
  fx_in(f, &a);
  assert_int_equal(mf_tcp_rx_peek(&f->c, iov), 1200);
  assert_int_equal(f->c.n_ooo, 1);
  a.seq = IRS + 1201;
  a.data = d + 1200;
  a.len = 800;
  fx_in(f, &a);
  assert_int_equal(mf_tcp_rx_peek(&f->c, iov), 3000);
  assert_memory_equal(iov[0].iov_base, d, 3000);
  assert_int_equal(f->c.n_ooo, 0);
  s = parsed(&f->out, f->out.n - 1);
  assert_int_equal(s.ack, IRS + 3001);
  assert_int_equal(s.o.n_sack, 0);
  mf_tcp_rx_consume(&f->c, &f->mem, 3000);
  assert_int_equal(f->mem.in_use, 0);
  fx_free(f);
}

static void test_fast_retransmit_sack(void **state)
{
  fx_t *f = fx_established(true);
  static uint8_t d[14480];
  fill(d, sizeof(d), 29);
  tx_put(f, d, sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 10);
  uint32_t seg = 1448;
  /* Segment 0 lost; the app SACKs 1, then 1-2, then 1-3. */
  f->out.n = 0;
  for (uint32_t k = 1; k <= 3; k++) {
    app_seg_t a = {.seq = f->app_nxt, .ack = ISS + 1, .flags = MF_TCP_ACK,
                   .wnd = 512, .n_sack = 1};
    a.sack[0].start = ISS + 1 + seg;
    a.sack[0].end = ISS + 1 + seg * (k + 1);
    fx_in(f, &a);
  }
  assert_int_equal(f->c.stats.fast_retransmits, 1);
  assert_true(f->c.in_recovery);
  assert_int_equal(f->out.n, 1);
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.seq, ISS + 1);
  assert_memory_equal(s.data, d, s.len);
  /* Segment 4 lost too: once 5-9 are SACKed, a dupack resends 4, never
   * the SACKed 1-3. */
  app_seg_t a = {.seq = f->app_nxt, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .n_sack = 2};
  a.sack[0] = (mf_tcp_range_t){ISS + 1 + 5 * seg, ISS + 1 + 10 * seg};
  a.sack[1] = (mf_tcp_range_t){ISS + 1 + seg, ISS + 1 + 4 * seg};
  fx_in(f, &a);
  s = parsed(&f->out, 1);
  assert_int_equal(s.seq, ISS + 1 + 4 * seg);
  /* Partial ACK to 4 (the first resend arrived): nothing below the
   * SACKed range is left, no resend of 5-9. */
  int before = f->out.n;
  fx_ack(f, ISS + 1 + 4 * seg, 512);
  for (int i = before; i < f->out.n; i++)
    assert_true(parsed(&f->out, i).seq >= ISS + 1 + 10 * seg ||
                parsed(&f->out, i).len == 0);
  fx_ack(f, ISS + 1 + 10 * seg, 512);
  assert_false(f->c.in_recovery);
  assert_int_equal(f->c.snd_una, ISS + 1 + sizeof(d));
  assert_int_equal(f->c.stats.retransmits, 2);
  fx_free(f);
}

/* An ACK from the app at ISS + 1 with these SACK blocks, in segments. */
static void fx_sack(fx_t *f, int n, const uint32_t (*blk)[2])
{
  uint32_t seg = 1448;
  app_seg_t a = {.seq = f->app_nxt, .ack = ISS + 1, .flags = MF_TCP_ACK,
                 .wnd = 512, .n_sack = n};
  for (int i = 0; i < n; i++)
    a.sack[i] = (mf_tcp_range_t){ISS + 1 + blk[i][0] * seg,
                                 ISS + 1 + blk[i][1] * seg};
  fx_in(f, &a);
}

static void test_sack_recovery_every_hole(void **state)
{
  /* RFC 6675: one ACK that shows three holes gets all three resent (as
   * pipe allows), not one per duplicate ACK; RFC 8985: a resend is lost
   * once the app SACKs bytes first sent after it, and goes again. */
  fx_t *f = fx_established(true);
  uint32_t seg = 1448;
  static uint8_t d[20 * 1448];
  fill(d, sizeof(d), 31);
  tx_put(f, d, 10 * seg);
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 10);
  tx_put(f, d + 10 * seg, 10 * seg); /* more to send once room opens */
  f->out.n = 0;
  f->now += 100;
  const uint32_t holes[3][2] = {{7, 10}, {4, 6}, {1, 3}}; /* 0, 3, 6 lost */
  fx_sack(f, 3, holes);
  assert_true(f->c.in_recovery);
  assert_int_equal(f->c.stats.fast_retransmits, 1);
  /* cwnd = ssthresh = 5 segments; pipe: the three resends. New data
   * fills the rest. */
  assert_true(f->out.n >= 3);
  assert_int_equal(parsed(&f->out, 0).seq, ISS + 1);
  assert_int_equal(parsed(&f->out, 1).seq, ISS + 1 + 3 * seg);
  assert_int_equal(parsed(&f->out, 2).seq, ISS + 1 + 6 * seg);
  assert_memory_equal(parsed(&f->out, 1).data, d + 3 * seg, seg);
  for (int i = 3; i < f->out.n; i++)
    assert_true(parsed(&f->out, i).seq >= ISS + 1 + 10 * seg);
  assert_int_equal(f->c.stats.retransmits, 3);
  assert_true(f->c.snd_max == ISS + 1 + (uint32_t)(7 + f->out.n) * seg);
  /* Resends of 3 and 6 arrive, and new segment 10; that of 0 is lost. */
  f->out.n = 0;
  f->now += 100;
  const uint32_t later[1][2] = {{1, 11}};
  fx_sack(f, 1, later);
  assert_int_equal(f->c.stats.lost_retransmits, 1);
  assert_true(f->out.n >= 1);
  assert_int_equal(parsed(&f->out, 0).seq, ISS + 1);
  assert_memory_equal(parsed(&f->out, 0).data, d, seg);
  fx_free(f);
}

static void test_rto_floor_from_cfg(void **state)
{
  /* RTT of 1 ms: the RTO is the configured floor, not 200 ms. */
  fx_t *f = fx_established(true);
  assert_int_equal(f->cfg.rto_min_ms, 50);
  assert_int_equal(f->c.rto_us, 50 * MS);
  fx_free(f);
  f = fx_new();
  f->cfg.rto_min_ms = 120;
  uint32_t n = build_syn(true);
  assert_int_equal(mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now),
                   MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  f->now += MS;
  assert_int_equal(fx_ack(f, ISS + 1, 512), MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.rto_us, 120 * MS);
  fx_free(f);
}

static void test_no_memory_and_no_span(void **state)
{
  fx_t *f = fx_established(true);
  f->mem.budget = 1000; /* below one ring */
  uint8_t d[100] = {0};
  assert_int_equal(fx_data(f, d, 100, 0), MF_TCP_V_NO_MEMORY);
  assert_int_equal(f->c.rcv_nxt, IRS + 1);
  assert_true(f->mem.failures > 0);
  struct iovec iov[2];
  assert_int_equal(mf_tcp_tx_space(&f->c, &f->cfg, &f->mem, iov), 0);
  f->mem.budget = 8u << 20;
  /* No span from the glue: nothing lost, a retry timer sends it. */
  assert_int_equal(tx_put(f, d, 100), 100);
  f->out.refuse = true;
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 0);
  assert_true(f->c.t_delack > 0);
  f->out.refuse = false;
  f->now = mf_tcp_next_timer(&f->c);
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_int_equal(f->out.n, 1);
  assert_int_equal(parsed(&f->out, 0).len, 100);
  fx_free(f);
}

static void test_names(void **state)
{
  assert_string_equal(mf_tcp_state_name(MF_TCP_S_ESTABLISHED), "ESTABLISHED");
  assert_string_equal(mf_tcp_state_name(MF_TCP_S_TIME_WAIT), "TIME_WAIT");
  assert_string_equal(mf_tcp_state_name(200), "?");
  /* The TCB stays small (an idle session holds no ring): under 2 KiB a
   * session in all. */
  assert_true(sizeof(mf_tcp_conn_t) <= 448);
}


/* With segmentation offload, new data leaves in segments of several MSS
 * (as far as the lent span allows); resent data one MSS at a time. */
static void test_tso_segments(void **state)
{
  fx_t *f = fx_new();
  f->cfg.tso_max_bytes = 8 * 1460;
  uint32_t n = build_syn(true);
  assert_int_equal(mf_tcp_accept(&f->c, &f->cfg, pkt, n, ISS, 1460, f->now),
                   MF_TCP_V_ACCEPTED);
  assert_int_equal(f->c.tso_segs, 8);
  mf_tcp_upstream_connected(&f->c, &f->cfg, f->now, &f->io);
  f->now += MS;
  assert_int_equal(fx_ack(f, ISS + 1, 512), MF_TCP_V_ACCEPTED);
  f->out.n = 0;
  static uint8_t d[8000];
  fill(d, sizeof(d), 3);
  assert_int_equal(tx_put(f, d, sizeof(d)), sizeof(d));
  mf_tcp_output(&f->c, &f->cfg, f->now, &f->io);
  /* Spans of 2048 bytes: 2048 less 32 of header and timestamps each. */
  seg_t s = parsed(&f->out, 0);
  assert_int_equal(s.len, SEG_ROOM - 32);
  assert_true(s.len > 1460);
  assert_memory_equal(s.data, d, s.len);
  /* An RTO resends from snd_una in one MSS. */
  f->out.n = 0;
  f->now = f->c.t_rexmit;
  mf_tcp_on_timer(&f->c, &f->cfg, f->now, &f->io);
  assert_true(f->out.n >= 1);
  s = parsed(&f->out, 0);
  assert_int_equal(s.seq, ISS + 1);
  assert_int_equal(s.len, 1460 - 12);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_options),
      cmocka_unit_test(test_handshake_no_options),
      cmocka_unit_test(test_synack_retransmit_and_timeout),
      cmocka_unit_test(test_bad_handshake_ack),
      cmocka_unit_test(test_data_from_app_and_delack),
      cmocka_unit_test(test_data_to_app),
      cmocka_unit_test(test_tso_segments),
      cmocka_unit_test(test_app_closes_first),
      cmocka_unit_test(test_we_close_first),
      cmocka_unit_test(test_fin_wait_2_timeout),
      cmocka_unit_test(test_rst_rfc5961),
      cmocka_unit_test(test_syn_and_ack_challenges),
      cmocka_unit_test(test_paws),
      cmocka_unit_test(test_abort),
      cmocka_unit_test(test_stateless_reset),
      cmocka_unit_test(test_window_scaling),
      cmocka_unit_test(test_window_update_after_full),
      cmocka_unit_test(test_zero_window_probe),
      cmocka_unit_test(test_rto_and_abort_after_retries),
      cmocka_unit_test(test_rto_go_back_and_recover),
      cmocka_unit_test(test_out_of_order_and_sack),
      cmocka_unit_test(test_fast_retransmit_sack),
      cmocka_unit_test(test_sack_recovery_every_hole),
      cmocka_unit_test(test_rto_floor_from_cfg),
      cmocka_unit_test(test_no_memory_and_no_span),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
