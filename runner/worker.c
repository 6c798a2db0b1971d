/* worker.c — the threads that take jobs from the queue and run them,
 * and their drain on shutdown. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/serve.h"

/* An idle worker looks at the queue this often even without a wake-up
 * (a job a retry put back, a claim blocked by a running job that ended). */
#define IDLE_POLL_MS 1000

struct runner_workers
{
  struct runner_service *svc;
  pthread_t *threads;
  size_t n;
  int64_t *current; /* the job each thread runs, 0 when idle (under svc->lock) */
};

struct worker_arg
{
  struct runner_workers *w;
  size_t index;
};

static void
wait_for_work (struct runner_service *svc)
{
  struct timespec until;

  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_nsec += (long) IDLE_POLL_MS * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock (&svc->lock);
  if (!svc->draining)
    pthread_cond_timedwait (&svc->wake, &svc->lock, &until);
  pthread_mutex_unlock (&svc->lock);
}

/* Claim a job unless draining.  1 claimed, 0 none (or draining), -1 error. */
static int
claim (struct runner_workers *w, size_t index, struct runner_job *job)
{
  struct runner_service *svc = w->svc;
  cleanup_error struct hoist_error *err = NULL;
  int ret;

  pthread_mutex_lock (&svc->lock);
  if (svc->draining)
    {
      pthread_mutex_unlock (&svc->lock);
      return 0;
    }
  ret = runner_queue_claim (svc->queue, job, &err);
  if (ret == 1)
    {
      w->current[index] = job->id;
      svc->running++;
    }
  pthread_mutex_unlock (&svc->lock);
  if (ret < 0)
    hoist_log (HOIST_LOG_ERROR, "cannot claim a job: %s", err->msg);
  return ret;
}

static void *
worker_main (void *p)
{
  struct worker_arg *a = p;
  struct runner_workers *w = a->w;
  struct runner_service *svc = w->svc;
  size_t index = a->index;

  free (a);
  for (;;)
    {
      struct runner_job job = { 0 };
      bool draining;
      int ret;

      pthread_mutex_lock (&svc->lock);
      draining = svc->draining;
      pthread_mutex_unlock (&svc->lock);
      if (draining)
        break;
      ret = claim (w, index, &job);
      if (ret <= 0)
        {
          wait_for_work (svc);
          continue;
        }
      runner_job_run (svc, &job);
      runner_job_release (&job);
      pthread_mutex_lock (&svc->lock);
      w->current[index] = 0;
      svc->running--;
      /* A job of the same branch may wait for this one to end. */
      pthread_cond_broadcast (&svc->wake);
      pthread_mutex_unlock (&svc->lock);
    }
  return NULL;
}

int
runner_workers_start (struct runner_service *svc, struct runner_workers **out, struct hoist_error **err)
{
  struct runner_workers *w = hoist_xcalloc (1, sizeof *w);
  size_t n = svc->cfg->concurrency > 0 ? svc->cfg->concurrency : 1;

  w->svc = svc;
  w->threads = hoist_xcalloc (n, sizeof *w->threads);
  w->current = hoist_xcalloc (n, sizeof *w->current);
  for (size_t i = 0; i < n; i++)
    {
      struct worker_arg *a = hoist_xmalloc (sizeof *a);
      int e;

      a->w = w;
      a->index = i;
      e = pthread_create (&w->threads[i], NULL, worker_main, a);
      if (e != 0)
        {
          free (a);
          runner_workers_drain (w, 0);
          return hoist_error_set (err, e, "cannot start worker threads");
        }
      w->n++;
    }
  *out = w;
  return 0;
}

/* Jobs still running after the drain go back to the queue: the next
 * start runs them again (a bump already pushed is not pushed twice). */
static void
release_running (struct runner_workers *w)
{
  for (size_t i = 0; i < w->n; i++)
    {
      cleanup_error struct hoist_error *err = NULL;
      int64_t id = w->current[i];

      if (id == 0)
        continue;
      if (runner_queue_release_job (w->svc->queue, id, &err) < 0)
        hoist_log (HOIST_LOG_ERROR, "cannot put job %lld back in the queue: %s", (long long) id, err->msg);
      else
        hoist_log (HOIST_LOG_WARN, "job %lld was still running: back in the queue", (long long) id);
    }
}

void
runner_workers_drain (struct runner_workers *w, unsigned timeout_s)
{
  struct runner_service *svc = w->svc;
  struct timespec until;
  bool left;

  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += timeout_s;
  pthread_mutex_lock (&svc->lock);
  svc->draining = true;
  pthread_cond_broadcast (&svc->wake);
  while (svc->running > 0)
    if (pthread_cond_timedwait (&svc->wake, &svc->lock, &until) == ETIMEDOUT)
      break;
  left = svc->running > 0;
  if (left)
    release_running (w);
  pthread_mutex_unlock (&svc->lock);
  if (left)
    return; /* the threads die with the process; their jobs are queued again */
  for (size_t i = 0; i < w->n; i++)
    pthread_join (w->threads[i], NULL);
  free (w->threads);
  free (w->current);
  free (w);
}
