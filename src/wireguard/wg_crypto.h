/* The primitives of the whitepaper's section 5.4 on top of OpenSSL 3:
 * HASH (BLAKE2s-256), MAC (keyed BLAKE2s, 16 bytes), HMAC (HMAC-BLAKE2s),
 * KDF1..3 (HKDF over that HMAC), DH (X25519), AEAD (ChaCha20-Poly1305 with
 * a 64-bit little-endian counter nonce) and XAEAD (XChaCha20-Poly1305).
 *
 * Every function returns 0, or -1 on failure (OpenSSL refused, an
 * authentication tag did not match, a DH gave the all-zero point); on
 * failure the outputs hold nothing secret. Inputs and outputs may alias
 * unless said otherwise. All are thread-safe: algorithms are fetched once,
 * contexts are per call except where the caller passes one. */
#ifndef MF_WIREGUARD_WG_CRYPTO_H
#define MF_WIREGUARD_WG_CRYPTO_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "wireguard/messages.h"

/* out = HASH(a || b); b may be NULL with blen 0. */
int mf_wg_hash(uint8_t out[MF_WG_HASH_LEN], const void *a, size_t alen,
               const void *b, size_t blen);
/* out = MAC(key, in): keyed BLAKE2s with a 16-byte output; keylen 1..32. */
int mf_wg_mac(uint8_t out[MF_WG_MAC_LEN], const uint8_t *key, size_t keylen,
              const void *in, size_t len);
/* out = HMAC(key, in) with BLAKE2s-256. */
int mf_wg_hmac(uint8_t out[MF_WG_HASH_LEN], const uint8_t *key,
               size_t keylen, const void *in, size_t len);
/* (t1, t2, t3) = KDF_n(key, in); t2 and t3 may be NULL for KDF1/KDF2. */
int mf_wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3,
              const uint8_t key[MF_WG_HASH_LEN], const void *in, size_t len);
/* out = DH(priv, pub); fails when the result is all zero (a low-order
 * public key), which section 5.4 must never feed into the KDF. priv_pub,
 * priv's own public key, may be NULL; given, it saves OpenSSL the scalar
 * multiplication that would recompute it (a third of the cost). */
int mf_wg_dh(uint8_t out[MF_WG_KEY_LEN], const uint8_t priv[MF_WG_KEY_LEN],
             const uint8_t *priv_pub, const uint8_t pub[MF_WG_KEY_LEN]);
/* The EVP_CIPHER for ChaCha20-Poly1305, fetched once; NULL if OpenSSL
 * lacks it. The data path creates its per-worker contexts from it. */
const EVP_CIPHER *mf_wg_aead_cipher(void);

/* AEAD(key, counter, plain, ad): writes len bytes of ciphertext and the
 * 16-byte tag to out (len + 16 bytes; out may equal plain). ctx is a
 * caller-owned EVP_CIPHER_CTX, or NULL to use a temporary one. */
int mf_wg_aead_seal(EVP_CIPHER_CTX *ctx, uint8_t *out,
                    const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                    const uint8_t *plain, size_t len, const uint8_t *ad,
                    size_t adlen);
/* Opens sealed (ciphertext then tag, sealed_len >= 16) into out
 * (sealed_len - 16 bytes; out may equal sealed). On a bad tag out is
 * wiped. The tag compare is OpenSSL's, constant-time. */
int mf_wg_aead_open(EVP_CIPHER_CTX *ctx, uint8_t *out,
                    const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                    const uint8_t *sealed, size_t sealed_len,
                    const uint8_t *ad, size_t adlen);
/* XAEAD with a 24-byte nonce (draft-irtf-cfrg-xchacha-03 section 2.3):
 * ChaCha20-Poly1305 under HChaCha20(key, nonce[0..16)), nonce 0^4 ||
 * nonce[16..24). Same buffers as above. */
int mf_wg_xaead_seal(uint8_t *out, const uint8_t key[MF_WG_KEY_LEN],
                     const uint8_t nonce[MF_WG_COOKIE_NONCE_LEN],
                     const uint8_t *plain, size_t len, const uint8_t *ad,
                     size_t adlen);
int mf_wg_xaead_open(uint8_t *out, const uint8_t key[MF_WG_KEY_LEN],
                     const uint8_t nonce[MF_WG_COOKIE_NONCE_LEN],
                     const uint8_t *sealed, size_t sealed_len,
                     const uint8_t *ad, size_t adlen);

#endif
