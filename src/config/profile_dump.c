#include "config/profile_dump.h"

#include <string.h>

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

static void dump_ifaces(const mf_profile_t *p, FILE *out)
{
  fprintf(out, "interfaces:%s\n", p->n_ifaces ? "" : " []");
  for (uint32_t k = 0; k < p->n_ifaces; k++) {
    const mf_iface_cfg_t *c = &p->ifaces[k];
    const char *type = mf_if_type_name(c->type);
    const char *q = quote_if_null(c->name);
    fprintf(out, "  - { name: %s%s%s, type: %s }\n", q, c->name, q,
            type ? type : "?");
  }
}

static void dump_routes(const mf_profile_t *p, FILE *out)
{
  fprintf(out, "routes:%s\n", p->n_routes ? "" : " []");
  for (uint32_t r = 0; r < p->n_routes; r++) {
    const mf_route_cfg_t *rt = &p->routes[r];
    const char *to = rt->iface < p->n_ifaces ? p->ifaces[rt->iface].name : "?";
    const char *q = quote_if_null(to);
    char cidr[64];
    mf_prefix_format(&rt->cidr, true, cidr, sizeof(cidr));
    /* An implied route stays a comment, so that loading this back implies
     * it again instead of declaring it. */
    fprintf(out, "  %s{ cidr: %s, to: %s%s%s }%s\n",
            rt->implicit ? "# - " : "- ", cidr, q, to, q,
            rt->implicit ? "  (implied by 0.0.0.0/0)" : "");
  }
}

void mf_profile_dump(const mf_profile_t *p, FILE *out)
{
  fprintf(out, "# %s, as understood\n", p->source[0] ? p->source : "profile");
  dump_tun(&p->tun, out);
  dump_ifaces(p, out);
  dump_routes(p, out);
}
