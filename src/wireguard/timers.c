/* Timers of one peer (whitepaper section 6), named for what they do when
 * they fire:
 *
 *   retransmit_handshake  Rekey-Timeout + jitter after an initiation went
 *                         out with no response: send another, or after
 *                         Rekey-Attempt-Time worth of retries give up and
 *                         schedule zero_key_material (6.4).
 *   send_keepalive        Keepalive-Timeout after data arrived with nothing
 *                         sent back: send a keepalive so the peer knows
 *                         the session works (6.5).
 *   new_handshake         Keepalive-Timeout + Rekey-Timeout + jitter after
 *                         data went out with nothing received: the peer
 *                         may have lost the session; start over (6.2).
 *   zero_key_material     3 x Reject-After-Time after the last session was
 *                         derived: wipe all keys, they can only help an
 *                         attacker now (6.3).
 *   persistent_keepalive  the configured interval after any authenticated
 *                         packet: keeps NAT and firewall state alive (6.5).
 */
#include "wireguard/timers.h"

#include <string.h>

static void arm(mf_wg_timers_t *t, mf_wg_timer_id_t id, uint64_t when)
{
  t->deadline[id] = when;
  t->armed |= 1u << id;
}

static void disarm(mf_wg_timers_t *t, mf_wg_timer_id_t id)
{
  t->armed &= ~(1u << id);
}

static bool armed(const mf_wg_timers_t *t, mf_wg_timer_id_t id)
{
  return t->armed & (1u << id);
}

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t jitter(mf_wg_timers_t *t)
{
  uint64_t x = t->jitter_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t->jitter_state = x;
  return (x * 0x2545f4914f6cdd1dull) % MF_WG_REKEY_TIMEOUT_JITTER;
}

void mf_wg_timers_init(mf_wg_timers_t *t, uint64_t seed)
{
  memset(t, 0, sizeof(*t));
  t->jitter_state = seed ? seed : 0x9e3779b97f4a7c15ull; /* never zero */
}

void mf_wg_timers_stop(mf_wg_timers_t *t)
{
  t->armed = 0;
}

void mf_wg_timers_data_sent(mf_wg_timers_t *t, uint64_t now)
{
  if (!armed(t, MF_WG_TIMER_NEW_HANDSHAKE))
    arm(t, MF_WG_TIMER_NEW_HANDSHAKE,
        now + MF_WG_KEEPALIVE_TIMEOUT + MF_WG_REKEY_TIMEOUT + jitter(t));
}

void mf_wg_timers_data_received(mf_wg_timers_t *t, uint64_t now)
{
  /* One keepalive per Keepalive-Timeout however much arrives, and one
   * more after it if data kept coming meanwhile. */
  if (!armed(t, MF_WG_TIMER_SEND_KEEPALIVE))
    arm(t, MF_WG_TIMER_SEND_KEEPALIVE, now + MF_WG_KEEPALIVE_TIMEOUT);
  else
    t->need_another_keepalive = true;
}

void mf_wg_timers_any_authenticated_packet_sent(mf_wg_timers_t *t, uint64_t now)
{
  disarm(t, MF_WG_TIMER_SEND_KEEPALIVE); /* what we sent says it all */
}

void mf_wg_timers_any_authenticated_packet_received(mf_wg_timers_t *t,
                                                    uint64_t now)
{
  disarm(t, MF_WG_TIMER_NEW_HANDSHAKE); /* the peer is there */
}

void mf_wg_timers_any_authenticated_packet_traversal(mf_wg_timers_t *t,
                                                     uint64_t now)
{
  if (t->persistent_keepalive)
    arm(t, MF_WG_TIMER_PERSISTENT_KEEPALIVE, now + t->persistent_keepalive);
}

void mf_wg_timers_handshake_initiated(mf_wg_timers_t *t, uint64_t now)
{
  t->initiation_sent = true;
  t->last_initiation = now;
  arm(t, MF_WG_TIMER_RETRANSMIT_HANDSHAKE,
      now + MF_WG_REKEY_TIMEOUT + jitter(t));
}

void mf_wg_timers_handshake_complete(mf_wg_timers_t *t, uint64_t now)
{
  disarm(t, MF_WG_TIMER_RETRANSMIT_HANDSHAKE);
  t->handshake_retries = 0;
  t->sent_lastminute_handshake = false;
  t->last_handshake = now;
}

void mf_wg_timers_session_derived(mf_wg_timers_t *t, uint64_t now)
{
  arm(t, MF_WG_TIMER_ZERO_KEY_MATERIAL, now + 3 * MF_WG_REJECT_AFTER_TIME);
}

uint32_t mf_wg_timers_set_persistent_keepalive(mf_wg_timers_t *t,
                                               uint16_t seconds, uint64_t now)
{
  bool was_off = t->persistent_keepalive == 0;
  t->persistent_keepalive = (uint64_t)seconds * MF_WG_NS_PER_SEC;
  if (!seconds) {
    disarm(t, MF_WG_TIMER_PERSISTENT_KEEPALIVE);
    return 0;
  }
  return was_off ? MF_WG_TIMERS_SEND_KEEPALIVE : 0;
}

static bool initiation_rate_ok(const mf_wg_timers_t *t, uint64_t now)
{
  return !t->initiation_sent || now - t->last_initiation >= MF_WG_REKEY_TIMEOUT;
}

bool mf_wg_timers_want_handshake(mf_wg_timers_t *t, uint64_t now)
{
  t->handshake_retries = 0;
  return initiation_rate_ok(t, now);
}

bool mf_wg_timers_rekey_after_send(mf_wg_timers_t *t,
                                   const mf_wg_keypair_t *current,
                                   uint64_t now)
{
  if (!current || !current->live || !current->may_send)
    return false;
  uint64_t sent =
      atomic_load_explicit(&current->send_counter, memory_order_relaxed);
  bool stale = sent > MF_WG_REKEY_AFTER_MESSAGES ||
               (current->session.initiator &&
                now - current->birth >= MF_WG_REKEY_AFTER_TIME);
  return stale && mf_wg_timers_want_handshake(t, now);
}

bool mf_wg_timers_rekey_after_receive(mf_wg_timers_t *t,
                                      const mf_wg_keypair_t *current,
                                      uint64_t now)
{
  /* Only the initiator rekeys on time, so without this a responder that
   * only receives would see the session die at Reject-After-Time. */
  if (t->sent_lastminute_handshake || !current || !current->live ||
      !current->session.initiator ||
      now - current->birth < MF_WG_REJECT_AFTER_TIME - MF_WG_KEEPALIVE_TIMEOUT -
                                 MF_WG_REKEY_TIMEOUT)
    return false;
  t->sent_lastminute_handshake = true;
  return mf_wg_timers_want_handshake(t, now);
}

uint64_t mf_wg_timers_next(const mf_wg_timers_t *t)
{
  uint64_t next = UINT64_MAX;
  for (int i = 0; i < MF_WG_TIMER_N; i++)
    if (armed(t, i) && t->deadline[i] < next)
      next = t->deadline[i];
  return next;
}

static uint32_t retransmit_handshake(mf_wg_timers_t *t, uint64_t now)
{
  if (t->handshake_retries >= MF_WG_MAX_HANDSHAKE_RETRIES) {
    /* Section 6.4: stop trying; what waited for the session goes, and
     * the keys go too unless traffic starts a new attempt first. */
    disarm(t, MF_WG_TIMER_SEND_KEEPALIVE);
    if (!armed(t, MF_WG_TIMER_ZERO_KEY_MATERIAL))
      arm(t, MF_WG_TIMER_ZERO_KEY_MATERIAL, now + 3 * MF_WG_REJECT_AFTER_TIME);
    return MF_WG_TIMERS_GIVE_UP;
  }
  t->handshake_retries++;
  return MF_WG_TIMERS_SEND_INITIATION;
}

static uint32_t send_keepalive(mf_wg_timers_t *t, uint64_t now)
{
  if (t->need_another_keepalive) {
    t->need_another_keepalive = false;
    arm(t, MF_WG_TIMER_SEND_KEEPALIVE, now + MF_WG_KEEPALIVE_TIMEOUT);
  }
  return MF_WG_TIMERS_SEND_KEEPALIVE;
}

static uint32_t new_handshake(mf_wg_timers_t *t, uint64_t now)
{
  return mf_wg_timers_want_handshake(t, now) ? MF_WG_TIMERS_SEND_INITIATION : 0;
}

static uint32_t zero_key_material(mf_wg_timers_t *t, uint64_t now)
{
  return MF_WG_TIMERS_ZERO_KEYS;
}

static uint32_t persistent_keepalive(mf_wg_timers_t *t, uint64_t now)
{
  return t->persistent_keepalive ? MF_WG_TIMERS_SEND_KEEPALIVE : 0;
}

uint32_t mf_wg_timers_expire(mf_wg_timers_t *t, uint64_t now)
{
  static uint32_t (*const fire[MF_WG_TIMER_N])(mf_wg_timers_t *, uint64_t) = {
      [MF_WG_TIMER_RETRANSMIT_HANDSHAKE] = retransmit_handshake,
      [MF_WG_TIMER_SEND_KEEPALIVE] = send_keepalive,
      [MF_WG_TIMER_NEW_HANDSHAKE] = new_handshake,
      [MF_WG_TIMER_ZERO_KEY_MATERIAL] = zero_key_material,
      [MF_WG_TIMER_PERSISTENT_KEEPALIVE] = persistent_keepalive,
  };
  uint32_t actions = 0;
  for (int i = 0; i < MF_WG_TIMER_N; i++) {
    if (armed(t, i) && t->deadline[i] <= now) {
      disarm(t, i); /* before firing: a timer may re-arm itself */
      actions |= fire[i](t, now);
    }
  }
  return actions;
}
