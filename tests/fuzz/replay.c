/* replay.c — runs a fuzz target over files without libFuzzer, so make
 * check replays every seed corpus with whatever compiler built hoist (and
 * under the sanitizers in CI).  Arguments are files or directories. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Seeds are small; anything larger is not a seed. */
#define REPLAY_INPUT_MAX (1024 * 1024)

static int
replay_file (const char *path)
{
  struct hoist_buf b;
  struct hoist_error *err = NULL;
  int ret = 0;

  hoist_buf_init (&b, REPLAY_INPUT_MAX);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    {
      fprintf (stderr, "replay: %s\n", err->msg);
      hoist_error_free (err);
      ret = -1;
    }
  else
    LLVMFuzzerTestOneInput ((const uint8_t *) b.data, b.len);
  hoist_buf_release (&b);
  return ret;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
replay_path (const char *path, size_t *count)
{
  struct stat st;
  DIR *d;
  struct dirent *e;
  char **names = NULL;
  int ret = 0;

  if (stat (path, &st) < 0)
    {
      fprintf (stderr, "replay: cannot stat '%s': %s\n", path, strerror (errno));
      return -1;
    }
  if (!S_ISDIR (st.st_mode))
    {
      (*count)++;
      return replay_file (path);
    }
  d = opendir (path);
  if (d == NULL)
    {
      fprintf (stderr, "replay: cannot open '%s': %s\n", path, strerror (errno));
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.')
      hoist_strv_push_take (&names, hoist_xasprintf ("%s/%s", path, e->d_name));
  closedir (d);
  /* Sorted so a crash names the same seed on every run. */
  if (names != NULL)
    qsort (names, hoist_strv_len (names), sizeof (char *), cmp_names);
  for (size_t i = 0; names != NULL && names[i] != NULL && ret == 0; i++)
    ret = replay_path (names[i], count);
  hoist_strv_free (names);
  return ret;
}

int
main (int argc, char **argv)
{
  size_t count = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    if (replay_path (argv[i], &count) < 0)
      return 1;
  if (count == 0)
    {
      fprintf (stderr, "replay: no inputs found\n");
      return 1;
    }
  printf ("replayed %zu inputs\n", count);
  return 0;
}
