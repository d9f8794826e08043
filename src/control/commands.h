/* The commands the daemon answers on its control socket: show, trace,
 * clear, pcap, reload. Each prints VPP-style tables into the reply. */
#ifndef MF_CONTROL_COMMANDS_H
#define MF_CONTROL_COMMANDS_H

#include <stdint.h>

#include "control/out.h"
#include "core/vm.h"

/* `reload [FILE]`: applies the profile (FILE NULL: the one started
 * with), writing errors or a summary to out; 0, or -1 when nothing was
 * changed. */
typedef int mf_ctl_reload_fn(void *arg, const char *path, mf_out_t *out);

typedef struct {
  mf_vm_t *vm;
  const char *profile_source;
  uint64_t start_ns; /* monotonic */
  const struct mf_resolver *resolver; /* NULL until set up; the daemon's */
  mf_ctl_reload_fn *reload; /* NULL: not offered */
  void *reload_arg;
} mf_ctl_ctx_t;

/* mf_ctl_exec_fn for the server: ctx is an mf_ctl_ctx_t. */
int mf_ctl_execute(void *ctx, int argc, char **argv, mf_out_t *out);

#endif
