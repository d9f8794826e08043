/* The lookup structure behind the FIB: a multibit trie in the shape of fd.io
 * VPP's ip4 mtrie. A 16-bit root ply (65536 entries, always present) is
 * indexed by the first two bytes of the address; below it, 8-bit plies of
 * 256 entries are taken from a pool, one per address byte, down to the full
 * address length (IPv4: 16-8-8, IPv6: 16-8-...-8).
 *
 * Leaves are pushed down: every slot holds the answer for its whole range,
 * so a lookup stops at the first leaf. Each leaf also carries the length of
 * the prefix it came from, so that an insert overwrites only less specific
 * leaves and a delete finds exactly the slots its prefix owned. A ply whose
 * 256 entries become one leaf is folded back into its parent slot.
 *
 * Path compression: a ply that holds one leaf in 255 slots and something
 * else in the last is folded into a tail, a 32-byte node that says "if the
 * address starts with key/len go on with `hit`, else the answer is `miss`".
 * A lone IPv6 host route then costs one tail instead of 14 plies (14 KiB),
 * a lone IPv4 one a ply and a tail instead of two plies (IPv4 keeps tails
 * out of the root, see mtrie.c); this matters because DNS answers become
 * host routes. Updates expand tails back into plies on their way down and
 * fold again on their way up, so the shape of the trie depends only on the
 * routes in it, never on their history.
 *
 * Entries are uint32_t:
 *   ...x1  a leaf: bits 1..8 the prefix length, bits 9..31 the adjacency code
 *   ...00  a ply: its index << 2
 *   ...10  a tail: its index << 2 | 2
 *
 * Threads: one owner; lookups and updates run on the same thread. */
#ifndef MF_FIB_MTRIE_H
#define MF_FIB_MTRIE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MF_MTRIE_ROOT_SLOTS 65536u
#define MF_MTRIE_PLY_SLOTS 256u
/* 23 bits of adjacency code; the top code stands for "no route". */
#define MF_MTRIE_CODE_MISS 0x7fffffu
#define MF_MTRIE_MAX_NODES (1u << 24)

typedef struct {
  uint64_t key[2]; /* address bytes in memory order, zero past len */
  uint32_t hit;    /* any entry: where an address under key/len goes on */
  uint32_t miss;   /* a leaf: the answer for the rest of the range */
  uint32_t len;    /* a multiple of 8: tails replace whole plies */
  uint32_t mask4;  /* IPv4: the first len/8 bytes, as a mask over the
                      address loaded from memory; lookups skip a branch */
} mf_mtrie_tail_t;

typedef struct {
  uint32_t n_alloc;   /* room in the array */
  uint32_t n_used;    /* high-water mark */
  uint32_t n_live;    /* in the trie now */
  uint32_t free_head; /* free list; UINT32_MAX ends it */
} mf_mtrie_pool_t;

typedef struct {
  uint32_t *root;         /* MF_MTRIE_ROOT_SLOTS entries */
  uint32_t *plies;        /* plies.n_alloc plies of MF_MTRIE_PLY_SLOTS */
  mf_mtrie_tail_t *tails; /* tails.n_alloc tails */
  mf_mtrie_pool_t ply_pool, tail_pool;
  uint8_t key_bytes;        /* 4 or 16 */
  uint8_t first_tail_depth; /* no tails in slots shallower than this */
} mf_mtrie_t;

static inline uint32_t mf_mtrie_leaf(uint32_t code, unsigned len)
{
  return code << 9 | (uint32_t)len << 1 | 1u;
}
static inline int mf_mtrie_is_leaf(uint32_t e)
{
  return (int)(e & 1u);
}
static inline int mf_mtrie_is_ply(uint32_t e)
{
  return (e & 3u) == 0;
}
static inline int mf_mtrie_is_tail(uint32_t e)
{
  return (e & 3u) == 2;
}
static inline unsigned mf_mtrie_leaf_len(uint32_t e)
{
  return (e >> 1) & 0xffu;
}
static inline uint32_t mf_mtrie_leaf_code(uint32_t e)
{
  return e >> 9;
}
/* The entries of the ply a ply entry points at. */
static inline const uint32_t *mf_mtrie_child(const uint32_t *plies, uint32_t e)
{
  return plies + ((size_t)e << 6); /* (e >> 2) * 256 */
}
static inline const mf_mtrie_tail_t *mf_mtrie_tail(const mf_mtrie_tail_t *tails,
                                                   uint32_t e)
{
  return &tails[e >> 2];
}

/* The first n_bytes of a uint64_t loaded from memory, as a mask. */
static inline uint64_t mf_mtrie_bytes_mask(unsigned n_bytes)
{
  if (n_bytes >= 8)
    return ~0ull;
  if (n_bytes == 0)
    return 0;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return ~0ull << (64 - 8 * n_bytes);
#else
  return ~0ull >> (64 - 8 * n_bytes);
#endif
}

/* Whether an IPv4 address (4 bytes, as in the packet) starts with the
 * tail's key. */
static inline int mf_mtrie_tail_match4(const mf_mtrie_tail_t *t,
                                       const uint8_t *addr)
{
  uint32_t a, k;
  memcpy(&a, addr, 4);
  memcpy(&k, t->key, 4);
  return ((a ^ k) & t->mask4) == 0;
}

/* Whether an IPv6 address (16 bytes) starts with the tail's key. */
static inline int mf_mtrie_tail_match16(const mf_mtrie_tail_t *t,
                                        const uint8_t *addr)
{
  uint64_t a[2];
  memcpy(a, addr, 16);
  unsigned n = t->len / 8;
  uint64_t m0 = mf_mtrie_bytes_mask(n), m1 = mf_mtrie_bytes_mask(n > 8 ? n - 8 : 0);
  return (((a[0] ^ t->key[0]) & m0) | ((a[1] ^ t->key[1]) & m1)) == 0;
}

/* key_bytes is 4 or 16. Returns 0 or -ENOMEM. */
int mf_mtrie_init(mf_mtrie_t *t, unsigned key_bytes);
void mf_mtrie_free(mf_mtrie_t *t);

/* Makes sure the next insert or remove cannot run out of nodes; call it
 * first, so that an update never stops half way. Returns 0 or -ENOMEM. */
int mf_mtrie_reserve(mf_mtrie_t *t);

/* Installs `leaf` (made with mf_mtrie_leaf, len == its length) for the
 * prefix `key`/len: every slot of that range whose leaf is not more specific
 * takes it. key has host bits clear. Needs mf_mtrie_reserve just before. */
void mf_mtrie_insert(mf_mtrie_t *t, const uint8_t *key, unsigned len,
                     uint32_t leaf);
/* Takes the prefix key/len out: the slots it owned get `cover`, the leaf of
 * the longest shorter prefix that contains it (or the miss leaf). Needs
 * mf_mtrie_reserve just before. */
void mf_mtrie_remove(mf_mtrie_t *t, const uint8_t *key, unsigned len,
                     uint32_t cover);

/* Resolves an entry reached at byte `byte` of `addr` down to its leaf: the
 * general walk, for what the vector loops leave over. */
uint32_t mf_mtrie_resolve(const mf_mtrie_t *t, uint32_t e, const uint8_t *addr,
                          unsigned byte);

/* Bytes held by the root and the pools. */
size_t mf_mtrie_memory(const mf_mtrie_t *t);

#endif
