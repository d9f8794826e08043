/* The checks every receiver of a UDP datagram from the TUN makes (RFC 768,
 * RFC 8200 8.1), in one place: the host stack's UDP sessions and the DNS
 * server both call it. */
#ifndef MF_IP_UDP_CHECK_H
#define MF_IP_UDP_CHECK_H

#include <stdint.h>

#include "core/buffer.h"

typedef enum {
  MF_UDP_CHECK_OK = 0,
  MF_UDP_CHECK_BAD_LENGTH,   /* header cut, or length outside the packet */
  MF_UDP_CHECK_BAD_CHECKSUM, /* wrong, or zero over IPv6 */
} mf_udp_check_t;

/* Checks the UDP header at b's l4_offset, under the IPv4 or IPv6 header at
 * b's start (MF_BUFFER_F_IS_IP6 says which). On MF_UDP_CHECK_OK,
 * *payload_len is the datagram's payload length, which may be less than
 * what follows the header (trailing bytes are the link's, not the
 * datagram's). A partial checksum (TUN offloads) is not verified: it holds
 * only the pseudo-header sum of a datagram the machine's own kernel handed
 * over in memory. */
mf_udp_check_t mf_udp_check(const mf_buffer_t *b, uint32_t *payload_len);

#endif
