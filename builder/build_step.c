/* build_step.c — the steps that make layers: COPY and ADD (straight from
 * the context through builder_copy_*), and WORKDIR (a layer with the
 * directories that do not exist yet, as BuildKit's mkdir makes).
 *
 * The root file system of a stage is only materialised when a step needs
 * it: a COPY into an image that already has layers (to keep the metadata
 * of existing directories and follow symlinks in the destination), a
 * --chown by name, a WORKDIR path that earlier layers may hold.  A COPY
 * first resolves without it, only to compute its cache key: the key
 * chains the parent's, which fixes everything the root file system holds,
 * so a cache hit needs neither the root nor any file content. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/step_private.h"

/* ---- Paths ---------------------------------------------------------------------- */

/* Go's path.Clean of "/" + P: absolute, no ".", "..", empty component
 * or trailing '/'. */
static char *
clean_abs (const char *p)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          char *slash = memrchr (b.data, '/', b.len);
          b.len = slash != NULL ? (size_t) (slash - b.data) : 0;
          b.data[b.len] = '\0';
        }
      else if (len > 0 && !(len == 1 && p[0] == '.'))
        {
          build_buf_addch (&b, '/');
          build_buf_add (&b, p, len);
        }
      p += len;
      while (*p == '/')
        p++;
    }
  if (b.len == 0)
    build_buf_addch (&b, '/');
  return hoist_buf_detach (&b, NULL);
}

/* P (possibly relative) against WORKDIR, cleaned. */
static char *
abs_path (const char *workdir, const char *p)
{
  cleanup_free char *j = NULL;

  if (p[0] == '/')
    return clean_abs (p);
  j = hoist_xasprintf ("%s/%s", workdir != NULL ? workdir : "/", p);
  return clean_abs (j);
}

/* True when P is D or below it. */
static bool
path_within (const char *p, const char *d)
{
  size_t n = strlen (d);

  if (strcmp (d, "/") == 0)
    return true;
  return strncmp (p, d, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool
strv_has (char *const *v, const char *s)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* Every parent of ABS ("/a/b/c": "/a", "/a/b"), and ABS itself when
 * SELF, becomes a known directory. */
static void
note_dirs (struct build_stage *s, const char *abs, bool self)
{
  cleanup_free char *p = hoist_xstrdup (abs);

  for (char *q = p + 1; *q != '\0'; q++)
    if (*q == '/')
      {
        *q = '\0';
        if (!strv_has (s->known_dirs, p))
          hoist_strv_push (&s->known_dirs, p);
        *q = '/';
      }
  if (self && strcmp (p, "/") != 0 && !strv_has (s->known_dirs, p))
    hoist_strv_push (&s->known_dirs, p);
}

/* ---- Root file systems --------------------------------------------------------------- */

int
build_stage_rootfs (struct build *b, struct build_stage *s, struct hoist_error **err)
{
  if (s->rootfs == NULL && build_rootfs_new (b->tmp_dir, &s->rootfs, err) < 0)
    return -1;
  for (size_t i = build_rootfs_layers (s->rootfs); i < s->n_layers; i++)
    if (build_rootfs_apply (s->rootfs, b->store, &s->layers[i], err) < 0)
      {
        build_rootfs_free (s->rootfs);
        s->rootfs = NULL;
        return hoist_error_wrap (err, "cannot materialise the image's file system");
      }
  return 0;
}

/* ---- Layers ------------------------------------------------------------------------------ */

/* Write one layer through FILL into a new blob of the store. */
int
build_write_layer (struct build *b, layer_fill_fn fill, void *data, struct builder_descriptor *layer,
                   char diff_id[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  const struct builder_build_opts *o = b->opts;
  struct builder_blob_ingest *ing = NULL;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_opts lo;
  struct builder_layer_result res;
  int64_t size = 0;
  int ret;

  builder_layer_opts_init (&lo);
  lo.compression = o->compression;
  lo.level = o->level;
  lo.threads = o->threads;
  lo.source_date_epoch = o->source_date_epoch;
  if (builder_store_blob_begin (b->store, &ing, err) < 0)
    return -1;
  ret = builder_layer_writer_new (builder_blob_ingest_fd (ing), &lo, &w, err);
  if (ret == 0 && fill != NULL)
    ret = fill (data, w, err);
  if (ret == 0)
    ret = builder_layer_finish (w, &res, err);
  builder_layer_writer_free (w);
  if (ret != 0)
    {
      /* Failed, or (1) nothing to write: no blob either way. */
      builder_store_blob_abort (b->store, ing);
      return ret < 0 ? -1 : 1;
    }
  if (builder_store_blob_commit (b->store, ing, res.digest, 0, &size, err) < 0)
    return -1;
  builder_descriptor_set (layer, builder_compression_media_type (o->compression), res.digest, size);
  memcpy (diff_id, res.diff_id, HOIST_DIGEST_STR_SIZE);
  return 0;
}

struct dirs_fill
{
  char *const *dirs;
  uid_t uid;
  gid_t gid;
  time_t mtime;
};

static int
fill_dirs (void *data, struct builder_layer_writer *w, struct hoist_error **err)
{
  struct dirs_fill *d = data;

  for (size_t i = 0; d->dirs != NULL && d->dirs[i] != NULL; i++)
    {
      struct builder_layer_entry e = {
        .path = d->dirs[i] + 1, /* relative */
        .mode = S_IFDIR | 0755,
        .uid = d->uid,
        .gid = d->gid,
        .mtime = { .tv_sec = d->mtime },
        .fd = -1,
      };
      if (builder_layer_add (w, &e, err) < 0)
        return -1;
    }
  return 0;
}

int
build_write_dirs_layer (struct build *b, char *const *dirs, uid_t uid, gid_t gid, struct builder_descriptor *layer,
                        char diff_id[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  /* As the copy helper dates the parents it creates: SOURCE_DATE_EPOCH,
   * else 0, so the layer is the same on every run. */
  struct dirs_fill d = { dirs, uid, gid, b->opts->source_date_epoch >= 0 ? (time_t) b->opts->source_date_epoch : 0 };

  return build_write_layer (b, fill_dirs, &d, layer, diff_id, err);
}

static int
fill_copy (void *data, struct builder_layer_writer *w, struct hoist_error **err)
{
  return builder_copy_write (data, w, err);
}

/* ---- The step's key and its end ---------------------------------------------------------- */

int
build_step_key (struct build_stage *s, const struct builder_instruction *in, const char *extra,
                char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  struct build_key k;

  if (build_key_init (&k, "step", err) < 0)
    return -1;
  build_key_add (&k, "parent", s->key);
  build_key_add_insn (&k, in);
  for (size_t i = 0; s->args != NULL && s->args[i] != NULL; i++)
    build_key_add (&k, "scope-arg", s->args[i]);
  build_key_add (&k, "extra", extra);
  build_key_final (&k, out);
  return 0;
}

void
build_log_layer (struct build *b, unsigned id, const struct build_cache_record *rec, const char *what)
{
  char size[32];

  if (!rec->has_layer)
    return;
  build_format_size (rec->layer.size, size, sizeof size);
  build_progress_log (b, id, "%s layer %.19s %s", what, rec->layer.digest, size);
}

/* Look KEY up unless --no-cache.  1: hit, REC filled. */
int
build_step_lookup (struct build *b, const char *key, struct build_cache_record *rec)
{
  if (b->opts->no_cache || b->cache == NULL)
    {
      build_cache_record_init (rec);
      return 0;
    }
  return build_cache_lookup (b->cache, key, b->store, rec);
}

/* Record REC (a new step) and put its layer and history into S. */
int
build_step_end (struct build *b, struct build_stage *s, const char *key, struct build_cache_record *rec, bool cached,
                struct hoist_error **err)
{
  cleanup_error struct hoist_error *cerr = NULL;

  if (!cached && build_cache_store (b->cache, key, rec, &cerr) < 0)
    hoist_log (HOIST_LOG_DEBUG, "%s", cerr->msg);
  if (rec->has_layer)
    {
      if (build_stage_add_layer (s, &rec->layer, rec->diff_id, rec->created, rec->created_by, err) < 0)
        return -1;
    }
  else
    builder_image_config_add_history (s->cfg, rec->created, rec->created_by, BUILD_HISTORY_COMMENT, true);
  memcpy (s->key, key, HOIST_DIGEST_STR_SIZE);
  free (s->last_created);
  s->last_created = hoist_xstrdup (rec->created);
  if (cached)
    b->cached++;
  else
    b->run++;
  return 0;
}

/* ---- COPY and ADD ---------------------------------------------------------------------------- */

/* $NAME and ${NAME} in a heredoc body, from the stage's ENV and ARGs;
 * "\$" is a literal '$'.  The fuller forms (${V:-x} ...) are left as
 * written. */
static char *
expand_body (const struct build_stage *s, const char *body)
{
  struct hoist_buf out;

  hoist_buf_init (&out, HOIST_BUF_NO_LIMIT);
  for (const char *p = body; *p != '\0';)
    {
      size_t len = 0;
      const char *name = NULL, *value = NULL;
      cleanup_free char *key = NULL;

      if (p[0] == '\\' && p[1] == '$')
        {
          build_buf_addch (&out, '$');
          p += 2;
          continue;
        }
      if (p[0] == '$' && p[1] == '{')
        {
          name = p + 2;
          len = strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
          if (name[len] != '}')
            len = 0;
        }
      else if (p[0] == '$')
        {
          name = p + 1;
          len = strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        }
      if (len == 0)
        {
          build_buf_addch (&out, *p++);
          continue;
        }
      key = hoist_xstrndup (name, len);
      value = builder_image_config_get_env (s->cfg, key);
      for (size_t i = 0; s->args != NULL && s->args[i] != NULL; i++)
        if (strncmp (s->args[i], key, len) == 0 && s->args[i][len] == '=' && value == NULL)
          value = s->args[i] + len + 1;
      build_buf_addstr (&out, value != NULL ? value : "");
      p = name + len + (p[1] == '{' ? 1 : 0);
    }
  return hoist_buf_detach (&out, NULL);
}

int
build_source_of (struct build *b, const char *from, int from_stage, struct builder_copy_source *src,
                 struct hoist_error **err)
{
  struct build_named *n;

  if (from == NULL)
    {
      if (build_main_context (b, &src->context, err) < 0)
        return -1;
      return 0;
    }
  if (from_stage >= 0)
    {
      for (size_t i = 0; i < b->opts->plan->n_stages; i++)
        if (b->stages[i].built && (int) b->stages[i].stage->index == from_stage)
          {
            if (build_stage_rootfs (b, &b->stages[i], err) < 0)
              return -1;
            src->root_dir = build_rootfs_path (b->stages[i].rootfs);
            return 0;
          }
      return hoist_error_set_status (err, EINVAL, "--from=%s: the stage is not built", from);
    }
  n = build_named_find (b, from);
  if (n == NULL)
    return hoist_error_set_status (err, ENOTSUP, "--from=%s: no stage or build context is named '%s'", from, from);
  if (n->dir != NULL)
    {
      if (build_named_context (b, n, err) < 0)
        return -1;
      src->context = n->ctx;
      return 0;
    }
  if (build_named_image (b, n, err) < 0 || build_stage_rootfs (b, n->image, err) < 0)
    return -1;
  src->root_dir = build_rootfs_path (n->image->rootfs);
  return 0;
}

/* Where the sources of IN are (its --from). */
static int
copy_source (struct build *b, const struct builder_instruction *in, struct builder_copy_source *src,
             struct hoist_error **err)
{
  const char *from = NULL;

  for (size_t f = 0; f < in->n_flags; f++)
    if (strcmp (in->flags[f].name, "from") == 0)
      from = in->flags[f].value;
  return build_source_of (b, from, in->from_stage, src, err);
}

static bool
chown_has_names (const char *chown)
{
  if (chown == NULL)
    return false;
  for (const char *p = chown; *p != '\0'; p++)
    if ((*p < '0' || *p > '9') && *p != ':')
      return true;
  return false;
}

/* "COPY a b /dest": sources as written, heredocs as "<<NAME" after them,
 * as BuildKit's history has it. */
static char *
copy_created_by (const struct builder_instruction *in)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, builder_keyword_name (in->keyword));
  for (size_t i = 0; i + 1 < in->n_args; i++)
    if (strncmp (in->args[i], "<<", 2) != 0 || in->n_heredocs == 0)
      build_buf_addf (&b, " %s", in->args[i]);
  for (size_t i = 0; i < in->n_heredocs; i++)
    build_buf_addf (&b, " <<%s", in->heredocs[i].name);
  build_buf_addf (&b, " %s # buildkit", in->n_args > 0 ? in->args[in->n_args - 1] : "");
  return hoist_buf_detach (&b, NULL);
}

struct copy_step
{
  struct builder_copy_request req;
  struct builder_copy_source src;
  struct builder_copy_plan *plan;
  struct builder_heredoc *docs;
  size_t n_docs;
};

static void
copy_step_release (struct copy_step *c)
{
  builder_copy_plan_free (c->plan);
  builder_copy_request_release (&c->req);
  for (size_t i = 0; i < c->n_docs; i++)
    free (c->docs[i].body);
  free (c->docs);
}

static int
copy_prepare (struct build *b, struct build_stage *s, const struct builder_instruction *in, struct copy_step *c,
              struct hoist_error **err)
{
  if (builder_copy_request_init (&c->req, in, err) < 0)
    return -1;
  c->req.workdir = s->cfg->config.working_dir;
  c->req.source_date_epoch = b->opts->source_date_epoch;
  c->req.tmp_dir = b->tmp_dir;
  if (in->n_heredocs > 0)
    {
      c->docs = hoist_xcalloc (in->n_heredocs, sizeof (*c->docs));
      for (size_t i = 0; i < in->n_heredocs; i++)
        {
          c->docs[i] = in->heredocs[i];
          c->docs[i].body
              = in->heredocs[i].expand ? expand_body (s, in->heredocs[i].body) : hoist_xstrdup (in->heredocs[i].body);
        }
      c->n_docs = in->n_heredocs;
      c->req.heredocs = c->docs;
      c->req.n_heredocs = c->n_docs;
    }
  if (copy_source (b, in, &c->src, err) < 0)
    return -1;
  if (chown_has_names (c->req.chown) && s->n_layers > 0)
    {
      if (build_stage_rootfs (b, s, err) < 0)
        return -1;
      c->req.image_root = build_rootfs_path (s->rootfs);
    }
  if (builder_copy_resolve (&c->src, &c->req, &c->plan, err) == 0)
    return 0;
  /* Only the root can tell (a destination that must be a directory of
   * the image, say): try again with it, and let that answer stand. */
  if (c->req.image_root != NULL || s->n_layers == 0)
    return -1;
  if (err != NULL)
    {
      hoist_error_free (*err);
      *err = NULL;
    }
  if (build_stage_rootfs (b, s, err) < 0)
    return -1;
  c->req.image_root = build_rootfs_path (s->rootfs);
  return builder_copy_resolve (&c->src, &c->req, &c->plan, err);
}

/* What an ADD fetched, once per URL and digest, for the provenance. */
static void
note_urls (struct build *b, const struct builder_copy_plan *p)
{
  size_t n;
  const struct builder_build_dep *u = builder_copy_plan_urls (p, &n);

  for (size_t i = 0; i < n; i++)
    {
      bool seen = false;

      for (size_t j = 0; j < b->n_url_deps && !seen; j++)
        seen = strcmp (b->url_deps[j].name, u[i].name) == 0 && strcmp (b->url_deps[j].digest, u[i].digest) == 0;
      if (seen)
        continue;
      b->url_deps = hoist_xreallocarray (b->url_deps, b->n_url_deps + 1, sizeof *b->url_deps);
      b->url_deps[b->n_url_deps] = (struct builder_build_dep){ .name = hoist_xstrdup (u[i].name) };
      memcpy (b->url_deps[b->n_url_deps++].digest, u[i].digest, sizeof u[i].digest);
    }
}

static int
copy_write (struct build *b, struct build_stage *s, unsigned id, struct copy_step *c, struct build_cache_record *rec,
            struct hoist_error **err)
{
  /* The key was computed without the root; the layer needs it. */
  if (c->req.image_root == NULL && s->n_layers > 0)
    {
      if (build_stage_rootfs (b, s, err) < 0)
        return -1;
      c->req.image_root = build_rootfs_path (s->rootfs);
      builder_copy_plan_free (c->plan);
      c->plan = NULL;
      if (builder_copy_resolve (&c->src, &c->req, &c->plan, err) < 0)
        return -1;
    }
  build_progress_log (b, id, "copying %zu entries", builder_copy_plan_count (c->plan));
  if (build_write_layer (b, fill_copy, c->plan, &rec->layer, rec->diff_id, err) < 0)
    return -1;
  rec->has_layer = true;
  return 0;
}

static int
step_copy (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id,
           struct hoist_error **err)
{
  struct copy_step c = { 0 };
  struct build_cache_record rec;
  char digest[HOIST_DIGEST_STR_SIZE], key[HOIST_DIGEST_STR_SIZE], now[BUILDER_TIME_STR_SIZE];
  const char *dest_arg = in->n_args > 0 ? in->args[in->n_args - 1] : "";
  cleanup_free char *dest = abs_path (s->cfg->config.working_dir, dest_arg);
  bool cached = false;
  int ret;

  build_cache_record_init (&rec);
  ret = copy_prepare (b, s, in, &c, err);
  if (ret == 0)
    note_urls (b, c.plan);
  if (ret == 0)
    ret = builder_copy_digest (c.plan, digest, err);
  if (ret == 0)
    ret = build_step_key (s, in, digest, key, err);
  if (ret == 0)
    cached = build_step_lookup (b, key, &rec) > 0;
  if (ret == 0 && !cached)
    {
      ret = build_time_now (b, now, err);
      rec.created = hoist_xstrdup (now);
      rec.created_by = copy_created_by (in);
      if (ret == 0)
        ret = copy_write (b, s, id, &c, &rec, err);
    }
  if (ret == 0)
    {
      build_log_layer (b, id, &rec, cached ? "reused" : "wrote");
      hoist_strv_push (&s->dests, dest);
      note_dirs (s, dest, dest_arg[0] != '\0' && dest_arg[strlen (dest_arg) - 1] == '/');
      ret = build_step_end (b, s, key, &rec, cached, err);
    }
  build_cache_record_release (&rec);
  copy_step_release (&c);
  return ret < 0 ? ret : (cached ? 1 : 0);
}

/* ---- WORKDIR ------------------------------------------------------------------------------------- */

/* True when an earlier layer may hold P: the base's (unknown until the
 * root is materialised), or one of this build's layers written at or
 * above P. */
static bool
may_exist (const struct build_stage *s, const char *p)
{
  if (s->n_base_layers > 0)
    return true;
  for (size_t i = 0; s->dests != NULL && s->dests[i] != NULL; i++)
    if (path_within (p, s->dests[i]))
      return true;
  return false;
}

/* The directories of WD (absolute, clean) that do not exist yet, parents
 * first, into *MISSING. */
static int
workdir_missing (struct build *b, struct build_stage *s, const char *wd, char ***missing, struct hoist_error **err)
{
  cleanup_free char *p = hoist_xstrdup (wd);
  bool absent = false;

  for (char *q = p + 1;; q++)
    {
      if (*q == '/' || *q == '\0')
        {
          char saved = *q;
          struct stat st;

          *q = '\0';
          if (!absent && !strv_has (s->known_dirs, p))
            {
              if (!may_exist (s, p))
                absent = true;
              else
                {
                  if (build_stage_rootfs (b, s, err) < 0)
                    return -1;
                  if (build_rootfs_stat (s->rootfs, p, &st) == 0)
                    absent = true;
                  else if (!S_ISDIR (st.st_mode))
                    return hoist_error_set_status (err, ENOTDIR, "WORKDIR: '%s' exists and is not a directory", p);
                }
            }
          if (absent)
            hoist_strv_push (missing, p);
          *q = saved;
          if (saved == '\0')
            break;
        }
    }
  return 0;
}

/* The owner BuildKit gives WORKDIR's new directories: the USER. */
static int
workdir_owner (struct build *b, struct build_stage *s, uid_t *uid, gid_t *gid, struct hoist_error **err)
{
  const char *user = s->cfg->config.user;

  *uid = 0;
  *gid = 0;
  if (user == NULL || *user == '\0')
    return 0;
  if (chown_has_names (user) && s->n_layers > 0 && build_stage_rootfs (b, s, err) < 0)
    return -1;
  return build_rootfs_user (s->rootfs, user, uid, gid, err);
}

static int
workdir_write (struct build *b, struct build_stage *s, const char *wd, struct build_cache_record *rec,
               struct hoist_error **err)
{
  cleanup_strv char **missing = NULL;
  uid_t uid;
  gid_t gid;

  if (strcmp (wd, "/") == 0)
    return 0;
  if (workdir_missing (b, s, wd, &missing, err) < 0)
    return -1;
  if (missing == NULL)
    return 0;
  if (workdir_owner (b, s, &uid, &gid, err) < 0)
    return hoist_error_wrap (err, "WORKDIR");
  if (build_write_dirs_layer (b, missing, uid, gid, &rec->layer, rec->diff_id, err) < 0)
    return -1;
  rec->has_layer = true;
  return 0;
}

static int
step_workdir (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id,
              struct hoist_error **err)
{
  struct build_cache_record rec;
  char key[HOIST_DIGEST_STR_SIZE], now[BUILDER_TIME_STR_SIZE];
  cleanup_free char *wd = NULL;
  bool cached = false;
  int ret;

  if (in->n_args == 0 || in->args[0][0] == '\0')
    return hoist_error_set_status (err, EINVAL, "WORKDIR: cannot normalize nothing");
  wd = abs_path (s->cfg->config.working_dir, in->args[0]);
  free (s->cfg->config.working_dir);
  s->cfg->config.working_dir = hoist_xstrdup (wd);
  build_cache_record_init (&rec);
  ret = build_step_key (s, in, wd, key, err);
  if (ret == 0)
    cached = build_step_lookup (b, key, &rec) > 0;
  if (ret == 0 && !cached)
    {
      ret = build_time_now (b, now, err);
      rec.created = hoist_xstrdup (now);
      rec.created_by = hoist_xasprintf ("WORKDIR %s", wd);
      rec.empty_layer = true;
      if (ret == 0)
        ret = workdir_write (b, s, wd, &rec, err);
      rec.empty_layer = !rec.has_layer;
    }
  if (ret == 0)
    {
      build_log_layer (b, id, &rec, cached ? "reused" : "wrote");
      note_dirs (s, wd, true);
      ret = build_step_end (b, s, key, &rec, cached, err);
    }
  build_cache_record_release (&rec);
  return ret < 0 ? ret : (cached ? 1 : 0);
}

int
build_step_layer (struct build *b, size_t si, const struct builder_instruction *in, unsigned id,
                  struct hoist_error **err)
{
  struct build_stage *s = &b->stages[si];

  if (in->keyword == BUILDER_KW_WORKDIR)
    return step_workdir (b, s, in, id, err);
  if (in->keyword == BUILDER_KW_RUN)
    return build_step_run (b, s, in, id, err);
  return step_copy (b, s, in, id, err);
}

int
build_step_meta (struct build *b, struct build_stage *s, const struct builder_instruction *in, struct hoist_error **err)
{
  struct build_cache_record rec;
  char key[HOIST_DIGEST_STR_SIZE], now[BUILDER_TIME_STR_SIZE];
  cleanup_free char *created_by = NULL;
  bool cached;
  int ret;

  /* The config change is replayed every time; the cache only keeps the
   * time of the history entry, so a cached rebuild is byte-identical. */
  if (build_step_key (s, in, "", key, err) < 0 || build_config_apply (b, s, in, &created_by, err) < 0)
    return -1;
  cached = build_step_lookup (b, key, &rec) > 0 && !rec.has_layer;
  if (!cached)
    {
      build_cache_record_release (&rec);
      if (build_time_now (b, now, err) < 0)
        return -1;
      rec.created = hoist_xstrdup (now);
      rec.created_by = hoist_xstrdup (created_by != NULL ? created_by : "");
      rec.empty_layer = true;
    }
  if (created_by == NULL)
    {
      /* ONBUILD: no history line, only the key chain moves on. */
      memcpy (s->key, key, HOIST_DIGEST_STR_SIZE);
      if (!cached)
        {
          cleanup_error struct hoist_error *cerr = NULL;
          if (build_cache_store (b->cache, key, &rec, &cerr) < 0)
            hoist_log (HOIST_LOG_DEBUG, "%s", cerr->msg);
        }
      build_cache_record_release (&rec);
      return 0;
    }
  /* The line is what this build makes of the instruction, whatever an
   * older hoist recorded. */
  free (rec.created_by);
  rec.created_by = steal_pointer (&created_by);
  ret = build_step_end (b, s, key, &rec, cached, err);
  build_cache_record_release (&rec);
  return ret;
}
