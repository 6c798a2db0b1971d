/* shell_words.c — Dockerfile word processing as BuildKit's shell lexer
 * (moby/buildkit, frontend/dockerfile/shell/lex.go) does it: quotes,
 * escapes, $VAR and ${VAR<op>word} substitution, and word splitting.
 *
 * A Dockerfile that builds with docker must build the same with hoist, so
 * the goal is BuildKit's behaviour, including its odd corners; the comments
 * name the corners that look like mistakes but are not.  The functions
 * follow lex.go's shape so the two can be compared case by case:
 * process_until() is processStopOn, process_dollar() is processDollar,
 * the pattern matcher stands in for the Go regexps of the #, % and /
 * operators.
 *
 * Known differences, all deliberate: names are ASCII (Go also takes any
 * Unicode letter or digit, which would need Unicode tables here); bytes
 * that are not UTF-8 pass through instead of becoming U+FFFD; output size,
 * nesting and pattern-matching work are limited (see shell_words.h); error
 * messages are hoist's, except for ${VAR?}; and ProcessWords' loss of the
 * text before an ${VAR<op>...} in the same word (BuildKit reuses one
 * buffer for both) is not copied.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/shell_words.h"

/* An error quotes the input it was processing; a huge input is cut here so
 * a log line stays readable. */
#define SHELL_ERROR_SOURCE_MAX 200

/* State of one builder_shell_word(s) call. */
struct scan
{
  const struct builder_lexer *lx;
  const char *src;    /* the whole input, quoted in error messages */
  const char *p;      /* next byte to read; the input ends at '\0' */
  bool raw_escapes;   /* keep escape chars: text that becomes a pattern */
  unsigned depth;     /* process_until calls under way */
  size_t match_steps; /* pattern-matching work spent so far */
};

/* Words being split out of the output (ProcessWords only). */
struct words
{
  char **v;             /* finished words, NULL-terminated, or NULL */
  struct hoist_buf cur; /* the word being built; never pushed when empty */
};

static int scan_fail (const struct scan *s, struct hoist_error **err, int status, const char *fmt, ...)
    HOIST_PRINTF (4, 5);
static int process_until (struct scan *s, int stop, bool raw, struct hoist_buf *out, struct words *w,
                          struct hoist_error **err);
static int process_dollar (struct scan *s, struct hoist_buf *out, struct hoist_error **err);

/* ---------------------------------------------------------------------
 * Errors and output
 * ------------------------------------------------------------------- */

/* Fail with "PROBLEM in 'SOURCE'" and STATUS (an errno value or 0).
 * Returns the negative status, or -1, as hoist_error_set does. */
static int
scan_fail (const struct scan *s, struct hoist_error **err, int status, const char *fmt, ...)
{
  cleanup_free char *problem = NULL;
  size_t n = strlen (s->src);
  const char *more = "";
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&problem, fmt, ap) < 0)
    abort ();
  va_end (ap);

  if (n > SHELL_ERROR_SOURCE_MAX)
    {
      /* Do not cut a UTF-8 character in two: back up to its first byte. */
      n = SHELL_ERROR_SOURCE_MAX;
      while (n > 0 && ((unsigned char)s->src[n] & 0xc0) == 0x80)
        n--;
      more = "...";
    }
  hoist_error_set (err, 0, "%s in '%.*s%s'", problem, (int)n, s->src, more);
  if (err != NULL && *err != NULL)
    (*err)->status = status;
  return status != 0 ? -status : -1;
}

/* Append to an output buffer; every buffer has the word limit. */
static int
emit (const struct scan *s, struct hoist_buf *out, const char *p, size_t n, struct hoist_error **err)
{
  if (hoist_buf_add (out, p, n, NULL) < 0)
    return scan_fail (s, err, E2BIG, "word longer than %d bytes", BUILDER_SHELL_WORD_MAX);
  return 0;
}

static int
emit_str (const struct scan *s, struct hoist_buf *out, const char *str, struct hoist_error **err)
{
  return emit (s, out, str, strlen (str), err);
}

/* ---------------------------------------------------------------------
 * Characters
 * ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at P, storing its code point in *CP,
 * or 0 when P does not start one.  As strict as Go's decoder (no overlong
 * forms, surrogates or values past U+10FFFF), so '?' in a pattern and the
 * whitespace test see the characters Go sees.  P is NUL-terminated, and
 * NUL is never a continuation byte, so no length is needed. */
static size_t
utf8_decode (const char *p, uint32_t *cp)
{
  const unsigned char *u = (const unsigned char *)p;
  unsigned char lo = 0x80, hi = 0xbf;
  size_t len;
  uint32_t c;

  if (u[0] < 0x80)
    {
      *cp = u[0];
      return 1;
    }
  if (u[0] >= 0xc2 && u[0] <= 0xdf)
    len = 2, c = u[0] & 0x1f;
  else if (u[0] >= 0xe0 && u[0] <= 0xef)
    {
      len = 3, c = u[0] & 0x0f;
      lo = u[0] == 0xe0 ? 0xa0 : 0x80;
      hi = u[0] == 0xed ? 0x9f : 0xbf;
    }
  else if (u[0] >= 0xf0 && u[0] <= 0xf4)
    {
      len = 4, c = u[0] & 0x07;
      lo = u[0] == 0xf0 ? 0x90 : 0x80;
      hi = u[0] == 0xf4 ? 0x8f : 0xbf;
    }
  else
    return 0;
  /* Only the second byte has a narrowed range. */
  if (u[1] < lo || u[1] > hi)
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if ((u[i] & 0xc0) != 0x80)
        return 0;
      c = (c << 6) | (u[i] & 0x3f);
    }
  *cp = c;
  return len;
}

/* Bytes of the character at P: the UTF-8 sequence, or 1 for a stray byte. */
static size_t
char_len (const char *p)
{
  uint32_t cp;
  size_t n = utf8_decode (p, &cp);
  return n != 0 ? n : 1;
}

/* Length of the whitespace character at P, or 0.  Go's unicode.IsSpace,
 * which BuildKit splits words on: ASCII \t \n \v \f \r and space, plus
 * NEL, NBSP and the Unicode White_Space characters. */
static size_t
space_len (const char *p)
{
  uint32_t cp;
  size_t n;

  if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
    return 1;
  if ((unsigned char)*p < 0x80)
    return 0;
  n = utf8_decode (p, &cp);
  if (n == 0)
    return 0;
  if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029
      || cp == 0x202f || cp == 0x205f || cp == 0x3000)
    return n;
  return 0;
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
is_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit (c) || c == '_';
}

/* POSIX special parameters ($@, $?, ...): one-character names.  Docker
 * never sets them, but they are still looked up, as BuildKit does. */
static bool
is_special_param (char c)
{
  return c != '\0' && strchr ("@*#?-$!0", c) != NULL;
}

static bool
is_ascii_punct (char c)
{
  return c > ' ' && c < 0x7f && !is_name_char (c);
}

/* Take one character, as Go's scanner.Next: at the end nothing moves and
 * '\0' stands for EOF. */
static char
next_char (struct scan *s)
{
  char c = *s->p;
  if (c != '\0')
    s->p++;
  return c;
}

/* ---------------------------------------------------------------------
 * Word splitting
 * ------------------------------------------------------------------- */

static void
words_end (struct words *w)
{
  if (w->cur.len > 0)
    hoist_strv_push_take (&w->v, hoist_buf_detach (&w->cur, NULL));
}

/* Add text that never splits: quoted, escaped, a heredoc marker. */
static int
words_add_raw (const struct scan *s, struct words *w, const char *p, size_t n, struct hoist_error **err)
{
  return w != NULL ? emit (s, &w->cur, p, n, err) : 0;
}

/* Add text that splits at whitespace: plain characters and substituted
 * values.  Whitespace only ends a word that has something in it, so runs
 * of blanks and empty quotes never make empty words (BuildKit's rule). */
static int
words_add_split (const struct scan *s, struct words *w, const char *p, size_t n, struct hoist_error **err)
{
  const char *end = p + n;

  if (w == NULL)
    return 0;
  while (p < end)
    {
      size_t k = space_len (p);
      if (k != 0)
        words_end (w);
      else
        {
          k = 1;
          if (emit (s, &w->cur, p, k, err) < 0)
            return -E2BIG;
        }
      p += k;
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * Variables
 * ------------------------------------------------------------------- */

/* Value of NAME, or NULL when unset.  Borrowed from the caller's lookup. */
static const char *
lookup (const struct scan *s, const char *name)
{
  if (s->lx->lookup == NULL)
    return NULL;
  return s->lx->lookup (s->lx->ctx, name);
}

/* Read a parameter name as BuildKit's processName and return it (owned),
 * possibly empty.  Digits first make a positional parameter ($1, $10);
 * one special character makes a special parameter; otherwise a run of
 * letters, digits and '_'. */
static char *
scan_name (struct scan *s)
{
  const char *start = s->p;

  if (is_digit (*s->p))
    while (is_digit (*s->p))
      s->p++;
  else if (is_special_param (*s->p))
    s->p++;
  else
    while (is_name_char (*s->p))
      s->p++;
  return hoist_xstrndup (start, (size_t)(s->p - start));
}

/* ---------------------------------------------------------------------
 * Patterns for ${VAR#p} ${VAR%p} ${VAR/p/r}
 *
 * BuildKit turns a pattern into a Go regexp: '*' is ".*" (or ".*?" for the
 * shortest match), '?' is ".", "\*" "\?" "\\" are literal, a '\' before
 * '}' or '/' is dropped, anything else after '\' is an error, and every
 * other character is literal.  Go's '.' matches one character except
 * '\n', and its matches are leftmost-first (Perl's choice among possible
 * matches), so a small Pike VM below computes exactly those matches in
 * time linear in the text, never backtracking.
 * ------------------------------------------------------------------- */

/* Code of a byte that is not part of valid UTF-8: above every code point,
 * so it only equals the same stray byte. */
#define STRAY_BYTE(b) (0x110000u + (unsigned char)(b))

/* A string as characters: one code per UTF-8 character (or stray byte). */
struct units
{
  uint32_t *code;
  size_t *off; /* byte offset of each unit; off[n] is the length */
  size_t n;
};

static void
units_decode (struct units *u, const char *str)
{
  size_t len = strlen (str);

  u->code = hoist_xreallocarray (NULL, len + 1, sizeof (*u->code));
  u->off = hoist_xreallocarray (NULL, len + 1, sizeof (*u->off));
  u->n = 0;
  for (size_t i = 0; i < len;)
    {
      uint32_t cp;
      size_t k = utf8_decode (str + i, &cp);
      if (k == 0)
        cp = STRAY_BYTE (str[i]), k = 1;
      u->code[u->n] = cp;
      u->off[u->n++] = i;
      i += k;
    }
  u->off[u->n] = len;
}

static void
units_release (struct units *u)
{
  free (u->code);
  free (u->off);
  u->code = NULL;
  u->off = NULL;
}
#define cleanup_units __attribute__ ((cleanup (units_release)))

static void
reverse_codes (uint32_t *c, size_t n)
{
  for (size_t i = 0; i < n / 2; i++)
    {
      uint32_t t = c[i];
      c[i] = c[n - 1 - i];
      c[n - 1 - i] = t;
    }
}

/* Reverse a pattern for a suffix match, keeping each "\x" pair in order,
 * as BuildKit's reversePattern: ${VAR%p} is a prefix match of reversed p
 * on the reversed value.  Pairs are taken left to right, and a lone
 * trailing '\' moves to the front, where compiling it will fail. */
static void
reverse_pattern (uint32_t *c, size_t n)
{
  cleanup_free uint32_t *out = hoist_xreallocarray (NULL, n + 1, sizeof (*out));

  for (size_t i = 0; i < n;)
    {
      size_t o = n - 1 - i;
      if (c[i] == '\\' && i + 1 < n)
        {
          out[o - 1] = c[i];
          out[o] = c[i + 1];
          i += 2;
        }
      else
        out[o] = c[i++];
    }
  if (n > 0)
    memcpy (c, out, n * sizeof (*c));
}

enum pat_op
{
  PAT_LIT,  /* one character equal to code */
  PAT_ANY,  /* '?': one character but '\n' */
  PAT_STAR, /* '*': any run of characters but '\n' */
};

struct pat_elem
{
  enum pat_op op;
  uint32_t code;
};

struct pattern
{
  struct pat_elem *elem;
  size_t n;
  bool greedy; /* '*' takes the longest run first (else the shortest) */
};

static void
pattern_release (struct pattern *pat)
{
  free (pat->elem);
  pat->elem = NULL;
}
#define cleanup_pattern __attribute__ ((cleanup (pattern_release)))

/* Compile the characters C[0..N) of a pattern.  Adjacent stars are merged:
 * "**" matches exactly what "*" does, and the matcher relies on a star
 * never following a star.  SHOWN is the pattern as written, for errors. */
static int
pattern_compile (const struct scan *s, const uint32_t *c, size_t n, bool greedy, const char *shown, struct pattern *pat,
                 struct hoist_error **err)
{
  pat->elem = hoist_xreallocarray (NULL, n + 1, sizeof (*pat->elem));
  pat->n = 0;
  pat->greedy = greedy;
  for (size_t i = 0; i < n;)
    {
      uint32_t tok = c[i++];
      enum pat_op op = PAT_LIT;

      if (tok == '*')
        op = PAT_STAR;
      else if (tok == '?')
        op = PAT_ANY;
      else if (tok == '\\')
        {
          /* "\}" and "\/" only kept the lexer from ending the pattern. */
          if (i < n && (c[i] == '}' || c[i] == '/'))
            continue;
          if (i == n || (c[i] != '*' && c[i] != '?' && c[i] != '\\'))
            return scan_fail (s, err, 0, "invalid escape in pattern '%s'", shown);
          tok = c[i++];
        }
      if (op == PAT_STAR && pat->n > 0 && pat->elem[pat->n - 1].op == PAT_STAR)
        continue;
      pat->elem[pat->n].op = op;
      pat->elem[pat->n++].code = tok;
    }
  return 0;
}

/* A Pike VM over the compiled pattern.  A state is an element index: at a
 * literal or '?' the thread consumes that character and moves on; at a
 * star it consumes one character and stays; index n is a match.  Lists
 * hold threads in priority order, as Go's regexp does, and each state at
 * most once per text position, which bounds the work. */
struct vm_thread
{
  size_t pc;
  size_t start; /* text position where this thread's match began */
};

struct vm
{
  const struct pattern *pat;
  const uint32_t *text;
  size_t n;
  struct vm_thread *cur, *next;
  size_t ncur, nnext;
  size_t *mark; /* mark[pc] == gen: pc is already in the list being built */
  size_t gen;
};

static void
vm_init (struct vm *vm, const struct pattern *pat, const struct units *text)
{
  vm->pat = pat;
  vm->text = text->code;
  vm->n = text->n;
  vm->cur = hoist_xreallocarray (NULL, pat->n + 1, sizeof (*vm->cur));
  vm->next = hoist_xreallocarray (NULL, pat->n + 1, sizeof (*vm->next));
  vm->mark = hoist_xcalloc (pat->n + 1, sizeof (*vm->mark));
  vm->ncur = vm->nnext = 0;
  vm->gen = 0;
}

static void
vm_release (struct vm *vm)
{
  free (vm->cur);
  free (vm->next);
  free (vm->mark);
  vm->cur = vm->next = NULL;
  vm->mark = NULL;
}
#define cleanup_vm __attribute__ ((cleanup (vm_release)))

/* Add the thread that is about to enter state PC to LIST.  Entering a star
 * forks: stay in it (consume) or skip it, in the order of preference; the
 * element after a star is never a star, so this recurses at most once. */
static void
vm_add (struct vm *vm, struct vm_thread *list, size_t *nlist, size_t pc, size_t start)
{
  const struct pattern *pat = vm->pat;

  if (vm->mark[pc] == vm->gen)
    return;
  vm->mark[pc] = vm->gen;
  if (pc < pat->n && pat->elem[pc].op == PAT_STAR)
    {
      if (!pat->greedy)
        vm_add (vm, list, nlist, pc + 1, start);
      list[(*nlist)++] = (struct vm_thread){ pc, start };
      if (pat->greedy)
        vm_add (vm, list, nlist, pc + 1, start);
      return;
    }
  list[(*nlist)++] = (struct vm_thread){ pc, start };
}

static bool
vm_accepts (const struct pat_elem *e, uint32_t c)
{
  return e->op == PAT_LIT ? c == e->code : c != '\n';
}

/* Advance every thread of the current list over the character at POS (if
 * any) into the next list.  A thread in the match state records the match
 * and cuts every thread after it: they could only find matches Go's
 * leftmost-first rule ranks lower. */
static int
vm_step (struct scan *s, struct vm *vm, size_t pos, bool *found, size_t *start, size_t *end, struct hoist_error **err)
{
  vm->gen++;
  vm->nnext = 0;
  for (size_t i = 0; i < vm->ncur; i++)
    {
      const struct vm_thread *t = &vm->cur[i];

      if (++s->match_steps > BUILDER_SHELL_MATCH_STEPS_MAX)
        return scan_fail (s, err, E2BIG, "pattern matching needs more than %d steps", BUILDER_SHELL_MATCH_STEPS_MAX);
      if (t->pc == vm->pat->n)
        {
          *found = true;
          *start = t->start;
          *end = pos;
          break;
        }
      if (pos < vm->n && vm_accepts (&vm->pat->elem[t->pc], vm->text[pos]))
        {
          size_t pc = vm->pat->elem[t->pc].op == PAT_STAR ? t->pc : t->pc + 1;
          vm_add (vm, vm->next, &vm->nnext, pc, t->start);
        }
    }
  struct vm_thread *swap = vm->cur;
  vm->cur = vm->next;
  vm->next = swap;
  vm->ncur = vm->nnext;
  return 0;
}

/* Find the leftmost-first match starting at text position FROM or later
 * (only at FROM when ANCHORED).  Returns 1 with [*START, *END) in text
 * positions, 0 when there is none, negative when over the work limit. */
static int
vm_search (struct scan *s, struct vm *vm, size_t from, bool anchored, size_t *start, size_t *end,
           struct hoist_error **err)
{
  bool found = false;

  vm->gen++;
  vm->ncur = 0;
  for (size_t pos = from; pos <= vm->n; pos++)
    {
      /* A match starting here ranks below every earlier start. */
      if (!found && (!anchored || pos == from))
        vm_add (vm, vm->cur, &vm->ncur, 0, pos);
      if (vm->ncur == 0)
        break;
      if (vm_step (s, vm, pos, &found, start, end, err) < 0)
        return -E2BIG;
    }
  return found ? 1 : 0;
}

/* Decode and compile PATTERN for matching on VALUE.  For a suffix match
 * both are reversed, as BuildKit does. */
static int
pattern_prepare (struct scan *s, const char *value, const char *pattern, bool reversed, bool greedy, struct units *v,
                 struct pattern *pat, struct hoist_error **err)
{
  cleanup_units struct units p = { 0 };

  units_decode (v, value);
  units_decode (&p, pattern);
  if (reversed)
    {
      reverse_codes (v->code, v->n);
      reverse_pattern (p.code, p.n);
    }
  return pattern_compile (s, p.code, p.n, greedy, pattern, pat, err);
}

/* ${VAR#p} ${VAR##p} (prefix) and ${VAR%p} ${VAR%%p} (suffix): remove the
 * shortest (or, when GREEDY, longest) match of PATTERN. */
static int
trim_affix (struct scan *s, const char *value, const char *pattern, bool suffix, bool greedy, struct hoist_buf *out,
            struct hoist_error **err)
{
  cleanup_units struct units v = { 0 };
  cleanup_pattern struct pattern pat = { 0 };
  cleanup_vm struct vm vm = { 0 };
  size_t start, end;
  int found;

  if (pattern_prepare (s, value, pattern, suffix, greedy, &v, &pat, err) < 0)
    return -1;
  vm_init (&vm, &pat, &v);
  found = vm_search (s, &vm, 0, true, &start, &end, err);
  if (found <= 0)
    return found < 0 ? found : emit_str (s, out, value, err);
  if (suffix)
    return emit (s, out, value, v.off[v.n - end], err);
  return emit_str (s, out, value + v.off[end], err);
}

/* Is T (after a '$' in a replacement) a group reference, "name" or
 * "{name}"?  Sets *USED to its length and *WHOLE when it names group 0,
 * the whole match: Go's Regexp.Expand, which ${VAR//p/r} runs on r.  The
 * pattern has no other groups, so every other name expands to nothing. */
static bool
template_ref (const char *t, size_t *used, bool *whole)
{
  bool brace = t[0] == '{';
  size_t i = brace ? 1 : 0;
  size_t first = i;

  while (is_name_char (t[i]))
    i++;
  if (i == first || (brace && t[i] != '}'))
    return false;
  /* "0" is group 0; "00" is not a number (leading zero) but a name. */
  *whole = i - first == 1 && t[first] == '0';
  *used = brace ? i + 1 : i;
  return true;
}

/* Append the replacement TEMPLATE for one match of ${VAR//p/r}: "$$" is
 * '$', "$0" and "${0}" the match, other references nothing, and a '$'
 * that starts no reference stays. */
static int
emit_template (const struct scan *s, struct hoist_buf *out, const char *t, const char *match, size_t mlen,
               struct hoist_error **err)
{
  const char *dollar;

  while ((dollar = strchr (t, '$')) != NULL)
    {
      size_t used;
      bool whole;

      if (emit (s, out, t, (size_t)(dollar - t), err) < 0)
        return -E2BIG;
      t = dollar + 1;
      if (*t == '$' || !template_ref (t, &used, &whole))
        {
          if (emit (s, out, "$", 1, err) < 0)
            return -E2BIG;
          t += *t == '$';
          continue;
        }
      t += used;
      if (whole && emit (s, out, match, mlen, err) < 0)
        return -E2BIG;
    }
  return emit_str (s, out, t, err);
}

/* ${VAR//p/r}: Go's Regexp.ReplaceAllString.  Matches do not overlap, an
 * empty match right after a match is not replaced, and the search always
 * moves on by at least one character. */
static int
replace_all (struct scan *s, struct vm *vm, const char *value, const struct units *v, const char *rep,
             struct hoist_buf *out, struct hoist_error **err)
{
  size_t last = 0, search = 0;

  while (search <= v->n)
    {
      size_t start, end;
      int found = vm_search (s, vm, search, false, &start, &end, err);

      if (found < 0)
        return found;
      if (found == 0)
        break;
      if (emit (s, out, value + v->off[last], v->off[start] - v->off[last], err) < 0)
        return -E2BIG;
      if ((end > last || start == 0)
          && emit_template (s, out, rep, value + v->off[start], v->off[end] - v->off[start], err) < 0)
        return -E2BIG;
      last = end;
      search = search + 1 > end ? search + 1 : end;
    }
  return emit_str (s, out, value + v->off[last], err);
}

/* ${VAR/p/r} (first match, R taken literally) and ${VAR//p/r} (every
 * match, R expanded as Go's Expand).  Stars are always greedy here. */
static int
replace_pattern (struct scan *s, const char *value, const char *pattern, const char *rep, bool all,
                 struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_units struct units v = { 0 };
  cleanup_pattern struct pattern pat = { 0 };
  cleanup_vm struct vm vm = { 0 };
  size_t start, end;
  int found;

  if (pattern_prepare (s, value, pattern, false, true, &v, &pat, err) < 0)
    return -1;
  vm_init (&vm, &pat, &v);
  if (all)
    return replace_all (s, &vm, value, &v, rep, out, err);
  found = vm_search (s, &vm, 0, false, &start, &end, err);
  if (found <= 0)
    return found < 0 ? found : emit_str (s, out, value, err);
  if (emit (s, out, value, v.off[start], err) < 0 || emit_str (s, out, rep, err) < 0)
    return -E2BIG;
  return emit_str (s, out, value + v.off[end], err);
}

/* ---------------------------------------------------------------------
 * Substitution
 * ------------------------------------------------------------------- */

static bool
at_end (const struct scan *s)
{
  return *s->p == '\0';
}

/* A nested word failed with RET.  When the input ran out, the real
 * problem is the unclosed ${...}, which BuildKit reports instead. */
static int
missing_or (const struct scan *s, int ret, char closer, struct hoist_error **err)
{
  if (at_end (s))
    return scan_fail (s, err, 0, "missing '%c'", closer);
  return ret;
}

/* The error for ${NAME<op>...} with an operator BuildKit does not have.
 * COLON says the operator followed a ':'. */
static int
fail_modifier (const struct scan *s, const char *name, char op, bool colon, struct hoist_error **err)
{
  if (op == '\0')
    return scan_fail (s, err, 0, "missing '}'");
  if (*name == '\0' || !is_ascii_punct (op))
    return scan_fail (s, err, 0, "bad substitution");
  return scan_fail (s, err, 0, "unsupported modifier '%s%c'", colon ? ":" : "", op);
}

/* ${NAME?word} and ${NAME:?word} on an unset (or, with ':', empty)
 * variable.  BuildKit's words, which users see: "NAME: message". */
static int
fail_required (const char *name, const char *value, const char *word, struct hoist_error **err)
{
  if (*word == '\0')
    word = value == NULL ? "is not allowed to be unset" : "is not allowed to be empty";
  return hoist_error_set (err, 0, "%s: %s", name, word);
}

/* ${NAME<op>word} for the operators - + ? # % (after ':' when COLON): the
 * word is processed up to its '}' first, whatever the variable holds, so
 * errors in it show even when it is not used. */
static int
expand_operator (struct scan *s, const char *name, char op, bool colon, struct hoist_buf *out, struct hoist_error **err)
{
  bool pattern_op = op == '#' || op == '%';
  const char *value;
  bool unset;
  int ret;

  if (colon && pattern_op)
    return scan_fail (s, err, 0, "unsupported modifier ':%c'", op);

  cleanup_buf struct hoist_buf word;
  hoist_buf_init (&word, BUILDER_SHELL_WORD_MAX);
  ret = process_until (s, '}', pattern_op, &word, NULL, err);
  if (ret < 0)
    return missing_or (s, ret, '}', err);

  value = lookup (s, name);
  unset = value == NULL || (colon && *value == '\0');
  switch (op)
    {
    case '-':
      return emit_str (s, out, unset ? word.data : value, err);
    case '+':
      return unset ? 0 : emit_str (s, out, word.data, err);
    case '?':
      if (unset)
        return fail_required (name, value, word.data, err);
      return emit_str (s, out, value, err);
    case '#':
    case '%':
      {
        /* A doubled operator ("##", "%%") asks for the longest match. */
        bool greedy = word.data[0] == op;
        return trim_affix (s, value ? value : "", word.data + greedy, op == '%', greedy, out, err);
      }
    default:
      return fail_modifier (s, name, op, colon, err);
    }
}

/* ${NAME/pattern/replacement} and ${NAME//pattern/replacement}. */
static int
expand_replace (struct scan *s, const char *name, struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf pattern;
  cleanup_buf struct hoist_buf rep;
  bool all = *s->p == '/';
  const char *value;
  int ret;

  hoist_buf_init (&pattern, BUILDER_SHELL_WORD_MAX);
  hoist_buf_init (&rep, BUILDER_SHELL_WORD_MAX);
  if (all)
    s->p++;
  ret = process_until (s, '/', true, &pattern, NULL, err);
  if (ret < 0)
    return missing_or (s, ret, '/', err);
  ret = process_until (s, '}', true, &rep, NULL, err);
  if (ret < 0)
    return missing_or (s, ret, '}', err);
  value = lookup (s, name);
  return replace_pattern (s, value ? value : "", pattern.data, rep.data, all, out, err);
}

/* After "${": the name, then '}' or an operator. */
static int
expand_braced (struct scan *s, struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_free char *name = NULL;
  const char *value;
  char op;

  if (at_end (s))
    return scan_fail (s, err, 0, "missing '}'");
  if (*s->p == '{' || *s->p == '}' || *s->p == ':')
    return scan_fail (s, err, 0, "bad substitution");
  name = scan_name (s);
  op = next_char (s);
  switch (op)
    {
    case '}':
      value = lookup (s, name);
      return value != NULL ? emit_str (s, out, value, err) : 0;
    case ':':
      return expand_operator (s, name, next_char (s), true, out, err);
    case '-':
    case '+':
    case '?':
    case '#':
    case '%':
      return expand_operator (s, name, op, false, out, err);
    case '/':
      return expand_replace (s, name, out, err);
    default:
      return fail_modifier (s, name, op, false, err);
    }
}

/* At '$': $NAME, ${...}, or a '$' that starts no name and stays. */
static int
process_dollar (struct scan *s, struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_free char *name = NULL;
  const char *value;

  s->p++;
  if (*s->p == '{')
    {
      s->p++;
      return expand_braced (s, out, err);
    }
  name = scan_name (s);
  if (*name == '\0')
    return emit (s, out, "$", 1, err);
  value = lookup (s, name);
  return value != NULL ? emit_str (s, out, value, err) : 0;
}

/* ---------------------------------------------------------------------
 * Quotes, escapes and the main loop
 * ------------------------------------------------------------------- */

/* At '\'': everything up to the next '\'' is literal; there is no escape. */
static int
process_single_quote (struct scan *s, struct hoist_buf *out, struct hoist_error **err)
{
  const char *close = strchr (s->p + 1, '\'');

  if (close == NULL)
    return scan_fail (s, err, 0, "unterminated single quote");
  if (emit (s, out, s->p + 1, (size_t)(close - s->p - 1), err) < 0)
    return -E2BIG;
  s->p = close + 1;
  return 0;
}

/* At '"': $ expands; the escape char escapes only '"', '$' and itself and
 * is kept before anything else, as BuildKit does.  In raw mode (patterns)
 * the escape char is also kept, so a kept one appears twice. */
static int
process_double_quote (struct scan *s, struct hoist_buf *out, struct hoist_error **err)
{
  const char esc = s->lx->escape;

  s->p++;
  for (;;)
    {
      char c = *s->p;

      if (c == '\0')
        return scan_fail (s, err, 0, "unterminated double quote");
      if (c == '"')
        {
          s->p++;
          return 0;
        }
      if (c == '$')
        {
          int ret = process_dollar (s, out, err);
          if (ret < 0)
            return ret;
          continue;
        }
      s->p++;
      if (c == esc)
        {
          if (s->raw_escapes && emit (s, out, &esc, 1, err) < 0)
            return -E2BIG;
          /* A trailing escape is dropped; the missing quote fails next. */
          if (at_end (s))
            continue;
          if (*s->p == '"' || *s->p == '$' || *s->p == esc)
            c = *s->p++;
        }
      if (emit (s, out, &c, 1, err) < 0)
        return -E2BIG;
    }
}

/* At '<': "<<" takes the blanks after it (BuildKit allows "<< EOF" for a
 * heredoc), so they never split words. */
static int
process_heredoc_marker (struct scan *s, struct hoist_buf *out, struct hoist_error **err)
{
  const char *start = s->p++;

  if (*s->p == '<')
    {
      s->p++;
      while (*s->p == ' ' || *s->p == '\t' || *s->p == '\r')
        s->p++;
    }
  return emit (s, out, start, (size_t)(s->p - start), err);
}

/* At one of $ < ' ": process it into a piece of its own, then add the
 * piece.  Only a substituted value splits into words. */
static int
process_special (struct scan *s, struct hoist_buf *out, struct words *w, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf piece;
  char c = *s->p;
  int ret;

  hoist_buf_init (&piece, BUILDER_SHELL_WORD_MAX);
  if (c == '$')
    ret = process_dollar (s, &piece, err);
  else if (c == '<')
    ret = process_heredoc_marker (s, &piece, err);
  else if (c == '\'')
    ret = process_single_quote (s, &piece, err);
  else
    ret = process_double_quote (s, &piece, err);
  if (ret < 0)
    return ret;
  if (emit (s, out, piece.data, piece.len, err) < 0)
    return -E2BIG;
  if (c == '$')
    return words_add_split (s, w, piece.data, piece.len, err);
  return words_add_raw (s, w, piece.data, piece.len, err);
}

/* At the escape char outside quotes: the next character is taken as is.
 * A trailing escape char is dropped (kept in raw mode). */
static int
process_escape (struct scan *s, struct hoist_buf *out, struct words *w, struct hoist_error **err)
{
  size_t n;

  if (s->raw_escapes && (emit (s, out, s->p, 1, err) < 0 || words_add_raw (s, w, s->p, 1, err) < 0))
    return -E2BIG;
  s->p++;
  if (at_end (s))
    return 0;
  n = char_len (s->p);
  if (emit (s, out, s->p, n, err) < 0 || words_add_raw (s, w, s->p, n, err) < 0)
    return -E2BIG;
  s->p += n;
  return 0;
}

/* Any other character, whitespace included. */
static int
process_plain (struct scan *s, struct hoist_buf *out, struct words *w, struct hoist_error **err)
{
  size_t n = space_len (s->p);

  if (n == 0)
    n = 1;
  if (emit (s, out, s->p, n, err) < 0 || words_add_split (s, w, s->p, n, err) < 0)
    return -E2BIG;
  s->p += n;
  return 0;
}

static int
process_loop (struct scan *s, int stop, struct hoist_buf *out, struct words *w, struct hoist_error **err)
{
  while (!at_end (s))
    {
      char c = *s->p;
      int ret;

      if (stop >= 0 && c == stop)
        {
          s->p++;
          return 0;
        }
      if (c == '$' || c == '<' || c == '\'' || c == '"')
        ret = process_special (s, out, w, err);
      else if (c == s->lx->escape)
        ret = process_escape (s, out, w, err);
      else
        ret = process_plain (s, out, w, err);
      if (ret < 0)
        return ret;
    }
  /* Callers replace this with their own "missing" error. */
  if (stop >= 0)
    return scan_fail (s, err, 0, "missing '%c'", stop);
  return 0;
}

/* Process text into OUT (and W when splitting) until the STOP char, which
 * is consumed, or the end of the input when STOP is -1.  RAW keeps escape
 * chars, for text that becomes a pattern or a replacement.  Every nested
 * ${...} operator comes through here, so this is where depth is bounded. */
static int
process_until (struct scan *s, int stop, bool raw, struct hoist_buf *out, struct words *w, struct hoist_error **err)
{
  bool saved_raw = s->raw_escapes;
  int ret;

  if (s->depth > BUILDER_SHELL_NEST_MAX)
    return scan_fail (s, err, 0, "substitutions nested deeper than %d", BUILDER_SHELL_NEST_MAX);
  s->depth++;
  s->raw_escapes = raw;
  ret = process_loop (s, stop, out, w, err);
  s->raw_escapes = saved_raw;
  s->depth--;
  return ret;
}

/* ---------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------- */

static void
scan_init (struct scan *s, const struct builder_lexer *lx, const char *src)
{
  memset (s, 0, sizeof (*s));
  s->lx = lx;
  s->src = src;
  s->p = src;
}

int
builder_shell_word (const struct builder_lexer *lx, const char *word, char **out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf result;
  struct scan s;
  int ret;

  hoist_buf_init (&result, BUILDER_SHELL_WORD_MAX);
  scan_init (&s, lx, word);
  ret = process_until (&s, -1, false, &result, NULL, err);
  if (ret < 0)
    return ret;
  *out = hoist_buf_detach (&result, NULL);
  return 0;
}

static void
words_release (struct words *w)
{
  hoist_strv_free (w->v);
  w->v = NULL;
  hoist_buf_release (&w->cur);
}
#define cleanup_words __attribute__ ((cleanup (words_release)))

int
builder_shell_words (const struct builder_lexer *lx, const char *text, char ***out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf result;
  cleanup_words struct words w = { 0 };
  struct scan s;
  int ret;

  /* The joined result bounds the words too: each is a part of it. */
  hoist_buf_init (&result, BUILDER_SHELL_WORD_MAX);
  hoist_buf_init (&w.cur, BUILDER_SHELL_WORD_MAX);
  scan_init (&s, lx, text);
  ret = process_until (&s, -1, false, &result, &w, err);
  if (ret < 0)
    return ret;
  words_end (&w);
  if (w.v == NULL)
    w.v = hoist_xcalloc (1, sizeof (*w.v));
  *out = steal_pointer (&w.v);
  return 0;
}
