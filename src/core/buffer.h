/* Packet buffers: a preallocated pool of fixed-size buffers, referred to by
 * index. Nothing on the data path allocates; a node that needs a buffer takes
 * one from the pool and gives it back when the packet leaves the graph.
 *
 * Two sizes share one index space: the ordinary buffers (indices 0 ..
 * n_total-1, their data inline) and a few hundred large ones (n_total ..
 * n_total+n_large-1) for the TUN's offload super-packets of up to 64 KiB.
 * A large buffer's header is an ordinary mf_buffer_t; its data lives in an
 * area past the ordinary buffers, reached through the same offset from
 * bytes[] (current_data is 32 bits wide for that), so that mf_buffer_get()
 * and mf_buffer_data() stay one address computation and one load for
 * both sizes and no node needs to know which size it holds. */
#ifndef MF_CORE_BUFFER_H
#define MF_CORE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Room in front of the packet for encapsulation (WireGuard: 16 B header plus
 * outer IPv6/UDP 48 B; room to spare for later tunnels). */
#define MF_BUFFER_HEADROOM 192
/* Largest packet a buffer holds; the TUN MTU may not exceed it. */
#define MF_BUFFER_DATA_SIZE 2048
#define MF_BUFFER_INVALID UINT32_MAX
/* Largest packet a large buffer holds: the kernel's largest GSO packet
 * (GSO_MAX_SIZE, 64 KiB) and room to spare for the headers we add. */
#define MF_BUFFER_LARGE_DATA_SIZE (65536 + 512)
/* One large buffer's area, headroom included, in whole pages. */
#define MF_BUFFER_LARGE_AREA                                                  \
  ((MF_BUFFER_HEADROOM + MF_BUFFER_LARGE_DATA_SIZE + 4095) & ~4095u)

enum {
  MF_BUFFER_F_TRACED = 1u << 0, /* trace records follow this packet */
  MF_BUFFER_F_IS_IP6 = 1u << 1,
  /* The L4 checksum holds only the pseudo-header sum; the bytes from
   * csum_start on must still be summed into the field at csum_start +
   * csum_offset (virtio's VIRTIO_NET_HDR_F_NEEDS_CSUM). */
  MF_BUFFER_F_CSUM_PARTIAL = 1u << 2,
  /* A TCP super-packet: gso_type and gso_size say how to cut it into the
   * segments the sender meant (virtio's GSO fields). */
  MF_BUFFER_F_GSO = 1u << 3,
  MF_BUFFER_F_OFFLOAD = MF_BUFFER_F_CSUM_PARTIAL | MF_BUFFER_F_GSO,
};

/* gso_type: which segmentation a super-packet needs. */
enum { MF_BUFFER_GSO_NONE, MF_BUFFER_GSO_TCP4, MF_BUFFER_GSO_TCP6 };

typedef struct {
  uint32_t current_data;   /* offset of the packet's first byte from bytes[] */
  uint32_t current_length; /* bytes of packet from current_data on */
  uint32_t flags;
  uint32_t rx_if;     /* interface the packet came in on */
  uint32_t tx_if;     /* interface chosen by the lookup */
  uint32_t adj;       /* FIB result, set by ip4/ip6-lookup */
  uint16_t error;     /* global error index, set just before error-drop */
  uint16_t l4_offset; /* bytes from current_data to the L4 header */
  uint32_t trace_id;  /* which traced packet this is, when MF_BUFFER_F_TRACED */
  uint32_t aux;       /* an argument from one node to the next (e.g. an MTU) */
  /* Where this buffer's bytes are: offset from bytes[] and size of its
   * area, headroom included. 0 and 0 for an ordinary buffer (its area is
   * bytes[] itself; zero is what a fresh page holds, so allocation need
   * not write them), set for a large one when it is taken. */
  uint32_t area;
  uint32_t area_size;
  /* Offload state, valid only under F_CSUM_PARTIAL / F_GSO: */
  uint16_t gso_size;    /* payload bytes per segment (the sender's MSS) */
  uint16_t csum_start;  /* from current_data to where summing starts */
  uint16_t csum_offset; /* from csum_start to the checksum field */
  uint8_t gso_type;     /* MF_BUFFER_GSO_* */
  uint8_t pad[13];      /* keeps bytes[] cache-line aligned */
  uint8_t bytes[MF_BUFFER_HEADROOM + MF_BUFFER_DATA_SIZE];
} mf_buffer_t;

_Static_assert(offsetof(mf_buffer_t, bytes) == 64,
               "buffer header must stay one cache line");

typedef struct {
  mf_buffer_t *buffers;
  uint32_t *free_list; /* stack of free indices */
  uint32_t n_free;
  uint32_t n_total;
  uint64_t alloc_failures; /* requests the pool could not satisfy */
  uint32_t *large_free;    /* stack of free large indices */
  uint32_t n_large_free;
  uint32_t n_large;
  uint64_t large_alloc_failures;
  size_t map_bytes;
} mf_buffer_pool_t;

/* Allocates n_buffers buffers at once; returns 0 or -errno. */
int mf_buffer_pool_init(mf_buffer_pool_t *pool, uint32_t n_buffers);
/* The same with n_large large buffers besides (their pages are reserved,
 * and backed by the kernel only when a packet first fills them). */
int mf_buffer_pool_init_large(mf_buffer_pool_t *pool, uint32_t n_buffers,
                              uint32_t n_large);
void mf_buffer_pool_free(mf_buffer_pool_t *pool);

/* Takes up to n buffers, writes their indices to out; returns how many it
 * got. Each comes reset: no flags, packet start at the headroom. */
uint32_t mf_buffer_alloc(mf_buffer_pool_t *pool, uint32_t *out, uint32_t n);
/* Takes one large buffer; MF_BUFFER_INVALID when none is free. */
uint32_t mf_buffer_alloc_large(mf_buffer_pool_t *pool);
/* Returns n buffers of either size to the pool; the indices must be owned
 * by the caller. */
void mf_buffer_free(mf_buffer_pool_t *pool, const uint32_t *bi, uint32_t n);

static inline bool mf_buffer_is_large(const mf_buffer_pool_t *pool, uint32_t bi)
{
  return bi >= pool->n_total;
}

static inline mf_buffer_t *mf_buffer_get(mf_buffer_pool_t *pool, uint32_t bi)
{
  return &pool->buffers[bi];
}

static inline uint8_t *mf_buffer_data(mf_buffer_t *b)
{
  return b->bytes + b->current_data;
}

static inline uint32_t mf_buffer_area_size(const mf_buffer_t *b)
{
  return b->area_size ? b->area_size : (uint32_t)sizeof(b->bytes);
}

/* Room left after the packet's last byte. */
static inline uint32_t mf_buffer_tailroom(const mf_buffer_t *b)
{
  return b->area + mf_buffer_area_size(b) - b->current_data - b->current_length;
}

/* Room in front of the packet's first byte. */
static inline uint32_t mf_buffer_headroom(const mf_buffer_t *b)
{
  return b->current_data - b->area;
}

/* Bytes the buffer's area holds after the standard headroom. */
static inline uint32_t mf_buffer_data_size(const mf_buffer_t *b)
{
  return mf_buffer_area_size(b) - MF_BUFFER_HEADROOM;
}

/* Puts the packet's first byte at `offset` from the start of the buffer's
 * area (MF_BUFFER_HEADROOM is where a fresh buffer starts). */
static inline void mf_buffer_set_start(mf_buffer_t *b, uint32_t offset)
{
  b->current_data = b->area + offset;
}

/* Clears the packet state, the packet to start at `start` (from bytes[]). */
static inline void mf_buffer_reset_at(mf_buffer_t *b, uint32_t start)
{
  /* The packet state is the header's first 32 bytes: the start, then
   * zeros, written as four 8-byte stores rather than nine. */
  _Static_assert(offsetof(mf_buffer_t, aux) == 32,
                 "the packet state must stay the first 32 bytes");
  uint64_t first = start; /* current_data, then current_length = 0 */
  static const uint64_t zero[3];
  memcpy(b, &first, sizeof(first));
  memcpy((uint8_t *)b + 8, zero, sizeof(zero));
}

/* Clears the packet state; the area (which size of buffer) stays. */
static inline void mf_buffer_reset(mf_buffer_t *b)
{
  mf_buffer_reset_at(b, b->area + MF_BUFFER_HEADROOM);
}

#endif
