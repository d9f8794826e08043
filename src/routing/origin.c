#include "routing/origin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define NETNS_PATH "/proc/self/ns/net"
/* Where `ip netns add` bind-mounts the namespaces it names. */
#define NETNS_NAMES_DIR "/run/netns"
#define NETNS_NAMES_MAX 1024

bool mf_origin_boot_valid(const char *boot)
{
  for (int i = 0; i < MF_ORIGIN_BOOT_LEN; i++) {
    char c = boot[i];
    bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (dash_place ? c != '-' : !hex)
      return false;
  }
  return boot[MF_ORIGIN_BOOT_LEN] == 0;
}

static int read_boot_id(char *out, char *err, size_t errlen)
{
  char buf[MF_ORIGIN_BOOT_LEN + 2];
  int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
  int saved = errno;
  if (fd >= 0)
    close(fd);
  if (n < 0) {
    snprintf(err, errlen, "reading %s: %s", BOOT_ID_PATH, strerror(saved));
    return -1;
  }
  if (n != MF_ORIGIN_BOOT_LEN + 1 || buf[MF_ORIGIN_BOOT_LEN] != '\n') {
    snprintf(err, errlen, "%s does not hold a boot id", BOOT_ID_PATH);
    return -1;
  }
  buf[MF_ORIGIN_BOOT_LEN] = 0;
  if (!mf_origin_boot_valid(buf)) {
    snprintf(err, errlen, "%s does not hold a boot id", BOOT_ID_PATH);
    return -1;
  }
  memcpy(out, buf, MF_ORIGIN_BOOT_LEN + 1);
  return 0;
}

int mf_origin_self(mf_origin_t *o, char *err, size_t errlen)
{
  struct stat st;
  memset(o, 0, sizeof(*o));
  if (read_boot_id(o->boot, err, errlen) < 0)
    return -1;
  /* The namespace file's device and inode identify the namespace for as
   * long as it exists (namespaces(7)). */
  if (stat(NETNS_PATH, &st) < 0) {
    snprintf(err, errlen, "stat %s: %s", NETNS_PATH, strerror(errno));
    return -1;
  }
  o->ns_dev = (uint64_t)st.st_dev;
  o->ns_ino = (uint64_t)st.st_ino;
  return 0;
}

bool mf_origin_same_boot(const mf_origin_t *a, const mf_origin_t *b)
{
  return strcmp(a->boot, b->boot) == 0;
}

bool mf_origin_same_netns(const mf_origin_t *a, const mf_origin_t *b)
{
  return a->ns_dev == b->ns_dev && a->ns_ino == b->ns_ino;
}

/* Looks for the namespace among those iproute2 named; a bounded scan. */
static bool find_netns_name(const mf_origin_t *o, char *name, size_t size)
{
  DIR *d = opendir(NETNS_NAMES_DIR);
  if (!d)
    return false;
  bool found = false;
  struct dirent *de;
  for (int i = 0; !found && i < NETNS_NAMES_MAX && (de = readdir(d)); i++) {
    struct stat st;
    if (de->d_name[0] == '.' ||
        fstatat(dirfd(d), de->d_name, &st, 0) < 0)
      continue;
    if ((uint64_t)st.st_dev == o->ns_dev && (uint64_t)st.st_ino == o->ns_ino) {
      snprintf(name, size, "%s", de->d_name);
      found = true;
    }
  }
  closedir(d);
  return found;
}

void mf_origin_describe_netns(const mf_origin_t *o, char *out, size_t size)
{
  char name[256];
  if (find_netns_name(o, name, sizeof(name)))
    snprintf(out, size, "netns %llu:%llu ('%s' in %s)",
             (unsigned long long)o->ns_dev, (unsigned long long)o->ns_ino,
             name, NETNS_NAMES_DIR);
  else
    snprintf(out, size, "netns %llu:%llu", (unsigned long long)o->ns_dev,
             (unsigned long long)o->ns_ino);
}
