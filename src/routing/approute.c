/* App Routing compiled from a profile: every domain set's names (written
 * inline, and read here from its list files) in one matcher whose set ids
 * are the sets' declaration order; each set's interface and DNS group from
 * its route; the fallback; the upstream servers. */
#include "routing/approute.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/diag.h"
#include "dns/doh_list.h"
#include "dns/domain_lists.h"

_Static_assert(MF_APPROUTE_MAX_UPSTREAMS == MF_PROFILE_MAX_DNS_SERVERS,
               "one bound for the profile's and the policy's upstreams");
_Static_assert(MF_PROFILE_MAX_DOMAIN_SETS + 1 <= MF_DOMAIN_MAX_SETS,
               "every domain set and the DoH one need a matcher set id");
_Static_assert(MF_PROFILE_MAX_SET_ROUTES < MF_APPROUTE_DOH_RANK,
               "the DoH set ranks after every route");

/* One build: where names go and what is reported. */
typedef struct {
  const mf_profile_t *p;
  mf_approute_t *out;
  mf_diag_t *diag;
  mf_domain_builder_t *b;
  uint32_t set;   /* the set being loaded */
  mf_mark_t mark; /* the item names come from, for errors */
  bool failed;    /* an error was reported: the build fails */
} build_t;

static void report(build_t *bd, mf_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(build_t *bd, mf_mark_t mark, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_vreport(bd->diag, bd->p->source, mark, fmt, ap);
  va_end(ap);
  bd->failed = true;
}

static uint8_t group_of(const mf_profile_t *p, uint32_t iface)
{
  return mf_profile_iface_uses_vpn_dns(p, iface) ? MF_DNS_GROUP_VPN
                                                 : MF_DNS_GROUP_DIRECT;
}

static uint32_t copy_servers(const mf_dns_server_cfg_t *in, uint32_t n,
                             mf_dns_upstream_t *out)
{
  for (uint32_t k = 0; k < n; k++) {
    out[k].family = in[k].family;
    memcpy(out[k].addr, in[k].addr, sizeof(out[k].addr));
    out[k].port = in[k].port;
  }
  return n;
}

static void copy_dns(const mf_dns_cfg_t *dns, mf_approute_t *out)
{
  out->n_vpn = copy_servers(dns->vpn, dns->n_vpn, out->vpn);
  out->n_direct = copy_servers(dns->direct, dns->n_direct, out->direct);
  out->n_system = copy_servers(dns->servers, dns->n_servers, out->system);
  out->hijack = dns->hijack;
  out->block_answer = dns->block_answer;
  out->host_route_grace_s = dns->host_route_grace_s;
  out->max_host_routes = dns->max_host_routes;
}

/* Adds one name to the current set. Returns 0 to go on, or -1 when the
 * build cannot take more (reported). */
static int add_name(build_t *bd, const char *name, size_t len,
                    mf_domain_kind_t kind)
{
  mf_approute_set_t *set = &bd->out->sets[bd->set];
  mf_domain_result_t r = mf_domain_builder_add(bd->b, name, len, bd->set, kind);
  switch (r) {
  case MF_DOMAIN_R_OK:
  case MF_DOMAIN_R_OVERLAP: /* held for this set, for the name or below */
    set->n_names++;
    bd->out->names_loaded++;
    return 0;
  case MF_DOMAIN_R_DUPLICATE:
  case MF_DOMAIN_R_CONFLICT: /* the earlier set keeps it; counted there */
    return 0;
  case MF_DOMAIN_R_FULL:
    report(bd, bd->mark,
           "domain set '%s': more than %u names in all domain sets", set->name,
           MF_APPROUTE_MAX_NAMES);
    return -1;
  case MF_DOMAIN_R_NO_MEMORY:
    report(bd, bd->mark, "domain set '%s': out of memory loading names",
           set->name);
    return -1;
  default: /* not a name: the parsers and the profile checked already */
    set->lines_skipped++;
    bd->out->lines_skipped++;
    return 0;
  }
}

static int add_list_entry(void *ctx, const mf_domain_list_entry_t *e)
{
  return add_name(ctx, e->name, e->len, e->kind) < 0 ? -1 : 0;
}

/* Where a list file is: as written when absolute, else beside the
 * profile. Returns 0, or -1 with why in *why. */
static int resolve_path(const char *source, const char *path, char *out,
                        size_t size, const char **why)
{
  if (path[0] == '/') {
    snprintf(out, size, "%s", path);
    return 0;
  }
  /* "<default>", "<string>": text without a file, so without a directory. */
  if (source[0] == '<' || source[0] == 0) {
    *why = "a relative path needs a profile file to be relative to";
    return -1;
  }
  const char *slash = strrchr(source, '/');
  int n = slash ? snprintf(out, size, "%.*s/%s", (int)(slash - source), source,
                           path)
                : snprintf(out, size, "%s", path);
  if (n < 0 || (size_t)n >= size) {
    *why = "the path is too long";
    return -1;
  }
  return 0;
}

/* Reads a whole regular file of at most MF_APPROUTE_MAX_FILE_BYTES into a
 * malloc'd buffer. Returns it, or NULL with errno set (EFBIG: too large). */
static char *read_list(const char *path, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf = NULL;
  int err = 0;
  if (fd < 0)
    return NULL;
  if (fstat(fd, &st) < 0)
    err = errno;
  else if (S_ISDIR(st.st_mode))
    err = EISDIR;
  else if (!S_ISREG(st.st_mode))
    err = EINVAL;
  else if ((uint64_t)st.st_size > MF_APPROUTE_MAX_FILE_BYTES)
    err = EFBIG;
  else if (!(buf = malloc((size_t)st.st_size + 1)))
    err = ENOMEM;
  size_t n = 0;
  while (!err && n <= (size_t)st.st_size) {
    /* One byte more than the size: a file that grew is refused, not cut. */
    ssize_t got = read(fd, buf + n, (size_t)st.st_size + 1 - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      err = errno;
    else if (got == 0)
      break;
    else
      n += (size_t)got;
  }
  if (!err && n > (size_t)st.st_size)
    err = EFBIG;
  close(fd);
  if (err) {
    free(buf);
    errno = err;
    return NULL;
  }
  *len = n;
  return buf;
}

static void load_file(build_t *bd, const mf_domain_set_cfg_t *cfg,
                      const mf_list_file_cfg_t *f)
{
  mf_approute_set_t *set = &bd->out->sets[bd->set];
  char path[PATH_MAX];
  const char *why = NULL;
  size_t len = 0;
  bd->mark = f->mark;
  if (resolve_path(bd->p->source, f->path, path, sizeof(path), &why) < 0) {
    report(bd, f->mark, "domain set '%s': %s: %s", set->name, f->path, why);
    return;
  }
  char *text = read_list(path, &len);
  if (!text) {
    if (errno == EFBIG)
      report(bd, f->mark, "domain set '%s': %s is larger than %u MiB; split it",
             set->name, path, MF_APPROUTE_MAX_FILE_BYTES >> 20);
    else
      report(bd, f->mark, "domain set '%s': cannot read %s: %s", set->name,
             path, errno == EINVAL ? "not a regular file" : strerror(errno));
    return;
  }
  mf_domain_lists_stats_t st;
  mf_domain_lists_parse(text, len, (mf_domain_list_format_t)cfg->format,
                        add_list_entry, bd, &st);
  free(text);
  for (int r = 0; r < MF_DOMAIN_LISTS_N_SKIP; r++)
    if (r != MF_DOMAIN_LISTS_SKIP_BLANK && r != MF_DOMAIN_LISTS_SKIP_COMMENT) {
      set->lines_skipped += st.skipped[r];
      bd->out->lines_skipped += st.skipped[r];
    }
  set->n_files++;
}

/* The built-in set: loaded last, so a name a user's set holds stays
 * the user's (the matcher keeps the first set of a name). */
static void load_doh(build_t *bd)
{
  uint32_t n;
  const mf_doh_name_t *names = mf_doh_list(&n);
  bd->set = bd->out->doh_set;
  bd->mark = bd->p->approute.dns.mark;
  for (uint32_t i = 0; i < n && !bd->failed; i++)
    add_name(bd, names[i].name, strlen(names[i].name),
             names[i].exact ? MF_DOMAIN_EXACT : MF_DOMAIN_SUFFIX);
}

static void load_set(build_t *bd, uint32_t k)
{
  const mf_approute_cfg_t *c = &bd->p->approute;
  const mf_domain_set_cfg_t *cfg = &c->domain_sets[k];
  bd->set = k;
  for (uint32_t i = 0; i < cfg->n_names && !bd->failed; i++) {
    const mf_domain_name_cfg_t *n = &c->names[cfg->first_name + i];
    bd->mark = n->mark;
    add_name(bd, mf_profile_domain_name(bd->p, n), n->len,
             n->exact ? MF_DOMAIN_EXACT : MF_DOMAIN_SUFFIX);
  }
  for (uint32_t i = 0; i < cfg->n_files && !bd->failed; i++)
    load_file(bd, cfg, &c->files[cfg->first_file + i]);
}

/* A WireGuard interface without an IPv6 address has no IPv6 path:
 * wg-output drops IPv6 for it (no-address-family). */
static bool iface_lacks_ipv6(const mf_profile_t *p, uint32_t iface)
{
  if (iface >= p->n_ifaces || p->ifaces[iface].type != MF_IF_WIREGUARD ||
      p->ifaces[iface].wg >= p->n_wg)
    return false;
  const mf_wg_cfg_t *wg = &p->wg[p->ifaces[iface].wg];
  for (uint32_t k = 0; k < wg->n_addresses; k++)
    if (wg->addresses[k].family == AF_INET6)
      return false;
  return true;
}

static void route_set(const mf_profile_t *p, mf_approute_set_t *set,
                      uint32_t iface, uint16_t rank)
{
  set->iface = iface;
  set->group = group_of(p, iface);
  set->rank = rank;
  set->no_ipv6 = iface_lacks_ipv6(p, iface);
}

/* Names, interface, group and rank of each set; the fallback. */
static int fill_sets(const mf_profile_t *p, mf_approute_t *out)
{
  const mf_approute_cfg_t *c = &p->approute;
  uint32_t n = c->n_domain_sets + (c->dns.block_doh ? 1 : 0);
  if (n) {
    out->sets = calloc(n, sizeof(*out->sets));
    if (!out->sets)
      return -1;
    out->n_sets = n;
  }
  for (uint32_t k = 0; k < c->n_domain_sets; k++) {
    snprintf(out->sets[k].name, sizeof(out->sets[k].name), "%s",
             c->domain_sets[k].name);
    out->sets[k].iface = MF_APPROUTE_NONE;
    out->sets[k].group = MF_DNS_GROUP_DIRECT;
  }
  if (c->dns.block_doh) {
    out->doh_set = c->n_domain_sets;
    mf_approute_set_t *doh = &out->sets[out->doh_set];
    snprintf(doh->name, sizeof(doh->name), "%s", MF_APPROUTE_DOH_SET_NAME);
    route_set(p, doh, c->dns.doh_iface, MF_APPROUTE_DOH_RANK);
  }
  for (uint32_t r = 0; r < c->n_routes; r++) {
    const mf_set_route_cfg_t *sr = &c->routes[r];
    if (sr->kind == MF_SET_ROUTE_DOMAIN && sr->set < c->n_domain_sets) {
      route_set(p, &out->sets[sr->set], sr->iface, (uint16_t)r);
    } else if (sr->kind == MF_SET_ROUTE_FALLBACK) {
      out->fallback_iface = sr->iface;
      out->fallback_group = group_of(p, sr->iface);
    }
  }
  return 0;
}

int mf_approute_build(const mf_profile_t *p, mf_approute_t *out,
                      mf_diag_t *diag)
{
  build_t bd = {.p = p, .out = out, .diag = diag};
  memset(out, 0, sizeof(*out));
  out->enabled = p->approute.enabled;
  out->fallback_iface = MF_APPROUTE_NONE;
  out->fallback_group = MF_DNS_GROUP_DIRECT;
  out->doh_set = MF_APPROUTE_NONE;
  copy_dns(&p->approute.dns, out);
  /* Without App Routing no query is matched: the lists are not read. */
  if (!out->enabled)
    return 0;
  if (fill_sets(p, out) < 0) {
    report(&bd, (mf_mark_t){0, 0}, "out of memory for the domain sets");
    return -1;
  }
  if (out->n_sets == 0)
    return 0;
  bd.b = mf_domain_builder_new(MF_APPROUTE_MAX_NAMES, 0);
  if (!bd.b) {
    report(&bd, (mf_mark_t){0, 0}, "out of memory for the domain sets");
    mf_approute_free(out);
    return -1;
  }
  for (uint32_t k = 0; k < p->approute.n_domain_sets && !bd.failed; k++)
    load_set(&bd, k);
  if (out->doh_set != MF_APPROUTE_NONE && !bd.failed)
    load_doh(&bd);
  if (bd.failed) {
    mf_domain_builder_free(bd.b);
    mf_approute_free(out);
    return -1;
  }
  out->conflicts = mf_domain_builder_stats(bd.b)->conflicts;
  out->domains = mf_domain_builder_compile(bd.b);
  if (!out->domains) {
    report(&bd, (mf_mark_t){0, 0}, "out of memory compiling the domain sets");
    mf_approute_free(out);
    return -1;
  }
  return 0;
}

void mf_approute_free(mf_approute_t *a)
{
  if (!a)
    return;
  mf_domain_match_free(a->domains);
  free(a->sets);
  a->domains = NULL;
  a->sets = NULL;
  a->n_sets = 0;
  a->doh_set = MF_APPROUTE_NONE;
}

uint32_t mf_approute_match(const mf_approute_t *a, const char *name, size_t len)
{
  if (!a || !a->domains)
    return MF_APPROUTE_NONE;
  uint32_t set = mf_domain_match_lookup(a->domains, name, len, NULL);
  return set == MF_DOMAIN_NO_SET ? MF_APPROUTE_NONE : set;
}

mf_approute_t *mf_approute_create(const mf_profile_t *p, mf_diag_t *diag)
{
  mf_approute_t *a = calloc(1, sizeof(*a));
  if (!a) {
    mf_diag_report(diag, p->source, (mf_mark_t){0, 0},
                   "out of memory for the App Routing policy");
    return NULL;
  }
  if (mf_approute_build(p, a, diag) < 0) {
    free(a);
    return NULL;
  }
  return a;
}

void mf_approute_destroy(mf_approute_t *a)
{
  mf_approute_free(a);
  free(a);
}

uint32_t mf_approute_find_set(const mf_approute_t *a, const char *name)
{
  for (uint32_t k = 0; a && k < a->n_sets; k++)
    if (strcmp(a->sets[k].name, name) == 0)
      return k;
  return MF_APPROUTE_NONE;
}
