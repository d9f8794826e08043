/* The tun section: the device, its addresses and the stack's own address
 * beside each, and the policy-routing numbers the daemon claims. */
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"
#include "core/buffer.h"

#define TUN_NAME_MAX 15   /* IFNAMSIZ - 1 */
#define MTU_MIN 576       /* RFC 791: every IPv4 host accepts 576 */
#define MTU_MIN_IPV6 1280 /* RFC 8200 section 5 */
#define ROUTE_TABLE_MAX 0xfffffff0u
#define RULE_PRIORITY_MAX 32000u /* below main (32766) and default (32767) */

enum {
  F_NAME,
  F_MTU,
  F_ADDRESSES,
  F_STACK_ADDRESSES,
  F_AUTO_ROUTE,
  F_EXCLUDE_LAN,
  F_ROUTE_TABLE,
  F_FWMARK,
  F_RULE_PRIORITY,
  F_N
};

/* Where each tun address came from, for messages about derived stack
 * addresses (MF_YAML_NONE for the defaults). */
typedef struct {
  uint32_t node[MF_PROFILE_MAX_TUN_ADDRS];
  bool ok; /* addresses read without error */
} addr_src_t;

static const char *family_name(uint8_t family)
{
  return family == AF_INET ? "IPv4" : "IPv6";
}

void mf_profile_tun_defaults(mf_tun_cfg_t *tun)
{
  memset(tun, 0, sizeof(*tun));
  memcpy(tun->name, "mf0", 4);
  tun->mtu = 1500;
  /* 172.19.0.0/30 and fdfe:dcba:9876::/126 are private (RFC 1918, RFC
   * 4193) and rarely used, so they seldom clash with a LAN. */
  mf_prefix_parse("172.19.0.1/30", &tun->addresses[0], NULL);
  mf_prefix_parse("fdfe:dcba:9876::1/126", &tun->addresses[1], NULL);
  tun->n_addresses = 2;
  tun->route_table = 7300;
  tun->fwmark = 0x7300;
  tun->rule_priority = 7300;
}

/* True when every bit after the prefix length is `one`. */
static bool host_part_is(const mf_prefix_t *p, bool one)
{
  unsigned max = mf_prefix_max_len(p->family);
  for (unsigned bit = p->len; bit < max; bit++) {
    bool set = (p->addr[bit / 8] >> (7 - bit % 8)) & 1;
    if (set != one)
      return false;
  }
  return true;
}

/* IPv4 prefixes up to /30 lose their first and last addresses to the
 * network and broadcast; /31 has neither (RFC 3021), nor has IPv6. */
static bool has_broadcast(const mf_prefix_t *p)
{
  return p->family == AF_INET && p->len <= 30;
}

static void read_name(const mf_yaml_tree_t *t, uint32_t i, mf_tun_cfg_t *tun)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "name", &s, &len) < 0)
    return;
  if (!mf_profile_name_ok(s, len, TUN_NAME_MAX)) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(s, len, q, sizeof(q));
    mf_yaml_error(t, i,
                  "name: '%s' is not a valid device name (1..%u characters "
                  "of A-Z a-z 0-9 _ . -)",
                  q, TUN_NAME_MAX);
    return;
  }
  memcpy(tun->name, s, len);
  tun->name[len] = 0;
}

static int check_tun_address(const mf_yaml_tree_t *t, uint32_t i,
                             const mf_prefix_t *a)
{
  char text[64];
  mf_prefix_format(a, true, text, sizeof(text));
  if (has_broadcast(a) && host_part_is(a, false)) {
    mf_yaml_error(t, i,
                  "addresses: %s is the network address of its prefix; "
                  "give a host address",
                  text);
    return -1;
  }
  if (has_broadcast(a) && host_part_is(a, true)) {
    mf_yaml_error(t, i,
                  "addresses: %s is the broadcast address of its prefix; "
                  "give a host address",
                  text);
    return -1;
  }
  return 0;
}

/* Index of the address of that family, or -1. */
static int find_family(const mf_prefix_t *list, uint32_t n, uint8_t family)
{
  for (uint32_t k = 0; k < n; k++)
    if (list[k].family == family)
      return (int)k;
  return -1;
}

static void read_address(const mf_yaml_tree_t *t, uint32_t item,
                         mf_tun_cfg_t *tun, addr_src_t *src)
{
  mf_prefix_t a;
  if (mf_profile_read_prefix(t, item, "addresses", &a) < 0 ||
      check_tun_address(t, item, &a) < 0) {
    src->ok = false;
    return;
  }
  int dup = find_family(tun->addresses, tun->n_addresses, a.family);
  if (dup >= 0) {
    mf_mark_t m = mf_profile_mark(t, src->node[dup]);
    mf_yaml_error(t, item,
                  "addresses: only one %s address is allowed (first at "
                  "%u:%u)",
                  family_name(a.family), m.line, m.column);
    src->ok = false;
    return;
  }
  src->node[tun->n_addresses] = item;
  tun->addresses[tun->n_addresses++] = a;
}

static void read_addresses(const mf_yaml_tree_t *t, uint32_t i,
                           mf_tun_cfg_t *tun, addr_src_t *src)
{
  tun->n_addresses = 0;
  src->ok = false;
  if (mf_yaml_expect(t, i, MF_YAML_SEQ, "addresses") < 0)
    return;
  if (mf_yaml_node(t, i)->n == 0) {
    mf_yaml_error(t, i, "addresses: the tun needs at least one address");
    return;
  }
  src->ok = true;
  uint32_t k = 0;
  for (uint32_t item = mf_yaml_node(t, i)->first; item != MF_YAML_NONE;
       item = mf_yaml_node(t, item)->next, k++) {
    if (k == MF_PROFILE_MAX_TUN_ADDRS) {
      mf_yaml_error(t, item, "addresses: at most %u addresses",
                    MF_PROFILE_MAX_TUN_ADDRS);
      src->ok = false;
      return;
    }
    read_address(t, item, tun, src);
  }
}

/* Returns 0 when stack may serve as the stack's address beside tun address
 * a; otherwise reports at node i why not. */
static int check_stack_address(const mf_yaml_tree_t *t, uint32_t i,
                               const mf_prefix_t *a, const mf_prefix_t *stack)
{
  char at[64], st[64];
  mf_prefix_format(a, true, at, sizeof(at));
  mf_prefix_format(stack, false, st, sizeof(st));
  if (!mf_prefix_covers(a, stack)) {
    mf_yaml_error(t, i,
                  "stack_addresses: %s is outside %s, the tun's %s "
                  "prefix",
                  st, at, family_name(a->family));
    return -1;
  }
  mf_prefix_t host = *a;
  host.len = (uint8_t)mf_prefix_max_len(a->family);
  if (mf_prefix_equal(&host, stack)) {
    mf_yaml_error(t, i,
                  "stack_addresses: %s is the tun's own address; the "
                  "stack needs another one",
                  st);
    return -1;
  }
  mf_prefix_t in = *stack;
  in.len = a->len;
  if (has_broadcast(&in) &&
      (host_part_is(&in, false) || host_part_is(&in, true))) {
    mf_yaml_error(t, i, "stack_addresses: %s is the %s address of %s", st,
                  host_part_is(&in, false) ? "network" : "broadcast", at);
    return -1;
  }
  return 0;
}

/* Reads one bare address into the slot of the tun address of its family.
 * Returns 0, or -1 after reporting. */
static int read_stack_address(const mf_yaml_tree_t *t, uint32_t item,
                              mf_tun_cfg_t *tun, bool *have)
{
  mf_prefix_t s;
  if (mf_profile_read_prefix(t, item, "stack_addresses", &s) < 0)
    return -1;
  if (strchr(mf_yaml_text(t, item), '/')) {
    mf_yaml_error(t, item,
                  "stack_addresses: give a bare address, without "
                  "/LEN (the tun address's prefix length applies)");
    return -1;
  }
  char st[64];
  mf_prefix_format(&s, false, st, sizeof(st));
  int k = find_family(tun->addresses, tun->n_addresses, s.family);
  if (k < 0) {
    mf_yaml_error(t, item,
                  "stack_addresses: %s has no %s tun address to go "
                  "with",
                  st, family_name(s.family));
    return -1;
  }
  if (have[k]) {
    mf_yaml_error(t, item, "stack_addresses: only one %s address is allowed",
                  family_name(s.family));
    return -1;
  }
  if (check_stack_address(t, item, &tun->addresses[k], &s) < 0)
    return -1;
  s.len = tun->addresses[k].len;
  tun->stack_addresses[k] = s;
  have[k] = true;
  return 0;
}

static void read_stack_addresses(const mf_yaml_tree_t *t, uint32_t key,
                                 uint32_t i, mf_tun_cfg_t *tun)
{
  bool have[MF_PROFILE_MAX_TUN_ADDRS] = {false};
  bool all_read = true;
  uint32_t k = 0;
  if (mf_yaml_expect(t, i, MF_YAML_SEQ, "stack_addresses") < 0)
    return;
  for (uint32_t item = mf_yaml_node(t, i)->first; item != MF_YAML_NONE;
       item = mf_yaml_node(t, item)->next, k++) {
    if (k == MF_PROFILE_MAX_TUN_ADDRS) {
      mf_yaml_error(t, item, "stack_addresses: at most %u addresses",
                    MF_PROFILE_MAX_TUN_ADDRS);
      return;
    }
    if (read_stack_address(t, item, tun, have) < 0)
      all_read = false;
  }
  for (uint32_t a = 0; all_read && a < tun->n_addresses; a++) {
    if (have[a])
      continue;
    char at[64];
    mf_prefix_format(&tun->addresses[a], true, at, sizeof(at));
    mf_yaml_error(t, key,
                  "stack_addresses: none given for the tun address "
                  "%s",
                  at);
  }
  tun->n_stack_addresses = tun->n_addresses;
}

/* The address after a, kept at a's length; false when a is the last
 * address of its family. */
static bool next_address(const mf_prefix_t *a, mf_prefix_t *next)
{
  *next = *a;
  for (int b = (int)mf_prefix_max_len(a->family) / 8 - 1; b >= 0; b--)
    if (++next->addr[b] != 0)
      return true;
  return false;
}

/* No stack_addresses: the stack takes the address after each tun address
 * (172.19.0.1/30 gives 172.19.0.2), if the prefix has room for it. */
static void derive_stack_addresses(const mf_yaml_tree_t *t, uint32_t key,
                                   mf_tun_cfg_t *tun, const addr_src_t *src)
{
  for (uint32_t a = 0; a < tun->n_addresses; a++) {
    const mf_prefix_t *p = &tun->addresses[a];
    mf_prefix_t next;
    char at[64], nt[64];
    mf_prefix_format(p, true, at, sizeof(at));
    /* The defaults always have room, so a node exists whenever this
     * fails; the key and then 1:1 are only fallbacks. */
    uint32_t where = src->node[a] != MF_YAML_NONE ? src->node[a] : key;
    mf_mark_t m =
        where != MF_YAML_NONE ? mf_profile_mark(t, where) : (mf_mark_t){1, 1};
    if (!next_address(p, &next) || !mf_prefix_covers(p, &next)) {
      mf_yaml_error_at(t, m,
                       "addresses: %s leaves no next "
                       "address in its prefix for the stack; set "
                       "stack_addresses or use a shorter prefix",
                       at);
      continue;
    }
    if (has_broadcast(&next) && host_part_is(&next, true)) {
      mf_prefix_format(&next, false, nt, sizeof(nt));
      mf_yaml_error_at(t, m,
                       "addresses: the address after "
                       "%s is %s, its prefix's broadcast address; set "
                       "stack_addresses",
                       at, nt);
      continue;
    }
    tun->stack_addresses[a] = next;
  }
  tun->n_stack_addresses = tun->n_addresses;
}

static void read_mtu(const mf_yaml_tree_t *t, uint32_t i, mf_tun_cfg_t *tun)
{
  if (mf_yaml_read_u32(t, i, "mtu", MTU_MIN, MF_BUFFER_DATA_SIZE, &tun->mtu) <
      0)
    return;
  if (tun->mtu < MTU_MIN_IPV6 &&
      find_family(tun->addresses, tun->n_addresses, AF_INET6) >= 0)
    mf_yaml_error(t, i,
                  "mtu: %u is below %u, the IPv6 minimum (RFC 8200 "
                  "section 5); raise it or drop the IPv6 address",
                  tun->mtu, MTU_MIN_IPV6);
}

static void read_route_table(const mf_yaml_tree_t *t, uint32_t i,
                             mf_tun_cfg_t *tun)
{
  uint32_t v;
  if (mf_yaml_read_u32(t, i, "route_table", 1, ROUTE_TABLE_MAX, &v) < 0)
    return;
  /* rtnetlink's RT_TABLE_DEFAULT, RT_TABLE_MAIN and RT_TABLE_LOCAL. */
  if (v >= 253 && v <= 255) {
    mf_yaml_error(t, i,
                  "route_table: %u is the kernel's own table (253 "
                  "default, 254 main, 255 local)",
                  v);
    return;
  }
  tun->route_table = v;
}

static void read_addressing(const mf_yaml_tree_t *t, const mf_yaml_field_t *f,
                            mf_tun_cfg_t *tun)
{
  addr_src_t src = {.ok = true};
  for (uint32_t a = 0; a < MF_PROFILE_MAX_TUN_ADDRS; a++)
    src.node[a] = MF_YAML_NONE;
  if (f[F_ADDRESSES].value != MF_YAML_NONE)
    read_addresses(t, f[F_ADDRESSES].value, tun, &src);
  if (!src.ok) {
    tun->n_stack_addresses = 0;
    return;
  }
  if (f[F_STACK_ADDRESSES].value != MF_YAML_NONE)
    read_stack_addresses(t, f[F_STACK_ADDRESSES].key,
                         f[F_STACK_ADDRESSES].value, tun);
  else
    derive_stack_addresses(t, f[F_ADDRESSES].key, tun, &src);
}

void mf_profile_parse_tun(const mf_yaml_tree_t *t, uint32_t value,
                          mf_profile_t *p)
{
  mf_tun_cfg_t *tun = &p->tun;
  mf_yaml_field_t f[F_N] = {
      [F_NAME] = {.name = "name"},
      [F_MTU] = {.name = "mtu"},
      [F_ADDRESSES] = {.name = "addresses"},
      [F_STACK_ADDRESSES] = {.name = "stack_addresses"},
      [F_AUTO_ROUTE] = {.name = "auto_route"},
      [F_EXCLUDE_LAN] = {.name = "exclude_lan"},
      [F_ROUTE_TABLE] = {.name = "route_table"},
      [F_FWMARK] = {.name = "fwmark"},
      [F_RULE_PRIORITY] = {.name = "rule_priority"},
  };
  uint32_t none = MF_YAML_NONE;
  if (value != none && !mf_yaml_is_null(t, value) &&
      mf_yaml_expect(t, value, MF_YAML_MAP, "tun") < 0)
    value = none; /* reported; go on with the defaults */
  for (int k = 0; k < F_N; k++)
    f[k].key = f[k].value = none;
  if (value != none)
    mf_yaml_read_fields(t, value, "in tun", f, F_N);

  if (f[F_NAME].value != none)
    read_name(t, f[F_NAME].value, tun);
  read_addressing(t, f, tun);
  if (f[F_MTU].value != none)
    read_mtu(t, f[F_MTU].value, tun);
  if (f[F_AUTO_ROUTE].value != none)
    mf_yaml_read_bool(t, f[F_AUTO_ROUTE].value, "auto_route", &tun->auto_route);
  if (f[F_EXCLUDE_LAN].value != none)
    mf_yaml_read_bool(t, f[F_EXCLUDE_LAN].value, "exclude_lan",
                      &tun->exclude_lan);
  if (f[F_ROUTE_TABLE].value != none)
    read_route_table(t, f[F_ROUTE_TABLE].value, tun);
  if (f[F_FWMARK].value != none)
    mf_yaml_read_u32(t, f[F_FWMARK].value, "fwmark", 1, UINT32_MAX,
                     &tun->fwmark);
  if (f[F_RULE_PRIORITY].value != none)
    mf_yaml_read_u32(t, f[F_RULE_PRIORITY].value, "rule_priority", 1,
                     RULE_PRIORITY_MAX, &tun->rule_priority);
}
