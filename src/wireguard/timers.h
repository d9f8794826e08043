/* The per-peer timers of whitepaper section 6 as a pure state machine:
 * the caller reports protocol events with the current monotonic time in
 * nanoseconds, asks when the next timer is due (mf_wg_timers_next, for
 * its timer wheel), and at that time calls mf_wg_timers_expire, which
 * says what to do. Nothing here sends, allocates or reads a clock.
 *
 * Events the caller reports, as in the Linux implementation:
 *   data packet sent (not a keepalive)        -> data_sent
 *   data packet received (not a keepalive)    -> data_received
 *   any authenticated packet sent: data, keepalive, initiation, response
 *                                             -> any_authenticated_packet_sent
 *                                                and _traversal
 *   any authenticated packet received: data, keepalive, valid
 *   initiation or response                    -> _received and _traversal
 *   initiation sent                           -> handshake_initiated
 *   response consumed (we initiated)          -> handshake_complete
 *   keypair derived (either side)             -> session_derived
 *   persistent keepalive configured           -> set_persistent_keepalive
 * and asks before starting a handshake of its own accord (no keypair for
 * a packet to send, or a stale one) with mf_wg_timers_want_handshake or
 * the two rekey questions. One peer's timers belong to one thread. */
#ifndef MF_WIREGUARD_TIMERS_H
#define MF_WIREGUARD_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "wireguard/keypairs.h"

typedef enum {
  MF_WG_TIMER_RETRANSMIT_HANDSHAKE,
  MF_WG_TIMER_SEND_KEEPALIVE,
  MF_WG_TIMER_NEW_HANDSHAKE,
  MF_WG_TIMER_ZERO_KEY_MATERIAL,
  MF_WG_TIMER_PERSISTENT_KEEPALIVE,
  MF_WG_TIMER_N
} mf_wg_timer_id_t;

/* What mf_wg_timers_expire asks of the caller, as bits. */
enum {
  /* Create and send an initiation now, then report handshake_initiated. */
  MF_WG_TIMERS_SEND_INITIATION = 1u << 0,
  /* Send a keepalive (an empty data packet) now, or a queued packet. */
  MF_WG_TIMERS_SEND_KEEPALIVE = 1u << 1,
  /* The handshake was given up: drop the packets queued for it. */
  MF_WG_TIMERS_GIVE_UP = 1u << 2,
  /* Wipe the keypairs and the pending handshake. */
  MF_WG_TIMERS_ZERO_KEYS = 1u << 3,
};

/* Jitter added to handshake timers so that peers do not retry in step:
 * up to a third of a second, as Linux does. */
#define MF_WG_REKEY_TIMEOUT_JITTER (MF_WG_NS_PER_SEC / 3)
/* Section 6.4: retries fit in Rekey-Attempt-Time. */
#define MF_WG_MAX_HANDSHAKE_RETRIES (MF_WG_REKEY_ATTEMPT_TIME / MF_WG_REKEY_TIMEOUT)

typedef struct {
  uint64_t deadline[MF_WG_TIMER_N];
  uint32_t armed; /* bit per timer */
  uint32_t handshake_retries;
  bool need_another_keepalive;
  bool sent_lastminute_handshake;
  bool initiation_sent;
  uint64_t last_initiation; /* valid when initiation_sent */
  uint64_t last_handshake;  /* of the last completed one, 0 if none */
  uint64_t persistent_keepalive; /* interval in ns, 0 when off */
  uint64_t jitter_state;
} mf_wg_timers_t;

/* seed makes the jitter sequence; any value, the same one repeats it. */
void mf_wg_timers_init(mf_wg_timers_t *t, uint64_t seed);
/* Disarms every timer (peer removed, interface down). */
void mf_wg_timers_stop(mf_wg_timers_t *t);

void mf_wg_timers_data_sent(mf_wg_timers_t *t, uint64_t now);
void mf_wg_timers_data_received(mf_wg_timers_t *t, uint64_t now);
void mf_wg_timers_any_authenticated_packet_sent(mf_wg_timers_t *t, uint64_t now);
void mf_wg_timers_any_authenticated_packet_received(mf_wg_timers_t *t,
                                                    uint64_t now);
void mf_wg_timers_any_authenticated_packet_traversal(mf_wg_timers_t *t,
                                                     uint64_t now);
void mf_wg_timers_handshake_initiated(mf_wg_timers_t *t, uint64_t now);
void mf_wg_timers_handshake_complete(mf_wg_timers_t *t, uint64_t now);
void mf_wg_timers_session_derived(mf_wg_timers_t *t, uint64_t now);
/* Interval in seconds, 0 turns it off. Returns MF_WG_TIMERS_SEND_KEEPALIVE
 * when it was off and is now on: the first keepalive goes at once. */
uint32_t mf_wg_timers_set_persistent_keepalive(mf_wg_timers_t *t,
                                               uint16_t seconds, uint64_t now);

/* A handshake the caller wants (not a timer's retry): true when an
 * initiation may go now, at most one per Rekey-Timeout (section 6.2);
 * restarts the retry count. */
bool mf_wg_timers_want_handshake(mf_wg_timers_t *t, uint64_t now);
/* After sending under current: section 6.2 asks for a new handshake when
 * it carried Rekey-After-Messages, or when we initiated it and it is
 * Rekey-After-Time old. True when an initiation should go now. */
bool mf_wg_timers_rekey_after_send(mf_wg_timers_t *t,
                                   const mf_wg_keypair_t *current,
                                   uint64_t now);
/* After receiving under current: section 6.2's last chance for the
 * initiator, once current is Reject-After-Time - Keepalive-Timeout -
 * Rekey-Timeout old; asked once per session. */
bool mf_wg_timers_rekey_after_receive(mf_wg_timers_t *t,
                                      const mf_wg_keypair_t *current,
                                      uint64_t now);

/* When the next timer is due, UINT64_MAX when none is armed. */
uint64_t mf_wg_timers_next(const mf_wg_timers_t *t);
/* Runs every timer due at now; returns the MF_WG_TIMERS_* bits. */
uint32_t mf_wg_timers_expire(mf_wg_timers_t *t, uint64_t now);

#endif
