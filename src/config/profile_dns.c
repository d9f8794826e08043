/* The dns section: the servers handed to the system when App Routing is
 * off, and with it on the split-DNS upstreams (the manual's VPN and Direct
 * DNS servers), how the built-in server behaves (block_doh: the bundled
 * DoH endpoints to reject), and whether the system's resolver is pointed
 * at all (`system`). Every key optional. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config/diag.h"
#include "config/profile_parse.h"
#include "config/yaml_read.h"

#define GRACE_MAX 86400
#define HOST_ROUTES_MIN 16
#define HOST_ROUTES_MAX (1u << 20)
#define DOH_IFACE_NAME "doh-reject"

enum {
  F_SERVERS,
  F_VPN,
  F_DIRECT,
  F_HIJACK,
  F_BLOCK,
  F_GRACE,
  F_MAX_HOST_ROUTES,
  F_SYSTEM,
  F_BLOCK_DOH,
  F_N
};

void mf_profile_dns_defaults(mf_dns_cfg_t *dns)
{
  memset(dns, 0, sizeof(*dns));
  dns->host_route_grace_s = 60;
  dns->max_host_routes = 65536;
}

static bool parse_port(const char *s, size_t len, uint16_t *out)
{
  uint32_t v = 0;
  if (len == 0 || len > 5)
    return false;
  for (size_t k = 0; k < len; k++) {
    if (s[k] < '0' || s[k] > '9')
      return false;
    v = v * 10 + (uint32_t)(s[k] - '0');
  }
  if (v < 1 || v > 65535)
    return false;
  *out = (uint16_t)v;
  return true;
}

static bool parse_addr(int family, const char *s, size_t len, uint8_t *out)
{
  char buf[INET6_ADDRSTRLEN];
  if (len == 0 || len >= sizeof(buf))
    return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  return inet_pton(family, buf, out) == 1;
}

/* "1.1.1.1", "1.1.1.1:5353", "2606:4700::1111", "[2606:4700::1111]:53".
 * Returns NULL, or why the text is not one. */
static const char *parse_server(const char *s, size_t len,
                                mf_dns_server_cfg_t *out)
{
  const char *colon = memchr(s, ':', len);
  out->port = 53;
  if (len > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (!close ||
        !parse_addr(AF_INET6, s + 1, (size_t)(close - s - 1), out->addr))
      return "not an IPv6 address between [ ]";
    size_t rest = len - (size_t)(close - s) - 1;
    if (rest > 0 &&
        (close[1] != ':' || !parse_port(close + 2, rest - 1, &out->port)))
      return "the port must be 1..65535";
    out->family = AF_INET6;
    return NULL;
  }
  if (colon && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) {
    if (!parse_addr(AF_INET6, s, len, out->addr))
      return "not an IP address (an IPv6 address with a port goes in "
             "brackets: [address]:port)";
    out->family = AF_INET6;
    return NULL;
  }
  size_t host = colon ? (size_t)(colon - s) : len;
  if (!parse_addr(AF_INET, s, host, out->addr))
    return "not an IP address";
  if (colon && !parse_port(colon + 1, len - host - 1, &out->port))
    return "the port must be 1..65535";
  out->family = AF_INET;
  return NULL;
}

static void read_servers(const mf_yaml_tree_t *t, const mf_yaml_field_t *f,
                         mf_dns_server_cfg_t *list, uint32_t *n)
{
  if (f->value == MF_YAML_NONE || mf_yaml_is_null(t, f->value))
    return;
  if (mf_yaml_expect(t, f->value, MF_YAML_SEQ, f->name) < 0)
    return;
  for (uint32_t i = mf_yaml_node(t, f->value)->first; i != MF_YAML_NONE;
       i = mf_yaml_node(t, i)->next) {
    const char *s;
    size_t len;
    if (*n == MF_PROFILE_MAX_DNS_SERVERS) {
      mf_yaml_error(t, i, "%s: at most %u servers", f->name,
                    MF_PROFILE_MAX_DNS_SERVERS);
      return;
    }
    if (mf_yaml_read_string(t, i, f->name, &s, &len) < 0)
      continue;
    mf_dns_server_cfg_t srv = {.mark = mf_profile_mark(t, i)};
    const char *why =
        strlen(s) == len ? parse_server(s, len, &srv) : "not an IP address";
    if (why) {
      char q[MF_DIAG_QUOTE_MAX + 4];
      mf_diag_quote(s, len, q, sizeof(q));
      mf_yaml_error(t, i, "%s: '%s' is not a DNS server: %s", f->name, q, why);
      continue;
    }
    list[(*n)++] = srv;
  }
}

static void read_block(const mf_yaml_tree_t *t, uint32_t i, mf_dns_cfg_t *dns)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "block", &s, &len) < 0)
    return;
  if (strcmp(s, "resolve") == 0 || strcmp(s, "answer") == 0) {
    dns->block_answer = s[0] == 'a';
    return;
  }
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(s, len, q, sizeof(q));
  mf_yaml_error(t, i, "block: expected resolve or answer, got '%s'", q);
}

static void read_system(const mf_yaml_tree_t *t, uint32_t i, mf_dns_cfg_t *dns)
{
  const char *s;
  size_t len;
  if (mf_yaml_read_string(t, i, "system", &s, &len) < 0)
    return;
  if (strcmp(s, "auto") == 0 || strcmp(s, "off") == 0) {
    dns->system = s[0] == 'a' ? MF_DNS_SYSTEM_AUTO : MF_DNS_SYSTEM_OFF;
    return;
  }
  char q[MF_DIAG_QUOTE_MAX + 4];
  mf_diag_quote(s, len, q, sizeof(q));
  mf_yaml_error(t, i, "system: expected auto or off, got '%s'", q);
}

/* block_doh: true needs a reject interface for the built-in set: the
 * first one declared, else one added here (interfaces are parsed before
 * this section, routes after, so a route may name it too). */
static void read_block_doh(const mf_yaml_tree_t *t, uint32_t i,
                           mf_profile_t *p)
{
  mf_dns_cfg_t *dns = &p->approute.dns;
  if (mf_yaml_read_bool(t, i, "block_doh", &dns->block_doh) < 0 ||
      !dns->block_doh)
    return;
  if (!p->approute.enabled) {
    mf_yaml_error(t, i, "block_doh: needs app_routing: true (the built-in "
                        "DNS server does the blocking)");
    dns->block_doh = false;
    return;
  }
  for (uint32_t k = 0; k < p->n_ifaces; k++)
    if (p->ifaces[k].type == MF_IF_REJECT) {
      dns->doh_iface = k;
      return;
    }
  int taken = mf_profile_find_iface(p, DOH_IFACE_NAME);
  if (taken >= 0 || p->n_ifaces == MF_PROFILE_MAX_IFACES) {
    mf_yaml_error(t, i,
                  "block_doh: needs an interface of type reject, and one "
                  "named '%s' cannot be added (%s)",
                  DOH_IFACE_NAME,
                  taken >= 0 ? "the name is taken" : "too many interfaces");
    dns->block_doh = false;
    return;
  }
  mf_iface_cfg_t *itf = &p->ifaces[p->n_ifaces];
  memset(itf, 0, sizeof(*itf));
  snprintf(itf->name, sizeof(itf->name), "%s", DOH_IFACE_NAME);
  itf->type = MF_IF_REJECT;
  itf->mark = mf_profile_mark(t, i);
  dns->doh_iface = p->n_ifaces++;
}

void mf_profile_parse_dns(const mf_yaml_tree_t *t, uint32_t key, uint32_t value,
                          mf_profile_t *p)
{
  mf_dns_cfg_t *dns = &p->approute.dns;
  mf_yaml_field_t f[F_N] = {[F_SERVERS] = {.name = "servers"},
                            [F_VPN] = {.name = "vpn"},
                            [F_DIRECT] = {.name = "direct"},
                            [F_HIJACK] = {.name = "hijack"},
                            [F_BLOCK] = {.name = "block"},
                            [F_GRACE] = {.name = "host_route_grace"},
                            [F_MAX_HOST_ROUTES] = {.name = "max_host_routes"},
                            [F_SYSTEM] = {.name = "system"},
                            [F_BLOCK_DOH] = {.name = "block_doh"}};
  if (key != MF_YAML_NONE)
    dns->mark = mf_profile_mark(t, key);
  if (value == MF_YAML_NONE || mf_yaml_is_null(t, value))
    return;
  if (mf_yaml_expect(t, value, MF_YAML_MAP, "dns") < 0)
    return;
  mf_yaml_read_fields(t, value, "in dns", f, F_N);
  read_servers(t, &f[F_SERVERS], dns->servers, &dns->n_servers);
  read_servers(t, &f[F_VPN], dns->vpn, &dns->n_vpn);
  read_servers(t, &f[F_DIRECT], dns->direct, &dns->n_direct);
  if (f[F_HIJACK].value != MF_YAML_NONE)
    mf_yaml_read_bool(t, f[F_HIJACK].value, "hijack", &dns->hijack);
  if (f[F_BLOCK].value != MF_YAML_NONE)
    read_block(t, f[F_BLOCK].value, dns);
  if (f[F_GRACE].value != MF_YAML_NONE)
    mf_yaml_read_u32(t, f[F_GRACE].value, "host_route_grace", 0, GRACE_MAX,
                     &dns->host_route_grace_s);
  if (f[F_MAX_HOST_ROUTES].value != MF_YAML_NONE)
    mf_yaml_read_u32(t, f[F_MAX_HOST_ROUTES].value, "max_host_routes",
                     HOST_ROUTES_MIN, HOST_ROUTES_MAX, &dns->max_host_routes);
  if (f[F_SYSTEM].value != MF_YAML_NONE)
    read_system(t, f[F_SYSTEM].value, dns);
  if (f[F_BLOCK_DOH].value != MF_YAML_NONE)
    read_block_doh(t, f[F_BLOCK_DOH].value, p);
}
