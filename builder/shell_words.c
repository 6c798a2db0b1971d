/* shell_words.c — Dockerfile word processing as BuildKit's shell lexer
 * (moby/buildkit, frontend/dockerfile/shell/lex.go) does it: quotes,
 * escapes, $VAR and ${VAR<op>word} substitution, and word splitting.
 *
 * A Dockerfile that builds with docker must build the same with hoist, so
 * the goal is BuildKit's behaviour, including its odd corners; the comments
 * name the corners that look like mistakes but are not.  The functions
 * follow lex.go's shape so the two can be compared case by case:
 * process_until() is processStopOn, process_dollar() is processDollar.
 * The patterns of the #, % and / operators, for which BuildKit builds Go
 * regexps, are matched in shell_pattern.c.
 *
 * Known differences, all deliberate: names are ASCII (Go also takes any
 * Unicode letter or digit, which would need Unicode tables here); bytes
 * that are not UTF-8 pass through instead of becoming U+FFFD; output size,
 * nesting and pattern-matching work are limited (see shell_words.h); error
 * messages are hoist's, except for ${VAR?}; and ProcessWords' loss of the
 * text before an ${VAR<op>...} in the same word (BuildKit reuses one
 * buffer for both) is not copied.
 */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/shell_pattern.h"
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
  size_t match_steps; /* pattern-matching work spent so far (STEPS of shell_pattern.h) */
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

/* A shell_pattern.c call failed with RET and an error that names only the
 * problem: add the input, as every error here does, keeping the status. */
static int
scan_fail_pattern (const struct scan *s, struct hoist_error **err, int ret)
{
  cleanup_free char *problem = NULL;

  if (err == NULL || *err == NULL)
    return ret;
  problem = steal_pointer (&(*err)->msg);
  return scan_fail (s, err, (*err)->status, "%s", problem);
}

/* ---------------------------------------------------------------------
 * Characters
 * ------------------------------------------------------------------- */

/* Bytes of the character at P: the UTF-8 sequence, or 1 for a stray byte. */
static size_t
char_len (const char *p)
{
  uint32_t cp;
  size_t n = hoist_utf8_decode (p, strnlen (p, 4), &cp);
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
  n = hoist_utf8_decode (p, strnlen (p, 4), &cp);
  return n > 0 && hoist_unicode_is_space (cp) ? n : 0;
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
        ret = builder_pattern_trim (value ? value : "", word.data + greedy, op == '%', greedy, &s->match_steps, out,
                                    err);
        return ret < 0 ? scan_fail_pattern (s, err, ret) : 0;
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
  ret = builder_pattern_replace (value ? value : "", pattern.data, rep.data, all, &s->match_steps, out, err);
  return ret < 0 ? scan_fail_pattern (s, err, ret) : 0;
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
