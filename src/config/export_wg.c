/* Profile -> wg-quick text. The format is wg(8)'s CONFIGURATION FILE
 * FORMAT plus wg-quick(8)'s Address, DNS and MTU, and nothing else: the
 * WireGuard apps for Android and iOS refuse keys they do not know (Table,
 * PostUp, SaveConfig), so none is written. Lists are comma-separated as
 * both read them; optional keys at their default are left out. */
#include "config/export_wg.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/key_text.h"

typedef struct {
  char *buf;
  size_t cap, n;
  bool full; /* something did not fit; the text is incomplete */
} writer_t;

__attribute__((format(printf, 2, 3))) static void put(writer_t *w,
                                                      const char *fmt, ...)
{
  va_list ap;
  if (w->full)
    return;
  va_start(ap, fmt);
  int n = vsnprintf(w->buf + w->n, w->cap - w->n, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= w->cap - w->n)
    w->full = true;
  else
    w->n += (size_t)n;
}

/* The key's text is wiped here, so that no copy outlives the call but the
 * one in the output. */
static void put_key(writer_t *w, const char *name, const uint8_t *key)
{
  char text[MF_KEY_TEXT_LEN + 1];
  mf_key_text_encode(key, text);
  put(w, "%s = %s\n", name, text);
  OPENSSL_cleanse(text, sizeof(text));
}

/* n is clamped to max: the lists are fixed arrays. */
static void put_prefixes(writer_t *w, const char *name,
                         const mf_prefix_t *list, uint32_t n, uint32_t max,
                         bool with_len)
{
  char text[64];
  if (n > max)
    n = max;
  put(w, "%s = ", name);
  for (uint32_t k = 0; k < n; k++) {
    mf_prefix_format(&list[k], with_len, text, sizeof(text));
    put(w, "%s%s", k ? ", " : "", text);
  }
  put(w, "\n");
}

static void put_interface(writer_t *w, const mf_wg_cfg_t *wg)
{
  put(w, "[Interface]\n");
  put_key(w, "PrivateKey", wg->private_key);
  if (wg->listen_port)
    put(w, "ListenPort = %u\n", wg->listen_port);
  put_prefixes(w, "Address", wg->addresses, wg->n_addresses,
               MF_PROFILE_MAX_WG_ADDRS, true);
  if (wg->n_dns)
    put_prefixes(w, "DNS", wg->dns, wg->n_dns, MF_PROFILE_MAX_WG_DNS,
                 false);
  put(w, "MTU = %u\n", wg->mtu);
}

static void put_peer(writer_t *w, const mf_wg_peer_cfg_t *pc)
{
  put(w, "\n[Peer]\n");
  put_key(w, "PublicKey", pc->public_key);
  if (pc->has_preshared_key)
    put_key(w, "PresharedKey", pc->preshared_key);
  put_prefixes(w, "AllowedIPs", pc->allowed_ips, pc->n_allowed_ips,
               MF_PROFILE_MAX_ALLOWED_IPS, true);
  if (pc->endpoint[0])
    put(w, "Endpoint = %.*s\n", (int)sizeof(pc->endpoint), pc->endpoint);
  if (pc->persistent_keepalive)
    put(w, "PersistentKeepalive = %u\n", pc->persistent_keepalive);
}

int mf_export_wg_quick(const mf_wg_cfg_t *wg, char *out, size_t cap,
                       size_t *len)
{
  writer_t w = {out, cap, 0, cap == 0};
  uint32_t n_peers = wg->n_peers < MF_PROFILE_MAX_WG_PEERS
                         ? wg->n_peers
                         : MF_PROFILE_MAX_WG_PEERS;
  put_interface(&w, wg);
  for (uint32_t k = 0; k < n_peers; k++)
    put_peer(&w, &wg->peers[k]);
  if (w.full) {
    OPENSSL_cleanse(out, cap);
    if (cap)
      out[0] = 0;
    *len = 0;
    return -1;
  }
  *len = w.n;
  return 0;
}
