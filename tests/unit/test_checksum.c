/* Internet checksum: RFC 1071's worked example, odd lengths, RFC 1624
 * incremental updates against full recomputation on random data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ip/checksum.h"

/* Straight from the definition, 16 bits at a time. */
static uint16_t naive_sum(const uint8_t *p, size_t len)
{
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < len; i += 2)
    s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1)
    s += (uint32_t)p[len - 1] << 8;
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

static void test_rfc1071_example(void **state)
{
  /* RFC 1071 section 3: these bytes sum to 0xddf2. */
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  assert_int_equal(mf_csum_fold(mf_csum_add(0, b, sizeof(b))), 0xddf2);
}

static void test_random_against_naive(void **state)
{
  srand(1071);
  uint8_t buf[1600];
  for (int round = 0; round < 2000; round++) {
    size_t len = (size_t)(rand() % (int)sizeof(buf));
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)rand();
    uint16_t a = mf_csum_fold(mf_csum_add(0, buf, len));
    uint16_t b = naive_sum(buf, len);
    /* 0x0000 and 0xffff are the same value in one's complement. */
    if (!((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff)))
      assert_int_equal(a, b);
  }
}

/* Every start alignment and lengths past 64 KiB (super-packets), random
 * bytes and all-ones bytes (a carry out of every 64-bit add). */
static void test_offsets_and_long_buffers(void **state)
{
  static uint8_t buf[70000 + 16];
  srand(7);
  for (int round = 0; round < 64; round++) {
    int ones = round % 4 == 0;
    for (size_t i = 0; i < sizeof(buf); i++)
      buf[i] = ones ? 0xff : (uint8_t)rand();
    size_t off = (size_t)(round % 16);
    size_t len = round < 32 ? (size_t)(rand() % 70000) : 65536 + (size_t)round;
    uint16_t a = mf_csum_fold(mf_csum_add(0, buf + off, len));
    uint16_t b = naive_sum(buf + off, len);
    if (!((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff)))
      assert_int_equal(a, b);
  }
}

static void test_ipv4_header_roundtrip(void **state)
{
  uint8_t h[20] = {0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0,
                   172, 19, 0, 1, 172, 19, 0, 2};
  uint16_t c = mf_csum_finish(mf_csum_add(0, h, 20));
  memcpy(h + 10, &c, 2);
  assert_true(mf_csum_ok(h, 20, 0));
  h[8] = 63;
  assert_false(mf_csum_ok(h, 20, 0));
}

static void test_incremental_update(void **state)
{
  srand(1624);
  uint8_t buf[64];
  for (int round = 0; round < 5000; round++) {
    for (size_t i = 0; i < sizeof(buf); i++)
      buf[i] = (uint8_t)rand();
    buf[0] = buf[1] = 0;
    uint16_t c = mf_csum_finish(mf_csum_add(0, buf, sizeof(buf)));
    memcpy(buf, &c, 2);
    size_t off = 2 + 2 * (size_t)(rand() % 31);
    uint16_t old_v, new_v = (uint16_t)rand();
    memcpy(&old_v, buf + off, 2);
    memcpy(buf + off, &new_v, 2);
    uint16_t upd = mf_csum_update16(c, old_v, new_v);
    memcpy(buf, &upd, 2);
    assert_true(mf_csum_ok(buf, sizeof(buf), 0));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc1071_example),
      cmocka_unit_test(test_random_against_naive),
      cmocka_unit_test(test_offsets_and_long_buffers),
      cmocka_unit_test(test_ipv4_header_roundtrip),
      cmocka_unit_test(test_incremental_update),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
