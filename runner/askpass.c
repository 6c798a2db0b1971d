/* askpass.c — hoist as git's GIT_ASKPASS: the runner's git runs with
 * GIT_ASKPASS=hoist and HOIST_ASKPASS_TOKEN_FILE=FILE, and git asks
 * "Username for '...': " and "Password for '...': ".  The answers are
 * "x-access-token" and the token FILE holds (GitHub's form for tokens
 * over HTTPS), so the token never appears in a URL, an argument or a
 * log. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/runner.h"

int
runner_askpass (int argc, char **argv)
{
  const char *file = getenv ("HOIST_ASKPASS_TOKEN_FILE");
  struct hoist_error *err = NULL;
  char *token = NULL;
  size_t len = 0;

  if (file == NULL || argc != 2)
    return -1;
  if (strncasecmp (argv[1], "Username", 8) == 0)
    {
      printf ("x-access-token\n");
      return HOIST_EXIT_OK;
    }
  if (strncasecmp (argv[1], "Password", 8) != 0)
    return -1;
  if (hoist_read_secret_file (file, HOIST_SECRET_MAX, "the token", &token, &len, &err) < 0)
    return runner_fail_error (err);
  fwrite (token, 1, len, stdout);
  putchar ('\n');
  explicit_bzero (token, len);
  free (token);
  return HOIST_EXIT_OK;
}
