/* WireGuard configurations as QR codes: the wg-quick text a profile
 * interface exports, and QR codes made of it (terminal and PNG) read back
 * to the same bytes; damaged, foreign or oversized images are refused with
 * their own status and never crash the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/export_wg.h"
#include "config/import_wg.h"
#include "config/key_text.h"
#include "config/profile.h"
#include "config/qr.h"

/* Keys made with `wg genkey | tee k | wg pubkey` and `wg genpsk`. */
#define PRIV1 "GMr3UShBKKo96GfwNgi8slTuZ03jPEShvWLZpA9ZP3s="
#define PUB1 "phS2dA3Sdl9iFCV7ApZRXgdXpvMDM29Cj/5zd3Waex4="
#define PUB2 "CA8K+Xy4+FvHqKoiV7weMv/Rco9d5SQLhJLqTo2uAAk="
#define PUB3 "iws6vQxmcYggK5Nz2cpKBlTq5J0ZBCvdes9JpZReK1o="
#define PSK "Wc/EV7kfRMPmO/V/q3hcNJ4ffgR7jgcgJdUAlNBkNZo="

/* Keys in any order and case, comments, a key only wg-quick knows. */
static const char original[] =
    "# office\n"
    "[Interface]\n"
    "address = 10.20.0.5/24, fd20::5/64\n"
    "PrivateKey = " PRIV1 "\n"
    "DNS = 10.20.0.1,fd20::1\n"
    "ListenPort = 51999\n"
    "MTU = 1400\n"
    "SaveConfig = false\n"
    "[Peer]\n"
    "Endpoint = [2001:db8::7]:51820\n"
    "PublicKey = " PUB2 "\n"
    "AllowedIPs = 10.20.0.0/24, 192.168.77.0/24\n"
    "PresharedKey = " PSK "\n"
    "PersistentKeepalive = 21\n"
    "\n"
    "[Peer]\n"
    "PublicKey = " PUB3 "\n"
    "AllowedIPs = fd20::/64\n";

/* What wg-quick and the WireGuard apps get back. */
static const char exported[] = "[Interface]\n"
                               "PrivateKey = " PRIV1 "\n"
                               "ListenPort = 51999\n"
                               "Address = 10.20.0.5/24, fd20::5/64\n"
                               "DNS = 10.20.0.1, fd20::1\n"
                               "MTU = 1400\n"
                               "\n"
                               "[Peer]\n"
                               "PublicKey = " PUB2 "\n"
                               "PresharedKey = " PSK "\n"
                               "AllowedIPs = 10.20.0.0/24, 192.168.77.0/24\n"
                               "Endpoint = [2001:db8::7]:51820\n"
                               "PersistentKeepalive = 21\n"
                               "\n"
                               "[Peer]\n"
                               "PublicKey = " PUB3 "\n"
                               "AllowedIPs = fd20::/64\n";

static mf_profile_t *prof_a, *prof_b;
static char dir[64];
static char text[MF_EXPORT_WG_MAX_TEXT];
static char got[MF_QR_MAX_TEXT + 1];

static int setup(void **state)
{
  (void)state;
  prof_a = calloc(1, sizeof(*prof_a));
  prof_b = calloc(1, sizeof(*prof_b));
  strcpy(dir, "/tmp/mf-test-qr-XXXXXX");
  return prof_a && prof_b && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  free(prof_a);
  free(prof_b);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp(const char *name)
{
  static char paths[4][128];
  static unsigned next;
  char *p = paths[next++ % 4];
  snprintf(p, 128, "%s/%s", dir, name);
  return p;
}

/* wg-quick text -> importer -> profile, as a user would do it. */
static void load_wg_quick(const char *conf, mf_profile_t *p)
{
  char *entry = NULL, *yaml = NULL;
  size_t entry_len = 0, yaml_len = 0;
  FILE *o = open_memstream(&entry, &entry_len);
  mf_diag_t diag = {0};
  assert_int_equal(
      mf_import_wg_quick(conf, strlen(conf), "t.conf", "wg0", o, &diag), 0);
  fclose(o);
  FILE *y = open_memstream(&yaml, &yaml_len);
  fprintf(y, "interfaces:\n%sroutes: [{cidr: 0.0.0.0/0, to: wg0}]\n", entry);
  fclose(y);
  mf_diag_t d = {0};
  int rc = mf_profile_load_string(yaml, yaml_len, "p.yaml", p, &d);
  if (rc != 0)
    print_error("%s\n%s", d.first, yaml);
  assert_int_equal(rc, 0);
  assert_int_equal(p->n_wg, 1);
  free(entry);
  free(yaml);
}

static void export_a(size_t *len)
{
  load_wg_quick(original, prof_a);
  assert_int_equal(mf_export_wg_quick(&prof_a->wg[0], text, sizeof(text), len),
                   0);
  assert_int_equal(strlen(text), *len);
}

static void test_export_format(void **state)
{
  (void)state;
  size_t len;
  export_a(&len);
  assert_string_equal(text, exported);
}

static void assert_same_prefixes(const mf_prefix_t *a, const mf_prefix_t *b,
                                 uint32_t n)
{
  for (uint32_t k = 0; k < n; k++)
    assert_true(mf_prefix_equal(&a[k], &b[k]));
}

/* Every field wg-quick has, compared; debug and marks are not config. */
static void assert_same_wg(const mf_wg_cfg_t *a, const mf_wg_cfg_t *b)
{
  assert_memory_equal(a->private_key, b->private_key, MF_KEY_LEN);
  assert_int_equal(a->listen_port, b->listen_port);
  assert_int_equal(a->mtu, b->mtu);
  assert_int_equal(a->n_addresses, b->n_addresses);
  assert_same_prefixes(a->addresses, b->addresses, a->n_addresses);
  assert_int_equal(a->n_dns, b->n_dns);
  assert_same_prefixes(a->dns, b->dns, a->n_dns);
  assert_int_equal(a->n_peers, b->n_peers);
  for (uint32_t k = 0; k < a->n_peers; k++) {
    const mf_wg_peer_cfg_t *p = &a->peers[k], *q = &b->peers[k];
    assert_memory_equal(p->public_key, q->public_key, MF_KEY_LEN);
    assert_int_equal(p->has_preshared_key, q->has_preshared_key);
    assert_memory_equal(p->preshared_key, q->preshared_key, MF_KEY_LEN);
    assert_int_equal(p->n_allowed_ips, q->n_allowed_ips);
    assert_same_prefixes(p->allowed_ips, q->allowed_ips, p->n_allowed_ips);
    assert_string_equal(p->endpoint, q->endpoint);
    assert_int_equal(p->persistent_keepalive, q->persistent_keepalive);
  }
}

static void test_export_imports_back(void **state)
{
  (void)state;
  size_t len;
  export_a(&len);
  load_wg_quick(text, prof_b);
  assert_same_wg(&prof_a->wg[0], &prof_b->wg[0]);
}

/* A buffer one byte short gets nothing, not a truncated key. */
static void test_export_small_buffer(void **state)
{
  (void)state;
  size_t len, short_len;
  export_a(&len);
  char *small = malloc(len);
  assert_int_equal(mf_export_wg_quick(&prof_a->wg[0], small, len, &short_len),
                   -1);
  assert_int_equal(short_len, 0);
  for (size_t k = 0; k < len; k++)
    assert_int_equal(small[k], 0);
  free(small);
  assert_int_equal(mf_export_wg_quick(&prof_a->wg[0], text, 0, &short_len),
                   -1);
}

/* Every list full of the longest addresses still fits the bound. */
static void test_export_worst_case_fits(void **state)
{
  (void)state;
  static mf_wg_cfg_t wg;
  mf_prefix_t v6;
  size_t len;
  memset(&v6, 0xff, sizeof(v6));
  v6.family = AF_INET6;
  v6.len = 128;
  memset(&wg, 0, sizeof(wg));
  wg.listen_port = 65535;
  wg.mtu = 65535;
  wg.n_addresses = MF_PROFILE_MAX_WG_ADDRS;
  wg.n_dns = MF_PROFILE_MAX_WG_DNS;
  for (uint32_t k = 0; k < MF_PROFILE_MAX_WG_ADDRS; k++)
    wg.addresses[k] = v6;
  for (uint32_t k = 0; k < MF_PROFILE_MAX_WG_DNS; k++)
    wg.dns[k] = v6;
  wg.n_peers = MF_PROFILE_MAX_WG_PEERS;
  for (uint32_t p = 0; p < MF_PROFILE_MAX_WG_PEERS; p++) {
    mf_wg_peer_cfg_t *pc = &wg.peers[p];
    pc->has_preshared_key = true;
    pc->n_allowed_ips = MF_PROFILE_MAX_ALLOWED_IPS;
    for (uint32_t k = 0; k < MF_PROFILE_MAX_ALLOWED_IPS; k++)
      pc->allowed_ips[k] = v6;
    memset(pc->endpoint, 'e', sizeof(pc->endpoint) - 1);
    pc->persistent_keepalive = 65535;
  }
  assert_int_equal(mf_export_wg_quick(&wg, text, sizeof(text), &len), 0);
  assert_true(len > MF_QR_MAX_TEXT);
  /* Too long for any QR code: refused, nothing written. */
  assert_int_equal(mf_qr_encode_png(text, tmp("big.png")), MF_QR_TOO_LONG);
  assert_int_equal(access(tmp("big.png"), F_OK), -1);
}

static void png_size(const char *path, uint32_t *w, uint32_t *h)
{
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  assert_true(png_image_begin_read_from_file(&img, path));
  *w = img.width;
  *h = img.height;
  png_image_free(&img);
}

static void assert_decodes_to(const char *path, const char *want,
                              size_t want_len)
{
  size_t len = 0;
  mf_qr_status_t s = mf_qr_decode_png(path, got, sizeof(got), &len);
  if (s != MF_QR_OK)
    print_error("%s: %s\n", path, mf_qr_status_text(s));
  assert_int_equal(s, MF_QR_OK);
  assert_int_equal(len, want_len);
  assert_memory_equal(got, want, want_len);
  assert_int_equal(got[len], 0);
}

static void test_png_round_trip(void **state)
{
  (void)state;
  size_t len;
  struct stat st;
  uint32_t w, h;
  export_a(&len);
  /* An old file readable by all becomes the owner's alone. */
  FILE *f = fopen(tmp("wg0.png"), "w");
  assert_non_null(f);
  fputs("old content, longer than nothing", f);
  fclose(f);
  assert_int_equal(chmod(tmp("wg0.png"), 0644), 0);
  assert_int_equal(mf_qr_encode_png(text, tmp("wg0.png")), MF_QR_OK);
  assert_int_equal(stat(tmp("wg0.png"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  png_size(tmp("wg0.png"), &w, &h);
  assert_int_equal(w, h);
  assert_int_equal(w % MF_QR_PNG_SCALE, 0);
  /* 21 + 4 per version modules (ISO/IEC 18004), and the quiet zone. */
  uint32_t modules = w / MF_QR_PNG_SCALE - 2 * MF_QR_QUIET;
  assert_int_equal((modules - 21) % 4, 0);
  assert_true(modules <= 177);
  assert_decodes_to(tmp("wg0.png"), text, len);
}

/* The largest text fits version 40 at level L; one byte more does not. */
static void test_png_capacity(void **state)
{
  (void)state;
  static char big[MF_QR_MAX_TEXT + 2];
  uint32_t w, h;
  srand(7);
  for (size_t k = 0; k < MF_QR_MAX_TEXT + 1; k++)
    big[k] = (char)(' ' + rand() % 95);
  big[MF_QR_MAX_TEXT + 1] = 0;
  assert_int_equal(mf_qr_encode_png(big, tmp("over.png")), MF_QR_TOO_LONG);
  assert_int_equal(access(tmp("over.png"), F_OK), -1);
  big[MF_QR_MAX_TEXT] = 0;
  assert_int_equal(mf_qr_encode_png(big, tmp("max.png")), MF_QR_OK);
  png_size(tmp("max.png"), &w, &h);
  assert_int_equal(w, (177 + 2 * MF_QR_QUIET) * MF_QR_PNG_SCALE);
  assert_decodes_to(tmp("max.png"), big, MF_QR_MAX_TEXT);
  assert_int_equal(mf_qr_encode_png("", tmp("empty.png")), MF_QR_EMPTY);
  assert_int_equal(mf_qr_encode_terminal("", stdout, false), MF_QR_EMPTY);
}

/* Bytes that are not UTF-8 come back as they went in. */
static void test_png_binary_bytes(void **state)
{
  (void)state;
  char raw[129];
  for (int k = 0; k < 128; k++)
    raw[k] = (char)(0x80 + k);
  raw[128] = 0;
  assert_int_equal(mf_qr_encode_png(raw, tmp("raw.png")), MF_QR_OK);
  assert_decodes_to(tmp("raw.png"), raw, 128);
}

static void write_gray(const char *path, const uint8_t *px, uint32_t w,
                       uint32_t h)
{
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = PNG_FORMAT_GRAY;
  assert_true(png_image_write_to_file(&img, path, 0, px, 0, NULL));
}

/* The one module per character cell row half: light where a block is. */
static int cell_bits(const char **p)
{
  static const struct {
    const char *s;
    int bits; /* 1: top light, 2: bottom light */
  } cells[] = {{" ", 0}, {"\u2580", 1}, {"\u2584", 2}, {"\u2588", 3}};
  for (size_t k = 0; k < 4; k++) {
    size_t n = strlen(cells[k].s);
    if (strncmp(*p, cells[k].s, n) == 0) {
      *p += n;
      return cells[k].bits;
    }
  }
  return -1;
}

/* The terminal drawing, read back cell by cell into modules and drawn as
 * an image (scale 4), reads back to the text. */
static void test_terminal_round_trip(void **state)
{
  (void)state;
  size_t len, out_len = 0;
  char *out = NULL;
  export_a(&len);
  FILE *f = open_memstream(&out, &out_len);
  assert_int_equal(mf_qr_encode_terminal(text, f, false), MF_QR_OK);
  fclose(f);
  const char *nl = strchr(out, '\n');
  assert_non_null(nl);
  uint32_t side = 0;
  for (const char *p = out; p < nl; side++)
    assert_true(cell_bits(&p) >= 0);
  uint32_t lines = 0;
  for (const char *p = out; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, (side + 1) / 2);
  const uint32_t scale = 4, px = side * scale;
  uint8_t *img = calloc((size_t)px, px);
  const char *p = out;
  for (uint32_t row = 0; row < lines; row++, p++) {
    for (uint32_t x = 0; x < side; x++) {
      int bits = cell_bits(&p);
      assert_true(bits >= 0);
      for (uint32_t half = 0; half < 2 && 2 * row + half < side; half++)
        for (uint32_t dy = 0; dy < scale; dy++)
          memset(img + ((size_t)(2 * row + half) * scale + dy) * px +
                     x * scale,
                 bits >> half & 1 ? 255 : 0, scale);
    }
    assert_int_equal(*p, '\n');
  }
  /* The quiet zone: the first lines are all light. */
  for (uint32_t k = 0; k < px * scale * MF_QR_QUIET; k++)
    assert_int_equal(img[k], 255);
  write_gray(tmp("term.png"), img, px, px);
  free(img);
  free(out);
  assert_decodes_to(tmp("term.png"), text, len);
}

static void test_terminal_colors(void **state)
{
  (void)state;
  char *out = NULL;
  size_t out_len = 0;
  FILE *f = open_memstream(&out, &out_len);
  assert_int_equal(mf_qr_encode_terminal("hello", f, true), MF_QR_OK);
  fclose(f);
  uint32_t lines = 0;
  for (char *line = out; *line; lines++) {
    char *end = strchr(line, '\n');
    assert_non_null(end);
    assert_memory_equal(line, "\033[40;97m", 8);
    assert_memory_equal(end - 4, "\033[0m", 4);
    line = end + 1;
  }
  assert_int_equal(lines, (21 + 2 * MF_QR_QUIET + 1) / 2);
  free(out);
}

/* The gray pixels of a PNG written by mf_qr_encode_png. */
static uint8_t *read_gray(const char *path, uint32_t *w, uint32_t *h)
{
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  assert_true(png_image_begin_read_from_file(&img, path));
  img.format = PNG_FORMAT_GRAY;
  uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
  assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
  *w = img.width;
  *h = img.height;
  return px;
}

/* Light on dark (a photo of a terminal), and transparency for light (as
 * some web pages draw codes): both read. */
static void test_decode_inverted_and_alpha(void **state)
{
  (void)state;
  uint32_t w, h;
  assert_int_equal(mf_qr_encode_png(exported, tmp("a.png")), MF_QR_OK);
  uint8_t *px = read_gray(tmp("a.png"), &w, &h);
  size_t n = (size_t)w * h;
  for (size_t k = 0; k < n; k++)
    px[k] = (uint8_t)(255 - px[k]);
  write_gray(tmp("inverted.png"), px, w, h);
  assert_decodes_to(tmp("inverted.png"), exported, strlen(exported));

  uint8_t *rgba = malloc(n * 4);
  for (size_t k = 0; k < n; k++) {
    bool dark = px[k] == 255; /* inverted above */
    rgba[4 * k] = rgba[4 * k + 1] = rgba[4 * k + 2] = dark ? 0 : 200;
    rgba[4 * k + 3] = dark ? 255 : 0;
  }
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = PNG_FORMAT_RGBA;
  assert_true(png_image_write_to_file(&img, tmp("alpha.png"), 0, rgba, 0,
                                      NULL));
  assert_decodes_to(tmp("alpha.png"), exported, strlen(exported));
  free(rgba);
  free(px);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static mf_qr_status_t decode(const char *path)
{
  size_t len = 1;
  mf_qr_status_t s = mf_qr_decode_png(path, got, sizeof(got), &len);
  if (s != MF_QR_OK)
    assert_int_equal(len, 0);
  return s;
}

/* PNG chunks need their CRC (ISO 3309 as PNG section 5.5 uses it). */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
  uint32_t c = 0xffffffffu;
  for (size_t k = 0; k < n; k++) {
    c ^= p[k];
    for (int b = 0; b < 8; b++)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

static size_t put_chunk(uint8_t *at, const char *type, const uint8_t *data,
                        uint32_t len)
{
  at[0] = (uint8_t)(len >> 24), at[1] = (uint8_t)(len >> 16);
  at[2] = (uint8_t)(len >> 8), at[3] = (uint8_t)len;
  memcpy(at + 4, type, 4);
  if (len)
    memcpy(at + 8, data, len);
  uint32_t crc = crc32_png(at + 4, len + 4);
  at[8 + len] = (uint8_t)(crc >> 24), at[9 + len] = (uint8_t)(crc >> 16);
  at[10 + len] = (uint8_t)(crc >> 8), at[11 + len] = (uint8_t)crc;
  return 12 + len;
}

/* A header that promises 20000 x 20000 pixels is refused before any
 * pixel is decoded (or any memory taken for them). */
static void test_decode_huge_header(void **state)
{
  (void)state;
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const uint8_t ihdr[13] = {0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 0, 0, 0, 0};
  uint8_t file[128];
  size_t n = sizeof(sig);
  memcpy(file, sig, n);
  n += put_chunk(file + n, "IHDR", ihdr, sizeof(ihdr));
  n += put_chunk(file + n, "IDAT", NULL, 0);
  n += put_chunk(file + n, "IEND", NULL, 0);
  write_bytes(tmp("huge.png"), file, n);
  assert_int_equal(decode(tmp("huge.png")), MF_QR_IMAGE_TOO_LARGE);
}

static void test_decode_errors(void **state)
{
  (void)state;
  static uint8_t buf[1 << 16];
  uint32_t w, h;
  errno = 0;
  assert_int_equal(decode(tmp("missing.png")), MF_QR_IO);
  assert_int_equal(errno, ENOENT);
  write_bytes(tmp("text.png"), exported, strlen(exported));
  assert_int_equal(decode(tmp("text.png")), MF_QR_NOT_PNG);
  write_bytes(tmp("empty.png"), "", 0);
  assert_int_equal(decode(tmp("empty.png")), MF_QR_NOT_PNG);
  errno = 0;
  assert_int_equal(decode(dir), MF_QR_IO);
  assert_int_equal(errno, EISDIR);

  assert_int_equal(mf_qr_encode_png(exported, tmp("good.png")), MF_QR_OK);
  size_t n = read_bytes(tmp("good.png"), buf, sizeof(buf));
  assert_true(n > 100 && n < sizeof(buf));
  write_bytes(tmp("cut.png"), buf, n / 2);
  assert_int_equal(decode(tmp("cut.png")), MF_QR_BAD_PNG);

  /* The caller's buffer holds less than the code: refused, not cut. */
  size_t len = 1;
  assert_int_equal(mf_qr_decode_png(tmp("good.png"), got, 10, &len),
                   MF_QR_DATA_TOO_LONG);
  assert_int_equal(len, 0);

  uint8_t *px = read_gray(tmp("good.png"), &w, &h);
  uint8_t *two = malloc((size_t)w * 2 * h);
  for (uint32_t y = 0; y < h; y++) {
    memcpy(two + (size_t)y * 2 * w, px + (size_t)y * w, w);
    memcpy(two + (size_t)y * 2 * w + w, px + (size_t)y * w, w);
  }
  write_gray(tmp("two.png"), two, 2 * w, h);
  assert_int_equal(decode(tmp("two.png")), MF_QR_SEVERAL);
  memset(px, 255, (size_t)w * h);
  write_gray(tmp("white.png"), px, w, h);
  assert_int_equal(decode(tmp("white.png")), MF_QR_NOT_FOUND);
  free(two);
  free(px);
}

/* Damage anywhere in the file: any status, never a crash (the run under
 * the sanitizers is what checks the reads). */
static void test_decode_damaged(void **state)
{
  (void)state;
  static uint8_t good[1 << 16], bad[1 << 16];
  assert_int_equal(mf_qr_encode_png("hello damaged world", tmp("d.png")),
                   MF_QR_OK);
  size_t n = read_bytes(tmp("d.png"), good, sizeof(good));
  srand(42);
  for (int round = 0; round < 48; round++) {
    memcpy(bad, good, n);
    for (int k = 0; k < 1 + round % 8; k++)
      bad[8 + (size_t)rand() % (n - 8)] = (uint8_t)rand();
    write_bytes(tmp("bad.png"), bad, n);
    (void)decode(tmp("bad.png"));
  }
  for (int round = 0; round < 16; round++) {
    memcpy(bad, good, 8);
    for (size_t k = 8; k < 512; k++)
      bad[k] = (uint8_t)rand();
    write_bytes(tmp("noise.png"), bad, 512);
    assert_int_not_equal(decode(tmp("noise.png")), MF_QR_OK);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_export_format),
      cmocka_unit_test(test_export_imports_back),
      cmocka_unit_test(test_export_small_buffer),
      cmocka_unit_test(test_export_worst_case_fits),
      cmocka_unit_test(test_png_round_trip),
      cmocka_unit_test(test_png_capacity),
      cmocka_unit_test(test_png_binary_bytes),
      cmocka_unit_test(test_terminal_round_trip),
      cmocka_unit_test(test_terminal_colors),
      cmocka_unit_test(test_decode_inverted_and_alpha),
      cmocka_unit_test(test_decode_huge_header),
      cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_decode_damaged),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
