/* Inside the host stack: the error tables of its nodes and the protocol
 * halves they call. Not for other parts. */
#ifndef MF_HOSTSTACK_HS_INTERNAL_H
#define MF_HOSTSTACK_HS_INTERNAL_H

#include "core/graph_rt.h"
#include "hoststack/hoststack.h"

/* hs-direct: packets from the machine routed to a direct interface. */
#define HS_DIRECT_ERRORS(_)                                                   \
  _(NO_HOSTSTACK, "no-hoststack", "the host stack is not running")            \
  _(NOT_UDP_OR_ECHO, "not-udp-or-echo",                                       \
    "neither UDP nor ICMP echo: direct cannot serve it yet")                  \
  _(FRAGMENT, "fragment", "IPv4 fragment: not reassembled yet")               \
  _(BAD_UDP_LENGTH, "bad-udp-length",                                         \
    "UDP length below 8 bytes or beyond the packet")                          \
  _(BAD_UDP_CHECKSUM, "bad-udp-checksum", "UDP checksum is wrong or missing") \
  _(BAD_ICMP_LENGTH, "bad-icmp-length", "ICMP message shorter than 8 bytes")  \
  _(BAD_ICMP_CHECKSUM, "bad-icmp-checksum", "ICMP checksum is wrong")         \
  _(ICMP_NOT_ECHO, "icmp-not-echo", "ICMP other than echo request")           \
  _(SESSION_LIMIT, "session-limit", "session table full: flow refused")       \
  _(SOCKET_ERROR, "socket-error", "could not open the session's socket")      \
  _(SEND_ERROR, "send-error", "the kernel refused the datagram")              \
  _(UDP_SENT, "udp-sent", "UDP datagram sent from a session socket")          \
  _(ECHO_SENT, "echo-sent", "echo request sent from the raw ICMP socket")

enum {
#define _(sym, n, t) HS_DIRECT_ERROR_##sym,
  HS_DIRECT_ERRORS(_)
#undef _
  HS_DIRECT_N_ERROR
};

/* hs-input: datagrams read from the host stack's sockets. */
#define HS_INPUT_ERRORS(_)                                                    \
  _(NO_BUFFERS, "no-buffers", "buffer pool empty: read deferred")             \
  _(RECV_ERROR, "recv-error", "socket read failed")                           \
  _(TRUNCATED, "truncated", "datagram larger than a buffer")                  \
  _(FAMILY_MISMATCH, "family-mismatch",                                       \
    "reply from an address family the app cannot receive")                    \
  _(NOT_OURS, "not-ours", "echo reply for no session of ours")                \
  _(OWN_REPLY, "own-reply", "an echo reply we wrote to the TUN, read back")   \
  _(BAD_ICMP_REPLY, "bad-icmp-reply", "malformed or unexpected ICMP message")

enum {
#define _(sym, n, t) HS_INPUT_ERROR_##sym,
  HS_INPUT_ERRORS(_)
#undef _
  HS_INPUT_N_ERROR
};

/* Outbound halves: each takes an IP packet (l4_offset and F_IS_IP6 set by
 * ip4/ip6-input) and sends its payload from the session's socket. The
 * buffer's work is then done: they return the HS_DIRECT_ERROR_* under
 * which error-drop frees it, UDP_SENT or ECHO_SENT when the kernel took
 * the datagram (a notable event, as wg-input's "handshake"). */
int mf_hs_udp_send(mf_hoststack_t *hs, mf_buffer_t *b, uint64_t now);
int mf_hs_icmp_send(mf_hoststack_t *hs, mf_buffer_t *b, uint64_t now);

/* Inbound halves: turn a datagram read from a socket (at current_data)
 * into an IP packet for the app, in place, and set rx_if/tx_if. Return -1
 * on success, else the HS_INPUT_ERROR_* to drop it with. */
int mf_hs_udp_deliver(mf_hoststack_t *hs, uint32_t si, mf_buffer_t *b,
                      const mf_sockaddr_t *from, uint64_t now);
int mf_hs_icmp_deliver(mf_hoststack_t *hs, uint8_t family, mf_buffer_t *b,
                       const mf_sockaddr_t *from, uint64_t now);

/* Prepends an IPv4 or IPv6 header (TTL 64) to the payload of proto at
 * current_data. Returns the pseudo-header sum for the payload's
 * checksum (0 for ICMPv4, which has none). */
uint64_t mf_hs_push_ip(mf_buffer_t *b, uint8_t family, uint8_t proto,
                       const uint8_t *src, const uint8_t *dst);

/* Counts a packet handed from the direct interface to the app. */
void mf_hs_count_rx(mf_hoststack_t *hs, mf_hs_session_t *s, mf_buffer_t *b,
                    uint32_t payload, uint64_t now);

#endif
