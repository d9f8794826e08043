/* The WireGuard socket's batched I/O with Linux's UDP offloads: on send,
 * segmentation (UDP_SEGMENT, Linux 4.18): a run of packets to one
 * endpoint, all of one size but the last, leaves as one datagram of up
 * to 64 segments that the kernel cuts (udp(7)); on receive, coalescing
 * (UDP_GRO, Linux 5.0): one read may return several datagrams of one flow
 * back to back, with their size in a control message.
 *
 * Sending gathers the packets' own buffers (one iovec each): nothing is
 * copied. A read lands in an ordinary buffer and, past its end, in a
 * per-worker spill area: a lone datagram stays where it is, and each
 * further segment of a coalesced one is copied once into a buffer of its
 * own, so the graph only ever sees ordinary buffers.
 *
 * A kernel (or route) that refuses segmentation at first use turns it off
 * for that socket for good (counted); the packets go plainly. Everything
 * is on unless MINTFLOW_WG_UDP_OFFLOAD=0 is in the environment.
 *
 * Threads: a socket's state and the scratch belong to the worker that
 * runs the WireGuard nodes. */
#ifndef MF_WIREGUARD_WG_UDP_H
#define MF_WIREGUARD_WG_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/buffer.h"
#include "io/udp.h"

/* Segments per datagram, both ways: the kernel's UDP_GRO_CNT_MAX, and the
 * least UDP_MAX_SEGMENTS of the kernels that have UDP_SEGMENT. */
#define MF_WG_UDP_MAX_SEGS 64
/* UDP payload of one segmented send: what an IPv6 payload length leaves
 * after the UDP header (IPv4's limit, 65507, is larger). */
#define MF_WG_UDP_GSO_MAX_BYTES (65535 - 8)
/* Packets one send takes (a frame). */
#define MF_WG_UDP_TX_MAX 256
/* Datagrams one read takes: plain, and coalesced (each may carry up to
 * MF_WG_UDP_MAX_SEGS packets and needs a spill area). */
#define MF_WG_UDP_RX_PLAIN 64
#define MF_WG_UDP_RX_GRO 16
/* Packets one read may yield at most. */
#define MF_WG_UDP_RX_MAX_PACKETS (MF_WG_UDP_RX_GRO * MF_WG_UDP_MAX_SEGS)
/* Room past an ordinary buffer for the rest of a coalesced datagram: a
 * UDP datagram never exceeds 64 KiB. */
#define MF_WG_UDP_SPILL 65536

/* What a socket accepts; set by mf_wg_udp_offload_setup. */
typedef struct {
  bool gso; /* sends may carry UDP_SEGMENT */
  bool gro; /* UDP_GRO is on: reads may be coalesced */
} mf_wg_udp_offload_t;

/* Probes and turns on the offloads of socket fd, as far as the kernel has
 * them and the environment allows. Never fails: a missing offload just
 * stays off. */
void mf_wg_udp_offload_setup(int fd, mf_wg_udp_offload_t *o);

/* ---- sending */

/* A run of packets that leaves as one datagram: packets first..first+n-1,
 * seg bytes each but the last (which may be shorter). */
typedef struct {
  uint32_t first, n, seg;
} mf_wg_udp_run_t;

/* Cuts packets (len[i] bytes to to[i]) into runs in order: consecutive
 * packets to the same address of one size, the last of a run possibly
 * shorter, at most max_segs and MF_WG_UDP_GSO_MAX_BYTES a run (the usual
 * Linux GSO rule). max_segs 1 gives one run per packet. Returns the number
 * of runs written to runs[n]. */
uint32_t mf_wg_udp_plan(const uint32_t *len, const mf_sockaddr_t *to,
                        uint32_t n, uint32_t max_segs, mf_wg_udp_run_t *runs);

/* Fills *cm (CMSG_SPACE(sizeof(uint16_t)) bytes or more, aligned) with a
 * UDP_SEGMENT control message of segment size seg and points h at it. */
void mf_wg_udp_set_segment(struct msghdr *h, void *cm, uint16_t seg);

/* What one send did. */
typedef struct {
  uint32_t sent;         /* packets the kernel took */
  uint32_t gso_datagrams; /* of them, datagrams that carried several */
  bool gso_refused;      /* segmentation failed and is now off */
} mf_wg_udp_tx_stats_t;

/* Scratch of one send (the caller's, kept per worker). */
typedef struct {
  uint32_t len[MF_WG_UDP_TX_MAX];
  mf_wg_udp_run_t runs[MF_WG_UDP_TX_MAX];
  struct mmsghdr msgs[MF_WG_UDP_TX_MAX];
  struct iovec iov[MF_WG_UDP_TX_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[MF_WG_UDP_TX_MAX];
} mf_wg_udp_tx_t;

/* Sends n (at most MF_WG_UDP_TX_MAX) buffers, buffer i to to[i], by
 * sendmmsg, runs of a peer's packets as segmented datagrams when o allows.
 * A datagram the kernel refuses is skipped, the rest still go; a full
 * socket queue ends the send. The buffers stay the caller's. */
void mf_wg_udp_send(int fd, mf_wg_udp_offload_t *o, mf_wg_udp_tx_t *tx,
                    mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n,
                    const mf_sockaddr_t *to, mf_wg_udp_tx_stats_t *st);

/* ---- receiving */

/* Per-worker receive state. The spill area is mapped at the first read
 * of a socket with UDP_GRO (pages backed as the kernel fills them). */
typedef struct {
  struct mmsghdr msgs[MF_WG_UDP_RX_PLAIN];
  struct iovec iov[MF_WG_UDP_RX_PLAIN][2];
  union {
    char buf[CMSG_SPACE(sizeof(int)) * 2];
    struct cmsghdr align;
  } ctl[MF_WG_UDP_RX_PLAIN];
  mf_sockaddr_t from[MF_WG_UDP_RX_PLAIN];
  uint32_t len[MF_WG_UDP_RX_PLAIN]; /* bytes of datagram i */
  uint32_t gso[MF_WG_UDP_RX_PLAIN]; /* its segment size; 0: not coalesced */
  uint8_t *spill;                   /* MF_WG_UDP_RX_GRO areas, or NULL */
} mf_wg_udp_rx_t;

void mf_wg_udp_rx_free(mf_wg_udp_rx_t *rx);

/* How many datagrams one read may take into buffers: MF_WG_UDP_RX_GRO
 * with coalescing, MF_WG_UDP_RX_PLAIN without. */
static inline uint32_t mf_wg_udp_rx_room(const mf_wg_udp_offload_t *o)
{
  return o->gro ? MF_WG_UDP_RX_GRO : MF_WG_UDP_RX_PLAIN;
}

/* Reads up to n datagrams (n <= mf_wg_udp_rx_room) by one recvmmsg into
 * the fresh buffers bi[], their sources, sizes and segment sizes into rx.
 * Returns how many (0 when none waits), or -errno. */
int mf_wg_udp_recv(int fd, const mf_wg_udp_offload_t *o, mf_wg_udp_rx_t *rx,
                   mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n);

/* The segment size of a received message's UDP_GRO control message, 0
 * when it has none. */
uint32_t mf_wg_udp_gro_size(struct msghdr *h);

/* Packets of datagram i's len bytes in segments of gso bytes (0: one). */
static inline uint32_t mf_wg_udp_segments(uint32_t len, uint32_t gso)
{
  return gso && len > gso ? (len + gso - 1) / gso : 1;
}

/* What splitting found, besides the packets. */
typedef struct {
  uint32_t coalesced;  /* datagrams that held several packets */
  uint32_t no_buffers; /* packets lost: the pool had no buffer to copy into */
  uint32_t n_bad;      /* datagrams in bad[] */
  uint32_t bad[MF_WG_UDP_RX_PLAIN]; /* too big for a buffer: the caller
                                       drops them (their buffers) */
} mf_wg_udp_split_t;

/* Turns the n datagrams of the last read (in bi[]) into packets: out[k]
 * is the buffer of one packet (current_length set), src[k] where its bytes
 * are, dgram[k] the datagram it came from (its source:
 * rx->from[dgram[k]]), in order. A lone datagram keeps its buffer; a
 * coalesced one keeps its first segment there, and each further one gets
 * a buffer from the pool: with copy_all, or when it straddles the end of
 * the first buffer, its bytes are copied in (src[k] is the buffer's
 * data); otherwise they stay in the spill area (src[k] points there,
 * valid until the next read) for the caller to take what it needs, which
 * saves a copy of packets that are opened straight into their buffer.
 * Returns the number of packets (at most n * MF_WG_UDP_MAX_SEGS, and
 * MF_WG_UDP_RX_MAX_PACKETS). */
uint32_t mf_wg_udp_split(const mf_wg_udp_rx_t *rx, mf_buffer_pool_t *pool,
                         const uint32_t *bi, uint32_t n, bool copy_all,
                         uint32_t *out, const uint8_t **src, uint8_t *dgram,
                         mf_wg_udp_split_t *st);

#endif
