/* Inside the TCP engine: sequence arithmetic, the wire layout of the
 * header, and the small pieces the engine's files share (rings, ring
 * memory, options, reassembly, RTT, congestion control, segment output).
 * Not for the glue: it uses tcp.h only. */
#ifndef MF_HOSTSTACK_TCP_INTERNAL_H
#define MF_HOSTSTACK_TCP_INTERNAL_H

#include "hoststack/tcp.h"

/* Sequence space comparisons modulo 2^32 (RFC 9293 3.4). */
#define MF_SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define MF_SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define MF_SEQ_GT(a, b) MF_SEQ_LT(b, a)
#define MF_SEQ_GEQ(a, b) MF_SEQ_LEQ(b, a)

/* Header flags (RFC 9293 3.1). */
enum {
  MF_TCP_FIN = 0x01,
  MF_TCP_SYN = 0x02,
  MF_TCP_RST = 0x04,
  MF_TCP_PSH = 0x08,
  MF_TCP_ACK = 0x10,
  MF_TCP_URG = 0x20,
};

#define MF_TCP_HDR_LEN 20u
#define MF_TCP_MAX_OPT_LEN 40u
#define MF_TCP_MIN_MSS 64u       /* floor for a silly MSS option */
#define MF_TCP_DEFAULT_MSS 536u  /* no MSS option (RFC 9293 3.7.1) */
#define MF_TCP_MAX_WSCALE 14u    /* RFC 7323 2.3 */
#define MF_TCP_RTO_INIT_US 1000000u   /* RFC 6298 2.1 */
/* Loss probe timeout (RFC 8985 7.2): never below the floor, the timer
 * wheel's tick (2 SRTT is a fraction of it here, and a probe too early
 * costs a segment, never cwnd); with a lone segment in flight the app's
 * kernel may hold its ACK for up to 40 ms (Linux TCP_DELACK_MIN), so the
 * probe waits for that too. */
#define MF_TCP_PTO_MIN_US 1000u
#define MF_TCP_PTO_DELACK_US 45000u
/* Probes without progress before the RTO takes over. RFC 8985 sends one;
 * the second (after twice the wait) costs a segment and saves the RTO a
 * lost probe or its lost ACK would cost, 500 times the RTT here. */
#define MF_TCP_TLP_MAX 2u
#define MF_TCP_RTO_MAX_US 60000000u   /* RFC 6298 2.5 */
#define MF_TCP_DUPTHRESH 3u           /* RFC 5681 3.2 */
#define MF_TCP_BURST_MAX 512u /* segments per output call: bounds the loop */

/* A parsed header: the fields the engine reads, in host order. */
typedef struct {
  uint32_t seq, ack;
  uint32_t wnd; /* unscaled */
  uint8_t flags;
  uint32_t hdr_len, data_len;
  const uint8_t *data;
} mf_tcp_seg_t;

/* Options of one segment (RFC 9293 3.1, RFC 7323, RFC 2018). */
typedef struct {
  bool has_mss, has_wscale, sack_perm, has_ts;
  uint16_t mss;
  uint8_t wscale;
  uint32_t tsval, tsecr;
  uint8_t n_sack;
  mf_tcp_range_t sack[MF_TCP_MAX_SACK];
} mf_tcp_opts_t;

/* tcp_options.c: parses len bytes of options; returns 0, or -1 when they
 * are malformed (a length of 0 or 1, a length past the end, a known kind
 * of the wrong length). Unknown kinds are skipped. */
int mf_tcp_options_parse(const uint8_t *p, uint32_t len, mf_tcp_opts_t *o);
/* Writes o (MSS, SACK-permitted, timestamps, window scale, then as many
 * SACK blocks as fit) padded to 4 bytes; p has room for 40. Returns the
 * length. */
uint32_t mf_tcp_options_write(uint8_t *p, const mf_tcp_opts_t *o);
/* Length mf_tcp_options_write would give for o. */
uint32_t mf_tcp_options_len(const mf_tcp_opts_t *o);
/* Parses the fixed header of a segment of len bytes; -1 when the data
 * offset is below 20 or beyond len. */
int mf_tcp_header_parse(const uint8_t *tcp, uint32_t len, mf_tcp_seg_t *s);

/* tcp_mem.c: a block of size bytes for an rx (or tx) ring, or NULL when
 * the budget refuses; mf_tcp_mem_put takes it back onto the free list. */
uint8_t *mf_tcp_mem_get(mf_tcp_mem_t *m, uint32_t size, bool rx);
void mf_tcp_mem_put(mf_tcp_mem_t *m, uint8_t *block, uint32_t size, bool rx);

/* tcp_ring.c: byte copies at offset off from the head, wrapping. */
void mf_tcp_ring_write(mf_tcp_ring_t *r, uint32_t off, const uint8_t *src,
                       uint32_t n);
void mf_tcp_ring_read(const mf_tcp_ring_t *r, uint32_t off, uint8_t *dst,
                      uint32_t n);
/* Up to two spans for n bytes at offset off; returns how many spans. */
int mf_tcp_ring_spans(const mf_tcp_ring_t *r, uint32_t off, uint32_t n,
                      struct iovec iov[2]);
/* Drops n bytes at the head; the block returns to m once the ring holds
 * nothing (keep says it still holds bytes the length does not count). */
void mf_tcp_ring_drop(mf_tcp_ring_t *r, mf_tcp_mem_t *m, uint32_t n, bool rx,
                      bool keep);
/* Gives the ring a block if it has none; false when the budget refuses. */
bool mf_tcp_ring_ensure(mf_tcp_ring_t *r, mf_tcp_mem_t *m, bool rx);

/* tcp_reass.c: out-of-order ranges, most recent first (the order RFC 2018
 * 4 asks of SACK blocks). Adds [start, end), merged with the ranges it
 * touches; -1 when it would need one range more than MF_TCP_MAX_HOLES. */
int mf_tcp_reass_add(mf_tcp_range_t *r, uint8_t *n, uint32_t start,
                     uint32_t end);
/* rcv_nxt moved to nxt: absorbs the ranges it reached; returns the new
 * rcv_nxt (the end of the in-order bytes). */
uint32_t mf_tcp_reass_advance(mf_tcp_range_t *r, uint8_t *n, uint32_t nxt);
/* Sender scoreboard (RFC 6675): records a SACK block the app sent about
 * our data; returns the bytes it newly covers. When the list is full the
 * oldest news is forgotten (at worst bytes are resent needlessly). */
uint32_t mf_tcp_sacked_add(mf_tcp_conn_t *c, uint32_t start, uint32_t end);
/* Forgets what snd_una passed. */
void mf_tcp_sacked_trim(mf_tcp_conn_t *c);
/* The first sequence at or after seq that the app did not SACK. */
uint32_t mf_tcp_sacked_skip(const mf_tcp_conn_t *c, uint32_t seq);
/* The first SACKed sequence after seq, or limit if none is before it. */
uint32_t mf_tcp_sacked_next(const mf_tcp_conn_t *c, uint32_t seq,
                            uint32_t limit);
/* The highest SACKed sequence, or snd_una when none. */
uint32_t mf_tcp_sacked_high(const mf_tcp_conn_t *c);
/* Bytes of [s, e) the app did not SACK. */
uint32_t mf_tcp_sacked_missing(const mf_tcp_conn_t *c, uint32_t s, uint32_t e);
/* Bytes the app SACKed beyond snd_una. */
uint32_t mf_tcp_sacked_bytes(const mf_tcp_conn_t *c);

/* tcp_recovery.c: loss recovery with SACK (RFC 6675, with RFC 8985's
 * loss marks). The news one ACK brought: */
typedef struct {
  uint32_t fresh;  /* bytes newly SACKed */
  bool past_rtx;   /* some of them were first sent after our latest resend */
  bool dsack;      /* the first block reports a duplicate (RFC 2883) */
} mf_tcp_sack_news_t;
/* Takes the ACK's SACK blocks into the scoreboard, before snd_una moves
 * to ack; notes reordering (a hole filled that was never resent). */
void mf_tcp_recovery_take_sack(mf_tcp_conn_t *c, const mf_tcp_opts_t *o,
                               uint32_t ack, mf_tcp_sack_news_t *n);
/* After the ACK moved snd_una (or not): the probe's outcome, resends
 * found lost, RACK's marks, and fast recovery's start with its first
 * resend (RFC 6675 5 step 4). */
void mf_tcp_recovery_on_ack(mf_tcp_conn_t *c, const mf_tcp_sack_news_t *n,
                            uint64_t now_us, const mf_tcp_io_t *io);
/* The RTO expired: every byte not SACKed is lost (RFC 8985 6.3). */
void mf_tcp_recovery_on_rto(mf_tcp_conn_t *c);
/* RFC 6675 SetPipe: bytes in flight, SACKed and lost ones left out. */
uint32_t mf_tcp_pipe(const mf_tcp_conn_t *c);
/* RFC 6675 NextSeg rule 1: the first lost byte not yet resent, or
 * snd_max when none. */
uint32_t mf_tcp_next_lost(const mf_tcp_conn_t *c);

/* tcp_rack.c: RACK-TLP (RFC 8985) without a record per segment. Moves
 * lost_end to what the app holds once the reordering window passed. */
void mf_tcp_rack_mark(mf_tcp_conn_t *c, uint64_t now_us);
/* Arms t_loss: the end of a pending reordering window, else the loss
 * probe (PTO) while data is in flight; 0 when neither applies. */
void mf_tcp_rack_arm(mf_tcp_conn_t *c, uint64_t now_us);
/* t_loss expired: marks what the window made lost and resends it, or
 * sends the tail loss probe. */
void mf_tcp_rack_on_timer(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg,
                          uint64_t now_us, const mf_tcp_io_t *io);

/* tcp_rtt.c: RFC 6298. */
void mf_tcp_rtt_init(mf_tcp_conn_t *c);
/* A sample in microseconds; rto_min_us is the RTO's floor (cfg). */
void mf_tcp_rtt_sample(mf_tcp_conn_t *c, uint32_t rtt_us, uint32_t rto_min_us);
void mf_tcp_rtt_backoff(mf_tcp_conn_t *c);
/* Our timestamp clock (RFC 7323 4.1): milliseconds plus a per-connection
 * offset so the value says nothing about the machine's uptime. */
uint32_t mf_tcp_ts_now(const mf_tcp_conn_t *c, uint64_t now_us);

/* tcp_cc.c: congestion control behind a few events, so another algorithm
 * (CUBIC) can take their place. NewReno: RFC 5681, RFC 6582, RFC 6928. */
void mf_tcp_cc_init(mf_tcp_conn_t *c);
void mf_tcp_cc_on_ack(mf_tcp_conn_t *c, uint32_t acked);
void mf_tcp_cc_on_fast_retransmit(mf_tcp_conn_t *c);
/* A loss found with SACK, or repaired by a loss probe: cwnd = ssthresh =
 * half the flight (RFC 6675 5 step 4.2, RFC 8985 7.4.2). */
void mf_tcp_cc_on_loss(mf_tcp_conn_t *c);
void mf_tcp_cc_on_dupack(mf_tcp_conn_t *c);
void mf_tcp_cc_on_partial_ack(mf_tcp_conn_t *c, uint32_t acked);
void mf_tcp_cc_on_recovery_end(mf_tcp_conn_t *c);
void mf_tcp_cc_on_rto(mf_tcp_conn_t *c, bool first);

/* SMSS of RFC 5681: the payload of a full segment, the timestamps
 * option taken off. */
static inline uint32_t mf_tcp_smss(const mf_tcp_conn_t *c)
{
  return c->snd_mss - (c->ts_ok ? 12u : 0u);
}

/* tcp_output.c */
/* Sequence of the first byte in the tx ring (the SYN comes before it). */
static inline uint32_t mf_tcp_tx_base(const mf_tcp_conn_t *c)
{
  return c->snd_una + (c->state == MF_TCP_S_SYN_RECEIVED);
}
/* Sends one segment: header, options, up to len bytes of the tx ring from
 * seq (clamped to the MSS and the lent room), flags. Returns the payload
 * bytes sent, or -1 when no segment could be had. A FIN is dropped if the
 * payload was clamped. */
int mf_tcp_send(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io,
                uint32_t seq, uint32_t len, uint8_t flags);
void mf_tcp_send_synack(mf_tcp_conn_t *c, uint64_t now_us,
                        const mf_tcp_io_t *io);
/* A bare ACK now (also the challenge ACK of RFC 5961). */
void mf_tcp_send_ack(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io);
/* A RST with exactly these fields, no options. */
void mf_tcp_send_rst(mf_tcp_conn_t *c, const mf_tcp_io_t *io, uint32_t seq,
                     uint32_t ack, uint8_t flags);
/* NewReno recovery (no SACK): resends the first unacknowledged segment
 * (RFC 6582 3.2). */
void mf_tcp_retransmit_hole(mf_tcp_conn_t *c, uint64_t now_us,
                            const mf_tcp_io_t *io);
/* With SACK: resends one segment from seq, up to the next SACKed byte;
 * moves rtx_nxt past it. Returns the payload sent, or -1 (no span). */
int mf_tcp_resend(mf_tcp_conn_t *c, uint64_t now_us, const mf_tcp_io_t *io,
                  uint32_t seq);
/* The tail loss probe (RFC 8985 7.3): the oldest hole if bytes were found
 * lost or resent, else the last segment again. Returns false when nothing
 * could be sent. */
bool mf_tcp_send_loss_probe(mf_tcp_conn_t *c, uint64_t now_us,
                            const mf_tcp_io_t *io);
/* One byte past a zero window (RFC 9293 3.8.6.1). */
void mf_tcp_send_probe(mf_tcp_conn_t *c, uint64_t now_us,
                       const mf_tcp_io_t *io);
/* True when the window we could announce grew by enough to tell the app
 * (receiver SWS avoidance, RFC 9293 3.8.6.2.2). */
bool mf_tcp_window_update_due(const mf_tcp_conn_t *c);
/* The window acceptable for incoming segments (RFC 9293 3.10.7.4). */
uint32_t mf_tcp_rcv_wnd(const mf_tcp_conn_t *c);

/* tcp_conn.c: ends the connection with a RST; ev adds MF_TCP_EV_RESET when
 * the engine (not the glue) decided it. */
void mf_tcp_reset_conn(mf_tcp_conn_t *c, const mf_tcp_io_t *io, uint16_t ev);
/* Enters state s, arming or stopping the timers it implies. */
void mf_tcp_set_state(mf_tcp_conn_t *c, const mf_tcp_cfg_t *cfg, uint8_t s,
                      uint64_t now_us);

/* Big-endian accessors: the header is never read through a struct. */
static inline uint16_t mf_tcp_get16(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t mf_tcp_get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static inline void mf_tcp_put16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void mf_tcp_put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
