/* Interfaces: where App Routing steers packets. The TUN device and the
 * stack's own "local" interface exist always; the profile adds the rest. */
#ifndef MF_CORE_INTERFACE_H
#define MF_CORE_INTERFACE_H

#include <stdint.h>

#define MF_IF_NAME_MAX 32
#define MF_MAX_INTERFACES 64

typedef enum {
  MF_IF_TUN = 0, /* the TUN device: the machine's side */
  MF_IF_LOCAL,   /* the stack itself: its own addresses */
  MF_IF_REJECT,  /* TCP gets a RST, the rest is dropped */
  MF_IF_DROP,    /* silently discarded */
  MF_IF_DIRECT,  /* the host stack re-originates flows from kernel sockets */
  MF_IF_WIREGUARD, /* L3VPN: packets encrypted to WireGuard peers */
  MF_IF_N_TYPE
} mf_if_type_t;

/* The profile's name of a type ("reject"), or NULL for internal types. */
const char *mf_if_type_name(mf_if_type_t t);
/* Returns the type for a profile name, or -1. */
int mf_if_type_parse(const char *name);

typedef struct {
  char name[MF_IF_NAME_MAX];
  mf_if_type_t type;
  /* Counted by the node that hands packets to the interface (tx) or takes
   * them from it (rx). */
  uint64_t rx_packets, rx_bytes;
  uint64_t tx_packets, tx_bytes;
  uint64_t drops;
} mf_if_t;

#endif
