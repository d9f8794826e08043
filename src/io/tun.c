#include "io/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Offloads are on unless the environment says MINTFLOW_TUN_OFFLOAD=0:
 * a switch for comparisons, and an escape hatch should a kernel misbehave,
 * that holds whatever profile is loaded. */
static bool offload_wanted(void)
{
  const char *v = getenv("MINTFLOW_TUN_OFFLOAD");
  return !(v && strcmp(v, "0") == 0);
}

/* Asks for checksum offload and TSO in both directions. Best effort: a
 * kernel that refuses leaves plain packets behind the same header. */
static void set_offloads(mf_tun_t *tun)
{
  int hdr = (int)sizeof(struct virtio_net_hdr);
  unsigned want = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (ioctl(tun->fd, TUNSETVNETHDRSZ, &hdr) == 0 &&
      ioctl(tun->fd, TUNSETOFFLOAD, want) == 0)
    tun->offloads = want;
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
  bool vnet = offload_wanted();
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    snprintf(err, errlen, "tun: create '%s': %s%s", name, strerror(e),
             e == EBUSY ? " (another process holds it)" : "");
    close(fd);
    return -e;
  }
  tun->fd = fd;
  tun->vnet_hdr = vnet;
  tun->spare_large = UINT32_MAX;
  if (vnet)
    set_offloads(tun);
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
