#include "dns/domain_lists.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* One parse: where names go and what is counted. */
typedef struct {
  mf_domain_list_cb_t cb;
  void *ctx;
  mf_domain_lists_stats_t *st;
  uint32_t line;
  int stop; /* the callback's non-zero value */
} parser_t;

/* How emit() treats what it is given. */
enum {
  EMIT_WILDCARD = 1, /* "*.x.com" and ".x.com" allowed */
  EMIT_HOSTS = 2,    /* skip localhost-like names */
};

static const char *const format_names[] = {"auto", "plain", "hosts",
                                           "adblock", "dnsmasq"};
static const char *const skip_names[] = {
#define _(sym, n, t) n,
    MF_DOMAIN_LISTS_SKIPS(_)
#undef _
};
static const char *const skip_texts[] = {
#define _(sym, n, t) t,
    MF_DOMAIN_LISTS_SKIPS(_)
#undef _
};

const char *mf_domain_lists_format_name(mf_domain_list_format_t f)
{
  return (unsigned)f < MF_DOMAIN_LIST_N_FORMAT ? format_names[f] : "?";
}

int mf_domain_lists_format_parse(const char *name,
                                 mf_domain_list_format_t *out)
{
  for (unsigned f = 0; f < MF_DOMAIN_LIST_N_FORMAT; f++)
    if (strcmp(name, format_names[f]) == 0) {
      *out = (mf_domain_list_format_t)f;
      return 0;
    }
  return -1;
}

const char *mf_domain_lists_skip_name(mf_domain_lists_skip_t s)
{
  return (unsigned)s < MF_DOMAIN_LISTS_N_SKIP ? skip_names[s] : "?";
}

const char *mf_domain_lists_skip_text(mf_domain_lists_skip_t s)
{
  return (unsigned)s < MF_DOMAIN_LISTS_N_SKIP ? skip_texts[s] : "?";
}

/* ---- text helpers ---- */

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Trims s[0..*n) in place of its pointer and length. */
static const char *trim(const char *s, size_t *n)
{
  while (*n && is_space(s[0])) {
    s++;
    (*n)--;
  }
  while (*n && is_space(s[*n - 1]))
    (*n)--;
  return s;
}

/* The next whitespace-separated token at or after *pos; false at the end. */
static bool next_token(const char *s, size_t n, size_t *pos, const char **tok,
                       size_t *tok_len)
{
  size_t i = *pos;
  while (i < n && is_space(s[i]))
    i++;
  /* Callers may read the token even when there is none: an empty one. */
  *tok = s + i;
  *tok_len = 0;
  if (i == n)
    return false;
  size_t start = i;
  while (i < n && !is_space(s[i]))
    i++;
  *tok = s + start;
  *tok_len = i - start;
  *pos = i;
  return true;
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
  size_t k = strlen(prefix);
  return n >= k && memcmp(s, prefix, k) == 0;
}

static bool has_seq(const char *s, size_t n, const char *seq)
{
  return memmem(s, n, seq, strlen(seq)) != NULL;
}

/* An IPv4 or IPv6 address, with an optional "%zone" or "/len". */
static bool is_ip(const char *s, size_t n)
{
  char buf[64];
  unsigned char addr[16];
  if (n == 0 || n >= sizeof buf)
    return false;
  memcpy(buf, s, n);
  buf[n] = 0;
  buf[strcspn(buf, "%/")] = 0;
  return inet_pton(AF_INET, buf, addr) == 1 ||
         inet_pton(AF_INET6, buf, addr) == 1;
}

/* Names a hosts file maps for the machine itself, not for blocking. */
static bool is_localhost_name(const char *s)
{
  static const char *const names[] = {
      "localhost",     "localhost.localdomain", "local",
      "broadcasthost", "ip6-localhost",         "ip6-loopback",
      "ip6-localnet",  "ip6-mcastprefix",       "ip6-allnodes",
      "ip6-allrouters", "ip6-allhosts",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i]) == 0)
      return true;
  return false;
}

/* ---- counting and passing on ---- */

static void skip(parser_t *p, mf_domain_lists_skip_t why)
{
  p->st->skipped[why]++;
  if (!p->st->first_line[why])
    p->st->first_line[why] = p->line;
}

/* Checks one name as written in a list and passes it on or counts why
 * not. */
static void emit(parser_t *p, const char *s, size_t n, mf_domain_kind_t kind,
                 unsigned flags)
{
  bool wildcard = false;
  if ((flags & EMIT_WILDCARD) && n >= 2 && s[0] == '*' && s[1] == '.') {
    wildcard = true;
    s += 2;
    n -= 2;
  } else if ((flags & EMIT_WILDCARD) && n >= 1 && s[0] == '.') {
    s++;
    n--;
  }
  if (memchr(s, '*', n)) {
    skip(p, MF_DOMAIN_LISTS_SKIP_WILDCARD);
    return;
  }
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) {
      skip(p, MF_DOMAIN_LISTS_SKIP_NON_ASCII);
      return;
    }
  if (is_ip(s, n)) {
    skip(p, MF_DOMAIN_LISTS_SKIP_IP_ADDRESS);
    return;
  }
  char name[MF_DOMAIN_NAME_MAX + 1];
  size_t len;
  mf_domain_result_t r = mf_domain_name_normalize(s, n, name, &len);
  if (r != MF_DOMAIN_R_OK) {
    skip(p, r == MF_DOMAIN_R_IP_ADDRESS ? MF_DOMAIN_LISTS_SKIP_IP_ADDRESS
                                        : MF_DOMAIN_LISTS_SKIP_INVALID_NAME);
    return;
  }
  if ((flags & EMIT_HOSTS) && is_localhost_name(name)) {
    skip(p, MF_DOMAIN_LISTS_SKIP_LOCALHOST);
    return;
  }
  mf_domain_list_entry_t e = {.name = name, .len = len, .line = p->line,
                              .kind = kind, .wildcard = wildcard};
  p->st->names++;
  p->stop = p->cb(p->ctx, &e);
}

/* Cuts s at a comment that starts with '#' at the line start or after
 * whitespace; true when one was cut. */
static bool cut_hash_comment(const char *s, size_t *n)
{
  for (size_t i = 0; i < *n; i++)
    if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) {
      *n = i;
      return true;
    }
  return false;
}

/* Counts an empty (or comment-only) line; true when it was one. */
static bool skip_if_empty(parser_t *p, size_t n, bool had_comment)
{
  if (n)
    return false;
  skip(p, had_comment ? MF_DOMAIN_LISTS_SKIP_COMMENT
                      : MF_DOMAIN_LISTS_SKIP_BLANK);
  return true;
}

/* ---- plain ---- */

static void plain_line(parser_t *p, const char *s, size_t n)
{
  /* '#' is never part of a name: a comment wherever it starts. */
  const char *hash = memchr(s, '#', n);
  bool had_comment = hash != NULL;
  if (hash)
    n = (size_t)(hash - s);
  s = trim(s, &n);
  if (skip_if_empty(p, n, had_comment))
    return;
  size_t pos = 0, tl;
  const char *tok;
  next_token(s, n, &pos, &tok, &tl);
  if (tl != n) {
    skip(p, MF_DOMAIN_LISTS_SKIP_SYNTAX);
    return;
  }
  mf_domain_kind_t kind = MF_DOMAIN_SUFFIX;
  if (starts_with(s, n, "full:")) {
    kind = MF_DOMAIN_EXACT;
    s += 5, n -= 5;
  } else if (starts_with(s, n, "domain:")) {
    s += 7, n -= 7;
  } else if (starts_with(s, n, "keyword:") || starts_with(s, n, "regexp:")) {
    skip(p, MF_DOMAIN_LISTS_SKIP_KEYWORD);
    return;
  }
  emit(p, s, n, kind, kind == MF_DOMAIN_SUFFIX ? EMIT_WILDCARD : 0);
}

/* ---- hosts ---- */

static void hosts_names(parser_t *p, const char *s, size_t n)
{
  size_t pos = 0, tl;
  const char *tok;
  next_token(s, n, &pos, &tok, &tl);
  if (!is_ip(tok, tl)) {
    skip(p, MF_DOMAIN_LISTS_SKIP_HOSTS_ADDRESS);
    return;
  }
  bool any = false;
  while (!p->stop && next_token(s, n, &pos, &tok, &tl)) {
    any = true;
    emit(p, tok, tl, MF_DOMAIN_EXACT, EMIT_HOSTS);
  }
  if (!any)
    skip(p, MF_DOMAIN_LISTS_SKIP_SYNTAX);
}

static void hosts_line(parser_t *p, const char *s, size_t n)
{
  const char *hash = memchr(s, '#', n);
  bool had_comment = hash != NULL;
  if (hash)
    n = (size_t)(hash - s);
  s = trim(s, &n);
  if (skip_if_empty(p, n, had_comment))
    return;
  hosts_names(p, s, n);
}

/* ---- adblock ---- */

/* Element hiding, CSS, scriptlet and HTML filtering rules: "##", "#@#",
 * "#?#", "#$#", "#%#" and their exceptions, "$$", "$@$". */
static bool adblock_is_cosmetic(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '#') {
      size_t j = i + 1;
      if (j < n && s[j] == '@')
        j++;
      if (j < n && (s[j] == '?' || s[j] == '$' || s[j] == '%'))
        j++;
      if (j < n && s[j] == '#')
        return true;
    }
  }
  return has_seq(s, n, "$$") || has_seq(s, n, "$@$");
}

/* Modifiers that say in which web context a rule applies, not which names
 * it covers: at the DNS level the rule still means its whole domain. */
static bool adblock_modifier_is_harmless(const char *m, size_t n)
{
  static const char *const ok[] = {
      "third-party", "3p",        "first-party", "1p",
      "strict-third-party",       "strict-first-party",
      "important",   "all",       "document",    "doc",
      "popup",       "script",    "image",       "stylesheet",
      "css",         "subdocument", "frame",     "xmlhttprequest",
      "xhr",         "media",     "font",        "object",
      "other",       "ping",      "websocket",
  };
  if (n && m[0] == '~') {
    m++;
    n--;
  }
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strlen(ok[i]) == n && strncasecmp(m, ok[i], n) == 0)
      return true;
  return false;
}

static bool adblock_modifiers_ok(const char *s, size_t n)
{
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == ',') {
      if (!adblock_modifier_is_harmless(s + start, i - start))
        return false;
      start = i + 1;
    }
  }
  return true;
}

/* "||domain", then "^" (optionally "^|"), then "$modifiers" or nothing. */
static void adblock_domain_rule(parser_t *p, const char *s, size_t n)
{
  size_t i = 2;
  while (i < n && !strchr("^$/|:?=&", s[i]) && !is_space(s[i]))
    i++;
  const char *dom = s + 2;
  size_t dom_len = i - 2;
  if (i < n && s[i] == '^') {
    i++;
    if (i < n && s[i] == '|')
      i++;
  }
  if (i < n && s[i] == '$') {
    if (!adblock_modifiers_ok(s + i + 1, n - i - 1)) {
      skip(p, MF_DOMAIN_LISTS_SKIP_ADBLOCK_MODIFIER);
      return;
    }
    i = n;
  }
  if (i != n) {
    skip(p, MF_DOMAIN_LISTS_SKIP_ADBLOCK_URL);
    return;
  }
  emit(p, dom, dom_len, MF_DOMAIN_SUFFIX, EMIT_WILDCARD);
}

static void adblock_line(parser_t *p, const char *s, size_t n)
{
  s = trim(s, &n);
  if (skip_if_empty(p, n, false))
    return;
  if (s[0] == '!' || s[0] == '[') {
    skip(p, MF_DOMAIN_LISTS_SKIP_COMMENT);
    return;
  }
  if (adblock_is_cosmetic(s, n)) {
    skip(p, MF_DOMAIN_LISTS_SKIP_ADBLOCK_COSMETIC);
    return;
  }
  if (s[0] == '#') {
    skip(p, MF_DOMAIN_LISTS_SKIP_COMMENT);
    return;
  }
  if (starts_with(s, n, "@@")) {
    skip(p, MF_DOMAIN_LISTS_SKIP_ADBLOCK_EXCEPTION);
    return;
  }
  if (s[0] == '/') {
    bool regex = (n > 1 && s[n - 1] == '/') || has_seq(s, n, "/$");
    skip(p, regex ? MF_DOMAIN_LISTS_SKIP_ADBLOCK_REGEX
                  : MF_DOMAIN_LISTS_SKIP_ADBLOCK_URL);
    return;
  }
  if (starts_with(s, n, "||")) {
    adblock_domain_rule(p, s, n);
    return;
  }
  /* DNS blockers read hosts lines in these lists too. */
  size_t pos = 0, tl;
  const char *tok;
  next_token(s, n, &pos, &tok, &tl);
  if (tl < n && is_ip(tok, tl)) {
    hosts_names(p, s, n);
    return;
  }
  /* A bare "x.com" is a substring pattern here, not a domain. */
  skip(p, s[0] == '|' || memchr(s, '/', n) ? MF_DOMAIN_LISTS_SKIP_ADBLOCK_URL
                                           : MF_DOMAIN_LISTS_SKIP_SYNTAX);
}

/* ---- dnsmasq ---- */

/* Options whose value is "/domain/domain/.../rest" (dnsmasq(8)). */
static bool dnsmasq_key_has_domains(const char *k, size_t n)
{
  static const char *const keys[] = {"server", "address", "local", "ipset",
                                     "nftset"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strlen(keys[i]) == n && memcmp(k, keys[i], n) == 0)
      return true;
  return false;
}

static void dnsmasq_line(parser_t *p, const char *s, size_t n)
{
  bool had_comment = cut_hash_comment(s, &n);
  s = trim(s, &n);
  if (skip_if_empty(p, n, had_comment))
    return;
  const char *eq = memchr(s, '=', n);
  if (!eq) {
    skip(p, MF_DOMAIN_LISTS_SKIP_DNSMASQ_OTHER);
    return;
  }
  size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
  const char *v = trim(eq + 1, &vlen);
  while (klen && is_space(s[klen - 1]))
    klen--;
  if (!dnsmasq_key_has_domains(s, klen) || vlen == 0 || v[0] != '/') {
    skip(p, MF_DOMAIN_LISTS_SKIP_DNSMASQ_OTHER);
    return;
  }
  const char *last = memrchr(v, '/', vlen);
  if (last == v) {
    skip(p, MF_DOMAIN_LISTS_SKIP_SYNTAX); /* no closing '/' */
    return;
  }
  size_t start = 1, end = (size_t)(last - v);
  for (size_t i = 1; i <= end && !p->stop; i++) {
    if (i < end && v[i] != '/')
      continue;
    const char *d = v + start;
    size_t dl = i - start;
    start = i + 1;
    if (dl == 0) /* "//": unqualified names, no domain */
      skip(p, MF_DOMAIN_LISTS_SKIP_DNSMASQ_OTHER);
    else if (dl == 1 && d[0] == '#')
      skip(p, MF_DOMAIN_LISTS_SKIP_DNSMASQ_ALL);
    else
      emit(p, d, dl, MF_DOMAIN_SUFFIX, EMIT_WILDCARD);
  }
}

/* ---- lines ---- */

typedef struct {
  const char *s;
  size_t len;
  bool has_nul;
} line_t;

/* The line at *pos (LF, CRLF or CR ends it); false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, line_t *l)
{
  size_t i = *pos;
  if (i >= len)
    return false;
  l->s = text + i;
  l->has_nul = false;
  while (i < len && text[i] != '\n' && text[i] != '\r') {
    if (text[i] == 0)
      l->has_nul = true;
    i++;
  }
  l->len = (size_t)(text + i - l->s);
  if (i < len && text[i++] == '\r' && i < len && text[i] == '\n')
    i++;
  *pos = i;
  return true;
}

static size_t skip_bom(const char *text, size_t len)
{
  return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* ---- detection ---- */

static bool starts_with_nocase(const char *s, size_t n, const char *prefix)
{
  size_t k = strlen(prefix);
  return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* Adds what one line says about the format to votes[]; true when the line
 * is meaningful (not blank, not a comment). */
static bool detect_vote(const char *s, size_t n, unsigned *votes)
{
  s = trim(s, &n);
  if (n == 0)
    return false;
  if (starts_with_nocase(s, n, "[adblock") ||
      starts_with_nocase(s, n, "[ublock") ||
      starts_with_nocase(s, n, "[adguard")) {
    votes[MF_DOMAIN_LIST_ADBLOCK] += 16;
    return false;
  }
  if (s[0] == '!') {
    votes[MF_DOMAIN_LIST_ADBLOCK] += 1;
    return false;
  }
  if (s[0] == '#' && !adblock_is_cosmetic(s, n))
    return false;
  if (s[0] == '|' || starts_with(s, n, "@@") || adblock_is_cosmetic(s, n) ||
      memchr(s, '^', n)) {
    votes[MF_DOMAIN_LIST_ADBLOCK] += 2;
    return true;
  }
  const char *eq = memchr(s, '=', n);
  if (eq && !memchr(s, ' ', (size_t)(eq - s))) {
    size_t k = (size_t)(eq - s);
    votes[MF_DOMAIN_LIST_DNSMASQ] += dnsmasq_key_has_domains(s, k) ? 2 : 1;
    return true;
  }
  size_t pos = 0, tl;
  const char *tok;
  next_token(s, n, &pos, &tok, &tl);
  if (tl < n && is_ip(tok, tl))
    votes[MF_DOMAIN_LIST_HOSTS] += 2;
  else
    votes[MF_DOMAIN_LIST_PLAIN] += 1;
  return true;
}

mf_domain_list_format_t mf_domain_lists_detect(const char *text, size_t len)
{
  unsigned votes[MF_DOMAIN_LIST_N_FORMAT] = {0};
  if (len > MF_DOMAIN_LISTS_DETECT_BYTES)
    len = MF_DOMAIN_LISTS_DETECT_BYTES;
  size_t pos = skip_bom(text, len);
  unsigned meaningful = 0;
  line_t l;
  while (meaningful < MF_DOMAIN_LISTS_DETECT_LINES &&
         next_line(text, len, &pos, &l)) {
    if (l.has_nul || l.len > MF_DOMAIN_LISTS_LINE_MAX)
      continue;
    if (detect_vote(l.s, l.len, votes))
      meaningful++;
  }
  /* Ties go to the more specific syntax. */
  static const mf_domain_list_format_t order[] = {
      MF_DOMAIN_LIST_ADBLOCK, MF_DOMAIN_LIST_DNSMASQ, MF_DOMAIN_LIST_HOSTS,
      MF_DOMAIN_LIST_PLAIN};
  mf_domain_list_format_t best = MF_DOMAIN_LIST_PLAIN;
  unsigned best_votes = 0;
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if (votes[order[i]] > best_votes) {
      best = order[i];
      best_votes = votes[order[i]];
    }
  return best;
}

/* ---- parse ---- */

int mf_domain_lists_parse(const char *text, size_t len,
                          mf_domain_list_format_t format,
                          mf_domain_list_cb_t cb, void *ctx,
                          mf_domain_lists_stats_t *stats)
{
  static void (*const parse_line[])(parser_t *, const char *, size_t) = {
      [MF_DOMAIN_LIST_PLAIN] = plain_line,
      [MF_DOMAIN_LIST_HOSTS] = hosts_line,
      [MF_DOMAIN_LIST_ADBLOCK] = adblock_line,
      [MF_DOMAIN_LIST_DNSMASQ] = dnsmasq_line,
  };
  *stats = (mf_domain_lists_stats_t){0};
  if ((unsigned)format >= MF_DOMAIN_LIST_N_FORMAT ||
      format == MF_DOMAIN_LIST_AUTO)
    format = mf_domain_lists_detect(text, len);
  stats->format = format;
  parser_t p = {.cb = cb, .ctx = ctx, .st = stats};
  size_t pos = skip_bom(text, len);
  line_t l;
  while (!p.stop && next_line(text, len, &pos, &l)) {
    if (p.line < UINT32_MAX)
      p.line++;
    stats->lines = p.line;
    if (l.len > MF_DOMAIN_LISTS_LINE_MAX)
      skip(&p, MF_DOMAIN_LISTS_SKIP_LINE_TOO_LONG);
    else if (l.has_nul)
      skip(&p, MF_DOMAIN_LISTS_SKIP_NUL_BYTE);
    else
      parse_line[format](&p, l.s, l.len);
  }
  return p.stop;
}
