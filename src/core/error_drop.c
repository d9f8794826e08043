/* error-drop: where every dropped packet ends. It counts the packet under
 * the error its last node set (b->error) and returns the buffer to the
 * pool. Every node's arc 0 leads here. */
#include "core/graph_rt.h"

typedef struct {
  uint32_t error; /* of the current run */
  uint64_t run;   /* its packets, not yet counted */
} drop_run_t;

static void count_one(mf_vm_t *vm, drop_run_t *r, uint16_t error)
{
  if (error != r->error) {
    vm->errors[r->error] += r->run;
    r->error = error < vm->n_errors ? error : 0;
    r->run = 0;
  }
  r->run++;
}

/* A vector of drops mostly shares one reason: each run of equal errors is
 * counted with one addition, four packets to a test. */
static uint32_t error_drop_fn(mf_vm_t *vm, mf_node_rt_t *node,
                              uint32_t *buffers, uint32_t n)
{
  drop_run_t r = {0, 0};
  const uint32_t *bi = buffers, *end = buffers + n;
  for (; end - bi >= 4; bi += 4) {
    uint16_t e0 = mf_buffer_get(&vm->pool, bi[0])->error;
    uint16_t e1 = mf_buffer_get(&vm->pool, bi[1])->error;
    uint16_t e2 = mf_buffer_get(&vm->pool, bi[2])->error;
    uint16_t e3 = mf_buffer_get(&vm->pool, bi[3])->error;
    if (__builtin_expect(((e0 ^ r.error) | (e1 ^ r.error) | (e2 ^ r.error) |
                          (e3 ^ r.error)) == 0,
                         1)) {
      r.run += 4;
      continue;
    }
    count_one(vm, &r, e0);
    count_one(vm, &r, e1);
    count_one(vm, &r, e2);
    count_one(vm, &r, e3);
  }
  for (; bi < end; bi++)
    count_one(vm, &r, mf_buffer_get(&vm->pool, *bi)->error);
  vm->errors[r.error] += r.run;
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

const mf_node_reg_t mf_error_drop_node = {
    .name = "error-drop",
    .fn = error_drop_fn,
};
