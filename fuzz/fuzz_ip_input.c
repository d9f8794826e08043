/* Fuzz target: one packet into the real graph through tun-input, as if the
 * machine had written it to the TUN. The TUN is stood in for by a datagram
 * socket pair (one packet per read, as a TUN gives). Checks after every
 * input that each buffer came back to the pool: a leak or a double free
 * on any drop path aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/profile.h"
#include "core/graph_rt.h"
#include "core/log.h"
#include "daemon/dataplane.h"

static const char profile_text[] =
    "tun: {name: fz0, addresses: [172.19.0.1/30, 'fdfe:dcba:9876::1/126']}\n"
    "interfaces:\n"
    "  - {name: rej, type: reject}\n"
    "  - {name: blk, type: drop}\n"
    "  - {name: dir, type: direct}\n"
    "routes:\n"
    "  - {cidr: 0.0.0.0/0, to: rej}\n"
    "  - {cidr: 10.0.0.0/8, to: blk}\n"
    "  - {cidr: 192.0.2.0/24, to: dir}\n"
    "  - {cidr: '::/0', to: rej}\n"
    "  - {cidr: '2001:db8::/32', to: blk}\n";

static mf_vm_t vm;
static mf_tun_t tun;
static int peer = -1;
static uint32_t tun_input;

static void setup(void)
{
  static mf_profile_t p;
  mf_diag_t diag = {.out = stderr};
  mf_log_level = MF_LOG_ERROR;
  if (mf_profile_load_string(profile_text, sizeof(profile_text) - 1, "fuzz", &p, &diag) < 0)
    abort();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) < 0)
    abort();
  tun.fd = sv[0];
  peer = sv[1];
  if (mf_dataplane_init(&vm, &p, &tun) < 0)
    abort();
  tun_input = mf_graph_node_index(&vm, "tun-input");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (peer < 0)
    setup();
  if (size > MF_BUFFER_DATA_SIZE)
    return 0;
  if (write(peer, data, size) != (ssize_t)size)
    return 0;
  mf_graph_poll(&vm, tun_input);
  uint8_t reply[MF_BUFFER_DATA_SIZE];
  while (read(peer, reply, sizeof(reply)) >= 0)
    ;
  if (vm.pool.n_free != vm.pool.n_total || vm.n_free_frames != vm.n_frames)
    abort();
  return 0;
}
