/* Which remote addresses live flows of the host stack still use: the
 * question the DNS host routes ask before a route outlives its TTL
 * (dns_routes.h, "kept while used").
 *
 * Asked for a batch of addresses at once and answered with one pass over
 * the session pool: the cost is the pool plus the batch, never the pool
 * times the batch, and the session table needs no second index to keep
 * up to date on the data path. The batch goes into a small open-addressed
 * table on the stack (at most twice MF_HS_REMOTE_BATCH slots).
 *
 * A session uses its remote while, through the interface it was routed
 * to (if_index):
 *   TCP        the connection toward the app is neither CLOSED nor in
 *              TIME-WAIT (in TIME-WAIT both sides are done; RFC 9293
 *              3.3.2);
 *   UDP, ICMP  its last destination is the address and it was active
 *              within its idle timeout (past it the tick closes it). */
#include "hoststack/hoststack.h"

#include <string.h>
#include <sys/socket.h>

#define SLOTS (2 * MF_HS_REMOTE_BATCH)
#define EMPTY UINT16_MAX

typedef struct {
  const mf_hs_remote_t *q;
  uint32_t mask;
  uint16_t slot[SLOTS];
} batch_t;

static uint32_t addr_hash(uint8_t family, const uint8_t *a)
{
  uint32_t w[4] = {0, 0, 0, 0};
  memcpy(w, a, family == AF_INET ? 4 : 16);
  uint32_t x = w[0] ^ (w[1] * 0x85ebca6bu) ^ (w[2] * 0xc2b2ae35u) ^
               (w[3] * 0x27d4eb2fu) ^ family;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  return x;
}

static bool same(const mf_hs_remote_t *r, uint8_t family, const uint8_t *a,
                 uint32_t if_index)
{
  return r->family == family && r->if_index == if_index &&
         memcmp(r->addr, a, family == AF_INET ? 4 : 16) == 0;
}

static void batch_build(batch_t *b, const mf_hs_remote_t *q, uint32_t n)
{
  uint32_t size = 1;
  while (size < 2 * n)
    size <<= 1;
  b->q = q;
  b->mask = size - 1;
  for (uint32_t i = 0; i < size; i++)
    b->slot[i] = EMPTY;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t h = addr_hash(q[k].family, q[k].addr) & b->mask;
    while (b->slot[h] != EMPTY)
      h = (h + 1) & b->mask;
    b->slot[h] = (uint16_t)k;
  }
}

/* Marks every question equal to (family, a, if_index); duplicates in the
 * batch are answered alike. Returns how many it marked anew. */
static uint32_t batch_mark(const batch_t *b, uint8_t family, const uint8_t *a,
                           uint32_t if_index, bool *in_use)
{
  uint32_t marked = 0;
  for (uint32_t h = addr_hash(family, a) & b->mask; b->slot[h] != EMPTY;
       h = (h + 1) & b->mask) {
    uint16_t k = b->slot[h];
    if (!in_use[k] && same(&b->q[k], family, a, if_index)) {
      in_use[k] = true;
      marked++;
    }
  }
  return marked;
}

/* The session's remote while it counts as in use, or NULL. */
static const uint8_t *session_remote(const mf_hoststack_t *hs, uint32_t si,
                                     uint64_t now, uint8_t *family)
{
  const mf_hs_session_t *s = &hs->sessions[si];
  if (s->proto == MF_HS_TCP) {
    if (!hs->tcp || hs->tcp[si].state == MF_TCP_S_CLOSED ||
        hs->tcp[si].state == MF_TCP_S_TIME_WAIT)
      return NULL;
    *family = s->family == 4 ? AF_INET : AF_INET6;
    return s->remote_addr;
  }
  uint64_t idle = s->proto == MF_HS_UDP ? hs->udp_idle_ns : hs->icmp_idle_ns;
  if (now > s->last_ns && now - s->last_ns >= idle)
    return NULL;
  const mf_sockaddr_t *to = &s->last_remote;
  if (to->sa.sa_family == AF_INET) {
    *family = AF_INET;
    return (const uint8_t *)&to->in4.sin_addr;
  }
  if (to->sa.sa_family == AF_INET6) {
    *family = AF_INET6;
    return to->in6.sin6_addr.s6_addr;
  }
  return NULL;
}

uint32_t mf_hoststack_remotes_in_use(const mf_hoststack_t *hs,
                                     const mf_hs_remote_t *q, uint32_t n,
                                     bool *in_use, uint64_t now)
{
  if (n > MF_HS_REMOTE_BATCH)
    n = MF_HS_REMOTE_BATCH;
  memset(in_use, 0, n * sizeof(*in_use));
  if (!hs || n == 0 || hs->n_live == 0)
    return 0;
  batch_t b;
  batch_build(&b, q, n);
  uint32_t found = 0, seen = 0;
  for (uint32_t si = 0; si < hs->n_sessions && seen < hs->n_live; si++) {
    if (!hs->sessions[si].live)
      continue;
    seen++;
    uint8_t family;
    const uint8_t *a = session_remote(hs, si, now, &family);
    if (a)
      found += batch_mark(&b, family, a, hs->sessions[si].if_index, in_use);
    if (found == n)
      break;
  }
  return found;
}
