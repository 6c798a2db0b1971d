/* runner.h — the hoist command line: subcommands and their shared
 * helpers.  Private to runner/ (nothing uses runner/). */
#ifndef HOIST_RUNNER_H
#define HOIST_RUNNER_H

#include "common/common.h"

/* Exit codes, documented in `hoist --help` and hoist(1). */
enum
{
  HOIST_EXIT_OK = 0,
  HOIST_EXIT_FAILURE = 1, /* the command ran and failed */
  HOIST_EXIT_USAGE = 2,   /* bad command line: unknown command or flag, missing argument */
  HOIST_EXIT_UNSUPPORTED = 3, /* a capability this version does not have yet */
};

struct runner_command
{
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
};

int runner_cmd_version (int argc, char **argv);
int runner_cmd_parse (int argc, char **argv);
int runner_cmd_build (int argc, char **argv);
int runner_cmd_images (int argc, char **argv);

/* Print "hoist: error: MSG" (through the masker) and return EXIT. */
int runner_fail (int exit_code, const char *fmt, ...) HOIST_PRINTF (2, 3);
/* Print an error's message as above and free it; returns HOIST_EXIT_FAILURE. */
int runner_fail_error (struct hoist_error *err);
/* "hoist CMD: unknown flag" style usage error with a pointer to --help. */
int runner_usage_error (const char *cmd, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* Read a whole file (or stdin for "-") with LIMIT into B. */
int runner_read_input (const char *path, size_t limit, struct hoist_buf *b, struct hoist_error **err) HOIST_WUR;

#endif
