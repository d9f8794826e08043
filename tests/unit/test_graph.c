/* The graph: arcs resolve by name, frames carry at most MF_FRAME_SIZE
 * buffers, every drop lands in error-drop under its node's error, buffers
 * and frames all come back, and frame exhaustion is counted, not fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/graph_rt.h"

typedef struct {
  uint32_t to_make;
  uint32_t seen, max_vector;
} sink_ctx_t;

enum { SRC_NEXT_DROP, SRC_NEXT_A, SRC_NEXT_B };
enum { SRC_ERROR_ODD, SRC_ERROR_EVEN, SRC_N_ERROR };
static const mf_error_desc_t src_errors[] = {{"odd", "odd"}, {"even", "even"}};

/* Makes ctx->to_make packets; byte 0 picks the arc: 0 drop, 1 A, 2 B. */
static uint32_t src_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *unused,
                       uint32_t n_unused)
{
  sink_ctx_t *ctx = node->ctx;
  uint32_t made = 0;
  while (ctx->to_make) {
    uint32_t bi;
    if (mf_buffer_alloc(&vm->pool, &bi, 1) != 1)
      break;
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bi);
    uint8_t kind = (uint8_t)(ctx->to_make % 3);
    mf_buffer_data(b)[0] = kind;
    b->current_length = 1;
    uint16_t next = kind == 0 ? mf_graph_drop(node, b, ctx->to_make & 1)
                              : (kind == 1 ? SRC_NEXT_A : SRC_NEXT_B);
    mf_graph_enqueue_one(vm, node, next, bi);
    ctx->to_make--;
    made++;
  }
  return made;
}

static uint32_t sink_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                        uint32_t n)
{
  sink_ctx_t *ctx = node->ctx;
  ctx->seen += n;
  if (n > ctx->max_vector)
    ctx->max_vector = n;
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

static const mf_node_reg_t src_node = {
    .name = "src", .type = MF_NODE_INPUT, .fn = src_fn, .n_next = 3,
    .next_nodes = {"error-drop", "sink-a", "sink-b"},
    .n_errors = SRC_N_ERROR, .errors = src_errors};
static const mf_node_reg_t sink_a = {.name = "sink-a", .fn = sink_fn};
static const mf_node_reg_t sink_b = {.name = "sink-b", .fn = sink_fn};
static const mf_node_reg_t bad_node = {
    .name = "bad", .fn = sink_fn, .n_next = 1, .next_nodes = {"nowhere"}};

static const mf_node_reg_t *const regs[] = {&src_node, &sink_a, &sink_b,
                                            &mf_error_drop_node};

static void setup_vm(mf_vm_t *vm, uint32_t n_buffers, uint32_t n_frames,
                     sink_ctx_t *src, sink_ctx_t *a, sink_ctx_t *b)
{
  memset(vm, 0, sizeof(*vm));
  assert_int_equal(mf_buffer_pool_init(&vm->pool, n_buffers), 0);
  assert_int_equal(mf_graph_init(vm, regs, 4, n_frames), 0);
  vm->nodes[0].ctx = src;
  vm->nodes[1].ctx = a;
  vm->nodes[2].ctx = b;
}

static void teardown_vm(mf_vm_t *vm)
{
  mf_graph_free(vm);
  mf_buffer_pool_free(&vm->pool);
}

static void test_fanout_and_drops(void **state)
{
  mf_vm_t vm;
  sink_ctx_t src = {.to_make = 3000}, a = {0}, b = {0};
  setup_vm(&vm, 4096, 64, &src, &a, &b);
  assert_int_equal(mf_graph_poll(&vm, 0), 3000);
  assert_int_equal(a.seen, 1000);
  assert_int_equal(b.seen, 1000);
  assert_true(a.max_vector <= MF_FRAME_SIZE);
  assert_int_equal(a.max_vector, MF_FRAME_SIZE);
  uint32_t drop_base = vm.nodes[0].error_base;
  assert_int_equal(vm.errors[drop_base + SRC_ERROR_ODD] +
                       vm.errors[drop_base + SRC_ERROR_EVEN], 1000);
  assert_int_equal(vm.errors[drop_base + SRC_ERROR_ODD], 500);
  assert_int_equal(vm.pool.n_free, 4096);
  assert_int_equal(vm.n_free_frames, 64);
  assert_int_equal(vm.nodes[1].vectors, 1000);
  assert_int_equal(vm.nodes[3].vectors, 1000);
  teardown_vm(&vm);
}

static void test_frame_exhaustion_counted(void **state)
{
  mf_vm_t vm;
  sink_ctx_t src = {.to_make = 600}, a = {0}, b = {0};
  /* Two frames: the first two arcs opened get one each, the rest of the
   * packets have none and must be dropped and counted. */
  setup_vm(&vm, 1024, 2, &src, &a, &b);
  mf_graph_poll(&vm, 0);
  uint64_t delivered = a.seen + b.seen;
  uint64_t dropped = vm.errors[vm.nodes[0].error_base] +
                     vm.errors[vm.nodes[0].error_base + 1];
  assert_int_equal(delivered + dropped + vm.frame_exhausted, 600);
  assert_true(vm.frame_exhausted > 0);
  assert_int_equal(vm.pool.n_free, 1024);
  assert_int_equal(vm.n_free_frames, 2);
  teardown_vm(&vm);
}

static void test_dangling_arc_refused(void **state)
{
  mf_vm_t vm;
  memset(&vm, 0, sizeof(vm));
  const mf_node_reg_t *const r[] = {&bad_node, &mf_error_drop_node};
  assert_int_not_equal(mf_graph_init(&vm, r, 2, 4), 0);
  mf_graph_free(&vm);
}

static void test_node_lookup(void **state)
{
  mf_vm_t vm;
  sink_ctx_t src = {0}, a = {0}, b = {0};
  setup_vm(&vm, 16, 4, &src, &a, &b);
  assert_int_equal(mf_graph_node_index(&vm, "sink-b"), 2);
  assert_int_equal(mf_graph_node_index(&vm, "nope"), MF_NODE_INVALID);
  /* An empty poll runs nothing and counts no call. */
  assert_int_equal(mf_graph_poll(&vm, 0), 0);
  assert_int_equal(vm.nodes[0].calls, 0);
  teardown_vm(&vm);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fanout_and_drops),
      cmocka_unit_test(test_frame_exhaustion_counted),
      cmocka_unit_test(test_dangling_arc_refused),
      cmocka_unit_test(test_node_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
