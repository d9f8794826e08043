/* DNS messages on the wire (RFC 1035 4.1): parsing into bounded views,
 * reading answers (addresses at the end of a CNAME chain, TTLs, the
 * negative-caching TTL of RFC 2308 5), EDNS0 (RFC 6891 6), and ageing the
 * TTLs of a stored answer.
 *
 * A parsed message (mf_dns_msg_t) copies the question name and keeps, for
 * every resource record, a small view (offsets into the caller's bytes,
 * type, class, TTL). Those views are valid only while the bytes they were
 * parsed from stay unchanged. Parsing checks every offset against the
 * length, reads every owner name in full (so compression loops and
 * overruns anywhere are refused before anyone follows a pointer), and
 * checks the data of the record types we later read (A, AAAA, CNAME,
 * SOA, OPT); other data stays opaque.
 *
 * Pure and reentrant; nothing here allocates. mf_dns_msg_t is about 4 KB:
 * keep one per worker rather than one per packet on the stack of a deep
 * call chain. */
#ifndef MF_DNS_DNS_WIRE_H
#define MF_DNS_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/dns_name.h"

#define MF_DNS_HEADER_LEN 12
#define MF_DNS_UDP_CLASSIC 512 /* RFC 1035 4.2.1, without EDNS */
#define MF_DNS_MSG_MAX 65535   /* the TCP length prefix is 16 bits */
/* Records one parse keeps views for. A message with more is refused as
 * a whole (too-many-rrs): what cannot be checked is not relayed. */
#define MF_DNS_MAX_RRS 256
#define MF_DNS_MAX_ADDRS 64    /* addresses one answer yields */
#define MF_DNS_MAX_CNAME_CHAIN 10 /* CNAMEs followed from the question */

/* RFC 1035 3.2.2 and 3.2.3, RFC 3596 (AAAA), RFC 6891 (OPT). */
enum {
  MF_DNS_TYPE_A = 1,
  MF_DNS_TYPE_NS = 2,
  MF_DNS_TYPE_CNAME = 5,
  MF_DNS_TYPE_SOA = 6,
  MF_DNS_TYPE_PTR = 12,
  MF_DNS_TYPE_MX = 15,
  MF_DNS_TYPE_TXT = 16,
  MF_DNS_TYPE_AAAA = 28,
  MF_DNS_TYPE_OPT = 41,
  MF_DNS_TYPE_HTTPS = 65,
  MF_DNS_TYPE_ANY = 255,
};
enum { MF_DNS_CLASS_IN = 1, MF_DNS_CLASS_ANY = 255 };

/* RFC 1035 4.1.1; BADVERS (RFC 6891 6.1.3) needs the OPT's upper bits. */
enum {
  MF_DNS_RCODE_NOERROR = 0,
  MF_DNS_RCODE_FORMERR = 1,
  MF_DNS_RCODE_SERVFAIL = 2,
  MF_DNS_RCODE_NXDOMAIN = 3,
  MF_DNS_RCODE_NOTIMP = 4,
  MF_DNS_RCODE_REFUSED = 5,
  MF_DNS_RCODE_BADVERS = 16,
};
#define MF_DNS_OPCODE_QUERY 0

/* Header flag bits in the second 16-bit word (RFC 1035 4.1.1, RFC 4035
 * 3.2 for AD and CD). */
#define MF_DNS_FLAG_QR 0x8000
#define MF_DNS_FLAG_AA 0x0400
#define MF_DNS_FLAG_TC 0x0200
#define MF_DNS_FLAG_RD 0x0100
#define MF_DNS_FLAG_RA 0x0080
#define MF_DNS_FLAG_AD 0x0020
#define MF_DNS_FLAG_CD 0x0010
#define MF_DNS_OPCODE(flags) ((unsigned)((flags) >> 11) & 0xfu)
#define MF_DNS_EDNS_DO 0x8000 /* in the OPT TTL's low 16 bits (RFC 3225) */

/* Why a message was refused; the names are counter names. Declared once
 * as a table, in the manner of the node error tables (core/graph.h): the
 * DNS server can expand it with MF_ERROR_DESC. */
#define MF_DNS_ERRORS(_)                                                      \
  _(SHORT_HEADER, "short-header", "message shorter than the 12-byte header")  \
  _(MESSAGE_TOO_LONG, "message-too-long", "message longer than 65535 bytes")  \
  _(BAD_QUESTION_COUNT, "bad-question-count",                                 \
    "a query must ask one question, a response at most one")                  \
  _(TRUNCATED_QUESTION, "truncated-question",                                 \
    "question type or class runs off the message")                            \
  _(BAD_NAME, "bad-name",                                                     \
    "name runs off the message or uses a reserved label type")                \
  _(POINTER_FORWARD, "pointer-forward",                                       \
    "compression pointer to a later offset")                                  \
  _(POINTER_HEADER, "pointer-into-header",                                    \
    "compression pointer into the 12-byte header")                            \
  _(COMPRESSION_LOOP, "compression-loop",                                     \
    "compression pointer not to a prior name, or too many of them")           \
  _(NAME_TOO_LONG, "name-too-long", "name longer than 255 octets")            \
  _(TRUNCATED_RR, "truncated-rr", "record header or data runs off the message") \
  _(TOO_MANY_RRS, "too-many-rrs", "more records than a parse keeps")          \
  _(BAD_RDATA, "bad-rdata",                                                   \
    "A or AAAA of the wrong size, or CNAME or SOA data that does not fit")    \
  _(BAD_OPT, "bad-opt",                                                       \
    "OPT record twice, outside the additional section or not at the root")    \
  _(CNAME_CHAIN, "cname-chain", "CNAME chain longer than the bound (a loop)")

typedef enum {
  MF_DNS_OK = 0,
#define _(sym, n, t) MF_DNS_ERR_##sym,
  MF_DNS_ERRORS(_)
#undef _
  MF_DNS_N_ERR
} mf_dns_err_t;

/* "ok" or the counter name of the error; "unknown" outside the enum. */
const char *mf_dns_err_name(mf_dns_err_t e);
/* One line that explains it. */
const char *mf_dns_err_text(mf_dns_err_t e);

/* One resource record (RFC 1035 4.1.3) of a parsed message. */
typedef struct {
  uint16_t off;   /* where the record (its owner name) starts */
  uint16_t type;
  uint16_t rclass;
  uint16_t rdlen;
  uint16_t rdata; /* offset of the data */
  uint32_t ttl;   /* RFC 2181 8: a value with the top bit set reads 0 */
} mf_dns_rr_t;

typedef struct {
  uint16_t id;
  uint16_t flags;   /* the header's second word, as received */
  uint16_t rcode;   /* 12 bits: the header's 4 and, with EDNS, the OPT's 8 */
  uint16_t qdcount; /* 0 or 1 */
  mf_dns_name_t qname; /* case as received */
  uint16_t qtype, qclass;
  uint16_t question_end; /* offset after the question (12 without one) */
  uint16_t end; /* offset after the last record; bytes beyond are ignored */

  /* rr[0, an) answer, rr[an, an + ns) authority, then ar additional. */
  uint16_t an, ns, ar;
  mf_dns_rr_t rr[MF_DNS_MAX_RRS];

  /* EDNS0 (RFC 6891 6.1.3), when an OPT record was in the additional
   * section. Its rdata (the options) is rr[opt_index]'s. */
  bool edns;
  bool edns_do;          /* DNSSEC OK (RFC 3225) */
  uint8_t edns_version;
  uint16_t edns_udp_size; /* raised to 512 when lower (RFC 6891 6.2.5) */
  uint16_t opt_index;
} mf_dns_msg_t;

/* Parses len bytes. A query (QR clear) must carry exactly one question;
 * a response may carry none (some servers answer FORMERR or REFUSED
 * that way) or one. On error *m is partly filled and must not be used. */
mf_dns_err_t mf_dns_parse(const uint8_t *msg, size_t len, mf_dns_msg_t *m);

static inline bool mf_dns_is_response(const mf_dns_msg_t *m)
{
  return (m->flags & MF_DNS_FLAG_QR) != 0;
}
static inline bool mf_dns_is_truncated(const mf_dns_msg_t *m)
{
  return (m->flags & MF_DNS_FLAG_TC) != 0;
}

/* The owner name of record i of m (parsed from msg). */
mf_dns_err_t mf_dns_rr_owner(const uint8_t *msg, size_t len,
                             const mf_dns_msg_t *m, unsigned i,
                             mf_dns_name_t *owner);

/* What an answer says about its question. */
typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  uint32_t ttl;
} mf_dns_addr_t;

typedef struct {
  mf_dns_name_t final; /* where the CNAME chain ends (the qname if none) */
  uint8_t cnames;      /* CNAME records followed */
  uint16_t n_final;    /* records of the question's type at final (any
                          type for ANY; the CNAME itself for CNAME) */
  uint32_t min_ttl;    /* over the CNAMEs followed and the final records;
                          0 when there are none */
  uint16_t n_addrs;    /* A and AAAA records at final, whatever the qtype */
  bool addrs_truncated; /* more than MF_DNS_MAX_ADDRS of them */
  mf_dns_addr_t addrs[MF_DNS_MAX_ADDRS];
} mf_dns_answer_t;

/* Follows the answer section from the question's name through at most
 * MF_DNS_MAX_CNAME_CHAIN CNAMEs (RFC 1034 3.6.2, 4.3.2) and reports the
 * records at the end of the chain. Records whose owner is not on the
 * chain, or whose class differs from the question's, are ignored: an
 * upstream cannot attach addresses of other names to this question.
 * Needs m->qdcount == 1. MF_DNS_ERR_CNAME_CHAIN when the chain is longer
 * (a loop is an endless chain); *a then describes the chain only as far
 * as it was followed, and its addresses must not be used. */
mf_dns_err_t mf_dns_answer_extract(const uint8_t *msg, size_t len,
                                   const mf_dns_msg_t *m,
                                   mf_dns_answer_t *a);

/* The negative-caching TTL of an NXDOMAIN or NODATA response (RFC 2308
 * 5): the smaller of the TTL and the MINIMUM field of the first SOA in
 * the authority section. false when there is no SOA: such answers must
 * not be cached. */
bool mf_dns_negative_ttl(const uint8_t *msg, size_t len,
                         const mf_dns_msg_t *m, uint32_t *ttl);

/* RFC 2308 2: how a response answers its question. */
typedef enum {
  MF_DNS_KIND_POSITIVE, /* NOERROR with records of the qtype at the end */
  MF_DNS_KIND_NXDOMAIN, /* the name (or the chain's end) does not exist */
  MF_DNS_KIND_NODATA,   /* the name exists, not with that type */
  MF_DNS_KIND_OTHER,    /* SERVFAIL, REFUSED and the rest */
} mf_dns_kind_t;

/* a: what mf_dns_answer_extract returned MF_DNS_OK for on the same m. */
mf_dns_kind_t mf_dns_classify(const mf_dns_msg_t *m, const mf_dns_answer_t *a);
/* "positive", "nxdomain", "nodata", "other". */
const char *mf_dns_kind_name(mf_dns_kind_t k);

/* Lowers every TTL of a message in place by elapsed seconds (not below
 * 0; a TTL with the top bit set counts as 0) and caps it at cap seconds;
 * OPT records are left alone, since their TTL field holds flags. For answers served from a cache (RFC 1035 7.4,
 * RFC 2308 5). The message must have parsed before; walking it again is
 * still bounds-checked. 0, or -1 when it does not walk. */
int mf_dns_age_ttls(uint8_t *msg, size_t len, uint32_t elapsed, uint32_t cap);

static inline uint16_t mf_dns_get16(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t mf_dns_get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static inline void mf_dns_put16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void mf_dns_put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
