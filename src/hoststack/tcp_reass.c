/* Range lists in sequence space, for both directions of SACK (RFC 2018):
 *
 *   ooo     what the app sent beyond a hole; the bytes themselves already
 *           sit at their offsets in the rx ring. Kept most recent first,
 *           which is the order the SACK option must report them in.
 *   sacked  what the app reported holding beyond snd_una: the sender's
 *           scoreboard (RFC 6675), so recovery resends only the holes.
 *
 * Lists hold a handful of ranges; every loop is bounded by their size. */
#include "hoststack/tcp_internal.h"

/* merge() sizes its scratch for the longer of the two lists. */
_Static_assert(MF_TCP_MAX_SACKED <= MF_TCP_MAX_HOLES, "sacked list too long");

static uint32_t seq_min(uint32_t a, uint32_t b)
{
  return MF_SEQ_LT(a, b) ? a : b;
}

static uint32_t seq_max(uint32_t a, uint32_t b)
{
  return MF_SEQ_GT(a, b) ? a : b;
}

/* Overlapping or touching: one range can hold both. */
static bool touches(mf_tcp_range_t a, mf_tcp_range_t b)
{
  return MF_SEQ_LEQ(a.start, b.end) && MF_SEQ_LEQ(b.start, a.end);
}

/* Merges m with every range of r it touches; the others go to kept in
 * their order. Returns how many were kept. */
static uint8_t merge(const mf_tcp_range_t *r, uint8_t n, mf_tcp_range_t *m,
                     mf_tcp_range_t *kept)
{
  bool taken[MF_TCP_MAX_HOLES] = {false};
  /* A merge can make m reach a range it missed before: repeat until no
   * range joins, at most once per range. */
  for (uint8_t pass = 0; pass <= n; pass++) {
    bool grew = false;
    for (uint8_t i = 0; i < n; i++) {
      if (!taken[i] && touches(r[i], *m)) {
        m->start = seq_min(m->start, r[i].start);
        m->end = seq_max(m->end, r[i].end);
        taken[i] = grew = true;
      }
    }
    if (!grew)
      break;
  }
  uint8_t k = 0;
  for (uint8_t i = 0; i < n; i++)
    if (!taken[i])
      kept[k++] = r[i];
  return k;
}

int mf_tcp_reass_add(mf_tcp_range_t *r, uint8_t *n, uint32_t start,
                     uint32_t end)
{
  if (!MF_SEQ_LT(start, end))
    return 0;
  mf_tcp_range_t m = {start, end}, kept[MF_TCP_MAX_HOLES];
  uint8_t k = merge(r, *n, &m, kept);
  if (k + 1 > MF_TCP_MAX_HOLES)
    return -1;
  r[0] = m;
  for (uint8_t i = 0; i < k; i++)
    r[i + 1] = kept[i];
  *n = (uint8_t)(k + 1);
  return 0;
}

static void remove_at(mf_tcp_range_t *r, uint8_t *n, uint8_t i)
{
  for (uint8_t j = i; j + 1 < *n; j++)
    r[j] = r[j + 1];
  (*n)--;
}

uint32_t mf_tcp_reass_advance(mf_tcp_range_t *r, uint8_t *n, uint32_t nxt)
{
  /* Each pass removes one range or stops. */
  for (uint8_t pass = 0; pass < MF_TCP_MAX_HOLES && *n > 0; pass++) {
    uint8_t i = 0;
    while (i < *n && MF_SEQ_GT(r[i].start, nxt))
      i++;
    if (i == *n)
      break;
    nxt = seq_max(nxt, r[i].end);
    remove_at(r, n, i);
  }
  return nxt;
}

/* Bytes of [s, e) that ranges of r already cover (r's ranges are
 * disjoint). */
static uint32_t covered(const mf_tcp_range_t *r, uint8_t n, uint32_t s,
                        uint32_t e)
{
  uint32_t sum = 0;
  for (uint8_t i = 0; i < n; i++) {
    uint32_t a = seq_max(s, r[i].start), b = seq_min(e, r[i].end);
    if (MF_SEQ_LT(a, b))
      sum += b - a;
  }
  return sum;
}

uint32_t mf_tcp_sacked_add(mf_tcp_conn_t *c, uint32_t start, uint32_t end)
{
  /* Only blocks about data in flight count (RFC 2018 5: a receiver may
   * report old blocks; a forged one must not move our state). */
  if (!MF_SEQ_LT(start, end) || MF_SEQ_LEQ(end, c->snd_una) ||
      MF_SEQ_GT(end, c->snd_max))
    return 0;
  start = seq_max(start, c->snd_una);
  uint32_t fresh = (end - start) - covered(c->sacked, c->n_sacked, start, end);
  mf_tcp_range_t m = {start, end}, kept[MF_TCP_MAX_HOLES];
  uint8_t k = merge(c->sacked, c->n_sacked, &m, kept);
  if (k + 1 > MF_TCP_MAX_SACKED) { /* forget the oldest news: at worst */
    k = MF_TCP_MAX_SACKED - 1;     /* a range is resent needlessly     */
    c->sack_forgot = true;
  }
  c->sacked[0] = m;
  for (uint8_t i = 0; i < k; i++)
    c->sacked[i + 1] = kept[i];
  c->n_sacked = (uint8_t)(k + 1);
  return fresh;
}

void mf_tcp_sacked_trim(mf_tcp_conn_t *c)
{
  uint8_t i = 0;
  while (i < c->n_sacked) {
    if (MF_SEQ_LEQ(c->sacked[i].end, c->snd_una)) {
      remove_at(c->sacked, &c->n_sacked, i);
      continue;
    }
    c->sacked[i].start = seq_max(c->sacked[i].start, c->snd_una);
    i++;
  }
  if (c->n_sacked == 0)
    c->sack_forgot = false;
}

uint32_t mf_tcp_sacked_skip(const mf_tcp_conn_t *c, uint32_t seq)
{
  for (uint8_t pass = 0; pass <= c->n_sacked; pass++) {
    bool moved = false;
    for (uint8_t i = 0; i < c->n_sacked; i++) {
      if (MF_SEQ_LEQ(c->sacked[i].start, seq) &&
          MF_SEQ_LT(seq, c->sacked[i].end)) {
        seq = c->sacked[i].end;
        moved = true;
      }
    }
    if (!moved)
      break;
  }
  return seq;
}

uint32_t mf_tcp_sacked_next(const mf_tcp_conn_t *c, uint32_t seq,
                            uint32_t limit)
{
  for (uint8_t i = 0; i < c->n_sacked; i++)
    if (MF_SEQ_GT(c->sacked[i].start, seq))
      limit = seq_min(limit, c->sacked[i].start);
  return limit;
}

uint32_t mf_tcp_sacked_high(const mf_tcp_conn_t *c)
{
  uint32_t h = c->snd_una;
  for (uint8_t i = 0; i < c->n_sacked; i++)
    h = seq_max(h, c->sacked[i].end);
  return h;
}

uint32_t mf_tcp_sacked_missing(const mf_tcp_conn_t *c, uint32_t s, uint32_t e)
{
  if (!MF_SEQ_LT(s, e))
    return 0;
  return (e - s) - covered(c->sacked, c->n_sacked, s, e);
}

uint32_t mf_tcp_sacked_bytes(const mf_tcp_conn_t *c)
{
  uint32_t sum = 0;
  for (uint8_t i = 0; i < c->n_sacked; i++)
    sum += c->sacked[i].end - c->sacked[i].start;
  return sum;
}
