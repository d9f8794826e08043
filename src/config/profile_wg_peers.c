/* Wireguard peers: the keys of wg-quick's [Peer] sections. Allowed IPs are
 * cryptokey routing (whitepaper section 2): each prefix belongs to exactly
 * one peer of an interface, so a repeat is an error, not a silent move. */
#include <string.h>

#include "config/diag.h"
#include "config/key_text.h"
#include "config/profile_parse.h"

enum {
  F_PUBLIC_KEY,
  F_PRESHARED_KEY,
  F_PRESHARED_KEY_FILE,
  F_ALLOWED_IPS,
  F_ENDPOINT,
  F_PERSISTENT_KEEPALIVE,
  F_N
};

/* Where things were found, for "(first at L:C)". */
typedef struct {
  mf_mark_t key[MF_PROFILE_MAX_WG_PEERS];
  mf_mark_t ip[MF_PROFILE_MAX_WG_PEERS][MF_PROFILE_MAX_ALLOWED_IPS];
} peer_marks_t;

/* Finds prefix p among the allowed IPs of peers 0..n_peers (the last one
 * being filled); returns the peer index and sets *slot, or -1. */
static int find_allowed_ip(const mf_wg_cfg_t *wg, uint32_t n_peers,
                           const mf_prefix_t *p, uint32_t *slot)
{
  for (uint32_t k = 0; k <= n_peers; k++)
    for (uint32_t s = 0; s < wg->peers[k].n_allowed_ips; s++)
      if (mf_prefix_equal(&wg->peers[k].allowed_ips[s], p)) {
        *slot = s;
        return (int)k;
      }
  return -1;
}

static int read_allowed_ip(const mf_yaml_tree_t *t, uint32_t item,
                           mf_wg_cfg_t *wg, uint32_t peer, peer_marks_t *m)
{
  mf_prefix_t a;
  char text[64];
  if (mf_profile_read_prefix(t, item, "allowed_ips", &a) < 0)
    return -1;
  mf_prefix_format(&a, true, text, sizeof(text));
  if (!mf_prefix_is_network(&a)) {
    char net[64];
    mf_prefix_t masked = a;
    mf_prefix_mask(&masked);
    mf_prefix_format(&masked, true, net, sizeof(net));
    mf_yaml_error(t, item,
                  "allowed_ips: %s has host bits set; did you mean %s?", text,
                  net);
    return -1;
  }
  uint32_t slot = 0;
  int owner = find_allowed_ip(wg, peer, &a, &slot);
  if (owner >= 0) {
    mf_mark_t f = m->ip[owner][slot];
    if ((uint32_t)owner == peer)
      mf_yaml_error(t, item, "allowed_ips: duplicate %s (first at %u:%u)",
                    text, f.line, f.column);
    else
      mf_yaml_error(t, item,
                    "allowed_ips: %s already belongs to peer %d (first at "
                    "%u:%u); a prefix routes to one peer only",
                    text, owner + 1, f.line, f.column);
    return -1;
  }
  mf_wg_peer_cfg_t *pc = &wg->peers[peer];
  m->ip[peer][pc->n_allowed_ips] = mf_profile_mark(t, item);
  pc->allowed_ips[pc->n_allowed_ips++] = a;
  return 0;
}

static void read_allowed_ips(const mf_yaml_tree_t *t, uint32_t i,
                             mf_wg_cfg_t *wg, uint32_t peer, peer_marks_t *m)
{
  if (mf_yaml_expect(t, i, MF_YAML_SEQ, "allowed_ips") < 0)
    return;
  if (mf_yaml_node(t, i)->n == 0) {
    mf_yaml_error(t, i, "allowed_ips: the list is empty");
    return;
  }
  for (uint32_t item = mf_yaml_node(t, i)->first; item != MF_YAML_NONE;
       item = mf_yaml_node(t, item)->next) {
    if (wg->peers[peer].n_allowed_ips == MF_PROFILE_MAX_ALLOWED_IPS) {
      mf_yaml_error(t, item, "allowed_ips: at most %u per peer",
                    MF_PROFILE_MAX_ALLOWED_IPS);
      return;
    }
    read_allowed_ip(t, item, wg, peer, m);
  }
}

static void read_public_key(const mf_yaml_tree_t *t, const mf_yaml_field_t *f,
                            mf_wg_cfg_t *wg, uint32_t peer, peer_marks_t *m)
{
  mf_wg_peer_cfg_t *pc = &wg->peers[peer];
  uint32_t v = f[F_PUBLIC_KEY].value;
  if (mf_profile_read_key(t, f[F_PUBLIC_KEY].key, v, MF_YAML_NONE,
                          MF_YAML_NONE, "public_key", pc->public_key) != 0)
    return;
  if (mf_key_is_zero(pc->public_key)) {
    mf_yaml_error(t, v, "public_key: the all-zero key is not a key");
    return;
  }
  m->key[peer] = mf_profile_mark(t, v);
  for (uint32_t k = 0; k < peer; k++)
    if (memcmp(wg->peers[k].public_key, pc->public_key, 32) == 0) {
      mf_yaml_error(t, v, "public_key: duplicate peer (first at %u:%u)",
                    m->key[k].line, m->key[k].column);
      return;
    }
}

static void read_endpoint(const mf_yaml_tree_t *t, uint32_t i,
                          mf_wg_peer_cfg_t *pc)
{
  const char *s, *why = "";
  size_t len;
  if (mf_yaml_read_string(t, i, "endpoint", &s, &len) < 0)
    return;
  if (strlen(s) == len && len < sizeof(pc->endpoint) &&
      mf_profile_endpoint_ok(s, len, &why)) {
    memcpy(pc->endpoint, s, len + 1);
    return;
  }
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(s, len, q, sizeof(q));
  if (len >= sizeof(pc->endpoint))
    why = "longer than 255 characters";
  mf_yaml_error(t, i, "endpoint: '%s' is not host:port or [IPv6]:port: %s", q,
                why);
}

static void parse_peer(const mf_yaml_tree_t *t, uint32_t item, mf_wg_cfg_t *wg,
                       peer_marks_t *m)
{
  mf_yaml_field_t f[F_N] = {
      [F_PUBLIC_KEY] = {.name = "public_key"},
      [F_PRESHARED_KEY] = {.name = "preshared_key"},
      [F_PRESHARED_KEY_FILE] = {.name = "preshared_key_file"},
      [F_ALLOWED_IPS] = {.name = "allowed_ips"},
      [F_ENDPOINT] = {.name = "endpoint"},
      [F_PERSISTENT_KEEPALIVE] = {.name = "persistent_keepalive"},
  };
  uint32_t peer = wg->n_peers, v;
  mf_wg_peer_cfg_t *pc = &wg->peers[peer];
  memset(pc, 0, sizeof(*pc));
  if (mf_yaml_expect(t, item, MF_YAML_MAP, "peers") < 0)
    return;
  mf_yaml_read_fields(t, item, "in peer", f, F_N);
  pc->mark = mf_profile_mark(t, item);
  if (f[F_PUBLIC_KEY].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "peer: 'public_key' is required");
  else
    read_public_key(t, f, wg, peer, m);
  int rc = mf_profile_read_key(
      t, f[F_PRESHARED_KEY].key, f[F_PRESHARED_KEY].value,
      f[F_PRESHARED_KEY_FILE].key, f[F_PRESHARED_KEY_FILE].value,
      "preshared_key", pc->preshared_key);
  pc->has_preshared_key = rc == 0;
  if (f[F_ALLOWED_IPS].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "peer: 'allowed_ips' is required");
  else
    read_allowed_ips(t, f[F_ALLOWED_IPS].value, wg, peer, m);
  if ((v = f[F_ENDPOINT].value) != MF_YAML_NONE)
    read_endpoint(t, v, pc);
  if ((v = f[F_PERSISTENT_KEEPALIVE].value) != MF_YAML_NONE) {
    uint32_t s = 0;
    mf_yaml_read_u32(t, v, "persistent_keepalive", 0, 65535, &s);
    pc->persistent_keepalive = (uint16_t)s;
  }
  wg->n_peers++;
}

void mf_profile_parse_wg_peers(const mf_yaml_tree_t *t, uint32_t item,
                               uint32_t value, mf_wg_cfg_t *wg)
{
  peer_marks_t marks; /* 4 KiB */
  (void)item;
  memset(&marks, 0, sizeof(marks));
  if (mf_yaml_expect(t, value, MF_YAML_SEQ, "peers") < 0)
    return;
  if (mf_yaml_node(t, value)->n == 0) {
    mf_yaml_error(t, value, "peers: a wireguard interface needs a peer");
    return;
  }
  for (uint32_t p = mf_yaml_node(t, value)->first; p != MF_YAML_NONE;
       p = mf_yaml_node(t, p)->next) {
    if (wg->n_peers == MF_PROFILE_MAX_WG_PEERS) {
      mf_yaml_error(t, p, "peers: at most %u peers per interface",
                    MF_PROFILE_MAX_WG_PEERS);
      return;
    }
    parse_peer(t, p, wg, &marks);
  }
}
