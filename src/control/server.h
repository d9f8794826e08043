/* The daemon's side of the control socket: non-blocking, driven by the
 * main loop's epoll, a bounded number of clients at a time. */
#ifndef MF_CONTROL_SERVER_H
#define MF_CONTROL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "control/out.h"
#include "control/protocol.h"

#define MF_CTL_MAX_CLIENTS 16

/* Runs one request; returns 0 for OK, -1 for ERR. */
typedef int mf_ctl_exec_fn(void *ctx, int argc, char **argv, mf_out_t *out);

typedef struct {
  int fd;
  uint64_t since_ns;
  size_t in_len;
  char in[MF_CTL_MAX_REQUEST];
  mf_out_t out;
  size_t out_sent;
} mf_ctl_client_t;

typedef struct {
  int listen_fd;
  int epfd;
  char path[108];
  mf_ctl_exec_fn *exec;
  void *ctx;
  mf_ctl_client_t clients[MF_CTL_MAX_CLIENTS];
  uint64_t refused; /* connections turned away: all slots busy */
} mf_ctl_server_t;

/* Binds path (refusing when a live daemon answers there, replacing a stale
 * socket file) and registers with epfd: the listener with epoll data
 * `listen_tag`, clients with `client_tag_base + slot`. */
int mf_ctl_server_open(mf_ctl_server_t *s, const char *path, int epfd,
                       mf_ctl_exec_fn *exec, void *ctx, char *err,
                       size_t errlen);
void mf_ctl_server_close(mf_ctl_server_t *s);

/* Main-loop entry points: `tag` is what epoll returned. */
void mf_ctl_server_on_listen(mf_ctl_server_t *s, uint64_t now_ns);
void mf_ctl_server_on_client(mf_ctl_server_t *s, uint32_t slot,
                             uint32_t events);
/* Closes clients idle for more than a few seconds. */
void mf_ctl_server_expire(mf_ctl_server_t *s, uint64_t now_ns);

/* Epoll tags: the listener is MF_CTL_TAG_LISTEN, client slot i is
 * MF_CTL_TAG_CLIENT + i. */
#define MF_CTL_TAG_LISTEN 0x100u
#define MF_CTL_TAG_CLIENT 0x200u

#endif
