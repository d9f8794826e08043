/* One worker's world (VPP's vlib_main_t): its buffer pool, its graph, its
 * error counters and the interfaces and FIB it forwards with. */
#ifndef MF_CORE_VM_H
#define MF_CORE_VM_H

#include <stdint.h>

#include "core/buffer.h"
#include "core/graph.h"
#include "core/interface.h"

struct mf_fib;
struct mf_trace;
struct mf_capture;
struct mf_wg_main;
struct mf_hoststack;

typedef struct mf_vm {
  mf_buffer_pool_t pool;

  /* Graph: nodes by index, the frames they pass, the FIFO of frames to run. */
  mf_node_rt_t *nodes;
  uint32_t n_nodes;
  mf_frame_t *frames;
  uint32_t *free_frames; /* stack of free frame indices */
  uint32_t n_free_frames, n_frames;
  uint32_t fifo_head, fifo_tail;
  uint64_t frame_exhausted; /* buffers dropped for want of a frame */

  /* Error counters of every node, indexed by node->error_base + code. */
  uint64_t *errors;
  const mf_error_desc_t **error_descs;
  uint32_t *error_node;
  uint32_t n_errors;

  mf_if_t ifs[MF_MAX_INTERFACES];
  uint32_t n_ifs;

  struct mf_fib *fib;
  struct mf_wg_main *wg;      /* WireGuard devices, NULL when none */
  struct mf_hoststack *hs;    /* the host stack behind direct, or NULL */
  struct mf_dest_seen *dest_seen; /* tunnels' recent destinations, or NULL */
  struct mf_trace *trace;     /* NULL when nothing is traced */
  struct mf_capture *capture; /* NULL when no capture runs */
  uint32_t n_observers; /* trace and capture: 0 keeps the dispatcher lean */
  void (*capture_hook)(struct mf_vm *vm, mf_node_rt_t *node,
                       const uint32_t *buffers, uint32_t n);

  uint64_t now_ns; /* monotonic, read once per main-loop iteration */

  /* Fault injection for tests of loss recovery: tun-input and tun-output
   * each drop this many packets per million, chosen by a xorshift64
   * generator (fault_rng, never 0), counted as fault-drop. 0: off. */
  uint32_t fault_drop_ppm;
  uint64_t fault_rng;

  /* dns.hijack: ip-lookup hands every UDP port-53 packet from the TUN to
   * the stack's DNS server, whatever its destination. */
  uint8_t dns_hijack;
} mf_vm_t;

#endif
