/* The virtio-net header of an offloading TUN: parsing into buffer fields
 * (and refusing what the kernel must not send us), building from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "io/vnet.h"

typedef struct {
  mf_buffer_pool_t pool;
  mf_buffer_t *b;
  uint32_t bi;
} rig_t;

static int setup(void **state)
{
  static rig_t r;
  assert_int_equal(mf_buffer_pool_init_large(&r.pool, 4, 2), 0);
  assert_int_equal(mf_buffer_alloc(&r.pool, &r.bi, 1), 1);
  r.b = mf_buffer_get(&r.pool, r.bi);
  r.b->current_length = 1500;
  *state = &r;
  return 0;
}

static int teardown(void **state)
{
  rig_t *r = *state;
  mf_buffer_free(&r->pool, &r->bi, 1);
  mf_buffer_pool_free(&r->pool);
  return 0;
}

static void test_vnet_plain(void **state)
{
  rig_t *r = *state;
  struct virtio_net_hdr h = {0};
  r->b->flags = MF_BUFFER_F_IS_IP6 | MF_BUFFER_F_GSO; /* stale state */
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_OK);
  assert_int_equal(r->b->flags, MF_BUFFER_F_IS_IP6);
  memset(&h, 0xff, sizeof(h));
  mf_vnet_build(r->b, &h);
  struct virtio_net_hdr zero = {0};
  assert_memory_equal(&h, &zero, sizeof(h));
  assert_int_equal(MF_VNET_HDR_LEN, 10);
}

static void test_vnet_partial(void **state)
{
  rig_t *r = *state;
  struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                             .csum_start = 20, .csum_offset = 16};
  r->b->flags = 0;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_OK);
  assert_true(r->b->flags & MF_BUFFER_F_CSUM_PARTIAL);
  assert_false(r->b->flags & MF_BUFFER_F_GSO);
  assert_int_equal(r->b->csum_start, 20);
  assert_int_equal(r->b->csum_offset, 16);
  struct virtio_net_hdr o;
  mf_vnet_build(r->b, &o);
  assert_memory_equal(&o, &h, sizeof(h));
  /* The field must lie inside the packet. */
  h.csum_start = 1499;
  h.csum_offset = 0;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_BAD_CSUM);
  h.csum_start = 1400;
  h.csum_offset = 99;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_BAD_CSUM);
  h.csum_offset = 98;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_OK);
  h.csum_start = 65535;
  h.csum_offset = 65535;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_BAD_CSUM);
}

static void test_vnet_gso(void **state)
{
  rig_t *r = *state;
  uint8_t *pkt = mf_buffer_data(r->b);
  memset(pkt, 0, 1500);
  pkt[0] = 0x45;
  pkt[20 + 12] = 8 << 4; /* a 32-byte TCP header (timestamps) */
  struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                             .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                             .hdr_len = 52, .gso_size = 1448,
                             .csum_start = 20, .csum_offset = 16};
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_OK);
  assert_true(r->b->flags & MF_BUFFER_F_GSO);
  assert_int_equal(r->b->gso_type, MF_BUFFER_GSO_TCP4);
  assert_int_equal(r->b->gso_size, 1448);
  struct virtio_net_hdr o;
  mf_vnet_build(r->b, &o);
  assert_memory_equal(&o, &h, sizeof(h));

  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
  h.csum_start = 40;
  pkt[40 + 12] = 5 << 4;
  assert_int_equal(mf_vnet_parse(&h, r->b), MF_VNET_OK);
  assert_int_equal(r->b->gso_type, MF_BUFFER_GSO_TCP6);
  mf_vnet_build(r->b, &o);
  assert_int_equal(o.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
  assert_int_equal(o.hdr_len, 60);

  /* What we never asked for, or cannot be: refused. */
  struct virtio_net_hdr bad = h;
  bad.gso_size = 0;
  assert_int_equal(mf_vnet_parse(&bad, r->b), MF_VNET_BAD_GSO);
  bad = h;
  bad.flags = 0;
  assert_int_equal(mf_vnet_parse(&bad, r->b), MF_VNET_BAD_GSO);
  bad = h;
  bad.gso_type = VIRTIO_NET_HDR_GSO_UDP;
  assert_int_equal(mf_vnet_parse(&bad, r->b), MF_VNET_BAD_GSO);
  bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
  assert_int_equal(mf_vnet_parse(&bad, r->b), MF_VNET_BAD_GSO);
}

/* Large buffers: their own index range and area, reset like the rest,
 * counted, and returned by the common free. */
static void test_large_buffers(void **state)
{
  (void)state;
  mf_buffer_pool_t pool;
  assert_int_equal(mf_buffer_pool_init_large(&pool, 8, 3), 0);
  uint32_t l[4];
  for (int i = 0; i < 3; i++) {
    l[i] = mf_buffer_alloc_large(&pool);
    assert_true(mf_buffer_is_large(&pool, l[i]));
    mf_buffer_t *b = mf_buffer_get(&pool, l[i]);
    assert_int_equal(mf_buffer_headroom(b), MF_BUFFER_HEADROOM);
    assert_true(mf_buffer_tailroom(b) >= MF_BUFFER_LARGE_DATA_SIZE);
    /* The whole area is ours to write. */
    memset(mf_buffer_data(b) - MF_BUFFER_HEADROOM, i, b->area_size);
    assert_int_equal((uintptr_t)mf_buffer_data(b) % 64, 0);
  }
  assert_int_equal(mf_buffer_alloc_large(&pool), MF_BUFFER_INVALID);
  assert_int_equal(pool.large_alloc_failures, 1);
  /* Ordinary buffers were not disturbed by the writes. */
  uint32_t s[8];
  assert_int_equal(mf_buffer_alloc(&pool, s, 8), 8);
  for (int i = 0; i < 8; i++) {
    assert_false(mf_buffer_is_large(&pool, s[i]));
    assert_int_equal(mf_buffer_tailroom(mf_buffer_get(&pool, s[i])),
                     MF_BUFFER_DATA_SIZE);
  }
  mf_buffer_free(&pool, s, 8);
  mf_buffer_free(&pool, l, 3);
  assert_int_equal(pool.n_free, 8);
  assert_int_equal(pool.n_large_free, 3);
  mf_buffer_pool_free(&pool);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_vnet_plain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vnet_partial, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vnet_gso, setup, teardown),
      cmocka_unit_test(test_large_buffers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
