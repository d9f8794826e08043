/* hs-direct: packets from the machine that App Routing sent to a direct
 * interface. TCP goes on to hs-tcp; UDP and ICMP echo requests are handed
 * to their session's socket (opened on the first packet of a flow), and
 * anything else is dropped under its own name. UDP and ICMP end in
 * error-drop: sent ones under udp-sent or echo-sent, so they are counted.
 * Uses: l4_offset, F_IS_IP6, tx_if (the direct interface).
 * Next: error-drop, hs-tcp. */
#include "hoststack/hs_internal.h"
#include "ip/headers.h"

static const mf_error_desc_t hs_direct_errors[] = {HS_DIRECT_ERRORS(MF_ERROR_DESC)};

enum { HS_DIRECT_NEXT_DROP, HS_DIRECT_NEXT_TCP };

static uint16_t hs_direct_one(mf_node_rt_t *node, mf_hoststack_t *hs,
                              mf_buffer_t *b, uint64_t now)
{
  const uint8_t *pkt = mf_buffer_data(b);
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  uint8_t proto = v6 ? ((const mf_ip6_header_t *)pkt)->next_header
                     : ((const mf_ip4_header_t *)pkt)->protocol;
  uint32_t err;
  if (!hs)
    err = HS_DIRECT_ERROR_NO_HOSTSTACK;
  else if (proto == MF_IP_PROTO_TCP)
    return HS_DIRECT_NEXT_TCP;
  else if (proto == MF_IP_PROTO_UDP)
    err = (uint32_t)mf_hs_udp_send(hs, node, b, now);
  else if (proto == (v6 ? MF_IP_PROTO_ICMP6 : MF_IP_PROTO_ICMP))
    err = (uint32_t)mf_hs_icmp_send(hs, b, now);
  else
    err = HS_DIRECT_ERROR_NOT_SERVED;
  return mf_graph_drop(node, b, err);
}

static uint32_t hs_direct_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    nexts[i] = hs_direct_one(node, vm->hs, b, vm->now_ns);
  }
  if (vm->hs)
    mf_hs_udp_flush(vm->hs, node);
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_hs_direct_node = {
    .name = "hs-direct",
    .fn = hs_direct_fn,
    .n_next = 2,
    .next_nodes = {[HS_DIRECT_NEXT_DROP] = "error-drop",
                   [HS_DIRECT_NEXT_TCP] = "hs-tcp"},
    .n_errors = HS_DIRECT_N_ERROR,
    .errors = hs_direct_errors,
};
