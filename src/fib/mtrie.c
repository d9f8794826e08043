#include "fib/mtrie.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Plies below the root on the longest path: one per address byte after the
 * first two. An update expands at most this many. */
static unsigned path_plies(const mf_mtrie_t *t)
{
  return t->key_bytes - 2u;
}

/* ---- the pools ---- */

static void pool_init(mf_mtrie_pool_t *p)
{
  *p = (mf_mtrie_pool_t){.free_head = UINT32_MAX};
}

/* Grows by an eighth at a time: big arrays are remapped, not copied, so
 * small steps cost little and keep the slack (which counts as memory) low. */
static int pool_reserve(void **array, mf_mtrie_pool_t *p, uint32_t need,
                        size_t elem)
{
  if (need <= p->n_alloc)
    return 0;
  if (need > MF_MTRIE_MAX_NODES)
    return -ENOMEM;
  uint32_t n = p->n_alloc + p->n_alloc / 8;
  if (n < need)
    n = need;
  if (n < 16)
    n = 16;
  if (n > MF_MTRIE_MAX_NODES)
    n = MF_MTRIE_MAX_NODES;
  void *a = realloc(*array, (size_t)n * elem);
  if (!a)
    return -ENOMEM;
  *array = a;
  p->n_alloc = n;
  return 0;
}

/* Never fails after mf_mtrie_reserve. `link` is where a free element keeps
 * the next free index. */
static uint32_t pool_take(mf_mtrie_pool_t *p, const uint32_t *link)
{
  uint32_t idx = p->free_head;
  if (idx != UINT32_MAX)
    p->free_head = *link;
  else
    idx = p->n_used++;
  p->n_live++;
  return idx;
}

static uint32_t *ply_at(mf_mtrie_t *t, uint32_t e)
{
  return t->plies + ((size_t)e << 6);
}

static mf_mtrie_tail_t *tail_at(mf_mtrie_t *t, uint32_t e)
{
  return &t->tails[e >> 2];
}

static uint32_t ply_alloc(mf_mtrie_t *t)
{
  uint32_t head = t->ply_pool.free_head;
  const uint32_t *link = head == UINT32_MAX ? NULL : t->plies + (size_t)head * MF_MTRIE_PLY_SLOTS;
  return pool_take(&t->ply_pool, link) << 2;
}

static void ply_free(mf_mtrie_t *t, uint32_t e)
{
  *ply_at(t, e) = t->ply_pool.free_head;
  t->ply_pool.free_head = e >> 2;
  t->ply_pool.n_live--;
}

static uint32_t tail_alloc(mf_mtrie_t *t)
{
  uint32_t head = t->tail_pool.free_head;
  const uint32_t *link = head == UINT32_MAX ? NULL : &t->tails[head].hit;
  return pool_take(&t->tail_pool, link) << 2 | 2u;
}

static void tail_free(mf_mtrie_t *t, uint32_t e)
{
  tail_at(t, e)->hit = t->tail_pool.free_head;
  t->tail_pool.free_head = e >> 2;
  t->tail_pool.n_live--;
}

int mf_mtrie_init(mf_mtrie_t *t, unsigned key_bytes)
{
  /* IPv4 keeps tails out of the root: a vector lookup then reads the root
   * and one ply slot, branch-free, for all but a few addresses; resolving
   * root tails as well cost a quarter of the rate on an internet-like table
   * (bench/fib), more than the plies they save are worth. IPv6 walks
   * several levels anyway and gains most from tails. */
  *t = (mf_mtrie_t){.key_bytes = (uint8_t)key_bytes,
                    .first_tail_depth = key_bytes == 4 ? 24 : 16};
  pool_init(&t->ply_pool);
  pool_init(&t->tail_pool);
  t->root = malloc(MF_MTRIE_ROOT_SLOTS * sizeof(uint32_t));
  if (!t->root)
    return -ENOMEM;
  uint32_t miss = mf_mtrie_leaf(MF_MTRIE_CODE_MISS, 0);
  for (uint32_t i = 0; i < MF_MTRIE_ROOT_SLOTS; i++)
    t->root[i] = miss;
  /* Lookups read ply 0 and tail 0 for nothing when the entry in hand is
   * something else (lookup.c): they always exist, and start out defined. */
  int rv = mf_mtrie_reserve(t);
  if (rv == 0) {
    memset(t->plies, 0, MF_MTRIE_PLY_SLOTS * sizeof(uint32_t));
    memset(t->tails, 0, sizeof(*t->tails));
  }
  return rv;
}

void mf_mtrie_free(mf_mtrie_t *t)
{
  free(t->root);
  free(t->plies);
  free(t->tails);
  *t = (mf_mtrie_t){0};
}

int mf_mtrie_reserve(mf_mtrie_t *t)
{
  /* Expanding along one path takes at most path_plies plies; every tail an
   * update makes replaces a ply it folds, so at most one per ply. */
  uint32_t plies = t->ply_pool.n_live + path_plies(t);
  uint32_t tails = t->tail_pool.n_live + plies;
  int rv = pool_reserve((void **)&t->plies, &t->ply_pool, plies,
                        MF_MTRIE_PLY_SLOTS * sizeof(uint32_t));
  if (rv == 0)
    rv = pool_reserve((void **)&t->tails, &t->tail_pool, tails, sizeof(mf_mtrie_tail_t));
  return rv;
}

/* ---- folding and expanding ----
 * A slot is named by its region: the first `depth` bits of `key`; a ply in
 * it is at that depth and is indexed by key byte depth / 8. */

static uint32_t new_tail(mf_mtrie_t *t, const uint8_t *key, unsigned depth,
                         unsigned byte, uint32_t hit, uint32_t miss)
{
  uint8_t k[16] = {0};
  memcpy(k, key, depth / 8);
  k[depth / 8] = (uint8_t)byte;
  uint32_t e = tail_alloc(t);
  mf_mtrie_tail_t *x = tail_at(t, e);
  memcpy(x->key, k, sizeof(k));
  x->len = depth + 8;
  x->mask4 = (uint32_t)mf_mtrie_bytes_mask(x->len / 8);
  x->hit = hit;
  x->miss = miss;
  return e;
}

/* A tail whose two outcomes agree is no tail; one whose hit is a tail with
 * the same miss is that inner tail. */
static void normalize_tail(mf_mtrie_t *t, uint32_t *slot)
{
  uint32_t e = *slot;
  const mf_mtrie_tail_t *x = tail_at(t, e);
  if (x->hit == x->miss)
    *slot = x->miss;
  else if (mf_mtrie_is_tail(x->hit) && tail_at(t, x->hit)->miss == x->miss)
    *slot = x->hit;
  else
    return;
  tail_free(t, e);
}

/* Folds the ply in *slot into a leaf when its 256 entries are one leaf, or
 * into a tail when 255 of them are. */
static void fold(mf_mtrie_t *t, uint32_t *slot, const uint8_t *key,
                 unsigned depth)
{
  if (mf_mtrie_is_tail(*slot)) {
    normalize_tail(t, slot);
    return;
  }
  if (!mf_mtrie_is_ply(*slot))
    return;
  const uint32_t *p = ply_at(t, *slot);
  /* A value in 255 slots or more is in two of the first three. */
  uint32_t common = p[0] == p[1] || p[0] == p[2] ? p[0] : p[1];
  if (!mf_mtrie_is_leaf(common))
    return;
  unsigned n_odd = 0, odd = 0;
  for (unsigned i = 0; i < MF_MTRIE_PLY_SLOTS; i++) {
    if (p[i] != common) {
      if (++n_odd > 1)
        return;
      odd = i;
    }
  }
  uint32_t ply = *slot;
  uint32_t x = p[odd];
  if (n_odd && depth < t->first_tail_depth)
    return;
  if (n_odd == 0)
    *slot = common;
  else if (mf_mtrie_is_tail(x) && tail_at(t, x)->miss == common)
    *slot = x;
  else
    *slot = new_tail(t, key, depth, odd, x, common);
  ply_free(t, ply);
}

/* Makes *slot a ply with the same answers: a leaf is copied to every entry;
 * a tail moves one byte down, or ends in its hit. */
static void expand(mf_mtrie_t *t, uint32_t *slot, unsigned depth)
{
  uint32_t e = *slot;
  uint32_t ply = ply_alloc(t);
  uint32_t *p = ply_at(t, ply);
  if (mf_mtrie_is_leaf(e)) {
    for (unsigned i = 0; i < MF_MTRIE_PLY_SLOTS; i++)
      p[i] = e;
  } else {
    mf_mtrie_tail_t *x = tail_at(t, e);
    uint8_t k[16];
    memcpy(k, x->key, sizeof(k));
    for (unsigned i = 0; i < MF_MTRIE_PLY_SLOTS; i++)
      p[i] = x->miss;
    if (x->len == depth + 8) {
      p[k[depth / 8]] = x->hit;
      tail_free(t, e);
    } else {
      p[k[depth / 8]] = e;
    }
  }
  *slot = ply;
}

/* ---- changing leaves under a slot ----
 * `key` is scratch space that starts with the slot's region. */

typedef struct {
  bool insert;
  uint32_t leaf;   /* insert: the new leaf; remove: the cover */
  unsigned len;    /* of the prefix inserted or removed */
} change_t;

/* Insert: a leaf not more specific than the prefix takes the new leaf.
 * Remove: a leaf of the prefix's length takes the cover (within one
 * prefix's range, only that prefix has that length). */
static uint32_t change_leaf(const change_t *c, uint32_t e)
{
  unsigned len = mf_mtrie_leaf_len(e);
  if (c->insert ? len <= c->len : len == c->len)
    return c->leaf;
  return e;
}

static void apply(mf_mtrie_t *t, uint32_t *slot, const change_t *c,
                  uint8_t *key, unsigned depth)
{
  uint32_t e = *slot;
  if (mf_mtrie_is_leaf(e)) {
    *slot = change_leaf(c, e);
    return;
  }
  if (mf_mtrie_is_ply(e)) {
    uint32_t *p = ply_at(t, e);
    for (unsigned i = 0; i < MF_MTRIE_PLY_SLOTS; i++) {
      key[depth / 8] = (uint8_t)i;
      apply(t, &p[i], c, key, depth + 8);
    }
  } else {
    mf_mtrie_tail_t *x = tail_at(t, e);
    uint8_t k[16];
    memcpy(k, x->key, sizeof(k));
    x->miss = change_leaf(c, x->miss);
    apply(t, &x->hit, c, k, x->len);
  }
  fold(t, slot, key, depth);
}

/* Walks down to the ply whose slots the prefix spans, expanding on the way,
 * changes that span, then folds what became foldable, deepest first. */
static void update(mf_mtrie_t *t, const uint8_t *prefix, const change_t *c)
{
  uint8_t key[16] = {0}, scratch[16];
  memcpy(key, prefix, t->key_bytes);
  uint32_t *path[16];
  unsigned n_path = 0;
  if (c->len <= 16) {
    uint32_t span = 1u << (16 - c->len);
    uint32_t base = ((uint32_t)key[0] << 8 | key[1]) & ~(span - 1);
    for (uint32_t i = base; i < base + span; i++) {
      memcpy(scratch, key, sizeof(key));
      scratch[0] = (uint8_t)(i >> 8);
      scratch[1] = (uint8_t)i;
      apply(t, &t->root[i], c, scratch, 16);
    }
    return;
  }
  uint32_t *slot = &t->root[(uint32_t)key[0] << 8 | key[1]];
  unsigned depth = 16;
  for (;;) {
    if (!mf_mtrie_is_ply(*slot)) {
      /* A removed prefix left slots only where a leaf of its length lies. */
      if (!c->insert && mf_mtrie_is_leaf(*slot) &&
          mf_mtrie_leaf_len(*slot) != c->len)
        break;
      expand(t, slot, depth);
    }
    path[n_path++] = slot;
    uint32_t *p = ply_at(t, *slot);
    uint8_t byte = key[depth / 8];
    if (c->len <= depth + 8) {
      uint32_t span = 1u << (depth + 8 - c->len);
      uint32_t base = byte & ~(span - 1);
      for (uint32_t i = base; i < base + span; i++) {
        memcpy(scratch, key, sizeof(key));
        scratch[depth / 8] = (uint8_t)i;
        apply(t, &p[i], c, scratch, depth + 8);
      }
      break;
    }
    slot = &p[byte];
    depth += 8;
  }
  while (n_path > 0) {
    n_path--;
    fold(t, path[n_path], key, 16 + 8 * n_path);
  }
}

void mf_mtrie_insert(mf_mtrie_t *t, const uint8_t *key, unsigned len,
                     uint32_t leaf)
{
  change_t c = {.insert = true, .leaf = leaf, .len = len};
  update(t, key, &c);
}

void mf_mtrie_remove(mf_mtrie_t *t, const uint8_t *key, unsigned len,
                     uint32_t cover)
{
  change_t c = {.insert = false, .leaf = cover, .len = len};
  update(t, key, &c);
}

uint32_t mf_mtrie_resolve(const mf_mtrie_t *t, uint32_t e, const uint8_t *addr,
                          unsigned byte)
{
  /* Each step goes at least one byte deeper, and plies at the last byte
   * hold no plies: at most key_bytes steps. */
  for (unsigned steps = 0; !mf_mtrie_is_leaf(e) && steps < t->key_bytes; steps++) {
    if (mf_mtrie_is_ply(e)) {
      e = mf_mtrie_child(t->plies, e)[addr[byte++]];
      continue;
    }
    const mf_mtrie_tail_t *x = mf_mtrie_tail(t->tails, e);
    int match = t->key_bytes == 4 ? mf_mtrie_tail_match4(x, addr)
                                  : mf_mtrie_tail_match16(x, addr);
    if (match) {
      e = x->hit;
      byte = x->len / 8;
    } else {
      e = x->miss;
    }
  }
  return e;
}

size_t mf_mtrie_memory(const mf_mtrie_t *t)
{
  return MF_MTRIE_ROOT_SLOTS * sizeof(uint32_t) +
         (size_t)t->ply_pool.n_alloc * MF_MTRIE_PLY_SLOTS * sizeof(uint32_t) +
         (size_t)t->tail_pool.n_alloc * sizeof(mf_mtrie_tail_t);
}
