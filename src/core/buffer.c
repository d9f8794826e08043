#include "core/buffer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int mf_buffer_pool_init(mf_buffer_pool_t *pool, uint32_t n_buffers)
{
  memset(pool, 0, sizeof(*pool));
  if (n_buffers == 0)
    return -EINVAL;
  size_t bytes = (size_t)n_buffers * sizeof(mf_buffer_t);
  /* mmap rather than malloc: page-aligned, and the kernel backs the pages
   * only as buffers are first touched. */
  void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return -errno;
  pool->free_list = malloc(n_buffers * sizeof(uint32_t));
  if (!pool->free_list) {
    munmap(mem, bytes);
    return -ENOMEM;
  }
  pool->buffers = mem;
  pool->n_total = n_buffers;
  /* Low indices on top of the stack, so a light load touches few pages. */
  for (uint32_t i = 0; i < n_buffers; i++)
    pool->free_list[i] = n_buffers - 1 - i;
  pool->n_free = n_buffers;
  return 0;
}

void mf_buffer_pool_free(mf_buffer_pool_t *pool)
{
  if (pool->buffers)
    munmap(pool->buffers, (size_t)pool->n_total * sizeof(mf_buffer_t));
  free(pool->free_list);
  memset(pool, 0, sizeof(*pool));
}

uint32_t mf_buffer_alloc(mf_buffer_pool_t *pool, uint32_t *out, uint32_t n)
{
  uint32_t got = n <= pool->n_free ? n : pool->n_free;
  if (got < n)
    pool->alloc_failures++;
  for (uint32_t i = 0; i < got; i++) {
    uint32_t bi = pool->free_list[--pool->n_free];
    mf_buffer_reset(&pool->buffers[bi]);
    out[i] = bi;
  }
  return got;
}

void mf_buffer_free(mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++)
    pool->free_list[pool->n_free++] = bi[i];
}
