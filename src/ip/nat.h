/* One-to-one address rewriting for tunnels: a packet leaves a tunnel
 * interface with that interface's own address as its source, and replies
 * come back to the TUN's address, as with wg-quick. Checksums are updated
 * incrementally (RFC 1624): the IPv4 header's, and TCP's and UDP's through
 * their pseudo-header. ICMP (v4) has no pseudo-header; ICMPv6 does. */
#ifndef MF_IP_NAT_H
#define MF_IP_NAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ip/checksum.h"
#include "ip/headers.h"

/* Offsets of the address fields in the fixed headers. */
#define MF_NAT4_SRC 12
#define MF_NAT4_DST 16
#define MF_NAT6_SRC 8
#define MF_NAT6_DST 24

/* Where the L4 checksum that covers the pseudo-header sits, or NULL. */
static inline uint8_t *mf_nat_l4_csum(uint8_t *l4, uint32_t l4_len,
                                      uint8_t proto, int first_fragment)
{
  if (!first_fragment)
    return NULL;
  if (proto == MF_IP_PROTO_TCP && l4_len >= sizeof(mf_tcp_header_t))
    return l4 + offsetof(mf_tcp_header_t, checksum);
  if (proto == MF_IP_PROTO_UDP && l4_len >= sizeof(mf_udp_header_t))
    return l4 + offsetof(mf_udp_header_t, checksum);
  if (proto == MF_IP_PROTO_ICMP6 && l4_len >= 4)
    return l4 + 2;
  return NULL;
}

/* Updates the checksum at `at` for a 2*n-byte field changing old -> new. */
static inline void mf_nat_csum_update(uint8_t *at, const uint8_t *old_v,
                                      const uint8_t *new_v, unsigned n)
{
  uint16_t c;
  memcpy(&c, at, 2);
  for (unsigned i = 0; i < n; i++) {
    uint16_t o, w;
    memcpy(&o, old_v + 2 * i, 2);
    memcpy(&w, new_v + 2 * i, 2);
    c = mf_csum_update16(c, o, w);
  }
  memcpy(at, &c, 2);
}

/* Rewrites the IPv4 address at byte `off` (MF_NAT4_SRC/DST) of the packet
 * pkt[0..len) to new_addr (4 bytes, network order). */
static inline void mf_nat4_rewrite(uint8_t *pkt, uint32_t len, unsigned off,
                                   const uint8_t *new_addr)
{
  mf_ip4_header_t *ip = (mf_ip4_header_t *)pkt;
  uint32_t hlen = (ip->ver_ihl & 0xf) * 4u;
  int first = (ip->frag & __builtin_bswap16(MF_IP4_FRAG_OFFSET)) == 0;
  uint8_t *l4 = mf_nat_l4_csum(pkt + hlen, len - hlen, ip->protocol, first);
  uint8_t old_addr[4];
  memcpy(old_addr, pkt + off, 4);
  memcpy(pkt + off, new_addr, 4);
  mf_nat_csum_update(pkt + offsetof(mf_ip4_header_t, checksum), old_addr, new_addr, 2);
  /* A zero UDP checksum means "not computed" (RFC 768): it stays so. */
  if (l4 && !(ip->protocol == MF_IP_PROTO_UDP && l4[0] == 0 && l4[1] == 0))
    mf_nat_csum_update(l4, old_addr, new_addr, 2);
}

/* Rewrites the IPv6 address at byte `off` (MF_NAT6_SRC/DST). Only an L4
 * header right after the fixed header is updated. */
static inline void mf_nat6_rewrite(uint8_t *pkt, uint32_t len, unsigned off,
                                   const uint8_t *new_addr)
{
  const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
  uint8_t *l4 = mf_nat_l4_csum(pkt + sizeof(*ip), len - (uint32_t)sizeof(*ip),
                               ip->next_header, 1);
  if (l4)
    mf_nat_csum_update(l4, pkt + off, new_addr, 8);
  memcpy(pkt + off, new_addr, 16);
}

#endif
