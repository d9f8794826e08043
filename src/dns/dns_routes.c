/* DNS-learned host routes: a pool of entries named by index, a seeded
 * hash from address to entry, and one timer per entry on a hashed wheel.
 *
 * Timers:
 *   route-expired  the answer's TTL plus grace has passed: the path is
 *                  removed from the FIB and the entry returns to the pool.
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
#define EXPIRE_BATCH 256

typedef struct {
  uint8_t family; /* 0: free */
  uint8_t addr[16];
  uint16_t set;
  uint32_t adj;
  uint32_t next; /* hash chain, or the free list */
  uint64_t expires_ns;
} route_t;

struct mf_dns_routes {
  mf_fib_t *fib;
  uint32_t priority;
  route_t *routes;
  uint32_t max;
  uint32_t free_head;
  uint32_t *buckets;
  uint32_t n_buckets; /* a power of two */
  uint64_t seed;
  mf_timer_wheel_t *wheel;
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
  r->routes = calloc(max_routes, sizeof(*r->routes));
  r->buckets = malloc(r->n_buckets * sizeof(*r->buckets));
  r->wheel = mf_tw_create(max_routes, TICK_US, us_of(now_ns));
  if (!r->routes || !r->buckets || !r->wheel) {
    mf_dns_routes_destroy(r);
    return NULL;
  }
  for (uint32_t b = 0; b < r->n_buckets; b++)
    r->buckets[b] = NONE;
  for (uint32_t i = 0; i < max_routes; i++)
    r->routes[i].next = i + 1 < max_routes ? i + 1 : NONE;
  r->free_head = 0;
  if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed))
    r->seed = (uint64_t)(uintptr_t)r ^ now_ns ^ 0x9e3779b97f4a7c15ull;
  r->st.max = max_routes;
  return r;
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
  e->family = 0;
  e->next = r->free_head;
  r->free_head = i;
  r->st.live--;
}

static void arm(mf_dns_routes_t *r, uint32_t i, uint64_t expires_ns)
{
  r->routes[i].expires_ns = expires_ns;
  uint64_t d = us_of(expires_ns);
  mf_tw_set(r->wheel, i, d ? d : 1);
}

mf_dns_route_result_t mf_dns_routes_add(mf_dns_routes_t *r, uint8_t family,
                                         const uint8_t *addr, uint32_t adj,
                                         uint16_t set, uint64_t expires_ns)
{
  if (family != AF_INET && family != AF_INET6)
    return MF_DNS_ROUTE_BAD;
  uint32_t *link;
  uint32_t i = find(r, family, addr, &link);
  if (i != NONE) {
    route_t *e = &r->routes[i];
    if (e->adj != adj) {
      r->st.conflicts++;
      return MF_DNS_ROUTE_CONFLICT;
    }
    if (expires_ns > e->expires_ns)
      arm(r, i, expires_ns);
    r->st.refreshed++;
    return MF_DNS_ROUTE_REFRESHED;
  }
  if (r->free_head == NONE) {
    r->st.refused++;
    return MF_DNS_ROUTE_FULL;
  }
  i = r->free_head;
  route_t *e = &r->routes[i];
  memset(e->addr, 0, sizeof(e->addr));
  memcpy(e->addr, addr, addr_len(family));
  e->family = family;
  mf_prefix_t p;
  prefix_of(e, &p);
  if (mf_fib_add(r->fib, &p, MF_FIB_SRC_DNS, r->priority, adj) < 0) {
    e->family = 0;
    r->st.fib_errors++;
    return MF_DNS_ROUTE_FIB_ERROR;
  }
  r->free_head = e->next;
  e->adj = adj;
  e->set = set;
  e->next = NONE;
  *link = i;
  arm(r, i, expires_ns);
  r->st.live++;
  r->st.installed++;
  return MF_DNS_ROUTE_INSTALLED;
}

uint32_t mf_dns_routes_expire(mf_dns_routes_t *r, uint64_t now_ns)
{
  uint32_t due[EXPIRE_BATCH], total = 0, n;
  do {
    n = mf_tw_expire(r->wheel, us_of(now_ns), due, EXPIRE_BATCH);
    for (uint32_t k = 0; k < n; k++) {
      if (r->routes[due[k]].family == 0)
        continue;
      remove_entry(r, due[k]);
      r->st.expired++;
      total++;
    }
  } while (n == EXPIRE_BATCH);
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

bool mf_dns_routes_next(const mf_dns_routes_t *r, uint32_t *cursor,
                        mf_dns_route_info_t *info)
{
  for (uint32_t i = *cursor; i < r->max; i++) {
    const route_t *e = &r->routes[i];
    if (!e->family)
      continue;
    info->family = e->family;
    memcpy(info->addr, e->addr, sizeof(info->addr));
    info->adj = e->adj;
    info->set = e->set;
    info->expires_ns = e->expires_ns;
    *cursor = i + 1;
    return true;
  }
  *cursor = r->max;
  return false;
}

void mf_dns_routes_stats(const mf_dns_routes_t *r, mf_dns_routes_stats_t *st)
{
  *st = r->st;
}

uint64_t mf_dns_routes_memory(const mf_dns_routes_t *r)
{
  return sizeof(*r) + (uint64_t)r->max * sizeof(route_t) +
         (uint64_t)r->n_buckets * sizeof(uint32_t) + mf_tw_memory(r->wheel);
}

void mf_dns_routes_destroy(mf_dns_routes_t *r)
{
  if (!r)
    return;
  if (r->routes && r->buckets && r->wheel)
    mf_dns_routes_flush(r);
  mf_tw_destroy(r->wheel);
  free(r->buckets);
  free(r->routes);
  free(r);
}

const char *mf_dns_route_result_name(mf_dns_route_result_t res)
{
  static const char *const names[] = {
      [MF_DNS_ROUTE_INSTALLED] = "installed",
      [MF_DNS_ROUTE_REFRESHED] = "refreshed",
      [MF_DNS_ROUTE_CONFLICT] = "conflict",
      [MF_DNS_ROUTE_FULL] = "full",
      [MF_DNS_ROUTE_FIB_ERROR] = "fib-error",
      [MF_DNS_ROUTE_BAD] = "bad-family",
  };
  return (unsigned)res < sizeof(names) / sizeof(names[0]) ? names[res] : "unknown";
}
