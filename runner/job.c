/* job.c — the job record shared by the queue, the server and the
 * worker: its states' names and its release. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runner/queue.h"

static const char *const state_names[RUNNER_JOB_STATE_MAX] = {
  [RUNNER_JOB_QUEUED] = "queued",         [RUNNER_JOB_RUNNING] = "running",
  [RUNNER_JOB_SUCCEEDED] = "succeeded",   [RUNNER_JOB_FAILED] = "failed",
  [RUNNER_JOB_SUPERSEDED] = "superseded", [RUNNER_JOB_SKIPPED] = "skipped",
};

const char *
runner_job_state_name (enum runner_job_state s)
{
  if ((unsigned) s >= RUNNER_JOB_STATE_MAX)
    return "unknown";
  return state_names[s];
}

void
runner_job_release (struct runner_job *job)
{
  free (job->delivery);
  free (job->repo);
  free (job->ref);
  free (job->before);
  free (job->after);
  free (job->files);
  free (job->result);
  free (job->outputs);
  free (job->log_path);
  memset (job, 0, sizeof *job);
}
