/* RACK-TLP (RFC 8985): losses found by time, and the tail loss probe.
 *
 * RACK proper keeps a send time per segment; the engine keeps its bytes
 * in a ring and no per-segment record, so it reasons from what SACK tells
 * about the order of sending instead:
 *
 *   - First transmissions go out in sequence order, so bytes below the
 *     highest SACKed one were sent before it. Once the app has held those
 *     later bytes for the reordering window, the holes below are lost
 *     (RFC 8985 6.2; the time the SACK arrived stands in for the later
 *     segment's send time plus its RTT, which marks a hole a little later
 *     than RACK would, never sooner).
 *   - Resends are judged in tcp_recovery.c: bytes first sent after our
 *     latest resend being SACKed means the resends the app lacks are lost.
 *
 * The one timer, t_loss, is either the end of a pending reordering window
 * or the probe timeout (PTO, RFC 8985 7.2). When it fires with nothing
 * found lost, a probe goes out: an ACK for it (with SACK) shows what the
 * tail lost, in a few round trips rather than after an RTO. Unlike RFC
 * 8985, any progress (not only the probe's ACK) ends an episode, and an
 * episode may send a second probe: an RTO costs hundreds of RTTs here. */
#include "hoststack/tcp_internal.h"

/* RFC 8985 6.2 step 4: no window while no reordering was seen and we are
 * in recovery or DupThresh segments were SACKed; else a quarter of the
 * minimum RTT, at most SRTT. */
static uint32_t reo_wnd(const mf_tcp_conn_t *c)
{
  if (!c->reordered &&
      (c->in_recovery ||
       mf_tcp_sacked_bytes(c) >= MF_TCP_DUPTHRESH * mf_tcp_smss(c)))
    return 0;
  uint32_t w = c->min_rtt_us / 4;
  return c->srtt_us && w > c->srtt_us ? c->srtt_us : w;
}

static bool reo_pending(const mf_tcp_conn_t *c)
{
  return MF_SEQ_GT(c->reo_end, c->lost_end);
}

void mf_tcp_rack_mark(mf_tcp_conn_t *c, uint64_t now_us)
{
  uint32_t now = (uint32_t)now_us; /* wraps: only differences count */
  if (MF_SEQ_LT(c->lost_end, c->snd_una))
    c->lost_end = c->snd_una;
  if (MF_SEQ_LT(c->reo_end, c->lost_end))
    c->reo_end = c->lost_end;
  uint32_t w = reo_wnd(c);
  if (reo_pending(c) && now - c->reo_ts >= w)
    c->lost_end = c->reo_end;
  /* A newer delivery waits until the pending window is over: one window
   * at a time keeps the state two numbers, and only delays marks. */
  uint32_t fack = mf_tcp_sacked_high(c);
  if (!reo_pending(c) && MF_SEQ_GT(fack, c->reo_end)) {
    c->reo_end = fack;
    c->reo_ts = now;
    if (w == 0)
      c->lost_end = fack;
  }
}

void mf_tcp_rack_arm(mf_tcp_conn_t *c, uint64_t now_us)
{
  c->t_loss = 0;
  if (!c->sack_ok || c->snd_max == c->snd_una)
    return;
  if (reo_pending(c)) {
    uint32_t w = reo_wnd(c), gone = (uint32_t)now_us - c->reo_ts;
    c->t_loss = now_us + (gone < w ? w - gone : 0) + 1;
    return;
  }
  /* RFC 8985 7.2-7.3: a probe per episode (two here, the second after
   * twice the wait), none into a shut window, none before an RTT is
   * known. */
  if (c->tlp_count >= MF_TCP_TLP_MAX || c->snd_wnd == 0 || c->srtt_us == 0)
    return;
  uint64_t pto = 2ull * c->srtt_us;
  if (c->snd_max - c->snd_una <= mf_tcp_smss(c) + 1)
    pto += MF_TCP_PTO_DELACK_US;
  if (pto < MF_TCP_PTO_MIN_US)
    pto = MF_TCP_PTO_MIN_US;
  pto <<= c->tlp_count;
  uint64_t t = now_us + pto;
  if (c->t_rexmit && t >= c->t_rexmit)
    return; /* the RTO comes first */
  c->t_loss = t;
}

void mf_tcp_rack_on_timer(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                          uint64_t now_us, const mf_tcp_io_t *io)
{
  c->t_loss = 0;
  if (!c->sack_ok || c->snd_max == c->snd_una)
    return;
  if (reo_pending(c)) { /* the reordering window ended */
    mf_tcp_sack_news_t none = {0, false, false};
    mf_tcp_recovery_on_ack(c, &none, now_us, io);
  } else if (c->tlp_count < MF_TCP_TLP_MAX && c->snd_wnd != 0) {
    bool rtx_before = c->tlp_rtx;
    if (mf_tcp_send_loss_probe(c, now_us, io)) {
      c->tlp_out = true;
      c->tlp_end = c->snd_max;
      c->tlp_count++;
      c->stats.tlp_probes++;
    } else {
      c->tlp_rtx = rtx_before;
    }
  }
  mf_tcp_output(c, cfg, now_us, io);
}
