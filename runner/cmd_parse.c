/* cmd_parse.c — `hoist parse`: the Dockerfile front end's debugging window.
 * Prints the build plan as JSON; its output is the contract the front-end
 * tests check. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "runner/runner.h"

static void
parse_usage (FILE *out)
{
  fprintf (out, "usage: hoist parse [-f FILE] [--build-arg K[=V]]... [--target STAGE] [--platform OS/ARCH]\n\n"
                "Parse a Dockerfile and print its build plan as JSON: the stages the target\n"
                "needs (name, base, platform) and each instruction with its line, flags,\n"
                "arguments after variable substitution, exec form, and heredoc bodies.\n\n"
                "  -f, --file FILE        the Dockerfile (default: ./Dockerfile; '-' reads stdin)\n"
                "      --build-arg K[=V]  set a build argument (K alone takes $K from the environment)\n"
                "      --target STAGE     plan only up to this stage\n"
                "      --platform P       target platform for TARGETPLATFORM and friends\n"
                "  -h, --help             show this help\n");
}

int
runner_cmd_parse (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "file", required_argument, NULL, 'f' },
    { "build-arg", required_argument, NULL, 'a' },
    { "target", required_argument, NULL, 'T' },
    { "platform", required_argument, NULL, 'p' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *file = "Dockerfile";
  cleanup_strv char **build_args = NULL;
  struct builder_plan_opts opts = { 0 };
  cleanup_buf struct hoist_buf text;
  struct hoist_error *err = NULL;
  struct builder_dockerfile *df = NULL;
  struct builder_plan *plan = NULL;
  json_t *json;
  int c;

  hoist_buf_init (&text, BUILDER_DOCKERFILE_MAX);
  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":f:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        file = optarg;
        break;
      case 'a':
        hoist_strv_push (&build_args, optarg);
        break;
      case 'T':
        opts.target = optarg;
        break;
      case 'p':
        opts.platform = optarg;
        break;
      case 'h':
        parse_usage (stdout);
        return HOIST_EXIT_OK;
      case ':':
        return runner_usage_error ("parse", "option '%s' needs a value", argv[optind - 1]);
      default:
        return runner_usage_error ("parse", "unknown option '%s'", argv[optind - 1]);
      }
  if (optind < argc)
    return runner_usage_error ("parse", "unexpected argument '%s'", argv[optind]);
  opts.build_args = build_args;

  if (runner_read_input (file, BUILDER_DOCKERFILE_MAX, &text, &err) < 0)
    return runner_fail_error (err);
  if (builder_dockerfile_parse (strcmp (file, "-") == 0 ? "Dockerfile" : file, text.data, text.len, &df, &err) < 0)
    return runner_fail_error (err);
  if (builder_plan_new (df, &opts, &plan, &err) < 0)
    {
      builder_dockerfile_free (df);
      return runner_fail_error (err);
    }
  json = builder_plan_to_json (plan);
  json_dumpf (json, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  fputc ('\n', stdout);
  json_decref (json);
  builder_plan_free (plan);
  builder_dockerfile_free (df);
  return fflush (stdout) == 0 ? HOIST_EXIT_OK : runner_fail (HOIST_EXIT_FAILURE, "cannot write the plan to standard output");
}
