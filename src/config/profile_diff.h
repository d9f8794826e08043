/* What a profile change needs: applied at run time (`mintflow reload`,
 * SIGHUP), or a restart.
 *
 * Run time: routes (cidr, cidr_set, domain_set, dns_fallback), cidr_sets,
 * domain_sets, app_routing, dns, debug, and the hoststack limits that
 * `set hoststack` can also change (max_sessions within the pool allocated
 * at start, the timeouts). Restart: everything under tun and interfaces
 * (names, types, every WireGuard field), and the host stack's buffer
 * sizes and memory budget, which size allocations made at start: the
 * data plane refers to interfaces by index and to those pools by address.
 *
 * Pure: compares two parsed profiles, touches nothing. */
#ifndef MF_CONFIG_PROFILE_DIFF_H
#define MF_CONFIG_PROFILE_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"

/* True when going from `running` to `next` needs a restart; *key then
 * names the first key that differs ("tun.mtu", "interfaces[1].type",
 * "interfaces[wg0].peers[0].endpoint", "hoststack.tcp_rx_buffer"), written
 * into key (size bytes). False, with key "", when a reload can apply it.
 * max_sessions is not judged here: the pool size is the daemon's (see
 * mf_profile_diff_sessions_fit). */
bool mf_profile_diff_needs_restart(const mf_profile_t *running,
                                   const mf_profile_t *next, char *key,
                                   size_t size);

/* True when next's hoststack.max_sessions fits a pool of pool_size
 * sessions (the size the daemon allocated at start). */
static inline bool mf_profile_diff_sessions_fit(const mf_profile_t *next,
                                                uint32_t pool_size)
{
  return next->hoststack.max_sessions <= pool_size;
}

#endif
