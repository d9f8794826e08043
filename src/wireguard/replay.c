#include "wireguard/replay.h"

#include <string.h>

#include "wireguard/messages.h"

#define WORD_OF(c) ((c) / 64)
#define RING_SLOT(w) ((w) % MF_WG_REPLAY_WORDS)

void mf_wg_replay_init(mf_wg_replay_t *r)
{
  memset(r, 0, sizeof(*r));
}

bool mf_wg_replay_check(mf_wg_replay_t *r, uint64_t counter)
{
  /* Section 5.4.6: counters at or past Reject-After-Messages are never
   * valid, so the nonce space is never exhausted. */
  if (counter >= MF_WG_REJECT_AFTER_MESSAGES)
    return false;
  if (counter > r->greatest) {
    /* Clear every word between the old top word and the new one: their
     * bits belong to counters a whole ring earlier. A jump of a ring or
     * more clears the ring once. */
    uint64_t from = WORD_OF(r->greatest), to = WORD_OF(counter);
    uint64_t n = to - from;
    if (n > MF_WG_REPLAY_WORDS)
      n = MF_WG_REPLAY_WORDS;
    for (uint64_t i = 1; i <= n; i++)
      r->ring[RING_SLOT(from + i)] = 0;
    r->greatest = counter;
  } else if (r->greatest - counter > MF_WG_REPLAY_WINDOW) {
    return false; /* too old to tell: treat as a replay */
  }
  /* Within the window the word's slot holds this counter's generation:
   * the oldest accepted word index is at least WORD_OF(greatest) - 127. */
  uint64_t *w = &r->ring[RING_SLOT(WORD_OF(counter))];
  uint64_t bit = 1ull << (counter % 64);
  if (*w & bit)
    return false;
  *w |= bit;
  return true;
}
