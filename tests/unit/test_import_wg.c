/* The wg-quick importer: typical provider files become profile text that
 * loads back to the same settings; malformed files give one exact
 * "file:line:column: message" each and write nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/import_wg.h"
#include "config/key_text.h"
#include "config/profile.h"

/* Keys made with `wg genkey | tee k | wg pubkey` and `wg genpsk`. */
#define PRIV1 "IDSNMDAcMYj4I6OkiR/c1gWVFsUgFEm/RKThOi/rXHY="
#define PUB1 "oTM86F6OpOGZagvcRPxFMlJar5z2AKlj/KCkKFpaMXk="
#define PRIV2 "CAu7JQG8zht86SFaS95IcGTG1dCPPlmQVGcD6mJmcHI="
#define PUB2 "Me8KQM11hSE7aTF+rj3lty9uVjJ/dG5RYmKFTYFbSGg="
#define PUB3 "X/SL8qRbih2UxKf/hxVK8n3kvm5zqPANgfXPSN9+WQ8="
#define PSK "30i5RW3vQJ1pIHh//OyyKRnRJzFuK6+N5VKxtdZBUs4="

/* As a VPN provider's configuration generator writes it. */
static const char mullvad[] =
    "[Interface]\n"
    "# Device: Happy Otter\n"
    "PrivateKey = " PRIV1 "\n"
    "Address = 10.64.12.34/32,fc00:bbbb:bbbb:bb01::1:c22/128\n"
    "DNS = 10.64.0.1\n"
    "\n"
    "[Peer]\n"
    "PublicKey = " PUB2 "\n"
    "AllowedIPs = 0.0.0.0/0,::0/0\n"
    "Endpoint = se-got-wg-001.relays.example.net:51820\n";

/* As someone running their own server writes it. */
static const char self_hosted[] =
    "[interface]\r\n"
    "  address = 10.8.0.2/24\r\n"
    "ListenPort=51821\r\n"
    "privatekey = " PRIV2 "   # mine\r\n"
    "MTU = 1380\r\n"
    "DNS = 10.8.0.1, home.lan\r\n"
    "PostUp = iptables -A FORWARD -i %i -j ACCEPT\r\n"
    "Table = off\r\n"
    "\r\n"
    "[Peer]\r\n"
    "PublicKey = " PUB1 "\r\n"
    "PresharedKey = " PSK "\r\n"
    "AllowedIPs = 10.8.0.0/24\r\n"
    "AllowedIPs = 192.168.1.0/24, 10.9.0.1/16\r\n"
    "Endpoint = [2001:db8::1]:51820\r\n"
    "PersistentKeepalive = 25\r\n"
    "[Peer]\r\n"
    "PublicKey = " PUB3 "\r\n"
    "AllowedIPs = fd00:8::/64\r\n"
    "PersistentKeepalive = off\r\n";

static mf_profile_t *prof;
static mf_diag_t diag;
static char *out, *msgs; /* importer output; errors and warnings */

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
  free(out);
  free(msgs);
  return 0;
}

/* Runs the importer on text, collecting its output and messages. */
static int import(const char *text, size_t len, const char *source,
                  const char *name)
{
  size_t out_len = 0, msgs_len = 0;
  free(out);
  free(msgs);
  FILE *o = open_memstream(&out, &out_len);
  memset(&diag, 0, sizeof(diag));
  diag.out = open_memstream(&msgs, &msgs_len);
  assert_non_null(o);
  assert_non_null(diag.out);
  int rc = mf_import_wg_quick(text, len, source, name, o, &diag);
  fclose(o);
  fclose(diag.out);
  diag.out = NULL;
  return rc;
}

/* Loads the output under "interfaces:" with a default route to it. */
static void load_output(const char *name)
{
  char *y = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&y, &n);
  fprintf(f, "interfaces:\n%sroutes: [{cidr: 0.0.0.0/0, to: %s}]\n", out,
          name);
  fclose(f);
  mf_diag_t d = {0};
  int rc = mf_profile_load_string(y, n, "p.yaml", prof, &d);
  if (rc != 0)
    print_error("%s\n%s", d.first, y);
  assert_int_equal(rc, 0);
  free(y);
}

static void assert_key(const uint8_t *key, const char *b64)
{
  uint8_t want[32];
  assert_int_equal(mf_key_text_decode(b64, strlen(b64), want), 0);
  assert_memory_equal(key, want, 32);
}

static void assert_prefix(const mf_prefix_t *p, const char *text)
{
  char buf[64];
  mf_prefix_format(p, true, buf, sizeof(buf));
  assert_string_equal(buf, text);
}

static void test_mullvad(void **state)
{
  (void)state;
  assert_int_equal(import(mullvad, strlen(mullvad),
                          "/etc/wireguard/se-got-wg-001.conf", NULL),
                   0);
  assert_string_equal(msgs, "");
  static const char head[] = "  - name: se-got-wg-001\n    type: wireguard\n";
  assert_memory_equal(out, head, sizeof(head) - 1);
  load_output("se-got-wg-001");
  assert_int_equal(prof->n_wg, 1);
  assert_string_equal(prof->ifaces[0].name, "se-got-wg-001");
  assert_int_equal(prof->ifaces[0].type, MF_IF_WIREGUARD);
  const mf_wg_cfg_t *wg = &prof->wg[0];
  assert_key(wg->private_key, PRIV1);
  assert_int_equal(wg->listen_port, 0);
  assert_int_equal(wg->n_addresses, 2);
  assert_prefix(&wg->addresses[0], "10.64.12.34/32");
  assert_prefix(&wg->addresses[1], "fc00:bbbb:bbbb:bb01::1:c22/128");
  assert_int_equal(wg->mtu, 1420);
  assert_int_equal(wg->n_dns, 1);
  assert_prefix(&wg->dns[0], "10.64.0.1/32");
  assert_int_equal(wg->n_peers, 1);
  const mf_wg_peer_cfg_t *p = &wg->peers[0];
  assert_key(p->public_key, PUB2);
  assert_false(p->has_preshared_key);
  assert_int_equal(p->n_allowed_ips, 2);
  assert_prefix(&p->allowed_ips[0], "0.0.0.0/0");
  assert_prefix(&p->allowed_ips[1], "::/0");
  assert_string_equal(p->endpoint, "se-got-wg-001.relays.example.net:51820");
  assert_int_equal(p->persistent_keepalive, 0);
  /* The debug copy is the file, its key hidden. */
  char want[sizeof(mullvad)];
  strcpy(want, mullvad);
  char *k = strstr(want, PRIV1);
  memmove(k, "(hidden)", 8);
  memmove(k + 8, k + 44, strlen(k + 44) + 1);
  assert_string_equal(wg->debug, want);
  assert_null(strstr(out, "PrivateKey = " PRIV1));
}

static void test_self_hosted(void **state)
{
  (void)state;
  assert_int_equal(import(self_hosted, strlen(self_hosted), "home.conf",
                          "wg-home"),
                   0);
  assert_string_equal(
      msgs, "home.conf:6:17: warning: DNS: search domain 'home.lan' dropped "
            "(profiles route names by domain sets instead)\n"
            "home.conf:7:1: warning: PostUp is for wg-quick only; ignored\n"
            "home.conf:8:1: warning: Table is for wg-quick only; ignored\n"
            "home.conf:14:30: warning: AllowedIPs: 10.9.0.1/16 has host bits "
            "set; using 10.9.0.0/16\n");
  assert_int_equal(diag.n_errors, 0);
  load_output("wg-home");
  const mf_wg_cfg_t *wg = &prof->wg[0];
  assert_string_equal(prof->ifaces[0].name, "wg-home");
  assert_key(wg->private_key, PRIV2);
  assert_int_equal(wg->listen_port, 51821);
  assert_int_equal(wg->n_addresses, 1);
  assert_prefix(&wg->addresses[0], "10.8.0.2/24");
  assert_int_equal(wg->mtu, 1380);
  assert_int_equal(wg->n_dns, 1);
  assert_prefix(&wg->dns[0], "10.8.0.1/32");
  assert_int_equal(wg->n_peers, 2);
  const mf_wg_peer_cfg_t *p = &wg->peers[0];
  assert_key(p->public_key, PUB1);
  assert_true(p->has_preshared_key);
  assert_key(p->preshared_key, PSK);
  assert_int_equal(p->n_allowed_ips, 3);
  assert_prefix(&p->allowed_ips[0], "10.8.0.0/24");
  assert_prefix(&p->allowed_ips[1], "192.168.1.0/24");
  assert_prefix(&p->allowed_ips[2], "10.9.0.0/16");
  assert_string_equal(p->endpoint, "[2001:db8::1]:51820");
  assert_int_equal(p->persistent_keepalive, 25);
  p = &wg->peers[1];
  assert_key(p->public_key, PUB3);
  assert_false(p->has_preshared_key);
  assert_prefix(&p->allowed_ips[0], "fd00:8::/64");
  assert_string_equal(p->endpoint, "");
  assert_int_equal(p->persistent_keepalive, 0);
  /* CRLF survives in the debug copy; the secrets do not. */
  assert_non_null(strstr(wg->debug, "privatekey = (hidden)   # mine\r\n"));
  assert_non_null(strstr(wg->debug, "PresharedKey = (hidden)\r\n"));
  assert_null(strstr(wg->debug, PRIV2));
  assert_null(strstr(wg->debug, PSK));
  assert_int_equal(strlen(wg->debug), strlen(self_hosted) - 2 * (44 - 8));
}

/* A key quoted elsewhere in the file (a hook, a comment) is hidden too. */
static void test_keys_hidden_everywhere(void **state)
{
  (void)state;
  static const char text[] =
      "[Interface]\n"
      "PrivateKey = " PRIV1 " # was " PRIV1 "\n"
      "Address = 10.0.0.2/32\n"
      "PostUp = wg set %i private-key <(echo " PRIV1 ")\n"
      "[Peer]\n"
      "PublicKey = " PUB2 "\n"
      "PresharedKey = " PSK "\n"
      "AllowedIPs = 0.0.0.0/0 # psk " PSK "\n";
  assert_int_equal(import(text, strlen(text), "h.conf", "h"), 0);
  load_output("h");
  assert_string_equal(prof->wg[0].debug,
                      "[Interface]\n"
                      "PrivateKey = (hidden) # was (hidden)\n"
                      "Address = 10.0.0.2/32\n"
                      "PostUp = wg set %i private-key <(echo (hidden))\n"
                      "[Peer]\n"
                      "PublicKey = " PUB2 "\n"
                      "PresharedKey = (hidden)\n"
                      "AllowedIPs = 0.0.0.0/0 # psk (hidden)\n");
}

static void test_names(void **state)
{
  (void)state;
  static const struct {
    const char *source, *name;
  } cases[] = {
      {"/etc/wireguard/wg0.conf", "wg0"},
      {"my vpn (1).conf", "my-vpn--1-"},
      {"a/local.conf", "wg-local"},
      {"dir/", "wg"},
      {"x.conf.bak", "x.conf.bak"},
      {"0123456789012345678901234567890123456789.conf",
       "0123456789012345678901234567890"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    assert_int_equal(
        import(mullvad, strlen(mullvad), cases[k].source, NULL), 0);
    char want[64];
    snprintf(want, sizeof(want), "  - name: %s\n", cases[k].name);
    assert_memory_equal(out, want, strlen(want));
  }
  assert_int_equal(import(mullvad, strlen(mullvad), "x.conf", "a b"), -1);
  assert_string_equal(diag.first,
                      "x.conf: 'a b' is not a valid interface name (1..31 "
                      "characters of A-Z a-z 0-9 _ . -, not 'local')");
  assert_string_equal(out, "");
}

typedef struct {
  const char *text;
  const char *first;
} error_case_t;

#define IFACE "[Interface]\nPrivateKey = " PRIV1 "\nAddress = 10.0.0.2/32\n"
#define PEER "[Peer]\nPublicKey = " PUB2 "\nAllowedIPs = 0.0.0.0/0\n"

static const error_case_t error_cases[] = {
    {"", "c.conf:1:1: no [Interface] section"},
    {"[Interface]\nAddress = 10.0.0.2/32\n" PEER,
     "c.conf:1:1: [Interface] has no PrivateKey"},
    {"[Interface]\nPrivateKey = " PRIV1 "\n" PEER,
     "c.conf:1:1: [Interface] has no Address (a profile needs one)"},
    {IFACE, "c.conf:1:1: no [Peer] section (a profile needs one)"},
    {"[Interface]\nPrivateKey = abc=\nAddress = 10.0.0.2/32\n" PEER,
     "c.conf:2:14: PrivateKey: not a valid base64 32-byte key"},
    {"[Interface]\nPrivateKey = " PUB2 "x\nAddress = 10.0.0.2/32\n" PEER,
     "c.conf:2:14: PrivateKey: not a valid base64 32-byte key"},
    {IFACE "PrivateKey = " PRIV2 "\n" PEER,
     "c.conf:4:1: duplicate PrivateKey (first at line 2)"},
    {IFACE PEER "[Peers]\n", "c.conf:7:1: unknown section '[Peers]' (expected "
                              "[Interface] or [Peer])"},
    {IFACE PEER "[Peer\n", "c.conf:7:1: a section header ends with ']'"},
    {"PrivateKey = " PRIV1 "\n" IFACE PEER,
     "c.conf:1:1: 'PrivateKey' is outside a section; put it under "
     "[Interface] or [Peer]"},
    {IFACE PEER IFACE, "c.conf:7:1: second [Interface] section (first at "
                       "line 1)"},
    {IFACE "Address\n" PEER, "c.conf:4:1: expected 'Key = Value' or a "
                             "[Section]"},
    {IFACE " = 1\n" PEER, "c.conf:4:2: no key before '='"},
    {IFACE "SaveConfg = true\n" PEER,
     "c.conf:4:1: unknown key 'SaveConfg' in [Interface]"},
    {IFACE PEER "Key = 1\n", "c.conf:7:1: unknown key 'Key' in [Peer]"},
    {IFACE "ListenPort = 65536\n" PEER,
     "c.conf:4:14: ListenPort: '65536' is not a number in 0..65535"},
    {IFACE "MTU = 9000\n" PEER,
     "c.conf:4:7: MTU: '9000' is not a number in 576..1968"},
    {IFACE "Address = fd00::2/64\nMTU = 1000\n" PEER,
     "c.conf:5:1: MTU 1000 is below 1280, the IPv6 minimum (RFC 8200 "
     "section 5)"},
    {IFACE "Address = 10.0.0.2/32\n" PEER,
     "c.conf:4:11: Address: 10.0.0.2/32 is given twice"},
    {IFACE "Address = 10.0.0.3, , 10.0.0.4\n" PEER,
     "c.conf:4:21: empty item in a comma-separated list"},
    {IFACE "Address = 10.0.0.300\n" PEER,
     "c.conf:4:11: Address: '10.0.0.300' is not an IP prefix: not an IP "
     "address"},
    {IFACE "Address = 1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4\n" PEER,
     "c.conf:4:35: Address: at most 4 addresses"},
    {IFACE "DNS = 1.1.1.1,1.0.0.1,8.8.8.8,8.8.4.4,9.9.9.9\n" PEER,
     "c.conf:4:39: DNS: at most 4 servers"},
    {IFACE "[Peer]\nAllowedIPs = 0.0.0.0/0\n",
     "c.conf:4:1: [Peer] has no PublicKey"},
    {IFACE "[Peer]\nPublicKey = " PUB2 "\n",
     "c.conf:4:1: [Peer] has no AllowedIPs (a profile needs one)"},
    {IFACE PEER "PublicKey = " PUB3 "\n",
     "c.conf:7:1: duplicate PublicKey (first at line 5)"},
    {IFACE PEER "[Peer]\nPublicKey = " PUB2 "\nAllowedIPs = 10.0.0.0/8\n",
     "c.conf:8:13: PublicKey: the same peer as the one at line 4"},
    {IFACE PEER "[Peer]\nPublicKey = " PUB3 "\nAllowedIPs = 0.0.0.0/0\n",
     "c.conf:9:14: AllowedIPs: 0.0.0.0/0 already belongs to the peer at line "
     "4 (a prefix routes to one peer only)"},
    {IFACE PEER "PresharedKey = xyz\n",
     "c.conf:7:16: PresharedKey: not a valid base64 32-byte key"},
    {IFACE PEER "Endpoint = vpn.example.com\n",
     "c.conf:7:12: Endpoint: 'vpn.example.com' is not host:port or "
     "[IPv6]:port: no :port"},
    {IFACE PEER "Endpoint = fd00::1:51820\n",
     "c.conf:7:12: Endpoint: 'fd00::1:51820' is not host:port or "
     "[IPv6]:port: an IPv6 address needs brackets: [address]:port"},
    {IFACE PEER "PersistentKeepalive = -1\n",
     "c.conf:7:23: PersistentKeepalive: '-1' is not a number in 0..65535"},
    {IFACE PEER "AllowedIPs = 10.0.0.0/33\n",
     "c.conf:7:14: AllowedIPs: '10.0.0.0/33' is not an IP prefix: prefix "
     "length must be 0..32"},
};

static void test_errors(void **state)
{
  (void)state;
  size_t failed = 0;
  for (size_t k = 0; k < sizeof(error_cases) / sizeof(error_cases[0]); k++) {
    const error_case_t *c = &error_cases[k];
    int rc = import(c->text, strlen(c->text), "c.conf", NULL);
    if (rc != -1 || diag.n_errors < 1 || strcmp(diag.first, c->first) != 0 ||
        out[0] != 0) {
      print_error("case %zu:\n  text: %s\n  want: %s\n  got:  %s (rc %d)\n",
                  k, c->text, c->first, diag.first, rc);
      failed++;
    }
  }
  assert_int_equal(failed, 0);
}

static void test_limits(void **state)
{
  (void)state;
  static const char nul[] = IFACE "\0" PEER;
  assert_int_equal(import(nul, sizeof(nul) - 1, "n.conf", NULL), -1);
  assert_string_equal(diag.first, "n.conf:4:1: NUL byte (is this a text "
                                  "file?)");
  size_t big = MF_IMPORT_WG_MAX_INPUT + 1;
  char *text = malloc(big);
  assert_non_null(text);
  memset(text, '#', big);
  assert_int_equal(import(text, big, "b.conf", NULL), -1);
  assert_string_equal(diag.first, "b.conf: larger than 65536 bytes; not a "
                                  "wg-quick file?");
  /* Too long for a debug copy: imported all the same, without one. */
  size_t n = (size_t)snprintf(text, big, "%s%s", mullvad, "#");
  memset(text + n, 'x', 5000);
  text[n + 5000] = '\n';
  assert_int_equal(import(text, n + 5001, "l.conf", NULL), 0);
  assert_string_equal(msgs, "l.conf:1:1: warning: longer than 4095 bytes "
                            "with keys hidden; no debug copy kept\n");
  assert_null(strstr(out, "debug:"));
  load_output("l");
  assert_string_equal(prof->wg[0].debug, "");
  /* One peer too many. */
  n = (size_t)snprintf(text, big, IFACE);
  for (int p = 0; p <= MF_PROFILE_MAX_WG_PEERS; p++)
    n += (size_t)snprintf(text + n, big - n,
                          "[Peer]\nPublicKey = %c%s\nAllowedIPs = 10.%d.0.0/16\n",
                          'A' + p, &PUB2[1], p);
  assert_int_equal(import(text, n, "p.conf", NULL), -1);
  char want[64];
  snprintf(want, sizeof(want), "p.conf:%u:1: more than %u peers",
           4 + 3 * MF_PROFILE_MAX_WG_PEERS, MF_PROFILE_MAX_WG_PEERS);
  assert_string_equal(diag.first, want);
  assert_int_equal(diag.n_errors, 1);
  /* NULL text and diag are an empty file, quietly refused. */
  FILE *o = tmpfile();
  assert_int_equal(mf_import_wg_quick(NULL, 0, NULL, NULL, o, NULL), -1);
  assert_int_equal(ftell(o), 0);
  fclose(o);
  free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mullvad),
      cmocka_unit_test(test_self_hosted),
      cmocka_unit_test(test_keys_hidden_everywhere),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
