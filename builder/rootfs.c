/* rootfs.c — an image's file system materialised in a temp directory:
 * what COPY --from reads, and where --chown names (/etc/passwd,
 * /etc/group), COPY destinations and WORKDIR paths are looked up.
 *
 * Layers are extracted in order with libarchive, with the process's
 * working directory inside the root (archive_write_disk resolves names
 * against it) and the flags that make it refuse absolute names, ".." and
 * anything whose location a symlink on disk would change
 * (ARCHIVE_EXTRACT_SECURE_SYMLINKS | SECURE_NODOTDOT | SECURE_NOABSOLUTEPATHS).
 * OCI whiteouts are applied here, through directory fds opened one
 * component at a time with O_NOFOLLOW, so a whiteout can never remove
 * anything outside the root.  The openat2-based writer for untrusted
 * layers that RUN needs comes with the sandbox; this one only serves the
 * builder's own lookups, so it skips devices and fifos, and records no
 * ownership it cannot set (owners are kept only when running as root). */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_private.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define SYMLINKS_MAX 40
/* /etc/passwd and /etc/group larger than this are not read. */
#define ACCOUNTS_MAX (4u * 1024 * 1024)

struct build_rootfs
{
  char *path;
  int dirfd;
  size_t n_layers;
};

/* ---- Removing trees --------------------------------------------------------- */

static int rmtree_children (int dirfd, struct hoist_error **err);

int
build_rmtree_at (int dirfd, const char *name, struct hoist_error **err)
{
  struct stat st;
  int fd, r;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : hoist_error_set (err, errno, "cannot remove '%s'", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
        return hoist_error_set (err, errno, "cannot remove '%s'", name);
      return 0;
    }
  /* A directory without write permission cannot be emptied by its owner
   * unless it is made writable first. */
  if ((st.st_mode & 0700) != 0700)
    (void) fchmodat (dirfd, name, (st.st_mode & 07777) | 0700, 0);
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s'", name);
  r = rmtree_children (fd, err); /* closes FD */
  if (r < 0)
    return hoist_error_wrap (err, "cannot remove '%s'", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return hoist_error_set (err, errno, "cannot remove '%s'", name);
  return 0;
}

/* Remove everything in the directory FD (which this closes). */
static int
rmtree_children (int fd, struct hoist_error **err)
{
  DIR *d = fdopendir (fd);
  struct dirent *de;
  int r = 0;

  if (d == NULL)
    {
      int e = errno;
      close (fd);
      return hoist_error_set (err, e, "cannot read directory");
    }
  while (r == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      r = build_rmtree_at (dirfd (d), de->d_name, err);
      if (r == 0)
        rewinddir (d); /* the listing changed under readdir */
    }
  if (r == 0 && errno != 0)
    r = hoist_error_set (err, errno, "cannot read directory");
  closedir (d);
  return r;
}

/* ---- Lifecycle ----------------------------------------------------------------- */

int
build_rootfs_new (const char *parent, struct build_rootfs **out, struct hoist_error **err)
{
  cleanup_free char *path = hoist_xasprintf ("%s/rootfs-XXXXXX", parent);
  struct build_rootfs *r;
  int fd;

  if (mkdtemp (path) == NULL)
    return hoist_error_set (err, errno, "cannot create a root file system under '%s'", parent);
  if (chmod (path, 0755) < 0 || (fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      int e = errno;
      rmdir (path);
      return hoist_error_set (err, e, "cannot open '%s'", path);
    }
  r = hoist_xcalloc (1, sizeof *r);
  r->path = steal_pointer (&path);
  r->dirfd = fd;
  *out = r;
  return 0;
}

void
build_rootfs_free (struct build_rootfs *r)
{
  if (r == NULL)
    return;
  close (r->dirfd);
  /* Best effort: the build's temp directory goes as a whole after. */
  (void) build_rmtree_at (AT_FDCWD, r->path, NULL);
  free (r->path);
  free (r);
}

const char *
build_rootfs_path (const struct build_rootfs *r)
{
  return r->path;
}

size_t
build_rootfs_layers (const struct build_rootfs *r)
{
  return r->n_layers;
}

/* ---- Paths inside the root ---------------------------------------------------- */

/* Clean an entry name of a layer: "./a//b/" -> "a/b".  Fails (NULL) on
 * an absolute name or a ".." component. */
static char *
entry_clean (const char *name)
{
  struct hoist_buf b;
  const char *p = name;

  if (*p == '/')
    return NULL;
  hoist_buf_init (&b, PATH_MAX);
  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          hoist_buf_release (&b);
          return NULL;
        }
      if (len > 0 && !(len == 1 && p[0] == '.'))
        {
          if ((b.len > 0 && hoist_buf_addch (&b, '/', NULL) < 0) || hoist_buf_add (&b, p, len, NULL) < 0)
            {
              hoist_buf_release (&b);
              return NULL;
            }
        }
      p += len;
      while (*p == '/')
        p++;
    }
  return hoist_buf_detach (&b, NULL);
}

/* Open directory DIR (relative, clean; "" is the root) one component at a
 * time, never through a symlink.  Returns the fd or -1 with errno. */
static int
open_dir_nofollow (int rootfd, const char *dir)
{
  int fd = openat (rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *p = dir;

  while (fd >= 0 && *p != '\0')
    {
      size_t len = strcspn (p, "/");
      char *name = hoist_xstrndup (p, len);
      int next = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int e = errno;

      free (name);
      close (fd);
      fd = next;
      errno = e;
      p += len;
      if (*p == '/')
        p++;
    }
  return fd;
}

int
build_rootfs_stat (const struct build_rootfs *r, const char *path, struct stat *st)
{
  /* Resolve as the image would see it: symlinks followed with the root as
   * '/'.  RESOLVED never holds a symlink, so fstatat on it stays inside. */
  cleanup_free char *todo = hoist_xstrdup (path);
  struct hoist_buf resolved;
  int links = 0, ret = 0;
  char *p = todo;

  hoist_buf_init (&resolved, PATH_MAX);
  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");
      char *next = p[len] == '\0' ? p + len : p + len + 1;
      struct stat lst;
      size_t mark = resolved.len;

      if (len == 0 || (len == 1 && p[0] == '.'))
        {
          p = next;
          continue;
        }
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          char *slash = memrchr (resolved.data, '/', resolved.len);
          resolved.len = slash != NULL ? (size_t) (slash - resolved.data) : 0;
          resolved.data[resolved.len] = '\0';
          p = next;
          continue;
        }
      if ((resolved.len > 0 && hoist_buf_addch (&resolved, '/', NULL) < 0) || hoist_buf_add (&resolved, p, len, NULL) < 0)
        break;
      if (fstatat (r->dirfd, resolved.data, &lst, AT_SYMLINK_NOFOLLOW) < 0)
        break;
      if (S_ISLNK (lst.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n = readlinkat (r->dirfd, resolved.data, target, sizeof target - 1);
          char *rest;

          if (n < 0 || ++links > SYMLINKS_MAX)
            break;
          target[n] = '\0';
          resolved.len = target[0] == '/' ? 0 : mark;
          resolved.data[resolved.len] = '\0';
          rest = hoist_xasprintf ("%s/%s", target, next);
          free (todo);
          todo = rest;
          p = todo;
          continue;
        }
      if (*next != '\0' && !S_ISDIR (lst.st_mode))
        break;
      p = next;
    }
  if (*p == '\0')
    ret = fstatat (r->dirfd, resolved.len > 0 ? resolved.data : ".", st, AT_SYMLINK_NOFOLLOW) == 0 ? 1 : 0;
  hoist_buf_release (&resolved);
  return ret;
}

/* ---- Whiteouts ------------------------------------------------------------------ */

/* The paths one layer wrote, sorted, to tell what an opaque whiteout
 * keeps. */
struct path_set
{
  char **v;
  size_t n, alloc;
};

static void
path_set_add (struct path_set *s, const char *p)
{
  if (s->n == s->alloc)
    {
      s->alloc = s->alloc ? 2 * s->alloc : 64;
      s->v = hoist_xreallocarray (s->v, s->alloc, sizeof (char *));
    }
  s->v[s->n++] = hoist_xstrdup (p);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
path_set_release (struct path_set *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i]);
  free (s->v);
}

/* True when the layer wrote PATH or something below it. */
static bool
path_set_covers (const struct path_set *s, const char *path)
{
  size_t lo = 0, hi = s->n, len = strlen (path);

  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (strcmp (s->v[mid], path) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  /* Sorted by strcmp, PATH and every "PATH/..." follow LO closely; a
   * sibling such as "PATH-x" may sit in between, so look ahead while the
   * prefix still matches. */
  for (size_t i = lo; i < s->n && strncmp (s->v[i], path, len) == 0; i++)
    if (s->v[i][len] == '\0' || s->v[i][len] == '/')
      return true;
  return false;
}

/* DIR/NAME, or NAME when DIR is "". */
static char *
join (const char *dir, const char *name)
{
  return *dir == '\0' ? hoist_xstrdup (name) : hoist_xasprintf ("%s/%s", dir, name);
}

/* ".wh.NAME" in DIR: remove DIR/NAME from the layers below. */
static int
whiteout (struct build_rootfs *r, const char *dir, const char *name, struct hoist_error **err)
{
  cleanup_close int fd = open_dir_nofollow (r->dirfd, dir);

  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0; /* nothing below to hide */
      return hoist_error_set (err, errno, "whiteout of '%s/%s' goes through a symlink or a file", dir, name);
    }
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strchr (name, '/') != NULL)
    return hoist_error_set_status (err, EINVAL, "invalid whiteout '%s" WHITEOUT_PREFIX "%s'", dir, name);
  return build_rmtree_at (fd, name, err);
}

/* ".wh..wh..opq" in DIR: remove what the layers below put in DIR, keeping
 * what this layer wrote (WROTE). */
static int
whiteout_opaque (struct build_rootfs *r, const char *dir, const struct path_set *wrote, struct hoist_error **err)
{
  int fd = open_dir_nofollow (r->dirfd, dir);
  DIR *d;
  struct dirent *de;
  char **names = NULL;
  int ret = 0;

  if (fd < 0)
    return errno == ENOENT ? 0 : hoist_error_set (err, errno, "opaque whiteout of '%s' goes through a symlink", dir);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return hoist_error_set (err, errno, "cannot read '%s'", dir);
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      hoist_strv_push (&names, de->d_name);
  for (size_t i = 0; ret == 0 && names != NULL && names[i] != NULL; i++)
    {
      cleanup_free char *p = join (dir, names[i]);
      if (!path_set_covers (wrote, p))
        ret = build_rmtree_at (dirfd (d), names[i], err);
    }
  hoist_strv_free (names);
  closedir (d);
  return ret;
}

/* ---- Extraction ------------------------------------------------------------------ */

static int
archive_fail (struct archive *a, const char *what, const char *digest, struct hoist_error **err)
{
  const char *msg = archive_error_string (a);
  return hoist_error_set (err, 0, "layer '%s': %s: %s", digest, what, msg != NULL ? msg : "unknown error");
}

/* Make room for an entry of type TYPE at PATH: a directory in the way of
 * a non-directory is removed whole (the upper layer replaces it). */
static int
clear_way (struct build_rootfs *r, const char *path, mode_t type, struct hoist_error **err)
{
  struct stat st;

  if (type == AE_IFDIR || fstatat (r->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    return 0;
  return build_rmtree_at (r->dirfd, path, err);
}

/* Extract the entry that archive IN is at, named CLEAN.  Returns 1 when
 * it was written, 0 when skipped. */
static int
extract_entry (struct build_rootfs *r, struct archive *in, struct archive *out, struct archive_entry *e,
               const char *clean, const char *digest, struct hoist_error **err)
{
  mode_t type = archive_entry_filetype (e);
  const char *hl = archive_entry_hardlink (e);

  if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)
    return 0;
  if (hl != NULL)
    {
      cleanup_free char *target = entry_clean (hl);
      if (target == NULL || *target == '\0')
        return hoist_error_set_status (err, EINVAL, "layer '%s': hard link '%s' points outside the image ('%s')",
                                       digest, clean, hl);
      archive_entry_copy_hardlink (e, target);
    }
  if (clear_way (r, clean, type, err) < 0)
    return -1;
  archive_entry_copy_pathname (e, clean);
  if (archive_read_extract2 (in, e, out) < ARCHIVE_WARN)
    return archive_fail (out, clean, digest, err);
  return 1;
}

static int
extract_all (struct build_rootfs *r, struct archive *in, const char *digest, struct hoist_error **err)
{
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS
              | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
  struct archive *out = archive_write_disk_new ();
  struct archive_entry *e;
  struct path_set wrote = { 0 };
  char **opaque = NULL;
  int ret = 0, rr;

  if (out == NULL)
    abort ();
  if (geteuid () == 0)
    flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
  archive_write_disk_set_options (out, flags);
  while (ret == 0 && (rr = archive_read_next_header (in, &e)) == ARCHIVE_OK)
    {
      cleanup_free char *clean = entry_clean (archive_entry_pathname (e));
      const char *base;
      cleanup_free char *dir = NULL;

      if (clean == NULL)
        {
          ret = hoist_error_set_status (err, EINVAL, "layer '%s': entry '%s' is outside the image", digest,
                                        archive_entry_pathname (e));
          break;
        }
      if (*clean == '\0')
        continue; /* "./": the root itself */
      base = strrchr (clean, '/');
      dir = base != NULL ? hoist_xstrndup (clean, (size_t) (base - clean)) : hoist_xstrdup ("");
      base = base != NULL ? base + 1 : clean;
      if (strcmp (base, WHITEOUT_OPAQUE) == 0)
        hoist_strv_push (&opaque, dir);
      else if (strncmp (base, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
        ret = whiteout (r, dir, base + strlen (WHITEOUT_PREFIX), err);
      else
        {
          int x = extract_entry (r, in, out, e, clean, digest, err);
          if (x < 0)
            ret = -1;
          else if (x > 0)
            path_set_add (&wrote, clean);
        }
    }
  if (ret == 0 && rr != ARCHIVE_EOF)
    ret = archive_fail (in, "cannot read", digest, err);
  /* Directory permissions and times are set when the writer closes. */
  if (archive_write_close (out) != ARCHIVE_OK && ret == 0)
    ret = archive_fail (out, "cannot finish", digest, err);
  archive_write_free (out);
  qsort (wrote.v, wrote.n, sizeof (char *), cmp_str);
  for (size_t i = 0; ret == 0 && opaque != NULL && opaque[i] != NULL; i++)
    ret = whiteout_opaque (r, opaque[i], &wrote, err);
  hoist_strv_free (opaque);
  path_set_release (&wrote);
  return ret;
}

int
build_rootfs_apply (struct build_rootfs *r, struct builder_store *store, const struct builder_descriptor *layer,
                    struct hoist_error **err)
{
  cleanup_close int fd = -1;
  cleanup_close int cwd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct archive *in;
  int ret;

  if (cwd < 0)
    return hoist_error_set (err, errno, "cannot open the working directory");
  if (builder_store_blob_open (store, layer->digest, &fd, NULL, err) < 0)
    return -1;
  in = archive_read_new ();
  if (in == NULL)
    abort ();
  archive_read_support_filter_all (in);
  archive_read_support_format_tar (in);
  if (archive_read_open_fd (in, fd, 256 * 1024) != ARCHIVE_OK)
    ret = archive_fail (in, "cannot open", layer->digest, err);
  /* archive_write_disk resolves names against the working directory:
   * the process's one, so this is not for threads. */
  else if (fchdir (r->dirfd) < 0)
    ret = hoist_error_set (err, errno, "cannot enter '%s'", r->path);
  else
    {
      ret = extract_all (r, in, layer->digest, err);
      if (fchdir (cwd) < 0 && ret == 0)
        ret = hoist_error_set (err, errno, "cannot return to the working directory");
    }
  archive_read_free (in);
  if (ret == 0)
    r->n_layers++;
  return ret;
}

/* ---- Users and groups ------------------------------------------------------------- */

static bool
parse_id (const char *s, unsigned long *out)
{
  char *end;

  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  *out = strtoul (s, &end, 10);
  return errno == 0 && *end == '\0' && *out <= UINT32_MAX - 1;
}

/* Read ROOT/etc/NAME (never through a symlink) into B; false when it is
 * not there. */
static bool
read_accounts (const struct build_rootfs *r, const char *name, struct hoist_buf *b)
{
  cleanup_close int etc = r != NULL ? open_dir_nofollow (r->dirfd, "etc") : -1;
  cleanup_close int fd = etc >= 0 ? openat (etc, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;

  return fd >= 0 && hoist_buf_read_fd (b, fd, NULL) == 0;
}

/* Split LINE at ':' into at most 4 fields (the rest is dropped). */
static int
split_fields (char *line, char *f[4])
{
  int n = 0;

  while (n < 4 && line != NULL)
    f[n++] = strsep (&line, ":");
  return n;
}

/* The line of TEXT (colon-separated, as /etc/passwd) whose field KEY_FIELD
 * is KEY: its field 2 into *ID and field 3 into *ID2 (when given).  TEXT
 * is cut up on the way. */
static bool
accounts_find (char *text, int key_field, const char *key, unsigned long *id, unsigned long *id2)
{
  for (char *line = text; line != NULL && *line != '\0';)
    {
      char *nl = strchr (line, '\n');
      char *f[4] = { NULL, NULL, NULL, NULL };
      int n;

      if (nl != NULL)
        *nl = '\0';
      n = split_fields (line, f);
      if (n > key_field && n >= 3 && strcmp (f[key_field], key) == 0 && parse_id (f[2], id))
        {
          if (id2 != NULL && (n < 4 || !parse_id (f[3], id2)))
            *id2 = 0;
          return true;
        }
      line = nl != NULL ? nl + 1 : NULL;
    }
  return false;
}

int
build_rootfs_user (const struct build_rootfs *r, const char *user, uid_t *uid, gid_t *gid, struct hoist_error **err)
{
  cleanup_free char *u = hoist_xstrdup (user);
  char *g = strchr (u, ':');
  cleanup_buf struct hoist_buf passwd;
  cleanup_buf struct hoist_buf group;
  unsigned long uid_v = 0, gid_v = 0;

  hoist_buf_init (&passwd, ACCOUNTS_MAX);
  hoist_buf_init (&group, ACCOUNTS_MAX);
  if (g != NULL)
    *g++ = '\0';
  if (parse_id (u, &uid_v))
    gid_v = uid_v; /* BuildKit's ByID user: its own number as the group */
  else if (!read_accounts (r, "passwd", &passwd) || !accounts_find (passwd.data, 0, u, &uid_v, &gid_v))
    return hoist_error_set_status (err, ENOENT, "unknown user '%s' (no such user in /etc/passwd of the image)", u);
  if (g != NULL && !parse_id (g, &gid_v)
      && (!read_accounts (r, "group", &group) || !accounts_find (group.data, 0, g, &gid_v, NULL)))
    return hoist_error_set_status (err, ENOENT, "unknown group '%s' (no such group in /etc/group of the image)", g);
  *uid = (uid_t) uid_v;
  *gid = (gid_t) gid_v;
  return 0;
}
