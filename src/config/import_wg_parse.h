/* Inside the wg-quick importer: the state of one import and the readers of
 * each key's value. Not for use outside import_wg*.c. */
#ifndef MF_CONFIG_IMPORT_WG_PARSE_H
#define MF_CONFIG_IMPORT_WG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"

/* SEC_SKIP: inside a section already refused; its keys are ignored. */
typedef enum { SEC_NONE, SEC_INTERFACE, SEC_PEER, SEC_SKIP } import_section_t;

/* A piece of the file: text, and where it starts. */
typedef struct {
  const char *s;
  size_t len;
  mf_mark_t at;
} import_span_t;

typedef struct {
  const char *source;
  mf_diag_t *diag;
  mf_wg_cfg_t wg;
  import_section_t section;
  uint32_t n_errors;
  uint32_t iface_line;    /* of [Interface]; 0 before it */
  uint32_t private_line;  /* of PrivateKey; 0 before it */
  uint32_t listen_line, mtu_line;
  uint32_t peer_line[MF_PROFILE_MAX_WG_PEERS]; /* of each [Peer] */
  uint32_t public_line[MF_PROFILE_MAX_WG_PEERS]; /* of its PublicKey */
  uint32_t psk_line, endpoint_line, keepalive_line; /* current peer's */
} import_t;

/* Reports an error (counted) or a warning (printed only). */
void mf_import_error(import_t *im, mf_mark_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mf_import_warn(import_t *im, mf_mark_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Handles "key = value" in the current section; key and value trimmed. */
void mf_import_interface_key(import_t *im, import_span_t key,
                             import_span_t value);
void mf_import_peer_key(import_t *im, import_span_t key, import_span_t value);

/* Case-insensitive comparison of a span with a key name, as wg(8) does. */
bool mf_import_key_is(import_span_t key, const char *name);

#endif
