/* tun-input: reads up to a frame of packets from the TUN per poll (the main
 * loop polls again while epoll reports it readable) and sorts them by IP
 * version. tun-output: writes each packet back to the TUN.
 * tun-input sets: current_data/current_length, rx_if. Next: ip4-input,
 * ip6-input, error-drop. tun-output uses tx_if only for counters; its
 * packets leave the graph there.
 *
 * Both can lose packets on purpose (vm->fault_drop_ppm, the profile's
 * debug.tun_drop), so that tests see the host stack recover from loss
 * without a lossy link in between. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "core/graph_rt.h"
#include "core/trace.h"
#include "io/tun.h"

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
    "dropped on purpose by the fault-injection setting")

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

static uint32_t tun_input_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *unused, uint32_t n_unused)
{
  mf_tun_t *tun = node->ctx;
  uint32_t bi[MF_FRAME_SIZE];
  uint16_t nexts[MF_FRAME_SIZE];
  uint32_t n_bufs = mf_buffer_alloc(&vm->pool, bi, MF_FRAME_SIZE);
  if (n_bufs == 0) {
    /* Nothing to read into: leave the packets in the kernel's queue. */
    vm->errors[node->error_base + TUN_INPUT_ERROR_NO_BUFFERS]++;
    return 0;
  }
  mf_if_t *itf = &vm->ifs[tun->if_index];
  uint32_t n = 0;
  while (n < n_bufs) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bi[n]);
    ssize_t r = read(tun->fd, mf_buffer_data(b), MF_BUFFER_DATA_SIZE);
    if (r < 0) {
      if (errno != EAGAIN && errno != EINTR)
        vm->errors[node->error_base + TUN_INPUT_ERROR_READ_ERROR]++;
      break;
    }
    b->current_length = (uint16_t)r;
    b->rx_if = tun->if_index;
    itf->rx_packets++;
    itf->rx_bytes += (uint64_t)r;
    mf_trace_mark(vm, node, b);
    if (__builtin_expect(vm->fault_drop_ppm != 0, 0) && fault_drop(vm))
      nexts[n] = mf_graph_drop(node, b, TUN_INPUT_ERROR_FAULT_DROP);
    else
      nexts[n] = tun_input_classify(node, b);
    n++;
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
    ssize_t w = write(tun->fd, mf_buffer_data(b), b->current_length);
    if (w == b->current_length) {
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
