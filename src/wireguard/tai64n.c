#include "wireguard/tai64n.h"

#include <string.h>

/* TAI64 labels second s of TAI as 2^62 + s; TAI ran 10 s ahead of UTC at
 * the 1970 epoch, the offset the other WireGuard implementations use too
 * (they must only agree with themselves, but matching costs nothing). */
#define TAI64_BASE (0x4000000000000000ull + 10)
#define NSEC_GRAIN_MASK (~((1u << 24) - 1))

void mf_wg_tai64n_from_timespec(uint8_t out[MF_WG_TIMESTAMP_LEN],
                                const struct timespec *ts)
{
  uint64_t sec = TAI64_BASE + (uint64_t)ts->tv_sec;
  uint32_t nsec = (uint32_t)ts->tv_nsec & NSEC_GRAIN_MASK;
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(sec >> (56 - 8 * i));
  for (int i = 0; i < 4; i++)
    out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void mf_wg_tai64n_now(uint8_t out[MF_WG_TIMESTAMP_LEN])
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  mf_wg_tai64n_from_timespec(out, &ts);
}

bool mf_wg_tai64n_after(const uint8_t a[MF_WG_TIMESTAMP_LEN],
                        const uint8_t b[MF_WG_TIMESTAMP_LEN])
{
  return memcmp(a, b, MF_WG_TIMESTAMP_LEN) > 0;
}
