/* root.c — the file system the step sees, the child's half (the
 * parent's is mounts.c).
 *
 * In the child, in its new mount namespace, the tree is built in a fixed
 * order (as bubblewrap and crun do): propagation made private, the
 * rootfs bound onto itself (pivot_root needs a mount point), a fresh
 * /proc with its dangerous corners read-only or hidden (as Docker does),
 * a minimal /dev on a tmpfs with the host's harmless device nodes bound
 * in, then the binds and tmpfs mounts, then pivot_root(".", ".") and a
 * lazy unmount of the old root.  Mount targets are opened inside the
 * rootfs again (RESOLVE_IN_ROOT) and mounted on through
 * /proc/self/fd/N, so a path is never resolved twice by the kernel with
 * different roots.  Everything here runs between clone and exec:
 * system calls only, no allocation. */
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
  int fd = sandbox_open_in_root (dir_fd, target, O_PATH, 0);
  int r;

  if (fd < 0)
    return -1;
  r = mount (source != NULL ? source : fd_path (p, fd), fd_path (p, fd), NULL, MS_BIND | MS_REC, NULL);
  close_keep_errno (fd);
  if (r < 0 || extra == 0)
    return r;
  /* The fd saw the entry under the new mount: open it again. */
  fd = sandbox_open_in_root (dir_fd, target, O_PATH, 0);
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
  int fd = sandbox_open_in_root (root_fd, target, O_PATH | O_DIRECTORY, 0);
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
  int proc = sandbox_open_in_root (root_fd, "proc", O_PATH | O_DIRECTORY, 0);
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
  proc = sandbox_open_in_root (root_fd, "proc", O_PATH | O_DIRECTORY, 0);
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
  dev = sandbox_open_in_root (root_fd, "dev", O_PATH | O_DIRECTORY, 0);
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
  dir = sandbox_open_in_root (root_fd, "dev", O_PATH | O_DIRECTORY, 0);
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
