/* UDP datagrams toward the internet leave in batches: hs-direct queues each
 * checked datagram with its session's socket, and one sendmmsg() sends a
 * run of datagrams for the same socket (a bulk flow, a QUIC burst, a
 * game's tick) instead of one sendto() each. The queue holds pointers into
 * the frame's buffers, which error-drop frees only after hs-direct
 * returns, so nothing is copied. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "hoststack/hs_internal.h"

#define HS_UDP_BATCH 64

typedef struct mf_hs_udp_batch {
  uint32_t n;
  int fd;
  struct mmsghdr msgs[HS_UDP_BATCH];
  struct iovec iov[HS_UDP_BATCH];
  mf_sockaddr_t to[HS_UDP_BATCH];
  mf_buffer_t *b[HS_UDP_BATCH];
  uint32_t si[HS_UDP_BATCH];
} mf_hs_udp_batch_t;

bool mf_hs_udp_batch_init(mf_hoststack_t *hs)
{
  if (!hs->udp_batch)
    hs->udp_batch = calloc(1, sizeof(*hs->udp_batch));
  return hs->udp_batch != NULL;
}

void mf_hs_udp_batch_free(mf_hoststack_t *hs)
{
  free(hs->udp_batch);
  hs->udp_batch = NULL;
}

static void count_sent(mf_hoststack_t *hs, const mf_hs_udp_batch_t *q,
                       uint32_t from, uint32_t to)
{
  for (uint32_t i = from; i < to; i++) {
    mf_hs_session_t *s = &hs->sessions[q->si[i]];
    s->tx_packets++;
    s->tx_bytes += q->iov[i].iov_len;
  }
}

void mf_hs_udp_flush(mf_hoststack_t *hs, mf_node_rt_t *node)
{
  mf_hs_udp_batch_t *q = hs->udp_batch;
  if (!q || q->n == 0)
    return;
  uint32_t done = 0;
  while (done < q->n) {
    int r = sendmmsg(q->fd, q->msgs + done, q->n - done, MSG_DONTWAIT);
    if (r > 0) {
      count_sent(hs, q, done, done + (uint32_t)r);
      done += (uint32_t)r;
      continue;
    }
    /* The first unsent one failed. A full socket buffer refuses the rest
     * as well: drop them all now rather than ask again for each. */
    uint32_t upto = r < 0 && errno == EAGAIN ? q->n : done + 1;
    for (; done < upto; done++)
      mf_graph_drop(node, q->b[done], HS_DIRECT_ERROR_SEND_ERROR);
  }
  q->n = 0;
}

int mf_hs_udp_queue(mf_hoststack_t *hs, mf_node_rt_t *node, uint32_t si,
                    mf_buffer_t *b, void *payload, uint32_t len,
                    const mf_sockaddr_t *to, socklen_t to_len)
{
  mf_hs_udp_batch_t *q = hs->udp_batch;
  int fd = hs->sessions[si].fd;
  if (q->n > 0 && (q->fd != fd || q->n == HS_UDP_BATCH))
    mf_hs_udp_flush(hs, node);
  uint32_t i = q->n++;
  q->fd = fd;
  q->b[i] = b;
  q->si[i] = si;
  q->to[i] = *to;
  q->iov[i] = (struct iovec){.iov_base = payload, .iov_len = len};
  q->msgs[i].msg_hdr = (struct msghdr){.msg_name = &q->to[i],
                                       .msg_namelen = to_len,
                                       .msg_iov = &q->iov[i],
                                       .msg_iovlen = 1};
  return HS_DIRECT_ERROR_UDP_SENT;
}
