/* libFuzzer target for the TCP engine (src/hoststack/tcp_*.c). The first
 * input byte picks a connection state the harness drives to with good
 * segments (SYN-RECEIVED before and after the SYN-ACK, ESTABLISHED with
 * bytes queued both ways and a hole, CLOSE-WAIT, FIN-WAIT-2, TIME-WAIT),
 * or says the rest is a SYN for mf_tcp_accept. The rest is a list of
 * steps, each an action byte, a length byte and that many bytes:
 *
 *   action & 7 = 0-3  a segment to mf_tcp_input; with bit 3 set its seq
 *                     and ack are moved next to rcv_nxt and snd_una so
 *                     that most land in the window
 *              = 4    time passes (length byte x 7 ms) and timers run
 *              = 5    the glue drains some rx bytes and calls output
 *              = 6    the glue queues some tx bytes (or shuts down)
 *              = 7    the glue aborts, or writes a stateless reset
 *
 * Whatever the input: no crash, no read outside a segment, every segment
 * written well formed, the rings within bounds, and all ring memory
 * back in mf_tcp_mem_t after mf_tcp_release.
 *
 *   ./fuzz_tcp_input fuzz/corpus/tcp_input */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoststack/tcp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IRS 1000u
#define ISS 0xfffffff0u /* our numbers wrap at once */

static void check(bool ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "fuzz_tcp_input: %s\n", what);
    abort();
  }
}

static uint8_t seg_buf[2048];

static uint8_t *seg_alloc(void *ctx, uint32_t *room)
{
  *room = sizeof(seg_buf);
  return seg_buf;
}

static void seg_send(void *ctx, uint8_t *seg, uint32_t len)
{
  mf_tcp_seg_t s;
  mf_tcp_opts_t o;
  check(seg == seg_buf && len >= 20 && len <= sizeof(seg_buf), "segment size");
  check(mf_tcp_header_parse(seg, len, &s) == 0, "segment header");
  check(mf_tcp_options_parse(seg + 20, s.hdr_len - 20, &o) == 0, "options");
  (*(uint32_t *)ctx)++;
}

typedef struct {
  mf_tcp_cfg_t cfg;
  mf_tcp_mem_t mem;
  mf_tcp_conn_t c;
  mf_tcp_io_t io;
  uint64_t now;
  uint32_t app_nxt, sent;
} world_t;

static uint32_t mk(uint8_t *p, uint32_t seq, uint32_t ack, uint8_t flags,
                   const uint8_t *d, uint32_t n, bool opts)
{
  memset(p, 0, 20);
  mf_tcp_put16(p, 40000);
  mf_tcp_put16(p + 2, 80);
  mf_tcp_put32(p + 4, seq);
  mf_tcp_put32(p + 8, ack);
  mf_tcp_opts_t o;
  memset(&o, 0, sizeof(o));
  if (opts) {
    o.has_mss = o.has_wscale = o.sack_perm = o.has_ts = true;
    o.mss = 1400;
    o.wscale = 2;
    o.tsval = 100;
  }
  uint32_t ol = mf_tcp_options_write(p + 20, &o);
  p[12] = (uint8_t)(((20 + ol) / 4) << 4);
  p[13] = flags;
  mf_tcp_put16(p + 14, 20000);
  if (n)
    memcpy(p + 20 + ol, d, n);
  return 20 + ol + n;
}

static void in(world_t *w, uint32_t seq, uint8_t flags, const uint8_t *d,
               uint32_t n)
{
  uint8_t p[1600];
  uint32_t len = mk(p, seq, w->c.snd_max, flags, d, n, false);
  mf_tcp_input(&w->c, &w->cfg, &w->mem, p, len, w->now, &w->io);
}

static void tx_put(world_t *w, uint32_t n)
{
  struct iovec iov[2];
  uint32_t room = mf_tcp_tx_space(&w->c, &w->cfg, &w->mem, iov);
  n = n < room ? n : room;
  uint32_t k = n < iov[0].iov_len ? n : (uint32_t)iov[0].iov_len;
  if (k)
    memset(iov[0].iov_base, 'u', k);
  if (n > k)
    memset(iov[1].iov_base, 'v', n - k);
  mf_tcp_tx_commit(&w->c, n);
}

/* Drives the connection to the state scenario s asks for. */
static void drive(world_t *w, uint8_t s)
{
  uint8_t p[1600], d[1000];
  memset(d, 'a', sizeof(d));
  uint32_t len = mk(p, IRS, 0, MF_TCP_SYN, NULL, 0, s & 1);
  mf_tcp_accept(&w->c, &w->cfg, p, len, ISS, 1460, w->now);
  w->app_nxt = IRS + 1;
  if (s % 6 == 0)
    return; /* SYN-RECEIVED, upstream still connecting */
  mf_tcp_upstream_connected(&w->c, &w->cfg, w->now, &w->io);
  if (s % 6 == 1)
    return;
  w->now += 1000;
  in(w, w->app_nxt, MF_TCP_ACK, NULL, 0);
  /* ESTABLISHED: bytes each way, one hole in the rx ring. */
  in(w, w->app_nxt, MF_TCP_ACK, d, 500);
  in(w, w->app_nxt + 900, MF_TCP_ACK, d, 300);
  w->app_nxt += 500;
  tx_put(w, 5000);
  mf_tcp_output(&w->c, &w->cfg, w->now, &w->io);
  if (s % 6 == 2)
    return;
  if (s % 6 == 3) { /* CLOSE-WAIT: the app's FIN */
    in(w, w->app_nxt, MF_TCP_ACK, d, 400);
    w->app_nxt += 400;
    in(w, w->app_nxt + 300, MF_TCP_ACK | MF_TCP_FIN, NULL, 0);
    w->app_nxt += 301;
    return;
  }
  /* FIN-WAIT-2, then TIME-WAIT */
  mf_tcp_tx_shutdown(&w->c);
  mf_tcp_output(&w->c, &w->cfg, w->now, &w->io);
  uint8_t q[64];
  len = mk(q, w->app_nxt, w->c.snd_max, MF_TCP_ACK, NULL, 0, false);
  mf_tcp_input(&w->c, &w->cfg, &w->mem, q, len, w->now, &w->io);
  if (s % 6 == 4)
    return;
  in(w, w->app_nxt, MF_TCP_ACK, d, 400);
  w->app_nxt += 400;
  in(w, w->app_nxt + 300, MF_TCP_ACK | MF_TCP_FIN, NULL, 0);
}

static void invariants(const mf_tcp_conn_t *c)
{
  check(c->rx.len <= c->rx.size && c->tx.len <= c->tx.size, "ring length");
  check(c->n_ooo <= MF_TCP_MAX_HOLES && c->n_sacked <= MF_TCP_MAX_SACKED,
        "list size");
  for (uint8_t i = 0; i < c->n_ooo; i++) {
    check(MF_SEQ_GT(c->ooo[i].start, c->rcv_nxt), "ooo range below rcv_nxt");
    check(MF_SEQ_LT(c->ooo[i].start, c->ooo[i].end), "empty ooo range");
    check(MF_SEQ_LEQ(c->ooo[i].end, c->rcv_nxt - c->rx.len + c->rx.size),
          "ooo range past the ring");
    check(c->rx.data != NULL, "ooo bytes without a ring");
  }
  check(MF_SEQ_LEQ(c->snd_una, c->snd_max) && MF_SEQ_LEQ(c->snd_nxt, c->snd_max),
        "send sequence order");
  check(MF_SEQ_LEQ(c->lost_end, c->snd_max) && MF_SEQ_LEQ(c->rtx_nxt, c->snd_max) &&
            MF_SEQ_LEQ(c->reo_end, c->snd_max) && MF_SEQ_LEQ(c->rtx_mark, c->snd_max),
        "recovery marks beyond snd_max");
  check(c->state < MF_TCP_N_STATE, "state");
}

static void step(world_t *w, uint8_t act, const uint8_t *b, uint32_t n)
{
  uint8_t p[300];
  switch (act & 7) {
  case 4:
    w->now += (uint64_t)(n ? b[0] : 1) * 7000 + 1;
    mf_tcp_on_timer(&w->c, &w->cfg, w->now, &w->io);
    break;
  case 5: {
    struct iovec iov[2];
    uint32_t have = mf_tcp_rx_peek(&w->c, iov);
    check(have == w->c.rx.len || (!w->c.rx.data && have == 0), "peek length");
    check(iov[0].iov_len + iov[1].iov_len == have, "peek spans");
    mf_tcp_rx_consume(&w->c, &w->mem, n ? have * b[0] / 255 : have);
    mf_tcp_output(&w->c, &w->cfg, w->now, &w->io);
    break;
  }
  case 6:
    if (n && b[0] == 0)
      mf_tcp_tx_shutdown(&w->c);
    else
      tx_put(w, n ? b[0] * 97u : 1000);
    mf_tcp_output(&w->c, &w->cfg, w->now, &w->io);
    break;
  case 7:
    if (n && (b[0] & 1))
      mf_tcp_abort(&w->c, &w->io);
    else
      check(mf_tcp_write_reset(b, n, p, 20) <= 20, "reset length");
    break;
  default:
    if ((act & 8) && n >= 20) {
      memcpy(p, b, n);
      mf_tcp_put32(p + 4, w->c.rcv_nxt + (uint32_t)(int8_t)b[4] * 64);
      mf_tcp_put32(p + 8, w->c.snd_una + (uint32_t)(int8_t)b[8] * 64);
      b = p;
    }
    w->now += 100;
    mf_tcp_input(&w->c, &w->cfg, &w->mem, b, n, w->now, &w->io);
    break;
  }
  invariants(&w->c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  static world_t w;
  memset(&w, 0, sizeof(w));
  mf_tcp_cfg_default(&w.cfg);
  w.cfg.rx_buf = w.cfg.tx_buf = 4096; /* small: wraps and full rings */
  w.cfg.timestamps = data[0] & 0x80;
  mf_tcp_mem_init(&w.mem, data[0] & 0x40 ? 6000 : 1 << 20);
  w.io = (mf_tcp_io_t){.ctx = &w.sent, .seg_alloc = seg_alloc, .seg_send = seg_send};
  w.now = 1000000;
  uint8_t scenario = data[0] & 0x3f;
  if (scenario >= 48) {
    /* The rest is a SYN. */
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy)
      return 0;
    memcpy(copy, data + 1, size - 1);
    mf_tcp_verdict_t v = mf_tcp_accept(&w.c, &w.cfg, copy, (uint32_t)(size - 1),
                                       ISS, 1460, w.now);
    check(v < MF_TCP_N_VERDICT, "verdict");
    if (v == MF_TCP_V_ACCEPTED) {
      check(w.c.snd_mss >= MF_TCP_MIN_MSS && w.c.snd_wscale <= 14, "options");
      mf_tcp_upstream_connected(&w.c, &w.cfg, w.now, &w.io);
    }
    free(copy);
  } else {
    drive(&w, scenario);
    size_t i = 1;
    for (int steps = 0; steps < 256 && i + 2 <= size; steps++) {
      uint8_t act = data[i], n = data[i + 1];
      i += 2;
      if (n > size - i)
        n = (uint8_t)(size - i);
      /* An exact copy: any read past n bytes is caught by ASan. */
      uint8_t *b = malloc(n ? n : 1);
      if (!b)
        break;
      memcpy(b, data + i, n);
      step(&w, act, b, n);
      free(b);
      i += n;
    }
  }
  mf_tcp_release(&w.c, &w.mem);
  check(w.mem.in_use == 0, "ring memory not returned");
  mf_tcp_mem_destroy(&w.mem);
  check(w.mem.cached == 0, "cache not freed");
  return 0;
}
