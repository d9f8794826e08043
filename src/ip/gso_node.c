/* gso-segment: resolves the TUN's offloads in software for packets that
 * App Routing sends anywhere but the host stack (which takes them whole):
 * a super-packet (F_GSO) is cut into the segments the app's stack meant
 * (ip/tcp_gso.h), a partial checksum (F_CSUM_PARTIAL) is completed, so
 * that what leaves for a tunnel, or what ip-reject and ip-local read, is
 * an ordinary packet. Never ICMP too-big for a super-packet: the app sent
 * MSS-sized segments, the kernel merged them.
 * Uses: flags, gso_size, csum_start/offset, tx_if, F_IS_IP6. Sets on each
 * segment: the fields ip4/ip6-input and the lookup set (l4_offset, flags,
 * rx_if, tx_if, adj), offload flags cleared.
 * Next: the node ip4/ip6-lookup would have chosen for tx_if, or
 * error-drop. */
#include "core/graph_rt.h"
#include "ip/nodes.h"
#include "ip/tcp_gso.h"

#define GSO_SEGMENT_ERRORS(_)                                                 \
  _(BAD_HEADER, "bad-header",                                                 \
    "super-packet is not a well-formed TCP packet")                           \
  _(BAD_SIZE, "bad-size",                                                     \
    "segment size 0, too many segments, or a segment larger than a buffer")  \
  _(BAD_CSUM_RANGE, "bad-csum-range",                                         \
    "partial checksum field outside the packet")                              \
  _(NO_BUFFERS, "no-buffers", "buffer pool empty: super-packet dropped")      \
  _(SEGMENTED, "segmented", "super-packets cut into segments (not a drop)")  \
  _(COMPLETED, "completed",                                                   \
    "partial checksums completed (not a drop)")

enum {
#define _(sym, n, t) GSO_SEGMENT_ERROR_##sym,
  GSO_SEGMENT_ERRORS(_)
#undef _
  GSO_SEGMENT_N_ERROR
};

static const mf_error_desc_t gso_segment_errors[] = {GSO_SEGMENT_ERRORS(MF_ERROR_DESC)};

enum {
  GSO_NEXT_DROP,
  GSO_NEXT_IP4_LOCAL,
  GSO_NEXT_IP6_LOCAL,
  GSO_NEXT_IP4_REJECT,
  GSO_NEXT_IP6_REJECT,
  GSO_NEXT_INTERFACE_DROP,
  GSO_NEXT_WIREGUARD,
  GSO_NEXT_DIRECT,
  GSO_N_NEXT
};

/* The arc ip-lookup chose, by interface type and family. */
static uint16_t next_for(const mf_vm_t *vm, const mf_buffer_t *b)
{
  bool v6 = b->flags & MF_BUFFER_F_IS_IP6;
  if (b->tx_if >= vm->n_ifs)
    return GSO_NEXT_DROP;
  switch (vm->ifs[b->tx_if].type) {
  case MF_IF_LOCAL:
    return v6 ? GSO_NEXT_IP6_LOCAL : GSO_NEXT_IP4_LOCAL;
  case MF_IF_REJECT:
    return v6 ? GSO_NEXT_IP6_REJECT : GSO_NEXT_IP4_REJECT;
  case MF_IF_DROP:
    return GSO_NEXT_INTERFACE_DROP;
  case MF_IF_WIREGUARD:
    return GSO_NEXT_WIREGUARD;
  case MF_IF_DIRECT:
    return GSO_NEXT_DIRECT;
  default:
    return GSO_NEXT_DROP;
  }
}

typedef struct {
  uint32_t bi[MF_FRAME_SIZE];
  uint16_t next[MF_FRAME_SIZE];
  uint32_t n;
} gso_out_t;

static void out_push(mf_vm_t *vm, mf_node_rt_t *node, gso_out_t *o,
                     uint32_t bi, uint16_t next)
{
  if (o->n == MF_FRAME_SIZE) {
    mf_graph_enqueue(vm, node, o->bi, o->next, o->n);
    o->n = 0;
  }
  o->bi[o->n] = bi;
  o->next[o->n++] = next;
}

static void count(mf_vm_t *vm, mf_node_rt_t *node, uint32_t code)
{
  vm->errors[node->error_base + code]++;
}

/* Cuts super-packet b into new buffers, pushed to o; 0 or an error. The
 * caller frees b. */
static int segment(mf_vm_t *vm, mf_node_rt_t *node, mf_buffer_t *b,
                   gso_out_t *o)
{
  mf_gso_plan_t plan;
  mf_gso_result_t r =
      mf_gso_plan(&plan, mf_buffer_data(b), b->current_length, b->gso_size);
  if (r == MF_GSO_BAD_HEADER)
    return GSO_SEGMENT_ERROR_BAD_HEADER;
  if (r != MF_GSO_OK || plan.hdr_len + plan.mss > MF_BUFFER_DATA_SIZE)
    return GSO_SEGMENT_ERROR_BAD_SIZE;
  uint32_t bi[MF_GSO_MAX_SEGMENTS];
  uint32_t got = mf_buffer_alloc(&vm->pool, bi, plan.n_segments);
  if (got != plan.n_segments) {
    /* All or nothing: half a super-packet is a hole the app must repair
     * all the same, and the buffers are better left to others. */
    mf_buffer_free(&vm->pool, bi, got);
    return GSO_SEGMENT_ERROR_NO_BUFFERS;
  }
  uint16_t next = next_for(vm, b);
  for (uint32_t k = 0; k < plan.n_segments; k++) {
    mf_buffer_t *s = mf_buffer_get(&vm->pool, bi[k]);
    mf_gso_write_segment(&plan, k, mf_buffer_data(s));
    s->current_length = mf_gso_segment_len(&plan, k);
    s->flags = b->flags & MF_BUFFER_F_IS_IP6;
    s->l4_offset = b->l4_offset;
    s->rx_if = b->rx_if;
    s->tx_if = b->tx_if;
    s->adj = b->adj;
    out_push(vm, node, o, bi[k], next);
  }
  count(vm, node, GSO_SEGMENT_ERROR_SEGMENTED);
  return -1;
}

static uint32_t gso_segment_fn(mf_vm_t *vm, mf_node_rt_t *node,
                               uint32_t *buffers, uint32_t n)
{
  gso_out_t o;
  o.n = 0;
  uint32_t done[MF_FRAME_SIZE], n_done = 0;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    int err = -1;
    if (b->flags & MF_BUFFER_F_GSO) {
      err = segment(vm, node, b, &o);
      if (err < 0) {
        done[n_done++] = buffers[i];
        continue;
      }
    } else if (b->flags & MF_BUFFER_F_CSUM_PARTIAL) {
      if (mf_gso_csum_complete(mf_buffer_data(b), b->current_length,
                               b->csum_start, b->csum_offset) < 0)
        err = GSO_SEGMENT_ERROR_BAD_CSUM_RANGE;
      else
        count(vm, node, GSO_SEGMENT_ERROR_COMPLETED);
    }
    b->flags &= ~(uint32_t)MF_BUFFER_F_OFFLOAD;
    out_push(vm, node, &o, buffers[i],
             err >= 0 ? mf_graph_drop(node, b, (uint32_t)err) : next_for(vm, b));
  }
  if (o.n)
    mf_graph_enqueue(vm, node, o.bi, o.next, o.n);
  /* The super-packets themselves: their segments carry on. */
  mf_buffer_free(&vm->pool, done, n_done);
  return n;
}

const mf_node_reg_t mf_gso_segment_node = {
    .name = "gso-segment",
    .fn = gso_segment_fn,
    .n_next = GSO_N_NEXT,
    .next_nodes = {[GSO_NEXT_DROP] = "error-drop",
                   [GSO_NEXT_IP4_LOCAL] = "ip4-local",
                   [GSO_NEXT_IP6_LOCAL] = "ip6-local",
                   [GSO_NEXT_IP4_REJECT] = "ip4-reject",
                   [GSO_NEXT_IP6_REJECT] = "ip6-reject",
                   [GSO_NEXT_INTERFACE_DROP] = "interface-drop",
                   [GSO_NEXT_WIREGUARD] = "wg-output",
                   [GSO_NEXT_DIRECT] = "hs-direct"},
    .n_errors = GSO_SEGMENT_N_ERROR,
    .errors = gso_segment_errors,
};
