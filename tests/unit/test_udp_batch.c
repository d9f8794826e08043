/* The host stack's UDP send batch: runs of one socket's datagrams leave in
 * one sendmmsg, in order, counted per session; a datagram the kernel
 * refuses is recounted as send-error and the others still leave. Real
 * loopback sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/graph.h"
#include "hoststack/hs_internal.h"

#define N_DGRAMS 150 /* more than one batch */
#define ERROR_BASE 1000

static int udp_socket(uint16_t *port)
{
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  if (port)
    *port = a.sin_port;
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return fd;
}

static mf_sockaddr_t loopback(uint16_t port)
{
  mf_sockaddr_t to;
  memset(&to, 0, sizeof(to));
  to.in4.sin_family = AF_INET;
  to.in4.sin_port = port;
  to.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return to;
}

typedef struct {
  mf_hoststack_t *hs;
  uint32_t si[2];
  int sink;
  uint16_t sink_port;
  mf_node_rt_t node;
  mf_buffer_t b[N_DGRAMS];
  char payload[N_DGRAMS][16];
} fixture_t;

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof(*f));
  f->hs = mf_hoststack_create(NULL, 8, 0);
  assert_non_null(f->hs);
  uint8_t app[16] = {10, 0, 0, 1};
  for (int i = 0; i < 2; i++) {
    f->si[i] = mf_hoststack_open(f->hs, MF_HS_UDP, 4, app, htons((uint16_t)(1000 + i)), 0);
    f->hs->sessions[f->si[i]].fd = udp_socket(NULL);
  }
  f->sink = udp_socket(&f->sink_port);
  f->node.error_base = ERROR_BASE;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  close(f->sink);
  mf_hoststack_destroy(f->hs); /* closes the sessions' sockets */
  free(f);
  return 0;
}

static void queue(fixture_t *f, uint32_t i, uint32_t session,
                  const mf_sockaddr_t *to, socklen_t to_len)
{
  int n = snprintf(f->payload[i], sizeof(f->payload[i]), "d%03u", i);
  int code = mf_hs_udp_queue(f->hs, &f->node, f->si[session], &f->b[i],
                             f->payload[i], (uint32_t)n, to, to_len);
  assert_int_equal(code, HS_DIRECT_ERROR_UDP_SENT);
  mf_graph_drop(&f->node, &f->b[i], (uint32_t)code);
}

static uint32_t drain(int fd, char seen[][16], uint32_t max)
{
  uint32_t n = 0;
  char buf[16];
  ssize_t r;
  while (n < max && (r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
    buf[r] = 0;
    memcpy(seen[n++], buf, (size_t)r + 1);
  }
  return n;
}

/* Runs of each session, longer than a batch: every datagram arrives, in
 * the order queued, and each session counts its own. */
static void test_runs_arrive_in_order(void **state)
{
  fixture_t *f = *state;
  mf_sockaddr_t to = loopback(f->sink_port);
  for (uint32_t i = 0; i < N_DGRAMS; i++)
    queue(f, i, (i / 40) % 2, &to, sizeof(to.in4));
  mf_hs_udp_flush(f->hs, &f->node);
  static char seen[N_DGRAMS][16];
  uint32_t got = drain(f->sink, seen, N_DGRAMS);
  assert_int_equal(got, N_DGRAMS);
  for (uint32_t i = 0; i < N_DGRAMS; i++) {
    assert_string_equal(seen[i], f->payload[i]);
    assert_int_equal(f->b[i].error, ERROR_BASE + HS_DIRECT_ERROR_UDP_SENT);
  }
  /* Runs of 40: session 0 has 0-39, 80-119; session 1 the rest. */
  assert_int_equal(f->hs->sessions[f->si[0]].tx_packets, 80);
  assert_int_equal(f->hs->sessions[f->si[1]].tx_packets, 70);
  assert_int_equal(f->hs->sessions[f->si[0]].tx_bytes, 80 * 4);
  /* Flushing an empty batch does nothing. */
  mf_hs_udp_flush(f->hs, &f->node);
}

/* A destination the kernel refuses (an IPv6 address on an IPv4 socket)
 * in the middle of a run: that one is a send-error, the rest leave. */
static void test_refused_one_is_counted(void **state)
{
  fixture_t *f = *state;
  mf_sockaddr_t to = loopback(f->sink_port);
  mf_sockaddr_t bad;
  memset(&bad, 0, sizeof(bad));
  bad.in6.sin6_family = AF_INET6;
  bad.in6.sin6_port = f->sink_port;
  bad.in6.sin6_addr.s6_addr[15] = 1;
  for (uint32_t i = 0; i < 10; i++) {
    if (i == 4)
      queue(f, i, 0, &bad, sizeof(bad.in6));
    else
      queue(f, i, 0, &to, sizeof(to.in4));
  }
  mf_hs_udp_flush(f->hs, &f->node);
  static char seen[10][16];
  assert_int_equal(drain(f->sink, seen, 10), 9);
  for (uint32_t i = 0; i < 10; i++)
    assert_int_equal(f->b[i].error,
                     ERROR_BASE + (i == 4 ? HS_DIRECT_ERROR_SEND_ERROR
                                          : HS_DIRECT_ERROR_UDP_SENT));
  assert_int_equal(f->hs->sessions[f->si[0]].tx_packets, 9);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_runs_arrive_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_one_is_counted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
