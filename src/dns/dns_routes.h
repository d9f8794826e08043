/* Host routes learned from DNS answers: every A and AAAA of an answer for
 * a name in a routed domain set becomes a /32 or /128 in the FIB (source
 * MF_FIB_SRC_DNS) to the set's interface, for the answer's TTL plus a
 * grace period, so that the flows an app opens to those addresses follow
 * the set (the manual's App Routing by domain set).
 *
 * Rules:
 *   - bounded: at most max_routes addresses; more are refused and counted;
 *   - one interface per address: when two sets claim one address (shared
 *     CDNs do this), the route installed first keeps it until it expires
 *     and the later claim is counted as a conflict. A claim for the same
 *     interface only pushes the expiry out;
 *   - the FIB decides between sources: a profile route for exactly the
 *     same /32 wins ties (lower source), a shorter profile prefix loses to
 *     the host route by longest match, as intended.
 *
 * Timers: one per address, "route-expired", on a hashed wheel; nothing is
 * scanned. The table is allocated whole at create time.
 *
 * Threads: belongs to the worker that owns the FIB. */
#ifndef MF_DNS_DNS_ROUTES_H
#define MF_DNS_DNS_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "fib/fib.h"
#include "routing/approute.h"

typedef struct mf_dns_routes mf_dns_routes_t;

typedef enum {
  MF_DNS_ROUTE_INSTALLED = 0,
  MF_DNS_ROUTE_REFRESHED, /* already ours to that interface: expiry moved */
  MF_DNS_ROUTE_CONFLICT,  /* held for another interface: left as it is */
  MF_DNS_ROUTE_FULL,      /* max_routes reached */
  MF_DNS_ROUTE_FIB_ERROR, /* the FIB refused the path */
  MF_DNS_ROUTE_BAD,       /* not an address family we route */
} mf_dns_route_result_t;

typedef struct {
  uint64_t installed, refreshed, conflicts, refused, fib_errors;
  uint64_t expired, flushed;
  uint32_t live, max;
} mf_dns_routes_stats_t;

/* One held route, for `show dns routes`. */
typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint32_t adj;     /* the vm interface index */
  uint16_t set;     /* the domain set that installed it */
  uint64_t expires_ns;
} mf_dns_route_info_t;

/* A table for max_routes addresses (at least 1) that adds its paths to
 * fib with the given priority. The fib must outlive it. NULL on ENOMEM. */
mf_dns_routes_t *mf_dns_routes_create(mf_fib_t *fib, uint32_t max_routes,
                                      uint32_t priority, uint64_t now_ns);
/* Removes every path it added from the FIB, then frees. NULL is fine. */
void mf_dns_routes_destroy(mf_dns_routes_t *r);

/* Installs or refreshes the host route for addr (4 or 16 bytes by
 * family) to adj until expires_ns. */
mf_dns_route_result_t mf_dns_routes_add(mf_dns_routes_t *r, uint8_t family,
                                         const uint8_t *addr, uint32_t adj,
                                         uint16_t set, uint64_t expires_ns);

/* Removes the routes whose time is up; returns how many. Called from the
 * server's tick. */
uint32_t mf_dns_routes_expire(mf_dns_routes_t *r, uint64_t now_ns);
/* The earliest expiry, or 0 when none is held. */
uint64_t mf_dns_routes_next_expiry(const mf_dns_routes_t *r);

/* Removes every route now; returns how many. */
uint32_t mf_dns_routes_flush(mf_dns_routes_t *r);

/* Visits held routes: start with *cursor = 0, call while it returns true. */
bool mf_dns_routes_next(const mf_dns_routes_t *r, uint32_t *cursor,
                        mf_dns_route_info_t *info);

void mf_dns_routes_stats(const mf_dns_routes_t *r, mf_dns_routes_stats_t *st);
uint64_t mf_dns_routes_memory(const mf_dns_routes_t *r);

/* "installed", "refreshed", ... */
const char *mf_dns_route_result_name(mf_dns_route_result_t res);

/* ---- dns_routes_rehome.c: a new App Routing policy (reload) ---- */

/* Where one held route goes under the new policy: true with *adj and
 * *set to keep it (moved when they differ), false to remove it. */
typedef bool mf_dns_rehome_fn(void *ctx, const mf_dns_route_info_t *route,
                              uint32_t *adj, uint16_t *set);

typedef struct {
  uint32_t kept;    /* same interface (set id possibly renumbered) */
  uint32_t moved;   /* to another interface */
  uint32_t removed; /* their name is in no routed set now */
  uint32_t lost;    /* kept or moved, but `to` refused them (full, FIB) */
} mf_dns_rehome_stats_t;

/* Takes every route out of `from` and puts back into `to` (from itself,
 * or an empty table of another size) those fn keeps, each with its
 * expiry. The FIB changes between two graph runs, so no packet sees half
 * of it. Returns 0; -ENOMEM when no room for the snapshot: every route
 * is then removed (flows follow the CIDR routes until their names are
 * asked again) and counted removed. Counters of `from` count the routes
 * as flushed, those of `to` as installed. */
int mf_dns_routes_rehome(mf_dns_routes_t *from, mf_dns_routes_t *to,
                         mf_dns_rehome_fn *fn, void *ctx,
                         mf_dns_rehome_stats_t *st);

/* The set under policy `now` of a route learned for set old_set of
 * policy `old`: that of the name it was learned for when known (name not
 * NULL: text form), else the set of the same name. MF_APPROUTE_NONE when
 * there is none; the caller then asks whether that set is routed. */
uint32_t mf_dns_rehome_set(const mf_approute_t *old, const mf_approute_t *now,
                           uint32_t old_set, const char *name, size_t len);

#endif
