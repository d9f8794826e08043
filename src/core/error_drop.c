/* error-drop: where every dropped packet ends. It counts the packet under
 * the error its last node set (b->error) and returns the buffer to the
 * pool. Every node's arc 0 leads here. */
#include "core/graph_rt.h"

static uint32_t error_drop_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    const mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    vm->errors[b->error < vm->n_errors ? b->error : 0]++;
  }
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

const mf_node_reg_t mf_error_drop_node = {
    .name = "error-drop",
    .fn = error_drop_fn,
};
