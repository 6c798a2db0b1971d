/* job_run.c — one job from claim to end: fetch the commit, find the
 * images its changes touch, build and push each, bump the deploy files,
 * report commit statuses, and record the result in the queue. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runner/job_private.h"
#include "runner/webhook.h"

static int
make_dir (const char *state_dir, const char *sub, char **out, struct hoist_error **err)
{
  char *path = hoist_xasprintf ("%s/%s", state_dir, sub);

  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    {
      int e = errno;
      free (path);
      return hoist_error_set (err, e, "cannot create '%s/%s'", state_dir, sub);
    }
  if (out != NULL)
    *out = path;
  else
    free (path);
  return 0;
}

/* "hoist/api" for "ghcr.io/acme/api". */
static char *
status_context (const struct runner_image *img)
{
  const char *slash = strrchr (img->name, '/');

  return hoist_xasprintf ("hoist/%s", slash != NULL ? slash + 1 : img->name);
}

static bool
is_zero_sha (const char *sha)
{
  return strspn (sha, "0") == strlen (sha);
}

/* The paths the push changed, or NULL with *ALL set when every image
 * counts as changed (a new ref, a forced push, a tag, no list). */
static char **
changed_paths (struct job_ctx *ctx, bool *all)
{
  const struct runner_job *job = ctx->job;
  cleanup_error struct hoist_error *err = NULL;
  char **files = NULL;
  json_t *list, *f;
  size_t i;

  *all = job->created || job->forced || ctx->tag != NULL || is_zero_sha (job->before);
  if (*all)
    return NULL;
  if (job_git_has_commit (&ctx->git, job->before)
      && job_git_changed (&ctx->git, job->before, job->after, &files, &err) == 0)
    return files;
  if (err != NULL)
    job_log_say (&ctx->log, "%s: using the push event's list of paths", err->msg);
  list = job->files != NULL ? json_loads (job->files, 0, NULL) : NULL;
  if (!json_is_array (list))
    {
      json_decref (list);
      *all = true;
      return NULL;
    }
  json_array_foreach (list, i, f)
    if (json_is_string (f))
      hoist_strv_push (&files, json_string_value (f));
  json_decref (list);
  return files;
}

static size_t
pick_images (struct job_ctx *ctx, bool *wanted)
{
  cleanup_strv char **files = NULL;
  bool all;

  files = changed_paths (ctx, &all);
  if (all)
    {
      for (size_t i = 0; i < ctx->repo->n_images; i++)
        wanted[i] = true;
      job_log_say (&ctx->log, "every image is built (new ref, forced push, tag, or no list of changes)");
      return ctx->repo->n_images;
    }
  job_log_say (&ctx->log, "%zu paths changed", hoist_strv_len (files));
  return runner_images_touched (ctx->repo, files, wanted);
}

/* Build, push and bump one image; its entry goes into OUTPUTS. */
static int
do_image (struct job_ctx *ctx, const struct runner_image *img, json_t *outputs, struct hoist_error **err)
{
  cleanup_free char *context = status_context (img);
  cleanup_free char *commit = NULL;
  struct job_image r;
  json_t *o;
  int ret;

  job_status_post (&ctx->status, "pending", context, "building");
  ret = job_build_image (ctx, img, &r, err);
  if (ret == 0)
    {
      atomic_fetch_add (&ctx->svc->metrics.bytes_pushed, (uint_fast64_t) (r.bytes_pushed > 0 ? r.bytes_pushed : 0));
      pthread_mutex_lock (&ctx->svc->git_lock);
      ret = job_bump_image (ctx, &r, &commit, err);
      pthread_mutex_unlock (&ctx->svc->git_lock);
    }
  if (ret < 0)
    {
      job_status_post (&ctx->status, "failure", context, (*err)->msg);
      job_image_release (&r);
      return -1;
    }
  if (commit != NULL)
    atomic_fetch_add (&ctx->svc->metrics.bumps, 1);
  job_status_post (&ctx->status, "success", context, r.tag);
  o = json_pack ("{s:s, s:s, s:s, s:[]}", "image", img->name, "tag", r.tag, "digest", r.digest, "tags");
  for (size_t i = 0; r.tags[i] != NULL; i++)
    json_array_append_new (json_object_get (o, "tags"), json_string (r.tags[i]));
  json_object_set_new (o, "bump", commit != NULL ? json_string (commit) : json_null ());
  json_array_append_new (outputs, o);
  job_image_release (&r);
  return 0;
}

/* Fetch and check out the commit (under the git lock: fetches of one
 * mirror are not run at once). */
static int
checkout (struct job_ctx *ctx, bool *wanted, size_t *n, struct hoist_error **err)
{
  int ret;

  pthread_mutex_lock (&ctx->svc->git_lock);
  ret = job_git_fetch (&ctx->git, ctx->job->ref, ctx->job->after, err);
  ctx->branch_fetched = ret == 0 && ctx->branch != NULL && strcmp (ctx->branch, ctx->deploy_branch) == 0;
  if (ret == 0)
    *n = pick_images (ctx, wanted);
  if (ret == 0 && *n > 0)
    ret = job_git_worktree (&ctx->git, ctx->workdir, ctx->job->after, err);
  if (ret == 0 && *n > 0)
    ret = job_git_commit_time (&ctx->git, ctx->job->after, &ctx->commit_time, err);
  pthread_mutex_unlock (&ctx->svc->git_lock);
  return ret;
}

/* The job's steps; *RESULT and *OUTPUTS get what to record. */
static enum runner_job_state
run_steps (struct job_ctx *ctx, char **result, json_t *outputs)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free bool *wanted = hoist_xcalloc (ctx->repo->n_images + 1, sizeof *wanted);
  size_t n = 0, built = 0, failed = 0;

  if (checkout (ctx, wanted, &n, &err) < 0)
    {
      *result = hoist_xstrdup (err->msg);
      return RUNNER_JOB_FAILED;
    }
  if (n == 0)
    {
      *result = hoist_xstrdup ("no changed path matches an image");
      return RUNNER_JOB_SKIPPED;
    }
  for (size_t i = 0; i < ctx->repo->n_images; i++)
    {
      if (!wanted[i])
        continue;
      if (do_image (ctx, &ctx->repo->images[i], outputs, &err) == 0)
        {
          built++;
          continue;
        }
      job_log_say (&ctx->log, "error: %s", err->msg);
      if (failed++ == 0)
        *result = hoist_xstrdup (err->msg);
      hoist_error_free (err);
      err = NULL;
    }
  pthread_mutex_lock (&ctx->svc->git_lock);
  job_git_worktree_remove (&ctx->git, ctx->workdir);
  pthread_mutex_unlock (&ctx->svc->git_lock);
  if (failed > 0)
    return RUNNER_JOB_FAILED;
  *result = hoist_xasprintf ("built and pushed %zu image%s", built, built == 1 ? "" : "s");
  return RUNNER_JOB_SUCCEEDED;
}

/* Everything a job needs before its steps: directories, token, log. */
static int
job_open (struct job_ctx *ctx, struct runner_service *svc, struct runner_job *job, struct hoist_error **err)
{
  const struct runner_config *cfg = svc->cfg;
  cleanup_free char *logs = NULL, *log_path = NULL;
  char *secrets[3] = { NULL, NULL, NULL };

  ctx->svc = svc;
  ctx->job = job;
  ctx->log.fd = -1;
  ctx->repo = runner_config_repo (cfg, job->repo);
  if (ctx->repo == NULL)
    return hoist_error_set (err, 0, "repository '%s' is no longer configured", job->repo);
  ctx->token_file = ctx->repo->token_file != NULL ? ctx->repo->token_file : cfg->token_file;
  if (make_dir (cfg->state_dir, "logs", &logs, err) < 0 || make_dir (cfg->state_dir, "work", NULL, err) < 0
      || make_dir (cfg->state_dir, "bump", NULL, err) < 0 || make_dir (cfg->state_dir, "repos", NULL, err) < 0
      || (ctx->token_file != NULL
          && hoist_read_secret_file (ctx->token_file, HOIST_SECRET_MAX, "the token", &ctx->token, NULL, err) < 0))
    return -1;
  log_path = hoist_xasprintf ("%s/%lld.log", logs, (long long) job->id);
  if (runner_queue_set_log (svc->queue, job->id, log_path, err) < 0)
    return -1;
  secrets[0] = ctx->token;
  secrets[1] = svc->secret;
  if (job_log_open (&ctx->log, log_path, secrets, err) < 0)
    return -1;
  if (strncmp (job->ref, "refs/heads/", 11) == 0)
    ctx->branch = hoist_xstrdup (job->ref + 11);
  else if (strncmp (job->ref, "refs/tags/", 10) == 0)
    ctx->tag = hoist_xstrdup (job->ref + 10);
  if (ctx->branch == NULL && ctx->repo->deploy_branch == NULL)
    return hoist_error_set (err, 0, "repository '%s' has no deploy_branch for the bumps of '%s'", ctx->repo->name,
                            job->ref);
  ctx->deploy_branch = hoist_xstrdup (ctx->branch != NULL ? ctx->branch : ctx->repo->deploy_branch);
  ctx->workdir = hoist_xasprintf ("%s/work/%lld", cfg->state_dir, (long long) job->id);
  ctx->timeout_ms = cfg->job_timeout > 0 && cfg->job_timeout < 4000000 ? cfg->job_timeout * 1000u : 0;
  job_git_init (&ctx->git, cfg->state_dir, ctx->repo, svc->self_exe, ctx->token != NULL ? ctx->token_file : NULL,
                &ctx->log);
  ctx->git.timeout_ms = ctx->timeout_ms;
  ctx->status = (struct job_status){
    .api = cfg->status_api, .token = ctx->token, .repo = ctx->repo->name, .sha = job->after, .log = &ctx->log
  };
  if (cfg->public_url != NULL)
    ctx->status.target_url = hoist_xasprintf ("%s/jobs/%lld/log", cfg->public_url, (long long) job->id);
  return 0;
}

static void
job_close (struct job_ctx *ctx)
{
  if (ctx->git.env != NULL)
    job_git_release (&ctx->git);
  if (ctx->log.masker != NULL)
    job_log_close (&ctx->log);
  if (ctx->token != NULL)
    explicit_bzero (ctx->token, strlen (ctx->token));
  free (ctx->token);
  free ((char *) ctx->status.target_url);
  free (ctx->workdir);
  free (ctx->branch);
  free (ctx->tag);
  free (ctx->deploy_branch);
}

enum runner_job_state
runner_job_run (struct runner_service *svc, struct runner_job *job)
{
  struct job_ctx ctx = { 0 };
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *result = NULL, *out_text = NULL;
  enum runner_job_state state;
  json_t *outputs = json_array ();
  int64_t start = hoist_now_ms ();

  hoist_log (HOIST_LOG_INFO, "job %lld started: %s %s %.12s (attempt %d)", (long long) job->id, job->repo, job->ref,
             job->after, job->attempts);
  if (job_open (&ctx, svc, job, &err) < 0)
    {
      state = RUNNER_JOB_FAILED;
      result = hoist_xstrdup (err->msg);
    }
  else
    {
      job_log_say (&ctx.log, "job %lld: %s %s at %s (attempt %d)", (long long) job->id, job->repo, job->ref, job->after,
                   job->attempts);
      state = run_steps (&ctx, &result, outputs);
      job_log_say (&ctx.log, "job %s: %s", runner_job_state_name (state), result);
    }
  out_text = json_dumps (outputs, JSON_COMPACT);
  json_decref (outputs);
  hoist_error_free (err);
  err = NULL;
  if (runner_queue_finish (svc->queue, job->id, state, result, out_text, &err) < 0)
    hoist_log (HOIST_LOG_ERROR, "cannot record the end of job %lld: %s", (long long) job->id, err->msg);
  runner_metrics_observe_job (&svc->metrics, hoist_now_ms () - start);
  hoist_log (HOIST_LOG_INFO, "job %lld %s: %s", (long long) job->id, runner_job_state_name (state), result);
  job_close (&ctx);
  return state;
}
