/* App Routing compiled from a profile: list files read beside the profile,
 * set ids in declaration order, interfaces and DNS groups from the routes,
 * the fallback, the upstreams, suffix against exact matches, and the
 * errors a missing or unusable list file gives. Files go to a temporary
 * directory removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/profile.h"
#include "routing/approute.h"

/* Keys made with `wg genkey | tee k | wg pubkey`. */
#define PRIV1 "IDSNMDAcMYj4I6OkiR/c1gWVFsUgFEm/RKThOi/rXHY="
#define PUB2 "Me8KQM11hSE7aTF+rj3lty9uVjJ/dG5RYmKFTYFbSGg="

/* Interfaces 0 direct, 1 block (reject), 2 wg-home (wireguard). */
#define IFACES                                                                 \
  "interfaces:\n"                                                              \
  "  - { name: direct, type: direct }\n"                                       \
  "  - { name: block, type: reject }\n"                                        \
  "  - name: wg-home\n"                                                        \
  "    type: wireguard\n"                                                      \
  "    private_key: " PRIV1 "\n"                                               \
  "    address: [10.64.0.2/32]\n"                                              \
  "    peers:\n"                                                               \
  "      - public_key: " PUB2 "\n"                                             \
  "        allowed_ips: [0.0.0.0/0]\n"

/* The manual's Selective-VPN scenario with lists; domain_sets at line 12. */
static const char profile_text[] =
    "app_routing: true\n" IFACES "domain_sets:\n"
    "  streaming: [netflix.com, nflxvideo.net]\n"
    "  ads: { files: [lists/ads-hosts.txt, lists/easylist.txt] }\n"
    "  mixed: { names: [a.example, '=exact.example'], files: [x.txt], "
    "format: plain }\n"
    "  unrouted: [netflix.com, only-here.example]\n"
    "dns:\n"
    "  vpn: [8.8.8.8, '[2001:4860:4860::8888]:5353']\n"
    "  direct: ['1.1.1.1:53', 1.0.0.1]\n"
    "  servers: [9.9.9.9]\n"
    "  block: answer\n"
    "  host_route_grace: 30\n"
    "routes:\n"
    "  - { domain_set: streaming, to: wg-home }\n"
    "  - { domain_set: ads, to: block }\n"
    "  - { domain_set: mixed, to: direct }\n"
    "  - { dns_fallback: true, to: direct }\n"
    "  - { cidr: 0.0.0.0/0, to: direct }\n";

static const char hosts_text[] = "# a hosts file\n"
                                 "0.0.0.0 ads.tracker.com\n"
                                 "0.0.0.0 pixel.tracker.com metrics.example\n"
                                 "127.0.0.1 localhost\n"
                                 "not a hosts line at all\n";
static const char adblock_text[] = "[Adblock Plus 2.0]\n"
                                   "! comment\n"
                                   "||doubleclick.net^\n"
                                   "||netflix.com^\n" /* streaming has it */
                                   "@@||allowed.example^\n";
static const char plain_text[] = "full:exact2.example\n"
                                 "suffix.example\n";

static char dir[64];
static char profile_path[128];
static mf_profile_t *prof;
static mf_approute_t ar;
static mf_diag_t diag;

static void write_file(const char *rel, const char *text)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  fclose(f);
}

static void remove_file(const char *rel)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  unlink(path);
}

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/mf-approute-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  char lists[96];
  snprintf(lists, sizeof(lists), "%s/lists", dir);
  if (mkdir(lists, 0700) < 0)
    return -1;
  snprintf(profile_path, sizeof(profile_path), "%s/p.yaml", dir);
  prof = calloc(1, sizeof(*prof));
  return prof ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  static const char *const files[] = {"p.yaml", "x.txt", "lists/ads-hosts.txt",
                                      "lists/easylist.txt"};
  for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
    remove_file(files[k]);
  char lists[96];
  snprintf(lists, sizeof(lists), "%s/lists", dir);
  rmdir(lists);
  rmdir(dir);
  free(prof);
  return 0;
}

/* Writes the profile and the lists, loads and builds. Returns the build's
 * result; the profile must load. */
static int build(const char *yaml)
{
  write_file("p.yaml", yaml);
  memset(&diag, 0, sizeof(diag));
  int rc = mf_profile_load_file(profile_path, prof, &diag);
  if (rc != 0)
    print_error("profile: %s\n", diag.first);
  assert_int_equal(rc, 0);
  return mf_approute_build(prof, &ar, &diag);
}

static void write_lists(void)
{
  write_file("lists/ads-hosts.txt", hosts_text);
  write_file("lists/easylist.txt", adblock_text);
  write_file("x.txt", plain_text);
}

static uint32_t match(const char *name)
{
  return mf_approute_match(&ar, name, strlen(name));
}

static void test_sets_groups_fallback(void **state)
{
  (void)state;
  write_lists();
  int rc = build(profile_text);
  if (rc != 0)
    print_error("build: %s\n", diag.first);
  assert_int_equal(rc, 0);
  assert_true(ar.enabled);
  assert_non_null(ar.domains);
  assert_int_equal(ar.n_sets, 4);
  /* Set ids are the declaration order. */
  assert_string_equal(ar.sets[0].name, "streaming");
  assert_string_equal(ar.sets[1].name, "ads");
  assert_string_equal(ar.sets[2].name, "mixed");
  assert_string_equal(ar.sets[3].name, "unrouted");
  assert_int_equal(ar.sets[0].iface, 2);
  assert_int_equal(ar.sets[0].group, MF_DNS_GROUP_VPN);
  assert_int_equal(ar.sets[1].iface, 1);
  assert_int_equal(ar.sets[1].group, MF_DNS_GROUP_DIRECT);
  assert_int_equal(ar.sets[2].iface, 0);
  assert_int_equal(ar.sets[2].group, MF_DNS_GROUP_DIRECT);
  assert_int_equal(ar.sets[3].iface, MF_APPROUTE_NONE);
  assert_int_equal(ar.fallback_iface, 0);
  assert_int_equal(ar.fallback_group, MF_DNS_GROUP_DIRECT);
  /* Names per set: ads has 4 hosts names and doubleclick.net; its
   * netflix.com conflicts with streaming's, which keeps it. */
  assert_int_equal(ar.sets[0].n_names, 2);
  assert_int_equal(ar.sets[1].n_names, 4);
  assert_int_equal(ar.sets[1].n_files, 2);
  assert_int_equal(ar.sets[2].n_names, 4);
  assert_int_equal(ar.sets[3].n_names, 1);
  assert_int_equal(ar.names_loaded, 11);
  assert_int_equal(ar.conflicts, 2);
  /* localhost, the bad hosts line, the adblock exception. */
  assert_int_equal(ar.sets[1].lines_skipped, 3);
  assert_int_equal(ar.lines_skipped, 3);

  assert_int_equal(ar.n_vpn, 2);
  assert_int_equal(ar.vpn[0].family, AF_INET);
  assert_int_equal(ar.vpn[0].port, 53);
  assert_int_equal(ar.vpn[1].family, AF_INET6);
  assert_int_equal(ar.vpn[1].port, 5353);
  uint8_t v6[16];
  inet_pton(AF_INET6, "2001:4860:4860::8888", v6);
  assert_memory_equal(ar.vpn[1].addr, v6, 16);
  assert_int_equal(ar.n_direct, 2);
  assert_int_equal(ar.direct[1].addr[3], 1);
  assert_int_equal(ar.n_system, 1);
  assert_int_equal(ar.system[0].addr[0], 9);
  assert_true(ar.block_answer);
  assert_false(ar.hijack);
  assert_int_equal(ar.host_route_grace_s, 30);
  assert_int_equal(ar.max_host_routes, 65536);
  mf_approute_free(&ar);
  assert_null(ar.domains);
  assert_null(ar.sets);
}

static void test_matches(void **state)
{
  (void)state;
  write_lists();
  assert_int_equal(build(profile_text), 0);
  /* Suffix entries cover the name and every name below it ... */
  assert_int_equal(match("netflix.com"), 0);
  assert_int_equal(match("www.netflix.com"), 0);
  assert_int_equal(match("WWW.NetFlix.COM."), 0);
  assert_int_equal(match("a.b.nflxvideo.net"), 0);
  /* ... at a label boundary only. */
  assert_int_equal(match("xnetflix.com"), MF_APPROUTE_NONE);
  assert_int_equal(match("netflix.com.evil.example"), MF_APPROUTE_NONE);
  assert_int_equal(match("com"), MF_APPROUTE_NONE);
  /* Hosts files give exact entries; adblock rules suffix ones. */
  assert_int_equal(match("ads.tracker.com"), 1);
  assert_int_equal(match("metrics.example"), 1);
  assert_int_equal(match("x.ads.tracker.com"), MF_APPROUTE_NONE);
  assert_int_equal(match("tracker.com"), MF_APPROUTE_NONE);
  assert_int_equal(match("ad.doubleclick.net"), 1);
  assert_int_equal(match("allowed.example"), MF_APPROUTE_NONE);
  assert_int_equal(match("localhost"), MF_APPROUTE_NONE);
  /* "=name" inline and "full:" in a plain list are exact. */
  assert_int_equal(match("exact.example"), 2);
  assert_int_equal(match("www.exact.example"), MF_APPROUTE_NONE);
  assert_int_equal(match("exact2.example"), 2);
  assert_int_equal(match("x.exact2.example"), MF_APPROUTE_NONE);
  assert_int_equal(match("deep.a.example"), 2);
  assert_int_equal(match("deep.suffix.example"), 2);
  /* A set without a route still matches: the server decides what that
   * means (its iface is NONE). */
  assert_int_equal(match("only-here.example"), 3);
  assert_int_equal(match("unknown.example"), MF_APPROUTE_NONE);
  assert_int_equal(match(""), MF_APPROUTE_NONE);
  mf_approute_free(&ar);
  assert_int_equal(match("netflix.com"), MF_APPROUTE_NONE);
}

static void test_missing_file(void **state)
{
  (void)state;
  write_lists();
  remove_file("lists/easylist.txt");
  assert_int_equal(build(profile_text), -1);
  assert_int_equal(diag.n_errors, 1);
  char want[512];
  snprintf(want, sizeof(want),
           "%s:14:39: domain set 'ads': cannot read %s/lists/easylist.txt: "
           "No such file or directory",
           profile_path, dir);
  assert_string_equal(diag.first, want);
  assert_null(ar.domains);
  assert_null(ar.sets);

  /* A directory is no list. */
  char sub[128];
  snprintf(sub, sizeof(sub), "%s/lists/easylist.txt", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(build(profile_text), -1);
  snprintf(want, sizeof(want),
           "%s:14:39: domain set 'ads': cannot read %s/lists/easylist.txt: "
           "Is a directory",
           profile_path, dir);
  assert_string_equal(diag.first, want);
  rmdir(sub);
}

static void test_relative_without_file(void **state)
{
  (void)state;
  static const char yaml[] = "app_routing: true\n"
                             "interfaces: [{name: d, type: direct}]\n"
                             "domain_sets:\n"
                             "  ads: {files: [ads.txt]}\n"
                             "dns: {direct: [1.1.1.1]}\n"
                             "routes:\n"
                             "  - {domain_set: ads, to: d}\n"
                             "  - {cidr: 0.0.0.0/0, to: d}\n";
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(
      mf_profile_load_string(yaml, strlen(yaml), "<string>", prof, &diag), 0);
  assert_int_equal(mf_approute_build(prof, &ar, &diag), -1);
  assert_string_equal(diag.first,
                      "<string>:4:17: domain set 'ads': ads.txt: a relative "
                      "path needs a profile file to be relative to");
}

static void test_absolute_path_and_disabled(void **state)
{
  (void)state;
  write_lists();
  char yaml[1024];
  snprintf(yaml, sizeof(yaml),
           "app_routing: %s\n"
           "interfaces: [{name: d, type: direct}]\n"
           "domain_sets:\n"
           "  ads: {files: ['%s/lists/ads-hosts.txt'], format: hosts}\n"
           "cidr_sets:\n"
           "  nets: [10.1.0.0/16]\n"
           "routes:\n"
           "  - {cidr_set: nets, to: d}\n"
           "  - {cidr: 0.0.0.0/0, to: d}\n",
           "true", dir);
  assert_int_equal(build(yaml), 0);
  assert_int_equal(ar.n_sets, 1);
  assert_int_equal(ar.sets[0].iface, MF_APPROUTE_NONE);
  assert_int_equal(match("pixel.tracker.com"), 0);
  assert_int_equal(ar.fallback_iface, MF_APPROUTE_NONE);
  mf_approute_free(&ar);

  /* App Routing off: no list is read, nothing matches, the upstreams for
   * the system are still there. */
  remove_file("lists/ads-hosts.txt");
  snprintf(yaml, sizeof(yaml),
           "interfaces: [{name: d, type: direct}]\n"
           "domain_sets:\n"
           "  ads: {files: ['%s/lists/ads-hosts.txt']}\n"
           "dns: {servers: ['1.1.1.1', '2606:4700::1111']}\n"
           "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
           dir);
  assert_int_equal(build(yaml), 0);
  assert_false(ar.enabled);
  assert_null(ar.domains);
  assert_int_equal(ar.n_sets, 0);
  assert_int_equal(ar.n_system, 2);
  assert_int_equal(ar.system[1].family, AF_INET6);
  assert_int_equal(match("pixel.tracker.com"), MF_APPROUTE_NONE);
  mf_approute_free(&ar);
}

/* Ranks follow the routes list; a WireGuard interface without an IPv6
 * address marks its sets no_ipv6. */
static void test_ranks_and_no_ipv6(void **state)
{
  (void)state;
  write_lists();
  assert_int_equal(build(profile_text), 0);
  assert_int_equal(ar.sets[0].rank, 0); /* streaming, routed first */
  assert_int_equal(ar.sets[1].rank, 1); /* ads */
  assert_int_equal(ar.sets[2].rank, 2); /* mixed */
  assert_true(ar.sets[0].no_ipv6);      /* wg-home: 10.64.0.2/32 only */
  assert_false(ar.sets[1].no_ipv6);
  assert_false(ar.sets[2].no_ipv6);
  assert_int_equal(ar.doh_set, MF_APPROUTE_NONE);
  assert_int_equal(match("dns.google"), MF_APPROUTE_NONE);
  mf_approute_free(&ar);

  static const char v6[] =
      "app_routing: true\n"
      "interfaces:\n"
      "  - { name: direct, type: direct }\n"
      "  - name: wg\n"
      "    type: wireguard\n"
      "    private_key: " PRIV1 "\n"
      "    address: [10.64.0.2/32, 'fd00:64::2/128']\n"
      "    peers: [{public_key: " PUB2 ", allowed_ips: ['0.0.0.0/0', '::/0']}]\n"
      "domain_sets: {a: [a.example], b: [b.example]}\n"
      "dns: {vpn: [8.8.8.8], direct: [1.1.1.1]}\n"
      "routes:\n"
      "  - { domain_set: b, to: direct }\n"
      "  - { domain_set: a, to: wg }\n"
      "  - { cidr: 0.0.0.0/0, to: direct }\n";
  assert_int_equal(build(v6), 0);
  assert_int_equal(ar.sets[0].rank, 1); /* a: its route is second */
  assert_int_equal(ar.sets[1].rank, 0);
  assert_false(ar.sets[0].no_ipv6);
  mf_approute_free(&ar);
}

/* block_doh: the bundled names in a set of their own, last, routed to
 * the first reject interface; a name in a user's set stays the user's. */
static void test_block_doh(void **state)
{
  (void)state;
  static const char yaml[] =
      "app_routing: true\n"
      "interfaces:\n"
      "  - { name: direct, type: direct }\n"
      "  - { name: no, type: reject }\n"
      "domain_sets: {mine: [dns.quad9.net]}\n"
      "dns: {direct: [8.8.8.8], block_doh: true}\n"
      "routes:\n"
      "  - { domain_set: mine, to: direct }\n"
      "  - { cidr: 0.0.0.0/0, to: direct }\n";
  assert_int_equal(build(yaml), 0);
  assert_int_equal(prof->n_ifaces, 2); /* "no" serves: nothing added */
  assert_int_equal(ar.n_sets, 2);
  assert_int_equal(ar.doh_set, 1);
  assert_string_equal(ar.sets[1].name, MF_APPROUTE_DOH_SET_NAME);
  assert_int_equal(ar.sets[1].iface, 1);
  assert_int_equal(ar.sets[1].group, MF_DNS_GROUP_DIRECT);
  assert_int_equal(ar.sets[1].rank, MF_APPROUTE_DOH_RANK);
  static const char *const doh[] = {
      "dns.google", "DNS.Google.", "mozilla.cloudflare-dns.com",
      "chrome.cloudflare-dns.com", "cloudflare-dns.com", "doh.opendns.com",
      "dns.adguard-dns.com", "abc123.dns.nextdns.io", "doh.cleanbrowsing.org",
      "adblock.dns.mullvad.net", "doh.dns.sb", "doh.xfinity.com",
      "dns11.quad9.net"};
  for (size_t k = 0; k < sizeof(doh) / sizeof(doh[0]); k++) {
    if (match(doh[k]) != 1)
      fail_msg("%s is not in the DoH set", doh[k]);
  }
  static const char *const not_doh[] = {"google.com", "www.cloudflare.com",
                                        "quad9.net", "opendns.com",
                                        "nextdns.io", "example.com"};
  for (size_t k = 0; k < sizeof(not_doh) / sizeof(not_doh[0]); k++)
    if (match(not_doh[k]) != MF_APPROUTE_NONE)
      fail_msg("%s is in a set", not_doh[k]);
  assert_int_equal(match("dns.quad9.net"), 0); /* the user's set keeps it */
  mf_approute_free(&ar);

  /* No reject interface: one named doh-reject is added for the set. */
  static const char bare[] =
      "app_routing: true\n"
      "interfaces: [{ name: direct, type: direct }]\n"
      "dns: {direct: [8.8.8.8], block_doh: true}\n"
      "routes: [{ cidr: 0.0.0.0/0, to: direct }]\n";
  assert_int_equal(build(bare), 0);
  assert_int_equal(prof->n_ifaces, 2);
  assert_string_equal(prof->ifaces[1].name, "doh-reject");
  assert_int_equal(prof->ifaces[1].type, MF_IF_REJECT);
  assert_int_equal(ar.n_sets, 1);
  assert_int_equal(ar.sets[0].iface, 1);
  assert_int_equal(match("dns.google"), 0);
  mf_approute_free(&ar);
}

/* block_doh's errors carry line and column. */
static void test_block_doh_errors(void **state)
{
  (void)state;
  static const struct {
    const char *yaml, *error;
  } cases[] = {
      {"app_routing: true\n"
       "interfaces: [{ name: direct, type: direct }]\n"
       "dns:\n"
       "  block_doh: maybe\n"
       "routes: [{ cidr: 0.0.0.0/0, to: direct }]\n",
       "<string>:4:14: "},
      {"interfaces: [{ name: direct, type: direct }]\n"
       "dns: {block_doh: true}\n"
       "routes: [{ cidr: 0.0.0.0/0, to: direct }]\n",
       "<string>:2:18: block_doh: needs app_routing: true"},
      {"app_routing: true\n"
       "interfaces:\n"
       "  - { name: direct, type: direct }\n"
       "  - { name: doh-reject, type: drop }\n"
       "dns: {direct: [1.1.1.1], block_doh: true}\n"
       "routes: [{ cidr: 0.0.0.0/0, to: direct }]\n",
       "<string>:5:37: block_doh: needs an interface of type reject, and one "
       "named 'doh-reject' cannot be added (the name is taken)"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(mf_profile_load_string(cases[k].yaml,
                                            strlen(cases[k].yaml), "<string>",
                                            prof, &diag),
                     -1);
    if (strncmp(diag.first, cases[k].error, strlen(cases[k].error)) != 0)
      fail_msg("case %zu: got \"%s\"", k, diag.first);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sets_groups_fallback),
      cmocka_unit_test(test_matches),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_relative_without_file),
      cmocka_unit_test(test_absolute_path_and_disabled),
      cmocka_unit_test(test_ranks_and_no_ipv6),
      cmocka_unit_test(test_block_doh),
      cmocka_unit_test(test_block_doh_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
