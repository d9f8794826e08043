/* A growable text buffer for command replies (control path only). */
#ifndef MF_CONTROL_OUT_H
#define MF_CONTROL_OUT_H

#include <stddef.h>

/* Replies are bounded: past this, output is cut and says so. */
#define MF_OUT_MAX (8u << 20)

typedef struct {
  char *buf;
  size_t len, cap;
  int truncated;
} mf_out_t;

void mf_out_printf(mf_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mf_out_free(mf_out_t *o);

#endif
