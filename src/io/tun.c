#include "io/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The queue of packets the kernel holds for us to read. Its default (500)
 * overflows when several of the machine's TCP streams burst while the
 * worker is busy with a frame, and each overflow costs the app a
 * retransmission; 4096 packets of 1500 bytes are 6 MB, a few milliseconds
 * at the rates we carry. Best effort: a failure leaves the default. */
#define MF_TUN_TXQUEUELEN 4096

static void set_queue_length(const char *name)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_qlen = MF_TUN_TXQUEUELEN;
  ioctl(s, SIOCSIFTXQLEN, &ifr);
  close(s);
}

int mf_tun_open(mf_tun_t *tun, const char *name, char *err, size_t errlen)
{
  memset(tun, 0, sizeof(*tun));
  tun->fd = -1;
  if (strlen(name) >= IFNAMSIZ) {
    snprintf(err, errlen, "tun: name '%s' is longer than %d characters", name,
             IFNAMSIZ - 1);
    return -EINVAL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "tun: open /dev/net/tun: %s", strerror(e));
    return -e;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    snprintf(err, errlen, "tun: create '%s': %s%s", name, strerror(e),
             e == EBUSY ? " (another process holds it)" : "");
    close(fd);
    return -e;
  }
  tun->fd = fd;
  snprintf(tun->name, sizeof(tun->name), "%s", ifr.ifr_name);
  set_queue_length(tun->name);
  return 0;
}

void mf_tun_close(mf_tun_t *tun)
{
  if (tun->fd >= 0)
    close(tun->fd);
  tun->fd = -1;
}
