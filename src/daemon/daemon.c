#include "daemon/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "config/profile.h"
#include "control/commands.h"
#include "control/server.h"
#include "core/graph_rt.h"
#include "core/log.h"
#include "core/trace.h"
#include "daemon/node_table.h"
#include "fib/fib.h"
#include "io/tun.h"
#include "routing/netconf.h"

#define MF_N_BUFFERS 8192
#define MF_N_FRAMES 512
#define MF_MAX_ROUTES 65536
#define MF_PRIORITY_PROFILE 100
#define MF_PRIORITY_LOCAL 0

enum { TAG_TUN = 1, TAG_SIGNAL = 2 };

typedef struct {
  mf_vm_t vm;
  mf_tun_t tun;
  mf_profile_t *profile;
  mf_netconf_state_t *netconf;
  mf_ctl_server_t ctl;
  mf_ctl_ctx_t ctl_ctx;
  int epfd, sigfd;
  uint32_t tun_input;
  int stop;
} mf_daemon_t;

static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int load_profile(mf_daemon_t *d, const char *path)
{
  mf_diag_t diag = {.out = stderr};
  d->profile = calloc(1, sizeof(*d->profile));
  if (!d->profile)
    return -1;
  const char *text = mf_profile_default_text();
  int rv = path ? mf_profile_load_file(path, d->profile, &diag)
                : mf_profile_load_string(text, strlen(text), "<default>",
                                         d->profile, &diag);
  if (rv < 0)
    mf_log_error("profile %s: %u error(s); nothing was changed",
                 path ? path : "<default>", diag.n_errors);
  return rv;
}

/* Until the host stack lands, traffic routed to `direct` has nowhere to
 * go: taking the machine's routes would black-hole it. */
static void guard_direct(mf_profile_t *p)
{
  for (uint32_t i = 0; i < p->n_routes; i++) {
    const mf_iface_cfg_t *itf = &p->ifaces[p->routes[i].iface];
    if (itf->type != MF_IF_DIRECT)
      continue;
    mf_log_warn("interface '%s' (type direct) is not available yet in this "
                "build: packets routed to it are dropped%s",
                itf->name,
                p->tun.auto_route ? "; auto_route is off, so the machine's "
                                    "traffic is not taken over" : "");
    p->tun.auto_route = false;
    return;
  }
}

static void add_interface(mf_vm_t *vm, const char *name, mf_if_type_t type)
{
  mf_if_t *f = &vm->ifs[vm->n_ifs++];
  memset(f, 0, sizeof(*f));
  snprintf(f->name, sizeof(f->name), "%s", name);
  f->type = type;
}

/* Interface indices: 0 the TUN, 1 the stack (local), then the profile's
 * interfaces in order, so profile index i is vm index i + 2. */
#define MF_IF_TUN_INDEX 0
#define MF_IF_LOCAL_INDEX 1
#define MF_IF_FIRST_PROFILE 2

static int install_routes(mf_daemon_t *d)
{
  const mf_profile_t *p = d->profile;
  d->vm.fib = mf_fib_create(MF_MAX_ROUTES, UINT32_MAX);
  if (!d->vm.fib)
    return -ENOMEM;
  for (uint32_t i = 0; i < p->tun.n_stack_addresses; i++) {
    mf_prefix_t host = p->tun.stack_addresses[i];
    host.len = (uint8_t)mf_prefix_max_len(host.family);
    int rv = mf_fib_add(d->vm.fib, &host, MF_FIB_SRC_LOCAL, MF_PRIORITY_LOCAL,
                        MF_IF_LOCAL_INDEX);
    if (rv < 0)
      return rv;
  }
  for (uint32_t i = 0; i < p->n_routes; i++) {
    int rv = mf_fib_add(d->vm.fib, &p->routes[i].cidr, MF_FIB_SRC_PROFILE,
                        MF_PRIORITY_PROFILE, MF_IF_FIRST_PROFILE + p->routes[i].iface);
    if (rv < 0)
      return rv;
  }
  return 0;
}

static int build_graph(mf_daemon_t *d)
{
  mf_vm_t *vm = &d->vm;
  int rv = mf_buffer_pool_init(&vm->pool, MF_N_BUFFERS);
  if (rv == 0)
    rv = mf_graph_init(vm, mf_node_table, mf_node_table_len, MF_N_FRAMES);
  if (rv < 0) {
    mf_log_error("graph: %s", strerror(-rv));
    return rv;
  }
  add_interface(vm, d->profile->tun.name, MF_IF_TUN);
  add_interface(vm, "local", MF_IF_LOCAL);
  for (uint32_t i = 0; i < d->profile->n_ifaces; i++)
    add_interface(vm, d->profile->ifaces[i].name, d->profile->ifaces[i].type);
  rv = install_routes(d);
  if (rv < 0)
    mf_log_error("fib: installing the profile's routes: %s", strerror(-rv));
  return rv;
}

static int add_epoll(int epfd, int fd, uint64_t tag)
{
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_tun(mf_daemon_t *d)
{
  char err[256];
  if (mf_tun_open(&d->tun, d->profile->tun.name, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  d->tun.if_index = MF_IF_TUN_INDEX;
  d->tun_input = mf_graph_node_index(&d->vm, "tun-input");
  d->vm.nodes[d->tun_input].ctx = &d->tun;
  d->vm.nodes[mf_graph_node_index(&d->vm, "tun-output")].ctx = &d->tun;
  if (add_epoll(d->epfd, d->tun.fd, TAG_TUN) < 0) {
    mf_log_error("epoll: %s", strerror(errno));
    return -1;
  }
  return 0;
}

static int make_run_dir(const char *dir)
{
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    mf_log_error("run dir %s: %s", dir, strerror(errno));
    return -1;
  }
  return 0;
}

static int configure_network(mf_daemon_t *d, const char *run_dir)
{
  const mf_tun_cfg_t *t = &d->profile->tun;
  char state_path[4096], err[512];
  snprintf(state_path, sizeof(state_path), "%s/%s.state", run_dir, t->name);
  mf_netconf_t cfg = {
      .ifname = d->tun.name,
      .mtu = t->mtu,
      .auto_route = t->auto_route,
      .exclude_lan = t->exclude_lan,
      .table = t->route_table,
      .fwmark = t->fwmark,
      .rule_priority = t->rule_priority,
      .state_path = state_path,
  };
  for (uint32_t i = 0; i < t->n_addresses && i < MF_NETCONF_MAX_ADDRS; i++)
    cfg.addresses[cfg.n_addresses++] = t->addresses[i];
  d->netconf = mf_netconf_up(&cfg, err, sizeof(err));
  if (!d->netconf) {
    mf_log_error("%s", err);
    return -1;
  }
  return 0;
}

static int open_signals(mf_daemon_t *d)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (d->sigfd < 0 || add_epoll(d->epfd, d->sigfd, TAG_SIGNAL) < 0) {
    mf_log_error("signals: %s", strerror(errno));
    return -1;
  }
  return 0;
}

static void on_signal(mf_daemon_t *d)
{
  struct signalfd_siginfo si;
  while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    if (si.ssi_signo == SIGHUP)
      mf_log_info("SIGHUP: profile reload is not supported yet; ignored");
    else {
      mf_log_info("%s: shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
      d->stop = 1;
    }
  }
}

static void main_loop(mf_daemon_t *d)
{
  struct epoll_event ev[32];
  while (!d->stop) {
    int n = epoll_wait(d->epfd, ev, 32, 1000);
    if (n < 0 && errno != EINTR) {
      mf_log_error("epoll_wait: %s", strerror(errno));
      return;
    }
    d->vm.now_ns = mono_ns();
    for (int i = 0; i < n; i++) {
      uint64_t tag = ev[i].data.u64;
      if (tag == TAG_TUN)
        mf_graph_poll(&d->vm, d->tun_input);
      else if (tag == TAG_SIGNAL)
        on_signal(d);
      else if (tag == MF_CTL_TAG_LISTEN)
        mf_ctl_server_on_listen(&d->ctl, d->vm.now_ns);
      else if (tag >= MF_CTL_TAG_CLIENT)
        mf_ctl_server_on_client(&d->ctl, (uint32_t)(tag - MF_CTL_TAG_CLIENT),
                                ev[i].events);
    }
    mf_ctl_server_expire(&d->ctl, d->vm.now_ns);
  }
}

static void teardown(mf_daemon_t *d)
{
  uint64_t written;
  char path[64], err[64];
  mf_ctl_server_close(&d->ctl);
  mf_capture_stop(&d->vm, &written, path, sizeof(path), err, sizeof(err));
  mf_trace_clear(&d->vm);
  if (d->netconf)
    mf_netconf_down(d->netconf);
  mf_tun_close(&d->tun);
  if (d->vm.fib)
    mf_fib_destroy(d->vm.fib);
  mf_graph_free(&d->vm);
  mf_buffer_pool_free(&d->vm.pool);
  if (d->sigfd >= 0)
    close(d->sigfd);
  if (d->epfd >= 0)
    close(d->epfd);
  free(d->profile);
}

static int start(mf_daemon_t *d, const mf_daemon_opts_t *o)
{
  char err[512];
  if (load_profile(d, o->profile_path) < 0)
    return -1;
  guard_direct(d->profile);
  if (make_run_dir(o->run_dir) < 0)
    return -1;
  char state_path[4096];
  snprintf(state_path, sizeof(state_path), "%s/%s.state", o->run_dir,
           d->profile->tun.name);
  if (mf_netconf_cleanup_stale(state_path, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  d->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (d->epfd < 0 || open_signals(d) < 0 || build_graph(d) < 0 ||
      open_tun(d) < 0)
    return -1;
  d->ctl_ctx = (mf_ctl_ctx_t){&d->vm, d->profile->source, mono_ns()};
  if (mf_ctl_server_open(&d->ctl, o->socket_path, d->epfd, mf_ctl_execute,
                         &d->ctl_ctx, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  return configure_network(d, o->run_dir);
}

int mf_daemon_run(const mf_daemon_opts_t *o)
{
  mf_daemon_t *d = calloc(1, sizeof(*d));
  if (!d)
    return 1;
  d->epfd = d->sigfd = -1;
  d->tun.fd = -1;
  d->ctl.listen_fd = -1;
  for (int i = 0; i < MF_CTL_MAX_CLIENTS; i++)
    d->ctl.clients[i].fd = -1;
  int status = 1;
  if (start(d, o) == 0) {
    mf_log_info("ready: tun %s, %u interfaces, control socket %s",
                d->tun.name, d->vm.n_ifs, o->socket_path);
    main_loop(d);
    status = 0;
  }
  teardown(d);
  free(d);
  return status;
}
