/* DNS over TCP: the framing reader on its own, then the server's TCP
 * clients through a real graph, each client a socketpair whose far end the
 * test holds (as the host stack would):
 *
 *   test's end ==socketpair== DNS server --query--> ip4-lookup -> "hs-direct"
 *        ^                        ^                 (capture: the upstream)
 *        |  framed answers        |  upstream answers injected at ip4-input
 *        +------------------------+  (rx_if: the direct interface)
 *
 * Policy: no domain sets; every name follows the DNS fallback to `dir`,
 * asked of the Direct DNS server 1.1.1.1. Checked: framing (partial,
 * several per read, zero length, oversize, cut by the close), answers the
 * server makes at once, forwarded queries (with our OPT whether or not the
 * client sent one) and relayed answers (OPT only when the client sent one,
 * no 512-byte cut, TC kept and counted), pipelining and its bound, an
 * answer for a closed connection whose slot was reused, refusal beyond the
 * table, the idle close, ip-local's hand-over of port 53, and that every
 * buffer returns to the pool. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/graph_rt.h"
#include "dns/dns_build.h"
#include "dns/dns_server.h"
#include "dns/dns_tcp_stream.h"
#include "dns/dns_wire.h"
#include "fib/fib.h"
#include "ip/nodes.h"
#include "routing/approute.h"

#define S 1000000000ull
#define T0 (1000 * S)

/* ---------------------------------------------------------------- reader */

/* A framed message: prefix n, then n bytes of a fake header and body. */
static size_t frame(uint8_t *out, size_t n, uint8_t fill)
{
  out[0] = (uint8_t)(n >> 8);
  out[1] = (uint8_t)n;
  memset(out + 2, fill, n);
  return n + 2;
}

/* Feeds data in chunks of `chunk` bytes; collects message lengths and
 * their first byte. Returns the last status. */
static mf_dns_tcp_status_t feed(mf_dns_tcp_stream_t *st, const uint8_t *data,
                                size_t len, size_t chunk, size_t *lens,
                                uint8_t *firsts, size_t *n_msgs)
{
  size_t off = 0;
  *n_msgs = 0;
  for (int guard = 0; guard < 100000; guard++) {
    const uint8_t *m;
    size_t ml;
    mf_dns_tcp_status_t r = mf_dns_tcp_stream_next(st, &m, &ml);
    if (r == MF_DNS_TCP_MESSAGE) {
      lens[*n_msgs] = ml;
      firsts[*n_msgs] = m[0];
      (*n_msgs)++;
      continue;
    }
    if (r == MF_DNS_TCP_BAD_LENGTH || off == len)
      return r;
    uint8_t *at;
    size_t room = mf_dns_tcp_stream_space(st, &at);
    assert_true(room > 0);
    size_t take = len - off < chunk ? len - off : chunk;
    take = take < room ? take : room;
    memcpy(at, data + off, take);
    mf_dns_tcp_stream_commit(st, take);
    off += take;
  }
  fail_msg("reader did not finish");
  return MF_DNS_TCP_BAD_LENGTH;
}

static void test_stream_partial_and_several(void **state)
{
  (void)state;
  static uint8_t data[3 * (2 + MF_DNS_TCP_QUERY_MAX)];
  size_t len = 0;
  len += frame(data + len, 12, 'a');
  len += frame(data + len, 300, 'b');
  len += frame(data + len, MF_DNS_TCP_QUERY_MAX, 'c'); /* the largest */
  const size_t chunks[] = {1, 2, 3, 7, 13, 512, MF_DNS_TCP_READ_CHUNK, 65536};
  for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
    mf_dns_tcp_stream_t st;
    mf_dns_tcp_stream_init(&st);
    size_t lens[8], n;
    uint8_t firsts[8];
    assert_int_equal(feed(&st, data, len, chunks[c], lens, firsts, &n),
                     MF_DNS_TCP_NEED_MORE);
    assert_int_equal(n, 3);
    assert_int_equal(lens[0], 12);
    assert_int_equal(lens[1], 300);
    assert_int_equal(lens[2], MF_DNS_TCP_QUERY_MAX);
    assert_int_equal(firsts[0], 'a');
    assert_int_equal(firsts[1], 'b');
    assert_int_equal(firsts[2], 'c');
    assert_false(mf_dns_tcp_stream_partial(&st)); /* ended on a boundary */
  }
}

static void test_stream_bad_lengths(void **state)
{
  (void)state;
  /* Zero-length frame, a frame shorter than a header, one longer than the
   * largest query (0xffff: a 16-bit prefix cannot say more). */
  const uint8_t zero[] = {0, 0, 1, 2, 3};
  const uint8_t short_[] = {0, 11};
  const uint8_t big[] = {0xff, 0xff, 0};
  uint8_t over[2];
  over[0] = (uint8_t)((MF_DNS_TCP_QUERY_MAX + 1) >> 8);
  over[1] = (uint8_t)(MF_DNS_TCP_QUERY_MAX + 1);
  const struct { const uint8_t *d; size_t n; } cases[] = {
      {zero, sizeof(zero)}, {short_, sizeof(short_)}, {big, sizeof(big)},
      {over, sizeof(over)}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mf_dns_tcp_stream_t st;
    mf_dns_tcp_stream_init(&st);
    size_t lens[2], n;
    uint8_t firsts[2];
    assert_int_equal(feed(&st, cases[i].d, cases[i].n, 64, lens, firsts, &n),
                     MF_DNS_TCP_BAD_LENGTH);
    assert_int_equal(n, 0);
    /* Once bad, always bad: no read is offered, nothing comes out. */
    const uint8_t *m;
    size_t ml;
    uint8_t *at;
    assert_int_equal(mf_dns_tcp_stream_next(&st, &m, &ml), MF_DNS_TCP_BAD_LENGTH);
    assert_int_equal(mf_dns_tcp_stream_space(&st, &at), 0);
  }
  /* A good message before the bad prefix still comes out. */
  uint8_t two[2 + 20 + 2];
  size_t len = frame(two, 20, 'x');
  two[len++] = 0;
  two[len++] = 3;
  mf_dns_tcp_stream_t st;
  mf_dns_tcp_stream_init(&st);
  size_t lens[2], n;
  uint8_t firsts[2];
  assert_int_equal(feed(&st, two, len, sizeof(two), lens, firsts, &n),
                   MF_DNS_TCP_BAD_LENGTH);
  assert_int_equal(n, 1);
  assert_int_equal(lens[0], 20);
}

static void test_stream_truncated_at_close(void **state)
{
  (void)state;
  uint8_t data[2 + 40];
  size_t len = frame(data, 40, 'q');
  /* Stopping after k bytes: partial unless k is 0 or the whole frame. */
  for (size_t k = 0; k <= len; k++) {
    mf_dns_tcp_stream_t st;
    mf_dns_tcp_stream_init(&st);
    size_t lens[2], n;
    uint8_t firsts[2];
    assert_int_equal(feed(&st, data, k, 5, lens, firsts, &n), MF_DNS_TCP_NEED_MORE);
    assert_int_equal(n, k == len ? 1 : 0);
    assert_int_equal(mf_dns_tcp_stream_partial(&st), k != 0 && k != len);
  }
  /* Bytes read and not yet framed count as partial too. */
  mf_dns_tcp_stream_t st;
  mf_dns_tcp_stream_init(&st);
  uint8_t *at;
  assert_int_equal(mf_dns_tcp_stream_space(&st, &at), MF_DNS_TCP_READ_CHUNK);
  memcpy(at, data, len);
  mf_dns_tcp_stream_commit(&st, len);
  assert_true(mf_dns_tcp_stream_partial(&st));
  assert_int_equal(mf_dns_tcp_stream_space(&st, &at), 0);
}

/* ---------------------------------------------------------------- world */

enum { IF_TUN, IF_LOCAL, IF_DIR };

#define CAP_MAX 64
typedef struct {
  uint32_t n, total;
  uint32_t len[CAP_MAX];
  uint8_t pkt[CAP_MAX][MF_BUFFER_DATA_SIZE];
} capture_t;

static uint32_t capture_fn(mf_vm_t *vm, mf_node_rt_t *node, uint32_t *buffers,
                           uint32_t n)
{
  capture_t *c = node->ctx;
  for (uint32_t i = 0; i < n; i++) {
    mf_buffer_t *b = mf_buffer_get(&vm->pool, buffers[i]);
    if (c) {
      c->total++;
      if (c->n < CAP_MAX) {
        c->len[c->n] = b->current_length;
        memcpy(c->pkt[c->n], mf_buffer_data(b), b->current_length);
        c->n++;
      }
    }
  }
  mf_buffer_free(&vm->pool, buffers, n);
  return n;
}

#define CAPTURE(var, nm) \
  static const mf_node_reg_t var = {.name = nm, .fn = capture_fn}
CAPTURE(tun_out_node, "tun-output");
CAPTURE(wg_out_node, "wg-output");
CAPTURE(direct_node, "hs-direct");
CAPTURE(hs_tcp_node, "hs-tcp");
CAPTURE(reject4_node, "ip4-reject");
CAPTURE(reject6_node, "ip6-reject");
CAPTURE(ifdrop_node, "interface-drop");

static const mf_node_reg_t *const regs[] = {
    &mf_ip4_input_node, &mf_ip6_input_node,  &mf_ip4_lookup_node,
    &mf_ip6_lookup_node, &mf_ip4_local_node, &mf_ip6_local_node,
    &mf_dns_input_node, &tun_out_node,       &wg_out_node,
    &direct_node,       &hs_tcp_node,        &reject4_node,
    &reject6_node,      &ifdrop_node,        &mf_gso_segment_node,
    &mf_error_drop_node};

typedef struct {
  mf_vm_t vm;
  mf_approute_t ar;
  mf_dns_server_t *srv;
  capture_t up, tun, hs_tcp, reject;
} world_t;

static const uint8_t app4[4] = {172, 19, 0, 1}, stack4[4] = {172, 19, 0, 2};
static const uint8_t dir1[4] = {1, 1, 1, 1};

static void add_if(mf_vm_t *vm, const char *name, mf_if_type_t t)
{
  mf_if_t *f = &vm->ifs[vm->n_ifs++];
  memset(f, 0, sizeof(*f));
  snprintf(f->name, sizeof(f->name), "%s", name);
  f->type = t;
}

static void fib_add(mf_fib_t *fib, const char *cidr, uint32_t adj)
{
  mf_prefix_t p;
  const char *why;
  assert_int_equal(mf_prefix_parse(cidr, &p, &why), 0);
  mf_prefix_mask(&p);
  assert_int_equal(mf_fib_add(fib, &p, MF_FIB_SRC_PROFILE, 100, adj), 0);
}

static world_t *world_new(const mf_dns_server_config_t *cfg)
{
  world_t *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  mf_vm_t *vm = &w->vm;
  assert_int_equal(mf_buffer_pool_init(&vm->pool, 256), 0);
  assert_int_equal(mf_graph_init(vm, regs, sizeof(regs) / sizeof(regs[0]), 64), 0);
  add_if(vm, "tun0", MF_IF_TUN);
  add_if(vm, "local", MF_IF_LOCAL);
  add_if(vm, "dir", MF_IF_DIRECT);
  vm->fib = mf_fib_create(1024, UINT32_MAX);
  assert_non_null(vm->fib);
  fib_add(vm->fib, "172.19.0.2/32", IF_LOCAL);
  fib_add(vm->fib, "0.0.0.0/0", IF_DIR);
  vm->nodes[mf_graph_node_index(vm, "hs-direct")].ctx = &w->up;
  vm->nodes[mf_graph_node_index(vm, "tun-output")].ctx = &w->tun;
  vm->nodes[mf_graph_node_index(vm, "hs-tcp")].ctx = &w->hs_tcp;
  vm->nodes[mf_graph_node_index(vm, "ip4-reject")].ctx = &w->reject;
  w->ar.enabled = true;
  w->ar.fallback_iface = 0; /* profile interface 0: dir */
  w->ar.fallback_group = MF_DNS_GROUP_DIRECT;
  w->ar.direct[0] = (mf_dns_upstream_t){.family = AF_INET, .port = 53};
  memcpy(w->ar.direct[0].addr, dir1, 4);
  w->ar.n_direct = 1;
  w->ar.max_host_routes = 8;
  mf_prefix_t stack = {.family = AF_INET, .len = 30};
  memcpy(stack.addr, stack4, 4);
  vm->now_ns = T0;
  w->srv = mf_dns_server_create(vm, &w->ar, &stack, 1, cfg, T0);
  assert_non_null(w->srv);
  vm->nodes[mf_graph_node_index(vm, "dns-input")].ctx = w->srv;
  return w;
}

static void world_free(world_t *w)
{
  mf_dns_server_destroy(w->srv);
  assert_int_equal(w->vm.pool.n_free, w->vm.pool.n_total);
  assert_int_equal(w->vm.n_free_frames, w->vm.n_frames);
  mf_fib_destroy(w->vm.fib);
  mf_graph_free(&w->vm);
  mf_buffer_pool_free(&w->vm.pool);
  free(w);
}

static mf_dns_server_stats_t stats(world_t *w)
{
  mf_dns_server_stats_t st;
  mf_dns_server_stats(w->srv, &st);
  return st;
}

/* ---------------------------------------------------------------- clients */

typedef struct {
  int fd;        /* the test's end */
  uint32_t slot; /* the server's connection */
} client_t;

/* A new connection; its slot is the lowest free one (or `slot`). */
static client_t connect_client(world_t *w, uint32_t slot)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  assert_int_equal(mf_dns_server_tcp_accept(w->srv, sv[1], AF_INET, app4,
                                            htons(40000), stack4),
                   0);
  return (client_t){sv[0], slot};
}

/* The server reads what the client sent, and the graph runs. */
static void serve(world_t *w, const client_t *c)
{
  mf_dns_server_on_event(w->srv, MF_DNS_TAG_TCP + c->slot, EPOLLIN);
  mf_graph_run(&w->vm);
}

static void send_bytes(const client_t *c, const uint8_t *p, size_t n)
{
  assert_int_equal(write(c->fd, p, n), (ssize_t)n);
}

static size_t query(const char *name, uint16_t id, bool edns, uint8_t *out)
{
  mf_dns_name_t n;
  assert_int_equal(mf_dns_name_from_text(name, strlen(name), &n), 0);
  size_t len = mf_dns_build_query(&n, MF_DNS_TYPE_A, MF_DNS_CLASS_IN, id,
                                  edns ? 1232 : 0, false, out + 2, 510);
  assert_true(len > 0);
  out[0] = (uint8_t)(len >> 8);
  out[1] = (uint8_t)len;
  return len + 2;
}

static void ask(world_t *w, const client_t *c, const char *name, uint16_t id,
                bool edns)
{
  uint8_t q[512];
  send_bytes(c, q, query(name, id, edns, q));
  serve(w, c);
}

/* The next framed answer on the client's end, parsed into m; its length,
 * or 0 when none waits. */
static size_t answer(const client_t *c, uint8_t *msg, mf_dns_msg_t *m)
{
  uint8_t pre[2];
  ssize_t r = recv(c->fd, pre, 2, MSG_DONTWAIT);
  if (r < 0 && errno == EAGAIN)
    return 0;
  assert_int_equal(r, 2);
  size_t n = (size_t)pre[0] << 8 | pre[1];
  assert_int_equal(recv(c->fd, msg, n, MSG_DONTWAIT), (ssize_t)n);
  assert_int_equal(mf_dns_parse(msg, n, m), MF_DNS_OK);
  return n;
}

/* True when the server closed its end (EOF on ours). */
static bool closed_by_server(const client_t *c)
{
  uint8_t b;
  return recv(c->fd, &b, 1, MSG_DONTWAIT) == 0;
}

/* ---------------------------------------------------------------- upstream */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  return s;
}

static uint16_t fold(uint32_t s)
{
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

typedef struct {
  uint16_t sport;
  const uint8_t *dns;
  size_t dns_len;
  mf_dns_msg_t m;
} upq_t;

/* Forwarded query i of the upstream capture, taken apart. */
static void upstream_query(world_t *w, uint32_t i, upq_t *q)
{
  assert_true(i < w->up.n);
  const uint8_t *pkt = w->up.pkt[i];
  assert_int_equal(pkt[0], 0x45);
  assert_memory_equal(pkt + 12, stack4, 4);
  assert_memory_equal(pkt + 16, dir1, 4);
  const uint8_t *u = pkt + 20;
  assert_int_equal(mf_dns_get16(u + 2), 53);
  q->sport = mf_dns_get16(u);
  q->dns = u + 8;
  q->dns_len = mf_dns_get16(u + 4) - 8u;
  assert_int_equal(mf_dns_parse(q->dns, q->dns_len, &q->m), MF_DNS_OK);
}

/* The upstream answers q with n addresses 198.18.1.1... (TC when tc). */
static void upstream_answers(world_t *w, const upq_t *q, size_t n, bool tc)
{
  mf_dns_addr_t a[64];
  for (size_t i = 0; i < n; i++) {
    a[i] = (mf_dns_addr_t){.family = AF_INET};
    a[i].addr[0] = 198;
    a[i].addr[1] = 18;
    a[i].addr[2] = 1;
    a[i].addr[3] = (uint8_t)(i + 1);
  }
  uint8_t pkt[1600];
  uint8_t *msg = pkt + 28;
  size_t len = mf_dns_build_addrs(&q->m, a, n, 60, msg, sizeof(pkt) - 28);
  assert_true(len > 0);
  if (tc)
    msg[2] |= 0x02;
  size_t ulen = 8 + len;
  memset(pkt, 0, 28);
  pkt[0] = 0x45;
  mf_dns_put16(pkt + 2, (uint16_t)(20 + ulen));
  pkt[8] = 64;
  pkt[9] = 17;
  memcpy(pkt + 12, dir1, 4);
  memcpy(pkt + 16, stack4, 4);
  mf_dns_put16(pkt + 10, fold(sum16(pkt, 20, 0)));
  uint8_t *u = pkt + 20;
  mf_dns_put16(u, 53);
  mf_dns_put16(u + 2, q->sport);
  mf_dns_put16(u + 4, (uint16_t)ulen);
  uint16_t c = fold(sum16(u, ulen, sum16(pkt + 12, 8, 0) + 17 + (uint32_t)ulen));
  mf_dns_put16(u + 6, c ? c : 0xffff);
  uint32_t bi;
  assert_int_equal(mf_buffer_alloc(&w->vm.pool, &bi, 1), 1);
  mf_buffer_t *b = mf_buffer_get(&w->vm.pool, bi);
  memcpy(mf_buffer_data(b), pkt, 20 + ulen);
  b->current_length = (uint16_t)(20 + ulen);
  b->rx_if = IF_DIR;
  mf_graph_inject(&w->vm, mf_graph_node_index(&w->vm, "ip4-input"), &bi, 1);
  mf_graph_run(&w->vm);
}

static uint64_t node_error(world_t *w, const char *node, const char *name)
{
  const mf_node_rt_t *n = &w->vm.nodes[mf_graph_node_index(&w->vm, node)];
  for (uint32_t e = 0; e < n->reg->n_errors; e++)
    if (strcmp(n->reg->errors[e].name, name) == 0)
      return w->vm.errors[n->error_base + e];
  fail_msg("no error %s in %s", name, node);
  return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_forward_adds_opt_and_strips_it(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  client_t c = connect_client(w, 0);
  uint8_t msg[65536];
  mf_dns_msg_t m;
  /* Without an OPT of the client's: ours goes upstream (1232), none back. */
  ask(w, &c, "plain.example", 0x1111, false);
  assert_int_equal(w->up.n, 1);
  upq_t q;
  upstream_query(w, 0, &q);
  assert_true(q.m.edns);
  assert_int_equal(q.m.edns_udp_size, MF_DNS_EDNS_UDP_SIZE);
  assert_int_equal(answer(&c, msg, &m), 0); /* nothing before the upstream */
  upstream_answers(w, &q, 2, false);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 0x1111);
  assert_false(m.edns);
  assert_int_equal(m.an, 2);
  /* With the client's OPT: one comes back. */
  ask(w, &c, "edns.example", 0x2222, true);
  upstream_query(w, 1, &q);
  assert_true(q.m.edns);
  upstream_answers(w, &q, 1, false);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 0x2222);
  assert_true(m.edns);
  mf_dns_server_stats_t st = stats(w);
  assert_int_equal(st.tcp_accepted, 1);
  assert_int_equal(st.tcp_open, 1);
  assert_int_equal(st.tcp_queries, 2);
  assert_int_equal(st.tcp_answers, 2);
  assert_int_equal(st.forwarded, 2);
  assert_int_equal(st.pending, 0);
  assert_int_equal(node_error(w, "dns-input", "to-tcp"), 2);
  assert_int_equal(w->tun.total, 0); /* nothing went out as UDP */
  close(c.fd);
  world_free(w);
}

static void test_big_answer_whole_and_tc_kept(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  client_t c = connect_client(w, 0);
  uint8_t msg[65536];
  mf_dns_msg_t m;
  /* 60 addresses: beyond a classic UDP client's 512 bytes, not TCP's. */
  ask(w, &c, "big.example", 7, false);
  upq_t q;
  upstream_query(w, 0, &q);
  upstream_answers(w, &q, 60, false);
  size_t n = answer(&c, msg, &m);
  assert_true(n > 512);
  assert_int_equal(m.an, 60);
  assert_int_equal(m.flags & MF_DNS_FLAG_TC, 0);
  /* The upstream's own TC is relayed (TCP upstream not done yet). */
  ask(w, &c, "cut.example", 8, false);
  upstream_query(w, 1, &q);
  upstream_answers(w, &q, 3, true);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_not_equal(m.flags & MF_DNS_FLAG_TC, 0);
  assert_int_equal(stats(w).tcp_truncated, 1);
  /* The cached big answer, asked again, comes whole too. */
  ask(w, &c, "big.example", 9, false);
  assert_int_equal(w->up.n, 2);
  n = answer(&c, msg, &m);
  assert_true(n > 512);
  assert_int_equal(m.an, 60);
  assert_int_equal(stats(w).cache_answers, 1);
  close(c.fd);
  world_free(w);
}

static void test_pipelined_in_one_write(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  client_t c = connect_client(w, 0);
  uint8_t buf[2048], msg[65536];
  size_t len = 0;
  len += query("slow.example", 1, false, buf + len);
  len += query("use-application-dns.net", 2, false, buf + len);
  len += query("use-application-dns.net", 3, true, buf + len);
  send_bytes(&c, buf, len);
  serve(w, &c);
  /* The canary's answers come at once, before the forwarded one's. */
  mf_dns_msg_t m;
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 2);
  assert_int_equal(m.rcode, MF_DNS_RCODE_NXDOMAIN);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 3);
  assert_int_equal(answer(&c, msg, &m), 0);
  upq_t q;
  upstream_query(w, 0, &q);
  upstream_answers(w, &q, 1, false);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 1);
  assert_int_equal(stats(w).tcp_queries, 3);
  /* A malformed query is answered FORMERR and the stream goes on. */
  uint8_t bad[2 + 14] = {0, 14, 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c};
  send_bytes(&c, bad, sizeof(bad));
  serve(w, &c);
  assert_true(answer(&c, msg, &m) > 0);
  assert_int_equal(m.id, 0xabcd);
  assert_int_equal(m.rcode, MF_DNS_RCODE_FORMERR);
  assert_int_equal(stats(w).tcp_framing_errors, 0);
  close(c.fd);
  world_free(w);
}

static void test_inflight_bound_and_resume(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  client_t c = connect_client(w, 0);
  uint8_t buf[4096], msg[65536];
  size_t len = 0;
  for (int i = 0; i < 40; i++) {
    char name[32];
    snprintf(name, sizeof(name), "n%d.example", i);
    len += query(name, (uint16_t)(100 + i), false, buf + len);
  }
  send_bytes(&c, buf, len);
  serve(w, &c);
  /* 32 in flight at most; the rest wait in the connection. */
  assert_int_equal(stats(w).pending, 32);
  assert_int_equal(w->up.n, 32);
  upq_t q;
  upstream_query(w, 0, &q);
  upstream_answers(w, &q, 1, false);
  assert_int_equal(stats(w).pending, 31);
  assert_int_equal(mf_dns_server_timeout_ms(w->srv, T0, 1000), 0);
  mf_dns_server_tick(w->srv, T0);
  mf_graph_run(&w->vm);
  assert_int_equal(stats(w).pending, 32);
  assert_int_equal(w->up.n, 33);
  /* Answering all lets the last ones through. */
  for (uint32_t i = 1; i < 40; i++) {
    if (i >= w->up.n) {
      mf_dns_server_tick(w->srv, T0);
      mf_graph_run(&w->vm);
    }
    upstream_query(w, i, &q);
    upstream_answers(w, &q, 1, false);
  }
  assert_int_equal(w->up.n, 40);
  assert_int_equal(stats(w).pending, 0);
  mf_dns_msg_t m;
  int got = 0;
  while (got < 50 && answer(&c, msg, &m) > 0)
    got++;
  assert_int_equal(got, 40);
  close(c.fd);
  world_free(w);
}

static void test_answer_for_closed_connection_dropped(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  client_t a = connect_client(w, 0);
  ask(w, &a, "late.example", 5, false);
  upq_t q;
  upstream_query(w, 0, &q);
  /* A bad prefix closes the connection with its query in flight. */
  const uint8_t garbage[] = {0, 3, 'x', 'y', 'z'};
  send_bytes(&a, garbage, sizeof(garbage));
  serve(w, &a);
  assert_true(closed_by_server(&a));
  assert_int_equal(stats(w).tcp_framing_errors, 1);
  assert_int_equal(stats(w).tcp_open, 0);
  /* The slot is reused by a new client: the late answer is not its. */
  client_t b = connect_client(w, 0);
  upstream_answers(w, &q, 1, false);
  uint8_t msg[65536];
  mf_dns_msg_t m;
  assert_int_equal(answer(&b, msg, &m), 0);
  mf_dns_server_stats_t st = stats(w);
  assert_int_equal(st.tcp_answers_lost, 1);
  assert_int_equal(st.pending, 0);
  /* b is served as usual. */
  ask(w, &b, "use-application-dns.net", 6, false);
  assert_true(answer(&b, msg, &m) > 0);
  assert_int_equal(m.id, 6);
  close(a.fd);
  close(b.fd);
  world_free(w);
}

static void test_cut_frame_and_half_close(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  /* A frame cut by the close: a framing error. */
  client_t a = connect_client(w, 0);
  const uint8_t cut[] = {0, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  send_bytes(&a, cut, sizeof(cut));
  shutdown(a.fd, SHUT_WR);
  serve(w, &a);
  assert_true(closed_by_server(&a));
  assert_int_equal(stats(w).tcp_framing_errors, 1);
  /* A whole query, then the half-close: answered, then closed. */
  client_t b = connect_client(w, 0);
  uint8_t buf[512], msg[65536];
  send_bytes(&b, buf, query("half.example", 9, false, buf));
  shutdown(b.fd, SHUT_WR);
  serve(w, &b);
  assert_int_equal(stats(w).tcp_open, 1);
  upq_t q;
  upstream_query(w, 0, &q);
  upstream_answers(w, &q, 1, false);
  mf_dns_msg_t m;
  assert_true(answer(&b, msg, &m) > 0);
  assert_int_equal(m.id, 9);
  assert_true(closed_by_server(&b));
  assert_int_equal(stats(w).tcp_open, 0);
  assert_int_equal(stats(w).tcp_framing_errors, 1);
  close(a.fd);
  close(b.fd);
  world_free(w);
}

static void test_refused_beyond_table_and_idle_close(void **state)
{
  (void)state;
  mf_dns_server_config_t cfg;
  mf_dns_server_config_default(&cfg);
  cfg.tcp_max_conns = 2;
  cfg.try_timeout_ms = cfg.total_timeout_ms = 60000; /* b stays in flight */
  world_t *w = world_new(&cfg);
  client_t a = connect_client(w, 0), b = connect_client(w, 1);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  assert_int_equal(mf_dns_server_tcp_accept(w->srv, sv[1], AF_INET, app4,
                                            htons(1), stack4),
                   -1);
  uint8_t byte;
  assert_int_equal(recv(sv[0], &byte, 1, MSG_DONTWAIT), 0); /* closed */
  close(sv[0]);
  assert_int_equal(stats(w).tcp_refused, 1);
  assert_int_equal(stats(w).tcp_open, 2);
  /* b has a query in flight: it stays past the idle time; a goes. */
  ask(w, &b, "busy.example", 1, false);
  mf_dns_server_tick(w->srv, T0 + 9 * S);
  assert_int_equal(stats(w).tcp_open, 2);
  w->vm.now_ns = T0 + 11 * S;
  mf_dns_server_tick(w->srv, T0 + 11 * S);
  assert_true(closed_by_server(&a));
  assert_int_equal(stats(w).tcp_idle_closes, 1);
  assert_false(closed_by_server(&b));
  close(a.fd);
  close(b.fd);
  world_free(w);
}

/* ip-local: TCP to port 53 of a stack address goes to hs-tcp (which splices
 * it to the server), to any other port to ip4-reject. */
static void test_ip_local_hands_port_53_to_hs_tcp(void **state)
{
  (void)state;
  world_t *w = world_new(NULL);
  const uint16_t ports[] = {53, 80};
  for (int i = 0; i < 2; i++) {
    uint8_t pkt[40] = {0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6};
    memcpy(pkt + 12, app4, 4);
    memcpy(pkt + 16, stack4, 4);
    mf_dns_put16(pkt + 10, fold(sum16(pkt, 20, 0)));
    mf_dns_put16(pkt + 20, 40000);
    mf_dns_put16(pkt + 22, ports[i]);
    pkt[32] = 0x50;
    pkt[33] = 0x02; /* SYN */
    uint32_t bi;
    assert_int_equal(mf_buffer_alloc(&w->vm.pool, &bi, 1), 1);
    mf_buffer_t *b = mf_buffer_get(&w->vm.pool, bi);
    memcpy(mf_buffer_data(b), pkt, sizeof(pkt));
    b->current_length = sizeof(pkt);
    b->rx_if = IF_TUN;
    mf_graph_inject(&w->vm, mf_graph_node_index(&w->vm, "ip4-input"), &bi, 1);
    mf_graph_run(&w->vm);
  }
  assert_int_equal(w->hs_tcp.total, 1);
  assert_int_equal(mf_dns_get16(w->hs_tcp.pkt[0] + 22), 53);
  assert_int_equal(w->reject.total, 1);
  assert_int_equal(mf_dns_get16(w->reject.pkt[0] + 22), 80);
  world_free(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_partial_and_several),
      cmocka_unit_test(test_stream_bad_lengths),
      cmocka_unit_test(test_stream_truncated_at_close),
      cmocka_unit_test(test_forward_adds_opt_and_strips_it),
      cmocka_unit_test(test_big_answer_whole_and_tc_kept),
      cmocka_unit_test(test_pipelined_in_one_write),
      cmocka_unit_test(test_inflight_bound_and_resume),
      cmocka_unit_test(test_answer_for_closed_connection_dropped),
      cmocka_unit_test(test_cut_frame_and_half_close),
      cmocka_unit_test(test_refused_beyond_table_and_idle_close),
      cmocka_unit_test(test_ip_local_hands_port_53_to_hs_tcp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
