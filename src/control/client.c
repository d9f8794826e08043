#include "control/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/out.h"
#include "control/protocol.h"

#define MF_CTL_CLIENT_TIMEOUT_MS 10000

const char *mf_ctl_default_socket(void)
{
  const char *env = getenv(MF_CTL_SOCKET_ENV);
  return env && *env ? env : MF_CTL_DEFAULT_SOCKET;
}

static int build_request(int argc, char **argv, char *req, size_t size,
                         size_t *len)
{
  size_t n = 0;
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(argv[i]);
    if (strchr(argv[i], '\n') || memchr(argv[i], MF_CTL_SEP, l)) {
      fprintf(stderr, "mintflow: argument %d holds a newline or a 0x1f byte\n", i + 1);
      return -1;
    }
    if (n + l + 2 > size) {
      fprintf(stderr, "mintflow: request longer than %d bytes\n", MF_CTL_MAX_REQUEST);
      return -1;
    }
    memcpy(req + n, argv[i], l);
    n += l;
    req[n++] = i + 1 < argc ? MF_CTL_SEP : '\n';
  }
  *len = n;
  return 0;
}

static int connect_daemon(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    fprintf(stderr, "mintflow: socket path too long: %s\n", path);
    return -1;
  }
  memcpy(sa.sun_path, path, strlen(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    fprintf(stderr,
            "mintflow: cannot reach the daemon at %s: %s (is `mintflow run` "
            "running? -s or $%s names another socket)\n",
            path, strerror(errno), MF_CTL_SOCKET_ENV);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* Reads the whole reply, waiting at most the client timeout in total. */
static int read_reply(int fd, mf_out_t *reply)
{
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char chunk[16384];
  for (;;) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long waited = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (waited >= MF_CTL_CLIENT_TIMEOUT_MS ||
        poll(&p, 1, (int)(MF_CTL_CLIENT_TIMEOUT_MS - waited)) <= 0) {
      fprintf(stderr, "mintflow: the daemon did not answer in %d s\n",
              MF_CTL_CLIENT_TIMEOUT_MS / 1000);
      return -1;
    }
    ssize_t r = read(fd, chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      fprintf(stderr, "mintflow: reading the reply: %s\n", strerror(errno));
      return -1;
    }
    if (r == 0)
      return 0;
    mf_out_printf(reply, "%.*s", (int)r, chunk);
  }
}

int mf_ctl_client_call(const char *socket_path, int argc, char **argv)
{
  char req[MF_CTL_MAX_REQUEST];
  size_t len;
  if (build_request(argc, argv, req, sizeof(req), &len) < 0)
    return 1;
  int fd = connect_daemon(socket_path);
  if (fd < 0)
    return 1;
  mf_out_t reply = {0};
  int rv = 1;
  if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
    fprintf(stderr, "mintflow: sending the request: %s\n", strerror(errno));
  else if (read_reply(fd, &reply) == 0) {
    if (reply.len < 2 || reply.buf[1] != '\n')
      fprintf(stderr, "mintflow: malformed reply from the daemon\n");
    else {
      rv = reply.buf[0] == '0' ? 0 : 1;
      fwrite(reply.buf + 2, 1, reply.len - 2, rv == 0 ? stdout : stderr);
    }
  }
  close(fd);
  mf_out_free(&reply);
  return rv;
}
