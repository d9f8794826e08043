/* DNS host routes with several claims per address, and the host stack's
 * answer to "is a flow still using this address?".
 *
 * Checked: the winner of a shared address does not depend on the order
 * the claims came in (every permutation); the next claim takes the route
 * over when the winner expires; the claim bounds keep the best ranks;
 * keep-while-used with a fake oracle (kept past the TTL, asked once per
 * batch, released when the oracle says no, tunnels never kept); a
 * differential run against a naive model on random claims and expiries;
 * and the host stack's batch query against a naive scan at 16k sessions,
 * with its cost measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_routes.h"
#include "fib/fib.h"
#include "hoststack/hoststack.h"

#define S 1000000000ull
#define T0 (1000 * S)
#define MISS UINT32_MAX

static uint32_t fib4(const mf_fib_t *fib, const uint8_t *a)
{
  uint32_t dst, adj;
  memcpy(&dst, a, 4);
  mf_fib4_lookup_vector(fib, &dst, &adj, 1);
  return adj;
}

static mf_dns_claim_t claim(uint32_t adj, uint16_t set, uint16_t rank,
                            uint64_t expires, const char *name)
{
  return (mf_dns_claim_t){.adj = adj, .set = set, .rank = rank,
                          .expires_ns = expires, .name = name};
}

/* ---- a fake oracle ---- */

typedef struct {
  uint8_t addr[4];    /* in use while its adj is direct_adj */
  bool on;
  uint32_t direct_adj; /* the only interface with host-stack sessions */
  uint32_t calls, max_batch, probes;
} oracle_t;

static void fake_in_use(void *ctx, const mf_dns_route_probe_t *p, uint32_t n,
                        bool *in_use, uint64_t now)
{
  (void)now;
  oracle_t *o = ctx;
  o->calls++;
  o->probes += n;
  if (n > o->max_batch)
    o->max_batch = n;
  for (uint32_t k = 0; k < n; k++)
    in_use[k] = o->on && p[k].family == AF_INET && p[k].adj == o->direct_adj &&
                memcmp(p[k].addr, o->addr, 4) == 0;
}

/* ---- conflicts ---- */

/* Three sets claim one address in every order: the rank decides. */
static void test_conflict_order_independent(void **state)
{
  (void)state;
  const mf_dns_claim_t c[3] = {
      claim(12, 5, 2, T0 + 30 * S, "c.example"),
      claim(10, 3, 0, T0 + 10 * S, "nflx.example"),
      claim(11, 4, 1, T0 + 20 * S, "cdn.example"),
  };
  static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                  {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const uint8_t a[4] = {198, 51, 100, 7};
  for (int p = 0; p < 6; p++) {
    mf_fib_t *fib = mf_fib_create(64, MISS);
    mf_dns_routes_t *r = mf_dns_routes_create(fib, 8, 100, T0);
    assert_non_null(r);
    for (int k = 0; k < 3; k++)
      mf_dns_routes_claim(r, AF_INET, a, &c[perms[p][k]]);
    assert_int_equal(fib4(fib, a), 10);
    mf_dns_route_info_t info;
    assert_true(mf_dns_routes_get(r, AF_INET, a, &info));
    assert_int_equal(info.n_claims, 3);
    assert_int_equal(info.set, 3);
    assert_string_equal(info.claims[0].name, "nflx.example");
    assert_string_equal(info.claims[1].name, "cdn.example");
    assert_string_equal(info.claims[2].name, "c.example");
    mf_dns_routes_stats_t st;
    mf_dns_routes_stats(r, &st);
    assert_int_equal(st.conflicts, 2);
    assert_int_equal(st.claims, 3);
    assert_int_equal(st.live, 1);
    mf_dns_routes_destroy(r);
    mf_fib_stats_t fs;
    mf_fib_get_stats(fib, &fs);
    assert_int_equal(fs.routes4, 0);
    mf_fib_destroy(fib);
  }
}

/* The winner expires: the next claim takes the route over; a better
 * claim arriving later takes it at once. */
static void test_takeover(void **state)
{
  (void)state;
  mf_fib_t *fib = mf_fib_create(64, MISS);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, 8, 100, T0);
  const uint8_t a[4] = {198, 51, 100, 7};
  mf_dns_claim_t lo = claim(11, 4, 1, T0 + 30 * S, "cdn.example");
  mf_dns_claim_t hi = claim(10, 3, 0, T0 + 10 * S, "nflx.example");
  assert_int_equal(mf_dns_routes_claim(r, AF_INET, a, &lo), MF_DNS_ROUTE_INSTALLED);
  assert_int_equal(fib4(fib, a), 11);
  assert_int_equal(mf_dns_routes_claim(r, AF_INET, a, &hi), MF_DNS_ROUTE_TAKEN);
  assert_int_equal(fib4(fib, a), 10);
  /* The same set again only refreshes (and keeps its rank). */
  hi.expires_ns = T0 + 12 * S;
  assert_int_equal(mf_dns_routes_claim(r, AF_INET, a, &hi), MF_DNS_ROUTE_REFRESHED);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 11 * S), 0);
  assert_int_equal(fib4(fib, a), 10);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 13 * S), 0);
  assert_int_equal(fib4(fib, a), 11); /* taken over */
  mf_dns_route_info_t info;
  assert_true(mf_dns_routes_get(r, AF_INET, a, &info));
  assert_int_equal(info.n_claims, 1);
  assert_string_equal(info.claims[0].name, "cdn.example");
  assert_int_equal(mf_dns_routes_expire(r, T0 + 31 * S), 1);
  assert_int_equal(fib4(fib, a), MISS);
  mf_dns_routes_stats_t st;
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.takeovers, 2);
  assert_int_equal(st.expired, 1);
  assert_int_equal(st.claims, 0);
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* Six sets, four slots: the four best ranks stay whatever the order. */
static void test_claim_bounds(void **state)
{
  (void)state;
  const uint8_t a[4] = {203, 0, 113, 1};
  srand(11);
  for (int round = 0; round < 40; round++) {
    int order[6] = {0, 1, 2, 3, 4, 5};
    for (int k = 5; k > 0; k--) {
      int j = rand() % (k + 1), t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
    mf_fib_t *fib = mf_fib_create(64, MISS);
    mf_dns_routes_t *r = mf_dns_routes_create(fib, 16, 100, T0);
    for (int k = 0; k < 6; k++) {
      mf_dns_claim_t c = claim(20 + (uint32_t)order[k], (uint16_t)(9 - order[k]),
                               (uint16_t)order[k], T0 + 60 * S, NULL);
      mf_dns_routes_claim(r, AF_INET, a, &c);
    }
    mf_dns_route_info_t info;
    assert_true(mf_dns_routes_get(r, AF_INET, a, &info));
    assert_int_equal(info.n_claims, MF_DNS_ROUTE_MAX_CLAIMS);
    for (uint32_t k = 0; k < info.n_claims; k++)
      assert_int_equal(info.claims[k].rank, k);
    assert_int_equal(fib4(fib, a), 20);
    mf_dns_routes_stats_t st;
    mf_dns_routes_stats(r, &st);
    assert_int_equal(st.claims_refused, 2);
    mf_dns_routes_destroy(r);
    mf_fib_destroy(fib);
  }
}

/* A long name keeps its end. */
static void test_long_name(void **state)
{
  (void)state;
  mf_fib_t *fib = mf_fib_create(64, MISS);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, 8, 100, T0);
  const uint8_t a[4] = {203, 0, 113, 9};
  const char *name = "a-very-long-label-for-a-test.another-long-label.cdn.example";
  mf_dns_claim_t c = claim(3, 0, 0, T0 + S, name);
  mf_dns_routes_claim(r, AF_INET, a, &c);
  mf_dns_route_info_t info;
  assert_true(mf_dns_routes_get(r, AF_INET, a, &info));
  size_t n = strlen(info.claims[0].name);
  assert_int_equal(n, MF_DNS_ROUTE_NAME_MAX - 1);
  assert_memory_equal(info.claims[0].name, "..", 2);
  assert_string_equal(info.claims[0].name + n - 11, "cdn.example");
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* ---- keep while used ---- */

static void test_keep_while_used(void **state)
{
  (void)state;
  mf_fib_t *fib = mf_fib_create(64, MISS);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, 16, 100, T0);
  oracle_t o = {.addr = {198, 51, 100, 1}, .on = true, .direct_adj = 2};
  mf_dns_routes_set_in_use(r, fake_in_use, &o);
  const uint8_t x[4] = {198, 51, 100, 1}, y[4] = {198, 51, 100, 2},
                z[4] = {198, 51, 100, 3};
  mf_dns_claim_t c = claim(2, 0, 0, T0 + 5 * S, "x.example");
  mf_dns_routes_claim(r, AF_INET, x, &c);
  mf_dns_routes_claim(r, AF_INET, y, &c);
  mf_dns_routes_claim(r, AF_INET, z, &c);
  /* x is in use: kept; y and z go; one question for the three. */
  assert_int_equal(mf_dns_routes_expire(r, T0 + 6 * S), 2);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.max_batch, 3);
  assert_int_equal(fib4(fib, x), 2);
  assert_int_equal(fib4(fib, y), MISS);
  mf_dns_route_info_t info;
  assert_true(mf_dns_routes_get(r, AF_INET, x, &info));
  assert_true(info.kept);
  mf_dns_routes_stats_t st;
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.kept, 1);
  assert_int_equal(st.kept_now, 1);
  /* Asked again on the next whole second, not before. */
  assert_int_equal(mf_dns_routes_expire(r, T0 + 6 * S + S / 2), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 8 * S), 0);
  assert_int_equal(o.calls, 2);
  assert_int_equal(fib4(fib, x), 2);
  /* A fresh answer: the TTL rules again. */
  c.expires_ns = T0 + 100 * S;
  assert_int_equal(mf_dns_routes_claim(r, AF_INET, x, &c), MF_DNS_ROUTE_REFRESHED);
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.kept_now, 0);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 50 * S), 0);
  assert_int_equal(o.calls, 2);
  /* Past the TTL and still used; then the flow ends. */
  assert_int_equal(mf_dns_routes_expire(r, T0 + 101 * S), 0);
  assert_int_equal(fib4(fib, x), 2);
  o.on = false;
  assert_int_equal(mf_dns_routes_expire(r, T0 + 103 * S), 1);
  assert_int_equal(fib4(fib, x), MISS);
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.kept, 2);
  assert_int_equal(st.kept_now, 0);
  assert_int_equal(st.live, 0);
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* A route to a tunnel has no host-stack session: it goes at its TTL. A
 * kept winner holds the route against a waiting claim until it is free. */
static void test_keep_tunnel_and_waiting_claim(void **state)
{
  (void)state;
  mf_fib_t *fib = mf_fib_create(64, MISS);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, 16, 100, T0);
  oracle_t o = {.addr = {198, 51, 100, 1}, .on = true, .direct_adj = 2};
  mf_dns_routes_set_in_use(r, fake_in_use, &o);
  const uint8_t x[4] = {198, 51, 100, 1};
  mf_dns_claim_t wg = claim(5, 0, 0, T0 + 5 * S, "x.example");
  mf_dns_routes_claim(r, AF_INET, x, &wg);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 6 * S), 1);
  assert_int_equal(fib4(fib, x), MISS);

  mf_dns_claim_t dir = claim(2, 0, 0, T0 + 10 * S, "x.example");
  mf_dns_claim_t other = claim(7, 1, 1, T0 + 50 * S, "y.example");
  mf_dns_routes_claim(r, AF_INET, x, &dir);
  mf_dns_routes_claim(r, AF_INET, x, &other);
  assert_int_equal(mf_dns_routes_expire(r, T0 + 11 * S), 0);
  assert_int_equal(fib4(fib, x), 2); /* kept: the flow does not move */
  o.on = false;
  assert_int_equal(mf_dns_routes_expire(r, T0 + 13 * S), 0);
  assert_int_equal(fib4(fib, x), 7); /* free: the next claim takes over */
  mf_dns_routes_stats_t st;
  mf_dns_routes_stats(r, &st);
  assert_int_equal(st.takeovers, 1);
  assert_int_equal(st.kept_now, 0);
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* A thousand routes due in one tick: the oracle is asked per batch. */
static void test_oracle_batches(void **state)
{
  (void)state;
  enum { N = 1000 };
  mf_fib_t *fib = mf_fib_create(2 * N, MISS);
  mf_dns_routes_t *r = mf_dns_routes_create(fib, N, 100, T0);
  oracle_t o = {.direct_adj = 2};
  mf_dns_routes_set_in_use(r, fake_in_use, &o);
  for (uint32_t i = 0; i < N; i++) {
    uint8_t a[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
    mf_dns_claim_t c = claim(2, 0, 0, T0 + 5 * S, NULL);
    assert_int_equal(mf_dns_routes_claim(r, AF_INET, a, &c), MF_DNS_ROUTE_INSTALLED);
  }
  assert_int_equal(mf_dns_routes_expire(r, T0 + 6 * S), N);
  assert_int_equal(o.probes, N);
  assert_int_equal(o.calls, (N + MF_DNS_ROUTE_PROBE_BATCH - 1) / MF_DNS_ROUTE_PROBE_BATCH);
  mf_dns_routes_destroy(r);
  mf_fib_destroy(fib);
}

/* ---- differential: random claims and expiries against a naive model ---- */

enum { D_ADDRS = 10, D_SETS = 6, D_MAX = 8 }; /* more addresses than room */

typedef struct {
  bool live;
  int n;
  int set[MF_DNS_ROUTE_MAX_CLAIMS]; /* by rank order */
  uint64_t exp[MF_DNS_ROUTE_MAX_CLAIMS];
} model_addr_t;

typedef struct {
  model_addr_t a[D_ADDRS];
  int rank[D_SETS];
  int extra_max; /* claims beyond each address's first, all together */
} model_t;

static int model_extra(const model_t *m)
{
  int e = 0;
  for (int i = 0; i < D_ADDRS; i++)
    if (m->a[i].live)
      e += m->a[i].n - 1;
  return e;
}

static int model_live(const model_t *m)
{
  int n = 0;
  for (int i = 0; i < D_ADDRS; i++)
    n += m->a[i].live;
  return n;
}

static void model_insert(model_t *m, model_addr_t *e, int set, uint64_t exp)
{
  int pos = e->n;
  while (pos > 0 && m->rank[e->set[pos - 1]] > m->rank[set]) {
    e->set[pos] = e->set[pos - 1];
    e->exp[pos] = e->exp[pos - 1];
    pos--;
  }
  e->set[pos] = set;
  e->exp[pos] = exp;
  e->n++;
}

static void model_claim(model_t *m, int ai, int set, uint64_t exp)
{
  model_addr_t *e = &m->a[ai];
  if (!e->live) {
    if (model_live(m) == D_MAX)
      return;
    *e = (model_addr_t){.live = true};
    model_insert(m, e, set, exp);
    return;
  }
  for (int k = 0; k < e->n; k++)
    if (e->set[k] == set) {
      if (exp > e->exp[k])
        e->exp[k] = exp;
      return;
    }
  if (e->n == MF_DNS_ROUTE_MAX_CLAIMS || model_extra(m) >= m->extra_max) {
    if (m->rank[set] > m->rank[e->set[e->n - 1]])
      return;
    e->n--;
  }
  model_insert(m, e, set, exp);
}

static void model_expire(model_t *m, uint64_t now)
{
  for (int i = 0; i < D_ADDRS; i++) {
    model_addr_t *e = &m->a[i];
    if (!e->live)
      continue;
    int w = 0;
    for (int k = 0; k < e->n; k++)
      if (e->exp[k] > now) {
        e->set[w] = e->set[k];
        e->exp[w++] = e->exp[k];
      }
    e->n = w;
    e->live = w > 0;
  }
}

static void test_against_model(void **state)
{
  (void)state;
  srand(2024);
  for (int run = 0; run < 20; run++) {
    mf_fib_t *fib = mf_fib_create(64, MISS);
    mf_dns_routes_t *r = mf_dns_routes_create(fib, D_MAX, 100, T0);
    model_t m = {.extra_max = D_MAX / 4 + MF_DNS_ROUTE_MAX_CLAIMS};
    for (int s = 0; s < D_SETS; s++)
      m.rank[s] = s;
    for (int s = D_SETS - 1; s > 0; s--) {
      int j = rand() % (s + 1), t = m.rank[s];
      m.rank[s] = m.rank[j];
      m.rank[j] = t;
    }
    uint64_t now = T0;
    for (int step = 0; step < 400; step++) {
      if (rand() % 3 == 0) {
        now += (uint64_t)(rand() % 4) * S;
        mf_dns_routes_expire(r, now);
        model_expire(&m, now);
      } else {
        int ai = rand() % D_ADDRS;
        int set = rand() % D_SETS;
        uint64_t exp = now + (uint64_t)(1 + rand() % 20) * S;
        uint8_t a[4] = {192, 0, 2, (uint8_t)(ai + 1)};
        mf_dns_claim_t c = claim(100 + (uint32_t)set, (uint16_t)set,
                                 (uint16_t)m.rank[set], exp, NULL);
        mf_dns_routes_claim(r, AF_INET, a, &c);
        model_claim(&m, ai, set, exp);
      }
      for (int ai = 0; ai < D_ADDRS; ai++) {
        uint8_t a[4] = {192, 0, 2, (uint8_t)(ai + 1)};
        const model_addr_t *e = &m.a[ai];
        mf_dns_route_info_t info;
        bool held = mf_dns_routes_get(r, AF_INET, a, &info);
        if (held != e->live)
          fail_msg("run %d step %d addr %d: held %d, model %d", run, step, ai,
                   held, e->live);
        if (!held) {
          assert_int_equal(fib4(fib, a), MISS);
          continue;
        }
        assert_int_equal(fib4(fib, a), 100 + (uint32_t)e->set[0]);
        assert_int_equal(info.n_claims, (uint32_t)e->n);
        for (int k = 0; k < e->n; k++) {
          assert_int_equal(info.claims[k].set, e->set[k]);
          assert_int_equal(info.claims[k].expires_ns, e->exp[k]);
        }
      }
    }
    mf_dns_routes_destroy(r);
    mf_fib_destroy(fib);
  }
}

/* ---- the host stack's side ---- */

static bool naive_in_use(const mf_hoststack_t *hs, const mf_hs_remote_t *q,
                         uint64_t now)
{
  for (uint32_t si = 0; si < hs->n_sessions; si++) {
    const mf_hs_session_t *s = &hs->sessions[si];
    if (!s->live || s->if_index != q->if_index)
      continue;
    if (s->proto == MF_HS_TCP) {
      uint8_t st = hs->tcp[si].state;
      if (st != MF_TCP_S_CLOSED && st != MF_TCP_S_TIME_WAIT &&
          (s->family == 4) == (q->family == AF_INET) &&
          memcmp(s->remote_addr, q->addr, q->family == AF_INET ? 4 : 16) == 0)
        return true;
      continue;
    }
    if (now - s->last_ns >= hs->udp_idle_ns)
      continue;
    if (q->family == AF_INET && s->last_remote.sa.sa_family == AF_INET &&
        memcmp(&s->last_remote.in4.sin_addr, q->addr, 4) == 0)
      return true;
  }
  return false;
}

static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

/* 16k sessions (UDP and TCP, some idle, some in TIME-WAIT, on two
 * interfaces); batches of 256 addresses answered as a naive scan would,
 * in one pass each. The cost is printed and bounded loosely (a shared
 * machine): the point is one pass per batch, not per address. */
static void test_hs_remotes_16k(void **state)
{
  (void)state;
  enum { N = 16384, REMOTES = 4096, ROUNDS = 50 };
  mf_hoststack_t *hs = mf_hoststack_create(NULL, N, 0);
  assert_non_null(hs);
  hs->tcp = calloc(N, sizeof(*hs->tcp));
  assert_non_null(hs->tcp);
  uint64_t now = T0;
  for (uint32_t i = 0; i < N; i++) {
    uint8_t app[16] = {172, 19, 0, 1}, remote[16] = {0};
    remote[0] = 198;
    remote[1] = 18;
    remote[2] = (uint8_t)((i % REMOTES) >> 8);
    remote[3] = (uint8_t)(i % REMOTES);
    bool tcp = i % 3 == 0;
    mf_hs_key_t k = {tcp ? MF_HS_TCP : MF_HS_UDP, 4, htons((uint16_t)(i + 1)),
                     tcp ? htons(443) : 0, app, tcp ? remote : NULL};
    uint32_t si = mf_hoststack_open_key(hs, &k, now);
    assert_int_not_equal(si, MF_HS_INVALID);
    mf_hs_session_t *s = &hs->sessions[si];
    s->if_index = i % 7 == 0 ? 5 : 2;
    if (tcp) {
      hs->tcp[si].state = i % 5 == 0 ? MF_TCP_S_TIME_WAIT : MF_TCP_S_ESTABLISHED;
    } else {
      s->last_remote.in4.sin_family = AF_INET;
      memcpy(&s->last_remote.in4.sin_addr, remote, 4);
      s->last_ns = i % 4 == 0 ? now - 2 * hs->udp_idle_ns : now;
    }
  }
  uint64_t spent = 0;
  uint32_t used_total = 0;
  srand(99);
  for (int round = 0; round < ROUNDS; round++) {
    mf_hs_remote_t q[MF_HS_REMOTE_BATCH];
    bool got[MF_HS_REMOTE_BATCH];
    for (uint32_t k = 0; k < MF_HS_REMOTE_BATCH; k++) {
      uint32_t v = (uint32_t)rand() % (2 * REMOTES); /* half never used */
      q[k] = (mf_hs_remote_t){.family = AF_INET, .if_index = rand() % 4 ? 2u : 5u};
      q[k].addr[0] = 198;
      q[k].addr[1] = v < REMOTES ? 18 : 19;
      q[k].addr[2] = (uint8_t)((v % REMOTES) >> 8);
      q[k].addr[3] = (uint8_t)(v % REMOTES);
    }
    uint64_t t = mono_ns();
    uint32_t n = mf_hoststack_remotes_in_use(hs, q, MF_HS_REMOTE_BATCH, got, now);
    spent += mono_ns() - t;
    uint32_t expect = 0;
    for (uint32_t k = 0; k < MF_HS_REMOTE_BATCH; k++) {
      bool want = naive_in_use(hs, &q[k], now);
      if (got[k] != want)
        fail_msg("round %d query %u: got %d, naive %d", round, k, got[k], want);
      expect += want;
    }
    assert_int_equal(n, expect);
    used_total += n;
  }
  double us = (double)spent / ROUNDS / 1e3;
  print_message("hs remotes: %u sessions, batch of %u: %.1f us per pass "
                "(%.3f us per address), %u in use over %u rounds\n",
                N, MF_HS_REMOTE_BATCH, us, us / MF_HS_REMOTE_BATCH, used_total,
                ROUNDS);
  assert_true(used_total > 0);
  assert_true(us < 20000.0);
  free(hs->tcp);
  hs->tcp = NULL;
  mf_hoststack_destroy(hs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conflict_order_independent),
      cmocka_unit_test(test_takeover),
      cmocka_unit_test(test_claim_bounds),
      cmocka_unit_test(test_long_name),
      cmocka_unit_test(test_keep_while_used),
      cmocka_unit_test(test_keep_tunnel_and_waiting_claim),
      cmocka_unit_test(test_oracle_batches),
      cmocka_unit_test(test_against_model),
      cmocka_unit_test(test_hs_remotes_16k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
