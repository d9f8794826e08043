/* The wg(8) configuration protocol on a device: framing, the get reply,
 * and the dispatch of a whole request (the set lives in uapi_set.c).
 * Semantics follow wireguard-go's uapi.go, which wg(8) is written
 * against (wireguard.com/xplatform, "Configuration Protocol"). */
#include "wireguard/uapi.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ framing */

long mf_wg_uapi_frame(const char *buf, size_t len)
{
  static const char get[] = "get=1\n", set[] = "set=1\n";
  size_t head = len < 6 ? len : 6;
  if (memcmp(buf, get, head) != 0 && memcmp(buf, set, head) != 0)
    return -1;
  if (len < 7)
    return 0;
  /* The first empty line ends the request; buf[5] ends the first line. */
  const char *end = memmem(buf + 5, len - 5, "\n\n", 2);
  return end ? (long)(end - buf) + 2 : 0;
}

/* ------------------------------------------------------------ get */

typedef struct {
  char *buf;
  size_t len, cap;
  bool full;
} writer_t;

static void put(writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(writer_t *w, const char *fmt, ...)
{
  if (w->full)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= w->cap - w->len)
    w->full = true;
  else
    w->len += (size_t)n;
}

static void put_key(writer_t *w, const char *name, const uint8_t key[MF_WG_KEY_LEN])
{
  static const char digits[] = "0123456789abcdef";
  char hex[2 * MF_WG_KEY_LEN + 1];
  for (int i = 0; i < MF_WG_KEY_LEN; i++) {
    hex[2 * i] = digits[key[i] >> 4];
    hex[2 * i + 1] = digits[key[i] & 15];
  }
  hex[2 * MF_WG_KEY_LEN] = 0;
  put(w, "%s=%s\n", name, hex);
  OPENSSL_cleanse(hex, sizeof(hex));
}

static void put_peer(writer_t *w, const mf_wg_peer_t *p)
{
  char text[96];
  put_key(w, "public_key", p->noise.public_key);
  put_key(w, "preshared_key", p->noise.psk); /* zero: none, as wireguard-go */
  put(w, "protocol_version=1\n");
  if (p->has_endpoint) {
    mf_sockaddr_format(&p->endpoint, text, sizeof(text));
    put(w, "endpoint=%s\n", text);
  }
  put(w, "last_handshake_time_sec=%" PRIu64 "\n",
      p->last_handshake_wall_ns / 1000000000u);
  put(w, "last_handshake_time_nsec=%" PRIu64 "\n",
      p->last_handshake_wall_ns % 1000000000u);
  put(w, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\n", p->tx_bytes, p->rx_bytes);
  put(w, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
  for (uint32_t i = 0; i < p->n_allowed_ips; i++) {
    mf_prefix_format(&p->allowed_ips[i], true, text, sizeof(text));
    put(w, "allowed_ip=%s\n", text);
  }
}

size_t mf_wg_uapi_get(const mf_wg_device_t *d, char *out, size_t cap)
{
  writer_t w = {.buf = out, .cap = cap};
  /* The socket is root's alone, so the private key may go out, as it does
   * from wireguard-go and the kernel: `wg showconf` needs it. */
  put_key(&w, "private_key", d->id.private_key);
  put(&w, "listen_port=%u\n", d->sock.port);
  if (d->fwmark)
    put(&w, "fwmark=%u\n", d->fwmark);
  for (uint32_t i = 0; i < d->n_peers; i++)
    if (d->peers[i].live)
      put_peer(&w, &d->peers[i]);
  put(&w, "errno=0\n\n");
  if (w.full) {
    OPENSSL_cleanse(out, cap);
    return 0;
  }
  return w.len;
}

/* ------------------------------------------------------------ requests */

size_t mf_wg_uapi_handle(mf_wg_main_t *wm, mf_wg_device_t *d, const char *req,
                         size_t len, char *out, size_t cap, uint32_t *effects)
{
  int rc = -EINVAL;
  *effects = 0;
  if (len == 7 && memcmp(req, "get=1\n\n", 7) == 0) {
    size_t n = mf_wg_uapi_get(d, out, cap);
    if (n)
      return n;
    rc = -ENOBUFS;
  } else if (len >= 7 && memcmp(req, "set=1\n", 6) == 0 && req[len - 1] == '\n')
    rc = mf_wg_uapi_set(wm, d, req + 6, len - 7, 0, effects);
  int n = snprintf(out, cap, "errno=%d\n\n", rc);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
