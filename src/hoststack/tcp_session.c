/* TCP sessions: the splice between the engine's connection toward the app
 * (tcp.h) and a kernel socket connected to the real server.
 *
 *   app SYN       -> session + socket, connect() (non-blocking); to a
 *                    stack address: a socketpair, one end to the local
 *                    server (mf_hoststack_serve_local), connected at once
 *   connected     -> the engine sends the SYN-ACK
 *   refused/fails -> the engine sends a RST: the app's connect is refused
 *   silent        -> after the connect timeout, the same RST
 *   app bytes     -> rx ring -> writev() to the socket, once per vector
 *   socket bytes  -> readv() into the tx ring -> segments to the app
 *   app FIN       -> shutdown(SHUT_WR) once its bytes are written
 *   socket EOF    -> FIN to the app after the tx bytes
 *   app RST       -> close with SO_LINGER 0: a RST to the server
 *   server RST    -> RST to the app
 *
 * Backpressure: epoll watches a socket for reading only while the tx ring
 * has room, and for writing only while the rx ring holds bytes the socket
 * would not take; a socket it needs for nothing is not in the set at all
 * (a hung-up socket would otherwise report EPOLLHUP on every wait).
 *
 * Timers: one wheel entry per session, at the earliest of the engine's
 * timers and the connect deadline. Output that a burst could not send
 * (budget or buffers) waits on the pending list for the next iteration. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "daemon/dataplane.h"
#include "hoststack/hs_internal.h"
#include "ip/checksum.h"
#include "ip/headers.h"

#define NS_PER_US 1000u
/* Segments one session may send per event: a frame's worth, so that one
 * fast flow cannot take every buffer and frame from the others. */
#define HS_TCP_BURST 256
/* Room for the IP header in front of a segment the engine writes. */
#define HS_TCP_IP_ROOM 40
/* Reads from one socket per event: bounded, and fair to the others. */
#define HS_TCP_READS 8
/* When the ring memory budget refuses a ring, retry after this long. */
#define HS_TCP_MEM_RETRY_US 50000u

enum { HS_TCP_MEM_WAIT = 1u << 4, HS_TCP_TOUCHED = 1u << 5 };

static uint64_t now_us(const mf_hoststack_t *hs)
{
  return hs->vm->now_ns / NS_PER_US;
}

/* ------------------------------------------------------------ output */

void mf_hs_tcp_out_init(mf_hs_tcp_out_t *o, mf_hoststack_t *hs,
                        mf_node_rt_t *node, uint16_t next)
{
  o->hs = hs;
  o->vm = hs->vm;
  o->node = node;
  o->next = next;
  o->si = MF_HS_INVALID;
  o->budget = 0;
  o->starved = false;
  o->cur = MF_BUFFER_INVALID;
  o->n_out = 0;
  o->n_touched = 0;
}

void mf_hs_tcp_out_flush(mf_hs_tcp_out_t *o)
{
  if (o->n_out == 0)
    return;
  if (o->node) {
    uint16_t nexts[MF_FRAME_SIZE];
    for (uint32_t i = 0; i < o->n_out; i++)
      nexts[i] = o->next;
    mf_graph_enqueue(o->vm, o->node, o->out, nexts, o->n_out);
  } else
    mf_graph_inject(o->vm, o->hs->tcp_out_node, o->out, o->n_out);
  o->n_out = 0;
}

/* Largest TCP segment (header and payload) a large buffer carries: one
 * that, behind a 40-byte IPv6 header, still fits IPv6's 16-bit payload
 * length and IPv4's total length. */
#define HS_TCP_SUPER_ROOM (65535u - HS_TCP_IP_ROOM)

/* True when a large buffer may be lent for a segment: the TUN takes
 * super-segments (the pool has large buffers only then), the connection
 * holds more than one MSS of data (handshakes, ACKs and short answers
 * never need one, and leave the large areas' pages untouched), and half
 * of them stay for tun-input's super-packets, which must never starve. */
static bool may_lend_large(const mf_buffer_pool_t *pool, const mf_tcp_conn_t *c)
{
  return pool->n_large_free > pool->n_large / 2 && c->tx.len > c->snd_mss;
}

/* Lends the engine a span for one segment: a large buffer when the TUN
 * takes super-segments (the engine may then write up to HS_TCP_SUPER_ROOM
 * bytes; seg_send marks what exceeds one MSS for the kernel to cut), an
 * ordinary one otherwise. */
/* Queues a finished segment for the graph, a frame at a time. */
static void out_push(mf_hs_tcp_out_t *o, uint32_t bi)
{
  if (o->n_out == MF_FRAME_SIZE)
    mf_hs_tcp_out_flush(o);
  o->out[o->n_out++] = bi;
}

static uint8_t *seg_alloc(void *ctx, uint32_t *room)
{
  mf_hs_tcp_out_t *o = ctx;
  mf_buffer_pool_t *pool = &o->vm->pool;
  if (o->budget == 0 || o->cur != MF_BUFFER_INVALID) {
    o->starved = true;
    return NULL;
  }
  o->cur = may_lend_large(pool, &o->hs->tcp[o->si]) ? mf_buffer_alloc_large(pool)
                                                    : MF_BUFFER_INVALID;
  if (o->cur == MF_BUFFER_INVALID && mf_buffer_alloc(pool, &o->cur, 1) != 1) {
    o->cur = MF_BUFFER_INVALID;
    o->starved = true;
    return NULL;
  }
  mf_buffer_t *b = mf_buffer_get(pool, o->cur);
  mf_buffer_set_start(b, MF_BUFFER_HEADROOM + HS_TCP_IP_ROOM);
  *room = mf_buffer_is_large(pool, o->cur) ? HS_TCP_SUPER_ROOM
                                           : MF_BUFFER_DATA_SIZE - HS_TCP_IP_ROOM;
  return mf_buffer_data(b);
}

/* A segment with more payload than the app's MSS allows is a
 * super-segment: the kernel cuts it (GSO) at the payload each segment
 * carries beside the same options, and completes each checksum from the
 * pseudo-header sum left in the field, as for its own TSO (virtio-net
 * header: NEEDS_CSUM, GSO_TCPV4/6). Returns false for an ordinary
 * segment, whose checksum the caller computes. */
static bool mark_super_segment(mf_buffer_t *b, const mf_tcp_conn_t *c,
                               mf_tcp_header_t *tcp, uint32_t hlen,
                               uint32_t len, uint64_t pseudo, uint8_t family)
{
  uint32_t optlen = hlen - (uint32_t)sizeof(*tcp);
  uint32_t per_seg = c->snd_mss > optlen ? c->snd_mss - optlen : 1;
  if (len - hlen <= per_seg)
    return false;
  b->flags |= MF_BUFFER_F_GSO | MF_BUFFER_F_CSUM_PARTIAL;
  b->gso_type = family == 4 ? MF_BUFFER_GSO_TCP4 : MF_BUFFER_GSO_TCP6;
  b->gso_size = (uint16_t)per_seg;
  b->csum_start = b->l4_offset;
  b->csum_offset = (uint16_t)offsetof(mf_tcp_header_t, checksum);
  tcp->checksum = htons(mf_csum_fold(pseudo));
  return true;
}

static void seg_send(void *ctx, uint8_t *seg, uint32_t len)
{
  mf_hs_tcp_out_t *o = ctx;
  mf_hoststack_t *hs = o->hs;
  mf_hs_session_t *s = &hs->sessions[o->si];
  uint32_t bi = o->cur;
  mf_buffer_t *b = mf_buffer_get(&o->vm->pool, bi);
  o->cur = MF_BUFFER_INVALID;
  if (len == 0) { /* the engine handed the span back unused */
    mf_buffer_free(&o->vm->pool, &bi, 1);
    return;
  }
  o->budget--;
  b->current_length = len;
  mf_tcp_header_t *tcp = (mf_tcp_header_t *)seg;
  uint32_t hlen = (uint32_t)(tcp->data_offset >> 4) * 4u;
  uint64_t pseudo = mf_hs_push_ip(b, s->family, MF_IP_PROTO_TCP,
                                  s->remote_addr, s->app_addr);
  tcp->checksum = 0;
  if (!mf_buffer_is_large(&o->vm->pool, bi) ||
      !mark_super_segment(b, &hs->tcp[o->si], tcp, hlen, len, pseudo, s->family))
    tcp->checksum = mf_csum_finish(mf_csum_add(pseudo, tcp, len));
  mf_hs_count_rx(hs, s, b, len > hlen ? len - hlen : 0, hs->vm->now_ns);
  out_push(o, bi);
}

static mf_tcp_io_t out_io(mf_hs_tcp_out_t *o, uint32_t si)
{
  o->si = si;
  o->budget = HS_TCP_BURST;
  o->starved = false;
  return (mf_tcp_io_t){o, seg_alloc, seg_send};
}

/* ------------------------------------------------------------ epoll */

static bool tx_ring_full(const mf_tcp_conn_t *c)
{
  return c->tx.data && c->tx.len >= c->tx.size;
}

static uint32_t wanted_events(const mf_hs_session_t *s, const mf_tcp_conn_t *c)
{
  if (s->fd < 0)
    return 0;
  if (s->tcp_flags & MF_HS_TCP_CONNECTING)
    return EPOLLOUT;
  uint32_t want = 0;
  if (!(s->tcp_flags & (MF_HS_TCP_UP_EOF | HS_TCP_MEM_WAIT)) && !tx_ring_full(c))
    want |= EPOLLIN;
  struct iovec iov[2];
  if (!(s->tcp_flags & MF_HS_TCP_SHUT_WR) && mf_tcp_rx_peek(c, iov) > 0)
    want |= EPOLLOUT;
  return want;
}

static void update_interest(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  uint32_t want = wanted_events(s, &hs->tcp[si]);
  if (want == s->ep_events || hs->epfd < 0)
    return;
  struct epoll_event ev = {.events = want, .data.u64 = MF_HS_TAG_SESSION + si};
  int op = want == 0 ? EPOLL_CTL_DEL
                     : s->ep_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(hs->epfd, op, s->fd, &ev) == 0 || op == EPOLL_CTL_DEL)
    s->ep_events = want;
}

/* ------------------------------------------------------------ timers */

static void schedule(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  uint64_t t = mf_tcp_next_timer(&hs->tcp[si]);
  if (s->tcp_flags & MF_HS_TCP_CONNECTING) {
    uint64_t c = (s->created_ns + hs->tcp_connect_ns) / NS_PER_US;
    t = t == 0 || c < t ? c : t;
  }
  if (s->tcp_flags & HS_TCP_MEM_WAIT) {
    uint64_t m = now_us(hs) + HS_TCP_MEM_RETRY_US;
    t = t == 0 || m < t ? m : t;
  }
  if (mf_tw_get(hs->wheel, si) != t)
    mf_tw_set(hs->wheel, si, t);
}

static void add_pending(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (s->tcp_flags & MF_HS_TCP_PENDING)
    return;
  s->tcp_flags |= MF_HS_TCP_PENDING;
  hs->pending[hs->n_pending++] = si;
}

static void drop_pending(mf_hoststack_t *hs, uint32_t si)
{
  if (!(hs->sessions[si].tcp_flags & MF_HS_TCP_PENDING))
    return;
  for (uint32_t i = 0; i < hs->n_pending; i++)
    if (hs->pending[i] == si) {
      hs->pending[i] = hs->pending[--hs->n_pending];
      break;
    }
  hs->sessions[si].tcp_flags &= (uint8_t)~MF_HS_TCP_PENDING;
}

/* ------------------------------------------------------------ ending */

static void add_stats(mf_tcp_stats_t *to, const mf_tcp_stats_t *from)
{
  to->segs_in += from->segs_in;
  to->segs_out += from->segs_out;
  to->bytes_in += from->bytes_in;
  to->bytes_out += from->bytes_out;
  to->retransmits += from->retransmits;
  to->fast_retransmits += from->fast_retransmits;
  to->rto_expiries += from->rto_expiries;
  to->ooo_segments += from->ooo_segments;
  to->zero_window_probes += from->zero_window_probes;
  to->window_full += from->window_full;
  to->tlp_probes += from->tlp_probes;
  to->lost_retransmits += from->lost_retransmits;
}

void mf_hs_tcp_forget(mf_hoststack_t *hs, uint32_t si)
{
  mf_tcp_conn_t *c = &hs->tcp[si];
  add_stats(&hs->c.tcp_closed, &c->stats);
  mf_tcp_release(c, &hs->tcp_mem);
  mf_tw_set(hs->wheel, si, 0);
  drop_pending(hs, si);
}

/* Ends the session; with reset_upstream, the server gets a RST (the app
 * reset, or we gave up) rather than an orderly close. */
static void end_session(mf_hoststack_t *hs, uint32_t si, bool reset_upstream)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (reset_upstream && s->fd >= 0) {
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  mf_hoststack_close(hs, si);
}

/* The upstream failed: the app gets a RST, the session ends. */
static void upstream_failed(mf_hoststack_t *hs, uint32_t si,
                            mf_hs_tcp_out_t *o, uint64_t *counter)
{
  mf_tcp_io_t io = out_io(o, si);
  (*counter)++;
  mf_tcp_abort(&hs->tcp[si], &io);
  end_session(hs, si, true);
}

/* After the engine or the socket moved: act on the engine's events, keep
 * epoll and the timer in step. Returns false when the session ended. */
static bool settle(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  mf_tcp_conn_t *c = &hs->tcp[si];
  uint16_t ev = c->events;
  c->events = 0;
  if (ev & MF_TCP_EV_RESET) {
    end_session(hs, si, true);
    return false;
  }
  if (ev & MF_TCP_EV_CLOSED || c->state == MF_TCP_S_CLOSED) {
    /* Closed toward the app; bytes it sent may still wait for room in
     * the upstream socket: the session stays until they are written. */
    struct iovec iov[2];
    if (s->fd < 0 || (s->tcp_flags & MF_HS_TCP_SHUT_WR) ||
        mf_tcp_rx_peek(c, iov) == 0) {
      end_session(hs, si, false);
      return false;
    }
  }
  if (ev & (MF_TCP_EV_RX_DATA | MF_TCP_EV_RX_FIN))
    s->tcp_flags |= HS_TCP_TOUCHED;
  if (o->starved)
    add_pending(hs, si);
  update_interest(hs, si);
  schedule(hs, si);
  return true;
}

/* ------------------------------------------------------------ upstream */

/* Writes the app's bytes to the socket; shuts its write side after the
 * app's FIN. Returns false when the session ended. */
static bool flush_rx(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  mf_tcp_conn_t *c = &hs->tcp[si];
  s->tcp_flags &= (uint8_t)~HS_TCP_TOUCHED;
  if (s->tcp_flags & (MF_HS_TCP_CONNECTING | MF_HS_TCP_SHUT_WR))
    return true;
  struct iovec iov[2];
  uint32_t n = mf_tcp_rx_peek(c, iov);
  if (n > 0) {
    ssize_t w = writev(s->fd, iov, iov[1].iov_len ? 2 : 1);
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
      upstream_failed(hs, si, o, &hs->c.tcp_up_resets);
      return false;
    }
    if (w > 0) {
      mf_tcp_rx_consume(c, &hs->tcp_mem, (uint32_t)w);
      s->tx_packets++;
      s->tx_bytes += (uint64_t)w;
      mf_tcp_io_t io = out_io(o, si);
      mf_tcp_output(c, &hs->tcp_cfg, now_us(hs), &io); /* window update */
    }
  }
  if (mf_tcp_rx_eof(c) ||
      (c->state == MF_TCP_S_CLOSED && mf_tcp_rx_peek(c, iov) == 0)) {
    shutdown(s->fd, SHUT_WR);
    s->tcp_flags |= MF_HS_TCP_SHUT_WR;
  }
  return settle(hs, si, o);
}

void mf_hs_tcp_flush_touched(mf_hoststack_t *hs, mf_hs_tcp_out_t *o)
{
  for (uint32_t i = 0; i < o->n_touched; i++) {
    uint32_t si = o->touched[i];
    const mf_hs_session_t *s = &hs->sessions[si];
    /* A session may have ended, and its slot been taken, since. */
    if (s->live && s->proto == MF_HS_TCP && (s->tcp_flags & HS_TCP_TOUCHED))
      flush_rx(hs, si, o);
  }
  o->n_touched = 0;
}

/* Reads from the server into the tx ring while it has room; the engine
 * sends what the app's window allows. */
static bool read_upstream(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  mf_tcp_conn_t *c = &hs->tcp[si];
  for (int i = 0; i < HS_TCP_READS && !(s->tcp_flags & MF_HS_TCP_UP_EOF); i++) {
    struct iovec iov[2];
    uint32_t room = mf_tcp_tx_space(c, &hs->tcp_cfg, &hs->tcp_mem, iov);
    if (room == 0) {
      if (!c->tx.data)
        s->tcp_flags |= HS_TCP_MEM_WAIT;
      break;
    }
    ssize_t r = readv(s->fd, iov, iov[1].iov_len ? 2 : 1);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR)
        break;
      upstream_failed(hs, si, o, &hs->c.tcp_up_resets);
      return false;
    }
    if (r == 0) {
      s->tcp_flags |= MF_HS_TCP_UP_EOF;
      mf_tcp_tx_shutdown(c);
      break;
    }
    mf_tcp_tx_commit(c, (uint32_t)r);
    if ((uint32_t)r < room)
      break;
  }
  mf_tcp_io_t io = out_io(o, si);
  mf_tcp_output(c, &hs->tcp_cfg, now_us(hs), &io);
  return settle(hs, si, o);
}

static void connect_done(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    err = errno;
  if (err == EINPROGRESS || err == EALREADY)
    return;
  if (err) {
    upstream_failed(hs, si, o, &hs->c.tcp_up_refused);
    return;
  }
  s->tcp_flags &= (uint8_t)~MF_HS_TCP_CONNECTING;
  hs->c.tcp_connects++;
  mf_tcp_io_t io = out_io(o, si);
  mf_tcp_upstream_connected(&hs->tcp[si], &hs->tcp_cfg, now_us(hs), &io);
  settle(hs, si, o);
}

void mf_hs_tcp_on_socket(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  uint32_t ev = hs->polling_events;
  if (s->tcp_flags & MF_HS_TCP_CONNECTING) {
    connect_done(hs, si, o);
    return;
  }
  if ((ev & EPOLLOUT) && !flush_rx(hs, si, o))
    return;
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_upstream(hs, si, o);
}

/* ------------------------------------------------------------ opening */

/* RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 4 us,
 * F keyed by a secret the app cannot learn, so that it cannot predict our
 * sequence numbers for connections that are not its own. */
static uint32_t initial_seq(const mf_hoststack_t *hs, const mf_hs_session_t *s)
{
  uint32_t alen = s->family == 4 ? 4 : 16;
  uint64_t h = 14695981039346656037ull ^ hs->tcp_secret;
  const uint8_t *parts[2] = {s->app_addr, s->remote_addr};
  for (int p = 0; p < 2; p++)
    for (uint32_t i = 0; i < alen; i++)
      h = (h ^ parts[p][i]) * 1099511628211ull;
  h = (h ^ s->app_port) * 1099511628211ull;
  h = (h ^ s->remote_port) * 1099511628211ull;
  h ^= h >> 29;
  return (uint32_t)(h + hs->vm->now_ns / 4000u);
}

static uint32_t mss_for(const mf_hoststack_t *hs, uint8_t family)
{
  uint32_t ip = family == 4 ? 20 : 40;
  uint32_t mss = hs->tun_mtu - ip - 20;
  /* A segment and its options must fit one buffer. */
  uint32_t cap = MF_BUFFER_DATA_SIZE - HS_TCP_IP_ROOM - 20 - 40;
  return mss < cap ? mss : cap;
}

static int open_socket(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  int af = s->family == 4 ? AF_INET : AF_INET6, on = 1;
  s->fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0)
    return -1;
  /* The app's own stack already decides when to send (Nagle, corking):
   * what it handed us should go on without a second delay. */
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  if (hs->fwmark &&
      setsockopt(s->fd, SOL_SOCKET, SO_MARK, &hs->fwmark, sizeof(hs->fwmark)) < 0)
    return -1;
  return 0;
}

static socklen_t remote_sockaddr(const mf_hs_session_t *s, mf_sockaddr_t *to)
{
  memset(to, 0, sizeof(*to));
  if (s->family == 6) {
    to->in6.sin6_family = AF_INET6;
    to->in6.sin6_port = s->remote_port;
    memcpy(&to->in6.sin6_addr, s->remote_addr, 16);
    return sizeof(to->in6);
  }
  to->in4.sin_family = AF_INET;
  to->in4.sin_port = s->remote_port;
  memcpy(&to->in4.sin_addr, s->remote_addr, 4);
  return sizeof(to->in4);
}

/* A connection to the stack itself: its "upstream" is a socketpair whose
 * other end the local server takes, so the engine, the splice and its
 * backpressure serve it unchanged. Connected at once: the SYN-ACK goes
 * out now. No local server, or one that refuses: a RST, as from a closed
 * port. */
static uint32_t start_local(mf_hoststack_t *hs, uint32_t si,
                            mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  int sv[2];
  if (!hs->local_accept) {
    upstream_failed(hs, si, o, &hs->c.tcp_up_refused);
    return HS_TCP_ERROR_UPSTREAM_UNREACHABLE;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    hs->c.socket_errors++;
    upstream_failed(hs, si, o, &hs->c.tcp_aborts);
    return HS_TCP_ERROR_SOCKET_ERROR;
  }
  s->fd = sv[0];
  if (hs->local_accept(hs->local_ctx, sv[1], s->family, s->app_addr,
                       s->app_port, s->remote_addr, s->remote_port) < 0) {
    upstream_failed(hs, si, o, &hs->c.tcp_up_refused);
    return HS_TCP_ERROR_UPSTREAM_UNREACHABLE;
  }
  hs->c.tcp_local++;
  mf_tcp_io_t io = out_io(o, si);
  mf_tcp_upstream_connected(&hs->tcp[si], &hs->tcp_cfg, now_us(hs), &io);
  settle(hs, si, o);
  return HS_TCP_VERDICT_ACCEPTED;
}

/* Starts the upstream connect for a new session; the SYN-ACK waits for
 * its outcome. Returns the HS_TCP_* code for the SYN's buffer. */
static uint32_t start_connect(mf_hoststack_t *hs, uint32_t si,
                              mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (s->if_index < hs->vm->n_ifs && hs->vm->ifs[s->if_index].type == MF_IF_LOCAL)
    return start_local(hs, si, o);
  if (open_socket(hs, si) < 0) {
    hs->c.socket_errors++;
    upstream_failed(hs, si, o, &hs->c.tcp_aborts);
    return HS_TCP_ERROR_SOCKET_ERROR;
  }
  socklen_t len = remote_sockaddr(s, &s->last_remote);
  if (connect(s->fd, &s->last_remote.sa, len) == 0) {
    hs->c.tcp_connects++;
    mf_tcp_io_t io = out_io(o, si);
    mf_tcp_upstream_connected(&hs->tcp[si], &hs->tcp_cfg, now_us(hs), &io);
  } else if (errno == EINPROGRESS) {
    s->tcp_flags |= MF_HS_TCP_CONNECTING;
  } else {
    upstream_failed(hs, si, o, &hs->c.tcp_up_refused);
    return HS_TCP_ERROR_UPSTREAM_UNREACHABLE;
  }
  settle(hs, si, o);
  return HS_TCP_VERDICT_ACCEPTED;
}

/* Answers a segment no connection takes with a RST, in a new buffer. */
static void send_reset(mf_hoststack_t *hs, const mf_hs_key_t *k,
                       const uint8_t *tcp, uint32_t len, mf_hs_tcp_out_t *o)
{
  uint32_t bi;
  if (mf_buffer_alloc(&hs->vm->pool, &bi, 1) != 1)
    return;
  mf_buffer_t *b = mf_buffer_get(&hs->vm->pool, bi);
  mf_buffer_set_start(b, MF_BUFFER_HEADROOM + HS_TCP_IP_ROOM);
  uint32_t n = mf_tcp_write_reset(tcp, len, mf_buffer_data(b),
                                  MF_BUFFER_DATA_SIZE - HS_TCP_IP_ROOM);
  if (n == 0) {
    mf_buffer_free(&hs->vm->pool, &bi, 1);
    return;
  }
  b->current_length = n;
  mf_tcp_header_t *h = (mf_tcp_header_t *)mf_buffer_data(b);
  uint64_t pseudo = mf_hs_push_ip(b, k->family, MF_IP_PROTO_TCP,
                                  k->remote_addr, k->app_addr);
  h->checksum = mf_csum_finish(mf_csum_add(pseudo, h, n));
  b->tx_if = MF_IF_TUN_INDEX;
  out_push(o, bi);
}

/* A SYN for no session: a new connection, unless the table is full. */
static uint32_t new_connection(mf_hoststack_t *hs, const mf_hs_key_t *k,
                               mf_buffer_t *b, const uint8_t *tcp,
                               uint32_t len, mf_hs_tcp_out_t *o)
{
  uint32_t si = mf_hoststack_open_key(hs, k, hs->vm->now_ns);
  if (si == MF_HS_INVALID) {
    send_reset(hs, k, tcp, len, o);
    return HS_TCP_ERROR_SESSION_LIMIT;
  }
  mf_hs_session_t *s = &hs->sessions[si];
  s->if_index = b->tx_if;
  mf_tcp_conn_t *c = &hs->tcp[si];
  memset(c, 0, sizeof(*c));
  mf_tcp_verdict_t v = mf_tcp_accept(c, &hs->tcp_cfg, tcp, len,
                                     initial_seq(hs, s), mss_for(hs, k->family),
                                     now_us(hs));
  if (v != MF_TCP_V_ACCEPTED) {
    mf_hoststack_close(hs, si);
    send_reset(hs, k, tcp, len, o);
    return HS_TCP_VERDICT_ACCEPTED + (uint32_t)v;
  }
  return start_connect(hs, si, o);
}

/* ------------------------------------------------------------ segments */

static bool is_syn(const mf_tcp_header_t *h)
{
  return (h->flags & (MF_TCP_SYN | MF_TCP_ACK | MF_TCP_RST)) == MF_TCP_SYN;
}

/* Checks the header and checksum; fills the session key. Returns -1 when
 * sound, else the error. */
static int check_segment(mf_buffer_t *b, mf_hs_key_t *k, const uint8_t **tcp,
                         uint32_t *len)
{
  uint8_t *pkt = mf_buffer_data(b);
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  uint32_t l4_len = b->current_length - b->l4_offset;
  const mf_tcp_header_t *h = (const mf_tcp_header_t *)(pkt + b->l4_offset);
  uint64_t pseudo;
  if (v6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)pkt;
    *k = (mf_hs_key_t){MF_HS_TCP, 6, 0, 0, ip->src, ip->dst};
    pseudo = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len);
  } else {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)pkt;
    if (ip->frag & htons(MF_IP4_FRAG_OFFSET | MF_IP4_FRAG_MF))
      return HS_TCP_ERROR_FRAGMENT;
    *k = (mf_hs_key_t){MF_HS_TCP, 4, 0, 0, (const uint8_t *)&ip->src,
                       (const uint8_t *)&ip->dst};
    pseudo = mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_TCP, l4_len);
  }
  if (l4_len < sizeof(*h) || (h->data_offset >> 4) < 5 ||
      (uint32_t)(h->data_offset >> 4) * 4u > l4_len)
    return HS_TCP_ERROR_BAD_TCP_HEADER;
  /* A partial checksum (TUN offload) holds only the pseudo-header sum of
   * the machine's own segment, handed over in memory: nothing to verify. */
  if (!(b->flags & MF_BUFFER_F_CSUM_PARTIAL) && !mf_csum_ok(h, l4_len, pseudo))
    return HS_TCP_ERROR_BAD_TCP_CHECKSUM;
  /* Flags no TCP sends (scans, corruption): SYN with FIN or RST, or none
   * of SYN, ACK and RST. Dropped by name, never answered. */
  uint8_t f = h->flags;
  if (((f & MF_TCP_SYN) && (f & (MF_TCP_FIN | MF_TCP_RST))) ||
      !(f & (MF_TCP_SYN | MF_TCP_ACK | MF_TCP_RST)))
    return HS_TCP_VERDICT_BAD_FLAGS;
  k->app_port = h->src_port;
  k->remote_port = h->dst_port;
  *tcp = (const uint8_t *)h;
  *len = l4_len;
  return -1;
}

uint32_t mf_hs_tcp_segment(mf_hoststack_t *hs, mf_buffer_t *b,
                           mf_hs_tcp_out_t *o)
{
  mf_hs_key_t k;
  const uint8_t *tcp;
  uint32_t len;
  int err = check_segment(b, &k, &tcp, &len);
  if (err >= 0)
    return (uint32_t)err;
  const mf_tcp_header_t *h = (const mf_tcp_header_t *)tcp;
  uint32_t si = mf_hoststack_find_key(hs, &k);
  if (si != MF_HS_INVALID && is_syn(h) &&
      hs->tcp[si].state == MF_TCP_S_TIME_WAIT) {
    /* A new connection on the tuple of one in TIME-WAIT (RFC 6191): the
     * old one is over on both sides; the slot is recycled. */
    hs->c.tcp_time_wait_reused++;
    end_session(hs, si, false);
    si = MF_HS_INVALID;
  }
  if (si == MF_HS_INVALID) {
    if (is_syn(h))
      return new_connection(hs, &k, b, tcp, len, o);
    send_reset(hs, &k, tcp, len, o);
    return HS_TCP_ERROR_NO_SESSION;
  }
  mf_hs_session_t *s = &hs->sessions[si];
  s->last_ns = hs->vm->now_ns;
  bool touched = s->tcp_flags & HS_TCP_TOUCHED;
  mf_tcp_io_t io = out_io(o, si);
  mf_tcp_verdict_t v = mf_tcp_input(&hs->tcp[si], &hs->tcp_cfg, &hs->tcp_mem,
                                    tcp, len, now_us(hs), &io);
  if (v == MF_TCP_V_RST)
    hs->c.tcp_app_resets++;
  /* The app's bytes go upstream once per vector and session (one writev
   * for many segments), from mf_hs_tcp_flush_touched. */
  if (settle(hs, si, o) && !touched && (s->tcp_flags & HS_TCP_TOUCHED)) {
    if (o->n_touched < MF_FRAME_SIZE)
      o->touched[o->n_touched++] = si;
    else
      flush_rx(hs, si, o);
  }
  return HS_TCP_VERDICT_ACCEPTED + (uint32_t)v;
}

/* ------------------------------------------------------------ timers */

static void on_timer(mf_hoststack_t *hs, uint32_t si, mf_hs_tcp_out_t *o)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (!s->live || s->proto != MF_HS_TCP)
    return;
  if ((s->tcp_flags & MF_HS_TCP_CONNECTING) &&
      hs->vm->now_ns >= s->created_ns + hs->tcp_connect_ns) {
    upstream_failed(hs, si, o, &hs->c.tcp_up_timeouts);
    return;
  }
  s->tcp_flags &= (uint8_t)~HS_TCP_MEM_WAIT;
  mf_tcp_io_t io = out_io(o, si);
  mf_tcp_on_timer(&hs->tcp[si], &hs->tcp_cfg, now_us(hs), &io);
  uint8_t before = hs->tcp[si].state;
  if (settle(hs, si, o) && before != MF_TCP_S_CLOSED &&
      (s->tcp_flags & HS_TCP_TOUCHED))
    flush_rx(hs, si, o);
}

static void run_pending(mf_hoststack_t *hs, mf_hs_tcp_out_t *o)
{
  uint32_t n = hs->n_pending, list[MF_FRAME_SIZE];
  if (n > MF_FRAME_SIZE)
    n = MF_FRAME_SIZE;
  memcpy(list, hs->pending + hs->n_pending - n, n * sizeof(*list));
  for (uint32_t i = 0; i < n; i++)
    drop_pending(hs, list[i]);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t si = list[i];
    if (!hs->sessions[si].live || hs->sessions[si].proto != MF_HS_TCP)
      continue;
    mf_tcp_io_t io = out_io(o, si);
    mf_tcp_output(&hs->tcp[si], &hs->tcp_cfg, now_us(hs), &io);
    settle(hs, si, o);
    mf_hs_tcp_out_flush(o);
  }
}

void mf_hs_tcp_run_timers(mf_hoststack_t *hs, uint64_t now)
{
  mf_hs_tcp_out_t o;
  mf_hs_tcp_out_init(&o, hs, NULL, 0);
  uint32_t due[MF_FRAME_SIZE], n;
  /* Bounded: a loop iteration serves at most a few frames of timers; the
   * rest stay due and fire on the next (epoll then waits 0 ms). */
  for (int round = 0; round < 4; round++) {
    n = mf_tw_expire(hs->wheel, now / NS_PER_US, due, MF_FRAME_SIZE);
    for (uint32_t i = 0; i < n; i++) {
      on_timer(hs, due[i], &o);
      mf_hs_tcp_out_flush(&o);
    }
    if (n < MF_FRAME_SIZE)
      break;
  }
  run_pending(hs, &o);
  mf_hs_tcp_out_flush(&o);
}

void mf_hs_tcp_idle_out(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_tcp_out_t o;
  mf_hs_tcp_out_init(&o, hs, NULL, 0);
  upstream_failed(hs, si, &o, &hs->c.tcp_aborts);
  mf_hs_tcp_out_flush(&o);
}

/* ------------------------------------------------------------ setup */

void mf_hoststack_serve_local(mf_hoststack_t *hs, mf_hs_local_accept_fn *fn,
                              void *ctx)
{
  hs->local_accept = fn;
  hs->local_ctx = ctx;
}

int mf_hoststack_tcp_setup(mf_hoststack_t *hs, const mf_tcp_cfg_t *cfg,
                           uint64_t mem_budget, uint64_t connect_timeout_ns,
                           uint64_t idle_ns, uint32_t tun_mtu)
{
  hs->tcp = calloc(hs->n_sessions, sizeof(*hs->tcp));
  hs->pending = calloc(hs->n_sessions, sizeof(*hs->pending));
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  hs->wheel = mf_tw_create(hs->n_sessions, 1000, now);
  if (!hs->tcp || !hs->pending || !hs->wheel)
    return -1;
  hs->tcp_cfg = *cfg;
  mf_tcp_mem_init(&hs->tcp_mem, mem_budget);
  hs->tcp_connect_ns = connect_timeout_ns;
  hs->tcp_idle_ns = idle_ns;
  hs->tun_mtu = tun_mtu;
  hs->tcp_out_node = mf_graph_node_index(hs->vm, "tun-output");
  if (getrandom(&hs->tcp_secret, sizeof(hs->tcp_secret), GRND_NONBLOCK) !=
      (ssize_t)sizeof(hs->tcp_secret))
    hs->tcp_secret = (uint64_t)(uintptr_t)hs ^ hs->vm->now_ns;
  return 0;
}
