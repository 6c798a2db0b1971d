/* transfer.c — the live line of a blob transfer on a terminal:
 * "  sha256:0123456789ab  45.1 MB / 92.0 MB  118.3 MB/s", redrawn at most
 * ten times a second and wiped when the blob is done (the command then
 * prints its own line for it).  Only used when standard error is a
 * terminal; logs and pipes get one line per blob. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/runner.h"

#define REDRAW_S 0.1

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

bool
runner_transfer_wanted (bool quiet)
{
  return !quiet && isatty (STDERR_FILENO);
}

void
runner_transfer_progress (void *ctx, const char *digest, int64_t done, int64_t total)
{
  struct runner_transfer *t = ctx;
  double now = now_s ();
  char line[160];

  if (digest == NULL)
    return;
  if (strncmp (t->digest, digest, sizeof t->digest - 1) != 0)
    {
      snprintf (t->digest, sizeof t->digest, "%s", digest);
      t->start = now;
      t->drawn = 0;
    }
  if (done >= total && total > 0)
    {
      fputs ("\r\033[K", stderr);
      fflush (stderr);
      return;
    }
  if (now - t->drawn < REDRAW_S)
    return;
  t->drawn = now;
  snprintf (line, sizeof line, "  %.19s  %.1f MB / %.1f MB  %.1f MB/s", digest, (double) done / 1e6,
            (double) total / 1e6, now > t->start ? (double) done / 1e6 / (now - t->start) : 0.0);
  fprintf (stderr, "\r\033[K%s", line);
  fflush (stderr);
}
