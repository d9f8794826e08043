#include "routing/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* A request is answered by a reply and an acknowledgement, a dump by as
 * many datagrams as the table needs; the bound keeps a confused exchange,
 * or a table of absurd size, from holding us. */
#define NL_MAX_DATAGRAMS 1024
#define NL_TIMEOUT_SEC 5
/* Requests here are a few attributes long; replies to RTM_GETLINK carry
 * statistics and can exceed a page. */
#define NL_TX_SIZE 4096
#define NL_RX_SIZE 32768

struct mf_nl {
  struct mnl_socket *sock;
  uint32_t portid;
  uint32_t seq;
  uint32_t pending_seq;
  char tx[NL_TX_SIZE];
  char rx[NL_RX_SIZE];
};

void mf_nl_err_set(mf_nl_err_t *e, int code)
{
  e->code = code;
  e->msg[0] = 0;
  e->why = NULL;
}

static int set_flag_opt(struct mnl_socket *sock, int opt)
{
  int one = 1;
  return mnl_socket_setsockopt(sock, opt, &one, sizeof(one));
}

mf_nl_t *mf_nl_open(mf_nl_err_t *e)
{
  mf_nl_t *nl = calloc(1, sizeof(*nl));
  if (!nl) {
    mf_nl_err_set(e, ENOMEM);
    return NULL;
  }
  nl->sock = mnl_socket_open(NETLINK_ROUTE);
  if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    mf_nl_err_set(e, errno);
    mf_nl_close(nl);
    return NULL;
  }
  /* Ask for the kernel's reason text (extended ack, Linux 4.12) and for
   * errors that do not echo our whole request back. Older kernels refuse
   * the options; the errno alone is still reported then. */
  (void)set_flag_opt(nl->sock, NETLINK_EXT_ACK);
  (void)set_flag_opt(nl->sock, NETLINK_CAP_ACK);
  struct timeval tv = {.tv_sec = NL_TIMEOUT_SEC};
  (void)setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
                   sizeof(tv));
  nl->portid = mnl_socket_get_portid(nl->sock);
  nl->seq = (uint32_t)time(NULL);
  return nl;
}

void mf_nl_close(mf_nl_t *nl)
{
  if (!nl)
    return;
  if (nl->sock)
    mnl_socket_close(nl->sock);
  free(nl);
}

struct nlmsghdr *mf_nl_msg(mf_nl_t *nl, uint16_t type, uint16_t flags)
{
  memset(nl->tx, 0, sizeof(nl->tx));
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->tx);
  nlh->nlmsg_type = type;
  /* A dump ends in NLMSG_DONE; an acknowledgement is only asked of the
   * other requests. Both dump bits are tested: NLM_F_MATCH alone is
   * NLM_F_EXCL on a new-object request. */
  bool dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
  nlh->nlmsg_flags =
      (uint16_t)(NLM_F_REQUEST | flags | (dump ? 0 : NLM_F_ACK));
  nlh->nlmsg_seq = ++nl->seq;
  return nlh;
}

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
  mf_nl_err_t *e = data;
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
    snprintf(e->msg, sizeof(e->msg), "%s", mnl_attr_get_str(attr));
  return MNL_CB_OK;
}

/* The extended-ack attributes follow the nlmsgerr and, unless the kernel
 * capped it, a copy of our request's payload (linux/netlink.h). */
static void read_ext_ack(const struct nlmsghdr *m, const struct nlmsgerr *err,
                         mf_nl_err_t *e)
{
  if (!(m->nlmsg_flags & NLM_F_ACK_TLVS))
    return;
  size_t off = sizeof(*err);
  if (!(m->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
      return;
    off += MNL_ALIGN(err->msg.nlmsg_len - sizeof(struct nlmsghdr));
  }
  if (off >= mnl_nlmsg_get_payload_len(m))
    return;
  (void)mnl_attr_parse(m, (unsigned)off, ext_ack_attr, e);
}

/* Returns 0 for an acknowledgement, -1 for an error, with e set. */
static int read_ack(const struct nlmsghdr *m, mf_nl_err_t *e)
{
  if (m->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
    mf_nl_err_set(e, EBADMSG);
    return -1;
  }
  const struct nlmsgerr *err = mnl_nlmsg_get_payload(m);
  if (err->error == 0)
    return 0;
  /* The kernel sends a negated errno; anything else is not one. */
  mf_nl_err_set(e, err->error < 0 && err->error > -4096 ? -err->error
                                                        : EPROTO);
  read_ext_ack(m, err, e);
  return -1;
}

/* A dump that failed part-way says so in NLMSG_DONE's payload. */
static int read_done(const struct nlmsghdr *m, mf_nl_err_t *e)
{
  if (mnl_nlmsg_get_payload_len(m) < sizeof(int))
    return 0;
  int code;
  memcpy(&code, mnl_nlmsg_get_payload(m), sizeof(code));
  if (code >= 0)
    return 0;
  mf_nl_err_set(e, code > -4096 ? -code : EPROTO);
  return -1;
}

enum { GO_ON = 1 };

/* Walks one datagram. Returns GO_ON when the answer is still to come, 0 or
 * -1 when the request is finished. */
static int walk_datagram(mf_nl_t *nl, size_t n, mf_nl_reply_fn reply,
                         void *data, mf_nl_err_t *e)
{
  const struct nlmsghdr *m = (const struct nlmsghdr *)nl->rx;
  int len = (int)n;
  for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
    /* Answers to an earlier request that timed out are skipped. */
    if (m->nlmsg_seq != nl->pending_seq ||
        !mnl_nlmsg_portid_ok(m, nl->portid))
      continue;
    if (m->nlmsg_type == NLMSG_ERROR)
      return read_ack(m, e);
    if (m->nlmsg_type == NLMSG_DONE)
      return read_done(m, e);
    if (m->nlmsg_type < NLMSG_MIN_TYPE)
      continue;
    if (reply && reply(m, data, e) < 0)
      return -1;
  }
  return GO_ON;
}

int mf_nl_request(mf_nl_t *nl, struct nlmsghdr *nlh, mf_nl_reply_fn reply,
                  void *data, mf_nl_err_t *e)
{
  mf_nl_err_set(e, 0);
  nl->pending_seq = nlh->nlmsg_seq;
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
    mf_nl_err_set(e, errno);
    return -1;
  }
  for (int i = 0; i < NL_MAX_DATAGRAMS; i++) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      mf_nl_err_set(e, errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT
                                                               : errno);
      return -1;
    }
    int rc = walk_datagram(nl, (size_t)n, reply, data, e);
    if (rc != GO_ON) {
      if (rc < 0 && e->code == 0)
        e->code = EPROTO;
      return rc;
    }
  }
  mf_nl_err_set(e, EPROTO);
  return -1;
}
