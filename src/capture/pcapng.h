/* A pcapng writer (draft-ietf-opsawg-pcapng): section header, one interface
 * description block per capture point, enhanced packet blocks. Packets are
 * raw IP (LINKTYPE_RAW, 101). Writes go through stdio buffering; nothing
 * here knows about buffers or the graph. */
#ifndef MF_CAPTURE_PCAPNG_H
#define MF_CAPTURE_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *f;
  uint32_t n_ifaces;
  uint64_t packets_written;
  int error; /* errno of the first failed write, 0 if none */
} mf_pcapng_t;

/* Creates (truncates) path and writes the section header. 0 or -errno. */
int mf_pcapng_open(mf_pcapng_t *w, const char *path);
/* Adds an interface description block named `name` (shown by tshark as the
 * interface); returns its interface id, or -1 with w->error set. */
int mf_pcapng_add_interface(mf_pcapng_t *w, const char *name, uint32_t snaplen);
/* Writes one enhanced packet block; ts_ns is wall-clock nanoseconds. Captures
 * at most the interface snaplen bytes of `len`. 0 or -1 with w->error set. */
int mf_pcapng_write(mf_pcapng_t *w, uint32_t if_id, uint64_t ts_ns,
                    const uint8_t *pkt, uint32_t len, uint32_t snaplen);
/* Flushes and closes; returns 0 or -errno of the first error seen. */
int mf_pcapng_close(mf_pcapng_t *w);

#endif
