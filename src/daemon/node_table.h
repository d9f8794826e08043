/* The graph's nodes, listed once, in init order. */
#ifndef MF_DAEMON_NODE_TABLE_H
#define MF_DAEMON_NODE_TABLE_H

#include "core/graph.h"

extern const mf_node_reg_t *const mf_node_table[];
extern const unsigned mf_node_table_len;

#endif
