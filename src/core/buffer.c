#include "core/buffer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The large areas follow the ordinary buffers and the large buffers'
 * headers in the same mapping; each is reached from its header's bytes[]
 * by a fixed offset (see buffer.h). */
static uint32_t large_area_offset(const mf_buffer_pool_t *pool, uint32_t bi)
{
  const uint8_t *areas =
      (const uint8_t *)(pool->buffers + pool->n_total + pool->n_large);
  const uint8_t *area =
      areas + (size_t)(bi - pool->n_total) * MF_BUFFER_LARGE_AREA;
  return (uint32_t)(area - pool->buffers[bi].bytes);
}

static void place_large(mf_buffer_pool_t *pool, uint32_t n_large)
{
  /* Highest index on top, as for the ordinary stack below. */
  for (uint32_t i = 0; i < n_large; i++)
    pool->large_free[i] = pool->n_total + n_large - 1 - i;
  pool->n_large = pool->n_large_free = n_large;
}

int mf_buffer_pool_init_large(mf_buffer_pool_t *pool, uint32_t n_buffers,
                              uint32_t n_large)
{
  memset(pool, 0, sizeof(*pool));
  if (n_buffers == 0)
    return -EINVAL;
  size_t headers = ((size_t)n_buffers + n_large) * sizeof(mf_buffer_t);
  size_t bytes = headers + (size_t)n_large * MF_BUFFER_LARGE_AREA;
  /* current_data is 32 bits: every area must be within 4 GiB of its
   * header. Pools are tens of MB; refuse the absurd. */
  if (bytes >= UINT32_MAX)
    return -EINVAL;
  /* mmap rather than malloc: page-aligned, and the kernel backs the pages
   * only as buffers are first touched. */
  void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return -errno;
  pool->free_list = malloc(n_buffers * sizeof(uint32_t));
  pool->large_free = malloc((n_large ? n_large : 1) * sizeof(uint32_t));
  if (!pool->free_list || !pool->large_free) {
    free(pool->free_list);
    free(pool->large_free);
    munmap(mem, bytes);
    memset(pool, 0, sizeof(*pool));
    return -ENOMEM;
  }
  pool->buffers = mem;
  pool->map_bytes = bytes;
  pool->n_total = n_buffers;
  /* Low indices on top of the stack, so a light load touches few pages. */
  for (uint32_t i = 0; i < n_buffers; i++)
    pool->free_list[i] = n_buffers - 1 - i;
  pool->n_free = n_buffers;
  place_large(pool, n_large);
  return 0;
}

int mf_buffer_pool_init(mf_buffer_pool_t *pool, uint32_t n_buffers)
{
  return mf_buffer_pool_init_large(pool, n_buffers, 0);
}

void mf_buffer_pool_free(mf_buffer_pool_t *pool)
{
  if (pool->buffers)
    munmap(pool->buffers, pool->map_bytes);
  free(pool->free_list);
  free(pool->large_free);
  memset(pool, 0, sizeof(*pool));
}

uint32_t mf_buffer_alloc(mf_buffer_pool_t *pool, uint32_t *out, uint32_t n)
{
  uint32_t got = n <= pool->n_free ? n : pool->n_free;
  if (got < n)
    pool->alloc_failures++;
  /* Locals: the resets store through buffer pointers, which the compiler
   * must otherwise assume may overwrite the pool's own fields. */
  const uint32_t *top = pool->free_list + pool->n_free;
  mf_buffer_t *buffers = pool->buffers;
  pool->n_free -= got;
  for (uint32_t i = 0; i < got; i++) {
    uint32_t bi = *--top;
    /* An ordinary buffer's area is bytes[] itself: no load for it. */
    mf_buffer_reset_at(&buffers[bi], MF_BUFFER_HEADROOM);
    out[i] = bi;
  }
  return got;
}

uint32_t mf_buffer_alloc_large(mf_buffer_pool_t *pool)
{
  if (pool->n_large_free == 0) {
    pool->large_alloc_failures++;
    return MF_BUFFER_INVALID;
  }
  uint32_t bi = pool->large_free[--pool->n_large_free];
  mf_buffer_t *b = &pool->buffers[bi];
  /* Set here rather than at init, as for the ordinary buffers. */
  b->area = large_area_offset(pool, bi);
  b->area_size = MF_BUFFER_LARGE_AREA;
  mf_buffer_reset(b);
  return bi;
}

void mf_buffer_free(mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n)
{
  /* Mostly ordinary buffers: one pass the compiler vectorizes says so,
   * and a copy returns them all; only a vector with a large buffer in it
   * sorts index by index. */
  /* n_total - 1 - bi is negative exactly for a large index (indices and
   * n_total stay below 2^31: a pool is under 4 GiB): OR-ing the differences and testing the sign
   * is a subtract and an or per index, which the compiler vectorizes. */
  uint32_t last = pool->n_total - 1, large = 0;
  for (uint32_t i = 0; i < n; i++)
    large |= last - bi[i];
  if (__builtin_expect(!(large >> 31), 1)) {
    memcpy(pool->free_list + pool->n_free, bi, n * sizeof(*bi));
    pool->n_free += n;
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (bi[i] >= pool->n_total)
      pool->large_free[pool->n_large_free++] = bi[i];
    else
      pool->free_list[pool->n_free++] = bi[i];
  }
}
