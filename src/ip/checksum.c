#include "ip/checksum.h"

uint64_t mf_csum_add(uint64_t sum, const void *p, size_t len)
{
  const uint8_t *b = p;
  /* The one's-complement sum is byte-order independent (RFC 1071 2(B)):
   * add native words, fold, and swap the folded 16 bits once at the end. */
  uint64_t s = 0, carries = 0;
  /* 8 bytes at a time; a carry out of 64 bits is worth 1 in one's
   * complement (2^64 = 1 modulo 2^16 - 1), so carries are counted on a
   * chain of their own and added once. */
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, b, 8);
    s += w;
    carries += s < w;
    b += 8;
    len -= 8;
  }
  s = (s & 0xffffffffu) + (s >> 32) + carries;
  if (len >= 4) {
    uint32_t w;
    memcpy(&w, b, 4);
    s += w;
    b += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, b, 2);
    s += w;
    b += 2;
    len -= 2;
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (len)
    s += b[0]; /* the high byte of a big-endian word is the low one here */
  return sum + __builtin_bswap16(mf_csum_fold(s));
#else
  if (len)
    s += (uint32_t)b[0] << 8;
  return sum + mf_csum_fold(s);
#endif
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
