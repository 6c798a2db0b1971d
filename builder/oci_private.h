/* oci_private.h — internals shared by the content store (store*.c) and the
 * image config / manifest / index code (image*.c, oci_json.c).  Not part of
 * builder's API: include builder.h instead. */
#ifndef HOIST_OCI_PRIVATE_H
#define HOIST_OCI_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "oci_private.h is internal to builder/"
#endif

#include "builder/builder.h"

/* ---- Reading untrusted JSON -------------------------------------------
 *
 * Every reader takes WHAT (the document: "image config") and the member's
 * full name in PREFIX + KEY ("config." + "Env"), used only to word errors:
 * "image config: 'config.Env' must be an array of strings".  A member that
 * is absent or JSON null is "not set" (Go writes nil slices and maps as
 * null); *OUT is then left NULL.  On success the caller owns *OUT. */

/* The member KEY of OBJ, or NULL when it is absent or null.  Borrowed. */
const json_t *oci_member (const json_t *obj, const char *key);

int oci_get_string (const json_t *obj, const char *key, const char *what, const char *prefix, char **out,
                    struct hoist_error **err) HOIST_WUR;
/* As oci_get_string, and fails with "'KEY' is missing" when not set. */
int oci_need_string (const json_t *obj, const char *key, const char *what, const char *prefix, char **out,
                     struct hoist_error **err) HOIST_WUR;
/* An array of at most MAX strings. */
int oci_get_strv (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max, char ***out,
                  struct hoist_error **err) HOIST_WUR;
/* An object whose values are all objects (ExposedPorts, Volumes): its keys,
 * sorted. */
int oci_get_set (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max, char ***out,
                 struct hoist_error **err) HOIST_WUR;
/* An object of at most MAX string values (annotations, labels); OUT must be
 * empty. */
int oci_get_map (const json_t *obj, const char *key, const char *what, const char *prefix, size_t max,
                 struct builder_map *out, struct hoist_error **err) HOIST_WUR;
/* An integer in [MIN, MAX]; *PRESENT (when not NULL) says whether it was
 * set; *OUT is left alone when not. */
int oci_get_int (const json_t *obj, const char *key, const char *what, const char *prefix, int64_t min, int64_t max,
                 int64_t *out, bool *present, struct hoist_error **err) HOIST_WUR;
/* An object, or NULL (not set); borrowed. */
int oci_get_object (const json_t *obj, const char *key, const char *what, const char *prefix, const json_t **out,
                    struct hoist_error **err) HOIST_WUR;
/* A "sha256:<hex>" string into OUT. */
int oci_get_digest (const json_t *obj, const char *key, const char *what, const char *prefix,
                    char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;
/* Fails unless J is an object, naming the member as above. */
int oci_check_object (const json_t *j, const char *what, const char *field, struct hoist_error **err) HOIST_WUR;

/* True when S has the form of a media type (RFC 6838, as the OCI schema's
 * pattern). */
bool oci_media_type_valid (const char *s);

/* ---- Writing JSON ------------------------------------------------------
 *
 * These never fail: strings that are not UTF-8 (a Dockerfile may hold any
 * bytes) have each bad byte replaced by U+FFFD, as Go's encoder does. */

json_t *oci_json_string (const char *s);
/* Set KEY to S when S is not NULL. */
void oci_put_string (json_t *obj, const char *key, const char *s);
/* Set KEY to the array V when V has entries. */
void oci_put_strv (json_t *obj, const char *key, char *const *v);
/* Set KEY to {"item": {}, ...} when SET has entries. */
void oci_put_set (json_t *obj, const char *key, char *const *set);
/* Set KEY to the object of MAP when it has entries. */
void oci_put_map (json_t *obj, const char *key, const struct builder_map *map);

/* ---- Vectors ----------------------------------------------------------- */

/* A deep copy of V, or NULL when V is NULL. */
char **oci_strv_dup (char *const *v);
/* Insert a copy of S into the sorted set *SET unless it is there. */
void oci_strset_add (char ***set, const char *s);

/* ---- Store internals ---------------------------------------------------- */

struct builder_store
{
  int dirfd;  /* the layout directory */
  char *path; /* as given to builder_store_open */
  /* Digests of the blobs this handle committed after hashing them itself
   * (not from a descriptor): an export may trust them without hashing
   * them again.  Blobs found on disk are always verified. */
  char **fresh;
};

/* Whether STORE's handle committed DIGEST in this run. */
bool oci_store_blob_fresh (const struct builder_store *store, const char *digest);

#define OCI_INDEX_JSON "index.json"
#define OCI_LOCK_FILE "index.json.lock"
#define OCI_BLOBS_DIR "blobs/sha256"

/* Create a new file in DIRFD named PREFIX + random suffix, exclusively,
 * mode 0644 less the umask.  *NAME (relative to DIRFD) and *FD are the
 * caller's. */
int oci_tmpfile (int dirfd, const char *prefix, char **name, int *fd, struct hoist_error **err) HOIST_WUR;
/* Write DATA to a temp file in DIRFD, fsync, rename it to NAME and fsync
 * the directory: readers see the old file or the new one, never a mix. */
int oci_write_atomic (int dirfd, const char *name, const void *data, size_t len, struct hoist_error **err) HOIST_WUR;
/* Write all of P to FD, retrying short writes and EINTR. */
int oci_write_all (int fd, const void *p, size_t n, struct hoist_error **err) HOIST_WUR;

/* mkdir -p PATH (mode 0755). */
int oci_mkdir_parents (const char *path, struct hoist_error **err) HOIST_WUR;

/* Store the LEN bytes at BYTES as blob DIGEST (their sha256, computed by
 * the caller), unless STORE has it. */
int oci_store_put_bytes (struct builder_store *store, const void *bytes, size_t len, const char *digest,
                         struct hoist_error **err) HOIST_WUR;
/* Take the layout's index lock (blocking).  *FD holds it until closed. */
int oci_store_lock (struct builder_store *store, int *fd, struct hoist_error **err) HOIST_WUR;
/* "blobs/sha256/<hex>" for a valid DIGEST; NULL (with *ERR set) otherwise. */
char *oci_blob_path (const char *digest, struct hoist_error **err);

/* The blobs one image reaches, children before the documents that name
 * them, each once. */
#define OCI_MEDIA_TYPE_MAX 255 /* RFC 6838: 127 + '/' + 127 */

struct oci_blob_ref
{
  char digest[HOIST_DIGEST_STR_SIZE];
  int64_t size;
  char media_type[OCI_MEDIA_TYPE_MAX + 1]; /* as the descriptor says; "" when it says none */
};

struct oci_blob_list
{
  struct oci_blob_ref *items;
  size_t n;
};

int oci_collect_blobs (struct builder_store *store, const struct builder_descriptor *root, struct oci_blob_list *out,
                       struct hoist_error **err) HOIST_WUR;
void oci_blob_list_release (struct oci_blob_list *list);

#endif
