/* A route-netlink socket for one request at a time: build a message in the
 * socket's buffer, send it, and wait for its acknowledgement, collecting the
 * kernel's errno and, where it gives one, its extended-ack text.
 *
 * Usage:
 *   mf_nl_t *nl = mf_nl_open(&e);
 *   struct nlmsghdr *nlh = mf_nl_msg(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
 *   ... mnl_nlmsg_put_extra_header / mnl_attr_put_* ...
 *   if (mf_nl_request(nl, nlh, NULL, NULL, &e) < 0) report e.code, e.msg
 *   mf_nl_close(nl);
 *
 * Control path only; one thread at a time per socket. */
#ifndef MF_ROUTING_NL_H
#define MF_ROUTING_NL_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mf_nl mf_nl_t;

typedef struct {
  int code;      /* errno value, positive; 0 when none */
  char msg[160]; /* the kernel's extended-ack message, or "" */
  const char *why; /* our own reason, in place of the errno's; or NULL */
} mf_nl_err_t;

/* Called for each reply message that is not the acknowledgement. Returns 0
 * to go on, -1 to fail the request (set e->code). */
typedef int (*mf_nl_reply_fn)(const struct nlmsghdr *nlh, void *data,
                              mf_nl_err_t *e);

/* Opens and binds a NETLINK_ROUTE socket. Returns NULL with e set. */
mf_nl_t *mf_nl_open(mf_nl_err_t *e);
void mf_nl_close(mf_nl_t *nl);

/* Starts a request of `type` in the socket's buffer, with NLM_F_REQUEST,
 * `flags`, and NLM_F_ACK unless flags has NLM_F_DUMP, and a fresh sequence
 * number. The message stays valid until the next mf_nl_msg on this
 * socket. */
struct nlmsghdr *mf_nl_msg(mf_nl_t *nl, uint16_t type, uint16_t flags);

/* Sends nlh and reads replies until its acknowledgement (or, for a dump,
 * NLMSG_DONE), handing the other replies to `reply` (may be NULL). Returns 0, or -1 with e set; a request
 * that gets no answer in a few seconds fails with ETIMEDOUT. */
int mf_nl_request(mf_nl_t *nl, struct nlmsghdr *nlh, mf_nl_reply_fn reply,
                  void *data, mf_nl_err_t *e);

/* Sets e from an errno value, with no kernel message. */
void mf_nl_err_set(mf_nl_err_t *e, int code);

#endif
