/* snapshot.c — what a RUN step changed in a root file system, as an OCI
 * layer: a metadata snapshot before the step, a second walk after it.
 *
 * The snapshot is an array of fixed-size records (80 bytes) in layer
 * order (builder_layer_path_cmp: a depth-first walk reading each directory
 * sorted), names, symlink targets and capabilities in one arena.  A record
 * knows where its subtree ends, so a directory's recorded children are
 * found by hopping from sibling to sibling; the diff reads the tree again
 * a directory at a time and merges its sorted names with them.  Where
 * Docker (moby's ChangesDirs) and BuildKit (containerd's fs.Changes and
 * ChangeWriter) had to be matched, or a choice made:
 *  - "Changed" is read from metadata, as Docker does: type, mode, owner,
 *    size, mtime, inode, birth time, link count, device, symlink target,
 *    capability, and ctime, compared exactly.  Both walks see the same
 *    inodes, so a moved ctime means the step touched the inode (write,
 *    chmod, chown, setxattr, link, utimes; reading does not): a write that
 *    put size and mtime back is caught, and so is a capability change: the
 *    snapshot records capabilities of executables only (elsewhere they do
 *    nothing), the diff reads them of files it writes or that had one.
 *  - A new or changed directory is written, its unchanged parents not
 *    (Docker and BuildKit write them all; without them the lower layers'
 *    metadata stays, which is what the step left).
 *  - Hard links: all names of an inode share its ctime, so a new link to
 *    an old file rewrites the old name too; the first name in layer order
 *    is the file, the others link to it (containerd writes the same set,
 *    unsorted).  Removing one name rewrites the others: a larger layer
 *    than Docker's, never a wrong one.
 *  - A removed path is one ".wh.NAME": an empty regular file, 0:0, mode 0,
 *    mtime 0 (Docker stamps the time of the diff; this is reproducible).
 *  - A directory with a new inode or birth time (removed and made again:
 *    inode numbers are reused) or over a non-directory is written with
 *    ".wh..wh..opq" in it and all below it as new, as containerd's overlay
 *    differ does.  The writer takes sorted entries only, so the marker is
 *    at its sorted place (a child "-x" comes first); moby, containerd and
 *    umoci apply it to the lower layers only, wherever it is.
 *  - A non-directory over a directory is just the new entry: appliers
 *    remove the directory, and a whiteout of the name could sort after
 *    the entry and remove it.
 *  - Sockets (as Docker does) and other file systems' mount points are
 *    skipped, and what the layers below hold there stays.  Fifos and
 *    devices are written.  A ".wh." name the step made is refused.
 *  - File times come from a coarse clock: a change in the tick of the
 *    snapshot could carry the very time recorded, so builder_snapshot_take
 *    returns only once that clock has ticked (a few ms), as git guards its
 *    index against "racy" entries.  1 s timestamps are not supported.
 * A directory is opened below the root (copy_open_beneath: openat2, no
 * symlinks), checked to be the inode listed, read whole (names, stats,
 * symlink targets, capabilities) and closed before its subdirectories are
 * visited: one fd however deep the tree. */
#include "config.h"

#define BUILDER_INTERNAL

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy_private.h"
#include "builder/snapshot_private.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_PREFIX_LEN 4
/* The name whose whiteout, ".wh..wh..opq", is the opaque marker. */
#define OPAQUE_NAME ".wh..opq"
#define XATTR_CAPABILITY "security.capability"
/* A v3 capability is 24 bytes; anything much larger is not one. */
#define CAP_MAX 1024u
/* Longest path below the root (one below PATH_MAX, as openat2 needs). */
#define SNAP_PATH_MAX COPY_PATH_MAX
/* Arena offsets are 32 bits; entries are capped well before. */
#define SNAP_ENTRIES_MAX (8u * 1024 * 1024)
#define SNAP_ARENA_MAX ((size_t) UINT32_MAX)
#define DEV_OF(x) makedev ((x).stx_dev_major, (x).stx_dev_minor)
#define RDEV_OF(x) makedev ((x).stx_rdev_major, (x).stx_rdev_minor)
/* Shown in messages: at most this many bytes of a path. */
#define QUOTE_MAX 256

/* ---- The snapshot -------------------------------------------------------------- */

struct snap_rec
{
  uint32_t name;    /* arena offset of the last component of the path */
  uint32_t end;     /* index of the first record not below this one */
  uint32_t aux;     /* arena offset of a symlink's target or a file's capability */
  uint32_t aux_len; /* 0: none */
  uint32_t mode, uid, gid, nlink;
  int64_t size, mtime, ctime, btime; /* times in ns; btime 0: unknown */
  uint64_t ino, rdev;
};

struct builder_snapshot
{
  struct snap_rec *v; /* in layer order */
  size_t n, alloc;
  struct hoist_buf arena; /* limit SNAP_ARENA_MAX */
};

void
builder_snapshot_free (struct builder_snapshot *s)
{
  if (s == NULL)
    return;
  free (s->v);
  hoist_buf_release (&s->arena);
  free (s);
}

/* Append N bytes at P (a string with its NUL, or a capability). */
static int
arena_add (struct builder_snapshot *s, const void *p, size_t n, uint32_t *off, struct hoist_error **err)
{
  *off = (uint32_t) s->arena.len;
  if (hoist_buf_add (&s->arena, p, n, err) < 0)
    return hoist_error_set_status (err, E2BIG, "its names add up to more than %zu bytes", SNAP_ARENA_MAX);
  return 0;
}

static int64_t
ns_of (const struct statx_timestamp *t)
{
  return (int64_t) t->tv_sec * 1000000000 + t->tv_nsec;
}

/* ---- Reading directories ------------------------------------------------------- */

/* One name of a directory as it is on disk. */
struct node
{
  char *name;
  struct statx st;    /* stx_btime zero when the file system has none */
  char *link;         /* symlinks: the target */
  unsigned char *cap; /* regular files: security.capability, or NULL */
  size_t cap_len;
  bool cap_read; /* the diff reads it only when it needs it */
  bool skip;     /* a socket or another file system's: not for a layer */
};

struct node_list
{
  struct node *v;
  size_t n;
};

static void
node_list_release (struct node_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->v[i].name);
      free (l->v[i].link);
      free (l->v[i].cap);
    }
  free (l->v);
}

struct walker
{
  int root_fd;
  dev_t dev;
  bool proc_fd;                 /* /proc/self/fd works: xattrs read without opening files */
  bool caps;                    /* read executables' security.capability */
  char path[SNAP_PATH_MAX + 1]; /* the current entry, relative ("" at the root) */
  size_t len;
};

/* "/PATH" as a message may show it (owned). */
static char *
shown (const char *path)
{
  cleanup_free char *q = hoist_quote (path, strlen (path), QUOTE_MAX, 0);

  return hoist_xasprintf ("/%s", q);
}

/* "cannot WHAT '/PATH': strerror (ERRNUM)", PATH the walker's. */
static int
fail_at (const struct walker *w, int errnum, const char *what, struct hoist_error **err)
{
  cleanup_free char *where = shown (w->path);

  return hoist_error_set (err, errnum, "cannot %s '%s'", what, where);
}

/* "cannot put '/PATH' in the layer: WHY", with STATUS. */
static int
refuse_at (const struct walker *w, int status, const char *why, struct hoist_error **err)
{
  cleanup_free char *where = shown (w->path);

  return hoist_error_set_status (err, status, "cannot put '%s' in the layer: %s", where, why);
}

static int
path_push (struct walker *w, const char *name, size_t *saved, struct hoist_error **err)
{
  size_t n = strlen (name), sep = w->len > 0 ? 1 : 0;

  *saved = w->len;
  if (w->len + sep + n > SNAP_PATH_MAX)
    return fail_at (w, ENAMETOOLONG, "walk below", err);
  if (sep)
    w->path[w->len++] = '/';
  memcpy (w->path + w->len, name, n + 1);
  w->len += n;
  return 0;
}

static void
path_pop (struct walker *w, size_t saved)
{
  w->len = saved;
  w->path[saved] = '\0';
}

static int
walker_open (struct walker *w, const char *root, bool caps, struct hoist_error **err)
{
  struct stat st;

  *w = (struct walker){ .root_fd = -1, .caps = caps };
  w->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (w->root_fd < 0 || fstat (w->root_fd, &st) < 0)
    return hoist_error_set (err, errno, "cannot open the root file system '%s'", root);
  w->dev = st.st_dev;
  w->proc_fd = access ("/proc/self/fd", X_OK) == 0;
  return 0;
}

static int
read_link (struct walker *w, int dfd, struct node *n, struct hoist_error **err)
{
  char buf[SNAP_PATH_MAX + 2];
  ssize_t len = readlinkat (dfd, n->name, buf, sizeof buf);

  if (len < 0 || (size_t) len > SNAP_PATH_MAX)
    return fail_at (w, len < 0 ? errno : ENAMETOOLONG, "read symlink", err);
  n->link = hoist_xstrndup (buf, (size_t) len);
  return 0;
}

/* security.capability of regular file N: through FD when >= 0, else by
 * name in DFD, through /proc/self/fd when it is there (no open, no read
 * permission needed) or an fd of the file. */
static int
read_cap (struct walker *w, int dfd, int fd, struct node *n, struct hoist_error **err)
{
  unsigned char buf[CAP_MAX];
  ssize_t len;
  cleanup_free char *proc = fd < 0 && w->proc_fd ? hoist_xasprintf ("/proc/self/fd/%d/%s", dfd, n->name) : NULL;
  cleanup_close int own
      = fd < 0 && !w->proc_fd ? openat (dfd, n->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;

  n->cap_read = true;
  len = proc != NULL ? lgetxattr (proc, XATTR_CAPABILITY, buf, sizeof buf)
                     : fgetxattr (fd >= 0 ? fd : own, XATTR_CAPABILITY, buf, sizeof buf);
  if (len < 0 && (errno == ENODATA || errno == ENOTSUP))
    return 0;
  if (len < 0)
    return fail_at (w, errno == ERANGE ? E2BIG : errno, "read the security.capability of", err);
  if (len > 0)
    {
      n->cap = hoist_xmalloc ((size_t) len);
      memcpy (n->cap, buf, (size_t) len);
      n->cap_len = (size_t) len;
    }
  return 0;
}

/* Bytewise, whatever the locale (alphasort uses strcoll). */
static int
dirent_cmp (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static int
not_dots (const struct dirent *de)
{
  return strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
}

static int
read_node (struct walker *w, int dfd, struct node *n, struct hoist_error **err)
{
  size_t saved;
  int r = 0;

  if (path_push (w, n->name, &saved, err) < 0)
    return -1;
  if (statx (dfd, n->name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS | STATX_BTIME, &n->st) < 0)
    r = fail_at (w, errno, "stat", err);
  else if (S_ISSOCK (n->st.stx_mode) || DEV_OF (n->st) != w->dev)
    n->skip = true;
  else if (S_ISLNK (n->st.stx_mode))
    r = read_link (w, dfd, n, err);
  else if (S_ISREG (n->st.stx_mode) && w->caps && (n->st.stx_mode & 0111))
    r = read_cap (w, dfd, -1, n, err);
  if (!(n->st.stx_mask & STATX_BTIME))
    n->st.stx_btime = (struct statx_timestamp){ 0 };
  path_pop (w, saved);
  return r;
}

/* Read the directory at W->path (the root when ""), which must still be
 * the inode of EXPECT (NULL: the root), into *OUT, sorted by name. */
static int
read_dir (struct walker *w, const struct statx *expect, struct node_list *out, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  struct dirent **names = NULL;
  struct stat st;
  int n, r = 0;

  fd = w->len == 0 ? openat (w->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                   : copy_open_beneath (w->root_fd, w->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0 || fstat (fd, &st) < 0)
    return fail_at (w, errno, "open directory", err);
  /* Nothing may run in the root during a walk: a change is an error. */
  if (expect != NULL && (st.st_dev != DEV_OF (*expect) || st.st_ino != expect->stx_ino))
    return fail_at (w, ESTALE, "read directory", err);
  n = scandirat (fd, ".", &names, not_dots, dirent_cmp);
  if (n < 0)
    return fail_at (w, errno, "read directory", err);
  out->v = hoist_xcalloc (n > 0 ? (size_t) n : 1, sizeof (*out->v));
  for (int i = 0; i < n; i++)
    {
      if (r == 0)
        {
          out->v[i].name = hoist_xstrdup (names[i]->d_name);
          out->n = (size_t) i + 1;
          r = read_node (w, fd, &out->v[i], err);
        }
      free (names[i]);
    }
  free (names);
  return r;
}

/* ---- builder_snapshot_take ------------------------------------------------------- */

static int
snap_add (struct builder_snapshot *s, const struct node *n, size_t *idx, struct hoist_error **err)
{
  struct snap_rec *r;

  if (s->n >= SNAP_ENTRIES_MAX)
    return hoist_error_set_status (err, E2BIG, "it has more than %u entries", SNAP_ENTRIES_MAX);
  if (s->n == s->alloc)
    {
      s->alloc = s->alloc == 0 ? 1024 : s->alloc * 2;
      s->v = hoist_xreallocarray (s->v, s->alloc, sizeof (*s->v));
    }
  r = &s->v[s->n];
  *r = (struct snap_rec){ .end = (uint32_t) s->n + 1,
                          .mode = n->st.stx_mode,
                          .uid = n->st.stx_uid,
                          .gid = n->st.stx_gid,
                          .nlink = (uint32_t) n->st.stx_nlink,
                          .size = n->st.stx_size,
                          .mtime = ns_of (&n->st.stx_mtime),
                          .ctime = ns_of (&n->st.stx_ctime),
                          .ino = n->st.stx_ino,
                          .rdev = RDEV_OF (n->st),
                          .btime = ns_of (&n->st.stx_btime),
                          .aux_len = n->link != NULL ? (uint32_t) strlen (n->link) : (uint32_t) n->cap_len };
  if (arena_add (s, n->name, strlen (n->name) + 1, &r->name, err) < 0
      || (n->link != NULL && arena_add (s, n->link, r->aux_len + 1, &r->aux, err) < 0)
      || (n->cap != NULL && arena_add (s, n->cap, n->cap_len, &r->aux, err) < 0))
    return -1;
  *idx = s->n++;
  return 0;
}

static int
take_dir (struct builder_snapshot *s, struct walker *w, const struct statx *dir_st, struct hoist_error **err)
{
  __attribute__ ((cleanup (node_list_release))) struct node_list list = { 0 };

  if (read_dir (w, dir_st, &list, err) < 0)
    return -1;
  for (size_t i = 0; i < list.n; i++)
    {
      const struct node *n = &list.v[i];
      size_t saved, idx = 0;

      if (n->skip)
        continue;
      if (path_push (w, n->name, &saved, err) < 0)
        return -1;
      if (snap_add (s, n, &idx, err) < 0)
        return -1;
      if (S_ISDIR (n->st.stx_mode) && take_dir (s, w, &n->st, err) < 0)
        return -1;
      s->v[idx].end = (uint32_t) s->n;
      path_pop (w, saved);
    }
  return 0;
}

/* Return once the clock that file times come from has moved past now,
 * so that whatever changes from here on gets a time the snapshot cannot
 * hold (see the top of the file).  Bounded, in case the clock is odd. */
static void
let_clock_tick (void)
{
  struct timespec t0, now, nap = { 0, 250 * 1000 };

  if (clock_gettime (CLOCK_REALTIME_COARSE, &t0) < 0)
    return;
  for (unsigned i = 0; i < 400; i++)
    {
      if (clock_gettime (CLOCK_REALTIME_COARSE, &now) < 0 || now.tv_sec != t0.tv_sec || now.tv_nsec != t0.tv_nsec)
        return;
      nanosleep (&nap, NULL);
    }
}

int
builder_snapshot_take (const char *root, struct builder_snapshot **out, struct hoist_error **err)
{
  struct builder_snapshot *s = hoist_xcalloc (1, sizeof (*s));
  struct walker w;
  int r;

  hoist_buf_init (&s->arena, SNAP_ARENA_MAX);
  r = walker_open (&w, root, true, err);
  if (r == 0)
    r = take_dir (s, &w, NULL, err);
  if (w.root_fd >= 0)
    close (w.root_fd);
  if (r < 0)
    {
      builder_snapshot_free (s);
      return hoist_error_wrap (err, "cannot snapshot '%s'", root);
    }
  let_clock_tick ();
  *out = s;
  return 0;
}

/* ---- Hard links written in this layer ----------------------------------------------- */

/* The first name this layer gave an inode (nodes of a tsearch tree). */
struct link_first
{
  uint64_t ino;
  char path[]; /* NUL-terminated */
};

static int
link_first_cmp (const void *a, const void *b)
{
  uint64_t x = ((const struct link_first *) a)->ino, y = ((const struct link_first *) b)->ino;

  return x < y ? -1 : x > y ? 1 : 0;
}

/* The path an earlier entry of this layer gave inode INO (borrowed), or
 * NULL after recording PATH as that inode's first. */
static const char *
link_first (void **tree, uint64_t ino, const char *path)
{
  size_t len = strlen (path);
  struct link_first *l = hoist_xmalloc (sizeof (*l) + len + 1);
  struct link_first **found;

  l->ino = ino;
  memcpy (l->path, path, len + 1);
  found = tsearch (l, tree, link_first_cmp);
  if (found == NULL)
    abort (); /* out of memory, as hoist_xmalloc */
  if (*found == l)
    return NULL;
  free (l);
  return (*found)->path;
}

/* ---- builder_snapshot_diff ---------------------------------------------------------- */

struct differ
{
  const struct builder_snapshot *before;
  struct builder_layer_writer *lw;
  struct builder_snapshot_stats stats;
  void *links; /* tsearch tree of struct link_first */
  struct walker w;
};

enum dir_mode
{
  DIR_COMPARE, /* there before: compare each child with its record */
  DIR_NEW,     /* new: everything below is new */
  DIR_OPAQUE,  /* replaced: the opaque marker, and everything below as new */
};

/* One output of a directory: a child as it is now (NODE), or the
 * whiteout of NAME, which is named ".wh.NAME" in the layer. */
struct item
{
  const char *name;
  struct node *node; /* NULL: a whiteout */
  size_t before;     /* the child's record, or SIZE_MAX */
};

/* Byte I of the name ITEM has in the layer; 0 at its end. */
static unsigned char
item_byte (const struct item *it, size_t i)
{
  size_t skip = it->node == NULL ? WHITEOUT_PREFIX_LEN : 0;

  return (unsigned char) (i < skip ? WHITEOUT_PREFIX[i] : it->name[i - skip]);
}

static int
item_cmp (const void *a, const void *b)
{
  for (size_t i = 0;; i++)
    {
      unsigned char x = item_byte (a, i), y = item_byte (b, i);

      if (x != y || x == 0)
        return x < y ? -1 : x > y ? 1 : 0;
    }
}

/* The content of the regular file at W->path, checked to be node N's inode. */
static int
open_content (struct differ *d, const struct node *n, int *out, struct hoist_error **err)
{
  cleanup_close int fd = copy_open_beneath (d->w.root_fd, d->w.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0)
    return fail_at (&d->w, errno, "open", err);
  if (st.st_ino != n->st.stx_ino || st.st_dev != DEV_OF (n->st))
    return fail_at (&d->w, ESTALE, "open", err);
  *out = steal_fd (&fd);
  return 0;
}

static int
read_cap_of (struct differ *d, struct node *n, struct hoist_error **err)
{
  cleanup_close int fd = -1;

  return open_content (d, n, &fd, err) < 0 ? -1 : read_cap (&d->w, -1, fd, n, err);
}

/* Write node N, at W->path, as a layer entry. */
static int
write_node (struct differ *d, struct node *n, struct hoist_error **err)
{
  struct builder_layer_entry e = { .path = d->w.path, .mode = n->st.stx_mode, .fd = -1 };
  struct builder_xattr cap;
  cleanup_close int fd = -1;
  mode_t type = n->st.stx_mode & S_IFMT;

  if (strncmp (n->name, WHITEOUT_PREFIX, WHITEOUT_PREFIX_LEN) == 0)
    return refuse_at (&d->w, EINVAL, "a name starting with '" WHITEOUT_PREFIX "' would read as a whiteout", err);
  e.uid = n->st.stx_uid;
  e.gid = n->st.stx_gid;
  e.mtime.tv_sec = n->st.stx_mtime.tv_sec;
  e.mtime.tv_nsec = n->st.stx_mtime.tv_nsec;
  if (type != S_IFDIR && n->st.stx_nlink > 1)
    e.hardlink_target = link_first (&d->links, n->st.stx_ino, d->w.path);
  if (e.hardlink_target != NULL)
    ;
  else if (type == S_IFLNK)
    e.link_target = n->link;
  else if (type == S_IFCHR || type == S_IFBLK)
    e.rdev = RDEV_OF (n->st);
  else if (type == S_IFREG)
    {
      e.size = n->st.stx_size;
      if (open_content (d, n, &fd, err) < 0 || (!n->cap_read && read_cap (&d->w, -1, fd, n, err) < 0))
        return -1;
      e.fd = fd;
      cap = (struct builder_xattr){ .name = XATTR_CAPABILITY, .value = n->cap, .len = n->cap_len };
      e.xattrs = &cap;
      e.n_xattrs = n->cap_len > 0;
    }
  if (builder_layer_add (d->lw, &e, err) < 0)
    return -1;
  if (type == S_IFREG && e.hardlink_target == NULL)
    d->stats.bytes += (uint64_t) n->st.stx_size;
  return 0;
}

/* Whiteout item IT (".wh.NAME") in the directory at W->path. */
static int
write_whiteout (struct differ *d, const struct item *it, struct hoist_error **err)
{
  struct builder_layer_entry e = { .mode = S_IFREG, .fd = -1 };
  cleanup_free char *out = hoist_xasprintf (WHITEOUT_PREFIX "%s", it->name);
  size_t saved;
  int r;

  if (path_push (&d->w, out, &saved, err) < 0)
    return -1;
  e.path = d->w.path;
  d->stats.removed += it->before != SIZE_MAX; /* not for the opaque marker */
  r = builder_layer_add (d->lw, &e, err);
  path_pop (&d->w, saved);
  return r;
}

/* Whether node N (of the same type as R) differs from its record R. */
static bool
node_changed (const struct builder_snapshot *s, const struct snap_rec *r, const struct node *n)
{
  const struct statx *st = &n->st;
  const char *aux = s->arena.data + r->aux;

  if (r->mode != st->stx_mode || r->uid != st->stx_uid || r->gid != st->stx_gid || r->ino != st->stx_ino
      || r->mtime != ns_of (&st->stx_mtime) || r->ctime != ns_of (&st->stx_ctime) || r->btime != ns_of (&st->stx_btime))
    return true;
  if (S_ISDIR (st->stx_mode))
    return false; /* size and link count follow the children, whose changes move the times */
  if (r->size != (int64_t) st->stx_size || r->nlink != st->stx_nlink)
    return true;
  if ((S_ISCHR (st->stx_mode) || S_ISBLK (st->stx_mode)) && r->rdev != RDEV_OF (*st))
    return true;
  if (S_ISLNK (st->stx_mode))
    return n->link == NULL || r->aux_len != strlen (n->link) || memcmp (aux, n->link, r->aux_len) != 0;
  /* Not read: none was recorded, and none came since, or the ctime moved. */
  return n->cap_read && (r->aux_len != n->cap_len || (n->cap_len > 0 && memcmp (aux, n->cap, n->cap_len) != 0));
}

static int diff_dir (struct differ *d, const struct statx *dir_st, size_t first, size_t end, enum dir_mode mode,
                     struct hoist_error **err);

/* Child N of the current directory, with its record BEFORE (SIZE_MAX:
 * none); W->path is N's path. */
static int
diff_child (struct differ *d, struct node *n, size_t before, struct hoist_error **err)
{
  const struct snap_rec *r = before != SIZE_MAX ? &d->before->v[before] : NULL;
  bool is_dir = S_ISDIR (n->st.stx_mode), write = true;
  enum dir_mode mode = DIR_NEW;
  size_t first = 0, end = 0;

  d->stats.entries++;
  if (r == NULL)
    d->stats.added++;
  else if (is_dir && S_ISDIR (r->mode) && r->ino == n->st.stx_ino && r->btime == ns_of (&n->st.stx_btime))
    {
      mode = DIR_COMPARE;
      first = before + 1;
      end = r->end;
      write = node_changed (d->before, r, n);
    }
  else if (is_dir)
    mode = DIR_OPAQUE; /* made again, or over a non-directory */
  else
    {
      /* A capability recorded: compare it (setxattr moves the ctime too). */
      if (S_ISREG (n->st.stx_mode) && S_ISREG (r->mode) && r->aux_len > 0 && read_cap_of (d, n, err) < 0)
        return -1;
      write = node_changed (d->before, r, n); /* the type is in the mode */
    }
  if (write && r != NULL)
    d->stats.changed++;
  if (write && write_node (d, n, err) < 0)
    return -1;
  return is_dir ? diff_dir (d, &n->st, first, end, mode, err) : 0;
}

/* Pair the children of the directory read into LIST with its records
 * [FIRST, END) (siblings, hopping over their subtrees) into ITEMS, sorted
 * by the names they have in the layer. */
static size_t
pair_children (struct differ *d, struct node_list *list, size_t first, size_t end, bool opaque, struct item *items)
{
  const struct builder_snapshot *s = d->before;
  size_t i = 0, j = first, k = 0;

  while (i < list->n || j < end)
    {
      const char *old = j < end ? s->arena.data + s->v[j].name : NULL;
      int c = i >= list->n ? 1 : old == NULL ? -1 : strcmp (list->v[i].name, old);
      struct node *n = c <= 0 ? &list->v[i] : NULL;

      /* A skipped node with a record: the layers below keep theirs. */
      if (n != NULL && !n->skip)
        items[k++] = (struct item){ .name = n->name, .node = n, .before = c == 0 ? j : SIZE_MAX };
      else if (n == NULL)
        items[k++] = (struct item){ .name = old, .before = j };
      if (c <= 0)
        i++;
      if (c >= 0)
        j = s->v[j].end;
    }
  if (opaque)
    items[k++] = (struct item){ .name = OPAQUE_NAME, .before = SIZE_MAX };
  qsort (items, k, sizeof (*items), item_cmp);
  return k;
}

/* The directory at W->path (the root when ""), inode DIR_ST (NULL: the
 * root), whose children were recorded at [FIRST, END) of the snapshot. */
static int
diff_dir (struct differ *d, const struct statx *dir_st, size_t first, size_t end, enum dir_mode mode,
          struct hoist_error **err)
{
  __attribute__ ((cleanup (node_list_release))) struct node_list list = { 0 };
  cleanup_free struct item *items = NULL;
  size_t k = 0;

  if (read_dir (&d->w, dir_st, &list, err) < 0)
    return -1;
  for (size_t j = first; j < end; j = d->before->v[j].end)
    k++;
  items = hoist_xcalloc (list.n + k + 1, sizeof (*items));
  k = pair_children (d, &list, first, end, mode == DIR_OPAQUE, items);
  if (mode == DIR_OPAQUE)
    d->stats.opaque++;
  for (size_t i = 0; i < k; i++)
    {
      const struct item *it = &items[i];
      size_t saved;
      int r;

      if (it->node == NULL)
        r = write_whiteout (d, it, err);
      else if ((r = path_push (&d->w, it->node->name, &saved, err)) == 0)
        {
          r = diff_child (d, it->node, it->before, err);
          path_pop (&d->w, saved);
        }
      if (r < 0)
        return -1;
    }
  return 0;
}

int
builder_snapshot_diff (const struct builder_snapshot *before, const char *root, struct builder_layer_writer *w,
                       struct builder_snapshot_stats *stats, struct hoist_error **err)
{
  struct differ d = { .before = before, .lw = w };
  int r;

  r = walker_open (&d.w, root, false, err);
  if (r == 0)
    r = diff_dir (&d, NULL, 0, before->n, DIR_COMPARE, err);
  if (d.w.root_fd >= 0)
    close (d.w.root_fd);
  tdestroy (d.links, free);
  if (stats != NULL)
    *stats = d.stats;
  if (r < 0)
    return hoist_error_wrap (err, "cannot write the changes to '%s' as a layer", root);
  return 0;
}
