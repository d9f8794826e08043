#include "config/key_text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of one base64 character, or -1. Each range test becomes a
 * mask by arithmetic (a negative difference has its sign bit set), so the
 * time taken does not depend on which character a key holds. */
static int char_value(int c)
{
  int v = -1;
  v += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 'A' + 1);
  v += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 'a' + 27);
  v += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 53);
  v += (((('+' - 1) - c) & (c - ('+' + 1))) >> 8) & 63;
  v += (((('/' - 1) - c) & (c - ('/' + 1))) >> 8) & 64;
  return v;
}

int mf_key_text_decode(const char *text, size_t len, uint8_t key[MF_KEY_LEN])
{
  const unsigned char *s = (const unsigned char *)text;
  unsigned bad = 0;
  if (len != MF_KEY_TEXT_LEN || s[MF_KEY_TEXT_LEN - 1] != '=') {
    memset(key, 0, MF_KEY_LEN);
    return -1;
  }
  /* Ten groups of four characters give 30 bytes... */
  for (int g = 0; g < 10; g++) {
    int a = char_value(s[g * 4]), b = char_value(s[g * 4 + 1]);
    int c = char_value(s[g * 4 + 2]), d = char_value(s[g * 4 + 3]);
    bad |= (unsigned)(a | b | c | d) >> 31;
    uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) |
                 ((uint32_t)c << 6) | (uint32_t)d;
    key[g * 3] = (uint8_t)(v >> 16);
    key[g * 3 + 1] = (uint8_t)(v >> 8);
    key[g * 3 + 2] = (uint8_t)v;
  }
  /* ...and "XYZ=" the last two; Z's two low bits are padding and must be
   * zero (RFC 4648 section 3.5: canonical encoding). */
  int a = char_value(s[40]), b = char_value(s[41]), c = char_value(s[42]);
  bad |= (unsigned)(a | b | c) >> 31;
  bad |= (unsigned)c & 3;
  uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6);
  key[30] = (uint8_t)(v >> 16);
  key[31] = (uint8_t)(v >> 8);
  if (bad) {
    OPENSSL_cleanse(key, MF_KEY_LEN);
    return -1;
  }
  return 0;
}

void mf_key_text_encode(const uint8_t key[MF_KEY_LEN],
                        char out[MF_KEY_TEXT_LEN + 1])
{
  size_t o = 0;
  for (int i = 0; i < MF_KEY_LEN; i += 3) {
    uint32_t v = (uint32_t)key[i] << 16;
    if (i + 1 < MF_KEY_LEN)
      v |= (uint32_t)key[i + 1] << 8;
    if (i + 2 < MF_KEY_LEN)
      v |= key[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = i + 2 < MF_KEY_LEN ? alphabet[v & 63] : '=';
  }
  out[o] = 0;
}

bool mf_key_is_zero(const uint8_t key[MF_KEY_LEN])
{
  uint8_t acc = 0;
  for (int i = 0; i < MF_KEY_LEN; i++)
    acc |= key[i];
  return acc == 0;
}

int mf_key_public(const uint8_t priv[MF_KEY_LEN], uint8_t pub[MF_KEY_LEN])
{
  EVP_PKEY *k =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, MF_KEY_LEN);
  size_t n = MF_KEY_LEN;
  int rc = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == MF_KEY_LEN
               ? 0
               : -1;
  EVP_PKEY_free(k); /* the copy of priv inside is wiped by OpenSSL */
  return rc;
}
