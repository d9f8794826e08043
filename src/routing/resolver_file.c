/* resolv.conf (resolv.conf(5)) rewritten in place and put back.
 *
 * In place: the same inode is truncated and written, never a new file
 * renamed over it, because /etc/resolv.conf is often a bind mount (`ip
 * netns exec` mounts /etc/netns/NS/resolv.conf there; containers mount
 * theirs) and rename(2) onto a mount point fails with EBUSY. glibc notices
 * the new contents by itself (it checks the file's mtime before queries).
 *
 * The original is saved before the file is touched, and written back only
 * when the file is still the inode we wrote and holds exactly our bytes:
 * anything else means someone (a DHCP client, NetworkManager, a person)
 * changed it after us, and their version is newer than our original. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routing/resolver_internal.h"

void mf_resolver_server_format(const mf_resolver_server_t *s, bool with_port,
                               char *out, size_t size)
{
  char addr[INET6_ADDRSTRLEN];
  bool v6 = s->family == AF_INET6;
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, s->addr, addr, sizeof(addr)))
    snprintf(addr, sizeof(addr), "?");
  if (!with_port || s->port == 53)
    snprintf(out, size, "%s", addr);
  else
    snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", addr, s->port);
}

typedef struct {
  char *p;
  size_t left;
  bool full;
} text_t;

static void put(text_t *t, const char *s, size_t len)
{
  if (t->full || len >= t->left) {
    t->full = true;
    return;
  }
  memcpy(t->p, s, len);
  t->p += len;
  t->left -= len;
  *t->p = 0;
}

static void puts_(text_t *t, const char *s)
{
  put(t, s, strlen(s));
}

/* True for a line whose keyword is `search` or `domain`: the machine's
 * search list still applies to short names whoever answers them. Its
 * nameserver and options lines were for other servers (a timeout or
 * attempts tuned for a slow remote server, say), not for ours. */
static bool keeps_line(const char *s, size_t len)
{
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  static const char *const kw[] = {"search", "domain"};
  for (size_t k = 0; k < 2; k++) {
    size_t kl = strlen(kw[k]);
    if (len - i > kl && memcmp(s + i, kw[k], kl) == 0 &&
        (s[i + kl] == ' ' || s[i + kl] == '\t'))
      return true;
  }
  return false;
}

static void put_kept_lines(text_t *t, const char *orig, size_t len)
{
  const char *end = orig + len;
  for (const char *p = orig; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (keeps_line(p, ll) && !memchr(p, 0, ll)) {
      put(t, p, ll);
      puts_(t, "\n");
    }
    p += ll + 1;
  }
}

int mf_resolver_file_compose(const mf_resolver_server_t *servers, uint32_t n,
                             const char *original, size_t original_len,
                             const char *ifname, const char *saved_orig,
                             char *out, size_t size, uint32_t *n_written)
{
  char line[MF_RESOLVER_PATH_MAX + 160];
  text_t t = {out, size, size == 0};
  *n_written = 0;
  if (size > 0)
    out[0] = 0;
  snprintf(line, sizeof(line),
           "# Written by mintflow for TUN %s: names are resolved by the\n"
           "# servers below. Put back when the daemon stops (after a crash:\n"
           "# at its next start) unless this file is changed meanwhile.\n",
           ifname);
  puts_(&t, line);
  if (original)
    snprintf(line, sizeof(line), "# The original, to copy back by hand: %s\n",
             saved_orig);
  else
    snprintf(line, sizeof(line),
             "# There was no such file before; it is removed then.\n");
  puts_(&t, line);
  for (uint32_t i = 0; i < n; i++) {
    char addr[64];
    if (servers[i].port != 53)
      continue;
    mf_resolver_server_format(&servers[i], false, addr, sizeof(addr));
    snprintf(line, sizeof(line), "nameserver %s\n", addr);
    puts_(&t, line);
    (*n_written)++;
  }
  if (original)
    put_kept_lines(&t, original, original_len);
  return t.full ? -1 : (int)(size - t.left);
}

/* Replaces the whole contents of fd's file with buf, flushed to disk. */
static int rewrite(int fd, const char *buf, size_t len)
{
  if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
      mf_resolver_write_fd(fd, buf, len) < 0)
    return -1;
  return fsync(fd);
}

/* Opens the file to point, creating it when there is none. */
static int open_target(const char *file, bool *created, char *err,
                       size_t errlen)
{
  struct stat st;
  *created = false;
  int fd = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    *created = fd >= 0;
  }
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(err, errlen, "%s: %s", file, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s is not a regular file; left alone", file);
    close(fd);
    return -1;
  }
  return fd;
}

static mf_resolver_record_t *new_record(const char *file, int fd,
                                        bool created, char *err,
                                        size_t errlen)
{
  struct stat st;
  mf_resolver_record_t *rec = calloc(1, sizeof(*rec));
  if (!rec || strlen(file) >= sizeof(rec->file) || fstat(fd, &st) < 0) {
    snprintf(err, errlen, "%s: %s", file,
             rec ? "path too long or unreadable" : "out of memory");
    free(rec);
    return NULL;
  }
  char why[256];
  if (mf_origin_self(&rec->origin, why, sizeof(why)) < 0) {
    snprintf(err, errlen, "%s", why);
    free(rec);
    return NULL;
  }
  strcpy(rec->file, file);
  rec->dev = (uint64_t)st.st_dev;
  rec->ino = (uint64_t)st.st_ino;
  rec->had_original = !created;
  if (created)
    return rec;
  if (mf_resolver_read_fd(fd, MF_RESOLVER_FILE_MAX, &rec->original,
                          &rec->original_len) < 0) {
    snprintf(err, errlen, "%s: %s; left alone", file,
             errno == EFBIG ? "larger than we ever write over"
                            : strerror(errno));
    free(rec);
    return NULL;
  }
  return rec;
}

static int compose_ours(mf_resolver_record_t *rec, const char *prefix,
                        const char *ifname,
                        const mf_resolver_server_t *servers, uint32_t n,
                        char *err, size_t errlen)
{
  char orig_path[MF_RESOLVER_PATH_MAX];
  uint32_t written;
  size_t size = 1024 + MF_RESOLVER_PATH_MAX + rec->original_len;
  rec->ours = malloc(size);
  if (!rec->ours ||
      mf_resolver_saved_path(prefix, true, orig_path, sizeof(orig_path)) < 0) {
    snprintf(err, errlen, "out of memory or run dir path too long");
    return -1;
  }
  int len = mf_resolver_file_compose(
      servers, n, rec->had_original ? rec->original : NULL,
      rec->original_len, ifname, orig_path, rec->ours, size, &written);
  if (len < 0) {
    snprintf(err, errlen, "resolv.conf text too long");
    return -1;
  }
  if (written == 0) {
    snprintf(err, errlen,
             "no server on port 53, the only port resolv.conf can name");
    return -1;
  }
  rec->ours_len = (size_t)len;
  return 0;
}

int mf_resolver_file_point(const char *file, const char *prefix,
                           const char *ifname,
                           const mf_resolver_server_t *servers, uint32_t n,
                           mf_resolver_record_t **out, char *err,
                           size_t errlen)
{
  bool created;
  *out = NULL;
  int fd = open_target(file, &created, err, errlen);
  if (fd < 0)
    return -1;
  mf_resolver_record_t *rec = new_record(file, fd, created, err, errlen);
  if (!rec || compose_ours(rec, prefix, ifname, servers, n, err, errlen) < 0 ||
      mf_resolver_saved_write(prefix, rec, err, errlen) < 0)
    goto fail;
  if (rewrite(fd, rec->ours, rec->ours_len) < 0) {
    snprintf(err, errlen, "writing %s: %s", file, strerror(errno));
    /* Half written is worse than the original: put it back. */
    if (!created)
      (void)rewrite(fd, rec->original, rec->original_len);
    mf_resolver_saved_remove(prefix);
    goto fail;
  }
  close(fd);
  *out = rec;
  return 0;
fail:
  if (created)
    unlink(file);
  close(fd);
  mf_resolver_record_free(rec);
  return -1;
}

static const char CANNOT_READ[] = "it cannot be read";

/* Says why the file is no longer what we wrote, or NULL when it is. */
static const char *changed_since(const mf_resolver_record_t *rec, int fd)
{
  struct stat st;
  char *now = NULL;
  size_t len = 0;
  if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != rec->dev ||
      (uint64_t)st.st_ino != rec->ino)
    return "it was replaced by another file";
  if (mf_resolver_read_fd(fd, MF_RESOLVER_FILE_MAX, &now, &len) < 0)
    return errno == EFBIG ? "it was changed" : CANNOT_READ;
  bool same = len == rec->ours_len && memcmp(now, rec->ours, len) == 0;
  free(now);
  return same ? NULL : "it was changed";
}

int mf_resolver_file_restore(const mf_resolver_record_t *rec, char *why,
                             size_t whylen)
{
  int fd = open(rec->file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    bool gone = errno == ENOENT || errno == ELOOP;
    snprintf(why, whylen, "%s", errno == ENOENT ? "it was removed"
                                : errno == ELOOP ? "it was replaced by a symlink"
                                                 : strerror(errno));
    return gone ? MF_RESOLVER_LEFT : -1;
  }
  const char *changed = changed_since(rec, fd);
  if (changed) {
    snprintf(why, whylen, "%s%s", changed,
             changed == CANNOT_READ ? "" : " since we wrote it");
    close(fd);
    return changed == CANNOT_READ ? -1 : MF_RESOLVER_LEFT;
  }
  int rc = rec->had_original
               ? rewrite(fd, rec->original, rec->original_len)
               : unlink(rec->file);
  int saved = errno;
  close(fd);
  if (rc < 0) {
    snprintf(why, whylen, "%s", strerror(saved));
    return -1;
  }
  return MF_RESOLVER_RESTORED;
}
