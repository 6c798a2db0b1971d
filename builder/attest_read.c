/* attest_read.c — reading back the statements attached to an image of a
 * registry (`hoist inspect --sbom|--provenance`): the image index the name
 * resolves to, the attestation manifest in it that names the platform's
 * image (vnd.docker.reference.digest), and its layer of the predicate
 * type asked for.  Everything fetched goes through builder_pull, so it is
 * verified against its digest and kept in the store. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "registry/registry.h"

/* The digest of the attestation manifest about IMAGE in the index ROOT
 * of STORE, into OUT; ENOENT when there is none. */
static int
find_attestation (struct builder_store *store, const char *root, const char *image, char out[HOIST_DIGEST_STR_SIZE],
                  struct hoist_error **err)
{
  struct builder_index *idx = NULL;
  json_t *doc = NULL;
  int r = builder_store_read_json (store, root, 0, &doc, err);

  if (r == 0)
    r = builder_index_from_json (doc, &idx, err);
  json_decref (doc);
  if (r < 0)
    return -1;
  r = -ENOENT;
  for (size_t i = 0; i < idx->n_manifests && r < 0; i++)
    {
      const struct builder_descriptor *d = &idx->manifests[i];
      const char *type = builder_map_get (&d->annotations, "vnd.docker.reference.type");
      const char *about = builder_map_get (&d->annotations, "vnd.docker.reference.digest");

      if (type != NULL && strcmp (type, "attestation-manifest") == 0 && about != NULL && strcmp (about, image) == 0)
        {
          memcpy (out, d->digest, HOIST_DIGEST_STR_SIZE);
          r = 0;
        }
    }
  builder_index_free (idx);
  return r;
}

static bool
wanted (const char *type, const char *const *types)
{
  for (size_t i = 0; type != NULL && types[i] != NULL; i++)
    if (strcmp (type, types[i]) == 0)
      return true;
  return false;
}

int
builder_pull_statement (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
                        const char *const *predicate_types, json_t **out, struct hoist_error **err)
{
  struct builder_pull_opts po = *o;
  struct builder_pull_result res;
  struct builder_manifest *m = NULL;
  struct registry_ref ref = { 0 };
  char att[HOIST_DIGEST_STR_SIZE];
  cleanup_free char *repo = NULL;
  cleanup_free char *by_digest = NULL;
  json_t *doc = NULL;
  int r;

  po.documents_only = true;
  *out = NULL;
  if (builder_pull (store, name, &po, &res, err) < 0)
    return -1;
  r = builder_media_type_is_index (res.root.media_type)
          ? find_attestation (store, res.root.digest, res.manifest.digest, att, err)
          : -ENOENT;
  if (r == -ENOENT)
    r = hoist_error_set_status (err, ENOENT,
                                "'%s' has no attestations (hint: hoist attaches them unless built with "
                                "--sbom=false --provenance=false)",
                                name);
  /* The attestation manifest and its statements, by digest. */
  if (r == 0)
    r = registry_ref_parse (name, &ref, err);
  if (r == 0)
    {
      repo = registry_ref_repository (&ref);
      by_digest = hoist_xasprintf ("%s@%s", repo, att);
      po.documents_only = false;
      po.quiet = true;
      builder_pull_result_release (&res);
      r = builder_pull (store, by_digest, &po, &res, err);
    }
  if (r == 0)
    r = builder_store_read_json (store, att, 0, &doc, err);
  if (r == 0)
    r = builder_manifest_from_json (doc, &m, err);
  json_decref (doc);
  for (size_t i = 0; r == 0 && m != NULL && i < m->n_layers && *out == NULL; i++)
    if (wanted (builder_map_get (&m->layers[i].annotations, "in-toto.io/predicate-type"), predicate_types))
      r = builder_store_read_json (store, m->layers[i].digest, 0, out, err);
  if (r == 0 && *out == NULL)
    r = hoist_error_set_status (err, ENOENT, "'%s' has no %s statement", name, predicate_types[0]);
  builder_manifest_free (m);
  builder_pull_result_release (&res);
  registry_ref_release (&ref);
  return r;
}
