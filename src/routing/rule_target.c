#include "routing/rule_target.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <string.h>

/* A rule as RTM_GETRULE shows it. `extra` is set by any attribute that a
 * rule of ours never carries (an interface, a source, ports, ...). */
typedef struct {
  struct fib_rule_hdr frh;
  uint32_t table, priority, fwmark, fwmask;
  uint8_t proto;
  uint8_t dst[16];
  bool extra;
} seen_rule_t;

typedef struct {
  const mf_netobj_t *ours;
  int verdict; /* -1 until the first rule the kernel would pick */
} search_t;

/* The kernel reports the suppressors even when they are unset, as -1. */
static bool is_unset_suppressor(uint16_t type, uint16_t len,
                                const struct nlattr *attr)
{
  return (type == FRA_SUPPRESS_PREFIXLEN || type == FRA_SUPPRESS_IFGROUP) &&
         len == sizeof(uint32_t) && mnl_attr_get_u32(attr) == UINT32_MAX;
}

static int rule_attr(const struct nlattr *attr, void *data)
{
  seen_rule_t *r = data;
  uint16_t type = mnl_attr_get_type(attr);
  uint16_t len = mnl_attr_get_payload_len(attr);
  uint32_t *u32 = type == FRA_TABLE      ? &r->table
                  : type == FRA_PRIORITY ? &r->priority
                  : type == FRA_FWMARK   ? &r->fwmark
                  : type == FRA_FWMASK   ? &r->fwmask
                                         : NULL;
  if (u32 && len == sizeof(uint32_t))
    *u32 = mnl_attr_get_u32(attr);
  else if (type == FRA_PROTOCOL && len == 1)
    r->proto = mnl_attr_get_u8(attr);
  else if (type == FRA_DST && len <= sizeof(r->dst))
    memcpy(r->dst, mnl_attr_get_payload(attr), len);
  else if (is_unset_suppressor(type, len, attr))
    ;
  else if (type != FRA_UNSPEC && type != FRA_PAD)
    r->extra = true;
  return MNL_CB_OK;
}

static size_t addr_len(const mf_netobj_t *o)
{
  return o->prefix.family == AF_INET ? 4 : 16;
}

/* The fields our delete request sets, compared as rule_find and the
 * family's compare() do: the rule the kernel would take. */
static bool kernel_would_pick(const mf_netobj_t *o, const seen_rule_t *r)
{
  return r->frh.action == FR_ACT_TO_TBL && r->table == o->table &&
         r->priority == o->priority &&
         (!o->fwmark || r->fwmark == o->fwmark) &&
         (!o->fwmask || r->fwmask == o->fwmask) &&
         (!o->proto || r->proto == o->proto) &&
         (!o->prefix.len ||
          (r->frh.dst_len == o->prefix.len &&
           memcmp(r->dst, o->prefix.addr, addr_len(o)) == 0));
}

static bool is_ours(const mf_netobj_t *o, const seen_rule_t *r)
{
  uint32_t flags = o->invert ? FIB_RULE_INVERT : 0;
  return kernel_would_pick(o, r) && !r->extra && r->frh.flags == flags &&
         r->frh.src_len == 0 && r->frh.tos == 0 &&
         r->frh.dst_len == o->prefix.len && r->fwmark == o->fwmark &&
         r->fwmask == o->fwmask && r->proto == o->proto;
}

static int rule_reply(const struct nlmsghdr *nlh, void *data, mf_nl_err_t *e)
{
  search_t *s = data;
  seen_rule_t r;
  if (s->verdict >= 0 || nlh->nlmsg_type != RTM_NEWRULE ||
      mnl_nlmsg_get_payload_len(nlh) < sizeof(r.frh))
    return 0;
  memset(&r, 0, sizeof(r));
  memcpy(&r.frh, mnl_nlmsg_get_payload(nlh), sizeof(r.frh));
  r.table = r.frh.table;
  if (r.frh.family != s->ours->prefix.family)
    return 0;
  if (mnl_attr_parse(nlh, sizeof(r.frh), rule_attr, &r) < 0) {
    mf_nl_err_set(e, EBADMSG);
    return -1;
  }
  if (kernel_would_pick(s->ours, &r))
    s->verdict = is_ours(s->ours, &r) ? MF_RULE_TARGET_OURS
                                      : MF_RULE_TARGET_OTHER;
  return 0;
}

int mf_rule_target_find(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e)
{
  struct nlmsghdr *nlh = mf_nl_msg(nl, RTM_GETRULE, NLM_F_DUMP);
  struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
  frh->family = o->prefix.family;
  search_t s = {.ours = o, .verdict = -1};
  if (mf_nl_request(nl, nlh, rule_reply, &s, e) < 0)
    return -1;
  return s.verdict < 0 ? MF_RULE_TARGET_NONE : s.verdict;
}
