/* Building DNS messages: the server's responses to a parsed query (with
 * addresses, NXDOMAIN, NODATA or an error code), the queries it sends
 * upstream, the fixes it applies to answers it relays (ID, OPT, the UDP
 * size limit), and the 2-byte length framing of DNS over TCP.
 *
 * Every builder writes into a caller's buffer of cap bytes and returns
 * the message length, or 0 when it does not fit or the input cannot be
 * answered; nothing allocates. Responses are built whole; the caller then
 * fits them to the transport with mf_dns_truncate (UDP) or frames them
 * with mf_dns_tcp_frame (TCP).
 *
 * Responses to a query q (a parsed message with one question) share the
 * header rules of RFC 1035 4.1.1: ID, opcode, RD and CD are copied from
 * q; QR and RA are set; AA is clear (we answer from elsewhere, not as the
 * zone's authority); the question is copied with its case. When q carried
 * an OPT record the response carries one too (RFC 6891 7) advertising
 * MF_DNS_EDNS_UDP_SIZE, with q's DO bit echoed (RFC 3225 3).
 *
 * How the pieces fit on the server's path for one query q over UDP:
 *
 *   parse fails          -> mf_dns_build_formerr (or drop), send
 *   cache hit            -> mf_dns_cache_lookup wrote it; mf_dns_add_opt
 *                           when q->edns; mf_dns_truncate to
 *                           mf_dns_udp_limit(q, ...); send
 *   blocked name         -> mf_dns_build_nxdomain / _nodata / _addrs
 *                           (0.0.0.0, ::), truncate, send
 *   otherwise            -> mf_dns_build_query(&q->qname, ..., our ID)
 *                           to the set's upstream
 *   upstream answer a    -> mf_dns_parse; same ID and question as sent;
 *                           mf_dns_answer_extract for the host routes;
 *                           mf_dns_cache_insert; for the client,
 *                           mf_dns_build_copy(a, an + ns) drops the
 *                           upstream's OPT and additional records, then
 *                           mf_dns_set_id(q->id), add_opt, truncate, send
 *
 * Over TCP the same, framed with mf_dns_tcp_frame instead of truncated. */
#ifndef MF_DNS_DNS_BUILD_H
#define MF_DNS_DNS_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_name.h"
#include "dns/dns_wire.h"

/* The UDP payload we advertise and accept: 1232 avoids IP fragmentation
 * on common paths (the 2020 DNS flag day's recommendation). */
#define MF_DNS_EDNS_UDP_SIZE 1232
#define MF_DNS_OPT_LEN 11 /* an OPT record without options */

/* A response with rcode and no records: SERVFAIL, REFUSED, NOTIMP,
 * FORMERR, or NOERROR for an empty answer. An rcode above 15 (BADVERS)
 * goes in the OPT record and needs q->edns. */
size_t mf_dns_build_rcode(const mf_dns_msg_t *q, uint16_t rcode, uint8_t *out,
                          size_t cap);

/* NXDOMAIN and NODATA (RFC 2308 2.1, 2.2) for names we answer ourselves
 * (blocked sets). With neg_ttl > 0 the authority section holds a SOA
 * owned by the question's name, TTL and MINIMUM neg_ttl, so clients may
 * cache the refusal that long (RFC 2308 3); with 0 there is none and they
 * should not cache it. */
size_t mf_dns_build_nxdomain(const mf_dns_msg_t *q, uint32_t neg_ttl,
                             uint8_t *out, size_t cap);
size_t mf_dns_build_nodata(const mf_dns_msg_t *q, uint32_t neg_ttl,
                           uint8_t *out, size_t cap);

/* A NOERROR answer owned by the question's name with those of the n
 * addresses that fit the question's type (IPv4 for A, IPv6 for AAAA, both
 * for ANY), all with ttl. When none fits it is a NODATA without SOA.
 * Blocking by address passes 0.0.0.0 and ::. */
size_t mf_dns_build_addrs(const mf_dns_msg_t *q, const mf_dns_addr_t *addrs,
                          size_t n, uint32_t ttl, uint8_t *out, size_t cap);

/* A FORMERR answer to bytes that did not parse, echoing their ID, opcode
 * and RD, with no question. 0 when there are fewer than 12 bytes (nothing
 * to answer) or they already are a response (never answer those: two
 * servers could bounce errors forever). */
size_t mf_dns_build_formerr(const uint8_t *query, size_t len, uint8_t *out,
                            size_t cap);

/* A query for upstreams: one question, RD set, the given ID. With
 * edns_udp_size > 0 an OPT record advertises it, with DO when dnssec_ok. */
size_t mf_dns_build_query(const mf_dns_name_t *name, uint16_t qtype,
                          uint16_t qclass, uint16_t id, uint16_t edns_udp_size,
                          bool dnssec_ok, uint8_t *out, size_t cap);

/* Rewrites the ID of a message in place (an upstream answer goes back
 * under the client's ID). Nothing when len < 2. */
static inline void mf_dns_set_id(uint8_t *msg, size_t len, uint16_t id)
{
  if (len >= 2)
    mf_dns_put16(msg, id);
}

/* Appends an OPT record without options to a message of len bytes (which
 * must not have one) and counts it in ARCOUNT: for an answer from the
 * cache, which is stored without one, to a client that sent EDNS. Returns
 * the new length or 0. */
size_t mf_dns_add_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size,
                      bool dnssec_ok);

/* A canonical copy of the parsed message m (from msg, len bytes), for
 * the cache and for relaying: its header (ID and flags as they were) and
 * question and its first n records (counts set to what is kept), every
 * name decompressed and written again with our own compression. Pointers in the copy then only target the starts of
 * names written before them, never a header field or a TTL that a cache
 * rewrites later, whatever the original pointed at. Names in the rdata of
 * the RFC 1035 types that hold them (NS, MD, MF, CNAME, SOA, MB, MG, MR,
 * PTR, MINFO, MX) are re-encoded the same way; other rdata is copied as it
 * is, since RFC 3597 4 forbids compression there. An owner name may come
 * out in the case of an earlier equal name (names compare without case).
 * Returns the length, or 0 when it does not fit or such a name does not
 * read. */
size_t mf_dns_build_copy(const uint8_t *msg, size_t len, const mf_dns_msg_t *m,
                         unsigned n, uint8_t *out, size_t cap);

/* The largest UDP response q's sender accepts (RFC 1035 4.2.1, RFC 6891
 * 6.2.3-6.2.5): 512 without EDNS, else its advertised size (at least
 * 512), but never more than ours. */
size_t mf_dns_udp_limit(const mf_dns_msg_t *q, size_t ours);

/* Fits a message to limit bytes in place by dropping whole records from
 * the end, keeping the OPT record (moved after the kept records), and sets
 * TC when an answer or authority record had to go (RFC 2181 9: dropping
 * only additional records does not need it). Returns the new length
 * (len itself when it already fits), or 0 when the message does not parse
 * or not even its header, question and OPT fit. */
size_t mf_dns_truncate(uint8_t *msg, size_t len, size_t limit);

/* DNS over TCP (RFC 1035 4.2.2, RFC 7766 8): each message is preceded by
 * its length in two octets. Writes prefix and message; 2 + len or 0. out
 * may be msg itself (the message moves up by two). */
size_t mf_dns_tcp_frame(const uint8_t *msg, size_t len, uint8_t *out,
                        size_t cap);

/* Cuts a TCP byte stream back into messages. The caller lends a buffer
 * of cap bytes, which bounds a message at cap - 2 octets; one reassembler
 * per connection, used by one thread. */
typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t have;  /* bytes of prefix and message gathered */
  bool ready;   /* buf holds a whole message handed out last call */
} mf_dns_tcp_reasm_t;

typedef enum {
  MF_DNS_TCP_NEED_MORE, /* all of data taken; no message complete yet */
  MF_DNS_TCP_MESSAGE,   /* a message is complete; more data may remain */
  MF_DNS_TCP_BAD_LENGTH, /* prefix below 12 or above cap - 2: close the
                            connection, the stream cannot resynchronise */
} mf_dns_tcp_status_t;

/* cap must be at least 2 + MF_DNS_HEADER_LEN. */
void mf_dns_tcp_reasm_init(mf_dns_tcp_reasm_t *r, uint8_t *buf, size_t cap);

/* Takes bytes from data[0, len): *used gets how many. On
 * MF_DNS_TCP_MESSAGE, *msg and *msg_len give the message, valid until the
 * next call; call again with the rest of data (which may be empty) until
 * NEED_MORE. */
mf_dns_tcp_status_t mf_dns_tcp_reasm_feed(mf_dns_tcp_reasm_t *r,
                                          const uint8_t *data, size_t len,
                                          size_t *used, const uint8_t **msg,
                                          size_t *msg_len);

#endif
