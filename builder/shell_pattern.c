/* shell_pattern.c — the glob patterns of Docker's ${VAR#p} ${VAR%p} and
 * ${VAR/p/r}, matched as BuildKit matches them (moby/buildkit,
 * frontend/dockerfile/shell/lex.go): shell_words.c scans the word and
 * hands the pattern, value and replacement here.
 *
 * BuildKit turns a pattern into a Go regexp: '*' is ".*" (or ".*?" for the
 * shortest match), '?' is ".", "\*" "\?" "\\" are literal, a '\' before
 * '}' or '/' is dropped, anything else after '\' is an error, and every
 * other character is literal.  Go's '.' matches one character except
 * '\n', and its matches are leftmost-first (Perl's choice among possible
 * matches), so a small Pike VM below computes exactly those matches in
 * time linear in the text, never backtracking.
 */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/shell_pattern.h"
#include "builder/shell_words.h" /* the limits */

static int pattern_fail (struct hoist_error **err, int status, const char *fmt, ...) HOIST_PRINTF (3, 4);

/* ---------------------------------------------------------------------
 * Errors and output
 * ------------------------------------------------------------------- */

/* Fail with a message that names the problem only (the caller adds which
 * input it was) and STATUS, an errno value or 0, without strerror text.
 * Returns the negative status, or -1, as hoist_error_set does. */
static int
pattern_fail (struct hoist_error **err, int status, const char *fmt, ...)
{
  cleanup_free char *problem = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&problem, fmt, ap) < 0)
    abort ();
  va_end (ap);

  hoist_error_set (err, 0, "%s", problem);
  if (err != NULL && *err != NULL)
    (*err)->status = status;
  return status != 0 ? -status : -1;
}

/* Append to the caller's output buffer, within its limit. */
static int
emit (struct hoist_buf *out, const char *p, size_t n, struct hoist_error **err)
{
  if (hoist_buf_add (out, p, n, NULL) < 0)
    return pattern_fail (err, E2BIG, "word longer than %zu bytes", out->limit);
  return 0;
}

static int
emit_str (struct hoist_buf *out, const char *str, struct hoist_error **err)
{
  return emit (out, str, strlen (str), err);
}

/* ---------------------------------------------------------------------
 * Characters
 * ------------------------------------------------------------------- */

/* Code of a byte that is not part of valid UTF-8: above every code point,
 * so it only equals the same stray byte. */
#define STRAY_BYTE(b) (0x110000u + (unsigned char) (b))

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
      size_t k = hoist_utf8_decode (str + i, len - i, &cp);
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

/* ---------------------------------------------------------------------
 * Compiling
 * ------------------------------------------------------------------- */

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
pattern_compile (const uint32_t *c, size_t n, bool greedy, const char *shown, struct pattern *pat,
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
            return pattern_fail (err, 0, "invalid escape in pattern '%s'", shown);
          tok = c[i++];
        }
      if (op == PAT_STAR && pat->n > 0 && pat->elem[pat->n - 1].op == PAT_STAR)
        continue;
      pat->elem[pat->n].op = op;
      pat->elem[pat->n++].code = tok;
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------- */

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
  size_t *steps; /* the caller's work count, shared by every search */
};

static void
vm_init (struct vm *vm, const struct pattern *pat, const struct units *text, size_t *steps)
{
  vm->pat = pat;
  vm->text = text->code;
  vm->n = text->n;
  vm->cur = hoist_xreallocarray (NULL, pat->n + 1, sizeof (*vm->cur));
  vm->next = hoist_xreallocarray (NULL, pat->n + 1, sizeof (*vm->next));
  vm->mark = hoist_xcalloc (pat->n + 1, sizeof (*vm->mark));
  vm->ncur = vm->nnext = 0;
  vm->gen = 0;
  vm->steps = steps;
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
vm_step (struct vm *vm, size_t pos, bool *found, size_t *start, size_t *end, struct hoist_error **err)
{
  vm->gen++;
  vm->nnext = 0;
  for (size_t i = 0; i < vm->ncur; i++)
    {
      const struct vm_thread *t = &vm->cur[i];

      if (++*vm->steps > BUILDER_SHELL_MATCH_STEPS_MAX)
        return pattern_fail (err, E2BIG, "pattern matching needs more than %d steps", BUILDER_SHELL_MATCH_STEPS_MAX);
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
vm_search (struct vm *vm, size_t from, bool anchored, size_t *start, size_t *end, struct hoist_error **err)
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
      if (vm_step (vm, pos, &found, start, end, err) < 0)
        return -E2BIG;
    }
  return found ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * Trimming and replacing
 * ------------------------------------------------------------------- */

/* Decode and compile PATTERN for matching on VALUE.  For a suffix match
 * both are reversed, as BuildKit does. */
static int
pattern_prepare (const char *value, const char *pattern, bool reversed, bool greedy, struct units *v,
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
  return pattern_compile (p.code, p.n, greedy, pattern, pat, err);
}

int
builder_pattern_trim (const char *value, const char *pattern, bool suffix, bool greedy, size_t *steps,
                      struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_units struct units v = { 0 };
  cleanup_pattern struct pattern pat = { 0 };
  cleanup_vm struct vm vm = { 0 };
  size_t start, end;
  int found;

  if (pattern_prepare (value, pattern, suffix, greedy, &v, &pat, err) < 0)
    return -1;
  vm_init (&vm, &pat, &v, steps);
  found = vm_search (&vm, 0, true, &start, &end, err);
  if (found <= 0)
    return found < 0 ? found : emit_str (out, value, err);
  if (suffix)
    return emit (out, value, v.off[v.n - end], err);
  return emit_str (out, value + v.off[end], err);
}

/* A character of a group name in a replacement: ASCII letters, digits
 * and '_' (Go also takes other Unicode letters and digits; names in
 * shell_words.c are ASCII-only for the same reason). */
static bool
is_group_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
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

  while (is_group_name_char (t[i]))
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
emit_template (struct hoist_buf *out, const char *t, const char *match, size_t mlen, struct hoist_error **err)
{
  const char *dollar;

  while ((dollar = strchr (t, '$')) != NULL)
    {
      size_t used;
      bool whole;

      if (emit (out, t, (size_t) (dollar - t), err) < 0)
        return -E2BIG;
      t = dollar + 1;
      if (*t == '$' || !template_ref (t, &used, &whole))
        {
          if (emit (out, "$", 1, err) < 0)
            return -E2BIG;
          t += *t == '$';
          continue;
        }
      t += used;
      if (whole && emit (out, match, mlen, err) < 0)
        return -E2BIG;
    }
  return emit_str (out, t, err);
}

/* ${VAR//p/r}: Go's Regexp.ReplaceAllString.  Matches do not overlap, an
 * empty match right after a match is not replaced, and the search always
 * moves on by at least one character. */
static int
replace_all (struct vm *vm, const char *value, const struct units *v, const char *rep, struct hoist_buf *out,
             struct hoist_error **err)
{
  size_t last = 0, search = 0;

  while (search <= v->n)
    {
      size_t start, end;
      int found = vm_search (vm, search, false, &start, &end, err);

      if (found < 0)
        return found;
      if (found == 0)
        break;
      if (emit (out, value + v->off[last], v->off[start] - v->off[last], err) < 0)
        return -E2BIG;
      if ((end > last || start == 0)
          && emit_template (out, rep, value + v->off[start], v->off[end] - v->off[start], err) < 0)
        return -E2BIG;
      last = end;
      search = search + 1 > end ? search + 1 : end;
    }
  return emit_str (out, value + v->off[last], err);
}

int
builder_pattern_replace (const char *value, const char *pattern, const char *rep, bool all, size_t *steps,
                         struct hoist_buf *out, struct hoist_error **err)
{
  cleanup_units struct units v = { 0 };
  cleanup_pattern struct pattern pat = { 0 };
  cleanup_vm struct vm vm = { 0 };
  size_t start, end;
  int found;

  if (pattern_prepare (value, pattern, false, true, &v, &pat, err) < 0)
    return -1;
  vm_init (&vm, &pat, &v, steps);
  if (all)
    return replace_all (&vm, value, &v, rep, out, err);
  found = vm_search (&vm, 0, false, &start, &end, err);
  if (found <= 0)
    return found < 0 ? found : emit_str (out, value, err);
  if (emit (out, value, v.off[start], err) < 0 || emit_str (out, rep, err) < 0)
    return -E2BIG;
  return emit_str (out, value + v.off[end], err);
}
