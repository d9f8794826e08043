/* IP prefixes and addresses as the FIB, the profile and the netlink code
 * share them: family, length, address bytes in network order. */
#ifndef MF_FIB_PREFIX_H
#define MF_FIB_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
  uint8_t family; /* AF_INET or AF_INET6 */
  uint8_t len;    /* prefix length in bits */
  uint8_t addr[16];
} mf_prefix_t;

/* "10.0.0.0/8", "::/0", or a bare address (full length). Returns 0, or -1
 * with a reason in *why. Host bits are kept; see mf_prefix_is_network. */
int mf_prefix_parse(const char *text, mf_prefix_t *out, const char **why);
/* Writes "addr/len" (or just "addr" when with_len is false). */
void mf_prefix_format(const mf_prefix_t *p, bool with_len, char *out,
                      size_t size);
/* True when no bit beyond len is set. */
bool mf_prefix_is_network(const mf_prefix_t *p);
/* Clears the bits beyond len. */
void mf_prefix_mask(mf_prefix_t *p);
bool mf_prefix_equal(const mf_prefix_t *a, const mf_prefix_t *b);
/* True when a covers b (a is b or less specific, and contains it). */
bool mf_prefix_covers(const mf_prefix_t *a, const mf_prefix_t *b);
static inline unsigned mf_prefix_max_len(uint8_t family)
{
  return family == AF_INET ? 32 : 128;
}

#endif
