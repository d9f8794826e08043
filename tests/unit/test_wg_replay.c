/* The receive counter window (whitepaper section 5.4.6): in-order,
 * reordered, duplicate, too old, far-ahead jumps, the exact window edge,
 * the Reject-After-Messages limit, and a differential run against a naive
 * reference that remembers every counter it accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/messages.h"
#include "wireguard/replay.h"

static void test_in_order_and_duplicates(void **state)
{
  mf_wg_replay_t r;
  mf_wg_replay_init(&r);
  for (uint64_t c = 0; c < 20000; c++)
    assert_true(mf_wg_replay_check(&r, c));
  for (uint64_t c = 20000 - MF_WG_REPLAY_WINDOW; c < 20000; c++)
    assert_false(mf_wg_replay_check(&r, c));
  assert_false(mf_wg_replay_check(&r, 0));
}

static void test_reordering(void **state)
{
  mf_wg_replay_t r;
  mf_wg_replay_init(&r);
  /* Odd counters first, then the even ones late: all accepted once. */
  for (uint64_t c = 1; c < 4000; c += 2)
    assert_true(mf_wg_replay_check(&r, c));
  for (uint64_t c = 0; c < 4000; c += 2)
    assert_true(mf_wg_replay_check(&r, c));
  for (uint64_t c = 0; c < 4000; c++)
    assert_false(mf_wg_replay_check(&r, c));
}

static void test_window_edge(void **state)
{
  mf_wg_replay_t r;
  mf_wg_replay_init(&r);
  uint64_t top = 100000;
  assert_true(mf_wg_replay_check(&r, top));
  /* Exactly the window below the top is still tracked, one more is not. */
  assert_true(mf_wg_replay_check(&r, top - MF_WG_REPLAY_WINDOW));
  assert_false(mf_wg_replay_check(&r, top - MF_WG_REPLAY_WINDOW));
  assert_false(mf_wg_replay_check(&r, top - MF_WG_REPLAY_WINDOW - 1));
  assert_true(mf_wg_replay_check(&r, top - 1));
  /* Moving the top by one drops the old edge. */
  assert_true(mf_wg_replay_check(&r, top + 1));
  assert_false(mf_wg_replay_check(&r, top - MF_WG_REPLAY_WINDOW));
  assert_true(mf_wg_replay_check(&r, top + 1 - MF_WG_REPLAY_WINDOW));
}

static void test_far_jumps(void **state)
{
  mf_wg_replay_t r;
  mf_wg_replay_init(&r);
  for (uint64_t c = 0; c < 100; c++)
    assert_true(mf_wg_replay_check(&r, c));
  /* A jump past the whole ring: nothing of the old bits may survive and
   * alias the new counters (same slot, one ring later). */
  uint64_t far = 64 * MF_WG_REPLAY_WORDS * 1000 + 5;
  assert_true(mf_wg_replay_check(&r, far));
  for (uint64_t c = far - 64; c < far; c++)
    assert_true(mf_wg_replay_check(&r, c));
  assert_false(mf_wg_replay_check(&r, 50));
  /* A jump of exactly one ring. */
  uint64_t ring = 64 * MF_WG_REPLAY_WORDS;
  assert_true(mf_wg_replay_check(&r, far + ring));
  assert_true(mf_wg_replay_check(&r, far + ring - 3));
  assert_false(mf_wg_replay_check(&r, far));
  /* Huge counters up to the limit. */
  assert_true(mf_wg_replay_check(&r, 1ull << 62));
  assert_true(mf_wg_replay_check(&r, MF_WG_REJECT_AFTER_MESSAGES - 1));
  assert_false(mf_wg_replay_check(&r, MF_WG_REJECT_AFTER_MESSAGES - 1));
  assert_false(mf_wg_replay_check(&r, MF_WG_REJECT_AFTER_MESSAGES));
  assert_false(mf_wg_replay_check(&r, UINT64_MAX));
  assert_true(mf_wg_replay_check(&r, MF_WG_REJECT_AFTER_MESSAGES - 2));
}

/* Naive reference: a flag per counter ever accepted. */
#define SPACE (1u << 20)

static bool naive_check(uint8_t *seen, uint64_t *greatest, bool *any,
                        uint64_t c)
{
  if (*any && c < *greatest && *greatest - c > MF_WG_REPLAY_WINDOW)
    return false;
  if (seen[c])
    return false;
  seen[c] = 1;
  if (!*any || c > *greatest)
    *greatest = c;
  *any = true;
  return true;
}

static void test_against_naive(void **state)
{
  uint8_t *seen = calloc(SPACE, 1);
  assert_non_null(seen);
  srand(6479);
  for (int run = 0; run < 20; run++) {
    mf_wg_replay_t r;
    mf_wg_replay_init(&r);
    memset(seen, 0, SPACE);
    uint64_t greatest = 0, next = 0;
    bool any = false;
    for (int i = 0; i < 50000 && next < SPACE - 20000; i++) {
      uint64_t c;
      int pick = rand() % 100;
      if (pick < 60)
        c = next++; /* in order */
      else if (pick < 85) /* late, around the window edge */
        c = next > 9000 ? next - (uint64_t)(rand() % 9000) : next;
      else if (pick < 97) /* duplicate of something recent */
        c = next > 10 ? next - 1 - (uint64_t)(rand() % 10) : 0;
      else /* jump ahead, sometimes past the ring */
        c = next += (uint64_t)(rand() % 12000);
      bool want = naive_check(seen, &greatest, &any, c);
      assert_int_equal(mf_wg_replay_check(&r, c), want);
    }
  }
  free(seen);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_in_order_and_duplicates),
      cmocka_unit_test(test_reordering),
      cmocka_unit_test(test_window_edge),
      cmocka_unit_test(test_far_jumps),
      cmocka_unit_test(test_against_naive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
