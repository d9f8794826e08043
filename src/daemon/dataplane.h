/* The worker's data plane built from a profile: buffer pool, graph,
 * interfaces and FIB. The daemon uses it with a real TUN; tests and fuzz
 * targets with any file descriptor that carries one packet per read. */
#ifndef MF_DAEMON_DATAPLANE_H
#define MF_DAEMON_DATAPLANE_H

#include "config/profile.h"
#include "core/vm.h"
#include "io/tun.h"
#include "routing/approute.h"

/* Interface indices: 0 the TUN, 1 the stack (local), then the profile's
 * interfaces in order, so profile interface i is vm interface i + 2. */
#define MF_IF_TUN_INDEX 0
#define MF_IF_LOCAL_INDEX 1
#define MF_IF_FIRST_PROFILE 2

#define MF_DATAPLANE_BUFFERS 8192
/* Large buffers for the TUN's super-packets (64 KiB each, 17 MiB of
 * address space, backed only as used): the host stack consumes a
 * super-packet within its vector, so a few hundred carry any load. */
#define MF_DATAPLANE_LARGE_BUFFERS 256
#define MF_DATAPLANE_FRAMES 512
#define MF_DATAPLANE_MAX_ROUTES 65536
/* FIB priorities: the stack's own addresses win over any profile route. */
#define MF_DATAPLANE_PRIORITY_LOCAL 0
#define MF_DATAPLANE_PRIORITY_PROFILE 100

/* vm must be zeroed. tun->fd serves tun-input and tun-output; the TUN gets
 * interface index 0. Returns 0 or -errno, logged. */
int mf_dataplane_init(mf_vm_t *vm, const mf_profile_t *p, mf_tun_t *tun);
void mf_dataplane_free(mf_vm_t *vm);

struct mf_dns_server;
/* Starts the DNS server on the stack's addresses when App Routing is on
 * (ar borrowed until the server stops or mf_dns_server_set_policy gives
 * it another). 0 or -ENOMEM, logged. Also used by a reload that turns
 * app_routing on. */
int mf_dataplane_start_dns(mf_vm_t *vm, const mf_profile_t *p,
                           const mf_approute_t *ar, uint64_t now_ns);
/* Stops the DNS server (app_routing turned off by a reload): its host
 * routes leave the FIB, dns-input drops what still comes, hijack ends. */
void mf_dataplane_stop_dns(mf_vm_t *vm);
/* The running DNS server, or NULL. */
struct mf_dns_server *mf_dataplane_dns(const mf_vm_t *vm);

#endif
