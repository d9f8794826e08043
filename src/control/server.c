#include "control/server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MF_CTL_IDLE_NS (5ull * 1000000000ull)

static int make_addr(struct sockaddr_un *sa, const char *path)
{
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(sa->sun_path))
    return -ENAMETOOLONG;
  memcpy(sa->sun_path, path, strlen(path));
  return 0;
}

/* A socket file answers when a daemon is behind it; one that refuses is a
 * leftover of a killed daemon and may be replaced. */
static int socket_is_live(const struct sockaddr_un *sa)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  int live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
  close(fd);
  return live;
}

int mf_ctl_server_open(mf_ctl_server_t *s, const char *path, int epfd,
                       mf_ctl_exec_fn *exec, void *ctx, char *err,
                       size_t errlen)
{
  memset(s, 0, sizeof(*s));
  s->listen_fd = -1;
  for (int i = 0; i < MF_CTL_MAX_CLIENTS; i++)
    s->clients[i].fd = -1;
  struct sockaddr_un sa;
  if (make_addr(&sa, path) < 0) {
    snprintf(err, errlen, "control socket path too long: %s", path);
    return -1;
  }
  if (socket_is_live(&sa)) {
    snprintf(err, errlen, "a daemon already answers on %s", path);
    return -1;
  }
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
    snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = MF_CTL_TAG_LISTEN};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    snprintf(err, errlen, "control socket: epoll: %s", strerror(errno));
    close(fd);
    unlink(path);
    return -1;
  }
  s->listen_fd = fd;
  s->epfd = epfd;
  s->exec = exec;
  s->ctx = ctx;
  snprintf(s->path, sizeof(s->path), "%s", path);
  return 0;
}

static void client_close(mf_ctl_server_t *s, mf_ctl_client_t *c)
{
  if (c->fd < 0)
    return;
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  mf_out_free(&c->out);
}

void mf_ctl_server_close(mf_ctl_server_t *s)
{
  for (int i = 0; i < MF_CTL_MAX_CLIENTS; i++)
    client_close(s, &s->clients[i]);
  if (s->listen_fd >= 0) {
    close(s->listen_fd);
    unlink(s->path);
  }
  s->listen_fd = -1;
}

void mf_ctl_server_on_listen(mf_ctl_server_t *s, uint64_t now_ns)
{
  for (;;) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    int slot = -1;
    for (int i = 0; i < MF_CTL_MAX_CLIENTS && slot < 0; i++)
      if (s->clients[i].fd < 0)
        slot = i;
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = MF_CTL_TAG_CLIENT + (uint32_t)slot};
    if (slot < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
      s->refused++;
      close(fd);
      continue;
    }
    mf_ctl_client_t *c = &s->clients[slot];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->since_ns = now_ns;
  }
}

/* Splits the request in place; returns argc or -1 when malformed. */
static int split_request(char *req, size_t len, char **argv)
{
  int argc = 0;
  char *p = req, *end = req + len;
  while (p <= end && argc < MF_CTL_MAX_ARGS) {
    char *sep = memchr(p, MF_CTL_SEP, (size_t)(end - p));
    if (!sep)
      sep = end;
    *sep = 0;
    argv[argc++] = p;
    p = sep + 1;
  }
  return p <= end ? -1 : argc;
}

static void mark_truncated(mf_out_t *o)
{
  static const char note[] = "\n... output truncated ...\n";
  if (o->len >= sizeof(note))
    memcpy(o->buf + o->len - (sizeof(note) - 1), note, sizeof(note) - 1);
}

static void client_execute(mf_ctl_server_t *s, mf_ctl_client_t *c, size_t len)
{
  char *argv[MF_CTL_MAX_ARGS];
  int argc = split_request(c->in, len, argv);
  /* The status byte goes first and is fixed once the command has run, so
   * the reply is built in one buffer. */
  mf_out_printf(&c->out, "0\n");
  int rv = -1;
  if (argc <= 0 || (argc == 1 && argv[0][0] == 0))
    mf_out_printf(&c->out, "empty or malformed request\n");
  else
    rv = s->exec(s->ctx, argc, argv, &c->out);
  if (c->out.truncated)
    mark_truncated(&c->out);
  if (rv != 0 && c->out.len)
    c->out.buf[0] = '1';
  struct epoll_event ev = {.events = EPOLLOUT,
                           .data.u64 = MF_CTL_TAG_CLIENT + (uint32_t)(c - s->clients)};
  epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_read(mf_ctl_server_t *s, mf_ctl_client_t *c)
{
  for (;;) {
    if (c->in_len >= sizeof(c->in)) {
      client_close(s, c); /* request too long: no answer deserved */
      return;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      client_close(s, c);
      return;
    }
    if (r < 0)
      return;
    char *nl = memchr(c->in + c->in_len, '\n', (size_t)r);
    c->in_len += (size_t)r;
    if (nl) {
      client_execute(s, c, (size_t)(nl - c->in));
      return;
    }
  }
}

static void client_write(mf_ctl_server_t *s, mf_ctl_client_t *c)
{
  while (c->out_sent < c->out.len) {
    ssize_t w = send(c->fd, c->out.buf + c->out_sent, c->out.len - c->out_sent,
                     MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      break;
    }
    c->out_sent += (size_t)w;
  }
  client_close(s, c);
}

void mf_ctl_server_on_client(mf_ctl_server_t *s, uint32_t slot,
                             uint32_t events)
{
  if (slot >= MF_CTL_MAX_CLIENTS || s->clients[slot].fd < 0)
    return;
  mf_ctl_client_t *c = &s->clients[slot];
  if (c->out.len)
    client_write(s, c);
  else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    client_read(s, c);
}

void mf_ctl_server_expire(mf_ctl_server_t *s, uint64_t now_ns)
{
  for (int i = 0; i < MF_CTL_MAX_CLIENTS; i++)
    if (s->clients[i].fd >= 0 && now_ns - s->clients[i].since_ns > MF_CTL_IDLE_NS)
      client_close(s, &s->clients[i]);
}
