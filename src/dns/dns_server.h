/* The built-in DNS server (the manual's "Internal DNS server"): split DNS
 * over the graph.
 *
 * It listens on UDP port 53 of the stack's own addresses (IPv4 and IPv6);
 * ip4-local and ip6-local hand it those datagrams, and the answers of its
 * upstreams, through the node dns-input. A query is answered at once when
 * it can be (the Firefox canary use-application-dns.net, the cache, a
 * blocked name with dns.block: answer), else matched against the domain
 * sets of the App Routing policy: the set's interface picks the upstream
 * group (VPN DNS for tunnels and proxies, Direct DNS for direct, drop and
 * reject), names in no set follow the DNS fallback route (Direct DNS when
 * there is none).
 *
 * Forwarding is an ordinary packet: from the stack address of the
 * upstream's family, from a source port of the query's own (one per
 * pending query, MF_DNS_SERVER_SPORT_BASE + its slot), to the group's
 * upstream, handed to ip4-lookup / ip6-lookup so that the FIB carries it
 * (a route for the VPN DNS server's address to a WireGuard interface takes
 * it through the tunnel; else `direct`). The answer comes back to that
 * port and is matched by port, upstream address and port, and ID; it goes
 * to the app with the app's ID from the address the app asked. Every A and
 * AAAA of an answer for a name in a routed set becomes a host route to the
 * set's interface (dns_routes.h); when several sets hold one address the
 * set whose route comes first in the profile wins, and a route stays past
 * its TTL while a host-stack session still uses it. An AAAA (or HTTPS,
 * SVCB) query for a set whose interface has no IPv6 path (a WireGuard
 * interface without an IPv6 address) is answered at once with NODATA.
 *
 * Failover: no answer within try_timeout_ms, or a SERVFAIL, REFUSED,
 * NOTIMP or FORMERR, moves the query to the group's next upstream; when
 * none is left, or total_timeout_ms has passed, the app gets SERVFAIL. A
 * truncated answer is relayed with TC set: the app retries over TCP.
 *
 * DNS over TCP (RFC 1035 4.2.2, RFC 7766) on port 53 of the same
 * addresses: ip4-local / ip6-local hand such segments to hs-tcp, whose
 * session for a stack address has no kernel socket to a server but one end
 * of a socketpair; the other end comes here (mf_dns_server_tcp_accept). A
 * connection carries any number of queries, pipelined, each read from its
 * two-octet length prefix (dns_tcp_stream.h) and served by the very path
 * of a UDP query (canary, cache, block, domain sets, upstream group,
 * failover, host routes, log); answers go back framed, in the order they
 * are ready (RFC 7766 6.2.1.1: the client matches them by ID). The
 * upstream hop stays UDP: every forwarded query carries our own OPT
 * record (1232 bytes, RFC 6891), whether or not the client's had one, and
 * the relayed answer carries an OPT only when the client's query did, so
 * a TCP client is not held to 512 bytes. An upstream's UDP answer with
 * TC set, for a TCP client, makes the server ask the same upstream again
 * over TCP (RFC 7766 5; dns_tcp_up.h): from a kernel socket bound to the
 * TUN device and the TUN's own address, with a source port of a reserved
 * range, so that the FIB carries it as it would an app's connection
 * (WireGuard with its source NAT, or direct through the host stack); its
 * answer then takes the path of a UDP one. At most tcp_up_max at once,
 * within the query's own try timer; a retry that cannot be made or
 * fails relays the truncated answer as before (tcp-truncated). UDP
 * clients still get TC and retry over TCP themselves.
 * A connection idle for tcp_idle_ms with no query in flight is closed
 * (RFC 7766 6.2.3); a bad length prefix, or a stream that ends inside a
 * message, closes it as a framing error. At most tcp_max_conns are open;
 * one more is closed at once (the app sees a RST) and counted.
 *
 * Resources: pending queries, cache, host routes, query log and TCP
 * connections (with their buffers) are all bounded and allocated at create
 * time; what they refuse is counted.
 *
 * Threads: a server belongs to the worker whose graph runs dns-input; the
 * control commands read it from the same thread. */
#ifndef MF_DNS_DNS_SERVER_H
#define MF_DNS_DNS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "control/out.h"
#include "core/graph.h"
#include "core/vm.h"
#include "dns/dns_cache.h"
#include "dns/dns_routes.h"
#include "fib/prefix.h"
#include "routing/approute.h"

#define MF_DNS_SERVER_PORT 53
/* Source ports of forwarded queries: slot i of the pending table uses
 * BASE + i. Above Linux's default ephemeral range (32768-60999), so that
 * a tunnel's address translation can tell our answers from the machine's
 * own flows by port. */
#define MF_DNS_SERVER_SPORT_BASE 61440u
#define MF_DNS_SERVER_MAX_PENDING 4096u /* BASE + 4095 = 65535 */

/* Epoll tags of TCP client connections: connection i is TAG_TCP + i;
 * then the TCP connections to upstreams: connection j is TAG_TCP_UP + j. */
#define MF_DNS_TCP_MAX_CONNS 4096u
#define MF_DNS_TAG_TCP 0x40000u
#define MF_DNS_TCP_UP_MAX 32u
#define MF_DNS_TAG_TCP_UP (MF_DNS_TAG_TCP + MF_DNS_TCP_MAX_CONNS)
#define MF_DNS_OWNS_TAG(tag)                                                  \
  ((tag) >= MF_DNS_TAG_TCP && (tag) < MF_DNS_TAG_TCP + MF_DNS_TCP_MAX_CONNS)
#define MF_DNS_UP_OWNS_TAG(tag)                                               \
  ((tag) >= MF_DNS_TAG_TCP_UP && (tag) < MF_DNS_TAG_TCP_UP + MF_DNS_TCP_UP_MAX)

/* Source ports of the TCP retries to upstreams: each connection binds
 * the next free one of the range, round robin. They leave from the TUN's
 * own address through the TUN, as an app's flow would, so dns.hijack
 * would take them back to us: ip4/ip6-lookup leave TCP from these ports
 * alone. Above Linux's default ephemeral range (32768-60999), so no app's
 * connection is mistaken for ours unless it binds there on purpose. The
 * range is wider than MF_DNS_TCP_UP_MAX because a port we closed stays in
 * TIME-WAIT for a minute (RFC 9293 3.6.1). */
#define MF_DNS_TCP_UP_SPORT_BASE 61440u
#define MF_DNS_TCP_UP_PORTS 1024u
static inline bool mf_dns_tcp_up_port(uint16_t port)
{
  return port >= MF_DNS_TCP_UP_SPORT_BASE &&
         port < MF_DNS_TCP_UP_SPORT_BASE + MF_DNS_TCP_UP_PORTS;
}

/* True for a UDP port (host order) a forwarded query leaves from: its
 * answer is the stack's, wherever it comes in (ip-local, wg-input). */
static inline bool mf_dns_server_forward_port(uint16_t port)
{
  return port >= MF_DNS_SERVER_SPORT_BASE;
}

/* True for a UDP destination port (host order) that dns-input serves on a
 * stack address: 53, or a forwarded query's source port. */
static inline bool mf_dns_server_port(uint16_t port)
{
  return port == MF_DNS_SERVER_PORT || mf_dns_server_forward_port(port);
}

typedef struct {
  uint32_t max_pending;      /* queries upstream at once; <= MAX_PENDING */
  uint32_t try_timeout_ms;   /* per upstream before the next one */
  uint32_t total_timeout_ms; /* SERVFAIL to the app at the latest after */
  uint32_t cache_entries;    /* 0: no cache */
  uint64_t cache_bytes;
  uint32_t cache_max_ttl;    /* seconds; 0: no cap */
  uint32_t log_entries;      /* query log ring; at least 1 */
  uint32_t route_priority;   /* FIB priority of DNS host routes */
  uint32_t route_max_ttl;    /* seconds: caps an answer's TTL for a route */
  uint32_t block_ttl;        /* seconds: TTL of 0.0.0.0 / :: answers */
  uint32_t tcp_max_conns;    /* TCP clients at once; <= TCP_MAX_CONNS */
  uint32_t tcp_idle_ms;      /* a connection with nothing in flight */
  uint32_t tcp_up_max;       /* TCP retries to upstreams at once;
                                <= TCP_UP_MAX */
} mf_dns_server_config_t;

/* 1024 pending, 2 s per try, 5 s in all, 4096 cache entries in 4 MB
 * (TTL capped at a day), 512 log entries, priority 100 (as profile routes:
 * a profile route for the same /32 wins the tie), routes capped at a day,
 * blocked answers for 300 s, 256 TCP connections idle for at most 10 s,
 * 32 TCP retries to upstreams. */
void mf_dns_server_config_default(mf_dns_server_config_t *cfg);

typedef struct {
  uint64_t queries;       /* parsed queries from apps */
  uint64_t cache_answers; /* answered from the cache */
  uint64_t forwarded;     /* queries sent upstream (first tries) */
  uint64_t answered;      /* upstream answers relayed to apps */
  uint64_t truncated;     /* ... of which with TC set */
  uint64_t failovers;     /* moved to the next upstream */
  uint64_t timeouts;      /* tries that got no answer in time */
  uint64_t servfail;      /* SERVFAIL we made: every upstream failed */
  uint64_t blocked;       /* answered 0.0.0.0 / :: for a blocked set */
  uint64_t canary;        /* use-application-dns.net answered NXDOMAIN */
  uint64_t formerr;       /* FORMERR answers to malformed queries */
  uint64_t notimp;        /* opcodes other than QUERY */
  uint64_t no_upstream;   /* SERVFAIL: the group has no usable upstream */
  uint64_t no_buffer;     /* a timer's packet found the pool empty */
  uint64_t malformed;     /* queries that did not parse (by reason in
                             the node's errors) */
  uint64_t routes_skipped; /* addresses never routed (ours, unspecified,
                              multicast, loopback, our upstreams) */
  uint64_t no_ipv6;       /* AAAA, HTTPS, SVCB answered NODATA: the
                             set's interface has no IPv6 path */
  uint32_t pending;       /* queries upstream now */
  /* DNS over TCP */
  uint32_t tcp_open;           /* connections open now */
  uint64_t tcp_accepted;       /* connections taken */
  uint64_t tcp_refused;        /* beyond tcp_max_conns: closed at once */
  uint64_t tcp_queries;        /* messages read from connections */
  uint64_t tcp_answers;        /* answers written to connections */
  uint64_t tcp_framing_errors; /* bad length prefix, or cut by the close */
  uint64_t tcp_idle_closes;    /* closed after tcp_idle_ms of silence */
  uint64_t tcp_answers_lost;   /* answers for a connection already gone */
  uint64_t tcp_overflows;      /* clients that did not read: closed */
  uint64_t tcp_truncated;      /* upstream answers with TC set, relayed */
  /* TCP retries to upstreams, for a TCP client's truncated answer */
  uint32_t tcp_up_open;        /* connections open now */
  uint64_t tcp_up_retries;     /* retries begun */
  uint64_t tcp_up_answers;     /* ... that brought the answer */
  uint64_t tcp_up_failures;    /* ... that did not: refused, unreachable,
                                  reset, timed out */
  uint64_t tcp_up_full;        /* not begun: tcp_up_max were open */
} mf_dns_server_stats_t;

typedef struct mf_dns_server mf_dns_server_t;

/* A server for vm (whose FIB and interfaces exist, and whose graph holds
 * dns-input, ip4-lookup, ip6-lookup and tun-output) that answers on the
 * stack addresses (host bits as in the profile). Borrows ar, which must
 * outlive it; cfg NULL takes the defaults. The caller sets it as
 * dns-input's ctx. NULL, logged, when the graph lacks a node or memory is
 * short. */
mf_dns_server_t *mf_dns_server_create(mf_vm_t *vm, const mf_approute_t *ar,
                                      const mf_prefix_t *stack_addrs,
                                      uint32_t n_stack,
                                      const mf_dns_server_config_t *cfg,
                                      uint64_t now_ns);
/* Removes the server's host routes from the FIB and frees it; answers
 * still in flight are dropped as unmatched. NULL is fine. */
void mf_dns_server_destroy(mf_dns_server_t *s);

/* Timers: fails over or SERVFAILs queries whose try ran out, expires host
 * routes, sweeps the cache, closes idle TCP connections and serves those
 * whose queries waited for room. Packets it makes are injected into the graph:
 * run it (mf_graph_run) afterwards. Call once per main-loop iteration. */
void mf_dns_server_tick(mf_dns_server_t *s, uint64_t now_ns);
/* How long the main loop may sleep, at most max_ms, so that the next
 * failover is not late. NULL: max_ms. */
int mf_dns_server_timeout_ms(const mf_dns_server_t *s, uint64_t now_ns,
                             int max_ms);

/* TCP clients: fd is one end of a connected stream socket (the host
 * stack keeps the other) for a client at app:app_port (network order)
 * that connected to our address local, of family AF_INET or AF_INET6.
 * Takes fd in every case: 0 when the connection is served, -1 when it was
 * refused (table full, or s NULL) and fd closed. */
int mf_dns_server_tcp_accept(mf_dns_server_t *s, int fd, uint8_t family,
                             const uint8_t *app, uint16_t app_port,
                             const uint8_t *local);
/* Connections accepted from now on are added to epfd with MF_DNS_TAG_TCP
 * + slot, TCP retries to upstreams with MF_DNS_TAG_TCP_UP + slot; before
 * any is, they are served only through the on_event calls. */
void mf_dns_server_watch(mf_dns_server_t *s, int epfd);
/* The main loop found a tag of ours ready with these epoll events. Queries
 * it forwards are injected into the graph: run it afterwards. */
void mf_dns_server_on_event(mf_dns_server_t *s, uint64_t tag, uint32_t events);

/* TCP retries to upstreams go out through the TUN device tun_name from
 * its own (machine side) address of each family, the first of addrs
 * (host bits as in the profile). Without this call, or with an empty
 * name, a truncated answer reaches a TCP client truncated. */
void mf_dns_server_tcp_upstream_via(mf_dns_server_t *s, const char *tun_name,
                                    const mf_prefix_t *addrs, uint32_t n);
/* The same as on_event for an MF_DNS_UP_OWNS_TAG tag. Run the graph
 * afterwards. */
void mf_dns_server_on_upstream_event(mf_dns_server_t *s, uint64_t tag,
                                     uint32_t events);

void mf_dns_server_stats(const mf_dns_server_t *s, mf_dns_server_stats_t *st);
const mf_dns_routes_t *mf_dns_server_routes(const mf_dns_server_t *s);
/* The cache, or NULL when configured without one. */
const mf_dns_cache_t *mf_dns_server_cache(const mf_dns_server_t *s);

/* Control output (dns_server_show.c). Each returns 0. */
/* `show dns`: counters, pending, TCP clients, cache, host routes,
 * malformed by reason. */
int mf_dns_server_show_stats(const mf_dns_server_t *s, mf_out_t *out);
/* `show dns cache`: name, type, kind, TTL left, set, upstream, addresses. */
int mf_dns_server_show_cache(const mf_dns_server_t *s, uint64_t now_ns,
                             mf_out_t *out);
/* `show dns log`: the latest queries, oldest first. */
int mf_dns_server_show_log(const mf_dns_server_t *s, uint64_t now_ns,
                           mf_out_t *out);
/* `show dns routes`: the host routes held, with set and expiry. */
int mf_dns_server_show_routes(const mf_dns_server_t *s, uint64_t now_ns,
                              mf_out_t *out);
/* For `show ip fib`: the claims on a DNS host route, e.g. "dns
 * nflx.example (streaming) [also: cdn.example (ads)]", into buf. Returns
 * false (buf empty) when the server holds no route for addr. */
bool mf_dns_server_describe_route(const mf_dns_server_t *s, uint8_t family,
                                  const uint8_t *addr, char *buf, size_t size);
/* `dns flush [routes]`: empties the cache, and with routes also removes
 * the DNS host routes (flows to those addresses fall back to the CIDR
 * routes until the names are asked again). */
int mf_dns_server_flush(mf_dns_server_t *s, bool routes, mf_out_t *out);

/* What switching to a new policy did (dns_server_policy.c). */
typedef struct {
  uint32_t servfail;      /* queries upstream answered SERVFAIL */
  uint32_t cache_flushed; /* cached answers dropped */
  mf_dns_rehome_stats_t routes;
} mf_dns_policy_change_t;

/* Takes App Routing policy ar (borrowed, as by create) in place of the
 * current one, which nothing in the server references once this returns:
 * queries upstream are answered SERVFAIL, the cache is emptied, each host
 * route goes where its name is routed now or is removed, and the grace
 * and host-route limit take effect. Packets it makes are injected into
 * the graph: run it afterwards. Worker thread, between graph runs. */
void mf_dns_server_set_policy(mf_dns_server_t *s, const mf_approute_t *ar,
                              uint64_t now_ns, mf_dns_policy_change_t *ch);

/* The node; its ctx is the server (NULL: every packet is dropped as
 * no-server). */
extern const mf_node_reg_t mf_dns_input_node;

#endif
