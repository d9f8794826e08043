/* interface-drop: the drop interface. Packets routed to it are discarded,
 * each counted under one named reason, so a user can see what an AdBlock
 * rule swallowed.
 * Uses: tx_if. Next: error-drop. */
#include "core/graph_rt.h"
#include "ip/nodes.h"

#define IF_DROP_ERRORS(_)                                                     \
  _(ROUTED_TO_DROP, "routed-to-drop", "routed to a drop interface")

enum {
#define _(sym, n, t) IF_DROP_ERROR_##sym,
  IF_DROP_ERRORS(_)
#undef _
  IF_DROP_N_ERROR
};

static const mf_error_desc_t if_drop_errors[] = {IF_DROP_ERRORS(MF_ERROR_DESC)};

static uint32_t interface_drop_fn(mf_vm_t *vm, mf_node_rt_t *node,
                                  uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    vm->ifs[b->tx_if].drops++;
    nexts[i] = mf_graph_drop(node, b, IF_DROP_ERROR_ROUTED_TO_DROP);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_interface_drop_node = {
    .name = "interface-drop",
    .fn = interface_drop_fn,
    .n_next = 1,
    .next_nodes = {"error-drop"},
    .n_errors = IF_DROP_N_ERROR,
    .errors = if_drop_errors,
};
