/* ip4-reject, ip6-reject: the reject interface. A TCP segment is answered
 * at once with a RST (RFC 9293 3.10.7.1, the CLOSED state's rules), so the
 * app sees "connection refused" instead of waiting for a timeout; anything
 * else is dropped, as the manual says of UDP.
 * The RST is built in place over the offending segment.
 * Uses: l4_offset, rx_if, F_IS_IP6. Sets: tx_if = rx_if.
 * Next: tun-output, or error-drop. */
#include "core/graph_rt.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/nodes.h"

#define IP_REJECT_ERRORS(_)                                                   \
  _(REJECTED_NOT_TCP, "rejected-not-tcp",                                     \
    "not TCP: the reject interface drops it")                                 \
  _(RST_NOT_ANSWERED, "rst-not-answered", "a RST is never answered")          \
  _(BAD_TCP_HEADER, "bad-tcp-header",                                         \
    "TCP header shorter than 20 bytes or beyond the packet")                  \
  _(BAD_TCP_CHECKSUM, "bad-tcp-checksum", "TCP checksum is wrong")            \
  _(FRAGMENT, "fragment", "non-first fragment: no TCP header to answer")

enum {
#define _(sym, n, t) IP_REJECT_ERROR_##sym,
  IP_REJECT_ERRORS(_)
#undef _
  IP_REJECT_N_ERROR
};

static const mf_error_desc_t ip_reject_errors[] = {IP_REJECT_ERRORS(MF_ERROR_DESC)};

enum { IP_REJECT_NEXT_DROP, IP_REJECT_NEXT_TUN_OUTPUT };

#define MF_REJECT_TTL 64

/* Turns the segment at tcp into its RST answer (ports swapped, no
 * options, no data). seg_len is the segment's sequence space. */
static void tcp_make_rst(mf_tcp_header_t *tcp, uint32_t seg_len)
{
  uint16_t p = tcp->src_port;
  tcp->src_port = tcp->dst_port;
  tcp->dst_port = p;
  if (tcp->flags & MF_TCP_ACK) {
    tcp->seq = tcp->ack;
    tcp->ack = 0;
    tcp->flags = MF_TCP_RST;
  } else {
    uint32_t seq = __builtin_bswap32(tcp->seq);
    tcp->ack = __builtin_bswap32(seq + seg_len);
    tcp->seq = 0;
    tcp->flags = MF_TCP_RST | MF_TCP_ACK;
  }
  tcp->data_offset = 5 << 4;
  tcp->window = 0;
  tcp->urgent = 0;
  tcp->checksum = 0;
}

/* Checks the segment; returns -1 when it deserves a RST (its length in
 * sequence space then in *seg_len), else the error to drop it with. */
static int tcp_segment_len(const mf_tcp_header_t *tcp, uint32_t l4_len,
                           uint64_t pseudo, uint32_t *seg_len)
{
  if (l4_len < sizeof(*tcp))
    return IP_REJECT_ERROR_BAD_TCP_HEADER;
  uint32_t hlen = (tcp->data_offset >> 4) * 4u;
  if (hlen < sizeof(*tcp) || hlen > l4_len)
    return IP_REJECT_ERROR_BAD_TCP_HEADER;
  if (!mf_csum_ok(tcp, l4_len, pseudo))
    return IP_REJECT_ERROR_BAD_TCP_CHECKSUM;
  if (tcp->flags & MF_TCP_RST)
    return IP_REJECT_ERROR_RST_NOT_ANSWERED;
  *seg_len = l4_len - hlen + !!(tcp->flags & MF_TCP_SYN) + !!(tcp->flags & MF_TCP_FIN);
  return -1;
}

static uint16_t ip4_reject_one(mf_node_rt_t *node, mf_buffer_t *b)
{
  mf_ip4_header_t *ip = (mf_ip4_header_t *)mf_buffer_data(b);
  if (ip->protocol != MF_IP_PROTO_TCP)
    return mf_graph_drop(node, b, IP_REJECT_ERROR_REJECTED_NOT_TCP);
  if (ip->frag & __builtin_bswap16(MF_IP4_FRAG_OFFSET | MF_IP4_FRAG_MF))
    return mf_graph_drop(node, b, IP_REJECT_ERROR_FRAGMENT);
  mf_tcp_header_t *tcp = (mf_tcp_header_t *)(mf_buffer_data(b) + b->l4_offset);
  uint32_t l4_len = b->current_length - b->l4_offset, seg_len = 0;
  int err = tcp_segment_len(tcp, l4_len,
                            mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len),
                            &seg_len);
  if (err >= 0)
    return mf_graph_drop(node, b, (uint32_t)err);
  tcp_make_rst(tcp, seg_len);
  /* A fresh 20-byte header: options of the offending packet do not apply
   * to our answer. */
  mf_ip4_header_t *rip = (mf_ip4_header_t *)((uint8_t *)tcp - sizeof(*rip));
  uint32_t src = ip->src, dst = ip->dst;
  rip->ver_ihl = 0x45;
  rip->tos = 0;
  rip->total_length = __builtin_bswap16(sizeof(*rip) + sizeof(*tcp));
  rip->id = 0;
  rip->frag = __builtin_bswap16(0x4000); /* DF */
  rip->ttl = MF_REJECT_TTL;
  rip->protocol = MF_IP_PROTO_TCP;
  rip->src = dst;
  rip->dst = src;
  rip->checksum = 0;
  rip->checksum = mf_csum_finish(mf_csum_add(0, rip, sizeof(*rip)));
  tcp->checksum = mf_csum_finish(mf_csum_add(
      mf_csum_pseudo4(rip->src, rip->dst, MF_IP_PROTO_TCP, sizeof(*tcp)), tcp,
      sizeof(*tcp)));
  b->current_data = (uint32_t)((uint8_t *)rip - b->bytes);
  b->current_length = sizeof(*rip) + sizeof(*tcp);
  b->l4_offset = sizeof(*rip);
  b->tx_if = b->rx_if;
  return IP_REJECT_NEXT_TUN_OUTPUT;
}

static uint16_t ip6_reject_one(mf_node_rt_t *node, mf_buffer_t *b)
{
  mf_ip6_header_t *ip = (mf_ip6_header_t *)mf_buffer_data(b);
  if (ip->next_header != MF_IP_PROTO_TCP)
    return mf_graph_drop(node, b, IP_REJECT_ERROR_REJECTED_NOT_TCP);
  mf_tcp_header_t *tcp = (mf_tcp_header_t *)(mf_buffer_data(b) + b->l4_offset);
  uint32_t l4_len = b->current_length - b->l4_offset, seg_len = 0;
  int err = tcp_segment_len(tcp, l4_len,
                            mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len),
                            &seg_len);
  if (err >= 0)
    return mf_graph_drop(node, b, (uint32_t)err);
  tcp_make_rst(tcp, seg_len);
  uint8_t a[16];
  __builtin_memcpy(a, ip->src, 16);
  __builtin_memcpy(ip->src, ip->dst, 16);
  __builtin_memcpy(ip->dst, a, 16);
  ip->ver_tc_flow = __builtin_bswap32(6u << 28);
  ip->payload_length = __builtin_bswap16(sizeof(*tcp));
  ip->hop_limit = MF_REJECT_TTL;
  tcp->checksum = mf_csum_finish(mf_csum_add(
      mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_TCP, sizeof(*tcp)), tcp,
      sizeof(*tcp)));
  b->current_length = (uint16_t)(b->l4_offset + sizeof(*tcp));
  b->tx_if = b->rx_if;
  return IP_REJECT_NEXT_TUN_OUTPUT;
}

static uint32_t ip4_reject_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = ip4_reject_one(node, mf_buffer_get(&vm->pool, buffers[i]));
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

static uint32_t ip6_reject_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = ip6_reject_one(node, mf_buffer_get(&vm->pool, buffers[i]));
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_ip4_reject_node = {
    .name = "ip4-reject",
    .fn = ip4_reject_fn,
    .n_next = 2,
    .next_nodes = {[IP_REJECT_NEXT_DROP] = "error-drop",
                   [IP_REJECT_NEXT_TUN_OUTPUT] = "tun-output"},
    .n_errors = IP_REJECT_N_ERROR,
    .errors = ip_reject_errors,
};

const mf_node_reg_t mf_ip6_reject_node = {
    .name = "ip6-reject",
    .fn = ip6_reject_fn,
    .n_next = 2,
    .next_nodes = {[IP_REJECT_NEXT_DROP] = "error-drop",
                   [IP_REJECT_NEXT_TUN_OUTPUT] = "tun-output"},
    .n_errors = IP_REJECT_N_ERROR,
    .errors = ip_reject_errors,
};
