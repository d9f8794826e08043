#include "wireguard/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1 when c is outside the alphabet. Branch-free
 * and table-free because private keys go through here: each line adds
 * (c - base) only when c lies in its range, using the sign of
 * (low - 1 - c) & (c - high - 1), which is negative exactly then (c is a
 * byte, so the arithmetic right shift by 8 yields 0 or -1). */
static int b64_char_value(int c)
{
  int v = -1;
  v += (((64 - c) & (c - 91)) >> 8) & (c - 64);  /* 'A'..'Z' -> 0..25 */
  v += (((96 - c) & (c - 123)) >> 8) & (c - 70); /* 'a'..'z' -> 26..51 */
  v += (((47 - c) & (c - 58)) >> 8) & (c + 5);   /* '0'..'9' -> 52..61 */
  v += (((42 - c) & (c - 44)) >> 8) & 63;        /* '+' -> 62 */
  v += (((46 - c) & (c - 48)) >> 8) & 64;        /* '/' -> 63 */
  return v;
}

int mf_wg_key_from_base64(uint8_t key[MF_WG_KEY_LEN], const char *text)
{
  int bad = 0;
  uint8_t out[MF_WG_KEY_LEN] = {0};
  /* 32 bytes are 10 groups of 4 characters for 30 bytes, then 3
   * characters and '=' for the last 2 (RFC 4648 section 4). The shape is
   * not secret, so it may decide early. */
  if (!text || strnlen(text, MF_WG_KEY_B64_LEN + 1) != MF_WG_KEY_B64_LEN ||
      text[MF_WG_KEY_B64_LEN - 1] != '=') {
    bad = -1;
    goto out;
  }
  for (int g = 0; g < 10; g++) {
    const unsigned char *s = (const unsigned char *)text + 4 * g;
    int a = b64_char_value(s[0]), b = b64_char_value(s[1]);
    int c = b64_char_value(s[2]), d = b64_char_value(s[3]);
    bad |= a | b | c | d;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
                 (uint32_t)d;
    out[3 * g] = (uint8_t)(v >> 16);
    out[3 * g + 1] = (uint8_t)(v >> 8);
    out[3 * g + 2] = (uint8_t)v;
  }
  const unsigned char *s = (const unsigned char *)text + 40;
  int a = b64_char_value(s[0]), b = b64_char_value(s[1]);
  int c = b64_char_value(s[2]);
  /* The last character carries 4 key bits and 2 that must be zero, or two
   * texts would name one key. */
  bad |= a | b | c | -(c & 3);
  uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
  out[30] = (uint8_t)(v >> 16);
  out[31] = (uint8_t)(v >> 8);
out:;
  /* bad is negative when any check failed; spread that to a byte mask. */
  uint8_t keep = (uint8_t)~(bad >> 31 & 0xff);
  for (int i = 0; i < MF_WG_KEY_LEN; i++)
    key[i] = out[i] & keep;
  OPENSSL_cleanse(out, sizeof(out));
  return bad < 0 ? -1 : 0;
}

void mf_wg_key_to_base64(char out[MF_WG_KEY_B64_LEN + 1],
                         const uint8_t key[MF_WG_KEY_LEN])
{
  /* Index lookups on secret bytes are a cache side channel only to a
   * co-resident attacker; key printing is an administrative action. */
  int o = 0;
  for (int i = 0; i < MF_WG_KEY_LEN; i += 3) {
    uint32_t v = (uint32_t)key[i] << 16;
    if (i + 1 < MF_WG_KEY_LEN)
      v |= (uint32_t)key[i + 1] << 8;
    if (i + 2 < MF_WG_KEY_LEN)
      v |= key[i + 2];
    out[o++] = b64_alphabet[v >> 18 & 63];
    out[o++] = b64_alphabet[v >> 12 & 63];
    out[o++] = i + 1 < MF_WG_KEY_LEN ? b64_alphabet[v >> 6 & 63] : '=';
    out[o++] = i + 2 < MF_WG_KEY_LEN ? b64_alphabet[v & 63] : '=';
  }
  out[o] = '\0';
}

void mf_wg_key_clamp(uint8_t key[MF_WG_KEY_LEN])
{
  key[0] &= 248;
  key[31] = (uint8_t)((key[31] & 127) | 64);
}

int mf_wg_key_generate(uint8_t key[MF_WG_KEY_LEN])
{
  if (RAND_bytes(key, MF_WG_KEY_LEN) != 1)
    return -1;
  mf_wg_key_clamp(key);
  return 0;
}

int mf_wg_key_generate_psk(uint8_t psk[MF_WG_KEY_LEN])
{
  return RAND_bytes(psk, MF_WG_KEY_LEN) == 1 ? 0 : -1;
}

int mf_wg_key_public(uint8_t pub[MF_WG_KEY_LEN],
                     const uint8_t priv[MF_WG_KEY_LEN])
{
  int rc = -1;
  size_t n = MF_WG_KEY_LEN;
  EVP_PKEY *k =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, MF_WG_KEY_LEN);
  if (!k || EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 ||
      n != MF_WG_KEY_LEN)
    goto out;
  rc = 0;
out:
  EVP_PKEY_free(k); /* OpenSSL wipes the raw private key on free */
  return rc;
}

bool mf_wg_key_is_zero(const uint8_t key[MF_WG_KEY_LEN])
{
  static const uint8_t zero[MF_WG_KEY_LEN];
  return CRYPTO_memcmp(key, zero, MF_WG_KEY_LEN) == 0;
}
