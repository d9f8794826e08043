/* The routes section: CIDR routes to interfaces. 0.0.0.0/0 is the default
 * route every profile must have; ::/0 follows it unless given, so that
 * IPv6 never escapes the rules by default. Items naming a cidr_set, a
 * domain_set or the dns_fallback are App Routing's (profile_approute.c);
 * a cidr set's prefixes join the routes after every item is read, and a
 * prefix also written as a cidr route keeps that route. */
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

typedef struct {
  bool saw_v4_default; /* 0.0.0.0/0 was written, even if its route failed */
  bool unreadable;     /* a cidr failed to parse: it may have been 0.0.0.0/0 */
  bool complete;       /* every item was looked at */
} routes_state_t;

static bool is_default(const mf_prefix_t *p, uint8_t family)
{
  return p->family == family && p->len == 0;
}

static int find_route(const mf_profile_t *p, const mf_prefix_t *cidr)
{
  for (uint32_t r = 0; r < p->n_routes; r++)
    if (mf_prefix_equal(&p->routes[r].cidr, cidr))
      return (int)r;
  return -1;
}

/* Returns 0 with the masked prefix in *cidr, or -1 after reporting. */
static int read_cidr(const mf_yaml_tree_t *t, uint32_t i, mf_profile_t *p,
                     mf_prefix_t *cidr, routes_state_t *st)
{
  if (mf_profile_read_prefix(t, i, "cidr", cidr) < 0) {
    st->unreadable = true;
    return -1;
  }
  if (is_default(cidr, AF_INET))
    st->saw_v4_default = true;
  if (!mf_prefix_is_network(cidr)) {
    char given[64], net[64];
    mf_prefix_t masked = *cidr;
    mf_prefix_mask(&masked);
    mf_prefix_format(cidr, true, given, sizeof(given));
    mf_prefix_format(&masked, true, net, sizeof(net));
    mf_yaml_error(t, i, "%s has host bits set; did you mean %s?", given, net);
    return -1;
  }
  int dup = find_route(p, cidr);
  if (dup >= 0) {
    char text[64];
    mf_prefix_format(cidr, true, text, sizeof(text));
    mf_yaml_error(t, i, "duplicate route %s (first at %u:%u)", text,
                  p->routes[dup].mark.line, p->routes[dup].mark.column);
    return -1;
  }
  return 0;
}

/* Returns the index of the interface named at node i, or -1. */
static int read_to(const mf_yaml_tree_t *t, uint32_t i, const mf_profile_t *p)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "to", &s, &len) < 0)
    return -1;
  int k = strlen(s) == len ? mf_profile_find_iface(p, s) : -1;
  if (k < 0) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(s, len, q, sizeof(q));
    mf_yaml_error(t, i, "no interface named '%s'", q);
  }
  return k;
}

/* Which of cidr, cidr_set, domain_set and dns_fallback the item holds;
 * -1 after reporting none or more than one. */
static int route_kind(const mf_yaml_tree_t *t, uint32_t item,
                      const mf_yaml_field_t *f)
{
  int which = -1;
  for (int k = MF_PROFILE_ROUTE_CIDR; k < MF_PROFILE_ROUTE_TO; k++) {
    if (f[k].key == MF_YAML_NONE)
      continue;
    if (which >= 0) {
      mf_yaml_error(t, f[k].key,
                    "route: '%s' and '%s' do not go together (one of cidr, "
                    "cidr_set, domain_set, dns_fallback per route)",
                    f[which].name, f[k].name);
      return -1;
    }
    which = k;
  }
  if (which < 0)
    mf_yaml_error(t, item,
                  "route: one of 'cidr', 'cidr_set', 'domain_set' or "
                  "'dns_fallback' is required");
  return which;
}

static void parse_route(const mf_yaml_tree_t *t, uint32_t item, mf_profile_t *p,
                        routes_state_t *st)
{
  mf_yaml_field_t f[MF_PROFILE_ROUTE_N_KEYS] = {
      [MF_PROFILE_ROUTE_CIDR] = {.name = "cidr"},
      [MF_PROFILE_ROUTE_CIDR_SET] = {.name = "cidr_set"},
      [MF_PROFILE_ROUTE_DOMAIN_SET] = {.name = "domain_set"},
      [MF_PROFILE_ROUTE_DNS_FALLBACK] = {.name = "dns_fallback"},
      [MF_PROFILE_ROUTE_TO] = {.name = "to"}};
  mf_prefix_t cidr;
  int cidr_ok = -1, iface = -1;
  if (mf_yaml_expect(t, item, MF_YAML_MAP, "routes") < 0) {
    st->unreadable = true;
    return;
  }
  mf_yaml_read_fields(t, item, "in route", f, MF_PROFILE_ROUTE_N_KEYS);
  int which = route_kind(t, item, f);
  if (which < 0)
    st->unreadable = true;
  else if (which == MF_PROFILE_ROUTE_CIDR)
    cidr_ok = read_cidr(t, f[which].value, p, &cidr, st);
  if (f[MF_PROFILE_ROUTE_TO].value == MF_YAML_NONE)
    mf_yaml_error(t, item, "route: 'to' is required");
  else
    iface = read_to(t, f[MF_PROFILE_ROUTE_TO].value, p);
  if (which > MF_PROFILE_ROUTE_CIDR) {
    mf_profile_parse_set_route(t, item, which, f[which].value, iface, p);
    return;
  }
  if (cidr_ok < 0 || iface < 0)
    return;
  mf_route_cfg_t *r = &p->routes[p->n_routes++];
  r->cidr = cidr;
  r->iface = (uint32_t)iface;
  r->implicit = false;
  r->set = 0;
  r->mark = mf_profile_mark(t, item);
}

static void add_implicit_v6_default(const mf_yaml_tree_t *t, uint32_t key,
                                    mf_profile_t *p)
{
  int v4 = -1;
  for (uint32_t r = 0; r < p->n_routes; r++) {
    if (is_default(&p->routes[r].cidr, AF_INET6))
      return;
    if (is_default(&p->routes[r].cidr, AF_INET))
      v4 = (int)r;
  }
  if (v4 < 0)
    return; /* its route failed, and that was reported */
  if (p->n_routes == MF_PROFILE_MAX_ROUTES) {
    mf_yaml_error(t, key,
                  "routes: no room for the implied ::/0 (at most %u "
                  "routes)",
                  MF_PROFILE_MAX_ROUTES);
    return;
  }
  mf_route_cfg_t *r = &p->routes[p->n_routes++];
  memset(r, 0, sizeof(*r));
  r->cidr.family = AF_INET6;
  r->iface = p->routes[v4].iface;
  r->implicit = true;
  r->mark = p->routes[v4].mark; /* the route it follows */
}

void mf_profile_parse_routes(const mf_yaml_tree_t *t, uint32_t key,
                             uint32_t value, mf_profile_t *p)
{
  routes_state_t st = {.complete = true};
  if (value == MF_YAML_NONE) {
    mf_yaml_error_at(t, (mf_mark_t){1, 1},
                     "routes: 0.0.0.0/0 is required (the default route)");
    return;
  }
  if (!mf_yaml_is_null(t, value)) {
    if (mf_yaml_expect(t, value, MF_YAML_SEQ, "routes") < 0)
      return;
    uint32_t k = 0;
    for (uint32_t item = mf_yaml_node(t, value)->first; item != MF_YAML_NONE;
         item = mf_yaml_node(t, item)->next, k++) {
      if (k == MF_PROFILE_MAX_ROUTES) {
        mf_yaml_error(t, item, "routes: at most %u routes",
                      MF_PROFILE_MAX_ROUTES);
        st.complete = false;
        break;
      }
      parse_route(t, item, p, &st);
    }
  }
  if (mf_profile_expand_cidr_sets(t, p) < 0)
    return; /* full: the implied ::/0 has no room either */
  if (!st.complete || st.unreadable)
    return; /* the default route may be among the items not read */
  if (!st.saw_v4_default) {
    mf_yaml_error(t, key,
                  "routes: 0.0.0.0/0 is required (the default "
                  "route)");
    return;
  }
  add_implicit_v6_default(t, key, p);
}
