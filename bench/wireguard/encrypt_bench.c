/* The WireGuard data path's cipher work alone, no I/O: vectors of 256
 * full-size packets (1420 bytes, the tunnel MTU) sealed in place with
 * mf_wg_data_encrypt_vector, then opened again in place with
 * mf_wg_data_decrypt_vector so that every round checks the result.
 * Each direction is timed on its own, in this thread's CPU time as
 * `openssl speed` does (it divides by user CPU time unless -elapsed): on
 * a shared machine, wall time would count other programs' time slices.
 * The rates are plaintext bytes per CPU second, to compare with the
 * cipher's own limit on this machine.
 *
 * Usage: encrypt_bench [SECONDS]   (default 3, at most 60) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wireguard/data.h"

#define VEC 256
#define PKT 1420
#define ROOM 16 /* header in front, tag behind */

typedef struct {
  mf_wg_keypairs_t tx, rx;
  mf_wg_keypair_t *send, *recv;
  mf_wg_data_ctx_t c;
} link_t;

static uint8_t bufs[VEC][ROOM + PKT + ROOM];

static double clock_s(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }
static double wall_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* Both ends of one session with fixed keys: a handshake would only
 * produce other random bytes. */
static int link_setup(link_t *l)
{
  mf_wg_session_t a = {.local_index = 1, .remote_index = 2, .initiator = true};
  mf_wg_session_t b = {.local_index = 2, .remote_index = 1};
  for (int i = 0; i < 32; i++) {
    a.send_key[i] = b.recv_key[i] = (uint8_t)(i * 7 + 3);
    a.recv_key[i] = b.send_key[i] = (uint8_t)(i * 11 + 5);
  }
  mf_wg_keypairs_init(&l->tx);
  mf_wg_keypairs_init(&l->rx);
  l->send = mf_wg_keypairs_begin_session(&l->tx, &a, 1, NULL);
  l->recv = mf_wg_keypairs_begin_session(&l->rx, &b, 1, NULL);
  return l->send && l->recv ? mf_wg_data_ctx_init(&l->c) : -1;
}

/* One round: seal the vector, open it; adds the seconds each took.
 * Returns 0 when all VEC packets came back authentic. */
static int round_trip(link_t *l, double *enc_s, double *dec_s)
{
  mf_wg_data_op_t ops[VEC];
  uint64_t first;
  if (mf_wg_keypair_reserve(l->send, VEC, &first) < 0)
    return -1;
  for (int i = 0; i < VEC; i++)
    ops[i] = (mf_wg_data_op_t){.kp = l->send, .in = bufs[i] + ROOM,
                               .out = bufs[i], .len = PKT,
                               .counter = first + (uint64_t)i};
  double t0 = cpu_s();
  uint32_t sealed = mf_wg_data_encrypt_vector(&l->c, ops, VEC);
  double t1 = cpu_s();
  for (int i = 0; i < VEC; i++)
    ops[i] = (mf_wg_data_op_t){.kp = l->recv, .in = bufs[i],
                               .out = bufs[i] + ROOM,
                               .len = (uint32_t)mf_wg_data_msg_len(PKT)};
  uint32_t opened = mf_wg_data_decrypt_vector(&l->c, ops, VEC);
  double t2 = cpu_s();
  *enc_s += t1 - t0;
  *dec_s += t2 - t1;
  return sealed == VEC && opened == VEC ? 0 : -1;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  if (!(seconds > 0 && seconds <= 60)) {
    fprintf(stderr, "usage: encrypt_bench [SECONDS (0..60]]\n");
    return 2;
  }
  link_t l;
  if (link_setup(&l) < 0) {
    fprintf(stderr, "encrypt_bench: cannot set up the keypair\n");
    return 1;
  }
  for (int i = 0; i < VEC; i++)
    for (int j = 0; j < PKT; j++)
      bufs[i][ROOM + j] = (uint8_t)(i ^ j);
  /* Warm caches and OpenSSL's lazy initialisation out of the timing. */
  double enc_s = 0, dec_s = 0;
  for (int r = 0; r < 20; r++)
    if (round_trip(&l, &enc_s, &dec_s) < 0)
      goto fail;
  enc_s = dec_s = 0;
  uint64_t rounds = 0;
  double end = wall_s() + seconds;
  /* Bounded by time, and by count should the clock misbehave. */
  while (wall_s() < end && rounds < 100000000u) {
    if (round_trip(&l, &enc_s, &dec_s) < 0)
      goto fail;
    rounds++;
  }
  double bytes = (double)rounds * VEC * PKT;
  printf("packets %llu of %d bytes in vectors of %d\n",
         (unsigned long long)(rounds * VEC), PKT, VEC);
  printf("encrypt %.3f GB/s %.0f pps (per CPU second)\n", bytes / enc_s / 1e9,
         (double)rounds * VEC / enc_s);
  printf("decrypt %.3f GB/s %.0f pps (per CPU second)\n", bytes / dec_s / 1e9,
         (double)rounds * VEC / dec_s);
  mf_wg_data_ctx_fini(&l.c);
  return 0;
fail:
  fprintf(stderr, "encrypt_bench: a packet failed to seal or open\n");
  mf_wg_data_ctx_fini(&l.c);
  return 1;
}
