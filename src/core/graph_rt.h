/* Building and running the graph (core/graph.c). */
#ifndef MF_CORE_GRAPH_RT_H
#define MF_CORE_GRAPH_RT_H

#include "core/vm.h"

/* Instantiates the nodes of `regs` (in that order) and resolves their next
 * arcs by name; frames are preallocated, n_frames of them. 0 or -errno, with
 * the unresolved name logged. */
int mf_graph_init(mf_vm_t *vm, const mf_node_reg_t *const *regs,
                  uint32_t n_regs, uint32_t n_frames);
void mf_graph_free(mf_vm_t *vm);

/* Index of the node called `name`, or MF_NODE_INVALID. */
uint32_t mf_graph_node_index(const mf_vm_t *vm, const char *name);

/* Hands each buffers[i] to arc nexts[i] of `node` (VPP's
 * vlib_buffer_enqueue_to_next). Ownership of the buffers passes on. */
void mf_graph_enqueue(mf_vm_t *vm, mf_node_rt_t *node, const uint32_t *buffers,
                      const uint16_t *nexts, uint32_t n);
/* Hands all n buffers to arc `next`: for a node that knows its whole
 * vector goes one way (VPP's speculative next), one copy of the indices. */
void mf_graph_enqueue_all(mf_vm_t *vm, mf_node_rt_t *node, uint16_t next,
                          const uint32_t *buffers, uint32_t n);
void mf_graph_enqueue_one(mf_vm_t *vm, mf_node_rt_t *node, uint16_t next,
                          uint32_t bi);

/* Runs input node `node_index` once (it reads what it can, bounded), then
 * every frame it produced until the graph is empty. Returns what the input
 * node read. */
uint32_t mf_graph_poll(mf_vm_t *vm, uint32_t node_index);
/* Queues buffers straight to node_index, as if an arc led there: for
 * benchmarks, tests and hand-offs from outside the graph. Buffers beyond
 * the free frames are dropped and counted in frame_exhausted. */
void mf_graph_inject(mf_vm_t *vm, uint32_t node_index, const uint32_t *buffers,
                     uint32_t n);

/* Runs pending frames until none is left. */
void mf_graph_run(mf_vm_t *vm);

/* Marks buffer b as dropped for error `code` of `node`; returns the drop arc
 * for the caller's nexts[]. */
static inline uint16_t mf_graph_drop(mf_node_rt_t *node, mf_buffer_t *b,
                                     uint32_t code)
{
  b->error = (uint16_t)(node->error_base + code);
  return MF_NEXT_DROP;
}

/* Node functions' reading of the clock for `show runtime`. */
static inline uint64_t mf_clocks(void)
{
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  return 0;
#endif
}

/* The node every drop arc leads to (core/error_drop.c). */
extern const mf_node_reg_t mf_error_drop_node;

#endif
