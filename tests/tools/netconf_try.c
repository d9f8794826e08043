/* netconf_try: drives src/routing/netconf.h against a real kernel, for
 * tests run inside a network namespace of their own:
 *
 *   ip netns add mfnc-test
 *   ip netns exec mfnc-test netconf_try --auto-route --exclude-lan \
 *       --state /run/mfnc-test/netconf.state --show &
 *   ... inspect with ip rule / ip route ...
 *   kill -TERM %1       # down: everything it added goes away
 *
 * Sequence: mf_netconf_cleanup_stale, create the TUN, mf_netconf_up, print
 * "netconf_try: up" on stdout, wait for SIGTERM/SIGINT (or --timeout), then
 * mf_netconf_down. --kill-after-up exits right after up without cleaning up
 * (a crash: the TUN goes with the process, rules stay); --cleanup-only runs
 * the stale cleanup alone; --existing-tun works on a TUN made beforehand
 * and left in place, to look at it after down.
 *
 * Exit status: 0 done, 1 a netconf call failed (message on stderr),
 * 2 usage, 3 killed after up on purpose. Never run it in the machine's own
 * namespace: with --auto-route it takes over that namespace's traffic. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fib/prefix.h"
#include "routing/netconf.h"

#define DEFAULT_TIMEOUT_SEC 300
#define DEFAULT_STATE "/run/mintflow-try/netconf.state"

typedef struct {
  mf_netconf_t nc;
  char ifname[IFNAMSIZ];
  bool kill_after_up;
  bool cleanup_only;
  bool show;
  bool existing_tun;
  unsigned timeout_sec;
} options_t;

static void usage(FILE *f)
{
  fprintf(f,
          "usage: netconf_try [options]\n"
          "  --ifname NAME      TUN to create (mf0)\n"
          "  --existing-tun     use the device --ifname names, made beforehand\n"
          "                     (e.g. ip tuntap add mode tun), and leave it\n"
          "  --mtu N            MTU to set (1420; 0 leaves it)\n"
          "  --addr PREFIX      address for the TUN, up to %d times\n"
          "                     (default 172.19.0.1/30 and fd00:19::1/64)\n"
          "  --auto-route       add the table's routes and the rules\n"
          "  --exclude-lan      keep LAN ranges off the TUN\n"
          "  --table N          routing table (7300)\n"
          "  --fwmark N         mark that bypasses the TUN (0x7300)\n"
          "  --priority N       first rule priority (7300)\n"
          "  --state PATH       state file (" DEFAULT_STATE ")\n"
          "  --show             print rules and the table's routes after up\n"
          "  --kill-after-up    exit after up without cleaning up\n"
          "  --cleanup-only     only undo what a stale state file records\n"
          "  --timeout SEC      give up waiting for a signal after SEC (%d)\n",
          MF_NETCONF_MAX_ADDRS, DEFAULT_TIMEOUT_SEC);
}

static int parse_u32(const char *s, uint32_t *out)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
    return -1;
  *out = (uint32_t)v;
  return 0;
}

static int add_address(options_t *o, const char *text)
{
  const char *why;
  if (o->nc.n_addresses == MF_NETCONF_MAX_ADDRS) {
    fprintf(stderr, "netconf_try: at most %d addresses\n",
            MF_NETCONF_MAX_ADDRS);
    return -1;
  }
  if (mf_prefix_parse(text, &o->nc.addresses[o->nc.n_addresses], &why) < 0) {
    fprintf(stderr, "netconf_try: --addr %s: %s\n", text, why);
    return -1;
  }
  o->nc.n_addresses++;
  return 0;
}

static void set_defaults(options_t *o)
{
  memset(o, 0, sizeof(*o));
  snprintf(o->ifname, sizeof(o->ifname), "mf0");
  o->nc.ifname = o->ifname;
  o->nc.mtu = 1420;
  o->nc.table = 7300;
  o->nc.fwmark = 0x7300;
  o->nc.rule_priority = 7300;
  o->nc.state_path = DEFAULT_STATE;
  o->timeout_sec = DEFAULT_TIMEOUT_SEC;
}

enum {
  OPT_IFNAME = 256, OPT_MTU, OPT_ADDR, OPT_AUTO_ROUTE, OPT_EXCLUDE_LAN,
  OPT_TABLE, OPT_FWMARK, OPT_PRIORITY, OPT_STATE, OPT_SHOW, OPT_KILL,
  OPT_CLEANUP, OPT_TIMEOUT, OPT_EXISTING, OPT_HELP,
};

static const struct option long_options[] = {
    {"ifname", required_argument, NULL, OPT_IFNAME},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"addr", required_argument, NULL, OPT_ADDR},
    {"auto-route", no_argument, NULL, OPT_AUTO_ROUTE},
    {"exclude-lan", no_argument, NULL, OPT_EXCLUDE_LAN},
    {"table", required_argument, NULL, OPT_TABLE},
    {"fwmark", required_argument, NULL, OPT_FWMARK},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"state", required_argument, NULL, OPT_STATE},
    {"show", no_argument, NULL, OPT_SHOW},
    {"kill-after-up", no_argument, NULL, OPT_KILL},
    {"cleanup-only", no_argument, NULL, OPT_CLEANUP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"existing-tun", no_argument, NULL, OPT_EXISTING},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int apply_option(options_t *o, int c, const char *arg)
{
  uint32_t v;
  switch (c) {
  case OPT_IFNAME:
    if (strlen(arg) == 0 || strlen(arg) >= sizeof(o->ifname))
      return -1;
    snprintf(o->ifname, sizeof(o->ifname), "%s", arg);
    return 0;
  case OPT_MTU:
    return parse_u32(arg, &o->nc.mtu);
  case OPT_ADDR:
    return add_address(o, arg);
  case OPT_AUTO_ROUTE:
    o->nc.auto_route = true;
    return 0;
  case OPT_EXCLUDE_LAN:
    o->nc.exclude_lan = true;
    return 0;
  case OPT_TABLE:
    return parse_u32(arg, &o->nc.table);
  case OPT_FWMARK:
    return parse_u32(arg, &o->nc.fwmark);
  case OPT_PRIORITY:
    return parse_u32(arg, &o->nc.rule_priority);
  case OPT_STATE:
    o->nc.state_path = arg;
    return 0;
  case OPT_SHOW:
    o->show = true;
    return 0;
  case OPT_KILL:
    o->kill_after_up = true;
    return 0;
  case OPT_CLEANUP:
    o->cleanup_only = true;
    return 0;
  case OPT_EXISTING:
    o->existing_tun = true;
    return 0;
  case OPT_TIMEOUT:
    if (parse_u32(arg, &v) < 0 || v == 0)
      return -1;
    o->timeout_sec = v;
    return 0;
  }
  return -1;
}

static int parse_args(int argc, char **argv, options_t *o)
{
  int c;
  set_defaults(o);
  while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    if (c == OPT_HELP) {
      usage(stdout);
      exit(0);
    }
    if (c == '?' || apply_option(o, c, optarg) < 0) {
      if (c != '?')
        fprintf(stderr, "netconf_try: bad value '%s'\n", optarg);
      usage(stderr);
      return -1;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return -1;
  }
  if (o->nc.n_addresses == 0 && (add_address(o, "172.19.0.1/30") < 0 ||
                                 add_address(o, "fd00:19::1/64") < 0))
    return -1;
  return 0;
}

/* A TUN that lives as long as the descriptor (no TUNSETPERSIST). */
static int tun_create(const char *name)
{
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "netconf_try: /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "netconf_try: TUNSETIFF %s: %s\n", name,
            strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void show(const options_t *o)
{
  char cmd[160];
  snprintf(cmd, sizeof(cmd),
           "ip rule; ip -6 rule; ip route show table %u; "
           "ip -6 route show table %u",
           o->nc.table, o->nc.table);
  fflush(stdout);
  if (system(cmd) != 0)
    fprintf(stderr, "netconf_try: could not run ip\n");
}

/* Returns the signal that arrived, or 0 on timeout. */
static int wait_for_signal(const sigset_t *set, unsigned timeout_sec)
{
  struct timespec until, now;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += timeout_sec;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec >= until.tv_sec)
      return 0;
    struct timespec left = {.tv_sec = until.tv_sec - now.tv_sec};
    int sig = sigtimedwait(set, NULL, &left);
    if (sig > 0)
      return sig;
    if (errno == EAGAIN)
      return 0;
  }
}

static int run(const options_t *o, const sigset_t *set)
{
  char err[512];
  if (mf_netconf_cleanup_stale(o->nc.state_path, err, sizeof(err)) < 0) {
    fprintf(stderr, "netconf_try: cleanup: %s\n", err);
    return 1;
  }
  if (o->cleanup_only) {
    printf("netconf_try: cleaned up\n");
    return 0;
  }
  int tun = o->existing_tun ? -1 : tun_create(o->ifname);
  if (tun < 0 && !o->existing_tun)
    return 1;
  mf_netconf_state_t *st = mf_netconf_up(&o->nc, err, sizeof(err));
  if (!st) {
    fprintf(stderr, "netconf_try: up: %s\n", err);
    if (tun >= 0)
      close(tun);
    return 1;
  }
  printf("netconf_try: up\n");
  if (o->show)
    show(o);
  fflush(stdout);
  if (o->kill_after_up)
    _exit(3);
  int sig = wait_for_signal(set, o->timeout_sec);
  printf("netconf_try: %s, going down\n", sig ? strsignal(sig) : "timeout");
  mf_netconf_down(st);
  if (tun >= 0)
    close(tun);
  printf("netconf_try: down\n");
  return 0;
}

int main(int argc, char **argv)
{
  options_t o;
  sigset_t set;
  if (parse_args(argc, argv, &o) < 0)
    return 2;
  /* Taken synchronously by sigtimedwait, so no handler runs netconf code. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  return run(&o, &set);
}
