/* Inside the host stack: the error tables of its nodes and the protocol
 * halves they call. Not for other parts. */
#ifndef MF_HOSTSTACK_HS_INTERNAL_H
#define MF_HOSTSTACK_HS_INTERNAL_H

#include "core/graph_rt.h"
#include "hoststack/hoststack.h"
#include "hoststack/tcp.h"

/* hs-direct: packets from the machine routed to a direct interface. */
#define HS_DIRECT_ERRORS(_)                                                   \
  _(NO_HOSTSTACK, "no-hoststack", "the host stack is not running")            \
  _(NOT_SERVED, "not-served",                                                 \
    "neither TCP, UDP nor ICMP echo: direct cannot carry it")                 \
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

/* hs-tcp: TCP segments from the machine routed to a direct interface.
 * Its table lists these, then the engine's verdicts (MF_TCP_VERDICTS). */
#define HS_TCP_ERRORS(_)                                                      \
  _(NO_HOSTSTACK, "no-hoststack", "the host stack is not running")            \
  _(FRAGMENT, "fragment", "IPv4 fragment: not reassembled yet")               \
  _(BAD_TCP_HEADER, "bad-tcp-header",                                         \
    "TCP header shorter than 20 bytes or data offset beyond the packet")      \
  _(BAD_TCP_CHECKSUM, "bad-tcp-checksum", "TCP checksum is wrong")            \
  _(NO_SESSION, "tcp-no-session",                                             \
    "segment for no connection of ours: answered with a RST")                 \
  _(SESSION_LIMIT, "session-limit",                                           \
    "session table full: connection refused with a RST")                      \
  _(SOCKET_ERROR, "socket-error", "could not open the upstream socket")       \
  _(UPSTREAM_UNREACHABLE, "upstream-unreachable",                             \
    "the upstream connect failed at once: RST to the app")

enum {
#define _(sym, n, t) HS_TCP_ERROR_##sym,
  HS_TCP_ERRORS(_)
#undef _
#define _(sym, n, t) HS_TCP_VERDICT_##sym,
  MF_TCP_VERDICTS(_)
#undef _
  HS_TCP_N_ERROR
};

/* Where TCP segments for the app go: collected here and handed on in one
 * enqueue, to the arc `next` of `node`, or injected into tun-output when
 * node is NULL (timers). */
typedef struct {
  mf_hoststack_t *hs;
  mf_vm_t *vm;
  mf_node_rt_t *node;
  uint16_t next;
  uint32_t si;       /* the session being served */
  uint32_t budget;   /* segments it may still send in this burst */
  bool starved;      /* the budget or the buffer pool ran out */
  uint32_t cur;      /* buffer lent to the engine, or MF_BUFFER_INVALID */
  uint32_t n_out;
  uint32_t out[MF_FRAME_SIZE];
  /* hs-tcp: sessions whose new bytes from the app wait for the writev at
   * the end of the vector. */
  uint32_t n_touched;
  uint32_t touched[MF_FRAME_SIZE];
} mf_hs_tcp_out_t;

void mf_hs_tcp_out_init(mf_hs_tcp_out_t *o, mf_hoststack_t *hs,
                        mf_node_rt_t *node, uint16_t next);
/* Hands what was collected to the graph. */
void mf_hs_tcp_out_flush(mf_hs_tcp_out_t *o);

/* hs-tcp's work on one segment from the app (l4_offset, F_IS_IP6 and
 * tx_if set, checksum not yet checked): returns the HS_TCP_* code under
 * which error-drop frees the buffer. */
uint32_t mf_hs_tcp_segment(mf_hoststack_t *hs, mf_buffer_t *b,
                           mf_hs_tcp_out_t *o);
/* After a vector: writes what the app sent to the upstream sockets. */
void mf_hs_tcp_flush_touched(mf_hoststack_t *hs, mf_hs_tcp_out_t *o);
/* hs-input's part for a TCP session's socket (events in hs->polling_events). */
void mf_hs_tcp_on_socket(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o);
/* From the session table: the session is ending; release its TCP state. */
void mf_hs_tcp_forget(mf_hoststack_t *hs, uint32_t si);
/* From the idle scan: reset both sides and end the session. */
void mf_hs_tcp_idle_out(mf_hoststack_t *hs, uint32_t si);
/* From the tick: timers due and output left pending. */
void mf_hs_tcp_run_timers(mf_hoststack_t *hs, uint64_t now);

/* Outbound halves: each takes an IP packet (l4_offset and F_IS_IP6 set by
 * ip4/ip6-input) and sends its payload from the session's socket. The
 * buffer's work is then done: they return the HS_DIRECT_ERROR_* under
 * which error-drop frees it, UDP_SENT or ECHO_SENT when the kernel took
 * the datagram (a notable event, as wg-input's "handshake"). */
int mf_hs_udp_send(mf_hoststack_t *hs, mf_node_rt_t *node, mf_buffer_t *b,
                   uint64_t now);
int mf_hs_icmp_send(mf_hoststack_t *hs, mf_buffer_t *b, uint64_t now);

/* UDP's outbound batch (udp_batch.c). mf_hs_udp_send queues a checked
 * datagram (its payload stays in b until hs-direct returns) and counts it
 * UDP_SENT; mf_hs_udp_flush sends what is queued, one sendmmsg per run of
 * one socket's datagrams, and recounts the ones the kernel refused as
 * SEND_ERROR. hs-direct flushes before it hands its frame on. */
bool mf_hs_udp_batch_init(mf_hoststack_t *hs);
void mf_hs_udp_batch_free(mf_hoststack_t *hs);
int mf_hs_udp_queue(mf_hoststack_t *hs, mf_node_rt_t *node, uint32_t si,
                    mf_buffer_t *b, void *payload, uint32_t len,
                    const mf_sockaddr_t *to, socklen_t to_len);
void mf_hs_udp_flush(mf_hoststack_t *hs, mf_node_rt_t *node);

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
