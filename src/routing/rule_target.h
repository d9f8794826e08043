/* Which rule an RTM_DELRULE for one of ours would remove. The kernel
 * deletes the first rule, in list order, that agrees with the fields the
 * request sets (net/core/fib_rules.c, rule_find); fields the request leaves
 * out, an interface or a source for one, and the "not" flag, are not
 * compared. An earlier rule that differs only there would go instead of
 * ours, so the list is read first. */
#ifndef MF_ROUTING_RULE_TARGET_H
#define MF_ROUTING_RULE_TARGET_H

#include "routing/netobj.h"
#include "routing/nl.h"

typedef enum {
  MF_RULE_TARGET_NONE,  /* no rule would be deleted: ours is gone */
  MF_RULE_TARGET_OURS,  /* ours, with nothing more and nothing less */
  MF_RULE_TARGET_OTHER, /* a rule that is not ours would be deleted */
} mf_rule_target_t;

/* Dumps the rules of o's family. Returns an mf_rule_target_t, or -1 with
 * e set. */
int mf_rule_target_find(mf_nl_t *nl, const mf_netobj_t *o, mf_nl_err_t *e);

#endif
