/* fuzz_dockerignore.c — fuzz target for the .dockerignore reader and
 * matcher.
 *
 * Input: the .dockerignore text up to the first NUL byte, then up to
 * FUZZ_PATHS_MAX paths separated by NUL bytes; with no NUL at all, the
 * whole input is the text and a fixed set of paths is matched.  Besides
 * "no crash, no leak, no undefined behaviour", it checks the promise
 * builder_ignore_must_descend makes: when it says a directory may be
 * skipped, everything below it is excluded. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The matcher's cost grows with path x pattern length: keep runs quick. */
#define FUZZ_INPUT_MAX (64 * 1024)
#define FUZZ_PATHS_MAX 8
/* Each must_descend check matches every pattern again: bound them per path. */
#define FUZZ_PARENTS_MAX 32

static const char *const probe_paths[] = {
  "a", "a/b", "a/b/c", ".git/config", "node_modules/x/y.js", "Dockerfile", ".dockerignore", "src/main.go",
};

static void
check_path (const struct builder_ignore *ig, const char *path)
{
  bool excluded = builder_ignore_excluded (ig, path);
  int parents = 0;

  (void) builder_ignore_must_descend (ig, path);
  for (const char *slash = strchr (path, '/'); slash != NULL && parents++ < FUZZ_PARENTS_MAX;
       slash = strchr (slash + 1, '/'))
    {
      cleanup_free char *dir = hoist_xstrndup (path, (size_t) (slash - path));

      if (!builder_ignore_must_descend (ig, dir) && !excluded)
        abort (); /* the walk would have skipped a file that is sent */
    }
}

static void
check_paths (const struct builder_ignore *ig, const char *p, const char *end)
{
  for (int i = 0; i < FUZZ_PATHS_MAX; i++)
    {
      const char *nul = memchr (p, '\0', (size_t) (end - p));
      size_t len = nul != NULL ? (size_t) (nul - p) : (size_t) (end - p);
      cleanup_free char *path = hoist_xstrndup (p, len);

      check_path (ig, path);
      if (nul == NULL)
        return;
      p = nul + 1;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  const char *nul;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_ignore *ig = NULL;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  nul = size > 0 ? memchr (text, '\0', size) : NULL;
  if (builder_ignore_parse (text, nul != NULL ? (size_t) (nul - text) : size, &ig, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || ig != NULL)
        abort ();
      return 0;
    }
  (void) builder_ignore_count (ig);
  if (nul != NULL)
    check_paths (ig, nul + 1, text + size);
  else
    for (size_t i = 0; i < sizeof (probe_paths) / sizeof (probe_paths[0]); i++)
      check_path (ig, probe_paths[i]);
  builder_ignore_free (ig);
  return 0;
}
