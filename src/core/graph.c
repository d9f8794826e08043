#include "core/graph_rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/observe.h"

static void fifo_push(mf_vm_t *vm, uint32_t fi)
{
  vm->frames[fi].fifo_next = MF_NODE_INVALID;
  if (vm->fifo_tail == MF_NODE_INVALID)
    vm->fifo_head = fi;
  else
    vm->frames[vm->fifo_tail].fifo_next = fi;
  vm->fifo_tail = fi;
}

static uint32_t fifo_pop(mf_vm_t *vm)
{
  uint32_t fi = vm->fifo_head;
  if (fi == MF_NODE_INVALID)
    return fi;
  vm->fifo_head = vm->frames[fi].fifo_next;
  if (vm->fifo_head == MF_NODE_INVALID)
    vm->fifo_tail = MF_NODE_INVALID;
  return fi;
}

static int alloc_errors(mf_vm_t *vm)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < vm->n_nodes; i++) {
    vm->nodes[i].error_base = n;
    n += vm->nodes[i].reg->n_errors;
  }
  vm->n_errors = n;
  vm->errors = calloc(n ? n : 1, sizeof(*vm->errors));
  vm->error_descs = calloc(n ? n : 1, sizeof(*vm->error_descs));
  vm->error_node = calloc(n ? n : 1, sizeof(*vm->error_node));
  if (!vm->errors || !vm->error_descs || !vm->error_node)
    return -ENOMEM;
  for (uint32_t i = 0; i < vm->n_nodes; i++)
    for (uint32_t e = 0; e < vm->nodes[i].reg->n_errors; e++) {
      vm->error_descs[vm->nodes[i].error_base + e] = &vm->nodes[i].reg->errors[e];
      vm->error_node[vm->nodes[i].error_base + e] = i;
    }
  return 0;
}

static int resolve_arcs(mf_vm_t *vm)
{
  for (uint32_t i = 0; i < vm->n_nodes; i++) {
    mf_node_rt_t *n = &vm->nodes[i];
    for (uint32_t a = 0; a < MF_NODE_MAX_NEXT; a++)
      n->open_frame[a] = MF_NODE_INVALID;
    for (uint32_t a = 0; a < n->reg->n_next; a++) {
      n->next_node[a] = mf_graph_node_index(vm, n->reg->next_nodes[a]);
      if (n->next_node[a] == MF_NODE_INVALID) {
        mf_log_error("graph: node %s: next node '%s' does not exist",
                     n->reg->name, n->reg->next_nodes[a]);
        return -ENOENT;
      }
    }
  }
  return 0;
}

int mf_graph_init(mf_vm_t *vm, const mf_node_reg_t *const *regs,
                  uint32_t n_regs, uint32_t n_frames)
{
  vm->nodes = calloc(n_regs, sizeof(*vm->nodes));
  vm->frames = calloc(n_frames, sizeof(*vm->frames));
  vm->free_frames = calloc(n_frames, sizeof(*vm->free_frames));
  if (!vm->nodes || !vm->frames || !vm->free_frames)
    return -ENOMEM;
  vm->n_nodes = n_regs;
  for (uint32_t i = 0; i < n_regs; i++) {
    vm->nodes[i].reg = regs[i];
    vm->nodes[i].index = i;
  }
  vm->n_frames = n_frames;
  for (uint32_t i = 0; i < n_frames; i++)
    vm->free_frames[i] = n_frames - 1 - i;
  vm->n_free_frames = n_frames;
  vm->fifo_head = vm->fifo_tail = MF_NODE_INVALID;
  int rv = alloc_errors(vm);
  return rv ? rv : resolve_arcs(vm);
}

void mf_graph_free(mf_vm_t *vm)
{
  free(vm->nodes);
  free(vm->frames);
  free(vm->free_frames);
  free(vm->errors);
  free(vm->error_descs);
  free(vm->error_node);
  vm->nodes = NULL;
  vm->frames = NULL;
  vm->free_frames = NULL;
  vm->errors = NULL;
  vm->error_descs = NULL;
  vm->error_node = NULL;
  vm->n_nodes = vm->n_frames = vm->n_errors = 0;
}

uint32_t mf_graph_node_index(const mf_vm_t *vm, const char *name)
{
  for (uint32_t i = 0; i < vm->n_nodes; i++)
    if (strcmp(vm->nodes[i].reg->name, name) == 0)
      return i;
  return MF_NODE_INVALID;
}

/* The frame that collects arc `next` of `node`, opened (and queued to run)
 * on first use; NULL when every frame is in use. */
static mf_frame_t *arc_frame(mf_vm_t *vm, mf_node_rt_t *node, uint16_t next)
{
  uint32_t fi = node->open_frame[next];
  if (fi != MF_NODE_INVALID && vm->frames[fi].n < MF_FRAME_SIZE)
    return &vm->frames[fi];
  if (vm->n_free_frames == 0)
    return NULL;
  fi = vm->free_frames[--vm->n_free_frames];
  mf_frame_t *f = &vm->frames[fi];
  f->node = node->next_node[next];
  f->n = 0;
  fifo_push(vm, fi);
  node->open_frame[next] = fi;
  return f;
}

void mf_graph_enqueue_one(mf_vm_t *vm, mf_node_rt_t *node, uint16_t next,
                          uint32_t bi)
{
  mf_frame_t *f = arc_frame(vm, node, next);
  if (__builtin_expect(f == NULL, 0)) {
    /* Bounded frames are the graph's back-pressure: the packet is dropped
     * and counted, never queued without limit. */
    vm->frame_exhausted++;
    mf_buffer_free(&vm->pool, &bi, 1);
    return;
  }
  f->buffers[f->n++] = bi;
}

void mf_graph_inject(mf_vm_t *vm, uint32_t node_index, const uint32_t *buffers,
                     uint32_t n)
{
  while (n) {
    if (vm->n_free_frames == 0) {
      vm->frame_exhausted += n;
      mf_buffer_free(&vm->pool, buffers, n);
      return;
    }
    uint32_t fi = vm->free_frames[--vm->n_free_frames];
    mf_frame_t *f = &vm->frames[fi];
    f->node = node_index;
    f->n = n < MF_FRAME_SIZE ? n : MF_FRAME_SIZE;
    memcpy(f->buffers, buffers, f->n * sizeof(*buffers));
    fifo_push(vm, fi);
    buffers += f->n;
    n -= f->n;
  }
}

void mf_graph_enqueue_all(mf_vm_t *vm, mf_node_rt_t *node, uint16_t next,
                          const uint32_t *buffers, uint32_t n)
{
  while (n) {
    mf_frame_t *f = arc_frame(vm, node, next);
    if (__builtin_expect(f == NULL, 0)) {
      vm->frame_exhausted += n;
      mf_buffer_free(&vm->pool, buffers, n);
      return;
    }
    uint32_t k = MF_FRAME_SIZE - f->n;
    if (k > n)
      k = n;
    memcpy(f->buffers + f->n, buffers, k * sizeof(*buffers));
    f->n += k;
    buffers += k;
    n -= k;
  }
}

/* Whether every nexts[i] is nexts[0]: four arcs per 64-bit compare, so a
 * vector that goes one way (the usual case) costs about one instruction
 * per packet to recognise. */
static int nexts_uniform(const uint16_t *nexts, uint32_t n)
{
  uint64_t pattern = nexts[0] * 0x0001000100010001ull, differ = 0;
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint64_t w;
    memcpy(&w, nexts + i, sizeof(w));
    differ |= w ^ pattern;
  }
  for (; i < n; i++)
    differ |= (uint64_t)(nexts[i] ^ nexts[0]);
  return differ == 0;
}

void mf_graph_enqueue(mf_vm_t *vm, mf_node_rt_t *node, const uint32_t *buffers,
                      const uint16_t *nexts, uint32_t n)
{
  if (n == 0)
    return;
  if (nexts_uniform(nexts, n)) {
    mf_graph_enqueue_all(vm, node, nexts[0], buffers, n);
    return;
  }
  /* Mixed vectors still mostly come in runs of one next node: move them
   * run by run rather than one by one. */
  uint32_t i = 0;
  while (i < n) {
    uint32_t j = i + 1;
    while (j < n && nexts[j] == nexts[i])
      j++;
    mf_graph_enqueue_all(vm, node, nexts[i], buffers + i, j - i);
    i = j;
  }
}

static void close_arcs(mf_node_rt_t *node)
{
  for (uint32_t a = 0; a < node->reg->n_next; a++)
    node->open_frame[a] = MF_NODE_INVALID;
}

static uint32_t run_node(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                         uint32_t n)
{
  if (__builtin_expect(vm->n_observers != 0, 0))
    mf_observe_frame(vm, node, buffers, n);
  uint64_t t0 = mf_clocks();
  uint32_t done = node->reg->fn(vm, node, buffers, n);
  node->clocks += mf_clocks() - t0;
  node->calls++;
  node->vectors += done;
  close_arcs(node);
  return done;
}

void mf_graph_run(mf_vm_t *vm)
{
  uint32_t fi;
  while ((fi = fifo_pop(vm)) != MF_NODE_INVALID) {
    mf_frame_t *f = &vm->frames[fi];
    mf_node_rt_t *node = &vm->nodes[f->node];
    /* The frame returns to the free list only after its node ran: the
     * node that filled it closed its arcs when it finished, and nodes never
     * enqueue to themselves, so nothing appends to it meanwhile. */
    run_node(vm, node, f->buffers, f->n);
    vm->free_frames[vm->n_free_frames++] = fi;
  }
}

uint32_t mf_graph_poll(mf_vm_t *vm, uint32_t node_index)
{
  mf_node_rt_t *node = &vm->nodes[node_index];
  uint32_t got = run_node(vm, node, NULL, 0);
  if (got)
    mf_graph_run(vm);
  else
    node->calls--; /* an empty poll is not a call worth counting */
  return got;
}
