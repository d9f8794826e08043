/* The DNS server's TCP retries to upstreams, in their pure parts: the
 * reserved source ports that dns.hijack must leave alone (and the epoll
 * tags beside the client connections'), and the reading of a framed
 * answer of any size up to 65535 bytes in pieces as the socket gives
 * them (the reassembler of dns_build.c with the retry's capacity). The
 * sockets themselves are exercised by tests/integration
 * (test_approute_dns_tcp.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns/dns_build.h"
#include "dns/dns_server.h"
#include "dns/dns_tcp_up.h"

static void test_reserved_ports(void **state)
{
  (void)state;
  assert_false(mf_dns_tcp_up_port(53));
  assert_false(mf_dns_tcp_up_port(MF_DNS_TCP_UP_SPORT_BASE - 1));
  assert_true(mf_dns_tcp_up_port(MF_DNS_TCP_UP_SPORT_BASE));
  assert_true(mf_dns_tcp_up_port(MF_DNS_TCP_UP_SPORT_BASE + MF_DNS_TCP_UP_PORTS - 1));
  assert_false(mf_dns_tcp_up_port(MF_DNS_TCP_UP_SPORT_BASE + MF_DNS_TCP_UP_PORTS));
  /* Outside Linux's default ephemeral range: an app's connect() never
   * picks one of ours by chance. */
  for (uint32_t p = 32768; p <= 60999; p++)
    assert_false(mf_dns_tcp_up_port((uint16_t)p));
  /* Every connection can find a port even with all others taken. */
  assert_true(MF_DNS_TCP_UP_PORTS >= MF_DNS_TCP_UP_MAX);
  assert_true(MF_DNS_TCP_UP_SPORT_BASE + MF_DNS_TCP_UP_PORTS - 1 <= 65535);
}

static void test_tags_disjoint(void **state)
{
  (void)state;
  for (uint64_t t = MF_DNS_TAG_TCP_UP; t < MF_DNS_TAG_TCP_UP + MF_DNS_TCP_UP_MAX; t++) {
    assert_true(MF_DNS_UP_OWNS_TAG(t));
    assert_false(MF_DNS_OWNS_TAG(t));
  }
  assert_false(MF_DNS_UP_OWNS_TAG(MF_DNS_TAG_TCP_UP - 1));
  assert_false(MF_DNS_UP_OWNS_TAG(MF_DNS_TAG_TCP_UP + MF_DNS_TCP_UP_MAX));
  assert_false(MF_DNS_UP_OWNS_TAG(MF_DNS_TAG_TCP));
}

/* Feeds data in pieces of `piece` bytes, as successive reads would;
 * returns the message's length once whole, 0 if it never is, -1 on a bad
 * length. */
static long feed_pieces(mf_dns_tcp_reasm_t *r, const uint8_t *data, size_t len,
                        size_t piece, const uint8_t **msg)
{
  size_t off = 0;
  while (off < len) {
    size_t n = len - off < piece ? len - off : piece, used, mlen;
    mf_dns_tcp_status_t st = mf_dns_tcp_reasm_feed(r, data + off, n, &used, msg, &mlen);
    if (st == MF_DNS_TCP_MESSAGE)
      return (long)mlen;
    if (st == MF_DNS_TCP_BAD_LENGTH)
      return -1;
    off += used;
  }
  return 0;
}

static void test_answer_of_any_size(void **state)
{
  (void)state;
  uint8_t *buf = malloc(DNS_TCP_UP_IN_CAP);
  uint8_t *wire = malloc(2 + MF_DNS_MSG_MAX + 16);
  assert_non_null(buf);
  assert_non_null(wire);
  const size_t sizes[] = {12, 512, 1233, 4096, MF_DNS_MSG_MAX};
  const size_t pieces[] = {1, 7, 1460, 4096, 70000};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i];
    wire[0] = (uint8_t)(n >> 8);
    wire[1] = (uint8_t)n;
    for (size_t k = 0; k < n; k++)
      wire[2 + k] = (uint8_t)(k * 31 + i);
    /* Bytes after the answer (a stray second message) are not read. */
    memset(wire + 2 + n, 0xee, 16);
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
      mf_dns_tcp_reasm_t r;
      mf_dns_tcp_reasm_init(&r, buf, DNS_TCP_UP_IN_CAP);
      const uint8_t *msg = NULL;
      assert_int_equal(feed_pieces(&r, wire, 2 + n + 16, pieces[p], &msg), (long)n);
      assert_memory_equal(msg, wire + 2, n);
    }
  }
  free(wire);
  free(buf);
}

static void test_answer_cut_or_bad(void **state)
{
  (void)state;
  uint8_t buf[64];
  static uint8_t big[DNS_TCP_UP_IN_CAP];
  mf_dns_tcp_reasm_t r;
  const uint8_t *msg;
  /* Shorter than a DNS header: the stream is not a DNS answer. */
  const uint8_t short_[] = {0, 11, 1, 2, 3};
  mf_dns_tcp_reasm_init(&r, big, sizeof(big));
  assert_int_equal(feed_pieces(&r, short_, sizeof(short_), 1, &msg), -1);
  /* Cut by the close: never whole. */
  const uint8_t cut[] = {0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
  assert_int_equal(feed_pieces(&r, cut, sizeof(cut), 3, &msg), -1); /* > cap */
  mf_dns_tcp_reasm_init(&r, big, sizeof(big));
  assert_int_equal(feed_pieces(&r, cut, sizeof(cut), 3, &msg), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reserved_ports),
      cmocka_unit_test(test_tags_disjoint),
      cmocka_unit_test(test_answer_of_any_size),
      cmocka_unit_test(test_answer_cut_or_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
