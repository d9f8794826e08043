#include "control/out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int out_reserve(mf_out_t *o, size_t more)
{
  if (o->len + more + 1 <= o->cap)
    return 0;
  if (o->len + more + 1 > MF_OUT_MAX) {
    o->truncated = 1;
    return -1;
  }
  size_t cap = o->cap ? o->cap : 4096;
  while (cap < o->len + more + 1)
    cap *= 2;
  char *b = realloc(o->buf, cap);
  if (!b) {
    o->truncated = 1;
    return -1;
  }
  o->buf = b;
  o->cap = cap;
  return 0;
}

void mf_out_printf(mf_out_t *o, const char *fmt, ...)
{
  if (o->truncated)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || out_reserve(o, (size_t)n) < 0)
    return;
  va_start(ap, fmt);
  vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  o->len += (size_t)n;
}

void mf_out_free(mf_out_t *o)
{
  free(o->buf);
  memset(o, 0, sizeof(*o));
}
