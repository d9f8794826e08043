#include "control/commands.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "core/graph_rt.h"
#include "core/trace.h"
#include "fib/fib.h"
#include "dns/dns_server.h"
#include "hoststack/hoststack.h"
#include "ip/format.h"
#include "routing/resolver.h"
#include "wireguard/keys.h"
#include "wireguard/wg_device.h"

#ifndef MF_VERSION
#define MF_VERSION "unknown"
#endif

typedef int command_fn(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out);

static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int show_version(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_out_printf(out, "mintflow %s\n", MF_VERSION);
  mf_out_printf(out, "profile: %s\n", c->profile_source);
  mf_out_printf(out, "uptime: %.1f s\n", (double)(mono_ns() - c->start_ns) / 1e9);
  return 0;
}

static int show_interfaces(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_vm_t *vm = c->vm;
  mf_out_printf(out, "%-20s %4s %-8s %12s %14s %12s %14s %10s\n", "Name", "Idx",
                "Type", "RxPackets", "RxBytes", "TxPackets", "TxBytes", "Drops");
  for (uint32_t i = 0; i < vm->n_ifs; i++) {
    const mf_if_t *f = &vm->ifs[i];
    mf_out_printf(out,
                  "%-20s %4u %-8s %12" PRIu64 " %14" PRIu64 " %12" PRIu64
                  " %14" PRIu64 " %10" PRIu64 "\n",
                  f->name, i, mf_if_type_name(f->type), f->rx_packets,
                  f->rx_bytes, f->tx_packets, f->tx_bytes, f->drops);
  }
  return 0;
}

typedef struct {
  mf_vm_t *vm;
  mf_out_t *out;
  const mf_dns_server_t *dns; /* names the claims of DNS host routes */
} fib_show_t;

static void fib_show_one(const mf_prefix_t *p, mf_fib_source_t src,
                         uint32_t priority, uint32_t adj, bool active, void *ctx)
{
  fib_show_t *s = ctx;
  char pfx[64], why[600];
  mf_prefix_format(p, true, pfx, sizeof(pfx));
  const char *itf = adj < s->vm->n_ifs ? s->vm->ifs[adj].name : "?";
  bool named = src == MF_FIB_SRC_DNS &&
               mf_dns_server_describe_route(s->dns, p->family, p->addr, why,
                                            sizeof(why));
  mf_out_printf(s->out, "%-44s via %-16s source %-8s priority %-5u%s%s%s\n",
                pfx, itf, mf_fib_source_name(src), priority,
                active ? " active" : "", named ? "  " : "", named ? why : "");
}

static int show_ip_fib(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  uint32_t dns = mf_graph_node_index(c->vm, "dns-input");
  fib_show_t s = {c->vm, out,
                  dns == MF_NODE_INVALID ? NULL : c->vm->nodes[dns].ctx};
  mf_fib_stats_t st;
  mf_fib_get_stats(c->vm->fib, &st);
  mf_out_printf(out, "ipv4: %u routes, ipv6: %u routes, %" PRIu64
                " refused, %" PRIu64 " bytes\n",
                st.routes4, st.routes6, st.refused, st.memory_bytes);
  mf_fib_walk(c->vm->fib, AF_INET, fib_show_one, &s);
  mf_fib_walk(c->vm->fib, AF_INET6, fib_show_one, &s);
  return 0;
}

static void show_wg_peer(mf_out_t *out, const mf_wg_peer_t *p, uint64_t wall)
{
  char key[MF_WG_KEY_B64_LEN + 1], ep[80], pfx[64];
  mf_wg_key_to_base64(key, p->noise.public_key);
  if (p->has_endpoint)
    mf_sockaddr_format(&p->endpoint, ep, sizeof(ep));
  else
    snprintf(ep, sizeof(ep), "(none)");
  mf_out_printf(out, "\npeer: %s\n  endpoint: %s\n  allowed ips:", key, ep);
  for (uint32_t i = 0; i < p->n_allowed_ips; i++) {
    mf_prefix_format(&p->allowed_ips[i], true, pfx, sizeof(pfx));
    mf_out_printf(out, "%s %s", i ? "," : "", pfx);
  }
  if (p->last_handshake_wall_ns)
    mf_out_printf(out, "\n  latest handshake: %.0f seconds ago",
                  (double)(wall - p->last_handshake_wall_ns) / 1e9);
  else
    mf_out_printf(out, "\n  latest handshake: (none)");
  mf_out_printf(out, "\n  transfer: %" PRIu64 " B received, %" PRIu64 " B sent\n",
                p->rx_bytes, p->tx_bytes);
  if (p->persistent_keepalive)
    mf_out_printf(out, "  persistent keepalive: every %u seconds\n", p->persistent_keepalive);
}

static int show_wireguard(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  const mf_wg_main_t *wm = c->vm->wg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t wall = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  if (!wm || wm->n_devs == 0) {
    mf_out_printf(out, "no wireguard interfaces\n");
    return 0;
  }
  for (uint32_t i = 0; i < wm->n_devs; i++) {
    const mf_wg_device_t *d = wm->devs[i];
    char key[MF_WG_KEY_B64_LEN + 1];
    mf_wg_key_to_base64(key, d->id.public_key);
    /* The private key is never printed. */
    mf_out_printf(out, "%sinterface: %s\n  public key: %s\n  listening port: %u\n",
                  i ? "\n" : "", d->name, key, d->sock.port);
    for (uint32_t k = 0; k < d->n_peers; k++)
      if (d->peers[k].live)
        show_wg_peer(out, &d->peers[k], wall);
  }
  return 0;
}

/* The session's remote: address:port for TCP and UDP (UDP: the last
 * destination), the address alone for ICMP (no ports). */
static void format_remote(const mf_hs_session_t *s, char *out, size_t size)
{
  const mf_sockaddr_t *a = &s->last_remote;
  if (a->sa.sa_family == 0)
    snprintf(out, size, "-");
  else if (s->proto != MF_HS_ICMP)
    mf_sockaddr_format(a, out, size);
  else if (!inet_ntop(a->sa.sa_family,
                      a->sa.sa_family == AF_INET ? (const void *)&a->in4.sin_addr
                                                 : (const void *)&a->in6.sin6_addr,
                      out, (socklen_t)size))
    snprintf(out, size, "?");
}

static const char *proto_name(uint8_t p)
{
  return p == MF_HS_TCP ? "tcp" : p == MF_HS_UDP ? "udp" : "icmp";
}

/* What the upstream side is: the local port of a UDP socket, the ICMP
 * identifier, or the TCP connection's state toward the app. */
static void format_state(const mf_hoststack_t *hs, uint32_t si, char *out,
                         size_t size)
{
  const mf_hs_session_t *s = &hs->sessions[si];
  if (s->proto == MF_HS_UDP)
    snprintf(out, size, "port %u", s->up_port);
  else if (s->proto == MF_HS_ICMP)
    snprintf(out, size, "id %u", (unsigned)__builtin_bswap16(s->up_id));
  else if (s->tcp_flags & MF_HS_TCP_CONNECTING)
    snprintf(out, size, "CONNECTING");
  else
    snprintf(out, size, "%s", mf_tcp_state_name(hs->tcp[si].state));
}

static int show_sessions(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  const mf_hoststack_t *hs = c->vm->hs;
  uint64_t now = mono_ns();
  if (!hs || hs->n_live == 0) {
    mf_out_printf(out, "no sessions\n");
    return 0;
  }
  mf_out_printf(out, "%-5s %-46s %-48s %-12s %-12s %8s %8s %10s %12s %10s %12s\n",
                "Proto", "App", "Remote", "Interface", "State", "Age", "Idle",
                "TxPackets", "TxBytes", "RxPackets", "RxBytes");
  for (uint32_t i = 0; i < hs->n_sessions; i++) {
    const mf_hs_session_t *s = &hs->sessions[i];
    if (!s->live)
      continue;
    char app[80], remote[80], state[24];
    mf_hoststack_format_app(s, app, sizeof(app));
    format_remote(s, remote, sizeof(remote));
    format_state(hs, i, state, sizeof(state));
    const char *itf = s->if_index < c->vm->n_ifs ? c->vm->ifs[s->if_index].name : "-";
    mf_out_printf(out,
                  "%-5s %-46s %-48s %-12s %-12s %8.1f %8.1f %10" PRIu64 " %12" PRIu64
                  " %10" PRIu64 " %12" PRIu64 "\n",
                  proto_name(s->proto), app, remote, itf, state,
                  (double)(now - s->created_ns) / 1e9,
                  (double)(now - s->last_ns) / 1e9, s->tx_packets, s->tx_bytes,
                  s->rx_packets, s->rx_bytes);
  }
  return 0;
}

/* The engine's statistics: those of ended connections plus the live ones. */
static mf_tcp_stats_t tcp_totals(const mf_hoststack_t *hs)
{
  mf_tcp_stats_t t = hs->c.tcp_closed;
  for (uint32_t i = 0; hs->tcp && i < hs->n_sessions; i++) {
    const mf_hs_session_t *s = &hs->sessions[i];
    if (!s->live || s->proto != MF_HS_TCP)
      continue;
    const mf_tcp_stats_t *l = &hs->tcp[i].stats;
    t.retransmits += l->retransmits;
    t.fast_retransmits += l->fast_retransmits;
    t.rto_expiries += l->rto_expiries;
    t.ooo_segments += l->ooo_segments;
    t.zero_window_probes += l->zero_window_probes;
    t.window_full += l->window_full;
    t.tlp_probes += l->tlp_probes;
    t.lost_retransmits += l->lost_retransmits;
  }
  return t;
}

static void show_tcp(const mf_hoststack_t *hs, mf_out_t *out)
{
  const mf_hs_counters_t *k = &hs->c;
  mf_tcp_stats_t t = tcp_totals(hs);
  uint32_t live = 0;
  for (uint32_t i = 0; i < hs->n_sessions; i++)
    live += hs->sessions[i].live && hs->sessions[i].proto == MF_HS_TCP;
  mf_out_printf(out, "tcp-sessions: %u\n", live);
  mf_out_printf(out, "tcp-connects: %" PRIu64 "\ntcp-upstream-refused: %" PRIu64
                     "\ntcp-upstream-timeouts: %" PRIu64
                     "\ntcp-upstream-resets: %" PRIu64 "\ntcp-app-resets: %" PRIu64
                     "\ntcp-aborts: %" PRIu64 "\ntcp-time-wait-reused: %" PRIu64
                     "\ntcp-local: %" PRIu64 "\n",
                k->tcp_connects, k->tcp_up_refused, k->tcp_up_timeouts,
                k->tcp_up_resets, k->tcp_app_resets, k->tcp_aborts,
                k->tcp_time_wait_reused, k->tcp_local);
  mf_out_printf(out, "tcp-retransmits: %" PRIu64 "\ntcp-fast-retransmits: %" PRIu64
                     "\ntcp-rto-expiries: %" PRIu64 "\ntcp-out-of-order: %" PRIu64
                     "\ntcp-zero-window-probes: %" PRIu64
                     "\ntcp-window-full: %" PRIu64 "\ntcp-tail-loss-probes: %" PRIu64
                     "\ntcp-lost-retransmits: %" PRIu64 "\n",
                (uint64_t)t.retransmits, (uint64_t)t.fast_retransmits,
                (uint64_t)t.rto_expiries, (uint64_t)t.ooo_segments,
                (uint64_t)t.zero_window_probes, (uint64_t)t.window_full,
                (uint64_t)t.tlp_probes, (uint64_t)t.lost_retransmits);
  mf_out_printf(out, "tcp-buffers: %" PRIu64 " bytes in use, %" PRIu64
                     " cached, budget %" PRIu64 ", refused %" PRIu64 "\n",
                hs->tcp_mem.in_use, hs->tcp_mem.cached, hs->tcp_mem.budget,
                hs->tcp_mem.failures);
}

static int show_hoststack(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  const mf_hoststack_t *hs = c->vm->hs;
  if (!hs) {
    mf_out_printf(out, "no host stack\n");
    return 0;
  }
  mf_out_printf(out, "sessions: %u live, limit %u, pool %u\n", hs->n_live,
                hs->limit, hs->n_sessions);
  mf_out_printf(out, "opened: %" PRIu64 "\nrefused: %" PRIu64 "\nexpired: %" PRIu64
                     "\nclosed: %" PRIu64 "\nsocket-errors: %" PRIu64 "\n",
                hs->c.opened, hs->c.refused, hs->c.expired, hs->c.closed,
                hs->c.socket_errors);
  if (hs->tcp)
    show_tcp(hs, out);
  mf_out_printf(out, "idle timeout: tcp %" PRIu64 " s, udp %" PRIu64
                     " s, icmp %" PRIu64 " s\n",
                (uint64_t)(hs->tcp_idle_ns / 1000000000u),
                (uint64_t)(hs->udp_idle_ns / 1000000000u),
                (uint64_t)(hs->icmp_idle_ns / 1000000000u));
  mf_out_printf(out, "tcp connect timeout: %" PRIu64 " s\n",
                (uint64_t)(hs->tcp_connect_ns / 1000000000u));
  mf_out_printf(out, "memory: %zu bytes\n", mf_hoststack_memory(hs));
  return 0;
}

/* set hoststack [max-sessions N] [udp-idle S] [icmp-idle S]: run-time
 * tuning within the pool allocated at start. */
static int set_hoststack(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_hoststack_t *hs = c->vm->hs;
  if (!hs || argc == 0 || argc % 2) {
    mf_out_printf(out, "usage: set hoststack [max-sessions N] [tcp-idle SECONDS] "
                       "[tcp-connect-timeout SECONDS] [udp-idle SECONDS] "
                       "[icmp-idle SECONDS]\n");
    return -1;
  }
  for (int i = 0; i < argc; i += 2) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(argv[i + 1], &end, 10);
    if (errno || *end || end == argv[i + 1] || v == 0 || v > 86400) {
      mf_out_printf(out, "bad value: %s\n", argv[i + 1]);
      return -1;
    }
    if (strcmp(argv[i], "max-sessions") == 0 && v <= hs->n_sessions)
      hs->limit = (uint32_t)v;
    else if (strcmp(argv[i], "udp-idle") == 0)
      hs->udp_idle_ns = v * 1000000000ull;
    else if (strcmp(argv[i], "tcp-idle") == 0)
      hs->tcp_idle_ns = v * 1000000000ull;
    else if (strcmp(argv[i], "tcp-connect-timeout") == 0 && v <= 300)
      hs->tcp_connect_ns = v * 1000000000ull;
    else if (strcmp(argv[i], "icmp-idle") == 0)
      hs->icmp_idle_ns = v * 1000000000ull;
    else {
      mf_out_printf(out, "bad setting: %s %s (max-sessions at most %u)\n",
                    argv[i], argv[i + 1], hs->n_sessions);
      return -1;
    }
  }
  return 0;
}

/* set fault tun-drop FRACTION: drops that fraction of the packets in
 * each direction at the TUN, to test loss recovery (0 turns it off). */
static int set_fault(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  char *end = NULL;
  double f = argc == 2 ? strtod(argv[1], &end) : -1;
  if (argc != 2 || strcmp(argv[0], "tun-drop") != 0 || !end || *end ||
      !(f >= 0 && f <= 1)) {
    mf_out_printf(out, "usage: set fault tun-drop FRACTION (0..1)\n");
    return -1;
  }
  c->vm->fault_drop_ppm = (uint32_t)(f * 1e6 + 0.5);
  if (c->vm->fault_rng == 0)
    c->vm->fault_rng = 0x9e3779b97f4a7c15ull;
  return 0;
}

static int show_errors(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_vm_t *vm = c->vm;
  mf_out_printf(out, "%12s %-16s %-24s %s\n", "Count", "Node", "Reason", "Description");
  for (uint32_t e = 0; e < vm->n_errors; e++)
    if (vm->errors[e])
      mf_out_printf(out, "%12" PRIu64 " %-16s %-24s %s\n", vm->errors[e],
                    vm->nodes[vm->error_node[e]].reg->name,
                    vm->error_descs[e]->name, vm->error_descs[e]->text);
  if (vm->frame_exhausted)
    mf_out_printf(out, "%12" PRIu64 " %-16s %-24s %s\n", vm->frame_exhausted,
                  "graph", "no-frames", "no free frame to enqueue to");
  if (vm->pool.alloc_failures)
    mf_out_printf(out, "%12" PRIu64 " %-16s %-24s %s\n", vm->pool.alloc_failures,
                  "buffers", "pool-empty", "buffer requests the pool could not fill");
  return 0;
}

static int show_runtime(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_vm_t *vm = c->vm;
  mf_out_printf(out, "%-16s %12s %14s %12s %12s\n", "Name", "Calls", "Vectors",
                "Vectors/Call", "Clocks/Pkt");
  for (uint32_t i = 0; i < vm->n_nodes; i++) {
    const mf_node_rt_t *n = &vm->nodes[i];
    double vpc = n->calls ? (double)n->vectors / (double)n->calls : 0;
    double cpp = n->vectors ? (double)n->clocks / (double)n->vectors : 0;
    mf_out_printf(out, "%-16s %12" PRIu64 " %14" PRIu64 " %12.2f %12.1f\n",
                  n->reg->name, n->calls, n->vectors, vpc, cpp);
  }
  mf_out_printf(out, "buffers: %u of %u free\n", vm->pool.n_free, vm->pool.n_total);
  return 0;
}

static int show_trace(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_vm_t *vm = c->vm;
  const mf_trace_t *t = vm->trace;
  if (!t || t->n_records == 0) {
    mf_out_printf(out, "No packets in trace buffer\n");
    return 0;
  }
  for (uint32_t p = 1; p <= t->next_packet; p++) {
    int header = 0;
    uint64_t t0 = 0;
    for (uint32_t i = 0; i < t->n_records; i++) {
      const mf_trace_record_t *r = &t->records[i];
      if (r->packet != p)
        continue;
      if (!header) {
        mf_out_printf(out, "Packet %u\n", p);
        t0 = r->time_ns;
        header = 1;
      }
      char summary[256];
      const char *name = vm->nodes[r->node].reg->name;
      if (strcmp(name, "error-drop") == 0 && r->error < vm->n_errors)
        snprintf(summary, sizeof(summary), "%s: %s",
                 vm->nodes[vm->error_node[r->error]].reg->name,
                 vm->error_descs[r->error]->name);
      else
        mf_ip_format_summary(summary, sizeof(summary), r->data, r->snap_len, r->len);
      mf_out_printf(out, "  %-16s +%.6f %s\n", name,
                    (double)(r->time_ns - t0) / 1e9, summary);
    }
  }
  if (t->records_refused)
    mf_out_printf(out, "(%" PRIu64 " records not kept: trace buffer full)\n",
                  t->records_refused);
  return 0;
}

static int trace_add(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  if (argc != 2) {
    mf_out_printf(out, "usage: trace add NODE COUNT\n");
    return -1;
  }
  uint32_t node = mf_graph_node_index(c->vm, argv[0]);
  char *end;
  unsigned long count = strtoul(argv[1], &end, 10);
  if (*end || count == 0 || count > 100000) {
    mf_out_printf(out, "COUNT must be 1..100000\n");
    return -1;
  }
  if (node == MF_NODE_INVALID || c->vm->nodes[node].reg->type != MF_NODE_INPUT) {
    mf_out_printf(out, "'%s' is not an input node; input nodes:", argv[0]);
    for (uint32_t i = 0; i < c->vm->n_nodes; i++)
      if (c->vm->nodes[i].reg->type == MF_NODE_INPUT)
        mf_out_printf(out, " %s", c->vm->nodes[i].reg->name);
    mf_out_printf(out, "\n");
    return -1;
  }
  if (mf_trace_add(c->vm, node, (uint32_t)count) < 0) {
    mf_out_printf(out, "trace: out of memory\n");
    return -1;
  }
  mf_out_printf(out, "tracing the next %lu packets of %s\n", count, argv[0]);
  return 0;
}

static int clear(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_vm_t *vm = c->vm;
  if (argc != 1)
    goto usage;
  if (strcmp(argv[0], "trace") == 0)
    mf_trace_clear(vm);
  else if (strcmp(argv[0], "errors") == 0) {
    memset(vm->errors, 0, vm->n_errors * sizeof(*vm->errors));
    vm->frame_exhausted = vm->pool.alloc_failures = 0;
  } else if (strcmp(argv[0], "runtime") == 0) {
    for (uint32_t i = 0; i < vm->n_nodes; i++)
      vm->nodes[i].calls = vm->nodes[i].vectors = vm->nodes[i].clocks = 0;
  } else if (strcmp(argv[0], "interfaces") == 0) {
    for (uint32_t i = 0; i < vm->n_ifs; i++) {
      mf_if_t *f = &vm->ifs[i];
      f->rx_packets = f->rx_bytes = f->tx_packets = f->tx_bytes = f->drops = 0;
    }
  } else
    goto usage;
  return 0;
usage:
  mf_out_printf(out, "usage: clear trace|errors|runtime|interfaces\n");
  return -1;
}

static int parse_pcap_start(int argc, char **argv, mf_capture_opts_t *o,
                            mf_out_t *out)
{
  memset(o, 0, sizeof(*o));
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(a, "--node") == 0 && has_value)
      o->node = argv[++i];
    else if (strcmp(a, "--interface") == 0 && has_value)
      o->interface = argv[++i];
    else if (strcmp(a, "--filter") == 0 && has_value)
      o->filter = argv[++i];
    else if (strcmp(a, "--max") == 0 && has_value) {
      char *end;
      o->max_packets = strtoull(argv[++i], &end, 10);
      if (*end || o->max_packets == 0) {
        mf_out_printf(out, "--max needs a positive count\n");
        return -1;
      }
    } else if (a[0] != '-' && !o->path)
      o->path = a;
    else {
      mf_out_printf(out, "pcap start: unexpected '%s'\n", a);
      return -1;
    }
  }
  if (!o->path || !o->node == !o->interface) {
    mf_out_printf(out, "usage: pcap start (--node NODE | --interface IF) "
                       "[--filter BPF] [--max N] FILE\n");
    return -1;
  }
  if (o->path[0] != '/') {
    mf_out_printf(out, "pcap start: FILE must be an absolute path\n");
    return -1;
  }
  return 0;
}

static int pcap(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  char err[512];
  if (argc >= 1 && strcmp(argv[0], "start") == 0) {
    mf_capture_opts_t o;
    if (parse_pcap_start(argc - 1, argv + 1, &o, out) < 0)
      return -1;
    if (mf_capture_start(c->vm, &o, err, sizeof(err)) < 0) {
      mf_out_printf(out, "pcap start: %s\n", err);
      return -1;
    }
    mf_out_printf(out, "pcap: capturing %s %s to %s\n",
                  o.node ? "node" : "interface", o.node ? o.node : o.interface,
                  o.path);
    return 0;
  }
  if (argc == 1 && strcmp(argv[0], "stop") == 0) {
    uint64_t written;
    char path[4096];
    if (mf_capture_stop(c->vm, &written, path, sizeof(path), err, sizeof(err)) < 0) {
      mf_out_printf(out, "pcap stop: no capture was started\n");
      return -1;
    }
    if (err[0]) {
      mf_out_printf(out, "pcap: %" PRIu64 " packets written to %s, then: %s\n",
                    written, path, err);
      return -1;
    }
    mf_out_printf(out, "pcap: %" PRIu64 " packets written to %s\n", written, path);
    return 0;
  }
  mf_out_printf(out, "usage: pcap start ... | pcap stop\n");
  return -1;
}

/* The built-in DNS server, when App Routing runs it. */
static mf_dns_server_t *dns_server(mf_ctl_ctx_t *c, mf_out_t *out)
{
  uint32_t i = mf_graph_node_index(c->vm, "dns-input");
  mf_dns_server_t *s = i == MF_NODE_INVALID ? NULL : c->vm->nodes[i].ctx;
  if (!s)
    mf_out_printf(out, "no DNS server: app_routing is off\n");
  return s;
}

/* show dns [cache|log|routes]: counters, the cache, recent queries, the
 * host routes answers installed. */
static int show_dns(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_dns_server_t *s = dns_server(c, out);
  if (!s)
    return 0;
  if (argc == 0)
    return mf_dns_server_show_stats(s, out);
  if (strcmp(argv[0], "cache") == 0)
    return mf_dns_server_show_cache(s, mono_ns(), out);
  if (strcmp(argv[0], "log") == 0)
    return mf_dns_server_show_log(s, mono_ns(), out);
  if (strcmp(argv[0], "routes") == 0)
    return mf_dns_server_show_routes(s, mono_ns(), out);
  mf_out_printf(out, "usage: show dns [cache|log|routes]\n");
  return -1;
}

/* dns flush [routes]: empties the cache (and drops the learned routes). */
static int dns_flush(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  mf_dns_server_t *s = dns_server(c, out);
  if (!s)
    return -1;
  bool routes = argc == 1 && strcmp(argv[0], "routes") == 0;
  if (argc > 1 || (argc == 1 && !routes)) {
    mf_out_printf(out, "usage: dns flush [routes]\n");
    return -1;
  }
  return mf_dns_server_flush(s, routes, out);
}

/* show resolver: what the daemon did to the machine's resolver. */
static int show_resolver(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  const mf_resolver_t *r = c->resolver;
  if (!r) {
    mf_out_printf(out, "resolver: not set up\n");
    return 0;
  }
  mf_out_printf(out, "mode:     %s\n", mf_resolver_mode_name(r->mode));
  if (r->mode == MF_RESOLVER_FILE_MODE || r->mode == MF_RESOLVER_RESOLVED) {
    mf_out_printf(out, "file:     %s\n", r->file);
    mf_out_printf(out, "servers:  %s\n", r->servers);
  }
  if (r->mode == MF_RESOLVER_FILE_MODE)
    mf_out_printf(out, "original: %s\n",
                  r->saved[0] ? r->saved : "none (there was no file)");
  if (r->why[0])
    mf_out_printf(out, "why:      %s\n", r->why);
  return 0;
}

/* reload [FILE]: the profile applied without a restart (daemon/reload.h);
 * FILE is absolute (the CLI makes it so). */
static int reload(mf_ctl_ctx_t *c, int argc, char **argv, mf_out_t *out)
{
  if (argc > 1 || (argc == 1 && argv[0][0] != '/')) {
    mf_out_printf(out, "usage: reload [/ABSOLUTE/PROFILE.yaml]\n");
    return -1;
  }
  if (!c->reload) {
    mf_out_printf(out, "reload is not available here\n");
    return -1;
  }
  return c->reload(c->reload_arg, argc ? argv[0] : NULL, out);
}

static const struct {
  const char *verb, *object;
  command_fn *fn;
} commands[] = {
    {"show", "version", show_version},
    {"show", "interfaces", show_interfaces},
    {"show", "ip", show_ip_fib},
    {"show", "errors", show_errors},
    {"show", "runtime", show_runtime},
    {"show", "trace", show_trace},
    {"show", "wireguard", show_wireguard},
    {"show", "sessions", show_sessions},
    {"show", "dns", show_dns},
    {"dns", "flush", dns_flush},
    {"show", "resolver", show_resolver},
    {"show", "hoststack", show_hoststack},
    {"set", "hoststack", set_hoststack},
    {"set", "fault", set_fault},
    {"trace", "add", trace_add},
    {"clear", NULL, clear},
    {"pcap", NULL, pcap},
    {"reload", NULL, reload},
};

int mf_ctl_execute(void *ctx, int argc, char **argv, mf_out_t *out)
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[0], commands[i].verb) != 0)
      continue;
    if (!commands[i].object)
      return commands[i].fn(ctx, argc - 1, argv + 1, out);
    if (argc >= 2 && strcmp(argv[1], commands[i].object) == 0) {
      /* "show ip fib": the object is two words. */
      int skip = strcmp(argv[1], "ip") == 0 && argc >= 3 && strcmp(argv[2], "fib") == 0 ? 3 : 2;
      return commands[i].fn(ctx, argc - skip, argv + skip, out);
    }
  }
  mf_out_printf(out, "unknown command:");
  for (int i = 0; i < argc; i++)
    mf_out_printf(out, " %s", argv[i]);
  mf_out_printf(out, "\ncommands: show version|interfaces|ip fib|errors|runtime|trace|wireguard|"
                     "sessions|hoststack|resolver|dns [cache|log|routes], "
                     "dns flush [routes], "
                     "set hoststack ..., set fault ..., "
                     "trace add NODE COUNT, clear trace|errors|runtime|interfaces, "
                     "pcap start|stop, reload [FILE]\n");
  return -1;
}
