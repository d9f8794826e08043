/* Packet trace: `trace add NODE COUNT` marks the next COUNT packets an input
 * node reads; every node they pass through records a snapshot of them, and
 * `show trace` prints each packet's path. Bounded: past MF_TRACE_MAX_RECORDS
 * further records are counted, not kept. */
#ifndef MF_CORE_TRACE_H
#define MF_CORE_TRACE_H

#include <stdint.h>

#include "core/vm.h"

#define MF_TRACE_MAX_RECORDS 8192
#define MF_TRACE_SNAP 96

typedef struct {
  uint32_t packet;  /* trace id of the packet, from 1 */
  uint32_t node;    /* node index */
  uint64_t time_ns; /* vm->now_ns when recorded */
  uint32_t len;     /* packet length at that node (super-packets: > 64 KiB) */
  uint16_t error;   /* b->error, meaningful at error-drop */
  uint16_t snap_len;
  uint8_t data[MF_TRACE_SNAP];
} mf_trace_record_t;

typedef struct mf_trace {
  mf_trace_record_t *records;
  uint32_t n_records;
  uint32_t next_packet;
  uint64_t records_refused;
} mf_trace_t;

/* Arms input node `node` to trace its next `count` packets. 0 or -errno. */
int mf_trace_add(mf_vm_t *vm, uint32_t node, uint32_t count);
/* Forgets every record and disarms every node. */
void mf_trace_clear(mf_vm_t *vm);

/* Records the buffers of a frame that carry MF_BUFFER_F_TRACED. */
void mf_trace_frame(mf_vm_t *vm, const mf_node_rt_t *node,
                    const uint32_t *buffers, uint32_t n);

void mf_trace_mark_slow(mf_vm_t *vm, mf_node_rt_t *node, mf_buffer_t *b);
/* Input nodes call this for each packet they read. */
static inline void mf_trace_mark(mf_vm_t *vm, mf_node_rt_t *node,
                                 mf_buffer_t *b)
{
  if (__builtin_expect(node->trace_remaining != 0, 0))
    mf_trace_mark_slow(vm, node, b);
}

#endif
