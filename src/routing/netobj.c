#include "routing/netobj.h"

#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>

static const char *table_name(uint32_t table, char *buf, size_t size)
{
  switch (table) {
  case RT_TABLE_MAIN:
    return "main";
  case RT_TABLE_LOCAL:
    return "local";
  case RT_TABLE_DEFAULT:
    return "default";
  }
  snprintf(buf, size, "%u", table);
  return buf;
}

/* The selector as `ip rule` spells it, less its "from all". */
static void rule_selector(const mf_netobj_t *o, char *out, size_t size)
{
  char to[INET6_ADDRSTRLEN + 8] = "";
  char mark[32] = "";
  if (o->prefix.len > 0) {
    char p[INET6_ADDRSTRLEN + 4];
    mf_prefix_format(&o->prefix, true, p, sizeof(p));
    snprintf(to, sizeof(to), "to %s", p);
  }
  if (o->fwmask == 0xffffffffu)
    snprintf(mark, sizeof(mark), "fwmark 0x%x", o->fwmark);
  else if (o->fwmask != 0)
    snprintf(mark, sizeof(mark), "fwmark 0x%x/0x%x", o->fwmark, o->fwmask);
  snprintf(out, size, "%s%s%s%s%s", o->invert ? "not " : "", to,
           to[0] && mark[0] ? " " : "", mark,
           !to[0] && !mark[0] ? "from all" : "");
}

void mf_netobj_describe(const mf_netobj_t *o, char *out, size_t size)
{
  char p[INET6_ADDRSTRLEN + 4], t[16], sel[96];
  mf_prefix_format(&o->prefix, true, p, sizeof(p));
  switch (o->kind) {
  case MF_NETOBJ_LINK:
    snprintf(out, size, "link %s", o->dev);
    return;
  case MF_NETOBJ_ADDR:
    snprintf(out, size, "address %s dev %s", p, o->dev);
    return;
  case MF_NETOBJ_ROUTE:
    snprintf(out, size, "route '%s dev %s table %s'",
             o->prefix.len ? p : "default", o->dev,
             table_name(o->table, t, sizeof(t)));
    return;
  case MF_NETOBJ_RULE:
    rule_selector(o, sel, sizeof(sel));
    snprintf(out, size, "rule '%s lookup %s' (priority %u)", sel,
             table_name(o->table, t, sizeof(t)), o->priority);
    return;
  }
  snprintf(out, size, "object of unknown kind %d", (int)o->kind);
}
