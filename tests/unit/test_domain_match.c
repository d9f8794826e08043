/* Domain matcher: lookups against a deliberately naive reference on random
 * name sets (shared suffixes, exact and suffix entries, conflicts, near
 * misses), the text and the wire form of every query, then the name rules,
 * the conflict rules, escapes, malformed queries, limits and memory on
 * small hand-made cases.
 *
 * The reference keeps every entry in declaration order and answers a
 * lookup by scanning all of them: obviously right, and sharing no code with
 * the matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "test_rng.h"

#include "dns/domain_match.h"

#define NONE MF_DOMAIN_NO_SET

/* ---- the reference ---- */

typedef struct {
  char name[MF_DOMAIN_NAME_MAX + 1]; /* lower case, no trailing dot */
  uint32_t set;
  mf_domain_kind_t kind;
} ref_entry_t;

typedef struct {
  ref_entry_t *e;
  uint32_t n, cap;
  uint32_t names, entries, conflicts, overlaps, duplicates;
} ref_t;

static void ref_lower(const char *in, char *out)
{
  size_t n = strlen(in);
  if (n && in[n - 1] == '.')
    n--;
  for (size_t i = 0; i < n; i++)
    out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
  out[n] = 0;
}

/* Keeps the outcome counts the header promises, by brute force. */
static void ref_add(ref_t *r, const char *name, uint32_t set,
                    mf_domain_kind_t kind)
{
  char low[MF_DOMAIN_NAME_MAX + 1];
  ref_lower(name, low);
  bool name_seen = false, other_kind_other_set = false;
  for (uint32_t i = 0; i < r->n; i++) {
    if (strcmp(r->e[i].name, low) != 0)
      continue;
    name_seen = true;
    if (r->e[i].kind == kind) {
      if (r->e[i].set == set)
        r->duplicates++;
      else
        r->conflicts++;
      return; /* the first one stays */
    }
    if (r->e[i].set != set)
      other_kind_other_set = true;
  }
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 256;
    r->e = realloc(r->e, r->cap * sizeof *r->e);
    assert_non_null(r->e);
  }
  ref_entry_t *e = &r->e[r->n++];
  strcpy(e->name, low);
  e->set = set;
  e->kind = kind;
  r->entries++;
  if (!name_seen)
    r->names++;
  if (other_kind_other_set)
    r->overlaps++;
}

/* True when entry e covers the (lower-case) query q. */
static bool ref_covers(const ref_entry_t *e, const char *q, size_t qn)
{
  size_t n = strlen(e->name);
  if (n == qn)
    return memcmp(e->name, q, n) == 0;
  if (e->kind == MF_DOMAIN_EXACT || n > qn)
    return false;
  return q[qn - n - 1] == '.' && memcmp(q + qn - n, e->name, n) == 0;
}

/* Most specific: longest name; on the query itself exact beats suffix.
 * Entries are unique per (name, kind), so there is no other tie. */
static uint32_t ref_lookup(const ref_t *r, const char *query,
                           mf_domain_hit_t *hit)
{
  char q[MF_DOMAIN_NAME_MAX + 2];
  ref_lower(query, q);
  size_t qn = strlen(q);
  /* a malformed name matches nothing */
  size_t label = 0;
  for (size_t i = 0; i <= qn; i++) {
    if (i == qn || q[i] == '.') {
      if (label == 0 || label > 63)
        return NONE;
      label = 0;
    } else {
      label++;
    }
  }
  if (qn > MF_DOMAIN_NAME_MAX)
    return NONE;
  const ref_entry_t *best = NULL;
  size_t best_len = 0;
  for (uint32_t i = 0; i < r->n; i++) {
    const ref_entry_t *e = &r->e[i];
    if (!ref_covers(e, q, qn))
      continue;
    size_t n = strlen(e->name);
    if (!best || n > best_len ||
        (n == best_len && e->kind == MF_DOMAIN_EXACT)) {
      best = e;
      best_len = n;
    }
  }
  if (!best)
    return NONE;
  *hit = (mf_domain_hit_t){.set = best->set, .kind = best->kind,
                           .len = (uint16_t)best_len};
  return best->set;
}

/* ---- random names with many shared suffixes ---- */

static const char *const tlds[] = {"com", "net", "org", "io", "uk", "de"};

/* A label from a pool of the given size (so names share suffixes), or now
 * and then a random one of any length. */
static void rand_label(char *out, uint32_t pool)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  uint32_t len;
  if (rng_below(4)) {
    uint32_t k = rng_below(pool);
    len = 1 + k % 5;
    for (uint32_t i = 0; i < len; i++, k /= 26)
      out[i] = alphabet[(k + i) % 26];
  } else {
    len = 1 + rng_below(rng_below(8) ? 10 : 63);
    for (uint32_t i = 0; i < len; i++)
      out[i] = alphabet[rng_below(sizeof alphabet - 1)];
  }
  out[len] = 0;
}

static void prepend_label(char *name, const char *lab)
{
  size_t n = strlen(lab);
  memmove(name + n + 1, name, strlen(name) + 1);
  memcpy(name, lab, n);
  name[n] = '.';
}

/* Second-level labels from a wide pool, deeper ones from a narrow one
 * ("www", "cdn", ...): many names under one parent, many parents. */
static void rand_name(char *out, uint32_t max_labels)
{
  /* a bare top-level name covers a sixth of all names: rare */
  uint32_t labels = rng_below(5000) == 0 ? 1 : 2 + rng_below(max_labels - 1);
  char lab[64];
  strcpy(out, tlds[rng_below(6)]);
  for (uint32_t i = 1; i < labels; i++) {
    rand_label(lab, i == 1 ? 5000 : 40);
    if (strlen(out) + strlen(lab) + 1 > MF_DOMAIN_NAME_MAX)
      break;
    prepend_label(out, lab);
  }
}

static void rand_case(char *s)
{
  for (; *s; s++)
    if (*s >= 'a' && *s <= 'z' && rng_below(4) == 0)
      *s = (char)(*s - 32);
}

/* A query near an entry: itself, under it, beside it, above it. */
static void rand_query(const ref_t *r, char *q)
{
  char base[MF_DOMAIN_NAME_MAX + 1], lab[64];
  strcpy(base, r->e[rng_below(r->n)].name);
  size_t n = strlen(base);
  switch (rng_below(8)) {
  case 0: /* the entry itself */
    strcpy(q, base);
    break;
  case 1:
  case 2: /* one or more labels under it */
    strcpy(q, base);
    for (uint32_t k = 1 + rng_below(3); k; k--) {
      rand_label(lab, 40);
      if (strlen(q) + strlen(lab) + 1 > MF_DOMAIN_NAME_MAX)
        break;
      prepend_label(q, lab);
    }
    break;
  case 3: /* near miss: "xnetflix.com" beside "netflix.com" */
    if (n + 1 > MF_DOMAIN_NAME_MAX) {
      strcpy(q, base);
      break;
    }
    q[0] = "xa-_9"[rng_below(5)];
    strcpy(q + 1, base);
    break;
  case 4: { /* its parent */
    const char *dot = strchr(base, '.');
    strcpy(q, dot ? dot + 1 : base);
    break;
  }
  case 5: /* one character changed */
    strcpy(q, base);
    q[rng_below((uint32_t)n)] = "abz0-."[rng_below(6)];
    if (q[0] == '.' || q[n - 1] == '.' || strstr(q, ".."))
      strcpy(q, base);
    break;
  case 6: /* a name "under" it that is not: "netflix.com.evil" */
    if (n + 5 > MF_DOMAIN_NAME_MAX) {
      strcpy(q, base);
      break;
    }
    sprintf(q, "%s.%s", base, tlds[rng_below(6)]);
    break;
  default: /* anything */
    rand_name(q, 5);
    break;
  }
  rand_case(q);
  if (rng_below(5) == 0 && strlen(q) < MF_DOMAIN_NAME_MAX + 1)
    strcat(q, ".");
}

/* text "a.b.c" (optional trailing dot) to wire form; returns its length. */
static size_t to_wire(const char *text, uint8_t *w)
{
  size_t pos = 0, n = strlen(text);
  if (n && text[n - 1] == '.')
    n--;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || text[i] == '.') {
      w[pos++] = (uint8_t)(i - start);
      memcpy(w + pos, text + start, i - start);
      pos += i - start;
      start = i + 1;
    }
  }
  w[pos++] = 0;
  return pos;
}

/* ---- differential ---- */

static void check_against_reference(uint32_t n_entries, uint32_t n_sets,
                                     uint32_t n_lookups, uint64_t hash_seed,
                                     const char *first)
{
  ref_t ref = {0};
  mf_domain_builder_t *b = mf_domain_builder_new(0, hash_seed);
  assert_non_null(b);
  char name[MF_DOMAIN_NAME_MAX + 2];
  uint32_t added = 0;
  if (first) {
    mf_domain_builder_add(b, first, strlen(first), 0, MF_DOMAIN_SUFFIX);
    ref_add(&ref, first, 0, MF_DOMAIN_SUFFIX);
  }
  while (added < n_entries) {
    /* Repeat an earlier name now and then: duplicates, conflicts and
     * overlaps. */
    if (ref.n && rng_below(6) == 0)
      strcpy(name, ref.e[rng_below(ref.n)].name);
    else
      rand_name(name, 4);
    rand_case(name);
    uint32_t set = rng_below(n_sets);
    mf_domain_kind_t kind = rng_below(3) ? MF_DOMAIN_SUFFIX : MF_DOMAIN_EXACT;
    mf_domain_result_t r = mf_domain_builder_add(b, name, strlen(name), set,
                                                 kind);
    assert_true(r == MF_DOMAIN_R_OK || r == MF_DOMAIN_R_DUPLICATE ||
                r == MF_DOMAIN_R_CONFLICT || r == MF_DOMAIN_R_OVERLAP);
    ref_add(&ref, name, set, kind);
    added++;
  }
  mf_domain_match_t *m = mf_domain_builder_compile(b);
  assert_non_null(m);
  const mf_domain_stats_t *st = mf_domain_match_stats(m);
  assert_int_equal(st->names, ref.names);
  assert_int_equal(st->entries, ref.entries);
  assert_int_equal(st->conflicts, ref.conflicts);
  assert_int_equal(st->overlaps, ref.overlaps);
  assert_int_equal(st->results[MF_DOMAIN_R_DUPLICATE], ref.duplicates);
  assert_int_equal(st->n_examples,
                   ref.conflicts + ref.overlaps < MF_DOMAIN_EXAMPLES
                       ? ref.conflicts + ref.overlaps
                       : MF_DOMAIN_EXAMPLES);

  char q[MF_DOMAIN_NAME_MAX + 2];
  uint8_t wire[260];
  uint32_t hits = 0, near_misses = 0;
  time_t deadline = time(NULL) + 120;
  for (uint32_t i = 0; i < n_lookups; i++) {
    rand_query(&ref, q);
    mf_domain_hit_t want = {0}, got = {0}, got_w = {0};
    uint32_t exp = ref_lookup(&ref, q, &want);
    uint32_t set = mf_domain_match_lookup(m, q, strlen(q), &got);
    if (set != exp)
      fail_msg("lookup %s: got %u want %u", q, set, exp);
    uint32_t set_w = mf_domain_match_lookup_wire(m, wire, to_wire(q, wire),
                                                 &got_w);
    if (set_w != exp)
      fail_msg("wire lookup %s: got %u want %u", q, set_w, exp);
    if (exp != NONE) {
      hits++;
      assert_int_equal(got.kind, want.kind);
      assert_int_equal(got.len, want.len);
      assert_memory_equal(&got, &got_w, sizeof got);
    } else {
      near_misses++;
    }
    if ((i & 1023) == 0 && time(NULL) > deadline)
      fail_msg("out of time after %u lookups", i);
  }
  /* The mix must exercise both outcomes. */
  assert_true(hits > n_lookups / 10);
  assert_true(near_misses > n_lookups / 10);
  printf("# %u entries (%u names) in %u sets: %u hits, %u misses, "
         "%u conflicts, %u overlaps\n",
         ref.n, ref.names, n_sets, hits, near_misses, ref.conflicts,
         ref.overlaps);
  mf_domain_match_free(m);
  free(ref.e);
}

static void test_differential(void **state)
{
  (void)state;
  uint64_t seed = rng_seed("differential", 20250610);
  check_against_reference(3000, 16, 100000, seed ^ 1, "uk");
  check_against_reference(3000, 2, 30000, seed ^ 2, NULL);
  check_against_reference(300, 3, 20000, seed ^ 3, "de");
  check_against_reference(20, 2, 5000, seed ^ 4, NULL);
  check_against_reference(1, 1, 1000, seed ^ 5, NULL);
}

/* The hash seed changes where names sit, never the answers. */
static void test_seed_independent(void **state)
{
  (void)state;
  rng_seed("seed_independent", 20250610);
  char names[500][MF_DOMAIN_NAME_MAX + 1];
  mf_domain_builder_t *b1 = mf_domain_builder_new(0, 1);
  mf_domain_builder_t *b2 = mf_domain_builder_new(0, 0xdeadbeefcafef00dull);
  for (int i = 0; i < 500; i++) {
    rand_name(names[i], 4);
    uint32_t set = rng_below(7);
    mf_domain_kind_t kind = rng_below(2) ? MF_DOMAIN_SUFFIX : MF_DOMAIN_EXACT;
    mf_domain_builder_add(b1, names[i], strlen(names[i]), set, kind);
    mf_domain_builder_add(b2, names[i], strlen(names[i]), set, kind);
  }
  mf_domain_match_t *m1 = mf_domain_builder_compile(b1);
  mf_domain_match_t *m2 = mf_domain_builder_compile(b2);
  char q[MF_DOMAIN_NAME_MAX + 1];
  for (int i = 0; i < 20000; i++) {
    if (i & 1)
      snprintf(q, sizeof q, "w.%.240s", names[rng_below(500)]);
    else
      rand_name(q, 4);
    assert_int_equal(mf_domain_match_lookup(m1, q, strlen(q), NULL),
                     mf_domain_match_lookup(m2, q, strlen(q), NULL));
  }
  mf_domain_match_free(m1);
  mf_domain_match_free(m2);
}

/* ---- names ---- */

static mf_domain_result_t norm(const char *in, char *out)
{
  size_t n = 0;
  mf_domain_result_t r = mf_domain_name_normalize(in, strlen(in), out, &n);
  if (r == MF_DOMAIN_R_OK)
    assert_int_equal(n, strlen(out));
  return r;
}

static void test_normalize(void **state)
{
  (void)state;
  char out[MF_DOMAIN_NAME_MAX + 1], in[400];
  assert_int_equal(norm("WWW.NetFlix.COM.", out), MF_DOMAIN_R_OK);
  assert_string_equal(out, "www.netflix.com");
  assert_int_equal(norm("_sip._tcp.example.com", out), MF_DOMAIN_R_OK);
  assert_int_equal(norm("xn--bcher-kva.example", out), MF_DOMAIN_R_OK);
  assert_int_equal(norm("a-.-b.c", out), MF_DOMAIN_R_OK); /* DNS allows it */
  assert_int_equal(norm("com", out), MF_DOMAIN_R_OK);
  assert_int_equal(norm("1.2.3", out), MF_DOMAIN_R_OK);
  assert_int_equal(norm("", out), MF_DOMAIN_R_EMPTY);
  assert_int_equal(norm(".", out), MF_DOMAIN_R_EMPTY);
  assert_int_equal(norm(".x.com", out), MF_DOMAIN_R_EMPTY_LABEL);
  assert_int_equal(norm("x..com", out), MF_DOMAIN_R_EMPTY_LABEL);
  assert_int_equal(norm("x.com..", out), MF_DOMAIN_R_EMPTY_LABEL);
  assert_int_equal(norm("*.x.com", out), MF_DOMAIN_R_BAD_CHAR);
  assert_int_equal(norm("a b.com", out), MF_DOMAIN_R_BAD_CHAR);
  assert_int_equal(norm("bücher.de", out), MF_DOMAIN_R_BAD_CHAR);
  assert_int_equal(norm("10.0.0.1", out), MF_DOMAIN_R_IP_ADDRESS);
  assert_int_equal(norm("10.0.0.1.", out), MF_DOMAIN_R_IP_ADDRESS);
  assert_int_equal(mf_domain_name_normalize("a\0b.com", 7, out, &(size_t){0}),
                   MF_DOMAIN_R_BAD_CHAR);
  /* labels: 63 is the most */
  memset(in, 'a', 63);
  strcpy(in + 63, ".com");
  assert_int_equal(norm(in, out), MF_DOMAIN_R_OK);
  memset(in, 'a', 64);
  strcpy(in + 64, ".com");
  assert_int_equal(norm(in, out), MF_DOMAIN_R_LABEL_TOO_LONG);
  /* names: 253 is the most, with or without the trailing dot */
  for (int i = 0; i < 253; i++)
    in[i] = (i % 2) ? '.' : 'a';
  in[253] = 0;
  assert_int_equal(norm(in, out), MF_DOMAIN_R_OK);
  strcpy(in + 253, ".");
  assert_int_equal(norm(in, out), MF_DOMAIN_R_OK);
  strcpy(in + 253, "b");
  assert_int_equal(norm(in, out), MF_DOMAIN_R_TOO_LONG);
  for (int r = 0; r < MF_DOMAIN_N_RESULT; r++) {
    assert_string_not_equal(mf_domain_result_name(r), "?");
    assert_string_not_equal(mf_domain_result_text(r), "?");
  }
  assert_string_equal(mf_domain_result_name(MF_DOMAIN_N_RESULT), "?");
}

/* ---- lookups on hand-made sets ---- */

typedef struct {
  const char *name;
  uint32_t set;
  mf_domain_kind_t kind;
} entry_t;

static mf_domain_match_t *build(const entry_t *e, size_t n)
{
  mf_domain_builder_t *b = mf_domain_builder_new(0, 0);
  assert_non_null(b);
  for (size_t i = 0; i < n; i++)
    mf_domain_builder_add(b, e[i].name, strlen(e[i].name), e[i].set,
                          e[i].kind);
  mf_domain_match_t *m = mf_domain_builder_compile(b);
  assert_non_null(m);
  return m;
}

static uint32_t look(const mf_domain_match_t *m, const char *q)
{
  return mf_domain_match_lookup(m, q, strlen(q), NULL);
}

static void test_suffix_and_exact(void **state)
{
  (void)state;
  static const entry_t e[] = {
      {"netflix.com", 1, MF_DOMAIN_SUFFIX},
      {"nflxvideo.net", 1, MF_DOMAIN_SUFFIX},
      {"ads.netflix.com", 2, MF_DOMAIN_SUFFIX},
      {"api.ads.netflix.com", 3, MF_DOMAIN_EXACT},
      {"only.example", 4, MF_DOMAIN_EXACT},
      {"example", 5, MF_DOMAIN_SUFFIX},
      {"b.com", 6, MF_DOMAIN_EXACT},
  };
  mf_domain_match_t *m = build(e, sizeof e / sizeof e[0]);
  assert_int_equal(look(m, "netflix.com"), 1);
  assert_int_equal(look(m, "www.netflix.com"), 1);
  assert_int_equal(look(m, "WWW.NETFLIX.COM."), 1);
  assert_int_equal(look(m, "a.b.c.d.netflix.com"), 1);
  assert_int_equal(look(m, "xnetflix.com"), NONE);
  assert_int_equal(look(m, "netflix.com.evil"), NONE);
  assert_int_equal(look(m, "netflix.co"), NONE);
  assert_int_equal(look(m, "etflix.com"), NONE);
  assert_int_equal(look(m, "com"), NONE);
  /* the longest suffix wins */
  assert_int_equal(look(m, "ads.netflix.com"), 2);
  assert_int_equal(look(m, "x.ads.netflix.com"), 2);
  assert_int_equal(look(m, "xads.netflix.com"), 1);
  /* an exact entry is for the name itself only */
  assert_int_equal(look(m, "api.ads.netflix.com"), 3);
  assert_int_equal(look(m, "v1.api.ads.netflix.com"), 2);
  assert_int_equal(look(m, "only.example"), 4);
  assert_int_equal(look(m, "x.only.example"), 5);
  assert_int_equal(look(m, "b.com"), 6);
  assert_int_equal(look(m, "a.b.com"), NONE);
  mf_domain_hit_t hit = {0};
  assert_int_equal(mf_domain_match_lookup(m, "v.ads.netflix.com.", 18, &hit),
                   2);
  assert_int_equal(hit.set, 2);
  assert_int_equal(hit.kind, MF_DOMAIN_SUFFIX);
  assert_int_equal(hit.len, strlen("ads.netflix.com"));
  assert_int_equal(mf_domain_match_lookup(m, "only.example", 12, &hit), 4);
  assert_int_equal(hit.kind, MF_DOMAIN_EXACT);
  mf_domain_match_free(m);
}

static void test_escapes_and_odd_labels(void **state)
{
  (void)state;
  static const entry_t e[] = {{"netflix.com", 1, MF_DOMAIN_SUFFIX},
                              {"a.b", 2, MF_DOMAIN_EXACT}};
  mf_domain_match_t *m = build(e, 2);
  /* "\." is a dot inside a label: the label "evil.netflix" is not under
   * netflix.com */
  assert_int_equal(look(m, "evil\\.netflix.com"), NONE);
  assert_int_equal(look(m, "netflix\\.com"), NONE);
  assert_int_equal(look(m, "www.netflix\\.com"), NONE);
  assert_int_equal(look(m, "a\\.b"), NONE);
  /* escaped ordinary characters are themselves */
  assert_int_equal(look(m, "\\078etflix.com"), 1);
  assert_int_equal(look(m, "\\netflix.co\\m"), 1);
  assert_int_equal(look(m, "x\\046y.netflix.com"), 1); /* label "x.y" */
  /* labels that cannot be in a set still sit under one */
  assert_int_equal(look(m, "*.netflix.com"), 1);
  assert_int_equal(look(m, "foo bar.netflix.com"), 1);
  assert_int_equal(look(m, "\\000.netflix.com"), 1);
  assert_int_equal(look(m, "caf\xc3\xa9.netflix.com"), 1);
  assert_int_equal(look(m, "netflix.com\\032"), NONE);
  /* malformed: nothing matches */
  assert_int_equal(look(m, ""), NONE);
  assert_int_equal(look(m, "."), NONE);
  assert_int_equal(look(m, ".netflix.com"), NONE);
  assert_int_equal(look(m, "a..netflix.com"), NONE);
  assert_int_equal(look(m, "netflix.com.."), NONE);
  assert_int_equal(look(m, "netflix.com\\"), NONE);
  assert_int_equal(look(m, "\\25.netflix.com"), NONE);
  assert_int_equal(look(m, "\\256.netflix.com"), NONE);
  char q[400];
  memset(q, 'a', 64);
  strcpy(q + 64, ".netflix.com");
  assert_int_equal(look(m, q), NONE);
  q[0] = '\\';
  q[1] = '9';
  q[2] = '7';
  q[3] = '9'; /* \979 is out of range */
  assert_int_equal(look(m, q), NONE);
  memset(q, 'a', 63);
  strcpy(q + 63, ".netflix.com");
  assert_int_equal(look(m, q), 1);
  /* 253 characters at most: 241 + ".netflix.com" fits, 242 does not */
  for (int i = 0; i < 241; i++)
    q[i] = (i % 2) ? '.' : 'a';
  strcpy(q + 241, ".netflix.com");
  assert_int_equal(strlen(q), 253);
  assert_int_equal(look(m, q), 1);
  memmove(q + 1, q, strlen(q) + 1);
  q[0] = 'a';
  q[1] = 'a';
  assert_int_equal(look(m, q), NONE);
  /* escapes count as one octet against that limit */
  for (int i = 0; i < 240; i++)
    q[i] = (i % 2) ? '.' : 'a';
  strcpy(q + 240, "\\097.netflix.com");
  assert_int_equal(look(m, q), 1);
  mf_domain_match_free(m);
}

static void test_wire(void **state)
{
  (void)state;
  static const entry_t e[] = {{"netflix.com", 1, MF_DOMAIN_SUFFIX}};
  mf_domain_match_t *m = build(e, 1);
  static const uint8_t www[] = "\3www\7NetFlix\3com";
  assert_int_equal(mf_domain_match_lookup_wire(m, www, sizeof www, NULL), 1);
  /* short by one: no root label */
  assert_int_equal(mf_domain_match_lookup_wire(m, www, sizeof www - 1, NULL),
                   NONE);
  static const uint8_t dotted[] = "\14evil.netflix\3com";
  assert_int_equal(mf_domain_match_lookup_wire(m, dotted, sizeof dotted, NULL),
                   NONE);
  static const uint8_t one[] = "\13netflix.com";
  assert_int_equal(mf_domain_match_lookup_wire(m, one, sizeof one, NULL), NONE);
  static const uint8_t ptr[] = "\3www\xc0\x0c";
  assert_int_equal(mf_domain_match_lookup_wire(m, ptr, sizeof ptr, NULL), NONE);
  static const uint8_t root[] = "";
  assert_int_equal(mf_domain_match_lookup_wire(m, root, 1, NULL), NONE);
  assert_int_equal(mf_domain_match_lookup_wire(m, root, 0, NULL), NONE);
  static const uint8_t binary[] = "\2\0\xff\7netflix\3com";
  assert_int_equal(mf_domain_match_lookup_wire(m, binary, sizeof binary, NULL),
                   1);
  /* 255 octets at most */
  uint8_t w[300];
  size_t pos = 0;
  while (pos + 2 + 13 <= 255) {
    w[pos++] = 1;
    w[pos++] = 'a';
  }
  memcpy(w + pos, "\7netflix\3com", 13);
  pos += 13;
  assert_true(pos <= 255);
  assert_int_equal(mf_domain_match_lookup_wire(m, w, pos, NULL), 1);
  memmove(w + 2, w, pos);
  w[0] = 1;
  w[1] = 'a';
  assert_int_equal(mf_domain_match_lookup_wire(m, w, pos + 2, NULL), NONE);
  mf_domain_match_free(m);
}

/* ---- the builder ---- */

static void test_conflicts(void **state)
{
  (void)state;
  mf_domain_builder_t *b = mf_domain_builder_new(0, 0);
  struct {
    const char *name;
    uint32_t set;
    mf_domain_kind_t kind;
    mf_domain_result_t want;
  } steps[] = {
      {"netflix.com", 1, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_OK},
      {"NETFLIX.com.", 1, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_DUPLICATE},
      {"netflix.com", 2, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_CONFLICT},
      {"netflix.com", 1, MF_DOMAIN_EXACT, MF_DOMAIN_R_OK},
      {"netflix.com", 3, MF_DOMAIN_EXACT, MF_DOMAIN_R_CONFLICT},
      {"hulu.com", 4, MF_DOMAIN_EXACT, MF_DOMAIN_R_OK},
      {"hulu.com", 5, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_OVERLAP},
      {"x..com", 5, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_EMPTY_LABEL},
      {"ok.com", MF_DOMAIN_MAX_SETS, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_BAD_SET},
      {"ok.com", MF_DOMAIN_MAX_SETS - 1, MF_DOMAIN_SUFFIX, MF_DOMAIN_R_OK},
  };
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    assert_int_equal(mf_domain_builder_add(b, steps[i].name,
                                           strlen(steps[i].name), steps[i].set,
                                           steps[i].kind),
                     steps[i].want);
  assert_int_equal(mf_domain_builder_add(b, "ok.com", 6, 0, (mf_domain_kind_t)7),
                   MF_DOMAIN_R_BAD_SET);
  const mf_domain_stats_t *bs = mf_domain_builder_stats(b);
  assert_int_equal(bs->names, 3);
  assert_int_equal(bs->entries, 5);
  mf_domain_match_t *m = mf_domain_builder_compile(b);
  const mf_domain_stats_t *st = mf_domain_match_stats(m);
  assert_int_equal(st->names, 3);
  assert_int_equal(st->entries, 5);
  assert_int_equal(st->conflicts, 2);
  assert_int_equal(st->overlaps, 1);
  assert_int_equal(st->results[MF_DOMAIN_R_OK], 4);
  assert_int_equal(st->results[MF_DOMAIN_R_DUPLICATE], 1);
  assert_int_equal(st->results[MF_DOMAIN_R_BAD_SET], 2);
  assert_int_equal(st->results[MF_DOMAIN_R_EMPTY_LABEL], 1);
  assert_int_equal(st->name_bytes, strlen("netflix.comhulu.comok.com"));
  assert_int_equal(st->n_examples, 3);
  assert_string_equal(st->examples[0].name, "netflix.com");
  assert_int_equal(st->examples[0].kept_set, 1);
  assert_int_equal(st->examples[0].other_set, 2);
  assert_int_equal(st->examples[0].result, MF_DOMAIN_R_CONFLICT);
  assert_int_equal(st->examples[1].kind, MF_DOMAIN_EXACT);
  assert_int_equal(st->examples[1].other_set, 3);
  assert_string_equal(st->examples[2].name, "hulu.com");
  assert_int_equal(st->examples[2].kept_set, 4);
  assert_int_equal(st->examples[2].other_set, 5);
  assert_int_equal(st->examples[2].result, MF_DOMAIN_R_OVERLAP);
  /* the first declared wins; an overlap splits the name from its children */
  assert_int_equal(look(m, "www.netflix.com"), 1);
  assert_int_equal(look(m, "netflix.com"), 1);
  assert_int_equal(look(m, "hulu.com"), 4);
  assert_int_equal(look(m, "www.hulu.com"), 5);
  assert_int_equal(look(m, "a.ok.com"), MF_DOMAIN_MAX_SETS - 1);
  mf_domain_match_free(m);

  /* only the first few examples are kept, every one is counted */
  b = mf_domain_builder_new(0, 0);
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "n%d.example", i);
    mf_domain_builder_add(b, name, strlen(name), 0, MF_DOMAIN_SUFFIX);
    mf_domain_builder_add(b, name, strlen(name), 1, MF_DOMAIN_SUFFIX);
  }
  m = mf_domain_builder_compile(b);
  assert_int_equal(mf_domain_match_stats(m)->conflicts, 20);
  assert_int_equal(mf_domain_match_stats(m)->n_examples, MF_DOMAIN_EXAMPLES);
  assert_string_equal(mf_domain_match_stats(m)->examples[7].name, "n7.example");
  mf_domain_match_free(m);
}

static void test_limits(void **state)
{
  (void)state;
  mf_domain_builder_t *b = mf_domain_builder_new(3, 0);
  assert_int_equal(mf_domain_builder_add(b, "a.com", 5, 0, MF_DOMAIN_SUFFIX),
                   MF_DOMAIN_R_OK);
  assert_int_equal(mf_domain_builder_add(b, "b.com", 5, 0, MF_DOMAIN_SUFFIX),
                   MF_DOMAIN_R_OK);
  assert_int_equal(mf_domain_builder_add(b, "c.com", 5, 0, MF_DOMAIN_SUFFIX),
                   MF_DOMAIN_R_OK);
  assert_int_equal(mf_domain_builder_add(b, "d.com", 5, 0, MF_DOMAIN_SUFFIX),
                   MF_DOMAIN_R_FULL);
  /* a name already held takes its other kind without a new slot */
  assert_int_equal(mf_domain_builder_add(b, "a.com", 5, 0, MF_DOMAIN_EXACT),
                   MF_DOMAIN_R_OK);
  assert_int_equal(mf_domain_builder_add(b, "b.com", 5, 1, MF_DOMAIN_SUFFIX),
                   MF_DOMAIN_R_CONFLICT);
  mf_domain_match_t *m = mf_domain_builder_compile(b);
  assert_int_equal(mf_domain_match_stats(m)->results[MF_DOMAIN_R_FULL], 1);
  assert_int_equal(look(m, "x.c.com"), 0);
  assert_int_equal(look(m, "x.d.com"), NONE);
  mf_domain_match_free(m);

  /* nothing at all */
  b = mf_domain_builder_new(0, 0);
  m = mf_domain_builder_compile(b);
  assert_non_null(m);
  assert_int_equal(look(m, "netflix.com"), NONE);
  assert_int_equal(mf_domain_match_stats(m)->names, 0);
  mf_domain_match_free(m);
  assert_int_equal(mf_domain_match_lookup(NULL, "x.com", 5, NULL), NONE);
  mf_domain_match_free(NULL);
  mf_domain_builder_free(NULL);
  mf_domain_builder_free(mf_domain_builder_new(0, 0));
}

/* The memory the header promises: well under 30 bytes a name besides the
 * names' own characters. */
static void test_memory(void **state)
{
  (void)state;
  rng_seed("memory", 20250610);
  enum { N = 200000 };
  mf_domain_builder_t *b = mf_domain_builder_new(0, 0);
  char name[MF_DOMAIN_NAME_MAX + 1];
  for (uint32_t i = 0; i < N; i++) {
    snprintf(name, sizeof name, "h%x-%x.%s", i, (unsigned)rng_below(1000), tlds[i % 6]);
    assert_int_equal(mf_domain_builder_add(b, name, strlen(name), i % 5,
                                           MF_DOMAIN_SUFFIX),
                     MF_DOMAIN_R_OK);
  }
  mf_domain_match_t *m = mf_domain_builder_compile(b);
  const mf_domain_stats_t *st = mf_domain_match_stats(m);
  assert_int_equal(st->names, N);
  double over = (double)(st->bytes - st->name_bytes) / N;
  printf("# %u names: %.1f bytes a name besides %.1f of characters\n", N,
         over, (double)st->name_bytes / N);
  assert_true(over < 20.0);
  for (uint32_t i = 0; i < N; i += 997) {
    snprintf(name, sizeof name, "www.h%x", i);
    /* the prefix of a held name, not a held name: a miss */
    assert_int_equal(look(m, name), NONE);
  }
  mf_domain_match_free(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalize),
      cmocka_unit_test(test_suffix_and_exact),
      cmocka_unit_test(test_escapes_and_odd_labels),
      cmocka_unit_test(test_wire),
      cmocka_unit_test(test_conflicts),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_seed_independent),
      cmocka_unit_test(test_differential),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
