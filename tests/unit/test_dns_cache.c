/* The DNS cache (src/dns/dns_cache): hits with the asker's ID and case,
 * TTLs lowered by the time spent in the cache, expiry, negative caching
 * (RFC 2308), TTL clamps, what is refused, LRU eviction by entries and by
 * bytes, replacement, iteration, sweep and flush; then a differential run
 * against a deliberately naive reference (a plain array in recency order,
 * that ages TTLs at offsets the test generator wrote down) on random
 * insert / lookup / advance-time / sweep / flush sequences where both
 * limits bite.
 *
 * Answers are built here byte by byte, not with dns_build, so that the
 * reference knows where every TTL sits without parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "dns/dns_build.h"
#include "dns/dns_cache.h"
#include "dns/dns_wire.h"

#define S 1000000000ull /* nanoseconds per second */

static uint64_t rng_state = 0x13198a2e03707344ull;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- answers built by hand ---- */

enum { T_POSITIVE, T_NXDOMAIN, T_NODATA, T_NODATA_NO_SOA, T_SERVFAIL };

typedef struct {
  uint8_t b[2048];
  size_t len;      /* the whole message */
  size_t keep;     /* what the cache stores: up to the additional section */
  size_t ttl_at[80]; /* offsets of the TTL fields within keep */
  unsigned n_ttl;
} tmsg_t;

static void put(tmsg_t *t, const void *p, size_t n)
{
  memcpy(&t->b[t->len], p, n);
  t->len += n;
}

static void put16(tmsg_t *t, uint16_t v)
{
  mf_dns_put16(&t->b[t->len], v);
  t->len += 2;
}

static void put32(tmsg_t *t, uint32_t v)
{
  mf_dns_put32(&t->b[t->len], v);
  t->len += 4;
}

/* A record owned by the question (a pointer to offset 12). */
static void put_rr_head(tmsg_t *t, uint16_t type, uint32_t ttl, uint16_t rdlen,
                        bool counted_ttl)
{
  put16(t, 0xc00c);
  put16(t, type);
  put16(t, MF_DNS_CLASS_IN);
  if (counted_ttl)
    t->ttl_at[t->n_ttl++] = t->len;
  put32(t, ttl);
  put16(t, rdlen);
}

static void put_name_text(tmsg_t *t, const char *dotted)
{
  mf_dns_name_t n;
  assert_int_equal(mf_dns_name_from_text(dotted, strlen(dotted), &n), 0);
  put(t, n.wire, n.len);
}

/* A response for (name, qtype): n address records with ttls (positive),
 * or a SOA with soa_ttl and soa_min (negative), plus optional glue and
 * OPT in the additional section. flags_extra is or'ed into the header. */
static void t_answer(tmsg_t *t, const char *name, uint16_t qtype, int kind,
                     unsigned n, const uint32_t *ttls, uint32_t soa_ttl,
                     uint32_t soa_min, bool glue, bool opt,
                     uint16_t flags_extra)
{
  t->len = 0;
  t->n_ttl = 0;
  uint16_t rcode = kind == T_NXDOMAIN ? 3 : kind == T_SERVFAIL ? 2 : 0;
  bool soa = kind == T_NXDOMAIN || kind == T_NODATA;
  unsigned an = kind == T_POSITIVE ? n : 0;
  put16(t, 0x1111);
  put16(t, (uint16_t)(0x8180 | rcode | flags_extra));
  put16(t, 1);
  put16(t, (uint16_t)an);
  put16(t, soa ? 1 : 0);
  put16(t, (uint16_t)((glue ? 1 : 0) + (opt ? 1 : 0)));
  put_name_text(t, name);
  put16(t, qtype);
  put16(t, MF_DNS_CLASS_IN);
  for (unsigned i = 0; i < an; i++) {
    unsigned alen = qtype == MF_DNS_TYPE_AAAA ? 16 : 4;
    put_rr_head(t, qtype, ttls[i], (uint16_t)alen, true);
    uint8_t a[16] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
    put(t, a, alen);
  }
  if (soa) {
    put_rr_head(t, MF_DNS_TYPE_SOA, soa_ttl, 22, true);
    const uint8_t roots[2] = {0, 0};
    put(t, roots, 2);
    put32(t, 1);
    put32(t, 3600);
    put32(t, 600);
    put32(t, 86400);
    put32(t, soa_min);
  }
  t->keep = t->len;
  if (glue) {
    put_rr_head(t, MF_DNS_TYPE_A, 77, 4, false);
    const uint8_t g[4] = {192, 0, 2, 53};
    put(t, g, 4);
  }
  if (opt) {
    const uint8_t o[11] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
    put(t, o, sizeof(o));
  }
}

static mf_dns_msg_t parsed_answer;

static mf_dns_cache_insert_t insert(mf_dns_cache_t *c, const tmsg_t *t,
                                    uint16_t set, uint16_t up, uint64_t now)
{
  assert_int_equal(mf_dns_parse(t->b, t->len, &parsed_answer), MF_DNS_OK);
  return mf_dns_cache_insert(c, t->b, t->len, &parsed_answer, set, up, now);
}

static mf_dns_msg_t query;

static const mf_dns_msg_t *make_query(const char *name, uint16_t qtype,
                                      uint16_t id, bool rd)
{
  uint8_t q[512];
  mf_dns_name_t n;
  assert_int_equal(mf_dns_name_from_text(name, strlen(name), &n), 0);
  size_t len = mf_dns_build_query(&n, qtype, MF_DNS_CLASS_IN, id, 0, false, q,
                                  sizeof(q));
  assert_true(len > 0);
  if (!rd)
    q[2] &= (uint8_t)~(MF_DNS_FLAG_RD >> 8);
  assert_int_equal(mf_dns_parse(q, len, &query), MF_DNS_OK);
  return &query;
}

static mf_dns_msg_t parsed_out;
static uint8_t out[4096];
static size_t out_len;

/* Looks up and parses what came back; NULL on a miss. */
static mf_dns_msg_t *lookup(mf_dns_cache_t *c, const char *name, uint16_t qtype,
                            uint64_t now, mf_dns_cache_hit_t *hit)
{
  const mf_dns_msg_t *q = make_query(name, qtype, 0x7777, true);
  mf_dns_cache_lookup_t r = mf_dns_cache_lookup(c, q, now, out, sizeof(out),
                                                &out_len, hit);
  if (r == MF_DNS_CACHE_MISS)
    return NULL;
  assert_int_equal(r, MF_DNS_CACHE_HIT);
  assert_int_equal(mf_dns_parse(out, out_len, &parsed_out), MF_DNS_OK);
  return &parsed_out;
}

static mf_dns_cache_t *cache(uint32_t entries, uint64_t bytes, uint32_t min_ttl,
                             uint32_t max_ttl)
{
  mf_dns_cache_config_t cfg = {.max_entries = entries, .max_bytes = bytes,
                               .min_ttl = min_ttl, .max_ttl = max_ttl,
                               .seed = 42};
  mf_dns_cache_t *c = mf_dns_cache_create(&cfg);
  assert_non_null(c);
  return c;
}

static mf_dns_cache_stats_t stats(const mf_dns_cache_t *c)
{
  mf_dns_cache_stats_t st;
  mf_dns_cache_stats(c, &st);
  return st;
}

/* ---- behaviour ---- */

static void test_hit_rewrites_id_case_and_ttls(void **state)
{
  mf_dns_cache_t *c = cache(100, 65536, 0, 0);
  tmsg_t t;
  const uint32_t ttls[2] = {300, 600};
  t_answer(&t, "www.Example.com", MF_DNS_TYPE_A, T_POSITIVE, 2, ttls, 0, 0, true,
           true, MF_DNS_FLAG_AA);
  uint64_t t0 = 1000 * S;
  assert_int_equal(insert(c, &t, 3, 1, t0), MF_DNS_CACHE_STORED);
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.inserted, 1);
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.bytes, t.keep);
  assert_int_equal(st.chunk_bytes, (t.keep + 63) / 64 * 64);

  mf_dns_cache_hit_t hit;
  mf_dns_msg_t *m = lookup(c, "WWW.EXAMPLE.COM", MF_DNS_TYPE_A, t0, &hit);
  assert_non_null(m);
  assert_int_equal(m->id, 0x7777);
  assert_false(m->flags & MF_DNS_FLAG_AA);
  assert_true(m->flags & MF_DNS_FLAG_RD);
  assert_int_equal(m->ar, 0); /* glue and OPT are not stored */
  assert_false(m->edns);
  assert_int_equal(out_len, t.keep);
  assert_memory_equal(&out[12], query.qname.wire, query.qname.len);
  assert_int_equal(m->an, 2);
  assert_int_equal(m->rr[0].ttl, 300);
  assert_int_equal(m->rr[1].ttl, 300); /* capped at the entry's lifetime */
  assert_int_equal(hit.kind, MF_DNS_KIND_POSITIVE);
  assert_int_equal(hit.ttl_left, 300);
  assert_int_equal(hit.set_tag, 3);
  assert_int_equal(hit.upstream_tag, 1);

  /* 100.5 s later: 100 whole seconds elapsed, 199 whole ones left. */
  m = lookup(c, "www.example.com", MF_DNS_TYPE_A, t0 + 100 * S + S / 2, &hit);
  assert_non_null(m);
  assert_int_equal(m->rr[0].ttl, 199);
  assert_int_equal(m->rr[1].ttl, 199);
  m = lookup(c, "www.example.com", MF_DNS_TYPE_A, t0 + 200 * S, NULL);
  assert_int_equal(m->rr[0].ttl, 100);
  /* Another type, another key. */
  assert_null(lookup(c, "www.example.com", MF_DNS_TYPE_AAAA, t0, NULL));
  /* At 300 s it is gone. */
  assert_null(lookup(c, "www.example.com", MF_DNS_TYPE_A, t0 + 300 * S, NULL));
  st = stats(c);
  assert_int_equal(st.hits, 3);
  assert_int_equal(st.misses, 2);
  assert_int_equal(st.expired, 1);
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(st.chunk_bytes, 0);
  mf_dns_cache_destroy(c);
}

static void test_rd_follows_query(void **state)
{
  mf_dns_cache_t *c = cache(10, 4096, 0, 0);
  tmsg_t t;
  const uint32_t ttls[1] = {60};
  t_answer(&t, "a.example", MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false,
           false, MF_DNS_FLAG_AD);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  const mf_dns_msg_t *q = make_query("a.example", MF_DNS_TYPE_A, 9, false);
  assert_int_equal(mf_dns_cache_lookup(c, q, 0, out, sizeof(out), &out_len, NULL),
                   MF_DNS_CACHE_HIT);
  uint16_t flags = mf_dns_get16(&out[2]);
  assert_false(flags & MF_DNS_FLAG_RD);
  assert_false(flags & MF_DNS_FLAG_AD); /* the query asked for neither AD nor DO */
  assert_true(flags & MF_DNS_FLAG_QR);
  /* Too small a buffer: nothing written. */
  assert_int_equal(mf_dns_cache_lookup(c, q, 0, out, 10, &out_len, NULL),
                   MF_DNS_CACHE_NO_ROOM);
  mf_dns_cache_destroy(c);
}

static void test_negative_caching(void **state)
{
  mf_dns_cache_t *c = cache(10, 4096, 0, 0);
  tmsg_t t;
  /* NXDOMAIN: SOA TTL 600, MINIMUM 300: 300 s (RFC 2308 5). */
  t_answer(&t, "gone.example", MF_DNS_TYPE_A, T_NXDOMAIN, 0, NULL, 600, 300,
           false, true, 0);
  assert_int_equal(insert(c, &t, 0, 2, 0), MF_DNS_CACHE_STORED);
  mf_dns_cache_hit_t hit;
  mf_dns_msg_t *m = lookup(c, "gone.example", MF_DNS_TYPE_A, 10 * S, &hit);
  assert_non_null(m);
  assert_int_equal(m->rcode, MF_DNS_RCODE_NXDOMAIN);
  assert_int_equal(hit.kind, MF_DNS_KIND_NXDOMAIN);
  assert_int_equal(m->ns, 1);
  assert_int_equal(m->rr[0].ttl, 290); /* the SOA's TTL ages too */
  uint32_t neg = 0;
  assert_true(mf_dns_negative_ttl(out, out_len, m, &neg));
  assert_int_equal(neg, 290);
  assert_null(lookup(c, "gone.example", MF_DNS_TYPE_A, 300 * S, NULL));

  /* NODATA for AAAA: MINIMUM above the SOA's TTL: the TTL wins. */
  t_answer(&t, "v4only.example", MF_DNS_TYPE_AAAA, T_NODATA, 0, NULL, 120, 900,
           false, false, 0);
  assert_int_equal(insert(c, &t, 0, 2, 0), MF_DNS_CACHE_STORED);
  m = lookup(c, "v4only.example", MF_DNS_TYPE_AAAA, 119 * S, &hit);
  assert_non_null(m);
  assert_int_equal(hit.kind, MF_DNS_KIND_NODATA);
  assert_int_equal(m->rcode, MF_DNS_RCODE_NOERROR);
  assert_int_equal(m->an, 0);
  assert_null(lookup(c, "v4only.example", MF_DNS_TYPE_AAAA, 120 * S, NULL));

  /* Without a SOA, and SERVFAIL: not cached. */
  t_answer(&t, "x.example", MF_DNS_TYPE_AAAA, T_NODATA_NO_SOA, 0, NULL, 0, 0,
           false, false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_NO_SOA);
  t_answer(&t, "x.example", MF_DNS_TYPE_A, T_SERVFAIL, 0, NULL, 0, 0, false,
           false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_RCODE);
  assert_int_equal(stats(c).refused, 2);
  mf_dns_cache_destroy(c);

  /* The negative cap: a day of MINIMUM is held max_neg_ttl. */
  mf_dns_cache_config_t cfg = {.max_entries = 4, .max_bytes = 1024,
                               .max_neg_ttl = 60, .seed = 7};
  c = mf_dns_cache_create(&cfg);
  assert_non_null(c);
  t_answer(&t, "gone.example", MF_DNS_TYPE_A, T_NXDOMAIN, 0, NULL, 86400, 86400,
           false, false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  m = lookup(c, "gone.example", MF_DNS_TYPE_A, 0, NULL);
  assert_int_equal(m->rr[0].ttl, 60);
  assert_null(lookup(c, "gone.example", MF_DNS_TYPE_A, 60 * S, NULL));
  mf_dns_cache_destroy(c);
}

static void test_ttl_clamps(void **state)
{
  mf_dns_cache_t *c = cache(10, 4096, 30, 100);
  tmsg_t t;
  const uint32_t short_ttl[1] = {5}, long_ttl[1] = {1000}, zero[1] = {0};
  t_answer(&t, "short.example", MF_DNS_TYPE_A, T_POSITIVE, 1, short_ttl, 0, 0,
           false, false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  mf_dns_msg_t *m = lookup(c, "short.example", MF_DNS_TYPE_A, 10 * S, NULL);
  assert_non_null(m); /* kept 30 s although the record said 5 */
  assert_int_equal(m->rr[0].ttl, 0);
  assert_null(lookup(c, "short.example", MF_DNS_TYPE_A, 30 * S, NULL));

  t_answer(&t, "long.example", MF_DNS_TYPE_A, T_POSITIVE, 1, long_ttl, 0, 0,
           false, false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  m = lookup(c, "long.example", MF_DNS_TYPE_A, 0, NULL);
  assert_int_equal(m->rr[0].ttl, 100);
  assert_null(lookup(c, "long.example", MF_DNS_TYPE_A, 100 * S, NULL));

  /* TTL 0 is kept min_ttl when there is one, and not at all otherwise. */
  t_answer(&t, "zero.example", MF_DNS_TYPE_A, T_POSITIVE, 1, zero, 0, 0, false,
           false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  mf_dns_cache_destroy(c);
  c = cache(10, 4096, 0, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_ZERO_TTL);
  assert_string_equal(mf_dns_cache_insert_name(MF_DNS_CACHE_ZERO_TTL), "zero-ttl");
  mf_dns_cache_destroy(c);
}

static void test_refusals(void **state)
{
  mf_dns_cache_t *c = cache(10, 1024, 0, 0);
  tmsg_t t;
  uint32_t ttls[40];
  for (int i = 0; i < 40; i++)
    ttls[i] = 60;
  /* A query is not an answer. */
  t_answer(&t, "a.example", MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false,
           false, 0);
  t.b[2] &= 0x7f;
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_NOT_ANSWER);
  /* Truncated. */
  t_answer(&t, "a.example", MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false,
           false, MF_DNS_FLAG_TC);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_TRUNCATED);
  /* Bigger than the arena (1024): 40 AAAA records. */
  t_answer(&t, "a.example", MF_DNS_TYPE_AAAA, T_POSITIVE, 40, ttls, 0, 0, false,
           false, 0);
  assert_true(t.keep > 1024);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_TOO_BIG);
  /* A CNAME loop (a.x -> b.x -> a.x): no end to cache. */
  const uint8_t loop[] = {
      0, 9, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
      1, 'a', 1, 'x', 0, 0, 1, 0, 1,
      0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 4, 1, 'b', 0xc0, 14,
      0xc0, 33, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 0xc0, 12};
  mf_dns_msg_t m;
  assert_int_equal(mf_dns_parse(loop, sizeof(loop), &m), MF_DNS_OK);
  assert_int_equal(mf_dns_cache_insert(c, loop, sizeof(loop), &m, 0, 0, 0),
                   MF_DNS_CACHE_BAD_ANSWER);
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.refused, 4);
  assert_int_equal(st.entries, 0);
  mf_dns_cache_destroy(c);

  /* max_entry_bytes. */
  mf_dns_cache_config_t cfg = {.max_entries = 4, .max_bytes = 8192,
                               .max_entry_bytes = 100, .seed = 3};
  c = mf_dns_cache_create(&cfg);
  t_answer(&t, "a.example", MF_DNS_TYPE_A, T_POSITIVE, 8, ttls, 0, 0, false,
           false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_TOO_BIG);
  mf_dns_cache_destroy(c);

  /* Unusable configurations. */
  mf_dns_cache_config_t bad = {.max_entries = 0, .max_bytes = 100};
  assert_null(mf_dns_cache_create(&bad));
  bad = (mf_dns_cache_config_t){.max_entries = 1, .max_bytes = 0};
  assert_null(mf_dns_cache_create(&bad));
  bad = (mf_dns_cache_config_t){.max_entries = 1, .max_bytes = 64,
                                .min_ttl = 10, .max_ttl = 5};
  assert_null(mf_dns_cache_create(&bad));
}

static void test_lru_by_entries(void **state)
{
  mf_dns_cache_t *c = cache(3, 65536, 0, 0);
  tmsg_t t;
  const uint32_t ttls[1] = {600};
  const char *names[4] = {"a.example", "b.example", "c.example", "d.example"};
  for (int i = 0; i < 3; i++) {
    t_answer(&t, names[i], MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false,
             false, 0);
    assert_int_equal(insert(c, &t, 0, 0, (uint64_t)i * S), MF_DNS_CACHE_STORED);
  }
  assert_non_null(lookup(c, "a.example", MF_DNS_TYPE_A, 5 * S, NULL));
  t_answer(&t, names[3], MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false, false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 6 * S), MF_DNS_CACHE_STORED);
  /* b was the least recently used. */
  assert_null(lookup(c, "b.example", MF_DNS_TYPE_A, 7 * S, NULL));
  assert_non_null(lookup(c, "a.example", MF_DNS_TYPE_A, 7 * S, NULL));
  assert_non_null(lookup(c, "c.example", MF_DNS_TYPE_A, 7 * S, NULL));
  assert_non_null(lookup(c, "d.example", MF_DNS_TYPE_A, 7 * S, NULL));
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.evicted, 1);
  assert_int_equal(st.entries, 3);

  /* The same question again replaces its entry and evicts nothing. */
  const uint32_t other[1] = {30};
  t_answer(&t, "c.example", MF_DNS_TYPE_A, T_POSITIVE, 1, other, 0, 0, false,
           false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 8 * S), MF_DNS_CACHE_STORED);
  st = stats(c);
  assert_int_equal(st.replaced, 1);
  assert_int_equal(st.evicted, 1);
  assert_int_equal(st.entries, 3);
  mf_dns_msg_t *m = lookup(c, "C.example", MF_DNS_TYPE_A, 8 * S, NULL);
  assert_int_equal(m->rr[0].ttl, 30);
  mf_dns_cache_destroy(c);
}

static void test_lru_by_bytes(void **state)
{
  /* 10 chunks of 64 bytes. 8 AAAA records of nN.example take
   * 12 + 16 + 8 * 28 = 252 bytes: 4 chunks; 5 A records of small.example
   * 12 + 19 + 80 = 111: 2 chunks. */
  mf_dns_cache_t *c = cache(100, 640, 0, 0);
  tmsg_t t;
  const uint32_t ttls[8] = {600, 600, 600, 600, 600, 600, 600, 600};
  char name[32];
  for (int i = 0; i < 6; i++) {
    snprintf(name, sizeof(name), "n%d.example", i);
    t_answer(&t, name, MF_DNS_TYPE_AAAA, T_POSITIVE, 8, ttls, 0, 0, false, false, 0);
    assert_int_equal(t.keep, 252);
    assert_int_equal(insert(c, &t, 0, 0, (uint64_t)i * S), MF_DNS_CACHE_STORED);
    mf_dns_cache_stats_t st = stats(c);
    assert_true(st.chunk_bytes <= 640);
    assert_int_equal(st.entries, i < 2 ? i + 1 : 2);
  }
  /* Two answers of 4 chunks fit, a third does not: the oldest go. */
  assert_null(lookup(c, "n3.example", MF_DNS_TYPE_AAAA, 10 * S, NULL));
  assert_non_null(lookup(c, "n4.example", MF_DNS_TYPE_AAAA, 10 * S, NULL));
  assert_non_null(lookup(c, "n5.example", MF_DNS_TYPE_AAAA, 10 * S, NULL));
  /* A small answer (2 chunks) fits beside them. */
  t_answer(&t, "small.example", MF_DNS_TYPE_A, T_POSITIVE, 5, ttls, 0, 0, false,
           false, 0);
  assert_int_equal(insert(c, &t, 0, 0, 11 * S), MF_DNS_CACHE_STORED);
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.entries, 3);
  assert_int_equal(st.chunk_bytes, 640);
  assert_int_equal(st.evicted, 4);
  mf_dns_cache_destroy(c);
}

static void test_iteration_sweep_flush(void **state)
{
  mf_dns_cache_t *c = cache(16, 8192, 0, 0);
  tmsg_t t;
  char name[32];
  for (uint32_t i = 0; i < 5; i++) {
    const uint32_t ttls[2] = {10 + 100 * i, 1000};
    snprintf(name, sizeof(name), "Host%u.Example", i);
    t_answer(&t, name, MF_DNS_TYPE_A, T_POSITIVE, 2, ttls, 0, 0, false, false, 0);
    assert_int_equal(insert(c, &t, (uint16_t)(100 + i), (uint16_t)i, 0),
                     MF_DNS_CACHE_STORED);
  }
  uint32_t cursor = 0, seen = 0, visits = 0;
  mf_dns_cache_info_t info;
  uint8_t msg[512];
  size_t msg_len = 0;
  while (mf_dns_cache_next(c, &cursor, 5 * S, &info, msg, sizeof(msg), &msg_len)) {
    assert_true(visits++ < 5);
    char text[MF_DNS_NAME_TEXT_SIZE];
    assert_true(mf_dns_name_to_text(&info.name, text, sizeof(text)) > 0);
    unsigned i = 99;
    assert_int_equal(sscanf(text, "host%u.example", &i), 1);
    assert_true(i < 5);
    seen |= 1u << i;
    assert_int_equal(info.set_tag, 100 + i);
    assert_int_equal(info.upstream_tag, i);
    assert_int_equal(info.qtype, MF_DNS_TYPE_A);
    assert_int_equal(info.kind, MF_DNS_KIND_POSITIVE);
    assert_int_equal(info.ancount, 2);
    assert_int_equal(info.ttl_left, 10 + 100 * i - 5);
    assert_int_equal(msg_len, info.msg_len);
    mf_dns_msg_t m;
    assert_int_equal(mf_dns_parse(msg, msg_len, &m), MF_DNS_OK);
    mf_dns_answer_t a;
    assert_int_equal(mf_dns_answer_extract(msg, msg_len, &m, &a), MF_DNS_OK);
    assert_int_equal(a.n_addrs, 2);
    assert_int_equal(a.addrs[0].ttl, 10 + 100 * i - 5);
  }
  assert_int_equal(seen, 0x1f);
  /* Without a buffer: info only. */
  cursor = 0;
  assert_true(mf_dns_cache_next(c, &cursor, 0, &info, NULL, 0, &msg_len));
  assert_int_equal(msg_len, 0);

  /* At 150 s the first two (10 and 110 s) are dead: iteration skips them,
   * a sweep drops them. */
  cursor = 0;
  unsigned n = 0;
  while (mf_dns_cache_next(c, &cursor, 150 * S, &info, NULL, 0, NULL) && n < 10)
    n++;
  assert_int_equal(n, 3);
  assert_int_equal(mf_dns_cache_sweep(c, 150 * S, 1000), 2);
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.entries, 3);
  assert_int_equal(st.expired, 2);

  mf_dns_cache_flush(c);
  st = stats(c);
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.flushed, 3);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(st.chunk_bytes, 0);
  assert_null(lookup(c, "host4.example", MF_DNS_TYPE_A, 150 * S, NULL));
  cursor = 0;
  assert_false(mf_dns_cache_next(c, &cursor, 150 * S, &info, NULL, 0, NULL));
  assert_true(mf_dns_cache_memory(c) > 8192);
  mf_dns_cache_destroy(c);
}

static void test_many_names_random_seed(void **state)
{
  mf_dns_cache_config_t cfg = {.max_entries = 4096, .max_bytes = 4096 * 64};
  mf_dns_cache_t *c = mf_dns_cache_create(&cfg); /* seed from getrandom */
  assert_non_null(c);
  tmsg_t t;
  const uint32_t ttls[1] = {600};
  char name[64];
  for (int i = 0; i < 4096; i++) {
    snprintf(name, sizeof(name), "n%d.x%d.example", i, i % 7);
    t_answer(&t, name, MF_DNS_TYPE_A, T_POSITIVE, 1, ttls, 0, 0, false, false, 0);
    assert_int_equal(insert(c, &t, 0, 0, 0), MF_DNS_CACHE_STORED);
  }
  for (int i = 0; i < 4096; i++) {
    snprintf(name, sizeof(name), "N%d.X%d.EXAMPLE", i, i % 7);
    mf_dns_msg_t *m = lookup(c, name, MF_DNS_TYPE_A, S, NULL);
    assert_non_null(m);
    assert_int_equal(m->rr[0].ttl, 599);
  }
  mf_dns_cache_stats_t st = stats(c);
  assert_int_equal(st.hits, 4096);
  assert_int_equal(st.evicted, 0);
  mf_dns_cache_destroy(c);
}

/* ---- differential against a naive reference ---- */

#define REF_MAX 64

typedef struct {
  char name[32]; /* as inserted, lower case */
  uint16_t qtype;
  uint8_t bytes[2048];
  size_t keep;
  size_t ttl_at[80];
  unsigned n_ttl;
  uint64_t inserted, expires;
  uint16_t set_tag, up_tag;
} ref_entry_t;

typedef struct {
  ref_entry_t e[REF_MAX]; /* e[0] most recently used */
  unsigned n;
  uint32_t max_entries;
  uint64_t chunks, max_chunks;
  uint32_t min_ttl, max_ttl, max_neg;
  mf_dns_cache_stats_t st;
} ref_t;

static uint64_t ref_chunks(size_t len)
{
  return (len + MF_DNS_CACHE_CHUNK - 1) / MF_DNS_CACHE_CHUNK;
}

static void ref_remove(ref_t *r, unsigned i)
{
  r->chunks -= ref_chunks(r->e[i].keep);
  r->st.bytes -= r->e[i].keep;
  memmove(&r->e[i], &r->e[i + 1], (r->n - i - 1) * sizeof(r->e[0]));
  r->n--;
}

static int ref_find(const ref_t *r, const char *name, uint16_t qtype)
{
  for (unsigned i = 0; i < r->n; i++)
    if (r->e[i].qtype == qtype && strcasecmp(r->e[i].name, name) == 0)
      return (int)i;
  return -1;
}

static void ref_to_front(ref_t *r, unsigned i)
{
  ref_entry_t tmp = r->e[i];
  memmove(&r->e[1], &r->e[0], i * sizeof(r->e[0]));
  r->e[0] = tmp;
}

/* The lifetime the reference expects, or -1 when it expects a refusal. */
static int64_t ref_life(const ref_t *r, int kind, unsigned n,
                        const uint32_t *ttls, uint32_t soa_ttl, uint32_t soa_min)
{
  uint64_t life;
  if (kind == T_POSITIVE) {
    life = UINT32_MAX;
    for (unsigned i = 0; i < n; i++)
      if (ttls[i] < life)
        life = ttls[i];
  } else {
    life = soa_ttl < soa_min ? soa_ttl : soa_min;
    if (life > r->max_neg)
      life = r->max_neg;
  }
  if (life == 0 && r->min_ttl == 0)
    return -1;
  if (life < r->min_ttl)
    life = r->min_ttl;
  if (r->max_ttl && life > r->max_ttl)
    life = r->max_ttl;
  return (int64_t)life;
}

static void ref_insert(ref_t *r, const char *name, uint16_t qtype,
                       const tmsg_t *t, uint64_t life, uint16_t set_tag,
                       uint16_t up_tag, uint64_t now)
{
  int old = ref_find(r, name, qtype);
  if (old >= 0) {
    ref_remove(r, (unsigned)old);
    r->st.replaced++;
  }
  uint64_t need = ref_chunks(t->keep);
  while (r->n > 0 && (r->n == r->max_entries || r->chunks + need > r->max_chunks)) {
    if (now >= r->e[r->n - 1].expires)
      r->st.expired++;
    else
      r->st.evicted++;
    ref_remove(r, r->n - 1);
  }
  assert_true(r->n < REF_MAX);
  memmove(&r->e[1], &r->e[0], r->n * sizeof(r->e[0]));
  ref_entry_t *e = &r->e[0];
  snprintf(e->name, sizeof(e->name), "%s", name);
  e->qtype = qtype;
  memcpy(e->bytes, t->b, t->keep);
  e->keep = t->keep;
  memcpy(e->ttl_at, t->ttl_at, sizeof(t->ttl_at));
  e->n_ttl = t->n_ttl;
  e->inserted = now;
  e->expires = now + life * S;
  e->set_tag = set_tag;
  e->up_tag = up_tag;
  r->n++;
  r->chunks += need;
  r->st.bytes += t->keep;
  r->st.inserted++;
}

/* What a hit must return: the stored bytes with the query's ID, RD and
 * case, no AA, no additional section, TTLs aged at the written-down
 * offsets. */
static size_t ref_expect(const ref_entry_t *e, const mf_dns_msg_t *q,
                         uint64_t now, uint8_t *exp)
{
  memcpy(exp, e->bytes, e->keep);
  mf_dns_put16(&exp[0], q->id);
  uint16_t flags = mf_dns_get16(&exp[2]) & (uint16_t)~MF_DNS_FLAG_AA;
  flags = (uint16_t)((flags & ~MF_DNS_FLAG_RD) | (q->flags & MF_DNS_FLAG_RD));
  mf_dns_put16(&exp[2], flags);
  mf_dns_put16(&exp[10], 0);
  memcpy(&exp[12], q->qname.wire, q->qname.len);
  uint64_t elapsed = (now - e->inserted) / S, left = (e->expires - now) / S;
  for (unsigned i = 0; i < e->n_ttl; i++) {
    uint64_t v = mf_dns_get32(&exp[e->ttl_at[i]]);
    v = v > elapsed ? v - elapsed : 0;
    if (v > left)
      v = left;
    mf_dns_put32(&exp[e->ttl_at[i]], (uint32_t)v);
  }
  return e->keep;
}

static void random_case(char *s)
{
  for (; *s; s++)
    if (*s >= 'a' && *s <= 'z' && (rnd() & 1))
      *s = (char)(*s - 'a' + 'A');
}

static void assert_stats_equal(const mf_dns_cache_stats_t *a,
                               const mf_dns_cache_stats_t *b)
{
  assert_int_equal(a->hits, b->hits);
  assert_int_equal(a->misses, b->misses);
  assert_int_equal(a->expired, b->expired);
  assert_int_equal(a->evicted, b->evicted);
  assert_int_equal(a->inserted, b->inserted);
  assert_int_equal(a->replaced, b->replaced);
  assert_int_equal(a->refused, b->refused);
  assert_int_equal(a->flushed, b->flushed);
  assert_int_equal(a->entries, b->entries);
  assert_int_equal(a->bytes, b->bytes);
  assert_int_equal(a->chunk_bytes, b->chunk_bytes);
}

/* Compares what the cache lists with the reference's live entries. */
static void check_listing(const mf_dns_cache_t *c, const ref_t *r, uint64_t now)
{
  unsigned live = 0;
  for (unsigned i = 0; i < r->n; i++)
    live += now < r->e[i].expires;
  uint32_t cursor = 0;
  unsigned n = 0;
  mf_dns_cache_info_t info;
  while (mf_dns_cache_next(c, &cursor, now, &info, NULL, 0, NULL)) {
    assert_true(n++ < REF_MAX);
    char text[MF_DNS_NAME_TEXT_SIZE];
    mf_dns_name_to_text(&info.name, text, sizeof(text));
    int i = ref_find(r, text, info.qtype);
    assert_true(i >= 0);
    const ref_entry_t *e = &r->e[i];
    assert_true(now < e->expires);
    assert_int_equal(info.ttl_left, (e->expires - now) / S);
    assert_int_equal(info.set_tag, e->set_tag);
    assert_int_equal(info.upstream_tag, e->up_tag);
    assert_int_equal(info.msg_len, e->keep);
  }
  assert_int_equal(n, live);
}

static void run_differential(uint32_t max_entries, uint64_t max_bytes,
                             uint32_t min_ttl, uint32_t max_ttl,
                             uint32_t max_neg, uint32_t rr_ttl_range,
                             unsigned steps)
{
  mf_dns_cache_config_t cfg = {.max_entries = max_entries,
                               .max_bytes = max_bytes, .min_ttl = min_ttl,
                               .max_ttl = max_ttl, .max_neg_ttl = max_neg,
                               .seed = rnd() | 1};
  mf_dns_cache_t *c = mf_dns_cache_create(&cfg);
  assert_non_null(c);
  static ref_t r;
  memset(&r, 0, sizeof(r));
  r.max_entries = max_entries;
  r.max_chunks = ref_chunks(max_bytes);
  r.min_ttl = min_ttl;
  r.max_ttl = max_ttl;
  r.max_neg = max_neg;
  uint64_t now = 5 * S;
  static tmsg_t t;
  static uint8_t exp[2048];

  for (unsigned step = 0; step < steps; step++) {
    char name[32];
    snprintf(name, sizeof(name), "h%u.example", (unsigned)(rnd() % 30));
    uint16_t qtype = rnd() % 3 ? MF_DNS_TYPE_A : MF_DNS_TYPE_AAAA;
    unsigned op = (unsigned)(rnd() % 1000);
    if (op < 450) {
      /* Insert a positive or negative answer of random size and TTLs. */
      unsigned kind = rnd() % 5 == 0 ? (rnd() & 1 ? T_NXDOMAIN : T_NODATA)
                                     : T_POSITIVE;
      unsigned n = 1 + (unsigned)(rnd() % 8);
      uint32_t ttls[8];
      for (unsigned i = 0; i < n; i++)
        ttls[i] = rnd() % 50 == 0 ? 0 : (uint32_t)(rnd() % rr_ttl_range);
      uint32_t soa_ttl = (uint32_t)(rnd() % rr_ttl_range);
      uint32_t soa_min = (uint32_t)(rnd() % rr_ttl_range);
      char as_sent[32];
      snprintf(as_sent, sizeof(as_sent), "%s", name);
      random_case(as_sent);
      t_answer(&t, as_sent, qtype, (int)kind, n, ttls, soa_ttl, soa_min,
               rnd() & 1, rnd() & 1, 0);
      uint16_t set_tag = (uint16_t)(rnd() % 5), up_tag = (uint16_t)(rnd() % 3);
      int64_t life = ref_life(&r, (int)kind, n, ttls, soa_ttl, soa_min);
      mf_dns_cache_insert_t got = insert(c, &t, set_tag, up_tag, now);
      if (life < 0) {
        assert_int_equal(got, MF_DNS_CACHE_ZERO_TTL);
        r.st.refused++;
      } else {
        assert_int_equal(got, MF_DNS_CACHE_STORED);
        ref_insert(&r, name, qtype, &t, (uint64_t)life, set_tag, up_tag, now);
      }
    } else if (op < 900) {
      char asked[32];
      snprintf(asked, sizeof(asked), "%s", name);
      random_case(asked);
      const mf_dns_msg_t *q = make_query(asked, qtype, (uint16_t)rnd(), rnd() & 1);
      mf_dns_cache_hit_t hit;
      mf_dns_cache_lookup_t got =
          mf_dns_cache_lookup(c, q, now, out, sizeof(out), &out_len, &hit);
      int i = ref_find(&r, name, qtype);
      if (i >= 0 && now >= r.e[i].expires) {
        ref_remove(&r, (unsigned)i);
        r.st.expired++;
        i = -1;
      }
      if (i < 0) {
        r.st.misses++;
        assert_int_equal(got, MF_DNS_CACHE_MISS);
      } else {
        r.st.hits++;
        assert_int_equal(got, MF_DNS_CACHE_HIT);
        size_t n = ref_expect(&r.e[i], q, now, exp);
        assert_int_equal(out_len, n);
        assert_memory_equal(out, exp, n);
        assert_int_equal(hit.set_tag, r.e[i].set_tag);
        assert_int_equal(hit.upstream_tag, r.e[i].up_tag);
        ref_to_front(&r, (unsigned)i);
      }
    } else if (op < 930) {
      /* A full sweep: every slot once. */
      unsigned dead = 0;
      for (unsigned i = r.n; i-- > 0;)
        if (now >= r.e[i].expires) {
          ref_remove(&r, i);
          dead++;
        }
      r.st.expired += dead;
      assert_int_equal(mf_dns_cache_sweep(c, now, max_entries), dead);
    } else if (op < 932) {
      r.st.flushed += r.n;
      while (r.n)
        ref_remove(&r, r.n - 1);
      mf_dns_cache_flush(c);
    } else {
      check_listing(c, &r, now);
    }
    /* Mostly small steps (sub-second ageing), now and then a long one. */
    now += rnd() % 10 ? rnd() % (S / 2) : rnd() % (5 * S);
    r.st.entries = r.n;
    r.st.chunk_bytes = r.chunks * MF_DNS_CACHE_CHUNK;
    mf_dns_cache_stats_t got = stats(c);
    assert_stats_equal(&got, &r.st);
    assert_true(got.chunk_bytes <= r.max_chunks * MF_DNS_CACHE_CHUNK);
    assert_true(got.entries <= max_entries);
  }
  print_message("  %u steps: %llu inserted, %llu replaced, %llu refused, %llu hits, "
                "%llu misses, %llu expired, %llu evicted, %llu flushed\n",
                steps, (unsigned long long)r.st.inserted,
                (unsigned long long)r.st.replaced,
                (unsigned long long)r.st.refused, (unsigned long long)r.st.hits,
                (unsigned long long)r.st.misses, (unsigned long long)r.st.expired,
                (unsigned long long)r.st.evicted, (unsigned long long)r.st.flushed);
  /* Both limits were exercised. */
  assert_true(r.st.evicted > 0);
  assert_true(r.st.expired > 0);
  assert_true(r.st.hits > 0);
  mf_dns_cache_destroy(c);
}

static void test_differential_entries_bound(void **state)
{
  /* Plenty of bytes: the entry count binds. */
  run_differential(8, 64 * 1024, 0, 20, 10, 25, 60000);
}

static void test_differential_bytes_bound(void **state)
{
  /* 20 chunks: the bytes bind (answers take 1 to 5 chunks). */
  /* min_ttl 5 keeps short answers longer than their TTLs say. */
  run_differential(40, 20 * 64, 5, 15, 8, 25, 60000);
}

static void test_differential_mixed(void **state)
{
  /* No TTL cap and long TTLs: live entries are evicted, not only dead
   * ones, and sub-second ageing is exercised over minutes. */
  run_differential(12, 1500, 0, 0, 3600, 400, 60000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hit_rewrites_id_case_and_ttls),
      cmocka_unit_test(test_rd_follows_query),
      cmocka_unit_test(test_negative_caching),
      cmocka_unit_test(test_ttl_clamps),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_lru_by_entries),
      cmocka_unit_test(test_lru_by_bytes),
      cmocka_unit_test(test_iteration_sweep_flush),
      cmocka_unit_test(test_many_names_random_seed),
      cmocka_unit_test(test_differential_entries_bound),
      cmocka_unit_test(test_differential_bytes_bound),
      cmocka_unit_test(test_differential_mixed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
