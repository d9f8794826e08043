#include "cli/cli_wg.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/import_wg.h"
#include "wireguard/keys.h"

static int print_key(const uint8_t key[MF_WG_KEY_LEN])
{
  char text[MF_WG_KEY_B64_LEN + 1];
  mf_wg_key_to_base64(text, key);
  puts(text);
  OPENSSL_cleanse(text, sizeof(text));
  return 0;
}

/* Reads a base64 key from stdin as `wg pubkey` does. */
static int read_key(uint8_t key[MF_WG_KEY_LEN])
{
  char line[128];
  if (!fgets(line, sizeof(line), stdin))
    return -1;
  line[strcspn(line, "\r\n")] = 0;
  int rv = mf_wg_key_from_base64(key, line);
  OPENSSL_cleanse(line, sizeof(line));
  return rv;
}

int mf_cli_wg(int argc, char **argv)
{
  uint8_t a[MF_WG_KEY_LEN], b[MF_WG_KEY_LEN];
  int rv = 1;
  if (argc == 1 && strcmp(argv[0], "genkey") == 0 && mf_wg_key_generate(a) == 0)
    rv = print_key(a);
  else if (argc == 1 && strcmp(argv[0], "genpsk") == 0 && mf_wg_key_generate_psk(a) == 0)
    rv = print_key(a);
  else if (argc == 1 && strcmp(argv[0], "pubkey") == 0) {
    if (read_key(a) < 0 || mf_wg_key_public(b, a) < 0)
      fprintf(stderr, "mintflow: wg pubkey: stdin is not a base64 private key\n");
    else
      rv = print_key(b);
  } else
    fprintf(stderr, "usage: mintflow wg genkey|pubkey|genpsk\n");
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(b, sizeof(b));
  return rv;
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "mintflow: %s: %m\n", path);
    return NULL;
  }
  char *buf = malloc(MF_IMPORT_WG_MAX_INPUT + 1);
  size_t n = buf ? fread(buf, 1, MF_IMPORT_WG_MAX_INPUT + 1, f) : 0;
  fclose(f);
  if (!buf || n > MF_IMPORT_WG_MAX_INPUT) {
    fprintf(stderr, "mintflow: %s: larger than %d bytes\n", path, MF_IMPORT_WG_MAX_INPUT);
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

int mf_cli_import_wireguard(int argc, char **argv)
{
  const char *file = NULL, *name = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (!file)
      file = argv[i];
    else
      file = NULL, i = argc;
  }
  if (!file) {
    fprintf(stderr, "usage: mintflow import wireguard FILE.conf [--name NAME]\n");
    return 2;
  }
  size_t len;
  char *text = read_file(file, &len);
  if (!text)
    return 1;
  mf_diag_t diag = {.out = stderr};
  int rv = mf_import_wg_quick(text, len, file, name, stdout, &diag);
  OPENSSL_cleanse(text, len);
  free(text);
  return rv == 0 ? 0 : 1;
}
