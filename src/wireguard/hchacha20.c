#include "wireguard/hchacha20.h"

#include <openssl/crypto.h>

static inline uint32_t load32_le(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static inline void store32_le(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t rotl32(uint32_t v, int n)
{
  return v << n | v >> (32 - n);
}

/* RFC 8439 section 2.1. */
static inline void quarter_round(uint32_t *x, int a, int b, int c, int d)
{
  x[a] += x[b];
  x[d] = rotl32(x[d] ^ x[a], 16);
  x[c] += x[d];
  x[b] = rotl32(x[b] ^ x[c], 12);
  x[a] += x[b];
  x[d] = rotl32(x[d] ^ x[a], 8);
  x[c] += x[d];
  x[b] = rotl32(x[b] ^ x[c], 7);
}

void mf_wg_hchacha20(uint8_t out[32], const uint8_t key[32],
                     const uint8_t nonce16[16])
{
  /* "expand 32-byte k", then the key, then the 16 nonce bytes where
   * ChaCha20 has its counter and nonce (draft section 2.2). */
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++)
    x[4 + i] = load32_le(key + 4 * i);
  for (int i = 0; i < 4; i++)
    x[12 + i] = load32_le(nonce16 + 4 * i);
  for (int round = 0; round < 10; round++) {
    quarter_round(x, 0, 4, 8, 12);
    quarter_round(x, 1, 5, 9, 13);
    quarter_round(x, 2, 6, 10, 14);
    quarter_round(x, 3, 7, 11, 15);
    quarter_round(x, 0, 5, 10, 15);
    quarter_round(x, 1, 6, 11, 12);
    quarter_round(x, 2, 7, 8, 13);
    quarter_round(x, 3, 4, 9, 14);
  }
  /* Unlike a ChaCha20 block, no feed-forward of the input: the first and
   * last rows are the subkey. */
  for (int i = 0; i < 4; i++) {
    store32_le(out + 4 * i, x[i]);
    store32_le(out + 16 + 4 * i, x[12 + i]);
  }
  OPENSSL_cleanse(x, sizeof(x));
}
