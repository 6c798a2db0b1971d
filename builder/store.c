/* store.c — the content store: an OCI image layout directory.  Opening
 * and creating a layout, blob ingest (temp file, fsync, rename), and JSON
 * documents as blobs.  Tags (index.json) are in store_index.c, export in
 * store_export.c.
 *
 * Every path is opened relative to the layout's directory fd, and a
 * digest becomes a path only after hoist_digest_valid: a digest from a
 * registry or a manifest can never name a file outside blobs/sha256. */
#include "config.h"

#define BUILDER_INTERNAL

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/oci_private.h"

#define OCI_LAYOUT_FILE "oci-layout"
#define OCI_LAYOUT_CONTENT "{\"imageLayoutVersion\":\"1.0.0\"}"
/* oci-layout holds one short member; anything longer is not a layout. */
#define OCI_LAYOUT_MAX 4096
#define TMPFILE_TRIES 100
#define COPY_CHUNK (64 * 1024)

struct builder_blob_ingest
{
  int fd;
  char *name; /* relative to the layout directory */
};

/* ---- Small file helpers -------------------------------------------------- */

int
oci_write_all (int fd, const void *p, size_t n, struct hoist_error **err)
{
  if (hoist_write_all (fd, p, n) < 0)
    return hoist_error_set (err, errno, "cannot write");
  return 0;
}

int
oci_tmpfile (int dirfd, const char *prefix, char **name, int *fd, struct hoist_error **err)
{
  static const char hex[] = "0123456789abcdef";

  for (int tries = 0; tries < TMPFILE_TRIES; tries++)
    {
      unsigned char rnd[6];
      char suffix[2 * sizeof (rnd) + 1];
      cleanup_free char *n = NULL;
      int f;

      if (getrandom (rnd, sizeof (rnd), 0) != (ssize_t) sizeof (rnd))
        return hoist_error_set (err, errno, "cannot get random bytes for a temp file name");
      for (size_t i = 0; i < sizeof (rnd); i++)
        {
          suffix[2 * i] = hex[rnd[i] >> 4];
          suffix[2 * i + 1] = hex[rnd[i] & 0xf];
        }
      suffix[sizeof (suffix) - 1] = '\0';
      n = hoist_xasprintf ("%s%s", prefix, suffix);
      f = openat (dirfd, n, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (f >= 0)
        {
          *fd = f;
          *name = steal_pointer (&n);
          return 0;
        }
      if (errno != EEXIST)
        return hoist_error_set (err, errno, "cannot create temp file '%s'", n);
    }
  return hoist_error_set_status (err, EEXIST, "cannot create a temp file '%s...'", prefix);
}

/* fsync the directory DIRFD/SUB so a rename in it survives a crash. */
static int
fsync_dir (int dirfd, const char *sub, struct hoist_error **err)
{
  cleanup_close int fd = openat (dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open directory '%s'", sub);
  if (fsync (fd) < 0)
    return hoist_error_set (err, errno, "cannot sync directory '%s'", sub);
  return 0;
}

int
oci_write_atomic (int dirfd, const char *name, const void *data, size_t len, struct hoist_error **err)
{
  cleanup_free char *prefix = hoist_xasprintf ("%s.tmp-", name);
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;

  if (oci_tmpfile (dirfd, prefix, &tmp, &fd, err) < 0)
    return -1;
  if (oci_write_all (fd, data, len, err) < 0 || fsync (fd) < 0 || renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      if (err != NULL && *err != NULL)
        return hoist_error_wrap (err, "cannot write '%s'", name);
      return hoist_error_set (err, e, "cannot write '%s'", name);
    }
  return fsync_dir (dirfd, ".", err);
}

int
oci_store_lock (struct builder_store *store, int *fd, struct hoist_error **err)
{
  cleanup_close int f = openat (store->dirfd, OCI_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

  if (f < 0)
    return hoist_error_set (err, errno, "cannot open lock file '%s/%s'", store->path, OCI_LOCK_FILE);
  /* flock, not fcntl locks: those belong to the process, so two stores on
   * one layout in the same process would not exclude each other. */
  while (flock (f, LOCK_EX) < 0)
    if (errno != EINTR)
      return hoist_error_set (err, errno, "cannot lock '%s/%s'", store->path, OCI_LOCK_FILE);
  *fd = steal_fd (&f);
  return 0;
}

char *
oci_blob_path (const char *digest, struct hoist_error **err)
{
  if (digest == NULL || !hoist_digest_valid (digest))
    {
      hoist_error_set_status (err, EINVAL, "invalid digest '%s'", digest ? digest : "(null)");
      return NULL;
    }
  return hoist_xasprintf (OCI_BLOBS_DIR "/%s", digest + 7);
}

/* ---- Opening ------------------------------------------------------------- */

int
oci_mkdir_parents (const char *path, struct hoist_error **err)
{
  cleanup_free char *p = hoist_xstrdup (path);

  for (char *s = p + 1; *s != '\0'; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, 0755) < 0 && errno != EEXIST)
        return hoist_error_set (err, errno, "cannot create directory '%s'", p);
      *s = '/';
    }
  if (mkdir (p, 0755) < 0 && errno != EEXIST)
    return hoist_error_set (err, errno, "cannot create directory '%s'", p);
  return 0;
}

static int
check_layout_file (struct builder_store *store, int fd, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;
  cleanup_json json_t *j = NULL;
  const json_t *version;
  json_error_t jerr;

  hoist_buf_init (&b, OCI_LAYOUT_MAX);
  if (hoist_buf_read_fd (&b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '%s/" OCI_LAYOUT_FILE "'", store->path);
  j = json_loadb (b.data, b.len, 0, &jerr);
  version = json_object_get (j, "imageLayoutVersion");
  if (!json_is_string (version))
    return hoist_error_set_status (err, EINVAL, "'%s' is not an OCI image layout: bad " OCI_LAYOUT_FILE " file",
                                   store->path);
  /* The layout is versioned semantically: any 1.x reads as 1.0.0. */
  if (strncmp (json_string_value (version), "1.", 2) != 0)
    return hoist_error_set_status (err, ENOTSUP, "'%s': unsupported imageLayoutVersion '%s'", store->path,
                                   json_string_value (version));
  return 0;
}

/* True when DIR holds nothing but what a half-made layout of ours holds:
 * an earlier create that crashed, or one running now in another process. */
static int
dir_is_empty (struct builder_store *store, bool *empty, struct hoist_error **err)
{
  int fd = openat (store->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return hoist_error_set (err, errno, "cannot read directory '%s'", store->path);
    }
  *empty = true;
  while ((de = readdir (d)) != NULL)
    {
      const char *n = de->d_name;
      if (strcmp (n, ".") == 0 || strcmp (n, "..") == 0 || strcmp (n, "blobs") == 0
          || strncmp (n, OCI_INDEX_JSON, strlen (OCI_INDEX_JSON)) == 0
          || strncmp (n, OCI_LAYOUT_FILE, strlen (OCI_LAYOUT_FILE)) == 0)
        continue;
      *empty = false;
      break;
    }
  closedir (d);
  return 0;
}

static int
make_blob_dirs (struct builder_store *store, struct hoist_error **err)
{
  if (mkdirat (store->dirfd, "blobs", 0755) < 0 && errno != EEXIST)
    return hoist_error_set (err, errno, "cannot create '%s/blobs'", store->path);
  if (mkdirat (store->dirfd, OCI_BLOBS_DIR, 0755) < 0 && errno != EEXIST)
    return hoist_error_set (err, errno, "cannot create '%s/" OCI_BLOBS_DIR "'", store->path);
  return 0;
}

/* Check an existing layout; -ENOENT when DIR has no oci-layout file. */
static int
check_layout (struct builder_store *store, struct hoist_error **err)
{
  cleanup_close int fd = openat (store->dirfd, OCI_LAYOUT_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0 && errno == ENOENT)
    return -ENOENT;
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s/" OCI_LAYOUT_FILE "'", store->path);
  return check_layout_file (store, fd, err);
}

/* Make DIR a layout: blobs/, index.json, and oci-layout last, so that a
 * directory with an oci-layout file is always a whole layout.  Under the
 * index lock, so two processes creating one layout do not race. */
static int
create_layout (struct builder_store *store, struct hoist_error **err)
{
  static const char empty_index[] = "{\"manifests\":[],\"mediaType\":\"" BUILDER_MT_OCI_INDEX "\",\"schemaVersion\":2}";
  cleanup_close int lock = -1;
  bool empty = false;
  int ret;

  if (dir_is_empty (store, &empty, err) < 0)
    return -1;
  if (!empty)
    return hoist_error_set_status (err, EEXIST,
                                   "'%s' is not an OCI image layout: it has no " OCI_LAYOUT_FILE
                                   " file and is not empty (hint: choose a new or empty directory)",
                                   store->path);
  if (oci_store_lock (store, &lock, err) < 0)
    return -1;
  ret = check_layout (store, err);
  if (ret != -ENOENT)
    return ret;
  if (make_blob_dirs (store, err) < 0)
    return -1;
  if (faccessat (store->dirfd, OCI_INDEX_JSON, F_OK, AT_SYMLINK_NOFOLLOW) < 0
      && oci_write_atomic (store->dirfd, OCI_INDEX_JSON, empty_index, strlen (empty_index), err) < 0)
    return -1;
  return oci_write_atomic (store->dirfd, OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT, strlen (OCI_LAYOUT_CONTENT), err);
}

int
builder_store_open (const char *dir, bool create, struct builder_store **out, struct hoist_error **err)
{
  struct builder_store *store;
  int ret;

  if (create && oci_mkdir_parents (dir, err) < 0)
    return hoist_error_wrap (err, "cannot create layout '%s'", dir);
  store = hoist_xcalloc (1, sizeof (*store));
  store->path = hoist_xstrdup (dir);
  store->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (store->dirfd < 0)
    {
      ret = hoist_error_set (err, errno, "cannot open layout '%s'", dir);
      builder_store_free (store);
      return ret;
    }
  ret = check_layout (store, err);
  if (ret == 0 && create)
    ret = make_blob_dirs (store, err);
  else if (ret == -ENOENT && create)
    ret = create_layout (store, err);
  else if (ret == -ENOENT)
    ret = hoist_error_set_status (err, ENOENT, "'%s' is not an OCI image layout: it has no " OCI_LAYOUT_FILE " file",
                                  dir);
  if (ret < 0)
    {
      builder_store_free (store);
      return ret;
    }
  *out = store;
  return 0;
}

void
builder_store_free (struct builder_store *store)
{
  if (store == NULL)
    return;
  if (store->dirfd >= 0)
    close (store->dirfd);
  free (store->path);
  hoist_strv_free (store->fresh);
  free (store);
}

bool
oci_store_blob_fresh (const struct builder_store *store, const char *digest)
{
  for (size_t i = 0; store->fresh != NULL && store->fresh[i] != NULL; i++)
    if (strcmp (store->fresh[i], digest) == 0)
      return true;
  return false;
}

const char *
builder_store_path (const struct builder_store *store)
{
  return store->path;
}

/* ---- Blobs ---------------------------------------------------------------- */

int
builder_store_blob_begin (struct builder_store *store, struct builder_blob_ingest **out, struct hoist_error **err)
{
  struct builder_blob_ingest *ing = hoist_xcalloc (1, sizeof (*ing));

  /* In blobs/, not blobs/sha256/: a reader listing blobs never sees a
   * half-written one, and the rename stays on one file system. */
  if (oci_tmpfile (store->dirfd, "blobs/.tmp-", &ing->name, &ing->fd, err) < 0)
    {
      free (ing);
      return hoist_error_wrap (err, "cannot start a blob in '%s'", store->path);
    }
  *out = ing;
  return 0;
}

int
builder_blob_ingest_fd (const struct builder_blob_ingest *ing)
{
  return ing->fd;
}

void
builder_store_blob_abort (struct builder_store *store, struct builder_blob_ingest *ing)
{
  if (ing == NULL)
    return;
  if (ing->fd >= 0)
    close (ing->fd);
  unlinkat (store->dirfd, ing->name, 0);
  free (ing->name);
  free (ing);
}

/* Hash FD from offset 0 to its end into OUT. */
static int
hash_fd (int fd, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  cleanup_free char *chunk = hoist_xmalloc (COPY_CHUNK);
  struct hoist_sha256 h;
  off_t off = 0;

  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  for (;;)
    {
      ssize_t r = pread (fd, chunk, COPY_CHUNK, off);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          hoist_sha256_release (&h);
          return hoist_error_set (err, errno, "cannot read blob");
        }
      if (r == 0)
        break;
      hoist_sha256_update (&h, chunk, (size_t) r);
      off += r;
    }
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
  return 0;
}

static int
blob_commit (struct builder_store *store, struct builder_blob_ingest *ing, const char *digest, unsigned flags,
             int64_t *size, bool *placed, struct hoist_error **err)
{
  cleanup_free char *path = oci_blob_path (digest, err);
  struct stat st;

  if (path == NULL)
    return -EINVAL;
  if (flags & BUILDER_BLOB_VERIFY)
    {
      char got[HOIST_DIGEST_STR_SIZE];
      if (hash_fd (ing->fd, got, err) < 0)
        return -1;
      if (strcmp (got, digest) != 0)
        return hoist_error_set_status (err, EBADMSG, "blob content does not match digest '%s' (got '%s')", digest, got);
    }
  if (fstat (ing->fd, &st) < 0)
    return hoist_error_set (err, errno, "cannot stat blob");
  if (!(flags & BUILDER_BLOB_NO_SYNC) && fsync (ing->fd) < 0)
    return hoist_error_set (err, errno, "cannot sync blob");
  if (size != NULL)
    *size = st.st_size;
  /* Content-addressed: a blob already there has this very content (or was
   * corrupted later, which reads catch), so keep it rather than replace a
   * file another process may be reading. */
  if (faccessat (store->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      unlinkat (store->dirfd, ing->name, 0);
      return 0;
    }
  if (renameat (store->dirfd, ing->name, store->dirfd, path) < 0)
    return hoist_error_set (err, errno, "cannot rename blob to '%s'", path);
  *placed = true;
  if (flags & BUILDER_BLOB_NO_SYNC)
    return 0;
  return fsync_dir (store->dirfd, OCI_BLOBS_DIR, err);
}

int
builder_store_blob_commit (struct builder_store *store, struct builder_blob_ingest *ing, const char *digest,
                           unsigned flags, int64_t *size, struct hoist_error **err)
{
  bool placed = false;
  int ret = blob_commit (store, ing, digest, flags, size, &placed, err);

  if (ret < 0)
    {
      builder_store_blob_abort (store, ing);
      return hoist_error_wrap (err, "cannot store blob in '%s'", store->path);
    }
  /* Hashed as written, or verified: the file now under the name holds
   * that content (one already there was kept, and is not known). */
  if (placed && !oci_store_blob_fresh (store, digest))
    hoist_strv_push (&store->fresh, digest);
  close (ing->fd);
  free (ing->name);
  free (ing);
  return 0;
}

bool
builder_store_has_blob (struct builder_store *store, const char *digest)
{
  cleanup_free char *path = oci_blob_path (digest, NULL);
  struct stat st;

  return path != NULL && fstatat (store->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode);
}

int
builder_store_blob_open (struct builder_store *store, const char *digest, int *fd, int64_t *size,
                         struct hoist_error **err)
{
  cleanup_free char *path = oci_blob_path (digest, err);
  cleanup_close int f = -1;
  struct stat st;

  if (path == NULL)
    return -EINVAL;
  /* O_NOFOLLOW: a blob is a regular file; a symlink planted in blobs/
   * must not lead a read elsewhere. */
  f = openat (store->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0 && errno == ENOENT)
    return hoist_error_set_status (err, ENOENT, "blob '%s' is not in '%s'", digest, store->path);
  if (f < 0)
    return hoist_error_set (err, errno, "cannot open blob '%s' in '%s'", digest, store->path);
  if (fstat (f, &st) < 0)
    return hoist_error_set (err, errno, "cannot stat blob '%s'", digest);
  if (!S_ISREG (st.st_mode))
    return hoist_error_set_status (err, EINVAL, "blob '%s' in '%s' is not a regular file", digest, store->path);
  if (size != NULL)
    *size = st.st_size;
  *fd = steal_fd (&f);
  return 0;
}

/* ---- JSON blobs ----------------------------------------------------------- */

int
builder_store_put_json (struct builder_store *store, const json_t *doc, const char *media_type,
                        struct builder_descriptor *out, struct hoist_error **err)
{
  size_t len = 0;
  cleanup_free char *bytes = builder_json_canonical (doc, &len);
  char digest[HOIST_DIGEST_STR_SIZE];

  builder_descriptor_init (out);
  if (bytes == NULL)
    return hoist_error_set_status (err, EINVAL, "cannot serialise a JSON document (not UTF-8)");
  if (hoist_sha256_digest (bytes, len, digest, err) < 0)
    return -1;
  if (oci_store_put_bytes (store, bytes, len, digest, err) < 0)
    return hoist_error_wrap (err, "cannot store JSON in '%s'", store->path);
  builder_descriptor_set (out, media_type, digest, (int64_t) len);
  return 0;
}

int
oci_store_put_bytes (struct builder_store *store, const void *bytes, size_t len, const char *digest,
                     struct hoist_error **err)
{
  struct builder_blob_ingest *ing = NULL;

  if (builder_store_has_blob (store, digest))
    return 0;
  if (builder_store_blob_begin (store, &ing, err) < 0)
    return -1;
  if (oci_write_all (ing->fd, bytes, len, err) < 0)
    {
      builder_store_blob_abort (store, ing);
      return -1;
    }
  return builder_store_blob_commit (store, ing, digest, 0, NULL, err);
}

int
builder_store_read_json (struct builder_store *store, const char *digest, size_t limit, json_t **out,
                         struct hoist_error **err)
{
  cleanup_close int fd = -1;
  cleanup_buf struct hoist_buf b;
  char got[HOIST_DIGEST_STR_SIZE];
  int64_t size;
  json_error_t jerr;
  json_t *j;

  if (limit == 0)
    limit = BUILDER_JSON_BLOB_MAX;
  hoist_buf_init (&b, limit);
  if (builder_store_blob_open (store, digest, &fd, &size, err) < 0)
    return -1;
  if ((uint64_t) size > limit)
    return hoist_error_set_status (err, E2BIG, "blob '%s' is %lld bytes, over the limit of %zu", digest,
                                   (long long) size, limit);
  /* The limit holds even if the file grows after the fstat. */
  if (hoist_buf_read_fd (&b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read blob '%s'", digest);
  if (hoist_sha256_digest (b.data, b.len, got, err) < 0)
    return -1;
  if (strcmp (got, digest) != 0)
    return hoist_error_set_status (err, EBADMSG, "blob '%s' in '%s' is corrupt: its content hashes to '%s'", digest,
                                   store->path, got);
  /* Duplicate keys refused: two parsers that pick different duplicates
   * would see two different documents behind one digest. */
  j = json_loadb (b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL)
    return hoist_error_set_status (err, EINVAL, "blob '%s' is not valid JSON: %s (line %d, column %d)", digest,
                                   jerr.text, jerr.line, jerr.column);
  *out = j;
  return 0;
}
