/* The DNS server takes a new App Routing policy (`mintflow reload`):
 * nothing it keeps may still point into, or be numbered by, the old one.
 *
 *   queries upstream  answered SERVFAIL now: their upstream group and set
 *                     were the old policy's, and an answer would be
 *                     matched against the new upstream list. The app asks
 *                     again (RFC 1035 7.2: a resolver retries) and gets
 *                     the new policy.
 *   cache             emptied: its answers were chosen by the old groups.
 *   host routes       re-homed: each address goes where the name it was
 *                     learned for is routed now (the name is read from the
 *                     cache before it is emptied; when the cache no longer
 *                     has it, the route follows its set by name), or is
 *                     removed when that set is gone or unrouted.
 *   query log         set numbers renumbered by name.
 *   settings          dns.host_route_grace now; dns.max_host_routes by a
 *                     new table of the new size. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/dataplane.h"
#include "dns/dns_server_internal.h"

/* Addresses read from the cache: at most this many are indexed (24 bytes
 * each); routes beyond them follow their set by name. */
#define NAME_INDEX_MAX (1u << 16)

/* One address of a cached answer, with the set its name is in now. */
typedef struct {
  uint8_t family;
  uint8_t addr[16];
  uint32_t set; /* under the new policy; MF_APPROUTE_NONE: none */
} indexed_addr_t;

typedef struct {
  mf_dns_server_t *s;
  const mf_approute_t *old, *now;
  indexed_addr_t *idx;
  uint32_t n, cap;
} rehome_t;

static int addr_cmp(const void *a, const void *b)
{
  const indexed_addr_t *x = a, *y = b;
  if (x->family != y->family)
    return x->family < y->family ? -1 : 1;
  return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static void index_add(rehome_t *r, const mf_dns_addr_t *a, uint32_t set)
{
  if (r->n == r->cap) {
    uint32_t cap = r->cap ? r->cap * 2 : 256;
    if (cap > NAME_INDEX_MAX)
      return;
    indexed_addr_t *grown = realloc(r->idx, cap * sizeof(*grown));
    if (!grown)
      return; /* those routes follow their set by name */
    r->idx = grown;
    r->cap = cap;
  }
  indexed_addr_t *e = &r->idx[r->n++];
  memset(e, 0, sizeof(*e));
  e->family = a->family;
  memcpy(e->addr, a->addr, a->family == AF_INET ? 4 : 16);
  e->set = set;
}

/* Every address the cache holds for a name that matched a set: only those
 * can have host routes. */
static void index_cache(rehome_t *r, uint64_t now_ns)
{
  mf_dns_server_t *s = r->s;
  mf_dns_cache_info_t info;
  uint32_t cursor = 0;
  size_t len;
  char text[MF_DNS_NAME_TEXT_SIZE];
  while (s->cache &&
         mf_dns_cache_next(s->cache, &cursor, now_ns, &info, s->out,
                           sizeof(s->out), &len)) {
    if (info.set_tag == DNS_NO_TAG || len == 0 ||
        mf_dns_parse(s->out, len, &s->aux) != MF_DNS_OK ||
        mf_dns_answer_extract(s->out, len, &s->aux, &s->answer) != MF_DNS_OK)
      continue;
    int tl = mf_dns_name_to_text(&info.name, text, sizeof(text));
    if (tl <= 0)
      continue;
    uint32_t set = mf_dns_rehome_set(r->old, r->now, info.set_tag, text,
                                     (size_t)tl);
    uint32_t n = s->answer.n_addrs < MF_DNS_MAX_ADDRS ? s->answer.n_addrs
                                                      : MF_DNS_MAX_ADDRS;
    for (uint32_t i = 0; i < n; i++)
      index_add(r, &s->answer.addrs[i], set);
  }
  if (r->n)
    qsort(r->idx, r->n, sizeof(*r->idx), addr_cmp);
}

static bool is_upstream(const mf_approute_t *a, uint8_t family,
                        const uint8_t *addr)
{
  const mf_dns_upstream_t *lists[] = {a->vpn, a->direct, a->system};
  const uint32_t counts[] = {a->n_vpn, a->n_direct, a->n_system};
  for (unsigned l = 0; l < 3; l++)
    for (uint32_t i = 0; i < counts[l] && i < MF_APPROUTE_MAX_UPSTREAMS; i++)
      if (lists[l][i].family == family &&
          memcmp(lists[l][i].addr, addr, family == AF_INET ? 4 : 16) == 0)
        return true;
  return false;
}

/* The set a claim belongs to now: that of the name it was made for when
 * the claim kept the whole name; else, for the winner, that of the
 * cached answer's name; else the set of the same name. */
static uint32_t new_set(const rehome_t *r, const mf_dns_route_info_t *route,
                        const mf_dns_claim_info_t *claim)
{
  size_t len = strnlen(claim->name, sizeof(claim->name));
  if (len > 0 && len + 1 < sizeof(claim->name))
    return mf_dns_rehome_set(r->old, r->now, claim->set, claim->name, len);
  if (claim == &route->claims[0] && r->n) {
    indexed_addr_t key = {.family = route->family};
    memcpy(key.addr, route->addr, sizeof(key.addr));
    const indexed_addr_t *hit =
        bsearch(&key, r->idx, r->n, sizeof(*r->idx), addr_cmp);
    if (hit)
      return hit->set;
  }
  return mf_dns_rehome_set(r->old, r->now, claim->set, NULL, 0);
}

static bool decide(void *ctx, const mf_dns_route_info_t *route,
                   const mf_dns_claim_info_t *claim, mf_dns_claim_t *out)
{
  rehome_t *r = ctx;
  uint32_t k = new_set(r, route, claim);
  /* A new upstream's address must stay where the profile routes it. */
  if (k >= r->now->n_sets || is_upstream(r->now, route->family, route->addr))
    return false;
  uint32_t itf = r->now->sets[k].iface;
  if (itf == MF_APPROUTE_NONE ||
      (uint64_t)itf + MF_IF_FIRST_PROFILE >= r->s->vm->n_ifs)
    return false;
  out->adj = itf + MF_IF_FIRST_PROFILE;
  out->set = (uint16_t)(k < DNS_NO_TAG ? k : DNS_NO_TAG);
  out->rank = r->now->sets[k].rank;
  return true;
}

static uint32_t servfail_pending(mf_dns_server_t *s, uint64_t now_ns)
{
  uint32_t n = 0;
  for (uint32_t slot = 0; slot < s->cfg.max_pending; slot++) {
    dns_pending_t *p = &s->pending[slot];
    if (!p->family)
      continue;
    uint32_t bi;
    if (mf_buffer_alloc(&s->vm->pool, &bi, 1) == 1) {
      mf_buffer_t *b = mf_buffer_get(&s->vm->pool, bi);
      size_t len = mf_dns_build_rcode(dns_server_pending_query(s, p),
                                      MF_DNS_RCODE_SERVFAIL, s->out,
                                      sizeof(s->out));
      if (len && dns_server_emit_to_app(s, p, b, len)) {
        mf_graph_inject(s->vm, s->tun_output, &bi, 1);
        s->st.servfail++;
        n++;
      } else {
        mf_buffer_free(&s->vm->pool, &bi, 1);
      }
    } else {
      s->st.no_buffer++; /* the app's own retry asks again */
    }
    dns_server_log(s, &p->qname, p->qtype, &p->policy, DNS_NO_TAG,
                   MF_DNS_RCODE_SERVFAIL, 0, DNS_VIA_LOCAL, false, p->start_ns,
                   now_ns);
    dns_server_release(s, slot);
  }
  return n;
}

static void renumber_log(mf_dns_server_t *s, const mf_approute_t *old)
{
  for (uint32_t i = 0; i < s->log_count && i < s->cfg.log_entries; i++) {
    dns_log_entry_t *e = &s->log[i];
    if (e->set != DNS_NONE)
      e->set = e->set < old->n_sets
                   ? mf_approute_find_set(s->ar, old->sets[e->set].name)
                   : DNS_NONE;
  }
}

/* dns.max_host_routes: a table of the new size when it changed and memory
 * allows, else the one in use (0, the server's default: kept). */
static mf_dns_routes_t *routes_for(mf_dns_server_t *s, uint32_t max,
                                   uint64_t now_ns)
{
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(s->routes, &rs);
  if (max == 0 || max == rs.max)
    return s->routes;
  mf_dns_routes_t *t = mf_dns_routes_create(s->vm->fib, max,
                                            s->cfg.route_priority, now_ns);
  if (!t) {
    mf_log_warn("dns: max_host_routes stays %u: no memory for %u", rs.max, max);
    return s->routes;
  }
  mf_dns_routes_set_in_use(t, dns_server_routes_in_use, s);
  return t;
}

void mf_dns_server_set_policy(mf_dns_server_t *s, const mf_approute_t *ar,
                              uint64_t now_ns, mf_dns_policy_change_t *ch)
{
  memset(ch, 0, sizeof(*ch));
  rehome_t r = {.s = s, .old = s->ar, .now = ar};
  ch->servfail = servfail_pending(s, now_ns);
  index_cache(&r, now_ns);
  if (s->cache) {
    mf_dns_cache_stats_t cs;
    mf_dns_cache_stats(s->cache, &cs);
    ch->cache_flushed = cs.entries;
    mf_dns_cache_flush(s->cache);
  }
  s->ar = ar;
  s->grace_s = ar->host_route_grace_s;
  mf_dns_routes_t *to = routes_for(s, ar->max_host_routes, now_ns);
  if (mf_dns_routes_rehome(s->routes, to, decide, &r, &ch->routes) < 0)
    mf_log_warn("dns: no memory to re-home host routes: all removed");
  if (to != s->routes) {
    mf_dns_routes_destroy(s->routes); /* empty now: the FIB keeps `to`'s */
    s->routes = to;
  }
  renumber_log(s, r.old);
  free(r.idx);
}
