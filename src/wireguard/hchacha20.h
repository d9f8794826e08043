/* HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): derives the subkey
 * that turns ChaCha20-Poly1305 into XChaCha20-Poly1305, which WireGuard's
 * cookie replies use (whitepaper section 5.4.7). OpenSSL 3.0 has no
 * XChaCha, so this one primitive lives here. */
#ifndef MF_WIREGUARD_HCHACHA20_H
#define MF_WIREGUARD_HCHACHA20_H

#include <stdint.h>

/* out = HChaCha20(key, nonce16); out may alias neither input. */
void mf_wg_hchacha20(uint8_t out[32], const uint8_t key[32],
                     const uint8_t nonce16[16]);

#endif
