/* WireGuard's per-peer timers (whitepaper section 6) driven by a fake
 * clock: handshake retries with jitter until Rekey-Attempt-Time, the
 * keepalive after receive-without-send, a new handshake after
 * send-without-receive, key zeroing after 3 x Reject-After-Time,
 * persistent keepalives, rekey on age and on message count, and the
 * one-initiation-per-Rekey-Timeout limit. Every loop is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/timers.h"

#define SEC MF_WG_NS_PER_SEC
#define MS (SEC / 1000)
#define T0 (1000 * SEC)

/* Jumps the clock to the next deadline (bounded by limit) and fires it. */
static uint32_t advance(mf_wg_timers_t *t, uint64_t *now, uint64_t limit)
{
  uint64_t next = mf_wg_timers_next(t);
  if (next > limit)
    return 0;
  *now = next;
  return mf_wg_timers_expire(t, *now);
}

static void test_nothing_armed(void **state)
{
  mf_wg_timers_t t;
  mf_wg_timers_init(&t, 1);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);
  assert_int_equal(mf_wg_timers_expire(&t, UINT64_MAX - 1), 0);
}

static void test_retransmit_then_give_up(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0, first = T0;
  mf_wg_timers_init(&t, 42);
  assert_true(mf_wg_timers_want_handshake(&t, now));
  mf_wg_timers_handshake_initiated(&t, now);
  unsigned initiations = 1;
  uint32_t a = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t before = now;
    a = advance(&t, &now, T0 + 1000 * SEC);
    uint64_t gap = now - before;
    /* Each retry waits Rekey-Timeout plus up to a third of a second. */
    assert_true(gap >= MF_WG_REKEY_TIMEOUT);
    assert_true(gap < MF_WG_REKEY_TIMEOUT + MF_WG_REKEY_TIMEOUT_JITTER);
    if (a & MF_WG_TIMERS_GIVE_UP)
      break;
    assert_int_equal(a, MF_WG_TIMERS_SEND_INITIATION);
    mf_wg_timers_handshake_initiated(&t, now);
    initiations++;
  }
  assert_int_equal(a, MF_WG_TIMERS_GIVE_UP);
  /* 1 + Rekey-Attempt-Time / Rekey-Timeout initiations, then stop. */
  assert_int_equal(initiations, 1 + MF_WG_MAX_HANDSHAKE_RETRIES);
  assert_true(now - first >= MF_WG_REKEY_ATTEMPT_TIME);
  assert_true(now - first < MF_WG_REKEY_ATTEMPT_TIME + 2 * MF_WG_REKEY_TIMEOUT +
                                19 * MF_WG_REKEY_TIMEOUT_JITTER);
  /* What remains is the key zeroing, 3 x Reject-After-Time later. */
  uint64_t give_up = now;
  assert_int_equal(mf_wg_timers_next(&t), give_up + 3 * MF_WG_REJECT_AFTER_TIME);
  assert_int_equal(advance(&t, &now, UINT64_MAX - 1), MF_WG_TIMERS_ZERO_KEYS);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);
}

static void test_handshake_complete_stops_retries(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0;
  mf_wg_timers_init(&t, 7);
  mf_wg_timers_handshake_initiated(&t, now);
  mf_wg_timers_handshake_complete(&t, now + 50 * MS);
  mf_wg_timers_session_derived(&t, now + 50 * MS);
  /* Only zero_key_material stays armed. */
  assert_int_equal(mf_wg_timers_next(&t),
                   now + 50 * MS + 3 * MF_WG_REJECT_AFTER_TIME);
  assert_int_equal(mf_wg_timers_expire(&t, now + 10 * SEC), 0);
}

static void test_keepalive_after_receive(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0;
  mf_wg_timers_init(&t, 7);
  mf_wg_timers_data_received(&t, now);
  assert_int_equal(mf_wg_timers_next(&t), now + MF_WG_KEEPALIVE_TIMEOUT);
  assert_int_equal(mf_wg_timers_expire(&t, now + MF_WG_KEEPALIVE_TIMEOUT - 1), 0);
  assert_int_equal(advance(&t, &now, T0 + 60 * SEC), MF_WG_TIMERS_SEND_KEEPALIVE);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);

  /* Answered in time by anything authenticated: no keepalive. */
  now = T0 + 100 * SEC;
  mf_wg_timers_data_received(&t, now);
  mf_wg_timers_any_authenticated_packet_sent(&t, now + SEC);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);

  /* More data while the timer runs: a second keepalive one period later. */
  now = T0 + 200 * SEC;
  mf_wg_timers_data_received(&t, now);
  mf_wg_timers_data_received(&t, now + 3 * SEC);
  assert_int_equal(advance(&t, &now, T0 + 300 * SEC), MF_WG_TIMERS_SEND_KEEPALIVE);
  assert_int_equal(now, T0 + 210 * SEC);
  assert_int_equal(advance(&t, &now, T0 + 300 * SEC), MF_WG_TIMERS_SEND_KEEPALIVE);
  assert_int_equal(now, T0 + 220 * SEC);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);
}

static void test_new_handshake_after_send_without_receive(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0;
  mf_wg_timers_init(&t, 9);
  mf_wg_timers_data_sent(&t, now);
  mf_wg_timers_data_sent(&t, now + SEC); /* does not push it back */
  uint64_t due = mf_wg_timers_next(&t);
  assert_true(due >= now + MF_WG_KEEPALIVE_TIMEOUT + MF_WG_REKEY_TIMEOUT);
  assert_true(due < now + MF_WG_KEEPALIVE_TIMEOUT + MF_WG_REKEY_TIMEOUT +
                        MF_WG_REKEY_TIMEOUT_JITTER);
  assert_int_equal(advance(&t, &now, T0 + 60 * SEC), MF_WG_TIMERS_SEND_INITIATION);

  /* A reply in between cancels it. */
  now = T0 + 100 * SEC;
  mf_wg_timers_data_sent(&t, now);
  mf_wg_timers_any_authenticated_packet_received(&t, now + 2 * SEC);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);

  /* Rate limit: an initiation went out 2 s before, so not another one. */
  now = T0 + 200 * SEC;
  mf_wg_timers_data_sent(&t, now);
  mf_wg_timers_handshake_initiated(&t, now + 14 * SEC);
  mf_wg_timers_handshake_complete(&t, now + 14 * SEC);
  assert_int_equal(mf_wg_timers_expire(&t, now + 16 * SEC), 0);
}

static void test_persistent_keepalive(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0;
  mf_wg_timers_init(&t, 3);
  /* Off -> on sends one at once; changing the interval does not. */
  assert_int_equal(mf_wg_timers_set_persistent_keepalive(&t, 25, now),
                   MF_WG_TIMERS_SEND_KEEPALIVE);
  assert_int_equal(mf_wg_timers_set_persistent_keepalive(&t, 20, now), 0);
  mf_wg_timers_any_authenticated_packet_traversal(&t, now);
  assert_int_equal(mf_wg_timers_next(&t), now + 20 * SEC);
  for (int i = 0; i < 5; i++) {
    uint64_t before = now;
    assert_int_equal(advance(&t, &now, T0 + 1000 * SEC),
                     MF_WG_TIMERS_SEND_KEEPALIVE);
    assert_int_equal(now - before, 20 * SEC);
    mf_wg_timers_any_authenticated_packet_sent(&t, now);
    mf_wg_timers_any_authenticated_packet_traversal(&t, now);
  }
  assert_int_equal(mf_wg_timers_set_persistent_keepalive(&t, 0, now), 0);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);
  mf_wg_timers_any_authenticated_packet_traversal(&t, now);
  assert_int_equal(mf_wg_timers_next(&t), UINT64_MAX);
}

static void test_zero_key_material(void **state)
{
  mf_wg_timers_t t;
  uint64_t now = T0;
  mf_wg_timers_init(&t, 3);
  mf_wg_timers_session_derived(&t, now);
  mf_wg_timers_session_derived(&t, now + 60 * SEC); /* re-armed from here */
  assert_int_equal(mf_wg_timers_expire(&t, now + 3 * MF_WG_REJECT_AFTER_TIME), 0);
  assert_int_equal(
      mf_wg_timers_expire(&t, now + 60 * SEC + 3 * MF_WG_REJECT_AFTER_TIME),
      MF_WG_TIMERS_ZERO_KEYS);
}

static mf_wg_keypair_t *keypair(mf_wg_keypairs_t *kps, bool initiator,
                                uint64_t birth)
{
  mf_wg_session_t s = {.local_index = 1, .remote_index = 2,
                       .initiator = initiator};
  mf_wg_keypairs_init(kps);
  mf_wg_keypair_t *kp = mf_wg_keypairs_begin_session(kps, &s, birth, NULL);
  if (!initiator)
    mf_wg_keypairs_received_with(kps, kp, NULL);
  return kp;
}

static void test_rekey_questions(void **state)
{
  mf_wg_timers_t t;
  mf_wg_keypairs_t kps;
  mf_wg_timers_init(&t, 3);
  mf_wg_keypair_t *kp = keypair(&kps, true, T0);
  /* The initiator rekeys at Rekey-After-Time ... */
  assert_false(mf_wg_timers_rekey_after_send(&t, kp, T0 + 119 * SEC));
  assert_true(mf_wg_timers_rekey_after_send(&t, kp, T0 + 120 * SEC));
  mf_wg_timers_handshake_initiated(&t, T0 + 120 * SEC);
  /* ... at most once per Rekey-Timeout. */
  assert_false(mf_wg_timers_rekey_after_send(&t, kp, T0 + 124 * SEC));
  assert_true(mf_wg_timers_rekey_after_send(&t, kp, T0 + 125 * SEC));
  /* The responder never rekeys on time, but does on message count. */
  mf_wg_timers_init(&t, 3);
  kp = keypair(&kps, false, T0);
  assert_false(mf_wg_timers_rekey_after_send(&t, kp, T0 + 170 * SEC));
  atomic_store(&kp->send_counter, MF_WG_REKEY_AFTER_MESSAGES + 1);
  assert_true(mf_wg_timers_rekey_after_send(&t, kp, T0 + SEC));
  assert_false(mf_wg_timers_rekey_after_send(&t, NULL, T0));

  /* Receiving: the initiator's last chance, asked once per session. */
  mf_wg_timers_init(&t, 3);
  kp = keypair(&kps, true, T0);
  uint64_t late = MF_WG_REJECT_AFTER_TIME - MF_WG_KEEPALIVE_TIMEOUT -
                  MF_WG_REKEY_TIMEOUT;
  assert_false(mf_wg_timers_rekey_after_receive(&t, kp, T0 + late - 1));
  assert_true(mf_wg_timers_rekey_after_receive(&t, kp, T0 + late));
  assert_false(mf_wg_timers_rekey_after_receive(&t, kp, T0 + late + 10 * SEC));
  mf_wg_timers_handshake_complete(&t, T0 + late + 11 * SEC);
  assert_true(mf_wg_timers_rekey_after_receive(&t, kp, T0 + late + 12 * SEC));
  kp = keypair(&kps, false, T0);
  mf_wg_timers_init(&t, 3);
  assert_false(mf_wg_timers_rekey_after_receive(&t, kp, T0 + late));
}

static void test_jitter_repeatable(void **state)
{
  mf_wg_timers_t a, b, c;
  mf_wg_timers_init(&a, 1234);
  mf_wg_timers_init(&b, 1234);
  mf_wg_timers_init(&c, 4321);
  int same_as_other_seed = 0;
  for (int i = 0; i < 50; i++) {
    mf_wg_timers_handshake_initiated(&a, T0);
    mf_wg_timers_handshake_initiated(&b, T0);
    mf_wg_timers_handshake_initiated(&c, T0);
    assert_int_equal(mf_wg_timers_next(&a), mf_wg_timers_next(&b));
    same_as_other_seed += mf_wg_timers_next(&a) == mf_wg_timers_next(&c);
  }
  assert_true(same_as_other_seed < 5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nothing_armed),
      cmocka_unit_test(test_retransmit_then_give_up),
      cmocka_unit_test(test_handshake_complete_stops_retries),
      cmocka_unit_test(test_keepalive_after_receive),
      cmocka_unit_test(test_new_handshake_after_send_without_receive),
      cmocka_unit_test(test_persistent_keepalive),
      cmocka_unit_test(test_zero_key_material),
      cmocka_unit_test(test_rekey_questions),
      cmocka_unit_test(test_jitter_repeatable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
