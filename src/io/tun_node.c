/* tun-input: reads up to a frame of packets from the TUN per poll (the main
 * loop polls again while epoll reports it readable) and sorts them by IP
 * version. tun-output: writes each packet back to the TUN.
 * tun-input sets: current_data/current_length, rx_if, and with offloads
 * the F_CSUM_PARTIAL/F_GSO state from the virtio-net header. Next:
 * ip4-input, ip6-input, error-drop. tun-output uses tx_if only for
 * counters, and the offload state for the header it prepends; its packets
 * leave the graph there.
 *
 * With offloads each read scatters into the header, an ordinary buffer
 * and, past its end, a large buffer kept spare: a super-packet moves into
 * the large buffer (a copy of the first 2 KiB), every other packet stays
 * where it is, so large buffers are only held by super-packets.
 *
 * Both can lose packets on purpose (vm->fault_drop_ppm, the profile's
 * debug.tun_drop), so that tests see the host stack recover from loss
 * without a lossy link in between. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include <string.h>
#include <sys/uio.h>

#include "core/graph_rt.h"
#include "core/trace.h"
#include "io/tun.h"
#include "io/vnet.h"

/* Any nonzero seed serves xorshift64; this one only makes runs repeatable. */
#define FAULT_RNG_SEED 0x9e3779b97f4a7c15ull

/* True for the packets the fault injection picks: each with probability
 * fault_drop_ppm / 10^6, drawn by one xorshift64 step (Marsaglia 2003,
 * shifts 13, 7, 17). Only called when fault_drop_ppm is not 0. */
static bool fault_drop(mf_vm_t *vm)
{
  uint64_t x = vm->fault_rng ? vm->fault_rng : FAULT_RNG_SEED;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  vm->fault_rng = x;
  /* The high 32 bits scaled to 0..999999, without a division. */
  return (((x >> 32) * 1000000u) >> 32) < vm->fault_drop_ppm;
}

#define TUN_INPUT_ERRORS(_)                                                   \
  _(UNKNOWN_IP_VERSION, "unknown-ip-version",                                 \
    "packet is neither IPv4 nor IPv6")                                        \
  _(NO_BUFFERS, "no-buffers", "buffer pool empty: read deferred")             \
  _(READ_ERROR, "read-error", "read from the TUN failed")                     \
  _(FAULT_DROP, "fault-drop",                                                 \
    "dropped on purpose by the fault-injection setting")                     \
  _(NO_LARGE_BUFFERS, "no-large-buffers",                                    \
    "no large buffer for a super-packet: read deferred")                      \
  _(BAD_VNET_HEADER, "bad-vnet-header",                                       \
    "virtio-net header unreadable, or its offload state impossible")          \
  _(SUPER_PACKETS, "super-packets",                                           \
    "TCP super-packets read (not a drop)")

enum {
#define _(sym, n, t) TUN_INPUT_ERROR_##sym,
  TUN_INPUT_ERRORS(_)
#undef _
  TUN_INPUT_N_ERROR
};

static const mf_error_desc_t tun_input_errors[] = {TUN_INPUT_ERRORS(MF_ERROR_DESC)};

enum { TUN_INPUT_NEXT_DROP, TUN_INPUT_NEXT_IP4, TUN_INPUT_NEXT_IP6 };

static uint16_t tun_input_classify(mf_node_rt_t *node, mf_buffer_t *b)
{
  uint8_t version = b->current_length ? mf_buffer_data(b)[0] >> 4 : 0;
  if (version == 4)
    return TUN_INPUT_NEXT_IP4;
  if (version == 6)
    return TUN_INPUT_NEXT_IP6;
  return mf_graph_drop(node, b, TUN_INPUT_ERROR_UNKNOWN_IP_VERSION);
}

/* One read without offloads: straight into the buffer. */
static ssize_t read_plain(mf_tun_t *tun, mf_buffer_t *b)
{
  return read(tun->fd, mf_buffer_data(b), MF_BUFFER_DATA_SIZE);
}

/* One read with offloads into *bi (an ordinary buffer), the spare large
 * buffer taking what does not fit; a super-packet moves there and *bi
 * becomes the large buffer. Returns the packet's length (header
 * stripped), or -1 with errno, or -2 for a bad header (counted). */
static ssize_t read_vnet(mf_vm_t *vm, mf_node_rt_t *node, mf_tun_t *tun,
                         uint32_t *bi)
{
  mf_buffer_t *b = mf_buffer_get(&vm->pool, *bi);
  mf_buffer_t *l = mf_buffer_get(&vm->pool, tun->spare_large);
  struct virtio_net_hdr h;
  struct iovec iov[3] = {
      {&h, sizeof(h)},
      {mf_buffer_data(b), MF_BUFFER_DATA_SIZE},
      {mf_buffer_data(l) + MF_BUFFER_DATA_SIZE,
       mf_buffer_data_size(l) - MF_BUFFER_DATA_SIZE}};
  ssize_t r = readv(tun->fd, iov, 3);
  if (r < 0)
    return -1;
  if (r < (ssize_t)sizeof(h)) {
    vm->errors[node->error_base + TUN_INPUT_ERROR_BAD_VNET_HEADER]++;
    return -2;
  }
  uint32_t len = (uint32_t)r - (uint32_t)sizeof(h);
  if (len > MF_BUFFER_DATA_SIZE) {
    memcpy(mf_buffer_data(l), mf_buffer_data(b), MF_BUFFER_DATA_SIZE);
    mf_buffer_free(&vm->pool, bi, 1);
    *bi = tun->spare_large;
    tun->spare_large = MF_BUFFER_INVALID;
    b = l;
  }
  b->current_length = len;
  if (mf_vnet_parse(&h, b) != MF_VNET_OK ||
      (len > MF_BUFFER_DATA_SIZE && !(b->flags & MF_BUFFER_F_GSO))) {
    /* Impossible from a kernel that honours TUNSETOFFLOAD; counted, the
     * packet dropped by the caller. */
    vm->errors[node->error_base + TUN_INPUT_ERROR_BAD_VNET_HEADER]++;
    b->flags &= ~(uint32_t)MF_BUFFER_F_OFFLOAD;
    return -2;
  }
  if (b->flags & MF_BUFFER_F_GSO)
    vm->errors[node->error_base + TUN_INPUT_ERROR_SUPER_PACKETS]++;
  return (ssize_t)len;
}

/* Makes sure a large buffer waits for the next read; false when the pool
 * has none (the read must wait: a super-packet would not fit). */
static bool have_spare(mf_vm_t *vm, mf_node_rt_t *node, mf_tun_t *tun)
{
  if (tun->spare_large != MF_BUFFER_INVALID)
    return true;
  tun->spare_large = mf_buffer_alloc_large(&vm->pool);
  if (tun->spare_large != MF_BUFFER_INVALID)
    return true;
  vm->errors[node->error_base + TUN_INPUT_ERROR_NO_LARGE_BUFFERS]++;
  return false;
}

static uint32_t tun_input_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *unused, uint32_t n_unused)
{
  mf_tun_t *tun = node->ctx;
  uint32_t bi[MF_FRAME_SIZE];
  uint16_t nexts[MF_FRAME_SIZE];
  if (tun->vnet_hdr && !have_spare(vm, node, tun))
    return 0;
  uint32_t n_bufs = mf_buffer_alloc(&vm->pool, bi, MF_FRAME_SIZE);
  if (n_bufs == 0) {
    /* Nothing to read into: leave the packets in the kernel's queue. */
    vm->errors[node->error_base + TUN_INPUT_ERROR_NO_BUFFERS]++;
    return 0;
  }
  mf_if_t *itf = &vm->ifs[tun->if_index];
  uint32_t n = 0, n_bad = 0;
  while (n < n_bufs) {
    ssize_t r = tun->vnet_hdr
                    ? read_vnet(vm, node, tun, &bi[n])
                    : read_plain(tun, mf_buffer_get(&vm->pool, bi[n]));
    if (r == -1) {
      if (errno != EAGAIN && errno != EINTR)
        vm->errors[node->error_base + TUN_INPUT_ERROR_READ_ERROR]++;
      break;
    }
    if (r == -2) {
      /* Counted; the buffer is read into again, a frame's worth at most. */
      if (++n_bad == MF_FRAME_SIZE || !have_spare(vm, node, tun))
        break;
      continue;
    }
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bi[n]);
    b->current_length = (uint32_t)r;
    b->rx_if = tun->if_index;
    itf->rx_packets++;
    itf->rx_bytes += (uint64_t)r;
    mf_trace_mark(vm, node, b);
    if (__builtin_expect(vm->fault_drop_ppm != 0, 0) && fault_drop(vm))
      nexts[n] = mf_graph_drop(node, b, TUN_INPUT_ERROR_FAULT_DROP);
    else
      nexts[n] = tun_input_classify(node, b);
    n++;
    /* A super-packet took the spare: the next read needs another. */
    if (tun->vnet_hdr && !have_spare(vm, node, tun))
      break;
  }
  if (n < n_bufs)
    mf_buffer_free(&vm->pool, bi + n, n_bufs - n);
  if (__builtin_expect(node->captured && vm->capture_hook != NULL, 0))
    vm->capture_hook(vm, node, bi, n);
  mf_graph_enqueue(vm, node, bi, nexts, n);
  return n;
}

#define TUN_OUTPUT_ERRORS(_)                                                  \
  _(QUEUE_FULL, "queue-full", "TUN transmit queue full")                      \
  _(WRITE_ERROR, "write-error", "write to the TUN failed")                    \
  _(FAULT_DROP, "fault-drop",                                                 \
    "dropped on purpose by the fault-injection setting")

enum {
#define _(sym, n, t) TUN_OUTPUT_ERROR_##sym,
  TUN_OUTPUT_ERRORS(_)
#undef _
  TUN_OUTPUT_N_ERROR
};

static const mf_error_desc_t tun_output_errors[] = {TUN_OUTPUT_ERRORS(MF_ERROR_DESC)};

/* Writes b, behind its virtio-net header when the TUN wants one; returns
 * the packet bytes written (header not counted) or -1. */
static ssize_t write_one(mf_tun_t *tun, mf_buffer_t *b)
{
  if (!tun->vnet_hdr)
    return write(tun->fd, mf_buffer_data(b), b->current_length);
  struct virtio_net_hdr h;
  mf_vnet_build(b, &h);
  struct iovec iov[2] = {{&h, sizeof(h)},
                         {mf_buffer_data(b), b->current_length}};
  ssize_t w = writev(tun->fd, iov, 2);
  return w < (ssize_t)sizeof(h) ? -1 : w - (ssize_t)sizeof(h);
}

static uint32_t tun_output_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  mf_tun_t *tun = node->ctx;
  mf_if_t *itf = &vm->ifs[tun->if_index];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (__builtin_expect(vm->fault_drop_ppm != 0, 0) && fault_drop(vm)) {
      vm->errors[node->error_base + TUN_OUTPUT_ERROR_FAULT_DROP]++;
      continue;
    }
    ssize_t w = write_one(tun, b);
    if (w == (ssize_t)b->current_length) {
      itf->tx_packets++;
      itf->tx_bytes += (uint64_t)w;
      continue;
    }
    uint32_t err = (w < 0 && (errno == EAGAIN || errno == ENOBUFS))
                       ? TUN_OUTPUT_ERROR_QUEUE_FULL
                       : TUN_OUTPUT_ERROR_WRITE_ERROR;
    vm->errors[node->error_base + err]++;
    itf->drops++;
  }
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

const mf_node_reg_t mf_tun_input_node = {
    .name = "tun-input",
    .type = MF_NODE_INPUT,
    .fn = tun_input_fn,
    .n_next = 3,
    .next_nodes = {[TUN_INPUT_NEXT_DROP] = "error-drop",
                   [TUN_INPUT_NEXT_IP4] = "ip4-input",
                   [TUN_INPUT_NEXT_IP6] = "ip6-input"},
    .n_errors = TUN_INPUT_N_ERROR,
    .errors = tun_input_errors,
};

const mf_node_reg_t mf_tun_output_node = {
    .name = "tun-output",
    .fn = tun_output_fn,
    .n_errors = TUN_OUTPUT_N_ERROR,
    .errors = tun_output_errors,
};
