/* job.c — the job record shared by the queue, the server and the
 * worker: its states' names and its release. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/queue.h"

static const char *const state_names[RUNNER_JOB_STATE_MAX] = {
  [RUNNER_JOB_QUEUED] = "queued", [RUNNER_JOB_RUNNING] = "running",       [RUNNER_JOB_SUCCEEDED] = "succeeded",
  [RUNNER_JOB_FAILED] = "failed", [RUNNER_JOB_SUPERSEDED] = "superseded", [RUNNER_JOB_SKIPPED] = "skipped",
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

/* A JSON text stored by hoist itself, or null when absent or unreadable. */
static json_t *
stored_json (const char *text)
{
  json_t *v = text != NULL ? json_loads (text, 0, NULL) : NULL;

  return v != NULL ? v : json_null ();
}

static json_t *
time_json (int64_t ms)
{
  time_t t = (time_t) (ms / 1000);
  struct tm tm;
  char s[32];

  if (ms <= 0 || gmtime_r (&t, &tm) == NULL || strftime (s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return json_null ();
  return json_string (s);
}

static json_t *
string_or_null (const char *s)
{
  return s != NULL ? json_string (s) : json_null ();
}

json_t *
runner_job_to_json (const struct runner_job *job)
{
  json_t *o = json_object ();

  json_object_set_new (o, "id", json_integer (job->id));
  json_object_set_new (o, "state", json_string (runner_job_state_name (job->state)));
  json_object_set_new (o, "delivery", string_or_null (job->delivery));
  json_object_set_new (o, "repository", string_or_null (job->repo));
  json_object_set_new (o, "ref", string_or_null (job->ref));
  json_object_set_new (o, "before", string_or_null (job->before));
  json_object_set_new (o, "after", string_or_null (job->after));
  json_object_set_new (o, "created", json_boolean (job->created));
  json_object_set_new (o, "forced", json_boolean (job->forced));
  json_object_set_new (o, "files", stored_json (job->files));
  json_object_set_new (o, "attempts", json_integer (job->attempts));
  json_object_set_new (o, "queued_at", time_json (job->queued_at));
  json_object_set_new (o, "started_at", time_json (job->started_at));
  json_object_set_new (o, "finished_at", time_json (job->finished_at));
  json_object_set_new (o, "duration_ms",
                       job->started_at > 0 && job->finished_at > 0 ? json_integer (job->finished_at - job->started_at)
                                                                   : json_null ());
  json_object_set_new (o, "result", string_or_null (job->result));
  json_object_set_new (o, "outputs", stored_json (job->outputs));
  json_object_set_new (o, "log", string_or_null (job->log_path));
  return o;
}
