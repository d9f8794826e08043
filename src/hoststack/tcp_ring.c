/* The two byte rings of a connection, and the glue's side of them.
 *
 * rx: [head, head + len) holds the app's in-order bytes, the first at
 * sequence rcv_nxt - len; out-of-order bytes sit at their own offset past
 * them (tcp_reass.c says which). tx: [head, head + len) holds the
 * upstream's bytes from the tx base (snd_una, or the byte after our SYN)
 * on; bytes leave when the app acknowledges them.
 *
 * A ring holds a block only while it holds bytes: an idle connection
 * costs its control block alone. */
#include <string.h>

#include "hoststack/tcp_internal.h"

static uint32_t ring_mask(const mf_tcp_ring_t *r)
{
  return r->size - 1;
}

int mf_tcp_ring_spans(const mf_tcp_ring_t *r, uint32_t off, uint32_t n,
                      struct iovec iov[2])
{
  if (!r->data || n == 0)
    return 0;
  uint32_t at = (r->head + off) & ring_mask(r);
  uint32_t first = r->size - at < n ? r->size - at : n;
  iov[0].iov_base = r->data + at;
  iov[0].iov_len = first;
  if (first == n)
    return 1;
  iov[1].iov_base = r->data;
  iov[1].iov_len = n - first;
  return 2;
}

void mf_tcp_ring_write(mf_tcp_ring_t *r, uint32_t off, const uint8_t *src,
                       uint32_t n)
{
  struct iovec iov[2];
  int k = mf_tcp_ring_spans(r, off, n, iov);
  for (int i = 0; i < k; i++) {
    memcpy(iov[i].iov_base, src, iov[i].iov_len);
    src += iov[i].iov_len;
  }
}

void mf_tcp_ring_read(const mf_tcp_ring_t *r, uint32_t off, uint8_t *dst,
                      uint32_t n)
{
  struct iovec iov[2];
  int k = mf_tcp_ring_spans(r, off, n, iov);
  for (int i = 0; i < k; i++) {
    memcpy(dst, iov[i].iov_base, iov[i].iov_len);
    dst += iov[i].iov_len;
  }
}

bool mf_tcp_ring_ensure(mf_tcp_ring_t *r, mf_tcp_mem_t *m, bool rx)
{
  if (r->data)
    return true;
  r->data = mf_tcp_mem_get(m, r->size, rx);
  r->head = 0;
  r->len = 0;
  return r->data != NULL;
}

void mf_tcp_ring_drop(mf_tcp_ring_t *r, mf_tcp_mem_t *m, uint32_t n, bool rx,
                      bool keep)
{
  if (n > r->len)
    n = r->len;
  r->len -= n;
  r->head = r->data ? (r->head + n) & ring_mask(r) : 0;
  if (r->len == 0 && !keep && r->data) {
    mf_tcp_mem_put(m, r->data, r->size, rx);
    r->data = NULL;
    r->head = 0;
  }
}

uint32_t mf_tcp_rx_peek(const mf_tcp_conn_t *conn, struct iovec iov[2])
{
  int k = mf_tcp_ring_spans(&conn->rx, 0, conn->rx.len, iov);
  if (k < 2)
    iov[1].iov_base = NULL, iov[1].iov_len = 0;
  if (k < 1)
    iov[0].iov_base = NULL, iov[0].iov_len = 0;
  return conn->rx.data ? conn->rx.len : 0;
}

void mf_tcp_rx_consume(mf_tcp_conn_t *conn, mf_tcp_mem_t *mem, uint32_t n)
{
  mf_tcp_ring_drop(&conn->rx, mem, n, true, conn->n_ooo > 0);
}

bool mf_tcp_rx_eof(const mf_tcp_conn_t *conn)
{
  return conn->fin_rcvd && conn->rx.len == 0;
}

uint32_t mf_tcp_tx_space(mf_tcp_conn_t *conn, const mf_tcp_cfg_t *cfg,
                         mf_tcp_mem_t *mem, struct iovec iov[2])
{
  iov[0].iov_base = iov[1].iov_base = NULL;
  iov[0].iov_len = iov[1].iov_len = 0;
  /* Nothing may follow our FIN, and a closed connection sends nothing. */
  if (conn->fin_pending || conn->state == MF_TCP_S_CLOSED ||
      conn->state == MF_TCP_S_TIME_WAIT || conn->tx.size == 0)
    return 0;
  if (!mf_tcp_ring_ensure(&conn->tx, mem, false))
    return 0;
  uint32_t room = conn->tx.size - conn->tx.len;
  mf_tcp_ring_spans(&conn->tx, conn->tx.len, room, iov);
  return room;
}

void mf_tcp_tx_commit(mf_tcp_conn_t *conn, uint32_t n)
{
  if (!conn->tx.data || conn->fin_pending)
    return;
  uint32_t room = conn->tx.size - conn->tx.len;
  conn->tx.len += n < room ? n : room;
}

void mf_tcp_tx_shutdown(mf_tcp_conn_t *conn)
{
  if (conn->fin_pending || conn->state == MF_TCP_S_CLOSED)
    return;
  conn->fin_pending = true;
  /* RFC 9293 3.10.4: CLOSE moves the state now; the FIN itself follows
   * the queued bytes. In SYN-RECEIVED it waits for ESTABLISHED. */
  if (conn->state == MF_TCP_S_ESTABLISHED)
    conn->state = MF_TCP_S_FIN_WAIT_1;
  else if (conn->state == MF_TCP_S_CLOSE_WAIT)
    conn->state = MF_TCP_S_LAST_ACK;
}
