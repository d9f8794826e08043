/* ip4-local, ip6-local: packets for the stack's own addresses. The stack
 * answers ICMP and ICMPv6 echo (RFC 792, RFC 4443 4.1) in place; TCP to
 * port 53 goes to hs-tcp, which terminates it and hands the stream to the
 * DNS server (DNS over TCP, RFC 7766); other TCP gets a RST through the
 * reject node; UDP to the DNS server's ports (53, and the source ports of
 * its forwarded queries) goes to dns-input; other UDP has no listener.
 * Uses: l4_offset, rx_if, tx_if (local, for hs-tcp). Sets: tx_if = rx_if
 * for replies.
 * Next: tun-output (echo replies), hs-tcp (TCP to port 53), ip4/ip6-reject
 * (other TCP), dns-input, error-drop. */
#include "core/graph_rt.h"
#include "dns/dns_server.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/nodes.h"

#define IP_LOCAL_ERRORS(_)                                                    \
  _(UNKNOWN_PROTOCOL, "unknown-protocol", "no handler for the IP protocol")   \
  _(NO_LISTENER, "no-listener", "UDP to a port nothing listens on")           \
  _(NOT_ECHO_REQUEST, "not-echo-request",                                     \
    "ICMP message other than echo request: nothing to answer")                \
  _(BAD_ICMP_CHECKSUM, "bad-icmp-checksum", "ICMP checksum is wrong")         \
  _(TOO_SHORT, "too-short", "ICMP message shorter than its header")           \
  _(FRAGMENT, "fragment", "fragment for the stack: not reassembled")

enum {
#define _(sym, n, t) IP_LOCAL_ERROR_##sym,
  IP_LOCAL_ERRORS(_)
#undef _
  IP_LOCAL_N_ERROR
};

static const mf_error_desc_t ip_local_errors[] = {IP_LOCAL_ERRORS(MF_ERROR_DESC)};

enum {
  IP_LOCAL_NEXT_DROP,
  IP_LOCAL_NEXT_TUN_OUTPUT,
  IP_LOCAL_NEXT_REJECT,
  IP_LOCAL_NEXT_DNS,
  IP_LOCAL_NEXT_HS_TCP,
  IP_LOCAL_N_NEXT
};

#define MF_LOCAL_TTL 64

/* UDP for the DNS server: dns-input checks the rest of the header. */
static uint16_t udp_local(mf_node_rt_t *node, mf_buffer_t *b)
{
  if ((uint32_t)(b->current_length - b->l4_offset) >= sizeof(mf_udp_header_t)) {
    const mf_udp_header_t *udp =
        (const mf_udp_header_t *)(mf_buffer_data(b) + b->l4_offset);
    if (mf_dns_server_port(__builtin_bswap16(udp->dst_port)))
      return IP_LOCAL_NEXT_DNS;
  }
  return mf_graph_drop(node, b, IP_LOCAL_ERROR_NO_LISTENER);
}

/* TCP: the DNS server's port is served (through the host stack), any
 * other is closed. A header too short for its ports is hs-tcp's to count
 * as bad; here it is only not port 53. */
static uint16_t tcp_local(mf_buffer_t *b)
{
  if ((uint32_t)(b->current_length - b->l4_offset) >= sizeof(mf_tcp_header_t)) {
    const mf_tcp_header_t *tcp =
        (const mf_tcp_header_t *)(mf_buffer_data(b) + b->l4_offset);
    if (__builtin_bswap16(tcp->dst_port) == MF_DNS_SERVER_PORT)
      return IP_LOCAL_NEXT_HS_TCP;
  }
  return IP_LOCAL_NEXT_REJECT;
}

static uint16_t ip4_echo_reply(mf_node_rt_t *node, mf_buffer_t *b)
{
  mf_ip4_header_t *ip = (mf_ip4_header_t *)mf_buffer_data(b);
  uint32_t icmp_len = b->current_length - b->l4_offset;
  if (icmp_len < sizeof(mf_icmp_echo_t))
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_TOO_SHORT);
  mf_icmp_echo_t *icmp = (mf_icmp_echo_t *)(mf_buffer_data(b) + b->l4_offset);
  if (!mf_csum_ok(icmp, icmp_len, 0))
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_BAD_ICMP_CHECKSUM);
  if (icmp->type != MF_ICMP4_ECHO_REQUEST)
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_NOT_ECHO_REQUEST);
  uint16_t old_word = (uint16_t)(icmp->type | icmp->code << 8);
  icmp->type = MF_ICMP4_ECHO_REPLY;
  icmp->checksum = mf_csum_update16(icmp->checksum, old_word,
                                    (uint16_t)(icmp->type | icmp->code << 8));
  uint32_t a = ip->src;
  ip->src = ip->dst;
  ip->dst = a;
  ip->ttl = MF_LOCAL_TTL;
  ip->checksum = 0;
  ip->checksum = mf_csum_finish(mf_csum_add(0, ip, b->l4_offset));
  b->tx_if = b->rx_if;
  return IP_LOCAL_NEXT_TUN_OUTPUT;
}

static uint16_t ip4_local_one(mf_node_rt_t *node, mf_buffer_t *b)
{
  const mf_ip4_header_t *ip = (const mf_ip4_header_t *)mf_buffer_data(b);
  if (ip->frag & __builtin_bswap16(MF_IP4_FRAG_MF | MF_IP4_FRAG_OFFSET))
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_FRAGMENT);
  switch (ip->protocol) {
  case MF_IP_PROTO_ICMP:
    return ip4_echo_reply(node, b);
  case MF_IP_PROTO_TCP:
    return tcp_local(b);
  case MF_IP_PROTO_UDP:
    return udp_local(node, b);
  default:
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_UNKNOWN_PROTOCOL);
  }
}

static uint16_t ip6_echo_reply(mf_node_rt_t *node, mf_buffer_t *b)
{
  mf_ip6_header_t *ip = (mf_ip6_header_t *)mf_buffer_data(b);
  uint32_t icmp_len = b->current_length - b->l4_offset;
  if (icmp_len < sizeof(mf_icmp_echo_t))
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_TOO_SHORT);
  mf_icmp_echo_t *icmp = (mf_icmp_echo_t *)(mf_buffer_data(b) + b->l4_offset);
  uint64_t pseudo = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_ICMP6, icmp_len);
  if (!mf_csum_ok(icmp, icmp_len, pseudo))
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_BAD_ICMP_CHECKSUM);
  if (icmp->type != MF_ICMP6_ECHO_REQUEST)
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_NOT_ECHO_REQUEST);
  uint16_t old_word = (uint16_t)(icmp->type | icmp->code << 8);
  icmp->type = MF_ICMP6_ECHO_REPLY;
  /* Swapping source and destination leaves the pseudo-header sum as it
   * was, so only the type change needs accounting for. */
  icmp->checksum = mf_csum_update16(icmp->checksum, old_word,
                                    (uint16_t)(icmp->type | icmp->code << 8));
  uint8_t a[16];
  __builtin_memcpy(a, ip->src, 16);
  __builtin_memcpy(ip->src, ip->dst, 16);
  __builtin_memcpy(ip->dst, a, 16);
  ip->hop_limit = MF_LOCAL_TTL;
  b->tx_if = b->rx_if;
  return IP_LOCAL_NEXT_TUN_OUTPUT;
}

static uint16_t ip6_local_one(mf_node_rt_t *node, mf_buffer_t *b)
{
  const mf_ip6_header_t *ip = (const mf_ip6_header_t *)mf_buffer_data(b);
  switch (ip->next_header) {
  case MF_IP_PROTO_ICMP6:
    return ip6_echo_reply(node, b);
  case MF_IP_PROTO_TCP:
    return tcp_local(b);
  case MF_IP_PROTO_UDP:
    return udp_local(node, b);
  default:
    return mf_graph_drop(node, b, IP_LOCAL_ERROR_UNKNOWN_PROTOCOL);
  }
}

static uint32_t ip4_local_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = ip4_local_one(node, mf_buffer_get(&vm->pool, buffers[i]));
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

static uint32_t ip6_local_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = ip6_local_one(node, mf_buffer_get(&vm->pool, buffers[i]));
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_ip4_local_node = {
    .name = "ip4-local",
    .fn = ip4_local_fn,
    .n_next = IP_LOCAL_N_NEXT,
    .next_nodes = {[IP_LOCAL_NEXT_DROP] = "error-drop",
                   [IP_LOCAL_NEXT_TUN_OUTPUT] = "tun-output",
                   [IP_LOCAL_NEXT_REJECT] = "ip4-reject",
                   [IP_LOCAL_NEXT_DNS] = "dns-input",
                   [IP_LOCAL_NEXT_HS_TCP] = "hs-tcp"},
    .n_errors = IP_LOCAL_N_ERROR,
    .errors = ip_local_errors,
};

const mf_node_reg_t mf_ip6_local_node = {
    .name = "ip6-local",
    .fn = ip6_local_fn,
    .n_next = IP_LOCAL_N_NEXT,
    .next_nodes = {[IP_LOCAL_NEXT_DROP] = "error-drop",
                   [IP_LOCAL_NEXT_TUN_OUTPUT] = "tun-output",
                   [IP_LOCAL_NEXT_REJECT] = "ip6-reject",
                   [IP_LOCAL_NEXT_DNS] = "dns-input",
                   [IP_LOCAL_NEXT_HS_TCP] = "hs-tcp"},
    .n_errors = IP_LOCAL_N_ERROR,
    .errors = ip_local_errors,
};
