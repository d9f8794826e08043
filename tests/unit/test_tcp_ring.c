/* The byte rings and their memory: spans across the wrap, writes and
 * reads at offsets, consume, the glue's tx and rx calls on a connection,
 * and the budget of mf_tcp_mem_t (refusals counted, free-list reuse,
 * cached blocks given up for the other direction, all returned). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoststack/tcp_internal.h"

#define SZ 4096u

static void test_spans_and_wrap(void **state)
{
  mf_tcp_mem_t m;
  mf_tcp_mem_init(&m, 1 << 20);
  mf_tcp_ring_t r = {.size = SZ};
  assert_true(mf_tcp_ring_ensure(&r, &m, true));
  assert_int_equal(m.in_use, SZ);
  struct iovec iov[2];
  assert_int_equal(mf_tcp_ring_spans(&r, 0, 0, iov), 0);
  /* Every head, offset and length: the spans tile [off, off + n). */
  uint8_t src[SZ], dst[SZ];
  for (uint32_t i = 0; i < SZ; i++)
    src[i] = (uint8_t)(i * 7 + 3);
  for (uint32_t head = SZ - 300; head < SZ + 300; head += 37) {
    r.head = head % SZ;
    for (uint32_t off = 0; off < SZ; off += 511) {
      uint32_t n = SZ - off;
      int k = mf_tcp_ring_spans(&r, off, n, iov);
      assert_true(k == 1 || k == 2);
      uint32_t total = 0;
      for (int i = 0; i < k; i++) {
        assert_true((uint8_t *)iov[i].iov_base >= r.data);
        assert_true((uint8_t *)iov[i].iov_base + iov[i].iov_len <= r.data + SZ);
        total += (uint32_t)iov[i].iov_len;
      }
      assert_int_equal(total, n);
      assert_ptr_equal(iov[0].iov_base, r.data + (r.head + off) % SZ);
      if (k == 2)
        assert_ptr_equal(iov[1].iov_base, r.data);
      mf_tcp_ring_write(&r, off, src, n);
      memset(dst, 0, sizeof(dst));
      mf_tcp_ring_read(&r, off, dst, n);
      assert_memory_equal(src, dst, n);
    }
  }
  /* Dropping: the head moves; the block goes back once empty. */
  r.head = SZ - 10;
  r.len = 100;
  mf_tcp_ring_drop(&r, &m, 30, true, false);
  assert_int_equal(r.head, 20);
  assert_int_equal(r.len, 70);
  mf_tcp_ring_drop(&r, &m, 70, true, true); /* kept: bytes beyond len */
  assert_non_null(r.data);
  mf_tcp_ring_drop(&r, &m, 500, true, false); /* more than held */
  assert_null(r.data);
  assert_int_equal(r.len, 0);
  assert_int_equal(m.in_use, 0);
  assert_int_equal(m.cached, SZ);
  mf_tcp_mem_destroy(&m);
  assert_int_equal(m.cached, 0);
}

static void test_budget(void **state)
{
  mf_tcp_mem_t m;
  mf_tcp_mem_init(&m, 3 * SZ);
  uint8_t *a = mf_tcp_mem_get(&m, SZ, true), *b = mf_tcp_mem_get(&m, SZ, true),
          *c = mf_tcp_mem_get(&m, SZ, false);
  assert_true(a && b && c);
  assert_int_equal(m.in_use, 3 * SZ);
  assert_null(mf_tcp_mem_get(&m, SZ, true)); /* over the budget */
  assert_int_equal(m.failures, 1);
  /* Freed blocks are reused, not allocated again. */
  mf_tcp_mem_put(&m, b, SZ, true);
  assert_int_equal(m.in_use, 2 * SZ);
  assert_int_equal(m.cached, SZ);
  assert_ptr_equal(mf_tcp_mem_get(&m, SZ, true), b);
  assert_int_equal(m.cached, 0);
  /* A cached rx block gives way to a tx request within the budget. */
  mf_tcp_mem_put(&m, b, SZ, true);
  mf_tcp_mem_put(&m, c, SZ, false);
  mf_tcp_mem_put(&m, a, SZ, true);
  assert_int_equal(m.cached, 3 * SZ);
  uint8_t *t1 = mf_tcp_mem_get(&m, SZ, false);
  uint8_t *t2 = mf_tcp_mem_get(&m, SZ, false);
  uint8_t *t3 = mf_tcp_mem_get(&m, SZ, false);
  assert_true(t1 && t2 && t3);
  assert_int_equal(m.in_use + m.cached, 3 * SZ);
  /* A block of another size (a new configuration) is never handed out. */
  mf_tcp_mem_put(&m, t1, SZ, false);
  uint8_t *big = mf_tcp_mem_get(&m, 2 * SZ, false);
  assert_null(big); /* 2 blocks in use + 2*SZ > budget */
  mf_tcp_mem_put(&m, t2, SZ, false);
  big = mf_tcp_mem_get(&m, 2 * SZ, false);
  assert_non_null(big);
  assert_int_equal(m.in_use, 3 * SZ);
  assert_int_equal(m.cached, 0);
  mf_tcp_mem_put(&m, big, 2 * SZ, false);
  mf_tcp_mem_put(&m, t3, SZ, false);
  assert_int_equal(m.in_use, 0);
  mf_tcp_mem_destroy(&m);
  assert_int_equal(m.cached, 0);
}

static uint8_t *seg_alloc(void *ctx, uint32_t *room)
{
  static uint8_t seg[2048];
  *room = sizeof(seg);
  return seg;
}

static void seg_send(void *ctx, uint8_t *seg, uint32_t len) {}

/* A connection in ESTABLISHED with 4 KiB rings. */
static void establish(mf_tcp_conn_t *c, mf_tcp_cfg_t *cfg, mf_tcp_mem_t *m,
                      const mf_tcp_io_t *io)
{
  mf_tcp_cfg_default(cfg);
  cfg->rx_buf = cfg->tx_buf = SZ;
  uint8_t syn[20] = {0x9c, 0x40, 0, 80, 0, 0, 1, 0, 0, 0, 0, 0, 5 << 4,
                     MF_TCP_SYN, 0xff, 0xff};
  assert_int_equal(mf_tcp_accept(c, cfg, syn, 20, 1000, 1460, 1), MF_TCP_V_ACCEPTED);
  mf_tcp_upstream_connected(c, cfg, 1, io);
  uint8_t ack[20] = {0x9c, 0x40, 0, 80, 0, 0, 1, 1, 0, 0, 0x03, 0xe9, 5 << 4,
                     MF_TCP_ACK, 0xff, 0xff};
  assert_int_equal(mf_tcp_input(c, cfg, m, ack, 20, 2, io), MF_TCP_V_ACCEPTED);
}

static void test_glue_calls(void **state)
{
  mf_tcp_cfg_t cfg;
  mf_tcp_mem_t m;
  mf_tcp_mem_init(&m, 1 << 20);
  mf_tcp_io_t io = {.seg_alloc = seg_alloc, .seg_send = seg_send};
  mf_tcp_conn_t c;
  establish(&c, &cfg, &m, &io);
  assert_int_equal(m.in_use, 0);
  struct iovec iov[2];
  /* tx: the whole ring as free room, then what remains after commits. */
  assert_int_equal(mf_tcp_tx_space(&c, &cfg, &m, iov), SZ);
  assert_int_equal(m.in_use, SZ);
  assert_int_equal(iov[0].iov_len + iov[1].iov_len, SZ);
  memset(iov[0].iov_base, 'x', 1000);
  mf_tcp_tx_commit(&c, 1000);
  assert_int_equal(mf_tcp_tx_space(&c, &cfg, &m, iov), SZ - 1000);
  mf_tcp_tx_commit(&c, SZ); /* more than room: clamped */
  assert_int_equal(c.tx.len, SZ);
  assert_int_equal(mf_tcp_tx_space(&c, &cfg, &m, iov), 0);
  /* rx: nothing yet; peek says so with empty spans. */
  assert_int_equal(mf_tcp_rx_peek(&c, iov), 0);
  assert_int_equal(iov[0].iov_len + iov[1].iov_len, 0);
  mf_tcp_rx_consume(&c, &m, 10); /* nothing to consume: harmless */
  assert_false(mf_tcp_rx_eof(&c));
  /* After shutdown no room is offered. */
  mf_tcp_tx_shutdown(&c);
  assert_int_equal(c.state, MF_TCP_S_FIN_WAIT_1);
  assert_int_equal(mf_tcp_tx_space(&c, &cfg, &m, iov), 0);
  mf_tcp_release(&c, &m);
  assert_int_equal(m.in_use, 0);
  assert_null(c.tx.data);
  mf_tcp_mem_destroy(&m);
}

static void test_tx_wraps(void **state)
{
  /* The upstream's bytes go round the 4 KiB ring many times; at every
   * offset the ring holds the stream's byte. */
  mf_tcp_cfg_t cfg;
  mf_tcp_mem_t m;
  mf_tcp_mem_init(&m, 1 << 20);
  mf_tcp_io_t io = {.seg_alloc = seg_alloc, .seg_send = seg_send};
  mf_tcp_conn_t c;
  establish(&c, &cfg, &m, &io);
  uint32_t put = 0, acked = 0;
  uint32_t total = 100000;
  for (int round = 0; round < 10000 && acked < total; round++) {
    struct iovec iov[2];
    uint32_t room = mf_tcp_tx_space(&c, &cfg, &m, iov);
    uint32_t n = total - put < room ? total - put : room;
    n = n > 1500 ? 1500 : n;
    for (uint32_t i = 0, k = 0; i < 2 && k < n; i++)
      for (uint32_t j = 0; j < iov[i].iov_len && k < n; j++, k++)
        ((uint8_t *)iov[i].iov_base)[j] = (uint8_t)((put + k) * 31);
    mf_tcp_tx_commit(&c, n);
    put += n;
    /* Check the ring's bytes at their offsets, then let the app ack some. */
    for (uint32_t i = 0; i < c.tx.len; i += 97) {
      uint8_t b;
      mf_tcp_ring_read(&c.tx, i, &b, 1);
      assert_int_equal(b, (uint8_t)((acked + i) * 31));
    }
    uint32_t a = c.tx.len / 2 + 1;
    a = a > c.tx.len ? c.tx.len : a;
    mf_tcp_ring_drop(&c.tx, &m, a, false, false);
    c.snd_una += a;
    acked += a;
  }
  assert_int_equal(acked, total);
  assert_null(c.tx.data);
  assert_int_equal(m.in_use, 0);
  mf_tcp_release(&c, &m);
  mf_tcp_mem_destroy(&m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spans_and_wrap),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_glue_calls),
      cmocka_unit_test(test_tx_wraps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
