/* TAI64N timestamps for handshake initiations (whitepaper section 5.1 and
 * 5.4.2): 8 bytes of big-endian seconds from the TAI64 epoch, then 4 bytes
 * of big-endian nanoseconds. Being big-endian, two stamps compare in time
 * order with memcmp, which is how a responder rejects a replayed
 * initiation: it keeps the greatest stamp it accepted per peer. */
#ifndef MF_WIREGUARD_TAI64N_H
#define MF_WIREGUARD_TAI64N_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "wireguard/messages.h"

/* Encodes a CLOCK_REALTIME reading. The nanoseconds are rounded down to a
 * multiple of 2^24 (about 16.8 ms, under the 20 ms a responder allows
 * between initiations) so the stamp is no fine-grained clock oracle. */
void mf_wg_tai64n_from_timespec(uint8_t out[MF_WG_TIMESTAMP_LEN],
                                const struct timespec *ts);
/* The same for the current wall-clock time. */
void mf_wg_tai64n_now(uint8_t out[MF_WG_TIMESTAMP_LEN]);
/* True when a is strictly later than b. */
bool mf_wg_tai64n_after(const uint8_t a[MF_WG_TIMESTAMP_LEN],
                        const uint8_t b[MF_WG_TIMESTAMP_LEN]);

#endif
