/* The interfaces section: the named places routes send traffic to. */
#include <stdio.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

enum { F_NAME, F_TYPE, F_N };

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

static void parse_iface(const mf_yaml_tree_t *t, uint32_t item, mf_profile_t *p)
{
  mf_yaml_field_t f[F_N] = {
      [F_NAME] = {.name = "name"}, [F_TYPE] = {.name = "type"}};
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
  int ty = -1;
  if (f[F_TYPE].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "interface: 'type' is required");
  else
    ty = read_type(t, f[F_TYPE].value);
  /* A well-named interface is kept even with a bad type, so that routes
   * to it do not add "no interface named" to the one real mistake. The
   * profile is refused all the same. */
  if (!name_ok)
    return;
  mf_iface_cfg_t *c = &p->ifaces[p->n_ifaces++];
  memcpy(c->name, name, len);
  c->name[len] = 0;
  c->type = ty >= 0 ? (mf_if_type_t)ty : MF_IF_DROP;
  c->mark = mf_profile_mark(t, item);
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
}
