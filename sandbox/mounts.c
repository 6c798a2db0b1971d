/* mounts.c — the file system the step sees.
 *
 * In the parent, before clone: every mount point must exist in the
 * rootfs (proc, dev, etc/resolv.conf, etc/hosts, the spec's targets).
 * What is missing is created — an empty directory or file — and
 * recorded, and removed after the step when it is still that same empty
 * entry, so the layer diffed from the rootfs does not show it.  Every
 * path is resolved with openat2(RESOLVE_IN_ROOT) from a held rootfs fd:
 * the rootfs comes from an image, and an image may hold a symlink
 * "etc -> /" meant to send a mount point onto the host.
 *
 * In the child, in its new mount namespace, the tree is built in a fixed
 * order (as bubblewrap and crun do): propagation made private, the
 * rootfs bound onto itself (pivot_root needs a mount point), a fresh
 * /proc with its dangerous corners read-only or hidden (as Docker does),
 * a minimal /dev on a tmpfs with the host's harmless device nodes bound
 * in, then the binds, then pivot_root(".", ".") and a lazy unmount of
 * the old root.  Mount targets are opened inside the rootfs again
 * (RESOLVE_IN_ROOT) and mounted on through /proc/self/fd/N, so a path is
 * never resolved twice by the kernel with different roots. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

/* Docker's default PATH, for an environment without one. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Sizes of the tmpfs mounts the sandbox makes (Docker's). */
#define DEV_TMPFS_OPTS "mode=0755,size=65536k"
#define SHM_TMPFS_OPTS "mode=1777,size=65536k"

static int
open_in_root (int root_fd, const char *path, int flags, uint64_t resolve)
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
  cleanup_close int fd = open_in_root (t->root_fd, rel, O_PATH, 0);
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
  pfd = open_in_root (t->root_fd, parent[0] != '\0' ? parent : ".", O_RDONLY | O_DIRECTORY, 0);
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
  dev = open_in_root (t->root_fd, "dev", O_RDONLY | O_DIRECTORY, 0);
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
  cleanup_close int pfd = open_in_root (t->root_fd, parent[0] != '\0' ? parent : ".", O_RDONLY | O_DIRECTORY, 0);
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

/* ---------------------------------------------------------------------
 * Child: async-signal-safe from here on
 * ------------------------------------------------------------------- */

/* "/proc/self/fd/N" into BUF. */
static const char *
fd_path (char buf[32], int fd)
{
  static const char prefix[] = "/proc/self/fd/";
  char digits[12];
  size_t n = 0;
  unsigned v = (unsigned) fd;

  do
    digits[n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0 && n < sizeof digits);
  memcpy (buf, prefix, sizeof prefix - 1);
  for (size_t i = 0; i < n; i++)
    buf[sizeof prefix - 1 + i] = digits[n - 1 - i];
  buf[sizeof prefix - 1 + n] = '\0';
  return buf;
}

static void
close_keep_errno (int fd)
{
  int saved = errno;

  if (fd >= 0)
    close (fd);
  errno = saved;
}

/* Remount the bind mount whose root FD is, adding EXTRA (MS_RDONLY,
 * MS_NOSUID, MS_NODEV), while keeping every flag it has: in a user
 * namespace the kernel refuses a remount that would clear a flag it
 * locked (nosuid, nodev, noexec, atime) on the host's mount. */
static int
remount_bind (int fd, unsigned long extra)
{
  static const unsigned long kept = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME
                                    | ST_RELATIME
#ifdef ST_NOSYMFOLLOW
                                    | ST_NOSYMFOLLOW
#endif
      ;
  struct statfs sf;
  unsigned long flags;
  char p[32];

  if (fstatfs (fd, &sf) < 0)
    return -1;
  /* ST_* flags have the values of their MS_* twins. */
  flags = MS_BIND | MS_REMOUNT | extra | ((unsigned long) sf.f_flags & kept);
  if (((unsigned long) sf.f_flags & (ST_NOATIME | ST_RELATIME)) == 0)
    flags |= MS_STRICTATIME;
  return mount (NULL, fd_path (p, fd), NULL, flags, NULL);
}

/* Bind SOURCE (a host path; NULL: the target itself) onto TARGET
 * (resolved inside DIR_FD), then remount it with EXTRA. */
static int
bind_at (int dir_fd, const char *source, const char *target, unsigned long extra)
{
  char p[32];
  int fd = open_in_root (dir_fd, target, O_PATH, 0);
  int r;

  if (fd < 0)
    return -1;
  r = mount (source != NULL ? source : fd_path (p, fd), fd_path (p, fd), NULL, MS_BIND | MS_REC, NULL);
  close_keep_errno (fd);
  if (r < 0 || extra == 0)
    return r;
  /* The fd saw the entry under the new mount: open it again. */
  fd = open_in_root (dir_fd, target, O_PATH, 0);
  if (fd < 0)
    return -1;
  r = remount_bind (fd, extra);
  close_keep_errno (fd);
  return r;
}

/* Mount FSTYPE on the directory TARGET inside ROOT_FD. */
static int
mount_fs_at (int root_fd, const char *target, const char *fstype, unsigned long flags, const char *opts)
{
  char p[32];
  int fd = open_in_root (root_fd, target, O_PATH | O_DIRECTORY, 0);
  int r;

  if (fd < 0)
    return -1;
  r = mount (fstype, fd_path (p, fd), fstype, flags, opts);
  close_keep_errno (fd);
  return r;
}

/* The per-pid-namespace pid_max (Linux 6.14+) caps the number of
 * processes in the sandbox whatever their uid: RLIMIT_NPROC does not
 * apply to a step running as container root mapped to host root.  The
 * kernel refuses values under 301; older kernels refuse the write, and
 * then RLIMIT_NPROC alone limits. */
static void
write_pid_max (int proc_fd, uint64_t pid_max)
{
  char buf[24];
  size_t n = sizeof buf;
  int fd;

  if (pid_max < 301)
    pid_max = 301;
  buf[--n] = '\n';
  do
    buf[--n] = (char) ('0' + pid_max % 10);
  while ((pid_max /= 10) != 0 && n > 0);
  fd = openat (proc_fd, "sys/kernel/pid_max", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  if (write (fd, buf + n, sizeof buf - n) < 0)
    {
      /* best effort, see above */
    }
  close (fd);
}

/* Docker's read-only and masked /proc paths: writing /proc/sys or
 * /proc/sysrq-trigger as container root mapped to host root would reach
 * the host's kernel. */
static const char *const proc_read_only[] = { "bus", "fs", "irq", "sys", "sysrq-trigger" };
static const char *const proc_masked[]
    = { "asound", "acpi", "kcore", "keys", "latency_stats", "timer_list", "timer_stats", "sched_debug", "scsi" };

static int
protect_proc (int root_fd, struct sandbox_report *r)
{
  int proc = open_in_root (root_fd, "proc", O_PATH | O_DIRECTORY, 0);
  struct stat st;

  if (proc < 0)
    return sandbox_fail (r, SANDBOX_STAGE_PROC_MASK, "/proc");
  for (size_t i = 0; i < sizeof proc_read_only / sizeof *proc_read_only; i++)
    if (bind_at (proc, NULL, proc_read_only[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0 && errno != ENOENT)
      {
        close_keep_errno (proc);
        return sandbox_fail (r, SANDBOX_STAGE_PROC_MASK, proc_read_only[i]);
      }
  for (size_t i = 0; i < sizeof proc_masked / sizeof *proc_masked; i++)
    {
      char p[32];
      int fd, ret;

      if (fstatat (proc, proc_masked[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (!S_ISDIR (st.st_mode))
        ret = bind_at (proc, "/dev/null", proc_masked[i], 0);
      else if ((fd = openat (proc, proc_masked[i], O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
        ret = -1;
      else
        {
          ret = mount ("tmpfs", fd_path (p, fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
          close_keep_errno (fd);
        }
      if (ret < 0)
        {
          close_keep_errno (proc);
          return sandbox_fail (r, SANDBOX_STAGE_PROC_MASK, proc_masked[i]);
        }
    }
  close (proc);
  return 0;
}

static int
build_proc (int root_fd, uint64_t pid_max, struct sandbox_report *r)
{
  int proc;

  if (mount_fs_at (root_fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    {
      /* A user namespace may mount proc only where the host's /proc is
       * fully visible; in a container whose runtime masked parts of it
       * the kernel says EPERM.  Then the step gets the host's (that is,
       * the container's) /proc, masks kept, as podman and buildah do. */
      if (errno != EPERM || bind_at (root_fd, "/proc", "proc", 0) < 0)
        return sandbox_fail (r, SANDBOX_STAGE_PROC, "/proc");
      return 0;
    }
  proc = open_in_root (root_fd, "proc", O_PATH | O_DIRECTORY, 0);
  if (proc < 0)
    return sandbox_fail (r, SANDBOX_STAGE_PROC, "/proc");
  if (pid_max != 0)
    write_pid_max (proc, pid_max);
  close (proc);
  return protect_proc (root_fd, r);
}

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct
{
  const char *name, *target;
} dev_links[] = {
  { "ptmx", "pts/ptmx" },          { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
  { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" },
};

/* Device nodes cannot be made in a user namespace: bind the host's. */
static int
dev_bind_node (int dev, const char *name)
{
  char src[32] = "/dev/";
  int fd = openat (dev, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0666);

  if (fd < 0)
    return -1;
  close (fd);
  sandbox_strlcpy (src + 5, name, sizeof src - 5);
  if (bind_at (dev, src, name, 0) == 0)
    return 0;
  if (errno != ENOENT)
    return -1;
  /* the host has no such node: then neither has the step */
  return unlinkat (dev, name, 0);
}

static int
build_dev (int root_fd, struct sandbox_report *r)
{
  int dev;

  if (mount_fs_at (root_fd, "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, DEV_TMPFS_OPTS) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_DEV, "/dev");
  dev = open_in_root (root_fd, "dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0)
    return sandbox_fail (r, SANDBOX_STAGE_DEV, "/dev");
  for (size_t i = 0; i < sizeof dev_nodes / sizeof *dev_nodes; i++)
    if (dev_bind_node (dev, dev_nodes[i]) < 0)
      goto fail;
  if (mkdirat (dev, "pts", 0755) < 0 || mkdirat (dev, "shm", 01777) < 0)
    goto fail;
  if (mount_fs_at (dev, "pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    goto fail;
  if (mount_fs_at (dev, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SHM_TMPFS_OPTS) < 0)
    goto fail;
  for (size_t i = 0; i < sizeof dev_links / sizeof *dev_links; i++)
    if (symlinkat (dev_links[i].target, dev, dev_links[i].name) < 0)
      goto fail;
  close (dev);
  return 0;
fail:
  close_keep_errno (dev);
  return sandbox_fail (r, SANDBOX_STAGE_DEV, "/dev");
}

static int
pivot (int root_fd, struct sandbox_report *r)
{
  /* pivot_root(".", ".") stacks the old root on top of the new one;
   * detaching it leaves the new root alone, with no directory needed
   * for the old one. */
  if (fchdir (root_fd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0 || umount2 (".", MNT_DETACH) < 0
      || chdir ("/") < 0)
    return sandbox_fail (r, SANDBOX_STAGE_PIVOT, NULL);
  return 0;
}

/* Make the mount point of B below the step's /dev (its tmpfs): the
 * directories on the way, then a directory or an empty file.  In the
 * child: system calls only. */
static int
make_in_dev (int root_fd, const struct sandbox_bind *b)
{
  char path[4096];
  size_t len = strlen (b->target);
  int dir, next;
  char *p, *slash;

  if (len >= sizeof path)
    return (errno = ENAMETOOLONG, -1);
  memcpy (path, b->target, len + 1);
  dir = open_in_root (root_fd, "dev", O_PATH | O_DIRECTORY, 0);
  for (p = path + 5; dir >= 0; p = slash + 1)
    {
      slash = strchr (p, '/');
      if (slash == NULL)
        break;
      *slash = '\0';
      if (mkdirat (dir, p, 0755) < 0 && errno != EEXIST)
        break;
      next = openat (dir, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close_keep_errno (dir);
      dir = next;
    }
  if (dir < 0 || slash != NULL)
    {
      close_keep_errno (dir);
      return -1;
    }
  next = b->dir ? mkdirat (dir, p, 0755) : openat (dir, p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (next < 0 && errno != EEXIST)
    {
      close_keep_errno (dir);
      return -1;
    }
  if (!b->dir)
    close (next);
  close (dir);
  return 0;
}

int
sandbox_tree_enter (const struct sandbox_tree *t, uint64_t pid_max, struct sandbox_report *r)
{
  int root;

  /* 1. Nothing mounted from here on may propagate to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_PRIVATE, NULL);
  /* 2. The rootfs bound onto itself: a mount point of its own, for
   *    pivot_root; nosuid and nodev, so neither a set-uid file nor a
   *    device node from the image works. */
  if (mount (t->rootfs, t->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_ROOT, t->rootfs);
  root = open (t->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || remount_bind (root, MS_NOSUID | MS_NODEV) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_ROOT, t->rootfs);
  /* 3. A fresh /proc of the new pid namespace. */
  if (build_proc (root, pid_max, r) < 0)
    return -1;
  /* 4. A minimal /dev. */
  if (build_dev (root, r) < 0)
    return -1;
  /* 5. resolv.conf, hosts and the spec's mounts. */
  for (size_t i = 0; i < t->n_binds; i++)
    {
      const struct sandbox_bind *b = &t->binds[i];
      unsigned long flags = MS_NOSUID | MS_NODEV | (b->read_only ? MS_RDONLY : 0);

      if (b->in_dev && make_in_dev (root, b) < 0)
        return sandbox_fail (r, SANDBOX_STAGE_BIND, b->target);
      if (b->tmpfs_opts != NULL ? mount_fs_at (root, b->target, "tmpfs", flags, b->tmpfs_opts) < 0
                                : bind_at (root, b->source, b->target, flags) < 0)
        return sandbox_fail (r, SANDBOX_STAGE_BIND, b->target);
    }
  /* 6. Into it. */
  return pivot (root, r);
}

int
sandbox_tree_chroot (const struct sandbox_tree *t, struct sandbox_report *r)
{
  if (fchdir (t->root_fd) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    return sandbox_fail (r, SANDBOX_STAGE_CHROOT, t->rootfs);
  return 0;
}

int
sandbox_enter_cwd (const char *cwd, uid_t uid, gid_t gid, struct sandbox_report *r)
{
  char path[4096];
  size_t len = strlen (cwd);

  if (len == 0 || len >= sizeof path)
    {
      errno = ENAMETOOLONG;
      return sandbox_fail (r, SANDBOX_STAGE_CWD, cwd);
    }
  memcpy (path, cwd, len + 1);
  /* mkdir -p, each new directory given to the step's user. */
  for (size_t i = 1; i <= len; i++)
    {
      if (path[i] != '/' && path[i] != '\0')
        continue;
      if (path[i - 1] == '/')
        continue;
      path[i] = '\0';
      if (mkdir (path, 0755) == 0)
        {
          if (lchown (path, uid, gid) < 0)
            return sandbox_fail (r, SANDBOX_STAGE_CWD, path);
        }
      else if (errno != EEXIST)
        return sandbox_fail (r, SANDBOX_STAGE_CWD, path);
      path[i] = cwd[i];
    }
  if (chdir (cwd) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_CWD, cwd);
  return 0;
}

void
sandbox_exec_in_root (char *const *argv, char *const *envp)
{
  const char *name = argv[0];
  const char *p = DEFAULT_PATH;
  size_t nlen = strlen (name);
  int found_errno = ENOENT;

  if (strchr (name, '/') != NULL)
    {
      execve (name, argv, envp);
      return;
    }
  for (size_t i = 0; envp[i] != NULL; i++)
    if (strncmp (envp[i], "PATH=", 5) == 0)
      p = envp[i] + 5;
  while (*p != '\0')
    {
      size_t dlen = strcspn (p, ":");
      char path[4096];

      if (dlen > 0 && p[0] == '/' && dlen + 1 + nlen < sizeof path)
        {
          memcpy (path, p, dlen);
          path[dlen] = '/';
          memcpy (path + dlen + 1, name, nlen + 1);
          execve (path, argv, envp);
          if (errno != ENOENT && errno != ENOTDIR)
            found_errno = errno;
        }
      p += dlen;
      if (*p == ':')
        p++;
    }
  errno = found_errno;
}
