/* test_queue.c — the durable job store: every field kept, deliveries
 * remembered, older queued pushes superseded, one running job per branch,
 * recovery after a crash, many threads at once (group commit), and no
 * acknowledged job lost when the process is killed with SIGKILL. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/queue.h"

#define A "1111111111111111111111111111111111111111"
#define B "2222222222222222222222222222222222222222"

static char *
temp_dir (void)
{
  char tmpl[] = "/tmp/hoist-queue-XXXXXX";
  char *d = mkdtemp (tmpl);

  assert_non_null (d);
  return strdup (d);
}

static void
remove_dir (char *dir)
{
  assert_int_equal (hoist_rmtree_at (AT_FDCWD, dir, NULL), 0);
  free (dir);
}

static struct runner_queue *
open_queue (const char *dir)
{
  struct runner_queue *q = NULL;
  struct hoist_error *err = NULL;

  if (runner_queue_open (dir, &q, &err) < 0)
    fail_msg ("%s", err->msg);
  return q;
}

static int64_t
push (struct runner_queue *q, const char *delivery, const char *repo, const char *ref, const char *after)
{
  struct runner_job job = { .repo = (char *) repo, .ref = (char *) ref, .before = A, .after = (char *) after };
  struct hoist_error *err = NULL;
  int64_t id = 0;
  int ret = runner_queue_enqueue (q, delivery, &job, &id, &err);

  if (ret < 0)
    fail_msg ("%s", err->msg);
  return ret == 1 ? -1 : id;
}

static void
test_round_trip (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct runner_job job = { .repo = "acme/shop",
                            .ref = "refs/heads/main",
                            .before = A,
                            .after = B,
                            .created = true,
                            .forced = true,
                            .files = "[\"api/x.go\"]" };
  struct runner_job got = { 0 };
  struct hoist_error *err = NULL;
  int64_t id = 0;

  assert_int_equal (runner_queue_enqueue (q, "d-1", &job, &id, &err), 0);
  assert_true (id > 0);
  assert_int_equal (runner_queue_get (q, id, &got, &err), 1);
  assert_int_equal (got.state, RUNNER_JOB_QUEUED);
  assert_string_equal (got.delivery, "d-1");
  assert_string_equal (got.repo, "acme/shop");
  assert_string_equal (got.ref, "refs/heads/main");
  assert_string_equal (got.before, A);
  assert_string_equal (got.after, B);
  assert_true (got.created && got.forced);
  assert_string_equal (got.files, "[\"api/x.go\"]");
  assert_int_equal (got.attempts, 0);
  assert_true (got.queued_at > 0);
  assert_null (got.result);
  runner_job_release (&got);
  assert_int_equal (runner_queue_get (q, id + 100, &got, &err), 0);
  runner_queue_close (q);
  remove_dir (dir);
}

static void
test_duplicates (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct hoist_error *err = NULL;
  int64_t counts[RUNNER_JOB_STATE_MAX];

  assert_true (push (q, "d-1", "a/b", "refs/heads/main", B) > 0);
  assert_int_equal (push (q, "d-1", "a/b", "refs/heads/main", B), -1);
  /* A delivery that built nothing is remembered too. */
  assert_int_equal (runner_queue_enqueue (q, "d-skip", NULL, NULL, &err), 0);
  assert_int_equal (runner_queue_enqueue (q, "d-skip", NULL, NULL, &err), 1);
  runner_queue_close (q);
  q = open_queue (dir);
  assert_int_equal (push (q, "d-1", "a/b", "refs/heads/main", B), -1);
  assert_int_equal (runner_queue_enqueue (q, "d-skip", NULL, NULL, &err), 1);
  assert_int_equal (runner_queue_counts (q, counts, &err), 0);
  assert_int_equal (counts[RUNNER_JOB_QUEUED], 1);
  runner_queue_close (q);
  remove_dir (dir);
}

static void
test_supersede_and_claim (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct hoist_error *err = NULL;
  struct runner_job j = { 0 }, k = { 0 }, got = { 0 };
  int64_t first = push (q, "d-1", "a/b", "refs/heads/main", A);
  int64_t other = push (q, "d-2", "a/b", "refs/heads/dev", A);
  int64_t second = push (q, "d-3", "a/b", "refs/heads/main", B);

  assert_int_equal (runner_queue_get (q, first, &got, &err), 1);
  assert_int_equal (got.state, RUNNER_JOB_SUPERSEDED);
  assert_non_null (strstr (got.result, "superseded by job"));
  runner_job_release (&got);
  /* The oldest queued job first: dev, then main's newer push. */
  assert_int_equal (runner_queue_claim (q, &j, &err), 1);
  assert_int_equal (j.id, other);
  assert_int_equal (j.state, RUNNER_JOB_RUNNING);
  assert_int_equal (j.attempts, 1);
  assert_int_equal (runner_queue_claim (q, &k, &err), 1);
  assert_int_equal (k.id, second);
  /* While main's job runs, a newer main push waits; it is not superseded by the running one. */
  int64_t third = push (q, "d-4", "a/b", "refs/heads/main", A);
  assert_int_equal (runner_queue_claim (q, &got, &err), 0);
  assert_int_equal (runner_queue_finish (q, k.id, RUNNER_JOB_SUCCEEDED, "built 1 image", "[]", &err), 0);
  assert_int_equal (runner_queue_claim (q, &got, &err), 1);
  assert_int_equal (got.id, third);
  runner_job_release (&got);
  assert_int_equal (runner_queue_get (q, k.id, &got, &err), 1);
  assert_int_equal (got.state, RUNNER_JOB_SUCCEEDED);
  assert_string_equal (got.result, "built 1 image");
  assert_string_equal (got.outputs, "[]");
  assert_true (got.finished_at >= got.started_at && got.started_at > 0);
  runner_job_release (&got);
  runner_job_release (&j);
  runner_job_release (&k);
  runner_queue_close (q);
  remove_dir (dir);
}

static void
test_recover_release_list (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct hoist_error *err = NULL;
  struct runner_job j = { 0 }, *jobs = NULL;
  size_t n = 0;
  int recovered = -1;
  int64_t counts[RUNNER_JOB_STATE_MAX];

  push (q, "d-1", "a/b", "refs/heads/main", A);
  push (q, "d-2", "c/d", "refs/heads/main", A);
  assert_int_equal (runner_queue_claim (q, &j, &err), 1);
  runner_job_release (&j);
  assert_int_equal (runner_queue_claim (q, &j, &err), 1);
  assert_int_equal (runner_queue_release_job (q, j.id, &err), 0);
  runner_job_release (&j);
  runner_queue_close (q);
  /* "Crash": one job was left running. */
  q = open_queue (dir);
  assert_int_equal (runner_queue_recover (q, &recovered, &err), 0);
  assert_int_equal (recovered, 1);
  assert_int_equal (runner_queue_counts (q, counts, &err), 0);
  assert_int_equal (counts[RUNNER_JOB_QUEUED], 2);
  assert_int_equal (counts[RUNNER_JOB_RUNNING], 0);
  assert_int_equal (runner_queue_list (q, 10, &jobs, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_true (jobs[0].id > jobs[1].id);
  for (size_t i = 0; i < n; i++)
    runner_job_release (&jobs[i]);
  free (jobs);
  runner_queue_close (q);
  remove_dir (dir);
}

static void
test_last_bump (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct hoist_error *err = NULL;
  char *sha = NULL;

  assert_int_equal (runner_queue_last_bump (q, "a/b", "main", "img", &sha, &err), 0);
  assert_int_equal (runner_queue_set_last_bump (q, "a/b", "main", "img", A, &err), 0);
  assert_int_equal (runner_queue_set_last_bump (q, "a/b", "main", "img", B, &err), 0);
  assert_int_equal (runner_queue_last_bump (q, "a/b", "main", "img", &sha, &err), 1);
  assert_string_equal (sha, B);
  free (sha);
  assert_int_equal (runner_queue_last_bump (q, "a/b", "dev", "img", &sha, &err), 0);
  runner_queue_close (q);
  remove_dir (dir);
}

#define THREADS 16
#define PER_THREAD 200

struct worker
{
  struct runner_queue *q;
  int index;
  int stored, duplicates;
};

static void *
enqueue_many (void *p)
{
  struct worker *w = p;

  for (int i = 0; i < PER_THREAD; i++)
    {
      char id[64], ref[64];
      struct runner_job job = { .repo = "a/b", .ref = ref, .before = A, .after = B };
      struct hoist_error *err = NULL;
      int ret;

      snprintf (id, sizeof id, "t%d-%d", w->index, i);
      snprintf (ref, sizeof ref, "refs/heads/b%d-%d", w->index, i);
      ret = runner_queue_enqueue (w->q, id, &job, NULL, &err);
      if (ret == 0)
        w->stored++;
      /* Every thread also replays one shared delivery. */
      snprintf (id, sizeof id, "shared-%d", i);
      ret = runner_queue_enqueue (w->q, id, NULL, NULL, &err);
      if (ret == 1)
        w->duplicates++;
      if (ret < 0)
        hoist_error_free (err);
    }
  return NULL;
}

static void
test_threads (void **state)
{
  char *dir = temp_dir ();
  struct runner_queue *q = open_queue (dir);
  struct worker w[THREADS];
  pthread_t t[THREADS];
  struct hoist_error *err = NULL;
  int64_t counts[RUNNER_JOB_STATE_MAX];
  int stored = 0, dups = 0;

  for (int i = 0; i < THREADS; i++)
    {
      w[i] = (struct worker){ .q = q, .index = i };
      assert_int_equal (pthread_create (&t[i], NULL, enqueue_many, &w[i]), 0);
    }
  for (int i = 0; i < THREADS; i++)
    {
      pthread_join (t[i], NULL);
      stored += w[i].stored;
      dups += w[i].duplicates;
    }
  assert_int_equal (stored, THREADS * PER_THREAD);
  /* Each shared delivery is stored once: all the other tries are duplicates. */
  assert_int_equal (dups, (THREADS - 1) * PER_THREAD);
  assert_int_equal (runner_queue_counts (q, counts, &err), 0);
  assert_int_equal (counts[RUNNER_JOB_QUEUED], THREADS * PER_THREAD);
  runner_queue_close (q);
  remove_dir (dir);
}

/* A child enqueues and reports each acknowledged delivery on a pipe; it
 * is killed mid-run; every delivery it reported must be in the store. */
static void
test_kill_9 (void **state)
{
  char *dir = temp_dir ();
  int fds[2];
  pid_t pid;
  char buf[65536];
  size_t got = 0;
  ssize_t n;
  int acked = 0, status;

  assert_int_equal (pipe (fds), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct runner_queue *q = NULL;
      struct hoist_error *err = NULL;

      close (fds[0]);
      if (runner_queue_open (dir, &q, &err) < 0)
        _exit (2);
      for (int i = 0;; i++)
        {
          char id[32], line[40];
          struct runner_job job = { .repo = "a/b", .ref = "refs/heads/main", .before = A, .after = B };

          snprintf (id, sizeof id, "k-%d", i);
          if (runner_queue_enqueue (q, id, &job, NULL, &err) != 0)
            _exit (3);
          snprintf (line, sizeof line, "%s\n", id);
          if (write (fds[1], line, strlen (line)) < 0)
            _exit (4);
        }
    }
  close (fds[1]);
  /* Let it commit a few hundred, then kill it without warning. */
  while (acked < 200 && (n = read (fds[0], buf + got, sizeof buf - got - 1)) > 0)
    {
      for (ssize_t i = 0; i < n; i++)
        acked += buf[got + (size_t) i] == '\n';
      got += (size_t) n;
    }
  kill (pid, SIGKILL);
  while ((n = read (fds[0], buf + got, sizeof buf - got - 1)) > 0)
    got += (size_t) n;
  buf[got] = '\0';
  close (fds[0]);
  waitpid (pid, &status, 0);
  assert_true (WIFSIGNALED (status));
  {
    struct runner_queue *q = open_queue (dir);
    struct hoist_error *err = NULL;
    int checked = 0;

    for (char *line = buf, *nl; (nl = strchr (line, '\n')) != NULL; line = nl + 1)
      {
        *nl = '\0';
        /* Seen before: the acknowledged delivery is in the store. */
        if (runner_queue_enqueue (q, line, NULL, NULL, &err) != 1)
          fail_msg ("delivery %s was acknowledged and then lost", line);
        checked++;
      }
    assert_true (checked >= 200);
    runner_queue_close (q);
  }
  remove_dir (dir);
}

static void
test_bad_stores (void **state)
{
  char *dir = temp_dir ();
  char path[512];
  struct runner_queue *q = NULL;
  struct hoist_error *err = NULL;
  sqlite3 *db;
  FILE *f;

  /* Nothing there: reading commands say so, and create nothing. */
  assert_true (runner_queue_open_existing (dir, &q, &err) < 0);
  assert_non_null (strstr (err->msg, "no job store in"));
  hoist_error_free (err);
  err = NULL;
  snprintf (path, sizeof path, "%s/hoist.db", dir);
  assert_int_equal (access (path, F_OK), -1);
  /* Not SQLite. */
  f = fopen (path, "w");
  fputs ("this is not a database, just text that is long enough to be a header ........\n", f);
  fclose (f);
  assert_true (runner_queue_open (dir, &q, &err) < 0);
  assert_non_null (strstr (err->msg, "is not a hoist job store"));
  hoist_error_free (err);
  err = NULL;
  unlink (path);
  /* A newer schema. */
  assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
  assert_int_equal (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);
  assert_true (runner_queue_open (dir, &q, &err) < 0);
  assert_non_null (strstr (err->msg, "written by a newer hoist"));
  hoist_error_free (err);
  remove_dir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_duplicates),
    cmocka_unit_test (test_supersede_and_claim),
    cmocka_unit_test (test_recover_release_list),
    cmocka_unit_test (test_last_bump),
    cmocka_unit_test (test_threads),
    cmocka_unit_test (test_kill_9),
    cmocka_unit_test (test_bad_stores),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
