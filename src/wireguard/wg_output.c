/* wg-output: packets App Routing sent to a WireGuard interface. Each gets
 * the interface's own source address (the TUN's is rewritten), finds its
 * peer by cryptokey routing on the destination, and is sealed in place
 * under the peer's current keypair (header in the headroom, padding and
 * tag in the tailroom); the vector leaves by one sendmmsg per device, a
 * peer's consecutive packets as segmented datagrams (wg_udp.h). A
 * peer without a usable keypair holds the packet (bounded) and starts a
 * handshake: traffic for a tunnel that is down is never sent elsewhere.
 * Uses: tx_if. Packets leave the graph here; those larger than the tunnel
 * MTU go to icmp-too-big with the MTU in aux. */
#include <stdlib.h>
#include <string.h>

#include "core/graph_rt.h"
#include "fib/fib.h"
#include "ip/headers.h"
#include "routing/dest_seen.h"
#include "ip/nat.h"
#include "wireguard/wg_device.h"

#define WG_OUTPUT_ERRORS(_)                                                   \
  _(NO_DEVICE, "no-device", "interface is not a WireGuard device")           \
  _(NO_ADDRESS_FAMILY, "no-address-family",                                   \
    "the tunnel has no address of the packet's IP version")                   \
  _(NO_PEER, "no-peer", "no peer's allowed IPs hold the destination")         \
  _(NO_ENDPOINT, "no-endpoint", "the peer has no known endpoint")             \
  _(STAGED_OVERFLOW, "staged-overflow",                                       \
    "too many packets waiting for a handshake: oldest dropped")               \
  _(TOO_BIG, "too-big",                                                       \
    "packet larger than the tunnel MTU: sender told with ICMP")               \
  _(ENCRYPT_FAILED, "encrypt-failed", "sealing failed")                       \
  _(SEND_FAILED, "send-failed", "the socket did not take the packet")        \
  _(GAVE_UP, "handshake-gave-up",                                             \
    "held for a handshake that never completed (Rekey-Attempt-Time)")         \
  _(GSO_DATAGRAMS, "gso-datagrams",                                           \
    "datagrams sent with several packets each (not a drop)")                  \
  _(GSO_REFUSED, "gso-refused",                                               \
    "the kernel refused UDP segmentation: off for this socket (not a drop)")

enum {
#define _(sym, n, t) WG_OUTPUT_ERROR_##sym,
  WG_OUTPUT_ERRORS(_)
#undef _
  WG_OUTPUT_N_ERROR
};

static const mf_error_desc_t wg_output_errors[] = {WG_OUTPUT_ERRORS(MF_ERROR_DESC)};

enum { WG_OUTPUT_NEXT_DROP, WG_OUTPUT_NEXT_TOO_BIG };

typedef struct {
  uint32_t bi[MF_FRAME_SIZE];
  mf_sockaddr_t to[MF_FRAME_SIZE];
  mf_wg_data_op_t ops[MF_FRAME_SIZE];
  mf_wg_peer_t *peer[MF_FRAME_SIZE];
  uint32_t n;
  mf_wg_udp_tx_t tx;
} wg_batch_t;

_Static_assert(MF_FRAME_SIZE <= MF_WG_UDP_TX_MAX, "a send takes a frame");

static void count(mf_vm_t *vm, mf_node_rt_t *node, uint32_t err)
{
  vm->errors[node->error_base + err]++;
}

/* Rewrites the source when it is the TUN's address or the stack's own
 * (the DNS server's upstream queries); 0, or an error. */
static int rewrite_source(mf_wg_device_t *d, uint8_t *pkt, uint32_t len)
{
  if ((pkt[0] >> 4) == 4) {
    if (!d->has4)
      return -1;
    const uint8_t *src = pkt + MF_NAT4_SRC;
    if (memcmp(src, d->tun4, 4) == 0 ||
        (d->has_stack4 && memcmp(src, d->stack4, 4) == 0))
      mf_nat4_rewrite(pkt, len, MF_NAT4_SRC, d->addr4);
    return 0;
  }
  if (!d->has6)
    return -1;
  const uint8_t *src = pkt + MF_NAT6_SRC;
  if (memcmp(src, d->tun6, 16) == 0 ||
      (d->has_stack6 && memcmp(src, d->stack6, 16) == 0))
    mf_nat6_rewrite(pkt, len, MF_NAT6_SRC, d->addr6);
  return 0;
}

static mf_wg_peer_t *peer_for(mf_wg_device_t *d, const uint8_t *pkt)
{
  uint32_t slot;
  if ((pkt[0] >> 4) == 4) {
    uint32_t dst;
    memcpy(&dst, pkt + MF_NAT4_DST, 4);
    mf_fib4_lookup_vector(d->allowed, &dst, &slot, 1);
  } else {
    const uint8_t *dst = pkt + MF_NAT6_DST;
    mf_fib6_lookup_vector(d->allowed, &dst, &slot, 1);
  }
  return slot < d->n_peers ? &d->peers[slot] : NULL;
}

/* Prepares one packet for sealing, or returns an error / stages it. */
static int prepare(mf_wg_main_t *wm, mf_node_rt_t *node, mf_wg_device_t *d,
                   uint32_t bi, wg_batch_t *bt, uint64_t now)
{
  mf_vm_t *vm = wm->vm;
  mf_buffer_t *b = mf_buffer_get(&vm->pool, bi);
  uint8_t *pkt = mf_buffer_data(b);
  /* Before the rewrite: the ICMP error must quote what the sender sent. */
  if (b->current_length > d->mtu)
    return WG_OUTPUT_ERROR_TOO_BIG;
  if (rewrite_source(d, pkt, b->current_length) < 0)
    return WG_OUTPUT_ERROR_NO_ADDRESS_FAMILY;
  mf_wg_peer_t *p = peer_for(d, pkt);
  if (!p)
    return WG_OUTPUT_ERROR_NO_PEER;
  if (!p->has_endpoint)
    return WG_OUTPUT_ERROR_NO_ENDPOINT;
  mf_wg_keypair_t *kp = mf_wg_keypairs_for_send(&p->kps, now);
  uint64_t counter;
  if (!kp || mf_wg_keypair_reserve(kp, 1, &counter) < 0) {
    uint32_t evicted = mf_wg_peer_stage(p, bi);
    if (evicted != MF_BUFFER_INVALID) {
      count(vm, node, WG_OUTPUT_ERROR_STAGED_OVERFLOW);
      mf_buffer_free(&vm->pool, &evicted, 1);
    }
    mf_wg_peer_want_handshake(wm, d, p, now);
    return -1; /* held, not dropped */
  }
  size_t padded = mf_wg_data_padded_len(b->current_length, d->mtu);
  memset(pkt + b->current_length, 0, padded - b->current_length);
  mf_wg_data_op_t *op = &bt->ops[bt->n];
  *op = (mf_wg_data_op_t){.kp = kp, .in = pkt, .out = pkt - MF_WG_DATA_HEADER_LEN,
                          .len = (uint32_t)padded, .counter = counter};
  p->tx_bytes += mf_wg_data_msg_len(padded);
  bt->peer[bt->n] = p;
  bt->to[bt->n] = p->endpoint;
  bt->bi[bt->n++] = bi;
  if (mf_wg_timers_rekey_after_send(&p->timers, kp, now))
    mf_wg_peer_want_handshake(wm, d, p, now);
  return -1;
}

static void seal_and_send(mf_wg_main_t *wm, mf_node_rt_t *node,
                          mf_wg_device_t *d, wg_batch_t *bt, uint64_t now)
{
  mf_vm_t *vm = wm->vm;
  mf_wg_data_encrypt_vector(&wm->data, bt->ops, bt->n);
  uint32_t ok = 0;
  for (uint32_t i = 0; i < bt->n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bt->bi[i]);
    if (bt->ops[i].result != MF_WG_DATA_OK) {
      count(vm, node, WG_OUTPUT_ERROR_ENCRYPT_FAILED);
      mf_buffer_free(&vm->pool, &bt->bi[i], 1);
      continue;
    }
    b->current_data -= MF_WG_DATA_HEADER_LEN;
    b->current_length = (uint16_t)bt->ops[i].out_len;
    mf_wg_timers_data_sent(&bt->peer[i]->timers, now);
    mf_wg_timers_any_authenticated_packet_sent(&bt->peer[i]->timers, now);
    mf_wg_timers_any_authenticated_packet_traversal(&bt->peer[i]->timers, now);
    bt->bi[ok] = bt->bi[i];
    bt->to[ok++] = bt->to[i];
  }
  mf_wg_udp_tx_stats_t st;
  mf_wg_udp_send(d->sock.fd, &d->udp_off, &bt->tx, &vm->pool, bt->bi, ok,
                 bt->to, &st);
  vm->errors[node->error_base + WG_OUTPUT_ERROR_SEND_FAILED] += ok - st.sent;
  vm->errors[node->error_base + WG_OUTPUT_ERROR_GSO_DATAGRAMS] += st.gso_datagrams;
  vm->errors[node->error_base + WG_OUTPUT_ERROR_GSO_REFUSED] += st.gso_refused;
  vm->ifs[d->if_index].drops += ok - st.sent;
  mf_buffer_free(&vm->pool, bt->bi, ok);
  bt->n = 0;
}

/* The inner destination, before sealing: the DNS server keeps a host
 * route to a tunnel while packets to its address keep leaving. */
static void note_destination(mf_dest_seen_t *seen, mf_buffer_t *b, uint32_t now_s)
{
  const uint8_t *pkt = mf_buffer_data(b);
  if (b->flags & MF_BUFFER_F_IS_IP6)
    mf_dest_seen_note(seen, 6, ((const mf_ip6_header_t *)pkt)->dst, now_s);
  else
    mf_dest_seen_note(seen, 4, (const uint8_t *)&((const mf_ip4_header_t *)pkt)->dst,
                      now_s);
}

static uint32_t wg_output_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                             uint32_t n)
{
  mf_wg_main_t *wm = node->ctx;
  /* Scratch of this worker's node, made on first use and kept. */
  if (!wm || (!wm->out_scratch && !(wm->out_scratch = calloc(1, sizeof(wg_batch_t))))) {
    for (uint32_t i = 0; i < n; i++)
      count(vm, node, WG_OUTPUT_ERROR_NO_DEVICE);
    mf_buffer_free(&vm->pool, buffers, n);
    return n;
  }
  wg_batch_t *bt = wm->out_scratch;
  uint64_t now = vm->now_ns;
  uint16_t nexts[MF_FRAME_SIZE];
  uint32_t drops[MF_FRAME_SIZE], n_drops = 0;
  /* Frames mostly hold one device's packets; a change of device flushes. */
  mf_wg_device_t *cur = NULL;
  uint32_t now_s = (uint32_t)(now / 1000000000u) + 1; /* never 0 */
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    uint8_t di = b->tx_if < MF_MAX_INTERFACES ? wm->dev_by_if[b->tx_if] : 0xff;
    mf_wg_device_t *d = di < wm->n_devs ? wm->devs[di] : NULL;
    if (vm->dest_seen)
      note_destination(vm->dest_seen, b, now_s);
    int err = d ? -2 : WG_OUTPUT_ERROR_NO_DEVICE;
    if (d && d != cur && bt->n)
      seal_and_send(wm, node, cur, bt, now);
    if (d) {
      cur = d;
      err = prepare(wm, node, d, buffers[i], bt, now);
    }
    if (err == WG_OUTPUT_ERROR_TOO_BIG) {
      /* Tell the sender the tunnel's MTU (path MTU discovery). */
      count(vm, node, WG_OUTPUT_ERROR_TOO_BIG);
      b->aux = d->mtu;
      nexts[n_drops] = WG_OUTPUT_NEXT_TOO_BIG;
      drops[n_drops++] = buffers[i];
    } else if (err >= 0) {
      nexts[n_drops] = mf_graph_drop(node, b, (uint32_t)err);
      drops[n_drops++] = buffers[i];
    }
  }
  if (bt->n)
    seal_and_send(wm, node, cur, bt, now);
  mf_graph_enqueue(vm, node, drops, nexts, n_drops);
  return n;
}

void mf_wg_output_count_given_up(mf_vm_t *vm, uint32_t n)
{
  uint32_t node = mf_graph_node_index(vm, "wg-output");
  if (node != MF_NODE_INVALID)
    vm->errors[vm->nodes[node].error_base + WG_OUTPUT_ERROR_GAVE_UP] += n;
}

const mf_node_reg_t mf_wg_output_node = {
    .name = "wg-output",
    .fn = wg_output_fn,
    .n_next = 2,
    .next_nodes = {"error-drop", "icmp-too-big"},
    .n_errors = WG_OUTPUT_N_ERROR,
    .errors = wg_output_errors,
};
