/* DNS message parsing: RFC 1035 4.1 (format), RFC 2181 8 (TTLs),
 * RFC 2308 (negative answers), RFC 6891 6 (OPT). */
#include "dns/dns_wire.h"

#include <string.h>

static const char *const err_names[] = {
    "ok",
#define _(sym, n, t) n,
    MF_DNS_ERRORS(_)
#undef _
};
static const char *const err_texts[] = {
    "parsed",
#define _(sym, n, t) t,
    MF_DNS_ERRORS(_)
#undef _
};

const char *mf_dns_err_name(mf_dns_err_t e)
{
  return (unsigned)e < MF_DNS_N_ERR ? err_names[e] : "unknown";
}

const char *mf_dns_err_text(mf_dns_err_t e)
{
  return (unsigned)e < MF_DNS_N_ERR ? err_texts[e] : "unknown";
}

static mf_dns_err_t name_err(mf_dns_name_status_t s)
{
  switch (s) {
  case MF_DNS_NAME_OK:
    return MF_DNS_OK;
  case MF_DNS_NAME_POINTER_FORWARD:
    return MF_DNS_ERR_POINTER_FORWARD;
  case MF_DNS_NAME_POINTER_HEADER:
    return MF_DNS_ERR_POINTER_HEADER;
  case MF_DNS_NAME_LOOP:
    return MF_DNS_ERR_COMPRESSION_LOOP;
  case MF_DNS_NAME_TOO_LONG:
    return MF_DNS_ERR_NAME_TOO_LONG;
  case MF_DNS_NAME_TRUNCATED:
  case MF_DNS_NAME_BAD_LABEL_TYPE:
  default:
    return MF_DNS_ERR_BAD_NAME;
  }
}

/* RFC 2181 8: "a TTL with the most significant bit set ... treated as if
 * ... zero". */
static uint32_t ttl_value(uint32_t raw)
{
  return raw & 0x80000000u ? 0 : raw;
}

/* A name inside record data must end inside it; pointers may reach back
 * anywhere before. *next gets where it ended. */
static mf_dns_err_t rdata_name(const uint8_t *msg, size_t len, size_t at,
                               size_t rd_end, size_t *next)
{
  mf_dns_name_t scratch;
  mf_dns_name_status_t s = mf_dns_name_read(msg, len, at, &scratch, next);
  if (s != MF_DNS_NAME_OK)
    return s == MF_DNS_NAME_TRUNCATED ? MF_DNS_ERR_BAD_RDATA : name_err(s);
  return *next <= rd_end ? MF_DNS_OK : MF_DNS_ERR_BAD_RDATA;
}

/* Checks the data of the record types something later reads. */
static mf_dns_err_t check_rdata(const uint8_t *msg, size_t len,
                                const mf_dns_rr_t *rr)
{
  size_t end = (size_t)rr->rdata + rr->rdlen, next = 0;
  mf_dns_err_t e;
  switch (rr->type) {
  case MF_DNS_TYPE_A:
    if (rr->rclass == MF_DNS_CLASS_IN && rr->rdlen != 4)
      return MF_DNS_ERR_BAD_RDATA;
    return MF_DNS_OK;
  case MF_DNS_TYPE_AAAA:
    if (rr->rclass == MF_DNS_CLASS_IN && rr->rdlen != 16)
      return MF_DNS_ERR_BAD_RDATA;
    return MF_DNS_OK;
  case MF_DNS_TYPE_CNAME:
    e = rdata_name(msg, len, rr->rdata, end, &next);
    if (e == MF_DNS_OK && next != end)
      e = MF_DNS_ERR_BAD_RDATA;
    return e;
  case MF_DNS_TYPE_SOA:
    /* MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (3.3.13). */
    e = rdata_name(msg, len, rr->rdata, end, &next);
    if (e == MF_DNS_OK)
      e = rdata_name(msg, len, next, end, &next);
    if (e == MF_DNS_OK && next + 20 != end)
      e = MF_DNS_ERR_BAD_RDATA;
    return e;
  default:
    return MF_DNS_OK;
  }
}

/* Reads one record at *off into rr; owner_is_root tells the OPT check. */
static mf_dns_err_t parse_rr(const uint8_t *msg, size_t len, size_t *off,
                             mf_dns_rr_t *rr, bool *owner_is_root)
{
  mf_dns_name_t owner;
  size_t p;
  mf_dns_name_status_t s = mf_dns_name_read(msg, len, *off, &owner, &p);
  if (s != MF_DNS_NAME_OK)
    return name_err(s);
  if (p + 10 > len)
    return MF_DNS_ERR_TRUNCATED_RR;
  rr->off = (uint16_t)*off;
  rr->type = mf_dns_get16(&msg[p]);
  rr->rclass = mf_dns_get16(&msg[p + 2]);
  uint32_t raw_ttl = mf_dns_get32(&msg[p + 4]);
  /* OPT's TTL field carries flags, not a time: keep it whole. */
  rr->ttl = rr->type == MF_DNS_TYPE_OPT ? raw_ttl : ttl_value(raw_ttl);
  rr->rdlen = mf_dns_get16(&msg[p + 8]);
  rr->rdata = (uint16_t)(p + 10);
  if (p + 10 + rr->rdlen > len)
    return MF_DNS_ERR_TRUNCATED_RR;
  *owner_is_root = owner.labels == 0;
  *off = p + 10 + rr->rdlen;
  return check_rdata(msg, len, rr);
}

/* RFC 6891 6.1.1: one OPT at most, in the additional section, owned by
 * the root. */
static mf_dns_err_t take_opt(mf_dns_msg_t *m, unsigned i, bool additional,
                             bool owner_is_root)
{
  const mf_dns_rr_t *rr = &m->rr[i];
  if (!additional || !owner_is_root || m->edns)
    return MF_DNS_ERR_BAD_OPT;
  m->edns = true;
  m->opt_index = (uint16_t)i;
  m->edns_udp_size = rr->rclass < MF_DNS_UDP_CLASSIC ? MF_DNS_UDP_CLASSIC
                                                     : rr->rclass;
  m->edns_version = (uint8_t)(rr->ttl >> 16);
  m->edns_do = (rr->ttl & MF_DNS_EDNS_DO) != 0;
  m->rcode = (uint16_t)((rr->ttl >> 24) << 4 | (m->rcode & 0xf));
  return MF_DNS_OK;
}

static mf_dns_err_t parse_question(const uint8_t *msg, size_t len,
                                   mf_dns_msg_t *m, size_t *off)
{
  if (m->qdcount == 0) {
    mf_dns_name_root(&m->qname);
    m->qtype = m->qclass = 0;
    return MF_DNS_OK;
  }
  size_t p;
  mf_dns_name_status_t s = mf_dns_name_read(msg, len, *off, &m->qname, &p);
  if (s != MF_DNS_NAME_OK)
    return name_err(s);
  if (p + 4 > len)
    return MF_DNS_ERR_TRUNCATED_QUESTION;
  m->qtype = mf_dns_get16(&msg[p]);
  m->qclass = mf_dns_get16(&msg[p + 2]);
  *off = p + 4;
  return MF_DNS_OK;
}

mf_dns_err_t mf_dns_parse(const uint8_t *msg, size_t len, mf_dns_msg_t *m)
{
  if (len < MF_DNS_HEADER_LEN)
    return MF_DNS_ERR_SHORT_HEADER;
  if (len > MF_DNS_MSG_MAX)
    return MF_DNS_ERR_MESSAGE_TOO_LONG;
  m->id = mf_dns_get16(&msg[0]);
  m->flags = mf_dns_get16(&msg[2]);
  m->rcode = m->flags & 0xf;
  m->qdcount = mf_dns_get16(&msg[4]);
  m->an = mf_dns_get16(&msg[6]);
  m->ns = mf_dns_get16(&msg[8]);
  m->ar = mf_dns_get16(&msg[10]);
  m->edns = m->edns_do = false;
  m->edns_version = 0;
  m->edns_udp_size = 0;
  m->opt_index = 0;
  if (m->qdcount > 1 || (m->qdcount == 0 && !mf_dns_is_response(m)))
    return MF_DNS_ERR_BAD_QUESTION_COUNT;

  size_t off = MF_DNS_HEADER_LEN;
  mf_dns_err_t e = parse_question(msg, len, m, &off);
  if (e != MF_DNS_OK)
    return e;
  m->question_end = (uint16_t)off;

  unsigned total = (unsigned)m->an + m->ns + m->ar;
  if (total > MF_DNS_MAX_RRS)
    return MF_DNS_ERR_TOO_MANY_RRS;
  for (unsigned i = 0; i < total; i++) {
    bool root = false;
    e = parse_rr(msg, len, &off, &m->rr[i], &root);
    if (e != MF_DNS_OK)
      return e;
    if (m->rr[i].type == MF_DNS_TYPE_OPT) {
      e = take_opt(m, i, i >= (unsigned)m->an + m->ns, root);
      if (e != MF_DNS_OK)
        return e;
    }
  }
  m->end = (uint16_t)off;
  return MF_DNS_OK;
}

mf_dns_err_t mf_dns_rr_owner(const uint8_t *msg, size_t len,
                             const mf_dns_msg_t *m, unsigned i,
                             mf_dns_name_t *owner)
{
  if (i >= (unsigned)m->an + m->ns + m->ar)
    return MF_DNS_ERR_TOO_MANY_RRS;
  return name_err(mf_dns_name_read(msg, len, m->rr[i].off, owner, NULL));
}

static void add_addr(mf_dns_answer_t *a, const uint8_t *msg,
                     const mf_dns_rr_t *rr)
{
  if (a->n_addrs == MF_DNS_MAX_ADDRS) {
    a->addrs_truncated = true;
    return;
  }
  mf_dns_addr_t *ad = &a->addrs[a->n_addrs++];
  memset(ad, 0, sizeof(*ad));
  ad->family = rr->type == MF_DNS_TYPE_A ? AF_INET : AF_INET6;
  memcpy(ad->addr, &msg[rr->rdata], rr->rdlen);
  ad->ttl = rr->ttl;
}

static bool is_addr(const mf_dns_rr_t *rr)
{
  /* Sizes were checked by the parse for class IN only. */
  return rr->rclass == MF_DNS_CLASS_IN &&
         (rr->type == MF_DNS_TYPE_A || rr->type == MF_DNS_TYPE_AAAA);
}

/* One step of the chain: counts and collects what the answer section holds
 * at a->final, and returns the index of its CNAME, or -1. */
static int scan_owner(const uint8_t *msg, size_t len, const mf_dns_msg_t *m,
                      mf_dns_answer_t *a)
{
  int cname = -1;
  for (unsigned i = 0; i < m->an; i++) {
    const mf_dns_rr_t *rr = &m->rr[i];
    if (m->qclass != MF_DNS_CLASS_ANY && rr->rclass != m->qclass)
      continue;
    mf_dns_name_t owner;
    if (mf_dns_name_read(msg, len, rr->off, &owner, NULL) != MF_DNS_NAME_OK ||
        !mf_dns_name_equal(&owner, &a->final))
      continue;
    if (rr->type == m->qtype || m->qtype == MF_DNS_TYPE_ANY) {
      a->n_final++;
      if (a->min_ttl > rr->ttl)
        a->min_ttl = rr->ttl;
    } else if (rr->type == MF_DNS_TYPE_CNAME && cname < 0) {
      cname = (int)i;
    }
    if (is_addr(rr))
      add_addr(a, msg, rr);
  }
  return cname;
}

mf_dns_err_t mf_dns_answer_extract(const uint8_t *msg, size_t len,
                                   const mf_dns_msg_t *m, mf_dns_answer_t *a)
{
  a->final = m->qname;
  a->cnames = 0;
  a->n_final = 0;
  a->min_ttl = UINT32_MAX;
  a->n_addrs = 0;
  a->addrs_truncated = false;
  if (m->qdcount != 1)
    return MF_DNS_ERR_BAD_QUESTION_COUNT;
  mf_dns_err_t e = MF_DNS_OK;
  /* Bounded: one pass per link, MF_DNS_MAX_CNAME_CHAIN links at most. */
  for (;;) {
    int cname = scan_owner(msg, len, m, a);
    if (a->n_final > 0 || cname < 0)
      break;
    if (a->cnames == MF_DNS_MAX_CNAME_CHAIN) {
      e = MF_DNS_ERR_CNAME_CHAIN;
      break;
    }
    const mf_dns_rr_t *rr = &m->rr[cname];
    mf_dns_name_t next;
    e = name_err(mf_dns_name_read(msg, len, rr->rdata, &next, NULL));
    if (e != MF_DNS_OK)
      break;
    a->cnames++;
    if (a->min_ttl > rr->ttl)
      a->min_ttl = rr->ttl;
    a->final = next;
    /* Addresses seen at the old name were not at the chain's end. */
    a->n_addrs = 0;
    a->addrs_truncated = false;
  }
  if (a->min_ttl == UINT32_MAX)
    a->min_ttl = 0;
  return e;
}

bool mf_dns_negative_ttl(const uint8_t *msg, size_t len,
                         const mf_dns_msg_t *m, uint32_t *ttl)
{
  (void)len;
  for (unsigned i = m->an; i < (unsigned)m->an + m->ns; i++) {
    const mf_dns_rr_t *rr = &m->rr[i];
    if (rr->type != MF_DNS_TYPE_SOA)
      continue;
    /* The parse checked that MINIMUM is the last 4 octets. */
    uint32_t minimum = ttl_value(mf_dns_get32(&msg[rr->rdata + rr->rdlen - 4]));
    *ttl = rr->ttl < minimum ? rr->ttl : minimum;
    return true;
  }
  return false;
}

mf_dns_kind_t mf_dns_classify(const mf_dns_msg_t *m, const mf_dns_answer_t *a)
{
  switch (m->rcode) {
  case MF_DNS_RCODE_NXDOMAIN:
    return MF_DNS_KIND_NXDOMAIN;
  case MF_DNS_RCODE_NOERROR:
    return a->n_final > 0 ? MF_DNS_KIND_POSITIVE : MF_DNS_KIND_NODATA;
  default:
    return MF_DNS_KIND_OTHER;
  }
}

const char *mf_dns_kind_name(mf_dns_kind_t k)
{
  switch (k) {
  case MF_DNS_KIND_POSITIVE:
    return "positive";
  case MF_DNS_KIND_NXDOMAIN:
    return "nxdomain";
  case MF_DNS_KIND_NODATA:
    return "nodata";
  default:
    return "other";
  }
}

int mf_dns_age_ttls(uint8_t *msg, size_t len, uint32_t elapsed, uint32_t cap)
{
  if (len < MF_DNS_HEADER_LEN)
    return -1;
  unsigned qd = mf_dns_get16(&msg[4]);
  unsigned total = (unsigned)mf_dns_get16(&msg[6]) + mf_dns_get16(&msg[8]) +
                   mf_dns_get16(&msg[10]);
  size_t off = MF_DNS_HEADER_LEN;
  /* Every pass consumes at least 5 (question) or 11 (record) octets, so
   * the walk is bounded by len whatever the counts say. */
  for (unsigned i = 0; i < qd; i++) {
    off = mf_dns_name_skip(msg, len, off);
    if (!off || off + 4 > len)
      return -1;
    off += 4;
  }
  for (unsigned i = 0; i < total; i++) {
    off = mf_dns_name_skip(msg, len, off);
    if (!off || off + 10 > len)
      return -1;
    if (mf_dns_get16(&msg[off]) != MF_DNS_TYPE_OPT) {
      uint32_t ttl = ttl_value(mf_dns_get32(&msg[off + 4]));
      ttl = ttl > elapsed ? ttl - elapsed : 0;
      mf_dns_put32(&msg[off + 4], ttl < cap ? ttl : cap);
    }
    off += 10 + (size_t)mf_dns_get16(&msg[off + 8]);
    if (off > len)
      return -1;
  }
  return 0;
}
