/* job_build.c — one image of a job: its tags from the templates, then
 * `hoist build --push` run as a child process (a build that crashes
 * fails its job, never the server), with SOURCE_DATE_EPOCH at the commit
 * time and the source, ref and revision for labels and provenance. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/job_private.h"

/* What the serve process passes on to a build: registry credentials,
 * hoist's store, proxies, TLS trust, logging. */
static const char *const build_env_pass[] = {
  "PATH",          "HOME",         "DOCKER_CONFIG",   "REGISTRY_AUTH_FILE", "HOIST_HOME",  "TMPDIR",
  "SSL_CERT_FILE", "SSL_CERT_DIR", "HOIST_LOG_LEVEL", "HTTP_PROXY",         "HTTPS_PROXY", "NO_PROXY",
  "http_proxy",    "https_proxy",  "no_proxy",        "XDG_RUNTIME_DIR",
};

void
job_image_release (struct job_image *r)
{
  hoist_strv_free (r->tags);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

static char **
build_env (const struct job_ctx *ctx)
{
  char **env = NULL;

  for (size_t i = 0; i < sizeof build_env_pass / sizeof build_env_pass[0]; i++)
    {
      const char *v = getenv (build_env_pass[i]);

      if (v != NULL)
        hoist_strv_push_take (&env, hoist_xasprintf ("%s=%s", build_env_pass[i], v));
    }
  if (getenv ("HOIST_HOME") == NULL)
    hoist_strv_push_take (&env, hoist_xasprintf ("HOIST_HOME=%s/home", ctx->svc->cfg->state_dir));
  hoist_strv_push_take (&env, hoist_xasprintf ("SOURCE_DATE_EPOCH=%lld", (long long) ctx->commit_time));
  hoist_strv_push_take (&env, hoist_xasprintf ("HOIST_SOURCE=%s", ctx->repo->url));
  hoist_strv_push_take (&env, hoist_xasprintf ("HOIST_REF=%s", ctx->job->ref));
  hoist_strv_push_take (&env, hoist_xasprintf ("HOIST_REVISION=%s", ctx->job->after));
  hoist_strv_push_take (&env, hoist_xasprintf ("HOIST_INVOCATION_ID=hoist-job-%lld", (long long) ctx->job->id));
  return env;
}

/* The tags IMG gets for this push: "name:tag" each; the first kept
 * alone in R->tag for the deploy files. */
static int
expand_tags (const struct job_ctx *ctx, const struct runner_image *img, struct job_image *r, struct hoist_error **err)
{
  struct runner_tag_vars vars = { .sha = ctx->job->after, .branch = ctx->branch, .tag = ctx->tag };

  for (size_t i = 0; img->tags != NULL && img->tags[i] != NULL; i++)
    {
      char *tag = NULL;
      int ret = runner_tag_expand (img->tags[i], &vars, &tag, err);

      if (ret < 0)
        return hoist_error_wrap (err, "image '%s'", img->name);
      if (ret == 0)
        continue;
      hoist_strv_push_take (&r->tags, hoist_xasprintf ("%s:%s", img->name, tag));
      if (r->tag == NULL)
        r->tag = tag;
      else
        free (tag);
    }
  if (r->tag == NULL)
    return hoist_error_set (err, 0, "image '%s': none of its tag templates applies to a push of '%s'", img->name,
                            ctx->job->ref);
  return 0;
}

/* PATH (in the repository) resolved inside the work tree, so a symlink
 * in the repository cannot hand the build a file outside it. */
static int
inside_worktree (const struct job_ctx *ctx, const char *path, char **out, struct hoist_error **err)
{
  cleanup_free char *joined = hoist_xasprintf ("%s/%s", ctx->workdir, path);
  char root[PATH_MAX], real[PATH_MAX];
  size_t n;

  if (realpath (ctx->workdir, root) == NULL)
    return hoist_error_set (err, errno, "cannot resolve the work tree '%s'", ctx->workdir);
  if (realpath (joined, real) == NULL)
    return hoist_error_set (err, errno, "'%s' is not in the repository at %.12s", path, ctx->job->after);
  n = strlen (root);
  if (strncmp (real, root, n) != 0 || (real[n] != '\0' && real[n] != '/'))
    return hoist_error_set (err, 0, "'%s' leads outside the repository (a symlink?)", path);
  *out = hoist_xstrdup (real);
  return 0;
}

static char **
build_argv (const struct job_ctx *ctx, const struct runner_image *img, const struct job_image *r,
            const char *dockerfile, const char *context, const char *meta)
{
  char **argv = NULL;

  hoist_strv_push (&argv, ctx->svc->self_exe);
  hoist_strv_push (&argv, "build");
  hoist_strv_push (&argv, "--push");
  hoist_strv_push (&argv, "--progress=plain");
  hoist_strv_push_take (&argv, hoist_xasprintf ("--file=%s", dockerfile));
  hoist_strv_push_take (&argv, hoist_xasprintf ("--metadata-file=%s", meta));
  for (size_t i = 0; r->tags[i] != NULL; i++)
    hoist_strv_push_take (&argv, hoist_xasprintf ("--tag=%s", r->tags[i]));
  for (size_t i = 0; img->build_args != NULL && img->build_args[i] != NULL; i++)
    hoist_strv_push_take (&argv, hoist_xasprintf ("--build-arg=%s", img->build_args[i]));
  if (img->target != NULL)
    hoist_strv_push_take (&argv, hoist_xasprintf ("--target=%s", img->target));
  if (img->platforms != NULL && img->platforms[0] != NULL)
    {
      cleanup_free char *list = hoist_xstrdup (img->platforms[0]);

      for (size_t i = 1; img->platforms[i] != NULL; i++)
        {
          char *more = hoist_xasprintf ("%s,%s", list, img->platforms[i]);
          free (list);
          list = more;
        }
      hoist_strv_push_take (&argv, hoist_xasprintf ("--platform=%s", list));
    }
  hoist_strv_push (&argv, "--");
  hoist_strv_push (&argv, context);
  return argv;
}

/* The digest and bytes the build's --metadata-file names. */
static int
read_metadata (const char *meta, struct job_image *r, struct hoist_error **err)
{
  json_error_t jerr;
  json_t *doc = json_load_file (meta, 0, &jerr), *d;
  int ret = 0;

  if (doc == NULL)
    return hoist_error_set (err, 0, "the build wrote no readable result to '%s': %s", meta, jerr.text);
  d = json_object_get (doc, "containerimage.digest");
  if (!json_is_string (d) || !hoist_digest_valid (json_string_value (d)))
    ret = hoist_error_set (err, 0, "the build's result '%s' has no image digest", meta);
  else
    {
      r->digest = hoist_xstrdup (json_string_value (d));
      r->bytes_pushed = json_integer_value (json_object_get (doc, "hoist.bytes_pushed"));
    }
  json_decref (doc);
  return ret;
}

int
job_build_image (struct job_ctx *ctx, const struct runner_image *img, struct job_image *r, struct hoist_error **err)
{
  cleanup_free char *dockerfile = NULL, *context = NULL, *meta = NULL;
  cleanup_strv char **argv = NULL, **env = NULL;
  struct hoist_spawn_result res;

  memset (r, 0, sizeof *r);
  r->img = img;
  if (expand_tags (ctx, img, r, err) < 0 || inside_worktree (ctx, img->dockerfile, &dockerfile, err) < 0
      || inside_worktree (ctx, img->context, &context, err) < 0)
    return -1;
  meta = hoist_xasprintf ("%s.%zu.json", ctx->workdir, (size_t) (img - ctx->repo->images));
  argv = build_argv (ctx, img, r, dockerfile, context, meta);
  env = build_env (ctx);
  job_log_say (&ctx->log, "building %s (%s)", img->name, r->tag);
  if (job_log_run (&ctx->log, argv, env, NULL, ctx->timeout_ms, NULL, &res, err) < 0)
    return hoist_error_wrap (err, "cannot build '%s'", img->name);
  if (res.signaled || res.exit_code != 0)
    {
      unlink (meta);
      if (res.signaled)
        return hoist_error_set (err, 0, "building '%s' was killed by signal %d (the job log has its output)", img->name,
                                res.term_signal);
      return hoist_error_set (err, 0, "building '%s' failed (exit %d; the job log has its output)", img->name,
                              res.exit_code);
    }
  if (read_metadata (meta, r, err) < 0)
    return -1;
  unlink (meta);
  job_log_say (&ctx->log, "pushed %s as %s", r->digest, r->tag);
  return 0;
}
