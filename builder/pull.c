/* pull.c — an image from a registry into the local store: the root
 * document (a manifest, or an index / manifest list), the manifest of the
 * platform asked for when the root is an index, that manifest's config
 * and layers.  Blobs the store already holds are not fetched again; every
 * byte fetched is checked against its digest before it is committed (the
 * registry client hashes while it writes).  Documents are stored as the
 * exact bytes the registry sent, so digests stay what the registry says.
 * Only the chosen platform's blobs are fetched: the index is kept whole,
 * its other manifests are not. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/oci_private.h"
#include "registry/registry.h"

#define INDEX_DEPTH_MAX 4

static int
fetch_blob (struct builder_store *store, struct registry_client *rc, const struct builder_descriptor *d,
            const struct builder_pull_opts *o, struct builder_pull_result *res, struct hoist_error **err)
{
  struct builder_blob_ingest *ing = NULL;

  if (builder_store_has_blob (store, d->digest))
    {
      res->blobs_present++;
      return 0;
    }
  if (builder_store_blob_begin (store, &ing, err) < 0)
    return -1;
  if (registry_blob_get (rc, d->digest, d->size, builder_blob_ingest_fd (ing), err) < 0)
    {
      builder_store_blob_abort (store, ing);
      return -1;
    }
  if (!o->quiet)
    hoist_log_print ("blob %.19s: pulled (%lld bytes)", d->digest, (long long) d->size);
  res->blobs_pulled++;
  res->bytes_pulled += d->size;
  return builder_store_blob_commit (store, ing, d->digest, 0, NULL, err);
}

/* GET REFERENCE and store it; *DESC gets its descriptor. */
static int
fetch_document (struct builder_store *store, struct registry_client *rc, const char *reference,
                struct builder_descriptor *desc, json_t **doc, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf bytes;
  cleanup_free char *media_type = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];
  json_error_t jerr;

  hoist_buf_init (&bytes, BUILDER_JSON_BLOB_MAX);
  if (registry_manifest_get (rc, reference, &bytes, &media_type, digest, err) < 0)
    return -1;
  *doc = json_loadb (bytes.data, bytes.len, JSON_REJECT_DUPLICATES, &jerr);
  if (*doc == NULL)
    return hoist_error_set_status (err, EINVAL, "manifest %s is not valid JSON: %s", digest, jerr.text);
  /* Registries answer application/json for old clients; the document's
   * own mediaType then says what it is. */
  if (!builder_media_type_is_manifest (media_type) && !builder_media_type_is_index (media_type))
    {
      const char *own = json_string_value (json_object_get (*doc, "mediaType"));

      free (media_type);
      media_type = hoist_xstrdup (own != NULL ? own : "");
    }
  if (!builder_media_type_is_manifest (media_type) && !builder_media_type_is_index (media_type))
    return hoist_error_set_status (err, EINVAL, "manifest %s has media type '%s', which is no image manifest or index",
                                   digest, media_type);
  if (oci_store_put_bytes (store, bytes.data, bytes.len, digest, err) < 0)
    return -1;
  builder_descriptor_set (desc, media_type, digest, (int64_t) bytes.len);
  return 0;
}

int
builder_pull (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
              struct builder_pull_result *res, struct hoist_error **err)
{
  struct registry_ref ref = { 0 };
  struct registry_client *rc = NULL;
  struct builder_manifest *m = NULL;
  struct builder_descriptor cur;
  int ret;

  memset (res, 0, sizeof *res);
  builder_descriptor_init (&res->root);
  builder_descriptor_init (&res->manifest);
  builder_descriptor_init (&cur);
  ret = registry_ref_parse (name, &ref, err);
  if (ret == 0)
    ret = registry_client_new (&ref, &o->registry, &rc, err);
  if (ret == 0)
    {
      json_t *doc = NULL;

      registry_client_set_progress (rc, o->progress, o->progress_ctx);
      ret = fetch_document (store, rc, ref.digest != NULL ? ref.digest : ref.tag, &res->root, &doc, err);
      builder_descriptor_copy (&cur, &res->root);
      for (int depth = 0; ret == 0 && builder_media_type_is_index (cur.media_type); depth++)
        {
          struct builder_index *idx = NULL;
          ssize_t pick = -1;

          if (depth >= INDEX_DEPTH_MAX)
            ret = hoist_error_set_status (err, ELOOP, "image indexes nest deeper than %d", INDEX_DEPTH_MAX);
          if (ret == 0)
            ret = builder_index_from_json (doc, &idx, err);
          for (size_t i = 0; ret == 0 && i < idx->n_manifests && pick < 0; i++)
            if (builder_platform_matches (idx->manifests[i].platform, o->os, o->arch, o->variant))
              pick = (ssize_t) i;
          if (ret == 0 && pick < 0)
            ret = hoist_error_set_status (err, ENOENT, "%s has no image for platform %s/%s%s%s", name, o->os, o->arch,
                                          o->variant != NULL ? "/" : "", o->variant != NULL ? o->variant : "");
          if (ret == 0)
            {
              char want[HOIST_DIGEST_STR_SIZE];

              memcpy (want, idx->manifests[pick].digest, sizeof want);
              json_decref (doc);
              doc = NULL;
              builder_descriptor_release (&cur);
              builder_descriptor_init (&cur);
              ret = fetch_document (store, rc, want, &cur, &doc, err);
            }
          builder_index_free (idx);
        }
      if (ret == 0)
        ret = builder_manifest_from_json (doc, &m, err);
      json_decref (doc);
    }
  if (ret == 0)
    ret = fetch_blob (store, rc, &m->config, o, res, err);
  for (size_t i = 0; ret == 0 && !o->documents_only && i < m->n_layers; i++)
    {
      /* Foreign layers live at their URLs, never in a registry. */
      if (m->layers[i].urls != NULL && m->layers[i].urls[0] != NULL)
        continue;
      ret = fetch_blob (store, rc, &m->layers[i], o, res, err);
    }
  if (ret == 0)
    builder_descriptor_copy (&res->manifest, &cur);
  builder_manifest_free (m);
  builder_descriptor_release (&cur);
  registry_client_free (rc);
  registry_ref_release (&ref);
  if (ret < 0)
    {
      builder_pull_result_release (res);
      return hoist_error_wrap (err, "cannot pull '%s'", name);
    }
  return 0;
}

void
builder_pull_result_release (struct builder_pull_result *res)
{
  builder_descriptor_release (&res->root);
  builder_descriptor_release (&res->manifest);
}
