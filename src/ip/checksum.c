#include "ip/checksum.h"

uint64_t mf_csum_add(uint64_t sum, const void *p, size_t len)
{
  const uint8_t *b = p;
  /* 32 bits at a time into a 64-bit accumulator: no carry is lost for any
   * packet size we handle, and the fold at the end restores the 16-bit sum
   * (the one's-complement sum is byte-order independent, RFC 1071 2(B)). */
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, b, 4);
    sum += __builtin_bswap32(w);
    b += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += (uint32_t)(b[0] << 8 | b[1]);
    b += 2;
    len -= 2;
  }
  if (len)
    sum += (uint32_t)b[0] << 8;
  return sum;
}

uint64_t mf_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto,
                         uint32_t len)
{
  uint64_t sum = 0;
  sum = mf_csum_add(sum, &src, 4);
  sum = mf_csum_add(sum, &dst, 4);
  return sum + proto + len;
}

uint64_t mf_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto,
                         uint32_t len)
{
  uint64_t sum = 0;
  sum = mf_csum_add(sum, src, 16);
  sum = mf_csum_add(sum, dst, 16);
  return sum + proto + len;
}
