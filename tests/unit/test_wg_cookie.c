/* mac1, mac2 and cookie replies (whitepaper section 5.3, 5.4.4, 5.4.7):
 * a responder under load demands a cookie, the initiator takes it and
 * retries with mac2, which is then accepted; cookies are bound to the
 * source address, expire after 120 s, and replies are accepted once and
 * only for the message they answer. Times come from a fake clock. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/cookie.h"
#include "wireguard/keys.h"
#include "wireguard/noise.h"
#include "wireguard/tai64n.h"

#define SEC MF_WG_NS_PER_SEC

typedef struct {
  mf_wg_identity_t ini, resp;
  mf_wg_noise_peer_t ini_peer; /* the responder, seen by the initiator */
  mf_wg_handshake_t hs;
  mf_wg_cookie_maker_t maker;     /* initiator's, towards the responder */
  mf_wg_cookie_checker_t checker; /* responder's */
  struct sockaddr_in src;
} fixture_t;

static void fixture(fixture_t *f)
{
  uint8_t a[32], b[32];
  memset(f, 0, sizeof(*f));
  assert_int_equal(mf_wg_key_generate(a), 0);
  assert_int_equal(mf_wg_key_generate(b), 0);
  assert_int_equal(mf_wg_identity_init(&f->ini, a), 0);
  assert_int_equal(mf_wg_identity_init(&f->resp, b), 0);
  assert_int_equal(
      mf_wg_noise_peer_init(&f->ini_peer, &f->ini, f->resp.public_key, NULL), 0);
  assert_int_equal(mf_wg_cookie_maker_init(&f->maker, f->resp.public_key), 0);
  assert_int_equal(mf_wg_cookie_checker_init(&f->checker, f->resp.public_key),
                   0);
  f->src.sin_family = AF_INET;
  f->src.sin_port = htons(40000);
  inet_pton(AF_INET, "192.0.2.7", &f->src.sin_addr);
}

static void initiation(fixture_t *f, mf_wg_msg_initiation_t *m, uint64_t now)
{
  uint8_t ts[12];
  mf_wg_tai64n_now(ts);
  assert_int_equal(mf_wg_noise_create_initiation(&f->hs, &f->ini, &f->ini_peer,
                                                 3, ts, NULL, m),
                   0);
  assert_int_equal(mf_wg_cookie_add_macs(&f->maker, (uint8_t *)m, sizeof(*m), now),
                   0);
}

static mf_wg_cookie_verdict_t check(fixture_t *f, mf_wg_msg_initiation_t *m,
                                    bool under_load, uint64_t now)
{
  return mf_wg_cookie_validate(&f->checker, (uint8_t *)m, sizeof(*m),
                               (struct sockaddr *)&f->src, under_load, now);
}

static void test_cookie_flow(void **state)
{
  fixture_t f;
  mf_wg_msg_initiation_t m;
  mf_wg_msg_cookie_t reply;
  uint64_t now = 1000 * SEC;
  fixture(&f);

  /* Not under load: mac1 is enough. */
  initiation(&f, &m, now);
  assert_int_equal(check(&f, &m, false, now), MF_WG_COOKIE_MAC1_OK);
  /* Under load: no mac2 yet, so the responder answers with a cookie. */
  assert_int_equal(check(&f, &m, true, now), MF_WG_COOKIE_MAC1_OK);
  assert_int_equal(mf_wg_cookie_create_reply(&f.checker, (uint8_t *)&m,
                                             sizeof(m),
                                             (struct sockaddr *)&f.src, now,
                                             &reply),
                   0);
  assert_int_equal(mf_wg_le32(reply.type), MF_WG_MSG_COOKIE);
  assert_int_equal(mf_wg_le32(reply.receiver), 3); /* m's sender index */
  uint8_t wire[64];
  memcpy(wire, &reply, sizeof(wire));
  mf_wg_msg_cookie_t parsed;
  assert_int_equal(mf_wg_msg_cookie_parse(wire, sizeof(wire), &parsed), 0);
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &parsed, now + SEC), 0);
  /* The same reply again answers nothing. */
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &parsed, now + SEC), -1);

  /* The retry carries mac2 and gets through under load. */
  initiation(&f, &m, now + 2 * SEC);
  assert_int_equal(check(&f, &m, true, now + 2 * SEC), MF_WG_COOKIE_MAC2_OK);

  /* From another port the cookie is not valid. */
  f.src.sin_port = htons(40001);
  assert_int_equal(check(&f, &m, true, now + 2 * SEC), MF_WG_COOKIE_MAC1_OK);
  f.src.sin_port = htons(40000);

  /* A tampered mac2 fails, the rest intact. */
  m.mac2[0] ^= 1;
  assert_int_equal(check(&f, &m, true, now + 2 * SEC), MF_WG_COOKIE_MAC1_OK);

  /* Past 120 s the initiator stops sending mac2 ... */
  initiation(&f, &m, now + SEC + 120 * SEC);
  uint8_t zero[16] = {0};
  assert_memory_equal(m.mac2, zero, 16);
  /* ... and the responder's secret has rotated, so an old mac2 fails. */
  initiation(&f, &m, now + 100 * SEC);
  assert_int_equal(check(&f, &m, true, now + 100 * SEC), MF_WG_COOKIE_MAC2_OK);
  assert_int_equal(check(&f, &m, true, now + 125 * SEC), MF_WG_COOKIE_MAC1_OK);
}

static void test_reply_bound_to_message(void **state)
{
  fixture_t f;
  mf_wg_msg_initiation_t m1, m2;
  mf_wg_msg_cookie_t reply;
  uint64_t now = 5 * SEC;
  fixture(&f);
  initiation(&f, &m1, now);
  assert_int_equal(mf_wg_cookie_create_reply(&f.checker, (uint8_t *)&m1,
                                             sizeof(m1),
                                             (struct sockaddr *)&f.src, now,
                                             &reply),
                   0);
  /* A newer message was sent meanwhile: the reply's AD (m1's mac1) no
   * longer matches what the maker expects. */
  initiation(&f, &m2, now);
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &reply, now), -1);
  /* Tampered replies fail too. */
  assert_int_equal(mf_wg_cookie_create_reply(&f.checker, (uint8_t *)&m2,
                                             sizeof(m2),
                                             (struct sockaddr *)&f.src, now,
                                             &reply),
                   0);
  mf_wg_msg_cookie_t bad = reply;
  bad.nonce[0] ^= 1;
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &bad, now), -1);
  bad = reply;
  bad.encrypted_cookie[31] ^= 1;
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &bad, now), -1);
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &reply, now), 0);
  /* A maker for another responder cannot read it. */
  mf_wg_cookie_maker_t other;
  assert_int_equal(mf_wg_cookie_maker_init(&other, f.ini.public_key), 0);
  other.last_mac1_valid = true;
  memcpy(other.last_mac1, m2.mac1, 16);
  assert_int_equal(mf_wg_cookie_consume_reply(&other, &reply, now), -1);
}

static void test_ipv6_source_and_bad_inputs(void **state)
{
  fixture_t f;
  mf_wg_msg_initiation_t m;
  mf_wg_msg_cookie_t reply;
  struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
  inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr);
  fixture(&f);
  initiation(&f, &m, SEC);
  assert_int_equal(mf_wg_cookie_create_reply(&f.checker, (uint8_t *)&m,
                                             sizeof(m), (struct sockaddr *)&s6,
                                             SEC, &reply),
                   0);
  assert_int_equal(mf_wg_cookie_consume_reply(&f.maker, &reply, SEC), 0);
  initiation(&f, &m, SEC);
  assert_int_equal(mf_wg_cookie_validate(&f.checker, (uint8_t *)&m, sizeof(m),
                                         (struct sockaddr *)&s6, true, SEC),
                   MF_WG_COOKIE_MAC2_OK);
  /* No usable source: mac2 cannot be checked, and no reply is made. */
  struct sockaddr un = {.sa_family = AF_UNIX};
  assert_int_equal(mf_wg_cookie_validate(&f.checker, (uint8_t *)&m, sizeof(m),
                                         &un, true, SEC),
                   MF_WG_COOKIE_MAC1_OK);
  assert_int_equal(mf_wg_cookie_create_reply(&f.checker, (uint8_t *)&m,
                                             sizeof(m), NULL, SEC, &reply),
                   -1);
  /* Only handshake messages carry macs. */
  uint8_t junk[148] = {4};
  assert_int_equal(mf_wg_cookie_validate(&f.checker, junk, sizeof(junk), NULL,
                                         false, SEC),
                   MF_WG_COOKIE_MAC1_BAD);
  assert_int_equal(mf_wg_cookie_add_macs(&f.maker, junk, 147, SEC), -1);
  assert_int_equal(mf_wg_cookie_validate(&f.checker, (uint8_t *)&m, 147, NULL,
                                         false, SEC),
                   MF_WG_COOKIE_MAC1_BAD);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cookie_flow),
      cmocka_unit_test(test_reply_bound_to_message),
      cmocka_unit_test(test_ipv6_source_and_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
