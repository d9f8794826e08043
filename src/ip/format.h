/* One-line summaries of IP packets for traces and logs. */
#ifndef MF_IP_FORMAT_H
#define MF_IP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Writes e.g. "IPv4 172.19.0.1 -> 172.19.0.2 ICMP echo-request id 7 seq 1
 * len 84 ttl 64". snap holds the first snap_len of len bytes. */
void mf_ip_format_summary(char *out, size_t size, const uint8_t *snap,
                          uint32_t snap_len, uint32_t len);

#endif
