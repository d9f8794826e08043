/* Reporting profile errors: one line each, "file:line:column: message",
 * the way compilers do, so that editors can jump to the spot. */
#ifndef MF_CONFIG_DIAG_H
#define MF_CONFIG_DIAG_H

#include <stdarg.h>

#include "config/profile.h"

/* Longest excerpt of user text quoted in a message (bytes, before "..."). */
#define MF_DIAG_QUOTE_MAX 48

/* Counts one error, writes it to diag->out (when set) and keeps it in
 * diag->first if it is the first. A mark with line 0 prints as "file: ".
 * diag may be NULL: the error is then lost, so callers count it first. */
void mf_diag_report(mf_diag_t *diag, const char *file, mf_mark_t mark,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void mf_diag_vreport(mf_diag_t *diag, const char *file, mf_mark_t mark,
                     const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* The errors of one load, held back and then reported in file order, as
 * a compiler would: the checks run section by section, not line by line.
 * At most MF_DIAG_BATCH_MAX are printed; the rest are counted. */
#define MF_DIAG_BATCH_MAX 100

typedef struct mf_diag_entry mf_diag_entry_t;

typedef struct {
  mf_diag_t *diag;  /* where flush reports; not owned */
  const char *file; /* not owned */
  mf_diag_entry_t *entries;
  uint32_t n;         /* held */
  uint32_t n_unshown; /* beyond MF_DIAG_BATCH_MAX */
} mf_diag_batch_t;

void mf_diag_batch_init(mf_diag_batch_t *b, mf_diag_t *diag, const char *file);
void mf_diag_batch_add(mf_diag_batch_t *b, mf_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mf_diag_batch_vadd(mf_diag_batch_t *b, mf_mark_t mark, const char *fmt,
                        va_list ap) __attribute__((format(printf, 3, 0)));
/* Errors added so far. */
static inline uint32_t mf_diag_batch_count(const mf_diag_batch_t *b)
{
  return b->n + b->n_unshown;
}
/* Reports the held errors sorted by line and column, then frees them. */
void mf_diag_batch_flush(mf_diag_batch_t *b);

/* Copies user text (not NUL-terminated, possibly hostile) into out for
 * quoting in a message: control bytes become '?', and text longer than
 * MF_DIAG_QUOTE_MAX is cut at a character boundary and ends in "...". */
void mf_diag_quote(const char *text, size_t len, char *out, size_t size);

#endif
