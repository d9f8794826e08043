/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 * Sums are carried in 64 bits and folded once at the end. */
#ifndef MF_IP_CHECKSUM_H
#define MF_IP_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds len bytes at p to sum, as 16-bit big-endian words. */
uint64_t mf_csum_add(uint64_t sum, const void *p, size_t len);

static inline uint16_t mf_csum_fold(uint64_t sum)
{
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The value for a checksum field: the complement of the folded sum, in
 * network order, ready to store. */
static inline uint16_t mf_csum_finish(uint64_t sum)
{
  uint16_t v = (uint16_t)~mf_csum_fold(sum);
  return (uint16_t)((v >> 8) | (v << 8));
}

/* True when the bytes, checksum field included, sum to all ones. */
static inline int mf_csum_ok(const void *p, size_t len, uint64_t seed)
{
  return mf_csum_fold(mf_csum_add(seed, p, len)) == 0xffff;
}

/* True when an IPv4 header of hlen bytes (a multiple of 4, at least 20)
 * has a correct checksum. Inline and in native order: every packet pays
 * for it. */
static inline int mf_ip4_header_csum_ok(const void *h, uint32_t hlen)
{
  const uint8_t *b = h;
  uint32_t w[5];
  memcpy(w, b, 20); /* the common, option-less header in five loads */
  uint64_t s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
  for (uint32_t i = 20; i < hlen; i += 4) {
    uint32_t o;
    memcpy(&o, b + i, 4);
    s += o;
  }
  return mf_csum_fold(s) == 0xffff;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changed from
 * old to new (all in network order). */
static inline uint16_t mf_csum_update16(uint16_t csum, uint16_t old_v,
                                        uint16_t new_v)
{
  uint32_t c = (uint16_t)~__builtin_bswap16(csum);
  c += (uint16_t)~__builtin_bswap16(old_v);
  c += __builtin_bswap16(new_v);
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  return __builtin_bswap16((uint16_t)~c);
}

/* Pseudo-header sums for TCP/UDP/ICMPv6 (RFC 9293 3.1, RFC 8200 8.1). */
uint64_t mf_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto,
                         uint32_t len);
uint64_t mf_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto,
                         uint32_t len);

#endif
