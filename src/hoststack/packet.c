/* The IP header in front of what a host stack socket received, so that the
 * app sees the remote's packet as if it had crossed the TUN unchanged. */
#include <arpa/inet.h>
#include <string.h>

#include "daemon/dataplane.h"
#include "hoststack/hs_internal.h"
#include "ip/checksum.h"
#include "ip/headers.h"

#define HS_TTL 64

uint64_t mf_hs_push_ip(mf_buffer_t *b, uint8_t family, uint8_t proto,
                       const uint8_t *src, const uint8_t *dst)
{
  uint32_t l4_len = b->current_length;
  if (family == 4) {
    b->current_data -= sizeof(mf_ip4_header_t);
    b->current_length += sizeof(mf_ip4_header_t);
    mf_ip4_header_t *ip = (mf_ip4_header_t *)mf_buffer_data(b);
    ip->ver_ihl = 0x45;
    ip->tos = 0;
    ip->total_length = htons((uint16_t)b->current_length);
    ip->id = 0;
    ip->frag = htons(0x4000); /* DF: the payload came whole */
    ip->ttl = HS_TTL;
    ip->protocol = proto;
    memcpy(&ip->src, src, 4);
    memcpy(&ip->dst, dst, 4);
    ip->checksum = 0;
    ip->checksum = mf_csum_finish(mf_csum_add(0, ip, sizeof(*ip)));
    b->l4_offset = sizeof(*ip);
    b->flags &= ~MF_BUFFER_F_IS_IP6;
    return proto == MF_IP_PROTO_ICMP ? 0
                                     : mf_csum_pseudo4(ip->src, ip->dst, proto, l4_len);
  }
  b->current_data -= sizeof(mf_ip6_header_t);
  b->current_length += sizeof(mf_ip6_header_t);
  mf_ip6_header_t *ip = (mf_ip6_header_t *)mf_buffer_data(b);
  ip->ver_tc_flow = htonl(6u << 28);
  ip->payload_length = htons((uint16_t)l4_len);
  ip->next_header = proto;
  ip->hop_limit = HS_TTL;
  memcpy(ip->src, src, 16);
  memcpy(ip->dst, dst, 16);
  b->l4_offset = sizeof(*ip);
  b->flags |= MF_BUFFER_F_IS_IP6;
  return mf_csum_pseudo6(ip->src, ip->dst, proto, l4_len);
}

void mf_hs_count_rx(mf_hoststack_t *hs, mf_hs_session_t *s, mf_buffer_t *b,
                    uint32_t payload, uint64_t now)
{
  s->rx_packets++;
  s->rx_bytes += payload;
  s->last_ns = now;
  b->rx_if = s->if_index;
  b->tx_if = MF_IF_TUN_INDEX;
  if (s->if_index < hs->vm->n_ifs) {
    hs->vm->ifs[s->if_index].rx_packets++;
    hs->vm->ifs[s->if_index].rx_bytes += b->current_length;
  }
}
