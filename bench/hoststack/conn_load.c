/* conn_load: TCP connection load for bench/hoststack, both ends.
 *
 *   conn_load serve ADDR PORT close|hold
 *       Accepts connections and answers the first bytes of each with one
 *       byte; then closes it (close) or keeps it open (hold). Prints
 *       "listening" once bound, and its counters as one JSON line when
 *       SIGTERM or SIGINT ends it.
 *   conn_load rate ADDR PORT SECONDS INFLIGHT [COUNT]
 *       For SECONDS, keeps up to INFLIGHT connections going, each: connect,
 *       send one byte, read one byte, read to EOF, close. The server closes
 *       first, so TIME-WAIT stays on its side (RFC 9293 3.6: the active
 *       closer waits) and the client does not run out of ephemeral ports.
 *       With COUNT, stops after starting COUNT connections (COUNT 1 is a
 *       probe: does one connection get through?). Prints one JSON line.
 *   conn_load hold ADDR PORT COUNT INFLIGHT
 *       Opens COUNT connections, at most INFLIGHT connecting at once, each
 *       exchanging one byte; prints one JSON line; holds them until stdin
 *       reaches EOF or SIGTERM/SIGINT (at most HOLD_MAX_MS); prints a second
 *       JSON line with how many the peer closed meanwhile.
 *
 * One process, one epoll loop, non-blocking sockets: 10,000 idle
 * connections cost a descriptor each and no thread. Both ends raise
 * RLIMIT_NOFILE to the hard limit. Every wait is bounded: a connection that
 * does not finish within CONN_TIMEOUT_MS counts as timed out, and no phase
 * runs longer than its ceiling. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_TIMEOUT_MS 5000
#define OPEN_MAX_MS 300000 /* hold: the whole opening phase */
#define HOLD_MAX_MS 600000 /* hold: how long connections are kept */
#define SERVE_MAX_MS 7200000
#define LISTEN_BACKLOG 4096
#define EVENTS_PER_WAIT 256
#define STDIN_TAG UINT32_MAX
#define LISTEN_TAG (UINT32_MAX - 1)

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
}

static void catch_stop_signals(void)
{
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a reset peer must not end the run */
}

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The soft limit of open files up to the hard one: 10,000 idle connections
 * need as many descriptors, and the usual soft limit is 1024. */
static rlim_t raise_nofile(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return 0;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
                      unsigned long *out)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int parse_endpoint(const char *addr, const char *port,
                          struct sockaddr_storage *ss, socklen_t *len)
{
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                           .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai;
  if (getaddrinfo(addr, port, &hints, &ai) != 0)
    return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

static int watch(int epfd, int op, int fd, uint32_t events, uint32_t tag)
{
  struct epoll_event ev = {.events = events, .data.u32 = tag};
  return epoll_ctl(epfd, op, fd, &ev);
}

/* ------------------------------------------------------------ server */

typedef struct {
  uint64_t accepted, answered, closed, accept_errors, fd_limit_hits;
} server_counters_t;

/* Accepts until the backlog is empty. Out of descriptors, it stops and
 * says so: the pending connections wait in the backlog until some close. */
static int accept_all(int epfd, int lfd, server_counters_t *c)
{
  for (int i = 0; i < LISTEN_BACKLOG; i++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        c->fd_limit_hits++;
        return -1;
      }
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        c->accept_errors++;
      return 0;
    }
    if (watch(epfd, EPOLL_CTL_ADD, fd, EPOLLIN, (uint32_t)fd) < 0) {
      close(fd);
      c->accept_errors++;
      continue;
    }
    c->accepted++;
  }
  return 0;
}

static void serve_readable(int fd, int close_after, server_counters_t *c)
{
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0) {
    /* The send buffer of a connection that has sent nothing is empty:
     * one byte always fits. */
    if (send(fd, "y", 1, MSG_NOSIGNAL) == 1)
      c->answered++;
    if (!close_after)
      return;
  }
  close(fd);
  c->closed++;
}

static int open_listener(const struct sockaddr_storage *ss, socklen_t len)
{
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
      listen(fd, LISTEN_BACKLOG) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int run_server(const struct sockaddr_storage *ss, socklen_t len,
                      int close_after)
{
  rlim_t nofile = raise_nofile();
  int lfd = open_listener(ss, len);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (lfd < 0 || epfd < 0 || watch(epfd, EPOLL_CTL_ADD, lfd, EPOLLIN, LISTEN_TAG) < 0) {
    perror("conn_load serve");
    return 1;
  }
  printf("listening (open files: %lu)\n", (unsigned long)nofile);
  fflush(stdout);
  server_counters_t c = {0};
  struct epoll_event ev[EVENTS_PER_WAIT];
  uint64_t deadline = now_ms() + SERVE_MAX_MS;
  int backoff = 0; /* out of descriptors: wait instead of spinning */
  while (!stop_requested && now_ms() < deadline) {
    int n = epoll_wait(epfd, ev, EVENTS_PER_WAIT, backoff ? 50 : 200);
    backoff = 0;
    for (int i = 0; i < n; i++) {
      if (ev[i].data.u32 == LISTEN_TAG)
        backoff = accept_all(epfd, lfd, &c) < 0;
      else
        serve_readable((int)ev[i].data.u32, close_after, &c);
    }
  }
  printf("{\"accepted\": %" PRIu64 ", \"answered\": %" PRIu64 ", \"closed\": %" PRIu64
         ", \"accept_errors\": %" PRIu64 ", \"fd_limit_hits\": %" PRIu64 "}\n",
         c.accepted, c.answered, c.closed, c.accept_errors, c.fd_limit_hits);
  return 0;
}

/* ------------------------------------------------------------ client */

typedef enum {
  ST_FREE = 0,
  ST_CONNECTING, /* waiting for the handshake (EPOLLOUT) */
  ST_WAIT_BYTE,  /* sent our byte, waiting for the answer */
  ST_WAIT_EOF,   /* rate: got the answer, waiting for the server's FIN */
  ST_HELD,       /* hold: open and idle */
} conn_state_t;

typedef struct {
  int fd;
  uint8_t state;
  uint64_t started_ms;
} conn_t;

typedef struct {
  uint64_t started, completed, held, refused, connect_errors, io_errors,
      early_close, timeouts, peer_closed, fd_limit_hits;
} client_counters_t;

typedef struct {
  struct sockaddr_storage dst;
  socklen_t dst_len;
  int epfd;
  int hold; /* keep connections after the exchange instead of closing */
  conn_t *conns;
  uint32_t n_conns;
  uint32_t *free_slots, n_free;
  uint32_t in_flight; /* connecting or exchanging: not free, not held */
  client_counters_t c;
} client_t;

static int client_init(client_t *cl, uint32_t n_conns, int hold)
{
  cl->n_conns = n_conns;
  cl->hold = hold;
  cl->conns = calloc(n_conns, sizeof(*cl->conns));
  cl->free_slots = calloc(n_conns, sizeof(*cl->free_slots));
  cl->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!cl->conns || !cl->free_slots || cl->epfd < 0)
    return -1;
  /* Lowest slot first, so that slots fill in order. */
  for (uint32_t i = 0; i < n_conns; i++)
    cl->free_slots[i] = n_conns - 1 - i;
  cl->n_free = n_conns;
  return 0;
}

/* Closes slot si's connection and frees the slot; the caller has counted
 * how it ended. */
static void conn_end(client_t *cl, uint32_t si)
{
  conn_t *k = &cl->conns[si];
  if (k->state != ST_HELD)
    cl->in_flight--;
  close(k->fd);
  k->fd = -1;
  k->state = ST_FREE;
  cl->free_slots[cl->n_free++] = si;
}

static void conn_send_byte(client_t *cl, uint32_t si)
{
  conn_t *k = &cl->conns[si];
  if (send(k->fd, "x", 1, MSG_NOSIGNAL) != 1 ||
      watch(cl->epfd, EPOLL_CTL_MOD, k->fd, EPOLLIN, si) < 0) {
    cl->c.io_errors++;
    conn_end(cl, si);
    return;
  }
  k->state = ST_WAIT_BYTE;
}

/* Starts one connection in a free slot. Returns -1 when none could be
 * started now (no slot, no descriptor, no port): the caller stops opening
 * until something changes. */
static int conn_start(client_t *cl, uint64_t now)
{
  if (cl->n_free == 0)
    return -1;
  int fd = socket(cl->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    cl->c.fd_limit_hits++;
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  uint32_t si = cl->free_slots[--cl->n_free];
  conn_t *k = &cl->conns[si];
  *k = (conn_t){.fd = fd, .state = ST_CONNECTING, .started_ms = now};
  cl->in_flight++;
  cl->c.started++;
  int rv = connect(fd, (const struct sockaddr *)&cl->dst, cl->dst_len);
  if (rv < 0 && errno != EINPROGRESS) {
    if (errno == ECONNREFUSED)
      cl->c.refused++;
    else
      cl->c.connect_errors++;
    int port_trouble = errno == EADDRNOTAVAIL;
    conn_end(cl, si);
    return port_trouble ? -1 : 0;
  }
  if (watch(cl->epfd, EPOLL_CTL_ADD, fd, EPOLLOUT, si) < 0) {
    cl->c.io_errors++;
    conn_end(cl, si);
    return -1;
  }
  if (rv == 0)
    conn_send_byte(cl, si);
  return 0;
}

static void on_connected(client_t *cl, uint32_t si)
{
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(cl->conns[si].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    err = errno;
  if (err == EINPROGRESS || err == EALREADY)
    return;
  if (err) {
    if (err == ECONNREFUSED)
      cl->c.refused++;
    else
      cl->c.connect_errors++;
    conn_end(cl, si);
    return;
  }
  conn_send_byte(cl, si);
}

/* Reads what is there; returns bytes read, 0 at EOF, -1 on nothing yet
 * (EAGAIN), -2 on an error. */
static ssize_t conn_read(int fd)
{
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n >= 0)
    return n;
  return errno == EAGAIN || errno == EINTR ? -1 : -2;
}

static void on_readable(client_t *cl, uint32_t si)
{
  conn_t *k = &cl->conns[si];
  ssize_t n = conn_read(k->fd);
  if (n == -1)
    return;
  if (k->state == ST_HELD) {
    cl->c.peer_closed += n <= 0; /* data on an idle connection is ignored */
    if (n <= 0) {
      cl->c.held--;
      conn_end(cl, si);
    }
    return;
  }
  if (k->state == ST_WAIT_BYTE) {
    if (n <= 0) {
      cl->c.early_close += n == 0;
      cl->c.io_errors += n < 0;
      conn_end(cl, si);
      return;
    }
    if (cl->hold) {
      k->state = ST_HELD;
      cl->in_flight--;
      cl->c.held++;
      return;
    }
    k->state = ST_WAIT_EOF;
    n = conn_read(k->fd); /* the FIN often came with the byte */
    if (n == -1)
      return;
  }
  if (n == 0)
    cl->c.completed++;
  else if (n < 0)
    cl->c.io_errors++;
  else
    return; /* more bytes than asked for: still waiting for EOF */
  conn_end(cl, si);
}

static void on_event(client_t *cl, const struct epoll_event *ev)
{
  uint32_t si = ev->data.u32;
  if (si >= cl->n_conns || cl->conns[si].state == ST_FREE)
    return;
  if (cl->conns[si].state == ST_CONNECTING)
    on_connected(cl, si);
  else
    on_readable(cl, si);
}

/* Connections stuck in one exchange longer than CONN_TIMEOUT_MS end as
 * timeouts. A scan of every slot, so the caller runs it a few times a
 * second, not per event. */
static void expire_stuck(client_t *cl, uint64_t now)
{
  for (uint32_t si = 0; si < cl->n_conns; si++) {
    conn_t *k = &cl->conns[si];
    if (k->state == ST_FREE || k->state == ST_HELD)
      continue;
    if (now - k->started_ms >= CONN_TIMEOUT_MS) {
      cl->c.timeouts++;
      conn_end(cl, si);
    }
  }
}

/* One round of the loop: open up to `may_open` connections, wait for
 * events up to wait_ms, handle them, expire stuck ones now and then. */
static void client_round(client_t *cl, uint32_t may_open, int wait_ms,
                         uint64_t *next_scan)
{
  uint64_t now = now_ms();
  for (uint32_t i = 0; i < may_open; i++)
    if (conn_start(cl, now) < 0)
      break;
  struct epoll_event ev[EVENTS_PER_WAIT];
  int n = epoll_wait(cl->epfd, ev, EVENTS_PER_WAIT, wait_ms);
  for (int i = 0; i < n; i++)
    on_event(cl, &ev[i]);
  now = now_ms();
  if (now >= *next_scan) {
    expire_stuck(cl, now);
    *next_scan = now + 100;
  }
}

static void print_client_json(const char *mode, const client_t *cl, double secs,
                              rlim_t nofile)
{
  const client_counters_t *c = &cl->c;
  printf("{\"mode\": \"%s\", \"seconds\": %.3f, \"started\": %" PRIu64
         ", \"completed\": %" PRIu64 ", \"held\": %" PRIu64 ", \"refused\": %" PRIu64
         ", \"connect_errors\": %" PRIu64 ", \"io_errors\": %" PRIu64
         ", \"early_close\": %" PRIu64 ", \"timeouts\": %" PRIu64
         ", \"peer_closed\": %" PRIu64 ", \"fd_limit_hits\": %" PRIu64
         ", \"in_flight\": %u, \"open_files_limit\": %lu}\n",
         mode, secs, c->started, c->completed, c->held, c->refused, c->connect_errors,
         c->io_errors, c->early_close, c->timeouts, c->peer_closed, c->fd_limit_hits,
         cl->in_flight, (unsigned long)nofile);
  fflush(stdout);
}

static int run_rate(const struct sockaddr_storage *ss, socklen_t len,
                    unsigned long seconds, unsigned long inflight,
                    unsigned long count)
{
  rlim_t nofile = raise_nofile();
  client_t cl = {.dst = *ss, .dst_len = len};
  if (client_init(&cl, (uint32_t)inflight, 0) < 0) {
    perror("conn_load rate");
    return 1;
  }
  uint64_t t0 = now_ms(), end = t0 + seconds * 1000u, next_scan = t0 + 100;
  while (!stop_requested && now_ms() < end) {
    uint64_t left = count - cl.c.started;
    if (left == 0 && cl.in_flight == 0)
      break;
    client_round(&cl, left < cl.n_free ? (uint32_t)left : cl.n_free, 10, &next_scan);
  }
  /* What is still in flight at the end is not counted: the rate is the
   * connections completed within the window. */
  double secs = (double)(now_ms() - t0) / 1000.0;
  print_client_json("rate", &cl, secs, nofile);
  return 0;
}

static int stdin_at_eof(void)
{
  char buf[256];
  ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* Holding: the connections stay idle; only a peer's close, stdin's EOF or
 * a signal wakes the loop. */
static void hold_until_released(client_t *cl)
{
  /* When stdin is not pollable (a file), only a signal ends the hold. */
  watch(cl->epfd, EPOLL_CTL_ADD, STDIN_FILENO, EPOLLIN, STDIN_TAG);
  uint64_t end = now_ms() + HOLD_MAX_MS;
  struct epoll_event ev[EVENTS_PER_WAIT];
  while (!stop_requested && now_ms() < end) {
    int n = epoll_wait(cl->epfd, ev, EVENTS_PER_WAIT, 200);
    for (int i = 0; i < n; i++) {
      if (ev[i].data.u32 != STDIN_TAG)
        on_event(cl, &ev[i]);
      else if (stdin_at_eof())
        return;
    }
  }
}

static int run_hold(const struct sockaddr_storage *ss, socklen_t len,
                    unsigned long count, unsigned long inflight)
{
  rlim_t nofile = raise_nofile();
  client_t cl = {.dst = *ss, .dst_len = len};
  if (client_init(&cl, (uint32_t)count, 1) < 0) {
    perror("conn_load hold");
    return 1;
  }
  uint64_t t0 = now_ms(), end = t0 + OPEN_MAX_MS, next_scan = t0 + 100;
  /* Opening ends when every connection is held or has failed. */
  while (!stop_requested && now_ms() < end &&
         (cl.c.started < count || cl.in_flight > 0)) {
    uint32_t room = inflight > cl.in_flight ? (uint32_t)inflight - cl.in_flight : 0;
    uint64_t left = count - cl.c.started;
    client_round(&cl, room < left ? room : (uint32_t)left, 10, &next_scan);
  }
  print_client_json("hold-open", &cl, (double)(now_ms() - t0) / 1000.0, nofile);
  hold_until_released(&cl);
  print_client_json("hold-end", &cl, (double)(now_ms() - t0) / 1000.0, nofile);
  return 0;
}

static int usage(void)
{
  fprintf(stderr,
          "usage: conn_load serve ADDR PORT close|hold\n"
          "       conn_load rate ADDR PORT SECONDS INFLIGHT [COUNT]\n"
          "       conn_load hold ADDR PORT COUNT INFLIGHT\n");
  return 2;
}

int main(int argc, char **argv)
{
  struct sockaddr_storage ss;
  socklen_t len;
  if (argc < 5 || parse_endpoint(argv[2], argv[3], &ss, &len) < 0)
    return usage();
  catch_stop_signals();
  unsigned long a, b, count = ULONG_MAX;
  if (strcmp(argv[1], "serve") == 0 && argc == 5 &&
      (!strcmp(argv[4], "close") || !strcmp(argv[4], "hold")))
    return run_server(&ss, len, strcmp(argv[4], "close") == 0);
  if (argc < 6 || parse_uint(argv[5], 1, 1000000, &b) < 0)
    return usage();
  if (strcmp(argv[1], "rate") == 0 && parse_uint(argv[4], 1, 3600, &a) == 0 &&
      (argc == 6 || (argc == 7 && parse_uint(argv[6], 1, ULONG_MAX, &count) == 0)))
    return run_rate(&ss, len, a, b, count);
  if (argc != 6)
    return usage();
  if (strcmp(argv[1], "hold") == 0 && parse_uint(argv[4], 1, 1000000, &a) == 0)
    return run_hold(&ss, len, a, b);
  return usage();
}
