/* The host stack's session table: open, find, close, the limit, idle
 * expiry, and the hash checked against a naive list on random keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoststack/hoststack.h"

#define S 1000000000ull

static void key4(uint8_t *a, uint32_t v)
{
  memset(a, 0, 16);
  a[0] = 10;
  a[1] = (uint8_t)(v >> 16);
  a[2] = (uint8_t)(v >> 8);
  a[3] = (uint8_t)v;
}

static void test_open_find_close(void **state)
{
  mf_hoststack_t *hs = mf_hoststack_create(NULL, 8, 0x7300);
  assert_non_null(hs);
  uint8_t a[16], b[16];
  key4(a, 1);
  key4(b, 2);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 4, a, 53), MF_HS_INVALID);
  uint32_t s1 = mf_hoststack_open(hs, MF_HS_UDP, 4, a, 53, 0);
  uint32_t s2 = mf_hoststack_open(hs, MF_HS_ICMP, 4, a, 53, 0);
  uint32_t s3 = mf_hoststack_open(hs, MF_HS_UDP, 6, b, 53, 0);
  assert_true(s1 != s2 && s2 != s3 && s1 != s3);
  /* The protocol and the family are part of the key. */
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 4, a, 53), s1);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_ICMP, 4, a, 53), s2);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 6, b, 53), s3);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 4, b, 53), MF_HS_INVALID);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 4, a, 54), MF_HS_INVALID);
  mf_hoststack_close(hs, s1);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_UDP, 4, a, 53), MF_HS_INVALID);
  assert_int_equal(mf_hoststack_find(hs, MF_HS_ICMP, 4, a, 53), s2);
  assert_int_equal(hs->n_live, 2);
  /* Upstream ICMP identifiers differ between live sessions. */
  assert_int_not_equal(hs->sessions[s2].up_id, hs->sessions[s3].up_id);
  mf_hoststack_destroy(hs);
}

static void test_limit_refuses_and_counts(void **state)
{
  mf_hoststack_t *hs = mf_hoststack_create(NULL, 4, 0);
  uint8_t a[16];
  for (uint32_t i = 0; i < 4; i++) {
    key4(a, i);
    assert_int_not_equal(mf_hoststack_open(hs, MF_HS_UDP, 4, a, 1, 0), MF_HS_INVALID);
  }
  key4(a, 99);
  assert_int_equal(mf_hoststack_open(hs, MF_HS_UDP, 4, a, 1, 0), MF_HS_INVALID);
  assert_int_equal(hs->c.refused, 1);
  hs->limit = 2; /* lowered at run time: the live ones stay */
  assert_int_equal(mf_hoststack_open(hs, MF_HS_UDP, 4, a, 1, 0), MF_HS_INVALID);
  assert_int_equal(hs->c.refused, 2);
  assert_int_equal(hs->n_live, 4);
  mf_hoststack_destroy(hs);
}

static void test_idle_expiry(void **state)
{
  mf_hoststack_t *hs = mf_hoststack_create(NULL, 16, 0);
  uint8_t a[16];
  key4(a, 1);
  uint32_t u = mf_hoststack_open(hs, MF_HS_UDP, 4, a, 1, 0);
  uint32_t i = mf_hoststack_open(hs, MF_HS_ICMP, 4, a, 1, 0);
  mf_hoststack_tick(hs, 29 * S);
  assert_int_equal(hs->n_live, 2);
  mf_hoststack_tick(hs, 31 * S); /* ICMP idles out at 30 s */
  assert_false(hs->sessions[i].live);
  assert_true(hs->sessions[u].live);
  hs->sessions[u].last_ns = 40 * S; /* traffic keeps it */
  mf_hoststack_tick(hs, 95 * S);
  assert_true(hs->sessions[u].live);
  mf_hoststack_tick(hs, 101 * S);
  assert_false(hs->sessions[u].live);
  assert_int_equal(hs->c.expired, 2);
  assert_int_equal(hs->n_live, 0);
  mf_hoststack_destroy(hs);
}

/* Random opens and closes against a plain array of keys. */
static void test_hash_against_naive(void **state)
{
  enum { N = 256, KEYS = 600, STEPS = 20000 };
  mf_hoststack_t *hs = mf_hoststack_create(NULL, N, 0);
  uint32_t where[KEYS]; /* session of key k, or MF_HS_INVALID */
  for (uint32_t k = 0; k < KEYS; k++)
    where[k] = MF_HS_INVALID;
  srand(7);
  uint32_t live = 0;
  for (int step = 0; step < STEPS; step++) {
    uint32_t k = (uint32_t)rand() % KEYS;
    uint8_t a[16];
    key4(a, k % 37);
    uint16_t port = (uint16_t)(k / 37);
    uint8_t proto = k & 1 ? MF_HS_UDP : MF_HS_ICMP;
    assert_int_equal(mf_hoststack_find(hs, proto, 4, a, port), where[k]);
    if (where[k] == MF_HS_INVALID) {
      uint32_t si = mf_hoststack_open(hs, proto, 4, a, port, 0);
      if (live == N) {
        assert_int_equal(si, MF_HS_INVALID);
      } else {
        assert_int_not_equal(si, MF_HS_INVALID);
        where[k] = si;
        live++;
      }
    } else {
      mf_hoststack_close(hs, where[k]);
      where[k] = MF_HS_INVALID;
      live--;
    }
    assert_int_equal(hs->n_live, live);
  }
  mf_hoststack_destroy(hs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_find_close),
      cmocka_unit_test(test_limit_refuses_and_counts),
      cmocka_unit_test(test_idle_expiry),
      cmocka_unit_test(test_hash_against_naive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
