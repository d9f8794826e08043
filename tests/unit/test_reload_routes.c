/* A new profile's routes merged into a running FIB: only the profile's
 * paths change, untouched prefixes stay, and a FIB that cannot take the
 * new routes is left exactly as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/profile.h"
#include "daemon/dataplane.h"
#include "daemon/reload.h"

#define IFACES                                                                 \
  "interfaces:\n"                                                              \
  "  - { name: out, type: direct }\n"                                          \
  "  - { name: block, type: reject }\n"

static const char a_text[] = IFACES "routes:\n"
                                    "  - { cidr: 0.0.0.0/0, to: out }\n"
                                    "  - { cidr: 10.0.0.0/8, to: out }\n"
                                    "  - { cidr: 10.1.0.0/16, to: block }\n"
                                    "  - { cidr: '2001:db8::/32', to: out }\n";

/* 10.0.0.0/8 moves to block, 10.1.0.0/16 goes, 192.0.2.0/24 comes. */
static const char b_text[] = IFACES "routes:\n"
                                    "  - { cidr: 0.0.0.0/0, to: out }\n"
                                    "  - { cidr: 10.0.0.0/8, to: block }\n"
                                    "  - { cidr: 192.0.2.0/24, to: block }\n"
                                    "  - { cidr: '2001:db8::/32', to: out }\n";

static mf_profile_t *load(const char *text)
{
  mf_profile_t *p = calloc(1, sizeof(*p));
  mf_diag_t diag = {.out = stderr};
  assert_non_null(p);
  assert_int_equal(mf_profile_load_string(text, strlen(text), "<test>", p,
                                          &diag), 0);
  return p;
}

static void add(mf_fib_t *fib, const char *text, mf_fib_source_t src,
                uint32_t adj)
{
  mf_prefix_t p;
  const char *why;
  assert_int_equal(mf_prefix_parse(text, &p, &why), 0);
  assert_int_equal(mf_fib_add(fib, &p, src, 100, adj), 0);
}

/* Every path as "prefix source adj" lines, in walk order. */
typedef struct {
  char text[2048];
  size_t len;
} dump_t;

static void dump_one(const mf_prefix_t *p, mf_fib_source_t src,
                     uint32_t priority, uint32_t adj, bool active, void *ctx)
{
  (void)priority;
  (void)active;
  dump_t *d = ctx;
  char pfx[64];
  mf_prefix_format(p, true, pfx, sizeof(pfx));
  d->len += (size_t)snprintf(d->text + d->len, sizeof(d->text) - d->len,
                             "%s %s %u\n", pfx, mf_fib_source_name(src), adj);
}

static void dump(const mf_fib_t *fib, dump_t *d)
{
  d->len = 0;
  d->text[0] = 0;
  mf_fib_walk(fib, AF_INET, dump_one, d);
  mf_fib_walk(fib, AF_INET6, dump_one, d);
}

static uint32_t lookup4(const mf_fib_t *fib, const char *text)
{
  uint32_t dst, adj;
  assert_int_equal(inet_pton(AF_INET, text, &dst), 1);
  mf_fib4_lookup_vector(fib, &dst, &adj, 1);
  return adj;
}

#define OUT (MF_IF_FIRST_PROFILE + 0)
#define BLOCK (MF_IF_FIRST_PROFILE + 1)

static mf_fib_t *fib_with_a(uint32_t max_routes, mf_profile_t *a)
{
  mf_fib_t *fib = mf_fib_create(max_routes, UINT32_MAX);
  assert_non_null(fib);
  add(fib, "172.19.0.2/32", MF_FIB_SRC_LOCAL, MF_IF_LOCAL_INDEX);
  add(fib, "10.1.2.3/32", MF_FIB_SRC_DNS, OUT);
  mf_reload_routes_stats_t st;
  assert_int_equal(mf_reload_routes(fib, a, &st), 0);
  assert_int_equal(st.added, a->n_routes);
  return fib;
}

static void test_merge(void **state)
{
  (void)state;
  mf_profile_t *a = load(a_text), *b = load(b_text);
  mf_fib_t *fib = fib_with_a(64, a);
  assert_int_equal(lookup4(fib, "10.1.9.9"), BLOCK);
  mf_reload_routes_stats_t st;
  assert_int_equal(mf_reload_routes(fib, b, &st), 0);
  assert_int_equal(st.added, 1);
  assert_int_equal(st.removed, 1);
  assert_int_equal(st.changed, 1);
  assert_int_equal(lookup4(fib, "10.1.9.9"), BLOCK); /* via 10/8 now */
  assert_int_equal(lookup4(fib, "10.9.9.9"), BLOCK);
  assert_int_equal(lookup4(fib, "192.0.2.7"), BLOCK);
  assert_int_equal(lookup4(fib, "198.51.100.1"), OUT);
  /* Other sources stay: the DNS host route, the stack's address. */
  assert_int_equal(lookup4(fib, "10.1.2.3"), OUT);
  assert_int_equal(lookup4(fib, "172.19.0.2"), MF_IF_LOCAL_INDEX);
  /* The same profile again changes nothing. */
  assert_int_equal(mf_reload_routes(fib, b, &st), 0);
  assert_int_equal(st.added + st.removed + st.changed, 0);
  /* Back to a: the FIB is as a made it. */
  dump_t before, after;
  mf_fib_t *ref = fib_with_a(64, a);
  dump(ref, &before);
  assert_int_equal(mf_reload_routes(fib, a, &st), 0);
  dump(fib, &after);
  assert_string_equal(before.text, after.text);
  mf_fib_destroy(ref);
  mf_fib_destroy(fib);
  free(a);
  free(b);
}

static void test_full_fib_is_left_as_it_was(void **state)
{
  (void)state;
  mf_profile_t *a = load(a_text), *b = load(b_text);
  /* A FIB of 8 paths, full: a's 5 (::/0 is implicit), the stack's address,
   * two DNS routes.
   * c keeps a's prefixes (two change interface) and adds one: no room. */
  mf_fib_t *fib = fib_with_a(8, a);
  add(fib, "10.7.7.7/32", MF_FIB_SRC_DNS, OUT); /* 8 of 8 */
  mf_profile_t *c = load(IFACES "routes:\n"
                                "  - { cidr: 0.0.0.0/0, to: out }\n"
                                "  - { cidr: 10.0.0.0/8, to: block }\n"
                                "  - { cidr: 10.1.0.0/16, to: block }\n"
                                "  - { cidr: '2001:db8::/32', to: block }\n"
                                "  - { cidr: 192.0.2.0/24, to: block }\n");
  dump_t before, after;
  dump(fib, &before);
  mf_reload_routes_stats_t st;
  assert_int_equal(mf_reload_routes(fib, c, &st), -ENOSPC);
  dump(fib, &after);
  assert_string_equal(before.text, after.text);
  assert_int_equal(st.added + st.removed + st.changed, 0);
  /* b fits: one goes before one comes. */
  assert_int_equal(mf_reload_routes(fib, b, &st), 0);
  assert_int_equal(lookup4(fib, "192.0.2.7"), BLOCK);
  mf_fib_destroy(fib);
  free(a);
  free(b);
  free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge),
      cmocka_unit_test(test_full_fib_is_left_as_it_was),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
