#include "dns/domain_match.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

/* Layout (see the header for why):
 *
 *   blob   records, one per distinct name, back to back:
 *            [len u8][exact set+1 u16 LE][suffix set+1 u16 LE][name bytes]
 *          set+1 == 0: no entry of that kind.
 *   slots  { tag, blob offset } sorted by tag. A tag's home is
 *          tag * n_home / 2^32, so homes rise with tags and a slot is never
 *          before its home: a search starts at the home, skips smaller tags
 *          and stops at a larger one or an empty slot. The array runs past
 *          n_home (no wrap-around) and ends with an empty sentinel.
 *
 * A name's hash is built from its labels right to left (each suffix's hash
 * from its parent's), so a lookup hashes every label once however many
 * suffixes it tries. The tag is the top half of that hash. */

#define REC_HDR 5u
#define NO_OFF UINT32_MAX
#define MAX_LABELS 127 /* 253 characters hold at most 127 labels */

/* Index slots per name. Measured on a million names: 5/4 (10 bytes a name)
 * scans two slots past the home on average, 16 bytes, mostly in the cache
 * line already fetched; 3/2 scans one for 12 bytes, 9/8 four to five. */
#define HOME_NUM 5u
#define HOME_DEN 4u

typedef struct {
  uint32_t tag;
  uint32_t off; /* NO_OFF: empty */
} slot_t;

struct mf_domain_builder {
  uint64_t seed;
  uint32_t max_names;
  uint8_t *blob;
  size_t blob_len, blob_cap;
  /* Open addressing with linear probing (wrapping): tag << 32 | offset,
   * ~0 empty. The tag is kept so growing needs no rehash of the names. */
  uint64_t *table;
  uint32_t table_cap, table_used;
  mf_domain_stats_t st;
};

struct mf_domain_match {
  uint64_t seed;
  uint32_t n_home;
  uint32_t n_slots; /* sentinel included */
  slot_t *slots;
  uint8_t *blob;
  size_t blob_len;
  mf_domain_stats_t st;
};

static const char *const result_names[] = {
#define _(sym, n, t) n,
    MF_DOMAIN_RESULTS(_)
#undef _
};
static const char *const result_texts[] = {
#define _(sym, n, t) t,
    MF_DOMAIN_RESULTS(_)
#undef _
};

const char *mf_domain_result_name(mf_domain_result_t r)
{
  return (unsigned)r < MF_DOMAIN_N_RESULT ? result_names[r] : "?";
}

const char *mf_domain_result_text(mf_domain_result_t r)
{
  return (unsigned)r < MF_DOMAIN_N_RESULT ? result_texts[r] : "?";
}

/* ---- names ---- */

/* The lower-case form of a character allowed in a stored name, 0 for any
 * other byte. ASCII only: RFC 4343 folds nothing else. */
static inline unsigned char name_char(unsigned char c)
{
  if (c >= 'a' && c <= 'z')
    return c;
  if (c >= 'A' && c <= 'Z')
    return (unsigned char)(c + ('a' - 'A'));
  if ((c >= '0' && c <= '9') || c == '-' || c == '_')
    return c;
  return 0;
}

static bool is_ipv4_text(const char *s, size_t len)
{
  char buf[16];
  struct in_addr a;
  if (len >= sizeof buf)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
      return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  return inet_pton(AF_INET, buf, &a) == 1;
}

mf_domain_result_t mf_domain_name_normalize(const char *name, size_t len,
                                            char *out, size_t *out_len)
{
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0)
    return MF_DOMAIN_R_EMPTY;
  if (len > MF_DOMAIN_NAME_MAX)
    return MF_DOMAIN_R_TOO_LONG;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '.') {
      if (label == 0)
        return MF_DOMAIN_R_EMPTY_LABEL;
      label = 0;
      out[i] = '.';
      continue;
    }
    unsigned char lc = name_char(c);
    if (!lc)
      return MF_DOMAIN_R_BAD_CHAR;
    if (++label > MF_DOMAIN_LABEL_MAX)
      return MF_DOMAIN_R_LABEL_TOO_LONG;
    out[i] = (char)lc;
  }
  if (label == 0)
    return MF_DOMAIN_R_EMPTY_LABEL;
  out[len] = 0;
  if (is_ipv4_text(out, len))
    return MF_DOMAIN_R_IP_ADDRESS;
  *out_len = len;
  return MF_DOMAIN_R_OK;
}

/* ---- hashing ---- */

static inline uint64_t mix64(uint64_t h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/* Not a cryptographic hash: lists come from third parties, so the seed is
 * random per builder and a list cannot be crafted offline to pile its
 * names onto one tag (which would make loading quadratic). Words are read
 * in host order: tags never leave the process. */
static inline uint64_t label_hash(uint64_t seed, const char *p, size_t n)
{
  const uint64_t k = 0x9fb21c651e98df25ull;
  uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
  uint64_t w;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  if (n) {
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  return h;
}

static inline uint64_t root_hash(uint64_t seed)
{
  return mix64(seed ^ 0x243f6a8885a308d3ull);
}

/* The hash of label.parent from the hash of parent. */
static inline uint64_t child_hash(uint64_t seed, uint64_t parent,
                                  const char *label, size_t n)
{
  return mix64(parent * 0x165667b19e3779f9ull ^ label_hash(seed, label, n));
}

static inline uint32_t hash_tag(uint64_t h)
{
  return (uint32_t)(h >> 32);
}

/* Maps a tag onto [0, n) keeping its order (no division). */
static inline uint32_t tag_home(uint32_t tag, uint32_t n)
{
  return (uint32_t)(((uint64_t)tag * n) >> 32);
}

/* Hash of a normalised name, labels right to left. */
static uint64_t name_hash(uint64_t seed, const char *s, size_t len)
{
  uint64_t h = root_hash(seed);
  size_t end = len;
  for (size_t i = len; i-- > 0;) {
    if (s[i] == '.') {
      h = child_hash(seed, h, s + i + 1, end - i - 1);
      end = i;
    }
  }
  return child_hash(seed, h, s, end);
}

/* ---- records ---- */

static inline uint32_t rec_len(const uint8_t *blob, uint32_t off)
{
  return blob[off];
}

/* set + 1 of the given kind, 0 for none */
static inline uint32_t rec_set(const uint8_t *blob, uint32_t off,
                               mf_domain_kind_t kind)
{
  const uint8_t *p = blob + off + 1 + 2 * (unsigned)kind;
  return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline void rec_set_put(uint8_t *blob, uint32_t off,
                               mf_domain_kind_t kind, uint32_t v)
{
  uint8_t *p = blob + off + 1 + 2 * (unsigned)kind;
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline bool rec_is(const uint8_t *blob, uint32_t off, const char *s,
                          size_t len)
{
  return rec_len(blob, off) == len && memcmp(blob + off + REC_HDR, s, len) == 0;
}

/* ---- builder ---- */

static uint64_t pick_seed(void)
{
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^
        (uint64_t)(uintptr_t)&s;
  }
  return s ? s : 1;
}

static void builder_count_bytes(mf_domain_builder_t *b)
{
  b->st.bytes = sizeof *b + b->blob_cap + (uint64_t)b->table_cap * 8;
}

mf_domain_builder_t *mf_domain_builder_new(uint32_t max_names,
                                           uint64_t hash_seed)
{
  mf_domain_builder_t *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->seed = hash_seed ? hash_seed : pick_seed();
  b->max_names = max_names && max_names < MF_DOMAIN_MAX_NAMES
                     ? max_names
                     : MF_DOMAIN_MAX_NAMES;
  builder_count_bytes(b);
  return b;
}

void mf_domain_builder_free(mf_domain_builder_t *b)
{
  if (!b)
    return;
  free(b->blob);
  free(b->table);
  free(b);
}

const mf_domain_stats_t *mf_domain_builder_stats(const mf_domain_builder_t *b)
{
  return &b->st;
}

/* Offset of the record for s, or NO_OFF; *slot_out is where it is or
 * where it would go. */
static uint32_t builder_find(const mf_domain_builder_t *b, uint32_t tag,
                             const char *s, size_t len, uint32_t *slot_out)
{
  uint32_t mask = b->table_cap - 1;
  uint32_t i = tag_home(tag, b->table_cap);
  for (;; i = (i + 1) & mask) {
    uint64_t e = b->table[i];
    if (e == UINT64_MAX)
      break;
    uint32_t off = (uint32_t)e;
    if ((uint32_t)(e >> 32) == tag && rec_is(b->blob, off, s, len)) {
      *slot_out = i;
      return off;
    }
  }
  *slot_out = i;
  return NO_OFF;
}

/* Keeps the load under 3/4; the capacity is a power of two. Returns 1
 * when the table moved, 0 when it did not, -1 when out of memory. */
static int builder_grow_table(mf_domain_builder_t *b)
{
  if (b->table_cap &&
      (uint64_t)(b->table_used + 1) * 4 <= (uint64_t)b->table_cap * 3)
    return 0;
  uint32_t cap = b->table_cap ? b->table_cap * 2 : 1024;
  uint64_t *t = malloc((size_t)cap * sizeof *t);
  if (!t)
    return -1;
  memset(t, 0xff, (size_t)cap * sizeof *t);
  for (uint32_t i = 0; i < b->table_cap; i++) {
    uint64_t e = b->table[i];
    if (e == UINT64_MAX)
      continue;
    uint32_t j = tag_home((uint32_t)(e >> 32), cap);
    while (t[j] != UINT64_MAX)
      j = (j + 1) & (cap - 1);
    t[j] = e;
  }
  free(b->table);
  b->table = t;
  b->table_cap = cap;
  builder_count_bytes(b);
  return 1;
}

static int builder_grow_blob(mf_domain_builder_t *b, size_t need)
{
  if (b->blob_len + need <= b->blob_cap)
    return 0;
  size_t cap = b->blob_cap ? b->blob_cap + b->blob_cap / 2 : 65536;
  if (cap < b->blob_len + need)
    cap = b->blob_len + need;
  if (cap > NO_OFF)
    cap = NO_OFF;
  uint8_t *p = realloc(b->blob, cap);
  if (!p)
    return -1;
  b->blob = p;
  b->blob_cap = cap;
  builder_count_bytes(b);
  return 0;
}

static void note_clash(mf_domain_builder_t *b, const char *name,
                       uint32_t kept, uint32_t other, mf_domain_kind_t kind,
                       mf_domain_result_t r)
{
  if (r == MF_DOMAIN_R_CONFLICT)
    b->st.conflicts++;
  else
    b->st.overlaps++;
  if (b->st.n_examples >= MF_DOMAIN_EXAMPLES)
    return;
  mf_domain_clash_t *c = &b->st.examples[b->st.n_examples++];
  strcpy(c->name, name); /* normalised: fits */
  c->kept_set = kept;
  c->other_set = other;
  c->kind = kind;
  c->result = r;
}

/* A second entry for a name already held. */
static mf_domain_result_t builder_merge(mf_domain_builder_t *b, uint32_t off,
                                        const char *name, uint32_t set,
                                        mf_domain_kind_t kind)
{
  uint32_t mine = rec_set(b->blob, off, kind);
  mf_domain_kind_t other_kind = kind == MF_DOMAIN_EXACT ? MF_DOMAIN_SUFFIX
                                                        : MF_DOMAIN_EXACT;
  if (mine == set + 1)
    return MF_DOMAIN_R_DUPLICATE;
  if (mine) {
    note_clash(b, name, mine - 1, set, kind, MF_DOMAIN_R_CONFLICT);
    return MF_DOMAIN_R_CONFLICT;
  }
  rec_set_put(b->blob, off, kind, set + 1);
  b->st.entries++;
  uint32_t other = rec_set(b->blob, off, other_kind);
  if (other && other != set + 1) {
    uint32_t exact_set = kind == MF_DOMAIN_EXACT ? set : other - 1;
    note_clash(b, name, exact_set, set, kind, MF_DOMAIN_R_OVERLAP);
    return MF_DOMAIN_R_OVERLAP;
  }
  return MF_DOMAIN_R_OK;
}

static mf_domain_result_t builder_insert(mf_domain_builder_t *b,
                                         const char *name, size_t len,
                                         uint32_t set, mf_domain_kind_t kind)
{
  uint32_t tag = hash_tag(name_hash(b->seed, name, len));
  uint32_t at = 0;
  if (b->table_cap) {
    uint32_t off = builder_find(b, tag, name, len, &at);
    if (off != NO_OFF)
      return builder_merge(b, off, name, set, kind);
  }
  if (b->st.names >= b->max_names ||
      b->blob_len + REC_HDR + len >= (size_t)NO_OFF)
    return MF_DOMAIN_R_FULL;
  int moved;
  if (builder_grow_blob(b, REC_HDR + len) || (moved = builder_grow_table(b)) < 0)
    return MF_DOMAIN_R_NO_MEMORY;
  if (moved)
    builder_find(b, tag, name, len, &at);
  uint32_t off = (uint32_t)b->blob_len;
  uint8_t *r = b->blob + off;
  r[0] = (uint8_t)len;
  memset(r + 1, 0, 4);
  memcpy(r + REC_HDR, name, len);
  rec_set_put(b->blob, off, kind, set + 1);
  b->blob_len += REC_HDR + len;
  b->table[at] = (uint64_t)tag << 32 | off;
  b->table_used++;
  b->st.names++;
  b->st.entries++;
  b->st.name_bytes += len;
  return MF_DOMAIN_R_OK;
}

mf_domain_result_t mf_domain_builder_add(mf_domain_builder_t *b,
                                         const char *name, size_t len,
                                         uint32_t set, mf_domain_kind_t kind)
{
  char norm[MF_DOMAIN_NAME_MAX + 1];
  size_t n;
  mf_domain_result_t r;
  if (set >= MF_DOMAIN_MAX_SETS ||
      (kind != MF_DOMAIN_SUFFIX && kind != MF_DOMAIN_EXACT))
    r = MF_DOMAIN_R_BAD_SET;
  else if ((r = mf_domain_name_normalize(name, len, norm, &n)) ==
           MF_DOMAIN_R_OK)
    r = builder_insert(b, norm, n, set, kind);
  b->st.results[r]++;
  return r;
}

/* ---- compile ---- */

/* The compiled arrays get mappings of their own, with huge pages asked
 * for: a lookup touches two or three random places in tens of megabytes,
 * and with 4 KiB pages each one also misses the TLB. */
static void *map_alloc(size_t size)
{
  void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  if (size >= (2u << 20))
    madvise(p, size, MADV_HUGEPAGE); /* a hint: fine if refused */
  return p;
}

static void map_free(void *p, size_t size)
{
  if (p)
    munmap(p, size ? size : 1);
}

/* Sorts keys by their top 32 bits (the tag): three stable passes of 11
 * bits through tmp. */
static void sort_by_tag(uint64_t *keys, uint64_t *tmp, uint32_t n)
{
  uint64_t *src = keys, *dst = tmp;
  for (unsigned shift = 32; shift < 64; shift += 11) {
    uint32_t count[2048] = {0};
    for (uint32_t i = 0; i < n; i++)
      count[(src[i] >> shift) & 2047]++;
    uint32_t sum = 0;
    for (unsigned d = 0; d < 2048; d++) {
      uint32_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (uint32_t i = 0; i < n; i++)
      dst[count[(src[i] >> shift) & 2047]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != keys)
    memcpy(keys, src, (size_t)n * sizeof *keys);
}

/* Lays sorted keys into slots, each at its home or just after the one
 * before. */
static slot_t *place_slots(const uint64_t *keys, uint32_t n, uint32_t n_home,
                           uint32_t *n_slots)
{
  uint64_t last = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t home = tag_home((uint32_t)(keys[i] >> 32), n_home);
    last = (i == 0 || home > last) ? home : last + 1;
  }
  uint64_t total = (n ? last + 1 : 0);
  if (total < n_home)
    total = n_home;
  total++; /* the sentinel */
  slot_t *s = map_alloc((size_t)total * sizeof *s);
  if (!s)
    return NULL;
  for (uint64_t i = 0; i < total; i++)
    s[i] = (slot_t){.tag = UINT32_MAX, .off = NO_OFF};
  uint64_t pos = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tag = (uint32_t)(keys[i] >> 32);
    uint64_t home = tag_home(tag, n_home);
    pos = (i == 0 || home > pos) ? home : pos + 1;
    s[pos] = (slot_t){.tag = tag, .off = (uint32_t)keys[i]};
  }
  *n_slots = (uint32_t)total;
  return s;
}

mf_domain_match_t *mf_domain_builder_compile(mf_domain_builder_t *b)
{
  mf_domain_match_t *m = calloc(1, sizeof *m);
  uint32_t n = b->table_used;
  uint64_t *keys = b->table, *tmp = NULL;
  if (!m)
    goto fail;
  /* Gather the builder's slots in place: it is not needed any more. */
  uint32_t k = 0;
  for (uint32_t i = 0; i < b->table_cap; i++)
    if (b->table[i] != UINT64_MAX)
      keys[k++] = b->table[i];
  if (n && !(tmp = malloc((size_t)n * sizeof *tmp)))
    goto fail;
  sort_by_tag(keys, tmp, n);
  free(tmp);
  tmp = NULL;
  m->seed = b->seed;
  m->n_home = n ? (uint32_t)((uint64_t)n * HOME_NUM / HOME_DEN) : 1;
  m->slots = place_slots(keys, n, m->n_home, &m->n_slots);
  /* The keys are placed: their memory goes before the names are copied,
   * which lowers the peak of a load. */
  free(b->table);
  b->table = NULL;
  b->table_cap = b->table_used = 0;
  m->blob_len = b->blob_len;
  m->blob = map_alloc(m->blob_len);
  if (!m->slots || !m->blob)
    goto fail;
  if (b->blob_len)
    memcpy(m->blob, b->blob, b->blob_len);
  m->st = b->st;
  m->st.bytes = sizeof *m + (uint64_t)m->n_slots * sizeof(slot_t) + m->blob_len;
  mf_domain_builder_free(b);
  return m;
fail:
  free(tmp);
  mf_domain_match_free(m);
  mf_domain_builder_free(b);
  return NULL;
}

void mf_domain_match_free(mf_domain_match_t *m)
{
  if (!m)
    return;
  map_free(m->slots, (size_t)m->n_slots * sizeof(slot_t));
  map_free(m->blob, m->blob_len);
  free(m);
}

const mf_domain_stats_t *mf_domain_match_stats(const mf_domain_match_t *m)
{
  return &m->st;
}

/* ---- lookups ---- */

/* A query name lowered into text form, with its labels. Labels
 * [first_ok, n_labels) are the ones that can be in a set. */
typedef struct {
  char text[MF_DOMAIN_NAME_MAX + 1];
  uint16_t len;
  uint8_t n_labels;
  uint8_t first_ok;
  uint8_t start[MAX_LABELS + 1];
  uint8_t llen[MAX_LABELS + 1];
} query_t;

/* Appends one octet of the current label; false when a limit is passed. */
static inline bool query_put(query_t *q, unsigned char c, bool *label_ok)
{
  if (q->len >= MF_DOMAIN_NAME_MAX ||
      q->len - q->start[q->n_labels] >= MF_DOMAIN_LABEL_MAX)
    return false;
  unsigned char lc = name_char(c);
  if (!lc) {
    *label_ok = false;
    lc = c;
  }
  q->text[q->len++] = (char)lc;
  return true;
}

/* Closes the current label; more: another follows. */
static inline bool query_end_label(query_t *q, bool label_ok, bool more)
{
  uint8_t i = q->n_labels;
  uint16_t n = (uint16_t)(q->len - q->start[i]);
  if (n == 0 || i >= MAX_LABELS)
    return false;
  q->llen[i] = (uint8_t)n;
  if (!label_ok)
    q->first_ok = (uint8_t)(i + 1);
  q->n_labels++;
  if (more) {
    if (q->len >= MF_DOMAIN_NAME_MAX)
      return false;
    q->text[q->len++] = '.';
    q->start[q->n_labels] = (uint8_t)q->len;
  }
  return true;
}

/* RFC 1035 5.1: "\X" is X, "\DDD" the octet of decimal DDD. */
static bool query_from_text(query_t *q, const char *s, size_t len)
{
  bool ok = true;
  q->len = q->n_labels = q->first_ok = 0;
  q->start[0] = 0;
  size_t i = 0;
  if (len == 0 || (len == 1 && s[0] == '.'))
    return false;
  while (i < len) {
    unsigned char c = (unsigned char)s[i++];
    if (c == '.') {
      if (!query_end_label(q, ok, i < len))
        return false;
      ok = true;
      if (i == len)
        return true;
      continue;
    }
    if (c == '\\') {
      if (i >= len)
        return false;
      if (s[i] >= '0' && s[i] <= '9') {
        if (len - i < 3 || s[i + 1] < '0' || s[i + 1] > '9' ||
            s[i + 2] < '0' || s[i + 2] > '9')
          return false;
        unsigned v = (unsigned)(s[i] - '0') * 100 +
                     (unsigned)(s[i + 1] - '0') * 10 + (unsigned)(s[i + 2] - '0');
        if (v > 255)
          return false;
        c = (unsigned char)v;
        i += 3;
      } else {
        c = (unsigned char)s[i++];
      }
      /* An escaped dot is part of a label: no stored label has one. */
      if (c == '.')
        ok = false;
    }
    if (!query_put(q, c, &ok))
      return false;
  }
  return query_end_label(q, ok, false);
}

static bool query_from_wire(query_t *q, const uint8_t *w, size_t len)
{
  q->len = q->n_labels = q->first_ok = 0;
  q->start[0] = 0;
  size_t pos = 0;
  for (;;) {
    if (pos >= len)
      return false;
    unsigned n = w[pos++];
    if (n == 0)
      break;
    /* 0xc0 and up are compression pointers (RFC 1035 4.1.4): not here. */
    if (n > MF_DOMAIN_LABEL_MAX || n > len - pos)
      return false;
    if (q->n_labels) {
      if (q->len >= MF_DOMAIN_NAME_MAX)
        return false;
      q->text[q->len++] = '.';
      q->start[q->n_labels] = (uint8_t)q->len;
    }
    bool ok = true;
    for (unsigned k = 0; k < n; k++) {
      unsigned char c = w[pos + k];
      if (c == '.')
        ok = false;
      if (!query_put(q, c, &ok))
        return false;
    }
    pos += n;
    if (!query_end_label(q, ok, false))
      return false;
  }
  return q->n_labels > 0;
}

/* The record of the given suffix's name, or NO_OFF. */
static inline uint32_t match_find(const mf_domain_match_t *m, uint32_t tag,
                                  const char *s, size_t len)
{
  const slot_t *e = &m->slots[tag_home(tag, m->n_home)];
  while (e->tag < tag)
    e++;
  for (; e->tag == tag && e->off != NO_OFF; e++)
    if (rec_is(m->blob, e->off, s, len))
      return e->off;
  return NO_OFF;
}

static uint32_t match_query(const mf_domain_match_t *m, const query_t *q,
                            mf_domain_hit_t *hit)
{
  uint32_t tags[MAX_LABELS];
  if (!m || m->st.names == 0 || q->first_ok >= q->n_labels)
    return MF_DOMAIN_NO_SET;
  /* Every suffix's tag first, with its slot fetched ahead, then the probes
   * longest first: the first name found with a fitting entry wins. */
  uint64_t h = root_hash(m->seed);
  for (int i = q->n_labels - 1; i >= q->first_ok; i--) {
    h = child_hash(m->seed, h, q->text + q->start[i], q->llen[i]);
    tags[i] = hash_tag(h);
    __builtin_prefetch(&m->slots[tag_home(tags[i], m->n_home)]);
  }
  for (int i = q->first_ok; i < q->n_labels; i++) {
    size_t n = q->len - q->start[i];
    uint32_t off = match_find(m, tags[i], q->text + q->start[i], n);
    if (off == NO_OFF)
      continue;
    uint32_t set = 0;
    mf_domain_kind_t kind = MF_DOMAIN_EXACT;
    if (i == 0)
      set = rec_set(m->blob, off, MF_DOMAIN_EXACT);
    if (!set) {
      kind = MF_DOMAIN_SUFFIX;
      set = rec_set(m->blob, off, MF_DOMAIN_SUFFIX);
    }
    if (!set)
      continue; /* an exact entry for a parent name */
    if (hit)
      *hit = (mf_domain_hit_t){.set = set - 1, .kind = kind, .len = (uint16_t)n};
    return set - 1;
  }
  return MF_DOMAIN_NO_SET;
}

uint32_t mf_domain_match_lookup(const mf_domain_match_t *m, const char *name,
                                size_t len, mf_domain_hit_t *hit)
{
  query_t q;
  if (!query_from_text(&q, name, len))
    return MF_DOMAIN_NO_SET;
  return match_query(m, &q, hit);
}

uint32_t mf_domain_match_lookup_wire(const mf_domain_match_t *m,
                                     const uint8_t *wire, size_t len,
                                     mf_domain_hit_t *hit)
{
  query_t q;
  if (!query_from_wire(&q, wire, len))
    return MF_DOMAIN_NO_SET;
  return match_query(m, &q, hit);
}
