/* The DNS answer cache: a preallocated entry pool indexed by a seeded,
 * chained hash, an LRU list through the same entries, and an arena of
 * fixed-size chunks holding the messages (a message is a chain of chunks,
 * so the arena never fragments and a byte bound is a chunk count).
 * RFC 1035 7.4 (caching), RFC 2308 5 (negative caching). */
#include "dns/dns_cache.h"

#include "dns/dns_build.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NONE UINT32_MAX
#define NS_PER_S 1000000000ull

typedef struct {
  uint64_t inserted_ns;
  uint64_t expires_ns;
  uint32_t hash;
  uint32_t hash_next; /* chain in a bucket; the free list when unused */
  uint32_t lru_prev, lru_next;
  uint32_t chunk;     /* first chunk of the message */
  uint16_t msg_len;
  uint16_t qtype, qclass;
  uint16_t set_tag, upstream_tag;
  uint8_t name_len;   /* wire octets of the question name, at offset 12 */
  uint8_t kind;       /* mf_dns_kind_t */
  bool used;
} entry_t;

struct mf_dns_cache {
  mf_dns_cache_config_t cfg;
  entry_t *entries;
  uint32_t n_entries;
  uint32_t free_entry;
  uint32_t *buckets;
  uint32_t bucket_mask;
  uint32_t lru_head, lru_tail; /* head: most recently used */
  uint8_t *arena;
  uint32_t *chunk_next;
  uint32_t n_chunks;
  uint32_t free_chunk;
  uint32_t n_free_chunks;
  uint32_t sweep_cursor;
  uint8_t *scratch; /* MF_DNS_MSG_MAX bytes: the copy being stored */
  mf_dns_cache_stats_t st;
};

/* ---- hashing ---- */

static uint64_t mix64(uint64_t x)
{
  /* The splitmix64 finaliser: every input bit moves every output bit. */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

static uint32_t key_hash(const mf_dns_cache_t *c, const mf_dns_name_t *lower,
                         uint16_t qtype, uint16_t qclass)
{
  uint64_t h = mix64(c->cfg.seed ^ ((uint64_t)lower->len << 32 |
                                    (uint64_t)qtype << 16 | qclass));
  for (size_t i = 0; i < lower->len; i += 8) {
    uint64_t w = 0;
    size_t n = lower->len - i < 8 ? lower->len - i : 8;
    memcpy(&w, &lower->wire[i], n);
    h = mix64(h ^ w);
  }
  return (uint32_t)(h ^ h >> 32);
}

/* ---- the chunk arena ---- */

static uint32_t chunks_for(size_t len)
{
  return (uint32_t)((len + MF_DNS_CACHE_CHUNK - 1) / MF_DNS_CACHE_CHUNK);
}

/* Takes n chunks off the free list (the caller made sure there are). */
static uint32_t chunks_alloc(mf_dns_cache_t *c, uint32_t n)
{
  uint32_t first = c->free_chunk, last = NONE;
  for (uint32_t i = 0; i < n; i++) {
    last = c->free_chunk;
    c->free_chunk = c->chunk_next[last];
  }
  if (last != NONE)
    c->chunk_next[last] = NONE;
  c->n_free_chunks -= n;
  return n ? first : NONE;
}

static void chunks_free(mf_dns_cache_t *c, uint32_t first, uint32_t n)
{
  uint32_t ch = first;
  for (uint32_t i = 0; i < n && ch != NONE; i++) {
    uint32_t next = c->chunk_next[ch];
    c->chunk_next[ch] = c->free_chunk;
    c->free_chunk = ch;
    c->n_free_chunks++;
    ch = next;
  }
}

static void chunks_write(mf_dns_cache_t *c, uint32_t ch, const uint8_t *src,
                         size_t len)
{
  for (size_t done = 0; done < len && ch != NONE; ch = c->chunk_next[ch]) {
    size_t n = len - done < MF_DNS_CACHE_CHUNK ? len - done : MF_DNS_CACHE_CHUNK;
    memcpy(&c->arena[(size_t)ch * MF_DNS_CACHE_CHUNK], &src[done], n);
    done += n;
  }
}

/* Copies n bytes from offset off of the message starting at chunk ch. */
static void chunks_read(const mf_dns_cache_t *c, uint32_t ch, size_t off,
                        uint8_t *dst, size_t n)
{
  for (; off >= MF_DNS_CACHE_CHUNK && ch != NONE; ch = c->chunk_next[ch])
    off -= MF_DNS_CACHE_CHUNK;
  size_t done = 0;
  for (; done < n && ch != NONE; ch = c->chunk_next[ch], off = 0) {
    size_t k = MF_DNS_CACHE_CHUNK - off;
    if (k > n - done)
      k = n - done;
    memcpy(&dst[done], &c->arena[(size_t)ch * MF_DNS_CACHE_CHUNK + off], k);
    done += k;
  }
}

/* ---- entries: hash chains, LRU list ---- */

static void lru_unlink(mf_dns_cache_t *c, uint32_t i)
{
  entry_t *e = &c->entries[i];
  if (e->lru_prev != NONE)
    c->entries[e->lru_prev].lru_next = e->lru_next;
  else
    c->lru_head = e->lru_next;
  if (e->lru_next != NONE)
    c->entries[e->lru_next].lru_prev = e->lru_prev;
  else
    c->lru_tail = e->lru_prev;
  e->lru_prev = e->lru_next = NONE;
}

static void lru_push_front(mf_dns_cache_t *c, uint32_t i)
{
  entry_t *e = &c->entries[i];
  e->lru_prev = NONE;
  e->lru_next = c->lru_head;
  if (c->lru_head != NONE)
    c->entries[c->lru_head].lru_prev = i;
  else
    c->lru_tail = i;
  c->lru_head = i;
}

static void entry_remove(mf_dns_cache_t *c, uint32_t i)
{
  entry_t *e = &c->entries[i];
  uint32_t *link = &c->buckets[e->hash & c->bucket_mask];
  while (*link != NONE && *link != i)
    link = &c->entries[*link].hash_next;
  if (*link == i)
    *link = e->hash_next;
  lru_unlink(c, i);
  uint32_t n = chunks_for(e->msg_len);
  chunks_free(c, e->chunk, n);
  c->st.entries--;
  c->st.bytes -= e->msg_len;
  c->st.chunk_bytes -= (uint64_t)n * MF_DNS_CACHE_CHUNK;
  e->used = false;
  e->chunk = NONE;
  e->hash_next = c->free_entry;
  c->free_entry = i;
}

static bool entry_matches(const mf_dns_cache_t *c, const entry_t *e,
                          uint32_t hash, const mf_dns_name_t *lower,
                          uint16_t qtype, uint16_t qclass)
{
  if (e->hash != hash || e->qtype != qtype || e->qclass != qclass ||
      e->name_len != lower->len)
    return false;
  mf_dns_name_t stored;
  chunks_read(c, e->chunk, MF_DNS_HEADER_LEN, stored.wire, e->name_len);
  stored.len = e->name_len;
  stored.labels = lower->labels; /* same length: compare the octets */
  return mf_dns_name_equal(&stored, lower);
}

static uint32_t entry_find(const mf_dns_cache_t *c, uint32_t hash,
                           const mf_dns_name_t *lower, uint16_t qtype,
                           uint16_t qclass)
{
  /* Chains stay short: at most one entry per bucket on average, and the
   * seed keeps a client from choosing collisions. */
  for (uint32_t i = c->buckets[hash & c->bucket_mask]; i != NONE;
       i = c->entries[i].hash_next)
    if (entry_matches(c, &c->entries[i], hash, lower, qtype, qclass))
      return i;
  return NONE;
}

static bool expired(const entry_t *e, uint64_t now_ns)
{
  return now_ns >= e->expires_ns;
}

/* Drops least recently used entries until an entry and need chunks are
 * free. The caller checked that need fits the arena. */
static void make_room(mf_dns_cache_t *c, uint32_t need, uint64_t now_ns)
{
  while ((c->free_entry == NONE || c->n_free_chunks < need) &&
         c->lru_tail != NONE) {
    uint32_t t = c->lru_tail;
    if (expired(&c->entries[t], now_ns))
      c->st.expired++;
    else
      c->st.evicted++;
    entry_remove(c, t);
  }
}

/* ---- create, destroy ---- */

static uint64_t random_seed(const mf_dns_cache_t *c)
{
  uint64_t s = 0;
  if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || !s)
    s = mix64((uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull);
  return s;
}

mf_dns_cache_t *mf_dns_cache_create(const mf_dns_cache_config_t *cfg)
{
  uint64_t n_chunks = (cfg->max_bytes + MF_DNS_CACHE_CHUNK - 1) /
                      MF_DNS_CACHE_CHUNK;
  if (cfg->max_entries == 0 || cfg->max_entries > (1u << 30) ||
      n_chunks == 0 || n_chunks >= NONE ||
      (cfg->max_ttl && cfg->min_ttl > cfg->max_ttl))
    return NULL;
  mf_dns_cache_t *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->cfg = *cfg;
  if (!c->cfg.max_neg_ttl)
    c->cfg.max_neg_ttl = MF_DNS_CACHE_NEG_TTL_DEFAULT;
  if (!c->cfg.max_entry_bytes)
    c->cfg.max_entry_bytes = MF_DNS_CACHE_ENTRY_BYTES_DEFAULT;
  if (c->cfg.max_entry_bytes > MF_DNS_MSG_MAX)
    c->cfg.max_entry_bytes = MF_DNS_MSG_MAX;
  if (!c->cfg.seed)
    c->cfg.seed = random_seed(c);
  uint32_t nb = 1;
  while (nb < cfg->max_entries)
    nb <<= 1;
  c->n_entries = cfg->max_entries;
  c->bucket_mask = nb - 1;
  c->n_chunks = (uint32_t)n_chunks;
  c->entries = calloc(c->n_entries, sizeof(*c->entries));
  c->buckets = malloc((size_t)nb * sizeof(*c->buckets));
  c->arena = malloc((size_t)n_chunks * MF_DNS_CACHE_CHUNK);
  c->chunk_next = malloc((size_t)n_chunks * sizeof(*c->chunk_next));
  c->scratch = malloc(MF_DNS_MSG_MAX);
  if (!c->entries || !c->buckets || !c->arena || !c->chunk_next ||
      !c->scratch) {
    mf_dns_cache_destroy(c);
    return NULL;
  }
  for (uint32_t i = 0; i < nb; i++)
    c->buckets[i] = NONE;
  for (uint32_t i = 0; i < c->n_entries; i++) {
    c->entries[i].chunk = NONE;
    c->entries[i].hash_next = i + 1 < c->n_entries ? i + 1 : NONE;
    c->entries[i].lru_prev = c->entries[i].lru_next = NONE;
  }
  for (uint32_t i = 0; i < c->n_chunks; i++)
    c->chunk_next[i] = i + 1 < c->n_chunks ? i + 1 : NONE;
  c->free_entry = 0;
  c->free_chunk = 0;
  c->n_free_chunks = c->n_chunks;
  c->lru_head = c->lru_tail = NONE;
  return c;
}

void mf_dns_cache_destroy(mf_dns_cache_t *c)
{
  if (!c)
    return;
  free(c->entries);
  free(c->buckets);
  free(c->arena);
  free(c->chunk_next);
  free(c->scratch);
  free(c);
}

/* ---- insert ---- */

const char *mf_dns_cache_insert_name(mf_dns_cache_insert_t r)
{
  switch (r) {
  case MF_DNS_CACHE_STORED:
    return "stored";
  case MF_DNS_CACHE_NOT_ANSWER:
    return "not-answer";
  case MF_DNS_CACHE_TRUNCATED:
    return "truncated";
  case MF_DNS_CACHE_RCODE:
    return "rcode";
  case MF_DNS_CACHE_NO_SOA:
    return "no-soa";
  case MF_DNS_CACHE_ZERO_TTL:
    return "zero-ttl";
  case MF_DNS_CACHE_TOO_BIG:
    return "too-big";
  case MF_DNS_CACHE_BAD_ANSWER:
    return "bad-answer";
  }
  return "unknown";
}

static uint32_t clamp_ttl(const mf_dns_cache_config_t *cfg, uint32_t ttl)
{
  if (ttl < cfg->min_ttl)
    ttl = cfg->min_ttl;
  if (cfg->max_ttl && ttl > cfg->max_ttl)
    ttl = cfg->max_ttl;
  return ttl;
}

/* Decides whether m may be cached and for how long. */
static mf_dns_cache_insert_t judge(const mf_dns_cache_t *c, const uint8_t *msg,
                                   size_t len, const mf_dns_msg_t *m,
                                   mf_dns_kind_t *kind, uint32_t *ttl)
{
  if (!mf_dns_is_response(m) || m->qdcount != 1 ||
      MF_DNS_OPCODE(m->flags) != MF_DNS_OPCODE_QUERY)
    return MF_DNS_CACHE_NOT_ANSWER;
  if (mf_dns_is_truncated(m))
    return MF_DNS_CACHE_TRUNCATED;
  mf_dns_answer_t a;
  if (mf_dns_answer_extract(msg, len, m, &a) != MF_DNS_OK)
    return MF_DNS_CACHE_BAD_ANSWER;
  *kind = mf_dns_classify(m, &a);
  if (*kind == MF_DNS_KIND_OTHER)
    return MF_DNS_CACHE_RCODE;
  if (*kind == MF_DNS_KIND_POSITIVE) {
    *ttl = a.min_ttl;
  } else {
    if (!mf_dns_negative_ttl(msg, len, m, ttl))
      return MF_DNS_CACHE_NO_SOA;
    if (*ttl > c->cfg.max_neg_ttl)
      *ttl = c->cfg.max_neg_ttl;
  }
  if (*ttl == 0 && c->cfg.min_ttl == 0)
    return MF_DNS_CACHE_ZERO_TTL;
  *ttl = clamp_ttl(&c->cfg, *ttl);
  return MF_DNS_CACHE_STORED;
}

/* Writes the form we store to c->scratch: header, question, answer and
 * authority re-encoded by mf_dns_build_copy (so that no pointer can reach
 * the ID, flags or TTLs we rewrite when serving), without ID and AA (we
 * are not the zone's server). */
static mf_dns_cache_insert_t stored_form(mf_dns_cache_t *c, const uint8_t *msg,
                                         size_t len, const mf_dns_msg_t *m,
                                         size_t *keep)
{
  *keep = mf_dns_build_copy(msg, len, m, (unsigned)m->an + m->ns, c->scratch,
                            MF_DNS_MSG_MAX);
  if (!*keep)
    return MF_DNS_CACHE_BAD_ANSWER;
  if (*keep > c->cfg.max_entry_bytes || chunks_for(*keep) > c->n_chunks)
    return MF_DNS_CACHE_TOO_BIG;
  uint8_t *h = c->scratch;
  mf_dns_put16(&h[0], 0);
  mf_dns_put16(&h[2], mf_dns_get16(&h[2]) & (uint16_t)~MF_DNS_FLAG_AA);
  return MF_DNS_CACHE_STORED;
}

mf_dns_cache_insert_t mf_dns_cache_insert(mf_dns_cache_t *c,
                                          const uint8_t *msg, size_t len,
                                          const mf_dns_msg_t *m,
                                          uint16_t set_tag,
                                          uint16_t upstream_tag,
                                          uint64_t now_ns)
{
  mf_dns_kind_t kind = MF_DNS_KIND_OTHER;
  uint32_t ttl = 0;
  size_t keep = 0;
  mf_dns_cache_insert_t r = judge(c, msg, len, m, &kind, &ttl);
  if (r == MF_DNS_CACHE_STORED)
    r = stored_form(c, msg, len, m, &keep);
  if (r != MF_DNS_CACHE_STORED) {
    c->st.refused++;
    return r;
  }
  mf_dns_name_t lower = m->qname;
  mf_dns_name_lower(&lower);
  uint32_t hash = key_hash(c, &lower, m->qtype, m->qclass);
  uint32_t old = entry_find(c, hash, &lower, m->qtype, m->qclass);
  if (old != NONE) {
    entry_remove(c, old);
    c->st.replaced++;
  }
  uint32_t need = chunks_for(keep);
  make_room(c, need, now_ns);

  uint32_t i = c->free_entry;
  entry_t *e = &c->entries[i];
  c->free_entry = e->hash_next;
  e->used = true;
  e->hash = hash;
  e->inserted_ns = now_ns;
  e->expires_ns = now_ns + (uint64_t)ttl * NS_PER_S;
  e->msg_len = (uint16_t)keep;
  e->qtype = m->qtype;
  e->qclass = m->qclass;
  e->set_tag = set_tag;
  e->upstream_tag = upstream_tag;
  e->name_len = m->qname.len;
  e->kind = (uint8_t)kind;
  e->chunk = chunks_alloc(c, need);
  chunks_write(c, e->chunk, c->scratch, keep);

  e->hash_next = c->buckets[hash & c->bucket_mask];
  c->buckets[hash & c->bucket_mask] = i;
  lru_push_front(c, i);
  c->st.entries++;
  c->st.bytes += keep;
  c->st.chunk_bytes += (uint64_t)need * MF_DNS_CACHE_CHUNK;
  c->st.inserted++;
  return MF_DNS_CACHE_STORED;
}

/* ---- lookup ---- */

static uint32_t secs_between(uint64_t from_ns, uint64_t to_ns)
{
  if (to_ns <= from_ns)
    return 0;
  uint64_t s = (to_ns - from_ns) / NS_PER_S;
  return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Ages a copy of entry e in out (msg_len bytes) for time now. */
static int age_copy(const entry_t *e, uint8_t *out, uint64_t now_ns)
{
  return mf_dns_age_ttls(out, e->msg_len, secs_between(e->inserted_ns, now_ns),
                         secs_between(now_ns, e->expires_ns));
}

/* Makes the copy answer q: its ID, its RD and CD, its case. */
static void answer_as(uint8_t *out, const mf_dns_msg_t *q)
{
  uint16_t mask = MF_DNS_FLAG_RD | MF_DNS_FLAG_CD;
  uint16_t flags = (uint16_t)((mf_dns_get16(&out[2]) & ~mask) | (q->flags & mask));
  if (!(q->flags & MF_DNS_FLAG_AD) && !q->edns_do)
    flags &= (uint16_t)~MF_DNS_FLAG_AD;
  mf_dns_put16(&out[0], q->id);
  mf_dns_put16(&out[2], flags);
  memcpy(&out[MF_DNS_HEADER_LEN], q->qname.wire, q->qname.len);
}

mf_dns_cache_lookup_t mf_dns_cache_lookup(mf_dns_cache_t *c,
                                          const mf_dns_msg_t *q,
                                          uint64_t now_ns, uint8_t *out,
                                          size_t cap, size_t *out_len,
                                          mf_dns_cache_hit_t *hit)
{
  if (q->qdcount != 1) {
    c->st.misses++;
    return MF_DNS_CACHE_MISS;
  }
  mf_dns_name_t lower = q->qname;
  mf_dns_name_lower(&lower);
  uint32_t hash = key_hash(c, &lower, q->qtype, q->qclass);
  uint32_t i = entry_find(c, hash, &lower, q->qtype, q->qclass);
  if (i == NONE) {
    c->st.misses++;
    return MF_DNS_CACHE_MISS;
  }
  entry_t *e = &c->entries[i];
  if (expired(e, now_ns)) {
    entry_remove(c, i);
    c->st.expired++;
    c->st.misses++;
    return MF_DNS_CACHE_MISS;
  }
  if (cap < e->msg_len) {
    c->st.misses++;
    return MF_DNS_CACHE_NO_ROOM;
  }
  chunks_read(c, e->chunk, 0, out, e->msg_len);
  answer_as(out, q);
  if (age_copy(e, out, now_ns) < 0) {
    /* Cannot happen for a message that parsed on insert; drop it rather
     * than serve something we cannot walk. */
    entry_remove(c, i);
    c->st.misses++;
    return MF_DNS_CACHE_MISS;
  }
  *out_len = e->msg_len;
  if (hit) {
    hit->kind = (mf_dns_kind_t)e->kind;
    hit->ttl_left = secs_between(now_ns, e->expires_ns);
    hit->set_tag = e->set_tag;
    hit->upstream_tag = e->upstream_tag;
  }
  lru_unlink(c, i);
  lru_push_front(c, i);
  c->st.hits++;
  return MF_DNS_CACHE_HIT;
}

/* ---- maintenance, iteration, counters ---- */

uint32_t mf_dns_cache_sweep(mf_dns_cache_t *c, uint64_t now_ns,
                            uint32_t budget)
{
  uint32_t dropped = 0;
  for (uint32_t k = 0; k < budget && k < c->n_entries; k++) {
    uint32_t i = c->sweep_cursor;
    c->sweep_cursor = i + 1 < c->n_entries ? i + 1 : 0;
    if (c->entries[i].used && expired(&c->entries[i], now_ns)) {
      entry_remove(c, i);
      c->st.expired++;
      dropped++;
    }
  }
  return dropped;
}

void mf_dns_cache_flush(mf_dns_cache_t *c)
{
  /* Bounded by the pool: each pass removes the LRU tail. */
  while (c->lru_tail != NONE) {
    entry_remove(c, c->lru_tail);
    c->st.flushed++;
  }
}

bool mf_dns_cache_next(const mf_dns_cache_t *c, uint32_t *cursor,
                       uint64_t now_ns, mf_dns_cache_info_t *info,
                       uint8_t *msg, size_t cap, size_t *msg_len)
{
  for (; *cursor < c->n_entries; (*cursor)++) {
    const entry_t *e = &c->entries[*cursor];
    if (!e->used || expired(e, now_ns))
      continue;
    uint8_t header[MF_DNS_HEADER_LEN];
    chunks_read(c, e->chunk, 0, header, sizeof(header));
    chunks_read(c, e->chunk, MF_DNS_HEADER_LEN, info->name.wire, e->name_len);
    info->name.len = e->name_len;
    info->name.labels = 0;
    for (size_t p = 0; p < e->name_len && info->name.wire[p] != 0;
         p += 1 + (size_t)info->name.wire[p])
      info->name.labels++;
    mf_dns_name_lower(&info->name);
    info->qtype = e->qtype;
    info->qclass = e->qclass;
    info->kind = (mf_dns_kind_t)e->kind;
    info->ancount = mf_dns_get16(&header[6]);
    info->ttl_left = secs_between(now_ns, e->expires_ns);
    info->set_tag = e->set_tag;
    info->upstream_tag = e->upstream_tag;
    info->msg_len = e->msg_len;
    if (msg_len)
      *msg_len = 0;
    if (msg && msg_len && cap >= e->msg_len) {
      chunks_read(c, e->chunk, 0, msg, e->msg_len);
      if (age_copy(e, msg, now_ns) == 0)
        *msg_len = e->msg_len;
    }
    (*cursor)++;
    return true;
  }
  return false;
}

void mf_dns_cache_stats(const mf_dns_cache_t *c, mf_dns_cache_stats_t *out)
{
  *out = c->st;
}

uint64_t mf_dns_cache_memory(const mf_dns_cache_t *c)
{
  return sizeof(*c) + (uint64_t)c->n_entries * sizeof(*c->entries) +
         ((uint64_t)c->bucket_mask + 1) * sizeof(*c->buckets) +
         (uint64_t)c->n_chunks * (MF_DNS_CACHE_CHUNK + sizeof(uint32_t)) +
         MF_DNS_MSG_MAX;
}
