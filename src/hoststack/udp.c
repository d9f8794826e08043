/* UDP sessions (RFC 768) with endpoint-independent mapping and filtering
 * (RFC 4787 4.1, 5): the app's source address:port owns one kernel socket
 * of its family; whatever it sends, to any destination, leaves from that
 * socket, and whatever any remote sends to that socket comes back to the
 * app. Datagrams leave in batches (udp_batch.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/dataplane.h"
#include "hoststack/hs_internal.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/udp_check.h"

/* Opens the session's socket in the app's family (an app of one family
 * cannot receive from the other), marked, non-blocking, bound to an
 * ephemeral port, and watched by the main loop. Default buffer sizes: a
 * session is one flow, and there may be thousands. */
static int udp_session_socket(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  int af = s->family == 4 ? AF_INET : AF_INET6, on = 1;
  s->fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0)
    return -1;
  mf_sockaddr_t a;
  memset(&a, 0, sizeof(a));
  a.sa.sa_family = (sa_family_t)af;
  socklen_t len = af == AF_INET ? sizeof(a.in4) : sizeof(a.in6);
  if ((af == AF_INET6 &&
       setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
      (hs->fwmark &&
       setsockopt(s->fd, SOL_SOCKET, SO_MARK, &hs->fwmark, sizeof(hs->fwmark)) < 0) ||
      bind(s->fd, &a.sa, len) < 0 || getsockname(s->fd, &a.sa, &len) < 0)
    return -1;
  s->up_port = ntohs(af == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
  return mf_hoststack_watch_fd(hs, s->fd, MF_HS_TAG_SESSION + si);
}

static socklen_t udp_destination(mf_sockaddr_t *to, bool v6,
                                 const uint8_t *dst, uint16_t port)
{
  memset(to, 0, sizeof(*to));
  if (v6) {
    to->in6.sin6_family = AF_INET6;
    to->in6.sin6_port = port;
    memcpy(&to->in6.sin6_addr, dst, 16);
    return sizeof(to->in6);
  }
  to->in4.sin_family = AF_INET;
  to->in4.sin_port = port;
  memcpy(&to->in4.sin_addr, dst, 4);
  return sizeof(to->in4);
}

int mf_hs_udp_send(mf_hoststack_t *hs, mf_node_rt_t *node, mf_buffer_t *b,
                   uint64_t now)
{
  uint8_t *pkt = mf_buffer_data(b);
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  const uint8_t *src, *dst;
  uint32_t len = 0;
  mf_udp_header_t *udp = (mf_udp_header_t *)(pkt + b->l4_offset);
  if (v6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    src = ip->src;
    dst = ip->dst;
  } else {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
    if (ip->frag & htons(MF_IP4_FRAG_OFFSET | MF_IP4_FRAG_MF))
      return HS_DIRECT_ERROR_FRAGMENT;
    src = (const uint8_t *)&ip->src;
    dst = (const uint8_t *)&ip->dst;
  }
  switch (mf_udp_check(b, &len)) {
  case MF_UDP_CHECK_OK:
    break;
  case MF_UDP_CHECK_BAD_LENGTH:
    return HS_DIRECT_ERROR_BAD_UDP_LENGTH;
  case MF_UDP_CHECK_BAD_CHECKSUM:
    return HS_DIRECT_ERROR_BAD_UDP_CHECKSUM;
  }
  uint8_t family = v6 ? 6 : 4;
  uint32_t si = mf_hoststack_find(hs, MF_HS_UDP, family, src, udp->src_port);
  if (si == MF_HS_INVALID) {
    si = mf_hoststack_open(hs, MF_HS_UDP, family, src, udp->src_port, now);
    if (si == MF_HS_INVALID)
      return HS_DIRECT_ERROR_SESSION_LIMIT;
    hs->sessions[si].if_index = b->tx_if;
    hs->sessions[si].local_app = b->rx_if == MF_IF_LOCAL_INDEX;
    if (udp_session_socket(hs, si) < 0) {
      hs->c.socket_errors++;
      mf_hoststack_close(hs, si);
      return HS_DIRECT_ERROR_SOCKET_ERROR;
    }
  }
  mf_hs_session_t *s = &hs->sessions[si];
  socklen_t to_len = udp_destination(&s->last_remote, v6, dst, udp->dst_port);
  s->last_ns = now;
  return mf_hs_udp_queue(hs, node, si, b, udp + 1, len, &s->last_remote, to_len);
}

/* The remote's address in the app's family, or NULL when the app cannot
 * receive from it (an IPv4 app and an IPv6 remote, or the reverse). */
static const uint8_t *remote_in_family(const mf_sockaddr_t *from,
                                       uint8_t family)
{
  if (from->sa.sa_family == AF_INET)
    return family == 4 ? (const uint8_t *)&from->in4.sin_addr : NULL;
  if (from->sa.sa_family != AF_INET6)
    return NULL;
  const uint8_t *a = from->in6.sin6_addr.s6_addr;
  bool mapped = IN6_IS_ADDR_V4MAPPED(&from->in6.sin6_addr);
  if (family == 4)
    return mapped ? a + 12 : NULL;
  return mapped ? NULL : a;
}

int mf_hs_udp_deliver(mf_hoststack_t *hs, uint32_t si, mf_buffer_t *b,
                      const mf_sockaddr_t *from, uint64_t now)
{
  mf_hs_session_t *s = &hs->sessions[si];
  const uint8_t *remote = remote_in_family(from, s->family);
  if (!remote)
    return HS_INPUT_ERROR_FAMILY_MISMATCH;
  uint32_t len = b->current_length;
  uint16_t port = from->sa.sa_family == AF_INET ? from->in4.sin_port
                                                 : from->in6.sin6_port;
  b->current_data -= sizeof(mf_udp_header_t);
  b->current_length += sizeof(mf_udp_header_t);
  mf_udp_header_t *udp = (mf_udp_header_t *)mf_buffer_data(b);
  udp->src_port = port;
  udp->dst_port = s->app_port;
  udp->length = htons((uint16_t)(len + sizeof(*udp)));
  udp->checksum = 0;
  uint64_t pseudo = mf_hs_push_ip(b, s->family, MF_IP_PROTO_UDP, remote, s->app_addr);
  uint16_t c = mf_csum_finish(mf_csum_add(pseudo, udp, len + sizeof(*udp)));
  /* A computed zero is sent as all ones: zero means "no checksum". */
  udp->checksum = c ? c : 0xffff;
  mf_hs_count_rx(hs, s, b, len, now);
  return -1;
}
