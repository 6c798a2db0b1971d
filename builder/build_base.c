/* build_base.c — where a stage starts: scratch, an earlier stage, an
 * image in a local OCI layout named with --build-context (buildx's
 * convention: `--build-context alpine=oci-layout:///path[:tag]`), or an
 * image of a registry; and the named directory contexts COPY --from may
 * read.  A registry image is pulled into the build's own store before any
 * step runs: its tag is resolved every build, as BuildKit does, and only
 * the blobs the store lacks are fetched. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "builder/build_private.h"

#define OCI_LAYOUT_SCHEME "oci-layout://"
/* Index inside index: how deep a base image's index may nest. */
#define INDEX_DEPTH_MAX 4
#define COPY_CHUNK (256u * 1024)

/* ---- References ------------------------------------------------------------- */

/* The first component of a reference is a registry when it has a '.' or
 * a ':' or is "localhost", as Docker's reference parser decides. */
static bool
is_domain (const char *s, size_t len)
{
  return memchr (s, '.', len) != NULL || memchr (s, ':', len) != NULL || (len == 9 && strncmp (s, "localhost", 9) == 0);
}

char *
builder_ref_familiar (const char *ref)
{
  const char *slash = strchr (ref, '/');
  const char *rest = ref;
  size_t len;
  char *out;

  if (slash != NULL && is_domain (ref, (size_t) (slash - ref)))
    {
      size_t dl = (size_t) (slash - ref);
      if (!((dl == 9 && strncmp (ref, "docker.io", 9) == 0) || (dl == 15 && strncmp (ref, "index.docker.io", 15) == 0)))
        rest = NULL; /* another registry: the name stays whole */
      else
        rest = slash + 1;
    }
  if (rest == NULL)
    out = hoist_xstrdup (ref);
  else
    {
      /* docker.io/library/alpine -> alpine, but not library/a/b. */
      if (rest != ref && strncmp (rest, "library/", 8) == 0 && strchr (rest + 8, '/') == NULL)
        rest += 8;
      out = hoist_xstrdup (rest);
    }
  len = strlen (out);
  if (len > 7 && strcmp (out + len - 7, ":latest") == 0 && strchr (out, '@') == NULL)
    out[len - 7] = '\0';
  return out;
}

/* ---- Named contexts ------------------------------------------------------------ */

/* "oci-layout:///path[:tag]" or "...@sha256:<hex>": PATH and REF. */
static int
parse_layout_src (const char *src, char **path, char **ref, struct hoist_error **err)
{
  const char *p = src + strlen (OCI_LAYOUT_SCHEME);
  const char *slash = strrchr (p, '/');
  const char *at = strchr (slash != NULL ? slash : p, '@');
  const char *colon = strchr (slash != NULL ? slash : p, ':');
  const char *end = at != NULL ? at : colon;

  if (*p == '\0')
    return hoist_error_set_status (err, EINVAL, "--build-context '%s': the layout path is missing", src);
  *path = end != NULL ? hoist_xstrndup (p, (size_t) (end - p)) : hoist_xstrdup (p);
  *ref = NULL;
  if (at != NULL)
    {
      if (!hoist_digest_valid (at + 1))
        return hoist_error_set_status (err, EINVAL, "--build-context '%s': invalid digest '%s'", src, at + 1);
      *ref = hoist_xstrdup (at + 1);
    }
  else if (colon != NULL)
    *ref = hoist_xstrdup (colon + 1);
  if (**path == '\0' || (*ref != NULL && **ref == '\0'))
    return hoist_error_set_status (err, EINVAL, "--build-context '%s': expected oci-layout:///path[:tag]", src);
  return 0;
}

static int
named_parse_one (struct build_named *n, const char *spec, struct hoist_error **err)
{
  const char *eq = strchr (spec, '=');
  cleanup_free char *name = NULL;
  const char *src;

  if (eq == NULL || eq == spec || eq[1] == '\0')
    return hoist_error_set_status (err, EINVAL, "--build-context needs NAME=SOURCE, got '%s'", spec);
  name = hoist_xstrndup (spec, (size_t) (eq - spec));
  src = eq + 1;
  n->name = builder_ref_familiar (name);
  if (strncmp (src, OCI_LAYOUT_SCHEME, strlen (OCI_LAYOUT_SCHEME)) == 0)
    return parse_layout_src (src, &n->layout, &n->ref, err);
  if (strstr (src, "://") != NULL)
    return hoist_error_set_status (
        err, ENOTSUP, "--build-context '%s': only oci-layout:// sources and directories are supported yet", spec);
  n->dir = hoist_xstrdup (src);
  return 0;
}

int
build_named_parse (struct build *b, struct hoist_error **err)
{
  size_t n = hoist_strv_len (b->opts->build_contexts);

  if (n > BUILDER_BUILD_LIST_MAX)
    return hoist_error_set_status (err, E2BIG, "too many --build-context values (at most %u)", BUILDER_BUILD_LIST_MAX);
  b->named = hoist_xcalloc (n + 1, sizeof (*b->named));
  for (size_t i = 0; i < n; i++)
    {
      if (named_parse_one (&b->named[i], b->opts->build_contexts[i], err) < 0)
        return -1;
      b->n_named++;
      for (size_t j = 0; j < i; j++)
        if (strcmp (b->named[j].name, b->named[i].name) == 0)
          return hoist_error_set_status (err, EINVAL, "--build-context '%s' is given twice", b->named[i].name);
    }
  return 0;
}

void
build_stage_release (struct build_stage *s)
{
  builder_image_config_free (s->cfg);
  for (size_t i = 0; i < s->n_layers; i++)
    builder_descriptor_release (&s->layers[i]);
  free (s->layers);
  hoist_strv_free (s->args);
  hoist_strv_free (s->known_dirs);
  hoist_strv_free (s->dests);
  build_rootfs_free (s->rootfs);
  free (s->last_created);
  memset (s, 0, sizeof *s);
}

void
build_named_release (struct build *b)
{
  for (size_t i = 0; i < b->n_named; i++)
    {
      struct build_named *n = &b->named[i];
      free (n->name);
      free (n->dir);
      free (n->layout);
      free (n->ref);
      free (n->pulled);
      builder_context_free (n->ctx);
      if (n->image != NULL)
        build_stage_release (n->image);
      free (n->image);
    }
  free (b->named);
  b->named = NULL;
  b->n_named = 0;
}

struct build_named *
build_named_find (struct build *b, const char *ref)
{
  cleanup_free char *f = builder_ref_familiar (ref);

  for (size_t i = 0; i < b->n_named; i++)
    if (strcmp (b->named[i].name, f) == 0)
      return &b->named[i];
  return NULL;
}

int
build_named_context (struct build *b, struct build_named *n, struct hoist_error **err)
{
  if (n->ctx != NULL)
    return 0;
  if (builder_context_open (n->dir, NULL, &n->ctx, err) < 0)
    return hoist_error_wrap (err, "--build-context %s", n->name);
  (void) b;
  return 0;
}

/* ---- Images from OCI layouts ------------------------------------------------------ */

/* Copy blob DIGEST (SIZE bytes) from SRC into DST, checked on the way. */
static int
ingest_blob (struct builder_store *src, struct builder_store *dst, const char *digest, int64_t size,
             struct hoist_error **err)
{
  cleanup_close int in = -1;
  cleanup_free char *chunk = NULL;
  struct builder_blob_ingest *ing = NULL;
  int64_t have = 0, got;
  int out;

  if (builder_store_has_blob (dst, digest))
    return 0;
  if (builder_store_blob_open (src, digest, &in, &got, err) < 0)
    return -1;
  if (got != size)
    return hoist_error_set_status (err, EBADMSG, "blob '%s' is %lld bytes but its descriptor says %lld", digest,
                                   (long long) got, (long long) size);
  if (builder_store_blob_begin (dst, &ing, err) < 0)
    return -1;
  out = builder_blob_ingest_fd (ing);
  chunk = hoist_xmalloc (COPY_CHUNK);
  while (have < size)
    {
      ssize_t r = read (in, chunk, COPY_CHUNK);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          builder_store_blob_abort (dst, ing);
          return hoist_error_set (err, r < 0 ? errno : EBADMSG, "cannot read blob '%s'", digest);
        }
      for (ssize_t off = 0; off < r;)
        {
          ssize_t w = write (out, chunk + off, (size_t) (r - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int e = errno;
              builder_store_blob_abort (dst, ing);
              return hoist_error_set (err, e, "cannot write blob '%s'", digest);
            }
          off += w;
        }
      have += r;
    }
  return builder_store_blob_commit (dst, ing, digest, BUILDER_BLOB_VERIFY, NULL, err);
}

/* The entry of the layout's index.json that REF names: a digest, a
 * ref.name, or (REF NULL) "latest" or else the only entry. */
static int
layout_entry (const struct build_named *n, struct builder_descriptor *out, struct hoist_error **err)
{
  cleanup_free char *path = hoist_xasprintf ("%s/index.json", n->layout);
  cleanup_buf struct hoist_buf text;
  cleanup_json json_t *j = NULL;
  struct builder_index *idx = NULL;
  const char *want = n->ref != NULL ? n->ref : "latest";
  ssize_t found = -1;
  json_error_t jerr;

  hoist_buf_init (&text, BUILDER_LAYOUT_INDEX_MAX);
  if (hoist_buf_read_file (&text, path, err) < 0)
    return hoist_error_wrap (err, "OCI layout '%s'", n->layout);
  j = json_loadb (text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL)
    return hoist_error_set_status (err, EINVAL, "OCI layout '%s': index.json: %s", n->layout, jerr.text);
  if (builder_index_from_json (j, &idx, err) < 0)
    return hoist_error_wrap (err, "OCI layout '%s'", n->layout);
  for (size_t i = 0; i < idx->n_manifests && found < 0; i++)
    {
      const char *name = builder_map_get (&idx->manifests[i].annotations, BUILDER_ANNOTATION_REF_NAME);
      if (strcmp (idx->manifests[i].digest, want) == 0 || (name != NULL && strcmp (name, want) == 0))
        found = (ssize_t) i;
    }
  if (found < 0 && n->ref == NULL && idx->n_manifests == 1)
    found = 0;
  if (found >= 0)
    builder_descriptor_copy (out, &idx->manifests[found]);
  builder_index_free (idx);
  if (found < 0)
    return hoist_error_set_status (err, ENOENT, "OCI layout '%s' has no image '%s'%s", n->layout, want,
                                   n->ref == NULL ? " and more than one image (hint: name one: oci-layout:///path:TAG)"
                                                  : "");
  return 0;
}

/* Follow DESC through indexes to the manifest for the platform. */
static int
select_manifest (struct builder_store *src, struct builder_descriptor *desc, const char *os, const char *arch,
                 const char *variant, struct builder_manifest **out, struct hoist_error **err)
{
  for (int depth = 0; depth <= INDEX_DEPTH_MAX; depth++)
    {
      cleanup_json json_t *doc = NULL;
      struct builder_index *idx = NULL;
      ssize_t pick = -1;

      if (builder_store_read_json (src, desc->digest, 0, &doc, err) < 0)
        return -1;
      if (builder_media_type_is_manifest (desc->media_type))
        return builder_manifest_from_json (doc, out, err);
      if (!builder_media_type_is_index (desc->media_type))
        return hoist_error_set_status (err, EINVAL, "'%s' is neither an image manifest nor an index", desc->digest);
      if (builder_index_from_json (doc, &idx, err) < 0)
        return -1;
      for (size_t i = 0; i < idx->n_manifests && pick < 0; i++)
        if (builder_platform_matches (idx->manifests[i].platform, os, arch, variant))
          pick = (ssize_t) i;
      if (pick >= 0)
        {
          builder_descriptor_release (desc);
          builder_descriptor_copy (desc, &idx->manifests[pick]);
        }
      builder_index_free (idx);
      if (pick < 0)
        return hoist_error_set_status (err, ENOENT, "the image has no manifest for platform %s/%s%s%s", os, arch,
                                       variant != NULL ? "/" : "", variant != NULL ? variant : "");
    }
  return hoist_error_set_status (err, ELOOP, "image indexes nest too deep");
}

/* An OCI layer media type for one a base image may carry in Docker's
 * words, since hoist writes OCI manifests. */
static const char *
oci_layer_type (const char *mt)
{
  if (strcmp (mt, BUILDER_MT_DOCKER_LAYER_GZIP) == 0)
    return BUILDER_MT_OCI_LAYER_GZIP;
  return mt;
}

/* Load the image DESC of SRC (the build's own store, or a layout whose
 * blobs are copied into it) into IMG.  DESC is released. */
static int
load_image (struct build *b, struct builder_store *src, struct builder_descriptor *desc, struct build_stage *img,
            struct hoist_error **err)
{
  struct builder_manifest *m = NULL;
  cleanup_json json_t *cfg = NULL;
  int ret;

  ret = select_manifest (src, desc, b->os, b->arch, b->variant, &m, err);
  if (ret == 0)
    ret = builder_store_read_json (src, m->config.digest, 0, &cfg, err);
  if (ret == 0)
    ret = builder_image_config_from_json (cfg, &img->cfg, err);
  if (ret == 0 && hoist_strv_len (img->cfg->diff_ids) != m->n_layers)
    ret = hoist_error_set_status (err, EINVAL, "image config lists %zu layers but the manifest %zu",
                                  hoist_strv_len (img->cfg->diff_ids), m->n_layers);
  if (ret == 0)
    ret = ingest_blob (src, b->store, m->config.digest, m->config.size, err);
  img->layers = hoist_xcalloc (m != NULL ? m->n_layers + 1 : 1, sizeof (*img->layers));
  for (size_t i = 0; ret == 0 && i < m->n_layers; i++)
    {
      builder_descriptor_copy (&img->layers[i], &m->layers[i]);
      free (img->layers[i].media_type);
      img->layers[i].media_type = hoist_xstrdup (oci_layer_type (m->layers[i].media_type));
      img->n_layers++;
      ret = ingest_blob (src, b->store, m->layers[i].digest, m->layers[i].size, err);
    }
  if (ret == 0)
    memcpy (img->key, desc->digest, sizeof img->key);
  builder_manifest_free (m);
  builder_descriptor_release (desc);
  return ret;
}

static int
load_layout_image (struct build *b, struct build_named *n, struct build_stage *img, struct hoist_error **err)
{
  struct builder_store *src = NULL;
  struct builder_descriptor desc;
  int ret;

  builder_descriptor_init (&desc);
  ret = builder_store_open (n->layout, false, &src, err);
  if (ret == 0)
    ret = layout_entry (n, &desc, err);
  if (ret == 0)
    ret = load_image (b, src, &desc, img, err);
  builder_descriptor_release (&desc);
  builder_store_free (src);
  return ret;
}

/* NAME, which no stage or --build-context names: an image of a registry,
 * pulled into the build's store and added to the named images. */
static int
pull_named (struct build *b, const char *name, struct build_named **out, struct hoist_error **err)
{
  struct builder_pull_opts po = { .os = b->os, .arch = b->arch, .variant = b->variant, .quiet = true };
  struct builder_pull_result pr;
  char resolved[HOIST_DIGEST_STR_SIZE];
  struct build_named *n;
  struct build_stage *img;

  if (b->opts->registry != NULL)
    po.registry = *b->opts->registry;
  if (builder_pull (b->store, name, &po, &pr, err) < 0)
    return -1;
  hoist_log (HOIST_LOG_DEBUG, "pulled %s: %s (%zu blobs fetched, %zu present)", name, pr.root.digest, pr.blobs_pulled,
             pr.blobs_present);
  memcpy (resolved, pr.root.digest, sizeof resolved);
  img = hoist_xcalloc (1, sizeof (*img));
  if (load_image (b, b->store, &pr.root, img, err) < 0)
    {
      builder_pull_result_release (&pr);
      build_stage_release (img);
      free (img);
      return -1;
    }
  builder_pull_result_release (&pr);
  img->n_base_layers = img->n_layers;
  b->named = hoist_xreallocarray (b->named, b->n_named + 2, sizeof (*b->named));
  n = &b->named[b->n_named++];
  memset (n, 0, sizeof *n);
  memset (n + 1, 0, sizeof *n);
  n->name = builder_ref_familiar (name);
  n->pulled = hoist_xstrdup (name);
  memcpy (n->resolved, resolved, sizeof n->resolved);
  n->image = img;
  *out = n;
  return 0;
}

int
build_named_image (struct build *b, struct build_named *n, struct hoist_error **err)
{
  if (n->image != NULL)
    return 0;
  if (n->layout == NULL)
    return hoist_error_set_status (err, EINVAL,
                                   "--build-context %s is a directory, not an image (hint: use "
                                   "oci-layout:///path for a base image)",
                                   n->name);
  n->image = hoist_xcalloc (1, sizeof (*n->image));
  if (load_layout_image (b, n, n->image, err) < 0)
    {
      build_stage_release (n->image);
      free (n->image);
      n->image = NULL;
      return hoist_error_wrap (err, "--build-context %s", n->name);
    }
  n->image->n_base_layers = n->image->n_layers;
  return 0;
}

/* ---- Checking a plan's sources ------------------------------------------------------ */

static int
check_copy_from (struct build *b, const struct builder_instruction *in, struct hoist_error **err)
{
  struct build_named *n;
  const char *from = NULL;

  for (size_t f = 0; f < in->n_flags; f++)
    if (strcmp (in->flags[f].name, "from") == 0)
      from = in->flags[f].value;
  if (from == NULL || in->from_stage >= 0)
    return 0;
  n = build_named_find (b, from);
  /* Not a stage nor a context: an image, as BuildKit reads it (often a
   * misspelt stage, which the pull's error then names). */
  if (n == NULL && pull_named (b, from, &n, err) < 0)
    return hoist_error_wrap (err, "%s:%d: %s --from=%s (no stage or build context has that name)", build_df_name (b),
                             in->line, builder_keyword_name (in->keyword), from);
  if (n->layout != NULL && build_named_image (b, n, err) < 0)
    return hoist_error_wrap (err, "%s:%d", build_df_name (b), in->line);
  return 0;
}

int
build_check_sources (struct build *b, struct hoist_error **err)
{
  const struct builder_plan *plan = b->opts->plan;

  for (size_t si = 0; si < plan->n_stages; si++)
    {
      const struct builder_stage *st = &plan->stages[si];
      if (strcmp (st->base, "scratch") != 0 && st->base_stage < 0)
        {
          struct build_named *n = build_named_find (b, st->base);
          if (n == NULL && pull_named (b, st->base, &n, err) < 0)
            return hoist_error_wrap (err, "%s:%d: FROM '%s'", build_df_name (b), st->line, st->base);
          if (build_named_image (b, n, err) < 0)
            return hoist_error_wrap (err, "%s:%d: FROM '%s'", build_df_name (b), st->line, st->base);
        }
      for (size_t i = 0; i < st->n_instructions; i++)
        {
          const struct builder_instruction *in = &st->instructions[i];
          if ((in->keyword == BUILDER_KW_COPY || in->keyword == BUILDER_KW_ADD) && check_copy_from (b, in, err) < 0)
            return -1;
        }
    }
  return 0;
}

/* ---- Starting a stage ------------------------------------------------------------------ */

void
builder_host_platform (char **os, char **arch, char **variant)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL },    { "aarch64", "arm64", NULL },   { "arm64", "arm64", NULL },
    { "armv7l", "arm", "v7" },      { "armv6l", "arm", "v6" },      { "i686", "386", NULL },
    { "i386", "386", NULL },        { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
    { "riscv64", "riscv64", NULL },
  };
  struct utsname u;

  *os = hoist_xstrdup ("linux");
  *variant = NULL;
  if (uname (&u) == 0)
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (strcmp (u.machine, map[i].machine) == 0)
        {
          *arch = hoist_xstrdup (map[i].arch);
          *variant = map[i].variant != NULL ? hoist_xstrdup (map[i].variant) : NULL;
          return;
        }
  *arch = hoist_xstrdup (uname (&u) == 0 ? u.machine : "amd64");
}

/* A deep copy of CFG, through its JSON (the one form every member has). */
static int
config_copy (const struct builder_image_config *cfg, struct builder_image_config **out, struct hoist_error **err)
{
  cleanup_json json_t *j = builder_image_config_to_json (cfg);
  return builder_image_config_from_json (j, out, err);
}

/* Take base image IMG (a finished stage or a loaded image) into S. */
static int
stage_from_image (struct build_stage *s, const struct build_stage *img, struct hoist_error **err)
{
  if (config_copy (img->cfg, &s->cfg, err) < 0)
    return -1;
  s->layers = hoist_xcalloc (img->n_layers + 1, sizeof (*s->layers));
  for (size_t i = 0; i < img->n_layers; i++)
    builder_descriptor_copy (&s->layers[i], &img->layers[i]);
  s->n_layers = s->n_base_layers = img->n_layers;
  for (size_t i = 0; img->known_dirs != NULL && img->known_dirs[i] != NULL; i++)
    hoist_strv_push (&s->known_dirs, img->known_dirs[i]);
  for (size_t i = 0; img->dests != NULL && img->dests[i] != NULL; i++)
    hoist_strv_push (&s->dests, img->dests[i]);
  /* A stage with no step of its own is as old as its base. */
  if (img->last_created != NULL)
    s->last_created = hoist_xstrdup (img->last_created);
  else if (img->cfg->created != NULL)
    s->last_created = hoist_xstrdup (img->cfg->created);
  return 0;
}

void
builder_platform_split (const char *p, char **os, char **arch, char **variant)
{
  const char *s1 = strchr (p, '/');
  const char *s2 = s1 != NULL ? strchr (s1 + 1, '/') : NULL;

  *os = s1 != NULL ? hoist_xstrndup (p, (size_t) (s1 - p)) : hoist_xstrdup (p);
  *arch = s1 == NULL ? hoist_xstrdup ("amd64")
                     : (s2 != NULL ? hoist_xstrndup (s1 + 1, (size_t) (s2 - s1 - 1)) : hoist_xstrdup (s1 + 1));
  *variant = s2 != NULL ? hoist_xstrdup (s2 + 1) : NULL;
}

static void
stage_scratch (struct build *b, struct build_stage *s)
{
  char *os = NULL, *arch = NULL, *variant = NULL;

  if (s->stage->platform != NULL)
    builder_platform_split (s->stage->platform, &os, &arch, &variant);
  s->cfg = builder_image_config_new (os != NULL ? os : b->os, arch != NULL ? arch : b->arch);
  if (os == NULL && b->variant != NULL)
    s->cfg->variant = hoist_xstrdup (b->variant);
  else if (variant != NULL)
    s->cfg->variant = steal_pointer (&variant);
  /* What BuildKit's emptyImage gives a stage built from scratch. */
  builder_image_config_set_env (s->cfg, "PATH", BUILD_DEFAULT_PATH);
  s->cfg->config.working_dir = hoist_xstrdup ("/");
  s->layers = hoist_xcalloc (1, sizeof (*s->layers));
  free (os);
  free (arch);
  free (variant);
}

/* The first link of the key chain: the base, and the options that change
 * every layer's bytes. */
static int
stage_base_key (struct build *b, struct build_stage *s, const char *base_id, struct hoist_error **err)
{
  const struct builder_build_opts *o = b->opts;
  struct build_key k;

  if (build_key_init (&k, "base", err) < 0)
    return -1;
  build_key_add (&k, "base", base_id);
  build_key_add (&k, "os", s->cfg->os);
  build_key_add (&k, "arch", s->cfg->architecture);
  build_key_add (&k, "variant", s->cfg->variant);
  build_key_add_int (&k, "compression", o->compression);
  build_key_add_int (&k, "level", o->level);
  build_key_add_int (&k, "epoch", o->source_date_epoch);
  for (size_t i = 0; o->build_args != NULL && o->build_args[i] != NULL; i++)
    build_key_add (&k, "build-arg", o->build_args[i]);
  build_key_final (&k, s->key);
  return 0;
}

int
build_stage_start (struct build *b, size_t si, char ***triggers, struct hoist_error **err)
{
  struct build_stage *s = &b->stages[si];
  const struct builder_stage *st = &b->opts->plan->stages[si];
  char base_id[HOIST_DIGEST_STR_SIZE + 16];

  s->stage = st;
  *triggers = NULL;
  if (st->base_stage >= 0)
    {
      /* The plan maps base_stage to the original index; find it here. */
      const struct build_stage *base = NULL;
      for (size_t i = 0; i < si; i++)
        if (b->stages[i].stage != NULL && (int) b->stages[i].stage->index == st->base_stage)
          base = &b->stages[i];
      if (base == NULL || !base->built)
        return hoist_error_set_status (err, EINVAL, "%s:%d: stage %d is not built", build_df_name (b), st->line,
                                       st->base_stage);
      if (stage_from_image (s, base, err) < 0)
        return -1;
      /* The plan already put the base stage's ONBUILD triggers at the
       * start of this one; they are not inherited any further. */
      hoist_strv_free (s->cfg->config.on_build);
      s->cfg->config.on_build = NULL;
      snprintf (base_id, sizeof base_id, "stage:%s", base->key);
    }
  else if (strcmp (st->base, "scratch") == 0)
    {
      stage_scratch (b, s);
      snprintf (base_id, sizeof base_id, "scratch");
    }
  else
    {
      struct build_named *n = build_named_find (b, st->base);
      if (n == NULL || build_named_image (b, n, err) < 0)
        return hoist_error_wrap (err, "%s:%d: FROM '%s'", build_df_name (b), st->line, st->base);
      if (stage_from_image (s, n->image, err) < 0)
        return -1;
      /* Docker runs a base image's triggers right after FROM, then drops
       * them: grandchildren do not inherit them. */
      *triggers = steal_pointer (&s->cfg->config.on_build);
      if (builder_image_config_get_env (s->cfg, "PATH") == NULL)
        builder_image_config_set_env (s->cfg, "PATH", BUILD_DEFAULT_PATH);
      snprintf (base_id, sizeof base_id, "image:%s", n->image->key);
    }
  return stage_base_key (b, s, base_id, err);
}
