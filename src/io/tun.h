/* The TUN device (Linux's counterpart of Apple's utun): layer-3 packets
 * without a link header, one read or write per packet. */
#ifndef MF_IO_TUN_H
#define MF_IO_TUN_H

#include <stddef.h>
#include <stdint.h>

#include "core/graph.h"

typedef struct {
  int fd;
  uint32_t if_index; /* our interface index (vm->ifs), not the kernel's */
  char name[16];
} mf_tun_t;

/* Creates the TUN device `name` (IFF_TUN | IFF_NO_PI, non-blocking,
 * not persistent: it vanishes with the process, and with it every route
 * through it). 0, or -errno with a message in err. */
int mf_tun_open(mf_tun_t *tun, const char *name, char *err, size_t errlen);
void mf_tun_close(mf_tun_t *tun);

/* tun-input and tun-output; their node ctx is the mf_tun_t. */
extern const mf_node_reg_t mf_tun_input_node;
extern const mf_node_reg_t mf_tun_output_node;

#endif
