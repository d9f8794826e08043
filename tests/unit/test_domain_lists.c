/* Domain list parsers: every format on the lines users' lists hold, with
 * the edge cases (comments, inline comments, IPs as names, wildcards,
 * IDNs, CRLF, CR, a BOM, very long lines, NUL bytes), the skip counters and
 * their first lines, format detection, and stopping from the callback.
 *
 * Each parse is written out as one string of "line:kind:name" items
 * (kind 's' suffix, 'e' exact, 'w' suffix written "*.name"), so a case
 * reads as the file and what it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns/domain_lists.h"

#define SKIP(x) MF_DOMAIN_LISTS_SKIP_##x

typedef struct {
  char out[4096];
  size_t len;
  int stop_after; /* 0: never */
  int calls;
} collect_t;

static int collect(void *ctx, const mf_domain_list_entry_t *e)
{
  collect_t *c = ctx;
  assert_int_equal(strlen(e->name), e->len);
  char kind = e->kind == MF_DOMAIN_EXACT ? 'e' : e->wildcard ? 'w' : 's';
  /* Big inputs are only counted: what is written stays whole items. */
  char item[300];
  int n = snprintf(item, sizeof item, "%s%u:%c:%s", c->len ? " " : "",
                   e->line, kind, e->name);
  assert_true(n > 0 && (size_t)n < sizeof item);
  if ((size_t)n < sizeof c->out - c->len) {
    memcpy(c->out + c->len, item, (size_t)n + 1);
    c->len += (size_t)n;
  }
  c->calls++;
  return c->stop_after && c->calls >= c->stop_after ? 42 : 0;
}

static mf_domain_lists_stats_t st;

/* Parses text in the given format and returns what it gave. */
static const char *parse_n(const char *text, size_t len,
                           mf_domain_list_format_t f)
{
  static collect_t c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mf_domain_lists_parse(text, len, f, collect, &c, &st), 0);
  assert_int_equal(st.names, (uint32_t)c.calls);
  return c.out;
}

static const char *parse(const char *text, mf_domain_list_format_t f)
{
  return parse_n(text, strlen(text), f);
}

/* ---- plain ---- */

static void test_plain(void **state)
{
  (void)state;
  const char *text = "# a list\n"
                     "netflix.com\n"
                     "\n"
                     "  WWW.Hulu.COM.  \n"
                     "nflxvideo.net # inline comment\n"
                     "ads.example#no space before it\n"
                     "*.wild.example\n"
                     ".dot.example\n"
                     "full:exact.example\n"
                     "domain:suffix.example\n"
                     "keyword:google\n"
                     "regexp:^ads\\d+\\.com$\n"
                     "1.2.3.4\n"
                     "10.0.0.0/8\n"
                     "2001:db8::1\n"
                     "b\xc3\xbc" "cher.de\n"
                     "xn--bcher-kva.de\n"
                     "two names.example\n"
                     "a..b\n"
                     "ads*.example\n"
                     "full:*.x.example\n"
                     "https://url.example/path\n"
                     "_dmarc.example";
  assert_string_equal(parse(text, MF_DOMAIN_LIST_PLAIN),
                      "2:s:netflix.com 4:s:www.hulu.com 5:s:nflxvideo.net "
                      "6:s:ads.example 7:w:wild.example 8:s:dot.example "
                      "9:e:exact.example 10:s:suffix.example "
                      "17:s:xn--bcher-kva.de 23:s:_dmarc.example");
  assert_int_equal(st.format, MF_DOMAIN_LIST_PLAIN);
  assert_int_equal(st.lines, 23);
  assert_int_equal(st.skipped[SKIP(COMMENT)], 1);
  assert_int_equal(st.first_line[SKIP(COMMENT)], 1);
  assert_int_equal(st.skipped[SKIP(BLANK)], 1);
  assert_int_equal(st.first_line[SKIP(BLANK)], 3);
  assert_int_equal(st.skipped[SKIP(KEYWORD)], 2);
  assert_int_equal(st.skipped[SKIP(IP_ADDRESS)], 3);
  assert_int_equal(st.first_line[SKIP(IP_ADDRESS)], 13);
  assert_int_equal(st.skipped[SKIP(NON_ASCII)], 1);
  assert_int_equal(st.first_line[SKIP(NON_ASCII)], 16);
  assert_int_equal(st.skipped[SKIP(SYNTAX)], 1);
  assert_int_equal(st.skipped[SKIP(INVALID_NAME)], 2);
  assert_int_equal(st.skipped[SKIP(WILDCARD)], 2);
  assert_int_equal(st.first_line[SKIP(LOCALHOST)], 0);
}

/* ---- hosts ---- */

static void test_hosts(void **state)
{
  (void)state;
  const char *text = "# StevenBlack-style header\n"
                     "127.0.0.1 localhost\n"
                     "127.0.0.1 localhost.localdomain\n"
                     "255.255.255.255 broadcasthost\n"
                     "::1 localhost ip6-localhost ip6-loopback\n"
                     "fe80::1%lo0 localhost\n"
                     "0.0.0.0 0.0.0.0\n"
                     "\n"
                     "0.0.0.0 ads.example\n"
                     "127.0.0.1\tx.example  y.example\t# two names\n"
                     ":: tracker.example\n"
                     "0.0.0.0 Ads2.Example. # upper case, trailing dot\n"
                     "93.184.216.34 real.example\n"
                     "0.0.0.0\n"
                     "ads.example 0.0.0.0\n"
                     "0.0.0.0 *.wild.example\n"
                     "0.0.0.0 b\xc3\xbc" "cher.de ok.example\n"
                     "   # indented comment\n"
                     "0.0.0.0 bad_#cut.example";
  assert_string_equal(parse(text, MF_DOMAIN_LIST_HOSTS),
                      "9:e:ads.example 10:e:x.example 10:e:y.example "
                      "11:e:tracker.example 12:e:ads2.example "
                      "13:e:real.example 17:e:ok.example 19:e:bad_");
  assert_int_equal(st.skipped[SKIP(LOCALHOST)], 7);
  assert_int_equal(st.first_line[SKIP(LOCALHOST)], 2);
  assert_int_equal(st.skipped[SKIP(IP_ADDRESS)], 1);
  assert_int_equal(st.skipped[SKIP(SYNTAX)], 1);
  assert_int_equal(st.first_line[SKIP(SYNTAX)], 14);
  assert_int_equal(st.skipped[SKIP(HOSTS_ADDRESS)], 1);
  assert_int_equal(st.skipped[SKIP(WILDCARD)], 1);
  assert_int_equal(st.skipped[SKIP(NON_ASCII)], 1);
  assert_int_equal(st.skipped[SKIP(COMMENT)], 2);
  assert_int_equal(st.skipped[SKIP(BLANK)], 1);
}

/* ---- adblock ---- */

static void test_adblock(void **state)
{
  (void)state;
  const char *text = "[Adblock Plus 2.0]\n"
                     "! Title: a filter\n"
                     "||ads.example^\n"
                     "||tracker.example^$third-party\n"
                     "||Mixed.Example^$important,~third-party\n"
                     "||pipe.example^|\n"
                     "||bare.example\n"
                     "||*.wild.example^\n"
                     "||narrow.example^$domain=site.example\n"
                     "||client.example^$client=192.168.0.1\n"
                     "||bad.example^$badfilter\n"
                     "@@||allowed.example^\n"
                     "example.com##.banner\n"
                     "##.ad-box\n"
                     "example.com#@#.banner\n"
                     "example.com#$#body { color: red }\n"
                     "/ads[0-9]+\\.example/\n"
                     "/banner/ad.gif\n"
                     "||path.example/ads/\n"
                     "||port.example:8080^\n"
                     "||star.example^*\n"
                     "|https://url.example\n"
                     "plain.example\n"
                     "0.0.0.0 hosts.example\n"
                     "||ads*.example^\n"
                     "||1.2.3.4^\n"
                     "||b\xc3\xbc" "cher.de^\n"
                     "# hash comment\n"
                     "example.com$$script[data-src]\n"
                     "||xn--bcher-kva.de^";
  assert_string_equal(parse(text, MF_DOMAIN_LIST_ADBLOCK),
                      "3:s:ads.example 4:s:tracker.example "
                      "5:s:mixed.example 6:s:pipe.example 7:s:bare.example "
                      "8:w:wild.example 24:e:hosts.example "
                      "30:s:xn--bcher-kva.de");
  assert_int_equal(st.skipped[SKIP(COMMENT)], 3);
  assert_int_equal(st.skipped[SKIP(ADBLOCK_MODIFIER)], 3);
  assert_int_equal(st.first_line[SKIP(ADBLOCK_MODIFIER)], 9);
  assert_int_equal(st.skipped[SKIP(ADBLOCK_EXCEPTION)], 1);
  assert_int_equal(st.skipped[SKIP(ADBLOCK_COSMETIC)], 5);
  assert_int_equal(st.skipped[SKIP(ADBLOCK_REGEX)], 1);
  assert_int_equal(st.skipped[SKIP(ADBLOCK_URL)], 5);
  assert_int_equal(st.first_line[SKIP(ADBLOCK_URL)], 18);
  assert_int_equal(st.skipped[SKIP(SYNTAX)], 1);
  assert_int_equal(st.first_line[SKIP(SYNTAX)], 23);
  assert_int_equal(st.skipped[SKIP(WILDCARD)], 1);
  assert_int_equal(st.skipped[SKIP(IP_ADDRESS)], 1);
  assert_int_equal(st.skipped[SKIP(NON_ASCII)], 1);
}

/* ---- dnsmasq ---- */

static void test_dnsmasq(void **state)
{
  (void)state;
  const char *text = "# dnsmasq.d/split.conf\n"
                     "server=/a.com/b.com/1.2.3.4\n"
                     "address=/ads.example/0.0.0.0\n"
                     "local=/lan.example/\n"
                     "server=/Upper.Example/10.0.0.1#5353\n"
                     "ipset=/set1.example/set2.example/myset\n"
                     "nftset=/nft.example/4#inet#fw#set\n"
                     "server=/*.wild.example/1.1.1.1\n"
                     "server=/.dot.example/1.1.1.1\n"
                     "server=/#/1.1.1.1\n"
                     "server=//10.0.0.1\n"
                     "server=8.8.8.8\n"
                     "cache-size=1000\n"
                     "no-resolv\n"
                     "server=/unterminated.example\n"
                     "address=/bad..example/0.0.0.0\n"
                     "server=/x.example/1.1.1.1 # trailing comment\n"
                     "  server = /spaced.example/1.1.1.1\n"
                     "server=/1.2.3.4/10.0.0.1\n";
  assert_string_equal(parse(text, MF_DOMAIN_LIST_DNSMASQ),
                      "2:s:a.com 2:s:b.com 3:s:ads.example "
                      "4:s:lan.example 5:s:upper.example 6:s:set1.example "
                      "6:s:set2.example 7:s:nft.example 8:w:wild.example "
                      "9:s:dot.example 17:s:x.example 18:s:spaced.example");
  assert_int_equal(st.skipped[SKIP(DNSMASQ_ALL)], 1);
  assert_int_equal(st.first_line[SKIP(DNSMASQ_ALL)], 10);
  assert_int_equal(st.skipped[SKIP(DNSMASQ_OTHER)], 4);
  assert_int_equal(st.skipped[SKIP(SYNTAX)], 1);
  assert_int_equal(st.skipped[SKIP(INVALID_NAME)], 1);
  assert_int_equal(st.skipped[SKIP(IP_ADDRESS)], 1);
  assert_int_equal(st.skipped[SKIP(COMMENT)], 1);
  assert_int_equal(st.lines, 19);
}

/* ---- bytes ---- */

static void test_line_endings(void **state)
{
  (void)state;
  /* BOM, CRLF, a lone CR, an empty CRLF line, no newline at the end */
  const char *text = "\xef\xbb\xbf" "a.example\r\n"
                     "b.example\r\n"
                     "\r\n"
                     "c.example\rd.example\n"
                     "\n"
                     "e.example";
  assert_string_equal(parse(text, MF_DOMAIN_LIST_PLAIN),
                      "1:s:a.example 2:s:b.example 4:s:c.example "
                      "5:s:d.example 7:s:e.example");
  assert_int_equal(st.skipped[SKIP(BLANK)], 2);
  assert_int_equal(st.lines, 7);
  assert_string_equal(parse("0.0.0.0 x.example\r\n0.0.0.0 y.example # c\r\n",
                            MF_DOMAIN_LIST_HOSTS),
                      "1:e:x.example 2:e:y.example");
  assert_string_equal(parse("||x.example^\r\n||y.example^$third-party\r\n",
                            MF_DOMAIN_LIST_ADBLOCK),
                      "1:s:x.example 2:s:y.example");
  assert_string_equal(parse("server=/x.example/1.1.1.1\r\n", MF_DOMAIN_LIST_AUTO),
                      "1:s:x.example");
  /* nothing at all, and a lone BOM */
  assert_string_equal(parse("", MF_DOMAIN_LIST_AUTO), "");
  assert_int_equal(st.lines, 0);
  assert_string_equal(parse("\xef\xbb\xbf", MF_DOMAIN_LIST_PLAIN), "");
  /* a BOM is only skipped at the very start */
  assert_string_equal(parse("a.example\n\xef\xbb\xbf" "b.example\n",
                            MF_DOMAIN_LIST_PLAIN),
                      "1:s:a.example");
  assert_int_equal(st.skipped[SKIP(NON_ASCII)], 1);
}

static void test_long_lines_and_nul(void **state)
{
  (void)state;
  size_t big = 3 * MF_DOMAIN_LISTS_LINE_MAX;
  char *text = malloc(big + 2 * MF_DOMAIN_LISTS_LINE_MAX + 100);
  assert_non_null(text);
  size_t n = (size_t)sprintf(text, "first.example\n");
  memset(text + n, 'a', big);
  n += big;
  n += (size_t)sprintf(text + n, "\nafter.example\n");
  /* one byte over the limit */
  memset(text + n, 'c', MF_DOMAIN_LISTS_LINE_MAX + 1);
  n += MF_DOMAIN_LISTS_LINE_MAX + 1;
  text[n++] = '\n';
  /* a line of exactly the limit is read (and is too long a name) */
  memset(text + n, 'b', MF_DOMAIN_LISTS_LINE_MAX);
  n += MF_DOMAIN_LISTS_LINE_MAX;
  text[n++] = '\n';
  memcpy(text + n, "nul\0.example\nlast.example", 25);
  n += 25;
  assert_string_equal(parse_n(text, n, MF_DOMAIN_LIST_PLAIN),
                      "1:s:first.example 3:s:after.example 7:s:last.example");
  assert_int_equal(st.skipped[SKIP(LINE_TOO_LONG)], 2);
  assert_int_equal(st.first_line[SKIP(LINE_TOO_LONG)], 2);
  assert_int_equal(st.skipped[SKIP(INVALID_NAME)], 1);
  assert_int_equal(st.first_line[SKIP(INVALID_NAME)], 5);
  assert_int_equal(st.skipped[SKIP(NUL_BYTE)], 1);
  assert_int_equal(st.first_line[SKIP(NUL_BYTE)], 6);
  /* the same in every format */
  for (int f = MF_DOMAIN_LIST_PLAIN; f < MF_DOMAIN_LIST_N_FORMAT; f++) {
    parse_n(text, n, (mf_domain_list_format_t)f);
    assert_int_equal(st.skipped[SKIP(LINE_TOO_LONG)], 2);
    assert_int_equal(st.skipped[SKIP(NUL_BYTE)], 1);
    assert_int_equal(st.lines, 7);
  }
  free(text);
}

/* ---- detection ---- */

static void test_detect(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    mf_domain_list_format_t want;
  } cases[] = {
      {"", MF_DOMAIN_LIST_PLAIN},
      {"# only a comment\n\n", MF_DOMAIN_LIST_PLAIN},
      {"netflix.com\nhulu.com\n", MF_DOMAIN_LIST_PLAIN},
      {"# header\n127.0.0.1 localhost\n::1 localhost\n0.0.0.0 ads.example\n",
       MF_DOMAIN_LIST_HOSTS},
      {"\xef\xbb\xbf" "0.0.0.0 a.example\r\n0.0.0.0 b.example\r\n",
       MF_DOMAIN_LIST_HOSTS},
      {"[Adblock Plus 2.0]\n! comment\nads.example\n", MF_DOMAIN_LIST_ADBLOCK},
      {"! Title: x\n||ads.example^\n||b.example^\n", MF_DOMAIN_LIST_ADBLOCK},
      {"example.com##.ad\n", MF_DOMAIN_LIST_ADBLOCK},
      {"server=/a.com/1.2.3.4\naddress=/b.com/0.0.0.0\n",
       MF_DOMAIN_LIST_DNSMASQ},
      {"# conf\ncache-size=100\nlocal=/lan/\n", MF_DOMAIN_LIST_DNSMASQ},
      /* the majority of meaningful lines decides */
      {"0.0.0.0 a.example\nb.example\nc.example\nd.example\n",
       MF_DOMAIN_LIST_PLAIN},
      {"a.example\n0.0.0.0 b.example\n0.0.0.0 c.example\n",
       MF_DOMAIN_LIST_HOSTS},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mf_domain_list_format_t got =
        mf_domain_lists_detect(cases[i].text, strlen(cases[i].text));
    if (got != cases[i].want)
      fail_msg("case %zu: got %s want %s", i, mf_domain_lists_format_name(got),
               mf_domain_lists_format_name(cases[i].want));
    parse(cases[i].text, MF_DOMAIN_LIST_AUTO);
    assert_int_equal(st.format, cases[i].want);
  }
  /* only the first lines are read: a hosts file with a plain tail */
  char *text = malloc(200000);
  size_t n = 0;
  for (int i = 0; i < 100; i++)
    n += (size_t)sprintf(text + n, "0.0.0.0 h%d.example\n", i);
  for (int i = 0; i < 5000; i++)
    n += (size_t)sprintf(text + n, "p%d.example\n", i);
  assert_int_equal(mf_domain_lists_detect(text, n), MF_DOMAIN_LIST_HOSTS);
  /* ... and an explicit format wins over what detection would say */
  parse_n(text, n, MF_DOMAIN_LIST_PLAIN);
  assert_int_equal(st.names, 5000);
  assert_int_equal(st.skipped[SKIP(SYNTAX)], 100);
  free(text);
}

static void test_stop_and_names(void **state)
{
  (void)state;
  collect_t c = {.stop_after = 2};
  const char *text = "a.example\nb.example\nc.example\n";
  assert_int_equal(mf_domain_lists_parse(text, strlen(text),
                                         MF_DOMAIN_LIST_PLAIN, collect, &c,
                                         &st),
                   42);
  assert_string_equal(c.out, "1:s:a.example 2:s:b.example");
  assert_int_equal(st.lines, 2);
  /* a stop in the middle of a line with several names */
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  text = "0.0.0.0 a.example b.example\n";
  assert_int_equal(mf_domain_lists_parse(text, strlen(text),
                                         MF_DOMAIN_LIST_HOSTS, collect, &c,
                                         &st),
                   42);
  assert_string_equal(c.out, "1:e:a.example");
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  text = "server=/a.example/b.example/1.1.1.1\n";
  assert_int_equal(mf_domain_lists_parse(text, strlen(text),
                                         MF_DOMAIN_LIST_DNSMASQ, collect, &c,
                                         &st),
                   42);
  assert_string_equal(c.out, "1:s:a.example");

  mf_domain_list_format_t f;
  for (int i = 0; i < MF_DOMAIN_LIST_N_FORMAT; i++) {
    assert_int_equal(mf_domain_lists_format_parse(
                         mf_domain_lists_format_name((mf_domain_list_format_t)i),
                         &f),
                     0);
    assert_int_equal(f, i);
  }
  assert_int_equal(mf_domain_lists_format_parse("csv", &f), -1);
  assert_string_equal(mf_domain_lists_format_name(MF_DOMAIN_LIST_N_FORMAT), "?");
  for (int s = 0; s < MF_DOMAIN_LISTS_N_SKIP; s++) {
    assert_string_not_equal(mf_domain_lists_skip_name(s), "?");
    assert_string_not_equal(mf_domain_lists_skip_text(s), "?");
  }
  assert_string_equal(mf_domain_lists_skip_name(MF_DOMAIN_LISTS_N_SKIP), "?");
  /* an unknown format number is treated as AUTO */
  parse("0.0.0.0 a.example\n", (mf_domain_list_format_t)99);
  assert_int_equal(st.format, MF_DOMAIN_LIST_HOSTS);
}

/* Every line is accounted for: a name, or a skip (a hosts or dnsmasq line
 * may give several of either). */
static void test_every_line_counted(void **state)
{
  (void)state;
  const char *texts[] = {
      "a.example\n\n# c\nbad..x\n1.2.3.4\n*.w.example\nx y\n",
      "0.0.0.0 a.example\n\n# c\nfoo bar\n0.0.0.0\n0.0.0.0 localhost\n",
      "||a.example^\n\n! c\n@@||b^\n##.x\n/r/\n||c/d\nzz\n",
      "server=/a.example/1.1.1.1\n\n# c\nno-resolv\nserver=/#/1.1.1.1\n",
  };
  for (int f = 0; f < 4; f++) {
    parse(texts[f], (mf_domain_list_format_t)(MF_DOMAIN_LIST_PLAIN + f));
    uint32_t total = st.names;
    for (int s = 0; s < MF_DOMAIN_LISTS_N_SKIP; s++)
      total += st.skipped[s];
    assert_int_equal(total, st.lines);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),
      cmocka_unit_test(test_hosts),
      cmocka_unit_test(test_adblock),
      cmocka_unit_test(test_dnsmasq),
      cmocka_unit_test(test_line_endings),
      cmocka_unit_test(test_long_lines_and_nul),
      cmocka_unit_test(test_detect),
      cmocka_unit_test(test_stop_and_names),
      cmocka_unit_test(test_every_line_counted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
