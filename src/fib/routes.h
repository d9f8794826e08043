/* The FIB's control plane: a hash table from prefix to the paths the route
 * sources hold for it (at most one per source). Records live in a pool and
 * are named by index; the table grows on demand up to a fixed number of
 * records and never past it.
 *
 * Threads: owned by the FIB's thread, like the rest of the FIB. */
#ifndef MF_FIB_ROUTES_H
#define MF_FIB_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "fib/fib.h"
#include "fib/prefix.h"

#define MF_FIB_ROUTES_NONE UINT32_MAX

typedef struct {
  mf_prefix_t prefix;   /* host bits clear */
  uint8_t present;      /* bit s set: source s holds a path */
  uint32_t next;        /* hash chain, or free list */
  uint32_t priority[MF_FIB_N_SRC];
  uint32_t adj[MF_FIB_N_SRC];
} mf_fib_route_t;

typedef struct {
  mf_fib_route_t *recs;
  uint32_t n_alloc, n_used, n_live, max_recs;
  uint32_t free_head;
  uint32_t *buckets; /* heads of the chains; n_buckets is a power of two */
  uint32_t n_buckets;
  uint64_t seed;     /* keys the hash, so that chosen addresses (DNS answers
                        become host routes) cannot pile up in one chain */
} mf_fib_routes_t;

/* max_recs bounds the records the table will ever hold. 0 or -ENOMEM. */
int mf_fib_routes_init(mf_fib_routes_t *r, uint32_t max_recs);
void mf_fib_routes_free(mf_fib_routes_t *r);

/* The record of the prefix (already masked), or MF_FIB_ROUTES_NONE. */
uint32_t mf_fib_routes_find(const mf_fib_routes_t *r, const mf_prefix_t *p);
/* Adds a record with no paths for a prefix not yet in the table; its index
 * goes to *idx. 0, -ENOSPC past max_recs, or -ENOMEM. */
int mf_fib_routes_insert(mf_fib_routes_t *r, const mf_prefix_t *p,
                         uint32_t *idx);
/* Drops the record; its index may be reused by the next insert. */
void mf_fib_routes_remove(mf_fib_routes_t *r, uint32_t idx);

static inline mf_fib_route_t *mf_fib_routes_at(const mf_fib_routes_t *r,
                                               uint32_t idx)
{
  return &r->recs[idx];
}

size_t mf_fib_routes_memory(const mf_fib_routes_t *r);

#endif
