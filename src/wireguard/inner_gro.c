#include "wireguard/inner_gro.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ip/checksum.h"
#include "ip/headers.h"

/* CWR is not in headers.h's flag list (the host stack sends none). */
#define TCP_CWR 0x80
/* Flags that end coalescing as Linux's GRO does: anything but ACK, PSH
 * and ECE. */
#define TCP_NO_MERGE (MF_TCP_FIN | MF_TCP_SYN | MF_TCP_RST | MF_TCP_URG | TCP_CWR)

/* A segment's layout, read once. */
typedef struct {
  uint32_t ip_hlen, tcp_hlen, payload;
  uint32_t seq;
  uint8_t flags;
  uint8_t key[36]; /* addresses and ports: the flow */
  uint8_t key_len;
} seg_t;

/* A super-packet being built: where it sits in the vector and what its
 * next segment must say. */
typedef struct {
  uint32_t pos; /* index in bi[] */
  uint32_t next_seq;
  uint32_t mss; /* the first segment's payload */
  uint32_t n_segs;
  bool open;
  uint8_t key[36];
  uint8_t key_len;
} flow_t;

enum { SEG_OTHER, SEG_TCP, SEG_MERGEABLE };

/* Reads packet p: SEG_OTHER when it is no TCP we can name the flow of;
 * SEG_TCP with s->key set for a TCP segment that may not merge (it ends
 * its flow's super-packet, so that nothing of the flow overtakes it);
 * SEG_MERGEABLE with all of s for IPv4 without options or fragments, or
 * IPv6 with TCP next, carrying data with no flag but ACK, PSH, ECE. */
static int parse(const uint8_t *p, uint32_t len, seg_t *s)
{
  bool plain;
  if (len >= 20 && (p[0] >> 4) == 4) {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)p;
    uint16_t frag = ntohs(ip->frag);
    s->ip_hlen = (uint32_t)(p[0] & 0x0f) * 4u;
    if (ip->protocol != MF_IP_PROTO_TCP || s->ip_hlen < 20 || (frag & MF_IP4_FRAG_OFFSET))
      return SEG_OTHER;
    plain = s->ip_hlen == 20 && !(frag & MF_IP4_FRAG_MF) && ntohs(ip->total_length) == len;
    memcpy(s->key, p + 12, 8);
    s->key_len = 12;
  } else if (len >= 40 && (p[0] >> 4) == 6) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)p;
    if (ip->next_header != MF_IP_PROTO_TCP)
      return SEG_OTHER;
    s->ip_hlen = 40;
    plain = ntohs(ip->payload_length) + 40u == len;
    memcpy(s->key, p + 8, 32);
    s->key_len = 36;
  } else
    return SEG_OTHER;
  if (len < s->ip_hlen + sizeof(mf_tcp_header_t))
    return SEG_OTHER;
  const mf_tcp_header_t *t = (const mf_tcp_header_t *)(p + s->ip_hlen);
  memcpy(s->key + s->key_len - 4, t, 4);
  s->tcp_hlen = (uint32_t)(t->data_offset >> 4) * 4u;
  if (!plain || s->tcp_hlen < sizeof(*t) || s->ip_hlen + s->tcp_hlen >= len ||
      !(t->flags & MF_TCP_ACK) || (t->flags & TCP_NO_MERGE))
    return SEG_TCP;
  s->payload = len - s->ip_hlen - s->tcp_hlen;
  s->seq = ntohl(t->seq);
  s->flags = t->flags;
  return SEG_MERGEABLE;
}

/* The headers of segment p may follow those of super-packet a (its first
 * segment's, still untouched): everything but lengths, IPv4 ID and
 * checksum, sequence number, PSH and TCP checksum is equal. */
static bool headers_match(const uint8_t *a, const uint8_t *p, const seg_t *s)
{
  if (s->ip_hlen == 20) {
    /* TOS; DF (fragments are excluded); TTL and protocol. */
    if (a[1] != p[1] || a[6] != p[6] || a[7] != p[7] || a[8] != p[8])
      return false;
  } else if (memcmp(a, p, 4) != 0 || a[7] != p[7]) {
    return false; /* class, flow label; hop limit */
  }
  const uint8_t *ta = a + s->ip_hlen, *tp = p + s->ip_hlen;
  /* ACK number, header length, flags but PSH, window; then the options,
   * which Linux compares byte for byte (timestamps included). */
  return memcmp(ta + 8, tp + 8, 4) == 0 && ta[12] == tp[12] &&
         (ta[13] & ~MF_TCP_PSH) == (tp[13] & ~MF_TCP_PSH) &&
         memcmp(ta + 14, tp + 14, 2) == 0 &&
         memcmp(ta + 20, tp + 20, s->tcp_hlen - 20) == 0;
}

/* An IPv4 packet that may be fragmented on its way keeps the ID it came
 * with only if the IDs count up (a re-segmenting kernel numbers from the
 * first): Linux's rule. Atomic ones (DF) may carry any (RFC 6864 4.1). */
static bool id_follows(const uint8_t *a, const uint8_t *p, const seg_t *s,
                       uint32_t n_segs)
{
  if (s->ip_hlen != 20 || (p[6] & 0x40))
    return true;
  uint16_t first = (uint16_t)(a[4] << 8 | a[5]), id = (uint16_t)(p[4] << 8 | p[5]);
  return id == (uint16_t)(first + n_segs);
}

static uint64_t pseudo_sum(const uint8_t *p, uint32_t ip_hlen, uint32_t tcp_len)
{
  if (ip_hlen == 20) {
    uint32_t src, dst;
    memcpy(&src, p + 12, 4);
    memcpy(&dst, p + 16, 4);
    return mf_csum_pseudo4(src, dst, MF_IP_PROTO_TCP, tcp_len);
  }
  return mf_csum_pseudo6(p + 8, p + 24, MF_IP_PROTO_TCP, tcp_len);
}

/* Copies len bytes from src to dst and returns their Internet checksum
 * sum as mf_csum_add(0, src, len) would: one pass for both, eight bytes
 * at a time with the carries counted (2^64 = 1 modulo 2^16 - 1). */
uint64_t mf_wg_gro_copy_sum(uint8_t *dst, const uint8_t *src, size_t len)
{
  uint64_t s = 0, carries = 0, w;
  for (; len >= 8; src += 8, dst += 8, len -= 8) {
    memcpy(&w, src, 8);
    memcpy(dst, &w, 8);
    s += w;
    carries += s < w;
  }
  /* The tail zero-padded: an odd last byte is the high byte of its
   * 16-bit word, as RFC 1071 pads. */
  w = 0;
  memcpy(&w, src, len);
  memcpy(dst, src, len);
  s += w;
  carries += s < w;
  uint64_t folded = (s & 0xffffffffu) + (s >> 32) + carries;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return __builtin_bswap16(mf_csum_fold(folded));
#else
  return mf_csum_fold(folded);
#endif
}

/* The IPv4 header and TCP checksums of segment p are right, given the
 * sum of its payload. */
static bool segment_ok(const uint8_t *p, uint32_t ip_hlen, uint32_t tcp_hlen,
                       uint32_t payload, uint64_t payload_sum)
{
  if (ip_hlen == 20 && !mf_ip4_header_csum_ok(p, 20))
    return false;
  uint64_t sum = pseudo_sum(p, ip_hlen, tcp_hlen + payload);
  sum = mf_csum_add(sum, p + ip_hlen, tcp_hlen) + payload_sum;
  return mf_csum_fold(sum) == 0xffff;
}

/* Moves the super-packet's first segment into a large buffer, checking
 * its checksums on the way: 1, or 0 when no large buffer is free, or -1
 * when the segment is bad (it stays where it was). */
static int to_large(mf_buffer_pool_t *pool, uint32_t *bi, flow_t *f,
                    const seg_t *s)
{
  /* A quarter of the large buffers stays for the TUN's reads and the
   * host stack, which need them to make progress at all; merging is only
   * a saving. */
  if (pool->n_large_free <= pool->n_large / 4)
    return 0;
  uint32_t li = mf_buffer_alloc_large(pool);
  if (li == MF_BUFFER_INVALID)
    return 0;
  mf_buffer_t *b = mf_buffer_get(pool, bi[f->pos]), *l = mf_buffer_get(pool, li);
  const uint8_t *src = mf_buffer_data(b);
  uint8_t *dst = mf_buffer_data(l);
  uint32_t hl = s->ip_hlen + s->tcp_hlen, payload = b->current_length - hl;
  memcpy(dst, src, hl);
  uint64_t sum = mf_wg_gro_copy_sum(dst + hl, src + hl, payload);
  if (!segment_ok(src, s->ip_hlen, s->tcp_hlen, payload, sum)) {
    mf_buffer_free(pool, &li, 1);
    return -1;
  }
  l->current_length = b->current_length;
  l->flags = b->flags & ~(uint32_t)MF_BUFFER_F_OFFLOAD;
  l->rx_if = b->rx_if;
  l->tx_if = b->tx_if;
  l->trace_id = b->trace_id;
  mf_buffer_free(pool, &bi[f->pos], 1);
  bi[f->pos] = li;
  return 1;
}

static void finish(mf_buffer_pool_t *pool, const uint32_t *bi, flow_t *f,
                   mf_wg_gro_stats_t *st);

/* Appends segment i to f's super-packet when the rule allows. Its payload
 * is copied past the super-packet's end and summed in the same pass; only
 * a right checksum makes it part of the packet. */
static bool try_merge(mf_buffer_pool_t *pool, uint32_t *bi, flow_t *f,
                      uint32_t i, const seg_t *s, mf_wg_gro_stats_t *st)
{
  mf_buffer_t *sb = mf_buffer_get(pool, bi[f->pos]);
  mf_buffer_t *b = mf_buffer_get(pool, bi[i]);
  const uint8_t *a = mf_buffer_data(sb), *p = mf_buffer_data(b);
  uint32_t a_hlen = (uint32_t)(a[s->ip_hlen + 12] >> 4) * 4u;
  if (s->seq != f->next_seq || s->payload > f->mss || a_hlen != s->tcp_hlen ||
      !id_follows(a, p, s, f->n_segs) ||
      sb->current_length + s->payload > MF_WG_GRO_MAX_BYTES || !headers_match(a, p, s))
    return false;
  if (f->n_segs == 1) {
    int r = to_large(pool, bi, f, s);
    st->no_large += r == 0;
    if (r <= 0)
      return false;
    sb = mf_buffer_get(pool, bi[f->pos]);
  }
  uint8_t *dst = mf_buffer_data(sb);
  uint32_t hl = s->ip_hlen + s->tcp_hlen;
  uint64_t sum = mf_wg_gro_copy_sum(dst + sb->current_length, p + hl, s->payload);
  if (!segment_ok(p, s->ip_hlen, s->tcp_hlen, s->payload, sum))
    return false;
  sb->current_length += s->payload;
  if (s->flags & MF_TCP_PSH)
    dst[s->ip_hlen + 13] |= MF_TCP_PSH;
  f->next_seq += s->payload;
  f->n_segs++;
  st->merged++;
  /* A short segment or a push is the last (Linux flushes on both). */
  if (s->payload < f->mss || (s->flags & MF_TCP_PSH))
    finish(pool, bi, f, st);
  mf_buffer_free(pool, &bi[i], 1);
  bi[i] = MF_BUFFER_INVALID;
  return true;
}

/* Gives a finished super-packet its lengths and marks it for the TUN. */
static void finish(mf_buffer_pool_t *pool, const uint32_t *bi, flow_t *f,
                   mf_wg_gro_stats_t *st)
{
  f->open = false;
  if (f->n_segs < 2)
    return;
  mf_buffer_t *b = mf_buffer_get(pool, bi[f->pos]);
  uint8_t *p = mf_buffer_data(b);
  uint32_t len = b->current_length;
  uint32_t ip_hlen = p[0] == 0x45 ? 20 : 40;
  if (ip_hlen == 20) {
    mf_ip4_header_t *ip = (mf_ip4_header_t *)p;
    ip->total_length = htons((uint16_t)len);
    ip->checksum = 0;
    ip->checksum = mf_csum_finish(mf_csum_add(0, p, 20));
  } else {
    ((mf_ip6_header_t *)p)->payload_length = htons((uint16_t)(len - 40));
  }
  /* The kernel's convention for a partial checksum (as our TSO sender's):
   * the pseudo-header sum over the whole super-packet's TCP length. */
  mf_tcp_header_t *t = (mf_tcp_header_t *)(p + ip_hlen);
  t->checksum = htons(mf_csum_fold(pseudo_sum(p, ip_hlen, len - ip_hlen)));
  b->flags |= MF_BUFFER_F_GSO | MF_BUFFER_F_CSUM_PARTIAL;
  b->gso_type = ip_hlen == 20 ? MF_BUFFER_GSO_TCP4 : MF_BUFFER_GSO_TCP6;
  b->gso_size = (uint16_t)f->mss;
  b->csum_start = (uint16_t)ip_hlen;
  b->csum_offset = (uint16_t)offsetof(mf_tcp_header_t, checksum);
  b->l4_offset = (uint16_t)ip_hlen;
  st->supers++;
}

static flow_t *find(flow_t *fl, uint32_t n_fl, const seg_t *s)
{
  for (uint32_t k = 0; k < n_fl; k++)
    if (fl[k].open && fl[k].key_len == s->key_len &&
        memcmp(fl[k].key, s->key, s->key_len) == 0)
      return &fl[k];
  return NULL;
}

static flow_t *find_closed(flow_t *fl, uint32_t n_fl)
{
  for (uint32_t k = 0; k < n_fl; k++)
    if (!fl[k].open)
      return &fl[k];
  return NULL;
}

uint32_t mf_wg_gro_coalesce(mf_buffer_pool_t *pool, uint32_t *bi,
                            uint16_t *nexts, uint32_t n, uint16_t arc,
                            mf_wg_gro_stats_t *st)
{
  *st = (mf_wg_gro_stats_t){0};
  if (pool->n_large == 0 || n < 2)
    return n;
  flow_t fl[MF_WG_GRO_FLOWS];
  uint32_t n_fl = 0, evict = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (nexts[i] != arc)
      continue;
    mf_buffer_t *b = mf_buffer_get(pool, bi[i]);
    seg_t s;
    int kind = parse(mf_buffer_data(b), b->current_length, &s);
    if (kind == SEG_OTHER)
      continue;
    flow_t *f = find(fl, n_fl, &s);
    if (kind == SEG_TCP) {
      if (f)
        finish(pool, bi, f, st);
      continue;
    }
    if (f && try_merge(pool, bi, f, i, &s, st))
      continue;
    /* This segment starts the flow's next super-packet; the one before
     * (if any) is done, and keeps its place ahead of it. */
    if (f)
      finish(pool, bi, f, st);
    else if (n_fl < MF_WG_GRO_FLOWS)
      f = &fl[n_fl++];
    else if (!(f = find_closed(fl, n_fl))) {
      /* More flows than slots: the oldest slot's turn to give way. */
      f = &fl[evict];
      evict = (evict + 1) % MF_WG_GRO_FLOWS;
      finish(pool, bi, f, st);
    }
    *f = (flow_t){.pos = i, .next_seq = s.seq + s.payload, .mss = s.payload,
                  .n_segs = 1, .open = !(s.flags & MF_TCP_PSH),
                  .key_len = s.key_len};
    memcpy(f->key, s.key, s.key_len);
  }
  for (uint32_t k = 0; k < n_fl; k++)
    if (fl[k].open)
      finish(pool, bi, &fl[k], st);
  if (st->merged == 0)
    return n;
  uint32_t j = 0;
  for (uint32_t i = 0; i < n; i++)
    if (bi[i] != MF_BUFFER_INVALID) {
      bi[j] = bi[i];
      nexts[j++] = nexts[i];
    }
  return j;
}
