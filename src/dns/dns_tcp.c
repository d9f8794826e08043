/* The DNS server's TCP client connections (RFC 7766): accepting what the
 * host stack hands over, reading framed queries, writing framed answers,
 * closing idle and misbehaving connections.
 *
 * A connection ends:
 *   - framing error: a length prefix out of bounds, or the stream ended
 *     inside a message (RFC 7766 8: the stream cannot be resynchronised);
 *   - the client's close: at once when nothing is in flight, else after
 *     the last answer (a client may half-close after its queries);
 *   - tcp-idle: nothing in flight and silent for tcp_idle_ms (RFC 7766
 *     6.2.3; the client reconnects for its next query);
 *   - a read or write error (the host stack reset its end), or answers the
 *     client does not read beyond DNS_TCP_OUT_CAP.
 * Closing our end makes the host stack send the app a FIN. */
#include "dns/dns_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns/dns_server_internal.h"

#define NS_PER_MS 1000000ull
#define SWEEP_NS (500 * NS_PER_MS)
/* Per readable event: messages served and reads made, so that one busy
 * client cannot hold the loop; the rest waits for the next event or tick. */
#define EVENT_MESSAGES 64
#define EVENT_READS 16

enum {
  DNS_TCP_F_EOF = 1u << 0,    /* the client closed its side */
  DNS_TCP_F_RESUME = 1u << 1, /* read bytes wait to be served */
};

int dns_tcp_create(dns_tcp_table_t *t, uint32_t max)
{
  t->n = max;
  t->free_head = DNS_NONE;
  t->n_open = 0;
  if (max == 0)
    return 0;
  t->conns = calloc(max, sizeof(*t->conns));
  /* Pages of a slot's output buffer are touched only when a client is
   * slow to read: the table costs little until then. */
  t->out = calloc(max, DNS_TCP_OUT_CAP);
  if (!t->conns || !t->out)
    return -1;
  for (uint32_t i = max; i-- > 0;) {
    t->conns[i].fd = -1;
    t->conns[i].next_free = t->free_head;
    t->free_head = i;
  }
  return 0;
}

void dns_tcp_destroy(dns_tcp_table_t *t)
{
  for (uint32_t i = 0; t->conns && i < t->n; i++)
    if (t->conns[i].fd >= 0)
      close(t->conns[i].fd);
  free(t->conns);
  free(t->out);
  t->conns = NULL;
  t->out = NULL;
  t->n = t->n_open = 0;
}

static uint8_t *out_buf(dns_tcp_table_t *t, uint32_t slot)
{
  return t->out + (size_t)slot * DNS_TCP_OUT_CAP;
}

static void close_conn(mf_dns_server_t *s, uint32_t slot)
{
  dns_tcp_table_t *t = &s->tcp;
  dns_tcp_conn_t *c = &t->conns[slot];
  if (c->fd < 0)
    return;
  close(c->fd); /* also leaves the epoll set */
  c->fd = -1;
  c->ep_events = 0;
  c->next_free = t->free_head;
  t->free_head = slot;
  t->n_open--;
}

/* Nothing more to read, nothing in flight, nothing to write. */
static bool finished(const dns_tcp_conn_t *c)
{
  return (c->flags & DNS_TCP_F_EOF) && c->inflight == 0 && c->out_len == 0;
}

/* Reads only while there is room for what a query brings (a pending slot,
 * an answer); writes are watched only while some wait. A connection that
 * wants nothing leaves the set (a hung-up socket would otherwise wake
 * every wait with EPOLLHUP). */
static void update_interest(mf_dns_server_t *s, uint32_t slot)
{
  dns_tcp_table_t *t = &s->tcp;
  dns_tcp_conn_t *c = &t->conns[slot];
  uint32_t want = 0;
  if (!(c->flags & DNS_TCP_F_EOF) && c->inflight < DNS_TCP_MAX_INFLIGHT &&
      c->out_len == 0)
    want |= EPOLLIN;
  if (c->out_len)
    want |= EPOLLOUT;
  if (want == c->ep_events || t->epfd < 0)
    return;
  struct epoll_event ev = {.events = want, .data.u64 = MF_DNS_TAG_TCP + slot};
  int op = want == 0 ? EPOLL_CTL_DEL
                     : c->ep_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(t->epfd, op, c->fd, &ev) == 0 || op == EPOLL_CTL_DEL)
    c->ep_events = want;
}

/* Serves the messages the connection has, reading more while it may.
 * Returns false when the connection was closed. */
static bool serve_input(mf_dns_server_t *s, uint32_t slot)
{
  dns_tcp_conn_t *c = &s->tcp.conns[slot];
  uint32_t gen = c->gen;
  int messages = EVENT_MESSAGES, reads = EVENT_READS;
  c->flags &= (uint8_t)~DNS_TCP_F_RESUME;
  while (c->inflight < DNS_TCP_MAX_INFLIGHT && c->out_len == 0) {
    if (messages == 0) {
      c->flags |= DNS_TCP_F_RESUME;
      s->tcp.resume_due = true;
      break;
    }
    const uint8_t *msg;
    size_t len;
    mf_dns_tcp_status_t st = mf_dns_tcp_stream_next(&c->in, &msg, &len);
    if (st == MF_DNS_TCP_MESSAGE) {
      messages--;
      c->last_ns = s->vm->now_ns;
      dns_input_tcp_query(s, slot, msg, len);
      if (c->fd < 0 || c->gen != gen)
        return false; /* an answer could not be written */
      continue;
    }
    if (st == MF_DNS_TCP_BAD_LENGTH) {
      s->st.tcp_framing_errors++;
      close_conn(s, slot);
      return false;
    }
    if ((c->flags & DNS_TCP_F_EOF) || reads-- == 0)
      break;
    uint8_t *at;
    size_t room = mf_dns_tcp_stream_space(&c->in, &at);
    ssize_t r = read(c->fd, at, room);
    if (r > 0) {
      mf_dns_tcp_stream_commit(&c->in, (size_t)r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    if (r < 0 || mf_dns_tcp_stream_partial(&c->in)) {
      /* Reset by the host stack (the app's RST), or a message the close
       * cut short. */
      if (r == 0)
        s->st.tcp_framing_errors++;
      close_conn(s, slot);
      return false;
    }
    c->flags |= DNS_TCP_F_EOF;
  }
  if (finished(c)) {
    close_conn(s, slot);
    return false;
  }
  update_interest(s, slot);
  return true;
}

/* Writes what waits in the output buffer. false: the connection closed. */
static bool flush_out(mf_dns_server_t *s, uint32_t slot)
{
  dns_tcp_conn_t *c = &s->tcp.conns[slot];
  uint8_t *out = out_buf(&s->tcp, slot);
  if (c->out_len == 0)
    return true;
  ssize_t w = send(c->fd, out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w < 0) {
    if (errno == EAGAIN || errno == EINTR)
      return true;
    close_conn(s, slot);
    return false;
  }
  c->out_len -= (uint32_t)w;
  memmove(out, out + w, c->out_len);
  c->last_ns = s->vm->now_ns;
  return true;
}

bool dns_tcp_send(mf_dns_server_t *s, uint32_t conn, uint32_t gen,
                  const uint8_t *msg, size_t len)
{
  dns_tcp_table_t *t = &s->tcp;
  if (conn >= t->n || t->conns[conn].fd < 0 || t->conns[conn].gen != gen ||
      len > MF_DNS_MSG_MAX) {
    s->st.tcp_answers_lost++;
    return false;
  }
  dns_tcp_conn_t *c = &t->conns[conn];
  uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
  size_t total = len + 2, done = 0;
  if (c->out_len == 0) {
    struct iovec iov[2] = {{prefix, 2}, {(void *)msg, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
      s->st.tcp_answers_lost++;
      close_conn(s, conn);
      return false;
    }
    done = w > 0 ? (size_t)w : 0;
  }
  if (done < total) {
    if (total - done > DNS_TCP_OUT_CAP - c->out_len) {
      s->st.tcp_overflows++;
      s->st.tcp_answers_lost++;
      close_conn(s, conn);
      return false;
    }
    uint8_t *out = out_buf(t, conn) + c->out_len;
    if (done < 2) {
      memcpy(out, prefix + done, 2 - done);
      out += 2 - done;
      done = 2;
    }
    memcpy(out, msg + (done - 2), total - done);
    c->out_len += (uint32_t)(total - done);
    update_interest(s, conn);
  }
  c->last_ns = s->vm->now_ns;
  s->st.tcp_answers++;
  return true;
}

void dns_tcp_query_begun(mf_dns_server_t *s, uint32_t conn)
{
  if (conn < s->tcp.n)
    s->tcp.conns[conn].inflight++;
}

void dns_tcp_query_ended(mf_dns_server_t *s, uint32_t conn, uint32_t gen)
{
  dns_tcp_table_t *t = &s->tcp;
  if (conn >= t->n || t->conns[conn].fd < 0 || t->conns[conn].gen != gen)
    return;
  dns_tcp_conn_t *c = &t->conns[conn];
  if (c->inflight)
    c->inflight--;
  if (finished(c)) {
    close_conn(s, conn);
    return;
  }
  /* Bytes already read may hold the queries that waited for this room;
   * they are served from the tick, outside whatever called us. */
  if (c->inflight == DNS_TCP_MAX_INFLIGHT - 1) {
    c->flags |= DNS_TCP_F_RESUME;
    t->resume_due = true;
  }
}

void dns_tcp_tick(mf_dns_server_t *s, uint64_t now_ns)
{
  dns_tcp_table_t *t = &s->tcp;
  if (t->resume_due) {
    t->resume_due = false;
    for (uint32_t i = 0; i < t->n; i++)
      if (t->conns[i].fd >= 0 && (t->conns[i].flags & DNS_TCP_F_RESUME))
        serve_input(s, i);
  }
  if (t->n_open == 0 || now_ns < t->next_sweep_ns)
    return;
  t->next_sweep_ns = now_ns + SWEEP_NS;
  uint64_t idle = (uint64_t)s->cfg.tcp_idle_ms * NS_PER_MS;
  for (uint32_t i = 0; i < t->n; i++) {
    dns_tcp_conn_t *c = &t->conns[i];
    if (c->fd >= 0 && c->inflight == 0 && now_ns - c->last_ns >= idle) {
      s->st.tcp_idle_closes++;
      close_conn(s, i);
    }
  }
}

/* ---- public: the host stack's hand-over and the main loop's events ---- */

int mf_dns_server_tcp_accept(mf_dns_server_t *s, int fd, uint8_t family,
                             const uint8_t *app, uint16_t app_port,
                             const uint8_t *local)
{
  if (!s || s->tcp.free_head == DNS_NONE ||
      (family != AF_INET && family != AF_INET6)) {
    if (s)
      s->st.tcp_refused++;
    close(fd);
    return -1;
  }
  dns_tcp_table_t *t = &s->tcp;
  uint32_t slot = t->free_head;
  dns_tcp_conn_t *c = &t->conns[slot];
  uint32_t alen = family == AF_INET ? 4 : 16;
  t->free_head = c->next_free;
  t->n_open++;
  c->fd = fd;
  c->gen++;
  c->family = family;
  c->flags = 0;
  c->inflight = 0;
  c->app_port = app_port;
  c->ep_events = 0;
  c->out_len = 0;
  c->last_ns = s->vm->now_ns;
  memset(c->app_addr, 0, 16);
  memset(c->local_addr, 0, 16);
  memcpy(c->app_addr, app, alen);
  memcpy(c->local_addr, local, alen);
  mf_dns_tcp_stream_init(&c->in);
  update_interest(s, slot);
  if (t->epfd >= 0 && c->ep_events == 0) {
    s->st.tcp_refused++;
    close_conn(s, slot);
    return -1;
  }
  s->st.tcp_accepted++;
  return 0;
}

void mf_dns_server_watch(mf_dns_server_t *s, int epfd)
{
  if (s)
    s->tcp.epfd = epfd;
}

void mf_dns_server_on_event(mf_dns_server_t *s, uint64_t tag, uint32_t events)
{
  if (!s || !MF_DNS_OWNS_TAG(tag))
    return;
  uint32_t slot = (uint32_t)(tag - MF_DNS_TAG_TCP);
  /* The connection may have closed earlier in this loop iteration. */
  if (slot >= s->tcp.n || s->tcp.conns[slot].fd < 0)
    return;
  /* A hang-up shows on the write too: a peer gone ends the connection
   * even while nothing is read from it. */
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && !flush_out(s, slot))
    return;
  serve_input(s, slot);
}
