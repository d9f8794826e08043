/* The wg(8) configuration protocol (wireguard.com/xplatform) on a device
 * built from a profile: framing, the get reply line by line, every set
 * key, wireguard-go's semantics (update_only, remove, replace_*, a prefix
 * owned by the last peer to claim it, our own key ignored), limits,
 * malformed requests that must change nothing, slots that stay put; then
 * the socket server: file mode, stale and live sockets, pipelined
 * requests, a rebound UDP socket registered again with epoll, client
 * limits, oversized and idle clients.
 *
 * The test first moves into a network namespace of its own (when it may:
 * root), so keepalives and initiations the device sends reach nothing
 * outside; the server tests need root for /var/run/wireguard. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/profile.h"
#include "daemon/dataplane.h"
#include "fib/fib.h"
#include "wireguard/keys.h"
#include "wireguard/uapi.h"
#include "wireguard/uapi_server.h"
#include "wireguard/wg_device.h"

#define SEC 1000000000ull
#define SOCK_TAG_BASE 0x400u
#define TIMER_TAG (MF_WG_UAPI_TAG_FIRST + MF_PROFILE_MAX_WG * 16u)

typedef struct {
  uint8_t priv[32], pub[32];
  char hex[65], b64[45];
} test_key_t;

/* A: the device; B, C: its profile's peers; D..: peers added by tests. */
static test_key_t A, B, C, D, E, PSK;
static char dev_name[16];
static bool isolated; /* in a network namespace of our own */

static mf_profile_t *prof;
static mf_vm_t *vm;
static mf_tun_t tun = {.fd = -1};
static mf_wg_main_t *wm;
static mf_wg_device_t *d;
static char reply[MF_WG_UAPI_MAX_REPLY];

static void hex32(char out[65], const uint8_t k[32])
{
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", k[i]);
}

static void make_key(test_key_t *k, uint8_t seed)
{
  memset(k->priv, seed, 32);
  mf_wg_key_clamp(k->priv);
  assert_int_equal(mf_wg_key_public(k->pub, k->priv), 0);
  hex32(k->hex, k->pub);
  mf_wg_key_to_base64(k->b64, k->pub);
}

static int setup(void **state)
{
  (void)state;
  char yaml[2048], priv_b64[45], psk_b64[45];
  mf_wg_key_to_base64(priv_b64, A.priv);
  mf_wg_key_to_base64(psk_b64, PSK.priv);
  snprintf(yaml, sizeof(yaml),
           "tun: {name: mfut0, addresses: [172.19.0.1/30], auto_route: false}\n"
           "interfaces:\n"
           "  - name: %s\n"
           "    type: wireguard\n"
           "    private_key: \"%s\"\n"
           "    address: [10.200.0.1/24]\n"
           "    peers:\n"
           "      - public_key: \"%s\"\n"
           "        preshared_key: \"%s\"\n"
           "        allowed_ips: [10.200.0.2/32, \"fd00:200::/64\"]\n"
           "        endpoint: 192.0.2.7:51820\n"
           "      - public_key: \"%s\"\n"
           "        allowed_ips: [10.201.0.0/16]\n"
           "        endpoint: \"[2001:db8::9]:443\"\n"
           "        persistent_keepalive: 25\n"
           "routes: [{cidr: 0.0.0.0/0, to: %s}]\n",
           dev_name, priv_b64, B.b64, psk_b64, C.b64, dev_name);
  mf_diag_t diag = {.out = stderr};
  prof = calloc(1, sizeof(*prof));
  vm = calloc(1, sizeof(*vm));
  assert_non_null(prof);
  assert_non_null(vm);
  assert_int_equal(mf_profile_load_string(yaml, strlen(yaml), "t.yaml", prof, &diag), 0);
  assert_int_equal(mf_dataplane_init(vm, prof, &tun), 0);
  vm->now_ns = 1000 * SEC;
  wm = vm->wg;
  assert_non_null(wm);
  d = wm->devs[0];
  *state = NULL;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  mf_wg_uapi_close_all(wm);
  mf_dataplane_free(vm);
  free(vm);
  free(prof);
  return 0;
}

/* ------------------------------------------------------------ tools */

static int set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int set(const char *fmt, ...)
{
  char body[16384];
  uint32_t effects;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof(body), fmt, ap);
  va_end(ap);
  return mf_wg_uapi_set(wm, d, body, strlen(body), 0, &effects);
}

static const char *get(void)
{
  size_t n = mf_wg_uapi_get(d, reply, sizeof(reply));
  assert_true(n > 0 && n < sizeof(reply));
  reply[n] = 0;
  return reply;
}

static const char *handle(const char *req)
{
  uint32_t effects;
  size_t n = mf_wg_uapi_handle(wm, d, req, strlen(req), reply, sizeof(reply) - 1, &effects);
  reply[n] = 0;
  return reply;
}

static mf_wg_peer_t *peer_of(const test_key_t *k)
{
  for (uint32_t s = 0; s < d->n_peers; s++)
    if (d->peers[s].live && memcmp(d->peers[s].noise.public_key, k->pub, 32) == 0)
      return &d->peers[s];
  return NULL;
}

static uint32_t live_peers(void)
{
  uint32_t n = 0;
  for (uint32_t s = 0; s < d->n_peers; s++)
    n += d->peers[s].live;
  return n;
}

/* The allowed-IPs table's answer for an address: a slot, or UINT32_MAX. */
static uint32_t route_of(const char *addr)
{
  uint32_t adj;
  uint8_t a6[16];
  if (strchr(addr, ':')) {
    const uint8_t *p = a6;
    assert_int_equal(inet_pton(AF_INET6, addr, a6), 1);
    mf_fib6_lookup_vector(d->allowed, &p, &adj, 1);
  } else {
    uint32_t a4;
    assert_int_equal(inet_pton(AF_INET, addr, &a4), 1);
    mf_fib4_lookup_vector(d->allowed, &a4, &adj, 1);
  }
  return adj;
}

static bool has_line(const char *text, const char *line)
{
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)); p++)
    if ((p == text || p[-1] == '\n') && p[n] == '\n')
      return true;
  return false;
}

/* Gives p a session we initiated, so that it has a keypair to send with. */
static void give_session(mf_wg_peer_t *p)
{
  mf_wg_session_t s = {.local_index = mf_wg_peer_new_index(p), .remote_index = 77,
                       .initiator = true};
  memset(s.send_key, 0x5a, 32);
  memset(s.recv_key, 0xa5, 32);
  mf_wg_dropped_t dropped;
  assert_non_null(mf_wg_keypairs_begin_session(&p->kps, &s, vm->now_ns, &dropped));
  assert_non_null(mf_wg_keypairs_for_send(&p->kps, vm->now_ns));
}

/* ------------------------------------------------------------ framing, get */

static void test_frame(void **state)
{
  (void)state;
  static const struct {
    const char *in;
    long want;
  } cases[] = {
      {"", 0}, {"g", 0}, {"get=1", 0}, {"get=1\n", 0}, {"get=1\n\n", 7},
      {"get=1\n\nset=1\n", 7}, {"set=1\n", 0}, {"set=1\nx=y\n", 0},
      {"set=1\nx=y\n\n", 11}, {"set=1\n\n", 7}, {"set=1\nx\n\nget=1\n\n", 9},
      {"put=1\n\n", -1}, {"\n", -1}, {"gex", -1}, {"get=2\n\n", -1},
      {"get=1\r\n\r\n", -1}, {"sets=1\n\n", -1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    long got = mf_wg_uapi_frame(cases[i].in, strlen(cases[i].in));
    if (got != cases[i].want)
      fail_msg("frame(\"%s\") = %ld, want %ld", cases[i].in, got, cases[i].want);
  }
}

static void test_get_reports_the_profile(void **state)
{
  (void)state;
  char want[4096], priv_hex[65], psk_hex[65];
  hex32(priv_hex, A.priv);
  hex32(psk_hex, PSK.priv);
  snprintf(want, sizeof(want),
           "private_key=%s\nlisten_port=%u\nfwmark=29440\n"
           "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
           "endpoint=192.0.2.7:51820\n"
           "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
           "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
           "allowed_ip=10.200.0.2/32\nallowed_ip=fd00:200::/64\n"
           "public_key=%s\npreshared_key=%064d\nprotocol_version=1\n"
           "endpoint=[2001:db8::9]:443\n"
           "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
           "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=25\n"
           "allowed_ip=10.201.0.0/16\n"
           "errno=0\n\n",
           priv_hex, d->sock.port, B.hex, psk_hex, C.hex, 0);
  assert_true(d->sock.port > 0);
  assert_string_equal(get(), want);
  assert_string_equal(handle("get=1\n\n"), want);

  /* Counters and the wall clock of the last handshake, split as wg(8)
   * wants them. */
  mf_wg_peer_t *b = peer_of(&B);
  b->last_handshake_wall_ns = 1700000000ull * SEC + 123456789;
  b->tx_bytes = 148;
  b->rx_bytes = 92;
  get();
  assert_true(has_line(reply, "last_handshake_time_sec=1700000000"));
  assert_true(has_line(reply, "last_handshake_time_nsec=123456789"));
  assert_true(has_line(reply, "tx_bytes=148"));
  assert_true(has_line(reply, "rx_bytes=92"));

  /* A v4-mapped endpoint is shown as IPv4; no endpoint, no line. */
  b->has_endpoint = false;
  assert_false(strstr(get(), "192.0.2.7"));
  /* No fwmark line for mark 0, as wireguard-go. */
  d->fwmark = 0;
  assert_null(strstr(get(), "fwmark="));
  /* Too small a buffer gives 0, never a cut reply. */
  assert_int_equal(mf_wg_uapi_get(d, reply, 100), 0);
}

static void test_handle_replies(void **state)
{
  (void)state;
  assert_string_equal(handle("set=1\n\n"), "errno=0\n\n");
  assert_string_equal(handle("get=1\nx\n\n"), "errno=-22\n\n");
  assert_string_equal(handle("set=1\nbogus=1\n\n"), "errno=-22\n\n");
  assert_string_equal(handle("set=1\nnoequals\n\n"), "errno=-71\n\n"); /* EPROTO */
  assert_string_equal(handle("hello\n\n"), "errno=-22\n\n");
  char req[256];
  snprintf(req, sizeof(req), "set=1\npublic_key=%s\nendpoint=127.0.0.1:9\n\n", D.hex);
  assert_string_equal(handle(req), "errno=0\n\n");
  assert_non_null(peer_of(&D));
}

/* ------------------------------------------------------------ set: peers */

static void test_add_peer(void **state)
{
  (void)state;
  assert_int_equal(set("public_key=%s\nprotocol_version=1\npreshared_key=%s\n"
                       "endpoint=[::1]:51999\npersistent_keepalive_interval=0\n"
                       "allowed_ip=10.202.0.0/24\nallowed_ip=fd00:202::/48\n",
                       D.hex, B.hex),
                   0);
  mf_wg_peer_t *p = peer_of(&D);
  assert_non_null(p);
  assert_int_equal(p->slot, 2);
  assert_int_equal(d->n_peers, 3);
  assert_memory_equal(p->noise.psk, B.pub, 32);
  assert_true(p->has_endpoint);
  assert_int_equal(ntohs(p->endpoint.in6.sin6_port), 51999);
  assert_int_equal(p->n_allowed_ips, 2);
  assert_int_equal(route_of("10.202.0.77"), 2);
  assert_int_equal(route_of("fd00:202:0:1::1"), 2);
  assert_int_equal(route_of("10.200.0.2"), 0);
  assert_int_equal(route_of("10.201.3.4"), 1);
  assert_int_equal(route_of("10.203.0.1"), UINT32_MAX);
  /* Its handshake state is ready: the static-static DH with our key. */
  mf_wg_noise_peer_t want;
  assert_int_equal(mf_wg_noise_peer_init(&want, &d->id, D.pub, B.pub), 0);
  assert_memory_equal(p->noise.static_static, want.static_static, 32);
  /* Named again, it is the same peer, updated. */
  assert_int_equal(set("public_key=%s\nendpoint=127.0.0.1:7\n", D.hex), 0);
  assert_ptr_equal(peer_of(&D), p);
  assert_int_equal(ntohs(p->endpoint.in6.sin6_port), 7);
  assert_int_equal(p->n_allowed_ips, 2);
  /* A public_key line alone makes a peer, as wireguard-go. */
  assert_int_equal(set("public_key=%s\n", E.hex), 0);
  assert_non_null(peer_of(&E));
  assert_int_equal(peer_of(&E)->n_allowed_ips, 0);
}

static void test_update_only(void **state)
{
  (void)state;
  assert_int_equal(set("public_key=%s\nupdate_only=true\nendpoint=127.0.0.1:5\n", B.hex), 0);
  assert_int_equal(ntohs(peer_of(&B)->endpoint.in6.sin6_port), 5);
  /* Unknown peers are not created, whatever comes before update_only. */
  assert_int_equal(set("public_key=%s\nupdate_only=true\nallowed_ip=10.9.0.0/16\n", D.hex), 0);
  assert_int_equal(set("public_key=%s\nallowed_ip=10.9.0.0/16\nupdate_only=true\n", D.hex), 0);
  assert_null(peer_of(&D));
  assert_int_equal(live_peers(), 2);
  assert_int_equal(route_of("10.9.1.1"), UINT32_MAX);
}

static void test_remove_keeps_slots(void **state)
{
  (void)state;
  mf_wg_peer_t *c = peer_of(&C);
  give_session(c);
  uint32_t c_index = c->kps.current->session.local_index;
  mf_wg_peer_t *b = peer_of(&B);
  uint32_t b_index = mf_wg_peer_new_index(b);
  assert_ptr_equal(mf_wg_peer_by_index(d, b_index), b);

  assert_int_equal(set("public_key=%s\nremove=true\n", B.hex), 0);
  assert_null(peer_of(&B));
  assert_false(d->peers[0].live);
  /* C did not move: its slot, its session and its routes are intact. */
  assert_ptr_equal(peer_of(&C), c);
  assert_int_equal(c->slot, 1);
  assert_int_equal(d->n_peers, 2);
  assert_ptr_equal(mf_wg_peer_by_index(d, c_index), c);
  assert_ptr_equal(mf_wg_keypairs_find(&c->kps, c_index), c->kps.current);
  assert_int_equal(route_of("10.201.0.1"), 1);
  /* B's indices and routes lead nowhere now. */
  assert_null(mf_wg_peer_by_index(d, b_index));
  assert_int_equal(route_of("10.200.0.2"), UINT32_MAX);
  assert_int_equal(route_of("fd00:200::5"), UINT32_MAX);
  /* Its secrets are gone. */
  uint8_t zero[32] = {0};
  assert_memory_equal(d->peers[0].noise.psk, zero, 32);
  assert_memory_equal(d->peers[0].noise.static_static, zero, 32);

  /* A new peer takes the free slot. */
  assert_int_equal(set("public_key=%s\nallowed_ip=10.200.0.2/32\n", D.hex), 0);
  assert_int_equal(peer_of(&D)->slot, 0);
  assert_int_equal(route_of("10.200.0.2"), 0);
  /* get lists live peers only, by slot. */
  get();
  assert_non_null(strstr(reply, D.hex));
  assert_null(strstr(reply, B.hex));
  assert_true(strstr(reply, D.hex) < strstr(reply, C.hex));

  /* Removing the last slot shrinks the range loops walk. */
  assert_int_equal(set("public_key=%s\nremove=true\n", C.hex), 0);
  assert_int_equal(d->n_peers, 1);
  /* Removing an unknown peer is no error (wireguard-go). */
  assert_int_equal(set("public_key=%s\nremove=true\n", E.hex), 0);
  assert_int_equal(live_peers(), 1);
}

static void test_replace_peers(void **state)
{
  (void)state;
  give_session(peer_of(&B));
  assert_int_equal(set("replace_peers=true\npublic_key=%s\nallowed_ip=10.9.0.0/16\n"
                       "public_key=%s\nallowed_ip=10.8.0.0/16\n",
                       B.hex, D.hex),
                   0);
  assert_int_equal(live_peers(), 2);
  assert_null(peer_of(&C));
  /* B was removed and named again: a fresh peer, its session gone, its
   * old allowed IPs too (what `wg setconf` does to wireguard-go). */
  mf_wg_peer_t *b = peer_of(&B);
  assert_non_null(b);
  assert_null(mf_wg_keypairs_for_send(&b->kps, vm->now_ns));
  assert_false(b->has_endpoint);
  assert_int_equal(b->n_allowed_ips, 1);
  uint8_t zero[32] = {0};
  assert_memory_equal(b->noise.psk, zero, 32);
  assert_int_equal(route_of("10.200.0.2"), UINT32_MAX);
  assert_int_equal(route_of("10.201.0.1"), UINT32_MAX);
  assert_int_equal(route_of("10.9.0.1"), b->slot);
  assert_int_equal(route_of("10.8.0.1"), peer_of(&D)->slot);
  /* replace_peers alone empties the device. */
  assert_int_equal(set("replace_peers=true\n"), 0);
  assert_int_equal(live_peers(), 0);
  assert_int_equal(d->n_peers, 0);
  assert_int_equal(route_of("10.9.0.1"), UINT32_MAX);
}

static void test_own_key_ignored(void **state)
{
  (void)state;
  char own[65];
  hex32(own, d->id.public_key);
  assert_int_equal(set("public_key=%s\nallowed_ip=10.7.0.0/16\nendpoint=127.0.0.1:1\n", own), 0);
  assert_int_equal(live_peers(), 2);
  assert_int_equal(route_of("10.7.0.1"), UINT32_MAX);
  /* Lines are still checked. */
  assert_int_equal(set("public_key=%s\nallowed_ip=10.7.0.0/99\n", own), -EINVAL);
}

/* ------------------------------------------------------------ set: values */

static void test_preshared_key(void **state)
{
  (void)state;
  uint8_t zero[32] = {0};
  mf_wg_peer_t *b = peer_of(&B), *c = peer_of(&C);
  uint8_t ss[32];
  memcpy(ss, c->noise.static_static, 32);
  assert_int_equal(set("public_key=%s\npreshared_key=%064d\n"
                       "public_key=%s\npreshared_key=%s\n",
                       B.hex, 0, C.hex, D.hex),
                   0);
  assert_memory_equal(b->noise.psk, zero, 32);
  assert_memory_equal(c->noise.psk, D.pub, 32);
  assert_memory_equal(c->noise.static_static, ss, 32);
  get();
  char line[128];
  snprintf(line, sizeof(line), "preshared_key=%s", D.hex);
  assert_true(has_line(reply, line));
  /* Upper-case hex is taken (wireguard-go decodes it). */
  char upper[65];
  for (int i = 0; i < 65; i++)
    upper[i] = (char)(D.hex[i] >= 'a' && D.hex[i] <= 'f' ? D.hex[i] - 32 : D.hex[i]);
  assert_int_equal(set("public_key=%s\npreshared_key=%s\n", upper, upper), 0);
  assert_memory_equal(peer_of(&D)->noise.psk, D.pub, 32);
}

static void test_private_key(void **state)
{
  (void)state;
  mf_wg_peer_t *b = peer_of(&B), *c = peer_of(&C);
  give_session(b);
  /* The same key again changes nothing: sessions stay. */
  char same[65];
  hex32(same, A.priv);
  assert_int_equal(set("private_key=%s\n", same), 0);
  assert_non_null(mf_wg_keypairs_for_send(&b->kps, vm->now_ns));

  test_key_t n;
  make_key(&n, 0x77);
  char hex[65];
  hex32(hex, n.priv);
  assert_int_equal(set("private_key=%s\n", hex), 0);
  assert_memory_equal(d->id.public_key, n.pub, 32);
  assert_memory_equal(d->id.private_key, n.priv, 32);
  /* Every peer's static-static is recomputed, the psk kept. */
  mf_wg_identity_t id;
  mf_wg_noise_peer_t want;
  assert_int_equal(mf_wg_identity_init(&id, n.priv), 0);
  assert_int_equal(mf_wg_noise_peer_init(&want, &id, B.pub, PSK.priv), 0);
  assert_memory_equal(b->noise.static_static, want.static_static, 32);
  assert_memory_equal(b->noise.psk, PSK.priv, 32);
  assert_int_equal(mf_wg_noise_peer_init(&want, &id, C.pub, NULL), 0);
  assert_memory_equal(c->noise.static_static, want.static_static, 32);
  /* The old session no longer sends; it still receives. */
  assert_null(mf_wg_keypairs_for_send(&b->kps, vm->now_ns));
  assert_true(mf_wg_keypair_may_receive(b->kps.current, vm->now_ns));
  /* mac1 is now computed over the new public key. */
  mf_wg_cookie_checker_t ck;
  assert_int_equal(mf_wg_cookie_checker_init(&ck, n.pub), 0);
  assert_memory_equal(d->cookie.mac1_key, ck.mac1_key, sizeof(ck.mac1_key));
  get();
  char line[128];
  snprintf(line, sizeof(line), "private_key=%s", hex);
  assert_true(has_line(reply, line));

  /* A key whose public half is a peer's removes that peer (wireguard-go). */
  hex32(hex, B.priv);
  assert_int_equal(set("private_key=%s\n", hex), 0);
  assert_null(peer_of(&B));
  assert_int_equal(live_peers(), 1);
  /* A zero key is refused: such a device could never shake hands. */
  assert_int_equal(set("private_key=%064d\n", 0), -EINVAL);
  assert_memory_equal(d->id.private_key, B.priv, 32);
}

/* A UDP port nobody uses right now. */
static uint16_t free_port(void)
{
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  socklen_t len = sizeof(a);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin6_port);
}

static uint16_t bound_port(int fd)
{
  struct sockaddr_in6 a;
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin6_port);
}

static void test_listen_port(void **state)
{
  (void)state;
  char body[64];
  uint32_t effects;
  int fd = d->sock.fd;
  uint16_t port = free_port();
  snprintf(body, sizeof(body), "listen_port=%u\n", port);
  assert_int_equal(mf_wg_uapi_set(wm, d, body, strlen(body), 0, &effects), 0);
  assert_int_equal(effects, MF_WG_UAPI_SOCKET_REPLACED);
  assert_int_equal(d->sock.port, port);
  assert_int_equal(d->sock.fd, fd); /* the number stays */
  assert_int_equal(bound_port(fd), port);
  /* The same port again: nothing to do. */
  assert_int_equal(mf_wg_uapi_set(wm, d, body, strlen(body), 0, &effects), 0);
  assert_int_equal(effects, 0);
  /* Port 0: a fresh ephemeral port, as wireguard-go rebinds. */
  assert_int_equal(mf_wg_uapi_set(wm, d, "listen_port=0\n", 14, 0, &effects), 0);
  assert_int_equal(effects, MF_WG_UAPI_SOCKET_REPLACED);
  assert_int_not_equal(d->sock.port, port);
  assert_int_equal(bound_port(fd), d->sock.port);

  /* A port in use: EADDRINUSE, and the peer of the same request is not
   * added either. */
  int blocker = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(free_port())};
  assert_int_equal(bind(blocker, (struct sockaddr *)&a, sizeof(a)), 0);
  uint16_t before = d->sock.port;
  assert_int_equal(set("listen_port=%u\npublic_key=%s\n", ntohs(a.sin6_port), D.hex),
                   -EADDRINUSE);
  close(blocker);
  assert_int_equal(d->sock.port, before);
  assert_int_equal(bound_port(fd), before);
  assert_null(peer_of(&D));
  /* A dry run opens nothing. */
  snprintf(body, sizeof(body), "listen_port=%u\n", free_port());
  assert_int_equal(mf_wg_uapi_set(wm, d, body, strlen(body), MF_WG_UAPI_DRY_RUN, &effects), 0);
  assert_int_equal(d->sock.port, before);
}

static void test_fwmark(void **state)
{
  (void)state;
  /* Our mark keeps the tunnel's packets out of our own TUN: it stays. */
  assert_int_equal(set("fwmark=29440\n"), 0);
  assert_int_equal(set("fwmark=0\n"), -EOPNOTSUPP);
  assert_int_equal(set("fwmark=1\n"), -EOPNOTSUPP);
  assert_int_equal(d->fwmark, 29440);
}

static void test_endpoints(void **state)
{
  (void)state;
  static const char *const good[][2] = {
      {"192.0.2.1:5", "192.0.2.1:5"},
      {"[2001:db8::1]:65535", "[2001:db8::1]:65535"},
      {"[::ffff:198.51.100.3]:51820", "198.51.100.3:51820"},
  };
  static const char *const bad[] = {
      "192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "host:80",
      "[::1]", "[::1]:+5", "192.0.2.1: 5", "::1:80", "[fe80::1%lo]:80", "",
      "192.0.2.1:5x", "[2001:db8::1]80",
  };
  mf_wg_peer_t *b = peer_of(&B);
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    char want[96], text[96];
    assert_int_equal(set("public_key=%s\nendpoint=%s\n", B.hex, good[i][0]), 0);
    mf_sockaddr_format(&b->endpoint, text, sizeof(text));
    assert_string_equal(text, good[i][1]);
    snprintf(want, sizeof(want), "endpoint=%s", good[i][1]);
    assert_true(has_line(get(), want));
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (set("public_key=%s\nendpoint=%s\n", B.hex, bad[i]) != -EINVAL)
      fail_msg("endpoint '%s' was taken", bad[i]);
}

static void test_keepalive(void **state)
{
  (void)state;
  mf_wg_peer_t *b = peer_of(&B);
  assert_int_equal(set("public_key=%s\nendpoint=127.0.0.1:9\n"
                       "persistent_keepalive_interval=25\n",
                       B.hex),
                   0);
  assert_int_equal(b->persistent_keepalive, 25);
  assert_int_equal(b->timers.persistent_keepalive, 25 * SEC);
  /* Switched on, it acts at once: no session, so an initiation went. */
  assert_true(b->timers.initiation_sent);
  assert_true(b->hs.pending);
  get();
  assert_true(has_line(reply, "persistent_keepalive_interval=25"));
  assert_int_equal(set("public_key=%s\npersistent_keepalive_interval=0\n", B.hex), 0);
  assert_int_equal(b->persistent_keepalive, 0);
  assert_int_equal(b->timers.persistent_keepalive, 0);
  assert_int_equal(set("public_key=%s\npersistent_keepalive_interval=65536\n", B.hex),
                   -EINVAL);
}

static void test_allowed_ips(void **state)
{
  (void)state;
  mf_wg_peer_t *b = peer_of(&B), *c = peer_of(&C);
  /* Host bits go, duplicates collapse. */
  assert_int_equal(set("public_key=%s\nallowed_ip=10.9.8.7/8\nallowed_ip=10.0.0.0/8\n"
                       "allowed_ip=fd00:1::5/32\n",
                       C.hex),
                   0);
  assert_int_equal(c->n_allowed_ips, 3);
  get();
  assert_true(has_line(reply, "allowed_ip=10.0.0.0/8"));
  assert_true(has_line(reply, "allowed_ip=fd00:1::/32"));
  /* 10.200.0.2/32 is B's; a longer prefix wins over C's /8. */
  assert_int_equal(route_of("10.200.0.2"), 0);
  assert_int_equal(route_of("10.200.0.3"), 1);
  /* A prefix belongs to the peer that names it last; the others keep
   * their order. */
  assert_int_equal(set("public_key=%s\nallowed_ip=10.201.0.0/16\n", B.hex), 0);
  assert_int_equal(b->n_allowed_ips, 3);
  assert_int_equal(c->n_allowed_ips, 2);
  assert_int_equal(route_of("10.201.5.5"), 0);
  char text[64];
  mf_prefix_format(&c->allowed_ips[0], true, text, sizeof(text));
  assert_string_equal(text, "10.0.0.0/8");
  mf_prefix_format(&c->allowed_ips[1], true, text, sizeof(text));
  assert_string_equal(text, "fd00:1::/32");
  /* replace_allowed_ips clears what came before, not what follows. */
  assert_int_equal(set("public_key=%s\nallowed_ip=10.5.0.0/16\nreplace_allowed_ips=true\n"
                       "allowed_ip=192.168.9.0/24\n",
                       B.hex),
                   0);
  assert_int_equal(b->n_allowed_ips, 1);
  assert_int_equal(route_of("192.168.9.9"), 0);
  assert_int_equal(route_of("10.200.0.2"), 1); /* now C's 10/8 */
  assert_int_equal(route_of("fd00:200::1"), UINT32_MAX);
  /* Empty, and the peer carries nothing. */
  assert_int_equal(set("public_key=%s\nreplace_allowed_ips=true\n", B.hex), 0);
  assert_int_equal(b->n_allowed_ips, 0);
  assert_int_equal(route_of("192.168.9.9"), UINT32_MAX);

  static const char *const bad[] = {
      "10.0.0.0", "10.0.0.0/33", "fd00::/129", "x/8", "10.0.0.0/-1", "10.0.0.0/8 ",
      "/8", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/0008",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (set("public_key=%s\nallowed_ip=%s\n", B.hex, bad[i]) != -EINVAL)
      fail_msg("allowed_ip '%s' was taken", bad[i]);
}

/* ------------------------------------------------------------ limits */

static void test_limits(void **state)
{
  (void)state;
  char body[16384], line[96];
  size_t n = 0;
  /* 32 allowed IPs per peer; the 33rd is refused, with everything else. */
  char ips[4096];
  for (int i = 0; i < MF_PROFILE_MAX_ALLOWED_IPS; i++)
    n += (size_t)snprintf(ips + n, sizeof(ips) - n, "allowed_ip=10.%d.0.0/16\n", 100 + i);
  assert_int_equal(set("public_key=%s\n%s", C.hex, ips), -ENOSPC); /* 1 + 32 */
  assert_int_equal(peer_of(&C)->n_allowed_ips, 1);
  assert_int_equal(route_of("10.100.0.1"), UINT32_MAX);
  assert_int_equal(set("public_key=%s\nreplace_allowed_ips=true\n%s", C.hex, ips), 0);
  assert_int_equal(peer_of(&C)->n_allowed_ips, MF_PROFILE_MAX_ALLOWED_IPS);
  assert_int_equal(route_of("10.131.0.1"), 1);

  /* 16 peers; the 17th is refused, and none of the request's others is
   * added. */
  n = 0;
  for (int i = 0; i < MF_WG_MAX_PEERS - 1; i++) {
    test_key_t k;
    make_key(&k, (uint8_t)(0x80 + i));
    n += (size_t)snprintf(body + n, sizeof(body) - n, "public_key=%s\n", k.hex);
  }
  assert_int_equal(set("%s", body), -ENOSPC);
  assert_int_equal(live_peers(), 2);
  assert_int_equal(d->n_peers, 2);
  /* 14 fit. */
  size_t cut = 14 * (strlen("public_key=") + 65);
  body[cut] = 0;
  assert_int_equal(set("%s", body), 0);
  assert_int_equal(live_peers(), MF_WG_MAX_PEERS);
  /* Full: update_only and remove on an unknown key still work. */
  snprintf(line, sizeof(line), "public_key=%s\n", D.hex);
  assert_int_equal(set("%supdate_only=true\n", line), 0);
  assert_int_equal(set("%sremove=true\n", line), 0);
  assert_int_equal(set("%sendpoint=127.0.0.1:4\n", line), -ENOSPC);
  /* Removing one makes room for one, in the same request. */
  assert_int_equal(set("public_key=%s\nremove=true\n%s", B.hex, line), 0);
  assert_non_null(peer_of(&D));
  assert_int_equal(peer_of(&D)->slot, 0);
}

/* ------------------------------------------------------------ malformed */

static void test_malformed_changes_nothing(void **state)
{
  (void)state;
  static const struct {
    const char *line;
    int err;
  } bad[] = {
      {"bogus=1", -EINVAL},
      {"noequals", -EPROTO},
      {"=1", -EINVAL},
      {"private_key=zz", -EINVAL},
      {"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
       -EINVAL},
      {"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
       -EINVAL},
      {"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
       -EINVAL},
      {"listen_port=65536", -EINVAL},
      {"listen_port=-1", -EINVAL},
      {"listen_port=", -EINVAL},
      {"listen_port=1 ", -EINVAL},
      {"listen_port=0x10", -EINVAL},
      {"fwmark=x", -EINVAL},
      {"fwmark=4294967296", -EINVAL},
      {"replace_peers=false", -EINVAL},
      {"replace_peers=", -EINVAL},
      {"public_key=abcd", -EINVAL},
      {"public_key=", -EINVAL},
      /* A low-order point: no handshake could ever complete with it. */
      {"public_key=0000000000000000000000000000000000000000000000000000000000000000",
       -EINVAL},
      {"protocol_version=1", -EINVAL}, /* a peer key among device keys */
      {"endpoint=192.0.2.1:5", -EINVAL},
      {"allowed_ip=10.0.0.0/8", -EINVAL},
  };
  static const char *const bad_peer[] = {
      "protocol_version=2", "protocol_version=", "update_only=yes", "remove=1",
      "remove=", "preshared_key=12", "persistent_keepalive_interval=x",
      "persistent_keepalive_interval=65536", "replace_allowed_ips=TRUE",
      "listen_port=1", "private_key=00", "replace_peers=true", "fwmark=29440",
      "allowed_ip=10.0.0.0/8\x01", "\t=1",
  };
  char before[MF_WG_UAPI_MAX_REPLY];
  strcpy(before, get());
  uint16_t port = d->sock.port;
  /* Valid changes first, then the bad line: none of them may stay. */
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = set("replace_peers=true\nlisten_port=%u\n%s\n", free_port(), bad[i].line);
    if (rc != bad[i].err)
      fail_msg("'%s': %d, want %d", bad[i].line, rc, bad[i].err);
    assert_string_equal(get(), before);
    assert_int_equal(d->sock.port, port);
  }
  for (size_t i = 0; i < sizeof(bad_peer) / sizeof(bad_peer[0]); i++) {
    int rc = set("replace_peers=true\npublic_key=%s\nallowed_ip=10.9.0.0/16\n"
                 "public_key=%s\nendpoint=127.0.0.1:3\n%s\n",
                 D.hex, B.hex, bad_peer[i]);
    if (rc >= 0)
      fail_msg("'%s' was taken", bad_peer[i]);
    assert_string_equal(get(), before);
    assert_int_equal(d->sock.port, port);
  }
  /* An empty line inside, a NUL inside, a last line without newline. */
  const char with_empty[] = "public_key=x\n\nremove=true\n";
  uint32_t effects;
  assert_int_equal(mf_wg_uapi_set(wm, d, with_empty, sizeof(with_empty) - 1, 0, &effects),
                   -EINVAL);
  char with_nul[160];
  int n = snprintf(with_nul, sizeof(with_nul), "public_key=%s\nendpoint=127.0.0.1:3", D.hex);
  with_nul[n - 2] = 0;
  assert_int_equal(mf_wg_uapi_set(wm, d, with_nul, (size_t)n, 0, &effects), -EINVAL);
  n = snprintf(with_nul, sizeof(with_nul), "public_key=%s\nendpoint=127.0.0.1:3", D.hex);
  assert_int_equal(mf_wg_uapi_set(wm, d, with_nul, (size_t)n, MF_WG_UAPI_DRY_RUN, &effects),
                   0);
  assert_string_equal(get(), before);
}

/* ------------------------------------------------------------ the server */

static int epfd = -1;

static bool server_usable(void)
{
  if (geteuid() != 0) {
    print_message("not root: the wg(8) socket tests are skipped\n");
    return false;
  }
  return true;
}

/* Runs the server's events for up to ms milliseconds; returns early once
 * some were handled and none are left. */
static int pump(int ms)
{
  struct epoll_event ev[16];
  int seen = 0;
  for (int round = 0; round < ms / 10; round++) {
    int n = epoll_wait(epfd, ev, 16, 10);
    for (int i = 0; i < n; i++)
      if (MF_WG_UAPI_OWNS_TAG(ev[i].data.u64)) {
        mf_wg_uapi_on_event(wm, ev[i].data.u64, ev[i].events);
        seen++;
      }
    if (n <= 0 && seen)
      break;
  }
  return seen;
}

static int client_connect(void)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MF_WG_UAPI_DIR, dev_name);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return fd;
}

/* Reads until `replies` replies (each ends with an empty line) or EOF;
 * returns the bytes read, -1 on EOF before any. */
static int client_read(int fd, char *buf, size_t size, int replies)
{
  size_t len = 0;
  for (int round = 0; round < 200; round++) {
    pump(20);
    ssize_t r = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
    if (r == 0)
      break;
    if (r > 0)
      len += (size_t)r;
    buf[len] = 0;
    int n = 0;
    for (const char *p = buf; (p = strstr(p, "\n\n")); p += 2)
      n++;
    if (n >= replies)
      break;
  }
  buf[len] = 0;
  return (int)len;
}

static bool client_closed(int fd)
{
  char c;
  for (int round = 0; round < 100; round++) {
    pump(20);
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN))
      return true;
  }
  return false;
}

static int server_setup(void **state)
{
  (void)state;
  setup(state);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  assert_true(epfd >= 0);
  return 0;
}

static int server_teardown(void **state)
{
  (void)state;
  teardown(state);
  close(epfd);
  return 0;
}

static void test_server_get_set(void **state)
{
  (void)state;
  if (!server_usable())
    return;
  char path[108], err[256], buf[MF_WG_UAPI_MAX_REPLY], want[MF_WG_UAPI_MAX_REPLY];
  snprintf(path, sizeof(path), "%s/%s.sock", MF_WG_UAPI_DIR, dev_name);
  /* A leftover socket file, nobody behind it: replaced. */
  mkdir(MF_WG_UAPI_DIR, 0755);
  int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  unlink(path);
  assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(stale);
  if (mf_wg_uapi_open_all(wm, epfd, SOCK_TAG_BASE, err, sizeof(err)) < 0)
    fail_msg("%s", err);
  assert_int_equal(mf_wg_uapi_open_all(wm, epfd, SOCK_TAG_BASE, err, sizeof(err)), -1);
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(MF_WG_UAPI_DIR, &st), 0);
  assert_true(S_ISDIR(st.st_mode));

  /* A get, answered like the protocol function answers it. */
  int fd = client_connect();
  assert_int_equal(send(fd, "get=1\n\n", 7, 0), 7);
  client_read(fd, buf, sizeof(buf), 1);
  strcpy(want, get());
  assert_string_equal(buf, want);
  close(fd);

  /* A set of the listen port and a get, pipelined on one connection; the
   * new UDP socket is in epoll under the device's tag. */
  uint16_t port = free_port();
  char req[256];
  fd = client_connect();
  int n = snprintf(req, sizeof(req), "set=1\nlisten_port=%u\n\nget=1\n\n", port);
  assert_int_equal(send(fd, req, (size_t)n, 0), n);
  client_read(fd, buf, sizeof(buf), 2);
  assert_int_equal(strncmp(buf, "errno=0\n\nprivate_key=", 21), 0);
  char line[64];
  snprintf(line, sizeof(line), "listen_port=%u", port);
  assert_true(has_line(buf, line));
  assert_int_equal(d->sock.port, port);
  if (isolated) {
    int u = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    assert_int_equal(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
    close(u);
    struct epoll_event ev[8];
    bool seen = false;
    for (int round = 0; round < 50 && !seen; round++) {
      int k = epoll_wait(epfd, ev, 8, 20);
      for (int i = 0; i < k; i++)
        seen |= ev[i].data.u64 == SOCK_TAG_BASE;
    }
    assert_true(seen);
  }
  /* The connection stays for more. */
  assert_int_equal(send(fd, "set=1\nbogus=1\n\n", 15, 0), 15);
  client_read(fd, buf, sizeof(buf), 1);
  assert_string_equal(buf, "errno=-22\n\n");
  /* All it sent before closing its side is answered. */
  assert_int_equal(send(fd, "get=1\n\n", 7, 0), 7);
  shutdown(fd, SHUT_WR);
  client_read(fd, buf, sizeof(buf), 1);
  assert_string_equal(buf, get());
  assert_true(client_closed(fd));
  close(fd);

  mf_wg_uapi_stats_t s;
  mf_wg_uapi_get_stats(wm, &s);
  assert_int_equal(s.accepted, 2);
  assert_int_equal(s.requests, 5);
  assert_int_equal(s.failed, 1);

  /* Closed: the socket file goes. */
  mf_wg_uapi_close_all(wm);
  assert_int_equal(lstat(path, &st), -1);
  mf_wg_uapi_close_all(wm);
}

static void test_server_refuses_a_live_socket(void **state)
{
  (void)state;
  if (!server_usable())
    return;
  char err[256];
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MF_WG_UAPI_DIR, dev_name);
  mkdir(MF_WG_UAPI_DIR, 0755);
  unlink(sa.sun_path);
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(bind(other, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(other, 4), 0);
  assert_int_equal(mf_wg_uapi_open_all(wm, epfd, SOCK_TAG_BASE, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "another process answers"));
  assert_null(wm->uapi);
  /* Its socket file is left alone. */
  struct stat st;
  assert_int_equal(lstat(sa.sun_path, &st), 0);
  close(other);
  unlink(sa.sun_path);
  /* A file that is not a socket is not ours to remove either. */
  int f = open(sa.sun_path, O_CREAT | O_WRONLY, 0600);
  close(f);
  assert_int_equal(mf_wg_uapi_open_all(wm, epfd, SOCK_TAG_BASE, err, sizeof(err)), -1);
  assert_int_equal(lstat(sa.sun_path, &st), 0);
  unlink(sa.sun_path);
}

static void test_server_limits(void **state)
{
  (void)state;
  if (!server_usable())
    return;
  char err[256], buf[256];
  if (mf_wg_uapi_open_all(wm, epfd, SOCK_TAG_BASE, err, sizeof(err)) < 0)
    fail_msg("%s", err);
  /* Eight clients at a time; the ninth is turned away. */
  int fds[MF_WG_UAPI_MAX_CLIENTS + 1];
  for (int i = 0; i <= MF_WG_UAPI_MAX_CLIENTS; i++) {
    fds[i] = client_connect();
    pump(30);
  }
  mf_wg_uapi_stats_t s;
  mf_wg_uapi_get_stats(wm, &s);
  assert_int_equal(s.accepted, MF_WG_UAPI_MAX_CLIENTS);
  assert_int_equal(s.refused, 1);
  assert_true(client_closed(fds[MF_WG_UAPI_MAX_CLIENTS]));
  close(fds[MF_WG_UAPI_MAX_CLIENTS]);
  /* Idle ones go after five seconds; one that talks stays. */
  vm->now_ns += 3 * SEC;
  assert_int_equal(send(fds[0], "get=1\n", 6, 0), 6);
  pump(50);
  vm->now_ns += 3 * SEC;
  mf_wg_uapi_on_event(wm, TIMER_TAG, EPOLLIN);
  mf_wg_uapi_get_stats(wm, &s);
  assert_int_equal(s.idle_closed, MF_WG_UAPI_MAX_CLIENTS - 1);
  for (int i = 1; i < MF_WG_UAPI_MAX_CLIENTS; i++) {
    assert_true(client_closed(fds[i]));
    close(fds[i]);
  }
  assert_int_equal(send(fds[0], "\n", 1, 0), 1);
  assert_true(client_read(fds[0], buf, sizeof(buf), 1) > 0);
  assert_int_equal(strncmp(buf, "private_key=", 12), 0);
  close(fds[0]);

  /* An operation that is not one: an error, then the door. */
  int fd = client_connect();
  assert_int_equal(send(fd, "hello=1\n\n", 9, 0), 9);
  client_read(fd, buf, sizeof(buf), 1);
  assert_string_equal(buf, "errno=-22\n\n");
  assert_true(client_closed(fd));
  close(fd);

  /* A request that never ends within 64 KiB: EMSGSIZE, then closed. */
  static char big[MF_WG_UAPI_MAX_REQUEST + 16];
  memset(big, 'x', sizeof(big));
  memcpy(big, "set=1\n", 6);
  for (size_t i = 60; i < sizeof(big); i += 60)
    big[i] = '\n';
  fd = client_connect();
  size_t sent = 0;
  for (int round = 0; round < 200 && sent < sizeof(big); round++) {
    ssize_t w = send(fd, big + sent, sizeof(big) - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0)
      sent += (size_t)w;
    pump(10);
  }
  client_read(fd, buf, sizeof(buf), 1);
  char want[32];
  snprintf(want, sizeof(want), "errno=%d\n\n", -EMSGSIZE);
  assert_string_equal(buf, want);
  assert_true(client_closed(fd));
  close(fd);
  mf_wg_uapi_get_stats(wm, &s);
  assert_int_equal(s.oversized, 1);
}

/* ------------------------------------------------------------ main */

/* A network namespace of our own, loopback up: whatever the device sends
 * stays in it, and it vanishes with the process. */
static void isolate(void)
{
  if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
    return;
  struct ifreq ifr = {0};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    isolated = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  if (fd >= 0)
    close(fd);
}

int main(void)
{
  isolate();
  /* Unique per process: the server tests use the shared directory. */
  snprintf(dev_name, sizeof(dev_name), "mfut%u", (unsigned)getpid() % 100000u);
  make_key(&A, 0x11);
  make_key(&B, 0x22);
  make_key(&C, 0x33);
  make_key(&D, 0x44);
  make_key(&E, 0x55);
  make_key(&PSK, 0x66);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame),
      cmocka_unit_test_setup_teardown(test_get_reports_the_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handle_replies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_add_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_keeps_slots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replace_peers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_own_key_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_preshared_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_private_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_listen_port, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fwmark, setup, teardown),
      cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_allowed_ips, setup, teardown),
      cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_get_set, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_server_refuses_a_live_socket, server_setup,
                                      server_teardown),
      cmocka_unit_test_setup_teardown(test_server_limits, server_setup, server_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
