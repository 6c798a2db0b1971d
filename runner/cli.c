/* cli.c — helpers shared by the subcommands: error reporting and input. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"

static int
report (int exit_code, const char *msg)
{
  /* Through the logger so registered secrets are masked. */
  hoist_log (HOIST_LOG_ERROR, "%s", msg);
  return exit_code;
}

int
runner_fail (int exit_code, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return report (exit_code, msg);
}

int
runner_fail_error (struct hoist_error *err)
{
  int ret = report (HOIST_EXIT_FAILURE, err != NULL ? err->msg : "unknown error");
  hoist_error_free (err);
  return ret;
}

int
runner_usage_error (const char *cmd, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return runner_fail (HOIST_EXIT_USAGE, "%s (see 'hoist %s --help')", msg, cmd);
}

int
runner_read_input (const char *path, size_t limit, struct hoist_buf *b, struct hoist_error **err)
{
  hoist_buf_init (b, limit);
  if (strcmp (path, "-") == 0)
    {
      if (hoist_buf_read_fd (b, STDIN_FILENO, err) < 0)
        return hoist_error_wrap (err, "cannot read standard input");
      return 0;
    }
  return hoist_buf_read_file (b, path, err);
}
