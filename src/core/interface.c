#include "core/interface.h"

#include <string.h>

static const char *const type_names[MF_IF_N_TYPE] = {
    [MF_IF_TUN] = NULL,
    [MF_IF_LOCAL] = NULL,
    [MF_IF_REJECT] = "reject",
    [MF_IF_DROP] = "drop",
    [MF_IF_DIRECT] = "direct",
    [MF_IF_WIREGUARD] = "wireguard",
};

const char *mf_if_type_name(mf_if_type_t t)
{
  if (t == MF_IF_TUN)
    return "tun";
  if (t == MF_IF_LOCAL)
    return "local";
  return (unsigned)t < MF_IF_N_TYPE ? type_names[t] : "?";
}

int mf_if_type_parse(const char *name)
{
  for (int t = 0; t < MF_IF_N_TYPE; t++)
    if (type_names[t] && strcmp(type_names[t], name) == 0)
      return t;
  return -1;
}
