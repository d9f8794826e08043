/* The set of the wg(8) configuration protocol, in three stages (see
 * uapi.h):
 *
 *   read   every line is checked and applied to a model: a copy of the
 *          device's identity, peers and allowed IPs, slot for slot;
 *   prepare  what may still fail is computed aside: the static-static DH
 *          of new peers (all peers when the private key changes), cookie
 *          state, the new allowed-IPs table, a socket on a new port;
 *   commit the device takes the model's state, step by step, none of
 *          which can fail.
 *
 * Semantics follow wireguard-go's uapi.go, which wg(8) is written
 * against: device keys come before the first public_key; a public_key
 * line selects a peer, creating it unless update_only=true follows; a peer
 * with the device's own public key is ignored; an allowed IP belongs to
 * one peer, the last to claim it; replace_peers and replace_allowed_ips
 * clear before what follows; a peer removed and named again in the same
 * request (what `wg setconf` does) starts afresh; a new private key
 * stops every session from sending, a new preshared key takes effect at
 * the next handshake (as in the kernel). Where we are stricter:
 * zero private keys and low-order public keys are refused (no handshake
 * could ever complete), limits give ENOSPC, endpoints must be numeric (wg
 * resolves names before it sends them), and the fwmark cannot change. */
#include "wireguard/uapi.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fib/fib.h"
#include "wireguard/keys.h"

/* ------------------------------------------------------------ set: model */

typedef struct {
  bool live;
  bool fresh; /* not in the device before this request: a new peer */
  bool psk_set, endpoint_set, keepalive_set;
  uint8_t public_key[MF_WG_KEY_LEN];
  uint8_t psk[MF_WG_KEY_LEN];
  mf_sockaddr_t endpoint;
  uint16_t keepalive;
  mf_prefix_t allowed[MF_PROFILE_MAX_ALLOWED_IPS];
  uint32_t n_allowed;
} model_peer_t;

/* The peer section being read: a model slot, a peer to create once the
 * section changes it or ends (its slot is taken only then, so that
 * `update_only=true` or `remove=true` on a full device is no error), or
 * nothing (lines are checked, then ignored). */
enum { CUR_NONE = -1, CUR_PENDING = -2 };

typedef struct {
  mf_wg_identity_t id; /* the identity the request ends with */
  uint32_t fwmark;     /* the device's: it may only be set to itself */
  bool port_set;
  uint16_t port;
  bool in_peers;        /* a public_key line was read: device keys are over */
  bool allowed_changed; /* some peer's allowed IPs or existence changed */
  int cur;
  bool cur_created; /* the section's public_key line made the peer */
  uint8_t pending_key[MF_WG_KEY_LEN];
  model_peer_t peers[MF_WG_MAX_PEERS];
} model_t;

static void model_load(model_t *m, const mf_wg_device_t *d)
{
  memset(m, 0, sizeof(*m));
  m->id = d->id;
  m->fwmark = d->fwmark;
  m->cur = CUR_NONE;
  for (uint32_t s = 0; s < d->n_peers; s++) {
    const mf_wg_peer_t *p = &d->peers[s];
    model_peer_t *q = &m->peers[s];
    if (!p->live)
      continue;
    q->live = true;
    memcpy(q->public_key, p->noise.public_key, MF_WG_KEY_LEN);
    memcpy(q->psk, p->noise.psk, MF_WG_KEY_LEN);
    memcpy(q->allowed, p->allowed_ips, p->n_allowed_ips * sizeof(mf_prefix_t));
    q->n_allowed = p->n_allowed_ips;
  }
}

static int model_find(const model_t *m, const uint8_t key[MF_WG_KEY_LEN])
{
  for (int s = 0; s < MF_WG_MAX_PEERS; s++)
    if (m->peers[s].live && memcmp(m->peers[s].public_key, key, MF_WG_KEY_LEN) == 0)
      return s;
  return -1;
}

static void model_drop(model_t *m, int s)
{
  OPENSSL_cleanse(&m->peers[s], sizeof(m->peers[s]));
  m->allowed_changed = true;
}

/* Gives a pending peer its slot; -ENOSPC when every slot is taken. */
static int model_materialize(model_t *m)
{
  if (m->cur != CUR_PENDING)
    return 0;
  for (int s = 0; s < MF_WG_MAX_PEERS; s++)
    if (!m->peers[s].live) {
      model_peer_t *q = &m->peers[s];
      memset(q, 0, sizeof(*q));
      q->live = q->fresh = true;
      memcpy(q->public_key, m->pending_key, MF_WG_KEY_LEN);
      m->cur = s;
      return 0;
    }
  return -ENOSPC;
}

/* An allowed IP goes to the peer that names it last (the trie of
 * wireguard-go and the kernel keeps one peer per prefix). */
static int model_allow(model_t *m, int s, const mf_prefix_t *p)
{
  model_peer_t *q = &m->peers[s];
  for (int o = 0; o < MF_WG_MAX_PEERS; o++) {
    model_peer_t *r = &m->peers[o];
    for (uint32_t i = 0; r->live && i < r->n_allowed; i++)
      if (mf_prefix_equal(&r->allowed[i], p)) {
        if (o == s)
          return 0;
        memmove(&r->allowed[i], &r->allowed[i + 1],
                (r->n_allowed - i - 1) * sizeof(mf_prefix_t));
        r->n_allowed--;
        break;
      }
  }
  if (q->n_allowed == MF_PROFILE_MAX_ALLOWED_IPS)
    return -ENOSPC;
  q->allowed[q->n_allowed++] = *p;
  m->allowed_changed = true;
  return 0;
}

/* ------------------------------------------------------------ set: values */

/* A hex digit's value or -1, by arithmetic rather than branches: private
 * and preshared keys pass through here. */
static int hex_digit(uint8_t c)
{
  int d = (int)c - '0';
  int l = (int)(c | 0x20) - 'a';
  int is_d = ~((d | (9 - d)) >> 31);  /* all ones when 0 <= d <= 9 */
  int is_l = ~((l | (5 - l)) >> 31);  /* all ones when 0 <= l <= 5 */
  return (is_d & d) | (is_l & (l + 10)) | ~(is_d | is_l);
}

/* Exactly 64 hex digits, either case (wireguard-go decodes both). */
static int parse_key(const char *v, size_t n, uint8_t out[MF_WG_KEY_LEN])
{
  if (n != 2 * MF_WG_KEY_LEN)
    return -EINVAL;
  int bad = 0;
  for (int i = 0; i < MF_WG_KEY_LEN; i++) {
    int hi = hex_digit((uint8_t)v[2 * i]), lo = hex_digit((uint8_t)v[2 * i + 1]);
    bad |= hi | lo;
    out[i] = (uint8_t)((unsigned)hi << 4 | ((unsigned)lo & 15));
  }
  if (bad < 0) {
    OPENSSL_cleanse(out, MF_WG_KEY_LEN);
    return -EINVAL;
  }
  return 0;
}

/* Decimal digits only (Go's strconv.ParseUint: no sign, no spaces). */
static int parse_uint(const char *v, size_t n, uint64_t max, uint64_t *out)
{
  uint64_t x = 0;
  if (n == 0)
    return -EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return -EINVAL;
    x = x * 10 + (uint64_t)(v[i] - '0');
    if (x > max)
      return -EINVAL;
  }
  *out = x;
  return 0;
}

static int parse_true(const char *v, size_t n)
{
  return n == 4 && memcmp(v, "true", 4) == 0 ? 0 : -EINVAL;
}

/* Copies a value into a C string; -EINVAL when too long or holding NUL. */
static int to_cstr(const char *v, size_t n, char *out, size_t size)
{
  if (n >= size || memchr(v, 0, n))
    return -EINVAL;
  memcpy(out, v, n);
  out[n] = 0;
  return 0;
}

/* "a.b.c.d:port" or "[v6]:port", numeric. */
static int parse_endpoint(const char *v, size_t n, mf_sockaddr_t *out)
{
  char text[80];
  const char *why;
  if (to_cstr(v, n, text, sizeof(text)) < 0)
    return -EINVAL;
  const char *colon = strrchr(text, ':');
  uint64_t port;
  /* IPv6 only in brackets: "::1:80" names no port unambiguously. */
  if (!colon || (text[0] != '[' && memchr(text, ':', (size_t)(colon - text))) ||
      parse_uint(colon + 1, strlen(colon + 1), 65535, &port) < 0 ||
      mf_sockaddr_parse(text, out, &why) < 0)
    return -EINVAL;
  return 0;
}

/* "addr/len", masked to its network as wireguard-go stores it. */
static int parse_allowed_ip(const char *v, size_t n, mf_prefix_t *out)
{
  char text[64];
  const char *why;
  if (to_cstr(v, n, text, sizeof(text)) < 0 || !strchr(text, '/') ||
      mf_prefix_parse(text, out, &why) < 0)
    return -EINVAL;
  mf_prefix_mask(out);
  return 0;
}

/* ------------------------------------------------------------ set: lines */

typedef enum {
  K_PRIVATE_KEY,
  K_LISTEN_PORT,
  K_FWMARK,
  K_REPLACE_PEERS,
  K_PUBLIC_KEY,
  K_UPDATE_ONLY,
  K_REMOVE,
  K_PRESHARED_KEY,
  K_ENDPOINT,
  K_PERSISTENT_KEEPALIVE_INTERVAL,
  K_REPLACE_ALLOWED_IPS,
  K_ALLOWED_IP,
  K_PROTOCOL_VERSION,
  K_N
} uapi_key_t;

static const char *const key_names[K_N] = {
    [K_PRIVATE_KEY] = "private_key",
    [K_LISTEN_PORT] = "listen_port",
    [K_FWMARK] = "fwmark",
    [K_REPLACE_PEERS] = "replace_peers",
    [K_PUBLIC_KEY] = "public_key",
    [K_UPDATE_ONLY] = "update_only",
    [K_REMOVE] = "remove",
    [K_PRESHARED_KEY] = "preshared_key",
    [K_ENDPOINT] = "endpoint",
    [K_PERSISTENT_KEEPALIVE_INTERVAL] = "persistent_keepalive_interval",
    [K_REPLACE_ALLOWED_IPS] = "replace_allowed_ips",
    [K_ALLOWED_IP] = "allowed_ip",
    [K_PROTOCOL_VERSION] = "protocol_version",
};

static int key_lookup(const char *k, size_t n)
{
  for (int i = 0; i < K_N; i++)
    if (strlen(key_names[i]) == n && memcmp(key_names[i], k, n) == 0)
      return i;
  return -1;
}

static int device_line(model_t *m, int key, const char *v, size_t n)
{
  uint8_t sk[MF_WG_KEY_LEN];
  uint64_t x;
  int rc;
  switch (key) {
  case K_PRIVATE_KEY:
    /* wireguard-go takes all zeros as "no key"; a device without one
     * could never answer a handshake, so it is refused here. */
    rc = parse_key(v, n, sk);
    if (rc == 0 && mf_wg_identity_init(&m->id, sk) < 0)
      rc = -EINVAL;
    OPENSSL_cleanse(sk, sizeof(sk));
    if (rc < 0)
      return rc;
    /* As wireguard-go: a peer with our new public key is removed. */
    for (int s = 0; s < MF_WG_MAX_PEERS; s++)
      if (m->peers[s].live &&
          memcmp(m->peers[s].public_key, m->id.public_key, MF_WG_KEY_LEN) == 0)
        model_drop(m, s);
    return 0;
  case K_LISTEN_PORT:
    if (parse_uint(v, n, 65535, &x) < 0)
      return -EINVAL;
    m->port_set = true;
    m->port = (uint16_t)x;
    return 0;
  case K_FWMARK:
    /* The mark keeps the daemon's own packets out of its TUN (the policy
     * rule that steers the machine's traffic skips it): another mark would
     * loop the tunnel's packets into itself. */
    if (parse_uint(v, n, UINT32_MAX, &x) < 0)
      return -EINVAL;
    return x == m->fwmark ? 0 : -EOPNOTSUPP;
  case K_REPLACE_PEERS:
    if (parse_true(v, n) < 0)
      return -EINVAL;
    for (int s = 0; s < MF_WG_MAX_PEERS; s++)
      if (m->peers[s].live)
        model_drop(m, s);
    return 0;
  default:
    return -EINVAL; /* a peer key before any public_key */
  }
}

static int select_peer(model_t *m, const char *v, size_t n)
{
  uint8_t pk[MF_WG_KEY_LEN];
  int rc = model_materialize(m); /* the section before ends here */
  if (rc < 0 || (rc = parse_key(v, n, pk)) < 0)
    return rc;
  m->in_peers = true;
  m->cur_created = false;
  if (memcmp(pk, m->id.public_key, MF_WG_KEY_LEN) == 0) {
    m->cur = CUR_NONE; /* ourselves: ignored, as wireguard-go does */
    return 0;
  }
  m->cur = model_find(m, pk);
  if (m->cur < 0) {
    m->cur = CUR_PENDING;
    m->cur_created = true;
    memcpy(m->pending_key, pk, MF_WG_KEY_LEN);
  }
  return 0;
}

/* Forgets the section's peer: remove=true, or update_only=true on a peer
 * the section created. */
static void drop_current(model_t *m)
{
  if (m->cur >= 0)
    model_drop(m, m->cur);
  m->cur = CUR_NONE;
}

static int peer_line(model_t *m, int key, const char *v, size_t n)
{
  uint8_t psk[MF_WG_KEY_LEN];
  mf_sockaddr_t ep;
  mf_prefix_t pfx;
  uint64_t x;
  int rc;
  switch (key) {
  case K_UPDATE_ONLY:
    if (parse_true(v, n) < 0)
      return -EINVAL;
    if (m->cur_created)
      drop_current(m);
    return 0;
  case K_REMOVE:
    if (parse_true(v, n) < 0)
      return -EINVAL;
    drop_current(m);
    return 0;
  case K_PROTOCOL_VERSION:
    return n == 1 && v[0] == '1' ? 0 : -EINVAL;
  case K_PRESHARED_KEY:
    if ((rc = parse_key(v, n, psk)) < 0 || (rc = model_materialize(m)) < 0)
      break;
    if (m->cur >= 0) {
      memcpy(m->peers[m->cur].psk, psk, MF_WG_KEY_LEN);
      m->peers[m->cur].psk_set = true;
    }
    break;
  case K_ENDPOINT:
    if ((rc = parse_endpoint(v, n, &ep)) < 0 || (rc = model_materialize(m)) < 0)
      return rc;
    if (m->cur >= 0) {
      m->peers[m->cur].endpoint = ep;
      m->peers[m->cur].endpoint_set = true;
    }
    return 0;
  case K_PERSISTENT_KEEPALIVE_INTERVAL:
    if ((rc = parse_uint(v, n, 65535, &x)) < 0 || (rc = model_materialize(m)) < 0)
      return rc;
    if (m->cur >= 0) {
      m->peers[m->cur].keepalive = (uint16_t)x;
      m->peers[m->cur].keepalive_set = true;
    }
    return 0;
  case K_REPLACE_ALLOWED_IPS:
    if ((rc = parse_true(v, n)) < 0 || (rc = model_materialize(m)) < 0)
      return rc;
    if (m->cur >= 0) {
      m->peers[m->cur].n_allowed = 0;
      m->allowed_changed = true;
    }
    return 0;
  case K_ALLOWED_IP:
    if ((rc = parse_allowed_ip(v, n, &pfx)) < 0 || (rc = model_materialize(m)) < 0)
      return rc;
    return m->cur >= 0 ? model_allow(m, m->cur, &pfx) : 0;
  default:
    return -EINVAL; /* device keys end with the first public_key */
  }
  OPENSSL_cleanse(psk, sizeof(psk));
  return rc;
}

static int read_line(model_t *m, const char *line, size_t n)
{
  const char *eq = memchr(line, '=', n);
  if (!eq)
    return -EPROTO; /* as wireguard-go: not a key=value line */
  const char *v = eq + 1;
  size_t vn = n - (size_t)(v - line);
  int key = key_lookup(line, (size_t)(eq - line));
  if (key == K_PUBLIC_KEY)
    return select_peer(m, v, vn);
  if (key < 0)
    return -EINVAL;
  return m->in_peers ? peer_line(m, key, v, vn) : device_line(m, key, v, vn);
}

static int read_lines(model_t *m, const char *body, size_t len)
{
  const char *p = body, *end = body + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n == 0)
      return -EINVAL; /* an empty line ends a request: framing is wrong */
    int rc = read_line(m, p, n);
    if (rc < 0)
      return rc;
    p += n + 1;
  }
  return model_materialize(m);
}

/* ------------------------------------------------------------ set: prepare */

typedef struct {
  bool key_changed;
  mf_wg_cookie_checker_t checker;                /* when key_changed */
  mf_wg_noise_peer_t noise[MF_WG_MAX_PEERS];     /* fresh peers; all if key_changed */
  mf_wg_cookie_maker_t cookie[MF_WG_MAX_PEERS];  /* fresh peers */
  mf_fib_t *allowed; /* the new table, or NULL when unchanged */
  mf_udp_t sock;     /* the new socket, or fd -1 */
} prep_t;

static void prep_clear(prep_t *pr)
{
  if (pr->allowed)
    mf_fib_destroy(pr->allowed);
  mf_udp_close(&pr->sock);
  OPENSSL_cleanse(pr, sizeof(*pr));
  pr->sock.fd = -1;
}

static mf_fib_t *build_allowed(const model_t *m)
{
  mf_fib_t *fib = mf_fib_create(MF_WG_ALLOWED_MAX_ROUTES, UINT32_MAX);
  for (int s = 0; fib && s < MF_WG_MAX_PEERS; s++)
    for (uint32_t i = 0; m->peers[s].live && i < m->peers[s].n_allowed; i++)
      if (mf_fib_add(fib, &m->peers[s].allowed[i], MF_FIB_SRC_VPN, 0, (uint32_t)s) < 0) {
        mf_fib_destroy(fib);
        return NULL;
      }
  return fib;
}

static int prepare(const mf_wg_device_t *d, const model_t *m, prep_t *pr,
                   uint32_t flags)
{
  pr->sock.fd = -1;
  pr->key_changed =
      CRYPTO_memcmp(m->id.private_key, d->id.private_key, MF_WG_KEY_LEN) != 0;
  if (pr->key_changed && mf_wg_cookie_checker_init(&pr->checker, m->id.public_key) < 0)
    return -ENOMEM;
  for (int s = 0; s < MF_WG_MAX_PEERS; s++) {
    const model_peer_t *q = &m->peers[s];
    if (!q->live || !(q->fresh || pr->key_changed))
      continue;
    bool has_psk = !mf_wg_key_is_zero(q->psk);
    if (mf_wg_noise_peer_init(&pr->noise[s], &m->id, q->public_key,
                              has_psk ? q->psk : NULL) < 0)
      return -EINVAL; /* a low-order public key */
    if (q->fresh && mf_wg_cookie_maker_init(&pr->cookie[s], q->public_key) < 0)
      return -ENOMEM;
  }
  if (flags & MF_WG_UAPI_DRY_RUN)
    return 0; /* what is left can only fail for want of memory or a port */
  if (m->allowed_changed && !(pr->allowed = build_allowed(m)))
    return -ENOMEM;
  /* Port 0 asks for a fresh ephemeral port, as wireguard-go rebinds. */
  if (m->port_set && (m->port == 0 || m->port != d->sock.port)) {
    char err[128];
    int rc = mf_udp_open(&pr->sock, m->port, d->fwmark, err, sizeof(err));
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* ------------------------------------------------------------ set: commit */

static void commit_identity(mf_wg_device_t *d, const model_t *m, prep_t *pr)
{
  d->id = m->id;
  d->cookie = pr->checker;
  /* Sessions made under the old key go stale for sending (the kernel and
   * wireguard-go expire them too); what is in flight still decrypts. */
  for (uint32_t s = 0; s < d->n_peers; s++) {
    mf_wg_peer_t *p = &d->peers[s];
    if (!p->live || !m->peers[s].live || m->peers[s].fresh)
      continue;
    p->noise = pr->noise[s];
    mf_wg_keypairs_expire_sending(&p->kps);
    mf_wg_noise_handshake_clear(&p->hs);
  }
}

/* Brings slot s to the model's state; returns the peer when it is live. */
static mf_wg_peer_t *commit_peer(mf_wg_main_t *wm, mf_wg_device_t *d,
                                 const model_t *m, prep_t *pr, uint32_t s,
                                 bool key_changed)
{
  const model_peer_t *q = &m->peers[s];
  mf_wg_peer_t *p = &d->peers[s];
  if (s < d->n_peers && p->live && (!q->live || q->fresh))
    mf_wg_peer_remove(wm, d, p);
  if (!q->live)
    return NULL;
  if (q->fresh)
    mf_wg_peer_install(d, s, &pr->noise[s], &pr->cookie[s]);
  else if (q->psk_set && !key_changed) /* else noise came whole, psk included */
    memcpy(p->noise.psk, q->psk, MF_WG_KEY_LEN);
  if (q->endpoint_set) {
    p->endpoint = q->endpoint;
    p->has_endpoint = true;
  }
  memcpy(p->allowed_ips, q->allowed, q->n_allowed * sizeof(mf_prefix_t));
  p->n_allowed_ips = q->n_allowed;
  return p;
}

/* After everything is in place: persistent keepalives switched on send
 * their first keepalive at once, and a new endpoint lets packets that
 * waited for one start a handshake (wireguard-go's handlePostConfig). */
static void commit_kick(mf_wg_main_t *wm, mf_wg_device_t *d,
                        const model_peer_t *q, mf_wg_peer_t *p)
{
  uint64_t now = wm->vm ? wm->vm->now_ns : 0;
  if (q->keepalive_set || (q->fresh && q->keepalive)) {
    p->persistent_keepalive = q->keepalive;
    if (mf_wg_timers_set_persistent_keepalive(&p->timers, q->keepalive, now) &
        MF_WG_TIMERS_SEND_KEEPALIVE) {
      mf_wg_peer_send_keepalive(wm, d, p, now);
      return;
    }
  }
  if (q->endpoint_set && p->n_staged)
    mf_wg_peer_want_handshake(wm, d, p, now);
}

static void commit(mf_wg_main_t *wm, mf_wg_device_t *d, const model_t *m,
                   prep_t *pr, uint32_t *effects)
{
  mf_wg_peer_t *live[MF_WG_MAX_PEERS];
  if (pr->sock.fd >= 0) {
    mf_wg_device_replace_socket(d, &pr->sock);
    *effects |= MF_WG_UAPI_SOCKET_REPLACED;
  }
  if (pr->key_changed)
    commit_identity(d, m, pr);
  for (uint32_t s = 0; s < MF_WG_MAX_PEERS; s++)
    live[s] = commit_peer(wm, d, m, pr, s, pr->key_changed);
  if (pr->allowed) {
    mf_wg_device_replace_allowed(d, pr->allowed);
    pr->allowed = NULL;
  }
  for (uint32_t s = 0; s < MF_WG_MAX_PEERS; s++)
    if (live[s])
      commit_kick(wm, d, &m->peers[s], live[s]);
}

int mf_wg_uapi_set(mf_wg_main_t *wm, mf_wg_device_t *d, const char *body,
                   size_t len, uint32_t flags, uint32_t *effects)
{
  *effects = 0;
  model_t *m = malloc(sizeof(*m));
  prep_t *pr = calloc(1, sizeof(*pr));
  int rc = -ENOMEM;
  if (!m || !pr)
    goto out;
  pr->sock.fd = -1;
  model_load(m, d);
  rc = read_lines(m, body, len);
  if (rc == 0)
    rc = prepare(d, m, pr, flags);
  if (rc == 0 && !(flags & MF_WG_UAPI_DRY_RUN))
    commit(wm, d, m, pr, effects);
out:
  if (pr)
    prep_clear(pr);
  if (m)
    OPENSSL_cleanse(m, sizeof(*m));
  free(pr);
  free(m);
  return rc;
}
