/* A profile as the parser understood it, printed back as YAML with every
 * default spelled out (`mintflow check`); the hoststack, debug and dns
 * sections only when they differ from their defaults, app_routing and the
 * sets only when present. Loading the output again gives
 * the same profile, except that secrets (wireguard private and preshared
 * keys) are never printed: they show as "(hidden)", which does not load. */
#ifndef MF_CONFIG_PROFILE_DUMP_H
#define MF_CONFIG_PROFILE_DUMP_H

#include <stdbool.h>
#include <stdio.h>

#include "config/profile.h"

void mf_profile_dump(const mf_profile_t *p, FILE *out);

/* One wireguard interface as an item of the interfaces list, indented for
 * its place under "interfaces:". Keys print as "(hidden)" unless
 * with_secrets, which only the wg-quick importer asks for: its output is
 * the user's own new profile text. */
void mf_profile_dump_wg_iface(const char *name, const mf_wg_cfg_t *wg,
                              bool with_secrets, FILE *out);

#endif
