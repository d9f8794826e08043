#include "config/yaml_write.h"

#include <stdbool.h>
#include <stdint.h>

/* A literal block keeps every character as written, except that it cannot
 * say "this line is only blanks" apart from an empty line, nor carry
 * characters YAML does not print. */
static bool block_can_hold(const char *text, size_t len)
{
  bool line_has_text = false, line_has_blank = false, any_text = false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') {
      if (line_has_blank && !line_has_text)
        return false;
      line_has_text = line_has_blank = false;
      continue;
    }
    if (c == ' ' || c == '\t') {
      line_has_blank = true;
      continue;
    }
    if (c < 0x20 || c >= 0x7f)
      return false;
    line_has_text = any_text = true;
  }
  if (line_has_blank && !line_has_text)
    return false;
  return any_text;
}

static void write_block(FILE *out, const char *text, size_t len,
                        unsigned key_column)
{
  size_t end = len;
  while (end > 0 && text[end - 1] == '\n')
    end--;
  size_t trailing = len - end;
  /* Chomping (section 8.1.1.2): strip no newline, clip one, keep more. */
  const char *chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+";
  fprintf(out, " |2%s\n", chomp);
  unsigned indent = key_column + 2;
  bool line_start = true;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') {
      fputc('\n', out);
      line_start = true;
      continue;
    }
    if (line_start)
      fprintf(out, "%*s", (int)indent, "");
    line_start = false;
    fputc(text[i], out);
  }
  if (!line_start)
    fputc('\n', out);
}

/* Length of the UTF-8 sequence at s and its code point, or 0. Assumes the
 * caller's promise of valid UTF-8 only as far as the bytes are there. */
static size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
  size_t n = s[0] >= 0xf8   ? 0
             : s[0] >= 0xf0 ? 4
             : s[0] >= 0xe0 ? 3
             : s[0] >= 0xc0 ? 2
                            : 0;
  if (n == 0 || n > avail)
    return 0;
  uint32_t v = s[0] & (0x3f >> (n - 1));
  for (size_t k = 1; k < n; k++) {
    if ((s[k] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[k] & 0x3f);
  }
  *cp = v;
  return n;
}

static void write_quoted(FILE *out, const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  fputs(" \"", out);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t n;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", out);
    else if (c == '\t')
      fputs("\\t", out);
    else if (c == '\r')
      fputs("\\r", out);
    else if (c < 0x20 || c == 0x7f)
      fprintf(out, "\\x%02x", c);
    else if (c < 0x80)
      fputc(c, out);
    else if ((n = utf8_decode(s + i, len - i, &cp)) > 0) {
      /* Escaped, so that no reader folds U+0085 or U+2028 as a break. */
      fprintf(out, cp > 0xffff ? "\\U%08x" : "\\u%04x", cp);
      i += n - 1;
    } else
      fprintf(out, "\\x%02x", c); /* not UTF-8: the caller broke its word */
  }
  fputs("\"\n", out);
}

void mf_yaml_write_text(FILE *out, const char *text, size_t len,
                        unsigned key_column)
{
  if (block_can_hold(text, len))
    write_block(out, text, len, key_column);
  else
    write_quoted(out, text, len);
}

bool mf_yaml_text_writable(const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    uint32_t cp = 0;
    if (c == 0)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n = utf8_decode(s + i, len - i, &cp);
    /* The shortest form only, and no UTF-16 surrogates or values past
     * U+10FFFF (RFC 3629 section 3). */
    uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (n == 0 || cp < min || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}
