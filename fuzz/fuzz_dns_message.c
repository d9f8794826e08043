/* libFuzzer target for src/dns wire format and cache: the input is one
 * DNS message as it would arrive over UDP (and, cut into slices, over
 * TCP). Whatever parses must be consistent with its bytes; a parsed query
 * gets every kind of response built for it, and each must parse back
 * answering the same question, also after truncation to 512 bytes; a
 * parsed response feeds a long-lived cache, which must then answer the
 * same question with something that parses. Any input must end in a
 * clean refusal, never a crash, a leak or an out-of-bounds access.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_dns_message.c
 *   ./fuzz_dns_message fuzz/corpus/dns_message */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_build.h"
#include "dns/dns_cache.h"
#include "dns/dns_name.h"
#include "dns/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_S 1000000000ull

static void check(int ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "dns fuzz invariant broken: %s\n", what);
    abort();
  }
}

/* Big structs live here, not on the stack of every run. */
static mf_dns_msg_t msg, back;
static mf_dns_answer_t answer;
static uint8_t out[MF_DNS_MSG_MAX + 2];
static mf_dns_cache_t *cache;
static uint64_t now_ns = 1;

static void check_layout(const uint8_t *data, size_t size, const mf_dns_msg_t *m)
{
  check(m->end <= size && m->question_end <= m->end, "end within input");
  check(m->qdcount <= 1, "at most one question");
  unsigned total = (unsigned)m->an + m->ns + m->ar;
  check(total <= MF_DNS_MAX_RRS, "record bound");
  size_t prev = m->question_end;
  for (unsigned i = 0; i < total; i++) {
    check(m->rr[i].off == prev, "records contiguous");
    prev = (size_t)m->rr[i].rdata + m->rr[i].rdlen;
    check(prev <= m->end, "record within message");
    mf_dns_name_t owner;
    check(mf_dns_rr_owner(data, size, m, i, &owner) == MF_DNS_OK,
          "owner names readable again");
  }
  check(prev == m->end, "end after the last record");
  if (m->edns)
    check(m->rr[m->opt_index].type == MF_DNS_TYPE_OPT, "opt index");
  char text[MF_DNS_NAME_TEXT_SIZE];
  check(mf_dns_name_to_text(&m->qname, text, sizeof(text)) >= 0, "text fits");
  mf_dns_name_t again;
  check(mf_dns_name_from_text(text, strlen(text), &again) == 0 &&
            mf_dns_name_equal(&again, &m->qname),
        "text form reads back");
}

/* r must parse as a response to q's question. */
static void check_reply(uint8_t *r, size_t len, const mf_dns_msg_t *q)
{
  check(len > 0, "reply built");
  check(mf_dns_parse(r, len, &back) == MF_DNS_OK, "reply parses");
  check(mf_dns_is_response(&back) && back.id == q->id, "reply header");
  check(back.qdcount == 1 && mf_dns_name_equal(&back.qname, &q->qname) &&
            back.qtype == q->qtype && back.qclass == q->qclass,
        "reply question");
  check(back.edns == q->edns, "OPT iff the query had one");
  size_t t = mf_dns_truncate(r, len, MF_DNS_UDP_CLASSIC);
  if (t) {
    check(t <= MF_DNS_UDP_CLASSIC, "truncated fits");
    check(mf_dns_parse(r, t, &back) == MF_DNS_OK, "truncated parses");
    check(back.edns == q->edns, "truncation keeps OPT");
  }
}

static void answer_query(const mf_dns_msg_t *q)
{
  size_t cap = sizeof(out);
  size_t n = mf_dns_build_rcode(q, MF_DNS_RCODE_SERVFAIL, out, cap);
  check_reply(out, n, q);
  n = mf_dns_build_nxdomain(q, 60, out, cap);
  check_reply(out, n, q);
  n = mf_dns_build_nodata(q, 0, out, cap);
  check_reply(out, n, q);
  mf_dns_addr_t addrs[2] = {{.family = AF_INET}, {.family = AF_INET6}};
  n = mf_dns_build_addrs(q, addrs, 2, 300, out, cap);
  check_reply(out, n, q);
  if (q->edns) {
    n = mf_dns_build_rcode(q, MF_DNS_RCODE_BADVERS, out, cap);
    check_reply(out, n, q);
  }
  n = mf_dns_build_query(&q->qname, q->qtype, q->qclass, q->id, 1232, true, out,
                         cap);
  check(n > 0 && mf_dns_parse(out, n, &back) == MF_DNS_OK, "query parses");
}

static void use_cache(const uint8_t *data, size_t size, const mf_dns_msg_t *m)
{
  if (!cache) {
    mf_dns_cache_config_t cfg = {.max_entries = 64, .max_bytes = 16384,
                                 .min_ttl = 1, .max_ttl = 600, .seed = 1};
    cache = mf_dns_cache_create(&cfg);
    check(cache != NULL, "cache created");
  }
  now_ns += NS_PER_S / 3;
  if (mf_dns_is_response(m))
    (void)mf_dns_cache_insert(cache, data, size, m, 1, 2, now_ns);
  /* Ask the question as a query would, whichever side this message was. */
  uint8_t q[600];
  size_t qn = mf_dns_build_query(&m->qname, m->qtype, m->qclass, 0x4242, 0,
                                 false, q, sizeof(q));
  check(qn > 0, "query built");
  static mf_dns_msg_t query;
  check(mf_dns_parse(q, qn, &query) == MF_DNS_OK, "query parses");
  size_t len = 0;
  if (mf_dns_cache_lookup(cache, &query, now_ns, out, sizeof(out), &len, NULL) ==
      MF_DNS_CACHE_HIT) {
    check(mf_dns_parse(out, len, &back) == MF_DNS_OK, "cached answer parses");
    check(back.id == 0x4242 && back.ar == 0 && !back.edns, "cached header");
    check(mf_dns_name_equal(&back.qname, &m->qname), "cached question");
    size_t with_opt = mf_dns_add_opt(out, len, sizeof(out), 1232, false);
    check(with_opt > 0 && mf_dns_parse(out, with_opt, &back) == MF_DNS_OK,
          "cached answer with OPT parses");
  }
  if ((now_ns / NS_PER_S) % 16 == 0)
    (void)mf_dns_cache_sweep(cache, now_ns, 8);
  mf_dns_cache_stats_t st;
  mf_dns_cache_stats(cache, &st);
  check(st.entries <= 64 && st.chunk_bytes <= 16384, "cache bounds");
}

/* The same bytes as a TCP stream cut into slices whose sizes come from
 * the data itself. */
static void feed_tcp(const uint8_t *data, size_t size)
{
  static uint8_t buf[2 + 4096];
  mf_dns_tcp_reasm_t r;
  mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
  size_t at = 0;
  for (unsigned guard = 0; at < size && guard < 4 * size + 8; guard++) {
    size_t slice = 1 + data[at] % 97;
    if (slice > size - at)
      slice = size - at;
    size_t used = 0, ml = 0;
    const uint8_t *m = NULL;
    mf_dns_tcp_status_t st = mf_dns_tcp_reasm_feed(&r, &data[at], slice, &used,
                                                   &m, &ml);
    check(used <= slice, "reassembly takes what it was given");
    at += used;
    if (st == MF_DNS_TCP_BAD_LENGTH)
      break;
    if (st == MF_DNS_TCP_MESSAGE) {
      check(ml >= MF_DNS_HEADER_LEN && ml <= sizeof(buf) - 2, "message bounds");
      (void)mf_dns_parse(m, ml, &back);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  feed_tcp(data, size);
  if (size > 0) {
    mf_dns_name_t n;
    size_t next;
    if (mf_dns_name_read(data, size, data[0] % size, &n, &next) ==
        MF_DNS_NAME_OK)
      check(next <= size && n.len >= 1, "name read bounds");
  }
  mf_dns_err_t e = mf_dns_parse(data, size, &msg);
  check((unsigned)e < MF_DNS_N_ERR, "error in the table");
  if (e != MF_DNS_OK) {
    (void)mf_dns_build_formerr(data, size, out, sizeof(out));
    return 0;
  }
  check_layout(data, size, &msg);
  if (msg.qdcount == 1) {
    e = mf_dns_answer_extract(data, size, &msg, &answer);
    check(e == MF_DNS_OK || e == MF_DNS_ERR_CNAME_CHAIN, "extract");
    check(answer.n_addrs <= MF_DNS_MAX_ADDRS, "address bound");
    uint32_t neg;
    (void)mf_dns_negative_ttl(data, size, &msg, &neg);
    (void)mf_dns_classify(&msg, &answer);
    if (!mf_dns_is_response(&msg))
      answer_query(&msg);
    use_cache(data, size, &msg);
  }
  if (size <= sizeof(out)) {
    memcpy(out, data, size);
    check(mf_dns_age_ttls(out, size, 7, 3600) == 0, "ageing walks a parsed message");
  }
  return 0;
}
