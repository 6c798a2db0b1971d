/* build_exec.c — `hoist build` once its flags are checked: each platform
 * built (one, or each of --platform A,B), the attestations made
 * (provenance; see builder/attest.c), the result named (tags in hoist's
 * store, or -o outputs) and pushed.  Progress is BuildKit's plain output.
 *
 * The result is an image index when there are attestations or several
 * platforms (as buildx pushes it), the image manifest itself otherwise
 * (--provenance=false on one platform). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "registry/registry.h"
#include "runner/build_private.h"

/* ---- Progress -------------------------------------------------------------------- */

/* BuildKit's plain progress: "#4 [2/3] COPY . /app", "#4 DONE 0.4s", a
 * blank line between steps.  tty and auto print the same for now. */
static void
progress_print (void *data, const struct builder_progress *ev)
{
  struct progress_out *p = data;

  if (p->quiet)
    return;
  switch (ev->kind)
    {
    case BUILDER_PROGRESS_START:
      hoist_log_print ("%s#%u %s", p->started ? "\n" : "", ev->id, ev->text);
      p->started = true;
      break;
    case BUILDER_PROGRESS_LOG:
      hoist_log_print ("#%u %s", ev->id, ev->text);
      break;
    case BUILDER_PROGRESS_CACHED:
      hoist_log_print ("#%u CACHED", ev->id);
      break;
    case BUILDER_PROGRESS_DONE:
      hoist_log_print ("#%u DONE %.1fs", ev->id, ev->seconds);
      break;
    case BUILDER_PROGRESS_ERROR:
      hoist_log_print ("#%u ERROR: %s", ev->id, ev->text);
      break;
    }
}

static void
progress_note (void *ctx, const char *line)
{
  struct progress_out *po = ctx;

  if (!po->quiet)
    hoist_log_print ("%s", line);
}

/* A failure of the builder: exit 3 for what is not built yet. */
static int
fail_error (struct hoist_error *err)
{
  int code = err != NULL && err->status == ENOTSUP ? HOIST_EXIT_UNSUPPORTED : HOIST_EXIT_FAILURE;

  runner_fail_error (err);
  return code;
}

/* ---- Provenance ------------------------------------------------------------------- */

/* buildx's switch for the attestations it adds by default. */
static bool
no_default_attestations (void)
{
  const char *none = getenv ("BUILDX_NO_DEFAULT_ATTESTATIONS");

  return none != NULL && *none != '\0' && strcmp (none, "0") != 0 && strcmp (none, "false") != 0;
}

int
runner_sbom_format (const char *sbom, const char *format, enum builder_sbom_format *out)
{
  bool on = !no_default_attestations ();

  if (sbom != NULL && runner_parse_bool ("build", "--sbom", sbom, &on) != 0)
    return HOIST_EXIT_USAGE;
  if (format == NULL || strcmp (format, "spdx") == 0 || strcmp (format, "spdx-json") == 0)
    *out = BUILDER_SBOM_SPDX;
  else if (strcmp (format, "cyclonedx") == 0 || strcmp (format, "cyclonedx-json") == 0)
    *out = BUILDER_SBOM_CYCLONEDX;
  else
    return runner_usage_error ("build", "--sbom-format must be spdx or cyclonedx, not '%s'", format);
  if (!on)
    *out = BUILDER_SBOM_NONE;
  return 0;
}

int
runner_provenance_mode (const char *value, enum builder_provenance_mode *out)
{
  if (value == NULL)
    *out = no_default_attestations () ? BUILDER_PROVENANCE_OFF : BUILDER_PROVENANCE_MIN;
  else if (strcmp (value, "true") == 0 || strcmp (value, "1") == 0 || strcmp (value, "mode=min") == 0)
    *out = BUILDER_PROVENANCE_MIN;
  else if (strcmp (value, "mode=max") == 0)
    *out = BUILDER_PROVENANCE_MAX;
  else if (strcmp (value, "false") == 0 || strcmp (value, "0") == 0)
    *out = BUILDER_PROVENANCE_OFF;
  else
    return runner_usage_error ("build", "--provenance must be true, false, mode=min or mode=max, not '%s'", value);
  return 0;
}

/* A random UUID (version 4), the invocation id when the caller gives
 * none. */
static void
uuid4 (char out[37])
{
  unsigned char b[16];
  size_t got = 0;

  while (got < sizeof b)
    {
      ssize_t n = getrandom (b + got, sizeof b - got, 0);
      if (n > 0)
        got += (size_t) n;
    }
  b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
  snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
            b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *
env_or_null (const char *name)
{
  const char *v = getenv (name);

  return v != NULL && *v != '\0' ? v : NULL;
}

/* The Dockerfile's path as provenance gives it: relative to the context
 * when it is inside. */
static const char *
dockerfile_in_context (const char *context, const char *path)
{
  size_t n = strlen (context);

  while (n > 1 && context[n - 1] == '/')
    n--;
  if (strncmp (path, context, n) == 0 && path[n] == '/')
    return path + n + strspn (path + n, "/");
  return path;
}

/* The statements' subject: "pkg:docker/NAME@TAG" of the first -t name. */
static char *
subject_name (const struct build_run *r)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;

  if (r->tags == NULL || r->tags[0] == NULL)
    return NULL;
  builder_tag_split (r->tags[0], &repo, &tag);
  return hoist_xasprintf ("pkg:docker/%s@%s", repo, tag != NULL ? tag : "latest");
}

/* ---- Each platform ----------------------------------------------------------------- */

struct built
{
  struct builder_plan *plan; /* NULL: the run's own plan */
  struct builder_build_result res;
  char *platform;
};

static char *
platform_text (const struct builder_descriptor *d)
{
  const struct builder_platform *p = d->platform;

  if (p == NULL)
    return NULL;
  return hoist_xasprintf ("%s/%s%s%s", p->os, p->architecture, p->variant != NULL ? "/" : "",
                          p->variant != NULL ? p->variant : "");
}

static int
build_one (const struct build_flags *f, struct build_run *r, const char *platform, bool several, struct built *out,
           struct hoist_error **err)
{
  struct builder_build_opts o = r->opts;
  int ret = 0;

  o.tags = NULL;
  o.outputs = NULL;
  o.n_outputs = 0;
  if (several)
    {
      struct builder_plan_opts popts = { .build_args = f->build_args, .target = f->target, .platform = platform };

      o.platform = platform;
      ret = builder_plan_new (r->df, &popts, &out->plan, err);
      o.plan = out->plan;
    }
  if (ret == 0)
    ret = builder_build (&o, &out->res, err);
  if (ret < 0)
    return several ? hoist_error_wrap (err, "platform %s", platform) : -1;
  out->platform = platform_text (&out->res.manifest);
  return 0;
}

/* ---- The result ----------------------------------------------------------------------- */

/* Several platforms, no attestations: an index of the images. */
static int
plain_index (struct build_run *r, const struct built *v, size_t n, struct builder_descriptor *root,
             struct hoist_error **err)
{
  struct builder_index *idx = builder_index_new ();
  json_t *doc;
  int ret;

  for (size_t i = 0; i < n; i++)
    builder_index_add (idx, &v[i].res.manifest);
  doc = builder_index_to_json (idx);
  ret = builder_store_put_json (r->store, doc, BUILDER_MT_OCI_INDEX, root, err);
  json_decref (doc);
  builder_index_free (idx);
  return ret;
}

static int
attest (const struct build_flags *f, struct build_run *r, const struct built *v, size_t n,
        enum builder_provenance_mode mode, enum builder_sbom_format sbom, int64_t started,
        struct builder_attest_result *out, struct hoist_error **err)
{
  struct builder_attest_image *images = hoist_xcalloc (n, sizeof *images);
  cleanup_free char *subject = subject_name (r);
  cleanup_free char *sbom_cache
      = r->home != NULL && !r->opts.no_cache ? hoist_xasprintf ("%s/cache/sbom", r->home) : NULL;
  char invocation[37];
  struct builder_attest_opts o = {
    .sbom = sbom,
    .image_name = r->tags != NULL ? r->tags[0] : NULL,
    .sbom_created = r->opts.source_date_epoch >= 0 ? r->opts.source_date_epoch : (int64_t) time (NULL),
    .sbom_cache_dir = sbom_cache,
    .subject_name = subject,
    .provenance = {
      .mode = mode,
      .builder_id = env_or_null ("HOIST_BUILDER_ID"),
      .invocation_id = env_or_null ("HOIST_INVOCATION_ID"),
      .source = r->opts.source,
      .ref = env_or_null ("HOIST_REF"),
      .revision = r->opts.revision,
      .dockerfile_path = dockerfile_in_context (f->context, r->dockerfile),
      .dockerfile_text = r->dockerfile_text,
      .target = f->target,
      .build_args = f->build_args,
      .started_on = started,
      .finished_on = (int64_t) time (NULL),
      .source_date_epoch = r->opts.source_date_epoch,
    },
  };
  char created[BUILDER_TIME_STR_SIZE];
  int ret;

  /* A reproducible build (SOURCE_DATE_EPOCH) records no wall-clock time
   * and no random id, so that its index is reproducible too; both are
   * optional in SLSA v1. */
  if (r->opts.source_date_epoch >= 0)
    o.provenance.started_on = o.provenance.finished_on = -1;
  else if (o.provenance.invocation_id == NULL)
    {
      uuid4 (invocation);
      o.provenance.invocation_id = invocation;
    }
  if (builder_format_time (r->opts.source_date_epoch >= 0 ? r->opts.source_date_epoch : (int64_t) time (NULL), created,
                           err)
      < 0)
    {
      free (images);
      return -1;
    }
  o.created = created;
  for (size_t i = 0; i < n; i++)
    images[i] = (struct builder_attest_image){
      .manifest = v[i].res.manifest,
      .platform = v[i].platform,
      .res = &v[i].res,
      .plan = v[i].plan != NULL ? v[i].plan : r->plan,
    };
  ret = builder_attest (r->store, images, n, &o, out, err);
  free (images);
  return ret;
}

/* Sign IMAGE as pushed to TAG's repository with KEY, and push the
 * signature under "sha256-<hex>.sig" there. */
static int
sign_pushed (struct build_run *r, const struct builder_sign_key *key, const struct builder_descriptor *image,
             const char *tag, const struct builder_push_opts *o, struct hoist_error **err)
{
  struct registry_ref ref = { 0 };
  struct builder_descriptor sig;
  struct builder_push_result res;
  cleanup_free char *repo = NULL;
  cleanup_free char *dest = NULL;
  int ret;

  builder_descriptor_init (&sig);
  ret = registry_ref_parse (tag, &ref, err);
  if (ret == 0)
    {
      repo = registry_ref_repository (&ref);
      dest = builder_sign_tag (repo, image->digest);
      ret = builder_sign_image (r->store, key, repo, image->digest, &sig, err);
    }
  if (ret == 0)
    ret = builder_push_image (r->store, &sig, dest, o, &res, err);
  builder_descriptor_release (&sig);
  registry_ref_release (&ref);
  return ret;
}

/* Push IMAGE to every -t name, its referrers REFS (the attestations as
 * OCI 1.1 artifacts) beside it, and its signature with KEY. */
static int
build_push (const struct build_flags *f, struct build_run *r, const struct builder_descriptor *image,
            const struct builder_descriptor *refs, size_t n_refs, const struct builder_sign_key *key,
            char *const *bases, bool quiet, struct builder_push_result *sum)
{
  struct runner_transfer live = { 0 };
  struct builder_push_opts o = { .registry = f->registry, .quiet = quiet, .mount_from = bases };

  if (runner_transfer_wanted (quiet))
    {
      o.progress = runner_transfer_progress;
      o.progress_ctx = &live;
    }
  for (size_t i = 0; r->tags != NULL && r->tags[i] != NULL; i++)
    {
      struct builder_push_result res;
      struct hoist_error *err = NULL;

      if (builder_push_image (r->store, image, r->tags[i], &o, &res, &err) < 0
          || (n_refs > 0 && builder_push_referrers (r->store, image, refs, n_refs, r->tags[i], &o, &res, &err) < 0)
          || (key != NULL && sign_pushed (r, key, image, r->tags[i], &o, &err) < 0))
        {
          hoist_error_wrap (&err, "cannot push '%s'", r->tags[i]);
          runner_fail_error (err);
          return -1;
        }
      if (n_refs > 0 && !quiet)
        hoist_log_print ("pushed %zu referrers in %zu requests", n_refs, res.round_trips);
      sum->bytes_pushed += res.bytes_pushed;
      sum->blobs_pushed += res.blobs_pushed;
    }
  return 0;
}

/* --iidfile and --metadata-file: what was built (and pushed), for the
 * program that ran the build (hoist serve's worker reads them). */
static int
write_result (const struct build_flags *f, const struct build_run *r, const struct builder_descriptor *root,
              const struct builder_push_result *sum)
{
  struct hoist_error *err = NULL;
  cleanup_free char *names = NULL;
  char *text;
  json_t *o;
  int ret = 0;

  if (f->iidfile != NULL)
    {
      cleanup_free char *line = hoist_xasprintf ("%s", root->digest);
      ret = hoist_replace_file (f->iidfile, line, strlen (line), 0644, &err);
    }
  if (ret == 0 && f->metadata_file != NULL)
    {
      for (size_t i = 0; r->tags != NULL && r->tags[i] != NULL; i++)
        {
          char *more = hoist_xasprintf ("%s%s%s", names ? names : "", i == 0 ? "" : ",", r->tags[i]);
          free (names);
          names = more;
        }
      o = json_pack ("{s:s, s:{s:s, s:s, s:I}, s:s, s:b, s:I, s:I}", "containerimage.digest", root->digest,
                     "containerimage.descriptor", "mediaType", root->media_type, "digest", root->digest, "size",
                     (json_int_t) root->size, "image.name", names ? names : "", "hoist.pushed", f->push,
                     "hoist.bytes_pushed", (json_int_t) sum->bytes_pushed, "hoist.blobs_pushed",
                     (json_int_t) sum->blobs_pushed);
      text = o != NULL ? json_dumps (o, JSON_INDENT (2) | JSON_SORT_KEYS) : NULL;
      if (text == NULL)
        abort ();
      ret = hoist_replace_file (f->metadata_file, text, strlen (text), 0644, &err);
      free (text);
      json_decref (o);
    }
  if (ret < 0)
    return runner_fail_error (err);
  return 0;
}

static void
say_built (const struct build_run *r, const struct builder_descriptor *root, const struct built *v, size_t n,
           bool quiet)
{
  cleanup_free char *tags = NULL;
  size_t layers = 0, cached = 0, run = 0;

  if (quiet)
    {
      printf ("%s\n", root->digest);
      return;
    }
  for (size_t i = 0; r->tags != NULL && r->tags[i] != NULL; i++)
    {
      char *more = hoist_xasprintf ("%s%s%s", tags ? tags : "", i == 0 ? ": " : ", ", r->tags[i]);
      free (tags);
      tags = more;
    }
  for (size_t i = 0; i < n; i++)
    {
      layers += v[i].res.n_layers;
      cached += v[i].res.steps_cached;
      run += v[i].res.steps_run;
    }
  if (n > 1)
    hoist_log_print ("\nhoist: built index %s (%zu platforms, %zu steps cached, %zu run)%s", root->digest, n, cached,
                     run, tags ? tags : "");
  else if (strcmp (root->digest, v[0].res.manifest.digest) != 0)
    hoist_log_print ("\nhoist: built %s (%zu layers, %zu steps cached, %zu run; index %s with attestations)%s",
                     v[0].res.manifest.digest, layers, cached, run, root->digest, tags ? tags : "");
  else
    hoist_log_print ("\nhoist: built %s (%zu layers, %zu steps cached, %zu run)%s", root->digest, layers, cached, run,
                     tags ? tags : "");
}

int
runner_build_execute (const struct build_flags *f, struct build_run *r)
{
  struct progress_out po = { .quiet = f->progress != NULL && strcmp (f->progress, "quiet") == 0 };
  char *one[2] = { (char *) f->platform, NULL };
  char **platforms = r->platforms != NULL ? r->platforms : one;
  size_t n = r->platforms != NULL ? hoist_strv_len (r->platforms) : 1;
  struct built *v = hoist_xcalloc (n, sizeof *v);
  struct builder_attest_result att = { 0 };
  struct builder_sign_key *key = NULL;
  struct builder_descriptor root;
  struct builder_push_result pushed = { 0 };
  enum builder_provenance_mode mode;
  enum builder_sbom_format sbom = BUILDER_SBOM_NONE;
  struct hoist_error *err = NULL;
  cleanup_strv char **bases = NULL;
  int64_t started = (int64_t) time (NULL);
  int code = 0, ret = 0;

  builder_descriptor_init (&root);
  builder_descriptor_init (&att.root);
  /* The key first: a wrong passphrase should not wait for the build. */
  if (f->sign_key != NULL && builder_sign_key_load (f->sign_key, true, &key, &err) < 0)
    code = runner_fail_error (err);
  if (code == 0)
    code = runner_provenance_mode (f->provenance, &mode);
  if (code == 0)
    code = runner_sbom_format (f->sbom, f->sbom_format, &sbom);
  r->opts.progress = progress_print;
  r->opts.progress_data = &po;
  for (size_t i = 0; code == 0 && ret == 0 && i < n; i++)
    ret = build_one (f, r, platforms[i], r->platforms != NULL, &v[i], &err);
  if (code == 0 && ret == 0 && (mode != BUILDER_PROVENANCE_OFF || sbom != BUILDER_SBOM_NONE))
    {
      ret = attest (f, r, v, n, mode, sbom, started, &att, &err);
      if (ret == 0)
        builder_descriptor_copy (&root, &att.root);
    }
  else if (code == 0 && ret == 0 && n > 1)
    ret = plain_index (r, v, n, &root, &err);
  else if (code == 0 && ret == 0)
    builder_descriptor_copy (&root, &v[0].res.manifest);
  if (code == 0 && ret == 0)
    ret = builder_publish (r->store, &root, att.referrers, att.n_referrers, r->tags, r->outputs, r->opts.n_outputs,
                           progress_note, &po, &err);
  if (code == 0 && ret < 0)
    code = fail_error (err);
  if (code == 0)
    say_built (r, &root, v, n, po.quiet);
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; v[i].res.bases != NULL && v[i].res.bases[b] != NULL; b++)
      hoist_strv_push (&bases, v[i].res.bases[b]);
  if (code == 0 && f->push
      && build_push (f, r, &root, att.referrers, att.n_referrers, key, bases, po.quiet, &pushed) < 0)
    code = HOIST_EXIT_FAILURE;
  if (code == 0)
    code = write_result (f, r, &root, &pushed);
  for (size_t i = 0; i < n; i++)
    {
      builder_build_result_release (&v[i].res);
      builder_plan_free (v[i].plan);
      free (v[i].platform);
    }
  free (v);
  builder_attest_result_release (&att);
  builder_descriptor_release (&root);
  builder_sign_key_free (key);
  return code;
}
