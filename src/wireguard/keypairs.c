#include "wireguard/keypairs.h"

#include <openssl/crypto.h>
#include <string.h>

static void dropped_add(mf_wg_dropped_t *d, uint32_t index)
{
  if (d && d->n < 3)
    d->index[d->n++] = index;
}

/* Wipes *slotp's keypair, frees its slot and clears the pointer. */
static void drop(mf_wg_keypair_t **slotp, mf_wg_dropped_t *dropped)
{
  mf_wg_keypair_t *kp = *slotp;
  *slotp = NULL;
  if (!kp || !kp->live)
    return;
  dropped_add(dropped, kp->session.local_index);
  OPENSSL_cleanse(kp, sizeof(*kp));
  kp->live = false;
}

void mf_wg_keypairs_init(mf_wg_keypairs_t *kps)
{
  memset(kps, 0, sizeof(*kps));
}

void mf_wg_keypairs_clear(mf_wg_keypairs_t *kps, mf_wg_dropped_t *dropped)
{
  if (dropped)
    dropped->n = 0;
  drop(&kps->next, dropped);
  drop(&kps->current, dropped);
  drop(&kps->previous, dropped);
}

static mf_wg_keypair_t *free_slot(mf_wg_keypairs_t *kps)
{
  for (int i = 0; i < 3; i++)
    if (!kps->slot[i].live)
      return &kps->slot[i];
  return NULL; /* unreachable: rotation keeps at most two */
}

mf_wg_keypair_t *mf_wg_keypairs_begin_session(mf_wg_keypairs_t *kps,
                                              mf_wg_session_t *s, uint64_t now,
                                              mf_wg_dropped_t *dropped)
{
  if (dropped)
    dropped->n = 0;
  if (s->initiator) {
    /* An unconfirmed next is better than current for receiving: the
     * peer may already send with it (it answered our initiation after
     * sending its own), so it becomes previous and current goes. */
    if (kps->next) {
      drop(&kps->previous, dropped);
      drop(&kps->current, dropped);
      kps->previous = kps->next;
      kps->next = NULL;
    } else {
      drop(&kps->previous, dropped);
      kps->previous = kps->current;
      kps->current = NULL;
    }
  } else {
    /* The initiator will switch to the new session as soon as it reads
     * our response, so what came before is of no more use than next. */
    drop(&kps->next, dropped);
    drop(&kps->previous, dropped);
  }
  mf_wg_keypair_t *kp = free_slot(kps);
  if (!kp) {
    mf_wg_noise_session_clear(s);
    return NULL;
  }
  memset(kp, 0, sizeof(*kp));
  kp->session = *s;
  kp->birth = now;
  atomic_init(&kp->send_counter, 0);
  mf_wg_replay_init(&kp->replay);
  kp->live = true;
  kp->may_send = true;
  if (s->initiator)
    kps->current = kp;
  else
    kps->next = kp;
  mf_wg_noise_session_clear(s);
  return kp;
}

bool mf_wg_keypairs_received_with(mf_wg_keypairs_t *kps, mf_wg_keypair_t *kp,
                                  mf_wg_dropped_t *dropped)
{
  if (dropped)
    dropped->n = 0;
  if (!kp || kp != kps->next)
    return false;
  drop(&kps->previous, dropped);
  kps->previous = kps->current;
  kps->current = kps->next;
  kps->next = NULL;
  return true;
}

mf_wg_keypair_t *mf_wg_keypairs_find(mf_wg_keypairs_t *kps,
                                     uint32_t local_index)
{
  mf_wg_keypair_t *c[3] = {kps->current, kps->previous, kps->next};
  for (int i = 0; i < 3; i++)
    if (c[i] && c[i]->live && c[i]->session.local_index == local_index)
      return c[i];
  return NULL;
}

static bool young(const mf_wg_keypair_t *kp, uint64_t now)
{
  return now - kp->birth < MF_WG_REJECT_AFTER_TIME;
}

mf_wg_keypair_t *mf_wg_keypairs_for_send(mf_wg_keypairs_t *kps, uint64_t now)
{
  mf_wg_keypair_t *kp = kps->current;
  if (!kp || !kp->live || !kp->may_send || !young(kp, now) ||
      atomic_load_explicit(&kp->send_counter, memory_order_relaxed) >=
          MF_WG_REJECT_AFTER_MESSAGES)
    return NULL;
  return kp;
}

bool mf_wg_keypair_may_receive(const mf_wg_keypair_t *kp, uint64_t now)
{
  return kp && kp->live && young(kp, now);
}

void mf_wg_keypairs_expire_sending(mf_wg_keypairs_t *kps)
{
  if (kps->next)
    kps->next->may_send = false;
  if (kps->current)
    kps->current->may_send = false;
}

int mf_wg_keypair_reserve(mf_wg_keypair_t *kp, uint32_t n, uint64_t *first)
{
  /* A compare-and-swap, not a fetch-add: failed reservations must not
   * push the counter on, or enough of them would wrap it to zero. */
  uint64_t cur = atomic_load_explicit(&kp->send_counter, memory_order_relaxed);
  do {
    if (cur > MF_WG_REJECT_AFTER_MESSAGES - n)
      return -1;
  } while (!atomic_compare_exchange_weak_explicit(
      &kp->send_counter, &cur, cur + n, memory_order_relaxed,
      memory_order_relaxed));
  *first = cur;
  return 0;
}
