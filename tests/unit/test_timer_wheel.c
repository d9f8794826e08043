/* The timer wheel against a deliberately naive reference, an array of
 * deadlines, on random arm/cancel/expire sequences driven by a simulated
 * clock: nothing returned early, everything due returned at the first
 * expire that sees it due and only once, mf_tw_next never after the true
 * earliest deadline, and an event-driven loop never spins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rng.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timer_wheel.h"

#define MS 1000ull
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)

/* The reference: deadline per user, 0 when not armed. */
typedef struct {
  uint64_t *deadline;
  uint32_t n_users;
} ref_t;

static uint64_t ref_min(const ref_t *r)
{
  uint64_t m = 0;
  for (uint32_t u = 0; u < r->n_users; u++)
    if (r->deadline[u] && (m == 0 || r->deadline[u] < m))
      m = r->deadline[u];
  return m;
}

static uint32_t ref_armed(const ref_t *r)
{
  uint32_t n = 0;
  for (uint32_t u = 0; u < r->n_users; u++)
    n += r->deadline[u] != 0;
  return n;
}

static void both_set(mf_timer_wheel_t *tw, ref_t *r, uint32_t u, uint64_t d)
{
  mf_tw_set(tw, u, d);
  r->deadline[u] = d;
}

/* Checks one batch: every user was armed, due by now, and not yet seen. */
static void check_batch(ref_t *r, const uint32_t *out, uint32_t n,
                        uint64_t now)
{
  for (uint32_t k = 0; k < n; k++) {
    uint32_t u = out[k];
    assert_true(u < r->n_users);
    if (r->deadline[u] == 0 || r->deadline[u] > now)
      fail_msg("user %u returned at %llu, deadline %llu", u,
               (unsigned long long)now, (unsigned long long)r->deadline[u]);
    r->deadline[u] = 0;
  }
}

static void check_next(const mf_timer_wheel_t *tw, const ref_t *r)
{
  uint64_t m = ref_min(r);
  uint64_t next = mf_tw_next(tw);
  if (m == 0)
    assert_int_equal(next, 0);
  else if (next == 0 || next > m)
    fail_msg("next %llu, earliest deadline %llu", (unsigned long long)next,
             (unsigned long long)m);
}

/* A deadline around now, spread over every scale the wheel has. */
static uint64_t random_deadline(uint64_t now, uint64_t span)
{
  uint64_t kind = rng_below(100);
  uint64_t d;
  if (kind < 5)
    return 0; /* cancel */
  if (kind < 12)
    d = now > 1 ? 1 + rng_below(now) : 1; /* in the past */
  else if (kind < 15)
    d = now; /* exactly now */
  else if (kind < 45)
    d = now + rng_below(20 * MS);
  else if (kind < 75)
    d = now + rng_below(30 * SEC);
  else if (kind < 80)
    d = (now / MS + 1 + rng_below(100)) * MS; /* on a tick */
  else
    d = now + rng_below(span);
  return d ? d : 1;
}

static uint64_t random_step(void)
{
  uint64_t kind = rng_below(100);
  if (kind < 50)
    return rng_below(2 * MS);
  if (kind < 85)
    return rng_below(SEC);
  if (kind < 97)
    return rng_below(5 * 60 * SEC);
  return rng_below(2 * HOUR);
}

/* Expires at now with random batch sizes, re-arming some users between
 * batches (returned ones too), until everything due is out. */
static void expire_all(mf_timer_wheel_t *tw, ref_t *r, uint64_t now,
                       uint64_t span)
{
  uint32_t out[64];
  for (int round = 0; round < 1000000; round++) {
    uint32_t max = 1 + (uint32_t)rng_below(rng_below(4) == 0 ? 64 : 8);
    uint32_t n = mf_tw_expire(tw, now, out, max);
    assert_true(n <= max);
    check_batch(r, out, n, now);
    bool rearmed_due = false;
    if (n > 0 && rng_below(3) == 0) {
      /* Re-arm inside the batch: a returned user and a random one. */
      uint32_t u = out[rng_below(n)];
      uint64_t d = random_deadline(now, span);
      both_set(tw, r, u, d);
      uint32_t v = (uint32_t)rng_below(r->n_users);
      uint64_t e = random_deadline(now, span);
      both_set(tw, r, v, e);
      rearmed_due = (d && d <= now) || (e && e <= now);
    }
    if (n < max && !rearmed_due)
      return;
  }
  fail_msg("expire did not finish");
}

typedef struct {
  uint32_t n_users;
  uint32_t tick_us;
  uint64_t start; /* the clock's first reading */
  uint64_t span;  /* farthest deadline from now */
  uint32_t ops;
  uint64_t seed;
} run_t;

static void differential(const run_t *run)
{
  rng_state = run->seed;
  ref_t r = {calloc(run->n_users, sizeof(uint64_t)), run->n_users};
  assert_non_null(r.deadline);
  uint64_t now = run->start;
  mf_timer_wheel_t *tw = mf_tw_create(run->n_users, run->tick_us, now);
  assert_non_null(tw);
  for (uint32_t op = 0; op < run->ops; op++) {
    uint64_t kind = rng_below(100);
    if (kind < 50) {
      uint32_t u = (uint32_t)rng_below(run->n_users);
      both_set(tw, &r, u, random_deadline(now, run->span));
    } else if (kind < 90) {
      now += random_step();
      expire_all(tw, &r, now, run->span);
      /* Everything due is out, and nothing makes the next wake-up
       * already past: an event loop would not spin. */
      for (uint32_t u = 0; u < run->n_users; u++)
        if (r.deadline[u] && r.deadline[u] <= now)
          fail_msg("user %u due at %llu still armed at %llu", u,
                   (unsigned long long)r.deadline[u], (unsigned long long)now);
      uint64_t next = mf_tw_next(tw);
      assert_true(next == 0 || next > now);
    } else {
      uint32_t u = (uint32_t)rng_below(run->n_users);
      assert_int_equal(mf_tw_get(tw, u), r.deadline[u]);
    }
    check_next(tw, &r);
    assert_int_equal(mf_tw_armed(tw), ref_armed(&r));
  }
  for (uint32_t u = 0; u < run->n_users; u++)
    assert_int_equal(mf_tw_get(tw, u), r.deadline[u]);
  mf_tw_destroy(tw);
  free(r.deadline);
}

static void test_differential_ms_ticks(void **state)
{
  (void)state;
  /* 1 ms ticks, deadlines up to 6 hours, a clock that starts at boot. */
  run_t run = {.n_users = 2048, .tick_us = 1000, .start = 5 * SEC,
               .span = 6 * HOUR, .ops = 100000, .seed = 1};
  differential(&run);
}

static void test_differential_few_users(void **state)
{
  (void)state;
  /* Few users: slots empty out and refill, the clock jumps far ahead. */
  run_t run = {.n_users = 16, .tick_us = 1000, .start = 123456789,
               .span = 8 * HOUR, .ops = 100000, .seed = 2};
  differential(&run);
}

static void test_differential_overflow(void **state)
{
  (void)state;
  /* 1 us ticks: 6 levels span 2^36 us (19 hours), so deadlines of up to
   * three days use the overflow list, and the clock starts just before
   * a turn of the whole wheel. */
  run_t run = {.n_users = 512, .tick_us = 1, .start = (1ull << 36) - 3 * SEC,
               .span = 72 * HOUR, .ops = 50000, .seed = 3};
  differential(&run);
  run_t odd = {.n_users = 512, .tick_us = 977, .start = 1,
               .span = 6 * HOUR, .ops = 50000, .seed = 4};
  differential(&odd);
}

static void test_exact_deadlines(void **state)
{
  (void)state;
  uint32_t out[8];
  mf_timer_wheel_t *tw = mf_tw_create(8, 1000, 10 * MS);
  assert_non_null(tw);
  assert_int_equal(mf_tw_next(tw), 0);
  /* Inside a tick: due at the deadline, not at the tick's start or end. */
  mf_tw_set(tw, 1, 12 * MS + 500);
  assert_int_equal(mf_tw_get(tw, 1), 12 * MS + 500);
  assert_int_equal(mf_tw_armed(tw), 1);
  assert_true(mf_tw_next(tw) <= 12 * MS + 500);
  assert_int_equal(mf_tw_expire(tw, 12 * MS, out, 8), 0);
  assert_int_equal(mf_tw_next(tw), 12 * MS + 500);
  assert_int_equal(mf_tw_expire(tw, 12 * MS + 499, out, 8), 0);
  assert_int_equal(mf_tw_expire(tw, 12 * MS + 500, out, 8), 1);
  assert_int_equal(out[0], 1);
  assert_int_equal(mf_tw_get(tw, 1), 0);
  assert_int_equal(mf_tw_armed(tw), 0);
  /* A deadline in the past, and one earlier in the current tick, fire at
   * the next expire even at the same now. */
  mf_tw_set(tw, 2, 1);
  mf_tw_set(tw, 3, 12 * MS + 100);
  assert_true(mf_tw_next(tw) <= 1);
  assert_int_equal(mf_tw_expire(tw, 12 * MS + 500, out, 8), 2);
  /* Cancelling, re-arming and unknown users. */
  mf_tw_set(tw, 4, 20 * MS);
  mf_tw_set(tw, 4, 30 * MS);
  mf_tw_set(tw, 5, 25 * MS);
  mf_tw_set(tw, 5, 0);
  mf_tw_set(tw, 8, 15 * MS);
  mf_tw_set(tw, UINT32_MAX, 15 * MS);
  assert_int_equal(mf_tw_get(tw, 8), 0);
  assert_int_equal(mf_tw_armed(tw), 1);
  assert_int_equal(mf_tw_expire(tw, 29 * MS, out, 8), 0);
  /* A clock that went back expires nothing. */
  assert_int_equal(mf_tw_expire(tw, 1 * MS, out, 8), 0);
  assert_int_equal(mf_tw_expire(tw, 30 * MS, out, 0), 0);
  assert_int_equal(mf_tw_expire(tw, 30 * MS, out, 8), 1);
  assert_int_equal(out[0], 4);
  assert_true(mf_tw_memory(tw) > 8 * 16);
  mf_tw_destroy(tw);
  mf_tw_destroy(NULL);
  assert_null(mf_tw_create(8, 0, 0));
}

/* Many users due at once come out max at a time, each once, and those
 * re-armed between batches (to now or later) are handled by what follows. */
static void test_max_limited_batches(void **state)
{
  (void)state;
  enum { N = 1000 };
  uint32_t out[7];
  uint8_t count[N] = {0};
  mf_timer_wheel_t *tw = mf_tw_create(N, 1000, 0);
  assert_non_null(tw);
  for (uint32_t u = 0; u < N; u++)
    mf_tw_set(tw, u, 1 * SEC + (u % 3) * MS);
  uint32_t total = 0, calls = 0, n;
  do {
    n = mf_tw_expire(tw, 2 * SEC, out, 7);
    assert_true(++calls < 1000);
    for (uint32_t k = 0; k < n; k++) {
      total++;
      /* Users 0..99 come back once more, due at once. */
      if (++count[out[k]] == 1 && out[k] < 100)
        mf_tw_set(tw, out[k], 2 * SEC);
    }
  } while (n == 7);
  for (uint32_t u = 0; u < N; u++)
    assert_int_equal(count[u], u < 100 ? 2 : 1);
  assert_int_equal(total, N + 100);
  assert_int_equal(mf_tw_armed(tw), 0);
  assert_int_equal(mf_tw_next(tw), 0);
  mf_tw_destroy(tw);
}

/* 65,536 users with deadlines from 1 ms to 6 hours, driven the way the
 * main loop drives it: sleep until mf_tw_next, expire, repeat. Every user
 * fires once, exactly at its deadline, and wake-ups stay few. */
static void test_event_loop_65536(void **state)
{
  (void)state;
  enum { N = 65536 };
  rng_state = 7;
  uint64_t *dl = calloc(N, sizeof(*dl));
  uint8_t *fired = calloc(N, 1);
  assert_non_null(dl);
  assert_non_null(fired);
  uint64_t now = 1000 * SEC;
  mf_timer_wheel_t *tw = mf_tw_create(N, 1000, now);
  assert_non_null(tw);
  for (uint32_t u = 0; u < N; u++) {
    uint64_t scale = rng_below(4) == 0 ? 6 * HOUR : (rng_below(2) ? 60 * SEC : 50 * MS);
    dl[u] = now + 1 * MS + rng_below(scale);
    mf_tw_set(tw, u, dl[u]);
  }
  assert_int_equal(mf_tw_armed(tw), N);
  uint32_t out[256], total = 0, wakes = 0;
  clock_t t0 = clock();
  while (mf_tw_armed(tw) > 0) {
    uint64_t next = mf_tw_next(tw);
    assert_true(next > 0);
    assert_true(next > now); /* never asks to wake in the past */
    now = next;
    assert_true(++wakes <= 8 * N);
    uint32_t n;
    do {
      n = mf_tw_expire(tw, now, out, 256);
      for (uint32_t k = 0; k < n; k++) {
        uint32_t u = out[k];
        assert_int_equal(fired[u], 0);
        assert_int_equal(dl[u], now); /* not early, not late */
        fired[u] = 1;
        total++;
      }
    } while (n == 256);
  }
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  assert_int_equal(total, N);
  print_message("65536 users: %u wake-ups, %.3f s of CPU, %llu bytes\n", wakes,
                secs, (unsigned long long)mf_tw_memory(tw));
  mf_tw_destroy(tw);
  free(dl);
  free(fired);
}

/* A long idle stretch costs the busy slots, not the ticks passed over. */
static void test_idle_jump(void **state)
{
  (void)state;
  uint32_t out[4];
  mf_timer_wheel_t *tw = mf_tw_create(4, 1, 0); /* 1 us ticks */
  assert_non_null(tw);
  mf_tw_set(tw, 0, 30 * 24 * HOUR); /* a month of ticks, past the levels */
  mf_tw_set(tw, 1, 5 * HOUR + 7);
  clock_t t0 = clock();
  assert_int_equal(mf_tw_expire(tw, 5 * HOUR + 6, out, 4), 0);
  assert_int_equal(mf_tw_expire(tw, 5 * HOUR + 7, out, 4), 1);
  assert_int_equal(out[0], 1);
  assert_int_equal(mf_tw_expire(tw, 30 * 24 * HOUR - 1, out, 4), 0);
  assert_int_equal(mf_tw_expire(tw, 40 * 24 * HOUR, out, 4), 1);
  assert_int_equal(out[0], 0);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  assert_true(secs < 0.5);
  mf_tw_destroy(tw);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_deadlines),
      cmocka_unit_test(test_max_limited_batches),
      cmocka_unit_test(test_idle_jump),
      cmocka_unit_test(test_differential_ms_ticks),
      cmocka_unit_test(test_differential_few_users),
      cmocka_unit_test(test_differential_overflow),
      cmocka_unit_test(test_event_loop_65536),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
