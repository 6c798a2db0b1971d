/* store_export.c — copying one image out of the store: into another OCI
 * layout directory, or into an OCI archive (a tar of such a layout), for
 * `-o type=oci,dest=...`.
 *
 * The walk reads every manifest and index it follows through
 * builder_store_read_json, so each is size-capped and digest-checked
 * before it is parsed, and every blob copied is re-hashed on the way:
 * a corrupt store cannot produce an export that looks sound. */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/oci_private.h"

/* An index of indexes of manifests is as deep as real images go
 * (BuildKit: index -> manifest); a little room above that. */
#define WALK_DEPTH_MAX 4
/* Most blobs one image may reach: the index cap times a few layers would
 * be far too many to copy in any case. */
#define WALK_BLOBS_MAX 100000u
#define COPY_CHUNK (64 * 1024)

/* ---- Walking an image ----------------------------------------------------- */

struct walk
{
  struct builder_store *store;
  struct oci_blob_list *list;
  char (*visited)[HOIST_DIGEST_STR_SIZE]; /* manifests and indexes read */
  size_t n_visited;
};

static int
list_add (struct walk *w, const char *digest, int64_t size, const char *media_type, struct hoist_error **err)
{
  struct oci_blob_list *l = w->list;

  if (l->n >= WALK_BLOBS_MAX)
    return hoist_error_set_status (err, E2BIG, "image reaches more than %u blobs", WALK_BLOBS_MAX);
  l->items = hoist_xreallocarray (l->items, l->n + 1, sizeof (*l->items));
  memcpy (l->items[l->n].digest, digest, HOIST_DIGEST_STR_SIZE);
  l->items[l->n].size = size;
  /* Longer ones are no media type hoist acts on: cut, they stay unknown. */
  snprintf (l->items[l->n].media_type, sizeof l->items[l->n].media_type, "%s", media_type != NULL ? media_type : "");
  l->n++;
  return 0;
}

/* True the first time DIGEST is seen: an index naming one manifest many
 * times must not make the walk read it many times. */
static bool
first_visit (struct walk *w, const char *digest)
{
  for (size_t i = 0; i < w->n_visited; i++)
    if (strcmp (w->visited[i], digest) == 0)
      return false;
  w->visited = hoist_xreallocarray (w->visited, w->n_visited + 1, sizeof (*w->visited));
  memcpy (w->visited[w->n_visited++], digest, HOIST_DIGEST_STR_SIZE);
  return true;
}

static int walk_descriptor (struct walk *w, const struct builder_descriptor *d, int depth, struct hoist_error **err);

static int
walk_manifest (struct walk *w, const json_t *doc, struct hoist_error **err)
{
  struct builder_manifest *m = NULL;
  int ret;

  if (builder_manifest_from_json (doc, &m, err) < 0)
    return -1;
  ret = list_add (w, m->config.digest, m->config.size, m->config.media_type, err);
  for (size_t i = 0; ret == 0 && i < m->n_layers; i++)
    {
      const struct builder_descriptor *l = &m->layers[i];
      /* A foreign layer (Windows base layers) lives at its URLs, not in
       * any layout or registry hoist writes to: copy it only if present. */
      if (l->urls != NULL && l->urls[0] != NULL && !builder_store_has_blob (w->store, l->digest))
        continue;
      ret = list_add (w, l->digest, l->size, l->media_type, err);
    }
  builder_manifest_free (m);
  return ret;
}

static int
walk_index (struct walk *w, const json_t *doc, int depth, struct hoist_error **err)
{
  struct builder_index *idx = NULL;
  int ret = 0;

  if (builder_index_from_json (doc, &idx, err) < 0)
    return -1;
  for (size_t i = 0; ret == 0 && i < idx->n_manifests; i++)
    ret = walk_descriptor (w, &idx->manifests[i], depth + 1, err);
  builder_index_free (idx);
  return ret;
}

/* Children first, then D itself: a copy in this order never holds a
 * document whose blobs are not there yet. */
static int
walk_descriptor (struct walk *w, const struct builder_descriptor *d, int depth, struct hoist_error **err)
{
  bool manifest = builder_media_type_is_manifest (d->media_type);
  bool index = builder_media_type_is_index (d->media_type);

  if (depth > WALK_DEPTH_MAX)
    return hoist_error_set_status (err, ELOOP, "image indexes nest deeper than %d", WALK_DEPTH_MAX);
  if ((manifest || index) && first_visit (w, d->digest))
    {
      cleanup_json json_t *doc = NULL;
      int ret;

      if (builder_store_read_json (w->store, d->digest, 0, &doc, err) < 0)
        return -1;
      ret = manifest ? walk_manifest (w, doc, err) : walk_index (w, doc, depth, err);
      if (ret < 0)
        return hoist_error_wrap (err, "in '%s'", d->digest);
    }
  /* Anything else an index names (attestation blobs, unknown types) is
   * copied as it is. */
  return list_add (w, d->digest, d->size, d->media_type, err);
}

static int
ref_by_digest (const void *a, const void *b)
{
  return strcmp (((const struct oci_blob_ref *) a)->digest, ((const struct oci_blob_ref *) b)->digest);
}

struct ordered_ref
{
  struct oci_blob_ref ref;
  size_t order;
};

static int
by_digest_then_order (const void *a, const void *b)
{
  const struct ordered_ref *x = a, *y = b;
  int c = strcmp (x->ref.digest, y->ref.digest);

  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int
by_order (const void *a, const void *b)
{
  const struct ordered_ref *x = a, *y = b;

  return x->order < y->order ? -1 : x->order > y->order;
}

/* Drop repeated digests, keeping the first (so children still come before
 * their parents); two sizes for one digest mean a lying descriptor.
 * Sorting keeps this O(n log n) for the largest images allowed. */
static int
list_unique (struct oci_blob_list *l, struct hoist_error **err)
{
  cleanup_free struct ordered_ref *tmp = NULL;
  size_t n = 0;

  if (l->n == 0)
    return 0;
  tmp = hoist_xcalloc (l->n, sizeof (*tmp));
  for (size_t i = 0; i < l->n; i++)
    tmp[i] = (struct ordered_ref){ .ref = l->items[i], .order = i };
  qsort (tmp, l->n, sizeof (*tmp), by_digest_then_order);
  for (size_t i = 0; i < l->n; i++)
    {
      if (n > 0 && strcmp (tmp[n - 1].ref.digest, tmp[i].ref.digest) == 0)
        {
          if (tmp[n - 1].ref.size != tmp[i].ref.size)
            return hoist_error_set_status (err, EINVAL, "blob '%s' is named with two sizes (%lld and %lld)",
                                           tmp[i].ref.digest, (long long) tmp[n - 1].ref.size,
                                           (long long) tmp[i].ref.size);
          continue;
        }
      tmp[n++] = tmp[i];
    }
  qsort (tmp, n, sizeof (*tmp), by_order);
  for (size_t i = 0; i < n; i++)
    l->items[i] = tmp[i].ref;
  l->n = n;
  return 0;
}

int
oci_collect_blobs (struct builder_store *store, const struct builder_descriptor *root, struct oci_blob_list *out,
                   struct hoist_error **err)
{
  struct walk w = { .store = store, .list = out };
  int ret;

  out->items = NULL;
  out->n = 0;
  ret = walk_descriptor (&w, root, 0, err);
  free (w.visited);
  if (ret == 0)
    ret = list_unique (out, err);
  if (ret < 0)
    oci_blob_list_release (out);
  return ret;
}

void
oci_blob_list_release (struct oci_blob_list *list)
{
  free (list->items);
  list->items = NULL;
  list->n = 0;
}

/* ---- Streaming a blob with its digest checked ----------------------------- */

typedef int (*blob_sink) (void *ctx, const void *p, size_t n, struct hoist_error **err);

/* Read blob REF from STORE into SINK, checking its size and digest on the
 * way; on a mismatch the sink has seen bad bytes and the caller must
 * throw away what it wrote. */
static int
stream_blob (struct builder_store *store, const struct oci_blob_ref *ref, blob_sink sink, void *ctx,
             struct hoist_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *chunk = hoist_xmalloc (COPY_CHUNK);
  struct hoist_sha256 h;
  char got[HOIST_DIGEST_STR_SIZE];
  int64_t size, total = 0;
  int ret = 0;

  if (builder_store_blob_open (store, ref->digest, &fd, &size, err) < 0)
    return -1;
  if (size != ref->size)
    return hoist_error_set_status (err, EBADMSG, "blob '%s' is %lld bytes but its descriptor says %lld", ref->digest,
                                   (long long) size, (long long) ref->size);
  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  while (ret == 0 && total < size)
    {
      ssize_t r = read (fd, chunk, COPY_CHUNK);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          ret = hoist_error_set (err, r < 0 ? errno : EBADMSG, "cannot read blob '%s'", ref->digest);
          break;
        }
      /* Never past SIZE: the archive header already promised it. */
      if (r > size - total)
        r = (ssize_t) (size - total);
      hoist_sha256_update (&h, chunk, (size_t) r);
      total += r;
      ret = sink (ctx, chunk, (size_t) r, err);
    }
  hoist_sha256_final (&h, got);
  hoist_sha256_release (&h);
  if (ret < 0)
    return ret;
  if (strcmp (got, ref->digest) != 0)
    return hoist_error_set_status (err, EBADMSG, "blob '%s' in '%s' is corrupt: its content hashes to '%s'",
                                   ref->digest, builder_store_path (store), got);
  return 0;
}

/* ---- Export to a layout ----------------------------------------------------- */

static int
fd_sink (void *ctx, const void *p, size_t n, struct hoist_error **err)
{
  return oci_write_all (*(int *) ctx, p, n, err);
}

/* Copy the blob inside the kernel: a reflink where the file system has
 * them (nothing copied), else copy_file_range.  Returns 1 when done, 0
 * when neither works here (the caller streams it), -1 on failure. */
static int
copy_in_kernel (struct builder_store *src, const struct oci_blob_ref *ref, int out, struct hoist_error **err)
{
  cleanup_close int in = -1;
  int64_t size, done = 0;

  if (builder_store_blob_open (src, ref->digest, &in, &size, err) < 0)
    return -1;
  if (size != ref->size)
    return hoist_error_set_status (err, EBADMSG, "blob '%s' is %lld bytes but its descriptor says %lld", ref->digest,
                                   (long long) size, (long long) ref->size);
  if (ioctl (out, FICLONE, in) == 0)
    return 1;
  while (done < size)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, (size_t) (size - done), 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
        return 0;
      if (n <= 0)
        return hoist_error_set (err, n < 0 ? errno : EBADMSG, "cannot copy blob '%s'", ref->digest);
      done += n;
    }
  return 1;
}

/* Share SRC's file when both stores are on one file system: a blob is
 * never written again once committed, so a hard link is a copy that
 * costs nothing.  Only for a blob SRC's handle wrote in this run; one
 * found on disk is read and hashed on its way out. */
static bool
link_blob (struct builder_store *src, struct builder_store *dst, const struct oci_blob_ref *ref)
{
  cleanup_free char *path = oci_blob_path (ref->digest, NULL);
  struct stat st;

  if (!oci_store_blob_fresh (src, ref->digest))
    return false;
  if (path == NULL || fstatat (src->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return false;
  if (!S_ISREG (st.st_mode) || st.st_size != ref->size)
    return false;
  return linkat (src->dirfd, path, dst->dirfd, path, 0) == 0;
}

/* A blob SRC's handle wrote in this run is linked, or copied in the
 * kernel without hashing it again; any other is streamed and hashed.  An
 * export is a copy for the user, written as cp writes (not synced); its
 * index.json is still replaced atomically. */
static int
copy_blob (struct builder_store *src, struct builder_store *dst, const struct oci_blob_ref *ref,
           struct hoist_error **err)
{
  struct builder_blob_ingest *ing = NULL;
  int fd, r;

  if (builder_store_has_blob (dst, ref->digest) || link_blob (src, dst, ref))
    return 0;
  if (builder_store_blob_begin (dst, &ing, err) < 0)
    return -1;
  fd = builder_blob_ingest_fd (ing);
  r = oci_store_blob_fresh (src, ref->digest) ? copy_in_kernel (src, ref, fd, err) : 0;
  if (r == 0)
    r = stream_blob (src, ref, fd_sink, &fd, err);
  if (r < 0)
    {
      builder_store_blob_abort (dst, ing);
      return -1;
    }
  return builder_store_blob_commit (dst, ing, ref->digest, BUILDER_BLOB_NO_SYNC, NULL, err);
}

/* What both exports start with: default *DEST_TAG to TAG and check it,
 * then resolve TAG into *DESC, without its ref-name annotation (the
 * export names the image itself).  Returns 0 with *DESC the caller's to
 * release, or the negative status that hoist_error_set_status or
 * hoist_error_wrap returned, with *ERR set and nothing held. */
static int
export_resolve (struct builder_store *store, const char *tag, const char **dest_tag, struct builder_descriptor *desc,
                struct hoist_error **err)
{
  if (*dest_tag == NULL)
    *dest_tag = tag;
  if (!builder_store_tag_valid (*dest_tag))
    return hoist_error_set_status (err, EINVAL, "invalid tag '%s'", *dest_tag);
  if (builder_store_resolve (store, tag, desc, err) < 0)
    return hoist_error_wrap (err, "cannot export '%s'", tag);
  builder_map_remove (&desc->annotations, BUILDER_ANNOTATION_REF_NAME);
  return 0;
}

int
builder_store_export_layout (struct builder_store *store, const char *tag, const char *dest_dir, const char *dest_tag,
                             struct hoist_error **err)
{
  struct builder_descriptor desc;
  struct oci_blob_list blobs = { 0 };
  struct builder_store *dst = NULL;
  int ret;

  if ((ret = export_resolve (store, tag, &dest_tag, &desc, err)) < 0)
    return ret;
  ret = oci_collect_blobs (store, &desc, &blobs, err);
  if (ret == 0)
    ret = builder_store_open (dest_dir, true, &dst, err);
  for (size_t i = 0; ret == 0 && i < blobs.n; i++)
    ret = copy_blob (store, dst, &blobs.items[i], err);
  if (ret == 0)
    ret = builder_store_tag (dst, dest_tag, &desc, err);
  builder_store_free (dst);
  oci_blob_list_release (&blobs);
  builder_descriptor_release (&desc);
  if (ret < 0)
    return hoist_error_wrap (err, "cannot export '%s' to '%s'", tag, dest_dir);
  return 0;
}

int
builder_store_export_referrers (struct builder_store *store, const struct builder_descriptor *refs, size_t n,
                                const char *dest_dir, struct hoist_error **err)
{
  struct builder_store *dst = NULL;
  int ret = builder_store_open (dest_dir, true, &dst, err);

  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      struct oci_blob_list blobs = { 0 };

      ret = oci_collect_blobs (store, &refs[i], &blobs, err);
      for (size_t b = 0; ret == 0 && b < blobs.n; b++)
        ret = copy_blob (store, dst, &blobs.items[b], err);
      oci_blob_list_release (&blobs);
    }
  if (ret == 0)
    ret = builder_store_add_referrers (dst, refs, n, err);
  builder_store_free (dst);
  return ret < 0 ? hoist_error_wrap (err, "cannot export the referrers to '%s'", dest_dir) : 0;
}

/* ---- Export to an archive ----------------------------------------------------- */

static int
archive_fail (struct archive *a, const char *what, struct hoist_error **err)
{
  return hoist_error_set (err, archive_errno (a) > 0 ? archive_errno (a) : EIO, "cannot write %s: %s", what,
                          archive_error_string (a) ? archive_error_string (a) : "unknown error");
}

/* Fixed metadata: the same image gives the same archive on any machine. */
static struct archive_entry *
fixed_entry (const char *path, unsigned type, int64_t size)
{
  struct archive_entry *e = archive_entry_new ();

  if (e == NULL)
    abort ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size (e, type == AE_IFDIR ? 0 : size);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_mtime (e, 0, 0);
  return e;
}

static int
write_header (struct archive *a, const char *path, unsigned type, int64_t size, struct hoist_error **err)
{
  struct archive_entry *e = fixed_entry (path, type, size);
  int r = archive_write_header (a, e);

  archive_entry_free (e);
  return r == ARCHIVE_OK ? 0 : archive_fail (a, path, err);
}

static int
write_mem (struct archive *a, const char *path, const char *data, size_t len, struct hoist_error **err)
{
  if (write_header (a, path, AE_IFREG, (int64_t) len, err) < 0)
    return -1;
  if (archive_write_data (a, data, len) != (la_ssize_t) len)
    return archive_fail (a, path, err);
  return 0;
}

static int
archive_sink (void *ctx, const void *p, size_t n, struct hoist_error **err)
{
  struct archive *a = ctx;

  if (archive_write_data (a, p, n) != (la_ssize_t) n)
    return archive_fail (a, "blob", err);
  return 0;
}

static int
write_archive (struct builder_store *store, int fd, const json_t *index, struct oci_blob_list *blobs,
               struct hoist_error **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  struct archive *a = archive_write_new ();
  size_t len = 0;
  cleanup_free char *index_bytes = builder_json_canonical (index, &len);
  int ret = 0;

  if (a == NULL)
    abort ();
  /* pax_restricted: plain ustar headers unless a value needs more (a blob
   * over 8 GiB), so every tar reader gets these. */
  if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK || archive_write_open_fd (a, fd) != ARCHIVE_OK)
    ret = archive_fail (a, "archive", err);
  if (ret == 0)
    ret = write_mem (a, "oci-layout", layout, strlen (layout), err);
  if (ret == 0)
    ret = write_mem (a, OCI_INDEX_JSON, index_bytes, len, err);
  if (ret == 0)
    ret = write_header (a, "blobs/", AE_IFDIR, 0, err);
  if (ret == 0)
    ret = write_header (a, "blobs/sha256/", AE_IFDIR, 0, err);
  qsort (blobs->items, blobs->n, sizeof (*blobs->items), ref_by_digest);
  for (size_t i = 0; ret == 0 && i < blobs->n; i++)
    {
      cleanup_free char *path = oci_blob_path (blobs->items[i].digest, err);
      ret = write_header (a, path, AE_IFREG, blobs->items[i].size, err);
      if (ret == 0)
        ret = stream_blob (store, &blobs->items[i], archive_sink, a, err);
    }
  if (ret == 0 && archive_write_close (a) != ARCHIVE_OK)
    ret = archive_fail (a, "archive", err);
  archive_write_free (a);
  return ret;
}

/* The archive's index.json: the one image, tagged TAG. */
static json_t *
archive_index (const struct builder_descriptor *desc, const char *tag)
{
  struct builder_descriptor entry;
  json_t *index = json_pack ("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", BUILDER_MT_OCI_INDEX, "manifests");

  builder_descriptor_copy (&entry, desc);
  builder_map_set (&entry.annotations, BUILDER_ANNOTATION_REF_NAME, tag);
  json_array_append_new (json_object_get (index, "manifests"), builder_descriptor_to_json (&entry));
  builder_descriptor_release (&entry);
  return index;
}

/* Write the archive to a temp file beside DEST_FILE, then rename it. */
static int
write_archive_file (struct builder_store *store, const char *dest_file, const json_t *index,
                    struct oci_blob_list *blobs, struct hoist_error **err)
{
  const char *slash = strrchr (dest_file, '/');
  cleanup_free char *dir = slash == NULL
                               ? hoist_xstrdup (".")
                               : hoist_xstrndup (dest_file, slash == dest_file ? 1 : (size_t) (slash - dest_file));
  const char *base = slash == NULL ? dest_file : slash + 1;
  cleanup_free char *prefix = hoist_xasprintf (".%s.tmp-", base);
  cleanup_free char *tmp = NULL;
  cleanup_close int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = -1;

  if (*base == '\0')
    return hoist_error_set_status (err, EINVAL, "'%s' is a directory name, not a file", dest_file);
  if (dirfd < 0)
    return hoist_error_set (err, errno, "cannot open directory '%s'", dir);
  if (oci_tmpfile (dirfd, prefix, &tmp, &fd, err) < 0)
    return -1;
  if (write_archive (store, fd, index, blobs, err) < 0)
    {
      unlinkat (dirfd, tmp, 0);
      return -1;
    }
  if (fsync (fd) < 0 || renameat (dirfd, tmp, dirfd, base) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return hoist_error_set (err, e, "cannot write '%s'", dest_file);
    }
  if (fsync (dirfd) < 0)
    return hoist_error_set (err, errno, "cannot sync directory '%s'", dir);
  return 0;
}

int
builder_store_export_archive (struct builder_store *store, const char *tag, const char *dest_file, const char *dest_tag,
                              struct hoist_error **err)
{
  return builder_store_export_archive_referrers (store, tag, NULL, 0, dest_file, dest_tag, err);
}

/* Add the blobs of REF to BLOBS, those not there yet. */
static int
collect_more (struct builder_store *store, const struct builder_descriptor *ref, struct oci_blob_list *blobs,
              struct hoist_error **err)
{
  struct oci_blob_list more = { 0 };
  int ret = oci_collect_blobs (store, ref, &more, err);

  for (size_t i = 0; ret == 0 && i < more.n; i++)
    {
      bool there = false;

      for (size_t j = 0; j < blobs->n && !there; j++)
        there = strcmp (blobs->items[j].digest, more.items[i].digest) == 0;
      if (there)
        continue;
      blobs->items = hoist_xreallocarray (blobs->items, blobs->n + 1, sizeof *blobs->items);
      blobs->items[blobs->n++] = more.items[i];
    }
  oci_blob_list_release (&more);
  return ret;
}

int
builder_store_export_archive_referrers (struct builder_store *store, const char *tag,
                                        const struct builder_descriptor *refs, size_t n_refs, const char *dest_file,
                                        const char *dest_tag, struct hoist_error **err)
{
  struct builder_descriptor desc;
  struct oci_blob_list blobs = { 0 };
  cleanup_json json_t *index = NULL;
  int ret;

  if ((ret = export_resolve (store, tag, &dest_tag, &desc, err)) < 0)
    return ret;
  ret = oci_collect_blobs (store, &desc, &blobs, err);
  for (size_t i = 0; ret == 0 && i < n_refs; i++)
    ret = collect_more (store, &refs[i], &blobs, err);
  if (ret == 0)
    {
      index = archive_index (&desc, dest_tag);
      for (size_t i = 0; i < n_refs; i++)
        json_array_append_new (json_object_get (index, "manifests"), builder_descriptor_to_json (&refs[i]));
      ret = write_archive_file (store, dest_file, index, &blobs, err);
    }
  oci_blob_list_release (&blobs);
  builder_descriptor_release (&desc);
  if (ret < 0)
    return hoist_error_wrap (err, "cannot export '%s' to '%s'", tag, dest_file);
  return 0;
}
