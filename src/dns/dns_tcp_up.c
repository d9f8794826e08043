/* The DNS server's TCP retries to upstreams (RFC 7766 5): a kernel socket
 * through our own TUN per truncated answer, one framed query out, one
 * framed answer in, then closed.
 *
 * A retry ends:
 *   - answered: the framed answer is complete (RFC 1035 4.2.2); it goes
 *     on the path of a UDP answer;
 *   - failed: connect refused or unreachable, a reset, the stream closed
 *     or a bad length before the answer: the kept truncated answer is
 *     relayed (tcp-upstream-failures);
 *   - the pending query's try timer expired, or the query ended some other
 *     way (a profile switch): closed, nothing relayed from here.
 * Our side closes first, so its port spends TIME-WAIT (RFC 9293 3.6.1)
 * in the reserved range, not the upstream's. */
#include "dns/dns_tcp_up.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_server_internal.h"

#define MEM_PER_CONN (DNS_TCP_UP_IN_CAP + DNS_TCP_UP_KEEP_MAX)
#define READ_CHUNK 4096
#define EVENT_READS 16 /* per readable event: the rest on the next one */

int dns_tcp_up_create(dns_tcp_up_table_t *t, uint32_t max)
{
  t->n = max;
  t->free_head = DNS_NONE;
  t->n_open = 0;
  t->next_port = 0;
  if (max == 0)
    return 0;
  t->conns = calloc(max, sizeof(*t->conns));
  /* Pages are touched only as answers arrive. */
  t->mem = calloc(max, MEM_PER_CONN);
  if (!t->conns || !t->mem)
    return -1;
  for (uint32_t i = max; i-- > 0;) {
    t->conns[i].fd = -1;
    t->conns[i].next_free = t->free_head;
    t->free_head = i;
  }
  return 0;
}

void dns_tcp_up_destroy(dns_tcp_up_table_t *t)
{
  for (uint32_t i = 0; t->conns && i < t->n; i++)
    if (t->conns[i].fd >= 0)
      close(t->conns[i].fd);
  free(t->conns);
  free(t->mem);
  t->conns = NULL;
  t->mem = NULL;
  t->n = t->n_open = 0;
}

static uint8_t *answer_buf(dns_tcp_up_table_t *t, uint32_t conn)
{
  return t->mem + (size_t)conn * MEM_PER_CONN;
}

static uint8_t *kept_buf(dns_tcp_up_table_t *t, uint32_t conn)
{
  return answer_buf(t, conn) + DNS_TCP_UP_IN_CAP;
}

void dns_tcp_up_close(mf_dns_server_t *s, uint32_t conn)
{
  dns_tcp_up_table_t *t = &s->tcp_up;
  if (conn >= t->n || t->conns[conn].fd < 0)
    return;
  dns_tcp_up_conn_t *c = &t->conns[conn];
  close(c->fd); /* also leaves the epoll set */
  c->fd = -1;
  c->state = DNS_TCP_UP_FREE;
  c->ep_events = 0;
  c->next_free = t->free_head;
  t->free_head = conn;
  t->n_open--;
  if (c->slot < s->cfg.max_pending && s->pending[c->slot].tcp_up == conn)
    s->pending[c->slot].tcp_up = DNS_NONE;
}

static void watch(mf_dns_server_t *s, uint32_t conn, uint32_t want)
{
  dns_tcp_up_table_t *t = &s->tcp_up;
  dns_tcp_up_conn_t *c = &t->conns[conn];
  int epfd = s->tcp.epfd; /* the set the client connections are in */
  if (epfd < 0 || want == c->ep_events)
    return;
  struct epoll_event ev = {.events = want, .data.u64 = MF_DNS_TAG_TCP_UP + conn};
  int op = c->ep_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epfd, op, c->fd, &ev) == 0)
    c->ep_events = want;
}

/* The socket toward upstream u from the TUN's address of its family and
 * a port of the reserved range; connect under way. -1 when it cannot be
 * made: errno says why (ENETUNREACH for IPv6 without a route, say). */
static int open_socket(dns_tcp_up_table_t *t, const mf_dns_upstream_t *u)
{
  struct sockaddr_storage src = {0}, dst = {0};
  socklen_t alen;
  if (u->family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&src, *b = (struct sockaddr_in *)&dst;
    a->sin_family = b->sin_family = AF_INET;
    memcpy(&a->sin_addr, t->src4, 4);
    memcpy(&b->sin_addr, u->addr, 4);
    b->sin_port = htons(u->port);
    alen = sizeof(*a);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&src, *b = (struct sockaddr_in6 *)&dst;
    a->sin6_family = b->sin6_family = AF_INET6;
    memcpy(&a->sin6_addr, t->src6, 16);
    memcpy(&b->sin6_addr, u->addr, 16);
    b->sin6_port = htons(u->port);
    alen = sizeof(*a);
  }
  int fd = socket(u->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  /* No fwmark: it must be routed as the machine's traffic, into the TUN;
   * the device binding makes sure of it even without auto_route. */
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t->dev,
                 (socklen_t)strlen(t->dev) + 1) < 0)
    goto fail;
  int bound = -1;
  for (uint32_t k = 0; k < MF_DNS_TCP_UP_PORTS && bound < 0; k++) {
    uint16_t port = (uint16_t)(MF_DNS_TCP_UP_SPORT_BASE + t->next_port);
    t->next_port = (t->next_port + 1) % MF_DNS_TCP_UP_PORTS;
    if (u->family == AF_INET)
      ((struct sockaddr_in *)&src)->sin_port = htons(port);
    else
      ((struct sockaddr_in6 *)&src)->sin6_port = htons(port);
    bound = bind(fd, (struct sockaddr *)&src, alen);
    if (bound < 0 && errno != EADDRINUSE)
      goto fail;
  }
  if (bound < 0)
    goto fail;
  if (connect(fd, (struct sockaddr *)&dst, alen) < 0 && errno != EINPROGRESS)
    goto fail;
  return fd;
fail:;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

bool dns_tcp_up_start(mf_dns_server_t *s, uint32_t slot, const uint8_t *answer,
                      size_t len)
{
  dns_tcp_up_table_t *t = &s->tcp_up;
  dns_pending_t *p = &s->pending[slot];
  if (t->n == 0 || t->dev[0] == 0 || p->conn == DNS_NONE ||
      p->tcp_up != DNS_NONE || len > DNS_TCP_UP_KEEP_MAX)
    return false;
  uint32_t n_up;
  const mf_dns_upstream_t *ups = dns_server_upstreams(s, p->policy.group, &n_up);
  if (p->try_index >= n_up)
    return false;
  const mf_dns_upstream_t *u = &ups[p->try_index];
  if (t->free_head == DNS_NONE) {
    s->st.tcp_up_full++;
    return false;
  }
  s->st.tcp_up_retries++;
  if ((u->family == AF_INET && !t->has4) || (u->family == AF_INET6 && !t->has6)) {
    s->st.tcp_up_failures++;
    return false;
  }
  uint32_t conn = t->free_head;
  dns_tcp_up_conn_t *c = &t->conns[conn];
  /* The same ID as the UDP try: the answer is matched the same way. */
  size_t q = mf_dns_build_query(&p->qname, p->qtype, p->qclass, p->up_id,
                                MF_DNS_EDNS_UDP_SIZE, p->edns_do, c->query + 2,
                                DNS_TCP_UP_QUERY_MAX);
  int fd = q ? open_socket(t, u) : -1;
  if (fd < 0) {
    s->st.tcp_up_failures++;
    return false;
  }
  t->free_head = c->next_free;
  t->n_open++;
  c->fd = fd;
  c->slot = slot;
  c->state = DNS_TCP_UP_CONNECTING;
  c->query[0] = (uint8_t)(q >> 8);
  c->query[1] = (uint8_t)q;
  c->q_len = (uint16_t)(q + 2);
  c->q_sent = 0;
  c->ep_events = 0;
  memcpy(kept_buf(t, conn), answer, len);
  c->kept_len = (uint16_t)len;
  mf_dns_tcp_reasm_init(&c->in, answer_buf(t, conn), DNS_TCP_UP_IN_CAP);
  p->tcp_up = conn;
  watch(s, conn, EPOLLOUT);
  /* A new try of the same upstream: it gets a try's time, within the
   * query's total. */
  dns_server_arm_try(s, slot, s->vm->now_ns);
  return true;
}

/* Ends the retry on conn and serves its query: with the answer msg, or
 * (msg NULL) with the kept truncated one; dns_input_tcp_up_done counts
 * which. */
static void finish(mf_dns_server_t *s, uint32_t conn, const uint8_t *msg,
                   size_t len)
{
  dns_tcp_up_conn_t *c = &s->tcp_up.conns[conn];
  uint32_t slot = c->slot;
  size_t kept_len = c->kept_len;
  /* The buffers stay readable after the close: nothing starts a retry
   * until dns_input_tcp_up_done returns. */
  dns_tcp_up_close(s, conn);
  dns_input_tcp_up_done(s, slot, msg, len, kept_buf(&s->tcp_up, conn),
                        kept_len);
}

/* Writes what is left of the query. false: failed (conn finished). */
static bool write_query(mf_dns_server_t *s, uint32_t conn)
{
  dns_tcp_up_conn_t *c = &s->tcp_up.conns[conn];
  while (c->q_sent < c->q_len) {
    ssize_t w = send(c->fd, c->query + c->q_sent, c->q_len - c->q_sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
      return true;
    if (w <= 0) {
      finish(s, conn, NULL, 0);
      return false;
    }
    c->q_sent = (uint16_t)(c->q_sent + w);
  }
  c->state = DNS_TCP_UP_READING;
  watch(s, conn, EPOLLIN);
  return true;
}

/* Reads the answer on; finishes conn once it is whole or cannot be. */
static void read_answer(mf_dns_server_t *s, uint32_t conn)
{
  dns_tcp_up_conn_t *c = &s->tcp_up.conns[conn];
  uint8_t chunk[READ_CHUNK];
  for (int reads = 0; reads < EVENT_READS; reads++) {
    ssize_t r = read(c->fd, chunk, sizeof(chunk));
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (r <= 0) {
      finish(s, conn, NULL, 0); /* reset, or closed before the answer */
      return;
    }
    size_t used;
    const uint8_t *msg;
    size_t len;
    mf_dns_tcp_status_t st =
        mf_dns_tcp_reasm_feed(&c->in, chunk, (size_t)r, &used, &msg, &len);
    if (st == MF_DNS_TCP_MESSAGE) {
      finish(s, conn, msg, len); /* bytes after it are not ours to read */
      return;
    }
    if (st == MF_DNS_TCP_BAD_LENGTH) {
      finish(s, conn, NULL, 0);
      return;
    }
  }
}

void dns_tcp_up_on_event(mf_dns_server_t *s, uint32_t conn, uint32_t events)
{
  if (conn >= s->tcp_up.n || s->tcp_up.conns[conn].fd < 0)
    return; /* closed earlier in this loop iteration */
  dns_tcp_up_conn_t *c = &s->tcp_up.conns[conn];
  if (c->state == DNS_TCP_UP_CONNECTING) {
    int err = 0;
    socklen_t elen = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
      err = errno;
    if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      finish(s, conn, NULL, 0); /* refused, unreachable */
      return;
    }
    c->state = DNS_TCP_UP_WRITING;
  }
  if (c->state == DNS_TCP_UP_WRITING && !write_query(s, conn))
    return;
  if (c->state == DNS_TCP_UP_READING && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    read_answer(s, conn);
}
