#include "config/yaml_tree.h"

#include <libfyaml.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"

/* Open containers while events arrive; depth is bounded, so fixed arrays. */
typedef struct {
  mf_yaml_tree_t *t;
  uint32_t open[MF_YAML_MAX_DEPTH];
  uint32_t last_child[MF_YAML_MAX_DEPTH];
  uint32_t depth;
  uint32_t n_docs;
  mf_mark_t last_mark; /* stands in for events that carry no mark */
} builder_t;

void mf_yaml_error(const mf_yaml_tree_t *t, uint32_t i, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_batch_vadd(t->errs, t->nodes[i].mark, fmt, ap);
  va_end(ap);
}

void mf_yaml_error_at(const mf_yaml_tree_t *t, mf_mark_t m, const char *fmt,
                      ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_batch_vadd(t->errs, m, fmt, ap);
  va_end(ap);
}

/* Length of the UTF-8 sequence at s (RFC 3629 section 4: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_char_len(const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else
    return 0;
  if (avail < n || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  return n;
}

/* libfyaml skips some malformed UTF-8 and stops at a NUL without a word
 * (0.7.12), so both are refused here first, where columns count characters
 * as libfyaml's marks do. */
static int check_encoding(const mf_yaml_tree_t *t, const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  mf_mark_t m = {1, 1};
  size_t i = 0;
  if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
    i = 3; /* byte order mark: not a column */
  while (i < len) {
    if (s[i] == 0) {
      mf_yaml_error_at(t, m, "NUL byte in the profile (is this a text file?)");
      return -1;
    }
    size_t n = utf8_char_len(s + i, len - i);
    if (n == 0) {
      mf_yaml_error_at(t, m, "invalid UTF-8 in the profile (byte 0x%02x)",
                       s[i]);
      return -1;
    }
    if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))) {
      m.line++;
      m.column = 1;
    } else if (s[i] != '\r') {
      m.column++;
    }
    i += n;
  }
  return 0;
}

static mf_mark_t event_mark(builder_t *b, struct fy_event *e)
{
  const struct fy_mark *fm = fy_event_start_mark(e);
  if (fm && fm->line >= 0 && fm->column >= 0) {
    b->last_mark.line = (uint32_t)fm->line + 1;
    b->last_mark.column = (uint32_t)fm->column + 1;
  }
  return b->last_mark;
}

/* Tags are blamed where they are written, not where their node starts. */
static mf_mark_t tag_mark(struct fy_token *tag, mf_mark_t fallback)
{
  const struct fy_mark *fm = fy_token_start_mark(tag);
  if (!fm || fm->line < 0 || fm->column < 0)
    return fallback;
  return (mf_mark_t){(uint32_t)fm->line + 1, (uint32_t)fm->column + 1};
}

static int append_bytes(mf_yaml_tree_t *t, const char *s, size_t len)
{
  /* Scalars never hold more than the input, so this bound only guards
   * against surprises in the parser. */
  if (len > 2 * MF_YAML_MAX_INPUT || t->text_len + len > 2 * MF_YAML_MAX_INPUT)
    return -1;
  if (t->text_len + len > t->text_cap) {
    size_t cap = t->text_cap ? t->text_cap : 4096;
    while (cap < t->text_len + len)
      cap *= 2;
    char *n = realloc(t->text, cap);
    if (!n)
      return -1;
    t->text = n;
    t->text_cap = cap;
  }
  if (len)
    memcpy(t->text + t->text_len, s, len);
  t->text_len += len;
  return 0;
}

/* Copies a scalar's text into the arena, NUL-terminated, chunk by chunk.
 * fy_token_get_text() would be simpler, but the copy it caches on the token
 * leaks in libfyaml 0.7.12 when a syntax error follows the scalar. */
static int copy_scalar(mf_yaml_tree_t *t, struct fy_token *tok,
                       mf_yaml_node_t *n)
{
  size_t start = t->text_len;
  int err = 0, rc = 0;
  struct fy_token_iter *iter = tok ? fy_token_iter_create(tok) : NULL;
  const struct fy_iter_chunk *c = NULL;
  while (iter && (c = fy_token_iter_chunk_next(iter, c, &err)) != NULL)
    if ((rc = append_bytes(t, c->str, c->len)) < 0)
      break;
  if (iter)
    fy_token_iter_destroy(iter);
  if (rc < 0 || err < 0 || append_bytes(t, "", 1) < 0) {
    t->text_len = start;
    return -1;
  }
  n->text = (uint32_t)start;
  n->len = (uint32_t)(t->text_len - start - 1);
  return 0;
}

/* Adds a node under the innermost open container. Returns its index, or
 * MF_YAML_NONE after reporting the limit it hit. */
static uint32_t add_node(builder_t *b, mf_yaml_kind_t kind, mf_mark_t m)
{
  mf_yaml_tree_t *t = b->t;
  if (t->n_nodes >= MF_YAML_MAX_NODES) {
    mf_yaml_error_at(t, m, "the profile is too large (more than %u YAML nodes)",
                     MF_YAML_MAX_NODES);
    return MF_YAML_NONE;
  }
  if (t->n_nodes == t->max_nodes) {
    uint32_t cap = t->max_nodes ? t->max_nodes * 2 : 256;
    mf_yaml_node_t *n = realloc(t->nodes, cap * sizeof(*n));
    if (!n) {
      mf_yaml_error_at(t, m, "out of memory");
      return MF_YAML_NONE;
    }
    t->nodes = n;
    t->max_nodes = cap;
  }
  uint32_t i = t->n_nodes++;
  t->nodes[i] = (mf_yaml_node_t){.kind = (uint8_t)kind,
                                 .mark = m,
                                 .first = MF_YAML_NONE,
                                 .next = MF_YAML_NONE};
  if (b->depth == 0) {
    t->root = i;
    return i;
  }
  uint32_t d = b->depth - 1;
  mf_yaml_node_t *parent = &t->nodes[b->open[d]];
  if (parent->first == MF_YAML_NONE)
    parent->first = i;
  else
    t->nodes[b->last_child[d]].next = i;
  b->last_child[d] = i;
  parent->n++;
  return i;
}

static int open_container(builder_t *b, mf_yaml_kind_t kind, mf_mark_t m,
                          struct fy_token *tag)
{
  if (b->depth == MF_YAML_MAX_DEPTH) {
    mf_yaml_error_at(b->t, m, "nesting deeper than %u levels",
                     MF_YAML_MAX_DEPTH);
    return -1;
  }
  if (tag)
    mf_yaml_error_at(b->t, tag_mark(tag, m),
                     "YAML tags are not supported in profiles");
  uint32_t i = add_node(b, kind, m);
  if (i == MF_YAML_NONE)
    return -1;
  b->open[b->depth] = i;
  b->last_child[b->depth] = MF_YAML_NONE;
  b->depth++;
  return 0;
}

static int add_scalar(builder_t *b, struct fy_event *e, mf_mark_t m)
{
  bool tagged = e->scalar.tag != NULL;
  if (tagged)
    mf_yaml_error_at(b->t, tag_mark(e->scalar.tag, m),
                     "YAML tags are not supported in profiles");
  uint32_t i = add_node(b, tagged ? MF_YAML_BAD : MF_YAML_SCALAR, m);
  if (i == MF_YAML_NONE)
    return -1;
  mf_yaml_node_t *n = &b->t->nodes[i];
  if (copy_scalar(b->t, e->scalar.value, n) < 0) {
    mf_yaml_error_at(b->t, m, "out of memory");
    return -1;
  }
  n->plain = fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN;
  return 0;
}

/* Anchors and aliases could share one subtree many times over (a "billion
 * laughs" document); a profile has no use for them, so they are refused. */
static int add_alias(builder_t *b, mf_mark_t m)
{
  mf_yaml_error_at(b->t, m, "YAML aliases are not supported in profiles");
  return add_node(b, MF_YAML_BAD, m) == MF_YAML_NONE ? -1 : 0;
}

static int on_event(builder_t *b, struct fy_event *e)
{
  mf_mark_t m = event_mark(b, e);
  switch (e->type) {
  case FYET_DOCUMENT_START:
    if (++b->n_docs > 1) {
      mf_yaml_error_at(b->t, m,
                       "a profile is one YAML document; found a second one");
      return -1;
    }
    return 0;
  case FYET_MAPPING_START:
    return open_container(b, MF_YAML_MAP, m, e->mapping_start.tag);
  case FYET_SEQUENCE_START:
    return open_container(b, MF_YAML_SEQ, m, e->sequence_start.tag);
  case FYET_MAPPING_END:
  case FYET_SEQUENCE_END:
    if (b->depth > 0)
      b->depth--;
    return 0;
  case FYET_SCALAR:
    return add_scalar(b, e, m);
  case FYET_ALIAS:
    return add_alias(b, m);
  default:
    return 0;
  }
}

/* libfyaml only reaches us through its collected errors, never through its
 * own printing: the output callback swallows whatever else it formats. */
static void swallow_output(struct fy_diag *diag, void *user, const char *buf,
                           size_t len)
{
  (void)diag, (void)user, (void)buf, (void)len;
}

static void report_syntax_errors(builder_t *b, struct fy_diag *fd)
{
  void *iter = NULL;
  struct fy_diag_error *err;
  uint32_t n = 0;
  while (n < 8 && (err = fy_diag_errors_iterate(fd, &iter)) != NULL) {
    mf_mark_t m = b->last_mark;
    char msg[160];
    if (err->line > 0 && err->column > 0) {
      /* Collected errors are already 1-based. */
      m.line = (uint32_t)err->line;
      m.column = (uint32_t)err->column;
    }
    snprintf(msg, sizeof(msg), "%s", err->msg ? err->msg : "syntax error");
    for (char *c = msg; *c; c++)
      if ((unsigned char)*c < 0x20)
        *c = ' '; /* one line per error, whatever libfyaml wrote */
    mf_yaml_error_at(b->t, m, "YAML: %s", msg);
    n++;
  }
  if (n == 0)
    mf_yaml_error_at(b->t, b->last_mark, "YAML: syntax error");
}

static int parse_events(builder_t *b, const char *text, size_t len)
{
  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.output_fn = swallow_output;
  dcfg.level = FYET_ERROR;
  dcfg.colorize = false;
  struct fy_diag *fd = fy_diag_create(&dcfg);
  if (!fd) {
    mf_yaml_error_at(b->t, b->last_mark, "out of memory");
    return -1;
  }
  fy_diag_set_collect_errors(fd, true);
  struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_JSON_NONE,
                              .diag = fd};
  struct fy_parser *fp = fy_parser_create(&pcfg);
  int rc = -1;
  if (!fp || fy_parser_set_string(fp, text, len) != 0) {
    mf_yaml_error_at(b->t, b->last_mark, "out of memory");
    goto out;
  }
  struct fy_event *e;
  rc = 0;
  while (rc == 0 && (e = fy_parser_parse(fp)) != NULL) {
    rc = on_event(b, e);
    fy_parser_event_free(fp, e);
  }
  if (rc == 0 && fy_parser_get_stream_error(fp)) {
    report_syntax_errors(b, fd);
    rc = -1;
  }
out:
  if (fp)
    fy_parser_destroy(fp);
  fy_diag_destroy(fd);
  return rc;
}

int mf_yaml_tree_load(mf_yaml_tree_t *t, const char *text, size_t len,
                      mf_diag_batch_t *errs)
{
  memset(t, 0, sizeof(*t));
  t->errs = errs;
  t->root = MF_YAML_NONE;
  builder_t b = {.t = t, .last_mark = {1, 1}};
  if (len > MF_YAML_MAX_INPUT) {
    mf_yaml_error_at(t, (mf_mark_t){0, 0},
                     "the profile is larger than %u bytes", MF_YAML_MAX_INPUT);
    return -1;
  }
  if (len > 0 && check_encoding(t, text, len) < 0)
    return -1;
  return parse_events(&b, len ? text : "", len);
}

void mf_yaml_tree_free(mf_yaml_tree_t *t)
{
  free(t->nodes);
  /* Scalars may be private keys (design: secrets never linger). */
  if (t->text)
    OPENSSL_cleanse(t->text, t->text_cap);
  free(t->text);
  memset(t, 0, sizeof(*t));
  t->root = MF_YAML_NONE;
}
