/* ICMP echo sessions (RFC 792, RFC 4443 4.1-4.2) through one raw socket
 * per family (why raw and not ping sockets: see hoststack.h).
 *
 * A session is an app source and its identifier. Its requests leave with
 * the session's own upstream identifier, so that two apps using the same
 * identifier never share replies; replies come back with the app's
 * identifier and the sequence untouched, the checksum recomputed. The raw
 * sockets let only echo replies through (ICMP_FILTER, ICMP6_FILTER): the
 * kernel answers requests itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hoststack/hs_internal.h"
#include "ip/checksum.h"
#include "ip/headers.h"

static int icmp_raw_open(mf_hoststack_t *hs, uint8_t family)
{
  int *fdp = family == 4 ? &hs->icmp4_fd : &hs->icmp6_fd;
  if (*fdp >= 0)
    return *fdp;
  int fd = family == 4
               ? socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP)
               : socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0)
    return -1;
  int rv, on = 1;
  /* The arrival interface (pktinfo) tells the replies we write to the TUN,
   * which raw sockets see too, from the internet's. */
  if (family == 4) {
    struct icmp_filter f = {.data = ~(1u << MF_ICMP4_ECHO_REPLY)};
    rv = setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) |
         setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
  } else {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(MF_ICMP6_ECHO_REPLY, &f);
    rv = setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) |
         setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
  }
  if (rv < 0 ||
      (hs->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &hs->fwmark,
                                sizeof(hs->fwmark)) < 0) ||
      mf_hoststack_watch_fd(hs, fd, family == 4 ? MF_HS_TAG_ICMP4 : MF_HS_TAG_ICMP6) < 0) {
    close(fd);
    return -1;
  }
  *fdp = fd;
  return fd;
}

/* Checks the echo request; -1 when it is one and sound, else the error. */
static int echo_check(const mf_icmp_echo_t *e, uint32_t l4_len, bool v6,
                      uint64_t pseudo)
{
  if (l4_len < sizeof(*e))
    return HS_DIRECT_ERROR_BAD_ICMP_LENGTH;
  if (!mf_csum_ok(e, l4_len, pseudo))
    return HS_DIRECT_ERROR_BAD_ICMP_CHECKSUM;
  if (e->type != (v6 ? MF_ICMP6_ECHO_REQUEST : MF_ICMP4_ECHO_REQUEST) || e->code)
    return HS_DIRECT_ERROR_ICMP_NOT_ECHO;
  return -1;
}

int mf_hs_icmp_send(mf_hoststack_t *hs, mf_buffer_t *b, uint64_t now)
{
  uint8_t *pkt = mf_buffer_data(b);
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  uint32_t l4_len = b->current_length - b->l4_offset;
  mf_icmp_echo_t *e = (mf_icmp_echo_t *)(pkt + b->l4_offset);
  const uint8_t *src, *dst;
  mf_sockaddr_t to;
  memset(&to, 0, sizeof(to));
  uint64_t pseudo = 0;
  if (v6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    src = ip->src;
    dst = ip->dst;
    pseudo = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_ICMP6, l4_len);
    to.in6.sin6_family = AF_INET6;
    memcpy(&to.in6.sin6_addr, dst, 16);
  } else {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
    if (ip->frag & htons(MF_IP4_FRAG_OFFSET | MF_IP4_FRAG_MF))
      return HS_DIRECT_ERROR_FRAGMENT;
    src = (const uint8_t *)&ip->src;
    dst = (const uint8_t *)&ip->dst;
    to.in4.sin_family = AF_INET;
    memcpy(&to.in4.sin_addr, dst, 4);
  }
  int err = echo_check(e, l4_len, v6, pseudo);
  if (err >= 0)
    return err;
  uint8_t family = v6 ? 6 : 4;
  int fd = icmp_raw_open(hs, family);
  if (fd < 0) {
    hs->c.socket_errors++;
    return HS_DIRECT_ERROR_SOCKET_ERROR;
  }
  uint32_t si = mf_hoststack_find(hs, MF_HS_ICMP, family, src, e->id);
  if (si == MF_HS_INVALID) {
    si = mf_hoststack_open(hs, MF_HS_ICMP, family, src, e->id, now);
    if (si == MF_HS_INVALID)
      return HS_DIRECT_ERROR_SESSION_LIMIT;
    hs->sessions[si].if_index = b->tx_if;
  }
  mf_hs_session_t *s = &hs->sessions[si];
  s->last_remote = to;
  s->last_ns = now;
  /* ICMPv6 raw sockets have the kernel fill in the checksum (RFC 3542
   * 3.1); ICMPv4's is ours, updated for the new identifier (RFC 1624). */
  e->checksum = v6 ? 0 : mf_csum_update16(e->checksum, e->id, s->up_id);
  e->id = s->up_id;
  if (sendto(fd, e, l4_len, MSG_DONTWAIT, &to.sa,
             v6 ? sizeof(to.in6) : sizeof(to.in4)) < 0)
    return HS_DIRECT_ERROR_SEND_ERROR;
  s->tx_packets++;
  s->tx_bytes += l4_len;
  return HS_DIRECT_ERROR_ECHO_SENT;
}

int mf_hs_icmp_deliver(mf_hoststack_t *hs, uint8_t family, mf_buffer_t *b,
                       const mf_sockaddr_t *from, uint64_t now)
{
  const uint8_t *remote;
  if (family == 4) {
    /* Raw IPv4 sockets hand over the IP header too. */
    const uint8_t *p = mf_buffer_data(b);
    uint32_t hlen = b->current_length ? (p[0] & 0x0f) * 4u : 0;
    if (hlen < 20 || hlen > b->current_length)
      return HS_INPUT_ERROR_BAD_ICMP_REPLY;
    b->current_data += hlen;
    b->current_length -= hlen;
    remote = (const uint8_t *)&from->in4.sin_addr;
  } else
    remote = from->in6.sin6_addr.s6_addr;
  mf_icmp_echo_t *e = (mf_icmp_echo_t *)mf_buffer_data(b);
  uint32_t len = b->current_length;
  if (len < sizeof(*e) ||
      e->type != (family == 4 ? MF_ICMP4_ECHO_REPLY : MF_ICMP6_ECHO_REPLY))
    return HS_INPUT_ERROR_BAD_ICMP_REPLY;
  uint32_t si = (uint16_t)(ntohs(e->id) - hs->icmp_id_base);
  if (si >= hs->n_sessions)
    return HS_INPUT_ERROR_NOT_OURS;
  mf_hs_session_t *s = &hs->sessions[si];
  if (!s->live || s->proto != MF_HS_ICMP || s->family != family || s->up_id != e->id)
    return HS_INPUT_ERROR_NOT_OURS;
  e->id = s->app_port;
  e->checksum = 0;
  uint64_t pseudo = mf_hs_push_ip(b, family,
                                  family == 4 ? MF_IP_PROTO_ICMP : MF_IP_PROTO_ICMP6,
                                  remote, s->app_addr);
  e->checksum = mf_csum_finish(mf_csum_add(pseudo, e, len));
  mf_hs_count_rx(hs, s, b, len, now);
  return -1;
}
