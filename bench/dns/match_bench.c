/* Domain-set matcher: load time, memory and lookups per second for a
 * million names.
 *
 *   match_bench [NAMES] [LOOKUPS] [NAMES_FILE]
 *
 * Generates NAMES names shaped like real lists (random second-level labels
 * under common top-level domains, a quarter with a subdomain; nine in ten
 * suffix entries, the rest exact; eight sets), writes them as a plain list
 * and loads that text the way the daemon will (list parser, builder,
 * compile). Then looks up LOOKUPS names of each kind: hits (a held name or
 * one under it), near misses ("x" before a held name: the same top-level
 * domain, the same length) and misses (fresh names). NAMES_FILE, when
 * given, receives the names one per line, for run_match.sh to load the same
 * list into dnsmasq. Prints one "key: value" line per figure. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/domain_lists.h"
#include "dns/domain_match.h"

static uint64_t rng_state = 20250610;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n)
{
  return (uint32_t)(rng_next() % n);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* kB of a "Key: n kB" line of a /proc/self file */
static long proc_kb_in(const char *file, const char *key)
{
  char line[256];
  long kb = -1;
  size_t k = strlen(key);
  FILE *f = fopen(file, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, k) == 0 && line[k] == ':')
      kb = strtol(line + k + 1, NULL, 10);
  fclose(f);
  return kb;
}

static long proc_kb(const char *key)
{
  return proc_kb_in("/proc/self/status", key);
}

static const char *const tlds[] = {"com", "com", "com", "com", "net", "org",
                                   "io",  "co.uk", "de", "cn", "ru", "info"};
static const char *const subs[] = {"www", "cdn", "api", "ads", "img",
                                   "static", "m", "app"};

static size_t rand_label(char *out, uint32_t min, uint32_t max)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  size_t n = min + rng_below(max - min + 1);
  for (size_t i = 0; i < n; i++)
    out[i] = alphabet[rng_below(i ? 36 : 26)];
  return n;
}

/* A name shaped like the ones in real lists; returns its length. */
static size_t rand_name(char *out)
{
  size_t n = 0;
  if (rng_below(4) == 0) {
    if (rng_below(2))
      n += (size_t)sprintf(out, "%s", subs[rng_below(8)]);
    else
      n += rand_label(out, 2, 10);
    out[n++] = '.';
  }
  n += rand_label(out + n, 4, 14);
  n += (size_t)sprintf(out + n, ".%s", tlds[rng_below(12)]);
  return n;
}

typedef struct {
  mf_domain_builder_t *b;
  uint32_t i;
} load_ctx_t;

static int on_name(void *arg, const mf_domain_list_entry_t *e)
{
  load_ctx_t *c = arg;
  /* nine in ten suffix entries, eight sets */
  mf_domain_kind_t kind = c->i % 10 == 9 ? MF_DOMAIN_EXACT : e->kind;
  mf_domain_builder_add(c->b, e->name, e->len, c->i % 8, kind);
  c->i++;
  return 0;
}

typedef struct {
  char *text; /* queries back to back, NUL-separated */
  uint32_t *off;
  uint16_t *len;
  uint32_t n;
} queries_t;

static void queries_init(queries_t *q, uint32_t n)
{
  q->text = malloc((size_t)n * 48); /* the longest query is 42 bytes */
  q->off = malloc((size_t)n * sizeof *q->off);
  q->len = malloc((size_t)n * sizeof *q->len);
  q->n = 0;
  if (!q->text || !q->off || !q->len) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
}

static void queries_add(queries_t *q, const char *s, size_t n)
{
  uint32_t off = q->n ? q->off[q->n - 1] + q->len[q->n - 1] + 1 : 0;
  memcpy(q->text + off, s, n);
  q->text[off + n] = 0;
  q->off[q->n] = off;
  q->len[q->n] = (uint16_t)n;
  q->n++;
}

static void queries_free(queries_t *q)
{
  free(q->text);
  free(q->off);
  free(q->len);
}

/* Lookups per second over the queries, a few rounds; *found: matches. */
static double run_lookups(const mf_domain_match_t *m, const queries_t *q,
                          uint32_t *found)
{
  uint32_t hits = 0;
  double best = 0;
  for (int round = 0; round < 3; round++) {
    hits = 0;
    double t0 = now_s();
    for (uint32_t i = 0; i < q->n; i++)
      hits += mf_domain_match_lookup(m, q->text + q->off[i], q->len[i],
                                     NULL) != MF_DOMAIN_NO_SET;
    double rate = q->n / (now_s() - t0);
    if (rate > best)
      best = rate;
  }
  *found = hits;
  return best;
}

static double run_lookups_wire(const mf_domain_match_t *m, const uint8_t *w,
                               const uint32_t *woff, const uint16_t *wlen,
                               uint32_t n, uint32_t *found)
{
  uint32_t hits = 0;
  double best = 0;
  for (int round = 0; round < 3; round++) {
    hits = 0;
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++)
      hits += mf_domain_match_lookup_wire(m, w + woff[i], wlen[i], NULL) !=
              MF_DOMAIN_NO_SET;
    double rate = n / (now_s() - t0);
    if (rate > best)
      best = rate;
  }
  *found = hits;
  return best;
}

int main(int argc, char **argv)
{
  uint32_t n_names = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1000000;
  uint32_t n_lookups = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 2000000;
  const char *names_file = argc > 3 ? argv[3] : NULL;
  if (n_names == 0 || n_lookups == 0) {
    fprintf(stderr, "usage: match_bench [NAMES] [LOOKUPS] [NAMES_FILE]\n");
    return 2;
  }

  /* the list, as a file would hold it */
  char *list = malloc((size_t)n_names * 40);
  uint32_t *name_off = malloc((size_t)n_names * sizeof *name_off);
  if (!list || !name_off)
    return 1;
  size_t list_len = 0;
  for (uint32_t i = 0; i < n_names; i++) {
    name_off[i] = (uint32_t)list_len;
    list_len += rand_name(list + list_len);
    list[list_len++] = '\n';
  }
  if (names_file) {
    FILE *f = fopen(names_file, "w");
    if (!f || fwrite(list, 1, list_len, f) != list_len || fclose(f)) {
      perror(names_file);
      return 1;
    }
  }

  malloc_trim(0);
  long rss0 = proc_kb("VmRSS");
  double t0 = now_s();
  load_ctx_t lc = {.b = mf_domain_builder_new(0, 0)};
  mf_domain_lists_stats_t ls;
  mf_domain_lists_parse(list, list_len, MF_DOMAIN_LIST_AUTO, on_name, &lc, &ls);
  double t1 = now_s();
  mf_domain_match_t *m = mf_domain_builder_compile(lc.b);
  double t2 = now_s();
  if (!m)
    return 1;
  malloc_trim(0);
  long rss1 = proc_kb("VmRSS");
  const mf_domain_stats_t *st = mf_domain_match_stats(m);

  printf("names_in_list: %u\n", n_names);
  printf("list_format: %s\n", mf_domain_lists_format_name(ls.format));
  printf("names_held: %u\n", st->names);
  printf("entries_held: %u\n", st->entries);
  printf("duplicates: %llu\n",
         (unsigned long long)st->results[MF_DOMAIN_R_DUPLICATE]);
  printf("load_parse_and_add_ms: %.1f\n", (t1 - t0) * 1e3);
  printf("load_compile_ms: %.1f\n", (t2 - t1) * 1e3);
  printf("load_total_ms: %.1f\n", (t2 - t0) * 1e3);
  printf("name_bytes_per_name: %.1f\n", (double)st->name_bytes / st->names);
  printf("matcher_bytes: %llu\n", (unsigned long long)st->bytes);
  printf("matcher_bytes_per_name: %.1f\n", (double)st->bytes / st->names);
  printf("overhead_bytes_per_name: %.1f\n",
         (double)(st->bytes - st->name_bytes) / st->names);
  printf("rss_growth_kb: %ld\n", rss1 - rss0);
  printf("peak_rss_kb: %ld\n", proc_kb("VmHWM"));
  printf("huge_pages_kb: %ld\n",
         proc_kb_in("/proc/self/smaps_rollup", "AnonHugePages"));

  /* queries, made before any timing */
  queries_t hit, near, miss;
  queries_init(&hit, n_lookups);
  queries_init(&near, n_lookups);
  queries_init(&miss, n_lookups);
  char buf[300], lab[16];
  for (uint32_t i = 0; i < n_lookups; i++) {
    uint32_t k = rng_below(n_names);
    const char *s = list + name_off[k];
    size_t n = (size_t)(strchr(s, '\n') - s);
    size_t pre = 0;
    if (rng_below(2)) {
      pre = rand_label(lab, 1, 8);
      memcpy(buf, lab, pre);
      buf[pre++] = '.';
    }
    memcpy(buf + pre, s, n);
    queries_add(&hit, buf, pre + n);
    buf[0] = 'x';
    memcpy(buf + 1, s, n);
    queries_add(&near, buf, n + 1);
    n = rand_name(buf);
    queries_add(&miss, buf, n);
  }
  /* wire form of the hits */
  uint8_t *wire = malloc((size_t)n_lookups * 48);
  uint32_t *woff = malloc((size_t)n_lookups * sizeof *woff);
  uint16_t *wlen = malloc((size_t)n_lookups * sizeof *wlen);
  if (!wire || !woff || !wlen)
    return 1;
  size_t wpos = 0;
  for (uint32_t i = 0; i < n_lookups; i++) {
    const char *s = hit.text + hit.off[i];
    woff[i] = (uint32_t)wpos;
    const char *start = s;
    for (const char *p = s;; p++) {
      if (*p == '.' || *p == 0) {
        wire[wpos++] = (uint8_t)(p - start);
        memcpy(wire + wpos, start, (size_t)(p - start));
        wpos += (size_t)(p - start);
        start = p + 1;
        if (*p == 0)
          break;
      }
    }
    wire[wpos++] = 0;
    wlen[i] = (uint16_t)(wpos - woff[i]);
  }

  /* One untimed pass first: whichever kind ran first measured slower (page
   * tables and caches still cold), which is not what a running server
   * sees. */
  uint32_t found;
  run_lookups(m, &miss, &found);
  double r = run_lookups(m, &hit, &found);
  printf("lookups_hit_per_s: %.0f (%.1f ns each, %.1f%% matched)\n", r,
         1e9 / r, 100.0 * found / n_lookups);
  r = run_lookups_wire(m, wire, woff, wlen, n_lookups, &found);
  printf("lookups_hit_wire_per_s: %.0f (%.1f ns each, %.1f%% matched)\n", r,
         1e9 / r, 100.0 * found / n_lookups);
  r = run_lookups(m, &near, &found);
  printf("lookups_near_miss_per_s: %.0f (%.1f ns each, %.1f%% matched)\n", r,
         1e9 / r, 100.0 * found / n_lookups);
  r = run_lookups(m, &miss, &found);
  printf("lookups_miss_per_s: %.0f (%.1f ns each, %.1f%% matched)\n", r,
         1e9 / r, 100.0 * found / n_lookups);

  queries_free(&hit);
  queries_free(&near);
  queries_free(&miss);
  free(wire);
  free(woff);
  free(wlen);
  free(list);
  free(name_off);
  mf_domain_match_free(m);
  return 0;
}
