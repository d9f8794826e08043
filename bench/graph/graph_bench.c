/* bench/graph: packets per second and clocks per packet through
 * ip4-input -> ip4-lookup -> interface-drop -> error-drop, fed from memory
 * (no I/O), with the real graph, nodes and FIB of the daemon.
 *
 * Usage: graph_bench [ROUNDS] [ROUTES]
 * Each round builds one full frame of IPv4/UDP packets to random addresses
 * inside the dropped prefixes and runs the graph to empty. Under
 * `valgrind --tool=callgrind --toggle-collect=run_rounds` the instructions
 * per packet of the graph alone can be read (see run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/profile.h"
#include "core/graph_rt.h"
#include "core/log.h"
#include "daemon/dataplane.h"
#include "fib/fib.h"
#include "ip/checksum.h"
#include "ip/headers.h"

static const char profile_text[] =
    "tun: {name: bench0, addresses: [172.19.0.1/30]}\n"
    "interfaces: [{name: blk, type: drop}]\n"
    "routes: [{cidr: 0.0.0.0/0, to: blk}]\n";

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t xorshift(uint32_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Adds `routes` random /24../16 prefixes to the drop interface so the
 * lookup walks a table of realistic size, not just a default route. */
static void add_routes(mf_vm_t *vm, uint32_t routes, uint32_t *seed)
{
  for (uint32_t i = 0; i < routes; i++) {
    mf_prefix_t p = {.family = AF_INET, .len = (uint8_t)(16 + xorshift(seed) % 9)};
    uint32_t a = xorshift(seed);
    memcpy(p.addr, &a, 4);
    mf_fib_add(vm->fib, &p, MF_FIB_SRC_PROFILE, 100, MF_IF_FIRST_PROFILE);
  }
}

static void fill_frame(mf_vm_t *vm, uint32_t *bi, uint32_t n, uint32_t *seed)
{
  static const uint8_t tmpl[28] = {0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0,
                                   172, 19, 0, 1, 0, 0, 0, 0,
                                   0x30, 0x39, 0, 53, 0, 8, 0, 0};
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, bi[i]);
    uint8_t *d = mf_buffer_data(b);
    memcpy(d, tmpl, sizeof(tmpl));
    uint32_t dst = xorshift(seed);
    memcpy(d + 16, &dst, 4);
    d[16] &= 0x7f; /* unicast: ip4-input drops multicast before lookup */
    mf_ip4_header_t *ip = (mf_ip4_header_t *)d;
    ip->checksum = mf_csum_finish(mf_csum_add(0, d, 20));
    b->current_length = sizeof(tmpl);
  }
}

/* Kept out of line so callgrind can count it alone. Each round takes a
 * frame of buffers from the pool as an input node would (the pool is LIFO,
 * so they are the buffers the previous round freed, bytes intact) and runs
 * the graph to empty. */
__attribute__((noinline)) void run_rounds(mf_vm_t *vm, uint32_t node,
                                          uint32_t rounds, uint16_t len)
{
  for (uint32_t r = 0; r < rounds; r++) {
    uint32_t bi[MF_FRAME_SIZE];
    uint32_t n = mf_buffer_alloc(&vm->pool, bi, MF_FRAME_SIZE);
    for (uint32_t i = 0; i < n; i++)
      mf_buffer_get(&vm->pool, bi[i])->current_length = len;
    mf_graph_inject(vm, node, bi, n);
    mf_graph_run(vm);
  }
}

int main(int argc, char **argv)
{
  uint32_t rounds = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 40000;
  uint32_t routes = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
  static mf_profile_t p;
  static mf_vm_t vm;
  mf_tun_t tun = {.fd = -1};
  mf_diag_t diag = {.out = stderr};
  mf_log_level = MF_LOG_ERROR;
  if (mf_profile_load_string(profile_text, sizeof(profile_text) - 1, "bench", &p, &diag) < 0 ||
      mf_dataplane_init(&vm, &p, &tun) < 0)
    return 1;
  uint32_t seed = 2463534242u;
  add_routes(&vm, routes, &seed);
  uint32_t node = mf_graph_node_index(&vm, "ip4-input");
  uint32_t bi[MF_FRAME_SIZE];
  mf_buffer_alloc(&vm.pool, bi, MF_FRAME_SIZE);
  fill_frame(&vm, bi, MF_FRAME_SIZE, &seed);
  mf_buffer_free(&vm.pool, bi, MF_FRAME_SIZE);
  uint64_t t0 = now_ns(), c0 = mf_clocks();
  run_rounds(&vm, node, rounds, 28);
  uint64_t t1 = now_ns(), c1 = mf_clocks();
  double pkts = (double)rounds * MF_FRAME_SIZE;
  uint64_t dropped = vm.ifs[MF_IF_FIRST_PROFILE].drops;
  printf("graph: %.0f packets, %u routes: %.2f Mpps, %.1f clocks/packet "
         "(ip4-input -> ip4-lookup -> interface-drop -> error-drop)\n",
         pkts, routes, pkts / ((double)(t1 - t0) / 1e9) / 1e6,
         (double)(c1 - c0) / pkts);
  if ((double)dropped != pkts || vm.pool.n_free != vm.pool.n_total) {
    fprintf(stderr, "graph: expected every packet dropped by route (%llu of %.0f)\n",
            (unsigned long long)dropped, pkts);
    return 1;
  }
  mf_dataplane_free(&vm);
  return 0;
}
