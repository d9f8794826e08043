/* Wireguard interfaces: the keys of wg-quick's [Interface] section, in
 * snake_case. Peers are read by profile_wg_peers.c. */
#include <openssl/crypto.h>
#include <string.h>

#include "config/diag.h"
#include "config/key_text.h"
#include "config/profile_parse.h"
#include "core/buffer.h"

/* Room for the outer IPv6 (40), UDP (8) and WireGuard data header (16)
 * plus the Poly1305 tag (16) in a buffer: the whitepaper's section 5.4.6
 * message layout. */
#define WG_OVERHEAD 80
#define WG_MTU_MIN 576
#define WG_MTU_MIN_IPV6 1280 /* RFC 8200 section 5 */
#define WG_MTU_DEFAULT 1420

const char *const mf_profile_wg_keys[MF_PROFILE_WG_N_KEYS] = {
    [MF_PROFILE_WG_PRIVATE_KEY] = "private_key",
    [MF_PROFILE_WG_PRIVATE_KEY_FILE] = "private_key_file",
    [MF_PROFILE_WG_LISTEN_PORT] = "listen_port",
    [MF_PROFILE_WG_ADDRESS] = "address",
    [MF_PROFILE_WG_MTU] = "mtu",
    [MF_PROFILE_WG_DNS] = "dns",
    [MF_PROFILE_WG_DEBUG] = "debug",
    [MF_PROFILE_WG_PEERS] = "peers",
};

static int find_prefix(const mf_prefix_t *list, uint32_t n,
                       const mf_prefix_t *p)
{
  for (uint32_t k = 0; k < n; k++)
    if (mf_prefix_equal(&list[k], p))
      return (int)k;
  return -1;
}

/* Reads a list of up to max prefixes at node i; bare says whether only
 * addresses without /LEN are allowed. Returns 0 when all were good. */
static int read_prefix_list(const mf_yaml_tree_t *t, uint32_t i,
                            const char *what, bool bare, mf_prefix_t *out,
                            uint32_t *n, uint32_t max)
{
  uint32_t nodes[8];
  int rc = 0;
  *n = 0;
  if (mf_yaml_expect(t, i, MF_YAML_SEQ, what) < 0)
    return -1;
  if (mf_yaml_node(t, i)->n == 0) {
    mf_yaml_error(t, i, "%s: the list is empty", what);
    return -1;
  }
  for (uint32_t item = mf_yaml_node(t, i)->first; item != MF_YAML_NONE;
       item = mf_yaml_node(t, item)->next) {
    mf_prefix_t a;
    if (*n == max) {
      mf_yaml_error(t, item, "%s: at most %u entries", what, max);
      return -1;
    }
    if (mf_profile_read_prefix(t, item, what, &a) < 0) {
      rc = -1;
      continue;
    }
    if (bare && strchr(mf_yaml_text(t, item), '/')) {
      mf_yaml_error(t, item, "%s: give a bare IP address, without /LEN",
                    what);
      rc = -1;
      continue;
    }
    int dup = find_prefix(out, *n, &a);
    if (dup >= 0) {
      char text[64];
      mf_mark_t m = mf_profile_mark(t, nodes[dup]);
      mf_prefix_format(&a, true, text, sizeof(text));
      mf_yaml_error(t, item, "%s: duplicate %s (first at %u:%u)", what, text,
                    m.line, m.column);
      rc = -1;
      continue;
    }
    nodes[*n] = item;
    out[(*n)++] = a;
  }
  return rc;
}

static bool has_ipv6(const mf_wg_cfg_t *wg)
{
  for (uint32_t k = 0; k < wg->n_addresses; k++)
    if (wg->addresses[k].family == AF_INET6)
      return true;
  return false;
}

static int read_mtu(const mf_yaml_tree_t *t, uint32_t i, mf_wg_cfg_t *wg)
{
  if (mf_yaml_read_u32(t, i, "mtu", WG_MTU_MIN,
                       MF_BUFFER_DATA_SIZE - WG_OVERHEAD, &wg->mtu) < 0)
    return -1;
  if (wg->mtu < WG_MTU_MIN_IPV6 && has_ipv6(wg)) {
    mf_yaml_error(t, i,
                  "mtu: %u is below %u, the IPv6 minimum (RFC 8200 "
                  "section 5); raise it or drop the IPv6 address",
                  wg->mtu, WG_MTU_MIN_IPV6);
    return -1;
  }
  return 0;
}

static int read_debug(const mf_yaml_tree_t *t, uint32_t i, mf_wg_cfg_t *wg)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "debug", &s, &len) < 0)
    return -1;
  if (strlen(s) != len) {
    mf_yaml_error(t, i, "debug: the text holds a NUL character");
    return -1;
  }
  if (len >= sizeof(wg->debug)) {
    mf_yaml_error(t, i, "debug: longer than %zu bytes", sizeof(wg->debug) - 1);
    return -1;
  }
  memcpy(wg->debug, s, len + 1);
  return 0;
}

static int read_private_key(const mf_yaml_tree_t *t, uint32_t item,
                            const mf_yaml_field_t *f, mf_wg_cfg_t *wg)
{
  const mf_yaml_field_t *k = &f[MF_PROFILE_WG_PRIVATE_KEY];
  const mf_yaml_field_t *kf = &f[MF_PROFILE_WG_PRIVATE_KEY_FILE];
  int rc = mf_profile_read_key(t, k->key, k->value, kf->key, kf->value,
                               "private_key", wg->private_key);
  if (rc == 1) {
    mf_yaml_error(t, item,
                  "interface: type wireguard needs 'private_key' or "
                  "'private_key_file'");
    return -1;
  }
  if (rc == 0 && mf_key_is_zero(wg->private_key)) {
    uint32_t at = k->value != MF_YAML_NONE ? k->value : kf->value;
    mf_yaml_error(t, at, "private_key: the all-zero key is not a key");
    return -1;
  }
  return rc;
}

bool mf_profile_wg_quotes_keys(const char *text, const mf_wg_cfg_t *wg)
{
  char key[MF_KEY_TEXT_LEN + 1];
  bool found = false;
  mf_key_text_encode(wg->private_key, key);
  found = !mf_key_is_zero(wg->private_key) && strstr(text, key);
  for (uint32_t k = 0; !found && k < wg->n_peers; k++) {
    if (!wg->peers[k].has_preshared_key)
      continue;
    mf_key_text_encode(wg->peers[k].preshared_key, key);
    found = strstr(text, key) != NULL;
  }
  OPENSSL_cleanse(key, sizeof(key));
  return found;
}

/* The dump prints debug text as it is, and secrets are never printed: a
 * debug text that quotes a key of its interface is refused (those of the
 * other interfaces are checked once all are read, in profile_ifaces.c). */
static int check_debug_has_no_keys(const mf_yaml_tree_t *t, uint32_t i,
                                   const mf_wg_cfg_t *wg)
{
  if (!mf_profile_wg_quotes_keys(wg->debug, wg))
    return 0;
  mf_yaml_error(t, i,
                "debug: the text holds a private or preshared key; write "
                "(hidden) in its place");
  return -1;
}

int mf_profile_parse_wg(const mf_yaml_tree_t *t, uint32_t item,
                        const mf_yaml_field_t *f, mf_wg_cfg_t *wg)
{
  uint32_t none = MF_YAML_NONE, v;
  int rc = 0;
  memset(wg, 0, sizeof(*wg));
  wg->mtu = WG_MTU_DEFAULT;
  if (read_private_key(t, item, f, wg) < 0)
    rc = -1;
  if ((v = f[MF_PROFILE_WG_LISTEN_PORT].value) != none) {
    uint32_t port;
    if (mf_yaml_read_u32(t, v, "listen_port", 1, 65535, &port) < 0)
      rc = -1;
    wg->listen_port = (uint16_t)port;
  }
  if ((v = f[MF_PROFILE_WG_ADDRESS].value) == none) {
    mf_yaml_error(t, item, "interface: type wireguard needs 'address'");
    rc = -1;
  } else if (read_prefix_list(t, v, "address", false, wg->addresses,
                              &wg->n_addresses, MF_PROFILE_MAX_WG_ADDRS) < 0)
    rc = -1;
  /* After the addresses: the IPv6 minimum depends on them. */
  if ((v = f[MF_PROFILE_WG_MTU].value) != none && read_mtu(t, v, wg) < 0)
    rc = -1;
  if ((v = f[MF_PROFILE_WG_DNS].value) != none &&
      read_prefix_list(t, v, "dns", true, wg->dns, &wg->n_dns,
                       MF_PROFILE_MAX_WG_DNS) < 0)
    rc = -1;
  if ((v = f[MF_PROFILE_WG_DEBUG].value) != none && read_debug(t, v, wg) < 0)
    rc = -1;
  if ((v = f[MF_PROFILE_WG_PEERS].value) == none) {
    mf_yaml_error(t, item, "interface: type wireguard needs 'peers'");
    rc = -1;
  } else
    mf_profile_parse_wg_peers(t, item, v, wg);
  if (wg->debug[0] && check_debug_has_no_keys(t, f[MF_PROFILE_WG_DEBUG].value,
                                              wg) < 0)
    rc = -1;
  return rc;
}
