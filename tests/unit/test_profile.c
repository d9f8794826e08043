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
#include <unistd.h>

#include "config/profile.h"
#include "config/profile_dump.h"

/* Ends every profile that only tests the tun section. */
#define TAIL                                                                   \
  "interfaces: [{name: d, type: direct}]\n"                                    \
  "routes: [{cidr: 0.0.0.0/0, to: d}]\n"

static mf_profile_t *prof; /* ~40 KiB: kept off the stack */
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
     "t.yaml:1:30: type: unknown interface type 'wireguard' (known: "
     "reject, drop, direct)"},
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
     "t.yaml:3:5: route: 'cidr' is required"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - {cidr: 0.0.0.0/0, to: d, via: x}\n",
     "t.yaml:3:30: unknown key 'via' in route"},
    {"interfaces: [{name: d, type: direct}]\n"
     "routes:\n  - {cidr: 0.0.0.0/0, to: d}\n  - {cidr: example.com, to: d}\n",
     "t.yaml:4:12: cidr: 'example.com' is not an IP prefix: not an IP "
     "address"},
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
  assert_int_equal(diag.n_errors, 4);
  assert_string_equal(out,
                      "t.yaml:2:27: no interface named 'nowhere'\n"
                      "t.yaml:4:8: mtu: 9000 is out of range (576..2048)\n"
                      "t.yaml:5:3: unknown key 'colour' in tun\n"
                      "t.yaml:7:21: type: unknown interface type 'teleport' "
                      "(known: reject, drop, direct)\n");
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
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
