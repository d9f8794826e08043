/* WireGuard's handshake: the Noise Protocol Framework's IK pattern with
 * the psk2 modifier (a pre-shared key mixed in after the second message's
 * last token), instantiated as
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, with the whitepaper's additions
 * (section 5.4): an identifier and the responder's key hashed into the
 * initial state, a TAI64N timestamp as the first payload, and the
 * ephemeral key mixed into the chaining key as psk patterns require.
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss     initiation: ephemeral, static, timestamp
 *   <- e, ee, se, psk   response: ephemeral, empty payload
 *
 * Notation as in section 5.4: C is the chaining key, H the hash, k a
 * message key; the steps below carry the token they implement as a label.
 *
 *   C = HASH(CONSTRUCTION); H = HASH(C || IDENTIFIER); H = HASH(H || S_r)
 *   e:   C = KDF1(C, E_i); H = HASH(H || E_i)
 *   es:  (C, k) = KDF2(C, DH(E_i, S_r)); static = AEAD(k, 0, S_i, H)
 *        H = HASH(H || static)
 *   ss:  (C, k) = KDF2(C, DH(S_i, S_r)); stamp = AEAD(k, 0, TAI64N, H)
 *        H = HASH(H || stamp)
 *   e:   C = KDF1(C, E_r); H = HASH(H || E_r)
 *   ee:  C = KDF1(C, DH(E_r, E_i))
 *   se:  C = KDF1(C, DH(E_r, S_i))
 *   psk: (C, t, k) = KDF3(C, Q); H = HASH(H || t)
 *        empty = AEAD(k, 0, "", H); H = HASH(H || empty)
 *   keys: (T_i_send = T_r_recv, T_i_recv = T_r_send) = KDF2(C, "")
 *
 * Each function works on a local `struct secrets`, commits results only
 * once everything succeeded, and wipes the struct at its one exit. */
#include "wireguard/noise.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>

#include "wireguard/keys.h"
#include "wireguard/wg_crypto.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* C0 = HASH(CONSTRUCTION) and H0 = HASH(C0 || IDENTIFIER) never change. */
static uint8_t initial_chaining_key[MF_WG_HASH_LEN];
static uint8_t initial_hash[MF_WG_HASH_LEN];
static int initial_ok;
static pthread_once_t initial_once = PTHREAD_ONCE_INIT;

static void initial_compute(void)
{
  initial_ok =
      mf_wg_hash(initial_chaining_key, construction, strlen(construction),
                 NULL, 0) == 0 &&
      mf_wg_hash(initial_hash, initial_chaining_key, MF_WG_HASH_LEN,
                 identifier, strlen(identifier)) == 0;
}

/* C = C0; H = HASH(H0 || responder's static public key). */
static int handshake_start(uint8_t ck[MF_WG_HASH_LEN], uint8_t h[MF_WG_HASH_LEN],
                           const uint8_t responder_public[MF_WG_KEY_LEN])
{
  pthread_once(&initial_once, initial_compute);
  if (!initial_ok)
    return -1;
  memcpy(ck, initial_chaining_key, MF_WG_HASH_LEN);
  return mf_wg_hash(h, initial_hash, MF_WG_HASH_LEN, responder_public,
                    MF_WG_KEY_LEN);
}

/* H = HASH(H || data) */
static int mix_hash(uint8_t h[MF_WG_HASH_LEN], const void *data, size_t len)
{
  return mf_wg_hash(h, h, MF_WG_HASH_LEN, data, len);
}

/* The "e" token with a psk pattern: the ephemeral public key goes into
 * both the hash and, unlike plain Noise, the chaining key. */
static int mix_ephemeral(uint8_t ck[MF_WG_HASH_LEN], uint8_t h[MF_WG_HASH_LEN],
                         const uint8_t ephemeral_public[MF_WG_KEY_LEN])
{
  if (mf_wg_kdf(ck, NULL, NULL, ck, ephemeral_public, MF_WG_KEY_LEN) < 0)
    return -1;
  return mix_hash(h, ephemeral_public, MF_WG_KEY_LEN);
}

/* C = KDF1(C, DH(priv, pub)) or (C, k) = KDF2(...) when k is not NULL;
 * priv_pub is priv's own public key, which makes the DH cheaper. */
static int mix_dh(uint8_t ck[MF_WG_HASH_LEN], uint8_t *k,
                  const uint8_t priv[MF_WG_KEY_LEN],
                  const uint8_t priv_pub[MF_WG_KEY_LEN],
                  const uint8_t pub[MF_WG_KEY_LEN])
{
  uint8_t shared[MF_WG_KEY_LEN];
  int rc = -1;
  if (mf_wg_dh(shared, priv, priv_pub, pub) == 0 &&
      mf_wg_kdf(ck, k, NULL, ck, shared, sizeof(shared)) == 0)
    rc = 0;
  OPENSSL_cleanse(shared, sizeof(shared));
  return rc;
}

/* A caller-chosen ephemeral key, or a fresh one. */
static int ephemeral_make(uint8_t priv[MF_WG_KEY_LEN],
                          uint8_t pub[MF_WG_KEY_LEN], const uint8_t *chosen)
{
  if (chosen)
    memcpy(priv, chosen, MF_WG_KEY_LEN);
  else if (mf_wg_key_generate(priv) < 0)
    return -1;
  return mf_wg_key_public(pub, priv);
}

int mf_wg_identity_init(mf_wg_identity_t *id,
                        const uint8_t private_key[MF_WG_KEY_LEN])
{
  mf_wg_identity_clear(id);
  if (mf_wg_key_is_zero(private_key) ||
      mf_wg_key_public(id->public_key, private_key) < 0)
    return -1;
  memcpy(id->private_key, private_key, MF_WG_KEY_LEN);
  return 0;
}

void mf_wg_identity_clear(mf_wg_identity_t *id)
{
  OPENSSL_cleanse(id, sizeof(*id));
}

int mf_wg_noise_peer_init(mf_wg_noise_peer_t *peer, const mf_wg_identity_t *id,
                          const uint8_t public_key[MF_WG_KEY_LEN],
                          const uint8_t *psk)
{
  mf_wg_noise_peer_clear(peer);
  memcpy(peer->public_key, public_key, MF_WG_KEY_LEN);
  if (psk)
    memcpy(peer->psk, psk, MF_WG_KEY_LEN);
  /* ss is the same for every handshake with this peer (whitepaper 5.4.2
   * note); computing it once also catches a low-order peer key early. */
  int rc = mf_wg_dh(peer->static_static, id->private_key, id->public_key,
                    public_key);
  if (rc < 0)
    mf_wg_noise_peer_clear(peer);
  return rc;
}

void mf_wg_noise_peer_clear(mf_wg_noise_peer_t *peer)
{
  OPENSSL_cleanse(peer, sizeof(*peer));
}

void mf_wg_noise_handshake_clear(mf_wg_handshake_t *hs)
{
  OPENSSL_cleanse(hs, sizeof(*hs));
}

void mf_wg_noise_session_clear(mf_wg_session_t *s)
{
  OPENSSL_cleanse(s, sizeof(*s));
}

void mf_wg_noise_initiation_clear(mf_wg_initiation_t *in)
{
  OPENSSL_cleanse(in, sizeof(*in));
}

/* Section 5.4.2. */
int mf_wg_noise_create_initiation(mf_wg_handshake_t *hs,
                                  const mf_wg_identity_t *id,
                                  const mf_wg_noise_peer_t *peer,
                                  uint32_t local_index,
                                  const uint8_t timestamp[MF_WG_TIMESTAMP_LEN],
                                  const uint8_t *ephemeral_private,
                                  mf_wg_msg_initiation_t *out)
{
  int rc = -1;
  struct secrets {
    uint8_t ck[MF_WG_HASH_LEN], h[MF_WG_HASH_LEN], k[MF_WG_KEY_LEN];
    uint8_t e_priv[MF_WG_KEY_LEN];
  } s;
  mf_wg_msg_initiation_t m;
  memset(&m, 0, sizeof(m));
  m.type = mf_wg_le32(MF_WG_MSG_INITIATION);
  m.sender = mf_wg_le32(local_index);

  if (handshake_start(s.ck, s.h, peer->public_key) < 0)
    goto out;
  /* e */
  if (ephemeral_make(s.e_priv, m.ephemeral, ephemeral_private) < 0 ||
      mix_ephemeral(s.ck, s.h, m.ephemeral) < 0)
    goto out;
  /* es */
  if (mix_dh(s.ck, s.k, s.e_priv, m.ephemeral, peer->public_key) < 0)
    goto out;
  /* s */
  if (mf_wg_aead_seal(NULL, m.encrypted_static, s.k, 0, id->public_key,
                      MF_WG_KEY_LEN, s.h, MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, m.encrypted_static, sizeof(m.encrypted_static)) < 0)
    goto out;
  /* ss: precomputed per peer */
  if (mf_wg_kdf(s.ck, s.k, NULL, s.ck, peer->static_static,
                MF_WG_KEY_LEN) < 0)
    goto out;
  /* {t} */
  if (mf_wg_aead_seal(NULL, m.encrypted_timestamp, s.k, 0, timestamp,
                      MF_WG_TIMESTAMP_LEN, s.h, MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, m.encrypted_timestamp, sizeof(m.encrypted_timestamp)) < 0)
    goto out;

  hs->pending = true;
  hs->local_index = local_index;
  memcpy(hs->hash, s.h, MF_WG_HASH_LEN);
  memcpy(hs->chaining_key, s.ck, MF_WG_HASH_LEN);
  memcpy(hs->ephemeral_private, s.e_priv, MF_WG_KEY_LEN);
  memcpy(hs->ephemeral_public, m.ephemeral, MF_WG_KEY_LEN);
  *out = m;
  rc = 0;
out:
  OPENSSL_cleanse(&s, sizeof(s));
  return rc;
}

/* Section 5.4.2, the responder's side. */
int mf_wg_noise_consume_initiation(const mf_wg_identity_t *id,
                                   const mf_wg_msg_initiation_t *msg,
                                   mf_wg_initiation_t *out)
{
  int rc = -1;
  struct secrets {
    uint8_t ck[MF_WG_HASH_LEN], h[MF_WG_HASH_LEN], k[MF_WG_KEY_LEN];
    uint8_t remote_static[MF_WG_KEY_LEN];
    uint8_t timestamp[MF_WG_TIMESTAMP_LEN];
  } s;

  if (mf_wg_le32(msg->type) != MF_WG_MSG_INITIATION ||
      handshake_start(s.ck, s.h, id->public_key) < 0)
    goto out;
  /* e */
  if (mix_ephemeral(s.ck, s.h, msg->ephemeral) < 0)
    goto out;
  /* es */
  if (mix_dh(s.ck, s.k, id->private_key, id->public_key, msg->ephemeral) < 0)
    goto out;
  /* s */
  if (mf_wg_aead_open(NULL, s.remote_static, s.k, 0, msg->encrypted_static,
                      sizeof(msg->encrypted_static), s.h, MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, msg->encrypted_static, sizeof(msg->encrypted_static)) < 0)
    goto out;
  /* ss */
  if (mix_dh(s.ck, s.k, id->private_key, id->public_key, s.remote_static) < 0)
    goto out;
  /* {t} */
  if (mf_wg_aead_open(NULL, s.timestamp, s.k, 0, msg->encrypted_timestamp,
                      sizeof(msg->encrypted_timestamp), s.h,
                      MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, msg->encrypted_timestamp,
               sizeof(msg->encrypted_timestamp)) < 0)
    goto out;

  out->remote_index = mf_wg_le32(msg->sender);
  memcpy(out->remote_static, s.remote_static, MF_WG_KEY_LEN);
  memcpy(out->remote_ephemeral, msg->ephemeral, MF_WG_KEY_LEN);
  memcpy(out->timestamp, s.timestamp, MF_WG_TIMESTAMP_LEN);
  memcpy(out->hash, s.h, MF_WG_HASH_LEN);
  memcpy(out->chaining_key, s.ck, MF_WG_HASH_LEN);
  rc = 0;
out:
  OPENSSL_cleanse(&s, sizeof(s));
  return rc;
}

/* Section 5.4.5: the first key is the initiator's sending key. */
static int derive_session(mf_wg_session_t *out, const uint8_t ck[MF_WG_HASH_LEN],
                          bool initiator, uint32_t local_index,
                          uint32_t remote_index)
{
  uint8_t t1[MF_WG_KEY_LEN], t2[MF_WG_KEY_LEN];
  int rc = -1;
  if (mf_wg_kdf(t1, t2, NULL, ck, NULL, 0) == 0) {
    memcpy(out->send_key, initiator ? t1 : t2, MF_WG_KEY_LEN);
    memcpy(out->recv_key, initiator ? t2 : t1, MF_WG_KEY_LEN);
    out->local_index = local_index;
    out->remote_index = remote_index;
    out->initiator = initiator;
    rc = 0;
  }
  OPENSSL_cleanse(t1, sizeof(t1));
  OPENSSL_cleanse(t2, sizeof(t2));
  return rc;
}

/* Section 5.4.3. */
int mf_wg_noise_create_response(mf_wg_initiation_t *in,
                                const mf_wg_noise_peer_t *peer,
                                uint32_t local_index,
                                const uint8_t *ephemeral_private,
                                mf_wg_msg_response_t *out,
                                mf_wg_session_t *session)
{
  int rc = -1;
  struct secrets {
    uint8_t ck[MF_WG_HASH_LEN], h[MF_WG_HASH_LEN], k[MF_WG_KEY_LEN];
    uint8_t tau[MF_WG_HASH_LEN];
    uint8_t e_priv[MF_WG_KEY_LEN];
    mf_wg_session_t session;
  } s;
  mf_wg_msg_response_t m;
  memset(&m, 0, sizeof(m));
  m.type = mf_wg_le32(MF_WG_MSG_RESPONSE);
  m.sender = mf_wg_le32(local_index);
  m.receiver = mf_wg_le32(in->remote_index);

  /* The caller looked the peer up by this key; a mismatch is its bug, and
   * answering would bind the session to the wrong psk. */
  if (CRYPTO_memcmp(peer->public_key, in->remote_static, MF_WG_KEY_LEN) != 0)
    goto out;
  memcpy(s.ck, in->chaining_key, MF_WG_HASH_LEN);
  memcpy(s.h, in->hash, MF_WG_HASH_LEN);
  /* e */
  if (ephemeral_make(s.e_priv, m.ephemeral, ephemeral_private) < 0 ||
      mix_ephemeral(s.ck, s.h, m.ephemeral) < 0)
    goto out;
  /* ee */
  if (mix_dh(s.ck, NULL, s.e_priv, m.ephemeral, in->remote_ephemeral) < 0)
    goto out;
  /* se */
  if (mix_dh(s.ck, NULL, s.e_priv, m.ephemeral, in->remote_static) < 0)
    goto out;
  /* psk */
  if (mf_wg_kdf(s.ck, s.tau, s.k, s.ck, peer->psk, MF_WG_KEY_LEN) < 0 ||
      mix_hash(s.h, s.tau, sizeof(s.tau)) < 0)
    goto out;
  /* {} */
  if (mf_wg_aead_seal(NULL, m.encrypted_nothing, s.k, 0, NULL, 0, s.h,
                      MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, m.encrypted_nothing, sizeof(m.encrypted_nothing)) < 0)
    goto out;
  if (derive_session(&s.session, s.ck, false, local_index,
                     in->remote_index) < 0)
    goto out;

  *session = s.session;
  *out = m;
  rc = 0;
out:
  OPENSSL_cleanse(&s, sizeof(s));
  if (rc == 0)
    mf_wg_noise_initiation_clear(in);
  return rc;
}

/* Section 5.4.3, the initiator's side. */
int mf_wg_noise_consume_response(mf_wg_handshake_t *hs,
                                 const mf_wg_identity_t *id,
                                 const mf_wg_noise_peer_t *peer,
                                 const mf_wg_msg_response_t *msg,
                                 mf_wg_session_t *out)
{
  int rc = -1;
  struct secrets {
    uint8_t ck[MF_WG_HASH_LEN], h[MF_WG_HASH_LEN], k[MF_WG_KEY_LEN];
    uint8_t tau[MF_WG_HASH_LEN];
    uint8_t empty[1];
    mf_wg_session_t session;
  } s;

  if (!hs->pending || mf_wg_le32(msg->type) != MF_WG_MSG_RESPONSE ||
      mf_wg_le32(msg->receiver) != hs->local_index)
    goto out;
  memcpy(s.ck, hs->chaining_key, MF_WG_HASH_LEN);
  memcpy(s.h, hs->hash, MF_WG_HASH_LEN);
  /* e */
  if (mix_ephemeral(s.ck, s.h, msg->ephemeral) < 0)
    goto out;
  /* ee */
  if (mix_dh(s.ck, NULL, hs->ephemeral_private, hs->ephemeral_public,
             msg->ephemeral) < 0)
    goto out;
  /* se */
  if (mix_dh(s.ck, NULL, id->private_key, id->public_key, msg->ephemeral) < 0)
    goto out;
  /* psk */
  if (mf_wg_kdf(s.ck, s.tau, s.k, s.ck, peer->psk, MF_WG_KEY_LEN) < 0 ||
      mix_hash(s.h, s.tau, sizeof(s.tau)) < 0)
    goto out;
  /* {} */
  if (mf_wg_aead_open(NULL, s.empty, s.k, 0, msg->encrypted_nothing,
                      sizeof(msg->encrypted_nothing), s.h,
                      MF_WG_HASH_LEN) < 0 ||
      mix_hash(s.h, msg->encrypted_nothing, sizeof(msg->encrypted_nothing)) < 0)
    goto out;
  if (derive_session(&s.session, s.ck, true, hs->local_index,
                     mf_wg_le32(msg->sender)) < 0)
    goto out;

  *out = s.session;
  mf_wg_noise_handshake_clear(hs);
  rc = 0;
out:
  OPENSSL_cleanse(&s, sizeof(s));
  return rc;
}
