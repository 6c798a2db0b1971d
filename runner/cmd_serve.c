/* cmd_serve.c — `hoist serve --config hoist.yml`: the webhook server and
 * its workers until SIGTERM or SIGINT, then a drain: no new webhooks or
 * jobs, running jobs finish (or go back to the queue after
 * --drain-timeout).  `--check` validates the configuration and exits. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/pipeline.h"
#include "runner/queue.h"
#include "runner/runner.h"
#include "runner/serve.h"

#define DRAIN_TIMEOUT_DEFAULT 60

static void
serve_usage (FILE *out)
{
  fprintf (out, "usage: hoist serve --config FILE [OPTIONS]\n\n"
                "Receive GitHub push webhooks, build and push the images the changes touch,\n"
                "and commit their new tags into the repository's deploy files.\n\n"
                "  -c, --config FILE            the configuration (hoist.yml; see deploy/hoist.yml)\n"
                "      --check                  validate the configuration, name every error, and exit\n"
                "      --listen ADDR            listen on ADDR (host:port) instead of the config's\n"
                "      --drain-timeout SECONDS  on SIGTERM, wait this long for running jobs (default 60);\n"
                "                               jobs still running go back to the queue\n"
                "  -h, --help                   show this help\n\n"
                "Endpoints: POST /webhook, GET /health, /metrics, /jobs, /jobs/ID, /jobs/ID/log.\n");
}

static int
mkdir_p (const char *path, struct hoist_error **err)
{
  cleanup_free char *p = hoist_xstrdup (path);

  for (char *s = p + 1; *s != '\0'; s++)
    if (*s == '/')
      {
        *s = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
          return hoist_error_set (err, errno, "cannot create '%s'", p);
        *s = '/';
      }
  if (mkdir (p, 0700) < 0 && errno != EEXIST)
    return hoist_error_set (err, errno, "cannot create the state directory '%s'", p);
  return 0;
}

static int
check_config (const char *path, const struct runner_config *cfg)
{
  size_t images = 0;

  for (size_t i = 0; i < cfg->n_repos; i++)
    images += cfg->repos[i].n_images;
  printf ("%s: ok (%zu repositor%s, %zu image%s)\n", path, cfg->n_repos, cfg->n_repos == 1 ? "y" : "ies", images,
          images == 1 ? "" : "s");
  return HOIST_EXIT_OK;
}

/* Run until a signal; the signals are blocked in every thread and taken
 * here with sigwait. */
static int
serve (const struct runner_config *cfg, const char *listen, unsigned drain_timeout)
{
  struct runner_service svc;
  struct runner_queue *q = NULL;
  struct runner_http *http = NULL;
  struct runner_workers *workers = NULL;
  struct hoist_error *err = NULL;
  unsigned port = 0;
  sigset_t set;
  int sig = 0, recovered = 0;

  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);
  if (mkdir_p (cfg->state_dir, &err) < 0 || runner_queue_open (cfg->state_dir, &q, &err) < 0)
    return runner_fail_error (err);
  if (runner_queue_recover (q, &recovered, &err) < 0 || runner_service_init (&svc, cfg, q, &err) < 0)
    {
      runner_queue_close (q);
      return runner_fail_error (err);
    }
  if (recovered > 0)
    hoist_log (HOIST_LOG_WARN, "%d job%s running when hoist stopped: queued again", recovered,
               recovered == 1 ? " was" : "s were");
  if (runner_http_start (&svc, listen, &http, &port, &err) < 0 || runner_workers_start (&svc, &workers, &err) < 0)
    {
      runner_http_stop (http);
      runner_service_release (&svc);
      runner_queue_close (q);
      return runner_fail_error (err);
    }
  hoist_log (HOIST_LOG_INFO, "listening on %s (port %u), %zu repositor%s, %u worker%s, state in %s", listen, port,
             cfg->n_repos, cfg->n_repos == 1 ? "y" : "ies", cfg->concurrency, cfg->concurrency == 1 ? "" : "s",
             cfg->state_dir);
  while (sigwait (&set, &sig) != 0)
    ;
  hoist_log (HOIST_LOG_INFO, "%s: draining (no new jobs; running jobs get %u s)", strsignal (sig), drain_timeout);
  pthread_mutex_lock (&svc.lock);
  svc.draining = true;
  pthread_mutex_unlock (&svc.lock);
  runner_workers_drain (workers, drain_timeout);
  runner_http_stop (http);
  runner_service_release (&svc);
  runner_queue_close (q);
  hoist_log (HOIST_LOG_INFO, "stopped");
  return HOIST_EXIT_OK;
}

int
runner_cmd_serve (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
    { "listen", required_argument, NULL, 'l' }, { "drain-timeout", required_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  const char *config = NULL, *listen = NULL;
  struct runner_config cfg;
  struct hoist_error *err = NULL;
  unsigned long drain = DRAIN_TIMEOUT_DEFAULT;
  bool check = false;
  int c, ret;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":c:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        config = optarg;
        break;
      case 'k':
        check = true;
        break;
      case 'l':
        listen = optarg;
        break;
      case 'd':
        {
          char *end;

          errno = 0;
          drain = strtoul (optarg, &end, 10);
          if (errno != 0 || *optarg == '\0' || *end != '\0' || drain > 86400)
            return runner_usage_error ("serve", "--drain-timeout takes seconds (0 to 86400), not '%s'", optarg);
          break;
        }
      case 'h':
        serve_usage (stdout);
        return HOIST_EXIT_OK;
      case ':':
        return runner_usage_error ("serve", "'%s' needs a value", argv[optind - 1]);
      default:
        return runner_usage_error ("serve", "unknown flag '%s'", argv[optind - 1]);
      }
  if (optind != argc)
    return runner_usage_error ("serve", "unexpected argument '%s'", argv[optind]);
  if (config == NULL)
    return runner_usage_error ("serve", "--config FILE is required");
  if (runner_config_load (config, &cfg, &err) < 0)
    return runner_fail_error (err);
  if (check)
    ret = check_config (config, &cfg);
  else
    {
      hoist_log_set_timestamps (true);
      ret = serve (&cfg, listen != NULL ? listen : cfg.listen, (unsigned) drain);
    }
  runner_config_release (&cfg);
  return ret;
}
