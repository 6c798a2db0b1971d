/* ignore_pattern.c — one .dockerignore pattern, checked, compiled and
 * matched against paths as Docker does (moby/patternmatcher, as BuildKit
 * uses it).  dockerignore.c reads the file and hands each pattern here.
 *
 * A pattern is checked against the grammar of Go's filepath.Match, and is
 * compiled once into one of four forms.  The forms are the ones
 * patternmatcher picks, because its fast forms do not mean what its
 * general one does ("**foo" is a plain suffix test):
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
#define BUILDER_INTERNAL
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h" /* BUILDER_IGNORE_PATTERN_MAX */
#include "builder/ignore_pattern.h"

/* What Go's UTF-8 decoder yields for a byte that starts no valid rune. */
#define RUNE_ERROR 0xFFFDu
/* A token consumes at least one byte of its pattern, so this many 64-bit
 * words hold a state set of any pattern (the extra state is "matched"). */
#define NFA_WORDS (BUILDER_IGNORE_PATTERN_MAX / 64 + 1)

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

struct ignore_pattern
{
  char *text; /* cleaned, without the '!'; may hold NUL bytes */
  size_t len;
  enum ig_form form;
  struct ig_tok *toks; /* FORM_REGEX only */
  size_t ntoks;
  struct ig_range *ranges;
  size_t nranges;
};

/* ---------------------------------------------------------------------
 * Runes, read as Go reads them
 * ------------------------------------------------------------------- */

/* The rune at S (N > 0 bytes) as Go's utf8.DecodeRune reads it, which is
 * how Docker reads both the pattern and the path: anything but a valid
 * sequence is RUNE_ERROR, one byte wide. */
static uint32_t
go_rune (const char *s, size_t n, size_t *width)
{
  uint32_t r = RUNE_ERROR;

  *width = hoist_utf8_decode (s, n, &r);
  if (*width == 0)
    *width = 1;
  return r;
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
  w = hoist_utf8_decode (s + *i, n - *i, r);
  if (w == 0)
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
class_parse (const char *s, size_t n, size_t *pos, struct ignore_pattern *p, struct ig_tok *tok)
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
emit (struct ignore_pattern *p, enum ig_op op, uint32_t rune)
{
  p->toks[p->ntoks++] = (struct ig_tok){ .op = op, .rune = rune };
}

/* "**" (the second '*' just read).  Docker eats a '/' after it; at the end
 * of a pattern with no wildcard before, it makes a prefix test, else it
 * stands for any runes; anywhere else for "any directories"; and first in
 * the pattern it makes a suffix test, unless a wildcard comes later. */
static void
compile_dstar (struct ignore_pattern *p, size_t *pos, bool first)
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
compile_element (struct ignore_pattern *p, size_t *pos, bool first)
{
  const char *s = p->text;
  size_t w;
  uint32_t c = go_rune (s + *pos, p->len - *pos, &w);

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
      c = go_rune (s + *pos, p->len - *pos, &w);
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
pattern_compile (struct ignore_pattern *p)
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

const char *
ignore_pattern_new (const char *text, size_t len, struct ignore_pattern **out)
{
  cleanup_ignore_pattern struct ignore_pattern *p = NULL;
  const char *why;

  /* The matcher's state sets are sized for this. */
  if (len > BUILDER_IGNORE_PATTERN_MAX)
    return "pattern too long";
  why = pattern_check (text, len);
  if (why != NULL)
    return why;
  p = hoist_xcalloc (1, sizeof (*p));
  p->len = len;
  p->text = hoist_xmalloc (len + 1);
  memcpy (p->text, text, len);
  p->text[len] = '\0';
  why = pattern_compile (p);
  if (why != NULL)
    return why;
  *out = steal_pointer (&p);
  return NULL;
}

void
ignore_pattern_free (struct ignore_pattern *p)
{
  if (p == NULL)
    return;
  free (p->text);
  free (p->toks);
  free (p->ranges);
  free (p);
}

void
ignore_pattern_freep (struct ignore_pattern **p)
{
  ignore_pattern_free (*p);
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
class_has (const struct ignore_pattern *p, const struct ig_tok *t, uint32_t c)
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
nfa_close (const struct ignore_pattern *p, uint64_t *set, bool at_start)
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
nfa_step (const struct ignore_pattern *p, const uint64_t *cur, uint64_t *next, uint32_t c)
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
nfa_run (const struct ignore_pattern *p, const char *s, size_t n, bool stop_at_match, uint64_t *set)
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
      c = go_rune (s + pos, n - pos, &w);
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
suffix_matches (const struct ignore_pattern *p, const char *s, size_t n)
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

bool
ignore_pattern_matches (const struct ignore_pattern *p, const char *s, size_t n)
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

bool
ignore_pattern_reaches_below (const struct ignore_pattern *p, const char *dir, size_t n)
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
