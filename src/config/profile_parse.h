/* Inside the profile parser: the sections (tun, interfaces, routes) and the
 * value checks they share. Not for use outside src/config/. */
#ifndef MF_CONFIG_PROFILE_PARSE_H
#define MF_CONFIG_PROFILE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"
#include "config/yaml_tree.h"

/* Fills tun with the defaults the schema promises (stack addresses are
 * derived later, by mf_profile_parse_tun). */
void mf_profile_tun_defaults(mf_tun_cfg_t *tun);

/* Each section reads its value node (MF_YAML_NONE when the key is absent),
 * reports what is wrong and fills p with what is right. Call them in this
 * order: interfaces need the tun name, routes need the interfaces. */
void mf_profile_parse_tun(const mf_yaml_tree_t *t, uint32_t value,
                          mf_profile_t *p);
void mf_profile_parse_ifaces(const mf_yaml_tree_t *t, uint32_t value,
                             mf_profile_t *p);
void mf_profile_parse_routes(const mf_yaml_tree_t *t, uint32_t key,
                             uint32_t value, mf_profile_t *p);

/* True for 1..max bytes of [A-Za-z0-9_.-], other than "." and ".." (which
 * Linux refuses as device names: dev_valid_name). */
bool mf_profile_name_ok(const char *s, size_t len, size_t max);

/* Reads an IP prefix or bare address ("10.0.0.0/8", "fd00::1"); host bits
 * are kept. Returns 0, or -1 after reporting at node i. */
int mf_profile_read_prefix(const mf_yaml_tree_t *t, uint32_t i,
                           const char *what, mf_prefix_t *out);

/* Node i's position, for "(first at 3:5)" in messages. */
static inline mf_mark_t mf_profile_mark(const mf_yaml_tree_t *t, uint32_t i)
{
  return mf_yaml_node(t, i)->mark;
}

#endif
