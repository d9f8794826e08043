/* WireGuard key text and derivation against wireguard-tools: each pair
 * below came from `wg genkey | tee priv | wg pubkey`, the unclamped ones
 * from `echo KEY | wg pubkey`. Also malformed texts wg(8) refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/keys.h"
#include "wireguard/noise.h"

static const struct {
  const char *priv, *pub;
} pairs[] = {
    {"YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk=",
     "HYp5OfclctmmJlzt1jDIP6192TKkXgPIBDeXuqM3NHs="},
    {"ELGMg2yDpUc9Lz6N67Gy3H2985ky/P0xwGL0zh2yX0Q=",
     "zQbC21NPdqc/0B6JqMjDhkqyrt/IBkBVVNIZ2CmfNgU="},
    {"eH//2HvucbAkOW4+xFZRdjYupqNzo0N/FUwL+0kkmXE=",
     "sEHjfzOVRZS/lB4YXE/lBnZeHC6JpXmW19SxOsq6ajY="},
    {"WJTfFr3TgtKFVGhY+6kbmq3e5sg+/BAAKM9DZCG5k04=",
     "NTUtGn8tHizYHt+YHO4OoZSvG9swXhl6pC8IhV8GRlE="},
    /* Not clamped: wg pubkey clamps before multiplying, so must we. */
    {"//////////////////////////////////////////8=",
     "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI="},
    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
     "L+V9o0fNYkMVKNqsX7spBzD/9oSvxM/C7ZCZX1jLO3Q="},
};

static void test_pubkey_matches_wg(void **state)
{
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    uint8_t priv[32], pub[32];
    char text[MF_WG_KEY_B64_LEN + 1];
    assert_int_equal(mf_wg_key_from_base64(priv, pairs[i].priv), 0);
    assert_int_equal(mf_wg_key_public(pub, priv), 0);
    mf_wg_key_to_base64(text, pub);
    assert_string_equal(text, pairs[i].pub);
    mf_wg_key_to_base64(text, priv);
    assert_string_equal(text, pairs[i].priv);
  }
}

static void test_base64_rejects(void **state)
{
  static const char *bad[] = {
      "",
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk",   /* no '=' */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk==", /* too long */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3H=",   /* too short */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hl=",  /* padding bits */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3H-=",  /* url-safe char */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSD sPE3Hk=",  /* space */
      "YItrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk=\n",
      "=Itrp4OyWYHpGtIQoOCvgGC5hT4LjqUmLzSDjsPE3Hk=",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint8_t key[32];
    memset(key, 0xaa, sizeof(key));
    assert_int_equal(mf_wg_key_from_base64(key, bad[i]), -1);
    assert_true(mf_wg_key_is_zero(key));
  }
  uint8_t key[32];
  assert_int_equal(mf_wg_key_from_base64(key, NULL), -1);
  /* Bytes above 127 must not index anything or pass. */
  char high[MF_WG_KEY_B64_LEN + 1];
  memcpy(high, pairs[0].priv, sizeof(high));
  high[5] = (char)0xc1;
  assert_int_equal(mf_wg_key_from_base64(key, high), -1);
}

/* Every byte value through the encoder and back. */
static void test_base64_roundtrip_all_bytes(void **state)
{
  for (int base = 0; base < 256; base += 32) {
    uint8_t key[32], back[32];
    char text[MF_WG_KEY_B64_LEN + 1];
    for (int i = 0; i < 32; i++)
      key[i] = (uint8_t)(base + i * 7);
    mf_wg_key_to_base64(text, key);
    assert_int_equal(strlen(text), MF_WG_KEY_B64_LEN);
    assert_int_equal(mf_wg_key_from_base64(back, text), 0);
    assert_memory_equal(key, back, 32);
  }
}

static void test_genkey_clamped_and_distinct(void **state)
{
  uint8_t a[32], b[32], psk[32];
  assert_int_equal(mf_wg_key_generate(a), 0);
  assert_int_equal(mf_wg_key_generate(b), 0);
  assert_int_equal(mf_wg_key_generate_psk(psk), 0);
  assert_memory_not_equal(a, b, 32);
  assert_int_equal(a[0] & 7, 0);
  assert_int_equal(a[31] & 0xc0, 0x40);
  assert_false(mf_wg_key_is_zero(psk));
}

static void test_identity(void **state)
{
  mf_wg_identity_t id;
  uint8_t priv[32], pub[32];
  assert_int_equal(mf_wg_key_from_base64(priv, pairs[1].priv), 0);
  assert_int_equal(mf_wg_key_from_base64(pub, pairs[1].pub), 0);
  assert_int_equal(mf_wg_identity_init(&id, priv), 0);
  assert_memory_equal(id.public_key, pub, 32);
  memset(priv, 0, sizeof(priv));
  assert_int_equal(mf_wg_identity_init(&id, priv), -1); /* "no key" */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pubkey_matches_wg),
      cmocka_unit_test(test_base64_rejects),
      cmocka_unit_test(test_base64_roundtrip_all_bytes),
      cmocka_unit_test(test_genkey_clamped_and_distinct),
      cmocka_unit_test(test_identity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
