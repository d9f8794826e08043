/* Inside the DNS server: its state, the node's error table and the helpers
 * dns_server.c lends to the node (dns_input.c) and to the control output
 * (dns_server_show.c). Not for other parts. */
#ifndef MF_DNS_DNS_SERVER_INTERNAL_H
#define MF_DNS_DNS_SERVER_INTERNAL_H

#include "core/graph_rt.h"
#include "core/timer_wheel.h"
#include "dns/dns_build.h"
#include "dns/dns_server.h"
#include "dns/dns_tcp.h"
#include "dns/dns_tcp_up.h"
#include "dns/dns_wire.h"

/* dns-input's own drop reasons; the reasons a query does not parse follow
 * them (MF_DNS_ERRORS, in dns_wire.h), so `show errors` names each. */
#define DNS_INPUT_ERRORS(_)                                                   \
  _(NO_SERVER, "no-server", "the DNS server is not running")                  \
  _(BAD_UDP_LENGTH, "bad-udp-length",                                         \
    "UDP length below 8 bytes or beyond the packet")                          \
  _(BAD_UDP_CHECKSUM, "bad-udp-checksum", "UDP checksum is wrong or missing") \
  _(NOT_FROM_TUN, "not-from-tun",                                             \
    "query that did not come from the machine: no open resolver")             \
  _(NOT_A_QUERY, "not-a-query", "a response sent to port 53: never answered") \
  _(PENDING_FULL, "pending-full",                                             \
    "too many queries upstream at once: dropped, the app retries")            \
  _(UNMATCHED_ANSWER, "unmatched-answer",                                     \
    "answer for no pending query: late, or wrong address, port or ID")        \
  _(BAD_ANSWER, "bad-answer",                                                 \
    "upstream answer that does not parse: the query keeps waiting")           \
  _(ANSWER_MISMATCH, "answer-mismatch",                                       \
    "upstream answer to another question than the one asked")                 \
  _(NO_ROOM, "no-room", "a message that does not fit a packet")             \
  _(TO_TCP, "to-tcp",                                                         \
    "upstream answer written to a TCP client's connection (not a drop)")     \
  _(TO_TCP_UPSTREAM, "to-tcp-upstream",                                       \
    "truncated upstream answer: asked again over TCP (not a drop)")

enum {
#define _(sym, n, t) DNS_INPUT_ERROR_##sym,
  DNS_INPUT_ERRORS(_)
#undef _
  DNS_INPUT_N_OWN_ERROR
};
/* Node error of a malformed query: MF_DNS_ERR_* starts at 1. */
#define DNS_INPUT_MALFORMED(e) (DNS_INPUT_N_OWN_ERROR + (uint32_t)(e) - 1u)
#define DNS_INPUT_N_ERROR (DNS_INPUT_N_OWN_ERROR + MF_DNS_N_ERR - 1u)

enum {
  DNS_INPUT_NEXT_DROP,
  DNS_INPUT_NEXT_TUN_OUTPUT, /* answers to the app */
  DNS_INPUT_NEXT_IP4_LOOKUP, /* queries to upstreams */
  DNS_INPUT_NEXT_IP6_LOOKUP,
  DNS_INPUT_N_NEXT
};

#define DNS_NO_TAG 0xffffu /* cache and log: no set, no upstream */
#define DNS_NONE UINT32_MAX

/* Where a name goes: decided once per query from the policy. */
typedef struct {
  uint32_t set;   /* domain set, or DNS_NONE */
  uint32_t iface; /* vm interface the name routes to, or DNS_NONE */
  uint8_t group;  /* mf_dns_group_t whose upstreams answer */
  bool routed;    /* install host routes to iface */
  bool blocked;   /* the set goes to drop or reject */
  bool no_ipv6;   /* the set's interface has no IPv6 path: AAAA is empty */
  uint16_t rank;  /* the set's claim rank for host routes (approute.h) */
} dns_policy_t;

/* Who asked, and what: a UDP datagram's sender (conn DNS_NONE), or a TCP
 * connection (conn, gen) with its addresses. Copied out of the packet,
 * which is rewritten in place while they are still needed. */
typedef struct {
  uint8_t family;
  uint8_t src[16], dst[16];
  uint16_t sport, dport; /* network order */
  uint32_t conn, gen;
  const uint8_t *payload;
  size_t len;
} dns_request_t;

/* A query upstream. Slot i forwards from port SPORT_BASE + i. */
typedef struct {
  uint8_t family;    /* the app's: AF_INET, AF_INET6; 0 when free */
  uint8_t up_family; /* the upstream being tried */
  uint8_t try_index; /* index in the group's upstream list */
  bool edns, edns_do;
  uint16_t edns_udp_size;
  uint16_t app_port;  /* network order */
  uint16_t app_id;
  uint16_t app_flags; /* for RD and CD */
  uint16_t up_id;
  uint16_t qtype, qclass;
  uint32_t next_free;
  uint32_t conn, gen; /* the TCP client's connection; conn DNS_NONE: UDP */
  uint32_t tcp_up;    /* the TCP retry to the upstream, or DNS_NONE */
  dns_policy_t policy;
  uint8_t app_addr[16];
  uint8_t local_addr[16]; /* the stack address the app asked */
  uint64_t start_ns;
  mf_dns_name_t qname;
} dns_pending_t;

/* What became of a query, for the log. */
typedef enum {
  DNS_VIA_UPSTREAM = 0,
  DNS_VIA_CACHE,
  DNS_VIA_BLOCK,
  DNS_VIA_CANARY,
  DNS_VIA_TIMEOUT,  /* every upstream silent: SERVFAIL */
  DNS_VIA_NO_UPSTREAM,
  DNS_VIA_LOCAL,    /* FORMERR, NOTIMP */
  DNS_VIA_NO_IPV6,  /* AAAA for a set without an IPv6 path: NODATA */
} dns_via_t;

typedef struct {
  uint64_t time_ns;
  uint32_t latency_us;
  uint32_t set;   /* DNS_NONE: none */
  uint32_t iface; /* vm interface, DNS_NONE: none */
  uint16_t qtype;
  uint16_t upstream; /* tag, DNS_NO_TAG: none */
  uint16_t rcode;
  uint16_t n_addrs;
  uint8_t via;       /* dns_via_t */
  uint8_t tc;
  mf_dns_name_t name;
} dns_log_entry_t;

struct mf_dns_server {
  mf_vm_t *vm;
  const mf_approute_t *ar;
  mf_dns_server_config_t cfg;
  uint32_t node_index, ip4_lookup, ip6_lookup, tun_output;
  uint32_t grace_s;

  bool has4, has6; /* the first stack address of each family forwards */
  uint8_t stack4[4], stack6[16];
  mf_prefix_t stack[8]; /* every stack address: never a host route */
  uint32_t n_stack;

  dns_pending_t *pending;
  uint32_t free_head;
  mf_timer_wheel_t *wheel; /* one "try-timeout" per pending slot */

  mf_dns_cache_t *cache;
  mf_dns_routes_t *routes;

  dns_log_entry_t *log;
  uint32_t log_next, log_count;

  /* Query IDs come from the kernel's CSPRNG, a block at a time: a guessed
   * ID is half of what an off-path spoofer needs (RFC 5452 9.2). */
  uint16_t ids[128];
  uint32_t ids_left;
  uint64_t id_fallback;

  mf_dns_server_stats_t st;
  dns_tcp_table_t tcp;
  dns_tcp_up_table_t tcp_up;

  /* Scratch of one message at a time; too big for a worker's stack. */
  mf_dns_msg_t msg;  /* the message being handled */
  mf_dns_msg_t aux;  /* a query rebuilt from a pending slot, or a cached
                        answer read back for its addresses */
  mf_dns_answer_t answer;
  uint8_t out[MF_DNS_MSG_MAX];
};

/* ---- dns_server.c, for the node ---- */

/* The upstream list of a group and its length. */
const mf_dns_upstream_t *dns_server_upstreams(const mf_dns_server_t *s,
                                              uint8_t group, uint32_t *n);
/* Tag of upstream i of a group, for the cache and the log. */
static inline uint16_t dns_upstream_tag(uint8_t group, uint32_t i)
{
  return (uint16_t)(group * MF_APPROUTE_MAX_UPSTREAMS + i);
}

void dns_server_policy(const mf_dns_server_t *s, const mf_dns_name_t *qname,
                       dns_policy_t *pol);
/* The same for a set already matched (MF_APPROUTE_NONE: none), e.g. the
 * set a cached answer was stored with: a cache hit needs no second match
 * (a reload, which renumbers sets, empties the cache). */
void dns_server_policy_for_set(const mf_dns_server_t *s, uint32_t set,
                               dns_policy_t *pol);

/* A free slot, or DNS_NONE; dns_server_release gives it back. */
uint32_t dns_server_acquire(mf_dns_server_t *s);
void dns_server_release(mf_dns_server_t *s, uint32_t slot);

/* Picks the first usable upstream of p's group from index `from` on,
 * builds the query for it into b (a new ID, p's source port) and arms the
 * slot's timer. Returns the lookup arc, or DNS_NONE when none is left. */
uint32_t dns_server_send_try(mf_dns_server_t *s, uint32_t slot,
                             uint32_t from, mf_buffer_t *b, uint64_t now_ns);

/* Arms the try timer of slot: try_timeout_ms from now, within the
 * query's total_timeout_ms. */
void dns_server_arm_try(mf_dns_server_t *s, uint32_t slot, uint64_t now_ns);

/* Rebuilds a header-and-question query from p into s->aux, for answers we
 * make ourselves after the app's packet is gone. */
const mf_dns_msg_t *dns_server_pending_query(mf_dns_server_t *s,
                                             const dns_pending_t *p);

/* Writes an IP + UDP packet with payload s->out[0, len) into b (which it
 * resets), checksums computed. false when it does not fit. */
bool dns_server_emit(mf_buffer_t *b, uint8_t family, const uint8_t *src,
                     uint16_t sport, const uint8_t *dst, uint16_t dport,
                     const uint8_t *payload, size_t len);
/* The same toward the UDP app of slot p: from p's local address, port
 * 53. false for a TCP client's slot (dns_tcp_send writes those). */
bool dns_server_emit_to_app(const mf_dns_server_t *s, const dns_pending_t *p,
                            mf_buffer_t *b, size_t len);

/* Installs host routes for the addresses in s->answer when p routes, each
 * for its TTL plus grace (capped), as claims of pol's set for qname. */
void dns_server_install_routes(mf_dns_server_t *s, const dns_policy_t *pol,
                               const mf_dns_name_t *qname, uint64_t now_ns);

/* An AAAA (or HTTPS, SVCB) query q for a name whose set's interface has
 * no IPv6 path:
 * writes the NODATA answer into s->out (its length in *len), counts and
 * logs it, and returns true. false for any other query. */
bool dns_server_answer_no_ipv6(mf_dns_server_t *s, const mf_dns_msg_t *q,
                               uint64_t now_ns, size_t *len);

void dns_server_log(mf_dns_server_t *s, const mf_dns_name_t *name,
                    uint16_t qtype, const dns_policy_t *pol, uint16_t upstream,
                    uint16_t rcode, uint16_t n_addrs, dns_via_t via, bool tc,
                    uint64_t start_ns, uint64_t now_ns);

/* Bumps dns-input's counter `code` (a DNS_INPUT_ERROR_*) outside the
 * node, for what happens on a TCP connection. */
void dns_server_count(mf_dns_server_t *s, uint32_t code);

/* dns_input.c: serves one query read from TCP connection conn (its
 * generation now), as a UDP query would be served. */
void dns_input_tcp_query(mf_dns_server_t *s, uint32_t conn,
                         const uint8_t *msg, size_t len);

/* dns_input.c: the answer msg[0, len) that TCP retry brought for pending
 * slot `slot` (already detached from it), served as a UDP answer would be
 * but never retried again; or, msg NULL, the retry failed and the kept
 * truncated answer kept[0, kept_len) is relayed as it would have been. */
void dns_input_tcp_up_done(mf_dns_server_t *s, uint32_t slot,
                           const uint8_t *msg, size_t len,
                           const uint8_t *kept, size_t kept_len);

/* The largest UDP answer the app of p accepts (RFC 6891 6.2.5). */
static inline size_t dns_app_limit(bool edns, uint16_t udp_size)
{
  size_t lim = edns ? udp_size : MF_DNS_UDP_CLASSIC;
  if (lim < MF_DNS_UDP_CLASSIC)
    lim = MF_DNS_UDP_CLASSIC;
  return lim > MF_DNS_EDNS_UDP_SIZE ? MF_DNS_EDNS_UDP_SIZE : lim;
}

/* The largest answer the client of p accepts: over TCP, any message. */
static inline size_t dns_pending_limit(const dns_pending_t *p)
{
  return p->conn != DNS_NONE ? MF_DNS_MSG_MAX
                             : dns_app_limit(p->edns, p->edns_udp_size);
}

const char *dns_via_name(dns_via_t via);

/* Keeps a route to direct past its TTL while a host-stack session uses its
 * address: set on every routes table the server makes (create, reload). */
void dns_server_routes_in_use(void *ctx, const mf_dns_route_probe_t *probes,
                              uint32_t n, bool *in_use, uint64_t now_ns);

#endif
