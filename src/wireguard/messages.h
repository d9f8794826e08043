/* WireGuard wire messages (whitepaper section 5.4.2-5.4.6) and the protocol
 * constants of section 6.1. The structs are the exact byte layout on the
 * wire: packed, multi-byte fields little-endian. Parsing copies a message
 * into its struct after checking the length and the 32-bit type word
 * exactly, so nothing downstream reads past what arrived. */
#ifndef MF_WIREGUARD_MESSAGES_H
#define MF_WIREGUARD_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MF_WG_KEY_LEN 32       /* Curve25519 keys, symmetric keys, PSK */
#define MF_WG_HASH_LEN 32      /* BLAKE2s-256 */
#define MF_WG_TAG_LEN 16       /* Poly1305 */
#define MF_WG_MAC_LEN 16       /* mac1, mac2 and the cookie itself */
#define MF_WG_TIMESTAMP_LEN 12 /* TAI64N */
#define MF_WG_COOKIE_NONCE_LEN 24

/* Section 5.4: the type is a 32-bit little-endian word; the three bytes
 * after the type byte are reserved zero, so checking the word checks both. */
enum {
  MF_WG_MSG_INITIATION = 1,
  MF_WG_MSG_RESPONSE = 2,
  MF_WG_MSG_COOKIE = 3,
  MF_WG_MSG_DATA = 4,
};

/* Section 5.4.2. */
typedef struct __attribute__((packed)) {
  uint32_t type;
  uint32_t sender;
  uint8_t ephemeral[MF_WG_KEY_LEN];
  uint8_t encrypted_static[MF_WG_KEY_LEN + MF_WG_TAG_LEN];
  uint8_t encrypted_timestamp[MF_WG_TIMESTAMP_LEN + MF_WG_TAG_LEN];
  uint8_t mac1[MF_WG_MAC_LEN];
  uint8_t mac2[MF_WG_MAC_LEN];
} mf_wg_msg_initiation_t;

/* Section 5.4.3. */
typedef struct __attribute__((packed)) {
  uint32_t type;
  uint32_t sender;
  uint32_t receiver;
  uint8_t ephemeral[MF_WG_KEY_LEN];
  uint8_t encrypted_nothing[MF_WG_TAG_LEN];
  uint8_t mac1[MF_WG_MAC_LEN];
  uint8_t mac2[MF_WG_MAC_LEN];
} mf_wg_msg_response_t;

/* Section 5.4.7. */
typedef struct __attribute__((packed)) {
  uint32_t type;
  uint32_t receiver;
  uint8_t nonce[MF_WG_COOKIE_NONCE_LEN];
  uint8_t encrypted_cookie[MF_WG_MAC_LEN + MF_WG_TAG_LEN];
} mf_wg_msg_cookie_t;

/* Section 5.4.6: this header, then the encrypted packet, then its tag. */
typedef struct __attribute__((packed)) {
  uint32_t type;
  uint32_t receiver;
  uint64_t counter;
} mf_wg_msg_data_t;

#define MF_WG_INITIATION_LEN 148
#define MF_WG_RESPONSE_LEN 92
#define MF_WG_COOKIE_LEN 64
#define MF_WG_DATA_HEADER_LEN 16
/* A keepalive: header and the tag of an empty packet (section 6.5). */
#define MF_WG_DATA_MIN_LEN (MF_WG_DATA_HEADER_LEN + MF_WG_TAG_LEN)

_Static_assert(sizeof(mf_wg_msg_initiation_t) == MF_WG_INITIATION_LEN, "5.4.2");
_Static_assert(sizeof(mf_wg_msg_response_t) == MF_WG_RESPONSE_LEN, "5.4.3");
_Static_assert(sizeof(mf_wg_msg_cookie_t) == MF_WG_COOKIE_LEN, "5.4.7");
_Static_assert(sizeof(mf_wg_msg_data_t) == MF_WG_DATA_HEADER_LEN, "5.4.6");

/* Section 6.1 constants, in nanoseconds of the monotonic clock. */
#define MF_WG_NS_PER_SEC 1000000000ull
#define MF_WG_REKEY_AFTER_MESSAGES (1ull << 60)
#define MF_WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ull << 13)) /* 2^64-2^13-1 */
#define MF_WG_REKEY_AFTER_TIME (120 * MF_WG_NS_PER_SEC)
#define MF_WG_REJECT_AFTER_TIME (180 * MF_WG_NS_PER_SEC)
#define MF_WG_REKEY_ATTEMPT_TIME (90 * MF_WG_NS_PER_SEC)
#define MF_WG_REKEY_TIMEOUT (5 * MF_WG_NS_PER_SEC)
#define MF_WG_KEEPALIVE_TIMEOUT (10 * MF_WG_NS_PER_SEC)
/* Section 5.4.7: the responder's cookie secret changes every two minutes. */
#define MF_WG_COOKIE_SECRET_MAX_AGE (120 * MF_WG_NS_PER_SEC)

static inline uint32_t mf_wg_le32(uint32_t wire)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return wire;
#else
  return __builtin_bswap32(wire);
#endif
}

static inline uint64_t mf_wg_le64(uint64_t wire)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return wire;
#else
  return __builtin_bswap64(wire);
#endif
}

/* The message type (MF_WG_MSG_*) when p holds a whole message of that type:
 * the type word is exact and the length is the type's (data: at least a
 * keepalive). 0 for anything else, which the caller drops. */
uint32_t mf_wg_msg_type(const uint8_t *p, size_t len);

/* Each copies a message of its type into *out; 0, or -1 when
 * mf_wg_msg_type(p, len) is not that type. */
int mf_wg_msg_initiation_parse(const uint8_t *p, size_t len,
                               mf_wg_msg_initiation_t *out);
int mf_wg_msg_response_parse(const uint8_t *p, size_t len,
                             mf_wg_msg_response_t *out);
int mf_wg_msg_cookie_parse(const uint8_t *p, size_t len,
                           mf_wg_msg_cookie_t *out);

/* A transport data message seen in place, fields in host order; the
 * payload (ciphertext and tag) stays in the caller's buffer. */
typedef struct {
  uint32_t receiver;
  uint64_t counter;
  const uint8_t *payload;
  size_t payload_len; /* ciphertext + tag, at least MF_WG_TAG_LEN */
} mf_wg_data_view_t;

int mf_wg_msg_data_parse(const uint8_t *p, size_t len, mf_wg_data_view_t *out);

/* The sender index of an initiation or a response, which a cookie reply
 * must name as its receiver (section 5.4.7); the caller has checked the
 * type with mf_wg_msg_type. */
static inline uint32_t mf_wg_msg_sender(const uint8_t *p)
{
  uint32_t w;
  memcpy(&w, p + 4, 4);
  return mf_wg_le32(w);
}

#endif
