#include "wireguard/aead_ctx.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#include "wireguard/wg_crypto.h"

int mf_wg_aead_ctx_init(mf_wg_aead_ctx_t *c, int enc)
{
  const EVP_CIPHER *cipher = mf_wg_aead_cipher();
  memset(c, 0, sizeof(*c));
  c->enc = enc;
  c->evp = cipher ? EVP_CIPHER_CTX_new() : NULL;
  /* Bind the cipher and direction now; messages change key and nonce. */
  if (!c->evp || EVP_CipherInit_ex(c->evp, cipher, NULL, NULL, NULL, enc) != 1) {
    mf_wg_aead_ctx_fini(c);
    return -1;
  }
  return 0;
}

void mf_wg_aead_ctx_fini(mf_wg_aead_ctx_t *c)
{
  EVP_CIPHER_CTX_free(c->evp); /* cleanses the key schedule */
  c->evp = NULL;
  OPENSSL_cleanse(c->key, sizeof(c->key));
  c->keyed = false;
}

void mf_wg_aead_ctx_forget(mf_wg_aead_ctx_t *c)
{
  static const uint8_t zero[MF_WG_KEY_LEN];
  if (!c->keyed)
    return;
  /* Overwrite the schedule inside OpenSSL too: an all-zero key. */
  if (c->evp)
    EVP_CipherInit_ex(c->evp, NULL, NULL, zero, NULL, c->enc);
  OPENSSL_cleanse(c->key, sizeof(c->key));
  c->keyed = false;
}

/* Section 5.4: the 96-bit nonce is 32 zero bits, then the counter as a
 * 64-bit little-endian integer. */
static void counter_nonce(uint8_t nonce[12], uint64_t counter)
{
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++)
    nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* Whether c holds key: four word compares, no early exit (CRYPTO_memcmp
 * goes byte by byte, a cost per packet here). */
static bool holds(const mf_wg_aead_ctx_t *c, const uint8_t *key)
{
  uint64_t diff = 0;
  for (int i = 0; i < MF_WG_KEY_LEN; i += 8) {
    uint64_t a, b;
    memcpy(&a, c->key + i, 8);
    memcpy(&b, key + i, 8);
    diff |= a ^ b;
  }
  return c->keyed && diff == 0;
}

/* Readies c for one message: the nonce always, the key only when it is
 * not the one c holds. */
static int begin(mf_wg_aead_ctx_t *c, const uint8_t *key, uint64_t counter)
{
  uint8_t nonce[12];
  counter_nonce(nonce, counter);
  if (!c->evp)
    return -1;
  if (holds(c, key))
    return EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, nonce, c->enc) == 1 ? 0 : -1;
  c->keyed = false;
  if (EVP_CipherInit_ex(c->evp, NULL, NULL, key, nonce, c->enc) != 1)
    return -1;
  memcpy(c->key, key, MF_WG_KEY_LEN);
  c->keyed = true;
  return 0;
}

int mf_wg_aead_ctx_seal(mf_wg_aead_ctx_t *c, uint8_t *out,
                        const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                        const uint8_t *plain, size_t len)
{
  int n = 0;
  if (!c->enc || len > INT_MAX || begin(c, key, counter) < 0)
    return -1;
  if (len && EVP_EncryptUpdate(c->evp, out, &n, plain, (int)len) != 1)
    return -1;
  /* The tag through the parameter call itself: EVP_CIPHER_CTX_ctrl would
   * build the same parameter array on every packet. */
  OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                       out + len, MF_WG_TAG_LEN),
                     OSSL_PARAM_construct_end()};
  if (EVP_EncryptFinal_ex(c->evp, out + len, &n) != 1 ||
      EVP_CIPHER_CTX_get_params(c->evp, p) != 1)
    return -1;
  return 0;
}

int mf_wg_aead_ctx_open(mf_wg_aead_ctx_t *c, uint8_t *out,
                        const uint8_t key[MF_WG_KEY_LEN], uint64_t counter,
                        const uint8_t *sealed, size_t sealed_len)
{
  int n = 0, rc = -1;
  uint8_t tag[MF_WG_TAG_LEN];
  if (c->enc || sealed_len < MF_WG_TAG_LEN || sealed_len > INT_MAX)
    return -1;
  size_t len = sealed_len - MF_WG_TAG_LEN;
  /* Copied first: out may overlap sealed, tag included. */
  memcpy(tag, sealed + len, MF_WG_TAG_LEN);
  OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                       tag, MF_WG_TAG_LEN),
                     OSSL_PARAM_construct_end()};
  if (begin(c, key, counter) < 0 ||
      (len && EVP_DecryptUpdate(c->evp, out, &n, sealed, (int)len) != 1) ||
      EVP_CIPHER_CTX_set_params(c->evp, p) != 1 ||
      EVP_DecryptFinal_ex(c->evp, out + len, &n) != 1)
    goto out;
  rc = 0;
out:
  /* Never hand back plaintext that failed authentication. */
  if (rc < 0)
    OPENSSL_cleanse(out, len);
  return rc;
}
