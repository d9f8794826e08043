/* wg-quick(8) files into profile text. The format is wg(8)'s INI dialect
 * (CONFIGURATION FILE FORMAT in wg(8)): "[Section]" lines, "Key = Value"
 * lines with case-insensitive keys, '#' comments to the end of a line.
 * The file is read whole into an mf_wg_cfg_t, checked as a profile would
 * check it, and only then written out, so that a bad file writes nothing. */
#include "config/import_wg.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"
#include "config/import_wg_parse.h"
#include "config/key_text.h"
#include "config/profile_dump.h"
#include "config/profile_parse.h"
#include "config/yaml_write.h"

#define MTU_DEFAULT 1420
#define MTU_MIN_IPV6 1280 /* RFC 8200 section 5 */
#define HIDDEN "(hidden)"

typedef enum { LINE_BLANK, LINE_SECTION, LINE_PAIR, LINE_BAD } line_kind_t;

void mf_import_error(import_t *im, mf_mark_t at, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_vreport(im->diag, im->source, at, fmt, ap);
  va_end(ap);
  im->n_errors++;
}

void mf_import_warn(import_t *im, mf_mark_t at, const char *fmt, ...)
{
  char msg[300];
  va_list ap;
  if (!im->diag->out)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(im->diag->out, "%s:%u:%u: warning: %s\n", im->source, at.line,
          at.column, msg);
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static import_span_t trim(const char *line, size_t a, size_t b, uint32_t no)
{
  while (a < b && is_blank(line[a]))
    a++;
  while (b > a && is_blank(line[b - 1]))
    b--;
  return (import_span_t){line + a, b - a, {no, (uint32_t)a + 1}};
}

/* Splits one line (without its '\n') the way wg(8) reads it. For a section,
 * key is the whole "[...]"; for a pair, key and value are trimmed. */
static line_kind_t split_line(const char *s, size_t len, uint32_t no,
                              import_span_t *key, import_span_t *value)
{
  const char *hash = memchr(s, '#', len);
  if (hash)
    len = (size_t)(hash - s);
  *key = trim(s, 0, len, no);
  if (key->len == 0)
    return LINE_BLANK;
  if (key->s[0] == '[')
    return LINE_SECTION;
  const char *eq = memchr(s, '=', len);
  if (!eq)
    return LINE_BAD;
  size_t at = (size_t)(eq - s);
  *key = trim(s, 0, at, no);
  *value = trim(s, at + 1, len, no);
  return LINE_PAIR;
}

static void open_section(import_t *im, import_span_t h)
{
  char q[MF_DIAG_QUOTE_MAX + 4];
  import_span_t name = trim(h.s, 1, h.len - 1, h.at.line);
  im->section = SEC_SKIP;
  if (h.len < 2 || h.s[h.len - 1] != ']') {
    mf_import_error(im, h.at, "a section header ends with ']'");
    return;
  }
  if (mf_import_key_is(name, "Interface")) {
    if (im->iface_line) {
      mf_import_error(im, h.at, "second [Interface] section (first at line "
                                "%u)",
                      im->iface_line);
      return;
    }
    im->iface_line = h.at.line;
    im->section = SEC_INTERFACE;
  } else if (mf_import_key_is(name, "Peer")) {
    if (im->wg.n_peers == MF_PROFILE_MAX_WG_PEERS) {
      mf_import_error(im, h.at, "more than %u peers",
                      MF_PROFILE_MAX_WG_PEERS);
      return;
    }
    uint32_t k = im->wg.n_peers++;
    memset(&im->wg.peers[k], 0, sizeof(im->wg.peers[k]));
    im->wg.peers[k].mark = h.at;
    im->peer_line[k] = h.at.line;
    im->psk_line = im->endpoint_line = im->keepalive_line = 0;
    im->section = SEC_PEER;
  } else {
    mf_diag_quote(h.s, h.len, q, sizeof(q));
    mf_import_error(im, h.at,
                    "unknown section '%s' (expected [Interface] or [Peer])", q);
  }
}

static void parse_line(import_t *im, const char *s, size_t len, uint32_t no)
{
  import_span_t key, value;
  char q[MF_DIAG_QUOTE_MAX + 4];
  switch (split_line(s, len, no, &key, &value)) {
  case LINE_BLANK:
    return;
  case LINE_SECTION:
    open_section(im, key);
    return;
  case LINE_BAD:
    mf_import_error(im, key.at, "expected 'Key = Value' or a [Section]");
    return;
  case LINE_PAIR:
    break;
  }
  mf_diag_quote(key.s, key.len, q, sizeof(q));
  if (key.len == 0)
    mf_import_error(im, key.at, "no key before '='");
  else if (im->section == SEC_NONE)
    mf_import_error(im, key.at,
                    "'%s' is outside a section; put it under [Interface] "
                    "or [Peer]",
                    q);
  else if (im->section == SEC_INTERFACE)
    mf_import_interface_key(im, key, value);
  else if (im->section == SEC_PEER)
    mf_import_peer_key(im, key, value);
}

/* Calls parse_line for each line; "\r\n" ends a line as "\n" does. */
static void parse_lines(import_t *im, const char *text, size_t len)
{
  uint32_t no = 1;
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    parse_line(im, text + i, end - i, no++);
    i = end + 1;
  }
}

static bool has_ipv6(const mf_wg_cfg_t *wg)
{
  for (uint32_t k = 0; k < wg->n_addresses; k++)
    if (wg->addresses[k].family == AF_INET6)
      return true;
  return false;
}

/* What a profile requires and a wg-quick file may leave out. */
static void check_complete(import_t *im)
{
  mf_wg_cfg_t *wg = &im->wg;
  if (!im->iface_line)
    mf_import_error(im, (mf_mark_t){1, 1}, "no [Interface] section");
  else {
    mf_mark_t at = {im->iface_line, 1};
    if (!im->private_line)
      mf_import_error(im, at, "[Interface] has no PrivateKey");
    if (wg->n_addresses == 0)
      mf_import_error(im, at, "[Interface] has no Address (a profile needs "
                              "one)");
  }
  if (!im->mtu_line)
    wg->mtu = MTU_DEFAULT;
  else if (wg->mtu < MTU_MIN_IPV6 && has_ipv6(wg))
    mf_import_error(im, (mf_mark_t){im->mtu_line, 1},
                    "MTU %u is below %u, the IPv6 minimum (RFC 8200 section "
                    "5)",
                    wg->mtu, MTU_MIN_IPV6);
  if (wg->n_peers == 0)
    mf_import_error(im, (mf_mark_t){1, 1},
                    "no [Peer] section (a profile needs one)");
  for (uint32_t k = 0; k < wg->n_peers; k++) {
    mf_mark_t at = {im->peer_line[k], 1};
    if (!im->public_line[k])
      mf_import_error(im, at, "[Peer] has no PublicKey");
    if (wg->peers[k].n_allowed_ips == 0)
      mf_import_error(im, at, "[Peer] has no AllowedIPs (a profile needs "
                              "one)");
  }
}

/* The interface name: given, or the file's base name without ".conf" with
 * characters outside the name rules turned into '-'. */
static void pick_name(import_t *im, const char *given, char *out)
{
  if (given) {
    size_t len = strlen(given);
    if (!mf_profile_name_ok(given, len, MF_IF_NAME_MAX - 1) ||
        strcmp(given, "local") == 0) {
      char q[MF_DIAG_QUOTE_MAX + 4];
      mf_diag_quote(given, len, q, sizeof(q));
      mf_import_error(im, (mf_mark_t){0, 0},
                      "'%s' is not a valid interface name (1..%u characters "
                      "of A-Z a-z 0-9 _ . -, not 'local')",
                      q, MF_IF_NAME_MAX - 1);
      return;
    }
    memcpy(out, given, len + 1);
    return;
  }
  const char *base = strrchr(im->source, '/');
  base = base ? base + 1 : im->source;
  size_t len = strlen(base);
  if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
    len -= 5;
  if (len > MF_IF_NAME_MAX - 1)
    len = MF_IF_NAME_MAX - 1;
  for (size_t k = 0; k < len; k++) {
    char c = base[k];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    out[k] = ok ? c : '-';
  }
  out[len] = 0;
  if (!mf_profile_name_ok(out, len, MF_IF_NAME_MAX - 1))
    memcpy(out, "wg", 3);
  else if (strcmp(out, "local") == 0)
    memcpy(out, "wg-local", 9);
}

static bool append(char *buf, size_t *n, const char *s, size_t len)
{
  if (*n + len >= MF_PROFILE_WG_DEBUG_MAX)
    return false;
  memcpy(buf + *n, s, len);
  *n += len;
  buf[*n] = 0;
  return true;
}

/* Replaces each copy of key's text in the NUL-terminated buf by HIDDEN,
 * which is shorter, in place. */
static void hide_key(char *buf, const uint8_t key[MF_KEY_LEN])
{
  char text[MF_KEY_TEXT_LEN + 1];
  mf_key_text_encode(key, text);
  for (char *at = strstr(buf, text); at; at = strstr(at, text)) {
    memcpy(at, HIDDEN, sizeof(HIDDEN) - 1);
    memmove(at + sizeof(HIDDEN) - 1, at + MF_KEY_TEXT_LEN,
            strlen(at + MF_KEY_TEXT_LEN) + 1);
  }
  OPENSSL_cleanse(text, sizeof(text));
}

/* Keys may hide in other places too (a comment, a PostUp command); the
 * profile refuses a debug text that holds one, so none may stay. */
static void hide_keys_everywhere(mf_wg_cfg_t *wg)
{
  hide_key(wg->debug, wg->private_key);
  for (uint32_t k = 0; k < wg->n_peers; k++)
    if (wg->peers[k].has_preshared_key)
      hide_key(wg->debug, wg->peers[k].preshared_key);
}

/* The file again, each PrivateKey and PresharedKey value replaced by
 * "(hidden)": the keys have their own fields, and a debug copy must not
 * carry secrets a second time. */
static void keep_debug_copy(import_t *im, const char *text, size_t len)
{
  char *buf = im->wg.debug;
  size_t n = 0, i = 0;
  bool ok = true;
  uint32_t no = 1;
  buf[0] = 0;
  while (ok && i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) + 1 : len;
    import_span_t key, value;
    const char *line = text + i;
    size_t line_len = nl ? (size_t)(nl - line) : end - i;
    if (split_line(line, line_len, no++, &key, &value) == LINE_PAIR &&
        (mf_import_key_is(key, "PrivateKey") ||
         mf_import_key_is(key, "PresharedKey"))) {
      size_t v0 = (size_t)(value.s - line), v1 = v0 + value.len;
      ok = append(buf, &n, line, v0) &&
           append(buf, &n, HIDDEN, sizeof(HIDDEN) - 1) &&
           append(buf, &n, line + v1, end - i - v1);
    } else
      ok = append(buf, &n, line, end - i);
    i = end;
  }
  if (ok) {
    hide_keys_everywhere(&im->wg);
    n = strlen(buf);
  }
  if (!ok)
    mf_import_warn(im, (mf_mark_t){1, 1},
                   "longer than %u bytes with keys hidden; no debug copy "
                   "kept",
                   MF_PROFILE_WG_DEBUG_MAX - 1);
  else if (!mf_yaml_text_writable(buf, n))
    mf_import_warn(im, (mf_mark_t){1, 1},
                   "not UTF-8 text; no debug copy kept");
  if (!ok || !mf_yaml_text_writable(buf, n))
    OPENSSL_cleanse(buf, MF_PROFILE_WG_DEBUG_MAX);
}

static int check_input(mf_diag_t *diag, const char *source, const char *text,
                       size_t len)
{
  if (len > MF_IMPORT_WG_MAX_INPUT) {
    mf_diag_report(diag, source, (mf_mark_t){0, 0},
                   "larger than %u bytes; not a wg-quick file?",
                   MF_IMPORT_WG_MAX_INPUT);
    return -1;
  }
  const char *nul = memchr(text, 0, len);
  if (nul) {
    mf_mark_t at = {1, 1};
    for (const char *c = text; c < nul; c++)
      at = *c == '\n' ? (mf_mark_t){at.line + 1, 1}
                      : (mf_mark_t){at.line, at.column + 1};
    mf_diag_report(diag, source, at, "NUL byte (is this a text file?)");
    return -1;
  }
  return 0;
}

int mf_import_wg_quick(const char *text, size_t len, const char *source,
                       const char *name, FILE *out, mf_diag_t *diag)
{
  mf_diag_t quiet = {0};
  char iface[MF_IF_NAME_MAX] = "";
  if (!diag)
    diag = &quiet;
  if (!source)
    source = "<wg-quick>";
  if (!text)
    text = "", len = 0;
  if (check_input(diag, source, text, len) < 0)
    return -1;
  import_t *im = calloc(1, sizeof(*im));
  if (!im) {
    mf_diag_report(diag, source, (mf_mark_t){0, 0}, "out of memory");
    return -1;
  }
  im->source = source;
  im->diag = diag;
  pick_name(im, name, iface);
  parse_lines(im, text, len);
  check_complete(im);
  int rc = im->n_errors ? -1 : 0;
  if (rc == 0) {
    keep_debug_copy(im, text, len);
    mf_profile_dump_wg_iface(iface, &im->wg, true, out);
  }
  OPENSSL_cleanse(im, sizeof(*im));
  free(im);
  return rc;
}
