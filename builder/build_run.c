/* build_run.c — RUN: a command in the stage's root file system, in the
 * sandbox, and a layer of what it changed.
 *
 * The root is materialised once per stage (build_stage_rootfs) and every
 * RUN of the stage works on it in place: a snapshot of its metadata
 * before, the step in the sandbox, the diff after (snapshot.c) written as
 * the layer.  Nothing is copied per step.
 *
 * As BuildKit does: the shell form runs through the stage's SHELL
 * (default /bin/sh -c); the environment is the image's Env (PATH defaulted)
 * plus the build args in scope that Env does not set; the step runs as the
 * stage's USER in its WORKDIR (created when missing); a step that changes
 * nothing adds no layer (its history entry is marked empty); a failure is
 * "process \"...\" did not complete successfully: exit code: N".
 *
 * The cache key chains the parent's key with the instruction, the
 * environment, user, working directory, shell, network and mounts: what
 * can change the result short of the command's own nondeterminism. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/step_private.h"
#include "builder/oci_private.h"
#include "builder/snapshot_private.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* One line of step output, as the log shows it. */
#define OUTPUT_LINE_MAX 4096

/* ---- The command and its environment ------------------------------------------------ */

static bool
env_has (char *const *env, const char *name, size_t n)
{
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return true;
  return false;
}

/* Env, PATH when Env has none, then the build args Env does not set. */
static char **
run_env (const struct build_stage *s)
{
  char *const *env = s->cfg->config.env;
  char **out = NULL;

  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    hoist_strv_push (&out, env[i]);
  if (!env_has (out, "PATH", 4))
    hoist_strv_push (&out, DEFAULT_PATH);
  for (size_t i = 0; s->args != NULL && s->args[i] != NULL; i++)
    {
      const char *eq = strchr (s->args[i], '=');

      if (eq != NULL && !env_has (out, s->args[i], (size_t) (eq - s->args[i])))
        hoist_strv_push (&out, s->args[i]);
    }
  return out;
}

/* Where a heredoc script with a #! line is mounted, as BuildKit has it. */
#define SCRIPT_DIR "/dev/pipes/"

/* The interpreter of a "#!" line, as the kernel reads it: the program,
 * then the rest of the line (trimmed) as one argument when there is one. */
static int
shebang_argv (const char *body, char ***argv, struct hoist_error **err)
{
  const char *p = body + 2, *end = p + strcspn (p, "\n");
  const char *prog, *arg;

  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  prog = p;
  while (p < end && *p != ' ' && *p != '\t')
    p++;
  if (p == prog)
    return hoist_error_set_status (err, EINVAL, "RUN: the heredoc's '#!' line names no interpreter");
  hoist_strv_push_take (argv, hoist_xstrndup (prog, (size_t) (p - prog)));
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  arg = p;
  while (end > arg && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  if (end > arg)
    hoist_strv_push_take (argv, hoist_xstrndup (arg, (size_t) (end - arg)));
  return 0;
}

/* Whether LINE is only the heredoc marker of H: "<<EOF", "<<-EOF",
 * "<<'EOF'", "<<\"EOF\"". */
static bool
heredoc_only (const char *line, const struct builder_heredoc *h)
{
  size_t n = strlen (h->name), len;

  line += strspn (line, " \t");
  len = strcspn (line, " \t");
  if (line[len + strspn (line + len, " \t")] != '\0' || strncmp (line, "<<", 2) != 0)
    return false;
  line += 2, len -= 2;
  if (len > 0 && *line == '-')
    line++, len--;
  if (len == n + 2 && (*line == '\'' || *line == '"') && line[n + 1] == *line)
    line++, len -= 2;
  return len == n && strncmp (line, h->name, n) == 0;
}

/* The argv, as BuildKit makes it: exec form as is; shell form through
 * SHELL.  A RUN that is only one heredoc runs its body (tabs stripped for
 * <<-): through the shell, or, when it starts with "#!", as a script at
 * /dev/pipes/NAME run by its interpreter (*SCRIPT gets the body to mount
 * there).  A command with heredocs goes to the shell whole, the bodies
 * after the line, and the shell reads them as it would in a script. */
static int
run_argv (const struct build_stage *s, const struct builder_instruction *in, char ***out, struct run_mounts *m,
          struct hoist_error **err)
{
  char *const *shell = s->cfg->config.shell;
  cleanup_strv char **argv = NULL;
  cleanup_free char *script = NULL;
  const char *line;

  if (in->exec_form)
    {
      if (in->n_heredocs > 0)
        return hoist_error_set_status (err, EINVAL, "RUN: heredocs need the shell form");
      for (size_t i = 0; i < in->n_args; i++)
        hoist_strv_push (&argv, in->args[i]);
      if (argv == NULL)
        return hoist_error_set_status (err, EINVAL, "RUN: empty command");
      *out = steal_pointer (&argv);
      return 0;
    }
  line = in->n_args > 0 ? in->args[0] : "";
  if (in->n_heredocs == 1 && heredoc_only (line, &in->heredocs[0]))
    {
      const struct builder_heredoc *h = &in->heredocs[0];

      script = h->chomp ? builder_heredoc_chomp (h->body) : hoist_xstrdup (h->body);
      if (strncmp (script, "#!", 2) == 0)
        {
          if (shebang_argv (script, &argv, err) < 0)
            return -1;
          m->script_target = hoist_xasprintf (SCRIPT_DIR "%s", h->name);
          hoist_strv_push (&argv, m->script_target);
          m->script = steal_pointer (&script);
          *out = steal_pointer (&argv);
          return 0;
        }
      line = script;
    }
  else if (in->n_heredocs > 0)
    {
      struct hoist_buf b;

      hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
      build_buf_addstr (&b, line);
      build_buf_addch (&b, '\n');
      for (size_t i = 0; i < in->n_heredocs; i++)
        {
          build_buf_addstr (&b, in->heredocs[i].body);
          build_buf_addstr (&b, in->heredocs[i].name);
          build_buf_addch (&b, '\n');
        }
      script = hoist_buf_detach (&b, NULL);
      line = script;
    }
  if (shell != NULL && shell[0] != NULL)
    for (size_t i = 0; shell[i] != NULL; i++)
      hoist_strv_push (&argv, shell[i]);
  else
    {
      hoist_strv_push (&argv, "/bin/sh");
      hoist_strv_push (&argv, "-c");
    }
  hoist_strv_push (&argv, line);
  *out = steal_pointer (&argv);
  return 0;
}

/* "/bin/sh -c echo hi", as BuildKit quotes the process in its error. */
static char *
argv_text (char *const *argv)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; argv[i] != NULL; i++)
    {
      if (i > 0)
        build_buf_addch (&b, ' ');
      build_buf_add (&b, argv[i], strlen (argv[i]));
    }
  return hoist_buf_detach (&b, NULL);
}

/* ---- The cache key --------------------------------------------------------------- */

static void
key_field (struct hoist_buf *b, const char *name, const char *value)
{
  build_buf_add (b, name, strlen (name) + 1);
  build_buf_add (b, value != NULL ? value : "", strlen (value != NULL ? value : "") + 1);
}

static int
run_key (struct build_stage *s, const struct builder_instruction *in, char *const *env, const struct run_mounts *m,
         char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  char fields[HOIST_DIGEST_STR_SIZE];
  struct hoist_buf b;
  int ret;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    key_field (&b, "env", env[i]);
  for (char *const *sh = s->cfg->config.shell; sh != NULL && *sh != NULL; sh++)
    key_field (&b, "shell", *sh);
  key_field (&b, "user", s->cfg->config.user);
  key_field (&b, "workdir", s->cfg->config.working_dir);
  /* Mounts and network are in the instruction's flags, which the key
   * already covers; what a bind mount shows is not. */
  ret = build_run_mounts_key (m, &b, err);
  /* The fields are NUL-separated: the key takes their digest. */
  if (ret == 0)
    ret = hoist_sha256_digest (b.data, b.len, fields, err);
  if (ret == 0)
    ret = build_step_key (s, in, fields, out, err);
  hoist_buf_release (&b);
  return ret;
}

/* ---- Mount points ------------------------------------------------------------ */

/* What the sandbox mounts over must exist before the snapshot, so that
 * the diff does not see it made (nor its parent directory touched); what
 * had to be made is removed after the diff, as BuildKit removes its mount
 * stubs.  Made in-root, never through a symlink: a step may have turned
 * /etc into one. */
struct stubs
{
  int rootfd;
  char **made; /* relative paths, in the order made */
};

/* The parent directory of REL (relative to the root) as an O_PATH fd,
 * resolved in-root with no symlink on the way; *NAME is REL's last
 * component.  -1 when it cannot be had. */
static int
parent_in_root (int rootfd, const char *rel, const char **name)
{
  const char *slash = strrchr (rel, '/');
  cleanup_free char *dir = slash != NULL ? hoist_xstrndup (rel, (size_t) (slash - rel)) : hoist_xstrdup (".");

  *name = slash != NULL ? slash + 1 : rel;
  return build_openat2 (rootfd, dir, O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
}

/* Make REL, a directory or an empty file: 1 when made, 0 when there,
 * -1 when it cannot be (the sandbox then says why). */
static int
make_in_root (int rootfd, const char *rel, bool dir)
{
  const char *name;
  cleanup_close int parent = parent_in_root (rootfd, rel, &name);
  struct stat sb;
  int fd;

  if (parent < 0)
    return -1;
  if (fstatat (parent, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (dir)
    return mkdirat (parent, name, 0755) == 0 ? 1 : -1;
  fd = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  close (fd);
  return 1;
}

static int
remove_in_root (int rootfd, const char *rel)
{
  const char *name;
  cleanup_close int parent = parent_in_root (rootfd, rel, &name);

  if (parent < 0)
    return -1;
  if (unlinkat (parent, name, 0) == 0)
    return 0;
  return errno == EISDIR ? unlinkat (parent, name, AT_REMOVEDIR) : -1;
}

/* ABS and its missing parents. */
static void
stub_one (struct stubs *st, const char *abs, bool dir)
{
  cleanup_free char *rel = hoist_xstrdup (abs + strspn (abs, "/"));

  if (*rel == '\0')
    return;
  for (char *q = rel;; q++)
    if (*q == '/' || *q == '\0')
      {
        char c = *q;
        int r;

        *q = '\0';
        r = make_in_root (st->rootfd, rel, c != '\0' || dir);
        if (r < 0)
          return;
        if (r > 0)
          hoist_strv_push (&st->made, rel);
        *q = c;
        if (c == '\0')
          return;
      }
}

static void
stubs_make (struct stubs *st, const struct run_mounts *m)
{
  stub_one (st, "/etc/resolv.conf", false);
  stub_one (st, "/etc/hosts", false);
  for (size_t i = 0; i < m->n; i++)
    {
      struct stat sb;

      /* The step's /dev is its own: the sandbox makes those. */
      if (strncmp (m->v[i].target, "/dev/", 5) == 0)
        continue;
      stub_one (st, m->v[i].target, m->v[i].tmpfs || (stat (m->v[i].source, &sb) == 0 && S_ISDIR (sb.st_mode)));
    }
}

/* Newest first, so that a directory is empty when its turn comes. */
static void
stubs_remove (struct stubs *st)
{
  for (size_t n = hoist_strv_len (st->made); n > 0; n--)
    if (remove_in_root (st->rootfd, st->made[n - 1]) < 0)
      hoist_log (HOIST_LOG_DEBUG, "cannot remove the mount point '/%s': %s", st->made[n - 1], strerror (errno));
  hoist_strv_free (st->made);
  st->made = NULL;
}

/* ---- Output ------------------------------------------------------------------ */

struct run_output
{
  struct build *b;
  unsigned id;
  int fd; /* the read end */
  pthread_t thread;
  bool started;
};

/* Every line of the step's output into the build log, as it comes. */
static void *
output_main (void *arg)
{
  struct run_output *o = arg;
  char buf[OUTPUT_LINE_MAX];
  size_t len = 0;

  for (;;)
    {
      ssize_t n = read (o->fd, buf + len, sizeof buf - 1 - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
      for (;;)
        {
          char *nl = memchr (buf, '\n', len);
          size_t take = nl != NULL ? (size_t) (nl - buf) : (len == sizeof buf - 1 ? len : 0);

          if (nl == NULL && take == 0)
            break;
          buf[take] = '\0';
          build_progress_log (o->b, o->id, "%s", buf);
          take += nl != NULL;
          memmove (buf, buf + take, len - take);
          len -= take;
        }
    }
  if (len > 0)
    {
      buf[len] = '\0';
      build_progress_log (o->b, o->id, "%s", buf);
    }
  return NULL;
}

/* ---- The step ------------------------------------------------------------------ */

struct run_fill
{
  struct build *b;
  struct build_stage *s;
  const struct builder_snapshot *before;
  struct builder_snapshot_stats stats;
};

/* The diff as the layer; 1 when the step changed nothing. */
static int
fill_run (void *data, struct builder_layer_writer *w, struct hoist_error **err)
{
  struct run_fill *f = data;
  const struct builder_snapshot_stats *st = &f->stats;

  if (builder_snapshot_diff (f->before, build_rootfs_path (f->s->rootfs), w, &f->stats, err) < 0)
    return -1;
  return st->added + st->changed + st->removed + st->opaque == 0 ? 1 : 0;
}

static enum sandbox_network
run_network (enum builder_network n)
{
  return n == BUILDER_NETWORK_NONE   ? SANDBOX_NETWORK_NONE
         : n == BUILDER_NETWORK_HOST ? SANDBOX_NETWORK_HOST
                                     : SANDBOX_NETWORK_DEFAULT;
}

/* ENV, with HOME as the image's /etc/passwd gives it for UID when ENV
 * has none (/root for root, else /), as Docker's RUN has it. */
static char **
with_home (const struct build_rootfs *r, char *const *env, uid_t uid)
{
  char **out = NULL;
  char *home;

  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    hoist_strv_push (&out, env[i]);
  if (env_has (out, "HOME", 4))
    return out;
  home = build_rootfs_home (r, uid);
  hoist_strv_push_take (&out, hoist_xasprintf ("HOME=%s", home != NULL ? home : uid == 0 ? "/root" : "/"));
  free (home);
  return out;
}

/* Run the command; fails unless it exits 0. */
static int
run_command (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id,
             char *const *argv, char *const *env, const struct run_mounts *mounts, struct hoist_error **err)
{
  struct run_output out = { .b = b, .id = id, .fd = -1 };
  struct sandbox_spec spec = { 0 };
  struct sandbox_result res = { 0 };
  cleanup_strv char **envp = NULL;
  const char *user = s->cfg->config.user;
  int pipefd[2] = { -1, -1 };
  uid_t uid = 0;
  gid_t gid = 0;
  int ret;

  ret = build_rootfs_user (s->rootfs, user != NULL && *user != '\0' ? user : "0", &uid, &gid, err);
  if (ret == 0)
    envp = with_home (s->rootfs, env, uid);
  if (ret == 0 && pipe2 (pipefd, O_CLOEXEC) < 0)
    ret = hoist_error_set (err, errno, "cannot make a pipe for the step's output");
  if (ret == 0)
    {
      out.fd = pipefd[0];
      out.started = pthread_create (&out.thread, NULL, output_main, &out) == 0;
      spec.rootfs = build_rootfs_path (s->rootfs);
      spec.argv = argv;
      spec.envp = envp;
      spec.cwd = s->cfg->config.working_dir != NULL ? s->cfg->config.working_dir : "/";
      spec.uid = uid;
      spec.gid = gid;
      spec.isolation = b->opts->isolation;
      spec.network = run_network (in->network);
      spec.mounts = mounts->v;
      spec.n_mounts = mounts->n;
      spec.timeout_s = b->opts->run_timeout_s;
      spec.stdout_fd = pipefd[1];
      spec.stderr_fd = pipefd[1];
      spec.root_name = "the image";
      ret = sandbox_run (&spec, &res, err);
      if (ret < 0 && (*err)->status == ENOENT && !in->exec_form && strcmp (argv[0], "/bin/sh") == 0)
        hoist_error_hint (err, "the shell form runs /bin/sh -c; for an image without a shell, use the exec form: "
                               "RUN [\"program\", \"argument\"]");
    }
  if (pipefd[1] >= 0)
    close (pipefd[1]);
  if (out.started)
    pthread_join (out.thread, NULL);
  if (pipefd[0] >= 0)
    close (pipefd[0]);
  if (ret < 0)
    return -1;
  if (res.timed_out || res.exit_code != 0)
    {
      cleanup_free char *text = argv_text (argv);

      if (res.timed_out)
        return hoist_error_set_status (err, ETIMEDOUT, "process \"%s\" did not finish in %u s (killed)", text,
                                       b->opts->run_timeout_s);
      return hoist_error_set_status (err, ECHILD, "process \"%s\" did not complete successfully: exit code: %d%s", text,
                                     res.exit_code,
                                     res.single_id ? " (note: this rootless build maps only container id 0, so a "
                                                     "chown to any other id fails; hint: give the user ranges in "
                                                     "/etc/subuid and /etc/subgid, e.g. 'usermod --add-subuids "
                                                     "100000-165535 --add-subgids 100000-165535 USER', and install "
                                                     "newuidmap and newgidmap, Debian package uidmap)"
                                                   : "");
    }
  return 0;
}

/* ENV with what the mounts add (SSH_AUTH_SOCK), replacing a value ENV has. */
static char **
with_mount_env (char *const *env, char *const *add)
{
  char **out = NULL;

  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    {
      bool replaced = false;

      for (size_t j = 0; add != NULL && add[j] != NULL && !replaced; j++)
        replaced = env_has (&env[i], add[j], strcspn (add[j], "="));
      if (!replaced)
        hoist_strv_push (&out, env[i]);
    }
  for (size_t j = 0; add != NULL && add[j] != NULL; j++)
    hoist_strv_push (&out, add[j]);
  return out;
}

static int
run_write (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id, char *const *argv,
           char *const *env, struct run_mounts *mounts, struct build_cache_record *rec, struct hoist_error **err)
{
  struct builder_snapshot *before = NULL;
  struct run_fill fill = { .b = b, .s = s };
  struct stubs stubs = { .rootfd = -1 };
  cleanup_strv char **step_env = NULL;
  int ret;

  if (build_stage_rootfs (b, s, err) < 0
      || build_run_mounts_prepare (b, in, s->cfg->config.working_dir, mounts, err) < 0)
    return -1;
  step_env = with_mount_env (env, mounts->env);
  stubs.rootfd = open (build_rootfs_path (s->rootfs), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (stubs.rootfd >= 0)
    stubs_make (&stubs, mounts);
  ret = builder_snapshot_take (build_rootfs_path (s->rootfs), &before, err);
  if (ret == 0)
    ret = run_command (b, s, in, id, argv, step_env, mounts, err);
  fill.before = before;
  if (ret == 0)
    ret = build_write_layer (b, fill_run, &fill, &rec->layer, rec->diff_id, err);
  builder_snapshot_free (before);
  if (stubs.rootfd >= 0)
    {
      stubs_remove (&stubs);
      close (stubs.rootfd);
    }
  if (ret < 0)
    {
      /* The root holds a half-run step: it must be made again. */
      build_rootfs_free (s->rootfs);
      s->rootfs = NULL;
      return -1;
    }
  /* 1: nothing changed, no layer (the history entry says empty_layer). */
  rec->has_layer = ret == 0;
  rec->empty_layer = ret == 1;
  if (rec->has_layer)
    build_rootfs_note_layer (s->rootfs);
  return 0;
}

int
build_step_run (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id,
                struct hoist_error **err)
{
  cleanup_strv char **argv = NULL;
  cleanup_strv char **env = NULL;
  cleanup_free char *text = NULL;
  struct build_cache_record rec;
  struct run_mounts mounts = { 0 };
  char key[HOIST_DIGEST_STR_SIZE], now[BUILDER_TIME_STR_SIZE];
  bool cached = false;
  int ret;

  build_cache_record_init (&rec);
  env = run_env (s);
  ret = build_run_mounts_resolve (b, in, &mounts, err);
  if (ret == 0)
    ret = run_argv (s, in, &argv, &mounts, err);
  if (ret == 0)
    ret = run_key (s, in, env, &mounts, key, err);
  if (ret == 0)
    cached = build_step_lookup (b, key, &rec) > 0;
  if (ret == 0 && !cached)
    {
      text = argv_text (argv);
      ret = build_time_now (b, now, err);
      rec.created = hoist_xstrdup (now);
      rec.created_by = hoist_xasprintf ("RUN %s", in->exec_form ? text : in->args[0]);
      if (ret == 0)
        ret = run_write (b, s, in, id, argv, env, &mounts, &rec, err);
    }
  if (ret == 0)
    {
      build_log_layer (b, id, &rec, cached ? "reused" : "wrote");
      ret = build_step_end (b, s, key, &rec, cached, err);
    }
  build_cache_record_release (&rec);
  build_run_mounts_release (&mounts);
  return ret < 0 ? ret : (cached ? 1 : 0);
}
