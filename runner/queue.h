/* queue.h — the durable job store of `hoist serve`: SQLite in WAL mode
 * under the state directory.  A delivery and its job are on disk before
 * the webhook is answered; a job that was running when hoist died goes
 * back to the queue on start.  Part of runner/librunner.a.  Every
 * function is safe to call from several threads at once. */
#ifndef HOIST_RUNNER_QUEUE_H
#define HOIST_RUNNER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/common.h"

enum runner_job_state
{
  RUNNER_JOB_QUEUED,
  RUNNER_JOB_RUNNING,
  RUNNER_JOB_SUCCEEDED,
  RUNNER_JOB_FAILED,
  RUNNER_JOB_SUPERSEDED, /* a newer push to the same branch was queued first */
  RUNNER_JOB_SKIPPED,    /* ran and found nothing to build */
  RUNNER_JOB_STATE_MAX,
};

/* "queued", "running", ... */
const char *runner_job_state_name (enum runner_job_state s);

/* What a push asks for, as the webhook gives it (all strings owned). */
struct runner_job
{
  int64_t id;
  enum runner_job_state state;
  char *delivery; /* X-GitHub-Delivery */
  char *repo;     /* "owner/name" as configured */
  char *ref;      /* "refs/heads/main", "refs/tags/v1.0.0" */
  char *before;   /* 40 hex; all zeros on a new ref */
  char *after;    /* 40 hex */
  bool created;   /* new branch or tag */
  bool forced;
  char *files;                                /* JSON array of the payload's changed paths, NULL when unknown */
  int attempts;                               /* times it was claimed */
  int64_t queued_at, started_at, finished_at; /* ms since the epoch, 0 unset */
  char *result;                               /* one line: what happened, or why it failed */
  char *outputs;                              /* JSON written by the worker (images, digests, bump commit), or NULL */
  char *log_path;                             /* the job's log file, or NULL before it started */
};

void runner_job_release (struct runner_job *job);

/* JOB as a JSON object (a new reference): every field, files and outputs
 * as JSON values (not strings), times in ms and as RFC 3339. */
json_t *runner_job_to_json (const struct runner_job *job);

struct runner_queue;

/* Open (creating) STATE_DIR/hoist.db: WAL, synchronous=FULL, the schema
 * made or checked.  Returns 0 or negative with *ERR. */
int runner_queue_open (const char *state_dir, struct runner_queue **q, struct hoist_error **err) HOIST_WUR;
/* Open an existing store only (for `hoist jobs`): none in STATE_DIR is an
 * error that says so. */
int runner_queue_open_existing (const char *state_dir, struct runner_queue **q, struct hoist_error **err) HOIST_WUR;
void runner_queue_close (struct runner_queue *q);

/* Remember DELIVERY and, when JOB is not NULL, store JOB as queued (its
 * id, state, queued_at set by the store), marking queued jobs of the same
 * repo and ref superseded — all in one durable transaction (callers on
 * several threads share fsyncs: group commit).  Returns 0 when stored (the
 * new job's id in *ID when JOB is not NULL), 1 when DELIVERY was seen
 * before and nothing changed, negative with *ERR. */
int runner_queue_enqueue (struct runner_queue *q, const char *delivery, struct runner_job *job, int64_t *id,
                          struct hoist_error **err) HOIST_WUR;

/* Claim the oldest queued job whose repo and ref has no running job: it
 * becomes running, attempts+1, started_at now.  Returns 1 with *JOB
 * filled, 0 when there is none, negative with *ERR. */
int runner_queue_claim (struct runner_queue *q, struct runner_job *job, struct hoist_error **err) HOIST_WUR;

/* Set a running job's log path (before it writes to it). */
int runner_queue_set_log (struct runner_queue *q, int64_t id, const char *log_path, struct hoist_error **err) HOIST_WUR;

/* Finish job ID with STATE (succeeded, failed, skipped), RESULT (one line)
 * and OUTPUTS (JSON or NULL).  Returns 0 or negative with *ERR. */
int runner_queue_finish (struct runner_queue *q, int64_t id, enum runner_job_state state, const char *result,
                         const char *outputs, struct hoist_error **err) HOIST_WUR;

/* Put a running job back in the queue (on shutdown, the worker stopped). */
int runner_queue_release_job (struct runner_queue *q, int64_t id, struct hoist_error **err) HOIST_WUR;

/* On start: every running job goes back to queued (hoist died under it).
 * *N (may be NULL) gets how many. */
int runner_queue_recover (struct runner_queue *q, int *n, struct hoist_error **err) HOIST_WUR;

/* Job ID into *JOB: 1 found, 0 not, negative with *ERR. */
int runner_queue_get (struct runner_queue *q, int64_t id, struct runner_job *job, struct hoist_error **err) HOIST_WUR;

/* The LIMIT newest jobs, newest first, in *JOBS (malloc'd array of *N,
 * free each with runner_job_release and the array with free). */
int runner_queue_list (struct runner_queue *q, size_t limit, struct runner_job **jobs, size_t *n,
                       struct hoist_error **err) HOIST_WUR;

/* How many jobs are in each state. */
int runner_queue_counts (struct runner_queue *q, int64_t counts[RUNNER_JOB_STATE_MAX],
                         struct hoist_error **err) HOIST_WUR;

/* The commit whose image was last bumped into FILE of REPO on BRANCH for
 * IMAGE (so an older build never overwrites a newer tag): 1 with *SHA
 * (malloc'd), 0 when none, negative with *ERR.  _set records it. */
int runner_queue_last_bump (struct runner_queue *q, const char *repo, const char *branch, const char *image, char **sha,
                            struct hoist_error **err) HOIST_WUR;
int runner_queue_set_last_bump (struct runner_queue *q, const char *repo, const char *branch, const char *image,
                                const char *sha, struct hoist_error **err) HOIST_WUR;

#endif
