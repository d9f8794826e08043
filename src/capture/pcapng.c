#include "capture/pcapng.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Block types, option codes and values from draft-ietf-opsawg-pcapng:
 * section 4.1 (SHB), 4.2 (IDB), 4.3 (EPB) and 3.5 (options). */
#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BT_IDB 0x00000001u
#define PCAPNG_BT_EPB 0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_VERSION_MAJOR 1
#define PCAPNG_VERSION_MINOR 0
#define PCAPNG_OPT_ENDOFOPT 0
#define PCAPNG_OPT_IF_NAME 2
#define PCAPNG_OPT_IF_TSRESOL 9
/* if_tsresol with the high bit clear is a negative power of ten: 10^-9 s. */
#define PCAPNG_TSRESOL_NANOSECONDS 9
/* LINKTYPE_RAW from the tcpdump.org link-type registry: the packet starts
 * with an IPv4 or IPv6 header, told apart by the version nibble. */
#define PCAPNG_LINKTYPE_RAW 101

/* Interface names are labels for the reader; a bound keeps the IDB in one
 * small stack buffer. */
#define PCAPNG_IF_NAME_MAX 256
/* Wireshark refuses packet blocks longer than its maximum snapshot length
 * (262144 for raw IP); capturing more would write a file nobody can read. */
#define PCAPNG_MAX_CAPLEN 262144u

/* Fixed parts of the blocks, excluding options and the trailing length. */
#define PCAPNG_SHB_LEN 28u
#define PCAPNG_IDB_FIXED_LEN 16u
#define PCAPNG_EPB_FIXED_LEN 28u

static uint32_t pcapng_pad4(uint32_t n)
{
  return (4u - (n & 3u)) & 3u;
}

/* Every field goes out in host order: the byte-order magic in the SHB tells
 * the reader which order that was (section 4.1). */
static uint8_t *pcapng_put32(uint8_t *p, uint32_t v)
{
  memcpy(p, &v, sizeof(v));
  return p + sizeof(v);
}

static uint8_t *pcapng_put16(uint8_t *p, uint16_t v)
{
  memcpy(p, &v, sizeof(v));
  return p + sizeof(v);
}

/* Keeps the first error: it is the one that explains the rest. */
static void pcapng_fail(mf_pcapng_t *w, int err)
{
  if (w->error == 0)
    w->error = err;
}

/* A short write leaves a partial block behind, so the first failure ends the
 * capture: later calls are refused and close reports that errno. */
static int pcapng_emit(mf_pcapng_t *w, const void *data, size_t n)
{
  if (n == 0)
    return 0;
  errno = 0;
  if (fwrite(data, 1, n, w->f) != n) {
    pcapng_fail(w, errno != 0 ? errno : EIO);
    return -1;
  }
  return 0;
}

/* Refuses a writer that already failed (for any reason, misuse included:
 * the first error is what close reports) or was closed. */
static int pcapng_check_usable(mf_pcapng_t *w)
{
  if (w->error != 0)
    return -1;
  if (w->f == NULL) {
    pcapng_fail(w, EBADF);
    return -1;
  }
  return 0;
}

static int pcapng_write_section_header(mf_pcapng_t *w)
{
  uint8_t b[PCAPNG_SHB_LEN];
  uint8_t *p = b;
  p = pcapng_put32(p, PCAPNG_BT_SHB);
  p = pcapng_put32(p, PCAPNG_SHB_LEN);
  p = pcapng_put32(p, PCAPNG_BYTE_ORDER_MAGIC);
  p = pcapng_put16(p, PCAPNG_VERSION_MAJOR);
  p = pcapng_put16(p, PCAPNG_VERSION_MINOR);
  /* Section length -1: not known up front, and we never seek back. */
  int64_t section_len = -1;
  memcpy(p, &section_len, sizeof(section_len));
  p += sizeof(section_len);
  pcapng_put32(p, PCAPNG_SHB_LEN);
  return pcapng_emit(w, b, sizeof(b));
}

int mf_pcapng_open(mf_pcapng_t *w, const char *path)
{
  memset(w, 0, sizeof(*w));
  w->f = fopen(path, "wb");
  if (w->f == NULL) {
    pcapng_fail(w, errno != 0 ? errno : EIO);
    return -w->error;
  }
  if (pcapng_write_section_header(w) != 0) {
    fclose(w->f);
    w->f = NULL;
    return -w->error;
  }
  return 0;
}

static uint8_t *pcapng_put_option(uint8_t *p, uint16_t code, const void *val,
                                  uint16_t len)
{
  p = pcapng_put16(p, code);
  p = pcapng_put16(p, len);
  if (len > 0)
    memcpy(p, val, len);
  p += len;
  uint32_t pad = pcapng_pad4(len);
  memset(p, 0, pad);
  return p + pad;
}

int mf_pcapng_add_interface(mf_pcapng_t *w, const char *name, uint32_t snaplen)
{
  if (pcapng_check_usable(w) != 0)
    return -1;
  size_t name_len = name != NULL ? strnlen(name, PCAPNG_IF_NAME_MAX + 1) : 0;
  if (name_len > PCAPNG_IF_NAME_MAX || w->n_ifaces >= (uint32_t)INT_MAX) {
    pcapng_fail(w, EINVAL);
    return -1;
  }
  /* Fixed part, if_name, if_tsresol, opt_endofopt, trailing length. */
  uint8_t b[PCAPNG_IDB_FIXED_LEN + 4 + PCAPNG_IF_NAME_MAX + 8 + 4 + 4];
  uint8_t *p = b + 8; /* type and length go in once the size is known */
  p = pcapng_put16(p, PCAPNG_LINKTYPE_RAW);
  p = pcapng_put16(p, 0); /* reserved */
  p = pcapng_put32(p, snaplen);
  if (name_len > 0)
    p = pcapng_put_option(p, PCAPNG_OPT_IF_NAME, name, (uint16_t)name_len);
  /* Timestamps are nanoseconds; without this option readers assume
   * microseconds (section 4.2, if_tsresol). */
  uint8_t tsresol = PCAPNG_TSRESOL_NANOSECONDS;
  p = pcapng_put_option(p, PCAPNG_OPT_IF_TSRESOL, &tsresol, 1);
  p = pcapng_put_option(p, PCAPNG_OPT_ENDOFOPT, NULL, 0);
  uint32_t total = (uint32_t)(p - b) + 4;
  pcapng_put32(p, total);
  pcapng_put32(b, PCAPNG_BT_IDB);
  pcapng_put32(b + 4, total);
  if (pcapng_emit(w, b, total) != 0)
    return -1;
  return (int)w->n_ifaces++;
}

int mf_pcapng_write(mf_pcapng_t *w, uint32_t if_id, uint64_t ts_ns,
                    const uint8_t *pkt, uint32_t len, uint32_t snaplen)
{
  if (pcapng_check_usable(w) != 0)
    return -1;
  if (if_id >= w->n_ifaces || (pkt == NULL && len > 0)) {
    pcapng_fail(w, EINVAL);
    return -1;
  }
  /* Snaplen 0 means "no limit", as in the IDB (section 4.2). */
  uint32_t cap = len;
  if (snaplen != 0 && cap > snaplen)
    cap = snaplen;
  if (cap > PCAPNG_MAX_CAPLEN)
    cap = PCAPNG_MAX_CAPLEN;
  uint32_t pad = pcapng_pad4(cap);
  uint32_t total = PCAPNG_EPB_FIXED_LEN + cap + pad + 4;

  uint8_t head[PCAPNG_EPB_FIXED_LEN];
  uint8_t *p = head;
  p = pcapng_put32(p, PCAPNG_BT_EPB);
  p = pcapng_put32(p, total);
  p = pcapng_put32(p, if_id);
  /* The 64-bit timestamp is stored high word first (section 4.3). */
  p = pcapng_put32(p, (uint32_t)(ts_ns >> 32));
  p = pcapng_put32(p, (uint32_t)ts_ns);
  p = pcapng_put32(p, cap);
  pcapng_put32(p, len);

  uint8_t tail[3 + 4] = {0};
  pcapng_put32(tail + pad, total);

  if (pcapng_emit(w, head, sizeof(head)) != 0 ||
      pcapng_emit(w, pkt, cap) != 0 || pcapng_emit(w, tail, pad + 4) != 0)
    return -1;
  w->packets_written++;
  return 0;
}

int mf_pcapng_close(mf_pcapng_t *w)
{
  if (w->f != NULL) {
    /* Buffered blocks reach the file only now, so a full disk often shows
     * up here first. */
    errno = 0;
    if (fclose(w->f) != 0)
      pcapng_fail(w, errno != 0 ? errno : EIO);
    w->f = NULL;
  }
  return -w->error;
}
