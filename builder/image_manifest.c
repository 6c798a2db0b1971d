/* image_manifest.c — image manifests and image indexes: C struct <-> JSON.
 *
 * hoist writes OCI media types and reads OCI and Docker v2 schema 2, the
 * two a registry serves today.  Parsed documents come from registries and
 * are untrusted: every descriptor is checked (sha256 digest, size, media
 * type) and lists are capped. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/oci_private.h"

/* ---- Parts shared by both documents ------------------------------------ */

static void
descriptor_free (struct builder_descriptor *d)
{
  if (d == NULL)
    return;
  builder_descriptor_release (d);
  free (d);
}

/* schemaVersion, mediaType (one of OCI_TYPE and DOCKER_TYPE; absent is
 * OCI_TYPE, as OCI 1.0 documents may leave it out), artifactType, subject
 * and annotations. */
static int
parse_common (const json_t *j, const char *what, const char *oci_type, const char *docker_type, char **media_type,
              char **artifact_type, struct builder_descriptor **subject, struct builder_map *annotations,
              struct hoist_error **err)
{
  const json_t *version = oci_member (j, "schemaVersion");
  const json_t *sj;

  if (!json_is_integer (version) || json_integer_value (version) != 2)
    return hoist_error_set_status (err, EINVAL, "%s: 'schemaVersion' must be 2", what);
  if (oci_get_string (j, "mediaType", what, "", media_type, err) < 0)
    return -EINVAL;
  if (*media_type == NULL)
    *media_type = hoist_xstrdup (oci_type);
  else if (strcmp (*media_type, oci_type) != 0 && strcmp (*media_type, docker_type) != 0)
    return hoist_error_set_status (err, EINVAL, "%s: unexpected mediaType '%s'", what, *media_type);
  if (oci_get_string (j, "artifactType", what, "", artifact_type, err) < 0
      || oci_get_map (j, "annotations", what, "", BUILDER_CONFIG_ITEMS_MAX, annotations, err) < 0)
    return -EINVAL;
  if (*artifact_type != NULL && !oci_media_type_valid (*artifact_type))
    return hoist_error_set_status (err, EINVAL, "%s: 'artifactType' is not a media type", what);
  sj = oci_member (j, "subject");
  if (sj != NULL)
    {
      *subject = hoist_xcalloc (1, sizeof (**subject));
      if (builder_descriptor_from_json (sj, what, "subject", *subject, err) < 0)
        return -EINVAL;
    }
  return 0;
}

static void
put_common (json_t *j, const char *media_type, const char *artifact_type, const struct builder_descriptor *subject,
            const struct builder_map *annotations)
{
  json_object_set_new (j, "schemaVersion", json_integer (2));
  oci_put_string (j, "mediaType", media_type);
  oci_put_string (j, "artifactType", artifact_type);
  if (subject != NULL)
    json_object_set_new (j, "subject", builder_descriptor_to_json (subject));
  oci_put_map (j, "annotations", annotations);
}

/* Parse the array KEY of J into *OUT / *N, at most MAX descriptors. */
static int
parse_descriptors (const json_t *j, const char *key, const char *what, size_t max, struct builder_descriptor **out,
                   size_t *n, struct hoist_error **err)
{
  const json_t *a = oci_member (j, key);
  const json_t *item;
  size_t i;

  if (!json_is_array (a))
    return hoist_error_set_status (err, EINVAL, "%s: '%s' must be an array of descriptors", what, key);
  if (json_array_size (a) > max)
    return hoist_error_set_status (err, E2BIG, "%s: '%s' has more than %zu entries", what, key, max);
  *out = hoist_xcalloc (json_array_size (a) + 1, sizeof (**out));
  json_array_foreach (a, i, item)
    {
      cleanup_free char *field = hoist_xasprintf ("%s[%zu]", key, i);
      if (builder_descriptor_from_json (item, what, field, &(*out)[i], err) < 0)
        return -EINVAL;
      (*n)++;
    }
  return 0;
}

static json_t *
descriptors_to_json (const struct builder_descriptor *d, size_t n)
{
  json_t *a = json_array ();

  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, builder_descriptor_to_json (&d[i]));
  return a;
}

/* ---- Manifest -------------------------------------------------------------- */

struct builder_manifest *
builder_manifest_new (void)
{
  struct builder_manifest *m = hoist_xcalloc (1, sizeof (*m));

  m->media_type = hoist_xstrdup (BUILDER_MT_OCI_MANIFEST);
  builder_descriptor_init (&m->config);
  return m;
}

void
builder_manifest_free (struct builder_manifest *m)
{
  if (m == NULL)
    return;
  free (m->media_type);
  free (m->artifact_type);
  builder_descriptor_release (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    builder_descriptor_release (&m->layers[i]);
  free (m->layers);
  descriptor_free (m->subject);
  builder_map_release (&m->annotations);
  free (m);
}

static void
manifest_freep (struct builder_manifest **m)
{
  builder_manifest_free (*m);
}

void
builder_manifest_add_layer (struct builder_manifest *m, const struct builder_descriptor *layer)
{
  m->layers = hoist_xreallocarray (m->layers, m->n_layers + 1, sizeof (*m->layers));
  builder_descriptor_copy (&m->layers[m->n_layers++], layer);
}

json_t *
builder_manifest_to_json (const struct builder_manifest *m)
{
  json_t *j = json_object ();

  put_common (j, m->media_type, m->artifact_type, m->subject, &m->annotations);
  json_object_set_new (j, "config", builder_descriptor_to_json (&m->config));
  json_object_set_new (j, "layers", descriptors_to_json (m->layers, m->n_layers));
  return j;
}

int
builder_manifest_from_json (const json_t *j, struct builder_manifest **out, struct hoist_error **err)
{
  static const char what[] = "image manifest";
  __attribute__ ((cleanup (manifest_freep))) struct builder_manifest *m = NULL;

  if (oci_check_object (j, what, NULL, err) < 0)
    return -EINVAL;
  /* An index served where a manifest was expected: say so rather than
   * "config is missing". */
  if (json_object_get (j, "manifests") != NULL
      || (json_is_string (json_object_get (j, "mediaType"))
          && builder_media_type_is_index (json_string_value (json_object_get (j, "mediaType")))))
    return hoist_error_set_status (err, EINVAL, "%s: is an image index", what);
  m = hoist_xcalloc (1, sizeof (*m));
  if (parse_common (j, what, BUILDER_MT_OCI_MANIFEST, BUILDER_MT_DOCKER_MANIFEST, &m->media_type, &m->artifact_type,
                    &m->subject, &m->annotations, err)
      < 0)
    return -EINVAL;
  if (oci_member (j, "config") == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: 'config' is missing", what);
  if (builder_descriptor_from_json (oci_member (j, "config"), what, "config", &m->config, err) < 0)
    return -EINVAL;
  if (parse_descriptors (j, "layers", what, BUILDER_LAYERS_MAX, &m->layers, &m->n_layers, err) < 0)
    return -EINVAL;
  *out = steal_pointer (&m);
  return 0;
}

/* ---- Index ----------------------------------------------------------------- */

struct builder_index *
builder_index_new (void)
{
  struct builder_index *idx = hoist_xcalloc (1, sizeof (*idx));

  idx->media_type = hoist_xstrdup (BUILDER_MT_OCI_INDEX);
  return idx;
}

void
builder_index_free (struct builder_index *idx)
{
  if (idx == NULL)
    return;
  free (idx->media_type);
  free (idx->artifact_type);
  for (size_t i = 0; i < idx->n_manifests; i++)
    builder_descriptor_release (&idx->manifests[i]);
  free (idx->manifests);
  descriptor_free (idx->subject);
  builder_map_release (&idx->annotations);
  free (idx);
}

static void
index_freep (struct builder_index **idx)
{
  builder_index_free (*idx);
}

void
builder_index_add (struct builder_index *idx, const struct builder_descriptor *desc)
{
  idx->manifests = hoist_xreallocarray (idx->manifests, idx->n_manifests + 1, sizeof (*idx->manifests));
  builder_descriptor_copy (&idx->manifests[idx->n_manifests++], desc);
}

json_t *
builder_index_to_json (const struct builder_index *idx)
{
  json_t *j = json_object ();

  put_common (j, idx->media_type, idx->artifact_type, idx->subject, &idx->annotations);
  json_object_set_new (j, "manifests", descriptors_to_json (idx->manifests, idx->n_manifests));
  return j;
}

int
builder_index_from_json (const json_t *j, struct builder_index **out, struct hoist_error **err)
{
  static const char what[] = "image index";
  __attribute__ ((cleanup (index_freep))) struct builder_index *idx = NULL;

  if (oci_check_object (j, what, NULL, err) < 0)
    return -EINVAL;
  if (json_object_get (j, "layers") != NULL
      || (json_is_string (json_object_get (j, "mediaType"))
          && builder_media_type_is_manifest (json_string_value (json_object_get (j, "mediaType")))))
    return hoist_error_set_status (err, EINVAL, "%s: is an image manifest", what);
  idx = hoist_xcalloc (1, sizeof (*idx));
  if (parse_common (j, what, BUILDER_MT_OCI_INDEX, BUILDER_MT_DOCKER_LIST, &idx->media_type, &idx->artifact_type,
                    &idx->subject, &idx->annotations, err)
      < 0)
    return -EINVAL;
  if (parse_descriptors (j, "manifests", what, BUILDER_INDEX_ENTRIES_MAX, &idx->manifests, &idx->n_manifests, err) < 0)
    return -EINVAL;
  *out = steal_pointer (&idx);
  return 0;
}
