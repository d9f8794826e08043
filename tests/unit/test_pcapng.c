/* pcapng writer and BPF capture filters.
 *
 * A sample file with two interfaces and hand-built IPv4/IPv6 packets is
 * written once per run, then checked twice: by walking its blocks here
 * (draft-ietf-opsawg-pcapng sections 4.1-4.3) and, when tshark is
 * installed, by an independent reader. Filters run on the same packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/bpf_filter.h"
#include "capture/pcapng.h"

#ifndef TSHARK
#define TSHARK "/usr/bin/tshark"
#endif
#define PKT_MAX 256
#define FILE_MAX (1u << 20)
#define TS_BASE 1700000000123456789ull

/* Interface 1 has a small snaplen so that one packet is truncated. */
#define IF0_NAME "tun0"
#define IF0_SNAPLEN 65535u
#define IF1_NAME "wg-capture"
#define IF1_SNAPLEN 64u

typedef struct {
  uint8_t data[PKT_MAX];
  uint32_t len;
} pkt_t;

enum {
  PKT_ICMP4_ECHO,
  PKT_UDP4_DNS,
  PKT_UDP6_DNS,
  PKT_TCP4_RST,
  PKT_TCP4_SYN,
  PKT_ICMP6_ECHO,
  PKT_UDP6_OTHER,
  PKT_UDP4_BIG,
  N_PKTS,
};

static pkt_t pkts[N_PKTS];
static char tmpdir[] = "/tmp/mf-test-pcapng-XXXXXX";
static char sample_path[PATH_MAX];

/* Which interface each packet of the sample file goes to. */
static uint32_t sample_if(int i)
{
  return i == PKT_UDP6_OTHER || i == PKT_UDP4_BIG ? 1 : 0;
}

static uint32_t sample_snaplen(int i)
{
  return sample_if(i) == 1 ? IF1_SNAPLEN : IF0_SNAPLEN;
}

static uint64_t sample_ts(int i)
{
  return TS_BASE + (uint64_t)i * 1000001u;
}

/* ---- packet construction, with real checksums (RFC 1071) ---- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += (uint32_t)p[n - 1] << 8;
  return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void put16be(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void build_ip4(pkt_t *k, uint8_t proto, const uint8_t src[4],
                      const uint8_t dst[4], uint32_t l4_len)
{
  uint8_t *h = k->data;
  k->len = 20 + l4_len;
  memset(h, 0, 20);
  h[0] = 0x45;
  put16be(h + 2, (uint16_t)k->len);
  put16be(h + 4, 0x4d46);
  h[6] = 0x40; /* DF */
  h[8] = 64;
  h[9] = proto;
  memcpy(h + 12, src, 4);
  memcpy(h + 16, dst, 4);
  put16be(h + 10, csum_fold(csum_add(0, h, 20)));
}

static void build_ip6(pkt_t *k, uint8_t next, const uint8_t src[16],
                      const uint8_t dst[16], uint32_t l4_len)
{
  uint8_t *h = k->data;
  k->len = 40 + l4_len;
  memset(h, 0, 40);
  h[0] = 0x60;
  put16be(h + 4, (uint16_t)l4_len);
  h[6] = next;
  h[7] = 64;
  memcpy(h + 8, src, 16);
  memcpy(h + 24, dst, 16);
}

/* Checksum over the pseudo-header (RFC 768, RFC 9293, RFC 8200 8.1) and the
 * transport segment, stored at offset csum_off inside the segment. */
static void l4_checksum(pkt_t *k, uint32_t l3_len, uint32_t csum_off)
{
  uint8_t *l4 = k->data + l3_len;
  uint32_t l4_len = k->len - l3_len;
  uint32_t sum = 0;
  if ((k->data[0] >> 4) == 4) {
    sum = csum_add(sum, k->data + 12, 8);
    sum += k->data[9];
  } else {
    sum = csum_add(sum, k->data + 8, 32);
    sum += k->data[6];
  }
  sum += l4_len;
  put16be(l4 + csum_off, 0);
  sum = csum_add(sum, l4, l4_len);
  uint16_t c = csum_fold(sum);
  /* A UDP checksum that computes to 0 is sent as all ones (RFC 768). */
  put16be(l4 + csum_off, c == 0 && csum_off == 6 ? 0xffff : c);
}

/* ICMPv4 has no pseudo-header (RFC 792). */
static void icmp4_checksum(pkt_t *k)
{
  uint8_t *l4 = k->data + 20;
  put16be(l4 + 2, 0);
  put16be(l4 + 2, csum_fold(csum_add(0, l4, k->len - 20)));
}

static void fill_payload(uint8_t *p, uint32_t n, uint8_t seed)
{
  for (uint32_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed + i * 7);
}

static const uint8_t a4_host[4] = {10, 0, 0, 1};
static const uint8_t a4_peer[4] = {10, 0, 0, 2};
static const uint8_t a4_dns[4] = {1, 1, 1, 1};
static const uint8_t a6_host[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
                                    0,    0, 0, 0, 0, 0, 0, 1};
static const uint8_t a6_dns[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
                                   0,    0, 0, 0, 0, 0, 0, 0x53};

/* The IP header must already be there; data NULL means filler bytes. */
static void build_udp(pkt_t *k, uint32_t l3, uint16_t sport, uint16_t dport,
                      const uint8_t *data, uint32_t n)
{
  uint8_t *u = k->data + l3;
  put16be(u, sport);
  put16be(u + 2, dport);
  put16be(u + 4, (uint16_t)(8 + n));
  if (data != NULL)
    memcpy(u + 8, data, n);
  else
    fill_payload(u + 8, n, (uint8_t)dport);
  l4_checksum(k, l3, 6);
}

/* RFC 1035 4.1: id, flags RD, one question; "." IN A and "a." IN AAAA. */
static const uint8_t dns_query_root_a[17] = {
    0x4d, 0x46, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
static const uint8_t dns_query_a_aaaa[19] = {
    0x4d, 0x47, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 28, 0, 1};

static void build_tcp4(pkt_t *k, uint16_t sport, uint16_t dport,
                       uint8_t flags)
{
  build_ip4(k, 6, a4_peer, a4_host, 20);
  uint8_t *t = k->data + 20;
  memset(t, 0, 20);
  put16be(t, sport);
  put16be(t + 2, dport);
  t[7] = 1; /* seq 1 */
  t[12] = 5 << 4;
  t[13] = flags;
  put16be(t + 14, flags & 0x04 ? 0 : 65535);
  l4_checksum(k, 20, 16);
}

static void build_icmp_echo(pkt_t *k, int v6, uint32_t payload)
{
  uint32_t l3 = v6 ? 40 : 20;
  if (v6)
    build_ip6(k, 58, a6_host, a6_dns, 8 + payload);
  else
    build_ip4(k, 1, a4_host, a4_peer, 8 + payload);
  uint8_t *e = k->data + l3;
  e[0] = v6 ? 128 : 8; /* echo request */
  e[1] = 0;
  put16be(e + 4, 0x1234);
  put16be(e + 6, 1);
  fill_payload(e + 8, payload, 0x30);
  if (v6)
    l4_checksum(k, 40, 2);
  else
    icmp4_checksum(k);
}

/* Lengths are chosen so that every padding size (0..3) occurs. */
static void build_packets(void)
{
  build_icmp_echo(&pkts[PKT_ICMP4_ECHO], 0, 18); /* 46 */
  build_ip4(&pkts[PKT_UDP4_DNS], 17, a4_host, a4_dns, 8 + 17);
  build_udp(&pkts[PKT_UDP4_DNS], 20, 40000, 53, dns_query_root_a,
            sizeof(dns_query_root_a)); /* 45 */
  build_ip6(&pkts[PKT_UDP6_DNS], 17, a6_host, a6_dns, 8 + 19);
  build_udp(&pkts[PKT_UDP6_DNS], 40, 40001, 53, dns_query_a_aaaa,
            sizeof(dns_query_a_aaaa)); /* 67 */
  build_tcp4(&pkts[PKT_TCP4_RST], 80, 40002, 0x14); /* 40, RST+ACK */
  build_tcp4(&pkts[PKT_TCP4_SYN], 40003, 80, 0x02);
  build_icmp_echo(&pkts[PKT_ICMP6_ECHO], 1, 5); /* 53 */
  build_ip6(&pkts[PKT_UDP6_OTHER], 17, a6_host, a6_dns, 8 + 7);
  build_udp(&pkts[PKT_UDP6_OTHER], 40, 40004, 9, NULL, 7); /* 55 */
  build_ip4(&pkts[PKT_UDP4_BIG], 17, a4_host, a4_peer, 8 + 171);
  build_udp(&pkts[PKT_UDP4_BIG], 20, 40005, 9, NULL, 171); /* 199, cut to 64 */
}

static int write_sample(const char *path)
{
  mf_pcapng_t w;
  if (mf_pcapng_open(&w, path) != 0)
    return -1;
  int bad = mf_pcapng_add_interface(&w, IF0_NAME, IF0_SNAPLEN) != 0 ||
            mf_pcapng_add_interface(&w, IF1_NAME, IF1_SNAPLEN) != 1;
  for (int i = 0; i < N_PKTS && !bad; i++)
    bad = mf_pcapng_write(&w, sample_if(i), sample_ts(i), pkts[i].data,
                          pkts[i].len, sample_snaplen(i)) != 0;
  bad |= w.packets_written != N_PKTS || w.n_ifaces != 2;
  return mf_pcapng_close(&w) != 0 || bad ? -1 : 0;
}

static int group_setup(void **state)
{
  build_packets();
  if (mkdtemp(tmpdir) == NULL)
    return -1;
  snprintf(sample_path, sizeof(sample_path), "%s/sample.pcapng", tmpdir);
  return write_sample(sample_path);
}

static int group_teardown(void **state)
{
  char p[PATH_MAX];
  const char *names[] = {"sample.pcapng", "tshark.err", "big.pcapng",
                         "misuse.pcapng"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
    unlink(p);
  }
  rmdir(tmpdir);
  return 0;
}

/* ---- reading the file back ---- */

static size_t read_file(const char *path, uint8_t *buf, size_t max)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, max, f);
  assert_int_equal(fclose(f), 0);
  assert_true(n < max);
  return n;
}

static uint32_t get32(const uint8_t *p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static uint16_t get16(const uint8_t *p)
{
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/* Checks the common frame of a block at off and returns its total length. */
static uint32_t check_block(const uint8_t *f, size_t size, size_t off,
                            uint32_t type)
{
  assert_true(off + 12 <= size);
  assert_int_equal(get32(f + off), type);
  uint32_t total = get32(f + off + 4);
  assert_int_equal(total % 4, 0);
  assert_true(total >= 12 && off + total <= size);
  assert_int_equal(get32(f + off + total - 4), total);
  return total;
}

static void check_shb(const uint8_t *f, size_t size)
{
  uint32_t total = check_block(f, size, 0, 0x0A0D0D0A);
  assert_int_equal(total, 28);
  assert_int_equal(get32(f + 8), 0x1A2B3C4D);
  assert_int_equal(get16(f + 12), 1);
  assert_int_equal(get16(f + 14), 0);
  int64_t section_len;
  memcpy(&section_len, f + 16, 8);
  assert_true(section_len == -1);
}

/* Walks the IDB options: if_name, if_tsresol = 9, then opt_endofopt
 * exactly where the trailing length starts. */
static uint32_t check_idb(const uint8_t *f, size_t size, size_t off,
                          const char *name, uint32_t snaplen)
{
  uint32_t total = check_block(f, size, off, 1);
  const uint8_t *b = f + off;
  assert_int_equal(get16(b + 8), 101);
  assert_int_equal(get16(b + 10), 0);
  assert_int_equal(get32(b + 12), snaplen);
  size_t o = 16;
  size_t nlen = strlen(name);
  assert_int_equal(get16(b + o), 2);
  assert_int_equal(get16(b + o + 2), nlen);
  assert_memory_equal(b + o + 4, name, nlen);
  o += 4 + nlen;
  for (; o % 4; o++)
    assert_int_equal(b[o], 0);
  assert_int_equal(get16(b + o), 9);
  assert_int_equal(get16(b + o + 2), 1);
  assert_int_equal(b[o + 4], 9);
  assert_int_equal(b[o + 5] | b[o + 6] | b[o + 7], 0);
  o += 8;
  assert_int_equal(get32(b + o), 0); /* opt_endofopt: code 0, length 0 */
  o += 4;
  assert_int_equal(o + 4, total);
  return total;
}

static uint32_t check_epb(const uint8_t *f, size_t size, size_t off, int i)
{
  uint32_t total = check_block(f, size, off, 6);
  const uint8_t *b = f + off;
  uint32_t len = pkts[i].len;
  uint32_t cap = len < sample_snaplen(i) ? len : sample_snaplen(i);
  uint32_t padded = (cap + 3) & ~3u;
  assert_int_equal(total, 32 + padded);
  assert_int_equal(get32(b + 8), sample_if(i));
  uint64_t ts = (uint64_t)get32(b + 12) << 32 | get32(b + 16);
  assert_true(ts == sample_ts(i));
  assert_int_equal(get32(b + 20), cap);
  assert_int_equal(get32(b + 24), len);
  assert_memory_equal(b + 28, pkts[i].data, cap);
  for (uint32_t p = cap; p < padded; p++)
    assert_int_equal(b[28 + p], 0);
  return total;
}

static void test_file_blocks(void **state)
{
  static uint8_t f[FILE_MAX];
  size_t size = read_file(sample_path, f, sizeof(f));
  check_shb(f, size);
  size_t off = 28;
  off += check_idb(f, size, off, IF0_NAME, IF0_SNAPLEN);
  off += check_idb(f, size, off, IF1_NAME, IF1_SNAPLEN);
  for (int i = 0; i < N_PKTS; i++)
    off += check_epb(f, size, off, i);
  assert_int_equal(off, size);
}

/* The sample covers each padding size and one truncated packet; if a later
 * edit of the packets breaks that, the file test above would lose reach. */
static void test_sample_covers_padding(void **state)
{
  unsigned seen = 0;
  int truncated = 0;
  for (int i = 0; i < N_PKTS; i++) {
    uint32_t cap = pkts[i].len < sample_snaplen(i) ? pkts[i].len
                                                    : sample_snaplen(i);
    seen |= 1u << (cap % 4);
    truncated += cap < pkts[i].len;
  }
  assert_int_equal(seen, 0xf);
  assert_int_equal(truncated, 1);
}

/* ---- an independent reader ---- */

static void ip_text(char *out, size_t n, const pkt_t *k)
{
  const uint8_t *s = k->data + 12;
  if ((k->data[0] >> 4) == 4) {
    snprintf(out, n, "%u.%u.%u.%u\t", s[0], s[1], s[2], s[3]);
    return;
  }
  /* Our IPv6 sources are fd00::1. */
  snprintf(out, n, "\tfd00::1");
}

/* As root, tshark 4.0 only prints a warning on stderr, which goes to a
 * file beside the sample; reading a file needs no extra flag. frame.cap_len
 * below frame.len shows the truncated packet. */
static void test_tshark_reads_file(void **state)
{
  if (access(TSHARK, X_OK) != 0) {
    print_message("tshark not installed, skipping\n");
    skip();
  }
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof(cmd),
           "timeout 120 " TSHARK " -n -r '%s' -T fields -e frame.interface_name"
           " -e ip.src -e ipv6.src -e frame.len -e frame.cap_len"
           " -e frame.time_epoch 2>'%s/tshark.err'",
           sample_path, tmpdir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[512];
  int n = 0;
  while (n < N_PKTS + 1 && fgets(line, sizeof(line), p) != NULL) {
    assert_true(n < N_PKTS);
    const pkt_t *k = &pkts[n];
    uint32_t cap = k->len < sample_snaplen(n) ? k->len : sample_snaplen(n);
    char ip[64], want[256];
    ip_text(ip, sizeof(ip), k);
    uint64_t ts = sample_ts(n);
    snprintf(want, sizeof(want), "%s\t%s\t%u\t%u\t%llu.%09llu\n",
             sample_if(n) ? IF1_NAME : IF0_NAME, ip, k->len, cap,
             (unsigned long long)(ts / 1000000000u),
             (unsigned long long)(ts % 1000000000u));
    assert_string_equal(line, want);
    n++;
  }
  int rc = pclose(p);
  if (rc != 0 || n != N_PKTS) {
    snprintf(cmd, sizeof(cmd), "cat '%s/tshark.err' >&2", tmpdir);
    if (system(cmd) != 0)
      print_error("no tshark stderr\n");
  }
  assert_int_equal(rc, 0);
  assert_int_equal(n, N_PKTS);
}

/* ---- failures ---- */

static void test_open_unwritable_path(void **state)
{
  mf_pcapng_t w;
  assert_int_equal(mf_pcapng_open(&w, "/nonexistent-mf-dir/x.pcapng"),
                   -ENOENT);
  assert_null(w.f);
  assert_int_equal(w.error, ENOENT);
  assert_int_equal(mf_pcapng_add_interface(&w, "x", 100), -1);
  assert_int_equal(mf_pcapng_close(&w), -ENOENT);

  /* A directory cannot be opened for writing, not even by root. */
  assert_int_equal(mf_pcapng_open(&w, tmpdir), -EISDIR);
  assert_int_equal(mf_pcapng_close(&w), -EISDIR);
}

/* /dev/full accepts open and fails every write with ENOSPC; stdio holds
 * the first blocks, so the error surfaces once its buffer fills. */
static void test_write_error_is_recorded(void **state)
{
  if (access("/dev/full", W_OK) != 0)
    skip();
  mf_pcapng_t w;
  assert_int_equal(mf_pcapng_open(&w, "/dev/full"), 0);
  assert_int_equal(mf_pcapng_add_interface(&w, IF0_NAME, 0), 0);
  const pkt_t *k = &pkts[PKT_UDP4_BIG];
  int i, rc = 0;
  for (i = 0; i < 100000 && rc == 0; i++)
    rc = mf_pcapng_write(&w, 0, sample_ts(i), k->data, k->len, 0);
  assert_int_equal(rc, -1);
  assert_int_equal(w.error, ENOSPC);
  assert_true(w.packets_written < (uint64_t)i);
  uint64_t written = w.packets_written;
  assert_int_equal(mf_pcapng_write(&w, 0, 0, k->data, k->len, 0), -1);
  assert_true(w.packets_written == written);
  assert_int_equal(mf_pcapng_close(&w), -ENOSPC);
  assert_null(w.f);
}

static void test_misuse_is_refused(void **state)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/misuse.pcapng", tmpdir);
  mf_pcapng_t w;
  assert_int_equal(mf_pcapng_open(&w, path), 0);
  /* No interface yet: id 0 does not exist. */
  assert_int_equal(mf_pcapng_write(&w, 0, 0, pkts[0].data, pkts[0].len, 0),
                   -1);
  assert_int_equal(w.error, EINVAL);
  /* The first error ends the capture. */
  assert_int_equal(mf_pcapng_add_interface(&w, IF0_NAME, 0), -1);
  assert_int_equal(mf_pcapng_close(&w), -EINVAL);
  assert_int_equal(mf_pcapng_close(&w), -EINVAL);

  char name[300];
  memset(name, 'n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  assert_int_equal(mf_pcapng_open(&w, path), 0);
  assert_int_equal(mf_pcapng_add_interface(&w, name, 0), -1);
  assert_int_equal(w.error, EINVAL);
  assert_int_equal(mf_pcapng_close(&w), -EINVAL);
}

/* Snaplen 0 is "unlimited", but a block never exceeds what readers accept;
 * an interface without a name carries only if_tsresol. */
static void test_huge_packet_is_capped(void **state)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/big.pcapng", tmpdir);
  enum { BIG = 300000 };
  static uint8_t big[BIG];
  memcpy(big, pkts[PKT_UDP4_BIG].data, pkts[PKT_UDP4_BIG].len);
  mf_pcapng_t w;
  assert_int_equal(mf_pcapng_open(&w, path), 0);
  assert_int_equal(mf_pcapng_add_interface(&w, NULL, 0), 0);
  assert_int_equal(mf_pcapng_write(&w, 0, 1, big, BIG, 0), 0);
  assert_int_equal(mf_pcapng_write(&w, 0, 2, NULL, 0, 0), 0);
  assert_int_equal(mf_pcapng_close(&w), 0);

  static uint8_t f[FILE_MAX];
  size_t size = read_file(path, f, sizeof(f));
  check_shb(f, size);
  size_t off = 28;
  uint32_t idb = check_block(f, size, off, 1);
  assert_int_equal(idb, 20 + 8 + 4);
  assert_int_equal(get16(f + off + 16), 9);
  off += idb;
  uint32_t epb = check_block(f, size, off, 6);
  assert_int_equal(get32(f + off + 20), 262144);
  assert_int_equal(get32(f + off + 24), BIG);
  assert_int_equal(epb, 32 + 262144);
  off += epb;
  epb = check_block(f, size, off, 6);
  assert_int_equal(epb, 32);
  assert_int_equal(get32(f + off + 20), 0);
  assert_int_equal(off + epb, size);
}

/* ---- filters ---- */

static mf_bpf_filter_t *compile_ok(const char *expr)
{
  char err[256] = "";
  mf_bpf_filter_t *f = mf_bpf_filter_compile(expr, err, sizeof(err));
  if (f == NULL)
    print_error("'%s': %s\n", expr, err);
  assert_non_null(f);
  return f;
}

/* Expected matches as a bit set over pkts[]. */
static void check_filter(const char *expr, unsigned want)
{
  mf_bpf_filter_t *f = compile_ok(expr);
  for (int i = 0; i < N_PKTS; i++) {
    bool m = mf_bpf_filter_match(f, pkts[i].data, pkts[i].len);
    if (m != ((want >> i) & 1))
      print_error("'%s' on packet %d: %d\n", expr, i, m);
    assert_int_equal(m, (want >> i) & 1);
  }
  mf_bpf_filter_free(f);
}

#define B(x) (1u << (x))

static void test_filter_icmp(void **state)
{
  check_filter("icmp", B(PKT_ICMP4_ECHO));
  check_filter("icmp[icmptype] == icmp-echo", B(PKT_ICMP4_ECHO));
}

/* Raw IP carries both families: "ip" and "ip6" must tell them apart by the
 * version nibble, which older libpcap releases got wrong for DLT_RAW. */
static void test_filter_families_on_raw_ip(void **state)
{
  unsigned v6 = B(PKT_UDP6_DNS) | B(PKT_ICMP6_ECHO) | B(PKT_UDP6_OTHER);
  unsigned all = B(N_PKTS) - 1;
  check_filter("ip", all & ~v6);
  check_filter("ip6", v6);
  check_filter("icmp6", B(PKT_ICMP6_ECHO));
  check_filter("ip6 and icmp6[icmp6type] == icmp6-echo", B(PKT_ICMP6_ECHO));
  check_filter("udp", B(PKT_UDP4_DNS) | B(PKT_UDP6_DNS) | B(PKT_UDP6_OTHER) |
                          B(PKT_UDP4_BIG));
  check_filter("host 10.0.0.2", all & ~v6 & ~B(PKT_UDP4_DNS));
  check_filter("src host fd00::1", v6);
  check_filter("", all);
}

static void test_filter_ip6_udp_53(void **state)
{
  check_filter("ip6 and udp port 53", B(PKT_UDP6_DNS));
  check_filter("udp port 53", B(PKT_UDP4_DNS) | B(PKT_UDP6_DNS));
}

static void test_filter_tcp_rst(void **state)
{
  check_filter("tcp[tcpflags] & tcp-rst != 0", B(PKT_TCP4_RST));
  check_filter("tcp[tcpflags] & tcp-syn != 0", B(PKT_TCP4_SYN));
  check_filter("tcp", B(PKT_TCP4_RST) | B(PKT_TCP4_SYN));
}

static void test_filter_bad_expression(void **state)
{
  char err[256] = "";
  assert_null(mf_bpf_filter_compile("tcp port eighty", err, sizeof(err)));
  assert_true(strlen(err) > 0);
  assert_null(mf_bpf_filter_compile("ip and and", err, sizeof(err)));
  assert_non_null(strstr(err, "syntax error"));
  /* Needs a netmask, which raw capture points do not have. */
  assert_null(mf_bpf_filter_compile("ip broadcast", err, sizeof(err)));
  assert_non_null(strstr(err, "netmask"));
  /* Header indexing is IPv4-only in libpcap. */
  assert_null(mf_bpf_filter_compile("ip6 and tcp[13] & 4 != 0", err,
                                    sizeof(err)));
  assert_true(strlen(err) > 0);

  /* A short buffer is truncated, a missing one tolerated. */
  char tiny[8];
  assert_null(mf_bpf_filter_compile("ip and and", tiny, sizeof(tiny)));
  assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
  assert_null(mf_bpf_filter_compile("ip and and", NULL, 0));
  assert_null(mf_bpf_filter_compile(NULL, err, sizeof(err)));

  static char longexpr[5000];
  for (size_t i = 0; i + 5 < sizeof(longexpr); i += 5)
    memcpy(longexpr + i, "ip or", 5);
  assert_null(mf_bpf_filter_compile(longexpr, err, sizeof(err)));
  assert_non_null(strstr(err, "longer"));
  mf_bpf_filter_free(NULL);
}

/* Loads beyond the packet end reject it instead of reading past it: the
 * TCP flags of the RST sit at offset 20 + 13. */
static void test_filter_short_packets(void **state)
{
  mf_bpf_filter_t *f = compile_ok("tcp[tcpflags] & tcp-rst != 0");
  const pkt_t *k = &pkts[PKT_TCP4_RST];
  for (uint32_t len = 0; len <= k->len; len++)
    assert_int_equal(mf_bpf_filter_match(f, k->data, len), len > 33);
  assert_false(mf_bpf_filter_match(f, NULL, 0));
  mf_bpf_filter_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_blocks),
      cmocka_unit_test(test_sample_covers_padding),
      cmocka_unit_test(test_tshark_reads_file),
      cmocka_unit_test(test_open_unwritable_path),
      cmocka_unit_test(test_write_error_is_recorded),
      cmocka_unit_test(test_misuse_is_refused),
      cmocka_unit_test(test_huge_packet_is_capped),
      cmocka_unit_test(test_filter_icmp),
      cmocka_unit_test(test_filter_families_on_raw_ip),
      cmocka_unit_test(test_filter_ip6_udp_53),
      cmocka_unit_test(test_filter_tcp_rst),
      cmocka_unit_test(test_filter_bad_expression),
      cmocka_unit_test(test_filter_short_packets),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
