/* wg_handshake_try: checks src/wireguard against a real WireGuard peer
 * (wireguard-go) over a real UDP socket, in either role:
 *   initiator (default): handshake, one ICMP echo request through the
 *     tunnel, and its decrypted reply;
 *   responder (--listen PORT): answer the peer's initiation, decrypt the
 *     echo request it sends (someone pings 10.100.0.1 in its namespace),
 *     and send the echo reply back through the tunnel.
 *
 *   namespace mfwg-a                      namespace mfwg-b
 *   +---------------------+               +--------------------------+
 *   | wg_handshake_try    |  UDP 51820    | wireguard-go, dev wgp0   |
 *   | 10.99.0.1 (mfwg-va) |---------------| 10.99.0.2 (mfwg-vb)      |
 *   | inner 10.100.0.1    |   veth pair   | wgp0 10.100.0.2/24       |
 *   +---------------------+               +--------------------------+
 *
 *   ip netns add mfwg-a; ip netns add mfwg-b
 *   ip link add mfwg-va netns mfwg-a type veth peer name mfwg-vb netns mfwg-b
 *   ip -n mfwg-a addr add 10.99.0.1/24 dev mfwg-va; ip -n mfwg-a link set mfwg-va up
 *   ip -n mfwg-b addr add 10.99.0.2/24 dev mfwg-vb; ip -n mfwg-b link set mfwg-vb up
 *   wg genkey > a.key; wg pubkey < a.key > a.pub; (same for b)
 *   ip netns exec mfwg-b env WG_PROCESS_FOREGROUND=1 wireguard-go -f wgp0 &
 *   ip netns exec mfwg-b wg set wgp0 private-key b.key listen-port 51820 \
 *       peer $(cat a.pub) allowed-ips 10.100.0.1/32
 *   ip -n mfwg-b addr add 10.100.0.2/24 dev wgp0; ip -n mfwg-b link set wgp0 up
 *   ip netns exec mfwg-a wg_handshake_try --private-file a.key \
 *       --peer-public $(cat b.pub) --endpoint 10.99.0.2:51820
 * Responder role: give the peer `endpoint 10.99.0.1:51821`, start
 *   ip netns exec mfwg-a wg_handshake_try --listen 51821 ... &
 * then `ip netns exec mfwg-b ping -c 1 10.100.0.1` must succeed.
 *
 * A cookie reply from a peer under load is honoured: the next initiation
 * carries mac2 (whitepaper section 5.4.7). --flood N first sends N junk
 * initiations with a valid mac1 (so the peer queues each for a DH) to put
 * the peer under load and make it demand that cookie.
 *
 * Exit status: 0 the echo went both ways, 1 a step failed (reason on
 * stderr), 2 usage. Every wait is bounded by --timeout (default 10 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ip/checksum.h"
#include "wireguard/cookie.h"
#include "wireguard/data.h"
#include "wireguard/keys.h"
#include "wireguard/noise.h"
#include "wireguard/tai64n.h"

#define MAX_INITIATIONS 5
#define MAX_FLOOD 20000
#define ECHO_ID 0x4d46
#define ECHO_SEQ 1
#define ECHO_PAYLOAD 32
#define TUNNEL_MTU 1420

typedef struct {
  const char *private_file, *psk_file, *peer_public, *endpoint;
  const char *inner_src, *inner_dst;
  unsigned timeout_sec;
  unsigned flood;
  unsigned listen_port; /* 0: initiator */
} options_t;

typedef struct {
  mf_wg_identity_t id;
  mf_wg_noise_peer_t peer;
  mf_wg_cookie_checker_t checker;
  mf_wg_cookie_maker_t maker;
  mf_wg_handshake_t hs;
  mf_wg_keypairs_t kps;
  mf_wg_data_ctx_t data;
  int fd;
  uint64_t deadline;
  struct sockaddr_storage from; /* source of the last datagram */
  struct in_addr inner_src, inner_dst;
} tunnel_t;

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: wg_handshake_try --private-file F --peer-public KEY\n"
             "         (--endpoint IP:PORT | --listen PORT) [--psk-file F]\n"
             "         [--inner-src A] [--inner-dst B] [--timeout SEC]\n"
             "         [--flood N]\n");
}

/* Reads a base64 key from the first line of a file, as wg(8) writes it. */
static int key_from_file(uint8_t key[32], const char *path)
{
  char line[128] = {0};
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char *ok = fgets(line, sizeof(line), f);
  fclose(f);
  if (!ok)
    return -1;
  line[strcspn(line, "\r\n")] = '\0';
  int rc = mf_wg_key_from_base64(key, line);
  memset(line, 0, sizeof(line));
  return rc;
}

/* Waits for one datagram until `until` or the tunnel's deadline; its
 * length or -1. */
static ssize_t receive_until(tunnel_t *t, uint8_t *buf, size_t size,
                             uint64_t until)
{
  if (until > t->deadline)
    until = t->deadline;
  for (;;) {
    uint64_t now = now_ns();
    if (now >= until)
      return -1;
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    int ms = (int)((until - now) / 1000000 + 1);
    int n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    socklen_t alen = sizeof(t->from);
    ssize_t len = recvfrom(t->fd, buf, size, 0, (struct sockaddr *)&t->from,
                           &alen);
    if (len >= 0 || (errno != EINTR && errno != EAGAIN))
      return len;
  }
}

static ssize_t receive(tunnel_t *t, uint8_t *buf, size_t size)
{
  return receive_until(t, buf, size, t->deadline);
}

/* Junk initiations that pass mac1 and then cost the peer a DH each. */
static int send_flood(tunnel_t *t, unsigned n)
{
  mf_wg_cookie_maker_t junk_maker;
  mf_wg_msg_initiation_t m;
  if (mf_wg_cookie_maker_init(&junk_maker, t->peer.public_key) < 0)
    return -1;
  for (unsigned i = 0; i < n; i++) {
    memset(&m, 0, sizeof(m));
    m.type = mf_wg_le32(MF_WG_MSG_INITIATION);
    m.sender = mf_wg_le32(0x4a000000u + i);
    memset(m.ephemeral, 9, sizeof(m.ephemeral));
    m.ephemeral[0] = (uint8_t)i;
    m.ephemeral[1] = (uint8_t)(i >> 8);
    mf_wg_cookie_add_macs(&junk_maker, (uint8_t *)&m, sizeof(m), now_ns());
    if (send(t->fd, &m, sizeof(m), 0) < 0 && errno != ENOBUFS &&
        errno != EAGAIN)
      return -1;
  }
  printf("wg_handshake_try: %u junk initiations sent\n", n);
  return 0;
}

static int send_initiation(tunnel_t *t, uint32_t index)
{
  mf_wg_msg_initiation_t m;
  uint8_t stamp[MF_WG_TIMESTAMP_LEN];
  mf_wg_tai64n_now(stamp);
  if (mf_wg_noise_create_initiation(&t->hs, &t->id, &t->peer, index, stamp,
                                    NULL, &m) < 0 ||
      mf_wg_cookie_add_macs(&t->maker, (uint8_t *)&m, sizeof(m), now_ns()) < 0)
    return -1;
  printf("wg_handshake_try: initiation sent (index %u, mac2 %s)\n", index,
         t->maker.cookie_valid ? "set" : "zero");
  return send(t->fd, &m, sizeof(m), 0) == sizeof(m) ? 0 : -1;
}

/* Initiator: initiation until a response completes the handshake, again
 * after Rekey-Timeout without one (section 6.4). A cookie reply gets a
 * fresh initiation carrying mac2. */
static int do_initiate(tunnel_t *t)
{
  uint8_t buf[2048];
  uint32_t index = 0x6d660000u | (uint32_t)(now_ns() & 0xffff);
  unsigned refused = 0;
  for (int attempt = 0; attempt < MAX_INITIATIONS; attempt++) {
    if (send_initiation(t, index + (uint32_t)attempt) < 0)
      return -1;
    uint64_t retry_at = now_ns() + MF_WG_REKEY_TIMEOUT;
    ssize_t len;
    while ((len = receive_until(t, buf, sizeof(buf), retry_at)) >= 0) {
      uint32_t type = mf_wg_msg_type(buf, (size_t)len);
      if (type == MF_WG_MSG_COOKIE) {
        mf_wg_msg_cookie_t c;
        mf_wg_msg_cookie_parse(buf, (size_t)len, &c);
        if (mf_wg_cookie_consume_reply(&t->maker, &c, now_ns()) < 0) {
          refused++; /* answers a junk initiation, or forged */
          continue;
        }
        printf("wg_handshake_try: cookie reply accepted (%u others refused)\n",
               refused);
        break; /* retry with mac2 */
      }
      if (type != MF_WG_MSG_RESPONSE) {
        printf("wg_handshake_try: ignored %zd bytes of type %u\n", len, type);
        continue;
      }
      mf_wg_msg_response_t r;
      mf_wg_session_t s;
      mf_wg_dropped_t dropped;
      mf_wg_msg_response_parse(buf, (size_t)len, &r);
      if (mf_wg_cookie_validate(&t->checker, buf, (size_t)len, NULL, false,
                                now_ns()) != MF_WG_COOKIE_MAC1_OK) {
        fprintf(stderr, "wg_handshake_try: response with a bad mac1\n");
        continue;
      }
      if (mf_wg_noise_consume_response(&t->hs, &t->id, &t->peer, &r, &s) < 0) {
        fprintf(stderr, "wg_handshake_try: response did not authenticate\n");
        continue;
      }
      printf("wg_handshake_try: response consumed (peer index %u)\n",
             s.remote_index);
      mf_wg_keypairs_begin_session(&t->kps, &s, now_ns(), &dropped);
      return 0;
    }
    if (len < 0 && now_ns() >= t->deadline)
      break;
  }
  fprintf(stderr, "wg_handshake_try: no handshake response\n");
  return -1;
}

/* Responder: waits for the peer's initiation and answers it; the socket
 * is then connected to where it came from. */
static int do_respond(tunnel_t *t)
{
  uint8_t buf[2048];
  ssize_t len;
  while ((len = receive(t, buf, sizeof(buf))) >= 0) {
    mf_wg_msg_initiation_t m;
    mf_wg_initiation_t in;
    mf_wg_msg_response_t r;
    mf_wg_session_t s;
    mf_wg_dropped_t dropped;
    const struct sockaddr *src = (const struct sockaddr *)&t->from;
    if (mf_wg_msg_initiation_parse(buf, (size_t)len, &m) < 0) {
      printf("wg_handshake_try: ignored %zd bytes before the handshake\n", len);
      continue;
    }
    if (mf_wg_cookie_validate(&t->checker, buf, (size_t)len, src, false,
                              now_ns()) != MF_WG_COOKIE_MAC1_OK ||
        mf_wg_noise_consume_initiation(&t->id, &m, &in) < 0) {
      fprintf(stderr, "wg_handshake_try: initiation did not authenticate\n");
      continue;
    }
    if (memcmp(in.remote_static, t->peer.public_key, 32) != 0) {
      fprintf(stderr, "wg_handshake_try: initiation from an unknown key\n");
      mf_wg_noise_initiation_clear(&in);
      continue;
    }
    printf("wg_handshake_try: initiation consumed (peer index %u)\n",
           in.remote_index);
    uint32_t index = 0x72650000u | (uint32_t)(now_ns() & 0xffff);
    int rc = mf_wg_noise_create_response(&in, &t->peer, index, NULL, &r, &s);
    mf_wg_noise_initiation_clear(&in);
    if (rc < 0 ||
        mf_wg_cookie_add_macs(&t->maker, (uint8_t *)&r, sizeof(r), now_ns()) < 0 ||
        connect(t->fd, src, sizeof(t->from)) < 0 ||
        send(t->fd, &r, sizeof(r), 0) != sizeof(r)) {
      fprintf(stderr, "wg_handshake_try: could not answer\n");
      return -1;
    }
    printf("wg_handshake_try: response sent (index %u)\n", index);
    mf_wg_keypairs_begin_session(&t->kps, &s, now_ns(), &dropped);
    return 0;
  }
  fprintf(stderr, "wg_handshake_try: no initiation\n");
  return -1;
}

/* Receives data until a non-empty packet decrypts into plain. */
static int receive_packet(tunnel_t *t, uint8_t *plain, size_t *plen)
{
  uint8_t buf[2048];
  ssize_t len;
  while ((len = receive(t, buf, sizeof(buf))) >= 0) {
    mf_wg_data_view_t v;
    if (mf_wg_msg_data_parse(buf, (size_t)len, &v) < 0) {
      printf("wg_handshake_try: ignored a non-data message\n");
      continue;
    }
    mf_wg_keypair_t *kp = mf_wg_keypairs_find(&t->kps, v.receiver);
    mf_wg_data_result_t r =
        kp && mf_wg_keypair_may_receive(kp, now_ns())
            ? mf_wg_data_decrypt(&t->data, kp, buf, (size_t)len, plain, plen)
            : MF_WG_DATA_E_INDEX;
    if (r != MF_WG_DATA_OK) {
      fprintf(stderr, "wg_handshake_try: data dropped: %s\n",
              mf_wg_data_result_name(r));
      continue;
    }
    if (mf_wg_keypairs_received_with(&t->kps, kp, NULL))
      printf("wg_handshake_try: session confirmed by the initiator\n");
    if (*plen == 0) {
      printf("wg_handshake_try: keepalive received (counter %lu)\n",
             (unsigned long)v.counter);
      continue;
    }
    printf("wg_handshake_try: %zu bytes received (counter %lu)\n", *plen,
           (unsigned long)v.counter);
    return 0;
  }
  return -1;
}

/* Pads and seals one IP packet to the peer. */
static int send_packet(tunnel_t *t, uint8_t *plain, size_t len)
{
  uint8_t msg[2048];
  uint64_t counter;
  size_t padded = mf_wg_data_padded_len(len, TUNNEL_MTU);
  memset(plain + len, 0, padded - len);
  mf_wg_keypair_t *kp = mf_wg_keypairs_for_send(&t->kps, now_ns());
  if (!kp || mf_wg_keypair_reserve(kp, 1, &counter) < 0 ||
      mf_wg_data_encrypt(&t->data, kp, counter, plain, padded, msg) !=
          MF_WG_DATA_OK)
    return -1;
  size_t mlen = mf_wg_data_msg_len(padded);
  printf("wg_handshake_try: %zu bytes sent (counter %lu)\n", padded,
         (unsigned long)counter);
  return send(t->fd, msg, mlen, 0) == (ssize_t)mlen ? 0 : -1;
}

/* An IPv4 packet with an ICMP echo of the given type; rest is what
 * follows type, code and checksum (identifier, sequence, data). Returns
 * the IP length. */
static size_t build_echo(uint8_t *p, uint8_t type, struct in_addr src,
                         struct in_addr dst, const uint8_t *rest,
                         size_t rest_len)
{
  size_t ip_len = 20 + 4 + rest_len;
  memset(p, 0, 24);
  p[0] = 0x45;
  p[2] = (uint8_t)(ip_len >> 8);
  p[3] = (uint8_t)ip_len;
  p[8] = 64;
  p[9] = 1; /* ICMP */
  memcpy(p + 12, &src, 4);
  memcpy(p + 16, &dst, 4);
  uint16_t c = mf_csum_finish(mf_csum_add(0, p, 20));
  memcpy(p + 10, &c, 2);
  uint8_t *icmp = p + 20;
  icmp[0] = type;
  memcpy(icmp + 4, rest, rest_len);
  c = mf_csum_finish(mf_csum_add(0, icmp, 4 + rest_len));
  memcpy(icmp + 2, &c, 2);
  return ip_len;
}

/* The ICMP echo inside p (len bytes) if it is one of type from src to
 * dst with valid checksums: its header, else NULL. */
static const uint8_t *echo_in(const uint8_t *p, size_t len, uint8_t type,
                              struct in_addr src, struct in_addr dst,
                              size_t *icmp_len)
{
  if (len < 28 || (p[0] >> 4) != 4 || p[9] != 1)
    return NULL;
  size_t hl = (size_t)(p[0] & 15) * 4;
  size_t total = (size_t)p[2] << 8 | p[3];
  if (hl < 20 || total > len || total < hl + 8 || !mf_csum_ok(p, hl, 0))
    return NULL;
  const uint8_t *icmp = p + hl;
  if (memcmp(p + 12, &src, 4) != 0 || memcmp(p + 16, &dst, 4) != 0 ||
      icmp[0] != type || !mf_csum_ok(icmp, total - hl, 0))
    return NULL;
  *icmp_len = total - hl;
  return icmp;
}

/* Initiator: ping the peer's inner address through the tunnel. */
static int ping_through(tunnel_t *t)
{
  uint8_t plain[2048], rest[4 + ECHO_PAYLOAD];
  size_t n = 0, icmp_len;
  rest[0] = ECHO_ID >> 8;
  rest[1] = ECHO_ID & 0xff;
  rest[2] = ECHO_SEQ >> 8;
  rest[3] = ECHO_SEQ & 0xff;
  for (int i = 0; i < ECHO_PAYLOAD; i++)
    rest[4 + i] = (uint8_t)('a' + i % 26);
  size_t len =
      build_echo(plain, 8, t->inner_src, t->inner_dst, rest, sizeof(rest));
  if (send_packet(t, plain, len) < 0)
    return -1;
  while (receive_packet(t, plain, &n) == 0) {
    const uint8_t *icmp =
        echo_in(plain, n, 0, t->inner_dst, t->inner_src, &icmp_len);
    if (icmp && icmp_len == 4 + sizeof(rest) &&
        memcmp(icmp + 4, rest, sizeof(rest)) == 0) {
      printf("wg_handshake_try: echo reply received\n");
      return 0;
    }
  }
  fprintf(stderr, "wg_handshake_try: no echo reply\n");
  return -1;
}

/* Responder: answer one echo request to our inner address. */
static int answer_ping(tunnel_t *t)
{
  uint8_t plain[2048], reply[2048];
  size_t n = 0, icmp_len;
  while (receive_packet(t, plain, &n) == 0) {
    const uint8_t *icmp =
        echo_in(plain, n, 8, t->inner_dst, t->inner_src, &icmp_len);
    if (!icmp)
      continue;
    printf("wg_handshake_try: echo request received\n");
    size_t len = build_echo(reply, 0, t->inner_src, t->inner_dst, icmp + 4,
                            icmp_len - 4);
    return send_packet(t, reply, len);
  }
  fprintf(stderr, "wg_handshake_try: no echo request\n");
  return -1;
}

static int parse_options(int argc, char **argv, options_t *o)
{
  static const struct option long_options[] = {
      {"private-file", required_argument, NULL, 'k'},
      {"psk-file", required_argument, NULL, 'q'},
      {"peer-public", required_argument, NULL, 'p'},
      {"endpoint", required_argument, NULL, 'e'},
      {"listen", required_argument, NULL, 'l'},
      {"inner-src", required_argument, NULL, 's'},
      {"inner-dst", required_argument, NULL, 'd'},
      {"timeout", required_argument, NULL, 't'},
      {"flood", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  *o = (options_t){.inner_src = "10.100.0.1", .inner_dst = "10.100.0.2",
                   .timeout_sec = 10};
  int c;
  while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    switch (c) {
    case 'k': o->private_file = optarg; break;
    case 'q': o->psk_file = optarg; break;
    case 'p': o->peer_public = optarg; break;
    case 'e': o->endpoint = optarg; break;
    case 'l': o->listen_port = (unsigned)strtoul(optarg, NULL, 10); break;
    case 's': o->inner_src = optarg; break;
    case 'd': o->inner_dst = optarg; break;
    case 't': o->timeout_sec = (unsigned)strtoul(optarg, NULL, 10); break;
    case 'f': o->flood = (unsigned)strtoul(optarg, NULL, 10); break;
    case 'h': usage(stdout); exit(0);
    default: return -1;
    }
  }
  bool one_role = (o->endpoint != NULL) != (o->listen_port != 0);
  return o->private_file && o->peer_public && one_role &&
                 o->listen_port < 65536 && o->timeout_sec > 0 &&
                 o->timeout_sec <= 300 && o->flood <= MAX_FLOOD &&
                 (o->flood == 0 || o->endpoint)
             ? 0
             : -1;
}

/* Binds (responder) or connects (initiator) the socket. */
static int socket_open(tunnel_t *t, const options_t *o)
{
  struct sockaddr_in sa = {.sin_family = AF_INET};
  t->fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (t->fd < 0)
    return -1;
  if (o->listen_port) {
    sa.sin_port = htons((uint16_t)o->listen_port);
    return bind(t->fd, (struct sockaddr *)&sa, sizeof(sa));
  }
  char host[64];
  const char *colon = strrchr(o->endpoint, ':');
  if (!colon || (size_t)(colon - o->endpoint) >= sizeof(host))
    return -1;
  memcpy(host, o->endpoint, (size_t)(colon - o->endpoint));
  host[colon - o->endpoint] = '\0';
  sa.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
    return -1;
  return connect(t->fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int tunnel_open(tunnel_t *t, const options_t *o)
{
  uint8_t priv[32], pub[32], psk[32];
  int rc = -1;
  memset(t, 0, sizeof(*t));
  t->fd = -1;
  mf_wg_keypairs_init(&t->kps);
  if (inet_pton(AF_INET, o->inner_src, &t->inner_src) != 1 ||
      inet_pton(AF_INET, o->inner_dst, &t->inner_dst) != 1)
    goto out;
  if (key_from_file(priv, o->private_file) < 0 ||
      mf_wg_key_from_base64(pub, o->peer_public) < 0 ||
      (o->psk_file && key_from_file(psk, o->psk_file) < 0)) {
    fprintf(stderr, "wg_handshake_try: bad key\n");
    goto out;
  }
  if (mf_wg_identity_init(&t->id, priv) < 0 ||
      mf_wg_noise_peer_init(&t->peer, &t->id, pub, o->psk_file ? psk : NULL) < 0 ||
      mf_wg_cookie_checker_init(&t->checker, t->id.public_key) < 0 ||
      mf_wg_cookie_maker_init(&t->maker, pub) < 0 ||
      mf_wg_data_ctx_init(&t->data) < 0)
    goto out;
  if (socket_open(t, o) < 0) {
    perror("wg_handshake_try: socket");
    goto out;
  }
  t->deadline = now_ns() + (uint64_t)o->timeout_sec * 1000000000ull;
  rc = 0;
out:
  memset(priv, 0, sizeof(priv));
  memset(psk, 0, sizeof(psk));
  return rc;
}

static void tunnel_close(tunnel_t *t)
{
  if (t->fd >= 0)
    close(t->fd);
  if (t->data.seal.evp || t->data.open.evp)
    mf_wg_data_ctx_fini(&t->data);
  mf_wg_keypairs_clear(&t->kps, NULL);
  mf_wg_noise_handshake_clear(&t->hs);
  mf_wg_noise_peer_clear(&t->peer);
  mf_wg_identity_clear(&t->id);
}

int main(int argc, char **argv)
{
  options_t o;
  tunnel_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (parse_options(argc, argv, &o) < 0) {
    usage(stderr);
    return 2;
  }
  int rc = 1;
  if (tunnel_open(&t, &o) == 0) {
    if (o.listen_port)
      rc = do_respond(&t) == 0 && answer_ping(&t) == 0 ? 0 : 1;
    else
      rc = (o.flood == 0 || send_flood(&t, o.flood) == 0) &&
                   do_initiate(&t) == 0 && ping_through(&t) == 0
               ? 0
               : 1;
  }
  tunnel_close(&t);
  printf("wg_handshake_try: %s\n", rc == 0 ? "ok" : "failed");
  return rc;
}
