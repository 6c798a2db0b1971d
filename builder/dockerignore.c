/* dockerignore.c — reading a .dockerignore and matching paths against it
 * as Docker does (moby/patternmatcher and its ignorefile reader, as
 * BuildKit uses them).
 *
 * A line goes through the two normalisations Docker applies one after the
 * other (the reader's, then the matcher's: they differ, and the second can
 * undo the first, so both are kept), is checked against the grammar of Go's
 * filepath.Match, and is compiled once into one of four forms.  The forms
 * are the ones patternmatcher picks, because its fast forms do not mean
 * what its general one does ("**foo" is a plain suffix test):
 *   exact   no wildcard: the path equals the pattern;
 *   prefix  a literal and a final "**": the path starts with the literal;
 *   suffix  "**" first and no other wildcard: the path ends with the rest;
 *   regex   anything else: a token list that patternmatcher would turn
 *           into a regular expression, run here as an automaton.
 * The automaton is simulated as a set of states over the path's runes, so
 * time is O(path length x tokens) whatever the pattern: "*a*a*a*b" cannot
 * make it backtrack.  Matching a path and all its parent directories is
 * one pass: a parent matches when the accepting state is reached just
 * before a '/'.
 *
 * Where hoist does not copy Docker (each is a quirk of the regexp Docker
 * builds, and hoist keeps filepath.Match's meaning instead):
 *  - '\' before a letter, digit or non-ASCII rune quotes it; Docker hands
 *    it to its regexp engine ("\n" a newline, "\d" a digit, "\b" a word
 *    boundary, most others an error at the first match);
 *  - '*', '?' and "[:alpha:]" inside a class are plain characters; Docker
 *    turns the first two into regexp text inside the class;
 *  - '|', '{' and '}' are plain characters; Docker means to escape them
 *    but its escape table overflows past 63, so in a pattern with a
 *    wildcard '|' becomes alternation ("*.go|" matches every path) and
 *    "{2}" a repetition;
 *  - "[z-a]" is refused when read; Docker takes it and fails the build at
 *    the first path it matches.
 * Everything else, oddities included ("**" does not cross a newline, a
 * '^' outside a class anchors once the pattern has a wildcard, a rune that
 * is not valid UTF-8 matches any other such rune), is Docker's behaviour.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

/* What Go's UTF-8 decoder yields for a byte that starts no valid rune. */
#define RUNE_ERROR 0xFFFDu
/* A token consumes at least one byte of its pattern, so this many 64-bit
 * words hold a state set of any pattern (the extra state is "matched"). */
#define NFA_WORDS (BUILDER_IGNORE_PATTERN_MAX / 64 + 1)
/* How much of a bad pattern an error message shows. */
#define QUOTE_MAX 64

static const char utf8_bom[] = "\xEF\xBB\xBF";

enum ig_form
{
  FORM_EXACT,
  FORM_PREFIX,
  FORM_SUFFIX,
  FORM_REGEX,
};

enum ig_op
{
  OP_LIT,     /* one rune equal to `rune` */
  OP_ONE,     /* '?': one rune other than '/' */
  OP_CLASS,   /* "[...]": one rune in the ranges (not in them, negated) */
  OP_STAR,    /* '*': any runes other than '/' */
  OP_ANY,     /* a final "**" after a wildcard: any runes but '\n' */
  OP_DIRS,    /* any other "**": go on either after it or into OP_DIRS_IN */
  OP_DIRS_IN, /* ...which reads runes but '\n' until a '/' may end it */
  OP_BEGIN,   /* '^' outside a class: holds only at the start of the path */
};

struct ig_range
{
  uint32_t lo, hi;
};

struct ig_tok
{
  enum ig_op op;
  bool negated;   /* OP_CLASS */
  uint32_t rune;  /* OP_LIT */
  uint32_t first; /* OP_CLASS: its ranges are ranges[first .. first+count) */
  uint32_t count;
};

struct ig_pattern
{
  char *text; /* cleaned, without the '!'; may hold NUL bytes */
  size_t len;
  bool exception;
  enum ig_form form;
  struct ig_tok *toks; /* FORM_REGEX only */
  size_t ntoks;
  struct ig_range *ranges;
  size_t nranges;
};

struct builder_ignore
{
  struct ig_pattern *pats;
  size_t n;
  size_t alloc;
};

/* ---------------------------------------------------------------------
 * Runes and white space, read as Go reads them
 * ------------------------------------------------------------------- */

/* Decode the rune at S (N > 0 bytes left) as Go's utf8.DecodeRune does,
 * which is how Docker reads both the pattern and the path: anything but a
 * valid, shortest, non-surrogate sequence is RUNE_ERROR, one byte wide. */
static uint32_t
utf8_decode (const char *str, size_t n, size_t *width)
{
  const unsigned char *s = (const unsigned char *) str;
  unsigned char lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t r;

  *width = 1;
  if (s[0] < 0x80)
    return s[0];
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    len = 2;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    len = 3;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    len = 4;
  else
    return RUNE_ERROR;
  if (n < len)
    return RUNE_ERROR;
  /* The second byte's range is what rules out overlong forms, surrogates
   * and runes past U+10FFFF. */
  if (s[0] == 0xE0)
    lo = 0xA0;
  else if (s[0] == 0xED)
    hi = 0x9F;
  else if (s[0] == 0xF0)
    lo = 0x90;
  else if (s[0] == 0xF4)
    hi = 0x8F;
  r = s[0] & (0x7F >> len);
  for (size_t i = 1; i < len; i++)
    {
      if (s[i] < lo || s[i] > hi)
        return RUNE_ERROR;
      r = (r << 6) | (s[i] & 0x3F);
      lo = 0x80;
      hi = 0xBF;
    }
  *width = len;
  return r;
}

/* Go's unicode.IsSpace. */
static bool
is_space_rune (uint32_t r)
{
  return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A)
         || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000;
}

/* Width of the white-space rune that ends S (N bytes), or 0.  A valid
 * sequence at the end is exactly what Go's utf8.DecodeLastRune finds. */
static size_t
trailing_space_len (const char *s, size_t n)
{
  for (size_t k = 1; k <= 4 && k <= n; k++)
    {
      size_t w;
      uint32_t r = utf8_decode (s + n - k, k, &w);

      if (w == k && r != RUNE_ERROR)
        return is_space_rune (r) ? k : 0;
    }
  return 0;
}

/* strings.TrimSpace on the range *S, *N. */
static void
trim_space (const char **s, size_t *n)
{
  size_t w;

  while (*n > 0 && is_space_rune (utf8_decode (*s, *n, &w)))
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
 * Pattern grammar: filepath.Match's, which is what Docker checks
 * ------------------------------------------------------------------- */

/* One character of a class at S[*I], as filepath.Match reads it: a '-' or
 * ']' here is misplaced, '\' quotes, the rune must be valid UTF-8, and the
 * class must go on after it. */
static const char *
class_char (const char *s, size_t n, size_t *i, uint32_t *r)
{
  size_t w;

  if (*i >= n)
    return "unterminated character class";
  if (s[*i] == '-' || s[*i] == ']')
    return "misplaced '-' or ']' in character class";
  if (s[*i] == '\\' && ++*i >= n)
    return "unterminated character class";
  *r = utf8_decode (s + *i, n - *i, &w);
  if (*r == RUNE_ERROR && w == 1)
    return "invalid UTF-8 in character class";
  *i += w;
  if (*i >= n)
    return "unterminated character class";
  return NULL;
}

/* Read a class whose '[' is just before S[*POS], leaving *POS past its ']'.
 * When P is not NULL, its ranges are appended to P->ranges and TOK gets
 * them.  Returns NULL, or why the class is malformed.  A reversed range is
 * refused although filepath.Match takes it: Docker's regular expression
 * fails to compile on it, and the build with it. */
static const char *
class_parse (const char *s, size_t n, size_t *pos, struct ig_pattern *p, struct ig_tok *tok)
{
  size_t i = *pos, count = 0;
  bool negated = false;

  if (i < n && s[i] == '^')
    {
      negated = true;
      i++;
    }
  for (;;)
    {
      uint32_t lo = 0, hi;
      const char *why;

      if (i < n && s[i] == ']' && count > 0)
        break;
      why = class_char (s, n, &i, &lo);
      if (why != NULL)
        return why;
      hi = lo;
      if (s[i] == '-')
        {
          i++;
          why = class_char (s, n, &i, &hi);
          if (why != NULL)
            return why;
        }
      if (lo > hi)
        return "reversed range in character class";
      if (p != NULL)
        p->ranges[p->nranges++] = (struct ig_range){ lo, hi };
      count++;
    }
  if (p != NULL && tok != NULL)
    {
      tok->op = OP_CLASS;
      tok->negated = negated;
      tok->first = (uint32_t) (p->nranges - count);
      tok->count = (uint32_t) count;
    }
  *pos = i + 1;
  return NULL;
}

/* Check S (N bytes) as filepath.Match (pattern, ".") does before Docker
 * accepts it.  Returns NULL, or why it is malformed. */
static const char *
pattern_check (const char *s, size_t n)
{
  size_t i = 0;

  while (i < n)
    {
      if (s[i] == '\\')
        {
          if (i + 1 >= n)
            return "trailing backslash";
          i += 2;
        }
      else if (s[i] == '[')
        {
          const char *why;

          i++;
          why = class_parse (s, n, &i, NULL, NULL);
          if (why != NULL)
            return why;
        }
      else
        i++;
    }
  return NULL;
}

/* ---------------------------------------------------------------------
 * Compiling: patternmatcher's choice of form, and its tokens
 * ------------------------------------------------------------------- */

static void
emit (struct ig_pattern *p, enum ig_op op, uint32_t rune)
{
  p->toks[p->ntoks++] = (struct ig_tok){ .op = op, .rune = rune };
}

/* "**" (the second '*' just read).  Docker eats a '/' after it; at the end
 * of a pattern with no wildcard before, it makes a prefix test, else it
 * stands for any runes; anywhere else for "any directories"; and first in
 * the pattern it makes a suffix test, unless a wildcard comes later. */
static void
compile_dstar (struct ig_pattern *p, size_t *pos, bool first)
{
  if (*pos < p->len && p->text[*pos] == '/')
    (*pos)++;
  if (*pos < p->len)
    {
      /* Two states, so that skipping it is only possible on the way in. */
      emit (p, OP_DIRS, 0);
      emit (p, OP_DIRS_IN, 0);
      p->form = FORM_REGEX;
    }
  else if (p->form == FORM_EXACT)
    p->form = FORM_PREFIX;
  else
    {
      emit (p, OP_ANY, 0);
      p->form = FORM_REGEX;
    }
  if (first)
    p->form = FORM_SUFFIX;
}

/* One element of the pattern at *POS: a rune, an escape, "**" or a class.
 * FIRST: nothing came before it.  Returns NULL, or why it is malformed
 * (never, after pattern_check). */
static const char *
compile_element (struct ig_pattern *p, size_t *pos, bool first)
{
  const char *s = p->text;
  size_t w;
  uint32_t c = utf8_decode (s + *pos, p->len - *pos, &w);

  *pos += w;
  switch (c)
    {
    case '*':
      if (*pos < p->len && s[*pos] == '*')
        {
          (*pos)++;
          compile_dstar (p, pos, first);
          return NULL;
        }
      emit (p, OP_STAR, 0);
      break;
    case '?':
      emit (p, OP_ONE, 0);
      break;
    case '\\':
      /* Quotes the next rune as filepath.Match has it, whatever the rune
       * (see the top of the file). */
      if (*pos >= p->len)
        return "trailing backslash";
      c = utf8_decode (s + *pos, p->len - *pos, &w);
      *pos += w;
      emit (p, OP_LIT, c);
      break;
    case '[':
      {
        const char *why = class_parse (s, p->len, pos, p, &p->toks[p->ntoks]);

        if (why != NULL)
          return why;
        p->ntoks++;
        break;
      }
    case '^':
      /* Docker does not escape it, so it is a regexp anchor; it leaves
       * the form alone, and the fast forms compare it as a character. */
      emit (p, OP_BEGIN, 0);
      return NULL;
    case ']':
      emit (p, OP_LIT, c);
      break;
    default:
      emit (p, OP_LIT, c);
      return NULL;
    }
  p->form = FORM_REGEX;
  return NULL;
}

/* Choose P's form and, for FORM_REGEX, make its tokens.  Returns NULL, or
 * why P->text is malformed. */
static const char *
pattern_compile (struct ig_pattern *p)
{
  size_t pos = 0;

  /* Docker reads the pattern with text/scanner, which skips a BOM. */
  if (p->len >= 3 && memcmp (p->text, utf8_bom, 3) == 0)
    pos = 3;
  /* A token or a range takes at least one byte of the pattern. */
  p->toks = hoist_xcalloc (p->len + 1, sizeof (*p->toks));
  p->ranges = hoist_xcalloc (p->len + 1, sizeof (*p->ranges));
  p->form = FORM_EXACT;
  for (bool first = true; pos < p->len; first = false)
    {
      const char *why = compile_element (p, &pos, first);

      if (why != NULL)
        return why;
    }
  if (p->form != FORM_REGEX)
    p->ntoks = p->nranges = 0;
  p->toks = hoist_xreallocarray (p->toks, p->ntoks + 1, sizeof (*p->toks));
  p->ranges = hoist_xreallocarray (p->ranges, p->nranges + 1, sizeof (*p->ranges));
  return NULL;
}

static void
pattern_release (struct ig_pattern *p)
{
  free (p->text);
  free (p->toks);
  free (p->ranges);
  memset (p, 0, sizeof (*p));
}

/* ---------------------------------------------------------------------
 * The automaton
 * ------------------------------------------------------------------- */

static inline bool
bit_get (const uint64_t *set, size_t k)
{
  return (set[k / 64] >> (k % 64)) & 1;
}

static inline void
bit_set (uint64_t *set, size_t k)
{
  set[k / 64] |= UINT64_C (1) << (k % 64);
}

/* The first state at or after FROM in SET, or LIMIT. */
static size_t
bit_next (const uint64_t *set, size_t from, size_t limit)
{
  size_t w = from / 64;
  uint64_t bits;

  if (from >= limit)
    return limit;
  bits = set[w] & (~UINT64_C (0) << (from % 64));
  while (bits == 0)
    {
      if (++w * 64 >= limit)
        return limit;
      bits = set[w];
    }
  from = w * 64 + (size_t) __builtin_ctzll (bits);
  return from < limit ? from : limit;
}

static bool
class_has (const struct ig_pattern *p, const struct ig_tok *t, uint32_t c)
{
  bool in = false;

  for (uint32_t i = t->first; i < t->first + t->count && !in; i++)
    in = p->ranges[i].lo <= c && c <= p->ranges[i].hi;
  return in != t->negated;
}

/* Add to SET the states reachable without reading: past a '*' or "**"
 * (which may match nothing), into a "**", past a '^' at the start.  Edges
 * only go forward, so one pass in order is enough. */
static void
nfa_close (const struct ig_pattern *p, uint64_t *set, bool at_start)
{
  for (size_t k = bit_next (set, 0, p->ntoks); k < p->ntoks; k = bit_next (set, k + 1, p->ntoks))
    {
      enum ig_op op = p->toks[k].op;

      if (op == OP_STAR || op == OP_ANY || op == OP_DIRS || (op == OP_BEGIN && at_start))
        bit_set (set, k + 1);
      if (op == OP_DIRS)
        bit_set (set, k + 2);
    }
}

/* Read rune C from the states in CUR into NEXT (cleared by the caller).
 * Returns whether any state survives. */
static bool
nfa_step (const struct ig_pattern *p, const uint64_t *cur, uint64_t *next, uint32_t c)
{
  bool any = false;

  for (size_t k = bit_next (cur, 0, p->ntoks); k < p->ntoks; k = bit_next (cur, k + 1, p->ntoks))
    {
      const struct ig_tok *t = &p->toks[k];
      bool advance = false, stay = false;

      switch (t->op)
        {
        case OP_LIT:
          advance = c == t->rune;
          break;
        case OP_ONE:
          advance = c != '/';
          break;
        case OP_CLASS:
          advance = class_has (p, t, c);
          break;
        case OP_STAR:
          stay = c != '/';
          break;
        case OP_ANY:
          stay = c != '\n';
          break;
        case OP_DIRS_IN:
          /* Docker's regexp for "**" is ".*" and a '/', all optional: a
           * '/' may end it or be one more rune of the ".*". */
          advance = c == '/';
          stay = c != '\n';
          break;
        case OP_DIRS:
        case OP_BEGIN:
          break;
        }
      if (advance)
        bit_set (next, k + 1);
      if (stay)
        bit_set (next, k);
      any = any || advance || stay;
    }
  return any;
}

/* Run P's automaton over S (N bytes) from the start of a path, leaving the
 * closed state set in SET.  With STOP_AT_MATCH, returns true as soon as P
 * matches S or one of its parent directories (a prefix that ends before a
 * '/'), as MatchesOrParentMatches tries each; otherwise reads all of S and
 * returns false. */
static bool
nfa_run (const struct ig_pattern *p, const char *s, size_t n, bool stop_at_match, uint64_t *set)
{
  uint64_t other[NFA_WORDS];
  uint64_t *cur = set, *next = other;
  size_t words = p->ntoks / 64 + 1, pos = 0;

  memset (cur, 0, words * sizeof (*cur));
  bit_set (cur, 0);
  for (;;)
    {
      size_t w;
      uint32_t c;
      bool alive;

      nfa_close (p, cur, pos == 0);
      if (stop_at_match && (pos == n || s[pos] == '/') && bit_get (cur, p->ntoks))
        return true;
      if (pos == n)
        break;
      c = utf8_decode (s + pos, n - pos, &w);
      memset (next, 0, words * sizeof (*next));
      alive = nfa_step (p, cur, next, c);
      cur = next;
      next = cur == set ? other : set;
      pos += w;
      if (!alive)
        break;
    }
  if (cur != set)
    memcpy (set, cur, words * sizeof (*set));
  return false;
}

/* ---------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------- */

static bool
is_boundary (const char *s, size_t n, size_t b)
{
  return b == n || s[b] == '/';
}

/* patternmatcher's suffix form, tried on S and each parent directory. */
static bool
suffix_matches (const struct ig_pattern *p, const char *s, size_t n)
{
  const char *sfx = p->text + 2;
  size_t sl = p->len - 2;

  for (size_t b = 0; b <= n; b++)
    {
      if (!is_boundary (s, n, b))
        continue;
      if (b >= sl && memcmp (s + b - sl, sfx, sl) == 0)
        return true;
      /* "**" then "/foo" also matches "foo" itself. */
      if (sl > 0 && sfx[0] == '/' && b == sl - 1 && memcmp (s, sfx + 1, sl - 1) == 0)
        return true;
    }
  return false;
}

/* Whether P matches the path S (N bytes) or one of its parent directories. */
static bool
pattern_matches (const struct ig_pattern *p, const char *s, size_t n)
{
  uint64_t set[NFA_WORDS];

  switch (p->form)
    {
    case FORM_EXACT:
      return p->len <= n && memcmp (s, p->text, p->len) == 0 && is_boundary (s, n, p->len);
    case FORM_PREFIX:
      /* A parent starting with the literal means the path does too. */
      return p->len - 2 <= n && memcmp (s, p->text, p->len - 2) == 0;
    case FORM_SUFFIX:
      return suffix_matches (p, s, n);
    case FORM_REGEX:
      return nfa_run (p, s, n, true, set);
    }
  return false;
}

/* Whether P can match some path strictly below DIR (N bytes): only an
 * exception that can is worth descending into an excluded DIR for. */
static bool
pattern_reaches_below (const struct ig_pattern *p, const char *dir, size_t n)
{
  uint64_t set[NFA_WORDS];
  cleanup_free char *below = NULL;

  switch (p->form)
    {
    case FORM_EXACT:
      return p->len > n && memcmp (p->text, dir, n) == 0 && p->text[n] == '/';
    case FORM_PREFIX:
      {
        /* Some "DIR/..." starts with the literal when one is a prefix of
         * the other. */
        size_t ql = p->len - 2, common = ql < n ? ql : n;

        return memcmp (p->text, dir, common) == 0 && (ql <= n || p->text[n] == '/');
      }
    case FORM_SUFFIX:
      /* "DIR/" followed by the suffix itself ends with it. */
      return true;
    case FORM_REGEX:
      break;
    }
  /* Some state that still reads a rune after "DIR/" could go on to match:
   * every token matches something (this over-estimates only for a class
   * that matches nothing at all). */
  below = hoist_xmalloc (n + 2);
  memcpy (below, dir, n);
  below[n] = '/';
  below[n + 1] = '\0';
  nfa_run (p, below, n + 1, false, set);
  for (size_t k = bit_next (set, 0, p->ntoks); k < p->ntoks; k = bit_next (set, k + 1, p->ntoks))
    if (p->toks[k].op != OP_BEGIN && p->toks[k].op != OP_DIRS)
      return true;
  return false;
}

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
    if (pattern_matches (&ig->pats[i], path, n))
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
  return i < ig->n && !ig->pats[i].exception;
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
  if (i == ig->n || ig->pats[i].exception)
    return true;
  /* The excluding pattern matches everything below DIR through DIR
   * itself; only a later exception can take something back. */
  for (size_t j = i + 1; j < ig->n; j++)
    if (ig->pats[j].exception && pattern_reaches_below (&ig->pats[j], dir, n))
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
    pattern_release (&ig->pats[i]);
  free (ig->pats);
  free (ig);
}

static void
ignore_freep (struct builder_ignore **ig)
{
  builder_ignore_free (*ig);
}
#define cleanup_ignore __attribute__ ((cleanup (ignore_freep)))

/* A pattern as an error message shows it: at most QUOTE_MAX bytes, control
 * bytes as \xNN, so that a hostile line cannot garble a terminal or log. */
static char *
quote_for_error (const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t shown = n < QUOTE_MAX ? n : QUOTE_MAX, w = 0;
  char *out = hoist_xmalloc (shown * 4 + 4);

  for (size_t i = 0; i < shown; i++)
    {
      unsigned char c = (unsigned char) s[i];

      if (c < 0x20 || c == 0x7F)
        {
          out[w++] = '\\';
          out[w++] = 'x';
          out[w++] = hex[c >> 4];
          out[w++] = hex[c & 0xF];
        }
      else
        out[w++] = (char) c;
    }
  if (shown < n)
    {
      memcpy (out + w, "...", 3);
      w += 3;
    }
  out[w] = '\0';
  return out;
}

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
  cleanup_free char *quoted = quote_for_error (line->text, line->len);

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

/* Compile TEXT (LEN bytes, copied: cleaned, without its '!') and append
 * it.  Returns NULL, or why it is malformed. */
static const char *
ignore_push (struct builder_ignore *ig, const char *text, size_t len, bool exception)
{
  struct ig_pattern p = { .len = len, .exception = exception };
  const char *why;

  p.text = hoist_xmalloc (len + 1);
  memcpy (p.text, text, len);
  p.text[len] = '\0';
  why = pattern_compile (&p);
  if (why != NULL)
    {
      pattern_release (&p);
      return why;
    }
  if (ig->n == ig->alloc)
    {
      ig->alloc = ig->alloc ? ig->alloc * 2 : 16;
      ig->pats = hoist_xreallocarray (ig->pats, ig->alloc, sizeof (*ig->pats));
    }
  ig->pats[ig->n++] = p;
  return NULL;
}

/* The matcher's part, on what the reader made of the line: trimmed and
 * cleaned again (which can change it: "a /" became "a " above), then the
 * '!' read and the pattern checked. */
static int
matcher_add (struct builder_ignore *ig, const char *s, size_t n, const struct ig_line *line, struct hoist_error **err)
{
  cleanup_free char *clean = NULL;
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
  why = pattern_check (text, len);
  if (why != NULL)
    return bad_pattern (line, why, err);
  if (ig->n >= BUILDER_IGNORE_PATTERNS_MAX)
    return hoist_error_set (err, 0, "'.dockerignore' line %u: too many patterns (limit %u)", line->number,
                            BUILDER_IGNORE_PATTERNS_MAX);
  why = ignore_push (ig, text, len, exception);
  if (why != NULL)
    return bad_pattern (line, why, err);
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
