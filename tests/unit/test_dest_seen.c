/* Tunnels' recent destinations: noted addresses are found since the
 * second they were last sent to, other addresses and families are not,
 * and a slot's newer destination evicts the older. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "routing/dest_seen.h"

static void test_noted_found_since_its_second(void **state)
{
  (void)state;
  mf_dest_seen_t *t = mf_dest_seen_create();
  assert_non_null(t);
  uint8_t a4[16] = {198, 18, 5, 5}, b4[16] = {198, 18, 5, 6};
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
  assert_false(mf_dest_seen_since(t, 4, a4, 1));
  mf_dest_seen_note(t, 4, a4, 100);
  mf_dest_seen_note(t, 6, a6, 120);
  assert_true(mf_dest_seen_since(t, 4, a4, 100));
  assert_true(mf_dest_seen_since(t, 4, a4, 90));
  assert_false(mf_dest_seen_since(t, 4, a4, 101)); /* quiet since 100 */
  assert_false(mf_dest_seen_since(t, 4, b4, 1));
  assert_true(mf_dest_seen_since(t, 6, a6, 120));
  /* The same 4 bytes as IPv6, or another family, are another address. */
  uint8_t a4_as6[16] = {198, 18, 5, 5};
  assert_false(mf_dest_seen_since(t, 6, a4_as6, 1));
  assert_false(mf_dest_seen_since(t, 5, a4, 1));
  /* Sending again moves the second on. */
  mf_dest_seen_note(t, 4, a4, 130);
  assert_true(mf_dest_seen_since(t, 4, a4, 125));
  mf_dest_seen_destroy(t);
  assert_false(mf_dest_seen_since(NULL, 4, a4, 1));
}

/* Two addresses of one slot: the last one noted holds it. */
static void test_collision_evicts_older(void **state)
{
  (void)state;
  mf_dest_seen_t *t = mf_dest_seen_create();
  uint8_t a[16] = {10, 0, 0, 1}, b[16] = {10, 0, 0, 0};
  uint32_t ha = mf_dest_seen_hash(4, a);
  uint32_t v = 0;
  do { /* find another IPv4 address in a's slot */
    v++;
    memcpy(b, &v, 4);
  } while (mf_dest_seen_hash(4, b) != ha && v < 1000000);
  assert_int_equal(mf_dest_seen_hash(4, b), ha);
  mf_dest_seen_note(t, 4, a, 10);
  mf_dest_seen_note(t, 4, b, 11);
  assert_false(mf_dest_seen_since(t, 4, a, 1));
  assert_true(mf_dest_seen_since(t, 4, b, 11));
  mf_dest_seen_destroy(t);
}

/* The hash spreads a /16 of neighbours over most slots. */
static void test_hash_spreads(void **state)
{
  (void)state;
  static uint8_t used[MF_DEST_SEEN_SLOTS];
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < 8192; i++) {
    uint8_t a[16] = {172, 16, (uint8_t)(i >> 8), (uint8_t)i};
    uint32_t h = mf_dest_seen_hash(4, a);
    assert_true(h < MF_DEST_SEEN_SLOTS);
    distinct += !used[h];
    used[h] = 1;
  }
  /* Random placement would fill about 63 %. */
  assert_true(distinct > 8192 / 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noted_found_since_its_second),
      cmocka_unit_test(test_collision_evicts_older),
      cmocka_unit_test(test_hash_spreads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
