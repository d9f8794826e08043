#include "core/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void record(mf_trace_t *t, const mf_vm_t *vm, const mf_node_rt_t *node,
                   mf_buffer_t *b)
{
  if (t->n_records >= MF_TRACE_MAX_RECORDS) {
    t->records_refused++;
    return;
  }
  mf_trace_record_t *r = &t->records[t->n_records++];
  r->packet = b->trace_id;
  r->node = node->index;
  r->time_ns = vm->now_ns;
  r->error = b->error;
  r->len = b->current_length;
  r->snap_len = b->current_length < MF_TRACE_SNAP ? b->current_length : MF_TRACE_SNAP;
  memcpy(r->data, mf_buffer_data(b), r->snap_len);
}

int mf_trace_add(mf_vm_t *vm, uint32_t node, uint32_t count)
{
  if (node >= vm->n_nodes || vm->nodes[node].reg->type != MF_NODE_INPUT)
    return -EINVAL;
  if (!vm->trace) {
    mf_trace_t *t = calloc(1, sizeof(*t));
    if (!t)
      return -ENOMEM;
    t->records = calloc(MF_TRACE_MAX_RECORDS, sizeof(*t->records));
    if (!t->records) {
      free(t);
      return -ENOMEM;
    }
    vm->trace = t;
    vm->n_observers++;
  }
  vm->nodes[node].trace_remaining = count;
  return 0;
}

void mf_trace_clear(mf_vm_t *vm)
{
  if (!vm->trace)
    return;
  for (uint32_t i = 0; i < vm->n_nodes; i++)
    vm->nodes[i].trace_remaining = 0;
  free(vm->trace->records);
  free(vm->trace);
  vm->trace = NULL;
  vm->n_observers--;
}

void mf_trace_frame(mf_vm_t *vm, const mf_node_rt_t *node,
                    const uint32_t *buffers, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (b->flags & MF_BUFFER_F_TRACED)
      record(vm->trace, vm, node, b);
  }
}

void mf_trace_mark_slow(mf_vm_t *vm, mf_node_rt_t *node, mf_buffer_t *b)
{
  if (!vm->trace)
    return;
  node->trace_remaining--;
  b->flags |= MF_BUFFER_F_TRACED;
  b->trace_id = ++vm->trace->next_packet;
  record(vm->trace, vm, node, b);
}
