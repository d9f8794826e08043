/* A hashed timing wheel (Varghese and Lauck, 1987) for per-session timers:
 * each user (a session index) has at most one armed deadline; arming,
 * re-arming and cancelling are O(1), and expiring costs what is due plus
 * the slots the clock passed over. Deadlines round up to the tick, so a
 * timer never fires early.
 *
 * Memory: one entry of a few words per possible user, preallocated; no
 * allocation after init.
 *
 * Threads: a wheel belongs to one worker. */
#ifndef MF_CORE_TIMER_WHEEL_H
#define MF_CORE_TIMER_WHEEL_H

#include <stdint.h>

typedef struct mf_timer_wheel mf_timer_wheel_t;

/* A wheel for users 0..n_users-1 with ticks of tick_us microseconds,
 * starting at now_us. NULL on allocation failure. */
mf_timer_wheel_t *mf_tw_create(uint32_t n_users, uint32_t tick_us,
                               uint64_t now_us);
void mf_tw_destroy(mf_timer_wheel_t *tw);

/* Arms user's timer for deadline_us, replacing any earlier arming;
 * deadline 0 cancels it. A deadline in the past fires at the next expire. */
void mf_tw_set(mf_timer_wheel_t *tw, uint32_t user, uint64_t deadline_us);
/* The user's armed deadline, or 0. */
uint64_t mf_tw_get(const mf_timer_wheel_t *tw, uint32_t user);

/* Advances the wheel to now_us and writes up to max users whose deadlines
 * are due (<= now_us) to out, disarming them. Returns how many; call again
 * while it returns max. */
uint32_t mf_tw_expire(mf_timer_wheel_t *tw, uint64_t now_us, uint32_t *out,
                      uint32_t max);

/* A time no later than the earliest armed deadline (the main loop's epoll
 * timeout), or 0 when nothing is armed. */
uint64_t mf_tw_next(const mf_timer_wheel_t *tw);

/* Armed timers, and the wheel's bytes (for `show hoststack`). */
uint32_t mf_tw_armed(const mf_timer_wheel_t *tw);
uint64_t mf_tw_memory(const mf_timer_wheel_t *tw);

#endif
