/* Profiles: what the user declares (TUN, interfaces, routes, App Routing's
 * sets and DNS settings, the host stack's limits), parsed from YAML.
 * Parsing never touches the system (list files are read later, by
 * routing/approute.c); every error carries the file, line and column it was
 * found at. */
#ifndef MF_CONFIG_PROFILE_H
#define MF_CONFIG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/interface.h"
#include "fib/prefix.h"

#define MF_PROFILE_MAX_TUN_ADDRS 4
#define MF_PROFILE_MAX_IFACES 32
#define MF_PROFILE_MAX_ROUTES 4096

typedef struct {
  uint32_t line, column; /* 1-based; 0 when not from a file */
} mf_mark_t;

typedef struct {
  char name[16];   /* IFNAMSIZ */
  uint32_t mtu;    /* 576..MF_BUFFER_DATA_SIZE; default 1500 */
  mf_prefix_t addresses[MF_PROFILE_MAX_TUN_ADDRS]; /* machine side */
  uint32_t n_addresses;
  /* The stack's own address per address above: host bits as given; when
   * not in the profile, the next address after addresses[i] in its prefix. */
  mf_prefix_t stack_addresses[MF_PROFILE_MAX_TUN_ADDRS];
  uint32_t n_stack_addresses;
  bool auto_route;
  bool exclude_lan;
  uint32_t route_table;   /* policy-routing table the daemon owns */
  uint32_t fwmark;        /* mark on the daemon's own sockets */
  uint32_t rule_priority; /* first of the rule priorities the daemon owns */
} mf_tun_cfg_t;

#define MF_PROFILE_MAX_WG 8           /* wireguard interfaces per profile */
#define MF_PROFILE_MAX_WG_PEERS 16
#define MF_PROFILE_MAX_WG_ADDRS 4
#define MF_PROFILE_MAX_WG_DNS 4
#define MF_PROFILE_MAX_ALLOWED_IPS 32
#define MF_PROFILE_WG_DEBUG_MAX 4096 /* bytes of imported config text kept */

/* A WireGuard peer, as wg-quick's [Peer] section. */
typedef struct {
  uint8_t public_key[32];
  uint8_t preshared_key[32];
  bool has_preshared_key;
  mf_prefix_t allowed_ips[MF_PROFILE_MAX_ALLOWED_IPS]; /* masked */
  uint32_t n_allowed_ips;
  char endpoint[256];          /* "host:port", "[v6]:port"; "" when absent */
  uint16_t persistent_keepalive; /* seconds; 0: off */
  mf_mark_t mark;
} mf_wg_peer_cfg_t;

/* A WireGuard interface, as wg-quick's [Interface] section. */
typedef struct {
  uint8_t private_key[32];
  uint16_t listen_port;   /* 0: any free port */
  mf_prefix_t addresses[MF_PROFILE_MAX_WG_ADDRS]; /* host bits as given */
  uint32_t n_addresses;
  uint32_t mtu;           /* default 1420 */
  mf_prefix_t dns[MF_PROFILE_MAX_WG_DNS]; /* full-length prefixes */
  uint32_t n_dns;
  mf_wg_peer_cfg_t peers[MF_PROFILE_MAX_WG_PEERS];
  uint32_t n_peers;
  char debug[MF_PROFILE_WG_DEBUG_MAX]; /* original imported text, or "" */
} mf_wg_cfg_t;

typedef struct {
  char name[MF_IF_NAME_MAX];
  mf_if_type_t type;
  uint32_t wg; /* type wireguard: index into mf_profile_t.wg */
  mf_mark_t mark;
} mf_iface_cfg_t;

typedef struct {
  mf_prefix_t cidr;   /* masked to its network */
  uint32_t iface;     /* index into mf_profile_t.ifaces */
  bool implicit;      /* added by the parser (::/0 following 0.0.0.0/0) */
  /* A route expanded from a cidr_set route: 1 + the set's index in
   * mf_profile_t.approute.cidr_sets; 0 for a route written as a cidr.
   * Name it with mf_profile_route_set_name. */
  uint16_t set;
  mf_mark_t mark;     /* the route item (for a set: the cidr_set route) */
} mf_route_cfg_t;

/* The host stack's limits and timers (section `hoststack`). */
typedef struct {
  uint32_t max_sessions;          /* default 16384; 16..65536 */
  uint32_t tcp_rx_buffer;         /* bytes, power of two 4096..16777216;
                                     default 1048576 */
  uint32_t tcp_tx_buffer;         /* same rules and default */
  uint64_t tcp_memory;            /* budget of all TCP rings; default
                                     268435456; at least tcp_rx_buffer +
                                     tcp_tx_buffer, at most 64 GiB */
  uint32_t tcp_connect_timeout_s; /* default 10; 1..300 */
  uint32_t tcp_idle_timeout_s;    /* default 7200; 0: never; at most 604800 */
  uint32_t udp_idle_timeout_s;    /* default 60; 1..86400 */
  uint32_t icmp_idle_timeout_s;   /* default 30; 1..86400 */
  mf_mark_t mark;                 /* the `hoststack` key; 0:0 when absent */
} mf_hoststack_cfg_t;

/* App Routing (sections `app_routing`, `domain_sets`, `cidr_sets`, `dns`
 * and the set routes of `routes`): the manual's domain sets, CIDR sets,
 * DNS fallback route and split DNS. Fixed arrays, so that a profile stays
 * one calloc'd block; every bound is checked with an error at the item
 * that exceeds it. */
#define MF_PROFILE_SET_NAME_MAX 63          /* characters of a set's name */
#define MF_PROFILE_MAX_DOMAIN_SETS 64
#define MF_PROFILE_MAX_CIDR_SETS 64
#define MF_PROFILE_MAX_SET_FILES 8          /* list files per domain set */
#define MF_PROFILE_MAX_LIST_FILES 64        /* list files, all sets */
#define MF_PROFILE_LIST_PATH_MAX 256        /* bytes, NUL included */
#define MF_PROFILE_MAX_INLINE_NAMES 4096    /* names in the profile, all sets */
#define MF_PROFILE_INLINE_TEXT (64u * 1024) /* their bytes, NULs included */
#define MF_PROFILE_MAX_SET_CIDRS 4096       /* prefixes, all cidr sets */
#define MF_PROFILE_MAX_DNS_SERVERS 4        /* per group (servers, vpn, direct) */
#define MF_PROFILE_MAX_SET_ROUTES                                              \
  (MF_PROFILE_MAX_DOMAIN_SETS + MF_PROFILE_MAX_CIDR_SETS + 1)

/* A name written in a domain set: "x.com" (suffix) or "=x.com" (exact). */
typedef struct {
  uint32_t text; /* offset of the normalised name in approute.name_text */
  uint8_t len;
  bool exact;
  mf_mark_t mark;
} mf_domain_name_cfg_t;

typedef struct {
  char path[MF_PROFILE_LIST_PATH_MAX]; /* as written; relative to the
                                          profile file's directory */
  mf_mark_t mark;
} mf_list_file_cfg_t;

typedef struct {
  char name[MF_PROFILE_SET_NAME_MAX + 1];
  uint32_t first_name, n_names; /* inline names, in approute.names */
  uint32_t first_file, n_files; /* list files, in approute.files */
  uint8_t format;               /* mf_domain_list_format_t; 0: auto */
  mf_mark_t mark;               /* the set's key */
} mf_domain_set_cfg_t;

typedef struct {
  char name[MF_PROFILE_SET_NAME_MAX + 1];
  uint32_t first, n; /* prefixes (masked), in approute.set_cidrs */
  mf_mark_t mark;
} mf_cidr_set_cfg_t;

typedef enum {
  MF_SET_ROUTE_DOMAIN = 0, /* { domain_set: NAME, to: IFACE } */
  MF_SET_ROUTE_CIDR,       /* { cidr_set: NAME, to: IFACE }: also expanded
                              into mf_profile_t.routes, one per prefix; a
                              prefix also written as a cidr route keeps
                              that route, one in two sets the set routed
                              first */
  MF_SET_ROUTE_FALLBACK,   /* { dns_fallback: true, to: IFACE } */
} mf_set_route_kind_t;

/* A route item other than a plain cidr, in the order written. */
typedef struct {
  uint8_t kind;   /* mf_set_route_kind_t */
  uint32_t set;   /* index into domain_sets or cidr_sets; 0 for fallback */
  uint32_t iface; /* index into mf_profile_t.ifaces */
  mf_mark_t mark; /* the route item */
} mf_set_route_cfg_t;

/* An upstream DNS server: "1.1.1.1", "1.1.1.1:5353", "[2606:4700::1111]:53". */
typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint16_t port;  /* default 53 */
  mf_mark_t mark;
} mf_dns_server_cfg_t;

/* dns.system: whether the daemon points the machine's resolver (resolv.conf
 * or systemd-resolved) at its servers while it runs. */
typedef enum {
  MF_DNS_SYSTEM_AUTO = 0, /* default: when there is something to hand over */
  MF_DNS_SYSTEM_OFF,      /* leave the machine's DNS settings alone */
} mf_dns_system_t;

/* Section `dns`: every key optional. */
typedef struct {
  mf_dns_server_cfg_t servers[MF_PROFILE_MAX_DNS_SERVERS]; /* App Routing
                                                  off: given to the system */
  uint32_t n_servers;
  mf_dns_server_cfg_t vpn[MF_PROFILE_MAX_DNS_SERVERS]; /* for sets routed to
                                                  VPN and proxy interfaces */
  uint32_t n_vpn;
  mf_dns_server_cfg_t direct[MF_PROFILE_MAX_DNS_SERVERS]; /* for direct,
                                                  drop, reject and the rest */
  uint32_t n_direct;
  bool hijack;       /* every port-53 packet into the TUN to our server */
  bool block_answer; /* block: answer (else resolve) for drop/reject sets */
  uint32_t host_route_grace_s; /* default 60 */
  uint32_t max_host_routes;    /* default 65536 */
  uint8_t system;              /* mf_dns_system_t; default auto */
  /* block_doh: the bundled DoH endpoint names (dns/doh_list.c) form a
   * built-in domain set routed to doh_iface, the profile's first reject
   * interface, or one named "doh-reject" added by the parser when there
   * is none. */
  bool block_doh;
  uint32_t doh_iface; /* index into mf_profile_t.ifaces when block_doh */
  mf_mark_t mark;              /* the `dns` key; 0:0 when absent */
} mf_dns_cfg_t;

typedef struct {
  bool enabled;   /* app_routing: true */
  mf_mark_t mark; /* the `app_routing` key; 0:0 when absent */
  mf_domain_set_cfg_t domain_sets[MF_PROFILE_MAX_DOMAIN_SETS]; /* set ids */
  uint32_t n_domain_sets;
  mf_cidr_set_cfg_t cidr_sets[MF_PROFILE_MAX_CIDR_SETS];
  uint32_t n_cidr_sets;
  mf_domain_name_cfg_t names[MF_PROFILE_MAX_INLINE_NAMES];
  uint32_t n_names;
  char name_text[MF_PROFILE_INLINE_TEXT];
  uint32_t name_text_len;
  mf_list_file_cfg_t files[MF_PROFILE_MAX_LIST_FILES];
  uint32_t n_files;
  mf_prefix_t set_cidrs[MF_PROFILE_MAX_SET_CIDRS];
  uint32_t n_set_cidrs;
  mf_set_route_cfg_t routes[MF_PROFILE_MAX_SET_ROUTES];
  uint32_t n_routes;
  mf_dns_cfg_t dns;
} mf_approute_cfg_t;

/* Settings for tests only (section `debug`). */
typedef struct {
  uint32_t tun_drop_ppm; /* packets per million dropped each way; default 0 */
} mf_debug_cfg_t;

typedef struct {
  char source[256]; /* file name, or "<default>" */
  mf_tun_cfg_t tun;
  mf_iface_cfg_t ifaces[MF_PROFILE_MAX_IFACES];
  uint32_t n_ifaces;
  mf_route_cfg_t routes[MF_PROFILE_MAX_ROUTES];
  uint32_t n_routes;
  mf_wg_cfg_t wg[MF_PROFILE_MAX_WG];
  uint32_t n_wg;
  mf_hoststack_cfg_t hoststack;
  mf_debug_cfg_t debug;
  mf_approute_cfg_t approute;
} mf_profile_t;

/* Where errors go: each as "file:line:column: message". */
typedef struct {
  FILE *out;          /* may be NULL: errors only counted */
  uint32_t n_errors;
  char first[256];    /* the first error, formatted, for tests */
} mf_diag_t;

/* Parse a profile. Return 0 when valid; otherwise -1 with every error found
 * reported to diag (the parser goes on after an error where it can). */
int mf_profile_load_file(const char *path, mf_profile_t *out, mf_diag_t *diag);
int mf_profile_load_string(const char *text, size_t len, const char *name,
                           mf_profile_t *out, mf_diag_t *diag);

/* The embedded default profile's YAML text, NUL-terminated. */
const char *mf_profile_default_text(void);

/* Returns the index of the interface of that name, or -1. */
int mf_profile_find_iface(const mf_profile_t *p, const char *name);

/* The cidr set a route was expanded from, or NULL for a plain cidr route. */
const char *mf_profile_route_set_name(const mf_profile_t *p,
                                      const mf_route_cfg_t *r);
/* True when names routed to that interface are resolved by the VPN DNS
 * servers (L3VPN and L4Proxy interfaces); false for direct, drop and
 * reject, whose names go to the direct ones (the manual's split DNS). */
bool mf_profile_iface_uses_vpn_dns(const mf_profile_t *p, uint32_t iface);
/* An inline name of a domain set, NUL-terminated. */
static inline const char *mf_profile_domain_name(const mf_profile_t *p,
                                                 const mf_domain_name_cfg_t *n)
{
  return p->approute.name_text + n->text;
}

#endif
