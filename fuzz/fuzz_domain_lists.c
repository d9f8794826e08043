/* libFuzzer target for the domain list parsers and the matcher: any bytes
 * go through every format (and detection), every name found goes into one
 * builder, and the compiled matcher must find each of them again, in text
 * and wire form. The input's lines are also looked up as query names, text
 * and wire, whatever bytes they hold. Never a crash, a leak or a hang.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_domain_lists.c
 *   ./fuzz_domain_lists fuzz/corpus/domain_lists */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/domain_lists.h"
#include "dns/domain_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NAMES 2048 /* per input: bounds the time of one run */
#define KEPT 256       /* names looked up again after the build */
#define QUERIES 256    /* input lines looked up as names */

typedef struct {
  mf_domain_builder_t *b;
  uint32_t set;
  uint32_t calls;
  uint32_t n_kept;
  char kept[KEPT][MF_DOMAIN_NAME_MAX + 1];
} ctx_t;

static void fail(const char *why, const char *name)
{
  fprintf(stderr, "%s: %s\n", why, name);
  abort();
}

static int on_name(void *arg, const mf_domain_list_entry_t *e)
{
  ctx_t *c = arg;
  char norm[MF_DOMAIN_NAME_MAX + 1];
  size_t n = 0;
  /* what a parser passes on is already a normalised, valid name */
  if (e->len != strlen(e->name) ||
      mf_domain_name_normalize(e->name, e->len, norm, &n) != MF_DOMAIN_R_OK ||
      n != e->len || memcmp(norm, e->name, n) != 0)
    fail("parser passed on a name that is not normalised", e->name);
  if (e->line == 0 || (e->kind != MF_DOMAIN_SUFFIX && e->kind != MF_DOMAIN_EXACT))
    fail("bad line or kind", e->name);
  mf_domain_result_t r = mf_domain_builder_add(c->b, e->name, e->len,
                                               c->set + e->line % 3, e->kind);
  if (r != MF_DOMAIN_R_OK && r != MF_DOMAIN_R_DUPLICATE &&
      r != MF_DOMAIN_R_CONFLICT && r != MF_DOMAIN_R_OVERLAP)
    fail(mf_domain_result_name(r), e->name);
  if (c->n_kept < KEPT)
    memcpy(c->kept[c->n_kept++], e->name, e->len + 1);
  return ++c->calls >= MAX_NAMES;
}

static uint32_t count_lines(const uint8_t *data, size_t size)
{
  uint32_t n = size ? 1 : 0;
  for (size_t i = 0; i < size; i++)
    if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n')))
      n++;
  return n;
}

static void check_stats(const mf_domain_lists_stats_t *st, uint32_t max_lines,
                        bool stopped)
{
  uint64_t accounted = st->names;
  for (int s = 0; s < MF_DOMAIN_LISTS_N_SKIP; s++) {
    accounted += st->skipped[s];
    if ((st->skipped[s] == 0) != (st->first_line[s] == 0) ||
        st->first_line[s] > st->lines)
      fail("skip counter and first line disagree",
           mf_domain_lists_skip_name((mf_domain_lists_skip_t)s));
  }
  if (st->lines > max_lines)
    fail("more lines than the input has", "");
  /* every line gives a name or a skip, or several of them */
  if (!stopped && accounted < st->lines)
    fail("a line was neither passed on nor counted", "");
  if (st->format == MF_DOMAIN_LIST_AUTO || st->format >= MF_DOMAIN_LIST_N_FORMAT)
    fail("no format chosen", "");
}

/* text form to wire form; false when it does not fit a wire name */
static bool to_wire(const char *s, uint8_t *w, size_t *len)
{
  size_t pos = 0, start = 0, n = strlen(s);
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (pos + 1 + (i - start) + 1 > 255)
        return false;
      w[pos++] = (uint8_t)(i - start);
      memcpy(w + pos, s + start, i - start);
      pos += i - start;
      start = i + 1;
    }
  }
  w[pos++] = 0;
  *len = pos;
  return true;
}

static void lookup_lines(const mf_domain_match_t *m, const uint8_t *data,
                         size_t size)
{
  size_t start = 0;
  unsigned done = 0;
  for (size_t i = 0; i <= size && done < QUERIES; i++) {
    if (i < size && data[i] != '\n')
      continue;
    size_t n = i - start;
    const char *line = (const char *)data + start;
    mf_domain_hit_t hit;
    uint32_t set = mf_domain_match_lookup(m, line, n, &hit);
    if (set != MF_DOMAIN_NO_SET && (hit.set != set || hit.len == 0 ||
                                    hit.len > MF_DOMAIN_NAME_MAX))
      fail("bad hit", "");
    mf_domain_match_lookup_wire(m, data + start, n, NULL);
    start = i + 1;
    done++;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  static ctx_t c; /* large: not on the stack */
  c.b = mf_domain_builder_new(MAX_NAMES, 0x5eed);
  c.calls = c.n_kept = 0;
  if (!c.b)
    return 0;
  uint32_t max_lines = count_lines(data, size);
  mf_domain_list_format_t detected = mf_domain_lists_detect(text, size);
  for (int f = MF_DOMAIN_LIST_AUTO; f < MF_DOMAIN_LIST_N_FORMAT; f++) {
    mf_domain_lists_stats_t st;
    c.set = (uint32_t)f * 3;
    int stopped = mf_domain_lists_parse(text, size, (mf_domain_list_format_t)f,
                                        on_name, &c, &st);
    check_stats(&st, max_lines, stopped != 0);
    if (f == MF_DOMAIN_LIST_AUTO && st.format != detected)
      fail("parse and detect disagree", mf_domain_lists_format_name(detected));
    if (f != MF_DOMAIN_LIST_AUTO && st.format != (mf_domain_list_format_t)f)
      fail("the explicit format was not used", "");
    if (stopped)
      break;
  }
  mf_domain_match_t *m = mf_domain_builder_compile(c.b);
  if (!m)
    return 0;
  const mf_domain_stats_t *ms = mf_domain_match_stats(m);
  if (ms->names > MAX_NAMES || ms->entries < ms->names ||
      ms->entries > 2 * ms->names)
    fail("matcher counters", "");
  /* every name put in is found again: its own entry or an earlier one */
  for (uint32_t i = 0; i < c.n_kept; i++) {
    const char *name = c.kept[i];
    uint32_t set = mf_domain_match_lookup(m, name, strlen(name), NULL);
    if (set == MF_DOMAIN_NO_SET)
      fail("name added but not found", name);
    uint8_t w[256];
    size_t wl;
    if (to_wire(name, w, &wl) &&
        mf_domain_match_lookup_wire(m, w, wl, NULL) != set)
      fail("wire and text lookups disagree", name);
  }
  lookup_lines(m, data, size);
  mf_domain_match_free(m);
  return 0;
}
