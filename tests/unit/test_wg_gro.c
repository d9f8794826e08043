/* Coalescing the tunnel's TCP for the TUN (inner_gro.h): what merges and
 * what ends a super-packet (sequence gap, short segment, PSH, another ACK
 * or option bytes, a bad checksum, a segment of the flow that may not
 * merge, the 64 KiB limit), interleaved flows, IPv6, no large buffers;
 * and on random vectors a differential check against the software TSO
 * (ip/tcp_gso.h): cutting every super-packet again must give back the
 * very segments that went in, byte for byte, in each flow's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/buffer.h"
#include "ip/checksum.h"
#include "ip/headers.h"
#include "ip/tcp_gso.h"
#include "wireguard/inner_gro.h"

#define ARC 1
#define OTHER_ARC 2

typedef struct {
  int v6;
  uint8_t flow; /* picks addresses and ports */
  uint32_t seq, ack;
  uint16_t window, ip_id;
  uint8_t flags;
  uint32_t payload;
  uint32_t tsval; /* timestamp option when nonzero */
  int bad_csum;
  int no_df; /* may be fragmented: IDs matter */
} seg_spec_t;

static uint8_t payload_byte(uint32_t seq)
{
  return (uint8_t)(seq * 13u + (seq >> 9));
}

/* Builds a complete IPv4 or IPv6 TCP segment; returns its length. */
static uint32_t build(uint8_t *p, const seg_spec_t *s)
{
  uint32_t ip_hlen = s->v6 ? 40 : 20, opt = s->tsval ? 12 : 0;
  uint32_t tcp_len = 20 + opt + s->payload, len = ip_hlen + tcp_len;
  memset(p, 0, ip_hlen + 20 + opt);
  uint64_t pseudo;
  if (!s->v6) {
    mf_ip4_header_t *ip = (mf_ip4_header_t *)p;
    ip->ver_ihl = 0x45;
    ip->total_length = htons((uint16_t)len);
    ip->id = htons(s->ip_id);
    ip->frag = htons(s->no_df ? 0 : 0x4000); /* DF */
    ip->ttl = 64;
    ip->protocol = MF_IP_PROTO_TCP;
    uint8_t src[4] = {10, 100, 0, 2}, dst[4] = {10, 100, 0, (uint8_t)(1 + s->flow)};
    memcpy(&ip->src, src, 4);
    memcpy(&ip->dst, dst, 4);
    ip->checksum = mf_csum_finish(mf_csum_add(0, p, 20));
    pseudo = mf_csum_pseudo4(ip->src, ip->dst, MF_IP_PROTO_TCP, tcp_len);
  } else {
    mf_ip6_header_t *ip = (mf_ip6_header_t *)p;
    ip->ver_tc_flow = htonl(0x60000000u | s->flow);
    ip->payload_length = htons((uint16_t)tcp_len);
    ip->next_header = MF_IP_PROTO_TCP;
    ip->hop_limit = 64;
    ip->src[0] = ip->dst[0] = 0xfd;
    ip->src[15] = 2;
    ip->dst[15] = (uint8_t)(1 + s->flow);
    pseudo = mf_csum_pseudo6(ip->src, ip->dst, MF_IP_PROTO_TCP, tcp_len);
  }
  mf_tcp_header_t *t = (mf_tcp_header_t *)(p + ip_hlen);
  t->src_port = htons((uint16_t)(5201 + s->flow));
  t->dst_port = htons(40000);
  t->seq = htonl(s->seq);
  t->ack = htonl(s->ack);
  t->data_offset = (uint8_t)(((20 + opt) / 4) << 4);
  t->flags = s->flags;
  t->window = htons(s->window);
  uint8_t *o = p + ip_hlen + 20;
  if (opt) {
    o[0] = o[1] = 1; /* NOP NOP, then TS */
    o[2] = 8;
    o[3] = 10;
    uint32_t v = htonl(s->tsval);
    memcpy(o + 4, &v, 4);
  }
  for (uint32_t j = 0; j < s->payload; j++)
    o[opt + j] = payload_byte(s->seq + j);
  t->checksum = mf_csum_finish(mf_csum_add(pseudo, t, tcp_len));
  if (s->bad_csum)
    t->checksum ^= 0x0101;
  return len;
}

typedef struct {
  mf_buffer_pool_t pool;
} fx_t;

static int setup(void **state)
{
  fx_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  assert_int_equal(mf_buffer_pool_init_large(&f->pool, 1024, 64), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fx_t *f = *state;
  /* Every test gives back what it took. */
  assert_int_equal(f->pool.n_free, f->pool.n_total);
  assert_int_equal(f->pool.n_large_free, f->pool.n_large);
  mf_buffer_pool_free(&f->pool);
  free(f);
  return 0;
}

/* Puts the segments into fresh buffers, all to ARC. */
static uint32_t load(fx_t *f, const seg_spec_t *specs, uint32_t n, uint32_t *bi,
                     uint16_t *nexts)
{
  assert_int_equal(mf_buffer_alloc(&f->pool, bi, n), n);
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&f->pool, bi[i]);
    b->current_length = build(mf_buffer_data(b), &specs[i]);
    nexts[i] = ARC;
  }
  return n;
}

static seg_spec_t data_seg(uint8_t flow, uint32_t seq, uint32_t len)
{
  return (seg_spec_t){.flow = flow, .seq = seq, .ack = 777, .window = 512,
                      .ip_id = (uint16_t)(seq / 1000), .flags = MF_TCP_ACK,
                      .payload = len, .tsval = 99};
}

static void test_one_flow_merges(void **state)
{
  fx_t *f = *state;
  seg_spec_t s[10];
  for (uint32_t i = 0; i < 10; i++)
    s[i] = data_seg(0, 1000 + i * 1000, 1000);
  s[9].flags |= MF_TCP_PSH;
  uint32_t bi[10];
  uint16_t nexts[10];
  load(f, s, 10, bi, nexts);
  mf_wg_gro_stats_t st;
  uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, 10, ARC, &st);
  assert_int_equal(n, 1);
  assert_int_equal(st.supers, 1);
  assert_int_equal(st.merged, 9);
  assert_int_equal(nexts[0], ARC);
  mf_buffer_t *b = mf_buffer_get(&f->pool, bi[0]);
  assert_true(mf_buffer_is_large(&f->pool, bi[0]));
  uint8_t *p = mf_buffer_data(b);
  uint32_t hl = 20 + 32;
  assert_int_equal(b->current_length, hl + 10000);
  assert_int_equal(ntohs(((mf_ip4_header_t *)p)->total_length), hl + 10000);
  assert_true(mf_ip4_header_csum_ok(p, 20));
  assert_true(b->flags & MF_BUFFER_F_GSO);
  assert_true(b->flags & MF_BUFFER_F_CSUM_PARTIAL);
  assert_int_equal(b->gso_type, MF_BUFFER_GSO_TCP4);
  assert_int_equal(b->gso_size, 1000);
  assert_int_equal(b->csum_start, 20);
  assert_int_equal(b->csum_offset, 16);
  mf_tcp_header_t *t = (mf_tcp_header_t *)(p + 20);
  assert_int_equal(ntohl(t->seq), 1000);
  assert_true(t->flags & MF_TCP_PSH); /* the last one's push */
  /* The partial checksum: the pseudo-header sum over the whole length. */
  uint32_t src, dst;
  memcpy(&src, p + 12, 4);
  memcpy(&dst, p + 16, 4);
  assert_int_equal(ntohs(t->checksum),
                   mf_csum_fold(mf_csum_pseudo4(src, dst, MF_IP_PROTO_TCP, 32 + 10000)));
  for (uint32_t j = 0; j < 10000; j++)
    if (p[hl + j] != payload_byte(1000 + j))
      fail_msg("payload byte %u", j);
  mf_buffer_free(&f->pool, bi, n);
}

static void test_what_ends_a_super_packet(void **state)
{
  fx_t *f = *state;
  enum { N = 16 };
  seg_spec_t s[N];
  uint32_t seq = 0, k = 0;
  s[k++] = data_seg(0, seq, 1000), seq += 1000; /* A: 0,1 */
  s[k++] = data_seg(0, seq, 1000), seq += 1000;
  s[k++] = data_seg(0, seq + 1, 1000), seq += 1001; /* gap: B: 2,3 */
  s[k++] = data_seg(0, seq, 1000), seq += 1000;
  s[k] = data_seg(0, seq, 1000), s[k++].ack = 778, seq += 1000; /* new ACK: C: 4, 5 (short) */
  s[k] = data_seg(0, seq, 400), s[k++].ack = 778, seq += 400;
  s[k] = data_seg(0, seq, 1000), s[k++].ack = 778, seq += 1000; /* D: 6 */
  s[k] = data_seg(0, seq, 1000), s[k].ack = 778, s[k++].bad_csum = 1; /* E: 7 alone */
  seq += 1000;
  s[k] = data_seg(0, seq, 1000), s[k++].ack = 778, seq += 1000; /* 8: gap after E's */
  s[k] = data_seg(0, seq, 0), s[k++].ack = 778;                 /* 9: pure ACK: no merge */
  s[k] = data_seg(0, seq, 1000), s[k++].ack = 778, seq += 1000; /* F: 10 */
  s[k] = data_seg(0, seq, 1000), s[k].ack = 778, s[k++].tsval = 100; /* G: 11, other option bytes */
  seq += 1000;
  s[k] = data_seg(0, seq, 1000), s[k].ack = 778, s[k++].tsval = 100, seq += 1000; /* G: 12 */
  s[k] = data_seg(0, seq, 1000), s[k].ack = 778, s[k].tsval = 100;             /* G: 13, longer? */
  s[k++].payload = 1200, seq += 1200;
  s[k] = data_seg(0, seq, 1000), s[k].ack = 778, s[k].tsval = 100, s[k++].flags |= MF_TCP_FIN;
  seq += 1000;
  s[k] = data_seg(1, 0, 1000), k++; /* another flow, alone */
  assert_int_equal(k, N);
  uint32_t bi[N], orig[N];
  uint16_t nexts[N];
  load(f, s, N, bi, nexts);
  memcpy(orig, bi, sizeof(bi));
  nexts[15] = OTHER_ARC; /* not for the TUN: never touched */
  mf_wg_gro_stats_t st;
  uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, N, ARC, &st);
  /* Kept: A(0) B(2) C(4) D(6) E(7) 8 9 F(10) G(11) 13 14 15. */
  const uint32_t segs[] = {2, 2, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1};
  assert_int_equal(n, 12);
  assert_int_equal(st.supers, 4);
  assert_int_equal(st.merged, 4);
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&f->pool, bi[i]);
    if (segs[i] == 1) {
      assert_false(b->flags & MF_BUFFER_F_GSO);
      /* D moved to a large buffer before E's checksum showed it bad. */
      assert_true(mf_buffer_is_large(&f->pool, bi[i]) == (i == 3));
    } else {
      assert_true(b->flags & MF_BUFFER_F_GSO);
    }
  }
  assert_int_equal(bi[11], orig[15]);
  assert_int_equal(nexts[11], OTHER_ARC);
  assert_int_equal(bi[4], orig[7]); /* the bad one passes as it came */
  /* C's second segment was short: C's gso_size is its first one's. */
  assert_int_equal(mf_buffer_get(&f->pool, bi[2])->gso_size, 1000);
  assert_int_equal(mf_buffer_get(&f->pool, bi[2])->current_length, 52 + 1400);
  mf_buffer_free(&f->pool, bi, n);
}

static void test_interleaved_flows_and_ipv6(void **state)
{
  fx_t *f = *state;
  enum { N = 40 };
  seg_spec_t s[N];
  /* Four flows taking turns, two of them IPv6. */
  for (uint32_t i = 0; i < N; i++) {
    s[i] = data_seg((uint8_t)(i % 4), (i / 4) * 1300, 1300);
    s[i].v6 = (i % 4) >= 2;
  }
  uint32_t bi[N], orig[N];
  uint16_t nexts[N];
  load(f, s, N, bi, nexts);
  memcpy(orig, bi, sizeof(bi));
  mf_wg_gro_stats_t st;
  uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, N, ARC, &st);
  assert_int_equal(n, 4);
  assert_int_equal(st.supers, 4);
  for (uint32_t k = 0; k < 4; k++) {
    mf_buffer_t *b = mf_buffer_get(&f->pool, bi[k]);
    uint32_t hl = (k >= 2 ? 40 : 20) + 32;
    assert_int_equal(b->current_length, hl + 10 * 1300);
    assert_int_equal(b->gso_type, k >= 2 ? MF_BUFFER_GSO_TCP6 : MF_BUFFER_GSO_TCP4);
    uint8_t *p = mf_buffer_data(b);
    if (k >= 2)
      assert_int_equal(ntohs(((mf_ip6_header_t *)p)->payload_length), 32 + 10 * 1300);
  }
  mf_buffer_free(&f->pool, bi, n);
}

static void test_size_limit_and_no_large(void **state)
{
  fx_t *f = *state;
  enum { N = 70 };
  seg_spec_t s[N];
  for (uint32_t i = 0; i < N; i++)
    s[i] = data_seg(0, i * 1400, 1400);
  uint32_t bi[N];
  uint16_t nexts[N];
  load(f, s, N, bi, nexts);
  mf_wg_gro_stats_t st;
  uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, N, ARC, &st);
  /* (65535 - 52) / 1400 = 46 segments fit in the first. */
  assert_int_equal(n, 2);
  assert_int_equal(mf_buffer_get(&f->pool, bi[0])->current_length, 52 + 46 * 1400);
  assert_int_equal(mf_buffer_get(&f->pool, bi[1])->current_length, 52 + 24 * 1400);
  mf_buffer_free(&f->pool, bi, n);
  /* Without large buffers in the pool nothing changes. */
  mf_buffer_pool_t plain;
  assert_int_equal(mf_buffer_pool_init(&plain, 64), 0);
  assert_int_equal(mf_buffer_alloc(&plain, bi, 4), 4);
  for (uint32_t i = 0; i < 4; i++) {
    mf_buffer_t *b = mf_buffer_get(&plain, bi[i]);
    b->current_length = build(mf_buffer_data(b), &s[i]);
    nexts[i] = ARC;
  }
  assert_int_equal(mf_wg_gro_coalesce(&plain, bi, nexts, 4, ARC, &st), 4);
  assert_int_equal(st.merged, 0);
  mf_buffer_free(&plain, bi, 4);
  mf_buffer_pool_free(&plain);
  /* A quarter of the large buffers stays free: with 2 of 8 left, none is
   * taken; with 3, one. */
  mf_buffer_pool_t few;
  uint32_t held[6];
  assert_int_equal(mf_buffer_pool_init_large(&few, 64, 8), 0);
  for (uint32_t i = 0; i < 6; i++)
    held[i] = mf_buffer_alloc_large(&few);
  for (int pass = 0; pass < 2; pass++) {
    assert_int_equal(mf_buffer_alloc(&few, bi, 4), 4);
    for (uint32_t i = 0; i < 4; i++) {
      mf_buffer_t *b = mf_buffer_get(&few, bi[i]);
      b->current_length = build(mf_buffer_data(b), &s[i]);
      nexts[i] = ARC;
    }
    n = mf_wg_gro_coalesce(&few, bi, nexts, 4, ARC, &st);
    assert_int_equal(n, pass == 0 ? 4 : 1);
    assert_int_equal(st.no_large, pass == 0 ? 3 : 0);
    mf_buffer_free(&few, bi, n);
    if (pass == 0)
      mf_buffer_free(&few, &held[5], 1); /* 3 free for the second pass */
  }
  mf_buffer_free(&few, held, 5);
  assert_int_equal(few.n_large_free, few.n_large);
  mf_buffer_pool_free(&few);
}

static void test_ipv4_ids_without_df(void **state)
{
  fx_t *f = *state;
  enum { N = 6 };
  seg_spec_t s[N];
  /* IDs 10, 11, 12 merge; 20 does not follow; 21 follows 20. With DF
   * (the last two) any ID goes. */
  const uint16_t ids[N] = {10, 11, 12, 20, 21, 99};
  for (uint32_t i = 0; i < N; i++) {
    s[i] = data_seg(0, i * 1000, 1000);
    s[i].ip_id = ids[i];
    s[i].no_df = i < 5;
  }
  uint32_t bi[N];
  uint16_t nexts[N];
  load(f, s, N, bi, nexts);
  mf_wg_gro_stats_t st;
  uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, N, ARC, &st);
  assert_int_equal(n, 3); /* 10-12 | 20-21 | 99 (DF differs from 21) */
  assert_int_equal(mf_buffer_get(&f->pool, bi[0])->current_length, 52 + 3000);
  assert_int_equal(mf_buffer_get(&f->pool, bi[1])->current_length, 52 + 2000);
  mf_buffer_free(&f->pool, bi, n);
}

/* The merge's one-pass copy and checksum against the checksum module,
 * for every length up to 300 and every alignment, with sums that carry. */
static void test_copy_sum(void **state)
{
  static uint8_t src[400], dst[400];
  srand(7);
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < sizeof(src); i++)
      src[i] = round == 0 ? 0xff : (uint8_t)rand();
    for (size_t off = 0; off < 8; off++)
      for (size_t len = 0; len <= 300; len++) {
        memset(dst, 0, sizeof(dst));
        uint64_t got = mf_wg_gro_copy_sum(dst + off, src + off, len);
        uint64_t want = mf_csum_add(0, src + off, len);
        assert_int_equal(mf_csum_fold(got), mf_csum_fold(want));
        assert_memory_equal(dst + off, src + off, len);
        assert_int_equal(dst[off + len], 0);
      }
  }
}

/* Random vectors: flows interleaved, gaps, short and pushed segments, a
 * few bad checksums and pure ACKs. Each output packet, cut again at its
 * gso_size, must yield exactly the input segments it took, in order. */
static void test_against_tso(void **state)
{
  fx_t *f = *state;
  enum { N = 200, FLOWS = 5 };
  srand(4);
  static uint8_t want[N][1600];
  static uint32_t want_len[N];
  static uint8_t seg[70000];
  uint32_t total_merged = 0, total_supers = 0;
  for (int round = 0; round < 30; round++) {
    seg_spec_t s[N];
    uint32_t seq[FLOWS] = {0}, id[FLOWS] = {0};
    for (uint32_t i = 0; i < N; i++) {
      uint8_t fl = (uint8_t)(rand() % FLOWS);
      uint32_t len = rand() % 8 ? 1300 : (uint32_t)(rand() % 1300);
      s[i] = data_seg(fl, seq[fl], len);
      s[i].v6 = fl >= 3;
      s[i].ip_id = (uint16_t)id[fl]++;
      s[i].no_df = fl == 1;
      if (rand() % 20 == 0)
        s[i].flags |= MF_TCP_PSH;
      if (rand() % 50 == 0)
        s[i].bad_csum = 1;
      seq[fl] += len + (rand() % 40 == 0 ? 7 : 0);
    }
    uint32_t bi[N];
    uint16_t nexts[N];
    load(f, s, N, bi, nexts);
    for (uint32_t i = 0; i < N; i++) {
      mf_buffer_t *b = mf_buffer_get(&f->pool, bi[i]);
      want_len[i] = b->current_length;
      memcpy(want[i], mf_buffer_data(b), b->current_length);
    }
    mf_wg_gro_stats_t st;
    uint32_t n = mf_wg_gro_coalesce(&f->pool, bi, nexts, N, ARC, &st);
    assert_int_equal(n + st.merged, N);
    total_merged += st.merged;
    total_supers += st.supers;
    /* Walk the output; each flow's segments come back in input order. */
    uint32_t next_in[FLOWS] = {0};
    for (uint32_t k = 0; k < n; k++) {
      mf_buffer_t *b = mf_buffer_get(&f->pool, bi[k]);
      const uint8_t *p = mf_buffer_data(b);
      uint32_t segs = 1;
      mf_gso_plan_t plan;
      if (b->flags & MF_BUFFER_F_GSO) {
        assert_int_equal(mf_gso_plan(&plan, p, b->current_length, b->gso_size), MF_GSO_OK);
        segs = plan.n_segments;
      }
      for (uint32_t c = 0; c < segs; c++) {
        const uint8_t *got = p;
        uint32_t got_len = b->current_length;
        if (b->flags & MF_BUFFER_F_GSO) {
          got_len = mf_gso_segment_len(&plan, c);
          mf_gso_write_segment(&plan, c, seg);
          got = seg;
        }
        /* Which flow: find the input this must be, the flow's next. */
        int fl = -1;
        for (int q = 0; q < FLOWS; q++) {
          uint32_t i = next_in[q];
          while (i < N && s[i].flow != q)
            i++;
          next_in[q] = i;
          if (i < N && want_len[i] == got_len && memcmp(want[i], got, got_len) == 0) {
            fl = q;
            break;
          }
        }
        if (fl < 0)
          fail_msg("round %d: output %u segment %u matches no flow's next input", round, k, c);
        next_in[fl]++;
      }
    }
    mf_buffer_free(&f->pool, bi, n);
  }
  /* The draw makes long runs: most segments merged, many super-packets. */
  assert_true(total_merged > 30 * N / 2);
  assert_true(total_supers > 30 * 10);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_one_flow_merges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_what_ends_a_super_packet, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interleaved_flows_and_ipv6, setup, teardown),
      cmocka_unit_test_setup_teardown(test_size_limit_and_no_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ipv4_ids_without_df, setup, teardown),
      cmocka_unit_test_setup_teardown(test_against_tso, setup, teardown),
      cmocka_unit_test(test_copy_sum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
