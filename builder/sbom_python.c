/* sbom_python.c — Python distributions: the core metadata of an installed
 * package (*.dist-info/METADATA, *.egg-info/PKG-INFO), RFC 822 headers up
 * to the first blank line (the description follows).
 *
 * The licence, best first: License-Expression (core metadata 2.4, an
 * SPDX expression); License when it is one; the licence classifiers that
 * name one licence unambiguously ("License :: OSI Approved :: MIT
 * License"), several of them being alternatives; License as written when
 * it is one short line (a whole licence text is not a declaration). */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

#define CLASSIFIER_PREFIX "License :: "
#define CLASSIFIERS_MAX 8
#define LICENSE_LINE_MAX 128

/* The last part of a licence classifier, and the SPDX licence it names.
 * Classifiers that fit more than one version ("Apache Software License",
 * "BSD License", "GNU General Public License (GPL)") are left out. */
static const struct
{
  const char *classifier, *spdx;
} classifiers[] = {
  { "MIT License", "MIT" },
  { "MIT No Attribution License (MIT-0)", "MIT-0" },
  { "ISC License (ISCL)", "ISC" },
  { "Apache Software License 2.0", "Apache-2.0" },
  { "Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0" },
  { "GNU General Public License v2 (GPLv2)", "GPL-2.0-only" },
  { "GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later" },
  { "GNU General Public License v3 (GPLv3)", "GPL-3.0-only" },
  { "GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later" },
  { "GNU Lesser General Public License v2 (LGPLv2)", "LGPL-2.0-only" },
  { "GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL-2.0-or-later" },
  { "GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only" },
  { "GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later" },
  { "GNU Affero General Public License v3", "AGPL-3.0-only" },
  { "GNU Affero General Public License v3 or later (AGPLv3+)", "AGPL-3.0-or-later" },
  { "Python Software Foundation License", "PSF-2.0" },
  { "The Unlicense (Unlicense)", "Unlicense" },
  { "zlib/libpng License", "Zlib" },
  { "Boost Software License 1.0 (BSL-1.0)", "BSL-1.0" },
  { "Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0" },
  { "Universal Permissive License (UPL)", "UPL-1.0" },
  { "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0" },
};

struct meta
{
  char *name, *version;
  char *expression; /* License-Expression */
  char *license;    /* License, one line */
  struct hoist_buf from_classifiers;
  size_t n_classifiers;
};

static void
meta_release (struct meta *m)
{
  free (m->name);
  free (m->version);
  free (m->expression);
  free (m->license);
  hoist_buf_release (&m->from_classifiers);
}

static void
add_classifier (struct meta *m, const struct sbom_kv *kv)
{
  cleanup_free char *v = sbom_field (kv->value, kv->value_len, 256);
  const char *last;

  if (v == NULL || strncmp (v, CLASSIFIER_PREFIX, strlen (CLASSIFIER_PREFIX)) != 0
      || m->n_classifiers == CLASSIFIERS_MAX)
    return;
  last = strrchr (v, ':');
  last = last[1] == ' ' ? last + 2 : last + 1;
  for (size_t i = 0; i < sizeof classifiers / sizeof classifiers[0]; i++)
    if (strcmp (last, classifiers[i].classifier) == 0)
      {
        build_buf_addstr (&m->from_classifiers, m->n_classifiers++ > 0 ? " OR " : "");
        build_buf_addstr (&m->from_classifiers, classifiers[i].spdx);
        return;
      }
}

static void
set (char **slot, const struct sbom_kv *kv, size_t max)
{
  free (*slot);
  *slot = sbom_field (kv->value, kv->value_len, max);
}

static void
meta_field (struct meta *m, const struct sbom_kv *kv)
{
  if (sbom_kv_is (kv, "Name"))
    set (&m->name, kv, SBOM_NAME_MAX);
  else if (sbom_kv_is (kv, "Version"))
    set (&m->version, kv, SBOM_VERSION_MAX);
  else if (sbom_kv_is (kv, "License-Expression"))
    set (&m->expression, kv, SBOM_LICENSE_MAX);
  else if (sbom_kv_is (kv, "License") && !kv->more)
    set (&m->license, kv, LICENSE_LINE_MAX);
  else if (sbom_kv_is (kv, "Classifier"))
    add_classifier (m, kv);
}

static char *
meta_license (struct meta *m)
{
  cleanup_free char *spdx = NULL;

  if (m->expression != NULL)
    return steal_pointer (&m->expression);
  if (m->license != NULL && strcmp (m->license, "UNKNOWN") == 0)
    {
      free (m->license);
      m->license = NULL;
    }
  spdx = m->license != NULL ? sbom_license_spdx (m->license) : NULL;
  if (spdx != NULL || m->n_classifiers == 0)
    return steal_pointer (&m->license);
  return hoist_buf_detach (&m->from_classifiers, NULL);
}

void
sbom_parse_python (const char *data, size_t n, struct sbom_pkgs *out)
{
  const char *p = data, *end = data + n;
  struct meta m = { 0 };
  struct sbom_kv kv;

  hoist_buf_init (&m.from_classifiers, HOIST_BUF_NO_LIMIT);
  while (sbom_kv_next (&p, end, &kv) == SBOM_KV_FIELD)
    meta_field (&m, &kv);
  (void) sbom_pkgs_add (out, SBOM_PYPI, steal_pointer (&m.name), steal_pointer (&m.version), NULL, meta_license (&m),
                        NULL);
  meta_release (&m);
}
