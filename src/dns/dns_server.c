/* The DNS server's state and timers: the pending-query table, upstream
 * tries, the policy lookup, host routes from answers, the query log.
 * The node that feeds it packets is dns_input.c.
 *
 * Timers:
 *   try-timeout    a pending query's upstream stayed silent for
 *                  try_timeout_ms (or the query reached total_timeout_ms):
 *                  the next upstream of its group is tried, else the app
 *                  gets SERVFAIL.
 *   route-expired  (dns_routes.c) a host route's TTL plus grace passed.
 *   cache sweep    a bounded scan drops expired answers each tick.
 *   tcp-idle       (dns_tcp.c) a TCP connection with nothing in flight
 *                  stayed silent for tcp_idle_ms: closed.
 *   (a TCP retry to an upstream has no timer of its own: the query's
 *   try-timeout closes it.) */
#include "dns/dns_server_internal.h"
#include "routing/dest_seen.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "daemon/dataplane.h"
#include "dns/domain_match.h"
#include "fib/fib.h"
#include "hoststack/hoststack.h"
#include "ip/checksum.h"
#include "ip/headers.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define TRY_TICK_US 1000u /* 1 ms ticks for try timeouts */
#define EXPIRE_BATCH 64
#define CACHE_SWEEP_BUDGET 64
#define DEFAULT_MAX_HOST_ROUTES 65536
#define PACKET_TTL 64

void mf_dns_server_config_default(mf_dns_server_config_t *cfg)
{
  *cfg = (mf_dns_server_config_t){
      .max_pending = 1024,
      .try_timeout_ms = 2000,
      .total_timeout_ms = 5000,
      .cache_entries = 4096,
      .cache_bytes = 4u << 20,
      .cache_max_ttl = 86400,
      .log_entries = 512,
      .route_priority = 100,
      .route_max_ttl = 86400,
      .block_ttl = 300,
      .tcp_max_conns = 256,
      .tcp_idle_ms = 10000,
      .tcp_up_max = MF_DNS_TCP_UP_MAX,
  };
}

static int find_nodes(mf_dns_server_t *s)
{
  mf_vm_t *vm = s->vm;
  s->node_index = mf_graph_node_index(vm, "dns-input");
  s->ip4_lookup = mf_graph_node_index(vm, "ip4-lookup");
  s->ip6_lookup = mf_graph_node_index(vm, "ip6-lookup");
  s->tun_output = mf_graph_node_index(vm, "tun-output");
  if (s->node_index == MF_NODE_INVALID || s->ip4_lookup == MF_NODE_INVALID ||
      s->ip6_lookup == MF_NODE_INVALID || s->tun_output == MF_NODE_INVALID) {
    mf_log_error("dns: the graph lacks dns-input, ip4/ip6-lookup or tun-output");
    return -1;
  }
  return 0;
}

static void keep_stack_addresses(mf_dns_server_t *s, const mf_prefix_t *a,
                                 uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    if (s->n_stack < sizeof(s->stack) / sizeof(s->stack[0]))
      s->stack[s->n_stack++] = a[i];
    if (a[i].family == AF_INET && !s->has4) {
      memcpy(s->stack4, a[i].addr, 4);
      s->has4 = true;
    } else if (a[i].family == AF_INET6 && !s->has6) {
      memcpy(s->stack6, a[i].addr, 16);
      s->has6 = true;
    }
  }
}



static int create_tables(mf_dns_server_t *s, uint64_t now_ns)
{
  const mf_dns_server_config_t *c = &s->cfg;
  s->pending = calloc(c->max_pending, sizeof(*s->pending));
  s->log = calloc(c->log_entries, sizeof(*s->log));
  s->wheel = mf_tw_create(c->max_pending, TRY_TICK_US, now_ns / 1000u);
  uint32_t max_routes = s->ar->max_host_routes ? s->ar->max_host_routes
                                                : DEFAULT_MAX_HOST_ROUTES;
  s->routes = mf_dns_routes_create(s->vm->fib, max_routes, c->route_priority,
                                   now_ns);
  if (c->cache_entries) {
    mf_dns_cache_config_t cc = {
        .max_entries = c->cache_entries,
        .max_bytes = c->cache_bytes,
        .max_ttl = c->cache_max_ttl,
    };
    s->cache = mf_dns_cache_create(&cc);
    if (!s->cache)
      return -1;
  }
  if (!s->pending || !s->log || !s->wheel || !s->routes ||
      dns_tcp_create(&s->tcp, c->tcp_max_conns) < 0 ||
      dns_tcp_up_create(&s->tcp_up, c->tcp_up_max) < 0)
    return -1;
  mf_dns_routes_set_in_use(s->routes, dns_server_routes_in_use, s);
  for (uint32_t i = 0; i < c->max_pending; i++)
    s->pending[i].next_free = i + 1 < c->max_pending ? i + 1 : DNS_NONE;
  s->free_head = 0;
  return 0;
}

mf_dns_server_t *mf_dns_server_create(mf_vm_t *vm, const mf_approute_t *ar,
                                      const mf_prefix_t *stack_addrs,
                                      uint32_t n_stack,
                                      const mf_dns_server_config_t *cfg,
                                      uint64_t now_ns)
{
  if (!vm || !vm->fib || !ar)
    return NULL;
  mf_dns_server_t *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->vm = vm;
  s->ar = ar;
  if (cfg)
    s->cfg = *cfg;
  else
    mf_dns_server_config_default(&s->cfg);
  if (s->cfg.max_pending == 0)
    s->cfg.max_pending = 1;
  if (s->cfg.max_pending > MF_DNS_SERVER_MAX_PENDING)
    s->cfg.max_pending = MF_DNS_SERVER_MAX_PENDING;
  if (s->cfg.log_entries == 0)
    s->cfg.log_entries = 1;
  if (s->cfg.total_timeout_ms < s->cfg.try_timeout_ms)
    s->cfg.total_timeout_ms = s->cfg.try_timeout_ms;
  if (s->cfg.tcp_max_conns > MF_DNS_TCP_MAX_CONNS)
    s->cfg.tcp_max_conns = MF_DNS_TCP_MAX_CONNS;
  if (s->cfg.tcp_up_max > MF_DNS_TCP_UP_MAX)
    s->cfg.tcp_up_max = MF_DNS_TCP_UP_MAX;
  s->tcp.epfd = -1;
  s->grace_s = ar->host_route_grace_s;
  s->id_fallback = now_ns ^ (uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ull;
  keep_stack_addresses(s, stack_addrs, n_stack);
  if (find_nodes(s) < 0 || create_tables(s, now_ns) < 0) {
    mf_log_error("dns: cannot create the server's tables");
    mf_dns_server_destroy(s);
    return NULL;
  }
  return s;
}

void mf_dns_server_destroy(mf_dns_server_t *s)
{
  if (!s)
    return;
  mf_dns_routes_destroy(s->routes);
  mf_dns_cache_destroy(s->cache);
  mf_tw_destroy(s->wheel);
  dns_tcp_destroy(&s->tcp);
  dns_tcp_up_destroy(&s->tcp_up);
  free(s->log);
  free(s->pending);
  free(s);
}

/* ---- policy ---- */

/* Direct DNS, or the system servers when the profile names no direct
 * ones (App Routing needs somewhere to send names in no set). */
const mf_dns_upstream_t *dns_server_upstreams(const mf_dns_server_t *s,
                                              uint8_t group, uint32_t *n)
{
  const mf_approute_t *a = s->ar;
  if (group == MF_DNS_GROUP_VPN) {
    *n = a->n_vpn < MF_APPROUTE_MAX_UPSTREAMS ? a->n_vpn : MF_APPROUTE_MAX_UPSTREAMS;
    return a->vpn;
  }
  if (a->n_direct) {
    *n = a->n_direct < MF_APPROUTE_MAX_UPSTREAMS ? a->n_direct
                                                 : MF_APPROUTE_MAX_UPSTREAMS;
    return a->direct;
  }
  *n = a->n_system < MF_APPROUTE_MAX_UPSTREAMS ? a->n_system : MF_APPROUTE_MAX_UPSTREAMS;
  return a->system;
}

static uint32_t vm_iface(const mf_dns_server_t *s, uint32_t profile_iface)
{
  if (profile_iface == MF_APPROUTE_NONE)
    return DNS_NONE;
  uint64_t i = (uint64_t)profile_iface + MF_IF_FIRST_PROFILE;
  return i < s->vm->n_ifs ? (uint32_t)i : DNS_NONE;
}

void dns_server_policy(const mf_dns_server_t *s, const mf_dns_name_t *qname,
                       dns_policy_t *pol)
{
  char text[MF_DNS_NAME_TEXT_SIZE];
  int len = mf_dns_name_to_text(qname, text, sizeof(text));
  uint32_t set = len > 0 ? mf_approute_match(s->ar, text, (size_t)len)
                         : MF_APPROUTE_NONE;
  dns_server_policy_for_set(s, set, pol);
}

void dns_server_policy_for_set(const mf_dns_server_t *s, uint32_t set,
                               dns_policy_t *pol)
{
  const mf_approute_t *a = s->ar;
  *pol = (dns_policy_t){.set = DNS_NONE, .iface = DNS_NONE,
                        .group = MF_DNS_GROUP_DIRECT};
  if (set != MF_APPROUTE_NONE && set < a->n_sets) {
    pol->set = set;
    uint32_t itf = vm_iface(s, a->sets[set].iface);
    if (itf != DNS_NONE) {
      mf_if_type_t t = s->vm->ifs[itf].type;
      pol->iface = itf;
      pol->group = a->sets[set].group;
      pol->routed = true;
      pol->blocked = t == MF_IF_DROP || t == MF_IF_REJECT;
      pol->no_ipv6 = a->sets[set].no_ipv6;
      pol->rank = a->sets[set].rank;
      return;
    }
  }
  /* No set, or a set no route names: the DNS fallback route decides the
   * upstreams, and the CIDR routes the flows (no host route). */
  pol->iface = vm_iface(s, a->fallback_iface);
  if (pol->iface != DNS_NONE)
    pol->group = a->fallback_group;
}

/* ---- pending queries ---- */

uint32_t dns_server_acquire(mf_dns_server_t *s)
{
  uint32_t slot = s->free_head;
  if (slot == DNS_NONE)
    return DNS_NONE;
  s->free_head = s->pending[slot].next_free;
  s->pending[slot].tcp_up = DNS_NONE;
  s->st.pending++;
  return slot;
}

void dns_server_release(mf_dns_server_t *s, uint32_t slot)
{
  dns_pending_t *p = &s->pending[slot];
  if (!p->family)
    return;
  mf_tw_set(s->wheel, slot, 0);
  if (p->tcp_up != DNS_NONE)
    dns_tcp_up_close(s, p->tcp_up);
  p->family = 0;
  if (p->conn != DNS_NONE)
    dns_tcp_query_ended(s, p->conn, p->gen);
  p->next_free = s->free_head;
  s->free_head = slot;
  s->st.pending--;
}

static uint16_t next_id(mf_dns_server_t *s)
{
  if (s->ids_left == 0) {
    if (getrandom(s->ids, sizeof(s->ids), GRND_NONBLOCK) == sizeof(s->ids)) {
      s->ids_left = sizeof(s->ids) / sizeof(s->ids[0]);
    } else {
      /* No entropy at hand (early boot): xorshift64, weaker but unique
       * enough; the source port and address still have to match. */
      uint64_t x = s->id_fallback ? s->id_fallback : 1;
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      s->id_fallback = x;
      return (uint16_t)(x >> 32);
    }
  }
  return s->ids[--s->ids_left];
}

void dns_server_arm_try(mf_dns_server_t *s, uint32_t slot, uint64_t now_ns)
{
  const dns_pending_t *p = &s->pending[slot];
  uint64_t deadline = now_ns + s->cfg.try_timeout_ms * NS_PER_MS;
  uint64_t last = p->start_ns + s->cfg.total_timeout_ms * NS_PER_MS;
  if (deadline > last)
    deadline = last;
  uint64_t d_us = deadline / 1000u;
  mf_tw_set(s->wheel, slot, d_us ? d_us : 1);
}

uint32_t dns_server_send_try(mf_dns_server_t *s, uint32_t slot, uint32_t from,
                             mf_buffer_t *b, uint64_t now_ns)
{
  dns_pending_t *p = &s->pending[slot];
  uint32_t n;
  const mf_dns_upstream_t *ups = dns_server_upstreams(s, p->policy.group, &n);
  for (uint32_t i = from; i < n; i++) {
    const mf_dns_upstream_t *u = &ups[i];
    const uint8_t *src = u->family == AF_INET ? (s->has4 ? s->stack4 : NULL)
                         : u->family == AF_INET6 ? (s->has6 ? s->stack6 : NULL)
                                                 : NULL;
    if (!src)
      continue; /* no stack address of its family to ask from */
    uint16_t id = next_id(s);
    size_t len = mf_dns_build_query(&p->qname, p->qtype, p->qclass, id,
                                    MF_DNS_EDNS_UDP_SIZE, p->edns_do, s->out,
                                    sizeof(s->out));
    if (len == 0 ||
        !dns_server_emit(b, u->family, src,
                         (uint16_t)(MF_DNS_SERVER_SPORT_BASE + slot), u->addr,
                         u->port, s->out, len))
      return DNS_NONE;
    p->up_family = u->family;
    p->try_index = (uint8_t)i;
    p->up_id = id;
    dns_server_arm_try(s, slot, now_ns);
    b->rx_if = MF_IF_LOCAL_INDEX;
    return u->family == AF_INET ? DNS_INPUT_NEXT_IP4_LOOKUP
                                : DNS_INPUT_NEXT_IP6_LOOKUP;
  }
  return DNS_NONE;
}

const mf_dns_msg_t *dns_server_pending_query(mf_dns_server_t *s,
                                             const dns_pending_t *p)
{
  mf_dns_msg_t *q = &s->aux;
  q->id = p->app_id;
  q->flags = p->app_flags;
  q->rcode = 0;
  q->qdcount = 1;
  q->qname = p->qname;
  q->qtype = p->qtype;
  q->qclass = p->qclass;
  q->an = q->ns = q->ar = 0;
  q->edns = p->edns;
  q->edns_do = p->edns_do;
  q->edns_version = 0;
  q->edns_udp_size = p->edns_udp_size;
  return q;
}

/* ---- packets ---- */

bool dns_server_emit(mf_buffer_t *b, uint8_t family, const uint8_t *src,
                     uint16_t sport, const uint8_t *dst, uint16_t dport,
                     const uint8_t *payload, size_t len)
{
  size_t hlen = family == AF_INET ? sizeof(mf_ip4_header_t)
                                  : sizeof(mf_ip6_header_t);
  size_t udp_len = sizeof(mf_udp_header_t) + len;
  if (hlen + udp_len > MF_BUFFER_DATA_SIZE)
    return false;
  b->current_data = MF_BUFFER_HEADROOM;
  b->current_length = (uint16_t)(hlen + udp_len);
  b->l4_offset = (uint16_t)hlen;
  uint8_t *pkt = mf_buffer_data(b);
  mf_udp_header_t *udp = (mf_udp_header_t *)(pkt + hlen);
  udp->src_port = htons(sport);
  udp->dst_port = htons(dport);
  udp->length = htons((uint16_t)udp_len);
  udp->checksum = 0;
  memcpy(udp + 1, payload, len);
  uint64_t pseudo;
  if (family == AF_INET) {
    mf_ip4_header_t *ip = (mf_ip4_header_t *)pkt;
    *ip = (mf_ip4_header_t){.ver_ihl = 0x45,
                            .total_length = htons((uint16_t)(hlen + udp_len)),
                            .ttl = PACKET_TTL,
                            .protocol = MF_IP_PROTO_UDP};
    memcpy(&ip->src, src, 4);
    memcpy(&ip->dst, dst, 4);
    ip->checksum = mf_csum_finish(mf_csum_add(0, ip, sizeof(*ip)));
    pseudo = mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_UDP, (uint32_t)udp_len);
    b->flags &= ~MF_BUFFER_F_IS_IP6;
  } else {
    mf_ip6_header_t *ip = (mf_ip6_header_t *)pkt;
    ip->ver_tc_flow = htonl(6u << 28);
    ip->payload_length = htons((uint16_t)udp_len);
    ip->next_header = MF_IP_PROTO_UDP;
    ip->hop_limit = PACKET_TTL;
    memcpy(ip->src, src, 16);
    memcpy(ip->dst, dst, 16);
    pseudo = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_UDP, (uint32_t)udp_len);
    b->flags |= MF_BUFFER_F_IS_IP6;
  }
  uint16_t c = mf_csum_finish(mf_csum_add(pseudo, udp, udp_len));
  udp->checksum = c ? c : 0xffff; /* zero would mean "no checksum" */
  return true;
}

bool dns_server_emit_to_app(const mf_dns_server_t *s, const dns_pending_t *p,
                            mf_buffer_t *b, size_t len)
{
  if (p->conn != DNS_NONE)
    return false; /* a TCP client's: dns_tcp_send */
  if (!dns_server_emit(b, p->family, p->local_addr, MF_DNS_SERVER_PORT,
                       p->app_addr, ntohs(p->app_port), s->out, len))
    return false;
  b->rx_if = MF_IF_LOCAL_INDEX;
  b->tx_if = MF_IF_TUN_INDEX;
  return true;
}

/* ---- host routes ---- */

static bool is_upstream(const mf_dns_server_t *s, uint8_t family,
                        const uint8_t *addr)
{
  const mf_approute_t *a = s->ar;
  const mf_dns_upstream_t *lists[] = {a->vpn, a->direct, a->system};
  const uint32_t counts[] = {a->n_vpn, a->n_direct, a->n_system};
  for (unsigned l = 0; l < 3; l++)
    for (uint32_t i = 0; i < counts[l] && i < MF_APPROUTE_MAX_UPSTREAMS; i++)
      if (lists[l][i].family == family &&
          memcmp(lists[l][i].addr, addr, family == AF_INET ? 4 : 16) == 0)
        return true;
  return false;
}

/* Addresses no answer may steer: nobody's host (unspecified, loopback,
 * multicast, broadcast), the stack itself, and the upstreams, whose
 * routes must stay what the profile says (a domain set routed direct that
 * resolves to the VPN DNS server must not pull it out of the tunnel). */
static bool route_allowed(const mf_dns_server_t *s, const mf_dns_addr_t *a)
{
  static const uint8_t zero[16];
  if (a->family == AF_INET) {
    if (a->addr[0] == 0 || a->addr[0] == 127 || a->addr[0] >= 224)
      return false;
  } else {
    if (a->addr[0] == 0xff || memcmp(a->addr, zero, 16) == 0 ||
        (memcmp(a->addr, zero, 15) == 0 && a->addr[15] == 1))
      return false;
  }
  for (uint32_t i = 0; i < s->n_stack; i++)
    if (s->stack[i].family == a->family &&
        memcmp(s->stack[i].addr, a->addr, a->family == AF_INET ? 4 : 16) == 0)
      return false;
  return !is_upstream(s, a->family, a->addr);
}

void dns_server_install_routes(mf_dns_server_t *s, const dns_policy_t *pol,
                               const mf_dns_name_t *qname, uint64_t now_ns)
{
  if (!pol->routed || pol->iface == DNS_NONE)
    return;
  char name[MF_DNS_NAME_TEXT_SIZE];
  if (mf_dns_name_to_text(qname, name, sizeof(name)) < 0)
    name[0] = 0;
  const mf_dns_answer_t *ans = &s->answer;
  uint32_t n = ans->n_addrs < MF_DNS_MAX_ADDRS ? ans->n_addrs : MF_DNS_MAX_ADDRS;
  for (uint32_t i = 0; i < n; i++) {
    const mf_dns_addr_t *a = &ans->addrs[i];
    if (!route_allowed(s, a)) {
      s->st.routes_skipped++;
      continue;
    }
    uint64_t ttl = a->ttl;
    if (s->cfg.route_max_ttl && ttl > s->cfg.route_max_ttl)
      ttl = s->cfg.route_max_ttl;
    mf_dns_claim_t c = {
        .adj = pol->iface,
        .set = (uint16_t)(pol->set < DNS_NO_TAG ? pol->set : DNS_NO_TAG),
        .rank = pol->rank,
        .expires_ns = now_ns + (ttl + s->grace_s) * NS_PER_S,
        .name = name,
    };
    mf_dns_routes_claim(s->routes, a->family, a->addr, &c);
  }
}

/* The in-use oracle of the host routes: a host-stack session to the
 * address through the route's interface; a route to a tunnel, while
 * wg-output still sends packets to its address (routing/dest_seen.h). */
void dns_server_routes_in_use(void *ctx, const mf_dns_route_probe_t *probes,
                              uint32_t n, bool *in_use, uint64_t now_ns)
{
  const mf_dns_server_t *s = ctx;
  mf_hs_remote_t q[MF_HS_REMOTE_BATCH] = {0};
  _Static_assert(MF_DNS_ROUTE_PROBE_BATCH <= MF_HS_REMOTE_BATCH,
                 "one host-stack pass per batch of routes");
  for (uint32_t k = 0; k < n; k++) {
    q[k].family = probes[k].family;
    memcpy(q[k].addr, probes[k].addr, sizeof(q[k].addr));
    q[k].if_index = probes[k].adj;
  }
  mf_hoststack_remotes_in_use(s->vm->hs, q, n, in_use, now_ns);
  /* Through a tunnel: alive while packets to the address keep leaving,
   * no further apart than the grace period (at least 2 s: the check runs
   * once a second). */
  uint32_t now_s = (uint32_t)(now_ns / 1000000000u) + 1;
  uint32_t window = s->grace_s > 2 ? s->grace_s : 2;
  uint32_t since = now_s > window ? now_s - window : 1;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t adj = probes[k].adj;
    if (in_use[k] || adj >= s->vm->n_ifs || s->vm->ifs[adj].type != MF_IF_WIREGUARD)
      continue;
    in_use[k] = mf_dest_seen_since(s->vm->dest_seen,
                                   probes[k].family == AF_INET6 ? 6 : 4,
                                   probes[k].addr, since);
  }
}

/* ---- AAAA without an IPv6 path ---- */

#define DNS_TYPE_SVCB 64 /* RFC 9460 */

/* NODATA (RFC 2308 2.2: NOERROR, no answer) rather than :: or NXDOMAIN:
 * the name exists and its A records stay usable, so the app goes on with
 * IPv4 at once instead of trying an IPv6 path that wg-output would drop.
 * No SOA: RFC 2308 5 says such an answer is not cached, and nothing should
 * outlive a profile change that gives the interface an IPv6 address.
 * HTTPS and SVCB records get the same: their ipv6hint (RFC 9460 7.3)
 * would hand the app IPv6 addresses that no host route steers, which the
 * CIDR routes could then send direct; without them the app asks A. */
static bool asks_ipv6(uint16_t qtype)
{
  return qtype == MF_DNS_TYPE_AAAA || qtype == MF_DNS_TYPE_HTTPS ||
         qtype == DNS_TYPE_SVCB;
}

bool dns_server_answer_no_ipv6(mf_dns_server_t *s, const mf_dns_msg_t *q,
                               uint64_t now_ns, size_t *len)
{
  if (!asks_ipv6(q->qtype))
    return false;
  dns_policy_t pol;
  dns_server_policy(s, &q->qname, &pol);
  if (!pol.no_ipv6 || pol.blocked)
    return false;
  *len = mf_dns_build_nodata(q, 0, s->out, sizeof(s->out));
  if (*len == 0)
    return false;
  s->st.no_ipv6++;
  dns_server_log(s, &q->qname, q->qtype, &pol, DNS_NO_TAG, MF_DNS_RCODE_NOERROR,
                 0, DNS_VIA_NO_IPV6, false, now_ns, now_ns);
  return true;
}

/* ---- the query log ---- */

void dns_server_log(mf_dns_server_t *s, const mf_dns_name_t *name,
                    uint16_t qtype, const dns_policy_t *pol, uint16_t upstream,
                    uint16_t rcode, uint16_t n_addrs, dns_via_t via, bool tc,
                    uint64_t start_ns, uint64_t now_ns)
{
  dns_log_entry_t *e = &s->log[s->log_next];
  s->log_next = (s->log_next + 1) % s->cfg.log_entries;
  if (s->log_count < s->cfg.log_entries)
    s->log_count++;
  uint64_t lat = now_ns > start_ns ? (now_ns - start_ns) / 1000u : 0;
  *e = (dns_log_entry_t){
      .time_ns = now_ns,
      .latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat,
      .set = pol ? pol->set : DNS_NONE,
      .iface = pol ? pol->iface : DNS_NONE,
      .qtype = qtype,
      .upstream = upstream,
      .rcode = rcode,
      .n_addrs = n_addrs,
      .via = (uint8_t)via,
      .tc = tc,
      .name = *name,
  };
}

const char *dns_via_name(dns_via_t via)
{
  static const char *const names[] = {
      [DNS_VIA_UPSTREAM] = "upstream", [DNS_VIA_CACHE] = "cache",
      [DNS_VIA_BLOCK] = "blocked",     [DNS_VIA_CANARY] = "canary",
      [DNS_VIA_TIMEOUT] = "timeout",   [DNS_VIA_NO_UPSTREAM] = "no-upstream",
      [DNS_VIA_LOCAL] = "local",       [DNS_VIA_NO_IPV6] = "no-ipv6",
  };
  return (unsigned)via < sizeof(names) / sizeof(names[0]) ? names[via] : "?";
}

/* ---- timers ---- */

static void inject(mf_dns_server_t *s, uint32_t node, uint32_t bi)
{
  mf_graph_inject(s->vm, node, &bi, 1);
}

/* try-timeout: the next upstream, or SERVFAIL to the app. */
static void on_try_timeout(mf_dns_server_t *s, uint32_t slot, uint64_t now_ns)
{
  dns_pending_t *p = &s->pending[slot];
  if (!p->family)
    return;
  s->st.timeouts++;
  if (p->tcp_up != DNS_NONE) {
    s->st.tcp_up_failures++;
    dns_tcp_up_close(s, p->tcp_up);
  }
  uint32_t bi;
  if (mf_buffer_alloc(&s->vm->pool, &bi, 1) != 1) {
    s->st.no_buffer++;
    dns_server_release(s, slot);
    return;
  }
  mf_buffer_t *b = mf_buffer_get(&s->vm->pool, bi);
  if (now_ns < p->start_ns + s->cfg.total_timeout_ms * NS_PER_MS) {
    uint32_t next = dns_server_send_try(s, slot, p->try_index + 1u, b, now_ns);
    if (next != DNS_NONE) {
      s->st.failovers++;
      inject(s, next == DNS_INPUT_NEXT_IP4_LOOKUP ? s->ip4_lookup : s->ip6_lookup, bi);
      return;
    }
  }
  size_t len = mf_dns_build_rcode(dns_server_pending_query(s, p),
                                  MF_DNS_RCODE_SERVFAIL, s->out, sizeof(s->out));
  if (p->conn != DNS_NONE) {
    mf_buffer_free(&s->vm->pool, &bi, 1);
    if (len && dns_tcp_send(s, p->conn, p->gen, s->out, len))
      s->st.servfail++;
  } else if (len && dns_server_emit_to_app(s, p, b, len)) {
    s->st.servfail++;
    inject(s, s->tun_output, bi);
  } else {
    mf_buffer_free(&s->vm->pool, &bi, 1);
  }
  dns_server_log(s, &p->qname, p->qtype, &p->policy,
                 dns_upstream_tag(p->policy.group, p->try_index),
                 MF_DNS_RCODE_SERVFAIL, 0, DNS_VIA_TIMEOUT, false, p->start_ns,
                 now_ns);
  dns_server_release(s, slot);
}

void mf_dns_server_tick(mf_dns_server_t *s, uint64_t now_ns)
{
  if (!s)
    return;
  uint32_t due[EXPIRE_BATCH], n;
  do {
    n = mf_tw_expire(s->wheel, now_ns / 1000u, due, EXPIRE_BATCH);
    for (uint32_t k = 0; k < n; k++)
      on_try_timeout(s, due[k], now_ns);
  } while (n == EXPIRE_BATCH);
  mf_dns_routes_expire(s->routes, now_ns);
  if (s->cache)
    mf_dns_cache_sweep(s->cache, now_ns, CACHE_SWEEP_BUDGET);
  dns_tcp_tick(s, now_ns);
}

int mf_dns_server_timeout_ms(const mf_dns_server_t *s, uint64_t now_ns,
                             int max_ms)
{
  if (!s)
    return max_ms;
  if (s->tcp.resume_due)
    return 0;
  uint64_t next_us = mf_tw_next(s->wheel), now_us = now_ns / 1000u;
  if (next_us == 0)
    return max_ms;
  if (next_us <= now_us)
    return 0;
  uint64_t ms = (next_us - now_us + 999u) / 1000u;
  return max_ms >= 0 && ms > (uint64_t)max_ms ? max_ms : (int)ms;
}

/* ---- accessors ---- */

void mf_dns_server_stats(const mf_dns_server_t *s, mf_dns_server_stats_t *st)
{
  *st = s->st;
  st->tcp_open = s->tcp.n_open;
  st->tcp_up_open = s->tcp_up.n_open;
}

void dns_server_count(mf_dns_server_t *s, uint32_t code)
{
  s->vm->errors[s->vm->nodes[s->node_index].error_base + code]++;
}

const mf_dns_routes_t *mf_dns_server_routes(const mf_dns_server_t *s)
{
  return s->routes;
}

const mf_dns_cache_t *mf_dns_server_cache(const mf_dns_server_t *s)
{
  return s->cache;
}

/* ---- TCP retries to upstreams (dns_tcp_up.c) ---- */

void mf_dns_server_tcp_upstream_via(mf_dns_server_t *s, const char *tun_name,
                                    const mf_prefix_t *addrs, uint32_t n)
{
  if (!s)
    return;
  dns_tcp_up_table_t *t = &s->tcp_up;
  size_t len = tun_name ? strlen(tun_name) : 0;
  if (len >= sizeof(t->dev))
    len = 0; /* no such device name: retries stay off */
  memcpy(t->dev, tun_name ? tun_name : "", len);
  t->dev[len] = 0;
  t->has4 = t->has6 = false;
  for (uint32_t i = 0; i < n; i++) {
    if (addrs[i].family == AF_INET && !t->has4) {
      memcpy(t->src4, addrs[i].addr, 4);
      t->has4 = true;
    } else if (addrs[i].family == AF_INET6 && !t->has6) {
      memcpy(t->src6, addrs[i].addr, 16);
      t->has6 = true;
    }
  }
}

void mf_dns_server_on_upstream_event(mf_dns_server_t *s, uint64_t tag,
                                     uint32_t events)
{
  if (s && MF_DNS_UP_OWNS_TAG(tag))
    dns_tcp_up_on_event(s, (uint32_t)(tag - MF_DNS_TAG_TCP_UP), events);
}
