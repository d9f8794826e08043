/* A new profile's routes into a running FIB: the paths of source
 * `profile` become exactly the profile's, and no other source is touched
 * (DNS host routes, the stack's addresses).
 *
 * The FIB's profile paths are read back (they are the truth, whatever
 * profile put them there), both sides sorted, and merged: a prefix only
 * in the FIB is deleted, one only in the profile added, one in both with
 * another interface replaced; a path that stays as it was is not touched,
 * so lookups of untouched prefixes never change. Every step is logged so
 * that a failure (the FIB full, out of memory) undoes the steps before
 * it: the FIB is then as it was. ip-lookup keeps no state between frames
 * and the main loop is single-threaded, so packets see either the old
 * routes or the new ones. */
#include "daemon/reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dataplane.h"

#define NO_ADJ UINT32_MAX

typedef struct {
  mf_prefix_t prefix;
  uint32_t adj;
  uint32_t seq; /* order written */
} path_t;

/* One change made, with what it replaced (NO_ADJ: nothing, an add). */
typedef struct {
  mf_prefix_t prefix;
  uint32_t before;
} undo_t;

typedef struct {
  path_t *v;
  uint32_t n, cap;
  bool failed;
} paths_t;

static void push(paths_t *ps, const mf_prefix_t *p, uint32_t adj)
{
  if (ps->n == ps->cap) {
    uint32_t cap = ps->cap ? ps->cap * 2 : 64;
    path_t *v = realloc(ps->v, cap * sizeof(*v));
    if (!v) {
      ps->failed = true;
      return;
    }
    ps->v = v;
    ps->cap = cap;
  }
  path_t *e = &ps->v[ps->n];
  e->prefix = *p;
  mf_prefix_mask(&e->prefix);
  e->adj = adj;
  e->seq = ps->n++;
}

static void collect_profile_path(const mf_prefix_t *p, mf_fib_source_t src,
                                 uint32_t priority, uint32_t adj, bool active,
                                 void *ctx)
{
  (void)priority;
  (void)active;
  if (src == MF_FIB_SRC_PROFILE)
    push(ctx, p, adj);
}

static int prefix_cmp(const void *a, const void *b)
{
  const mf_prefix_t *x = a, *y = b;
  if (x->family != y->family)
    return x->family < y->family ? -1 : 1;
  if (x->len != y->len)
    return x->len < y->len ? -1 : 1;
  return memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16);
}

/* Sorted by prefix, then by the order written: of a prefix written twice
 * the later counts, as at start, when the routes were added in order. */
static int path_cmp(const void *a, const void *b)
{
  const path_t *x = a, *y = b;
  int c = prefix_cmp(&x->prefix, &y->prefix);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int apply(mf_fib_t *fib, undo_t *log, uint32_t *n_log,
                 const mf_prefix_t *p, uint32_t before, uint32_t after)
{
  int rv = after == NO_ADJ
               ? mf_fib_del(fib, p, MF_FIB_SRC_PROFILE)
               : mf_fib_add(fib, p, MF_FIB_SRC_PROFILE,
                            MF_DATAPLANE_PRIORITY_PROFILE, after);
  if (rv == 0)
    log[(*n_log)++] = (undo_t){*p, before};
  return rv;
}

static void undo(mf_fib_t *fib, const undo_t *log, uint32_t n)
{
  while (n--) {
    if (log[n].before == NO_ADJ)
      mf_fib_del(fib, &log[n].prefix, MF_FIB_SRC_PROFILE);
    else
      mf_fib_add(fib, &log[n].prefix, MF_FIB_SRC_PROFILE,
                 MF_DATAPLANE_PRIORITY_PROFILE, log[n].before);
  }
}

/* Deletions first (they make room in a FIB near its limit), then adds
 * and replacements. */
static int merge(mf_fib_t *fib, const paths_t *old, const paths_t *now,
                 undo_t *log, uint32_t *n_log, mf_reload_routes_stats_t *st)
{
  for (int pass = 0; pass < 2; pass++) {
    uint32_t i = 0, j = 0;
    while (i < old->n || j < now->n) {
      int c = i == old->n   ? 1
              : j == now->n ? -1
                            : prefix_cmp(&old->v[i].prefix, &now->v[j].prefix);
      /* Duplicates in the profile: only the last of a run counts. */
      if (c >= 0 && j + 1 < now->n &&
          prefix_cmp(&now->v[j].prefix, &now->v[j + 1].prefix) == 0) {
        j++;
        continue;
      }
      int rv = 0;
      if (c < 0 && pass == 0) {
        rv = apply(fib, log, n_log, &old->v[i].prefix, old->v[i].adj, NO_ADJ);
        st->removed++;
      } else if (c > 0 && pass == 1) {
        rv = apply(fib, log, n_log, &now->v[j].prefix, NO_ADJ, now->v[j].adj);
        st->added++;
      } else if (c == 0 && pass == 1 && old->v[i].adj != now->v[j].adj) {
        rv = apply(fib, log, n_log, &now->v[j].prefix, old->v[i].adj,
                   now->v[j].adj);
        st->changed++;
      }
      if (rv < 0)
        return rv;
      i += c <= 0;
      j += c >= 0;
    }
  }
  return 0;
}

int mf_reload_routes(mf_fib_t *fib, const mf_profile_t *next,
                     mf_reload_routes_stats_t *st)
{
  memset(st, 0, sizeof(*st));
  paths_t old = {0}, now = {0};
  mf_fib_walk(fib, AF_INET, collect_profile_path, &old);
  mf_fib_walk(fib, AF_INET6, collect_profile_path, &old);
  for (uint32_t i = 0; i < next->n_routes; i++)
    push(&now, &next->routes[i].cidr,
         MF_IF_FIRST_PROFILE + next->routes[i].iface);
  undo_t *log = malloc(((size_t)old.n + now.n + 1) * sizeof(*log));
  int rv = old.failed || now.failed || !log ? -ENOMEM : 0;
  if (rv == 0) {
    if (old.n)
      qsort(old.v, old.n, sizeof(*old.v), path_cmp);
    if (now.n)
      qsort(now.v, now.n, sizeof(*now.v), path_cmp);
    uint32_t n_log = 0;
    rv = merge(fib, &old, &now, log, &n_log, st);
    if (rv < 0) {
      undo(fib, log, n_log);
      memset(st, 0, sizeof(*st));
    }
  }
  free(log);
  free(old.v);
  free(now.v);
  return rv;
}
