/* The daemon's changes to the machine's network configuration, made through
 * netlink: the TUN's addresses and link state, and with auto_route the
 * policy-routing rules and the routes of the table the daemon owns.
 *
 * Every change is recorded in a state file before it is made, so that a
 * later start can undo what a killed daemon left; nothing that is not in
 * the state file is ever removed. The state file names the network namespace
 * it was written in, and is only acted on in that same namespace. */
#ifndef MF_ROUTING_NETCONF_H
#define MF_ROUTING_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fib/prefix.h"

#define MF_NETCONF_MAX_ADDRS 4

typedef struct {
  const char *ifname;  /* the TUN device, already created */
  uint32_t mtu;
  mf_prefix_t addresses[MF_NETCONF_MAX_ADDRS]; /* assigned to the TUN */
  uint32_t n_addresses;
  bool auto_route;
  bool exclude_lan;
  uint32_t table;          /* table that holds the default routes via TUN */
  uint32_t fwmark;         /* packets with this mark bypass the TUN */
  uint32_t rule_priority;  /* rules use rule_priority .. rule_priority+9 */
  const char *state_path;  /* state file */
} mf_netconf_t;

typedef struct mf_netconf_state mf_netconf_state_t;

/* Undoes what a state file at `state_path` records, if it was written in
 * this network namespace, then removes the file. Missing file: returns 0.
 * Objects already gone are not errors. Returns 0 or -1 with *err set. */
int mf_netconf_cleanup_stale(const char *state_path, char *err, size_t errlen);

/* Brings the TUN up with its MTU and addresses and, with auto_route, adds
 * the routes and rules. On failure undoes what it did and returns NULL with
 * a message in err. */
mf_netconf_state_t *mf_netconf_up(const mf_netconf_t *cfg, char *err,
                                  size_t errlen);

/* Removes everything mf_netconf_up added, in reverse order, then the state
 * file. Safe to call from the signal-driven shutdown path (not from a
 * signal handler). */
void mf_netconf_down(mf_netconf_state_t *st);

#endif
