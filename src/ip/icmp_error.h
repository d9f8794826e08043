/* The icmp-too-big node's state: where errors come from, and their rate. */
#ifndef MF_IP_ICMP_ERROR_H
#define MF_IP_ICMP_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/graph.h"

/* Errors per second at most (RFC 1812 4.3.2.8, RFC 4443 2.4 (f)). */
#define MF_ICMP_ERRORS_PER_SEC 200

typedef struct {
  bool has4, has6;
  uint8_t stack4[4], stack6[16]; /* the stack's own addresses */
  uint32_t tun_if;
  uint64_t window_start;
  uint32_t sent_in_window;
} mf_icmp_error_ctx_t;

/* Buffers sent here carry the MTU they exceeded in b->aux. */
extern const mf_node_reg_t mf_icmp_too_big_node;

#endif
