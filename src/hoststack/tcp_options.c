/* TCP header and options on the wire (RFC 9293 3.1-3.2; MSS 3.7.1,
 * window scale RFC 7323 2, timestamps RFC 7323 3, SACK RFC 2018). The
 * parser trusts no length: every option's length is checked against what
 * is left, and known kinds must have their one right length. */
#include <string.h>

#include "hoststack/tcp_internal.h"

enum {
  OPT_EOL = 0,
  OPT_NOP = 1,
  OPT_MSS = 2,
  OPT_WSCALE = 3,
  OPT_SACK_PERM = 4,
  OPT_SACK = 5,
  OPT_TS = 8,
};

int mf_tcp_header_parse(const uint8_t *tcp, uint32_t len, mf_tcp_seg_t *s)
{
  if (len < MF_TCP_HDR_LEN)
    return -1;
  uint32_t hl = (uint32_t)(tcp[12] >> 4) * 4;
  if (hl < MF_TCP_HDR_LEN || hl > len)
    return -1;
  s->seq = mf_tcp_get32(tcp + 4);
  s->ack = mf_tcp_get32(tcp + 8);
  s->flags = tcp[13] & 0x3f;
  s->wnd = mf_tcp_get16(tcp + 14);
  s->hdr_len = hl;
  s->data_len = len - hl;
  s->data = tcp + hl;
  return 0;
}

/* One option of kind k and length l at p (l bytes, l >= 2, all inside). */
static int parse_one(const uint8_t *p, uint8_t k, uint32_t l, mf_tcp_opts_t *o)
{
  switch (k) {
  case OPT_MSS:
    if (l != 4)
      return -1;
    o->has_mss = true;
    o->mss = mf_tcp_get16(p + 2);
    return 0;
  case OPT_WSCALE:
    if (l != 3)
      return -1;
    o->has_wscale = true;
    o->wscale = p[2];
    return 0;
  case OPT_SACK_PERM:
    if (l != 2)
      return -1;
    o->sack_perm = true;
    return 0;
  case OPT_TS:
    if (l != 10)
      return -1;
    o->has_ts = true;
    o->tsval = mf_tcp_get32(p + 2);
    o->tsecr = mf_tcp_get32(p + 6);
    return 0;
  case OPT_SACK:
    /* 40 bytes of options leave room for 4 blocks at most. */
    if (l < 10 || (l - 2) % 8 != 0 || (l - 2) / 8 > MF_TCP_MAX_SACK)
      return -1;
    o->n_sack = (uint8_t)((l - 2) / 8);
    for (uint32_t i = 0; i < o->n_sack; i++) {
      o->sack[i].start = mf_tcp_get32(p + 2 + 8 * i);
      o->sack[i].end = mf_tcp_get32(p + 6 + 8 * i);
    }
    return 0;
  default: /* unknown kinds are skipped (RFC 9293 3.2) */
    return 0;
  }
}

int mf_tcp_options_parse(const uint8_t *p, uint32_t len, mf_tcp_opts_t *o)
{
  memset(o, 0, sizeof(*o));
  uint32_t i = 0;
  /* Every pass consumes at least one byte: at most len passes. */
  while (i < len) {
    uint8_t k = p[i];
    if (k == OPT_EOL)
      break;
    if (k == OPT_NOP) {
      i++;
      continue;
    }
    if (len - i < 2)
      return -1;
    uint32_t l = p[i + 1];
    if (l < 2 || l > len - i)
      return -1;
    if (parse_one(p + i, k, l, o) < 0)
      return -1;
    i += l;
  }
  return 0;
}

/* SACK blocks that fit after used bytes of other options (each block 8
 * bytes, after NOP NOP kind length). */
static uint32_t sack_fit(const mf_tcp_opts_t *o, uint32_t used)
{
  if (o->n_sack == 0 || used + 4 + 8 > MF_TCP_MAX_OPT_LEN)
    return 0;
  uint32_t n = (MF_TCP_MAX_OPT_LEN - used - 4) / 8;
  return n < o->n_sack ? n : o->n_sack;
}

static uint32_t fixed_len(const mf_tcp_opts_t *o)
{
  uint32_t n = 0;
  if (o->has_mss)
    n += 4;
  if (o->has_ts)
    n += 12; /* SACK-permitted shares the two pad bytes, or NOP NOP */
  else if (o->sack_perm)
    n += 4;
  if (o->has_wscale)
    n += 4;
  return n;
}

uint32_t mf_tcp_options_len(const mf_tcp_opts_t *o)
{
  uint32_t n = fixed_len(o);
  uint32_t s = sack_fit(o, n);
  return s ? n + 4 + 8 * s : n;
}

uint32_t mf_tcp_options_write(uint8_t *p, const mf_tcp_opts_t *o)
{
  uint8_t *q = p;
  if (o->has_mss) {
    q[0] = OPT_MSS;
    q[1] = 4;
    mf_tcp_put16(q + 2, o->mss);
    q += 4;
  }
  if (o->has_ts) {
    if (o->sack_perm) {
      q[0] = OPT_SACK_PERM;
      q[1] = 2;
    } else {
      q[0] = q[1] = OPT_NOP;
    }
    q[2] = OPT_TS;
    q[3] = 10;
    mf_tcp_put32(q + 4, o->tsval);
    mf_tcp_put32(q + 8, o->tsecr);
    q += 12;
  } else if (o->sack_perm) {
    q[0] = q[1] = OPT_NOP;
    q[2] = OPT_SACK_PERM;
    q[3] = 2;
    q += 4;
  }
  if (o->has_wscale) {
    q[0] = OPT_NOP;
    q[1] = OPT_WSCALE;
    q[2] = 3;
    q[3] = o->wscale;
    q += 4;
  }
  uint32_t s = sack_fit(o, (uint32_t)(q - p));
  if (s) {
    q[0] = q[1] = OPT_NOP;
    q[2] = OPT_SACK;
    q[3] = (uint8_t)(2 + 8 * s);
    for (uint32_t i = 0; i < s; i++) {
      mf_tcp_put32(q + 4 + 8 * i, o->sack[i].start);
      mf_tcp_put32(q + 8 + 8 * i, o->sack[i].end);
    }
    q += 4 + 8 * s;
  }
  return (uint32_t)(q - p);
}
