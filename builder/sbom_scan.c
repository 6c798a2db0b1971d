/* sbom_scan.c — the scanner's core: what was found in each candidate
 * file, the OCI layer rules applied to those finds, and the result
 * (purls, deb licences, sorted, deduplicated).
 *
 * A find is kept by the clean relative path of its file, with the layer
 * it came from.  Live finds are indexed by path; every directory above
 * one is remembered too (and never forgotten), so that a whiteout or an
 * opaque marker of a directory nothing was found under -- nearly all of
 * them -- costs one lookup, and only the others walk the finds. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

/* Finds, live or dropped, over all layers. */
#define FINDINGS_MAX (4u << 20)

struct finding
{
  char *path; /* "var/lib/dpkg/status" */
  unsigned layer;
  enum sbom_kind kind;
  bool live;
  struct sbom_pkgs pkgs; /* DPKG, APK, NPM, PYTHON, EXEC */
  char *license;         /* DPKG_COPYRIGHT */
  char *id, *id_like;    /* OS_RELEASE */
};

struct builder_sbom_scan
{
  struct finding *v;
  size_t n, alloc;
  struct sbom_map live; /* path -> index in V */
  struct sbom_map dirs; /* every directory above a find, ever */
  unsigned layer;
  size_t n_pkgs; /* in live finds */
  struct sbom_go go;
  struct hoist_buf buf;
};

/* ---- Lifecycle ------------------------------------------------------------------- */

int
builder_sbom_scan_new (struct builder_sbom_scan **out, struct hoist_error **err)
{
  struct builder_sbom_scan *s = hoist_xcalloc (1, sizeof *s);

  (void) err;
  s->dirs.owns = true;
  sbom_go_init (&s->go);
  hoist_buf_init (&s->buf, SBOM_DB_MAX);
  *out = s;
  return 0;
}

static void
finding_release (struct finding *f)
{
  free (f->path);
  sbom_pkgs_release (&f->pkgs);
  free (f->license);
  free (f->id);
  free (f->id_like);
  memset (f, 0, sizeof *f);
}

void
builder_sbom_scan_free (struct builder_sbom_scan *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    finding_release (&s->v[i]);
  free (s->v);
  sbom_map_release (&s->live);
  sbom_map_release (&s->dirs);
  sbom_go_release (&s->go);
  hoist_buf_release (&s->buf);
  free (s);
}

struct sbom_go *
sbom_scan_go (struct builder_sbom_scan *s)
{
  return &s->go;
}

struct hoist_buf *
sbom_scan_buf (struct builder_sbom_scan *s, size_t limit)
{
  hoist_buf_reset (&s->buf);
  s->buf.limit = limit;
  return &s->buf;
}

/* ---- Finds and the layer rules ------------------------------------------------------ */

void
sbom_scan_begin_layer (struct builder_sbom_scan *s)
{
  s->layer++;
}

static void
drop (struct builder_sbom_scan *s, size_t i)
{
  struct finding *f = &s->v[i];

  sbom_map_del (&s->live, f->path);
  s->n_pkgs -= f->pkgs.n;
  finding_release (f);
}

/* The find at PATH (of a lower layer only, with LOWER). */
static void
drop_at (struct builder_sbom_scan *s, const char *path, bool lower)
{
  size_t i;

  if (sbom_map_get (&s->live, path, &i) && (!lower || s->v[i].layer < s->layer))
    drop (s, i);
}

/* The finds below DIR ("": everything). */
static void
drop_below (struct builder_sbom_scan *s, const char *dir, bool lower)
{
  size_t n = strlen (dir);

  if (n > 0 && !sbom_map_get (&s->dirs, dir, NULL))
    return;
  for (size_t i = 0; i < s->n; i++)
    {
      const struct finding *f = &s->v[i];

      if (f->live && (!lower || f->layer < s->layer)
          && (n == 0 || (strncmp (f->path, dir, n) == 0 && f->path[n] == '/')))
        drop (s, i);
    }
}

void
sbom_scan_put_dir (struct builder_sbom_scan *s, const char *path)
{
  drop_at (s, path, false);
}

void
sbom_scan_put_file (struct builder_sbom_scan *s, const char *path)
{
  drop_at (s, path, false);
  drop_below (s, path, false);
}

void
sbom_scan_whiteout (struct builder_sbom_scan *s, const char *path)
{
  drop_at (s, path, true);
  drop_below (s, path, true);
}

void
sbom_scan_opaque (struct builder_sbom_scan *s, const char *dir)
{
  drop_below (s, dir, true);
}

/* Record F (taken) as the live find at its path. */
static int
add (struct builder_sbom_scan *s, struct finding *f, struct hoist_error **err)
{
  cleanup_free char *shown = sbom_field (f->path, strlen (f->path), PATH_MAX);

  /* A path the documents could not carry (not UTF-8, control bytes). */
  if (shown == NULL)
    {
      finding_release (f);
      return 0;
    }
  if (s->n == FINDINGS_MAX || f->pkgs.n > BUILDER_SBOM_PACKAGES_MAX - s->n_pkgs)
    {
      finding_release (f);
      return hoist_error_set_status (err, E2BIG, "more than %u packages or %u package files in the image",
                                     BUILDER_SBOM_PACKAGES_MAX, FINDINGS_MAX);
    }
  drop_at (s, f->path, false);
  if (s->n == s->alloc)
    {
      s->alloc = s->alloc ? 2 * s->alloc : 64;
      s->v = hoist_xreallocarray (s->v, s->alloc, sizeof *s->v);
    }
  f->layer = s->layer;
  f->live = true;
  s->v[s->n] = *f;
  memset (f, 0, sizeof *f);
  sbom_map_put (&s->live, s->v[s->n].path, s->n);
  s->n_pkgs += s->v[s->n].pkgs.n;
  for (char *slash = strchr (s->v[s->n].path, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
    sbom_map_put (&s->dirs, hoist_xstrndup (s->v[s->n].path, (size_t) (slash - s->v[s->n].path)), 0);
  s->n++;
  return 0;
}

int
sbom_scan_content (struct builder_sbom_scan *s, const char *path, enum sbom_kind kind, const char *data, size_t n,
                   struct hoist_error **err)
{
  struct finding f = { .kind = kind };

  switch (kind)
    {
    case SBOM_KIND_DPKG:
      sbom_parse_dpkg (data, n, &f.pkgs);
      break;
    case SBOM_KIND_APK:
      sbom_parse_apk (data, n, &f.pkgs);
      break;
    case SBOM_KIND_NPM:
      sbom_parse_npm (data, n, &f.pkgs);
      break;
    case SBOM_KIND_PYTHON:
      sbom_parse_python (data, n, &f.pkgs);
      break;
    case SBOM_KIND_DPKG_COPYRIGHT:
      f.license = sbom_parse_dpkg_copyright (data, n);
      break;
    case SBOM_KIND_OS_RELEASE:
      sbom_os_release (data, n, &f.id, &f.id_like);
      break;
    case SBOM_KIND_EXEC:
    case SBOM_KIND_NONE:
      break;
    }
  if (f.pkgs.n == 0 && f.license == NULL && f.id == NULL)
    {
      finding_release (&f);
      return 0;
    }
  f.path = hoist_xstrdup (path);
  return add (s, &f, err);
}

int
sbom_scan_go_done (struct builder_sbom_scan *s, const char *path, struct hoist_error **err)
{
  struct finding f = { .kind = SBOM_KIND_EXEC };

  sbom_go_packages (&s->go, &f.pkgs);
  if (f.pkgs.n == 0)
    {
      finding_release (&f);
      return 0;
    }
  f.path = hoist_xstrdup (path);
  return add (s, &f, err);
}

static char *
dup_or_null (const char *s)
{
  return s != NULL ? hoist_xstrdup (s) : NULL;
}

int
sbom_scan_link (struct builder_sbom_scan *s, const char *path, const char *target, mode_t mode,
                struct hoist_error **err)
{
  struct finding f = { 0 };
  const struct finding *t;
  uint64_t max;
  size_t i;

  if (!sbom_map_get (&s->live, target, &i))
    return 0;
  t = &s->v[i];
  if (t->kind == SBOM_KIND_EXEC ? (mode & 0111) == 0 : sbom_classify (path, mode, 0, &max) != t->kind)
    return 0;
  f.kind = t->kind;
  f.path = hoist_xstrdup (path);
  f.license = dup_or_null (t->license);
  f.id = dup_or_null (t->id);
  f.id_like = dup_or_null (t->id_like);
  for (size_t k = 0; k < t->pkgs.n; k++)
    {
      const struct sbom_pkg *p = &t->pkgs.v[k];

      (void) sbom_pkgs_add (&f.pkgs, p->type, hoist_xstrdup (p->name), hoist_xstrdup (p->version),
                            dup_or_null (p->arch), dup_or_null (p->license), dup_or_null (p->upstream));
    }
  return add (s, &f, err);
}

/* ---- The result ----------------------------------------------------------------- */

static void
package_release (struct builder_sbom_package *p)
{
  free (p->type);
  free (p->name);
  free (p->version);
  free (p->purl);
  free (p->license);
  free (p->arch);
  free (p->location);
  memset (p, 0, sizeof *p);
}

void
builder_sbom_release (struct builder_sbom *sbom)
{
  for (size_t i = 0; i < sbom->n; i++)
    package_release (&sbom->v[i]);
  free (sbom->v);
  sbom->v = NULL;
  sbom->n = 0;
}

static const struct finding *
live_at (const struct builder_sbom_scan *s, const char *path)
{
  size_t i;

  return sbom_map_get (&s->live, path, &i) ? &s->v[i] : NULL;
}

static bool
has_word (const char *list, const char *word)
{
  size_t n = strlen (word);

  for (const char *p = list; p != NULL && *p != '\0'; p = strchr (p, ' ') ? strchr (p, ' ') + 1 : NULL)
    if (strncmp (p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
      return true;
  return false;
}

/* The deb and apk purl vendors: the os-release ID of the image when it is
 * a distribution of that family, else "debian" and "alpine". */
static void
vendors (const struct builder_sbom_scan *s, const char **deb, const char **apk)
{
  const struct finding *f = live_at (s, "etc/os-release");
  const char *id, *like;

  if (f == NULL)
    f = live_at (s, "usr/lib/os-release");
  *deb = "debian";
  *apk = "alpine";
  if (f == NULL)
    return;
  id = f->id;
  like = f->id_like;
  if (strcmp (id, "debian") == 0 || strcmp (id, "ubuntu") == 0 || has_word (like, "debian")
      || has_word (like, "ubuntu"))
    *deb = id;
  if (strcmp (id, "alpine") == 0 || strcmp (id, "wolfi") == 0 || strcmp (id, "chainguard") == 0
      || has_word (like, "alpine"))
    *apk = id;
}

/* Package name -> index of the live copyright find that licenses it. */
static void
copyrights (const struct builder_sbom_scan *s, struct sbom_map *m)
{
  static const char prefix[] = "usr/share/doc/", suffix[] = "/copyright";

  m->owns = true;
  for (size_t i = 0; i < s->n; i++)
    {
      const struct finding *f = &s->v[i];

      if (f->live && f->kind == SBOM_KIND_DPKG_COPYRIGHT)
        sbom_map_put (
            m, hoist_xstrndup (f->path + strlen (prefix), strlen (f->path) - strlen (prefix) - strlen (suffix)), i);
    }
}

static int
strcmp_null (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp (a, b);
}

static int
package_cmp (const void *x, const void *y)
{
  const struct builder_sbom_package *a = x, *b = y;
  int r;

  if ((r = strcmp (a->type, b->type)) != 0 || (r = strcmp (a->name, b->name)) != 0
      || (r = strcmp (a->version, b->version)) != 0 || (r = strcmp (a->location, b->location)) != 0)
    return r;
  return strcmp_null (a->arch, b->arch);
}

/* Sorted, and no two alike: a duplicate is a package listed twice in one
 * file (a status file with a stanza repeated). */
static void
sort_unique (struct builder_sbom *out)
{
  size_t w = 0;

  if (out->n == 0)
    return;
  qsort (out->v, out->n, sizeof *out->v, package_cmp);
  for (size_t r = 1; r < out->n; r++)
    if (package_cmp (&out->v[w], &out->v[r]) == 0)
      package_release (&out->v[r]);
    else
      out->v[++w] = out->v[r];
  out->n = w + 1;
}

int
builder_sbom_scan_finish (struct builder_sbom_scan *s, struct builder_sbom *out, struct hoist_error **err)
{
  struct sbom_map lic = { 0 };
  const char *deb, *apk;
  size_t k = 0;

  if (s->n_pkgs > BUILDER_SBOM_PACKAGES_MAX)
    return hoist_error_set_status (err, E2BIG, "more than %u packages in the image", BUILDER_SBOM_PACKAGES_MAX);
  vendors (s, &deb, &apk);
  copyrights (s, &lic);
  out->v = hoist_xcalloc (s->n_pkgs ? s->n_pkgs : 1, sizeof *out->v);
  for (size_t i = 0; i < s->n; i++)
    for (size_t j = 0; s->v[i].live && j < s->v[i].pkgs.n; j++)
      {
        const struct sbom_pkg *p = &s->v[i].pkgs.v[j];
        struct builder_sbom_package *o = &out->v[k++];
        size_t c;

        o->type = hoist_xstrdup (sbom_type_name (p->type));
        o->name = hoist_xstrdup (p->name);
        o->version = hoist_xstrdup (p->version);
        o->purl = sbom_purl (p, p->type == SBOM_APK ? apk : deb);
        o->arch = dup_or_null (p->arch);
        o->location = hoist_xasprintf ("/%s", s->v[i].path);
        if (p->license != NULL)
          o->license = hoist_xstrdup (p->license);
        else if (p->type == SBOM_DEB && sbom_map_get (&lic, p->name, &c))
          o->license = hoist_xstrdup (s->v[c].license);
      }
  out->n = k;
  sort_unique (out);
  sbom_map_release (&lic);
  return 0;
}
