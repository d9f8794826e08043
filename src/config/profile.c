/* Loading a profile: the file, the YAML document, the top-level keys. The
 * sections live in profile_tun.c, profile_ifaces.c, profile_approute.c
 * (app_routing, domain_sets, cidr_sets), profile_dns.c, profile_routes.c
 * and profile_hoststack.c. */
#include "config/profile.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"
#include "config/yaml_tree.h"

enum {
  F_TUN,
  F_INTERFACES,
  F_APP_ROUTING,
  F_DOMAIN_SETS,
  F_CIDR_SETS,
  F_DNS,
  F_ROUTES,
  F_HOSTSTACK,
  F_DEBUG,
  F_N
};

int mf_profile_find_iface(const mf_profile_t *p, const char *name)
{
  if (!name)
    return -1;
  for (uint32_t k = 0; k < p->n_ifaces; k++)
    if (strcmp(p->ifaces[k].name, name) == 0)
      return (int)k;
  return -1;
}

const char *mf_profile_route_set_name(const mf_profile_t *p,
                                      const mf_route_cfg_t *r)
{
  if (r->set == 0 || r->set > p->approute.n_cidr_sets)
    return NULL;
  return p->approute.cidr_sets[r->set - 1].name;
}

bool mf_profile_iface_uses_vpn_dns(const mf_profile_t *p, uint32_t iface)
{
  if (iface >= p->n_ifaces)
    return false;
  switch (p->ifaces[iface].type) {
  case MF_IF_DIRECT:
  case MF_IF_DROP:
  case MF_IF_REJECT:
    return false;
  default:
    return true; /* L3VPN and L4Proxy interfaces */
  }
}

static void set_source(mf_profile_t *p, const char *name)
{
  size_t n = strnlen(name, sizeof(p->source) - 1);
  memcpy(p->source, name, n);
  p->source[n] = 0;
}

static void parse_document(const mf_yaml_tree_t *t, mf_profile_t *p)
{
  mf_yaml_field_t f[F_N] = {[F_TUN] = {.name = "tun"},
                            [F_INTERFACES] = {.name = "interfaces"},
                            [F_APP_ROUTING] = {.name = "app_routing"},
                            [F_DOMAIN_SETS] = {.name = "domain_sets"},
                            [F_CIDR_SETS] = {.name = "cidr_sets"},
                            [F_DNS] = {.name = "dns"},
                            [F_ROUTES] = {.name = "routes"},
                            [F_HOSTSTACK] = {.name = "hoststack"},
                            [F_DEBUG] = {.name = "debug"}};
  if (t->root == MF_YAML_NONE || mf_yaml_is_null(t, t->root)) {
    mf_yaml_error_at(t, (mf_mark_t){1, 1},
                     "the profile is empty; expected a mapping with tun, "
                     "interfaces and routes");
    return;
  }
  if (mf_yaml_node(t, t->root)->kind == MF_YAML_BAD)
    return; /* reported */
  if (mf_yaml_node(t, t->root)->kind != MF_YAML_MAP) {
    char got[MF_DIAG_QUOTE_MAX + 16];
    mf_yaml_describe(t, t->root, got, sizeof(got));
    mf_yaml_error(t, t->root,
                  "expected a mapping with tun, interfaces "
                  "and routes at the top level, got %s",
                  got);
    return;
  }
  mf_yaml_read_fields(t, t->root, "at the top level", f, F_N);
  /* In dependency order, whatever the order in the file. */
  mf_profile_parse_tun(t, f[F_TUN].value, p);
  mf_profile_parse_ifaces(t, f[F_INTERFACES].value, p);
  mf_profile_parse_app_routing(t, f[F_APP_ROUTING].key, f[F_APP_ROUTING].value,
                               p);
  mf_profile_parse_domain_sets(t, f[F_DOMAIN_SETS].value, p);
  mf_profile_parse_cidr_sets(t, f[F_CIDR_SETS].value, p);
  mf_profile_parse_dns(t, f[F_DNS].key, f[F_DNS].value, p);
  mf_profile_parse_routes(t, f[F_ROUTES].key, f[F_ROUTES].value, p);
  mf_profile_check_app_routing(t, p);
  mf_profile_parse_hoststack(t, f[F_HOSTSTACK].key, f[F_HOSTSTACK].value, p);
  mf_profile_parse_debug(t, f[F_DEBUG].value, p);
}

int mf_profile_load_string(const char *text, size_t len, const char *name,
                           mf_profile_t *out, mf_diag_t *diag)
{
  mf_diag_t quiet = {0};
  if (!diag)
    diag = &quiet;
  memset(out, 0, sizeof(*out));
  set_source(out, name ? name : "<string>");
  mf_profile_tun_defaults(&out->tun);
  mf_profile_hoststack_defaults(&out->hoststack);
  mf_profile_dns_defaults(&out->approute.dns);
  mf_diag_batch_t errs;
  mf_diag_batch_init(&errs, diag, out->source);
  mf_yaml_tree_t t;
  if (mf_yaml_tree_load(&t, text ? text : "", text ? len : 0, &errs) == 0)
    parse_document(&t, out);
  mf_yaml_tree_free(&t);
  bool failed = mf_diag_batch_count(&errs) > 0;
  mf_diag_batch_flush(&errs);
  return failed ? -1 : 0;
}

/* Reads the whole file into a malloc'd buffer; at most one byte more than
 * the YAML bound, so that an oversized file is told apart. */
static char *read_file(const char *path, size_t *len, int *err)
{
  FILE *f = fopen(path, "rbe");
  if (!f) {
    *err = errno;
    return NULL;
  }
  size_t cap = 0, n = 0;
  char *buf = NULL;
  *err = 0;
  for (;;) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16384;
      if (ncap > MF_YAML_MAX_INPUT + 1)
        ncap = MF_YAML_MAX_INPUT + 1;
      if (ncap == cap)
        break; /* bound reached */
      char *nb = realloc(buf, ncap);
      if (!nb) {
        *err = ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f))
        *err = errno ? errno : EIO;
      break;
    }
  }
  fclose(f);
  if (*err) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

int mf_profile_load_file(const char *path, mf_profile_t *out, mf_diag_t *diag)
{
  mf_diag_t quiet = {0};
  if (!diag)
    diag = &quiet;
  memset(out, 0, sizeof(*out));
  set_source(out, path ? path : "<none>");
  if (!path) {
    mf_diag_report(diag, out->source, (mf_mark_t){0, 0},
                   "no profile file given");
    return -1;
  }
  size_t len = 0;
  int err;
  char *text = read_file(path, &len, &err);
  if (!text && err) {
    mf_diag_report(diag, out->source, (mf_mark_t){0, 0}, "cannot read: %s",
                   strerror(err));
    return -1;
  }
  if (len > MF_YAML_MAX_INPUT) {
    mf_diag_report(diag, out->source, (mf_mark_t){0, 0},
                   "the profile is larger than %u bytes", MF_YAML_MAX_INPUT);
    free(text);
    return -1;
  }
  int rc = mf_profile_load_string(text, len, path, out, diag);
  OPENSSL_cleanse(text, len); /* it may hold private keys */
  free(text);
  return rc;
}
