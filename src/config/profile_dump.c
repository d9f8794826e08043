#include "config/profile_dump.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <string.h>

#include "config/key_text.h"
#include "config/profile_parse.h"
#include "config/yaml_write.h"
#include "dns/domain_lists.h"

/* Names are [A-Za-z0-9_.-], so plain YAML holds them, except the words
 * YAML reads as null. */
static const char *quote_if_null(const char *name)
{
  return strcmp(name, "null") == 0 || strcmp(name, "Null") == 0 ||
                 strcmp(name, "NULL") == 0
             ? "'"
             : "";
}

static void dump_tun(const mf_tun_cfg_t *tun, FILE *out)
{
  char text[64];
  const char *q = quote_if_null(tun->name);
  fprintf(out, "tun:\n  name: %s%s%s\n  mtu: %u\n", q, tun->name, q, tun->mtu);
  fprintf(out, "  addresses:\n");
  for (uint32_t a = 0; a < tun->n_addresses; a++) {
    mf_prefix_format(&tun->addresses[a], true, text, sizeof(text));
    fprintf(out, "    - %s\n", text);
  }
  if (tun->n_stack_addresses > 0)
    fprintf(out, "  stack_addresses:\n");
  for (uint32_t a = 0; a < tun->n_stack_addresses; a++) {
    mf_prefix_format(&tun->stack_addresses[a], false, text, sizeof(text));
    fprintf(out, "    - %s\n", text);
  }
  fprintf(out, "  auto_route: %s\n", tun->auto_route ? "true" : "false");
  fprintf(out, "  exclude_lan: %s\n", tun->exclude_lan ? "true" : "false");
  fprintf(out, "  route_table: %u\n", tun->route_table);
  fprintf(out, "  fwmark: 0x%x\n", tun->fwmark);
  fprintf(out, "  rule_priority: %u  # uses %u..%u\n", tun->rule_priority,
          tun->rule_priority, tun->rule_priority + 9);
}

/* Prefixes single-quoted: "::/0" is no plain scalar in a flow list. */
static void dump_prefixes(const char *key, const mf_prefix_t *list,
                          uint32_t n, bool with_len, FILE *out)
{
  char text[64];
  fprintf(out, "%s: [", key);
  for (uint32_t k = 0; k < n; k++) {
    mf_prefix_format(&list[k], with_len, text, sizeof(text));
    fprintf(out, "%s'%s'", k ? ", " : "", text);
  }
  fprintf(out, "]\n");
}

static void dump_peer(const mf_wg_peer_cfg_t *pc, bool with_secrets,
                      FILE *out)
{
  char key[MF_KEY_TEXT_LEN + 1];
  mf_key_text_encode(pc->public_key, key);
  fprintf(out, "      - public_key: \"%s\"\n", key);
  if (pc->has_preshared_key && with_secrets) {
    mf_key_text_encode(pc->preshared_key, key);
    fprintf(out, "        preshared_key: \"%s\"\n", key);
    OPENSSL_cleanse(key, sizeof(key));
  } else if (pc->has_preshared_key)
    fprintf(out, "        preshared_key: (hidden)\n");
  fprintf(out, "        ");
  dump_prefixes("allowed_ips", pc->allowed_ips, pc->n_allowed_ips, true, out);
  if (pc->endpoint[0])
    fprintf(out, "        endpoint: '%s'\n", pc->endpoint);
  fprintf(out, "        persistent_keepalive: %u%s\n",
          pc->persistent_keepalive, pc->persistent_keepalive ? "" : "  # off");
}

/* The public key stands in for the private one as a comment. */
static void dump_wg(const mf_wg_cfg_t *wg, bool with_secrets, FILE *out)
{
  uint8_t pub[MF_KEY_LEN];
  char key[MF_KEY_TEXT_LEN + 1];
  if (mf_key_public(wg->private_key, pub) == 0) {
    mf_key_text_encode(pub, key);
    fprintf(out, "    # public key: %s\n", key);
  }
  if (with_secrets) {
    mf_key_text_encode(wg->private_key, key);
    fprintf(out, "    private_key: \"%s\"\n", key);
  } else
    fprintf(out, "    private_key: (hidden)\n");
  if (wg->listen_port)
    fprintf(out, "    listen_port: %u\n", wg->listen_port);
  fprintf(out, "    ");
  dump_prefixes("address", wg->addresses, wg->n_addresses, true, out);
  fprintf(out, "    mtu: %u\n", wg->mtu);
  if (wg->n_dns) {
    fprintf(out, "    ");
    dump_prefixes("dns", wg->dns, wg->n_dns, false, out);
  }
  fprintf(out, "    peers:\n");
  for (uint32_t k = 0; k < wg->n_peers; k++)
    dump_peer(&wg->peers[k], with_secrets, out);
  OPENSSL_cleanse(key, sizeof(key));
  if (wg->debug[0]) {
    fprintf(out, "    debug:");
    mf_yaml_write_text(out, wg->debug, strnlen(wg->debug, sizeof(wg->debug)),
                       4);
  }
}

void mf_profile_dump_wg_iface(const char *name, const mf_wg_cfg_t *wg,
                              bool with_secrets, FILE *out)
{
  const char *q = quote_if_null(name);
  fprintf(out, "  - name: %s%s%s\n    type: wireguard\n", q, name, q);
  dump_wg(wg, with_secrets, out);
}

static void dump_ifaces(const mf_profile_t *p, FILE *out)
{
  fprintf(out, "interfaces:%s\n", p->n_ifaces ? "" : " []");
  for (uint32_t k = 0; k < p->n_ifaces; k++) {
    const mf_iface_cfg_t *c = &p->ifaces[k];
    const char *type = mf_if_type_name(c->type);
    const char *q = quote_if_null(c->name);
    if (c->type == MF_IF_WIREGUARD && c->wg < p->n_wg) {
      mf_profile_dump_wg_iface(c->name, &p->wg[c->wg], false, out);
      continue;
    }
    fprintf(out, "  - { name: %s%s%s, type: %s }\n", q, c->name, q,
            type ? type : "?");
  }
}

/* Set names and domain names are plain-safe as interface names are (the
 * null words aside). Paths may hold anything but control characters: they
 * are single-quoted, where '' is a quote (YAML 1.2 section 7.3.2). */
static void dump_name(const char *name, FILE *out)
{
  const char *q = quote_if_null(name);
  fprintf(out, "%s%s%s", q, name, q);
}

static void dump_quoted(const char *s, FILE *out)
{
  fputc('\'', out);
  for (; *s; s++) {
    if (*s == '\'')
      fputc('\'', out);
    fputc(*s, out);
  }
  fputc('\'', out);
}

static const char *iface_name(const mf_profile_t *p, uint32_t iface)
{
  return iface < p->n_ifaces ? p->ifaces[iface].name : "?";
}

static void dump_plain_route(const mf_profile_t *p, const mf_route_cfg_t *rt,
                             FILE *out)
{
  const char *to = iface_name(p, rt->iface);
  const char *q = quote_if_null(to);
  char cidr[64];
  mf_prefix_format(&rt->cidr, true, cidr, sizeof(cidr));
  /* An implied route stays a comment, so that loading this back implies
   * it again instead of declaring it. */
  fprintf(out, "  %s{ cidr: %s, to: %s%s%s }%s\n", rt->implicit ? "# - " : "- ",
          cidr, q, to, q, rt->implicit ? "  (implied by 0.0.0.0/0)" : "");
}

static void dump_set_route(const mf_profile_t *p, const mf_set_route_cfg_t *r,
                           FILE *out)
{
  const mf_approute_cfg_t *a = &p->approute;
  if (r->kind == MF_SET_ROUTE_FALLBACK)
    fprintf(out, "  - { dns_fallback: true, to: ");
  else {
    bool domain = r->kind == MF_SET_ROUTE_DOMAIN;
    fprintf(out, "  - { %s: ", domain ? "domain_set" : "cidr_set");
    dump_name(domain ? a->domain_sets[r->set].name : a->cidr_sets[r->set].name,
              out);
    fprintf(out, ", to: ");
  }
  dump_name(iface_name(p, r->iface), out);
  fprintf(out, " }\n");
}

static bool mark_before(mf_mark_t a, mf_mark_t b)
{
  return a.line < b.line || (a.line == b.line && a.column < b.column);
}

/* Routes as written, in the order written: cidr routes and set routes
 * merged by position; a cidr set's expanded prefixes are its one item. */
static void dump_routes(const mf_profile_t *p, FILE *out)
{
  const mf_approute_cfg_t *a = &p->approute;
  bool any = p->n_routes > 0 || a->n_routes > 0;
  fprintf(out, "routes:%s\n", any ? "" : " []");
  uint32_t r = 0, s = 0;
  for (;;) {
    while (r < p->n_routes && (p->routes[r].set || p->routes[r].implicit))
      r++;
    if (r == p->n_routes && s == a->n_routes)
      break;
    if (s == a->n_routes ||
        (r < p->n_routes && mark_before(p->routes[r].mark, a->routes[s].mark)))
      dump_plain_route(p, &p->routes[r++], out);
    else
      dump_set_route(p, &a->routes[s++], out);
  }
  for (r = 0; r < p->n_routes; r++)
    if (p->routes[r].implicit)
      dump_plain_route(p, &p->routes[r], out);
}

/* A domain set as a list of names, or with files as a mapping. */
static void dump_domain_set(const mf_profile_t *p,
                            const mf_domain_set_cfg_t *set, FILE *out)
{
  const mf_approute_cfg_t *a = &p->approute;
  bool as_map = set->n_files > 0 || set->format != 0;
  fprintf(out, "  ");
  dump_name(set->name, out);
  fprintf(out, ": ");
  if (as_map)
    fprintf(out, "{ ");
  if (!as_map || set->n_names) {
    fprintf(out, "%s[", as_map ? "names: " : "");
    for (uint32_t k = 0; k < set->n_names; k++) {
      const mf_domain_name_cfg_t *n = &a->names[set->first_name + k];
      fprintf(out, "%s%s", k ? ", " : "", n->exact ? "=" : "");
      dump_name(mf_profile_domain_name(p, n), out);
    }
    fprintf(out, "]%s", as_map ? ", " : "");
  }
  if (as_map) {
    fprintf(out, "files: [");
    for (uint32_t k = 0; k < set->n_files; k++) {
      fprintf(out, "%s", k ? ", " : "");
      dump_quoted(a->files[set->first_file + k].path, out);
    }
    fprintf(out, "]");
    if (set->format)
      fprintf(
          out, ", format: %s",
          mf_domain_lists_format_name((mf_domain_list_format_t)set->format));
    fprintf(out, " }");
  }
  fprintf(out, "\n");
}

static void dump_sets(const mf_profile_t *p, FILE *out)
{
  const mf_approute_cfg_t *a = &p->approute;
  char text[64];
  if (a->enabled)
    fprintf(out, "app_routing: true\n");
  if (a->n_domain_sets)
    fprintf(out, "domain_sets:\n");
  for (uint32_t k = 0; k < a->n_domain_sets; k++)
    dump_domain_set(p, &a->domain_sets[k], out);
  if (a->n_cidr_sets)
    fprintf(out, "cidr_sets:\n");
  for (uint32_t k = 0; k < a->n_cidr_sets; k++) {
    const mf_cidr_set_cfg_t *set = &a->cidr_sets[k];
    fprintf(out, "  ");
    dump_name(set->name, out);
    fprintf(out, ": [");
    for (uint32_t c = 0; c < set->n; c++) {
      mf_prefix_format(&a->set_cidrs[set->first + c], true, text, sizeof(text));
      fprintf(out, "%s'%s'", c ? ", " : "", text);
    }
    fprintf(out, "]\n");
  }
}

static void dump_servers(const char *key, const mf_dns_server_cfg_t *list,
                         uint32_t n, FILE *out)
{
  char addr[INET6_ADDRSTRLEN];
  fprintf(out, "  %s: [", key);
  for (uint32_t k = 0; k < n; k++) {
    const mf_dns_server_cfg_t *s = &list[k];
    bool v6 = s->family == AF_INET6;
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, s->addr, addr, sizeof(addr)))
      snprintf(addr, sizeof(addr), "?");
    fprintf(out, "%s'", k ? ", " : "");
    if (s->port == 53)
      fprintf(out, "%s", addr);
    else
      fprintf(out, v6 ? "[%s]:%u" : "%s:%u", addr, s->port);
    fprintf(out, "'");
  }
  fprintf(out, "]\n");
}

static bool dns_is_default(const mf_dns_cfg_t *dns)
{
  mf_dns_cfg_t d;
  mf_profile_dns_defaults(&d);
  return !dns->n_servers && !dns->n_vpn && !dns->n_direct &&
         dns->hijack == d.hijack && dns->block_answer == d.block_answer &&
         dns->host_route_grace_s == d.host_route_grace_s &&
         dns->max_host_routes == d.max_host_routes &&
         dns->system == d.system &&
         dns->block_doh == d.block_doh;
}

/* Only when it differs from the defaults, as hoststack below. */
static void dump_dns(const mf_dns_cfg_t *dns, FILE *out)
{
  if (dns_is_default(dns))
    return;
  fprintf(out, "dns:\n");
  dump_servers("servers", dns->servers, dns->n_servers, out);
  dump_servers("vpn", dns->vpn, dns->n_vpn, out);
  dump_servers("direct", dns->direct, dns->n_direct, out);
  fprintf(out, "  hijack: %s\n", dns->hijack ? "true" : "false");
  fprintf(out, "  block: %s\n", dns->block_answer ? "answer" : "resolve");
  fprintf(out, "  host_route_grace: %u\n", dns->host_route_grace_s);
  fprintf(out, "  max_host_routes: %u\n", dns->max_host_routes);
  fprintf(out, "  system: %s\n",
          dns->system == MF_DNS_SYSTEM_OFF ? "off" : "auto");
  fprintf(out, "  block_doh: %s\n", dns->block_doh ? "true" : "false");
}

static bool hoststack_is_default(const mf_hoststack_cfg_t *hs)
{
  mf_hoststack_cfg_t d;
  mf_profile_hoststack_defaults(&d);
  return hs->max_sessions == d.max_sessions &&
         hs->tcp_rx_buffer == d.tcp_rx_buffer &&
         hs->tcp_tx_buffer == d.tcp_tx_buffer &&
         hs->tcp_memory == d.tcp_memory &&
         hs->tcp_connect_timeout_s == d.tcp_connect_timeout_s &&
         hs->tcp_idle_timeout_s == d.tcp_idle_timeout_s &&
         hs->udp_idle_timeout_s == d.udp_idle_timeout_s &&
         hs->icmp_idle_timeout_s == d.icmp_idle_timeout_s;
}

/* Only a section that differs from the defaults, so that the dump of a
 * profile without one (the default profile) stays as it was. */
static void dump_hoststack(const mf_hoststack_cfg_t *hs, FILE *out)
{
  char rx[32], tx[32], mem[32];
  if (hoststack_is_default(hs))
    return;
  mf_profile_format_size(hs->tcp_rx_buffer, rx, sizeof(rx));
  mf_profile_format_size(hs->tcp_tx_buffer, tx, sizeof(tx));
  mf_profile_format_size(hs->tcp_memory, mem, sizeof(mem));
  fprintf(out, "hoststack:\n  max_sessions: %u\n", hs->max_sessions);
  fprintf(out, "  tcp_rx_buffer: %s\n  tcp_tx_buffer: %s\n", rx, tx);
  fprintf(out, "  tcp_memory: %s\n", mem);
  fprintf(out, "  tcp_connect_timeout: %u\n", hs->tcp_connect_timeout_s);
  fprintf(out, "  tcp_idle_timeout: %u%s\n", hs->tcp_idle_timeout_s,
          hs->tcp_idle_timeout_s ? "" : "  # never");
  fprintf(out, "  udp_idle_timeout: %u\n", hs->udp_idle_timeout_s);
  fprintf(out, "  icmp_idle_timeout: %u\n", hs->icmp_idle_timeout_s);
}

static void dump_debug(const mf_debug_cfg_t *dbg, FILE *out)
{
  char drop[32];
  if (dbg->tun_drop_ppm == 0)
    return;
  mf_profile_format_ppm(dbg->tun_drop_ppm, drop, sizeof(drop));
  fprintf(out, "debug:\n  tun_drop: %s  # %u per million each way\n", drop,
          dbg->tun_drop_ppm);
}

void mf_profile_dump(const mf_profile_t *p, FILE *out)
{
  fprintf(out, "# %s, as understood\n", p->source[0] ? p->source : "profile");
  dump_tun(&p->tun, out);
  dump_ifaces(p, out);
  dump_sets(p, out);
  dump_dns(&p->approute.dns, out);
  dump_routes(p, out);
  dump_hoststack(&p->hoststack, out);
  dump_debug(&p->debug, out);
}
