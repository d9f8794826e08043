/* CLI commands that need no daemon: `mintflow wg genkey|pubkey|genpsk`
 * (as wg(8)), `mintflow import wireguard (FILE | --qr IMAGE) [--name
 * NAME]` and `mintflow export qr IFACE -c PROFILE [--png FILE | --text]`. */
#ifndef MF_CLI_CLI_WG_H
#define MF_CLI_CLI_WG_H

/* argv[0] is "genkey", "pubkey" or "genpsk". Returns the exit status. */
int mf_cli_wg(int argc, char **argv);
/* argv: FILE [--name NAME], or --qr IMAGE.png [--name NAME] to read the
 * wg-quick text from a QR code. Prints a profile interface entry. */
int mf_cli_import_wireguard(int argc, char **argv);
/* argv: qr IFACE [--png FILE | --text]; profile: the -c option (NULL
 * when not given). Shows the wireguard interface IFACE of the profile as
 * a QR code on the terminal, in a PNG, or as wg-quick text. */
int mf_cli_export(const char *profile, int argc, char **argv);

#endif
