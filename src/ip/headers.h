/* Wire formats of the headers the stack reads and writes (RFC 791, 8200,
 * 9293, 768, 792, 4443). All multi-byte fields are in network order. */
#ifndef MF_IP_HEADERS_H
#define MF_IP_HEADERS_H

#include <stdint.h>

typedef struct {
  uint8_t ver_ihl;
  uint8_t tos;
  uint16_t total_length;
  uint16_t id;
  uint16_t frag;
  uint8_t ttl;
  uint8_t protocol;
  uint16_t checksum;
  uint32_t src;
  uint32_t dst;
} __attribute__((packed)) mf_ip4_header_t;

#define MF_IP4_FRAG_MF 0x2000
#define MF_IP4_FRAG_OFFSET 0x1fff

typedef struct {
  uint32_t ver_tc_flow;
  uint16_t payload_length;
  uint8_t next_header;
  uint8_t hop_limit;
  uint8_t src[16];
  uint8_t dst[16];
} __attribute__((packed)) mf_ip6_header_t;

typedef struct {
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t data_offset; /* upper 4 bits: header length in 32-bit words */
  uint8_t flags;
  uint16_t window;
  uint16_t checksum;
  uint16_t urgent;
} __attribute__((packed)) mf_tcp_header_t;

enum {
  MF_TCP_FIN = 0x01,
  MF_TCP_SYN = 0x02,
  MF_TCP_RST = 0x04,
  MF_TCP_PSH = 0x08,
  MF_TCP_ACK = 0x10,
  MF_TCP_URG = 0x20,
};

typedef struct {
  uint16_t src_port;
  uint16_t dst_port;
  uint16_t length;
  uint16_t checksum;
} __attribute__((packed)) mf_udp_header_t;

/* ICMP and ICMPv6 share the first four bytes; echo adds id and sequence. */
typedef struct {
  uint8_t type;
  uint8_t code;
  uint16_t checksum;
  uint16_t id;
  uint16_t seq;
} __attribute__((packed)) mf_icmp_echo_t;

enum {
  MF_IP_PROTO_ICMP = 1,
  MF_IP_PROTO_TCP = 6,
  MF_IP_PROTO_UDP = 17,
  MF_IP_PROTO_ICMP6 = 58,
  MF_ICMP4_ECHO_REPLY = 0,
  MF_ICMP4_ECHO_REQUEST = 8,
  MF_ICMP6_ECHO_REQUEST = 128,
  MF_ICMP6_ECHO_REPLY = 129,
};

#endif
