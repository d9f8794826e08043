/* mac1, mac2 and cookies: WireGuard's defence against handshake floods
 * (whitepaper section 5.3 and 5.4.4, 5.4.7).
 *
 * Every handshake message ends with mac1 = MAC(HASH(LABEL_MAC1 || S_pub),
 * msg up to mac1), S_pub being the receiver's static key, so only those
 * who know it can make us spend a DH. A responder under load also demands
 * mac2 = MAC(cookie, msg up to mac2), where cookie = MAC(secret, source IP
 * and port) proves the sender receives at that address; it gets the
 * cookie in a cookie reply, sealed with XAEAD under HASH(LABEL_COOKIE ||
 * S_pub) and bound to the mac1 of the message it answers.
 *
 * The checker is the receiving side, one per local identity; the maker is
 * the sending side, one per peer. Both carry state that changes on use:
 * each belongs to one thread at a time. Times are monotonic nanoseconds. */
#ifndef MF_WIREGUARD_COOKIE_H
#define MF_WIREGUARD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wireguard/messages.h"

typedef struct {
  uint8_t mac1_key[MF_WG_HASH_LEN];   /* HASH(LABEL_MAC1 || our public) */
  uint8_t cookie_key[MF_WG_HASH_LEN]; /* HASH(LABEL_COOKIE || our public) */
  uint8_t secret[MF_WG_HASH_LEN];     /* R_m, rotated every 120 s */
  uint64_t secret_birth;
  bool secret_valid;
} mf_wg_cookie_checker_t;

typedef struct {
  uint8_t mac1_key[MF_WG_HASH_LEN];   /* HASH(LABEL_MAC1 || peer public) */
  uint8_t cookie_key[MF_WG_HASH_LEN]; /* HASH(LABEL_COOKIE || peer public) */
  uint8_t cookie[MF_WG_MAC_LEN];      /* L_m, the last cookie received */
  uint64_t cookie_birth;
  bool cookie_valid;
  uint8_t last_mac1[MF_WG_MAC_LEN]; /* of the last handshake message sent */
  bool last_mac1_valid;             /* a cookie reply may answer it */
} mf_wg_cookie_maker_t;

typedef enum {
  MF_WG_COOKIE_MAC1_BAD,   /* drop: not for us, or tampered */
  MF_WG_COOKIE_MAC1_OK,    /* mac1 good; mac2 not checked or not good */
  MF_WG_COOKIE_MAC2_OK,    /* both good: process even under load */
} mf_wg_cookie_verdict_t;

/* 0, or -1 when hashing fails. */
int mf_wg_cookie_checker_init(mf_wg_cookie_checker_t *c,
                              const uint8_t local_public[MF_WG_KEY_LEN]);
int mf_wg_cookie_maker_init(mf_wg_cookie_maker_t *m,
                            const uint8_t peer_public[MF_WG_KEY_LEN]);
void mf_wg_cookie_checker_clear(mf_wg_cookie_checker_t *c);
void mf_wg_cookie_maker_clear(mf_wg_cookie_maker_t *m);

/* Sets mac1, and mac2 when the maker holds a cookie younger than 120 s
 * (else mac2 is zero), on an initiation or response of len bytes whose
 * type was set by noise.h. Remembers mac1 for a cookie reply. 0 or -1. */
int mf_wg_cookie_add_macs(mf_wg_cookie_maker_t *m, uint8_t *msg, size_t len,
                          uint64_t now);

/* Checks the macs of a received initiation or response. mac2 is checked
 * only when check_mac2 (the caller is under load); src is the datagram's
 * source (AF_INET or AF_INET6; other families fail mac2). */
mf_wg_cookie_verdict_t mf_wg_cookie_validate(mf_wg_cookie_checker_t *c,
                                             const uint8_t *msg, size_t len,
                                             const struct sockaddr *src,
                                             bool check_mac2, uint64_t now);

/* Builds the cookie reply to msg (an initiation or response with a valid
 * mac1 that came from src). 0 or -1. */
int mf_wg_cookie_create_reply(mf_wg_cookie_checker_t *c, const uint8_t *msg,
                              size_t len, const struct sockaddr *src,
                              uint64_t now, mf_wg_msg_cookie_t *out);

/* Takes the cookie from a reply (routed to this maker by its receiver
 * index). Fails unless it answers the last message the maker sent macs
 * for, and accepts one reply per such message. 0 or -1. */
int mf_wg_cookie_consume_reply(mf_wg_cookie_maker_t *m,
                               const mf_wg_msg_cookie_t *reply, uint64_t now);

#endif
