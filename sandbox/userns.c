/* userns.c — a rootless build inside a user namespace of its own.
 *
 * An unprivileged user cannot chown: the base image's files would all be
 * the caller's, and a step's `chown 1001` could not be done, let alone
 * recorded.  So, as `buildah unshare` and rootless podman do, the whole
 * build moves into a new user (and mount) namespace in which the caller
 * is root: container 0 is the caller and 1..N its range from /etc/subuid
 * (mapped by the setuid helpers newuidmap and newgidmap), or 0 alone when
 * there is no range.  In there the in-root writer sets the image's owners,
 * a step's sandbox is a nested namespace mapping those ids onto
 * themselves (idmap.c reads them from /proc/self/uid_map), and the
 * snapshot diff reads the container's ids straight from stat: the layers
 * never see a host id.
 *
 * The helpers must run outside the new namespace (a setuid binary
 * executed inside it would not gain the host's root), so one is forked
 * first and told through a pipe when this process has unshared; it then
 * writes this process's maps and reports back. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

/* The mapper's whole life: wait for GO, write TARGET's maps, say why not
 * on RES.  EOF on GO means the parent could not unshare: nothing to do. */
static void __attribute__ ((noreturn))
mapper (pid_t target, int go, int res, const struct sandbox_idmaps *maps)
{
  struct hoist_error *err = NULL;
  char c;
  ssize_t n;

  do
    n = read (go, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (0);
  if (sandbox_idmaps_write (target, maps, &err) < 0)
    {
      size_t len = strlen (err->msg);

      if (write (res, err->msg, len) != (ssize_t) len)
        _exit (2);
      _exit (1);
    }
  _exit (0);
}

/* Wait for the mapper and collect its message: 0 when it mapped. */
static int
mapper_wait (pid_t pid, int res, char **msg)
{
  char buf[1024];
  size_t len = 0;
  ssize_t n;
  int st;

  for (;;)
    {
      n = read (res, buf + len, sizeof buf - 1 - len);
      if (n > 0 && (len += (size_t) n) < sizeof buf - 1)
        continue;
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
  buf[len] = '\0';
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      {
        *msg = hoist_xasprintf ("cannot wait for the id mapper: %s", strerror (errno));
        return -1;
      }
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  *msg = len > 0 ? hoist_xstrdup (buf) : hoist_xstrdup ("the id mapper failed without a message");
  return -1;
}

int
sandbox_userns_enter (char **why, struct hoist_error **err)
{
  struct sandbox_idmaps maps;
  int go[2] = { -1, -1 }, res[2] = { -1, -1 };
  pid_t self = getpid (), helper = -1;
  cleanup_free char *msg = NULL;

  *why = NULL;
  if (geteuid () == 0)
    return 0;
  if (sandbox_idmaps_probe (&maps, err) < 0)
    return hoist_error_wrap (err, "cannot work out the build's user namespace");
  if (maps.helpers)
    {
      if (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (res, O_CLOEXEC) < 0)
        {
          hoist_error_set (err, errno, "cannot make a pipe for the id mapper");
          goto fail;
        }
      helper = fork ();
      if (helper < 0)
        {
          hoist_error_set (err, errno, "cannot start the id mapper");
          goto fail;
        }
      if (helper == 0)
        {
          close (go[1]);
          close (res[0]);
          mapper (self, go[0], res[1], &maps);
        }
      close (go[0]);
      close (res[1]);
      go[0] = res[1] = -1;
    }

  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    {
      *why = hoist_xasprintf ("cannot create a user namespace: %s", strerror (errno));
      if (helper > 0)
        {
          close (go[1]);
          go[1] = -1;
          (void) mapper_wait (helper, res[0], &msg);
          close (res[0]);
        }
      return 0;
    }

  if (helper > 0)
    {
      int r = write (go[1], "1", 1) == 1 ? mapper_wait (helper, res[0], &msg) : -1;

      close (go[1]);
      close (res[0]);
      if (r == 0)
        return 1;
      /* The range did not map (a helper refused the subuid entry): the
       * caller's own ids alone still can, without helpers. */
      *why = hoist_xasprintf ("cannot map the subordinate ids (%s); only container id 0 is mapped",
                              msg != NULL ? msg : "the id mapper could not be told to start");
      maps.n_uid = maps.n_gid = 1;
      maps.helpers = false;
      maps.single = true;
    }
  if (sandbox_idmaps_write (self, &maps, err) < 0)
    return hoist_error_wrap (err, "cannot enter the build's user namespace");
  return 1;

fail:
  for (int i = 0; i < 2; i++)
    {
      if (go[i] >= 0)
        close (go[i]);
      if (res[i] >= 0)
        close (res[i]);
    }
  return -1;
}
