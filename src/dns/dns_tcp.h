/* Inside the DNS server: its TCP client connections (RFC 7766). A table
 * of tcp_max_conns slots, each a stream socket handed over by the host
 * stack, referred to by slot and generation: a query upstream remembers
 * both, so that an answer for a connection closed meanwhile (and its slot
 * reused) is dropped and counted, never written to another client.
 *
 * Per connection: the inbound stream (dns_tcp_stream.h), at most
 * DNS_TCP_MAX_INFLIGHT queries upstream, and an output buffer of
 * DNS_TCP_OUT_CAP for what the socket did not take at once. While either
 * is full, nothing more is read (backpressure on the client, through the
 * host stack's TCP window); the bytes already read wait, and the tick
 * serves them once there is room again. A client whose pending answers
 * overflow the buffer is closed.
 *
 * Not for other parts; the server (dns_server.c, dns_input.c) calls it.
 * Threads: the server's. */
#ifndef MF_DNS_DNS_TCP_H
#define MF_DNS_DNS_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "dns/dns_tcp_stream.h"

#define DNS_TCP_MAX_INFLIGHT 32
#define DNS_TCP_OUT_CAP 16384u

typedef struct {
  int fd;           /* -1: free */
  uint32_t gen;     /* bumped at each accept */
  uint32_t next_free;
  uint8_t family;   /* AF_INET, AF_INET6 */
  uint8_t flags;    /* DNS_TCP_F_* (dns_tcp.c) */
  uint16_t inflight;
  uint16_t app_port; /* network order */
  uint32_t ep_events;
  uint32_t out_len;
  uint64_t last_ns; /* last query or answer */
  uint8_t app_addr[16], local_addr[16];
  mf_dns_tcp_stream_t in;
} dns_tcp_conn_t;

typedef struct {
  dns_tcp_conn_t *conns;
  uint8_t *out; /* DNS_TCP_OUT_CAP per slot */
  uint32_t n, free_head, n_open;
  int epfd;
  bool resume_due;       /* a connection has read bytes waiting for room */
  uint64_t next_sweep_ns;
} dns_tcp_table_t;

struct mf_dns_server;

/* 0, or -1 when memory is short. max 0: every connection is refused. */
int dns_tcp_create(dns_tcp_table_t *t, uint32_t max);
/* Closes every connection and frees the table. */
void dns_tcp_destroy(dns_tcp_table_t *t);

/* Writes msg framed to connection (conn, gen); false, counted, when the
 * connection is gone or had to be closed. */
bool dns_tcp_send(struct mf_dns_server *s, uint32_t conn, uint32_t gen,
                  const uint8_t *msg, size_t len);
/* A query of (conn, gen) went upstream / is over (answered or not). */
void dns_tcp_query_begun(struct mf_dns_server *s, uint32_t conn);
void dns_tcp_query_ended(struct mf_dns_server *s, uint32_t conn, uint32_t gen);

/* Idle connections out, waiting ones served; from the server's tick. */
void dns_tcp_tick(struct mf_dns_server *s, uint64_t now_ns);

#endif
