/* The objects the daemon puts into the kernel's network configuration:
 * a link's MTU and state, an address, a route, a policy-routing rule. One
 * description serves the netlink requests that add and delete the object,
 * the state-file line that records it, and the error messages that name it. */
#ifndef MF_ROUTING_NETOBJ_H
#define MF_ROUTING_NETOBJ_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fib/prefix.h"
#include "routing/nl.h"

/* Enough for every object mf_netconf_up can add (1 link, 4 addresses,
 * 2 routes, 8 rules) with room to spare; also the most a state file may
 * hold. */
#define MF_NETOBJ_MAX 32
/* The longest state-file line, newline included. */
#define MF_NETOBJ_LINE_MAX 192

typedef enum {
  MF_NETOBJ_LINK,  /* MTU and up; undo restores the values before */
  MF_NETOBJ_ADDR,  /* prefix = address with its prefix length */
  MF_NETOBJ_ROUTE, /* prefix = destination, via dev, in table */
  MF_NETOBJ_RULE,  /* prefix = "to" selector (length 0: any) */
} mf_netobj_kind_t;

typedef struct {
  mf_netobj_kind_t kind;
  char dev[IFNAMSIZ];  /* link, addr, route */
  uint32_t ifindex;    /* link, addr, route: the device the name had */
  uint32_t mtu;        /* link: set by add, 0 to leave it; not recorded */
  uint32_t mtu_before; /* link: restored by delete */
  bool up_before;      /* link: restored by delete */
  mf_prefix_t prefix;  /* addr, route, rule; its family is the object's */
  uint32_t table;      /* route, rule */
  uint32_t priority;   /* rule */
  uint32_t fwmark;     /* rule */
  uint32_t fwmask;     /* rule: 0 when the rule has no fwmark selector */
  bool invert;         /* rule: FIB_RULE_INVERT ("not") */
  uint8_t proto;       /* route, rule: RTPROT_* */
} mf_netobj_t;

/* Human name for messages, e.g. "rule 'not fwmark 0x7300 lookup 7300'
 * (priority 7301)" or "route 'default dev mf0 table 7300'". */
void mf_netobj_describe(const mf_netobj_t *o, char *out, size_t size);

/* Reads a link's MTU and up flag (RTM_GETLINK). */
int mf_netobj_link_read(mf_nl_t *nl, uint32_t ifindex, uint32_t *mtu,
                        bool *up, mf_nl_err_t *e);
/* Adds the object; an object that exists already is an error (EEXIST), so
 * that nothing the daemon did not create is ever recorded as its own. */
int mf_netobj_add(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e);
/* Deletes the object. One already gone, or whose device is gone or is now
 * another device of the same name, is not an error. */
int mf_netobj_del(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e);

/* State-file line without its newline; returns its length, or -1 when it
 * would not fit in MF_NETOBJ_LINE_MAX. */
int mf_netobj_format_line(const mf_netobj_t *o, char *out, size_t size);
/* Parses what mf_netobj_format_line writes, and nothing else (no extra
 * spaces, fields in order, values in range). Returns 0, or -1 with *why. */
int mf_netobj_parse_line(const char *line, mf_netobj_t *o, const char **why);

#endif
