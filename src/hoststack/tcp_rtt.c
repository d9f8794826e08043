/* Round-trip time and the retransmission timeout (RFC 6298), in
 * microseconds. The floor is the configured rto_min_ms rather than RFC
 * 6298's 1 s or Linux's 200 ms, both meant for wide-area paths: the app is
 * on this machine (tcp_cfg.c says why 50 ms). */
#include "hoststack/tcp_internal.h"

/* Clock granularity G of RFC 6298 2: our clock has microseconds, but a
 * variance of 0 must not make the RTO equal the bare SRTT. */
#define RTT_G_US 1000u

static void rto_update(mf_tcp_conn_t *c, uint32_t rto_min_us)
{
  uint64_t var = 4ull * c->rttvar_us;
  uint64_t rto = (uint64_t)c->srtt_us + (var > RTT_G_US ? var : RTT_G_US);
  if (rto < rto_min_us)
    rto = rto_min_us;
  if (rto > MF_TCP_RTO_MAX_US)
    rto = MF_TCP_RTO_MAX_US;
  c->rto_us = (uint32_t)rto;
}

void mf_tcp_rtt_init(mf_tcp_conn_t *c)
{
  c->srtt_us = c->rttvar_us = 0;
  c->rto_us = MF_TCP_RTO_INIT_US;
}

void mf_tcp_rtt_sample(mf_tcp_conn_t *c, uint32_t r, uint32_t rto_min_us)
{
  if (r > MF_TCP_RTO_MAX_US)
    r = MF_TCP_RTO_MAX_US;
  if (c->srtt_us == 0) { /* first measurement (RFC 6298 2.2) */
    c->srtt_us = r ? r : 1;
    c->rttvar_us = r / 2;
  } else { /* RFC 6298 2.3: beta 1/4, alpha 1/8 */
    uint32_t err = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
    c->rttvar_us = c->rttvar_us - c->rttvar_us / 4 + err / 4;
    c->srtt_us = c->srtt_us - c->srtt_us / 8 + r / 8;
    if (c->srtt_us == 0)
      c->srtt_us = 1;
  }
  rto_update(c, rto_min_us);
}

void mf_tcp_rtt_backoff(mf_tcp_conn_t *c)
{
  /* RFC 6298 5.5 */
  uint64_t rto = 2ull * c->rto_us;
  c->rto_us = rto > MF_TCP_RTO_MAX_US ? MF_TCP_RTO_MAX_US : (uint32_t)rto;
}

uint32_t mf_tcp_ts_now(const mf_tcp_conn_t *c, uint64_t now_us)
{
  return (uint32_t)(now_us / 1000) + c->ts_offset;
}
