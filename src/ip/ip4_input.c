/* ip4-input: validates IPv4 headers (RFC 791, RFC 1122 3.2.1) before
 * anything reads them.
 * Uses: current_data/current_length. Sets: current_length trimmed to the
 * IP total length, l4_offset, F_IS_IP6 cleared.
 * Next: ip4-lookup, or error-drop with the failed check. */
#include <string.h>

#include "core/graph_rt.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/nodes.h"

#define IP4_INPUT_ERRORS(_)                                                   \
  _(TOO_SHORT, "too-short", "packet shorter than an IPv4 header")             \
  _(BAD_VERSION, "bad-version", "version field is not 4")                     \
  _(BAD_HEADER_LENGTH, "bad-header-length",                                   \
    "header length below 20 bytes or beyond the packet")                      \
  _(BAD_TOTAL_LENGTH, "bad-total-length",                                     \
    "total length shorter than the header or longer than the packet")         \
  _(BAD_CHECKSUM, "bad-checksum", "IPv4 header checksum is wrong")            \
  _(MULTICAST, "multicast",                                                   \
    "multicast or broadcast destination: not forwarded")

enum {
#define _(sym, n, t) IP4_INPUT_ERROR_##sym,
  IP4_INPUT_ERRORS(_)
#undef _
  IP4_INPUT_N_ERROR
};

static const mf_error_desc_t ip4_input_errors[] = {IP4_INPUT_ERRORS(MF_ERROR_DESC)};

enum { IP4_INPUT_NEXT_DROP, IP4_INPUT_NEXT_LOOKUP };

/* The full check, in the order RFC 1122 3.2.1 lists them, naming the
 * first failure: for the packets the fast path below does not pass. */
static uint32_t ip4_input_check(mf_buffer_t *b)
{
  if (b->current_length < sizeof(mf_ip4_header_t))
    return IP4_INPUT_ERROR_TOO_SHORT;
  const mf_ip4_header_t *ip = (const mf_ip4_header_t *)mf_buffer_data(b);
  if ((ip->ver_ihl >> 4) != 4)
    return IP4_INPUT_ERROR_BAD_VERSION;
  uint32_t hlen = (ip->ver_ihl & 0xf) * 4u;
  if (hlen < sizeof(*ip) || hlen > b->current_length)
    return IP4_INPUT_ERROR_BAD_HEADER_LENGTH;
  uint32_t total = __builtin_bswap16(ip->total_length);
  if (total < hlen || total > b->current_length)
    return IP4_INPUT_ERROR_BAD_TOTAL_LENGTH;
  if (!mf_ip4_header_csum_ok(ip, hlen))
    return IP4_INPUT_ERROR_BAD_CHECKSUM;
  /* 224.0.0.0/4 and the limited broadcast address. */
  uint8_t first = ((const uint8_t *)&ip->dst)[0];
  if ((first & 0xf0) == 0xe0 || ip->dst == 0xffffffffu)
    return IP4_INPUT_ERROR_MULTICAST;
  /* Link layers may pad; the IP length is the truth. */
  b->current_length = total;
  b->l4_offset = (uint16_t)hlen;
  b->flags &= ~MF_BUFFER_F_IS_IP6;
  return IP4_INPUT_N_ERROR;
}

/* The same checks for the common packet, in as few instructions as they
 * allow: an option-less header (ver_ihl 0x45, so the version and header
 * length are one compare), a total length within the packet, a destination
 * below 224.0.0.0, and a correct header checksum. Returns 0, leaving the
 * buffer as it was, for anything else, which ip4_input_check then judges.
 *
 * The checksum test: the one's complement sum of RFC 1071 is addition
 * modulo 2^16 - 1, and 2^16 and 2^32 are both 1 modulo 2^16 - 1, so the
 * header's plain sum as five 32-bit words (in any byte order: RFC 1071
 * 2(B)) is 0 modulo 0xffff exactly when its folded 16-bit sum is 0xffff,
 * i.e. when the checksum is right (a header that starts 0x45 never sums to
 * zero). Compilers test divisibility by a constant with one multiply. */
static inline uint32_t load32(const uint8_t *p)
{
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static inline int ip4_input_fast(mf_buffer_t *b)
{
  uint32_t len = b->current_length;
  if (__builtin_expect(len < sizeof(mf_ip4_header_t), 0))
    return 0;
  const uint8_t *h = mf_buffer_data(b);
  uint32_t total = (uint32_t)h[2] << 8 | h[3];
  uint64_t sum = (uint64_t)load32(h) + load32(h + 4) + load32(h + 8) +
                 load32(h + 12) + load32(h + 16);
  if (__builtin_expect(h[0] != 0x45 || total - 20 > len - 20 || h[16] >= 0xe0 ||
                           sum % 0xffff != 0,
                       0))
    return 0;
  b->current_length = total;
  b->l4_offset = sizeof(mf_ip4_header_t);
  b->flags &= ~MF_BUFFER_F_IS_IP6;
  return 1;
}

/* Speculates that every packet passes (VPP's speculative next): while they
 * do, no next is written per packet and the vector leaves in one copy.
 * From the first packet that does not, each packet gets its own next. */
static uint32_t ip4_input_fn(mf_vm_t *vm, mf_node_rt_t *node,
                             uint32_t *buffers, uint32_t n)
{
  const uint32_t *bi = buffers, *end = buffers + n;
  while (bi < end && ip4_input_fast(mf_buffer_get(&vm->pool, *bi)))
    bi++;
  uint32_t i = (uint32_t)(bi - buffers);
  if (__builtin_expect(i == n, 1)) {
    mf_graph_enqueue_all(vm, node, IP4_INPUT_NEXT_LOOKUP, buffers, n);
    return n;
  }
  uint16_t nexts[MF_FRAME_SIZE];
  for (uint32_t k = 0; k < i; k++)
    nexts[k] = IP4_INPUT_NEXT_LOOKUP;
  for (; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    uint32_t err = ip4_input_check(b);
    nexts[i] = err == IP4_INPUT_N_ERROR ? IP4_INPUT_NEXT_LOOKUP
                                        : mf_graph_drop(node, b, err);
  }
  mf_graph_enqueue(vm, node, buffers, nexts, n);
  return n;
}

const mf_node_reg_t mf_ip4_input_node = {
    .name = "ip4-input",
    .fn = ip4_input_fn,
    .n_next = 2,
    .next_nodes = {[IP4_INPUT_NEXT_DROP] = "error-drop",
                   [IP4_INPUT_NEXT_LOOKUP] = "ip4-lookup"},
    .n_errors = IP4_INPUT_N_ERROR,
    .errors = ip4_input_errors,
};
