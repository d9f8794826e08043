/* A peer's transport keypairs in three preallocated slots (whitepaper
 * section 5.4.5 and 6.1): `current` sends and receives, `previous` still
 * receives what was in flight when current replaced it, and `next` is a
 * responder's fresh session that waits for the initiator's first data
 * packet before it may send (the initiator only then surely has it).
 *
 * Rotation and expiry wipe the dropped keypairs and report their local
 * indices so the caller can forget them in its index table. A peer's
 * slots and their keypairs belong to one thread at a time (the worker
 * that owns the peer); only the send counter is atomic, because reusing a
 * nonce is the one mistake that must not happen even through a bug. */
#ifndef MF_WIREGUARD_KEYPAIRS_H
#define MF_WIREGUARD_KEYPAIRS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wireguard/noise.h"
#include "wireguard/replay.h"

typedef struct {
  mf_wg_session_t session;
  uint64_t birth;                /* monotonic ns of the handshake */
  _Atomic uint64_t send_counter; /* the next nonce to send */
  mf_wg_replay_t replay;         /* what we received */
  bool live;                     /* the slot holds a keypair */
  bool may_send;                 /* cleared by mf_wg_keypairs_expire_sending */
} mf_wg_keypair_t;

typedef struct {
  mf_wg_keypair_t slot[3];
  mf_wg_keypair_t *next, *current, *previous;
} mf_wg_keypairs_t;

/* Local indices of keypairs a call dropped (at most three). */
typedef struct {
  uint32_t index[3];
  unsigned n;
} mf_wg_dropped_t;

void mf_wg_keypairs_init(mf_wg_keypairs_t *kps);
/* Wipes every keypair: the zero-key-material timer, peer removal. */
void mf_wg_keypairs_clear(mf_wg_keypairs_t *kps, mf_wg_dropped_t *dropped);

/* Installs the session a handshake just derived at now, and wipes *s.
 * Ours as initiator becomes current at once (the peer proved it has the
 * keys by answering); ours as responder goes to next. Returns the new
 * keypair. */
mf_wg_keypair_t *mf_wg_keypairs_begin_session(mf_wg_keypairs_t *kps,
                                              mf_wg_session_t *s, uint64_t now,
                                              mf_wg_dropped_t *dropped);
/* Reports that a data packet authenticated under kp: when kp is next it
 * becomes current (true). */
bool mf_wg_keypairs_received_with(mf_wg_keypairs_t *kps, mf_wg_keypair_t *kp,
                                  mf_wg_dropped_t *dropped);
/* The live keypair with this local index (the receiver field of data and
 * of nothing else), or NULL. */
mf_wg_keypair_t *mf_wg_keypairs_find(mf_wg_keypairs_t *kps,
                                     uint32_t local_index);
/* current when it may send at now (section 6.1: younger than
 * Reject-After-Time, counter under Reject-After-Messages), else NULL: the
 * caller then queues and asks for a handshake. */
mf_wg_keypair_t *mf_wg_keypairs_for_send(mf_wg_keypairs_t *kps, uint64_t now);
/* True while kp may authenticate received packets at now. */
bool mf_wg_keypair_may_receive(const mf_wg_keypair_t *kp, uint64_t now);
/* Stops next and current from sending (a changed identity or psk makes
 * them stale) without dropping what is in flight towards us. */
void mf_wg_keypairs_expire_sending(mf_wg_keypairs_t *kps);

/* Reserves n consecutive send counters of kp, the first in *first; -1
 * when fewer than n remain under Reject-After-Messages (nothing taken). */
int mf_wg_keypair_reserve(mf_wg_keypair_t *kp, uint32_t n, uint64_t *first);

#endif
