/* The unit tests' random numbers: splitmix64 from a seed, so that a
 * failing random test replays exactly. Each test file is one program, so
 * the state is the file's own. */
#ifndef MF_TEST_RNG_H
#define MF_TEST_RNG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state;

static inline uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform enough below n (the modulo bias is irrelevant at test sizes);
 * 0 when n is 0. */
static inline uint64_t rng_below(uint64_t n)
{
  return n ? rng_next() % n : 0;
}

/* Seeds from MF_TEST_SEED when set, else from fallback, and prints the
 * seed so that a failure can be replayed. */
static inline uint64_t rng_seed(const char *test, uint64_t fallback)
{
  uint64_t seed = fallback;
  const char *env = getenv("MF_TEST_SEED");
  if (env)
    seed = strtoull(env, NULL, 0);
  rng_state = seed;
  printf("# %s: seed %llu (set MF_TEST_SEED to replay)\n", test,
         (unsigned long long)seed);
  return seed;
}

#endif
