/* Domain names on the wire: RFC 1035 3.1 (labels), 4.1.4 (compression),
 * RFC 4343 (case), RFC 1035 5.1 (text escapes). */
#include "dns/dns_name.h"

#include <string.h>

#define LABEL_TYPE_MASK 0xc0
#define LABEL_TYPE_LEN 0x00
#define LABEL_TYPE_POINTER 0xc0

static inline uint8_t fold(uint8_t c)
{
  return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

mf_dns_name_status_t mf_dns_name_read(const uint8_t *msg, size_t len,
                                      size_t off, mf_dns_name_t *name,
                                      size_t *next)
{
  size_t pos = off, run_start = off, end = 0, out = 0;
  unsigned jumps = 0;
  uint8_t labels = 0;

  /* Each pass either consumes a label of the current run or jumps to a
   * run that starts lower than this one, so the loop ends; the jump count
   * is a second bound. */
  for (;;) {
    if (pos >= len)
      return MF_DNS_NAME_TRUNCATED;
    uint8_t b = msg[pos];
    uint8_t type = b & LABEL_TYPE_MASK;
    if (type == LABEL_TYPE_POINTER) {
      if (pos + 1 >= len)
        return MF_DNS_NAME_TRUNCATED;
      size_t target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
      if (target > pos)
        return MF_DNS_NAME_POINTER_FORWARD;
      if (target < MF_DNS_POINTER_MIN)
        return MF_DNS_NAME_POINTER_HEADER;
      /* "A pointer to a prior occurrence of the same name": anything
       * inside the run being read (itself included) is not prior. */
      if (target >= run_start || ++jumps > MF_DNS_NAME_MAX_JUMPS)
        return MF_DNS_NAME_LOOP;
      if (!end)
        end = pos + 2;
      pos = run_start = target;
      continue;
    }
    if (type != LABEL_TYPE_LEN)
      return MF_DNS_NAME_BAD_LABEL_TYPE;
    if (b == 0) {
      name->wire[out++] = 0;
      if (!end)
        end = pos + 1;
      break;
    }
    if (pos + 1 + b > len)
      return MF_DNS_NAME_TRUNCATED;
    /* Room for this label and the root label after it. */
    if (out + 1 + b + 1 > MF_DNS_NAME_MAX)
      return MF_DNS_NAME_TOO_LONG;
    memcpy(&name->wire[out], &msg[pos], 1 + (size_t)b);
    out += 1 + (size_t)b;
    labels++;
    pos += 1 + (size_t)b;
  }
  name->len = (uint8_t)out;
  name->labels = labels;
  if (next)
    *next = end;
  return MF_DNS_NAME_OK;
}

size_t mf_dns_name_skip(const uint8_t *msg, size_t len, size_t off)
{
  size_t pos = off;
  while (pos < len && pos - off < MF_DNS_NAME_MAX) {
    uint8_t b = msg[pos];
    uint8_t type = b & LABEL_TYPE_MASK;
    if (type == LABEL_TYPE_POINTER)
      return pos + 2 <= len ? pos + 2 : 0;
    if (type != LABEL_TYPE_LEN)
      return 0;
    if (b == 0)
      return pos + 1;
    pos += 1 + (size_t)b;
  }
  return 0;
}

bool mf_dns_name_equal(const mf_dns_name_t *a, const mf_dns_name_t *b)
{
  if (a->len != b->len || a->labels != b->labels)
    return false;
  /* Length octets are below 64, so folding them is harmless. */
  for (size_t i = 0; i < a->len; i++)
    if (fold(a->wire[i]) != fold(b->wire[i]))
      return false;
  return true;
}

void mf_dns_name_lower(mf_dns_name_t *name)
{
  for (size_t i = 0; i < name->len; i++)
    name->wire[i] = fold(name->wire[i]);
}

void mf_dns_name_root(mf_dns_name_t *name)
{
  name->wire[0] = 0;
  name->len = 1;
  name->labels = 0;
}

static bool needs_escape(uint8_t c)
{
  return c <= ' ' || c >= 0x7f || c == '.' || c == '\\';
}

int mf_dns_name_to_text(const mf_dns_name_t *name, char *out, size_t size)
{
  size_t o = 0;
  if (name->labels == 0) {
    if (size < 2)
      return -1;
    out[0] = '.';
    out[1] = '\0';
    return 1;
  }
  size_t pos = 0;
  for (unsigned l = 0; l < name->labels && pos < name->len; l++) {
    uint8_t n = name->wire[pos++];
    if (l > 0) {
      if (o + 1 >= size)
        return -1;
      out[o++] = '.';
    }
    for (uint8_t i = 0; i < n && pos < name->len; i++) {
      uint8_t c = fold(name->wire[pos++]);
      if (needs_escape(c)) {
        if (o + 4 >= size)
          return -1;
        out[o++] = '\\';
        out[o++] = (char)('0' + c / 100);
        out[o++] = (char)('0' + c / 10 % 10);
        out[o++] = (char)('0' + c % 10);
      } else {
        if (o + 1 >= size)
          return -1;
        out[o++] = (char)c;
      }
    }
  }
  out[o] = '\0';
  return (int)o;
}

/* One octet of text at t[*i] with RFC 1035 5.1 escapes (\X, \DDD), or
 * -1 on a bad escape. *separator tells an unescaped dot. */
static int text_octet(const char *t, size_t len, size_t *i, bool *separator)
{
  uint8_t c = (uint8_t)t[*i];
  *separator = false;
  if (c != '\\') {
    (*i)++;
    *separator = c == '.';
    return c;
  }
  if (*i + 1 >= len)
    return -1;
  uint8_t d = (uint8_t)t[*i + 1];
  if (d < '0' || d > '9') {
    *i += 2;
    return d;
  }
  if (*i + 3 >= len)
    return -1;
  int v = 0;
  for (size_t k = 1; k <= 3; k++) {
    uint8_t e = (uint8_t)t[*i + k];
    if (e < '0' || e > '9')
      return -1;
    v = v * 10 + (e - '0');
  }
  if (v > 255)
    return -1;
  *i += 4;
  return v;
}

int mf_dns_name_from_text(const char *text, size_t len, mf_dns_name_t *name)
{
  if (len == 1 && text[0] == '.') {
    mf_dns_name_root(name);
    return 0;
  }
  if (len == 0)
    return -1;
  size_t out = 0, i = 0;
  uint8_t labels = 0;
  while (i < len) {
    /* One label: octets up to an unescaped dot or the end of the text. */
    size_t len_at = out++;
    uint8_t n = 0;
    bool sep = false;
    while (i < len) {
      int c = text_octet(text, len, &i, &sep);
      if (c < 0)
        return -1;
      if (sep)
        break;
      /* Keep room for the root label after this octet. */
      if (n == MF_DNS_LABEL_MAX || out + 1 >= MF_DNS_NAME_MAX)
        return -1;
      name->wire[out++] = (uint8_t)c;
      n++;
    }
    if (n == 0)
      return -1; /* empty label: "..", ".x" */
    name->wire[len_at] = n;
    labels++;
  }
  name->wire[out++] = 0;
  name->len = (uint8_t)out;
  name->labels = labels;
  return 0;
}

/* Compares the name already in msg at e_off (msg_len bytes written so far)
 * with the suffix of name starting at wire offset from. */
static bool suffix_at(const uint8_t *msg, size_t msg_len, size_t e_off,
                      const mf_dns_name_t *name, size_t from)
{
  mf_dns_name_t there;
  if (mf_dns_name_read(msg, msg_len, e_off, &there, NULL) != MF_DNS_NAME_OK)
    return false;
  if (there.len != name->len - from)
    return false;
  for (size_t i = 0; i < there.len; i++)
    if (fold(there.wire[i]) != fold(name->wire[from + i]))
      return false;
  return true;
}

int mf_dns_name_write(uint8_t *msg, size_t cap, size_t *off,
                      const mf_dns_name_t *name, mf_dns_compress_t *c)
{
  size_t pos = *off;
  /* Wire offset of each label of name. */
  uint8_t at[128];
  size_t p = 0;
  unsigned nl = 0;
  while (p < name->len && name->wire[p] != 0 && nl < 128) {
    at[nl++] = (uint8_t)p;
    p += 1 + (size_t)name->wire[p];
  }
  /* The longest suffix already written: suffix i has nl - i labels. */
  unsigned best = nl;
  uint16_t best_off = 0;
  if (c) {
    for (unsigned e = 0; e < c->n; e++) {
      unsigned el = c->labels[e];
      if (el == 0 || el > nl || nl - el >= best)
        continue;
      if (suffix_at(msg, pos, c->off[e], name, at[nl - el])) {
        best = nl - el;
        best_off = c->off[e];
      }
    }
  }
  size_t prefix = best < nl ? at[best] : (size_t)name->len - 1;
  size_t need = prefix + (best < nl ? 2 : 1);
  if (pos + need > cap || pos + need < pos)
    return -1;
  memcpy(&msg[pos], name->wire, prefix);
  if (best < nl) {
    msg[pos + prefix] = (uint8_t)(LABEL_TYPE_POINTER | best_off >> 8);
    msg[pos + prefix + 1] = (uint8_t)best_off;
  } else {
    msg[pos + prefix] = 0;
  }
  for (unsigned i = 0; c && i < best && c->n < MF_DNS_COMPRESS_MAX; i++) {
    size_t o = pos + at[i];
    if (o > MF_DNS_POINTER_MAX)
      break;
    c->off[c->n] = (uint16_t)o;
    c->labels[c->n] = (uint8_t)(nl - i);
    c->n++;
  }
  *off = pos + need;
  return 0;
}
