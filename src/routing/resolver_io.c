/* Whole-file reads and writes for the resolver part, every loop bounded:
 * files are small (resolv.conf, our record), so anything larger is a
 * reason to stop, not to keep reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "routing/resolver_internal.h"

/* Bounds a write or read that the kernel keeps cutting short. */
#define IO_TRIES 64

int mf_resolver_read_fd(int fd, size_t max, char **buf, size_t *len)
{
  char *b = malloc(max + 2);
  size_t have = 0;
  if (!b)
    return -1;
  if (lseek(fd, 0, SEEK_SET) < 0) {
    free(b);
    return -1;
  }
  /* One byte more than allowed tells a file that is too large. */
  for (int i = 0; i < IO_TRIES && have <= max; i++) {
    ssize_t n = read(fd, b + have, max + 1 - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      free(b);
      errno = saved;
      return -1;
    }
    if (n == 0) {
      b[have] = 0;
      *buf = b;
      *len = have;
      return 0;
    }
    have += (size_t)n;
  }
  free(b);
  errno = have > max ? EFBIG : EIO;
  return -1;
}

int mf_resolver_write_fd(int fd, const char *buf, size_t len)
{
  for (int i = 0; len > 0 && i < IO_TRIES; i++) {
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

void mf_resolver_sync_dir(const char *path)
{
  char dir[MF_RESOLVER_PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof(dir))
    return;
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash)
    strcpy(dir, ".");
  else if (slash == dir)
    dir[1] = 0;
  else
    *slash = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}
