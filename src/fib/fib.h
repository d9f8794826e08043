/* The forwarding information base: longest-prefix match for IPv4 and IPv6.
 *
 * Control plane: routes are (prefix, source) pairs, each with a priority and
 * an adjacency (a small integer the caller gives meaning to: here, the index
 * of the interface that takes the packet). Several sources may hold the same
 * prefix; the path with the lowest priority value wins, ties going to the
 * lower source. Only the winner is in the lookup structure.
 *
 * Data plane: lookups take a whole vector of addresses at once.
 *
 * Threads: the control plane and the lookups run on the thread that owns the
 * table; nothing here locks. */
#ifndef MF_FIB_FIB_H
#define MF_FIB_FIB_H

#include <stdbool.h>
#include <stdint.h>

#include "fib/prefix.h"

typedef enum {
  MF_FIB_SRC_LOCAL = 0, /* the stack's own addresses */
  MF_FIB_SRC_PROFILE,   /* routes: in the profile */
  MF_FIB_SRC_DNS,       /* host routes learned from DNS answers */
  MF_FIB_SRC_VPN,       /* routes a tunnel brings */
  MF_FIB_N_SRC
} mf_fib_source_t;

const char *mf_fib_source_name(mf_fib_source_t src);

typedef struct mf_fib mf_fib_t;

typedef struct {
  uint32_t routes4, routes6;   /* (prefix, source) paths held */
  uint32_t prefixes4, prefixes6; /* distinct prefixes in the lookup structure */
  uint64_t refused;            /* adds refused because max_routes was reached */
  uint64_t memory_bytes;       /* lookup structures plus route table */
} mf_fib_stats_t;

/* max_routes bounds the (prefix, source) paths of both families together;
 * miss_adj is what a lookup returns when no prefix matches. NULL on ENOMEM. */
mf_fib_t *mf_fib_create(uint32_t max_routes, uint32_t miss_adj);
void mf_fib_destroy(mf_fib_t *fib);

/* Adjacencies are 23-bit codes: 0 .. MF_FIB_ADJ_MAX (and miss_adj). */
#define MF_FIB_ADJ_MAX 0x7ffffeu

/* Adds or replaces the path of `src` for the prefix (host bits are masked
 * off). Returns 0, -ENOSPC past max_routes, -EINVAL for a bad family or
 * an adjacency above MF_FIB_ADJ_MAX, -ENOMEM when the trie cannot grow. */
int mf_fib_add(mf_fib_t *fib, const mf_prefix_t *p, mf_fib_source_t src,
               uint32_t priority, uint32_t adj);
/* Removes the path of `src` for the prefix; -ENOENT when it has none,
 * -ENOMEM when a folded node must be split and cannot be. */
int mf_fib_del(mf_fib_t *fib, const mf_prefix_t *p, mf_fib_source_t src);

/* dst: IPv4 addresses in network byte order, as read from packets. */
void mf_fib4_lookup_vector(const mf_fib_t *fib, const uint32_t *dst,
                           uint32_t *adj, uint32_t n);
/* dst[i] points at a 16-byte IPv6 address (in a packet). */
void mf_fib6_lookup_vector(const mf_fib_t *fib, const uint8_t *const *dst,
                           uint32_t *adj, uint32_t n);

/* Calls fn for every path of the family (AF_INET / AF_INET6) in prefix
 * order (address, then length); `active` marks the path that won. */
typedef void mf_fib_walk_fn(const mf_prefix_t *p, mf_fib_source_t src,
                            uint32_t priority, uint32_t adj, bool active,
                            void *ctx);
void mf_fib_walk(const mf_fib_t *fib, int family, mf_fib_walk_fn *fn,
                 void *ctx);

void mf_fib_get_stats(const mf_fib_t *fib, mf_fib_stats_t *st);

#endif
