/* The wg(8) sockets of the daemon's WireGuard devices; see uapi_server.h.
 *
 * A connection reads until a whole request is buffered (uapi.c frames
 * it), answers it in one reply, and goes on with the next request if the
 * client sent one: wg(8) sends a single request and closes, other clients
 * of the protocol may keep the connection. The reply is built whole before
 * it is sent, so a slow reader never sees a half-applied set. */
#include "wireguard/uapi_server.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "wireguard/uapi.h"

#define TAGS_PER_DEV 16u
#define TAG_TIMER (MF_WG_UAPI_TAG_FIRST + MF_PROFILE_MAX_WG * TAGS_PER_DEV)
/* Accepts per listener event, so one busy socket cannot hold the loop. */
#define ACCEPT_BURST 16

_Static_assert(MF_WG_UAPI_MAX_CLIENTS + 1 <= TAGS_PER_DEV, "client tags overflow");
_Static_assert(TAG_TIMER <= MF_WG_UAPI_TAG_LAST, "tags beyond the range");

typedef struct {
  int fd;
  uint64_t active_ns; /* last progress: accepted, read or written */
  size_t in_len, out_len, out_sent;
  bool close_after; /* the protocol is lost: close once the reply is out */
  bool eof;         /* the client sent all it will: close when answered */
  char in[MF_WG_UAPI_MAX_REQUEST];
  char out[MF_WG_UAPI_MAX_REPLY];
} client_t;

typedef struct {
  int fd;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  dev_t st_dev; /* the socket file we made, so close_all removes only it */
  ino_t st_ino;
  client_t *clients[MF_WG_UAPI_MAX_CLIENTS];
} listener_t;

struct mf_wg_uapi_server {
  int epfd, timer_fd;
  uint64_t sock_tag_base;
  listener_t l[MF_PROFILE_MAX_WG];
  uint32_t n;
  mf_wg_uapi_stats_t st;
};

static uint64_t now_of(const mf_wg_main_t *wm)
{
  if (wm->vm && wm->vm->now_ns)
    return wm->vm->now_ns;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int epoll_set(int epfd, int op, int fd, uint32_t events, uint64_t tag)
{
  struct epoll_event ev = {.events = events, .data.u64 = tag};
  return epoll_ctl(epfd, op, fd, &ev);
}

/* ------------------------------------------------------------ listeners */

static int make_dir(char *err, size_t errlen)
{
  struct stat st;
  if (mkdir(MF_WG_UAPI_DIR, 0755) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", MF_WG_UAPI_DIR, strerror(errno));
    return -1;
  }
  if (stat(MF_WG_UAPI_DIR, &st) < 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: not a directory", MF_WG_UAPI_DIR);
    return -1;
  }
  return 0;
}

/* A socket file someone answers on belongs to a live process (wg(8)
 * itself takes a refused connection for a leftover and removes it). */
static int check_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
  struct stat st;
  if (lstat(sa->sun_path, &st) < 0)
    return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", sa->sun_path,
                                           strerror(errno)), -1);
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int live = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
  if (fd >= 0)
    close(fd);
  if (live) {
    snprintf(err, errlen, "%s: another process answers there (a second "
             "daemon, or wireguard-go with an interface of that name)",
             sa->sun_path);
    return -1;
  }
  unlink(sa->sun_path);
  return 0;
}

static int bind_socket(listener_t *l, const struct sockaddr_un *sa, char *err,
                       size_t errlen)
{
  struct stat st;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto fail;
  /* Born 0600: no window in which another user could connect. */
  mode_t old = umask(0077);
  int rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
  umask(old);
  if (rc < 0 || chmod(sa->sun_path, 0600) < 0 || listen(fd, 16) < 0 ||
      stat(sa->sun_path, &st) < 0)
    goto fail;
  l->fd = fd;
  l->st_dev = st.st_dev;
  l->st_ino = st.st_ino;
  return 0;
fail:
  snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(errno));
  if (fd >= 0) {
    close(fd);
    unlink(sa->sun_path);
  }
  return -1;
}

static int open_one(struct mf_wg_uapi_server *s, uint32_t i, const char *name,
                    char *err, size_t errlen)
{
  listener_t *l = &s->l[i];
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MF_WG_UAPI_DIR, name);
  if (strchr(name, '/') || n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
    snprintf(err, errlen, "wireguard %s: name unusable for a socket path", name);
    return -1;
  }
  if (check_path(&sa, err, errlen) < 0 || bind_socket(l, &sa, err, errlen) < 0)
    return -1;
  memcpy(l->path, sa.sun_path, sizeof(l->path));
  if (epoll_set(s->epfd, EPOLL_CTL_ADD, l->fd, EPOLLIN,
                MF_WG_UAPI_TAG_FIRST + i * TAGS_PER_DEV) < 0) {
    snprintf(err, errlen, "%s: epoll: %s", l->path, strerror(errno));
    return -1;
  }
  return 0;
}

static int open_timer(struct mf_wg_uapi_server *s, char *err, size_t errlen)
{
  /* Idle clients send nothing, so nothing else would wake us for them. */
  struct itimerspec every_second = {.it_interval = {1, 0}, .it_value = {1, 0}};
  s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &every_second, NULL) < 0 ||
      epoll_set(s->epfd, EPOLL_CTL_ADD, s->timer_fd, EPOLLIN, TAG_TIMER) < 0) {
    snprintf(err, errlen, "wg(8) sockets: timer: %s", strerror(errno));
    return -1;
  }
  return 0;
}

int mf_wg_uapi_open_all(mf_wg_main_t *wm, int epfd, uint64_t sock_tag_base,
                        char *err, size_t errlen)
{
  if (wm->uapi) {
    snprintf(err, errlen, "wg(8) sockets are open already");
    return -1;
  }
  if (wm->n_devs == 0)
    return 0;
  struct mf_wg_uapi_server *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "wg(8) sockets: out of memory");
    return -1;
  }
  s->epfd = epfd;
  s->sock_tag_base = sock_tag_base;
  s->timer_fd = -1;
  for (uint32_t i = 0; i < MF_PROFILE_MAX_WG; i++)
    s->l[i].fd = -1;
  wm->uapi = s;
  if (make_dir(err, errlen) < 0 || open_timer(s, err, errlen) < 0)
    goto fail;
  for (; s->n < wm->n_devs; s->n++)
    if (open_one(s, s->n, wm->devs[s->n]->name, err, errlen) < 0) {
      s->n++; /* close_all closes what this one opened, too */
      goto fail;
    }
  for (uint32_t i = 0; i < s->n; i++)
    mf_log_info("wireguard %s: wg(8) socket %s", wm->devs[i]->name, s->l[i].path);
  return 0;
fail:
  mf_wg_uapi_close_all(wm);
  return -1;
}

/* ------------------------------------------------------------ clients */

static void client_close(struct mf_wg_uapi_server *s, listener_t *l, uint32_t c)
{
  client_t *k = l->clients[c];
  if (!k)
    return;
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, k->fd, NULL);
  close(k->fd);
  /* Requests may carry keys, and a get's reply does. */
  OPENSSL_cleanse(k, sizeof(*k));
  free(k);
  l->clients[c] = NULL;
}

static uint64_t client_tag(uint32_t dev, uint32_t c)
{
  return MF_WG_UAPI_TAG_FIRST + dev * TAGS_PER_DEV + 1 + c;
}

/* Only our own user may talk to the device (wg(8) runs as root): the
 * file mode says so already, and a descriptor passed on would not. */
static bool peer_allowed(int fd)
{
  struct ucred cred;
  socklen_t len = sizeof(cred);
  return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
         (cred.uid == geteuid() || cred.uid == 0);
}

static void on_listen(struct mf_wg_uapi_server *s, uint32_t dev, uint64_t now)
{
  listener_t *l = &s->l[dev];
  for (int burst = 0; burst < ACCEPT_BURST; burst++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    int c = -1;
    for (int i = 0; i < MF_WG_UAPI_MAX_CLIENTS && c < 0; i++)
      if (!l->clients[i])
        c = i;
    client_t *k = c >= 0 && peer_allowed(fd) ? malloc(sizeof(*k)) : NULL;
    if (!k || epoll_set(s->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, client_tag(dev, (uint32_t)c)) < 0) {
      s->st.refused++;
      free(k);
      close(fd);
      continue;
    }
    k->fd = fd;
    k->active_ns = now;
    k->in_len = k->out_len = k->out_sent = 0;
    k->close_after = k->eof = false;
    l->clients[c] = k;
    s->st.accepted++;
  }
}

/* Sends what is left of the reply: 1 all sent, 0 the socket is full,
 * -1 the client is gone. */
static int client_flush(client_t *k, uint64_t now)
{
  while (k->out_sent < k->out_len) {
    ssize_t w = send(k->fd, k->out + k->out_sent, k->out_len - k->out_sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -1;
    k->out_sent += (size_t)w;
    k->active_ns = now;
  }
  OPENSSL_cleanse(k->out, k->out_len);
  k->out_len = k->out_sent = 0;
  return 1;
}

static void reply_errno(client_t *k, int rc)
{
  int n = snprintf(k->out, sizeof(k->out), "errno=%d\n\n", rc);
  k->out_len = n > 0 ? (size_t)n : 0;
  k->close_after = true;
}

/* Answers one buffered request into k->out; false when none is whole. */
static bool client_answer(struct mf_wg_uapi_server *s, mf_wg_main_t *wm,
                          uint32_t dev, client_t *k)
{
  long n = mf_wg_uapi_frame(k->in, k->in_len);
  if (n == 0 && k->in_len < sizeof(k->in))
    return false;
  if (n <= 0) {
    if (n == 0)
      s->st.oversized++;
    s->st.failed++;
    reply_errno(k, n == 0 ? -EMSGSIZE : -EINVAL);
    return true;
  }
  mf_wg_device_t *d = wm->devs[dev];
  uint32_t effects = 0;
  bool is_set = k->in[0] == 's';
  k->out_len = mf_wg_uapi_handle(wm, d, k->in, (size_t)n, k->out, sizeof(k->out),
                                 &effects);
  k->out_sent = 0;
  OPENSSL_cleanse(k->in, (size_t)n);
  memmove(k->in, k->in + n, k->in_len - (size_t)n);
  k->in_len -= (size_t)n;
  s->st.requests++;
  /* A reply that starts with errno= is a set's, or a refusal. */
  int rc = k->out_len > 6 && memcmp(k->out, "errno=", 6) == 0 ? atoi(k->out + 6) : 0;
  if (rc != 0) {
    s->st.failed++;
    mf_log_warn("wireguard %s: wg(8) request refused: %s", d->name, strerror(-rc));
  } else if (is_set)
    mf_log_info("wireguard %s: configuration set through wg(8)", d->name);
  if ((effects & MF_WG_UAPI_SOCKET_REPLACED) &&
      epoll_set(s->epfd, EPOLL_CTL_ADD, d->sock.fd, EPOLLIN, s->sock_tag_base + dev) < 0 &&
      (errno != EEXIST ||
       epoll_set(s->epfd, EPOLL_CTL_MOD, d->sock.fd, EPOLLIN, s->sock_tag_base + dev) < 0))
    mf_log_error("wireguard %s: epoll for the new socket: %s", d->name, strerror(errno));
  if (effects & MF_WG_UAPI_SOCKET_REPLACED)
    mf_log_info("wireguard %s: now listening on port %u", d->name, d->sock.port);
  return true;
}

/* Answers buffered requests one after another while replies go out at
 * once; leaves the client waiting for EPOLLOUT or EPOLLIN, or closes it. */
static void client_run(struct mf_wg_uapi_server *s, mf_wg_main_t *wm,
                       uint32_t dev, uint32_t c, uint64_t now)
{
  listener_t *l = &s->l[dev];
  client_t *k = l->clients[c];
  for (;;) {
    if (k->out_len == 0 && !k->close_after && !client_answer(s, wm, dev, k)) {
      if (k->eof) {
        client_close(s, l, c); /* answered all it sent; the rest is cut */
        return;
      }
      break;
    }
    int f = client_flush(k, now);
    if (f < 0 || (f > 0 && k->close_after)) {
      client_close(s, l, c);
      return;
    }
    if (f == 0) {
      epoll_set(s->epfd, EPOLL_CTL_MOD, k->fd, EPOLLOUT, client_tag(dev, c));
      return;
    }
  }
  epoll_set(s->epfd, EPOLL_CTL_MOD, k->fd, EPOLLIN, client_tag(dev, c));
}

static void client_read(struct mf_wg_uapi_server *s, mf_wg_main_t *wm,
                        uint32_t dev, uint32_t c, uint64_t now)
{
  client_t *k = s->l[dev].clients[c];
  while (k->in_len < sizeof(k->in)) {
    ssize_t r = read(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len);
    if (r < 0 && errno != EAGAIN && errno != EINTR) {
      client_close(s, &s->l[dev], c);
      return;
    }
    if (r == 0)
      k->eof = true; /* what it sent before still gets its answers */
    if (r <= 0)
      break;
    k->in_len += (size_t)r;
    k->active_ns = now;
  }
  client_run(s, wm, dev, c, now);
}

static void on_client(struct mf_wg_uapi_server *s, mf_wg_main_t *wm,
                      uint32_t dev, uint32_t c, uint32_t events, uint64_t now)
{
  client_t *k = s->l[dev].clients[c];
  if (!k)
    return;
  if (k->out_len)
    client_run(s, wm, dev, c, now);
  else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    client_read(s, wm, dev, c, now);
}

static void on_timer(struct mf_wg_uapi_server *s, uint64_t now)
{
  uint64_t ticks;
  while (read(s->timer_fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
    ;
  for (uint32_t i = 0; i < s->n; i++)
    for (uint32_t c = 0; c < MF_WG_UAPI_MAX_CLIENTS; c++) {
      client_t *k = s->l[i].clients[c];
      if (k && now > k->active_ns && now - k->active_ns > MF_WG_UAPI_IDLE_NS) {
        s->st.idle_closed++;
        client_close(s, &s->l[i], c);
      }
    }
}

void mf_wg_uapi_on_event(mf_wg_main_t *wm, uint64_t tag, uint32_t events)
{
  struct mf_wg_uapi_server *s = wm->uapi;
  if (!s || !MF_WG_UAPI_OWNS_TAG(tag))
    return;
  uint64_t now = now_of(wm);
  if (tag == TAG_TIMER) {
    on_timer(s, now);
    return;
  }
  uint32_t rel = (uint32_t)(tag - MF_WG_UAPI_TAG_FIRST);
  uint32_t dev = rel / TAGS_PER_DEV, k = rel % TAGS_PER_DEV;
  if (dev >= s->n || dev >= wm->n_devs || s->l[dev].fd < 0)
    return;
  if (k == 0)
    on_listen(s, dev, now);
  else if (k <= MF_WG_UAPI_MAX_CLIENTS)
    on_client(s, wm, dev, k - 1, events, now);
}

void mf_wg_uapi_close_all(mf_wg_main_t *wm)
{
  struct mf_wg_uapi_server *s = wm->uapi;
  if (!s)
    return;
  for (uint32_t i = 0; i < s->n; i++) {
    listener_t *l = &s->l[i];
    for (uint32_t c = 0; c < MF_WG_UAPI_MAX_CLIENTS; c++)
      client_close(s, l, c);
    if (l->fd < 0)
      continue;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    close(l->fd);
    /* Only our own file: a newer process may have replaced it. */
    struct stat st;
    if (stat(l->path, &st) == 0 && st.st_dev == l->st_dev && st.st_ino == l->st_ino)
      unlink(l->path);
  }
  if (s->timer_fd >= 0) {
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->timer_fd, NULL);
    close(s->timer_fd);
  }
  free(s);
  wm->uapi = NULL;
}

void mf_wg_uapi_get_stats(const mf_wg_main_t *wm, mf_wg_uapi_stats_t *st)
{
  if (wm->uapi)
    *st = wm->uapi->st;
  else
    memset(st, 0, sizeof(*st));
}
