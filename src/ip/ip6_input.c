/* ip6-input: validates IPv6 headers (RFC 8200 3) before anything reads
 * them.
 * Uses: current_data/current_length. Sets: current_length trimmed to the
 * header plus payload length, l4_offset (40: extension headers are left to
 * the node that handles the protocol), F_IS_IP6.
 * Next: ip6-lookup, or error-drop with the failed check. */
#include "core/graph_rt.h"
#include "ip/headers.h"
#include "ip/nodes.h"

#define IP6_INPUT_ERRORS(_)                                                   \
  _(TOO_SHORT, "too-short", "packet shorter than an IPv6 header")             \
  _(BAD_VERSION, "bad-version", "version field is not 6")                     \
  _(BAD_PAYLOAD_LENGTH, "bad-payload-length",                                 \
    "payload length runs beyond the packet")                                  \
  _(MULTICAST, "multicast", "multicast destination: not forwarded")

enum {
#define _(sym, n, t) IP6_INPUT_ERROR_##sym,
  IP6_INPUT_ERRORS(_)
#undef _
  IP6_INPUT_N_ERROR
};

static const mf_error_desc_t ip6_input_errors[] = {IP6_INPUT_ERRORS(MF_ERROR_DESC)};

enum { IP6_INPUT_NEXT_DROP, IP6_INPUT_NEXT_LOOKUP };

static uint32_t ip6_input_check(mf_buffer_t *b)
{
  if (b->current_length < sizeof(mf_ip6_header_t))
    return IP6_INPUT_ERROR_TOO_SHORT;
  const mf_ip6_header_t *ip = (const mf_ip6_header_t *)mf_buffer_data(b);
  if ((mf_buffer_data(b)[0] >> 4) != 6)
    return IP6_INPUT_ERROR_BAD_VERSION;
  uint32_t total = sizeof(*ip) + __builtin_bswap16(ip->payload_length);
  if (total > b->current_length)
    return IP6_INPUT_ERROR_BAD_PAYLOAD_LENGTH;
  /* ff00::/8: the machine's router solicitations and MLD reports land here
   * as soon as the TUN is up; they are for no one behind it. */
  if (ip->dst[0] == 0xff)
    return IP6_INPUT_ERROR_MULTICAST;
  b->current_length = total;
  b->l4_offset = sizeof(*ip);
  b->flags |= MF_BUFFER_F_IS_IP6;
  return IP6_INPUT_N_ERROR;
}

static uint32_t ip6_input_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    uint32_t err = ip6_input_check(b);
    nexts[i] = err == IP6_INPUT_N_ERROR ? IP6_INPUT_NEXT_LOOKUP
                                        : mf_graph_drop(node, b, err);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_ip6_input_node = {
    .name = "ip6-input",
    .fn = ip6_input_fn,
    .n_next = 2,
    .next_nodes = {[IP6_INPUT_NEXT_DROP] = "error-drop",
                   [IP6_INPUT_NEXT_LOOKUP] = "ip6-lookup"},
    .n_errors = IP6_INPUT_N_ERROR,
    .errors = ip6_input_errors,
};
