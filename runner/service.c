/* service.c — what the webhook server and the workers share: the
 * secret, this executable's path, the wake-up of idle workers, and the
 * metrics /metrics shows. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/serve.h"

static const unsigned duration_bounds[RUNNER_DURATION_BUCKETS] = { 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600 };

int
runner_service_init (struct runner_service *svc, const struct runner_config *cfg, struct runner_queue *queue,
                     struct hoist_error **err)
{
  char exe[PATH_MAX];
  ssize_t n;

  memset (svc, 0, sizeof *svc);
  svc->cfg = cfg;
  svc->queue = queue;
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    return hoist_error_set (err, errno, "cannot find hoist's own executable in /proc/self/exe");
  exe[n] = '\0';
  if (hoist_read_secret_file (cfg->secret_file, HOIST_SECRET_MAX, "the webhook secret", &svc->secret, &svc->secret_len,
                              err)
      < 0)
    return hoist_error_hint (err, "put the secret set in GitHub's webhook settings there");
  if (hoist_log_add_secret (svc->secret, err) < 0)
    return -1;
  svc->self_exe = hoist_xstrdup (exe);
  pthread_mutex_init (&svc->lock, NULL);
  pthread_cond_init (&svc->wake, NULL);
  pthread_mutex_init (&svc->git_lock, NULL);
  return 0;
}

void
runner_service_release (struct runner_service *svc)
{
  if (svc->self_exe == NULL)
    {
      free (svc->secret);
      return;
    }
  explicit_bzero (svc->secret, svc->secret_len);
  free (svc->secret);
  free (svc->self_exe);
  pthread_mutex_destroy (&svc->lock);
  pthread_cond_destroy (&svc->wake);
  pthread_mutex_destroy (&svc->git_lock);
  memset (svc, 0, sizeof *svc);
}

void
runner_service_notify (struct runner_service *svc)
{
  pthread_mutex_lock (&svc->lock);
  pthread_cond_signal (&svc->wake);
  pthread_mutex_unlock (&svc->lock);
}

void
runner_metrics_observe_job (struct runner_metrics *m, int64_t ms)
{
  size_t b = 0;

  if (ms < 0)
    ms = 0;
  while (b < RUNNER_DURATION_BUCKETS && (uint64_t) ms > duration_bounds[b] * (uint64_t) 1000)
    b++;
  atomic_fetch_add (&m->duration_bucket[b], 1);
  atomic_fetch_add (&m->duration_count, 1);
  atomic_fetch_add (&m->duration_ms_sum, (uint_fast64_t) ms);
}

static const char *const hook_names[RUNNER_HOOK_RESULT_MAX] = {
  [RUNNER_HOOK_ACCEPTED] = "accepted",       [RUNNER_HOOK_DUPLICATE] = "duplicate",
  [RUNNER_HOOK_SKIPPED] = "skipped",         [RUNNER_HOOK_PING] = "ping",
  [RUNNER_HOOK_IGNORED] = "ignored",         [RUNNER_HOOK_UNAUTHORIZED] = "unauthorized",
  [RUNNER_HOOK_BAD_REQUEST] = "bad_request", [RUNNER_HOOK_NOT_FOUND] = "not_found",
  [RUNNER_HOOK_TOO_LARGE] = "too_large",     [RUNNER_HOOK_UNAVAILABLE] = "unavailable",
};

static void add (struct hoist_buf *b, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* The text's buffer has no limit, so adding cannot fail. */
static void
add (struct hoist_buf *b, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = hoist_buf_vaddf (b, NULL, fmt, ap);
  va_end (ap);
  if (ret < 0)
    abort ();
}

static void
add_jobs (struct hoist_buf *b, const int64_t counts[RUNNER_JOB_STATE_MAX])
{
  add (b, "# HELP hoist_jobs Jobs in the store by state.\n# TYPE hoist_jobs gauge\n");
  for (int s = 0; s < RUNNER_JOB_STATE_MAX; s++)
    add (b, "hoist_jobs{state=\"%s\"} %lld\n", runner_job_state_name (s), (long long) counts[s]);
  add (b, "# HELP hoist_queue_depth Jobs waiting to run.\n# TYPE hoist_queue_depth gauge\n");
  add (b, "hoist_queue_depth %lld\n", (long long) counts[RUNNER_JOB_QUEUED]);
}

static void
add_durations (struct hoist_buf *b, const struct runner_metrics *m)
{
  uint64_t cum = 0;

  add (b, "# HELP hoist_job_duration_seconds Time from a job's start to its end.\n"
          "# TYPE hoist_job_duration_seconds histogram\n");
  for (size_t i = 0; i <= RUNNER_DURATION_BUCKETS; i++)
    {
      cum += atomic_load (&m->duration_bucket[i]);
      if (i < RUNNER_DURATION_BUCKETS)
        add (b, "hoist_job_duration_seconds_bucket{le=\"%u\"} %llu\n", duration_bounds[i], (unsigned long long) cum);
      else
        add (b, "hoist_job_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long) cum);
    }
  add (b, "hoist_job_duration_seconds_sum %.3f\n", (double) atomic_load (&m->duration_ms_sum) / 1000.0);
  add (b, "hoist_job_duration_seconds_count %llu\n", (unsigned long long) atomic_load (&m->duration_count));
}

char *
runner_metrics_text (const struct runner_metrics *m, const int64_t counts[RUNNER_JOB_STATE_MAX])
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  add (&b, "# HELP hoist_webhooks_total Webhook deliveries by what hoist answered.\n"
           "# TYPE hoist_webhooks_total counter\n");
  for (int r = 0; r < RUNNER_HOOK_RESULT_MAX; r++)
    add (&b, "hoist_webhooks_total{result=\"%s\"} %llu\n", hook_names[r],
         (unsigned long long) atomic_load (&m->webhooks[r]));
  add_jobs (&b, counts);
  add_durations (&b, m);
  add (&b,
       "# HELP hoist_pushed_bytes_total Bytes of blobs pushed to registries.\n"
       "# TYPE hoist_pushed_bytes_total counter\nhoist_pushed_bytes_total %llu\n",
       (unsigned long long) atomic_load (&m->bytes_pushed));
  add (&b,
       "# HELP hoist_bumps_total Tag bump commits pushed.\n# TYPE hoist_bumps_total counter\n"
       "hoist_bumps_total %llu\n",
       (unsigned long long) atomic_load (&m->bumps));
  return hoist_buf_detach (&b, NULL);
}
