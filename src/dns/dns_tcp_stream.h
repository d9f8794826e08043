/* The inbound side of one DNS-over-TCP connection: bytes as the socket
 * gives them, cut into messages by their two-octet length prefix (RFC 1035
 * 4.2.2). A client may send several queries back to back without waiting
 * (RFC 7766 6.2.1.1, pipelining), so one read may hold many messages, or a
 * part of one.
 *
 * Usage, once per readable event:
 *
 *   for (;;) {
 *     st = mf_dns_tcp_stream_next(&in, &msg, &len);
 *     if (st == MF_DNS_TCP_MESSAGE) { serve(msg, len); continue; }
 *     if (st == MF_DNS_TCP_BAD_LENGTH) { close; break; }
 *     room = mf_dns_tcp_stream_space(&in, &p);   NEED_MORE: read
 *     n = read(fd, p, room);
 *     if (n == 0) { truncated = mf_dns_tcp_stream_partial(&in); break; }
 *     mf_dns_tcp_stream_commit(&in, n);
 *   }
 *
 * Bounded: a message longer than MF_DNS_TCP_QUERY_MAX is a framing error
 * (a query is one question and an OPT record; nothing legitimate comes
 * near it), as is one shorter than a DNS header, the zero-length frame
 * included. Pure: no sockets, no allocation; the state is fixed-size. */
#ifndef MF_DNS_DNS_TCP_STREAM_H
#define MF_DNS_DNS_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_build.h"

#define MF_DNS_TCP_QUERY_MAX 4096 /* largest query accepted */
#define MF_DNS_TCP_READ_CHUNK 1024 /* bytes one read may bring */

typedef struct {
  uint16_t pos, len; /* raw[pos, len) is read and not yet framed */
  bool failed;       /* a bad prefix was seen: nothing more comes out */
  mf_dns_tcp_reasm_t reasm;
  uint8_t raw[MF_DNS_TCP_READ_CHUNK];
  uint8_t msg[2 + MF_DNS_TCP_QUERY_MAX];
} mf_dns_tcp_stream_t;

void mf_dns_tcp_stream_init(mf_dns_tcp_stream_t *st);

/* The next whole message (valid until the next call), NEED_MORE when the
 * bytes at hand end inside one (read more), or BAD_LENGTH for a prefix
 * out of bounds, after which the stream only says BAD_LENGTH. */
mf_dns_tcp_status_t mf_dns_tcp_stream_next(mf_dns_tcp_stream_t *st,
                                           const uint8_t **msg, size_t *len);

/* Where the next read goes and how much it may bring; 0 while bytes read
 * earlier are not framed yet (call mf_dns_tcp_stream_next first). */
size_t mf_dns_tcp_stream_space(mf_dns_tcp_stream_t *st, uint8_t **at);
/* n bytes were read into the space (n at most its size). */
void mf_dns_tcp_stream_commit(mf_dns_tcp_stream_t *st, size_t n);

/* At the end of the stream: true when it stopped inside a message (its
 * prefix or body), which RFC 7766 counts as the client's error. */
bool mf_dns_tcp_stream_partial(const mf_dns_tcp_stream_t *st);

#endif
