/* git.c — git as the runner uses it: the git command with argv vectors
 * (never a shell), an environment without the user's configuration, no
 * hooks, no submodules, no prompts, and credentials only through
 * GIT_ASKPASS (hoist itself answers, reading the token file), so a token
 * is never in a URL, an argument or the log. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/job_private.h"

/* git output read into memory (a diff's names, a commit time). */
#define GIT_OUTPUT_MAX (16u << 20)

static const char *const git_config[] = {
  "core.hooksPath=/dev/null", "submodule.recurse=false", "fetch.recurseSubmodules=false",
  "credential.helper=",       "core.fsmonitor=false",    "advice.detachedHead=false",
  "protocol.ext.allow=never", "gc.autoDetach=false",     "maintenance.auto=false",
};

static void
env_pass (char ***env, const char *name, const char *fallback)
{
  const char *v = getenv (name);

  if (v != NULL || fallback != NULL)
    hoist_strv_push_take (env, hoist_xasprintf ("%s=%s", name, v != NULL ? v : fallback));
}

void
job_git_init (struct job_git *g, const char *state_dir, const struct runner_repo *repo, const char *self_exe,
              const char *token_file, struct job_log *log)
{
  cleanup_free char *key = hoist_xstrdup (repo->name);

  memset (g, 0, sizeof *g);
  for (char *p = key; *p != '\0'; p++)
    if (!isalnum ((unsigned char) *p) && *p != '-' && *p != '.' && *p != '_')
      *p = '_';
  g->mirror = hoist_xasprintf ("%s/repos/%s.git", state_dir, key);
  g->url = repo->url;
  g->log = log;
  env_pass (&g->env, "PATH", "/usr/local/bin:/usr/bin:/bin");
  env_pass (&g->env, "SSH_AUTH_SOCK", NULL);
  env_pass (&g->env, "GIT_SSH_COMMAND", NULL);
  env_pass (&g->env, "SSL_CERT_FILE", NULL);
  env_pass (&g->env, "SSL_CERT_DIR", NULL);
  hoist_strv_push_take (&g->env, hoist_xasprintf ("HOME=%s", state_dir));
  hoist_strv_push (&g->env, "GIT_CONFIG_NOSYSTEM=1");
  hoist_strv_push (&g->env, "GIT_CONFIG_GLOBAL=/dev/null");
  hoist_strv_push (&g->env, "GIT_TERMINAL_PROMPT=0");
  hoist_strv_push (&g->env, "LC_ALL=C");
  if (token_file != NULL)
    {
      hoist_strv_push_take (&g->env, hoist_xasprintf ("GIT_ASKPASS=%s", self_exe));
      hoist_strv_push_take (&g->env, hoist_xasprintf ("HOIST_ASKPASS_TOKEN_FILE=%s", token_file));
    }
}

void
job_git_release (struct job_git *g)
{
  free ((char *) g->mirror);
  hoist_strv_free (g->env);
  memset (g, 0, sizeof *g);
}

static int
git_argv (struct job_git *g, const char *cwd, struct hoist_buf *out, char **args, struct hoist_error **err)
{
  cleanup_strv char **argv = NULL;
  struct hoist_spawn_result res;

  hoist_strv_push (&argv, "git");
  for (size_t i = 0; i < sizeof git_config / sizeof git_config[0]; i++)
    {
      hoist_strv_push (&argv, "-c");
      hoist_strv_push (&argv, git_config[i]);
    }
  if (cwd != NULL)
    {
      hoist_strv_push (&argv, "-C");
      hoist_strv_push (&argv, cwd);
    }
  else
    hoist_strv_push_take (&argv, hoist_xasprintf ("--git-dir=%s", g->mirror));
  for (size_t i = 0; args[i] != NULL; i++)
    hoist_strv_push (&argv, args[i]);
  if (job_log_run (g->log, argv, g->env, NULL, g->timeout_ms, out, &res, err) < 0)
    return hoist_error_wrap (err, "cannot run git %s", args[0]);
  return res.signaled ? 128 + res.term_signal : res.exit_code;
}

int
job_git (struct job_git *g, const char *cwd, struct hoist_buf *out, struct hoist_error **err, ...)
{
  cleanup_strv char **args = NULL;
  va_list ap;
  const char *a;

  va_start (ap, err);
  while ((a = va_arg (ap, const char *)) != NULL)
    hoist_strv_push (&args, a);
  va_end (ap);
  return git_argv (g, cwd, out, args, err);
}

/* A ref or commit id git may be handed: no control byte, no leading '-'. */
static bool
safe_arg (const char *s)
{
  if (s == NULL || *s == '\0' || *s == '-')
    return false;
  for (; *s != '\0'; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static int
ensure_mirror (struct job_git *g, struct hoist_error **err)
{
  cleanup_free char *head = hoist_xasprintf ("%s/HEAD", g->mirror);
  struct stat st;
  int code;

  if (stat (head, &st) == 0)
    return 0;
  code = job_git (g, NULL, NULL, err, "init", "--quiet", "--bare", NULL);
  if (code < 0)
    return -1;
  if (code != 0)
    return hoist_error_set (err, 0, "cannot create the mirror '%s' (git init exited %d)", g->mirror, code);
  return 0;
}

int
job_git_fetch (struct job_git *g, const char *ref, const char *sha, struct hoist_error **err)
{
  cleanup_free char *spec = NULL;
  int code;

  if (!safe_arg (ref) || strncmp (ref, "refs/", 5) != 0 || (sha != NULL && !safe_arg (sha)) || !safe_arg (g->url))
    return hoist_error_set (err, 0, "refusing to fetch: the ref, commit or URL holds control characters");
  if (ensure_mirror (g, err) < 0)
    return -1;
  spec = hoist_xasprintf ("+%s:refs/hoist/%s", ref, ref + 5);
  code = job_git (g, NULL, NULL, err, "fetch", "--quiet", "--force", "--no-tags", "--prune", "--", g->url, spec, NULL);
  if (code < 0)
    return -1;
  if (code != 0)
    return hoist_error_set (err, 0, "cannot fetch '%s' from '%s' (git fetch exited %d; the job log has git's words)",
                            ref, g->url, code);
  if (sha == NULL || job_git_has_commit (g, sha))
    return 0;
  /* The ref moved on since the push: ask for the commit itself. */
  code = job_git (g, NULL, NULL, err, "fetch", "--quiet", "--no-tags", "--", g->url, sha, NULL);
  if (code < 0)
    return -1;
  if (code != 0 || !job_git_has_commit (g, sha))
    return hoist_error_set (err, 0, "commit %s is not in '%s' any more", sha, g->url);
  return 0;
}

bool
job_git_has_commit (struct job_git *g, const char *sha)
{
  cleanup_free char *obj = hoist_xasprintf ("%s^{commit}", sha);
  cleanup_error struct hoist_error *err = NULL;

  return safe_arg (sha) && job_git (g, NULL, NULL, &err, "cat-file", "-e", obj, NULL) == 0;
}

/* OUT (git's -z output) as a string vector. */
static char **
split_nul (const struct hoist_buf *out)
{
  char **v = NULL;

  for (size_t i = 0; i < out->len;)
    {
      size_t n = strnlen (out->data + i, out->len - i);

      if (n > 0)
        hoist_strv_push_take (&v, hoist_xstrndup (out->data + i, n));
      i += n + 1;
    }
  return v;
}

int
job_git_changed (struct job_git *g, const char *before, const char *after, char ***files, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf out;
  int code;

  hoist_buf_init (&out, GIT_OUTPUT_MAX);
  *files = NULL;
  if (!safe_arg (before) || !safe_arg (after))
    return hoist_error_set (err, 0, "refusing to diff: a commit id holds control characters");
  code = job_git (g, NULL, &out, err, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", before, after, "--",
                  NULL);
  if (code < 0)
    return -1;
  if (code != 0)
    return hoist_error_set (err, 0, "cannot list the paths changed from %.12s to %.12s (git diff exited %d)", before,
                            after, code);
  *files = split_nul (&out);
  return 0;
}

int
job_git_commit_time (struct job_git *g, const char *sha, int64_t *t, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf out;
  char *end;
  long long v;
  int code;

  hoist_buf_init (&out, 64);
  code = job_git (g, NULL, &out, err, "log", "-1", "--format=%ct", sha, "--", NULL);
  if (code < 0)
    return -1;
  if (code != 0 || hoist_buf_addch (&out, '\0', err) < 0)
    return hoist_error_set (err, 0, "cannot read the time of commit %.12s", sha);
  errno = 0;
  v = strtoll (out.data, &end, 10);
  if (errno != 0 || end == out.data || v < 0)
    return hoist_error_set (err, 0, "commit %.12s has no readable time", sha);
  *t = v;
  return 0;
}

void
job_git_worktree_remove (struct job_git *g, const char *dir)
{
  cleanup_error struct hoist_error *err = NULL;

  /* Best effort: a tree git does not know (a crash left it half made) is
   * removed by hand, and prune forgets trees that are gone. */
  if (job_git (g, NULL, NULL, &err, "worktree", "remove", "--force", dir, NULL) != 0)
    hoist_rmtree_at (AT_FDCWD, dir, NULL);
  if (job_git (g, NULL, NULL, NULL, "worktree", "prune", NULL) != 0)
    hoist_log (HOIST_LOG_DEBUG, "git worktree prune failed in '%s'", g->mirror);
}

int
job_git_worktree (struct job_git *g, const char *dir, const char *sha, struct hoist_error **err)
{
  int code;

  job_git_worktree_remove (g, dir);
  code = job_git (g, NULL, NULL, err, "worktree", "add", "--quiet", "--detach", "--force", dir, sha, NULL);
  if (code < 0)
    return -1;
  if (code != 0)
    return hoist_error_set (err, 0, "cannot check out %.12s in '%s' (git worktree exited %d)", sha, dir, code);
  return 0;
}

bool
job_git_is_ancestor (struct job_git *g, const char *ancestor, const char *descendant)
{
  cleanup_error struct hoist_error *err = NULL;

  return job_git (g, NULL, NULL, &err, "merge-base", "--is-ancestor", ancestor, descendant, NULL) == 0;
}
