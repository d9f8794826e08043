/* Congestion control: NewReno (RFC 5681 3, RFC 6582) with an initial
 * window of ten segments (RFC 6928), and RFC 6675's response to a loss
 * found with SACK. The engine calls it on a few events only, so another
 * algorithm can replace this file. */
#include "hoststack/tcp_internal.h"

static uint32_t flight(const mf_tcp_conn_t *c)
{
  return c->snd_max - c->snd_una;
}

/* RFC 5681 (4): half the flight, at least two segments. */
static uint32_t half_flight(const mf_tcp_conn_t *c)
{
  uint32_t h = flight(c) / 2;
  return h > 2 * mf_tcp_smss(c) ? h : 2 * mf_tcp_smss(c);
}

void mf_tcp_cc_init(mf_tcp_conn_t *c)
{
  /* RFC 6928 2: min(10 MSS, max(2 MSS, 14600)) */
  uint32_t iw = 14600 > 2 * mf_tcp_smss(c) ? 14600 : 2 * mf_tcp_smss(c);
  c->cwnd = iw < 10 * mf_tcp_smss(c) ? iw : 10 * mf_tcp_smss(c);
  c->ssthresh = UINT32_MAX / 2;
  c->recover = c->iss;
}

void mf_tcp_cc_on_ack(mf_tcp_conn_t *c, uint32_t acked)
{
  uint64_t cw = c->cwnd;
  if (cw < c->ssthresh) {
    /* Slow start, counting bytes (RFC 3465 with L = 2 segments, so that
     * the app's delayed ACKs do not halve the growth). */
    uint32_t l = 2 * mf_tcp_smss(c);
    cw += acked < l ? acked : l;
  } else {
    /* Congestion avoidance: about one MSS per round trip (RFC 5681 3.1). */
    uint64_t inc = (uint64_t)mf_tcp_smss(c) * mf_tcp_smss(c) / (cw ? cw : 1);
    cw += inc ? inc : 1;
  }
  c->cwnd = cw > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)cw;
}

void mf_tcp_cc_on_fast_retransmit(mf_tcp_conn_t *c)
{
  /* RFC 6582 3.2 step 2-3 */
  c->ssthresh = half_flight(c);
  c->cwnd = c->ssthresh + MF_TCP_DUPTHRESH * mf_tcp_smss(c);
}

void mf_tcp_cc_on_loss(mf_tcp_conn_t *c)
{
  /* RFC 6675 5 step 4.2: with SACK, pipe (not cwnd inflation) keeps the
   * ACK clock, so cwnd is simply ssthresh. */
  c->ssthresh = half_flight(c);
  c->cwnd = c->ssthresh;
}

void mf_tcp_cc_on_dupack(mf_tcp_conn_t *c)
{
  /* RFC 6582 3.2 step 4: each dupack means a segment left the network. */
  if (c->cwnd < UINT32_MAX / 2)
    c->cwnd += mf_tcp_smss(c);
}

void mf_tcp_cc_on_partial_ack(mf_tcp_conn_t *c, uint32_t acked)
{
  /* RFC 6582 3.2 step 5: deflate by what was acknowledged, add one MSS
   * back if at least one MSS was. */
  c->cwnd = c->cwnd > acked ? c->cwnd - acked : mf_tcp_smss(c);
  if (acked >= mf_tcp_smss(c))
    c->cwnd += mf_tcp_smss(c);
  if (c->cwnd < mf_tcp_smss(c))
    c->cwnd = mf_tcp_smss(c);
}

void mf_tcp_cc_on_recovery_end(mf_tcp_conn_t *c)
{
  /* With SACK cwnd was ssthresh all through recovery (RFC 6675), and
   * stays. Else RFC 6582 3.2 step 6, option 1: min(ssthresh,
   * max(FlightSize, SMSS) + SMSS). Never one segment alone: the app would
   * hold its ACK of a lone segment for its delayed-ACK time (40 ms). */
  if (c->sack_ok)
    return;
  uint32_t f = flight(c) > mf_tcp_smss(c) ? flight(c) : mf_tcp_smss(c);
  f += mf_tcp_smss(c);
  c->cwnd = c->ssthresh < f ? c->ssthresh : f;
}

void mf_tcp_cc_on_rto(mf_tcp_conn_t *c, bool first)
{
  /* RFC 5681 (4)-(5), ssthresh halved once per loss, not per backoff; the
   * retransmissions after an RTO are no recovery of RFC 6582, and dupacks
   * below recover must not start one (3.2 step 2). */
  if (first)
    c->ssthresh = half_flight(c);
  c->cwnd = mf_tcp_smss(c);
  c->recover = c->snd_max;
}
