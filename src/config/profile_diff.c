/* Which profile changes need a restart: a walk over the sections a reload
 * may not touch, stopping at the first key that differs. Marks (line and
 * column) are never compared: moving a key in the file changes nothing. */
#include "config/profile_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The walk's state: the first difference found wins. */
typedef struct {
  char *key;
  size_t size;
  bool found;
} diff_t;

static bool differ(diff_t *d, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the key when cond holds and nothing was recorded yet. */
static bool differ(diff_t *d, bool cond, const char *fmt, ...)
{
  if (!cond || d->found)
    return d->found;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->key, d->size, fmt, ap);
  va_end(ap);
  d->found = true;
  return true;
}

static bool prefixes_differ(const mf_prefix_t *a, uint32_t na,
                            const mf_prefix_t *b, uint32_t nb)
{
  if (na != nb)
    return true;
  for (uint32_t i = 0; i < na; i++)
    if (!mf_prefix_equal(&a[i], &b[i]))
      return true;
  return false;
}

static bool diff_tun(diff_t *d, const mf_tun_cfg_t *a, const mf_tun_cfg_t *b)
{
  differ(d, strcmp(a->name, b->name) != 0, "tun.name");
  differ(d, a->mtu != b->mtu, "tun.mtu");
  differ(d, prefixes_differ(a->addresses, a->n_addresses, b->addresses,
                            b->n_addresses), "tun.addresses");
  differ(d, prefixes_differ(a->stack_addresses, a->n_stack_addresses,
                            b->stack_addresses, b->n_stack_addresses),
         "tun.stack_addresses");
  differ(d, a->auto_route != b->auto_route, "tun.auto_route");
  differ(d, a->exclude_lan != b->exclude_lan, "tun.exclude_lan");
  differ(d, a->route_table != b->route_table, "tun.route_table");
  differ(d, a->fwmark != b->fwmark, "tun.fwmark");
  return differ(d, a->rule_priority != b->rule_priority, "tun.rule_priority");
}

static bool diff_peer(diff_t *d, const char *itf, uint32_t k,
                      const mf_wg_peer_cfg_t *a, const mf_wg_peer_cfg_t *b)
{
  differ(d, memcmp(a->public_key, b->public_key, 32) != 0,
         "interfaces[%s].peers[%u].public_key", itf, k);
  differ(d, a->has_preshared_key != b->has_preshared_key ||
                memcmp(a->preshared_key, b->preshared_key, 32) != 0,
         "interfaces[%s].peers[%u].preshared_key", itf, k);
  differ(d, prefixes_differ(a->allowed_ips, a->n_allowed_ips, b->allowed_ips,
                            b->n_allowed_ips),
         "interfaces[%s].peers[%u].allowed_ips", itf, k);
  differ(d, strcmp(a->endpoint, b->endpoint) != 0,
         "interfaces[%s].peers[%u].endpoint", itf, k);
  return differ(d, a->persistent_keepalive != b->persistent_keepalive,
                "interfaces[%s].peers[%u].persistent_keepalive", itf, k);
}

static bool diff_wg(diff_t *d, const char *itf, const mf_wg_cfg_t *a,
                    const mf_wg_cfg_t *b)
{
  differ(d, memcmp(a->private_key, b->private_key, 32) != 0,
         "interfaces[%s].private_key", itf);
  differ(d, a->listen_port != b->listen_port, "interfaces[%s].listen_port", itf);
  differ(d, prefixes_differ(a->addresses, a->n_addresses, b->addresses,
                            b->n_addresses), "interfaces[%s].address", itf);
  differ(d, a->mtu != b->mtu, "interfaces[%s].mtu", itf);
  differ(d, prefixes_differ(a->dns, a->n_dns, b->dns, b->n_dns),
         "interfaces[%s].dns", itf);
  differ(d, strncmp(a->debug, b->debug, sizeof(a->debug)) != 0,
         "interfaces[%s].debug", itf);
  differ(d, a->n_peers != b->n_peers, "interfaces[%s].peers", itf);
  for (uint32_t k = 0; k < a->n_peers && k < b->n_peers && !d->found; k++)
    diff_peer(d, itf, k, &a->peers[k], &b->peers[k]);
  return d->found;
}

static bool diff_ifaces(diff_t *d, const mf_profile_t *a, const mf_profile_t *b)
{
  uint32_t n = a->n_ifaces < b->n_ifaces ? a->n_ifaces : b->n_ifaces;
  for (uint32_t i = 0; i < n && !d->found; i++) {
    const mf_iface_cfg_t *x = &a->ifaces[i], *y = &b->ifaces[i];
    differ(d, strcmp(x->name, y->name) != 0, "interfaces[%u].name", i);
    differ(d, x->type != y->type, "interfaces[%s].type", x->name);
    if (!d->found && x->type == MF_IF_WIREGUARD && x->wg < a->n_wg &&
        y->wg < b->n_wg)
      diff_wg(d, x->name, &a->wg[x->wg], &b->wg[y->wg]);
  }
  /* Added or removed at the end: named by the first one that is not in
   * both. */
  if (a->n_ifaces > n)
    differ(d, true, "interfaces[%s] (removed)", a->ifaces[n].name);
  if (b->n_ifaces > n)
    differ(d, true, "interfaces[%s] (added)", b->ifaces[n].name);
  return d->found;
}

/* The host stack's rings and their budget are allocated at start. */
static bool diff_hoststack(diff_t *d, const mf_hoststack_cfg_t *a,
                           const mf_hoststack_cfg_t *b)
{
  differ(d, a->tcp_rx_buffer != b->tcp_rx_buffer, "hoststack.tcp_rx_buffer");
  differ(d, a->tcp_tx_buffer != b->tcp_tx_buffer, "hoststack.tcp_tx_buffer");
  return differ(d, a->tcp_memory != b->tcp_memory, "hoststack.tcp_memory");
}

bool mf_profile_diff_needs_restart(const mf_profile_t *running,
                                   const mf_profile_t *next, char *key,
                                   size_t size)
{
  diff_t d = {.key = key, .size = size};
  if (size)
    key[0] = 0;
  diff_tun(&d, &running->tun, &next->tun);
  diff_ifaces(&d, running, next);
  diff_hoststack(&d, &running->hoststack, &next->hoststack);
  return d.found;
}
