#include "routing/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "mintflow-netconf"
#define VERSION 1
#define HEADER_MAX 128
#define FILE_MAX (HEADER_MAX + MF_NETOBJ_MAX * MF_NETOBJ_LINE_MAX)
#define PATH_LEN_MAX 4096
/* Bounds a write that the kernel keeps cutting short. */
#define WRITE_TRIES 16

static int format_header(const mf_origin_t *o, char *out, size_t size)
{
  int n = snprintf(out, size, "%s %d boot=%s netns=%" PRIu64 ":%" PRIu64,
                   MAGIC, VERSION, o->boot, o->ns_dev, o->ns_ino);
  return n < 0 || (size_t)n >= size ? -1 : n;
}

static int parse_u64(const char *s, const char *stop, uint64_t *out)
{
  if (s >= stop || *s < '0' || *s > '9')
    return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end != stop)
    return -1;
  *out = v;
  return 0;
}

/* Accepts exactly what format_header writes. */
static int parse_header(const char *line, mf_origin_t *o)
{
  static const char lead[] = MAGIC " 1 boot=";
  static const char mid[] = " netns=";
  size_t len = strlen(line);
  memset(o, 0, sizeof(*o));
  if (strncmp(line, lead, sizeof(lead) - 1) != 0)
    return -1;
  const char *p = line + sizeof(lead) - 1;
  if ((size_t)(p - line) + MF_ORIGIN_BOOT_LEN + sizeof(mid) - 1 > len)
    return -1;
  memcpy(o->boot, p, MF_ORIGIN_BOOT_LEN);
  o->boot[MF_ORIGIN_BOOT_LEN] = 0;
  p += MF_ORIGIN_BOOT_LEN;
  if (!mf_origin_boot_valid(o->boot) ||
      strncmp(p, mid, sizeof(mid) - 1) != 0)
    return -1;
  p += sizeof(mid) - 1;
  const char *colon = strchr(p, ':');
  if (!colon || parse_u64(p, colon, &o->ns_dev) < 0 ||
      parse_u64(colon + 1, line + len, &o->ns_ino) < 0)
    return -1;
  char again[HEADER_MAX];
  return format_header(o, again, sizeof(again)) >= 0 &&
                 strcmp(again, line) == 0
             ? 0
             : -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
  for (int i = 0; len > 0 && i < WRITE_TRIES; i++) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno != EINTR)
      return -1;
    if (n > 0) {
      buf += n;
      len -= (size_t)n;
    }
  }
  if (len > 0)
    errno = EIO;
  return len > 0 ? -1 : 0;
}

/* Creates each missing directory of path's parent, mode 0700: the file
 * says what the daemon may delete, so only its owner may write there. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
  char dir[PATH_LEN_MAX];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof(dir)) {
    snprintf(err, errlen, "state file path is empty or too long");
    return -1;
  }
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return 0;
  *slash = 0;
  for (char *p = dir + 1;; p++) {
    bool end = *p == 0;
    if (*p != '/' && !end)
      continue;
    *p = 0;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
      snprintf(err, errlen, "creating directory %s: %s", dir,
               strerror(errno));
      return -1;
    }
    if (end)
      return 0;
    *p = '/';
  }
}

/* Makes the new file's name durable along with its contents. */
static void sync_parent_dir(const char *path)
{
  char dir[PATH_LEN_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = 0;
  else if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof(dir), ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int mf_statefile_create(const char *path, const mf_origin_t *self, char *err,
                        size_t errlen)
{
  char line[HEADER_MAX + 1];
  int n = format_header(self, line, sizeof(line) - 1);
  if (n < 0) {
    snprintf(err, errlen, "state file header too long");
    return -1;
  }
  line[n++] = '\n';
  if (make_parent_dirs(path, err, errlen) < 0)
    return -1;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
  if (fd < 0 && errno == EEXIST) {
    snprintf(err, errlen,
             "state file %s exists: an earlier run did not clean up; "
             "mf_netconf_cleanup_stale undoes what it records",
             path);
    return -1;
  }
  if (fd < 0 || write_all(fd, line, (size_t)n) < 0 || fsync(fd) < 0) {
    snprintf(err, errlen, "writing state file %s: %s", path,
             strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(path);
    }
    return -1;
  }
  sync_parent_dir(path);
  return fd;
}

int mf_statefile_record(int fd, const char *path, const mf_netobj_t *o,
                        off_t *undo_at, char *err, size_t errlen)
{
  char line[MF_NETOBJ_LINE_MAX];
  int n = mf_netobj_format_line(o, line, sizeof(line) - 1);
  if (n < 0) {
    snprintf(err, errlen, "state file line too long");
    return -1;
  }
  line[n++] = '\n';
  off_t at = lseek(fd, 0, SEEK_END);
  if (at < 0 || write_all(fd, line, (size_t)n) < 0 || fsync(fd) < 0) {
    snprintf(err, errlen, "writing state file %s: %s", path,
             strerror(errno));
    if (at >= 0 && ftruncate(fd, at) == 0)
      (void)fsync(fd);
    return -1;
  }
  *undo_at = at;
  return 0;
}

int mf_statefile_unrecord(int fd, const char *path, off_t undo_at, char *err,
                          size_t errlen)
{
  if (ftruncate(fd, undo_at) < 0 || fsync(fd) < 0) {
    snprintf(err, errlen, "truncating state file %s: %s", path,
             strerror(errno));
    return -1;
  }
  return 0;
}

/* Reads the whole file into buf (NUL-terminated). Returns its length, -2
 * when there is no file, or -1 with err. */
static ssize_t read_file(const char *path, char *buf, size_t size, char *err,
                         size_t errlen)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return -2;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(err, errlen, "opening state file %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  /* Whoever can write the file can make the daemon delete routes. */
  const char *why = !S_ISREG(st.st_mode)         ? "not a regular file"
                    : st.st_uid != geteuid()     ? "owned by another user"
                    : (st.st_mode & 022) != 0    ? "writable by others"
                    : st.st_size >= (off_t)size  ? "too large"
                                                 : NULL;
  ssize_t n = why ? -1 : read(fd, buf, size - 1);
  int saved = errno;
  close(fd);
  if (why) {
    snprintf(err, errlen, "state file %s: %s; not touching anything", path,
             why);
    return -1;
  }
  if (n < 0 || n != st.st_size) {
    snprintf(err, errlen, "reading state file %s: %s", path,
             n < 0 ? strerror(saved) : "short read");
    return -1;
  }
  buf[n] = 0;
  return n;
}

/* Cuts buf into NUL-terminated lines; every line, the last included, must
 * end in a newline. Returns the number of lines, or -1 with *why. */
static int split_lines(char *buf, size_t len, char **lines, int max,
                       const char **why)
{
  int n = 0;
  *why = len == 0                  ? "empty"
         : strlen(buf) != len      ? "holds a NUL byte"
         : buf[len - 1] != '\n'    ? "last line unterminated"
                                   : NULL;
  if (*why)
    return -1;
  for (char *p = buf; p < buf + len; n++) {
    if (n == max) {
      *why = "more lines than objects we ever make";
      return -1;
    }
    char *nl = strchr(p, '\n');
    *nl = 0;
    lines[n] = p;
    p = nl + 1;
  }
  return n;
}

static int parse_objects(const char *path, char **lines, int n,
                         mf_netobj_t *objs, char *err, size_t errlen)
{
  for (int i = 1; i < n; i++) {
    const char *why = "";
    if (mf_netobj_parse_line(lines[i], &objs[i - 1], &why) < 0) {
      snprintf(err, errlen,
               "state file %s:%d: %s; not touching anything", path, i + 1,
               why);
      return -1;
    }
  }
  return 0;
}

int mf_statefile_load(const char *path, const mf_origin_t *self,
                      mf_netobj_t objs[MF_NETOBJ_MAX], size_t *n, char *err,
                      size_t errlen)
{
  char buf[FILE_MAX + 1];
  char *lines[MF_NETOBJ_MAX + 1];
  mf_origin_t from;
  *n = 0;
  ssize_t len = read_file(path, buf, sizeof(buf), err, errlen);
  if (len == -2)
    return MF_STATEFILE_ABSENT;
  if (len < 0)
    return -1;
  const char *why;
  int nlines = split_lines(buf, (size_t)len, lines, MF_NETOBJ_MAX + 1, &why);
  if (nlines < 0) {
    snprintf(err, errlen, "state file %s: %s; not touching anything", path,
             why);
    return -1;
  }
  if (parse_header(lines[0], &from) < 0) {
    snprintf(err, errlen,
             "state file %s:1: not a mintflow-netconf 1 header; not touching "
             "anything",
             path);
    return -1;
  }
  if (parse_objects(path, lines, nlines, objs, err, errlen) < 0)
    return -1;
  if (!mf_origin_same_boot(&from, self))
    return MF_STATEFILE_PAST_BOOT;
  if (!mf_origin_same_netns(&from, self)) {
    char theirs[160], ours[160];
    mf_origin_describe_netns(&from, theirs, sizeof(theirs));
    mf_origin_describe_netns(self, ours, sizeof(ours));
    snprintf(err, errlen,
             "state file %s belongs to %s, but this process is in %s; "
             "not touching anything (run the cleanup in that namespace)",
             path, theirs, ours);
    return -1;
  }
  *n = (size_t)(nlines - 1);
  return MF_STATEFILE_LOADED;
}

int mf_statefile_remove(const char *path, char *err, size_t errlen)
{
  if (unlink(path) < 0 && errno != ENOENT) {
    snprintf(err, errlen, "removing state file %s: %s", path,
             strerror(errno));
    return -1;
  }
  return 0;
}
