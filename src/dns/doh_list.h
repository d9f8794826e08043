/* Well-known DNS-over-HTTPS endpoints, by host name: the resolvers that
 * browsers and apps reach over HTTPS on port 443, where the built-in DNS
 * server never sees their queries. With the profile's dns.block_doh these
 * names form a built-in domain set routed to reject, so a browser's own
 * encrypted DNS fails fast and it falls back to the system resolver
 * (Firefox and Chrome both do).
 *
 * Names only, never addresses: a user's own dns.vpn / dns.direct servers
 * keep working whatever their address, and the DNS server never routes an
 * upstream's address (dns_server.c). */
#ifndef MF_DNS_DOH_LIST_H
#define MF_DNS_DOH_LIST_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  const char *name;
  bool exact; /* the name only; else the name and every name under it */
} mf_doh_name_t;

/* The bundled list and its length; static, never freed. */
const mf_doh_name_t *mf_doh_list(uint32_t *n);

#endif
