/* build_output.c — naming and shipping a built image: -t names as docker
 * build normalises them, -o destinations (an OCI layout directory or an
 * OCI archive), and where hoist keeps its store and caches. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build_private.h"

/* Docker's limits: a tag is at most 128 characters, a whole name 255. */
#define TAG_LEN_MAX 128
#define NAME_LEN_MAX 255

/* ---- Image names ----------------------------------------------------------------- */

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_word (char c)
{
  return is_lower_alnum (c) || (c >= 'A' && c <= 'Z') || c == '_';
}

/* One path component of a repository: [a-z0-9]+ joined by '.', '_',
 * "__" or any run of '-'. */
static bool
component_valid (const char *s, size_t n)
{
  size_t i = 0;

  while (i < n)
    {
      if (!is_lower_alnum (s[i]))
        return false;
      while (i < n && is_lower_alnum (s[i]))
        i++;
      if (i == n)
        return true;
      if (s[i] == '.' || (s[i] == '_' && (i + 1 >= n || s[i + 1] != '_')))
        i++;
      else if (s[i] == '_')
        i += 2;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return false;
      if (i == n)
        return false; /* a separator must be followed by a component */
    }
  return n > 0;
}

/* host[:port]: letters, digits, '-', '.', and a numeric port. */
static bool
domain_valid (const char *s, size_t n)
{
  const char *colon = memchr (s, ':', n);
  size_t host = colon != NULL ? (size_t) (colon - s) : n;

  if (host == 0)
    return false;
  for (size_t i = 0; i < host; i++)
    if (!is_word (s[i]) && s[i] != '-' && s[i] != '.')
      return false;
  if (colon != NULL)
    {
      if (colon + 1 == s + n)
        return false;
      for (const char *p = colon + 1; p < s + n; p++)
        if (*p < '0' || *p > '9')
          return false;
    }
  return true;
}

void
builder_tag_split (const char *name, char **repository, char **tag)
{
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash != NULL ? slash : name, ':');

  if (colon == NULL)
    {
      *repository = hoist_xstrdup (name);
      *tag = hoist_xstrdup ("");
      return;
    }
  *repository = hoist_xstrndup (name, (size_t) (colon - name));
  *tag = hoist_xstrdup (colon + 1);
}

int
builder_tag_normalize (const char *name, char **out, struct hoist_error **err)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  const char *p, *slash;

  if (strchr (name, '@') != NULL)
    return hoist_error_set_status (err, EINVAL, "invalid image name '%s': -t takes NAME[:TAG], not a digest", name);
  if (*name == '\0' || strlen (name) > NAME_LEN_MAX)
    return hoist_error_set_status (err, EINVAL, "invalid image name '%s'", name);
  builder_tag_split (name, &repo, &tag);
  if (*tag == '\0' && strchr (name + strlen (repo), ':') != NULL)
    return hoist_error_set_status (err, EINVAL, "invalid image name '%s': the tag is empty", name);
  if (strlen (tag) > TAG_LEN_MAX || (*tag != '\0' && !is_word (*tag)))
    return hoist_error_set_status (err, EINVAL, "invalid image name '%s': bad tag '%s'", name, tag);
  for (const char *t = tag; *t != '\0'; t++)
    if (!is_word (*t) && *t != '.' && *t != '-')
      return hoist_error_set_status (err, EINVAL, "invalid image name '%s': bad tag '%s'", name, tag);
  p = repo;
  slash = strchr (p, '/');
  if (slash != NULL
      && (memchr (p, '.', (size_t) (slash - p)) != NULL || memchr (p, ':', (size_t) (slash - p)) != NULL
          || strncmp (p, "localhost/", 10) == 0))
    {
      if (!domain_valid (p, (size_t) (slash - p)))
        return hoist_error_set_status (err, EINVAL, "invalid image name '%s': bad registry '%.*s'", name,
                                       (int) (slash - p), p);
      p = slash + 1;
    }
  for (;;)
    {
      size_t n = strcspn (p, "/");
      if (!component_valid (p, n))
        return hoist_error_set_status (err, EINVAL,
                                       "invalid image name '%s': the repository must be lowercase letters, digits and "
                                       "separators",
                                       name);
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  *out = hoist_xasprintf ("%s:%s", repo, *tag != '\0' ? tag : "latest");
  return 0;
}

/* ---- -o ------------------------------------------------------------------------------ */

static const char *const unsupported_types[] = { "docker", "image", "registry", "local", "tar", "cacheonly", NULL };

int
builder_output_parse (const char *spec, struct builder_output *out, struct hoist_error **err)
{
  cleanup_free char *copy = hoist_xstrdup (spec);
  cleanup_free char *type = NULL;
  cleanup_free char *dest = NULL;
  int tar = -1;
  char *rest = copy, *field;

  memset (out, 0, sizeof *out);
  if (strchr (spec, '=') == NULL)
    return hoist_error_set_status (err, ENOTSUP,
                                   "-o '%s': a plain path means type=local, which is not supported yet "
                                   "(hint: -o type=oci,dest=%s)",
                                   spec, spec);
  while ((field = strsep (&rest, ",")) != NULL)
    {
      char *eq = strchr (field, '=');
      if (eq == NULL)
        return hoist_error_set_status (err, EINVAL, "-o '%s': '%s' is not KEY=VALUE", spec, field);
      *eq = '\0';
      if (strcmp (field, "type") == 0)
        {
          free (type);
          type = hoist_xstrdup (eq + 1);
        }
      else if (strcmp (field, "dest") == 0)
        {
          free (dest);
          dest = hoist_xstrdup (eq + 1);
        }
      else if (strcmp (field, "tar") == 0 && (strcmp (eq + 1, "true") == 0 || strcmp (eq + 1, "false") == 0))
        tar = strcmp (eq + 1, "true") == 0;
      else
        return hoist_error_set_status (
            err, EINVAL, "-o '%s': unknown attribute '%s' (hint: type=oci,dest=PATH[,tar=BOOL])", spec, field);
    }
  if (type == NULL)
    type = hoist_xstrdup ("oci");
  for (size_t i = 0; unsupported_types[i] != NULL; i++)
    if (strcmp (type, unsupported_types[i]) == 0)
      return hoist_error_set_status (err, ENOTSUP,
                                     "output type '%s' is not supported yet (hint: -o type=oci,dest=DIR "
                                     "or dest=FILE.tar)",
                                     type);
  if (strcmp (type, "oci") != 0)
    return hoist_error_set_status (err, EINVAL, "-o '%s': unknown output type '%s'", spec, type);
  if (dest == NULL || *dest == '\0')
    return hoist_error_set_status (err, EINVAL, "-o '%s': type=oci needs dest=PATH", spec);
  if (tar < 0)
    tar = strlen (dest) > 4 && strcmp (dest + strlen (dest) - 4, ".tar") == 0;
  out->type = tar ? BUILDER_OUTPUT_OCI_ARCHIVE : BUILDER_OUTPUT_OCI_DIR;
  out->dest = steal_pointer (&dest);
  return 0;
}

void
builder_output_release (struct builder_output *out)
{
  free (out->dest);
  out->dest = NULL;
}

int
builder_output_write (struct builder_store *store, const struct builder_descriptor *desc,
                      const struct builder_descriptor *refs, size_t n_refs, const struct builder_output *out,
                      const char *tag, struct hoist_error **err)
{
  static unsigned counter;
  cleanup_free char *tmp = hoist_xasprintf ("hoist-export-%ld-%u:tmp", (long) getpid (), ++counter);
  cleanup_error struct hoist_error *uerr = NULL;
  int ret;

  if (builder_store_tag (store, tmp, desc, err) < 0)
    return -1;
  if (out->type == BUILDER_OUTPUT_OCI_ARCHIVE)
    ret = builder_store_export_archive_referrers (store, tmp, refs, n_refs, out->dest, tag, err);
  else
    {
      ret = builder_store_export_layout (store, tmp, out->dest, tag, err);
      if (ret == 0 && n_refs > 0)
        ret = builder_store_export_referrers (store, refs, n_refs, out->dest, err);
    }
  if (builder_store_untag (store, tmp, &uerr) < 0)
    hoist_log (HOIST_LOG_WARN, "cannot remove the temporary tag: %s", uerr->msg);
  return ret;
}

int
builder_publish (struct builder_store *store, const struct builder_descriptor *desc,
                 const struct builder_descriptor *refs, size_t n_refs, char *const *tags,
                 const struct builder_output *outputs, size_t n_outputs, void (*note) (void *ctx, const char *line),
                 void *ctx, struct hoist_error **err)
{
  if (n_outputs == 0)
    {
      for (size_t i = 0; tags != NULL && tags[i] != NULL; i++)
        {
          cleanup_free char *line = hoist_xasprintf ("naming to %s done", tags[i]);

          if (builder_store_tag (store, tags[i], desc, err) < 0)
            return -1;
          if (note != NULL)
            note (ctx, line);
        }
      return builder_store_add_referrers (store, refs, n_refs, err);
    }
  for (size_t i = 0; i < n_outputs; i++)
    {
      const struct builder_output *out = &outputs[i];
      size_t n = out->type == BUILDER_OUTPUT_OCI_ARCHIVE || tags == NULL ? 1 : hoist_strv_len (tags);

      for (size_t t = 0; t < n; t++)
        {
          const char *tag = tags != NULL ? tags[t] : "latest";
          cleanup_free char *line
              = hoist_xasprintf ("exporting to oci %s %s as %s done",
                                 out->type == BUILDER_OUTPUT_OCI_ARCHIVE ? "archive" : "layout", out->dest, tag);

          if (builder_output_write (store, desc, refs, n_refs, out, tag, err) < 0)
            return -1;
          if (note != NULL)
            note (ctx, line);
        }
    }
  return 0;
}

/* ---- Home ------------------------------------------------------------------------------ */

int
builder_home_dir (char **out, struct hoist_error **err)
{
  const char *h = getenv ("HOIST_HOME");

  if (h != NULL && *h != '\0')
    {
      *out = hoist_xstrdup (h);
      return 0;
    }
  h = getenv ("XDG_DATA_HOME");
  if (h != NULL && *h == '/')
    {
      *out = hoist_xasprintf ("%s/hoist", h);
      return 0;
    }
  h = getenv ("HOME");
  if (h != NULL && *h == '/')
    {
      *out = hoist_xasprintf ("%s/.local/share/hoist", h);
      return 0;
    }
  return hoist_error_set_status (err, ENOENT, "cannot find hoist's home: set HOIST_HOME (or HOME)");
}

int
builder_home_store (bool create, char **home, struct builder_store **out, struct hoist_error **err)
{
  cleanup_free char *h = NULL;
  cleanup_free char *dir = NULL;

  if (builder_home_dir (&h, err) < 0)
    return -1;
  dir = hoist_xasprintf ("%s/store", h);
  if (builder_store_open (dir, create, out, err) < 0)
    return -1;
  if (home != NULL)
    *home = steal_pointer (&h);
  return 0;
}
