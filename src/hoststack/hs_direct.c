/* hs-direct: packets from the machine that App Routing sent to a direct
 * interface. UDP and ICMP echo requests are handed to their session's
 * socket (opened on the first packet of a flow); TCP never gets here
 * (ip-lookup keeps dropping it until the host stack has TCP), and anything
 * else is dropped under its own name. Every packet ends in error-drop:
 * sent ones under udp-sent or echo-sent, so they are counted too.
 * Uses: l4_offset, F_IS_IP6, tx_if (the direct interface).
 * Next: error-drop. */
#include "hoststack/hs_internal.h"
#include "ip/headers.h"

static const mf_error_desc_t hs_direct_errors[] = {HS_DIRECT_ERRORS(MF_ERROR_DESC)};

static uint32_t hs_direct_one(mf_hoststack_t *hs, mf_buffer_t *b, uint64_t now)
{
  const uint8_t *pkt = mf_buffer_data(b);
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  uint8_t proto = v6 ? ((const mf_ip6_header_t *)pkt)->next_header
                     : ((const mf_ip4_header_t *)pkt)->protocol;
  if (!hs)
    return HS_DIRECT_ERROR_NO_HOSTSTACK;
  if (proto == MF_IP_PROTO_UDP)
    return (uint32_t)mf_hs_udp_send(hs, b, now);
  if (proto == (v6 ? MF_IP_PROTO_ICMP6 : MF_IP_PROTO_ICMP))
    return (uint32_t)mf_hs_icmp_send(hs, b, now);
  return HS_DIRECT_ERROR_NOT_UDP_OR_ECHO;
}

static uint32_t hs_direct_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    nexts[i] = mf_graph_drop(node, b, hs_direct_one(vm->hs, b, vm->now_ns));
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_hs_direct_node = {
    .name = "hs-direct",
    .fn = hs_direct_fn,
    .n_next = 1,
    .next_nodes = {"error-drop"},
    .n_errors = HS_DIRECT_N_ERROR,
    .errors = hs_direct_errors,
};
