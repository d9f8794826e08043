/* The primitives under the WireGuard handshake, against published vectors
 * (HChaCha20 and XChaCha20-Poly1305 from draft-irtf-cfrg-xchacha-03,
 * X25519 from RFC 7748, BLAKE2s from RFC 7693) and, where no standard
 * vector exists (16-byte keyed BLAKE2s, HMAC-BLAKE2s, the KDF, the
 * counter nonce), against Python's hashlib/hmac and the cryptography
 * package, computed once and written down here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wireguard/hchacha20.h"
#include "wireguard/wg_crypto.h"

static void hex(uint8_t *out, const char *h)
{
  for (size_t i = 0; h[2 * i]; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

static void test_hchacha20_draft_vector(void **state)
{
  /* draft-irtf-cfrg-xchacha-03 section 2.2.1 */
  uint8_t key[32], nonce[16], want[32], got[32];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)i;
  hex(nonce, "000000090000004a0000000031415927");
  hex(want, "82413b4227b27bfed30e42508a877d73"
            "a0f9e4d58a74a853c12ec41326d3ecdc");
  mf_wg_hchacha20(got, key, nonce);
  assert_memory_equal(got, want, 32);
}

static void test_xchacha20_poly1305_draft_vector(void **state)
{
  /* draft-irtf-cfrg-xchacha-03 appendix A.3.1 */
  static const char plain[] =
      "Ladies and Gentlemen of the class of '99: If I could offer you only "
      "one tip for the future, sunscreen would be it.";
  size_t len = sizeof(plain) - 1;
  uint8_t key[32], nonce[24], ad[12], want[sizeof(plain) - 1 + 16];
  uint8_t got[sizeof(want)], back[sizeof(plain)];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(0x80 + i);
  for (int i = 0; i < 24; i++)
    nonce[i] = (uint8_t)(0x40 + i);
  hex(ad, "50515253c0c1c2c3c4c5c6c7");
  hex(want, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            "21f9664c97637da9768812f615c68b13b52e"
            "c0875924c1c7987947deafd8780acf49");
  assert_int_equal(mf_wg_xaead_seal(got, key, nonce, (const uint8_t *)plain,
                                    len, ad, sizeof(ad)),
                   0);
  assert_memory_equal(got, want, sizeof(want));
  assert_int_equal(
      mf_wg_xaead_open(back, key, nonce, got, sizeof(got), ad, sizeof(ad)), 0);
  assert_memory_equal(back, plain, len);
  got[3] ^= 1;
  assert_int_equal(
      mf_wg_xaead_open(back, key, nonce, got, sizeof(got), ad, sizeof(ad)), -1);
}

static void test_x25519_rfc7748(void **state)
{
  /* RFC 7748 section 6.1 */
  uint8_t a[32], b[32], apub[32], bpub[32], want[32], s1[32], s2[32];
  hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  hex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  hex(apub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  hex(bpub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  hex(want, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  assert_int_equal(mf_wg_dh(s1, a, NULL, bpub), 0);
  assert_int_equal(mf_wg_dh(s2, b, NULL, apub), 0);
  assert_memory_equal(s1, want, 32);
  assert_memory_equal(s2, want, 32);
  /* With the private key's own public key supplied (the cheaper path). */
  memset(s1, 0, 32);
  memset(s2, 0, 32);
  assert_int_equal(mf_wg_dh(s1, a, apub, bpub), 0);
  assert_int_equal(mf_wg_dh(s2, b, bpub, apub), 0);
  assert_memory_equal(s1, want, 32);
  assert_memory_equal(s2, want, 32);
}

static void test_x25519_low_order_refused(void **state)
{
  uint8_t a[32], pub[32], out[32];
  hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  memset(pub, 0, 32); /* the point at u = 0 */
  assert_int_equal(mf_wg_dh(out, a, NULL, pub), -1);
  pub[0] = 1; /* u = 1, order 4 */
  assert_int_equal(mf_wg_dh(out, a, NULL, pub), -1);
  uint8_t apub[32];
  hex(apub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert_int_equal(mf_wg_dh(out, a, apub, pub), -1);
}

static void test_blake2s(void **state)
{
  /* RFC 7693 appendix B */
  uint8_t want[32], got[32];
  hex(want, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  assert_int_equal(mf_wg_hash(got, "a", 1, "bc", 2), 0);
  assert_memory_equal(got, want, 32);
}

/* Python: hashlib.blake2s(msg, key=key, digest_size=16),
 * hmac.new(key, msg, hashlib.blake2s), and HKDF by hand from that HMAC. */
static const char mac_msg[] = "WireGuard mac test input";

static void test_mac_hmac_kdf(void **state)
{
  uint8_t key[32], want[32], mac[16], h[32], t1[32], t2[32], t3[32];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)i;
  size_t len = sizeof(mac_msg) - 1;

  hex(want, "56a6748ef11c239170e95bb1aaaf00ec");
  assert_int_equal(mf_wg_mac(mac, key, 32, mac_msg, len), 0);
  assert_memory_equal(mac, want, 16);
  hex(want, "8aebbe1fa8707ed508a5c2df764f8376");
  assert_int_equal(mf_wg_mac(mac, key, 16, mac_msg, len), 0);
  assert_memory_equal(mac, want, 16);

  hex(want, "e023b91b79405540a05901abbbb762194368cb2f36ba7f1b326b21cc8b97ce0d");
  assert_int_equal(mf_wg_hmac(h, key, 32, mac_msg, len), 0);
  assert_memory_equal(h, want, 32);

  assert_int_equal(mf_wg_kdf(t1, t2, t3, key, mac_msg, len), 0);
  hex(want, "e6a0804b29598d493b2a9f57c54f1cda5c40c8b17f1d21a2afa182a22a60a3c5");
  assert_memory_equal(t1, want, 32);
  hex(want, "c67698a0fbc1793bfce041082673b5a39f0b17f525396652ea7d53a112fa7551");
  assert_memory_equal(t2, want, 32);
  hex(want, "ba8bedf9e909b326a300bd3c29a544377cb1d705633592224166fc6c8361a723");
  assert_memory_equal(t3, want, 32);
  /* KDF1 with the key as its own output, as the handshake calls it. */
  uint8_t ck[32];
  memcpy(ck, key, 32);
  assert_int_equal(mf_wg_kdf(ck, NULL, NULL, ck, mac_msg, len), 0);
  assert_memory_equal(ck, t1, 32);
}

/* Python: ChaCha20Poly1305(key).encrypt(bytes(4) + (5).to_bytes(8,
 * 'little'), plain, ad): the nonce is 0^32 || little-endian counter. */
static void test_aead_counter_nonce(void **state)
{
  uint8_t key[32], want[64], got[64], back[64];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(0x80 + i);
  static const char plain[] = "WireGuard transport";
  size_t len = sizeof(plain) - 1;
  hex(want, "6485a1fbc72e1cb048d479445d5832bc137ccd7568730f1d2e1568e9a0009e0f"
            "e823dd");
  assert_int_equal(mf_wg_aead_seal(NULL, got, key, 5, (const uint8_t *)plain,
                                   len, (const uint8_t *)"ad", 2),
                   0);
  assert_memory_equal(got, want, len + 16);
  assert_int_equal(mf_wg_aead_open(NULL, back, key, 5, got, len + 16,
                                   (const uint8_t *)"ad", 2),
                   0);
  assert_memory_equal(back, plain, len);
  /* wrong counter, wrong ad, short input */
  assert_int_equal(mf_wg_aead_open(NULL, back, key, 6, got, len + 16,
                                   (const uint8_t *)"ad", 2),
                   -1);
  assert_int_equal(mf_wg_aead_open(NULL, back, key, 5, got, len + 16,
                                   (const uint8_t *)"ax", 2),
                   -1);
  assert_int_equal(mf_wg_aead_open(NULL, back, key, 5, got, 15, NULL, 0), -1);

  hex(want, "087f5df1cd4921a6ba7ccd772bcf8e9a");
  assert_int_equal(mf_wg_aead_seal(NULL, got, key, 5, NULL, 0, NULL, 0), 0);
  assert_memory_equal(got, want, 16);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hchacha20_draft_vector),
      cmocka_unit_test(test_xchacha20_poly1305_draft_vector),
      cmocka_unit_test(test_x25519_rfc7748),
      cmocka_unit_test(test_x25519_low_order_refused),
      cmocka_unit_test(test_blake2s),
      cmocka_unit_test(test_mac_hmac_kdf),
      cmocka_unit_test(test_aead_counter_nonce),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
