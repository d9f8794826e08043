/* Buffer pool: allocation bounds, reset state, reuse, failure counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/buffer.h"

static void test_alloc_all_then_fail(void **state)
{
  mf_buffer_pool_t pool;
  assert_int_equal(mf_buffer_pool_init(&pool, 64), 0);
  uint32_t bi[80];
  assert_int_equal(mf_buffer_alloc(&pool, bi, 40), 40);
  assert_int_equal(mf_buffer_alloc(&pool, bi + 40, 40), 24);
  assert_int_equal(pool.n_free, 0);
  assert_int_equal(pool.alloc_failures, 1);
  /* Every index handed out once. */
  uint8_t seen[64] = {0};
  for (int i = 0; i < 64; i++) {
    assert_true(bi[i] < 64);
    assert_int_equal(seen[bi[i]]++, 0);
  }
  mf_buffer_free(&pool, bi, 64);
  assert_int_equal(pool.n_free, 64);
  mf_buffer_pool_free(&pool);
}

static void test_reset_state(void **state)
{
  mf_buffer_pool_t pool;
  assert_int_equal(mf_buffer_pool_init(&pool, 4), 0);
  uint32_t bi;
  assert_int_equal(mf_buffer_alloc(&pool, &bi, 1), 1);
  mf_buffer_t *b = mf_buffer_get(&pool, bi);
  b->flags = 0xff;
  b->current_data = 3;
  b->current_length = 99;
  b->error = 7;
  mf_buffer_free(&pool, &bi, 1);
  assert_int_equal(mf_buffer_alloc(&pool, &bi, 1), 1);
  b = mf_buffer_get(&pool, bi);
  assert_int_equal(b->flags, 0);
  assert_int_equal(b->current_data, MF_BUFFER_HEADROOM);
  assert_int_equal(b->current_length, 0);
  assert_int_equal(b->error, 0);
  assert_int_equal(mf_buffer_tailroom(b), MF_BUFFER_DATA_SIZE);
  /* Data is cache-line aligned, so headers at the headroom boundary are. */
  assert_int_equal((uintptr_t)mf_buffer_data(b) % 64, 0);
  mf_buffer_pool_free(&pool);
}

static void test_zero_refused(void **state)
{
  mf_buffer_pool_t pool;
  assert_int_not_equal(mf_buffer_pool_init(&pool, 0), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_all_then_fail),
      cmocka_unit_test(test_reset_state),
      cmocka_unit_test(test_zero_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
