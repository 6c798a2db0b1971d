/* cmd_version.c — `hoist version`. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "runner/runner.h"

int
runner_cmd_version (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          printf ("usage: hoist version\n\nPrint hoist's version, the git commit it was built from and the build date.\n");
          return HOIST_EXIT_OK;
        }
      return runner_usage_error ("version", "unexpected argument '%s'", argv[i]);
    }
  printf ("hoist %s\ncommit: %s\nbuilt: %s\n", PACKAGE_VERSION, HOIST_GIT_COMMIT, HOIST_BUILD_DATE);
  return HOIST_EXIT_OK;
}
