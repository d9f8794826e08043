/* The host stack behind `direct`: flows from the machine are terminated
 * here and re-originated from ordinary kernel sockets, whose packets carry
 * the profile's fwmark so they never loop back into our TUN.
 *
 * This first part serves UDP and ICMP echo (TCP comes later):
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

#include "core/vm.h"
#include "io/udp.h"

#define MF_HS_MAX_SESSIONS 4096
#define MF_HS_UDP_IDLE_S 60
#define MF_HS_ICMP_IDLE_S 30

/* Epoll tags: session i's socket is MF_HS_TAG_SESSION + i; the shared raw
 * ICMP sockets are MF_HS_TAG_ICMP4 and MF_HS_TAG_ICMP6. */
#define MF_HS_TAG_ICMP4 0x10000u
#define MF_HS_TAG_ICMP6 0x10001u
#define MF_HS_TAG_SESSION 0x20000u
#define MF_HS_OWNS_TAG(tag)                                                   \
  ((tag) >= MF_HS_TAG_ICMP4 && (tag) < MF_HS_TAG_SESSION + MF_HS_MAX_SESSIONS)

typedef enum { MF_HS_UDP = 1, MF_HS_ICMP = 2 } mf_hs_proto_t;

typedef struct {
  bool live;
  uint8_t proto;  /* mf_hs_proto_t */
  uint8_t family; /* 4 or 6: the app side's */
  uint32_t if_index;  /* the direct interface the flow was routed to */
  uint8_t app_addr[16]; /* IPv4 in the first 4 bytes */
  uint16_t app_port;    /* UDP port or ICMP identifier, network order */
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
  uint64_t udp_idle_ns, icmp_idle_ns;
  uint64_t next_expiry_ns;
  /* What the main loop asked hs-input to read: a tag it owns. */
  uint64_t polling;
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
 * the pool at most once a second). */
void mf_hoststack_tick(mf_hoststack_t *hs, uint64_t now);

/* Adds fd to the epoll set with tag, when one watches. */
int mf_hoststack_watch_fd(mf_hoststack_t *hs, int fd, uint64_t tag);

/* Bytes the host stack holds (pool, hash, free list). */
size_t mf_hoststack_memory(const mf_hoststack_t *hs);

/* Formats the session's app side, e.g. "10.0.0.1:5353" or "[fd00::1]#7". */
void mf_hoststack_format_app(const mf_hs_session_t *s, char *out, size_t size);

/* The nodes: hs-direct takes what ip4/ip6-lookup route to a direct
 * interface; hs-input reads the sockets (node ctx: the host stack). */
extern const mf_node_reg_t mf_hs_direct_node;
extern const mf_node_reg_t mf_hs_input_node;

#endif
