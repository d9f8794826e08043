/* TCP toward the app (RFC 9293): the engine behind each TCP session of the
 * host stack. The app's kernel opened the connection through the TUN; we
 * play the server it thinks it reached, while the host stack's glue
 * (tcp_session.c) carries the bytes to and from an ordinary kernel socket
 * connected to the real server.
 *
 * The engine is pure, as the protocol cores of STYLE.md: it never sees
 * buffers, sockets, the graph or the clock. It reads segments as byte
 * spans, writes segments into spans the glue lends it (mf_tcp_io_t), and
 * keeps its two byte streams in rings the glue fills and drains:
 *
 *   app --segments--> mf_tcp_input --> rx ring --(glue: send)--> upstream
 *   app <--segments-- mf_tcp_output <-- tx ring <--(glue: recv)-- upstream
 *
 * What it implements: the passive-open half of the state machine (the
 * SYN-ACK waits until the glue says the upstream connected); MSS, window
 * scaling (RFC 7323 2), timestamps (RFC 7323 3-4), SACK (RFC 2018); an
 * out-of-order queue kept in place in the rx ring; retransmission with an
 * RTT-based RTO (RFC 6298, floor rto_min_ms); with SACK, loss recovery by
 * the scoreboard, pipe and NextSeg of RFC 6675, losses found by RACK and
 * tails repaired by loss probes (RFC 8985); without SACK, fast retransmit
 * and NewReno recovery (RFC 5681, RFC 6582); delayed ACKs (RFC 9293
 * 3.8.6.3, at most every second full segment); zero-window probing (RFC
 * 9293 3.8.6.1); each direction closed on its own (half close); RST both
 * ways with RFC 5961's checks; a short TIME-WAIT.
 *
 * Backpressure: the window we announce is the free room of the rx ring, so
 * an upstream that drains slowly closes the app's window; the glue reads
 * the upstream only into the tx ring's free room, so an app that reads
 * slowly stops the upstream reads. A session's memory is bounded by its
 * two rings, which exist only while they hold bytes.
 *
 * Threads: a connection belongs to the worker that owns its session. */
#ifndef MF_HOSTSTACK_TCP_H
#define MF_HOSTSTACK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* What the engine did with an input segment. Each value but ACCEPTED is a
 * named counter of the hs-tcp node (hs_internal.h adds them to its error
 * table); the names are what `mintflow show errors` prints. */
#define MF_TCP_VERDICTS(_)                                                    \
  _(ACCEPTED, "tcp-accepted", "segment processed")                            \
  _(BAD_FLAGS, "tcp-bad-flags", "impossible flag combination (e.g. SYN+FIN)") \
  _(BAD_OPTIONS, "tcp-bad-options", "malformed TCP options")                  \
  _(NO_ACK, "tcp-no-ack", "segment without ACK in a synchronized state")      \
  _(OUT_OF_WINDOW, "tcp-out-of-window",                                       \
    "sequence outside the receive window: answered with an ACK")              \
  _(BAD_ACK, "tcp-bad-ack", "acknowledges data never sent")                   \
  _(OLD_ACK, "tcp-old-ack", "acknowledges data older than allowed (RFC 5961 5)") \
  _(PAWS, "tcp-paws", "old timestamp: dropped by PAWS (RFC 7323 5)")          \
  _(RST_IN_WINDOW, "tcp-rst-challenged",                                      \
    "RST not exactly at rcv.nxt: challenge ACK sent (RFC 5961 3)")            \
  _(RST, "tcp-rst", "RST from the app: connection reset")                     \
  _(SYN_IN_STATE, "tcp-syn-challenged",                                       \
    "SYN on a synchronized connection: challenge ACK sent (RFC 5961 4)")      \
  _(SYN_WAITING, "tcp-syn-waiting",                                           \
    "repeated SYN while the upstream connect is in progress")                 \
  _(RX_FULL, "tcp-rx-full", "data beyond the receive buffer: trimmed")        \
  _(NO_MEMORY, "tcp-no-memory", "no ring memory for the data: dropped")       \
  _(OOO_LIMIT, "tcp-ooo-limit",                                               \
    "out-of-order queue full (too many holes): segment dropped")             \
  _(AFTER_FIN, "tcp-data-after-fin", "data after the app's FIN: dropped")     \
  _(CLOSED, "tcp-closed", "segment for a closed connection")

typedef enum {
#define _(sym, n, t) MF_TCP_V_##sym,
  MF_TCP_VERDICTS(_)
#undef _
  MF_TCP_N_VERDICT
} mf_tcp_verdict_t;

typedef enum {
  MF_TCP_S_CLOSED = 0,
  MF_TCP_S_SYN_RECEIVED, /* SYN taken; SYN-ACK sent once upstream connects */
  MF_TCP_S_ESTABLISHED,
  MF_TCP_S_CLOSE_WAIT, /* the app sent FIN */
  MF_TCP_S_FIN_WAIT_1, /* we sent FIN (the upstream closed) */
  MF_TCP_S_FIN_WAIT_2,
  MF_TCP_S_CLOSING,
  MF_TCP_S_LAST_ACK,
  MF_TCP_S_TIME_WAIT,
  MF_TCP_N_STATE
} mf_tcp_state_t;

/* Events for the glue, OR-ed into conn->events; the glue clears them. */
enum {
  MF_TCP_EV_RX_DATA = 1u << 0,  /* new in-order bytes in the rx ring */
  MF_TCP_EV_TX_SPACE = 1u << 1, /* the app acknowledged bytes: tx room */
  MF_TCP_EV_RX_FIN = 1u << 2,   /* the app's FIN; see mf_tcp_rx_eof() */
  MF_TCP_EV_RESET = 1u << 3,    /* reset by the app, or aborted by timers */
  MF_TCP_EV_CLOSED = 1u << 4,   /* state CLOSED: the session may go */
  MF_TCP_EV_ESTABLISHED = 1u << 5, /* the app acknowledged our SYN-ACK */
};

/* Settings shared by every connection (the profile's hoststack section). */
typedef struct {
  uint32_t rx_buf;        /* bytes of each rx ring, a power of two >= 4096 */
  uint32_t tx_buf;        /* bytes of each tx ring, a power of two >= 4096 */
  uint32_t time_wait_ms;  /* TIME-WAIT: short, the app side is local */
  uint32_t fin_wait_2_ms; /* FIN-WAIT-2 without the app's FIN */
  uint32_t syn_rcvd_ms;   /* SYN-ACK unanswered for this long: abort */
  uint32_t max_retries;   /* RTO expiries in a row before abort */
  uint32_t delack_ms;     /* delayed ACK timer */
  uint32_t rto_min_ms;    /* floor of the retransmission timeout */
  /* Segmentation offload toward the app: new data may go out in segments
   * of up to this many bytes (whole MSS-sized pieces, as far as the span
   * the glue lends allows), which the glue hands to the TUN as one GSO
   * super-packet for the kernel to split. 0: one MSS per segment. */
  uint32_t tso_max_bytes;
  bool sack, timestamps, window_scaling; /* what we accept if offered */
} mf_tcp_cfg_t;

/* Fills cfg with the defaults: 256 KiB rings, TIME-WAIT 2 s, FIN-WAIT-2
 * 60 s, SYN-RECEIVED 20 s, 8 retries, delayed ACK 40 ms, RTO floor 50 ms,
 * all options on. */
void mf_tcp_cfg_default(mf_tcp_cfg_t *cfg);

/* Ring memory: blocks of the configured sizes, handed out while the global
 * budget allows and kept on a free list for reuse (no malloc per burst).
 * The budget bounds the whole host stack's TCP buffers. */
typedef struct mf_tcp_mem {
  uint64_t budget; /* bytes of ring memory allowed */
  uint64_t in_use; /* bytes handed out */
  uint64_t cached; /* bytes on the free lists */
  uint64_t failures; /* requests refused for the budget */
  void *free_rx, *free_tx; /* free lists, linked through the blocks */
} mf_tcp_mem_t;

void mf_tcp_mem_init(mf_tcp_mem_t *m, uint64_t budget);
/* Frees the cached blocks (blocks still in rings belong to their
 * connections, which must be freed first). */
void mf_tcp_mem_destroy(mf_tcp_mem_t *m);

/* A byte ring of a power-of-two size; `data` is NULL while empty and
 * unneeded. Bytes at [head, head + len) are in order; the rx ring also
 * holds out-of-order bytes beyond len, described by the reassembly list. */
typedef struct {
  uint8_t *data;
  uint32_t size;
  uint32_t head;
  uint32_t len;
} mf_tcp_ring_t;

#define MF_TCP_MAX_SACK 4 /* SACK blocks kept and sent (RFC 2018 3) */
#define MF_TCP_MAX_HOLES 12 /* out-of-order ranges kept per connection */
#define MF_TCP_MAX_SACKED 5 /* SACKed ranges of our data remembered */

typedef struct {
  uint32_t start, end; /* sequence numbers, end exclusive */
} mf_tcp_range_t;

/* Where the engine writes segments: seg_alloc lends a span of *room bytes
 * (it writes how many) for one TCP segment (header, options, payload), or
 * returns NULL when none is available (the engine stops and tries again
 * on its next output or timer); seg_send takes the segment back with its
 * length. The checksum field is left 0 for the glue, which knows the
 * addresses. A span of less than 60 bytes (the largest header) is given
 * back at once with seg_send(ctx, seg, 0): nothing to send. */
typedef struct {
  void *ctx;
  uint8_t *(*seg_alloc)(void *ctx, uint32_t *room);
  void (*seg_send)(void *ctx, uint8_t *seg, uint32_t len);
} mf_tcp_io_t;

/* bytes_in: the app's bytes that became in-order in the rx ring;
 * bytes_out: our bytes sent for the first time (resent ones count in
 * retransmits, per segment). */
typedef struct {
  uint64_t segs_in, segs_out, bytes_in, bytes_out;
  uint32_t retransmits, fast_retransmits, rto_expiries;
  uint32_t ooo_segments; /* arrived ahead of a hole */
  uint32_t zero_window_probes;
  uint32_t window_full; /* times the app's window stopped our sending */
  uint32_t tlp_probes;  /* tail loss probes sent (RFC 8985 7) */
  uint32_t lost_retransmits; /* resent bytes found lost again (RFC 8985) */
} mf_tcp_stats_t;

/* One connection's control block (RFC 9293 3.3.1). The glue owns its
 * memory; fields are the engine's, except where noted. */
typedef struct mf_tcp_conn {
  uint8_t state;  /* mf_tcp_state_t */
  uint8_t snd_wscale, rcv_wscale;
  uint8_t dupacks;
  uint16_t events; /* MF_TCP_EV_*: set by the engine, cleared by the glue */
  uint16_t local_port, remote_port; /* ours (the server's) and the app's, network order */
  uint8_t retries, unacked_segs;
  bool in_recovery;    /* recovery until snd_una passes recover */
  bool rto_recovery;   /* that recovery began with an RTO: slow start */
  bool reordered;      /* the app delivered a hole late: reordering seen */
  bool tlp_out, tlp_rtx; /* a loss probe is out; it resent bytes */
  bool ack_pending;    /* an ACK is due at once */
  bool sack_ok, ts_ok, ws_ok; /* options agreed in the handshake */
  bool fin_pending; /* the glue said the upstream ended: FIN after tx */
  bool fin_sent, fin_rcvd;
  uint8_t n_ooo, n_sacked;
  bool sack_forgot; /* the scoreboard dropped a range since it was empty */
  uint8_t tlp_count; /* loss probes since the last progress */
  uint8_t tso_segs;  /* MSS-sized pieces per new-data segment (1: no TSO) */
  /* send side (toward the app) */
  uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
  uint32_t snd_mss;    /* what the app's MSS option allows, capped by ours */
  uint32_t cwnd, ssthresh, recover;
  uint32_t max_sndwnd; /* largest window the app offered (RFC 5961 5) */
  uint32_t rtx_nxt;    /* HighRxt (RFC 6675): holes below it were resent */
  /* Loss detection with SACK (RFC 8985 RACK, without a record per
   * segment): bytes below lost_end that the app did not SACK are lost;
   * the app held bytes up to reo_end at reo_ts (microseconds, wrapping),
   * which makes the holes below them lost once the reordering window
   * passed. */
  uint32_t lost_end, reo_end, reo_ts;
  uint32_t rtx_mark;   /* snd_max when the latest resend went out */
  uint32_t tlp_end;    /* snd_max when the loss probe went out */
  uint32_t min_rtt_us; /* for the reordering window (RFC 8985 6.2) */
  /* receive side (from the app) */
  uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last announced */
  uint32_t last_ack_sent; /* rcv_nxt in our last segment (RFC 7323 4.3) */
  uint32_t mss_local; /* what we announced */
  uint32_t ts_recent, ts_offset;
  /* RTT (RFC 6298), in microseconds */
  uint32_t srtt_us, rttvar_us, rto_us;
  uint32_t rtt_seq; uint64_t rtt_start_us; /* timed segment, when no TS */
  /* out-of-order data in the rx ring, and SACK blocks to report */
  mf_tcp_range_t ooo[MF_TCP_MAX_HOLES];
  /* the app's SACK blocks about our data (sender scoreboard) */
  mf_tcp_range_t sacked[MF_TCP_MAX_SACKED];
  /* timers: absolute times in microseconds, 0 when not armed */
  uint64_t t_rexmit, t_delack, t_persist, t_state; /* t_state: 2MSL/FW2/SYN */
  uint64_t t_loss; /* loss probe (RFC 8985 7) or the reordering window */
  mf_tcp_ring_t rx, tx;
  mf_tcp_stats_t stats;
} mf_tcp_conn_t;

/* Takes the app's SYN (tcp: its TCP header and options, len bytes, the
 * checksum already checked) into conn, state SYN_RECEIVED. iss: our
 * initial sequence number (RFC 6528, from the glue); mss_local: the MSS
 * for the TUN's MTU. Sends nothing. Returns MF_TCP_V_ACCEPTED, or the
 * verdict that refused the SYN (the glue answers those with a RST). conn
 * is overwritten: it must hold no ring (new, or after mf_tcp_release). */
mf_tcp_verdict_t mf_tcp_accept(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                               const uint8_t *tcp, uint32_t len, uint32_t iss,
                               uint32_t mss_local, uint64_t now_us);

/* The upstream connected: sends the SYN-ACK. */
void mf_tcp_upstream_connected(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                               uint64_t now_us, const mf_tcp_io_t *io);

/* Processes one segment from the app (RFC 9293 3.10.7.4); may send ACKs,
 * data or a RST, and sets events. The glue has checked the checksum and
 * that the header length is within len (the engine checks again). A SYN
 * for a connection in TIME_WAIT returns MF_TCP_V_CLOSED and changes
 * nothing: a new connection, the glue recycles the slot (release, then
 * mf_tcp_accept). A segment for a CLOSED connection returns CLOSED too. */
mf_tcp_verdict_t mf_tcp_input(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                              mf_tcp_mem_t *mem, const uint8_t *tcp,
                              uint32_t len, uint64_t now_us,
                              const mf_tcp_io_t *io);

/* Sends what is due: new data from the tx ring within the app's window
 * and the congestion window, a FIN when the upstream ended and everything
 * before it went out, a window update when the rx ring drained enough, a
 * pending ACK. Call after the glue changed a ring. */
void mf_tcp_output(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                   uint64_t now_us, const mf_tcp_io_t *io);

/* The earliest armed timer, in microseconds, or 0 when none is armed. */
uint64_t mf_tcp_next_timer(const mf_tcp_conn_t *conn);
/* Runs every timer due at now_us: retransmission (with backoff), delayed
 * ACK, window probe, TIME-WAIT and the other state timeouts. */
void mf_tcp_on_timer(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                     uint64_t now_us, const mf_tcp_io_t *io);

/* In-order bytes from the app not yet taken by the glue: up to two spans
 * of the rx ring. Returns their total. */
uint32_t mf_tcp_rx_peek(const mf_tcp_conn_t *conn, struct iovec iov[2]);
/* The glue wrote n of those bytes upstream; they leave the ring (freed
 * when it empties). A window update follows from mf_tcp_output when the
 * window grew by enough (RFC 9293 3.8.6.2.2, receiver SWS avoidance). */
void mf_tcp_rx_consume(mf_tcp_conn_t *conn, mf_tcp_mem_t *mem, uint32_t n);
/* True once the app's FIN arrived and every byte before it was taken:
 * the glue then shuts the upstream's write side. */
bool mf_tcp_rx_eof(const mf_tcp_conn_t *conn);

/* Free room of the tx ring as up to two spans, allocating the ring when it
 * has none (returns 0 when the memory budget refuses). Returns the room. */
uint32_t mf_tcp_tx_space(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                         mf_tcp_mem_t *mem, struct iovec iov[2]);
/* The glue put n bytes from the upstream into those spans (ignored after
 * mf_tcp_tx_shutdown). A ring left empty (n = 0) goes back to the memory
 * on the app's next ACK, or on release. */
void mf_tcp_tx_commit(mf_tcp_conn_t *conn, uint32_t n);
/* The upstream ended its stream: a FIN follows the tx bytes. */
void mf_tcp_tx_shutdown(mf_tcp_conn_t *conn);

/* Resets the connection: sends a RST when it is synchronized (two, at
 * snd_una and snd_max, while bytes are in flight: RFC 5961 takes a RST
 * only exactly at the app's rcv_nxt), or RST|ACK with ack = irs + 1 when
 * the SYN is still unanswered (the upstream refused or timed out: the
 * app's connect fails at once); none in TIME_WAIT. State CLOSED, event
 * CLOSED. */
void mf_tcp_abort(mf_tcp_conn_t *conn, const mf_tcp_io_t *io);

/* Returns the rings' memory to mem; the connection is CLOSED after. */
void mf_tcp_release(mf_tcp_conn_t *conn, mf_tcp_mem_t *mem);

/* Writes into out (room bytes, at least 20) the RST that answers the
 * segment tcp (len bytes) when no connection takes it (RFC 9293 3.10.7.1);
 * ports swapped, checksum 0. Returns its length, or 0 when the segment is
 * itself a RST (never answered). */
uint32_t mf_tcp_write_reset(const uint8_t *tcp, uint32_t len, uint8_t *out,
                            uint32_t room);

/* Short names of states, e.g. "ESTABLISHED", for `show sessions`. */
const char *mf_tcp_state_name(uint8_t state);

#endif
