/* Capture filters: a BPF expression ("tcp port 80", "icmp6") compiled by
 * libpcap for raw IP packets and run on each candidate packet. */
#ifndef MF_CAPTURE_BPF_FILTER_H
#define MF_CAPTURE_BPF_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mf_bpf_filter mf_bpf_filter_t;

/* Compiles expr for LINKTYPE_RAW packets; NULL with libpcap's message in
 * err when the expression is wrong. */
mf_bpf_filter_t *mf_bpf_filter_compile(const char *expr, char *err,
                                       size_t errlen);
/* True when the packet matches. */
bool mf_bpf_filter_match(const mf_bpf_filter_t *f, const uint8_t *pkt,
                         uint32_t len);
void mf_bpf_filter_free(mf_bpf_filter_t *f);

#endif
