/* libFuzzer target for the wg(8) configuration protocol (src/wireguard/
 * uapi.c): framing, and every request applied to a device built from a
 * profile. The first input byte picks the path, the rest is the request:
 *
 *   even  the rest is a set's body, checked against the device (dry run);
 *   odd   the rest is framed as a socket would carry it, and each request
 *         found is run for real: peers, keys, allowed IPs, sockets change.
 *
 * After each input the device must be consistent: at most MF_WG_MAX_PEERS
 * live peers, each with at most MF_PROFILE_MAX_ALLOWED_IPS prefixes, no
 * prefix held twice, and the allowed-IPs table holding exactly the peers'
 * prefixes, each pointing at its peer; then a fixed request puts the
 * device back in one state, so that every input starts alike. A dry run
 * must leave the device's get reply as it was.
 *
 * Requests can turn on keepalives towards any endpoint: the target first
 * moves into a network namespace of its own (root only), where nothing is
 * reachable; without one, inputs run in dry-run mode only.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_wg_uapi.c
 *   ./fuzz_wg_uapi -max_total_time=60 fuzz/corpus/wg_uapi */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/profile.h"
#include "daemon/dataplane.h"
#include "fib/fib.h"
#include "wireguard/keys.h"
#include "wireguard/uapi.h"
#include "wireguard/wg_device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
  mf_profile_t profile;
  mf_vm_t vm;
  mf_tun_t tun;
  mf_wg_main_t *wm;
  mf_wg_device_t *d;
  char reset[1024]; /* the set that restores the profile's state */
  char reply[MF_WG_UAPI_MAX_REPLY];
  bool isolated, ready;
} w;

static void check(bool ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "fuzz_wg_uapi: %s\n", what);
    abort();
  }
}

static void hex_key(char out[65], uint8_t seed, bool public_half)
{
  uint8_t k[32], pub[32];
  memset(k, seed, 32);
  mf_wg_key_clamp(k);
  check(mf_wg_key_public(pub, k) == 0, "key");
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", public_half ? pub[i] : k[i]);
}

static void setup(void)
{
  char priv[65], b[65], c[65], yaml[1024], b64[45], peer64[45];
  uint8_t k[32], pub[32];
  w.isolated = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
  memset(k, 0x11, 32);
  mf_wg_key_clamp(k);
  mf_wg_key_to_base64(b64, k);
  memset(k, 0x22, 32);
  mf_wg_key_clamp(k);
  check(mf_wg_key_public(pub, k) == 0, "key");
  mf_wg_key_to_base64(peer64, pub);
  hex_key(priv, 0x11, false);
  hex_key(b, 0x22, true);
  hex_key(c, 0x33, true);
  snprintf(yaml, sizeof(yaml),
           "tun: {name: mffz0, addresses: [172.19.0.1/30], auto_route: false}\n"
           "interfaces:\n"
           "  - {name: fz0, type: wireguard, private_key: \"%s\",\n"
           "     address: [10.200.0.1/24], peers: [{public_key: \"%s\",\n"
           "     allowed_ips: [0.0.0.0/0]}]}\n"
           "routes: [{cidr: 0.0.0.0/0, to: fz0}]\n",
           b64, peer64);
  mf_diag_t diag = {0};
  w.tun.fd = -1;
  check(mf_profile_load_string(yaml, strlen(yaml), "fuzz.yaml", &w.profile, &diag) == 0,
        "profile");
  check(mf_dataplane_init(&w.vm, &w.profile, &w.tun) == 0, "dataplane");
  w.wm = w.vm.wg;
  w.d = w.wm->devs[0];
  w.vm.now_ns = 1000000000ull;
  snprintf(w.reset, sizeof(w.reset),
           "private_key=%s\nreplace_peers=true\n"
           "public_key=%s\nallowed_ip=10.200.0.2/32\nallowed_ip=fd00::/64\n"
           "public_key=%s\npreshared_key=%s\nendpoint=192.0.2.1:51820\n"
           "allowed_ip=0.0.0.0/0\n",
           priv, b, c, b);
  w.ready = true;
}

typedef struct {
  uint32_t routes;
  bool bad;
} walk_t;

static void walk_one(const mf_prefix_t *p, mf_fib_source_t src, uint32_t priority,
                     uint32_t adj, bool active, void *ctx)
{
  walk_t *k = ctx;
  const mf_wg_device_t *d = w.d;
  (void)src;
  (void)priority;
  k->routes++;
  bool found = false;
  if (adj < d->n_peers && d->peers[adj].live)
    for (uint32_t i = 0; i < d->peers[adj].n_allowed_ips; i++)
      found |= mf_prefix_equal(&d->peers[adj].allowed_ips[i], p);
  k->bad |= !found || !active;
}

static void check_device(void)
{
  const mf_wg_device_t *d = w.d;
  uint32_t live = 0, prefixes = 0;
  check(d->n_peers <= MF_WG_MAX_PEERS, "n_peers");
  for (uint32_t s = 0; s < d->n_peers; s++) {
    const mf_wg_peer_t *p = &d->peers[s];
    if (!p->live)
      continue;
    live++;
    check(p->slot == s, "slot");
    check(p->n_allowed_ips <= MF_PROFILE_MAX_ALLOWED_IPS, "allowed IPs per peer");
    for (uint32_t i = 0; i < p->n_allowed_ips; i++) {
      check(mf_prefix_is_network(&p->allowed_ips[i]), "host bits");
      for (uint32_t t = s; t < d->n_peers; t++)
        for (uint32_t j = t == s ? i + 1 : 0; d->peers[t].live && j < d->peers[t].n_allowed_ips; j++)
          check(!mf_prefix_equal(&p->allowed_ips[i], &d->peers[t].allowed_ips[j]),
                "a prefix held twice");
    }
    prefixes += p->n_allowed_ips;
  }
  check(d->n_peers == 0 || d->peers[d->n_peers - 1].live, "trailing free slot");
  check(live <= MF_WG_MAX_PEERS, "live peers");
  walk_t k = {0};
  mf_fib_walk(d->allowed, AF_INET, walk_one, &k);
  mf_fib_walk(d->allowed, AF_INET6, walk_one, &k);
  check(!k.bad && k.routes == prefixes, "allowed-IPs table and peers disagree");
  size_t n = mf_wg_uapi_get(d, w.reply, sizeof(w.reply));
  check(n > 9 && memcmp(w.reply + n - 9, "errno=0\n\n", 9) == 0, "get");
}

static void run_requests(const char *p, size_t len)
{
  /* At most as many requests as fit: each takes 7 bytes or more. */
  for (int guard = 0; len > 0 && guard < 4096; guard++) {
    long n = mf_wg_uapi_frame(p, len);
    check(n <= (long)len, "frame beyond the input");
    if (n <= 0)
      return;
    uint32_t effects;
    size_t r = mf_wg_uapi_handle(w.wm, w.d, p, (size_t)n, w.reply, sizeof(w.reply),
                                 &effects);
    check(r >= 9 && memcmp(w.reply + r - 2, "\n\n", 2) == 0, "reply");
    p += n;
    len -= (size_t)n;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!w.ready)
    setup();
  if (size < 1 || size > MF_WG_UAPI_MAX_REQUEST)
    return 0;
  const char *p = (const char *)data + 1;
  size_t len = size - 1;
  uint32_t effects;
  if ((data[0] & 1) && w.isolated) {
    run_requests(p, len);
    check_device();
    check(mf_wg_uapi_set(w.wm, w.d, w.reset, strlen(w.reset), 0, &effects) == 0,
          "reset");
  } else {
    char before[MF_WG_UAPI_MAX_REPLY];
    size_t n = mf_wg_uapi_get(w.d, before, sizeof(before));
    mf_wg_uapi_set(w.wm, w.d, p, len, MF_WG_UAPI_DRY_RUN, &effects);
    check(mf_wg_uapi_get(w.d, w.reply, sizeof(w.reply)) == n &&
              memcmp(before, w.reply, n) == 0,
          "a dry run changed the device");
  }
  return 0;
}
