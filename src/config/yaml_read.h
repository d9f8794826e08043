/* Typed reads of YAML tree nodes for the profile checks. Each reader
 * reports a mismatch at the node, prefixed with the key it belongs to
 * ("mtu: expected an integer, got 'big'"), and returns -1; nodes already
 * reported by the tree (aliases, tags) fail silently, so one mistake gives
 * one message. Scalars are typed by the YAML 1.2 core schema (section
 * 10.3.2): numbers, booleans and null only unquoted. */
#ifndef MF_CONFIG_YAML_READ_H
#define MF_CONFIG_YAML_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/yaml_tree.h"

/* A key a mapping may hold, and where the walk found it. */
typedef struct {
  const char *name;
  uint32_t key;   /* key node, or MF_YAML_NONE when absent */
  uint32_t value; /* value node, or MF_YAML_NONE when absent */
} mf_yaml_field_t;

/* Finds the fields' keys in mapping node map and reports unknown, repeated
 * and non-string keys ("unknown key 'foo' in tun"). Fields of a node that is
 * not a mapping stay absent; check the kind first. */
void mf_yaml_read_fields(const mf_yaml_tree_t *t, uint32_t map,
                         const char *where, mf_yaml_field_t *fields,
                         size_t n_fields);

/* True for an empty value, "~" and "null" (unquoted). */
bool mf_yaml_is_null(const mf_yaml_tree_t *t, uint32_t i);

/* Returns 0 when node i is a mapping (MF_YAML_MAP) or list (MF_YAML_SEQ). */
int mf_yaml_expect(const mf_yaml_tree_t *t, uint32_t i, mf_yaml_kind_t kind,
                   const char *what);

int mf_yaml_read_bool(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                      bool *out);
/* Decimal or 0x hexadecimal, within lo..hi. */
int mf_yaml_read_u32(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                     uint32_t lo, uint32_t hi, uint32_t *out);
/* Any non-null scalar; *out is NUL-terminated and lives as long as t. */
int mf_yaml_read_string(const mf_yaml_tree_t *t, uint32_t i, const char *what,
                        const char **out, size_t *len);

/* Writes how node i looks, for "got ..." in messages: 'text' or "a list". */
void mf_yaml_describe(const mf_yaml_tree_t *t, uint32_t i, char *out,
                      size_t size);

#endif
