/* `mintflow reload [-c FILE]` and SIGHUP: a changed profile applied to the
 * running daemon, without a restart.
 *
 * The new profile is parsed and its App Routing policy built whole (list
 * files read) before anything changes; any error, or a change that needs
 * a restart (config/profile_diff.h), leaves everything as it was. Then,
 * between two graph runs: the FIB's profile routes become the new ones,
 * the DNS server takes the new policy (or starts, or stops, with
 * app_routing), and the host stack's and debug settings that the profile
 * changed take effect (run-time `set` values the profile did not change
 * stay). Host-stack sessions and WireGuard flows go on untouched.
 *
 * Threads: the worker that owns the FIB and the DNS server (the main loop,
 * between graph runs). */
#ifndef MF_DAEMON_RELOAD_H
#define MF_DAEMON_RELOAD_H

#include <stdint.h>

#include "config/profile.h"
#include "control/out.h"
#include "core/vm.h"
#include "fib/fib.h"
#include "routing/approute.h"

/* What the daemon runs on; a reload replaces profile and approute. */
typedef struct {
  mf_vm_t *vm;
  mf_profile_t *profile;    /* owned (heap) */
  mf_approute_t *approute;  /* owned (mf_approute_create); the DNS server
                               borrows it */
  const char *start_path;   /* the file started with; NULL: the default */
} mf_reload_target_t;

/* Loads path (NULL: t->start_path, and when that is NULL too the embedded
 * default profile) and applies it. Writes the errors (file:line:column,
 * as `mintflow check`) or a one-line summary to out (NULL: none) and to
 * the log. Returns 0, or -1 when nothing was changed. Packets it makes
 * (SERVFAILs) are injected: run the graph afterwards. */
int mf_reload_run(mf_reload_target_t *t, const char *path, uint64_t now_ns,
                  mf_out_t *out);

/* reload_routes.c: the FIB's profile paths made the profile's, touching
 * no other source and no path that stays as it was. */
typedef struct {
  uint32_t added, removed, changed; /* changed: another interface */
} mf_reload_routes_stats_t;

/* Returns 0, or -ENOMEM / -ENOSPC with the FIB as it was. */
int mf_reload_routes(mf_fib_t *fib, const mf_profile_t *next,
                     mf_reload_routes_stats_t *st);

#endif
