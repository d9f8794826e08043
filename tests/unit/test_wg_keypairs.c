/* A peer's keypair slots (whitepaper section 5.4.5, 6.1): rotation when
 * handshakes complete on either side, the responder's next slot waiting
 * for confirmation, expiry by age and by counter, indices reported for
 * every keypair dropped, counter reservation at the very end of the
 * nonce space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/keypairs.h"

#define SEC MF_WG_NS_PER_SEC
#define T0 (50 * SEC)

static mf_wg_keypair_t *begin(mf_wg_keypairs_t *kps, uint32_t index,
                              bool initiator, uint64_t now,
                              mf_wg_dropped_t *d)
{
  mf_wg_session_t s = {.local_index = index, .remote_index = index + 1000,
                       .initiator = initiator};
  memset(s.send_key, (int)index, 32);
  mf_wg_keypair_t *kp = mf_wg_keypairs_begin_session(kps, &s, now, d);
  assert_non_null(kp);
  /* The session handed over is wiped. */
  uint8_t zero[32] = {0};
  assert_memory_equal(s.send_key, zero, 32);
  return kp;
}

static void test_initiator_rotation(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_dropped_t d;
  mf_wg_keypairs_init(&kps);
  mf_wg_keypair_t *a = begin(&kps, 1, true, T0, &d);
  assert_ptr_equal(kps.current, a);
  assert_int_equal(d.n, 0);
  mf_wg_keypair_t *b = begin(&kps, 2, true, T0, &d);
  assert_ptr_equal(kps.current, b);
  assert_ptr_equal(kps.previous, a);
  assert_int_equal(d.n, 0);
  mf_wg_keypair_t *c = begin(&kps, 3, true, T0, &d);
  assert_ptr_equal(kps.current, c);
  assert_int_equal(kps.previous->session.local_index, 2);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.index[0], 1);
  assert_null(mf_wg_keypairs_find(&kps, 1));
  assert_non_null(mf_wg_keypairs_find(&kps, 2));
  assert_ptr_equal(mf_wg_keypairs_for_send(&kps, T0), c);
}

static void test_responder_waits_for_confirmation(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_dropped_t d;
  mf_wg_keypairs_init(&kps);
  mf_wg_keypair_t *r1 = begin(&kps, 10, false, T0, &d);
  assert_ptr_equal(kps.next, r1);
  assert_null(mf_wg_keypairs_for_send(&kps, T0));
  /* Data under some other keypair does not promote it. */
  assert_false(mf_wg_keypairs_received_with(&kps, NULL, &d));
  assert_true(mf_wg_keypairs_received_with(&kps, r1, &d));
  assert_ptr_equal(mf_wg_keypairs_for_send(&kps, T0), r1);
  assert_false(mf_wg_keypairs_received_with(&kps, r1, &d)); /* once */

  /* A second handshake: current keeps sending until the new one is
   * confirmed, then becomes previous. */
  mf_wg_keypair_t *r2 = begin(&kps, 11, false, T0 + SEC, &d);
  assert_int_equal(d.n, 0);
  assert_ptr_equal(mf_wg_keypairs_for_send(&kps, T0 + SEC), r1);
  assert_true(mf_wg_keypairs_received_with(&kps, r2, &d));
  assert_ptr_equal(kps.current, r2);
  assert_ptr_equal(kps.previous, r1);

  /* A third that is never confirmed, replaced by a fourth: the third's
   * index is dropped, and so is previous. */
  begin(&kps, 12, false, T0 + 2 * SEC, &d);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.index[0], 10);
  begin(&kps, 13, false, T0 + 3 * SEC, &d);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.index[0], 12);
  assert_int_equal(kps.current->session.local_index, 11);
}

static void test_initiator_completes_over_unconfirmed_next(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_dropped_t d;
  mf_wg_keypairs_init(&kps);
  mf_wg_keypair_t *cur = begin(&kps, 1, true, T0, &d);
  mf_wg_keypair_t *old = begin(&kps, 2, true, T0, &d); /* previous = 1 */
  (void)cur;
  mf_wg_keypair_t *nx = begin(&kps, 3, false, T0, &d); /* both sides began */
  assert_int_equal(d.n, 1);                            /* previous (1) went */
  mf_wg_keypair_t *mine = begin(&kps, 4, true, T0, &d);
  /* next becomes previous (the peer may use it), current goes. */
  assert_ptr_equal(kps.current, mine);
  assert_ptr_equal(kps.previous, nx);
  assert_null(kps.next);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.index[0], 2);
  assert_false(old->live && old->session.local_index == 2);
}

static void test_expiry(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_keypairs_init(&kps);
  mf_wg_keypair_t *kp = begin(&kps, 1, true, T0, NULL);
  assert_non_null(mf_wg_keypairs_for_send(&kps, T0 + 179 * SEC));
  assert_true(mf_wg_keypair_may_receive(kp, T0 + 179 * SEC));
  assert_null(mf_wg_keypairs_for_send(&kps, T0 + 180 * SEC));
  assert_false(mf_wg_keypair_may_receive(kp, T0 + 180 * SEC));
  /* By counter. */
  kp = begin(&kps, 2, true, T0, NULL);
  atomic_store(&kp->send_counter, MF_WG_REJECT_AFTER_MESSAGES);
  assert_null(mf_wg_keypairs_for_send(&kps, T0));
  /* By order: expire_sending keeps receiving alive. */
  kp = begin(&kps, 3, true, T0, NULL);
  mf_wg_keypairs_expire_sending(&kps);
  assert_null(mf_wg_keypairs_for_send(&kps, T0));
  assert_true(mf_wg_keypair_may_receive(kp, T0));
}

static void test_reserve_at_the_end(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_keypairs_init(&kps);
  mf_wg_keypair_t *kp = begin(&kps, 1, true, T0, NULL);
  uint64_t first;
  assert_int_equal(mf_wg_keypair_reserve(kp, 256, &first), 0);
  assert_int_equal(first, 0);
  assert_int_equal(mf_wg_keypair_reserve(kp, 1, &first), 0);
  assert_int_equal(first, 256);
  atomic_store(&kp->send_counter, MF_WG_REJECT_AFTER_MESSAGES - 10);
  assert_int_equal(mf_wg_keypair_reserve(kp, 11, &first), -1);
  assert_int_equal(mf_wg_keypair_reserve(kp, 10, &first), 0);
  assert_int_equal(first, MF_WG_REJECT_AFTER_MESSAGES - 10);
  /* Refusals must not creep the counter towards a wrap. */
  for (int i = 0; i < 100000; i++)
    assert_int_equal(mf_wg_keypair_reserve(kp, 256, &first), -1);
  assert_int_equal(atomic_load(&kp->send_counter), MF_WG_REJECT_AFTER_MESSAGES);
}

static void test_clear_reports_and_wipes(void **state)
{
  mf_wg_keypairs_t kps;
  mf_wg_dropped_t d;
  mf_wg_keypairs_init(&kps);
  begin(&kps, 1, true, T0, NULL);
  begin(&kps, 2, true, T0, NULL);
  begin(&kps, 3, false, T0, NULL); /* 1 goes: next 3, current 2 */
  mf_wg_keypairs_clear(&kps, &d);
  assert_int_equal(d.n, 2);
  assert_null(kps.current);
  assert_null(kps.previous);
  assert_null(kps.next);
  uint8_t zero[32] = {0};
  for (int i = 0; i < 3; i++) {
    assert_false(kps.slot[i].live);
    assert_memory_equal(kps.slot[i].session.send_key, zero, 32);
    assert_memory_equal(kps.slot[i].session.recv_key, zero, 32);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_initiator_rotation),
      cmocka_unit_test(test_responder_waits_for_confirmation),
      cmocka_unit_test(test_initiator_completes_over_unconfirmed_next),
      cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_reserve_at_the_end),
      cmocka_unit_test(test_clear_reports_and_wipes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
