#include "daemon/node_table.h"

#include "core/graph_rt.h"
#include "dns/dns_server.h"
#include "hoststack/hoststack.h"
#include "io/tun.h"
#include "ip/icmp_error.h"
#include "ip/nodes.h"
#include "wireguard/wg_device.h"

/* Explicit, greppable wiring: a node's next arcs name nodes of this table;
 * mf_graph_init resolves them and refuses a graph with a dangling arc. */
const mf_node_reg_t *const mf_node_table[] = {
    &mf_tun_input_node,  &mf_ip4_input_node,   &mf_ip6_input_node,
    &mf_ip4_lookup_node, &mf_ip6_lookup_node,  &mf_ip4_local_node,
    &mf_ip6_local_node,  &mf_ip4_reject_node,  &mf_ip6_reject_node,
    &mf_interface_drop_node, &mf_wg_output_node,  &mf_wg_input_node,
    &mf_icmp_too_big_node, &mf_hs_direct_node, &mf_hs_tcp_node,
    &mf_hs_input_node, &mf_dns_input_node, &mf_gso_segment_node,
    &mf_tun_output_node, &mf_error_drop_node,
};

const unsigned mf_node_table_len = sizeof(mf_node_table) / sizeof(mf_node_table[0]);
