/* FIB lookup rate and memory against DPDK's rte_lpm (IPv4) and rte_lpm6
 * (IPv6), on the same table and the same addresses, in one process.
 *
 *   fib_bench 4|6 <prefixes> [addresses] [seed]
 *
 * The table is random with the prefix-length mix of a real one; the
 * addresses are half inside a random route of the table and half anywhere.
 * Every engine's answers are compared with ours before any rate is shown,
 * so the run is a differential test against an independent LPM as well.
 * Rates are each engine's best of ROUNDS passes, the engines taking turns
 * (other work may share the machine). Memory: for DPDK, what its heap
 * handed out for the table (tables and rules); for us, the trie, and the
 * total with the route table on the last line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

#include "fib/fib.h"
#include "fib/fib_table.h"

#define MISS 0xffffffffu
#define FRAME 256 /* the daemon's vector size */
#define ROUNDS 15

/* ---- input ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n)
{
  return (uint32_t)(rng_next() % n);
}

typedef struct {
  uint8_t addr[16]; /* masked */
  uint8_t len;
  uint32_t nh;
} route_t;

/* Prefix lengths per mille, roughly the shape of today's IPv4 and IPv6
 * internet tables, with some longer ones as a private table holds. */
typedef struct {
  uint8_t lo, hi;
  uint16_t per_mille;
} len_share_t;

static const len_share_t shares4[] = {
    {8, 15, 5},    {16, 16, 14},  {17, 17, 10}, {18, 18, 15}, {19, 19, 25},
    {20, 20, 40},  {21, 21, 45},  {22, 22, 120}, {23, 23, 100}, {24, 24, 596},
    {25, 32, 30},
};
static const len_share_t shares6[] = {
    {16, 28, 20}, {29, 29, 30},  {32, 32, 150}, {33, 39, 50}, {40, 40, 80},
    {44, 44, 80}, {41, 47, 50},  {48, 48, 450}, {52, 63, 30}, {64, 64, 50},
    {128, 128, 10},
};

static unsigned random_len(const len_share_t *s, size_t n)
{
  uint32_t x = rng_below(1000);
  for (size_t i = 0; i < n; i++) {
    if (x < s[i].per_mille)
      return s[i].lo + rng_below(s[i].hi - s[i].lo + 1u);
    x -= s[i].per_mille;
  }
  return s[n - 1].hi;
}

static void random_bytes(uint8_t *a, size_t n)
{
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng_next();
    memcpy(a + i, &v, n - i < 8 ? n - i : 8);
  }
}

static void mask_bytes(uint8_t *a, unsigned len)
{
  for (unsigned i = 0; i < 16; i++) {
    if (len >= 8 * (i + 1))
      continue;
    a[i] = len <= 8 * i ? 0 : (uint8_t)(a[i] & (0xff00u >> (len - 8 * i)));
  }
}

static void random_network(int v6, uint8_t *a)
{
  /* Addresses come from the allocated parts of each space. */
  static const uint16_t tops6[] = {0x2001, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404,
                                   0x2405, 0x2406, 0x2407, 0x2600, 0x2601, 0x2602,
                                   0x2603, 0x2604, 0x2605, 0x2606, 0x2607, 0x2800,
                                   0x2801, 0x2803, 0x2a00, 0x2a01, 0x2a02, 0x2a03,
                                   0x2a04, 0x2a05, 0x2a06, 0x2a07, 0x2a0a, 0x2a0b,
                                   0x2a0c, 0x2a0d, 0x2a0e, 0x2a0f, 0x2c0f, 0x2001};
  memset(a, 0, 16);
  if (!v6) {
    random_bytes(a, 4);
    a[0] = (uint8_t)(1 + rng_below(223));
    return;
  }
  random_bytes(a, 16);
  uint16_t top = tops6[rng_below(sizeof(tops6) / sizeof(tops6[0]))];
  a[0] = (uint8_t)(top >> 8);
  a[1] = (uint8_t)top;
}

/* Distinct routes by (length, address), open addressing. */
static uint32_t hash_route(const uint8_t *a, unsigned len)
{
  uint64_t w[2];
  memcpy(w, a, 16);
  uint64_t h = (w[0] ^ len) * 0x9e3779b97f4a7c15ull ^ w[1] * 0xc2b2ae3d27d4eb4full;
  return (uint32_t)(h ^ h >> 29);
}

static route_t *make_table(int v6, uint32_t n)
{
  route_t *r = calloc(n, sizeof(*r));
  uint32_t mask = 1;
  while (mask < 2 * n)
    mask <<= 1;
  mask--;
  uint32_t *seen = calloc((size_t)mask + 1, sizeof(*seen));
  if (!r || !seen) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  uint32_t have = 0;
  for (uint64_t tries = 0; have < n && tries < 20ull * n; tries++) {
    route_t x = {.nh = 1 + rng_below(60000)};
    x.len = (uint8_t)(v6 ? random_len(shares6, sizeof(shares6) / sizeof(shares6[0]))
                         : random_len(shares4, sizeof(shares4) / sizeof(shares4[0])));
    random_network(v6, x.addr);
    mask_bytes(x.addr, x.len);
    uint32_t h = hash_route(x.addr, x.len) & mask;
    for (; seen[h]; h = (h + 1) & mask) {
      const route_t *y = &r[seen[h] - 1];
      if (y->len == x.len && memcmp(y->addr, x.addr, 16) == 0)
        break;
    }
    if (seen[h])
      continue;
    r[have] = x;
    seen[h] = ++have;
  }
  free(seen);
  if (have < n) {
    fprintf(stderr, "could only draw %u distinct prefixes\n", have);
    exit(1);
  }
  return r;
}

/* Half inside a random route, half anywhere. */
static uint8_t *make_addresses(int v6, const route_t *r, uint32_t n_routes, uint32_t n)
{
  uint8_t *a = calloc(n, 16);
  if (!a) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *x = a + (size_t)i * 16;
    random_bytes(x, 16);
    if (rng_below(2)) {
      const route_t *p = &r[rng_below(n_routes)];
      uint8_t net[16];
      memcpy(net, x, 16);
      mask_bytes(net, p->len);
      for (int b = 0; b < 16; b++)
        x[b] = (uint8_t)(p->addr[b] | (x[b] & ~net[b]));
    }
    if (!v6)
      memset(x + 4, 0, 12);
  }
  return a;
}

/* tbl8 groups each DPDK table needs for these routes, counted the way it
 * allocates them: one per distinct node below the first level. */
static uint32_t count_nodes(const route_t *r, uint32_t n, unsigned first, unsigned stop)
{
  uint32_t cap = 1;
  while (cap < 4 * n)
    cap <<= 1;
  route_t *seen = calloc(cap, sizeof(*seen));
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    for (unsigned depth = first; depth < r[i].len && depth < stop; depth += 8) {
      route_t node = {.len = (uint8_t)depth};
      memcpy(node.addr, r[i].addr, 16);
      mask_bytes(node.addr, depth);
      uint32_t h = hash_route(node.addr, depth) & (cap - 1);
      while (seen[h].nh &&
             !(seen[h].len == depth && memcmp(seen[h].addr, node.addr, 16) == 0))
        h = (h + 1) & (cap - 1);
      if (!seen[h].nh) {
        if (count + 1 >= cap / 2) /* full enough: an estimate is enough */
          break;
        node.nh = 1;
        seen[h] = node;
        count++;
      }
    }
  }
  free(seen);
  return count;
}

/* ---- measuring ---- */

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef void lookup_fn(void *ctx, uint32_t first, uint32_t n, uint32_t *out);

typedef struct {
  const char *name;
  lookup_fn *fn;
  void *ctx;
  double best; /* lookups per second */
} engine_t;

/* Each engine's best pass over all addresses, in frames of FRAME. The
 * engines take turns, round after round, so that whatever else runs on the
 * machine meanwhile falls on all of them alike. */
static void race(engine_t *eng, int n_eng, uint32_t n_addr, uint32_t *out)
{
  for (int round = 0; round < ROUNDS; round++) {
    for (int k = 0; k < n_eng; k++) {
      double t0 = now_s();
      for (uint32_t i = 0; i < n_addr; i += FRAME)
        eng[k].fn(eng[k].ctx, i, n_addr - i < FRAME ? n_addr - i : FRAME, out + i);
      double r = n_addr / (now_s() - t0);
      if (r > eng[k].best)
        eng[k].best = r;
    }
  }
}

static size_t dpdk_allocated(void)
{
  struct rte_malloc_socket_stats st;
  if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) < 0)
    return 0;
  return st.heap_allocsz_bytes;
}

static uint32_t mismatches(const uint32_t *a, const uint32_t *b, uint32_t n, const char *what)
{
  uint32_t bad = 0;
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i] && bad++ < 5)
      fprintf(stderr, "%s: address %u: mintflow %u, dpdk %u\n", what, i, a[i], b[i]);
  return bad;
}

static void report(const char *name, double r, double base, size_t mem)
{
  printf("  %-26s %8.1f Mlookups/s  %6.2fx  %8.1f MiB\n", name, r / 1e6,
         base > 0 ? r / base : 1.0, mem / 1048576.0);
}

/* ---- the engines ---- */

typedef struct {
  const mf_fib_t *fib;
  const uint32_t *dst;        /* IPv4, network order */
  const uint8_t *const *dst6; /* IPv6, one pointer per address */
} ours_t;

static void ours4(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  ours_t *o = ctx;
  mf_fib4_lookup_vector(o->fib, o->dst + first, out, n);
}

static void ours6(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  ours_t *o = ctx;
  mf_fib6_lookup_vector(o->fib, o->dst6 + first, out, n);
}

/* The same trie walked one address at a time, no batching, no prefetch:
 * what lookup.c's breadth-first walk over the vector buys. */
static void ours4_plain(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  ours_t *o = ctx;
  const mf_mtrie_t *t = &o->fib->trie4;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *a = (const uint8_t *)&o->dst[first + i];
    uint32_t e = mf_mtrie_resolve(t, t->root[a[0] << 8 | a[1]], a, 2);
    out[i] = mf_fib_leaf_adj(o->fib, e);
  }
}

static void ours6_plain(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  ours_t *o = ctx;
  const mf_mtrie_t *t = &o->fib->trie6;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *a = o->dst6[first + i];
    uint32_t e = mf_mtrie_resolve(t, t->root[a[0] << 8 | a[1]], a, 2);
    out[i] = mf_fib_leaf_adj(o->fib, e);
  }
}

typedef struct {
  struct rte_lpm *lpm;
  struct rte_lpm6 *lpm6;
  const uint32_t *ip;    /* IPv4, host order, as rte_lpm wants */
  uint8_t (*ip6)[16];
} dpdk_t;

static void lpm_scalar(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  dpdk_t *d = ctx;
  for (uint32_t i = 0; i < n; i++)
    if (rte_lpm_lookup(d->lpm, d->ip[first + i], &out[i]) != 0)
      out[i] = MISS;
}

static void lpm_bulk(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  dpdk_t *d = ctx;
  rte_lpm_lookup_bulk(d->lpm, d->ip + first, out, n);
  for (uint32_t i = 0; i < n; i++)
    out[i] = out[i] & RTE_LPM_LOOKUP_SUCCESS ? out[i] & 0x00ffffff : MISS;
}

static void lpm6_scalar(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  dpdk_t *d = ctx;
  for (uint32_t i = 0; i < n; i++)
    if (rte_lpm6_lookup(d->lpm6, d->ip6[first + i], &out[i]) != 0)
      out[i] = MISS;
}

static void lpm6_bulk(void *ctx, uint32_t first, uint32_t n, uint32_t *out)
{
  dpdk_t *d = ctx;
  rte_lpm6_lookup_bulk_func(d->lpm6, d->ip6 + first, (int32_t *)out, n);
  /* -1 is a miss, which is MISS already. */
}

static mf_fib_t *build_ours(const route_t *r, uint32_t n, int v6, double *secs)
{
  double t0 = now_s();
  mf_fib_t *fib = mf_fib_create(n, MISS);
  for (uint32_t i = 0; fib && i < n; i++) {
    mf_prefix_t p = {.family = v6 ? AF_INET6 : AF_INET, .len = r[i].len};
    memcpy(p.addr, r[i].addr, 16);
    int rv = mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 100, r[i].nh);
    if (rv < 0) {
      fprintf(stderr, "mf_fib_add: %s\n", strerror(-rv));
      exit(1);
    }
  }
  *secs = now_s() - t0;
  return fib;
}

static int bench4(const route_t *r, uint32_t n, const uint8_t *addrs, uint32_t n_addr)
{
  uint32_t *dst = malloc(n_addr * sizeof(uint32_t));
  uint32_t *ip = malloc(n_addr * sizeof(uint32_t));
  uint32_t *got = malloc(n_addr * sizeof(uint32_t));
  uint32_t *want = malloc(n_addr * sizeof(uint32_t));
  for (uint32_t i = 0; i < n_addr; i++) {
    memcpy(&dst[i], addrs + (size_t)i * 16, 4);
    ip[i] = ntohl(dst[i]);
  }

  double build;
  mf_fib_t *fib = build_ours(r, n, 0, &build);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  size_t ours_lookup = mf_mtrie_memory(&fib->trie4);
  printf("  mintflow: built in %.2f s, %u plies and %u tails in use\n", build,
         fib->trie4.ply_pool.n_live, fib->trie4.tail_pool.n_live);

  size_t before = dpdk_allocated();
  uint32_t tbl8s = count_nodes(r, n, 24, 32);
  struct rte_lpm_config cfg = {.max_rules = n, .number_tbl8s = tbl8s + tbl8s / 16 + 64};
  double t0 = now_s();
  struct rte_lpm *lpm = rte_lpm_create("bench4", (int)rte_socket_id(), &cfg);
  if (!lpm) {
    fprintf(stderr, "rte_lpm_create: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t a;
    memcpy(&a, r[i].addr, 4);
    int rv = rte_lpm_add(lpm, ntohl(a), r[i].len, r[i].nh);
    if (rv < 0) {
      fprintf(stderr, "rte_lpm_add: %s\n", strerror(-rv));
      return 1;
    }
  }
  double lpm_build = now_s() - t0;
  size_t lpm_mem = dpdk_allocated() - before;
  printf("  rte_lpm:  built in %.2f s, %u tbl8 groups\n", lpm_build, cfg.number_tbl8s);

  ours_t o = {.fib = fib, .dst = dst};
  dpdk_t d = {.lpm = lpm, .ip = ip};
  /* Answers first: a fast wrong LPM is no LPM. */
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    ours4(&o, i, n_addr - i < FRAME ? n_addr - i : FRAME, got + i);
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    lpm_scalar(&d, i, n_addr - i < FRAME ? n_addr - i : FRAME, want + i);
  uint32_t bad = mismatches(got, want, n_addr, "rte_lpm_lookup");
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    lpm_bulk(&d, i, n_addr - i < FRAME ? n_addr - i : FRAME, want + i);
  bad += mismatches(got, want, n_addr, "rte_lpm_lookup_bulk");
  if (bad) {
    printf("  %u answers differ: no rates\n", bad);
    return 1;
  }
  printf("  all %u answers agree\n", n_addr);

  engine_t eng[] = {{"rte_lpm_lookup", lpm_scalar, &d, 0},
                    {"rte_lpm_lookup_bulk", lpm_bulk, &d, 0},
                    {"mintflow", ours4, &o, 0},
                    {"mintflow, plain walk", ours4_plain, &o, 0}};
  race(eng, 4, n_addr, got);
  double r_scalar = eng[0].best, r_bulk = eng[1].best, r_ours = eng[2].best;
  printf("  %-26s %8s %12s %7s %11s\n", "", "rate", "", "vs bulk", "memory");
  report("rte_lpm_lookup (scalar)", r_scalar, r_bulk, lpm_mem);
  report("rte_lpm_lookup_bulk", r_bulk, r_bulk, lpm_mem);
  report("mintflow lookup_vector", r_ours, r_bulk, ours_lookup);
  report("same trie, plain walk", eng[3].best, r_bulk, ours_lookup);
  printf("  mintflow total with route table: %.1f MiB; ratio to rte_lpm: %.2fx rate (bulk), "
         "%.2fx memory (lookup structure)\n",
         st.memory_bytes / 1048576.0, r_ours / r_bulk, (double)ours_lookup / lpm_mem);
  rte_lpm_free(lpm);
  mf_fib_destroy(fib);
  free(dst);
  free(ip);
  free(got);
  free(want);
  return 0;
}

static int bench6(const route_t *r, uint32_t n, uint8_t *addrs, uint32_t n_addr)
{
  const uint8_t **dst6 = malloc(n_addr * sizeof(*dst6));
  uint32_t *got = malloc(n_addr * sizeof(uint32_t));
  uint32_t *want = malloc(n_addr * sizeof(uint32_t));
  for (uint32_t i = 0; i < n_addr; i++)
    dst6[i] = addrs + (size_t)i * 16;

  double build;
  mf_fib_t *fib = build_ours(r, n, 1, &build);
  mf_fib_stats_t st;
  mf_fib_get_stats(fib, &st);
  size_t ours_lookup = mf_mtrie_memory(&fib->trie6);
  printf("  mintflow: built in %.2f s, %u plies and %u tails in use\n", build,
         fib->trie6.ply_pool.n_live, fib->trie6.tail_pool.n_live);

  size_t before = dpdk_allocated();
  uint32_t tbl8s = count_nodes(r, n, 24, 128);
  struct rte_lpm6_config cfg = {.max_rules = n, .number_tbl8s = tbl8s + tbl8s / 16 + 64};
  double t0 = now_s();
  struct rte_lpm6 *lpm6 = rte_lpm6_create("bench6", (int)rte_socket_id(), &cfg);
  if (!lpm6) {
    fprintf(stderr, "rte_lpm6_create: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    int rv = rte_lpm6_add(lpm6, r[i].addr, r[i].len, r[i].nh);
    if (rv < 0) {
      fprintf(stderr, "rte_lpm6_add: %s\n", strerror(-rv));
      return 1;
    }
  }
  double lpm_build = now_s() - t0;
  size_t lpm_mem = dpdk_allocated() - before;
  printf("  rte_lpm6: built in %.2f s, %u tbl8 groups\n", lpm_build, cfg.number_tbl8s);

  ours_t o = {.fib = fib, .dst6 = dst6};
  dpdk_t d = {.lpm6 = lpm6, .ip6 = (uint8_t(*)[16])addrs};
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    ours6(&o, i, n_addr - i < FRAME ? n_addr - i : FRAME, got + i);
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    lpm6_scalar(&d, i, n_addr - i < FRAME ? n_addr - i : FRAME, want + i);
  uint32_t bad = mismatches(got, want, n_addr, "rte_lpm6_lookup");
  for (uint32_t i = 0; i < n_addr; i += FRAME)
    lpm6_bulk(&d, i, n_addr - i < FRAME ? n_addr - i : FRAME, want + i);
  bad += mismatches(got, want, n_addr, "rte_lpm6_lookup_bulk_func");
  if (bad) {
    printf("  %u answers differ: no rates\n", bad);
    return 1;
  }
  printf("  all %u answers agree\n", n_addr);

  engine_t eng[] = {{"rte_lpm6_lookup", lpm6_scalar, &d, 0},
                    {"rte_lpm6_lookup_bulk_func", lpm6_bulk, &d, 0},
                    {"mintflow", ours6, &o, 0},
                    {"mintflow, plain walk", ours6_plain, &o, 0}};
  race(eng, 4, n_addr, got);
  double r_scalar = eng[0].best, r_bulk = eng[1].best, r_ours = eng[2].best;
  printf("  %-26s %8s %12s %7s %11s\n", "", "rate", "", "vs bulk", "memory");
  report("rte_lpm6_lookup (scalar)", r_scalar, r_bulk, lpm_mem);
  report("rte_lpm6_lookup_bulk_func", r_bulk, r_bulk, lpm_mem);
  report("mintflow lookup_vector", r_ours, r_bulk, ours_lookup);
  report("same trie, plain walk", eng[3].best, r_bulk, ours_lookup);
  printf("  mintflow total with route table: %.1f MiB; ratio to rte_lpm6: %.2fx rate (bulk), "
         "%.2fx memory (lookup structure)\n",
         st.memory_bytes / 1048576.0, r_ours / r_bulk, (double)ours_lookup / lpm_mem);
  rte_lpm6_free(lpm6);
  mf_fib_destroy(fib);
  free(dst6);
  free(got);
  free(want);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 3 || (strcmp(argv[1], "4") && strcmp(argv[1], "6"))) {
    fprintf(stderr, "usage: %s 4|6 <prefixes> [addresses] [seed]\n", argv[0]);
    return 2;
  }
  int v6 = argv[1][0] == '6';
  uint32_t n = (uint32_t)strtoul(argv[2], NULL, 0);
  uint32_t n_addr = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 1u << 22;
  rng_state = argc > 4 ? strtoull(argv[4], NULL, 0) : 42;
  if (n == 0 || n_addr == 0) {
    fprintf(stderr, "prefixes and addresses must be positive\n");
    return 2;
  }

  /* No hugepages and no devices: the tables live in ordinary memory, as
   * ours do. */
  char mem[16];
  snprintf(mem, sizeof(mem), "%s", getenv("FIB_BENCH_EAL_MB") ? getenv("FIB_BENCH_EAL_MB") : "4096");
  char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
                 "-m", mem, "-l", "0", "--log-level", "lib.eal:error", NULL};
  if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
    fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
    return 1;
  }

  printf("IPv%c: %u prefixes, %u addresses (half inside a route), seed %llu\n",
         v6 ? '6' : '4', n, n_addr, (unsigned long long)rng_state);
  route_t *r = make_table(v6, n);
  uint8_t *addrs = make_addresses(v6, r, n, n_addr);
  int rv = v6 ? bench6(r, n, addrs, n_addr) : bench4(r, n, addrs, n_addr);
  free(r);
  free(addrs);
  rte_eal_cleanup();
  return rv;
}
