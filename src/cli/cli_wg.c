#include "cli/cli_wg.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/export_wg.h"
#include "config/import_wg.h"
#include "config/profile.h"
#include "config/profile_parse.h"
#include "config/qr.h"
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

static int import_file(const char *file, const char *name)
{
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

static void print_qr_error(const char *path, mf_qr_status_t s)
{
  if (s == MF_QR_IO)
    fprintf(stderr, "mintflow: %s: %s\n", path, strerror(errno));
  else
    fprintf(stderr, "mintflow: %s: %s\n", path, mf_qr_status_text(s));
}

/* True when a line opens an [Interface] section (blanks allowed inside
 * the brackets, case ignored, as wg(8) reads it): anything else scanned
 * by mistake (a URL, a Wi-Fi code) gets one clear message instead of the
 * importer's line-by-line complaints. */
static bool has_interface_section(const char *text, size_t len)
{
  static const char word[] = "interface";
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    while (i < end && (text[i] == ' ' || text[i] == '\t'))
      i++;
    if (i < end && text[i] == '[') {
      i++;
      while (i < end && (text[i] == ' ' || text[i] == '\t'))
        i++;
      if (end - i >= sizeof(word) - 1 &&
          strncasecmp(text + i, word, sizeof(word) - 1) == 0)
        return true;
    }
    i = end + 1;
  }
  return false;
}

/* The image's base name without its extension, in the characters an
 * interface name allows; "wg" when nothing usable is left. */
static void name_from_image(const char *path, char *out, size_t size)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot > base ? (size_t)(dot - base) : strlen(base);
  if (len > size - 1)
    len = size - 1;
  for (size_t k = 0; k < len; k++) {
    char c = base[k];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    out[k] = ok ? c : '-';
  }
  out[len] = 0;
  if (!mf_profile_name_ok(out, len, size - 1) || strcmp(out, "local") == 0)
    snprintf(out, size, "wg");
}

/* The QR code's text goes through the same importer as a file, so that
 * both give the same entry for the same text. */
static int import_qr(const char *image, const char *name)
{
  char source[512], derived[MF_IF_NAME_MAX];
  size_t cap = MF_QR_MAX_DATA + 1, len = 0;
  char *text = malloc(cap);
  if (!text) {
    fprintf(stderr, "mintflow: out of memory\n");
    return 1;
  }
  int rv = 1;
  mf_qr_status_t s = mf_qr_decode_png(image, text, cap, &len);
  if (s != MF_QR_OK)
    print_qr_error(image, s);
  else if (!has_interface_section(text, len))
    fprintf(stderr, "mintflow: %s: the QR code holds no WireGuard "
                    "configuration (no [Interface] section)\n",
            image);
  else {
    if (!name) {
      name_from_image(image, derived, sizeof(derived));
      name = derived;
    }
    snprintf(source, sizeof(source), "%s (QR)", image);
    mf_diag_t diag = {.out = stderr};
    rv = mf_import_wg_quick(text, len, source, name, stdout, &diag) == 0 ? 0
                                                                        : 1;
  }
  OPENSSL_cleanse(text, cap);
  free(text);
  return rv;
}

int mf_cli_import_wireguard(int argc, char **argv)
{
  const char *file = NULL, *name = NULL, *image = NULL;
  bool bad = false;
  for (int i = 0; i < argc && !bad; i++) {
    if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (strcmp(argv[i], "--qr") == 0 && i + 1 < argc && !image)
      image = argv[++i];
    else if (!file && argv[i][0] != '-')
      file = argv[i];
    else
      bad = true;
  }
  if (bad || !file == !image) {
    fprintf(stderr, "usage: mintflow import wireguard (FILE.conf | --qr "
                    "IMAGE.png) [--name NAME]\n");
    return 2;
  }
  return image ? import_qr(image, name) : import_file(file, name);
}

typedef struct {
  const char *iface;
  const char *png;
  bool text;
} export_args_t;

static int parse_export_args(int argc, char **argv, export_args_t *a)
{
  if (argc < 1 || strcmp(argv[0], "qr") != 0)
    return -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--png") == 0 && i + 1 < argc && !a->png)
      a->png = argv[++i];
    else if (strcmp(argv[i], "--text") == 0)
      a->text = true;
    else if (!a->iface && argv[i][0] != '-')
      a->iface = argv[i];
    else
      return -1;
  }
  return a->iface && !(a->png && a->text) ? 0 : -1;
}

/* Returns the wireguard configuration of the interface named, or NULL
 * after saying why. */
static const mf_wg_cfg_t *find_wg(const mf_profile_t *p, const char *path,
                                  const char *name)
{
  int k = mf_profile_find_iface(p, name);
  if (k < 0) {
    fprintf(stderr, "mintflow: %s: no interface '%s'\n", path, name);
    return NULL;
  }
  const mf_iface_cfg_t *c = &p->ifaces[k];
  if (c->type != MF_IF_WIREGUARD || c->wg >= p->n_wg) {
    const char *type = mf_if_type_name(c->type);
    fprintf(stderr, "mintflow: %s: interface '%s' is of type %s, not "
                    "wireguard\n",
            path, name, type ? type : "?");
    return NULL;
  }
  return &p->wg[c->wg];
}

/* The text is a secret; where it went is said on stderr, so that a
 * screen being shared or a file being copied is a choice made knowingly. */
static int export_text(const export_args_t *a, const char *text, size_t len)
{
  mf_qr_status_t s = MF_QR_OK;
  if (a->text) {
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
      s = MF_QR_IO;
  } else if (a->png)
    s = mf_qr_encode_png(text, a->png);
  else
    s = mf_qr_encode_terminal(text, stdout, isatty(STDOUT_FILENO));
  if (s == MF_QR_TOO_LONG) {
    fprintf(stderr, "mintflow: %s: its wg-quick text is %zu bytes, more "
                    "than a QR code holds (%d); use --text\n",
            a->iface, len, MF_QR_MAX_TEXT);
    return 1;
  }
  if (s != MF_QR_OK) {
    print_qr_error(a->png ? a->png : "stdout", s);
    return 1;
  }
  fprintf(stderr, "mintflow: warning: %s%s holds the private key of '%s'; "
                  "show it only to the device that will use it\n",
          a->png ? a->png : a->text ? "this text" : "this QR code",
          a->png ? " (mode 0600)" : "", a->iface);
  return 0;
}

int mf_cli_export(const char *profile, int argc, char **argv)
{
  export_args_t a = {0};
  if (parse_export_args(argc, argv, &a) < 0 || !profile) {
    fprintf(stderr, "usage: mintflow export qr IFACE -c PROFILE [--png "
                    "FILE | --text]\n");
    return 2;
  }
  mf_profile_t *p = calloc(1, sizeof(*p));
  char *text = malloc(MF_EXPORT_WG_MAX_TEXT);
  size_t len = 0;
  int rv = 1;
  mf_diag_t diag = {.out = stderr};
  const mf_wg_cfg_t *wg = NULL;
  if (!p || !text)
    fprintf(stderr, "mintflow: out of memory\n");
  else if (mf_profile_load_file(profile, p, &diag) < 0)
    fprintf(stderr, "mintflow: %s: %u error(s)\n", profile, diag.n_errors);
  else if ((wg = find_wg(p, profile, a.iface)) != NULL) {
    if (mf_export_wg_quick(wg, text, MF_EXPORT_WG_MAX_TEXT, &len) < 0)
      fprintf(stderr, "mintflow: %s: wg-quick text too long\n", a.iface);
    else
      rv = export_text(&a, text, len);
  }
  if (text)
    OPENSSL_cleanse(text, MF_EXPORT_WG_MAX_TEXT);
  if (p)
    OPENSSL_cleanse(p, sizeof(*p));
  free(text);
  free(p);
  return rv;
}
