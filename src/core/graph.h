/* The packet-processing graph, in the shape of fd.io VPP's vlib.
 *
 * A node receives a vector of buffer indices, decides a next arc for each,
 * and hands them on with one mf_graph_enqueue() call. Enqueued buffers land
 * in frames (up to MF_FRAME_SIZE indices) that wait in a FIFO; the
 * dispatcher runs frames until the FIFO is empty. Input nodes (n == 0 on
 * entry) read from a device and enqueue what they read.
 *
 * Threads: one mf_vm_t per worker; nothing here is shared between workers. */
#ifndef MF_CORE_GRAPH_H
#define MF_CORE_GRAPH_H

#include <stdint.h>

#include "core/buffer.h"

#define MF_FRAME_SIZE 256
#define MF_NODE_MAX_NEXT 16
#define MF_NODE_INVALID UINT32_MAX

typedef struct mf_vm mf_vm_t;
typedef struct mf_node_rt mf_node_rt_t;

/* Processes n buffers (n == 0 for an input node asked to poll). Returns the
 * number of packets handled, which the runtime statistics count. */
typedef uint32_t mf_node_fn_t(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n);

/* One error (drop reason or notable event) of a node: a short name that
 * scripts grep for, and a sentence for people. */
typedef struct {
  const char *name;
  const char *text;
} mf_error_desc_t;

/* A node declares its errors once as an X-macro list of
 * _(SYMBOL, "short-name", "sentence"), from which it builds both its enum and
 * its table, in the manner of VPP's foreach_ lists:
 *
 *   #define FOO_ERRORS(_) _(TOO_SHORT, "too-short", "shorter than a header")
 *   enum {
 *   #define _(sym, n, t) FOO_ERROR_##sym,
 *     FOO_ERRORS(_)
 *   #undef _
 *     FOO_N_ERROR
 *   };
 *   static const mf_error_desc_t foo_errors[] = {FOO_ERRORS(MF_ERROR_DESC)};
 */
#define MF_ERROR_DESC(sym, n, t) {n, t},

typedef enum {
  MF_NODE_INTERNAL = 0,
  MF_NODE_INPUT, /* polled by the main loop when its file is readable */
} mf_node_type_t;

/* Static description of a node; the node table (core/nodes.c) lists all of
 * them in one place, in init order. */
typedef struct {
  const char *name;
  mf_node_type_t type;
  mf_node_fn_t *fn;
  uint16_t n_next;
  const char *next_nodes[MF_NODE_MAX_NEXT]; /* arc i goes to this node */
  uint16_t n_errors;
  const mf_error_desc_t *errors;
} mf_node_reg_t;

typedef struct mf_frame {
  uint32_t node;      /* the node that will run this frame */
  uint32_t n;         /* buffers in it */
  uint32_t fifo_next; /* link in the pending FIFO, or MF_NODE_INVALID */
  uint32_t buffers[MF_FRAME_SIZE];
} mf_frame_t;

struct mf_node_rt {
  const mf_node_reg_t *reg;
  uint32_t index;
  uint32_t error_base; /* this node's first index in vm->errors */
  uint32_t next_node[MF_NODE_MAX_NEXT];
  uint32_t open_frame[MF_NODE_MAX_NEXT]; /* frame being filled per arc */
  void *ctx;                             /* node-private state */
  /* Runtime statistics for `show runtime`. */
  uint64_t calls, vectors, clocks;
  /* Packets still to mark as traced (input nodes, `trace add`). */
  uint32_t trace_remaining;
  uint8_t captured; /* pcap: record packets entering this node */
};

/* Sets b->error to a node's error `code` and returns the drop arc, which is
 * arc 0 of every internal node by convention (to "error-drop"). */
#define MF_NEXT_DROP 0

#endif
