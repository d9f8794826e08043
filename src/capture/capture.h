/* `mintflow pcap start|stop`: records the packets entering chosen graph
 * nodes, or handed to an interface, into a pcapng file, through an
 * optional BPF filter and up to an optional count. One capture at a time. */
#ifndef MF_CAPTURE_CAPTURE_H
#define MF_CAPTURE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/vm.h"

typedef struct {
  const char *node;      /* capture what enters this node, or */
  const char *interface; /* what this interface receives and sends */
  const char *filter;    /* BPF expression, or NULL */
  uint64_t max_packets;  /* 0: no limit */
  const char *path;      /* absolute path of the pcapng file */
} mf_capture_opts_t;

/* 0, or -1 with the reason in err (unknown node, bad filter, file). */
int mf_capture_start(mf_vm_t *vm, const mf_capture_opts_t *o, char *err,
                     size_t errlen);
/* Stops the capture (if it still runs) and reports it: 0, or -1 when no
 * capture was started. Reports the write error, if one happened, in err. */
int mf_capture_stop(mf_vm_t *vm, uint64_t *written, char *path, size_t pathlen,
                    char *err, size_t errlen);

#endif
