/* `mintflow run`: the daemon's life from profile to clean exit. */
#ifndef MF_DAEMON_DAEMON_H
#define MF_DAEMON_DAEMON_H

typedef struct {
  const char *profile_path; /* NULL: the embedded default profile */
  const char *socket_path;
  const char *run_dir;      /* state files */
} mf_daemon_opts_t;

/* Runs in the foreground until SIGINT/SIGTERM (SIGHUP reloads the
 * profile, as `mintflow reload`); returns the exit status. */
int mf_daemon_run(const mf_daemon_opts_t *o);

#endif
