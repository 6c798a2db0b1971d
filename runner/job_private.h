/* job_private.h — the parts of a job (job_*.c, git.c, status.c): its
 * log, git through argv vectors, commit statuses.  Private to the runner
 * library. */
#ifndef HOIST_RUNNER_JOB_PRIVATE_H
#define HOIST_RUNNER_JOB_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "common/common.h"
#include "runner/pipeline.h"
#include "runner/queue.h"
#include "runner/serve.h"

/* ---- job_log.c: the job's log file, secrets masked as it is written ---- */

struct job_log
{
  int fd;
  struct hoist_masker *masker;
  pthread_mutex_t lock;
};

/* Open (appending) PATH; SECRETS (NULL-terminated, entries may be NULL)
 * are masked in everything written. */
int job_log_open (struct job_log *log, const char *path, char *const *secrets, struct hoist_error **err) HOIST_WUR;
void job_log_close (struct job_log *log);
/* A line of hoist's own: "hh:mm:ss message". */
void job_log_say (struct job_log *log, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* Run ARGV (environment ENVP, in CWD) with its stderr — and its stdout
 * unless OUT is given, which captures it (up to OUT's limit) — in the
 * log; TIMEOUT_MS bounds it (0: none).  Returns 0 when it ran (*RES says
 * how it ended), negative with *ERR when it could not run or timed out. */
int job_log_run (struct job_log *log, char *const *argv, char *const *envp, const char *cwd, unsigned timeout_ms,
                 struct hoist_buf *out, struct hoist_spawn_result *res, struct hoist_error **err) HOIST_WUR;

/* ---- git.c: git through argv vectors ----------------------------------- */

struct job_git
{
  const char *mirror; /* bare repository: STATE_DIR/repos/OWNER/NAME.git */
  const char *url;    /* the remote, never with credentials in it */
  char **env;         /* GIT_ASKPASS and friends; owned */
  struct job_log *log;
  unsigned timeout_ms;
};

/* Set up G for REPO: the mirror's path under STATE_DIR, an environment
 * without the user's git configuration (no hooks, no credential helpers,
 * no prompts) whose GIT_ASKPASS is SELF_EXE answering with TOKEN_FILE's
 * token (NULL: none). */
void job_git_init (struct job_git *g, const char *state_dir, const struct runner_repo *repo, const char *self_exe,
                   const char *token_file, struct job_log *log);
void job_git_release (struct job_git *g);

/* git ARGS... in the mirror (CWD NULL) or in the work tree CWD; stdout in
 * OUT when given.  Returns git's exit code (0 success), or negative with
 * *ERR when git could not run. */
int job_git (struct job_git *g, const char *cwd, struct hoist_buf *out, struct hoist_error **err, ...)
    __attribute__ ((sentinel)) HOIST_WUR;

/* The mirror exists (git init --bare) and holds REF fetched from the
 * remote into refs/hoist/REF-NAME and commit SHA (fetched by id when the
 * ref moved on).  Refs and ids with control bytes are refused. */
int job_git_fetch (struct job_git *g, const char *ref, const char *sha, struct hoist_error **err) HOIST_WUR;
/* Whether commit SHA is in the mirror. */
bool job_git_has_commit (struct job_git *g, const char *sha);
/* The paths that differ between commits BEFORE and AFTER (a string
 * vector, NULL when none). */
int job_git_changed (struct job_git *g, const char *before, const char *after, char ***files,
                     struct hoist_error **err) HOIST_WUR;
/* The committer time of SHA, seconds since the epoch. */
int job_git_commit_time (struct job_git *g, const char *sha, int64_t *t, struct hoist_error **err) HOIST_WUR;
/* A detached work tree of SHA at DIR (a stale one there is removed). */
int job_git_worktree (struct job_git *g, const char *dir, const char *sha, struct hoist_error **err) HOIST_WUR;
void job_git_worktree_remove (struct job_git *g, const char *dir);
/* Whether ANCESTOR is an ancestor of (or equal to) DESCENDANT. */
bool job_git_is_ancestor (struct job_git *g, const char *ancestor, const char *descendant);

/* ---- status.c: GitHub commit statuses --------------------------------- */

struct job_status
{
  const char *api;   /* "https://api.github.com"; NULL or "": off */
  const char *token; /* NULL: off */
  const char *repo;  /* "owner/name" */
  const char *sha;
  const char *target_url; /* the job's log, or NULL */
  struct job_log *log;
};

/* POST {api}/repos/{repo}/statuses/{sha}: STATE (pending, success,
 * failure, error) for CONTEXT.  A failure is logged, never fatal. */
void job_status_post (const struct job_status *s, const char *state, const char *context, const char *description);

/* ---- job_build.c, job_bump.c ----------------------------------------- */

/* What one job works with. */
struct job_ctx
{
  struct runner_service *svc;
  struct runner_job *job;
  const struct runner_repo *repo;
  struct job_log log;
  struct job_git git;
  struct job_status status;
  char *token;         /* the repository's token, or NULL */
  char *token_file;    /* borrowed from the configuration */
  char *workdir;       /* the commit's work tree */
  char *branch;        /* the pushed branch, or NULL on a tag push */
  char *tag;           /* the pushed tag, or NULL */
  char *deploy_branch; /* where bumps go */
  int64_t commit_time;
  bool branch_fetched; /* refs/hoist/heads/DEPLOY_BRANCH is as fetched by this job */
  unsigned timeout_ms; /* what is left of the job's time */
};

/* What building an image gave. */
struct job_image
{
  const struct runner_image *img;
  char **tags;  /* full references pushed: "host/repo:tag" */
  char *tag;    /* the first tag: the one deploy files get */
  char *digest; /* of the image (index) pushed */
  int64_t bytes_pushed;
};

void job_image_release (struct job_image *r);

/* Build IMG at the job's commit and push it with its tags. */
int job_build_image (struct job_ctx *ctx, const struct runner_image *img, struct job_image *out,
                     struct hoist_error **err) HOIST_WUR;

/* Commit R's tag into IMG's deploy files on the deploy branch and push,
 * refetching and redoing the edit when the push is rejected.  *COMMIT gets
 * the commit pushed (NULL when the files already held it or a newer
 * commit's image is deployed). */
int job_bump_image (struct job_ctx *ctx, const struct job_image *r, char **commit, struct hoist_error **err) HOIST_WUR;

/* Expand the commit message template TMPL for R ({image} {tag} {digest}
 * {sha} {short_sha} {repo} {branch} {file}). */
char *job_commit_message (const struct job_ctx *ctx, const char *tmpl, const struct job_image *r, const char *file);

#endif
