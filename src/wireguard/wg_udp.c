#include "wireguard/wg_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Offloads are on unless MINTFLOW_WG_UDP_OFFLOAD=0: a switch for
 * before/after comparisons and an escape hatch for a misbehaving kernel. */
static bool offload_wanted(void)
{
  const char *v = getenv("MINTFLOW_WG_UDP_OFFLOAD");
  return !(v && strcmp(v, "0") == 0);
}

void mf_wg_udp_offload_setup(int fd, mf_wg_udp_offload_t *o)
{
  *o = (mf_wg_udp_offload_t){0};
  if (fd < 0 || !offload_wanted())
    return;
  /* Reading the option changes nothing and fails with ENOPROTOOPT where
   * the kernel lacks it; whether a route takes it shows at first send. */
  int v = 0;
  socklen_t vl = sizeof(v);
  o->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &vl) == 0;
  int one = 1;
  o->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

/* ------------------------------------------------------------ sending */

static bool same_addr(const mf_sockaddr_t *a, const mf_sockaddr_t *b)
{
  /* Endpoints are always AF_INET6 (v4-mapped for IPv4): port, address
   * and scope say where a datagram goes. */
  return a->in6.sin6_port == b->in6.sin6_port &&
         a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
         memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

uint32_t mf_wg_udp_plan(const uint32_t *len, const mf_sockaddr_t *to,
                        uint32_t n, uint32_t max_segs, mf_wg_udp_run_t *runs)
{
  if (max_segs == 0)
    max_segs = 1;
  if (max_segs > MF_WG_UDP_MAX_SEGS)
    max_segs = MF_WG_UDP_MAX_SEGS;
  uint32_t n_runs = 0, i = 0;
  while (i < n) {
    uint32_t seg = len[i], bytes = len[i], j = i + 1;
    /* A run grows while the next packet goes to the same place, fits
     * under the limits and is no longer than the segment size; a shorter
     * one ends it (only the last segment may be short). A zero-length
     * segment size would mean nothing to the kernel: such a packet (none
     * of ours, a keepalive is 32 bytes) goes alone. */
    while (seg && j < n && j - i < max_segs && len[j] <= seg &&
           bytes + len[j] <= MF_WG_UDP_GSO_MAX_BYTES && same_addr(&to[i], &to[j])) {
      bytes += len[j];
      if (len[j++] < seg)
        break;
    }
    runs[n_runs++] = (mf_wg_udp_run_t){.first = i, .n = j - i, .seg = seg};
    i = j;
  }
  return n_runs;
}

void mf_wg_udp_set_segment(struct msghdr *h, void *cm, uint16_t seg)
{
  h->msg_control = cm;
  h->msg_controllen = CMSG_SPACE(sizeof(seg));
  struct cmsghdr *c = CMSG_FIRSTHDR(h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(seg));
  memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

/* Builds one message per run of packets from..n-1; returns how many. */
static uint32_t build_msgs(mf_wg_udp_tx_t *tx, mf_buffer_pool_t *pool,
                           const uint32_t *bi, uint32_t from, uint32_t n,
                           const mf_sockaddr_t *to, bool gso)
{
  uint32_t n_runs = mf_wg_udp_plan(tx->len + from, to + from, n - from,
                                   gso ? MF_WG_UDP_MAX_SEGS : 1, tx->runs);
  for (uint32_t r = 0; r < n_runs; r++) {
    mf_wg_udp_run_t *run = &tx->runs[r];
    run->first += from;
    for (uint32_t k = 0; k < run->n; k++) {
      mf_buffer_t *b = mf_buffer_get(pool, bi[run->first + k]);
      tx->iov[run->first + k] =
          (struct iovec){mf_buffer_data(b), b->current_length};
    }
    struct msghdr *h = &tx->msgs[r].msg_hdr;
    *h = (struct msghdr){.msg_name = (void *)&to[run->first],
                         .msg_namelen = sizeof(struct sockaddr_in6),
                         .msg_iov = &tx->iov[run->first],
                         .msg_iovlen = run->n};
    if (run->n > 1)
      mf_wg_udp_set_segment(h, tx->ctl[r].buf, (uint16_t)run->seg);
  }
  return n_runs;
}

/* Errors by which a kernel or a route says no to segmentation itself:
 * no UDP_SEGMENT (ENOPROTOOPT), a device without checksum offload (EIO),
 * a segment larger than the path MTU or a socket option in the way
 * (EINVAL). */
static bool gso_refusal(int e)
{
  return e == EIO || e == EINVAL || e == ENOPROTOOPT;
}

void mf_wg_udp_send(int fd, mf_wg_udp_offload_t *o, mf_wg_udp_tx_t *tx,
                    mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n,
                    const mf_sockaddr_t *to, mf_wg_udp_tx_stats_t *st)
{
  *st = (mf_wg_udp_tx_stats_t){0};
  if (n > MF_WG_UDP_TX_MAX)
    n = MF_WG_UDP_TX_MAX;
  for (uint32_t i = 0; i < n; i++)
    tx->len[i] = mf_buffer_get(pool, bi[i])->current_length;
  uint32_t n_msgs = build_msgs(tx, pool, bi, 0, n, to, o->gso), done = 0;
  /* Each turn sends, skips or rebuilds once: bounded by the messages. */
  while (done < n_msgs) {
    int r = sendmmsg(fd, tx->msgs + done, n_msgs - done, MSG_DONTWAIT);
    if (r > 0) {
      for (uint32_t m = done; m < done + (uint32_t)r; m++) {
        st->sent += tx->runs[m].n;
        st->gso_datagrams += tx->runs[m].n > 1;
      }
      done += (uint32_t)r;
      continue;
    }
    int e = r < 0 ? errno : EAGAIN;
    if (tx->runs[done].n > 1 && gso_refusal(e)) {
      /* Once refused, never asked again on this socket: the rest and
       * every later send go one packet per datagram. */
      o->gso = false;
      st->gso_refused = true;
      n_msgs = build_msgs(tx, pool, bi, tx->runs[done].first, n, to, false);
      done = 0;
      continue;
    }
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
      break; /* the queue is full: the rest cannot go now */
    done++;  /* this datagram alone fails (an unreachable endpoint) */
  }
}

/* ------------------------------------------------------------ receiving */

void mf_wg_udp_rx_free(mf_wg_udp_rx_t *rx)
{
  if (rx->spill)
    munmap(rx->spill, (size_t)MF_WG_UDP_RX_GRO * MF_WG_UDP_SPILL);
  rx->spill = NULL;
}

/* Maps the spill areas; false when the address space is not there. */
static bool have_spill(mf_wg_udp_rx_t *rx)
{
  if (rx->spill)
    return true;
  void *p = mmap(NULL, (size_t)MF_WG_UDP_RX_GRO * MF_WG_UDP_SPILL,
                 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED)
    return false;
  rx->spill = p;
  return true;
}

uint32_t mf_wg_udp_gro_size(struct msghdr *h)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO)
      continue;
    /* An int in the kernels we know; read a u16 should one be shorter. */
    size_t dl = c->cmsg_len - CMSG_LEN(0);
    if (dl >= sizeof(int)) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v > 0 ? (uint32_t)v : 0;
    }
    if (dl >= sizeof(uint16_t)) {
      uint16_t v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v;
    }
  }
  return 0;
}

int mf_wg_udp_recv(int fd, const mf_wg_udp_offload_t *o, mf_wg_udp_rx_t *rx,
                   mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n)
{
  /* Without a spill area a coalesced read would be cut short: read as
   * few datagrams as a plain read would spill nothing into. */
  bool gro = o->gro && have_spill(rx);
  uint32_t room = gro ? MF_WG_UDP_RX_GRO : MF_WG_UDP_RX_PLAIN;
  if (n > room)
    n = room;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(pool, bi[i]);
    rx->iov[i][0] = (struct iovec){mf_buffer_data(b), mf_buffer_tailroom(b)};
    rx->iov[i][1] = (struct iovec){gro ? rx->spill + (size_t)i * MF_WG_UDP_SPILL : NULL,
                                   gro ? MF_WG_UDP_SPILL : 0};
    rx->msgs[i].msg_hdr = (struct msghdr){.msg_name = &rx->from[i],
                                          .msg_namelen = sizeof(rx->from[i]),
                                          .msg_iov = rx->iov[i],
                                          .msg_iovlen = gro ? 2 : 1,
                                          .msg_control = rx->ctl[i].buf,
                                          .msg_controllen = sizeof(rx->ctl[i].buf)};
  }
  int r = recvmmsg(fd, rx->msgs, n, MSG_DONTWAIT, NULL);
  if (r < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
  for (int i = 0; i < r; i++) {
    struct msghdr *h = &rx->msgs[i].msg_hdr;
    rx->len[i] = rx->msgs[i].msg_len;
    rx->gso[i] = gro ? mf_wg_udp_gro_size(h) : 0;
    /* A datagram larger than the room was cut: no length is true. */
    if (h->msg_flags & MSG_TRUNC)
      rx->len[i] = UINT32_MAX;
  }
  return r;
}

/* Copies bytes [off, off+len) of datagram i (its buffer's part, then the
 * spill's) to out. */
static void copy_out(const mf_wg_udp_rx_t *rx, uint32_t i, uint32_t off,
                     uint32_t len, uint8_t *out)
{
  const struct iovec *head = &rx->iov[i][0], *tail = &rx->iov[i][1];
  if (off < head->iov_len) {
    uint32_t k = (uint32_t)head->iov_len - off;
    if (k > len)
      k = len;
    memcpy(out, (const uint8_t *)head->iov_base + off, k);
    out += k, off += k, len -= k;
  }
  if (len)
    memcpy(out, (const uint8_t *)tail->iov_base + (off - head->iov_len), len);
}

/* True when datagram i can be split into ordinary buffers: each segment
 * fits one, and the whole was read. */
static bool splittable(const mf_wg_udp_rx_t *rx, uint32_t i)
{
  uint32_t len = rx->len[i], gso = rx->gso[i];
  uint32_t head = (uint32_t)rx->iov[i][0].iov_len;
  if (len == UINT32_MAX)
    return false;
  if (gso == 0 || len <= gso)
    return len <= head;
  return gso <= head && gso <= MF_BUFFER_DATA_SIZE &&
         mf_wg_udp_segments(len, gso) <= MF_WG_UDP_MAX_SEGS &&
         len <= head + (uint32_t)rx->iov[i][1].iov_len;
}

uint32_t mf_wg_udp_split(const mf_wg_udp_rx_t *rx, mf_buffer_pool_t *pool,
                         const uint32_t *bi, uint32_t n, bool copy_all,
                         uint32_t *out, const uint8_t **src, uint8_t *dgram,
                         mf_wg_udp_split_t *st)
{
  *st = (mf_wg_udp_split_t){0};
  if (n > MF_WG_UDP_RX_PLAIN)
    n = MF_WG_UDP_RX_PLAIN;
  /* The buffers for the further segments, taken in one go. */
  uint32_t extra[MF_WG_UDP_RX_MAX_PACKETS], n_extra = 0, used = 0, k = 0;
  for (uint32_t i = 0; i < n; i++)
    if (splittable(rx, i))
      n_extra += mf_wg_udp_segments(rx->len[i], rx->gso[i]) - 1;
  if (n_extra > MF_WG_UDP_RX_MAX_PACKETS)
    n_extra = MF_WG_UDP_RX_MAX_PACKETS; /* not from a read of ours */
  n_extra = n_extra ? mf_buffer_alloc(pool, extra, n_extra) : 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!splittable(rx, i)) {
      st->bad[st->n_bad++] = bi[i];
      continue;
    }
    uint32_t segs = mf_wg_udp_segments(rx->len[i], rx->gso[i]);
    uint32_t seg = segs > 1 ? rx->gso[i] : rx->len[i];
    mf_buffer_t *first = mf_buffer_get(pool, bi[i]);
    first->current_length = seg;
    out[k] = bi[i];
    src[k] = mf_buffer_data(first);
    dgram[k++] = (uint8_t)i;
    st->coalesced += segs > 1;
    for (uint32_t s = 1; s < segs; s++) {
      /* Room stays for the first packet of every datagram still to come. */
      if (used == n_extra || k + (n - 1 - i) >= MF_WG_UDP_RX_MAX_PACKETS) {
        st->no_buffers += segs - s;
        break;
      }
      uint32_t off = s * seg, len = rx->len[i] - off < seg ? rx->len[i] - off : seg;
      uint32_t head = (uint32_t)rx->iov[i][0].iov_len;
      mf_buffer_t *b = mf_buffer_get(pool, extra[used]);
      b->current_length = len;
      if (!copy_all && off >= head) {
        src[k] = (const uint8_t *)rx->iov[i][1].iov_base + (off - head);
      } else {
        copy_out(rx, i, off, len, mf_buffer_data(b));
        src[k] = mf_buffer_data(b);
      }
      out[k] = extra[used++];
      dgram[k++] = (uint8_t)i;
    }
  }
  if (used < n_extra)
    mf_buffer_free(pool, extra + used, n_extra - used);
  return k;
}
