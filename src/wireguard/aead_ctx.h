/* ChaCha20-Poly1305 contexts that keep their key between messages, for
 * the data path (whitepaper section 5.4.6): a vector mostly holds one
 * peer's packets under one key, and with OpenSSL 3 setting the key per
 * packet is not free (each EVP_CipherInit_ex with a key asks the provider
 * for the key length through its parameter interface); with the key kept,
 * a message only sets its nonce (about 7% more 1420-byte packets per CPU
 * second in bench/wireguard/encrypt_bench here).
 *
 * A context holds a copy of the last key it used until another key, a
 * forget or fini: the caller forgets when keys must be gone (section 6.3's
 * zeroing of key material). One context per worker and direction; not
 * thread-safe. */
#ifndef MF_WIREGUARD_AEAD_CTX_H
#define MF_WIREGUARD_AEAD_CTX_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wireguard/messages.h"

typedef struct {
  EVP_CIPHER_CTX *evp;
  uint8_t key[MF_WG_KEY_LEN]; /* the key evp holds, when keyed */
  bool keyed;
  int enc; /* 1: seals, 0: opens */
} mf_wg_aead_ctx_t;

/* 0, or -1 when OpenSSL cannot make the context. */
int mf_wg_aead_ctx_init(mf_wg_aead_ctx_t *c, int enc);
/* Frees the context; its key schedule and key copy are wiped. */
void mf_wg_aead_ctx_fini(mf_wg_aead_ctx_t *c);
/* Wipes the key the context holds (it keys itself again on next use). */
void mf_wg_aead_ctx_forget(mf_wg_aead_ctx_t *c);

/* As mf_wg_aead_seal without additional data, on a sealing context. */
int mf_wg_aead_ctx_seal(mf_wg_aead_ctx_t *c, uint8_t *out,
                        const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                        const uint8_t *plain, size_t len);
/* As mf_wg_aead_open without additional data, on an opening context: out
 * is wiped on a bad tag. */
int mf_wg_aead_ctx_open(mf_wg_aead_ctx_t *c, uint8_t *out,
                        const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                        const uint8_t *sealed, size_t sealed_len);

#endif
