#include "ip/tcp_gso.h"

#include <string.h>

#include "ip/checksum.h"
#include "ip/headers.h"

#define TCP_CWR 0x80

static mf_gso_result_t plan_headers(mf_gso_plan_t *p)
{
  const uint8_t *pkt = p->pkt;
  if (p->len < 1)
    return MF_GSO_BAD_HEADER;
  if ((pkt[0] >> 4) == 4) {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
    if (p->len < sizeof(*ip))
      return MF_GSO_BAD_HEADER;
    p->l4_offset = (ip->ver_ihl & 0xf) * 4u;
    if (p->l4_offset < sizeof(*ip) || ip->protocol != MF_IP_PROTO_TCP ||
        __builtin_bswap16(ip->total_length) != p->len ||
        (ip->frag & __builtin_bswap16(MF_IP4_FRAG_OFFSET | MF_IP4_FRAG_MF)))
      return MF_GSO_BAD_HEADER;
    p->v6 = false;
  } else if ((pkt[0] >> 4) == 6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    /* Extension headers are not cut: the kernel's TSO packets have none. */
    if (p->len < sizeof(*ip) || ip->next_header != MF_IP_PROTO_TCP ||
        sizeof(*ip) + __builtin_bswap16(ip->payload_length) != p->len)
      return MF_GSO_BAD_HEADER;
    p->l4_offset = sizeof(*ip);
    p->v6 = true;
  } else
    return MF_GSO_BAD_HEADER;
  if (p->len < p->l4_offset + sizeof(mf_tcp_header_t))
    return MF_GSO_BAD_HEADER;
  const mf_tcp_header_t *tcp = (const mf_tcp_header_t *)(pkt + p->l4_offset);
  uint32_t thlen = (tcp->data_offset >> 4) * 4u;
  if (thlen < sizeof(*tcp) || p->l4_offset + thlen > p->len)
    return MF_GSO_BAD_HEADER;
  p->hdr_len = p->l4_offset + thlen;
  return MF_GSO_OK;
}

mf_gso_result_t mf_gso_plan(mf_gso_plan_t *plan, const uint8_t *pkt,
                            uint32_t len, uint32_t mss)
{
  memset(plan, 0, sizeof(*plan));
  plan->pkt = pkt;
  plan->len = len;
  plan->mss = mss;
  mf_gso_result_t r = plan_headers(plan);
  if (r != MF_GSO_OK)
    return r;
  if (mss == 0)
    return MF_GSO_BAD_SIZE;
  uint32_t payload = len - plan->hdr_len;
  /* A bare header (an ACK) is one segment of no payload. */
  uint32_t n = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (n > MF_GSO_MAX_SEGMENTS)
    return MF_GSO_BAD_SIZE;
  plan->n_segments = n;
  return MF_GSO_OK;
}

uint32_t mf_gso_segment_len(const mf_gso_plan_t *plan, uint32_t k)
{
  uint32_t payload = plan->len - plan->hdr_len;
  uint32_t from = k * plan->mss;
  uint32_t take = payload - from < plan->mss ? payload - from : plan->mss;
  return plan->hdr_len + take;
}

static void fix_ip(const mf_gso_plan_t *p, uint8_t *out, uint32_t seg_len,
                   uint32_t k)
{
  if (p->v6) {
    mf_ip6_header_t *ip = (mf_ip6_header_t *)out;
    ip->payload_length = __builtin_bswap16((uint16_t)(seg_len - sizeof(*ip)));
    return;
  }
  mf_ip4_header_t *ip = (mf_ip4_header_t *)out;
  ip->total_length = __builtin_bswap16((uint16_t)seg_len);
  ip->id = __builtin_bswap16((uint16_t)(__builtin_bswap16(ip->id) + k));
  ip->checksum = 0;
  ip->checksum = mf_csum_finish(mf_csum_add(0, ip, p->l4_offset));
}

static uint64_t pseudo_sum(const mf_gso_plan_t *p, const uint8_t *out,
                           uint32_t l4_len)
{
  if (p->v6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)out;
    return mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len);
  }
  const mf_ip4_header_t *ip = (const mf_ip4_header_t *)out;
  return mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len);
}

void mf_gso_write_segment(const mf_gso_plan_t *plan, uint32_t k, uint8_t *out)
{
  uint32_t seg_len = mf_gso_segment_len(plan, k);
  uint32_t from = plan->hdr_len + k * plan->mss;
  memcpy(out, plan->pkt, plan->hdr_len);
  memcpy(out + plan->hdr_len, plan->pkt + from, seg_len - plan->hdr_len);
  fix_ip(plan, out, seg_len, k);
  mf_tcp_header_t *tcp = (mf_tcp_header_t *)(out + plan->l4_offset);
  tcp->seq = __builtin_bswap32(__builtin_bswap32(tcp->seq) + k * plan->mss);
  if (k + 1 < plan->n_segments)
    tcp->flags &= (uint8_t)~(MF_TCP_FIN | MF_TCP_PSH);
  if (k > 0)
    tcp->flags &= (uint8_t)~TCP_CWR;
  uint32_t l4_len = seg_len - plan->l4_offset;
  tcp->checksum = 0;
  tcp->checksum =
      mf_csum_finish(mf_csum_add(pseudo_sum(plan, out, l4_len), tcp, l4_len));
}

int mf_gso_csum_complete(uint8_t *pkt, uint32_t len, uint32_t start,
                         uint32_t offset)
{
  if (start > len || offset > len - start || len - start - offset < 2)
    return -1;
  uint8_t *field = pkt + start + offset;
  uint16_t v = mf_csum_finish(mf_csum_add(0, pkt + start, len - start));
  /* A zero result is sent as all ones, as the kernel does: for UDP zero
   * means "no checksum" (RFC 768), for TCP the two are the same sum. */
  if (v == 0)
    v = 0xffff;
  memcpy(field, &v, 2);
  return 0;
}
