/* paths.c — GitHub Actions' filter patterns for paths and branches:
 *   *   any characters but '/'          **  any characters, '/' too
 *   ?   zero or one of the character before   +  one or more of it
 *   [a-z0-9]  one character of a class (ranges a-z, A-Z, 0-9)
 *   \c  c itself                        !pattern (in a list) excludes
 * A pattern is matched against the whole string in O(pattern × string)
 * time: a dynamic program over the string's positions, never
 * backtracking, so no pattern is slow on any path. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runner/pipeline.h"

#define PATTERN_MAX 1024
#define SUBJECT_MAX 4096

enum tok_kind
{
  TOK_CHAR,
  TOK_CLASS,
  TOK_STAR,          /* * */
  TOK_GLOBSTAR,      /* ** */
  TOK_GLOBSTAR_DIRS, /* **\/ : nothing, or anything ending in '/' */
};

struct tok
{
  enum tok_kind kind;
  char c;
  const char *cls; /* TOK_CLASS: the text between the brackets */
  size_t cls_len;
  bool optional; /* followed by ? */
  bool repeat;   /* followed by + */
};

static bool
class_match (const struct tok *t, char c)
{
  for (size_t i = 0; i < t->cls_len; i++)
    {
      if (i + 2 < t->cls_len && t->cls[i + 1] == '-')
        {
          if (c >= t->cls[i] && c <= t->cls[i + 2])
            return true;
          i += 2;
        }
      else if (t->cls[i] == c)
        return true;
    }
  return false;
}

static bool
class_valid (const char *s, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (i + 2 < n && s[i + 1] == '-')
      {
        char a = s[i], b = s[i + 2];
        bool ok = (a >= 'a' && b <= 'z') || (a >= 'A' && b <= 'Z') || (a >= '0' && b <= '9');

        if (!ok || a > b)
          return false;
        i += 2;
      }
  return true;
}

/* PATTERN as tokens (*N of them, in V with room for strlen tokens).
 * Returns NULL on success, or why it is not a pattern. */
static const char *
tokenize (const char *p, struct tok *v, size_t *n)
{
  *n = 0;
  while (*p != '\0')
    {
      struct tok t = { .kind = TOK_CHAR };

      if (p[0] == '*' && p[1] == '*')
        {
          if (p[2] == '*')
            return "'***' is not a pattern";
          t.kind = p[2] == '/' ? TOK_GLOBSTAR_DIRS : TOK_GLOBSTAR;
          p += p[2] == '/' ? 3 : 2;
        }
      else if (*p == '*')
        {
          t.kind = TOK_STAR;
          p++;
        }
      else if (*p == '[')
        {
          const char *close = strchr (p + 1, ']');

          if (close == NULL)
            return "'[' without ']'";
          t.kind = TOK_CLASS;
          t.cls = p + 1;
          t.cls_len = (size_t) (close - p - 1);
          if (!class_valid (t.cls, t.cls_len))
            return "a bracket class takes characters and ranges a-z, A-Z, 0-9";
          p = close + 1;
        }
      else if (*p == '?' || *p == '+')
        return "'?' and '+' follow the character they repeat";
      else
        {
          if (*p == '\\')
            {
              p++;
              if (*p == '\0')
                return "a pattern cannot end with '\\'";
            }
          t.c = *p++;
        }
      if ((t.kind == TOK_CHAR || t.kind == TOK_CLASS) && (*p == '?' || *p == '+'))
        {
          t.optional = *p == '?';
          t.repeat = *p == '+';
          p++;
        }
      v[(*n)++] = t;
    }
  return NULL;
}

static bool
tok_takes (const struct tok *t, char c)
{
  if (t->kind == TOK_CLASS)
    return c != '/' && class_match (t, c);
  return c == t->c;
}

/* NEXT[j]: S[0..j) matches the tokens so far, given CUR for one fewer. */
static void
advance (const struct tok *t, const char *s, size_t n, const bool *cur, bool *next)
{
  bool seen = false;

  memset (next, 0, (n + 1) * sizeof *next);
  for (size_t j = 0; j <= n; j++)
    switch (t->kind)
      {
      case TOK_CHAR:
      case TOK_CLASS:
        if (t->optional && cur[j])
          next[j] = true;
        if (j > 0 && tok_takes (t, s[j - 1]) && (cur[j - 1] || (t->repeat && next[j - 1])))
          next[j] = true;
        break;
      case TOK_STAR:
        next[j] = cur[j] || (j > 0 && next[j - 1] && s[j - 1] != '/');
        break;
      case TOK_GLOBSTAR:
        next[j] = cur[j] || (j > 0 && next[j - 1]);
        break;
      case TOK_GLOBSTAR_DIRS:
        next[j] = cur[j] || (j > 0 && seen && s[j - 1] == '/');
        seen |= cur[j];
        break;
      }
}

bool
runner_glob_valid (const char *pattern, const char **why)
{
  size_t len = strlen (pattern), n;
  struct tok *v;
  const char *problem;

  if (len == 0 || len > PATTERN_MAX)
    {
      *why = len == 0 ? "an empty pattern" : "a pattern longer than 1024 characters";
      return false;
    }
  v = hoist_xcalloc (len, sizeof *v);
  problem = tokenize (pattern, v, &n);
  free (v);
  if (problem != NULL)
    *why = problem;
  return problem == NULL;
}

bool
runner_glob_match (const char *pattern, const char *s)
{
  size_t plen = strlen (pattern), n = strlen (s), ntok;
  struct tok *v;
  bool *cur, *next, match = false;

  if (plen == 0 || plen > PATTERN_MAX || n > SUBJECT_MAX)
    return false;
  v = hoist_xcalloc (plen, sizeof *v);
  cur = hoist_xcalloc (n + 1, sizeof *cur);
  next = hoist_xcalloc (n + 1, sizeof *next);
  if (tokenize (pattern, v, &ntok) == NULL)
    {
      cur[0] = true;
      for (size_t i = 0; i < ntok; i++)
        {
          bool *t;

          advance (&v[i], s, n, cur, next);
          t = cur;
          cur = next;
          next = t;
        }
      match = cur[n];
    }
  free (v);
  free (cur);
  free (next);
  return match;
}

bool
runner_paths_match (char *const *patterns, const char *path)
{
  bool match = false;

  for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++)
    {
      const char *p = patterns[i];
      bool negate = p[0] == '!';

      if (runner_glob_match (negate ? p + 1 : p, path))
        match = !negate;
    }
  return match;
}
