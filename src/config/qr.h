/* QR codes (ISO/IEC 18004) that carry configuration text: made with
 * libqrencode and shown on a terminal or written as a PNG; read back from
 * a PNG with libpng and zbar. The text goes in one byte-mode segment,
 * as the WireGuard apps' "scan from QR code" expects. */
#ifndef MF_CONFIG_QR_H
#define MF_CONFIG_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The most bytes a QR code holds: version 40, level L, byte mode
 * (ISO/IEC 18004:2015 table 7). Level M is used while the text fits
 * (2331 bytes), L above that. */
#define MF_QR_MAX_TEXT 2953
/* The most a QR code's data decodes to: version 40, level L, all digits
 * (numeric mode, same table). */
#define MF_QR_MAX_DATA 7089
#define MF_QR_QUIET 4     /* modules of light margin each side, as 18004 asks */
#define MF_QR_PNG_SCALE 8 /* pixels per module in written PNGs */
/* Images read are refused above these, before any pixel is decoded. */
#define MF_QR_MAX_IMAGE_SIDE 16384           /* pixels */
#define MF_QR_MAX_IMAGE_PIXELS (32u << 20)   /* 32 MiB of 8-bit gray */

typedef enum {
  MF_QR_OK = 0,
  MF_QR_EMPTY,       /* nothing to encode */
  MF_QR_TOO_LONG,    /* more than MF_QR_MAX_TEXT bytes */
  MF_QR_NO_MEMORY,
  MF_QR_IO,          /* open, read or write failed; errno says why */
  MF_QR_NOT_PNG,     /* no PNG signature */
  MF_QR_BAD_PNG,     /* a PNG libpng cannot read */
  MF_QR_IMAGE_TOO_LARGE,
  MF_QR_NOT_FOUND,   /* no QR code in the image */
  MF_QR_SEVERAL,     /* more than one QR code in the image */
  MF_QR_DATA_TOO_LONG, /* the code's data does not fit the caller's buffer */
} mf_qr_status_t;

/* A short English reason, for "file: reason" messages. */
const char *mf_qr_status_text(mf_qr_status_t s);

/* Prints text's QR code to out with "▀▄█" (two module rows a line), the
 * light modules drawn and the dark ones left blank, with a quiet zone:
 * right for a terminal with a dark background. With colors, each line is
 * wrapped in ANSI SGR codes (white on black), so that any terminal theme
 * shows it right. */
mf_qr_status_t mf_qr_encode_terminal(const char *text, FILE *out,
                                     bool colors);

/* Writes text's QR code as an 8-bit gray PNG at path, MF_QR_PNG_SCALE
 * pixels a module with a MF_QR_QUIET module margin. The file is made
 * mode 0600 (the text may be a secret); on failure it is removed. */
mf_qr_status_t mf_qr_encode_png(const char *text, const char *path);

/* Reads the one QR code in the PNG at path into out (cap bytes) with a
 * NUL after it, the bytes unconverted (zbar's binary mode); *len gets
 * their count (the data itself may hold a NUL). */
mf_qr_status_t mf_qr_decode_png(const char *path, char *out, size_t cap,
                                size_t *len);

#endif
