#include "core/observe.h"

#include "core/trace.h"

void mf_observe_frame(mf_vm_t *vm, mf_node_rt_t *node, const uint32_t *buffers,
                      uint32_t n)
{
  if (vm->trace)
    mf_trace_frame(vm, node, buffers, n);
  if (node->captured && vm->capture_hook)
    vm->capture_hook(vm, node, buffers, n);
}
