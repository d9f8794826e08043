/* Value checks shared by the profile sections and the wg-quick importer. */
#include <arpa/inet.h>
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

/* A DNS name as getaddrinfo would take it: labels of 1..63 characters of
 * A-Z a-z 0-9 - _ (RFC 1035 section 2.3.4 limits; "_" occurs in practice),
 * at most 253 characters, one trailing dot allowed. */
static bool host_name_ok(const char *s, size_t len)
{
  size_t label = 0;
  if (len == 0 || len > 254 || s[0] == '.')
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.') {
      if (label == 0)
        return false;
      label = 0;
      continue;
    }
    if (!name_char_ok(s[i]) || ++label > 63)
      return false;
  }
  return len <= 253 || s[len - 1] == '.';
}

static bool port_ok(const char *s, size_t len)
{
  uint32_t v = 0;
  if (len == 0 || len > 5)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint32_t)(s[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

bool mf_profile_endpoint_ok(const char *s, size_t len, const char **why)
{
  const char *colon = len ? memrchr(s, ':', len) : NULL;
  if (!colon) {
    *why = "no :port";
    return false;
  }
  size_t host_len = (size_t)(colon - s), port_len = len - host_len - 1;
  if (!port_ok(colon + 1, port_len)) {
    *why = "the port must be 1..65535";
    return false;
  }
  if (host_len >= 2 && s[0] == '[' && s[host_len - 1] == ']') {
    char addr[64];
    struct in6_addr a6;
    if (host_len - 2 >= sizeof(addr)) {
      *why = "not an IPv6 address between [ ]";
      return false;
    }
    memcpy(addr, s + 1, host_len - 2);
    addr[host_len - 2] = 0;
    if (inet_pton(AF_INET6, addr, &a6) != 1) {
      *why = "not an IPv6 address between [ ]";
      return false;
    }
    return true;
  }
  if (memchr(s, ':', host_len)) {
    *why = "an IPv6 address needs brackets: [address]:port";
    return false;
  }
  if (!host_name_ok(s, host_len)) {
    *why = "the host is not a name or IPv4 address";
    return false;
  }
  return true;
}
