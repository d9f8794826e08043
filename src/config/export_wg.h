/* A profile's wireguard interface written back as a wg-quick(8) file, the
 * text `wg-quick up`, `wg setconf` (after wg-quick strip) and the
 * WireGuard mobile apps read, in a file or a QR code. */
#ifndef MF_CONFIG_EXPORT_WG_H
#define MF_CONFIG_EXPORT_WG_H

#include <stddef.h>

#include "config/profile.h"

/* Large enough for any mf_wg_cfg_t: every list full of the longest
 * addresses, every endpoint of the longest length (under 33 KiB). */
#define MF_EXPORT_WG_MAX_TEXT 40960 /* bytes, with the NUL */

/* Writes wg's text to out (cap bytes) and a NUL; *len gets its length.
 * The text holds the private and preshared keys: the caller wipes out
 * (OPENSSL_cleanse) when done. Keys wg-quick does not know (debug) are
 * left out. Returns 0, or -1 when cap is too small, with out wiped. */
int mf_export_wg_quick(const mf_wg_cfg_t *wg, char *out, size_t cap,
                       size_t *len);

#endif
