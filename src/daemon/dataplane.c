#include "daemon/dataplane.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_rt.h"
#include "core/log.h"
#include "core/trace.h"
#include "daemon/node_table.h"
#include "dns/dns_server.h"
#include "fib/fib.h"
#include "hoststack/hoststack.h"
#include "ip/icmp_error.h"
#include "routing/dest_seen.h"
#include "wireguard/wg_device.h"

static void add_interface(mf_vm_t *vm, const char *name, mf_if_type_t type)
{
  mf_if_t *f = &vm->ifs[vm->n_ifs++];
  memset(f, 0, sizeof(*f));
  snprintf(f->name, sizeof(f->name), "%s", name);
  f->type = type;
}

static int install_routes(mf_vm_t *vm, const mf_profile_t *p)
{
  vm->fib = mf_fib_create(MF_DATAPLANE_MAX_ROUTES, UINT32_MAX);
  if (!vm->fib)
    return -ENOMEM;
  for (uint32_t i = 0; i < p->tun.n_stack_addresses; i++) {
    mf_prefix_t host = p->tun.stack_addresses[i];
    host.len = (uint8_t)mf_prefix_max_len(host.family);
    int rv = mf_fib_add(vm->fib, &host, MF_FIB_SRC_LOCAL,
                        MF_DATAPLANE_PRIORITY_LOCAL, MF_IF_LOCAL_INDEX);
    if (rv < 0)
      return rv;
  }
  for (uint32_t i = 0; i < p->n_routes; i++) {
    int rv = mf_fib_add(vm->fib, &p->routes[i].cidr, MF_FIB_SRC_PROFILE,
                        MF_DATAPLANE_PRIORITY_PROFILE,
                        MF_IF_FIRST_PROFILE + p->routes[i].iface);
    if (rv < 0)
      return rv;
  }
  return 0;
}

/* icmp-too-big answers from the stack's own addresses. */
static int setup_icmp_errors(mf_vm_t *vm, const mf_profile_t *p)
{
  mf_icmp_error_ctx_t *c = calloc(1, sizeof(*c));
  if (!c)
    return -ENOMEM;
  c->tun_if = MF_IF_TUN_INDEX;
  for (uint32_t i = 0; i < p->tun.n_stack_addresses; i++) {
    const mf_prefix_t *a = &p->tun.stack_addresses[i];
    if (a->family == AF_INET && !c->has4) {
      memcpy(c->stack4, a->addr, 4);
      c->has4 = true;
    } else if (a->family == AF_INET6 && !c->has6) {
      memcpy(c->stack6, a->addr, 16);
      c->has6 = true;
    }
  }
  vm->nodes[mf_graph_node_index(vm, "icmp-too-big")].ctx = c;
  return 0;
}

static int start_wireguard(mf_vm_t *vm, const mf_profile_t *p)
{
  char err[512];
  if (p->n_wg == 0)
    return 0;
  vm->wg = mf_wg_main_create(vm, p, MF_IF_FIRST_PROFILE, err, sizeof(err));
  if (!vm->wg) {
    mf_log_error("%s", err);
    return -EINVAL;
  }
  vm->nodes[mf_graph_node_index(vm, "wg-output")].ctx = vm->wg;
  vm->nodes[mf_graph_node_index(vm, "wg-input")].ctx = vm->wg;
  /* DNS host routes to a tunnel live on while its flows do. */
  vm->dest_seen = mf_dest_seen_create();
  return vm->dest_seen ? 0 : -ENOMEM;
}

/* The host stack is cheap when idle (its pool and hash, no sockets until
 * a flow starts), so it exists whether or not a route points to direct. */
#define NS_PER_S 1000000000ull

static int start_hoststack(mf_vm_t *vm, const mf_profile_t *p,
                           const mf_tun_t *tun)
{
  const mf_hoststack_cfg_t *h = &p->hoststack;
  vm->hs = mf_hoststack_create(vm, h->max_sessions, p->tun.fwmark);
  if (!vm->hs) {
    mf_log_error("hoststack: %s", strerror(ENOMEM));
    return -ENOMEM;
  }
  vm->hs->tun_ifindex = (int)if_nametoindex(tun->name);
  vm->hs->udp_idle_ns = (uint64_t)h->udp_idle_timeout_s * NS_PER_S;
  vm->hs->icmp_idle_ns = (uint64_t)h->icmp_idle_timeout_s * NS_PER_S;
  mf_tcp_cfg_t tcp;
  mf_tcp_cfg_default(&tcp);
  tcp.rx_buf = h->tcp_rx_buffer;
  tcp.tx_buf = h->tcp_tx_buffer;
  /* With TUN offloads the kernel cuts our segments to the app's MSS: new
   * data may leave as one super-segment of up to 64 KiB. */
  tcp.tso_max_bytes = tun->offloads ? 65536 : 0;
  if (mf_hoststack_tcp_setup(vm->hs, &tcp, h->tcp_memory,
                             (uint64_t)h->tcp_connect_timeout_s * NS_PER_S,
                             (uint64_t)h->tcp_idle_timeout_s * NS_PER_S,
                             p->tun.mtu) < 0) {
    mf_log_error("hoststack: %s", strerror(ENOMEM));
    return -ENOMEM;
  }
  vm->nodes[mf_graph_node_index(vm, "hs-input")].ctx = vm->hs;
  vm->fault_drop_ppm = p->debug.tun_drop_ppm;
  if (vm->fault_drop_ppm)
    mf_log_warn("debug.tun_drop: %u packets per million are dropped at the "
                "TUN on purpose", vm->fault_drop_ppm);
  return 0;
}

int mf_dataplane_init(mf_vm_t *vm, const mf_profile_t *p, mf_tun_t *tun)
{
  int rv = mf_buffer_pool_init_large(&vm->pool, MF_DATAPLANE_BUFFERS,
                                     tun->vnet_hdr ? MF_DATAPLANE_LARGE_BUFFERS : 0);
  if (rv == 0)
    rv = mf_graph_init(vm, mf_node_table, mf_node_table_len, MF_DATAPLANE_FRAMES);
  if (rv < 0) {
    mf_log_error("graph: %s", strerror(-rv));
    return rv;
  }
  add_interface(vm, p->tun.name, MF_IF_TUN);
  add_interface(vm, "local", MF_IF_LOCAL);
  for (uint32_t i = 0; i < p->n_ifaces; i++)
    add_interface(vm, p->ifaces[i].name, p->ifaces[i].type);
  tun->if_index = MF_IF_TUN_INDEX;
  vm->nodes[mf_graph_node_index(vm, "tun-input")].ctx = tun;
  vm->nodes[mf_graph_node_index(vm, "tun-output")].ctx = tun;
  rv = install_routes(vm, p);
  if (rv < 0) {
    mf_log_error("fib: installing the profile's routes: %s", strerror(-rv));
    return rv;
  }
  rv = setup_icmp_errors(vm, p);
  if (rv == 0)
    rv = start_hoststack(vm, p, tun);
  return rv < 0 ? rv : start_wireguard(vm, p);
}

int mf_dataplane_start_dns(mf_vm_t *vm, const mf_profile_t *p,
                           const mf_approute_t *ar, uint64_t now_ns)
{
  if (!ar || !ar->enabled)
    return 0;
  mf_dns_server_t *s = mf_dns_server_create(vm, ar, p->tun.stack_addresses,
                                            p->tun.n_stack_addresses, NULL,
                                            now_ns);
  if (!s)
    return -ENOMEM;
  /* A truncated answer for a TCP client is asked again over TCP through
   * the TUN, from the machine's side of it (the name the kernel gave). */
  const mf_tun_t *tun = vm->nodes[mf_graph_node_index(vm, "tun-output")].ctx;
  mf_dns_server_tcp_upstream_via(s, tun ? tun->name : p->tun.name,
                                 p->tun.addresses, p->tun.n_addresses);
  vm->nodes[mf_graph_node_index(vm, "dns-input")].ctx = s;
  vm->dns_hijack = ar->hijack;
  return 0;
}

void mf_dataplane_stop_dns(mf_vm_t *vm)
{
  uint32_t i = mf_graph_node_index(vm, "dns-input");
  if (i == MF_NODE_INVALID)
    return;
  mf_dns_server_destroy(vm->nodes[i].ctx);
  vm->nodes[i].ctx = NULL;
  vm->dns_hijack = 0;
}

mf_dns_server_t *mf_dataplane_dns(const mf_vm_t *vm)
{
  uint32_t i = mf_graph_node_index(vm, "dns-input");
  return i == MF_NODE_INVALID ? NULL : vm->nodes[i].ctx;
}

void mf_dataplane_free(mf_vm_t *vm)
{
  mf_trace_clear(vm);
  /* Before the FIB: the server removes its host routes from it. */
  uint32_t dns = mf_graph_node_index(vm, "dns-input");
  if (dns != MF_NODE_INVALID) {
    mf_dns_server_destroy(vm->nodes[dns].ctx);
    vm->nodes[dns].ctx = NULL;
  }
  uint32_t icmp = mf_graph_node_index(vm, "icmp-too-big");
  if (icmp != MF_NODE_INVALID)
    free(vm->nodes[icmp].ctx);
  mf_wg_main_destroy(vm->wg);
  vm->wg = NULL;
  mf_dest_seen_destroy(vm->dest_seen);
  vm->dest_seen = NULL;
  mf_hoststack_destroy(vm->hs);
  vm->hs = NULL;
  if (vm->fib)
    mf_fib_destroy(vm->fib);
  vm->fib = NULL;
  mf_graph_free(vm);
  mf_buffer_pool_free(&vm->pool);
}
