/* QR codes for configuration text. Making one: libqrencode, version
 * chosen by size, one byte-mode segment (mixed modes would save a few
 * bytes, but byte mode is what every reader handles). Reading one: libpng's
 * simplified API turns any PNG (palette, RGB, alpha, 16-bit) into 8-bit
 * gray, composited on white, and zbar looks for QR codes only. The codes
 * carry secrets, so every buffer that held the text or its modules is
 * wiped before it is freed. */
#include "config/qr.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <png.h>
#include <qrencode.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zbar.h>

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};

const char *mf_qr_status_text(mf_qr_status_t s)
{
  switch (s) {
  case MF_QR_OK:
    return "ok";
  case MF_QR_EMPTY:
    return "nothing to encode";
  case MF_QR_TOO_LONG:
    return "too long for a QR code (at most 2953 bytes)";
  case MF_QR_NO_MEMORY:
    return "out of memory";
  case MF_QR_IO:
    return "cannot read or write the file";
  case MF_QR_NOT_PNG:
    return "not a PNG image";
  case MF_QR_BAD_PNG:
    return "a damaged or unreadable PNG image";
  case MF_QR_IMAGE_TOO_LARGE:
    return "image too large to scan";
  case MF_QR_NOT_FOUND:
    return "no QR code found in the image";
  case MF_QR_SEVERAL:
    return "more than one QR code in the image";
  case MF_QR_DATA_TOO_LONG:
    return "the QR code holds more data than expected";
  }
  return "unknown error";
}

/* Level M survives more damage (a photographed screen); L is the fallback
 * that lets the largest texts fit at all. */
static mf_qr_status_t qr_make(const char *text, QRcode **out)
{
  size_t len = strnlen(text, MF_QR_MAX_TEXT + 1);
  *out = NULL;
  if (len == 0)
    return MF_QR_EMPTY;
  if (len > MF_QR_MAX_TEXT)
    return MF_QR_TOO_LONG;
  const unsigned char *data = (const unsigned char *)text;
  errno = 0;
  *out = QRcode_encodeData((int)len, data, 0, QR_ECLEVEL_M);
  if (!*out && errno == ERANGE)
    *out = QRcode_encodeData((int)len, data, 0, QR_ECLEVEL_L);
  if (*out)
    return MF_QR_OK;
  return errno == ERANGE ? MF_QR_TOO_LONG : MF_QR_NO_MEMORY;
}

static void qr_free(QRcode *q)
{
  OPENSSL_cleanse(q->data, (size_t)q->width * (size_t)q->width);
  QRcode_free(q);
}

/* Module (x, y) of the symbol with its quiet zone around it; outside the
 * symbol is light. Bit 0 of each libqrencode byte is "dark". */
static bool qr_dark(const QRcode *q, int x, int y)
{
  x -= MF_QR_QUIET;
  y -= MF_QR_QUIET;
  if (x < 0 || y < 0 || x >= q->width || y >= q->width)
    return false;
  return q->data[y * q->width + x] & 1;
}

/* Index: top module light (1) | bottom module light (2). Rows past the
 * last are the terminal's own (dark) background. */
static const char *const half_blocks[4] = {" ", "\u2580", "\u2584",
                                           "\u2588"};

mf_qr_status_t mf_qr_encode_terminal(const char *text, FILE *out,
                                     bool colors)
{
  QRcode *q;
  mf_qr_status_t s = qr_make(text, &q);
  if (s != MF_QR_OK)
    return s;
  int side = q->width + 2 * MF_QR_QUIET;
  for (int y = 0; y < side; y += 2) {
    if (colors)
      fputs("\033[40;97m", out);
    for (int x = 0; x < side; x++) {
      int top = !qr_dark(q, x, y);
      int bottom = y + 1 < side && !qr_dark(q, x, y + 1);
      fputs(half_blocks[top | bottom << 1], out);
    }
    fputs(colors ? "\033[0m\n" : "\n", out);
  }
  qr_free(q);
  return ferror(out) ? MF_QR_IO : MF_QR_OK;
}

/* The symbol scaled up, one byte a pixel: 0 dark, 255 light. */
static uint8_t *qr_pixels(const QRcode *q, uint32_t *side_px)
{
  uint32_t side = (uint32_t)q->width + 2 * MF_QR_QUIET;
  uint32_t px = side * MF_QR_PNG_SCALE;
  uint8_t *buf = malloc((size_t)px * px);
  if (!buf)
    return NULL;
  for (uint32_t y = 0; y < px; y++)
    for (uint32_t x = 0; x < px; x++)
      buf[(size_t)y * px + x] =
          qr_dark(q, (int)(x / MF_QR_PNG_SCALE), (int)(y / MF_QR_PNG_SCALE))
              ? 0
              : 255;
  *side_px = px;
  return buf;
}

/* A new or truncated file, owner-only whatever it was before. */
static FILE *open_private(const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return NULL;
  FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  return f;
}

static mf_qr_status_t write_png(const char *path, const uint8_t *buf,
                                uint32_t side)
{
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = side;
  img.height = side;
  img.format = PNG_FORMAT_GRAY;
  FILE *f = open_private(path);
  if (!f)
    return MF_QR_IO;
  int ok = png_image_write_to_stdio(&img, f, 0, buf, 0, NULL);
  int saved = errno;
  png_image_free(&img);
  if (fclose(f) != 0 && ok)
    ok = 0, saved = errno;
  if (!ok) {
    unlink(path);
    errno = saved;
    return MF_QR_IO;
  }
  return MF_QR_OK;
}

mf_qr_status_t mf_qr_encode_png(const char *text, const char *path)
{
  QRcode *q;
  uint32_t side = 0;
  mf_qr_status_t s = qr_make(text, &q);
  if (s != MF_QR_OK)
    return s;
  uint8_t *buf = qr_pixels(q, &side);
  qr_free(q);
  if (!buf)
    return MF_QR_NO_MEMORY;
  s = write_png(path, buf, side);
  int saved = errno;
  OPENSSL_cleanse(buf, (size_t)side * side);
  free(buf);
  errno = saved;
  return s;
}

/* Checks the signature first, for a clearer message than libpng's. */
static mf_qr_status_t open_png(const char *path, FILE **out)
{
  uint8_t sig[sizeof(png_magic)];
  FILE *f = fopen(path, "rb");
  if (!f)
    return MF_QR_IO;
  size_t n = fread(sig, 1, sizeof(sig), f);
  mf_qr_status_t s = MF_QR_OK;
  if (n != sizeof(sig) && ferror(f))
    s = MF_QR_IO; /* a directory, say */
  else if (n != sizeof(sig) || memcmp(sig, png_magic, sizeof(sig)) != 0)
    s = MF_QR_NOT_PNG;
  else if (fseek(f, 0, SEEK_SET) != 0)
    s = MF_QR_IO;
  if (s != MF_QR_OK) {
    int saved = errno;
    fclose(f);
    errno = saved;
    return s;
  }
  *out = f;
  return MF_QR_OK;
}

/* The PNG at path as 8-bit gray; the caller wipes and frees *pixels. */
static mf_qr_status_t read_gray(const char *path, uint8_t **pixels,
                                uint32_t *w, uint32_t *h)
{
  static const png_color white = {255, 255, 255};
  FILE *f;
  mf_qr_status_t s = open_png(path, &f);
  if (s != MF_QR_OK)
    return s;
  png_image img;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_stdio(&img, f))
    s = MF_QR_BAD_PNG;
  else if (img.width == 0 || img.height == 0 ||
           img.width > MF_QR_MAX_IMAGE_SIDE ||
           img.height > MF_QR_MAX_IMAGE_SIDE ||
           (uint64_t)img.width * img.height > MF_QR_MAX_IMAGE_PIXELS)
    s = MF_QR_IMAGE_TOO_LARGE;
  if (s == MF_QR_OK) {
    img.format = PNG_FORMAT_GRAY;
    *pixels = malloc(PNG_IMAGE_SIZE(img));
    if (!*pixels)
      s = MF_QR_NO_MEMORY;
    else if (!png_image_finish_read(&img, &white, *pixels, 0, NULL)) {
      OPENSSL_cleanse(*pixels, PNG_IMAGE_SIZE(img));
      free(*pixels);
      *pixels = NULL;
      s = MF_QR_BAD_PNG;
    }
  }
  *w = img.width;
  *h = img.height;
  png_image_free(&img);
  fclose(f);
  return s;
}

/* Copies the data of the one QR symbol among the scan's results. */
static mf_qr_status_t take_symbol(const zbar_image_t *zi, char *out,
                                  size_t cap, size_t *len)
{
  const zbar_symbol_t *found = NULL;
  for (const zbar_symbol_t *sym = zbar_image_first_symbol(zi); sym;
       sym = zbar_symbol_next(sym)) {
    if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
      continue;
    if (found)
      return MF_QR_SEVERAL;
    found = sym;
  }
  if (!found)
    return MF_QR_NOT_FOUND;
  size_t n = zbar_symbol_get_data_length(found);
  if (n >= cap)
    return MF_QR_DATA_TOO_LONG;
  memcpy(out, zbar_symbol_get_data(found), n);
  out[n] = 0;
  *len = n;
  return MF_QR_OK;
}

static mf_qr_status_t scan_gray(uint8_t *pixels, uint32_t w, uint32_t h,
                                char *out, size_t cap, size_t *len)
{
  zbar_image_scanner_t *sc = zbar_image_scanner_create();
  zbar_image_t *zi = zbar_image_create();
  mf_qr_status_t s = MF_QR_NO_MEMORY;
  if (sc && zi) {
    zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
    /* A photo of a terminal shows light modules on dark. */
    zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_TEST_INVERTED, 1);
    zbar_image_set_format(zi, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(zi, w, h);
    zbar_image_set_data(zi, pixels, (unsigned long)w * h, NULL);
    int n = zbar_scan_image(sc, zi);
    s = n < 0 ? MF_QR_NO_MEMORY
              : n == 0 ? MF_QR_NOT_FOUND : take_symbol(zi, out, cap, len);
  }
  if (zi)
    zbar_image_destroy(zi);
  if (sc)
    zbar_image_scanner_destroy(sc);
  return s;
}

mf_qr_status_t mf_qr_decode_png(const char *path, char *out, size_t cap,
                                size_t *len)
{
  uint8_t *pixels = NULL;
  uint32_t w = 0, h = 0;
  *len = 0;
  if (cap)
    out[0] = 0;
  mf_qr_status_t s = read_gray(path, &pixels, &w, &h);
  if (s == MF_QR_OK)
    s = scan_gray(pixels, w, h, out, cap, len);
  if (pixels) {
    OPENSSL_cleanse(pixels, (size_t)w * h);
    free(pixels);
  }
  return s;
}
