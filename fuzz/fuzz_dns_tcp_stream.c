/* libFuzzer target for the DNS-over-TCP framing reader (dns_tcp_stream.h),
 * checked against a naive reference that frames the whole input at once.
 * The first input byte picks the read size (1 to 256 bytes, as a socket
 * may hand over any split), the rest is the stream. Both must agree on
 * every message, on a bad prefix, and on whether the stream stopped
 * inside a message.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_dns_tcp_stream.c
 *   ./fuzz_dns_tcp_stream fuzz/corpus/dns_tcp_stream */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_tcp_stream.h"
#include "dns/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "dns tcp stream fuzz invariant broken: %s\n", what);
    abort();
  }
}

typedef struct {
  size_t off, len; /* a message's bytes in the input stream */
} ref_msg_t;

/* The reference: whole messages in order; *bad for a prefix out of
 * bounds, *partial when the stream ends inside a message. */
static size_t reference(const uint8_t *s, size_t n, ref_msg_t *msgs,
                        size_t max, bool *bad, bool *partial)
{
  size_t pos = 0, k = 0;
  *bad = *partial = false;
  while (pos < n) {
    if (n - pos < 2) {
      *partial = true;
      break;
    }
    size_t len = (size_t)s[pos] << 8 | s[pos + 1];
    if (len < MF_DNS_HEADER_LEN || len > MF_DNS_TCP_QUERY_MAX) {
      *bad = true;
      break;
    }
    if (n - pos - 2 < len) {
      *partial = true;
      break;
    }
    if (k < max)
      msgs[k] = (ref_msg_t){pos + 2, len};
    k++;
    pos += 2 + len;
  }
  return k;
}

static mf_dns_tcp_stream_t st;
static ref_msg_t ref[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t chunk = (size_t)data[0] + 1;
  const uint8_t *s = data + 1;
  size_t n = size - 1;
  bool bad, partial;
  size_t n_ref = reference(s, n, ref, sizeof(ref) / sizeof(ref[0]), &bad, &partial);
  if (n_ref > sizeof(ref) / sizeof(ref[0]))
    return 0;
  mf_dns_tcp_stream_init(&st);
  size_t off = 0, k = 0;
  mf_dns_tcp_status_t r;
  /* Each pass frames a message or reads at least one byte: bounded. */
  for (;;) {
    const uint8_t *m;
    size_t ml;
    r = mf_dns_tcp_stream_next(&st, &m, &ml);
    if (r == MF_DNS_TCP_MESSAGE) {
      check(k < n_ref, "a message the reference does not see");
      check(ml == ref[k].len && memcmp(m, s + ref[k].off, ml) == 0,
            "message differs from the reference");
      k++;
      continue;
    }
    if (r == MF_DNS_TCP_BAD_LENGTH || off == n)
      break;
    uint8_t *at;
    size_t room = mf_dns_tcp_stream_space(&st, &at);
    check(room > 0 && room <= MF_DNS_TCP_READ_CHUNK, "no room after NEED_MORE");
    size_t take = n - off < chunk ? n - off : chunk;
    take = take < room ? take : room;
    memcpy(at, s + off, take);
    mf_dns_tcp_stream_commit(&st, take);
    off += take;
  }
  check(k == n_ref, "fewer messages than the reference");
  check((r == MF_DNS_TCP_BAD_LENGTH) == bad, "bad prefix disagreement");
  if (!bad)
    check(mf_dns_tcp_stream_partial(&st) == partial, "partial disagreement");
  return 0;
}
