#include "config/diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mf_diag_vreport(mf_diag_t *diag, const char *file, mf_mark_t mark,
                     const char *fmt, va_list ap)
{
  char msg[512];
  char line[sizeof(msg) + 64];
  if (!diag)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (mark.line)
    snprintf(line, sizeof(line), "%s:%u:%u: %s", file, mark.line, mark.column,
             msg);
  else
    snprintf(line, sizeof(line), "%s: %s", file, msg);
  if (diag->n_errors == 0) {
    /* Cut to fit: tests compare it, and a cut message still locates. */
    size_t n = strnlen(line, sizeof(diag->first) - 1);
    memcpy(diag->first, line, n);
    diag->first[n] = 0;
  }
  if (diag->n_errors < UINT32_MAX)
    diag->n_errors++;
  if (diag->out)
    fprintf(diag->out, "%s\n", line);
}

void mf_diag_report(mf_diag_t *diag, const char *file, mf_mark_t mark,
                    const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_vreport(diag, file, mark, fmt, ap);
  va_end(ap);
}

static bool is_utf8_continuation(unsigned char c)
{
  return (c & 0xc0) == 0x80;
}

void mf_diag_quote(const char *text, size_t len, char *out, size_t size)
{
  size_t limit = len;
  bool cut = false;
  if (size == 0)
    return;
  if (limit > MF_DIAG_QUOTE_MAX) {
    limit = MF_DIAG_QUOTE_MAX;
    /* Back up to the start of a character so the excerpt stays UTF-8. */
    while (limit > 0 && is_utf8_continuation((unsigned char)text[limit]))
      limit--;
    cut = true;
  }
  size_t room = size - 1 - (cut ? 3 : 0);
  if (size < 5)
    room = size - 1, cut = false;
  size_t n = 0;
  for (size_t i = 0; i < limit && n < room; i++) {
    unsigned char c = (unsigned char)text[i];
    out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (cut) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = 0;
}

struct mf_diag_entry {
  mf_mark_t mark;
  uint32_t seq; /* keeps errors at one spot in the order they were found */
  char msg[240];
};

void mf_diag_batch_init(mf_diag_batch_t *b, mf_diag_t *diag, const char *file)
{
  memset(b, 0, sizeof(*b));
  b->diag = diag;
  b->file = file;
}

void mf_diag_batch_vadd(mf_diag_batch_t *b, mf_mark_t mark, const char *fmt,
                        va_list ap)
{
  if (!b->entries && b->n_unshown == 0)
    b->entries = malloc(MF_DIAG_BATCH_MAX * sizeof(*b->entries));
  if (!b->entries) {
    /* No memory to hold it back: report it now, out of order. */
    mf_diag_vreport(b->diag, b->file, mark, fmt, ap);
    return;
  }
  if (b->n == MF_DIAG_BATCH_MAX) {
    b->n_unshown++;
    return;
  }
  mf_diag_entry_t *e = &b->entries[b->n];
  e->mark = mark;
  e->seq = b->n++;
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void mf_diag_batch_add(mf_diag_batch_t *b, mf_mark_t mark, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mf_diag_batch_vadd(b, mark, fmt, ap);
  va_end(ap);
}

static int by_position(const void *x, const void *y)
{
  const mf_diag_entry_t *a = x, *b = y;
  if (a->mark.line != b->mark.line)
    return a->mark.line < b->mark.line ? -1 : 1;
  if (a->mark.column != b->mark.column)
    return a->mark.column < b->mark.column ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void mf_diag_batch_flush(mf_diag_batch_t *b)
{
  if (b->entries) {
    qsort(b->entries, b->n, sizeof(*b->entries), by_position);
    for (uint32_t k = 0; k < b->n; k++)
      mf_diag_report(b->diag, b->file, b->entries[k].mark, "%s",
                     b->entries[k].msg);
  }
  if (b->n_unshown && b->diag) {
    uint32_t room = UINT32_MAX - b->diag->n_errors;
    b->diag->n_errors += b->n_unshown < room ? b->n_unshown : room;
    if (b->diag->out)
      fprintf(b->diag->out, "%s: %u more errors not shown\n", b->file,
              b->n_unshown);
  }
  free(b->entries);
  b->entries = NULL;
  b->n = b->n_unshown = 0;
}
