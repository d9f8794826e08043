/* App Routing compiled from a profile: what the FIB and the built-in DNS
 * server need to steer flows by domain set, CIDR set and the DNS fallback
 * (the manual's App Routing; DESIGN.md: "profiles compiled into FIB routes
 * and DNS policy").
 *
 * Built once from a parsed profile (list files read then, relative to the
 * profile's directory), immutable afterwards; a profile change builds a new
 * one. Interfaces are profile indices (mf_profile_t.ifaces); the data plane
 * adds MF_IF_FIRST_PROFILE for its own interface numbers.
 *
 * Threads: built on the control thread, then read by the worker that owns
 * the DNS server; never changed while in use. */
#ifndef MF_ROUTING_APPROUTE_H
#define MF_ROUTING_APPROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/profile.h"
#include "dns/domain_match.h"

#define MF_APPROUTE_MAX_UPSTREAMS 4
#define MF_APPROUTE_NONE UINT32_MAX
/* Distinct names in all domain sets together: a few of the largest block
 * lists in use, at some 40 bytes of matcher memory each. */
#define MF_APPROUTE_MAX_NAMES (4u << 20)
/* Largest list file read (bytes). */
#define MF_APPROUTE_MAX_FILE_BYTES (128u << 20)

/* Which upstream servers answer for names routed to an interface: VPN DNS
 * for L3VPN and L4Proxy interfaces, Direct DNS for direct, drop and reject
 * (the manual's split DNS). */
typedef enum { MF_DNS_GROUP_DIRECT = 0, MF_DNS_GROUP_VPN = 1 } mf_dns_group_t;

typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint16_t port; /* host order; 53 unless the profile says otherwise */
} mf_dns_upstream_t;

/* A domain set as routed: set ids are what mf_domain_match_lookup returns.
 * With dns.block_doh the last set is the built-in one of DoH endpoints
 * (MF_APPROUTE_DOH_SET_NAME), routed to a reject interface and ranked
 * after every route of the profile: the user's own sets win its names
 * and addresses. */
#define MF_APPROUTE_DOH_SET_NAME "doh:builtin" /* no profile set has a ':' */
#define MF_APPROUTE_DOH_RANK UINT16_MAX
typedef struct {
  char name[64];
  uint32_t iface; /* profile interface index, or MF_APPROUTE_NONE when no
                     route names the set (matched, but not steered) */
  uint8_t group;  /* mf_dns_group_t of that interface */
  /* Which set wins an address that several sets' answers hold (shared
   * CDNs): the lowest rank, the position of the set's route in the
   * profile's routes list, so the route written first wins whatever
   * order the answers come in (dns_routes.h). */
  uint16_t rank;
  /* The interface has no IPv6 path (a WireGuard interface without an IPv6
   * address): AAAA queries get an empty answer. */
  bool no_ipv6;
  uint32_t n_names; /* names loaded into the matcher for this set */
  uint32_t n_files; /* list files read */
  uint32_t lines_skipped; /* lines of its files that gave no name (blank
                             lines and comments aside) */
} mf_approute_set_t;

typedef struct {
  bool enabled; /* app_routing: true */
  mf_domain_match_t *domains; /* every domain set; NULL when none */
  mf_approute_set_t *sets;    /* by set id */
  uint32_t n_sets;
  uint32_t doh_set;        /* the built-in DoH set, or MF_APPROUTE_NONE */
  uint32_t fallback_iface; /* the dns_fallback route's interface, or NONE */
  uint8_t fallback_group;
  mf_dns_upstream_t vpn[MF_APPROUTE_MAX_UPSTREAMS];
  uint32_t n_vpn;
  mf_dns_upstream_t direct[MF_APPROUTE_MAX_UPSTREAMS];
  uint32_t n_direct;
  mf_dns_upstream_t system[MF_APPROUTE_MAX_UPSTREAMS]; /* dns.servers */
  uint32_t n_system;
  bool hijack;           /* dns.hijack: every port-53 packet into the TUN */
  bool block_answer;     /* dns.block: answer names of drop/reject sets at
                            once (0.0.0.0 / ::) instead of resolving them */
  uint32_t host_route_grace_s; /* added to answers' TTLs; default 60 */
  uint32_t max_host_routes;    /* DNS-learned host routes; default 65536 */
  /* What loading the lists found, for `mintflow check` and logs. */
  uint64_t names_loaded, lines_skipped, conflicts;
} mf_approute_t;

/* Compiles p's app routing into out (which it owns until
 * mf_approute_free). List files are read from disk here: a relative path
 * from the directory of p->source; a profile not read from a file
 * ("<default>", "<string>") needs absolute ones. With app_routing off no
 * list is read: n_sets is 0 and domains NULL, the upstreams are filled.
 * Returns 0, or -1 with "file:line:column: message" errors reported to
 * diag (out is then empty). */
int mf_approute_build(const mf_profile_t *p, mf_approute_t *out,
                      mf_diag_t *diag);
void mf_approute_free(mf_approute_t *a);

/* The same on the heap, for a policy that is swapped at run time
 * (`mintflow reload`): NULL with the errors reported to diag (or on
 * ENOMEM, counted there). The owner frees it with mf_approute_destroy
 * once the DNS server no longer points at it (mf_dns_server_set_policy
 * takes the new one at once, so the old one is free right after). */
mf_approute_t *mf_approute_create(const mf_profile_t *p, mf_diag_t *diag);
void mf_approute_destroy(mf_approute_t *a);

/* The id of the domain set of that name, or MF_APPROUTE_NONE: how a set
 * is followed from one policy to the next. */
uint32_t mf_approute_find_set(const mf_approute_t *a, const char *name);

/* The domain set a query name belongs to (text form, any case, optional
 * trailing dot), or MF_APPROUTE_NONE. */
uint32_t mf_approute_match(const mf_approute_t *a, const char *name,
                           size_t len);

#endif
