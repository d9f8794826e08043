/* The session table: a preallocated pool, a free list and a chained hash of
 * the app-side key, all by index. */
#include "hoststack/hoststack.h"
#include "hoststack/hs_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull

static uint32_t fnv(uint32_t h, const uint8_t *p, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static uint32_t key_hash(const mf_hoststack_t *hs, const mf_hs_key_t *k)
{
  /* FNV-1a over the key with a random seed: an app cannot aim many flows
   * at one chain without knowing the seed. */
  uint32_t alen = k->family == 4 ? 4 : 16;
  uint8_t head[6] = {k->proto, k->family, (uint8_t)(k->app_port >> 8),
                     (uint8_t)k->app_port, (uint8_t)(k->remote_port >> 8),
                     (uint8_t)k->remote_port};
  uint32_t h = fnv(2166136261u ^ hs->hash_seed, head, sizeof(head));
  h = fnv(h, k->app_addr, alen);
  if (k->remote_addr)
    h = fnv(h, k->remote_addr, alen);
  return h & (hs->n_buckets - 1);
}

static mf_hs_key_t session_key(const mf_hs_session_t *s)
{
  return (mf_hs_key_t){s->proto, s->family, s->app_port, s->remote_port,
                       s->app_addr, s->proto == MF_HS_TCP ? s->remote_addr : NULL};
}

mf_hoststack_t *mf_hoststack_create(mf_vm_t *vm, uint32_t max_sessions,
                                    uint32_t fwmark)
{
  mf_hoststack_t *hs = calloc(1, sizeof(*hs));
  if (!hs)
    return NULL;
  hs->vm = vm;
  hs->n_sessions = hs->limit = max_sessions;
  hs->n_buckets = 1;
  while (hs->n_buckets < 2 * max_sessions)
    hs->n_buckets <<= 1;
  hs->sessions = calloc(max_sessions, sizeof(*hs->sessions));
  hs->free_list = calloc(max_sessions, sizeof(*hs->free_list));
  hs->buckets = malloc(hs->n_buckets * sizeof(*hs->buckets));
  if (!hs->sessions || !hs->free_list || !hs->buckets ||
      !mf_hs_udp_batch_init(hs)) {
    mf_hoststack_destroy(hs);
    return NULL;
  }
  for (uint32_t i = 0; i < hs->n_buckets; i++)
    hs->buckets[i] = MF_HS_INVALID;
  /* Lowest indices on top of the stack: `show sessions` reads in order. */
  for (uint32_t i = 0; i < max_sessions; i++) {
    hs->free_list[i] = max_sessions - 1 - i;
    hs->sessions[i].fd = -1;
  }
  hs->n_free = max_sessions;
  uint32_t rnd[2] = {0, 0};
  if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
    rnd[0] = rnd[1] = (uint32_t)(uintptr_t)hs;
  hs->hash_seed = rnd[0];
  hs->icmp_id_base = (uint16_t)rnd[1];
  hs->fwmark = fwmark;
  hs->epfd = hs->icmp4_fd = hs->icmp6_fd = -1;
  hs->udp_idle_ns = MF_HS_UDP_IDLE_S * NS_PER_S;
  hs->icmp_idle_ns = MF_HS_ICMP_IDLE_S * NS_PER_S;
  return hs;
}

void mf_hoststack_destroy(mf_hoststack_t *hs)
{
  if (!hs)
    return;
  for (uint32_t i = 0; hs->sessions && i < hs->n_sessions; i++) {
    if (hs->tcp && hs->sessions[i].live && hs->sessions[i].proto == MF_HS_TCP)
      mf_tcp_release(&hs->tcp[i], &hs->tcp_mem);
    if (hs->sessions[i].fd >= 0)
      close(hs->sessions[i].fd);
  }
  if (hs->tcp)
    mf_tcp_mem_destroy(&hs->tcp_mem);
  free(hs->tcp);
  free(hs->pending);
  if (hs->wheel)
    mf_tw_destroy(hs->wheel);
  if (hs->icmp4_fd >= 0)
    close(hs->icmp4_fd);
  if (hs->icmp6_fd >= 0)
    close(hs->icmp6_fd);
  mf_hs_udp_batch_free(hs);
  free(hs->sessions);
  free(hs->free_list);
  free(hs->buckets);
  free(hs);
}

void mf_hoststack_watch(mf_hoststack_t *hs, int epfd)
{
  hs->epfd = epfd;
}

int mf_hoststack_watch_fd(mf_hoststack_t *hs, int fd, uint64_t tag)
{
  if (hs->epfd < 0)
    return 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  return epoll_ctl(hs->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static bool key_equal(const mf_hs_session_t *s, const mf_hs_key_t *k)
{
  uint32_t alen = k->family == 4 ? 4 : 16;
  static const uint8_t none[16];
  const uint8_t *remote = k->remote_addr ? k->remote_addr : none;
  return s->proto == k->proto && s->family == k->family &&
         s->app_port == k->app_port && s->remote_port == k->remote_port &&
         memcmp(s->app_addr, k->app_addr, alen) == 0 &&
         memcmp(s->remote_addr, remote, alen) == 0;
}

uint32_t mf_hoststack_find_key(const mf_hoststack_t *hs, const mf_hs_key_t *k)
{
  uint32_t si = hs->buckets[key_hash(hs, k)];
  while (si != MF_HS_INVALID) {
    const mf_hs_session_t *s = &hs->sessions[si];
    if (key_equal(s, k))
      return si;
    si = s->hash_next;
  }
  return MF_HS_INVALID;
}

uint32_t mf_hoststack_find(const mf_hoststack_t *hs, uint8_t proto,
                           uint8_t family, const uint8_t *addr, uint16_t port)
{
  mf_hs_key_t k = {proto, family, port, 0, addr, NULL};
  return mf_hoststack_find_key(hs, &k);
}

uint32_t mf_hoststack_open_key(mf_hoststack_t *hs, const mf_hs_key_t *k,
                               uint64_t now)
{
  if (hs->n_live >= hs->limit || hs->n_free == 0) {
    hs->c.refused++;
    return MF_HS_INVALID;
  }
  uint32_t si = hs->free_list[--hs->n_free];
  mf_hs_session_t *s = &hs->sessions[si];
  uint32_t alen = k->family == 4 ? 4 : 16;
  memset(s, 0, sizeof(*s));
  s->live = true;
  s->proto = k->proto;
  s->family = k->family;
  memcpy(s->app_addr, k->app_addr, alen);
  s->app_port = k->app_port;
  if (k->remote_addr)
    memcpy(s->remote_addr, k->remote_addr, alen);
  s->remote_port = k->remote_port;
  s->fd = -1;
  s->up_id = htons((uint16_t)(hs->icmp_id_base + si));
  s->created_ns = s->last_ns = now;
  uint32_t h = key_hash(hs, k);
  s->hash_next = hs->buckets[h];
  hs->buckets[h] = si;
  hs->n_live++;
  hs->c.opened++;
  return si;
}

uint32_t mf_hoststack_open(mf_hoststack_t *hs, uint8_t proto, uint8_t family,
                           const uint8_t *addr, uint16_t port, uint64_t now)
{
  mf_hs_key_t k = {proto, family, port, 0, addr, NULL};
  return mf_hoststack_open_key(hs, &k, now);
}

void mf_hoststack_close(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (!s->live)
    return;
  if (s->proto == MF_HS_TCP)
    mf_hs_tcp_forget(hs, si);
  if (s->fd >= 0)
    close(s->fd); /* also leaves the epoll set */
  s->fd = -1;
  mf_hs_key_t k = session_key(s);
  uint32_t *link = &hs->buckets[key_hash(hs, &k)];
  while (*link != MF_HS_INVALID && *link != si)
    link = &hs->sessions[*link].hash_next;
  if (*link == si)
    *link = s->hash_next;
  s->live = false;
  hs->n_live--;
  hs->free_list[hs->n_free++] = si;
  hs->c.closed++;
}

static uint64_t idle_limit(const mf_hoststack_t *hs, const mf_hs_session_t *s)
{
  if (s->proto == MF_HS_TCP)
    return hs->tcp_idle_ns ? hs->tcp_idle_ns : UINT64_MAX;
  return s->proto == MF_HS_UDP ? hs->udp_idle_ns : hs->icmp_idle_ns;
}

static void expire_idle(mf_hoststack_t *hs, uint64_t now)
{
  hs->next_expiry_ns = now + NS_PER_S;
  for (uint32_t i = 0; i < hs->n_sessions; i++) {
    mf_hs_session_t *s = &hs->sessions[i];
    if (!s->live || now - s->last_ns < idle_limit(hs, s))
      continue;
    if (s->proto == MF_HS_TCP)
      mf_hs_tcp_idle_out(hs, i);
    else
      mf_hoststack_close(hs, i);
    hs->c.expired++;
  }
}

void mf_hoststack_tick(mf_hoststack_t *hs, uint64_t now)
{
  if (!hs)
    return;
  if (hs->wheel)
    mf_hs_tcp_run_timers(hs, now);
  if (now >= hs->next_expiry_ns)
    expire_idle(hs, now);
}

int mf_hoststack_timeout_ms(const mf_hoststack_t *hs, uint64_t now, int max_ms)
{
  if (!hs || !hs->wheel)
    return max_ms;
  if (hs->n_pending)
    return 0;
  uint64_t next = mf_tw_next(hs->wheel), now_us = now / 1000;
  if (next == 0)
    return max_ms;
  if (next <= now_us)
    return 0;
  uint64_t ms = (next - now_us + 999) / 1000;
  return ms < (uint64_t)max_ms ? (int)ms : max_ms;
}

size_t mf_hoststack_memory(const mf_hoststack_t *hs)
{
  size_t per = sizeof(*hs->sessions) + sizeof(uint32_t);
  if (hs->tcp)
    per += sizeof(*hs->tcp) + sizeof(*hs->pending);
  size_t n = sizeof(*hs) + hs->n_sessions * per + hs->n_buckets * sizeof(uint32_t);
  if (hs->wheel)
    n += (size_t)mf_tw_memory(hs->wheel);
  return n;
}

void mf_hoststack_format_app(const mf_hs_session_t *s, char *out, size_t size)
{
  char a[INET6_ADDRSTRLEN];
  inet_ntop(s->family == 4 ? AF_INET : AF_INET6, s->app_addr, a, sizeof(a));
  if (s->proto != MF_HS_ICMP)
    snprintf(out, size, s->family == 4 ? "%s:%u" : "[%s]:%u", a, ntohs(s->app_port));
  else
    snprintf(out, size, "%s id %u", a, ntohs(s->app_port));
}
