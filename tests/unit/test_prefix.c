/* Prefixes: parsing (and refusing, with a reason), formatting, masking,
 * equality and containment at the edges of both families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "fib/prefix.h"

static mf_prefix_t parse_ok(const char *text)
{
  mf_prefix_t p;
  const char *why = NULL;
  int rv = mf_prefix_parse(text, &p, &why);
  if (rv != 0)
    printf("# %s: %s\n", text, why);
  assert_int_equal(rv, 0);
  return p;
}

static void format_is(const char *text, bool with_len, const char *want)
{
  mf_prefix_t p = parse_ok(text);
  char out[64];
  mf_prefix_format(&p, with_len, out, sizeof(out));
  assert_string_equal(out, want);
}

static void test_parse_good(void **state)
{
  mf_prefix_t p = parse_ok("10.0.0.0/8");
  assert_int_equal(p.family, AF_INET);
  assert_int_equal(p.len, 8);
  assert_int_equal(p.addr[0], 10);

  p = parse_ok("192.0.2.1");
  assert_int_equal(p.family, AF_INET);
  assert_int_equal(p.len, 32);
  assert_memory_equal(p.addr, "\xc0\x00\x02\x01", 4);

  p = parse_ok("0.0.0.0/0");
  assert_int_equal(p.len, 0);
  p = parse_ok("255.255.255.255/32");
  assert_int_equal(p.len, 32);

  p = parse_ok("::/0");
  assert_int_equal(p.family, AF_INET6);
  assert_int_equal(p.len, 0);
  p = parse_ok("2001:db8::1");
  assert_int_equal(p.family, AF_INET6);
  assert_int_equal(p.len, 128);
  assert_int_equal(p.addr[0], 0x20);
  assert_int_equal(p.addr[15], 1);
  p = parse_ok("2001:db8::/128");
  assert_int_equal(p.len, 128);
  /* An IPv4-mapped address is an IPv6 address (RFC 4291 section 2.5.5.2). */
  p = parse_ok("::ffff:192.0.2.1/96");
  assert_int_equal(p.family, AF_INET6);
  assert_int_equal(p.len, 96);
  assert_int_equal(p.addr[12], 192);
  /* A leading zero is still a number. */
  p = parse_ok("10.0.0.0/08");
  assert_int_equal(p.len, 8);
}

static void refused(const char *text, const char *reason)
{
  mf_prefix_t p;
  const char *why = NULL;
  int rv = mf_prefix_parse(text, &p, &why);
  if (rv != -1)
    printf("# %s was accepted\n", text);
  assert_int_equal(rv, -1);
  assert_non_null(why);
  assert_string_equal(why, reason);
  /* And a caller that does not want the reason may say so. */
  assert_int_equal(mf_prefix_parse(text, &p, NULL), -1);
}

static void test_parse_bad(void **state)
{
  refused("", "not an IP address");
  refused("/8", "not an IP address");
  refused("10.0.0/8", "not an IP address");
  refused("10.0.0.256", "not an IP address");
  refused(" 10.0.0.0/8", "not an IP address");
  refused("example.com", "not an IP address");
  refused("fe80::1%eth0", "not an IP address");
  refused("2001:db8:::1/64", "not an IP address");
  refused("1.2.3.4.5", "not an IP address");
  refused("1111:2222:3333:4444:5555:6666:7777:8888:9999/64", "not an IP address");
  refused("10.0.0.0/", "prefix length is not a number");
  refused("10.0.0.0/x", "prefix length is not a number");
  refused("10.0.0.0/-1", "prefix length is not a number");
  refused("10.0.0.0/+8", "prefix length is not a number");
  refused("10.0.0.0/ 8", "prefix length is not a number");
  refused("10.0.0.0/0008", "prefix length is not a number");
  refused("10.0.0.0/33", "prefix length must be 0..32");
  refused("10.0.0.0/8 ", "prefix length must be 0..32");
  refused("10.0.0.0/8/8", "prefix length must be 0..32");
  refused("10.0.0.0/999", "prefix length must be 0..32");
  refused("::/129", "prefix length must be 0..128");
  refused("::/12a", "prefix length must be 0..128");

  char longer[300];
  memset(longer, '1', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = 0;
  refused(longer, "not an IP address");
}

static void test_format(void **state)
{
  format_is("10.0.0.0/8", true, "10.0.0.0/8");
  format_is("10.0.0.0/8", false, "10.0.0.0");
  format_is("192.0.2.1", true, "192.0.2.1/32");
  format_is("2001:0db8:0000:0000:0000:0000:0000:0001", true, "2001:db8::1/128");
  format_is("::/0", true, "::/0");
  format_is("::ffff:192.0.2.1/96", true, "::ffff:192.0.2.1/96");
  /* Host bits are kept by the parser, so they show. */
  format_is("10.1.2.3/8", true, "10.1.2.3/8");
  /* A short buffer truncates, NUL-terminated. */
  mf_prefix_t p = parse_ok("192.0.2.1/32");
  char small[6];
  mf_prefix_format(&p, true, small, sizeof(small));
  assert_string_equal(small, "192.0");
  /* A broken family prints something, never garbage or a crash. */
  p.family = 99;
  char out[64];
  mf_prefix_format(&p, true, out, sizeof(out));
  assert_string_equal(out, "?/32");
}

static void test_mask_and_is_network(void **state)
{
  mf_prefix_t p = parse_ok("10.1.2.3/8");
  assert_false(mf_prefix_is_network(&p));
  mf_prefix_mask(&p);
  assert_true(mf_prefix_is_network(&p));
  assert_memory_equal(p.addr, "\x0a\x00\x00\x00", 4);

  /* Lengths that do not fall on a byte boundary. */
  p = parse_ok("255.255.255.255/9");
  mf_prefix_mask(&p);
  assert_memory_equal(p.addr, "\xff\x80\x00\x00", 4);
  p = parse_ok("255.255.255.255/31");
  mf_prefix_mask(&p);
  assert_memory_equal(p.addr, "\xff\xff\xff\xfe", 4);
  p = parse_ok("255.255.255.255/7");
  mf_prefix_mask(&p);
  assert_memory_equal(p.addr, "\xfe\x00\x00\x00", 4);
  p = parse_ok("255.255.255.255/0");
  assert_false(mf_prefix_is_network(&p));
  mf_prefix_mask(&p);
  assert_memory_equal(p.addr, "\x00\x00\x00\x00", 4);
  p = parse_ok("255.255.255.255/32");
  assert_true(mf_prefix_is_network(&p));
  mf_prefix_mask(&p);
  assert_memory_equal(p.addr, "\xff\xff\xff\xff", 4);

  /* IPv4 keeps nothing past its four bytes. */
  p = parse_ok("10.0.0.0/8");
  memset(p.addr + 4, 0x55, 12);
  mf_prefix_mask(&p);
  for (int i = 4; i < 16; i++)
    assert_int_equal(p.addr[i], 0);

  p = parse_ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127");
  assert_false(mf_prefix_is_network(&p));
  mf_prefix_mask(&p);
  assert_true(mf_prefix_is_network(&p));
  assert_int_equal(p.addr[15], 0xfe);
  assert_int_equal(p.addr[14], 0xff);
  p = parse_ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/65");
  mf_prefix_mask(&p);
  assert_int_equal(p.addr[7], 0xff);
  assert_int_equal(p.addr[8], 0x80);
  assert_int_equal(p.addr[9], 0);
  p = parse_ok("2001:db8::1/128");
  assert_true(mf_prefix_is_network(&p));
  p = parse_ok("2001:db8::1/0");
  assert_false(mf_prefix_is_network(&p));
  p = parse_ok("::/0");
  assert_true(mf_prefix_is_network(&p));
}

static void test_equal(void **state)
{
  mf_prefix_t a = parse_ok("10.0.0.0/8"), b = parse_ok("10.0.0.0/8");
  assert_true(mf_prefix_equal(&a, &b));
  b = parse_ok("10.0.0.0/9");
  assert_false(mf_prefix_equal(&a, &b));
  b = parse_ok("11.0.0.0/8");
  assert_false(mf_prefix_equal(&a, &b));
  /* Bytes past an IPv4 address do not count. */
  b = a;
  b.addr[10] = 1;
  assert_true(mf_prefix_equal(&a, &b));
  /* Same bytes, other family. */
  mf_prefix_t v6 = a;
  v6.family = AF_INET6;
  assert_false(mf_prefix_equal(&a, &v6));
  mf_prefix_t x = parse_ok("2001:db8::/32"), y = parse_ok("2001:db8::1/32");
  assert_false(mf_prefix_equal(&x, &y));
}

static bool covers(const char *a, const char *b)
{
  mf_prefix_t x = parse_ok(a), y = parse_ok(b);
  return mf_prefix_covers(&x, &y);
}

static void test_covers(void **state)
{
  assert_true(covers("0.0.0.0/0", "255.255.255.255/32"));
  assert_true(covers("0.0.0.0/0", "0.0.0.0/0"));
  assert_true(covers("10.0.0.0/8", "10.0.0.0/8"));
  assert_true(covers("10.0.0.0/8", "10.255.255.255/32"));
  assert_true(covers("10.0.0.0/8", "10.1.0.0/16"));
  assert_false(covers("10.1.0.0/16", "10.0.0.0/8"));
  assert_false(covers("10.0.0.0/8", "11.0.0.0/8"));
  assert_false(covers("10.0.0.0/8", "11.0.0.1"));
  assert_true(covers("192.0.2.0/25", "192.0.2.127"));
  assert_false(covers("192.0.2.0/25", "192.0.2.128"));
  /* Host bits on either side are ignored. */
  assert_true(covers("10.9.9.9/8", "10.1.0.0/16"));
  assert_true(covers("10.0.0.0/8", "10.1.2.3/16"));
  /* Families never cover each other, not even through /0. */
  assert_false(covers("0.0.0.0/0", "::/0"));
  assert_false(covers("::/0", "0.0.0.0/0"));
  assert_false(covers("::/0", "10.0.0.0/8"));
  assert_true(covers("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  assert_true(covers("2001:db8::/32", "2001:db8:ffff:ffff::1"));
  assert_false(covers("2001:db8::/32", "2001:db9::1"));
  assert_true(covers("2001:db8::/127", "2001:db8::1"));
  assert_false(covers("2001:db8::/128", "2001:db8::1"));
  assert_true(covers("2001:db8::1/128", "2001:db8::1/128"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_good),
      cmocka_unit_test(test_parse_bad),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_mask_and_is_network),
      cmocka_unit_test(test_equal),
      cmocka_unit_test(test_covers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
