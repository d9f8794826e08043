#include "ip/format.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ip/headers.h"

static void format_tcp_flags(char *out, size_t size, uint8_t f)
{
  static const char names[] = "FSRPAU";
  size_t n = 0;
  for (int i = 0; i < 6 && n + 1 < size; i++)
    if (f & (1 << i))
      out[n++] = names[i];
  out[n] = 0;
}

static void format_l4(char *out, size_t size, uint8_t proto, const uint8_t *l4,
                      uint32_t avail)
{
  if (proto == MF_IP_PROTO_TCP && avail >= sizeof(mf_tcp_header_t)) {
    const mf_tcp_header_t *t = (const mf_tcp_header_t *)l4;
    char flags[8];
    format_tcp_flags(flags, sizeof(flags), t->flags);
    snprintf(out, size, "TCP %u -> %u [%s] seq %u ack %u win %u",
             ntohs(t->src_port), ntohs(t->dst_port), flags, ntohl(t->seq),
             ntohl(t->ack), ntohs(t->window));
  } else if (proto == MF_IP_PROTO_UDP && avail >= sizeof(mf_udp_header_t)) {
    const mf_udp_header_t *u = (const mf_udp_header_t *)l4;
    snprintf(out, size, "UDP %u -> %u", ntohs(u->src_port), ntohs(u->dst_port));
  } else if ((proto == MF_IP_PROTO_ICMP || proto == MF_IP_PROTO_ICMP6) &&
             avail >= sizeof(mf_icmp_echo_t)) {
    const mf_icmp_echo_t *e = (const mf_icmp_echo_t *)l4;
    const char *kind =
        (proto == MF_IP_PROTO_ICMP && e->type == MF_ICMP4_ECHO_REQUEST) ||
                (proto == MF_IP_PROTO_ICMP6 && e->type == MF_ICMP6_ECHO_REQUEST)
            ? "echo-request"
        : (proto == MF_IP_PROTO_ICMP && e->type == MF_ICMP4_ECHO_REPLY) ||
                (proto == MF_IP_PROTO_ICMP6 && e->type == MF_ICMP6_ECHO_REPLY)
            ? "echo-reply"
            : NULL;
    if (kind)
      snprintf(out, size, "%s %s id %u seq %u",
               proto == MF_IP_PROTO_ICMP ? "ICMP" : "ICMPv6", kind,
               ntohs(e->id), ntohs(e->seq));
    else
      snprintf(out, size, "%s type %u code %u",
               proto == MF_IP_PROTO_ICMP ? "ICMP" : "ICMPv6", e->type, e->code);
  } else
    snprintf(out, size, "protocol %u", proto);
}

void mf_ip_format_summary(char *out, size_t size, const uint8_t *snap,
                          uint32_t snap_len, uint32_t len)
{
  char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], l4[128];
  uint8_t version = snap_len ? snap[0] >> 4 : 0;
  if (version == 4 && snap_len >= sizeof(mf_ip4_header_t)) {
    const mf_ip4_header_t *ip = (const mf_ip4_header_t *)snap;
    uint32_t hlen = (ip->ver_ihl & 0xf) * 4u;
    inet_ntop(AF_INET, &ip->src, a, sizeof(a));
    inet_ntop(AF_INET, &ip->dst, b, sizeof(b));
    format_l4(l4, sizeof(l4), ip->protocol, snap + hlen,
              snap_len > hlen ? snap_len - hlen : 0);
    snprintf(out, size, "IPv4 %s -> %s %s len %u ttl %u", a, b, l4, len, ip->ttl);
  } else if (version == 6 && snap_len >= sizeof(mf_ip6_header_t)) {
    const mf_ip6_header_t *ip = (const mf_ip6_header_t *)snap;
    inet_ntop(AF_INET6, ip->src, a, sizeof(a));
    inet_ntop(AF_INET6, ip->dst, b, sizeof(b));
    format_l4(l4, sizeof(l4), ip->next_header, snap + sizeof(*ip),
              snap_len - (uint32_t)sizeof(*ip));
    snprintf(out, size, "IPv6 %s -> %s %s len %u hlim %u", a, b, l4, len,
             ip->hop_limit);
  } else
    snprintf(out, size, "not an IP packet (version %u, %u bytes)", version, len);
}
