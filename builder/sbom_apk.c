/* sbom_apk.c — Alpine packages: lib/apk/db/installed, one stanza per
 * package of "X:value" lines.  The keys are single letters and their case
 * matters ("P:" is the name, "p:" what the package provides): P name,
 * V version, A architecture, L licence, o origin (the source package). */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builder/sbom_private.h"

struct apk
{
  char *name, *version, *arch, *license, *origin;
};

static void
take (char **field, const struct sbom_kv *kv, size_t max)
{
  free (*field);
  *field = sbom_field (kv->value, kv->value_len, max);
}

static void
apk_field (struct apk *a, const struct sbom_kv *kv)
{
  if (kv->name_len != 1)
    return;
  switch (kv->name[0])
    {
    case 'P':
      take (&a->name, kv, SBOM_NAME_MAX);
      break;
    case 'V':
      take (&a->version, kv, SBOM_VERSION_MAX);
      break;
    case 'A':
      take (&a->arch, kv, SBOM_NAME_MAX);
      break;
    case 'L':
      take (&a->license, kv, SBOM_LICENSE_MAX);
      break;
    case 'o':
      take (&a->origin, kv, SBOM_NAME_MAX);
      break;
    default:
      break;
    }
}

static void
apk_end (struct apk *a, struct sbom_pkgs *out)
{
  if (a->origin != NULL && a->name != NULL && strcmp (a->origin, a->name) == 0)
    {
      free (a->origin);
      a->origin = NULL;
    }
  (void) sbom_pkgs_add (out, SBOM_APK, a->name, a->version, a->arch, a->license, a->origin);
  memset (a, 0, sizeof *a);
}

void
sbom_parse_apk (const char *data, size_t n, struct sbom_pkgs *out)
{
  const char *p = data, *end = data + n;
  struct apk a = { 0 };
  struct sbom_kv kv;
  enum sbom_kv_next r;

  while ((r = sbom_kv_next (&p, end, &kv)) != SBOM_KV_END)
    if (r == SBOM_KV_BREAK)
      apk_end (&a, out);
    else
      apk_field (&a, &kv);
  apk_end (&a, out);
}
