/* job_bump.c — the tag bump: fetch the deploy branch, edit each deploy
 * file of the image in place, commit as hoist's identity, push; a
 * rejected push (someone pushed meanwhile) is refetched and the edit
 * redone, a bounded number of times with growing waits.  Idempotent (no
 * commit when the files hold the tag) and ordered (a build of an older
 * commit never replaces the tag of a newer one). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/bump.h"
#include "runner/job_private.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 3000

static char *
short_sha (const char *sha)
{
  return hoist_xstrndup (sha, 7);
}

char *
job_commit_message (const struct job_ctx *ctx, const char *tmpl, const struct job_image *r, const char *file)
{
  cleanup_free char *sha7 = short_sha (ctx->job->after);
  const char *vars[][2] = {
    { "image", r->img->name },        { "tag", r->tag },     { "digest", r->digest },
    { "sha", ctx->job->after },       { "short_sha", sha7 }, { "repo", ctx->repo->name },
    { "branch", ctx->deploy_branch }, { "file", file },
  };
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (const char *p = tmpl; *p != '\0';)
    {
      const char *close = *p == '{' ? strchr (p, '}') : NULL;
      bool done = false;

      for (size_t i = 0; close != NULL && !done && i < sizeof vars / sizeof vars[0]; i++)
        if ((size_t) (close - p - 1) == strlen (vars[i][0]) && strncmp (p + 1, vars[i][0], strlen (vars[i][0])) == 0)
          {
            if (hoist_buf_addstr (&b, vars[i][1] != NULL ? vars[i][1] : "", NULL) < 0)
              abort ();
            p = close + 1;
            done = true;
          }
      if (!done && hoist_buf_addch (&b, *p++, NULL) < 0)
        abort ();
    }
  return hoist_buf_detach (&b, NULL);
}

/* FILE of the bump work tree DIR, resolved inside it. */
static int
deploy_path (const char *dir, const char *file, char **out, struct hoist_error **err)
{
  cleanup_free char *joined = hoist_xasprintf ("%s/%s", dir, file);
  char root[PATH_MAX], real[PATH_MAX];
  size_t n;

  if (realpath (dir, root) == NULL)
    return hoist_error_set (err, errno, "cannot resolve '%s'", dir);
  if (realpath (joined, real) == NULL)
    return hoist_error_set (err, errno, "deploy file '%s' is not on the branch", file);
  n = strlen (root);
  if (strncmp (real, root, n) != 0 || real[n] != '/')
    return hoist_error_set (err, 0, "deploy file '%s' leads outside the repository (a symlink?)", file);
  *out = hoist_xstrdup (real);
  return 0;
}

/* Edit one deploy file for R; *CHANGED says whether it was written. */
static int
edit_deploy (const char *dir, const struct runner_deploy *d, const struct job_image *r, bool *changed,
             struct hoist_error **err)
{
  cleanup_free char *path = NULL, *text = NULL, *value = NULL;
  cleanup_buf struct hoist_buf b;
  size_t len = 0;
  int ret;

  hoist_buf_init (&b, RUNNER_BUMP_MAX_BYTES);
  if (deploy_path (dir, d->file, &path, err) < 0 || hoist_buf_read_file (&b, path, err) < 0)
    return -1;
  if (d->kind == RUNNER_DEPLOY_KUSTOMIZE)
    {
      struct runner_bump_image bi = {
        .name = d->image != NULL ? d->image : r->img->name,
        .new_name = d->new_name,
        .new_tag = r->tag,
        .digest = d->pin_digest ? r->digest : NULL,
      };
      ret = runner_bump_kustomization (b.data != NULL ? b.data : "", b.len, &bi, &text, &len, changed, err);
    }
  else
    {
      value = d->pin_digest ? hoist_xasprintf ("%s@%s", r->tag, r->digest) : hoist_xstrdup (r->tag);
      ret = runner_bump_yaml (b.data != NULL ? b.data : "", b.len, d->key, value, &text, &len, changed, err);
    }
  if (ret < 0)
    return hoist_error_wrap (err, "cannot edit '%s'", d->file);
  if (*changed && runner_bump_write_file (path, text, len, err) < 0)
    return -1;
  return 0;
}

/* Whether a newer commit's image is already deployed: the last commit
 * bumped for this image descends from the one this job built. */
static bool
newer_deployed (struct job_ctx *ctx, const struct job_image *r)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *last = NULL;
  const char *sha = ctx->job->after;

  if (runner_queue_last_bump (ctx->svc->queue, ctx->repo->name, ctx->deploy_branch, r->img->name, &last, &err) <= 0
      || strcmp (last, sha) == 0 || !job_git_has_commit (&ctx->git, last))
    return false;
  if (!job_git_is_ancestor (&ctx->git, sha, last))
    return false;
  job_log_say (&ctx->log, "not bumping %s: commit %.12s, newer than %.12s, is already deployed", r->img->name, last,
               sha);
  return true;
}

/* One try: edits on a fresh copy of the branch, commit, push.  The first
 * try of a branch push starts from the branch as the job fetched it a
 * moment ago; if it moved since, the push is rejected and the next try
 * fetches.  Returns 0 pushed (or nothing to push: *COMMIT NULL), 1
 * rejected, -1 failed. */
static int
bump_once (struct job_ctx *ctx, const struct job_image *r, const char *dir, bool fetch, char **commit,
           struct hoist_error **err)
{
  const struct runner_config *cfg = ctx->svc->cfg;
  cleanup_free char *ref = hoist_xasprintf ("refs/heads/%s", ctx->deploy_branch);
  cleanup_free char *local = hoist_xasprintf ("refs/hoist/heads/%s", ctx->deploy_branch);
  cleanup_free char *msg = NULL, *name = NULL, *email = NULL, *dest = NULL;
  cleanup_buf struct hoist_buf out;
  bool any = false;
  int code;

  hoist_buf_init (&out, 64 * 1024);
  if ((fetch && job_git_fetch (&ctx->git, ref, NULL, err) < 0) || job_git_worktree (&ctx->git, dir, local, err) < 0)
    return -1;
  for (size_t i = 0; i < r->img->n_deploy; i++)
    {
      bool changed = false;

      if (edit_deploy (dir, &r->img->deploy[i], r, &changed, err) < 0)
        return -1;
      any |= changed;
      if (changed && job_git (&ctx->git, dir, NULL, err, "add", "--", r->img->deploy[i].file, NULL) != 0)
        return hoist_error_set (err, 0, "cannot stage '%s'", r->img->deploy[i].file);
    }
  if (!any)
    {
      job_log_say (&ctx->log, "deploy files of %s already hold %s", r->img->name, r->tag);
      return 0;
    }
  msg = job_commit_message (ctx, ctx->repo->commit_message != NULL ? ctx->repo->commit_message : cfg->commit_message, r,
                            r->img->deploy[0].file);
  name = hoist_xasprintf ("user.name=%s", cfg->git_name);
  email = hoist_xasprintf ("user.email=%s", cfg->git_email);
  code = job_git (&ctx->git, dir, NULL, err, "-c", name, "-c", email, "commit", "--quiet", "--no-verify", "-m", msg,
                  NULL);
  if (code != 0)
    return code < 0 ? -1 : hoist_error_set (err, 0, "cannot commit the bump (git commit exited %d)", code);
  dest = hoist_xasprintf ("HEAD:%s", ref);
  code = job_git (&ctx->git, dir, &out, err, "push", "--porcelain", "--", ctx->git.url, dest, NULL);
  if (code < 0)
    return -1;
  if (code != 0)
    {
      if (out.len > 0 && hoist_buf_addch (&out, '\0', NULL) == 0 && strstr (out.data, "[rejected]") != NULL)
        return 1;
      return hoist_error_set (err, 0, "cannot push the bump to '%s' (git push exited %d)", ctx->deploy_branch, code);
    }
  hoist_buf_reset (&out);
  if (job_git (&ctx->git, dir, &out, err, "rev-parse", "HEAD", NULL) != 0 || out.len < 40)
    return hoist_error_set (err, 0, "cannot read the bump commit's id");
  *commit = hoist_xstrndup (out.data, 40);
  /* The branch moved (by this push): the next bump fetches it. */
  ctx->branch_fetched = false;
  return 0;
}

static void
backoff (unsigned attempt)
{
  unsigned ms = BACKOFF_FIRST_MS << (attempt < 5 ? attempt : 5);
  struct timespec ts;

  if (ms > BACKOFF_MAX_MS)
    ms = BACKOFF_MAX_MS;
  ms += (unsigned) (rand () % 100);
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long) (ms % 1000) * 1000000L;
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
job_bump_image (struct job_ctx *ctx, const struct job_image *r, char **commit, struct hoist_error **err)
{
  const struct runner_config *cfg = ctx->svc->cfg;
  cleanup_free char *dir = hoist_xasprintf ("%s/bump/%lld", cfg->state_dir, (long long) ctx->job->id);
  unsigned tries = cfg->bump_retries > 0 ? cfg->bump_retries : 1;
  int ret = 1;

  *commit = NULL;
  if (r->img->n_deploy == 0 || newer_deployed (ctx, r))
    return 0;
  for (unsigned attempt = 0; attempt < tries && ret == 1; attempt++)
    {
      if (attempt > 0)
        {
          job_log_say (&ctx->log, "the push of the bump was rejected (the branch moved): fetching and redoing it");
          backoff (attempt);
        }
      ret = bump_once (ctx, r, dir, attempt > 0 || !ctx->branch_fetched, commit, err);
    }
  job_git_worktree_remove (&ctx->git, dir);
  if (ret == 1)
    return hoist_error_set (err, 0, "the bump of %s was rejected %u times: '%s' moves too fast", r->img->name, tries,
                            ctx->deploy_branch);
  if (ret < 0)
    return -1;
  if (runner_queue_set_last_bump (ctx->svc->queue, ctx->repo->name, ctx->deploy_branch, r->img->name, ctx->job->after,
                                  err)
      < 0)
    return -1;
  if (*commit != NULL)
    job_log_say (&ctx->log, "bumped %s to %s in commit %.12s on %s", r->img->name, r->tag, *commit, ctx->deploy_branch);
  return 0;
}
