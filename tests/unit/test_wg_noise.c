/* The WireGuard handshake between two in-memory instances, then data both
 * ways through their keypairs; every byte of both handshake messages
 * tampered with; wrong responder, wrong peer, replayed response, low-order
 * ephemeral. One fixed handshake is compared byte for byte with an
 * independent model of whitepaper section 5.4 written in Python
 * (hashlib, hmac and the cryptography package). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/cookie.h"
#include "wireguard/data.h"
#include "wireguard/keys.h"
#include "wireguard/noise.h"
#include "wireguard/tai64n.h"

static void hex(uint8_t *out, const char *h)
{
  for (size_t i = 0; h[2 * i]; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

/* One side of a tunnel. */
typedef struct {
  mf_wg_identity_t id;
  mf_wg_noise_peer_t peer;
  mf_wg_cookie_checker_t checker;
  mf_wg_cookie_maker_t maker;
  mf_wg_handshake_t hs;
  mf_wg_keypairs_t kps;
} side_t;

static const char *init_priv = "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk=";
static const char *resp_priv = "ELGMg2yDpUc9Lz6N67Gy3H2985ky/P0xwGL0zh2yX0Q=";
static const char *psk_text = "z1mxaIzF2blAPSwY1Ei3dvOKx8TtBko3hhfIAIF9QnA=";

static void side_setup(side_t *s, const char *priv_text, const side_t *other,
                       const uint8_t *psk)
{
  uint8_t priv[32];
  memset(s, 0, sizeof(*s));
  assert_int_equal(mf_wg_key_from_base64(priv, priv_text), 0);
  assert_int_equal(mf_wg_identity_init(&s->id, priv), 0);
  assert_int_equal(mf_wg_cookie_checker_init(&s->checker, s->id.public_key), 0);
  if (other) {
    assert_int_equal(
        mf_wg_noise_peer_init(&s->peer, &s->id, other->id.public_key, psk), 0);
    assert_int_equal(mf_wg_cookie_maker_init(&s->maker, other->id.public_key),
                     0);
  }
  mf_wg_keypairs_init(&s->kps);
}

/* Two sides that know each other. */
static void pair_setup(side_t *a, side_t *b, const uint8_t *psk)
{
  side_setup(a, init_priv, NULL, NULL);
  side_setup(b, resp_priv, a, psk);
  assert_int_equal(mf_wg_noise_peer_init(&a->peer, &a->id, b->id.public_key, psk),
                   0);
  assert_int_equal(mf_wg_cookie_maker_init(&a->maker, b->id.public_key), 0);
}

static void make_initiation(side_t *a, uint32_t idx, const uint8_t *eph,
                            mf_wg_msg_initiation_t *m)
{
  uint8_t ts[12];
  mf_wg_tai64n_now(ts);
  assert_int_equal(mf_wg_noise_create_initiation(&a->hs, &a->id, &a->peer, idx,
                                                 ts, eph, m),
                   0);
  assert_int_equal(mf_wg_cookie_add_macs(&a->maker, (uint8_t *)m, sizeof(*m), 1),
                   0);
}

/* initiation -> response -> both keypairs installed; returns 0 or -1. */
static int handshake(side_t *a, side_t *b, uint32_t ia, uint32_t ib)
{
  mf_wg_msg_initiation_t init;
  mf_wg_msg_response_t resp;
  mf_wg_initiation_t in;
  mf_wg_session_t sa, sb;
  make_initiation(a, ia, NULL, &init);
  if (mf_wg_cookie_validate(&b->checker, (uint8_t *)&init, sizeof(init), NULL,
                            false, 1) != MF_WG_COOKIE_MAC1_OK ||
      mf_wg_noise_consume_initiation(&b->id, &init, &in) < 0 ||
      memcmp(in.remote_static, a->id.public_key, 32) != 0 ||
      mf_wg_noise_create_response(&in, &b->peer, ib, NULL, &resp, &sb) < 0)
    return -1;
  mf_wg_cookie_add_macs(&b->maker, (uint8_t *)&resp, sizeof(resp), 1);
  if (mf_wg_cookie_validate(&a->checker, (uint8_t *)&resp, sizeof(resp), NULL,
                            false, 1) != MF_WG_COOKIE_MAC1_OK ||
      mf_wg_noise_consume_response(&a->hs, &a->id, &a->peer, &resp, &sa) < 0)
    return -1;
  assert_true(sa.initiator);
  assert_false(sb.initiator);
  assert_memory_equal(sa.send_key, sb.recv_key, 32);
  assert_memory_equal(sa.recv_key, sb.send_key, 32);
  assert_int_equal(sa.local_index, ia);
  assert_int_equal(sa.remote_index, ib);
  assert_int_equal(sb.local_index, ib);
  assert_int_equal(sb.remote_index, ia);
  mf_wg_dropped_t d;
  assert_non_null(mf_wg_keypairs_begin_session(&a->kps, &sa, 100, &d));
  assert_non_null(mf_wg_keypairs_begin_session(&b->kps, &sb, 100, &d));
  return 0;
}

/* Sends len bytes from one side and checks the other gets them. */
static void transfer(mf_wg_data_ctx_t *c, side_t *from, side_t *to, size_t len,
                     uint64_t now)
{
  uint8_t plain[1500], msg[1600], back[1600];
  for (size_t i = 0; i < len; i++)
    plain[i] = (uint8_t)(i * 31 + len);
  mf_wg_keypair_t *kp = mf_wg_keypairs_for_send(&from->kps, now);
  assert_non_null(kp);
  uint64_t counter;
  assert_int_equal(mf_wg_keypair_reserve(kp, 1, &counter), 0);
  assert_int_equal(mf_wg_data_encrypt(c, kp, counter, plain, len, msg),
                   MF_WG_DATA_OK);
  mf_wg_data_view_t v;
  assert_int_equal(mf_wg_msg_data_parse(msg, mf_wg_data_msg_len(len), &v), 0);
  mf_wg_keypair_t *rk = mf_wg_keypairs_find(&to->kps, v.receiver);
  assert_non_null(rk);
  assert_true(mf_wg_keypair_may_receive(rk, now));
  size_t got = 0;
  assert_int_equal(mf_wg_data_decrypt(c, rk, msg, mf_wg_data_msg_len(len), back,
                                      &got),
                   MF_WG_DATA_OK);
  assert_int_equal(got, len);
  assert_memory_equal(back, plain, len);
  mf_wg_keypairs_received_with(&to->kps, rk, NULL);
  /* The same message again is a replay. */
  assert_int_equal(mf_wg_data_decrypt(c, rk, msg, mf_wg_data_msg_len(len), back,
                                      &got),
                   MF_WG_DATA_E_REPLAY);
}

static void run_tunnel(const uint8_t *psk)
{
  side_t a, b;
  mf_wg_data_ctx_t c;
  assert_int_equal(mf_wg_data_ctx_init(&c), 0);
  pair_setup(&a, &b, psk);
  assert_int_equal(handshake(&a, &b, 7, 9), 0);
  /* The responder may not send before the initiator's first packet. */
  assert_null(mf_wg_keypairs_for_send(&b.kps, 100));
  transfer(&c, &a, &b, 0, 100); /* a keepalive confirms the session */
  assert_non_null(mf_wg_keypairs_for_send(&b.kps, 100));
  transfer(&c, &b, &a, 84, 100);
  transfer(&c, &a, &b, 1420, 100);
  transfer(&c, &b, &a, 1, 100);
  mf_wg_data_ctx_fini(&c);
}

static void test_handshake_and_data_without_psk(void **state)
{
  run_tunnel(NULL);
}

static void test_handshake_and_data_with_psk(void **state)
{
  uint8_t psk[32];
  assert_int_equal(mf_wg_key_from_base64(psk, psk_text), 0);
  run_tunnel(psk);
}

static void test_psk_mismatch_fails(void **state)
{
  side_t a, b;
  uint8_t psk[32];
  assert_int_equal(mf_wg_key_from_base64(psk, psk_text), 0);
  pair_setup(&a, &b, psk);
  psk[0] ^= 1;
  assert_int_equal(mf_wg_noise_peer_init(&b.peer, &b.id, a.id.public_key, psk),
                   0);
  assert_int_equal(handshake(&a, &b, 1, 2), -1);
  assert_true(a.hs.pending); /* a bad response does not end the attempt */
}

/* The Python model's output for these inputs (see the file comment). */
static void test_matches_reference_model(void **state)
{
  side_t a, b;
  uint8_t psk[32], e_i[32], e_r[32], ts[12];
  uint8_t want_init[148], want_resp[92], want_send[32], want_recv[32];
  assert_int_equal(mf_wg_key_from_base64(psk, psk_text), 0);
  pair_setup(&a, &b, psk);
  memset(e_i, 0x11, 32);
  memset(e_r, 0x22, 32);
  hex(ts, "400000006553f1000a000000");
  hex(want_init,
      "01000000040302017b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f7489"
      "2cb0f73f1360fea86a8087ab468bfec3cf648924100f259a7461cd4078d57f7a039faa"
      "5077fcaa959d3e82184f611b93c39702a525da92f149c2616f7c8fde03d0d5102f5780"
      "97cd21e07fb55b166159f2b156e5d53fb943e334ca10ea0a10d9810000000000000000"
      "0000000000000000");
  hex(want_resp,
      "02000000d0c0b0a0040302010faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f"
      "22a1c4cf2678570f20c223ecba65ae85d58b5dcd08cff567bf04c12965d839d050de68"
      "9d30293d40d300000000000000000000000000000000");
  hex(want_send,
      "36f091d0bc8b41a8a3121e50901a6697d115bbed3f3595b2ac8d9becb70fd137");
  hex(want_recv,
      "e48f65a82863101e830da263da3b828fdac618a0dfb914b3962019592faab81e");

  mf_wg_msg_initiation_t init;
  mf_wg_msg_response_t resp;
  mf_wg_initiation_t in;
  mf_wg_session_t sa, sb;
  assert_int_equal(mf_wg_noise_create_initiation(&a.hs, &a.id, &a.peer,
                                                 0x01020304, ts, e_i, &init),
                   0);
  assert_int_equal(
      mf_wg_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), 0), 0);
  assert_memory_equal(&init, want_init, sizeof(init));
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &init, &in), 0);
  assert_memory_equal(in.timestamp, ts, 12);
  assert_int_equal(in.remote_index, 0x01020304);
  assert_int_equal(mf_wg_noise_create_response(&in, &b.peer, 0xa0b0c0d0, e_r,
                                               &resp, &sb),
                   0);
  assert_int_equal(
      mf_wg_cookie_add_macs(&b.maker, (uint8_t *)&resp, sizeof(resp), 0), 0);
  assert_memory_equal(&resp, want_resp, sizeof(resp));
  assert_int_equal(
      mf_wg_noise_consume_response(&a.hs, &a.id, &a.peer, &resp, &sa), 0);
  assert_memory_equal(sa.send_key, want_send, 32);
  assert_memory_equal(sa.recv_key, want_recv, 32);
  assert_memory_equal(sb.recv_key, want_send, 32);
  assert_memory_equal(sb.send_key, want_recv, 32);
}

/* Every bit that Noise or mac1 covers, flipped one byte at a time. */
static void test_tampered_initiation(void **state)
{
  side_t a, b;
  mf_wg_msg_initiation_t good, bad;
  mf_wg_initiation_t in;
  pair_setup(&a, &b, NULL);
  make_initiation(&a, 5, NULL, &good);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &good, &in), 0);
  for (size_t i = 0; i < sizeof(good); i++) {
    bad = good;
    ((uint8_t *)&bad)[i] ^= 0x40;
    mf_wg_cookie_verdict_t v = mf_wg_cookie_validate(
        &b.checker, (uint8_t *)&bad, sizeof(bad), NULL, false, 1);
    if (i < offsetof(mf_wg_msg_initiation_t, mac2))
      assert_int_equal(v, MF_WG_COOKIE_MAC1_BAD);
    else
      assert_int_equal(v, MF_WG_COOKIE_MAC1_OK); /* mac2 unchecked */
    int rc = mf_wg_noise_consume_initiation(&b.id, &bad, &in);
    /* The sender index is outside the Noise transcript: mac1 guards it. */
    bool noise_covers = i < 4 || (i >= 8 && i < offsetof(mf_wg_msg_initiation_t,
                                                         mac1));
    assert_int_equal(rc, noise_covers ? -1 : 0);
  }
}

static void test_tampered_response(void **state)
{
  side_t a, b;
  mf_wg_msg_initiation_t init;
  mf_wg_msg_response_t good, bad;
  mf_wg_initiation_t in;
  mf_wg_session_t s;
  pair_setup(&a, &b, NULL);
  make_initiation(&a, 5, NULL, &init);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &init, &in), 0);
  assert_int_equal(mf_wg_noise_create_response(&in, &b.peer, 6, NULL, &good, &s),
                   0);
  mf_wg_cookie_add_macs(&b.maker, (uint8_t *)&good, sizeof(good), 1);
  for (size_t i = 0; i < sizeof(good); i++) {
    bad = good;
    ((uint8_t *)&bad)[i] ^= 0x01;
    mf_wg_cookie_verdict_t v = mf_wg_cookie_validate(
        &a.checker, (uint8_t *)&bad, sizeof(bad), NULL, false, 1);
    assert_int_equal(v, i < offsetof(mf_wg_msg_response_t, mac2)
                            ? MF_WG_COOKIE_MAC1_BAD
                            : MF_WG_COOKIE_MAC1_OK);
    mf_wg_handshake_t saved = a.hs;
    int rc = mf_wg_noise_consume_response(&a.hs, &a.id, &a.peer, &bad, &s);
    bool noise_covers =
        i < 4 || (i >= 8 && i < offsetof(mf_wg_msg_response_t, mac1));
    assert_int_equal(rc, noise_covers ? -1 : 0);
    assert_true(noise_covers ? a.hs.pending : !a.hs.pending);
    a.hs = saved;
  }
  /* The untouched response still works after all that, once. */
  assert_int_equal(mf_wg_noise_consume_response(&a.hs, &a.id, &a.peer, &good, &s),
                   0);
  assert_int_equal(mf_wg_noise_consume_response(&a.hs, &a.id, &a.peer, &good, &s),
                   -1);
}

static void test_wrong_responder_and_wrong_peer(void **state)
{
  side_t a, b, c;
  mf_wg_msg_initiation_t init;
  mf_wg_msg_response_t resp;
  mf_wg_initiation_t in;
  mf_wg_session_t s;
  pair_setup(&a, &b, NULL);
  side_setup(&c, "eH//2HvucbAkOW4+xFZRdjYupqNzo0N/FUwL+0kkmXE=", &a, NULL);
  make_initiation(&a, 5, NULL, &init);
  /* Meant for b: c's mac1 key differs, and c cannot decrypt it either. */
  assert_int_equal(mf_wg_cookie_validate(&c.checker, (uint8_t *)&init,
                                         sizeof(init), NULL, false, 1),
                   MF_WG_COOKIE_MAC1_BAD);
  assert_int_equal(mf_wg_noise_consume_initiation(&c.id, &init, &in), -1);
  /* b answers with a peer entry of someone else (c): refused. */
  mf_wg_noise_peer_t other;
  assert_int_equal(mf_wg_noise_peer_init(&other, &b.id, c.id.public_key, NULL),
                   0);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &init, &in), 0);
  assert_int_equal(
      mf_wg_noise_create_response(&in, &other, 6, NULL, &resp, &s), -1);
  assert_int_equal(
      mf_wg_noise_create_response(&in, &b.peer, 6, NULL, &resp, &s), 0);
  /* Response to an index a never used. */
  resp.receiver = mf_wg_le32(99);
  assert_int_equal(mf_wg_noise_consume_response(&a.hs, &a.id, &a.peer, &resp, &s),
                   -1);
}

static void test_low_order_ephemeral(void **state)
{
  side_t a, b;
  mf_wg_msg_initiation_t init;
  mf_wg_initiation_t in;
  pair_setup(&a, &b, NULL);
  make_initiation(&a, 5, NULL, &init);
  memset(init.ephemeral, 0, 32);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &init, &in), -1);
  uint8_t zero[32] = {0};
  mf_wg_noise_peer_t p;
  assert_int_equal(mf_wg_noise_peer_init(&p, &a.id, zero, NULL), -1);
}

static void test_timestamp_order(void **state)
{
  side_t a, b;
  mf_wg_msg_initiation_t m1, m2;
  mf_wg_initiation_t i1, i2;
  uint8_t t1[12], t2[12];
  struct timespec ts = {.tv_sec = 1700000000, .tv_nsec = 5};
  pair_setup(&a, &b, NULL);
  mf_wg_tai64n_from_timespec(t1, &ts);
  ts.tv_nsec = 40000000; /* 40 ms later: a different grain */
  mf_wg_tai64n_from_timespec(t2, &ts);
  assert_int_equal(mf_wg_noise_create_initiation(&a.hs, &a.id, &a.peer, 1, t1,
                                                 NULL, &m1),
                   0);
  assert_int_equal(mf_wg_noise_create_initiation(&a.hs, &a.id, &a.peer, 2, t2,
                                                 NULL, &m2),
                   0);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &m1, &i1), 0);
  assert_int_equal(mf_wg_noise_consume_initiation(&b.id, &m2, &i2), 0);
  /* What a responder's replay check sees: m2 is newer, m1 replayed is not. */
  assert_true(mf_wg_tai64n_after(i2.timestamp, i1.timestamp));
  assert_false(mf_wg_tai64n_after(i1.timestamp, i2.timestamp));
  assert_false(mf_wg_tai64n_after(i1.timestamp, i1.timestamp));
  /* Whitened: 5 ns and 0 ns are one grain. */
  ts.tv_nsec = 0;
  mf_wg_tai64n_from_timespec(t2, &ts);
  assert_memory_equal(t1, t2, 12);
}

static void test_message_parsing(void **state)
{
  uint8_t buf[200] = {0};
  mf_wg_msg_initiation_t i;
  mf_wg_msg_response_t r;
  mf_wg_msg_cookie_t c;
  mf_wg_data_view_t d;
  buf[0] = 1;
  assert_int_equal(mf_wg_msg_type(buf, 148), MF_WG_MSG_INITIATION);
  assert_int_equal(mf_wg_msg_initiation_parse(buf, 148, &i), 0);
  assert_int_equal(mf_wg_msg_initiation_parse(buf, 147, &i), -1);
  assert_int_equal(mf_wg_msg_initiation_parse(buf, 149, &i), -1);
  buf[1] = 1; /* reserved bytes must be zero */
  assert_int_equal(mf_wg_msg_type(buf, 148), 0);
  buf[1] = 0;
  buf[0] = 2;
  assert_int_equal(mf_wg_msg_response_parse(buf, 92, &r), 0);
  assert_int_equal(mf_wg_msg_response_parse(buf, 148, &r), -1);
  buf[0] = 3;
  assert_int_equal(mf_wg_msg_cookie_parse(buf, 64, &c), 0);
  assert_int_equal(mf_wg_msg_cookie_parse(buf, 63, &c), -1);
  buf[0] = 4;
  buf[4] = 0x78;
  buf[8] = 0x01;
  buf[15] = 0x80;
  assert_int_equal(mf_wg_msg_data_parse(buf, 31, &d), -1);
  assert_int_equal(mf_wg_msg_data_parse(buf, 32, &d), 0);
  assert_int_equal(d.receiver, 0x78);
  assert_int_equal(d.counter, 0x8000000000000001ull);
  assert_int_equal(d.payload_len, 16);
  buf[0] = 5;
  assert_int_equal(mf_wg_msg_type(buf, 148), 0);
  assert_int_equal(mf_wg_msg_type(buf, 3), 0);
  assert_int_equal(mf_wg_msg_type(NULL, 0), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_and_data_without_psk),
      cmocka_unit_test(test_handshake_and_data_with_psk),
      cmocka_unit_test(test_psk_mismatch_fails),
      cmocka_unit_test(test_matches_reference_model),
      cmocka_unit_test(test_tampered_initiation),
      cmocka_unit_test(test_tampered_response),
      cmocka_unit_test(test_wrong_responder_and_wrong_peer),
      cmocka_unit_test(test_low_order_ephemeral),
      cmocka_unit_test(test_timestamp_order),
      cmocka_unit_test(test_message_parsing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
