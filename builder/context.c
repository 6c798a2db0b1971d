/* context.c — the build context: open the directory, read .dockerignore,
 * walk the tree once into sorted entries, look entries up, and open their
 * content without ever leaving the root.  Source patterns are in
 * context_match.c, digests and their cache in context_digest.c.
 *
 * Every open below the root is relative to the root fd: openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS for a path, openat with O_NOFOLLOW
 * for one name in a directory fd.  Where openat2 is missing (Linux before
 * 5.6, or a seccomp profile that refuses it) a path is opened one
 * component at a time with O_NOFOLLOW, which is as strict.
 *
 * The walk reads a directory whole, sorts its names, lstats every name it
 * keeps while the directory's fd is open, closes it, and only then goes
 * down into the subdirectories, each reopened from the root and checked to
 * be the inode lstat saw.  So it holds one directory fd at a time however
 * deep the tree is, and a directory swapped for a symlink during the walk
 * fails the reopen instead of leading the walk elsewhere. */
#define BUILDER_INTERNAL
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/context_private.h"

#define IGNORE_FILE ".dockerignore"
#define XATTR_CAPABILITY "security.capability"
/* How much of an overlong path an error message shows. */
#define QUOTE_MAX 64

/* ---- Errors and small helpers ------------------------------------------- */

int
ctx_changed (struct hoist_error **err, const char *path)
{
  return hoist_error_set_status (err, ESTALE, "build context: '%s' changed during the build", path);
}

static void
entry_release (struct builder_context_entry *e)
{
  free (e->path);
  free (e->link_target);
  free (e->hardlink_target);
  free (e->capability);
  memset (e, 0, sizeof (*e));
}

size_t
ctx_entry_index (const struct builder_context *ctx, const struct builder_context_entry *e)
{
  uintptr_t base = (uintptr_t) ctx->entries;
  uintptr_t p = (uintptr_t) e;

  /* Compared as integers: E may point into another array altogether. */
  if (ctx->n == 0 || p < base || p >= base + ctx->n * sizeof (*e) || (p - base) % sizeof (*e) != 0)
    return (size_t) -1;
  return (p - base) / sizeof (*e);
}

/* ---- Opening below the root --------------------------------------------- */

/* openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS done by hand: every
 * directory component opened with O_NOFOLLOW from the one before.  PATH is
 * clean, so no ".." can climb out. */
static int
open_by_components (int dirfd, const char *path, int flags)
{
  cleanup_close int cur = -1;
  const char *p = path;

  for (;;)
    {
      const char *slash = strchr (p, '/');
      cleanup_free char *name = NULL;
      int next;

      if (slash == NULL)
        return openat (cur >= 0 ? cur : dirfd, p, flags | O_NOFOLLOW);
      name = hoist_xstrndup (p, (size_t) (slash - p));
      next = openat (cur >= 0 ? cur : dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        return -1;
      if (cur >= 0)
        close (cur);
      cur = next;
      p = slash + 1;
    }
}

/* Open PATH (clean, relative) below DIRFD with FLAGS.  No symlink is
 * followed unless ALLOW_SYMLINKS, and then only one that stays below
 * DIRFD (the fallback follows none).  Returns the fd or -1 with errno. */
static int
open_beneath (int dirfd, const char *path, int flags, bool allow_symlinks)
{
  struct open_how how = {
    .flags = (uint64_t) flags,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (allow_symlinks ? 0 : RESOLVE_NO_SYMLINKS),
  };
  long fd = syscall (SYS_openat2, dirfd, path, &how, sizeof (how));

  if (fd >= 0)
    return (int) fd;
  /* ENOSYS: no openat2; EPERM: a seccomp filter that predates it. */
  if (errno != ENOSYS && errno != EPERM)
    return -1;
  return open_by_components (dirfd, path, flags);
}

bool
ctx_entry_unchanged (const struct builder_context_entry *e, const struct stat *st)
{
  return st->st_dev == e->dev && st->st_ino == e->ino && (st->st_mode & S_IFMT) == (e->mode & S_IFMT)
         && (!S_ISREG (st->st_mode) || st->st_size == e->size) && st->st_mtim.tv_sec == e->mtime.tv_sec
         && st->st_mtim.tv_nsec == e->mtime.tv_nsec && st->st_ctim.tv_sec == e->ctime.tv_sec
         && st->st_ctim.tv_nsec == e->ctime.tv_nsec;
}

int
ctx_open_entry (struct builder_context *ctx, const struct builder_context_entry *e, int *fd_out,
                struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  int flags;

  fd = open_beneath (ctx->root_fd, e->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, false);
  if (fd < 0)
    {
      /* The walk saw a regular file there, reached through directories:
       * now something on the way is missing or is a symlink. */
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
        return ctx_changed (err, e->path);
      return hoist_error_set (err, errno, "build context: cannot open '%s'", e->path);
    }
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '%s'", e->path);
  if (!ctx_entry_unchanged (e, &st))
    return ctx_changed (err, e->path);
  /* O_NONBLOCK only guarded the open against a fifo put in the file's
   * place; the reader gets an ordinary fd. */
  flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
    return hoist_error_set (err, errno, "build context: cannot set flags of '%s'", e->path);
  *fd_out = steal_fd (&fd);
  return 0;
}

/* ---- Reading one entry -------------------------------------------------- */

static int
refuse_type (const char *path, mode_t mode, struct hoist_error **err)
{
  switch (mode & S_IFMT)
    {
    case S_IFSOCK:
      return hoist_error_set_status (err, EINVAL,
                                     "build context: '%s' is a socket: sockets cannot be copied into an image", path);
    case S_IFIFO:
      return hoist_error_set_status (err, EINVAL, "build context: '%s' is a fifo: fifos cannot be copied into an image",
                                     path);
    case S_IFCHR:
      return hoist_error_set_status (
          err, EINVAL, "build context: '%s' is a character device: devices cannot be copied into an image", path);
    case S_IFBLK:
      return hoist_error_set_status (
          err, EINVAL, "build context: '%s' is a block device: devices cannot be copied into an image", path);
    default:
      return hoist_error_set_status (err, EINVAL, "build context: '%s' has an unknown file type (mode 0%o)", path,
                                     (unsigned) mode);
    }
}

static void
fill_entry (struct builder_context_entry *e, const struct stat *st)
{
  e->mode = st->st_mode;
  e->uid = st->st_uid;
  e->gid = st->st_gid;
  e->size = S_ISREG (st->st_mode) ? (int64_t) st->st_size : 0;
  e->mtime = st->st_mtim;
  e->ctime = st->st_ctim;
  e->dev = st->st_dev;
  e->ino = st->st_ino;
  e->nlink = st->st_nlink;
}

/* A regular file is opened (never followed, never blocking) so that its
 * security.capability is read from the very inode that is stat'ed. */
static int
read_regular (int dirfd, const char *name, const struct stat *lst, struct builder_context_entry *e,
              struct hoist_error **err)
{
  cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  unsigned char cap[BUILDER_CONTEXT_XATTR_MAX];
  struct stat st;
  ssize_t n;

  if (fd < 0)
    return hoist_error_set (err, errno, "build context: cannot open '%s'", e->path);
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '%s'", e->path);
  if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino || !S_ISREG (st.st_mode))
    return ctx_changed (err, e->path);
  fill_entry (e, &st);
  n = fgetxattr (fd, XATTR_CAPABILITY, cap, sizeof (cap));
  if (n < 0)
    {
      if (errno == ENODATA || errno == ENOTSUP)
        return 0;
      if (errno == ERANGE)
        return hoist_error_set_status (err, E2BIG,
                                       "build context: '%s' has a security.capability attribute over %u bytes", e->path,
                                       BUILDER_CONTEXT_XATTR_MAX);
      return hoist_error_set (err, errno, "build context: cannot read the security.capability of '%s'", e->path);
    }
  e->capability = hoist_xmalloc ((size_t) n + 1);
  memcpy (e->capability, cap, (size_t) n);
  e->capability_len = (size_t) n;
  return 0;
}

static int
read_symlink (int dirfd, const char *name, struct builder_context_entry *e, struct hoist_error **err)
{
  cleanup_free char *target = hoist_xmalloc (BUILDER_CONTEXT_PATH_MAX + 2);
  ssize_t n = readlinkat (dirfd, name, target, BUILDER_CONTEXT_PATH_MAX + 1);

  if (n < 0)
    return hoist_error_set (err, errno, "build context: cannot read symlink '%s'", e->path);
  if ((size_t) n > BUILDER_CONTEXT_PATH_MAX)
    return hoist_error_set_status (err, ENAMETOOLONG,
                                   "build context: the target of symlink '%s' is longer than %u bytes", e->path,
                                   BUILDER_CONTEXT_PATH_MAX);
  target[n] = '\0';
  e->link_target = steal_pointer (&target);
  return 0;
}

/* Fill E for NAME in DIRFD; E->path is already set.  *ST is its lstat. */
static int
read_entry (int dirfd, const char *name, const struct stat *st, struct builder_context_entry *e,
            struct hoist_error **err)
{
  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      return read_regular (dirfd, name, st, e, err);
    case S_IFDIR:
      fill_entry (e, st);
      return 0;
    case S_IFLNK:
      fill_entry (e, st);
      return read_symlink (dirfd, name, e, err);
    default:
      return refuse_type (e->path, st->st_mode, err);
    }
}

/* ---- The walk ----------------------------------------------------------- */

struct walk
{
  struct builder_context *ctx;
  const struct builder_ignore *ig;
  size_t alloc;
  size_t path_bytes;
};

/* One name of a directory, kept between reading it and emitting it. */
struct pending
{
  struct builder_context_entry e;
  bool excluded; /* an excluded directory walked for its exceptions */
};

struct pending_list
{
  struct pending *v;
  size_t n;
};

static void
pending_list_release (struct pending_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    entry_release (&l->v[i].e);
  free (l->v);
  l->v = NULL;
  l->n = 0;
}

struct name_list
{
  char **v;
  size_t n;
  size_t alloc;
};

static void
name_list_release (struct name_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->v[i]);
  free (l->v);
}

static void
dir_closep (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Move *E to the end of the entry array, leaving *E empty. */
static int
append_entry (struct walk *w, struct builder_context_entry *e, struct hoist_error **err)
{
  struct builder_context *ctx = w->ctx;
  size_t bytes = strlen (e->path) + 1;

  if (ctx->n >= BUILDER_CONTEXT_ENTRIES_MAX)
    return hoist_error_set_status (err, E2BIG,
                                   "build context: more than %u entries (hint: exclude some in .dockerignore)",
                                   BUILDER_CONTEXT_ENTRIES_MAX);
  if (w->path_bytes + bytes > BUILDER_CONTEXT_PATH_BYTES_MAX)
    return hoist_error_set_status (
        err, E2BIG, "build context: paths add up to more than %u bytes (hint: exclude some in .dockerignore)",
        BUILDER_CONTEXT_PATH_BYTES_MAX);
  if (ctx->n == w->alloc)
    {
      w->alloc = w->alloc == 0 ? 64 : w->alloc * 2;
      ctx->entries = hoist_xreallocarray (ctx->entries, w->alloc, sizeof (*ctx->entries));
    }
  ctx->entries[ctx->n++] = *e;
  memset (e, 0, sizeof (*e));
  w->path_bytes += bytes;
  return 0;
}

/* The names of DIR (open on FD), "." and ".." left out, sorted. */
static int
read_names (DIR *d, const char *rel, struct name_list *out, struct hoist_error **err)
{
  for (;;)
    {
      struct dirent *de;

      errno = 0;
      de = readdir (d);
      if (de == NULL)
        {
          if (errno != 0)
            return hoist_error_set (err, errno, "build context: cannot read directory '%s'", *rel ? rel : ".");
          break;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (out->n >= BUILDER_CONTEXT_ENTRIES_MAX)
        return hoist_error_set_status (err, E2BIG, "build context: directory '%s' has more than %u entries",
                                       *rel ? rel : ".", BUILDER_CONTEXT_ENTRIES_MAX);
      if (out->n == out->alloc)
        {
          out->alloc = out->alloc == 0 ? 32 : out->alloc * 2;
          out->v = hoist_xreallocarray (out->v, out->alloc, sizeof (*out->v));
        }
      out->v[out->n++] = hoist_xstrdup (de->d_name);
    }
  if (out->n > 0)
    qsort (out->v, out->n, sizeof (*out->v), name_cmp);
  return 0;
}

/* Whether NAME in DIRFD is to be kept, given that it is excluded: only a
 * directory that an exception may reach into. */
static bool
keep_excluded (const struct walk *w, int dirfd, const char *name, const char *path)
{
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    return false;
  return builder_ignore_must_descend (w->ig, path);
}

/* Open directory REL (the root when ""), check it is still inode DEV:INO,
 * and read into *OUT the entries of the names it keeps, in order. */
static int
read_dir (struct walk *w, const char *rel, dev_t dev, ino_t ino, struct pending_list *out, struct hoist_error **err)
{
  __attribute__ ((cleanup (name_list_release))) struct name_list names = { 0 };
  __attribute__ ((cleanup (dir_closep))) DIR *d = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  int dfd;
  int ret;

  if (*rel == '\0')
    fd = openat (w->ctx->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  else
    fd = open_beneath (w->ctx->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, false);
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
        return ctx_changed (err, rel);
      return hoist_error_set (err, errno, "build context: cannot open directory '%s'", *rel ? rel : ".");
    }
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '%s'", *rel ? rel : ".");
  if (st.st_dev != dev || st.st_ino != ino)
    return ctx_changed (err, *rel ? rel : ".");
  d = fdopendir (fd);
  if (d == NULL)
    return hoist_error_set (err, errno, "build context: cannot read directory '%s'", *rel ? rel : ".");
  dfd = steal_fd (&fd);
  if ((ret = read_names (d, rel, &names, err)) < 0)
    return ret;

  out->v = hoist_xcalloc (names.n > 0 ? names.n : 1, sizeof (*out->v));
  for (size_t i = 0; i < names.n; i++)
    {
      const char *name = names.v[i];
      cleanup_free char *path = *rel ? hoist_xasprintf ("%s/%s", rel, name) : hoist_xstrdup (name);
      struct pending *p = &out->v[out->n];
      struct stat lst;

      if (strlen (path) > BUILDER_CONTEXT_PATH_MAX)
        return hoist_error_set_status (err, ENAMETOOLONG, "build context: path '%.*s...' is longer than %u bytes",
                                       QUOTE_MAX, path, BUILDER_CONTEXT_PATH_MAX);
      p->excluded = w->ig != NULL && builder_ignore_excluded (w->ig, path);
      if (p->excluded && !keep_excluded (w, dfd, name, path))
        continue;
      if (fstatat (dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
        return hoist_error_set (err, errno, "build context: cannot stat '%s'", path);
      p->e.path = steal_pointer (&path);
      out->n++;
      if ((ret = read_entry (dfd, name, &lst, &p->e, err)) < 0)
        return ret;
    }
  return 0;
}

static int
walk_dir (struct walk *w, const char *rel, dev_t dev, ino_t ino, struct hoist_error **err)
{
  __attribute__ ((cleanup (pending_list_release))) struct pending_list list = { 0 };
  int ret;

  if ((ret = read_dir (w, rel, dev, ino, &list, err)) < 0)
    return ret;
  for (size_t i = 0; i < list.n; i++)
    {
      struct pending *p = &list.v[i];
      size_t mark = w->ctx->n;
      cleanup_free char *sub = NULL;
      dev_t sub_dev;
      ino_t sub_ino;

      if (!S_ISDIR (p->e.mode))
        {
          if ((ret = append_entry (w, &p->e, err)) < 0)
            return ret;
          continue;
        }
      sub = hoist_xstrdup (p->e.path);
      sub_dev = p->e.dev;
      sub_ino = p->e.ino;
      if ((ret = append_entry (w, &p->e, err)) < 0 || (ret = walk_dir (w, sub, sub_dev, sub_ino, err)) < 0)
        return ret;
      /* An excluded directory is sent only as the parent of something an
       * exception brought back. */
      if (p->excluded && w->ctx->n == mark + 1)
        {
          w->path_bytes -= strlen (sub) + 1;
          entry_release (&w->ctx->entries[--w->ctx->n]);
        }
    }
  return 0;
}

static int
inode_cmp (const void *a, const void *b)
{
  const struct builder_context_entry *x = *(const struct builder_context_entry *const *) a;
  const struct builder_context_entry *y = *(const struct builder_context_entry *const *) b;

  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  /* The same inode: walk order, so the first path seen leads. */
  return x < y ? -1 : x > y;
}

/* Make every later path of a regular file with several links in the
 * context a hard link to its first path.  Symlinks with several links are
 * left as symlinks: each copy means the same. */
static void
mark_hardlinks (struct builder_context *ctx)
{
  cleanup_free const struct builder_context_entry **v = NULL;
  size_t n = 0;

  for (size_t i = 0; i < ctx->n; i++)
    if (S_ISREG (ctx->entries[i].mode) && ctx->entries[i].nlink > 1)
      n++;
  if (n < 2)
    return;
  v = hoist_xcalloc (n, sizeof (*v));
  n = 0;
  for (size_t i = 0; i < ctx->n; i++)
    if (S_ISREG (ctx->entries[i].mode) && ctx->entries[i].nlink > 1)
      v[n++] = &ctx->entries[i];
  qsort (v, n, sizeof (*v), inode_cmp);
  for (size_t i = 1; i < n; i++)
    {
      size_t first = i;

      while (first > 0 && v[first - 1]->dev == v[i]->dev && v[first - 1]->ino == v[i]->ino)
        first--;
      if (first != i)
        ctx->entries[v[i] - ctx->entries].hardlink_target = hoist_xstrdup (v[first]->path);
    }
}

/* ---- Opening a context -------------------------------------------------- */

static int
read_ignore (struct builder_context *ctx, struct builder_ignore **out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf text;
  cleanup_close int fd = -1;
  struct stat st;
  int ret;

  hoist_buf_init (&text, BUILDER_IGNORE_MAX);
  fd = open_beneath (ctx->root_fd, IGNORE_FILE, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, true);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return hoist_error_set (err, errno, "build context: cannot open '" IGNORE_FILE "'");
    }
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '" IGNORE_FILE "'");
  if (!S_ISREG (st.st_mode))
    return hoist_error_set_status (err, EINVAL, "build context: '" IGNORE_FILE "' is not a regular file");
  ret = hoist_buf_read_fd (&text, fd, err);
  if (ret == -E2BIG)
    return hoist_error_set_status (err, E2BIG, "build context: '" IGNORE_FILE "' is larger than %u bytes",
                                   BUILDER_IGNORE_MAX);
  if (ret < 0)
    return hoist_error_wrap (err, "build context: cannot read '" IGNORE_FILE "'");
  if (builder_ignore_parse (text.data, text.len, out, err) < 0)
    return hoist_error_wrap (err, "build context");
  return 0;
}

static void
context_freep (struct builder_context **ctx)
{
  builder_context_free (*ctx);
}

static void
ignore_freep (struct builder_ignore **ig)
{
  builder_ignore_free (*ig);
}

int
builder_context_open (const char *dir, const struct builder_context_opts *opts, struct builder_context **out,
                      struct hoist_error **err)
{
  __attribute__ ((cleanup (context_freep))) struct builder_context *ctx = hoist_xcalloc (1, sizeof (*ctx));
  __attribute__ ((cleanup (ignore_freep))) struct builder_ignore *own_ig = NULL;
  struct walk w = { .ctx = ctx };
  struct stat st;
  int ret;

  ctx->root_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ctx->dir = hoist_xstrdup (dir);
  if (ctx->root_fd < 0)
    return hoist_error_set (err, errno, "build context: cannot open directory '%s'", dir);
  ctx->real_dir = realpath (dir, NULL);
  if (ctx->real_dir == NULL)
    return hoist_error_set (err, errno, "build context: cannot resolve '%s'", dir);
  if (fstat (ctx->root_fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '%s'", dir);
  fill_entry (&ctx->root, &st);
  ctx->root.path = hoist_xstrdup ("");

  if (opts != NULL && opts->ignore != NULL)
    w.ig = opts->ignore;
  else
    {
      if ((ret = read_ignore (ctx, &own_ig, err)) < 0)
        return ret;
      w.ig = own_ig;
    }
  if ((ret = walk_dir (&w, "", st.st_dev, st.st_ino, err)) < 0)
    return ret;
  mark_hardlinks (ctx);
  ctx->digests = hoist_xcalloc (ctx->n > 0 ? ctx->n : 1, sizeof (*ctx->digests));
  ctx->stats.entries = ctx->n;
  *out = steal_pointer (&ctx);
  return 0;
}

void
builder_context_free (struct builder_context *ctx)
{
  if (ctx == NULL)
    return;
  for (size_t i = 0; i < ctx->n; i++)
    entry_release (&ctx->entries[i]);
  entry_release (&ctx->root);
  free (ctx->entries);
  free (ctx->digests);
  free (ctx->dir);
  free (ctx->real_dir);
  if (ctx->root_fd >= 0)
    close (ctx->root_fd);
  free (ctx);
}

/* ---- Looking entries up ------------------------------------------------- */

const char *
builder_context_dir (const struct builder_context *ctx)
{
  return ctx->dir;
}

const struct builder_context_entry *
builder_context_entries (const struct builder_context *ctx, size_t *n)
{
  *n = ctx->n;
  return ctx->entries;
}

const struct builder_context_entry *
builder_context_root (const struct builder_context *ctx)
{
  return &ctx->root;
}

const struct builder_context_entry *
builder_context_lookup (const struct builder_context *ctx, const char *path)
{
  size_t lo = 0, hi = ctx->n;

  if (path[0] == '\0' || strcmp (path, ".") == 0)
    return &ctx->root;
  if (!builder_path_clean (path))
    return NULL;
  /* The entries are in walk order, which builder_layer_path_cmp sorts by. */
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = builder_layer_path_cmp (path, ctx->entries[mid].path);

      if (c == 0)
        return &ctx->entries[mid];
      if (c < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return NULL;
}

size_t
builder_context_below (const struct builder_context *ctx, const struct builder_context_entry *e,
                       const struct builder_context_entry **first)
{
  size_t i, j, len;

  *first = NULL;
  if (e == &ctx->root)
    {
      *first = ctx->n > 0 ? ctx->entries : NULL;
      return ctx->n;
    }
  i = ctx_entry_index (ctx, e);
  if (i == (size_t) -1 || !S_ISDIR (e->mode))
    return 0;
  len = strlen (e->path);
  for (j = i + 1; j < ctx->n; j++)
    if (strncmp (ctx->entries[j].path, e->path, len) != 0 || ctx->entries[j].path[len] != '/')
      break;
  if (j > i + 1)
    *first = &ctx->entries[i + 1];
  return j - i - 1;
}

/* ---- Opening content ---------------------------------------------------- */

int
builder_context_open_file (struct builder_context *ctx, const char *path, int *fd,
                           const struct builder_context_entry **entry, struct hoist_error **err)
{
  const struct builder_context_entry *e;
  int ret;

  if (!builder_path_clean (path) || strlen (path) > BUILDER_CONTEXT_PATH_MAX)
    return hoist_error_set_status (
        err, EINVAL,
        "build context: invalid path '%s' (hint: a relative path inside the context, without '.', '..' "
        "or '//')",
        path);
  e = builder_context_lookup (ctx, path);
  if (e == NULL)
    return hoist_error_set_status (err, ENOENT,
                                   "build context: '%s' not found (hint: is it excluded by .dockerignore?)", path);
  if (!S_ISREG (e->mode))
    return hoist_error_set_status (err, EINVAL, "build context: '%s' is not a regular file", path);
  if ((ret = ctx_open_entry (ctx, e, fd, err)) < 0)
    return ret;
  if (entry != NULL)
    *entry = e;
  return 0;
}
