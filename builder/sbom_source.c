/* sbom_source.c — where the scanner's files come from: a layer blob read
 * once as a tar stream, or a root file system on disk walked with
 * openat.  Each tells the core (sbom_scan.c) what every entry is, in
 * order, and reads the content of candidates only: which files those are
 * is decided here too, from their path, mode and size. */
#define BUILDER_INTERNAL
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sbom_private.h"

#define READ_BLOCK (256u << 10)
#define CHUNK (64u << 10)
#define WHITEOUT ".wh."
#define WHITEOUT_META ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* ---- Paths and candidates -------------------------------------------------------- */

char *
sbom_path_clean (const char *raw)
{
  size_t n = strlen (raw), w = 0;
  char *out = hoist_xmalloc (n + 1);

  for (const char *p = raw; *p != '\0';)
    {
      const char *slash = strchr (p, '/');
      size_t len = slash != NULL ? (size_t) (slash - p) : strlen (p);

      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          free (out);
          return NULL;
        }
      if (len > 0 && !(len == 1 && p[0] == '.'))
        {
          if (w > 0)
            out[w++] = '/';
          memcpy (out + w, p, len);
          w += len;
        }
      p += len + (slash != NULL);
    }
  out[w] = '\0';
  if (w == 0)
    {
      free (out);
      return NULL;
    }
  return out;
}

static bool
has_suffix (const char *s, size_t n, const char *suffix)
{
  size_t k = strlen (suffix);

  return n > k && memcmp (s + n - k, suffix, k) == 0;
}

/* Component I from the end of PATH (0: the last) in *C, *LEN; false when
 * PATH has fewer. */
static bool
component (const char *path, size_t i, const char **c, size_t *len)
{
  const char *end = path + strlen (path);

  for (;; i--)
    {
      const char *start = end;

      while (start > path && start[-1] != '/')
        start--;
      if (i == 0)
        {
          *c = start;
          *len = (size_t) (end - start);
          return true;
        }
      if (start == path)
        return false;
      end = start - 1;
    }
}

static bool
component_is (const char *path, size_t i, const char *want)
{
  const char *c;
  size_t len;

  return component (path, i, &c, &len) && len == strlen (want) && memcmp (c, want, len) == 0;
}

/* node_modules/NAME/package.json or node_modules/@SCOPE/NAME/package.json,
 * at any depth: not a package's own files further down. */
static bool
npm_candidate (const char *path)
{
  const char *name, *scope;
  size_t name_len, scope_len;

  if (!component_is (path, 0, "package.json") || !component (path, 1, &name, &name_len) || name[0] == '.')
    return false;
  if (name[0] != '@' && component_is (path, 2, "node_modules"))
    return true;
  return component (path, 2, &scope, &scope_len) && scope_len > 1 && scope[0] == '@'
         && component_is (path, 3, "node_modules");
}

static bool
python_candidate (const char *path)
{
  const char *c;
  size_t len;

  if (!component (path, 0, &c, &len))
    return false;
  if (has_suffix (c, len, ".egg-info"))
    return true; /* the single-file form */
  if (!component (path, 1, &c, &len))
    return false;
  return (component_is (path, 0, "METADATA") && has_suffix (c, len, ".dist-info"))
         || (component_is (path, 0, "PKG-INFO") && has_suffix (c, len, ".egg-info"));
}

/* PREFIX + one name (not hidden) + SUFFIX. */
static bool
one_name_between (const char *path, const char *prefix, const char *suffix)
{
  size_t p = strlen (prefix), s = strlen (suffix), n = strlen (path);
  const char *slash;

  if (n <= p + s || strncmp (path, prefix, p) != 0 || strcmp (path + n - s, suffix) != 0 || path[p] == '.')
    return false;
  slash = memchr (path + p, '/', n - p - s);
  return slash == NULL;
}

static enum sbom_kind
kind_of (const char *path, uint64_t *max)
{
  if (strcmp (path, "var/lib/dpkg/status") == 0 || strcmp (path, "lib/apk/db/installed") == 0
      || strcmp (path, "usr/lib/apk/db/installed") == 0)
    {
      *max = SBOM_DB_MAX;
      return path[0] == 'v' ? SBOM_KIND_DPKG : SBOM_KIND_APK;
    }
  if (one_name_between (path, "var/lib/dpkg/status.d/", "") && !has_suffix (path, strlen (path), ".md5sums"))
    {
      *max = SBOM_MANIFEST_MAX;
      return SBOM_KIND_DPKG;
    }
  if (strcmp (path, "etc/os-release") == 0 || strcmp (path, "usr/lib/os-release") == 0)
    {
      *max = SBOM_OS_RELEASE_MAX;
      return SBOM_KIND_OS_RELEASE;
    }
  if (one_name_between (path, "usr/share/doc/", "/copyright"))
    {
      *max = SBOM_COPYRIGHT_MAX;
      return SBOM_KIND_DPKG_COPYRIGHT;
    }
  *max = SBOM_MANIFEST_MAX;
  if (npm_candidate (path))
    return SBOM_KIND_NPM;
  if (python_candidate (path))
    return SBOM_KIND_PYTHON;
  return SBOM_KIND_NONE;
}

enum sbom_kind
sbom_classify (const char *path, mode_t mode, int64_t size, uint64_t *max)
{
  enum sbom_kind k = kind_of (path, max);

  if (k != SBOM_KIND_NONE)
    return size >= 0 && (uint64_t) size <= *max ? k : SBOM_KIND_NONE;
  *max = SBOM_GO_SCAN_MAX;
  /* The smallest ELF header; and only what could be run. */
  return (mode & 0111) != 0 && size >= 64 ? SBOM_KIND_EXEC : SBOM_KIND_NONE;
}

/* ---- Layer blobs ------------------------------------------------------------------ */

static const char *
archive_msg (struct archive *a)
{
  return archive_error_string (a) != NULL ? archive_error_string (a) : "unknown error";
}

/* ".wh.NAME" or ".wh..wh..opq" at PATH, BASE its last component. */
static void
layer_whiteout (struct builder_sbom_scan *s, const char *path, const char *base)
{
  cleanup_free char *dir = hoist_xstrndup (path, base > path ? (size_t) (base - path - 1) : 0);
  cleanup_free char *target = NULL;
  const char *name = base + strlen (WHITEOUT);

  if (strcmp (base, WHITEOUT_OPAQUE) == 0)
    {
      sbom_scan_opaque (s, dir);
      return;
    }
  /* Other ".wh..wh." names are the layer format's own; "." and ".." name
   * nothing a whiteout may remove. */
  if (strncmp (base, WHITEOUT_META, strlen (WHITEOUT_META)) == 0 || name[0] == '\0' || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return;
  target = dir[0] != '\0' ? hoist_xasprintf ("%s/%s", dir, name) : hoist_xstrdup (name);
  sbom_scan_whiteout (s, target);
}

static int
read_fail (struct archive *a, const char *path, struct hoist_error **err)
{
  return hoist_error_set (err, 0, "cannot read '%s': %s", path, archive_msg (a));
}

/* The entry's content, whole (at most MAX bytes: its size was checked). */
static int
layer_content (struct builder_sbom_scan *s, struct archive *a, const char *path, enum sbom_kind kind, uint64_t max,
               char *chunk, struct hoist_error **err)
{
  struct hoist_buf *b = sbom_scan_buf (s, (size_t) max);
  la_ssize_t n;

  while ((n = archive_read_data (a, chunk, CHUNK)) > 0)
    if (hoist_buf_add (b, chunk, (size_t) n, NULL) < 0)
      return 0; /* more than its header said: not read */
  if (n < 0)
    return read_fail (a, path, err);
  return sbom_scan_content (s, path, kind, b->data, b->len, err);
}

/* An executable: its bytes through the Go finder, until it has decided. */
static int
layer_exec (struct builder_sbom_scan *s, struct archive *a, const char *path, char *chunk, struct hoist_error **err)
{
  struct sbom_go *g = sbom_scan_go (s);
  la_ssize_t n;

  sbom_go_reset (g, 0, true);
  while ((n = archive_read_data (a, chunk, CHUNK)) > 0)
    if (sbom_go_feed (g, chunk, (size_t) n))
      break;
  if (n < 0)
    return read_fail (a, path, err);
  return sbom_scan_go_done (s, path, err);
}

static int
layer_entry (struct builder_sbom_scan *s, struct archive *a, struct archive_entry *e, char *chunk,
             struct hoist_error **err)
{
  const char *raw = archive_entry_pathname (e), *link = archive_entry_hardlink (e), *base;
  cleanup_free char *path = raw != NULL ? sbom_path_clean (raw) : NULL;
  mode_t type = archive_entry_filetype (e);
  int64_t size = archive_entry_size_is_set (e) ? archive_entry_size (e) : 0;
  enum sbom_kind kind;
  uint64_t max;

  if (path == NULL)
    return 0;
  base = strrchr (path, '/');
  base = base != NULL ? base + 1 : path;
  if (strncmp (base, WHITEOUT, strlen (WHITEOUT)) == 0)
    {
      layer_whiteout (s, path, base);
      return 0;
    }
  if (type == AE_IFDIR && link == NULL)
    {
      sbom_scan_put_dir (s, path);
      return 0;
    }
  sbom_scan_put_file (s, path);
  if (link != NULL)
    {
      cleanup_free char *target = sbom_path_clean (link);

      return target != NULL ? sbom_scan_link (s, path, target, archive_entry_perm (e), err) : 0;
    }
  if (type != AE_IFREG)
    return 0;
  kind = sbom_classify (path, archive_entry_perm (e), size, &max);
  if (kind == SBOM_KIND_EXEC)
    return layer_exec (s, a, path, chunk, err);
  if (kind != SBOM_KIND_NONE)
    return layer_content (s, a, path, kind, max, chunk, err);
  return 0;
}

int
builder_sbom_scan_layer_fd (struct builder_sbom_scan *s, int fd, struct hoist_error **err)
{
  struct archive *a = archive_read_new ();
  cleanup_free char *chunk = hoist_xmalloc (CHUNK);
  struct archive_entry *e;
  int r, ret = 0;

  if (a == NULL)
    abort ();
  sbom_scan_begin_layer (s);
  /* The layer media types: tar, tar+gzip, tar+zstd; no filter that would
   * run an external program (as the layer writer, rootfs_write.c). */
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_fd (a, fd, READ_BLOCK) != ARCHIVE_OK)
    ret = hoist_error_set (err, 0, "cannot read layer: %s", archive_msg (a));
  while (ret == 0 && (r = archive_read_next_header (a, &e)) != ARCHIVE_EOF)
    {
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        ret = hoist_error_set (err, 0, "cannot read layer: %s", archive_msg (a));
      else
        ret = layer_entry (s, a, e, chunk, err);
    }
  archive_read_free (a);
  if (ret < 0)
    return hoist_error_wrap (err, "SBOM");
  return 0;
}

/* ---- Directories ------------------------------------------------------------------- */

struct walk
{
  struct builder_sbom_scan *s;
  dev_t dev;
  char path[PATH_MAX]; /* the current entry, relative */
  size_t len;
  char *chunk;
};

/* The executable open at FD: from its .go.buildinfo section when the
 * section headers say where that is, else from the start. */
static int
dir_exec (struct walk *w, int fd, const struct stat *st, struct hoist_error **err)
{
  struct sbom_go *g = sbom_scan_go (w->s);
  uint64_t off = 0, len = 0;
  int where = sbom_elf_go_section (fd, (uint64_t) st->st_size, &off, &len);

  if (where == 0)
    return 0;
  if (where < 0)
    off = 0;
  sbom_go_reset (g, off, where < 0);
  for (;;)
    {
      ssize_t n = pread (fd, w->chunk, CHUNK, (off_t) off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || sbom_go_feed (g, w->chunk, (size_t) n))
        break;
      off += (uint64_t) n;
    }
  return sbom_scan_go_done (w->s, w->path, err);
}

/* The regular file NAME in DFD, when it is a candidate.  What cannot be
 * opened or read (permissions, a file that changed) is skipped. */
static int
dir_file (struct walk *w, int dfd, const char *name, const struct stat *st, struct hoist_error **err)
{
  uint64_t max;
  enum sbom_kind kind = sbom_classify (w->path, st->st_mode, st->st_size, &max);
  cleanup_close int fd = -1;
  struct stat now;
  struct hoist_buf *b;

  if (kind == SBOM_KIND_NONE)
    return 0;
  fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &now) < 0 || !S_ISREG (now.st_mode) || now.st_ino != st->st_ino)
    return 0;
  if (kind == SBOM_KIND_EXEC)
    return dir_exec (w, fd, &now, err);
  b = sbom_scan_buf (w->s, (size_t) max);
  if (hoist_buf_read_fd (b, fd, NULL) < 0)
    return 0;
  return sbom_scan_content (w->s, w->path, kind, b->data, b->len, err);
}

static int walk_dir (struct walk *w, int fd, int depth, struct hoist_error **err);

/* The entry NAME of DFD, with W->path its path. */
static int
walk_entry (struct walk *w, int dfd, const char *name, int depth, struct hoist_error **err)
{
  struct stat st;
  int fd;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0; /* gone since it was listed */
  if (!S_ISDIR (st.st_mode))
    {
      sbom_scan_put_file (w->s, w->path);
      return S_ISREG (st.st_mode) ? dir_file (w, dfd, name, &st, err) : 0;
    }
  sbom_scan_put_dir (w->s, w->path);
  if (st.st_dev != w->dev)
    return 0; /* a mount point: another file system */
  if (depth >= SBOM_DIR_DEPTH_MAX)
    return hoist_error_set_status (err, ELOOP, "cannot scan '%s': more than %d directories deep", w->path,
                                   SBOM_DIR_DEPTH_MAX);
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == EACCES ? 0 : hoist_error_set (err, errno, "cannot open '%s'", w->path);
  return walk_dir (w, fd, depth + 1, err);
}

/* Walk the directory open at FD (taken), W->path its path. */
static int
walk_dir (struct walk *w, int fd, int depth, struct hoist_error **err)
{
  DIR *d = fdopendir (fd);
  struct dirent *de;
  int ret = 0;

  if (d == NULL)
    {
      int e = errno;

      close (fd);
      return hoist_error_set (err, e, "cannot read '%s'", w->len ? w->path : "/");
    }
  while (ret == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      size_t saved = w->len, n = strlen (de->d_name);

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (saved + 1 + n >= sizeof w->path)
        continue; /* a path no tar or image could hold */
      if (saved > 0)
        w->path[w->len++] = '/';
      memcpy (w->path + w->len, de->d_name, n + 1);
      w->len += n;
      ret = walk_entry (w, dirfd (d), de->d_name, depth, err);
      w->len = saved;
      w->path[saved] = '\0';
    }
  if (ret == 0 && errno != 0)
    ret = hoist_error_set (err, errno, "cannot read '%s'", w->len ? w->path : "/");
  closedir (d);
  return ret;
}

int
builder_sbom_scan_dir (struct builder_sbom_scan *s, const char *root, struct hoist_error **err)
{
  cleanup_free char *chunk = hoist_xmalloc (CHUNK);
  struct walk *w = hoist_xcalloc (1, sizeof *w);
  struct stat st;
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      ret = hoist_error_set (err, errno, "SBOM: cannot open '%s'", root);
      if (fd >= 0)
        close (fd);
      free (w);
      return ret;
    }
  w->s = s;
  w->dev = st.st_dev;
  w->chunk = chunk;
  sbom_scan_begin_layer (s);
  ret = walk_dir (w, fd, 0, err);
  free (w);
  if (ret < 0)
    return hoist_error_wrap (err, "SBOM: '%s'", root);
  return 0;
}
