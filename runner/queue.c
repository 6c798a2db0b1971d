/* queue.c — the durable job store: SQLite in WAL mode with
 * synchronous=FULL, so a commit is on disk when it returns.
 *
 * Locking: one connection, used under Q->lock by every function (a
 * transaction of several statements must not interleave with another
 * thread's).  Enqueues share commits ("group commit"): a caller adds its
 * delivery to Q->pending under Q->gc_lock; when no commit is under way it
 * becomes the leader, takes the whole pending list, commits it in one
 * transaction (one fsync), marks each entry done and wakes the others; a
 * caller whose entry is not done waits on Q->gc_done.  An entry lives on
 * its caller's stack, which waits until the leader is through with it. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner/queue.h"

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 10000

static const char schema[] = "CREATE TABLE IF NOT EXISTS deliveries ("
                             "  id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, job_id INTEGER) WITHOUT ROWID;"
                             "CREATE TABLE IF NOT EXISTS jobs ("
                             "  id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, delivery TEXT,"
                             "  repo TEXT NOT NULL, ref TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,"
                             "  created INTEGER NOT NULL DEFAULT 0, forced INTEGER NOT NULL DEFAULT 0, files TEXT,"
                             "  attempts INTEGER NOT NULL DEFAULT 0, queued_at INTEGER NOT NULL,"
                             "  started_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0,"
                             "  result TEXT, outputs TEXT, log_path TEXT);"
                             "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, repo, ref);"
                             "CREATE TABLE IF NOT EXISTS last_bumps ("
                             "  repo TEXT NOT NULL, branch TEXT NOT NULL, image TEXT NOT NULL, sha TEXT NOT NULL,"
                             "  at INTEGER NOT NULL, PRIMARY KEY (repo, branch, image)) WITHOUT ROWID;"
                             "PRAGMA user_version = 1;";

/* One enqueue waiting for its commit. */
struct pending
{
  const char *delivery;
  struct runner_job *job;
  struct pending *next;
  bool done;
  int ret;     /* 0 stored, 1 duplicate, -1 failed */
  int64_t id;  /* the job's id */
  char *error; /* when ret is -1 */
};

struct runner_queue
{
  sqlite3 *db;
  char *path;
  pthread_mutex_t lock;
  pthread_mutex_t gc_lock;
  pthread_cond_t gc_done;
  struct pending *pending, **pending_tail;
  bool committing;
};

static int
db_error (struct runner_queue *q, struct hoist_error **err, const char *what)
{
  return hoist_error_set (err, 0, "job store '%s': cannot %s: %s", q->path, what, sqlite3_errmsg (q->db));
}

static int
exec (struct runner_queue *q, const char *sql, const char *what, struct hoist_error **err)
{
  if (sqlite3_exec (q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_error (q, err, what);
  return 0;
}

static int
prepare (struct runner_queue *q, const char *sql, sqlite3_stmt **st, struct hoist_error **err)
{
  if (sqlite3_prepare_v2 (q->db, sql, -1, st, NULL) != SQLITE_OK)
    return db_error (q, err, "prepare a statement");
  return 0;
}

static void
bind_text (sqlite3_stmt *st, int i, const char *s)
{
  if (s != NULL)
    sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

/* Run ST to its end (it returns no rows); finalizes it. */
static int
step_done (struct runner_queue *q, sqlite3_stmt *st, const char *what, struct hoist_error **err)
{
  int rc = sqlite3_step (st);

  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (q, err, what);
  return 0;
}

static int
check_schema (struct runner_queue *q, struct hoist_error **err)
{
  sqlite3_stmt *st = NULL;
  int version, rc;

  if (sqlite3_prepare_v2 (q->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK
      || (rc = sqlite3_step (st)) != SQLITE_ROW)
    {
      hoist_error_set (err, 0, "'%s' is not a hoist job store: %s (hint: move it away; hoist makes a new one)", q->path,
                       sqlite3_errmsg (q->db));
      sqlite3_finalize (st);
      return -1;
    }
  version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  if (version > SCHEMA_VERSION)
    return hoist_error_set (err, 0,
                            "job store '%s' was written by a newer hoist (schema %d, this one knows %d) "
                            "(hint: run that hoist, or move the store away)",
                            q->path, version, SCHEMA_VERSION);
  return 0;
}

static void
queue_free (struct runner_queue *q)
{
  if (q == NULL)
    return;
  sqlite3_close (q->db);
  pthread_mutex_destroy (&q->lock);
  pthread_mutex_destroy (&q->gc_lock);
  pthread_cond_destroy (&q->gc_done);
  free (q->path);
  free (q);
}

static int
queue_open (const char *state_dir, bool create, struct runner_queue **out, struct hoist_error **err)
{
  struct runner_queue *q = hoist_xcalloc (1, sizeof *q);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  struct stat st;

  pthread_mutex_init (&q->lock, NULL);
  pthread_mutex_init (&q->gc_lock, NULL);
  pthread_cond_init (&q->gc_done, NULL);
  q->pending_tail = &q->pending;
  q->path = hoist_xasprintf ("%s/hoist.db", state_dir);
  if (!create && stat (q->path, &st) < 0)
    {
      hoist_error_set (err, 0, "no job store in '%s' (hint: the state_dir of hoist.yml, where 'hoist serve' runs)",
                       state_dir);
      queue_free (q);
      return -1;
    }
  if (create && mkdir (state_dir, 0700) < 0 && errno != EEXIST)
    {
      hoist_error_set (err, errno, "cannot create the state directory '%s'", state_dir);
      queue_free (q);
      return -1;
    }
  if (sqlite3_open_v2 (q->path, &q->db, flags, NULL) != SQLITE_OK)
    {
      hoist_error_set (err, 0, "cannot open the job store '%s': %s", q->path,
                       q->db != NULL ? sqlite3_errmsg (q->db) : "out of memory");
      queue_free (q);
      return -1;
    }
  sqlite3_busy_timeout (q->db, BUSY_TIMEOUT_MS);
  if (check_schema (q, err) < 0 || exec (q, "PRAGMA journal_mode=WAL", "switch to WAL", err) < 0
      || exec (q, "PRAGMA synchronous=FULL", "set synchronous", err) < 0
      || (create && exec (q, schema, "create the schema", err) < 0))
    {
      queue_free (q);
      return -1;
    }
  *out = q;
  return 0;
}

int
runner_queue_open (const char *state_dir, struct runner_queue **q, struct hoist_error **err)
{
  return queue_open (state_dir, true, q, err);
}

int
runner_queue_open_existing (const char *state_dir, struct runner_queue **q, struct hoist_error **err)
{
  return queue_open (state_dir, false, q, err);
}

void
runner_queue_close (struct runner_queue *q)
{
  queue_free (q);
}

/* ---------------------------------------------------------------------
 * Enqueue: group commit
 * ------------------------------------------------------------------- */

/* Supersede queued jobs of the same repo and ref older than ID. */
static int
supersede (struct runner_queue *q, const struct runner_job *job, int64_t id, int64_t now, struct hoist_error **err)
{
  sqlite3_stmt *st;
  cleanup_free char *why = hoist_xasprintf ("superseded by job %lld, a newer push", (long long) id);

  if (prepare (q,
               "UPDATE jobs SET state = 'superseded', result = ?1, finished_at = ?2 "
               "WHERE state = 'queued' AND repo = ?3 AND ref = ?4 AND id < ?5",
               &st, err)
      < 0)
    return -1;
  bind_text (st, 1, why);
  sqlite3_bind_int64 (st, 2, now);
  bind_text (st, 3, job->repo);
  bind_text (st, 4, job->ref);
  sqlite3_bind_int64 (st, 5, id);
  return step_done (q, st, "supersede older jobs", err);
}

static int
insert_job (struct runner_queue *q, const char *delivery, const struct runner_job *job, int64_t now, int64_t *id,
            struct hoist_error **err)
{
  sqlite3_stmt *st;

  if (prepare (q,
               "INSERT INTO jobs (state, delivery, repo, ref, before, after, created, forced, files, queued_at) "
               "VALUES ('queued', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
               &st, err)
      < 0)
    return -1;
  bind_text (st, 1, delivery);
  bind_text (st, 2, job->repo);
  bind_text (st, 3, job->ref);
  bind_text (st, 4, job->before);
  bind_text (st, 5, job->after);
  sqlite3_bind_int (st, 6, job->created);
  sqlite3_bind_int (st, 7, job->forced);
  bind_text (st, 8, job->files);
  sqlite3_bind_int64 (st, 9, now);
  if (step_done (q, st, "store the job", err) < 0)
    return -1;
  *id = sqlite3_last_insert_rowid (q->db);
  return 0;
}

/* One entry of a batch: 0 stored, 1 duplicate, -1 error. */
static int
store_one (struct runner_queue *q, struct pending *p, int64_t now, struct hoist_error **err)
{
  sqlite3_stmt *st;

  if (prepare (q, "INSERT OR IGNORE INTO deliveries (id, received_at) VALUES (?1, ?2)", &st, err) < 0)
    return -1;
  bind_text (st, 1, p->delivery);
  sqlite3_bind_int64 (st, 2, now);
  if (step_done (q, st, "record the delivery", err) < 0)
    return -1;
  if (sqlite3_changes (q->db) == 0)
    return 1;
  if (p->job == NULL)
    return 0;
  if (insert_job (q, p->delivery, p->job, now, &p->id, err) < 0 || supersede (q, p->job, p->id, now, err) < 0)
    return -1;
  if (prepare (q, "UPDATE deliveries SET job_id = ?1 WHERE id = ?2", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, p->id);
  bind_text (st, 2, p->delivery);
  return step_done (q, st, "link the delivery to its job", err);
}

/* Commit BATCH in one transaction; each entry's ret says how it went. */
static void
commit_batch (struct runner_queue *q, struct pending *batch)
{
  cleanup_error struct hoist_error *err = NULL;
  int64_t now = hoist_now_ms ();
  int ret = 0;

  pthread_mutex_lock (&q->lock);
  ret = exec (q, "BEGIN IMMEDIATE", "begin a transaction", &err);
  for (struct pending *p = batch; ret == 0 && p != NULL; p = p->next)
    {
      p->ret = store_one (q, p, now, &err);
      ret = p->ret < 0 ? -1 : 0;
    }
  if (ret == 0)
    ret = exec (q, "COMMIT", "commit", &err);
  if (ret < 0)
    {
      sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
      for (struct pending *p = batch; p != NULL; p = p->next)
        {
          p->ret = -1;
          p->error = hoist_xstrdup (err != NULL ? err->msg : "the commit failed");
        }
    }
  pthread_mutex_unlock (&q->lock);
}

int
runner_queue_enqueue (struct runner_queue *q, const char *delivery, struct runner_job *job, int64_t *id,
                      struct hoist_error **err)
{
  struct pending me = { .delivery = delivery, .job = job };

  pthread_mutex_lock (&q->gc_lock);
  *q->pending_tail = &me;
  q->pending_tail = &me.next;
  while (!me.done)
    {
      struct pending *batch;

      if (q->committing)
        {
          pthread_cond_wait (&q->gc_done, &q->gc_lock);
          continue;
        }
      /* Lead: commit everything pending, this entry among it. */
      batch = q->pending;
      q->pending = NULL;
      q->pending_tail = &q->pending;
      q->committing = true;
      pthread_mutex_unlock (&q->gc_lock);
      commit_batch (q, batch);
      pthread_mutex_lock (&q->gc_lock);
      for (struct pending *p = batch, *next; p != NULL; p = next)
        {
          next = p->next;
          p->done = true;
        }
      q->committing = false;
      pthread_cond_broadcast (&q->gc_done);
    }
  pthread_mutex_unlock (&q->gc_lock);
  if (me.ret < 0)
    {
      hoist_error_set (err, 0, "%s", me.error);
      free (me.error);
      return -1;
    }
  if (me.ret == 0 && job != NULL)
    {
      job->id = me.id;
      job->state = RUNNER_JOB_QUEUED;
      if (id != NULL)
        *id = me.id;
    }
  return me.ret;
}

/* ---------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------- */

#define JOB_COLUMNS                                                                                                    \
  "id, state, delivery, repo, ref, before, after, created, forced, files, attempts, queued_at, started_at, "           \
  "finished_at, result, outputs, log_path"

static char *
column_text (sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text (st, i);

  return s != NULL ? hoist_xstrdup ((const char *) s) : NULL;
}

static enum runner_job_state
state_from_name (const char *name)
{
  for (int s = 0; s < RUNNER_JOB_STATE_MAX; s++)
    if (name != NULL && strcmp (name, runner_job_state_name (s)) == 0)
      return s;
  return RUNNER_JOB_FAILED;
}

/* The row ST stands on (selected with JOB_COLUMNS) into *JOB. */
static void
read_job (sqlite3_stmt *st, struct runner_job *job)
{
  const char *state = (const char *) sqlite3_column_text (st, 1);

  memset (job, 0, sizeof *job);
  job->id = sqlite3_column_int64 (st, 0);
  job->state = state_from_name (state);
  job->delivery = column_text (st, 2);
  job->repo = column_text (st, 3);
  job->ref = column_text (st, 4);
  job->before = column_text (st, 5);
  job->after = column_text (st, 6);
  job->created = sqlite3_column_int (st, 7) != 0;
  job->forced = sqlite3_column_int (st, 8) != 0;
  job->files = column_text (st, 9);
  job->attempts = sqlite3_column_int (st, 10);
  job->queued_at = sqlite3_column_int64 (st, 11);
  job->started_at = sqlite3_column_int64 (st, 12);
  job->finished_at = sqlite3_column_int64 (st, 13);
  job->result = column_text (st, 14);
  job->outputs = column_text (st, 15);
  job->log_path = column_text (st, 16);
}

/* Job ID into *JOB, Q->lock held: 1 found, 0 not, -1 error. */
static int
get_locked (struct runner_queue *q, int64_t id, struct runner_job *job, struct hoist_error **err)
{
  sqlite3_stmt *st;
  int rc;

  if (prepare (q, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    read_job (st, job);
  sqlite3_finalize (st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  return db_error (q, err, "read a job");
}

int
runner_queue_get (struct runner_queue *q, int64_t id, struct runner_job *job, struct hoist_error **err)
{
  int ret;

  pthread_mutex_lock (&q->lock);
  ret = get_locked (q, id, job, err);
  pthread_mutex_unlock (&q->lock);
  return ret;
}

static int
claim_locked (struct runner_queue *q, struct runner_job *job, struct hoist_error **err)
{
  sqlite3_stmt *st;
  int64_t id;
  int rc;

  if (prepare (q,
               "SELECT id FROM jobs AS j WHERE state = 'queued' AND NOT EXISTS (SELECT 1 FROM jobs AS r "
               "WHERE r.state = 'running' AND r.repo = j.repo AND r.ref = j.ref) ORDER BY id LIMIT 1",
               &st, err)
      < 0)
    return -1;
  rc = sqlite3_step (st);
  id = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
  sqlite3_finalize (st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return db_error (q, err, "look for a queued job");
  if (prepare (q,
               "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?1, finished_at = 0 "
               "WHERE id = ?2",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, hoist_now_ms ());
  sqlite3_bind_int64 (st, 2, id);
  if (step_done (q, st, "claim a job", err) < 0)
    return -1;
  return get_locked (q, id, job, err);
}

int
runner_queue_claim (struct runner_queue *q, struct runner_job *job, struct hoist_error **err)
{
  int ret;

  pthread_mutex_lock (&q->lock);
  ret = exec (q, "BEGIN IMMEDIATE", "begin a transaction", err);
  if (ret == 0)
    ret = claim_locked (q, job, err);
  if (ret >= 0 && exec (q, "COMMIT", "commit the claim", err) < 0)
    {
      if (ret == 1)
        runner_job_release (job);
      ret = -1;
    }
  if (ret < 0)
    sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock (&q->lock);
  return ret;
}

/* An UPDATE of one job: SQL with ?1 the job id and ?2.. TEXTS. */
static int
update_job (struct runner_queue *q, const char *sql, int64_t id, const char *const *texts, size_t n, int64_t t,
            const char *what, struct hoist_error **err)
{
  sqlite3_stmt *st;
  int ret;

  pthread_mutex_lock (&q->lock);
  ret = prepare (q, sql, &st, err);
  if (ret == 0)
    {
      sqlite3_bind_int64 (st, 1, id);
      for (size_t i = 0; i < n; i++)
        bind_text (st, (int) i + 2, texts[i]);
      if (t != 0)
        sqlite3_bind_int64 (st, (int) n + 2, t);
      ret = step_done (q, st, what, err);
    }
  pthread_mutex_unlock (&q->lock);
  return ret;
}

int
runner_queue_set_log (struct runner_queue *q, int64_t id, const char *log_path, struct hoist_error **err)
{
  const char *texts[] = { log_path };

  return update_job (q, "UPDATE jobs SET log_path = ?2 WHERE id = ?1", id, texts, 1, 0, "record the job's log", err);
}

int
runner_queue_finish (struct runner_queue *q, int64_t id, enum runner_job_state state, const char *result,
                     const char *outputs, struct hoist_error **err)
{
  const char *texts[] = { runner_job_state_name (state), result, outputs };

  return update_job (q, "UPDATE jobs SET state = ?2, result = ?3, outputs = ?4, finished_at = ?5 WHERE id = ?1", id,
                     texts, 3, hoist_now_ms (), "record the end of a job", err);
}

int
runner_queue_release_job (struct runner_queue *q, int64_t id, struct hoist_error **err)
{
  return update_job (q, "UPDATE jobs SET state = 'queued', started_at = 0 WHERE id = ?1 AND state = 'running'", id,
                     NULL, 0, 0, "put a job back in the queue", err);
}

int
runner_queue_recover (struct runner_queue *q, int *n, struct hoist_error **err)
{
  int ret;

  pthread_mutex_lock (&q->lock);
  ret = exec (q, "UPDATE jobs SET state = 'queued', started_at = 0 WHERE state = 'running'",
              "put running jobs back in the queue", err);
  if (ret == 0 && n != NULL)
    *n = sqlite3_changes (q->db);
  pthread_mutex_unlock (&q->lock);
  return ret;
}

int
runner_queue_list (struct runner_queue *q, size_t limit, struct runner_job **jobs, size_t *n, struct hoist_error **err)
{
  sqlite3_stmt *st;
  int rc = SQLITE_DONE;

  *jobs = NULL;
  *n = 0;
  pthread_mutex_lock (&q->lock);
  if (prepare (q, "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT ?1", &st, err) < 0)
    {
      pthread_mutex_unlock (&q->lock);
      return -1;
    }
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) limit);
  *jobs = hoist_xcalloc (limit > 0 ? limit : 1, sizeof **jobs);
  while (*n < limit && (rc = sqlite3_step (st)) == SQLITE_ROW)
    read_job (st, &(*jobs)[(*n)++]);
  sqlite3_finalize (st);
  pthread_mutex_unlock (&q->lock);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  for (size_t i = 0; i < *n; i++)
    runner_job_release (&(*jobs)[i]);
  free (*jobs);
  *jobs = NULL;
  *n = 0;
  return hoist_error_set (err, 0, "job store '%s': cannot list jobs", q->path);
}

int
runner_queue_counts (struct runner_queue *q, int64_t counts[RUNNER_JOB_STATE_MAX], struct hoist_error **err)
{
  sqlite3_stmt *st;
  int rc;

  memset (counts, 0, sizeof (int64_t) * RUNNER_JOB_STATE_MAX);
  pthread_mutex_lock (&q->lock);
  if (prepare (q, "SELECT state, count(*) FROM jobs GROUP BY state", &st, err) < 0)
    {
      pthread_mutex_unlock (&q->lock);
      return -1;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    counts[state_from_name ((const char *) sqlite3_column_text (st, 0))] += sqlite3_column_int64 (st, 1);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    rc = db_error (q, err, "count jobs");
  else
    rc = 0;
  pthread_mutex_unlock (&q->lock);
  return rc;
}

/* ---------------------------------------------------------------------
 * The last commit bumped per image
 * ------------------------------------------------------------------- */

int
runner_queue_last_bump (struct runner_queue *q, const char *repo, const char *branch, const char *image, char **sha,
                        struct hoist_error **err)
{
  sqlite3_stmt *st;
  int rc, ret;

  *sha = NULL;
  pthread_mutex_lock (&q->lock);
  ret = prepare (q, "SELECT sha FROM last_bumps WHERE repo = ?1 AND branch = ?2 AND image = ?3", &st, err);
  if (ret == 0)
    {
      bind_text (st, 1, repo);
      bind_text (st, 2, branch);
      bind_text (st, 3, image);
      rc = sqlite3_step (st);
      if (rc == SQLITE_ROW)
        *sha = column_text (st, 0);
      ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error (q, err, "read the last bump");
      sqlite3_finalize (st);
    }
  pthread_mutex_unlock (&q->lock);
  return ret;
}

int
runner_queue_set_last_bump (struct runner_queue *q, const char *repo, const char *branch, const char *image,
                            const char *sha, struct hoist_error **err)
{
  sqlite3_stmt *st;
  int ret;

  pthread_mutex_lock (&q->lock);
  ret = prepare (q, "INSERT OR REPLACE INTO last_bumps (repo, branch, image, sha, at) VALUES (?1, ?2, ?3, ?4, ?5)", &st,
                 err);
  if (ret == 0)
    {
      bind_text (st, 1, repo);
      bind_text (st, 2, branch);
      bind_text (st, 3, image);
      bind_text (st, 4, sha);
      sqlite3_bind_int64 (st, 5, hoist_now_ms ());
      ret = step_done (q, st, "record the last bump", err);
    }
  pthread_mutex_unlock (&q->lock);
  return ret;
}
