/* The hoststack section (how many sessions the host stack keeps, the TCP
 * buffer sizes and memory budget, idle and connect timeouts) and the debug
 * section (settings that exist for tests, such as loss on the TUN). Both
 * are optional, and so is every key in them. */
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define SESSIONS_MIN 16
#define SESSIONS_MAX 65536
#define TCP_BUFFER_MIN (4 * KIB)
#define TCP_BUFFER_MAX (16 * MIB)
#define TCP_MEMORY_MAX (64 * GIB)
#define CONNECT_TIMEOUT_MAX 300
/* RFC 5382 REQ-5: a NAT keeps an idle established TCP connection for at
 * least 2 hours 4 minutes; a week is as far as anyone would wait. */
#define TCP_IDLE_MAX 604800
#define DATAGRAM_IDLE_MAX 86400
#define PPM 1000000u

enum {
  F_MAX_SESSIONS,
  F_TCP_RX_BUFFER,
  F_TCP_TX_BUFFER,
  F_TCP_MEMORY,
  F_TCP_CONNECT_TIMEOUT,
  F_TCP_IDLE_TIMEOUT,
  F_UDP_IDLE_TIMEOUT,
  F_ICMP_IDLE_TIMEOUT,
  F_N
};

void mf_profile_hoststack_defaults(mf_hoststack_cfg_t *hs)
{
  memset(hs, 0, sizeof(*hs));
  hs->max_sessions = 16384;
  /* 1 MiB: at several Gbit/s through the TUN, 256 KiB limited a single
   * download (bench/hoststack); rings exist only while they hold bytes,
   * so an idle connection costs none of it, and tcp_memory bounds all. */
  hs->tcp_rx_buffer = 1024 * KIB;
  hs->tcp_tx_buffer = 1024 * KIB;
  hs->tcp_memory = 256 * MIB;
  hs->tcp_connect_timeout_s = 10;
  hs->tcp_idle_timeout_s = 7200;
  hs->udp_idle_timeout_s = 60;
  hs->icmp_idle_timeout_s = 30;
}

/* Binary prefixes (IEC 80000-13), the only ones taken: "KB" could mean
 * either 1000 or 1024. */
static const struct {
  const char *suffix;
  uint64_t bytes;
} size_units[] = {{"GiB", GIB}, {"MiB", MIB}, {"KiB", KIB}};

#define N_SIZE_UNITS (sizeof(size_units) / sizeof(size_units[0]))

void mf_profile_format_size(uint64_t bytes, char *out, size_t size)
{
  for (size_t k = 0; k < N_SIZE_UNITS; k++)
    if (bytes && bytes % size_units[k].bytes == 0) {
      snprintf(out, size, "%llu%s",
               (unsigned long long)(bytes / size_units[k].bytes),
               size_units[k].suffix);
      return;
    }
  snprintf(out, size, "%llu", (unsigned long long)bytes);
}

static uint64_t mul_saturated(uint64_t a, uint64_t b)
{
  return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Reads digits, then optionally one space and a unit ("256KiB",
 * "256 KiB"), saturating at UINT64_MAX. */
static bool parse_size(const char *s, size_t len, uint64_t *out)
{
  size_t k = 0;
  uint64_t v = 0;
  for (; k < len && s[k] >= '0' && s[k] <= '9'; k++) {
    uint64_t d = (uint64_t)(s[k] - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
  }
  if (k == 0)
    return false;
  if (k == len) {
    *out = v;
    return true;
  }
  if (s[k] == ' ')
    k++;
  for (size_t u = 0; u < N_SIZE_UNITS; u++)
    if (len - k == 3 && memcmp(s + k, size_units[u].suffix, 3) == 0) {
      *out = mul_saturated(v, size_units[u].bytes);
      return true;
    }
  return false;
}

/* Complains at node i that it is not what was expected, unless the tree
 * has reported the node already (an alias or a tag). */
static int mismatch(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                    const char *expected)
{
  char got[MF_DIAG_QUOTE_MAX + 16];
  if (mf_yaml_node(t, i)->kind == MF_YAML_BAD)
    return -1;
  mf_yaml_describe(t, i, got, sizeof(got));
  mf_yaml_error(t, i, "%s: expected %s, got %s", what, expected, got);
  return -1;
}

/* A byte count within lo..hi: plain digits, or digits with KiB, MiB or
 * GiB. Unquoted only, as numbers are everywhere in profiles. */
static int read_size(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                     uint64_t lo, uint64_t hi, uint64_t *out)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  uint64_t v;
  if (n->kind != MF_YAML_SCALAR || !n->plain ||
      !parse_size(mf_yaml_text(t, i), n->len, &v))
    return mismatch(t, i, what,
                    "a size (bytes, or a number with KiB, MiB or GiB)");
  if (v < lo || v > hi) {
    char q[MF_DIAG_QUOTE_MAX + 4], l[32], h[32];
    mf_diag_quote(mf_yaml_text(t, i), n->len, q, sizeof(q));
    mf_profile_format_size(lo, l, sizeof(l));
    mf_profile_format_size(hi, h, sizeof(h));
    mf_yaml_error(t, i, "%s: %s is out of range (%s..%s)", what, q, l, h);
    return -1;
  }
  *out = v;
  return 0;
}

/* A TCP ring size: a power of two, so that ring offsets wrap with a mask. */
static int read_tcp_buffer(const mf_yaml_tree_t *t, uint32_t i,
                           const char *what, uint32_t *out)
{
  uint64_t v;
  if (read_size(t, i, what, TCP_BUFFER_MIN, TCP_BUFFER_MAX, &v) < 0)
    return -1;
  if (v & (v - 1)) {
    uint64_t below = 1ull << (63 - __builtin_clzll(v));
    char q[MF_DIAG_QUOTE_MAX + 4], lo[32], hi[32];
    mf_diag_quote(mf_yaml_text(t, i), mf_yaml_node(t, i)->len, q, sizeof(q));
    mf_profile_format_size(below, lo, sizeof(lo));
    mf_profile_format_size(below * 2, hi, sizeof(hi));
    mf_yaml_error(t, i, "%s: %s is not a power of two (%s or %s would do)",
                  what, q, lo, hi);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

static void read_tcp_memory(const mf_yaml_tree_t *t, uint32_t i,
                            bool buffers_ok, mf_hoststack_cfg_t *hs)
{
  uint64_t v;
  if (read_size(t, i, "tcp_memory", 2 * TCP_BUFFER_MIN, TCP_MEMORY_MAX, &v) <
      0)
    return;
  /* One connection's rings must fit, or none could be opened. */
  uint64_t one = (uint64_t)hs->tcp_rx_buffer + hs->tcp_tx_buffer;
  if (buffers_ok && v < one) {
    char q[MF_DIAG_QUOTE_MAX + 4], need[32];
    mf_diag_quote(mf_yaml_text(t, i), mf_yaml_node(t, i)->len, q, sizeof(q));
    mf_profile_format_size(one, need, sizeof(need));
    mf_yaml_error(t, i,
                  "tcp_memory: %s is less than tcp_rx_buffer + "
                  "tcp_tx_buffer (%s)",
                  q, need);
    return;
  }
  hs->tcp_memory = v;
}

/* Reads an optional u32 key; absent keys keep their default. */
static void read_u32_field(const mf_yaml_tree_t *t, const mf_yaml_field_t *f,
                           uint32_t lo, uint32_t hi, uint32_t *out)
{
  if (f->value != MF_YAML_NONE)
    mf_yaml_read_u32(t, f->value, f->name, lo, hi, out);
}

void mf_profile_parse_hoststack(const mf_yaml_tree_t *t, uint32_t key,
                                uint32_t value, mf_profile_t *p)
{
  mf_hoststack_cfg_t *hs = &p->hoststack;
  mf_yaml_field_t f[F_N] = {
      [F_MAX_SESSIONS] = {.name = "max_sessions"},
      [F_TCP_RX_BUFFER] = {.name = "tcp_rx_buffer"},
      [F_TCP_TX_BUFFER] = {.name = "tcp_tx_buffer"},
      [F_TCP_MEMORY] = {.name = "tcp_memory"},
      [F_TCP_CONNECT_TIMEOUT] = {.name = "tcp_connect_timeout"},
      [F_TCP_IDLE_TIMEOUT] = {.name = "tcp_idle_timeout"},
      [F_UDP_IDLE_TIMEOUT] = {.name = "udp_idle_timeout"},
      [F_ICMP_IDLE_TIMEOUT] = {.name = "icmp_idle_timeout"},
  };
  uint32_t none = MF_YAML_NONE;
  if (key != none)
    hs->mark = mf_profile_mark(t, key);
  if (value != none && !mf_yaml_is_null(t, value) &&
      mf_yaml_expect(t, value, MF_YAML_MAP, "hoststack") < 0)
    value = none; /* reported; go on with the defaults */
  for (int k = 0; k < F_N; k++)
    f[k].key = f[k].value = none;
  if (value != none)
    mf_yaml_read_fields(t, value, "in hoststack", f, F_N);

  read_u32_field(t, &f[F_MAX_SESSIONS], SESSIONS_MIN, SESSIONS_MAX,
                 &hs->max_sessions);
  bool buffers_ok = true;
  if (f[F_TCP_RX_BUFFER].value != none &&
      read_tcp_buffer(t, f[F_TCP_RX_BUFFER].value, "tcp_rx_buffer",
                      &hs->tcp_rx_buffer) < 0)
    buffers_ok = false;
  if (f[F_TCP_TX_BUFFER].value != none &&
      read_tcp_buffer(t, f[F_TCP_TX_BUFFER].value, "tcp_tx_buffer",
                      &hs->tcp_tx_buffer) < 0)
    buffers_ok = false;
  if (f[F_TCP_MEMORY].value != none)
    read_tcp_memory(t, f[F_TCP_MEMORY].value, buffers_ok, hs);
  read_u32_field(t, &f[F_TCP_CONNECT_TIMEOUT], 1, CONNECT_TIMEOUT_MAX,
                 &hs->tcp_connect_timeout_s);
  read_u32_field(t, &f[F_TCP_IDLE_TIMEOUT], 0, TCP_IDLE_MAX,
                 &hs->tcp_idle_timeout_s);
  read_u32_field(t, &f[F_UDP_IDLE_TIMEOUT], 1, DATAGRAM_IDLE_MAX,
                 &hs->udp_idle_timeout_s);
  read_u32_field(t, &f[F_ICMP_IDLE_TIMEOUT], 1, DATAGRAM_IDLE_MAX,
                 &hs->icmp_idle_timeout_s);
}

void mf_profile_format_ppm(uint32_t ppm, char *out, size_t size)
{
  if (ppm % PPM == 0) {
    snprintf(out, size, "%u", ppm / PPM);
    return;
  }
  char frac[8];
  snprintf(frac, sizeof(frac), "%06u", ppm % PPM);
  size_t n = strlen(frac);
  while (n > 1 && frac[n - 1] == '0')
    frac[--n] = 0;
  snprintf(out, size, "%u.%s", ppm / PPM, frac);
}

typedef enum { FRACTION_OK, FRACTION_BAD, FRACTION_TOO_FINE } fraction_t;

/* Reads a decimal fraction ("0.01", "1", ".5") as parts per million,
 * saturating; digits after the sixth decimal must be zeros. */
static fraction_t parse_ppm(const char *s, size_t len, uint64_t *ppm)
{
  size_t k = 0, digits = 0;
  uint64_t whole = 0, part = 0, scale = PPM;
  bool too_fine = false;
  for (; k < len && s[k] >= '0' && s[k] <= '9'; k++, digits++)
    whole = whole > PPM ? whole : whole * 10 + (uint64_t)(s[k] - '0');
  if (k < len && s[k] == '.')
    for (k++; k < len && s[k] >= '0' && s[k] <= '9'; k++, digits++) {
      scale /= 10;
      part += scale * (uint64_t)(s[k] - '0');
      too_fine |= scale == 0 && s[k] != '0';
    }
  if (digits == 0 || k != len)
    return FRACTION_BAD;
  *ppm = whole * PPM + part;
  return too_fine ? FRACTION_TOO_FINE : FRACTION_OK;
}

static void read_tun_drop(const mf_yaml_tree_t *t, uint32_t i,
                          mf_debug_cfg_t *dbg)
{
  const mf_yaml_node_t *n = mf_yaml_node(t, i);
  uint64_t ppm = 0;
  fraction_t r = FRACTION_BAD;
  if (n->kind == MF_YAML_SCALAR && n->plain)
    r = parse_ppm(mf_yaml_text(t, i), n->len, &ppm);
  if (r == FRACTION_BAD) {
    mismatch(t, i, "tun_drop", "a fraction from 0 to 1, such as 0.01");
    return;
  }
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(mf_yaml_text(t, i), n->len, q, sizeof(q));
  if (ppm > PPM) {
    mf_yaml_error(t, i, "tun_drop: %s is out of range (0..1)", q);
    return;
  }
  if (r == FRACTION_TOO_FINE) {
    mf_yaml_error(t, i,
                  "tun_drop: %s is finer than one in a million (at most 6 "
                  "decimals)",
                  q);
    return;
  }
  dbg->tun_drop_ppm = (uint32_t)ppm;
}

void mf_profile_parse_debug(const mf_yaml_tree_t *t, uint32_t value,
                            mf_profile_t *p)
{
  mf_yaml_field_t f[] = {{.name = "tun_drop"}};
  if (value == MF_YAML_NONE || mf_yaml_is_null(t, value))
    return;
  if (mf_yaml_expect(t, value, MF_YAML_MAP, "debug") < 0)
    return;
  mf_yaml_read_fields(t, value, "in debug", f, 1);
  if (f[0].value != MF_YAML_NONE)
    read_tun_drop(t, f[0].value, &p->debug);
}
