/* fuzz_layer.c — fuzz target for the layer writer (rootfs_write.c).
 *
 * Input: a layer as a registry would send it (a tar, plain, gzip'd or
 * zstd'd).  It is written with build_rootfs_apply_fd into a fresh root
 * made in a temp directory laid out as
 *   /tmp/hoist-fuzz-layer-XXXXXX/o/{sentinel, sentdir/inner, rootfs-XXXXXX}
 * so that whatever escapes one or two levels up lands where it is seen.
 * Invariants, beyond no crash and no leak (the sanitizers): a failure
 * comes with a message; the sentinels keep content, mode, owner, times,
 * link count and ctime; the two directories around the root hold nothing
 * new.  Small limits keep each input fast; everything is removed after. */
#include "config.h"

#define BUILDER_INTERNAL

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (1024 * 1024)
#define SENTINEL_TEXT "sentinel\n"

static const struct build_layer_limits LIMITS = {
  .max_entries = 512,
  .max_bytes = 4 << 20,
  .max_path = BUILD_LAYER_MAX_PATH,
  .max_name_bytes = 256 << 10,
};

static void
check (bool ok)
{
  if (!ok)
    abort ();
}

static bool
same_stat (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid
         && a->st_nlink == b->st_nlink && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* How many entries DIR has; the root's "rootfs-*" must be one of them
 * when ROOT is set. */
static int
count_entries (const char *dir, const char *root)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;
  bool seen = root == NULL;

  check (d != NULL);
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      n++;
      if (root != NULL && strcmp (de->d_name, root) == 0)
        seen = true;
    }
  closedir (d);
  check (seen);
  return n;
}

static int
memfd_with (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("layer", MFD_CLOEXEC);

  check (fd >= 0);
  for (size_t done = 0; done < size;)
    {
      ssize_t n = write (fd, data + done, size - done);
      check (n > 0);
      done += (size_t) n;
    }
  check (lseek (fd, 0, SEEK_SET) == 0);
  return fd;
}

static void
make_file (const char *path, const char *text, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  struct timespec ts[2] = { { 1234567890, 0 }, { 1234567890, 0 } };

  check (fd >= 0);
  check (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
  check (futimens (fd, ts) == 0);
  close (fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char tmpl[] = "/tmp/hoist-fuzz-layer-XXXXXX";
  char *outer, *sentinel, *sentdir, *inner;
  struct stat s_st, d_st, i_st, st;
  struct build_rootfs *r = NULL;
  struct hoist_error *err = NULL;
  const char *slash;
  int fd, ret;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  hoist_log_set_level (HOIST_LOG_ERROR);
  check (mkdtemp (tmpl) != NULL);
  outer = hoist_xasprintf ("%s/o", tmpl);
  sentinel = hoist_xasprintf ("%s/sentinel", outer);
  sentdir = hoist_xasprintf ("%s/sentdir", outer);
  inner = hoist_xasprintf ("%s/inner", sentdir);
  check (mkdir (outer, 0755) == 0 && mkdir (sentdir, 0750) == 0);
  make_file (sentinel, SENTINEL_TEXT, 0640);
  make_file (inner, "inner\n", 0600);
  check (lstat (sentinel, &s_st) == 0 && lstat (sentdir, &d_st) == 0 && lstat (inner, &i_st) == 0);

  fd = memfd_with (data, size);
  check (build_rootfs_new (outer, &r, &err) == 0);
  build_rootfs_set_limits (r, &LIMITS);
  ret = build_rootfs_apply_fd (r, fd, "fuzz", &err);
  check (ret == 0 ? err == NULL : err != NULL && err->msg != NULL && *err->msg != '\0');
  check (build_rootfs_layers (r) == (ret == 0 ? 1u : 0u));
  hoist_error_free (err);
  close (fd);

  check (lstat (sentinel, &st) == 0 && same_stat (&st, &s_st));
  check (lstat (sentdir, &st) == 0 && same_stat (&st, &d_st));
  check (lstat (inner, &st) == 0 && same_stat (&st, &i_st));
  slash = strrchr (build_rootfs_path (r), '/');
  check (count_entries (outer, slash + 1) == 3);
  check (count_entries (sentdir, NULL) == 1);
  check (count_entries (tmpl, NULL) == 1);

  build_rootfs_free (r);
  check (count_entries (outer, NULL) == 2);
  check (hoist_rmtree_at (AT_FDCWD, tmpl, NULL) == 0);
  free (inner);
  free (sentdir);
  free (sentinel);
  free (outer);
  return 0;
}
