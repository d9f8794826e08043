/* WireGuard keys as text, the way wg(8) writes them: 32 bytes in base64
 * (RFC 4648 section 4), 44 characters ending in one '='. Profiles and the
 * wg-quick importer read keys through here; nothing else is needed from
 * the WireGuard part to check a profile. */
#ifndef MF_CONFIG_KEY_TEXT_H
#define MF_CONFIG_KEY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_KEY_LEN 32
#define MF_KEY_TEXT_LEN 44 /* without a NUL */

/* Decodes exactly len == 44 characters; refuses other lengths, characters
 * outside the alphabet, a missing '=' and non-zero padding bits, so that
 * only the canonical text of a key is accepted. Runs in time independent
 * of the key's value. Returns 0, or -1 with key zeroed. */
int mf_key_text_decode(const char *text, size_t len, uint8_t key[MF_KEY_LEN]);

/* Writes the 44 characters and a NUL. */
void mf_key_text_encode(const uint8_t key[MF_KEY_LEN],
                        char out[MF_KEY_TEXT_LEN + 1]);

/* True for the all-zero key, which wg(8) treats as "no key". */
bool mf_key_is_zero(const uint8_t key[MF_KEY_LEN]);

/* The X25519 public key of a private key (RFC 7748 section 6.1), through
 * OpenSSL. Returns 0, or -1. */
int mf_key_public(const uint8_t priv[MF_KEY_LEN], uint8_t pub[MF_KEY_LEN]);

#endif
