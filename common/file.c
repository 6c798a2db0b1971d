/* file.c — writing files whole: every byte or an error, and a file
 * replaced so a reader sees the old one or the new one, never half. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
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
