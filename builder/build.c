/* build.c — the stage executor: runs a build plan stage by stage, step by
 * step, and writes the target image (config, manifest, tags, outputs).
 *
 * Order of work, so that a build that cannot finish fails before it
 * writes anything worth keeping: every base and every COPY --from is
 * checked (and pulled) first (build_check_sources); then each stage starts
 * from its base and runs its instructions (build_step.c and build_run.c
 * for the ones that make layers, build_config.c for the others); the target's config and
 * manifest go into the store, and only then are tags and outputs written.
 *
 * Progress is BuildKit's plain output as events: "#1 [internal] load
 * build definition from Dockerfile", "#4 [2/3] COPY . /app", "#4 CACHED" or
 * "#4 DONE 0.4s"; the caller formats them. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/build_private.h"

#define EMPTY_LAYER_CREATED_BY "hoist: empty layer (an OCI image manifest needs at least one)"
#define EMPTY_LAYER_COMMENT "hoist"

/* ---- Progress ------------------------------------------------------------------- */

static void
emit (struct build *b, enum builder_progress_kind kind, unsigned id, const char *text, double seconds)
{
  struct builder_progress ev = { kind, id, text, seconds };

  if (b->opts->progress != NULL)
    b->opts->progress (b->opts->progress_data, &ev);
}

unsigned
build_progress_start (struct build *b, const char *fmt, ...)
{
  cleanup_free char *text = NULL;
  va_list ap;
  unsigned id = ++b->next_id;

  va_start (ap, fmt);
  if (vasprintf (&text, fmt, ap) < 0)
    abort ();
  va_end (ap);
  emit (b, BUILDER_PROGRESS_START, id, text, 0);
  return id;
}

void
build_progress_log (struct build *b, unsigned id, const char *fmt, ...)
{
  cleanup_free char *text = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&text, fmt, ap) < 0)
    abort ();
  va_end (ap);
  emit (b, BUILDER_PROGRESS_LOG, id, text, 0);
}

void
build_progress_end (struct build *b, unsigned id, bool cached, double seconds)
{
  emit (b, cached ? BUILDER_PROGRESS_CACHED : BUILDER_PROGRESS_DONE, id, NULL, seconds);
}

double
build_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
build_format_size (int64_t size, char *out, size_t n)
{
  /* go-units HumanSize, as BuildKit prints sizes: decimal units. */
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
  double v = (double) size;
  size_t u = 0;

  while (v >= 1000 && u + 1 < sizeof units / sizeof units[0])
    {
      v /= 1000;
      u++;
    }
  snprintf (out, n, "%.4g%s", v, units[u]);
}

const char *
build_df_name (const struct build *b)
{
  return b->opts->dockerfile_path != NULL ? b->opts->dockerfile_path : "Dockerfile";
}

int
build_time_now (const struct build *b, char out[BUILDER_TIME_STR_SIZE], struct hoist_error **err)
{
  int64_t t = b->opts->source_date_epoch >= 0 ? b->opts->source_date_epoch : (int64_t) time (NULL);

  return builder_format_time (t, out, err);
}

/* ---- The build context -------------------------------------------------------------- */

static char *
context_cache_path (struct build *b)
{
  cleanup_free char *name = NULL;

  if (b->opts->home == NULL || b->ctx == NULL || builder_context_cache_name (b->ctx, &name, NULL) < 0)
    return NULL;
  return hoist_xasprintf ("%s/cache/%s", b->opts->home, name);
}

int
build_main_context (struct build *b, struct builder_context **out, struct hoist_error **err)
{
  struct builder_context_opts co = { .ignore = b->ignore };
  struct builder_context_stats st;
  cleanup_free char *cache = NULL;
  cleanup_free char *note = NULL;
  double t0 = build_now ();
  unsigned id;

  if (b->ctx != NULL)
    {
      *out = b->ctx;
      return 0;
    }
  id = build_progress_start (b, "[internal] load build context");
  if (builder_context_open (b->opts->context_dir, &co, &b->ctx, err) < 0)
    {
      emit (b, BUILDER_PROGRESS_ERROR, id, err != NULL && *err != NULL ? (*err)->msg : "failed", 0);
      return -1;
    }
  cache = context_cache_path (b);
  if (cache != NULL)
    builder_context_cache_load (b->ctx, cache, &note);
  if (note != NULL)
    hoist_log (HOIST_LOG_DEBUG, "%s", note);
  builder_context_stats (b->ctx, &st);
  build_progress_log (b, id, "transferring context: %zu entries, %zu digests cached done", st.entries,
                      st.cache_records);
  build_progress_end (b, id, false, build_now () - t0);
  *out = b->ctx;
  return 0;
}

/* Keep what the context learnt for the next build; failing to is only
 * slower next time. */
static void
context_cache_save (struct build *b)
{
  cleanup_free char *path = context_cache_path (b);
  cleanup_free char *dir = NULL;
  cleanup_error struct hoist_error *err = NULL;

  if (path == NULL)
    return;
  dir = hoist_xasprintf ("%s/cache", b->opts->home);
  (void) mkdir (dir, 0755);
  if (builder_context_cache_save (b->ctx, path, &err) < 0)
    hoist_log (HOIST_LOG_DEBUG, "context digest cache not saved: %s", err->msg);
}

/* NAME.dockerignore beside the Dockerfile replaces the context's own. */
static int
load_dockerfile_ignore (struct build *b, struct hoist_error **err)
{
  const char *df = b->opts->dockerfile_path;
  cleanup_free char *path = NULL;
  cleanup_buf struct hoist_buf text;

  hoist_buf_init (&text, BUILDER_IGNORE_MAX);
  if (df == NULL || strcmp (df, "-") == 0)
    return 0;
  path = hoist_xasprintf ("%s.dockerignore", df);
  if (access (path, F_OK) < 0)
    return 0;
  if (hoist_buf_read_file (&text, path, err) < 0 || builder_ignore_parse (text.data, text.len, &b->ignore, err) < 0)
    return hoist_error_wrap (err, "'%s'", path);
  return 0;
}

/* ---- Layers of a stage ------------------------------------------------------------------ */

int
build_stage_add_layer (struct build_stage *s, const struct builder_descriptor *layer, const char *diff_id,
                       const char *created, const char *created_by, struct hoist_error **err)
{
  if (builder_image_config_add_layer (s->cfg, diff_id, created, created_by, BUILD_HISTORY_COMMENT, err) < 0)
    return -1;
  s->layers = hoist_xreallocarray (s->layers, s->n_layers + 1, sizeof (*s->layers));
  builder_descriptor_copy (&s->layers[s->n_layers], layer);
  s->n_layers++;
  return 0;
}

/* ---- Stages ---------------------------------------------------------------------------- */

/* "[build 2/4] " as BuildKit prefixes a step: the stage name (or
 * stage-N) when the plan has more than one stage. */
static char *
stage_prefix (const struct build *b, const struct builder_stage *st)
{
  if (b->opts->plan->n_stages < 2)
    return hoist_xstrdup ("");
  if (st->name != NULL)
    return hoist_xasprintf ("%s ", st->name);
  return hoist_xasprintf ("stage-%zu ", st->index);
}

static bool
makes_layer (enum builder_keyword kw)
{
  return kw == BUILDER_KW_COPY || kw == BUILDER_KW_ADD || kw == BUILDER_KW_WORKDIR || kw == BUILDER_KW_RUN;
}

/* One instruction of stage SI; STEP/TOTAL number it in the progress. */
static int
run_instruction (struct build *b, size_t si, const struct builder_instruction *in, const char *prefix, size_t step,
                 size_t total, struct hoist_error **err)
{
  struct build_stage *s = &b->stages[si];
  double t0 = build_now ();
  unsigned id;
  int r;

  if (!makes_layer (in->keyword))
    {
      if (build_step_meta (b, s, in, err) < 0)
        return hoist_error_wrap (err, "%s:%d", build_df_name (b), in->line);
      return 0;
    }
  id = build_progress_start (b, "[%s%zu/%zu] %s", prefix, step, total, in->original);
  r = build_step_layer (b, si, in, id, err);
  if (r < 0)
    {
      hoist_error_wrap (err, "%s:%d", build_df_name (b), in->line);
      emit (b, BUILDER_PROGRESS_ERROR, id, err != NULL && *err != NULL ? (*err)->msg : "failed", 0);
      return -1;
    }
  build_progress_end (b, id, r > 0, build_now () - t0);
  return 0;
}

/* The ONBUILD triggers of a base image, run right after FROM as Docker
 * does: each is planned as a one-instruction Dockerfile. */
static int
run_triggers (struct build *b, size_t si, char *const *triggers, const char *prefix, struct hoist_error **err)
{
  const struct builder_stage *st = &b->opts->plan->stages[si];

  for (size_t i = 0; triggers != NULL && triggers[i] != NULL; i++)
    {
      cleanup_free char *text = hoist_xasprintf ("FROM scratch\n%s\n", triggers[i]);
      struct builder_dockerfile *df = NULL;
      struct builder_plan *plan = NULL;
      struct builder_plan_opts po = { .build_args = b->opts->build_args, .platform = b->opts->platform };
      int ret;

      ret = builder_dockerfile_parse (build_df_name (b), text, strlen (text), &df, err);
      if (ret == 0)
        ret = builder_plan_new (df, &po, &plan, err);
      for (size_t j = 0; ret == 0 && j < plan->stages[0].n_instructions; j++)
        {
          struct builder_instruction *in = &plan->stages[0].instructions[j];
          in->line = in->end_line = st->line;
          ret = run_instruction (b, si, in, prefix, 1, 1, err);
        }
      builder_plan_free (plan);
      builder_dockerfile_free (df);
      if (ret < 0)
        return hoist_error_wrap (err, "ONBUILD trigger of the base image");
    }
  return 0;
}

static int
run_stage (struct build *b, size_t si, struct hoist_error **err)
{
  const struct builder_stage *st = &b->opts->plan->stages[si];
  cleanup_free char *prefix = stage_prefix (b, st);
  cleanup_strv char **triggers = NULL;
  size_t total = 1, step = 1;
  double t0 = build_now ();
  unsigned id;

  for (size_t i = 0; i < st->n_instructions; i++)
    if (makes_layer (st->instructions[i].keyword))
      total++;
  id = build_progress_start (b, "[%s%zu/%zu] FROM %s", prefix, step, total, st->base);
  if (build_stage_start (b, si, &triggers, err) < 0)
    {
      emit (b, BUILDER_PROGRESS_ERROR, id, err != NULL && *err != NULL ? (*err)->msg : "failed", 0);
      return -1;
    }
  if (st->base_stage < 0 && strcmp (st->base, "scratch") != 0)
    {
      const struct build_named *n = build_named_find (b, st->base);
      if (n != NULL && n->image != NULL && n->pulled != NULL)
        build_progress_log (b, id, "resolve %s@%s done", n->pulled, n->resolved);
      else if (n != NULL && n->image != NULL)
        build_progress_log (b, id, "resolve oci-layout://%s@%s done", n->layout, n->image->key);
    }
  build_progress_end (b, id, false, build_now () - t0);
  if (run_triggers (b, si, triggers, prefix, err) < 0)
    return -1;
  for (size_t i = 0; i < st->n_instructions; i++)
    {
      const struct builder_instruction *in = &st->instructions[i];
      if (makes_layer (in->keyword))
        step++;
      if (run_instruction (b, si, in, prefix, step, total, err) < 0)
        return -1;
    }
  b->stages[si].built = true;
  return 0;
}

/* ---- The image ----------------------------------------------------------------------------- */

static int
set_labels (struct build *b, struct build_stage *s, const char *created, struct hoist_error **err)
{
  const struct builder_build_opts *o = b->opts;
  struct builder_map *labels = &s->cfg->config.labels;

  builder_map_set (labels, BUILDER_ANNOTATION_CREATED, created);
  if (o->source != NULL)
    builder_map_set (labels, "org.opencontainers.image.source", o->source);
  if (o->revision != NULL)
    builder_map_set (labels, "org.opencontainers.image.revision", o->revision);
  for (size_t i = 0; o->labels != NULL && o->labels[i] != NULL; i++)
    {
      const char *eq = strchr (o->labels[i], '=');
      cleanup_free char *key = NULL;
      if (eq == NULL || eq == o->labels[i])
        return hoist_error_set_status (err, EINVAL, "--label needs KEY=VALUE, got '%s'", o->labels[i]);
      key = hoist_xstrndup (o->labels[i], (size_t) (eq - o->labels[i]));
      builder_map_set (labels, key, eq + 1);
    }
  return 0;
}

/* The OCI schema wants at least one layer; an image with none (FROM
 * scratch and metadata only) gets one empty tar, as the layer writer
 * ends every tar: 1 KiB of zeros. */
static int
add_empty_layer (struct build *b, struct build_stage *s, const char *created, struct hoist_error **err)
{
  struct builder_descriptor layer;
  char diff_id[HOIST_DIGEST_STR_SIZE];
  int ret;

  builder_descriptor_init (&layer);
  ret = build_write_dirs_layer (b, NULL, 0, 0, &layer, diff_id, err);
  if (ret == 0)
    ret = builder_image_config_add_layer (s->cfg, diff_id, created, EMPTY_LAYER_CREATED_BY, EMPTY_LAYER_COMMENT, err);
  if (ret == 0)
    {
      s->layers = hoist_xreallocarray (s->layers, s->n_layers + 1, sizeof (*s->layers));
      builder_descriptor_copy (&s->layers[s->n_layers++], &layer);
    }
  builder_descriptor_release (&layer);
  return ret;
}

static int
write_manifest (struct build *b, struct build_stage *s, struct builder_build_result *res, struct hoist_error **err)
{
  cleanup_json json_t *cfg_json = builder_image_config_to_json (s->cfg);
  cleanup_json json_t *m_json = NULL;
  struct builder_manifest *m = builder_manifest_new ();
  struct builder_platform plat = { s->cfg->architecture, s->cfg->os, s->cfg->variant, NULL, NULL };
  int ret;

  ret = builder_store_put_json (b->store, cfg_json, BUILDER_MT_OCI_CONFIG, &m->config, err);
  for (size_t i = 0; ret == 0 && i < s->n_layers; i++)
    builder_manifest_add_layer (m, &s->layers[i]);
  if (ret == 0)
    {
      m_json = builder_manifest_to_json (m);
      ret = builder_store_put_json (b->store, m_json, BUILDER_MT_OCI_MANIFEST, &res->manifest, err);
    }
  if (ret == 0)
    {
      res->manifest.platform = builder_platform_copy (&plat);
      memcpy (res->config_digest, m->config.digest, HOIST_DIGEST_STR_SIZE);
      res->n_layers = s->n_layers;
    }
  builder_manifest_free (m);
  return ret;
}

struct publish_note
{
  struct build *b;
  unsigned id;
};

static void
publish_note (void *ctx, const char *line)
{
  struct publish_note *n = ctx;

  build_progress_log (n->b, n->id, "%s", line);
}

/* Tags and outputs, once the image is whole. */
static int
publish (struct build *b, unsigned id, const struct builder_descriptor *desc, struct hoist_error **err)
{
  const struct builder_build_opts *o = b->opts;
  struct publish_note note = { b, id };

  return builder_publish (b->store, desc, NULL, 0, o->tags, o->outputs, o->n_outputs, publish_note, &note, err);
}

static int
finish_image (struct build *b, struct build_stage *s, struct builder_build_result *res, struct hoist_error **err)
{
  char created[BUILDER_TIME_STR_SIZE];
  double t0 = build_now ();
  unsigned id = build_progress_start (b, "exporting to image");
  int ret;

  if (b->opts->source_date_epoch >= 0 || s->last_created == NULL)
    ret = build_time_now (b, created, err);
  else
    {
      /* The time of the newest step: a cached rebuild keeps it. */
      snprintf (created, sizeof created, "%s", s->last_created);
      ret = 0;
    }
  if (ret == 0)
    {
      free (s->cfg->created);
      s->cfg->created = hoist_xstrdup (created);
      ret = set_labels (b, s, created, err);
    }
  if (ret == 0 && s->n_layers == 0)
    ret = add_empty_layer (b, s, created, err);
  if (ret == 0)
    ret = write_manifest (b, s, res, err);
  if (ret == 0)
    {
      build_progress_log (b, id, "exporting layers done");
      build_progress_log (b, id, "exporting config %s done", res->config_digest);
      build_progress_log (b, id, "exporting manifest %s done", res->manifest.digest);
      ret = publish (b, id, &res->manifest, err);
    }
  if (ret < 0)
    {
      emit (b, BUILDER_PROGRESS_ERROR, id, err != NULL && *err != NULL ? (*err)->msg : "failed", 0);
      return -1;
    }
  build_progress_end (b, id, false, build_now () - t0);
  return 0;
}

/* ---- Setup and teardown ---------------------------------------------------------------------- */

static int
make_tmp_dir (struct build *b, struct hoist_error **err)
{
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *t = hoist_xasprintf ("%s/hoist-build-XXXXXX", tmp != NULL && *tmp == '/' ? tmp : "/tmp");

  if (mkdtemp (t) == NULL)
    return hoist_error_set (err, errno, "cannot create a temp directory '%s'", t);
  b->tmp_dir = steal_pointer (&t);
  return 0;
}

static int
build_setup (struct build *b, const struct builder_build_opts *opts, struct hoist_error **err)
{
  b->opts = opts;
  b->store = opts->store;
  if (opts->plan == NULL || opts->plan->n_stages == 0 || opts->store == NULL || opts->context_dir == NULL)
    return hoist_error_set_status (err, EINVAL, "builder_build: a plan, a store and a context are needed");
  if (opts->platform != NULL)
    builder_platform_split (opts->platform, &b->os, &b->arch, &b->variant);
  else
    builder_host_platform (&b->os, &b->arch, &b->variant);
  if (opts->home != NULL)
    b->cache = build_cache_new (opts->home);
  if (hoist_strv_len (opts->tags) > BUILDER_BUILD_LIST_MAX || hoist_strv_len (opts->labels) > BUILDER_BUILD_LIST_MAX)
    return hoist_error_set_status (err, E2BIG, "too many -t or --label values (at most %u)", BUILDER_BUILD_LIST_MAX);
  b->stages = hoist_xcalloc (opts->plan->n_stages, sizeof (*b->stages));
  if (build_named_parse (b, err) < 0 || load_dockerfile_ignore (b, err) < 0)
    return -1;
  return make_tmp_dir (b, err);
}

static void
build_teardown (struct build *b)
{
  for (size_t i = 0; i < b->n_url_deps; i++)
    free (b->url_deps[i].name);
  free (b->url_deps);
  for (size_t i = 0; b->stages != NULL && i < b->opts->plan->n_stages; i++)
    build_stage_release (&b->stages[i]);
  free (b->stages);
  build_named_release (b);
  builder_context_free (b->ctx);
  builder_ignore_free (b->ignore);
  build_cache_free (b->cache);
  if (b->tmp_dir != NULL)
    (void) hoist_rmtree_at (AT_FDCWD, b->tmp_dir, NULL);
  free (b->tmp_dir);
  free (b->os);
  free (b->arch);
  free (b->variant);
}

/* True when a COPY or ADD of PLAN reads the build context. */
static bool
plan_reads_context (const struct builder_plan *plan)
{
  for (size_t si = 0; si < plan->n_stages; si++)
    for (size_t i = 0; i < plan->stages[si].n_instructions; i++)
      {
        const struct builder_instruction *in = &plan->stages[si].instructions[i];
        bool from = false;
        if (in->keyword != BUILDER_KW_COPY && in->keyword != BUILDER_KW_ADD)
          continue;
        for (size_t f = 0; f < in->n_flags; f++)
          from = from || strcmp (in->flags[f].name, "from") == 0;
        if (!from)
          return true;
      }
  return false;
}

void
builder_build_result_release (struct builder_build_result *res)
{
  builder_descriptor_release (&res->manifest);
  hoist_strv_free (res->bases);
  for (size_t i = 0; i < res->n_deps; i++)
    free (res->deps[i].name);
  free (res->deps);
  memset (res, 0, sizeof *res);
  builder_descriptor_init (&res->manifest);
}

int
builder_build (const struct builder_build_opts *opts, struct builder_build_result *res, struct hoist_error **err)
{
  struct build b = { 0 };
  const struct builder_plan *plan = opts->plan;
  const char *df = opts->dockerfile_path != NULL ? opts->dockerfile_path : "Dockerfile";
  const char *slash = strrchr (df, '/');
  unsigned id;
  int ret;

  memset (res, 0, sizeof *res);
  builder_descriptor_init (&res->manifest);
  ret = build_setup (&b, opts, err);
  if (ret == 0)
    {
      id = build_progress_start (&b, "[internal] load build definition from %s", slash != NULL ? slash + 1 : df);
      build_progress_end (&b, id, false, 0);
      ret = build_check_sources (&b, err);
    }
  /* BuildKit loads the context before the steps that read it. */
  if (ret == 0 && plan_reads_context (plan))
    {
      struct builder_context *ctx;
      ret = build_main_context (&b, &ctx, err);
    }
  for (size_t si = 0; ret == 0 && si < plan->n_stages; si++)
    ret = run_stage (&b, si, err);
  if (ret == 0)
    ret = finish_image (&b, &b.stages[plan->n_stages - 1], res, err);
  if (ret == 0)
    {
      res->steps_cached = b.cached;
      res->steps_run = b.run;
      res->deps = hoist_xcalloc (b.n_named + b.n_url_deps + 1, sizeof *res->deps);
      for (size_t i = 0; i < b.n_url_deps; i++)
        {
          res->deps[res->n_deps] = (struct builder_build_dep){ .name = steal_pointer (&b.url_deps[i].name) };
          memcpy (res->deps[res->n_deps++].digest, b.url_deps[i].digest, sizeof b.url_deps[i].digest);
        }
      for (size_t i = 0; i < b.n_named; i++)
        {
          const struct build_named *n = &b.named[i];
          struct builder_build_dep *d = &res->deps[res->n_deps];

          if (n->pulled != NULL)
            hoist_strv_push (&res->bases, n->pulled);
          if (n->image == NULL)
            continue;
          d->pulled = n->pulled != NULL;
          d->name = n->pulled != NULL ? hoist_xstrdup (n->pulled)
                                      : hoist_xasprintf ("oci-layout://%s%s%s", n->layout,
                                                         n->ref == NULL                        ? ""
                                                         : strncmp (n->ref, "sha256:", 7) == 0 ? "@"
                                                                                               : ":",
                                                         n->ref != NULL ? n->ref : "");
          memcpy (d->digest, n->pulled != NULL ? n->resolved : n->image->key, sizeof d->digest);
          res->n_deps++;
        }
    }
  if (b.ctx != NULL)
    context_cache_save (&b);
  build_teardown (&b);
  if (ret < 0)
    builder_build_result_release (res);
  return ret;
}
