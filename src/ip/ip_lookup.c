/* ip4-lookup, ip6-lookup: the App Routing decision. One FIB lookup for the
 * whole vector, then each packet goes to the node of the interface its
 * route points at.
 * Uses: the destination address. Sets: adj and tx_if (the interface index),
 * and counts the packet as handed to that interface.
 * Next: ip4/ip6-local, ip4/ip6-reject, interface-drop, wg-output,
 * hs-direct, dns-input (dns.hijack), or error-drop; packets with TUN
 * offloads (super-packets, partial checksums) bound for anything but the
 * host stack or a drop go through gso-segment first, which then takes them
 * where we would have. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/graph_rt.h"
#include "daemon/dataplane.h"
#include "fib/fib.h"
#include "ip/headers.h"
#include "ip/nodes.h"

#define IP_LOOKUP_ERRORS(_)                                                   \
  _(NO_ROUTE, "no-route", "no route matches the destination")

enum {
#define _(sym, n, t) IP_LOOKUP_ERROR_##sym,
  IP_LOOKUP_ERRORS(_)
#undef _
  IP_LOOKUP_N_ERROR
};

static const mf_error_desc_t ip_lookup_errors[] = {IP_LOOKUP_ERRORS(MF_ERROR_DESC)};

enum {
  IP_LOOKUP_NEXT_DROP,
  IP_LOOKUP_NEXT_LOCAL,
  IP_LOOKUP_NEXT_REJECT,
  IP_LOOKUP_NEXT_INTERFACE_DROP,
  IP_LOOKUP_NEXT_WIREGUARD,
  IP_LOOKUP_NEXT_DIRECT,
  IP_LOOKUP_NEXT_DNS,
  IP_LOOKUP_NEXT_GSO,
  IP_LOOKUP_N_NEXT
};

/* dns.hijack: a DNS query from the machine to any server on port 53 is
 * answered by the stack's own DNS server (for apps that ignore the system
 * resolver). Only queries from the TUN: the server's own upstream
 * queries pass here too and must go where the FIB says. */
static bool hijacked(const mf_vm_t *vm, mf_buffer_t *b, uint8_t proto)
{
  if (b->rx_if != MF_IF_TUN_INDEX || proto != MF_IP_PROTO_UDP ||
      (uint32_t)(b->current_length - b->l4_offset) < sizeof(mf_udp_header_t))
    return false;
  const mf_udp_header_t *udp =
      (const mf_udp_header_t *)(mf_buffer_data(b) + b->l4_offset);
  return udp->dst_port == htons(53);
}

/* The arc for each interface type; 0 (the drop arc) where the type is
 * no route target. A table rather than a switch: one load per packet. */
static const uint16_t next_by_type[MF_IF_N_TYPE] = {
    [MF_IF_LOCAL] = IP_LOOKUP_NEXT_LOCAL,
    [MF_IF_REJECT] = IP_LOOKUP_NEXT_REJECT,
    [MF_IF_DROP] = IP_LOOKUP_NEXT_INTERFACE_DROP,
    [MF_IF_WIREGUARD] = IP_LOOKUP_NEXT_WIREGUARD,
    [MF_IF_DIRECT] = IP_LOOKUP_NEXT_DIRECT,
};

static uint16_t next_for_interface(mf_node_rt_t *node, mf_vm_t *vm,
                                   mf_buffer_t *b, uint32_t adj)
{
  if (__builtin_expect(adj >= vm->n_ifs, 0))
    return mf_graph_drop(node, b, IP_LOOKUP_ERROR_NO_ROUTE);
  mf_if_t *itf = &vm->ifs[adj];
  uint16_t next = next_by_type[itf->type];
  if (__builtin_expect(next == IP_LOOKUP_NEXT_DROP, 0)) {
    /* The TUN itself is no route target: a packet from the machine must
     * not go back to it. */
    return mf_graph_drop(node, b, IP_LOOKUP_ERROR_NO_ROUTE);
  }
  b->adj = b->tx_if = adj;
  itf->tx_packets++;
  itf->tx_bytes += b->current_length;
  /* Only the host stack reads offloaded packets as they are; a drop needs
   * no checksum. */
  if (__builtin_expect((b->flags & MF_BUFFER_F_OFFLOAD) != 0, 0) &&
      next != IP_LOOKUP_NEXT_DIRECT && next != IP_LOOKUP_NEXT_INTERFACE_DROP)
    return IP_LOOKUP_NEXT_GSO;
  return next;
}

static uint32_t ip4_lookup_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  uint32_t dst[MF_FRAME_SIZE], adj[MF_FRAME_SIZE];
  uint16_t nexts[MF_FRAME_SIZE];
  if (n == 0)
    return 0;
  /* do-while: n > 0 here, and saying so spares gcc's false "may be used
   * uninitialized" on the array handed on as const. */
  uint32_t i = 0;
  do {
    const mf_ip4_header_t *ip =
        (const mf_ip4_header_t *)mf_buffer_data(mf_buffer_get(&vm->pool, buffers[i]));
    dst[i] = ip->dst;
  } while (++i < n);
  mf_fib4_lookup_vector(vm->fib, dst, adj, n);
  for (i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (__builtin_expect(vm->dns_hijack, 0) &&
        hijacked(vm, b, ((const mf_ip4_header_t *)mf_buffer_data(b))->protocol))
      nexts[i] = IP_LOOKUP_NEXT_DNS;
    else
      nexts[i] = next_for_interface(node, vm, b, adj[i]);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

static uint32_t ip6_lookup_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  const uint8_t *dst[MF_FRAME_SIZE];
  uint32_t adj[MF_FRAME_SIZE];
  uint16_t nexts[MF_FRAME_SIZE];
  if (n == 0)
    return 0;
  uint32_t i = 0;
  do {
    const mf_ip6_header_t *ip =
        (const mf_ip6_header_t *)mf_buffer_data(mf_buffer_get(&vm->pool, buffers[i]));
    dst[i] = ip->dst;
  } while (++i < n);
  mf_fib6_lookup_vector(vm->fib, dst, adj, n);
  for (i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (__builtin_expect(vm->dns_hijack, 0) &&
        hijacked(vm, b, ((const mf_ip6_header_t *)mf_buffer_data(b))->next_header))
      nexts[i] = IP_LOOKUP_NEXT_DNS;
    else
      nexts[i] = next_for_interface(node, vm, b, adj[i]);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_ip4_lookup_node = {
    .name = "ip4-lookup",
    .fn = ip4_lookup_fn,
    .n_next = IP_LOOKUP_N_NEXT,
    .next_nodes = {[IP_LOOKUP_NEXT_DROP] = "error-drop",
                   [IP_LOOKUP_NEXT_LOCAL] = "ip4-local",
                   [IP_LOOKUP_NEXT_REJECT] = "ip4-reject",
                   [IP_LOOKUP_NEXT_INTERFACE_DROP] = "interface-drop",
                   [IP_LOOKUP_NEXT_WIREGUARD] = "wg-output",
                   [IP_LOOKUP_NEXT_DIRECT] = "hs-direct",
                   [IP_LOOKUP_NEXT_DNS] = "dns-input",
                   [IP_LOOKUP_NEXT_GSO] = "gso-segment"},
    .n_errors = IP_LOOKUP_N_ERROR,
    .errors = ip_lookup_errors,
};

const mf_node_reg_t mf_ip6_lookup_node = {
    .name = "ip6-lookup",
    .fn = ip6_lookup_fn,
    .n_next = IP_LOOKUP_N_NEXT,
    .next_nodes = {[IP_LOOKUP_NEXT_DROP] = "error-drop",
                   [IP_LOOKUP_NEXT_LOCAL] = "ip6-local",
                   [IP_LOOKUP_NEXT_REJECT] = "ip6-reject",
                   [IP_LOOKUP_NEXT_INTERFACE_DROP] = "interface-drop",
                   [IP_LOOKUP_NEXT_WIREGUARD] = "wg-output",
                   [IP_LOOKUP_NEXT_DIRECT] = "hs-direct",
                   [IP_LOOKUP_NEXT_DNS] = "dns-input",
                   [IP_LOOKUP_NEXT_GSO] = "gso-segment"},
    .n_errors = IP_LOOKUP_N_ERROR,
    .errors = ip_lookup_errors,
};
