/* WireGuard interfaces in the daemon: devices built from the profile, their
 * peers, the index table that finds a peer from a received message, and
 * the cryptokey routing table (allowed IPs, an LPM table per device using
 * the FIB code with the peer slot as adjacency).
 *
 * Local indices carry the peer slot in bits 2..7 and a per-peer sequence
 * in bits 0..1 under 24 random bits, so a received message finds its peer
 * in O(1) without a hash table, and indices still do not repeat soon.
 *
 * Threads: a device and its peers belong to the worker that runs its
 * nodes; the control socket reads them from the same thread. */
#ifndef MF_WIREGUARD_WG_DEVICE_H
#define MF_WIREGUARD_WG_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/profile.h"
#include "core/vm.h"
#include "io/udp.h"
#include "wireguard/cookie.h"
#include "wireguard/data.h"
#include "wireguard/keypairs.h"
#include "wireguard/noise.h"
#include "wireguard/timers.h"
#include "wireguard/wg_udp.h"

#define MF_WG_MAX_PEERS MF_PROFILE_MAX_WG_PEERS
/* Routes of a device's allowed-IPs table: every peer full. */
#define MF_WG_ALLOWED_MAX_ROUTES (MF_WG_MAX_PEERS * MF_PROFILE_MAX_ALLOWED_IPS)
/* Packets held per peer while its handshake runs (as wireguard-go: a
 * bounded queue; the oldest gives way). */
#define MF_WG_STAGED_MAX 128
/* A peer answers at most this many initiations per second (flood limit). */
#define MF_WG_INITIATIONS_PER_SEC 50

struct mf_fib;
struct mf_wg_uapi_server;

typedef struct {
  uint32_t slot;
  /* The slot holds a peer. Run-time removal (the wg(8) API) frees a slot
   * in place instead of moving peers: local indices in flight name slots,
   * so a slot must keep meaning the same peer, or none, until reused. */
  bool live;
  mf_wg_noise_peer_t noise;
  mf_wg_handshake_t hs;
  mf_wg_keypairs_t kps;
  mf_wg_timers_t timers;
  mf_wg_cookie_maker_t cookie;
  mf_sockaddr_t endpoint;
  bool has_endpoint;
  uint16_t persistent_keepalive;
  uint8_t last_timestamp[MF_WG_TIMESTAMP_LEN]; /* newest initiation taken */
  uint64_t last_initiation_rx; /* monotonic ns, flood limit */
  uint32_t index_seq;
  uint32_t staged[MF_WG_STAGED_MAX]; /* ring of buffer indices */
  uint32_t staged_head, n_staged;
  /* For `show wireguard` and the wg(8) API. */
  uint64_t rx_bytes, tx_bytes;
  uint64_t last_handshake_wall_ns; /* 0: never */
  mf_prefix_t allowed_ips[MF_PROFILE_MAX_ALLOWED_IPS];
  uint32_t n_allowed_ips;
} mf_wg_peer_t;

typedef struct {
  char name[MF_IF_NAME_MAX];
  uint32_t if_index; /* in vm->ifs */
  mf_wg_identity_t id;
  mf_wg_cookie_checker_t cookie;
  mf_udp_t sock;
  mf_wg_udp_offload_t udp_off; /* what sock's kernel offloads allow */
  uint32_t fwmark;
  uint32_t mtu;
  bool has4, has6;
  uint8_t addr4[4], addr6[16];      /* the interface's own addresses */
  uint8_t tun4[4], tun6[16];        /* the TUN's, which they replace */
  /* The stack's own addresses (its DNS server's queries leave from them):
   * replaced the same way, and answers to the stack's ports come back to
   * them. */
  bool has_stack4, has_stack6;
  uint8_t stack4[4], stack6[16];
  mf_wg_peer_t peers[MF_WG_MAX_PEERS];
  uint32_t n_peers; /* slots in use: live peers are all below; a slot
                       below may be free (!live) after a removal */
  struct mf_fib *allowed; /* adjacency = peer slot */
  bool under_load;
} mf_wg_device_t;

/* The WireGuard part of a worker: its devices and the nodes' shared state. */
typedef struct mf_wg_main {
  mf_wg_device_t *devs[MF_PROFILE_MAX_WG];
  uint32_t n_devs;
  uint8_t dev_by_if[MF_MAX_INTERFACES]; /* vm if index -> device, 0xff none */
  mf_wg_data_ctx_t data;
  uint32_t polling; /* device whose socket wg-input reads now */
  uint32_t wg_output_node;
  void *out_scratch, *in_scratch; /* the nodes' per-worker scratch */
  mf_vm_t *vm;
  struct mf_wg_uapi_server *uapi; /* wg(8) sockets (uapi_server.h), or NULL */
} mf_wg_main_t;

/* Builds every wireguard interface of the profile: keys, peers, allowed
 * IPs, sockets (marked with the profile's fwmark). if_base is the vm
 * interface index of profile interface 0. Returns NULL with err set. */
mf_wg_main_t *mf_wg_main_create(mf_vm_t *vm, const mf_profile_t *p,
                                uint32_t if_base, char *err, size_t errlen);
void mf_wg_main_destroy(mf_wg_main_t *wm);

/* The peer a received message's receiver index names, or NULL. */
mf_wg_peer_t *mf_wg_peer_by_index(mf_wg_device_t *d, uint32_t local_index);
/* A fresh local index for peer p. */
uint32_t mf_wg_peer_new_index(mf_wg_peer_t *p);

/* Run-time changes (the wg(8) API, uapi_set.c). Slots stay put: a removed
 * peer leaves a free slot that a later peer may take. */

/* Makes free slot `slot` a new peer from prepared handshake and cookie
 * state, which it takes over (the caller's copies are wiped). Endpoint,
 * keepalive and allowed IPs start empty. Cannot fail. */
void mf_wg_peer_install(mf_wg_device_t *d, uint32_t slot,
                        mf_wg_noise_peer_t *noise, mf_wg_cookie_maker_t *cookie);
/* Removes p: wipes its keys, stops its timers, drops its staged packets
 * (counted as given up) and frees its slot. Its allowed IPs must leave
 * d->allowed as well: the caller installs a table without them
 * (mf_wg_device_replace_allowed). */
void mf_wg_peer_remove(mf_wg_main_t *wm, mf_wg_device_t *d, mf_wg_peer_t *p);
/* Installs a cryptokey routing table the caller built (adjacency = peer
 * slot) and destroys the old one. */
void mf_wg_device_replace_allowed(mf_wg_device_t *d, struct mf_fib *allowed);
/* Moves the device to a socket the caller opened (a new listen port):
 * the descriptor number stays the same (dup3), but its epoll registration
 * is gone with the old socket: the caller registers d->sock.fd again.
 * Takes *u over. */
void mf_wg_device_replace_socket(mf_wg_device_t *d, mf_udp_t *u);

/* Arms persistent keepalives (the first goes, or starts a handshake, now). */
void mf_wg_main_start(mf_wg_main_t *wm, uint64_t now);
/* Runs every timer due at now; sends initiations and keepalives. */
void mf_wg_main_tick(mf_wg_main_t *wm, uint64_t now);

/* What became of a handshake message; each has a named counter in wg-input. */
typedef enum {
  MF_WG_HS_ACCEPTED,           /* initiation answered, response or cookie taken */
  MF_WG_HS_BAD_MAC1,           /* not for us, or tampered */
  MF_WG_HS_COOKIE_SENT,        /* under load without a valid mac2 */
  MF_WG_HS_INVALID,            /* does not decrypt or parse */
  MF_WG_HS_UNKNOWN_PEER,       /* a static key we have no peer for */
  MF_WG_HS_REPLAY,             /* initiation timestamp not newer */
  MF_WG_HS_FLOOD,              /* initiations faster than allowed */
  MF_WG_HS_UNEXPECTED,         /* response or cookie for no pending handshake */
} mf_wg_hs_verdict_t;

/* Control path of wg-input: a handshake message (types 1-3) from `from`. */
mf_wg_hs_verdict_t mf_wg_handle_handshake(mf_wg_main_t *wm, mf_wg_device_t *d,
                            const uint8_t *msg, uint32_t len,
                            const mf_sockaddr_t *from, uint64_t now);
/* Starts a handshake with p if the timers allow one now. */
void mf_wg_peer_want_handshake(mf_wg_main_t *wm, mf_wg_device_t *d,
                               mf_wg_peer_t *p, uint64_t now);
/* Holds buffer bi until p has a keypair; the oldest gives way when full
 * (returned, for the caller to drop), else MF_BUFFER_INVALID. */
uint32_t mf_wg_peer_stage(mf_wg_peer_t *p, uint32_t bi);
/* Frees wg-input's per-worker scratch (its receive areas included). */
void mf_wg_input_free_scratch(mf_wg_main_t *wm);
/* Counts packets dropped because their handshake was given up. */
void mf_wg_output_count_given_up(mf_vm_t *vm, uint32_t n);
/* Empties p's queue of held packets into out[MF_WG_STAGED_MAX], oldest
 * first; returns how many. The caller owns them then. */
uint32_t mf_wg_peer_take_staged(mf_wg_peer_t *p, uint32_t *out);
/* Sends p's staged packets through wg-output (a keypair just arrived). */
void mf_wg_peer_flush_staged(mf_wg_main_t *wm, mf_wg_peer_t *p);
/* Sends an empty data packet (keepalive) to p when it has a keypair. */
void mf_wg_peer_send_keepalive(mf_wg_main_t *wm, mf_wg_device_t *d,
                               mf_wg_peer_t *p, uint64_t now);

extern const mf_node_reg_t mf_wg_output_node;
extern const mf_node_reg_t mf_wg_input_node;

#endif
