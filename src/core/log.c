#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

mf_log_level_t mf_log_level = MF_LOG_INFO;

static const char *const level_tag[] = {"error: ", "warning: ", "", "debug: "};

void mf_log(mf_log_level_t level, const char *fmt, ...)
{
  if (level > mf_log_level)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* One write per line so lines from a crash-adjacent path stay whole. */
  fprintf(stderr, "mintflow: %s%s\n", level_tag[level], line);
}
