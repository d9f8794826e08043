/* dns-input: UDP for the DNS server on the stack's own addresses, handed
 * over by ip4-local / ip6-local (mf_dns_server_port).
 *   - To port 53: a query from the machine. Answered at once (FORMERR,
 *     NOTIMP, the Firefox canary, the cache, a blocked set), or matched
 *     to its upstream group and forwarded: the buffer becomes the query to
 *     the upstream and goes to ip4-lookup / ip6-lookup.
 *   - To a forwarded query's port: an upstream's answer. Matched to its
 *     pending query (port, upstream address and port, ID, question); a
 *     failure moves it to the next upstream, anything else goes to the app
 *     with the app's ID, after its addresses became host routes.
 * Each packet leaves as exactly one packet or one drop: nothing is
 * allocated here. An answer for a TCP client is written to its connection
 * (dns_tcp.c) and its packet ends as to-tcp. Queries read from TCP
 * connections come through dns_input_tcp_query, outside the node, and take
 * the same path: their forwarded packets are new buffers injected into
 * ip4-lookup / ip6-lookup.
 * Uses: l4_offset, F_IS_IP6, rx_if. Sets: the whole packet, l4_offset,
 * rx_if (local), tx_if (the TUN, for answers).
 * Next: tun-output, ip4-lookup, ip6-lookup, error-drop. */
#include <arpa/inet.h>
#include <string.h>

#include "daemon/dataplane.h"
#include "dns/dns_server_internal.h"
#include "ip/checksum.h"
#include "ip/udp_check.h"
#include "ip/headers.h"

static const mf_error_desc_t dns_input_errors[] = {
    DNS_INPUT_ERRORS(MF_ERROR_DESC) MF_DNS_ERRORS(MF_ERROR_DESC)};

/* RFC 8484 does not define it; Mozilla's canary domain: a resolver that
 * filters or steers answers NXDOMAINs it, so Firefox keeps using the
 * system resolver (us) instead of its own DNS over HTTPS. */
static const mf_dns_name_t canary = {
    .wire = "\x13use-application-dns\x03net", .len = 25, .labels = 2};

static void count(mf_vm_t *vm, mf_node_rt_t *node, uint32_t code)
{
  vm->errors[node->error_base + code]++;
}

/* Checks the UDP header and fills d; -1, or the error. */
static int read_dgram(mf_buffer_t *b, dns_request_t *d)
{
  uint32_t len = 0;
  switch (mf_udp_check(b, &len)) {
  case MF_UDP_CHECK_OK:
    break;
  case MF_UDP_CHECK_BAD_LENGTH:
    return DNS_INPUT_ERROR_BAD_UDP_LENGTH;
  case MF_UDP_CHECK_BAD_CHECKSUM:
    return DNS_INPUT_ERROR_BAD_UDP_CHECKSUM;
  }
  uint8_t *pkt = mf_buffer_data(b);
  memset(d->src, 0, 16);
  memset(d->dst, 0, 16);
  if (b->flags & MF_BUFFER_F_IS_IP6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    d->family = AF_INET6;
    memcpy(d->src, ip->src, 16);
    memcpy(d->dst, ip->dst, 16);
  } else {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
    d->family = AF_INET;
    memcpy(d->src, &ip->src, 4);
    memcpy(d->dst, &ip->dst, 4);
  }
  /* The packet is rewritten from here on: its offload state (a partial
   * checksum from the TUN or dns.hijack) no longer applies. */
  b->flags &= ~MF_BUFFER_F_OFFLOAD;
  const mf_udp_header_t *udp = (const mf_udp_header_t *)(pkt + b->l4_offset);
  d->sport = udp->src_port;
  d->dport = udp->dst_port;
  d->conn = d->gen = DNS_NONE; /* UDP */
  d->payload = (const uint8_t *)(udp + 1);
  d->len = len;
  return -1;
}

/* Sends s->out[0, len) back to the sender of d, from the address it
 * asked, port 53. */
static uint16_t reply(mf_dns_server_t *s, mf_node_rt_t *node, mf_buffer_t *b,
                      const dns_request_t *d, size_t len)
{
  if (len == 0 || !dns_server_emit(b, d->family, d->dst, MF_DNS_SERVER_PORT,
                                   d->src, ntohs(d->sport), s->out, len))
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_NO_ROOM);
  b->rx_if = MF_IF_LOCAL_INDEX;
  b->tx_if = MF_IF_TUN_INDEX;
  return DNS_INPUT_NEXT_TUN_OUTPUT;
}

/* What a query comes to: an answer made here (in s->out), a pending slot
 * to forward from, or nothing (a node error). */
typedef enum { DNS_DO_DROP, DNS_DO_ANSWER, DNS_DO_FORWARD } dns_do_t;

typedef struct {
  dns_do_t what;
  uint32_t code; /* DROP: the error; ANSWER: an error to count, or DNS_NONE */
  uint32_t slot; /* FORWARD */
  size_t len;    /* ANSWER: the answer's length, 0 when it did not build */
} dns_verdict_t;

static dns_verdict_t answer(size_t len)
{
  return (dns_verdict_t){.what = DNS_DO_ANSWER, .code = DNS_NONE, .len = len};
}

static dns_verdict_t drop(uint32_t code)
{
  return (dns_verdict_t){.what = DNS_DO_DROP, .code = code};
}

static dns_verdict_t on_malformed(mf_dns_server_t *s, const dns_request_t *d,
                                  mf_dns_err_t err)
{
  s->st.malformed++;
  /* RFC 1035 4.1.1: FORMERR, when there is a header to answer and it is
   * not a response (never answer those: two servers could bounce errors
   * forever). */
  size_t len = mf_dns_build_formerr(d->payload, d->len, s->out, sizeof(s->out));
  if (len == 0)
    return drop(DNS_INPUT_MALFORMED(err));
  s->st.formerr++;
  dns_verdict_t v = answer(len);
  v.code = DNS_INPUT_MALFORMED(err);
  return v;
}

/* Reads the addresses of the answer in s->out (len bytes) and, for a
 * routed name, installs host routes for them: a cache hit refreshes the
 * routes of its name. Returns how many addresses it holds. */
static uint16_t routes_from_cached(mf_dns_server_t *s, size_t len,
                                   const dns_policy_t *pol, uint64_t now)
{
  if (mf_dns_parse(s->out, len, &s->aux) != MF_DNS_OK || s->aux.qdcount != 1 ||
      mf_dns_answer_extract(s->out, len, &s->aux, &s->answer) != MF_DNS_OK)
    return 0;
  dns_server_install_routes(s, pol, &s->aux.qname, now);
  return s->answer.n_addrs;
}

/* A cached answer for q in s->out, cut to limit bytes (a UDP client's
 * size; a TCP client takes any). */
static bool answer_from_cache(mf_dns_server_t *s, const mf_dns_msg_t *q,
                              uint64_t now, size_t limit, size_t *out_len)
{
  size_t len;
  mf_dns_cache_hit_t hit;
  if (!s->cache || mf_dns_cache_lookup(s->cache, q, now, s->out, sizeof(s->out),
                                       &len, &hit) != MF_DNS_CACHE_HIT)
    return false;
  dns_policy_t pol;
  dns_server_policy_for_set(s, hit.set_tag == DNS_NO_TAG ? MF_APPROUTE_NONE
                                                         : hit.set_tag,
                            &pol);
  uint16_t n_addrs = routes_from_cached(s, len, &pol, now);
  if (q->edns) {
    size_t with_opt = mf_dns_add_opt(s->out, len, sizeof(s->out),
                                     MF_DNS_EDNS_UDP_SIZE, q->edns_do);
    if (with_opt)
      len = with_opt;
  }
  len = mf_dns_truncate(s->out, len, limit);
  s->st.cache_answers++;
  dns_server_log(s, &q->qname, q->qtype, &pol, hit.upstream_tag,
                 len >= 4 ? s->out[3] & 0xf : 0, n_addrs, DNS_VIA_CACHE,
                 len >= 4 && (s->out[2] & 0x02), now, now);
  *out_len = len;
  return true;
}

static size_t answer_blocked(mf_dns_server_t *s, const mf_dns_msg_t *q)
{
  mf_dns_addr_t none[2] = {{.family = AF_INET}, {.family = AF_INET6}};
  s->st.blocked++;
  return mf_dns_build_addrs(q, none, 2, s->cfg.block_ttl, s->out, sizeof(s->out));
}

static void fill_pending(mf_dns_server_t *s, dns_pending_t *p,
                         const mf_dns_msg_t *q, const dns_request_t *d,
                         const dns_policy_t *pol, uint64_t now)
{
  p->family = d->family;
  memcpy(p->app_addr, d->src, 16);
  memcpy(p->local_addr, d->dst, 16);
  p->app_port = d->sport;
  p->app_id = q->id;
  p->app_flags = q->flags;
  p->qname = q->qname;
  p->qtype = q->qtype;
  p->qclass = q->qclass;
  p->edns = q->edns;
  p->edns_do = q->edns_do;
  p->edns_udp_size = q->edns_udp_size;
  p->policy = *pol;
  p->start_ns = now;
  p->try_index = 0;
  p->conn = d->conn;
  p->gen = d->gen;
  if (d->conn != DNS_NONE)
    dns_tcp_query_begun(s, d->conn);
}

/* Decides for the query in d: everything but the transport. */
static dns_verdict_t decide(mf_dns_server_t *s, const dns_request_t *d,
                            uint64_t now)
{
  mf_dns_msg_t *q = &s->msg;
  mf_dns_err_t err = mf_dns_parse(d->payload, d->len, q);
  if (err != MF_DNS_OK)
    return on_malformed(s, d, err);
  if (mf_dns_is_response(q))
    return drop(DNS_INPUT_ERROR_NOT_A_QUERY);
  s->st.queries++;
  size_t len;
  if (MF_DNS_OPCODE(q->flags) != MF_DNS_OPCODE_QUERY) {
    s->st.notimp++;
    dns_server_log(s, &q->qname, q->qtype, NULL, DNS_NO_TAG,
                   MF_DNS_RCODE_NOTIMP, 0, DNS_VIA_LOCAL, false, now, now);
    return answer(mf_dns_build_rcode(q, MF_DNS_RCODE_NOTIMP, s->out, sizeof(s->out)));
  }
  if (mf_dns_name_equal(&q->qname, &canary)) {
    s->st.canary++;
    dns_server_log(s, &q->qname, q->qtype, NULL, DNS_NO_TAG,
                   MF_DNS_RCODE_NXDOMAIN, 0, DNS_VIA_CANARY, false, now, now);
    return answer(mf_dns_build_nxdomain(q, s->cfg.block_ttl, s->out, sizeof(s->out)));
  }
  if (dns_server_answer_no_ipv6(s, q, now, &len))
    return answer(len);
  size_t limit = d->conn != DNS_NONE ? MF_DNS_MSG_MAX
                                     : mf_dns_udp_limit(q, MF_DNS_EDNS_UDP_SIZE);
  if (answer_from_cache(s, q, now, limit, &len))
    return answer(len);
  dns_policy_t pol;
  dns_server_policy(s, &q->qname, &pol);
  if (pol.blocked && s->ar->block_answer) {
    len = answer_blocked(s, q);
    dns_server_log(s, &q->qname, q->qtype, &pol, DNS_NO_TAG,
                   MF_DNS_RCODE_NOERROR, 0, DNS_VIA_BLOCK, false, now, now);
    return answer(len);
  }
  uint32_t slot = dns_server_acquire(s);
  if (slot == DNS_NONE)
    return drop(DNS_INPUT_ERROR_PENDING_FULL);
  fill_pending(s, &s->pending[slot], q, d, &pol, now);
  return (dns_verdict_t){.what = DNS_DO_FORWARD, .slot = slot};
}

/* The group of the query in slot has no upstream we can ask: the slot is
 * given back and the answer is a SERVFAIL, in s->out. A VPN set with no
 * VPN DNS server must not fall back to direct ones: the name would leak
 * outside the tunnel. */
static size_t no_upstream(mf_dns_server_t *s, uint32_t slot, uint64_t now)
{
  const mf_dns_msg_t *q = &s->msg;
  dns_policy_t pol = s->pending[slot].policy;
  dns_server_release(s, slot);
  s->st.no_upstream++;
  dns_server_log(s, &q->qname, q->qtype, &pol, DNS_NO_TAG,
                 MF_DNS_RCODE_SERVFAIL, 0, DNS_VIA_NO_UPSTREAM, false, now, now);
  return mf_dns_build_rcode(q, MF_DNS_RCODE_SERVFAIL, s->out, sizeof(s->out));
}

static uint16_t on_query(mf_vm_t *vm, mf_node_rt_t *node, mf_dns_server_t *s,
                         mf_buffer_t *b, const dns_request_t *d)
{
  if (b->rx_if != MF_IF_TUN_INDEX)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_NOT_FROM_TUN);
  dns_verdict_t v = decide(s, d, vm->now_ns);
  if (v.what == DNS_DO_DROP)
    return mf_graph_drop(node, b, v.code);
  if (v.what == DNS_DO_ANSWER) {
    if (v.code != DNS_NONE && v.len)
      count(vm, node, v.code);
    return reply(s, node, b, d, v.len);
  }
  /* The buffer becomes the query to the upstream. */
  uint32_t next = dns_server_send_try(s, v.slot, 0, b, vm->now_ns);
  if (next != DNS_NONE) {
    s->st.forwarded++;
    return (uint16_t)next;
  }
  return reply(s, node, b, d, no_upstream(s, v.slot, vm->now_ns));
}

/* A TCP client's query to forward: in a buffer of its own, injected into
 * ip4-lookup / ip6-lookup. Returns the length of an answer left in s->out
 * instead (SERVFAIL), or 0 when the query went. */
static size_t forward_for_tcp(mf_dns_server_t *s, uint32_t slot, uint64_t now)
{
  mf_vm_t *vm = s->vm;
  uint32_t bi;
  if (mf_buffer_alloc(&vm->pool, &bi, 1) != 1) {
    s->st.no_buffer++;
    dns_server_release(s, slot);
    s->st.servfail++;
    return mf_dns_build_rcode(&s->msg, MF_DNS_RCODE_SERVFAIL, s->out,
                              sizeof(s->out));
  }
  uint32_t next = dns_server_send_try(s, slot, 0,
                                      mf_buffer_get(&vm->pool, bi), now);
  if (next == DNS_NONE) {
    mf_buffer_free(&vm->pool, &bi, 1);
    return no_upstream(s, slot, now);
  }
  s->st.forwarded++;
  mf_graph_inject(vm, next == DNS_INPUT_NEXT_IP4_LOOKUP ? s->ip4_lookup
                                                        : s->ip6_lookup,
                  &bi, 1);
  return 0;
}

void dns_input_tcp_query(mf_dns_server_t *s, uint32_t conn, const uint8_t *msg,
                         size_t len)
{
  const dns_tcp_conn_t *c = &s->tcp.conns[conn];
  dns_request_t d = {.family = c->family, .sport = c->app_port,
                     .dport = htons(MF_DNS_SERVER_PORT), .conn = conn,
                     .gen = c->gen, .payload = msg, .len = len};
  memcpy(d.src, c->app_addr, 16);
  memcpy(d.dst, c->local_addr, 16);
  s->st.tcp_queries++;
  uint64_t now = s->vm->now_ns;
  dns_verdict_t v = decide(s, &d, now);
  size_t out_len = 0;
  switch (v.what) {
  case DNS_DO_DROP:
    dns_server_count(s, v.code);
    /* A TCP client does not retry a lost query as a UDP one does: a full
     * table gets it a SERVFAIL rather than silence. */
    if (v.code != DNS_INPUT_ERROR_PENDING_FULL)
      return;
    s->st.servfail++;
    out_len = mf_dns_build_rcode(&s->msg, MF_DNS_RCODE_SERVFAIL, s->out,
                                 sizeof(s->out));
    break;
  case DNS_DO_ANSWER:
    if (v.code != DNS_NONE && v.len)
      dns_server_count(s, v.code);
    out_len = v.len;
    break;
  case DNS_DO_FORWARD:
    out_len = forward_for_tcp(s, v.slot, now);
    if (out_len == 0)
      return;
    break;
  }
  if (out_len == 0) {
    dns_server_count(s, DNS_INPUT_ERROR_NO_ROOM);
    return;
  }
  dns_tcp_send(s, d.conn, d.gen, s->out, out_len);
}

/* The pending slot an answer belongs to, or DNS_NONE: the port names the
 * slot, and the sender must be the upstream that slot asked. */
static uint32_t match_slot(const mf_dns_server_t *s, const dns_request_t *d)
{
  uint32_t port = ntohs(d->dport);
  if (!mf_dns_server_forward_port(port))
    return DNS_NONE;
  uint32_t slot = port - MF_DNS_SERVER_SPORT_BASE;
  if (slot >= s->cfg.max_pending || !s->pending[slot].family)
    return DNS_NONE;
  const dns_pending_t *p = &s->pending[slot];
  uint32_t n;
  const mf_dns_upstream_t *ups = dns_server_upstreams(s, p->policy.group, &n);
  if (p->try_index >= n)
    return DNS_NONE;
  const mf_dns_upstream_t *u = &ups[p->try_index];
  if (u->family != d->family || htons(u->port) != d->sport ||
      memcmp(u->addr, d->src, d->family == AF_INET ? 4 : 16) != 0)
    return DNS_NONE;
  return slot;
}

static bool upstream_failed(const mf_dns_msg_t *m)
{
  return m->qdcount == 0 || m->rcode == MF_DNS_RCODE_SERVFAIL ||
         m->rcode == MF_DNS_RCODE_REFUSED || m->rcode == MF_DNS_RCODE_NOTIMP ||
         m->rcode == MF_DNS_RCODE_FORMERR;
}

/* The upstream's answer m (from d) rewritten for the app of p into
 * s->out: header, question, answer and authority (the OPT record was for
 * our hop, RFC 6891 7), the app's ID, RD and CD, our OPT when the app
 * sent one, cut to the app's size. 0 when it does not build. */
static size_t relay_for_app(mf_dns_server_t *s, const dns_pending_t *p,
                            const mf_dns_msg_t *m, const dns_request_t *d)
{
  size_t len = mf_dns_build_copy(d->payload, d->len, m, (unsigned)m->an + m->ns,
                                 s->out, sizeof(s->out));
  if (len < MF_DNS_HEADER_LEN)
    return 0;
  mf_dns_set_id(s->out, len, p->app_id);
  uint16_t keep = MF_DNS_FLAG_RD | MF_DNS_FLAG_CD;
  uint16_t flags = (uint16_t)((m->flags & ~keep) | (p->app_flags & keep));
  mf_dns_put16(s->out + 2, flags);
  if (p->edns) {
    size_t with_opt = mf_dns_add_opt(s->out, len, sizeof(s->out),
                                     MF_DNS_EDNS_UDP_SIZE, p->edns_do);
    if (with_opt)
      len = with_opt;
  }
  return mf_dns_truncate(s->out, len, dns_pending_limit(p));
}

static uint16_t answer_app(mf_dns_server_t *s, mf_node_rt_t *node,
                           uint32_t slot, mf_buffer_t *b, size_t len,
                           uint16_t rcode, uint16_t n_addrs, dns_via_t via,
                           uint64_t now)
{
  dns_pending_t *p = &s->pending[slot];
  bool tc = len >= 4 && (s->out[2] & 0x02);
  dns_server_log(s, &p->qname, p->qtype, &p->policy,
                 dns_upstream_tag(p->policy.group, p->try_index), rcode,
                 n_addrs, via, tc, p->start_ns, now);
  if (p->conn != DNS_NONE) {
    /* Written to the client's connection: the buffer's work is done. */
    dns_tcp_send(s, p->conn, p->gen, s->out, len);
    dns_server_release(s, slot);
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_TO_TCP);
  }
  bool ok = dns_server_emit_to_app(s, p, b, len);
  dns_server_release(s, slot);
  if (!ok)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_NO_ROOM);
  return DNS_INPUT_NEXT_TUN_OUTPUT;
}

static uint16_t servfail_app(mf_dns_server_t *s, mf_node_rt_t *node,
                             uint32_t slot, mf_buffer_t *b, uint64_t now)
{
  size_t len = mf_dns_build_rcode(dns_server_pending_query(s, &s->pending[slot]),
                                  MF_DNS_RCODE_SERVFAIL, s->out, sizeof(s->out));
  s->st.servfail++;
  return answer_app(s, node, slot, b, len, MF_DNS_RCODE_SERVFAIL, 0,
                    DNS_VIA_UPSTREAM, now);
}

static uint16_t settle(mf_dns_server_t *s, mf_node_rt_t *node, uint32_t slot,
                       mf_buffer_t *b, const dns_request_t *d,
                       const mf_dns_msg_t *m, bool may_retry, uint64_t now);

/* The question of answer m is the one p asked (a message without one is
 * judged by its rcode). */
static bool same_question(const mf_dns_msg_t *m, const dns_pending_t *p)
{
  return m->qdcount != 1 ||
         (mf_dns_name_equal(&m->qname, &p->qname) && m->qtype == p->qtype &&
          m->qclass == p->qclass);
}

static uint16_t on_answer(mf_vm_t *vm, mf_node_rt_t *node, mf_dns_server_t *s,
                          mf_buffer_t *b, const dns_request_t *d)
{
  uint32_t slot = match_slot(s, d);
  if (slot == DNS_NONE)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_UNMATCHED_ANSWER);
  dns_pending_t *p = &s->pending[slot];
  mf_dns_msg_t *m = &s->msg;
  /* A bad or foreign answer leaves the query waiting: a spoofer must not
   * be able to end it early. */
  if (mf_dns_parse(d->payload, d->len, m) != MF_DNS_OK)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_BAD_ANSWER);
  if (!mf_dns_is_response(m) || m->id != p->up_id)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_UNMATCHED_ANSWER);
  if (!same_question(m, p))
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_ANSWER_MISMATCH);
  return settle(s, node, slot, b, d, m, true, vm->now_ns);
}

/* The answer m, read from d, matched to slot: fails over, retries a
 * truncated one over TCP for a TCP client (when may_retry), else installs
 * its routes, caches it and relays it. b is the buffer to reuse; returns
 * its arc. */
static uint16_t settle(mf_dns_server_t *s, mf_node_rt_t *node, uint32_t slot,
                       mf_buffer_t *b, const dns_request_t *d,
                       const mf_dns_msg_t *m, bool may_retry, uint64_t now)
{
  dns_pending_t *p = &s->pending[slot];
  if (upstream_failed(m)) {
    if (now < p->start_ns + s->cfg.total_timeout_ms * 1000000ull) {
      uint32_t next = dns_server_send_try(s, slot, p->try_index + 1u, b, now);
      if (next != DNS_NONE) {
        s->st.failovers++;
        return (uint16_t)next;
      }
    }
    if (m->qdcount == 0)
      return servfail_app(s, node, slot, b, now);
  }
  if (may_retry && mf_dns_is_truncated(m) && p->conn != DNS_NONE &&
      dns_tcp_up_start(s, slot, d->payload, d->len))
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_TO_TCP_UPSTREAM);
  uint16_t n_addrs = 0;
  if (m->rcode == MF_DNS_RCODE_NOERROR &&
      mf_dns_answer_extract(d->payload, d->len, m, &s->answer) == MF_DNS_OK) {
    n_addrs = s->answer.n_addrs;
    dns_server_install_routes(s, &p->policy, &p->qname, now);
  }
  uint16_t up_tag = dns_upstream_tag(p->policy.group, p->try_index);
  if (s->cache)
    mf_dns_cache_insert(s->cache, d->payload, d->len, m,
                        (uint16_t)(p->policy.set < DNS_NO_TAG ? p->policy.set
                                                              : DNS_NO_TAG),
                        up_tag, now);
  size_t len = relay_for_app(s, p, m, d);
  if (len == 0)
    return servfail_app(s, node, slot, b, now);
  s->st.answered++;
  if (s->out[2] & 0x02) {
    s->st.truncated++;
    if (p->conn != DNS_NONE)
      s->st.tcp_truncated++;
  }
  return answer_app(s, node, slot, b, len, m->rcode, n_addrs,
                    DNS_VIA_UPSTREAM, now);
}

/* The TCP retry's answer, checked as a UDP one is (ID, question); one
 * that does not pass counts as the retry's failure. */
static bool tcp_up_answer_ok(mf_dns_server_t *s, const dns_pending_t *p,
                             const uint8_t *msg, size_t len)
{
  mf_dns_msg_t *m = &s->msg;
  if (!msg)
    return false;
  if (mf_dns_parse(msg, len, m) != MF_DNS_OK) {
    dns_server_count(s, DNS_INPUT_ERROR_BAD_ANSWER);
    return false;
  }
  if (!mf_dns_is_response(m) || m->id != p->up_id) {
    dns_server_count(s, DNS_INPUT_ERROR_UNMATCHED_ANSWER);
    return false;
  }
  if (!same_question(m, p)) {
    dns_server_count(s, DNS_INPUT_ERROR_ANSWER_MISMATCH);
    return false;
  }
  return true;
}

void dns_input_tcp_up_done(mf_dns_server_t *s, uint32_t slot,
                           const uint8_t *msg, size_t len,
                           const uint8_t *kept, size_t kept_len)
{
  dns_pending_t *p = &s->pending[slot];
  if (!p->family)
    return;
  if (tcp_up_answer_ok(s, p, msg, len)) {
    s->st.tcp_up_answers++;
  } else {
    s->st.tcp_up_failures++;
    msg = kept; /* parsed and matched once already */
    len = kept_len;
    if (mf_dns_parse(msg, len, &s->msg) != MF_DNS_OK)
      len = 0;
  }
  mf_vm_t *vm = s->vm;
  mf_node_rt_t *node = &vm->nodes[s->node_index];
  uint32_t bi;
  if (len == 0 || mf_buffer_alloc(&vm->pool, &bi, 1) != 1) {
    if (len)
      s->st.no_buffer++;
    size_t n = mf_dns_build_rcode(dns_server_pending_query(s, p),
                                  MF_DNS_RCODE_SERVFAIL, s->out, sizeof(s->out));
    if (n && dns_tcp_send(s, p->conn, p->gen, s->out, n))
      s->st.servfail++;
    dns_server_release(s, slot);
    return;
  }
  dns_request_t d = {.family = p->up_family, .conn = p->conn, .gen = p->gen,
                     .payload = msg, .len = len};
  mf_buffer_t *b = mf_buffer_get(&vm->pool, bi);
  uint16_t next = settle(s, node, slot, b, &d, &s->msg, false, vm->now_ns);
  mf_graph_inject(vm, node->next_node[next], &bi, 1);
}

static uint16_t dns_input_one(mf_vm_t *vm, mf_node_rt_t *node,
                              mf_dns_server_t *s, mf_buffer_t *b)
{
  if (!s)
    return mf_graph_drop(node, b, DNS_INPUT_ERROR_NO_SERVER);
  dns_request_t d;
  int err = read_dgram(b, &d);
  if (err >= 0)
    return mf_graph_drop(node, b, (uint32_t)err);
  if (ntohs(d.dport) == MF_DNS_SERVER_PORT)
    return on_query(vm, node, s, b, &d);
  return on_answer(vm, node, s, b, &d);
}

static uint32_t dns_input_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = dns_input_one(vm, node, node->ctx,
                             mf_buffer_get(&vm->pool, buffers[i]));
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_dns_input_node = {
    .name = "dns-input",
    .fn = dns_input_fn,
    .n_next = DNS_INPUT_N_NEXT,
    .next_nodes = {[DNS_INPUT_NEXT_DROP] = "error-drop",
                   [DNS_INPUT_NEXT_TUN_OUTPUT] = "tun-output",
                   [DNS_INPUT_NEXT_IP4_LOOKUP] = "ip4-lookup",
                   [DNS_INPUT_NEXT_IP6_LOOKUP] = "ip6-lookup"},
    .n_errors = DNS_INPUT_N_ERROR,
    .errors = dns_input_errors,
};
