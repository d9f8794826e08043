#include "io/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mf_udp_open(mf_udp_t *u, uint16_t port, uint32_t fwmark, char *err,
                size_t errlen)
{
  u->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (u->fd < 0)
    goto fail;
  int off = 0, bufsz = 4 << 20;
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  /* Big socket buffers absorb bursts between two polls of the loop. */
  setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
  setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
  if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
      (fwmark && setsockopt(u->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0) ||
      bind(u->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
    goto fail;
  socklen_t len = sizeof(a);
  if (getsockname(u->fd, (struct sockaddr *)&a, &len) < 0)
    goto fail;
  u->port = ntohs(a.sin6_port);
  return 0;
fail:;
  int e = errno;
  snprintf(err, errlen, "udp socket on port %u: %s", port, strerror(e));
  if (u->fd >= 0)
    close(u->fd);
  u->fd = -1;
  return -e;
}

void mf_udp_close(mf_udp_t *u)
{
  if (u->fd >= 0)
    close(u->fd);
  u->fd = -1;
}

int mf_udp_recv_batch(mf_udp_t *u, mf_buffer_pool_t *pool, const uint32_t *bi,
                      uint32_t n, mf_sockaddr_t *from)
{
  struct mmsghdr msgs[MF_UDP_BATCH];
  struct iovec iov[MF_UDP_BATCH];
  if (n > MF_UDP_BATCH)
    n = MF_UDP_BATCH;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(pool, bi[i]);
    iov[i] = (struct iovec){mf_buffer_data(b), mf_buffer_tailroom(b)};
    msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                      .msg_namelen = sizeof(from[i]),
                                      .msg_iov = &iov[i],
                                      .msg_iovlen = 1};
  }
  int r = recvmmsg(u->fd, msgs, n, MSG_DONTWAIT, NULL);
  if (r < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
  for (int i = 0; i < r; i++)
    mf_buffer_get(pool, bi[i])->current_length = (uint16_t)msgs[i].msg_len;
  return r;
}

int mf_udp_send_batch(mf_udp_t *u, mf_buffer_pool_t *pool, const uint32_t *bi,
                      uint32_t n, const mf_sockaddr_t *to)
{
  struct mmsghdr msgs[MF_UDP_BATCH];
  struct iovec iov[MF_UDP_BATCH];
  uint32_t sent = 0;
  while (sent < n) {
    uint32_t k = n - sent < MF_UDP_BATCH ? n - sent : MF_UDP_BATCH;
    for (uint32_t i = 0; i < k; i++) {
      mf_buffer_t *b = mf_buffer_get(pool, bi[sent + i]);
      iov[i] = (struct iovec){mf_buffer_data(b), b->current_length};
      msgs[i].msg_hdr = (struct msghdr){.msg_name = (void *)&to[sent + i],
                                        .msg_namelen = sizeof(struct sockaddr_in6),
                                        .msg_iov = &iov[i],
                                        .msg_iovlen = 1};
    }
    int r = sendmmsg(u->fd, msgs, k, MSG_DONTWAIT);
    if (r <= 0)
      break;
    sent += (uint32_t)r;
  }
  return (int)sent;
}

int mf_sockaddr_parse(const char *text, mf_sockaddr_t *out, const char **why)
{
  char host[64];
  const char *colon, *h = text;
  size_t hlen;
  memset(out, 0, sizeof(*out));
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':') {
      *why = "expected [IPv6]:port";
      return -1;
    }
    h = text + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(text, ':');
    if (!colon) {
      *why = "expected host:port";
      return -1;
    }
    hlen = (size_t)(colon - text);
  }
  if (hlen == 0 || hlen >= sizeof(host)) {
    *why = "bad host";
    return -1;
  }
  memcpy(host, h, hlen);
  host[hlen] = 0;
  char *end;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (colon[1] == 0 || *end || port == 0 || port > 65535) {
    *why = "port must be 1..65535";
    return -1;
  }
  struct in_addr v4;
  out->in6.sin6_family = AF_INET6;
  out->in6.sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &v4) == 1) {
    /* v4-mapped: one dual-stack socket serves both families. */
    out->in6.sin6_addr.s6_addr[10] = out->in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&out->in6.sin6_addr.s6_addr[12], &v4, 4);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1)
    return 0;
  *why = "host must be a numeric IPv4 or IPv6 address";
  return -1;
}

void mf_sockaddr_format(const mf_sockaddr_t *a, char *out, size_t size)
{
  char h[INET6_ADDRSTRLEN];
  const uint8_t *b = a->in6.sin6_addr.s6_addr;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a->sa.sa_family == AF_INET6 && memcmp(b, mapped, 12) == 0) {
    inet_ntop(AF_INET, b + 12, h, sizeof(h));
    snprintf(out, size, "%s:%u", h, ntohs(a->in6.sin6_port));
  } else if (a->sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, b, h, sizeof(h));
    snprintf(out, size, "[%s]:%u", h, ntohs(a->in6.sin6_port));
  } else if (a->sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &a->in4.sin_addr, h, sizeof(h));
    snprintf(out, size, "%s:%u", h, ntohs(a->in4.sin_port));
  } else
    snprintf(out, size, "(none)");
}
