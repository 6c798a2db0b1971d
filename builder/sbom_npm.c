/* sbom_npm.c — npm packages: the package.json of a package installed in
 * node_modules (which of them count is sbom_classify's business).  The
 * licence is "license" (a string, or the legacy {"type": ...} object), or
 * the legacy "licenses" array, whose entries are alternatives. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

/* Entries of a legacy "licenses" array kept. */
#define LICENSES_MAX 8

static char *
string_of (json_t *v, size_t max)
{
  if (json_is_object (v))
    v = json_object_get (v, "type");
  if (!json_is_string (v))
    return NULL;
  return sbom_field (json_string_value (v), json_string_length (v), max);
}

static char *
npm_license (json_t *root)
{
  json_t *list = json_object_get (root, "licenses"), *v;
  struct hoist_buf b;
  size_t i, kept = 0;
  char *one = string_of (json_object_get (root, "license"), SBOM_LICENSE_MAX);

  if (one != NULL || !json_is_array (list))
    return one;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  json_array_foreach (list, i, v)
    {
      cleanup_free char *s = string_of (v, 128);

      if (s == NULL || kept == LICENSES_MAX)
        continue;
      build_buf_addstr (&b, kept++ > 0 ? " OR " : "");
      build_buf_addstr (&b, s);
    }
  if (kept == 0)
    {
      hoist_buf_release (&b);
      return NULL;
    }
  return hoist_buf_detach (&b, NULL);
}

void
sbom_parse_npm (const char *data, size_t n, struct sbom_pkgs *out)
{
  cleanup_json json_t *root = json_loadb (data, n, 0, NULL);
  json_t *name, *version;

  if (!json_is_object (root))
    return;
  name = json_object_get (root, "name");
  version = json_object_get (root, "version");
  if (!json_is_string (name) || !json_is_string (version))
    return;
  (void) sbom_pkgs_add (out, SBOM_NPM, sbom_field (json_string_value (name), json_string_length (name), 214),
                        sbom_field (json_string_value (version), json_string_length (version), SBOM_VERSION_MAX), NULL,
                        npm_license (root), NULL);
}
