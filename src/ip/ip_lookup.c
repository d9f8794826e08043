/* ip4-lookup, ip6-lookup: the App Routing decision. A FIB lookup per
 * packet (IPv4: inline, in the one pass over the vector; IPv6: one vector
 * lookup), then each packet goes to the node of the interface its route
 * points at.
 * Uses: the destination address. Sets: adj and tx_if (the interface index),
 * and counts the packet as handed to that interface.
 * Next: ip4/ip6-local, ip4/ip6-reject, interface-drop, wg-output,
 * hs-direct (also TCP taken by dns.hijack), dns-input (UDP taken by
 * dns.hijack), or error-drop; packets with TUN
 * offloads (super-packets, partial checksums) bound for anything but the
 * host stack or a drop go through gso-segment first, which then takes them
 * where we would have. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/graph_rt.h"
#include "daemon/dataplane.h"
#include "dns/dns_server.h"
#include "fib/fib.h"
#include "fib/lookup.h"
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
 * resolver). UDP goes to dns-input; TCP to the host stack as if routed to
 * the stack itself, which hands the connection to the server's TCP side
 * (it answers on any address). Only queries from the TUN: the server's own
 * upstream queries pass here too and must go where the FIB says. So must
 * the server's TCP retries to upstreams: they do come from the TUN (a
 * kernel socket of ours, routed as the machine's traffic), from a source
 * port of the range it reserves (mf_dns_tcp_up_port); taking them would
 * answer the server with itself. Returns the arc, or 0 when the packet is
 * not taken. */
static uint16_t hijack_next(mf_buffer_t *b, uint8_t proto)
{
  uint32_t l4_len = b->current_length - b->l4_offset;
  if (b->rx_if != MF_IF_TUN_INDEX || l4_len < 4)
    return 0;
  /* UDP and TCP both start with the source and destination ports. */
  const uint16_t *ports = (const uint16_t *)(mf_buffer_data(b) + b->l4_offset);
  if (ports[1] != htons(53))
    return 0;
  if (proto == MF_IP_PROTO_UDP && l4_len >= sizeof(mf_udp_header_t))
    return IP_LOOKUP_NEXT_DNS;
  if (proto == MF_IP_PROTO_TCP && !mf_dns_tcp_up_port(ntohs(ports[0]))) {
    b->tx_if = MF_IF_LOCAL_INDEX;
    return IP_LOOKUP_NEXT_DIRECT;
  }
  return 0;
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

/* Packets of a vector mostly share their adjacency: what they share (the
 * arc, the interface and its counters) is worked out once per run of them,
 * and the interface's counters are added once when the run ends. */
typedef struct {
  uint32_t adj;  /* of the run; UINT32_MAX before the first packet */
  uint16_t next; /* IP_LOOKUP_NEXT_DROP: no route */
  mf_if_t *itf;
  uint64_t packets, bytes;
} lookup_run_t;

static inline void run_end(lookup_run_t *r)
{
  if (r->itf) {
    r->itf->tx_packets += r->packets;
    r->itf->tx_bytes += r->bytes;
  }
  r->packets = r->bytes = 0;
}

static void run_begin(mf_vm_t *vm, lookup_run_t *r, uint32_t adj)
{
  run_end(r);
  r->adj = adj;
  r->itf = NULL;
  r->next = IP_LOOKUP_NEXT_DROP;
  if (adj < vm->n_ifs && next_by_type[vm->ifs[adj].type] != IP_LOOKUP_NEXT_DROP) {
    /* The TUN itself is no route target (its arc is the drop arc): a
     * packet from the machine must not go back to it. */
    r->itf = &vm->ifs[adj];
    r->next = next_by_type[r->itf->type];
  }
}

/* The arc of one packet of the run. */
static inline uint16_t run_next(mf_node_rt_t *node, lookup_run_t *r,
                                mf_buffer_t *b)
{
  if (__builtin_expect(r->next == IP_LOOKUP_NEXT_DROP, 0))
    return mf_graph_drop(node, b, IP_LOOKUP_ERROR_NO_ROUTE);
  b->adj = b->tx_if = r->adj;
  r->packets++;
  r->bytes += b->current_length;
  /* Only the host stack reads offloaded packets as they are; a drop needs
   * no checksum. */
  if (__builtin_expect((b->flags & MF_BUFFER_F_OFFLOAD) != 0, 0) &&
      r->next != IP_LOOKUP_NEXT_DIRECT && r->next != IP_LOOKUP_NEXT_INTERFACE_DROP)
    return IP_LOOKUP_NEXT_GSO;
  return r->next;
}

static inline uint16_t lookup_next(mf_vm_t *vm, mf_node_rt_t *node,
                                   lookup_run_t *r, mf_buffer_t *b,
                                   uint32_t adj)
{
  if (__builtin_expect(adj != r->adj, 0))
    run_begin(vm, r, adj);
  return run_next(node, r, b);
}

/* Hands the vector on: in one copy when every packet took the same arc
 * (VPP's speculative next: all the arcs OR-ed equal all of them AND-ed),
 * else arc by arc. */
static void lookup_enqueue(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                           const uint16_t *nexts, uint32_t n, uint32_t any,
                           uint32_t all)
{
  if (any == all)
    mf_graph_enqueue_all(vm, node, nexts[0], buffers, n);
  else
    mf_graph_enqueue(vm, node, buffers, nexts, n);
}

/* Speculates that every packet goes where the first one goes (VPP's
 * speculative next): the same routable adjacency, no dns.hijack, no
 * offloads. While that holds, a packet costs the lookup, its two fields
 * and its counts, and the vector leaves in one copy. Returns how many
 * packets it took, all bound for r->next, or 0 when the first packet
 * already breaks the speculation. */
static uint32_t ip4_lookup_uniform(mf_vm_t *vm, lookup_run_t *r,
                                   const uint32_t *buffers, uint32_t n)
{
  const mf_fib4_view_t fib = mf_fib4_view(vm->fib);
  if (vm->dns_hijack)
    return 0;
  const mf_ip4_header_t *ip0 =
      (const mf_ip4_header_t *)mf_buffer_data(mf_buffer_get(&vm->pool, buffers[0]));
  run_begin(vm, r, mf_fib4_lookup_one(&fib, ip0->dst));
  if (r->next == IP_LOOKUP_NEXT_DROP)
    return 0;
  const uint32_t *bi = buffers, *end = buffers + n;
  uint32_t adj = r->adj;
  uint64_t packets = 0, bytes = 0;
  for (; bi < end; bi++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, *bi);
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)mf_buffer_data(b);
    if (__builtin_expect(mf_fib4_lookup_one(&fib, ip->dst) != adj ||
                             (b->flags & MF_BUFFER_F_OFFLOAD) != 0,
                         0))
      break;
    b->adj = b->tx_if = adj;
    packets++;
    bytes += b->current_length;
  }
  r->packets += packets;
  r->bytes += bytes;
  return (uint32_t)(bi - buffers);
}

/* The FIB lookup inline (fib/lookup.h), in the same pass that reads the
 * header and picks the arc: one walk over the vector. */
static uint32_t ip4_lookup_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  if (n == 0)
    return 0;
  lookup_run_t r = {.adj = UINT32_MAX, .next = IP_LOOKUP_NEXT_DROP};
  uint32_t i = ip4_lookup_uniform(vm, &r, buffers, n);
  if (__builtin_expect(i == n, 1)) {
    run_end(&r);
    mf_graph_enqueue_all(vm, node, r.next, buffers, n);
    return n;
  }
  /* From the first packet that went elsewhere on, one next each. */
  const mf_fib4_view_t fib = mf_fib4_view(vm->fib);
  uint32_t any = 0, all = UINT32_MAX;
  for (uint32_t k = 0; k < i; k++)
    nexts[k] = r.next;
  if (i) {
    any = r.next;
    all = r.next;
  }
  for (; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)mf_buffer_data(b);
    uint32_t adj = mf_fib4_lookup_one(&fib, ip->dst);
    uint16_t next = 0;
    if (__builtin_expect(vm->dns_hijack, 0))
      next = hijack_next(b, ip->protocol);
    if (!next)
      next = lookup_next(vm, node, &r, b, adj);
    nexts[i] = next;
    any |= next;
    all &= next;
  }
  run_end(&r);
  lookup_enqueue(vm, node, buffers, nexts, n, any, all);
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
  lookup_run_t r = {.adj = UINT32_MAX, .next = IP_LOOKUP_NEXT_DROP};
  uint32_t any = 0, all = UINT32_MAX;
  i = 0;
  do {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    uint16_t next = 0;
    if (__builtin_expect(vm->dns_hijack, 0))
      next = hijack_next(b, ((const mf_ip6_header_t *)mf_buffer_data(b))->next_header);
    if (!next)
      next = lookup_next(vm, node, &r, b, adj[i]);
    nexts[i] = next;
    any |= next;
    all &= next;
  } while (++i < n);
  run_end(&r);
  lookup_enqueue(vm, node, buffers, nexts, n, any, all);
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
