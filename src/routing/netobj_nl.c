/* Netlink requests for each kind of object (rtnetlink(7)). Every field the
 * kernel matches on when deleting is sent on add and delete alike, so a
 * delete names exactly what the add created. */
#include "routing/netobj.h"

#include "routing/rule_target.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

static void put_link(struct nlmsghdr *nlh, uint32_t ifindex, uint32_t mtu,
                     bool up)
{
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = (int)ifindex;
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  if (mtu)
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
}

static void put_addr(struct nlmsghdr *nlh, const mf_netobj_t *o, bool add)
{
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
  bool v4 = o->prefix.family == AF_INET;
  ifa->ifa_family = o->prefix.family;
  ifa->ifa_prefixlen = o->prefix.len;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = o->ifindex;
  /* Duplicate address detection (RFC 4862 5.4) would hold the address
   * tentative, unusable as a source, for a second; nothing else can own an
   * address on our own point-to-point TUN. */
  if (add && !v4) {
    ifa->ifa_flags = IFA_F_NODAD;
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  }
  size_t alen = v4 ? 4 : 16;
  if (v4)
    mnl_attr_put(nlh, IFA_LOCAL, alen, o->prefix.addr);
  mnl_attr_put(nlh, IFA_ADDRESS, alen, o->prefix.addr);
}

/* Tables above 255 only fit the 32-bit attribute; the header then says
 * RT_TABLE_UNSPEC, as iproute2 does. */
static uint8_t header_table(uint32_t table)
{
  return table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
}

static void put_route(struct nlmsghdr *nlh, const mf_netobj_t *o)
{
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
  rtm->rtm_family = o->prefix.family;
  rtm->rtm_dst_len = o->prefix.len;
  rtm->rtm_table = header_table(o->table);
  rtm->rtm_protocol = o->proto;
  /* IPv6 keeps no route scope and reports every route as universe. */
  rtm->rtm_scope =
      o->prefix.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_TABLE, o->table);
  if (o->prefix.len)
    mnl_attr_put(nlh, RTA_DST, o->prefix.family == AF_INET ? 4 : 16,
                 o->prefix.addr);
  mnl_attr_put_u32(nlh, RTA_OIF, o->ifindex);
}

static void put_rule(struct nlmsghdr *nlh, const mf_netobj_t *o)
{
  struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
  frh->family = o->prefix.family;
  frh->dst_len = o->prefix.len;
  frh->table = header_table(o->table);
  frh->action = FR_ACT_TO_TBL;
  frh->flags = o->invert ? FIB_RULE_INVERT : 0;
  mnl_attr_put_u32(nlh, FRA_PRIORITY, o->priority);
  mnl_attr_put_u32(nlh, FRA_TABLE, o->table);
  if (o->prefix.len)
    mnl_attr_put(nlh, FRA_DST, o->prefix.family == AF_INET ? 4 : 16,
                 o->prefix.addr);
  if (o->fwmask) {
    mnl_attr_put_u32(nlh, FRA_FWMARK, o->fwmark);
    mnl_attr_put_u32(nlh, FRA_FWMASK, o->fwmask);
  }
  /* Linux 4.17; tells our rules apart in `ip rule` and on delete. */
  mnl_attr_put_u8(nlh, FRA_PROTOCOL, o->proto);
}

static int link_attr(const struct nlattr *attr, void *data)
{
  if (mnl_attr_get_type(attr) == IFLA_MTU &&
      mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
    *(uint32_t *)data = mnl_attr_get_u32(attr);
  return MNL_CB_OK;
}

struct link_info {
  uint32_t ifindex;
  uint32_t mtu;
  bool up;
  bool seen;
};

static int link_reply(const struct nlmsghdr *nlh, void *data, mf_nl_err_t *e)
{
  struct link_info *li = data;
  if (nlh->nlmsg_type != RTM_NEWLINK ||
      mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
    return 0;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  if ((uint32_t)ifi->ifi_index != li->ifindex)
    return 0;
  li->up = (ifi->ifi_flags & IFF_UP) != 0;
  li->seen = true;
  if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr, &li->mtu) < 0) {
    mf_nl_err_set(e, EBADMSG);
    return -1;
  }
  return 0;
}

int mf_netobj_link_read(mf_nl_t *nl, uint32_t ifindex, uint32_t *mtu,
                        bool *up, mf_nl_err_t *e)
{
  struct nlmsghdr *nlh = mf_nl_msg(nl, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = (int)ifindex;
  struct link_info li = {.ifindex = ifindex};
  if (mf_nl_request(nl, nlh, link_reply, &li, e) < 0)
    return -1;
  if (!li.seen || li.mtu == 0) {
    mf_nl_err_set(e, ENODEV);
    return -1;
  }
  *mtu = li.mtu;
  *up = li.up;
  return 0;
}

int mf_netobj_add(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e)
{
  const uint16_t create = NLM_F_CREATE | NLM_F_EXCL;
  struct nlmsghdr *nlh;
  switch (o->kind) {
  case MF_NETOBJ_LINK:
    nlh = mf_nl_msg(nl, RTM_NEWLINK, 0);
    put_link(nlh, o->ifindex, o->mtu, true);
    break;
  case MF_NETOBJ_ADDR:
    nlh = mf_nl_msg(nl, RTM_NEWADDR, create);
    put_addr(nlh, o, true);
    break;
  case MF_NETOBJ_ROUTE:
    nlh = mf_nl_msg(nl, RTM_NEWROUTE, create);
    put_route(nlh, o);
    break;
  case MF_NETOBJ_RULE:
    nlh = mf_nl_msg(nl, RTM_NEWRULE, create);
    put_rule(nlh, o);
    break;
  default:
    mf_nl_err_set(e, EINVAL);
    return -1;
  }
  return mf_nl_request(nl, nlh, NULL, NULL, e);
}

/* The errors with which the kernel says that there is nothing to delete:
 * no such rule (ENOENT), route (ESRCH), address (EADDRNOTAVAIL) or device
 * (ENODEV). */
static bool already_gone(int code)
{
  return code == ENOENT || code == ESRCH || code == EADDRNOTAVAIL ||
         code == ENODEV;
}

/* A recorded device whose name now maps to another index was deleted, and
 * took its addresses and routes with it. */
static bool device_still_there(const mf_netobj_t *o)
{
  return if_nametoindex(o->dev) == o->ifindex;
}

/* Returns 1 when the delete may go ahead, 0 when the rule is gone, -1
 * when another rule would be deleted in its place (e->code EEXIST). */
static int rule_deletable(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e)
{
  int target = mf_rule_target_find(nl, o, e);
  if (target < 0)
    return -1;
  if (target == MF_RULE_TARGET_OTHER) {
    mf_nl_err_set(e, EEXIST);
    e->why = "a rule that is not ours comes first and would be deleted "
             "instead; both left in place";
    return -1;
  }
  return target == MF_RULE_TARGET_OURS;
}

int mf_netobj_del(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e)
{
  struct nlmsghdr *nlh;
  mf_nl_err_set(e, 0);
  if (o->kind != MF_NETOBJ_RULE && !device_still_there(o))
    return 0;
  if (o->kind == MF_NETOBJ_RULE) {
    int go = rule_deletable(nl, o, e);
    if (go <= 0)
      return go;
  }
  switch (o->kind) {
  case MF_NETOBJ_LINK:
    nlh = mf_nl_msg(nl, RTM_NEWLINK, 0);
    put_link(nlh, o->ifindex, o->mtu_before, o->up_before);
    break;
  case MF_NETOBJ_ADDR:
    nlh = mf_nl_msg(nl, RTM_DELADDR, 0);
    put_addr(nlh, o, false);
    break;
  case MF_NETOBJ_ROUTE:
    nlh = mf_nl_msg(nl, RTM_DELROUTE, 0);
    put_route(nlh, o);
    break;
  case MF_NETOBJ_RULE:
    nlh = mf_nl_msg(nl, RTM_DELRULE, 0);
    put_rule(nlh, o);
    break;
  default:
    mf_nl_err_set(e, EINVAL);
    return -1;
  }
  if (mf_nl_request(nl, nlh, NULL, NULL, e) < 0 && !already_gone(e->code))
    return -1;
  mf_nl_err_set(e, 0);
  return 0;
}
