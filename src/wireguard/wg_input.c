/* wg-input: reads a batch of datagrams from the socket of the device the
 * main loop says is readable (one recvmmsg per batch; a datagram the
 * kernel coalesced (UDP_GRO) is split into its packets, wg_udp.h).
 * Transport data is opened in place as a vector, a frame at a time;
 * handshake messages go to the control path.
 * An opened packet must come from an address its peer's allowed IPs hold
 * (cryptokey routing, whitepaper 2); its destination, the interface's own
 * address, becomes the TUN's again, and it leaves through tun-output.
 * Sets: current_data/current_length (the inner packet), rx_if, tx_if.
 * Next: tun-output, or error-drop. */
#include <stdlib.h>
#include <string.h>

#include "core/graph_rt.h"
#include "core/trace.h"
#include "daemon/dataplane.h"
#include "dns/dns_server.h"
#include "fib/fib.h"
#include "ip/headers.h"
#include "ip/nat.h"
#include "wireguard/inner_gro.h"
#include "wireguard/wg_device.h"

#define WG_INPUT_ERRORS(_)                                                    \
  _(HANDSHAKE, "handshake", "handshake message accepted by the control path") \
  _(BAD_MAC1, "bad-mac1", "handshake message with a wrong mac1: not for us")  \
  _(COOKIE_SENT, "cookie-sent", "under load: answered with a cookie reply")   \
  _(HANDSHAKE_INVALID, "handshake-invalid",                                   \
    "handshake message does not decrypt or parse")                            \
  _(UNKNOWN_PEER, "unknown-peer", "initiation from a key with no peer here")  \
  _(HANDSHAKE_REPLAY, "handshake-replay",                                     \
    "initiation timestamp not newer than the last one")                       \
  _(HANDSHAKE_FLOOD, "handshake-flood", "initiations faster than allowed")    \
  _(UNEXPECTED_HANDSHAKE, "unexpected-handshake",                             \
    "response or cookie reply for no pending handshake")                      \
  _(KEEPALIVE, "keepalive", "keepalive received")                             \
  _(BAD_MESSAGE, "bad-message", "not a WireGuard message, or malformed")      \
  _(UNKNOWN_INDEX, "unknown-index", "no keypair has the receiver index")      \
  _(KEYPAIR_EXPIRED, "keypair-expired", "keypair too old to receive with")    \
  _(AUTH_FAILED, "auth-failed", "authentication failed: wrong key or forged") \
  _(REPLAY, "replay", "counter replayed or too old")                          \
  _(BAD_INNER_PACKET, "bad-inner-packet", "decrypted data is not an IP packet")\
  _(SRC_NOT_ALLOWED, "src-not-allowed",                                       \
    "inner source is not in the peer's allowed IPs")                          \
  _(NO_BUFFERS, "no-buffers", "buffer pool empty: read deferred")             \
  _(RECV_ERROR, "recv-error", "socket read failed")                           \
  _(DATAGRAM_TOO_BIG, "datagram-too-big",                                     \
    "datagram or segment larger than a buffer")                               \
  _(SPLIT_NO_BUFFERS, "split-no-buffers",                                     \
    "packet of a coalesced datagram lost: buffer pool empty")                 \
  _(GRO_DATAGRAMS, "gro-datagrams",                                           \
    "datagrams read with several packets each (not a drop)")                  \
  _(TCP_COALESCED, "tcp-coalesced",                                           \
    "TCP segments merged into a super-packet for the TUN (not a drop)")       \
  _(TCP_NO_LARGE, "tcp-no-large-buffers",                                     \
    "TCP segments not merged: no large buffer free (not a drop)")

enum {
#define _(sym, n, t) WG_INPUT_ERROR_##sym,
  WG_INPUT_ERRORS(_)
#undef _
  WG_INPUT_N_ERROR
};

static const mf_error_desc_t wg_input_errors[] = {WG_INPUT_ERRORS(MF_ERROR_DESC)};

enum {
  WG_INPUT_NEXT_DROP,
  WG_INPUT_NEXT_TUN_OUTPUT,
  WG_INPUT_NEXT_IP4_LOCAL,
  WG_INPUT_NEXT_IP6_LOCAL,
};

/* UDP to one of the ports the stack's DNS server sends its upstream
 * queries from (above Linux's ephemeral range): an answer for the stack,
 * not for the machine. */
static bool for_stack(const uint8_t *pkt, uint32_t l4, uint32_t total,
                      uint8_t proto)
{
  if (proto != MF_IP_PROTO_UDP || total < l4 + 8)
    return false;
  uint16_t port = (uint16_t)(pkt[l4 + 2] << 8 | pkt[l4 + 3]);
  return mf_dns_server_forward_port(port);
}

/* Packets opened as one vector. */
#define WG_INPUT_CHUNK MF_FRAME_SIZE

typedef struct {
  mf_wg_udp_rx_t rx;
  uint32_t pkt[MF_WG_UDP_RX_MAX_PACKETS];  /* a read's packets, in order */
  const uint8_t *src[MF_WG_UDP_RX_MAX_PACKETS]; /* where each one's bytes are */
  uint8_t dgram[MF_WG_UDP_RX_MAX_PACKETS]; /* each one's datagram: source */
  mf_wg_data_op_t ops[WG_INPUT_CHUNK];
  mf_wg_peer_t *peer[WG_INPUT_CHUNK];
  uint32_t op_of[WG_INPUT_CHUNK]; /* op index per packet, or ~0 */
} wg_in_scratch_t;

static uint16_t map_result(mf_node_rt_t *node, mf_buffer_t *b,
                           mf_wg_data_result_t r)
{
  uint32_t e = r == MF_WG_DATA_E_AUTH      ? WG_INPUT_ERROR_AUTH_FAILED
               : r == MF_WG_DATA_E_REPLAY  ? WG_INPUT_ERROR_REPLAY
               : r == MF_WG_DATA_E_EXPIRED ? WG_INPUT_ERROR_KEYPAIR_EXPIRED
               : r == MF_WG_DATA_E_INDEX   ? WG_INPUT_ERROR_UNKNOWN_INDEX
                                           : WG_INPUT_ERROR_BAD_MESSAGE;
  return mf_graph_drop(node, b, e);
}

/* The interface's address back to the TUN's, or to the stack's for its
 * own answers. Returns -1 (to the TUN) or -2 (to the stack: l4_offset
 * and the family flag set for ip-local). */
static int nat_in4(mf_wg_device_t *d, mf_buffer_t *b, uint8_t *pkt,
                   uint32_t total)
{
  if (!d->has4 || memcmp(pkt + MF_NAT4_DST, d->addr4, 4) != 0)
    return -1;
  uint32_t l4 = (uint32_t)(pkt[0] & 0x0f) * 4u;
  if (d->has_stack4 && l4 >= 20 && for_stack(pkt, l4, total, pkt[9])) {
    mf_nat4_rewrite(pkt, total, MF_NAT4_DST, d->stack4);
    b->l4_offset = (uint16_t)l4;
    b->flags &= ~MF_BUFFER_F_IS_IP6;
    return -2;
  }
  mf_nat4_rewrite(pkt, total, MF_NAT4_DST, d->tun4);
  return -1;
}

static int nat_in6(mf_wg_device_t *d, mf_buffer_t *b, uint8_t *pkt,
                   uint32_t total)
{
  if (!d->has6 || memcmp(pkt + MF_NAT6_DST, d->addr6, 16) != 0)
    return -1;
  if (d->has_stack6 && for_stack(pkt, 40, total, pkt[6])) {
    mf_nat6_rewrite(pkt, total, MF_NAT6_DST, d->stack6);
    b->l4_offset = 40;
    b->flags |= MF_BUFFER_F_IS_IP6;
    return -2;
  }
  mf_nat6_rewrite(pkt, total, MF_NAT6_DST, d->tun6);
  return -1;
}

/* Checks the inner packet and trims the padding; -1 (for the TUN), -2
 * (for the stack itself), or an error. */
static int inner_check(mf_wg_device_t *d, mf_wg_peer_t *p, mf_buffer_t *b)
{
  uint8_t *pkt = mf_buffer_data(b);
  uint32_t len = b->current_length, total, slot;
  if (len >= sizeof(mf_ip4_header_t) && (pkt[0] >> 4) == 4) {
    total = (uint32_t)pkt[2] << 8 | pkt[3];
    uint32_t src;
    memcpy(&src, pkt + MF_NAT4_SRC, 4);
    mf_fib4_lookup_vector(d->allowed, &src, &slot, 1);
  } else if (len >= sizeof(mf_ip6_header_t) && (pkt[0] >> 4) == 6) {
    total = sizeof(mf_ip6_header_t) + ((uint32_t)pkt[4] << 8 | pkt[5]);
    const uint8_t *src = pkt + MF_NAT6_SRC;
    mf_fib6_lookup_vector(d->allowed, &src, &slot, 1);
  } else
    return WG_INPUT_ERROR_BAD_INNER_PACKET;
  if (total > len || total < 20)
    return WG_INPUT_ERROR_BAD_INNER_PACKET;
  if (slot != p->slot)
    return WG_INPUT_ERROR_SRC_NOT_ALLOWED;
  b->current_length = (uint16_t)total;
  return (pkt[0] >> 4) == 4 ? nat_in4(d, b, pkt, total) : nat_in6(d, b, pkt, total);
}

/* Classifies datagram i: data gets an op, the rest an error or the
 * control path. Returns the drop arc with b->error set, or 0xffff. */
/* Puts a message the split left in the spill area (msg) into its buffer,
 * whole, for whatever reads the buffer from here on; returns the buffer's
 * copy. */
static const uint8_t *settle(mf_buffer_t *b, const uint8_t *msg)
{
  uint8_t *buf = mf_buffer_data(b);
  if (msg != buf)
    memcpy(buf, msg, b->current_length);
  return buf;
}

static uint16_t drop_settled(mf_node_rt_t *node, mf_buffer_t *b,
                             const uint8_t *msg, uint32_t err)
{
  settle(b, msg);
  return mf_graph_drop(node, b, err);
}

/* Classifies packet i (its bytes at msg: its buffer's data, or the spill
 * area). A data message to open is read from msg and opened into its
 * buffer, which receives its header only; everything else is settled in
 * its buffer first. */
static uint16_t classify(mf_wg_main_t *wm, mf_node_rt_t *node,
                         mf_wg_device_t *d, wg_in_scratch_t *s, uint32_t i,
                         mf_buffer_t *b, const uint8_t *msg,
                         const mf_sockaddr_t *from, uint32_t *n_ops, uint64_t now)
{
  uint32_t type = mf_wg_msg_type(msg, b->current_length);
  s->op_of[i] = UINT32_MAX;
  if (type >= MF_WG_MSG_INITIATION && type <= MF_WG_MSG_COOKIE) {
    msg = settle(b, msg);
    static const uint8_t by_verdict[] = {
        [MF_WG_HS_ACCEPTED] = WG_INPUT_ERROR_HANDSHAKE,
        [MF_WG_HS_BAD_MAC1] = WG_INPUT_ERROR_BAD_MAC1,
        [MF_WG_HS_COOKIE_SENT] = WG_INPUT_ERROR_COOKIE_SENT,
        [MF_WG_HS_INVALID] = WG_INPUT_ERROR_HANDSHAKE_INVALID,
        [MF_WG_HS_UNKNOWN_PEER] = WG_INPUT_ERROR_UNKNOWN_PEER,
        [MF_WG_HS_REPLAY] = WG_INPUT_ERROR_HANDSHAKE_REPLAY,
        [MF_WG_HS_FLOOD] = WG_INPUT_ERROR_HANDSHAKE_FLOOD,
        [MF_WG_HS_UNEXPECTED] = WG_INPUT_ERROR_UNEXPECTED_HANDSHAKE,
    };
    mf_wg_hs_verdict_t v =
        mf_wg_handle_handshake(wm, d, msg, b->current_length, from, now);
    return mf_graph_drop(node, b, by_verdict[v]);
  }
  mf_wg_data_view_t v;
  if (type != MF_WG_MSG_DATA || mf_wg_msg_data_parse(msg, b->current_length, &v) < 0)
    return drop_settled(node, b, msg, WG_INPUT_ERROR_BAD_MESSAGE);
  mf_wg_peer_t *p = mf_wg_peer_by_index(d, v.receiver);
  mf_wg_keypair_t *kp = p ? mf_wg_keypairs_find(&p->kps, v.receiver) : NULL;
  if (!kp)
    return drop_settled(node, b, msg, WG_INPUT_ERROR_UNKNOWN_INDEX);
  if (!mf_wg_keypair_may_receive(kp, now))
    return drop_settled(node, b, msg, WG_INPUT_ERROR_KEYPAIR_EXPIRED);
  uint8_t *buf = mf_buffer_data(b);
  if (msg != buf)
    memcpy(buf, msg, MF_WG_DATA_HEADER_LEN);
  uint32_t k = (*n_ops)++;
  s->ops[k] = (mf_wg_data_op_t){.kp = kp, .in = msg, .len = b->current_length,
                                .out = buf + MF_WG_DATA_HEADER_LEN};
  s->peer[k] = p;
  s->op_of[i] = k;
  return 0xffff;
}

/* After a successful open: timers, roaming, rotation, then the inner
 * packet's checks. Returns the next arc. */
static uint16_t opened(mf_wg_main_t *wm, mf_node_rt_t *node, mf_wg_device_t *d,
                       wg_in_scratch_t *s, uint32_t i, mf_buffer_t *b,
                       const mf_sockaddr_t *from, uint64_t now)
{
  uint32_t k = s->op_of[i];
  mf_wg_peer_t *p = s->peer[k];
  /* Roaming (whitepaper 2.1): the peer is where its last authenticated
   * packet came from. */
  p->endpoint = *from;
  p->has_endpoint = true;
  p->rx_bytes += b->current_length;
  mf_wg_timers_any_authenticated_packet_received(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_traversal(&p->timers, now);
  mf_wg_dropped_t dropped;
  if (mf_wg_keypairs_received_with(&p->kps, s->ops[k].kp, &dropped))
    mf_wg_peer_flush_staged(wm, p);
  if (mf_wg_timers_rekey_after_receive(&p->timers, s->ops[k].kp, now))
    mf_wg_peer_want_handshake(wm, d, p, now);
  b->current_data += MF_WG_DATA_HEADER_LEN;
  b->current_length = (uint16_t)s->ops[k].out_len;
  if (b->current_length == 0)
    return mf_graph_drop(node, b, WG_INPUT_ERROR_KEEPALIVE);
  mf_wg_timers_data_received(&p->timers, now);
  int err = inner_check(d, p, b);
  if (err >= 0)
    return mf_graph_drop(node, b, (uint32_t)err);
  b->rx_if = d->if_index;
  b->tx_if = MF_IF_TUN_INDEX;
  wm->vm->ifs[d->if_index].rx_packets++;
  wm->vm->ifs[d->if_index].rx_bytes += b->current_length;
  if (err == -2)
    return b->flags & MF_BUFFER_F_IS_IP6 ? WG_INPUT_NEXT_IP6_LOCAL
                                         : WG_INPUT_NEXT_IP4_LOCAL;
  return WG_INPUT_NEXT_TUN_OUTPUT;
}

/* Opens packets pkt[0..n) of a read as one vector and sends each on. */
static void open_chunk(mf_wg_main_t *wm, mf_node_rt_t *node, mf_wg_device_t *d,
                       wg_in_scratch_t *s, uint32_t *pkt, const uint8_t **src,
                       const uint8_t *dgram, uint32_t n)
{
  mf_vm_t *vm = wm->vm;
  uint16_t nexts[WG_INPUT_CHUNK];
  uint32_t n_ops = 0;
  uint64_t now = vm->now_ns;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, pkt[i]);
    mf_trace_mark(vm, node, b);
    nexts[i] = classify(wm, node, d, s, i, b, src[i], &s->rx.from[dgram[i]], &n_ops, now);
  }
  mf_wg_data_decrypt_vector(&wm->data, s->ops, n_ops);
  for (uint32_t i = 0; i < n; i++) {
    if (s->op_of[i] == UINT32_MAX)
      continue;
    mf_buffer_t *b = mf_buffer_get(&vm->pool, pkt[i]);
    mf_wg_data_result_t res = s->ops[s->op_of[i]].result;
    nexts[i] = res == MF_WG_DATA_OK
                   ? opened(wm, node, d, s, i, b, &s->rx.from[dgram[i]], now)
                   : map_result(node, b, res);
  }
  /* The TUN takes a flow's segments as one super-packet (inner_gro.h). */
  mf_wg_gro_stats_t gs;
  n = mf_wg_gro_coalesce(&vm->pool, pkt, nexts, n, WG_INPUT_NEXT_TUN_OUTPUT, &gs);
  vm->errors[node->error_base + WG_INPUT_ERROR_TCP_COALESCED] += gs.merged;
  vm->errors[node->error_base + WG_INPUT_ERROR_TCP_NO_LARGE] += gs.no_large;
  mf_graph_enqueue(vm, node, pkt, nexts, n);
}

static void drop_all(mf_vm_t *vm, mf_node_rt_t *node, const uint32_t *bi,
                     uint32_t n, uint32_t err)
{
  uint16_t nexts[MF_WG_UDP_RX_PLAIN];
  for (uint32_t i = 0; i < n; i++)
    nexts[i] = mf_graph_drop(node, mf_buffer_get(&vm->pool, bi[i]), err);
  mf_graph_enqueue(vm, node, bi, nexts, n);
}

void mf_wg_input_free_scratch(mf_wg_main_t *wm)
{
  wg_in_scratch_t *s = wm->in_scratch;
  if (s)
    mf_wg_udp_rx_free(&s->rx);
  free(s);
  wm->in_scratch = NULL;
}

static uint32_t wg_input_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *unused,
                            uint32_t n_unused)
{
  mf_wg_main_t *wm = node->ctx;
  mf_wg_device_t *d = wm->devs[wm->polling];
  if (!wm->in_scratch && !(wm->in_scratch = calloc(1, sizeof(wg_in_scratch_t))))
    return 0;
  wg_in_scratch_t *s = wm->in_scratch;
  uint64_t *errors = vm->errors + node->error_base;
  uint32_t bi[MF_WG_UDP_RX_PLAIN];
  uint32_t n_bufs = mf_buffer_alloc(&vm->pool, bi, mf_wg_udp_rx_room(&d->udp_off));
  if (n_bufs == 0) {
    errors[WG_INPUT_ERROR_NO_BUFFERS]++;
    return 0;
  }
  int r = mf_wg_udp_recv(d->sock.fd, &d->udp_off, &s->rx, &vm->pool, bi, n_bufs);
  if (r < 0)
    errors[WG_INPUT_ERROR_RECV_ERROR]++;
  uint32_t n = r > 0 ? (uint32_t)r : 0;
  mf_buffer_free(&vm->pool, bi + n, n_bufs - n);
  mf_wg_udp_split_t sp;
  /* A traced read keeps every packet's bytes in its buffer for the
   * snapshots; otherwise data opens straight from the spill area. */
  uint32_t n_pkts = mf_wg_udp_split(&s->rx, &vm->pool, bi, n, node->trace_remaining != 0,
                                    s->pkt, s->src, s->dgram, &sp);
  errors[WG_INPUT_ERROR_GRO_DATAGRAMS] += sp.coalesced;
  errors[WG_INPUT_ERROR_SPLIT_NO_BUFFERS] += sp.no_buffers;
  drop_all(vm, node, sp.bad, sp.n_bad, WG_INPUT_ERROR_DATAGRAM_TOO_BIG);
  for (uint32_t k = 0; k < n_pkts; k += WG_INPUT_CHUNK) {
    uint32_t m = n_pkts - k < WG_INPUT_CHUNK ? n_pkts - k : WG_INPUT_CHUNK;
    open_chunk(wm, node, d, s, s->pkt + k, s->src + k, s->dgram + k, m);
  }
  return n_pkts + sp.n_bad;
}

const mf_node_reg_t mf_wg_input_node = {
    .name = "wg-input",
    .type = MF_NODE_INPUT,
    .fn = wg_input_fn,
    .n_next = 4,
    .next_nodes = {[WG_INPUT_NEXT_DROP] = "error-drop",
                   [WG_INPUT_NEXT_TUN_OUTPUT] = "tun-output",
                   [WG_INPUT_NEXT_IP4_LOCAL] = "ip4-local",
                   [WG_INPUT_NEXT_IP6_LOCAL] = "ip6-local"},
    .n_errors = WG_INPUT_N_ERROR,
    .errors = wg_input_errors,
};
