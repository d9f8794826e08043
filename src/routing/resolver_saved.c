/* The resolver's record on disk, so that a start after a crash can put
 * the machine's resolv.conf back. Two files next to the netconf state file:
 *
 *   PREFIX.resolv       mintflow-resolver 1
 *                       boot=45e13e04-c825-4324-91cb-1212ebee5b0f netns=4:4026531840
 *                       dev=2049 ino=1835 original=1 length=187
 *                       file=/etc/resolv.conf
 *                       <the 187 bytes we wrote>
 *   PREFIX.resolv.orig  the original bytes, verbatim (cp restores them)
 *
 * Whoever can write the record can make the daemon overwrite a file, so
 * both must be regular files of ours that nobody else may write, as the
 * netconf state file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routing/resolver_internal.h"

#define MAGIC "mintflow-resolver 1"
#define LINE2_MAX 128
#define RECORD_MAX (sizeof(MAGIC) + LINE2_MAX + 6 + MF_RESOLVER_PATH_MAX + \
                    MF_RESOLVER_FILE_MAX)

void mf_resolver_record_free(mf_resolver_record_t *rec)
{
  if (!rec)
    return;
  free(rec->original);
  free(rec->ours);
  free(rec);
}

int mf_resolver_saved_path(const char *prefix, bool orig, char *out,
                           size_t size)
{
  int n = snprintf(out, size, "%s.resolv%s", prefix, orig ? ".orig" : "");
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int format_origin(const mf_origin_t *o, char *out, size_t size)
{
  int n = snprintf(out, size, "boot=%s netns=%" PRIu64 ":%" PRIu64, o->boot,
                   o->ns_dev, o->ns_ino);
  return n < 0 || (size_t)n >= size ? -1 : n;
}

static int format_line2(const mf_resolver_record_t *rec, char *out,
                        size_t size)
{
  int n = snprintf(out, size, "dev=%" PRIu64 " ino=%" PRIu64
                   " original=%d length=%zu",
                   rec->dev, rec->ino, rec->had_original ? 1 : 0,
                   rec->ours_len);
  return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Creates path (mode 0600, replacing a file of that name only when
 * `replace`) with buf, flushed to disk. */
static int write_new(const char *path, bool replace, const char *head,
                     size_t head_len, const char *buf, size_t len,
                     char *err, size_t errlen)
{
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
              (replace ? O_TRUNC : O_EXCL);
  int fd = open(path, flags, 0600);
  if (fd < 0 || mf_resolver_write_fd(fd, head, head_len) < 0 ||
      mf_resolver_write_fd(fd, buf, len) < 0 || fsync(fd) < 0) {
    snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(path);
    }
    return -1;
  }
  close(fd);
  return 0;
}

int mf_resolver_saved_write(const char *prefix, const mf_resolver_record_t *rec,
                            char *err, size_t errlen)
{
  char rpath[MF_RESOLVER_PATH_MAX], opath[MF_RESOLVER_PATH_MAX];
  char head[sizeof(MAGIC) + 2 * LINE2_MAX + 8 + MF_RESOLVER_PATH_MAX];
  char origin[LINE2_MAX], line2[LINE2_MAX];
  if (mf_resolver_saved_path(prefix, false, rpath, sizeof(rpath)) < 0 ||
      mf_resolver_saved_path(prefix, true, opath, sizeof(opath)) < 0 ||
      format_origin(&rec->origin, origin, sizeof(origin)) < 0 ||
      format_line2(rec, line2, sizeof(line2)) < 0 ||
      strchr(rec->file, '\n')) {
    snprintf(err, errlen, "resolver record path or file name unusable");
    return -1;
  }
  int hn = snprintf(head, sizeof(head), MAGIC "\n%s\n%s\nfile=%s\n", origin,
                    line2, rec->file);
  if (hn < 0 || (size_t)hn >= sizeof(head)) {
    snprintf(err, errlen, "resolver record too long");
    return -1;
  }
  if (rec->had_original &&
      write_new(opath, true, "", 0, rec->original, rec->original_len, err,
                errlen) < 0)
    return -1;
  if (write_new(rpath, false, head, (size_t)hn, rec->ours, rec->ours_len, err,
                errlen) < 0) {
    unlink(opath);
    return -1;
  }
  mf_resolver_sync_dir(rpath);
  return 0;
}

/* Opens one of our files for reading. Returns the fd, -2 when absent, or
 * -1 with err. */
static int open_ours(const char *path, char *err, size_t errlen)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return -2;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(err, errlen, "opening %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  const char *why = !S_ISREG(st.st_mode)      ? "not a regular file"
                    : st.st_uid != geteuid()  ? "owned by another user"
                    : (st.st_mode & 022) != 0 ? "writable by others"
                                              : NULL;
  if (why) {
    snprintf(err, errlen, "%s: %s; not touching anything", path, why);
    close(fd);
    return -1;
  }
  return fd;
}

static int read_ours(const char *path, size_t max, char **buf, size_t *len,
                     char *err, size_t errlen)
{
  int fd = open_ours(path, err, errlen);
  if (fd < 0)
    return fd;
  int rc = mf_resolver_read_fd(fd, max, buf, len);
  if (rc < 0)
    snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
  close(fd);
  return rc;
}

/* Takes the next '\n'-terminated line off *p; NULL when there is none. */
static char *next_line(char **p, char *end)
{
  char *nl = memchr(*p, '\n', (size_t)(end - *p));
  if (!nl)
    return NULL;
  char *line = *p;
  *nl = 0;
  *p = nl + 1;
  return line;
}

/* Accepts exactly what mf_resolver_saved_write writes. */
static const char *parse_record(char *buf, size_t len,
                                mf_resolver_record_t *rec)
{
  char *p = buf, *end = buf + len;
  char *magic = next_line(&p, end), *origin = next_line(&p, end);
  char *line2 = next_line(&p, end), *file = next_line(&p, end);
  char again[LINE2_MAX];
  mf_origin_t *o = &rec->origin;
  if (!magic || strcmp(magic, MAGIC) != 0)
    return "not a " MAGIC " record";
  if (!origin ||
      sscanf(origin, "boot=%36s netns=%" SCNu64 ":%" SCNu64, o->boot,
             &o->ns_dev, &o->ns_ino) != 3 ||
      !mf_origin_boot_valid(o->boot) ||
      format_origin(o, again, sizeof(again)) < 0 || strcmp(again, origin))
    return "line 2 malformed";
  int orig = -1;
  if (!line2 || sscanf(line2, "dev=%" SCNu64 " ino=%" SCNu64
                       " original=%d length=%zu",
                       &rec->dev, &rec->ino, &orig, &rec->ours_len) != 4 ||
      (orig != 0 && orig != 1))
    return "line 3 malformed";
  rec->had_original = orig == 1;
  if (format_line2(rec, again, sizeof(again)) < 0 || strcmp(again, line2))
    return "line 3 malformed";
  if (!file || strncmp(file, "file=/", 6) != 0 ||
      strlen(file + 5) >= sizeof(rec->file))
    return "line 4 is not file=/PATH";
  strcpy(rec->file, file + 5);
  if ((size_t)(end - p) != rec->ours_len || rec->ours_len > MF_RESOLVER_FILE_MAX)
    return "length does not match the bytes that follow";
  rec->ours = malloc(rec->ours_len + 1);
  if (!rec->ours)
    return "out of memory";
  memcpy(rec->ours, p, rec->ours_len);
  rec->ours[rec->ours_len] = 0;
  return NULL;
}

int mf_resolver_saved_load(const char *prefix, mf_resolver_record_t **out,
                           char *err, size_t errlen)
{
  char rpath[MF_RESOLVER_PATH_MAX], opath[MF_RESOLVER_PATH_MAX];
  char *buf = NULL;
  size_t len;
  *out = NULL;
  if (mf_resolver_saved_path(prefix, false, rpath, sizeof(rpath)) < 0 ||
      mf_resolver_saved_path(prefix, true, opath, sizeof(opath)) < 0) {
    snprintf(err, errlen, "resolver record path too long");
    return -1;
  }
  int rc = read_ours(rpath, RECORD_MAX, &buf, &len, err, errlen);
  if (rc == -2) {
    /* A crash after the .orig and before the record: nothing was
     * written to resolv.conf yet. */
    unlink(opath);
    return 0;
  }
  if (rc < 0)
    return -1;
  mf_resolver_record_t *rec = calloc(1, sizeof(*rec));
  const char *why = rec ? parse_record(buf, len, rec) : "out of memory";
  free(buf);
  if (why) {
    snprintf(err, errlen, "%s: %s; not touching anything", rpath, why);
    mf_resolver_record_free(rec);
    return -1;
  }
  if (rec->had_original) {
    rc = read_ours(opath, MF_RESOLVER_FILE_MAX, &rec->original,
                   &rec->original_len, err, errlen);
    if (rc == -2)
      snprintf(err, errlen, "%s names an original, but %s is gone; "
               "not touching anything", rpath, opath);
    if (rc < 0) {
      mf_resolver_record_free(rec);
      return -1;
    }
  }
  *out = rec;
  return 1;
}

void mf_resolver_saved_remove(const char *prefix)
{
  char path[MF_RESOLVER_PATH_MAX];
  if (mf_resolver_saved_path(prefix, false, path, sizeof(path)) == 0)
    unlink(path);
  if (mf_resolver_saved_path(prefix, true, path, sizeof(path)) == 0)
    unlink(path);
  mf_resolver_sync_dir(path);
}
