/* cmd_pull.c — `hoist pull REF` (into hoist's store, tagged with the name
 * as given, as `docker pull` does) and `hoist inspect REF` (what the
 * registry holds, as JSON: the manifest, the platforms of an index, the
 * config and the layers, as `skopeo inspect` and `docker buildx
 * imagetools inspect` show them). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "registry/registry.h"
#include "runner/runner.h"

static void
pull_usage (FILE *out, const char *cmd)
{
  if (strcmp (cmd, "pull") == 0)
    fprintf (out, "usage: hoist pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
                  "Pull an image from its registry into hoist's store ($HOIST_HOME/store), tagged\n"
                  "with NAME[:TAG].  For an index, only the platform's image is fetched.\n\n");
  else
    fprintf (out, "usage: hoist inspect [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
                  "Print what the registry holds for NAME as JSON: digest, media type, the\n"
                  "platforms of an index, and the platform's manifest, config and layers.\n\n");
  if (strcmp (cmd, "inspect") == 0)
    fprintf (out, "      --sbom                        print the image's SBOM (its attestation)\n"
                  "      --provenance                  print the image's SLSA provenance\n"
                  "      --signatures                  print the image's signatures (cosign's format)\n");
  fprintf (out, "      --platform OS/ARCH[/VARIANT]  which image of an index (default: this machine's)\n"
                "      --creds USER[:PASS]           credentials (default: docker's config.json)\n"
                "      --tls-verify=BOOL             false: accept any certificate, or plain HTTP\n"
                "      --ca-file FILE                trust the CA certificates in FILE\n"
                "      --retry N                     retries of a failed request (default 4)\n"
                "  -q, --quiet                       pull: no progress; print the digest\n"
                "  -h, --help                        show this help\n");
}

struct pull_flags
{
  struct builder_pull_opts o;
  bool sbom;       /* inspect --sbom */
  bool provenance; /* inspect --provenance */
  bool signatures; /* inspect --signatures */
  const char *platform;
  const char *name;
  char *os, *arch, *variant;
};

static void
pull_flags_release (struct pull_flags *f)
{
  free (f->os);
  free (f->arch);
  free (f->variant);
}

/* Returns 0, 1 after --help, or an exit code > 1... as a negative. */
static int
pull_flags_parse (const char *cmd, int argc, char **argv, struct pull_flags *f)
{
  static const struct option longopts[] = {
    { "platform", required_argument, NULL, 'p' }, RUNNER_REGISTRY_OPTIONS,
    { "quiet", no_argument, NULL, 'q' },          { "sbom", no_argument, NULL, 'S' },
    { "provenance", no_argument, NULL, 'V' },     { "signatures", no_argument, NULL, 'G' },
    { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
  };
  int c, code;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'p':
        f->platform = optarg;
        break;
      case 'q':
        f->o.quiet = true;
        break;
      case 'S':
      case 'V':
      case 'G':
        if (strcmp (cmd, "inspect") != 0)
          return -runner_usage_error (cmd, "unknown option '%s'", argv[optind - 1]);
        *(c == 'S' ? &f->sbom : c == 'V' ? &f->provenance : &f->signatures) = true;
        break;
      case 'h':
        pull_usage (stdout, cmd);
        return 1;
      case ':':
        return -runner_usage_error (cmd, "option '%s' needs a value", argv[optind - 1]);
      case '?':
        return -runner_usage_error (cmd, "unknown option '%s'", argv[optind - 1]);
      default:
        if ((code = runner_registry_flag (cmd, c, optarg, &f->o.registry)) != 0)
          return -code;
      }
  if (argc - optind != 1)
    return -runner_usage_error (cmd, "name one image: hoist %s NAME[:TAG]", cmd);
  f->name = argv[optind];
  if (strncmp (f->name, "docker://", 9) == 0)
    f->name += 9;
  if (f->platform != NULL)
    {
      if (strchr (f->platform, '/') == NULL || strchr (f->platform, ',') != NULL)
        return -runner_usage_error (cmd, "--platform takes one OS/ARCH[/VARIANT], not '%s'", f->platform);
      builder_platform_split (f->platform, &f->os, &f->arch, &f->variant);
    }
  else
    builder_host_platform (&f->os, &f->arch, &f->variant);
  f->o.os = f->os;
  f->o.arch = f->arch;
  f->o.variant = f->variant;
  return 0;
}

int
runner_cmd_pull (int argc, char **argv)
{
  struct pull_flags f = { 0 };
  struct runner_transfer live = { 0 };
  struct builder_pull_result res;
  struct builder_store *store = NULL;
  struct hoist_error *err = NULL;
  cleanup_free char *tag = NULL;
  int r = pull_flags_parse ("pull", argc, argv, &f);
  int code = HOIST_EXIT_OK;

  if (r != 0)
    {
      pull_flags_release (&f);
      return r > 0 ? HOIST_EXIT_OK : -r;
    }
  if (runner_transfer_wanted (f.o.quiet))
    {
      f.o.progress = runner_transfer_progress;
      f.o.progress_ctx = &live;
    }
  /* A name by digest is stored untagged, as docker keeps it. */
  if (strchr (f.name, '@') == NULL && builder_tag_normalize (f.name, &tag, &err) < 0)
    code = runner_fail_error (err);
  if (code == 0 && builder_home_store (true, NULL, &store, &err) < 0)
    code = runner_fail_error (err);
  if (code == 0 && builder_pull (store, f.name, &f.o, &res, &err) < 0)
    code = runner_fail_error (err);
  else if (code == 0)
    {
      if (tag != NULL && builder_store_tag (store, tag, &res.root, &err) < 0)
        code = runner_fail_error (err);
      else if (f.o.quiet)
        printf ("%s\n", res.root.digest);
      else
        hoist_log_print ("pulled %s: %s (%zu blobs fetched, %zu already here)", f.name, res.root.digest,
                         res.blobs_pulled, res.blobs_present);
      builder_pull_result_release (&res);
    }
  builder_store_free (store);
  pull_flags_release (&f);
  return code;
}

/* ---- inspect ------------------------------------------------------------------ */

static json_t *
read_doc (struct builder_store *store, const char *digest, struct hoist_error **err)
{
  json_t *doc = NULL;

  if (builder_store_read_json (store, digest, 0, &doc, err) < 0)
    return NULL;
  return doc;
}

/* The report: name, digest, mediaType, platforms (an index), manifest,
 * config, layers. */
static json_t *
inspect_report (struct builder_store *store, const char *name, const struct builder_pull_result *res,
                struct hoist_error **err)
{
  json_t *out = json_object ();
  json_t *root = read_doc (store, res->root.digest, err);
  json_t *manifest = NULL, *config = NULL, *layers = json_array ();
  int64_t total = 0;
  size_t i;
  json_t *l;

  if (root == NULL)
    goto fail;
  json_object_set_new (out, "name", json_string (name));
  json_object_set_new (out, "digest", json_string (res->root.digest));
  json_object_set_new (out, "mediaType", json_string (res->root.media_type));
  if (builder_media_type_is_index (res->root.media_type))
    {
      json_t *platforms = json_array ();
      json_t *attestations = json_array ();

      json_array_foreach (json_object_get (root, "manifests"), i, l)
        {
          json_t *p = json_object_get (l, "platform");
          json_t *ann = json_object_get (l, "annotations");
          const char *type = json_string_value (json_object_get (ann, "vnd.docker.reference.type"));
          json_t *e = json_object ();

          json_object_set (e, "digest", json_object_get (l, "digest"));
          /* BuildKit's attestation manifests: listed apart, by the image
           * they are about. */
          if (type != NULL && strcmp (type, "attestation-manifest") == 0)
            {
              json_object_set (e, "for", json_object_get (ann, "vnd.docker.reference.digest"));
              json_array_append_new (attestations, e);
              continue;
            }
          if (json_is_object (p))
            json_object_update (e, p);
          json_array_append_new (platforms, e);
        }
      json_object_set_new (out, "platforms", platforms);
      if (json_array_size (attestations) > 0)
        json_object_set (out, "attestations", attestations);
      json_decref (attestations);
      json_object_set_new (out, "index", root);
      json_object_set_new (out, "manifestDigest", json_string (res->manifest.digest));
      manifest = read_doc (store, res->manifest.digest, err);
      if (manifest == NULL)
        goto fail;
    }
  else
    manifest = root;
  json_object_set_new (out, "manifest", manifest);
  config = read_doc (store, json_string_value (json_object_get (json_object_get (manifest, "config"), "digest")), err);
  if (config == NULL)
    goto fail;
  json_object_set_new (out, "config", config);
  json_array_foreach (json_object_get (manifest, "layers"), i, l)
    {
      json_t *e = json_object ();

      json_object_set (e, "digest", json_object_get (l, "digest"));
      json_object_set (e, "size", json_object_get (l, "size"));
      json_object_set (e, "mediaType", json_object_get (l, "mediaType"));
      json_array_append_new (layers, e);
      total += json_integer_value (json_object_get (l, "size"));
    }
  json_object_set_new (out, "layers", layers);
  json_object_set_new (out, "size", json_integer (total));
  return out;

fail:
  json_decref (layers);
  json_decref (out);
  return NULL;
}

/* --signatures: each signature of the signature manifest under
 * "sha256-<hex>.sig", with its payload, as JSON (not verified: that is
 * `hoist verify --key`). */
static int
inspect_signatures (const struct pull_flags *f)
{
  struct builder_store *store = NULL;
  struct builder_pull_result img = { 0 }, sig = { 0 };
  struct builder_manifest *m = NULL;
  struct hoist_error *err = NULL;
  cleanup_free char *repo = NULL;
  json_t *doc = NULL, *list = json_array ();
  int r;

  r = builder_home_store (true, NULL, &store, &err);
  if (r == 0)
    r = builder_pull_signature (store, f->name, &f->o, &img, &sig, &repo, &err);
  if (r == 0)
    r = builder_store_read_json (store, sig.root.digest, 0, &doc, &err);
  if (r == 0)
    r = builder_manifest_from_json (doc, &m, &err);
  for (size_t i = 0; r == 0 && i < m->n_layers; i++)
    {
      const char *b64 = builder_map_get (&m->layers[i].annotations, BUILDER_COSIGN_SIGNATURE);
      json_t *payload = NULL;

      if (b64 == NULL)
        continue;
      r = builder_store_read_json (store, m->layers[i].digest, 64 * 1024, &payload, &err);
      if (r == 0)
        json_array_append_new (list,
                               json_pack ("{sssoss}", "digest", img.root.digest, "payload", payload, "signature", b64));
    }
  if (r == 0)
    {
      char *text = json_dumps (list, JSON_INDENT (2) | JSON_ENSURE_ASCII);

      printf ("%s\n", text);
      free (text);
    }
  json_decref (list);
  json_decref (doc);
  builder_manifest_free (m);
  builder_pull_result_release (&img);
  builder_pull_result_release (&sig);
  builder_store_free (store);
  return r < 0 ? runner_fail_error (err) : HOIST_EXIT_OK;
}

/* --sbom, --provenance: the predicate of that statement, as JSON. */
static int
inspect_statement (const struct pull_flags *f)
{
  static const char *const sbom[] = { "https://spdx.dev/Document", "https://cyclonedx.org/bom", NULL };
  static const char *const provenance[] = { BUILDER_PREDICATE_SLSA_V1, NULL };
  struct builder_store *store = NULL;
  struct hoist_error *err = NULL;
  json_t *st = NULL;
  int code = HOIST_EXIT_OK;

  if (builder_home_store (true, NULL, &store, &err) < 0
      || builder_pull_statement (store, f->name, &f->o, f->sbom ? sbom : provenance, &st, &err) < 0)
    code = runner_fail_error (err);
  else
    {
      char *text = json_dumps (json_object_get (st, "predicate"), JSON_INDENT (2) | JSON_ENSURE_ASCII);

      printf ("%s\n", text != NULL ? text : "null");
      free (text);
    }
  json_decref (st);
  builder_store_free (store);
  return code;
}

int
runner_cmd_inspect (int argc, char **argv)
{
  struct pull_flags f = { 0 };
  struct builder_pull_result res;
  struct builder_store *store = NULL;
  struct hoist_error *err = NULL;
  json_t *report = NULL;
  int r = pull_flags_parse ("inspect", argc, argv, &f);
  int code = HOIST_EXIT_OK;

  if (r != 0)
    {
      pull_flags_release (&f);
      return r > 0 ? HOIST_EXIT_OK : -r;
    }
  /* The layers are not needed: only the documents and the config. */
  f.o.quiet = true;
  f.o.documents_only = true;
  if (f.sbom + f.provenance + f.signatures > 1)
    code = runner_usage_error ("inspect", "--sbom, --provenance and --signatures: one at a time");
  else if (f.signatures)
    code = inspect_signatures (&f);
  else if (f.sbom || f.provenance)
    code = inspect_statement (&f);
  if (f.sbom || f.provenance || f.signatures)
    {
      pull_flags_release (&f);
      return code;
    }
  if (builder_home_store (true, NULL, &store, &err) < 0 || builder_pull (store, f.name, &f.o, &res, &err) < 0)
    code = runner_fail_error (err);
  else
    {
      report = inspect_report (store, f.name, &res, &err);
      if (report == NULL)
        code = runner_fail_error (err);
      else
        {
          char *text = json_dumps (report, JSON_INDENT (2) | JSON_ENSURE_ASCII);

          printf ("%s\n", text);
          free (text);
          json_decref (report);
        }
      builder_pull_result_release (&res);
    }
  builder_store_free (store);
  pull_flags_release (&f);
  return code;
}
