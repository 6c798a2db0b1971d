/* rootfs_write.c — hoist's own writer of untrusted layer tars into a root
 * file system held as a directory fd (STYLE.md rule 9; the contract is
 * build_layer_write's, in build_private.h).
 *
 * libarchive only parses; every write is made here, relative to fds.  An
 * entry's parent is looked up with openat2 inside the root (symlinks
 * followed as the image sees them, the root as '/', no mount crossed);
 * the entry is one name in that parent, made with O_CREAT | O_EXCL |
 * O_NOFOLLOW or mkdirat, symlinkat, linkat, mknodat (which never follow),
 * once what was there is unlinked (a directory removed whole, unless a
 * directory replaces it: that one stays and gets the entry's metadata).
 * Metadata goes through the fd, or for symlinks and nodes through the
 * parent fd and the name with AT_SYMLINK_NOFOLLOW.  Hard link targets are
 * looked up inside the root; whiteouts remove with unlinkat on the in-root
 * parent fd, never through a symlink.
 *
 * The layer's own entries are tracked by inode: whiteouts apply to lower
 * layers only (OCI image spec), so what this layer wrote stays wherever
 * the marker comes.  Directory modes and times are set at the end of the
 * layer (children would change the times, a read-only mode would stop
 * them), on the directory found again under its name with its inode.
 * Owners, devices and security.capability need root (the RUN sandbox maps
 * ids 1:1); without it files are the caller's and devices are skipped
 * with a note.  Rootless ids (a user namespace) are for later. */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/build_private.h"

#define WHITEOUT_PREFIX BUILD_WHITEOUT_PREFIX
#define WHITEOUT_RESERVED ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define CAPABILITY_XATTR "security.capability"
/* Parents: symlinks followed as the image sees them, the root as '/'. */
#define RESOLVE_PARENT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* One name in a directory: never a symlink, never another mount. */
#define RESOLVE_NAME (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* How far up a directory's parents are marked: deeper than any path. */
#define ANCESTORS_MAX 65536
/* Entry names as error messages show them. */
#define QUOTE_MAX 160

#define TOUCH_WRITTEN 1u  /* an entry of this layer, or a directory it made */
#define TOUCH_ANCESTOR 2u /* a directory above something this layer wrote */
#define TOUCH_PRUNED 4u   /* a directory a whiteout emptied of lower content */

/* ---- The writer ------------------------------------------------------------------ */

struct writer
{
  int rootfd;
  const char *layer; /* for messages */
  const struct build_layer_limits *lim;
  struct archive *in;
  bool root; /* euid 0: owners, devices, capabilities */
  ino_t root_ino;
  uint64_t entries, name_bytes;
  /* Inodes this layer wrote (TOUCH_*).  Each it creates is put with
   * exactly TOUCH_WRITTEN, so a number reused after a removal never
   * carries stale marks.  Keyed on the inode alone: lookups never cross
   * a mount, and overlayfs may report a lower device for files. */
  struct build_ino_set touched;
  struct build_dir_fixups fixups; /* directories' modes and times, for the end */
  size_t skipped_nodes, skipped_xattrs;
};

/* One entry being written. */
struct entry
{
  struct archive_entry *e;
  char *path;       /* clean, relative: "a/b" */
  char *q;          /* the raw name as messages show it */
  const char *name; /* the last component of PATH */
  mode_t type, mode;
  uid_t uid;
  gid_t gid;
  struct timespec times[2];
};

static const char *
archive_msg (struct archive *a)
{
  return archive_error_string (a) != NULL ? archive_error_string (a) : "unknown error";
}

static int
fail (struct writer *w, int errnum, const char *what, const char *q, struct hoist_error **err)
{
  return hoist_error_set (err, errnum, "layer '%s': %s '%s'", w->layer, what, q);
}

/* KIND names what Q is: "entry", or "hard link 'x' to". */
static int
refuse_as (struct writer *w, const char *kind, const char *q, const char *why, struct hoist_error **err)
{
  return hoist_error_set_status (err, EINVAL, "layer '%s': refusing %s '%s': %s", w->layer, kind, q, why);
}

static int
count_entry (struct writer *w, struct hoist_error **err)
{
  if (++w->entries > w->lim->max_entries)
    return hoist_error_set_status (err, E2BIG, "layer '%s' has more than %" PRIu64 " entries (entry limit)", w->layer,
                                   w->lim->max_entries);
  return 0;
}

/* Mark the directory DIRFD and those above it, up to the root, as
 * holding something this layer wrote.  Stops at the first one already
 * marked: its own parents were marked with it. */
static int
mark_ancestors (struct writer *w, int dirfd, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  for (int i = 0; i < ANCESTORS_MAX; i++)
    {
      int cur = fd >= 0 ? fd : dirfd;
      int up;

      if (fstat (cur, &st) < 0)
        return hoist_error_set (err, errno, "layer '%s': cannot stat a directory", w->layer);
      if (st.st_ino == w->root_ino || build_ino_set_get (&w->touched, st.st_ino) != 0)
        return 0;
      build_ino_set_put (&w->touched, st.st_ino, TOUCH_ANCESTOR, false);
      up = openat (cur, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (up < 0)
        return hoist_error_set (err, errno, "layer '%s': cannot open a parent directory", w->layer);
      if (fd >= 0)
        close (fd);
      fd = up;
    }
  return 0;
}

/* Record that the entry at NAME in PARENTFD (just written) is this
 * layer's; CREATED when it is a new inode. */
static int
touch (struct writer *w, int parentfd, const struct stat *st, bool created, struct hoist_error **err)
{
  build_ino_set_put (&w->touched, st->st_ino, TOUCH_WRITTEN, created);
  return mark_ancestors (w, parentfd, err);
}

/* ---- Names ------------------------------------------------------------------------ */

static int
too_long (struct writer *w, const char *what, const char *q, struct hoist_error **err)
{
  return hoist_error_set_status (err, E2BIG, "layer '%s': %s '%s' is longer than %zu bytes (path length limit)",
                                 w->layer, what, q, w->lim->max_path);
}

/* Check RAW (an entry's name or a hard link's target, KIND says which)
 * and clean it into *OUT (build_layer_name_clean). */
static int
path_clean (struct writer *w, const char *raw, const char *kind, const char *q, char **out, struct hoist_error **err)
{
  size_t len = raw != NULL ? strlen (raw) : 0;
  const char *why;

  if (len > w->lim->max_path)
    return too_long (w, "name", q, err);
  why = len == 0 ? "empty name" : build_layer_name_clean (raw, out);
  return why != NULL ? refuse_as (w, kind, q, why, err) : 0;
}

/* Split clean PATH at its last '/': the directory (owned; "" for the
 * root) and a pointer to the last component inside PATH. */
static char *
path_split (const char *path, const char **name)
{
  const char *slash = strrchr (path, '/');

  *name = slash != NULL ? slash + 1 : path;
  return slash != NULL ? hoist_xstrndup (path, (size_t) (slash - path)) : hoist_xstrdup ("");
}

/* ---- Parents ---------------------------------------------------------------------- */

/* Make the directory NAME in PARENTFD for an entry whose parents the
 * layer does not list (0755, owned by the writer, as Docker does).
 * Returns its fd. */
static int
make_parent (struct writer *w, int parentfd, const char *name, const char *q, int *out, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (count_entry (w, err) < 0)
    return -1;
  if (mkdirat (parentfd, name, 0700) < 0)
    return fail (w, errno, "cannot create a parent directory of", q, err);
  fd = build_openat2 (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_NAME);
  if (fd < 0 || fstat (fd, &st) < 0 || fchmod (fd, 0755) < 0)
    return fail (w, errno, "cannot set up a parent directory of", q, err);
  if (touch (w, parentfd, &st, true, err) < 0)
    return -1;
  *out = steal_fd (&fd);
  return 0;
}

/* Open DIR (clean, relative; "" is the root) inside the root, making
 * what is missing of it one component at a time.  Each step first looks
 * the component up alone without following anything; a symlink (ELOOP)
 * is resolved from the root, as the image sees it. */
static int
open_parent (struct writer *w, const char *dir, const char *q, int *out, struct hoist_error **err)
{
  cleanup_free char *p = hoist_xstrdup (dir);
  cleanup_close int cur = build_openat2 (w->rootfd, *dir != '\0' ? dir : ".", O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
  char *s = p;

  if (cur >= 0 || errno != ENOENT)
    {
      if (cur < 0)
        return fail (w, errno, "cannot open the parent directory of", q, err);
      *out = steal_fd (&cur);
      return 0;
    }
  cur = build_openat2 (w->rootfd, ".", O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
  while (cur >= 0)
    {
      char *slash = strchr (s, '/');
      int next;

      if (slash != NULL)
        *slash = '\0';
      next = build_openat2 (cur, s, O_PATH | O_DIRECTORY, 0, RESOLVE_NAME);
      if (next < 0 && errno == ELOOP)
        next = build_openat2 (w->rootfd, p, O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
      if (next < 0 && errno == ENOENT && make_parent (w, cur, s, q, &next, err) < 0)
        return -1;
      if (next < 0)
        return fail (w, errno, "cannot open the parent directory of", q, err);
      close (cur);
      cur = next;
      if (slash == NULL)
        break;
      *slash = '/';
      s = slash + 1;
    }
  if (cur < 0)
    return fail (w, errno, "cannot open the root for", q, err);
  *out = steal_fd (&cur);
  return 0;
}

/* Remove what is at NAME in PARENTFD, if anything: a directory whole. */
static int
make_way (struct writer *w, int parentfd, const char *name, const char *q, struct hoist_error **err)
{
  struct stat st;

  if (fstatat (parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : fail (w, errno, "cannot inspect", q, err);
  if (S_ISDIR (st.st_mode))
    return hoist_rmtree_at (parentfd, name, err) < 0 ? hoist_error_wrap (err, "layer '%s'", w->layer) : 0;
  if (unlinkat (parentfd, name, 0) < 0 && errno != ENOENT)
    return fail (w, errno, "cannot replace", q, err);
  return 0;
}

/* ---- Metadata ------------------------------------------------------------------- */

/* After a failed chown: EINVAL is an owner the user namespace does not
 * map (a rootless build with no subordinate range: only container 0
 * is), and the entry stays root's, as rootless podman's
 * ignore_chown_errors has it.  The step's own chown to such an id fails
 * with the sandbox's hint. */
static int
owner_failed (struct writer *w, const struct entry *en, struct hoist_error **err)
{
  if (errno == EINVAL)
    return 0;
  return fail (w, errno, "cannot set the owner of", en->q, err);
}

static int
set_owner (struct writer *w, int fd, const struct entry *en, struct hoist_error **err)
{
  if (w->root && fchown (fd, en->uid, en->gid) < 0)
    return owner_failed (w, en, err);
  return 0;
}

/* security.capability, when root; other xattrs are not kept. */
static int
set_xattrs (struct writer *w, int fd, const struct entry *en, struct hoist_error **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (en->e);
  while (archive_entry_xattr_next (en->e, &name, &value, &size) == ARCHIVE_OK)
    {
      if (!w->root || en->type != AE_IFREG || strcmp (name, CAPABILITY_XATTR) != 0)
        {
          w->skipped_xattrs++;
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (errno != EPERM && errno != ENOTSUP)
            return fail (w, errno, "cannot set " CAPABILITY_XATTR " of", en->q, err);
          w->skipped_xattrs++;
        }
    }
  return 0;
}

/* ---- Entries ------------------------------------------------------------------------ */

static int
write_dir (struct writer *w, int parentfd, struct entry *en, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  bool created = false;

  if (fstatat (parentfd, en->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode)
      && make_way (w, parentfd, en->name, en->q, err) < 0)
    return -1;
  if (mkdirat (parentfd, en->name, 0700) == 0)
    created = true;
  else if (errno != EEXIST)
    return fail (w, errno, "cannot create directory", en->q, err);
  fd = build_openat2 (parentfd, en->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_NAME);
  if (fd < 0 || fstat (fd, &st) < 0)
    return fail (w, errno, "cannot open directory", en->q, err);
  if (touch (w, parentfd, &st, created, err) < 0 || set_owner (w, fd, en, err) < 0 || set_xattrs (w, fd, en, err) < 0)
    return -1;
  /* Without root, the writer needs its own access until the fixup. */
  if (!w->root && (st.st_mode & 0700) != 0700 && fchmod (fd, (st.st_mode & 07777) | 0700) < 0)
    return fail (w, errno, "cannot open up directory", en->q, err);
  build_dir_fixups_add (&w->fixups, en->path, st.st_ino, en->mode, en->times);
  return 0;
}

/* Copy the entry's data into FD at the offsets the archive gives (sparse
 * files keep their holes), never past the size the entry declares (the
 * one the size limit counted). */
static int
copy_data (struct writer *w, int fd, const struct entry *en, struct hoist_error **err)
{
  int64_t size = archive_entry_size_is_set (en->e) ? archive_entry_size (en->e) : 0;

  for (;;)
    {
      const void *buf;
      size_t len;
      la_int64_t off;
      int r = archive_read_data_block (w->in, &buf, &len, &off);

      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK)
        return hoist_error_set (err, 0, "layer '%s': cannot read '%s': %s", w->layer, en->q, archive_msg (w->in));
      if (off < 0 || off > size || len > (uint64_t) (size - off))
        return refuse_as (w, "entry", en->q, "data past its size", err);
      for (size_t done = 0; done < len;)
        {
          ssize_t n = pwrite (fd, (const char *) buf + done, len - done, (off_t) (off + (int64_t) done));
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            return fail (w, n < 0 ? errno : EIO, "cannot write", en->q, err);
          done += (size_t) n;
        }
    }
  if (ftruncate (fd, size) < 0)
    return fail (w, errno, "cannot write", en->q, err);
  return 0;
}

static int
write_file (struct writer *w, int parentfd, struct entry *en, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (make_way (w, parentfd, en->name, en->q, err) < 0)
    return -1;
  fd = build_openat2 (parentfd, en->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600, RESOLVE_NAME);
  if (fd < 0)
    return fail (w, errno, "cannot create", en->q, err);
  if (copy_data (w, fd, en, err) < 0)
    return -1;
  if (fstat (fd, &st) < 0)
    return fail (w, errno, "cannot stat", en->q, err);
  /* Owner first: chown clears set-id bits and capabilities. */
  if (touch (w, parentfd, &st, true, err) < 0 || set_owner (w, fd, en, err) < 0)
    return -1;
  if (fchmod (fd, en->mode) < 0)
    return fail (w, errno, "cannot set the mode of", en->q, err);
  if (set_xattrs (w, fd, en, err) < 0)
    return -1;
  if (futimens (fd, en->times) < 0)
    return fail (w, errno, "cannot set the times of", en->q, err);
  return 0;
}

/* Owner and times of what NAME in PARENTFD is (just made, not a
 * directory), never following it; the mode too unless a symlink. */
static int
set_meta_at (struct writer *w, int parentfd, const struct entry *en, struct hoist_error **err)
{
  struct stat st;

  if (fstatat (parentfd, en->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return fail (w, errno, "cannot stat", en->q, err);
  if (touch (w, parentfd, &st, true, err) < 0)
    return -1;
  if (w->root && fchownat (parentfd, en->name, en->uid, en->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return owner_failed (w, en, err);
  /* fchmodat follows a symlink, but S_ISLNK is excluded and the node was
   * made by mknodat, which never replaces: nothing else writes here. */
  if (!S_ISLNK (st.st_mode) && fchmodat (parentfd, en->name, en->mode, 0) < 0)
    return fail (w, errno, "cannot set the mode of", en->q, err);
  if (utimensat (parentfd, en->name, en->times, AT_SYMLINK_NOFOLLOW) < 0)
    return fail (w, errno, "cannot set the times of", en->q, err);
  return 0;
}

static int
write_symlink (struct writer *w, int parentfd, struct entry *en, struct hoist_error **err)
{
  const char *target = archive_entry_symlink (en->e);

  if (target == NULL || *target == '\0')
    return refuse_as (w, "entry", en->q, "a symlink without a target", err);
  if (strlen (target) > w->lim->max_path)
    return too_long (w, "the target of", en->q, err);
  if (make_way (w, parentfd, en->name, en->q, err) < 0)
    return -1;
  if (symlinkat (target, parentfd, en->name) < 0)
    return fail (w, errno, "cannot create symlink", en->q, err);
  return set_meta_at (w, parentfd, en, err);
}

static int
write_node (struct writer *w, int parentfd, struct entry *en, struct hoist_error **err)
{
  dev_t rdev = makedev (archive_entry_rdevmajor (en->e), archive_entry_rdevminor (en->e));

  /* A fifo needs no privilege, a device does; a socket is never kept. */
  if (en->type == AE_IFSOCK || (en->type != AE_IFIFO && !w->root))
    {
      w->skipped_nodes++;
      return 0;
    }
  if (make_way (w, parentfd, en->name, en->q, err) < 0)
    return -1;
  if (mknodat (parentfd, en->name, en->type | 0600, en->type == AE_IFIFO ? 0 : rdev) < 0)
    {
      if (errno == EPERM && en->type != AE_IFIFO)
        {
          w->skipped_nodes++; /* root in a user namespace */
          return 0;
        }
      return fail (w, errno, "cannot create", en->q, err);
    }
  return set_meta_at (w, parentfd, en, err);
}

/* A hard link to an earlier entry: the target is looked up inside the
 * root, and may not be a directory. */
static int
write_hardlink (struct writer *w, int parentfd, struct entry *en, const char *raw, struct hoist_error **err)
{
  cleanup_free char *qt = hoist_quote (raw, strlen (raw), QUOTE_MAX, 0);
  cleanup_free char *kind = hoist_xasprintf ("hard link '%s' to", en->q);
  cleanup_free char *target = NULL;
  cleanup_free char *tdir = NULL;
  cleanup_close int tfd = -1;
  const char *tname;
  struct stat tst, st;

  if (path_clean (w, raw, kind, qt, &target, err) < 0)
    return -1;
  if (*target == '\0')
    return refuse_as (w, kind, qt, "the root is a directory", err);
  tdir = path_split (target, &tname);
  tfd = build_openat2 (w->rootfd, *tdir != '\0' ? tdir : ".", O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
  if (tfd < 0 || fstatat (tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0)
    return hoist_error_set (err, errno, "layer '%s': hard link '%s' to '%s' has no target in the image", w->layer,
                            en->q, qt);
  if (S_ISDIR (tst.st_mode))
    return refuse_as (w, kind, qt, "a directory", err);
  if (fstatat (parentfd, en->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
    return touch (w, parentfd, &st, false, err); /* already that file */
  if (make_way (w, parentfd, en->name, en->q, err) < 0)
    return -1;
  if (linkat (tfd, tname, parentfd, en->name, 0) < 0)
    return fail (w, errno, "cannot create hard link", en->q, err);
  return touch (w, parentfd, &tst, false, err);
}

/* ---- Whiteouts ---------------------------------------------------------------------- */

static bool
mine (const struct writer *w, const struct stat *st)
{
  return build_ino_set_get (&w->touched, st->st_ino) != 0;
}

/* What a whiteout keeps: what this layer wrote, and the directories
 * above it (whose lower content still goes).  A directory emptied of
 * lower content once only gains this layer's after: not walked again,
 * so markers cost no more than one walk of what they hide. */
static enum build_prune
prune_decide (const struct stat *st, void *data)
{
  struct writer *w = data;
  unsigned flags = build_ino_set_get (&w->touched, st->st_ino);

  if (flags == 0)
    return BUILD_PRUNE_REMOVE;
  if (!S_ISDIR (st->st_mode) || (flags & TOUCH_PRUNED) != 0)
    return BUILD_PRUNE_KEEP;
  build_ino_set_put (&w->touched, st->st_ino, TOUCH_PRUNED, false);
  return BUILD_PRUNE_DESCEND;
}

/* Remove from the directory DIRFD what lower layers put there. */
static int
prune (struct writer *w, int dirfd, const char *q, struct hoist_error **err)
{
  struct stat st;

  if (fstat (dirfd, &st) < 0)
    return fail (w, errno, "cannot inspect the directory of whiteout", q, err);
  if ((build_ino_set_get (&w->touched, st.st_ino) & TOUCH_PRUNED) != 0)
    return 0;
  /* The marker makes the directory this layer's own (its parents
   * first: a marked directory's parents are marked). */
  if (mark_ancestors (w, dirfd, err) < 0)
    return -1;
  build_ino_set_put (&w->touched, st.st_ino, TOUCH_WRITTEN | TOUCH_PRUNED, false);
  if (build_prune_at (dirfd, prune_decide, w, err) < 0)
    return hoist_error_wrap (err, "layer '%s': whiteout '%s'", w->layer, q);
  return 0;
}

/* Open DIR inside the root for a whiteout; 0 with *FD -1 when it is not
 * there (nothing below to hide). */
static int
open_whiteout_dir (struct writer *w, const char *dir, const char *q, int *fd, struct hoist_error **err)
{
  *fd = build_openat2 (w->rootfd, *dir != '\0' ? dir : ".", O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
  if (*fd < 0 && errno != ENOENT && errno != ENOTDIR)
    return fail (w, errno, "cannot open the directory of whiteout", q, err);
  return 0;
}

/* ".wh.NAME" in DIR: remove DIR/NAME of the lower layers, never through
 * a symlink (the last step is unlinkat on the parent). */
static int
write_whiteout (struct writer *w, const char *dir, const char *name, const char *q, struct hoist_error **err)
{
  cleanup_close int pfd = -1;
  cleanup_close int fd = -1;
  struct stat st;

  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return refuse_as (w, "entry", q, "a whiteout of no name", err);
  if (open_whiteout_dir (w, dir, q, &pfd, err) < 0)
    return -1;
  if (pfd < 0 || fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return pfd < 0 || errno == ENOENT ? 0 : fail (w, errno, "cannot inspect whiteout", q, err);
  if (!mine (w, &st))
    return hoist_rmtree_at (pfd, name, err) < 0 ? hoist_error_wrap (err, "layer '%s'", w->layer) : 0;
  if (!S_ISDIR (st.st_mode))
    return 0; /* this layer's own file */
  fd = build_openat2 (pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_NAME);
  if (fd < 0)
    return fail (w, errno, "cannot open whiteout", q, err);
  return prune (w, fd, q, err);
}

/* ".wh..wh..opq" in DIR: hide what lower layers put in DIR. */
static int
write_opaque (struct writer *w, const char *dir, const char *q, struct hoist_error **err)
{
  cleanup_close int fd = -1;

  if (open_whiteout_dir (w, dir, q, &fd, err) < 0)
    return -1;
  return fd < 0 ? 0 : prune (w, fd, q, err);
}

/* ---- The layer ---------------------------------------------------------------------- */

static int
entry_read (struct writer *w, struct entry *en, struct hoist_error **err)
{
  struct archive_entry *e = en->e;
  la_int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);

  en->type = archive_entry_filetype (e);
  en->mode = archive_entry_perm (e) & 07777;
  if (uid < 0 || uid >= (la_int64_t) UINT32_MAX || gid < 0 || gid >= (la_int64_t) UINT32_MAX)
    return refuse_as (w, "entry", en->q, "an owner out of range", err);
  en->uid = (uid_t) uid;
  en->gid = (gid_t) gid;
  en->times[1] = (struct timespec){ archive_entry_mtime (e), archive_entry_mtime_nsec (e) };
  en->times[0] = archive_entry_atime_is_set (e)
                     ? (struct timespec){ archive_entry_atime (e), archive_entry_atime_nsec (e) }
                     : en->times[1];
  for (int i = 0; i < 2; i++)
    if (en->times[i].tv_nsec < 0 || en->times[i].tv_nsec >= 1000000000)
      en->times[i].tv_nsec = 0;
  return 0;
}

/* Write the entry at E, whose data the archive is at. */
static int
write_entry (struct writer *w, struct archive_entry *e, struct hoist_error **err)
{
  const char *raw = archive_entry_pathname (e);
  const char *hl = archive_entry_hardlink (e);
  const char *sl = archive_entry_symlink (e);
  cleanup_free char *q = raw != NULL ? hoist_quote (raw, strlen (raw), QUOTE_MAX, 0) : hoist_xstrdup ("");
  cleanup_free char *path = NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int pfd = -1;
  struct entry en = { .e = e, .q = q };
  const char *name;

  w->name_bytes += (raw ? strlen (raw) : 0) + (hl ? strlen (hl) : 0) + (sl ? strlen (sl) : 0);
  if (w->name_bytes > w->lim->max_name_bytes)
    return hoist_error_set_status (err, E2BIG, "layer '%s' has more than %" PRIu64 " bytes of names (name limit)",
                                   w->layer, w->lim->max_name_bytes);
  if (path_clean (w, raw, "entry", q, &path, err) < 0 || entry_read (w, &en, err) < 0)
    return -1;
  if (*path == '\0')
    return en.type == AE_IFDIR && hl == NULL ? 0 : refuse_as (w, "entry", q, "it would replace the root", err);
  dir = path_split (path, &name);
  en.path = path;
  en.name = name;
  if (strcmp (name, WHITEOUT_OPAQUE) == 0)
    return write_opaque (w, dir, q, err);
  if (strncmp (name, WHITEOUT_RESERVED, strlen (WHITEOUT_RESERVED)) == 0)
    return refuse_as (w, "entry", q, "a reserved whiteout name", err);
  if (strncmp (name, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
    return write_whiteout (w, dir, name + strlen (WHITEOUT_PREFIX), q, err);
  if (open_parent (w, dir, q, &pfd, err) < 0)
    return -1;
  if (hl != NULL)
    return write_hardlink (w, pfd, &en, hl, err);
  switch (en.type)
    {
    case AE_IFDIR:
      return write_dir (w, pfd, &en, err);
    case AE_IFREG:
      return write_file (w, pfd, &en, err);
    case AE_IFLNK:
      return write_symlink (w, pfd, &en, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
      return write_node (w, pfd, &en, err);
    default:
      return refuse_as (w, "entry", q, "an unknown file type", err);
    }
}

/* Check the root and that the kernel has openat2 (Linux 5.6). */
static int
writer_init (struct writer *w, struct hoist_error **err)
{
  cleanup_close int fd = build_openat2 (w->rootfd, ".", O_PATH | O_DIRECTORY, 0, RESOLVE_PARENT);
  struct stat st;

  if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
    return hoist_error_set (err, errno,
                            "cannot write layer '%s': the kernel has no usable openat2 "
                            "(hint: Linux 5.6 or later is needed)",
                            w->layer);
  if (fd < 0 || fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "cannot write layer '%s': cannot open the root", w->layer);
  w->root_ino = st.st_ino;
  w->root = geteuid () == 0;
  return 0;
}

static int
write_all (struct writer *w, struct hoist_error **err)
{
  struct archive_entry *e;
  int r;

  while ((r = archive_read_next_header (w->in, &e)) != ARCHIVE_EOF)
    {
      /* Bytes of the uncompressed stream so far, plus what this entry
       * says it holds: refused before anything is decompressed past it. */
      la_int64_t pos, size;

      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return hoist_error_set (err, 0, "layer '%s': cannot read: %s", w->layer, archive_msg (w->in));
      pos = archive_filter_bytes (w->in, 0);
      size = archive_entry_size_is_set (e) ? archive_entry_size (e) : 0;
      if (count_entry (w, err) < 0)
        return -1;
      if (pos < 0 || size < 0 || (uint64_t) pos > w->lim->max_bytes
          || (uint64_t) size > w->lim->max_bytes - (uint64_t) pos)
        return hoist_error_set_status (err, E2BIG,
                                       "layer '%s' is larger than %" PRIu64 " bytes uncompressed (size limit)",
                                       w->layer, w->lim->max_bytes);
      if (write_entry (w, e, err) < 0)
        return -1;
    }
  if (build_dir_fixups_apply (&w->fixups, w->rootfd, err) < 0)
    return hoist_error_wrap (err, "layer '%s'", w->layer);
  return 0;
}

static void
writer_note (const struct writer *w)
{
  if (w->skipped_nodes > 0)
    hoist_log (HOIST_LOG_INFO, "layer '%s': skipped %zu socket(s) and device node(s)%s", w->layer, w->skipped_nodes,
               w->root ? "" : " (devices need root)");
  if (w->skipped_xattrs > 0)
    hoist_log (HOIST_LOG_DEBUG, "layer '%s': ignored %zu extended attribute(s)", w->layer, w->skipped_xattrs);
}

int
build_layer_write (int rootfd, int fd, const char *layer, const struct build_layer_limits *lim,
                   struct hoist_error **err)
{
  struct writer w = { .rootfd = rootfd, .layer = layer, .lim = lim };
  int ret;

  if (writer_init (&w, err) < 0)
    return -1;
  w.in = archive_read_new ();
  if (w.in == NULL)
    abort ();
  /* The layer media types: tar, tar+gzip, tar+zstd.  No other filters,
   * and none that would run an external program. */
  archive_read_support_filter_gzip (w.in);
  archive_read_support_filter_zstd (w.in);
  archive_read_support_format_tar (w.in);
  if (archive_read_open_fd (w.in, fd, 256 * 1024) != ARCHIVE_OK)
    ret = hoist_error_set (err, 0, "layer '%s': cannot open: %s", layer, archive_msg (w.in));
  else
    ret = write_all (&w, err);
  if (ret == 0)
    writer_note (&w);
  archive_read_free (w.in);
  build_dir_fixups_release (&w.fixups);
  build_ino_set_release (&w.touched);
  return ret;
}
