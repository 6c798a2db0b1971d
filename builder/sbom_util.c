/* sbom_util.c — what the SBOM parsers share: package lists, the check
 * every field from an image passes before it is kept, deb822 / RFC 822
 * stanzas, os-release, package URLs, and a string map.
 *
 * Everything kept ends up in JSON documents, which must be valid UTF-8:
 * a field that is not (or holds a control character) is dropped, and with
 * it the package when the field is its name or version. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

static const char *const type_names[] = {
  [SBOM_DEB] = "deb", [SBOM_APK] = "apk", [SBOM_NPM] = "npm", [SBOM_PYPI] = "pypi", [SBOM_GOLANG] = "golang",
};

const char *
sbom_type_name (enum sbom_type t)
{
  return (size_t) t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "?";
}

/* ---- Package lists ------------------------------------------------------- */

bool
sbom_pkgs_add (struct sbom_pkgs *l, enum sbom_type type, char *name, char *version, char *arch, char *license,
               char *upstream)
{
  struct sbom_pkg *p;

  if (name == NULL || version == NULL)
    {
      free (name);
      free (version);
      free (arch);
      free (license);
      free (upstream);
      return false;
    }
  if (l->n == l->alloc)
    {
      l->alloc = l->alloc ? 2 * l->alloc : 8;
      l->v = hoist_xreallocarray (l->v, l->alloc, sizeof *l->v);
    }
  p = &l->v[l->n++];
  *p = (struct sbom_pkg){
    .type = type,
    .name = name,
    .version = version,
    .arch = arch,
    .license = license,
    .upstream = upstream,
  };
  return true;
}

void
sbom_pkgs_release (struct sbom_pkgs *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->v[i].name);
      free (l->v[i].version);
      free (l->v[i].arch);
      free (l->v[i].license);
      free (l->v[i].upstream);
    }
  free (l->v);
  memset (l, 0, sizeof *l);
}

/* ---- String maps ---------------------------------------------------------------- */

static size_t
hash (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;

  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char) *s) * 0x100000001b3ull;
  return (size_t) (h ^ (h >> 32));
}

static size_t
slot (const struct sbom_map *m, const char *key)
{
  size_t i = hash (key) & (m->cap - 1);

  while (m->keys[i] != NULL && strcmp (m->keys[i], key) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

bool
sbom_map_get (const struct sbom_map *m, const char *key, size_t *val)
{
  size_t i;

  if (m->cap == 0)
    return false;
  i = slot (m, key);
  if (m->keys[i] == NULL)
    return false;
  if (val != NULL)
    *val = m->vals[i];
  return true;
}

static void
sbom_map_grow (struct sbom_map *m)
{
  struct sbom_map bigger = { .cap = m->cap ? 2 * m->cap : 256, .owns = m->owns };

  bigger.keys = hoist_xcalloc (bigger.cap, sizeof (char *));
  bigger.vals = hoist_xcalloc (bigger.cap, sizeof (size_t));
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] != NULL)
      sbom_map_put (&bigger, m->keys[i], m->vals[i]);
  free (m->keys);
  free (m->vals);
  *m = bigger;
}

void
sbom_map_put (struct sbom_map *m, char *key, size_t val)
{
  size_t i;

  if (2 * (m->n + 1) > m->cap)
    sbom_map_grow (m);
  i = slot (m, key);
  if (m->keys[i] != NULL)
    {
      if (m->owns)
        free (key);
      m->vals[i] = val;
      return;
    }
  m->keys[i] = key;
  m->vals[i] = val;
  m->n++;
}

/* Backward-shift deletion: the entries of KEY's probe run that would no
 * longer be found move back. */
void
sbom_map_del (struct sbom_map *m, const char *key)
{
  size_t i, j, mask = m->cap - 1;

  if (m->cap == 0 || m->keys[i = slot (m, key)] == NULL)
    return;
  if (m->owns)
    free (m->keys[i]);
  for (j = (i + 1) & mask; m->keys[j] != NULL; j = (j + 1) & mask)
    {
      size_t home = hash (m->keys[j]) & mask;
      bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

      if (!stays)
        {
          m->keys[i] = m->keys[j];
          m->vals[i] = m->vals[j];
          i = j;
        }
    }
  m->keys[i] = NULL;
  m->n--;
}

void
sbom_map_release (struct sbom_map *m)
{
  for (size_t i = 0; m->owns && i < m->cap; i++)
    free (m->keys[i]);
  free (m->keys);
  free (m->vals);
  memset (m, 0, sizeof *m);
}

/* ---- Fields -------------------------------------------------------------- */

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *
sbom_field (const char *s, size_t n, size_t max)
{
  while (n > 0 && is_blank (s[0]))
    {
      s++;
      n--;
    }
  while (n > 0 && is_blank (s[n - 1]))
    n--;
  if (n == 0 || n > max)
    return NULL;
  for (size_t i = 0; i < n;)
    {
      uint32_t cp;
      size_t w = hoist_utf8_decode (s + i, n - i, &cp);

      if (w == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
        return NULL;
      i += w;
    }
  return hoist_xstrndup (s, n);
}

/* ---- Stanzas ------------------------------------------------------------- */

/* The line at P: its end (the '\n' or END) in *EOL; returns the length
 * without a final '\r'. */
static size_t
line_at (const char *p, const char *end, const char **eol)
{
  const char *nl = memchr (p, '\n', (size_t) (end - p));
  size_t n;

  *eol = nl != NULL ? nl : end;
  n = (size_t) (*eol - p);
  if (n > 0 && p[n - 1] == '\r')
    n--;
  return n;
}

static const char *
next_line (const char *eol, const char *end)
{
  return eol < end ? eol + 1 : end;
}

enum sbom_kv_next
sbom_kv_next (const char **p, const char *end, struct sbom_kv *kv)
{
  while (*p < end)
    {
      const char *line = *p, *eol, *colon;
      size_t n = line_at (line, end, &eol);

      *p = next_line (eol, end);
      if (n == 0)
        return SBOM_KV_BREAK;
      /* A continuation line with no field before it (or after a line
       * that was skipped) belongs to nothing. */
      if (line[0] == ' ' || line[0] == '\t')
        continue;
      colon = memchr (line, ':', n);
      if (colon == NULL || colon == line)
        continue;
      kv->name = line;
      kv->name_len = (size_t) (colon - line);
      kv->value = colon + 1;
      kv->value_len = n - kv->name_len - 1;
      kv->more = false;
      while (*p < end && (**p == ' ' || **p == '\t'))
        {
          kv->more = true;
          (void) line_at (*p, end, &eol);
          *p = next_line (eol, end);
        }
      return SBOM_KV_FIELD;
    }
  return SBOM_KV_END;
}

bool
sbom_kv_is (const struct sbom_kv *kv, const char *name)
{
  size_t n = strlen (name);

  return kv->name_len == n && strncasecmp (kv->name, name, n) == 0;
}

/* ---- os-release ---------------------------------------------------------- */

static bool
id_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* The value V (N bytes) of an os-release assignment, quotes removed, when
 * it is a list of IDs (SPACES: separated by single spaces). */
static char *
os_release_ids (const char *v, size_t n, bool spaces)
{
  if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
    {
      v++;
      n -= 2;
    }
  if (n == 0 || n > 256 || v[0] == ' ' || v[n - 1] == ' ')
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!id_char (v[i]) && !(spaces && v[i] == ' ' && v[i + 1] != ' '))
      return NULL;
  return hoist_xstrndup (v, n);
}

void
sbom_os_release (const char *data, size_t n, char **id, char **id_like)
{
  const char *p = data, *end = data + n;

  *id = *id_like = NULL;
  while (p < end)
    {
      const char *eol;
      size_t len = line_at (p, end, &eol);
      const char *line = p;

      p = next_line (eol, end);
      if (len > 3 && strncmp (line, "ID=", 3) == 0)
        {
          free (*id);
          *id = os_release_ids (line + 3, len - 3, false);
        }
      else if (len > 8 && strncmp (line, "ID_LIKE=", 8) == 0)
        {
          free (*id_like);
          *id_like = os_release_ids (line + 8, len - 8, true);
        }
    }
}

/* ---- Package URLs -------------------------------------------------------- */

void
sbom_encode (struct hoist_buf *b, const char *s, bool lower, bool keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s != '\0'; s++)
    {
      unsigned char c = (unsigned char) *s;

      if (lower && c >= 'A' && c <= 'Z')
        c = (unsigned char) (c - 'A' + 'a');
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
          || c == '~' || c == ':' || (keep_slash && c == '/'))
        build_buf_addch (b, (char) c);
      else
        {
          build_buf_addch (b, '%');
          build_buf_addch (b, hex[c >> 4]);
          build_buf_addch (b, hex[c & 15]);
        }
    }
}

char *
sbom_pep503 (const char *name)
{
  char *out = hoist_xmalloc (strlen (name) + 1), *w = out;

  for (const char *r = name; *r != '\0'; r++)
    {
      char c = *r;

      if (c == '-' || c == '_' || c == '.')
        {
          if (w == out || w[-1] != '-')
            *w++ = '-';
          continue;
        }
      *w++ = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
    }
  *w = '\0';
  return out;
}

/* NAME as namespace and name: "@scope/x" (npm) or "github.com/a/b" (Go):
 * everything up to the last '/' is the namespace. */
static void
purl_add_path (struct hoist_buf *b, const char *name, bool lower)
{
  const char *slash = strrchr (name, '/');

  if (slash != NULL && slash != name && slash[1] != '\0')
    {
      cleanup_free char *ns = hoist_xstrndup (name, (size_t) (slash - name));

      sbom_encode (b, ns, lower, true);
      build_buf_addch (b, '/');
      name = slash + 1;
    }
  sbom_encode (b, name, lower, false);
}

static void
purl_qualifier (struct hoist_buf *b, bool *first, const char *key, const char *value)
{
  if (value == NULL)
    return;
  build_buf_addch (b, *first ? '?' : '&');
  *first = false;
  build_buf_addstr (b, key);
  build_buf_addch (b, '=');
  sbom_encode (b, value, false, false);
}

char *
sbom_purl (const struct sbom_pkg *p, const char *vendor)
{
  struct hoist_buf b;
  bool first = true;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, "pkg:");
  build_buf_addstr (&b, sbom_type_name (p->type));
  build_buf_addch (&b, '/');
  switch (p->type)
    {
    case SBOM_DEB:
    case SBOM_APK:
      sbom_encode (&b, vendor, true, false);
      build_buf_addch (&b, '/');
      sbom_encode (&b, p->name, true, false);
      break;
    case SBOM_PYPI:
      {
        cleanup_free char *norm = sbom_pep503 (p->name);

        sbom_encode (&b, norm, false, false);
        break;
      }
    case SBOM_NPM:
      purl_add_path (&b, p->name, true);
      break;
    case SBOM_GOLANG:
      /* Module paths keep their case: the module proxy and go.sum tell
       * "github.com/Azure/x" from "github.com/azure/x". */
      purl_add_path (&b, p->name, false);
      break;
    }
  if (!(p->type == SBOM_GOLANG && strcmp (p->version, "(devel)") == 0))
    {
      build_buf_addch (&b, '@');
      sbom_encode (&b, p->version, false, false);
    }
  purl_qualifier (&b, &first, "arch", p->arch);
  purl_qualifier (&b, &first, "upstream", p->upstream);
  return hoist_buf_detach (&b, NULL);
}

/* NAME ("ghcr.io/org/app:1.2", maybe "@sha256:...") in its parts: the
 * repository, and the tag or NULL. */
static void
split_image (const char *name, char **repo, char **tag)
{
  const char *at = strchr (name, '@'), *slash, *colon;
  size_t n = at != NULL ? (size_t) (at - name) : strlen (name);

  *repo = hoist_xstrndup (name, n);
  *tag = NULL;
  slash = strrchr (*repo, '/');
  colon = strrchr (slash != NULL ? slash : *repo, ':');
  if (colon != NULL)
    {
      *tag = hoist_xstrdup (colon + 1);
      (*repo)[colon - *repo] = '\0';
    }
}

char *
sbom_purl_oci (const char *image_name, const char *digest)
{
  cleanup_free char *repo = NULL, *tag = NULL;
  struct hoist_buf b;
  const char *last;

  split_image (image_name, &repo, &tag);
  last = strrchr (repo, '/');
  last = last != NULL ? last + 1 : repo;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, "pkg:oci/");
  sbom_encode (&b, last[0] != '\0' ? last : "image", true, false);
  build_buf_addch (&b, '@');
  sbom_encode (&b, digest, false, false);
  if (last != repo)
    {
      build_buf_addstr (&b, "?repository_url=");
      sbom_encode (&b, repo, true, true);
    }
  if (tag != NULL && tag[0] != '\0')
    {
      build_buf_addstr (&b, last != repo ? "&tag=" : "?tag=");
      sbom_encode (&b, tag, false, false);
    }
  return hoist_buf_detach (&b, NULL);
}
