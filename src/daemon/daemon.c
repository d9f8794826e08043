#include "daemon/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "config/profile.h"
#include "dns/dns_server.h"
#include "routing/approute.h"
#include "control/commands.h"
#include "control/server.h"
#include "core/graph_rt.h"
#include "core/log.h"
#include "daemon/dataplane.h"
#include "daemon/reload.h"
#include "hoststack/hoststack.h"
#include "io/tun.h"
#include "routing/netconf.h"
#include "routing/resolver.h"
#include "wireguard/uapi_server.h"
#include "wireguard/wg_device.h"

enum { TAG_TUN = 1, TAG_SIGNAL = 2, TAG_WG = 0x400 };

/* WireGuard timers need a look at least this often. */
#define MF_TICK_MS 100

typedef struct {
  mf_vm_t vm;
  mf_tun_t tun;
  mf_profile_t *profile;
  mf_approute_t *approute; /* the DNS server borrows it */
  const char *profile_path; /* started with; NULL: the default */
  mf_dns_server_t *dns;
  mf_netconf_state_t *netconf;
  mf_resolver_t *resolver;
  const char *run_dir;
  mf_ctl_server_t ctl;
  mf_ctl_ctx_t ctl_ctx;
  int epfd, sigfd;
  uint32_t tun_input, wg_input, hs_input;
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
  /* Domain-set lists are read here too: a missing file stops the start
   * before anything on the system changes. */
  if (rv == 0) {
    d->approute = mf_approute_create(d->profile, &diag);
    rv = d->approute ? 0 : -1;
  }
  if (rv < 0)
    mf_log_error("profile %s: %u error(s); nothing was changed",
                 path ? path : "<default>", diag.n_errors);
  return rv;
}

static void resolver_cfg(const mf_daemon_t *d, mf_resolver_cfg_t *cfg,
                         char *prefix, size_t prefix_size);
static void watch_dns(mf_daemon_t *d);
static void point_resolver(mf_daemon_t *d);
static bool same_resolver(const mf_resolver_cfg_t *a, const mf_resolver_cfg_t *b);

/* `mintflow reload` and SIGHUP: path NULL reloads the file started with
 * (or the default). Runs between graph runs; what it sends leaves with
 * the loop's next mf_graph_run. */
static int reload(void *arg, const char *path, mf_out_t *out)
{
  mf_daemon_t *d = arg;
  char before_prefix[4096], after_prefix[4096];
  mf_resolver_cfg_t before, after;
  resolver_cfg(d, &before, before_prefix, sizeof(before_prefix));
  mf_reload_target_t t = {&d->vm, d->profile, d->approute, d->profile_path};
  int rv = mf_reload_run(&t, path, mono_ns(), out);
  d->profile = t.profile;
  d->approute = t.approute;
  mf_dns_server_t *was = d->dns;
  d->dns = mf_dataplane_dns(&d->vm);
  /* App Routing turned on or off: the host stack must hand TCP to the
   * stack's addresses to the server there is now (or refuse it), never
   * to the one the reload freed. */
  if (d->dns != was) {
    mf_hoststack_serve_local(d->vm.hs, NULL, NULL);
    watch_dns(d);
  }
  d->ctl_ctx.profile_source = d->profile->source;
  resolver_cfg(d, &after, after_prefix, sizeof(after_prefix));
  if (rv == 0 && !same_resolver(&before, &after)) {
    d->ctl_ctx.resolver = NULL;
    mf_resolver_down(d->resolver);
    point_resolver(d);
  }
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

/* With App Routing the machine asks our server, on the stack addresses;
 * without it, the profile's dns.servers (the manual's primary and
 * secondary DNS). Called once the TUN is up, after the dataplane has
 * resolved WireGuard endpoint names: the daemon's own lookups never go
 * through the resolver it points at itself. */
static void resolver_cfg(const mf_daemon_t *d, mf_resolver_cfg_t *cfg,
                         char *prefix, size_t prefix_size)
{
  const mf_profile_t *p = d->profile;
  snprintf(prefix, prefix_size, "%s/%s", d->run_dir, p->tun.name);
  *cfg = (mf_resolver_cfg_t){.ifname = d->tun.name,
                             .saved_prefix = prefix,
                             .off = p->approute.dns.system == MF_DNS_SYSTEM_OFF};
  if (p->approute.enabled) {
    for (uint32_t i = 0; i < p->tun.n_stack_addresses &&
                         cfg->n_servers < MF_RESOLVER_MAX_SERVERS; i++) {
      mf_resolver_server_t *s = &cfg->servers[cfg->n_servers++];
      s->family = p->tun.stack_addresses[i].family;
      memcpy(s->addr, p->tun.stack_addresses[i].addr, sizeof(s->addr));
      s->port = 53;
    }
  } else {
    const mf_dns_cfg_t *dns = &p->approute.dns;
    for (uint32_t i = 0; i < dns->n_servers &&
                         cfg->n_servers < MF_RESOLVER_MAX_SERVERS; i++) {
      mf_resolver_server_t *s = &cfg->servers[cfg->n_servers++];
      s->family = dns->servers[i].family;
      memcpy(s->addr, dns->servers[i].addr, sizeof(s->addr));
      s->port = dns->servers[i].port;
    }
  }
}

static void point_resolver(mf_daemon_t *d)
{
  char prefix[4096];
  mf_resolver_cfg_t cfg;
  resolver_cfg(d, &cfg, prefix, sizeof(prefix));
  d->resolver = mf_resolver_up(&cfg);
  d->ctl_ctx.resolver = d->resolver;
}

/* A reload that turns App Routing on or off, or changes dns.servers or
 * dns.system, changes what the machine should ask: undo and redo. */
static bool same_resolver(const mf_resolver_cfg_t *a, const mf_resolver_cfg_t *b)
{
  if (a->off != b->off || a->n_servers != b->n_servers)
    return false;
  for (uint32_t i = 0; i < a->n_servers; i++) {
    const mf_resolver_server_t *x = &a->servers[i], *y = &b->servers[i];
    if (x->family != y->family || x->port != y->port ||
        memcmp(x->addr, y->addr, sizeof(x->addr)) != 0)
      return false;
  }
  return true;
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
    if (si.ssi_signo == SIGHUP) {
      mf_log_info("SIGHUP: reloading the profile");
      reload(d, NULL, NULL);
    } else {
      mf_log_info("%s: shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
      d->stop = 1;
    }
  }
}

static int watch_wireguard(mf_daemon_t *d)
{
  mf_wg_main_t *wm = d->vm.wg;
  if (!wm)
    return 0;
  d->wg_input = mf_graph_node_index(&d->vm, "wg-input");
  for (uint32_t i = 0; i < wm->n_devs; i++)
    if (add_epoll(d->epfd, wm->devs[i]->sock.fd, TAG_WG + i) < 0) {
      mf_log_error("epoll: %s", strerror(errno));
      return -1;
    }
  char err[512];
  if (mf_wg_uapi_open_all(wm, d->epfd, TAG_WG, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  mf_wg_main_start(wm, mono_ns());
  mf_graph_run(&d->vm);
  return 0;
}

static void on_wireguard(mf_daemon_t *d, uint32_t dev)
{
  mf_wg_main_t *wm = d->vm.wg;
  if (dev >= wm->n_devs)
    return;
  wm->polling = dev;
  mf_graph_poll(&d->vm, d->wg_input);
}

/* Host stack sockets are opened and closed by the data path as flows come
 * and go; the host stack adds them to our epoll set itself. Each UDP
 * session holds a descriptor: the usual soft limit of 1024 would refuse
 * sessions long before the table is full, so it is raised (within the hard
 * limit) to what a full table needs. */
static void watch_hoststack(mf_daemon_t *d)
{
  d->hs_input = mf_graph_node_index(&d->vm, "hs-input");
  mf_hoststack_watch(d->vm.hs, d->epfd);
  struct rlimit rl;
  rlim_t want = (rlim_t)d->vm.hs->n_sessions + 256;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
      mf_log_warn("open files limited to %lu: host stack sessions beyond "
                  "it fail (socket-error)", (unsigned long)rl.rlim_cur);
  }
}

static void on_hoststack(mf_daemon_t *d, uint64_t tag, uint32_t events)
{
  d->vm.hs->polling = tag;
  d->vm.hs->polling_events = events;
  mf_graph_poll(&d->vm, d->hs_input);
}

/* DNS over TCP: the host stack hands each connection to a stack address
 * to the DNS server, which watches those sockets in our epoll set under
 * its own tags. */
static int accept_dns_tcp(void *ctx, int fd, uint8_t family, const uint8_t *app,
                          uint16_t app_port, const uint8_t *local,
                          uint16_t local_port)
{
  (void)local_port; /* ip-local hands over port 53 only */
  return mf_dns_server_tcp_accept(ctx, fd, family == 6 ? AF_INET6 : AF_INET,
                                  app, app_port, local);
}

static void watch_dns(mf_daemon_t *d)
{
  if (!d->dns)
    return;
  mf_dns_server_watch(d->dns, d->epfd);
  mf_hoststack_serve_local(d->vm.hs, accept_dns_tcp, d->dns);
}

static void on_dns(mf_daemon_t *d, uint64_t tag, uint32_t events)
{
  mf_dns_server_on_event(d->dns, tag, events);
  mf_graph_run(&d->vm); /* the queries it forwarded */
}

/* A TCP retry to an upstream: its answer goes on as a UDP one would. */
static void on_dns_upstream(mf_daemon_t *d, uint64_t tag, uint32_t events)
{
  mf_dns_server_on_upstream_event(d->dns, tag, events);
  mf_graph_run(&d->vm);
}

static void main_loop(mf_daemon_t *d)
{
  struct epoll_event ev[32];
  int tick = d->vm.wg ? MF_TICK_MS : 1000;
  while (!d->stop) {
    int timeout = mf_hoststack_timeout_ms(d->vm.hs, mono_ns(), tick);
    timeout = mf_dns_server_timeout_ms(d->dns, mono_ns(), timeout);
    int n = epoll_wait(d->epfd, ev, 32, timeout);
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
      else if (tag >= TAG_WG && tag < TAG_WG + MF_PROFILE_MAX_WG)
        on_wireguard(d, (uint32_t)(tag - TAG_WG));
      else if (MF_HS_OWNS_TAG(tag))
        on_hoststack(d, tag, ev[i].events);
      else if (MF_DNS_OWNS_TAG(tag))
        on_dns(d, tag, ev[i].events);
      else if (MF_DNS_UP_OWNS_TAG(tag))
        on_dns_upstream(d, tag, ev[i].events);
      else if (MF_WG_UAPI_OWNS_TAG(tag))
        mf_wg_uapi_on_event(d->vm.wg, tag, ev[i].events);
      else if (tag == MF_CTL_TAG_LISTEN)
        mf_ctl_server_on_listen(&d->ctl, d->vm.now_ns);
      else if (tag >= MF_CTL_TAG_CLIENT)
        mf_ctl_server_on_client(&d->ctl, (uint32_t)(tag - MF_CTL_TAG_CLIENT),
                                ev[i].events);
    }
    if (d->vm.wg) {
      mf_wg_main_tick(d->vm.wg, d->vm.now_ns);
      mf_graph_run(&d->vm); /* what the timers released */
    }
    mf_dns_server_tick(d->dns, d->vm.now_ns);
    mf_hoststack_tick(d->vm.hs, d->vm.now_ns);
    mf_graph_run(&d->vm); /* what the TCP and DNS timers sent */
    mf_ctl_server_expire(&d->ctl, d->vm.now_ns);
  }
}

static void teardown(mf_daemon_t *d)
{
  uint64_t written;
  char path[64], err[64];
  mf_ctl_server_close(&d->ctl);
  mf_capture_stop(&d->vm, &written, path, sizeof(path), err, sizeof(err));
  if (d->vm.wg)
    mf_wg_uapi_close_all(d->vm.wg);
  /* Before the TUN goes: resolved can revert only a link that exists. */
  d->ctl_ctx.resolver = NULL;
  mf_resolver_down(d->resolver);
  if (d->netconf)
    mf_netconf_down(d->netconf);
  mf_tun_close(&d->tun);
  mf_dataplane_free(&d->vm);
  mf_approute_destroy(d->approute);
  if (d->sigfd >= 0)
    close(d->sigfd);
  if (d->epfd >= 0)
    close(d->epfd);
  free(d->profile);
}

static int start(mf_daemon_t *d, const mf_daemon_opts_t *o)
{
  char err[512];
  d->profile_path = o->profile_path;
  d->run_dir = o->run_dir;
  if (load_profile(d, o->profile_path) < 0)
    return -1;
  if (make_run_dir(o->run_dir) < 0)
    return -1;
  char state_path[4096];
  snprintf(state_path, sizeof(state_path), "%s/%s.state", o->run_dir,
           d->profile->tun.name);
  if (mf_netconf_cleanup_stale(state_path, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  char resolver_prefix[4096];
  snprintf(resolver_prefix, sizeof(resolver_prefix), "%s/%s", o->run_dir,
           d->profile->tun.name);
  if (mf_resolver_cleanup_stale(resolver_prefix, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  d->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (d->epfd < 0 || open_signals(d) < 0 || open_tun(d) < 0 ||
      mf_dataplane_init(&d->vm, d->profile, &d->tun) < 0 ||
      mf_dataplane_start_dns(&d->vm, d->profile, d->approute, mono_ns()) < 0)
    return -1;
  d->dns = mf_dataplane_dns(&d->vm);
  d->tun_input = mf_graph_node_index(&d->vm, "tun-input");
  d->ctl_ctx = (mf_ctl_ctx_t){.vm = &d->vm,
                             .profile_source = d->profile->source,
                             .start_ns = mono_ns(),
                             .reload = reload,
                             .reload_arg = d};
  if (mf_ctl_server_open(&d->ctl, o->socket_path, d->epfd, mf_ctl_execute,
                         &d->ctl_ctx, err, sizeof(err)) < 0) {
    mf_log_error("%s", err);
    return -1;
  }
  if (configure_network(d, o->run_dir) < 0)
    return -1;
  point_resolver(d);
  watch_hoststack(d);
  watch_dns(d);
  return watch_wireguard(d);
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
