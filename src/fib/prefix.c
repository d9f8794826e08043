#include "fib/prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mf_prefix_parse(const char *text, mf_prefix_t *out, const char **why)
{
  char addr[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr(text, '/');
  size_t alen = slash ? (size_t)(slash - text) : strlen(text);
  const char *dummy;
  if (!why)
    why = &dummy;
  memset(out, 0, sizeof(*out));
  if (alen == 0 || alen >= sizeof(addr)) {
    *why = "not an IP address";
    return -1;
  }
  memcpy(addr, text, alen);
  addr[alen] = 0;
  if (inet_pton(AF_INET, addr, out->addr) == 1)
    out->family = AF_INET;
  else if (inet_pton(AF_INET6, addr, out->addr) == 1)
    out->family = AF_INET6;
  else {
    *why = "not an IP address";
    return -1;
  }
  unsigned max = mf_prefix_max_len(out->family);
  if (!slash) {
    out->len = (uint8_t)max;
    return 0;
  }
  const char *d = slash + 1;
  if (*d < '0' || *d > '9' || strlen(d) > 3) {
    *why = "prefix length is not a number";
    return -1;
  }
  char *end;
  unsigned long len = strtoul(d, &end, 10);
  if (*end || len > max) {
    *why = out->family == AF_INET ? "prefix length must be 0..32"
                                  : "prefix length must be 0..128";
    return -1;
  }
  out->len = (uint8_t)len;
  return 0;
}

void mf_prefix_format(const mf_prefix_t *p, bool with_len, char *out,
                      size_t size)
{
  char a[INET6_ADDRSTRLEN];
  if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
    snprintf(a, sizeof(a), "?");
  if (with_len)
    snprintf(out, size, "%s/%u", a, p->len);
  else
    snprintf(out, size, "%s", a);
}

static bool bit_beyond_len_set(const mf_prefix_t *p, unsigned byte)
{
  unsigned first_bit = byte * 8;
  if (first_bit + 8 <= p->len)
    return false;
  uint8_t keep = first_bit >= p->len ? 0 : (uint8_t)(0xff << (8 - (p->len - first_bit)));
  return (p->addr[byte] & ~keep) != 0;
}

bool mf_prefix_is_network(const mf_prefix_t *p)
{
  unsigned bytes = mf_prefix_max_len(p->family) / 8;
  for (unsigned i = 0; i < bytes; i++)
    if (bit_beyond_len_set(p, i))
      return false;
  return true;
}

void mf_prefix_mask(mf_prefix_t *p)
{
  unsigned bytes = mf_prefix_max_len(p->family) / 8;
  for (unsigned i = 0; i < 16; i++) {
    unsigned first_bit = i * 8;
    if (i >= bytes || first_bit >= p->len)
      p->addr[i] = 0;
    else if (first_bit + 8 > p->len)
      p->addr[i] &= (uint8_t)(0xff << (8 - (p->len - first_bit)));
  }
}

bool mf_prefix_equal(const mf_prefix_t *a, const mf_prefix_t *b)
{
  return a->family == b->family && a->len == b->len &&
         memcmp(a->addr, b->addr, mf_prefix_max_len(a->family) / 8) == 0;
}

bool mf_prefix_covers(const mf_prefix_t *a, const mf_prefix_t *b)
{
  if (a->family != b->family || a->len > b->len)
    return false;
  mf_prefix_t x = *b;
  x.len = a->len;
  mf_prefix_mask(&x);
  mf_prefix_t y = *a;
  mf_prefix_mask(&y);
  return memcmp(x.addr, y.addr, 16) == 0;
}
