/* bump.h — the tag bump: a deploy file edited in place at the byte range
 * of the value, as libyaml's marks give it, so comments, key order,
 * quoting and indentation stay as they were.  Part of runner/librunner.a.
 * Pure functions over text; the caller reads and writes the file. */
#ifndef HOIST_RUNNER_BUMP_H
#define HOIST_RUNNER_BUMP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

/* The largest deploy file edited. */
#define RUNNER_BUMP_MAX_BYTES (4u << 20)

/* A kustomization images[] entry, as `kustomize edit set image` takes it. */
struct runner_bump_image
{
  const char *name;     /* images[].name to find (or add) */
  const char *new_name; /* newName to set, or NULL to leave as it is */
  const char *new_tag;  /* newTag to set, or NULL to leave as it is */
  const char *digest;   /* "sha256:..." to set, or NULL to leave as it is */
};

/* Edit kustomization TEXT (LEN bytes): the images[] entry named IMG->name
 * gets the values IMG sets, each written where the old value stood (its
 * quoting style kept when the new value allows it; a value YAML would read
 * as anything but a string — 1.10, 2, true, null, 0x1f, 1e3 — is quoted);
 * a key the entry lacks is added below its last key with the entry's
 * indentation; an entry that is missing is appended to images[] (and
 * images: to the document when it has none).  Flow style ([{...}]) is
 * edited too.  Returns 0 with *OUT (malloc'd, NUL-terminated, *OUT_LEN
 * bytes) and *CHANGED false when the text already held those values (then
 * *OUT is a copy of TEXT); negative with *ERR when TEXT is not YAML, not a
 * mapping, holds images that is not a sequence, or holds two entries of
 * that name, naming the line. */
int runner_bump_kustomization (const char *text, size_t len, const struct runner_bump_image *img, char **out,
                               size_t *out_len, bool *changed, struct hoist_error **err) HOIST_WUR;

/* Edit YAML TEXT: the scalar at KEY_PATH (mapping keys joined by '.',
 * "image.tag") becomes VALUE, written and quoted as above.  Missing
 * mappings on the way are added (at the end of their parent, indented as
 * its other keys, two spaces when it has none).  Errors as above, and when
 * a key on the path holds a sequence or the value is not a scalar. */
int runner_bump_yaml (const char *text, size_t len, const char *key_path, const char *value, char **out,
                      size_t *out_len, bool *changed, struct hoist_error **err) HOIST_WUR;

/* Parse "NAME=[NEWNAME:]TAG[@DIGEST]" or "NAME@DIGEST" (kustomize edit set
 * image's syntax) into IMG; the strings point into BUF, a malloc'd copy
 * of SPEC the caller frees.  Negative with *ERR when SPEC is malformed. */
int runner_bump_parse_spec (const char *spec, struct runner_bump_image *img, char **buf,
                            struct hoist_error **err) HOIST_WUR;

/* Rewrite PATH with NEW_TEXT: a temporary file beside it, fsync, rename,
 * so a reader sees the old file or the new one, never half; the mode is
 * kept. */
int runner_bump_write_file (const char *path, const char *new_text, size_t len, struct hoist_error **err) HOIST_WUR;

#endif
