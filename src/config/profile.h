/* Profiles: what the user declares (TUN, interfaces, routes, the host
 * stack's limits), parsed from YAML. Parsing never touches the system;
 * every error carries the file, line and column it was found at. */
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
  mf_mark_t mark;
} mf_route_cfg_t;

/* The host stack's limits and timers (section `hoststack`). */
typedef struct {
  uint32_t max_sessions;          /* default 16384; 16..65536 */
  uint32_t tcp_rx_buffer;         /* bytes, power of two 4096..16777216;
                                     default 262144 */
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

#endif
