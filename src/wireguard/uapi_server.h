/* The wg(8) sockets: one Unix stream socket per WireGuard device at
 * /var/run/wireguard/NAME.sock, where wg(8) looks for userspace
 * implementations (wireguard.com/xplatform), so that `wg show`,
 * `wg showconf` and `wg set` work on the daemon's devices as they do on
 * wireguard-go's. Requests are handled by uapi.c.
 *
 * Driven by the main loop's epoll, non-blocking; bounded: at most
 * MF_WG_UAPI_MAX_CLIENTS connections per device (more are refused and
 * counted), MF_WG_UAPI_MAX_REQUEST bytes per request, clients idle for
 * MF_WG_UAPI_IDLE_NS are closed. Sockets are mode 0600 and only
 * connections from our own user (root) are served: a get reveals the
 * private key, as it does from wireguard-go.
 *
 * Use from the main loop:
 *   after the devices exist:  mf_wg_uapi_open_all(wm, epfd, TAG_WG, ...)
 *   for each epoll event:     if (MF_WG_UAPI_OWNS_TAG(tag))
 *                               mf_wg_uapi_on_event(wm, tag, events);
 *   at teardown, before wm goes: mf_wg_uapi_close_all(wm)
 * Threads: the thread that owns the devices. */
#ifndef MF_WIREGUARD_UAPI_SERVER_H
#define MF_WIREGUARD_UAPI_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "wireguard/wg_device.h"

#define MF_WG_UAPI_DIR "/var/run/wireguard"
#define MF_WG_UAPI_MAX_CLIENTS 8
#define MF_WG_UAPI_IDLE_NS (5ull * 1000000000ull)

/* Epoll tags the server uses, all in [FIRST, LAST]: device i's listener
 * is FIRST + i * 16, its client slot c is FIRST + i * 16 + 1 + c, and the
 * idle timer is FIRST + MF_PROFILE_MAX_WG * 16. */
#define MF_WG_UAPI_TAG_FIRST 0x800u
#define MF_WG_UAPI_TAG_LAST 0xfffu
#define MF_WG_UAPI_OWNS_TAG(tag) \
  ((tag) >= MF_WG_UAPI_TAG_FIRST && (tag) <= MF_WG_UAPI_TAG_LAST)

/* What the server did, for tests and `show` commands. */
typedef struct {
  uint64_t accepted;  /* connections served */
  uint64_t refused;   /* turned away: all slots busy, or another user */
  uint64_t requests;  /* requests answered */
  uint64_t failed;    /* answered with an error */
  uint64_t idle_closed, oversized; /* clients closed: idle, request too big */
} mf_wg_uapi_stats_t;

/* Opens the socket of every device of wm (creating MF_WG_UAPI_DIR, mode
 * 0755, if missing) and registers them with epfd. Refuses, with err set
 * and nothing left open, when a process answers on one of the sockets
 * already (a second daemon, or wireguard-go with an interface of the
 * same name); a socket file nobody answers on is a leftover and is
 * replaced. sock_tag_base is the epoll tag the caller gave device 0's UDP
 * socket (device i: sock_tag_base + i): a set of listen_port replaces
 * that socket and registers the new one under the same tag. A wm without
 * devices opens nothing. 0 or -1. */
int mf_wg_uapi_open_all(mf_wg_main_t *wm, int epfd, uint64_t sock_tag_base,
                        char *err, size_t errlen);
/* Handles one epoll event whose tag MF_WG_UAPI_OWNS_TAG. */
void mf_wg_uapi_on_event(mf_wg_main_t *wm, uint64_t tag, uint32_t events);
/* Closes every connection and socket, and removes the socket files that
 * are still ours. Safe when nothing is open. */
void mf_wg_uapi_close_all(mf_wg_main_t *wm);

void mf_wg_uapi_get_stats(const mf_wg_main_t *wm, mf_wg_uapi_stats_t *st);

#endif
