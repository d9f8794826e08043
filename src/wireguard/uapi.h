/* WireGuard's cross-platform userspace API (wireguard.com/xplatform,
 * "Configuration Protocol"): the text protocol wg(8) speaks to
 * implementations outside the kernel, applied here to one of the daemon's
 * devices. No sockets here: uapi_server.c reads requests off the sockets
 * and carries the replies.
 *
 *   get=1 \n \n               -> key=value lines, errno=0, an empty line
 *   set=1 \n key=value \n ... \n  -> errno=0 (or a negative errno), an
 *                                 empty line
 *
 * Errors are written as wireguard-go writes them, negative (errno=-22),
 * which is what wg(8) turns back into the message it prints.
 *
 * A set is all or nothing, which wireguard-go does not promise: the whole
 * request is first applied to a copy of the device's configuration (keys,
 * peers, allowed IPs), which checks every value and limit; then whatever
 * can still fail is prepared aside (handshake precomputation, the new
 * allowed-IPs table, a socket on a new port); only then does the device
 * change, by steps that cannot fail.
 *
 * Threads: the thread that owns the device (the main loop). */
#ifndef MF_WIREGUARD_UAPI_H
#define MF_WIREGUARD_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include "wireguard/wg_device.h"

/* A set of a full device (16 peers of 32 allowed IPs) takes under 40 KiB. */
#define MF_WG_UAPI_MAX_REQUEST (64u * 1024u)
/* So does a get; the reply buffer must hold this much. */
#define MF_WG_UAPI_MAX_REPLY (64u * 1024u)

/* Effects of a set that reach beyond the device, as bits. */
enum {
  /* The device's socket was replaced (a new listen port): register
   * d->sock.fd with epoll again. */
  MF_WG_UAPI_SOCKET_REPLACED = 1u << 0,
};

/* Flags of mf_wg_uapi_set. */
enum {
  /* Check the request against the device: every value, limit and key;
   * change nothing, open no socket, build no table. */
  MF_WG_UAPI_DRY_RUN = 1u << 0,
};

/* The length of the first request at buf, through the empty line that
 * ends it; 0 while it is incomplete; -1 when buf can never start a request
 * (the operation is neither get=1 nor set=1). */
long mf_wg_uapi_frame(const char *buf, size_t len);

/* Runs one request as framed above on d and writes the whole reply to out
 * (cap >= MF_WG_UAPI_MAX_REPLY): returns its length. *effects gets the
 * MF_WG_UAPI_* effect bits. The reply of a get holds the private key:
 * the caller wipes out once it is sent. */
size_t mf_wg_uapi_handle(mf_wg_main_t *wm, mf_wg_device_t *d, const char *req,
                         size_t len, char *out, size_t cap, uint32_t *effects);

/* The get reply for d, errno=0 and the empty line included; 0 when it
 * does not fit in cap. */
size_t mf_wg_uapi_get(const mf_wg_device_t *d, char *out, size_t cap);

/* Applies the key=value lines of a set (what follows "set=1\n", without
 * the final empty line; uapi_set.c). Returns 0 or a negative errno, and
 * then nothing changed: -EINVAL malformed or unusable value, -EPROTO a
 * line without '=', -ENOSPC past MF_WG_MAX_PEERS peers or
 * MF_PROFILE_MAX_ALLOWED_IPS allowed IPs per peer, -EOPNOTSUPP another
 * fwmark, a socket error for a listen port that cannot be bound, -ENOMEM. */
int mf_wg_uapi_set(mf_wg_main_t *wm, mf_wg_device_t *d, const char *body,
                   size_t len, uint32_t flags, uint32_t *effects);

#endif
