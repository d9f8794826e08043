/* Destinations recently sent to through a tunnel: what keeps a DNS-learned
 * host route to a WireGuard interface alive past its TTL while a flow
 * still uses it (the host stack's sessions do this for direct; a tunnel
 * carries packets, not sessions, so traffic is the sign of life).
 *
 * A direct-mapped table: the data path notes each packet's destination
 * with the current second (a load and a compare per packet, a store once
 * per second per destination); the DNS server asks, when a route's time
 * is up, whether its address was seen since a given second. Two
 * destinations that share a slot evict each other: a route may then go
 * while its flow is alive (counted by the caller as a normal expiry); the
 * table is sized so that this needs thousands of live destinations.
 *
 * Threads: the worker that runs the graph owns it. */
#ifndef MF_ROUTING_DEST_SEEN_H
#define MF_ROUTING_DEST_SEEN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MF_DEST_SEEN_SLOTS 8192u /* a power of two; 24 bytes each */

typedef struct {
  uint32_t last_s; /* second of the last packet; 0: empty */
  uint8_t family;  /* 4 or 6 */
  uint8_t pad[3];
  uint8_t addr[16]; /* IPv4 in the first 4 bytes */
} mf_dest_seen_slot_t;

typedef struct mf_dest_seen {
  mf_dest_seen_slot_t slot[MF_DEST_SEEN_SLOTS];
} mf_dest_seen_t;

mf_dest_seen_t *mf_dest_seen_create(void);
void mf_dest_seen_destroy(mf_dest_seen_t *t);

static inline uint32_t mf_dest_seen_hash(uint8_t family, const uint8_t *addr)
{
  uint32_t w[4] = {0, 0, 0, 0};
  memcpy(w, addr, family == 4 ? 4 : 16);
  uint32_t h = w[0] ^ w[1] ^ w[2] ^ w[3] ^ family;
  /* Multiplicative hashing (Knuth): the top bits mix every input bit. */
  return (h * 2654435761u) >> (32 - 13);
}

/* Notes a packet to addr (family 4 or 6) in second now_s (never 0). */
static inline void mf_dest_seen_note(mf_dest_seen_t *t, uint8_t family,
                                     const uint8_t *addr, uint32_t now_s)
{
  _Static_assert(MF_DEST_SEEN_SLOTS == 1u << 13, "the hash makes 13 bits");
  mf_dest_seen_slot_t *s = &t->slot[mf_dest_seen_hash(family, addr)];
  size_t len = family == 4 ? 4 : 16;
  if (s->last_s == now_s && s->family == family && memcmp(s->addr, addr, len) == 0)
    return;
  s->last_s = now_s;
  s->family = family;
  memset(s->addr, 0, sizeof(s->addr));
  memcpy(s->addr, addr, len);
}

/* Whether a packet to addr was noted in second since_s or later. */
bool mf_dest_seen_since(const mf_dest_seen_t *t, uint8_t family,
                        const uint8_t *addr, uint32_t since_s);

#endif
