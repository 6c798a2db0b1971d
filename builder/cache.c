/* cache.c — the step cache: what a build step produced, found again by a
 * key that covers everything the step's result depends on.
 *
 * Keys chain: a step's key hashes its parent's key (or, for a stage's
 * first step, the base: "scratch" and the platform, an earlier stage's
 * last key, or a base image's manifest digest), then the instruction
 * (keyword, arguments after substitution, flags), the ARGs in scope, the
 * layer options that change bytes (compression, level, SOURCE_DATE_EPOCH)
 * and, for COPY and ADD, the digest of what is copied
 * (builder_copy_digest: paths, modes, owners and content digests, the
 * latter through the context's digest cache, so a warm key reads no file).
 * Two builds that agree on all of that write the same layer, so the layer
 * can be reused without reading or compressing anything.
 *
 * Records are small JSON files, HOME/cache/steps/<hex of key>.json,
 * written to a temp file and renamed, so a reader sees a whole record or
 * none.  They are not fsync'd: a record lost in a crash is only a miss,
 * and a torn one fails to parse and is a miss too.  A record is only a hit
 * while its layer blob is still in the store.  Metadata steps (ENV, CMD,
 * ...) are recorded as well, for their history time: a fully cached
 * rebuild then gives the same config, so the same image digest, even
 * without SOURCE_DATE_EPOCH. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_private.h"
#include "builder/oci_private.h"

#define STEPS_DIR "cache/steps"
#define RECORD_VERSION 1
/* A record is a descriptor and a history line: far below this. */
#define RECORD_MAX (256u * 1024)
#define WHAT "step cache record"

struct build_cache
{
  int dirfd;
};

/* ---- Keys ---------------------------------------------------------------- */

static void
key_put (struct build_key *k, const char *p, size_t n)
{
  uint64_t len = n;

  /* Length first, so ("ab", "c") and ("a", "bc") hash apart. */
  hoist_sha256_update (&k->h, &len, sizeof len);
  hoist_sha256_update (&k->h, p, n);
}

int
build_key_init (struct build_key *k, const char *kind, struct hoist_error **err)
{
  if (hoist_sha256_init (&k->h, err) < 0)
    return -1;
  key_put (k, "hoist-step-v1", strlen ("hoist-step-v1"));
  key_put (k, kind, strlen (kind));
  return 0;
}

void
build_key_add (struct build_key *k, const char *field, const char *value)
{
  key_put (k, field, strlen (field));
  if (value == NULL)
    key_put (k, "\0null", 5); /* absent differs from "" */
  else
    key_put (k, value, strlen (value));
}

void
build_key_add_int (struct build_key *k, const char *field, long long value)
{
  char num[32];

  snprintf (num, sizeof num, "%lld", value);
  build_key_add (k, field, num);
}

void
build_key_final (struct build_key *k, char out[HOIST_DIGEST_STR_SIZE])
{
  hoist_sha256_final (&k->h, out);
  hoist_sha256_release (&k->h);
}

void
build_key_release (struct build_key *k)
{
  hoist_sha256_release (&k->h);
}

/* ---- Records -------------------------------------------------------------- */

void
build_cache_record_init (struct build_cache_record *rec)
{
  memset (rec, 0, sizeof *rec);
  builder_descriptor_init (&rec->layer);
}

void
build_cache_record_release (struct build_cache_record *rec)
{
  builder_descriptor_release (&rec->layer);
  free (rec->created);
  free (rec->created_by);
  build_cache_record_init (rec);
}

struct build_cache *
build_cache_new (const char *home)
{
  cleanup_free char *dir = hoist_xasprintf ("%s/" STEPS_DIR, home);
  struct build_cache *c;
  int fd;

  /* mkdir -p, quietly: no cache is a slower build, not a failed one. */
  for (char *p = dir + 1; *p != '\0'; p++)
    if (*p == '/')
      {
        *p = '\0';
        (void) mkdir (dir, 0755);
        *p = '/';
      }
  (void) mkdir (dir, 0755);
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  c = hoist_xcalloc (1, sizeof *c);
  c->dirfd = fd;
  return c;
}

void
build_cache_free (struct build_cache *c)
{
  if (c == NULL)
    return;
  close (c->dirfd);
  free (c);
}

/* "<hex>.json" for KEY, or NULL for a key that is not a digest. */
static char *
record_name (const char *key)
{
  if (!hoist_digest_valid (key))
    return NULL;
  return hoist_xasprintf ("%s.json", key + 7);
}

static int
record_read (struct build_cache *c, const char *name, json_t **out)
{
  cleanup_close int fd = openat (c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_buf struct hoist_buf text;
  json_error_t jerr;

  hoist_buf_init (&text, RECORD_MAX);
  if (fd < 0 || hoist_buf_read_fd (&text, fd, NULL) < 0)
    return -1;
  *out = json_loadb (text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
  return *out != NULL ? 0 : -1;
}

static int
record_parse (const json_t *j, struct build_cache_record *rec)
{
  json_t *v;
  const char *s;

  if (!json_is_object (j) || json_integer_value (json_object_get (j, "version")) != RECORD_VERSION)
    return -1;
  s = json_string_value (json_object_get (j, "created"));
  if (s == NULL || !builder_time_valid (s))
    return -1;
  rec->created = hoist_xstrdup (s);
  s = json_string_value (json_object_get (j, "created_by"));
  if (s == NULL)
    return -1;
  rec->created_by = hoist_xstrdup (s);
  rec->empty_layer = json_is_true (json_object_get (j, "empty_layer"));
  v = json_object_get (j, "layer");
  if (v == NULL)
    return rec->empty_layer ? 0 : -1;
  if (builder_descriptor_from_json (v, WHAT, "layer", &rec->layer, NULL) < 0)
    return -1;
  s = json_string_value (json_object_get (j, "diff_id"));
  if (s == NULL || !hoist_digest_valid (s))
    return -1;
  memcpy (rec->diff_id, s, HOIST_DIGEST_STR_SIZE);
  rec->has_layer = true;
  return 0;
}

int
build_cache_lookup (struct build_cache *c, const char *key, struct builder_store *store,
                    struct build_cache_record *rec)
{
  cleanup_free char *name = record_name (key);
  cleanup_json json_t *j = NULL;

  build_cache_record_init (rec);
  if (c == NULL || name == NULL || record_read (c, name, &j) < 0)
    return 0;
  if (record_parse (j, rec) < 0 || (rec->has_layer && !builder_store_has_blob (store, rec->layer.digest)))
    {
      build_cache_record_release (rec);
      return 0;
    }
  return 1;
}

int
build_cache_store (struct build_cache *c, const char *key, const struct build_cache_record *rec,
                   struct hoist_error **err)
{
  cleanup_free char *name = record_name (key);
  cleanup_free char *tmp = NULL;
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  cleanup_json json_t *j = NULL;
  size_t len = 0;

  if (c == NULL)
    return 0;
  if (name == NULL)
    return hoist_error_set_status (err, EINVAL, "step cache: invalid key '%s'", key);
  j = json_pack ("{s:i, s:s, s:s, s:b}", "version", RECORD_VERSION, "created", rec->created, "created_by",
                 rec->created_by, "empty_layer", rec->empty_layer);
  if (j == NULL)
    return hoist_error_set_status (err, EINVAL, "step cache: cannot encode the record of '%s'", key);
  if (rec->has_layer)
    {
      json_object_set_new (j, "layer", builder_descriptor_to_json (&rec->layer));
      json_object_set_new (j, "diff_id", json_string (rec->diff_id));
    }
  text = builder_json_canonical (j, &len);
  if (oci_tmpfile (c->dirfd, ".tmp-", &tmp, &fd, err) < 0)
    return hoist_error_wrap (err, "step cache");
  if (oci_write_all (fd, text, len, err) < 0 || renameat (c->dirfd, tmp, c->dirfd, name) < 0)
    {
      int e = errno;
      unlinkat (c->dirfd, tmp, 0);
      if (err != NULL && *err != NULL)
        return hoist_error_wrap (err, "step cache");
      return hoist_error_set (err, e, "step cache: cannot write '%s'", name);
    }
  return 0;
}
