/* hs-tcp: TCP segments from the machine that App Routing sent to a direct
 * interface. Each is checked (header, checksum) and handed to its
 * connection's engine, or opens one (a SYN), or is answered with a RST (no
 * connection). What the app sent is written to the upstream sockets once
 * per vector and session, after the loop. Every input segment ends in
 * error-drop under its verdict, so accepted ones are counted too.
 * Uses: l4_offset, F_IS_IP6, tx_if (the direct interface).
 * Next: error-drop (the app's segments), tun-output (ours to the app). */
#include "hoststack/hs_internal.h"

static const mf_error_desc_t hs_tcp_errors[] = {
    HS_TCP_ERRORS(MF_ERROR_DESC) MF_TCP_VERDICTS(MF_ERROR_DESC)};

enum { HS_TCP_NEXT_DROP, HS_TCP_NEXT_TUN_OUTPUT };

static uint32_t hs_tcp_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                          uint32_t n)
{
  mf_hoststack_t *hs = vm->hs;
  uint16_t nexts[MF_FRAME_SIZE];
  mf_hs_tcp_out_t o;
  if (hs && hs->tcp)
    mf_hs_tcp_out_init(&o, hs, node, HS_TCP_NEXT_TUN_OUTPUT);
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    uint32_t code = hs && hs->tcp ? mf_hs_tcp_segment(hs, b, &o)
                                  : HS_TCP_ERROR_NO_HOSTSTACK;
    nexts[i] = mf_graph_drop(node, b, code);
  }
  if (hs && hs->tcp) {
    mf_hs_tcp_flush_touched(hs, &o);
    mf_hs_tcp_out_flush(&o);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_hs_tcp_node = {
    .name = "hs-tcp",
    .fn = hs_tcp_fn,
    .n_next = 2,
    .next_nodes = {[HS_TCP_NEXT_DROP] = "error-drop",
                   [HS_TCP_NEXT_TUN_OUTPUT] = "tun-output"},
    .n_errors = HS_TCP_N_ERROR,
    .errors = hs_tcp_errors,
};
