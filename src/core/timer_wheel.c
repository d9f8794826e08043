/* A hierarchical timing wheel (Varghese and Lauck, 1987, scheme 7), in the
 * shape of the Linux kernel's cascading timer wheel.
 *
 * Time is counted in ticks; a deadline d lies in tick floor(d / tick). The
 * wheel keeps `base`, the next tick it has not processed. Six levels of 64
 * slots each cover 2^36 ticks (795 days of 1 ms ticks): a user whose tick T
 * agrees with base in every bit above level l's six bits, and not above
 * level l - 1's, waits in level l's slot for those six bits of T. Its slot
 * then always lies ahead of base within the current turn of its level, so a
 * slot never mixes two turns. Ticks further out wait on an overflow list
 * that is looked at once per 2^36 ticks.
 *
 * When base reaches the start of a level-l slot, the slot is cascaded: its
 * users move down to where they now belong. A level-0 slot holds the users
 * of exactly one tick; processing it moves them to the due list, except
 * that in the tick that holds `now` itself, users whose deadline is still
 * ahead wait on the held list, which the next expire looks at first. So a
 * user is returned as soon as an expire sees its deadline reached, never
 * before, and mf_tw_next can name the exact time to wake up for it.
 *
 * Every user is on at most one list (a wheel slot, overflow, due or held),
 * linked by index through preallocated arrays, so arming and cancelling
 * cost O(1). One 64-bit map per level marks the busy slots; expire jumps
 * straight to the next busy one, so an idle hour costs the few slots and
 * cascades in it, not 3.6 million ticks. */
#include "core/timer_wheel.h"

#include <stdlib.h>

#define LEVEL_BITS 6
#define LEVEL_SLOTS (1u << LEVEL_BITS)
#define LEVEL_MASK (LEVEL_SLOTS - 1)
#define N_LEVELS 6
#define WHEEL_BITS (LEVEL_BITS * N_LEVELS) /* ticks the levels span: 2^36 */
#define NONE UINT32_MAX

/* List ids: the wheel's slots, then the other lists; a user's list says
 * where to unlink it from. */
enum {
  LIST_OVERFLOW = N_LEVELS * LEVEL_SLOTS,
  LIST_DUE,  /* reached: returned by the next expire, in FIFO order */
  LIST_HELD, /* in the last expired tick, but after that expire's now */
  N_LISTS,
  LIST_NONE = 0xffff /* not armed */
};

typedef struct {
  uint32_t head, tail;
} list_t;

struct mf_timer_wheel {
  uint32_t n_users;
  uint32_t n_armed;
  uint64_t tick_us;
  uint64_t base;     /* next tick to process */
  uint64_t last_now; /* now_us of the latest expire (or create) */
  uint64_t due_min;  /* no later than every due deadline */
  uint64_t held_min; /* no later than every held deadline */
  uint64_t busy[N_LEVELS]; /* bit s: slot s of that level is not empty */
  list_t lists[N_LISTS];
  /* Per user, by index. */
  uint64_t *deadline; /* 0: not armed */
  uint32_t *next, *prev;
  uint16_t *list;
};

static uint32_t level_field(uint64_t tick, unsigned level)
{
  return (uint32_t)(tick >> (level * LEVEL_BITS)) & LEVEL_MASK;
}

static void list_push(mf_timer_wheel_t *tw, uint32_t id, uint32_t user)
{
  list_t *l = &tw->lists[id];
  tw->list[user] = (uint16_t)id;
  tw->next[user] = NONE;
  tw->prev[user] = l->tail;
  if (l->tail != NONE)
    tw->next[l->tail] = user;
  else
    l->head = user;
  l->tail = user;
  if (id < LIST_OVERFLOW)
    tw->busy[id / LEVEL_SLOTS] |= 1ull << (id % LEVEL_SLOTS);
}

static void list_unlink(mf_timer_wheel_t *tw, uint32_t user)
{
  uint32_t id = tw->list[user];
  list_t *l = &tw->lists[id];
  uint32_t n = tw->next[user], p = tw->prev[user];
  if (p != NONE)
    tw->next[p] = n;
  else
    l->head = n;
  if (n != NONE)
    tw->prev[n] = p;
  else
    l->tail = p;
  tw->list[user] = LIST_NONE;
  if (id < LIST_OVERFLOW && l->head == NONE)
    tw->busy[id / LEVEL_SLOTS] &= ~(1ull << (id % LEVEL_SLOTS));
}

/* Takes a whole list off its head, leaving it empty; the users keep their
 * links to walk and are relinked one by one. */
static uint32_t list_take(mf_timer_wheel_t *tw, uint32_t id)
{
  uint32_t first = tw->lists[id].head;
  tw->lists[id].head = tw->lists[id].tail = NONE;
  if (id < LIST_OVERFLOW)
    tw->busy[id / LEVEL_SLOTS] &= ~(1ull << (id % LEVEL_SLOTS));
  return first;
}

/* Files an armed user whose tick is at or after base. */
static void wheel_insert(mf_timer_wheel_t *tw, uint32_t user)
{
  uint64_t tick = tw->deadline[user] / tw->tick_us;
  uint64_t diff = tick ^ tw->base;
  if (diff >> WHEEL_BITS) {
    list_push(tw, LIST_OVERFLOW, user);
    return;
  }
  unsigned level = diff ? (unsigned)(63 - __builtin_clzll(diff)) / LEVEL_BITS
                        : 0;
  list_push(tw, level * LEVEL_SLOTS + level_field(tick, level), user);
}

static void push_due(mf_timer_wheel_t *tw, uint32_t user)
{
  if (tw->lists[LIST_DUE].head == NONE || tw->deadline[user] < tw->due_min)
    tw->due_min = tw->deadline[user];
  list_push(tw, LIST_DUE, user);
}

static void push_held(mf_timer_wheel_t *tw, uint32_t user)
{
  if (tw->lists[LIST_HELD].head == NONE || tw->deadline[user] < tw->held_min)
    tw->held_min = tw->deadline[user];
  list_push(tw, LIST_HELD, user);
}

/* Files an armed user: the wheel if its tick is still ahead, otherwise due
 * or held by its deadline against the latest expire's now. */
static void file_user(mf_timer_wheel_t *tw, uint32_t user)
{
  uint64_t d = tw->deadline[user];
  if (d / tw->tick_us >= tw->base)
    wheel_insert(tw, user);
  else if (d <= tw->last_now)
    push_due(tw, user);
  else
    push_held(tw, user);
}

mf_timer_wheel_t *mf_tw_create(uint32_t n_users, uint32_t tick_us,
                               uint64_t now_us)
{
  if (tick_us == 0 || n_users == NONE)
    return NULL;
  mf_timer_wheel_t *tw = calloc(1, sizeof(*tw));
  if (!tw)
    return NULL;
  size_t n = n_users ? n_users : 1;
  tw->deadline = calloc(n, sizeof(*tw->deadline));
  tw->next = calloc(n, sizeof(*tw->next));
  tw->prev = calloc(n, sizeof(*tw->prev));
  tw->list = malloc(n * sizeof(*tw->list));
  if (!tw->deadline || !tw->next || !tw->prev || !tw->list) {
    mf_tw_destroy(tw);
    return NULL;
  }
  for (size_t u = 0; u < n; u++)
    tw->list[u] = LIST_NONE;
  for (uint32_t id = 0; id < N_LISTS; id++)
    tw->lists[id].head = tw->lists[id].tail = NONE;
  tw->n_users = n_users;
  tw->tick_us = tick_us;
  tw->last_now = now_us;
  /* The tick of now counts as processed. */
  uint64_t now_tick = now_us / tick_us;
  tw->base = (now_tick < UINT64_MAX ? now_tick : now_tick - 1) + 1;
  return tw;
}

void mf_tw_destroy(mf_timer_wheel_t *tw)
{
  if (!tw)
    return;
  free(tw->deadline);
  free(tw->next);
  free(tw->prev);
  free(tw->list);
  free(tw);
}

void mf_tw_set(mf_timer_wheel_t *tw, uint32_t user, uint64_t deadline_us)
{
  if (user >= tw->n_users)
    return; /* not ours to arm: ignored, as a bounded table refuses */
  if (tw->list[user] != LIST_NONE) {
    list_unlink(tw, user);
    tw->n_armed--;
  }
  tw->deadline[user] = deadline_us;
  if (deadline_us == 0)
    return;
  tw->n_armed++;
  file_user(tw, user);
}

uint64_t mf_tw_get(const mf_timer_wheel_t *tw, uint32_t user)
{
  return user < tw->n_users ? tw->deadline[user] : 0;
}

/* Moves each user of list id down to where it belongs now (base has just
 * reached the start of its slot). */
static void cascade_list(mf_timer_wheel_t *tw, uint32_t id)
{
  uint32_t u = list_take(tw, id);
  while (u != NONE) {
    uint32_t next = tw->next[u];
    wheel_insert(tw, u);
    u = next;
  }
}

/* Moves base to tick b and cascades every level whose slot starts there.
 * Afterwards no slot at or behind base holds anyone: each busy slot of
 * level l >= 1 starts after base, which next_event relies on. */
static void set_base(mf_timer_wheel_t *tw, uint64_t b)
{
  tw->base = b;
  if ((b & ((1ull << WHEEL_BITS) - 1)) == 0 &&
      tw->lists[LIST_OVERFLOW].head != NONE)
    cascade_list(tw, LIST_OVERFLOW);
  for (unsigned level = N_LEVELS - 1; level > 0; level--) {
    if (b & ((1ull << (level * LEVEL_BITS)) - 1))
      continue;
    uint32_t s = level_field(b, level);
    if (tw->busy[level] & (1ull << s))
      cascade_list(tw, level * LEVEL_SLOTS + s);
  }
}

/* The first tick after base where a busy slot starts, or where the
 * overflow list is looked at; *level gets its level, N_LEVELS for the
 * overflow. UINT64_MAX when the wheel is empty. A lower level's busy slot
 * always comes first: the levels above start theirs after the lower one's
 * turn ends. */
static uint64_t next_event(const mf_timer_wheel_t *tw, unsigned *level)
{
  for (unsigned l = 0; l < N_LEVELS; l++) {
    unsigned shift = l * LEVEL_BITS;
    uint32_t from = level_field(tw->base, l);
    uint64_t ahead = tw->busy[l] >> from << from;
    if (!ahead)
      continue;
    uint64_t s = (uint64_t)__builtin_ctzll(ahead);
    uint64_t above = tw->base >> (shift + LEVEL_BITS) << (shift + LEVEL_BITS);
    *level = l;
    return above | (s << shift);
  }
  uint64_t turn = tw->base >> WHEEL_BITS;
  /* Past 2^64 ticks there is no next turn: such deadlines never come. */
  if (tw->lists[LIST_OVERFLOW].head != NONE &&
      turn < (UINT64_MAX >> WHEEL_BITS)) {
    *level = N_LEVELS;
    return (turn + 1) << WHEEL_BITS;
  }
  return UINT64_MAX;
}

/* Processes the level-0 slot of tick base: its users are due, or held when
 * their deadline lies after now (only in now's own tick). */
static void fire_slot(mf_timer_wheel_t *tw, uint64_t now_us)
{
  uint32_t u = list_take(tw, level_field(tw->base, 0));
  while (u != NONE) {
    uint32_t next = tw->next[u];
    if (tw->deadline[u] <= now_us)
      push_due(tw, u);
    else
      push_held(tw, u);
    u = next;
  }
  set_base(tw, tw->base + 1);
}

/* Advances base towards target by one step: to the next busy slot, firing
 * it, or to the next cascade. Returns 0 once nothing is left up to target
 * (base is then target + 1). */
static int advance(mf_timer_wheel_t *tw, uint64_t target, uint64_t now_us)
{
  unsigned level = 0;
  uint64_t at = next_event(tw, &level);
  if (at > target) {
    set_base(tw, target + 1);
    return 0;
  }
  if (level == 0) {
    tw->base = at; /* no slot starts between: nothing to cascade */
    fire_slot(tw, now_us);
  } else
    set_base(tw, at);
  return 1;
}

/* Moves held users whose deadline has come to the due list. */
static void release_held(mf_timer_wheel_t *tw, uint64_t now_us)
{
  uint32_t u = list_take(tw, LIST_HELD);
  while (u != NONE) {
    uint32_t next = tw->next[u];
    if (tw->deadline[u] <= now_us)
      push_due(tw, u);
    else
      push_held(tw, u);
    u = next;
  }
}

static uint32_t pop_due(mf_timer_wheel_t *tw, uint32_t *out, uint32_t max)
{
  uint32_t n = 0;
  while (n < max && tw->lists[LIST_DUE].head != NONE) {
    uint32_t u = tw->lists[LIST_DUE].head;
    list_unlink(tw, u);
    tw->deadline[u] = 0;
    tw->n_armed--;
    out[n++] = u;
  }
  return n;
}

uint32_t mf_tw_expire(mf_timer_wheel_t *tw, uint64_t now_us, uint32_t *out,
                      uint32_t max)
{
  /* A clock that went back expires nothing until it catches up, so that
   * nothing is returned before its deadline. */
  if (now_us < tw->last_now || max == 0)
    return 0;
  tw->last_now = now_us;
  uint64_t target = now_us / tw->tick_us;
  if (target == UINT64_MAX)
    target--; /* base must stay representable */
  if (tw->lists[LIST_HELD].head != NONE && now_us >= tw->held_min)
    release_held(tw, now_us);
  uint32_t n = 0;
  for (;;) {
    n += pop_due(tw, out + n, max - n);
    if (n == max || tw->base > target || !advance(tw, target, now_us))
      break;
  }
  return n;
}

uint64_t mf_tw_next(const mf_timer_wheel_t *tw)
{
  if (tw->n_armed == 0)
    return 0;
  uint64_t t = UINT64_MAX;
  if (tw->lists[LIST_DUE].head != NONE)
    t = tw->due_min;
  if (tw->lists[LIST_HELD].head != NONE && tw->held_min < t)
    t = tw->held_min;
  /* A slot starting at tick s holds deadlines of s * tick_us or later;
   * waking then lets expire cascade it, which narrows the answer. */
  unsigned level;
  uint64_t at = next_event(tw, &level);
  if (at != UINT64_MAX && at * tw->tick_us < t)
    t = at * tw->tick_us;
  return t ? t : 1; /* 0 would mean "nothing armed" */
}

uint32_t mf_tw_armed(const mf_timer_wheel_t *tw)
{
  return tw->n_armed;
}

uint64_t mf_tw_memory(const mf_timer_wheel_t *tw)
{
  uint64_t per_user = sizeof(*tw->deadline) + sizeof(*tw->next) +
                      sizeof(*tw->prev) + sizeof(*tw->list);
  return sizeof(*tw) + per_user * (tw->n_users ? tw->n_users : 1);
}
