/* TCP segmentation in software (what a NIC's TSO does in hardware): cuts
 * a super-packet that the kernel merged from MSS-sized segments (GSO)
 * back into those segments, and completes partial checksums (virtio's
 * NEEDS_CSUM). A pure core: byte spans in, byte spans out, no buffers.
 *
 * Each segment copies the IP and TCP headers, then: IPv4 total length,
 * ID (the first's plus the segment's number, as Linux's own TSO does) and
 * header checksum; IPv6 payload length; TCP sequence number advanced by
 * the bytes before it, FIN and PSH only on the last segment, CWR only on
 * the first (RFC 3168 6.1.2: one CWR per window reduction), and a full
 * TCP checksum (RFC 9293 3.1). */
#ifndef MF_IP_TCP_GSO_H
#define MF_IP_TCP_GSO_H

#include <stdbool.h>
#include <stdint.h>

/* Most segments one super-packet may yield: a frame's worth. 64 KiB cut
 * at the smallest MSS a real stack sends over a TUN stays far below. */
#define MF_GSO_MAX_SEGMENTS 256

typedef struct {
  const uint8_t *pkt;
  uint32_t len;       /* bytes of the super-packet */
  uint32_t hdr_len;   /* IP + TCP headers, copied to every segment */
  uint32_t l4_offset; /* IP header length */
  uint32_t mss;       /* payload bytes per segment, the last may hold less */
  uint32_t n_segments;
  bool v6;
} mf_gso_plan_t;

typedef enum {
  MF_GSO_OK = 0,
  MF_GSO_BAD_HEADER,  /* not a well-formed IPv4/IPv6 + TCP packet */
  MF_GSO_BAD_SIZE,    /* segment size 0, or more segments than allowed */
} mf_gso_result_t;

/* Checks pkt[0..len) (an IPv4 packet, or IPv6 whose next header is TCP)
 * and plans its cut at mss payload bytes per segment. */
mf_gso_result_t mf_gso_plan(mf_gso_plan_t *plan, const uint8_t *pkt,
                            uint32_t len, uint32_t mss);

/* Bytes segment k (0-based) takes. */
uint32_t mf_gso_segment_len(const mf_gso_plan_t *plan, uint32_t k);

/* Writes segment k, complete with checksums, to out (room for
 * mf_gso_segment_len bytes); out must not overlap the super-packet. */
void mf_gso_write_segment(const mf_gso_plan_t *plan, uint32_t k, uint8_t *out);

/* Completes a partial checksum: sums pkt[start..len) (the field at
 * start + offset holding the pseudo-header sum) and stores the result
 * there. -1 when the field lies outside the packet. */
int mf_gso_csum_complete(uint8_t *pkt, uint32_t len, uint32_t start,
                         uint32_t offset);

#endif
