#include "routing/dest_seen.h"

#include <stdlib.h>

mf_dest_seen_t *mf_dest_seen_create(void)
{
  return calloc(1, sizeof(mf_dest_seen_t));
}

void mf_dest_seen_destroy(mf_dest_seen_t *t)
{
  free(t);
}

bool mf_dest_seen_since(const mf_dest_seen_t *t, uint8_t family,
                        const uint8_t *addr, uint32_t since_s)
{
  if (!t || (family != 4 && family != 6))
    return false;
  const mf_dest_seen_slot_t *s = &t->slot[mf_dest_seen_hash(family, addr)];
  return s->last_s != 0 && s->last_s >= since_s && s->family == family &&
         memcmp(s->addr, addr, family == 4 ? 4 : 16) == 0;
}
