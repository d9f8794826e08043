/* What a FIB is made of, shared by the control plane (fib.c) and the
 * lookups (lookup.c, lookup.h); nothing outside src/fib includes this but
 * through lookup.h. */
#ifndef MF_FIB_FIB_TABLE_H
#define MF_FIB_FIB_TABLE_H

#include <stdint.h>

#include "fib/fib.h"
#include "fib/mtrie.h"
#include "fib/routes.h"

struct mf_fib {
  mf_mtrie_t trie4, trie6;
  mf_fib_routes_t routes;
  uint32_t miss_adj;
  uint32_t max_routes;
  uint32_t paths4, paths6;       /* (prefix, source) paths */
  uint32_t prefixes4, prefixes6; /* records, each with at least one path */
  uint64_t refused;
  /* Prefixes held per length: the search for a covering route skips the
   * lengths nobody uses. */
  uint32_t per_len4[33], per_len6[129];
};

/* The adjacency a leaf stands for. Computed without a branch: whether an
 * address has a route is as unpredictable as the address. */
static inline uint32_t mf_fib_leaf_adj(const struct mf_fib *fib, uint32_t leaf)
{
  uint32_t code = mf_mtrie_leaf_code(leaf);
  uint32_t is_miss = -(uint32_t)(code == MF_MTRIE_CODE_MISS);
  return code ^ ((code ^ fib->miss_adj) & is_miss);
}

#endif
