#include "fib/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* The 64-bit finaliser of MurmurHash3: every input bit reaches every
 * output bit. */
static uint64_t mix64(uint64_t h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint32_t hash_prefix(const mf_fib_routes_t *r, const mf_prefix_t *p)
{
  uint64_t w[2];
  memcpy(w, p->addr, sizeof(w));
  uint64_t h = mix64(r->seed ^ ((uint64_t)p->family << 8 | p->len));
  h = mix64(h ^ w[0]);
  h = mix64(h ^ w[1]);
  return (uint32_t)h;
}

static uint64_t random_seed(const mf_fib_routes_t *r)
{
  uint64_t s;
  if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
    return s;
  /* No entropy yet (early boot): still differ from run to run. */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return mix64((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)r);
}

static int set_buckets(mf_fib_routes_t *r, uint32_t n)
{
  uint32_t *b = malloc((size_t)n * sizeof(*b));
  if (!b)
    return -ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    b[i] = MF_FIB_ROUTES_NONE;
  /* Rehash by walking the old chains: free records are on no chain. */
  for (uint32_t i = 0; i < r->n_buckets; i++) {
    uint32_t idx = r->buckets[i];
    while (idx != MF_FIB_ROUTES_NONE) {
      mf_fib_route_t *rec = &r->recs[idx];
      uint32_t next = rec->next;
      uint32_t h = hash_prefix(r, &rec->prefix) & (n - 1);
      rec->next = b[h];
      b[h] = idx;
      idx = next;
    }
  }
  free(r->buckets);
  r->buckets = b;
  r->n_buckets = n;
  return 0;
}

int mf_fib_routes_init(mf_fib_routes_t *r, uint32_t max_recs)
{
  *r = (mf_fib_routes_t){.max_recs = max_recs, .free_head = MF_FIB_ROUTES_NONE};
  r->seed = random_seed(r);
  return set_buckets(r, 64);
}

void mf_fib_routes_free(mf_fib_routes_t *r)
{
  free(r->recs);
  free(r->buckets);
  *r = (mf_fib_routes_t){0};
}

uint32_t mf_fib_routes_find(const mf_fib_routes_t *r, const mf_prefix_t *p)
{
  uint32_t idx = r->buckets[hash_prefix(r, p) & (r->n_buckets - 1)];
  while (idx != MF_FIB_ROUTES_NONE) {
    const mf_fib_route_t *rec = &r->recs[idx];
    if (mf_prefix_equal(&rec->prefix, p))
      return idx;
    idx = rec->next;
  }
  return MF_FIB_ROUTES_NONE;
}

static int grow_records(mf_fib_routes_t *r)
{
  uint32_t n = r->n_alloc ? r->n_alloc * 2 : 64;
  if (n > r->max_recs || n < r->n_alloc)
    n = r->max_recs;
  mf_fib_route_t *recs = realloc(r->recs, (size_t)n * sizeof(*recs));
  if (!recs)
    return -ENOMEM;
  r->recs = recs;
  r->n_alloc = n;
  return 0;
}

static uint32_t take_record(mf_fib_routes_t *r)
{
  if (r->free_head != MF_FIB_ROUTES_NONE) {
    uint32_t idx = r->free_head;
    r->free_head = r->recs[idx].next;
    return idx;
  }
  return r->n_used++;
}

int mf_fib_routes_insert(mf_fib_routes_t *r, const mf_prefix_t *p,
                         uint32_t *idx)
{
  if (r->n_live >= r->max_recs)
    return -ENOSPC;
  /* Keep chains about one record long, but never size past the bound. */
  if (r->n_live >= r->n_buckets && r->n_buckets < r->max_recs &&
      r->n_buckets < (1u << 31)) {
    int rv = set_buckets(r, r->n_buckets * 2);
    if (rv < 0)
      return rv;
  }
  if (r->free_head == MF_FIB_ROUTES_NONE && r->n_used == r->n_alloc) {
    int rv = grow_records(r);
    if (rv < 0)
      return rv;
  }
  uint32_t i = take_record(r);
  mf_fib_route_t *rec = &r->recs[i];
  memset(rec, 0, sizeof(*rec));
  rec->prefix = *p;
  uint32_t h = hash_prefix(r, p) & (r->n_buckets - 1);
  rec->next = r->buckets[h];
  r->buckets[h] = i;
  r->n_live++;
  *idx = i;
  return 0;
}

void mf_fib_routes_remove(mf_fib_routes_t *r, uint32_t idx)
{
  mf_fib_route_t *rec = &r->recs[idx];
  uint32_t *link = &r->buckets[hash_prefix(r, &rec->prefix) & (r->n_buckets - 1)];
  while (*link != idx)
    link = &r->recs[*link].next;
  *link = rec->next;
  rec->present = 0;
  rec->next = r->free_head;
  r->free_head = idx;
  r->n_live--;
}

size_t mf_fib_routes_memory(const mf_fib_routes_t *r)
{
  return (size_t)r->n_alloc * sizeof(mf_fib_route_t) +
         (size_t)r->n_buckets * sizeof(uint32_t);
}
