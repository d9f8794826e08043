#include "wireguard/messages.h"

uint32_t mf_wg_msg_type(const uint8_t *p, size_t len)
{
  if (!p || len < 4)
    return 0;
  uint32_t w;
  memcpy(&w, p, 4);
  uint32_t type = mf_wg_le32(w);
  switch (type) {
  case MF_WG_MSG_INITIATION:
    return len == MF_WG_INITIATION_LEN ? type : 0;
  case MF_WG_MSG_RESPONSE:
    return len == MF_WG_RESPONSE_LEN ? type : 0;
  case MF_WG_MSG_COOKIE:
    return len == MF_WG_COOKIE_LEN ? type : 0;
  case MF_WG_MSG_DATA:
    return len >= MF_WG_DATA_MIN_LEN ? type : 0;
  default:
    return 0;
  }
}

int mf_wg_msg_initiation_parse(const uint8_t *p, size_t len,
                               mf_wg_msg_initiation_t *out)
{
  if (mf_wg_msg_type(p, len) != MF_WG_MSG_INITIATION)
    return -1;
  memcpy(out, p, sizeof(*out));
  return 0;
}

int mf_wg_msg_response_parse(const uint8_t *p, size_t len,
                             mf_wg_msg_response_t *out)
{
  if (mf_wg_msg_type(p, len) != MF_WG_MSG_RESPONSE)
    return -1;
  memcpy(out, p, sizeof(*out));
  return 0;
}

int mf_wg_msg_cookie_parse(const uint8_t *p, size_t len,
                           mf_wg_msg_cookie_t *out)
{
  if (mf_wg_msg_type(p, len) != MF_WG_MSG_COOKIE)
    return -1;
  memcpy(out, p, sizeof(*out));
  return 0;
}

int mf_wg_msg_data_parse(const uint8_t *p, size_t len, mf_wg_data_view_t *out)
{
  if (mf_wg_msg_type(p, len) != MF_WG_MSG_DATA)
    return -1;
  mf_wg_msg_data_t h;
  memcpy(&h, p, sizeof(h));
  out->receiver = mf_wg_le32(h.receiver);
  out->counter = mf_wg_le64(h.counter);
  out->payload = p + MF_WG_DATA_HEADER_LEN;
  out->payload_len = len - MF_WG_DATA_HEADER_LEN;
  return 0;
}
