/* sbom-bench.c — benchmark driver for the SBOM scanner (builder/sbom_*.c):
 * the directory driver on DIR, then the layer driver on each LAYER blob
 * (one scanner per blob, as one layer image).
 *
 *   sbom-bench DIR LAYER...
 *
 * Prints one line: "dir_s packages layer_s... maxrss_kB".  Built and run
 * by bench/sbom-bench.sh; not part of make check. */
#include "config.h"

#define BUILDER_INTERNAL

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "builder/sbom_private.h"

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
  fprintf (stderr, "sbom-bench: %s: %s\n", what, err != NULL ? err->msg : "failed");
  hoist_error_free (err);
  return 1;
}

/* Scan DIR (LAYER NULL) or LAYER; *PACKAGES gets how many were found. */
static int
scan (const char *dir, const char *layer, size_t *packages, double *secs)
{
  struct hoist_error *err = NULL;
  struct builder_sbom_scan *s = NULL;
  struct builder_sbom sbom;
  double t0 = now ();
  int r = builder_sbom_scan_new (&s, &err);

  if (r == 0 && layer != NULL)
    {
      int fd = open (layer, O_RDONLY | O_CLOEXEC);

      r = fd >= 0 ? builder_sbom_scan_layer_fd (s, fd, &err) : -1;
      if (fd >= 0)
        close (fd);
    }
  else if (r == 0)
    r = builder_sbom_scan_dir (s, dir, &err);
  if (r == 0)
    r = builder_sbom_scan_finish (s, &sbom, &err);
  *secs = now () - t0;
  builder_sbom_scan_free (s);
  if (r < 0)
    return fail (layer != NULL ? layer : dir, err);
  *packages = sbom.n;
  builder_sbom_release (&sbom);
  return 0;
}

int
main (int argc, char **argv)
{
  struct rusage ru;
  size_t packages, n;
  double secs;

  if (argc < 2)
    {
      fprintf (stderr, "usage: sbom-bench DIR LAYER...\n");
      return 2;
    }
  if (scan (argv[1], NULL, &packages, &secs) != 0)
    return 1;
  printf ("%.4f %zu", secs, packages);
  for (int i = 2; i < argc; i++)
    {
      if (scan (NULL, argv[i], &n, &secs) != 0)
        return 1;
      if (n != packages)
        fprintf (stderr, "sbom-bench: '%s' gave %zu packages, the directory %zu\n", argv[i], n, packages);
      printf (" %.4f", secs);
    }
  getrusage (RUSAGE_SELF, &ru);
  printf (" %ld\n", ru.ru_maxrss);
  return 0;
}
