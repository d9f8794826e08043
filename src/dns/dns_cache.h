/* The DNS answer cache: whole upstream answers keyed by question (name
 * without case, type, class), kept for their TTL (RFC 1035 7.4) or, for
 * NXDOMAIN and NODATA, their negative TTL (RFC 2308 5), and served back
 * with the asker's ID and question case and with TTLs lowered by the time
 * spent here.
 *
 * Bounds: at most max_entries entries and max_bytes of stored messages;
 * both are allocated at create time (an entry pool, a hash table and an
 * arena of MF_DNS_CACHE_CHUNK-byte chunks), so nothing allocates after
 * it. When either runs out, the least recently used entries go first
 * (LRU), whether or not they expired. Expired entries are dropped when a
 * lookup finds them, when eviction reaches them, or by mf_dns_cache_sweep.
 *
 * What is stored: header, question, answer and authority sections of a
 * response, with the additional section dropped (glue and signatures are
 * not needed by stub clients, and the OPT record belongs to the upstream
 * hop: a client without EDNS must never see one, RFC 6891 7), re-encoded
 * by mf_dns_build_copy so that no compression pointer reaches a byte the
 * cache rewrites when serving. The server adds its own OPT with
 * mf_dns_add_opt when the client used EDNS, then fits the answer to the
 * client's limit with mf_dns_truncate.
 *
 * Each entry carries two small tags for `show dns cache`: the domain set
 * the name matched and the upstream that answered, as the caller numbers
 * them.
 *
 * Times are monotonic nanoseconds passed in (the worker's now); the hash
 * is keyed by a random seed so that names chosen by a client cannot pile
 * into one chain. A cache belongs to one thread. */
#ifndef MF_DNS_DNS_CACHE_H
#define MF_DNS_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_name.h"
#include "dns/dns_wire.h"

#define MF_DNS_CACHE_CHUNK 64 /* arena unit: bytes are held in whole chunks */
#define MF_DNS_CACHE_ENTRY_BYTES_DEFAULT 4096
#define MF_DNS_CACHE_NEG_TTL_DEFAULT 3600 /* RFC 2308 5: "one to three hours" */

typedef struct {
  uint32_t max_entries;     /* at least 1 */
  uint64_t max_bytes;       /* arena size, rounded up to whole chunks */
  uint32_t min_ttl;         /* seconds: lifetimes are clamped to */
  uint32_t max_ttl;         /* [min_ttl, max_ttl]; max_ttl 0: no cap */
  uint32_t max_neg_ttl;     /* further cap on negatives; 0: the default */
  uint32_t max_entry_bytes; /* larger answers are not cached; 0: default */
  uint64_t seed;            /* hash key; 0: taken from getrandom */
} mf_dns_cache_config_t;

typedef struct {
  uint64_t hits;
  uint64_t misses;   /* expired entries found by a lookup count here too */
  uint64_t expired;  /* entries dropped because their TTL ran out */
  uint64_t evicted;  /* live entries dropped for room (LRU) */
  uint64_t inserted;
  uint64_t replaced; /* inserts that took the place of the same question */
  uint64_t refused;  /* answers not cached (mf_dns_cache_insert's reason) */
  uint64_t flushed;
  uint32_t entries;  /* held now */
  uint64_t bytes;    /* message bytes held now */
  uint64_t chunk_bytes; /* arena bytes held now (what max_bytes bounds) */
} mf_dns_cache_stats_t;

typedef struct mf_dns_cache mf_dns_cache_t;

/* NULL when the configuration is unusable (no entries, or an arena that
 * cannot hold one message) or memory is short. */
mf_dns_cache_t *mf_dns_cache_create(const mf_dns_cache_config_t *cfg);
void mf_dns_cache_destroy(mf_dns_cache_t *c);

/* Why an answer was or was not stored. */
typedef enum {
  MF_DNS_CACHE_STORED = 0,
  MF_DNS_CACHE_NOT_ANSWER, /* not a response to one standard query */
  MF_DNS_CACHE_TRUNCATED,  /* TC set: the whole answer comes over TCP */
  MF_DNS_CACHE_RCODE,      /* SERVFAIL, REFUSED and the like */
  MF_DNS_CACHE_NO_SOA,     /* negative without SOA (RFC 2308 5) */
  MF_DNS_CACHE_ZERO_TTL,   /* TTL 0 and no minimum: use once (RFC 1035 3.2.1) */
  MF_DNS_CACHE_TOO_BIG,    /* beyond max_entry_bytes or the arena */
  MF_DNS_CACHE_BAD_ANSWER, /* CNAME chain too long, unreadable rdata name */
} mf_dns_cache_insert_t;

/* "stored", "not-answer", ... for counters. */
const char *mf_dns_cache_insert_name(mf_dns_cache_insert_t r);

/* Stores the answer msg (len bytes, parsed into m by mf_dns_parse),
 * replacing any entry for the same question. Its lifetime is the minimum
 * TTL of the CNAMEs and records that answer the question (positive), or
 * the negative TTL of its SOA (NXDOMAIN, NODATA), clamped as configured.
 * The bytes are copied; msg stays the caller's. */
mf_dns_cache_insert_t mf_dns_cache_insert(mf_dns_cache_t *c,
                                          const uint8_t *msg, size_t len,
                                          const mf_dns_msg_t *m,
                                          uint16_t set_tag,
                                          uint16_t upstream_tag,
                                          uint64_t now_ns);

typedef enum {
  MF_DNS_CACHE_HIT,
  MF_DNS_CACHE_MISS,
  MF_DNS_CACHE_NO_ROOM, /* a hit, but out is too small: nothing written */
} mf_dns_cache_lookup_t;

typedef struct {
  mf_dns_kind_t kind;
  uint32_t ttl_left; /* whole seconds */
  uint16_t set_tag, upstream_tag;
} mf_dns_cache_hit_t;

/* Answers the query q (one question) from the cache: on a hit, writes
 * the stored answer to out with q's ID, RD and CD bits and question case,
 * AD kept only when q set AD or DO (RFC 6840 5.8), and every TTL lowered
 * by the whole seconds elapsed and capped at the entry's remaining
 * lifetime; *out_len gets its length and *hit (when not NULL) the entry's
 * kind and tags. An expired entry is dropped and reads as a miss. */
mf_dns_cache_lookup_t mf_dns_cache_lookup(mf_dns_cache_t *c,
                                          const mf_dns_msg_t *q,
                                          uint64_t now_ns, uint8_t *out,
                                          size_t cap, size_t *out_len,
                                          mf_dns_cache_hit_t *hit);

/* Drops expired entries among the next budget slots of a rotating scan,
 * so a periodic timer keeps memory from holding dead answers. Returns how
 * many it dropped. */
uint32_t mf_dns_cache_sweep(mf_dns_cache_t *c, uint64_t now_ns,
                            uint32_t budget);

/* Drops every entry; counters other than entries and bytes are kept. */
void mf_dns_cache_flush(mf_dns_cache_t *c);

/* One entry as `show dns cache` prints it. */
typedef struct {
  mf_dns_name_t name; /* lower-cased */
  uint16_t qtype, qclass;
  mf_dns_kind_t kind;
  uint16_t ancount;   /* records in the stored answer section */
  uint32_t ttl_left;  /* whole seconds */
  uint16_t set_tag, upstream_tag;
  uint16_t msg_len;
} mf_dns_cache_info_t;

/* Visits live entries in slot order: start with *cursor = 0 and call
 * while it returns true. When msg is not NULL and cap suffices, the
 * stored answer is copied there with TTLs aged as a lookup would (for
 * mf_dns_answer_extract to list its addresses) and *msg_len set, else
 * *msg_len is 0. Does not count as use for LRU. Changes to the cache
 * between calls may skip or repeat an entry, never crash. */
bool mf_dns_cache_next(const mf_dns_cache_t *c, uint32_t *cursor,
                       uint64_t now_ns, mf_dns_cache_info_t *info,
                       uint8_t *msg, size_t cap, size_t *msg_len);

void mf_dns_cache_stats(const mf_dns_cache_t *c, mf_dns_cache_stats_t *out);
/* Bytes allocated at create time (entries, hash, arena, a 64 KB scratch
 * buffer for the copy being stored). */
uint64_t mf_dns_cache_memory(const mf_dns_cache_t *c);

#endif
