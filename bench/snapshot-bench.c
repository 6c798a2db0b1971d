/* snapshot-bench.c — benchmark driver for the RUN diff (builder/snapshot.c):
 * snapshot DIR, let a "step" change it, and write the diff as an
 * uncompressed layer to OUT.
 *
 *   snapshot-bench DIR OUT [FILE...]
 *
 * The step appends one byte to each FILE (relative to DIR).  Prints one
 * line: "take_s diff_s entries added changed removed layer_bytes
 * maxrss_kB".  Built and run by bench/snapshot-bench.sh; not part of make
 * check. */
#include "config.h"

#define BUILDER_INTERNAL

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "builder/snapshot_private.h"

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
fail (const char *what, struct hoist_error *err)
{
  fprintf (stderr, "snapshot-bench: %s: %s\n", what, err != NULL ? err->msg : "failed");
  hoist_error_free (err);
  return 1;
}

/* The step: one byte more in each of FILES. */
static int
step (const char *dir, char **files, int n)
{
  for (int i = 0; i < n; i++)
    {
      cleanup_free char *path = hoist_xasprintf ("%s/%s", dir, files[i]);
      int fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);

      if (fd < 0 || write (fd, "+", 1) != 1)
        {
          perror (path);
          return -1;
        }
      close (fd);
    }
  return 0;
}

int
main (int argc, char **argv)
{
  struct hoist_error *err = NULL;
  struct builder_snapshot *s = NULL;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_opts o;
  struct builder_layer_result res;
  struct builder_snapshot_stats st;
  struct rusage ru;
  double t0, t1, t2;
  int fd;

  if (argc < 3)
    {
      fprintf (stderr, "usage: snapshot-bench DIR OUT [FILE...]\n");
      return 2;
    }
  t0 = now ();
  if (builder_snapshot_take (argv[1], &s, &err) < 0)
    return fail ("snapshot", err);
  t1 = now ();
  if (step (argv[1], argv + 3, argc - 3) < 0)
    return 1;
  fd = open (argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      perror (argv[2]);
      return 1;
    }
  builder_layer_opts_init (&o);
  o.compression = BUILDER_COMPRESSION_NONE;
  o.threads = 1;
  t2 = now ();
  if (builder_layer_writer_new (fd, &o, &w, &err) < 0 || builder_snapshot_diff (s, argv[1], w, &st, &err) < 0
      || builder_layer_finish (w, &res, &err) < 0)
    return fail ("diff", err);
  t2 = now () - t2;
  builder_layer_writer_free (w);
  builder_snapshot_free (s);
  close (fd);
  getrusage (RUSAGE_SELF, &ru);
  printf ("%.4f %.4f %zu %zu %zu %zu %lld %ld\n", t1 - t0, t2, st.entries, st.added, st.changed, st.removed,
          (long long) res.size, ru.ru_maxrss);
  return 0;
}
