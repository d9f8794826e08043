/* A reload in three steps: load (parse, build the policy: nothing changes
 * on any error), judge (a change that needs a restart is refused), apply
 * (the steps that can fail first, each undone if a later one fails). */
#include "daemon/reload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_diff.h"
#include "core/log.h"
#include "daemon/dataplane.h"
#include "dns/dns_server.h"
#include "hoststack/hoststack.h"

#define NS_PER_S 1000000000ull

/* Reports a line to the log and to the reply. */
static void say(mf_out_t *out, mf_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(mf_out_t *out, mf_log_level_t level, const char *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  mf_log(level, "%s", line);
  if (out)
    mf_out_printf(out, "%s\n", line);
}

/* The diagnostics of a failed load, one error a line, to both. */
static void say_errors(mf_out_t *out, const char *text, size_t len)
{
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n)
      say(out, MF_LOG_ERROR, "%.*s", (int)n, p);
    p += n + 1;
  }
}

/* Parses the profile and builds its policy; errors go to the reply and
 * the log. Returns the policy (and *next), or NULL. */
static mf_approute_t *load(const char *path, mf_profile_t **next,
                           mf_out_t *out)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  mf_diag_t diag = {.out = mem};
  mf_approute_t *ar = NULL;
  mf_profile_t *p = calloc(1, sizeof(*p));
  int rv = -1;
  if (p && path)
    rv = mf_profile_load_file(path, p, &diag);
  else if (p) {
    const char *def = mf_profile_default_text();
    rv = mf_profile_load_string(def, strlen(def), "<default>", p, &diag);
  }
  if (rv == 0)
    ar = mf_approute_create(p, &diag); /* reads the list files */
  if (mem)
    fclose(mem);
  if (!ar) {
    if (text && len)
      say_errors(out, text, len);
    else if (diag.first[0])
      say(out, MF_LOG_ERROR, "%s", diag.first);
    say(out, MF_LOG_ERROR, "reload: %s: %u error(s); nothing was changed",
        path ? path : "<default>", diag.n_errors ? diag.n_errors : 1);
    free(p);
    p = NULL;
  }
  free(text);
  *next = p;
  return ar;
}

/* Refused when the change needs a restart: the first differing key. */
static int judge(const mf_reload_target_t *t, const mf_profile_t *next,
                 mf_out_t *out)
{
  char key[160];
  if (mf_profile_diff_needs_restart(t->profile, next, key, sizeof(key))) {
    say(out, MF_LOG_ERROR,
        "reload refused: %s changed; a restart is needed to apply it "
        "(nothing was changed)", key);
    return -1;
  }
  const mf_hoststack_t *hs = t->vm->hs;
  if (hs && !mf_profile_diff_sessions_fit(next, hs->n_sessions)) {
    say(out, MF_LOG_ERROR,
        "reload refused: hoststack.max_sessions %u is above the %u sessions "
        "allocated at start; a restart is needed to apply it (nothing was "
        "changed)", next->hoststack.max_sessions, hs->n_sessions);
    return -1;
  }
  return 0;
}

/* Settings the profile changed; a run-time `set` of one it did not
 * change stays. */
static void apply_settings(mf_vm_t *vm, const mf_profile_t *old,
                           const mf_profile_t *next)
{
  const mf_hoststack_cfg_t *a = &old->hoststack, *b = &next->hoststack;
  mf_hoststack_t *hs = vm->hs;
  if (hs && a->max_sessions != b->max_sessions)
    hs->limit = b->max_sessions;
  if (hs && a->tcp_connect_timeout_s != b->tcp_connect_timeout_s)
    hs->tcp_connect_ns = (uint64_t)b->tcp_connect_timeout_s * NS_PER_S;
  if (hs && a->tcp_idle_timeout_s != b->tcp_idle_timeout_s)
    hs->tcp_idle_ns = (uint64_t)b->tcp_idle_timeout_s * NS_PER_S;
  if (hs && a->udp_idle_timeout_s != b->udp_idle_timeout_s)
    hs->udp_idle_ns = (uint64_t)b->udp_idle_timeout_s * NS_PER_S;
  if (hs && a->icmp_idle_timeout_s != b->icmp_idle_timeout_s)
    hs->icmp_idle_ns = (uint64_t)b->icmp_idle_timeout_s * NS_PER_S;
  if (old->debug.tun_drop_ppm != next->debug.tun_drop_ppm) {
    vm->fault_drop_ppm = next->debug.tun_drop_ppm;
    if (vm->fault_rng == 0)
      vm->fault_rng = 0x9e3779b97f4a7c15ull;
  }
}

static bool same_prefixes(const mf_profile_t *a, const mf_cidr_set_cfg_t *x,
                          const mf_profile_t *b, const mf_cidr_set_cfg_t *y)
{
  if (x->n != y->n)
    return false;
  for (uint32_t i = 0; i < x->n; i++)
    if (!mf_prefix_equal(&a->approute.set_cidrs[x->first + i],
                         &b->approute.set_cidrs[y->first + i]))
      return false;
  return true;
}

/* Sets added, removed or changed (names loaded, or routed elsewhere for
 * domain sets; prefixes for cidr sets, whose routes count apart). */
static uint32_t sets_changed(const mf_reload_target_t *t,
                             const mf_profile_t *next, const mf_approute_t *ar)
{
  const mf_approute_t *o = t->approute;
  const mf_approute_cfg_t *oc = &t->profile->approute, *nc = &next->approute;
  uint32_t n = 0;
  for (uint32_t k = 0; k < ar->n_sets; k++) {
    uint32_t j = mf_approute_find_set(o, ar->sets[k].name);
    n += j == MF_APPROUTE_NONE || o->sets[j].iface != ar->sets[k].iface ||
         o->sets[j].n_names != ar->sets[k].n_names;
  }
  for (uint32_t k = 0; k < o->n_sets; k++)
    n += mf_approute_find_set(ar, o->sets[k].name) == MF_APPROUTE_NONE;
  for (uint32_t k = 0; k < nc->n_cidr_sets; k++) {
    bool found = false;
    for (uint32_t j = 0; j < oc->n_cidr_sets && !found; j++)
      if (strcmp(oc->cidr_sets[j].name, nc->cidr_sets[k].name) == 0) {
        found = true;
        n += !same_prefixes(t->profile, &oc->cidr_sets[j], next,
                            &nc->cidr_sets[k]);
      }
    n += !found;
  }
  for (uint32_t j = 0; j < oc->n_cidr_sets; j++) {
    bool found = false;
    for (uint32_t k = 0; k < nc->n_cidr_sets && !found; k++)
      found = strcmp(oc->cidr_sets[j].name, nc->cidr_sets[k].name) == 0;
    n += !found;
  }
  return n;
}

/* The DNS server under the new policy: started, stopped or switched. */
static void apply_dns(mf_reload_target_t *t, const mf_approute_t *ar,
                      uint64_t now_ns, mf_dns_policy_change_t *ch)
{
  memset(ch, 0, sizeof(*ch));
  mf_dns_server_t *s = mf_dataplane_dns(t->vm);
  if (s && !ar->enabled) {
    mf_dns_routes_stats_t rs;
    mf_dns_routes_stats(mf_dns_server_routes(s), &rs);
    ch->routes.removed = rs.live;
    mf_dataplane_stop_dns(t->vm);
  } else if (s) {
    mf_dns_server_set_policy(s, ar, now_ns, ch);
    t->vm->dns_hijack = ar->hijack;
  }
}

int mf_reload_run(mf_reload_target_t *t, const char *path, uint64_t now_ns,
                  mf_out_t *out)
{
  const char *from = path ? path : t->start_path;
  mf_profile_t *next;
  mf_approute_t *ar = load(from, &next, out);
  if (!ar)
    return -1;
  if (judge(t, next, out) < 0) {
    mf_approute_destroy(ar);
    free(next);
    return -1;
  }
  /* What can fail comes first: starting the DNS server, then the FIB
   * (which undoes itself); after those nothing can. */
  bool dns_was = mf_dataplane_dns(t->vm) != NULL;
  bool started = !dns_was && ar->enabled;
  if (started && mf_dataplane_start_dns(t->vm, next, ar, now_ns) < 0) {
    say(out, MF_LOG_ERROR, "reload: cannot start the DNS server: out of "
                           "memory (nothing was changed)");
    mf_approute_destroy(ar);
    free(next);
    return -1;
  }
  mf_reload_routes_stats_t rs;
  int rv = mf_reload_routes(t->vm->fib, next, &rs);
  if (rv < 0) {
    if (started)
      mf_dataplane_stop_dns(t->vm);
    say(out, MF_LOG_ERROR, "reload: the FIB cannot take the new routes: %s "
                           "(nothing was changed)", strerror(-rv));
    mf_approute_destroy(ar);
    free(next);
    return -1;
  }
  uint32_t sets = sets_changed(t, next, ar);
  mf_dns_policy_change_t ch;
  apply_dns(t, ar, now_ns, &ch);
  apply_settings(t->vm, t->profile, next);
  /* The server points at ar now: the old policy has no user left. */
  mf_approute_destroy(t->approute);
  free(t->profile);
  t->approute = ar;
  t->profile = next;
  say(out, MF_LOG_INFO,
      "reload: %s: routes +%u -%u ~%u, sets changed %u, app_routing %s, "
      "host routes kept %u moved %u removed %u, %u queries answered "
      "SERVFAIL, %u cached answers dropped",
      next->source, rs.added, rs.removed, rs.changed, sets,
      !ar->enabled ? (dns_was ? "stopped" : "off")
                   : (started ? "started" : "on"),
      ch.routes.kept, ch.routes.moved, ch.routes.removed + ch.routes.lost,
      ch.servfail, ch.cache_flushed);
  return 0;
}
