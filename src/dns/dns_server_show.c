/* The DNS server as the control commands print it: `show dns`, `show dns
 * cache`, `show dns log`, `show dns routes`, `dns flush`. Control path
 * only; runs on the worker's thread between packets. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_server_internal.h"

#define MAX_ADDRS_SHOWN 4

static const char *type_name(uint16_t t, char *buf, size_t size)
{
  switch (t) {
  case MF_DNS_TYPE_A: return "A";
  case MF_DNS_TYPE_NS: return "NS";
  case MF_DNS_TYPE_CNAME: return "CNAME";
  case MF_DNS_TYPE_SOA: return "SOA";
  case MF_DNS_TYPE_PTR: return "PTR";
  case MF_DNS_TYPE_MX: return "MX";
  case MF_DNS_TYPE_TXT: return "TXT";
  case MF_DNS_TYPE_AAAA: return "AAAA";
  case MF_DNS_TYPE_HTTPS: return "HTTPS";
  case MF_DNS_TYPE_ANY: return "ANY";
  default:
    snprintf(buf, size, "TYPE%u", t); /* RFC 3597 5 */
    return buf;
  }
}

static const char *rcode_name(uint16_t r, char *buf, size_t size)
{
  static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL",
                                      "NXDOMAIN", "NOTIMP", "REFUSED"};
  if (r < sizeof(names) / sizeof(names[0]))
    return names[r];
  snprintf(buf, size, "RCODE%u", r);
  return buf;
}

static const char *set_name(const mf_dns_server_t *s, uint32_t set)
{
  return set < s->ar->n_sets ? s->ar->sets[set].name : "-";
}

static const char *iface_name(const mf_dns_server_t *s, uint32_t itf)
{
  return itf < s->vm->n_ifs ? s->vm->ifs[itf].name : "-";
}

static void format_addr(uint8_t family, const uint8_t *addr, char *buf,
                        size_t size)
{
  if (!inet_ntop(family, addr, buf, (socklen_t)size))
    snprintf(buf, size, "?");
}

static const char *upstream_text(const mf_dns_server_t *s, uint16_t tag,
                                 char *buf, size_t size)
{
  if (tag == DNS_NO_TAG)
    return "-";
  uint32_t n;
  uint8_t group = (uint8_t)(tag / MF_APPROUTE_MAX_UPSTREAMS);
  uint32_t i = tag % MF_APPROUTE_MAX_UPSTREAMS;
  const mf_dns_upstream_t *ups = dns_server_upstreams(s, group, &n);
  if (group > MF_DNS_GROUP_VPN || i >= n)
    return "?";
  char a[INET6_ADDRSTRLEN];
  format_addr(ups[i].family, ups[i].addr, a, sizeof(a));
  snprintf(buf, size, ups[i].family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
           ups[i].port);
  return buf;
}

static void name_text(const mf_dns_name_t *n, char *buf, size_t size)
{
  if (mf_dns_name_to_text(n, buf, size) < 0)
    snprintf(buf, size, "?");
}

int mf_dns_server_show_stats(const mf_dns_server_t *s, mf_out_t *out)
{
  const mf_dns_server_stats_t *st = &s->st;
  mf_out_printf(out, "pending: %u of %u (try %u ms, at most %u ms)\n",
                st->pending, s->cfg.max_pending, s->cfg.try_timeout_ms,
                s->cfg.total_timeout_ms);
  mf_out_printf(out,
                "queries: %" PRIu64 "\ncache-answers: %" PRIu64
                "\nforwarded: %" PRIu64 "\nanswered: %" PRIu64
                "\ntruncated: %" PRIu64 "\nfailovers: %" PRIu64
                "\ntimeouts: %" PRIu64 "\nservfail: %" PRIu64
                "\nno-upstream: %" PRIu64 "\nblocked: %" PRIu64
                "\ncanary: %" PRIu64 "\nformerr: %" PRIu64 "\nnotimp: %" PRIu64
                "\nmalformed: %" PRIu64 "\nno-buffer: %" PRIu64 "\n",
                st->queries, st->cache_answers, st->forwarded, st->answered,
                st->truncated, st->failovers, st->timeouts, st->servfail,
                st->no_upstream, st->blocked, st->canary, st->formerr,
                st->notimp, st->malformed, st->no_buffer);
  mf_out_printf(out,
                "tcp-open: %u of %u (idle close after %u ms)\ntcp-accepted: %" PRIu64
                "\ntcp-refused: %" PRIu64 "\ntcp-queries: %" PRIu64
                "\ntcp-answers: %" PRIu64 "\ntcp-framing-errors: %" PRIu64
                "\ntcp-idle-closes: %" PRIu64 "\ntcp-answers-lost: %" PRIu64
                "\ntcp-overflows: %" PRIu64 "\ntcp-truncated: %" PRIu64 "\n",
                s->tcp.n_open, s->cfg.tcp_max_conns, s->cfg.tcp_idle_ms,
                st->tcp_accepted, st->tcp_refused, st->tcp_queries,
                st->tcp_answers, st->tcp_framing_errors, st->tcp_idle_closes,
                st->tcp_answers_lost, st->tcp_overflows, st->tcp_truncated);
  mf_out_printf(out,
                "tcp-upstream-open: %u of %u\ntcp-upstream-retries: %" PRIu64
                "\ntcp-upstream-answers: %" PRIu64
                "\ntcp-upstream-failures: %" PRIu64
                "\ntcp-upstream-full: %" PRIu64 "\n",
                s->tcp_up.n_open, s->cfg.tcp_up_max, st->tcp_up_retries,
                st->tcp_up_answers, st->tcp_up_failures, st->tcp_up_full);
  if (s->cache) {
    mf_dns_cache_stats_t cs;
    mf_dns_cache_stats(s->cache, &cs);
    mf_out_printf(out,
                  "cache: %u entries, %" PRIu64 " bytes; hits %" PRIu64
                  ", misses %" PRIu64 ", inserted %" PRIu64 ", refused %" PRIu64
                  ", expired %" PRIu64 ", evicted %" PRIu64 "\n",
                  cs.entries, cs.bytes, cs.hits, cs.misses, cs.inserted,
                  cs.refused, cs.expired, cs.evicted);
  } else {
    mf_out_printf(out, "cache: off\n");
  }
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(s->routes, &rs);
  mf_out_printf(out,
                "host-routes: %u of %u; installed %" PRIu64 ", refreshed %" PRIu64
                ", conflicts %" PRIu64 ", refused %" PRIu64 ", fib-errors %" PRIu64
                ", expired %" PRIu64 ", flushed %" PRIu64 ", skipped %" PRIu64 "\n",
                rs.live, rs.max, rs.installed, rs.refreshed, rs.conflicts,
                rs.refused, rs.fib_errors, rs.expired, rs.flushed,
                st->routes_skipped);
  mf_out_printf(out,
                "host-route-claims: %u; takeovers %" PRIu64
                ", claims-refused %" PRIu64 ", kept-in-use %" PRIu64
                " (now %u)\nno-ipv6: %" PRIu64 "\n",
                rs.claims, rs.takeovers, rs.claims_refused, rs.kept,
                rs.kept_now, st->no_ipv6);
  /* Malformed queries by reason: the node's counters of the dns_wire
   * errors (dropped ones and those answered FORMERR alike). */
  const mf_vm_t *vm = s->vm;
  uint32_t base = vm->nodes[s->node_index].error_base;
  for (uint32_t e = 1; e < MF_DNS_N_ERR; e++) {
    uint64_t c = vm->errors[base + DNS_INPUT_MALFORMED(e)];
    if (c)
      mf_out_printf(out, "malformed %s: %" PRIu64 "\n",
                    mf_dns_err_name((mf_dns_err_t)e), c);
  }
  return 0;
}

/* The addresses of a stored answer, for the cache listing. */
static void answer_addrs(const uint8_t *msg, size_t len, mf_dns_msg_t *m,
                         mf_dns_answer_t *a, char *buf, size_t size)
{
  buf[0] = 0;
  if (len == 0 || mf_dns_parse(msg, len, m) != MF_DNS_OK || m->qdcount != 1 ||
      mf_dns_answer_extract(msg, len, m, a) != MF_DNS_OK)
    return;
  size_t used = 0;
  for (uint32_t i = 0; i < a->n_addrs && i < MAX_ADDRS_SHOWN; i++) {
    char t[INET6_ADDRSTRLEN];
    format_addr(a->addrs[i].family, a->addrs[i].addr, t, sizeof(t));
    int w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", t);
    if (w < 0 || (size_t)w >= size - used)
      return;
    used += (size_t)w;
  }
  if (a->n_addrs > MAX_ADDRS_SHOWN)
    snprintf(buf + used, size - used, ",+%u", a->n_addrs - MAX_ADDRS_SHOWN);
}

int mf_dns_server_show_cache(const mf_dns_server_t *s, uint64_t now_ns,
                             mf_out_t *out)
{
  if (!s->cache) {
    mf_out_printf(out, "cache: off\n");
    return 0;
  }
  uint8_t *msg = malloc(MF_DNS_MSG_MAX);
  mf_dns_msg_t *m = malloc(sizeof(*m));
  mf_dns_answer_t *a = malloc(sizeof(*a));
  if (!msg || !m || !a) {
    mf_out_printf(out, "out of memory\n");
    goto done;
  }
  mf_out_printf(out, "%-48s %-6s %-9s %8s %-16s %-24s %s\n", "Name", "Type",
                "Kind", "TTL", "Set", "Upstream", "Addresses");
  uint32_t cursor = 0;
  mf_dns_cache_info_t info;
  size_t msg_len;
  while (mf_dns_cache_next(s->cache, &cursor, now_ns, &info, msg,
                           MF_DNS_MSG_MAX, &msg_len)) {
    char name[MF_DNS_NAME_TEXT_SIZE], t[16], up[64], addrs[256];
    name_text(&info.name, name, sizeof(name));
    answer_addrs(msg, msg_len, m, a, addrs, sizeof(addrs));
    mf_out_printf(out, "%-48s %-6s %-9s %8u %-16s %-24s %s\n", name,
                  type_name(info.qtype, t, sizeof(t)),
                  mf_dns_kind_name(info.kind), info.ttl_left,
                  set_name(s, info.set_tag),
                  upstream_text(s, info.upstream_tag, up, sizeof(up)), addrs);
  }
done:
  free(a);
  free(m);
  free(msg);
  return 0;
}

int mf_dns_server_show_log(const mf_dns_server_t *s, uint64_t now_ns,
                           mf_out_t *out)
{
  mf_out_printf(out, "%8s %-48s %-6s %-11s %-16s %-12s %-24s %-9s %7s %9s\n",
                "Age", "Name", "Type", "Via", "Set", "Interface", "Upstream",
                "Rcode", "Answers", "Ms");
  uint32_t size = s->cfg.log_entries;
  uint32_t first = (s->log_next + size - s->log_count) % size;
  for (uint32_t k = 0; k < s->log_count; k++) {
    const dns_log_entry_t *e = &s->log[(first + k) % size];
    char name[MF_DNS_NAME_TEXT_SIZE], t[16], up[64], rc[16];
    name_text(&e->name, name, sizeof(name));
    double age = now_ns > e->time_ns ? (double)(now_ns - e->time_ns) / 1e9 : 0;
    mf_out_printf(out, "%8.1f %-48s %-6s %-11s %-16s %-12s %-24s %-9s %7u %9.1f%s\n",
                  age, name, type_name(e->qtype, t, sizeof(t)),
                  dns_via_name((dns_via_t)e->via), set_name(s, e->set),
                  iface_name(s, e->iface),
                  upstream_text(s, e->upstream, up, sizeof(up)),
                  rcode_name(e->rcode, rc, sizeof(rc)), e->n_addrs,
                  (double)e->latency_us / 1e3, e->tc ? " TC" : "");
  }
  return 0;
}

/* "nflx.example (streaming)", or "(streaming)" without a name. */
static size_t claim_text(const mf_dns_server_t *s, const mf_dns_claim_info_t *c,
                         char *buf, size_t size)
{
  int w = c->name[0] ? snprintf(buf, size, "%s (%s)", c->name, set_name(s, c->set))
                     : snprintf(buf, size, "(%s)", set_name(s, c->set));
  return w < 0 ? 0 : (size_t)w >= size ? size - 1 : (size_t)w;
}

/* The winner, then " [also: ...]" with the waiting claims. */
static void claims_text(const mf_dns_server_t *s, const mf_dns_route_info_t *r,
                        char *buf, size_t size)
{
  size_t used = claim_text(s, &r->claims[0], buf, size);
  for (uint32_t k = 1; k < r->n_claims && used + 1 < size; k++) {
    int w = snprintf(buf + used, size - used, k == 1 ? " [also: " : ", ");
    if (w < 0 || (size_t)w >= size - used)
      break;
    used += (size_t)w;
    used += claim_text(s, &r->claims[k], buf + used, size - used);
  }
  if (r->n_claims > 1 && used + 1 < size)
    snprintf(buf + used, size - used, "]");
}

int mf_dns_server_show_routes(const mf_dns_server_t *s, uint64_t now_ns,
                              mf_out_t *out)
{
  mf_out_printf(out, "%-40s %-12s %-16s %10s  %s\n", "Address", "Interface",
                "Set", "Expires", "Claims");
  uint32_t cursor = 0;
  mf_dns_route_info_t r;
  while (mf_dns_routes_next(s->routes, &cursor, &r)) {
    char a[INET6_ADDRSTRLEN], claims[512];
    format_addr(r.family, r.addr, a, sizeof(a));
    claims_text(s, &r, claims, sizeof(claims));
    double left = r.expires_ns > now_ns ? (double)(r.expires_ns - now_ns) / 1e9 : 0;
    mf_out_printf(out, "%-40s %-12s %-16s %9.0fs  %s%s\n", a,
                  iface_name(s, r.adj), set_name(s, r.set), left, claims,
                  r.kept ? " (kept: in use past its TTL)" : "");
  }
  return 0;
}

bool mf_dns_server_describe_route(const mf_dns_server_t *s, uint8_t family,
                                  const uint8_t *addr, char *buf, size_t size)
{
  mf_dns_route_info_t r;
  if (size)
    buf[0] = 0;
  if (!s || size < 8 || !mf_dns_routes_get(s->routes, family, addr, &r) ||
      r.n_claims == 0)
    return false;
  memcpy(buf, "dns ", 4);
  claims_text(s, &r, buf + 4, size - 4);
  if (r.kept) {
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, " (kept: in use)");
  }
  return true;
}

int mf_dns_server_flush(mf_dns_server_t *s, bool routes, mf_out_t *out)
{
  uint32_t entries = 0;
  if (s->cache) {
    mf_dns_cache_stats_t cs;
    mf_dns_cache_stats(s->cache, &cs);
    entries = cs.entries;
    mf_dns_cache_flush(s->cache);
  }
  mf_out_printf(out, "flushed %u cache entries\n", entries);
  if (routes)
    mf_out_printf(out, "removed %u host routes\n", mf_dns_routes_flush(s->routes));
  return 0;
}
