/* Curve25519 keys as wg(8) handles them: 44-character base64 text (32
 * bytes, one '=' of padding), private keys clamped at generation, public
 * keys derived from private ones, preshared keys of 32 random bytes. */
#ifndef MF_WIREGUARD_KEYS_H
#define MF_WIREGUARD_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "wireguard/messages.h"

#define MF_WG_KEY_B64_LEN 44 /* without the terminating NUL */

/* Parses exactly 44 characters of base64 (the string must end there);
 * rejects other lengths, a missing '=', characters outside the alphabet
 * and non-zero padding bits. Constant time in the key's value. 0 or -1;
 * on -1, key is zero. */
int mf_wg_key_from_base64(uint8_t key[MF_WG_KEY_LEN], const char *text);
/* Writes 44 characters and a NUL. */
void mf_wg_key_to_base64(char out[MF_WG_KEY_B64_LEN + 1],
                         const uint8_t key[MF_WG_KEY_LEN]);
/* RFC 7748 section 5 clamping, as `wg genkey` applies it. */
void mf_wg_key_clamp(uint8_t key[MF_WG_KEY_LEN]);
/* `wg genkey`: a clamped private key from OpenSSL's CSPRNG; 0 or -1. */
int mf_wg_key_generate(uint8_t key[MF_WG_KEY_LEN]);
/* `wg genpsk`: 32 random bytes; 0 or -1. */
int mf_wg_key_generate_psk(uint8_t psk[MF_WG_KEY_LEN]);
/* `wg pubkey`; 0 or -1. */
int mf_wg_key_public(uint8_t pub[MF_WG_KEY_LEN],
                     const uint8_t priv[MF_WG_KEY_LEN]);
/* Constant-time test for the all-zero key (wg(8)'s "none"). */
bool mf_wg_key_is_zero(const uint8_t key[MF_WG_KEY_LEN]);

#endif
