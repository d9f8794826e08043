/* DNS-learned host routes under a new policy: which set a route belongs
 * to now (by its name when known, else by its set's name), and the table
 * rebuilt from a snapshot, in place and into a table of another size,
 * with the FIB following. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/profile.h"
#include "daemon/dataplane.h"
#include "dns/dns_routes.h"
#include "routing/approute.h"

#define IFACES                                                                 \
  "interfaces:\n"                                                              \
  "  - { name: direct, type: direct }\n"                                       \
  "  - { name: block, type: reject }\n"                                        \
  "  - { name: void, type: drop }\n"

/* Set ids: media 0, ads 1, gone 2, quiet 3 (unrouted). */
static const char old_text[] =
    "app_routing: true\n" IFACES "domain_sets:\n"
    "  media: [vid.example, clip.example]\n"
    "  ads: [ads.example]\n"
    "  gone: [gone.example]\n"
    "  quiet: [quiet.example]\n"
    "dns: { direct: [192.0.2.53] }\n"
    "routes:\n"
    "  - { domain_set: media, to: direct }\n"
    "  - { domain_set: ads, to: block }\n"
    "  - { domain_set: gone, to: void }\n"
    "  - { cidr: 0.0.0.0/0, to: direct }\n";

/* Set ids: ads 0 (has clip now), media 1 (to block), quiet 2 (routed). */
static const char new_text[] =
    "app_routing: true\n" IFACES "domain_sets:\n"
    "  ads: [ads.example, clip.example]\n"
    "  media: [vid.example]\n"
    "  quiet: [quiet.example]\n"
    "dns: { direct: [192.0.2.53] }\n"
    "routes:\n"
    "  - { domain_set: ads, to: block }\n"
    "  - { domain_set: media, to: block }\n"
    "  - { domain_set: quiet, to: direct }\n"
    "  - { cidr: 0.0.0.0/0, to: direct }\n";

#define SEC 1000000000ull
#define ADJ(profile_iface) (MF_IF_FIRST_PROFILE + (profile_iface))

typedef struct {
  mf_profile_t *p_old, *p_new;
  mf_approute_t *old, *now;
  mf_fib_t *fib;
  mf_dns_routes_t *routes;
} fixture_t;

static mf_approute_t *build(const char *text, mf_profile_t **p)
{
  mf_diag_t diag = {.out = stderr};
  *p = calloc(1, sizeof(**p));
  assert_non_null(*p);
  assert_int_equal(mf_profile_load_string(text, strlen(text), "<test>", *p,
                                          &diag), 0);
  mf_approute_t *a = mf_approute_create(*p, &diag);
  assert_non_null(a);
  return a;
}

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  f->old = build(old_text, &f->p_old);
  f->now = build(new_text, &f->p_new);
  f->fib = mf_fib_create(1024, UINT32_MAX);
  f->routes = mf_dns_routes_create(f->fib, 16, 100, 0);
  *state = f;
  return f->fib && f->routes ? 0 : -1;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  mf_dns_routes_destroy(f->routes);
  mf_fib_destroy(f->fib);
  mf_approute_destroy(f->old);
  mf_approute_destroy(f->now);
  free(f->p_old);
  free(f->p_new);
  free(f);
  return 0;
}

static uint32_t set_of(const mf_approute_t *a, const char *name)
{
  uint32_t k = mf_approute_find_set(a, name);
  assert_int_not_equal(k, MF_APPROUTE_NONE);
  return k;
}

static uint32_t rehome(const fixture_t *f, const char *old_set, const char *name)
{
  return mf_dns_rehome_set(f->old, f->now, set_of(f->old, old_set), name,
                           name ? strlen(name) : 0);
}

static void test_set_by_name_then_by_set(void **state)
{
  fixture_t *f = *state;
  /* Known name: wherever it is now, whatever its old set. */
  assert_int_equal(rehome(f, "media", "clip.example"), set_of(f->now, "ads"));
  assert_int_equal(rehome(f, "media", "vid.example"), set_of(f->now, "media"));
  assert_int_equal(rehome(f, "gone", "gone.example"), MF_APPROUTE_NONE);
  assert_int_equal(rehome(f, "media", "CLIP.Example."), set_of(f->now, "ads"));
  /* Unknown name: the set of the same name, renumbered. */
  assert_int_equal(rehome(f, "media", NULL), set_of(f->now, "media"));
  assert_int_equal(rehome(f, "ads", NULL), set_of(f->now, "ads"));
  assert_int_equal(rehome(f, "gone", NULL), MF_APPROUTE_NONE);
  assert_int_equal(mf_dns_rehome_set(f->old, f->now, 999, NULL, 0),
                   MF_APPROUTE_NONE);
  assert_int_equal(mf_dns_rehome_set(NULL, f->now, 0, NULL, 0),
                   MF_APPROUTE_NONE);
}

/* Which name each test address was learned for (a naive reference for
 * what the server reads from its cache); NULL: no longer known. */
static const struct {
  const char *addr, *name, *set;
} learned[] = {
    {"192.0.2.1", "vid.example", "media"},
    {"192.0.2.2", "clip.example", "media"},
    {"192.0.2.3", NULL, "ads"},
    {"192.0.2.4", NULL, "gone"},
    {"2001:db8::1", NULL, "media"},
};
#define N_LEARNED (sizeof(learned) / sizeof(learned[0]))

static void parse_addr(const char *text, uint8_t *family, uint8_t addr[16])
{
  memset(addr, 0, 16);
  *family = strchr(text, ':') ? AF_INET6 : AF_INET;
  assert_int_equal(inet_pton(*family, text, addr), 1);
}

static const char *name_of(const mf_dns_route_info_t *r)
{
  for (size_t i = 0; i < N_LEARNED; i++) {
    uint8_t fam, a[16];
    parse_addr(learned[i].addr, &fam, a);
    if (fam == r->family && memcmp(a, r->addr, 16) == 0)
      return learned[i].name;
  }
  return NULL;
}

/* What the server's decision does, over the pure pieces: a claim's own
 * name first, else the reference's name for the address. */
static bool decide(void *ctx, const mf_dns_route_info_t *r,
                   const mf_dns_claim_info_t *claim, mf_dns_claim_t *out)
{
  const fixture_t *f = ctx;
  const char *name = claim->name[0] ? claim->name : name_of(r);
  uint32_t k = mf_dns_rehome_set(f->old, f->now, claim->set, name,
                                 name ? strlen(name) : 0);
  if (k == MF_APPROUTE_NONE || f->now->sets[k].iface == MF_APPROUTE_NONE)
    return false;
  out->adj = ADJ(f->now->sets[k].iface);
  out->set = (uint16_t)k;
  out->rank = f->now->sets[k].rank;
  return true;
}

static void learn_all(fixture_t *f)
{
  for (size_t i = 0; i < N_LEARNED; i++) {
    uint8_t fam, a[16];
    parse_addr(learned[i].addr, &fam, a);
    uint32_t k = set_of(f->old, learned[i].set);
    assert_int_equal(mf_dns_routes_add(f->routes, fam, a,
                                       ADJ(f->old->sets[k].iface), (uint16_t)k,
                                       (10 + i) * SEC),
                     MF_DNS_ROUTE_INSTALLED);
  }
}

static uint32_t lookup4(const mf_fib_t *fib, const char *text)
{
  uint32_t dst, adj;
  assert_int_equal(inet_pton(AF_INET, text, &dst), 1);
  mf_fib4_lookup_vector(fib, &dst, &adj, 1);
  return adj;
}

static uint32_t lookup6(const mf_fib_t *fib, const char *text)
{
  uint8_t a[16];
  const uint8_t *p = a;
  uint32_t adj;
  assert_int_equal(inet_pton(AF_INET6, text, a), 1);
  mf_fib6_lookup_vector(fib, &p, &adj, 1);
  return adj;
}

static void test_rehome_in_place(void **state)
{
  fixture_t *f = *state;
  learn_all(f);
  assert_int_equal(lookup4(f->fib, "192.0.2.1"), ADJ(0));
  mf_dns_rehome_stats_t st;
  assert_int_equal(mf_dns_routes_rehome(f->routes, f->routes, decide, f, &st), 0);
  /* ads stays on block (renumbered), media's two and clip move to block,
   * gone is removed. */
  assert_int_equal(st.kept, 1);
  assert_int_equal(st.moved, 3);
  assert_int_equal(st.removed, 1);
  assert_int_equal(st.lost, 0);
  assert_int_equal(lookup4(f->fib, "192.0.2.1"), ADJ(1));
  assert_int_equal(lookup4(f->fib, "192.0.2.2"), ADJ(1));
  assert_int_equal(lookup4(f->fib, "192.0.2.3"), ADJ(1));
  assert_int_equal(lookup4(f->fib, "192.0.2.4"), UINT32_MAX);
  assert_int_equal(lookup6(f->fib, "2001:db8::1"), ADJ(1));
  /* Sets are the new ids; expiries are kept. */
  mf_dns_route_info_t info;
  uint32_t cursor = 0, n = 0;
  while (mf_dns_routes_next(f->routes, &cursor, &info)) {
    n++;
    const char *name = name_of(&info);
    if (name && strcmp(name, "clip.example") == 0) {
      assert_int_equal(info.set, set_of(f->now, "ads"));
      assert_int_equal(info.expires_ns, 11 * SEC);
    }
    if (info.family == AF_INET6)
      assert_int_equal(info.set, set_of(f->now, "media"));
  }
  assert_int_equal(n, 4);
}

static void test_rehome_into_smaller_table(void **state)
{
  fixture_t *f = *state;
  learn_all(f);
  mf_dns_routes_t *small = mf_dns_routes_create(f->fib, 2, 100, 0);
  assert_non_null(small);
  mf_dns_rehome_stats_t st;
  assert_int_equal(mf_dns_routes_rehome(f->routes, small, decide, f, &st), 0);
  assert_int_equal(st.kept + st.moved, 2);
  assert_int_equal(st.lost, 2);
  assert_int_equal(st.removed, 1);
  mf_dns_routes_stats_t rs;
  mf_dns_routes_stats(f->routes, &rs);
  assert_int_equal(rs.live, 0);
  mf_dns_routes_stats(small, &rs);
  assert_int_equal(rs.live, 2);
  mf_fib_stats_t fs;
  mf_fib_get_stats(f->fib, &fs);
  assert_int_equal(fs.routes4 + fs.routes6, 2);
  /* The old table, empty, goes without touching the new one's paths. */
  mf_dns_routes_destroy(f->routes);
  f->routes = small;
  mf_fib_get_stats(f->fib, &fs);
  assert_int_equal(fs.routes4 + fs.routes6, 2);
}

static void test_rehome_empty_table(void **state)
{
  fixture_t *f = *state;
  mf_dns_rehome_stats_t st;
  assert_int_equal(mf_dns_routes_rehome(f->routes, f->routes, decide, f, &st), 0);
  assert_int_equal(st.kept + st.moved + st.removed + st.lost, 0);
}

/* A shared address keeps every claim across the reload, and the winner
 * is decided by the new ranks: media's route came first before, ads's
 * comes first now. */
static void test_rehome_keeps_claims_in_new_order(void **state)
{
  fixture_t *f = *state;
  uint8_t a[16] = {192, 0, 2, 9};
  uint32_t media = set_of(f->old, "media"), ads = set_of(f->old, "ads");
  mf_dns_claim_t c1 = {.adj = ADJ(f->old->sets[media].iface), .set = (uint16_t)media,
                       .rank = f->old->sets[media].rank, .expires_ns = 30 * SEC,
                       .name = "vid.example"};
  mf_dns_claim_t c2 = {.adj = ADJ(f->old->sets[ads].iface), .set = (uint16_t)ads,
                       .rank = f->old->sets[ads].rank, .expires_ns = 40 * SEC,
                       .name = "ads.example"};
  assert_int_equal(mf_dns_routes_claim(f->routes, AF_INET, a, &c1),
                   MF_DNS_ROUTE_INSTALLED);
  assert_int_equal(mf_dns_routes_claim(f->routes, AF_INET, a, &c2),
                   MF_DNS_ROUTE_CONFLICT);
  mf_dns_route_info_t info;
  assert_true(mf_dns_routes_get(f->routes, AF_INET, a, &info));
  assert_int_equal(info.set, media);
  mf_dns_rehome_stats_t st;
  assert_int_equal(mf_dns_routes_rehome(f->routes, f->routes, decide, f, &st), 0);
  assert_true(mf_dns_routes_get(f->routes, AF_INET, a, &info));
  assert_int_equal(info.n_claims, 2);
  assert_int_equal(info.set, set_of(f->now, "ads"));
  assert_int_equal(info.expires_ns, 40 * SEC);
  assert_string_equal(info.claims[0].name, "ads.example");
  assert_string_equal(info.claims[1].name, "vid.example");
  assert_int_equal(info.claims[1].set, set_of(f->now, "media"));
  assert_int_equal(info.claims[1].expires_ns, 30 * SEC);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_set_by_name_then_by_set, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rehome_in_place, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rehome_into_smaller_table, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rehome_empty_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rehome_keeps_claims_in_new_order,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
