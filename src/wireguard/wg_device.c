#include "wireguard/wg_device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/graph_rt.h"
#include "core/log.h"
#include "fib/fib.h"

/* Endpoints may name hosts (wg-quick resolves them once, at start, and so
 * do we); numeric ones need no resolver. */
static int resolve_endpoint(const char *text, mf_sockaddr_t *out, char *err,
                            size_t errlen)
{
  const char *why = NULL;
  if (mf_sockaddr_parse(text, out, &why) == 0)
    return 0;
  const char *colon = strrchr(text, ':');
  if (!colon || text[0] == '[') {
    snprintf(err, errlen, "endpoint '%s': %s", text, why);
    return -1;
  }
  char host[256];
  snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
  struct addrinfo *res = NULL;
  int rv = getaddrinfo(host, colon + 1, &hints, &res);
  if (rv != 0 || !res) {
    snprintf(err, errlen, "endpoint '%s': %s", text, gai_strerror(rv));
    return -1;
  }
  char numeric[300], h[64];
  if (res->ai_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, h, sizeof(h));
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, h, sizeof(h));
  snprintf(numeric, sizeof(numeric), res->ai_family == AF_INET ? "%s:%s" : "[%s]:%s",
           h, colon + 1);
  freeaddrinfo(res);
  return mf_sockaddr_parse(numeric, out, &why) == 0 ? 0 : -1;
}

static void first_of_family(const mf_prefix_t *a, uint32_t n, int family,
                            bool *has, uint8_t *out)
{
  for (uint32_t i = 0; i < n && !*has; i++)
    if (a[i].family == family) {
      memcpy(out, a[i].addr, family == AF_INET ? 4 : 16);
      *has = true;
    }
}

static int peer_init(mf_wg_device_t *d, uint32_t slot,
                     const mf_wg_peer_cfg_t *c, char *err, size_t errlen)
{
  mf_wg_noise_peer_t noise;
  mf_wg_cookie_maker_t cookie;
  if (mf_wg_noise_peer_init(&noise, &d->id, c->public_key,
                            c->has_preshared_key ? c->preshared_key : NULL) < 0 ||
      mf_wg_cookie_maker_init(&cookie, c->public_key) < 0) {
    mf_wg_noise_peer_clear(&noise);
    snprintf(err, errlen, "%s: peer %u: public key is unusable", d->name, slot + 1);
    return -1;
  }
  mf_wg_peer_install(d, slot, &noise, &cookie);
  mf_wg_peer_t *p = &d->peers[slot];
  if (c->endpoint[0]) {
    if (resolve_endpoint(c->endpoint, &p->endpoint, err, errlen) < 0)
      return -1;
    p->has_endpoint = true;
  }
  p->persistent_keepalive = c->persistent_keepalive;
  for (uint32_t i = 0; i < c->n_allowed_ips; i++) {
    p->allowed_ips[p->n_allowed_ips++] = c->allowed_ips[i];
    if (mf_fib_add(d->allowed, &c->allowed_ips[i], MF_FIB_SRC_VPN, 0, slot) < 0) {
      snprintf(err, errlen, "%s: allowed IPs table full", d->name);
      return -1;
    }
  }
  return 0;
}

static mf_wg_device_t *device_create(const mf_profile_t *pr, const mf_iface_cfg_t *ic,
                                     uint32_t if_index, char *err, size_t errlen)
{
  const mf_wg_cfg_t *c = &pr->wg[ic->wg];
  mf_wg_device_t *d = calloc(1, sizeof(*d));
  if (!d) {
    snprintf(err, errlen, "%s: out of memory", ic->name);
    return NULL;
  }
  snprintf(d->name, sizeof(d->name), "%s", ic->name);
  d->if_index = if_index;
  d->mtu = c->mtu;
  d->fwmark = pr->tun.fwmark;
  d->sock.fd = -1;
  first_of_family(c->addresses, c->n_addresses, AF_INET, &d->has4, d->addr4);
  first_of_family(c->addresses, c->n_addresses, AF_INET6, &d->has6, d->addr6);
  bool t4 = false, t6 = false;
  first_of_family(pr->tun.addresses, pr->tun.n_addresses, AF_INET, &t4, d->tun4);
  first_of_family(pr->tun.addresses, pr->tun.n_addresses, AF_INET6, &t6, d->tun6);
  first_of_family(pr->tun.stack_addresses, pr->tun.n_stack_addresses, AF_INET,
                  &d->has_stack4, d->stack4);
  first_of_family(pr->tun.stack_addresses, pr->tun.n_stack_addresses, AF_INET6,
                  &d->has_stack6, d->stack6);
  d->allowed = mf_fib_create(MF_WG_ALLOWED_MAX_ROUTES, UINT32_MAX);
  if (!d->allowed || mf_wg_identity_init(&d->id, c->private_key) < 0 ||
      mf_wg_cookie_checker_init(&d->cookie, d->id.public_key) < 0) {
    snprintf(err, errlen, "%s: cannot set up keys", ic->name);
    goto fail;
  }
  for (uint32_t i = 0; i < c->n_peers; i++)
    if (peer_init(d, i, &c->peers[i], err, errlen) < 0)
      goto fail;
  if (mf_udp_open(&d->sock, c->listen_port, d->fwmark, err, errlen) < 0)
    goto fail;
  mf_wg_udp_offload_setup(d->sock.fd, &d->udp_off);
  return d;
fail:
  mf_udp_close(&d->sock);
  if (d->allowed)
    mf_fib_destroy(d->allowed);
  OPENSSL_cleanse(d, sizeof(*d));
  free(d);
  return NULL;
}

/* Wipes every secret of p and frees what it holds; the slot is free. */
static void peer_wipe(mf_vm_t *vm, mf_wg_peer_t *p)
{
  mf_wg_dropped_t dropped;
  uint32_t slot = p->slot;
  mf_wg_keypairs_clear(&p->kps, &dropped);
  mf_wg_noise_handshake_clear(&p->hs);
  mf_wg_noise_peer_clear(&p->noise);
  mf_wg_cookie_maker_clear(&p->cookie);
  mf_wg_timers_stop(&p->timers);
  uint32_t bi[MF_WG_STAGED_MAX];
  mf_buffer_free(&vm->pool, bi, mf_wg_peer_take_staged(p, bi));
  OPENSSL_cleanse(p, sizeof(*p));
  p->slot = slot;
}

static void device_destroy(mf_vm_t *vm, mf_wg_device_t *d)
{
  for (uint32_t i = 0; i < d->n_peers; i++)
    peer_wipe(vm, &d->peers[i]);
  mf_wg_cookie_checker_clear(&d->cookie);
  mf_wg_identity_clear(&d->id);
  mf_udp_close(&d->sock);
  mf_fib_destroy(d->allowed);
  OPENSSL_cleanse(d, sizeof(*d));
  free(d);
}

mf_wg_main_t *mf_wg_main_create(mf_vm_t *vm, const mf_profile_t *p,
                                uint32_t if_base, char *err, size_t errlen)
{
  mf_wg_main_t *wm = calloc(1, sizeof(*wm));
  if (!wm || mf_wg_data_ctx_init(&wm->data) < 0) {
    snprintf(err, errlen, "wireguard: out of memory");
    free(wm);
    return NULL;
  }
  wm->vm = vm;
  memset(wm->dev_by_if, 0xff, sizeof(wm->dev_by_if));
  wm->wg_output_node = mf_graph_node_index(vm, "wg-output");
  for (uint32_t i = 0; i < p->n_ifaces; i++) {
    if (p->ifaces[i].type != MF_IF_WIREGUARD)
      continue;
    mf_wg_device_t *d = device_create(p, &p->ifaces[i], if_base + i, err, errlen);
    if (!d) {
      mf_wg_main_destroy(wm);
      return NULL;
    }
    wm->dev_by_if[if_base + i] = (uint8_t)wm->n_devs;
    wm->devs[wm->n_devs++] = d;
    mf_log_info("wireguard %s: listening on port %u, %u peer(s)", d->name,
                d->sock.port, d->n_peers);
  }
  return wm;
}

void mf_wg_main_destroy(mf_wg_main_t *wm)
{
  if (!wm)
    return;
  for (uint32_t i = 0; i < wm->n_devs; i++)
    device_destroy(wm->vm, wm->devs[i]);
  mf_wg_data_ctx_fini(&wm->data);
  free(wm->out_scratch);
  mf_wg_input_free_scratch(wm);
  free(wm);
}

mf_wg_peer_t *mf_wg_peer_by_index(mf_wg_device_t *d, uint32_t local_index)
{
  uint32_t slot = (local_index >> 2) & 0x3f;
  return slot < d->n_peers && d->peers[slot].live ? &d->peers[slot] : NULL;
}

uint32_t mf_wg_peer_new_index(mf_wg_peer_t *p)
{
  uint32_t r;
  RAND_bytes((uint8_t *)&r, sizeof(r));
  p->index_seq++;
  return (r & 0xffffff00u) | (p->slot & 0x3f) << 2 | (p->index_seq & 3);
}

void mf_wg_peer_install(mf_wg_device_t *d, uint32_t slot,
                        mf_wg_noise_peer_t *noise, mf_wg_cookie_maker_t *cookie)
{
  mf_wg_peer_t *p = &d->peers[slot];
  memset(p, 0, sizeof(*p));
  p->slot = slot;
  p->live = true;
  p->noise = *noise;
  p->cookie = *cookie;
  mf_wg_noise_peer_clear(noise);
  mf_wg_cookie_maker_clear(cookie);
  mf_wg_keypairs_init(&p->kps);
  uint64_t seed;
  RAND_bytes((uint8_t *)&seed, sizeof(seed));
  mf_wg_timers_init(&p->timers, seed);
  RAND_bytes((uint8_t *)&p->index_seq, sizeof(p->index_seq));
  if (slot >= d->n_peers)
    d->n_peers = slot + 1;
}

void mf_wg_peer_remove(mf_wg_main_t *wm, mf_wg_device_t *d, mf_wg_peer_t *p)
{
  /* What waited for its handshake will never go: counted, not silent. */
  mf_wg_output_count_given_up(wm->vm, p->n_staged);
  peer_wipe(wm->vm, p);
  mf_wg_data_ctx_forget(&wm->data);
  /* Trailing free slots go, so loops over n_peers stay short. */
  while (d->n_peers && !d->peers[d->n_peers - 1].live)
    d->n_peers--;
}

void mf_wg_device_replace_allowed(mf_wg_device_t *d, struct mf_fib *allowed)
{
  mf_fib_destroy(d->allowed);
  d->allowed = allowed;
}

void mf_wg_device_replace_socket(mf_wg_device_t *d, mf_udp_t *u)
{
  /* dup3 keeps the number (and close-on-exec), so nothing that remembered
   * it goes stale; when it fails the new descriptor simply takes over. */
  if (d->sock.fd >= 0 && dup3(u->fd, d->sock.fd, O_CLOEXEC) >= 0)
    close(u->fd);
  else {
    mf_udp_close(&d->sock);
    d->sock.fd = u->fd;
  }
  d->sock.port = u->port;
  u->fd = -1;
  /* A new socket: its options start afresh, and so does what it refused. */
  mf_wg_udp_offload_setup(d->sock.fd, &d->udp_off);
}

uint32_t mf_wg_peer_stage(mf_wg_peer_t *p, uint32_t bi)
{
  uint32_t evicted = MF_BUFFER_INVALID;
  if (p->n_staged == MF_WG_STAGED_MAX) {
    evicted = p->staged[p->staged_head];
    p->staged_head = (p->staged_head + 1) % MF_WG_STAGED_MAX;
    p->n_staged--;
  }
  p->staged[(p->staged_head + p->n_staged) % MF_WG_STAGED_MAX] = bi;
  p->n_staged++;
  return evicted;
}

uint32_t mf_wg_peer_take_staged(mf_wg_peer_t *p, uint32_t *out)
{
  uint32_t n = 0;
  while (p->n_staged) {
    out[n++] = p->staged[p->staged_head];
    p->staged_head = (p->staged_head + 1) % MF_WG_STAGED_MAX;
    p->n_staged--;
  }
  return n;
}

void mf_wg_peer_flush_staged(mf_wg_main_t *wm, mf_wg_peer_t *p)
{
  uint32_t bi[MF_WG_STAGED_MAX];
  uint32_t n = mf_wg_peer_take_staged(p, bi);
  if (n)
    mf_graph_inject(wm->vm, wm->wg_output_node, bi, n);
}
