/* The DNS server driven through a real graph: packets go in at ip4-input /
 * ip6-input as the TUN would hand them, pass the real ip4/ip6-lookup and
 * ip4/ip6-local to dns-input, and what leaves is caught by stand-ins for
 * tun-output, wg-output and hs-direct.
 *
 *   app 172.19.0.1 / fdfe:dcba:9876::1          upstreams
 *        |                                       8.8.8.8, 8.8.4.4 (VPN DNS)
 *   [ip4/6-input] -> [ip4/6-lookup] -> [ip4/6-local] -> [dns-input]
 *        ^                 |  8.8.0.0/16 -> wg0 (capture "wg-output")
 *        |                 |  default    -> dir (capture "hs-direct")
 *   answers injected       |  1.1.1.1, 1.0.0.1 (Direct DNS) via dir
 *   with rx_if of the      +-> answers to the app: capture "tun-output"
 *   interface they came in
 *
 * Sets: stream (netflix.com) -> wg0 (VPN group), ads (ads.example) -> blk
 * (a drop interface, Direct group), listed (listed.example) matched but
 * routed nowhere; the DNS fallback goes to dir.
 *
 * Checked: forwarded packets (addresses, ports, question), answers to the
 * app (ID, source, records, OPT), FIB host routes and their expiry,
 * failover on silence and on SERVFAIL, SERVFAIL when all fail, the cache,
 * the Firefox canary, blocked names both ways, malformed queries counted
 * by reason, foreign answers ignored, IPv6, and that every buffer returns
 * to the pool. Packets are built here with an independent checksum. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/out.h"
#include "core/graph_rt.h"
#include "dns/dns_build.h"
#include "dns/dns_routes.h"
#include "dns/dns_server.h"
#include "dns/dns_wire.h"
#include "dns/domain_match.h"
#include "fib/fib.h"
#include "ip/nodes.h"
#include "routing/approute.h"

#define S 1000000000ull
#define T0 (1000 * S)

enum { IF_TUN, IF_LOCAL, IF_DIR, IF_WG, IF_BLK }; /* vm interfaces */
enum { P_DIR, P_WG, P_BLK };                      /* profile interfaces */
enum { SET_STREAM, SET_ADS, SET_LISTED };

/* ---- capture nodes ---- */

#define CAP_MAX 16
typedef struct {
  uint32_t n, total;
  uint32_t len[CAP_MAX];
  uint32_t tx_if[CAP_MAX];
  uint8_t pkt[CAP_MAX][MF_BUFFER_DATA_SIZE];
} capture_t;

static uint32_t capture_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                           uint32_t n)
{
  capture_t *c = node->ctx;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    c->total++;
    if (c->n < CAP_MAX) {
      c->len[c->n] = b->current_length;
      c->tx_if[c->n] = b->tx_if;
      memcpy(c->pkt[c->n], mf_buffer_data(b), b->current_length);
      c->n++;
    }
  }
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

#define CAPTURE_NODE(var, nm) \
  static const mf_node_reg_t var = {.name = nm, .fn = capture_fn}
CAPTURE_NODE(tun_out_node, "tun-output");
CAPTURE_NODE(wg_out_node, "wg-output");
CAPTURE_NODE(direct_node, "hs-direct");
CAPTURE_NODE(reject4_node, "ip4-reject");
CAPTURE_NODE(reject6_node, "ip6-reject");
CAPTURE_NODE(ifdrop_node, "interface-drop");
CAPTURE_NODE(hs_tcp_node, "hs-tcp");

static const mf_node_reg_t *const regs[] = {
    &mf_ip4_input_node, &mf_ip6_input_node, &mf_ip4_lookup_node,
    &mf_ip6_lookup_node, &mf_ip4_local_node, &mf_ip6_local_node,
    &mf_dns_input_node, &tun_out_node,      &wg_out_node,
    &direct_node,       &reject4_node,      &reject6_node,
    &ifdrop_node,       &hs_tcp_node,       &mf_gso_segment_node,
    &mf_error_drop_node};

/* ---- the world of one test ---- */

typedef struct {
  mf_vm_t vm;
  mf_approute_t ar;
  mf_approute_set_t sets[3];
  mf_dns_server_t *srv;
  capture_t tun, wg, direct, other;
} world_t;

static const uint8_t app4[4] = {172, 19, 0, 1}, stack4[4] = {172, 19, 0, 2};
static const uint8_t vpn1[4] = {8, 8, 8, 8}, vpn2[4] = {8, 8, 4, 4};
static const uint8_t dir1[4] = {1, 1, 1, 1}, dir2[4] = {1, 0, 0, 1};
static uint8_t app6[16], stack6[16];

static void upstream(mf_dns_upstream_t *u, const uint8_t *a)
{
  memset(u, 0, sizeof(*u));
  u->family = AF_INET;
  memcpy(u->addr, a, 4);
  u->port = 53;
}

static void add_if(mf_vm_t *vm, const char *name, mf_if_type_t t)
{
  mf_if_t *f = &vm->ifs[vm->n_ifs++];
  memset(f, 0, sizeof(*f));
  snprintf(f->name, sizeof(f->name), "%s", name);
  f->type = t;
}

static void fib_add(mf_fib_t *fib, const char *cidr, uint32_t adj)
{
  mf_prefix_t p;
  const char *why;
  assert_int_equal(mf_prefix_parse(cidr, &p, &why), 0);
  mf_prefix_mask(&p);
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 100, adj), 0);
}

static void build_policy(world_t *w, bool block_answer)
{
  mf_domain_builder_t *b = mf_domain_builder_new(0, 7);
  assert_non_null(b);
  mf_domain_builder_add(b, "netflix.com", 11, SET_STREAM, MF_DOMAIN_SUFFIX);
  mf_domain_builder_add(b, "ads.example", 11, SET_ADS, MF_DOMAIN_SUFFIX);
  mf_domain_builder_add(b, "listed.example", 14, SET_LISTED, MF_DOMAIN_SUFFIX);
  w->ar.domains = mf_domain_builder_compile(b);
  assert_non_null(w->ar.domains);
  w->sets[SET_STREAM] = (mf_approute_set_t){.name = "stream", .iface = P_WG,
                                            .group = MF_DNS_GROUP_VPN};
  w->sets[SET_ADS] = (mf_approute_set_t){.name = "ads", .iface = P_BLK,
                                         .group = MF_DNS_GROUP_DIRECT};
  w->sets[SET_LISTED] = (mf_approute_set_t){.name = "listed",
                                            .iface = MF_APPROUTE_NONE};
  w->ar.enabled = true;
  w->ar.sets = w->sets;
  w->ar.n_sets = 3;
  w->ar.fallback_iface = P_DIR;
  w->ar.fallback_group = MF_DNS_GROUP_DIRECT;
  upstream(&w->ar.vpn[0], vpn1);
  upstream(&w->ar.vpn[1], vpn2);
  w->ar.n_vpn = 2;
  upstream(&w->ar.direct[0], dir1);
  upstream(&w->ar.direct[1], dir2);
  w->ar.n_direct = 2;
  w->ar.block_answer = block_answer;
  w->ar.host_route_grace_s = 60;
  w->ar.max_host_routes = 8;
}

/* The server configuration the next world_new uses; NULL: defaults. */
static const mf_dns_server_config_t *next_cfg;

static world_t *world_new(bool block_answer)
{
  world_t *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  inet_pton(AF_INET6, "fdfe:dcba:9876::1", app6);
  inet_pton(AF_INET6, "fdfe:dcba:9876::2", stack6);
  mf_vm_t *vm = &w->vm;
  assert_int_equal(mf_buffer_pool_init(&vm->pool, 256), 0);
  assert_int_equal(mf_graph_init(vm, regs, sizeof(regs) / sizeof(regs[0]), 64), 0);
  add_if(vm, "tun0", MF_IF_TUN);
  add_if(vm, "local", MF_IF_LOCAL);
  add_if(vm, "dir", MF_IF_DIRECT);
  add_if(vm, "wg0", MF_IF_WIREGUARD);
  add_if(vm, "blk", MF_IF_DROP);
  vm->fib = mf_fib_create(1024, UINT32_MAX);
  assert_non_null(vm->fib);
  fib_add(vm->fib, "172.19.0.2/32", IF_LOCAL);
  fib_add(vm->fib, "fdfe:dcba:9876::2/128", IF_LOCAL);
  fib_add(vm->fib, "0.0.0.0/0", IF_DIR);
  fib_add(vm->fib, "::/0", IF_DIR);
  fib_add(vm->fib, "8.8.0.0/16", IF_WG);
  vm->nodes[mf_graph_node_index(vm, "tun-output")].ctx = &w->tun;
  vm->nodes[mf_graph_node_index(vm, "wg-output")].ctx = &w->wg;
  vm->nodes[mf_graph_node_index(vm, "hs-direct")].ctx = &w->direct;
  vm->nodes[mf_graph_node_index(vm, "ip4-reject")].ctx = &w->other;
  vm->nodes[mf_graph_node_index(vm, "ip6-reject")].ctx = &w->other;
  vm->nodes[mf_graph_node_index(vm, "interface-drop")].ctx = &w->other;
  vm->nodes[mf_graph_node_index(vm, "hs-tcp")].ctx = &w->other;
  build_policy(w, block_answer);
  mf_prefix_t stack[2] = {{.family = AF_INET, .len = 30},
                          {.family = AF_INET6, .len = 126}};
  memcpy(stack[0].addr, stack4, 4);
  memcpy(stack[1].addr, stack6, 16);
  vm->now_ns = T0;
  w->srv = mf_dns_server_create(vm, &w->ar, stack, 2, next_cfg, T0);
  assert_non_null(w->srv);
  vm->nodes[mf_graph_node_index(vm, "dns-input")].ctx = w->srv;
  return w;
}

static void world_free(world_t *w)
{
  /* No packet may stay behind: pending queries hold no buffers. */
  assert_int_equal(w->vm.pool.n_free, w->vm.pool.n_total);
  assert_int_equal(w->vm.n_free_frames, w->vm.n_frames);
  mf_dns_server_destroy(w->srv);
  mf_fib_stats_t st;
  mf_fib_get_stats(w->vm.fib, &st);
  assert_int_equal(st.routes4 + st.routes6, 5); /* only the test's own */
  mf_domain_match_free(w->ar.domains);
  mf_fib_destroy(w->vm.fib);
  mf_graph_free(&w->vm);
  mf_buffer_pool_free(&w->vm.pool);
  free(w);
}

static uint64_t node_error(world_t *w, const char *node, const char *name)
{
  mf_vm_t *vm = &w->vm;
  uint32_t ni = mf_graph_node_index(vm, node);
  const mf_node_rt_t *n = &vm->nodes[ni];
  for (uint32_t e = 0; e < n->reg->n_errors; e++)
    if (strcmp(n->reg->errors[e].name, name) == 0)
      return vm->errors[n->error_base + e];
  fail_msg("no error %s in %s", name, node);
  return 0;
}

static mf_dns_server_stats_t stats(world_t *w)
{
  mf_dns_server_stats_t st;
  mf_dns_server_stats(w->srv, &st);
  return st;
}

/* ---- packets, with a checksum of our own (RFC 1071) ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  return s;
}

static uint16_t fold(uint32_t s)
{
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* An IPv4 or IPv6 UDP packet into pkt; returns its length. */
static size_t make_udp(uint8_t *pkt, int family, const uint8_t *src,
                       uint16_t sport, const uint8_t *dst, uint16_t dport,
                       const uint8_t *payload, size_t n)
{
  size_t hl = family == AF_INET ? 20 : 40, ulen = 8 + n, alen = hl == 20 ? 4 : 16;
  memset(pkt, 0, hl + 8);
  uint8_t *u = pkt + hl;
  if (family == AF_INET) {
    pkt[0] = 0x45;
    mf_dns_put16(pkt + 2, (uint16_t)(hl + ulen));
    pkt[8] = 64;
    pkt[9] = 17;
    memcpy(pkt + 12, src, 4);
    memcpy(pkt + 16, dst, 4);
    mf_dns_put16(pkt + 10, fold(sum16(pkt, 20, 0)));
  } else {
    pkt[0] = 0x60;
    mf_dns_put16(pkt + 4, (uint16_t)ulen);
    pkt[6] = 17;
    pkt[7] = 64;
    memcpy(pkt + 8, src, 16);
    memcpy(pkt + 24, dst, 16);
  }
  mf_dns_put16(u, sport);
  mf_dns_put16(u + 2, dport);
  mf_dns_put16(u + 4, (uint16_t)ulen);
  memcpy(u + 8, payload, n);
  uint32_t s = sum16(pkt + (family == AF_INET ? 12 : 8), 2 * alen, 0) + 17 + (uint32_t)ulen;
  uint16_t c = fold(sum16(u, ulen, s));
  mf_dns_put16(u + 6, c ? c : 0xffff);
  return hl + ulen;
}

static void inject(world_t *w, const uint8_t *pkt, size_t len, uint32_t rx_if)
{
  uint32_t bi;
  assert_int_equal(mf_buffer_alloc(&w->vm.pool, &bi, 1), 1);
  mf_buffer_t *b = mf_buffer_get(&w->vm.pool, bi);
  memcpy(mf_buffer_data(b), pkt, len);
  b->current_length = (uint16_t)len;
  b->rx_if = rx_if;
  const char *in = (pkt[0] >> 4) == 4 ? "ip4-input" : "ip6-input";
  mf_graph_inject(&w->vm, mf_graph_node_index(&w->vm, in), &bi, 1);
  mf_graph_run(&w->vm);
}

static size_t query_msg(const char *name, uint16_t qtype, uint16_t id,
                        bool edns, uint8_t *out)
{
  mf_dns_name_t n;
  assert_int_equal(mf_dns_name_from_text(name, strlen(name), &n), 0);
  size_t len = mf_dns_build_query(&n, qtype, MF_DNS_CLASS_IN, id,
                                  edns ? 1232 : 0, false, out, 512);
  assert_true(len > 0);
  return len;
}

/* The app asks name over IPv4 from port 5353 (or IPv6 when v6). */
static void app_query_edns(world_t *w, const char *name, uint16_t qtype,
                           uint16_t id, bool v6, bool edns)
{
  uint8_t msg[512], pkt[600];
  size_t n = query_msg(name, qtype, id, edns, msg);
  size_t len = v6 ? make_udp(pkt, AF_INET6, app6, 5353, stack6, 53, msg, n)
                  : make_udp(pkt, AF_INET, app4, 5353, stack4, 53, msg, n);
  inject(w, pkt, len, IF_TUN);
}

static void app_query(world_t *w, const char *name, uint16_t qtype,
                      uint16_t id, bool v6)
{
  app_query_edns(w, name, qtype, id, v6, false);
}

/* A captured packet taken apart. */
typedef struct {
  int family;
  uint8_t src[16], dst[16];
  uint16_t sport, dport;
  const uint8_t *dns;
  size_t dns_len;
  mf_dns_msg_t m;
} seen_t;

static void take_apart(const uint8_t *pkt, uint32_t len, seen_t *s)
{
  memset(s->src, 0, 16);
  memset(s->dst, 0, 16);
  size_t hl;
  if ((pkt[0] >> 4) == 4) {
    s->family = AF_INET;
    hl = 20;
    assert_int_equal(fold(sum16(pkt, 20, 0)), 0);
    memcpy(s->src, pkt + 12, 4);
    memcpy(s->dst, pkt + 16, 4);
  } else {
    s->family = AF_INET6;
    hl = 40;
    memcpy(s->src, pkt + 8, 16);
    memcpy(s->dst, pkt + 24, 16);
  }
  const uint8_t *u = pkt + hl;
  uint16_t ulen = mf_dns_get16(u + 4);
  assert_int_equal(hl + ulen, len);
  size_t alen = s->family == AF_INET ? 4 : 16;
  uint32_t ps = sum16(s->src, alen, 0) + sum16(s->dst, alen, 0) + 17 + ulen;
  assert_int_equal(fold(sum16(u, ulen, ps)), 0); /* UDP checksum holds */
  s->sport = mf_dns_get16(u);
  s->dport = mf_dns_get16(u + 2);
  s->dns = u + 8;
  s->dns_len = ulen - 8u;
  assert_int_equal(mf_dns_parse(s->dns, s->dns_len, &s->m), MF_DNS_OK);
}

/* The last packet a capture holds, taken apart. */
static void last(capture_t *c, seen_t *s)
{
  assert_true(c->n > 0);
  take_apart(c->pkt[c->n - 1], c->len[c->n - 1], s);
}

/* The upstream answers the query q it got (seen at a capture) with the
 * given addresses, all with ttl, or with rcode when n is 0. */
static void upstream_answers(world_t *w, const seen_t *q,
                             const mf_dns_addr_t *addrs, size_t n,
                             uint32_t ttl, uint16_t rcode, bool tc,
                             uint32_t rx_if)
{
  uint8_t msg[1500], pkt[1600];
  size_t len = n ? mf_dns_build_addrs(&q->m, addrs, n, ttl, msg, sizeof(msg))
                 : mf_dns_build_rcode(&q->m, rcode, msg, sizeof(msg));
  assert_true(len > 0);
  if (tc)
    msg[2] |= 0x02;
  size_t plen = make_udp(pkt, q->family, q->dst, q->dport, q->src, q->sport,
                         msg, len);
  inject(w, pkt, plen, rx_if);
}

static mf_dns_addr_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
  mf_dns_addr_t x = {.family = AF_INET, .ttl = 0};
  x.addr[0] = a;
  x.addr[1] = b;
  x.addr[2] = c;
  x.addr[3] = d;
  return x;
}

static uint32_t fib4(world_t *w, const uint8_t *a)
{
  uint32_t dst, adj;
  memcpy(&dst, a, 4);
  mf_fib4_lookup_vector(w->vm.fib, &dst, &adj, 1);
  return adj;
}

static void tick(world_t *w, uint64_t now)
{
  w->vm.now_ns = now;
  mf_dns_server_tick(w->srv, now);
  mf_graph_run(&w->vm);
}

/* ---- tests ---- */

/* The Selective-VPN path: a name of a set routed to the tunnel is asked
 * of the VPN DNS server through the tunnel, the answer goes to the app
 * under its ID, and the addresses route to the tunnel until TTL + grace. */
static void test_set_name_via_vpn_installs_routes(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "www.NetFlix.com", MF_DNS_TYPE_A, 0x1234, false);
  assert_int_equal(w->wg.n, 1);
  assert_int_equal(w->tun.n + w->direct.n, 0);
  seen_t q;
  last(&w->wg, &q);
  assert_memory_equal(q.src, stack4, 4);
  assert_memory_equal(q.dst, vpn1, 4);
  assert_int_equal(q.dport, 53);
  assert_true(q.sport >= MF_DNS_SERVER_SPORT_BASE);
  assert_false(mf_dns_is_response(&q.m));
  assert_int_equal(q.m.qtype, MF_DNS_TYPE_A);
  assert_true(q.m.edns); /* we ask upstreams with EDNS */
  char text[MF_DNS_NAME_TEXT_SIZE];
  mf_dns_name_to_text(&q.m.qname, text, sizeof(text));
  assert_string_equal(text, "www.netflix.com");
  assert_int_equal(q.m.qname.wire[5], 'N'); /* the app's case goes upstream */

  mf_dns_addr_t a[2] = {v4(198, 51, 100, 7), v4(198, 51, 100, 8)};
  w->vm.now_ns = T0 + S / 10;
  upstream_answers(w, &q, a, 2, 300, 0, false, IF_WG);
  assert_int_equal(w->tun.n, 1);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(w->tun.tx_if[0], IF_TUN);
  assert_memory_equal(r.src, stack4, 4);
  assert_memory_equal(r.dst, app4, 4);
  assert_int_equal(r.sport, 53);
  assert_int_equal(r.dport, 5353);
  assert_int_equal(r.m.id, 0x1234);
  assert_true(mf_dns_is_response(&r.m));
  assert_int_equal(r.m.an, 2);
  assert_false(r.m.edns); /* the app sent none: it gets none */
  assert_int_equal(fib4(w, a[0].addr), IF_WG);
  assert_int_equal(fib4(w, a[1].addr), IF_WG);

  mf_dns_server_stats_t st = stats(w);
  assert_int_equal(st.queries, 1);
  assert_int_equal(st.forwarded, 1);
  assert_int_equal(st.answered, 1);
  assert_int_equal(st.pending, 0);
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
  assert_int_equal(rs.installed, 2);
  assert_int_equal(rs.live, 2);

  /* Asked again: from the cache, nothing upstream, routes refreshed. */
  app_query(w, "www.netflix.com", MF_DNS_TYPE_A, 0x4321, false);
  assert_int_equal(w->wg.n, 1);
  assert_int_equal(w->tun.n, 2);
  last(&w->tun, &r);
  assert_int_equal(r.m.id, 0x4321);
  assert_int_equal(r.m.an, 2);
  assert_int_equal(stats(w).cache_answers, 1);
  mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
  assert_int_equal(rs.refreshed, 2);

  /* Still there just before TTL + grace, gone after. */
  tick(w, T0 + (300 + 59) * S);
  assert_int_equal(fib4(w, a[0].addr), IF_WG);
  tick(w, T0 + (300 + 61) * S);
  assert_int_equal(fib4(w, a[0].addr), IF_DIR);
  assert_int_equal(fib4(w, a[1].addr), IF_DIR);
  mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
  assert_int_equal(rs.expired, 2);
  assert_int_equal(rs.live, 0);
  world_free(w);
}

/* A name in no set follows the DNS fallback (Direct DNS through dir) and
 * installs no route: the CIDR routes decide. So does a set no route
 * names. */
static void test_fallback_name_no_route(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "example.org", MF_DNS_TYPE_A, 7, false);
  assert_int_equal(w->direct.n, 1);
  seen_t q;
  last(&w->direct, &q);
  assert_memory_equal(q.dst, dir1, 4);
  mf_dns_addr_t a = v4(203, 0, 113, 5);
  upstream_answers(w, &q, &a, 1, 60, 0, false, IF_DIR);
  assert_int_equal(w->tun.n, 1);
  app_query(w, "www.listed.example", MF_DNS_TYPE_A, 8, false);
  assert_int_equal(w->direct.n, 2);
  last(&w->direct, &q);
  a = v4(203, 0, 113, 6);
  upstream_answers(w, &q, &a, 1, 60, 0, false, IF_DIR);
  assert_int_equal(w->tun.n, 2);
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
  assert_int_equal(rs.installed, 0);
  assert_int_equal(stats(w).answered, 2);
  world_free(w);
}

/* Silence moves the query to the next upstream; when every one stayed
 * silent, the app gets SERVFAIL under its ID. */
static void test_failover_then_servfail(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "netflix.com", MF_DNS_TYPE_AAAA, 0xbeef, false);
  assert_int_equal(w->wg.n, 1);
  seen_t q1, q2;
  last(&w->wg, &q1);
  assert_memory_equal(q1.dst, vpn1, 4);
  tick(w, T0 + S); /* not yet */
  assert_int_equal(w->wg.n, 1);
  tick(w, T0 + 2 * S + S / 100);
  assert_int_equal(w->wg.n, 2);
  last(&w->wg, &q2);
  assert_memory_equal(q2.dst, vpn2, 4);
  assert_int_equal(q2.sport, q1.sport); /* the slot keeps its port */
  assert_int_not_equal(q2.m.id, q1.m.id);
  assert_int_equal(stats(w).failovers, 1);
  /* The first upstream answering late is no longer heard. */
  mf_dns_addr_t a = v4(198, 51, 100, 9);
  upstream_answers(w, &q1, &a, 1, 60, 0, false, IF_WG);
  assert_int_equal(w->tun.n, 0);
  assert_int_equal(node_error(w, "dns-input", "unmatched-answer"), 1);
  tick(w, T0 + 4 * S + S / 50);
  assert_int_equal(w->tun.n, 1);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(r.m.id, 0xbeef);
  assert_int_equal(r.m.rcode, MF_DNS_RCODE_SERVFAIL);
  assert_memory_equal(r.dst, app4, 4);
  assert_int_equal(r.dport, 5353);
  mf_dns_server_stats_t st = stats(w);
  assert_int_equal(st.servfail, 1);
  assert_int_equal(st.timeouts, 2);
  assert_int_equal(st.pending, 0);
  assert_int_equal(mf_dns_server_timeout_ms(w->srv, T0 + 5 * S, 1000), 1000);
  world_free(w);
}

/* A SERVFAIL answer fails over at once; the second upstream's answer is
 * what the app gets. */
static void test_servfail_answer_fails_over(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "a.netflix.com", MF_DNS_TYPE_A, 1, false);
  seen_t q;
  last(&w->wg, &q);
  upstream_answers(w, &q, NULL, 0, 0, MF_DNS_RCODE_SERVFAIL, false, IF_WG);
  assert_int_equal(w->wg.n, 2);
  assert_int_equal(w->tun.n, 0);
  last(&w->wg, &q);
  assert_memory_equal(q.dst, vpn2, 4);
  mf_dns_addr_t a = v4(198, 51, 100, 10);
  upstream_answers(w, &q, &a, 1, 30, 0, false, IF_WG);
  assert_int_equal(w->tun.n, 1);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(r.m.rcode, 0);
  assert_int_equal(r.m.an, 1);
  assert_int_equal(fib4(w, a.addr), IF_WG);
  assert_int_equal(stats(w).failovers, 1);
  world_free(w);
}

/* A truncated answer reaches the app with TC, so that it asks over TCP;
 * it is not cached. */
static void test_truncated_relayed_with_tc(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "big.example.org", MF_DNS_TYPE_TXT, 2, false);
  seen_t q, r;
  last(&w->direct, &q);
  upstream_answers(w, &q, NULL, 0, 0, MF_DNS_RCODE_NOERROR, true, IF_DIR);
  last(&w->tun, &r);
  assert_true(mf_dns_is_truncated(&r.m));
  assert_int_equal(stats(w).truncated, 1);
  app_query(w, "big.example.org", MF_DNS_TYPE_TXT, 3, false);
  assert_int_equal(w->direct.n, 2); /* asked again, not from the cache */
  last(&w->direct, &q);
  upstream_answers(w, &q, NULL, 0, 0, MF_DNS_RCODE_NOERROR, false, IF_DIR);
  world_free(w);
}

/* Answers that are not the one awaited leave the query waiting. */
static void test_foreign_answers_ignored(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "x.netflix.com", MF_DNS_TYPE_A, 9, false);
  seen_t q;
  last(&w->wg, &q);
  mf_dns_addr_t a = v4(198, 51, 100, 11);
  seen_t bad = q;
  bad.m.id ^= 1; /* wrong ID */
  upstream_answers(w, &bad, &a, 1, 60, 0, false, IF_WG);
  bad = q;
  bad.dst[3] = 9; /* from another address than the upstream asked */
  upstream_answers(w, &bad, &a, 1, 60, 0, false, IF_WG);
  bad = q;
  bad.sport = MF_DNS_SERVER_SPORT_BASE + 1000; /* no such pending slot */
  upstream_answers(w, &bad, &a, 1, 60, 0, false, IF_WG);
  assert_int_equal(node_error(w, "dns-input", "unmatched-answer"), 3);
  /* Another question under the right ID. */
  bad = q;
  assert_int_equal(mf_dns_name_from_text("evil.example", 12, &bad.m.qname), 0);
  upstream_answers(w, &bad, &a, 1, 60, 0, false, IF_WG);
  assert_int_equal(node_error(w, "dns-input", "answer-mismatch"), 1);
  /* Garbage to the port. */
  uint8_t junk[5] = {1, 2, 3, 4, 5}, pkt[100];
  size_t len = make_udp(pkt, AF_INET, vpn1, 53, stack4, q.sport, junk, 5);
  inject(w, pkt, len, IF_WG);
  assert_int_equal(node_error(w, "dns-input", "bad-answer"), 1);
  assert_int_equal(w->tun.n, 0);
  assert_int_equal(stats(w).pending, 1);
  upstream_answers(w, &q, &a, 1, 60, 0, false, IF_WG);
  assert_int_equal(w->tun.n, 1);
  assert_int_equal(fib4(w, a.addr), IF_WG);
  world_free(w);
}

/* Malformed queries: counted by reason; FORMERR where a header exists. */
static void test_malformed_queries_counted(void **state)
{
  world_t *w = world_new(false);
  uint8_t pkt[200];
  uint8_t shorty[6] = {0x12, 0x34, 0x01, 0, 0, 1};
  size_t len = make_udp(pkt, AF_INET, app4, 5353, stack4, 53, shorty, 6);
  inject(w, pkt, len, IF_TUN);
  assert_int_equal(node_error(w, "dns-input", "short-header"), 1);
  assert_int_equal(w->tun.n, 0);
  /* A question name that points at itself (a compression loop). */
  uint8_t loop[] = {0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                    0xc0, 12, 0, 1, 0, 1};
  len = make_udp(pkt, AF_INET, app4, 5353, stack4, 53, loop, sizeof(loop));
  inject(w, pkt, len, IF_TUN);
  uint64_t loops = node_error(w, "dns-input", "compression-loop") +
                   node_error(w, "dns-input", "pointer-forward");
  assert_int_equal(loops, 1);
  assert_int_equal(w->tun.n, 1);
  seen_t r;
  take_apart(w->tun.pkt[0], w->tun.len[0], &r);
  assert_int_equal(r.m.id, 0xabcd);
  assert_int_equal(r.m.rcode, MF_DNS_RCODE_FORMERR);
  /* A wrong UDP checksum. */
  uint8_t msg[512];
  size_t n = query_msg("a.example", MF_DNS_TYPE_A, 1, false, msg);
  len = make_udp(pkt, AF_INET, app4, 5353, stack4, 53, msg, n);
  pkt[len - 1] ^= 0x40;
  inject(w, pkt, len, IF_TUN);
  assert_int_equal(node_error(w, "dns-input", "bad-udp-checksum"), 1);
  /* A response sent to port 53 is never answered. */
  n = query_msg("a.example", MF_DNS_TYPE_A, 1, false, msg);
  msg[2] |= 0x80;
  len = make_udp(pkt, AF_INET, app4, 5353, stack4, 53, msg, n);
  inject(w, pkt, len, IF_TUN);
  assert_int_equal(node_error(w, "dns-input", "not-a-query"), 1);
  /* A query from a tunnel: we are no open resolver. */
  n = query_msg("a.example", MF_DNS_TYPE_A, 1, false, msg);
  len = make_udp(pkt, AF_INET, vpn1, 5353, stack4, 53, msg, n);
  inject(w, pkt, len, IF_WG);
  assert_int_equal(node_error(w, "dns-input", "not-from-tun"), 1);
  /* Other UDP to the stack keeps today's answer. */
  len = make_udp(pkt, AF_INET, app4, 5353, stack4, 54, msg, n);
  inject(w, pkt, len, IF_TUN);
  assert_int_equal(node_error(w, "ip4-local", "no-listener"), 1);
  mf_dns_server_stats_t st = stats(w);
  assert_int_equal(st.malformed, 2);
  assert_int_equal(st.formerr, 1);
  assert_int_equal(st.queries, 0);
  assert_int_equal(w->wg.n + w->direct.n, 0);
  world_free(w);
}

/* use-application-dns.net: NXDOMAIN at once, so Firefox keeps us. */
static void test_canary(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "Use-Application-DNS.net", MF_DNS_TYPE_A, 5, false);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(r.m.rcode, MF_DNS_RCODE_NXDOMAIN);
  assert_int_equal(stats(w).canary, 1);
  assert_int_equal(w->wg.n + w->direct.n, 0);
  world_free(w);
}

/* dns.block: answer -> 0.0.0.0 / :: at once; resolve -> asked of Direct
 * DNS and the addresses blackholed through the set's drop interface. */
static void test_blocked_sets(void **state)
{
  world_t *w = world_new(true);
  app_query(w, "x.ads.example", MF_DNS_TYPE_A, 5, false);
  app_query(w, "x.ads.example", MF_DNS_TYPE_AAAA, 6, true);
  assert_int_equal(w->tun.n, 2);
  assert_int_equal(w->wg.n + w->direct.n, 0);
  seen_t r;
  take_apart(w->tun.pkt[0], w->tun.len[0], &r);
  mf_dns_answer_t ans;
  assert_int_equal(mf_dns_answer_extract(r.dns, r.dns_len, &r.m, &ans), MF_DNS_OK);
  assert_int_equal(ans.n_addrs, 1);
  assert_int_equal(ans.addrs[0].family, AF_INET);
  static const uint8_t zero[16];
  assert_memory_equal(ans.addrs[0].addr, zero, 4);
  take_apart(w->tun.pkt[1], w->tun.len[1], &r);
  assert_int_equal(r.family, AF_INET6);
  assert_int_equal(mf_dns_answer_extract(r.dns, r.dns_len, &r.m, &ans), MF_DNS_OK);
  assert_int_equal(ans.addrs[0].family, AF_INET6);
  assert_memory_equal(ans.addrs[0].addr, zero, 16);
  assert_int_equal(stats(w).blocked, 2);
  world_free(w);

  w = world_new(false);
  app_query(w, "x.ads.example", MF_DNS_TYPE_A, 5, false);
  assert_int_equal(w->direct.n, 1);
  seen_t q;
  last(&w->direct, &q);
  assert_memory_equal(q.dst, dir1, 4);
  mf_dns_addr_t a = v4(192, 0, 2, 77);
  upstream_answers(w, &q, &a, 1, 60, 0, false, IF_DIR);
  assert_int_equal(fib4(w, a.addr), IF_BLK);
  world_free(w);
}

/* An app on IPv6 gets its answer over IPv6 from the address it asked,
 * though the upstream is asked over IPv4 from the IPv4 stack address. */
static void test_ipv6_app(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "v6.netflix.com", MF_DNS_TYPE_A, 0x6666, true);
  seen_t q, r;
  last(&w->wg, &q);
  assert_int_equal(q.family, AF_INET);
  assert_memory_equal(q.src, stack4, 4);
  mf_dns_addr_t a = v4(198, 51, 100, 66);
  upstream_answers(w, &q, &a, 1, 60, 0, false, IF_WG);
  last(&w->tun, &r);
  assert_int_equal(r.family, AF_INET6);
  assert_memory_equal(r.src, stack6, 16);
  assert_memory_equal(r.dst, app6, 16);
  assert_int_equal(r.m.id, 0x6666);
  world_free(w);
}

/* The host-route table alone: the first claim keeps an address, the same
 * interface refreshes it, the bound refuses and counts, expiry and flush
 * remove paths from the FIB. */
static void test_routes_table(void **state)
{
  mf_fib_t *fib = mf_fib_create(64, UINT32_MAX);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, 2, 100, T0);
  assert_non_null(r);
  uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2}, c[4] = {192, 0, 2, 3};
  assert_int_equal(mf_dns_routes_add(r, AF_INET, a, 3, 0, T0 + 10 * S),
                   MF_DNS_ROUTE_INSTALLED);
  assert_int_equal(mf_dns_routes_add(r, AF_INET, a, 4, 1, T0 + 20 * S),
                   MF_DNS_ROUTE_CONFLICT);
  assert_int_equal(mf_dns_routes_add(r, AF_INET, a, 3, 0, T0 + 30 * S),
                   MF_DNS_ROUTE_REFRESHED);
  assert_int_equal(mf_dns_routes_add(r, AF_INET, b, 3, 0, T0 + 5 * S),
                   MF_DNS_ROUTE_INSTALLED);
  assert_int_equal(mf_dns_routes_add(r, AF_INET, c, 3, 0, T0 + 5 * S),
                   MF_DNS_ROUTE_FULL);
  uint32_t dst, adj;
  memcpy(&dst, a, 4);
  mf_fib4_lookup_vector(fib, &dst, &adj, 1);
  assert_int_equal(adj, 3);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 6 * S), 1); /* b */
  assert_int_equal(mf_dns_routes_expire(r, T0 + 25 * S), 0); /* a: refreshed */
  assert_int_equal(mf_dns_routes_add(r, AF_INET, c, 3, 0, T0 + 40 * S),
                   MF_DNS_ROUTE_INSTALLED);
  mf_dns_routes_stats_t st;
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.conflicts, 1);
  assert_int_equal(st.refused, 1);
  assert_int_equal(st.refreshed, 1);
  assert_int_equal(st.live, 2);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 31 * S), 1); /* a */
  mf_fib4_lookup_vector(fib, &dst, &adj, 1);
  assert_int_equal(adj, UINT32_MAX);
  assert_int_equal(mf_dns_routes_flush(r), 1);
  mf_fib_stats_t fs;
  mf_fib_get_stats(fib, &fs);
  assert_int_equal(fs.routes4, 0);
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* More addresses than max_host_routes: the rest refused and counted;
 * answers naming our own address or an upstream are never routed. */
static void test_route_bound_and_protected(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "many.netflix.com", MF_DNS_TYPE_A, 1, false);
  seen_t q;
  last(&w->wg, &q);
  mf_dns_addr_t a[12];
  for (int i = 0; i < 10; i++)
    a[i] = v4(198, 51, 100, (uint8_t)(100 + i));
  a[10] = v4(172, 19, 0, 2);
  a[11] = v4(1, 1, 1, 1);
  upstream_answers(w, &q, a, 12, 60, 0, false, IF_WG);
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
  assert_int_equal(rs.installed, 8);
  assert_int_equal(rs.refused, 2);
  assert_int_equal(stats(w).routes_skipped, 2);
  assert_int_equal(fib4(w, a[11].addr), IF_DIR);
  world_free(w);
}

/* An app that sent EDNS gets our OPT back; one that did not gets at most
 * 512 bytes, cut at a record with TC set (RFC 1035 4.2.1). IPv6 answers
 * become /128 routes. */
static void test_edns_and_sizes(void **state)
{
  world_t *w = world_new(false);
  app_query_edns(w, "six.netflix.com", MF_DNS_TYPE_AAAA, 1, false, true);
  seen_t q, r;
  last(&w->wg, &q);
  mf_dns_addr_t a6 = {.family = AF_INET6};
  inet_pton(AF_INET6, "2001:db8::5", a6.addr);
  upstream_answers(w, &q, &a6, 1, 60, 0, false, IF_WG);
  last(&w->tun, &r);
  assert_true(r.m.edns);
  assert_int_equal(r.m.an, 1);
  const uint8_t *d6 = a6.addr;
  uint32_t adj;
  mf_fib6_lookup_vector(w->vm.fib, &d6, &adj, 1);
  assert_int_equal(adj, IF_WG);

  app_query(w, "many.example.org", MF_DNS_TYPE_A, 2, false);
  last(&w->direct, &q);
  mf_dns_addr_t a[60];
  for (int i = 0; i < 60; i++)
    a[i] = v4(203, 0, 113, (uint8_t)i);
  upstream_answers(w, &q, a, 60, 60, 0, false, IF_DIR);
  last(&w->tun, &r);
  assert_true(r.dns_len <= 512);
  assert_true(mf_dns_is_truncated(&r.m));
  assert_true(r.m.an > 0 && r.m.an < 60);
  world_free(w);
}

/* The pending table is bounded: a query beyond it is dropped and counted
 * (the app retries), and the slot comes back when its query ends. */
static void test_pending_bound(void **state)
{
  mf_dns_server_config_t cfg;
  mf_dns_server_config_default(&cfg);
  cfg.max_pending = 2;
  next_cfg = &cfg;
  world_t *w = world_new(false);
  next_cfg = NULL;
  app_query(w, "a.netflix.com", MF_DNS_TYPE_A, 1, false);
  app_query(w, "b.netflix.com", MF_DNS_TYPE_A, 2, false);
  app_query(w, "c.netflix.com", MF_DNS_TYPE_A, 3, false);
  assert_int_equal(w->wg.n, 2);
  assert_int_equal(node_error(w, "dns-input", "pending-full"), 1);
  seen_t q;
  take_apart(w->wg.pkt[0], w->wg.len[0], &q);
  upstream_answers(w, &q, NULL, 0, 0, MF_DNS_RCODE_NXDOMAIN, false, IF_WG);
  assert_int_equal(w->tun.n, 1);
  app_query(w, "c.netflix.com", MF_DNS_TYPE_A, 3, false);
  assert_int_equal(w->wg.n, 3);
  assert_int_equal(stats(w).pending, 2);
  tick(w, T0 + 10 * S); /* both give up: SERVFAIL */
  assert_int_equal(w->tun.n, 3);
  assert_int_equal(stats(w).pending, 0);
  world_free(w);
}

/* Addresses at the end of a CNAME chain route with the name asked
 * (RFC 1034 3.6.2): www.netflix.com -> edge.cdn.example -> A. */
static void test_cname_chain_routes(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "www.netflix.com", MF_DNS_TYPE_A, 0x77, false);
  seen_t q;
  last(&w->wg, &q);
  static const uint8_t tail[] = {
      /* www.netflix.com CNAME edge.cdn.example, TTL 300 */
      0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 18,
      4, 'e', 'd', 'g', 'e', 3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
      /* edge.cdn.example A 192.0.2.99, TTL 60 (the name at offset 45) */
      0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99};
  uint8_t msg[512], pkt[600];
  size_t len = 12 + q.m.qname.len + 4;
  memcpy(msg, q.dns, len); /* header and question as asked */
  mf_dns_put16(msg + 2, 0x8180);
  mf_dns_put16(msg + 6, 2);
  mf_dns_put16(msg + 8, 0);
  mf_dns_put16(msg + 10, 0);
  assert_int_equal(len, 33);
  memcpy(msg + len, tail, sizeof(tail));
  len += sizeof(tail);
  size_t plen = make_udp(pkt, AF_INET, q.dst, q.dport, q.src, q.sport, msg, len);
  inject(w, pkt, plen, IF_WG);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(r.m.an, 2);
  assert_int_equal(r.m.id, 0x77);
  const uint8_t a[4] = {192, 0, 2, 99};
  assert_int_equal(fib4(w, a), IF_WG);
  world_free(w);
}

/* The control output names what happened. */
static void test_show_output(void **state)
{
  world_t *w = world_new(false);
  app_query(w, "www.netflix.com", MF_DNS_TYPE_A, 1, false);
  seen_t q;
  last(&w->wg, &q);
  mf_dns_addr_t a = v4(198, 51, 100, 7);
  upstream_answers(w, &q, &a, 1, 300, 0, false, IF_WG);
  mf_out_t out = {0};
  mf_dns_server_show_cache(w->srv, w->vm.now_ns, &out);
  assert_non_null(strstr(out.buf, "www.netflix.com"));
  assert_non_null(strstr(out.buf, "stream"));
  assert_non_null(strstr(out.buf, "8.8.8.8:53"));
  assert_non_null(strstr(out.buf, "198.51.100.7"));
  mf_out_free(&out);
  memset(&out, 0, sizeof(out));
  mf_dns_server_show_log(w->srv, w->vm.now_ns, &out);
  assert_non_null(strstr(out.buf, "wg0"));
  assert_non_null(strstr(out.buf, "NOERROR"));
  mf_out_free(&out);
  memset(&out, 0, sizeof(out));
  mf_dns_server_show_routes(w->srv, w->vm.now_ns, &out);
  assert_non_null(strstr(out.buf, "198.51.100.7"));
  mf_out_free(&out);
  memset(&out, 0, sizeof(out));
  mf_dns_server_show_stats(w->srv, &out);
  assert_non_null(strstr(out.buf, "answered: 1"));
  mf_out_free(&out);
  memset(&out, 0, sizeof(out));
  mf_dns_server_flush(w->srv, true, &out);
  assert_non_null(strstr(out.buf, "flushed 1 cache entries"));
  assert_non_null(strstr(out.buf, "removed 1 host routes"));
  mf_out_free(&out);
  assert_int_equal(fib4(w, a.addr), IF_DIR); /* back to the CIDR routes */
  world_free(w);
}

/* A set whose interface has no IPv6 path: AAAA gets NODATA at once (the
 * query itself with QR and RA set, no records, no SOA), counted and
 * logged; A is forwarded as before. */
static void test_no_ipv6_nodata(void **state)
{
  world_t *w = world_new(false);
  w->sets[SET_STREAM].no_ipv6 = true;
  uint8_t query[512];
  size_t qlen = query_msg("www.netflix.com", MF_DNS_TYPE_AAAA, 0x4321, false,
                          query);
  app_query(w, "www.netflix.com", MF_DNS_TYPE_AAAA, 0x4321, false);
  assert_int_equal(w->wg.total, 0);
  assert_int_equal(w->tun.n, 1);
  seen_t r;
  last(&w->tun, &r);
  assert_int_equal(r.dns_len, qlen);
  uint8_t want[512];
  memcpy(want, query, qlen);
  want[2] = 0x81; /* QR, opcode 0, AA 0, TC 0, RD copied */
  want[3] = 0x80; /* RA, rcode NOERROR */
  assert_memory_equal(r.dns, want, qlen); /* QD 1, AN NS AR 0 */
  assert_int_equal(stats(w).no_ipv6, 1);
  mf_out_t out = {0};
  mf_dns_server_show_log(w->srv, w->vm.now_ns, &out);
  assert_non_null(strstr(out.buf, "no-ipv6"));
  mf_out_free(&out);
  /* With EDNS the answer carries our OPT (RFC 6891 7). */
  app_query_edns(w, "www.netflix.com", MF_DNS_TYPE_AAAA, 7, false, true);
  last(&w->tun, &r);
  assert_int_equal(r.m.an + r.m.ns, 0);
  assert_true(r.m.edns);
  /* HTTPS records too: their ipv6hint would bypass the answer. */
  app_query(w, "www.netflix.com", MF_DNS_TYPE_HTTPS, 6, false);
  last(&w->tun, &r);
  assert_int_equal(r.m.an, 0);
  assert_int_equal(stats(w).no_ipv6, 3);
  assert_int_equal(w->wg.total, 0);
  /* A is unchanged, and so are names of other sets. */
  app_query(w, "www.netflix.com", MF_DNS_TYPE_A, 8, false);
  assert_int_equal(w->wg.total, 1);
  app_query(w, "x.listed.example", MF_DNS_TYPE_AAAA, 9, false);
  assert_int_equal(stats(w).no_ipv6, 3);
  assert_int_equal(stats(w).forwarded, 2);
  /* Let the pending queries time out: no buffer stays behind. */
  tick(w, T0 + 10 * S);
  world_free(w);
}

/* Two sets answer the same address, in either order: the set routed
 * first (lower rank) holds the route, `show ip fib`'s text names both,
 * and the other takes over when the winner's answer expires. */
static void test_shared_address(void **state)
{
  for (int order = 0; order < 2; order++) {
    world_t *w = world_new(false);
    w->sets[SET_ADS].rank = 0;    /* ads' route comes first */
    w->sets[SET_STREAM].rank = 1;
    mf_dns_addr_t a = v4(198, 51, 100, 77);
    for (int k = 0; k < 2; k++) {
      bool ads = (k == 0) == (order == 0);
      app_query(w, ads ? "x.ads.example" : "www.netflix.com", MF_DNS_TYPE_A,
                (uint16_t)(10 + k), false);
      seen_t q;
      last(ads ? &w->direct : &w->wg, &q);
      upstream_answers(w, &q, &a, 1, ads ? 10 : 600, 0, false,
                       ads ? IF_DIR : IF_WG);
    }
    assert_int_equal(fib4(w, a.addr), IF_BLK);
    char text[256];
    assert_true(mf_dns_server_describe_route(w->srv, AF_INET, a.addr, text,
                                             sizeof(text)));
    assert_string_equal(text, "dns x.ads.example (ads) "
                              "[also: www.netflix.com (stream)]");
    mf_out_t out = {0};
    mf_dns_server_show_routes(w->srv, w->vm.now_ns, &out);
    assert_non_null(strstr(out.buf, "[also: www.netflix.com (stream)]"));
    mf_out_free(&out);
    /* ads' TTL + grace passes: stream takes the route over. */
    tick(w, T0 + (10 + 60 + 2) * S);
    assert_int_equal(fib4(w, a.addr), IF_WG);
    assert_true(mf_dns_server_describe_route(w->srv, AF_INET, a.addr, text,
                                             sizeof(text)));
    assert_string_equal(text, "dns www.netflix.com (stream)");
    mf_dns_routes_stats_t rs;
    mf_dns_routes_stats(mf_dns_server_routes(w->srv), &rs);
    assert_int_equal(rs.conflicts, 1);
    assert_int_equal(rs.takeovers, order == 0 ? 1 : 2);
    uint8_t other[4] = {198, 51, 100, 78};
    assert_false(mf_dns_server_describe_route(w->srv, AF_INET, other, text,
                                              sizeof(text)));
    world_free(w);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_name_via_vpn_installs_routes),
      cmocka_unit_test(test_fallback_name_no_route),
      cmocka_unit_test(test_failover_then_servfail),
      cmocka_unit_test(test_servfail_answer_fails_over),
      cmocka_unit_test(test_truncated_relayed_with_tc),
      cmocka_unit_test(test_foreign_answers_ignored),
      cmocka_unit_test(test_malformed_queries_counted),
      cmocka_unit_test(test_canary),
      cmocka_unit_test(test_blocked_sets),
      cmocka_unit_test(test_ipv6_app),
      cmocka_unit_test(test_routes_table),
      cmocka_unit_test(test_route_bound_and_protected),
      cmocka_unit_test(test_edns_and_sizes),
      cmocka_unit_test(test_pending_bound),
      cmocka_unit_test(test_cname_chain_routes),
      cmocka_unit_test(test_show_output),
      cmocka_unit_test(test_no_ipv6_nodata),
      cmocka_unit_test(test_shared_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
