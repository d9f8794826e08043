/* hs-input: serves the host stack socket the main loop found ready. A UDP
 * session's or a raw ICMP socket: reads a batch of datagrams (one
 * recvmmsg), each becoming an IP packet from the remote to the app,
 * checksums computed. A TCP session's: its connect finished, or it can be
 * read or written (tcp_session.c); the segments for the app it yields go
 * the same way. All leave through tun-output, except datagrams for the
 * stack's own sockets (the DNS server's upstream queries), which go to
 * ip4-local / ip6-local.
 * Sets: current_data/current_length (the whole packet), l4_offset,
 * F_IS_IP6, rx_if (the direct interface), tx_if (the TUN).
 * Next: tun-output, or error-drop. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/trace.h"
#include "hoststack/hs_internal.h"

static const mf_error_desc_t hs_input_errors[] = {HS_INPUT_ERRORS(MF_ERROR_DESC)};

enum {
  HS_INPUT_NEXT_DROP,
  HS_INPUT_NEXT_TUN_OUTPUT,
  HS_INPUT_NEXT_IP4_LOCAL,
  HS_INPUT_NEXT_IP6_LOCAL,
};

/* Where a datagram for the app goes: the TUN, or, when the app is the
 * stack itself (the DNS server's upstream queries), its own input. */
static uint16_t deliver_next(const mf_hoststack_t *hs, uint32_t si,
                             const mf_buffer_t *b)
{
  if (si == MF_HS_INVALID || !hs->sessions[si].local_app)
    return HS_INPUT_NEXT_TUN_OUTPUT;
  return b->flags & MF_BUFFER_F_IS_IP6 ? HS_INPUT_NEXT_IP6_LOCAL
                                       : HS_INPUT_NEXT_IP4_LOCAL;
}

#define HS_INPUT_BATCH MF_UDP_BATCH

/* The headers we add (IPv6 + UDP at most): a received payload may fill a
 * buffer's data size less these, and they go into the headroom. */
#define HS_INPUT_HEADER_ROOM 48

typedef struct {
  mf_sockaddr_t from[HS_INPUT_BATCH];
  uint8_t truncated[HS_INPUT_BATCH];
  int arrival_if[HS_INPUT_BATCH]; /* from pktinfo, 0 when not given */
  union {
    struct cmsghdr align;
    uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  } control[HS_INPUT_BATCH];
} hs_rx_t;

static int arrival_if(struct msghdr *h)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      return pi.ipi_ifindex;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      return (int)pi.ipi6_ifindex;
    }
  }
  return 0;
}

/* Reads up to n datagrams into the buffers, their sources and arrival
 * details into rx. Returns how many, 0 when none waits, or -errno. */
static int hs_recv_batch(int fd, mf_buffer_pool_t *pool, const uint32_t *bi,
                         uint32_t n, hs_rx_t *rx)
{
  struct mmsghdr msgs[HS_INPUT_BATCH];
  struct iovec iov[HS_INPUT_BATCH];
  mf_sockaddr_t *from = rx->from;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(pool, bi[i]);
    iov[i] = (struct iovec){mf_buffer_data(b),
                            MF_BUFFER_DATA_SIZE - HS_INPUT_HEADER_ROOM};
    msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                      .msg_namelen = sizeof(from[i]),
                                      .msg_iov = &iov[i],
                                      .msg_iovlen = 1,
                                      .msg_control = rx->control[i].buf,
                                      .msg_controllen = sizeof(rx->control[i].buf)};
  }
  int r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
  if (r < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
  for (int i = 0; i < r; i++) {
    mf_buffer_get(pool, bi[i])->current_length = (uint16_t)msgs[i].msg_len;
    rx->truncated[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    rx->arrival_if[i] = arrival_if(&msgs[i].msg_hdr);
  }
  return r;
}

/* The socket behind the tag being polled: its fd, and the session (UDP) or
 * family (raw ICMP) it serves. -1 when the tag is stale. */
static int polled_socket(mf_hoststack_t *hs, uint32_t *si, uint8_t *family)
{
  *si = MF_HS_INVALID;
  if (hs->polling == MF_HS_TAG_ICMP4) {
    *family = 4;
    return hs->icmp4_fd;
  }
  if (hs->polling == MF_HS_TAG_ICMP6) {
    *family = 6;
    return hs->icmp6_fd;
  }
  uint64_t i = hs->polling - MF_HS_TAG_SESSION;
  if (hs->polling < MF_HS_TAG_SESSION || i >= hs->n_sessions)
    return -1;
  /* The session may have ended earlier in this loop iteration. */
  if (!hs->sessions[i].live || hs->sessions[i].proto != MF_HS_UDP)
    return -1;
  *si = (uint32_t)i;
  *family = hs->sessions[i].family;
  return hs->sessions[i].fd;
}

/* A TCP session's socket is ready: returns true when the tag was one. */
static bool tcp_socket_ready(mf_hoststack_t *hs, mf_node_rt_t *node)
{
  uint64_t i = hs->polling - MF_HS_TAG_SESSION;
  if (hs->polling < MF_HS_TAG_SESSION || i >= hs->n_sessions ||
      !hs->sessions[i].live || hs->sessions[i].proto != MF_HS_TCP || !hs->tcp)
    return false;
  mf_hs_tcp_out_t o;
  mf_hs_tcp_out_init(&o, hs, node, HS_INPUT_NEXT_TUN_OUTPUT);
  mf_hs_tcp_on_socket(hs, (uint32_t)i, &o);
  mf_hs_tcp_out_flush(&o);
  return true;
}

static uint32_t hs_input_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *unused,
                            uint32_t n_unused)
{
  mf_hoststack_t *hs = node->ctx;
  if (hs && tcp_socket_ready(hs, node))
    return 0;
  uint32_t si, bi[HS_INPUT_BATCH];
  uint8_t family;
  uint16_t nexts[HS_INPUT_BATCH];
  hs_rx_t rx;
  int fd = hs ? polled_socket(hs, &si, &family) : -1;
  if (fd < 0)
    return 0;
  uint32_t n_bufs = mf_buffer_alloc(&vm->pool, bi, HS_INPUT_BATCH);
  if (n_bufs == 0) {
    vm->errors[node->error_base + HS_INPUT_ERROR_NO_BUFFERS]++;
    return 0;
  }
  int r = hs_recv_batch(fd, &vm->pool, bi, n_bufs, &rx);
  if (r < 0)
    vm->errors[node->error_base + HS_INPUT_ERROR_RECV_ERROR]++;
  uint32_t n = r > 0 ? (uint32_t)r : 0;
  mf_buffer_free(&vm->pool, bi + n, n_bufs - n);
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bi[i]);
    mf_trace_mark(vm, node, b);
    int err;
    if (rx.truncated[i])
      err = HS_INPUT_ERROR_TRUNCATED;
    else if (si != MF_HS_INVALID)
      err = mf_hs_udp_deliver(hs, si, b, &rx.from[i], vm->now_ns);
    else if (hs->tun_ifindex && rx.arrival_if[i] == hs->tun_ifindex)
      err = HS_INPUT_ERROR_OWN_REPLY;
    else
      err = mf_hs_icmp_deliver(hs, family, b, &rx.from[i], vm->now_ns);
    nexts[i] = err >= 0 ? mf_graph_drop(node, b, (uint32_t)err)
                        : deliver_next(hs, si, b);
  }
  mf_graph_enqueue(vm, node, bi, nexts, n);
  return n;
}

const mf_node_reg_t mf_hs_input_node = {
    .name = "hs-input",
    .type = MF_NODE_INPUT,
    .fn = hs_input_fn,
    .n_next = 4,
    .next_nodes = {[HS_INPUT_NEXT_DROP] = "error-drop",
                   [HS_INPUT_NEXT_TUN_OUTPUT] = "tun-output",
                   [HS_INPUT_NEXT_IP4_LOCAL] = "ip4-local",
                   [HS_INPUT_NEXT_IP6_LOCAL] = "ip6-local"},
    .n_errors = HS_INPUT_N_ERROR,
    .errors = hs_input_errors,
};
