/* The sequence of netconf.h: record an object, make it; undo in reverse.
 * The recording rules live in statefile.c, the objects in netobj*.c, the
 * order of objects in plan.c. */
#include "routing/netconf.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "routing/netobj.h"
#include "routing/nl.h"
#include "routing/origin.h"
#include "routing/plan.h"
#include "routing/statefile.h"

struct mf_netconf_state {
  char *path;
  mf_netobj_t made[MF_NETOBJ_MAX]; /* in the order they were made */
  size_t n;
};

/* Room for an object, the kernel's message and our own words. */
#define ERR_FALLBACK_LEN 512

static const char *verb(const mf_netobj_t *o, bool adding)
{
  if (o->kind == MF_NETOBJ_LINK)
    return adding ? "setting up" : "restoring";
  return adding ? "adding" : "deleting";
}

/* "netlink: adding rule 'not fwmark 0x7300 lookup 7300' (priority 7301):
 * Operation not permitted", with the kernel's own words when it gave some. */
static void netlink_error(char *err, size_t errlen, const mf_netobj_t *o,
                          bool adding, const mf_nl_err_t *e)
{
  char what[160];
  mf_netobj_describe(o, what, sizeof(what));
  snprintf(err, errlen, "netlink: %s %s: %s%s%s%s", verb(o, adding), what,
           e->why ? e->why : strerror(e->code),
           e->msg[0] ? " (kernel: " : "", e->msg,
           e->msg[0] ? ")" : "");
}

static mf_nl_t *open_netlink(char *err, size_t errlen)
{
  mf_nl_err_t e;
  mf_nl_t *nl = mf_nl_open(&e);
  if (!nl)
    snprintf(err, errlen, "netlink: opening a route socket: %s",
             strerror(e.code));
  return nl;
}

/* Deletes objs in reverse order. Goes on past a failure, so that one
 * stubborn object does not keep the others in place; err gets the first
 * failure. Returns 0 when everything is gone. */
static int undo_all(mf_nl_t *nl, const mf_netobj_t *objs, size_t n,
                    char *err, size_t errlen)
{
  int rc = 0;
  for (size_t i = n; i-- > 0;) {
    mf_nl_err_t e;
    if (mf_netobj_del(nl, &objs[i], &e) == 0)
      continue;
    if (rc == 0)
      netlink_error(err, errlen, &objs[i], false, &e);
    rc = -1;
  }
  return rc;
}

int mf_netconf_cleanup_stale(const char *state_path, char *err, size_t errlen)
{
  char fallback[ERR_FALLBACK_LEN];
  mf_origin_t self;
  mf_netobj_t objs[MF_NETOBJ_MAX];
  size_t n;
  if (!err) {
    err = fallback;
    errlen = sizeof(fallback);
  }
  if (!state_path) {
    snprintf(err, errlen, "netconf: no state file path");
    return -1;
  }
  if (mf_origin_self(&self, err, errlen) < 0)
    return -1;
  int found = mf_statefile_load(state_path, &self, objs, &n, err, errlen);
  if (found < 0)
    return -1;
  if (found == MF_STATEFILE_ABSENT)
    return 0;
  /* A reboot took everything with it; only the file is left. */
  if (found == MF_STATEFILE_PAST_BOOT) {
    mf_log_info("netconf: %s is from an earlier boot; removing it",
                state_path);
    return mf_statefile_remove(state_path, err, errlen);
  }
  mf_log_info("netconf: undoing %zu changes an earlier run left (%s)", n,
              state_path);
  mf_nl_t *nl = open_netlink(err, errlen);
  if (!nl)
    return -1;
  int rc = undo_all(nl, objs, n, err, errlen);
  mf_nl_close(nl);
  /* On failure the file stays, so that a later run can finish the job. */
  if (rc < 0)
    return -1;
  return mf_statefile_remove(state_path, err, errlen);
}

/* Records, then makes, each planned object. Returns 0, or -1 with err and
 * st->made holding what was made. */
static int make_all(mf_nl_t *nl, int fd, mf_netconf_state_t *st,
                    const mf_netobj_t *plan, size_t n, char *err,
                    size_t errlen)
{
  for (size_t i = 0; i < n; i++) {
    off_t undo_at;
    mf_nl_err_t e;
    if (mf_statefile_record(fd, st->path, &plan[i], &undo_at, err, errlen) <
        0)
      return -1;
    if (mf_netobj_add(nl, &plan[i], &e) < 0) {
      netlink_error(err, errlen, &plan[i], true, &e);
      /* Not made, so not ours: a line left here could later delete an
       * equal object that someone else owns. */
      char ignored[ERR_FALLBACK_LEN];
      (void)mf_statefile_unrecord(fd, st->path, undo_at, ignored,
                                  sizeof(ignored));
      return -1;
    }
    st->made[st->n++] = plan[i];
  }
  return 0;
}

/* Undoes a failed mf_netconf_up; err already holds why it failed. */
static void roll_back(mf_nl_t *nl, mf_netconf_state_t *st, char *err,
                      size_t errlen)
{
  char why[ERR_FALLBACK_LEN];
  if (undo_all(nl, st->made, st->n, why, sizeof(why)) == 0 &&
      mf_statefile_remove(st->path, why, sizeof(why)) == 0)
    return;
  size_t len = strlen(err);
  snprintf(err + len, errlen - len, "; undoing it failed too, so %s stays: %s",
           st->path, why);
}

static int prepare(const mf_netconf_t *cfg, mf_nl_t *nl, mf_netobj_t *plan,
                   size_t *n, char *err, size_t errlen)
{
  mf_nl_err_t e;
  uint32_t ifindex = cfg->ifname ? if_nametoindex(cfg->ifname) : 0;
  if (ifindex == 0) {
    snprintf(err, errlen, "netconf: device %s: %s",
             cfg->ifname ? cfg->ifname : "(none)", strerror(errno));
    return -1;
  }
  if (mf_netconf_plan(cfg, ifindex, plan, n, err, errlen) < 0)
    return -1;
  /* plan[0] is the link; its values now are what undoing restores. */
  if (mf_netobj_link_read(nl, ifindex, &plan[0].mtu_before,
                          &plan[0].up_before, &e) < 0) {
    snprintf(err, errlen, "netlink: reading link %s: %s", cfg->ifname,
             strerror(e.code));
    return -1;
  }
  return 0;
}

mf_netconf_state_t *mf_netconf_up(const mf_netconf_t *cfg, char *err,
                                  size_t errlen)
{
  char fallback[ERR_FALLBACK_LEN];
  mf_netobj_t plan[MF_NETOBJ_MAX];
  size_t n = 0;
  mf_origin_t self;
  if (!err) {
    err = fallback;
    errlen = sizeof(fallback);
  }
  if (!cfg) {
    snprintf(err, errlen, "netconf: no configuration");
    return NULL;
  }
  if (mf_origin_self(&self, err, errlen) < 0)
    return NULL;
  mf_nl_t *nl = open_netlink(err, errlen);
  if (!nl)
    return NULL;
  mf_netconf_state_t *st = NULL;
  if (prepare(cfg, nl, plan, &n, err, errlen) < 0)
    goto fail;
  st = calloc(1, sizeof(*st));
  if (!st || !(st->path = strdup(cfg->state_path))) {
    snprintf(err, errlen, "netconf: out of memory");
    goto fail;
  }
  int fd = mf_statefile_create(st->path, &self, err, errlen);
  if (fd < 0)
    goto fail;
  if (make_all(nl, fd, st, plan, n, err, errlen) < 0)
    roll_back(nl, st, err, errlen);
  close(fd);
  if (st->n < n)
    goto fail;
  mf_nl_close(nl);
  return st;
fail:
  mf_nl_close(nl);
  if (st)
    free(st->path);
  free(st);
  return NULL;
}

void mf_netconf_down(mf_netconf_state_t *st)
{
  char err[ERR_FALLBACK_LEN];
  if (!st)
    return;
  mf_nl_t *nl = open_netlink(err, sizeof(err));
  if (!nl || undo_all(nl, st->made, st->n, err, sizeof(err)) < 0 ||
      mf_statefile_remove(st->path, err, sizeof(err)) < 0)
    /* No caller to hand this to at shutdown; the state file stays for the
     * next start's cleanup. */
    mf_log_error("netconf: %s; %s stays for the next start", err, st->path);
  mf_nl_close(nl);
  free(st->path);
  free(st);
}
