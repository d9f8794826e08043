/* The FIB's data plane: longest-prefix match over a vector of addresses.
 * Reads only the tries; see mtrie.h for the entry encoding.
 *
 * The vector is walked breadth-first, as VPP's ip4-lookup does: one trie
 * level for a batch of addresses, then the next. The loads of one level do
 * not depend on each other, so the memory system serves them side by side,
 * and each level prefetches the slot the next one reads. The common steps
 * are branch-free, because whether an address stops at a level, or has a
 * route at all, is as random as the address. */
#include <arpa/inet.h>

#include "fib/fib_table.h"
#include "fib/lookup.h"

/* Addresses in flight. On bench/fib's 100k-route IPv4 table, batches of
 * 64 ran about 7% slower than 128, 256 no faster; one address at a time
 * (no staging, no prefetch) ran at about half the rate. */
#define BATCH 128

/* All ones for a ply entry, zero for a leaf or a tail: arithmetic rather
 * than a condition, which compilers like to turn back into a branch. */
static inline uint32_t ply_mask(uint32_t e)
{
  return -(uint32_t)((e & 3u) == 0);
}

/* The slot a ply entry leads to for `byte`; a slot of ply 0 otherwise. */
static inline const uint32_t *next_slot(const uint32_t *plies, uint32_t e,
                                        uint8_t byte)
{
  return mf_mtrie_child(plies, e & ply_mask(e)) + byte;
}

/* Root and second level for the whole batch, branch-free; then what is
 * left (third-level plies, tails under a /24): few in a big table, and the
 * branch to them predictable. The root holds no tails (mtrie.c). The
 * first pass keeps, per address, the ply slot it will read (slot 0 of ply
 * 0, always defined, for a root leaf), so the second pass reads it with
 * one load and no recomputing; a ply entry is its index << 2, so << 6 is
 * the index of its first slot. */
static void lookup4_batch(const mf_fib_t *fib, const uint32_t *dst,
                          uint32_t *adj, uint32_t n)
{
  const mf_mtrie_t *t = &fib->trie4;
  const uint32_t *root = t->root, *plies = t->plies;
  const uint32_t miss = fib->miss_adj;
  uint32_t e[BATCH], slot[BATCH];
  for (uint32_t i = 0; i < n; i++) {
    uint32_t a = ntohl(dst[i]);
    uint32_t x = root[a >> 16];
    e[i] = x;
    slot[i] = ((x << 6) | ((a >> 8) & 0xffu)) & ply_mask(x);
    __builtin_prefetch(plies + slot[i]);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t m = ply_mask(e[i]);
    uint32_t x = (plies[slot[i]] & m) | (e[i] & ~m);
    if (!mf_mtrie_is_leaf(x))
      x = mf_mtrie_resolve(t, x, (const uint8_t *)&dst[i], 3);
    uint32_t code = mf_mtrie_leaf_code(x);
    adj[i] = code == MF_MTRIE_CODE_MISS ? miss : code;
  }
}

void mf_fib4_lookup_vector(const mf_fib_t *fib, const uint32_t *dst,
                           uint32_t *adj, uint32_t n)
{
  for (uint32_t i = 0; i < n; i += BATCH)
    lookup4_batch(fib, dst + i, adj + i, n - i < BATCH ? n - i : BATCH);
}

uint32_t mf_fib4_lookup_deep(const mf_fib_t *fib, uint32_t e, uint32_t dst)
{
  return mf_mtrie_resolve(&fib->trie4, e, (const uint8_t *)&dst, 3);
}


/* One level for every address still short of a leaf, prefetching what the
 * next level reads, until none is left. */
static void lookup6_batch(const mf_fib_t *fib, const uint8_t *const *dst,
                          uint32_t *adj, uint32_t n)
{
  const mf_mtrie_t *t = &fib->trie6;
  uint32_t e[BATCH];
  uint8_t byte[BATCH];
  uint32_t todo[BATCH], n_todo = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *d = dst[i];
    e[i] = t->root[(uint32_t)d[0] << 8 | d[1]];
    byte[i] = 2;
    if (!mf_mtrie_is_leaf(e[i])) {
      todo[n_todo++] = i;
      __builtin_prefetch(next_slot(t->plies, e[i], d[2]));
    }
  }
  /* Each round takes every address at least one byte deeper. */
  for (unsigned round = 0; n_todo && round < 14; round++) {
    uint32_t left = 0;
    for (uint32_t k = 0; k < n_todo; k++) {
      uint32_t i = todo[k];
      const uint8_t *d = dst[i];
      uint32_t x = e[i];
      if (mf_mtrie_is_ply(x)) {
        x = mf_mtrie_child(t->plies, x)[d[byte[i]++]];
      } else {
        const mf_mtrie_tail_t *tail = mf_mtrie_tail(t->tails, x);
        if (mf_mtrie_tail_match16(tail, d)) {
          x = tail->hit;
          byte[i] = (uint8_t)(tail->len / 8);
        } else {
          x = tail->miss;
        }
      }
      e[i] = x;
      if (mf_mtrie_is_leaf(x))
        continue;
      todo[left++] = i;
      if (mf_mtrie_is_ply(x))
        __builtin_prefetch(mf_mtrie_child(t->plies, x) + d[byte[i]]);
      else
        __builtin_prefetch(mf_mtrie_tail(t->tails, x));
    }
    n_todo = left;
  }
  for (uint32_t i = 0; i < n; i++)
    adj[i] = mf_fib_leaf_adj(fib, e[i]);
}

void mf_fib6_lookup_vector(const mf_fib_t *fib, const uint8_t *const *dst,
                           uint32_t *adj, uint32_t n)
{
  for (uint32_t i = 0; i < n; i += BATCH)
    lookup6_batch(fib, dst + i, adj + i, n - i < BATCH ? n - i : BATCH);
}
