#include "routing/plan.h"

#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

/* Private and link-local ranges that stay off the TUN with exclude_lan:
 * RFC 1918, RFC 3927, RFC 4193 and RFC 4291 section 2.5.6. */
static const char *const lan_prefixes[] = {
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "169.254.0.0/16", "fc00::/7", "fe80::/10",
};

/* IPv6 needs a link MTU of at least 1280 (RFC 8200 section 5); Linux turns
 * IPv6 off on a device set below it. */
#define IPV6_MIN_MTU 1280
#define IPV4_MIN_MTU 68
#define TUN_MAX_MTU 65535
/* rule_priority .. rule_priority + 9 are ours (netconf.h). */
#define RULE_PRIORITY_SPAN 9

static bool has_ipv6(const mf_netconf_t *cfg)
{
  for (uint32_t i = 0; i < cfg->n_addresses; i++)
    if (cfg->addresses[i].family == AF_INET6)
      return true;
  return cfg->auto_route;
}

static int check_addresses(const mf_netconf_t *cfg, char *err, size_t errlen)
{
  if (cfg->n_addresses > MF_NETCONF_MAX_ADDRS) {
    snprintf(err, errlen, "netconf: %u addresses, at most %d",
             cfg->n_addresses, MF_NETCONF_MAX_ADDRS);
    return -1;
  }
  for (uint32_t i = 0; i < cfg->n_addresses; i++) {
    const mf_prefix_t *a = &cfg->addresses[i];
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        a->len > mf_prefix_max_len(a->family)) {
      snprintf(err, errlen, "netconf: address %u is not a valid prefix", i);
      return -1;
    }
  }
  return 0;
}

static int check_routing(const mf_netconf_t *cfg, char *err, size_t errlen)
{
  if (!cfg->auto_route)
    return 0;
  /* Our default routes in a table the system uses would capture the whole
   * machine's traffic and fight its own routes. */
  if (cfg->table == RT_TABLE_UNSPEC || cfg->table == RT_TABLE_DEFAULT ||
      cfg->table == RT_TABLE_MAIN || cfg->table == RT_TABLE_LOCAL) {
    snprintf(err, errlen,
             "netconf: table %u is the system's; choose one of our own",
             cfg->table);
    return -1;
  }
  /* "not fwmark 0" would spare every unmarked packet, the daemon's own. */
  if (cfg->fwmark == 0) {
    snprintf(err, errlen, "netconf: fwmark must not be 0");
    return -1;
  }
  /* Priority 0 is the local table's, which must stay first. */
  if (cfg->rule_priority == 0 ||
      cfg->rule_priority > UINT32_MAX - RULE_PRIORITY_SPAN) {
    snprintf(err, errlen, "netconf: rule priority %u out of range",
             cfg->rule_priority);
    return -1;
  }
  return 0;
}

static int check_cfg(const mf_netconf_t *cfg, char *err, size_t errlen)
{
  size_t nlen = cfg->ifname ? strlen(cfg->ifname) : 0;
  if (nlen == 0 || nlen >= IFNAMSIZ) {
    snprintf(err, errlen, "netconf: bad interface name");
    return -1;
  }
  if (!cfg->state_path || !cfg->state_path[0]) {
    snprintf(err, errlen, "netconf: no state file path");
    return -1;
  }
  if (cfg->mtu && (cfg->mtu < IPV4_MIN_MTU || cfg->mtu > TUN_MAX_MTU)) {
    snprintf(err, errlen, "netconf: MTU %u out of range %d..%d", cfg->mtu,
             IPV4_MIN_MTU, TUN_MAX_MTU);
    return -1;
  }
  if (cfg->mtu && cfg->mtu < IPV6_MIN_MTU && has_ipv6(cfg)) {
    snprintf(err, errlen,
             "netconf: MTU %u is below %d, which turns IPv6 off on %s "
             "(RFC 8200 section 5), yet IPv6 is configured",
             cfg->mtu, IPV6_MIN_MTU, cfg->ifname);
    return -1;
  }
  return check_addresses(cfg, err, errlen) < 0 ||
                 check_routing(cfg, err, errlen) < 0
             ? -1
             : 0;
}

static mf_netobj_t *next(mf_netobj_t *out, size_t *n, mf_netobj_kind_t kind,
                         const mf_netconf_t *cfg, uint32_t ifindex)
{
  mf_netobj_t *o = &out[(*n)++];
  memset(o, 0, sizeof(*o));
  o->kind = kind;
  snprintf(o->dev, sizeof(o->dev), "%s", cfg->ifname);
  o->ifindex = ifindex;
  o->proto = MF_NETCONF_PROTO;
  return o;
}

static void plan_default_route(mf_netobj_t *out, size_t *n,
                               const mf_netconf_t *cfg, uint32_t ifindex,
                               uint8_t family)
{
  mf_netobj_t *o = next(out, n, MF_NETOBJ_ROUTE, cfg, ifindex);
  o->prefix.family = family; /* all-zero address, length 0 */
  o->table = cfg->table;
}

static void plan_lan_rules(mf_netobj_t *out, size_t *n,
                           const mf_netconf_t *cfg, uint32_t ifindex)
{
  for (size_t i = 0; i < sizeof(lan_prefixes) / sizeof(lan_prefixes[0]);
       i++) {
    mf_netobj_t *o = next(out, n, MF_NETOBJ_RULE, cfg, ifindex);
    (void)mf_prefix_parse(lan_prefixes[i], &o->prefix, NULL);
    o->table = RT_TABLE_MAIN;
    o->priority = cfg->rule_priority;
  }
}

/* As wg-quick does: whatever the daemon did not mark goes to our table,
 * and the daemon's own marked sockets carry on through the main table. */
static void plan_catch_all_rule(mf_netobj_t *out, size_t *n,
                                const mf_netconf_t *cfg, uint32_t ifindex,
                                uint8_t family)
{
  mf_netobj_t *o = next(out, n, MF_NETOBJ_RULE, cfg, ifindex);
  o->prefix.family = family;
  o->table = cfg->table;
  o->priority = cfg->rule_priority + 1;
  o->fwmark = cfg->fwmark;
  o->fwmask = 0xffffffffu;
  o->invert = true;
}

int mf_netconf_plan(const mf_netconf_t *cfg, uint32_t ifindex,
                    mf_netobj_t out[MF_NETOBJ_MAX], size_t *n, char *err,
                    size_t errlen)
{
  *n = 0;
  if (check_cfg(cfg, err, errlen) < 0)
    return -1;
  next(out, n, MF_NETOBJ_LINK, cfg, ifindex)->mtu = cfg->mtu;
  for (uint32_t i = 0; i < cfg->n_addresses; i++)
    next(out, n, MF_NETOBJ_ADDR, cfg, ifindex)->prefix = cfg->addresses[i];
  if (!cfg->auto_route)
    return 0;
  plan_default_route(out, n, cfg, ifindex, AF_INET);
  plan_default_route(out, n, cfg, ifindex, AF_INET6);
  if (cfg->exclude_lan)
    plan_lan_rules(out, n, cfg, ifindex);
  plan_catch_all_rule(out, n, cfg, ifindex, AF_INET);
  plan_catch_all_rule(out, n, cfg, ifindex, AF_INET6);
  return 0;
}
