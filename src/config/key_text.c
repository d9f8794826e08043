/* The profile's view of WireGuard keys: text of a given length, as YAML
 * scalars and wg-quick lines hand it over, decoded by the one codec the
 * project has (src/wireguard/keys.c). */
#include "config/key_text.h"

#include <openssl/crypto.h>
#include <string.h>

#include "wireguard/keys.h"

_Static_assert(MF_KEY_LEN == MF_WG_KEY_LEN, "one key size");
_Static_assert(MF_KEY_TEXT_LEN == MF_WG_KEY_B64_LEN, "one key text size");

int mf_key_text_decode(const char *text, size_t len, uint8_t key[MF_KEY_LEN])
{
  char buf[MF_KEY_TEXT_LEN + 1];
  if (len != MF_KEY_TEXT_LEN || memchr(text, 0, len)) {
    memset(key, 0, MF_KEY_LEN);
    return -1;
  }
  memcpy(buf, text, len);
  buf[len] = 0;
  int rv = mf_wg_key_from_base64(key, buf);
  OPENSSL_cleanse(buf, sizeof(buf));
  return rv;
}

void mf_key_text_encode(const uint8_t key[MF_KEY_LEN],
                        char out[MF_KEY_TEXT_LEN + 1])
{
  mf_wg_key_to_base64(out, key);
}

bool mf_key_is_zero(const uint8_t key[MF_KEY_LEN])
{
  return mf_wg_key_is_zero(key);
}

int mf_key_public(const uint8_t priv[MF_KEY_LEN], uint8_t pub[MF_KEY_LEN])
{
  return mf_wg_key_public(pub, priv);
}
