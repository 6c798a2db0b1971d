/* main.c — `hoist`: subcommand dispatch. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"

static const struct runner_command commands[] = {
  { "bump", "set an image's tag in a kustomization or YAML file, keeping its formatting", runner_cmd_bump },
  { "build", "build an image from a Dockerfile and a context", runner_cmd_build },
  { "images", "list the images in hoist's store", runner_cmd_images },
  { "inspect", "show an image of a registry as JSON", runner_cmd_inspect },
  { "job", "show a job of hoist serve's store (JSON, or --log)", runner_cmd_job },
  { "jobs", "list the jobs of hoist serve's store", runner_cmd_jobs },
  { "login", "store registry credentials in docker's config.json", runner_cmd_login },
  { "logout", "remove registry credentials from docker's config.json", runner_cmd_logout },
  { "parse", "print the build plan of a Dockerfile as JSON", runner_cmd_parse },
  { "pull", "pull an image from a registry into hoist's store", runner_cmd_pull },
  { "push", "push an image to a registry", runner_cmd_push },
  { "serve", "run the webhook server: build, push and bump on every push", runner_cmd_serve },
  { "verify", "check an image's signature with a public key", runner_cmd_verify },
  { "version", "print version, git commit and build date", runner_cmd_version },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "usage: hoist [--help] [--version] COMMAND [ARGS...]\n\n"
                "hoist builds OCI images without a daemon and keeps GitOps manifests up to date.\n\n"
                "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'hoist COMMAND --help' describes one command.\n\n"
                "exit codes:\n"
                "  0  success\n"
                "  1  the command failed (the error says why)\n"
                "  2  usage error: unknown command or flag, missing or bad argument\n"
                "  3  the capability asked for is not built into this version yet\n\n"
                "environment:\n"
                "  HOIST_LOG_LEVEL  error, warn, info (default) or debug\n"
                "  HOIST_HOME       hoist's store and caches (default ~/.local/share/hoist)\n");
}

static void
setup_logging (void)
{
  const char *level = getenv ("HOIST_LOG_LEVEL");
  if (level == NULL)
    return;
  if (strcmp (level, "error") == 0)
    hoist_log_set_level (HOIST_LOG_ERROR);
  else if (strcmp (level, "warn") == 0)
    hoist_log_set_level (HOIST_LOG_WARN);
  else if (strcmp (level, "debug") == 0)
    hoist_log_set_level (HOIST_LOG_DEBUG);
  else
    hoist_log_set_level (HOIST_LOG_INFO);
}

int
main (int argc, char **argv)
{
  int ret;

  ret = runner_askpass (argc, argv);
  if (ret >= 0)
    return ret;
  setup_logging ();
  if (argc < 2)
    {
      print_usage (stderr);
      return HOIST_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return HOIST_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    return runner_cmd_version (1, argv + 1);

  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        ret = commands[i].run (argc - 1, argv + 1);
        hoist_log_shutdown ();
        return ret;
      }

  if (argv[1][0] == '-')
    ret = runner_fail (HOIST_EXIT_USAGE, "unknown option '%s' (see 'hoist --help')", argv[1]);
  else
    ret = runner_fail (HOIST_EXIT_USAGE, "unknown command '%s' (see 'hoist --help')", argv[1]);
  hoist_log_shutdown ();
  return ret;
}
