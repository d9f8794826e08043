/* Packet buffers: a preallocated pool of fixed-size buffers, referred to by
 * index. Nothing on the data path allocates; a node that needs a buffer takes
 * one from the pool and gives it back when the packet leaves the graph. */
#ifndef MF_CORE_BUFFER_H
#define MF_CORE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room in front of the packet for encapsulation (WireGuard: 16 B header plus
 * outer IPv6/UDP 48 B; room to spare for later tunnels). */
#define MF_BUFFER_HEADROOM 192
/* Largest packet a buffer holds; the TUN MTU may not exceed it. */
#define MF_BUFFER_DATA_SIZE 2048
#define MF_BUFFER_INVALID UINT32_MAX

enum {
  MF_BUFFER_F_TRACED = 1u << 0, /* trace records follow this packet */
  MF_BUFFER_F_IS_IP6 = 1u << 1,
};

typedef struct {
  uint16_t current_data;   /* offset of the packet's first byte in bytes[] */
  uint16_t current_length; /* bytes of packet from current_data on */
  uint32_t flags;
  uint32_t rx_if;     /* interface the packet came in on */
  uint32_t tx_if;     /* interface chosen by the lookup */
  uint32_t adj;       /* FIB result, set by ip4/ip6-lookup */
  uint16_t error;     /* global error index, set just before error-drop */
  uint16_t l4_offset; /* bytes from current_data to the L4 header */
  uint32_t trace_id;  /* which traced packet this is, when MF_BUFFER_F_TRACED */
  uint32_t aux;       /* an argument from one node to the next (e.g. an MTU) */
  uint8_t pad[32];    /* keeps bytes[] cache-line aligned */
  uint8_t bytes[MF_BUFFER_HEADROOM + MF_BUFFER_DATA_SIZE];
} mf_buffer_t;

typedef struct {
  mf_buffer_t *buffers;
  uint32_t *free_list; /* stack of free indices */
  uint32_t n_free;
  uint32_t n_total;
  uint64_t alloc_failures; /* requests the pool could not satisfy */
} mf_buffer_pool_t;

/* Allocates n_buffers buffers at once; returns 0 or -errno. */
int mf_buffer_pool_init(mf_buffer_pool_t *pool, uint32_t n_buffers);
void mf_buffer_pool_free(mf_buffer_pool_t *pool);

/* Takes up to n buffers, writes their indices to out; returns how many it
 * got. Each comes reset: no flags, packet start at the headroom. */
uint32_t mf_buffer_alloc(mf_buffer_pool_t *pool, uint32_t *out, uint32_t n);
/* Returns n buffers to the pool; the indices must be owned by the caller. */
void mf_buffer_free(mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n);

static inline mf_buffer_t *mf_buffer_get(mf_buffer_pool_t *pool, uint32_t bi)
{
  return &pool->buffers[bi];
}

static inline uint8_t *mf_buffer_data(mf_buffer_t *b)
{
  return b->bytes + b->current_data;
}

/* Room left after the packet's last byte. */
static inline uint32_t mf_buffer_tailroom(const mf_buffer_t *b)
{
  return (uint32_t)sizeof(b->bytes) - b->current_data - b->current_length;
}

static inline void mf_buffer_reset(mf_buffer_t *b)
{
  b->current_data = MF_BUFFER_HEADROOM;
  b->current_length = 0;
  b->flags = 0;
  b->rx_if = b->tx_if = b->adj = 0;
  b->error = 0;
  b->l4_offset = 0;
  b->trace_id = 0;
}

#endif
