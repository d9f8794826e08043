#include "wireguard/wg_crypto.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "wireguard/hchacha20.h"

/* Fetching is expensive and takes locks inside OpenSSL: do it once per
 * process. A failed fetch leaves a NULL that every caller reports as -1. */
static struct {
  EVP_MD *blake2s;
  EVP_MAC *blake2smac;
  EVP_MAC *hmac;
  EVP_CIPHER *chacha20poly1305;
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_fetch(void)
{
  algs.blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
  algs.blake2smac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
  algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  algs.chacha20poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static bool algs_ready(void)
{
  pthread_once(&algs_once, algs_fetch);
  return algs.blake2s && algs.blake2smac && algs.hmac &&
         algs.chacha20poly1305;
}

const EVP_CIPHER *mf_wg_aead_cipher(void)
{
  return algs_ready() ? algs.chacha20poly1305 : NULL;
}

int mf_wg_hash(uint8_t out[MF_WG_HASH_LEN], const void *a, size_t alen,
               const void *b, size_t blen)
{
  int rc = -1;
  EVP_MD_CTX *c = NULL;
  unsigned int n = 0;
  if (!algs_ready() || !(c = EVP_MD_CTX_new()))
    goto out;
  if (EVP_DigestInit_ex(c, algs.blake2s, NULL) != 1 ||
      EVP_DigestUpdate(c, a, alen) != 1 ||
      (blen && EVP_DigestUpdate(c, b, blen) != 1) ||
      EVP_DigestFinal_ex(c, out, &n) != 1 || n != MF_WG_HASH_LEN)
    goto out;
  rc = 0;
out:
  EVP_MD_CTX_free(c); /* cleanses the BLAKE2s state */
  return rc;
}

/* One keyed MAC computation; params select the variant. */
static int mac_once(EVP_MAC *alg, const OSSL_PARAM *params, uint8_t *out,
                    size_t outlen, const uint8_t *key, size_t keylen,
                    const void *in, size_t len)
{
  int rc = -1;
  size_t n = 0;
  EVP_MAC_CTX *c = EVP_MAC_CTX_new(alg);
  if (!c)
    goto out;
  if (EVP_MAC_init(c, key, keylen, params) != 1 ||
      (len && EVP_MAC_update(c, in, len) != 1) ||
      EVP_MAC_final(c, out, &n, outlen) != 1 || n != outlen)
    goto out;
  rc = 0;
out:
  EVP_MAC_CTX_free(c); /* cleanses the keyed state */
  return rc;
}

int mf_wg_mac(uint8_t out[MF_WG_MAC_LEN], const uint8_t *key, size_t keylen,
              const void *in, size_t len)
{
  if (!algs_ready() || keylen == 0 || keylen > 32)
    return -1;
  /* The output size is part of BLAKE2s's parameter block, so a 16-byte
   * MAC is not a truncated 32-byte one: it must be set before the key. */
  size_t size = MF_WG_MAC_LEN;
  OSSL_PARAM p[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                    OSSL_PARAM_END};
  return mac_once(algs.blake2smac, p, out, MF_WG_MAC_LEN, key, keylen, in,
                  len);
}

int mf_wg_hmac(uint8_t out[MF_WG_HASH_LEN], const uint8_t *key,
               size_t keylen, const void *in, size_t len)
{
  if (!algs_ready())
    return -1;
  static char digest[] = "BLAKE2S-256";
  OSSL_PARAM p[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_END};
  return mac_once(algs.hmac, p, out, MF_WG_HASH_LEN, key, keylen, in, len);
}

/* Section 5.4: tau0 = HMAC(key, in); tau_i = HMAC(tau0, tau_{i-1} || i).
 * Computed into locals first because callers pass the chaining key as both
 * key and t1. */
int mf_wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3,
              const uint8_t key[MF_WG_HASH_LEN], const void *in, size_t len)
{
  int rc = -1;
  uint8_t prk[MF_WG_HASH_LEN];
  uint8_t t[3][MF_WG_HASH_LEN];
  uint8_t buf[MF_WG_HASH_LEN + 1];
  int n = t3 ? 3 : t2 ? 2 : 1;
  if (mf_wg_hmac(prk, key, MF_WG_HASH_LEN, in, len) < 0)
    goto out;
  buf[0] = 1;
  if (mf_wg_hmac(t[0], prk, sizeof(prk), buf, 1) < 0)
    goto out;
  for (int i = 1; i < n; i++) {
    memcpy(buf, t[i - 1], MF_WG_HASH_LEN);
    buf[MF_WG_HASH_LEN] = (uint8_t)(i + 1);
    if (mf_wg_hmac(t[i], prk, sizeof(prk), buf, sizeof(buf)) < 0)
      goto out;
  }
  memcpy(t1, t[0], MF_WG_HASH_LEN);
  if (t2)
    memcpy(t2, t[1], MF_WG_HASH_LEN);
  if (t3)
    memcpy(t3, t[2], MF_WG_HASH_LEN);
  rc = 0;
out:
  OPENSSL_cleanse(prk, sizeof(prk));
  OPENSSL_cleanse(t, sizeof(t));
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

static const uint8_t zero_key[MF_WG_KEY_LEN];

/* An X25519 key object for priv. Made from raw bytes alone, OpenSSL
 * derives the public key at once; handed both, it only copies them. */
static EVP_PKEY *x25519_private(const uint8_t *priv, const uint8_t *pub)
{
  if (!pub)
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
                                        MF_WG_KEY_LEN);
  EVP_PKEY *key = NULL;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  /* fromdata only reads the buffers the params point to. */
  OSSL_PARAM p[] = {OSSL_PARAM_construct_octet_string(
                        OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, MF_WG_KEY_LEN),
                    OSSL_PARAM_construct_octet_string(
                        OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, MF_WG_KEY_LEN),
                    OSSL_PARAM_END};
  if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
      EVP_PKEY_fromdata(c, &key, EVP_PKEY_KEYPAIR, p) != 1)
    key = NULL;
  EVP_PKEY_CTX_free(c);
  return key;
}

int mf_wg_dh(uint8_t out[MF_WG_KEY_LEN], const uint8_t priv[MF_WG_KEY_LEN],
             const uint8_t *priv_pub, const uint8_t pub[MF_WG_KEY_LEN])
{
  int rc = -1;
  uint8_t shared[MF_WG_KEY_LEN];
  size_t n = sizeof(shared);
  EVP_PKEY *mine = x25519_private(priv, priv_pub);
  EVP_PKEY *theirs =
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, MF_WG_KEY_LEN);
  EVP_PKEY_CTX *c = mine ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
  if (!theirs || !c || EVP_PKEY_derive_init(c) != 1 ||
      EVP_PKEY_derive_set_peer(c, theirs) != 1 ||
      EVP_PKEY_derive(c, shared, &n) != 1 || n != sizeof(shared))
    goto out;
  /* OpenSSL already refuses an all-zero result; the check stays here so
   * the guarantee does not hang on a library detail. */
  if (CRYPTO_memcmp(shared, zero_key, sizeof(shared)) == 0)
    goto out;
  memcpy(out, shared, sizeof(shared));
  rc = 0;
out:
  OPENSSL_cleanse(shared, sizeof(shared));
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(mine); /* OpenSSL wipes raw key material on free */
  EVP_PKEY_free(theirs);
  return rc;
}

/* Section 5.4: the 96-bit nonce is 32 zero bits, then the counter as a
 * 64-bit little-endian integer. */
static void counter_nonce(uint8_t nonce[12], uint64_t counter)
{
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++)
    nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* Keys ctx for one message. A context the caller reuses gets its cipher
 * once; after that only key and nonce change, which avoids rebuilding the
 * provider context per packet. */
static int aead_begin(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key,
                      const uint8_t nonce[12])
{
  if (!algs_ready())
    return -1;
  if (!EVP_CIPHER_CTX_get0_cipher(ctx) &&
      EVP_CipherInit_ex(ctx, algs.chacha20poly1305, NULL, NULL, NULL, enc) != 1)
    return -1;
  return EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 ? 0 : -1;
}

static int seal_with(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *key,
                     const uint8_t nonce[12], const uint8_t *plain,
                     size_t len, const uint8_t *ad, size_t adlen)
{
  int n = 0;
  if (len > INT_MAX || adlen > INT_MAX || aead_begin(ctx, 1, key, nonce) < 0)
    return -1;
  if (adlen && EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)adlen) != 1)
    return -1;
  if (len && EVP_EncryptUpdate(ctx, out, &n, plain, (int)len) != 1)
    return -1;
  if (EVP_EncryptFinal_ex(ctx, out + len, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, MF_WG_TAG_LEN,
                          out + len) != 1)
    return -1;
  return 0;
}

static int open_with(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *key,
                     const uint8_t nonce[12], const uint8_t *sealed,
                     size_t sealed_len, const uint8_t *ad, size_t adlen)
{
  int n = 0, rc = -1;
  uint8_t tag[MF_WG_TAG_LEN];
  if (sealed_len < MF_WG_TAG_LEN || sealed_len > INT_MAX || adlen > INT_MAX)
    return -1;
  size_t len = sealed_len - MF_WG_TAG_LEN;
  /* The ctrl call wants a writable tag, and sealed may be const memory. */
  memcpy(tag, sealed + len, MF_WG_TAG_LEN);
  if (aead_begin(ctx, 0, key, nonce) < 0 ||
      (adlen && EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)adlen) != 1) ||
      (len && EVP_DecryptUpdate(ctx, out, &n, sealed, (int)len) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, MF_WG_TAG_LEN, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, out + len, &n) != 1)
    goto out;
  rc = 0;
out:
  /* Never hand back plaintext that failed authentication. */
  if (rc < 0)
    OPENSSL_cleanse(out, len);
  return rc;
}

int mf_wg_aead_seal(EVP_CIPHER_CTX *ctx, uint8_t *out,
                    const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                    const uint8_t *plain, size_t len, const uint8_t *ad,
                    size_t adlen)
{
  uint8_t nonce[12];
  counter_nonce(nonce, counter);
  EVP_CIPHER_CTX *own = ctx ? NULL : EVP_CIPHER_CTX_new();
  int rc = (ctx || own) ? seal_with(ctx ? ctx : own, out, key, nonce, plain,
                                    len, ad, adlen)
                        : -1;
  EVP_CIPHER_CTX_free(own); /* cleanses the key schedule */
  return rc;
}

int mf_wg_aead_open(EVP_CIPHER_CTX *ctx, uint8_t *out,
                    const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                    const uint8_t *sealed, size_t sealed_len,
                    const uint8_t *ad, size_t adlen)
{
  uint8_t nonce[12];
  counter_nonce(nonce, counter);
  EVP_CIPHER_CTX *own = ctx ? NULL : EVP_CIPHER_CTX_new();
  int rc = (ctx || own) ? open_with(ctx ? ctx : own, out, key, nonce, sealed,
                                    sealed_len, ad, adlen)
                        : -1;
  EVP_CIPHER_CTX_free(own);
  return rc;
}

/* draft-irtf-cfrg-xchacha-03 section 2.3. */
static void xchacha_derive(uint8_t subkey[32], uint8_t nonce12[12],
                           const uint8_t *key,
                           const uint8_t nonce[MF_WG_COOKIE_NONCE_LEN])
{
  mf_wg_hchacha20(subkey, key, nonce);
  memset(nonce12, 0, 4);
  memcpy(nonce12 + 4, nonce + 16, 8);
}

int mf_wg_xaead_seal(uint8_t *out, const uint8_t key[MF_WG_KEY_LEN],
                     const uint8_t nonce[MF_WG_COOKIE_NONCE_LEN],
                     const uint8_t *plain, size_t len, const uint8_t *ad,
                     size_t adlen)
{
  int rc = -1;
  uint8_t subkey[32], nonce12[12];
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  xchacha_derive(subkey, nonce12, key, nonce);
  if (c && seal_with(c, out, subkey, nonce12, plain, len, ad, adlen) == 0)
    rc = 0;
  OPENSSL_cleanse(subkey, sizeof(subkey));
  EVP_CIPHER_CTX_free(c);
  return rc;
}

int mf_wg_xaead_open(uint8_t *out, const uint8_t key[MF_WG_KEY_LEN],
                     const uint8_t nonce[MF_WG_COOKIE_NONCE_LEN],
                     const uint8_t *sealed, size_t sealed_len,
                     const uint8_t *ad, size_t adlen)
{
  int rc = -1;
  uint8_t subkey[32], nonce12[12];
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  xchacha_derive(subkey, nonce12, key, nonce);
  if (c && open_with(c, out, subkey, nonce12, sealed, sealed_len, ad,
                     adlen) == 0)
    rc = 0;
  OPENSSL_cleanse(subkey, sizeof(subkey));
  EVP_CIPHER_CTX_free(c);
  return rc;
}
