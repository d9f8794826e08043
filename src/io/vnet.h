/* The virtio-net header that a TUN opened with IFF_VNET_HDR puts in front
 * of every packet, both ways (Virtual I/O Device 1.2, 5.1.6 "Device
 * Operation"): partial checksums and GSO super-packets. We use the legacy
 * 10-byte form (no num_buffers) in the host's byte order, the TUN's
 * default for a legacy header on a little-endian host. */
#ifndef MF_IO_VNET_H
#define MF_IO_VNET_H

#include <linux/virtio_net.h>
#include <stdint.h>

#include "core/buffer.h"

#define MF_VNET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

typedef enum {
  MF_VNET_OK = 0,
  MF_VNET_BAD_CSUM, /* checksum field outside the packet */
  MF_VNET_BAD_GSO,  /* a GSO type we did not ask for, or segment size 0 */
} mf_vnet_result_t;

/* Reads h, the header of a packet already in b (current_length bytes,
 * header stripped), into b's offload fields and flags. */
mf_vnet_result_t mf_vnet_parse(const struct virtio_net_hdr *h, mf_buffer_t *b);

/* Fills h for packet b: all zero for an ordinary packet; NEEDS_CSUM with
 * its range for F_CSUM_PARTIAL; the GSO type and size for F_GSO (whose
 * headers b must hold whole). */
void mf_vnet_build(const mf_buffer_t *b, struct virtio_net_hdr *h);

#endif
