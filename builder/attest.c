/* attest.c — attestations attached to built images, both ways registries
 * and tools look for them:
 *
 *  1. BuildKit's layout, which `docker buildx imagetools inspect` reads:
 *     the image index holds, beside each platform's image manifest, an
 *     attestation manifest (platform unknown/unknown, annotations
 *     vnd.docker.reference.type "attestation-manifest" and
 *     vnd.docker.reference.digest naming the image manifest) whose layers
 *     are the in-toto statements (application/vnd.in-toto+json, annotated
 *     with in-toto.io/predicate-type).  Its config is a minimal image
 *     config, only there because a manifest needs one.
 *  2. OCI 1.1 referrers: per statement an artifact manifest whose subject
 *     is the image manifest and whose artifactType says what it is
 *     (application/spdx+json, application/vnd.cyclonedx+json,
 *     application/vnd.in-toto+json for provenance), its config the
 *     attestation manifest's (so that its push is one manifest PUT).
 *     They are not part of the index: the registry (or the referrers tag
 *     fallback, push.c) lists them.
 *
 * Everything goes into the store; the caller tags and pushes the root. */
#include "config.h"

#define BUILDER_INTERNAL

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "builder/oci_private.h"
#include "builder/sbom_private.h"

#define ANNOTATION_REFERENCE_TYPE "vnd.docker.reference.type"
#define ANNOTATION_REFERENCE_DIGEST "vnd.docker.reference.digest"
#define ANNOTATION_PREDICATE_TYPE "in-toto.io/predicate-type"
#define ATTESTATION_MANIFEST "attestation-manifest"
#define PREDICATE_SPDX "https://spdx.dev/Document"
#define PREDICATE_CYCLONEDX "https://cyclonedx.org/bom"
#define MT_SPDX "application/spdx+json"
#define MT_CYCLONEDX "application/vnd.cyclonedx+json"

void
builder_attest_result_release (struct builder_attest_result *r)
{
  builder_descriptor_release (&r->root);
  for (size_t i = 0; i < r->n_referrers; i++)
    builder_descriptor_release (&r->referrers[i]);
  free (r->referrers);
  memset (r, 0, sizeof *r);
  builder_descriptor_init (&r->root);
}

/* One statement, stored: its descriptor (annotated with its predicate
 * type) and the artifact type a referrer of it gets. */
struct statement
{
  struct builder_descriptor desc;
  const char *artifact_type;
};

static int
put_statement (struct builder_store *store, json_t *stmt, const char *predicate_type, const char *artifact_type,
               struct statement *out, struct hoist_error **err)
{
  int r = builder_store_put_json (store, stmt, BUILDER_MT_IN_TOTO, &out->desc, err);

  json_decref (stmt);
  if (r < 0)
    return hoist_error_wrap (err, "cannot store the %s statement", predicate_type);
  builder_map_set (&out->desc.annotations, ANNOTATION_PREDICATE_TYPE, predicate_type);
  out->artifact_type = artifact_type;
  return 0;
}

/* Every layer of the image manifest DIGEST through the scanner S. */
static int
scan_layers (struct builder_store *store, const char *digest, struct builder_sbom_scan *s, struct hoist_error **err)
{
  struct builder_manifest *m = NULL;
  json_t *doc = NULL;
  int r = builder_store_read_json (store, digest, 0, &doc, err);

  if (r == 0)
    r = builder_manifest_from_json (doc, &m, err);
  json_decref (doc);
  for (size_t i = 0; r == 0 && i < m->n_layers; i++)
    {
      cleanup_close int fd = -1;

      r = builder_store_blob_open (store, m->layers[i].digest, &fd, NULL, err);
      if (r == 0)
        r = builder_sbom_scan_layer_fd (s, fd, err);
      if (r < 0)
        hoist_error_wrap (err, "layer %s", m->layers[i].digest);
    }
  builder_manifest_free (m);
  return r;
}

/* ---- The package list, cached per image ------------------------------------------- */

/* The packages of an image depend on its layers alone: the list is kept
 * under CACHE_DIR/<manifest hex>.json (a format of our own, versioned in
 * the name), so that a rebuild that changed nothing does not read the
 * layers again.  A cache file that does not read back as written is
 * ignored: the layers are scanned. */
#define SBOM_CACHE_VERSION "v1"
static const char *const package_fields[] = { "type", "name", "version", "purl", "license", "arch", "location" };
#define N_PACKAGE_FIELDS (sizeof package_fields / sizeof *package_fields)

static char **
package_field (struct builder_sbom_package *p, size_t i)
{
  char **f[] = { &p->type, &p->name, &p->version, &p->purl, &p->license, &p->arch, &p->location };

  return f[i];
}

static bool
cache_load (const char *dir, const char *digest, struct builder_sbom *out)
{
  cleanup_free char *path = hoist_xasprintf ("%s/%s-" SBOM_CACHE_VERSION ".json", dir, digest + 7);
  json_error_t je;
  json_t *doc = json_load_file (path, JSON_REJECT_DUPLICATES, &je);
  size_t i;
  json_t *e;

  if (!json_is_array (doc) || json_array_size (doc) > BUILDER_SBOM_PACKAGES_MAX)
    {
      json_decref (doc);
      return false;
    }
  out->v = hoist_xcalloc (json_array_size (doc) + 1, sizeof *out->v);
  json_array_foreach (doc, i, e)
    {
      for (size_t f = 0; f < N_PACKAGE_FIELDS; f++)
        {
          json_t *v = json_object_get (e, package_fields[f]);

          if (json_is_string (v))
            *package_field (&out->v[i], f) = hoist_xstrdup (json_string_value (v));
          else if (!json_is_null (v) || f < 4 || f == 6)
            {
              out->n = i + 1;
              builder_sbom_release (out);
              json_decref (doc);
              return false;
            }
        }
      out->n = i + 1;
    }
  json_decref (doc);
  return true;
}

static void
cache_save (const char *dir, const char *digest, const struct builder_sbom *sbom)
{
  cleanup_free char *name = hoist_xasprintf ("%s-" SBOM_CACHE_VERSION ".json", digest + 7);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_close int dirfd = -1;
  json_t *doc = json_array ();
  char *text;

  for (size_t i = 0; i < sbom->n; i++)
    {
      json_t *e = json_object ();

      for (size_t f = 0; f < N_PACKAGE_FIELDS; f++)
        {
          const char *v = *package_field ((struct builder_sbom_package *) &sbom->v[i], f);
          json_object_set_new (e, package_fields[f], v != NULL ? json_string (v) : json_null ());
        }
      json_array_append_new (doc, e);
    }
  text = json_dumps (doc, JSON_COMPACT);
  json_decref (doc);
  if (oci_mkdir_parents (dir, &err) == 0 && (dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0
      && oci_write_atomic (dirfd, name, text, strlen (text), &err) < 0)
    hoist_error_wrap (&err, "cannot write '%s'", name);
  if (err != NULL)
    hoist_log (HOIST_LOG_DEBUG, "cannot cache the SBOM of %s: %s", digest, err->msg);
  free (text);
}

/* The SBOM predicate of IMG: the packages its layers hold, as the
 * document O asks for. */
static int
sbom_predicate (struct builder_store *store, const struct builder_attest_image *img,
                const struct builder_attest_opts *o, json_t **out, struct hoist_error **err)
{
  struct builder_sbom_scan *s = NULL;
  struct builder_sbom sbom = { 0 };
  struct builder_sbom_doc doc = {
    .image_name = o->image_name != NULL ? o->image_name : "image",
    .digest = img->manifest.digest,
    .created = o->sbom_created,
  };
  bool cached = o->sbom_cache_dir != NULL && cache_load (o->sbom_cache_dir, img->manifest.digest, &sbom);
  int r = cached ? 0 : builder_sbom_scan_new (&s, err);

  if (r == 0 && !cached)
    r = scan_layers (store, img->manifest.digest, s, err);
  if (r == 0 && !cached)
    r = builder_sbom_scan_finish (s, &sbom, err);
  if (r == 0 && !cached && o->sbom_cache_dir != NULL)
    cache_save (o->sbom_cache_dir, img->manifest.digest, &sbom);
  if (r == 0)
    r = o->sbom == BUILDER_SBOM_CYCLONEDX ? builder_sbom_cyclonedx (&sbom, &doc, out, err)
                                          : builder_sbom_spdx (&sbom, &doc, out, err);
  builder_sbom_release (&sbom);
  builder_sbom_scan_free (s);
  return r < 0 ? hoist_error_wrap (err, "cannot make the SBOM of %s", img->manifest.digest) : 0;
}

/* The statements about IMG: the SBOM, then the provenance. */
static int
statements (struct builder_store *store, const struct builder_attest_image *img, const struct builder_attest_opts *o,
            struct statement *v, size_t *n, struct hoist_error **err)
{
  const char *subject = o->subject_name != NULL ? o->subject_name : "image";

  *n = 0;
  if (o->sbom != BUILDER_SBOM_NONE)
    {
      bool cdx = o->sbom == BUILDER_SBOM_CYCLONEDX;
      const char *type = cdx ? PREDICATE_CYCLONEDX : PREDICATE_SPDX;
      json_t *pred = NULL;

      if (sbom_predicate (store, img, o, &pred, err) < 0
          || put_statement (store, builder_intoto_statement (type, subject, img->manifest.digest, pred), type,
                            cdx ? MT_CYCLONEDX : MT_SPDX, &v[*n], err)
                 < 0)
        return -1;
      (*n)++;
    }
  if (o->provenance.mode != BUILDER_PROVENANCE_OFF)
    {
      struct builder_provenance_info p = o->provenance;
      json_t *pred = NULL;

      p.plan = img->plan;
      p.platform = img->platform;
      if (builder_provenance (&p, img->res, &pred, err) < 0)
        return -1;
      if (put_statement (store,
                         builder_intoto_statement (BUILDER_PREDICATE_SLSA_V1, subject, img->manifest.digest, pred),
                         BUILDER_PREDICATE_SLSA_V1, BUILDER_MT_IN_TOTO, &v[*n], err)
          < 0)
        return -1;
      (*n)++;
    }
  return 0;
}

/* The image config of an attestation manifest: valid, and nothing else. */
static int
attestation_config (struct builder_store *store, const struct statement *v, size_t n, struct builder_descriptor *out,
                    struct hoist_error **err)
{
  json_t *ids = json_array ();
  json_t *cfg;
  int r;

  for (size_t i = 0; i < n; i++)
    json_array_append_new (ids, json_string (v[i].desc.digest));
  cfg = json_pack ("{sssss{}s{ssso}}", "architecture", "unknown", "os", "unknown", "config", "rootfs", "type", "layers",
                   "diff_ids", ids);
  r = builder_store_put_json (store, cfg, BUILDER_MT_OCI_CONFIG, out, err);
  json_decref (cfg);
  return r;
}

static int
put_manifest (struct builder_store *store, const struct builder_manifest *m, struct builder_descriptor *out,
              struct hoist_error **err)
{
  json_t *doc = builder_manifest_to_json (m);
  int r = builder_store_put_json (store, doc, m->media_type, out, err);

  json_decref (doc);
  return r;
}

/* BuildKit's attestation manifest for IMG, as its index entry in *OUT;
 * *CONFIG (initialised by the caller) gets its config. */
static int
attestation_manifest (struct builder_store *store, const struct builder_attest_image *img, const struct statement *v,
                      size_t n, struct builder_descriptor *out, struct builder_descriptor *config,
                      struct hoist_error **err)
{
  struct builder_manifest *m = builder_manifest_new ();
  int r = attestation_config (store, v, n, &m->config, err);

  for (size_t i = 0; r == 0 && i < n; i++)
    builder_manifest_add_layer (m, &v[i].desc);
  if (r == 0)
    r = put_manifest (store, m, out, err);
  if (r == 0)
    builder_descriptor_copy (config, &m->config);
  builder_manifest_free (m);
  if (r < 0)
    return -1;
  out->platform = hoist_xcalloc (1, sizeof *out->platform);
  out->platform->architecture = hoist_xstrdup ("unknown");
  out->platform->os = hoist_xstrdup ("unknown");
  builder_map_set (&out->annotations, ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST);
  builder_map_set (&out->annotations, ANNOTATION_REFERENCE_DIGEST, img->manifest.digest);
  return 0;
}

/* The OCI 1.1 referrer of statement S about IMG.  Its config is the
 * attestation manifest's, CONFIG (artifactType says what the artifact
 * is): a registry then holds every blob of it once the image index is
 * pushed, and pushing the referrer is its manifest alone. */
static int
referrer (struct builder_store *store, const struct builder_attest_image *img, const struct statement *s,
          const struct builder_descriptor *config, const char *created, struct builder_descriptor *out,
          struct hoist_error **err)
{
  struct builder_manifest *m = builder_manifest_new ();
  int r = 0;

  builder_descriptor_release (&m->config);
  builder_descriptor_copy (&m->config, config);
  m->artifact_type = hoist_xstrdup (s->artifact_type);
  builder_manifest_add_layer (m, &s->desc);
  m->subject = hoist_xcalloc (1, sizeof *m->subject);
  builder_descriptor_set (m->subject, img->manifest.media_type, img->manifest.digest, img->manifest.size);
  builder_map_set (&m->annotations, ANNOTATION_PREDICATE_TYPE,
                   builder_map_get (&s->desc.annotations, ANNOTATION_PREDICATE_TYPE));
  if (created != NULL)
    builder_map_set (&m->annotations, "org.opencontainers.image.created", created);
  r = put_manifest (store, m, out, err);
  if (r == 0)
    {
      /* As the referrers API lists it. */
      out->artifact_type = hoist_xstrdup (s->artifact_type);
      builder_map_copy (&out->annotations, &m->annotations);
    }
  builder_manifest_free (m);
  return r;
}

static void
push_referrer (struct builder_attest_result *out, const struct builder_descriptor *d)
{
  out->referrers = hoist_xreallocarray (out->referrers, out->n_referrers + 1, sizeof *out->referrers);
  builder_descriptor_init (&out->referrers[out->n_referrers]);
  builder_descriptor_copy (&out->referrers[out->n_referrers++], d);
}

/* IMG's statements into IDX (its attestation manifest) and OUT (its
 * referrers). */
static int
attest_one (struct builder_store *store, const struct builder_attest_image *img, const struct builder_attest_opts *o,
            struct builder_index *idx, struct builder_attest_result *out, struct hoist_error **err)
{
  struct statement v[2];
  struct builder_descriptor d, config;
  size_t n = 0;
  int r;

  memset (v, 0, sizeof v);
  for (size_t i = 0; i < 2; i++)
    builder_descriptor_init (&v[i].desc);
  builder_descriptor_init (&d);
  builder_descriptor_init (&config);
  r = statements (store, img, o, v, &n, err);
  if (r == 0 && n > 0)
    r = attestation_manifest (store, img, v, n, &d, &config, err);
  if (r == 0 && n > 0)
    builder_index_add (idx, &d);
  for (size_t i = 0; r == 0 && i < n; i++)
    {
      builder_descriptor_release (&d);
      r = referrer (store, img, &v[i], &config, o->created, &d, err);
      if (r == 0)
        push_referrer (out, &d);
    }
  builder_descriptor_release (&d);
  builder_descriptor_release (&config);
  for (size_t i = 0; i < 2; i++)
    builder_descriptor_release (&v[i].desc);
  return r;
}

int
builder_attest (struct builder_store *store, const struct builder_attest_image *images, size_t n,
                const struct builder_attest_opts *o, struct builder_attest_result *out, struct hoist_error **err)
{
  struct builder_index *idx = builder_index_new ();
  json_t *doc;
  int r = 0;

  memset (out, 0, sizeof *out);
  builder_descriptor_init (&out->root);
  for (size_t i = 0; i < n; i++)
    builder_index_add (idx, &images[i].manifest);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = attest_one (store, &images[i], o, idx, out, err);
  if (r == 0)
    {
      doc = builder_index_to_json (idx);
      r = builder_store_put_json (store, doc, BUILDER_MT_OCI_INDEX, &out->root, err);
      json_decref (doc);
    }
  builder_index_free (idx);
  if (r < 0)
    builder_attest_result_release (out);
  return r;
}
