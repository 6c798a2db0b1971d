/* runner.h — the hoist command line: subcommands and their shared
 * helpers.  Private to runner/ (nothing uses runner/). */
#ifndef HOIST_RUNNER_H
#define HOIST_RUNNER_H

#include "common/common.h"
#include "registry/registry.h"

/* Exit codes, documented in `hoist --help` and hoist(1). */
enum
{
  HOIST_EXIT_OK = 0,
  HOIST_EXIT_FAILURE = 1,     /* the command ran and failed */
  HOIST_EXIT_USAGE = 2,       /* bad command line: unknown command or flag, missing argument */
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
int runner_cmd_push (int argc, char **argv);
int runner_cmd_pull (int argc, char **argv);
int runner_cmd_inspect (int argc, char **argv);
int runner_cmd_login (int argc, char **argv);
int runner_cmd_logout (int argc, char **argv);
int runner_cmd_verify (int argc, char **argv);
int runner_cmd_serve (int argc, char **argv);
int runner_cmd_jobs (int argc, char **argv);
int runner_cmd_job (int argc, char **argv);
int runner_cmd_bump (int argc, char **argv);

/* When hoist runs as git's GIT_ASKPASS (HOIST_ASKPASS_TOKEN_FILE set and
 * one "Username/Password for ..." argument), answer and return the exit
 * code; otherwise -1. */
int runner_askpass (int argc, char **argv);

/* The registry flags push and build share (getopt codes above any char). */
enum
{
  RUNNER_OPT_CREDS = 0x100,
  RUNNER_OPT_TLS_VERIFY,
  RUNNER_OPT_CA_FILE,
  RUNNER_OPT_RETRIES,
};

/* Their getopt_long entries, for a command's option table (needs getopt.h). */
/* clang-format off */
#define RUNNER_REGISTRY_OPTIONS                                                                \
  { "creds", required_argument, NULL, RUNNER_OPT_CREDS },                                      \
  { "tls-verify", optional_argument, NULL, RUNNER_OPT_TLS_VERIFY },                            \
  { "ca-file", required_argument, NULL, RUNNER_OPT_CA_FILE },                                  \
  { "retry", required_argument, NULL, RUNNER_OPT_RETRIES }
/* clang-format on */

/* Apply registry flag C (a RUNNER_OPT_*) with ARG to O.  Returns 0, or
 * the exit code of the usage error it printed. */
int runner_registry_flag (const char *cmd, int c, const char *arg, struct registry_opts *o);

/* true/false/1/0, or NULL (a bare --flag) for true.  Returns 0, or the
 * exit code of the usage error it printed. */
int runner_parse_bool (const char *cmd, const char *flag, const char *v, bool *out);

/* Print "hoist: error: MSG" (through the masker) and return EXIT. */
int runner_fail (int exit_code, const char *fmt, ...) HOIST_PRINTF (2, 3);
/* Print an error's message as above and free it; returns HOIST_EXIT_FAILURE. */
int runner_fail_error (struct hoist_error *err);
/* "hoist CMD: unknown flag" style usage error with a pointer to --help. */
int runner_usage_error (const char *cmd, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* The live line of blob transfers on a terminal (transfer.c): pass
 * runner_transfer_progress with a zeroed struct runner_transfer as a
 * registry_progress_fn when runner_transfer_wanted says so. */
struct runner_transfer
{
  char digest[72];
  double start;
  double drawn;
};
bool runner_transfer_wanted (bool quiet);
void runner_transfer_progress (void *ctx, const char *digest, int64_t done, int64_t total);

/* Read a whole file (or stdin for "-") with LIMIT into B. */
int runner_read_input (const char *path, size_t limit, struct hoist_buf *b, struct hoist_error **err) HOIST_WUR;

#endif
