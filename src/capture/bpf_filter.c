#include "capture/bpf_filter.h"

#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compiled program returns this many bytes on a match; any nonzero value
 * will do since we only ask "match or not", and 65535 covers every IP packet
 * that is not a jumbogram. */
#define MF_BPF_SNAPLEN 65535
/* Filters come from users (CLI, API); libpcap's optimizer is not linear in
 * the expression, so the input is bounded. */
#define MF_BPF_EXPR_MAX 4096

struct mf_bpf_filter {
  struct bpf_program prog;
};

static void bpf_filter_set_error(char *err, size_t errlen, const char *fmt,
                                 ...)
{
  if (err == NULL || errlen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* pcap_open_dead wants a DLT_ value, which for raw IP differs between
 * platforms (12 on Linux, 14 on OpenBSD); libpcap maps it to LINKTYPE_RAW
 * (101), the value our pcapng files carry. For raw IP, libpcap 1.10 turns
 * "ip" and "ip6" into a test of the version nibble of the first byte, so
 * one program serves both families; tests/unit/test_pcapng.c checks it.
 * Header indexing such as tcp[13] is IPv4-only in libpcap. */
mf_bpf_filter_t *mf_bpf_filter_compile(const char *expr, char *err,
                                       size_t errlen)
{
  if (expr == NULL || strnlen(expr, MF_BPF_EXPR_MAX + 1) > MF_BPF_EXPR_MAX) {
    bpf_filter_set_error(err, errlen, "filter expression missing or longer "
                         "than %d bytes", MF_BPF_EXPR_MAX);
    return NULL;
  }
  mf_bpf_filter_t *f = calloc(1, sizeof(*f));
  pcap_t *p = pcap_open_dead(DLT_RAW, MF_BPF_SNAPLEN);
  if (f == NULL || p == NULL) {
    bpf_filter_set_error(err, errlen, "out of memory");
    goto fail;
  }
  /* No netmask: only "ip broadcast" needs one, and it fails to compile
   * rather than guessing. */
  if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    bpf_filter_set_error(err, errlen, "%s", pcap_geterr(p));
    goto fail;
  }
  pcap_close(p);
  return f;

fail:
  if (p != NULL)
    pcap_close(p);
  free(f);
  return NULL;
}

/* libpcap's interpreter checks every load against caplen and rejects the
 * packet on an out-of-bounds read, so truncated or garbage input is safe. */
bool mf_bpf_filter_match(const mf_bpf_filter_t *f, const uint8_t *pkt,
                         uint32_t len)
{
  struct pcap_pkthdr hdr = {.caplen = len, .len = len};
  return pcap_offline_filter(&f->prog, &hdr, pkt) != 0;
}

void mf_bpf_filter_free(mf_bpf_filter_t *f)
{
  if (f == NULL)
    return;
  pcap_freecode(&f->prog);
  free(f);
}
