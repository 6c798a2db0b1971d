/* serve.h — `hoist serve`: the webhook server (libmicrohttpd), the
 * workers that run jobs from the queue, and what they share (the
 * service: configuration, queue, secrets, metrics).  Part of
 * runner/librunner.a. */
#ifndef HOIST_RUNNER_SERVE_H
#define HOIST_RUNNER_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "runner/pipeline.h"
#include "runner/queue.h"

/* What the webhook answered, for /metrics. */
enum runner_webhook_result
{
  RUNNER_HOOK_ACCEPTED,     /* 202: a job queued */
  RUNNER_HOOK_DUPLICATE,    /* 200: the delivery was seen before */
  RUNNER_HOOK_SKIPPED,      /* 200: nothing to build */
  RUNNER_HOOK_PING,         /* 200 */
  RUNNER_HOOK_IGNORED,      /* 200: an event other than push */
  RUNNER_HOOK_UNAUTHORIZED, /* 401 */
  RUNNER_HOOK_BAD_REQUEST,  /* 400 */
  RUNNER_HOOK_NOT_FOUND,    /* 404: repository not configured */
  RUNNER_HOOK_TOO_LARGE,    /* 413 */
  RUNNER_HOOK_UNAVAILABLE,  /* 503: draining or the store failed */
  RUNNER_HOOK_RESULT_MAX,
};

/* Upper bounds (seconds) of the job duration histogram's buckets. */
#define RUNNER_DURATION_BUCKETS 10

struct runner_metrics
{
  atomic_uint_fast64_t webhooks[RUNNER_HOOK_RESULT_MAX];
  atomic_uint_fast64_t duration_bucket[RUNNER_DURATION_BUCKETS + 1]; /* the last is +Inf */
  atomic_uint_fast64_t duration_count;
  atomic_uint_fast64_t duration_ms_sum;
  atomic_uint_fast64_t bytes_pushed;
  atomic_uint_fast64_t bumps;
};

/* Count a job that took MS milliseconds. */
void runner_metrics_observe_job (struct runner_metrics *m, int64_t ms);
/* The Prometheus text exposition of M and the queue's COUNTS (malloc'd). */
char *runner_metrics_text (const struct runner_metrics *m, const int64_t counts[RUNNER_JOB_STATE_MAX]);

/* Everything the server and the workers share.  CFG and QUEUE are
 * borrowed; the rest is owned and released by runner_service_release. */
struct runner_service
{
  const struct runner_config *cfg;
  struct runner_queue *queue;
  char *secret; /* the webhook secret */
  size_t secret_len;
  char *self_exe; /* this hoist binary: runs builds and answers GIT_ASKPASS */
  struct runner_metrics metrics;

  /* Workers wait on WAKE for a job; DRAINING stops claims and webhooks. */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool draining;
  unsigned running;
  /* Held for fetches into a mirror and for bumps, so two jobs of one
   * repository never lock the same ref at once (builds run without it). */
  pthread_mutex_t git_lock;
};

/* Read the webhook secret from CFG's secret_file (one line; trailing
 * whitespace dropped) and find this executable.  Returns 0 or negative
 * with *ERR. */
int runner_service_init (struct runner_service *svc, const struct runner_config *cfg, struct runner_queue *queue,
                         struct hoist_error **err) HOIST_WUR;
void runner_service_release (struct runner_service *svc);
/* Wake a worker: a job was queued. */
void runner_service_notify (struct runner_service *svc);

/* The HTTP server. */
struct runner_http;
/* Listen on LISTEN ("host:port"; port 0 picks one) and answer with SVC.
 * *PORT gets the port bound. */
int runner_http_start (struct runner_service *svc, const char *listen, struct runner_http **http, unsigned *port,
                       struct hoist_error **err) HOIST_WUR;
void runner_http_stop (struct runner_http *http);

/* The workers: CFG->concurrency threads claiming jobs. */
struct runner_workers;
int runner_workers_start (struct runner_service *svc, struct runner_workers **w, struct hoist_error **err) HOIST_WUR;
/* Stop claiming; wait up to TIMEOUT_S for running jobs, then put the
 * ones still running back in the queue and return (their children die
 * with the process). */
void runner_workers_drain (struct runner_workers *w, unsigned timeout_s);

/* Run one claimed JOB to its end (job_run.c): fetch, build, push, bump,
 * statuses; the job's log goes to STATE_DIR/logs/ID.log.  Sets the job's
 * final state in the queue.  Returns the state it finished in. */
enum runner_job_state runner_job_run (struct runner_service *svc, struct runner_job *job);

#endif
