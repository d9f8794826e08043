/* Domain names on the wire (RFC 1035 3.1, 4.1.4): reading a possibly
 * compressed name out of a message, writing one into a message being
 * built (with compression), comparing, and the text form the domain-set
 * matcher and `show dns cache` use.
 *
 * A name is kept in its uncompressed wire form: length-prefixed labels
 * ending with the zero-length root label, at most 255 octets in all
 * (RFC 1035 2.3.4), labels of at most 63 octets. Case is kept as it
 * arrived, since a reply must echo the question byte for byte (clients
 * that randomise case, draft "0x20", check it); comparisons and the text
 * form fold ASCII case only (RFC 4343).
 *
 * Reading never trusts the message: every offset is checked against its
 * length, only label types 00 (length) and 11 (pointer) are accepted, and
 * a pointer must point to a strictly earlier offset than the run of
 * labels it ends. Each jump therefore lands lower than the last, which
 * rules out loops; a jump count bound adds a second fence. Pointers into
 * the 12-octet message header are refused too: no name lives there, and
 * the header is what gets rewritten (the ID of a relayed answer), so such
 * a name would change meaning under our hands.
 *
 * Everything here is pure (byte spans in, structs out) and reentrant. */
#ifndef MF_DNS_DNS_NAME_H
#define MF_DNS_DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_DNS_NAME_MAX 255  /* wire octets, root label included */
#define MF_DNS_LABEL_MAX 63
/* Jumps one name may take. A legitimate name has at most 127 labels and
 * a compressor emits at most one pointer, so this only stops abuse. */
#define MF_DNS_NAME_MAX_JUMPS 127
/* Pointers carry 14 bits of offset: names written beyond this cannot be
 * pointed at. */
#define MF_DNS_POINTER_MAX 0x3fff
/* The lowest offset a pointer may target: names start after the header
 * (RFC 1035 4.1.1). */
#define MF_DNS_POINTER_MIN 12
/* Text buffer size that fits any name: 250 label octets of \DDD escapes,
 * 3 dots and the NUL need 1004. */
#define MF_DNS_NAME_TEXT_SIZE 1024

/* Only the first len octets of wire are meaningful; compare with
 * mf_dns_name_equal, never memcmp of the whole struct. */
typedef struct {
  uint8_t wire[MF_DNS_NAME_MAX]; /* labels, root label included */
  uint8_t len;                   /* octets in wire, 1..255 */
  uint8_t labels;                /* labels before the root, 0..127 */
} mf_dns_name_t;

/* Why a name could not be read; dns_wire maps these to its error table. */
typedef enum {
  MF_DNS_NAME_OK = 0,
  MF_DNS_NAME_TRUNCATED,       /* runs past the end of the message */
  MF_DNS_NAME_BAD_LABEL_TYPE,  /* label type 01 or 10: reserved (RFC 1035
                                  4.1.4; RFC 6891 5 retired extended ones) */
  MF_DNS_NAME_POINTER_FORWARD, /* pointer to a later offset */
  MF_DNS_NAME_POINTER_HEADER,  /* pointer into the message header */
  MF_DNS_NAME_LOOP,            /* pointer not below its run, or too many */
  MF_DNS_NAME_TOO_LONG,        /* more than 255 octets once expanded */
} mf_dns_name_status_t;

/* Reads the name at msg[off], following pointers, into *name (case kept).
 * *next gets the offset just past the name's bytes at off (past its
 * first pointer when it has one), where the next field starts. */
mf_dns_name_status_t mf_dns_name_read(const uint8_t *msg, size_t len,
                                      size_t off, mf_dns_name_t *name,
                                      size_t *next);

/* Offset just past the name at msg[off] without following its pointer,
 * or 0 when it runs off the message. For walking a message that was
 * already read in full once (mf_dns_parse); checks bounds, not loops. */
size_t mf_dns_name_skip(const uint8_t *msg, size_t len, size_t off);

/* Equality ignoring ASCII case (RFC 4343 2). */
bool mf_dns_name_equal(const mf_dns_name_t *a, const mf_dns_name_t *b);
/* Folds ASCII upper case to lower case in place. */
void mf_dns_name_lower(mf_dns_name_t *name);
/* The root name ".". */
void mf_dns_name_root(mf_dns_name_t *name);

/* The lower-cased text form without the trailing dot ("www.example.com",
 * "." for the root). Octets outside printable ASCII, the space, and '.' or
 * '\' inside a label are escaped as \DDD (RFC 1035 5.1), so the text is
 * unambiguous and a label holding a dot can never pass for two labels in
 * a domain-set match; ordinary host names (letters, digits, '-', '_')
 * come out as they are, lower-cased. Returns the text length, or -1 when
 * size is too small (MF_DNS_NAME_TEXT_SIZE always suffices). */
int mf_dns_name_to_text(const mf_dns_name_t *name, char *out, size_t size);

/* Parses text ("example.com", "example.com.", ".", with \X and \DDD
 * escapes) of len bytes. Empty labels, labels over 63 octets and names
 * over 255 wire octets are refused. 0, or -1. */
int mf_dns_name_from_text(const char *text, size_t len, mf_dns_name_t *name);

/* Compression state of one message being built: offsets where names (and
 * each of their suffixes) were written, so later names can point there.
 * Bounded: names written once it is full go out uncompressed. */
#define MF_DNS_COMPRESS_MAX 32
typedef struct {
  uint16_t off[MF_DNS_COMPRESS_MAX];    /* where a suffix starts in msg */
  uint8_t labels[MF_DNS_COMPRESS_MAX];  /* labels in that suffix */
  uint8_t n;
} mf_dns_compress_t;

static inline void mf_dns_compress_init(mf_dns_compress_t *c)
{
  c->n = 0;
}

/* Writes name at msg[*off] (msg holds cap bytes, of which the first *off
 * are the message so far), replacing its longest suffix already in the
 * message by a pointer (RFC 1035 4.1.4) when c is not NULL, and records
 * the suffixes it wrote in c (those below offset MF_DNS_POINTER_MAX).
 * Advances *off. 0, or -1 when it does not fit (then nothing is written
 * or recorded). */
int mf_dns_name_write(uint8_t *msg, size_t cap, size_t *off,
                      const mf_dns_name_t *name, mf_dns_compress_t *c);

#endif
