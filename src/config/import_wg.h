/* Importing wg-quick(8) configuration files: the [Interface] and [Peer]
 * sections become one wireguard interface of a profile. */
#ifndef MF_CONFIG_IMPORT_WG_H
#define MF_CONFIG_IMPORT_WG_H

#include <stddef.h>
#include <stdio.h>

#include "config/profile.h"

#define MF_IMPORT_WG_MAX_INPUT 65536 /* bytes */

/* Parses a wg-quick file (text of len bytes, named source in messages)
 * and writes to out one item of a profile's interfaces list, indented for
 * its place under "interfaces:", named name (NULL: the file's base name
 * without ".conf", made a valid interface name). Its debug text is the
 * file with the PrivateKey and PresharedKey values replaced by
 * "(hidden)". Errors go to diag as "source:line:column: message" and
 * warnings (keys only wg-quick uses, DNS search domains) to diag->out as
 * "source:line:column: warning: message", uncounted. Returns 0, or -1
 * with nothing written. */
int mf_import_wg_quick(const char *text, size_t len, const char *source,
                       const char *name, FILE *out, mf_diag_t *diag);

#endif
