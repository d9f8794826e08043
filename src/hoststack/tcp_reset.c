/* The RST that answers a segment no connection takes (RFC 9293 3.10.7.1):
 * it must be acceptable to the sender, so its numbers come from the
 * segment itself. */
#include <string.h>

#include "hoststack/tcp_internal.h"

uint32_t mf_tcp_write_reset(const uint8_t *tcp, uint32_t len, uint8_t *out,
                            uint32_t room)
{
  mf_tcp_seg_t s;
  if (room < MF_TCP_HDR_LEN || mf_tcp_header_parse(tcp, len, &s) < 0)
    return 0;
  if (s.flags & MF_TCP_RST) /* a RST is never answered */
    return 0;
  uint32_t seq, ack;
  uint8_t flags;
  if (s.flags & MF_TCP_ACK) { /* <SEQ=SEG.ACK><CTL=RST> */
    seq = s.ack;
    ack = 0;
    flags = MF_TCP_RST;
  } else { /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
    seq = 0;
    ack = s.seq + s.data_len + ((s.flags & MF_TCP_SYN) ? 1 : 0) +
          ((s.flags & MF_TCP_FIN) ? 1 : 0);
    flags = MF_TCP_RST | MF_TCP_ACK;
  }
  memcpy(out, tcp + 2, 2); /* ports swapped */
  memcpy(out + 2, tcp, 2);
  mf_tcp_put32(out + 4, seq);
  mf_tcp_put32(out + 8, ack);
  out[12] = (MF_TCP_HDR_LEN / 4) << 4;
  out[13] = flags;
  memset(out + 14, 0, 6); /* window, checksum (the glue's), urgent */
  return MF_TCP_HDR_LEN;
}
