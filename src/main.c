/* mintflow: the daemon (`run`) and its command-line client (everything
 * else talks to a running daemon over the control socket). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_wg.h"
#include "config/profile.h"
#include "config/profile_dump.h"
#include "control/client.h"
#include "daemon/daemon.h"
#include "routing/approute.h"

#define MF_DEFAULT_RUN_DIR "/run/mintflow"

static void usage(FILE *f)
{
  fprintf(f,
          "usage: mintflow [-s SOCKET] COMMAND ...\n"
          "  run [-c PROFILE] [--run-dir DIR]  run the daemon in the foreground\n"
          "  check -c PROFILE                  validate a profile, change nothing\n"
          "  reload [-c PROFILE]               apply the profile (default: the one the\n"
          "                                    daemon runs) without a restart; as SIGHUP\n"
          "  profile default                   print the embedded default profile\n"
          "  show version|interfaces|ip fib|errors|runtime|trace|wireguard|sessions|hoststack\n"
          "  show resolver                     what the daemon did to the system resolver\n"
          "  show dns [cache|log|routes]       the DNS server (app_routing: true)\n"
          "  dns flush [routes]                empty its cache (and learned routes)\n"
          "  set hoststack [max-sessions N] [tcp-idle S] [tcp-connect-timeout S]\n"
          "                [udp-idle S] [icmp-idle S]\n"
          "  set fault tun-drop FRACTION   drop that share of TUN packets (tests)\n"
          "  trace add NODE COUNT              trace packets from an input node\n"
          "  clear trace|errors|runtime|interfaces\n"
          "  pcap start (--node NODE | --interface IF) [--filter BPF] [--max N] FILE\n"
          "  pcap stop\n"
          "  wg genkey|pubkey|genpsk             keys, as wg(8)\n"
          "  import wireguard FILE.conf [--name NAME]  a wg-quick file as a profile interface\n"
          "  import wireguard --qr IMAGE.png [--name NAME]  the same, from a QR code\n"
          "  export qr IFACE -c PROFILE [--png FILE | --text]  a wireguard interface as a\n"
          "                                    QR code (or wg-quick text) for another device\n"
          "SOCKET defaults to $MINTFLOW_SOCKET or /run/mintflow/mintflow.sock.\n");
}

typedef struct {
  const char *socket;
  const char *profile;
  const char *run_dir;
  int argc;
  char **argv; /* the command and its arguments, options removed */
} cli_t;

/* Takes -s/--socket, -c/--config and --run-dir wherever they stand. */
static int parse_options(int argc, char **argv, cli_t *cli)
{
  static char *rest[64];
  cli->argc = 0;
  cli->argv = rest;
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL;
    if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket"))
      slot = &cli->socket;
    else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
      slot = &cli->profile;
    else if (!strcmp(argv[i], "--run-dir"))
      slot = &cli->run_dir;
    if (slot) {
      if (i + 1 >= argc) {
        fprintf(stderr, "mintflow: %s needs a value\n", argv[i]);
        return -1;
      }
      *slot = argv[++i];
    } else if (cli->argc < 63)
      rest[cli->argc++] = argv[i];
  }
  return 0;
}

static int cmd_check(const cli_t *cli)
{
  if (!cli->profile) {
    fprintf(stderr, "mintflow: check needs -c PROFILE\n");
    return 2;
  }
  static mf_profile_t p;
  mf_diag_t diag = {.out = stderr};
  static mf_approute_t ar; /* reads the domain sets' list files */
  if (mf_profile_load_file(cli->profile, &p, &diag) < 0 ||
      mf_approute_build(&p, &ar, &diag) < 0) {
    fprintf(stderr, "mintflow: %s: %u error(s)\n", cli->profile, diag.n_errors);
    return 1;
  }
  mf_profile_dump(&p, stdout);
  for (uint32_t k = 0; k < ar.n_sets; k++)
    printf("# domain set %s: %u names loaded (%u list files; %u lines skipped)\n",
           ar.sets[k].name, ar.sets[k].n_names, ar.sets[k].n_files,
           ar.sets[k].lines_skipped);
  mf_approute_free(&ar);
  printf("%s: valid\n", cli->profile);
  return 0;
}

/* The daemon resolves FILE in its own working directory: send it whole. */
static int absolutize_pcap_file(cli_t *cli)
{
  static char abs_path[PATH_MAX];
  if (cli->argc < 2 || strcmp(cli->argv[1], "start") != 0)
    return 0;
  char *file = cli->argv[cli->argc - 1];
  if (file[0] == '/' || file[0] == '-')
    return 0;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)) ||
      snprintf(abs_path, sizeof(abs_path), "%s/%s", cwd, file) >= (int)sizeof(abs_path)) {
    fprintf(stderr, "mintflow: cannot make %s absolute\n", file);
    return -1;
  }
  cli->argv[cli->argc - 1] = abs_path;
  return 0;
}

/* reload [-c FILE]: FILE goes to the daemon whole, as for pcap. */
static int cmd_reload(const char *socket, const cli_t *cli)
{
  static char abs_path[PATH_MAX];
  char *argv[2] = {"reload", NULL};
  if (cli->argc != 1) {
    fprintf(stderr, "usage: mintflow reload [-c PROFILE]\n");
    return 2;
  }
  if (cli->profile) {
    if (!realpath(cli->profile, abs_path)) {
      fprintf(stderr, "mintflow: %s: %s\n", cli->profile, strerror(errno));
      return 1;
    }
    argv[1] = abs_path;
  }
  return mf_ctl_client_call(socket, cli->profile ? 2 : 1, argv);
}

int main(int argc, char **argv)
{
  cli_t cli = {0};
  if (parse_options(argc, argv, &cli) < 0)
    return 2;
  if (cli.argc == 0 || !strcmp(cli.argv[0], "help") || !strcmp(cli.argv[0], "--help") ||
      !strcmp(cli.argv[0], "-h")) {
    usage(cli.argc ? stdout : stderr);
    return cli.argc ? 0 : 2;
  }
  const char *socket = cli.socket ? cli.socket : mf_ctl_default_socket();
  const char *cmd = cli.argv[0];
  if (!strcmp(cmd, "run")) {
    mf_daemon_opts_t o = {cli.profile, socket,
                          cli.run_dir ? cli.run_dir : MF_DEFAULT_RUN_DIR};
    return mf_daemon_run(&o);
  }
  if (!strcmp(cmd, "check"))
    return cmd_check(&cli);
  if (!strcmp(cmd, "reload"))
    return cmd_reload(socket, &cli);
  if (!strcmp(cmd, "profile") && cli.argc == 2 && !strcmp(cli.argv[1], "default")) {
    fputs(mf_profile_default_text(), stdout);
    return 0;
  }
  if (!strcmp(cmd, "wg"))
    return mf_cli_wg(cli.argc - 1, cli.argv + 1);
  if (!strcmp(cmd, "import") && cli.argc >= 2 && !strcmp(cli.argv[1], "wireguard"))
    return mf_cli_import_wireguard(cli.argc - 2, cli.argv + 2);
  if (!strcmp(cmd, "export"))
    return mf_cli_export(cli.profile, cli.argc - 1, cli.argv + 1);
  if (!strcmp(cmd, "show") || !strcmp(cmd, "trace") || !strcmp(cmd, "clear") ||
      !strcmp(cmd, "pcap") || !strcmp(cmd, "set") || !strcmp(cmd, "dns")) {
    if (!strcmp(cmd, "pcap") && absolutize_pcap_file(&cli) < 0)
      return 1;
    return mf_ctl_client_call(socket, cli.argc, cli.argv);
  }
  fprintf(stderr, "mintflow: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
