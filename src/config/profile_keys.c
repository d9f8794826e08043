/* Keys in profiles: inline base64 text, or a file holding it (as `wg
 * genkey > file` writes it). Key files are read at parse time and must be
 * private to their owner, as wg(8) warns and the design's rules demand. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/diag.h"
#include "config/key_text.h"
#include "config/profile_parse.h"

#define KEY_FILE_MAX 1024 /* bytes; a key is 45 */
#define PATH_SHOWN_MAX 160

/* Decodes key text; -1 after reporting "<label>: not a valid ..." at i. */
static int decode_key(const mf_yaml_tree_t *t, uint32_t i, const char *label,
                      const char *s, size_t len, uint8_t out[32])
{
  if (mf_key_text_decode(s, len, out) < 0) {
    mf_yaml_error(t, i, "%s: not a valid base64 32-byte key", label);
    return -1;
  }
  return 0;
}

/* Reads at most KEY_FILE_MAX + 1 bytes of a private regular file into buf.
 * Returns the length, or -1 after reporting at node i. */
static ssize_t read_key_file(const mf_yaml_tree_t *t, uint32_t i,
                             const char *path, char *buf)
{
  /* O_NONBLOCK: opening a FIFO must not hang the parser. The checks run on
   * the descriptor, so the file checked is the file read. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  ssize_t n = -1;
  if (fd < 0) {
    mf_yaml_error(t, i, "%.*s: cannot open key file: %s", PATH_SHOWN_MAX,
                  path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) < 0)
    mf_yaml_error(t, i, "%.*s: cannot read key file: %s", PATH_SHOWN_MAX,
                  path, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    mf_yaml_error(t, i, "%.*s: key file is not a regular file",
                  PATH_SHOWN_MAX, path);
  else if (st.st_mode & (S_IRWXG | S_IRWXO))
    mf_yaml_error(t, i,
                  "%.*s: key file must not be accessible by group or "
                  "others (chmod 600)",
                  PATH_SHOWN_MAX, path);
  else if (st.st_size > KEY_FILE_MAX)
    mf_yaml_error(t, i, "%.*s: key file is larger than %u bytes",
                  PATH_SHOWN_MAX, path, KEY_FILE_MAX);
  else {
    size_t got = 0;
    ssize_t r;
    while (got <= KEY_FILE_MAX &&
           (r = read(fd, buf + got, KEY_FILE_MAX + 1 - got)) > 0)
      got += (size_t)r;
    if (got > KEY_FILE_MAX)
      mf_yaml_error(t, i, "%.*s: key file is larger than %u bytes",
                    PATH_SHOWN_MAX, path, KEY_FILE_MAX);
    else
      n = (ssize_t)got; /* a read error shows as a short, invalid key */
  }
  close(fd);
  return n;
}

static int key_from_file(const mf_yaml_tree_t *t, uint32_t i,
                         const char *what, uint8_t out[32])
{
  char label[48];
  const char *path;
  size_t len;
  snprintf(label, sizeof(label), "%s_file", what);
  if (mf_yaml_read_string(t, i, label, &path, &len) < 0)
    return -1;
  bool printable = strlen(path) == len;
  for (size_t k = 0; printable && k < len; k++)
    printable = (unsigned char)path[k] >= 0x20 && path[k] != 0x7f;
  if (!printable || path[0] != '/') {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(path, len, q, sizeof(q));
    mf_yaml_error(t, i, "%s: '%s' is not an absolute path", label, q);
    return -1;
  }
  char buf[KEY_FILE_MAX + 1];
  ssize_t n = read_key_file(t, i, path, buf);
  int rc = -1;
  if (n >= 0) {
    size_t klen = (size_t)n;
    /* One line ending, as `wg genkey > file` leaves it. */
    if (klen > 0 && buf[klen - 1] == '\n')
      klen--;
    if (klen > 0 && buf[klen - 1] == '\r')
      klen--;
    if (mf_key_text_decode(buf, klen, out) == 0)
      rc = 0;
    else
      mf_yaml_error(t, i, "%.*s: not a valid base64 32-byte key",
                    PATH_SHOWN_MAX, path);
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

int mf_profile_read_key(const mf_yaml_tree_t *t, uint32_t text_key,
                        uint32_t text, uint32_t file_key, uint32_t file,
                        const char *what, uint8_t out[32])
{
  const char *s;
  size_t len;
  memset(out, 0, 32);
  if (text != MF_YAML_NONE && file != MF_YAML_NONE) {
    mf_mark_t a = mf_profile_mark(t, text_key), b = mf_profile_mark(t, file_key);
    bool file_later =
        a.line < b.line || (a.line == b.line && a.column < b.column);
    mf_yaml_error(t, file_later ? file_key : text_key,
                  "give %s or %s_file, not both", what, what);
    return -1;
  }
  if (file != MF_YAML_NONE)
    return key_from_file(t, file, what, out);
  if (text == MF_YAML_NONE)
    return 1;
  if (mf_yaml_read_string(t, text, what, &s, &len) < 0)
    return -1;
  return decode_key(t, text, what, s, len, out);
}
