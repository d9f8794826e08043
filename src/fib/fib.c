/* The FIB's control plane: route sources, winner selection, and keeping the
 * tries in step with the winners. */
#include "fib/fib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fib/fib_table.h"

const char *mf_fib_source_name(mf_fib_source_t src)
{
  static const char *const names[MF_FIB_N_SRC] = {
      [MF_FIB_SRC_LOCAL] = "local",
      [MF_FIB_SRC_PROFILE] = "profile",
      [MF_FIB_SRC_DNS] = "dns",
      [MF_FIB_SRC_VPN] = "vpn",
  };
  return (unsigned)src < MF_FIB_N_SRC ? names[src] : "?";
}

mf_fib_t *mf_fib_create(uint32_t max_routes, uint32_t miss_adj)
{
  mf_fib_t *fib = calloc(1, sizeof(*fib));
  if (!fib)
    return NULL;
  fib->max_routes = max_routes;
  fib->miss_adj = miss_adj;
  if (mf_mtrie_init(&fib->trie4, 4) < 0 || mf_mtrie_init(&fib->trie6, 16) < 0 ||
      mf_fib_routes_init(&fib->routes, max_routes) < 0) {
    mf_fib_destroy(fib);
    return NULL;
  }
  return fib;
}

void mf_fib_destroy(mf_fib_t *fib)
{
  if (!fib)
    return;
  mf_mtrie_free(&fib->trie4);
  mf_mtrie_free(&fib->trie6);
  mf_fib_routes_free(&fib->routes);
  free(fib);
}

static bool family_ok(const mf_prefix_t *p, mf_fib_source_t src)
{
  return p && (p->family == AF_INET || p->family == AF_INET6) &&
         p->len <= mf_prefix_max_len(p->family) && (unsigned)src < MF_FIB_N_SRC;
}

static mf_mtrie_t *trie_of(mf_fib_t *fib, int family)
{
  return family == AF_INET ? &fib->trie4 : &fib->trie6;
}

static uint32_t *per_len(mf_fib_t *fib, const mf_prefix_t *p)
{
  return p->family == AF_INET ? &fib->per_len4[p->len] : &fib->per_len6[p->len];
}

/* Lowest priority wins; on a tie the lower source, as fib.h promises. */
static int winner(const mf_fib_route_t *r)
{
  int w = -1;
  for (int s = 0; s < MF_FIB_N_SRC; s++)
    if ((r->present >> s & 1) && (w < 0 || r->priority[s] < r->priority[w]))
      w = s;
  return w;
}

/* The trie stores 23-bit codes; the miss adjacency has a code of its own so
 * that any miss_adj (UINT32_MAX, say) fits. */
static uint32_t code_of(const mf_fib_t *fib, uint32_t adj)
{
  return adj == fib->miss_adj ? MF_MTRIE_CODE_MISS : adj;
}

static uint32_t winner_leaf(const mf_fib_t *fib, const mf_fib_route_t *r)
{
  return mf_mtrie_leaf(code_of(fib, r->adj[winner(r)]), r->prefix.len);
}

/* The leaf of the longest route strictly shorter than p that contains it;
 * the miss leaf when there is none. */
static uint32_t cover_leaf(mf_fib_t *fib, const mf_prefix_t *p)
{
  for (int len = p->len - 1; len >= 0; len--) {
    mf_prefix_t q = *p;
    q.len = (uint8_t)len;
    if (*per_len(fib, &q) == 0)
      continue;
    mf_prefix_mask(&q);
    uint32_t idx = mf_fib_routes_find(&fib->routes, &q);
    if (idx != MF_FIB_ROUTES_NONE)
      return winner_leaf(fib, mf_fib_routes_at(&fib->routes, idx));
  }
  return mf_mtrie_leaf(MF_MTRIE_CODE_MISS, 0);
}

static void count(mf_fib_t *fib, const mf_prefix_t *p, int paths, int prefixes)
{
  if (p->family == AF_INET) {
    fib->paths4 += (uint32_t)paths;
    fib->prefixes4 += (uint32_t)prefixes;
  } else {
    fib->paths6 += (uint32_t)paths;
    fib->prefixes6 += (uint32_t)prefixes;
  }
  *per_len(fib, p) += (uint32_t)prefixes;
}

int mf_fib_add(mf_fib_t *fib, const mf_prefix_t *p, mf_fib_source_t src,
               uint32_t priority, uint32_t adj)
{
  if (!family_ok(p, src))
    return -EINVAL;
  if (adj >= MF_MTRIE_CODE_MISS && adj != fib->miss_adj)
    return -EINVAL;
  mf_prefix_t q = *p;
  mf_prefix_mask(&q);
  uint32_t idx = mf_fib_routes_find(&fib->routes, &q);
  mf_fib_route_t *r = idx == MF_FIB_ROUTES_NONE ? NULL : mf_fib_routes_at(&fib->routes, idx);
  bool replace = r && (r->present >> src & 1);
  if (!replace && fib->paths4 + fib->paths6 >= fib->max_routes) {
    fib->refused++;
    return -ENOSPC;
  }
  mf_mtrie_t *t = trie_of(fib, q.family);
  int rv = mf_mtrie_reserve(t);
  if (rv < 0)
    return rv;
  if (!r) {
    rv = mf_fib_routes_insert(&fib->routes, &q, &idx);
    if (rv == -ENOSPC)
      fib->refused++;
    if (rv < 0)
      return rv;
    r = mf_fib_routes_at(&fib->routes, idx);
    count(fib, &q, 0, 1);
  }
  uint32_t old = r->present ? winner_leaf(fib, r) : 0;
  r->present |= (uint8_t)(1u << src);
  r->priority[src] = priority;
  r->adj[src] = adj;
  if (!replace)
    count(fib, &q, 1, 0);
  uint32_t now = winner_leaf(fib, r);
  if (now != old)
    mf_mtrie_insert(t, q.addr, q.len, now);
  return 0;
}

int mf_fib_del(mf_fib_t *fib, const mf_prefix_t *p, mf_fib_source_t src)
{
  if (!family_ok(p, src))
    return -EINVAL;
  mf_prefix_t q = *p;
  mf_prefix_mask(&q);
  uint32_t idx = mf_fib_routes_find(&fib->routes, &q);
  if (idx == MF_FIB_ROUTES_NONE)
    return -ENOENT;
  mf_fib_route_t *r = mf_fib_routes_at(&fib->routes, idx);
  if (!(r->present >> src & 1))
    return -ENOENT;
  /* Removing may split a folded ply again, so it needs plies in hand too. */
  mf_mtrie_t *t = trie_of(fib, q.family);
  int rv = mf_mtrie_reserve(t);
  if (rv < 0)
    return rv;
  uint32_t old = winner_leaf(fib, r);
  r->present &= (uint8_t)~(1u << src);
  count(fib, &q, -1, 0);
  if (r->present) {
    uint32_t now = winner_leaf(fib, r);
    if (now != old)
      mf_mtrie_insert(t, q.addr, q.len, now);
    return 0;
  }
  mf_fib_routes_remove(&fib->routes, idx);
  count(fib, &q, 0, -1);
  mf_mtrie_remove(t, q.addr, q.len, cover_leaf(fib, &q));
  return 0;
}

static int compare_routes(const void *a, const void *b, void *ctx)
{
  const mf_fib_routes_t *routes = ctx;
  const mf_prefix_t *x = &mf_fib_routes_at(routes, *(const uint32_t *)a)->prefix;
  const mf_prefix_t *y = &mf_fib_routes_at(routes, *(const uint32_t *)b)->prefix;
  int c = memcmp(x->addr, y->addr, sizeof(x->addr));
  if (c)
    return c;
  return (int)x->len - (int)y->len;
}

static void walk_record(const mf_fib_route_t *r, mf_fib_walk_fn *fn, void *ctx)
{
  int w = winner(r);
  for (int s = 0; s < MF_FIB_N_SRC; s++)
    if (r->present >> s & 1)
      fn(&r->prefix, (mf_fib_source_t)s, r->priority[s], r->adj[s], s == w, ctx);
}

void mf_fib_walk(const mf_fib_t *fib, int family, mf_fib_walk_fn *fn,
                 void *ctx)
{
  const mf_fib_routes_t *routes = &fib->routes;
  uint32_t n = 0;
  for (uint32_t i = 0; i < routes->n_used; i++) {
    const mf_fib_route_t *r = mf_fib_routes_at(routes, i);
    n += r->present && r->prefix.family == family;
  }
  uint32_t *order = malloc((size_t)(n ? n : 1) * sizeof(*order));
  if (!order) {
    /* Out of memory for the index: still show everything, unsorted. */
    for (uint32_t i = 0; i < routes->n_used; i++) {
      const mf_fib_route_t *r = mf_fib_routes_at(routes, i);
      if (r->present && r->prefix.family == family)
        walk_record(r, fn, ctx);
    }
    return;
  }
  n = 0;
  for (uint32_t i = 0; i < routes->n_used; i++) {
    const mf_fib_route_t *r = mf_fib_routes_at(routes, i);
    if (r->present && r->prefix.family == family)
      order[n++] = i;
  }
  qsort_r(order, n, sizeof(*order), compare_routes, (void *)routes);
  for (uint32_t i = 0; i < n; i++)
    walk_record(mf_fib_routes_at(routes, order[i]), fn, ctx);
  free(order);
}

void mf_fib_get_stats(const mf_fib_t *fib, mf_fib_stats_t *st)
{
  *st = (mf_fib_stats_t){
      .routes4 = fib->paths4,
      .routes6 = fib->paths6,
      .prefixes4 = fib->prefixes4,
      .prefixes6 = fib->prefixes6,
      .refused = fib->refused,
      .memory_bytes = sizeof(*fib) + mf_mtrie_memory(&fib->trie4) +
                      mf_mtrie_memory(&fib->trie6) +
                      mf_fib_routes_memory(&fib->routes),
  };
}
