/* The session table: a preallocated pool, a free list and a chained hash of
 * the app-side key, all by index. */
#include "hoststack/hoststack.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull

static uint32_t key_hash(const mf_hoststack_t *hs, uint8_t proto,
                         uint8_t family, const uint8_t *addr, uint16_t port)
{
  /* FNV-1a over the key with a random seed: an app cannot aim many flows
   * at one chain without knowing the seed. */
  uint32_t h = 2166136261u ^ hs->hash_seed;
  uint8_t head[4] = {proto, family, (uint8_t)(port >> 8), (uint8_t)port};
  for (int i = 0; i < 4; i++)
    h = (h ^ head[i]) * 16777619u;
  for (int i = 0; i < (family == 4 ? 4 : 16); i++)
    h = (h ^ addr[i]) * 16777619u;
  return h & (hs->n_buckets - 1);
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
  if (!hs->sessions || !hs->free_list || !hs->buckets) {
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
  for (uint32_t i = 0; hs->sessions && i < hs->n_sessions; i++)
    if (hs->sessions[i].fd >= 0)
      close(hs->sessions[i].fd);
  if (hs->icmp4_fd >= 0)
    close(hs->icmp4_fd);
  if (hs->icmp6_fd >= 0)
    close(hs->icmp6_fd);
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

static bool key_equal(const mf_hs_session_t *s, uint8_t proto, uint8_t family,
                      const uint8_t *addr, uint16_t port)
{
  return s->proto == proto && s->family == family && s->app_port == port &&
         memcmp(s->app_addr, addr, family == 4 ? 4 : 16) == 0;
}

uint32_t mf_hoststack_find(const mf_hoststack_t *hs, uint8_t proto,
                           uint8_t family, const uint8_t *addr, uint16_t port)
{
  uint32_t si = hs->buckets[key_hash(hs, proto, family, addr, port)];
  while (si != MF_HS_INVALID) {
    const mf_hs_session_t *s = &hs->sessions[si];
    if (key_equal(s, proto, family, addr, port))
      return si;
    si = s->hash_next;
  }
  return MF_HS_INVALID;
}

uint32_t mf_hoststack_open(mf_hoststack_t *hs, uint8_t proto, uint8_t family,
                           const uint8_t *addr, uint16_t port, uint64_t now)
{
  if (hs->n_live >= hs->limit || hs->n_free == 0) {
    hs->c.refused++;
    return MF_HS_INVALID;
  }
  uint32_t si = hs->free_list[--hs->n_free];
  mf_hs_session_t *s = &hs->sessions[si];
  memset(s, 0, sizeof(*s));
  s->live = true;
  s->proto = proto;
  s->family = family;
  memcpy(s->app_addr, addr, family == 4 ? 4 : 16);
  s->app_port = port;
  s->fd = -1;
  s->up_id = htons((uint16_t)(hs->icmp_id_base + si));
  s->created_ns = s->last_ns = now;
  uint32_t h = key_hash(hs, proto, family, addr, port);
  s->hash_next = hs->buckets[h];
  hs->buckets[h] = si;
  hs->n_live++;
  hs->c.opened++;
  return si;
}

void mf_hoststack_close(mf_hoststack_t *hs, uint32_t si)
{
  mf_hs_session_t *s = &hs->sessions[si];
  if (!s->live)
    return;
  if (s->fd >= 0)
    close(s->fd); /* also leaves the epoll set */
  s->fd = -1;
  uint32_t *link = &hs->buckets[key_hash(hs, s->proto, s->family, s->app_addr,
                                         s->app_port)];
  while (*link != MF_HS_INVALID && *link != si)
    link = &hs->sessions[*link].hash_next;
  if (*link == si)
    *link = s->hash_next;
  s->live = false;
  hs->n_live--;
  hs->free_list[hs->n_free++] = si;
  hs->c.closed++;
}

void mf_hoststack_tick(mf_hoststack_t *hs, uint64_t now)
{
  if (!hs || now < hs->next_expiry_ns)
    return;
  hs->next_expiry_ns = now + NS_PER_S;
  for (uint32_t i = 0; i < hs->n_sessions; i++) {
    mf_hs_session_t *s = &hs->sessions[i];
    if (!s->live)
      continue;
    uint64_t idle = s->proto == MF_HS_UDP ? hs->udp_idle_ns : hs->icmp_idle_ns;
    if (now - s->last_ns >= idle) {
      mf_hoststack_close(hs, i);
      hs->c.expired++;
    }
  }
}

size_t mf_hoststack_memory(const mf_hoststack_t *hs)
{
  return sizeof(*hs) + hs->n_sessions * (sizeof(*hs->sessions) + sizeof(uint32_t)) +
         hs->n_buckets * sizeof(uint32_t);
}

void mf_hoststack_format_app(const mf_hs_session_t *s, char *out, size_t size)
{
  char a[INET6_ADDRSTRLEN];
  inet_ntop(s->family == 4 ? AF_INET : AF_INET6, s->app_addr, a, sizeof(a));
  if (s->proto == MF_HS_UDP)
    snprintf(out, size, s->family == 4 ? "%s:%u" : "[%s]:%u", a, ntohs(s->app_port));
  else
    snprintf(out, size, "%s id %u", a, ntohs(s->app_port));
}
