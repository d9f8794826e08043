/* Writing free text as a YAML value that reads back byte for byte: the
 * profile dump and the wg-quick importer both print `debug:` text. */
#ifndef MF_CONFIG_YAML_WRITE_H
#define MF_CONFIG_YAML_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes text (valid UTF-8, no NUL) as the value after "key:" on the
 * current line, starting with the space, and ends the line. Plain
 * multi-line text becomes a literal block ("|2") indented key_column + 2;
 * anything a block cannot hold exactly (control characters, carriage
 * returns, lines of only blanks, non-ASCII) becomes one double-quoted
 * line with escapes (YAML 1.2 section 5.7). key_column is 0-based. */
void mf_yaml_write_text(FILE *out, const char *text, size_t len,
                        unsigned key_column);

/* True when text can be written by mf_yaml_write_text: valid UTF-8 (RFC
 * 3629, no overlongs or surrogates) without NUL. */
bool mf_yaml_text_writable(const char *text, size_t len);

#endif
