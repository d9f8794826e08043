/* Which way the resolver is pointed (resolver.h), and the life of it:
 * cleanup after a crash, up at start, down at exit. The ways themselves
 * live in resolver_file.c and resolver_resolved.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "routing/resolver_internal.h"

const char *mf_resolver_mode_name(mf_resolver_mode_t m)
{
  switch (m) {
  case MF_RESOLVER_NONE: return "none";
  case MF_RESOLVER_FILE_MODE: return "file";
  case MF_RESOLVER_RESOLVED: return "systemd-resolved";
  case MF_RESOLVER_FAILED: return "failed";
  }
  return "?";
}

static const char *resolved_dir(const mf_resolver_cfg_t *cfg)
{
  const char *env = getenv(MF_RESOLVER_RESOLVED_DIR_ENV);
  if (cfg->resolved_dir)
    return cfg->resolved_dir;
  return env && *env ? env : MF_RESOLVER_RESOLVED_DIR;
}

static bool is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True when path lies inside dir (both already free of symlinks). */
static bool under(const char *path, const char *dir)
{
  size_t n = strlen(dir);
  return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* A symlink into resolved's run directory (its stub-resolv.conf, or
 * resolv.conf in its "uplink" mode) means resolved owns the file. When the
 * target is missing resolved is not running, but the file is still its. */
static bool links_to_resolved(const char *link, const char *real,
                              const char *rdir)
{
  char rreal[PATH_MAX];
  const char *rd = realpath(rdir, rreal) ? rreal : rdir;
  if (real)
    return under(real, rd);
  return under(link, rdir) || strstr(link, "systemd/resolve/") != NULL;
}

/* Picks the way for `file`; FILE_MODE puts the file to write (the
 * symlink's target, when it is one) in target. */
static mf_resolver_mode_t choose(const char *file, const char *rdir,
                                 char *target, size_t tsize, char *why,
                                 size_t whylen)
{
  struct stat st;
  char link[PATH_MAX] = "", real[PATH_MAX];
  bool is_link = lstat(file, &st) == 0 && S_ISLNK(st.st_mode);
  bool have_real = is_link && realpath(file, real) != NULL;
  if (is_link) {
    ssize_t n = readlink(file, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = 0;
  }
  bool resolvectl = mf_resolver_on_path("resolvectl");
  bool owned = is_link && links_to_resolved(link, have_real ? real : NULL,
                                            rdir);
  if (owned || (is_dir(rdir) && resolvectl)) {
    if (resolvectl)
      return MF_RESOLVER_RESOLVED;
    snprintf(why, whylen,
             "%s links to systemd-resolved's %s, but resolvectl is not on "
             "PATH; left alone", file, link);
    return MF_RESOLVER_FAILED;
  }
  if (is_link && (!have_real || stat(real, &st) < 0 || !S_ISREG(st.st_mode))) {
    snprintf(why, whylen,
             "%s links to %s, which is not a regular file; left alone", file,
             link);
    return MF_RESOLVER_FAILED;
  }
  if (snprintf(target, tsize, "%s", is_link ? real : file) >= (int)tsize) {
    snprintf(why, whylen, "%s: path too long", file);
    return MF_RESOLVER_FAILED;
  }
  if (is_link)
    mf_log_info("resolver: %s links to %s (not systemd-resolved); writing "
                "that file", file, real);
  return MF_RESOLVER_FILE_MODE;
}

/* "a, b, c" of the servers that mode can hand over. */
static void list_servers(mf_resolver_t *r, const mf_resolver_cfg_t *cfg,
                         bool port53_only)
{
  size_t at = 0;
  r->servers[0] = 0;
  for (uint32_t i = 0; i < cfg->n_servers; i++) {
    char text[64];
    if (port53_only && cfg->servers[i].port != 53) {
      mf_resolver_server_format(&cfg->servers[i], true, text, sizeof(text));
      mf_log_warn("resolver: %s is not on port 53, which resolv.conf cannot "
                  "say; left out", text);
      continue;
    }
    mf_resolver_server_format(&cfg->servers[i], !port53_only, text,
                              sizeof(text));
    int n = snprintf(r->servers + at, sizeof(r->servers) - at, "%s%s",
                     at ? ", " : "", text);
    if (n < 0 || (size_t)n >= sizeof(r->servers) - at)
      return;
    at += (size_t)n;
  }
}

static void point(mf_resolver_t *r, const mf_resolver_cfg_t *cfg)
{
  char target[MF_RESOLVER_PATH_MAX];
  const char *file = cfg->file ? cfg->file : MF_RESOLVER_FILE;
  r->mode = choose(file, resolved_dir(cfg), target, sizeof(target), r->why,
                   sizeof(r->why));
  if (r->mode == MF_RESOLVER_RESOLVED) {
    list_servers(r, cfg, false);
    snprintf(r->file, sizeof(r->file), "(link %s)", r->ifname);
    if (mf_resolver_resolved_point(r->ifname, cfg->servers, cfg->n_servers,
                                   r->why, sizeof(r->why)) < 0)
      r->mode = MF_RESOLVER_FAILED;
  } else if (r->mode == MF_RESOLVER_FILE_MODE) {
    list_servers(r, cfg, true);
    snprintf(r->file, sizeof(r->file), "%s", target);
    if (mf_resolver_file_point(target, r->prefix, r->ifname,
                               cfg->servers, cfg->n_servers, &r->record,
                               r->why, sizeof(r->why)) < 0)
      r->mode = MF_RESOLVER_FAILED;
    else if (r->record->had_original)
      mf_resolver_saved_path(r->prefix, true, r->saved, sizeof(r->saved));
  }
}

mf_resolver_t *mf_resolver_up(const mf_resolver_cfg_t *cfg)
{
  mf_resolver_t *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  snprintf(r->ifname, sizeof(r->ifname), "%s", cfg->ifname);
  if (cfg->saved_prefix && strlen(cfg->saved_prefix) < sizeof(r->prefix))
    strcpy(r->prefix, cfg->saved_prefix);
  if (cfg->off)
    snprintf(r->why, sizeof(r->why), "dns.system: off");
  else if (cfg->n_servers == 0)
    snprintf(r->why, sizeof(r->why),
             "no servers to hand over (app_routing off, dns.servers empty)");
  else if (!r->prefix[0]) {
    r->mode = MF_RESOLVER_FAILED;
    snprintf(r->why, sizeof(r->why), "run dir path missing or too long");
  } else
    point(r, cfg);
  if (r->mode == MF_RESOLVER_RESOLVED)
    mf_log_info("resolver: systemd-resolved sends every name to %s on %s",
                r->servers, r->ifname);
  else if (r->mode == MF_RESOLVER_FILE_MODE)
    mf_log_info("resolver: %s names %s (original kept in %s)", r->file,
                r->servers, r->saved[0] ? r->saved : "none: there was no file");
  else if (r->mode == MF_RESOLVER_FAILED)
    mf_log_error("resolver: %s; the system's DNS settings are unchanged",
                 r->why);
  else
    mf_log_info("resolver: not touched: %s", r->why);
  return r;
}

/* Puts rec's file back; on success or when someone else's version stays,
 * the record goes. Returns -1 with err when it must stay for a retry. */
static int restore(const mf_resolver_record_t *rec, const char *prefix,
                   char *err, size_t errlen)
{
  char why[256];
  int rc = mf_resolver_file_restore(rec, why, sizeof(why));
  if (rc == MF_RESOLVER_RESTORED)
    mf_log_info("resolver: %s %s", rec->file,
                rec->had_original ? "restored" : "removed (there was none)");
  else if (rc == MF_RESOLVER_LEFT)
    mf_log_warn("resolver: %s left as it is: %s", rec->file, why);
  if (rc < 0) {
    /* Bounded parts: an error line, not a path dump. */
    snprintf(err, errlen, "resolver: restoring %.240s: %.200s", rec->file, why);
    return -1;
  }
  mf_resolver_saved_remove(prefix);
  return 0;
}

/* A record of another namespace of this boot names another file than
 * /etc/resolv.conf is here: only that namespace can put it back. After a
 * reboot the files (on disk) are still there to compare. */
static int check_origin(const mf_resolver_record_t *rec, const char *prefix,
                        char *err, size_t errlen)
{
  mf_origin_t self;
  char theirs[160], ours[160];
  if (mf_origin_self(&self, err, errlen) < 0)
    return -1;
  if (!mf_origin_same_boot(&rec->origin, &self) ||
      mf_origin_same_netns(&rec->origin, &self))
    return 0;
  mf_origin_describe_netns(&rec->origin, theirs, sizeof(theirs));
  mf_origin_describe_netns(&self, ours, sizeof(ours));
  snprintf(err, errlen,
           "resolver record %s.resolv belongs to %s, but this process is in "
           "%s; not touching anything (start it in that namespace)",
           prefix, theirs, ours);
  return -1;
}

int mf_resolver_cleanup_stale(const char *saved_prefix, char *err,
                              size_t errlen)
{
  mf_resolver_record_t *rec;
  int found = mf_resolver_saved_load(saved_prefix, &rec, err, errlen);
  if (found <= 0)
    return found;
  if (check_origin(rec, saved_prefix, err, errlen) < 0) {
    mf_resolver_record_free(rec);
    return -1;
  }
  mf_log_info("resolver: an earlier run left %s pointed at its servers",
              rec->file);
  int rc = restore(rec, saved_prefix, err, errlen);
  mf_resolver_record_free(rec);
  return rc;
}

void mf_resolver_down(mf_resolver_t *r)
{
  char err[512];
  if (!r)
    return;
  if (r->mode == MF_RESOLVER_RESOLVED) {
    mf_resolver_resolved_revert(r->ifname);
    mf_log_info("resolver: systemd-resolved link %s reverted", r->ifname);
  }
  if (r->mode == MF_RESOLVER_FILE_MODE && r->record) {
    if (restore(r->record, r->prefix, err, sizeof(err)) < 0)
      mf_log_error("%s; the record stays for the next start", err);
  }
  mf_resolver_record_free(r->record);
  free(r);
}
