#include "wireguard/cookie.h"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "wireguard/wg_crypto.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

/* Only the two handshake messages carry macs; both end mac1 || mac2. */
static bool has_macs(const uint8_t *msg, size_t len)
{
  uint32_t t = mf_wg_msg_type(msg, len);
  return t == MF_WG_MSG_INITIATION || t == MF_WG_MSG_RESPONSE;
}

#define MAC1_OFFSET(len) ((len) - 2 * MF_WG_MAC_LEN)
#define MAC2_OFFSET(len) ((len) - MF_WG_MAC_LEN)

static int keys_for(uint8_t mac1_key[MF_WG_HASH_LEN],
                    uint8_t cookie_key[MF_WG_HASH_LEN],
                    const uint8_t public_key[MF_WG_KEY_LEN])
{
  if (mf_wg_hash(mac1_key, label_mac1, strlen(label_mac1), public_key,
                 MF_WG_KEY_LEN) < 0 ||
      mf_wg_hash(cookie_key, label_cookie, strlen(label_cookie), public_key,
                 MF_WG_KEY_LEN) < 0)
    return -1;
  return 0;
}

int mf_wg_cookie_checker_init(mf_wg_cookie_checker_t *c,
                              const uint8_t local_public[MF_WG_KEY_LEN])
{
  mf_wg_cookie_checker_clear(c);
  return keys_for(c->mac1_key, c->cookie_key, local_public);
}

int mf_wg_cookie_maker_init(mf_wg_cookie_maker_t *m,
                            const uint8_t peer_public[MF_WG_KEY_LEN])
{
  mf_wg_cookie_maker_clear(m);
  return keys_for(m->mac1_key, m->cookie_key, peer_public);
}

void mf_wg_cookie_checker_clear(mf_wg_cookie_checker_t *c)
{
  OPENSSL_cleanse(c, sizeof(*c));
}

void mf_wg_cookie_maker_clear(mf_wg_cookie_maker_t *m)
{
  OPENSSL_cleanse(m, sizeof(*m));
}

/* A_m of section 5.4.7: the source address and port as they arrived. */
static size_t source_bytes(uint8_t out[18], const struct sockaddr *src)
{
  if (!src)
    return 0;
  if (src->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)src;
    memcpy(out, &a->sin_addr, 4);
    memcpy(out + 4, &a->sin_port, 2);
    return 6;
  }
  if (src->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)src;
    memcpy(out, &a->sin6_addr, 16);
    memcpy(out + 16, &a->sin6_port, 2);
    return 18;
  }
  return 0;
}

/* cookie = MAC(R_m, A_m), R_m replaced once it is two minutes old. */
static int cookie_make(mf_wg_cookie_checker_t *c,
                       uint8_t cookie[MF_WG_MAC_LEN],
                       const struct sockaddr *src, uint64_t now)
{
  uint8_t a[18];
  size_t alen = source_bytes(a, src);
  if (alen == 0)
    return -1;
  if (!c->secret_valid || now - c->secret_birth >= MF_WG_COOKIE_SECRET_MAX_AGE) {
    if (RAND_bytes(c->secret, sizeof(c->secret)) != 1) {
      c->secret_valid = false;
      return -1;
    }
    c->secret_birth = now;
    c->secret_valid = true;
  }
  return mf_wg_mac(cookie, c->secret, sizeof(c->secret), a, alen);
}

int mf_wg_cookie_add_macs(mf_wg_cookie_maker_t *m, uint8_t *msg, size_t len,
                          uint64_t now)
{
  if (!has_macs(msg, len))
    return -1;
  uint8_t *mac1 = msg + MAC1_OFFSET(len);
  uint8_t *mac2 = msg + MAC2_OFFSET(len);
  if (mf_wg_mac(mac1, m->mac1_key, sizeof(m->mac1_key), msg,
                MAC1_OFFSET(len)) < 0)
    return -1;
  memcpy(m->last_mac1, mac1, MF_WG_MAC_LEN);
  m->last_mac1_valid = true;
  /* Section 5.4.4: mac2 only with a cookie received in the last 120 s;
   * after that the responder's secret has surely changed. */
  if (m->cookie_valid && now - m->cookie_birth < MF_WG_COOKIE_SECRET_MAX_AGE)
    return mf_wg_mac(mac2, m->cookie, sizeof(m->cookie), msg,
                     MAC2_OFFSET(len));
  memset(mac2, 0, MF_WG_MAC_LEN);
  return 0;
}

mf_wg_cookie_verdict_t mf_wg_cookie_validate(mf_wg_cookie_checker_t *c,
                                             const uint8_t *msg, size_t len,
                                             const struct sockaddr *src,
                                             bool check_mac2, uint64_t now)
{
  mf_wg_cookie_verdict_t v = MF_WG_COOKIE_MAC1_BAD;
  uint8_t mac[MF_WG_MAC_LEN];
  uint8_t cookie[MF_WG_MAC_LEN];
  if (!has_macs(msg, len))
    goto out;
  if (mf_wg_mac(mac, c->mac1_key, sizeof(c->mac1_key), msg,
                MAC1_OFFSET(len)) < 0 ||
      CRYPTO_memcmp(mac, msg + MAC1_OFFSET(len), MF_WG_MAC_LEN) != 0)
    goto out;
  v = MF_WG_COOKIE_MAC1_OK;
  if (!check_mac2)
    goto out;
  if (cookie_make(c, cookie, src, now) < 0 ||
      mf_wg_mac(mac, cookie, sizeof(cookie), msg, MAC2_OFFSET(len)) < 0 ||
      CRYPTO_memcmp(mac, msg + MAC2_OFFSET(len), MF_WG_MAC_LEN) != 0)
    goto out;
  v = MF_WG_COOKIE_MAC2_OK;
out:
  OPENSSL_cleanse(cookie, sizeof(cookie));
  OPENSSL_cleanse(mac, sizeof(mac));
  return v;
}

int mf_wg_cookie_create_reply(mf_wg_cookie_checker_t *c, const uint8_t *msg,
                              size_t len, const struct sockaddr *src,
                              uint64_t now, mf_wg_msg_cookie_t *out)
{
  int rc = -1;
  uint8_t cookie[MF_WG_MAC_LEN];
  mf_wg_msg_cookie_t r;
  if (!has_macs(msg, len))
    goto out;
  r.type = mf_wg_le32(MF_WG_MSG_COOKIE);
  r.receiver = mf_wg_le32(mf_wg_msg_sender(msg));
  /* A random nonce: XChaCha's 24 bytes make collisions negligible
   * without any state. */
  if (RAND_bytes(r.nonce, sizeof(r.nonce)) != 1 ||
      cookie_make(c, cookie, src, now) < 0 ||
      mf_wg_xaead_seal(r.encrypted_cookie, c->cookie_key, r.nonce, cookie,
                       sizeof(cookie), msg + MAC1_OFFSET(len),
                       MF_WG_MAC_LEN) < 0)
    goto out;
  *out = r;
  rc = 0;
out:
  OPENSSL_cleanse(cookie, sizeof(cookie));
  return rc;
}

int mf_wg_cookie_consume_reply(mf_wg_cookie_maker_t *m,
                               const mf_wg_msg_cookie_t *reply, uint64_t now)
{
  int rc = -1;
  uint8_t cookie[MF_WG_MAC_LEN];
  if (!m->last_mac1_valid || mf_wg_le32(reply->type) != MF_WG_MSG_COOKIE)
    goto out;
  if (mf_wg_xaead_open(cookie, m->cookie_key, reply->nonce,
                       reply->encrypted_cookie,
                       sizeof(reply->encrypted_cookie), m->last_mac1,
                       MF_WG_MAC_LEN) < 0)
    goto out;
  memcpy(m->cookie, cookie, sizeof(cookie));
  m->cookie_birth = now;
  m->cookie_valid = true;
  /* One reply per message: a replayed reply finds nothing to answer. */
  m->last_mac1_valid = false;
  rc = 0;
out:
  OPENSSL_cleanse(cookie, sizeof(cookie));
  return rc;
}
