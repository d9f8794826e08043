/* Transport data messages (whitepaper section 5.4.6): sealing IP packets
 * under a keypair and opening them, one at a time or a vector at a time.
 *
 * The cipher contexts are the caller's, made once per worker: per-packet
 * context allocation and cipher fetching would cost more than the
 * cipher; they keep their key between packets (aead_ctx.h). Encryption
 * works in place when out + 16 == plain: the packet
 * sits in a buffer with headroom for the header and tailroom for the tag.
 * Decryption works in place when out == msg + 16. */
#ifndef MF_WIREGUARD_DATA_H
#define MF_WIREGUARD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "wireguard/aead_ctx.h"
#include "wireguard/keypairs.h"

/* Drop reasons of the data path, declared once for the enum and the
 * names a counter table prints. */
#define foreach_mf_wg_data_error                                              \
  _(SHORT, "shorter than a keepalive")                                        \
  _(TYPE, "not a transport data message")                                     \
  _(INDEX, "receiver index is not the keypair's")                             \
  _(EXPIRED, "counter past Reject-After-Messages or keypair dead")            \
  _(AUTH, "authentication failed")                                            \
  _(REPLAY, "replayed or too old counter")                                    \
  _(CRYPTO, "cipher failure")

typedef enum {
  MF_WG_DATA_OK = 0,
#define _(sym, str) MF_WG_DATA_E_##sym,
  foreach_mf_wg_data_error
#undef _
      MF_WG_DATA_N_RESULTS
} mf_wg_data_result_t;

const char *mf_wg_data_result_name(mf_wg_data_result_t r);

typedef struct {
  mf_wg_aead_ctx_t seal, open;
} mf_wg_data_ctx_t;

/* 0, or -1 when OpenSSL cannot make the contexts. */
int mf_wg_data_ctx_init(mf_wg_data_ctx_t *c);
void mf_wg_data_ctx_fini(mf_wg_data_ctx_t *c);
/* Wipes the keys the contexts keep from the last packets (call when
 * keypairs are zeroed, whitepaper section 6.3). */
void mf_wg_data_ctx_forget(mf_wg_data_ctx_t *c);

/* Section 5.4.6: the plaintext is zero-padded to a multiple of 16, but
 * never past the MTU. */
static inline size_t mf_wg_data_padded_len(size_t len, size_t mtu)
{
  size_t padded = (len + 15) & ~(size_t)15;
  if (padded > mtu)
    padded = len > mtu ? len : mtu;
  return padded;
}

/* The bytes a message of a plain packet of len bytes takes. */
static inline size_t mf_wg_data_msg_len(size_t len)
{
  return MF_WG_DATA_HEADER_LEN + len + MF_WG_TAG_LEN;
}

/* Seals plain[0..len) (already padded, len 0 is a keepalive) with
 * counter under kp into out[0..len+32): header, ciphertext, tag. The
 * counter comes from mf_wg_keypair_reserve. Returns MF_WG_DATA_OK or
 * _EXPIRED / _CRYPTO. */
mf_wg_data_result_t mf_wg_data_encrypt(mf_wg_data_ctx_t *c,
                                       const mf_wg_keypair_t *kp,
                                       uint64_t counter, const uint8_t *plain,
                                       size_t len, uint8_t *out);

/* Opens a whole data message msg[0..len) with kp, which the caller chose
 * by the receiver index (checked again here) and checked with
 * mf_wg_keypair_may_receive. Writes the plaintext (len - 32 bytes) to out
 * and its length to *plain_len, then checks the counter against kp's
 * replay window. Any result but OK leaves nothing readable in out. */
mf_wg_data_result_t mf_wg_data_decrypt(mf_wg_data_ctx_t *c,
                                       mf_wg_keypair_t *kp, const uint8_t *msg,
                                       size_t len, uint8_t *out,
                                       size_t *plain_len);

/* One packet of a vector. */
typedef struct {
  mf_wg_keypair_t *kp;
  const uint8_t *in; /* encrypt: padded plaintext; decrypt: whole message */
  uint8_t *out;
  uint32_t len;      /* of in */
  uint32_t out_len;  /* set: bytes written to out */
  uint64_t counter;  /* encrypt: given; decrypt: set from the message */
  mf_wg_data_result_t result; /* set */
} mf_wg_data_op_t;

/* Each op as mf_wg_data_encrypt / _decrypt; returns how many succeeded. */
uint32_t mf_wg_data_encrypt_vector(mf_wg_data_ctx_t *c, mf_wg_data_op_t *ops,
                                   uint32_t n);
uint32_t mf_wg_data_decrypt_vector(mf_wg_data_ctx_t *c, mf_wg_data_op_t *ops,
                                   uint32_t n);

#endif
