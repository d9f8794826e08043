/* libFuzzer target for the DNS server through its graph: ip4-input,
 * ip4-lookup, ip4-local and dns-input are the real nodes, the exits are
 * sinks. The first input byte picks what the rest is:
 *   0: the payload of a query from the app to port 53;
 *   1: the payload of an upstream answer to a query forwarded just before
 *      (its ID patched in, so the bytes reach the answer's parser and the
 *      relay);
 *   2: a whole IPv4 packet from the machine;
 *   3: the clock moves on by the next byte in seconds (timeouts, route
 *      expiry), then as 0.
 * After every input each buffer must be back in the pool, the pending
 * table must drain once the clock passes the total timeout, and the host
 * routes must stay within their bound.
 *
 *   ./fuzz_dns_server fuzz/corpus/dns_message */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_rt.h"
#include "core/log.h"
#include "dns/dns_build.h"
#include "dns/dns_server.h"
#include "dns/domain_match.h"
#include "fib/fib.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/nodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S 1000000000ull

typedef struct {
  uint8_t last[MF_BUFFER_DATA_SIZE];
  uint32_t len;
} sink_t;

static uint32_t sink_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                        uint32_t n)
{
  sink_t *s = node->ctx;
  for (uint32_t i = 0; s && i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    memcpy(s->last, mf_buffer_data(b), b->current_length);
    s->len = b->current_length;
  }
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

#define SINK(var, nm) static const mf_node_reg_t var = {.name = nm, .fn = sink_fn}
SINK(tun_out, "tun-output");
SINK(wg_out, "wg-output");
SINK(direct, "hs-direct");
SINK(rej4, "ip4-reject");
SINK(rej6, "ip6-reject");
SINK(ifdrop, "interface-drop");
SINK(hs_tcp, "hs-tcp");

static const mf_node_reg_t *const regs[] = {
    &mf_ip4_input_node, &mf_ip6_input_node, &mf_ip4_lookup_node,
    &mf_ip6_lookup_node, &mf_ip4_local_node, &mf_ip6_local_node,
    &mf_dns_input_node, &tun_out, &wg_out, &direct, &rej4, &rej6, &ifdrop,
    &hs_tcp, &mf_gso_segment_node, &mf_error_drop_node};

static mf_vm_t vm;
static mf_approute_t ar;
static mf_approute_set_t sets[1];
static mf_dns_server_t *srv;
static sink_t upstream_sink;
static uint32_t ip4_input;
static const uint8_t app[4] = {172, 19, 0, 1}, stack[4] = {172, 19, 0, 2};
static const uint8_t vpn[4] = {8, 8, 8, 8};

static void check(int ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "dns server fuzz invariant broken: %s\n", what);
    abort();
  }
}

static void add_route(const char *cidr, uint32_t adj)
{
  mf_prefix_t p;
  const char *why;
  check(mf_prefix_parse(cidr, &p, &why) == 0, cidr);
  mf_prefix_mask(&p);
  check(mf_fib_add(vm.fib, &p, MF_FIB_SRC_PROFILE, 100, adj) == 0, cidr);
}

static void setup(void)
{
  mf_log_level = MF_LOG_ERROR;
  check(mf_buffer_pool_init(&vm.pool, 256) == 0, "pool");
  check(mf_graph_init(&vm, regs, sizeof(regs) / sizeof(regs[0]), 64) == 0, "graph");
  const char *names[] = {"tun0", "local", "dir", "wg0"};
  const mf_if_type_t types[] = {MF_IF_TUN, MF_IF_LOCAL, MF_IF_DIRECT, MF_IF_WIREGUARD};
  for (int i = 0; i < 4; i++) {
    snprintf(vm.ifs[i].name, sizeof(vm.ifs[i].name), "%s", names[i]);
    vm.ifs[i].type = types[i];
  }
  vm.n_ifs = 4;
  vm.fib = mf_fib_create(4096, UINT32_MAX);
  check(vm.fib != NULL, "fib");
  add_route("172.19.0.2/32", 1);
  add_route("0.0.0.0/0", 2);
  add_route("8.8.8.8/32", 3);
  mf_domain_builder_t *b = mf_domain_builder_new(0, 1);
  mf_domain_builder_add(b, "netflix.com", 11, 0, MF_DOMAIN_SUFFIX);
  ar.domains = mf_domain_builder_compile(b);
  sets[0] = (mf_approute_set_t){.name = "stream", .iface = 1,
                                .group = MF_DNS_GROUP_VPN};
  ar.enabled = true;
  ar.sets = sets;
  ar.n_sets = 1;
  ar.fallback_iface = 0;
  ar.vpn[0] = (mf_dns_upstream_t){.family = AF_INET, .port = 53};
  memcpy(ar.vpn[0].addr, vpn, 4);
  ar.n_vpn = 1;
  ar.direct[0] = ar.vpn[0];
  ar.n_direct = 1;
  ar.host_route_grace_s = 60;
  ar.max_host_routes = 256;
  mf_prefix_t sa = {.family = AF_INET, .len = 30};
  memcpy(sa.addr, stack, 4);
  vm.now_ns = 1000 * S;
  srv = mf_dns_server_create(&vm, &ar, &sa, 1, NULL, vm.now_ns);
  check(srv != NULL, "server");
  vm.nodes[mf_graph_node_index(&vm, "dns-input")].ctx = srv;
  vm.nodes[mf_graph_node_index(&vm, "wg-output")].ctx = &upstream_sink;
  ip4_input = mf_graph_node_index(&vm, "ip4-input");
}

/* An IPv4 UDP packet carrying payload, checksums computed, into the graph
 * as if it came in on rx_if. */
static void send_udp(const uint8_t *src, uint16_t sport, const uint8_t *dst,
                     uint16_t dport, const uint8_t *payload, size_t n,
                     uint32_t rx_if)
{
  if (n > MF_BUFFER_DATA_SIZE - 28)
    return;
  uint32_t bi;
  if (mf_buffer_alloc(&vm.pool, &bi, 1) != 1)
    return;
  mf_buffer_t *b = mf_buffer_get(&vm.pool, bi);
  uint8_t *p = mf_buffer_data(b);
  mf_ip4_header_t *ip = (mf_ip4_header_t *)p;
  *ip = (mf_ip4_header_t){.ver_ihl = 0x45,
                          .total_length = __builtin_bswap16((uint16_t)(28 + n)),
                          .ttl = 64, .protocol = MF_IP_PROTO_UDP};
  memcpy(&ip->src, src, 4);
  memcpy(&ip->dst, dst, 4);
  ip->checksum = mf_csum_finish(mf_csum_add(0, ip, 20));
  mf_udp_header_t *udp = (mf_udp_header_t *)(p + 20);
  udp->src_port = __builtin_bswap16(sport);
  udp->dst_port = __builtin_bswap16(dport);
  udp->length = __builtin_bswap16((uint16_t)(8 + n));
  udp->checksum = 0; /* none: IPv4 allows it (RFC 768) */
  memcpy(udp + 1, payload, n);
  b->current_length = (uint16_t)(28 + n);
  b->rx_if = rx_if;
  mf_graph_inject(&vm, ip4_input, &bi, 1);
  mf_graph_run(&vm);
}

static void send_raw(const uint8_t *pkt, size_t n)
{
  uint32_t bi;
  if (n > MF_BUFFER_DATA_SIZE || mf_buffer_alloc(&vm.pool, &bi, 1) != 1)
    return;
  mf_buffer_t *b = mf_buffer_get(&vm.pool, bi);
  memcpy(mf_buffer_data(b), pkt, n);
  b->current_length = (uint16_t)n;
  b->rx_if = 0;
  mf_graph_inject(&vm, ip4_input, &bi, 1);
  mf_graph_run(&vm);
}

/* Forwards a fresh query and answers it with data under its ID. */
static void answer_with(const uint8_t *data, size_t size)
{
  static uint16_t id;
  uint8_t q[300];
  mf_dns_name_t name;
  mf_dns_name_from_text("www.netflix.com", 15, &name);
  size_t n = mf_dns_build_query(&name, MF_DNS_TYPE_A, MF_DNS_CLASS_IN, ++id, 0,
                                false, q, sizeof(q));
  upstream_sink.len = 0;
  send_udp(app, 5353, stack, 53, q, n, 0);
  if (upstream_sink.len < 28 + 12)
    return;
  const uint8_t *fwd = upstream_sink.last;
  uint16_t sport = (uint16_t)(fwd[20] << 8 | fwd[21]);
  static uint8_t ans[MF_BUFFER_DATA_SIZE];
  if (size > sizeof(ans))
    size = sizeof(ans);
  memcpy(ans, data, size);
  if (size >= 2)
    memcpy(ans, fwd + 28, 2);
  send_udp(vpn, 53, stack, sport, ans, size, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!srv)
    setup();
  if (size == 0)
    return 0;
  switch (data[0] & 3) {
  case 0:
    send_udp(app, 5353, stack, 53, data + 1, size - 1, 0);
    break;
  case 1:
    answer_with(data + 1, size - 1);
    break;
  case 2:
    send_raw(data + 1, size - 1);
    break;
  default:
    vm.now_ns += (uint64_t)(size > 1 ? data[1] : 1) * S;
    mf_dns_server_tick(srv, vm.now_ns);
    mf_graph_run(&vm);
    if (size > 2)
      send_udp(app, 5353, stack, 53, data + 2, size - 2, 0);
    break;
  }
  check(vm.pool.n_free == vm.pool.n_total, "every buffer back in the pool");
  check(vm.n_free_frames == vm.n_frames, "every frame back");
  mf_dns_server_stats_t st;
  mf_dns_server_stats(srv, &st);
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(mf_dns_server_routes(srv), &rs);
  check(rs.live <= rs.max, "host routes within their bound");
  /* Past the total timeout, nothing may stay pending. */
  vm.now_ns += 6 * S;
  mf_dns_server_tick(srv, vm.now_ns);
  mf_graph_run(&vm);
  mf_dns_server_stats(srv, &st);
  check(st.pending == 0, "pending queries drain after the total timeout");
  check(vm.pool.n_free == vm.pool.n_total, "timer packets freed");
  return 0;
}
