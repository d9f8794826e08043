/* Inside the profile parser: the sections (tun, interfaces, app routing's
 * sets and dns, routes, hoststack, debug) and the value checks they share.
 * Not for use outside src/config/. */
#ifndef MF_CONFIG_PROFILE_PARSE_H
#define MF_CONFIG_PROFILE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"
#include "config/yaml_read.h"
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

/* App Routing (profile_approute.c, profile_dns.c). Call after interfaces
 * and before routes: set routes name sets, and a domain set route needs
 * app_routing. key and value nodes are MF_YAML_NONE when absent. */
void mf_profile_parse_app_routing(const mf_yaml_tree_t *t, uint32_t key,
                                  uint32_t value, mf_profile_t *p);
void mf_profile_parse_domain_sets(const mf_yaml_tree_t *t, uint32_t value,
                                  mf_profile_t *p);
void mf_profile_parse_cidr_sets(const mf_yaml_tree_t *t, uint32_t value,
                                mf_profile_t *p);
void mf_profile_dns_defaults(mf_dns_cfg_t *dns);
void mf_profile_parse_dns(const mf_yaml_tree_t *t, uint32_t key, uint32_t value,
                          mf_profile_t *p);

/* The keys a route item may hold; exactly one of the first four. */
enum {
  MF_PROFILE_ROUTE_CIDR,
  MF_PROFILE_ROUTE_CIDR_SET,
  MF_PROFILE_ROUTE_DOMAIN_SET,
  MF_PROFILE_ROUTE_DNS_FALLBACK,
  MF_PROFILE_ROUTE_TO,
  MF_PROFILE_ROUTE_N_KEYS
};
/* A route item with cidr_set, domain_set or dns_fallback (which, one of
 * the enum above, at node value), going to interface iface (-1: its error
 * is reported already). Records it in p->approute.routes. */
void mf_profile_parse_set_route(const mf_yaml_tree_t *t, uint32_t item,
                                int which, uint32_t value, int iface,
                                mf_profile_t *p);
/* After every route item: adds one route per prefix of each routed cidr
 * set to p->routes, in route order. A prefix already routed (by a cidr
 * route, or by an earlier set route) keeps that route. Returns 0, or -1
 * after reporting that the routes are full. */
int mf_profile_expand_cidr_sets(const mf_yaml_tree_t *t, mf_profile_t *p);
/* After routes and dns: each domain set route and the fallback route
 * needs upstream servers for its interface's DNS group. */
void mf_profile_check_app_routing(const mf_yaml_tree_t *t,
                                  const mf_profile_t *p);

/* The hoststack section's defaults, which also hold when it is absent. */
void mf_profile_hoststack_defaults(mf_hoststack_cfg_t *hs);
/* The optional sections `hoststack` (key and value nodes, MF_YAML_NONE
 * when absent) and `debug`; defaults must be in place already. */
void mf_profile_parse_hoststack(const mf_yaml_tree_t *t, uint32_t key,
                                uint32_t value, mf_profile_t *p);
void mf_profile_parse_debug(const mf_yaml_tree_t *t, uint32_t value,
                            mf_profile_t *p);
/* Writes a byte count as the profile spells it: with the largest of KiB,
 * MiB, GiB that divides it ("256KiB"), else in bytes. */
void mf_profile_format_size(uint64_t bytes, char *out, size_t size);
/* Writes a count per million as the fraction the profile takes ("0.01"). */
void mf_profile_format_ppm(uint32_t ppm, char *out, size_t size);

/* True for 1..max bytes of [A-Za-z0-9_.-], other than "." and ".." (which
 * Linux refuses as device names: dev_valid_name). */
bool mf_profile_name_ok(const char *s, size_t len, size_t max);

/* Reads an IP prefix or bare address ("10.0.0.0/8", "fd00::1"); host bits
 * are kept. Returns 0, or -1 after reporting at node i. */
int mf_profile_read_prefix(const mf_yaml_tree_t *t, uint32_t i,
                           const char *what, mf_prefix_t *out);

/* Checks wg-quick's Endpoint syntax, "host:port" or "[IPv6]:port", without
 * resolving the host. Returns true, or false with a reason in *why. */
bool mf_profile_endpoint_ok(const char *s, size_t len, const char **why);

/* The keys only wireguard interfaces have, in the order of the fields
 * mf_profile_parse_wg takes. */
enum {
  MF_PROFILE_WG_PRIVATE_KEY,
  MF_PROFILE_WG_PRIVATE_KEY_FILE,
  MF_PROFILE_WG_LISTEN_PORT,
  MF_PROFILE_WG_ADDRESS,
  MF_PROFILE_WG_MTU,
  MF_PROFILE_WG_DNS,
  MF_PROFILE_WG_DEBUG,
  MF_PROFILE_WG_PEERS,
  MF_PROFILE_WG_N_KEYS
};
extern const char *const mf_profile_wg_keys[MF_PROFILE_WG_N_KEYS];

/* Reads a wireguard interface (mapping node item, its wireguard fields f
 * as found by mf_yaml_read_fields) into wg, reporting every mistake.
 * Returns 0 when all was well. */
int mf_profile_parse_wg(const mf_yaml_tree_t *t, uint32_t item,
                        const mf_yaml_field_t *f, mf_wg_cfg_t *wg);
/* True when text quotes the private key or a preshared key of wg. */
bool mf_profile_wg_quotes_keys(const char *text, const mf_wg_cfg_t *wg);
/* Reads a wireguard interface's peers list into wg. */
void mf_profile_parse_wg_peers(const mf_yaml_tree_t *t, uint32_t item,
                               uint32_t value, mf_wg_cfg_t *wg);

/* Reads a 32-byte key given inline (node text, "private_key") or in a file
 * (node file, "private_key_file"); either node may be MF_YAML_NONE, and
 * giving both is an error. Returns 0 with the key in out, 1 when neither is
 * given, or -1 after reporting. */
int mf_profile_read_key(const mf_yaml_tree_t *t, uint32_t text_key,
                        uint32_t text, uint32_t file_key, uint32_t file,
                        const char *what, uint8_t out[32]);

/* Node i's position, for "(first at 3:5)" in messages. */
static inline mf_mark_t mf_profile_mark(const mf_yaml_tree_t *t, uint32_t i)
{
  return mf_yaml_node(t, i)->mark;
}

#endif
