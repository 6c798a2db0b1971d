/* provenance.c — SLSA v1 provenance of a build, as an in-toto statement.
 *
 * The predicate (https://slsa.dev/provenance/v1) says how the image was
 * made: buildDefinition.buildType is BUILDER_BUILD_TYPE, whose parameters
 * docs/provenance.md describes; externalParameters are what the caller
 * chose (source repository, ref and commit, Dockerfile path, target,
 * platform, build args that are not secrets); resolvedDependencies every
 * image the build read, by digest, and the git commit; runDetails the
 * builder's id and the invocation's id and times.  In max mode the
 * Dockerfile itself and the list of its steps are added (as buildx's
 * mode=max adds the build's definition).
 *
 * A build arg whose name says it holds a secret (TOKEN, SECRET, PASSWORD,
 * PASSWD, CREDENTIAL, KEY in any case) is left out: build args end up in
 * plain text, and a provenance document is published with the image. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/builder.h"

static const char *const secret_words[] = { "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "KEY" };

bool
builder_build_arg_is_secret (const char *name, size_t len)
{
  for (size_t w = 0; w < sizeof secret_words / sizeof *secret_words; w++)
    {
      size_t n = strlen (secret_words[w]);

      for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp (name + i, secret_words[w], n) == 0)
          return true;
    }
  return false;
}

static void
set_str (json_t *o, const char *key, const char *value)
{
  if (value != NULL && *value != '\0')
    json_object_set_new (o, key, json_string (value));
}

static int
set_time (json_t *o, const char *key, int64_t epoch, struct hoist_error **err)
{
  char t[BUILDER_TIME_STR_SIZE];

  if (epoch < 0)
    return 0;
  if (builder_format_time (epoch, t, err) < 0)
    return -1;
  json_object_set_new (o, key, json_string (t));
  return 0;
}

/* {"sha256": "<hex>"} of "sha256:<hex>". */
static json_t *
digest_set (const char *digest)
{
  const char *colon = strchr (digest, ':');
  cleanup_free char *algo = colon != NULL ? hoist_xstrndup (digest, (size_t) (colon - digest)) : NULL;

  return json_pack ("{ss}", algo != NULL ? algo : "sha256", colon != NULL ? colon + 1 : digest);
}

static json_t *
build_args_object (char *const *args)
{
  json_t *o = json_object ();

  for (size_t i = 0; args != NULL && args[i] != NULL; i++)
    {
      const char *eq = strchr (args[i], '=');
      size_t n = eq != NULL ? (size_t) (eq - args[i]) : strlen (args[i]);
      cleanup_free char *name = hoist_xstrndup (args[i], n);

      /* "K" alone takes its value from hoist's environment: the value is
       * not known here, and may well be a secret. */
      if (eq == NULL || builder_build_arg_is_secret (args[i], n))
        continue;
      json_object_set_new (o, name, json_string (eq + 1));
    }
  return o;
}

static json_t *
external_parameters (const struct builder_provenance_info *p)
{
  json_t *o = json_object ();
  json_t *src = json_object ();

  set_str (src, "repository", p->source);
  set_str (src, "ref", p->ref);
  set_str (src, "revision", p->revision);
  if (json_object_size (src) > 0)
    json_object_set (o, "source", src);
  json_decref (src);
  set_str (o, "dockerfile", p->dockerfile_path != NULL ? p->dockerfile_path : "Dockerfile");
  set_str (o, "target", p->target);
  set_str (o, "platform", p->platform);
  json_object_set_new (o, "buildArgs", build_args_object (p->build_args));
  return o;
}

/* A registry image as a purl (pkg:docker/NAME@TAG?platform=...), as
 * BuildKit names its dependencies; a layout keeps its oci-layout URI. */
static char *
dep_uri (const struct builder_build_dep *d, const char *platform)
{
  cleanup_free char *plat = NULL;
  const char *name = d->name, *at, *colon, *slash;

  if (!d->pulled)
    return hoist_xstrdup (name);
  if (platform != NULL)
    {
      const char *s = strchr (platform, '/');
      plat = s != NULL ? hoist_xasprintf ("?platform=%.*s%%2F%s", (int) (s - platform), platform, s + 1)
                       : hoist_xasprintf ("?platform=%s", platform);
    }
  at = strchr (name, '@');
  slash = strrchr (name, '/');
  colon = strrchr (slash != NULL ? slash : name, ':');
  if (at != NULL)
    return hoist_xasprintf ("pkg:docker/%.*s%s", (int) (at - name), name, plat != NULL ? plat : "");
  if (colon != NULL)
    return hoist_xasprintf ("pkg:docker/%.*s@%s%s", (int) (colon - name), name, colon + 1, plat != NULL ? plat : "");
  return hoist_xasprintf ("pkg:docker/%s@latest%s", name, plat != NULL ? plat : "");
}

static json_t *
resolved_dependencies (const struct builder_provenance_info *p, const struct builder_build_result *res)
{
  json_t *a = json_array ();

  if (p->source != NULL && p->revision != NULL)
    {
      cleanup_free char *uri
          = hoist_xasprintf ("git+%s%s%s", p->source, p->ref != NULL ? "@" : "", p->ref != NULL ? p->ref : "");
      json_array_append_new (a, json_pack ("{sss{ss}}", "uri", uri, "digest", "gitCommit", p->revision));
    }
  for (size_t i = 0; i < res->n_deps; i++)
    {
      cleanup_free char *uri = dep_uri (&res->deps[i], p->platform);
      json_array_append_new (a, json_pack ("{ssso}", "uri", uri, "digest", digest_set (res->deps[i].digest)));
    }
  return a;
}

/* Max mode: every instruction of the stages built, in order. */
static json_t *
steps (const struct builder_plan *plan)
{
  json_t *a = json_array ();

  for (size_t i = 0; plan != NULL && i < plan->n_stages; i++)
    {
      const struct builder_stage *st = &plan->stages[i];

      for (size_t j = 0; j < st->n_instructions; j++)
        {
          json_t *o = json_pack ("{sIsIss}", "stage", (json_int_t) st->index, "line",
                                 (json_int_t) st->instructions[j].line, "instruction", st->instructions[j].original);

          if (st->name != NULL)
            json_object_set_new (o, "stageName", json_string (st->name));
          json_array_append_new (a, o);
        }
    }
  return a;
}

int
builder_provenance (const struct builder_provenance_info *p, const struct builder_build_result *res, json_t **out,
                    struct hoist_error **err)
{
  json_t *internal = json_pack ("{ss}", "hoistVersion", PACKAGE_VERSION);
  json_t *meta = json_object ();
  json_t *pred;

  set_str (meta, "invocationId", p->invocation_id);
  if (set_time (meta, "startedOn", p->started_on, err) < 0 || set_time (meta, "finishedOn", p->finished_on, err) < 0)
    {
      json_decref (internal);
      json_decref (meta);
      return -1;
    }
  if (p->source_date_epoch >= 0)
    json_object_set_new (internal, "sourceDateEpoch", json_integer (p->source_date_epoch));
  if (p->mode == BUILDER_PROVENANCE_MAX)
    {
      set_str (internal, "dockerfileContent", p->dockerfile_text);
      json_object_set_new (internal, "steps", steps (p->plan));
    }
  pred = json_pack ("{s{ssso so so}s{s{ss}so}}", "buildDefinition", "buildType", BUILDER_BUILD_TYPE,
                    "externalParameters", external_parameters (p), "internalParameters", internal,
                    "resolvedDependencies", resolved_dependencies (p, res), "runDetails", "builder", "id",
                    p->builder_id != NULL ? p->builder_id : BUILDER_DEFAULT_BUILDER_ID, "metadata", meta);
  if (pred == NULL)
    return hoist_error_set (err, 0, "cannot make the provenance document");
  *out = pred;
  return 0;
}

json_t *
builder_intoto_statement (const char *predicate_type, const char *subject_name, const char *subject_digest,
                          json_t *predicate)
{
  return json_pack ("{sss[{ssso}]ssso}", "_type", BUILDER_INTOTO_STATEMENT_V1, "subject", "name", subject_name,
                    "digest", digest_set (subject_digest), "predicateType", predicate_type, "predicate", predicate);
}
