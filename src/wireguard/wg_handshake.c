/* The control path of WireGuard devices: sending initiations, answering
 * and consuming handshake messages and cookie replies (whitepaper 5.4,
 * 5.4.7), and running the peers' timers (section 6). Handshake messages are
 * few; they are handled one at a time and sent with plain sendto(). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/graph_rt.h"
#include "core/log.h"
#include "wireguard/tai64n.h"
#include "wireguard/wg_device.h"

static uint64_t wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_to(mf_wg_device_t *d, const mf_sockaddr_t *to, const void *msg,
                    size_t len)
{
  if (sendto(d->sock.fd, msg, len, MSG_DONTWAIT, &to->sa,
             sizeof(struct sockaddr_in6)) < 0)
    mf_log_debug("wireguard %s: send: %m", d->name);
}

static void send_initiation(mf_wg_device_t *d, mf_wg_peer_t *p, uint64_t now)
{
  if (!p->has_endpoint)
    return;
  mf_wg_msg_initiation_t m;
  uint8_t ts[MF_WG_TIMESTAMP_LEN];
  mf_wg_tai64n_now(ts);
  if (mf_wg_noise_create_initiation(&p->hs, &d->id, &p->noise,
                                    mf_wg_peer_new_index(p), ts, NULL, &m) < 0)
    return;
  mf_wg_cookie_add_macs(&p->cookie, (uint8_t *)&m, sizeof(m), now);
  send_to(d, &p->endpoint, &m, sizeof(m));
  p->tx_bytes += sizeof(m); /* wg(8) counts every byte to the peer */
  mf_wg_timers_handshake_initiated(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_sent(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_traversal(&p->timers, now);
}

void mf_wg_peer_want_handshake(mf_wg_main_t *wm, mf_wg_device_t *d,
                               mf_wg_peer_t *p, uint64_t now)
{
  if (mf_wg_timers_want_handshake(&p->timers, now))
    send_initiation(d, p, now);
}

void mf_wg_peer_send_keepalive(mf_wg_main_t *wm, mf_wg_device_t *d,
                               mf_wg_peer_t *p, uint64_t now)
{
  mf_wg_keypair_t *kp = mf_wg_keypairs_for_send(&p->kps, now);
  uint64_t counter;
  if (!kp || !p->has_endpoint || mf_wg_keypair_reserve(kp, 1, &counter) < 0) {
    mf_wg_peer_want_handshake(wm, d, p, now);
    return;
  }
  uint8_t msg[MF_WG_DATA_MIN_LEN];
  if (mf_wg_data_encrypt(&wm->data, kp, counter, msg, 0, msg) != MF_WG_DATA_OK)
    return;
  send_to(d, &p->endpoint, msg, sizeof(msg));
  p->tx_bytes += sizeof(msg);
  mf_wg_timers_any_authenticated_packet_sent(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_traversal(&p->timers, now);
}

static mf_wg_peer_t *peer_by_static(mf_wg_device_t *d, const uint8_t *pub)
{
  for (uint32_t i = 0; i < d->n_peers; i++)
    if (CRYPTO_memcmp(d->peers[i].noise.public_key, pub, MF_WG_KEY_LEN) == 0)
      return &d->peers[i];
  return NULL;
}

static void session_started(mf_wg_main_t *wm, mf_wg_peer_t *p,
                            mf_wg_session_t *s, const mf_sockaddr_t *from,
                            uint64_t now)
{
  mf_wg_dropped_t dropped;
  p->endpoint = *from;
  p->has_endpoint = true;
  mf_wg_keypairs_begin_session(&p->kps, s, now, &dropped);
  mf_wg_timers_session_derived(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_received(&p->timers, now);
  mf_wg_timers_any_authenticated_packet_traversal(&p->timers, now);
  p->last_handshake_wall_ns = wall_ns();
}

static mf_wg_hs_verdict_t on_initiation(mf_wg_main_t *wm, mf_wg_device_t *d,
                                        const uint8_t *msg, uint32_t len,
                                        const mf_sockaddr_t *from, uint64_t now)
{
  mf_wg_msg_initiation_t m;
  mf_wg_initiation_t in;
  mf_wg_msg_response_t resp;
  mf_wg_session_t s;
  if (mf_wg_msg_initiation_parse(msg, len, &m) < 0 ||
      mf_wg_noise_consume_initiation(&d->id, &m, &in) < 0)
    return MF_WG_HS_INVALID;
  mf_wg_peer_t *p = peer_by_static(d, in.remote_static);
  /* Section 5.1: a replayed initiation (old timestamp) and a flood of
   * fresh ones are both refused before any state changes. */
  mf_wg_hs_verdict_t v = MF_WG_HS_ACCEPTED;
  if (!p)
    v = MF_WG_HS_UNKNOWN_PEER;
  else if (!mf_wg_tai64n_after(in.timestamp, p->last_timestamp))
    v = MF_WG_HS_REPLAY;
  else if (p->last_initiation_rx &&
           now - p->last_initiation_rx < MF_WG_NS_PER_SEC / MF_WG_INITIATIONS_PER_SEC)
    v = MF_WG_HS_FLOOD;
  if (v != MF_WG_HS_ACCEPTED) {
    mf_wg_noise_initiation_clear(&in);
    return v;
  }
  memcpy(p->last_timestamp, in.timestamp, sizeof(p->last_timestamp));
  p->last_initiation_rx = now;
  if (mf_wg_noise_create_response(&in, &p->noise, mf_wg_peer_new_index(p), NULL,
                                  &resp, &s) < 0)
    return MF_WG_HS_INVALID;
  mf_wg_cookie_add_macs(&p->cookie, (uint8_t *)&resp, sizeof(resp), now);
  send_to(d, from, &resp, sizeof(resp));
  p->tx_bytes += sizeof(resp);
  p->rx_bytes += len;
  session_started(wm, p, &s, from, now);
  mf_wg_timers_any_authenticated_packet_sent(&p->timers, now);
  return MF_WG_HS_ACCEPTED;
}

static mf_wg_hs_verdict_t on_response(mf_wg_main_t *wm, mf_wg_device_t *d,
                                      const uint8_t *msg, uint32_t len,
                                      const mf_sockaddr_t *from, uint64_t now)
{
  mf_wg_msg_response_t m;
  mf_wg_session_t s;
  if (mf_wg_msg_response_parse(msg, len, &m) < 0)
    return MF_WG_HS_INVALID;
  uint32_t receiver = mf_wg_le32(m.receiver);
  mf_wg_peer_t *p = mf_wg_peer_by_index(d, receiver);
  if (!p || !p->hs.pending || p->hs.local_index != receiver)
    return MF_WG_HS_UNEXPECTED;
  if (mf_wg_noise_consume_response(&p->hs, &d->id, &p->noise, &m, &s) < 0)
    return MF_WG_HS_INVALID;
  p->rx_bytes += len;
  session_started(wm, p, &s, from, now);
  mf_wg_timers_handshake_complete(&p->timers, now);
  /* The responder may send only once it has heard from us under the new
   * keys: staged data does that, else a keepalive (section 6.5). */
  if (p->n_staged)
    mf_wg_peer_flush_staged(wm, p);
  else
    mf_wg_peer_send_keepalive(wm, d, p, now);
  return MF_WG_HS_ACCEPTED;
}

static mf_wg_hs_verdict_t on_cookie(mf_wg_device_t *d, const uint8_t *msg,
                                    uint32_t len, uint64_t now)
{
  mf_wg_msg_cookie_t m;
  if (mf_wg_msg_cookie_parse(msg, len, &m) < 0)
    return MF_WG_HS_INVALID;
  mf_wg_peer_t *p = mf_wg_peer_by_index(d, mf_wg_le32(m.receiver));
  if (!p)
    return MF_WG_HS_UNEXPECTED;
  /* A reply that answers nothing we sent does not open. */
  return mf_wg_cookie_consume_reply(&p->cookie, &m, now) == 0 ? MF_WG_HS_ACCEPTED
                                                              : MF_WG_HS_UNEXPECTED;
}

mf_wg_hs_verdict_t mf_wg_handle_handshake(mf_wg_main_t *wm, mf_wg_device_t *d,
                                          const uint8_t *msg, uint32_t len,
                                          const mf_sockaddr_t *from, uint64_t now)
{
  uint32_t type = mf_wg_msg_type(msg, len);
  if (type == MF_WG_MSG_COOKIE)
    return on_cookie(d, msg, len, now);
  mf_wg_cookie_verdict_t v =
      mf_wg_cookie_validate(&d->cookie, msg, len, &from->sa, d->under_load, now);
  if (v == MF_WG_COOKIE_MAC1_BAD)
    return MF_WG_HS_BAD_MAC1;
  if (d->under_load && v != MF_WG_COOKIE_MAC2_OK) {
    mf_wg_msg_cookie_t reply;
    if (mf_wg_cookie_create_reply(&d->cookie, msg, len, &from->sa, now, &reply) == 0)
      send_to(d, from, &reply, sizeof(reply));
    return MF_WG_HS_COOKIE_SENT;
  }
  if (type == MF_WG_MSG_INITIATION)
    return on_initiation(wm, d, msg, len, from, now);
  if (type == MF_WG_MSG_RESPONSE)
    return on_response(wm, d, msg, len, from, now);
  return MF_WG_HS_INVALID;
}

static void drop_staged(mf_wg_main_t *wm, mf_wg_peer_t *p)
{
  uint32_t bi[MF_WG_STAGED_MAX];
  uint32_t n = mf_wg_peer_take_staged(p, bi);
  mf_wg_output_count_given_up(wm->vm, n);
  mf_buffer_free(&wm->vm->pool, bi, n);
}

static void peer_tick(mf_wg_main_t *wm, mf_wg_device_t *d, mf_wg_peer_t *p,
                      uint64_t now)
{
  if (mf_wg_timers_next(&p->timers) > now)
    return;
  uint32_t act = mf_wg_timers_expire(&p->timers, now);
  if (act & MF_WG_TIMERS_SEND_INITIATION)
    send_initiation(d, p, now);
  if (act & MF_WG_TIMERS_SEND_KEEPALIVE)
    mf_wg_peer_send_keepalive(wm, d, p, now);
  if (act & MF_WG_TIMERS_GIVE_UP)
    drop_staged(wm, p);
  if (act & MF_WG_TIMERS_ZERO_KEYS) {
    mf_wg_dropped_t dropped;
    mf_wg_keypairs_clear(&p->kps, &dropped);
    mf_wg_noise_handshake_clear(&p->hs);
    /* The worker's cipher contexts may still hold one of those keys. */
    mf_wg_data_ctx_forget(&wm->data);
  }
}

void mf_wg_main_tick(mf_wg_main_t *wm, uint64_t now)
{
  for (uint32_t i = 0; i < wm->n_devs; i++)
    for (uint32_t k = 0; k < wm->devs[i]->n_peers; k++)
      peer_tick(wm, wm->devs[i], &wm->devs[i]->peers[k], now);
}

void mf_wg_main_start(mf_wg_main_t *wm, uint64_t now)
{
  for (uint32_t i = 0; i < wm->n_devs; i++)
    for (uint32_t k = 0; k < wm->devs[i]->n_peers; k++) {
      mf_wg_peer_t *p = &wm->devs[i]->peers[k];
      if (p->persistent_keepalive &&
          (mf_wg_timers_set_persistent_keepalive(&p->timers, p->persistent_keepalive, now) &
           MF_WG_TIMERS_SEND_KEEPALIVE))
        mf_wg_peer_send_keepalive(wm, wm->devs[i], p, now);
    }
}
