/* rootfs.c — an image's file system materialised in a temp directory:
 * what COPY --from reads, where --chown names (/etc/passwd, /etc/group),
 * COPY destinations and WORKDIR paths are looked up, and the root RUN
 * steps run in.
 *
 * The root is held as an O_PATH directory fd.  Layers are written into it
 * by rootfs_write.c, hoist's own writer for untrusted tars (every name
 * resolved with openat2 inside that fd); this file holds the root's
 * lifecycle, lookups inside it, and the fd-relative tree removal the
 * writer's whiteouts and replacements use (never following a symlink). */
#include "config.h"

#define BUILDER_INTERNAL

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/build_private.h"

/* /etc/passwd and /etc/group larger than this are not read. */
#define ACCOUNTS_MAX (4u * 1024 * 1024)
/* A lookup as the image sees it: symlinks followed, the root as '/'. */
#define RESOLVE_IMAGE (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* Below the root only, through no symlink. */
#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

struct build_rootfs
{
  char *path;
  int dirfd; /* O_PATH */
  size_t n_layers;
  struct build_layer_limits limits;
};

int
build_openat2 (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
  struct open_how how = { .flags = (uint64_t) (flags | O_CLOEXEC), .mode = mode, .resolve = resolve };

  /* EAGAIN: a rename or mount raced the lookup; nothing else writes in a
   * root while hoist does, so a few tries settle it. */
  for (int i = 0; i < 8; i++)
    {
      long fd = syscall (SYS_openat2, dirfd, path, &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN)
        return (int) fd;
    }
  return -1;
}

/* ---- Inode sets -------------------------------------------------------------- */

/* Open addressing on the inode number; flags 0 marks a free slot. */
static size_t
ino_slot (const struct build_ino_set *s, uint64_t ino)
{
  uint64_t h = ino * 0x9e3779b97f4a7c15ull;
  size_t i = (size_t) (h ^ (h >> 29)) & (s->cap - 1);

  while (s->flags[i] != 0 && s->keys[i] != ino)
    i = (i + 1) & (s->cap - 1);
  return i;
}

unsigned
build_ino_set_get (const struct build_ino_set *s, uint64_t ino)
{
  return s->cap == 0 ? 0 : s->flags[ino_slot (s, ino)];
}

static void
ino_grow (struct build_ino_set *s)
{
  struct build_ino_set bigger = { .cap = s->cap ? 2 * s->cap : 1024 };

  bigger.keys = hoist_xcalloc (bigger.cap, sizeof (uint64_t));
  bigger.flags = hoist_xcalloc (bigger.cap, 1);
  for (size_t i = 0; i < s->cap; i++)
    if (s->flags[i] != 0)
      build_ino_set_put (&bigger, s->keys[i], s->flags[i], true);
  free (s->keys);
  free (s->flags);
  *s = bigger;
}

void
build_ino_set_put (struct build_ino_set *s, uint64_t ino, unsigned flags, bool replace)
{
  size_t i;

  if (2 * (s->n + 1) > s->cap)
    ino_grow (s);
  i = ino_slot (s, ino);
  if (s->flags[i] == 0)
    {
      s->n++;
      s->keys[i] = ino;
    }
  s->flags[i] = (unsigned char) (replace ? flags : s->flags[i] | flags);
}

void
build_ino_set_release (struct build_ino_set *s)
{
  free (s->keys);
  free (s->flags);
  memset (s, 0, sizeof *s);
}

/* ---- Pruning trees ---------------------------------------------------------- */

int
build_prune_at (int dirfd, build_prune_fn decide, void *data, struct hoist_error **err)
{
  cleanup_strv char **names = NULL;

  if (hoist_dir_names (dirfd, &names) < 0)
    return hoist_error_set (err, errno, "cannot read a directory");
  for (size_t i = 0; names != NULL && names[i] != NULL; i++)
    {
      cleanup_close int fd = -1;
      struct stat st;

      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return hoist_error_set (err, errno, "cannot inspect '%s'", names[i]);
        }
      switch (decide (&st, data))
        {
        case BUILD_PRUNE_REMOVE:
          if (hoist_rmtree_at (dirfd, names[i], err) < 0)
            return -1;
          continue;
        case BUILD_PRUNE_KEEP:
          continue;
        case BUILD_PRUNE_DESCEND:
          break;
        }
      if (!S_ISDIR (st.st_mode))
        continue;
      fd = openat (dirfd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return hoist_error_set (err, errno, "cannot open '%s'", names[i]);
      if (build_prune_at (fd, decide, data, err) < 0)
        return hoist_error_wrap (err, "in '%s'", names[i]);
    }
  return 0;
}

/* ---- Directory modes and times, set last ------------------------------------ */

void
build_dir_fixups_add (struct build_dir_fixups *f, const char *path, ino_t ino, mode_t mode,
                      const struct timespec times[2])
{
  if (f->n == f->alloc)
    {
      f->alloc = f->alloc ? 2 * f->alloc : 64;
      f->v = hoist_xreallocarray (f->v, f->alloc, sizeof *f->v);
    }
  f->v[f->n] = (struct build_dir_fixup){
    .path = hoist_xstrdup (path), .seq = f->n, .ino = ino, .mode = mode, .times = { times[0], times[1] }
  };
  f->n++;
}

/* Deepest first (a name sorts after its parent's), and for one path the
 * later one last. */
static int
fixup_cmp (const void *a, const void *b)
{
  const struct build_dir_fixup *x = a, *y = b;
  int c = strcmp (y->path, x->path);

  return c != 0 ? c : (x->seq < y->seq ? -1 : 1);
}

int
build_dir_fixups_apply (struct build_dir_fixups *f, int rootfd, struct hoist_error **err)
{
  if (f->n > 1)
    qsort (f->v, f->n, sizeof *f->v, fixup_cmp);
  for (size_t i = 0; i < f->n; i++)
    {
      const struct build_dir_fixup *x = &f->v[i];
      cleanup_close int fd = build_openat2 (rootfd, x->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_IMAGE);
      struct stat st;

      if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        continue;
      if (fd < 0 || fstat (fd, &st) < 0)
        return hoist_error_set (err, errno, "cannot open directory '%s'", x->path);
      if (st.st_ino != x->ino)
        continue; /* replaced since */
      if (fchmod (fd, x->mode) < 0 || futimens (fd, x->times) < 0)
        return hoist_error_set (err, errno, "cannot set the mode and times of '%s'", x->path);
    }
  return 0;
}

void
build_dir_fixups_release (struct build_dir_fixups *f)
{
  for (size_t i = 0; i < f->n; i++)
    free (f->v[i].path);
  free (f->v);
  memset (f, 0, sizeof *f);
}

/* ---- Names in layers ---------------------------------------------------------- */

const char *
build_layer_name_clean (const char *raw, char **out)
{
  struct hoist_buf b;
  const char *p = raw;

  *out = NULL;
  if (*p == '/')
    return "absolute name";
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  while (*p != '\0')
    {
      size_t n = strcspn (p, "/");
      const char *next = p + n + strspn (p + n, "/");
      const char *why = NULL;

      if (n == 2 && p[0] == '.' && p[1] == '.')
        why = "'..' in the name";
      else if (*next != '\0' && strncmp (p, BUILD_WHITEOUT_PREFIX, strlen (BUILD_WHITEOUT_PREFIX)) == 0)
        why = "a whiteout used as a directory";
      if (why != NULL)
        {
          hoist_buf_release (&b);
          return why;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (b.len > 0)
            build_buf_addch (&b, '/');
          build_buf_add (&b, p, n);
        }
      p = next;
    }
  *out = hoist_buf_detach (&b, NULL);
  return NULL;
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
  if (chmod (path, 0755) < 0 || (fd = open (path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    {
      int e = errno;
      rmdir (path);
      return hoist_error_set (err, e, "cannot open '%s'", path);
    }
  r = hoist_xcalloc (1, sizeof *r);
  r->path = steal_pointer (&path);
  r->dirfd = fd;
  r->limits = (struct build_layer_limits) BUILD_LAYER_LIMITS_DEFAULT;
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
  (void) hoist_rmtree_at (AT_FDCWD, r->path, NULL);
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

void
build_rootfs_note_layer (struct build_rootfs *r)
{
  r->n_layers++;
}

void
build_rootfs_set_limits (struct build_rootfs *r, const struct build_layer_limits *limits)
{
  r->limits = *limits;
}

/* ---- Layers ------------------------------------------------------------------------ */

int
build_rootfs_apply_fd (struct build_rootfs *r, int fd, const char *name, struct hoist_error **err)
{
  if (build_layer_write (r->dirfd, fd, name, &r->limits, err) < 0)
    return -1;
  r->n_layers++;
  return 0;
}

int
build_rootfs_apply (struct build_rootfs *r, struct builder_store *store, const struct builder_descriptor *layer,
                    struct hoist_error **err)
{
  cleanup_close int fd = -1;

  if (builder_store_blob_open (store, layer->digest, &fd, NULL, err) < 0)
    return -1;
  return build_rootfs_apply_fd (r, fd, layer->digest, err);
}

/* ---- Lookups ----------------------------------------------------------------------- */

int
build_rootfs_stat (const struct build_rootfs *r, const char *path, struct stat *st)
{
  cleanup_close int fd = build_openat2 (r->dirfd, *path != '\0' ? path : ".", O_PATH, 0, RESOLVE_IMAGE);

  return fd >= 0 && fstat (fd, st) == 0 ? 1 : 0;
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

/* Read ROOT/NAME ("etc/passwd"; never through a symlink) into B; false
 * when it is not there. */
static bool
read_accounts (const struct build_rootfs *r, const char *name, struct hoist_buf *b)
{
  cleanup_close int fd = r != NULL ? build_openat2 (r->dirfd, name, O_RDONLY, 0, RESOLVE_STRICT) : -1;

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

char *
build_rootfs_home (const struct build_rootfs *r, uid_t uid)
{
  cleanup_buf struct hoist_buf passwd;
  char *line, *next;

  hoist_buf_init (&passwd, ACCOUNTS_MAX);
  if (!read_accounts (r, "etc/passwd", &passwd) || passwd.data == NULL)
    return NULL;
  for (line = passwd.data; line != NULL && *line != '\0'; line = next)
    {
      char *f[7] = { NULL };
      unsigned long id;
      int n = 0;

      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      while (n < 7 && line != NULL)
        f[n++] = strsep (&line, ":");
      if (n >= 6 && parse_id (f[2], &id) && id == uid && f[5][0] == '/')
        return hoist_xstrdup (f[5]);
    }
  return NULL;
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
  else if (!read_accounts (r, "etc/passwd", &passwd) || !accounts_find (passwd.data, 0, u, &uid_v, &gid_v))
    return hoist_error_set_status (err, ENOENT, "unknown user '%s' (no such user in /etc/passwd of the image)", u);
  if (g != NULL && !parse_id (g, &gid_v)
      && (!read_accounts (r, "etc/group", &group) || !accounts_find (group.data, 0, g, &gid_v, NULL)))
    return hoist_error_set_status (err, ENOENT, "unknown group '%s' (no such group in /etc/group of the image)", g);
  *uid = (uid_t) uid_v;
  *gid = (gid_t) gid_v;
  return 0;
}
