/* file.c — writing files whole: every byte or an error, and a file
 * replaced so a reader sees the old one or the new one, never half. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

int
hoist_write_all (int fd, const void *p, size_t n)
{
  const char *c = p;

  while (n > 0)
    {
      ssize_t w = write (fd, c, n);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      c += w;
      n -= (size_t) w;
    }
  return 0;
}

int
hoist_replace_file (const char *path, const void *data, size_t len, mode_t mode, struct hoist_error **err)
{
  cleanup_free char *tmp = hoist_xasprintf ("%s.tmp-XXXXXX", path);
  cleanup_close int fd = mkostemp (tmp, O_CLOEXEC);
  int e;

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot create a file next to '%s'", path);
  if (fchmod (fd, mode) == 0 && hoist_write_all (fd, data, len) == 0 && fsync (fd) == 0 && rename (tmp, path) == 0)
    return 0;
  e = errno;
  unlink (tmp);
  return hoist_error_set (err, e, "cannot write '%s'", path);
}

int
hoist_dir_names (int dirfd, char ***out)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  int e = 0;

  *out = NULL;
  if (d == NULL)
    {
      e = errno;
      if (fd >= 0)
        close (fd);
      errno = e;
      return -1;
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      hoist_strv_push (out, de->d_name);
  e = errno;
  closedir (d);
  if (e != 0)
    {
      hoist_strv_free (*out);
      *out = NULL;
      errno = e;
      return -1;
    }
  return 0;
}

int
hoist_rmtree_at (int dirfd, const char *name, struct hoist_error **err)
{
  cleanup_strv char **names = NULL;
  cleanup_close int fd = -1;
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : hoist_error_set (err, errno, "cannot remove '%s'", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
        return hoist_error_set (err, errno, "cannot remove '%s'", name);
      return 0;
    }
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* A directory its owner may not read or write cannot be emptied until
   * it is opened up (root needs no such thing).  NAME was a directory a
   * moment ago, and nothing else writes here, so fchmodat, which follows
   * a symlink, meets that directory. */
  if (fd < 0 && errno == EACCES && fchmodat (dirfd, name, 0700, 0) == 0)
    fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s'", name);
  if ((st.st_mode & 0700) != 0700)
    (void) fchmod (fd, (st.st_mode & 07777) | 0700);
  if (hoist_dir_names (fd, &names) < 0)
    return hoist_error_set (err, errno, "cannot read '%s'", name);
  for (size_t i = 0; names != NULL && names[i] != NULL; i++)
    if (hoist_rmtree_at (fd, names[i], err) < 0)
      return hoist_error_wrap (err, "cannot remove '%s'", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return hoist_error_set (err, errno, "cannot remove '%s'", name);
  return 0;
}

int
hoist_read_secret_file (const char *path, size_t limit, const char *what, char **out, size_t *len,
                        struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;

  hoist_buf_init (&b, limit);
  if (hoist_buf_read_file (&b, path, err) < 0)
    return hoist_error_wrap (err, "cannot read %s", what);
  hoist_buf_rtrim (&b);
  if (b.len == 0)
    return hoist_error_set (err, 0, "%s file '%s' is empty", what, path);
  *out = hoist_buf_detach (&b, len);
  return 0;
}

int64_t
hoist_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
