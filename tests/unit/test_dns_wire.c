/* DNS names, message parsing and building (src/dns/dns_name, dns_wire,
 * dns_build) on hand-built messages whose bytes are spelled out below:
 * the compression example of RFC 1035 4.1.4, answers with compression and
 * CNAME chains, every kind of malformed name (loops, forward pointers,
 * 256-octet names, 64-octet labels, reserved label types), every prefix
 * of valid messages, EDNS present, absent and misplaced; then the
 * builders, whose output is parsed back, truncation to UDP limits, the
 * TCP framing fed in random slices, and random mutations of valid
 * messages that must never crash the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "test_rng.h"

#include "dns/dns_build.h"
#include "dns/dns_name.h"
#include "dns/dns_wire.h"

/* ---- utilities ---- */

static mf_dns_name_t name_of(const char *text)
{
  mf_dns_name_t n;
  assert_int_equal(mf_dns_name_from_text(text, strlen(text), &n), 0);
  return n;
}

static void assert_name_text(const mf_dns_name_t *n, const char *want)
{
  char buf[MF_DNS_NAME_TEXT_SIZE];
  assert_true(mf_dns_name_to_text(n, buf, sizeof(buf)) >= 0);
  assert_string_equal(buf, want);
}

/* Parses and asserts success; the struct is big, so it is static. */
static mf_dns_msg_t parsed;

static mf_dns_msg_t *parse_ok(const uint8_t *msg, size_t len)
{
  mf_dns_err_t e = mf_dns_parse(msg, len, &parsed);
  if (e != MF_DNS_OK)
    fail_msg("parse failed: %s", mf_dns_err_name(e));
  return &parsed;
}

static mf_dns_err_t parse_err(const uint8_t *msg, size_t len)
{
  return mf_dns_parse(msg, len, &parsed);
}

/* ---- hand-built messages ---- */

/* A query for www.example.com A, ID 0x1234, RD set. */
static const uint8_t query_www[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 12: www.example.com */
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    /* 29: type A, class IN */
    0x00, 0x01, 0x00, 0x01,
};

/* Its answer: www.example.com CNAME web.example.com, then two A records of
 * web.example.com, every name compressed:
 *   33: owner -> 12; CNAME TTL 3600; rdata "web" + pointer to 16
 *       ("example.com" inside the question)
 *   51: owner -> 45 (the CNAME's target); A TTL 300 93.184.216.34
 *   67: owner -> 45; A TTL 60 93.184.216.35 */
static const uint8_t answer_www[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0x00, 0x01, 0x00, 0x01,
    /* 33 */
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x06,
    /* 45 */
    3, 'w', 'e', 'b', 0xc0, 0x10,
    /* 51 */
    0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04,
    93, 184, 216, 34,
    /* 67 */
    0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,
    93, 184, 216, 35,
};

/* NXDOMAIN for nothere.example.com A with the zone's SOA in authority:
 * SOA TTL 600, MINIMUM 300, MNAME ns.example.com and RNAME
 * admin.example.com both compressed against "example.com" at 20. */
static const uint8_t nxdomain_soa[] = {
    0xab, 0xcd, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    /* 12 */
    7, 'n', 'o', 't', 'h', 'e', 'r', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
    3, 'c', 'o', 'm', 0,
    /* 33 */
    0x00, 0x01, 0x00, 0x01,
    /* 37: owner -> 20, SOA, IN, TTL 600, RDLENGTH 33 */
    0xc0, 0x14, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x21,
    2, 'n', 's', 0xc0, 0x14,
    5, 'a', 'd', 'm', 'i', 'n', 0xc0, 0x14,
    0x00, 0x00, 0x00, 0x01, /* serial */
    0x00, 0x00, 0x1c, 0x20, /* refresh */
    0x00, 0x00, 0x0e, 0x10, /* retry */
    0x00, 0x09, 0x3a, 0x80, /* expire */
    0x00, 0x00, 0x01, 0x2c, /* minimum 300 */
};

/* An OPT record: UDP 4096, version 0, DO set, no options. */
static const uint8_t opt_4096_do[] = {0x00, 0x00, 0x29, 0x10, 0x00, 0x00,
                                      0x00, 0x80, 0x00, 0x00, 0x00};

/* msg with one more additional record appended (count bumped). */
static size_t with_additional(const uint8_t *msg, size_t len, const uint8_t *rr,
                              size_t rr_len, uint8_t *out)
{
  memcpy(out, msg, len);
  memcpy(&out[len], rr, rr_len);
  mf_dns_put16(&out[10], (uint16_t)(mf_dns_get16(&out[10]) + 1));
  return len + rr_len;
}

/* ---- names ---- */

/* RFC 1035 4.1.4: F.ISI.ARPA at 20, FOO.F.ISI.ARPA at 40 as FOO and a
 * pointer to 20, ARPA at 64 as a pointer to 26, the root at 92. */
static void test_rfc1035_compression_example(void **state)
{
  uint8_t m[93] = {0};
  const uint8_t f_isi_arpa[] = {1, 'F', 3, 'I', 'S', 'I', 4, 'A', 'R', 'P', 'A', 0};
  memcpy(&m[20], f_isi_arpa, sizeof(f_isi_arpa));
  const uint8_t foo[] = {3, 'F', 'O', 'O', 0xc0, 20};
  memcpy(&m[40], foo, sizeof(foo));
  m[64] = 0xc0;
  m[65] = 26;
  m[92] = 0;

  mf_dns_name_t n;
  size_t next;
  assert_int_equal(mf_dns_name_read(m, sizeof(m), 20, &n, &next), MF_DNS_NAME_OK);
  assert_name_text(&n, "f.isi.arpa");
  assert_int_equal(next, 32);
  assert_int_equal(n.labels, 3);
  assert_int_equal(n.len, 12);
  assert_memory_equal(n.wire, f_isi_arpa, 12); /* case kept */

  assert_int_equal(mf_dns_name_read(m, sizeof(m), 40, &n, &next), MF_DNS_NAME_OK);
  assert_name_text(&n, "foo.f.isi.arpa");
  assert_int_equal(next, 46);
  assert_int_equal(n.labels, 4);

  assert_int_equal(mf_dns_name_read(m, sizeof(m), 64, &n, &next), MF_DNS_NAME_OK);
  assert_name_text(&n, "arpa");
  assert_int_equal(next, 66);

  assert_int_equal(mf_dns_name_read(m, sizeof(m), 92, &n, &next), MF_DNS_NAME_OK);
  assert_name_text(&n, ".");
  assert_int_equal(n.labels, 0);
  assert_int_equal(next, 93);
}

/* Puts bytes after a zeroed 12-byte header (names never start in the
 * header, and pointers may not point there) and reads the name at 12 + at. */
static mf_dns_name_status_t read_after_header(const uint8_t *bytes, size_t n,
                                              size_t at, mf_dns_name_t *name,
                                              size_t *next)
{
  uint8_t m[600] = {0};
  assert_true(n <= sizeof(m) - 12);
  memcpy(&m[12], bytes, n);
  return mf_dns_name_read(m, 12 + n, 12 + at, name, next);
}

static void test_pointer_loops_and_forward(void **state)
{
  mf_dns_name_t n;
  size_t next;
  /* Offsets in the comments are message offsets: the bytes start at 12. */
  /* A pointer to itself. */
  const uint8_t self[] = {0xc0, 12};
  assert_int_equal(read_after_header(self, sizeof(self), 0, &n, &next),
                   MF_DNS_NAME_LOOP);
  /* A label, then a pointer back to that label: inside its own run. */
  const uint8_t own_run[] = {1, 'a', 0xc0, 12};
  assert_int_equal(read_after_header(own_run, sizeof(own_run), 0, &n, &next),
                   MF_DNS_NAME_LOOP);
  /* Two pointers pointing at each other: from 14 the jump back to 12 is
   * fine, but 12 points forward to 14. */
  const uint8_t pair[] = {0xc0, 14, 0xc0, 12};
  assert_int_equal(read_after_header(pair, sizeof(pair), 2, &n, &next),
                   MF_DNS_NAME_POINTER_FORWARD);
  assert_int_equal(read_after_header(pair, sizeof(pair), 0, &n, &next),
                   MF_DNS_NAME_POINTER_FORWARD);
  /* A cycle through a label: 12: "x" then -> 16; 16: -> 12. */
  const uint8_t cyc[] = {1, 'x', 0xc0, 16, 0xc0, 12};
  assert_int_equal(read_after_header(cyc, sizeof(cyc), 4, &n, &next),
                   MF_DNS_NAME_POINTER_FORWARD);
  /* A pointer forward to a valid name is still refused. */
  const uint8_t fwd[] = {0xc0, 14, 1, 'a', 0};
  assert_int_equal(read_after_header(fwd, sizeof(fwd), 0, &n, &next),
                   MF_DNS_NAME_POINTER_FORWARD);
  /* A pointer into the header, even where the header reads as a name. */
  uint8_t hdr[20] = {0};
  hdr[12] = 0xc0;
  hdr[13] = 2;
  assert_int_equal(mf_dns_name_read(hdr, sizeof(hdr), 12, &n, &next),
                   MF_DNS_NAME_POINTER_HEADER);
  hdr[13] = 11;
  assert_int_equal(mf_dns_name_read(hdr, sizeof(hdr), 12, &n, &next),
                   MF_DNS_NAME_POINTER_HEADER);
  /* A chain of pointers, each to the one before, one longer than the jump
   * bound: the root at 12, then 14 -> 12, 16 -> 14, ... */
  uint8_t chain[2 + 2 * (MF_DNS_NAME_MAX_JUMPS + 1)];
  chain[0] = 0;
  chain[1] = 0;
  for (size_t p = 2; p < sizeof(chain); p += 2) {
    size_t target = 12 + p - 2;
    chain[p] = (uint8_t)(0xc0 | target >> 8);
    chain[p + 1] = (uint8_t)target;
  }
  size_t last = sizeof(chain) - 2;
  assert_int_equal(read_after_header(chain, sizeof(chain), last, &n, &next),
                   MF_DNS_NAME_LOOP);
  /* One jump fewer is within the bound. */
  assert_int_equal(read_after_header(chain, sizeof(chain), last - 2, &n, &next),
                   MF_DNS_NAME_OK);
  assert_int_equal(next, 12 + last);
}

static void test_reserved_label_types_and_truncation(void **state)
{
  mf_dns_name_t n;
  size_t next;
  uint8_t ext[] = {0x41, 'a', 0}; /* 01: extended label type */
  assert_int_equal(mf_dns_name_read(ext, sizeof(ext), 0, &n, &next),
                   MF_DNS_NAME_BAD_LABEL_TYPE);
  uint8_t res[] = {0x80, 0}; /* 10: reserved */
  assert_int_equal(mf_dns_name_read(res, sizeof(res), 0, &n, &next),
                   MF_DNS_NAME_BAD_LABEL_TYPE);
  /* A 64-octet label cannot even be encoded: 64 is 0x40, type 01. */
  uint8_t l64[1 + 64 + 1];
  l64[0] = 64;
  memset(&l64[1], 'a', 64);
  l64[65] = 0;
  assert_int_equal(mf_dns_name_read(l64, sizeof(l64), 0, &n, &next),
                   MF_DNS_NAME_BAD_LABEL_TYPE);
  l64[0] = 63;
  l64[64] = 0;
  assert_int_equal(mf_dns_name_read(l64, 65, 0, &n, &next), MF_DNS_NAME_OK);
  assert_int_equal(n.len, 65);
  uint8_t cut[] = {3, 'a', 'b'};
  assert_int_equal(mf_dns_name_read(cut, sizeof(cut), 0, &n, &next),
                   MF_DNS_NAME_TRUNCATED);
  uint8_t half_ptr[] = {0xc0};
  assert_int_equal(mf_dns_name_read(half_ptr, 1, 0, &n, &next),
                   MF_DNS_NAME_TRUNCATED);
  assert_int_equal(mf_dns_name_read(half_ptr, 1, 1, &n, &next),
                   MF_DNS_NAME_TRUNCATED);
  uint8_t no_root[] = {1, 'a'};
  assert_int_equal(mf_dns_name_read(no_root, 2, 0, &n, &next),
                   MF_DNS_NAME_TRUNCATED);
}

/* Writes labels of the given lengths (filled with 'a'..) and the root. */
static size_t labels_wire(uint8_t *out, const unsigned *lens, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    out[o++] = (uint8_t)lens[i];
    memset(&out[o], 'a' + (int)i, lens[i]);
    o += lens[i];
  }
  out[o++] = 0;
  return o;
}

static void test_name_length_limits(void **state)
{
  uint8_t w[300];
  mf_dns_name_t n;
  size_t next;
  /* 3 x 64 + 62 + 1 = 255 octets: the longest name. */
  const unsigned ok[] = {63, 63, 63, 61};
  size_t len = labels_wire(w, ok, 4);
  assert_int_equal(len, 255);
  assert_int_equal(mf_dns_name_read(w, len, 0, &n, &next), MF_DNS_NAME_OK);
  assert_int_equal(n.len, 255);
  assert_int_equal(next, 255);
  /* 256 octets. */
  const unsigned over[] = {63, 63, 63, 62};
  len = labels_wire(w, over, 4);
  assert_int_equal(len, 256);
  assert_int_equal(mf_dns_name_read(w, len, 0, &n, &next), MF_DNS_NAME_TOO_LONG);
  /* 256 octets only once pointers are followed: a 201-octet name at 12
   * (after a header), then a 54-octet label and a pointer to it. */
  const unsigned base[] = {63, 63, 63, 7}; /* 64*3 + 8 + 1 = 201 */
  memset(w, 0, 12);
  size_t b = 12 + labels_wire(&w[12], base, 4);
  assert_int_equal(b, 12 + 201);
  w[b] = 54;
  memset(&w[b + 1], 'z', 54);
  w[b + 55] = 0xc0;
  w[b + 56] = 12;
  assert_int_equal(mf_dns_name_read(w, b + 57, b, &n, &next),
                   MF_DNS_NAME_TOO_LONG);
  w[b] = 53; /* one octet shorter: 255 exactly */
  w[b + 54] = 0xc0;
  w[b + 55] = 12;
  assert_int_equal(mf_dns_name_read(w, b + 56, b, &n, &next), MF_DNS_NAME_OK);
  assert_int_equal(n.len, 255);
  assert_int_equal(next, b + 56);

  /* From text: 63 octets per label, 255 in all. */
  char text[400];
  memset(text, 'a', 63);
  text[63] = '\0';
  assert_int_equal(mf_dns_name_from_text(text, 63, &n), 0);
  memset(text, 'a', 64);
  assert_int_equal(mf_dns_name_from_text(text, 64, &n), -1);
  /* 4 labels of 63 = 257 octets in wire form. */
  size_t t = 0;
  for (int l = 0; l < 4; l++) {
    if (l)
      text[t++] = '.';
    memset(&text[t], 'b', 63);
    t += 63;
  }
  assert_int_equal(mf_dns_name_from_text(text, t, &n), -1);
  /* 63.63.63.61 = 255 octets: accepted, with or without the final dot. */
  t -= 2;
  assert_int_equal(mf_dns_name_from_text(text, t, &n), 0);
  assert_int_equal(n.len, 255);
  text[t] = '.';
  assert_int_equal(mf_dns_name_from_text(text, t + 1, &n), 0);
  assert_int_equal(n.len, 255);
}

static void test_name_text_and_case(void **state)
{
  mf_dns_name_t a = name_of("WWW.Example.COM.");
  mf_dns_name_t b = name_of("www.example.com");
  assert_true(mf_dns_name_equal(&a, &b));
  assert_int_equal(a.labels, 3);
  assert_int_equal(a.wire[1], 'W'); /* case kept */
  assert_name_text(&a, "www.example.com");
  mf_dns_name_lower(&a);
  assert_int_equal(a.wire[1], 'w');
  mf_dns_name_t c = name_of("www.example.co");
  assert_false(mf_dns_name_equal(&b, &c));
  mf_dns_name_t d = name_of("ww.wexample.com");
  assert_false(mf_dns_name_equal(&b, &d)); /* same octets, other labels */

  /* A label holding a dot reads back escaped, never as two labels. */
  mf_dns_name_t e = name_of("a\\.b.c");
  assert_int_equal(e.labels, 2);
  assert_name_text(&e, "a\\046b.c");
  mf_dns_name_t f = name_of("x\\000y.\\255");
  assert_int_equal(f.labels, 2);
  assert_int_equal(f.wire[2], 0);
  assert_name_text(&f, "x\\000y.\\255");
  mf_dns_name_t g = name_of("_dmarc.Example-1.org");
  assert_name_text(&g, "_dmarc.example-1.org");
  mf_dns_name_t root = name_of(".");
  assert_int_equal(root.len, 1);
  assert_name_text(&root, ".");

  mf_dns_name_t bad;
  assert_int_equal(mf_dns_name_from_text("", 0, &bad), -1);
  assert_int_equal(mf_dns_name_from_text("a..b", 4, &bad), -1);
  assert_int_equal(mf_dns_name_from_text(".a", 2, &bad), -1);
  assert_int_equal(mf_dns_name_from_text("a\\", 2, &bad), -1);
  assert_int_equal(mf_dns_name_from_text("a\\25", 4, &bad), -1);
  assert_int_equal(mf_dns_name_from_text("a\\256", 5, &bad), -1);
  char small[4];
  assert_int_equal(mf_dns_name_to_text(&b, small, sizeof(small)), -1);
}

static void test_name_write_compression(void **state)
{
  uint8_t m[512];
  memset(m, 0, MF_DNS_HEADER_LEN);
  size_t off = MF_DNS_HEADER_LEN;
  mf_dns_compress_t c;
  mf_dns_compress_init(&c);
  mf_dns_name_t www = name_of("www.example.com");
  mf_dns_name_t mail = name_of("MAIL.EXAMPLE.COM");
  mf_dns_name_t org = name_of("example.org");
  mf_dns_name_t root = name_of(".");

  assert_int_equal(mf_dns_name_write(m, sizeof(m), &off, &www, &c), 0);
  assert_int_equal(off, 12 + 17);
  /* The same name again: one pointer to 12. */
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &off, &www, &c), 0);
  assert_int_equal(off, 29 + 2);
  assert_int_equal(m[29], 0xc0);
  assert_int_equal(m[30], 12);
  /* Another case of a shared suffix: "mail" and a pointer to 16. */
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &off, &mail, &c), 0);
  assert_int_equal(off, 31 + 5 + 2);
  assert_int_equal(m[36], 0xc0);
  assert_int_equal(m[37], 16);
  /* Nothing shared but the root: written whole. */
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &off, &org, &c), 0);
  assert_int_equal(off, 38 + 13);
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &off, &root, &c), 0);
  assert_int_equal(off, 52);

  /* Reading back gives the names. */
  mf_dns_name_t n;
  size_t next;
  const struct { size_t at; const mf_dns_name_t *want; } back[] = {
      {12, &www}, {29, &www}, {31, &mail}, {38, &org}, {51, &root}};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(mf_dns_name_read(m, off, back[i].at, &n, &next),
                     MF_DNS_NAME_OK);
    assert_true(mf_dns_name_equal(&n, back[i].want));
  }
  /* Too small a buffer: refused, offset unchanged. */
  size_t o2 = 500;
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &o2, &org, NULL), -1);
  assert_int_equal(o2, 500);
  /* Without compression state: written whole. */
  o2 = 100;
  assert_int_equal(mf_dns_name_write(m, sizeof(m), &o2, &www, NULL), 0);
  assert_int_equal(o2, 117);
}

/* ---- parsing ---- */

static void test_parse_query(void **state)
{
  mf_dns_msg_t *m = parse_ok(query_www, sizeof(query_www));
  assert_int_equal(m->id, 0x1234);
  assert_false(mf_dns_is_response(m));
  assert_true(m->flags & MF_DNS_FLAG_RD);
  assert_int_equal(m->qdcount, 1);
  assert_name_text(&m->qname, "www.example.com");
  assert_int_equal(m->qtype, MF_DNS_TYPE_A);
  assert_int_equal(m->qclass, MF_DNS_CLASS_IN);
  assert_int_equal(m->question_end, 33);
  assert_int_equal(m->end, 33);
  assert_int_equal(m->an + m->ns + m->ar, 0);
  assert_false(m->edns);
}

static void test_parse_answer_with_compression(void **state)
{
  mf_dns_msg_t *m = parse_ok(answer_www, sizeof(answer_www));
  assert_true(mf_dns_is_response(m));
  assert_int_equal(m->rcode, MF_DNS_RCODE_NOERROR);
  assert_int_equal(m->an, 3);
  assert_int_equal(m->end, sizeof(answer_www));
  assert_int_equal(m->rr[0].off, 33);
  assert_int_equal(m->rr[0].type, MF_DNS_TYPE_CNAME);
  assert_int_equal(m->rr[0].ttl, 3600);
  assert_int_equal(m->rr[0].rdata, 45);
  assert_int_equal(m->rr[0].rdlen, 6);
  assert_int_equal(m->rr[1].off, 51);
  assert_int_equal(m->rr[1].ttl, 300);
  assert_int_equal(m->rr[2].off, 67);
  mf_dns_name_t owner;
  assert_int_equal(mf_dns_rr_owner(answer_www, sizeof(answer_www), m, 2, &owner),
                   MF_DNS_OK);
  assert_name_text(&owner, "web.example.com");

  mf_dns_answer_t a;
  assert_int_equal(mf_dns_answer_extract(answer_www, sizeof(answer_www), m, &a),
                   MF_DNS_OK);
  assert_int_equal(a.cnames, 1);
  assert_name_text(&a.final, "web.example.com");
  assert_int_equal(a.n_final, 2);
  assert_int_equal(a.min_ttl, 60);
  assert_int_equal(a.n_addrs, 2);
  assert_int_equal(a.addrs[0].family, AF_INET);
  const uint8_t ip0[4] = {93, 184, 216, 34}, ip1[4] = {93, 184, 216, 35};
  assert_memory_equal(a.addrs[0].addr, ip0, 4);
  assert_memory_equal(a.addrs[1].addr, ip1, 4);
  assert_int_equal(a.addrs[0].ttl, 300);
  assert_int_equal(mf_dns_classify(m, &a), MF_DNS_KIND_POSITIVE);

  /* Trailing bytes are ignored; end says where the message stopped. */
  uint8_t more[sizeof(answer_www) + 3];
  memcpy(more, answer_www, sizeof(answer_www));
  memset(&more[sizeof(answer_www)], 0xff, 3);
  m = parse_ok(more, sizeof(more));
  assert_int_equal(m->end, sizeof(answer_www));
}

/* Every strict prefix of a valid message must be refused cleanly (the
 * header's counts promise more than is there); the whole parses. */
static void check_every_prefix(const uint8_t *msg, size_t len)
{
  for (size_t l = 0; l < len; l++) {
    uint8_t *copy = malloc(l ? l : 1); /* exact size: ASan sees overreads */
    assert_non_null(copy);
    memcpy(copy, msg, l);
    mf_dns_err_t e = parse_err(copy, l);
    if (e == MF_DNS_OK)
      fail_msg("prefix of %zu bytes (of %zu) parsed", l, len);
    if (l < MF_DNS_HEADER_LEN)
      assert_int_equal(e, MF_DNS_ERR_SHORT_HEADER);
    free(copy);
  }
  parse_ok(msg, len);
}

static void test_truncated_at_every_offset(void **state)
{
  check_every_prefix(query_www, sizeof(query_www));
  check_every_prefix(answer_www, sizeof(answer_www));
  check_every_prefix(nxdomain_soa, sizeof(nxdomain_soa));
  uint8_t e[200];
  size_t n = with_additional(answer_www, sizeof(answer_www), opt_4096_do,
                             sizeof(opt_4096_do), e);
  check_every_prefix(e, n);
  /* The errors name the part that broke. */
  assert_int_equal(parse_err(query_www, 20), MF_DNS_ERR_BAD_NAME);
  assert_int_equal(parse_err(query_www, 31), MF_DNS_ERR_TRUNCATED_QUESTION);
  assert_int_equal(parse_err(answer_www, 40), MF_DNS_ERR_TRUNCATED_RR);
  assert_int_equal(parse_err(answer_www, 34), MF_DNS_ERR_BAD_NAME);
}

static void test_loops_in_messages(void **state)
{
  uint8_t m[64];
  /* The question's name points at itself. */
  memcpy(m, query_www, 12);
  m[12] = 0xc0;
  m[13] = 12;
  memset(&m[14], 0, 4);
  assert_int_equal(parse_err(m, 18), MF_DNS_ERR_COMPRESSION_LOOP);
  /* The question points forward to a name after it. */
  m[13] = 18;
  m[18] = 1;
  m[19] = 'a';
  m[20] = 0;
  assert_int_equal(parse_err(m, 21), MF_DNS_ERR_POINTER_FORWARD);
  /* An answer whose owner points at the next record's owner, which points
   * back: the first is forward, so refused. */
  uint8_t r[sizeof(answer_www)];
  memcpy(r, answer_www, sizeof(r));
  r[33] = 0xc0;
  r[34] = 51;
  assert_int_equal(parse_err(r, sizeof(r)), MF_DNS_ERR_POINTER_FORWARD);
  /* A CNAME whose target is its own record's start (33), while 33 points
   * back to the question: allowed (prior). But the CNAME pointing into its
   * own rdata is a loop. */
  memcpy(r, answer_www, sizeof(r));
  r[49] = 0xc0;
  r[50] = 45; /* "web" then a pointer to "web": inside its own run */
  assert_int_equal(parse_err(r, sizeof(r)), MF_DNS_ERR_COMPRESSION_LOOP);
  /* An owner name pointing into the header (offset 0 holds 0x00 in a
   * message with ID 0x00xx, which would read as the root). */
  memcpy(r, answer_www, sizeof(r));
  r[0] = 0;
  r[51] = 0xc0;
  r[52] = 0;
  assert_int_equal(parse_err(r, sizeof(r)), MF_DNS_ERR_POINTER_HEADER);
  /* A reserved label type inside an owner name. */
  memcpy(r, answer_www, sizeof(r));
  r[51] = 0x80;
  assert_int_equal(parse_err(r, sizeof(r)), MF_DNS_ERR_BAD_NAME);
}

static void test_question_counts_and_bounds(void **state)
{
  uint8_t m[64];
  memcpy(m, query_www, sizeof(query_www));
  m[5] = 0; /* a query without a question */
  assert_int_equal(parse_err(m, sizeof(query_www)), MF_DNS_ERR_BAD_QUESTION_COUNT);
  m[5] = 2;
  assert_int_equal(parse_err(m, sizeof(query_www)), MF_DNS_ERR_BAD_QUESTION_COUNT);
  /* A response without a question (a bare REFUSED) is fine. */
  const uint8_t refused[12] = {0, 1, 0x81, 0x05, 0, 0, 0, 0, 0, 0, 0, 0};
  mf_dns_msg_t *p = parse_ok(refused, sizeof(refused));
  assert_int_equal(p->qdcount, 0);
  assert_int_equal(p->rcode, MF_DNS_RCODE_REFUSED);
  mf_dns_answer_t a;
  assert_int_equal(mf_dns_answer_extract(refused, sizeof(refused), p, &a),
                   MF_DNS_ERR_BAD_QUESTION_COUNT);
  /* More records than the parse keeps. */
  memcpy(m, answer_www, 12);
  mf_dns_put16(&m[6], MF_DNS_MAX_RRS + 1);
  m[5] = 0;
  assert_int_equal(parse_err(m, 12), MF_DNS_ERR_TOO_MANY_RRS);
  assert_int_equal(parse_err(m, 0), MF_DNS_ERR_SHORT_HEADER);
  assert_int_equal(parse_err(m, 11), MF_DNS_ERR_SHORT_HEADER);
  static uint8_t huge[MF_DNS_MSG_MAX + 1];
  assert_int_equal(parse_err(huge, sizeof(huge)), MF_DNS_ERR_MESSAGE_TOO_LONG);
  /* The error names are the counter names. */
  assert_string_equal(mf_dns_err_name(MF_DNS_ERR_COMPRESSION_LOOP),
                      "compression-loop");
  assert_string_equal(mf_dns_err_name(MF_DNS_OK), "ok");
  assert_string_equal(mf_dns_err_name((mf_dns_err_t)999), "unknown");
  for (int e = 0; e < MF_DNS_N_ERR; e++)
    assert_true(strlen(mf_dns_err_text((mf_dns_err_t)e)) > 0);
}

static void test_bad_rdata(void **state)
{
  uint8_t r[sizeof(answer_www)];
  memcpy(r, answer_www, sizeof(answer_www));
  r[62] = 5; /* the first A record claims 5 octets */
  assert_int_equal(parse_err(r, sizeof(answer_www)), MF_DNS_ERR_BAD_RDATA);
  r[62] = 30; /* and now more than there is */
  assert_int_equal(parse_err(r, sizeof(answer_www)), MF_DNS_ERR_TRUNCATED_RR);
  /* A CNAME whose name runs past its rdata length. */
  memcpy(r, answer_www, sizeof(answer_www));
  r[44] = 5;
  assert_int_equal(parse_err(r, sizeof(answer_www)), MF_DNS_ERR_BAD_RDATA);
  /* A SOA one octet short. */
  uint8_t s[sizeof(nxdomain_soa)];
  memcpy(s, nxdomain_soa, sizeof(s));
  s[48] = 0x20;
  assert_int_equal(parse_err(s, sizeof(s) - 1), MF_DNS_ERR_BAD_RDATA);
  /* A TTL with the top bit set reads 0 (RFC 2181 8). */
  memcpy(r, answer_www, sizeof(answer_www));
  r[57] = 0x80;
  mf_dns_msg_t *m = parse_ok(r, sizeof(answer_www));
  assert_int_equal(m->rr[1].ttl, 0);
}

static void test_cname_chains(void **state)
{
  /* qname c0.test -> c1.test -> ... -> cN.test A 10.0.0.1, each CNAME
   * target written whole, each owner a pointer to the previous target. */
  for (unsigned links = 0; links <= MF_DNS_MAX_CNAME_CHAIN + 1; links++) {
    uint8_t m[2048];
    size_t o = 0;
    const uint8_t h[12] = {0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(m, h, 12);
    o = 12;
    uint16_t prev = 12;
    const uint8_t q[] = {2, 'c', '0', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    memcpy(&m[o], q, sizeof(q));
    o += sizeof(q);
    for (unsigned i = 1; i <= links; i++) {
      const uint8_t rr[] = {(uint8_t)(0xc0 | prev >> 8), (uint8_t)prev, 0, 5, 0, 1,
                            0, 0, 0, (uint8_t)(100 + i), 0, 10};
      memcpy(&m[o], rr, sizeof(rr));
      o += sizeof(rr);
      prev = (uint16_t)o;
      char lab[3] = {'c', (char)('0' + i % 10), (char)('a' + i / 10)};
      m[o++] = 3;
      memcpy(&m[o], lab, 3);
      o += 3;
      const uint8_t test[] = {4, 't', 'e', 's', 't', 0};
      memcpy(&m[o], test, sizeof(test));
      o += sizeof(test);
    }
    const uint8_t a[] = {(uint8_t)(0xc0 | prev >> 8), (uint8_t)prev, 0, 1, 0, 1,
                         0, 0, 0, 50, 0, 4, 10, 0, 0, 1};
    memcpy(&m[o], a, sizeof(a));
    o += sizeof(a);
    mf_dns_put16(&m[6], (uint16_t)(links + 1));
    mf_dns_msg_t *p = parse_ok(m, o);
    mf_dns_answer_t ans;
    mf_dns_err_t e = mf_dns_answer_extract(m, o, p, &ans);
    if (links <= MF_DNS_MAX_CNAME_CHAIN) {
      assert_int_equal(e, MF_DNS_OK);
      assert_int_equal(ans.cnames, links);
      assert_int_equal(ans.n_addrs, 1);
      assert_int_equal(ans.addrs[0].addr[0], 10);
      assert_int_equal(ans.min_ttl, 50);
    } else {
      assert_int_equal(e, MF_DNS_ERR_CNAME_CHAIN);
    }
  }
}

static void test_cname_loop_and_foreign_records(void **state)
{
  /* a.x CNAME b.x; b.x CNAME a.x: an endless chain. Also an A record of
   * an unrelated name, which must not be reported. */
  const uint8_t m[] = {
      0, 9, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
      /* 12 */ 1, 'a', 1, 'x', 0, 0, 1, 0, 1,
      /* 21: a.x CNAME b.x (rdata at 33) */
      0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 4, 1, 'b', 0xc0, 14,
      /* 37: b.x CNAME a.x */
      0xc0, 33, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 0xc0, 12,
      /* 51: evil.x A 6.6.6.6 */
      4, 'e', 'v', 'i', 'l', 0xc0, 14, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 6, 6, 6, 6,
  };
  mf_dns_msg_t *p = parse_ok(m, sizeof(m));
  mf_dns_answer_t a;
  assert_int_equal(mf_dns_answer_extract(m, sizeof(m), p, &a),
                   MF_DNS_ERR_CNAME_CHAIN);
  assert_int_equal(a.n_addrs, 0);

  /* The same with "b.x A 7.7.7.7" at 37 instead of the loop back: only
   * b.x's address, not evil.x's. */
  uint8_t t[128];
  memcpy(t, m, 37);
  const uint8_t tail[] = {0xc0, 33, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 7, 7, 7, 7,
                          4, 'e', 'v', 'i', 'l', 0xc0, 14, 0, 1, 0, 1, 0, 0, 0,
                          9, 0, 4, 6, 6, 6, 6};
  memcpy(&t[37], tail, sizeof(tail));
  p = parse_ok(t, 37 + sizeof(tail));
  assert_int_equal(mf_dns_answer_extract(t, 37 + sizeof(tail), p, &a), MF_DNS_OK);
  assert_int_equal(a.n_addrs, 1);
  assert_int_equal(a.addrs[0].addr[0], 7);
  assert_name_text(&a.final, "b.x");
  /* An AAAA question on the same answer: NODATA at b.x, the A of b.x
   * still listed as an address at the chain's end. */
  t[18] = MF_DNS_TYPE_AAAA;
  p = parse_ok(t, 37 + sizeof(tail));
  assert_int_equal(mf_dns_answer_extract(t, 37 + sizeof(tail), p, &a), MF_DNS_OK);
  assert_int_equal(a.n_final, 0);
  assert_int_equal(mf_dns_classify(p, &a), MF_DNS_KIND_NODATA);
}

static void test_negative_answers(void **state)
{
  mf_dns_msg_t *m = parse_ok(nxdomain_soa, sizeof(nxdomain_soa));
  assert_int_equal(m->rcode, MF_DNS_RCODE_NXDOMAIN);
  assert_int_equal(m->ns, 1);
  mf_dns_answer_t a;
  assert_int_equal(mf_dns_answer_extract(nxdomain_soa, sizeof(nxdomain_soa), m, &a),
                   MF_DNS_OK);
  assert_int_equal(mf_dns_classify(m, &a), MF_DNS_KIND_NXDOMAIN);
  uint32_t ttl = 0;
  assert_true(mf_dns_negative_ttl(nxdomain_soa, sizeof(nxdomain_soa), m, &ttl));
  assert_int_equal(ttl, 300); /* MINIMUM below the SOA's TTL of 600 */
  uint8_t s[sizeof(nxdomain_soa)];
  memcpy(s, nxdomain_soa, sizeof(s));
  s[45] = 0x00;
  s[46] = 0x64; /* SOA TTL 100 */
  m = parse_ok(s, sizeof(s));
  assert_true(mf_dns_negative_ttl(s, sizeof(s), m, &ttl));
  assert_int_equal(ttl, 100);
  /* NODATA: NOERROR with the SOA. */
  s[3] = 0x80;
  m = parse_ok(s, sizeof(s));
  assert_int_equal(mf_dns_answer_extract(s, sizeof(s), m, &a), MF_DNS_OK);
  assert_int_equal(mf_dns_classify(m, &a), MF_DNS_KIND_NODATA);
  assert_string_equal(mf_dns_kind_name(MF_DNS_KIND_NODATA), "nodata");
  /* Without the SOA there is no negative TTL. */
  mf_dns_put16(&s[8], 0);
  m = parse_ok(s, 37);
  assert_false(mf_dns_negative_ttl(s, 37, m, &ttl));
  s[3] = 0x82;
  m = parse_ok(s, 37);
  assert_int_equal(mf_dns_classify(m, &a), MF_DNS_KIND_OTHER);
}

static void test_edns(void **state)
{
  uint8_t m[256];
  /* Absent. */
  mf_dns_msg_t *p = parse_ok(query_www, sizeof(query_www));
  assert_false(p->edns);
  /* Present: size, DO, version. */
  size_t n = with_additional(query_www, sizeof(query_www), opt_4096_do,
                             sizeof(opt_4096_do), m);
  p = parse_ok(m, n);
  assert_true(p->edns);
  assert_true(p->edns_do);
  assert_int_equal(p->edns_udp_size, 4096);
  assert_int_equal(p->edns_version, 0);
  assert_int_equal(p->opt_index, 0);
  assert_int_equal(p->ar, 1);
  /* A size below 512 counts as 512 (RFC 6891 6.2.5). */
  m[n - 8] = 0x00;
  m[n - 7] = 0x64;
  p = parse_ok(m, n);
  assert_int_equal(p->edns_udp_size, 512);
  /* Extended rcode: upper 8 bits in the OPT TTL (BADVERS = 16). */
  n = with_additional(answer_www, sizeof(answer_www), opt_4096_do,
                      sizeof(opt_4096_do), m);
  m[n - 6] = 1;
  p = parse_ok(m, n);
  assert_int_equal(p->rcode, MF_DNS_RCODE_BADVERS);
  m[n - 6] = 0;
  /* Twice. */
  uint8_t m2[256];
  n = with_additional(m, n, opt_4096_do, sizeof(opt_4096_do), m2);
  assert_int_equal(parse_err(m2, n), MF_DNS_ERR_BAD_OPT);
  /* In the answer section. */
  memcpy(m, query_www, sizeof(query_www));
  memcpy(&m[sizeof(query_www)], opt_4096_do, sizeof(opt_4096_do));
  mf_dns_put16(&m[6], 1);
  assert_int_equal(parse_err(m, sizeof(query_www) + sizeof(opt_4096_do)),
                   MF_DNS_ERR_BAD_OPT);
  /* Not owned by the root. */
  const uint8_t opt_named[] = {1, 'a', 0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0};
  n = with_additional(query_www, sizeof(query_www), opt_named,
                      sizeof(opt_named), m);
  assert_int_equal(parse_err(m, n), MF_DNS_ERR_BAD_OPT);
}

static void test_age_ttls(void **state)
{
  uint8_t m[256];
  size_t n = with_additional(answer_www, sizeof(answer_www), opt_4096_do,
                             sizeof(opt_4096_do), m);
  assert_int_equal(mf_dns_age_ttls(m, n, 100, 1000), 0);
  mf_dns_msg_t *p = parse_ok(m, n);
  assert_int_equal(p->rr[0].ttl, 1000); /* 3600 - 100, capped */
  assert_int_equal(p->rr[1].ttl, 200);
  assert_int_equal(p->rr[2].ttl, 0);
  assert_true(p->edns_do); /* OPT flags untouched */
  assert_int_equal(p->edns_udp_size, 4096);
  assert_int_equal(mf_dns_age_ttls(m, n - 1, 0, 10), -1);
  assert_int_equal(mf_dns_age_ttls(m, 5, 0, 10), -1);
}

/* ---- building ---- */

static void test_build_query_bytes(void **state)
{
  uint8_t out[128];
  mf_dns_name_t n = name_of("www.example.com");
  size_t len = mf_dns_build_query(&n, MF_DNS_TYPE_A, MF_DNS_CLASS_IN, 0x1234, 0,
                                  false, out, sizeof(out));
  assert_int_equal(len, sizeof(query_www));
  assert_memory_equal(out, query_www, len);
  len = mf_dns_build_query(&n, MF_DNS_TYPE_AAAA, MF_DNS_CLASS_IN, 7, 1232, true,
                           out, sizeof(out));
  assert_int_equal(len, sizeof(query_www) + MF_DNS_OPT_LEN);
  mf_dns_msg_t *p = parse_ok(out, len);
  assert_true(p->edns && p->edns_do);
  assert_int_equal(p->edns_udp_size, 1232);
  assert_int_equal(p->qtype, MF_DNS_TYPE_AAAA);
  assert_int_equal(p->id, 7);
  assert_int_equal(mf_dns_build_query(&n, 1, 1, 1, 0, false, out, 32), 0);
}

static mf_dns_msg_t query_copy; /* the parsed query the builders answer */

static const mf_dns_msg_t *query_for(const char *name, uint16_t qtype,
                                     uint16_t edns, bool dnssec_ok)
{
  uint8_t q[600];
  mf_dns_name_t n = name_of(name);
  size_t len = mf_dns_build_query(&n, qtype, MF_DNS_CLASS_IN, 0xbeef, edns,
                                  dnssec_ok, q, sizeof(q));
  assert_true(len > 0);
  assert_int_equal(mf_dns_parse(q, len, &query_copy), MF_DNS_OK);
  return &query_copy;
}

static void assert_response_to(const uint8_t *r, size_t len,
                               const mf_dns_msg_t *q, uint16_t rcode)
{
  mf_dns_msg_t *p = parse_ok(r, len);
  assert_true(mf_dns_is_response(p));
  assert_int_equal(p->id, q->id);
  assert_int_equal(p->rcode, rcode);
  assert_true(p->flags & MF_DNS_FLAG_RA);
  assert_false(p->flags & MF_DNS_FLAG_AA);
  assert_int_equal(p->flags & MF_DNS_FLAG_RD, q->flags & MF_DNS_FLAG_RD);
  assert_int_equal(p->qname.len, q->qname.len);
  assert_memory_equal(p->qname.wire, q->qname.wire, q->qname.len);
  assert_int_equal(p->qtype, q->qtype);
  assert_int_equal(p->edns, q->edns);
  if (q->edns) {
    assert_int_equal(p->edns_do, q->edns_do);
    assert_int_equal(p->edns_udp_size, MF_DNS_EDNS_UDP_SIZE);
  }
}

static void test_build_addrs(void **state)
{
  mf_dns_addr_t addrs[3] = {{.family = AF_INET}, {.family = AF_INET6},
                            {.family = AF_INET}};
  inet_pton(AF_INET, "192.0.2.1", addrs[0].addr);
  inet_pton(AF_INET6, "2001:db8::1", addrs[1].addr);
  inet_pton(AF_INET, "192.0.2.2", addrs[2].addr);
  uint8_t r[512];
  const mf_dns_msg_t *q = query_for("Blocked.Example", MF_DNS_TYPE_A, 0, false);
  size_t len = mf_dns_build_addrs(q, addrs, 3, 120, r, sizeof(r));
  assert_true(len > 0);
  assert_response_to(r, len, q, MF_DNS_RCODE_NOERROR);
  /* 12 + 21 question + 2 x (2 owner pointer + 10 + 4). */
  assert_int_equal(len, 12 + 21 + 2 * 16);
  assert_int_equal(r[33], 0xc0);
  assert_int_equal(r[34], 12);
  mf_dns_msg_t *p = parse_ok(r, len);
  mf_dns_answer_t a;
  assert_int_equal(mf_dns_answer_extract(r, len, p, &a), MF_DNS_OK);
  assert_int_equal(a.n_addrs, 2);
  assert_memory_equal(a.addrs[1].addr, addrs[2].addr, 4);
  assert_int_equal(a.min_ttl, 120);

  q = query_for("blocked.example", MF_DNS_TYPE_AAAA, 1232, true);
  len = mf_dns_build_addrs(q, addrs, 3, 120, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_NOERROR);
  p = parse_ok(r, len);
  assert_int_equal(mf_dns_answer_extract(r, len, p, &a), MF_DNS_OK);
  assert_int_equal(a.n_addrs, 1);
  assert_int_equal(a.addrs[0].family, AF_INET6);
  assert_memory_equal(a.addrs[0].addr, addrs[1].addr, 16);

  /* MX question: no address fits, a NODATA. */
  q = query_for("blocked.example", MF_DNS_TYPE_MX, 0, false);
  len = mf_dns_build_addrs(q, addrs, 3, 120, r, sizeof(r));
  p = parse_ok(r, len);
  assert_int_equal(p->an, 0);
  /* Too small a buffer. */
  q = query_for("blocked.example", MF_DNS_TYPE_A, 0, false);
  assert_int_equal(mf_dns_build_addrs(q, addrs, 3, 120, r, 40), 0);
}

static void test_build_negative_and_errors(void **state)
{
  uint8_t r[512];
  const mf_dns_msg_t *q = query_for("ads.example.net", MF_DNS_TYPE_A, 0, false);
  size_t len = mf_dns_build_nxdomain(q, 60, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_NXDOMAIN);
  mf_dns_msg_t *p = parse_ok(r, len);
  assert_int_equal(p->ns, 1);
  uint32_t ttl = 0;
  assert_true(mf_dns_negative_ttl(r, len, p, &ttl));
  assert_int_equal(ttl, 60);
  len = mf_dns_build_nodata(q, 0, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_NOERROR);
  p = parse_ok(r, len);
  assert_int_equal(p->an + p->ns + p->ar, 0);
  assert_int_equal(len, 12 + 21);

  q = query_for("x.example", MF_DNS_TYPE_A, 4096, false);
  len = mf_dns_build_rcode(q, MF_DNS_RCODE_SERVFAIL, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_SERVFAIL);
  len = mf_dns_build_rcode(q, MF_DNS_RCODE_BADVERS, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_BADVERS);
  q = query_for("x.example", MF_DNS_TYPE_A, 0, false);
  len = mf_dns_build_rcode(q, MF_DNS_RCODE_REFUSED, r, sizeof(r));
  assert_response_to(r, len, q, MF_DNS_RCODE_REFUSED);
  assert_int_equal(mf_dns_build_rcode(q, MF_DNS_RCODE_BADVERS, r, sizeof(r)), 0);

  /* FORMERR to garbage with a header; nothing to a response or a stub. */
  uint8_t junk[20] = {0x55, 0x66, 0x01, 0x00, 0xff, 0xff};
  len = mf_dns_build_formerr(junk, sizeof(junk), r, sizeof(r));
  assert_int_equal(len, 12);
  p = parse_ok(r, len);
  assert_int_equal(p->id, 0x5566);
  assert_int_equal(p->rcode, MF_DNS_RCODE_FORMERR);
  assert_int_equal(p->qdcount, 0);
  junk[2] = 0x81;
  assert_int_equal(mf_dns_build_formerr(junk, sizeof(junk), r, sizeof(r)), 0);
  assert_int_equal(mf_dns_build_formerr(junk, 11, r, sizeof(r)), 0);

  /* ID rewrite and OPT appended to an answer. */
  memcpy(r, answer_www, sizeof(answer_www));
  mf_dns_set_id(r, sizeof(answer_www), 0x4242);
  len = mf_dns_add_opt(r, sizeof(answer_www), sizeof(r), 1232, true);
  assert_int_equal(len, sizeof(answer_www) + MF_DNS_OPT_LEN);
  p = parse_ok(r, len);
  assert_int_equal(p->id, 0x4242);
  assert_true(p->edns && p->edns_do);
  assert_int_equal(mf_dns_add_opt(r, len, len + 5, 1232, false), 0);
}

static void test_udp_limit(void **state)
{
  const mf_dns_msg_t *q = query_for("a.b", MF_DNS_TYPE_A, 0, false);
  assert_int_equal(mf_dns_udp_limit(q, 4096), 512);
  q = query_for("a.b", MF_DNS_TYPE_A, 4096, false);
  assert_int_equal(mf_dns_udp_limit(q, 1232), 1232);
  assert_int_equal(mf_dns_udp_limit(q, 65535), 4096);
  q = query_for("a.b", MF_DNS_TYPE_A, 100, false);
  assert_int_equal(mf_dns_udp_limit(q, 1232), 512);
}

/* An answer with n A records for a long name (so it is big), with EDNS
 * when the query has it, and an additional glue record when glue. */
static size_t big_answer(const mf_dns_msg_t *q, unsigned n, bool glue,
                         uint8_t *r, size_t cap)
{
  mf_dns_addr_t addrs[MF_DNS_MAX_ADDRS];
  for (unsigned i = 0; i < n; i++) {
    addrs[i] = (mf_dns_addr_t){.family = AF_INET};
    addrs[i].addr[0] = 10;
    addrs[i].addr[3] = (uint8_t)i;
  }
  size_t len = mf_dns_build_addrs(q, addrs, n, 30, r, cap);
  assert_true(len > 0);
  if (!glue)
    return len;
  /* Insert an additional A record before any OPT: rebuild by appending
   * glue and then moving the OPT after it. */
  mf_dns_msg_t *p = parse_ok(r, len);
  size_t opt_at = p->edns ? p->rr[p->opt_index].off : len;
  uint8_t opt[MF_DNS_OPT_LEN];
  size_t opt_len = len - opt_at;
  memcpy(opt, &r[opt_at], opt_len);
  const uint8_t g[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 99};
  memcpy(&r[opt_at], g, sizeof(g));
  memcpy(&r[opt_at + sizeof(g)], opt, opt_len);
  mf_dns_put16(&r[10], (uint16_t)(mf_dns_get16(&r[10]) + 1));
  return len + sizeof(g);
}

static void test_truncate(void **state)
{
  uint8_t r[2048];
  /* Without EDNS: 40 records of 16 bytes + question > 512. */
  const mf_dns_msg_t *q = query_for("a-rather-long-name.example.com", MF_DNS_TYPE_A,
                                    0, false);
  size_t len = big_answer(q, 40, false, r, sizeof(r));
  assert_true(len > 512);
  size_t t = mf_dns_truncate(r, len, 512);
  assert_true(t > 0 && t <= 512);
  mf_dns_msg_t *p = parse_ok(r, t);
  assert_true(mf_dns_is_truncated(p));
  assert_int_equal(t, 12 + 36 + p->an * 16u);
  assert_int_equal(p->an, (512 - 12 - 36) / 16);
  assert_false(p->edns);

  /* With EDNS at 1232: the OPT survives, moved after the kept records. */
  q = query_for("a-rather-long-name.example.com", MF_DNS_TYPE_A, 1232, false);
  len = big_answer(q, 60, false, r, sizeof(r));
  assert_true(len > 512);
  t = mf_dns_truncate(r, len, 512);
  p = parse_ok(r, t);
  assert_true(t <= 512);
  assert_true(mf_dns_is_truncated(p));
  assert_true(p->edns);
  assert_int_equal(p->ar, 1);
  assert_int_equal(p->an, (512 - 12 - 36 - MF_DNS_OPT_LEN) / 16);

  /* Only the additional section over the limit: dropped, no TC. */
  q = query_for("a-rather-long-name.example.com", MF_DNS_TYPE_A, 1232, false);
  len = big_answer(q, 28, true, r, sizeof(r));
  assert_int_equal(len, 12 + 36 + 28 * 16 + 16 + MF_DNS_OPT_LEN);
  t = mf_dns_truncate(r, len, len - 1);
  p = parse_ok(r, t);
  assert_false(mf_dns_is_truncated(p));
  assert_int_equal(p->an, 28);
  assert_int_equal(p->ar, 1);
  assert_true(p->edns);
  /* Fits already: untouched. */
  assert_int_equal(mf_dns_truncate(r, t, t), t);
  /* Not even the question fits. */
  assert_int_equal(mf_dns_truncate(r, t, 20), 0);
  /* Garbage does not parse. */
  uint8_t g[600] = {0};
  g[5] = 2;
  assert_int_equal(mf_dns_truncate(g, sizeof(g), 512), 0);
}

static void test_tcp_framing(void **state)
{
  uint8_t stream[1024];
  size_t s = 0;
  const uint8_t *msgs[3] = {query_www, answer_www, nxdomain_soa};
  const size_t lens[3] = {sizeof(query_www), sizeof(answer_www),
                          sizeof(nxdomain_soa)};
  for (int i = 0; i < 3; i++) {
    size_t n = mf_dns_tcp_frame(msgs[i], lens[i], &stream[s], sizeof(stream) - s);
    assert_int_equal(n, lens[i] + 2);
    s += n;
  }
  assert_int_equal(mf_dns_tcp_frame(query_www, sizeof(query_www), stream, 10), 0);
  /* In place: the message moves up. */
  uint8_t inplace[64];
  memcpy(inplace, query_www, sizeof(query_www));
  assert_int_equal(mf_dns_tcp_frame(inplace, sizeof(query_www), inplace,
                                    sizeof(inplace)),
                   sizeof(query_www) + 2);
  assert_memory_equal(&inplace[2], query_www, sizeof(query_www));
  assert_int_equal(mf_dns_get16(inplace), sizeof(query_www));

  /* Fed in random slices, 200 times: always the same three messages. */
  for (int round = 0; round < 200; round++) {
    uint8_t buf[256];
    mf_dns_tcp_reasm_t r;
    mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
    int got = 0;
    size_t at = 0;
    while (at < s) {
      size_t slice = 1 + rng_next() % 9;
      if (slice > s - at)
        slice = s - at;
      const uint8_t *d = &stream[at];
      size_t left = slice;
      for (int guard = 0; guard < 8; guard++) {
        size_t used = 0, ml = 0;
        const uint8_t *m = NULL;
        mf_dns_tcp_status_t st = mf_dns_tcp_reasm_feed(&r, d, left, &used, &m, &ml);
        assert_true(used <= left);
        d += used;
        left -= used;
        if (st == MF_DNS_TCP_NEED_MORE) {
          assert_int_equal(left, 0);
          break;
        }
        assert_int_equal(st, MF_DNS_TCP_MESSAGE);
        assert_true(got < 3);
        assert_int_equal(ml, lens[got]);
        assert_memory_equal(m, msgs[got], ml);
        got++;
      }
      at += slice;
    }
    assert_int_equal(got, 3);
  }

  /* Lengths below a header or beyond the buffer end the stream. */
  uint8_t buf[64];
  mf_dns_tcp_reasm_t r;
  size_t used, ml;
  const uint8_t *m;
  mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
  const uint8_t tiny[] = {0, 5, 1, 2, 3, 4, 5};
  assert_int_equal(mf_dns_tcp_reasm_feed(&r, tiny, sizeof(tiny), &used, &m, &ml),
                   MF_DNS_TCP_BAD_LENGTH);
  assert_int_equal(used, 2);
  assert_int_equal(mf_dns_tcp_reasm_feed(&r, tiny, sizeof(tiny), &used, &m, &ml),
                   MF_DNS_TCP_BAD_LENGTH);
  mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
  const uint8_t big[] = {0, 63};
  assert_int_equal(mf_dns_tcp_reasm_feed(&r, big, sizeof(big), &used, &m, &ml),
                   MF_DNS_TCP_BAD_LENGTH);
  mf_dns_tcp_reasm_init(&r, buf, sizeof(buf));
  const uint8_t fits[] = {0, 62};
  assert_int_equal(mf_dns_tcp_reasm_feed(&r, fits, sizeof(fits), &used, &m, &ml),
                   MF_DNS_TCP_NEED_MORE);
}

static void test_build_copy_canonical(void **state)
{
  uint8_t c[512];
  /* An answer already compressed as we would: copied byte for byte, with
   * the additional section (OPT) left out when n stops before it. */
  uint8_t e[200];
  size_t n = with_additional(answer_www, sizeof(answer_www), opt_4096_do,
                             sizeof(opt_4096_do), e);
  mf_dns_msg_t *p = parse_ok(e, n);
  size_t len = mf_dns_build_copy(e, n, p, 3, c, sizeof(c));
  assert_int_equal(len, sizeof(answer_www));
  mf_dns_put16(&e[10], 0);
  assert_memory_equal(c, e, len);
  len = mf_dns_build_copy(e, n, parse_ok(answer_www, sizeof(answer_www)), 1, c,
                          sizeof(c));
  p = parse_ok(c, len);
  assert_int_equal(p->an, 1);
  assert_int_equal(len, 51);

  /* The second A record's owner points at the first A record's TTL, whose
   * first octet 0x00 reads as the root: legal to read, but a cache that
   * ages the TTL would change that name. The copy writes the root itself. */
  uint8_t odd[sizeof(answer_www)];
  memcpy(odd, answer_www, sizeof(odd));
  odd[67] = 0xc0;
  odd[68] = 57; /* rr1's TTL: 00 00 01 2c */
  p = parse_ok(odd, sizeof(odd));
  mf_dns_name_t owner;
  assert_int_equal(mf_dns_rr_owner(odd, sizeof(odd), p, 2, &owner), MF_DNS_OK);
  assert_int_equal(owner.labels, 0);
  len = mf_dns_build_copy(odd, sizeof(odd), p, 3, c, sizeof(c));
  assert_int_equal(len, sizeof(odd) - 1);
  /* Every TTL set to 0xffffffff: all names read the same as before. */
  assert_int_equal(mf_dns_age_ttls(c, len, 0, 0x7fffffff), 0);
  for (size_t o = 12; o + 4 <= len; o++)
    if (c[o] == 0x00 && c[o + 1] == 0x00 && c[o + 2] == 0x01 && c[o + 3] == 0x2c)
      memset(&c[o], 0xff, 4);
  p = parse_ok(c, len);
  assert_int_equal(mf_dns_rr_owner(c, len, p, 2, &owner), MF_DNS_OK);
  assert_int_equal(owner.labels, 0);
  assert_int_equal(mf_dns_rr_owner(c, len, p, 1, &owner), MF_DNS_OK);
  assert_name_text(&owner, "web.example.com");

  /* Names in MX and SOA rdata are re-encoded; pointers now target names
   * we wrote. An MX whose exchange points into the question. */
  const uint8_t mx[] = {
      0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
      5, 'g', 'm', 'a', 'i', 'l', 3, 'c', 'o', 'm', 0, 0, 15, 0, 1,
      /* 27: MX 10 mx.gmail.com (exchange: "mx" + pointer to 12) */
      0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 'm', 'x', 0xc0, 12};
  p = parse_ok(mx, sizeof(mx));
  len = mf_dns_build_copy(mx, sizeof(mx), p, 1, c, sizeof(c));
  assert_int_equal(len, sizeof(mx));
  assert_memory_equal(c, mx, len);
  /* The same exchange written out whole is compressed in the copy. */
  const uint8_t mx_long[] = {
      0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
      5, 'g', 'm', 'a', 'i', 'l', 3, 'c', 'o', 'm', 0, 0, 15, 0, 1,
      0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 16, 0, 10,
      2, 'm', 'x', 5, 'g', 'm', 'a', 'i', 'l', 3, 'c', 'o', 'm', 0};
  p = parse_ok(mx_long, sizeof(mx_long));
  len = mf_dns_build_copy(mx_long, sizeof(mx_long), p, 1, c, sizeof(c));
  assert_int_equal(len, sizeof(mx));
  assert_memory_equal(c, mx, len);
  /* An MX whose exchange does not read: refused. */
  uint8_t mx_bad[sizeof(mx)];
  memcpy(mx_bad, mx, sizeof(mx));
  mx_bad[sizeof(mx) - 1] = 40; /* forward */
  p = parse_ok(mx_bad, sizeof(mx_bad));
  assert_int_equal(mf_dns_build_copy(mx_bad, sizeof(mx_bad), p, 1, c, sizeof(c)), 0);
  /* The SOA answer keeps its shape and its negative TTL. */
  p = parse_ok(nxdomain_soa, sizeof(nxdomain_soa));
  len = mf_dns_build_copy(nxdomain_soa, sizeof(nxdomain_soa), p, 1, c, sizeof(c));
  assert_int_equal(len, sizeof(nxdomain_soa));
  assert_memory_equal(c, nxdomain_soa, len);
  /* Too small a buffer. */
  assert_int_equal(mf_dns_build_copy(nxdomain_soa, sizeof(nxdomain_soa), p, 1, c,
                                     40), 0);
}

/* ---- random mutations: never crash, and a parse that succeeds is
 * consistent with the bytes ---- */

static void check_consistent(const uint8_t *msg, size_t len, const mf_dns_msg_t *m)
{
  assert_true(m->end <= len);
  assert_true(m->question_end <= m->end);
  unsigned total = (unsigned)m->an + m->ns + m->ar;
  assert_true(total <= MF_DNS_MAX_RRS);
  size_t prev = m->question_end;
  for (unsigned i = 0; i < total; i++) {
    assert_int_equal(m->rr[i].off, prev);
    assert_true((size_t)m->rr[i].rdata + m->rr[i].rdlen <= m->end);
    prev = (size_t)m->rr[i].rdata + m->rr[i].rdlen;
  }
  assert_int_equal(prev, m->end);
  if (m->qdcount == 1) {
    mf_dns_answer_t a;
    mf_dns_err_t e = mf_dns_answer_extract(msg, len, m, &a);
    assert_true(e == MF_DNS_OK || e == MF_DNS_ERR_CNAME_CHAIN);
    assert_true(a.n_addrs <= MF_DNS_MAX_ADDRS);
  }
}

static void test_random_mutations(void **state)
{
  const uint8_t *seeds[3] = {query_www, answer_www, nxdomain_soa};
  const size_t lens[3] = {sizeof(query_www), sizeof(answer_www),
                          sizeof(nxdomain_soa)};
  unsigned ok = 0;
  for (int i = 0; i < 60000; i++) {
    int s = (int)(rng_next() % 3);
    size_t len = lens[s];
    uint8_t *m = malloc(len);
    assert_non_null(m);
    memcpy(m, seeds[s], len);
    int flips = 1 + (int)(rng_next() % 4);
    for (int f = 0; f < flips; f++)
      m[rng_next() % len] = (uint8_t)rng_next();
    if (parse_err(m, len) == MF_DNS_OK) {
      ok++;
      check_consistent(m, len, &parsed);
      uint8_t copy[256];
      memcpy(copy, m, len);
      (void)mf_dns_age_ttls(copy, len, 5, 100);
    }
    free(m);
  }
  /* Many mutations hit data bytes (TTLs, addresses) and still parse: the
   * check above ran on a good share. */
  assert_true(ok > 5000);
}

int main(void)
{
  rng_seed("dns wire", 0x243f6a8885a308d3ull);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc1035_compression_example),
      cmocka_unit_test(test_pointer_loops_and_forward),
      cmocka_unit_test(test_reserved_label_types_and_truncation),
      cmocka_unit_test(test_name_length_limits),
      cmocka_unit_test(test_name_text_and_case),
      cmocka_unit_test(test_name_write_compression),
      cmocka_unit_test(test_parse_query),
      cmocka_unit_test(test_parse_answer_with_compression),
      cmocka_unit_test(test_truncated_at_every_offset),
      cmocka_unit_test(test_loops_in_messages),
      cmocka_unit_test(test_question_counts_and_bounds),
      cmocka_unit_test(test_bad_rdata),
      cmocka_unit_test(test_cname_chains),
      cmocka_unit_test(test_cname_loop_and_foreign_records),
      cmocka_unit_test(test_negative_answers),
      cmocka_unit_test(test_edns),
      cmocka_unit_test(test_age_ttls),
      cmocka_unit_test(test_build_query_bytes),
      cmocka_unit_test(test_build_addrs),
      cmocka_unit_test(test_build_negative_and_errors),
      cmocka_unit_test(test_udp_limit),
      cmocka_unit_test(test_truncate),
      cmocka_unit_test(test_tcp_framing),
      cmocka_unit_test(test_build_copy_canonical),
      cmocka_unit_test(test_random_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
