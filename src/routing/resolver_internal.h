/* Between the files of the resolver part: resolver.c chooses, the others
 * do. Main thread only. */
#ifndef MF_ROUTING_RESOLVER_INTERNAL_H
#define MF_ROUTING_RESOLVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "routing/origin.h"
#include "routing/resolver.h"

/* What one run wrote into which file, and what the file held before. */
typedef struct mf_resolver_record {
  mf_origin_t origin; /* /etc/resolv.conf differs by namespace under `ip
                         netns exec`: a record is acted on only where it
                         was written (or after a reboot) */
  char file[MF_RESOLVER_PATH_MAX];
  uint64_t dev, ino;  /* the file written: a replaced file is not ours */
  bool had_original;  /* false: the file did not exist; restoring deletes */
  char *original;     /* had_original: its bytes (heap) */
  size_t original_len;
  char *ours;         /* what we wrote (heap) */
  size_t ours_len;
} mf_resolver_record_t;

void mf_resolver_record_free(mf_resolver_record_t *rec);

/* resolver_io.c: whole-file reads and writes on a descriptor, bounded. */
/* Reads from offset 0 to the end into a new heap buffer (NUL added, not
 * counted). Returns 0 with *buf and *len, or -1 with errno (EFBIG past
 * max bytes). */
int mf_resolver_read_fd(int fd, size_t max, char **buf, size_t *len);
/* Writes len bytes at the current offset; -1 with errno. */
int mf_resolver_write_fd(int fd, const char *buf, size_t len);
/* Makes a new or removed name in path's directory durable. */
void mf_resolver_sync_dir(const char *path);

/* resolver_saved.c: the record on disk, PREFIX.resolv, and the original's
 * bytes verbatim in PREFIX.resolv.orig, so that a person can copy it back.
 * The .orig is written first and removed last: a record on disk always has
 * its original. */
int mf_resolver_saved_write(const char *prefix, const mf_resolver_record_t *rec,
                            char *err, size_t errlen);
/* 0: no record (a stray .orig is removed); 1: *out loaded (caller frees);
 * -1 with err: unreadable or malformed, nothing touched. */
int mf_resolver_saved_load(const char *prefix, mf_resolver_record_t **out,
                           char *err, size_t errlen);
void mf_resolver_saved_remove(const char *prefix);
/* "PREFIX.resolv" or "PREFIX.resolv.orig"; -1 when too long. */
int mf_resolver_saved_path(const char *prefix, bool orig, char *out,
                           size_t size);

/* resolver_file.c: the in-place rewrite. */
typedef enum {
  MF_RESOLVER_RESTORED, /* the original is back (or our file deleted) */
  MF_RESOLVER_LEFT,     /* someone else changed it: theirs stays */
} mf_resolver_restore_t;

/* Our resolv.conf text for these servers, keeping the original's search
 * and domain lines; servers on a port other than 53 cannot be written and
 * are skipped (*n_written says how many were). Returns the length, or -1
 * when it does not fit. */
int mf_resolver_file_compose(const mf_resolver_server_t *servers, uint32_t n,
                             const char *original, size_t original_len,
                             const char *ifname, const char *saved_orig,
                             char *out, size_t size, uint32_t *n_written);
/* Saves the original of `file` (a regular file or none) under prefix and
 * writes ours in its place. Returns 0 with *rec (caller frees), or -1 with
 * err and nothing changed. */
int mf_resolver_file_point(const char *file, const char *prefix,
                           const char *ifname,
                           const mf_resolver_server_t *servers, uint32_t n,
                           mf_resolver_record_t **rec, char *err,
                           size_t errlen);
/* Writes rec's original back if the file still holds what we wrote.
 * Returns MF_RESOLVER_RESTORED or MF_RESOLVER_LEFT (why says why), or -1
 * with why when the file could not be read or written. */
int mf_resolver_file_restore(const mf_resolver_record_t *rec, char *why,
                             size_t whylen);

/* resolver_resolved.c: systemd-resolved through resolvectl. */
/* True when `name` is an executable file in a directory of $PATH. */
bool mf_resolver_on_path(const char *name);
/* Runs argv (argv[0] looked up in $PATH), waiting at most timeout_ms;
 * returns its exit status, or -1 with err (also when killed). */
int mf_resolver_exec(char *const argv[], int timeout_ms, char *err,
                     size_t errlen);
int mf_resolver_resolved_point(const char *ifname,
                               const mf_resolver_server_t *servers, uint32_t n,
                               char *err, size_t errlen);
void mf_resolver_resolved_revert(const char *ifname);

/* "1.1.1.1", "1.1.1.1:5353", "2606:4700::1111", "[2606:4700::1111]:5353";
 * with_port false leaves the port out whatever it is. */
void mf_resolver_server_format(const mf_resolver_server_t *s, bool with_port,
                               char *out, size_t size);

#endif
