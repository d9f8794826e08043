/* Transport data messages (whitepaper section 5.4.6): a vector sealed in
 * place and opened in place out of order, padding, and every drop reason
 * of the receive path with its named result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/data.h"

#define N 64
#define ROOM 16 /* header in front, tag behind */

typedef struct {
  mf_wg_keypairs_t tx, rx;
  mf_wg_keypair_t *send, *recv;
  mf_wg_data_ctx_t c;
} link_t;

static void link_setup(link_t *l)
{
  mf_wg_session_t a = {.local_index = 11, .remote_index = 22,
                       .initiator = true};
  mf_wg_session_t b = {.local_index = 22, .remote_index = 11};
  for (int i = 0; i < 32; i++) {
    a.send_key[i] = b.recv_key[i] = (uint8_t)(i * 3 + 1);
    a.recv_key[i] = b.send_key[i] = (uint8_t)(i * 5 + 2);
  }
  mf_wg_keypairs_init(&l->tx);
  mf_wg_keypairs_init(&l->rx);
  l->send = mf_wg_keypairs_begin_session(&l->tx, &a, 1, NULL);
  l->recv = mf_wg_keypairs_begin_session(&l->rx, &b, 1, NULL);
  assert_int_equal(mf_wg_data_ctx_init(&l->c), 0);
}

static void test_vector_in_place(void **state)
{
  link_t l;
  static uint8_t buf[N][ROOM + 1440 + ROOM];
  static uint8_t orig[N][1440];
  size_t len[N];
  mf_wg_data_op_t ops[N];
  link_setup(&l);
  srand(5406);
  uint64_t first;
  assert_int_equal(mf_wg_keypair_reserve(l.send, N, &first), 0);
  for (int i = 0; i < N; i++) {
    len[i] = mf_wg_data_padded_len((size_t)(rand() % 1421), 1420);
    for (size_t j = 0; j < len[i]; j++)
      orig[i][j] = buf[i][ROOM + j] = (uint8_t)rand();
    ops[i] = (mf_wg_data_op_t){.kp = l.send, .in = buf[i] + ROOM,
                               .out = buf[i], .len = (uint32_t)len[i],
                               .counter = first + (uint64_t)i};
  }
  assert_int_equal(mf_wg_data_encrypt_vector(&l.c, ops, N), N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(ops[i].result, MF_WG_DATA_OK);
    assert_int_equal(ops[i].out_len, len[i] + 32);
  }
  /* Open them in reverse order, in place; all pass the replay window. */
  mf_wg_data_op_t rx[N];
  for (int i = 0; i < N; i++) {
    int k = N - 1 - i;
    rx[i] = (mf_wg_data_op_t){.kp = l.recv, .in = buf[k], .out = buf[k] + ROOM,
                              .len = ops[k].out_len};
  }
  assert_int_equal(mf_wg_data_decrypt_vector(&l.c, rx, N), N);
  for (int i = 0; i < N; i++) {
    int k = N - 1 - i;
    assert_int_equal(rx[i].result, MF_WG_DATA_OK);
    assert_int_equal(rx[i].counter, (uint64_t)k);
    assert_int_equal(rx[i].out_len, len[k]);
    assert_memory_equal(buf[k] + ROOM, orig[k], len[k]);
  }
  mf_wg_data_ctx_fini(&l.c);
}

static void test_drop_reasons(void **state)
{
  link_t l;
  uint8_t plain[64], msg[128], good[128], out[128];
  size_t got = 0;
  link_setup(&l);
  memset(plain, 0x5a, sizeof(plain));
  assert_int_equal(mf_wg_data_encrypt(&l.c, l.send, 7, plain, 64, good),
                   MF_WG_DATA_OK);
  size_t mlen = mf_wg_data_msg_len(64);

  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, good, 31, out, &got),
                   MF_WG_DATA_E_SHORT);
  memcpy(msg, good, mlen);
  msg[0] = 1;
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, msg, mlen, out, &got),
                   MF_WG_DATA_E_TYPE);
  memcpy(msg, good, mlen);
  msg[4] ^= 1;
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, msg, mlen, out, &got),
                   MF_WG_DATA_E_INDEX);
  memcpy(msg, good, mlen);
  memset(msg + 8, 0xff, 8);
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, msg, mlen, out, &got),
                   MF_WG_DATA_E_EXPIRED);
  /* The counter is the nonce: changing it breaks authentication. */
  memcpy(msg, good, mlen);
  msg[8] ^= 1;
  memset(out, 0x77, sizeof(out));
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, msg, mlen, out, &got),
                   MF_WG_DATA_E_AUTH);
  uint8_t zero[64] = {0};
  assert_memory_equal(out, zero, 64); /* nothing unauthenticated left */
  for (size_t i = 16; i < mlen; i += 13) {
    memcpy(msg, good, mlen);
    msg[i] ^= 0x80;
    assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, msg, mlen, out, &got),
                     MF_WG_DATA_E_AUTH);
  }
  /* Truncated by one byte: the tag no longer matches. */
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, good, mlen - 1, out, &got),
                   MF_WG_DATA_E_AUTH);
  /* The window did not move for any of those. */
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, good, mlen, out, &got),
                   MF_WG_DATA_OK);
  assert_int_equal(got, 64);
  assert_int_equal(mf_wg_data_decrypt(&l.c, l.recv, good, mlen, out, &got),
                   MF_WG_DATA_E_REPLAY);
  /* Sealing refuses spent counters and stopped keypairs. */
  assert_int_equal(mf_wg_data_encrypt(&l.c, l.send, MF_WG_REJECT_AFTER_MESSAGES,
                                      plain, 64, msg),
                   MF_WG_DATA_E_EXPIRED);
  mf_wg_keypairs_expire_sending(&l.tx);
  assert_int_equal(mf_wg_data_encrypt(&l.c, l.send, 8, plain, 64, msg),
                   MF_WG_DATA_E_EXPIRED);
  assert_string_equal(mf_wg_data_result_name(MF_WG_DATA_E_REPLAY),
                      "replayed or too old counter");
  assert_string_equal(mf_wg_data_result_name(MF_WG_DATA_N_RESULTS), "?");
  mf_wg_data_ctx_fini(&l.c);
}

static void test_padding(void **state)
{
  assert_int_equal(mf_wg_data_padded_len(0, 1420), 0); /* keepalive */
  assert_int_equal(mf_wg_data_padded_len(1, 1420), 16);
  assert_int_equal(mf_wg_data_padded_len(16, 1420), 16);
  assert_int_equal(mf_wg_data_padded_len(1405, 1420), 1408);
  assert_int_equal(mf_wg_data_padded_len(1419, 1420), 1420);
  assert_int_equal(mf_wg_data_padded_len(1420, 1420), 1420);
  assert_int_equal(mf_wg_data_padded_len(1500, 1420), 1500);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_in_place),
      cmocka_unit_test(test_drop_reasons),
      cmocka_unit_test(test_padding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
