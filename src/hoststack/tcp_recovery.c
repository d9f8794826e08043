/* Loss recovery when the app sends SACK blocks: RFC 6675's scoreboard,
 * pipe and NextSeg, with losses found by RACK (RFC 8985, tcp_rack.c)
 * rather than by counting duplicate ACKs. Without SACK the engine keeps
 * NewReno (RFC 6582, tcp_input.c).
 *
 * The sequence space beyond snd_una, as this file sees it:
 *
 *   snd_una      rtx_nxt            lost_end              snd_max
 *      |  resent   |  lost, to resend  |  in flight (or      |
 *      |  once     |  (NextSeg rule 1) |  not yet found lost)|
 *   with the app's SACKed ranges anywhere in it (never resent).
 *
 * A resend can be lost too: once the app SACKs bytes first sent after our
 * latest resend, every hole below rtx_nxt it still lacks is lost again,
 * and rtx_nxt goes back to snd_una (RFC 8985 2: a retransmission is lost
 * when a segment sent after it was delivered). */
#include "hoststack/tcp_internal.h"

static uint32_t seq_max(uint32_t a, uint32_t b)
{
  return MF_SEQ_GT(a, b) ? a : b;
}

static uint32_t seq_min(uint32_t a, uint32_t b)
{
  return MF_SEQ_LT(a, b) ? a : b;
}

/* Resent bytes below rtx_nxt, and lost ones, that the app still lacks. */
static bool holes_resent(const mf_tcp_conn_t *c)
{
  return MF_SEQ_GT(c->rtx_nxt, c->snd_una) &&
         mf_tcp_sacked_missing(c, c->snd_una, c->rtx_nxt) > 0;
}

void mf_tcp_recovery_take_sack(mf_tcp_conn_t *c, const mf_tcp_opts_t *o,
                               uint32_t ack, mf_tcp_sack_news_t *n)
{
  n->fresh = 0;
  n->past_rtx = false;
  /* RFC 2883: a first block below the ACK, or inside the second. */
  n->dsack = o->n_sack > 0 &&
             (MF_SEQ_LT(o->sack[0].start, ack) ||
              (o->n_sack > 1 && MF_SEQ_GEQ(o->sack[0].start, o->sack[1].start) &&
               MF_SEQ_LEQ(o->sack[0].end, o->sack[1].end)));
  uint32_t fack = mf_tcp_sacked_high(c);
  /* Bytes never resent: those the app may deliver late (reordering). A
   * range the scoreboard forgot would look like one, so none is judged
   * until it is empty again. */
  if (c->sack_forgot)
    fack = c->snd_una;
  uint32_t orig = seq_max(c->snd_una, c->rtx_nxt);
  if (MF_SEQ_GT(ack, c->snd_una) &&
      mf_tcp_sacked_missing(c, orig, seq_min(ack, fack)) > 0)
    c->reordered = true;
  for (uint8_t i = 0; i < o->n_sack; i++) {
    uint32_t s = o->sack[i].start, e = o->sack[i].end;
    if (!MF_SEQ_LT(s, e) || MF_SEQ_LEQ(e, c->snd_una) ||
        MF_SEQ_GT(e, c->snd_max))
      continue; /* mf_tcp_sacked_add refuses it too */
    if (mf_tcp_sacked_missing(c, seq_max(s, orig), seq_min(e, fack)) > 0)
      c->reordered = true;
    if (mf_tcp_sacked_missing(c, seq_max(s, c->rtx_mark), e) > 0)
      n->past_rtx = true;
    n->fresh += mf_tcp_sacked_add(c, s, e);
  }
}

uint32_t mf_tcp_pipe(const mf_tcp_conn_t *c)
{
  uint32_t flight = c->snd_max - c->snd_una;
  uint32_t out = mf_tcp_sacked_bytes(c);
  uint32_t from = seq_max(c->rtx_nxt, c->snd_una);
  if (MF_SEQ_LT(from, c->lost_end))
    out += mf_tcp_sacked_missing(c, from, c->lost_end);
  return flight > out ? flight - out : 0;
}

uint32_t mf_tcp_next_lost(const mf_tcp_conn_t *c)
{
  uint32_t s = mf_tcp_sacked_skip(c, seq_max(c->rtx_nxt, c->snd_una));
  return MF_SEQ_LT(s, c->lost_end) ? s : c->snd_max;
}

/* RFC 6675 5 step 4: ssthresh and cwnd fall once per window of data, and
 * the first lost segment goes at once, whatever pipe says. */
static void enter_recovery(mf_tcp_conn_t *c, uint64_t now_us,
                           const mf_tcp_io_t *io)
{
  c->recover = c->snd_max;
  c->in_recovery = true;
  c->rto_recovery = false;
  c->stats.fast_retransmits++;
  mf_tcp_cc_on_loss(c);
  uint32_t seq = mf_tcp_next_lost(c);
  if (MF_SEQ_LT(seq, c->snd_max))
    mf_tcp_resend(c, now_us, io, seq);
}

void mf_tcp_recovery_on_ack(mf_tcp_conn_t *c, const mf_tcp_sack_news_t *n,
                            uint64_t now_us, const mf_tcp_io_t *io)
{
  /* Keep the marks within reach of snd_una (sequence space wraps). */
  if (MF_SEQ_LT(c->rtx_nxt, c->snd_una))
    c->rtx_nxt = c->snd_una;
  if (MF_SEQ_LT(c->rtx_mark, c->snd_una))
    c->rtx_mark = c->snd_una;
  /* The probe's outcome (RFC 8985 7.4): a resent probe acknowledged
   * without a DSACK repaired a loss, which calls for a congestion
   * response like any other. */
  if (c->tlp_out && MF_SEQ_GEQ(c->snd_una, c->tlp_end)) {
    c->tlp_out = false;
    if (c->tlp_rtx && !n->dsack && !c->in_recovery &&
        MF_SEQ_GT(c->snd_una, c->recover)) {
      mf_tcp_cc_on_loss(c);
      c->recover = c->snd_max;
    }
  }
  /* Resends that bytes sent after them overtook are lost again. Under
   * reordering this waits for the loss probe instead. */
  if (n->past_rtx && !c->reordered && holes_resent(c)) {
    c->stats.lost_retransmits++;
    c->rtx_nxt = c->snd_una;
  }
  mf_tcp_rack_mark(c, now_us);
  if (!c->in_recovery && MF_SEQ_GT(c->snd_una, c->recover) &&
      MF_SEQ_LT(mf_tcp_next_lost(c), c->snd_max))
    enter_recovery(c, now_us, io);
}

void mf_tcp_recovery_on_rto(mf_tcp_conn_t *c)
{
  /* RFC 8985 6.3 / RFC 6675 5.1: all that the app did not SACK is lost,
   * resent from snd_una in slow start. A receiver may renege on its SACK
   * blocks (RFC 2018 8): after a second expiry in a row they are
   * forgotten, or a reneged range would never be resent. */
  if (c->retries >= 2)
    c->n_sacked = 0;
  c->lost_end = c->reo_end = c->snd_max;
  c->rtx_nxt = c->snd_una;
  c->rtx_mark = c->snd_max;
  c->in_recovery = true;
  c->rto_recovery = true;
  c->tlp_out = false;
  c->tlp_count = 0;
  c->t_loss = 0;
}
