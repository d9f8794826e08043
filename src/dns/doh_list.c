/* The bundled DoH endpoint names (doh_list.h).
 *
 * Where they come from: each provider's public setup page for DNS over
 * HTTPS (RFC 8484) as of 2024, and the provider tables the browsers ship
 * for their own DoH switch: Firefox's network.trr resolver list and
 * Chromium's DoH provider list (net/dns/public/doh_provider_entry.cc).
 * A suffix entry is used where a provider serves per-user or per-filter
 * names under one DNS-only zone (NextDNS, AdGuard, Mullvad, Cloudflare's
 * mozilla./chrome./family. variants); a provider whose website shares the
 * zone gets its DoH host names only (quad9.net, opendns.com).
 *
 * Keep it sorted by provider, one provider per block. */
#include "dns/doh_list.h"

static const mf_doh_name_t doh_names[] = {
    /* Google Public DNS */
    {"dns.google", false},
    {"dns.google.com", false},
    /* Cloudflare 1.1.1.1, incl. mozilla., chrome., family., security. */
    {"cloudflare-dns.com", false},
    {"one.one.one.one", false},
    {"1dot1dot1dot1.cloudflare-dns.com", false},
    /* Quad9 */
    {"dns.quad9.net", false},
    {"dns9.quad9.net", false},
    {"dns10.quad9.net", false},
    {"dns11.quad9.net", false},
    {"dns12.quad9.net", false},
    /* OpenDNS / Cisco Umbrella */
    {"doh.opendns.com", false},
    {"doh.familyshield.opendns.com", false},
    {"doh.umbrella.com", false},
    /* AdGuard DNS (public, family, unfiltered, per-user d.) */
    {"dns.adguard.com", false},
    {"dns-family.adguard.com", false},
    {"dns-unfiltered.adguard.com", false},
    {"dns.adguard-dns.com", false},
    {"family.adguard-dns.com", false},
    {"unfiltered.adguard-dns.com", false},
    {"d.adguard-dns.com", false},
    /* NextDNS (per-profile names, firefox. and chromium. variants) */
    {"dns.nextdns.io", false},
    {"dns1.nextdns.io", false},
    {"dns2.nextdns.io", false},
    /* CleanBrowsing */
    {"doh.cleanbrowsing.org", false},
    /* Mullvad (base., adblock., extended., family., all.) */
    {"dns.mullvad.net", false},
    {"doh.mullvad.net", false},
    /* DNS.SB */
    {"doh.dns.sb", false},
    {"doh.sb", false},
    /* Comcast Xfinity (Firefox's TRR partner in the US) */
    {"doh.xfinity.com", false},
    /* CIRA Canadian Shield (Firefox's TRR partner in Canada) */
    {"private.canadianshield.cira.ca", false},
    {"protected.canadianshield.cira.ca", false},
    {"family.canadianshield.cira.ca", false},
    /* Control D */
    {"dns.controld.com", false},
    {"freedns.controld.com", false},
    /* Alibaba, DNSPod / Tencent, 360 (Chromium's list) */
    {"dns.alidns.com", false},
    {"doh.pub", false},
    {"doh.360.cn", false},
    /* Hurricane Electric */
    {"ordns.he.net", false},
    /* SWITCH, Digitale Gesellschaft, LibreDNS, Applied Privacy, dns0.eu */
    {"dns.switch.ch", false},
    {"dns.digitale-gesellschaft.ch", false},
    {"doh.libredns.gr", false},
    {"doh.applied-privacy.net", false},
    {"dns0.eu", false},
};

const mf_doh_name_t *mf_doh_list(uint32_t *n)
{
  *n = (uint32_t)(sizeof(doh_names) / sizeof(doh_names[0]));
  return doh_names;
}
