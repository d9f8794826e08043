/* The resolver part on a temporary directory standing in for /etc and the
 * run dir: resolv.conf rewritten in place and given back, a changed or
 * replaced file left to whoever changed it, the restore after a crash, the
 * record refused when malformed or writable by others, the symlink cases,
 * and systemd-resolved through a recording `resolvectl` on PATH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "routing/resolver.h"
#include "routing/resolver_internal.h"

#define ORIGINAL "search corp.example\nnameserver 192.0.2.53\noptions use-vc\n"

static char dir[64], file[128], prefix[128], rdir[128], bindir[128];
static char old_path[4096];

static void put_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* The whole file, or NULL when there is none. Caller frees. */
static char *get_file(const char *path)
{
  int fd = open(path, O_RDONLY);
  char *buf;
  size_t len;
  if (fd < 0)
    return NULL;
  assert_int_equal(mf_resolver_read_fd(fd, 1u << 20, &buf, &len), 0);
  close(fd);
  return buf;
}

static void assert_file(const char *path, const char *want)
{
  char *got = get_file(path);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static bool exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

static bool record_exists(void)
{
  char p[256];
  mf_resolver_saved_path(prefix, false, p, sizeof(p));
  return exists(p);
}

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/mf-resolver-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(file, sizeof(file), "%s/resolv.conf", dir);
  snprintf(prefix, sizeof(prefix), "%s/mf0", dir);
  snprintf(rdir, sizeof(rdir), "%s/resolve", dir);
  snprintf(bindir, sizeof(bindir), "%s/bin", dir);
  if (mkdir(bindir, 0700) < 0)
    return -1;
  const char *path = getenv("PATH");
  snprintf(old_path, sizeof(old_path), "%s", path ? path : "/usr/bin:/bin");
  /* Only our bin dir: no real resolvectl is ever found. */
  setenv("PATH", bindir, 1);
  unsetenv(MF_RESOLVER_RESOLVED_DIR_ENV);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[128];
  setenv("PATH", old_path, 1);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static mf_resolver_server_t server(const char *text, uint16_t port)
{
  mf_resolver_server_t s = {.port = port};
  s.family = strchr(text, ':') ? AF_INET6 : AF_INET;
  assert_int_equal(inet_pton(s.family, text, s.addr), 1);
  return s;
}

static mf_resolver_cfg_t stack_cfg(void)
{
  mf_resolver_cfg_t c = {.ifname = "mf0", .file = file, .saved_prefix = prefix,
                         .resolved_dir = rdir, .n_servers = 2};
  c.servers[0] = server("172.19.0.2", 53);
  c.servers[1] = server("fdfe:dcba:9876::2", 53);
  return c;
}

/* What a SIGKILL leaves: the files as they are, nothing restored. */
static void crash(mf_resolver_t *r)
{
  mf_resolver_record_free(r->record);
  free(r);
}

static void test_write_and_restore(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  struct stat before, during;
  assert_int_equal(stat(file, &before), 0);
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_non_null(r);
  assert_int_equal(r->mode, MF_RESOLVER_FILE_MODE);
  assert_string_equal(r->servers, "172.19.0.2, fdfe:dcba:9876::2");
  char *ours = get_file(file);
  /* The search list stays; other servers and options (use-vc would ask
   * for TCP) go. */
  assert_non_null(strstr(ours, "\nnameserver 172.19.0.2\n"
                               "nameserver fdfe:dcba:9876::2\n"
                               "search corp.example\n"));
  assert_null(strstr(ours, "192.0.2.53"));
  assert_null(strstr(ours, "use-vc"));
  assert_true(strncmp(ours, "# Written by mintflow", 21) == 0);
  assert_non_null(strstr(ours, r->saved));
  free(ours);
  /* In place: the same inode. */
  assert_int_equal(stat(file, &during), 0);
  assert_int_equal(during.st_ino, before.st_ino);
  assert_file(r->saved, ORIGINAL);
  char saved[MF_RESOLVER_PATH_MAX];
  memcpy(saved, r->saved, sizeof(saved));
  mf_resolver_down(r);
  assert_file(file, ORIGINAL);
  assert_false(record_exists());
  assert_false(exists(saved));
}

static void test_changed_meanwhile_is_left(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FILE_MODE);
  int fd = open(file, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "nameserver 10.9.9.9\n", 20), 20);
  close(fd);
  char *theirs = get_file(file);
  mf_resolver_down(r);
  assert_file(file, theirs);
  free(theirs);
  assert_false(record_exists());
}

static void test_replaced_file_is_left(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  /* Same bytes, another inode (a tool that renames over it). */
  char *ours = get_file(file), other[160];
  snprintf(other, sizeof(other), "%s/new", dir);
  put_file(other, ours);
  assert_int_equal(rename(other, file), 0);
  mf_resolver_down(r);
  assert_file(file, ours);
  free(ours);
  assert_false(record_exists());
}

static void test_stale_restore_after_crash(void **state)
{
  (void)state;
  char err[512];
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  crash(mf_resolver_up(&c));
  assert_true(record_exists());
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_file(file, ORIGINAL);
  assert_false(record_exists());
  /* Nothing left: a second cleanup has nothing to do. */
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_file(file, ORIGINAL);
}

static void test_stale_changed_is_left(void **state)
{
  (void)state;
  char err[512];
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  crash(mf_resolver_up(&c));
  put_file(file, "nameserver 10.9.9.9\n");
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_file(file, "nameserver 10.9.9.9\n");
  assert_false(record_exists());
}

static void test_stale_file_removed_is_left(void **state)
{
  (void)state;
  char err[512];
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  crash(mf_resolver_up(&c));
  unlink(file);
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_false(exists(file));
  assert_false(record_exists());
}

/* Rewrites the record's text with one edit; returns the record path. */
static void edit_record(const char *from, const char *to, char *path,
                        size_t size)
{
  mf_resolver_saved_path(prefix, false, path, size);
  char *text = get_file(path);
  char *at = strstr(text, from);
  assert_non_null(at);
  char out[8192];
  snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to,
           at + strlen(from));
  put_file(path, out);
  chmod(path, 0600);
  free(text);
}

static void test_bad_record_touches_nothing(void **state)
{
  (void)state;
  static const struct {
    const char *from, *to;
  } edits[] = {
      {"mintflow-resolver 1", "mintflow-resolver 2"},
      {"original=1", "original=7"},
      {"length=", "length=1"},
      {"file=/", "file="},
      {"dev=", "dev=+"},
      {"boot=", "boot=x"},
      {"netns=", "netns=-"},
  };
  for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
    char err[512], path[256];
    put_file(file, ORIGINAL);
    mf_resolver_cfg_t c = stack_cfg();
    crash(mf_resolver_up(&c));
    char *ours = get_file(file);
    edit_record(edits[i].from, edits[i].to, path, sizeof(path));
    assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not touching anything"));
    assert_file(file, ours);
    assert_true(record_exists());
    free(ours);
    mf_resolver_saved_remove(prefix);
  }
}

/* Under `ip netns exec`, /etc/resolv.conf is another file in each named
 * namespace: a record of another namespace of this boot is refused; one
 * from before a reboot is judged by the file alone. */
static void test_record_of_another_namespace(void **state)
{
  (void)state;
  char err[512], path[256], boot[40] = "", other[160];
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  crash(mf_resolver_up(&c));
  char *ours = get_file(file);
  edit_record("netns=", "netns=9", path, sizeof(path));
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "belongs to netns 9"));
  assert_file(file, ours);
  free(ours);
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  assert_non_null(f);
  assert_non_null(fgets(boot, sizeof(boot), f));
  fclose(f);
  boot[36] = 0;
  snprintf(other, sizeof(other), "boot=%s", boot);
  edit_record(other, "boot=00000000-0000-4000-8000-000000000000", path,
              sizeof(path));
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_file(file, ORIGINAL);
  assert_false(record_exists());
}

static void test_record_writable_by_others_refused(void **state)
{
  (void)state;
  char err[512], path[256];
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  crash(mf_resolver_up(&c));
  mf_resolver_saved_path(prefix, false, path, sizeof(path));
  chmod(path, 0666);
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "writable by others"));
  /* The original gone while its record names it: refused too. */
  chmod(path, 0600);
  mf_resolver_saved_path(prefix, true, path, sizeof(path));
  unlink(path);
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "is gone"));
  mf_resolver_saved_remove(prefix);
}

static void test_stray_original_is_removed(void **state)
{
  (void)state;
  char err[512], path[256];
  mf_resolver_saved_path(prefix, true, path, sizeof(path));
  put_file(path, ORIGINAL);
  assert_int_equal(mf_resolver_cleanup_stale(prefix, err, sizeof(err)), 0);
  assert_false(exists(path));
}

static void test_absent_file_created_then_removed(void **state)
{
  (void)state;
  unlink(file);
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FILE_MODE);
  assert_string_equal(r->saved, "");
  char *ours = get_file(file);
  assert_non_null(strstr(ours, "There was no such file before"));
  free(ours);
  mf_resolver_down(r);
  assert_false(exists(file));
  assert_false(record_exists());
}

static void test_symlink_to_regular_file(void **state)
{
  (void)state;
  char target[160];
  snprintf(target, sizeof(target), "%s/run-resolvconf", dir);
  put_file(target, ORIGINAL);
  unlink(file);
  assert_int_equal(symlink(target, file), 0);
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FILE_MODE);
  assert_string_equal(r->file, target);
  struct stat st;
  assert_int_equal(lstat(file, &st), 0);
  assert_true(S_ISLNK(st.st_mode)); /* the link stays a link */
  char *ours = get_file(target);
  assert_non_null(strstr(ours, "nameserver 172.19.0.2\n"));
  free(ours);
  mf_resolver_down(r);
  assert_file(target, ORIGINAL);
  unlink(file);
}

static void test_symlink_cases_left_alone(void **state)
{
  (void)state;
  char target[160], stub[192];
  struct {
    const char *what;
    const char *target;
  } cases[3];
  snprintf(target, sizeof(target), "%s/a-directory", dir);
  mkdir(target, 0700);
  mkdir(rdir, 0700);
  snprintf(stub, sizeof(stub), "%s/stub-resolv.conf", rdir);
  put_file(stub, "nameserver 127.0.0.53\n");
  cases[0].what = "not a regular file";
  cases[0].target = target;
  cases[1].what = "not a regular file";
  cases[1].target = "/nonexistent/resolv.conf";
  /* resolved's stub, with no resolvectl to talk to it. */
  cases[2].what = "resolvectl is not on PATH";
  cases[2].target = stub;
  for (size_t i = 0; i < 3; i++) {
    unlink(file);
    assert_int_equal(symlink(cases[i].target, file), 0);
    mf_resolver_cfg_t c = stack_cfg();
    mf_resolver_t *r = mf_resolver_up(&c);
    assert_int_equal(r->mode, MF_RESOLVER_FAILED);
    assert_non_null(strstr(r->why, cases[i].what));
    mf_resolver_down(r);
    assert_false(record_exists());
  }
  assert_file(stub, "nameserver 127.0.0.53\n");
  unlink(file);
  rmdir(target);
  unlink(stub);
  rmdir(rdir);
}

static void test_ports_and_limits(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  /* resolv.conf cannot name a port: such servers are left out... */
  mf_resolver_cfg_t c = stack_cfg();
  c.servers[0] = server("192.0.2.1", 5353);
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FILE_MODE);
  assert_string_equal(r->servers, "fdfe:dcba:9876::2");
  mf_resolver_down(r);
  assert_file(file, ORIGINAL);
  /* ... and with none left, nothing is written. */
  c.n_servers = 1;
  r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FAILED);
  assert_non_null(strstr(r->why, "port 53"));
  mf_resolver_down(r);
  assert_file(file, ORIGINAL);
  assert_false(record_exists());
  /* A file larger than resolv.conf ever is stays as it is. */
  char *big = malloc(MF_RESOLVER_FILE_MAX + 2);
  memset(big, '#', MF_RESOLVER_FILE_MAX + 1);
  big[MF_RESOLVER_FILE_MAX + 1] = 0;
  put_file(file, big);
  c = stack_cfg();
  r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FAILED);
  mf_resolver_down(r);
  assert_file(file, big);
  free(big);
  assert_false(record_exists());
}

static void test_off_and_nothing_to_hand_over(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  mf_resolver_cfg_t c = stack_cfg();
  c.off = true;
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_NONE);
  mf_resolver_down(r);
  c = stack_cfg();
  c.n_servers = 0;
  r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_NONE);
  mf_resolver_down(r);
  assert_file(file, ORIGINAL);
  assert_false(record_exists());
}

/* A resolvectl that appends its arguments to dir/calls. */
static void fake_resolvectl(const char *body)
{
  char path[160], text[512];
  snprintf(path, sizeof(path), "%s/resolvectl", bindir);
  snprintf(text, sizeof(text), "#!/bin/sh\necho \"$*\" >>%s/calls\n%s\n", dir,
           body);
  put_file(path, text);
  chmod(path, 0755);
  snprintf(path, sizeof(path), "%s/calls", dir);
  unlink(path);
}

static char *calls(void)
{
  char path[160];
  snprintf(path, sizeof(path), "%s/calls", dir);
  return get_file(path);
}

static void test_resolved_calls(void **state)
{
  (void)state;
  put_file(file, ORIGINAL);
  mkdir(rdir, 0700);
  fake_resolvectl("exit 0");
  assert_true(mf_resolver_on_path("resolvectl"));
  mf_resolver_cfg_t c = stack_cfg();
  c.servers[1] = server("2001:db8::53", 5353);
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_RESOLVED);
  char *got = calls();
  assert_string_equal(got, "dns mf0 172.19.0.2 [2001:db8::53]:5353\n"
                           "domain mf0 ~.\n"
                           "default-route mf0 yes\n");
  free(got);
  mf_resolver_down(r);
  got = calls();
  assert_non_null(strstr(got, "yes\nrevert mf0\n"));
  free(got);
  assert_file(file, ORIGINAL);
  /* Its run dir elsewhere, but resolv.conf links to its stub: resolved. */
  rmdir(rdir);
  char stub_dir[160], stub[192];
  snprintf(stub_dir, sizeof(stub_dir), "%s/other-resolve", dir);
  mkdir(stub_dir, 0700);
  snprintf(stub, sizeof(stub), "%s/stub-resolv.conf", stub_dir);
  put_file(stub, "nameserver 127.0.0.53\n");
  unlink(file);
  assert_int_equal(symlink(stub, file), 0);
  c = stack_cfg();
  c.resolved_dir = stub_dir;
  fake_resolvectl("exit 0");
  r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_RESOLVED);
  mf_resolver_down(r);
  assert_file(stub, "nameserver 127.0.0.53\n");
  unlink(file);
  unlink(stub);
  rmdir(stub_dir);
}

static void test_resolved_failure_reverts(void **state)
{
  (void)state;
  mkdir(rdir, 0700);
  fake_resolvectl("[ \"$1\" = default-route ] && exit 3; exit 0");
  mf_resolver_cfg_t c = stack_cfg();
  mf_resolver_t *r = mf_resolver_up(&c);
  assert_int_equal(r->mode, MF_RESOLVER_FAILED);
  assert_non_null(strstr(r->why, "exit status 3"));
  char *got = calls();
  assert_non_null(strstr(got, "default-route mf0 yes\nrevert mf0\n"));
  free(got);
  mf_resolver_down(r);
  got = calls();
  assert_int_equal(strlen(strstr(got, "revert mf0\n")), strlen("revert mf0\n"));
  free(got);
  rmdir(rdir);
}

static void test_exec_is_bounded(void **state)
{
  (void)state;
  char err[256];
  fake_resolvectl("/bin/sleep 5");
  char *argv[] = {"resolvectl", "status", NULL};
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(mf_resolver_exec(argv, 200, err, sizeof(err)), -1);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_true(b.tv_sec - a.tv_sec < 3);
  assert_non_null(strstr(err, "killed"));
  char *missing[] = {"no-such-tool-here", NULL};
  assert_int_equal(mf_resolver_exec(missing, 200, err, sizeof(err)), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_write_and_restore, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_meanwhile_is_left, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_replaced_file_is_left, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stale_restore_after_crash, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stale_changed_is_left, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stale_file_removed_is_left, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_record_touches_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_record_of_another_namespace, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_record_writable_by_others_refused,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_stray_original_is_removed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_absent_file_created_then_removed,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_to_regular_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_symlink_cases_left_alone, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ports_and_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_off_and_nothing_to_hand_over, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_resolved_calls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolved_failure_reverts, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_exec_is_bounded, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
