/* Building DNS messages: RFC 1035 4.1 (format), 4.2 (transports), RFC 2308
 * (negative answers), RFC 6891 (OPT), RFC 2181 9 (truncation). */
#include "dns/dns_build.h"

#include <string.h>

/* A message under construction. Writes past cap set bad instead of
 * writing; the caller checks once at the end. */
typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t len;
  bool bad;
  uint16_t an, ns, ar;
  mf_dns_compress_t comp;
} builder_t;

static void builder_init(builder_t *b, uint8_t *out, size_t cap)
{
  b->buf = out;
  b->cap = cap;
  b->len = 0;
  b->bad = false;
  b->an = b->ns = b->ar = 0;
  mf_dns_compress_init(&b->comp);
}

static bool room(builder_t *b, size_t n)
{
  if (b->bad || n > b->cap - b->len) {
    b->bad = true;
    return false;
  }
  return true;
}

static void put16(builder_t *b, uint16_t v)
{
  if (room(b, 2)) {
    mf_dns_put16(&b->buf[b->len], v);
    b->len += 2;
  }
}

static void put32(builder_t *b, uint32_t v)
{
  if (room(b, 4)) {
    mf_dns_put32(&b->buf[b->len], v);
    b->len += 4;
  }
}

static void put_bytes(builder_t *b, const void *p, size_t n)
{
  if (room(b, n)) {
    memcpy(&b->buf[b->len], p, n);
    b->len += n;
  }
}

static void put_name(builder_t *b, const mf_dns_name_t *name)
{
  if (!b->bad && mf_dns_name_write(b->buf, b->cap, &b->len, name, &b->comp))
    b->bad = true;
}

static void put_header(builder_t *b, uint16_t id, uint16_t flags,
                       uint16_t qdcount)
{
  put16(b, id);
  put16(b, flags);
  put16(b, qdcount);
  put16(b, 0); /* ANCOUNT, NSCOUNT, ARCOUNT: set by finish() */
  put16(b, 0);
  put16(b, 0);
}

/* An OPT record without options (RFC 6891 6.1.2, 6.1.3): the class is
 * the UDP payload size, the TTL the extended rcode, version 0 and DO. */
static void put_opt(builder_t *b, uint16_t udp_size, uint16_t rcode,
                    bool dnssec_ok)
{
  uint8_t root = 0;
  put_bytes(b, &root, 1);
  put16(b, MF_DNS_TYPE_OPT);
  put16(b, udp_size);
  put32(b, (uint32_t)(rcode >> 4) << 24 | (dnssec_ok ? MF_DNS_EDNS_DO : 0));
  put16(b, 0);
  b->ar++;
}

static size_t finish(builder_t *b)
{
  if (b->bad || b->len < MF_DNS_HEADER_LEN)
    return 0;
  mf_dns_put16(&b->buf[6], b->an);
  mf_dns_put16(&b->buf[8], b->ns);
  mf_dns_put16(&b->buf[10], b->ar);
  return b->len;
}

/* Header and question of a response to q (see the header's rules). */
static bool response_start(builder_t *b, const mf_dns_msg_t *q, uint16_t rcode)
{
  if (q->qdcount != 1 || (rcode > 0xf && !q->edns) || rcode > 0xfff)
    return false;
  uint16_t copied = q->flags & (0x7800 | MF_DNS_FLAG_RD | MF_DNS_FLAG_CD);
  put_header(b, q->id,
             (uint16_t)(MF_DNS_FLAG_QR | copied | MF_DNS_FLAG_RA | (rcode & 0xf)),
             1);
  put_name(b, &q->qname);
  put16(b, q->qtype);
  put16(b, q->qclass);
  return !b->bad;
}

static size_t response_finish(builder_t *b, const mf_dns_msg_t *q,
                              uint16_t rcode)
{
  if (q->edns)
    put_opt(b, MF_DNS_EDNS_UDP_SIZE, rcode, q->edns_do);
  return finish(b);
}

size_t mf_dns_build_rcode(const mf_dns_msg_t *q, uint16_t rcode, uint8_t *out,
                          size_t cap)
{
  builder_t b;
  builder_init(&b, out, cap);
  if (!response_start(&b, q, rcode))
    return 0;
  return response_finish(&b, q, rcode);
}

/* A SOA of our own for a negative answer: owner the question's name,
 * MNAME and RNAME the root, MINIMUM and TTL neg_ttl (RFC 2308 3). The
 * timers other than MINIMUM matter only to secondaries; any sane values
 * do. */
static void put_soa(builder_t *b, const mf_dns_msg_t *q, uint32_t neg_ttl)
{
  put_name(b, &q->qname);
  put16(b, MF_DNS_TYPE_SOA);
  put16(b, q->qclass);
  put32(b, neg_ttl);
  put16(b, 2 + 20);
  static const uint8_t roots[2] = {0, 0};
  put_bytes(b, roots, sizeof(roots));
  put32(b, 1);       /* SERIAL */
  put32(b, 3600);    /* REFRESH */
  put32(b, 600);     /* RETRY */
  put32(b, 86400);   /* EXPIRE */
  put32(b, neg_ttl); /* MINIMUM */
  b->ns++;
}

static size_t build_negative(const mf_dns_msg_t *q, uint16_t rcode,
                             uint32_t neg_ttl, uint8_t *out, size_t cap)
{
  builder_t b;
  builder_init(&b, out, cap);
  if (!response_start(&b, q, rcode))
    return 0;
  if (neg_ttl > 0)
    put_soa(&b, q, neg_ttl);
  return response_finish(&b, q, rcode);
}

size_t mf_dns_build_nxdomain(const mf_dns_msg_t *q, uint32_t neg_ttl,
                             uint8_t *out, size_t cap)
{
  return build_negative(q, MF_DNS_RCODE_NXDOMAIN, neg_ttl, out, cap);
}

size_t mf_dns_build_nodata(const mf_dns_msg_t *q, uint32_t neg_ttl,
                           uint8_t *out, size_t cap)
{
  return build_negative(q, MF_DNS_RCODE_NOERROR, neg_ttl, out, cap);
}

static bool addr_fits(const mf_dns_msg_t *q, const mf_dns_addr_t *a)
{
  if (a->family == AF_INET)
    return q->qtype == MF_DNS_TYPE_A || q->qtype == MF_DNS_TYPE_ANY;
  if (a->family == AF_INET6)
    return q->qtype == MF_DNS_TYPE_AAAA || q->qtype == MF_DNS_TYPE_ANY;
  return false;
}

size_t mf_dns_build_addrs(const mf_dns_msg_t *q, const mf_dns_addr_t *addrs,
                          size_t n, uint32_t ttl, uint8_t *out, size_t cap)
{
  builder_t b;
  builder_init(&b, out, cap);
  if (!response_start(&b, q, MF_DNS_RCODE_NOERROR))
    return 0;
  for (size_t i = 0; i < n && !b.bad; i++) {
    if (!addr_fits(q, &addrs[i]))
      continue;
    if (b.an == UINT16_MAX)
      return 0;
    bool v4 = addrs[i].family == AF_INET;
    put_name(&b, &q->qname); /* a pointer to the question */
    put16(&b, v4 ? MF_DNS_TYPE_A : MF_DNS_TYPE_AAAA);
    put16(&b, MF_DNS_CLASS_IN);
    put32(&b, ttl);
    put16(&b, v4 ? 4 : 16);
    put_bytes(&b, addrs[i].addr, v4 ? 4 : 16);
    b.an++;
  }
  return response_finish(&b, q, MF_DNS_RCODE_NOERROR);
}

size_t mf_dns_build_formerr(const uint8_t *query, size_t len, uint8_t *out,
                            size_t cap)
{
  if (len < MF_DNS_HEADER_LEN)
    return 0;
  uint16_t flags = mf_dns_get16(&query[2]);
  if (flags & MF_DNS_FLAG_QR)
    return 0;
  builder_t b;
  builder_init(&b, out, cap);
  put_header(&b, mf_dns_get16(query),
             (uint16_t)(MF_DNS_FLAG_QR | (flags & (0x7800 | MF_DNS_FLAG_RD)) |
                        MF_DNS_FLAG_RA | MF_DNS_RCODE_FORMERR),
             0);
  return finish(&b);
}

size_t mf_dns_build_query(const mf_dns_name_t *name, uint16_t qtype,
                          uint16_t qclass, uint16_t id, uint16_t edns_udp_size,
                          bool dnssec_ok, uint8_t *out, size_t cap)
{
  builder_t b;
  builder_init(&b, out, cap);
  put_header(&b, id, MF_DNS_FLAG_RD, 1);
  put_name(&b, name);
  put16(&b, qtype);
  put16(&b, qclass);
  if (edns_udp_size > 0)
    put_opt(&b, edns_udp_size, 0, dnssec_ok);
  return finish(&b);
}

size_t mf_dns_add_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size,
                      bool dnssec_ok)
{
  if (len < MF_DNS_HEADER_LEN || len > cap)
    return 0;
  uint16_t ar = mf_dns_get16(&msg[10]);
  if (ar == UINT16_MAX)
    return 0;
  builder_t b;
  builder_init(&b, msg, cap);
  b.len = len;
  put_opt(&b, udp_size, 0, dnssec_ok);
  if (b.bad)
    return 0;
  mf_dns_put16(&msg[10], (uint16_t)(ar + 1));
  return b.len;
}

/* Where the names sit in the rdata of the RFC 1035 types that hold them
 * (3.3, 3.4): after `skip` fixed octets, `names` names, then fixed octets
 * to the end. false for every other type: opaque. */
static bool rdata_names(uint16_t type, unsigned *skip, unsigned *names)
{
  *skip = 0;
  *names = 1;
  switch (type) {
  case MF_DNS_TYPE_NS:
  case 3:  /* MD */
  case 4:  /* MF */
  case MF_DNS_TYPE_CNAME:
  case 7:  /* MB */
  case 8:  /* MG */
  case 9:  /* MR */
  case MF_DNS_TYPE_PTR:
    return true;
  case MF_DNS_TYPE_SOA:
  case 14: /* MINFO */
    *names = 2;
    return true;
  case MF_DNS_TYPE_MX:
    *skip = 2;
    return true;
  default:
    return false;
  }
}

/* Copies one record's rdata into b, re-encoding the names it holds. */
static bool copy_rdata(builder_t *b, const uint8_t *msg, size_t len,
                       const mf_dns_rr_t *rr)
{
  size_t src = rr->rdata, end = (size_t)rr->rdata + rr->rdlen;
  unsigned skip, names;
  if (rdata_names(rr->type, &skip, &names)) {
    if (skip > rr->rdlen)
      return false;
    put_bytes(b, &msg[src], skip);
    src += skip;
    for (unsigned k = 0; k < names; k++) {
      mf_dns_name_t n;
      size_t next;
      if (mf_dns_name_read(msg, len, src, &n, &next) != MF_DNS_NAME_OK ||
          next > end)
        return false;
      put_name(b, &n);
      src = next;
    }
  }
  put_bytes(b, &msg[src], end - src);
  return !b->bad;
}

size_t mf_dns_build_copy(const uint8_t *msg, size_t len, const mf_dns_msg_t *m,
                         unsigned n, uint8_t *out, size_t cap)
{
  unsigned total = (unsigned)m->an + m->ns + m->ar;
  if (n > total)
    n = total;
  builder_t b;
  builder_init(&b, out, cap);
  put_header(&b, m->id, m->flags, m->qdcount);
  if (m->qdcount) {
    put_name(&b, &m->qname);
    put16(&b, m->qtype);
    put16(&b, m->qclass);
  }
  for (unsigned i = 0; i < n && !b.bad; i++) {
    const mf_dns_rr_t *rr = &m->rr[i];
    mf_dns_name_t owner;
    if (mf_dns_name_read(msg, len, rr->off, &owner, NULL) != MF_DNS_NAME_OK)
      return 0;
    put_name(&b, &owner);
    /* Type, class and TTL as they were (the TTL raw: OPT keeps flags). */
    put_bytes(&b, &msg[rr->rdata - 10], 8);
    size_t rdlen_at = b.len;
    put16(&b, 0);
    if (!copy_rdata(&b, msg, len, rr) || b.len - rdlen_at - 2 > UINT16_MAX)
      return 0;
    mf_dns_put16(&b.buf[rdlen_at], (uint16_t)(b.len - rdlen_at - 2));
  }
  b.an = (uint16_t)(n < m->an ? n : m->an);
  b.ns = (uint16_t)(n <= m->an ? 0 : (n - m->an < m->ns ? n - m->an : m->ns));
  b.ar = (uint16_t)(n - b.an - b.ns);
  return finish(&b);
}

size_t mf_dns_udp_limit(const mf_dns_msg_t *q, size_t ours)
{
  size_t theirs = MF_DNS_UDP_CLASSIC;
  if (q->edns && q->edns_udp_size > theirs)
    theirs = q->edns_udp_size;
  return theirs < ours ? theirs : ours;
}

/* Keeps the first keep records and the OPT record; see mf_dns_truncate. */
static size_t cut_records(uint8_t *msg, const mf_dns_msg_t *m, unsigned keep,
                          size_t keep_end, size_t opt_len)
{
  unsigned an = m->an, ns = m->ns;
  bool move_opt = m->edns && m->opt_index >= keep;
  if (move_opt)
    memmove(&msg[keep_end], &msg[m->rr[m->opt_index].off], opt_len);
  unsigned new_an = keep < an ? keep : an;
  unsigned new_ns = keep <= an ? 0 : (keep - an < ns ? keep - an : ns);
  unsigned new_ar = keep > an + ns ? keep - an - ns : 0;
  if (move_opt)
    new_ar++;
  mf_dns_put16(&msg[6], (uint16_t)new_an);
  mf_dns_put16(&msg[8], (uint16_t)new_ns);
  mf_dns_put16(&msg[10], (uint16_t)new_ar);
  if (keep < an + ns)
    mf_dns_put16(&msg[2], mf_dns_get16(&msg[2]) | MF_DNS_FLAG_TC);
  return keep_end + (move_opt ? opt_len : 0);
}

size_t mf_dns_truncate(uint8_t *msg, size_t len, size_t limit)
{
  if (len <= limit)
    return len;
  /* Rare (a big answer over UDP): a full parse is affordable. */
  mf_dns_msg_t m;
  if (mf_dns_parse(msg, len, &m) != MF_DNS_OK)
    return 0;
  unsigned total = (unsigned)m.an + m.ns + m.ar;
  size_t opt_len = 0;
  if (m.edns) {
    const mf_dns_rr_t *opt = &m.rr[m.opt_index];
    opt_len = (size_t)opt->rdata + opt->rdlen - opt->off;
  }
  /* Records are contiguous and pointers only point back, so any prefix of
   * them stands on its own; the OPT record points nowhere and nothing
   * points into it, so it can move. */
  for (unsigned keep = total + 1; keep-- > 0;) {
    size_t keep_end = keep < total ? m.rr[keep].off : m.end;
    bool opt_kept = m.edns && m.opt_index < keep;
    size_t need = keep_end + (m.edns && !opt_kept ? opt_len : 0);
    if (need <= limit)
      return cut_records(msg, &m, keep, keep_end, opt_len);
  }
  return 0;
}

size_t mf_dns_tcp_frame(const uint8_t *msg, size_t len, uint8_t *out,
                        size_t cap)
{
  if (len > MF_DNS_MSG_MAX || cap < 2 || len > cap - 2)
    return 0;
  /* Data first: out may be msg itself, moved up by two. */
  memmove(&out[2], msg, len);
  mf_dns_put16(out, (uint16_t)len);
  return len + 2;
}

void mf_dns_tcp_reasm_init(mf_dns_tcp_reasm_t *r, uint8_t *buf, size_t cap)
{
  r->buf = buf;
  r->cap = cap;
  r->have = 0;
  r->ready = false;
}

static bool length_ok(const mf_dns_tcp_reasm_t *r)
{
  size_t n = mf_dns_get16(r->buf);
  return n >= MF_DNS_HEADER_LEN && r->cap >= 2 && n <= r->cap - 2;
}

mf_dns_tcp_status_t mf_dns_tcp_reasm_feed(mf_dns_tcp_reasm_t *r,
                                          const uint8_t *data, size_t len,
                                          size_t *used, const uint8_t **msg,
                                          size_t *msg_len)
{
  if (r->ready) {
    r->have = 0;
    r->ready = false;
  }
  size_t u = 0;
  *used = 0;
  if (r->cap < 2 + MF_DNS_HEADER_LEN)
    return MF_DNS_TCP_BAD_LENGTH;
  if (r->have >= 2 && !length_ok(r))
    return MF_DNS_TCP_BAD_LENGTH;
  /* Each pass takes at least one byte. */
  while (u < len) {
    if (r->have < 2) {
      r->buf[r->have++] = data[u++];
      if (r->have == 2 && !length_ok(r)) {
        *used = u;
        return MF_DNS_TCP_BAD_LENGTH;
      }
      continue;
    }
    size_t want = 2 + (size_t)mf_dns_get16(r->buf) - r->have;
    size_t take = want < len - u ? want : len - u;
    memcpy(&r->buf[r->have], &data[u], take);
    r->have += take;
    u += take;
    if (take == want) {
      r->ready = true;
      *used = u;
      *msg = &r->buf[2];
      *msg_len = r->have - 2;
      return MF_DNS_TCP_MESSAGE;
    }
  }
  *used = u;
  return MF_DNS_TCP_NEED_MORE;
}
