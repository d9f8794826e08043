/* FIB: longest-prefix match against a deliberately naive reference on
 * random internet-like tables (adds, deletes, re-adds, a lookup check after
 * each phase) and on random churn in a small address space (every operation
 * checked, several sources per prefix); after each phase the trie must have
 * exactly the shape a fresh build of the same routes has, and none left
 * when the routes are gone. Then route sources, bounds, errors, edge
 * lengths and walk order on small hand-made tables.
 *
 * The reference keeps every prefix in a plain hash set per length and
 * answers a lookup by trying every length from the longest down: obviously
 * right, and sharing no code with the trie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <errno.h>
#include <cmocka.h>

#include "test_rng.h"

#include "fib/fib.h"
#include "fib/fib_table.h"

#define MISS 0xffffffffu
#define BATCH 256

/* ---- the reference ---- */

typedef struct {
  mf_prefix_t p; /* masked */
  uint32_t adj;
  int active;
} ref_route_t;

/* One open-addressing set per prefix length: route index + 1, 0 empty. */
typedef struct {
  uint32_t *slots;
  uint32_t mask, n;
} ref_set_t;

typedef struct {
  int family;
  unsigned max_len;
  ref_route_t *routes;
  uint32_t n;
  ref_set_t by_len[129];
} ref_t;

static void ref_mask(uint8_t *addr, unsigned len)
{
  for (unsigned i = 0; i < 16; i++) {
    if (len >= 8 * (i + 1))
      continue;
    addr[i] = len <= 8 * i ? 0 : (uint8_t)(addr[i] & (0xff00u >> (len - 8 * i)));
  }
}

/* Not the FIB's hash, on purpose. */
static uint32_t ref_hash(const uint8_t *addr)
{
  uint64_t w[2];
  memcpy(w, addr, 16);
  uint64_t h = (w[0] * 0x9e3779b97f4a7c15ull) ^ (w[1] * 0xc2b2ae3d27d4eb4full);
  return (uint32_t)(h >> 32 ^ h);
}

static void ref_init(ref_t *r, int family, uint32_t capacity)
{
  memset(r, 0, sizeof(*r));
  r->family = family;
  r->max_len = family == AF_INET ? 32 : 128;
  r->routes = calloc(capacity, sizeof(*r->routes));
  assert_non_null(r->routes);
}

static void ref_free(ref_t *r)
{
  for (int i = 0; i < 129; i++)
    free(r->by_len[i].slots);
  free(r->routes);
}

/* Index of the route with this masked address in the set, or -1. */
static long ref_find(const ref_t *r, const ref_set_t *set, const uint8_t *addr)
{
  if (!set->n)
    return -1;
  for (uint32_t h = ref_hash(addr) & set->mask;; h = (h + 1) & set->mask) {
    uint32_t s = set->slots[h];
    if (s == 0)
      return -1;
    if (memcmp(r->routes[s - 1].p.addr, addr, 16) == 0)
      return s - 1;
  }
}

static void ref_put(const ref_t *r, ref_set_t *set, uint32_t idx)
{
  uint32_t h = ref_hash(r->routes[idx].p.addr) & set->mask;
  while (set->slots[h])
    h = (h + 1) & set->mask;
  set->slots[h] = idx + 1;
}

/* Keeps each set at most half full. */
static void ref_grow(const ref_t *r, ref_set_t *set)
{
  ref_set_t old = *set;
  set->mask = old.slots ? old.mask * 2 + 1 : 15;
  set->slots = calloc(set->mask + 1, sizeof(uint32_t));
  assert_non_null(set->slots);
  if (old.slots)
    for (uint32_t i = 0; i <= old.mask; i++)
      if (old.slots[i])
        ref_put(r, set, old.slots[i] - 1);
  free(old.slots);
}

/* Adds a new candidate route; returns 0 when the prefix was already there. */
static int ref_add_candidate(ref_t *r, unsigned len, const uint8_t *addr)
{
  uint8_t a[16];
  memcpy(a, addr, 16);
  ref_mask(a, len);
  ref_set_t *set = &r->by_len[len];
  if (ref_find(r, set, a) >= 0)
    return 0;
  if (!set->slots || 2 * (set->n + 1) > set->mask + 1)
    ref_grow(r, set);
  ref_route_t *x = &r->routes[r->n];
  x->p.family = (uint8_t)r->family;
  x->p.len = (uint8_t)len;
  memcpy(x->p.addr, a, 16);
  ref_put(r, set, r->n++);
  set->n++;
  return 1;
}

/* Every length, longest first; the first active route found is the answer. */
static uint32_t ref_lookup(const ref_t *r, const uint8_t *addr)
{
  for (int len = (int)r->max_len; len >= 0; len--) {
    const ref_set_t *set = &r->by_len[len];
    if (!set->n)
      continue;
    uint8_t a[16] = {0};
    memcpy(a, addr, r->max_len / 8);
    ref_mask(a, (unsigned)len);
    long i = ref_find(r, set, a);
    if (i >= 0 && r->routes[i].active)
      return r->routes[i].adj;
  }
  return MISS;
}

/* ---- random tables shaped like the real ones ---- */

/* IPv4 as in a full internet table: about half /24, most of the rest
 * /16../23, a few shorter and a few longer. */
static unsigned random_len4(void)
{
  uint32_t x = rng_below(1000);
  if (x < 550)
    return 24;
  if (x < 900)
    return 16 + rng_below(8);
  if (x < 930)
    return 8 + rng_below(8);
  if (x < 998)
    return 25 + rng_below(8);
  return rng_below(8);
}

static void random_addr4(uint8_t *a)
{
  uint32_t v = (uint32_t)rng_next();
  memset(a, 0, 16);
  memcpy(a, &v, 4);
  /* Unicast space, so that shorter and longer prefixes nest often. */
  a[0] = (uint8_t)(1 + rng_below(223));
}

/* IPv6 as allocated: a few dozen /16s in use, mostly /32../48, some /64
 * and host routes. */
static unsigned random_len6(void)
{
  uint32_t x = rng_below(1000);
  if (x < 150)
    return 32;
  if (x < 500)
    return 48;
  if (x < 800)
    return 33 + rng_below(15);
  if (x < 880)
    return 64;
  if (x < 920)
    return 128;
  if (x < 960)
    return 16 + rng_below(16);
  if (x < 990) {
    static const uint8_t odd[] = {52, 56, 60, 96, 112, 120, 124, 127};
    return odd[rng_below(sizeof(odd))];
  }
  return 8 * rng_below(2) + rng_below(8);
}

static void random_addr6(uint8_t *a)
{
  static const uint16_t tops[] = {0x2001, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404,
                                  0x2600, 0x2601, 0x2602, 0x2603, 0x2604, 0x2605,
                                  0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a04, 0x2a05,
                                  0x2800, 0x2c0f, 0xfd00, 0x2406, 0x2607, 0x2a0e};
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = rng_next();
    memcpy(a + i, &v, 8);
  }
  uint16_t top = tops[rng_below(sizeof(tops) / sizeof(tops[0]))];
  a[0] = (uint8_t)(top >> 8);
  a[1] = (uint8_t)top;
}

static void random_addr(int family, uint8_t *a)
{
  if (family == AF_INET)
    random_addr4(a);
  else
    random_addr6(a);
}

/* Half inside a chosen prefix (any host bits), half anywhere at all. */
static void lookup_addr(const ref_t *r, uint8_t *a)
{
  if (rng_below(2)) {
    for (int i = 0; i < 16; i += 8) {
      uint64_t v = rng_next();
      memcpy(a + i, &v, 8);
    }
    if (r->family == AF_INET)
      memset(a + 4, 0, 12);
    return;
  }
  const ref_route_t *x = &r->routes[rng_below(r->n)];
  uint8_t host[16];
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = rng_next();
    memcpy(host + i, &v, 8);
  }
  /* The prefix's bits, then the random host bits. */
  uint8_t net[16];
  memcpy(net, host, 16);
  ref_mask(net, x->p.len);
  for (int i = 0; i < 16; i++)
    a[i] = (uint8_t)(x->p.addr[i] | (host[i] & ~net[i]));
  if (r->family == AF_INET)
    memset(a + 4, 0, 12);
}

/* n lookups in vectors of BATCH, every answer compared. */
static void check_lookups(const mf_fib_t *fib, const ref_t *r, uint32_t n,
                          const char *phase)
{
  uint8_t addrs[BATCH][16];
  const uint8_t *ptrs[BATCH];
  uint32_t dst4[BATCH], got[BATCH];
  for (uint32_t done = 0; done < n; done += BATCH) {
    for (int i = 0; i < BATCH; i++) {
      lookup_addr(r, addrs[i]);
      ptrs[i] = addrs[i];
      memcpy(&dst4[i], addrs[i], 4);
    }
    if (r->family == AF_INET)
      mf_fib4_lookup_vector(fib, dst4, got, BATCH);
    else
      mf_fib6_lookup_vector(fib, ptrs, got, BATCH);
    for (int i = 0; i < BATCH; i++) {
      uint32_t want = ref_lookup(r, addrs[i]);
      if (got[i] != want) {
        char s[64];
        inet_ntop(r->family, addrs[i], s, sizeof(s));
        printf("# %s: lookup %s gave %u, reference %u\n", phase, s, got[i], want);
      }
      assert_int_equal(got[i], want);
    }
  }
}

static uint32_t active_count(const ref_t *r)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->n; i++)
    n += r->routes[i].active != 0;
  return n;
}

static const mf_mtrie_t *trie(const mf_fib_t *fib, int family)
{
  return family == AF_INET ? &fib->trie4 : &fib->trie6;
}

static void check_counts(const mf_fib_t *fib, const ref_t *r)
{
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  uint32_t n = active_count(r);
  assert_int_equal(r->family == AF_INET ? st.prefixes4 : st.prefixes6, n);
  assert_int_equal(r->family == AF_INET ? st.routes4 : st.routes6, n);
}

/* With plies always folded away where they can be, the trie's shape
 * depends only on the routes in it, not on their history: a table built
 * afresh from the survivors must use exactly as many plies and tails. */
static void check_shape_canonical(const mf_fib_t *fib, const ref_t *r)
{
  mf_fib_t *fresh = mf_fib_create(r->n, MISS);
  assert_non_null(fresh);
  for (uint32_t i = 0; i < r->n; i++)
    if (r->routes[i].active)
      assert_int_equal(mf_fib_add(fresh, &r->routes[i].p, MF_FIB_SRC_PROFILE, 10,
                                  r->routes[i].adj), 0);
  assert_int_equal(trie(fib, r->family)->ply_pool.n_live,
                   trie(fresh, r->family)->ply_pool.n_live);
  assert_int_equal(trie(fib, r->family)->tail_pool.n_live,
                   trie(fresh, r->family)->tail_pool.n_live);
  mf_fib_destroy(fresh);
}


static double seconds_since(const struct timespec *t0)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void random_against_reference(int family, uint32_t n_prefixes,
                                     uint32_t n_lookups)
{
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ref_t r;
  ref_init(&r, family, n_prefixes);
  uint8_t a[16];
  /* Bounded: duplicates are rare, ten times the target is plenty. */
  for (uint32_t tries = 0; r.n < n_prefixes && tries < 10 * n_prefixes; tries++) {
    random_addr(family, a);
    ref_add_candidate(&r, family == AF_INET ? random_len4() : random_len6(), a);
  }
  assert_int_equal(r.n, n_prefixes);

  mf_fib_t *fib = mf_fib_create(n_prefixes, MISS);
  assert_non_null(fib);

  /* Phase 1: everything in. */
  for (uint32_t i = 0; i < r.n; i++) {
    r.routes[i].adj = rng_below(1000);
    r.routes[i].active = 1;
    assert_int_equal(mf_fib_add(fib, &r.routes[i].p, MF_FIB_SRC_PROFILE, 10,
                                r.routes[i].adj), 0);
  }
  check_counts(fib, &r);
  check_lookups(fib, &r, n_lookups, "all added");

  /* Phase 2: a third out, at random; deleting twice is refused. */
  for (uint32_t i = 0; i < r.n; i++) {
    if (rng_below(3) != 0)
      continue;
    assert_int_equal(mf_fib_del(fib, &r.routes[i].p, MF_FIB_SRC_PROFILE), 0);
    assert_int_equal(mf_fib_del(fib, &r.routes[i].p, MF_FIB_SRC_PROFILE), -ENOENT);
    r.routes[i].active = 0;
  }
  check_counts(fib, &r);
  check_lookups(fib, &r, n_lookups, "a third deleted");
  check_shape_canonical(fib, &r);

  /* Phase 3: half of those back with new adjacencies, and a tenth of the
   * survivors moved to another adjacency in place. */
  for (uint32_t i = 0; i < r.n; i++) {
    ref_route_t *x = &r.routes[i];
    if (x->active ? rng_below(10) == 0 : rng_below(2) == 0) {
      x->adj = rng_below(1000);
      x->active = 1;
      assert_int_equal(mf_fib_add(fib, &x->p, MF_FIB_SRC_PROFILE, 10, x->adj), 0);
    }
  }
  check_counts(fib, &r);
  check_lookups(fib, &r, n_lookups, "re-added");
  check_shape_canonical(fib, &r);

  /* Phase 4: everything out; every ply and tail goes back to its pool. */
  for (uint32_t i = 0; i < r.n; i++) {
    if (r.routes[i].active) {
      assert_int_equal(mf_fib_del(fib, &r.routes[i].p, MF_FIB_SRC_PROFILE), 0);
      r.routes[i].active = 0;
    }
  }
  check_counts(fib, &r);
  check_lookups(fib, &r, n_lookups / 8, "all deleted");
  assert_int_equal(trie(fib, family)->ply_pool.n_live, 0);
  assert_int_equal(trie(fib, family)->tail_pool.n_live, 0);

  mf_fib_destroy(fib);
  ref_free(&r);
  printf("# %s: %u prefixes, %u lookups after each of 3 phases, %.1f s\n",
         family == AF_INET ? "ipv4" : "ipv6", n_prefixes, n_lookups,
         seconds_since(&t0));
}

static void test_ipv4_random_against_reference(void **state)
{
  rng_seed("ipv4", 20240601);
  random_against_reference(AF_INET, 100000, 1000000);
}

static void test_ipv6_random_against_reference(void **state)
{
  rng_seed("ipv6", 20240601);
  random_against_reference(AF_INET6, 100000, 1000000);
}

/* ---- churn in a small address space ----
 * Few distinct byte values, so that prefixes nest at every depth, plies
 * fold into tails and tails chain and split again; several sources per
 * prefix with few distinct priorities, so that ties are common. Every
 * operation is followed by lookups near the prefix it touched. */

static const uint8_t churn_bytes[] = {0x00, 0x01, 0x80, 0xff};

static void churn_addr(int family, uint8_t *a)
{
  memset(a, 0, 16);
  if (family == AF_INET) {
    /* Many /24s with few routes each: that is where IPv4 tails grow. */
    a[0] = 10;
    a[1] = (uint8_t)rng_below(16);
    a[2] = (uint8_t)rng_below(32);
    a[3] = churn_bytes[rng_below(4)];
  } else {
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    for (int i = 4; i < 16; i++)
      a[i] = churn_bytes[rng_below(4)];
  }
}

typedef struct {
  uint8_t present; /* bit per source */
  uint32_t priority[MF_FIB_N_SRC], adj[MF_FIB_N_SRC];
} ref_paths_t;

/* The reference's own idea of the winner, written from fib.h's words. */
static void ref_settle(ref_route_t *x, const ref_paths_t *ps)
{
  int best = -1;
  for (int s = MF_FIB_N_SRC - 1; s >= 0; s--)
    if ((ps->present & (1u << s)) && (best < 0 || ps->priority[s] <= ps->priority[best]))
      best = s;
  x->active = best >= 0;
  x->adj = best >= 0 ? ps->adj[best] : 0;
}

static void check_near(const mf_fib_t *fib, const ref_t *r, const ref_route_t *x)
{
  uint8_t addrs[8][16];
  const uint8_t *ptrs[8];
  uint32_t dst4[8], got[8];
  for (int i = 0; i < 8; i++) {
    churn_addr(r->family, addrs[i]);
    if (i < 4) /* inside the prefix just changed */
      for (unsigned b = 0; b < x->p.len; b++) {
        uint8_t m = (uint8_t)(0x80u >> (b % 8));
        addrs[i][b / 8] = (uint8_t)((addrs[i][b / 8] & ~m) | (x->p.addr[b / 8] & m));
      }
    ptrs[i] = addrs[i];
    memcpy(&dst4[i], addrs[i], 4);
  }
  if (r->family == AF_INET)
    mf_fib4_lookup_vector(fib, dst4, got, 8);
  else
    mf_fib6_lookup_vector(fib, ptrs, got, 8);
  for (int i = 0; i < 8; i++) {
    uint32_t want = ref_lookup(r, addrs[i]);
    if (got[i] != want) {
      char s[64], p[64];
      inet_ntop(r->family, addrs[i], s, sizeof(s));
      mf_prefix_format(&x->p, true, p, sizeof(p));
      printf("# churn: after changing %s, lookup %s gave %u, reference %u\n", p, s,
             got[i], want);
    }
    assert_int_equal(got[i], want);
  }
}

static void churn(int family, uint32_t n_prefixes, uint32_t n_ops)
{
  ref_t r;
  ref_init(&r, family, n_prefixes);
  unsigned min_len = family == AF_INET ? 8 : 32;
  unsigned max_len = family == AF_INET ? 32 : 128;
  uint8_t a[16];
  for (uint32_t tries = 0; r.n < n_prefixes && tries < 100 * n_prefixes; tries++) {
    churn_addr(family, a);
    ref_add_candidate(&r, min_len + rng_below(max_len - min_len + 1), a);
  }
  ref_paths_t *paths = calloc(r.n, sizeof(*paths));
  assert_non_null(paths);
  mf_fib_t *fib = mf_fib_create(r.n * MF_FIB_N_SRC, MISS);
  assert_non_null(fib);
  uint32_t n_paths = 0, most_plies = 0, most_tails = 0;
  for (uint32_t op = 0; op < n_ops; op++) {
    uint32_t c = rng_below(r.n);
    mf_fib_source_t src = (mf_fib_source_t)rng_below(MF_FIB_N_SRC);
    ref_paths_t *ps = &paths[c];
    if ((ps->present & (1u << src)) && rng_below(2)) {
      assert_int_equal(mf_fib_del(fib, &r.routes[c].p, src), 0);
      ps->present &= (uint8_t) ~(1u << src);
      n_paths--;
    } else {
      uint32_t prio = rng_below(3), adj = rng_below(40);
      assert_int_equal(mf_fib_add(fib, &r.routes[c].p, src, prio, adj), 0);
      n_paths += !(ps->present & (1u << src));
      ps->present |= (uint8_t)(1u << src);
      ps->priority[src] = prio;
      ps->adj[src] = adj;
    }
    ref_settle(&r.routes[c], ps);
    check_near(fib, &r, &r.routes[c]);
    const mf_mtrie_t *t = trie(fib, family);
    most_plies = t->ply_pool.n_live > most_plies ? t->ply_pool.n_live : most_plies;
    most_tails = t->tail_pool.n_live > most_tails ? t->tail_pool.n_live : most_tails;
    if (op % 2000 == 1999) {
      mf_fib_stats_t st;
      mf_fib_get_stats(fib, &st);
      assert_int_equal(family == AF_INET ? st.routes4 : st.routes6, n_paths);
      check_shape_canonical(fib, &r);
    }
  }
  for (uint32_t c = 0; c < r.n; c++)
    for (int src = 0; src < MF_FIB_N_SRC; src++)
      if (paths[c].present & (1u << src))
        assert_int_equal(mf_fib_del(fib, &r.routes[c].p, (mf_fib_source_t)src), 0);
  assert_int_equal(trie(fib, family)->ply_pool.n_live, 0);
  assert_int_equal(trie(fib, family)->tail_pool.n_live, 0);
  printf("# churn: %u prefixes, %u operations, up to %u plies and %u tails\n", r.n,
         n_ops, most_plies, most_tails);
  /* The point is to exercise folding into tails: make sure it happened. */
  assert_true(most_tails > 10);
  mf_fib_destroy(fib);
  free(paths);
  ref_free(&r);
}

static void test_ipv4_churn(void **state)
{
  rng_seed("ipv4 churn", 20240601);
  churn(AF_INET, 1500, 40000);
}

static void test_ipv6_churn(void **state)
{
  rng_seed("ipv6 churn", 20240601);
  churn(AF_INET6, 3000, 40000);
}

/* ---- hand-made tables ---- */

static mf_prefix_t pfx(const char *s)
{
  mf_prefix_t p;
  const char *why = NULL;
  int rv = mf_prefix_parse(s, &p, &why);
  if (rv != 0)
    printf("# bad prefix in the test: %s: %s\n", s, why);
  assert_int_equal(rv, 0);
  return p;
}

static uint32_t look(const mf_fib_t *fib, const char *addr)
{
  mf_prefix_t p = pfx(addr);
  uint32_t adj;
  if (p.family == AF_INET) {
    uint32_t d;
    memcpy(&d, p.addr, 4);
    mf_fib4_lookup_vector(fib, &d, &adj, 1);
  } else {
    const uint8_t *d = p.addr;
    mf_fib6_lookup_vector(fib, &d, &adj, 1);
  }
  return adj;
}

static void test_sources_priority_and_tie_break(void **state)
{
  mf_fib_t *fib = mf_fib_create(100, MISS);
  assert_non_null(fib);
  mf_prefix_t p = pfx("198.51.100.0/24");
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_DNS, 50, 3), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 3);
  /* Lower priority value wins. */
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_VPN, 20, 4), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 4);
  /* A tie goes to the lower source: profile beats vpn. */
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 20, 5), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 5);
  /* A loser changing its adjacency changes nothing. */
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_DNS, 50, 6), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 5);
  /* Replacing the winner's path in place. */
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 20, 7), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 7);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.routes4, 3);
  assert_int_equal(st.prefixes4, 1);
  /* The winner raising its priority past the others loses. */
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 90, 7), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 4);
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 20, 7), 0);
  /* Deleting the winner restores the next one, then the last. */
  assert_int_equal(mf_fib_del(fib, &p, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 4);
  assert_int_equal(mf_fib_del(fib, &p, MF_FIB_SRC_VPN), 0);
  assert_int_equal(look(fib, "198.51.100.7"), 6);
  assert_int_equal(mf_fib_del(fib, &p, MF_FIB_SRC_DNS), 0);
  assert_int_equal(look(fib, "198.51.100.7"), MISS);
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.routes4, 0);
  assert_int_equal(st.prefixes4, 0);
  mf_fib_destroy(fib);
}

static void test_delete_restores_cover(void **state)
{
  mf_fib_t *fib = mf_fib_create(100, MISS);
  assert_non_null(fib);
  const char *nest[] = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25",
                        "10.1.2.129/32"};
  for (uint32_t i = 0; i < 5; i++) {
    mf_prefix_t p = pfx(nest[i]);
    assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 1, i + 1), 0);
  }
  assert_int_equal(look(fib, "10.1.2.129"), 5);
  assert_int_equal(look(fib, "10.1.2.130"), 4);
  assert_int_equal(look(fib, "10.1.2.1"), 3);
  assert_int_equal(look(fib, "10.1.3.1"), 2);
  assert_int_equal(look(fib, "10.2.0.1"), 1);
  assert_int_equal(look(fib, "11.0.0.1"), MISS);
  /* Out of the middle: the next shorter one takes over its addresses. */
  mf_prefix_t p24 = pfx("10.1.2.0/24"), p16 = pfx("10.1.0.0/16");
  assert_int_equal(mf_fib_del(fib, &p24, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "10.1.2.1"), 2);
  assert_int_equal(look(fib, "10.1.2.130"), 4);
  assert_int_equal(mf_fib_del(fib, &p16, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "10.1.2.1"), 1);
  assert_int_equal(look(fib, "10.1.2.129"), 5);
  /* Two halves with the same adjacency fold into one leaf, and still come
   * apart when one goes. */
  mf_prefix_t lo = pfx("10.9.9.0/25"), hi = pfx("10.9.9.128/25");
  assert_int_equal(mf_fib_add(fib, &lo, MF_FIB_SRC_PROFILE, 1, 9), 0);
  assert_int_equal(mf_fib_add(fib, &hi, MF_FIB_SRC_PROFILE, 1, 9), 0);
  assert_int_equal(look(fib, "10.9.9.1"), 9);
  assert_int_equal(look(fib, "10.9.9.200"), 9);
  assert_int_equal(mf_fib_del(fib, &lo, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "10.9.9.1"), 1);
  assert_int_equal(look(fib, "10.9.9.200"), 9);
  mf_fib_destroy(fib);
}

static void test_enospc_at_max_routes(void **state)
{
  mf_fib_t *fib = mf_fib_create(3, MISS);
  assert_non_null(fib);
  mf_prefix_t a = pfx("192.0.2.0/24"), b = pfx("2001:db8::/32"), c = pfx("203.0.113.0/24");
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_PROFILE, 1, 1), 0);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_DNS, 1, 2), 0);
  assert_int_equal(mf_fib_add(fib, &b, MF_FIB_SRC_PROFILE, 1, 3), 0);
  /* Full: both families and a second source on a known prefix count. */
  assert_int_equal(mf_fib_add(fib, &c, MF_FIB_SRC_PROFILE, 1, 4), -ENOSPC);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_VPN, 1, 4), -ENOSPC);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.refused, 2);
  assert_int_equal(st.routes4, 2);
  assert_int_equal(st.routes6, 1);
  assert_int_equal(look(fib, "203.0.113.1"), MISS);
  /* Replacing a path is no new path. */
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_PROFILE, 1, 7), 0);
  assert_int_equal(look(fib, "192.0.2.1"), 7);
  /* Room again after a delete. */
  assert_int_equal(mf_fib_del(fib, &b, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(mf_fib_add(fib, &c, MF_FIB_SRC_PROFILE, 1, 4), 0);
  assert_int_equal(look(fib, "203.0.113.1"), 4);
  mf_fib_destroy(fib);

  /* No room at all. */
  fib = mf_fib_create(0, MISS);
  assert_non_null(fib);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_PROFILE, 1, 1), -ENOSPC);
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.refused, 1);
  mf_fib_destroy(fib);
}

static int walk_count;

static void count_path(const mf_prefix_t *p, mf_fib_source_t src, uint32_t priority,
                       uint32_t adj, bool active, void *ctx)
{
  walk_count++;
}

static void test_enoent_and_einval(void **state)
{
  mf_fib_t *fib = mf_fib_create(10, MISS);
  assert_non_null(fib);
  mf_prefix_t a = pfx("192.0.2.0/24"), other = pfx("192.0.2.0/25");
  assert_int_equal(mf_fib_del(fib, &a, MF_FIB_SRC_PROFILE), -ENOENT);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_PROFILE, 1, 1), 0);
  assert_int_equal(mf_fib_del(fib, &a, MF_FIB_SRC_DNS), -ENOENT);
  assert_int_equal(mf_fib_del(fib, &other, MF_FIB_SRC_PROFILE), -ENOENT);
  assert_int_equal(look(fib, "192.0.2.1"), 1);

  mf_prefix_t bad = a;
  bad.family = 99;
  assert_int_equal(mf_fib_add(fib, &bad, MF_FIB_SRC_PROFILE, 1, 1), -EINVAL);
  assert_int_equal(mf_fib_del(fib, &bad, MF_FIB_SRC_PROFILE), -EINVAL);
  bad = a;
  bad.len = 33;
  assert_int_equal(mf_fib_add(fib, &bad, MF_FIB_SRC_PROFILE, 1, 1), -EINVAL);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_N_SRC, 1, 1), -EINVAL);
  assert_int_equal(mf_fib_add(fib, NULL, MF_FIB_SRC_PROFILE, 1, 1), -EINVAL);
  /* Adjacencies are small integers: 23 bits, or the miss adjacency. */
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_DNS, 1, 0x7fffff), -EINVAL);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_DNS, 0, 0x7ffffe), 0);
  assert_int_equal(look(fib, "192.0.2.1"), 0x7ffffe);
  assert_int_equal(mf_fib_add(fib, &a, MF_FIB_SRC_DNS, 0, MISS), 0);
  assert_int_equal(look(fib, "192.0.2.1"), MISS);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.routes4, 2);
  assert_int_equal(st.refused, 0);
  /* A walk of no family visits nothing. */
  walk_count = 0;
  mf_fib_walk(fib, 99, count_path, NULL);
  assert_int_equal(walk_count, 0);
  mf_fib_destroy(fib);
}

typedef struct {
  char text[16][64];
  int n;
} walk_log_t;

static void log_path(const mf_prefix_t *p, mf_fib_source_t src, uint32_t priority,
                     uint32_t adj, bool active, void *ctx)
{
  walk_log_t *w = ctx;
  char s[48];
  mf_prefix_format(p, true, s, sizeof(s));
  assert_true(w->n < 16);
  snprintf(w->text[w->n++], sizeof(w->text[0]), "%s %s %u %u%s", s,
           mf_fib_source_name(src), priority, adj, active ? " *" : "");
}

static void test_host_bits_masked(void **state)
{
  mf_fib_t *fib = mf_fib_create(10, MISS);
  assert_non_null(fib);
  mf_prefix_t sloppy = pfx("10.1.2.3/8"), tidy = pfx("10.0.0.0/8");
  mf_prefix_t sloppy6 = pfx("2001:db8:1:2::3/32");
  assert_int_equal(mf_fib_add(fib, &sloppy, MF_FIB_SRC_PROFILE, 1, 1), 0);
  assert_int_equal(mf_fib_add(fib, &tidy, MF_FIB_SRC_PROFILE, 1, 2), 0);
  assert_int_equal(mf_fib_add(fib, &sloppy6, MF_FIB_SRC_PROFILE, 1, 3), 0);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  assert_int_equal(st.routes4, 1);
  assert_int_equal(look(fib, "10.200.0.1"), 2);
  assert_int_equal(look(fib, "2001:db8:ffff::1"), 3);
  walk_log_t w = {0};
  mf_fib_walk(fib, AF_INET, log_path, &w);
  mf_fib_walk(fib, AF_INET6, log_path, &w);
  assert_int_equal(w.n, 2);
  assert_string_equal(w.text[0], "10.0.0.0/8 profile 1 2 *");
  assert_string_equal(w.text[1], "2001:db8::/32 profile 1 3 *");
  /* Deleting with other host bits names the same route. */
  mf_prefix_t other = pfx("10.9.9.9/8");
  assert_int_equal(mf_fib_del(fib, &other, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "10.200.0.1"), MISS);
  mf_fib_destroy(fib);
}

static void test_edge_lengths(void **state)
{
  mf_fib_t *fib = mf_fib_create(20, 77);
  assert_non_null(fib);
  /* Nothing yet: the miss adjacency everywhere, both families. */
  assert_int_equal(look(fib, "0.0.0.0"), 77);
  assert_int_equal(look(fib, "255.255.255.255"), 77);
  assert_int_equal(look(fib, "::"), 77);
  assert_int_equal(look(fib, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 77);

  mf_prefix_t d4 = pfx("0.0.0.0/0"), d6 = pfx("::/0");
  mf_prefix_t h4 = pfx("255.255.255.255/32"), z4 = pfx("0.0.0.0/32");
  mf_prefix_t h6 = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
  mf_prefix_t z6 = pfx("::/128"), m6 = pfx("2001:db8::1/128");
  assert_int_equal(mf_fib_add(fib, &d4, MF_FIB_SRC_PROFILE, 1, 1), 0);
  assert_int_equal(look(fib, "192.0.2.1"), 1);
  assert_int_equal(look(fib, "::1"), 77); /* one family's default is not the other's */
  assert_int_equal(mf_fib_add(fib, &d6, MF_FIB_SRC_PROFILE, 1, 2), 0);
  assert_int_equal(mf_fib_add(fib, &h4, MF_FIB_SRC_LOCAL, 1, 3), 0);
  assert_int_equal(mf_fib_add(fib, &z4, MF_FIB_SRC_LOCAL, 1, 4), 0);
  assert_int_equal(mf_fib_add(fib, &h6, MF_FIB_SRC_LOCAL, 1, 5), 0);
  assert_int_equal(mf_fib_add(fib, &z6, MF_FIB_SRC_LOCAL, 1, 6), 0);
  assert_int_equal(mf_fib_add(fib, &m6, MF_FIB_SRC_DNS, 1, 8), 0);
  assert_int_equal(look(fib, "255.255.255.255"), 3);
  assert_int_equal(look(fib, "255.255.255.254"), 1);
  assert_int_equal(look(fib, "0.0.0.0"), 4);
  assert_int_equal(look(fib, "0.0.0.1"), 1);
  assert_int_equal(look(fib, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 5);
  assert_int_equal(look(fib, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 2);
  assert_int_equal(look(fib, "::"), 6);
  assert_int_equal(look(fib, "::1"), 2);
  assert_int_equal(look(fib, "2001:db8::1"), 8);
  assert_int_equal(look(fib, "2001:db8::2"), 2);
  assert_int_equal(look(fib, "2001:db8:0:0:8000::1"), 2);
  /* The defaults go, the host routes stay. */
  assert_int_equal(mf_fib_del(fib, &d4, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(mf_fib_del(fib, &d6, MF_FIB_SRC_PROFILE), 0);
  assert_int_equal(look(fib, "192.0.2.1"), 77);
  assert_int_equal(look(fib, "::1"), 77);
  assert_int_equal(look(fib, "255.255.255.255"), 3);
  assert_int_equal(look(fib, "2001:db8::1"), 8);
  assert_int_equal(look(fib, "::"), 6);
  /* And the host routes go, leaving no ply behind. */
  mf_prefix_t hosts[] = {h4, z4, h6, z6};
  for (int i = 0; i < 4; i++)
    assert_int_equal(mf_fib_del(fib, &hosts[i], MF_FIB_SRC_LOCAL), 0);
  assert_int_equal(mf_fib_del(fib, &m6, MF_FIB_SRC_DNS), 0);
  assert_int_equal(fib->trie4.ply_pool.n_live, 0);
  assert_int_equal(fib->trie6.ply_pool.n_live, 0);
  assert_int_equal(fib->trie4.tail_pool.n_live, 0);
  assert_int_equal(fib->trie6.tail_pool.n_live, 0);
  assert_int_equal(look(fib, "2001:db8::1"), 77);
  mf_fib_destroy(fib);
}

static void test_walk_order(void **state)
{
  mf_fib_t *fib = mf_fib_create(20, MISS);
  assert_non_null(fib);
  const char *adds[] = {"10.1.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "9.255.0.0/16",
                        "10.0.0.0/24", "192.168.1.1/32", "2001:db8::/32", "::/0"};
  for (uint32_t i = 0; i < 8; i++) {
    mf_prefix_t p = pfx(adds[i]);
    assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 100, i), 0);
  }
  mf_prefix_t p = pfx("10.0.0.0/8");
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_VPN, 5, 42), 0);
  walk_log_t w = {0};
  mf_fib_walk(fib, AF_INET, log_path, &w);
  const char *want[] = {"0.0.0.0/0 profile 100 1 *",  "9.255.0.0/16 profile 100 3 *",
                        "10.0.0.0/8 profile 100 2",   "10.0.0.0/8 vpn 5 42 *",
                        "10.0.0.0/24 profile 100 4 *", "10.1.0.0/16 profile 100 0 *",
                        "192.168.1.1/32 profile 100 5 *"};
  assert_int_equal(w.n, 7);
  for (int i = 0; i < 7; i++)
    assert_string_equal(w.text[i], want[i]);
  memset(&w, 0, sizeof(w));
  mf_fib_walk(fib, AF_INET6, log_path, &w);
  assert_int_equal(w.n, 2);
  assert_string_equal(w.text[0], "::/0 profile 100 7 *");
  assert_string_equal(w.text[1], "2001:db8::/32 profile 100 6 *");
  mf_fib_destroy(fib);
}

static void test_source_names_and_stats(void **state)
{
  assert_string_equal(mf_fib_source_name(MF_FIB_SRC_LOCAL), "local");
  assert_string_equal(mf_fib_source_name(MF_FIB_SRC_PROFILE), "profile");
  assert_string_equal(mf_fib_source_name(MF_FIB_SRC_DNS), "dns");
  assert_string_equal(mf_fib_source_name(MF_FIB_SRC_VPN), "vpn");
  assert_string_equal(mf_fib_source_name(MF_FIB_N_SRC), "?");

  mf_fib_t *fib = mf_fib_create(1000, MISS);
  assert_non_null(fib);
  mf_fib_stats_t before, after;
  mf_fib_get_stats(fib, &before);
  /* Two roots of 256 KiB at least. */
  assert_true(before.memory_bytes >= 2 * 65536 * 4);
  for (uint32_t i = 0; i < 500; i++) {
    mf_prefix_t p = {.family = AF_INET, .len = 32};
    uint32_t a = htonl(0x0a000000u + i * 257);
    memcpy(p.addr, &a, 4);
    assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_DNS, 1, i), 0);
  }
  mf_fib_get_stats(fib, &after);
  assert_true(after.memory_bytes > before.memory_bytes);
  assert_int_equal(after.routes4, 500);
  assert_int_equal(after.prefixes4, 500);
  mf_fib_destroy(fib);
  mf_fib_destroy(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sources_priority_and_tie_break),
      cmocka_unit_test(test_delete_restores_cover),
      cmocka_unit_test(test_enospc_at_max_routes),
      cmocka_unit_test(test_enoent_and_einval),
      cmocka_unit_test(test_host_bits_masked),
      cmocka_unit_test(test_edge_lengths),
      cmocka_unit_test(test_walk_order),
      cmocka_unit_test(test_source_names_and_stats),
      cmocka_unit_test(test_ipv4_churn),
      cmocka_unit_test(test_ipv6_churn),
      cmocka_unit_test(test_ipv4_random_against_reference),
      cmocka_unit_test(test_ipv6_random_against_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
