/* IPv4 longest-prefix match of one address, inline, for a graph node that
 * walks its vector once (ip4-lookup) rather than gathering addresses for
 * mf_fib4_lookup_vector: in the shape of VPP's ip4_fib_mtrie_lookup_step,
 * a root load, and a ply load for addresses under a prefix longer than
 * /16; the rest (longer than /24, tails) out of line.
 *
 * Threads: as fib.h; the table must not change during a lookup. */
#ifndef MF_FIB_LOOKUP_H
#define MF_FIB_LOOKUP_H

#include <arpa/inet.h>
#include <stdint.h>

#include "fib/fib_table.h"

/* What a lookup reads of the table, copied into the caller's locals once
 * per vector: the compiler then keeps it in registers, where it could not
 * keep the table's own fields across the caller's stores to packets. */
typedef struct {
  const uint32_t *root, *plies;
  uint32_t miss_adj;
  const mf_fib_t *fib;
} mf_fib4_view_t;

static inline mf_fib4_view_t mf_fib4_view(const mf_fib_t *fib)
{
  return (mf_fib4_view_t){.root = fib->trie4.root,
                          .plies = fib->trie4.plies,
                          .miss_adj = fib->miss_adj,
                          .fib = fib};
}

/* Below the first ply (prefixes longer than /24, tails): out of line. */
uint32_t mf_fib4_lookup_deep(const mf_fib_t *fib, uint32_t e, uint32_t dst);

/* The adjacency for dst (network byte order, as read from the packet), or
 * the table's miss_adj. */
static inline uint32_t mf_fib4_lookup_one(const mf_fib4_view_t *v, uint32_t dst)
{
  uint32_t a = ntohl(dst);
  uint32_t e = v->root[a >> 16];
  if (__builtin_expect(!mf_mtrie_is_leaf(e), 0)) {
    /* The root holds plies and leaves only (mtrie.c): no tail here. */
    e = mf_mtrie_child(v->plies, e)[(uint8_t)(a >> 8)];
    if (__builtin_expect(!mf_mtrie_is_leaf(e), 0))
      e = mf_fib4_lookup_deep(v->fib, e, dst);
  }
  uint32_t code = mf_mtrie_leaf_code(e);
  return code == MF_MTRIE_CODE_MISS ? v->miss_adj : code;
}

#endif
