/* The state file: a header that names the boot and network namespace it
 * was written in, then one line per object (routing/netobj_line.c), each
 * written and flushed to disk before the object is made, so that no crash
 * leaves an object the file does not name.
 *
 *   mintflow-netconf 1 boot=45e13e04-c825-4324-91cb-1212ebee5b0f netns=4:4026532201
 *   link dev=mf0 ifindex=5 mtu=1500 up=0
 *   addr4 dev=mf0 ifindex=5 addr=172.19.0.1/30
 *   ...
 */
#ifndef MF_ROUTING_STATEFILE_H
#define MF_ROUTING_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "routing/netobj.h"
#include "routing/origin.h"

typedef enum {
  MF_STATEFILE_ABSENT,    /* no file: nothing to undo */
  MF_STATEFILE_PAST_BOOT, /* written before the last reboot: all gone */
  MF_STATEFILE_LOADED,    /* written here and now: objs hold its objects */
} mf_statefile_found_t;

/* Creates the file (and its missing directories, mode 0700) with the
 * header for `self`; a file already there is an error. Returns an open
 * descriptor, or -1 with err. */
int mf_statefile_create(const char *path, const mf_origin_t *self, char *err,
                        size_t errlen);
/* Appends the object's line and flushes it to disk; *undo_at is the length
 * to truncate back to with mf_statefile_unrecord. Returns 0 or -1 with err,
 * the file then unchanged. */
int mf_statefile_record(int fd, const char *path, const mf_netobj_t *o,
                        off_t *undo_at, char *err, size_t errlen);
/* Forgets the last line again, for an object that could not be made. */
int mf_statefile_unrecord(int fd, const char *path, off_t undo_at, char *err,
                          size_t errlen);
/* Reads and checks the whole file: a malformed file, or one written in
 * another namespace of this boot, is an error. Returns what was found, or
 * -1 with err. */
int mf_statefile_load(const char *path, const mf_origin_t *self,
                      mf_netobj_t objs[MF_NETOBJ_MAX], size_t *n, char *err,
                      size_t errlen);
/* Deletes the file; one already gone is not an error. */
int mf_statefile_remove(const char *path, char *err, size_t errlen);

#endif
