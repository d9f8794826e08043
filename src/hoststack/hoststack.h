/* The host stack behind `direct`: flows from the machine are terminated
 * here and re-originated from ordinary kernel sockets, whose packets carry
 * the profile's fwmark so they never loop back into our TUN.
 *
 * It serves TCP, UDP and ICMP echo:
 *   - TCP: each connection of the app is terminated by our own TCP engine
 *     (tcp.h) and spliced to a kernel socket connected to the real server
 *     (tcp_session.c). The app's SYN is answered only once the upstream
 *     connect succeeded, so a refused or silent server looks the same to
 *     the app as without us: a RST, or no answer until our connect timeout
 *     ends in a RST. A connection to one of the stack's own addresses
 *     (ip4/ip6-local hand those over) is spliced the same way to one end
 *     of a socketpair whose other end the local server takes
 *     (mf_hoststack_serve_local): the DNS server over TCP.
 *   - UDP: endpoint-independent mapping (RFC 4787 4.1, "full cone"): one
 *     upstream socket per app source address:port; datagrams to any
 *     destination leave through it, and datagrams from any remote come back
 *     to the app's address:port.
 *   - ICMP echo: one session per (app source, identifier). Ping sockets need
 *     net.ipv4.ping_group_range to include our group, which is off by
 *     default ("1 0") and a sysctl the daemon must not change behind the
 *     user's back; the daemon runs with CAP_NET_RAW anyway, so echo goes out
 *     through one raw ICMP socket per family, shared by every session. Each
 *     session gets an upstream identifier of its own (derived from its pool
 *     index), so a reply finds its session in O(1); the app's identifier is
 *     put back and the checksum recomputed on the way in.
 *
 * Sessions live in a preallocated pool, are referred to by index and found
 * by a hash of the app-side key. The pool is bounded; sessions beyond the
 * limit are refused and counted. Idle sessions expire from the main loop's
 * tick and their sockets are closed.
 *
 * Threads: the host stack belongs to the worker that runs its nodes; the
 * control socket reads it from the same thread. */
#ifndef MF_HOSTSTACK_HOSTSTACK_H
#define MF_HOSTSTACK_HOSTSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/timer_wheel.h"
#include "core/vm.h"
#include "hoststack/tcp.h"
#include "io/udp.h"

#define MF_HS_MAX_SESSIONS 16384 /* the default pool; the profile may change it */
#define MF_HS_POOL_MAX 65536     /* epoll tags are reserved for this many */
#define MF_HS_UDP_IDLE_S 60
#define MF_HS_ICMP_IDLE_S 30

/* Epoll tags: session i's socket is MF_HS_TAG_SESSION + i; the shared raw
 * ICMP sockets are MF_HS_TAG_ICMP4 and MF_HS_TAG_ICMP6. */
#define MF_HS_TAG_ICMP4 0x10000u
#define MF_HS_TAG_ICMP6 0x10001u
#define MF_HS_TAG_SESSION 0x20000u
#define MF_HS_OWNS_TAG(tag)                                                   \
  ((tag) >= MF_HS_TAG_ICMP4 && (tag) < MF_HS_TAG_SESSION + MF_HS_POOL_MAX)

typedef enum { MF_HS_UDP = 1, MF_HS_ICMP = 2, MF_HS_TCP = 3 } mf_hs_proto_t;

/* Takes fd, a connected stream socket, for a connection from the app at
 * app:app_port to the stack's address local:local_port (family 4 or 6,
 * ports in network order). Returns 0 when served, -1 when refused; fd is
 * the callee's in both cases. */
typedef int mf_hs_local_accept_fn(void *ctx, int fd, uint8_t family,
                                  const uint8_t *app, uint16_t app_port,
                                  const uint8_t *local, uint16_t local_port);

/* TCP sessions: where the upstream socket stands (glue state; the
 * connection toward the app is in hs->tcp[si]). */
enum {
  MF_HS_TCP_CONNECTING = 1u << 0, /* connect() in progress */
  MF_HS_TCP_UP_EOF = 1u << 1,     /* the upstream ended its stream */
  MF_HS_TCP_SHUT_WR = 1u << 2,    /* we shut the upstream's write side */
  MF_HS_TCP_PENDING = 1u << 3,    /* on the pending-output list */
};

typedef struct {
  bool live;
  uint8_t proto;  /* mf_hs_proto_t */
  uint8_t family; /* 4 or 6: the app side's */
  uint32_t if_index;  /* the direct interface the flow was routed to */
  uint8_t app_addr[16]; /* IPv4 in the first 4 bytes */
  uint16_t app_port;    /* UDP port or ICMP identifier, network order */
  /* TCP: the server the app connected to (part of the key); zero for the
   * other protocols, whose sessions serve any remote. */
  uint8_t remote_addr[16];
  uint16_t remote_port;
  uint8_t tcp_flags;  /* MF_HS_TCP_* */
  bool local_app;     /* the app is the stack itself (its DNS server) */
  uint32_t ep_events; /* TCP: what epoll watches on fd */
  uint16_t up_id;       /* ICMP: upstream identifier, network order */
  int fd;               /* UDP: the session's socket; ICMP: -1 (shared) */
  uint16_t up_port;     /* UDP: the socket's bound port, host order */
  uint32_t hash_next;   /* chain in the hash table */
  mf_sockaddr_t last_remote; /* the last destination, for `show sessions` */
  uint64_t created_ns, last_ns;
  uint64_t tx_packets, tx_bytes; /* app to the internet */
  uint64_t rx_packets, rx_bytes; /* the internet to the app */
} mf_hs_session_t;

typedef struct {
  uint64_t opened, refused, expired, closed;
  uint64_t socket_errors; /* a session socket could not be opened */
  /* TCP */
  uint64_t tcp_connects;      /* upstream connects that succeeded */
  uint64_t tcp_up_refused;    /* upstream refused: RST to the app */
  uint64_t tcp_up_timeouts;   /* upstream silent past the connect timeout */
  uint64_t tcp_up_resets;     /* upstream reset: RST to the app */
  uint64_t tcp_app_resets;    /* the app reset: RST to the upstream */
  uint64_t tcp_aborts;        /* the engine gave up (retries, timeouts) */
  uint64_t tcp_time_wait_reused; /* a SYN took over a TIME-WAIT session */
  uint64_t tcp_local;         /* connections handed to a local server */
  mf_tcp_stats_t tcp_closed;  /* engine statistics of ended connections */
} mf_hs_counters_t;

typedef struct mf_hoststack {
  mf_vm_t *vm;
  mf_hs_session_t *sessions;
  uint32_t n_sessions; /* the pool's size */
  uint32_t limit;      /* live sessions allowed, at most n_sessions */
  uint32_t n_live;
  uint32_t *free_list, n_free;
  uint32_t *buckets; /* heads of hash chains, MF_HS_INVALID when empty */
  uint32_t n_buckets; /* a power of two */
  uint32_t hash_seed;
  uint16_t icmp_id_base; /* upstream id of session i: base + i */
  uint32_t fwmark;
  /* The kernel's index of our TUN: an echo reply we wrote there must not
   * be read back from the raw sockets as an upstream one. 0: unknown. */
  int tun_ifindex;
  int epfd;        /* session sockets are added here; -1: nobody watches */
  int icmp4_fd, icmp6_fd; /* shared raw sockets, opened on first use */
  uint64_t udp_idle_ns, icmp_idle_ns, tcp_idle_ns;
  /* TCP: the engine's connections (one slot per session), settings, ring
   * memory, one timer per session, and the sessions that have output
   * left after their burst (served on the next loop iteration). */
  mf_tcp_conn_t *tcp;
  mf_tcp_cfg_t tcp_cfg;
  mf_tcp_mem_t tcp_mem;
  mf_timer_wheel_t *wheel;
  uint32_t *pending, n_pending;
  uint64_t tcp_connect_ns; /* upstream connect timeout */
  uint64_t tcp_secret;     /* keys our initial sequence numbers */
  uint32_t tun_mtu;
  uint32_t polling_events; /* epoll events of the polled tag */
  uint32_t tcp_out_node;   /* tun-output's index, for timer output */
  uint64_t next_expiry_ns;
  /* What the main loop asked hs-input to read: a tag it owns. */
  uint64_t polling;
  /* UDP datagrams queued for sendmmsg (udp_batch.c). */
  struct mf_hs_udp_batch *udp_batch;
  /* The server of TCP connections to the stack's own addresses, or NULL
   * (they are then refused with a RST). */
  mf_hs_local_accept_fn *local_accept;
  void *local_ctx;
  mf_hs_counters_t c;
} mf_hoststack_t;

#define MF_HS_INVALID UINT32_MAX

/* Creates the host stack with a pool of max_sessions; its sockets carry
 * fwmark. Returns NULL on allocation failure. */
mf_hoststack_t *mf_hoststack_create(mf_vm_t *vm, uint32_t max_sessions,
                                    uint32_t fwmark);
/* Closes every socket and frees everything; NULL is fine. */
void mf_hoststack_destroy(mf_hoststack_t *hs);

/* Session sockets opened from now on are added to epfd (EPOLLIN) with
 * their MF_HS_TAG_* tag; closing a socket removes it. */
void mf_hoststack_watch(mf_hoststack_t *hs, int epfd);

/* A session's key: the app side, and for TCP the remote too. */
typedef struct {
  uint8_t proto, family;
  uint16_t app_port, remote_port; /* network order */
  const uint8_t *app_addr, *remote_addr; /* remote_addr NULL: none */
} mf_hs_key_t;

uint32_t mf_hoststack_find_key(const mf_hoststack_t *hs, const mf_hs_key_t *k);
uint32_t mf_hoststack_open_key(mf_hoststack_t *hs, const mf_hs_key_t *k,
                               uint64_t now);

/* The session with this app-side key, or MF_HS_INVALID. */
uint32_t mf_hoststack_find(const mf_hoststack_t *hs, uint8_t proto,
                           uint8_t family, const uint8_t *addr, uint16_t port);
/* Takes a pool slot for a new session with this key and links it into the
 * hash; the caller opens its socket. MF_HS_INVALID when the limit is
 * reached (counted as refused). */
uint32_t mf_hoststack_open(mf_hoststack_t *hs, uint8_t proto, uint8_t family,
                           const uint8_t *addr, uint16_t port, uint64_t now);
/* Ends session si: closes its socket, unlinks it, frees its slot. */
void mf_hoststack_close(mf_hoststack_t *hs, uint32_t si);

/* Expires idle sessions; cheap to call on every loop iteration (it scans
 * the pool at most once a second). Runs the TCP timers that are due and
 * the output left pending; their segments go to tun-output (the caller
 * runs the graph after). */
void mf_hoststack_tick(mf_hoststack_t *hs, uint64_t now);
/* Milliseconds until the host stack needs a tick (0: at once), at most
 * max_ms. */
int mf_hoststack_timeout_ms(const mf_hoststack_t *hs, uint64_t now, int max_ms);

/* TCP settings from the profile; call before the first flow. 0 or -1 when
 * memory for the TCP tables is short. */
int mf_hoststack_tcp_setup(mf_hoststack_t *hs, const mf_tcp_cfg_t *cfg,
                           uint64_t mem_budget, uint64_t connect_timeout_ns,
                           uint64_t idle_ns, uint32_t tun_mtu);

/* TCP connections to a stack address from now on go to fn(ctx, ...). */
void mf_hoststack_serve_local(mf_hoststack_t *hs, mf_hs_local_accept_fn *fn,
                              void *ctx);

/* Adds fd to the epoll set with tag, when one watches. */
int mf_hoststack_watch_fd(mf_hoststack_t *hs, int fd, uint64_t tag);

/* A remote address a flow may use through interface if_index (the vm's
 * index), as the DNS host routes ask it (hs_remote.c). */
#define MF_HS_REMOTE_BATCH 256
typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint32_t if_index;
} mf_hs_remote_t;
/* in_use[k] = whether a live session (TCP not closed nor in TIME-WAIT,
 * UDP or ICMP not idle, last destination q[k]) reaches q[k].addr through
 * q[k].if_index. One pass over the pool for the whole batch; n is capped
 * at MF_HS_REMOTE_BATCH. hs NULL: none. Returns how many are in use. */
uint32_t mf_hoststack_remotes_in_use(const mf_hoststack_t *hs,
                                     const mf_hs_remote_t *q, uint32_t n,
                                     bool *in_use, uint64_t now);

/* Bytes the host stack holds (pool, hash, free list). */
size_t mf_hoststack_memory(const mf_hoststack_t *hs);

/* Formats the session's app side, e.g. "10.0.0.1:5353" or "[fd00::1]#7". */
void mf_hoststack_format_app(const mf_hs_session_t *s, char *out, size_t size);

/* The nodes: hs-direct takes what ip4/ip6-lookup route to a direct
 * interface and hands TCP to hs-tcp; hs-input serves the sockets (node
 * ctx: the host stack). */
extern const mf_node_reg_t mf_hs_direct_node;
extern const mf_node_reg_t mf_hs_tcp_node;
extern const mf_node_reg_t mf_hs_input_node;

#endif
