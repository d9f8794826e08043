/* What the dispatcher calls before a node runs when tracing or a capture
 * is active (vm->n_observers != 0). */
#ifndef MF_CORE_OBSERVE_H
#define MF_CORE_OBSERVE_H

#include "core/vm.h"

void mf_observe_frame(mf_vm_t *vm, mf_node_rt_t *node, const uint32_t *buffers,
                      uint32_t n);

#endif
