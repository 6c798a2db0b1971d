/* layer-bench.c — benchmark driver for the layer writer: walks DIR as a
 * build context would be walked (each directory read and sorted by name,
 * parents before their contents), and writes every entry into one layer.
 *
 *   layer-bench DIR OUT gzip|zstd|uncompressed [THREADS]
 *
 * Prints "diff_id digest size" on stdout.  Built and run by
 * bench/layer-bench.sh; not part of make check.  Hard links are written as
 * separate files and only security.capability is read: enough to measure
 * the writer, not a context walker. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/builder.h"

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in DIRFD's directory, sorted; *N gets their count. */
static char **
sorted_names (int dirfd, size_t *n)
{
  DIR *d = fdopendir (dup (dirfd));
  char **names = NULL;
  struct dirent *de;

  *n = 0;
  if (d == NULL)
    return NULL;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      hoist_strv_push (&names, de->d_name);
  closedir (d);
  *n = hoist_strv_len (names);
  if (*n > 0)
    qsort (names, *n, sizeof *names, name_cmp);
  return names;
}

static int
add_one (struct builder_layer_writer *w, int dirfd, const char *name, const char *path, const struct stat *st,
         struct hoist_error **err)
{
  struct builder_layer_entry e = {
    .path = path,
    .mode = st->st_mode,
    .uid = st->st_uid,
    .gid = st->st_gid,
    .mtime = st->st_mtim,
    .fd = -1,
    .rdev = st->st_rdev,
  };
  cleanup_close int fd = -1;
  char target[4096];
  unsigned char cap[64];
  struct builder_xattr x = { "security.capability", cap, 0 };

  if (S_ISREG (st->st_mode))
    {
      fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return hoist_error_set (err, errno, "cannot open '%s'", path);
      e.fd = fd;
      e.size = st->st_size;
      {
        ssize_t n = fgetxattr (fd, x.name, cap, sizeof cap);

        if (n > 0)
          {
            x.len = (size_t) n;
            e.xattrs = &x;
            e.n_xattrs = 1;
          }
      }
    }
  else if (S_ISLNK (st->st_mode))
    {
      ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);

      if (n < 0)
        return hoist_error_set (err, errno, "cannot read link '%s'", path);
      target[n] = '\0';
      e.link_target = target;
    }
  else if (S_ISSOCK (st->st_mode))
    return 0;
  return builder_layer_add (w, &e, err);
}

static int
walk (struct builder_layer_writer *w, int dirfd, const char *prefix, struct hoist_error **err)
{
  cleanup_strv char **names = NULL;
  size_t n = 0;

  names = sorted_names (dirfd, &n);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *path
          = prefix[0] != '\0' ? hoist_xasprintf ("%s/%s", prefix, names[i]) : hoist_xstrdup (names[i]);
      struct stat st;

      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        return hoist_error_set (err, errno, "cannot stat '%s'", path);
      if (add_one (w, dirfd, names[i], path, &st, err) < 0)
        return -1;
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sub = openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          if (sub < 0)
            return hoist_error_set (err, errno, "cannot open '%s'", path);
          if (walk (w, sub, path, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_close int root = -1;
  cleanup_close int out = -1;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_opts opts;
  struct builder_layer_result res;
  int r;

  if (argc < 4 || argc > 5)
    {
      fprintf (stderr, "usage: layer-bench DIR OUT gzip|zstd|uncompressed [THREADS]\n");
      return 2;
    }
  builder_layer_opts_init (&opts);
  opts.source_date_epoch = 1700000000;
  if (argc == 5)
    opts.threads = (unsigned) strtoul (argv[4], NULL, 10);
  root = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  out = open (argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (root < 0 || out < 0)
    {
      fprintf (stderr, "layer-bench: cannot open '%s' or '%s': %s\n", argv[1], argv[2], strerror (errno));
      return 1;
    }
  r = builder_compression_parse (argv[3], &opts.compression, &err);
  if (r == 0)
    r = builder_layer_writer_new (out, &opts, &w, &err);
  if (r == 0)
    r = walk (w, root, "", &err);
  if (r == 0)
    r = builder_layer_finish (w, &res, &err);
  builder_layer_writer_free (w);
  if (r < 0)
    {
      fprintf (stderr, "layer-bench: %s\n", err->msg);
      return 1;
    }
  printf ("%s %s %" PRId64 "\n", res.diff_id, res.digest, res.size);
  return 0;
}
