/* libFuzzer target for src/wireguard: message parsing and every function
 * that consumes bytes from the network. The first input byte picks the
 * path, the rest is the datagram (or, for the round trips, the plaintext
 * we seal and must get back). Any input must give a clean refusal or the
 * right answer, never a crash, a leak or an out-of-bounds access.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_wg_messages.c
 *   ./fuzz_wg_messages fuzz/corpus/wg_messages */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wireguard/cookie.h"
#include "wireguard/data.h"
#include "wireguard/keys.h"
#include "wireguard/noise.h"
#include "wireguard/tai64n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DATAGRAM 2048

/* Two sides that completed a handshake, fixed for the whole run. */
static struct {
  mf_wg_identity_t a, b;
  mf_wg_noise_peer_t a_peer, b_peer; /* a's view of b, b's view of a */
  mf_wg_cookie_checker_t a_checker, b_checker;
  mf_wg_cookie_maker_t a_maker;
  mf_wg_handshake_t a_pending; /* an initiation a sent and b never answered */
  mf_wg_keypairs_t a_kps, b_kps;
  mf_wg_data_ctx_t ctx;
  struct sockaddr_in src;
  bool ready;
} w;

static void check(bool ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "fuzz_wg_messages: %s\n", what);
    abort();
  }
}

static void setup(void)
{
  uint8_t ka[32], kb[32], ts[12] = {0x40};
  memset(ka, 0x31, 32);
  memset(kb, 0x52, 32);
  mf_wg_key_clamp(ka);
  mf_wg_key_clamp(kb);
  check(mf_wg_identity_init(&w.a, ka) == 0 && mf_wg_identity_init(&w.b, kb) == 0 &&
            mf_wg_noise_peer_init(&w.a_peer, &w.a, w.b.public_key, NULL) == 0 &&
            mf_wg_noise_peer_init(&w.b_peer, &w.b, w.a.public_key, NULL) == 0 &&
            mf_wg_cookie_checker_init(&w.a_checker, w.a.public_key) == 0 &&
            mf_wg_cookie_checker_init(&w.b_checker, w.b.public_key) == 0 &&
            mf_wg_cookie_maker_init(&w.a_maker, w.b.public_key) == 0 &&
            mf_wg_data_ctx_init(&w.ctx) == 0,
        "setup");
  mf_wg_msg_initiation_t m;
  check(mf_wg_noise_create_initiation(&w.a_pending, &w.a, &w.a_peer, 77, ts,
                                      NULL, &m) == 0,
        "initiation");
  mf_wg_keypairs_init(&w.a_kps);
  mf_wg_keypairs_init(&w.b_kps);
  w.src.sin_family = AF_INET;
  w.src.sin_port = htons(51820);
  w.ready = true;
}

/* Whatever arrives on the socket, as the receive path would take it. */
static void receive_datagram(const uint8_t *p, size_t len)
{
  uint32_t type = mf_wg_msg_type(p, len);
  mf_wg_msg_initiation_t mi;
  mf_wg_msg_response_t mr;
  mf_wg_msg_cookie_t mc;
  mf_wg_data_view_t dv;
  int parsed = mf_wg_msg_initiation_parse(p, len, &mi) == 0;
  parsed += mf_wg_msg_response_parse(p, len, &mr) == 0;
  parsed += mf_wg_msg_cookie_parse(p, len, &mc) == 0;
  parsed += mf_wg_msg_data_parse(p, len, &dv) == 0;
  check(parsed == (type != 0), "parsers disagree with mf_wg_msg_type");

  mf_wg_cookie_validate(&w.b_checker, p, len, (struct sockaddr *)&w.src,
                        len & 1, 1);
  if (type == MF_WG_MSG_INITIATION) {
    mf_wg_initiation_t in;
    mf_wg_msg_cookie_t reply;
    mf_wg_cookie_create_reply(&w.b_checker, p, len, (struct sockaddr *)&w.src,
                              1, &reply);
    if (mf_wg_noise_consume_initiation(&w.b, &mi, &in) == 0)
      mf_wg_noise_initiation_clear(&in);
  } else if (type == MF_WG_MSG_RESPONSE) {
    mf_wg_handshake_t hs = w.a_pending; /* stays pending for the next run */
    mf_wg_session_t s;
    if (mf_wg_noise_consume_response(&hs, &w.a, &w.a_peer, &mr, &s) == 0)
      mf_wg_noise_session_clear(&s);
  } else if (type == MF_WG_MSG_COOKIE) {
    w.a_maker.last_mac1_valid = true;
    mf_wg_cookie_consume_reply(&w.a_maker, &mc, 1);
  } else if (type == MF_WG_MSG_DATA) {
    mf_wg_keypair_t *kp = mf_wg_keypairs_find(&w.b_kps, dv.receiver);
    static uint8_t out[MAX_DATAGRAM];
    size_t n = 0;
    if (kp)
      mf_wg_data_decrypt(&w.ctx, kp, p, len, out, &n);
  }
}

/* A full handshake with the fuzzer's bytes as ephemeral keys and
 * timestamp, then its plaintext through the tunnel both ways. */
static void round_trip(const uint8_t *p, size_t len)
{
  uint8_t e_i[32] = {0}, e_r[32] = {0}, ts[12] = {0};
  memcpy(e_i, p, len < 32 ? len : 32);
  if (len > 32)
    memcpy(e_r, p + 32, len - 32 < 32 ? len - 32 : 32);
  if (len > 64)
    memcpy(ts, p + 64, len - 64 < 12 ? len - 64 : 12);
  mf_wg_handshake_t hs = {0};
  mf_wg_msg_initiation_t mi;
  mf_wg_msg_response_t mr;
  mf_wg_initiation_t in;
  mf_wg_session_t sa, sb;
  /* Ephemeral keys are clamped inside X25519, so any 32 bytes work. */
  check(mf_wg_noise_create_initiation(&hs, &w.a, &w.a_peer, 5, ts, e_i, &mi) == 0,
        "create_initiation");
  check(mf_wg_noise_consume_initiation(&w.b, &mi, &in) == 0,
        "consume_initiation of our own");
  check(memcmp(in.timestamp, ts, 12) == 0, "timestamp");
  check(mf_wg_noise_create_response(&in, &w.b_peer, 6, e_r, &mr, &sb) == 0,
        "create_response");
  check(mf_wg_noise_consume_response(&hs, &w.a, &w.a_peer, &mr, &sa) == 0,
        "consume_response of our own");
  check(memcmp(sa.send_key, sb.recv_key, 32) == 0, "keys");
  mf_wg_keypairs_begin_session(&w.a_kps, &sa, 1, NULL);
  mf_wg_keypair_t *rk = mf_wg_keypairs_begin_session(&w.b_kps, &sb, 1, NULL);

  static uint8_t msg[MAX_DATAGRAM + 64], back[MAX_DATAGRAM + 64];
  uint64_t counter = 0;
  size_t n = 0;
  mf_wg_keypair_t *kp = mf_wg_keypairs_for_send(&w.a_kps, 1);
  check(kp && mf_wg_keypair_reserve(kp, 1, &counter) == 0, "reserve");
  check(mf_wg_data_encrypt(&w.ctx, kp, counter, p, len, msg) == MF_WG_DATA_OK,
        "encrypt");
  check(mf_wg_data_decrypt(&w.ctx, rk, msg, mf_wg_data_msg_len(len), back, &n) ==
                MF_WG_DATA_OK &&
            n == len && memcmp(back, p, len) == 0,
        "decrypt of our own");
  mf_wg_keypairs_received_with(&w.b_kps, rk, NULL);
}

/* Key text as wg(8) would read it from a file. */
static void key_text(const uint8_t *p, size_t len)
{
  char text[64];
  uint8_t key[32];
  size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
  memcpy(text, p, n);
  text[n] = '\0';
  if (mf_wg_key_from_base64(key, text) == 0) {
    char again[MF_WG_KEY_B64_LEN + 1];
    mf_wg_key_to_base64(again, key);
    check(strcmp(again, text) == 0, "base64 round trip");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!w.ready)
    setup();
  if (size < 1 || size > MAX_DATAGRAM + 1)
    return 0;
  const uint8_t *p = data + 1;
  size_t len = size - 1;
  switch (data[0] % 4) {
  case 0:
  case 1:
    receive_datagram(p, len);
    break;
  case 2:
    round_trip(p, len);
    break;
  default:
    key_text(p, len);
    break;
  }
  return 0;
}
