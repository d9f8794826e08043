#include "config/yaml_read.h"

#include <stdio.h>
#include <string.h>

#include "config/diag.h"

static bool text_is(const mf_yaml_tree_t *t, uint32_t i, const char *s)
{
  size_t n = strlen(s);
  return mf_yaml_node(t, i)->len == n && memcmp(mf_yaml_text(t, i), s, n) == 0;
}

void mf_yaml_describe(const mf_yaml_tree_t *t, uint32_t i, char *out,
                      size_t size)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  char q[MF_DIAG_QUOTE_MAX + 4];
  if (n->kind == MF_YAML_MAP)
    snprintf(out, size, "a mapping");
  else if (n->kind == MF_YAML_SEQ)
    snprintf(out, size, "a list");
  else if (n->kind == MF_YAML_BAD)
    snprintf(out, size, "an alias or tagged value");
  else if (mf_yaml_is_null(t, i))
    snprintf(out, size, "nothing");
  else {
    mf_diag_quote(mf_yaml_text(t, i), n->len, q, sizeof(q));
    snprintf(out, size, "'%s'", q);
  }
}

static int mismatch(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                    const char *expected)
{
  char got[MF_DIAG_QUOTE_MAX + 16];
  if (mf_yaml_node(t, i)->kind == MF_YAML_BAD)
    return -1;
  mf_yaml_describe(t, i, got, sizeof(got));
  mf_yaml_error(t, i, "%s: expected %s, got %s", what, expected, got);
  return -1;
}

bool mf_yaml_is_null(const mf_yaml_tree_t *t, uint32_t i)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  if (n->kind != MF_YAML_SCALAR || !n->plain)
    return false;
  return n->len == 0 || text_is(t, i, "~") || text_is(t, i, "null") ||
         text_is(t, i, "Null") || text_is(t, i, "NULL");
}

int mf_yaml_expect(const mf_yaml_tree_t *t, uint32_t i, mf_yaml_kind_t kind,
                   const char *what)
{
  if (mf_yaml_node(t, i)->kind == kind)
    return 0;
  return mismatch(t, i, what, kind == MF_YAML_MAP ? "a mapping" : "a list");
}

static mf_yaml_field_t *find_field(const mf_yaml_tree_t *t, uint32_t key,
                                   mf_yaml_field_t *fields, size_t n_fields)
{
  for (size_t f = 0; f < n_fields; f++)
    if (text_is(t, key, fields[f].name))
      return &fields[f];
  return NULL;
}

static void read_pair(const mf_yaml_tree_t *t, uint32_t key, uint32_t value,
                      const char *where, mf_yaml_field_t *fields,
                      size_t n_fields)
{
  const mf_yaml_node_t *k = mf_yaml_node(t, key);
  char q[MF_DIAG_QUOTE_MAX + 4];
  if (k->kind == MF_YAML_BAD)
    return;
  if (k->kind != MF_YAML_SCALAR) {
    mf_yaml_error(t, key, "keys %s must be strings", where);
    return;
  }
  mf_yaml_field_t *f = find_field(t, key, fields, n_fields);
  if (!f) {
    mf_diag_quote(mf_yaml_text(t, key), k->len, q, sizeof(q));
    mf_yaml_error(t, key, "unknown key '%s' %s", q, where);
    return;
  }
  if (f->key != MF_YAML_NONE) {
    const mf_yaml_node_t *first = mf_yaml_node(t, f->key);
    mf_yaml_error(t, key, "duplicate key '%s' %s (first at %u:%u)", f->name,
                  where, first->mark.line, first->mark.column);
    return;
  }
  f->key = key;
  f->value = value;
}

void mf_yaml_read_fields(const mf_yaml_tree_t *t, uint32_t map,
                         const char *where, mf_yaml_field_t *fields,
                         size_t n_fields)
{
  for (size_t f = 0; f < n_fields; f++)
    fields[f].key = fields[f].value = MF_YAML_NONE;
  if (mf_yaml_node(t, map)->kind != MF_YAML_MAP)
    return;
  uint32_t key = mf_yaml_node(t, map)->first;
  while (key != MF_YAML_NONE) {
    uint32_t value = mf_yaml_node(t, key)->next;
    if (value == MF_YAML_NONE) /* the builder always pairs them; be safe */
      break;
    read_pair(t, key, value, where, fields, n_fields);
    key = mf_yaml_node(t, value)->next;
  }
}

int mf_yaml_read_bool(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                      bool *out)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  if (n->kind == MF_YAML_SCALAR && n->plain) {
    if (text_is(t, i, "true") || text_is(t, i, "True") ||
        text_is(t, i, "TRUE")) {
      *out = true;
      return 0;
    }
    if (text_is(t, i, "false") || text_is(t, i, "False") ||
        text_is(t, i, "FALSE")) {
      *out = false;
      return 0;
    }
  }
  return mismatch(t, i, what, "a boolean (true or false)");
}

static int digit_value(char c, unsigned base)
{
  int v = -1;
  if (c >= '0' && c <= '9')
    v = c - '0';
  else if (c >= 'a' && c <= 'f')
    v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F')
    v = c - 'A' + 10;
  return v >= 0 && (unsigned)v < base ? v : -1;
}

/* Parses digits into *out, saturating above UINT32_MAX. */
static bool parse_unsigned(const char *s, size_t len, uint64_t *out)
{
  unsigned base = 10;
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    len -= 2;
  }
  if (len == 0)
    return false;
  uint64_t v = 0;
  for (size_t k = 0; k < len; k++) {
    int d = digit_value(s[k], base);
    if (d < 0)
      return false;
    v = v * base + (uint64_t)d;
    if (v > UINT32_MAX)
      v = (uint64_t)UINT32_MAX + 1;
  }
  *out = v;
  return true;
}

int mf_yaml_read_u32(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                     uint32_t lo, uint32_t hi, uint32_t *out)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  uint64_t v;
  if (n->kind != MF_YAML_SCALAR || !n->plain ||
      !parse_unsigned(mf_yaml_text(t, i), n->len, &v))
    return mismatch(t, i, what, "an integer");
  if (v < lo || v > hi) {
    char q[MF_DIAG_QUOTE_MAX + 4];
    mf_diag_quote(mf_yaml_text(t, i), n->len, q, sizeof(q));
    mf_yaml_error(t, i, "%s: %s is out of range (%u..%u)", what, q, lo, hi);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

int mf_yaml_read_string(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                        const char **out, size_t *len)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  if (n->kind != MF_YAML_SCALAR || mf_yaml_is_null(t, i))
    return mismatch(t, i, what, "a string");
  *out = mf_yaml_text(t, i);
  *len = n->len;
  return 0;
}
