/* systemd-resolved, told through `resolvectl` (resolvectl(1)): the TUN link
 * gets our servers, the routing domain `~.` (every name) and the
 * default-route flag, so that resolved sends all queries there rather than
 * to the other links' servers.
 *
 * resolvectl is run by name through $PATH, never by a fixed path: that is
 * where the administrator put it, and what lets tests put a recorder in
 * its place. Each call is bounded in time; a hung one is killed.
 *
 * Our own upstream queries do not come back through resolved: the DNS
 * server sends them from its own marked sockets straight to dns.vpn and
 * dns.direct, never through the system resolver. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "routing/resolver_internal.h"

#define WAIT_STEP_MS 5
#define SERVER_TEXT_MAX 64

extern char **environ;

bool mf_resolver_on_path(const char *name)
{
  const char *path = getenv("PATH");
  char dir[MF_RESOLVER_PATH_MAX];
  if (!path || strchr(name, '/'))
    return false;
  /* PATH entries are separated by ':'; each is bounded by strlen(path). */
  for (const char *p = path; *p;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    int n = snprintf(dir, sizeof(dir), "%.*s/%s", (int)len, len ? p : ".",
                     name);
    if (n > 0 && (size_t)n < sizeof(dir) && access(dir, X_OK) == 0)
      return true;
    if (!colon)
      break;
    p = colon + 1;
  }
  return false;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {0, (long)ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* The daemon blocks SIGINT/SIGTERM for its signalfd and ignores SIGPIPE;
 * the child must start with neither. Its own process group lets a kill
 * after the timeout reach whatever it started too. */
static int spawn_attrs(posix_spawnattr_t *a)
{
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  if (posix_spawnattr_init(a) != 0)
    return -1;
  if (posix_spawnattr_setsigmask(a, &none) != 0 ||
      posix_spawnattr_setsigdefault(a, &pipe) != 0 ||
      posix_spawnattr_setpgroup(a, 0) != 0 ||
      posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP) != 0) {
    posix_spawnattr_destroy(a);
    return -1;
  }
  return 0;
}

int mf_resolver_exec(char *const argv[], int timeout_ms, char *err,
                     size_t errlen)
{
  posix_spawnattr_t attrs;
  pid_t pid;
  int st = 0;
  if (spawn_attrs(&attrs) < 0) {
    snprintf(err, errlen, "%s: cannot set up a child", argv[0]);
    return -1;
  }
  int rc = posix_spawnp(&pid, argv[0], NULL, &attrs, argv, environ);
  posix_spawnattr_destroy(&attrs);
  if (rc != 0) {
    snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
    return -1;
  }
  for (int waited = 0;; waited += WAIT_STEP_MS) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR) {
      snprintf(err, errlen, "%s: waiting: %s", argv[0], strerror(errno));
      return -1;
    }
    if (waited >= timeout_ms) {
      kill(-pid, SIGKILL);
      (void)waitpid(pid, &st, 0);
      snprintf(err, errlen, "%s %s: no answer within %d ms; killed", argv[0],
               argv[1] ? argv[1] : "", timeout_ms);
      return -1;
    }
    sleep_ms(WAIT_STEP_MS);
  }
  if (!WIFEXITED(st)) {
    snprintf(err, errlen, "%s %s: killed by signal %d", argv[0],
             argv[1] ? argv[1] : "", WTERMSIG(st));
    return -1;
  }
  return WEXITSTATUS(st);
}

/* Runs one resolvectl call; a non-zero exit is an error. */
static int resolvectl(char *const argv[], char *err, size_t errlen)
{
  int rc = mf_resolver_exec(argv, MF_RESOLVER_EXEC_TIMEOUT_MS, err, errlen);
  if (rc > 0)
    snprintf(err, errlen, "resolvectl %s %s: exit status %d", argv[1],
             argv[2], rc);
  return rc == 0 ? 0 : -1;
}

int mf_resolver_resolved_point(const char *ifname,
                               const mf_resolver_server_t *servers, uint32_t n,
                               char *err, size_t errlen)
{
  char text[MF_RESOLVER_MAX_SERVERS][SERVER_TEXT_MAX];
  char *dns[4 + MF_RESOLVER_MAX_SERVERS] = {"resolvectl", "dns",
                                            (char *)ifname};
  if (n > MF_RESOLVER_MAX_SERVERS)
    n = MF_RESOLVER_MAX_SERVERS;
  /* resolvectl takes ADDRESS[:PORT] with IPv6 in brackets, as we print. */
  for (uint32_t i = 0; i < n; i++) {
    mf_resolver_server_format(&servers[i], true, text[i], SERVER_TEXT_MAX);
    dns[3 + i] = text[i];
  }
  char *domain[] = {"resolvectl", "domain", (char *)ifname, "~.", NULL};
  char *route[] = {"resolvectl", "default-route", (char *)ifname, "yes", NULL};
  if (resolvectl(dns, err, errlen) < 0 ||
      resolvectl(domain, err, errlen) < 0 ||
      resolvectl(route, err, errlen) < 0) {
    mf_resolver_resolved_revert(ifname);
    return -1;
  }
  return 0;
}

void mf_resolver_resolved_revert(const char *ifname)
{
  char err[256];
  char *revert[] = {"resolvectl", "revert", (char *)ifname, NULL};
  if (resolvectl(revert, err, sizeof(err)) < 0)
    mf_log_warn("resolver: %s", err);
}
