/* cmd_jobs.c — `hoist jobs` and `hoist job ID`: what the job store of
 * `hoist serve` holds, read without a server (the store is SQLite; a
 * running server and these commands share it safely). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/pipeline.h"
#include "runner/queue.h"
#include "runner/runner.h"

#define LIST_DEFAULT 20
#define LIST_MAX 10000

static void
jobs_usage (FILE *out)
{
  fprintf (out, "usage: hoist jobs [--config FILE | --state-dir DIR] [--limit N] [--json]\n"
                "       hoist job [--config FILE | --state-dir DIR] [--log] ID\n\n"
                "List the newest jobs of hoist serve's store, or show one (as JSON, or its log).\n\n"
                "  -c, --config FILE            the state directory hoist.yml names\n"
                "      --state-dir DIR          the state directory (default $HOIST_STATE_DIR, else\n"
                "                               /var/lib/hoist)\n"
                "  -n, --limit N                how many jobs (default 20)\n"
                "      --json                   the jobs as a JSON array\n"
                "      --log                    hoist job: print the job's log\n"
                "  -h, --help                   show this help\n");
}

struct jobs_flags
{
  const char *config;
  const char *state_dir;
  size_t limit;
  bool json;
  bool log;
};

static int
parse_flags (const char *cmd, int argc, char **argv, struct jobs_flags *f)
{
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },
    { "state-dir", required_argument, NULL, 's' },
    { "limit", required_argument, NULL, 'n' },
    { "json", no_argument, NULL, 'j' },
    { "log", no_argument, NULL, 'L' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  f->limit = LIST_DEFAULT;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":c:n:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        f->config = optarg;
        break;
      case 's':
        f->state_dir = optarg;
        break;
      case 'n':
        {
          char *end;
          unsigned long v;

          errno = 0;
          v = strtoul (optarg, &end, 10);
          if (errno != 0 || *optarg == '\0' || *end != '\0' || v == 0 || v > LIST_MAX)
            return runner_usage_error (cmd, "--limit takes 1 to %d, not '%s'", LIST_MAX, optarg);
          f->limit = v;
          break;
        }
      case 'j':
        f->json = true;
        break;
      case 'L':
        f->log = true;
        break;
      case 'h':
        jobs_usage (stdout);
        return -1;
      case ':':
        return runner_usage_error (cmd, "'%s' needs a value", argv[optind - 1]);
      default:
        return runner_usage_error (cmd, "unknown flag '%s'", argv[optind - 1]);
      }
  if (f->config != NULL && f->state_dir != NULL)
    return runner_usage_error (cmd, "--config and --state-dir are one or the other");
  return 0;
}

/* The store the flags name. */
static int
open_store (const struct jobs_flags *f, struct runner_queue **q)
{
  struct hoist_error *err = NULL;
  const char *dir = f->state_dir;
  struct runner_config cfg = { 0 };
  int ret;

  if (f->config != NULL)
    {
      if (runner_config_load (f->config, &cfg, &err) < 0)
        return runner_fail_error (err);
      dir = cfg.state_dir;
    }
  if (dir == NULL)
    dir = getenv ("HOIST_STATE_DIR");
  if (dir == NULL)
    dir = "/var/lib/hoist";
  ret = runner_queue_open_existing (dir, q, &err);
  runner_config_release (&cfg);
  if (ret < 0)
    return runner_fail_error (err);
  return 0;
}

static void
print_json (json_t *doc)
{
  char *text = json_dumps (doc, JSON_INDENT (2) | JSON_ENSURE_ASCII);

  printf ("%s\n", text != NULL ? text : "null");
  free (text);
  json_decref (doc);
}

/* "3m ago", "2h ago", "5d ago". */
static void
age (int64_t ms, char *out, size_t n)
{
  int64_t s = (int64_t) time (NULL) - ms / 1000;

  if (ms <= 0)
    snprintf (out, n, "-");
  else if (s < 120)
    snprintf (out, n, "%llds ago", (long long) (s < 0 ? 0 : s));
  else if (s < 7200)
    snprintf (out, n, "%lldm ago", (long long) (s / 60));
  else if (s < 172800)
    snprintf (out, n, "%lldh ago", (long long) (s / 3600));
  else
    snprintf (out, n, "%lldd ago", (long long) (s / 86400));
}

static void
print_table (const struct runner_job *jobs, size_t n)
{
  printf ("%-6s %-10s %-24s %-20s %-8s %-9s %-8s %s\n", "ID", "STATE", "REPOSITORY", "REF", "COMMIT", "QUEUED", "TOOK",
          "RESULT");
  for (size_t i = 0; i < n; i++)
    {
      const struct runner_job *j = &jobs[i];
      const char *ref = j->ref != NULL && strncmp (j->ref, "refs/heads/", 11) == 0 ? j->ref + 11 : j->ref;
      char when[32], took[32] = "-";

      age (j->queued_at, when, sizeof when);
      if (j->started_at > 0 && j->finished_at >= j->started_at)
        snprintf (took, sizeof took, "%.1fs", (double) (j->finished_at - j->started_at) / 1000.0);
      printf ("%-6lld %-10s %-24s %-20s %-8.7s %-9s %-8s %s\n", (long long) j->id, runner_job_state_name (j->state),
              j->repo, ref != NULL ? ref : "-", j->after != NULL ? j->after : "-", when, took,
              j->result != NULL ? j->result : "");
    }
}

int
runner_cmd_jobs (int argc, char **argv)
{
  struct jobs_flags f = { 0 };
  struct hoist_error *err = NULL;
  struct runner_queue *q = NULL;
  struct runner_job *jobs = NULL;
  size_t n = 0;
  int ret = parse_flags ("jobs", argc, argv, &f);

  if (ret != 0)
    return ret < 0 ? HOIST_EXIT_OK : ret;
  if (optind != argc)
    return runner_usage_error ("jobs", "unexpected argument '%s'", argv[optind]);
  ret = open_store (&f, &q);
  if (ret != 0)
    return ret;
  if (runner_queue_list (q, f.limit, &jobs, &n, &err) < 0)
    {
      runner_queue_close (q);
      return runner_fail_error (err);
    }
  if (f.json)
    {
      json_t *a = json_array ();

      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, runner_job_to_json (&jobs[i]));
      print_json (a);
    }
  else
    print_table (jobs, n);
  for (size_t i = 0; i < n; i++)
    runner_job_release (&jobs[i]);
  free (jobs);
  runner_queue_close (q);
  return HOIST_EXIT_OK;
}

static int
print_log (const struct runner_job *job)
{
  cleanup_fclose FILE *in = NULL;
  char buf[8192];
  size_t n;

  if (job->log_path == NULL)
    return runner_fail (HOIST_EXIT_FAILURE, "job %lld has not started: it has no log yet", (long long) job->id);
  in = fopen (job->log_path, "re");
  if (in == NULL)
    return runner_fail (HOIST_EXIT_FAILURE, "cannot open the log of job %lld '%s': %s", (long long) job->id,
                        job->log_path, strerror (errno));
  while ((n = fread (buf, 1, sizeof buf, in)) > 0)
    fwrite (buf, 1, n, stdout);
  return HOIST_EXIT_OK;
}

int
runner_cmd_job (int argc, char **argv)
{
  struct jobs_flags f = { 0 };
  struct hoist_error *err = NULL;
  struct runner_queue *q = NULL;
  struct runner_job job = { 0 };
  char *end;
  long long id;
  int ret = parse_flags ("job", argc, argv, &f), found;

  if (ret != 0)
    return ret < 0 ? HOIST_EXIT_OK : ret;
  if (optind + 1 != argc)
    return runner_usage_error ("job", optind == argc ? "which job? give its ID" : "one job ID at a time");
  errno = 0;
  id = strtoll (argv[optind], &end, 10);
  if (errno != 0 || *end != '\0' || id <= 0)
    return runner_usage_error ("job", "'%s' is not a job ID", argv[optind]);
  ret = open_store (&f, &q);
  if (ret != 0)
    return ret;
  found = runner_queue_get (q, id, &job, &err);
  runner_queue_close (q);
  if (found < 0)
    return runner_fail_error (err);
  if (found == 0)
    return runner_fail (HOIST_EXIT_FAILURE, "no job %lld in the store (hint: 'hoist jobs' lists them)", id);
  if (f.log)
    ret = print_log (&job);
  else
    {
      print_json (runner_job_to_json (&job));
      ret = HOIST_EXIT_OK;
    }
  runner_job_release (&job);
  return ret;
}
