/* App Routing in a profile: the app_routing switch, domain sets (names
 * written inline and list files, read later by routing/approute.c), CIDR
 * sets, and the route items that send a set, or the DNS fallback, to an
 * interface. CIDR set routes become ordinary routes here, so that the data
 * plane installs them as it installs any cidr route. */
#include <stdio.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"
#include "dns/domain_lists.h"
#include "dns/domain_match.h"

enum { F_NAMES, F_FILES, F_FORMAT, F_N };

typedef enum { SET_DOMAIN, SET_CIDR } set_kind_t;

static const char *const set_words[] = {
    [SET_DOMAIN] = "domain set", [SET_CIDR] = "cidr set"};

void mf_profile_parse_app_routing(const mf_yaml_tree_t *t, uint32_t key,
                                  uint32_t value, mf_profile_t *p)
{
  if (key == MF_YAML_NONE)
    return;
  p->approute.mark = mf_profile_mark(t, key);
  mf_yaml_read_bool(t, value, "app_routing", &p->approute.enabled);
}

static int find_set(const mf_profile_t *p, set_kind_t kind, const char *name)
{
  const mf_approute_cfg_t *a = &p->approute;
  uint32_t n = kind == SET_DOMAIN ? a->n_domain_sets : a->n_cidr_sets;
  for (uint32_t k = 0; k < n; k++)
    if (strcmp(kind == SET_DOMAIN ? a->domain_sets[k].name
                                  : a->cidr_sets[k].name,
               name) == 0)
      return (int)k;
  return -1;
}

static mf_mark_t set_mark(const mf_profile_t *p, set_kind_t kind, int k)
{
  return kind == SET_DOMAIN ? p->approute.domain_sets[k].mark
                            : p->approute.cidr_sets[k].mark;
}

/* Reads a set's name (a mapping key) into out; returns 0, or -1 after
 * reporting why it cannot be a new set. */
static int read_set_name(const mf_yaml_tree_t *t, uint32_t key, set_kind_t kind,
                         const mf_profile_t *p,
                         char out[MF_PROFILE_SET_NAME_MAX + 1])
{
  const mf_yaml_node_t *n = mf_yaml_node(t, key);
  const char *s = mf_yaml_text(t, key);
  char q[MF_DIAG_QUOTE_MAX + 4];
  if (n->kind == MF_YAML_BAD)
    return -1;
  if (n->kind != MF_YAML_SCALAR) {
    mf_yaml_error(t, key, "%s names must be strings", set_words[kind]);
    return -1;
  }
  mf_diag_quote(s, n->len, q, sizeof(q));
  if (strlen(s) != n->len ||
      !mf_profile_name_ok(s, n->len, MF_PROFILE_SET_NAME_MAX)) {
    mf_yaml_error(t, key,
                  "'%s' is not a valid %s name (1..%u characters of A-Z a-z "
                  "0-9 _ . -)",
                  q, set_words[kind], MF_PROFILE_SET_NAME_MAX);
    return -1;
  }
  int dup = find_set(p, kind, s);
  if (dup >= 0) {
    mf_mark_t m = set_mark(p, kind, dup);
    mf_yaml_error(t, key, "duplicate %s '%s' (first at %u:%u)", set_words[kind],
                  q, m.line, m.column);
    return -1;
  }
  memcpy(out, s, n->len + 1);
  return 0;
}

/* "=x.com" is exact; "*.x.com" is a suffix entry for x.com, as the list
 * parsers take it (domain_lists.h); anything else a suffix entry. */
/* Returns 0, or -1 when the profile holds no more names (reported). */
static int read_inline_name(const mf_yaml_tree_t *t, uint32_t i,
                            mf_profile_t *p)
{
  mf_approute_cfg_t *a = &p->approute;
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "names", &s, &len) < 0)
    return 0;
  bool exact = len > 0 && s[0] == '=';
  const char *name = s + exact;
  size_t name_len = len - exact;
  if (!exact && name_len > 2 && name[0] == '*' && name[1] == '.')
    name += 2, name_len -= 2;
  char norm[MF_DOMAIN_NAME_MAX + 1];
  size_t norm_len = 0;
  mf_domain_result_t r =
      strlen(s) == len
          ? mf_domain_name_normalize(name, name_len, norm, &norm_len)
          : MF_DOMAIN_R_BAD_CHAR;
  if (r != MF_DOMAIN_R_OK) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(s, len, q, sizeof(q));
    mf_yaml_error(t, i, "names: '%s' is not a domain name: %s", q,
                  mf_domain_result_text(r));
    return 0;
  }
  if (a->n_names == MF_PROFILE_MAX_INLINE_NAMES ||
      a->name_text_len + norm_len + 1 > MF_PROFILE_INLINE_TEXT) {
    mf_yaml_error(t, i,
                  "names: at most %u names (%u bytes) in the profile; put "
                  "long lists in files",
                  MF_PROFILE_MAX_INLINE_NAMES, MF_PROFILE_INLINE_TEXT);
    return -1;
  }
  mf_domain_name_cfg_t *n = &a->names[a->n_names++];
  n->text = a->name_text_len;
  n->len = (uint8_t)norm_len;
  n->exact = exact;
  n->mark = mf_profile_mark(t, i);
  memcpy(a->name_text + a->name_text_len, norm, norm_len + 1);
  a->name_text_len += (uint32_t)norm_len + 1;
  return 0;
}

/* Reports at node i once when a list is over its bound; returns true to
 * stop reading it. */
static bool over(const mf_yaml_tree_t *t, uint32_t i, uint32_t n, uint32_t max,
                 const char *fmt)
{
  if (n < max)
    return false;
  mf_yaml_error(t, i, fmt, max);
  return true;
}

static void read_names(const mf_yaml_tree_t *t, uint32_t list, mf_profile_t *p)
{
  if (mf_yaml_is_null(t, list))
    return;
  if (mf_yaml_expect(t, list, MF_YAML_SEQ, "names") < 0)
    return;
  for (uint32_t i = mf_yaml_node(t, list)->first; i != MF_YAML_NONE;
       i = mf_yaml_node(t, i)->next)
    if (read_inline_name(t, i, p) < 0)
      return; /* reported once */
}

static bool path_ok(const char *s, size_t len)
{
  if (len == 0 || len >= MF_PROFILE_LIST_PATH_MAX || strlen(s) != len)
    return false;
  for (size_t k = 0; k < len; k++)
    if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
      return false;
  return true;
}

static void read_files(const mf_yaml_tree_t *t, uint32_t list,
                       mf_domain_set_cfg_t *set, mf_profile_t *p)
{
  mf_approute_cfg_t *a = &p->approute;
  if (mf_yaml_is_null(t, list))
    return;
  if (mf_yaml_expect(t, list, MF_YAML_SEQ, "files") < 0)
    return;
  for (uint32_t i = mf_yaml_node(t, list)->first; i != MF_YAML_NONE;
       i = mf_yaml_node(t, i)->next) {
    const char *s;
    size_t len;
    if (over(t, i, set->n_files, MF_PROFILE_MAX_SET_FILES,
             "files: at most %u files per domain set") ||
        over(t, i, a->n_files, MF_PROFILE_MAX_LIST_FILES,
             "files: at most %u list files in all domain sets"))
      return;
    if (mf_yaml_read_string(t, i, "files", &s, &len) < 0)
      continue;
    if (!path_ok(s, len)) {
      char q[MF_DIAG_QUOTE_MAX + 4];
      mf_diag_quote(s, len, q, sizeof(q));
      mf_yaml_error(t, i,
                    "files: '%s' is not a usable path (1..%u bytes, no "
                    "control characters)",
                    q, MF_PROFILE_LIST_PATH_MAX - 1);
      continue;
    }
    mf_list_file_cfg_t *f = &a->files[a->n_files++];
    memcpy(f->path, s, len + 1);
    f->mark = mf_profile_mark(t, i);
    set->n_files++;
  }
}

static void read_format(const mf_yaml_tree_t *t, uint32_t i,
                        mf_domain_set_cfg_t *set)
{
  const char *s;
  size_t len;
  mf_domain_list_format_t f;
  if (mf_yaml_read_string(t, i, "format", &s, &len) < 0)
    return;
  if (strlen(s) != len || mf_domain_lists_format_parse(s, &f) < 0) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(s, len, q, sizeof(q));
    mf_yaml_error(t, i,
                  "format: unknown list format '%s' (known: auto, plain, "
                  "hosts, adblock, dnsmasq)",
                  q);
    return;
  }
  set->format = (uint8_t)f;
}

/* A set's value: a list of names, or a mapping of names, files, format. */
static void read_domain_set(const mf_yaml_tree_t *t, uint32_t value,
                            mf_domain_set_cfg_t *set, mf_profile_t *p)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, value);
  set->first_name = p->approute.n_names;
  set->first_file = p->approute.n_files;
  if (mf_yaml_is_null(t, value) || n->kind == MF_YAML_BAD)
    return;
  if (n->kind == MF_YAML_SEQ) {
    read_names(t, value, p);
  } else if (n->kind == MF_YAML_MAP) {
    mf_yaml_field_t f[F_N] = {[F_NAMES] = {.name = "names"},
                              [F_FILES] = {.name = "files"},
                              [F_FORMAT] = {.name = "format"}};
    mf_yaml_read_fields(t, value, "in domain set", f, F_N);
    if (f[F_NAMES].value != MF_YAML_NONE)
      read_names(t, f[F_NAMES].value, p);
    if (f[F_FILES].value != MF_YAML_NONE)
      read_files(t, f[F_FILES].value, set, p);
    if (f[F_FORMAT].value != MF_YAML_NONE)
      read_format(t, f[F_FORMAT].value, set);
  } else {
    char got[MF_DIAG_QUOTE_MAX + 16];
    mf_yaml_describe(t, value, got, sizeof(got));
    mf_yaml_error(t, value,
                  "domain set '%s': expected a list of names or a mapping "
                  "with names, files and format, got %s",
                  set->name, got);
  }
  set->n_names = p->approute.n_names - set->first_name;
}

/* Calls each(t, key, value, p) for every pair of mapping node map, at
 * most max of them (an error at the first pair beyond). */
static void for_each_set(const mf_yaml_tree_t *t, uint32_t map,
                         const char *section, uint32_t max,
                         void (*each)(const mf_yaml_tree_t *, uint32_t,
                                      uint32_t, mf_profile_t *),
                         mf_profile_t *p)
{
  if (map == MF_YAML_NONE || mf_yaml_is_null(t, map))
    return;
  if (mf_yaml_expect(t, map, MF_YAML_MAP, section) < 0)
    return;
  uint32_t k = 0;
  for (uint32_t key = mf_yaml_node(t, map)->first; key != MF_YAML_NONE; k++) {
    uint32_t value = mf_yaml_node(t, key)->next;
    if (value == MF_YAML_NONE)
      break;
    if (k == max) {
      mf_yaml_error(t, key, "%s: at most %u sets", section, max);
      return;
    }
    each(t, key, value, p);
    key = mf_yaml_node(t, value)->next;
  }
}

static void add_domain_set(const mf_yaml_tree_t *t, uint32_t key,
                           uint32_t value, mf_profile_t *p)
{
  mf_domain_set_cfg_t *set =
      &p->approute.domain_sets[p->approute.n_domain_sets];
  memset(set, 0, sizeof(*set));
  if (read_set_name(t, key, SET_DOMAIN, p, set->name) < 0)
    return;
  set->mark = mf_profile_mark(t, key);
  read_domain_set(t, value, set, p);
  p->approute.n_domain_sets++;
}

void mf_profile_parse_domain_sets(const mf_yaml_tree_t *t, uint32_t value,
                                  mf_profile_t *p)
{
  for_each_set(t, value, "domain_sets", MF_PROFILE_MAX_DOMAIN_SETS,
               add_domain_set, p);
}

/* Returns 0 with the masked prefix in *out, or -1 after reporting. */
static int read_set_cidr(const mf_yaml_tree_t *t, uint32_t i, mf_prefix_t *out)
{
  if (mf_profile_read_prefix(t, i, "cidr_sets", out) < 0)
    return -1;
  if (mf_prefix_is_network(out))
    return 0;
  char given[64], net[64];
  mf_prefix_t masked = *out;
  mf_prefix_mask(&masked);
  mf_prefix_format(out, true, given, sizeof(given));
  mf_prefix_format(&masked, true, net, sizeof(net));
  mf_yaml_error(t, i, "%s has host bits set; did you mean %s?", given, net);
  return -1;
}

static void add_cidr_set(const mf_yaml_tree_t *t, uint32_t key, uint32_t value,
                         mf_profile_t *p)
{
  mf_approute_cfg_t *a = &p->approute;
  mf_cidr_set_cfg_t *set = &a->cidr_sets[a->n_cidr_sets];
  memset(set, 0, sizeof(*set));
  if (read_set_name(t, key, SET_CIDR, p, set->name) < 0)
    return;
  set->mark = mf_profile_mark(t, key);
  set->first = a->n_set_cidrs;
  a->n_cidr_sets++;
  if (mf_yaml_is_null(t, value) ||
      mf_yaml_expect(t, value, MF_YAML_SEQ, "cidr_sets") < 0)
    return;
  for (uint32_t i = mf_yaml_node(t, value)->first; i != MF_YAML_NONE;
       i = mf_yaml_node(t, i)->next) {
    if (over(t, i, a->n_set_cidrs, MF_PROFILE_MAX_SET_CIDRS,
             "cidr_sets: at most %u prefixes in all sets"))
      return;
    if (read_set_cidr(t, i, &a->set_cidrs[a->n_set_cidrs]) == 0) {
      a->n_set_cidrs++;
      set->n++;
    }
  }
}

void mf_profile_parse_cidr_sets(const mf_yaml_tree_t *t, uint32_t value,
                                mf_profile_t *p)
{
  for_each_set(t, value, "cidr_sets", MF_PROFILE_MAX_CIDR_SETS, add_cidr_set,
               p);
}

/* The set route of that kind and set already recorded, or NULL. */
static const mf_set_route_cfg_t *find_set_route(const mf_profile_t *p,
                                                uint8_t kind, uint32_t set)
{
  for (uint32_t r = 0; r < p->approute.n_routes; r++)
    if (p->approute.routes[r].kind == kind && p->approute.routes[r].set == set)
      return &p->approute.routes[r];
  return NULL;
}

/* Returns the index of the set named at node i, or -1 after reporting. */
static int read_routed_set(const mf_yaml_tree_t *t, uint32_t i, set_kind_t kind,
                           const mf_profile_t *p)
{
  const char *s;
  size_t len;
  const char *key = kind == SET_DOMAIN ? "domain_set" : "cidr_set";
  if (mf_yaml_read_string(t, i, key, &s, &len) < 0)
    return -1;
  int k = strlen(s) == len ? find_set(p, kind, s) : -1;
  if (k < 0) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(s, len, q, sizeof(q));
    mf_yaml_error(t, i, "%s: no %s named '%s' (declare it under %ss)", key,
                  set_words[kind], q, key);
  }
  return k;
}

void mf_profile_parse_set_route(const mf_yaml_tree_t *t, uint32_t item,
                                int which, uint32_t value, int iface,
                                mf_profile_t *p)
{
  mf_approute_cfg_t *a = &p->approute;
  mf_set_route_cfg_t r = {.mark = mf_profile_mark(t, item)};
  int set = 0;
  if (which == MF_PROFILE_ROUTE_DNS_FALLBACK) {
    bool on = false;
    r.kind = MF_SET_ROUTE_FALLBACK;
    if (mf_yaml_read_bool(t, value, "dns_fallback", &on) < 0)
      return;
    if (!on) {
      mf_yaml_error(t, value,
                    "dns_fallback: only 'true' means something; leave the "
                    "route out instead");
      return;
    }
  } else {
    set_kind_t kind =
        which == MF_PROFILE_ROUTE_DOMAIN_SET ? SET_DOMAIN : SET_CIDR;
    r.kind = kind == SET_DOMAIN ? MF_SET_ROUTE_DOMAIN : MF_SET_ROUTE_CIDR;
    set = read_routed_set(t, value, kind, p);
    if (set < 0)
      return;
  }
  r.set = (uint32_t)set;
  const mf_set_route_cfg_t *dup = find_set_route(p, r.kind, r.set);
  if (dup && r.kind == MF_SET_ROUTE_FALLBACK) {
    mf_yaml_error(t, item, "duplicate dns_fallback route (first at %u:%u)",
                  dup->mark.line, dup->mark.column);
    return;
  }
  if (dup) {
    mf_yaml_error(t, value, "%s '%s' is routed twice (first at %u:%u)",
                  r.kind == MF_SET_ROUTE_DOMAIN ? "domain set" : "cidr set",
                  r.kind == MF_SET_ROUTE_DOMAIN ? a->domain_sets[set].name
                                                : a->cidr_sets[set].name,
                  dup->mark.line, dup->mark.column);
    return;
  }
  /* Domain sets and the fallback work through the built-in DNS server,
   * which runs only with App Routing (the manual's DNS Server). */
  if (r.kind != MF_SET_ROUTE_CIDR && !a->enabled) {
    mf_yaml_error(t, item, "%s routes need app_routing: true",
                  r.kind == MF_SET_ROUTE_DOMAIN ? "domain_set"
                                                : "dns_fallback");
    return;
  }
  if (iface < 0 || a->n_routes == MF_PROFILE_MAX_SET_ROUTES)
    return; /* reported; the bound cannot be met: sets are bounded */
  r.iface = (uint32_t)iface;
  a->routes[a->n_routes++] = r;
}

static bool route_exists(const mf_profile_t *p, const mf_prefix_t *cidr)
{
  for (uint32_t r = 0; r < p->n_routes; r++)
    if (mf_prefix_equal(&p->routes[r].cidr, cidr))
      return true;
  return false;
}

static int expand_one(const mf_yaml_tree_t *t, const mf_set_route_cfg_t *sr,
                      mf_profile_t *p)
{
  const mf_cidr_set_cfg_t *set = &p->approute.cidr_sets[sr->set];
  for (uint32_t k = 0; k < set->n; k++) {
    const mf_prefix_t *cidr = &p->approute.set_cidrs[set->first + k];
    if (route_exists(p, cidr))
      continue; /* the cidr route, or the earlier set route, decides */
    if (p->n_routes == MF_PROFILE_MAX_ROUTES) {
      mf_yaml_error_at(t, sr->mark,
                       "routes: no room for cidr set '%s' (at most %u "
                       "routes, set prefixes included)",
                       set->name, MF_PROFILE_MAX_ROUTES);
      return -1;
    }
    mf_route_cfg_t *r = &p->routes[p->n_routes++];
    memset(r, 0, sizeof(*r));
    r->cidr = *cidr;
    r->iface = sr->iface;
    r->set = (uint16_t)(sr->set + 1);
    r->mark = sr->mark;
  }
  return 0;
}

int mf_profile_expand_cidr_sets(const mf_yaml_tree_t *t, mf_profile_t *p)
{
  for (uint32_t r = 0; r < p->approute.n_routes; r++)
    if (p->approute.routes[r].kind == MF_SET_ROUTE_CIDR &&
        expand_one(t, &p->approute.routes[r], p) < 0)
      return -1;
  return 0;
}

void mf_profile_check_app_routing(const mf_yaml_tree_t *t,
                                  const mf_profile_t *p)
{
  const mf_approute_cfg_t *a = &p->approute;
  for (uint32_t k = 0; k < a->n_routes; k++) {
    const mf_set_route_cfg_t *r = &a->routes[k];
    if (r->kind == MF_SET_ROUTE_CIDR)
      continue;
    bool vpn = mf_profile_iface_uses_vpn_dns(p, r->iface);
    if ((vpn ? a->dns.n_vpn : a->dns.n_direct) > 0)
      continue;
    char what[MF_PROFILE_SET_NAME_MAX + 32];
    if (r->kind == MF_SET_ROUTE_DOMAIN)
      snprintf(what, sizeof(what), "domain set '%s'",
               a->domain_sets[r->set].name);
    else
      snprintf(what, sizeof(what), "the dns fallback");
    mf_yaml_error_at(t, r->mark,
                     "%s goes to '%s': its names need DNS servers in "
                     "dns.%s",
                     what, p->ifaces[r->iface].name, vpn ? "vpn" : "direct");
  }
}
