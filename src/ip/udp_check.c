#include "ip/udp_check.h"

#include <arpa/inet.h>
#include <stdbool.h>

#include "ip/checksum.h"
#include "ip/headers.h"

static uint64_t pseudo_sum(const mf_buffer_t *b, const uint8_t *pkt,
                           uint32_t ulen)
{
  if (b->flags & MF_BUFFER_F_IS_IP6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    return mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_UDP, ulen);
  }
  const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
  return mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_UDP, ulen);
}

mf_udp_check_t mf_udp_check(const mf_buffer_t *b, uint32_t *payload_len)
{
  if (b->l4_offset > b->current_length ||
      b->current_length - b->l4_offset < sizeof(mf_udp_header_t))
    return MF_UDP_CHECK_BAD_LENGTH;
  const uint8_t *pkt = mf_buffer_data((mf_buffer_t *)b);
  const mf_udp_header_t *udp = (const mf_udp_header_t *)(pkt + b->l4_offset);
  uint32_t ulen = ntohs(udp->length);
  if (ulen < sizeof(*udp) || ulen > b->current_length - b->l4_offset)
    return MF_UDP_CHECK_BAD_LENGTH;
  bool partial = b->flags & MF_BUFFER_F_CSUM_PARTIAL;
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  if (!partial) {
    /* Zero means "no checksum" in IPv4 only (RFC 768); IPv6 requires one
     * (RFC 8200 8.1). */
    if (udp->checksum == 0 ? v6 : !mf_csum_ok(udp, ulen, pseudo_sum(b, pkt, ulen)))
      return MF_UDP_CHECK_BAD_CHECKSUM;
  }
  *payload_len = ulen - (uint32_t)sizeof(*udp);
  return MF_UDP_CHECK_OK;
}
