/* DNS-learned host routes: a pool of entries named by index, a seeded
 * hash from address to entry, and one timer per entry on a hashed wheel.
 *
 * Each entry chains its claims (a second pool, also by index) in rank
 * order: the head is the winner, whose interface the FIB path holds.
 *
 * Timers:
 *   route-expired  the earliest claim's TTL plus grace has passed: expired
 *                  claims go (a winner in use stays, asked again each
 *                  MF_DNS_ROUTE_RECHECK_S), the next claim takes the path
 *                  over, and an entry left without claims leaves the FIB
 *                  and returns to the pool.
 *
 * The hash is keyed by a random seed: the addresses come from upstream
 * answers, which an attacker who controls a zone chooses, and must not be
 * able to pile into one chain. */
#include "dns/dns_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/timer_wheel.h"

#define NONE UINT32_MAX
#define TICK_US 100000u /* 100 ms: TTLs are whole seconds */
#define NS_PER_S 1000000000ull

/* A set's claim on an address; claims of one address are chained by
 * rank, the winner first. */
typedef struct {
  uint64_t expires_ns;
  uint32_t adj;
  uint32_t next; /* the next claim of the address, or the free list */
  uint16_t set, rank;
  char name[MF_DNS_ROUTE_NAME_MAX];
} claim_t;

typedef struct {
  uint8_t family; /* 0: free */
  uint8_t n_claims;
  bool kept;      /* the winner's time is up; a flow holds the route */
  uint8_t addr[16];
  uint32_t next;   /* hash chain, or the free list */
  uint32_t claims; /* the winner, then the others by rank */
  uint32_t adj;    /* the path in the FIB */
} route_t;

struct mf_dns_routes {
  mf_fib_t *fib;
  uint32_t priority;
  route_t *routes;
  uint32_t max;
  uint32_t free_head;
  claim_t *claims;
  uint32_t n_claims;    /* max plus the extra ones */
  uint32_t claim_free;
  uint32_t *buckets;
  uint32_t n_buckets; /* a power of two */
  uint64_t seed;
  mf_timer_wheel_t *wheel;
  mf_dns_routes_in_use_fn *in_use;
  void *in_use_ctx;
  mf_dns_routes_stats_t st;
};

static uint64_t us_of(uint64_t ns)
{
  return ns / 1000u;
}

/* SplitMix64's finaliser over the seeded words of the address: cheap and
 * well mixed, and without the seed the bucket of an address is unknown. */
static uint64_t mix(uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint32_t bucket_of(const mf_dns_routes_t *r, uint8_t family,
                          const uint8_t *addr)
{
  uint64_t w[2] = {0, 0};
  memcpy(w, addr, family == AF_INET ? 4 : 16);
  uint64_t h = mix(r->seed ^ family);
  h = mix(h ^ w[0]);
  h = mix(h ^ w[1]);
  return (uint32_t)h & (r->n_buckets - 1);
}

static size_t addr_len(uint8_t family)
{
  return family == AF_INET ? 4 : 16;
}

static void prefix_of(const route_t *e, mf_prefix_t *p)
{
  memset(p, 0, sizeof(*p));
  p->family = e->family;
  p->len = (uint8_t)mf_prefix_max_len(e->family);
  memcpy(p->addr, e->addr, addr_len(e->family));
}


mf_dns_routes_t *mf_dns_routes_create(mf_fib_t *fib, uint32_t max_routes,
                                      uint32_t priority, uint64_t now_ns)
{
  if (!fib || max_routes == 0 || max_routes >= (1u << 30))
    return NULL;
  mf_dns_routes_t *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->fib = fib;
  r->priority = priority;
  r->max = max_routes;
  r->n_buckets = 1;
  while (r->n_buckets < max_routes)
    r->n_buckets <<= 1;
  /* Every address holds one claim; a quarter more serve the addresses
   * that several sets claim (few: shared CDN addresses). */
  r->n_claims = max_routes + max_routes / 4 + MF_DNS_ROUTE_MAX_CLAIMS;
  r->routes = calloc(max_routes, sizeof(*r->routes));
  r->claims = calloc(r->n_claims, sizeof(*r->claims));
  r->buckets = malloc(r->n_buckets * sizeof(*r->buckets));
  r->wheel = mf_tw_create(max_routes, TICK_US, us_of(now_ns));
  if (!r->routes || !r->claims || !r->buckets || !r->wheel) {
    mf_dns_routes_destroy(r);
    return NULL;
  }
  for (uint32_t b = 0; b < r->n_buckets; b++)
    r->buckets[b] = NONE;
  for (uint32_t i = 0; i < max_routes; i++)
    r->routes[i].next = i + 1 < max_routes ? i + 1 : NONE;
  for (uint32_t i = 0; i < r->n_claims; i++)
    r->claims[i].next = i + 1 < r->n_claims ? i + 1 : NONE;
  r->free_head = 0;
  r->claim_free = 0;
  if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed))
    r->seed = (uint64_t)(uintptr_t)r ^ now_ns ^ 0x9e3779b97f4a7c15ull;
  r->st.max = max_routes;
  return r;
}

void mf_dns_routes_set_in_use(mf_dns_routes_t *r, mf_dns_routes_in_use_fn *fn,
                              void *ctx)
{
  r->in_use = fn;
  r->in_use_ctx = ctx;
}

static uint32_t find(const mf_dns_routes_t *r, uint8_t family,
                     const uint8_t *addr, uint32_t **link)
{
  uint32_t *l = &r->buckets[bucket_of(r, family, addr)];
  while (*l != NONE) {
    const route_t *e = &r->routes[*l];
    if (e->family == family && memcmp(e->addr, addr, addr_len(family)) == 0)
      break;
    l = &r->routes[*l].next;
  }
  if (link)
    *link = l;
  return *l;
}

/* ---- claims ---- */

static uint32_t claim_alloc(mf_dns_routes_t *r)
{
  uint32_t ci = r->claim_free;
  r->claim_free = r->claims[ci].next;
  r->st.claims++;
  return ci;
}

static void claim_release(mf_dns_routes_t *r, uint32_t ci)
{
  r->claims[ci].next = r->claim_free;
  r->claim_free = ci;
  r->st.claims--;
}

/* A name too long for the slot keeps its end: the zone is what tells
 * names apart in a listing. */
static void claim_name(claim_t *k, const char *name)
{
  size_t n = name ? strnlen(name, 256) : 0;
  if (n < sizeof(k->name)) {
    memcpy(k->name, name ? name : "", n);
    k->name[n] = 0;
    return;
  }
  size_t keep = sizeof(k->name) - 3;
  k->name[0] = k->name[1] = '.';
  memcpy(k->name + 2, name + n - keep, keep);
  k->name[sizeof(k->name) - 1] = 0;
}

static bool ranks_before(uint16_t rank_a, uint16_t set_a, uint16_t rank_b,
                         uint16_t set_b)
{
  return rank_a != rank_b ? rank_a < rank_b : set_a < set_b;
}

/* Room for a claim beyond an address's first, within both bounds. */
static bool extra_room(const mf_dns_routes_t *r, const route_t *e)
{
  uint32_t extra = r->st.claims - r->st.live;
  return e->n_claims < MF_DNS_ROUTE_MAX_CLAIMS &&
         extra < r->n_claims - r->max && r->claim_free != NONE;
}

static uint64_t earliest(const mf_dns_routes_t *r, const route_t *e)
{
  uint64_t t = UINT64_MAX;
  for (uint32_t ci = e->claims; ci != NONE; ci = r->claims[ci].next)
    if (r->claims[ci].expires_ns < t)
      t = r->claims[ci].expires_ns;
  return t;
}

/* Timers fire on whole seconds (TTLs are whole seconds anyway): the
 * routes due in one second share one question to the oracle, one pass
 * over the host stack's sessions, instead of one per 100 ms tick. */
static void arm_at(mf_dns_routes_t *r, uint32_t i, uint64_t when_ns)
{
  uint64_t d = us_of((when_ns + NS_PER_S - 1) / NS_PER_S * NS_PER_S);
  mf_tw_set(r->wheel, i, d ? d : 1);
}

/* A kept route's next question to the oracle, on a whole second. */
static uint64_t recheck_at(uint64_t now_ns)
{
  return (now_ns / NS_PER_S + MF_DNS_ROUTE_RECHECK_S) * NS_PER_S;
}

/* The timer after a change: a kept route waits for its recheck. */
static void rearm(mf_dns_routes_t *r, uint32_t i)
{
  if (!r->routes[i].kept)
    arm_at(r, i, earliest(r, &r->routes[i]));
}

static void unkeep(mf_dns_routes_t *r, route_t *e)
{
  if (e->kept) {
    e->kept = false;
    r->st.kept_now--;
  }
}

/* Takes entry i out of the FIB, its chain and its timer. */
static void remove_entry(mf_dns_routes_t *r, uint32_t i)
{
  route_t *e = &r->routes[i];
  uint32_t *link;
  find(r, e->family, e->addr, &link);
  if (*link == i)
    *link = e->next;
  mf_prefix_t p;
  prefix_of(e, &p);
  mf_fib_del(r->fib, &p, MF_FIB_SRC_DNS);
  mf_tw_set(r->wheel, i, 0);
  while (e->claims != NONE) {
    uint32_t ci = e->claims;
    e->claims = r->claims[ci].next;
    claim_release(r, ci);
  }
  unkeep(r, e);
  e->n_claims = 0;
  e->family = 0;
  e->next = r->free_head;
  r->free_head = i;
  r->st.live--;
}

/* Points the FIB path at the winner's interface. false when the FIB
 * refused (the route is then removed: a stale path must not stay). */
static bool follow_winner(mf_dns_routes_t *r, uint32_t i)
{
  route_t *e = &r->routes[i];
  uint32_t adj = r->claims[e->claims].adj;
  if (adj == e->adj)
    return true;
  mf_prefix_t p;
  prefix_of(e, &p);
  if (mf_fib_add(r->fib, &p, MF_FIB_SRC_DNS, r->priority, adj) < 0) {
    r->st.fib_errors++;
    remove_entry(r, i);
    return false;
  }
  e->adj = adj;
  return true;
}

static void fill_claim(claim_t *k, const mf_dns_claim_t *c)
{
  k->adj = c->adj;
  k->set = c->set;
  k->rank = c->rank;
  k->expires_ns = c->expires_ns;
  claim_name(k, c->name);
}

static mf_dns_route_result_t install(mf_dns_routes_t *r, uint8_t family,
                                     const uint8_t *addr, uint32_t *link,
                                     const mf_dns_claim_t *c)
{
  if (r->free_head == NONE || r->claim_free == NONE) {
    r->st.refused++;
    return MF_DNS_ROUTE_FULL;
  }
  uint32_t i = r->free_head;
  route_t *e = &r->routes[i];
  memset(e->addr, 0, sizeof(e->addr));
  memcpy(e->addr, addr, addr_len(family));
  e->family = family;
  mf_prefix_t p;
  prefix_of(e, &p);
  if (mf_fib_add(r->fib, &p, MF_FIB_SRC_DNS, r->priority, c->adj) < 0) {
    e->family = 0;
    r->st.fib_errors++;
    return MF_DNS_ROUTE_FIB_ERROR;
  }
  r->free_head = e->next;
  uint32_t ci = claim_alloc(r);
  fill_claim(&r->claims[ci], c);
  r->claims[ci].next = NONE;
  e->claims = ci;
  e->n_claims = 1;
  e->kept = false;
  e->adj = c->adj;
  e->next = NONE;
  *link = i;
  arm_at(r, i, c->expires_ns);
  r->st.live++;
  r->st.installed++;
  return MF_DNS_ROUTE_INSTALLED;
}

static mf_dns_route_result_t refresh(mf_dns_routes_t *r, uint32_t i,
                                     uint32_t ci, const mf_dns_claim_t *c)
{
  route_t *e = &r->routes[i];
  claim_t *k = &r->claims[ci];
  if (c->expires_ns > k->expires_ns) {
    k->expires_ns = c->expires_ns;
    if (ci == e->claims)
      unkeep(r, e); /* a fresh answer: its TTL rules again */
  }
  if (c->name)
    claim_name(k, c->name);
  r->st.refreshed++;
  if (k->adj != c->adj) {
    /* A set's interface is fixed for a server's life; follow it anyway. */
    k->adj = c->adj;
    if (ci == e->claims && !follow_winner(r, i))
      return MF_DNS_ROUTE_FIB_ERROR;
  }
  rearm(r, i);
  return MF_DNS_ROUTE_REFRESHED;
}

/* Unlinks and frees the last (lowest ranked) claim of e. */
static void drop_last(mf_dns_routes_t *r, route_t *e)
{
  uint32_t *link = &e->claims;
  while (r->claims[*link].next != NONE)
    link = &r->claims[*link].next;
  uint32_t ci = *link;
  *link = NONE;
  claim_release(r, ci);
  e->n_claims--;
}

static uint32_t last_claim(const mf_dns_routes_t *r, const route_t *e)
{
  uint32_t ci = e->claims;
  while (r->claims[ci].next != NONE)
    ci = r->claims[ci].next;
  return ci;
}

/* Another set claims a held address: it waits in rank order, or wins. */
static mf_dns_route_result_t contest(mf_dns_routes_t *r, uint32_t i,
                                     const mf_dns_claim_t *c)
{
  route_t *e = &r->routes[i];
  r->st.conflicts++;
  if (!extra_room(r, e)) {
    /* Full: the lowest ranked claim of all gives way, so that which
     * claims stay does not depend on the order they came in. */
    const claim_t *worst = &r->claims[last_claim(r, e)];
    r->st.claims_refused++;
    if (!ranks_before(c->rank, c->set, worst->rank, worst->set))
      return MF_DNS_ROUTE_CONFLICT;
    drop_last(r, e);
  }
  uint32_t ci = claim_alloc(r);
  claim_t *k = &r->claims[ci];
  fill_claim(k, c);
  uint32_t *link = &e->claims;
  while (*link != NONE &&
         ranks_before(r->claims[*link].rank, r->claims[*link].set, c->rank,
                      c->set))
    link = &r->claims[*link].next;
  k->next = *link;
  *link = ci;
  e->n_claims++;
  if (e->claims != ci) {
    rearm(r, i);
    return MF_DNS_ROUTE_CONFLICT;
  }
  unkeep(r, e);
  r->st.takeovers++;
  if (!follow_winner(r, i))
    return MF_DNS_ROUTE_FIB_ERROR;
  rearm(r, i);
  return MF_DNS_ROUTE_TAKEN;
}

mf_dns_route_result_t mf_dns_routes_claim(mf_dns_routes_t *r, uint8_t family,
                                          const uint8_t *addr,
                                          const mf_dns_claim_t *c)
{
  if (family != AF_INET && family != AF_INET6)
    return MF_DNS_ROUTE_BAD;
  uint32_t *link;
  uint32_t i = find(r, family, addr, &link);
  if (i == NONE)
    return install(r, family, addr, link, c);
  for (uint32_t ci = r->routes[i].claims; ci != NONE; ci = r->claims[ci].next)
    if (r->claims[ci].set == c->set)
      return refresh(r, i, ci, c);
  return contest(r, i, c);
}

mf_dns_route_result_t mf_dns_routes_add(mf_dns_routes_t *r, uint8_t family,
                                         const uint8_t *addr, uint32_t adj,
                                         uint16_t set, uint64_t expires_ns)
{
  mf_dns_claim_t c = {.adj = adj, .set = set, .rank = set,
                      .expires_ns = expires_ns};
  return mf_dns_routes_claim(r, family, addr, &c);
}

/* ---- route-expired ---- */

/* Drops the claims of route i whose time is up, except a winner the
 * oracle says is in use; hands the route to the next claim or removes
 * it. Returns 1 when the route went. */
static uint32_t expire_route(mf_dns_routes_t *r, uint32_t i, uint64_t now_ns,
                             bool winner_in_use)
{
  route_t *e = &r->routes[i];
  uint32_t winner = e->claims;
  uint16_t winner_set = r->claims[winner].set;
  bool keep = winner_in_use && r->claims[winner].expires_ns <= now_ns;
  uint32_t *link = &e->claims;
  while (*link != NONE) {
    uint32_t ci = *link;
    if (r->claims[ci].expires_ns > now_ns || (keep && ci == winner)) {
      link = &r->claims[ci].next;
      continue;
    }
    *link = r->claims[ci].next;
    claim_release(r, ci);
    e->n_claims--;
  }
  if (keep) {
    if (!e->kept) {
      e->kept = true;
      r->st.kept++;
      r->st.kept_now++;
    }
    arm_at(r, i, recheck_at(now_ns));
    return 0;
  }
  unkeep(r, e);
  if (e->n_claims == 0) {
    remove_entry(r, i);
    r->st.expired++;
    return 1;
  }
  if (r->claims[e->claims].set != winner_set) {
    r->st.takeovers++;
    if (!follow_winner(r, i))
      return 1;
  }
  arm_at(r, i, earliest(r, e));
  return 0;
}

/* One batch of due routes: the oracle is asked once about every winner
 * whose time is up. */
static uint32_t expire_batch(mf_dns_routes_t *r, const uint32_t *due,
                             uint32_t n, uint64_t now_ns)
{
  mf_dns_route_probe_t probes[MF_DNS_ROUTE_PROBE_BATCH];
  bool used[MF_DNS_ROUTE_PROBE_BATCH];
  uint16_t probe_of[MF_DNS_ROUTE_PROBE_BATCH];
  uint32_t m = 0, total = 0;
  for (uint32_t k = 0; k < n; k++) {
    const route_t *e = &r->routes[due[k]];
    probe_of[k] = UINT16_MAX;
    if (!e->family || !r->in_use ||
        r->claims[e->claims].expires_ns > now_ns)
      continue;
    mf_dns_route_probe_t *p = &probes[m];
    p->family = e->family;
    memcpy(p->addr, e->addr, sizeof(p->addr));
    p->adj = e->adj;
    used[m] = false;
    probe_of[k] = (uint16_t)m++;
  }
  if (m)
    r->in_use(r->in_use_ctx, probes, m, used, now_ns);
  for (uint32_t k = 0; k < n; k++)
    if (r->routes[due[k]].family)
      total += expire_route(r, due[k], now_ns,
                            probe_of[k] != UINT16_MAX && used[probe_of[k]]);
  return total;
}

uint32_t mf_dns_routes_expire(mf_dns_routes_t *r, uint64_t now_ns)
{
  uint32_t due[MF_DNS_ROUTE_PROBE_BATCH], total = 0, n;
  do {
    n = mf_tw_expire(r->wheel, us_of(now_ns), due, MF_DNS_ROUTE_PROBE_BATCH);
    total += expire_batch(r, due, n, now_ns);
  } while (n == MF_DNS_ROUTE_PROBE_BATCH);
  return total;
}

uint64_t mf_dns_routes_next_expiry(const mf_dns_routes_t *r)
{
  return mf_tw_next(r->wheel) * 1000u;
}

uint32_t mf_dns_routes_flush(mf_dns_routes_t *r)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->max; i++)
    if (r->routes[i].family) {
      remove_entry(r, i);
      n++;
    }
  r->st.flushed += n;
  return n;
}

/* ---- control output ---- */

static void fill_info(const mf_dns_routes_t *r, const route_t *e,
                      mf_dns_route_info_t *info)
{
  const claim_t *w = &r->claims[e->claims];
  info->family = e->family;
  memcpy(info->addr, e->addr, sizeof(info->addr));
  info->adj = e->adj;
  info->set = w->set;
  info->expires_ns = w->expires_ns;
  info->kept = e->kept;
  info->n_claims = 0;
  for (uint32_t ci = e->claims;
       ci != NONE && info->n_claims < MF_DNS_ROUTE_MAX_CLAIMS;
       ci = r->claims[ci].next) {
    const claim_t *k = &r->claims[ci];
    mf_dns_claim_info_t *o = &info->claims[info->n_claims++];
    o->adj = k->adj;
    o->set = k->set;
    o->rank = k->rank;
    o->expires_ns = k->expires_ns;
    memcpy(o->name, k->name, sizeof(o->name));
  }
}

bool mf_dns_routes_next(const mf_dns_routes_t *r, uint32_t *cursor,
                        mf_dns_route_info_t *info)
{
  for (uint32_t i = *cursor; i < r->max; i++) {
    const route_t *e = &r->routes[i];
    if (!e->family)
      continue;
    fill_info(r, e, info);
    *cursor = i + 1;
    return true;
  }
  *cursor = r->max;
  return false;
}

bool mf_dns_routes_get(const mf_dns_routes_t *r, uint8_t family,
                       const uint8_t *addr, mf_dns_route_info_t *info)
{
  if (family != AF_INET && family != AF_INET6)
    return false;
  uint32_t i = find(r, family, addr, NULL);
  if (i == NONE)
    return false;
  fill_info(r, &r->routes[i], info);
  return true;
}

void mf_dns_routes_stats(const mf_dns_routes_t *r, mf_dns_routes_stats_t *st)
{
  *st = r->st;
}

uint64_t mf_dns_routes_memory(const mf_dns_routes_t *r)
{
  return sizeof(*r) + (uint64_t)r->max * sizeof(route_t) +
         (uint64_t)r->n_claims * sizeof(claim_t) +
         (uint64_t)r->n_buckets * sizeof(uint32_t) + mf_tw_memory(r->wheel);
}

void mf_dns_routes_destroy(mf_dns_routes_t *r)
{
  if (!r)
    return;
  if (r->routes && r->claims && r->buckets && r->wheel)
    mf_dns_routes_flush(r);
  mf_tw_destroy(r->wheel);
  free(r->buckets);
  free(r->claims);
  free(r->routes);
  free(r);
}

const char *mf_dns_route_result_name(mf_dns_route_result_t res)
{
  static const char *const names[] = {
      [MF_DNS_ROUTE_INSTALLED] = "installed",
      [MF_DNS_ROUTE_REFRESHED] = "refreshed",
      [MF_DNS_ROUTE_CONFLICT] = "conflict",
      [MF_DNS_ROUTE_TAKEN] = "taken-over",
      [MF_DNS_ROUTE_FULL] = "full",
      [MF_DNS_ROUTE_FIB_ERROR] = "fib-error",
      [MF_DNS_ROUTE_BAD] = "bad-family",
  };
  return (unsigned)res < sizeof(names) / sizeof(names[0]) ? names[res] : "unknown";
}
