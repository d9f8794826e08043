/* DNS-learned host routes under a new App Routing policy: each route is
 * asked where it belongs now and put back there, or dropped.
 *
 * Built on the table's public operations only (visit, flush, add): the
 * snapshot holds what a route is (address, interface, set, expiry), and
 * the table is rebuilt from it. Snapshot memory is bounded by the
 * table's own limit. */
#include "dns/dns_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mf_dns_routes_rehome(mf_dns_routes_t *from, mf_dns_routes_t *to,
                         mf_dns_rehome_fn *fn, void *ctx,
                         mf_dns_rehome_stats_t *st)
{
  memset(st, 0, sizeof(*st));
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(from, &rs);
  if (rs.live == 0)
    return 0;
  mf_dns_route_info_t *snap = malloc((size_t)rs.live * sizeof(*snap));
  if (!snap) {
    st->removed = mf_dns_routes_flush(from);
    return -ENOMEM;
  }
  uint32_t n = 0, cursor = 0;
  while (n < rs.live && mf_dns_routes_next(from, &cursor, &snap[n]))
    n++;
  mf_dns_routes_flush(from);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t adj = snap[i].adj;
    uint16_t set = snap[i].set;
    if (!fn(ctx, &snap[i], &adj, &set)) {
      st->removed++;
      continue;
    }
    mf_dns_route_result_t r = mf_dns_routes_add(
        to, snap[i].family, snap[i].addr, adj, set, snap[i].expires_ns);
    if (r != MF_DNS_ROUTE_INSTALLED && r != MF_DNS_ROUTE_REFRESHED)
      st->lost++;
    else if (adj == snap[i].adj)
      st->kept++;
    else
      st->moved++;
  }
  free(snap);
  return 0;
}

uint32_t mf_dns_rehome_set(const mf_approute_t *old, const mf_approute_t *now,
                           uint32_t old_set, const char *name, size_t len)
{
  /* The name decides when it is known: it may have moved to another set
   * (or out of every set) while its old set kept its name. */
  if (name)
    return mf_approute_match(now, name, len);
  if (!old || old_set >= old->n_sets)
    return MF_APPROUTE_NONE;
  return mf_approute_find_set(now, old->sets[old_set].name);
}
