/* One state-file line per object:
 *
 *   link dev=mf0 ifindex=5 mtu=1500 up=0
 *   addr4 dev=mf0 ifindex=5 addr=172.19.0.1/30
 *   route6 table=7300 dst=::/0 dev=mf0 ifindex=5 proto=4
 *   rule4 prio=7301 table=7300 to=0.0.0.0/0 fwmark=0x7300/0xffffffff not=1 proto=4
 *
 * The link line holds the values to restore. A line is accepted only if it
 * is exactly what mf_netobj_format_line writes for the object it parses to:
 * a file that anything else has touched is refused rather than guessed at. */
#include "routing/netobj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8

int mf_netobj_format_line(const mf_netobj_t *o, char *out, size_t size)
{
  char p[64];
  int v = o->prefix.family == AF_INET ? 4 : 6;
  int n = -1;
  mf_prefix_format(&o->prefix, true, p, sizeof(p));
  switch (o->kind) {
  case MF_NETOBJ_LINK:
    n = snprintf(out, size, "link dev=%s ifindex=%u mtu=%u up=%d", o->dev,
                 o->ifindex, o->mtu_before, o->up_before ? 1 : 0);
    break;
  case MF_NETOBJ_ADDR:
    n = snprintf(out, size, "addr%d dev=%s ifindex=%u addr=%s", v, o->dev,
                 o->ifindex, p);
    break;
  case MF_NETOBJ_ROUTE:
    n = snprintf(out, size, "route%d table=%u dst=%s dev=%s ifindex=%u proto=%u",
                 v, o->table, p, o->dev, o->ifindex, o->proto);
    break;
  case MF_NETOBJ_RULE:
    n = snprintf(out, size,
                 "rule%d prio=%u table=%u to=%s fwmark=0x%x/0x%x not=%d "
                 "proto=%u",
                 v, o->priority, o->table, p, o->fwmark, o->fwmask,
                 o->invert ? 1 : 0, o->proto);
    break;
  }
  if (n < 0 || (size_t)n >= size || n >= MF_NETOBJ_LINE_MAX - 1)
    return -1;
  return n;
}

typedef struct {
  char buf[MF_NETOBJ_LINE_MAX];
  char *f[MAX_FIELDS];
  int n;
} fields_t;

static int split(const char *line, fields_t *t, const char **why)
{
  size_t len = strlen(line);
  if (len == 0 || len >= sizeof(t->buf)) {
    *why = len ? "line too long" : "empty line";
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    if (line[i] < 0x20 || line[i] > 0x7e) {
      *why = "line holds a control or non-ASCII character";
      return -1;
    }
  }
  memcpy(t->buf, line, len + 1);
  t->n = 0;
  for (char *s = t->buf; s;) {
    if (t->n == MAX_FIELDS) {
      *why = "too many fields";
      return -1;
    }
    t->f[t->n++] = s;
    s = strchr(s, ' ');
    if (s)
      *s++ = 0;
  }
  return 0;
}

/* The value of field i if it is named key, else NULL. */
static const char *value(const fields_t *t, int i, const char *key)
{
  size_t klen = strlen(key);
  if (i >= t->n || strncmp(t->f[i], key, klen) != 0 || t->f[i][klen] != '=')
    return NULL;
  return t->f[i] + klen + 1;
}

static int want_u32(const fields_t *t, int i, const char *key, uint32_t min,
                    uint32_t max, uint32_t *out, const char **why)
{
  const char *s = value(t, i, key);
  if (!s || *s < '0' || *s > '9') {
    *why = "a field is missing, misnamed or not a number";
    return -1;
  }
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || v < min || v > max) {
    *why = "a number is out of range";
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

static int want_dev(const fields_t *t, int i, mf_netobj_t *o,
                    const char **why)
{
  const char *s = value(t, i, "dev");
  size_t len = s ? strlen(s) : 0;
  /* The kernel's rules for a device name (dev_valid_name). */
  if (len == 0 || len >= sizeof(o->dev) || strchr(s, '/') ||
      strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
    *why = "bad device name";
    return -1;
  }
  memcpy(o->dev, s, len + 1);
  return 0;
}

static int want_prefix(const fields_t *t, int i, const char *key, int v,
                       bool network, mf_prefix_t *out, const char **why)
{
  const char *s = value(t, i, key);
  if (!s || mf_prefix_parse(s, out, why) < 0) {
    *why = s ? *why : "a prefix field is missing or misnamed";
    return -1;
  }
  if (out->family != (v == 4 ? AF_INET : AF_INET6)) {
    *why = "address family does not match the kind";
    return -1;
  }
  if (network && !mf_prefix_is_network(out)) {
    *why = "prefix has host bits set";
    return -1;
  }
  return 0;
}

static int want_mark(const fields_t *t, int i, mf_netobj_t *o,
                     const char **why)
{
  const char *s = value(t, i, "fwmark");
  char *slash = s ? strchr(s, '/') : NULL;
  char *end;
  if (!s || strncmp(s, "0x", 2) != 0 || !slash ||
      strncmp(slash + 1, "0x", 2) != 0) {
    *why = "bad fwmark field";
    return -1;
  }
  errno = 0;
  unsigned long long mark = strtoull(s, &end, 16);
  if (end != slash) {
    *why = "bad fwmark field";
    return -1;
  }
  unsigned long long mask = strtoull(slash + 1, &end, 16);
  if (errno || *end || mark > UINT32_MAX || mask > UINT32_MAX ||
      (mark & ~mask) != 0) {
    *why = "bad fwmark field";
    return -1;
  }
  o->fwmark = (uint32_t)mark;
  o->fwmask = (uint32_t)mask;
  return 0;
}

static int want_bool(const fields_t *t, int i, const char *key, bool *out,
                     const char **why)
{
  uint32_t v;
  if (want_u32(t, i, key, 0, 1, &v, why) < 0)
    return -1;
  *out = v != 0;
  return 0;
}

static int want_count(const fields_t *t, int n, const char **why)
{
  if (t->n != n) {
    *why = "wrong number of fields";
    return -1;
  }
  return 0;
}

static int parse_link(const fields_t *t, mf_netobj_t *o, const char **why)
{
  o->kind = MF_NETOBJ_LINK;
  return want_count(t, 5, why) || want_dev(t, 1, o, why) ||
                 want_u32(t, 2, "ifindex", 1, INT32_MAX, &o->ifindex, why) ||
                 want_u32(t, 3, "mtu", 1, 65535, &o->mtu_before, why) ||
                 want_bool(t, 4, "up", &o->up_before, why)
             ? -1
             : 0;
}

static int parse_addr(const fields_t *t, int v, mf_netobj_t *o,
                      const char **why)
{
  o->kind = MF_NETOBJ_ADDR;
  return want_count(t, 4, why) || want_dev(t, 1, o, why) ||
                 want_u32(t, 2, "ifindex", 1, INT32_MAX, &o->ifindex, why) ||
                 want_prefix(t, 3, "addr", v, false, &o->prefix, why)
             ? -1
             : 0;
}

static int parse_route(const fields_t *t, int v, mf_netobj_t *o,
                       const char **why)
{
  uint32_t proto;
  o->kind = MF_NETOBJ_ROUTE;
  if (want_count(t, 6, why) ||
      want_u32(t, 1, "table", 1, UINT32_MAX, &o->table, why) ||
      want_prefix(t, 2, "dst", v, true, &o->prefix, why) ||
      want_dev(t, 3, o, why) ||
      want_u32(t, 4, "ifindex", 1, INT32_MAX, &o->ifindex, why) ||
      want_u32(t, 5, "proto", 0, 255, &proto, why))
    return -1;
  o->proto = (uint8_t)proto;
  return 0;
}

static int parse_rule(const fields_t *t, int v, mf_netobj_t *o,
                      const char **why)
{
  uint32_t proto;
  o->kind = MF_NETOBJ_RULE;
  if (want_count(t, 7, why) ||
      want_u32(t, 1, "prio", 0, UINT32_MAX, &o->priority, why) ||
      want_u32(t, 2, "table", 1, UINT32_MAX, &o->table, why) ||
      want_prefix(t, 3, "to", v, true, &o->prefix, why) ||
      want_mark(t, 4, o, why) || want_bool(t, 5, "not", &o->invert, why) ||
      want_u32(t, 6, "proto", 0, 255, &proto, why))
    return -1;
  o->proto = (uint8_t)proto;
  return 0;
}

static const struct {
  const char *name;
  mf_netobj_kind_t kind;
  int v;
} kinds[] = {
    {"link", MF_NETOBJ_LINK, 0},   {"addr4", MF_NETOBJ_ADDR, 4},
    {"addr6", MF_NETOBJ_ADDR, 6},  {"route4", MF_NETOBJ_ROUTE, 4},
    {"route6", MF_NETOBJ_ROUTE, 6}, {"rule4", MF_NETOBJ_RULE, 4},
    {"rule6", MF_NETOBJ_RULE, 6},
};

static int parse_fields(const fields_t *t, mf_netobj_t *o, const char **why)
{
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strcmp(t->f[0], kinds[i].name) != 0)
      continue;
    switch (kinds[i].kind) {
    case MF_NETOBJ_LINK:
      return parse_link(t, o, why);
    case MF_NETOBJ_ADDR:
      return parse_addr(t, kinds[i].v, o, why);
    case MF_NETOBJ_ROUTE:
      return parse_route(t, kinds[i].v, o, why);
    case MF_NETOBJ_RULE:
      return parse_rule(t, kinds[i].v, o, why);
    }
  }
  *why = "unknown object kind";
  return -1;
}

int mf_netobj_parse_line(const char *line, mf_netobj_t *o, const char **why)
{
  fields_t t;
  char again[MF_NETOBJ_LINE_MAX];
  const char *dummy;
  if (!why)
    why = &dummy;
  memset(o, 0, sizeof(*o));
  if (split(line, &t, why) < 0 || parse_fields(&t, o, why) < 0)
    return -1;
  /* Leading zeros, "+", hex where decimal belongs, uncanonical IPv6, double
   * spaces: all parse, none is what we write. */
  if (mf_netobj_format_line(o, again, sizeof(again)) < 0 ||
      strcmp(again, line) != 0) {
    *why = "not in the form this program writes";
    return -1;
  }
  return 0;
}
