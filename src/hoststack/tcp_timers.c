/* Timers of one connection, absolute times in microseconds, 0 when idle:
 *
 *   t_rexmit   retransmission (RFC 6298): the SYN-ACK while the app has
 *              not acknowledged it, else the oldest unacknowledged data;
 *              go back to snd_una in slow start, back off, and after
 *              max_retries resends in a row reset the connection. With
 *              the app's window shut it resends the window probe instead,
 *              without touching the congestion state.
 *   t_loss     RACK-TLP (RFC 8985, tcp_rack.c), with SACK only: the end of
 *              a reordering window (holes below what the app holds become
 *              lost and are resent), else the tail loss probe, about two
 *              RTTs after the last progress.
 *   t_persist  zero-window probe (RFC 9293 3.8.6.1): the app's window is
 *              0, nothing is in flight, and we have bytes or a FIN.
 *   t_delack   delayed ACK (RFC 9293 3.8.6.3), also the retry when the
 *              glue had no span for a segment.
 *   t_state    SYN-RECEIVED too long (syn_rcvd_ms), FIN-WAIT-2 idle
 *              (fin_wait_2_ms), TIME-WAIT over (time_wait_ms).
 */
#include "hoststack/tcp_internal.h"

static uint64_t earlier(uint64_t a, uint64_t b)
{
  if (!a)
    return b;
  if (!b)
    return a;
  return a < b ? a : b;
}

uint64_t mf_tcp_next_timer(const mf_tcp_conn_t *conn)
{
  return earlier(earlier(earlier(conn->t_rexmit, conn->t_delack),
                         earlier(conn->t_persist, conn->t_state)),
                 conn->t_loss);
}

static void state_timeout(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                          uint64_t now_us, const mf_tcp_io_t *io)
{
  switch (c->state) {
  case MF_TCP_S_SYN_RECEIVED: /* the upstream or the app never came */
  case MF_TCP_S_FIN_WAIT_2:   /* the app went quiet, half open */
    mf_tcp_reset_conn(c, io, MF_TCP_EV_RESET);
    break;
  case MF_TCP_S_TIME_WAIT:
    mf_tcp_set_state(c, cfg, MF_TCP_S_CLOSED, now_us);
    break;
  default:
    c->t_state = 0;
    break;
  }
}

static void rexmit_timeout(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                           uint64_t now_us, const mf_tcp_io_t *io)
{
  bool synack = c->state == MF_TCP_S_SYN_RECEIVED;
  if (!synack && c->snd_max == c->snd_una)
    return;
  if (c->retries >= cfg->max_retries) {
    mf_tcp_reset_conn(c, io, MF_TCP_EV_RESET);
    return;
  }
  c->retries++;
  mf_tcp_rtt_backoff(c);
  c->rtt_start_us = 0; /* Karn */
  if (synack) {
    c->stats.rto_expiries++;
    c->stats.retransmits++;
    mf_tcp_send_synack(c, now_us, io);
  } else if (c->snd_wnd == 0) {
    mf_tcp_send_probe(c, now_us, io);
  } else {
    c->stats.rto_expiries++;
    mf_tcp_cc_on_rto(c, c->retries == 1);
    c->dupacks = 0;
    if (c->sack_ok) {
      mf_tcp_recovery_on_rto(c); /* resent as lost, hole by hole */
    } else {
      c->in_recovery = false;
      c->snd_nxt = c->snd_una; /* go back N (RFC 9293 3.8.1, RFC 5681 3.1) */
    }
    mf_tcp_output(c, cfg, now_us, io);
  }
  c->t_rexmit = now_us + c->rto_us;
}

static void persist_timeout(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                            uint64_t now_us, const mf_tcp_io_t *io)
{
  if (c->snd_wnd == 0 && c->snd_max == c->snd_una) {
    mf_tcp_send_probe(c, now_us, io);
    if (c->snd_max != c->snd_una) /* resent by t_rexmit from now on */
      c->t_rexmit = now_us + c->rto_us;
    else
      c->t_persist = now_us + c->rto_us; /* no span: try again */
  } else {
    mf_tcp_output(c, cfg, now_us, io);
  }
}

void mf_tcp_on_timer(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                     uint64_t now_us, const mf_tcp_io_t *io)
{
  mf_tcp_conn_t *c = conn;
  if (c->state == MF_TCP_S_CLOSED) {
    c->t_rexmit = c->t_loss = c->t_delack = c->t_persist = c->t_state = 0;
    return;
  }
  if (c->t_state && c->t_state <= now_us) {
    c->t_state = 0;
    state_timeout(c, cfg, now_us, io);
    if (c->state == MF_TCP_S_CLOSED)
      return;
  }
  if (c->t_rexmit && c->t_rexmit <= now_us) {
    c->t_rexmit = 0;
    rexmit_timeout(c, cfg, now_us, io);
    if (c->state == MF_TCP_S_CLOSED)
      return;
  }
  if (c->t_loss && c->t_loss <= now_us) {
    c->t_loss = 0;
    mf_tcp_rack_on_timer(c, cfg, now_us, io);
    if (c->state == MF_TCP_S_CLOSED)
      return;
  }
  if (c->t_persist && c->t_persist <= now_us) {
    c->t_persist = 0;
    persist_timeout(c, cfg, now_us, io);
  }
  if (c->t_delack && c->t_delack <= now_us) {
    c->t_delack = 0;
    if (c->state != MF_TCP_S_SYN_RECEIVED) {
      c->ack_pending = true;
      mf_tcp_output(c, cfg, now_us, io);
    }
  }
}
