#include "capture/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/bpf_filter.h"
#include "capture/pcapng.h"
#include "core/graph_rt.h"

#define MF_CAPTURE_SNAPLEN 65535

typedef struct mf_capture {
  mf_pcapng_t w;
  mf_bpf_filter_t *filter;
  uint64_t max_packets;
  uint64_t written;
  uint32_t interface; /* vm->ifs index when capturing an interface, else ~0 */
  uint32_t tun_input, tun_output;
  int running;  /* hooks attached */
  int write_error;
  char path[4096];
} mf_capture_t;

static uint64_t wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void detach(mf_vm_t *vm, mf_capture_t *c)
{
  if (!c->running)
    return;
  for (uint32_t i = 0; i < vm->n_nodes; i++)
    vm->nodes[i].captured = 0;
  vm->capture_hook = NULL;
  vm->n_observers--;
  c->running = 0;
  c->write_error = mf_pcapng_close(&c->w);
}

/* Which packets of a captured node belong to the capture: for an
 * interface other than the TUN, those handed to it. */
static int wanted(const mf_capture_t *c, const mf_node_rt_t *node,
                  const mf_buffer_t *b)
{
  if (c->interface == UINT32_MAX)
    return 1;
  if (node->index == c->tun_input || node->index == c->tun_output)
    return 1;
  return b->tx_if == c->interface;
}

static void capture_hook(mf_vm_t *vm, mf_node_rt_t *node,
                         const uint32_t *buffers, uint32_t n)
{
  mf_capture_t *c = vm->capture;
  uint64_t ts = wall_ns();
  for (uint32_t i = 0; i < n && c->running; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    const uint8_t *pkt = mf_buffer_data(b);
    if (!wanted(c, node, b) ||
        (c->filter && !mf_bpf_filter_match(c->filter, pkt, b->current_length)))
      continue;
    if (mf_pcapng_write(&c->w, 0, ts, pkt, b->current_length, MF_CAPTURE_SNAPLEN) < 0) {
      detach(vm, c);
      break;
    }
    if (++c->written == c->max_packets)
      detach(vm, c);
  }
}

static int attach_interface(mf_vm_t *vm, mf_capture_t *c, const char *name,
                            char *err, size_t errlen)
{
  uint32_t i;
  for (i = 0; i < vm->n_ifs && strcmp(vm->ifs[i].name, name) != 0; i++)
    ;
  if (i == vm->n_ifs) {
    snprintf(err, errlen, "no interface named '%s'", name);
    return -1;
  }
  /* The nodes that hand packets to each type of interface. */
  static const char *const by_type[MF_IF_N_TYPE][2] = {
      [MF_IF_TUN] = {"tun-input", "tun-output"},
      [MF_IF_LOCAL] = {"ip4-local", "ip6-local"},
      [MF_IF_REJECT] = {"ip4-reject", "ip6-reject"},
      [MF_IF_DROP] = {"interface-drop", NULL},
      [MF_IF_DIRECT] = {NULL, NULL},
      [MF_IF_WIREGUARD] = {"wg-output", NULL},
  };
  const char *const *nodes = by_type[vm->ifs[i].type];
  if (!nodes[0]) {
    snprintf(err, errlen, "interface '%s' carries no packets in this build", name);
    return -1;
  }
  for (int k = 0; k < 2 && nodes[k]; k++)
    vm->nodes[mf_graph_node_index(vm, nodes[k])].captured = 1;
  c->interface = i;
  return 0;
}

static int attach(mf_vm_t *vm, mf_capture_t *c, const mf_capture_opts_t *o,
                  char *err, size_t errlen)
{
  c->tun_input = mf_graph_node_index(vm, "tun-input");
  c->tun_output = mf_graph_node_index(vm, "tun-output");
  c->interface = UINT32_MAX;
  if (o->interface)
    return attach_interface(vm, c, o->interface, err, errlen);
  uint32_t node = mf_graph_node_index(vm, o->node);
  if (node == MF_NODE_INVALID) {
    snprintf(err, errlen, "no graph node named '%s' (see `show runtime`)", o->node);
    return -1;
  }
  vm->nodes[node].captured = 1;
  return 0;
}

static void capture_free(mf_vm_t *vm)
{
  mf_capture_t *c = vm->capture;
  if (!c)
    return;
  detach(vm, c);
  mf_bpf_filter_free(c->filter);
  free(c);
  vm->capture = NULL;
}

int mf_capture_start(mf_vm_t *vm, const mf_capture_opts_t *o, char *err,
                     size_t errlen)
{
  if (vm->capture && vm->capture->running) {
    snprintf(err, errlen, "a capture to %s is running: `pcap stop` first",
             vm->capture->path);
    return -1;
  }
  capture_free(vm);
  mf_capture_t *c = calloc(1, sizeof(*c));
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  c->max_packets = o->max_packets;
  snprintf(c->path, sizeof(c->path), "%s", o->path);
  if (o->filter && !(c->filter = mf_bpf_filter_compile(o->filter, err, errlen)))
    goto fail;
  vm->capture = c; /* attach marks nodes; on failure capture_free clears */
  if (attach(vm, c, o, err, errlen) < 0)
    goto fail;
  int rv = mf_pcapng_open(&c->w, o->path);
  if (rv < 0) {
    snprintf(err, errlen, "%s: %s", o->path, strerror(-rv));
    goto fail;
  }
  const char *label = o->interface ? o->interface : o->node;
  if (mf_pcapng_add_interface(&c->w, label, MF_CAPTURE_SNAPLEN) < 0) {
    snprintf(err, errlen, "%s: %s", o->path, strerror(c->w.error));
    mf_pcapng_close(&c->w);
    goto fail;
  }
  c->running = 1;
  vm->capture_hook = capture_hook;
  vm->n_observers++;
  return 0;
fail:
  for (uint32_t i = 0; i < vm->n_nodes; i++)
    vm->nodes[i].captured = 0;
  vm->capture = c;
  capture_free(vm);
  return -1;
}

int mf_capture_stop(mf_vm_t *vm, uint64_t *written, char *path, size_t pathlen,
                    char *err, size_t errlen)
{
  mf_capture_t *c = vm->capture;
  if (!c)
    return -1;
  detach(vm, c);
  *written = c->written;
  snprintf(path, pathlen, "%s", c->path);
  err[0] = 0;
  if (c->write_error)
    snprintf(err, errlen, "%s", strerror(-c->write_error));
  capture_free(vm);
  return 0;
}
