#include "wireguard/data.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "wireguard/wg_crypto.h"

static const char *const result_names[] = {
    "ok",
#define _(sym, str) str,
    foreach_mf_wg_data_error
#undef _
};

const char *mf_wg_data_result_name(mf_wg_data_result_t r)
{
  return (unsigned)r < MF_WG_DATA_N_RESULTS ? result_names[r] : "?";
}

int mf_wg_data_ctx_init(mf_wg_data_ctx_t *c)
{
  memset(c, 0, sizeof(*c));
  if (mf_wg_aead_ctx_init(&c->seal, 1) < 0 || mf_wg_aead_ctx_init(&c->open, 0) < 0) {
    mf_wg_data_ctx_fini(c);
    return -1;
  }
  return 0;
}

void mf_wg_data_ctx_fini(mf_wg_data_ctx_t *c)
{
  mf_wg_aead_ctx_fini(&c->seal);
  mf_wg_aead_ctx_fini(&c->open);
}

void mf_wg_data_ctx_forget(mf_wg_data_ctx_t *c)
{
  mf_wg_aead_ctx_forget(&c->seal);
  mf_wg_aead_ctx_forget(&c->open);
}

mf_wg_data_result_t mf_wg_data_encrypt(mf_wg_data_ctx_t *c,
                                       const mf_wg_keypair_t *kp,
                                       uint64_t counter, const uint8_t *plain,
                                       size_t len, uint8_t *out)
{
  if (!kp->live || !kp->may_send || counter >= MF_WG_REJECT_AFTER_MESSAGES)
    return MF_WG_DATA_E_EXPIRED;
  /* Seal first: in place, the header's bytes are not the plaintext's. */
  if (mf_wg_aead_ctx_seal(&c->seal, out + MF_WG_DATA_HEADER_LEN,
                          kp->session.send_key, counter, plain, len) < 0)
    return MF_WG_DATA_E_CRYPTO;
  mf_wg_msg_data_t h = {
      .type = mf_wg_le32(MF_WG_MSG_DATA),
      .receiver = mf_wg_le32(kp->session.remote_index),
      .counter = mf_wg_le64(counter),
  };
  memcpy(out, &h, sizeof(h));
  return MF_WG_DATA_OK;
}

static mf_wg_data_result_t decrypt_one(mf_wg_data_ctx_t *c,
                                      mf_wg_keypair_t *kp, const uint8_t *msg,
                                      size_t len, uint8_t *out,
                                      size_t *plain_len, uint64_t *counter)
{
  mf_wg_data_view_t v;
  if (len < MF_WG_DATA_MIN_LEN)
    return MF_WG_DATA_E_SHORT;
  if (mf_wg_msg_data_parse(msg, len, &v) < 0)
    return MF_WG_DATA_E_TYPE;
  *counter = v.counter;
  if (!kp->live || v.receiver != kp->session.local_index)
    return MF_WG_DATA_E_INDEX;
  /* Cheap refusal before any cipher work (section 5.4.6). */
  if (v.counter >= MF_WG_REJECT_AFTER_MESSAGES)
    return MF_WG_DATA_E_EXPIRED;
  if (mf_wg_aead_ctx_open(&c->open, out, kp->session.recv_key, v.counter,
                          v.payload, v.payload_len) < 0)
    return MF_WG_DATA_E_AUTH;
  /* Only an authentic counter may move the window. */
  if (!mf_wg_replay_check(&kp->replay, v.counter)) {
    OPENSSL_cleanse(out, v.payload_len - MF_WG_TAG_LEN);
    return MF_WG_DATA_E_REPLAY;
  }
  *plain_len = v.payload_len - MF_WG_TAG_LEN;
  return MF_WG_DATA_OK;
}

mf_wg_data_result_t mf_wg_data_decrypt(mf_wg_data_ctx_t *c,
                                       mf_wg_keypair_t *kp, const uint8_t *msg,
                                       size_t len, uint8_t *out,
                                       size_t *plain_len)
{
  uint64_t counter;
  return decrypt_one(c, kp, msg, len, out, plain_len, &counter);
}

uint32_t mf_wg_data_encrypt_vector(mf_wg_data_ctx_t *c, mf_wg_data_op_t *ops,
                                   uint32_t n)
{
  uint32_t ok = 0;
  for (uint32_t i = 0; i < n; i++) {
    mf_wg_data_op_t *op = &ops[i];
    op->result = mf_wg_data_encrypt(c, op->kp, op->counter, op->in, op->len,
                                    op->out);
    op->out_len = op->result == MF_WG_DATA_OK
                      ? (uint32_t)mf_wg_data_msg_len(op->len)
                      : 0;
    ok += op->result == MF_WG_DATA_OK;
  }
  return ok;
}

uint32_t mf_wg_data_decrypt_vector(mf_wg_data_ctx_t *c, mf_wg_data_op_t *ops,
                                   uint32_t n)
{
  uint32_t ok = 0;
  for (uint32_t i = 0; i < n; i++) {
    mf_wg_data_op_t *op = &ops[i];
    size_t plain = 0;
    op->counter = 0;
    op->result = decrypt_one(c, op->kp, op->in, op->len, op->out, &plain,
                             &op->counter);
    op->out_len = (uint32_t)plain;
    ok += op->result == MF_WG_DATA_OK;
  }
  return ok;
}
