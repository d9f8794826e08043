/* Profile parsing: the default profile, defaults and derivations, and one
 * exact "file:line:column: message" for every kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/key_text.h"
#include "config/profile.h"
#include "config/profile_dump.h"

/* Ends every profile that only tests the tun section. */
#define TAIL                                                                   \
  "interfaces: [{name: d, type: direct}]\n"                                    \
  "routes: [{cidr: 0.0.0.0/0, to: d}]\n"

static mf_profile_t *prof; /* ~300 KiB: kept off the stack */
static mf_diag_t diag;

static int setup(void **state)
{
  (void)state;
  prof = calloc(1, sizeof(*prof));
  return prof ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  free(prof);
  return 0;
}

static int load(const char *yaml)
{
  memset(&diag, 0, sizeof(diag));
  return mf_profile_load_string(yaml, strlen(yaml), "t.yaml", prof, &diag);
}

static void assert_valid(const char *yaml)
{
  int rc = load(yaml);
  if (rc != 0)
    print_error("unexpected error: %s\n", diag.first);
  assert_int_equal(rc, 0);
  assert_int_equal(diag.n_errors, 0);
}

static void assert_prefix(const mf_prefix_t *p, const char *text)
{
  char buf[64];
  mf_prefix_format(p, true, buf, sizeof(buf));
  assert_string_equal(buf, text);
}

static void test_default_profile(void **state)
{
  (void)state;
  const char *text = mf_profile_default_text();
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(
      mf_profile_load_string(text, strlen(text), "<default>", prof, &diag), 0);
  assert_int_equal(diag.n_errors, 0);
  assert_string_equal(prof->source, "<default>");
  const mf_tun_cfg_t *tun = &prof->tun;
  assert_string_equal(tun->name, "mf0");
  assert_int_equal(tun->mtu, 1500);
  assert_int_equal(tun->n_addresses, 2);
  assert_prefix(&tun->addresses[0], "172.19.0.1/30");
  assert_prefix(&tun->addresses[1], "fdfe:dcba:9876::1/126");
  assert_int_equal(tun->n_stack_addresses, 2);
  assert_prefix(&tun->stack_addresses[0], "172.19.0.2/30");
  assert_prefix(&tun->stack_addresses[1], "fdfe:dcba:9876::2/126");
  assert_true(tun->auto_route);
  assert_true(tun->exclude_lan);
  assert_int_equal(tun->route_table, 7300);
  assert_int_equal(tun->fwmark, 0x7300);
  assert_int_equal(tun->rule_priority, 7300);
  assert_int_equal(prof->n_ifaces, 3);
  assert_string_equal(prof->ifaces[0].name, "direct");
  assert_int_equal(prof->ifaces[0].type, MF_IF_DIRECT);
  assert_int_equal(prof->ifaces[1].type, MF_IF_REJECT);
  assert_int_equal(prof->ifaces[2].type, MF_IF_DROP);
  assert_int_equal(mf_profile_find_iface(prof, "drop"), 2);
  assert_int_equal(mf_profile_find_iface(prof, "nope"), -1);
  assert_int_equal(prof->n_routes, 2);
  assert_prefix(&prof->routes[0].cidr, "0.0.0.0/0");
  assert_prefix(&prof->routes[1].cidr, "::/0");
  assert_false(prof->routes[1].implicit);
  assert_int_equal(prof->routes[1].iface, 0);
  assert_true(prof->routes[0].mark.line > 0);
}

static void test_defaults_applied(void **state)
{
  (void)state;
  assert_valid(TAIL);
  const mf_tun_cfg_t *tun = &prof->tun;
  assert_string_equal(tun->name, "mf0");
  assert_int_equal(tun->mtu, 1500);
  assert_int_equal(tun->n_addresses, 2);
  assert_prefix(&tun->addresses[0], "172.19.0.1/30");
  assert_prefix(&tun->stack_addresses[1], "fdfe:dcba:9876::2/126");
  assert_false(tun->auto_route);
  assert_false(tun->exclude_lan);
  assert_int_equal(tun->route_table, 7300);
  assert_int_equal(tun->fwmark, 0x7300);
  assert_int_equal(tun->rule_priority, 7300);
  /* A tun key with nothing under it means the same. */
  assert_valid("tun:\n" TAIL);
  assert_int_equal(prof->tun.mtu, 1500);
}

static void test_all_tun_keys(void **state)
{
  (void)state;
  assert_valid("tun:\n"
               "  name: wg.tun-0_x\n"
               "  mtu: 1280\n"
               "  addresses: [fd00::1/64, 10.9.0.1/24]\n"
               "  stack_addresses: [10.9.0.200, 'fd00::abcd']\n"
               "  auto_route: True\n"
               "  exclude_lan: FALSE\n"
               "  route_table: 0xFFFFFFF0\n"
               "  fwmark: 0x1\n"
               "  rule_priority: 32000\n" TAIL);
  const mf_tun_cfg_t *tun = &prof->tun;
  assert_string_equal(tun->name, "wg.tun-0_x");
  assert_int_equal(tun->mtu, 1280);
  /* stack_addresses[i] goes with addresses[i], whatever the order given. */
  assert_prefix(&tun->addresses[0], "fd00::1/64");
  assert_prefix(&tun->stack_addresses[0], "fd00::abcd/64");
  assert_prefix(&tun->addresses[1], "10.9.0.1/24");
  assert_prefix(&tun->stack_addresses[1], "10.9.0.200/24");
  assert_int_equal(tun->n_stack_addresses, 2);
  assert_true(tun->auto_route);
  assert_false(tun->exclude_lan);
  assert_int_equal(tun->route_table, 0xfffffff0u);
  assert_int_equal(tun->fwmark, 1);
  assert_int_equal(tun->rule_priority, 32000);
}

static void test_stack_address_derivation(void **state)
{
  (void)state;
  assert_valid("tun: {addresses: [10.1.2.5/24]}\n" TAIL);
  assert_int_equal(prof->tun.n_addresses, 1);
  assert_prefix(&prof->tun.stack_addresses[0], "10.1.2.6/24");
  assert_valid("tun: {addresses: [10.1.2.255/23]}\n" TAIL);
  assert_prefix(&prof->tun.stack_addresses[0], "10.1.3.0/23");
  /* RFC 3021: a /31 has no broadcast address. */
  assert_valid("tun: {addresses: [10.0.0.0/31]}\n" TAIL);
  assert_prefix(&prof->tun.stack_addresses[0], "10.0.0.1/31");
  assert_valid("tun: {addresses: ['2001:db8::ff/64']}\n" TAIL);
  assert_prefix(&prof->tun.stack_addresses[0], "2001:db8::100/64");
  assert_valid("tun: {addresses: ['fd00::fffe/127']}\n" TAIL);
  assert_prefix(&prof->tun.stack_addresses[0], "fd00::ffff/127");

  assert_int_equal(load("tun: {addresses: [10.0.0.1/32]}\n" TAIL), -1);
  assert_string_equal(diag.first,
                      "t.yaml:1:19: addresses: 10.0.0.1/32 leaves no next "
                      "address in its prefix for the stack; set "
                      "stack_addresses or use a shorter prefix");
  assert_int_equal(load("tun: {addresses: [10.0.0.2/30]}\n" TAIL), -1);
  assert_string_equal(diag.first,
                      "t.yaml:1:19: addresses: the address after "
                      "10.0.0.2/30 is 10.0.0.3, its prefix's broadcast "
                      "address; set stack_addresses");
  assert_int_equal(load("tun: {addresses: ['fd00::ffff/112']}\n" TAIL), -1);
  assert_string_equal(diag.first,
                      "t.yaml:1:20: addresses: fd00::ffff/112 leaves no "
                      "next address in its prefix for the stack; set "
                      "stack_addresses or use a shorter prefix");
  assert_int_equal(load("tun:\n  addresses:\n    - 10.0.0.1\n" TAIL), -1);
  assert_string_equal(diag.first,
                      "t.yaml:3:7: addresses: 10.0.0.1/32 leaves no next "
                      "address in its prefix for the stack; set "
                      "stack_addresses or use a shorter prefix");
  /* Given, the stack address needs no room after the tun address. */
  assert_valid("tun:\n  addresses: [10.0.0.2/30]\n"
               "  stack_addresses: [10.0.0.1]\n" TAIL);
  assert_prefix(&prof->tun.stack_addresses[0], "10.0.0.1/30");
}

static void test_implicit_v6_default(void **state)
{
  (void)state;
  assert_valid("interfaces:\n  - {name: a, type: drop}\n"
               "  - {name: b, type: reject}\n"
               "routes:\n  - {cidr: 10.0.0.0/8, to: a}\n"
               "  - {cidr: 0.0.0.0/0, to: b}\n");
  assert_int_equal(prof->n_routes, 3);
  const mf_route_cfg_t *r = &prof->routes[2];
  assert_prefix(&r->cidr, "::/0");
  assert_true(r->implicit);
  assert_int_equal(r->iface, 1);
  assert_int_equal(r->mark.line, 6); /* that of the route it follows */
  assert_false(prof->routes[0].implicit);
  assert_false(prof->routes[1].implicit);

  assert_valid("interfaces:\n  - {name: a, type: drop}\n"
               "  - {name: b, type: reject}\n"
               "routes:\n  - {cidr: '::/0', to: a}\n"
               "  - {cidr: 0.0.0.0/0, to: b}\n");
  assert_int_equal(prof->n_routes, 2);
  assert_int_equal(prof->routes[0].iface, 0);
  assert_false(prof->routes[0].implicit);
}

static void test_routes_masked_and_ordered(void **state)
{
  (void)state;
  assert_valid("interfaces: [{name: d, type: direct}, {name: x, type: drop}]\n"
               "routes:\n"
               "  - cidr: 0.0.0.0/0\n    to: d\n"
               "  - cidr: 192.168.1.7\n    to: x\n"
               "  - cidr: '2001:db8::/32'\n    to: x\n");
  assert_int_equal(prof->n_routes, 4);
  assert_prefix(&prof->routes[1].cidr, "192.168.1.7/32");
  assert_int_equal(prof->routes[1].mark.line, 5);
  assert_int_equal(prof->routes[1].mark.column, 5);
  assert_prefix(&prof->routes[2].cidr, "2001:db8::/32");
  assert_true(prof->routes[3].implicit);
  assert_int_equal(prof->ifaces[1].mark.line, 1);
}

static void assert_hoststack_defaults(const mf_hoststack_cfg_t *hs)
{
  assert_int_equal(hs->max_sessions, 16384);
  assert_int_equal(hs->tcp_rx_buffer, 1048576);
  assert_int_equal(hs->tcp_tx_buffer, 1048576);
  assert_int_equal(hs->tcp_memory, 268435456);
  assert_int_equal(hs->tcp_connect_timeout_s, 10);
  assert_int_equal(hs->tcp_idle_timeout_s, 7200);
  assert_int_equal(hs->udp_idle_timeout_s, 60);
  assert_int_equal(hs->icmp_idle_timeout_s, 30);
}

static void test_hoststack_defaults(void **state)
{
  (void)state;
  const char *text = mf_profile_default_text();
  assert_valid(text);
  assert_hoststack_defaults(&prof->hoststack);
  assert_int_equal(prof->hoststack.mark.line, 0);
  assert_int_equal(prof->debug.tun_drop_ppm, 0);
  assert_valid(TAIL);
  assert_hoststack_defaults(&prof->hoststack);
  assert_int_equal(prof->debug.tun_drop_ppm, 0);
  /* Sections with nothing under them mean the same. */
  assert_valid(TAIL "hoststack:\ndebug:\n");
  assert_hoststack_defaults(&prof->hoststack);
  assert_int_equal(prof->hoststack.mark.line, 3);
  assert_int_equal(prof->hoststack.mark.column, 1);
  assert_valid(TAIL "hoststack: {}\ndebug: {}\n");
  assert_hoststack_defaults(&prof->hoststack);
  assert_int_equal(prof->debug.tun_drop_ppm, 0);
  /* A failed load still leaves the defaults in place. */
  assert_int_equal(load("hoststack: {max_sessions: 1}\n" TAIL), -1);
  assert_hoststack_defaults(&prof->hoststack);
}

static void test_hoststack_all_keys(void **state)
{
  (void)state;
  assert_valid(TAIL "hoststack:\n"
                    "  max_sessions: 65536\n"
                    "  tcp_rx_buffer: 1MiB\n"
                    "  tcp_tx_buffer: 4096\n"
                    "  tcp_memory: 2 GiB\n"
                    "  tcp_connect_timeout: 300\n"
                    "  tcp_idle_timeout: 0\n"
                    "  udp_idle_timeout: 86400\n"
                    "  icmp_idle_timeout: 1\n"
                    "debug:\n"
                    "  tun_drop: 0.01\n");
  const mf_hoststack_cfg_t *hs = &prof->hoststack;
  assert_int_equal(hs->max_sessions, 65536);
  assert_int_equal(hs->tcp_rx_buffer, 1048576);
  assert_int_equal(hs->tcp_tx_buffer, 4096);
  assert_int_equal(hs->tcp_memory, 2147483648ull);
  assert_int_equal(hs->tcp_connect_timeout_s, 300);
  assert_int_equal(hs->tcp_idle_timeout_s, 0);
  assert_int_equal(hs->udp_idle_timeout_s, 86400);
  assert_int_equal(hs->icmp_idle_timeout_s, 1);
  assert_int_equal(hs->mark.line, 3);
  assert_int_equal(prof->debug.tun_drop_ppm, 10000);

  /* Every suffix, the limits, and tcp_memory exactly the two rings. */
  static const struct {
    const char *yaml;
    uint32_t rx, tx;
    uint64_t memory;
  } sizes[] = {
      {"{tcp_rx_buffer: 4KiB, tcp_tx_buffer: 4 KiB, tcp_memory: 8KiB}", 4096,
       4096, 8192},
      {"{tcp_rx_buffer: 16MiB, tcp_tx_buffer: 16777216, tcp_memory: 32MiB}",
       16777216, 16777216, 33554432},
      {"{tcp_memory: 64GiB}", 1048576, 1048576, 68719476736ull},
      {"{tcp_memory: 2097152}", 1048576, 1048576, 2097152},
      {"{tcp_rx_buffer: 0008KiB, tcp_memory: 2 MiB}", 8192, 1048576, 2097152},
  };
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    char yaml[256];
    snprintf(yaml, sizeof(yaml), TAIL "hoststack: %s\n", sizes[k].yaml);
    assert_valid(yaml);
    assert_int_equal(prof->hoststack.tcp_rx_buffer, sizes[k].rx);
    assert_int_equal(prof->hoststack.tcp_tx_buffer, sizes[k].tx);
    assert_int_equal(prof->hoststack.tcp_memory, sizes[k].memory);
  }

  /* Fractions as parts per million. */
  static const struct {
    const char *text;
    uint32_t ppm;
  } drops[] = {{"0", 0},          {"1", 1000000},      {"1.0", 1000000},
               {"1.", 1000000},   {".5", 500000},      {"0.05", 50000},
               {"0.000001", 1},   {"0.0100000", 10000}, {"0.123456", 123456},
               {"00.25", 250000}, {"1.000000000", 1000000}};
  for (size_t k = 0; k < sizeof(drops) / sizeof(drops[0]); k++) {
    char yaml[256];
    snprintf(yaml, sizeof(yaml), TAIL "debug: {tun_drop: %s}\n",
             drops[k].text);
    assert_valid(yaml);
    assert_int_equal(prof->debug.tun_drop_ppm, drops[k].ppm);
  }
}

/* Every mistake in the section is reported, each once: a bad ring size
 * does not also blame tcp_memory. */
static void test_hoststack_multiple_errors(void **state)
{
  (void)state;
  char *out = NULL;
  size_t out_len = 0;
  memset(&diag, 0, sizeof(diag));
  diag.out = open_memstream(&out, &out_len);
  assert_non_null(diag.out);
  static const char yaml[] = "hoststack:\n"
                             "  tcp_rx_buffer: 5000\n"
                             "  tcp_memory: 8KiB\n"
                             "  udp_idle_timeout: 0\n"
                             "  colour: blue\n"
                             "debug: {tun_drop: 7}\n" TAIL;
  assert_int_equal(
      mf_profile_load_string(yaml, strlen(yaml), "t.yaml", prof, &diag), -1);
  fclose(diag.out);
  diag.out = NULL;
  assert_string_equal(out,
                      "t.yaml:2:18: tcp_rx_buffer: 5000 is not a power of "
                      "two (4KiB or 8KiB would do)\n"
                      "t.yaml:4:21: udp_idle_timeout: 0 is out of range "
                      "(1..86400)\n"
                      "t.yaml:5:3: unknown key 'colour' in hoststack\n"
                      "t.yaml:6:19: tun_drop: 7 is out of range (0..1)\n");
  assert_int_equal(diag.n_errors, 4);
  free(out);
}

/* The dump leaves out default sections, so the default profile's dump is
 * unchanged; other values print so that they load back the same. */
static void test_hoststack_dump(void **state)
{
  (void)state;
  static mf_profile_t again;
  char *out = NULL;
  size_t out_len = 0;
  assert_valid(mf_profile_default_text());
  FILE *f = open_memstream(&out, &out_len);
  mf_profile_dump(prof, f);
  fclose(f);
  assert_null(strstr(out, "hoststack"));
  assert_null(strstr(out, "debug"));
  free(out);

  assert_valid(TAIL "hoststack:\n"
                    "  max_sessions: 100\n"
                    "  tcp_rx_buffer: 2097152\n"
                    "  tcp_memory: 10000000\n"
                    "  tcp_idle_timeout: 0\n"
                    "debug: {tun_drop: 0.05}\n");
  f = open_memstream(&out, &out_len);
  mf_profile_dump(prof, f);
  fclose(f);
  assert_non_null(strstr(out, "hoststack:\n"
                              "  max_sessions: 100\n"
                              "  tcp_rx_buffer: 2MiB\n"
                              "  tcp_tx_buffer: 1MiB\n"
                              "  tcp_memory: 10000000\n"
                              "  tcp_connect_timeout: 10\n"
                              "  tcp_idle_timeout: 0  # never\n"
                              "  udp_idle_timeout: 60\n"
                              "  icmp_idle_timeout: 30\n"
                              "debug:\n"
                              "  tun_drop: 0.05  # 50000 per million each "
                              "way\n"));
  memset(&diag, 0, sizeof(diag));
  int rc = mf_profile_load_string(out, out_len, "dump", &again, &diag);
  if (rc != 0)
    print_error("%s\n%s\n", diag.first, out);
  assert_int_equal(rc, 0);
  again.hoststack.mark = prof->hoststack.mark;
  assert_memory_equal(&again.hoststack, &prof->hoststack,
                      sizeof(prof->hoststack));
  assert_int_equal(again.debug.tun_drop_ppm, 50000);
  free(out);

  /* Odd sizes and fractions survive the trip too. */
  static const struct {
    const char *yaml;
  } odd[] = {{"hoststack: {tcp_memory: 1GiB}\ndebug: {tun_drop: 1}\n"},
             {"hoststack: {tcp_memory: 2097153}\ndebug: {tun_drop: "
              "0.000001}\n"},
             {"hoststack: {tcp_memory: 3072KiB}\ndebug: {tun_drop: "
              "0.999999}\n"}};
  for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
    char yaml[256];
    snprintf(yaml, sizeof(yaml), TAIL "%s", odd[k].yaml);
    assert_valid(yaml);
    f = open_memstream(&out, &out_len);
    mf_profile_dump(prof, f);
    fclose(f);
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(mf_profile_load_string(out, out_len, "dump", &again,
                                            &diag),
                     0);
    assert_int_equal(again.hoststack.tcp_memory, prof->hoststack.tcp_memory);
    assert_int_equal(again.debug.tun_drop_ppm, prof->debug.tun_drop_ppm);
    free(out);
  }
}

typedef struct {
  const char *yaml;
  const char *first;
} error_case_t;

static const error_case_t error_cases[] = {
    /* The document as a whole. */
    {"", "t.yaml:1:1: the profile is empty; expected a mapping with tun, "
         "interfaces and routes"},
    {"# nothing but a comment\n\n",
     "t.yaml:1:1: the profile is empty; expected a mapping with tun, "
     "interfaces and routes"},
    {"just words\n",
     "t.yaml:1:1: expected a mapping with tun, interfaces and routes at the "
     "top level, got 'just words'"},
    {"- tun\n- routes\n",
     "t.yaml:1:1: expected a mapping with tun, interfaces and routes at the "
     "top level, got a list"},
    {"tun: {}\nrouting: []\n" TAIL,
     "t.yaml:2:1: unknown key 'routing' at the top level"},
    {TAIL "tun: {}\ntun: {}\n",
     "t.yaml:4:1: duplicate key 'tun' at the top level (first at 3:1)"},
    {"a: 1\n---\nb: 2\n",
     "t.yaml:2:1: a profile is one YAML document; found a second one"},
    {"tun: [1, 2\n" TAIL, "t.yaml:3:1: YAML: wrongly indented flow sequence"},
    {"tun:\n  name: \"mf0\n",
     "t.yaml:2:10: YAML: double-quoted scalar without closing quote"},
    {"tun: {name: a}\nroutes: \xff\xfe\n",
     "t.yaml:2:9: invalid UTF-8 in the profile (byte 0xff)"},
    {"tun: &t {name: a}\nroutes: *t\n",
     "t.yaml:2:10: YAML aliases are not supported in profiles"},
    /* A long quoted scalar, then a syntax error: libfyaml 0.7.12 leaks the
     * scalar's cached text here unless it is read through an iterator. */
    {"''''''''''''''''''''''''''''''''''''''''''''''''''''''''''''"
     "''''''''''''''''''''''\n{\n",
     "t.yaml:2:1: YAML: missing document start"},
    {"*root\n", "t.yaml:1:2: YAML aliases are not supported in profiles"},
    {"tun: !!map {name: a}\n" TAIL,
     "t.yaml:1:6: YAML tags are not supported in profiles"},
    {"tun: {a: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: "
     "{p: 1}}}}}}}}}}}}}}}}\n",
     "t.yaml:1:66: nesting deeper than 16 levels"},
    {"? [a, b]\n: 1\n" TAIL, "t.yaml:1:3: keys at the top level must be "
                             "strings"},
    /* tun */
    {"tun:\n  foo: 1\n" TAIL, "t.yaml:2:3: unknown key 'foo' in tun"},
    {"tun: [mf0]\n" TAIL, "t.yaml:1:6: tun: expected a mapping, got a list"},
    {"tun:\n  mtu: 1400\n  mtu: 1400\n" TAIL,
     "t.yaml:3:3: duplicate key 'mtu' in tun (first at 2:3)"},
    {"tun: {auto_route: yes}\n" TAIL,
     "t.yaml:1:19: auto_route: expected a boolean (true or false), got "
     "'yes'"},
    {"tun: {exclude_lan: \"true\"}\n" TAIL,
     "t.yaml:1:21: exclude_lan: expected a boolean (true or false), got "
     "'true'"},
    {"tun: {mtu: big}\n" TAIL,
     "t.yaml:1:12: mtu: expected an integer, got 'big'"},
    {"tun: {mtu: '1500'}\n" TAIL,
     "t.yaml:1:13: mtu: expected an integer, got '1500'"},
    {"tun: {mtu: -1}\n" TAIL, "t.yaml:1:12: mtu: expected an integer, got "
                              "'-1'"},
    {"tun: {mtu: }\n" TAIL, "t.yaml:1:7: mtu: expected an integer, got "
                            "nothing"},
    {"tun: {mtu: 575}\n" TAIL,
     "t.yaml:1:12: mtu: 575 is out of range (576..2048)"},
    {"tun: {mtu: 2049}\n" TAIL,
     "t.yaml:1:12: mtu: 2049 is out of range (576..2048)"},
    {"tun: {mtu: 99999999999999999999}\n" TAIL,
     "t.yaml:1:12: mtu: 99999999999999999999 is out of range (576..2048)"},
    {"tun: {mtu: 1000}\n" TAIL,
     "t.yaml:1:12: mtu: 1000 is below 1280, the IPv6 minimum (RFC 8200 "
     "section 5); raise it or drop the IPv6 address"},
    {"tun: {name: ''}\n" TAIL,
     "t.yaml:1:14: name: '' is not a valid device name (1..15 characters "
     "of A-Z a-z 0-9 _ . -)"},
    {"tun: {name: abcdefghijklmnop}\n" TAIL,
     "t.yaml:1:13: name: 'abcdefghijklmnop' is not a valid device name "
     "(1..15 characters of A-Z a-z 0-9 _ . -)"},
    {"tun: {name: 'a b'}\n" TAIL,
     "t.yaml:1:14: name: 'a b' is not a valid device name (1..15 "
     "characters of A-Z a-z 0-9 _ . -)"},
    {"tun: {name: ..}\n" TAIL,
     "t.yaml:1:13: name: '..' is not a valid device name (1..15 characters "
     "of A-Z a-z 0-9 _ . -)"},
    {"tun: {name: [a]}\n" TAIL,
     "t.yaml:1:13: name: expected a string, got a list"},
    {"tun: {addresses: 10.0.0.1/24}\n" TAIL,
     "t.yaml:1:18: addresses: expected a list, got '10.0.0.1/24'"},
    {"tun: {addresses: []}\n" TAIL,
     "t.yaml:1:18: addresses: the tun needs at least one address"},
    {"tun: {addresses: [10.0.0.1/24, 10.0.1.1/24]}\n" TAIL,
     "t.yaml:1:32: addresses: only one IPv4 address is allowed (first at "
     "1:19)"},
    {"tun: {addresses: [10.0.0.1/24, 'fd00::1/64', 'fd01::1/64', "
     "10.0.1.1/24, 10.0.2.1/24]}\n" TAIL,
     "t.yaml:1:47: addresses: only one IPv6 address is allowed (first at "
     "1:33)"},
    {"tun: {addresses: [a, b, c, d, e]}\n" TAIL,
     "t.yaml:1:19: addresses: 'a' is not an IP prefix: not an IP address"},
    {"tun: {addresses: [10.0.0.1/33]}\n" TAIL,
     "t.yaml:1:19: addresses: '10.0.0.1/33' is not an IP prefix: prefix "
     "length must be 0..32"},
    {"tun: {addresses: [10.0.0.0/24]}\n" TAIL,
     "t.yaml:1:19: addresses: 10.0.0.0/24 is the network address of its "
     "prefix; give a host address"},
    {"tun: {addresses: [10.0.0.255/24]}\n" TAIL,
     "t.yaml:1:19: addresses: 10.0.0.255/24 is the broadcast address of its "
     "prefix; give a host address"},
    {"tun: {stack_addresses: [172.19.0.2/30]}\n" TAIL,
     "t.yaml:1:25: stack_addresses: give a bare address, without /LEN (the "
     "tun address's prefix length applies)"},
    {"tun: {stack_addresses: [172.19.0.5, 'fdfe:dcba:9876::2']}\n" TAIL,
     "t.yaml:1:25: stack_addresses: 172.19.0.5 is outside 172.19.0.1/30, "
     "the tun's IPv4 prefix"},
    {"tun: {stack_addresses: [172.19.0.1]}\n" TAIL,
     "t.yaml:1:25: stack_addresses: 172.19.0.1 is the tun's own address; "
     "the stack needs another one"},
    {"tun: {stack_addresses: [172.19.0.3]}\n" TAIL,
     "t.yaml:1:25: stack_addresses: 172.19.0.3 is the broadcast address of "
     "172.19.0.1/30"},
    {"tun: {stack_addresses: [172.19.0.0]}\n" TAIL,
     "t.yaml:1:25: stack_addresses: 172.19.0.0 is the network address of "
     "172.19.0.1/30"},
    {"tun: {addresses: [10.0.0.1/24], stack_addresses: ['fd00::2']}\n" TAIL,
     "t.yaml:1:52: stack_addresses: fd00::2 has no IPv6 tun address to go "
     "with"},
    {"tun: {stack_addresses: [172.19.0.2]}\n" TAIL,
     "t.yaml:1:7: stack_addresses: none given for the tun address "
     "fdfe:dcba:9876::1/126"},
    {"tun:\n  addresses: [10.0.0.1/24]\n"
     "  stack_addresses: [10.0.0.2, 10.0.0.3]\n" TAIL,
     "t.yaml:3:31: stack_addresses: only one IPv4 address is allowed"},
    {"tun: {route_table: 0}\n" TAIL,
     "t.yaml:1:20: route_table: 0 is out of range (1..4294967280)"},
    {"tun: {route_table: 0xfffffff1}\n" TAIL,
     "t.yaml:1:20: route_table: 0xfffffff1 is out of range (1..4294967280)"},
    {"tun: {route_table: 254}\n" TAIL,
     "t.yaml:1:20: route_table: 254 is the kernel's own table (253 default, "
     "254 main, 255 local)"},
    {"tun: {fwmark: 0}\n" TAIL,
     "t.yaml:1:15: fwmark: 0 is out of range (1..4294967295)"},
    {"tun: {fwmark: 0x}\n" TAIL,
     "t.yaml:1:15: fwmark: expected an integer, got '0x'"},
    {"tun: {fwmark: 0x1_0}\n" TAIL,
     "t.yaml:1:15: fwmark: expected an integer, got '0x1_0'"},
    {"tun: {rule_priority: 32001}\n" TAIL,
     "t.yaml:1:22: rule_priority: 32001 is out of range (1..32000)"},
    /* interfaces */
    {"interfaces: {d: direct}\n",
     "t.yaml:1:1: routes: 0.0.0.0/0 is required (the default route)"},
    {"interfaces: {name: d, type: direct}\nroutes: []\n",
     "t.yaml:1:13: interfaces: expected a list, got a mapping"},
    {"interfaces: [direct]\nroutes: []\n",
     "t.yaml:1:14: interfaces: expected a mapping, got 'direct'"},
    {"interfaces: [{name: d, type: wireguard}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:14: interface: type wireguard needs 'private_key' or "
     "'private_key_file'"},
    {"interfaces: [{name: d, type: vpn}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:30: type: unknown interface type 'vpn' (known: "
     "reject, drop, direct, wireguard)"},
    {"interfaces: [{name: d}]\nroutes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:14: interface: 'type' is required"},
    {"interfaces: [{type: drop}]\nroutes: []\n",
     "t.yaml:1:14: interface: 'name' is required"},
    {"interfaces: [{name: d, type: drop, via: x}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:36: unknown key 'via' in interface"},
    {"interfaces:\n  - {name: d, type: drop}\n  - {name: d, type: direct}\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:3:12: duplicate interface name 'd' (first at 2:5)"},
    {"interfaces: [{name: local, type: drop}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: local}]\n",
     "t.yaml:1:21: name: 'local' is reserved for the stack's own interface"},
    {"interfaces: [{name: mf0, type: drop}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: mf0}]\n",
     "t.yaml:1:21: name: 'mf0' is reserved: it is the tun device's name"},
    {"interfaces: [{name: utun, type: drop}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: utun}]\ntun: {name: utun}\n",
     "t.yaml:1:21: name: 'utun' is reserved: it is the tun device's name"},
    {"interfaces: [{name: a/b, type: drop}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: a/b}]\n",
     "t.yaml:1:21: name: 'a/b' is not a valid interface name (1..31 "
     "characters of A-Z a-z 0-9 _ . -)"},
    {"interfaces: [{name: abcdefghijklmnopqrstuvwxyz012345, type: drop}]\n"
     "routes: []\n",
     "t.yaml:1:21: name: 'abcdefghijklmnopqrstuvwxyz012345' is not a valid "
     "interface name (1..31 characters of A-Z a-z 0-9 _ . -)"},
    /* routes */
    {"interfaces: [{name: d, type: direct}]\n",
     "t.yaml:1:1: routes: 0.0.0.0/0 is required (the default route)"},
    {"interfaces: [{name: d, type: direct}]\nroutes:\n",
     "t.yaml:2:1: routes: 0.0.0.0/0 is required (the default route)"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - {cidr: '::/0', to: d}\n",
     "t.yaml:2:1: routes: 0.0.0.0/0 is required (the default route)"},
    {"interfaces: [{name: d, type: direct}]\nroutes: {cidr: 0.0.0.0/0}\n",
     "t.yaml:2:9: routes: expected a list, got a mapping"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}, 0.0.0.0/0]\n",
     "t.yaml:2:36: routes: expected a mapping, got '0.0.0.0/0'"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - cidr: 0.0.0.0/0\n    to: d\n"
     "  - cidr: 10.0.0.1/8\n    to: d\n",
     "t.yaml:5:11: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - cidr: 0.0.0.0/0\n    to: d\n"
     "  - cidr: '2001:db8::1/32'\n    to: d\n",
     "t.yaml:5:12: 2001:db8::1/32 has host bits set; did you mean "
     "2001:db8::/32?"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - cidr: 0.0.0.0/0\n    to: x\n",
     "t.yaml:4:9: no interface named 'x'"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - cidr: 0.0.0.0/0\n    to: d\n"
     "  - cidr: 0.0.0.0/0\n    to: d\n",
     "t.yaml:5:11: duplicate route 0.0.0.0/0 (first at 3:5)"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - cidr: 0.0.0.0/0\n",
     "t.yaml:3:5: route: 'to' is required"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - to: d\n",
     "t.yaml:3:5: route: one of 'cidr', 'cidr_set', 'domain_set' or "
     "'dns_fallback' is required"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - {cidr: 0.0.0.0/0, to: d, via: x}\n",
     "t.yaml:3:30: unknown key 'via' in route"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n  - {cidr: example.com, to: d}\n",
     "t.yaml:4:12: cidr: 'example.com' is not an IP prefix: not an IP "
     "address"},    /* hoststack */
    {"hoststack: [1]\n" TAIL,
     "t.yaml:1:12: hoststack: expected a mapping, got a list"},
    {"hoststack: 16384\n" TAIL,
     "t.yaml:1:12: hoststack: expected a mapping, got '16384'"},
    {"hoststack: {sessions: 5}\n" TAIL,
     "t.yaml:1:13: unknown key 'sessions' in hoststack"},
    {"hoststack: {}\n" TAIL "hoststack: {}\n",
     "t.yaml:4:1: duplicate key 'hoststack' at the top level (first at 1:1)"},
    {"hoststack:\n  max_sessions: 16\n  max_sessions: 16\n" TAIL,
     "t.yaml:3:3: duplicate key 'max_sessions' in hoststack (first at 2:3)"},
    {"hoststack: {max_sessions: 15}\n" TAIL,
     "t.yaml:1:27: max_sessions: 15 is out of range (16..65536)"},
    {"hoststack: {max_sessions: 65537}\n" TAIL,
     "t.yaml:1:27: max_sessions: 65537 is out of range (16..65536)"},
    {"hoststack: {max_sessions: 16k}\n" TAIL,
     "t.yaml:1:27: max_sessions: expected an integer, got '16k'"},
    {"hoststack:\n  tcp_rx_buffer: 256KB\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '256KB'"},
    {"hoststack:\n  tcp_rx_buffer: '256KiB'\n" TAIL,
     "t.yaml:2:19: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '256KiB'"},
    {"hoststack:\n  tcp_rx_buffer: 1.5MiB\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '1.5MiB'"},
    {"hoststack:\n  tcp_rx_buffer: 256  KiB\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '256  KiB'"},
    {"hoststack:\n  tcp_rx_buffer: KiB\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got 'KiB'"},
    {"hoststack:\n  tcp_rx_buffer: -4096\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '-4096'"},
    {"hoststack:\n  tcp_rx_buffer: 0x1000\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got '0x1000'"},
    {"hoststack:\n  tcp_tx_buffer:\n" TAIL,
     "t.yaml:2:3: tcp_tx_buffer: expected a size (bytes, or a number with "
     "KiB, MiB or GiB), got nothing"},
    {"hoststack:\n  tcp_rx_buffer: 2048\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: 2048 is out of range (4KiB..16MiB)"},
    {"hoststack:\n  tcp_tx_buffer: 32MiB\n" TAIL,
     "t.yaml:2:18: tcp_tx_buffer: 32MiB is out of range (4KiB..16MiB)"},
    {"hoststack:\n  tcp_tx_buffer: 99999999999999999999999GiB\n" TAIL,
     "t.yaml:2:18: tcp_tx_buffer: 99999999999999999999999GiB is out of range "
     "(4KiB..16MiB)"},
    {"hoststack:\n  tcp_rx_buffer: 300000\n" TAIL,
     "t.yaml:2:18: tcp_rx_buffer: 300000 is not a power of two (256KiB or "
     "512KiB would do)"},
    {"hoststack:\n  tcp_tx_buffer: 12 KiB\n" TAIL,
     "t.yaml:2:18: tcp_tx_buffer: 12 KiB is not a power of two (8KiB or "
     "16KiB would do)"},
    {"hoststack:\n  tcp_memory: 4KiB\n" TAIL,
     "t.yaml:2:15: tcp_memory: 4KiB is out of range (8KiB..64GiB)"},
    {"hoststack:\n  tcp_memory: 65GiB\n" TAIL,
     "t.yaml:2:15: tcp_memory: 65GiB is out of range (8KiB..64GiB)"},
    {"hoststack:\n  tcp_memory: 1MiB\n" TAIL,
     "t.yaml:2:15: tcp_memory: 1MiB is less than tcp_rx_buffer + "
     "tcp_tx_buffer (2MiB)"},
    {"hoststack:\n  tcp_memory: 1MiB\n  tcp_rx_buffer: 1MiB\n  tcp_tx_buffer: 256KiB\n" TAIL,
     "t.yaml:2:15: tcp_memory: 1MiB is less than tcp_rx_buffer + "
     "tcp_tx_buffer (1280KiB)"},
    {"hoststack: {tcp_connect_timeout: 0}\n" TAIL,
     "t.yaml:1:34: tcp_connect_timeout: 0 is out of range (1..300)"},
    {"hoststack: {tcp_connect_timeout: 301}\n" TAIL,
     "t.yaml:1:34: tcp_connect_timeout: 301 is out of range (1..300)"},
    {"hoststack: {tcp_idle_timeout: 604801}\n" TAIL,
     "t.yaml:1:31: tcp_idle_timeout: 604801 is out of range (0..604800)"},
    {"hoststack: {tcp_idle_timeout: never}\n" TAIL,
     "t.yaml:1:31: tcp_idle_timeout: expected an integer, got 'never'"},
    {"hoststack: {udp_idle_timeout: 0}\n" TAIL,
     "t.yaml:1:31: udp_idle_timeout: 0 is out of range (1..86400)"},
    {"hoststack: {icmp_idle_timeout: 86401}\n" TAIL,
     "t.yaml:1:32: icmp_idle_timeout: 86401 is out of range (1..86400)"},
    /* debug */
    {"debug: [tun_drop]\n" TAIL,
     "t.yaml:1:8: debug: expected a mapping, got a list"},
    {"debug: {loss: 0.1}\n" TAIL, "t.yaml:1:9: unknown key 'loss' in debug"},
    {"debug: {tun_drop: 2}\n" TAIL,
     "t.yaml:1:19: tun_drop: 2 is out of range (0..1)"},
    {"debug: {tun_drop: 1.000001}\n" TAIL,
     "t.yaml:1:19: tun_drop: 1.000001 is out of range (0..1)"},
    {"debug: {tun_drop: 0.0000001}\n" TAIL,
     "t.yaml:1:19: tun_drop: 0.0000001 is finer than one in a million (at "
     "most 6 decimals)"},
    {"debug: {tun_drop: 1%}\n" TAIL,
     "t.yaml:1:19: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got '1%'"},
    {"debug: {tun_drop: '0.01'}\n" TAIL,
     "t.yaml:1:20: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got '0.01'"},
    {"debug: {tun_drop: -0.1}\n" TAIL,
     "t.yaml:1:19: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got '-0.1'"},
    {"debug: {tun_drop: 1e-2}\n" TAIL,
     "t.yaml:1:19: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got '1e-2'"},
    {"debug: {tun_drop: .}\n" TAIL,
     "t.yaml:1:19: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got '.'"},
    {"debug:\n  tun_drop:\n" TAIL,
     "t.yaml:2:3: tun_drop: expected a fraction from 0 to 1, such as 0.01, "
     "got nothing"},
};

static void test_error_messages(void **state)
{
  (void)state;
  size_t failed = 0;
  for (size_t k = 0; k < sizeof(error_cases) / sizeof(error_cases[0]); k++) {
    const error_case_t *c = &error_cases[k];
    int rc = load(c->yaml);
    if (rc != -1 || diag.n_errors < 1 || strcmp(diag.first, c->first) != 0) {
      print_error("case %zu:\n  yaml: %s\n  want: %s\n  got:  %s (rc %d)\n", k,
                  c->yaml, c->first, diag.first, rc);
      failed++;
    }
  }
  assert_int_equal(failed, 0);
}

static void test_binary_input(void **state)
{
  (void)state;
  static const char nul[] = "tun: {name: a}\nroutes: x\0y\n";
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(
      mf_profile_load_string(nul, sizeof(nul) - 1, "t.yaml", prof, &diag), -1);
  assert_string_equal(diag.first, "t.yaml:2:10: NUL byte in the profile (is "
                                  "this a text file?)");
  /* Deterministic garbage: a bounded LCG, every byte value possible. */
  char junk[4096];
  uint32_t x = 12345;
  for (int round = 0; round < 64; round++) {
    for (size_t k = 0; k < sizeof(junk); k++) {
      x = x * 1103515245u + 12345u;
      junk[k] = (char)(x >> 16);
    }
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(
        mf_profile_load_string(junk, sizeof(junk), "junk", prof, &diag), -1);
    assert_true(diag.n_errors >= 1);
    assert_memory_equal(diag.first, "junk:", 5);
  }
  /* NULL text is an empty profile, and diag may be NULL. */
  assert_int_equal(mf_profile_load_string(NULL, 0, NULL, prof, NULL), -1);
  assert_string_equal(prof->source, "<string>");
}

/* Three mistakes in three sections: all counted, printed in file order. */
static void test_multiple_errors(void **state)
{
  (void)state;
  char *out = NULL;
  size_t out_len = 0;
  memset(&diag, 0, sizeof(diag));
  diag.out = open_memstream(&out, &out_len);
  assert_non_null(diag.out);
  static const char yaml[] = "routes:\n  - {cidr: 0.0.0.0/0, to: nowhere}\n"
                             "tun:\n  mtu: 9000\n  colour: blue\n"
                             "interfaces:\n  - {name: d, type: teleport}\n";
  assert_int_equal(
      mf_profile_load_string(yaml, strlen(yaml), "t.yaml", prof, &diag), -1);
  fclose(diag.out);
  diag.out = NULL; /* the second load below must not write to it */
  assert_int_equal(diag.n_errors, 4);
  assert_string_equal(out,
                      "t.yaml:2:27: no interface named 'nowhere'\n"
                      "t.yaml:4:8: mtu: 9000 is out of range (576..2048)\n"
                      "t.yaml:5:3: unknown key 'colour' in tun\n"
                      "t.yaml:7:21: type: unknown interface type 'teleport' "
                      "(known: reject, drop, direct, wireguard)\n");
  assert_string_equal(diag.first, "t.yaml:2:27: no interface named 'nowhere'");
  free(out);

  /* A second load adds to the same diag; the first error stays. */
  assert_int_equal(mf_profile_load_string("x", 1, "u.yaml", prof, &diag), -1);
  assert_int_equal(diag.n_errors, 5);
  assert_string_equal(diag.first, "t.yaml:2:27: no interface named 'nowhere'");
}

static void test_many_errors_bounded(void **state)
{
  (void)state;
  enum { N_KEYS = 150 };
  char *yaml = malloc(N_KEYS * 16 + 1);
  assert_non_null(yaml);
  size_t n = 0;
  for (int k = 0; k < N_KEYS; k++)
    n += (size_t)sprintf(yaml + n, "k%d: 1\n", k);
  char *out = NULL;
  size_t out_len = 0;
  memset(&diag, 0, sizeof(diag));
  diag.out = open_memstream(&out, &out_len);
  assert_int_equal(mf_profile_load_string(yaml, n, "t.yaml", prof, &diag), -1);
  fclose(diag.out);
  /* Every unknown key, plus the missing default route, is counted. */
  assert_int_equal(diag.n_errors, N_KEYS + 1);
  assert_string_equal(diag.first, "t.yaml:1:1: unknown key 'k0' at the top "
                                  "level");
  assert_non_null(strstr(out, "t.yaml: 51 more errors not shown\n"));
  free(out);
  free(yaml);
}

/* libfyaml's own diagnostics never reach stderr. */
static void test_yaml_errors_not_printed_by_libfyaml(void **state)
{
  (void)state;
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
  static const char *const bad[] = {
      "tun: [1, 2\n",   "a: 'x\n",     "a: 1\n  b: 2\n",
      "{a: 1, a: 2}\n", "- a\nb: 1\n", "%YAML 9.9\n---\na: 1\n",
      "a: *nope\n",     "\t- a\n",
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(load(bad[k]), -1);
  }
  fflush(stderr);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  assert_int_equal(ftell(tmp), 0);
  fclose(tmp);
}

static void test_load_file(void **state)
{
  (void)state;
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_file("/nonexistent/p.yaml", prof, &diag),
                   -1);
  assert_string_equal(diag.first, "/nonexistent/p.yaml: cannot read: No such "
                                  "file or directory");
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_file("/", prof, &diag), -1);
  assert_string_equal(diag.first, "/: cannot read: Is a directory");

  char path[] = "/tmp/mf-profile-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *yaml = "tun: {mtu: 1400}\n" TAIL;
  const char *bad = "tun: 1\n" TAIL;
  assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
  close(fd);
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_file(path, prof, &diag), 0);
  assert_int_equal(prof->tun.mtu, 1400);
  assert_string_equal(prof->source, path);

  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
  close(fd);
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_file(path, prof, &diag), -1);
  char want[128];
  snprintf(want, sizeof(want), "%s:1:6: tun: expected a mapping, got '1'",
           path);
  assert_string_equal(diag.first, want);
  unlink(path);
}

/* n routes to distinct /32s under 10/8 plus the default route. */
static char *routes_profile(uint32_t n, size_t *len)
{
  size_t cap = 128 + (size_t)n * 48;
  char *y = malloc(cap);
  assert_non_null(y);
  size_t k = (size_t)snprintf(y, cap,
                              "interfaces: [{name: d, type: direct}]\n"
                              "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n");
  for (uint32_t r = 1; r < n; r++)
    k += (size_t)snprintf(y + k, cap - k, "  - {cidr: 10.%u.%u.%u/32, to: d}\n",
                          (r >> 16) & 255, (r >> 8) & 255, r & 255);
  *len = k;
  return y;
}

static void test_route_bounds(void **state)
{
  (void)state;
  size_t len;
  /* The most a profile may hold, with ::/0 spelled out. */
  char *y = routes_profile(MF_PROFILE_MAX_ROUTES - 1, &len);
  const char *v6 = "  - {cidr: '::/0', to: d}\n";
  y = realloc(y, len + strlen(v6) + 1);
  assert_non_null(y);
  strcpy(y + len, v6);
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_string(y, strlen(y), "t.yaml", prof, &diag),
                   0);
  assert_int_equal(prof->n_routes, MF_PROFILE_MAX_ROUTES);
  free(y);

  /* Full without ::/0: there is no room to imply it. */
  y = routes_profile(MF_PROFILE_MAX_ROUTES, &len);
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_string(y, len, "t.yaml", prof, &diag), -1);
  char want[96];
  snprintf(want, sizeof(want),
           "t.yaml:2:1: routes: no room for the implied ::/0 (at most %u "
           "routes)",
           MF_PROFILE_MAX_ROUTES);
  assert_string_equal(diag.first, want);
  free(y);

  /* 2,000 routes: above the bound they are refused at the first route over
   * it, with one error; within it they load. */
  y = routes_profile(2000, &len);
  memset(&diag, 0, sizeof(diag));
  int rc = mf_profile_load_string(y, len, "t.yaml", prof, &diag);
  if (2000 > MF_PROFILE_MAX_ROUTES) {
    assert_int_equal(rc, -1);
    assert_int_equal(diag.n_errors, 1);
    snprintf(want, sizeof(want), "t.yaml:%u:5: routes: at most %u routes",
             3 + MF_PROFILE_MAX_ROUTES, MF_PROFILE_MAX_ROUTES);
    assert_string_equal(diag.first, want);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(prof->n_routes, 2001); /* with the implied ::/0 */
  }
  free(y);
}

static void test_interface_bounds(void **state)
{
  (void)state;
  char y[4096];
  size_t k = (size_t)snprintf(y, sizeof(y), "interfaces:\n");
  for (int i = 0; i <= MF_PROFILE_MAX_IFACES; i++)
    k += (size_t)snprintf(y + k, sizeof(y) - k, "  - {name: i%d, type: drop}\n",
                          i);
  snprintf(y + k, sizeof(y) - k, "routes: [{cidr: 0.0.0.0/0, to: i0}]\n");
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  char want[64];
  snprintf(want, sizeof(want), "t.yaml:%u:5: interfaces: at most %u interfaces",
           2 + MF_PROFILE_MAX_IFACES, MF_PROFILE_MAX_IFACES);
  assert_string_equal(diag.first, want);
  /* Exactly the bound is fine: cut the last interface off. */
  char over[32];
  snprintf(over, sizeof(over), "  - {name: i%d,", MF_PROFILE_MAX_IFACES);
  char *last = strstr(y, over);
  assert_non_null(last);
  snprintf(last, sizeof(y) - (size_t)(last - y),
           "routes: [{cidr: 0.0.0.0/0, to: i0}]\n");
  assert_valid(y);
  assert_int_equal(prof->n_ifaces, MF_PROFILE_MAX_IFACES);
}

/* Keys made with `wg genkey | tee k | wg pubkey` and `wg genpsk`. */
#define PRIV1 "IDSNMDAcMYj4I6OkiR/c1gWVFsUgFEm/RKThOi/rXHY="
#define PUB1 "oTM86F6OpOGZagvcRPxFMlJar5z2AKlj/KCkKFpaMXk="
#define PRIV2 "CAu7JQG8zht86SFaS95IcGTG1dCPPlmQVGcD6mJmcHI="
#define PUB2 "Me8KQM11hSE7aTF+rj3lty9uVjJ/dG5RYmKFTYFbSGg="
#define PUB3 "X/SL8qRbih2UxKf/hxVK8n3kvm5zqPANgfXPSN9+WQ8="
#define PUB4 "b+SyZm7XTyT+RhpQvP6+ZXwXGEd3WQvJ1Aav62o0Z0s="
#define PSK "30i5RW3vQJ1pIHh//OyyKRnRJzFuK6+N5VKxtdZBUs4="
#define ZERO_KEY "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* A wireguard interface "wg" from line 2, its first peer from line 6;
 * WG_PEER_END closes the peer and adds the default route. */
#define WG_HEAD                                                                \
  "interfaces:\n"                                                              \
  "  - name: wg\n"                                                             \
  "    type: wireguard\n"                                                      \
  "    private_key: " PRIV1 "\n"                                               \
  "    address: [10.64.0.2/32]\n"                                              \
  "    peers:\n"                                                               \
  "      - public_key: " PUB2 "\n"
#define WG_PEER_END                                                            \
  "        allowed_ips: [0.0.0.0/0]\n"                                         \
  "routes: [{cidr: 0.0.0.0/0, to: wg}]\n"

static void assert_key(const uint8_t *key, const char *b64)
{
  uint8_t want[32];
  assert_int_equal(mf_key_text_decode(b64, strlen(b64), want), 0);
  assert_memory_equal(key, want, 32);
}

static void test_wg_full(void **state)
{
  (void)state;
  assert_valid("interfaces:\n"
               "  - {name: d, type: direct}\n"
               "  - name: wg-home\n"
               "    type: wireguard\n"
               "    private_key: \"" PRIV1 "\"\n"
               "    listen_port: 51820\n"
               "    address: [10.64.0.2/32, \"fc00:bbbb::2/128\"]\n"
               "    mtu: 1280\n"
               "    dns: [10.64.0.1, '2001:db8::53']\n"
               "    debug: |\n"
               "      [Interface]\n"
               "      PrivateKey = (hidden)\n"
               "    peers:\n"
               "      - public_key: \"" PUB2 "\"\n"
               "        preshared_key: " PSK "\n"
               "        allowed_ips: [0.0.0.0/1, 128.0.0.0/1, \"::/0\"]\n"
               "        endpoint: vpn.example.com:51820\n"
               "        persistent_keepalive: 25\n"
               "      - public_key: " PUB3 "\n"
               "        allowed_ips: [192.168.7.0/24]\n"
               "        endpoint: '[2001:db8::7]:443'\n"
               "      - public_key: " PUB4 "\n"
               "        allowed_ips: ['fd00:7::/48']\n"
               "        endpoint: 192.0.2.1:1\n"
               "routes:\n"
               "  - {cidr: 0.0.0.0/0, to: wg-home}\n"
               "  - {cidr: 192.168.0.0/16, to: d}\n");
  assert_int_equal(prof->n_ifaces, 2);
  assert_int_equal(prof->n_wg, 1);
  const mf_iface_cfg_t *c = &prof->ifaces[1];
  assert_int_equal(c->type, MF_IF_WIREGUARD);
  assert_int_equal(c->wg, 0);
  assert_int_equal(prof->routes[0].iface, 1);
  const mf_wg_cfg_t *wg = &prof->wg[0];
  assert_key(wg->private_key, PRIV1);
  assert_int_equal(wg->listen_port, 51820);
  assert_int_equal(wg->n_addresses, 2);
  assert_prefix(&wg->addresses[0], "10.64.0.2/32");
  assert_prefix(&wg->addresses[1], "fc00:bbbb::2/128");
  assert_int_equal(wg->mtu, 1280);
  assert_int_equal(wg->n_dns, 2);
  assert_prefix(&wg->dns[1], "2001:db8::53/128");
  assert_string_equal(wg->debug, "[Interface]\nPrivateKey = (hidden)\n");
  assert_int_equal(wg->n_peers, 3);
  const mf_wg_peer_cfg_t *p0 = &wg->peers[0], *p1 = &wg->peers[1];
  assert_key(p0->public_key, PUB2);
  assert_true(p0->has_preshared_key);
  assert_key(p0->preshared_key, PSK);
  assert_int_equal(p0->n_allowed_ips, 3);
  assert_prefix(&p0->allowed_ips[1], "128.0.0.0/1");
  assert_prefix(&p0->allowed_ips[2], "::/0");
  assert_string_equal(p0->endpoint, "vpn.example.com:51820");
  assert_int_equal(p0->persistent_keepalive, 25);
  assert_int_equal(p0->mark.line, 14);
  assert_int_equal(p0->mark.column, 9);
  assert_key(p1->public_key, PUB3);
  assert_false(p1->has_preshared_key);
  assert_string_equal(p1->endpoint, "[2001:db8::7]:443");
  assert_int_equal(p1->persistent_keepalive, 0);
  assert_string_equal(wg->peers[2].endpoint, "192.0.2.1:1");
}

static void test_wg_defaults_and_several(void **state)
{
  (void)state;
  assert_valid(WG_HEAD WG_PEER_END);
  const mf_wg_cfg_t *wg = &prof->wg[0];
  assert_int_equal(wg->mtu, 1420);
  assert_int_equal(wg->listen_port, 0);
  assert_int_equal(wg->n_dns, 0);
  assert_string_equal(wg->debug, "");
  assert_string_equal(wg->peers[0].endpoint, "");
  assert_false(wg->peers[0].has_preshared_key);
  /* Two wireguard interfaces: each its own slot; the same prefix may be
   * in both, as each interface routes on its own. */
  assert_valid("interfaces:\n"
               "  - {name: a, type: drop}\n"
               "  - {name: w1, type: wireguard, private_key: " PRIV1 ",\n"
               "     address: [10.1.0.2/24], peers: [{public_key: " PUB2 ",\n"
               "     allowed_ips: [0.0.0.0/0]}]}\n"
               "  - {name: w2, type: wireguard, private_key: " PRIV2 ",\n"
               "     address: [10.2.0.2/24], peers: [{public_key: " PUB1 ",\n"
               "     allowed_ips: [0.0.0.0/0]}]}\n"
               "routes: [{cidr: 0.0.0.0/0, to: w2}]\n");
  assert_int_equal(prof->n_wg, 2);
  assert_int_equal(prof->ifaces[1].wg, 0);
  assert_int_equal(prof->ifaces[2].wg, 1);
  assert_key(prof->wg[1].private_key, PRIV2);
  assert_int_equal(prof->routes[0].iface, 2);
}

/* Writes text to a new file of that mode; the path goes to path. */
static void make_file(char *path, const char *text, mode_t mode)
{
  strcpy(path, "/tmp/mf-key-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static int load_with_files(const char *priv_path, const char *psk_path)
{
  char y[1024];
  snprintf(y, sizeof(y),
           "interfaces:\n"
           "  - name: wg\n"
           "    type: wireguard\n"
           "    private_key_file: %s\n"
           "    address: [10.64.0.2/32]\n"
           "    peers:\n"
           "      - public_key: " PUB2 "\n"
           "        preshared_key_file: %s\n" WG_PEER_END,
           priv_path, psk_path);
  return load(y);
}

static void test_wg_key_files(void **state)
{
  (void)state;
  char priv[32], psk[32], open_priv[32], big[32], bad[32], want[256];
  make_file(priv, PRIV1 "\n", 0600);
  make_file(psk, PSK, 0400); /* no newline at the end is fine too */
  make_file(open_priv, PRIV1 "\n", 0644);
  char large[1100];
  memset(large, 'A', sizeof(large) - 1);
  large[sizeof(large) - 1] = 0;
  make_file(big, large, 0600);
  make_file(bad, PRIV1 "\n\n", 0600); /* only one newline is trimmed */

  assert_int_equal(load_with_files(priv, psk), 0);
  assert_key(prof->wg[0].private_key, PRIV1);
  assert_true(prof->wg[0].peers[0].has_preshared_key);
  assert_key(prof->wg[0].peers[0].preshared_key, PSK);

  assert_int_equal(load_with_files(open_priv, psk), -1);
  snprintf(want, sizeof(want),
           "t.yaml:4:23: %s: key file must not be accessible by group or "
           "others (chmod 600)",
           open_priv);
  assert_string_equal(diag.first, want);
  assert_int_equal(diag.n_errors, 1);

  assert_int_equal(load_with_files(priv, open_priv), -1);
  snprintf(want, sizeof(want),
           "t.yaml:8:29: %s: key file must not be accessible by group or "
           "others (chmod 600)",
           open_priv);
  assert_string_equal(diag.first, want);

  assert_int_equal(load_with_files(big, psk), -1);
  snprintf(want, sizeof(want),
           "t.yaml:4:23: %s: key file is larger than 1024 bytes", big);
  assert_string_equal(diag.first, want);

  assert_int_equal(load_with_files(bad, psk), -1);
  snprintf(want, sizeof(want),
           "t.yaml:4:23: %s: not a valid base64 32-byte key", bad);
  assert_string_equal(diag.first, want);

  assert_int_equal(load_with_files("/tmp", psk), -1);
  assert_string_equal(diag.first,
                      "t.yaml:4:23: /tmp: key file is not a regular file");
  assert_int_equal(load_with_files("/nonexistent/k", psk), -1);
  assert_string_equal(diag.first, "t.yaml:4:23: /nonexistent/k: cannot open "
                                  "key file: No such file or directory");
  assert_int_equal(load_with_files("k.key", psk), -1);
  assert_string_equal(diag.first, "t.yaml:4:23: private_key_file: 'k.key' is "
                                  "not an absolute path");
  unlink(priv);
  unlink(psk);
  unlink(open_priv);
  unlink(big);
  unlink(bad);
}

static const error_case_t wg_error_cases[] = {
    {"interfaces: [{name: d, type: direct, private_key: " PRIV1 "}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:38: key 'private_key' is only for type wireguard"},
    {"interfaces: [{name: d, type: drop, peers: []}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: d}]\n",
     "t.yaml:1:36: key 'peers' is only for type wireguard"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n"
     "    peers: [{public_key: " PUB2 ", allowed_ips: [0.0.0.0/0]}]\n"
     "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:2:5: interface: type wireguard needs 'address'"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:2:5: interface: type wireguard needs 'peers'"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n    peers: []\n"
     "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:6:12: peers: a wireguard interface needs a peer"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: abc\n    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:4:18: private_key: not a valid base64 32-byte key"},
    /* Not canonical: the last character's padding bits are set. */
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: oTM86F6OpOGZagvcRPxFMlJar5z2AKlj/KCkKFpaMXl=\n"
     "    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:4:18: private_key: not a valid base64 32-byte key"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: \"" PRIV1 " \"\n    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:4:19: private_key: not a valid base64 32-byte key"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " ZERO_KEY "\n    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:4:18: private_key: the all-zero key is not a key"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    private_key_file: /k\n"
     "    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:5:5: give private_key or private_key_file, not both"},
    {WG_HEAD "        public_key: " PUB3 "\n" WG_PEER_END,
     "t.yaml:8:9: duplicate key 'public_key' in peer (first at 7:9)"},
    {WG_HEAD "        allowed_ips: [10.0.0.0/8]\n"
             "      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:9:21: public_key: duplicate peer (first at 7:21)"},
    {WG_HEAD "        allowed_ips: [10.0.0.0/8, '::/0']\n"
             "      - public_key: " PUB3 "\n"
             "        allowed_ips: [0.0.0.0/0, '::/0']\n"
             "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:10:35: allowed_ips: ::/0 already belongs to peer 1 (first at "
     "8:36); a prefix routes to one peer only"},
    {WG_HEAD "        allowed_ips: [10.0.0.0/8, 10.0.0.0/8]\n"
             "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:8:35: allowed_ips: duplicate 10.0.0.0/8 (first at 8:23)"},
    {WG_HEAD "        allowed_ips: [10.0.0.1/8]\n"
             "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:8:23: allowed_ips: 10.0.0.1/8 has host bits set; did you mean "
     "10.0.0.0/8?"},
    {WG_HEAD "        allowed_ips: []\n"
             "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:8:22: allowed_ips: the list is empty"},
    {WG_HEAD "routes: [{cidr: 0.0.0.0/0, to: wg}]\n",
     "t.yaml:7:9: peer: 'allowed_ips' is required"},
    {WG_HEAD "        endpoint: vpn.example.com\n" WG_PEER_END,
     "t.yaml:8:19: endpoint: 'vpn.example.com' is not host:port or "
     "[IPv6]:port: no :port"},
    {WG_HEAD "        endpoint: vpn.example.com:0\n" WG_PEER_END,
     "t.yaml:8:19: endpoint: 'vpn.example.com:0' is not host:port or "
     "[IPv6]:port: the port must be 1..65535"},
    {WG_HEAD "        endpoint: '2001:db8::1:51820'\n" WG_PEER_END,
     "t.yaml:8:20: endpoint: '2001:db8::1:51820' is not host:port or "
     "[IPv6]:port: an IPv6 address needs brackets: [address]:port"},
    {WG_HEAD "        endpoint: '[2001:db8::x]:51820'\n" WG_PEER_END,
     "t.yaml:8:20: endpoint: '[2001:db8::x]:51820' is not host:port or "
     "[IPv6]:port: not an IPv6 address between [ ]"},
    {WG_HEAD "        endpoint: 'vpn..example.com:1'\n" WG_PEER_END,
     "t.yaml:8:20: endpoint: 'vpn..example.com:1' is not host:port or "
     "[IPv6]:port: the host is not a name or IPv4 address"},
    {WG_HEAD "        persistent_keepalive: 65536\n" WG_PEER_END,
     "t.yaml:8:31: persistent_keepalive: 65536 is out of range (0..65535)"},
    {WG_HEAD "        preshared_key: " PUB3 "\n"
             "        preshared_key_file: /k\n" WG_PEER_END,
     "t.yaml:9:9: give preshared_key or preshared_key_file, not both"},
    {WG_HEAD "        preshared_key: nope\n" WG_PEER_END,
     "t.yaml:8:24: preshared_key: not a valid base64 32-byte key"},
    {WG_HEAD "        via: x\n" WG_PEER_END,
     "t.yaml:8:9: unknown key 'via' in peer"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1, 10.0.0.1/32]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:5:25: address: duplicate 10.0.0.1/32 (first at 5:15)"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [a, b, c, d, e]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:5:15: address: 'a' is not an IP prefix: not an IP address"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n"
     "    address: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:5:55: address: at most 4 entries"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    dns: [10.0.0.53/32]\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:11: dns: give a bare IP address, without /LEN"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1, 'fd00::1']\n"
     "    mtu: 1200\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:10: mtu: 1200 is below 1280, the IPv6 minimum (RFC 8200 "
     "section 5); raise it or drop the IPv6 address"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    mtu: 1969\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:10: mtu: 1969 is out of range (576..1968)"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    listen_port: 0\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:18: listen_port: 0 is out of range (1..65535)"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    debug: \"a\\0b\"\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:13: debug: the text holds a NUL character"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    debug: 'PrivateKey = " PRIV1 "'\n"
     "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
     "t.yaml:6:13: debug: the text holds a private or preshared key; write "
     "(hidden) in its place"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    debug: 'psk " PSK "'\n"
     "    peers:\n      - public_key: " PUB2 "\n"
     "        preshared_key: " PSK "\n" WG_PEER_END,
     "t.yaml:6:13: debug: the text holds a private or preshared key; write "
     "(hidden) in its place"},
    {"interfaces:\n"
     "  - {name: w1, type: wireguard, private_key: " PRIV1 ",\n"
     "     address: [10.1.0.2/24], peers: [{public_key: " PUB2 ",\n"
     "     allowed_ips: [0.0.0.0/0]}]}\n"
     "  - {name: w2, type: wireguard, private_key: " PRIV2 ",\n"
     "     address: [10.2.0.2/24], peers: [{public_key: " PUB1 ",\n"
     "     allowed_ips: [0.0.0.0/0]}], debug: 'w1 is " PRIV1 "'}\n"
     "routes: [{cidr: 0.0.0.0/0, to: w2}]\n",
     "t.yaml:5:5: debug: the text holds a key of interface 'w1'; write "
     "(hidden) in its place"},
    {"interfaces:\n  - name: wg\n    type: wireguard\n"
     "    private_key: " PRIV1 "\n    address: [10.0.0.1]\n"
     "    peers:\n      - public_key: " ZERO_KEY "\n" WG_PEER_END,
     "t.yaml:7:21: public_key: the all-zero key is not a key"},
};

static void test_wg_error_messages(void **state)
{
  (void)state;
  size_t failed = 0;
  for (size_t k = 0; k < sizeof(wg_error_cases) / sizeof(wg_error_cases[0]);
       k++) {
    const error_case_t *c = &wg_error_cases[k];
    int rc = load(c->yaml);
    if (rc != -1 || diag.n_errors < 1 || strcmp(diag.first, c->first) != 0) {
      print_error("case %zu:\n  yaml: %s\n  want: %s\n  got:  %s (rc %d)\n", k,
                  c->yaml, c->first, diag.first, rc);
      failed++;
    }
  }
  assert_int_equal(failed, 0);
}

static void test_wg_debug_limit(void **state)
{
  (void)state;
  size_t cap = MF_PROFILE_WG_DEBUG_MAX + 1024;
  char *y = malloc(cap), *text = malloc(MF_PROFILE_WG_DEBUG_MAX + 1);
  assert_non_null(y);
  assert_non_null(text);
  for (size_t n = MF_PROFILE_WG_DEBUG_MAX - 1; n <= MF_PROFILE_WG_DEBUG_MAX;
       n++) {
    memset(text, 'x', n);
    text[n] = 0;
    snprintf(y, cap,
             "interfaces:\n  - name: wg\n    type: wireguard\n"
             "    private_key: " PRIV1 "\n    address: [10.64.0.2/32]\n"
             "    debug: %s\n"
             "    peers:\n      - public_key: " PUB2 "\n" WG_PEER_END,
             text);
    int rc = load(y);
    if (n < MF_PROFILE_WG_DEBUG_MAX) {
      assert_int_equal(rc, 0);
      assert_int_equal(strlen(prof->wg[0].debug), n);
    } else {
      assert_int_equal(rc, -1);
      assert_string_equal(diag.first,
                          "t.yaml:6:12: debug: longer than 4095 bytes");
    }
  }
  free(y);
  free(text);
}

static void test_wg_bounds(void **state)
{
  (void)state;
  size_t cap = 64 * 1024;
  char *y = malloc(cap);
  assert_non_null(y);
  char want[128];
  /* One wireguard interface too many. */
  size_t k = (size_t)snprintf(y, cap, "interfaces:\n");
  for (int i = 0; i <= MF_PROFILE_MAX_WG; i++)
    k += (size_t)snprintf(y + k, cap - k,
                          "  - {name: w%d, type: wireguard, private_key: " PRIV1
                          ", address: [10.0.0.1], peers: [{public_key: " PUB2
                          ", allowed_ips: [0.0.0.0/0]}]}\n",
                          i);
  snprintf(y + k, cap - k, "routes: [{cidr: 0.0.0.0/0, to: w0}]\n");
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:22: type: at most %u wireguard interfaces per profile",
           2 + MF_PROFILE_MAX_WG, MF_PROFILE_MAX_WG);
  assert_string_equal(diag.first, want);
  /* One peer too many; the keys differ in their first characters. */
  k = (size_t)snprintf(y, cap, "interfaces:\n  - name: wg\n    type: wireguard\n"
                               "    private_key: " PRIV1 "\n"
                               "    address: [10.0.0.1]\n    peers:\n");
  for (int i = 0; i <= MF_PROFILE_MAX_WG_PEERS; i++)
    k += (size_t)snprintf(y + k, cap - k,
                          "      - {public_key: %c%s, allowed_ips: [10.%d.0.0/16]}\n",
                          'A' + i, &PUB2[1], i);
  snprintf(y + k, cap - k, "routes: [{cidr: 0.0.0.0/0, to: wg}]\n");
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want), "t.yaml:%u:9: peers: at most %u peers per interface",
           7 + MF_PROFILE_MAX_WG_PEERS, MF_PROFILE_MAX_WG_PEERS);
  assert_string_equal(diag.first, want);
  /* One allowed IP too many. */
  k = (size_t)snprintf(y, cap, WG_HEAD "        allowed_ips:\n");
  for (int i = 0; i <= MF_PROFILE_MAX_ALLOWED_IPS; i++)
    k += (size_t)snprintf(y + k, cap - k, "          - 10.%d.0.0/16\n", i);
  snprintf(y + k, cap - k, "routes: [{cidr: 0.0.0.0/0, to: wg}]\n");
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want), "t.yaml:%u:13: allowed_ips: at most %u per peer",
           9 + MF_PROFILE_MAX_ALLOWED_IPS, MF_PROFILE_MAX_ALLOWED_IPS);
  assert_string_equal(diag.first, want);
  free(y);
}

/* Puts the keys of p back where its dump says "(hidden)", in dump order:
 * private keys by wireguard interface, preshared keys by peer. */
static char *restore_secrets(const char *dump, const mf_profile_t *p)
{
  char *out = NULL, key[MF_KEY_TEXT_LEN + 1];
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  uint32_t iface = 0, peer = 0;
  const mf_wg_cfg_t *wg = NULL;
  for (const char *line = dump; *line;) {
    const char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
    const char *hidden = memmem(line, n, ": (hidden)", 10);
    if (hidden && memmem(line, n, "private_key", 11)) {
      while (iface < p->n_ifaces && p->ifaces[iface].type != MF_IF_WIREGUARD)
        iface++;
      assert_true(iface < p->n_ifaces);
      wg = &p->wg[p->ifaces[iface++].wg];
      peer = 0;
      mf_key_text_encode(wg->private_key, key);
      fprintf(f, "%.*s: \"%s\"\n", (int)(hidden - line), line, key);
    } else if (hidden) {
      assert_non_null(wg);
      mf_key_text_encode(wg->peers[peer - 1].preshared_key, key);
      fprintf(f, "%.*s: \"%s\"\n", (int)(hidden - line), line, key);
    } else {
      if (memmem(line, n, "- public_key:", 13))
        peer++;
      fwrite(line, 1, n, f);
    }
    line += n;
  }
  fclose(f);
  return out;
}

/* Everything but where each peer was written. */
static void assert_wg_equal(const mf_wg_cfg_t *a, const mf_wg_cfg_t *b)
{
  static mf_wg_cfg_t x, y;
  x = *a;
  y = *b;
  for (uint32_t k = 0; k < MF_PROFILE_MAX_WG_PEERS; k++)
    x.peers[k].mark = y.peers[k].mark = (mf_mark_t){0, 0};
  assert_memory_equal(&x, &y, sizeof(x));
}

static const char wg_dump_profile[] =
    "interfaces:\n"
    "  - {name: d, type: direct}\n"
    "  - name: wg-home\n"
    "    type: wireguard\n"
    "    private_key: " PRIV1 "\n"
    "    listen_port: 1\n"
    "    address: [10.64.0.2/32, \"fc00:bbbb::2/128\"]\n"
    "    dns: [10.64.0.1]\n"
    "    debug: \"[Interface]\\n  Address = 10.64.0.2/32 \\n\\t\\n\\n\"\n"
    "    peers:\n"
    "      - public_key: " PUB2 "\n"
    "        preshared_key: " PSK "\n"
    "        allowed_ips: [0.0.0.0/0, \"::/0\"]\n"
    "        endpoint: '[fc00::1]:51820'\n"
    "        persistent_keepalive: 25\n"
    "      - public_key: " PUB3 "\n"
    "        allowed_ips: [10.0.0.0/8]\n"
    "  - name: 'null'\n"
    "    type: wireguard\n"
    "    private_key: " PRIV2 "\n"
    "    address: [10.65.0.2/32]\n"
    "    mtu: 600\n"
    "    debug: |\n"
    "      [Peer]\n"
    "        PublicKey = x\n"
    "    peers:\n"
    "      - public_key: " PUB4 "\n"
    "        preshared_key: " PSK "\n"
    "        allowed_ips: [0.0.0.0/0]\n"
    "routes: [{cidr: 0.0.0.0/0, to: wg-home}, {cidr: 10.9.0.0/16, to: "
    "'null'}]\n";

/* The dump shows no secret, and with them put back loads to the same. */
static void test_wg_dump(void **state)
{
  (void)state;
  static mf_profile_t again;
  assert_valid(wg_dump_profile);
  char *out = NULL;
  size_t out_len = 0;
  FILE *f = open_memstream(&out, &out_len);
  mf_profile_dump(prof, f);
  fclose(f);
  assert_null(strstr(out, PRIV1));
  assert_null(strstr(out, PRIV2));
  assert_null(strstr(out, PSK));
  assert_non_null(strstr(out, "    # public key: " PUB1 "\n"
                              "    private_key: (hidden)\n"));
  assert_non_null(strstr(out, "        preshared_key: (hidden)\n"));
  /* As it stands, the dump does not load: the keys are missing. */
  memset(&diag, 0, sizeof(diag));
  assert_int_equal(mf_profile_load_string(out, out_len, "dump", &again, &diag),
                   -1);
  char *full = restore_secrets(out, prof);
  memset(&diag, 0, sizeof(diag));
  int rc = mf_profile_load_string(full, strlen(full), "dump", &again, &diag);
  if (rc != 0)
    print_error("%s\n%s\n", diag.first, full);
  assert_int_equal(rc, 0);
  assert_int_equal(again.n_wg, 2);
  assert_int_equal(again.n_ifaces, prof->n_ifaces);
  for (uint32_t i = 0; i < prof->n_ifaces; i++) {
    assert_string_equal(again.ifaces[i].name, prof->ifaces[i].name);
    assert_int_equal(again.ifaces[i].type, prof->ifaces[i].type);
    assert_int_equal(again.ifaces[i].wg, prof->ifaces[i].wg);
  }
  for (uint32_t w = 0; w < prof->n_wg; w++)
    assert_wg_equal(&again.wg[w], &prof->wg[w]);
  assert_string_equal(again.wg[0].debug,
                      "[Interface]\n  Address = 10.64.0.2/32 \n\t\n\n");
  assert_string_equal(again.wg[1].debug, "[Peer]\n  PublicKey = x\n");
  free(full);
  free(out);
}

/* What check prints loads back to the same profile. */
static void test_dump_round_trip(void **state)
{
  (void)state;
  static const char *const profiles[] = {
      NULL, /* the default */
      "tun:\n  name: t1\n  addresses: ['fd00::1/64']\n  fwmark: 77\n"
      "interfaces: [{name: 'null', type: drop}, {name: x, type: reject}]\n"
      "routes:\n  - {cidr: 0.0.0.0/0, to: x}\n  - {cidr: 10.0.0.0/8, to: "
      "'null'}\n",
  };
  static mf_profile_t again;
  for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
    const char *src = profiles[k] ? profiles[k] : mf_profile_default_text();
    assert_valid(src);
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    mf_profile_dump(prof, f);
    fclose(f);
    memset(&diag, 0, sizeof(diag));
    int rc = mf_profile_load_string(out, out_len, "dump", &again, &diag);
    if (rc != 0)
      print_error("%s\n%s\n", diag.first, out);
    assert_int_equal(rc, 0);
    assert_memory_equal(&again.tun, &prof->tun, sizeof(prof->tun));
    assert_int_equal(again.n_ifaces, prof->n_ifaces);
    for (uint32_t i = 0; i < prof->n_ifaces; i++) {
      assert_string_equal(again.ifaces[i].name, prof->ifaces[i].name);
      assert_int_equal(again.ifaces[i].type, prof->ifaces[i].type);
    }
    assert_int_equal(again.n_routes, prof->n_routes);
    for (uint32_t r = 0; r < prof->n_routes; r++) {
      assert_true(
          mf_prefix_equal(&again.routes[r].cidr, &prof->routes[r].cidr));
      assert_int_equal(again.routes[r].iface, prof->routes[r].iface);
      assert_int_equal(again.routes[r].implicit, prof->routes[r].implicit);
    }
    free(out);
  }
}

/* App Routing: the manual's Selective-VPN and AdBlock scenarios in one
 * profile, with every key of app_routing, domain_sets, cidr_sets, dns and
 * the set routes. Interfaces: 0 wg, 1 d (direct), 2 block (reject). */
#define AR_IFACES                                                              \
  WG_HEAD "        allowed_ips: [0.0.0.0/0]\n"                                 \
          "  - {name: d, type: direct}\n"                                      \
          "  - {name: block, type: reject}\n"
static const char approute_profile[] =
    AR_IFACES
    "app_routing: true\n"
    "domain_sets:\n"
    "  streaming: [NetFlix.com., nflxvideo.net, '*.w.example']\n"
    "  ads: { files: [lists/ads-hosts.txt, /etc/easylist.txt] }\n"
    "  mixed: { names: [a.example, '=exact.example'], files: [x.txt], "
    "format: hosts }\n"
    "  empty:\n"
    "cidr_sets:\n"
    "  streaming-ips: [198.38.96.0/19, '2a00:86c0::/32', 8.8.8.8/32]\n"
    "  unused: [10.9.0.0/16]\n"
    "dns:\n"
    "  servers: [8.8.8.8, 1.1.1.1]\n"
    "  vpn: [8.8.8.8, '[2001:4860:4860::8888]:5353', '2001:4860::1']\n"
    "  direct: ['1.1.1.1:5353', 1.0.0.1]\n"
    "  hijack: true\n"
    "  block: answer\n"
    "  host_route_grace: 0\n"
    "  max_host_routes: 1048576\n"
    "routes:\n"
    "  - { domain_set: streaming, to: wg }\n"
    "  - { cidr_set: streaming-ips, to: wg }\n"
    "  - { cidr: 8.8.8.8/32, to: d }\n"
    "  - { domain_set: ads, to: block }\n"
    "  - { dns_fallback: true, to: d }\n"
    "  - { cidr: 0.0.0.0/0, to: d }\n";

static void assert_server(const mf_dns_server_cfg_t *s, const char *addr,
                          uint16_t port)
{
  uint8_t want[16] = {0};
  int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
  assert_int_equal(inet_pton(family, addr, want), 1);
  assert_int_equal(s->family, family);
  assert_memory_equal(s->addr, want, family == AF_INET ? 4 : 16);
  assert_int_equal(s->port, port);
}

static void test_approute_all_keys(void **state)
{
  (void)state;
  assert_valid(approute_profile);
  const mf_approute_cfg_t *a = &prof->approute;
  assert_true(a->enabled);
  assert_int_equal(a->mark.line, 11);
  assert_int_equal(a->n_domain_sets, 4);
  const mf_domain_set_cfg_t *s = a->domain_sets;
  assert_string_equal(s[0].name, "streaming");
  assert_int_equal(s[0].mark.line, 13);
  assert_int_equal(s[0].n_names, 3);
  assert_int_equal(s[0].n_files, 0);
  /* Names are kept lower case without the trailing dot; "*.x" is x. */
  assert_string_equal(mf_profile_domain_name(prof, &a->names[0]),
                      "netflix.com");
  assert_false(a->names[0].exact);
  assert_string_equal(mf_profile_domain_name(prof, &a->names[2]),
                      "w.example");
  assert_false(a->names[2].exact);
  assert_string_equal(s[1].name, "ads");
  assert_int_equal(s[1].n_names, 0);
  assert_int_equal(s[1].n_files, 2);
  assert_string_equal(a->files[s[1].first_file].path, "lists/ads-hosts.txt");
  assert_string_equal(a->files[s[1].first_file + 1].path, "/etc/easylist.txt");
  assert_int_equal(a->files[s[1].first_file + 1].mark.line, 14);
  assert_int_equal(a->files[s[1].first_file + 1].mark.column, 39);
  assert_int_equal(s[1].format, 0); /* auto */
  assert_int_equal(s[2].n_names, 2);
  assert_string_equal(
      mf_profile_domain_name(prof, &a->names[s[2].first_name + 1]),
      "exact.example");
  assert_true(a->names[s[2].first_name + 1].exact);
  assert_int_equal(s[2].n_files, 1);
  assert_int_equal(s[2].format, 2); /* hosts, as domain_lists.h numbers it */
  assert_string_equal(s[3].name, "empty");
  assert_int_equal(s[3].n_names + s[3].n_files, 0);

  assert_int_equal(a->n_cidr_sets, 2);
  assert_string_equal(a->cidr_sets[0].name, "streaming-ips");
  assert_int_equal(a->cidr_sets[0].n, 3);
  assert_prefix(&a->set_cidrs[a->cidr_sets[0].first + 1], "2a00:86c0::/32");
  assert_int_equal(a->cidr_sets[1].n, 1);

  const mf_dns_cfg_t *dns = &a->dns;
  assert_int_equal(dns->n_servers, 2);
  assert_server(&dns->servers[1], "1.1.1.1", 53);
  assert_int_equal(dns->n_vpn, 3);
  assert_server(&dns->vpn[0], "8.8.8.8", 53);
  assert_server(&dns->vpn[1], "2001:4860:4860::8888", 5353);
  assert_server(&dns->vpn[2], "2001:4860::1", 53);
  assert_int_equal(dns->n_direct, 2);
  assert_server(&dns->direct[0], "1.1.1.1", 5353);
  assert_true(dns->hijack);
  assert_true(dns->block_answer);
  assert_int_equal(dns->host_route_grace_s, 0);
  assert_int_equal(dns->max_host_routes, 1048576);

  /* Set routes in the order written, with their interfaces. */
  assert_int_equal(a->n_routes, 4);
  assert_int_equal(a->routes[0].kind, MF_SET_ROUTE_DOMAIN);
  assert_int_equal(a->routes[0].set, 0);
  assert_int_equal(a->routes[0].iface, 0);
  assert_int_equal(a->routes[1].kind, MF_SET_ROUTE_CIDR);
  assert_int_equal(a->routes[2].kind, MF_SET_ROUTE_DOMAIN);
  assert_int_equal(a->routes[2].set, 1);
  assert_int_equal(a->routes[2].iface, 2);
  assert_int_equal(a->routes[3].kind, MF_SET_ROUTE_FALLBACK);
  assert_int_equal(a->routes[3].iface, 1);
  assert_int_equal(a->routes[3].mark.line, 33);
  assert_true(mf_profile_iface_uses_vpn_dns(prof, 0));
  assert_false(mf_profile_iface_uses_vpn_dns(prof, 1));
  assert_false(mf_profile_iface_uses_vpn_dns(prof, 2));

  /* The cidr set became routes after the written ones; 8.8.8.8/32 kept
   * its cidr route; the implied ::/0 comes last. */
  assert_int_equal(prof->n_routes, 5);
  assert_prefix(&prof->routes[0].cidr, "8.8.8.8/32");
  assert_int_equal(prof->routes[0].iface, 1);
  assert_int_equal(prof->routes[0].set, 0);
  assert_null(mf_profile_route_set_name(prof, &prof->routes[0]));
  assert_prefix(&prof->routes[1].cidr, "0.0.0.0/0");
  assert_prefix(&prof->routes[2].cidr, "198.38.96.0/19");
  assert_int_equal(prof->routes[2].iface, 0);
  assert_string_equal(mf_profile_route_set_name(prof, &prof->routes[2]),
                      "streaming-ips");
  assert_int_equal(prof->routes[2].mark.line, 30);
  assert_prefix(&prof->routes[3].cidr, "2a00:86c0::/32");
  assert_prefix(&prof->routes[4].cidr, "::/0");
  assert_true(prof->routes[4].implicit);
}

/* Without the sections, nothing of App Routing is set but the defaults. */
static void test_approute_defaults(void **state)
{
  (void)state;
  assert_valid(TAIL);
  const mf_approute_cfg_t *a = &prof->approute;
  assert_false(a->enabled);
  assert_int_equal(a->n_domain_sets + a->n_cidr_sets + a->n_routes, 0);
  assert_int_equal(a->dns.n_servers + a->dns.n_vpn + a->dns.n_direct, 0);
  assert_false(a->dns.hijack);
  assert_false(a->dns.block_answer);
  assert_int_equal(a->dns.host_route_grace_s, 60);
  assert_int_equal(a->dns.max_host_routes, 65536);
  assert_valid("app_routing: false\ndomain_sets:\ncidr_sets: {}\ndns:\n" TAIL);
  assert_false(prof->approute.enabled);
  /* cidr_set routes need no app_routing; sets may share a prefix, and the
   * route written first keeps it. */
  assert_valid("interfaces: [{name: d, type: direct}, {name: x, type: drop}]\n"
               "cidr_sets: {a: [10.0.0.0/8, 10.1.0.0/16], b: [10.1.0.0/16]}\n"
               "routes:\n"
               "  - {cidr_set: b, to: x}\n"
               "  - {cidr_set: a, to: d}\n"
               "  - {cidr: 0.0.0.0/0, to: d}\n");
  assert_int_equal(prof->n_routes, 4);
  assert_prefix(&prof->routes[1].cidr, "10.1.0.0/16");
  assert_int_equal(prof->routes[1].iface, 1);
  assert_string_equal(mf_profile_route_set_name(prof, &prof->routes[1]), "b");
  assert_prefix(&prof->routes[2].cidr, "10.0.0.0/8");
  assert_string_equal(mf_profile_route_set_name(prof, &prof->routes[2]), "a");
}

/* Interfaces d (direct) and x (drop), App Routing on, then ... */
#define AR_HEAD                                                                \
  "interfaces: [{name: d, type: direct}, {name: x, type: drop}]\n"            \
  "app_routing: true\n"
/* ... the default route and dns.direct from line 3. */
#define AR_END                                                                 \
  "dns: {direct: [1.1.1.1]}\n"                                                 \
  "routes:\n"                                                                  \
  "  - {cidr: 0.0.0.0/0, to: d}\n"

static const error_case_t approute_error_cases[] = {
    {"app_routing: yes\n" TAIL,
     "t.yaml:1:14: app_routing: expected a boolean (true or false), got "
     "'yes'"},
    {AR_HEAD "domain_sets: [a]\n" AR_END,
     "t.yaml:3:14: domain_sets: expected a mapping, got a list"},
    {AR_HEAD "domain_sets: {'a b': [x.com]}\n" AR_END,
     "t.yaml:3:16: 'a b' is not a valid domain set name (1..63 characters of "
     "A-Z a-z 0-9 _ . -)"},
    {AR_HEAD "domain_sets:\n  a: [x.com]\n  a: [y.com]\n" AR_END,
     "t.yaml:5:3: duplicate domain set 'a' (first at 4:3)"},
    {AR_HEAD "domain_sets: {a: x.com}\n" AR_END,
     "t.yaml:3:18: domain set 'a': expected a list of names or a mapping "
     "with names, files and format, got 'x.com'"},
    {AR_HEAD "domain_sets: {a: [x.com, 'ex ample.com']}\n" AR_END,
     "t.yaml:3:27: names: 'ex ample.com' is not a domain name: a character "
     "other than letters, digits, '-', '_' and '.'"},
    {AR_HEAD "domain_sets: {a: [1.2.3.4]}\n" AR_END,
     "t.yaml:3:19: names: '1.2.3.4' is not a domain name: an IPv4 address, "
     "not a name: use a CIDR set"},
    {AR_HEAD "domain_sets: {a: ['=']}\n" AR_END,
     "t.yaml:3:20: names: '=' is not a domain name: empty name"},
    {AR_HEAD "domain_sets: {a: ['x..com']}\n" AR_END,
     "t.yaml:3:20: names: 'x..com' is not a domain name: empty label (a "
     "leading dot or two dots)"},
    {AR_HEAD "domain_sets: {a: {names: [x.com], lists: [y]}}\n" AR_END,
     "t.yaml:3:35: unknown key 'lists' in domain set"},
    {AR_HEAD "domain_sets: {a: {files: x.txt}}\n" AR_END,
     "t.yaml:3:26: files: expected a list, got 'x.txt'"},
    {AR_HEAD "domain_sets: {a: {files: ['']}}\n" AR_END,
     "t.yaml:3:28: files: '' is not a usable path (1..255 bytes, no control "
     "characters)"},
    {AR_HEAD "domain_sets: {a: {files: [\"a\\tb\"]}}\n" AR_END,
     "t.yaml:3:28: files: 'a?b' is not a usable path (1..255 bytes, no "
     "control characters)"},
    {AR_HEAD "domain_sets: {a: {format: csv}}\n" AR_END,
     "t.yaml:3:27: format: unknown list format 'csv' (known: auto, plain, "
     "hosts, adblock, dnsmasq)"},
    {AR_HEAD "cidr_sets: {n: 10.0.0.0/8}\n" AR_END,
     "t.yaml:3:16: cidr_sets: expected a list, got '10.0.0.0/8'"},
    {AR_HEAD "cidr_sets: {n: [10.0.0.1/8]}\n" AR_END,
     "t.yaml:3:17: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"},
    {AR_HEAD "cidr_sets: {n: [foo]}\n" AR_END,
     "t.yaml:3:17: cidr_sets: 'foo' is not an IP prefix: not an IP address"},
    {AR_HEAD "cidr_sets: {n: [], n: []}\n" AR_END,
     "t.yaml:3:20: duplicate cidr set 'n' (first at 3:13)"},
    {AR_HEAD "dns: [1.1.1.1]\n" AR_END,
     "t.yaml:3:6: dns: expected a mapping, got a list"},
    {"dns: {upstreams: []}\n" TAIL,
     "t.yaml:1:7: unknown key 'upstreams' in dns"},
    {"dns: {vpn: [1.1.1]}\n" TAIL,
     "t.yaml:1:13: vpn: '1.1.1' is not a DNS server: not an IP address"},
    {"dns: {vpn: ['1.1.1.1:0']}\n" TAIL,
     "t.yaml:1:14: vpn: '1.1.1.1:0' is not a DNS server: the port must be "
     "1..65535"},
    {"dns: {servers: ['[2606::1]:99999']}\n" TAIL,
     "t.yaml:1:18: servers: '[2606::1]:99999' is not a DNS server: the port "
     "must be 1..65535"},
    {"dns: {direct: ['[1.1.1.1]:53']}\n" TAIL,
     "t.yaml:1:17: direct: '[1.1.1.1]:53' is not a DNS server: not an IPv6 "
     "address between [ ]"},
    {"dns: {direct: ['2606::1::53']}\n" TAIL,
     "t.yaml:1:17: direct: '2606::1::53' is not a DNS server: not an IP "
     "address (an IPv6 address with a port goes in brackets: "
     "[address]:port)"},
    {"dns: {direct: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5]}\n" TAIL,
     "t.yaml:1:52: direct: at most 4 servers"},
    {"dns: {block: drop}\n" TAIL,
     "t.yaml:1:14: block: expected resolve or answer, got 'drop'"},
    {"dns: {hijack: 1}\n" TAIL,
     "t.yaml:1:15: hijack: expected a boolean (true or false), got '1'"},
    {"dns: {host_route_grace: 86401}\n" TAIL,
     "t.yaml:1:25: host_route_grace: 86401 is out of range (0..86400)"},
    {"dns: {max_host_routes: 8}\n" TAIL,
     "t.yaml:1:24: max_host_routes: 8 is out of range (16..1048576)"},
    /* set routes */
    {AR_HEAD "dns: {direct: [1.1.1.1]}\n"
             "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n"
             "  - {domain_set: nope, to: d}\n",
     "t.yaml:6:18: domain_set: no domain set named 'nope' (declare it under "
     "domain_sets)"},
    {AR_HEAD "dns: {direct: [1.1.1.1]}\n"
             "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n"
             "  - {cidr_set: nope, to: d}\n",
     "t.yaml:6:16: cidr_set: no cidr set named 'nope' (declare it under "
     "cidr_sets)"},
    {AR_HEAD "domain_sets: {a: [x.com]}\n" AR_END
             "  - {domain_set: a, to: d}\n"
             "  - {domain_set: a, to: x}\n",
     "t.yaml:8:18: domain set 'a' is routed twice (first at 7:5)"},
    {AR_HEAD "cidr_sets: {a: [10.0.0.0/8]}\n" AR_END
             "  - {cidr_set: a, to: d}\n"
             "  - {cidr_set: a, to: x}\n",
     "t.yaml:8:16: cidr set 'a' is routed twice (first at 7:5)"},
    {AR_HEAD AR_END "  - {dns_fallback: true, to: d}\n"
                    "  - {dns_fallback: true, to: x}\n",
     "t.yaml:7:5: duplicate dns_fallback route (first at 6:5)"},
    {AR_HEAD AR_END "  - {dns_fallback: false, to: d}\n",
     "t.yaml:6:20: dns_fallback: only 'true' means something; leave the "
     "route out instead"},
    {AR_HEAD AR_END "  - {dns_fallback: 1, to: d}\n",
     "t.yaml:6:20: dns_fallback: expected a boolean (true or false), got "
     "'1'"},
    {"interfaces: [{name: d, type: direct}]\n"
     "app_routing: false\n"
     "domain_sets: {a: [x.com]}\n" AR_END "  - {domain_set: a, to: d}\n",
     "t.yaml:7:5: domain_set routes need app_routing: true"},
    {"interfaces: [{name: d, type: direct}]\n" AR_END
     "  - {dns_fallback: true, to: d}\n",
     "t.yaml:5:5: dns_fallback routes need app_routing: true"},
    {AR_HEAD "domain_sets: {a: [x.com]}\n" AR_END
             "  - {cidr: 10.0.0.0/8, domain_set: a, to: d}\n",
     "t.yaml:7:24: route: 'cidr' and 'domain_set' do not go together (one "
     "of cidr, cidr_set, domain_set, dns_fallback per route)"},
    {AR_HEAD "domain_sets: {a: [x.com]}\n" AR_END
             "  - {domain_set: a, to: nowhere}\n",
     "t.yaml:7:25: no interface named 'nowhere'"},
    {AR_HEAD "domain_sets: {a: [x.com]}\n"
             "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n"
             "  - {domain_set: a, to: x}\n",
     "t.yaml:6:5: domain set 'a' goes to 'x': its names need DNS servers in "
     "dns.direct"},
    {WG_HEAD "        allowed_ips: [0.0.0.0/0]\n"
             "app_routing: true\n"
             "dns: {direct: [1.1.1.1]}\n"
             "routes:\n  - {cidr: 0.0.0.0/0, to: wg}\n"
             "  - {dns_fallback: true, to: wg}\n",
     "t.yaml:13:5: the dns fallback goes to 'wg': its names need DNS servers "
     "in dns.vpn"},
};

static void test_approute_error_messages(void **state)
{
  (void)state;
  size_t failed = 0;
  for (size_t k = 0;
       k < sizeof(approute_error_cases) / sizeof(approute_error_cases[0]);
       k++) {
    const error_case_t *c = &approute_error_cases[k];
    int rc = load(c->yaml);
    if (rc != -1 || diag.n_errors < 1 || strcmp(diag.first, c->first) != 0) {
      print_error("case %zu:\n  yaml: %s\n  want: %s\n  got:  %s (rc %d)\n", k,
                  c->yaml, c->first, diag.first, rc);
      failed++;
    }
  }
  assert_int_equal(failed, 0);
}

/* Appends formatted text at y + k; returns the new end. */
static size_t append(char *y, size_t cap, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append(char *y, size_t cap, size_t k, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(y + k, cap - k, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < cap - k);
  return k + (size_t)n;
}

static void test_approute_bounds(void **state)
{
  (void)state;
  size_t cap = 1 << 20, k;
  char *y = malloc(cap);
  char want[160];
  assert_non_null(y);

  /* One domain set over the bound: one error at its key. */
  k = append(y, cap, 0, AR_HEAD "domain_sets:\n");
  for (uint32_t s = 0; s <= MF_PROFILE_MAX_DOMAIN_SETS; s++)
    k = append(y, cap, k, "  s%u: [x%u.example]\n", s, s);
  append(y, cap, k, AR_END);
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want), "t.yaml:%u:3: domain_sets: at most %u sets",
           4 + MF_PROFILE_MAX_DOMAIN_SETS, MF_PROFILE_MAX_DOMAIN_SETS);
  assert_string_equal(diag.first, want);
  /* Exactly the bound loads, each set routed. */
  k = append(y, cap, 0, AR_HEAD "domain_sets:\n");
  for (uint32_t s = 0; s < MF_PROFILE_MAX_DOMAIN_SETS; s++)
    k = append(y, cap, k, "  s%u: [x%u.example]\n", s, s);
  k = append(y, cap, k, AR_END);
  for (uint32_t s = 0; s < MF_PROFILE_MAX_DOMAIN_SETS; s++)
    k = append(y, cap, k, "  - {domain_set: s%u, to: x}\n", s);
  assert_valid(y);
  assert_int_equal(prof->approute.n_domain_sets, MF_PROFILE_MAX_DOMAIN_SETS);
  assert_int_equal(prof->approute.n_routes, MF_PROFILE_MAX_DOMAIN_SETS);

  /* Inline names: all sets together. */
  k = append(y, cap, 0, AR_HEAD "domain_sets:\n  a:\n");
  for (uint32_t n = 0; n <= MF_PROFILE_MAX_INLINE_NAMES; n++)
    k = append(y, cap, k, "    - n%u.example\n", n);
  append(y, cap, k, AR_END);
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:7: names: at most %u names (%u bytes) in the profile; "
           "put long lists in files",
           5 + MF_PROFILE_MAX_INLINE_NAMES, MF_PROFILE_MAX_INLINE_NAMES,
           MF_PROFILE_INLINE_TEXT);
  assert_string_equal(diag.first, want);
  /* The text bound: names of 253 characters fill it before the count. */
  char longname[254];
  for (int c = 0; c < 253; c++)
    longname[c] = (c % 64 == 63) ? '.' : 'a';
  longname[253] = 0;
  k = append(y, cap, 0, AR_HEAD "domain_sets:\n  a:\n");
  for (uint32_t n = 0; n < 300; n++)
    k = append(y, cap, k, "    - %s\n", longname);
  append(y, cap, k, AR_END);
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:7: names: at most %u names (%u bytes) in the profile; "
           "put long lists in files",
           5 + MF_PROFILE_INLINE_TEXT / 254, MF_PROFILE_MAX_INLINE_NAMES,
           MF_PROFILE_INLINE_TEXT);
  assert_string_equal(diag.first, want);

  /* Files per set. */
  k = append(y, cap, 0, AR_HEAD "domain_sets:\n  a:\n    files:\n");
  for (uint32_t f = 0; f <= MF_PROFILE_MAX_SET_FILES; f++)
    k = append(y, cap, k, "      - f%u.txt\n", f);
  append(y, cap, k, AR_END);
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:9: files: at most %u files per domain set",
           6 + MF_PROFILE_MAX_SET_FILES, MF_PROFILE_MAX_SET_FILES);
  assert_string_equal(diag.first, want);

  /* CIDR set prefixes, all sets together. */
  k = append(y, cap, 0, AR_HEAD "cidr_sets:\n  a:\n");
  for (uint32_t n = 0; n <= MF_PROFILE_MAX_SET_CIDRS; n++)
    k = append(y, cap, k, "    - 10.%u.%u.0/24\n", (n >> 8) & 255, n & 255);
  append(y, cap, k, AR_END);
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:7: cidr_sets: at most %u prefixes in all sets",
           5 + MF_PROFILE_MAX_SET_CIDRS, MF_PROFILE_MAX_SET_CIDRS);
  assert_string_equal(diag.first, want);
  /* A full set routed: with the written routes it overflows the routes. */
  k = append(y, cap, 0, AR_HEAD "cidr_sets:\n  a:\n");
  for (uint32_t n = 0; n < MF_PROFILE_MAX_SET_CIDRS; n++)
    k = append(y, cap, k, "    - 10.%u.%u.0/24\n", (n >> 8) & 255, n & 255);
  k = append(y, cap, k, AR_END "  - {cidr: 11.0.0.0/8, to: d}\n"
                               "  - {cidr_set: a, to: x}\n");
  assert_int_equal(load(y), -1);
  assert_int_equal(diag.n_errors, 1);
  snprintf(want, sizeof(want),
           "t.yaml:%u:5: routes: no room for cidr set 'a' (at most %u "
           "routes, set prefixes included)",
           9 + MF_PROFILE_MAX_SET_CIDRS, MF_PROFILE_MAX_ROUTES);
  assert_string_equal(diag.first, want);
  free(y);
}

/* What check prints for App Routing loads back to the same, and prints the
 * same again. */
static void test_approute_dump(void **state)
{
  (void)state;
  static mf_profile_t again;
  static const char *const profiles[] = {
      "interfaces: [{name: d, type: direct}, {name: 'null', type: drop}]\n"
      "app_routing: true\n"
      "domain_sets:\n"
      "  'null': ['null', '=true', x.example]\n"
      "  files: {files: [\"it's here.txt\", /abs/b.txt], format: adblock}\n"
      "  both: {names: [y.example], files: [c.txt]}\n"
      "  none:\n"
      "cidr_sets: {c: [10.0.0.0/8, '::/0'], 'null': []}\n"
      "dns:\n"
      "  vpn: ['[::1]:54', '::2']\n"
      "  direct: [1.1.1.1]\n"
      "  block: answer\n"
      "routes:\n"
      "  - {cidr: 0.0.0.0/0, to: d}\n"
      "  - {domain_set: 'null', to: 'null'}\n"
      "  - {cidr_set: c, to: 'null'}\n"
      "  - {cidr: 10.0.0.0/8, to: d}\n"
      "  - {dns_fallback: true, to: d}\n"
      "  - {cidr_set: 'null', to: d}\n",
      "dns: {servers: ['9.9.9.9:9953'], hijack: true}\n" TAIL,
  };
  for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++) {
    assert_valid(profiles[k]);
    char *out = NULL, *out2 = NULL;
    size_t out_len = 0, out2_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    mf_profile_dump(prof, f);
    fclose(f);
    memset(&diag, 0, sizeof(diag));
    int rc = mf_profile_load_string(out, out_len, "t.yaml", &again, &diag);
    if (rc != 0)
      print_error("%s\n%s\n", diag.first, out);
    assert_int_equal(rc, 0);
    f = open_memstream(&out2, &out2_len);
    mf_profile_dump(&again, f);
    fclose(f);
    assert_string_equal(out, out2);
    const mf_approute_cfg_t *a = &prof->approute, *b = &again.approute;
    assert_int_equal(a->enabled, b->enabled);
    assert_int_equal(a->n_domain_sets, b->n_domain_sets);
    assert_int_equal(a->n_names, b->n_names);
    assert_memory_equal(a->name_text, b->name_text, a->name_text_len);
    assert_int_equal(a->n_files, b->n_files);
    for (uint32_t i = 0; i < a->n_files; i++)
      assert_string_equal(a->files[i].path, b->files[i].path);
    assert_int_equal(a->n_set_cidrs, b->n_set_cidrs);
    assert_int_equal(a->n_routes, b->n_routes);
    for (uint32_t r = 0; r < a->n_routes; r++) {
      assert_int_equal(a->routes[r].kind, b->routes[r].kind);
      assert_int_equal(a->routes[r].set, b->routes[r].set);
      assert_int_equal(a->routes[r].iface, b->routes[r].iface);
    }
    assert_int_equal(again.n_routes, prof->n_routes);
    for (uint32_t r = 0; r < prof->n_routes; r++) {
      assert_true(
          mf_prefix_equal(&again.routes[r].cidr, &prof->routes[r].cidr));
      assert_int_equal(again.routes[r].iface, prof->routes[r].iface);
      assert_int_equal(again.routes[r].set, prof->routes[r].set);
    }
    assert_int_equal(a->dns.n_vpn, b->dns.n_vpn);
    assert_int_equal(a->dns.n_servers, b->dns.n_servers);
    assert_true(a->dns.hijack == b->dns.hijack &&
                a->dns.block_answer == b->dns.block_answer);
    free(out);
    free(out2);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_profile),
      cmocka_unit_test(test_defaults_applied),
      cmocka_unit_test(test_all_tun_keys),
      cmocka_unit_test(test_stack_address_derivation),
      cmocka_unit_test(test_implicit_v6_default),
      cmocka_unit_test(test_routes_masked_and_ordered),
      cmocka_unit_test(test_error_messages),
      cmocka_unit_test(test_binary_input),
      cmocka_unit_test(test_multiple_errors),
      cmocka_unit_test(test_many_errors_bounded),
      cmocka_unit_test(test_yaml_errors_not_printed_by_libfyaml),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_route_bounds),
      cmocka_unit_test(test_interface_bounds),
      cmocka_unit_test(test_dump_round_trip),
      cmocka_unit_test(test_wg_full),
      cmocka_unit_test(test_wg_defaults_and_several),
      cmocka_unit_test(test_wg_key_files),
      cmocka_unit_test(test_wg_error_messages),
      cmocka_unit_test(test_wg_debug_limit),
      cmocka_unit_test(test_wg_bounds),
      cmocka_unit_test(test_wg_dump),
      cmocka_unit_test(test_hoststack_defaults),
      cmocka_unit_test(test_hoststack_all_keys),
      cmocka_unit_test(test_hoststack_multiple_errors),
      cmocka_unit_test(test_hoststack_dump),
      cmocka_unit_test(test_approute_all_keys),
      cmocka_unit_test(test_approute_defaults),
      cmocka_unit_test(test_approute_error_messages),
      cmocka_unit_test(test_approute_bounds),
      cmocka_unit_test(test_approute_dump),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
