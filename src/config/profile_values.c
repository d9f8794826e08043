#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

static bool name_char_ok(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool mf_profile_name_ok(const char *s, size_t len, size_t max)
{
  if (len == 0 || len > max)
    return false;
  if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
    return false;
  for (size_t i = 0; i < len; i++)
    if (!name_char_ok(s[i]))
      return false;
  return true;
}

int mf_profile_read_prefix(const mf_yaml_tree_t *t, uint32_t i,
                           const char *what, mf_prefix_t *out)
{
  const char *s;
  size_t len;
  const char *why = "not an IP address";
  if (mf_yaml_read_string(t, i, what, &s, &len) < 0)
    return -1;
  /* The arena text is NUL-terminated; an inner NUL ("\0") would hide the
   * rest of the value from the parser. */
  if (strlen(s) == len && mf_prefix_parse(s, out, &why) == 0)
    return 0;
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(s, len, q, sizeof(q));
  mf_yaml_error(t, i, "%s: '%s' is not an IP prefix: %s", what, q, why);
  return -1;
}
