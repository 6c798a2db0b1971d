/* context_match.c — what a COPY or ADD source names in the build context,
 * found as BuildKit's file copier finds it (fsutil's ResolveWildcards):
 *  - the source is cleaned as if the context root were '/' (path.Clean of
 *    "/" + source), so ".." never climbs out and "/x" is "x";
 *  - the components before the first one with an unquoted '*', '?' or '['
 *    are a plain path, resolved through symlinks without leaving the
 *    context (fsutil's RootPath); they are taken literally, '\' included;
 *  - the rest is matched with Go's filepath.Match against each path below
 *    that directory; a directory that matches stands for its whole tree.
 *
 * Matching works on the walk's entries, so what .dockerignore excluded is
 * never matched: BuildKit matches in the copy of the context it was sent.
 * Where hoist differs: the pattern is matched one component at a time, so
 * a class ("[^a]") never matches the '/' between two components, which
 * filepath.Match on a whole path lets it do; and a malformed pattern is an
 * error, where BuildKit drops filepath.Match's error and matches nothing. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/context_private.h"

/* As Linux's MAXSYMLINKS: how many symlinks one resolution may follow. */
#define LINKS_MAX 40
/* What Go's UTF-8 decoder yields for a byte that starts no valid rune. */
#define RUNE_ERROR 0xFFFDu

/* ---- Cleaning ------------------------------------------------------------ */

/* path.Clean ("/" + SRC) without its leading '/': "" for the root. */
static char *
clean_rooted (const char *src)
{
  size_t n = strlen (src);
  char *out = hoist_xmalloc (n + 1);
  size_t w = 0;
  const char *p = src;

  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");

      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          /* Back to the previous '/', or to the root: never above it. */
          while (w > 0 && out[w - 1] != '/')
            w--;
          if (w > 0)
            w--;
        }
      else if (len > 0 && !(len == 1 && p[0] == '.'))
        {
          if (w > 0)
            out[w++] = '/';
          memcpy (out + w, p, len);
          w += len;
        }
      p += len;
      if (*p == '/')
        p++;
    }
  out[w] = '\0';
  return out;
}

/* ---- Go's filepath.Match, for one component ----------------------------- */

static size_t
decode_rune (const char *s, size_t n, uint32_t *r)
{
  size_t w = hoist_utf8_decode (s, n, r);

  if (w == 0)
    {
      *r = RUNE_ERROR;
      return 1;
    }
  return w;
}

/* filepath's getEsc: one class character at C[*CI], '\' quoting. */
static int
get_esc (const char *c, size_t cn, size_t *ci, uint32_t *r)
{
  size_t w;

  if (*ci >= cn || c[*ci] == '-' || c[*ci] == ']')
    return -1;
  if (c[*ci] == '\\' && ++*ci >= cn)
    return -1;
  w = hoist_utf8_decode (c + *ci, cn - *ci, r);
  if (w == 0)
    return -1;
  *ci += w;
  /* A class must still be closed after it. */
  return *ci < cn ? 0 : -1;
}

/* One "[...]" at C[*CI] against rune R: 1 when it matches, 0 when not,
 * -1 when malformed.  Reads the whole class even when MATCH does not
 * matter, to check it. */
static int
match_class (const char *c, size_t cn, size_t *ci, uint32_t r)
{
  bool negated = false, match = false;
  int nrange = 0;

  (*ci)++;
  if (*ci < cn && c[*ci] == '^')
    {
      negated = true;
      (*ci)++;
    }
  for (;;)
    {
      uint32_t lo, hi;

      if (*ci < cn && c[*ci] == ']' && nrange > 0)
        {
          (*ci)++;
          break;
        }
      if (get_esc (c, cn, ci, &lo) < 0)
        return -1;
      hi = lo;
      if (c[*ci] == '-')
        {
          (*ci)++;
          if (get_esc (c, cn, ci, &hi) < 0)
            return -1;
        }
      if (lo <= r && r <= hi)
        match = true;
      nrange++;
    }
  return match != negated;
}

/* filepath's matchChunk: 1 with *USED the bytes of S matched, 0 when the
 * chunk does not match at the start of S, -1 when it is malformed.  After
 * a mismatch the rest of the chunk is still read, to check it. */
static int
match_chunk (const char *c, size_t cn, const char *s, size_t sn, size_t *used)
{
  bool failed = false;
  size_t ci = 0, si = 0;

  while (ci < cn)
    {
      uint32_t r = 0;
      int m;

      if (!failed && si == sn)
        failed = true;
      switch (c[ci])
        {
        case '[':
          if (!failed)
            si += decode_rune (s + si, sn - si, &r);
          m = match_class (c, cn, &ci, r);
          if (m < 0)
            return -1;
          if (m == 0)
            failed = true;
          break;
        case '?':
          if (!failed)
            {
              if (s[si] == '/')
                failed = true;
              si += decode_rune (s + si, sn - si, &r);
            }
          ci++;
          break;
        case '\\':
          if (++ci == cn)
            return -1;
          /* fall through */
        default:
          if (!failed)
            {
              if (c[ci] != s[si])
                failed = true;
              si++;
            }
          ci++;
          break;
        }
    }
  if (failed)
    return 0;
  *used = si;
  return 1;
}

/* filepath's scanChunk: skip the leading stars of *P (saying whether there
 * were any), and cut the chunk up to the next star outside a class. */
static bool
scan_chunk (const char **p, size_t *pn, const char **chunk, size_t *cn)
{
  bool star = false, inrange = false;
  size_t i;

  while (*pn > 0 && **p == '*')
    {
      (*p)++;
      (*pn)--;
      star = true;
    }
  for (i = 0; i < *pn; i++)
    {
      char ch = (*p)[i];

      if (ch == '\\' && i + 1 < *pn)
        i++;
      else if (ch == '[')
        inrange = true;
      else if (ch == ']')
        inrange = false;
      else if (ch == '*' && !inrange)
        break;
    }
  *chunk = *p;
  *cn = i;
  *p += i;
  *pn -= i;
  return star;
}

/* filepath.Match (P, S) on byte ranges: 1, 0, or -1 when P is malformed
 * (which is found whatever S is). */
static int
seg_match (const char *p, size_t pn, const char *s, size_t sn)
{
  while (pn > 0)
    {
      const char *chunk;
      size_t cn, used = 0;
      bool star = scan_chunk (&p, &pn, &chunk, &cn);
      bool found = false;
      int r;

      if (star && cn == 0)
        return memchr (s, '/', sn) == NULL;
      r = match_chunk (chunk, cn, s, sn, &used);
      if (r > 0 && (used == sn || pn > 0))
        {
          s += used;
          sn -= used;
          continue;
        }
      if (r < 0)
        return -1;
      for (size_t i = 0; star && !found && i < sn && s[i] != '/'; i++)
        {
          r = match_chunk (chunk, cn, s + i + 1, sn - i - 1, &used);
          if (r < 0)
            return -1;
          /* The last chunk must use up the name. */
          if (r > 0 && !(pn == 0 && used < sn - i - 1))
            {
              s += i + 1 + used;
              sn -= i + 1 + used;
              found = true;
            }
        }
      if (found)
        continue;
      while (pn > 0)
        {
          scan_chunk (&p, &pn, &chunk, &cn);
          if (match_chunk (chunk, cn, "", 0, &used) < 0)
            return -1;
        }
      return 0;
    }
  return sn == 0;
}

/* ---- Resolving through symlinks ----------------------------------------- */

/* Follow CLEAN (as clean_rooted makes it) from the root; the last
 * component's symlink only when FOLLOW_LAST.  SOURCE is what errors name. */
static int
resolve_clean (const struct builder_context *ctx, const char *clean, bool follow_last, const char *source,
               const struct builder_context_entry **out, struct hoist_error **err)
{
  cleanup_free char *rest = hoist_xstrdup (clean);
  cleanup_free char *cur = hoist_xstrdup ("");
  int links = 0;

  while (rest[0] != '\0')
    {
      size_t len = strcspn (rest, "/");
      const char *after = rest[len] == '/' ? rest + len + 1 : rest + len;
      cleanup_free char *comp = hoist_xstrndup (rest, len);
      cleanup_free char *next = NULL;
      const struct builder_context_entry *e;
      char *tmp;

      if (len == 0 || strcmp (comp, ".") == 0)
        ;
      else if (strcmp (comp, "..") == 0)
        {
          char *slash = strrchr (cur, '/');

          *(slash != NULL ? slash : cur) = '\0';
        }
      else
        {
          next = cur[0] != '\0' ? hoist_xasprintf ("%s/%s", cur, comp) : hoist_xstrdup (comp);
          e = builder_context_lookup (ctx, next);
          if (e == NULL)
            return hoist_error_set_status (
                err, ENOENT, "build context: '%s' not found (hint: is it excluded by .dockerignore?)", source);
          if (S_ISLNK (e->mode) && (*after != '\0' || follow_last))
            {
              if (++links > LINKS_MAX)
                return hoist_error_set_status (err, ELOOP, "build context: '%s': too many levels of symbolic links",
                                               source);
              /* An absolute target starts again at the context root. */
              if (e->link_target[0] == '/')
                cur[0] = '\0';
              tmp = hoist_xasprintf ("%s/%s", e->link_target, after);
              free (rest);
              rest = tmp;
              continue;
            }
          if (*after != '\0' && !S_ISDIR (e->mode))
            return hoist_error_set_status (err, ENOTDIR, "build context: '%s' not found: '%s' is not a directory",
                                           source, next);
          free (cur);
          cur = steal_pointer (&next);
        }
      tmp = hoist_xstrdup (after);
      free (rest);
      rest = tmp;
    }
  *out = builder_context_lookup (ctx, cur);
  return 0;
}

int
builder_context_resolve (const struct builder_context *ctx, const char *path, const struct builder_context_entry **out,
                         struct hoist_error **err)
{
  cleanup_free char *clean = clean_rooted (path);

  return resolve_clean (ctx, clean, true, path, out, err);
}

/* ---- Matching ----------------------------------------------------------- */

struct match_list
{
  const struct builder_context_entry **v;
  size_t n;
  size_t alloc;
};

static void
match_list_release (struct match_list *l)
{
  free (l->v);
}

static void
match_push (struct match_list *l, const struct builder_context_entry *e)
{
  if (l->n == l->alloc)
    {
      l->alloc = l->alloc == 0 ? 8 : l->alloc * 2;
      l->v = hoist_xreallocarray (l->v, l->alloc, sizeof (*l->v));
    }
  l->v[l->n++] = e;
}

/* A source without wildcards: its directories resolved, its last
 * component taken as it is. */
static int
match_plain (const struct builder_context *ctx, const char *clean, const char *source, struct match_list *out,
             struct hoist_error **err)
{
  const char *slash = strrchr (clean, '/');
  cleanup_free char *parent = hoist_xstrndup (clean, slash != NULL ? (size_t) (slash - clean) : 0);
  const char *last = slash != NULL ? slash + 1 : clean;
  const struct builder_context_entry *dir, *e;
  cleanup_free char *full = NULL;
  int ret;

  if (clean[0] == '\0')
    {
      match_push (out, builder_context_root (ctx));
      return 0;
    }
  if ((ret = resolve_clean (ctx, parent, true, source, &dir, err)) < 0)
    return ret;
  if (!S_ISDIR (dir->mode))
    return hoist_error_set_status (err, ENOTDIR, "build context: '%s' not found: '%s' is not a directory", source,
                                   parent);
  full = dir->path[0] != '\0' ? hoist_xasprintf ("%s/%s", dir->path, last) : hoist_xstrdup (last);
  e = builder_context_lookup (ctx, full);
  if (e == NULL)
    return hoist_error_set_status (err, ENOENT,
                                   "build context: '%s' not found (hint: is it excluded by .dockerignore?)", source);
  match_push (out, e);
  return 0;
}

/* Component K (0-based) of PATTERN, and its length. */
static const char *
component (const char *pattern, size_t k, size_t *len)
{
  while (k-- > 0)
    pattern = strchr (pattern, '/') + 1;
  *len = strcspn (pattern, "/");
  return pattern;
}

/* Every entry below directory BASE whose components match those of
 * PATTERN (K of them, none empty), a matched directory's tree skipped. */
static void
match_below (const struct builder_context *ctx, const struct builder_context_entry *base, const char *pattern, size_t k,
             struct match_list *out)
{
  const struct builder_context_entry *first;
  size_t n = builder_context_below (ctx, base, &first);
  size_t skip = base->path[0] != '\0' ? strlen (base->path) + 1 : 0;

  for (size_t i = 0; i < n; i++)
    {
      const struct builder_context_entry *e = &first[i];
      const char *rel = e->path + skip;
      const char *name = strrchr (rel, '/');
      size_t depth = 1, plen;
      const char *seg;
      const struct builder_context_entry *sub;
      bool done;

      for (const char *q = rel; (q = strchr (q, '/')) != NULL; q++)
        depth++;
      name = name != NULL ? name + 1 : rel;
      /* Walk order puts a directory before its tree, so every ancestor
       * of E has matched its own component already. */
      seg = component (pattern, depth - 1, &plen);
      done = seg_match (seg, plen, name, strlen (name)) <= 0;
      if (!done && depth == k)
        {
          match_push (out, e);
          done = true;
        }
      if (done)
        i += builder_context_below (ctx, e, &sub);
    }
}

int
builder_context_match (const struct builder_context *ctx, const char *source, const struct builder_context_entry ***out,
                       size_t *n, struct hoist_error **err)
{
  cleanup_free char *clean = clean_rooted (source);
  __attribute__ ((cleanup (match_list_release))) struct match_list list = { 0 };
  const struct builder_context_entry *base;
  size_t k = 0, plen;
  /* PREFIX: the bytes before the first component with a wildcard. */
  size_t prefix = builder_path_literal_prefix (clean);
  const char *p = clean + prefix;
  int ret;

  if (*p == '\0')
    {
      if ((ret = match_plain (ctx, clean, source, &list, err)) < 0)
        return ret;
    }
  else
    {
      cleanup_free char *dir = hoist_xstrndup (clean, prefix > 0 ? prefix - 1 : 0);

      for (const char *q = p;; k++)
        {
          const char *seg = component (q, 0, &plen);

          if (seg_match (seg, plen, "", 0) < 0)
            return hoist_error_set_status (err, EINVAL, "build context: bad pattern '%s'", source);
          if (seg[plen] == '\0')
            break;
          q = seg + plen + 1;
        }
      k++;
      if ((ret = resolve_clean (ctx, dir, true, source, &base, err)) < 0)
        return ret;
      if (!S_ISDIR (base->mode))
        return hoist_error_set_status (err, ENOTDIR, "build context: '%s' not found: '%s' is not a directory", source,
                                       dir);
      match_below (ctx, base, p, k, &list);
    }
  *n = list.n;
  *out = list.n > 0 ? steal_pointer (&list.v) : NULL;
  return 0;
}
