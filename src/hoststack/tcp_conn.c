/* A connection's life outside segment processing: the SYN-ACK once the
 * upstream connected, the state changes and the timers they arm, resets
 * and the end (RFC 9293 3.10.4, 3.10.7). */
#include "hoststack/tcp_internal.h"

void mf_tcp_set_state(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg, uint8_t s,
                      uint64_t now_us)
{
  c->state = s;
  switch (s) {
  case MF_TCP_S_FIN_WAIT_2:
    c->t_state = now_us + (uint64_t)cfg->fin_wait_2_ms * 1000;
    break;
  case MF_TCP_S_TIME_WAIT: /* nothing is left to send or resend */
    c->t_rexmit = c->t_loss = c->t_persist = c->t_delack = 0;
    c->t_state = now_us + (uint64_t)cfg->time_wait_ms * 1000;
    break;
  case MF_TCP_S_CLOSED:
    c->t_rexmit = c->t_loss = c->t_persist = c->t_delack = c->t_state = 0;
    c->events |= MF_TCP_EV_CLOSED;
    break;
  default:
    c->t_state = 0;
    break;
  }
}

void mf_tcp_upstream_connected(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                               uint64_t now_us, const mf_tcp_io_t *io)
{
  mf_tcp_conn_t *c = conn;
  if (c->state != MF_TCP_S_SYN_RECEIVED || c->snd_max != c->iss)
    return;
  /* Sent or not (no span), the SYN-ACK now exists: t_rexmit resends it. */
  c->snd_nxt = c->snd_max = c->iss + 1;
  c->rtt_seq = c->iss;
  c->rtt_start_us = now_us ? now_us : 1;
  mf_tcp_send_synack(c, now_us, io);
  c->t_rexmit = now_us + c->rto_us;
}

void mf_tcp_reset_conn(mf_tcp_conn_t *c, const mf_tcp_io_t *io, uint16_t ev)
{
  switch (c->state) {
  case MF_TCP_S_CLOSED:
    return;
  case MF_TCP_S_SYN_RECEIVED:
    if (c->snd_max == c->iss) {
      /* RFC 9293 3.10.7.1, as to a segment without ACK: the app's
       * connect() fails at once with "refused". */
      mf_tcp_send_rst(c, io, 0, c->rcv_nxt, MF_TCP_RST | MF_TCP_ACK);
      break;
    }
    /* fall through */
  default:
    /* RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>. The app's rcv_nxt is
     * somewhere in [snd_una, snd_max]; RFC 5961 3.2 takes a RST only
     * exactly there, so with bytes in flight both ends get one (the one
     * below the app's rcv_nxt is dropped silently). */
    if (c->snd_una != c->snd_max)
      mf_tcp_send_rst(c, io, c->snd_una, c->rcv_nxt, MF_TCP_RST | MF_TCP_ACK);
    mf_tcp_send_rst(c, io, c->snd_max, c->rcv_nxt, MF_TCP_RST | MF_TCP_ACK);
    break;
  case MF_TCP_S_TIME_WAIT: /* all was said: nothing to reset */
    break;
  }
  c->state = MF_TCP_S_CLOSED;
  c->t_rexmit = c->t_loss = c->t_persist = c->t_delack = c->t_state = 0;
  c->events |= MF_TCP_EV_CLOSED | ev;
}

void mf_tcp_abort(mf_tcp_conn_t *conn, const mf_tcp_io_t *io)
{
  mf_tcp_reset_conn(conn, io, 0);
}

void mf_tcp_release(mf_tcp_conn_t *conn, mf_tcp_mem_t *mem)
{
  mf_tcp_conn_t *c = conn;
  if (c->rx.data)
    mf_tcp_mem_put(mem, c->rx.data, c->rx.size, true);
  if (c->tx.data)
    mf_tcp_mem_put(mem, c->tx.data, c->tx.size, false);
  c->rx.data = c->tx.data = NULL;
  c->rx.len = c->tx.len = c->rx.head = c->tx.head = 0;
  c->n_ooo = c->n_sacked = 0;
  c->state = MF_TCP_S_CLOSED;
  c->t_rexmit = c->t_loss = c->t_persist = c->t_delack = c->t_state = 0;
}
