/* test_shell_words.c — unit tests of builder/shell_words.c, Docker's word
 * processing for Dockerfile arguments.
 *
 * The tables are inputs with the exact result.  Every successful result,
 * and the fact of every failure, was checked against BuildKit's own lexer
 * (moby/buildkit frontend/dockerfile/shell/lex.go): a Dockerfile must
 * expand the same with hoist as with docker.  The error messages are
 * hoist's own, except "NAME: ..." from ${NAME?} and ${NAME:?}, which are
 * BuildKit's. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/shell_words.h"

#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

/* ---------------------------------------------------------------------
 * Variables the cases see
 * ------------------------------------------------------------------- */

struct env_var
{
  const char *name;
  const char *value;
};

/* NOPE, NOPE2 and X are never set; EMPTY is set to "". */
static const struct env_var test_env[] = {
  { "PWD", "/home" },
  { "SHELL", "bash" },
  { "EMPTY", "" },
  { "SPACE", "abc  def" },
  { "LEAD", "  ab c" },
  { "TRAIL", "ab c   " },
  { "FILE", "/src/app/main.tar.gz" },
  { "STAR", "a*b*c" },
  { "NEEDLE", "\\*/" },
  { "URL", "http://example.com/x" },
  { "NL", "one\ntwo" },
  { "UNI", "한국어" },
  { "GRP", "$0" },
  { "QUOTE", "it's \"q\"" },
  { "V", "v7" },
  { "EXT", "tar.gz" },
  /* Docker never sets these, but BuildKit looks them up by these names. */
  { "@", "at" },
  { "1", "one" },
  { NULL, NULL },
};

/* builder_lookup_fn over a NULL-terminated env_var array. */
static const char *
env_lookup (void *ctx, const char *name)
{
  for (const struct env_var *v = ctx; v->name != NULL; v++)
    if (strcmp (v->name, name) == 0)
      return v->value;
  return NULL;
}

static struct builder_lexer
lexer_for (char escape, const struct env_var *env)
{
  struct builder_lexer lx = { escape, env_lookup, (void *)env };
  return lx;
}

/* ---------------------------------------------------------------------
 * Table runners
 * ------------------------------------------------------------------- */

/* OUT is the word, or NULL when ERR, the whole message, is expected. */
struct word_case
{
  char escape;
  const char *in;
  const char *out;
  const char *err;
};

/* OUT is the NULL-terminated word list; { NULL } when ERR is expected. */
struct words_case
{
  char escape;
  const char *in;
  const char *out[8];
  const char *err;
};

static void
check_word_case (size_t i, const struct word_case *c)
{
  struct builder_lexer lx = lexer_for (c->escape, test_env);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;
  int ret = builder_shell_word (&lx, c->in, &out, &err);

  if (c->err != NULL)
    {
      if (ret >= 0)
        fail_msg ("case %zu [%s]: expected error \"%s\", got \"%s\"", i, c->in, c->err, out);
      assert_non_null (err);
      if (strcmp (err->msg, c->err) != 0)
        fail_msg ("case %zu [%s]: expected error \"%s\", got \"%s\"", i, c->in, c->err, err->msg);
      assert_null (out);
      return;
    }
  if (ret < 0)
    fail_msg ("case %zu [%s]: expected \"%s\", got error \"%s\"", i, c->in, c->out, err ? err->msg : "?");
  assert_int_equal (ret, 0);
  if (strcmp (out, c->out) != 0)
    fail_msg ("case %zu [%s]: expected \"%s\", got \"%s\"", i, c->in, c->out, out);
}

static void
check_word_cases (const struct word_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    check_word_case (i, &cases[i]);
}

static void
check_words_case (size_t i, const struct words_case *c)
{
  struct builder_lexer lx = lexer_for (c->escape, test_env);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_strv char **out = NULL;
  int ret = builder_shell_words (&lx, c->in, &out, &err);
  size_t k;

  if (c->err != NULL)
    {
      if (ret >= 0)
        fail_msg ("case %zu [%s]: expected error \"%s\", got %zu words", i, c->in, c->err, hoist_strv_len (out));
      assert_non_null (err);
      if (strcmp (err->msg, c->err) != 0)
        fail_msg ("case %zu [%s]: expected error \"%s\", got \"%s\"", i, c->in, c->err, err->msg);
      assert_null (out);
      return;
    }
  if (ret < 0)
    fail_msg ("case %zu [%s]: unexpected error \"%s\"", i, c->in, err ? err->msg : "?");
  assert_non_null (out);
  for (k = 0; c->out[k] != NULL; k++)
    {
      if (out[k] == NULL)
        fail_msg ("case %zu [%s]: word %zu \"%s\" missing", i, c->in, k, c->out[k]);
      if (strcmp (out[k], c->out[k]) != 0)
        fail_msg ("case %zu [%s]: word %zu is \"%s\", expected \"%s\"", i, c->in, k, out[k], c->out[k]);
    }
  if (out[k] != NULL)
    fail_msg ("case %zu [%s]: extra word \"%s\"", i, c->in, out[k]);
}

static void
check_words_cases (const struct words_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    check_words_case (i, &cases[i]);
}

/* ---------------------------------------------------------------------
 * builder_shell_word
 * ------------------------------------------------------------------- */

static const struct word_case plain_quote_cases[] = {
  /* clang-format off */
  { '\\', "", "", NULL },
  { '\\', "hello", "hello", NULL },
  { '\\', "  two  spaces  ", "  two  spaces  ", NULL },
  { '\\', "he'll'o", "hello", NULL },
  { '\\', "'$PWD'", "$PWD", NULL },
  { '\\', "'a\\b'", "a\\b", NULL },
  { '\\', "\"$PWD\"", "/home", NULL },
  { '\\', "\"he said 'hi'\"", "he said 'hi'", NULL },
  { '\\', "'\"dq\"'", "\"dq\"", NULL },
  { '\\', "\"a\"'b'c", "abc", NULL },
  { '\\', "\"\"", "", NULL },
  { '\\', "''", "", NULL },
  { '\\', "\"a  b\"", "a  b", NULL },
  { '\\', "<<  EOF", "<<  EOF", NULL },
  { '\\', "a<b", "a<b", NULL },
  /* clang-format on */
};

static void
test_plain_and_quotes (void **state)
{
  check_word_cases (plain_quote_cases, N_ELEMENTS (plain_quote_cases));
}

/* Outside quotes the escape char takes any next character; inside double
 * quotes only '"', '$' and itself, and stays before anything else. */
static const struct word_case backslash_cases[] = {
  /* clang-format off */
  { '\\', "a\\b", "ab", NULL },
  { '\\', "a\\ b", "a b", NULL },
  { '\\', "\\$PWD", "$PWD", NULL },
  { '\\', "\\\\$PWD", "\\/home", NULL },
  { '\\', "\\'", "'", NULL },
  { '\\', "\\\"", "\"", NULL },
  { '\\', "end\\", "end", NULL },
  { '\\', "end\\\\", "end\\", NULL },
  { '\\', "\"\\$PWD\"", "$PWD", NULL },
  { '\\', "\"\\\\\"", "\\", NULL },
  { '\\', "\"a\\\"b\"", "a\"b", NULL },
  { '\\', "\"\\t\"", "\\t", NULL },
  { '\\', "\"`\"", "`", NULL },
  { '\\', "'\\'", "\\", NULL },
  { '\\', "\\${PWD}", "${PWD}", NULL },
  { '\\', "\\한", "한", NULL },
  /* clang-format on */
};

static void
test_escapes_backslash (void **state)
{
  check_word_cases (backslash_cases, N_ELEMENTS (backslash_cases));
}

/* "# escape=`" (Windows Dockerfiles): '\' is an ordinary character. */
static const struct word_case backtick_cases[] = {
  /* clang-format off */
  { '`', "a`b", "ab", NULL },
  { '`', "C:\\dir\\file", "C:\\dir\\file", NULL },
  { '`', "`$PWD", "$PWD", NULL },
  { '`', "``", "`", NULL },
  { '`', "\"`$PWD\"", "$PWD", NULL },
  { '`', "\"`\"\"", "\"", NULL },
  { '`', "\"``\"", "`", NULL },
  { '`', "\"`a\"", "`a", NULL },
  { '`', "\"\\$PWD\"", "\\/home", NULL },
  { '`', "end`", "end", NULL },
  { '`', "'`'", "`", NULL },
  { '`', "a` b", "a b", NULL },
  /* clang-format on */
};

static void
test_escapes_backtick (void **state)
{
  check_word_cases (backtick_cases, N_ELEMENTS (backtick_cases));
}

/* Names are letters, digits and '_'; digits first make a positional name
 * ($10 is "10"), and @ * # ? - $ ! 0 are one-character names. */
static const struct word_case variable_cases[] = {
  /* clang-format off */
  { '\\', "$PWD", "/home", NULL },
  { '\\', "${PWD}", "/home", NULL },
  { '\\', "x${PWD}y", "x/homey", NULL },
  { '\\', "$PWD.d", "/home.d", NULL },
  { '\\', "$PWDx", "", NULL }, /* the name is PWDx */
  { '\\', "${PWD}x", "/homex", NULL },
  { '\\', "$NOPE", "", NULL },
  { '\\', "${NOPE}", "", NULL },
  { '\\', "$EMPTY|", "|", NULL },
  { '\\', "$", "$", NULL },
  { '\\', "$.", "$.", NULL },
  { '\\', "a$ b", "a$ b", NULL },
  { '\\', "$\"PWD\"", "$PWD", NULL },
  { '\\', "$'x'", "$x", NULL },
  { '\\', "$1x", "onex", NULL },
  { '\\', "$10", "", NULL },
  { '\\', "${1}", "one", NULL },
  { '\\', "$@", "at", NULL },
  { '\\', "$@@", "at@", NULL },
  { '\\', "$$", "", NULL },
  { '\\', "${@}", "at", NULL },
  { '\\', "$UNI!", "한국어!", NULL },
  { '\\', "$QUOTE", "it's \"q\"", NULL },
  { '\\', "\"$SPACE\"", "abc  def", NULL },
  { '\\', "$_x", "", NULL },
  { '\\', "$SHELL$SHELL", "bashbash", NULL },
  /* clang-format on */
};

static void
test_variables (void **state)
{
  check_word_cases (variable_cases, N_ELEMENTS (variable_cases));
}

/* Without ':' only unset counts as missing; with ':' empty does too. */
static const struct word_case default_alt_cases[] = {
  /* clang-format off */
  { '\\', "${PWD-d}", "/home", NULL },
  { '\\', "${EMPTY-d}", "", NULL },
  { '\\', "${NOPE-d}", "d", NULL },
  { '\\', "${PWD:-d}", "/home", NULL },
  { '\\', "${EMPTY:-d}", "d", NULL },
  { '\\', "${NOPE:-d}", "d", NULL },
  { '\\', "${PWD+a}", "a", NULL },
  { '\\', "${EMPTY+a}", "a", NULL },
  { '\\', "${NOPE+a}", "", NULL },
  { '\\', "${PWD:+a}", "a", NULL },
  { '\\', "${EMPTY:+a}", "", NULL },
  { '\\', "${NOPE:+a}", "", NULL },
  { '\\', "${NOPE:-}", "", NULL },
  { '\\', "${NOPE:-a b}", "a b", NULL },
  { '\\', "${NOPE:-\"}\"}", "}", NULL },
  { '\\', "${NOPE:-'x y'}", "x y", NULL },
  { '\\', "${NOPE:-\\}}", "}", NULL },
  { '\\', "${NOPE:-a\\*b}", "a*b", NULL },
  { '\\', "${NOPE-$PWD}", "/home", NULL },
  { '\\', "${V:+-${V}}", "-v7", NULL },
  { '\\', "${NOPE:+-${V}}", "", NULL },
  /* clang-format on */
};

static void
test_default_and_alternative (void **state)
{
  check_word_cases (default_alt_cases, N_ELEMENTS (default_alt_cases));
}

static const struct word_case required_cases[] = {
  /* clang-format off */
  { '\\', "${PWD?}", "/home", NULL },
  { '\\', "${EMPTY?}", "", NULL },
  { '\\', "${NOPE?}", NULL, "NOPE: is not allowed to be unset" },
  { '\\', "${PWD:?}", "/home", NULL },
  { '\\', "${EMPTY:?}", NULL, "EMPTY: is not allowed to be empty" },
  { '\\', "${NOPE:?}", NULL, "NOPE: is not allowed to be unset" },
  { '\\', "${NOPE?set NOPE first}", NULL, "NOPE: set NOPE first" },
  { '\\', "${EMPTY:?must not be empty}", NULL, "EMPTY: must not be empty" },
  { '\\', "${NOPE:?need $SHELL}", NULL, "NOPE: need bash" },
  { '\\', "${PWD:?${NOPE}}", "/home", NULL },
  /* clang-format on */
};

static void
test_required (void **state)
{
  check_word_cases (required_cases, N_ELEMENTS (required_cases));
}

/* '*' and '?' match anything but '\n'; '?' is one UTF-8 character; quotes
 * do not protect pattern characters, only "\*", "\?" and "\\" do. */
static const struct word_case trim_cases[] = {
  /* clang-format off */
  { '\\', "${FILE#*/}", "src/app/main.tar.gz", NULL },
  { '\\', "${FILE##*/}", "main.tar.gz", NULL },
  { '\\', "${FILE%.*}", "/src/app/main.tar", NULL },
  { '\\', "${FILE%%.*}", "/src/app/main", NULL },
  { '\\', "${FILE#/src}", "/app/main.tar.gz", NULL },
  { '\\', "${FILE#nomatch}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE#}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE##}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE%}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE%%}", "/src/app/main.tar.gz", NULL },
  { '\\', "${NOPE#*}", "", NULL },
  { '\\', "${STAR#*\\*}", "b*c", NULL },
  { '\\', "${STAR##*\\*}", "c", NULL },
  { '\\', "${STAR%\\**}", "a*b", NULL },
  { '\\', "${STAR%%\\**}", "a", NULL },
  { '\\', "${FILE#?}", "src/app/main.tar.gz", NULL },
  { '\\', "${UNI#?}", "국어", NULL },
  { '\\', "${UNI%?}", "한국", NULL },
  { '\\', "${NL#*}", "one\ntwo", NULL },
  { '\\', "${NL##*}", "\ntwo", NULL },
  { '\\', "${NL%%*}", "one\n", NULL },
  { '\\', "${NL#???}", "\ntwo", NULL },
  { '\\', "${NL#???????}", "one\ntwo", NULL },
  { '\\', "${FILE#$NOPE}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE%.$EXT}", "/src/app/main", NULL },
  { '\\', "${STAR#'*'}", "a*b*c", NULL },
  { '\\', "${FILE#\"/src/\"}", "app/main.tar.gz", NULL },
  { '\\', "${FILE#(}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE##.[a-z]}", "/src/app/main.tar.gz", NULL },
  { '`', "${STAR#*`*}", "a*b*c", NULL },
  { '`', "${STAR#*\\*}", "b*c", NULL },
  /* clang-format on */
};

static void
test_trim_patterns (void **state)
{
  check_word_cases (trim_cases, N_ELEMENTS (trim_cases));
}

/* ${V/p/r} inserts R as written; ${V//p/r} expands "$0" (the match) and
 * "$$" in R, as Go's ReplaceAllString.  Escapes stay in R. */
static const struct word_case replace_cases[] = {
  /* clang-format off */
  { '\\', "${FILE/a/A}", "/src/App/main.tar.gz", NULL },
  { '\\', "${FILE//a/A}", "/src/App/mAin.tAr.gz", NULL },
  { '\\', "${FILE/nomatch/X}", "/src/app/main.tar.gz", NULL },
  { '\\', "${FILE//\\//_}", "_src_app_main.tar.gz", NULL },
  { '\\', "${FILE/*./}", "gz", NULL },
  { '\\', "${URL/http:\\/\\//https:\\/\\/}", "https:\\/\\/example.com/x", NULL },
  { '\\', "${STAR//\\*/+}", "a+b+c", NULL },
  { '\\', "${STAR//?/.}", ".....", NULL },
  { '\\', "${NOPE/a/b}", "", NULL },
  { '\\', "${PWD//$NOPE/-}", "-/-h-o-m-e-", NULL },
  { '\\', "${PWD/$NOPE/-}", "-/home", NULL },
  { '\\', "${PWD///}", "/home", NULL },
  /* GRP is "$0": a reference to the whole match, for // only. */
  { '\\', "${PWD//o/[$GRP]}", "/h[o]me", NULL },
  { '\\', "${PWD/o/[$GRP]}", "/h[$0]me", NULL },
  { '\\', "${PWD//o/\\$}", "/h\\$me", NULL },
  { '\\', "${PWD//*/x}", "x", NULL },
  { '\\', "${NL//*/x}", "x\nx", NULL },
  { '\\', "${FILE//$NEEDLE/!}", "/src/app/main.tar.gz", NULL },
  { '\\', "${UNI//?/-}", "---", NULL },
  /* clang-format on */
};

static void
test_replace_patterns (void **state)
{
  check_word_cases (replace_cases, N_ELEMENTS (replace_cases));
}

static const struct word_case nested_cases[] = {
  /* clang-format off */
  { '\\', "${NOPE:-${PWD}}", "/home", NULL },
  { '\\', "${NOPE:-${NOPE2:-deep}}", "deep", NULL },
  { '\\', "${NOPE:-${NOPE2:-${SHELL}}x}y", "bashxy", NULL },
  { '\\', "${PWD:+${SHELL:+both}}", "both", NULL },
  { '\\', "\"${NOPE:-\"a b\"}\"", "a b", NULL },
  { '\\', "${FILE%.${EXT:-gz}}", "/src/app/main", NULL },
  { '\\', "${FILE#${NOPE:-*/}}", "src/app/main.tar.gz", NULL },
  { '\\', "${NOPE:-\\${PWD}}", "${PWD}", NULL },
  { '\\', "${NOPE:-$}", "$", NULL },
  { '\\', "pre${NOPE:-${EMPTY:-e}}post", "preepost", NULL },
  /* clang-format on */
};

static void
test_nested (void **state)
{
  check_word_cases (nested_cases, N_ELEMENTS (nested_cases));
}

static const struct word_case error_cases[] = {
  /* clang-format off */
  { '\\', "'abc", NULL, "unterminated single quote in ''abc'" },
  { '\\', "\"abc", NULL, "unterminated double quote in '\"abc'" },
  { '\\', "\"abc\\\"", NULL, "unterminated double quote in '\"abc\\\"'" },
  { '\\', "\"abc\\", NULL, "unterminated double quote in '\"abc\\'" },
  { '\\', "${", NULL, "missing '}' in '${'" },
  { '\\', "${PWD", NULL, "missing '}' in '${PWD'" },
  { '\\', "${PWD:-x", NULL, "missing '}' in '${PWD:-x'" },
  { '\\', "${}", NULL, "bad substitution in '${}'" },
  { '\\', "${{x}}", NULL, "bad substitution in '${{x}}'" },
  { '\\', "${:-x}", NULL, "bad substitution in '${:-x}'" },
  { '\\', "${1abc}", NULL, "bad substitution in '${1abc}'" },
  { '\\', "${.}", NULL, "bad substitution in '${.}'" },
  { '\\', "${ x}", NULL, "bad substitution in '${ x}'" },
  { '\\', "${PWD=x}", NULL, "unsupported modifier '=' in '${PWD=x}'" },
  { '\\', "${PWD:=x}", NULL, "unsupported modifier ':=' in '${PWD:=x}'" },
  { '\\', "${PWD:x}", NULL, "bad substitution in '${PWD:x}'" },
  { '\\', "${PWD:#x}", NULL, "unsupported modifier ':#' in '${PWD:#x}'" },
  { '\\', "${PWD:%x}", NULL, "unsupported modifier ':%' in '${PWD:%x}'" },
  { '\\', "${PWD/x}", NULL, "missing '/' in '${PWD/x}'" },
  { '\\', "${PWD//x}", NULL, "missing '/' in '${PWD//x}'" },
  { '\\', "${PWD/x/y", NULL, "missing '}' in '${PWD/x/y'" },
  { '\\', "${FILE#a\\b}", NULL, "invalid escape in pattern 'a\\b' in '${FILE#a\\b}'" },
  /* "\}" escapes the brace, so the ${ is never closed. */
  { '\\', "${FILE%ab\\}", NULL, "missing '}' in '${FILE%ab\\}'" },
  { '\\', "${NOPE:-${}}", NULL, "bad substitution in '${NOPE:-${}}'" },
  /* The inner error gives way to the unclosed outer ${, as in BuildKit. */
  { '\\', "${NOPE:-${X?}", NULL, "missing '}' in '${NOPE:-${X?}'" },
  { '\\', "${NOPE:-${X?}}", NULL, "X: is not allowed to be unset" },
  { '\\', "${NOPE:-\"}", NULL, "missing '}' in '${NOPE:-\"}'" },
  { '`', "\"a`\"", NULL, "unterminated double quote in '\"a`\"'" },
  { '\\', "a${PWD:}b}", NULL, "unsupported modifier ':}' in 'a${PWD:}b}'" },
  /* clang-format on */
};

static void
test_word_errors (void **state)
{
  check_word_cases (error_cases, N_ELEMENTS (error_cases));
}

/* ---------------------------------------------------------------------
 * builder_shell_words
 * ------------------------------------------------------------------- */

/* Unquoted whitespace, and whitespace inside an unquoted value, ends a
 * word; words are never empty, so "" alone adds nothing (BuildKit). */
static const struct words_case split_cases[] = {
  /* clang-format off */
  { '\\', "", { NULL }, NULL },
  { '\\', "   ", { NULL }, NULL },
  { '\\', "a b  c", { "a", "b", "c", NULL }, NULL },
  { '\\', " \tlead trail\t ", { "lead", "trail", NULL }, NULL },
  { '\\', "a\\ b c", { "a b", "c", NULL }, NULL },
  { '\\', "\"a b\" c", { "a b", "c", NULL }, NULL },
  { '\\', "'a b'c d", { "a bc", "d", NULL }, NULL },
  { '\\', "$SPACE", { "abc", "def", NULL }, NULL },
  { '\\', "x$SPACE", { "xabc", "def", NULL }, NULL },
  { '\\', "\"$SPACE\"", { "abc  def", NULL }, NULL },
  { '\\', "x$LEAD", { "x", "ab", "c", NULL }, NULL },
  { '\\', "$TRAIL", { "ab", "c", NULL }, NULL },
  { '\\', "$TRAIL.", { "ab", "c", ".", NULL }, NULL },
  { '\\', "\"\" x \"\"", { "x", NULL }, NULL },
  { '\\', "''", { NULL }, NULL },
  { '\\', "a\"\"b", { "ab", NULL }, NULL },
  { '\\', "${NOPE:-a b}", { "a", "b", NULL }, NULL },
  { '\\', "\"${NOPE:-a b}\"", { "a b", NULL }, NULL },
  /* Blanks after "<<" belong to the heredoc marker. */
  { '\\', "cat <<  EOF x", { "cat", "<<  EOF", "x", NULL }, NULL },
  { '\\', "a\nb", { "a", "b", NULL }, NULL },
  { '\\', "a\xc2\xa0" "b\xe2\x80\x83" "c", { "a", "b", "c", NULL }, NULL },
  { '\\', "a\\\xc2\xa0" "b", { "a\xc2\xa0" "b", NULL }, NULL },
  { '\\', "80/tcp 443/udp", { "80/tcp", "443/udp", NULL }, NULL },
  { '`', "a` b c", { "a b", "c", NULL }, NULL },
  { '\\', "$EMPTY", { NULL }, NULL },
  { '\\', "x $NOPE y", { "x", "y", NULL }, NULL },
  { '\\', "a ${PWD#/}", { "a", "home", NULL }, NULL },
  { '\\', "'' a", { "a", NULL }, NULL },
  { '\\', "a\\", { "a", NULL }, NULL },
  /* BuildKit's ProcessWords returns "y" "z": the ${..:-..} word reuses
   * the buffer of the word around it and drops "x".  Not copied. */
  { '\\', "x${NOPE:-y} z", { "xy", "z", NULL }, NULL },
  /* clang-format on */
};

static void
test_words_split (void **state)
{
  check_words_cases (split_cases, N_ELEMENTS (split_cases));
}

static const struct words_case split_error_cases[] = {
  /* clang-format off */
  { '\\', "a \"b", { NULL }, "unterminated double quote in 'a \"b'" },
  { '\\', "a 'b", { NULL }, "unterminated single quote in 'a 'b'" },
  { '\\', "a ${b", { NULL }, "missing '}' in 'a ${b'" },
  { '\\', "x ${NOPE?gone}", { NULL }, "NOPE: gone" },
  /* clang-format on */
};

static void
test_words_errors (void **state)
{
  check_words_cases (split_error_cases, N_ELEMENTS (split_error_cases));
}

/* ---------------------------------------------------------------------
 * Limits, lookups and ownership
 * ------------------------------------------------------------------- */

static char *
repeat (const char *unit, size_t times)
{
  size_t n = strlen (unit);
  char *s = hoist_xmalloc (n * times + 1);

  for (size_t i = 0; i < times; i++)
    memcpy (s + i * n, unit, n);
  s[n * times] = '\0';
  return s;
}

/* The message quotes at most 200 bytes of the input. */
static char *
quoted_cut (const char *problem, const char *in)
{
  return hoist_xasprintf ("%s in '%.200s...'", problem, in);
}

static void
test_word_limit (void **state)
{
  struct builder_lexer lx = lexer_for ('\\', test_env);
  cleanup_free char *at_limit = repeat ("a", BUILDER_SHELL_WORD_MAX);
  cleanup_free char *over = repeat ("a", BUILDER_SHELL_WORD_MAX + 1);
  cleanup_free char *msg = NULL;
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (builder_shell_word (&lx, at_limit, &out, &err), 0);
  assert_int_equal (strlen (out), BUILDER_SHELL_WORD_MAX);
  free (steal_pointer (&out));

  assert_int_equal (builder_shell_word (&lx, over, &out, &err), -E2BIG);
  assert_null (out);
  assert_int_equal (err->status, E2BIG);
  msg = quoted_cut ("word longer than 1048576 bytes", over);
  assert_string_equal (err->msg, msg);
}

/* Substitution can grow a short input past the limit, in both calls. */
static void
test_expansion_limit (void **state)
{
  cleanup_free char *half = repeat ("x", BUILDER_SHELL_WORD_MAX / 2 + 1);
  const struct env_var env[] = { { "BIG", half }, { NULL, NULL } };
  struct builder_lexer lx = lexer_for ('\\', env);
  cleanup_free char *out = NULL;
  cleanup_strv char **words = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (builder_shell_word (&lx, "$BIG", &out, &err), 0);
  assert_int_equal (strlen (out), BUILDER_SHELL_WORD_MAX / 2 + 1);
  free (steal_pointer (&out));

  /* A pattern operation on a big value stays within the budget. */
  assert_int_equal (builder_shell_word (&lx, "${BIG%%x*}y${BIG##*x}", &out, &err), 0);
  assert_string_equal (out, "y");
  free (steal_pointer (&out));

  assert_int_equal (builder_shell_word (&lx, "$BIG$BIG", &out, &err), -E2BIG);
  assert_string_equal (err->msg, "word longer than 1048576 bytes in '$BIG$BIG'");
  assert_null (out);

  assert_int_equal (builder_shell_words (&lx, "$BIG ${NOPE:-$BIG}", &words, &err), -E2BIG);
  assert_string_equal (err->msg, "word longer than 1048576 bytes in '$BIG ${NOPE:-$BIG}'");
  assert_null (words);
}

/* ${N:-${N:-...x...}}: BUILDER_SHELL_NEST_MAX levels work, one more fails
 * instead of recursing without bound. */
static void
test_nest_limit (void **state)
{
  struct builder_lexer lx = lexer_for ('\\', test_env);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;

  for (size_t levels = BUILDER_SHELL_NEST_MAX; levels <= BUILDER_SHELL_NEST_MAX + 1; levels++)
    {
      cleanup_free char *open = repeat ("${NOPE:-", levels);
      cleanup_free char *close = repeat ("}", levels);
      cleanup_free char *in = hoist_xasprintf ("%sx%s", open, close);
      cleanup_free char *msg = NULL;
      int ret = builder_shell_word (&lx, in, &out, &err);

      if (levels == BUILDER_SHELL_NEST_MAX)
        {
          assert_int_equal (ret, 0);
          assert_string_equal (out, "x");
          free (steal_pointer (&out));
          continue;
        }
      assert_true (ret < 0);
      msg = quoted_cut ("substitutions nested deeper than 64", in);
      assert_string_equal (err->msg, msg);
    }
}

/* A pattern of many '?' keeps many threads alive at every position: the
 * work is bounded, and the limit is per call. */
static void
test_match_limit (void **state)
{
  cleanup_free char *value = repeat ("a", 64 * 1024);
  const struct env_var env[] = { { "V", value }, { NULL, NULL } };
  struct builder_lexer lx = lexer_for ('\\', env);
  cleanup_free char *qs = repeat ("?", 2000);
  cleanup_free char *in = hoist_xasprintf ("${V//%sb/x}", qs);
  cleanup_free char *msg = NULL;
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (builder_shell_word (&lx, in, &out, &err), -E2BIG);
  assert_int_equal (err->status, E2BIG);
  msg = quoted_cut ("pattern matching needs more than 67108864 steps", in);
  assert_string_equal (err->msg, msg);
  assert_null (out);
}

/* The quoted input is cut at a character boundary, never inside one. */
static void
test_error_source_cut (void **state)
{
  struct builder_lexer lx = lexer_for ('\\', test_env);
  cleanup_free char *text = repeat ("한", 100);
  cleanup_free char *in = hoist_xasprintf ("'%s", text);
  /* 200 bytes would end inside the 67th character: 1 + 66 * 3 = 199. */
  cleanup_free char *shown = repeat ("한", 66);
  cleanup_free char *msg = hoist_xasprintf ("unterminated single quote in ''%s...'", shown);
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_true (builder_shell_word (&lx, in, &out, &err) < 0);
  assert_string_equal (err->msg, msg);
}

static void
test_no_lookup (void **state)
{
  struct builder_lexer lx = { '\\', NULL, NULL };
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (builder_shell_word (&lx, "[$PWD${PWD-d}${PWD:+a}${@}]", &out, &err), 0);
  assert_string_equal (out, "[d]");
  assert_true (builder_shell_word (&lx, "${PWD?}", &out, &err) < 0);
  assert_string_equal (err->msg, "PWD: is not allowed to be unset");
}

/* Lookups see exactly the names BuildKit's lexer would ask for. */
static char **seen_names;

static const char *
record_lookup (void *ctx, const char *name)
{
  hoist_strv_push (&seen_names, name);
  return NULL;
}

static void
test_lookup_names (void **state)
{
  struct builder_lexer lx = { '\\', record_lookup, NULL };
  static const char *const want[] = { "1", "10", "$", "@", "a", "A_1", "Y", "x", "Z", "", NULL };
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;
  size_t i;

  assert_int_equal (builder_shell_word (&lx, "$1x$10$$$@@$a-b${A_1}${x:-$Y}${Z#*}${/a/b}", &out, &err), 0);
  assert_string_equal (out, "x@-b");
  /* The word of ${x:-$Y} is expanded before x itself is looked up. */
  for (i = 0; want[i] != NULL; i++)
    {
      assert_non_null (seen_names[i]);
      assert_string_equal (seen_names[i], want[i]);
    }
  assert_null (seen_names[i]);
  hoist_strv_free (steal_pointer (&seen_names));
}

/* On failure *OUT is untouched, and a NULL ERR is allowed. */
static void
test_failure_contract (void **state)
{
  struct builder_lexer lx = lexer_for ('\\', test_env);
  char *sentinel[] = { (char *)"sentinel", NULL };
  char *out = sentinel[0];
  char **words = sentinel;

  assert_true (builder_shell_word (&lx, "\"open", &out, NULL) < 0);
  assert_string_equal (out, "sentinel");
  assert_true (builder_shell_words (&lx, "a ${", &words, NULL) < 0);
  assert_ptr_equal (words, sentinel);
}

/* An empty text gives an empty vector, not NULL. */
static void
test_words_empty_vector (void **state)
{
  struct builder_lexer lx = lexer_for ('\\', test_env);
  cleanup_strv char **words = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (builder_shell_words (&lx, " \t ", &words, &err), 0);
  assert_non_null (words);
  assert_null (words[0]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plain_and_quotes),
    cmocka_unit_test (test_escapes_backslash),
    cmocka_unit_test (test_escapes_backtick),
    cmocka_unit_test (test_variables),
    cmocka_unit_test (test_default_and_alternative),
    cmocka_unit_test (test_required),
    cmocka_unit_test (test_trim_patterns),
    cmocka_unit_test (test_replace_patterns),
    cmocka_unit_test (test_nested),
    cmocka_unit_test (test_word_errors),
    cmocka_unit_test (test_words_split),
    cmocka_unit_test (test_words_errors),
    cmocka_unit_test (test_word_limit),
    cmocka_unit_test (test_expansion_limit),
    cmocka_unit_test (test_nest_limit),
    cmocka_unit_test (test_match_limit),
    cmocka_unit_test (test_error_source_cut),
    cmocka_unit_test (test_no_lookup),
    cmocka_unit_test (test_lookup_names),
    cmocka_unit_test (test_failure_contract),
    cmocka_unit_test (test_words_empty_vector),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
