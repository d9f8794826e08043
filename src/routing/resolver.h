/* Pointing the machine's resolver at the daemon's DNS servers, and back.
 *
 * Two ways, chosen at start:
 *  - systemd-resolved (its run directory exists and `resolvectl` is on
 *    PATH, or /etc/resolv.conf links to its stub): the TUN link gets the
 *    servers, the routing domain `~.` and the default-route flag, so that
 *    resolved sends every name there. The link vanishes with the TUN and
 *    resolved forgets it by itself; a clean exit still reverts it.
 *  - otherwise /etc/resolv.conf, rewritten in place (never renamed over:
 *    it is often a bind mount, under `ip netns exec` and in containers).
 *    Before it is touched, the original bytes are saved next to the state
 *    file, with a record of what we wrote; on exit, or at the next start
 *    after a crash, the original is written back only if the file still
 *    holds exactly what we wrote. A change by someone else wins.
 *
 * Failing to point the resolver never stops the daemon: the reason is
 * logged and shown by `mintflow show resolver`. Main thread only. */
#ifndef MF_ROUTING_RESOLVER_H
#define MF_ROUTING_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_RESOLVER_MAX_SERVERS 8
#define MF_RESOLVER_FILE "/etc/resolv.conf"
#define MF_RESOLVER_RESOLVED_DIR "/run/systemd/resolve"
/* Test hook: where to look for resolved's run directory instead. */
#define MF_RESOLVER_RESOLVED_DIR_ENV "MINTFLOW_RESOLVED_DIR"
/* Bigger resolv.conf files are left alone (glibc reads far less). */
#define MF_RESOLVER_FILE_MAX (64u * 1024)
#define MF_RESOLVER_PATH_MAX 4096
/* One resolvectl call may take this long before it is killed. */
#define MF_RESOLVER_EXEC_TIMEOUT_MS 5000

typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint16_t port;  /* resolv.conf can only say 53; others are skipped there */
} mf_resolver_server_t;

typedef enum {
  MF_RESOLVER_NONE,     /* not asked to, or nothing to hand over */
  MF_RESOLVER_FILE_MODE,
  MF_RESOLVER_RESOLVED,
  MF_RESOLVER_FAILED,   /* asked, but could not; why says */
} mf_resolver_mode_t;

typedef struct {
  const char *ifname;       /* the TUN, up */
  const char *file;         /* NULL: /etc/resolv.conf */
  const char *saved_prefix; /* RUN_DIR/TUN: the original goes to
                               PREFIX.resolv.orig, our record to
                               PREFIX.resolv */
  const char *resolved_dir; /* NULL: $MINTFLOW_RESOLVED_DIR, else
                               /run/systemd/resolve */
  bool off;                 /* dns.system: off */
  mf_resolver_server_t servers[MF_RESOLVER_MAX_SERVERS];
  uint32_t n_servers;
} mf_resolver_cfg_t;

/* What was done, for `show resolver`. Owned by the daemon. */
typedef struct mf_resolver {
  mf_resolver_mode_t mode;
  char ifname[16];
  char file[MF_RESOLVER_PATH_MAX];  /* the file written (symlinks followed) */
  char saved[MF_RESOLVER_PATH_MAX]; /* the original's copy; "" when the
                                       file did not exist before */
  char servers[MF_RESOLVER_MAX_SERVERS * 48]; /* "a, b", as handed over */
  char why[512];                    /* NONE/FAILED: the reason */
  char prefix[MF_RESOLVER_PATH_MAX]; /* cfg.saved_prefix */
  struct mf_resolver_record *record; /* FILE_MODE: what to restore */
} mf_resolver_t;

/* Restores what an earlier run left (PREFIX.resolv), under the rule
 * above, and removes its files. Nothing there: returns 0. A record that
 * cannot be read is an error (-1 with err): the original would be lost. */
int mf_resolver_cleanup_stale(const char *saved_prefix, char *err,
                              size_t errlen);

/* Points the resolver as cfg says; the outcome is in the result's mode and
 * why, and logged. NULL only when memory is short. */
mf_resolver_t *mf_resolver_up(const mf_resolver_cfg_t *cfg);

/* Undoes mf_resolver_up (see the rule above) and frees r. NULL is fine. */
void mf_resolver_down(mf_resolver_t *r);

const char *mf_resolver_mode_name(mf_resolver_mode_t m);

#endif
