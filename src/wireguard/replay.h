/* The receive-side counter window of one keypair (whitepaper section 5.4.6,
 * RFC 6479's bitmap without a shift: a ring of 64-bit words where moving
 * the window ahead only clears the words it passes). The ring holds 8192
 * bits, one word of which is always being recycled, so the window covers
 * the 8128 counters up to the greatest one accepted, as in Linux.
 *
 * Check a counter only after its packet authenticated: otherwise a forged
 * counter would move the window and lock the real packets out. */
#ifndef MF_WIREGUARD_REPLAY_H
#define MF_WIREGUARD_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define MF_WG_REPLAY_WORDS 128
#define MF_WG_REPLAY_WINDOW ((MF_WG_REPLAY_WORDS - 1) * 64)

typedef struct {
  uint64_t greatest; /* greatest counter accepted (0 before any) */
  uint64_t ring[MF_WG_REPLAY_WORDS];
} mf_wg_replay_t;

void mf_wg_replay_init(mf_wg_replay_t *r);
/* True, and recorded, when counter is below Reject-After-Messages, not
 * older than the window and not seen before; false for a replay. */
bool mf_wg_replay_check(mf_wg_replay_t *r, uint64_t counter);

#endif
