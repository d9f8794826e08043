/* The values of wg-quick's keys: wg(8)'s own ([Interface] PrivateKey,
 * ListenPort, FwMark; [Peer] PublicKey, PresharedKey, AllowedIPs,
 * Endpoint, PersistentKeepalive) and wg-quick(8)'s additions (Address,
 * DNS, MTU, Table, the hooks, SaveConfig). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/diag.h"
#include "config/import_wg_parse.h"
#include "config/key_text.h"
#include "config/profile_parse.h"

#define MTU_MIN 576
#define MTU_MIN_IPV6 1280
#define MTU_MAX (2048 - 80) /* as profile_wg.c: buffer minus WG overhead */

/* Keys wg-quick acts on itself; a profile has no use for them. */
static const char *const wg_quick_only[] = {
    "Table",  "PreUp",      "PostUp", "PreDown",
    "PostDown", "SaveConfig", "FwMark",
};

bool mf_import_key_is(import_span_t key, const char *name)
{
  return strlen(name) == key.len && strncasecmp(key.s, name, key.len) == 0;
}

/* "what 'value'" quoting for messages. */
static void quote(import_span_t v, char *out, size_t size)
{
  mf_diag_quote(v.s, v.len, out, size);
}

static bool once(import_t *im, uint32_t *line, import_span_t key,
                 const char *name)
{
  if (*line) {
    mf_import_error(im, key.at, "duplicate %s (first at line %u)", name,
                    *line);
    return false;
  }
  *line = key.at.line;
  return true;
}

/* Unsigned decimal within lo..hi; "off" too when off_ok (wg(8) reads it
 * for PersistentKeepalive). */
static int read_number(import_t *im, import_span_t key, import_span_t v,
                       uint32_t lo, uint32_t hi, bool off_ok, uint32_t *out)
{
  char q[MF_DIAG_QUOTE_MAX + 4];
  uint64_t n = 0;
  if (off_ok && v.len == 3 && strncasecmp(v.s, "off", 3) == 0) {
    *out = 0;
    return 0;
  }
  bool digits = v.len > 0 && v.len <= 10;
  for (size_t k = 0; digits && k < v.len; k++) {
    digits = v.s[k] >= '0' && v.s[k] <= '9';
    n = n * 10 + (uint64_t)(v.s[k] - '0');
  }
  quote(v, q, sizeof(q));
  if (!digits || n < lo || n > hi) {
    mf_import_error(im, v.at, "%.*s: '%s' is not a number in %u..%u",
                    (int)key.len, key.s, q, lo, hi);
    return -1;
  }
  *out = (uint32_t)n;
  return 0;
}

static int read_key(import_t *im, import_span_t key, import_span_t v,
                    uint8_t out[32])
{
  if (mf_key_text_decode(v.s, v.len, out) < 0) {
    mf_import_error(im, v.at, "%.*s: not a valid base64 32-byte key",
                    (int)key.len, key.s);
    return -1;
  }
  if (mf_key_is_zero(out)) {
    mf_import_error(im, v.at, "%.*s: the all-zero key is not a key",
                    (int)key.len, key.s);
    return -1;
  }
  return 0;
}

/* Calls each(im, item) for the comma-separated items of v, trimmed. */
static void each_item(import_t *im, import_span_t v,
                      void (*each)(import_t *, import_span_t))
{
  size_t i = 0;
  while (i <= v.len) {
    size_t end = i;
    while (end < v.len && v.s[end] != ',')
      end++;
    size_t a = i, b = end;
    while (a < b && (v.s[a] == ' ' || v.s[a] == '\t'))
      a++;
    while (b > a && (v.s[b - 1] == ' ' || v.s[b - 1] == '\t'))
      b--;
    import_span_t item = {v.s + a, b - a, {v.at.line, v.at.column + (uint32_t)a}};
    if (item.len == 0)
      mf_import_error(im, item.at, "empty item in a comma-separated list");
    else
      each(im, item);
    i = end + 1;
  }
}

/* Parses a prefix or bare address; -1 after reporting. */
static int parse_prefix(import_t *im, import_span_t v, const char *what,
                        mf_prefix_t *out)
{
  char text[64], q[MF_DIAG_QUOTE_MAX + 4];
  const char *why = "not an IP address";
  if (v.len < sizeof(text)) {
    memcpy(text, v.s, v.len);
    text[v.len] = 0;
    if (mf_prefix_parse(text, out, &why) == 0)
      return 0;
  }
  quote(v, q, sizeof(q));
  mf_import_error(im, v.at, "%s: '%s' is not an IP prefix: %s", what, q, why);
  return -1;
}

static int find_prefix(const mf_prefix_t *list, uint32_t n,
                       const mf_prefix_t *p)
{
  for (uint32_t k = 0; k < n; k++)
    if (mf_prefix_equal(&list[k], p))
      return (int)k;
  return -1;
}

static void add_address(import_t *im, import_span_t v)
{
  mf_prefix_t a;
  mf_wg_cfg_t *wg = &im->wg;
  if (parse_prefix(im, v, "Address", &a) < 0)
    return;
  if (find_prefix(wg->addresses, wg->n_addresses, &a) >= 0)
    mf_import_error(im, v.at, "Address: %.*s is given twice", (int)v.len,
                    v.s);
  else if (wg->n_addresses == MF_PROFILE_MAX_WG_ADDRS)
    mf_import_error(im, v.at, "Address: at most %u addresses",
                    MF_PROFILE_MAX_WG_ADDRS);
  else
    wg->addresses[wg->n_addresses++] = a;
}

static void add_dns(import_t *im, import_span_t v)
{
  mf_prefix_t a;
  char text[64], q[MF_DIAG_QUOTE_MAX + 4];
  mf_wg_cfg_t *wg = &im->wg;
  quote(v, q, sizeof(q));
  /* wg-quick passes non-addresses to resolvconf as search domains. */
  if (v.len >= sizeof(text) || memchr(v.s, '/', v.len)) {
    mf_import_warn(im, v.at, "DNS: '%s' is not an IP address; dropped", q);
    return;
  }
  memcpy(text, v.s, v.len);
  text[v.len] = 0;
  if (mf_prefix_parse(text, &a, NULL) < 0) {
    mf_import_warn(im, v.at,
                   "DNS: search domain '%s' dropped (profiles route "
                   "names by domain sets instead)",
                   q);
    return;
  }
  if (find_prefix(wg->dns, wg->n_dns, &a) >= 0)
    mf_import_warn(im, v.at, "DNS: %s is given twice; once is kept", q);
  else if (wg->n_dns == MF_PROFILE_MAX_WG_DNS)
    mf_import_error(im, v.at, "DNS: at most %u servers", MF_PROFILE_MAX_WG_DNS);
  else
    wg->dns[wg->n_dns++] = a;
}

void mf_import_interface_key(import_t *im, import_span_t key,
                             import_span_t v)
{
  mf_wg_cfg_t *wg = &im->wg;
  uint32_t n;
  if (mf_import_key_is(key, "PrivateKey")) {
    if (once(im, &im->private_line, key, "PrivateKey"))
      read_key(im, key, v, wg->private_key);
  } else if (mf_import_key_is(key, "ListenPort")) {
    if (once(im, &im->listen_line, key, "ListenPort") &&
        read_number(im, key, v, 0, 65535, false, &n) == 0)
      wg->listen_port = (uint16_t)n; /* 0: any port, as when absent */
  } else if (mf_import_key_is(key, "MTU")) {
    if (once(im, &im->mtu_line, key, "MTU"))
      read_number(im, key, v, MTU_MIN, MTU_MAX, false, &wg->mtu);
  } else if (mf_import_key_is(key, "Address"))
    each_item(im, v, add_address);
  else if (mf_import_key_is(key, "DNS"))
    each_item(im, v, add_dns);
  else {
    for (size_t k = 0; k < sizeof(wg_quick_only) / sizeof(*wg_quick_only); k++)
      if (mf_import_key_is(key, wg_quick_only[k])) {
        mf_import_warn(im, key.at, "%s is for wg-quick only; ignored",
                       wg_quick_only[k]);
        return;
      }
    char q[MF_DIAG_QUOTE_MAX + 4];
    quote(key, q, sizeof(q));
    mf_import_error(im, key.at, "unknown key '%s' in [Interface]", q);
  }
}

/* Finds p among all peers' allowed IPs so far; the peer, or -1. */
static int ip_owner(const import_t *im, const mf_prefix_t *p, uint32_t *slot)
{
  for (uint32_t k = 0; k < im->wg.n_peers; k++)
    for (uint32_t s = 0; s < im->wg.peers[k].n_allowed_ips; s++)
      if (mf_prefix_equal(&im->wg.peers[k].allowed_ips[s], p)) {
        *slot = s;
        return (int)k;
      }
  return -1;
}

static void add_allowed_ip(import_t *im, import_span_t v)
{
  mf_prefix_t a;
  uint32_t peer = im->wg.n_peers - 1, slot = 0;
  mf_wg_peer_cfg_t *pc = &im->wg.peers[peer];
  char text[64];
  if (parse_prefix(im, v, "AllowedIPs", &a) < 0)
    return;
  if (!mf_prefix_is_network(&a)) {
    /* wg(8) masks these silently; a profile wants them masked. */
    mf_prefix_mask(&a);
    mf_prefix_format(&a, true, text, sizeof(text));
    mf_import_warn(im, v.at, "AllowedIPs: %.*s has host bits set; using %s",
                   (int)v.len, v.s, text);
  }
  mf_prefix_format(&a, true, text, sizeof(text));
  int owner = ip_owner(im, &a, &slot);
  if (owner >= 0 && (uint32_t)owner == peer)
    mf_import_warn(im, v.at, "AllowedIPs: %s is given twice; once is kept",
                   text);
  else if (owner >= 0)
    mf_import_error(im, v.at,
                    "AllowedIPs: %s already belongs to the peer at line %u "
                    "(a prefix routes to one peer only)",
                    text, im->peer_line[owner]);
  else if (pc->n_allowed_ips == MF_PROFILE_MAX_ALLOWED_IPS)
    mf_import_error(im, v.at, "AllowedIPs: at most %u per peer",
                    MF_PROFILE_MAX_ALLOWED_IPS);
  else {
    pc->allowed_ips[pc->n_allowed_ips++] = a;
  }
}

static void read_public_key(import_t *im, import_span_t key, import_span_t v)
{
  uint32_t peer = im->wg.n_peers - 1;
  mf_wg_peer_cfg_t *pc = &im->wg.peers[peer];
  if (!once(im, &im->public_line[peer], key, "PublicKey") ||
      read_key(im, key, v, pc->public_key) < 0)
    return;
  for (uint32_t k = 0; k < peer; k++)
    if (memcmp(im->wg.peers[k].public_key, pc->public_key, 32) == 0) {
      mf_import_error(im, v.at,
                      "PublicKey: the same peer as the one at line %u",
                      im->peer_line[k]);
      return;
    }
}

static void read_endpoint(import_t *im, import_span_t key, import_span_t v)
{
  mf_wg_peer_cfg_t *pc = &im->wg.peers[im->wg.n_peers - 1];
  const char *why = "longer than 255 characters";
  if (!once(im, &im->endpoint_line, key, "Endpoint"))
    return;
  if (v.len < sizeof(pc->endpoint) &&
      mf_profile_endpoint_ok(v.s, v.len, &why)) {
    memcpy(pc->endpoint, v.s, v.len);
    pc->endpoint[v.len] = 0;
    return;
  }
  char q[MF_DIAG_QUOTE_MAX + 4];
  quote(v, q, sizeof(q));
  mf_import_error(im, v.at,
                  "Endpoint: '%s' is not host:port or [IPv6]:port: %s", q,
                  why);
}

void mf_import_peer_key(import_t *im, import_span_t key, import_span_t v)
{
  mf_wg_peer_cfg_t *pc = &im->wg.peers[im->wg.n_peers - 1];
  uint32_t n;
  if (mf_import_key_is(key, "PublicKey"))
    read_public_key(im, key, v);
  else if (mf_import_key_is(key, "PresharedKey")) {
    if (!once(im, &im->psk_line, key, "PresharedKey"))
      return;
    /* All zeros is wg(8)'s "no preshared key"; kept as the key it is. */
    if (mf_key_text_decode(v.s, v.len, pc->preshared_key) == 0)
      pc->has_preshared_key = true;
    else
      mf_import_error(im, v.at, "%.*s: not a valid base64 32-byte key",
                      (int)key.len, key.s);
  } else if (mf_import_key_is(key, "AllowedIPs"))
    each_item(im, v, add_allowed_ip);
  else if (mf_import_key_is(key, "Endpoint"))
    read_endpoint(im, key, v);
  else if (mf_import_key_is(key, "PersistentKeepalive")) {
    if (once(im, &im->keepalive_line, key, "PersistentKeepalive") &&
        read_number(im, key, v, 0, 65535, true, &n) == 0)
      pc->persistent_keepalive = (uint16_t)n;
  } else {
    char q[MF_DIAG_QUOTE_MAX + 4];
    quote(key, q, sizeof(q));
    mf_import_error(im, key.at, "unknown key '%s' in [Peer]", q);
  }
}
