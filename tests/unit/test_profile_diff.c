/* Which profile changes a reload may apply and which need a restart: one
 * base profile, edited one key at a time. Keys moved in the file (marks
 * changed, values not) are no change at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/profile.h"
#include "config/profile_diff.h"

#define PRIV1 "IDSNMDAcMYj4I6OkiR/c1gWVFsUgFEm/RKThOi/rXHY="
#define PUB2 "Me8KQM11hSE7aTF+rj3lty9uVjJ/dG5RYmKFTYFbSGg="

/* The edits a case makes; NULL fields keep the base value. */
typedef struct {
  const char *head;      /* text before everything (comments move marks) */
  const char *mtu;
  const char *block_type;
  const char *endpoint;
  const char *extra_iface;
  const char *streaming_to;
  const char *cidr_to;
  const char *hoststack;
  const char *dns;
} edit_t;

static mf_profile_t *running, *next;

static void build(const edit_t *e, mf_profile_t *out)
{
  char text[4096];
  snprintf(text, sizeof(text),
           "%s"
           "tun:\n"
           "  name: mfdiff0\n"
           "  mtu: %s\n"
           "  addresses: [172.19.0.1/30]\n"
           "interfaces:\n"
           "  - { name: direct, type: direct }\n"
           "  - { name: block, type: %s }\n"
           "  - name: wg-home\n"
           "    type: wireguard\n"
           "    private_key: " PRIV1 "\n"
           "    address: [10.64.0.2/32]\n"
           "    peers:\n"
           "      - public_key: " PUB2 "\n"
           "        allowed_ips: [0.0.0.0/0]\n"
           "        endpoint: %s\n"
           "%s"
           "app_routing: true\n"
           "domain_sets:\n"
           "  streaming: [netflix.com]\n"
           "cidr_sets:\n"
           "  office: [10.20.0.0/16]\n"
           "dns:\n"
           "%s"
           "hoststack:\n"
           "%s"
           "routes:\n"
           "  - { domain_set: streaming, to: %s }\n"
           "  - { cidr_set: office, to: %s }\n"
           "  - { dns_fallback: true, to: direct }\n"
           "  - { cidr: 0.0.0.0/0, to: direct }\n",
           e->head ? e->head : "", e->mtu ? e->mtu : "1500",
           e->block_type ? e->block_type : "reject",
           e->endpoint ? e->endpoint : "192.0.2.1:51820",
           e->extra_iface ? e->extra_iface : "",
           e->dns ? e->dns : "  direct: [1.1.1.1]\n  vpn: [10.64.0.1]\n",
           e->hoststack ? e->hoststack : "  udp_idle_timeout: 60\n",
           e->streaming_to ? e->streaming_to : "wg-home",
           e->cidr_to ? e->cidr_to : "wg-home");
  mf_diag_t diag = {.out = stderr};
  memset(out, 0, sizeof(*out));
  assert_int_equal(mf_profile_load_string(text, strlen(text), "<test>", out,
                                          &diag), 0);
}

/* The key named for going from the base to e, or "" for none. */
static const char *diff(const edit_t *e)
{
  static char key[160];
  build(&(edit_t){0}, running);
  build(e, next);
  bool restart = mf_profile_diff_needs_restart(running, next, key, sizeof(key));
  assert_true(restart == (key[0] != 0));
  return key;
}

static void test_run_time_changes(void **state)
{
  (void)state;
  assert_string_equal(diff(&(edit_t){0}), "");
  assert_string_equal(diff(&(edit_t){.head = "# moved\n\n"}), "");
  assert_string_equal(diff(&(edit_t){.streaming_to = "block"}), "");
  assert_string_equal(diff(&(edit_t){.cidr_to = "direct"}), "");
  assert_string_equal(
      diff(&(edit_t){.dns = "  direct: [9.9.9.9]\n  vpn: [10.64.0.9]\n  hijack: true\n"
                            "  host_route_grace: 5\n  max_host_routes: 100\n"}),
      "");
  assert_string_equal(
      diff(&(edit_t){.hoststack = "  udp_idle_timeout: 5\n"
                                  "  tcp_idle_timeout: 0\n"
                                  "  tcp_connect_timeout: 3\n"
                                  "  icmp_idle_timeout: 7\n"
                                  "  max_sessions: 64\n"}),
      "");
}

static void test_restart_changes(void **state)
{
  (void)state;
  assert_string_equal(diff(&(edit_t){.mtu = "1400"}), "tun.mtu");
  assert_string_equal(diff(&(edit_t){.block_type = "drop"}),
                      "interfaces[block].type");
  assert_string_equal(diff(&(edit_t){.endpoint = "192.0.2.9:51820"}),
                      "interfaces[wg-home].peers[0].endpoint");
  assert_string_equal(
      diff(&(edit_t){.extra_iface = "  - { name: more, type: drop }\n"}),
      "interfaces[more] (added)");
  assert_string_equal(
      diff(&(edit_t){.hoststack = "  udp_idle_timeout: 60\n"
                                  "  tcp_rx_buffer: 65536\n"}),
      "hoststack.tcp_rx_buffer");
  /* The first difference in file order is named. */
  assert_string_equal(diff(&(edit_t){.mtu = "1400", .block_type = "drop"}),
                      "tun.mtu");
  /* Removed: named from the running side. */
  build(&(edit_t){.extra_iface = "  - { name: more, type: drop }\n"}, running);
  build(&(edit_t){0}, next);
  char key[64];
  assert_true(mf_profile_diff_needs_restart(running, next, key, sizeof(key)));
  assert_string_equal(key, "interfaces[more] (removed)");
  /* A short buffer is cut, never overrun. */
  char tiny[6];
  assert_true(mf_profile_diff_needs_restart(running, next, tiny, sizeof(tiny)));
  assert_string_equal(tiny, "inter");
}

static void test_sessions_fit_the_pool(void **state)
{
  (void)state;
  build(&(edit_t){.hoststack = "  max_sessions: 64\n"}, next);
  assert_true(mf_profile_diff_sessions_fit(next, 64));
  assert_true(mf_profile_diff_sessions_fit(next, 16384));
  assert_false(mf_profile_diff_sessions_fit(next, 32));
}

int main(void)
{
  running = calloc(1, sizeof(*running));
  next = calloc(1, sizeof(*next));
  if (!running || !next)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_time_changes),
      cmocka_unit_test(test_restart_changes),
      cmocka_unit_test(test_sessions_fit_the_pool),
  };
  int rv = cmocka_run_group_tests(tests, NULL, NULL);
  free(running);
  free(next);
  return rv;
}
