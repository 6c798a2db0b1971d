/* dockerignore.c — reading a .dockerignore as Docker does (moby's
 * ignorefile reader and patternmatcher, as BuildKit uses them), and
 * answering for a path from the patterns read.
 *
 * A line goes through the two normalisations Docker applies one after the
 * other (the reader's, then the matcher's: they differ, and the second can
 * undo the first, so both are kept) before its '!' is taken off and the
 * rest becomes a pattern.  What a pattern means, and how it is matched, is
 * ignore_pattern.c's.  The last pattern that matches a path decides.
 */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "builder/ignore_pattern.h"

/* How much of a bad pattern an error message shows. */
#define QUOTE_MAX 64

static const char utf8_bom[] = "\xEF\xBB\xBF";

struct ig_rule
{
  struct ignore_pattern *pat;
  bool exception; /* the line began with '!' */
};

struct builder_ignore
{
  struct ig_rule *rules;
  size_t n;
  size_t alloc;
};

/* ---------------------------------------------------------------------
 * White space, read as Go reads it
 * ------------------------------------------------------------------- */

/* Width of the white-space rune that starts S (N bytes), or 0.  A byte
 * that is not valid UTF-8 is U+FFFD to Go, which is not white space. */
static size_t
leading_space_len (const char *s, size_t n)
{
  uint32_t r;
  size_t w = hoist_utf8_decode (s, n, &r);

  return w > 0 && hoist_unicode_is_space (r) ? w : 0;
}

/* Width of the white-space rune that ends S (N bytes), or 0.  A valid
 * sequence at the end is exactly what Go's utf8.DecodeLastRune finds. */
static size_t
trailing_space_len (const char *s, size_t n)
{
  for (size_t k = 1; k <= 4 && k <= n; k++)
    {
      uint32_t r;

      if (hoist_utf8_decode (s + n - k, k, &r) == k)
        return hoist_unicode_is_space (r) ? k : 0;
    }
  return 0;
}

/* strings.TrimSpace on the range *S, *N. */
static void
trim_space (const char **s, size_t *n)
{
  size_t w;

  while (*n > 0 && (w = leading_space_len (*s, *n)) > 0)
    {
      *s += w;
      *n -= w;
    }
  while (*n > 0 && (w = trailing_space_len (*s, *n)) > 0)
    *n -= w;
}

/* ---------------------------------------------------------------------
 * filepath.Clean
 * ------------------------------------------------------------------- */

/* Go's filepath.Clean on S (N bytes): the shortest lexically equivalent
 * path, "." when nothing is left.  Returns a new string (NUL-terminated,
 * though it may hold NUL bytes); *OUT_LEN gets its length. */
static char *
path_clean (const char *s, size_t n, size_t *out_len)
{
  char *out = hoist_xmalloc (n + 2);
  bool rooted = n > 0 && s[0] == '/';
  size_t w = 0, r = 0, floor;

  if (rooted)
    out[w++] = '/';
  /* out[0..floor) is never backed over: the root, or leading ".."s. */
  floor = w;
  while (r < n)
    {
      size_t end, seg;

      if (s[r] == '/')
        {
          r++;
          continue;
        }
      for (end = r; end < n && s[end] != '/'; end++)
        ;
      seg = end - r;
      if (seg == 2 && s[r] == '.' && s[r + 1] == '.')
        {
          if (w > floor)
            {
              while (w > floor && out[w - 1] != '/')
                w--;
              if (w > floor)
                w--;
            }
          else if (!rooted)
            {
              /* ".." above a relative start is kept; "/.." is "/". */
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              floor = w;
            }
        }
      else if (!(seg == 1 && s[r] == '.'))
        {
          if (w > (rooted ? 1u : 0u))
            out[w++] = '/';
          memcpy (out + w, s + r, seg);
          w += seg;
        }
      r = end;
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  *out_len = w;
  return out;
}

/* ---------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------- */

static bool
is_root (const char *path, size_t n)
{
  return n == 0 || (n == 1 && path[0] == '.');
}

/* Index of the last pattern that matches PATH, or ig->n.  Last match
 * wins, so looking from the end stops at the deciding one. */
static size_t
last_match (const struct builder_ignore *ig, const char *path, size_t n)
{
  for (size_t i = ig->n; i-- > 0;)
    if (ignore_pattern_matches (ig->rules[i].pat, path, n))
      return i;
  return ig->n;
}

bool
builder_ignore_excluded (const struct builder_ignore *ig, const char *path)
{
  size_t n, i;

  if (ig == NULL || path == NULL)
    return false;
  n = strlen (path);
  if (is_root (path, n))
    return false;
  i = last_match (ig, path, n);
  return i < ig->n && !ig->rules[i].exception;
}

bool
builder_ignore_must_descend (const struct builder_ignore *ig, const char *dir)
{
  size_t n, i;

  if (ig == NULL || dir == NULL)
    return true;
  n = strlen (dir);
  if (is_root (dir, n))
    return true;
  i = last_match (ig, dir, n);
  if (i == ig->n || ig->rules[i].exception)
    return true;
  /* The excluding pattern matches everything below DIR through DIR
   * itself; only a later exception can take something back. */
  for (size_t j = i + 1; j < ig->n; j++)
    if (ig->rules[j].exception && ignore_pattern_reaches_below (ig->rules[j].pat, dir, n))
      return true;
  return false;
}

size_t
builder_ignore_count (const struct builder_ignore *ig)
{
  return ig == NULL ? 0 : ig->n;
}

/* ---------------------------------------------------------------------
 * Reading the file
 * ------------------------------------------------------------------- */

void
builder_ignore_free (struct builder_ignore *ig)
{
  if (ig == NULL)
    return;
  for (size_t i = 0; i < ig->n; i++)
    ignore_pattern_free (ig->rules[i].pat);
  free (ig->rules);
  free (ig);
}

static void
ignore_freep (struct builder_ignore **ig)
{
  builder_ignore_free (*ig);
}
#define cleanup_ignore __attribute__ ((cleanup (ignore_freep)))

/* A line of the file, as read, for error messages. */
struct ig_line
{
  const char *text; /* trimmed */
  size_t len;
  unsigned number;
};

static int
bad_pattern (const struct ig_line *line, const char *why, struct hoist_error **err)
{
  cleanup_free char *quoted = hoist_quote (line->text, line->len, QUOTE_MAX, 0);

  return hoist_error_set (err, 0, "'.dockerignore' line %u: bad pattern '%s': %s", line->number, quoted, why);
}

/* The ignorefile reader's part, on a trimmed, non-empty line: '!' and the
 * white space after it come off, the rest is cleaned and loses one leading
 * '/', and the '!' goes back.  Returns a new string; *OUT_LEN its length. */
static char *
reader_normalize (const char *s, size_t n, size_t *out_len)
{
  cleanup_free char *clean = NULL;
  size_t len = 0, bang = s[0] == '!' ? 1 : 0;
  const char *start;
  char *out;

  if (bang)
    {
      s++;
      n--;
      trim_space (&s, &n);
    }
  start = s;
  if (n > 0)
    {
      clean = path_clean (s, n, &len);
      start = clean;
      if (len > 1 && clean[0] == '/')
        {
          start++;
          len--;
        }
    }
  out = hoist_xmalloc (len + bang + 1);
  if (bang)
    out[0] = '!';
  memcpy (out + bang, start, len);
  out[len + bang] = '\0';
  *out_len = len + bang;
  return out;
}

/* Append PAT (taken) as the next rule. */
static void
ignore_push (struct builder_ignore *ig, struct ignore_pattern *pat, bool exception)
{
  if (ig->n == ig->alloc)
    {
      ig->alloc = ig->alloc ? ig->alloc * 2 : 16;
      ig->rules = hoist_xreallocarray (ig->rules, ig->alloc, sizeof (*ig->rules));
    }
  ig->rules[ig->n++] = (struct ig_rule){ pat, exception };
}

/* The matcher's part, on what the reader made of the line: trimmed and
 * cleaned again (which can change it: "a /" became "a " above), then the
 * '!' read and the pattern checked. */
static int
matcher_add (struct builder_ignore *ig, const char *s, size_t n, const struct ig_line *line, struct hoist_error **err)
{
  cleanup_free char *clean = NULL;
  cleanup_ignore_pattern struct ignore_pattern *pat = NULL;
  const char *text, *why;
  size_t len;
  bool exception = false;

  trim_space (&s, &n);
  if (n == 0)
    return 0;
  clean = path_clean (s, n, &len);
  text = clean;
  if (text[0] == '!')
    {
      if (len == 1)
        return bad_pattern (line, "exception '!' with nothing to re-include", err);
      exception = true;
      text++;
      len--;
    }
  why = ignore_pattern_new (text, len, &pat);
  if (why != NULL)
    return bad_pattern (line, why, err);
  if (ig->n >= BUILDER_IGNORE_PATTERNS_MAX)
    return hoist_error_set (err, 0, "'.dockerignore' line %u: too many patterns (limit %u)", line->number,
                            BUILDER_IGNORE_PATTERNS_MAX);
  ignore_push (ig, steal_pointer (&pat), exception);
  return 0;
}

static int
ignore_add_line (struct builder_ignore *ig, const char *s, size_t n, unsigned number, struct hoist_error **err)
{
  cleanup_free char *normalized = NULL;
  struct ig_line line;
  size_t len;

  if (number == 1 && n >= 3 && memcmp (s, utf8_bom, 3) == 0)
    {
      s += 3;
      n -= 3;
    }
  /* A comment only when '#' is the very first character: "  #x" is a
   * pattern, as in Docker. */
  if (n > 0 && s[0] == '#')
    return 0;
  trim_space (&s, &n);
  if (n == 0)
    return 0;
  line = (struct ig_line){ s, n, number };
  if (n > BUILDER_IGNORE_PATTERN_MAX)
    return hoist_error_set (err, 0, "'.dockerignore' line %u: pattern too long: %zu bytes (limit %u)", number, n,
                            BUILDER_IGNORE_PATTERN_MAX);
  normalized = reader_normalize (s, n, &len);
  return matcher_add (ig, normalized, len, &line, err);
}

/* The next line of TEXT from *POS as bufio.ScanLines cuts it: up to '\n',
 * less a '\r' just before it; a last line without '\n' counts, an empty
 * one after the final '\n' does not. */
static bool
next_line (const char *text, size_t len, size_t *pos, const char **line, size_t *line_len)
{
  const char *nl;
  size_t end;

  if (*pos >= len)
    return false;
  nl = memchr (text + *pos, '\n', len - *pos);
  end = nl != NULL ? (size_t) (nl - text) : len;
  *line = text + *pos;
  *line_len = end - *pos;
  if (*line_len > 0 && (*line)[*line_len - 1] == '\r')
    (*line_len)--;
  *pos = nl != NULL ? end + 1 : len;
  return true;
}

int
builder_ignore_parse (const char *text, size_t len, struct builder_ignore **out, struct hoist_error **err)
{
  cleanup_ignore struct builder_ignore *ig = NULL;
  const char *line;
  size_t pos = 0, line_len;
  unsigned number = 0;

  if (len > BUILDER_IGNORE_MAX)
    return hoist_error_set (err, 0, "'.dockerignore' is too large: %zu bytes (limit %u)", len, BUILDER_IGNORE_MAX);
  ig = hoist_xcalloc (1, sizeof (*ig));
  while (next_line (text, len, &pos, &line, &line_len))
    {
      int ret = ignore_add_line (ig, line, line_len, ++number, err);

      if (ret < 0)
        return ret;
    }
  *out = steal_pointer (&ig);
  return 0;
}
