/* DNS-learned host routes under a new App Routing policy: each route is
 * asked where it belongs now and put back there, or dropped.
 *
 * Built on the table's public operations only (visit, flush, claim): the
 * snapshot holds what a route is (address, and each claim's interface,
 * set, rank, expiry and name), and the table is rebuilt from it. Snapshot memory is bounded by the
 * table's own limit. */
#include "dns/dns_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Puts back the claims of one route fn keeps, and counts the route. */
static void put_back(mf_dns_routes_t *to, const mf_dns_route_info_t *route,
                     mf_dns_rehome_fn *fn, void *ctx, mf_dns_rehome_stats_t *st)
{
  bool placed = false, refused = false;
  for (uint32_t c = 0; c < route->n_claims && c < MF_DNS_ROUTE_MAX_CLAIMS; c++) {
    const mf_dns_claim_info_t *ci = &route->claims[c];
    mf_dns_claim_t nc = {.adj = ci->adj, .set = ci->set, .rank = ci->rank,
                         .expires_ns = ci->expires_ns,
                         .name = ci->name[0] ? ci->name : NULL};
    if (!fn(ctx, route, ci, &nc))
      continue;
    nc.expires_ns = ci->expires_ns;
    nc.name = ci->name[0] ? ci->name : NULL;
    mf_dns_route_result_t r = mf_dns_routes_claim(to, route->family, route->addr, &nc);
    if (r == MF_DNS_ROUTE_FULL || r == MF_DNS_ROUTE_FIB_ERROR ||
        r == MF_DNS_ROUTE_BAD)
      refused = true;
    else
      placed = true;
  }
  mf_dns_route_info_t now;
  if (!placed)
    refused ? st->lost++ : st->removed++;
  else if (mf_dns_routes_get(to, route->family, route->addr, &now) &&
           now.adj == route->adj)
    st->kept++;
  else
    st->moved++;
}

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
  for (uint32_t i = 0; i < n; i++)
    put_back(to, &snap[i], fn, ctx, st);
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
