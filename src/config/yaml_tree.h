/* A YAML document read into a small tree of nodes that remember where they
 * came from (line and column), for the profile checks to walk and to blame.
 *
 * libfyaml's event parser does the YAML; this file keeps only what profiles
 * need: mappings, sequences and scalars with their text and style. Aliases
 * and tags are refused, and the input is bounded in size, node count and
 * depth, so a hostile file costs at most a few megabytes. */
#ifndef MF_CONFIG_YAML_TREE_H
#define MF_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/diag.h"
#include "config/profile.h"

#define MF_YAML_MAX_INPUT (4u << 20) /* bytes */
#define MF_YAML_MAX_NODES 65536u
#define MF_YAML_MAX_DEPTH 16u
#define MF_YAML_NONE UINT32_MAX

typedef enum {
  MF_YAML_SCALAR,
  MF_YAML_MAP, /* children alternate: key, value, key, value ... */
  MF_YAML_SEQ,
  MF_YAML_BAD, /* an alias or a tagged scalar, already reported */
} mf_yaml_kind_t;

typedef struct {
  uint8_t kind;
  bool plain;     /* an unquoted scalar: may be a number, boolean or null */
  mf_mark_t mark; /* where the node starts */
  uint32_t text;  /* scalar: offset of its NUL-terminated text in tree->text */
  uint32_t len;   /* scalar: bytes of text (it may contain NULs: "\0") */
  uint32_t first; /* first child, or MF_YAML_NONE */
  uint32_t next;  /* next sibling, or MF_YAML_NONE */
  uint32_t n;     /* number of children */
} mf_yaml_node_t;

typedef struct {
  mf_diag_batch_t *errs; /* where errors go; not owned */
  mf_yaml_node_t *nodes;
  uint32_t n_nodes, max_nodes;
  char *text;
  size_t text_len, text_cap;
  uint32_t root; /* MF_YAML_NONE when the document is empty */
} mf_yaml_tree_t;

/* Reads one YAML document. Returns 0, or -1 after reporting why to errs
 * (the tree is then unusable except for mf_yaml_tree_free). Errors that
 * leave the tree usable (an alias, a tag) are reported with 0 returned. */
int mf_yaml_tree_load(mf_yaml_tree_t *t, const char *text, size_t len,
                      mf_diag_batch_t *errs);
void mf_yaml_tree_free(mf_yaml_tree_t *t);

static inline const mf_yaml_node_t *mf_yaml_node(const mf_yaml_tree_t *t,
                                                 uint32_t i)
{
  return &t->nodes[i];
}
/* A scalar's text; "" for other nodes when the tree has no text at all. */
static inline const char *mf_yaml_text(const mf_yaml_tree_t *t, uint32_t i)
{
  return t->text ? t->text + t->nodes[i].text : "";
}

/* Reports an error at node i, or at a mark. */
void mf_yaml_error(const mf_yaml_tree_t *t, uint32_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mf_yaml_error_at(const mf_yaml_tree_t *t, mf_mark_t m, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

#endif
