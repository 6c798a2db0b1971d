/* push.c — an image of the local store to a registry, in the order the
 * distribution spec needs: every blob (layers, configs, any other blob an
 * index names), then the manifests an index holds (by digest), then the
 * root manifest or index under the tag.  A blob the repository already
 * has (HEAD) is not sent.  Documents are sent as the exact bytes of the
 * store, checked against their digest first; blobs stream from the
 * store's files (registry_blob_push reads them with pread). */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build_private.h"
#include "builder/oci_private.h"
#include "registry/registry.h"

/* The bytes of document REF into OUT (initialised by the caller), checked
 * against its digest. */
static int
read_document (struct builder_store *store, const struct oci_blob_ref *ref, struct hoist_buf *out,
               struct hoist_error **err)
{
  cleanup_close int fd = -1;
  char got[HOIST_DIGEST_STR_SIZE];
  int64_t size;

  if (builder_store_blob_open (store, ref->digest, &fd, &size, err) < 0)
    return -1;
  if (size > (int64_t) BUILDER_JSON_BLOB_MAX)
    return hoist_error_set_status (err, E2BIG, "manifest %s is larger than %u bytes", ref->digest,
                                   (unsigned) BUILDER_JSON_BLOB_MAX);
  if (hoist_buf_read_fd (out, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read manifest %s", ref->digest);
  if (hoist_sha256_digest (out->data, out->len, got, err) < 0)
    return -1;
  if (strcmp (got, ref->digest) != 0)
    return hoist_error_set_status (err, EBADMSG, "manifest %s in '%s' is corrupt: its content hashes to '%s'",
                                   ref->digest, builder_store_path (store), got);
  return 0;
}

/* The repository of O->mount_from on DEST's registry, other than DEST's
 * own, or NULL.  Owned by the caller. */
static char *
mount_source (const struct builder_push_opts *o, const struct registry_ref *dest)
{
  for (size_t i = 0; o->mount_from != NULL && o->mount_from[i] != NULL; i++)
    {
      struct registry_ref r;
      char *path = NULL;

      if (registry_ref_parse (o->mount_from[i], &r, NULL) < 0)
        continue;
      if (strcmp (r.domain, dest->domain) == 0 && strcmp (r.path, dest->path) != 0)
        path = hoist_xstrdup (r.path);
      registry_ref_release (&r);
      if (path != NULL)
        return path;
    }
  return NULL;
}

static int
push_blob (struct builder_store *store, struct registry_client *rc, const struct oci_blob_ref *ref,
           const char *mount_from, const struct builder_push_opts *o, struct builder_push_result *res,
           struct hoist_error **err)
{
  cleanup_close int fd = -1;
  char size[32];
  double t0 = build_now ();
  int64_t have;
  int r;

  build_format_size (ref->size, size, sizeof size);
  r = registry_blob_exists (rc, ref->digest, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      if (!o->quiet)
        hoist_log_print ("blob %.19s %s: already there", ref->digest, size);
      res->blobs_skipped++;
      return 0;
    }
  if (builder_store_blob_open (store, ref->digest, &fd, &have, err) < 0)
    return -1;
  if (have != ref->size)
    return hoist_error_set_status (err, EBADMSG, "blob %s is %lld bytes but its descriptor says %lld", ref->digest,
                                   (long long) have, (long long) ref->size);
  r = registry_blob_push (rc, ref->digest, ref->size, fd, mount_from, err);
  if (r < 0)
    return -1;
  if (r == 1)
    res->blobs_mounted++;
  else
    {
      res->blobs_pushed++;
      res->bytes_pushed += ref->size;
    }
  if (!o->quiet)
    {
      double dt = build_now () - t0;

      hoist_log_print ("blob %.19s %s: %s in %.2f s", ref->digest, size, r == 1 ? "mounted" : "pushed", dt);
    }
  return 0;
}

/* The client of DEST's registry, set up to push (with O's progress when
 * PROGRESS), and DEST parsed into *REF (the caller releases both). */
static int
open_for_push (const char *dest, const struct builder_push_opts *o, bool progress, struct registry_ref *ref,
               struct registry_client **rc, struct hoist_error **err)
{
  int ret = registry_ref_parse (dest, ref, err);

  if (ret == 0)
    ret = registry_client_new (ref, &o->registry, rc, err);
  if (ret == 0)
    {
      registry_client_will_push (*rc);
      if (progress)
        registry_client_set_progress (*rc, o->progress, o->progress_ctx);
    }
  return ret;
}

int
builder_push_image (struct builder_store *store, const struct builder_descriptor *image, const char *dest,
                    const struct builder_push_opts *o, struct builder_push_result *res, struct hoist_error **err)
{
  const struct builder_descriptor desc = *image; /* a shallow copy, for the short name */
  struct registry_ref ref = { 0 };
  struct registry_client *rc = NULL;
  struct oci_blob_list blobs = { 0 };
  cleanup_free char *full = NULL;
  cleanup_free char *mount = NULL;
  const char *reference;
  int ret;

  memset (res, 0, sizeof *res);
  ret = open_for_push (dest, o, true, &ref, &rc, err);
  if (ret == 0)
    ret = oci_collect_blobs (store, &desc, &blobs, err);
  full = ret == 0 ? registry_ref_string (&ref) : NULL;
  mount = ret == 0 ? mount_source (o, &ref) : NULL;
  reference = ref.tag != NULL ? ref.tag : ref.digest;
  if (ret == 0 && ref.digest != NULL && strcmp (ref.digest, desc.digest) != 0)
    ret = hoist_error_set_status (err, EINVAL, "'%s' names digest %s, but the image is %s", dest, ref.digest,
                                  desc.digest);
  for (size_t i = 0; ret == 0 && i < blobs.n; i++)
    {
      const struct oci_blob_ref *b = &blobs.items[i];
      bool document = builder_media_type_is_manifest (b->media_type) || builder_media_type_is_index (b->media_type);
      bool root = strcmp (b->digest, desc.digest) == 0;

      if (root)
        continue; /* last, under the tag */
      if (!document)
        ret = push_blob (store, rc, b, mount, o, res, err);
      else
        {
          cleanup_buf struct hoist_buf bytes;

          hoist_buf_init (&bytes, BUILDER_JSON_BLOB_MAX);
          ret = read_document (store, b, &bytes, err);
          if (ret == 0)
            ret = registry_manifest_put (rc, b->digest, b->media_type, bytes.data, bytes.len, NULL, err);
        }
    }
  if (ret == 0)
    {
      cleanup_buf struct hoist_buf bytes;
      struct oci_blob_ref root = { .size = desc.size };

      hoist_buf_init (&bytes, BUILDER_JSON_BLOB_MAX);
      memcpy (root.digest, desc.digest, HOIST_DIGEST_STR_SIZE);
      ret = read_document (store, &root, &bytes, err);
      if (ret == 0)
        ret = registry_manifest_put (rc, reference, desc.media_type, bytes.data, bytes.len, NULL, err);
      if (ret == 0)
        {
          memcpy (res->digest, desc.digest, HOIST_DIGEST_STR_SIZE);
          if (!o->quiet)
            hoist_log_print ("pushed %s@%s", full, desc.digest);
        }
    }
  oci_blob_list_release (&blobs);
  registry_client_free (rc);
  registry_ref_release (&ref);
  return ret;
}

static int push_stored_referrers (struct builder_store *store, const struct builder_descriptor *image, const char *dest,
                                  const struct builder_push_opts *o, struct hoist_error **err);

int
builder_push (struct builder_store *store, const char *tag, const char *dest, const struct builder_push_opts *o,
              struct builder_push_result *res, struct hoist_error **err)
{
  struct builder_descriptor desc;
  int ret;

  if (builder_store_resolve (store, tag, &desc, err) < 0)
    return hoist_error_wrap (err, "cannot push '%s'", tag);
  ret = builder_push_image (store, &desc, dest, o, res, err);
  if (ret == 0)
    ret = push_stored_referrers (store, &desc, dest, o, err);
  builder_descriptor_release (&desc);
  if (ret < 0)
    return hoist_error_wrap (err, "cannot push '%s' to '%s'", tag, dest);
  return 0;
}

/* ---- Referrers ----------------------------------------------------------------------- */

/* The subject digest of the referrer manifest BYTES into OUT. */
static int
subject_of (const struct hoist_buf *bytes, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  json_error_t je;
  json_t *doc = json_loadb (bytes->data, bytes->len, JSON_REJECT_DUPLICATES, &je);
  const char *d = json_string_value (json_object_get (json_object_get (doc, "subject"), "digest"));
  int r = 0;

  if (d == NULL || strlen (d) != HOIST_DIGEST_STR_SIZE - 1)
    r = hoist_error_set_status (err, EINVAL, "a referrer manifest without a subject");
  else
    memcpy (out, d, HOIST_DIGEST_STR_SIZE);
  json_decref (doc);
  return r;
}

static bool
blob_listed (const struct oci_blob_list *l, const char *digest)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].digest, digest) == 0)
      return true;
  return false;
}

/* The referrers tag of SUBJECT ("sha256-<hex>"), for a registry without
 * the referrers API: its index gets REFS (those about SUBJECT), replacing
 * entries of the same digest and keeping the others (a signature pushed
 * before, say). */
static int
update_referrers_tag (struct registry_client *rc, const char *subject, const struct builder_descriptor *refs,
                      const char (*subjects)[HOIST_DIGEST_STR_SIZE], size_t n, struct builder_push_result *res,
                      struct hoist_error **err)
{
  cleanup_buf struct hoist_buf old;
  cleanup_free char *media_type = NULL;
  char tag[HOIST_DIGEST_STR_SIZE], digest[HOIST_DIGEST_STR_SIZE];
  struct builder_index *idx = NULL;
  json_t *doc = NULL;
  char *text;
  int r;

  snprintf (tag, sizeof tag, "sha256-%s", subject + 7);
  hoist_buf_init (&old, BUILDER_JSON_BLOB_MAX);
  r = registry_manifest_get (rc, tag, &old, &media_type, digest, err);
  res->round_trips++;
  if (r == -ENOENT)
    {
      hoist_error_free (*err);
      *err = NULL;
      idx = builder_index_new ();
      r = 0;
    }
  else if (r == 0)
    {
      json_error_t je;

      doc = json_loadb (old.data, old.len, JSON_REJECT_DUPLICATES, &je);
      r = doc != NULL ? builder_index_from_json (doc, &idx, err)
                      : hoist_error_set_status (err, EBADMSG, "the referrers tag '%s' is not JSON: %s", tag, je.text);
      json_decref (doc);
    }
  if (r < 0)
    return hoist_error_wrap (err, "cannot read the referrers tag '%s'", tag);
  for (size_t i = 0; i < n; i++)
    if (strcmp (subjects[i], subject) == 0)
      {
        for (size_t j = 0; j < idx->n_manifests; j++)
          if (strcmp (idx->manifests[j].digest, refs[i].digest) == 0)
            {
              builder_descriptor_release (&idx->manifests[j]);
              memmove (&idx->manifests[j], &idx->manifests[j + 1], (idx->n_manifests - j - 1) * sizeof *idx->manifests);
              idx->n_manifests--;
              break;
            }
        builder_index_add (idx, &refs[i]);
      }
  doc = builder_index_to_json (idx);
  text = json_dumps (doc, JSON_COMPACT);
  r = registry_manifest_put (rc, tag, BUILDER_MT_OCI_INDEX, text, strlen (text), NULL, err);
  res->round_trips++;
  free (text);
  json_decref (doc);
  builder_index_free (idx);
  return r < 0 ? hoist_error_wrap (err, "cannot update the referrers tag '%s'", tag) : 0;
}

int
builder_push_referrers (struct builder_store *store, const struct builder_descriptor *image,
                        const struct builder_descriptor *refs, size_t n, const char *dest,
                        const struct builder_push_opts *o, struct builder_push_result *res, struct hoist_error **err)
{
  struct registry_ref ref = { 0 };
  struct registry_client *rc = NULL;
  struct oci_blob_list sent = { 0 }, blobs = { 0 };
  char (*subjects)[HOIST_DIGEST_STR_SIZE] = hoist_xcalloc (n + 1, sizeof *subjects);
  bool all_seen = true;
  int ret;

  memset (res, 0, sizeof *res);
  ret = open_for_push (dest, o, false, &ref, &rc, err);
  /* What the image's push sent need not be asked about again. */
  if (ret == 0)
    ret = oci_collect_blobs (store, image, &sent, err);
  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      cleanup_buf struct hoist_buf bytes;
      struct oci_blob_ref root = { .size = refs[i].size };
      bool seen = false;

      oci_blob_list_release (&blobs);
      ret = oci_collect_blobs (store, &refs[i], &blobs, err);
      for (size_t b = 0; ret == 0 && b < blobs.n; b++)
        if (strcmp (blobs.items[b].digest, refs[i].digest) != 0 && !blob_listed (&sent, blobs.items[b].digest))
          {
            ret = push_blob (store, rc, &blobs.items[b], NULL, o, res, err);
            res->round_trips++;
            /* Sent (or there) now, for the next referrer too. */
            sent.items = hoist_xreallocarray (sent.items, sent.n + 1, sizeof *sent.items);
            sent.items[sent.n++] = blobs.items[b];
          }
      hoist_buf_init (&bytes, BUILDER_JSON_BLOB_MAX);
      memcpy (root.digest, refs[i].digest, HOIST_DIGEST_STR_SIZE);
      if (ret == 0)
        ret = read_document (store, &root, &bytes, err);
      if (ret == 0)
        ret = subject_of (&bytes, subjects[i], err);
      if (ret == 0)
        ret = registry_manifest_put (rc, refs[i].digest, refs[i].media_type, bytes.data, bytes.len, &seen, err);
      res->round_trips++;
      all_seen = all_seen && seen;
      if (ret == 0 && !o->quiet)
        hoist_log_print ("pushed referrer %s (%s)", refs[i].digest,
                         refs[i].artifact_type != NULL ? refs[i].artifact_type : "no artifactType");
    }
  /* Registries with the referrers API say so with OCI-Subject; for the
   * others (Distribution 2.8, GHCR) the tag fallback of the spec. */
  for (size_t i = 0; ret == 0 && !all_seen && i < n; i++)
    {
      bool first = true;

      for (size_t j = 0; j < i && first; j++)
        first = strcmp (subjects[j], subjects[i]) != 0;
      if (first)
        ret = update_referrers_tag (rc, subjects[i], refs, (const char (*)[HOIST_DIGEST_STR_SIZE]) subjects, n, res,
                                    err);
    }
  free (subjects);
  oci_blob_list_release (&blobs);
  oci_blob_list_release (&sent);
  registry_client_free (rc);
  registry_ref_release (&ref);
  return ret < 0 ? hoist_error_wrap (err, "cannot push the referrers to '%s'", dest) : 0;
}

/* The referrers the store lists about IMAGE or the manifests it holds
 * (the attestations a build made), pushed beside it. */
static int
push_stored_referrers (struct builder_store *store, const struct builder_descriptor *image, const char *dest,
                       const struct builder_push_opts *o, struct hoist_error **err)
{
  struct oci_blob_list blobs = { 0 };
  struct builder_descriptor *refs = NULL;
  struct builder_push_result res;
  cleanup_strv char **subjects = NULL;
  size_t n = 0;
  int ret = oci_collect_blobs (store, image, &blobs, err);

  for (size_t i = 0; ret == 0 && i < blobs.n; i++)
    if (builder_media_type_is_manifest (blobs.items[i].media_type)
        || builder_media_type_is_index (blobs.items[i].media_type))
      hoist_strv_push (&subjects, blobs.items[i].digest);
  hoist_strv_push (&subjects, image->digest);
  if (ret == 0)
    ret = builder_store_referrers (store, subjects, &refs, &n, err);
  /* This image's own: their statements are in its attestation manifests
   * (another build of the same image made others). */
  for (size_t i = 0; ret == 0 && i < n;)
    {
      struct oci_blob_list rb = { 0 };
      bool own = true;

      ret = oci_collect_blobs (store, &refs[i], &rb, err);
      for (size_t b = 0; ret == 0 && b < rb.n && own; b++)
        own = strcmp (rb.items[b].digest, refs[i].digest) == 0 || blob_listed (&blobs, rb.items[b].digest);
      oci_blob_list_release (&rb);
      if (own)
        i++;
      else
        {
          builder_descriptor_release (&refs[i]);
          memmove (&refs[i], &refs[i + 1], (n - i - 1) * sizeof *refs);
          n--;
        }
    }
  if (ret == 0 && n > 0)
    ret = builder_push_referrers (store, image, refs, n, dest, o, &res, err);
  if (ret == 0 && n > 0 && !o->quiet)
    hoist_log_print ("pushed %zu referrers in %zu requests", n, res.round_trips);
  for (size_t i = 0; i < n; i++)
    builder_descriptor_release (&refs[i]);
  free (refs);
  oci_blob_list_release (&blobs);
  return ret;
}
