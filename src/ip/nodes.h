/* The IP part's graph nodes, for the node table. */
#ifndef MF_IP_NODES_H
#define MF_IP_NODES_H

#include "core/graph.h"

extern const mf_node_reg_t mf_ip4_input_node;
extern const mf_node_reg_t mf_ip6_input_node;
extern const mf_node_reg_t mf_ip4_lookup_node;
extern const mf_node_reg_t mf_ip6_lookup_node;
extern const mf_node_reg_t mf_ip4_local_node;
extern const mf_node_reg_t mf_ip6_local_node;
extern const mf_node_reg_t mf_ip4_reject_node;
extern const mf_node_reg_t mf_ip6_reject_node;
extern const mf_node_reg_t mf_interface_drop_node;
extern const mf_node_reg_t mf_gso_segment_node;

#endif
