/* Where a state file was written: which boot of the machine and which
 * network namespace. Netlink objects live in one namespace and vanish at
 * reboot, so a state file means something only in the boot and namespace
 * that wrote it. */
#ifndef MF_ROUTING_ORIGIN_H
#define MF_ROUTING_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_ORIGIN_BOOT_LEN 36 /* a UUID in text */

typedef struct {
  char boot[MF_ORIGIN_BOOT_LEN + 1]; /* /proc/sys/kernel/random/boot_id */
  uint64_t ns_dev, ns_ino;           /* stat of /proc/self/ns/net */
} mf_origin_t;

/* This process's boot and network namespace. Returns 0, or -1 with err. */
int mf_origin_self(mf_origin_t *o, char *err, size_t errlen);
/* True for 36 characters of lowercase hex and dashes in the UUID places. */
bool mf_origin_boot_valid(const char *boot);
bool mf_origin_same_boot(const mf_origin_t *a, const mf_origin_t *b);
bool mf_origin_same_netns(const mf_origin_t *a, const mf_origin_t *b);
/* "netns 4:4026532201", followed by " ('blue' in /run/netns)" when a named
 * namespace of iproute2 has that identity. */
void mf_origin_describe_netns(const mf_origin_t *o, char *out, size_t size);

#endif
