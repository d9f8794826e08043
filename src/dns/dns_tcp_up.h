/* Inside the DNS server: asking an upstream again over TCP when its UDP
 * answer came back truncated and the client asked over TCP (RFC 7766 5:
 * TC means "retry over TCP"; a TCP client cannot be told to do so).
 *
 * Each retry is a kernel TCP socket that goes out through our own TUN, as
 * an app's connection would: no fwmark, bound to the TUN device
 * (SO_BINDTODEVICE: it enters the TUN whether or not auto_route routes
 * there) and to the TUN's own address, from a port of the reserved range
 * (MF_DNS_TCP_UP_SPORT_BASE). Its segments then meet the FIB exactly as
 * the machine's would: through a WireGuard interface with its source NAT,
 * or `direct` through the host stack. The framed query carries the ID of
 * the UDP try; the framed answer (up to 65535 bytes, read in pieces) goes
 * on the path of a UDP answer (dns_input.c).
 *
 * At most max connections at once; beyond, or when the connection cannot
 * be made (no TUN address of the family, refused, unreachable), the
 * client gets the truncated answer as before, and it is counted. The
 * pending query's own try timer bounds a retry: its expiry closes the
 * socket (dns_server.c).
 *
 * Not for other parts. Threads: the server's. */
#ifndef MF_DNS_DNS_TCP_UP_H
#define MF_DNS_DNS_TCP_UP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_build.h"
#include "dns/dns_wire.h"

#define DNS_TCP_UP_QUERY_MAX 512 /* header, one question, our OPT */
/* The truncated UDP answer, kept to be relayed if the retry fails; a
 * bigger one is relayed at once, without a retry. */
#define DNS_TCP_UP_KEEP_MAX 4096
#define DNS_TCP_UP_IN_CAP (2 + MF_DNS_MSG_MAX)

typedef enum {
  DNS_TCP_UP_FREE = 0,
  DNS_TCP_UP_CONNECTING,
  DNS_TCP_UP_WRITING,
  DNS_TCP_UP_READING,
} dns_tcp_up_state_t;

typedef struct {
  int fd;             /* -1: free */
  uint32_t slot;      /* the pending query it retries */
  uint32_t next_free;
  uint8_t state;      /* dns_tcp_up_state_t */
  uint16_t q_len, q_sent; /* the framed query, and how much went */
  uint16_t kept_len;  /* the truncated UDP answer */
  uint32_t ep_events;
  uint8_t query[2 + DNS_TCP_UP_QUERY_MAX];
  mf_dns_tcp_reasm_t in;
} dns_tcp_up_conn_t;

typedef struct {
  dns_tcp_up_conn_t *conns;
  uint8_t *mem; /* per connection: the answer being read, the kept answer */
  uint32_t n, free_head, n_open;
  uint32_t next_port; /* offset in the reserved range */
  bool has4, has6; /* the TUN's own addresses, to bind to */
  uint8_t src4[4], src6[16];
  char dev[16]; /* the TUN device; empty: no retries */
} dns_tcp_up_table_t;

struct mf_dns_server;

/* 0, or -1 when memory is short. max 0: no retries. */
int dns_tcp_up_create(dns_tcp_up_table_t *t, uint32_t max);
/* Closes every connection and frees the table. */
void dns_tcp_up_destroy(dns_tcp_up_table_t *t);

/* Asks the upstream of pending slot `slot` (its current try) again over
 * TCP; answer[0, len) is the truncated UDP answer, kept. true when the
 * retry is under way (the slot remembers it), false (counted, unless no
 * TUN was given) when the caller must relay the truncated answer. */
bool dns_tcp_up_start(struct mf_dns_server *s, uint32_t slot,
                      const uint8_t *answer, size_t len);
/* Closes connection conn without a word to anyone: the query ended. */
void dns_tcp_up_close(struct mf_dns_server *s, uint32_t conn);
/* Epoll events for connection conn. */
void dns_tcp_up_on_event(struct mf_dns_server *s, uint32_t conn,
                         uint32_t events);

#endif
