/* One DNS-over-TCP connection's inbound bytes cut into messages: a read
 * chunk in front of the length-prefix reassembler of dns_build.c. */
#include "dns/dns_tcp_stream.h"

void mf_dns_tcp_stream_init(mf_dns_tcp_stream_t *st)
{
  st->pos = st->len = 0;
  st->failed = false;
  mf_dns_tcp_reasm_init(&st->reasm, st->msg, sizeof(st->msg));
}

mf_dns_tcp_status_t mf_dns_tcp_stream_next(mf_dns_tcp_stream_t *st,
                                           const uint8_t **msg, size_t *len)
{
  if (st->failed)
    return MF_DNS_TCP_BAD_LENGTH;
  size_t used = 0;
  mf_dns_tcp_status_t r = mf_dns_tcp_reasm_feed(
      &st->reasm, st->raw + st->pos, (size_t)(st->len - st->pos), &used, msg, len);
  st->pos = (uint16_t)(st->pos + used);
  if (r == MF_DNS_TCP_BAD_LENGTH)
    st->failed = true;
  if (st->pos == st->len)
    st->pos = st->len = 0;
  return r;
}

size_t mf_dns_tcp_stream_space(mf_dns_tcp_stream_t *st, uint8_t **at)
{
  if (st->len != 0 || st->failed)
    return 0;
  *at = st->raw;
  return sizeof(st->raw);
}

void mf_dns_tcp_stream_commit(mf_dns_tcp_stream_t *st, size_t n)
{
  if (st->len == 0 && n <= sizeof(st->raw)) {
    st->pos = 0;
    st->len = (uint16_t)n;
  }
}

bool mf_dns_tcp_stream_partial(const mf_dns_tcp_stream_t *st)
{
  return st->pos < st->len || (st->reasm.have > 0 && !st->reasm.ready);
}
