/* Segments from the app: the passive open and segment processing of RFC
 * 9293 3.10.7.4, in its order, with RFC 5961's answers to blind RST, SYN
 * and ACK, PAWS (RFC 7323 5), the sender's scoreboard and SACK recovery
 * (RFC 2018, 6675, 8985: tcp_recovery.c), duplicate ACKs and NewReno
 * recovery for apps without SACK (RFC 5681 3.2, RFC 6582), and the
 * rx side: in-order bytes into the ring, the rest in place beyond them.
 *
 * Every length comes from the segment and is checked against len before
 * use; nothing here reads outside [tcp, tcp + len). */
#include <string.h>

#include "hoststack/tcp_internal.h"

static uint32_t ring_size(uint32_t want)
{
  /* A power of two in [4 KiB, 1 GiB]: the largest window scaling can
   * announce is 65535 << 14. */
  uint32_t s = 4096;
  while (s < want && s < (1u << 30))
    s <<= 1;
  return s;
}

/* RFC 7323 2.3: the smallest shift that lets the field say the ring. */
static uint8_t wscale_for(uint32_t rx_buf)
{
  uint8_t shift = 0;
  while (shift < MF_TCP_MAX_WSCALE && (rx_buf >> shift) > 65535)
    shift++;
  return shift;
}

mf_tcp_verdict_t mf_tcp_accept(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                               const uint8_t *tcp, uint32_t len, uint32_t iss,
                               uint32_t mss_local, uint64_t now_us)
{
  mf_tcp_seg_t s;
  mf_tcp_opts_t o;
  if (mf_tcp_header_parse(tcp, len, &s) < 0)
    return MF_TCP_V_BAD_OPTIONS;
  if ((s.flags & (MF_TCP_SYN | MF_TCP_ACK | MF_TCP_RST | MF_TCP_FIN)) !=
      MF_TCP_SYN)
    return MF_TCP_V_BAD_FLAGS;
  if (mf_tcp_options_parse(tcp + MF_TCP_HDR_LEN, s.hdr_len - MF_TCP_HDR_LEN,
                           &o) < 0)
    return MF_TCP_V_BAD_OPTIONS;
  mf_tcp_conn_t *c = conn;
  memset(c, 0, sizeof(*c));
  memcpy(&c->remote_port, tcp, 2);
  memcpy(&c->local_port, tcp + 2, 2);
  c->state = MF_TCP_S_SYN_RECEIVED;
  c->iss = c->snd_una = c->snd_nxt = c->snd_max = iss;
  /* Marks in our sequence space start at the ISS, never at 0. */
  c->rtx_nxt = c->lost_end = c->reo_end = c->rtx_mark = c->tlp_end = iss;
  c->irs = s.seq;
  c->rcv_nxt = c->rcv_adv = c->last_ack_sent = s.seq + 1;
  /* Data on the SYN is not taken: the app sends it again. */
  if (mss_local < MF_TCP_MIN_MSS)
    mss_local = MF_TCP_MIN_MSS;
  c->mss_local = mss_local > 65535 ? 65535 : mss_local;
  uint32_t mss = o.has_mss ? o.mss : MF_TCP_DEFAULT_MSS;
  mss = mss < c->mss_local ? mss : c->mss_local;
  c->snd_mss = mss < MF_TCP_MIN_MSS ? MF_TCP_MIN_MSS : mss;
  uint32_t tso = cfg->tso_max_bytes / c->snd_mss;
  c->tso_segs = (uint8_t)(tso > 1 ? (tso > 255 ? 255 : tso) : 1);
  c->rx.size = ring_size(cfg->rx_buf);
  c->tx.size = ring_size(cfg->tx_buf);
  if (o.has_wscale && cfg->window_scaling) { /* RFC 7323 2.2: both or none */
    c->ws_ok = true;
    c->snd_wscale = o.wscale < MF_TCP_MAX_WSCALE ? o.wscale : MF_TCP_MAX_WSCALE;
    c->rcv_wscale = wscale_for(c->rx.size);
  }
  c->sack_ok = o.sack_perm && cfg->sack;
  c->ts_ok = o.has_ts && cfg->timestamps;
  c->ts_recent = o.tsval;
  /* Any fixed scramble of our secret-derived ISS will do. */
  c->ts_offset = iss * 2654435761u + 0x5bd1e995u;
  c->snd_wnd = c->max_sndwnd = s.wnd; /* never scaled in a SYN */
  c->snd_wl1 = s.seq;
  c->snd_wl2 = iss;
  mf_tcp_rtt_init(c);
  mf_tcp_cc_init(c);
  c->t_state = now_us + (uint64_t)cfg->syn_rcvd_ms * 1000;
  c->stats.segs_in = 1;
  return MF_TCP_V_ACCEPTED;
}

/* What happens to a connection the app reset. */
static mf_tcp_verdict_t reset_by_app(mf_tcp_conn_t *c)
{
  c->state = MF_TCP_S_CLOSED;
  c->t_rexmit = c->t_loss = c->t_delack = c->t_persist = c->t_state = 0;
  c->events |= MF_TCP_EV_RESET | MF_TCP_EV_CLOSED;
  return MF_TCP_V_RST;
}

/* SYN-RECEIVED before our SYN-ACK went out: nothing can be acknowledged
 * yet, and the app's SYN may come again while the upstream connects. */
static mf_tcp_verdict_t input_unanswered(mf_tcp_conn_t *c,
                                         const mf_tcp_seg_t *s)
{
  if (s->flags & MF_TCP_RST)
    return s->seq == c->rcv_nxt ? reset_by_app(c) : MF_TCP_V_OUT_OF_WINDOW;
  if (s->flags & MF_TCP_SYN)
    return s->seq == c->irs ? MF_TCP_V_SYN_WAITING : MF_TCP_V_SYN_IN_STATE;
  return (s->flags & MF_TCP_ACK) ? MF_TCP_V_BAD_ACK : MF_TCP_V_NO_ACK;
}

/* RFC 9293 3.10.7.4, first check: does the segment touch the window? A
 * zero window still takes a segment at rcv_nxt, for its ACK. */
static bool acceptable(const mf_tcp_conn_t *c, uint32_t seq, uint32_t seglen)
{
  uint32_t wnd = mf_tcp_rcv_wnd(c);
  uint32_t off = seq - c->rcv_nxt;
  if (seglen == 0)
    return wnd == 0 ? seq == c->rcv_nxt : off < wnd;
  if (wnd == 0)
    return seq == c->rcv_nxt;
  uint32_t last = seq + seglen - 1 - c->rcv_nxt;
  return off < wnd || last < wnd;
}

/* RTT samples in microseconds; only those timed on our clock (not the
 * millisecond timestamps) are fine enough for RACK's minimum RTT. */
static void rtt_sample(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg, uint64_t us,
                       bool fine)
{
  uint32_t r = us < MF_TCP_RTO_MAX_US ? (uint32_t)us : MF_TCP_RTO_MAX_US;
  mf_tcp_rtt_sample(c, r, cfg->rto_min_ms * 1000u);
  if (fine && (c->min_rtt_us == 0 || r < c->min_rtt_us))
    c->min_rtt_us = r ? r : 1;
}

static void enter_established(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                              const mf_tcp_seg_t *s, uint64_t now_us)
{
  c->snd_una = s->ack;
  if (c->rtt_start_us) { /* the SYN-ACK went out once: a clean sample */
    rtt_sample(c, cfg, now_us - c->rtt_start_us, true);
    c->rtt_start_us = 0;
  }
  c->snd_wnd = s->wnd << c->snd_wscale;
  c->max_sndwnd = c->snd_wnd;
  c->snd_wl1 = s->seq;
  c->snd_wl2 = s->ack;
  c->retries = 0;
  c->t_rexmit = 0;
  mf_tcp_set_state(c, cfg,
                   c->fin_pending ? MF_TCP_S_FIN_WAIT_1 : MF_TCP_S_ESTABLISHED,
                   now_us);
  c->events |= MF_TCP_EV_ESTABLISHED;
}

/* NewReno, for an app without SACK. */
static void enter_recovery(mf_tcp_conn_t *c, uint64_t now_us,
                           const mf_tcp_io_t *io)
{
  /* RFC 6582 3.2 step 2-3 */
  c->recover = c->snd_max;
  c->in_recovery = true;
  c->rtx_nxt = c->snd_una;
  c->stats.fast_retransmits++;
  mf_tcp_cc_on_fast_retransmit(c);
  mf_tcp_retransmit_hole(c, now_us, io);
}

/* An ACK that moves snd_una: bytes leave the tx ring, RTT, recovery. */
static void new_ack(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                    mf_tcp_mem_t *mem, const mf_tcp_opts_t *o, uint32_t ack,
                    uint64_t now_us, const mf_tcp_io_t *io)
{
  uint32_t acked = ack - c->snd_una;
  uint32_t base = mf_tcp_tx_base(c);
  uint32_t data = MF_SEQ_GT(ack, base + c->tx.len) ? c->tx.len : ack - base;
  mf_tcp_ring_drop(&c->tx, mem, data, false, false);
  if (data)
    c->events |= MF_TCP_EV_TX_SPACE;
  if (c->rtt_start_us && MF_SEQ_GT(ack, c->rtt_seq)) {
    rtt_sample(c, cfg, now_us - c->rtt_start_us, true);
    c->rtt_start_us = 0;
  } else if (c->ts_ok && o->has_ts && o->tsecr) {
    /* RFC 7323 4.1: the echo dates the segment that made this ACK, even
     * a resent one, where Karn's rule gives nothing. */
    uint32_t ms = mf_tcp_ts_now(c, now_us) - o->tsecr;
    if (ms < MF_TCP_RTO_MAX_US / 1000)
      rtt_sample(c, cfg, (uint64_t)ms * 1000, false);
  }
  c->snd_una = ack;
  if (MF_SEQ_LT(c->snd_nxt, ack))
    c->snd_nxt = ack;
  c->retries = 0;
  mf_tcp_sacked_trim(c);
  if (c->in_recovery && c->sack_ok) {
    /* RFC 6675: partial ACKs need nothing of their own, pipe and the
     * marks say what goes next; after an RTO cwnd grows in slow start. */
    if (c->rto_recovery)
      mf_tcp_cc_on_ack(c, acked);
    if (MF_SEQ_GEQ(ack, c->recover)) {
      c->in_recovery = false;
      if (!c->rto_recovery)
        mf_tcp_cc_on_recovery_end(c);
      c->rto_recovery = false;
    }
  } else if (c->in_recovery) {
    if (MF_SEQ_GEQ(ack, c->recover)) {
      c->in_recovery = false;
      mf_tcp_cc_on_recovery_end(c);
    } else { /* partial ACK: the next hole is lost too (RFC 6582 3.2 5) */
      mf_tcp_cc_on_partial_ack(c, acked);
      mf_tcp_retransmit_hole(c, now_us, io);
    }
  } else {
    mf_tcp_cc_on_ack(c, acked);
    /* recover trails snd_una so that it never falls 2^31 behind. */
    if (MF_SEQ_GT(ack, c->recover + 1))
      c->recover = ack - 1;
  }
  c->dupacks = 0;
  /* RFC 6298 5.3 */
  c->t_rexmit = c->snd_una == c->snd_max ? 0 : now_us + c->rto_us;
}

/* Our FIN was acknowledged (it is always the last number we sent). */
static void fin_acked(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                      uint64_t now_us)
{
  switch (c->state) {
  case MF_TCP_S_FIN_WAIT_1:
    mf_tcp_set_state(c, cfg, MF_TCP_S_FIN_WAIT_2, now_us);
    break;
  case MF_TCP_S_CLOSING:
    mf_tcp_set_state(c, cfg, MF_TCP_S_TIME_WAIT, now_us);
    break;
  case MF_TCP_S_LAST_ACK:
    mf_tcp_set_state(c, cfg, MF_TCP_S_CLOSED, now_us);
    break;
  default:
    break;
  }
}

/* RFC 9293 3.10.7.4, fifth check, with RFC 5961 5's bounds. */
static mf_tcp_verdict_t process_ack(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                                    mf_tcp_mem_t *mem, const mf_tcp_seg_t *s,
                                    const mf_tcp_opts_t *o, uint64_t now_us,
                                    const mf_tcp_io_t *io)
{
  uint32_t ack = s->ack;
  if (MF_SEQ_GT(ack, c->snd_max)) {
    mf_tcp_send_ack(c, now_us, io);
    return MF_TCP_V_BAD_ACK;
  }
  if (MF_SEQ_LT(ack, c->snd_una - c->max_sndwnd)) {
    mf_tcp_send_ack(c, now_us, io);
    return MF_TCP_V_OLD_ACK;
  }
  uint32_t wnd = s->wnd << c->snd_wscale;
  mf_tcp_sack_news_t news = {0, false, false};
  if (c->sack_ok)
    mf_tcp_recovery_take_sack(c, o, ack, &news);
  uint32_t fresh = news.fresh;
  bool moved = MF_SEQ_GT(ack, c->snd_una);
  if (moved) {
    new_ack(c, cfg, mem, o, ack, now_us, io);
  } else if (ack == c->snd_una && c->snd_max != c->snd_una &&
             c->snd_wnd != 0 && wnd != 0 &&
             !(s->flags & (MF_TCP_SYN | MF_TCP_FIN)) &&
             ((s->data_len == 0 && wnd == c->snd_wnd) || fresh)) {
    /* A duplicate ACK (RFC 5681 2), or one whose SACK blocks say a later
     * segment arrived (RFC 6675 5), even riding on the app's data. */
    if (c->dupacks < 255)
      c->dupacks++;
    /* With SACK, RACK and the scoreboard decide (below), not the count. */
    if (!c->sack_ok && c->in_recovery)
      mf_tcp_cc_on_dupack(c);
    else if (!c->sack_ok && c->dupacks == MF_TCP_DUPTHRESH &&
             MF_SEQ_GT(ack, c->recover))
      enter_recovery(c, now_us, io);
  }
  if (c->sack_ok && (moved || fresh)) {
    c->t_loss = 0; /* progress: the probe waits anew (RFC 8985 7.2) */
    c->tlp_count = 0;
    mf_tcp_recovery_on_ack(c, &news, now_us, io);
  }
  /* The send window, from the newest segment only (SND.WL1, SND.WL2). */
  if (MF_SEQ_LT(c->snd_wl1, s->seq) ||
      (c->snd_wl1 == s->seq && MF_SEQ_LEQ(c->snd_wl2, ack))) {
    c->snd_wnd = wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = ack;
    if (wnd > c->max_sndwnd)
      c->max_sndwnd = wnd;
  }
  /* The app answers while its window is shut: it is alive, and probes
   * go on however long it stays shut (RFC 1122 4.2.2.17). */
  if (c->snd_wnd == 0)
    c->retries = 0;
  if (c->tx.data && c->tx.len == 0) /* a ring the glue left empty */
    mf_tcp_ring_drop(&c->tx, mem, 0, false, false);
  if (c->fin_sent && c->snd_una == c->snd_max)
    fin_acked(c, cfg, now_us);
  return MF_TCP_V_ACCEPTED;
}

/* The app's FIN, in order: RFC 9293 3.10.7.4, eighth check. */
static void take_fin(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                     uint64_t now_us)
{
  c->rcv_nxt++;
  c->fin_rcvd = true;
  c->events |= MF_TCP_EV_RX_FIN;
  c->ack_pending = true;
  switch (c->state) {
  case MF_TCP_S_ESTABLISHED:
    mf_tcp_set_state(c, cfg, MF_TCP_S_CLOSE_WAIT, now_us);
    break;
  case MF_TCP_S_FIN_WAIT_1: /* our FIN is not acknowledged yet */
    mf_tcp_set_state(c, cfg, MF_TCP_S_CLOSING, now_us);
    break;
  case MF_TCP_S_FIN_WAIT_2:
    mf_tcp_set_state(c, cfg, MF_TCP_S_TIME_WAIT, now_us);
    break;
  default:
    break;
  }
}

/* Out-of-order bytes: written at their place in the ring, remembered as a
 * range, answered at once with SACK (RFC 5681 4.2). */
static mf_tcp_verdict_t take_ooo(mf_tcp_conn_t *c, mf_tcp_mem_t *mem,
                                 uint32_t seq, const uint8_t *d, uint32_t n)
{
  mf_tcp_range_t r[MF_TCP_MAX_HOLES];
  uint8_t k = c->n_ooo;
  memcpy(r, c->ooo, sizeof(r));
  c->ack_pending = true;
  if (mf_tcp_reass_add(r, &k, seq, seq + n) < 0)
    return MF_TCP_V_OOO_LIMIT;
  if (!mf_tcp_ring_ensure(&c->rx, mem, true))
    return MF_TCP_V_NO_MEMORY;
  uint32_t base = c->rcv_nxt - c->rx.len;
  mf_tcp_ring_write(&c->rx, seq - base, d, n);
  memcpy(c->ooo, r, sizeof(r));
  c->n_ooo = k;
  c->stats.ooo_segments++;
  return MF_TCP_V_ACCEPTED;
}

/* In-order bytes; they may close holes and make queued ranges in order. */
static mf_tcp_verdict_t take_in_order(mf_tcp_conn_t *c,
                                      const mf_tcp_cfg_t *cfg,
                                      mf_tcp_mem_t *mem, const uint8_t *d,
                                      uint32_t n, uint64_t now_us)
{
  if (!mf_tcp_ring_ensure(&c->rx, mem, true))
    return MF_TCP_V_NO_MEMORY;
  mf_tcp_ring_write(&c->rx, c->rx.len, d, n);
  bool filled = c->n_ooo > 0;
  uint32_t nxt = mf_tcp_reass_advance(c->ooo, &c->n_ooo, c->rcv_nxt + n);
  uint32_t added = nxt - c->rcv_nxt;
  c->rx.len += added;
  c->stats.bytes_in += added;
  c->rcv_nxt = nxt;
  c->events |= MF_TCP_EV_RX_DATA;
  /* RFC 9293 3.8.6.3 / RFC 5681 4.2: every second segment, a filled hole
   * at once, otherwise within delack_ms. */
  if (filled || ++c->unacked_segs >= 2)
    c->ack_pending = true;
  else if (!c->t_delack)
    c->t_delack = now_us + (uint64_t)cfg->delack_ms * 1000;
  return MF_TCP_V_ACCEPTED;
}

/* RFC 9293 3.10.7.4, seventh and eighth checks: text and FIN. */
static mf_tcp_verdict_t process_data(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                                     mf_tcp_mem_t *mem, const mf_tcp_seg_t *s,
                                     uint64_t now_us)
{
  uint32_t seq = s->seq, n = s->data_len, dend = s->seq + s->data_len;
  const uint8_t *d = s->data;
  bool fin = s->flags & MF_TCP_FIN;
  if (n == 0 && !fin)
    return MF_TCP_V_ACCEPTED;
  if (c->fin_rcvd || c->state == MF_TCP_S_TIME_WAIT) {
    c->ack_pending = true;
    if (c->state == MF_TCP_S_TIME_WAIT) /* RFC 9293: restart the 2 MSL */
      mf_tcp_set_state(c, cfg, MF_TCP_S_TIME_WAIT, now_us);
    return MF_TCP_V_AFTER_FIN;
  }
  if (MF_SEQ_LT(seq, c->rcv_nxt)) { /* trim what we have */
    uint32_t skip = c->rcv_nxt - seq;
    skip = skip < n ? skip : n;
    d += skip;
    seq += skip;
    n -= skip;
  }
  if (MF_SEQ_LT(dend, c->rcv_nxt))
    fin = false;
  mf_tcp_verdict_t v = MF_TCP_V_ACCEPTED;
  uint32_t ring_end = c->rcv_nxt - c->rx.len + c->rx.size;
  if (MF_SEQ_GT(seq + n, ring_end)) { /* trim what the ring cannot hold */
    n = MF_SEQ_GT(ring_end, seq) ? ring_end - seq : 0;
    fin = false;
    v = MF_TCP_V_RX_FULL;
  }
  if (n == 0 && !fin) { /* a duplicate, or no room: say where we are */
    c->ack_pending = true;
    return v;
  }
  if (n && seq != c->rcv_nxt) {
    /* A FIN beyond a hole is not kept: it comes again with its bytes. */
    mf_tcp_verdict_t w = take_ooo(c, mem, seq, d, n);
    return w != MF_TCP_V_ACCEPTED ? w : v;
  }
  if (n) {
    mf_tcp_verdict_t w = take_in_order(c, cfg, mem, d, n, now_us);
    if (w != MF_TCP_V_ACCEPTED)
      return w;
  }
  if (fin && c->rcv_nxt == dend)
    take_fin(c, cfg, now_us);
  return v;
}

static mf_tcp_verdict_t input_synced(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                                     mf_tcp_mem_t *mem, const mf_tcp_seg_t *s,
                                     const mf_tcp_opts_t *o, uint64_t now_us,
                                     const mf_tcp_io_t *io)
{
  /* RST (RFC 5961 3.2): only exactly at rcv_nxt; elsewhere in the window
   * it may be blind, and a challenge ACK lets a true peer resend it. */
  if (s->flags & MF_TCP_RST) {
    if (s->seq == c->rcv_nxt)
      return reset_by_app(c);
    uint32_t wnd = mf_tcp_rcv_wnd(c);
    if (s->seq - c->rcv_nxt < (wnd ? wnd : 1)) {
      mf_tcp_send_ack(c, now_us, io);
      return MF_TCP_V_RST_IN_WINDOW;
    }
    return MF_TCP_V_OUT_OF_WINDOW;
  }
  if (s->flags & MF_TCP_SYN) {
    /* Our SYN-ACK was lost: the app's SYN comes again. */
    if (c->state == MF_TCP_S_SYN_RECEIVED && s->seq == c->irs &&
        !(s->flags & MF_TCP_ACK)) {
      mf_tcp_send_synack(c, now_us, io);
      return MF_TCP_V_ACCEPTED;
    }
    mf_tcp_send_ack(c, now_us, io); /* RFC 5961 4.2 */
    return MF_TCP_V_SYN_IN_STATE;
  }
  bool has_ts = c->ts_ok && o->has_ts;
  if (has_ts && MF_SEQ_LT(o->tsval, c->ts_recent)) { /* RFC 7323 5.3 R1 */
    mf_tcp_send_ack(c, now_us, io);
    return MF_TCP_V_PAWS;
  }
  uint32_t seglen = s->data_len + ((s->flags & MF_TCP_FIN) ? 1 : 0);
  if (!acceptable(c, s->seq, seglen)) {
    mf_tcp_send_ack(c, now_us, io);
    return MF_TCP_V_OUT_OF_WINDOW;
  }
  if (!(s->flags & MF_TCP_ACK))
    return MF_TCP_V_NO_ACK;
  /* RFC 7323 4.3: remember the TSval of the segment our next ACK covers. */
  if (has_ts && MF_SEQ_LEQ(s->seq, c->last_ack_sent))
    c->ts_recent = o->tsval;
  if (c->state == MF_TCP_S_SYN_RECEIVED) {
    if (s->ack != c->iss + 1) { /* RFC 9293 3.10.7.4: <SEQ=SEG.ACK><RST> */
      mf_tcp_send_rst(c, io, s->ack, 0, MF_TCP_RST);
      return MF_TCP_V_BAD_ACK;
    }
    enter_established(c, cfg, s, now_us);
  }
  mf_tcp_verdict_t v = process_ack(c, cfg, mem, s, o, now_us, io);
  if (v != MF_TCP_V_ACCEPTED || c->state == MF_TCP_S_CLOSED)
    return v;
  if (c->state == MF_TCP_S_FIN_WAIT_2) /* the app is still there */
    mf_tcp_set_state(c, cfg, MF_TCP_S_FIN_WAIT_2, now_us);
  v = process_data(c, cfg, mem, s, now_us);
  mf_tcp_output(c, cfg, now_us, io);
  return v;
}

mf_tcp_verdict_t mf_tcp_input(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                              mf_tcp_mem_t *mem, const uint8_t *tcp,
                              uint32_t len, uint64_t now_us,
                              const mf_tcp_io_t *io)
{
  mf_tcp_seg_t s;
  mf_tcp_opts_t o;
  if (mf_tcp_header_parse(tcp, len, &s) < 0 ||
      mf_tcp_options_parse(tcp + MF_TCP_HDR_LEN, s.hdr_len - MF_TCP_HDR_LEN,
                           &o) < 0)
    return MF_TCP_V_BAD_OPTIONS;
  if ((s.flags & MF_TCP_SYN) && (s.flags & (MF_TCP_FIN | MF_TCP_RST)))
    return MF_TCP_V_BAD_FLAGS;
  conn->stats.segs_in++;
  switch (conn->state) {
  case MF_TCP_S_CLOSED:
    return MF_TCP_V_CLOSED;
  case MF_TCP_S_SYN_RECEIVED:
    if (conn->snd_max == conn->iss)
      return input_unanswered(conn, &s);
    break;
  case MF_TCP_S_TIME_WAIT:
    /* A new connection on the same ports: the glue recycles the slot
     * (release, then mf_tcp_accept) when it sees this verdict. */
    if ((s.flags & (MF_TCP_SYN | MF_TCP_ACK)) == MF_TCP_SYN)
      return MF_TCP_V_CLOSED;
    break;
  default:
    break;
  }
  return input_synced(conn, cfg, mem, &s, &o, now_us, io);
}
