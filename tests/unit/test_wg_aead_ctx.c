/* The data path's keyed ChaCha20-Poly1305 contexts (aead_ctx.h) against
 * the one-shot AEAD of wg_crypto.h, which test_wg_crypto checks against
 * RFC 8439's vectors: same bytes when keys alternate and when one key
 * serves many counters, opening in place, a forged tag refused (output
 * wiped) without spoiling the next message, forgetting, and a context
 * used in the wrong direction refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "wireguard/aead_ctx.h"
#include "wireguard/wg_crypto.h"

#define LEN 1420

static void fill(uint8_t *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed * 17u + i * 31u + (i >> 7));
}

static void test_same_bytes_as_one_shot(void **state)
{
  mf_wg_aead_ctx_t s, o;
  assert_int_equal(mf_wg_aead_ctx_init(&s, 1), 0);
  assert_int_equal(mf_wg_aead_ctx_init(&o, 0), 0);
  uint8_t keys[3][MF_WG_KEY_LEN];
  for (unsigned k = 0; k < 3; k++)
    fill(keys[k], MF_WG_KEY_LEN, 100 + k);
  static uint8_t plain[LEN], want[LEN + 16], got[LEN + 16];
  /* Keys in runs and alternating: the kept key must never leak into a
   * message under another. */
  const unsigned order[] = {0, 0, 0, 1, 0, 1, 1, 2, 2, 0, 2, 1, 1, 1, 0};
  for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    const uint8_t *key = keys[order[i]];
    uint64_t ctr = 1000 + i * 7919u;
    size_t len = i % 4 == 3 ? 0 : LEN - i * 13; /* a keepalive now and then */
    fill(plain, len, i);
    assert_int_equal(mf_wg_aead_seal(NULL, want, key, ctr, plain, len, NULL, 0), 0);
    assert_int_equal(mf_wg_aead_ctx_seal(&s, got, key, ctr, plain, len), 0);
    assert_memory_equal(got, want, len + 16);
    /* Opened in place, as the data path does. */
    assert_int_equal(mf_wg_aead_ctx_open(&o, got, key, ctr, got, len + 16), 0);
    assert_memory_equal(got, plain, len);
  }
  mf_wg_aead_ctx_fini(&s);
  mf_wg_aead_ctx_fini(&o);
}

static void test_forged_and_forgotten(void **state)
{
  mf_wg_aead_ctx_t s, o;
  assert_int_equal(mf_wg_aead_ctx_init(&s, 1), 0);
  assert_int_equal(mf_wg_aead_ctx_init(&o, 0), 0);
  uint8_t key[MF_WG_KEY_LEN], other[MF_WG_KEY_LEN];
  fill(key, sizeof(key), 1);
  fill(other, sizeof(other), 2);
  static uint8_t plain[LEN], msg[LEN + 16], out[LEN];
  fill(plain, LEN, 9);
  assert_int_equal(mf_wg_aead_ctx_seal(&s, msg, key, 5, plain, LEN), 0);
  /* A flipped bit, a wrong counter, a wrong key: refused, out wiped. */
  msg[100] ^= 1;
  memset(out, 0xaa, LEN);
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, key, 5, msg, LEN + 16), -1);
  for (size_t i = 0; i < LEN; i++)
    assert_int_equal(out[i], 0);
  msg[100] ^= 1;
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, key, 6, msg, LEN + 16), -1);
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, other, 5, msg, LEN + 16), -1);
  /* The context is still good for the genuine message. */
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, key, 5, msg, LEN + 16), 0);
  assert_memory_equal(out, plain, LEN);
  /* Forgotten: the key copy is gone, and the next use keys again. */
  mf_wg_aead_ctx_forget(&o);
  mf_wg_aead_ctx_forget(&s);
  assert_false(o.keyed);
  uint8_t zero[MF_WG_KEY_LEN] = {0};
  assert_memory_equal(o.key, zero, sizeof(zero));
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, key, 5, msg, LEN + 16), 0);
  assert_memory_equal(out, plain, LEN);
  static uint8_t again[LEN + 16];
  assert_int_equal(mf_wg_aead_ctx_seal(&s, again, key, 5, plain, LEN), 0);
  assert_memory_equal(again, msg, LEN + 16);
  /* Wrong direction, too short: refused. */
  assert_int_equal(mf_wg_aead_ctx_seal(&o, again, key, 5, plain, LEN), -1);
  assert_int_equal(mf_wg_aead_ctx_open(&s, out, key, 5, msg, LEN + 16), -1);
  assert_int_equal(mf_wg_aead_ctx_open(&o, out, key, 5, msg, 15), -1);
  mf_wg_aead_ctx_fini(&s);
  mf_wg_aead_ctx_fini(&o);
  /* fini twice, and forget after fini: harmless. */
  mf_wg_aead_ctx_fini(&s);
  mf_wg_aead_ctx_forget(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_bytes_as_one_shot),
      cmocka_unit_test(test_forged_and_forgotten),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
