/* image.c — the image config: C struct <-> JSON.
 *
 * A base image's config comes from a registry, so from_json trusts none of
 * it: every member is type-checked and every list capped, and errors name
 * the member.  What hoist does not know is dropped rather than carried
 * blindly into the images it writes.  to_json writes members in Docker's
 * shape (empty lists and maps left out, as Go's omitempty does), and with
 * builder_json_canonical the same struct always gives the same bytes. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "builder/oci_private.h"

#define WHAT "image config"

struct builder_image_config *
builder_image_config_new (const char *os, const char *architecture)
{
  struct builder_image_config *cfg = hoist_xcalloc (1, sizeof (*cfg));

  cfg->os = hoist_xstrdup (os);
  cfg->architecture = hoist_xstrdup (architecture);
  return cfg;
}

static void
healthcheck_free (struct builder_image_healthcheck *h)
{
  if (h == NULL)
    return;
  hoist_strv_free (h->test);
  free (h);
}

static void
history_release (struct builder_history *h)
{
  free (h->created);
  free (h->author);
  free (h->created_by);
  free (h->comment);
}

void
builder_image_config_free (struct builder_image_config *cfg)
{
  if (cfg == NULL)
    return;
  free (cfg->architecture);
  free (cfg->os);
  free (cfg->variant);
  free (cfg->os_version);
  hoist_strv_free (cfg->os_features);
  free (cfg->created);
  free (cfg->author);
  free (cfg->config.user);
  hoist_strv_free (cfg->config.exposed_ports);
  hoist_strv_free (cfg->config.env);
  hoist_strv_free (cfg->config.entrypoint);
  hoist_strv_free (cfg->config.cmd);
  hoist_strv_free (cfg->config.volumes);
  free (cfg->config.working_dir);
  builder_map_release (&cfg->config.labels);
  free (cfg->config.stop_signal);
  healthcheck_free (cfg->config.healthcheck);
  hoist_strv_free (cfg->config.shell);
  hoist_strv_free (cfg->config.on_build);
  hoist_strv_free (cfg->diff_ids);
  for (size_t i = 0; i < cfg->n_history; i++)
    history_release (&cfg->history[i]);
  free (cfg->history);
  free (cfg);
}

static void
image_config_freep (struct builder_image_config **cfg)
{
  builder_image_config_free (*cfg);
}

#define cleanup_image_config __attribute__ ((cleanup (image_config_freep)))

/* ---- Helpers that keep the invariants -------------------------------- */

void
builder_strv_replace (char ***field, char *const *v)
{
  hoist_strv_free (*field);
  *field = oci_strv_dup (v);
}

/* Index of KEY's "K=V" entry in ENV, or -1. */
static ssize_t
env_find (char *const *env, const char *key)
{
  size_t klen = strlen (key);

  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp (env[i], key, klen) == 0 && (env[i][klen] == '=' || env[i][klen] == '\0'))
      return (ssize_t) i;
  return -1;
}

void
builder_image_config_set_env (struct builder_image_config *cfg, const char *key, const char *value)
{
  char *entry = hoist_xasprintf ("%s=%s", key, value);
  ssize_t i = env_find (cfg->config.env, key);

  /* In place, as Docker does: ENV PATH=... keeps PATH where the base image
   * had it, so the order of a rebuilt image's Env does not move. */
  if (i >= 0)
    {
      free (cfg->config.env[i]);
      cfg->config.env[i] = entry;
      return;
    }
  hoist_strv_push_take (&cfg->config.env, entry);
}

const char *
builder_image_config_get_env (const struct builder_image_config *cfg, const char *key)
{
  ssize_t i = env_find (cfg->config.env, key);
  const char *eq;

  if (i < 0)
    return NULL;
  eq = strchr (cfg->config.env[i], '=');
  return eq != NULL ? eq + 1 : "";
}

void
builder_image_config_add_port (struct builder_image_config *cfg, const char *port)
{
  oci_strset_add (&cfg->config.exposed_ports, port);
}

void
builder_image_config_add_volume (struct builder_image_config *cfg, const char *path)
{
  oci_strset_add (&cfg->config.volumes, path);
}

void
builder_image_config_add_history (struct builder_image_config *cfg, const char *created, const char *created_by,
                                  const char *comment, bool empty_layer)
{
  struct builder_history *h;

  cfg->history = hoist_xreallocarray (cfg->history, cfg->n_history + 1, sizeof (*cfg->history));
  h = &cfg->history[cfg->n_history++];
  memset (h, 0, sizeof (*h));
  h->created = created ? hoist_xstrdup (created) : NULL;
  h->created_by = created_by ? hoist_xstrdup (created_by) : NULL;
  h->comment = comment ? hoist_xstrdup (comment) : NULL;
  h->empty_layer = empty_layer;
}

int
builder_image_config_add_layer (struct builder_image_config *cfg, const char *diff_id, const char *created,
                                const char *created_by, const char *comment, struct hoist_error **err)
{
  if (!hoist_digest_valid (diff_id))
    return hoist_error_set_status (err, EINVAL, "invalid diff_id '%s'", diff_id);
  if (hoist_strv_len (cfg->diff_ids) >= BUILDER_LAYERS_MAX)
    return hoist_error_set_status (err, E2BIG, "image has more than %u layers", BUILDER_LAYERS_MAX);
  hoist_strv_push (&cfg->diff_ids, diff_id);
  builder_image_config_add_history (cfg, created, created_by, comment, false);
  return 0;
}

/* ---- Serialising ------------------------------------------------------- */

static json_t *
healthcheck_to_json (const struct builder_image_healthcheck *h)
{
  json_t *j = json_object ();

  oci_put_strv (j, "Test", h->test);
  /* Zero means "inherit", and Docker leaves zero durations out. */
  if (h->interval != 0)
    json_object_set_new (j, "Interval", json_integer (h->interval));
  if (h->timeout != 0)
    json_object_set_new (j, "Timeout", json_integer (h->timeout));
  if (h->start_period != 0)
    json_object_set_new (j, "StartPeriod", json_integer (h->start_period));
  if (h->start_interval != 0)
    json_object_set_new (j, "StartInterval", json_integer (h->start_interval));
  if (h->retries != 0)
    json_object_set_new (j, "Retries", json_integer (h->retries));
  return j;
}

static json_t *
container_config_to_json (const struct builder_image_config *cfg)
{
  json_t *c = json_object ();

  oci_put_string (c, "User", cfg->config.user);
  oci_put_set (c, "ExposedPorts", cfg->config.exposed_ports);
  oci_put_strv (c, "Env", cfg->config.env);
  oci_put_strv (c, "Entrypoint", cfg->config.entrypoint);
  oci_put_strv (c, "Cmd", cfg->config.cmd);
  oci_put_set (c, "Volumes", cfg->config.volumes);
  oci_put_string (c, "WorkingDir", cfg->config.working_dir);
  oci_put_map (c, "Labels", &cfg->config.labels);
  oci_put_string (c, "StopSignal", cfg->config.stop_signal);
  if (cfg->config.args_escaped)
    json_object_set_new (c, "ArgsEscaped", json_true ());
  if (cfg->config.healthcheck != NULL)
    json_object_set_new (c, "Healthcheck", healthcheck_to_json (cfg->config.healthcheck));
  oci_put_strv (c, "Shell", cfg->config.shell);
  oci_put_strv (c, "OnBuild", cfg->config.on_build);
  return c;
}

static json_t *
history_to_json (const struct builder_history *h)
{
  json_t *j = json_object ();

  oci_put_string (j, "created", h->created);
  oci_put_string (j, "author", h->author);
  oci_put_string (j, "created_by", h->created_by);
  oci_put_string (j, "comment", h->comment);
  if (h->empty_layer)
    json_object_set_new (j, "empty_layer", json_true ());
  return j;
}

json_t *
builder_image_config_to_json (const struct builder_image_config *cfg)
{
  json_t *j = json_object ();
  json_t *rootfs = json_object ();
  json_t *diff_ids = json_array ();

  oci_put_string (j, "created", cfg->created);
  oci_put_string (j, "author", cfg->author);
  oci_put_string (j, "architecture", cfg->architecture);
  oci_put_string (j, "variant", cfg->variant);
  oci_put_string (j, "os", cfg->os);
  oci_put_string (j, "os.version", cfg->os_version);
  oci_put_strv (j, "os.features", cfg->os_features);
  json_object_set_new (j, "config", container_config_to_json (cfg));

  /* rootfs and diff_ids are always written, even empty: the schema
   * requires both, and an image FROM scratch with only metadata has no
   * layer. */
  for (size_t i = 0; cfg->diff_ids != NULL && cfg->diff_ids[i] != NULL; i++)
    json_array_append_new (diff_ids, oci_json_string (cfg->diff_ids[i]));
  json_object_set_new (rootfs, "type", json_string ("layers"));
  json_object_set_new (rootfs, "diff_ids", diff_ids);
  json_object_set_new (j, "rootfs", rootfs);

  if (cfg->n_history > 0)
    {
      json_t *history = json_array ();
      for (size_t i = 0; i < cfg->n_history; i++)
        json_array_append_new (history, history_to_json (&cfg->history[i]));
      json_object_set_new (j, "history", history);
    }
  return j;
}

/* ---- Parsing -------------------------------------------------------------- */

static int
parse_time (const json_t *obj, const char *key, const char *prefix, char **out, struct hoist_error **err)
{
  if (oci_get_string (obj, key, WHAT, prefix, out, err) < 0)
    return -EINVAL;
  if (*out != NULL && !builder_time_valid (*out))
    return hoist_error_set_status (err, EINVAL, WHAT ": '%s%s' is not an RFC 3339 date", prefix, key);
  return 0;
}

static int
parse_healthcheck (const json_t *c, struct builder_image_config *cfg, struct hoist_error **err)
{
  const char *P = "config.Healthcheck.";
  const json_t *hj;
  struct builder_image_healthcheck *h;
  int64_t retries = 0;

  if (oci_get_object (c, "Healthcheck", WHAT, "config.", &hj, err) < 0)
    return -EINVAL;
  if (hj == NULL)
    return 0;
  h = cfg->config.healthcheck = hoist_xcalloc (1, sizeof (*h));
  if (oci_get_strv (hj, "Test", WHAT, P, BUILDER_CONFIG_ITEMS_MAX, &h->test, err) < 0
      || oci_get_int (hj, "Interval", WHAT, P, 0, INT64_MAX, &h->interval, NULL, err) < 0
      || oci_get_int (hj, "Timeout", WHAT, P, 0, INT64_MAX, &h->timeout, NULL, err) < 0
      || oci_get_int (hj, "StartPeriod", WHAT, P, 0, INT64_MAX, &h->start_period, NULL, err) < 0
      || oci_get_int (hj, "StartInterval", WHAT, P, 0, INT64_MAX, &h->start_interval, NULL, err) < 0
      || oci_get_int (hj, "Retries", WHAT, P, 0, INT_MAX, &retries, NULL, err) < 0)
    return -EINVAL;
  h->retries = (int) retries;
  return 0;
}

static int
parse_container_config (const json_t *j, struct builder_image_config *cfg, struct hoist_error **err)
{
  const char *P = "config.";
  const size_t max = BUILDER_CONFIG_ITEMS_MAX;
  const json_t *c, *esc;

  if (oci_get_object (j, "config", WHAT, "", &c, err) < 0)
    return -EINVAL;
  if (c == NULL)
    return 0;
  if (oci_get_string (c, "User", WHAT, P, &cfg->config.user, err) < 0
      || oci_get_set (c, "ExposedPorts", WHAT, P, max, &cfg->config.exposed_ports, err) < 0
      || oci_get_strv (c, "Env", WHAT, P, max, &cfg->config.env, err) < 0
      || oci_get_strv (c, "Entrypoint", WHAT, P, max, &cfg->config.entrypoint, err) < 0
      || oci_get_strv (c, "Cmd", WHAT, P, max, &cfg->config.cmd, err) < 0
      || oci_get_set (c, "Volumes", WHAT, P, max, &cfg->config.volumes, err) < 0
      || oci_get_string (c, "WorkingDir", WHAT, P, &cfg->config.working_dir, err) < 0
      || oci_get_map (c, "Labels", WHAT, P, max, &cfg->config.labels, err) < 0
      || oci_get_string (c, "StopSignal", WHAT, P, &cfg->config.stop_signal, err) < 0
      || parse_healthcheck (c, cfg, err) < 0 || oci_get_strv (c, "Shell", WHAT, P, max, &cfg->config.shell, err) < 0
      || oci_get_strv (c, "OnBuild", WHAT, P, max, &cfg->config.on_build, err) < 0)
    return -EINVAL;
  esc = oci_member (c, "ArgsEscaped");
  if (esc != NULL && !json_is_boolean (esc))
    return hoist_error_set_status (err, EINVAL, WHAT ": 'config.ArgsEscaped' must be a boolean");
  cfg->config.args_escaped = json_is_true (esc);
  /* Env entries are "K=V"; one without '=' would make every later lookup
   * ambiguous, so it is refused here rather than guessed at. */
  for (size_t i = 0; cfg->config.env != NULL && cfg->config.env[i] != NULL; i++)
    if (strchr (cfg->config.env[i], '=') == NULL || cfg->config.env[i][0] == '=')
      return hoist_error_set_status (err, EINVAL, WHAT ": 'config.Env[%zu]' is not of the form KEY=VALUE", i);
  return 0;
}

static int
parse_rootfs (const json_t *j, struct builder_image_config *cfg, struct hoist_error **err)
{
  const json_t *rootfs, *type, *diff_ids, *item;
  size_t i;

  if (oci_get_object (j, "rootfs", WHAT, "", &rootfs, err) < 0)
    return -EINVAL;
  if (rootfs == NULL)
    return hoist_error_set_status (err, EINVAL, WHAT ": 'rootfs' is missing");
  type = oci_member (rootfs, "type");
  if (!json_is_string (type) || strcmp (json_string_value (type), "layers") != 0)
    return hoist_error_set_status (err, EINVAL, WHAT ": 'rootfs.type' must be \"layers\"");
  diff_ids = oci_member (rootfs, "diff_ids");
  cfg->diff_ids = hoist_xcalloc (1, sizeof (*cfg->diff_ids));
  if (diff_ids == NULL)
    return 0;
  if (!json_is_array (diff_ids))
    return hoist_error_set_status (err, EINVAL, WHAT ": 'rootfs.diff_ids' must be an array of digests");
  if (json_array_size (diff_ids) > BUILDER_LAYERS_MAX)
    return hoist_error_set_status (err, E2BIG, WHAT ": 'rootfs.diff_ids' has more than %u entries", BUILDER_LAYERS_MAX);
  json_array_foreach (diff_ids, i, item)
    {
      if (!json_is_string (item) || !hoist_digest_valid (json_string_value (item)))
        return hoist_error_set_status (err, EINVAL, WHAT ": 'rootfs.diff_ids[%zu]' must be a sha256 digest", i);
      hoist_strv_push (&cfg->diff_ids, json_string_value (item));
    }
  return 0;
}

static int
parse_history_entry (const json_t *item, size_t i, struct builder_history *h, struct hoist_error **err)
{
  cleanup_free char *field = hoist_xasprintf ("history[%zu]", i);
  cleanup_free char *prefix = hoist_xasprintf ("history[%zu].", i);
  const json_t *empty;

  if (oci_check_object (item, WHAT, field, err) < 0)
    return -EINVAL;
  if (parse_time (item, "created", prefix, &h->created, err) < 0
      || oci_get_string (item, "author", WHAT, prefix, &h->author, err) < 0
      || oci_get_string (item, "created_by", WHAT, prefix, &h->created_by, err) < 0
      || oci_get_string (item, "comment", WHAT, prefix, &h->comment, err) < 0)
    return -EINVAL;
  empty = oci_member (item, "empty_layer");
  if (empty != NULL && !json_is_boolean (empty))
    return hoist_error_set_status (err, EINVAL, WHAT ": '%sempty_layer' must be a boolean", prefix);
  h->empty_layer = json_is_true (empty);
  return 0;
}

static int
parse_history (const json_t *j, struct builder_image_config *cfg, struct hoist_error **err)
{
  const json_t *history = oci_member (j, "history");
  size_t i;
  const json_t *item;

  if (history == NULL)
    return 0;
  if (!json_is_array (history))
    return hoist_error_set_status (err, EINVAL, WHAT ": 'history' must be an array of objects");
  if (json_array_size (history) > BUILDER_CONFIG_ITEMS_MAX)
    return hoist_error_set_status (err, E2BIG, WHAT ": 'history' has more than %u entries", BUILDER_CONFIG_ITEMS_MAX);
  cfg->history = hoist_xcalloc (json_array_size (history) + 1, sizeof (*cfg->history));
  json_array_foreach (history, i, item)
    {
      cfg->n_history++;
      if (parse_history_entry (item, i, &cfg->history[i], err) < 0)
        return -EINVAL;
    }
  /* Non-empty entries and diff_ids need not match: images without
   * history, or with history from tools that miscount, are common, and
   * BuildKit pads the history rather than refuse them; so does the stage
   * executor. */
  return 0;
}

int
builder_image_config_from_json (const json_t *j, struct builder_image_config **out, struct hoist_error **err)
{
  cleanup_image_config struct builder_image_config *cfg = NULL;

  if (oci_check_object (j, WHAT, NULL, err) < 0)
    return -EINVAL;
  cfg = hoist_xcalloc (1, sizeof (*cfg));
  if (oci_need_string (j, "architecture", WHAT, "", &cfg->architecture, err) < 0
      || oci_need_string (j, "os", WHAT, "", &cfg->os, err) < 0
      || oci_get_string (j, "variant", WHAT, "", &cfg->variant, err) < 0
      || oci_get_string (j, "os.version", WHAT, "", &cfg->os_version, err) < 0
      || oci_get_strv (j, "os.features", WHAT, "", BUILDER_CONFIG_ITEMS_MAX, &cfg->os_features, err) < 0
      || parse_time (j, "created", "", &cfg->created, err) < 0
      || oci_get_string (j, "author", WHAT, "", &cfg->author, err) < 0 || parse_container_config (j, cfg, err) < 0
      || parse_rootfs (j, cfg, err) < 0 || parse_history (j, cfg, err) < 0)
    return -EINVAL;
  *out = steal_pointer (&cfg);
  return 0;
}
