/* Host routes learned from DNS answers: every A and AAAA of an answer for
 * a name in a routed domain set becomes a /32 or /128 in the FIB (source
 * MF_FIB_SRC_DNS) to the set's interface, for the answer's TTL plus a
 * grace period, so that the flows an app opens to those addresses follow
 * the set (the manual's App Routing by domain set).
 *
 * Rules:
 *   - bounded: at most max_routes addresses; more are refused and counted.
 *     Each address keeps at most MF_DNS_ROUTE_MAX_CLAIMS claims, and all
 *     addresses together at most max_routes / 4 claims beyond their first;
 *     a claim that does not fit is counted (claims_refused);
 *   - claims: every (domain set, address) pair an answer brought is a
 *     claim with its own expiry. When sets routed to different places
 *     claim one address (shared CDNs do this) the claim of lowest rank
 *     wins, whatever the order the answers came in; the caller gives the
 *     rank (the DNS server: the position of the set's route in the
 *     profile's routes list, so the route the user wrote first wins, as
 *     the first matching line of a firewall would). The others wait in
 *     rank order: when the winner expires the next one takes the route
 *     over. A claim of the same set only pushes its expiry out;
 *   - kept while used: when the winner's time is up, an "in use" oracle
 *     (the host stack: a live session to the address through the route's
 *     interface) may keep the route past its TTL, so a long download or
 *     call does not move mid-flow; it is asked again every
 *     MF_DNS_ROUTE_RECHECK_S and the route goes (or the next claim takes
 *     over) once it says no. Routes to tunnels have no host-stack session,
 *     so they keep TTL plus grace exactly. Without an oracle nothing is
 *     kept;
 *   - the FIB decides between sources: a profile route for exactly the
 *     same /32 wins ties (lower source), a shorter profile prefix loses to
 *     the host route by longest match, as intended.
 *
 * Timers: one per address, "route-expired", on a hashed wheel, armed for
 * the earliest expiry among its claims (or the next recheck of a kept
 * route), rounded up to a whole second; nothing is scanned. The oracle is
 * asked once per batch of routes due in the same second, never once per
 * route (the host stack answers a batch in one pass over its sessions:
 * about 0.5-2 ms at 16k sessions, tests/unit/test_dns_routes.c). Tables
 * are allocated whole at create time.
 *
 * Threads: belongs to the worker that owns the FIB. */
#ifndef MF_DNS_DNS_ROUTES_H
#define MF_DNS_DNS_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "fib/fib.h"
#include "routing/approute.h"

#define MF_DNS_ROUTE_MAX_CLAIMS 4
#define MF_DNS_ROUTE_NAME_MAX 48 /* bytes kept of a claim's name, NUL too */
#define MF_DNS_ROUTE_RECHECK_S 1 /* a kept route's oracle is asked again */
#define MF_DNS_ROUTE_PROBE_BATCH 256 /* addresses per oracle call, at most */

typedef struct mf_dns_routes mf_dns_routes_t;

typedef enum {
  MF_DNS_ROUTE_INSTALLED = 0,
  MF_DNS_ROUTE_REFRESHED, /* the set's claim was held: expiry moved */
  MF_DNS_ROUTE_CONFLICT,  /* another set's claim wins: this one waits */
  MF_DNS_ROUTE_TAKEN,     /* this claim outranks the holder: it wins now */
  MF_DNS_ROUTE_FULL,      /* max_routes reached, or no room for the claim */
  MF_DNS_ROUTE_FIB_ERROR, /* the FIB refused the path */
  MF_DNS_ROUTE_BAD,       /* not an address family we route */
} mf_dns_route_result_t;

typedef struct {
  uint64_t installed, refreshed, refused, fib_errors;
  uint64_t conflicts;      /* claims of a second set for a held address */
  uint64_t takeovers;      /* the winning set of an address changed */
  uint64_t claims_refused; /* claims beyond the bounds (or outranked) */
  uint64_t kept;           /* routes that outlived their TTL for a flow */
  uint64_t expired, flushed;
  uint32_t live, max;
  uint32_t kept_now; /* routes held past their TTL right now */
  uint32_t claims;   /* claims held, the first of each address included */
} mf_dns_routes_stats_t;

/* One claim for an address: a domain set's answer. */
typedef struct {
  uint32_t adj;        /* the vm interface index */
  uint16_t set;        /* the domain set */
  uint16_t rank;       /* lower wins; ties go to the lower set */
  uint64_t expires_ns; /* TTL plus grace */
  const char *name;    /* the name asked (text), or NULL; copied */
} mf_dns_claim_t;

/* One claim as held, for the control output. */
typedef struct {
  uint32_t adj;
  uint16_t set;
  uint16_t rank;
  uint64_t expires_ns;
  char name[MF_DNS_ROUTE_NAME_MAX]; /* the last name of the set; "" when
                                       none; a long one keeps its end */
} mf_dns_claim_info_t;

/* One held route, for `show dns routes` and `show ip fib`. */
typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint32_t adj;     /* the winner's vm interface: the FIB's path */
  uint16_t set;     /* the winner's domain set */
  uint64_t expires_ns; /* the winner's expiry */
  bool kept;        /* past the winner's expiry for a live flow */
  uint32_t n_claims;
  mf_dns_claim_info_t claims[MF_DNS_ROUTE_MAX_CLAIMS]; /* winner first */
} mf_dns_route_info_t;

/* The oracle: in_use[k] = whether a live flow reaches probes[k].addr
 * through interface probes[k].adj. n <= MF_DNS_ROUTE_PROBE_BATCH. */
typedef struct {
  uint8_t family;
  uint8_t addr[16];
  uint32_t adj;
} mf_dns_route_probe_t;
typedef void mf_dns_routes_in_use_fn(void *ctx,
                                     const mf_dns_route_probe_t *probes,
                                     uint32_t n, bool *in_use, uint64_t now_ns);

/* A table for max_routes addresses (at least 1) that adds its paths to
 * fib with the given priority. The fib must outlive it. NULL on ENOMEM. */
mf_dns_routes_t *mf_dns_routes_create(mf_fib_t *fib, uint32_t max_routes,
                                      uint32_t priority, uint64_t now_ns);
/* Removes every path it added from the FIB, then frees. NULL is fine. */
void mf_dns_routes_destroy(mf_dns_routes_t *r);

/* Sets the in-use oracle (NULL: none; routes go at their expiry). ctx
 * must outlive the table or be replaced first. */
void mf_dns_routes_set_in_use(mf_dns_routes_t *r, mf_dns_routes_in_use_fn *fn,
                              void *ctx);

/* Adds or refreshes c's claim on addr (4 or 16 bytes by family). */
mf_dns_route_result_t mf_dns_routes_claim(mf_dns_routes_t *r, uint8_t family,
                                          const uint8_t *addr,
                                          const mf_dns_claim_t *c);
/* The same without a name, ranked by set. */
mf_dns_route_result_t mf_dns_routes_add(mf_dns_routes_t *r, uint8_t family,
                                         const uint8_t *addr, uint32_t adj,
                                         uint16_t set, uint64_t expires_ns);

/* Drops the claims whose time is up (asking the oracle about winners),
 * hands routes over to the next claim, removes routes without claims;
 * returns how many routes it removed. Called from the server's tick. */
uint32_t mf_dns_routes_expire(mf_dns_routes_t *r, uint64_t now_ns);
/* The earliest timer, or 0 when none is armed. */
uint64_t mf_dns_routes_next_expiry(const mf_dns_routes_t *r);

/* Removes every route now; returns how many. */
uint32_t mf_dns_routes_flush(mf_dns_routes_t *r);

/* Visits held routes: start with *cursor = 0, call while it returns true. */
bool mf_dns_routes_next(const mf_dns_routes_t *r, uint32_t *cursor,
                        mf_dns_route_info_t *info);
/* The route held for addr, if any. */
bool mf_dns_routes_get(const mf_dns_routes_t *r, uint8_t family,
                       const uint8_t *addr, mf_dns_route_info_t *info);

void mf_dns_routes_stats(const mf_dns_routes_t *r, mf_dns_routes_stats_t *st);
uint64_t mf_dns_routes_memory(const mf_dns_routes_t *r);

/* "installed", "refreshed", ... */
const char *mf_dns_route_result_name(mf_dns_route_result_t res);

/* ---- dns_routes_rehome.c: a new App Routing policy (reload) ---- */

/* Where one claim of a held route goes under the new policy: true with
 * out's adj, set and rank set for the new policy (expiry and name come
 * filled from the claim), false to drop the claim. Every claim is asked,
 * the winner first, so that a shared address keeps its losing claims and
 * their order follows the new ranks. */
typedef bool mf_dns_rehome_fn(void *ctx, const mf_dns_route_info_t *route,
                              const mf_dns_claim_info_t *claim,
                              mf_dns_claim_t *out);

typedef struct {
  uint32_t kept;    /* same interface (set id possibly renumbered) */
  uint32_t moved;   /* to another interface */
  uint32_t removed; /* their name is in no routed set now */
  uint32_t lost;    /* kept or moved, but `to` refused them (full, FIB) */
} mf_dns_rehome_stats_t;

/* Takes every route out of `from` and puts back into `to` (from itself,
 * or an empty table of another size) the claims fn keeps, each with its
 * expiry; a route is kept or moved by where its winner is now, removed
 * when fn keeps none of its claims. The FIB changes between two graph runs, so no packet sees half
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
