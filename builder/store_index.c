/* store_index.c — tags: the entries of a layout's index.json that carry
 * the org.opencontainers.image.ref.name annotation.
 *
 * index.json is changed under the layout's flock and replaced with a
 * rename, so two hoist processes tagging at once both keep their tags and
 * readers (which take no lock) see one whole file or the other.  Entries
 * hoist does not understand (other tools', untagged) are kept as written. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/oci_private.h"

#define TAG_MAX 255
/* Index inside an index inside an index.json entry is as deep as `hoist
 * images` looks for a creation date. */
#define CREATED_DEPTH_MAX 2

static bool
is_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool
builder_store_tag_valid (const char *tag)
{
  /* The ref.name grammar of the image-spec's annotations:
   *   ref       ::= component ("/" component)*
   *   component ::= alphanum (separator alphanum)*
   *   separator ::= [-._:@+] | "--"  */
  const char *s = tag;

  if (tag == NULL || *tag == '\0' || strlen (tag) > TAG_MAX)
    return false;
  for (;;)
    {
      if (!is_alnum (*s))
        return false;
      while (is_alnum (*s))
        s++;
      if (*s == '\0')
        return true;
      if (s[0] == '-' && s[1] == '-')
        s += 2;
      else if (strchr ("-._:@+/", *s) != NULL)
        s++;
      else
        return false;
    }
}

/* The tag of an index.json entry, or NULL.  Borrowed from ENTRY. */
static const char *
entry_tag (const json_t *entry)
{
  const json_t *a = json_object_get (entry, "annotations");

  return json_string_value (json_object_get (a, BUILDER_ANNOTATION_REF_NAME));
}

/* Read index.json: *OUT is a new reference, with "manifests" an array of
 * objects.  A layout without index.json has no images. */
static int
read_index (struct builder_store *store, json_t **out, struct hoist_error **err)
{
  cleanup_close int fd = openat (store->dirfd, OCI_INDEX_JSON, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_buf struct hoist_buf b;
  cleanup_json json_t *j = NULL;
  const json_t *manifests, *entry;
  json_error_t jerr;
  size_t i;

  hoist_buf_init (&b, BUILDER_LAYOUT_INDEX_MAX);
  if (fd < 0 && errno == ENOENT)
    {
      *out = json_pack ("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", BUILDER_MT_OCI_INDEX, "manifests");
      return 0;
    }
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s/" OCI_INDEX_JSON "'", store->path);
  if (hoist_buf_read_fd (&b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '%s/" OCI_INDEX_JSON "'", store->path);
  j = json_loadb (b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL)
    return hoist_error_set_status (err, EINVAL, "'%s/" OCI_INDEX_JSON "' is not valid JSON: %s (line %d, column %d)",
                                   store->path, jerr.text, jerr.line, jerr.column);
  manifests = json_object_get (j, "manifests");
  if (!json_is_object (j) || !json_is_array (manifests))
    return hoist_error_set_status (err, EINVAL, "'%s/" OCI_INDEX_JSON "': 'manifests' must be an array", store->path);
  json_array_foreach (manifests, i, entry)
    if (!json_is_object (entry))
      return hoist_error_set_status (err, EINVAL, "'%s/" OCI_INDEX_JSON "': 'manifests[%zu]' must be an object",
                                     store->path, i);
  *out = steal_pointer (&j);
  return 0;
}

static int
write_index (struct builder_store *store, const json_t *index, struct hoist_error **err)
{
  size_t len = 0;
  cleanup_free char *bytes = builder_json_canonical (index, &len);

  if (bytes == NULL)
    return hoist_error_set_status (err, EINVAL, "cannot serialise '%s/" OCI_INDEX_JSON "'", store->path);
  return oci_write_atomic (store->dirfd, OCI_INDEX_JSON, bytes, len, err);
}

/* Put ENTRY (stolen) in place of the first entry tagged TAG, dropping
 * any other entry with that tag; append it when TAG is new.  ENTRY NULL:
 * only drop.  Returns the number of entries dropped or replaced. */
static size_t
replace_tag (json_t *manifests, const char *tag, json_t *entry)
{
  size_t found = 0;

  for (size_t i = 0; i < json_array_size (manifests);)
    {
      const char *t = entry_tag (json_array_get (manifests, i));
      if (t == NULL || strcmp (t, tag) != 0)
        {
          i++;
          continue;
        }
      if (found++ == 0 && entry != NULL)
        {
          json_array_set_new (manifests, i++, steal_pointer (&entry));
          continue;
        }
      json_array_remove (manifests, i);
    }
  if (entry != NULL)
    json_array_append_new (manifests, entry);
  return found;
}

int
builder_store_tag (struct builder_store *store, const char *tag, const struct builder_descriptor *desc,
                   struct hoist_error **err)
{
  struct builder_descriptor entry;
  cleanup_close int lock = -1;
  cleanup_json json_t *index = NULL;
  json_t *ej;

  if (!builder_store_tag_valid (tag))
    return hoist_error_set_status (err, EINVAL, "invalid tag '%s'", tag);
  if (!hoist_digest_valid (desc->digest) || desc->media_type == NULL || !oci_media_type_valid (desc->media_type))
    return hoist_error_set_status (err, EINVAL, "cannot tag '%s': invalid descriptor", tag);
  /* A tag that points at nothing would break every reader of the layout. */
  if (!builder_store_has_blob (store, desc->digest))
    return hoist_error_set_status (err, ENOENT, "cannot tag '%s': blob '%s' is not in '%s'", tag, desc->digest,
                                   store->path);
  builder_descriptor_copy (&entry, desc);
  builder_map_set (&entry.annotations, BUILDER_ANNOTATION_REF_NAME, tag);
  ej = builder_descriptor_to_json (&entry);
  builder_descriptor_release (&entry);

  if (oci_store_lock (store, &lock, err) < 0 || read_index (store, &index, err) < 0)
    {
      json_decref (ej);
      return hoist_error_wrap (err, "cannot tag '%s'", tag);
    }
  replace_tag (json_object_get (index, "manifests"), tag, ej);
  if (write_index (store, index, err) < 0)
    return hoist_error_wrap (err, "cannot tag '%s'", tag);
  return 0;
}

int
builder_store_add_referrers (struct builder_store *store, const struct builder_descriptor *refs, size_t n,
                             struct hoist_error **err)
{
  cleanup_close int lock = -1;
  cleanup_json json_t *index = NULL;
  json_t *manifests;

  if (n == 0)
    return 0;
  if (oci_store_lock (store, &lock, err) < 0 || read_index (store, &index, err) < 0)
    return hoist_error_wrap (err, "cannot list the referrers in '%s'", store->path);
  manifests = json_object_get (index, "manifests");
  for (size_t i = 0; i < n; i++)
    {
      bool there = false;

      if (!builder_store_has_blob (store, refs[i].digest))
        return hoist_error_set_status (err, ENOENT, "referrer '%s' is not in '%s'", refs[i].digest, store->path);
      for (size_t j = 0; j < json_array_size (manifests) && !there; j++)
        there
            = entry_tag (json_array_get (manifests, j)) == NULL
              && strcmp (json_string_value (json_object_get (json_array_get (manifests, j), "digest")), refs[i].digest)
                     == 0;
      if (!there)
        json_array_append_new (manifests, builder_descriptor_to_json (&refs[i]));
    }
  if (write_index (store, index, err) < 0)
    return hoist_error_wrap (err, "cannot list the referrers in '%s'", store->path);
  return 0;
}

static int parse_entry (struct builder_store *store, const json_t *entry, size_t i, struct builder_descriptor *out,
                        struct hoist_error **err);

/* Whether the manifest DIGEST of STORE has a subject among SUBJECTS. */
static bool
refers_to (struct builder_store *store, const char *digest, char *const *subjects)
{
  json_t *doc = NULL;
  const char *subject;
  bool yes = false;

  if (builder_store_read_json (store, digest, 0, &doc, NULL) < 0)
    return false;
  subject = json_string_value (json_object_get (json_object_get (doc, "subject"), "digest"));
  for (size_t i = 0; subject != NULL && subjects[i] != NULL && !yes; i++)
    yes = strcmp (subjects[i], subject) == 0;
  json_decref (doc);
  return yes;
}

int
builder_store_referrers (struct builder_store *store, char *const *subjects, struct builder_descriptor **out, size_t *n,
                         struct hoist_error **err)
{
  cleanup_json json_t *index = NULL;
  json_t *manifests;

  *out = NULL;
  *n = 0;
  if (read_index (store, &index, err) < 0)
    return hoist_error_wrap (err, "cannot list the referrers in '%s'", store->path);
  manifests = json_object_get (index, "manifests");
  for (size_t i = 0; i < json_array_size (manifests); i++)
    {
      const json_t *e = json_array_get (manifests, i);
      struct builder_descriptor d;

      if (entry_tag (e) != NULL || json_object_get (e, "artifactType") == NULL)
        continue;
      if (parse_entry (store, e, i, &d, err) < 0)
        {
          for (size_t k = 0; k < *n; k++)
            builder_descriptor_release (&(*out)[k]);
          free (*out);
          *out = NULL;
          *n = 0;
          return -1;
        }
      if (!refers_to (store, d.digest, subjects))
        {
          builder_descriptor_release (&d);
          continue;
        }
      *out = hoist_xreallocarray (*out, *n + 1, sizeof **out);
      (*out)[(*n)++] = d;
    }
  return 0;
}

int
builder_store_untag (struct builder_store *store, const char *tag, struct hoist_error **err)
{
  cleanup_close int lock = -1;
  cleanup_json json_t *index = NULL;

  if (oci_store_lock (store, &lock, err) < 0 || read_index (store, &index, err) < 0)
    return hoist_error_wrap (err, "cannot untag '%s'", tag);
  if (replace_tag (json_object_get (index, "manifests"), tag, NULL) == 0)
    return hoist_error_set_status (err, ENOENT, "tag '%s' is not in '%s'", tag, store->path);
  if (write_index (store, index, err) < 0)
    return hoist_error_wrap (err, "cannot untag '%s'", tag);
  return 0;
}

/* Parse entry I of index.json into OUT (initialised here). */
static int
parse_entry (struct builder_store *store, const json_t *entry, size_t i, struct builder_descriptor *out,
             struct hoist_error **err)
{
  cleanup_free char *what = hoist_xasprintf ("'%s/" OCI_INDEX_JSON "'", store->path);
  cleanup_free char *field = hoist_xasprintf ("manifests[%zu]", i);

  return builder_descriptor_from_json (entry, what, field, out, err);
}

int
builder_store_resolve (struct builder_store *store, const char *tag, struct builder_descriptor *out,
                       struct hoist_error **err)
{
  cleanup_json json_t *index = NULL;
  const json_t *entry;
  size_t i;

  builder_descriptor_init (out);
  if (read_index (store, &index, err) < 0)
    return -1;
  json_array_foreach (json_object_get (index, "manifests"), i, entry)
    {
      const char *t = entry_tag (entry);
      if (t != NULL && strcmp (t, tag) == 0)
        return parse_entry (store, entry, i, out, err);
    }
  return hoist_error_set_status (err, ENOENT, "tag '%s' is not in '%s'", tag, store->path);
}

/* The "created" of the image DESC names: from its config, or from the
 * first manifest of an index.  NULL when unknown; never fails, since one
 * image with a missing blob must not hide the others from a listing. */
static char *
image_created (struct builder_store *store, const struct builder_descriptor *desc, int depth)
{
  cleanup_json json_t *doc = NULL;
  cleanup_json json_t *cfg = NULL;
  const char *created;

  if (depth > CREATED_DEPTH_MAX || builder_store_read_json (store, desc->digest, 0, &doc, NULL) < 0)
    return NULL;
  if (builder_media_type_is_index (desc->media_type))
    {
      struct builder_index *idx = NULL;
      char *r = NULL;
      if (builder_index_from_json (doc, &idx, NULL) == 0 && idx->n_manifests > 0)
        r = image_created (store, &idx->manifests[0], depth + 1);
      builder_index_free (idx);
      return r;
    }
  if (builder_media_type_is_manifest (desc->media_type))
    {
      struct builder_manifest *m = NULL;
      if (builder_manifest_from_json (doc, &m, NULL) == 0
          && builder_store_read_json (store, m->config.digest, 0, &cfg, NULL) < 0)
        cfg = NULL; /* no date, then */
      builder_manifest_free (m);
    }
  created = json_string_value (json_object_get (cfg, "created"));
  return created != NULL && builder_time_valid (created) ? hoist_xstrdup (created) : NULL;
}

static int
image_cmp (const void *a, const void *b)
{
  return strcmp (((const struct builder_store_image *) a)->tag, ((const struct builder_store_image *) b)->tag);
}

void
builder_store_images_free (struct builder_store_image *images, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (images[i].tag);
      builder_descriptor_release (&images[i].desc);
      free (images[i].created);
    }
  free (images);
}

int
builder_store_list (struct builder_store *store, struct builder_store_image **out, size_t *n, struct hoist_error **err)
{
  cleanup_json json_t *index = NULL;
  struct builder_store_image *images;
  size_t count = 0, i;
  const json_t *manifests, *entry;

  if (read_index (store, &index, err) < 0)
    return -1;
  manifests = json_object_get (index, "manifests");
  images = hoist_xcalloc (json_array_size (manifests) + 1, sizeof (*images));
  json_array_foreach (manifests, i, entry)
    {
      struct builder_store_image *img = &images[count];
      if (entry_tag (entry) == NULL)
        continue;
      if (parse_entry (store, entry, i, &img->desc, err) < 0)
        {
          builder_store_images_free (images, count);
          return -1;
        }
      img->tag = hoist_xstrdup (entry_tag (entry));
      img->created = image_created (store, &img->desc, 0);
      count++;
    }
  qsort (images, count, sizeof (*images), image_cmp);
  *out = images;
  *n = count;
  return 0;
}
