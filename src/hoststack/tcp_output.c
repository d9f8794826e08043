/* Segments toward the app: the window we announce, the segment writer,
 * and the send loop (RFC 9293 3.8.6, 3.10.2; RFC 5681; RFC 6675).
 *
 * Every segment is written into a span the glue lends (io->seg_alloc):
 * the 20-byte header with our ports, the options, then payload copied
 * from the tx ring (which may wrap). The checksum stays 0 for the glue.
 * When no span is lent, nothing changes but a retry timer: the next
 * output or timer sends it. */
#include <string.h>

#include "hoststack/tcp_internal.h"

static uint32_t min32(uint32_t a, uint32_t b)
{
  return a < b ? a : b;
}

static uint32_t rx_room(const mf_tcp_conn_t *c)
{
  return c->rx.size > c->rx.len ? c->rx.size - c->rx.len : 0;
}

/* The right edge the free room allows, rounded down to what the scale
 * can say. */
static uint32_t room_edge(const mf_tcp_conn_t *c)
{
  uint32_t shift = c->rcv_wscale;
  uint32_t room = min32(rx_room(c), 65535u << shift);
  return c->rcv_nxt + (room & ~((1u << shift) - 1));
}

/* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): the edge moves by at least
 * min(half the buffer, one MSS). */
static uint32_t sws_step(const mf_tcp_conn_t *c)
{
  return min32(c->rx.size / 2, c->mss_local);
}

uint32_t mf_tcp_rcv_wnd(const mf_tcp_conn_t *c)
{
  /* What we announced, or more if the ring has room for it: a sender
   * that trusts an update we have not sent yet loses nothing. */
  uint32_t adv = MF_SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  uint32_t room = rx_room(c);
  return adv > room ? adv : room;
}

bool mf_tcp_window_update_due(const mf_tcp_conn_t *c)
{
  uint32_t edge = room_edge(c);
  if (!MF_SEQ_GT(edge, c->rcv_adv) || edge - c->rcv_adv < sws_step(c))
    return false;
  /* Worth a segment of its own only when the window at least doubles
   * (as Linux): otherwise the next ACK carries it anyway. */
  uint32_t now_wnd = MF_SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  return edge - c->rcv_nxt >= 2 * now_wnd;
}

/* The window field of a non-SYN segment; moves rcv_adv. The right edge
 * never moves left (RFC 9293 3.8.6.2.1): the field is rounded up when
 * scaling cannot say the edge exactly, so it may pass the ring by less
 * than one scale unit (input trims such bytes). */
static uint16_t window_field(mf_tcp_conn_t *c)
{
  uint32_t edge = room_edge(c);
  if (MF_SEQ_LT(c->rcv_adv, c->rcv_nxt))
    c->rcv_adv = c->rcv_nxt;
  if (MF_SEQ_GT(edge, c->rcv_adv) && edge - c->rcv_adv >= sws_step(c))
    c->rcv_adv = edge;
  uint32_t unit = 1u << c->rcv_wscale;
  uint32_t w = (c->rcv_adv - c->rcv_nxt + unit - 1) >> c->rcv_wscale;
  return (uint16_t)min32(w, 65535);
}

/* Lends a span for a segment; NULL when none, or when it is too small for
 * the largest header (then it goes back empty). */
static uint8_t *seg_get(const mf_tcp_io_t *io, uint32_t *room)
{
  *room = 0;
  uint8_t *p = io->seg_alloc(io->ctx, room);
  if (p && *room < MF_TCP_HDR_LEN + MF_TCP_MAX_OPT_LEN) {
    io->seg_send(io->ctx, p, 0);
    return NULL;
  }
  return p;
}

static void write_header(const mf_tcp_conn_t *c, uint8_t *p, uint32_t seq,
                         uint32_t ack, uint32_t hl, uint8_t flags, uint16_t win)
{
  memcpy(p, &c->local_port, 2);
  memcpy(p + 2, &c->remote_port, 2);
  mf_tcp_put32(p + 4, seq);
  mf_tcp_put32(p + 8, ack);
  p[12] = (uint8_t)((hl / 4) << 4);
  p[13] = flags;
  mf_tcp_put16(p + 14, win);
  memset(p + 16, 0, 4); /* checksum (the glue's), urgent pointer */
}

/* Bookkeeping for any segment that carries our ACK. */
static void ack_sent(mf_tcp_conn_t *c)
{
  c->last_ack_sent = c->rcv_nxt;
  c->ack_pending = false;
  c->unacked_segs = 0;
  c->t_delack = 0;
}

int mf_tcp_send(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io,
                uint32_t seq, uint32_t len, uint8_t flags)
{
  mf_tcp_opts_t o;
  memset(&o, 0, sizeof(o));
  if (c->ts_ok) { /* RFC 7323 3.2: on every segment once agreed */
    o.has_ts = true;
    o.tsval = mf_tcp_ts_now(c, now_us);
    o.tsecr = c->ts_recent;
  }
  if (c->sack_ok && c->n_ooo) {
    o.n_sack = (uint8_t)min32(c->n_ooo, MF_TCP_MAX_SACK);
    memcpy(o.sack, c->ooo, o.n_sack * sizeof(o.sack[0]));
  }
  uint32_t room;
  uint8_t *p = seg_get(io, &room);
  if (!p)
    return -1;
  uint32_t optlen = mf_tcp_options_write(p + MF_TCP_HDR_LEN, &o);
  uint32_t hl = MF_TCP_HDR_LEN + optlen;
  /* The app's MSS counts payload without options (RFC 9293 3.7.1). New
   * data may take several MSS at once when the glue offloads the
   * segmentation (tso_segs); resent data goes one MSS at a time. */
  uint32_t one = c->snd_mss > optlen ? c->snd_mss - optlen : 1;
  uint32_t max = MF_SEQ_GEQ(seq, c->snd_max) && c->tso_segs > 1 ? one * c->tso_segs : one;
  max = min32(max, room - hl);
  if (len > max) {
    len = max;
    flags &= (uint8_t)~MF_TCP_FIN;
  }
  write_header(c, p, seq, c->rcv_nxt, hl, flags, window_field(c));
  if (len)
    mf_tcp_ring_read(&c->tx, seq - mf_tcp_tx_base(c), p + hl, len);
  io->seg_send(io->ctx, p, hl + len);
  c->stats.segs_out++;
  ack_sent(c);
  return (int)len;
}

void mf_tcp_send_synack(mf_tcp_conn_t *c, uint64_t now_us,
                        const mf_tcp_io_t *io)
{
  mf_tcp_opts_t o;
  memset(&o, 0, sizeof(o));
  o.has_mss = true;
  o.mss = (uint16_t)c->mss_local;
  o.has_wscale = c->ws_ok;
  o.wscale = c->rcv_wscale;
  o.sack_perm = c->sack_ok;
  o.has_ts = c->ts_ok;
  o.tsval = mf_tcp_ts_now(c, now_us);
  o.tsecr = c->ts_recent;
  uint32_t room;
  uint8_t *p = seg_get(io, &room);
  if (!p)
    return;
  uint32_t hl = MF_TCP_HDR_LEN + mf_tcp_options_write(p + MF_TCP_HDR_LEN, &o);
  /* The window of a SYN is never scaled (RFC 7323 2.2). */
  uint32_t win = min32(rx_room(c), 65535);
  c->rcv_adv = c->rcv_nxt + win;
  write_header(c, p, c->iss, c->rcv_nxt, hl, MF_TCP_SYN | MF_TCP_ACK,
               (uint16_t)win);
  io->seg_send(io->ctx, p, hl);
  c->stats.segs_out++;
  ack_sent(c);
}

void mf_tcp_send_ack(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io)
{
  /* snd_max, not snd_nxt: after an RTO snd_nxt is back at snd_una, below
   * what the app may already hold, and it would drop the ACK as old. */
  mf_tcp_send(c, now_us, io, c->snd_max, 0, MF_TCP_ACK);
}

void mf_tcp_send_rst(mf_tcp_conn_t *c, const mf_tcp_io_t *io, uint32_t seq,
                     uint32_t ack, uint8_t flags)
{
  uint32_t room;
  uint8_t *p = seg_get(io, &room);
  if (!p)
    return;
  write_header(c, p, seq, (flags & MF_TCP_ACK) ? ack : 0, MF_TCP_HDR_LEN,
               flags, 0);
  io->seg_send(io->ctx, p, MF_TCP_HDR_LEN);
  c->stats.segs_out++;
}

/* The FIN's sequence is the end of the tx bytes; it is sent once every
 * byte before it was. */
static uint32_t tx_end(const mf_tcp_conn_t *c)
{
  return mf_tcp_tx_base(c) + c->tx.len;
}

/* Records a segment [seq, seq + len + fin) just sent. */
static void sent(mf_tcp_conn_t *c, uint64_t now_us, uint32_t seq, uint32_t len,
                 bool fin)
{
  uint32_t nxt = seq + len + fin;
  if (MF_SEQ_LT(seq, c->snd_max)) {
    c->stats.retransmits++;
    c->rtt_start_us = 0; /* Karn: no sample from a resent range */
  } else if (len && !c->rtt_start_us) {
    c->rtt_seq = seq;
    c->rtt_start_us = now_us ? now_us : 1;
  }
  if (MF_SEQ_GT(nxt, c->snd_max)) {
    uint32_t from = MF_SEQ_GT(seq, c->snd_max) ? seq : c->snd_max;
    if (MF_SEQ_GT(seq + len, from))
      c->stats.bytes_out += seq + len - from; /* new bytes only */
    c->snd_max = nxt;
  }
  if (fin)
    c->fin_sent = true;
  if (!c->t_rexmit)
    c->t_rexmit = now_us + c->rto_us;
}

/* Room the congestion window leaves for a segment at seq: with SACK,
 * cwnd less pipe (RFC 6675 5); without, cwnd beyond snd_una (RFC 5681). */
static int32_t cwnd_room(const mf_tcp_conn_t *c, uint32_t seq)
{
  if (!c->sack_ok)
    return (int32_t)(c->snd_una + c->cwnd - seq);
  uint32_t pipe = mf_tcp_pipe(c);
  return c->cwnd > pipe ? (int32_t)min32(c->cwnd - pipe, INT32_MAX) : 0;
}

/* With SACK, lost bytes go before new ones (RFC 6675 NextSeg rule 1):
 * 1 sent, 0 none lost or no room, -1 no span. */
static int resend_lost(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io)
{
  uint32_t seq = mf_tcp_next_lost(c);
  if (!MF_SEQ_LT(seq, c->snd_max))
    return 0;
  int32_t room = cwnd_room(c, seq);
  if (room < (int32_t)mf_tcp_smss(c) &&
      room < (int32_t)(mf_tcp_sacked_next(c, seq, c->lost_end) - seq))
    return 0;
  int n = mf_tcp_resend(c, now_us, io, seq);
  return n < 0 ? -1 : 1;
}

/* One segment from snd_nxt: 1 sent, 0 nothing to send, -1 no span. */
static int send_next(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io,
                     bool *window_stop)
{
  if (c->sack_ok) {
    int r = resend_lost(c, now_us, io);
    if (r != 0 || MF_SEQ_LT(mf_tcp_next_lost(c), c->snd_max))
      return r;
  }
  uint32_t end = tx_end(c);
  uint32_t seq = c->snd_nxt;
  if (MF_SEQ_LT(seq, c->snd_max)) { /* resending after an RTO */
    seq = mf_tcp_sacked_skip(c, seq);
    if (MF_SEQ_GT(seq, c->snd_max))
      seq = c->snd_max;
    c->snd_nxt = seq;
  }
  /* Everything up to the FIN went out (the FIN is always the last
   * number sent; once it is acknowledged the tx base is past it). */
  if (MF_SEQ_GT(seq, end) || (c->fin_sent && seq == c->snd_max))
    return 0;
  uint32_t avail = end - seq, len = avail;
  bool fin = c->fin_pending;
  if (len == 0 && !fin)
    return 0;
  if (MF_SEQ_LT(seq, c->snd_max)) /* no resending what the app SACKed */
    len = min32(len, mf_tcp_sacked_next(c, seq, end) - seq);
  int32_t wnd_left = (int32_t)(c->snd_una + c->snd_wnd - seq);
  int32_t cwnd_left = cwnd_room(c, seq);
  int32_t lim = wnd_left < cwnd_left ? wnd_left : cwnd_left;
  if ((int64_t)len > lim) {
    len = lim > 0 ? (uint32_t)lim : 0;
    /* Sender SWS avoidance (RFC 9293 3.8.6.2.1): no small segment for a
     * window that opens bit by bit, while an ACK is due to open more. */
    if (len < mf_tcp_smss(c) && len < c->max_sndwnd / 2 &&
        c->snd_max != c->snd_una)
      len = 0;
  }
  /* The FIN follows the last byte, and takes one number of the window. */
  if (fin && (seq + len != end || wnd_left <= (int32_t)len))
    fin = false;
  if (len == 0 && !fin) {
    if (wnd_left <= cwnd_left)
      *window_stop = true;
    return 0;
  }
  uint8_t flags = MF_TCP_ACK | (fin ? MF_TCP_FIN : 0) |
                  (seq + len == end && len ? MF_TCP_PSH : 0);
  int n = mf_tcp_send(c, now_us, io, seq, len, flags);
  if (n < 0)
    return -1;
  if ((uint32_t)n < len)
    fin = false;
  sent(c, now_us, seq, (uint32_t)n, fin);
  c->snd_nxt = seq + (uint32_t)n + fin;
  return 1;
}

/* Data waits (or a FIN) that has not gone out. */
static bool unsent(const mf_tcp_conn_t *c)
{
  uint32_t end = tx_end(c);
  return MF_SEQ_LT(c->snd_nxt, end) ||
         (c->fin_pending && !c->fin_sent && c->snd_nxt == end);
}

static void arm_timers(mf_tcp_conn_t *c, uint64_t now_us)
{
  if (c->snd_max == c->snd_una)
    c->t_rexmit = 0;
  else if (!c->t_rexmit)
    c->t_rexmit = now_us + c->rto_us;
  /* The probe is armed once per ACK that made progress (input clears
   * it), a reordering window whenever one is pending. */
  if (!c->t_loss || MF_SEQ_GT(c->reo_end, c->lost_end))
    mf_tcp_rack_arm(c, now_us);
  /* RFC 9293 3.8.6.1: a zero window with nothing in flight to be answered
   * needs probes, or a lost window update would stall us for ever. */
  if (c->snd_wnd == 0 && c->snd_max == c->snd_una && unsent(c)) {
    if (!c->t_persist)
      c->t_persist = now_us + c->rto_us;
  } else {
    c->t_persist = 0;
  }
}

void mf_tcp_output(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                   uint64_t now_us, const mf_tcp_io_t *io)
{
  mf_tcp_conn_t *c = conn;
  if (c->state == MF_TCP_S_CLOSED || c->state == MF_TCP_S_SYN_RECEIVED)
    return;
  bool failed = false;
  if (c->state != MF_TCP_S_TIME_WAIT) {
    if (mf_tcp_window_update_due(c))
      c->ack_pending = true;
    bool window_stop = false;
    for (uint32_t i = 0; i < MF_TCP_BURST_MAX; i++) {
      int r = send_next(c, now_us, io, &window_stop);
      if (r <= 0) {
        failed = r < 0;
        break;
      }
    }
    if (window_stop)
      c->stats.window_full++;
  }
  if (c->ack_pending && !failed)
    mf_tcp_send_ack(c, now_us, io);
  if (c->ack_pending || failed) /* no span: try again shortly */
    if (!c->t_delack)
      c->t_delack = now_us + (uint64_t)cfg->delack_ms * 1000 + 1;
  if (c->state != MF_TCP_S_TIME_WAIT)
    arm_timers(c, now_us);
}

void mf_tcp_retransmit_hole(mf_tcp_conn_t *c, uint64_t now_us,
                            const mf_tcp_io_t *io)
{
  uint32_t end = tx_end(c);
  uint32_t cur = MF_SEQ_GT(c->rtx_nxt, c->snd_una) ? c->rtx_nxt : c->snd_una;
  cur = mf_tcp_sacked_skip(c, cur);
  if (!MF_SEQ_LT(cur, c->snd_max))
    return;
  /* Beyond snd_una only what lies below a SACKed range is known lost
   * (RFC 6675 IsLost, simplified to "a later range arrived"). */
  if (cur != c->snd_una && !(c->sack_ok && MF_SEQ_LT(cur, mf_tcp_sacked_high(c))))
    return;
  uint32_t stop = mf_tcp_sacked_next(c, cur, c->snd_max);
  uint32_t len = MF_SEQ_LT(cur, end) ? min32(stop - cur, end - cur) : 0;
  bool fin = c->fin_sent && cur + len == end && MF_SEQ_GT(stop, end);
  if (len == 0 && !fin)
    return;
  int n = mf_tcp_send(c, now_us, io, cur, len,
                      MF_TCP_ACK | (fin ? MF_TCP_FIN : 0));
  if (n < 0)
    return;
  if ((uint32_t)n < len)
    fin = false;
  sent(c, now_us, cur, (uint32_t)n, fin);
  c->rtx_nxt = cur + (uint32_t)n + fin;
}

int mf_tcp_resend(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io,
                  uint32_t seq)
{
  uint32_t end = tx_end(c);
  uint32_t stop = mf_tcp_sacked_next(c, seq, c->snd_max);
  uint32_t len = MF_SEQ_LT(seq, end) ? min32(stop - seq, end - seq) : 0;
  bool fin = c->fin_sent && seq + len == end && MF_SEQ_GT(stop, end);
  if (len == 0 && !fin) { /* nothing there: never ask again */
    if (MF_SEQ_GT(stop, c->rtx_nxt))
      c->rtx_nxt = stop;
    return 0;
  }
  int n = mf_tcp_send(c, now_us, io, seq, len,
                      MF_TCP_ACK | (fin ? MF_TCP_FIN : 0));
  if (n < 0)
    return -1;
  if ((uint32_t)n < len)
    fin = false;
  sent(c, now_us, seq, (uint32_t)n, fin);
  uint32_t nxt = seq + (uint32_t)n + fin;
  if (MF_SEQ_GT(nxt, c->rtx_nxt))
    c->rtx_nxt = nxt;
  c->rtx_mark = c->snd_max;
  return n + fin;
}

bool mf_tcp_send_loss_probe(mf_tcp_conn_t *c, uint64_t now_us,
                            const mf_tcp_io_t *io)
{
  /* A resend or a lost hole the app still lacks: the oldest goes again,
   * the repair the probe is for (a lost resend has nothing else to
   * reveal it when no new data follows). */
  uint32_t hole = mf_tcp_sacked_skip(c, c->snd_una);
  uint32_t marked = MF_SEQ_GT(c->rtx_nxt, c->lost_end) ? c->rtx_nxt : c->lost_end;
  if (MF_SEQ_LT(hole, marked) && MF_SEQ_LT(hole, c->snd_max)) {
    c->tlp_rtx = true;
    return mf_tcp_resend(c, now_us, io, hole) > 0;
  }
  /* Else the last segment again, where RFC 8985 7.3 prefers new data:
   * the app's kernel answers a duplicate at once (and SACKs the holes
   * before it), while it may hold its ACK of one new segment for its
   * delayed-ACK time, 40 ms, hundreds of RTTs here. */
  uint32_t last = c->snd_max - (c->fin_sent ? 1u : 0u);
  uint32_t from = last - min32(last - c->snd_una, mf_tcp_smss(c));
  if (MF_SEQ_LT(from, mf_tcp_tx_base(c)))
    return false;
  int n = mf_tcp_send(c, now_us, io, from, last - from,
                      MF_TCP_ACK | (c->fin_sent ? MF_TCP_FIN : 0));
  if (n < 0)
    return false;
  sent(c, now_us, from, (uint32_t)n, c->fin_sent && from + (uint32_t)n == last);
  c->tlp_rtx = true;
  return true;
}

void mf_tcp_send_probe(mf_tcp_conn_t *c, uint64_t now_us,
                       const mf_tcp_io_t *io)
{
  /* One byte of new data (or the FIN) past the window: the app answers
   * with its window either way. From snd_una when resending one. */
  uint32_t end = tx_end(c);
  uint32_t seq = c->snd_max == c->snd_una ? c->snd_nxt : c->snd_una;
  uint32_t len = MF_SEQ_LT(seq, end) ? 1 : 0;
  bool fin = len == 0 && c->fin_pending && seq == end &&
             !(c->fin_sent && seq == c->snd_max);
  if (len == 0 && !fin)
    return;
  int n = mf_tcp_send(c, now_us, io, seq, len,
                      MF_TCP_ACK | (fin ? MF_TCP_FIN : 0));
  if (n < 0)
    return;
  c->stats.zero_window_probes++;
  sent(c, now_us, seq, (uint32_t)n, fin);
  if (MF_SEQ_GT(c->snd_max, c->snd_nxt))
    c->snd_nxt = c->snd_max;
}
