/* The TUN device (Linux's counterpart of Apple's utun): layer-3 packets
 * without a link header, one read or write per packet. With offloads
 * (the default; MINTFLOW_TUN_OFFLOAD=0 in the environment turns them off)
 * each packet carries a virtio-net header (io/vnet.h) and TCP comes as
 * super-packets of up to 64 KiB both ways, with checksums left partial:
 * a bulk transfer costs a few packets where it cost one per MSS. */
#ifndef MF_IO_TUN_H
#define MF_IO_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/graph.h"

typedef struct {
  int fd;
  uint32_t if_index; /* our interface index (vm->ifs), not the kernel's */
  char name[16];
  bool vnet_hdr;     /* packets carry a virtio-net header both ways */
  uint32_t offloads; /* TUN_F_* the kernel accepted */
  uint32_t spare_large; /* a large buffer kept for the next read */
} mf_tun_t;

/* Creates the TUN device `name` (IFF_TUN | IFF_NO_PI, non-blocking,
 * not persistent: it vanishes with the process, and with it every route
 * through it), with IFF_VNET_HDR and TSO/checksum offloads unless
 * MINTFLOW_TUN_OFFLOAD=0. 0, or -errno with a message in err. */
int mf_tun_open(mf_tun_t *tun, const char *name, char *err, size_t errlen);
void mf_tun_close(mf_tun_t *tun);

/* tun-input and tun-output; their node ctx is the mf_tun_t. */
extern const mf_node_reg_t mf_tun_input_node;
extern const mf_node_reg_t mf_tun_output_node;

#endif
