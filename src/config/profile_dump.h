/* A profile as the parser understood it, printed back as YAML with every
 * default spelled out (`mintflow check`). Loading the output again gives
 * the same profile. */
#ifndef MF_CONFIG_PROFILE_DUMP_H
#define MF_CONFIG_PROFILE_DUMP_H

#include <stdio.h>

#include "config/profile.h"

void mf_profile_dump(const mf_profile_t *p, FILE *out);

#endif
