/* Domain list files as users have them, turned into names for a domain set.
 *
 * A parser takes the whole file as a byte span and calls back once per
 * name, with its line number, the kind of entry the format means and the
 * name already normalised (domain_match.h: lower case, no trailing dot,
 * checked). Every line or name it does not pass on is counted under a
 * reason. It never allocates and never recurses.
 *
 * Formats, and what each line gives:
 *   plain    one name per line, '#' starts a comment (also after a name).
 *            "x.com" is a suffix entry; "full:x.com" exact, "domain:x.com"
 *            suffix (v2ray's geosite lists); "keyword:" and "regexp:" lines
 *            are skipped.
 *   hosts    "ADDRESS NAME [NAME...]" with an IPv4 or IPv6 address
 *            (0.0.0.0, 127.0.0.1, ::, ::1, fe80::1%lo0); every name is an
 *            exact entry, as in a hosts file. localhost-like names
 *            (localhost, broadcasthost, ip6-loopback, ...) are skipped.
 *   adblock  "||x.com^" and "||x.com^$third-party": the domain, as a suffix
 *            entry (the rule blocks the domain and everything under it).
 *            Modifiers that do not change which names are meant (content
 *            types, third-party, important) are dropped; rules with others
 *            ($domain=, $client=, $dnstype=, $badfilter, ...), exceptions
 *            (@@), element hiding (##), regular expressions and URL rules
 *            are skipped, each under its own reason. "!" and "#" start
 *            comments; "[Adblock Plus 2.0]" headers are comments too.
 *   dnsmasq  server=, address=, local=, ipset= and nftset= lines with
 *            "/a.com/b.com/..." domains: each domain a suffix entry (what
 *            dnsmasq itself does with them). "/#/" (every domain) and
 *            options without domains are skipped.
 *
 * Wildcards: a leading "*." (plain, adblock, dnsmasq) is taken as a suffix
 * entry for the rest, flagged `wildcard`: it then also covers the name
 * itself, which no list seen in use means to exclude. A '*' anywhere else
 * is skipped. A leading '.' (".x.com") is a suffix entry too.
 *
 * Bytes: a UTF-8 byte order mark at the start is skipped; lines end with
 * LF, CRLF or CR; a line longer than MF_DOMAIN_LISTS_LINE_MAX bytes, or
 * holding a NUL byte, is skipped whole. Names with non-ASCII bytes (IDNs)
 * are skipped: lists must give them in punycode ("xn--..."), RFC 5891. */
#ifndef MF_DNS_DOMAIN_LISTS_H
#define MF_DNS_DOMAIN_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/domain_match.h"

#define MF_DOMAIN_LISTS_LINE_MAX 4096
/* Auto-detection reads at most this many meaningful lines ... */
#define MF_DOMAIN_LISTS_DETECT_LINES 64
/* ... within this many bytes. */
#define MF_DOMAIN_LISTS_DETECT_BYTES (256u * 1024)

typedef enum {
  MF_DOMAIN_LIST_AUTO = 0,
  MF_DOMAIN_LIST_PLAIN,
  MF_DOMAIN_LIST_HOSTS,
  MF_DOMAIN_LIST_ADBLOCK,
  MF_DOMAIN_LIST_DNSMASQ,
  MF_DOMAIN_LIST_N_FORMAT
} mf_domain_list_format_t;

/* Why a line (or one name of a line holding several) gave no name.
 * Declared once: the enum and the strings come from this table. */
#define MF_DOMAIN_LISTS_SKIPS(_)                                              \
  _(BLANK, "blank", "empty line")                                             \
  _(COMMENT, "comment", "comment")                                            \
  _(LINE_TOO_LONG, "line-too-long", "line longer than 4096 bytes")            \
  _(NUL_BYTE, "nul-byte", "line holding a NUL byte")                          \
  _(NON_ASCII, "non-ascii", "non-ASCII name: give IDNs in punycode (xn--)")   \
  _(INVALID_NAME, "invalid-name", "not a valid domain name")                  \
  _(IP_ADDRESS, "ip-address", "an IP address or prefix: use a CIDR set")      \
  _(WILDCARD, "wildcard", "'*' other than a leading \"*.\"")                  \
  _(SYNTAX, "syntax", "not a line of this format")                            \
  _(KEYWORD, "keyword", "keyword: or regexp: entry, not a domain")            \
  _(HOSTS_ADDRESS, "hosts-bad-address",                                       \
    "hosts line whose first field is not an IP address")                      \
  _(LOCALHOST, "localhost", "localhost entry of a hosts file")                \
  _(ADBLOCK_EXCEPTION, "adblock-exception", "@@ exception rule")              \
  _(ADBLOCK_COSMETIC, "adblock-cosmetic", "element hiding or HTML rule")      \
  _(ADBLOCK_REGEX, "adblock-regex", "regular expression rule")                \
  _(ADBLOCK_URL, "adblock-url", "URL or path rule, not a whole domain")       \
  _(ADBLOCK_MODIFIER, "adblock-modifier",                                     \
    "rule with a modifier that narrows it ($domain=, $client=, ...)")         \
  _(DNSMASQ_ALL, "dnsmasq-all",                                               \
    "/#/ means every domain: use the DNS fallback route")                     \
  _(DNSMASQ_OTHER, "dnsmasq-other", "dnsmasq option without domains")

typedef enum {
#define _(sym, n, t) MF_DOMAIN_LISTS_SKIP_##sym,
  MF_DOMAIN_LISTS_SKIPS(_)
#undef _
  MF_DOMAIN_LISTS_N_SKIP
} mf_domain_lists_skip_t;

/* One name found. name is NUL-terminated and valid only during the call. */
typedef struct {
  const char *name; /* normalised */
  size_t len;
  uint32_t line;    /* 1-based */
  mf_domain_kind_t kind;
  bool wildcard;    /* written "*.name" */
} mf_domain_list_entry_t;

/* Returns 0 to go on; any other value stops the parse and is returned by
 * it. */
typedef int (*mf_domain_list_cb_t)(void *ctx, const mf_domain_list_entry_t *e);

typedef struct {
  mf_domain_list_format_t format; /* the one used (detected for AUTO) */
  uint32_t lines;
  uint32_t names;                 /* callbacks made */
  uint32_t skipped[MF_DOMAIN_LISTS_N_SKIP];
  uint32_t first_line[MF_DOMAIN_LISTS_N_SKIP]; /* 0: none of that reason */
} mf_domain_lists_stats_t;

/* "auto", "plain", "hosts", "adblock", "dnsmasq". */
const char *mf_domain_lists_format_name(mf_domain_list_format_t f);
/* The format named so (as a profile writes it); -1 when none is. */
int mf_domain_lists_format_parse(const char *name, mf_domain_list_format_t *out);
const char *mf_domain_lists_skip_name(mf_domain_lists_skip_t s);
const char *mf_domain_lists_skip_text(mf_domain_lists_skip_t s);

/* The format of a file judged by its first meaningful lines (comments and
 * blank lines aside); plain when nothing tells. */
mf_domain_list_format_t mf_domain_lists_detect(const char *text, size_t len);

/* Parses text (len bytes, any content) in the given format (AUTO: detect
 * first), calling cb per name. stats (required) is filled from zero.
 * Returns 0, or the callback's value that stopped it. */
int mf_domain_lists_parse(const char *text, size_t len,
                          mf_domain_list_format_t format,
                          mf_domain_list_cb_t cb, void *ctx,
                          mf_domain_lists_stats_t *stats);

#endif
