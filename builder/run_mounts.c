/* run_mounts.c — the host side of RUN --mount, as BuildKit gives it:
 *
 *  - cache:  a directory under hoist's home, kept across builds (one per
 *            id, the target when no id is given);
 *  - secret: a file given with --secret id=ID,src=FILE, read-only, at
 *            /run/secrets/ID unless a target is given;
 *  - ssh:    the agent socket given with --ssh ID=SOCKET (or "default",
 *            $SSH_AUTH_SOCK), at /run/buildkit/ssh_agent.N, with
 *            SSH_AUTH_SOCK pointing there when no target is given;
 *  - tmpfs:  an empty tmpfs (size= honoured);
 *  - bind:   SOURCE of the build context (after .dockerignore), of a
 *            stage, a named context or an image, exactly as
 *            `COPY [--from=X] SOURCE /m` would write it: the copy plan is
 *            resolved before the cache lookup (its digest is part of the
 *            step's key, so a changed go.mod reruns the step), and only a
 *            step that runs gets the tree, written into a private
 *            directory of its own.  Read-only unless rw is given; what a
 *            step writes there is thrown away with the directory, as
 *            BuildKit throws it away.
 *
 * Secrets, agent sockets and caches are not part of the key, as in
 * BuildKit; none of them ever reaches a layer (they are mounts, and the
 * snapshot diff walks the rootfs without them). */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/oci_private.h"
#include "builder/step_private.h"

#define CACHE_MOUNTS_DIR "run-cache"
/* Where a bind source goes in its private tree: `COPY SOURCE /m`. */
#define BIND_DEST "m"

void
build_run_mounts_release (struct run_mounts *m)
{
  for (size_t i = 0; m->plans != NULL && i < m->n_plans; i++)
    builder_copy_plan_free (m->plans[i]);
  for (size_t i = 0; i < m->n_trees; i++)
    build_rootfs_free (m->trees[i]);
  if (m->script_file != NULL)
    unlink (m->script_file);
  free (m->script_file);
  free (m->script);
  free (m->script_target);
  free (m->plans);
  free (m->trees);
  free (m->v);
  hoist_strv_free (m->owned);
  hoist_strv_free (m->env);
  memset (m, 0, sizeof *m);
}

static const char *
keep (struct run_mounts *m, char *s)
{
  hoist_strv_push_take (&m->owned, s);
  return s;
}

static const char *
find_id (const struct builder_secret *v, size_t n, const char *id)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i].id, id) == 0)
      return v[i].src;
  return NULL;
}

/* ---- bind: the copy plan, then the tree ---------------------------------------- */

static int
bind_plan (struct build *b, const struct builder_mount *mt, struct builder_copy_plan **out, struct hoist_error **err)
{
  char *sources[2] = { mt->source != NULL ? mt->source : (char *) ".", NULL };
  struct builder_copy_request req = {
    .sources = sources,
    .dest = "/" BIND_DEST,
    .workdir = "/",
    .source_date_epoch = -1,
    .tmp_dir = b->tmp_dir,
  };
  struct builder_copy_source src = { 0 };

  if (build_source_of (b, mt->from, mt->from_stage, &src, err) < 0 || builder_copy_resolve (&src, &req, out, err) < 0)
    return hoist_error_wrap (err, "RUN --mount=type=bind,source=%s", sources[0]);
  return 0;
}

/* An unnamed file in DIR for the tar between the plan and the tree. */
static int
open_scratch (const char *dir, struct hoist_error **err)
{
  cleanup_free char *tmpl = NULL;
  int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd >= 0)
    return fd;
  tmpl = hoist_xasprintf ("%s/bind-XXXXXX", dir);
  fd = mkostemp (tmpl, O_CLOEXEC);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot make a temporary file in '%s'", dir);
  unlink (tmpl);
  return fd;
}

/* Write plan P as a tar and unpack it into a new tree of M; *PATH is the
 * source's place in it. */
static int
bind_tree (struct build *b, const struct builder_copy_plan *p, struct run_mounts *m, const char **path,
           struct hoist_error **err)
{
  struct builder_layer_writer *w = NULL;
  struct builder_layer_result res;
  struct builder_layer_opts o;
  struct build_rootfs *tree = NULL;
  cleanup_close int fd = open_scratch (b->tmp_dir, err);
  int ret;

  if (fd < 0)
    return -1;
  builder_layer_opts_init (&o);
  o.compression = BUILDER_COMPRESSION_NONE;
  o.threads = 1;
  ret = builder_layer_writer_new (fd, &o, &w, err);
  if (ret == 0)
    ret = builder_copy_write (p, w, err);
  if (ret == 0)
    ret = builder_layer_finish (w, &res, err);
  builder_layer_writer_free (w);
  if (ret == 0 && lseek (fd, 0, SEEK_SET) < 0)
    ret = hoist_error_set (err, errno, "cannot read back the bind mount's files");
  if (ret == 0)
    ret = build_rootfs_new (b->tmp_dir, &tree, err);
  if (ret == 0)
    {
      m->trees = hoist_xreallocarray (m->trees, m->n_trees + 1, sizeof *m->trees);
      m->trees[m->n_trees++] = tree;
      ret = build_rootfs_apply_fd (tree, fd, "the bind mount's files", err);
    }
  if (ret < 0)
    return -1;
  *path = keep (m, hoist_xasprintf ("%s/" BIND_DEST, build_rootfs_path (tree)));
  return 0;
}

/* ---- Each type ------------------------------------------------------------------- */

static int
cache_dir (struct build *b, const struct builder_mount *mt, struct run_mounts *m, struct sandbox_mount *sm,
           struct hoist_error **err)
{
  char digest[HOIST_DIGEST_STR_SIZE];
  const char *id = mt->id != NULL ? mt->id : mt->target;
  char *dir;

  if (b->opts->home == NULL)
    return hoist_error_set_status (err, ENOTSUP, "RUN --mount=type=cache needs hoist's home");
  if (hoist_sha256_digest (id, strlen (id), digest, err) < 0)
    return -1;
  dir = hoist_xasprintf ("%s/cache/" CACHE_MOUNTS_DIR "/%.23s", b->opts->home, digest + 7);
  if (oci_mkdir_parents (dir, err) < 0)
    {
      free (dir);
      return -1;
    }
  sm->source = keep (m, dir);
  return 0;
}

/* A secret or an agent socket (WHAT, "secret" or "ssh agent") from the
 * command line: 0 with SM set, 1 when it is not given and not required
 * (no mount). */
static int
given_file (const struct builder_mount *mt, const char *src, const char *type, const char *what, const char *hint,
            struct sandbox_mount *sm, struct hoist_error **err)
{
  if (src != NULL)
    {
      sm->source = src;
      return 0;
    }
  if (!mt->required)
    return 1;
  return hoist_error_set_status (err, ENOENT, "RUN --mount=type=%s: no %s '%s' (hint: %s)", type, what,
                                 mt->id != NULL ? mt->id : "default", hint);
}

/* The target inside the image: a relative one is below WORKDIR. */
static const char *
mount_target (const struct builder_mount *mt, const char *workdir, struct run_mounts *m)
{
  if (mt->target == NULL || mt->target[0] == '/')
    return mt->target;
  return keep (m, hoist_xasprintf ("%s/%s", workdir != NULL && *workdir != '\0' ? workdir : "", mt->target));
}

/* The heredoc script into a file of its own, to be mounted. */
static int
script_mount (struct build *b, struct run_mounts *m, struct hoist_error **err)
{
  struct sandbox_mount *sm = &m->v[m->n];
  cleanup_close int fd = -1;

  m->script_file = hoist_xasprintf ("%s/script-XXXXXX", b->tmp_dir);
  fd = mkostemp (m->script_file, O_CLOEXEC);
  if (fd < 0)
    {
      hoist_error_set (err, errno, "cannot make a file for the heredoc script in '%s'", b->tmp_dir);
      free (m->script_file);
      m->script_file = NULL;
      return -1;
    }
  if (oci_write_all (fd, m->script, strlen (m->script), err) < 0)
    return hoist_error_wrap (err, "cannot write the heredoc script '%s'", m->script_file);
  if (fchmod (fd, 0755) < 0)
    return hoist_error_set (err, errno, "cannot make the heredoc script '%s' executable", m->script_file);
  sm->source = m->script_file;
  sm->target = m->script_target;
  sm->read_only = true;
  m->n++;
  return 0;
}

int
build_run_mounts_resolve (struct build *b, const struct builder_instruction *in, struct run_mounts *m,
                          struct hoist_error **err)
{
  m->plans = hoist_xcalloc (in->n_mounts + 1, sizeof *m->plans);
  m->n_plans = in->n_mounts;
  for (size_t i = 0; i < in->n_mounts; i++)
    if (in->mounts[i].type == BUILDER_MOUNT_BIND && bind_plan (b, &in->mounts[i], &m->plans[i], err) < 0)
      return -1;
  return 0;
}

int
build_run_mounts_key (const struct run_mounts *m, struct hoist_buf *key, struct hoist_error **err)
{
  for (size_t i = 0; i < m->n_plans; i++)
    if (m->plans[i] != NULL)
      {
        char digest[HOIST_DIGEST_STR_SIZE];

        if (builder_copy_digest (m->plans[i], digest, err) < 0)
          return -1;
        if (hoist_buf_addf (key, err, "bind %zu %s", i, digest) < 0 || hoist_buf_add (key, "", 1, err) < 0)
          return -1;
      }
  return 0;
}

int
build_run_mounts_prepare (struct build *b, const struct builder_instruction *in, const char *workdir,
                          struct run_mounts *m, struct hoist_error **err)
{
  unsigned n_ssh = 0;

  m->v = hoist_xcalloc (in->n_mounts + 2, sizeof *m->v);
  if (m->script != NULL && script_mount (b, m, err) < 0)
    return -1;
  for (size_t i = 0; i < in->n_mounts; i++)
    {
      const struct builder_mount *mt = &in->mounts[i];
      struct sandbox_mount *sm = &m->v[m->n];
      const char *id = mt->id != NULL ? mt->id : mt->target;
      int r = 0;

      sm->target = mount_target (mt, workdir, m);
      sm->read_only = mt->readonly;
      if (sm->target == NULL && mt->type != BUILDER_MOUNT_SECRET && mt->type != BUILDER_MOUNT_SSH)
        return hoist_error_set_status (err, EINVAL, "RUN --mount=type=%s needs a target",
                                       builder_mount_type_name (mt->type));
      switch (mt->type)
        {
        case BUILDER_MOUNT_CACHE:
          r = cache_dir (b, mt, m, sm, err);
          sm->read_only = false;
          break;
        case BUILDER_MOUNT_SECRET:
          r = given_file (mt, id != NULL ? find_id (b->opts->secrets, b->opts->n_secrets, id) : NULL, "secret",
                          "secret", "--secret id=ID,src=FILE", sm, err);
          if (r == 0 && sm->target == NULL)
            sm->target = keep (m, hoist_xasprintf ("/run/secrets/%s", id));
          sm->read_only = true;
          break;
        case BUILDER_MOUNT_SSH:
          r = given_file (mt, find_id (b->opts->ssh, b->opts->n_ssh, mt->id != NULL ? mt->id : "default"), "ssh",
                          "ssh agent", "--ssh default with SSH_AUTH_SOCK set, or --ssh ID=SOCKET", sm, err);
          if (r == 0 && sm->target == NULL)
            {
              sm->target = keep (m, hoist_xasprintf ("/run/buildkit/ssh_agent.%u", n_ssh));
              if (n_ssh == 0)
                hoist_strv_push_take (&m->env, hoist_xasprintf ("SSH_AUTH_SOCK=%s", sm->target));
            }
          n_ssh += r == 0;
          sm->read_only = false; /* a socket is connected to by writing */
          break;
        case BUILDER_MOUNT_TMPFS:
          sm->tmpfs = true;
          sm->tmpfs_size = mt->size > 0 ? (uint64_t) mt->size : 0;
          sm->read_only = false;
          break;
        case BUILDER_MOUNT_BIND:
          r = bind_tree (b, m->plans[i], m, &sm->source, err);
          break;
        }
      if (r < 0)
        return -1;
      if (r == 0)
        m->n++;
    }
  return 0;
}
