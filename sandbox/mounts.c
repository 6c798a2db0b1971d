/* mounts.c — the file system the step sees, the parent's half (the
 * child's is root.c).
 *
 * In the parent, before clone: every mount point must exist in the
 * rootfs (proc, dev, etc/resolv.conf, etc/hosts, the spec's targets).
 * What is missing is created — an empty directory or file — and
 * recorded, and removed after the step when it is still that same empty
 * entry, so the layer diffed from the rootfs does not show it.  Every
 * path is resolved with openat2(RESOLVE_IN_ROOT) from a held rootfs fd:
 * the rootfs comes from an image, and an image may hold a symlink
 * "etc -> /" meant to send a mount point onto the host.  Targets below
 * /dev are left to the child: /dev is the step's own tmpfs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

int
sandbox_open_in_root (int root_fd, const char *path, int flags, uint64_t resolve)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | resolve,
  };

  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
}

/* ---------------------------------------------------------------------
 * Parent: mount points in the rootfs
 * ------------------------------------------------------------------- */

void
sandbox_tree_init (struct sandbox_tree *t)
{
  memset (t, 0, sizeof *t);
  t->root_fd = -1;
}

int
sandbox_tree_open (struct sandbox_tree *t, const char *rootfs, struct hoist_error **err)
{
  if (rootfs == NULL || rootfs[0] != '/')
    return hoist_error_set (err, EINVAL, "cannot use '%s' as the root file system: not an absolute path",
                            rootfs != NULL ? rootfs : "");
  t->rootfs = rootfs;
  t->root_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (t->root_fd < 0)
    return hoist_error_set (err, errno, "cannot use '%s' as the root file system", rootfs);
  return 0;
}

/* "/a//b/./c/" -> "a/b/c" (owned); NULL for ".." anywhere, which a mount
 * target has no use for. */
static char *
relative_target (const char *path)
{
  cleanup_buf struct hoist_buf b;
  const char *p = path;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  while (*p != '\0')
    {
      size_t n;

      while (*p == '/')
        p++;
      n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        return NULL;
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if ((b.len > 0 && hoist_buf_addch (&b, '/', NULL) < 0) || hoist_buf_add (&b, p, n, NULL) < 0)
            return NULL;
        }
      p += n;
    }
  return hoist_buf_detach (&b, NULL);
}

static void
note_made (struct sandbox_tree *t, const char *path, const struct stat *st, const struct stat *parent_before,
           int parent_fd)
{
  struct sandbox_made *m;
  struct stat after;

  t->made = hoist_xreallocarray (t->made, t->n_made + 1, sizeof *t->made);
  m = &t->made[t->n_made++];
  memset (m, 0, sizeof *m);
  m->path = hoist_xstrdup (path);
  m->dev = st->st_dev;
  m->ino = st->st_ino;
  m->type = st->st_mode & S_IFMT;
  if (parent_before != NULL && fstat (parent_fd, &after) == 0)
    {
      m->parent_before[0] = parent_before->st_atim;
      m->parent_before[1] = parent_before->st_mtim;
      m->parent_after = after.st_mtim;
      m->parent_known = true;
    }
}

/* Make REL (relative, normalised) exist inside the rootfs, as a directory
 * when DIR, else as an empty file, creating missing parents. */
static int
ensure_path (struct sandbox_tree *t, const char *rel, bool dir, struct hoist_error **err)
{
  cleanup_free char *parent = NULL;
  cleanup_close int pfd = -1;
  cleanup_close int fd = sandbox_open_in_root (t->root_fd, rel, O_PATH, 0);
  const char *slash = strrchr (rel, '/');
  const char *base = slash != NULL ? slash + 1 : rel;
  struct stat before, st;
  int r = 0;

  if (fd >= 0)
    return 0;
  if (errno != ENOENT)
    return hoist_error_set (err, errno, "cannot resolve '/%s' in '%s'", rel, t->rootfs);
  parent = hoist_xstrndup (rel, slash != NULL ? (size_t) (slash - rel) : 0);
  if (parent[0] != '\0' && ensure_path (t, parent, true, err) < 0)
    return -1;
  pfd = sandbox_open_in_root (t->root_fd, parent[0] != '\0' ? parent : ".", O_RDONLY | O_DIRECTORY, 0);
  if (pfd < 0)
    return hoist_error_set (err, errno, "cannot open '/%s' in '%s'", parent, t->rootfs);
  if (fstat (pfd, &before) < 0)
    return hoist_error_set (err, errno, "cannot stat '/%s' in '%s'", parent, t->rootfs);
  if (dir)
    r = mkdirat (pfd, base, 0755);
  else if ((fd = openat (pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644)) < 0)
    r = -1;
  /* Resolution said "missing" but the name is there: a dangling symlink,
   * whose target we will not guess. */
  if (r < 0 && errno == EEXIST)
    return hoist_error_set_status (err, ELOOP, "cannot make a mount point at '/%s' in '%s': it is a dangling symlink",
                                   rel, t->rootfs);
  if (r < 0)
    return hoist_error_set (err, errno, "cannot make a mount point at '/%s' in '%s'", rel, t->rootfs);
  if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return hoist_error_set (err, errno, "cannot stat '/%s' in '%s'", rel, t->rootfs);
  note_made (t, rel, &st, &before, pfd);
  return 0;
}

static void
add_bind (struct sandbox_tree *t, const char *source, char *target, bool read_only)
{
  t->binds = hoist_xreallocarray (t->binds, t->n_binds + 1, sizeof *t->binds);
  t->binds[t->n_binds++] = (struct sandbox_bind){ .source = source, .target = target, .read_only = read_only };
}

/* BuildKit's hosts file: localhost and the step's hostname. */
static int
write_hosts (struct sandbox_tree *t, const char *hostname, struct hoist_error **err)
{
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *path = hoist_xasprintf ("%s/hoist-hosts-XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
  cleanup_free char *text
      = hoist_xasprintf ("127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname);
  cleanup_close int fd = mkostemp (path, O_CLOEXEC);
  size_t len = strlen (text);

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot create '%s' for the step's /etc/hosts", path);
  t->hosts_path = hoist_xstrdup (path);
  if (write (fd, text, len) != (ssize_t) len || fchmod (fd, 0644) < 0)
    return hoist_error_set (err, errno != 0 ? errno : EIO, "cannot write '%s'", path);
  return 0;
}

/* Mount point for a file of etc/; an image's dangling symlink there
 * (resolv.conf -> ../run/systemd/resolve/stub-resolv.conf) gets no
 * bind: *SKIP. */
static int
ensure_etc_file (struct sandbox_tree *t, const char *rel, bool *skip, struct hoist_error **err)
{
  *skip = false;
  if (ensure_path (t, rel, false, err) == 0)
    return 0;
  if ((*err)->status != ELOOP)
    return -1;
  hoist_error_free (steal_pointer (err));
  *skip = true;
  return 0;
}

static int
prepare_etc (struct sandbox_tree *t, const struct sandbox_spec *spec, const char *hostname, struct hoist_error **err)
{
  const char *resolv = spec->resolv_conf != NULL ? spec->resolv_conf : "/etc/resolv.conf";
  const char *hosts = spec->hosts;
  struct stat st;
  bool skip;

  /* A host without resolv.conf gives the step none; a given file must
   * exist. */
  if (stat (resolv, &st) < 0)
    {
      if (spec->resolv_conf != NULL || errno != ENOENT)
        return hoist_error_set (err, errno, "cannot use '%s' as the step's resolv.conf", resolv);
    }
  else
    {
      if (ensure_etc_file (t, "etc/resolv.conf", &skip, err) < 0)
        return -1;
      if (!skip)
        add_bind (t, resolv, hoist_xstrdup ("/etc/resolv.conf"), true);
    }

  if (hosts != NULL && stat (hosts, &st) < 0)
    return hoist_error_set (err, errno, "cannot use '%s' as the step's hosts file", hosts);
  if (hosts == NULL && write_hosts (t, hostname, err) < 0)
    return -1;
  if (ensure_etc_file (t, "etc/hosts", &skip, err) < 0)
    return -1;
  if (!skip)
    add_bind (t, hosts != NULL ? hosts : t->hosts_path, hoist_xstrdup ("/etc/hosts"), true);
  return 0;
}

static int
prepare_mount (struct sandbox_tree *t, const struct sandbox_mount *m, struct hoist_error **err)
{
  const char *what = m->tmpfs ? "tmpfs" : m->source;
  cleanup_free char *rel = NULL;
  struct stat st = { .st_mode = S_IFDIR };

  if ((m->source == NULL && !m->tmpfs) || m->target == NULL || m->target[0] != '/')
    return hoist_error_set (err, EINVAL, "cannot mount '%s': the target must be an absolute path",
                            m->target != NULL ? m->target : "");
  if (!m->tmpfs && stat (m->source, &st) < 0)
    return hoist_error_set (err, errno, "cannot mount '%s' on '%s'", what, m->target);
  rel = relative_target (m->target);
  if (rel == NULL || rel[0] == '\0')
    return hoist_error_set (err, EINVAL, "cannot mount '%s' on '%s': not a usable target", what, m->target);
  /* /dev is the step's own tmpfs: what is below it is made there. */
  if (strncmp (rel, "dev/", 4) != 0 && ensure_path (t, rel, S_ISDIR (st.st_mode), err) < 0)
    return -1;
  add_bind (t, m->tmpfs ? NULL : m->source, hoist_xasprintf ("/%s", rel), m->read_only);
  t->binds[t->n_binds - 1].in_dev = strncmp (rel, "dev/", 4) == 0;
  t->binds[t->n_binds - 1].dir = S_ISDIR (st.st_mode);
  /* Sticky and writable by all, as Docker's --tmpfs. */
  if (m->tmpfs)
    t->binds[t->n_binds - 1].tmpfs_opts
        = m->tmpfs_size > 0 ? hoist_xasprintf ("mode=1777,size=%llu", (unsigned long long) m->tmpfs_size)
                            : hoist_xstrdup ("mode=1777");
  return 0;
}

int
sandbox_tree_prepare (struct sandbox_tree *t, const struct sandbox_spec *spec, const char *hostname,
                      struct hoist_error **err)
{
  if (ensure_path (t, "proc", true, err) < 0 || ensure_path (t, "dev", true, err) < 0)
    return -1;
  if (prepare_etc (t, spec, hostname, err) < 0)
    return -1;
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (prepare_mount (t, &spec->mounts[i], err) < 0)
      return -1;
  return 0;
}

/* Bare chroot isolation cannot mount a /dev: the device nodes every
 * script expects are made in the rootfs's dev/ where missing (as root,
 * with the host's device numbers), and removed after.  Without
 * CAP_MKNOD there are none. */
int
sandbox_tree_prepare_bare (struct sandbox_tree *t, struct hoist_error **err)
{
  static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
  cleanup_close int dev = -1;

  if (ensure_path (t, "dev", true, err) < 0)
    return -1;
  dev = sandbox_open_in_root (t->root_fd, "dev", O_RDONLY | O_DIRECTORY, 0);
  if (dev < 0)
    return hoist_error_set (err, errno, "cannot open '/dev' in '%s'", t->rootfs);
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
    {
      cleanup_free char *host = hoist_xasprintf ("/dev/%s", nodes[i]);
      cleanup_free char *rel = hoist_xasprintf ("dev/%s", nodes[i]);
      struct stat hst, before, st;

      if (stat (host, &hst) < 0 || !S_ISCHR (hst.st_mode) || fstatat (dev, nodes[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      if (fstat (dev, &before) < 0)
        return hoist_error_set (err, errno, "cannot stat '/dev' in '%s'", t->rootfs);
      if (mknodat (dev, nodes[i], S_IFCHR | 0666, hst.st_rdev) < 0)
        {
          if (errno == EPERM)
            return 0;
          return hoist_error_set (err, errno, "cannot make '/%s' in '%s'", rel, t->rootfs);
        }
      if (fchmodat (dev, nodes[i], 0666, 0) < 0 || fstatat (dev, nodes[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        return hoist_error_set (err, errno, "cannot make '/%s' in '%s'", rel, t->rootfs);
      note_made (t, rel, &st, &before, dev);
    }
  return 0;
}

static bool
same_time (const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Remove M if it is still the entry we made (same device and inode) and
 * still empty.  Resolved inside the rootfs again: whatever symlinks the
 * step put in the way, nothing outside can be reached. */
static void
remove_made (const struct sandbox_tree *t, const struct sandbox_made *m)
{
  const char *slash = strrchr (m->path, '/');
  cleanup_free char *parent = hoist_xstrndup (m->path, slash != NULL ? (size_t) (slash - m->path) : 0);
  const char *base = slash != NULL ? slash + 1 : m->path;
  cleanup_close int pfd
      = sandbox_open_in_root (t->root_fd, parent[0] != '\0' ? parent : ".", O_RDONLY | O_DIRECTORY, 0);
  struct stat st, pst;
  bool untouched;

  if (pfd < 0 || fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || fstat (pfd, &pst) < 0)
    return;
  if (st.st_dev != m->dev || st.st_ino != m->ino)
    return;
  /* Whether the step changed the parent, looked at before the removal
   * changes it. */
  untouched = m->parent_known && same_time (&pst.st_mtim, &m->parent_after);
  if ((st.st_mode & S_IFMT) != m->type || (S_ISREG (st.st_mode) && st.st_size != 0))
    return;
  if (unlinkat (pfd, base, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
    return;
  if (untouched)
    futimens (pfd, m->parent_before);
}

void
sandbox_tree_release (struct sandbox_tree *t)
{
  for (size_t i = t->n_made; i > 0; i--)
    {
      remove_made (t, &t->made[i - 1]);
      free (t->made[i - 1].path);
    }
  for (size_t i = 0; i < t->n_binds; i++)
    {
      free (t->binds[i].target);
      free (t->binds[i].tmpfs_opts);
    }
  if (t->hosts_path != NULL)
    unlink (t->hosts_path);
  free (t->hosts_path);
  free (t->made);
  free (t->binds);
  if (t->root_fd >= 0)
    close (t->root_fd);
  sandbox_tree_init (t);
}
