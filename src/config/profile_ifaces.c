/* The interfaces section: the named places routes send traffic to. */
#include <stdio.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

/* name and type, then the wireguard keys in mf_profile_wg_keys order. */
enum { F_NAME, F_TYPE, F_WG, F_N = F_WG + MF_PROFILE_WG_N_KEYS };

/* "reject, drop, direct": the types a profile may name, in enum order. */
static void known_types(char *out, size_t size)
{
  size_t n = 0;
  out[0] = 0;
  for (int ty = 0; ty < MF_IF_N_TYPE; ty++) {
    const char *name = mf_if_type_name((mf_if_type_t)ty);
    if (!name || mf_if_type_parse(name) != ty || n >= size)
      continue; /* internal types (tun, local) are not the profile's */
    int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "", name);
    if (w > 0)
      n += (size_t)w;
  }
}

/* Returns 0 when the name at node i is valid and free; reports otherwise. */
static int check_name(const mf_yaml_tree_t *t, uint32_t i, const char *s,
                      size_t len, const mf_profile_t *p)
{
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(s, len, q, sizeof(q));
  if (!mf_profile_name_ok(s, len, MF_IF_NAME_MAX - 1)) {
    mf_yaml_error(t, i,
                  "name: '%s' is not a valid interface name (1..%u "
                  "characters of A-Z a-z 0-9 _ . -)",
                  q, MF_IF_NAME_MAX - 1);
    return -1;
  }
  if (strcmp(s, p->tun.name) == 0) {
    mf_yaml_error(t, i,
                  "name: '%s' is reserved: it is the tun device's "
                  "name",
                  q);
    return -1;
  }
  if (strcmp(s, "local") == 0) {
    mf_yaml_error(t, i,
                  "name: 'local' is reserved for the stack's own "
                  "interface");
    return -1;
  }
  int dup = mf_profile_find_iface(p, s);
  if (dup >= 0) {
    mf_mark_t m = p->ifaces[dup].mark;
    mf_yaml_error(t, i, "duplicate interface name '%s' (first at %u:%u)", q,
                  m.line, m.column);
    return -1;
  }
  return 0;
}

/* Returns the type named at node i, or -1 after reporting. */
static int read_type(const mf_yaml_tree_t *t, uint32_t i)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "type", &s, &len) < 0)
    return -1;
  int ty = strlen(s) == len ? mf_if_type_parse(s) : -1;
  if (ty < 0) {
    char q[MF_DIAG_QUOTE_MAX + 4], known[128];
    mf_diag_quote(s, len, q, sizeof(q));
    known_types(known, sizeof(known));
    mf_yaml_error(t, i, "type: unknown interface type '%s' (known: %s)", q,
                  known);
  }
  return ty;
}

/* Keys of other types on an interface that is not theirs are named as
 * such, not as unknown: the user likely forgot or mistyped the type. */
static void refuse_wg_keys(const mf_yaml_tree_t *t, const mf_yaml_field_t *f)
{
  for (int k = 0; k < MF_PROFILE_WG_N_KEYS; k++)
    if (f[F_WG + k].key != MF_YAML_NONE)
      mf_yaml_error(t, f[F_WG + k].key, "key '%s' is only for type wireguard",
                    mf_profile_wg_keys[k]);
}

/* Reads the wireguard keys into the next free slot of p->wg; returns its
 * index, or -1 when there is no slot (reported). The slot is kept even
 * when its keys have errors, as the interface is. */
static int parse_wg_iface(const mf_yaml_tree_t *t, uint32_t item,
                          const mf_yaml_field_t *f, mf_profile_t *p,
                          uint32_t type_node)
{
  if (p->n_wg == MF_PROFILE_MAX_WG) {
    mf_yaml_error(t, type_node,
                  "type: at most %u wireguard interfaces per profile",
                  MF_PROFILE_MAX_WG);
    return -1;
  }
  mf_profile_parse_wg(t, item, f + F_WG, &p->wg[p->n_wg]);
  return (int)p->n_wg;
}

static void parse_iface(const mf_yaml_tree_t *t, uint32_t item, mf_profile_t *p)
{
  mf_yaml_field_t f[F_N] = {
      [F_NAME] = {.name = "name"}, [F_TYPE] = {.name = "type"}};
  for (int k = 0; k < MF_PROFILE_WG_N_KEYS; k++)
    f[F_WG + k].name = mf_profile_wg_keys[k];
  const char *name = NULL;
  size_t len = 0;
  bool name_ok = false;
  if (mf_yaml_expect(t, item, MF_YAML_MAP, "interfaces") < 0)
    return;
  mf_yaml_read_fields(t, item, "in interface", f, F_N);
  if (f[F_NAME].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "interface: 'name' is required");
  else if (mf_yaml_read_string(t, f[F_NAME].value, "name", &name, &len) == 0)
    name_ok = check_name(t, f[F_NAME].value, name, len, p) == 0;
  int ty = -1, wg = -1;
  if (f[F_TYPE].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "interface: 'type' is required");
  else
    ty = read_type(t, f[F_TYPE].value);
  if (ty == MF_IF_WIREGUARD)
    wg = parse_wg_iface(t, item, f, p, f[F_TYPE].value);
  else if (ty >= 0)
    refuse_wg_keys(t, f);
  /* A well-named interface is kept even with a bad type, so that routes
   * to it do not add "no interface named" to the one real mistake. The
   * profile is refused all the same. */
  if (!name_ok)
    return;
  mf_iface_cfg_t *c = &p->ifaces[p->n_ifaces++];
  memcpy(c->name, name, len);
  c->name[len] = 0;
  c->type = ty >= 0 && (ty != MF_IF_WIREGUARD || wg >= 0) ? (mf_if_type_t)ty
                                                         : MF_IF_DROP;
  c->wg = wg >= 0 ? (uint32_t)wg : 0;
  if (wg >= 0)
    p->n_wg++;
  c->mark = mf_profile_mark(t, item);
}

/* A debug text quoting another interface's key would be printed by the
 * dump all the same; its own keys were checked with the interface. */
static void check_debug_secrets(const mf_yaml_tree_t *t, const mf_profile_t *p)
{
  for (uint32_t a = 0; a < p->n_ifaces; a++) {
    const mf_iface_cfg_t *c = &p->ifaces[a];
    if (c->type != MF_IF_WIREGUARD || !p->wg[c->wg].debug[0])
      continue;
    for (uint32_t b = 0; b < p->n_ifaces; b++) {
      const mf_iface_cfg_t *o = &p->ifaces[b];
      if (b == a || o->type != MF_IF_WIREGUARD ||
          !mf_profile_wg_quotes_keys(p->wg[c->wg].debug, &p->wg[o->wg]))
        continue;
      mf_yaml_error_at(t, c->mark,
                       "debug: the text holds a key of interface '%s'; "
                       "write (hidden) in its place",
                       o->name);
      break;
    }
  }
}

void mf_profile_parse_ifaces(const mf_yaml_tree_t *t, uint32_t value,
                             mf_profile_t *p)
{
  if (value == MF_YAML_NONE || mf_yaml_is_null(t, value) ||
      mf_yaml_expect(t, value, MF_YAML_SEQ, "interfaces") < 0)
    return;
  uint32_t k = 0;
  for (uint32_t item = mf_yaml_node(t, value)->first; item != MF_YAML_NONE;
       item = mf_yaml_node(t, item)->next, k++) {
    if (k == MF_PROFILE_MAX_IFACES) {
      mf_yaml_error(t, item, "interfaces: at most %u interfaces",
                    MF_PROFILE_MAX_IFACES);
      return;
    }
    parse_iface(t, item, p);
  }
  check_debug_secrets(t, p);
}
