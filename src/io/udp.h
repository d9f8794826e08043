/* UDP sockets for tunnels: non-blocking, marked with the daemon's fwmark so
 * their packets never enter our own TUN, read and written in batches
 * (recvmmsg/sendmmsg: one system call per batch, not per packet). */
#ifndef MF_IO_UDP_H
#define MF_IO_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buffer.h"

#define MF_UDP_BATCH 64

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} mf_sockaddr_t;

typedef struct {
  int fd;
  uint16_t port; /* bound port, host order */
} mf_udp_t;

/* Opens a dual-stack (IPv6 with v4-mapped) socket bound to port (0: any),
 * marked with fwmark when nonzero. 0 or -errno with a message in err. */
int mf_udp_open(mf_udp_t *u, uint16_t port, uint32_t fwmark, char *err,
                size_t errlen);
void mf_udp_close(mf_udp_t *u);

/* Reads up to n datagrams into the buffers (payload at current_data,
 * current_length set), their sources into from[]. Returns how many were
 * read (0 when none is waiting), or -errno on a socket error. */
int mf_udp_recv_batch(mf_udp_t *u, mf_buffer_pool_t *pool, const uint32_t *bi,
                      uint32_t n, mf_sockaddr_t *from);

/* Sends n buffers, buffer i to to[i]. Returns how many the kernel took;
 * the rest could not be sent now (queue full) or failed. */
int mf_udp_send_batch(mf_udp_t *u, mf_buffer_pool_t *pool, const uint32_t *bi,
                      uint32_t n, const mf_sockaddr_t *to);

/* Parses "host:port" or "[v6]:port" (numeric host) into an address in the
 * socket's family (IPv4 becomes v4-mapped IPv6). 0 or -1 with *why. */
int mf_sockaddr_parse(const char *text, mf_sockaddr_t *out, const char **why);
void mf_sockaddr_format(const mf_sockaddr_t *a, char *out, size_t size);

#endif
