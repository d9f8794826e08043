#include "io/vnet.h"

#include <string.h>

#include "ip/headers.h"

static mf_vnet_result_t parse_csum(const struct virtio_net_hdr *h,
                                   mf_buffer_t *b)
{
  uint32_t start = h->csum_start, off = h->csum_offset;
  if (start > b->current_length || off + 2u > b->current_length - start)
    return MF_VNET_BAD_CSUM;
  b->csum_start = (uint16_t)start;
  b->csum_offset = (uint16_t)off;
  b->flags |= MF_BUFFER_F_CSUM_PARTIAL;
  return MF_VNET_OK;
}

mf_vnet_result_t mf_vnet_parse(const struct virtio_net_hdr *h, mf_buffer_t *b)
{
  b->flags &= ~(uint32_t)MF_BUFFER_F_OFFLOAD;
  b->gso_type = MF_BUFFER_GSO_NONE;
  if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    mf_vnet_result_t r = parse_csum(h, b);
    if (r != MF_VNET_OK)
      return r;
  }
  if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
    return MF_VNET_OK;
  /* TSO only (TUNSETOFFLOAD asked for no ECN and no UDP): a super-packet
   * always comes with its checksum left to us. */
  if (h->gso_size == 0 || !(b->flags & MF_BUFFER_F_CSUM_PARTIAL))
    return MF_VNET_BAD_GSO;
  if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4)
    b->gso_type = MF_BUFFER_GSO_TCP4;
  else if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6)
    b->gso_type = MF_BUFFER_GSO_TCP6;
  else
    return MF_VNET_BAD_GSO;
  b->gso_size = h->gso_size;
  b->flags |= MF_BUFFER_F_GSO;
  return MF_VNET_OK;
}

void mf_vnet_build(const mf_buffer_t *b, struct virtio_net_hdr *h)
{
  memset(h, 0, sizeof(*h));
  if (__builtin_expect(!(b->flags & MF_BUFFER_F_OFFLOAD), 1))
    return;
  if (b->flags & MF_BUFFER_F_CSUM_PARTIAL) {
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->csum_start = b->csum_start;
    h->csum_offset = b->csum_offset;
  }
  if (!(b->flags & MF_BUFFER_F_GSO))
    return;
  h->gso_type = b->gso_type == MF_BUFFER_GSO_TCP6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                                  : VIRTIO_NET_HDR_GSO_TCPV4;
  h->gso_size = b->gso_size;
  /* hdr_len: IP and TCP headers, a hint the kernel checks against the
   * packet; the TCP header starts at csum_start. */
  const uint8_t *tcp = b->bytes + b->current_data + b->csum_start;
  h->hdr_len = (uint16_t)(b->csum_start + (tcp[12] >> 4) * 4u);
}
