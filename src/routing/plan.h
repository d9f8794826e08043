/* What mf_netconf_up will add, worked out from the configuration alone and
 * in the order it is added: the link, the addresses, the routes of the
 * daemon's table, the LAN exceptions, the catch-all rules. Rules come last
 * so that no packet is steered to the table before its routes exist. */
#ifndef MF_ROUTING_PLAN_H
#define MF_ROUTING_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "routing/netconf.h"
#include "routing/netobj.h"

/* The protocol our routes and rules carry (rtnetlink.h; shown by
 * `ip route`/`ip rule` as "proto static"). */
#define MF_NETCONF_PROTO 4 /* RTPROT_STATIC */

/* Checks cfg and fills out[0..*n) for the TUN at ifindex; the link's
 * values before are left for the caller to read. Returns 0, or -1 with err
 * when the configuration cannot be applied safely. */
int mf_netconf_plan(const mf_netconf_t *cfg, uint32_t ifindex,
                    mf_netobj_t out[MF_NETOBJ_MAX], size_t *n, char *err,
                    size_t errlen);

#endif
