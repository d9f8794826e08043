/* icmp-too-big: a packet too large for the interface it was routed to is
 * answered, toward the machine, with ICMP "fragmentation needed" (RFC 792,
 * RFC 1191) or ICMPv6 "packet too big" (RFC 4443 3.2, RFC 8201) carrying
 * the MTU, so the sender's path MTU drops and TCP carries on with smaller
 * segments instead of stalling. The error comes from the stack's own
 * address and quotes as much of the packet as the minimum MTU allows.
 * IPv4 packets without DF may be fragmented by routers; we do not
 * fragment, so those are dropped and counted.
 * Uses: aux (the MTU), F_IS_IP6. Sets: tx_if = the TUN.
 * Next: tun-output, or error-drop. */
#include <string.h>

#include "core/graph_rt.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/icmp_error.h"

#define ICMP_ERROR_ERRORS(_)                                                  \
  _(SENT, "too-big-sent", "packet too big: ICMP error sent to the sender")    \
  _(NOT_DF, "too-big-no-df",                                                  \
    "packet too big without DF: dropped (no fragmentation)")                  \
  _(RATE_LIMITED, "rate-limited", "ICMP error not sent: rate limit")          \
  _(NO_SOURCE, "no-source", "no stack address of the packet's family")        \
  _(QUOTE_IS_ICMP_ERROR, "icmp-error-quoted",                                 \
    "never answer an ICMP error with an ICMP error")

enum {
#define _(sym, n, t) ICMP_ERROR_ERROR_##sym,
  ICMP_ERROR_ERRORS(_)
#undef _
  ICMP_ERROR_N_ERROR
};

static const mf_error_desc_t icmp_error_errors[] = {ICMP_ERROR_ERRORS(MF_ERROR_DESC)};

enum { ICMP_ERROR_NEXT_DROP, ICMP_ERROR_NEXT_TUN_OUTPUT };

#define MF_ICMP4_UNREACH 3
#define MF_ICMP4_FRAG_NEEDED 4
#define MF_ICMP6_TOO_BIG 2
#define MF_ICMP4_QUOTE_MAX (576 - 28)  /* RFC 1812 4.3.2.3 */
#define MF_ICMP6_QUOTE_MAX (1280 - 48) /* RFC 4443 2.4 (c) */

static int rate_ok(mf_icmp_error_ctx_t *c, uint64_t now)
{
  if (now - c->window_start >= 1000000000ull) {
    c->window_start = now;
    c->sent_in_window = 0;
  }
  return c->sent_in_window++ < MF_ICMP_ERRORS_PER_SEC;
}

static int is_icmp4_error(const uint8_t *pkt, uint32_t len)
{
  uint32_t hlen = (pkt[0] & 0xf) * 4u;
  return pkt[9] == MF_IP_PROTO_ICMP && len > hlen && pkt[hlen] != MF_ICMP4_ECHO_REQUEST &&
         pkt[hlen] != MF_ICMP4_ECHO_REPLY;
}

static uint16_t too_big4(mf_icmp_error_ctx_t *c, mf_node_rt_t *node,
                         mf_buffer_t *b)
{
  uint8_t *pkt = mf_buffer_data(b);
  if (!c->has4)
    return mf_graph_drop(node, b, ICMP_ERROR_ERROR_NO_SOURCE);
  if (!(pkt[6] & 0x40))
    return mf_graph_drop(node, b, ICMP_ERROR_ERROR_NOT_DF);
  if (is_icmp4_error(pkt, b->current_length))
    return mf_graph_drop(node, b, ICMP_ERROR_ERROR_QUOTE_IS_ICMP_ERROR);
  uint32_t quote = b->current_length < MF_ICMP4_QUOTE_MAX ? b->current_length : MF_ICMP4_QUOTE_MAX;
  uint8_t *h = pkt - 28;
  mf_ip4_header_t *ip = (mf_ip4_header_t *)h;
  uint8_t *icmp = h + 20;
  memcpy(&ip->dst, pkt + 12, 4); /* back to the sender, before h overlaps */
  ip->ver_ihl = 0x45;
  ip->tos = 0;
  ip->total_length = __builtin_bswap16((uint16_t)(28 + quote));
  ip->id = 0;
  ip->frag = 0;
  ip->ttl = 64;
  ip->protocol = MF_IP_PROTO_ICMP;
  memcpy(&ip->src, c->stack4, 4);
  ip->checksum = 0;
  ip->checksum = mf_csum_finish(mf_csum_add(0, h, 20));
  uint16_t mtu = __builtin_bswap16((uint16_t)b->aux);
  icmp[0] = MF_ICMP4_UNREACH;
  icmp[1] = MF_ICMP4_FRAG_NEEDED;
  memset(icmp + 2, 0, 4);
  memcpy(icmp + 6, &mtu, 2);
  uint16_t cs = mf_csum_finish(mf_csum_add(0, icmp, 8 + quote));
  memcpy(icmp + 2, &cs, 2);
  b->current_data -= 28;
  b->current_length = (uint16_t)(28 + quote);
  return ICMP_ERROR_NEXT_TUN_OUTPUT;
}

static uint16_t too_big6(mf_icmp_error_ctx_t *c, mf_node_rt_t *node,
                         mf_buffer_t *b)
{
  uint8_t *pkt = mf_buffer_data(b);
  if (!c->has6)
    return mf_graph_drop(node, b, ICMP_ERROR_ERROR_NO_SOURCE);
  if (pkt[6] == MF_IP_PROTO_ICMP6 && b->current_length > 40 && pkt[40] < 128)
    return mf_graph_drop(node, b, ICMP_ERROR_ERROR_QUOTE_IS_ICMP_ERROR);
  uint32_t quote = b->current_length < MF_ICMP6_QUOTE_MAX ? b->current_length : MF_ICMP6_QUOTE_MAX;
  uint8_t *h = pkt - 48;
  mf_ip6_header_t *ip = (mf_ip6_header_t *)h;
  uint8_t *icmp = h + 40;
  uint8_t dst[16];
  memcpy(dst, pkt + 8, 16);
  ip->ver_tc_flow = __builtin_bswap32(6u << 28);
  ip->payload_length = __builtin_bswap16((uint16_t)(8 + quote));
  ip->next_header = MF_IP_PROTO_ICMP6;
  ip->hop_limit = 64;
  memcpy(ip->src, c->stack6, 16);
  memcpy(ip->dst, dst, 16);
  uint32_t mtu = __builtin_bswap32(b->aux);
  icmp[0] = MF_ICMP6_TOO_BIG;
  icmp[1] = 0;
  memset(icmp + 2, 0, 2);
  memcpy(icmp + 4, &mtu, 4);
  uint64_t sum = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_ICMP6, 8 + quote);
  uint16_t cs = mf_csum_finish(mf_csum_add(sum, icmp, 8 + quote));
  memcpy(icmp + 2, &cs, 2);
  b->current_data -= 48;
  b->current_length = (uint16_t)(48 + quote);
  return ICMP_ERROR_NEXT_TUN_OUTPUT;
}

static uint32_t icmp_too_big_fn(mf_vm_t *vm, mf_node_rt_t *node,
                                uint32_t *buffers, uint32_t n)
{
  mf_icmp_error_ctx_t *c = node->ctx;
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (!c || !rate_ok(c, vm->now_ns)) {
      nexts[i] = mf_graph_drop(node, b, ICMP_ERROR_ERROR_RATE_LIMITED);
      continue;
    }
    int v6 = (mf_buffer_data(b)[0] >> 4) == 6;
    nexts[i] = v6 ? too_big6(c, node, b) : too_big4(c, node, b);
    if (nexts[i] == ICMP_ERROR_NEXT_TUN_OUTPUT) {
      vm->errors[node->error_base + ICMP_ERROR_ERROR_SENT]++;
      b->tx_if = c->tun_if;
    }
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_icmp_too_big_node = {
    .name = "icmp-too-big",
    .fn = icmp_too_big_fn,
    .n_next = 2,
    .next_nodes = {[ICMP_ERROR_NEXT_DROP] = "error-drop",
                   [ICMP_ERROR_NEXT_TUN_OUTPUT] = "tun-output"},
    .n_errors = ICMP_ERROR_N_ERROR,
    .errors = icmp_error_errors,
};
