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

typedef struct {
  uint32_t itf;  /* of the current run */
  uint64_t run;  /* its drops, not yet counted */
} if_run_t;

static void if_run_end(mf_vm_t *vm, if_run_t *r)
{
  if (r->run)
    vm->ifs[r->itf].drops += r->run;
  r->run = 0;
}

static void drop_one(mf_vm_t *vm, mf_node_rt_t *node, if_run_t *r,
                     mf_buffer_t *b)
{
  if (b->tx_if != r->itf) {
    if_run_end(vm, r);
    r->itf = b->tx_if;
  }
  r->run++;
  mf_graph_drop(node, b, IF_DROP_ERROR_ROUTED_TO_DROP);
}

/* Counts each interface's drops once per run of packets to it (a vector
 * mostly holds one; four packets to a test), and hands the whole vector to
 * error-drop at once. */
static uint32_t interface_drop_fn(mf_vm_t *vm, mf_node_rt_t *node,
                                  uint32_t *buffers, uint32_t n)
{
  if_run_t r = {UINT32_MAX, 0};
  uint16_t error = (uint16_t)(node->error_base + IF_DROP_ERROR_ROUTED_TO_DROP);
  const uint32_t *bi = buffers, *end = buffers + n;
  for (; end - bi >= 4; bi += 4) {
    mf_buffer_t *b0 = mf_buffer_get(&vm->pool, bi[0]);
    mf_buffer_t *b1 = mf_buffer_get(&vm->pool, bi[1]);
    mf_buffer_t *b2 = mf_buffer_get(&vm->pool, bi[2]);
    mf_buffer_t *b3 = mf_buffer_get(&vm->pool, bi[3]);
    if (__builtin_expect(((b0->tx_if ^ r.itf) | (b1->tx_if ^ r.itf) |
                          (b2->tx_if ^ r.itf) | (b3->tx_if ^ r.itf)) == 0,
                         1)) {
      b0->error = b1->error = b2->error = b3->error = error;
      r.run += 4;
      continue;
    }
    drop_one(vm, node, &r, b0);
    drop_one(vm, node, &r, b1);
    drop_one(vm, node, &r, b2);
    drop_one(vm, node, &r, b3);
  }
  for (; bi < end; bi++)
    drop_one(vm, node, &r, mf_buffer_get(&vm->pool, *bi));
  if_run_end(vm, &r);
  mf_graph_enqueue_all(vm, node, MF_NEXT_DROP, buffers, n);
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
