/* Domain sets: which set, if any, a DNS query name belongs to.
 *
 * A profile declares domain sets; each entry is a name and a kind:
 *   suffix  "netflix.com" covers netflix.com and every name under it;
 *   exact   "netflix.com" covers netflix.com only.
 * A builder takes the entries of every set, in declaration order, and
 * compiles them into one immutable matcher. A lookup answers the set of the
 * most specific entry that covers the query name: the longest matching
 * suffix, where an exact entry counts only for the name itself and, on the
 * name itself, beats a suffix entry of the same name.
 *
 * The same name twice:
 *   same kind, same set     a duplicate, ignored;
 *   same kind, other set    a conflict: the entry declared first wins;
 *   other kind, other set   an overlap: both are kept, the exact entry
 *                           decides the name itself, the suffix entry the
 *                           names under it.
 * Conflicts and overlaps are counted and the first few kept as examples.
 *
 * Names are plain text (no escapes): ASCII letters (any case), digits, '-'
 * and '_', labels of 1..63 characters, at most 253 characters without the
 * optional trailing dot (RFC 1035 2.3.4; '_' for RFC 8552 service names;
 * IDNs only in their punycode form, RFC 5890). Case never matters
 * (RFC 4343). Wildcards are not names: "*.x.com" is refused here, and the
 * list parsers (domain_lists.h) turn it into a suffix entry.
 *
 * Memory: names live once in one byte array, each behind a 5-byte header;
 * an index of 8-byte slots (a hash tag and the name's offset) is kept
 * sorted by tag, so a probe is a short forward scan from the tag's home and
 * a miss stops at the first larger tag. A lookup of a name of L labels
 * costs at most L probes: one per suffix, longest first.
 *
 * Threads: a builder belongs to one thread. A compiled matcher is never
 * written again: any number of threads may look up in it at once. */
#ifndef MF_DNS_DOMAIN_MATCH_H
#define MF_DNS_DOMAIN_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define MF_DOMAIN_NAME_MAX 253 /* text, no trailing dot: 255 on the wire */
#define MF_DOMAIN_LABEL_MAX 63
#define MF_DOMAIN_MAX_SETS 65535u   /* set ids are 0 .. MF_DOMAIN_MAX_SETS-1 */
#define MF_DOMAIN_MAX_NAMES (1u << 24)
#define MF_DOMAIN_NO_SET UINT32_MAX /* what a lookup without a match returns */
#define MF_DOMAIN_EXAMPLES 8        /* conflicts and overlaps kept to report */

typedef enum { MF_DOMAIN_SUFFIX = 0, MF_DOMAIN_EXACT = 1 } mf_domain_kind_t;

/* What became of a name given to the builder, and why a name is not one.
 * Declared once: the enum and the strings come from this table. */
#define MF_DOMAIN_RESULTS(_)                                                  \
  _(OK, "ok", "added")                                                        \
  _(DUPLICATE, "duplicate", "already in the same set with the same kind")     \
  _(CONFLICT, "conflict",                                                     \
    "already in another set with the same kind: the first one is kept")       \
  _(OVERLAP, "overlap",                                                       \
    "in another set with the other kind: exact decides the name itself")      \
  _(EMPTY, "empty", "empty name")                                             \
  _(TOO_LONG, "too-long", "longer than 253 characters")                       \
  _(EMPTY_LABEL, "empty-label", "empty label (a leading dot or two dots)")    \
  _(LABEL_TOO_LONG, "label-too-long", "a label longer than 63 characters")    \
  _(BAD_CHAR, "bad-char",                                                     \
    "a character other than letters, digits, '-', '_' and '.'")               \
  _(IP_ADDRESS, "ip-address", "an IPv4 address, not a name: use a CIDR set")  \
  _(BAD_SET, "bad-set", "set id out of range")                                \
  _(FULL, "full", "the builder's name limit is reached")                      \
  _(NO_MEMORY, "no-memory", "out of memory")

typedef enum {
#define _(sym, n, t) MF_DOMAIN_R_##sym,
  MF_DOMAIN_RESULTS(_)
#undef _
  MF_DOMAIN_N_RESULT
} mf_domain_result_t;

/* A later entry that met an earlier one of the same name in another set. */
typedef struct {
  char name[MF_DOMAIN_NAME_MAX + 1];
  uint32_t kept_set;  /* conflict: the earlier set; overlap: the exact one */
  uint32_t other_set; /* the later entry's set */
  mf_domain_kind_t kind;     /* the later entry's kind */
  mf_domain_result_t result; /* MF_DOMAIN_R_CONFLICT or _OVERLAP */
} mf_domain_clash_t;

typedef struct {
  uint32_t names;       /* distinct names held */
  uint32_t entries;     /* exact plus suffix entries held (>= names) */
  uint64_t name_bytes;  /* characters of the distinct names */
  uint64_t bytes;       /* memory held, index and headers included */
  uint32_t conflicts;   /* ... also in results[] below, for convenience */
  uint32_t overlaps;
  uint64_t results[MF_DOMAIN_N_RESULT]; /* add() calls by outcome */
  uint32_t n_examples;
  mf_domain_clash_t examples[MF_DOMAIN_EXAMPLES]; /* first ones, in order */
} mf_domain_stats_t;

/* What a lookup matched; filled only on a match. */
typedef struct {
  uint32_t set;
  mf_domain_kind_t kind;
  uint16_t len; /* length of the matching entry's name, in characters */
} mf_domain_hit_t;

typedef struct mf_domain_builder mf_domain_builder_t;
typedef struct mf_domain_match mf_domain_match_t;

/* "ok", "duplicate", ... and a sentence for each. */
const char *mf_domain_result_name(mf_domain_result_t r);
const char *mf_domain_result_text(mf_domain_result_t r);

/* Lower-cases and checks one name (len bytes, an optional trailing dot).
 * On MF_DOMAIN_R_OK writes it to out (MF_DOMAIN_NAME_MAX + 1 bytes,
 * NUL-terminated, no trailing dot) and its length to *out_len; otherwise
 * returns why it is not a name. */
mf_domain_result_t mf_domain_name_normalize(const char *name, size_t len,
                                            char *out, size_t *out_len);

/* A builder for at most max_names distinct names (0: MF_DOMAIN_MAX_NAMES).
 * hash_seed keys the index (0: one from getrandom); lookups give the same
 * answers whatever it is. NULL when out of memory. */
mf_domain_builder_t *mf_domain_builder_new(uint32_t max_names,
                                           uint64_t hash_seed);
/* Adds one entry. Returns OK, DUPLICATE, CONFLICT or OVERLAP when the name
 * is valid (counted, see above), else the reason nothing was added. */
mf_domain_result_t mf_domain_builder_add(mf_domain_builder_t *b,
                                         const char *name, size_t len,
                                         uint32_t set, mf_domain_kind_t kind);
/* Counters so far (bytes: the builder's own memory). */
const mf_domain_stats_t *mf_domain_builder_stats(const mf_domain_builder_t *b);
/* Compiles and frees the builder, in every case: b is invalid afterwards.
 * NULL when out of memory. */
mf_domain_match_t *mf_domain_builder_compile(mf_domain_builder_t *b);
/* Frees a builder that will not be compiled. NULL is fine. */
void mf_domain_builder_free(mf_domain_builder_t *b);

/* Set of the most specific entry covering a query name in text form: any
 * case, an optional trailing dot, RFC 1035 5.1 escapes ("\." and "\DDD")
 * honoured. A label that cannot be in any set (a character outside the
 * name alphabet, an escaped dot) still lets the labels to its right match.
 * A malformed name (empty label, over 63 or 255 octets, a bad escape)
 * matches nothing. Returns MF_DOMAIN_NO_SET when nothing covers it; fills
 * *hit (may be NULL) on a match. */
uint32_t mf_domain_match_lookup(const mf_domain_match_t *m, const char *name,
                                size_t len, mf_domain_hit_t *hit);
/* The same for an uncompressed wire-format name (RFC 1035 3.1: length
 * octets and labels, ending with the root label) of at most len bytes. */
uint32_t mf_domain_match_lookup_wire(const mf_domain_match_t *m,
                                     const uint8_t *wire, size_t len,
                                     mf_domain_hit_t *hit);
const mf_domain_stats_t *mf_domain_match_stats(const mf_domain_match_t *m);
/* NULL is fine. */
void mf_domain_match_free(mf_domain_match_t *m);

#endif
