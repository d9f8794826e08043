/* CLI commands that need no daemon: `mintflow wg genkey|pubkey|genpsk`
 * (as wg(8)) and `mintflow import wireguard FILE [--name NAME]`. */
#ifndef MF_CLI_CLI_WG_H
#define MF_CLI_CLI_WG_H

/* argv[0] is "genkey", "pubkey" or "genpsk". Returns the exit status. */
int mf_cli_wg(int argc, char **argv);
/* argv: FILE [--name NAME]. Prints a profile interface entry. */
int mf_cli_import_wireguard(int argc, char **argv);

#endif
