/* WireGuard's Noise_IKpsk2 handshake (whitepaper section 5.4) as pure
 * functions over message structs: no sockets, peers tables or clocks.
 *
 * Initiator:  mf_wg_noise_create_initiation -> send ... receive response ->
 *             mf_wg_noise_consume_response -> session (we initiated).
 * Responder:  mf_wg_noise_consume_initiation -> the initiator's static key
 *             and timestamp; the caller finds the peer by that key, applies
 *             its replay and flood policy (a timestamp strictly later than
 *             the last accepted one, a bounded initiation rate), then
 *             mf_wg_noise_create_response -> send, and the session.
 * mac1/mac2 are not touched here: cookie.h adds and checks them.
 *
 * Every function returns 0 or -1 and leaves through one exit that wipes
 * its intermediate secrets; on -1 nothing the caller owns has changed
 * except that *out holds no secret. Callers must serialise calls that
 * share a mf_wg_handshake_t (it is per peer). */
#ifndef MF_WIREGUARD_NOISE_H
#define MF_WIREGUARD_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "wireguard/messages.h"

/* The local static key pair. */
typedef struct {
  uint8_t private_key[MF_WG_KEY_LEN];
  uint8_t public_key[MF_WG_KEY_LEN];
} mf_wg_identity_t;

/* What the handshake needs to know about one peer, precomputed when the
 * peer is configured (and again whenever the local identity changes). */
typedef struct {
  uint8_t public_key[MF_WG_KEY_LEN];
  uint8_t psk[MF_WG_KEY_LEN];           /* all zero when none (5.4.2) */
  uint8_t static_static[MF_WG_KEY_LEN]; /* DH(local private, public_key) */
} mf_wg_noise_peer_t;

/* The keys one completed handshake yields (section 5.4.5). */
typedef struct {
  uint8_t send_key[MF_WG_KEY_LEN];
  uint8_t recv_key[MF_WG_KEY_LEN];
  uint32_t local_index;  /* the receiver index in the data we get */
  uint32_t remote_index; /* the receiver index in the data we send */
  bool initiator;        /* we sent the initiation: we rekey on time */
} mf_wg_session_t;

/* The initiator's state between its initiation and the response. */
typedef struct {
  bool pending; /* an initiation awaits its response */
  uint32_t local_index;
  uint8_t hash[MF_WG_HASH_LEN];
  uint8_t chaining_key[MF_WG_HASH_LEN];
  uint8_t ephemeral_private[MF_WG_KEY_LEN];
  uint8_t ephemeral_public[MF_WG_KEY_LEN];
} mf_wg_handshake_t;

/* What a responder learned from a valid initiation. Holds secrets: pass
 * it to mf_wg_noise_create_response or wipe it with
 * mf_wg_noise_initiation_clear. */
typedef struct {
  uint32_t remote_index; /* the initiator's sender index */
  uint8_t remote_static[MF_WG_KEY_LEN];
  uint8_t remote_ephemeral[MF_WG_KEY_LEN];
  uint8_t timestamp[MF_WG_TIMESTAMP_LEN]; /* TAI64N, see tai64n.h */
  uint8_t hash[MF_WG_HASH_LEN];
  uint8_t chaining_key[MF_WG_HASH_LEN];
} mf_wg_initiation_t;

/* Sets the identity from a private key, deriving the public one; -1 for
 * an all-zero key (wg(8)'s "no key") or when OpenSSL fails. */
int mf_wg_identity_init(mf_wg_identity_t *id,
                        const uint8_t private_key[MF_WG_KEY_LEN]);
void mf_wg_identity_clear(mf_wg_identity_t *id);

/* Prepares a peer; psk may be NULL. -1 when the peer's key is a
 * low-order point (DH with it is all zero), such a peer can never
 * complete a handshake and the configuration should be refused. */
int mf_wg_noise_peer_init(mf_wg_noise_peer_t *peer, const mf_wg_identity_t *id,
                          const uint8_t public_key[MF_WG_KEY_LEN],
                          const uint8_t *psk);
void mf_wg_noise_peer_clear(mf_wg_noise_peer_t *peer);

/* Builds an initiation to peer with sender index local_index and the
 * given TAI64N timestamp. ephemeral_private may be NULL (a fresh random
 * key, the normal case) or a key the caller chose (tests). Replaces any
 * pending handshake in hs: the caller retires the old local index. The
 * macs of *out are zero; mf_wg_cookie_add_macs sets them. */
int mf_wg_noise_create_initiation(mf_wg_handshake_t *hs,
                                  const mf_wg_identity_t *id,
                                  const mf_wg_noise_peer_t *peer,
                                  uint32_t local_index,
                                  const uint8_t timestamp[MF_WG_TIMESTAMP_LEN],
                                  const uint8_t *ephemeral_private,
                                  mf_wg_msg_initiation_t *out);

/* Consumes the response to hs's pending initiation (the caller found hs
 * by msg's receiver index, checked mac1 first). On success the session
 * is in *out and hs is wiped; on failure hs stays pending, so a forged
 * response cannot cancel a real handshake. */
int mf_wg_noise_consume_response(mf_wg_handshake_t *hs,
                                 const mf_wg_identity_t *id,
                                 const mf_wg_noise_peer_t *peer,
                                 const mf_wg_msg_response_t *msg,
                                 mf_wg_session_t *out);

/* Decrypts an initiation addressed to id (mac1 already checked): learns
 * the initiator's static key and timestamp. Costs two DH. */
int mf_wg_noise_consume_initiation(const mf_wg_identity_t *id,
                                   const mf_wg_msg_initiation_t *msg,
                                   mf_wg_initiation_t *out);
void mf_wg_noise_initiation_clear(mf_wg_initiation_t *in);

/* Answers the initiation in *in, which came from peer (its public key must
 * be in->remote_static), with sender index local_index; ephemeral_private
 * as for the initiation. Writes the response (macs zero) and the session,
 * and wipes *in. */
int mf_wg_noise_create_response(mf_wg_initiation_t *in,
                                 const mf_wg_noise_peer_t *peer,
                                 uint32_t local_index,
                                 const uint8_t *ephemeral_private,
                                 mf_wg_msg_response_t *out,
                                 mf_wg_session_t *session);

void mf_wg_noise_handshake_clear(mf_wg_handshake_t *hs);
void mf_wg_noise_session_clear(mf_wg_session_t *s);

#endif
