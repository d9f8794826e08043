/* Ring memory for every TCP connection of a worker: blocks of the two
 * ring sizes, bounded by one budget. Freed blocks wait on a free list per
 * direction (linked through their first bytes, with their size, so a
 * block of an older configuration is recognised and let go) and are
 * reused before anything new is allocated: bursts of connections do not
 * call malloc per ring. The budget counts blocks handed out and cached
 * alike, so it bounds the memory really held. */
#include <stdlib.h>

#include "hoststack/tcp_internal.h"

typedef struct mf_tcp_free_block {
  struct mf_tcp_free_block *next;
  uint32_t size;
} mf_tcp_free_block_t;

void mf_tcp_mem_init(mf_tcp_mem_t *m, uint64_t budget)
{
  m->budget = budget;
  m->in_use = m->cached = m->failures = 0;
  m->free_rx = m->free_tx = NULL;
}

static void free_list(mf_tcp_mem_t *m, void **head)
{
  mf_tcp_free_block_t *b = *head;
  while (b) {
    mf_tcp_free_block_t *next = b->next;
    m->cached -= b->size;
    free(b);
    b = next;
  }
  *head = NULL;
}

void mf_tcp_mem_destroy(mf_tcp_mem_t *m)
{
  free_list(m, &m->free_rx);
  free_list(m, &m->free_tx);
}

/* Frees cached blocks of the other direction (or of a stale size) until
 * size more bytes fit in the budget. */
static void make_room(mf_tcp_mem_t *m, uint32_t size)
{
  void **lists[2] = {&m->free_rx, &m->free_tx};
  for (int i = 0; i < 2; i++) {
    while (*lists[i] && m->in_use + m->cached + size > m->budget) {
      mf_tcp_free_block_t *b = *lists[i];
      *lists[i] = b->next;
      m->cached -= b->size;
      free(b);
    }
  }
}

uint8_t *mf_tcp_mem_get(mf_tcp_mem_t *m, uint32_t size, bool rx)
{
  if (m->in_use + size > m->budget || size < sizeof(mf_tcp_free_block_t)) {
    m->failures++;
    return NULL;
  }
  void **head = rx ? &m->free_rx : &m->free_tx;
  mf_tcp_free_block_t *b = *head;
  if (b && b->size == size) {
    *head = b->next;
    m->cached -= size;
    m->in_use += size;
    return (uint8_t *)b;
  }
  if (b) /* a block of an older ring size: useless now */
    free_list(m, head);
  make_room(m, size);
  uint8_t *p = m->in_use + m->cached + size <= m->budget ? malloc(size) : NULL;
  if (!p) {
    m->failures++;
    return NULL;
  }
  m->in_use += size;
  return p;
}

void mf_tcp_mem_put(mf_tcp_mem_t *m, uint8_t *block, uint32_t size, bool rx)
{
  if (!block)
    return;
  void **head = rx ? &m->free_rx : &m->free_tx;
  mf_tcp_free_block_t *b = (mf_tcp_free_block_t *)(void *)block;
  b->next = *head;
  b->size = size;
  *head = b;
  m->in_use -= size;
  m->cached += size;
}
