/* Receive coalescing of the tunnel's TCP for the TUN (what a NIC's GRO does
 * for the kernel): consecutive in-order segments of one TCP flow among a
 * vector of opened packets are merged into one super-packet in a large
 * buffer, marked for the TUN's virtio-net header (GSO_TCPV4/6 with the
 * segment size, NEEDS_CSUM), so the kernel takes one packet through its
 * stack instead of up to 45. This is the write-side cost that dominates a
 * receiving tunnel once the socket side is batched.
 *
 * The merge rule is Linux's (net/ipv4/tcp_offload.c tcp_gro_receive): the
 * same addresses and ports, the next sequence number, the same ACK,
 * window, header length and option bytes, no flag but ACK (PSH ends a
 * super-packet), each segment no longer than the first (a shorter one is
 * the last), IPv4 without options or fragments and with the same TOS, TTL
 * and DF, IPv6 with TCP right after the fixed header and the same class,
 * flow label and hop limit; without DF, IPv4 IDs must count up. A segment
 * merges only with a correct IPv4 header checksum and TCP checksum
 * (RFC 9293 3.1): the super-packet's partial checksum tells the kernel
 * the bytes were checked.
 *
 * Only with large buffers in the pool, which exist only when the TUN takes
 * super-packets (IFF_VNET_HDR offloads), and only while more than a
 * quarter of them are free; otherwise packets pass as they are. */
#ifndef MF_WIREGUARD_INNER_GRO_H
#define MF_WIREGUARD_INNER_GRO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buffer.h"

/* Super-packets being built at once in one vector (flows interleaved). */
#define MF_WG_GRO_FLOWS 8
/* Largest super-packet: what an IPv4 total length can say. */
#define MF_WG_GRO_MAX_BYTES 65535

typedef struct {
  uint32_t merged;   /* segments appended to a super-packet */
  uint32_t supers;   /* super-packets made */
  uint32_t no_large; /* merges not done: no large buffer to spare */
} mf_wg_gro_stats_t;

/* Coalesces the packets bi[i] with nexts[i] == arc (whole IP packets,
 * current_length their length). A super-packet takes the place of its
 * first segment; merged segments leave the vector and their buffers go
 * back to the pool; the order of each flow's packets is kept. Returns
 * the new count of bi[] and nexts[]. */
uint32_t mf_wg_gro_coalesce(mf_buffer_pool_t *pool, uint32_t *bi,
                            uint16_t *nexts, uint32_t n, uint16_t arc,
                            mf_wg_gro_stats_t *st);

/* Copies len bytes and returns what mf_csum_add(0, src, len) would: the
 * merge checks a segment's checksum in the pass that copies it. */
uint64_t mf_wg_gro_copy_sum(uint8_t *dst, const uint8_t *src, size_t len);

#endif
