/* test_dockerignore.c — .dockerignore reading and matching.
 *
 * The expectations are Docker's: each table row was checked against
 * moby/patternmatcher's ignorefile.ReadAll + MatchesOrParentMatches,
 * except the rows marked "hoist:", where hoist deliberately differs (see
 * builder/dockerignore.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/builder.h"

struct match_case
{
  const char *text; /* the .dockerignore */
  const char *path;
  bool excluded;
};

static const struct match_case match_cases[] = {
  /* Literals: anchored at the context root, and a match of a parent
   * directory excludes everything below it. */
  { "foo", "foo", true },
  { "foo", "foobar", false },
  { "foo", "fo", false },
  { "foo", "foo/bar", true },
  { "foo", "bar/foo", false },
  { "foo/bar", "foo/bar/baz", true },
  { "foo/bar", "foo", false },
  { "a.b", "axb", false },
  { "a(b)c+{1}|$", "a(b)c+{1}|$", true },
  { "node_modules", "src/node_modules/x", false },
  /* '*': any run but '/'. */
  { "*.go", "main.go", true },
  { "*.go", "cmd/main.go", false },
  { "*", "anything", true },
  { "*", "a/b", true },
  { "a*/b", "abc/b", true },
  { "a*/b", "a/c/b", false },
  { "*/*.md", "docs/x.md", true },
  { "*/*.md", "x.md", false },
  { "a/*", "a", false },
  { "a/*", "a/b/c", true },
  { "*a*a*b", "xaxaxb", true },
  { "*a*a*b", "xaxab/c", true },
  { "*a*a*b", "xaxba", false },
  /* '?': one character (one UTF-8 rune) but '/'. */
  { "a?c", "abc", true },
  { "a?c", "a/c", false },
  { "a?c", "ac", false },
  { "?", "\xC3\xA9", true },
  { "??", "\xC3\xA9", false },
  /* Classes and ranges; '^' negates, '!' is an ordinary character, a
   * class may match '/'. */
  { "a[b-d]e", "ace", true },
  { "a[b-d]e", "aze", false },
  { "a[^b-d]e", "aze", true },
  { "a[^b-d]e", "ace", false },
  { "[!a]", "!", true },
  { "[!a]", "b", false },
  { "a[\\]]b", "a]b", true },
  { "a[^x]b", "a/b", true },
  { "[\xC3\xA9-\xC3\xAA]t\xC3\xA9", "\xC3\xAAt\xC3\xA9", true },
  { "[[]", "[", true },
  { "[a-cx]", "x", true },
  /* Escapes. */
  { "a\\*b", "a*b", true },
  { "a\\*b", "axb", false },
  { "\\[x\\]", "[x]", true },
  { "a\\\\", "a\\", true },
  { "a\\?", "ab", false },
  /* hoist: '\' before a letter quotes it, as filepath.Match does; Docker
   * hands "\n" to its regexp engine, which reads a newline. */
  { "a\\nb", "anb", true },
  /* hoist: '|' is a character; Docker leaves it unescaped in its regexp,
   * where "*.go|" matches every path. */
  { "*.go|", "main.go|", true },
  { "*.go|", "README", false },
  /* hoist: '*' in a class is a character, as in filepath.Match. */
  { "[*]", "*", true },
  /* "**" in every position. */
  { "**", "a/b/c", true },
  { "**", "x", true },
  { "**/foo", "foo", true },
  { "**/foo", "a/b/foo", true },
  { "**/foo", "a/foo/bar", true },
  { "**/foo", "afoo", false },
  { "**/foo/bar", "x/foo/bar", true },
  { "foo/**", "foo", false },
  { "foo/**", "foo/a/b", true },
  { "a/**/b", "a/b", true },
  { "a/**/b", "a/x/y/b", true },
  { "a/**/b", "a/xb", false },
  { "a/**/b", "a/x/y/b/c", true },
  { "**/*.go", "main.go", true },
  { "**/*.go", "a/b/main.go", true },
  { "**/*.go", "a/b/main.goo", false },
  { "**/.git", "sub/.git/config", true },
  { "**/a/**", "x/a/y", true },
  { "**/a/**", "x/a", false },
  { "a/**/**/b", "a/b", true },
  { "**/**", "x", true },
  /* "**" at the start with no other wildcard is a plain suffix test in
   * Docker, and a final "**" after a literal a plain prefix test. */
  { "**foo", "barfoo", true },
  { "**foo", "a/foo", true },
  { "a**", "abc/d", true },
  { "a**", "ba", false },
  /* "**" inside a segment stands for any directories, not characters. */
  { "a**b", "a/x/b", true },
  { "a**b", "ab", true },
  { "a**b", "axb", false },
  { "a**/*.txt", "a/d/f.txt", true },
  /* Docker's regexp for "**" is ".*", which stops at a newline; '*'
   * does not. */
  { "a/**/b", "a/x\ny/b", false },
  { "a/*/b", "a/x\ny/b", true },
  /* '^' outside a class is a regexp anchor once the pattern has a
   * wildcard, and an ordinary character before. */
  { "a^b", "a^b", true },
  { "a^b*", "a^bc", false },
  { "^foo*", "foobar", true },
  /* Exceptions: the last matching pattern wins. */
  { "*.md\n!README.md", "README.md", false },
  { "*.md\n!README.md", "CHANGES.md", true },
  { "!README.md\n*.md", "README.md", true },
  { "docs\n!docs/keep.md", "docs/keep.md", false },
  { "docs\n!docs/keep.md", "docs/other.md", true },
  { "docs\n!docs/keep.md", "docs", true },
  { "docs/\n!docs/keep.md", "docs/keep.md", false },
  { "docs/*\n!docs/keep.md", "docs/keep.md", false },
  { "**\n!util/web\nutil/web/tmp", "util/web/tmp/x", true },
  { "**\n!util/web\nutil/web/tmp", "util/web/index.html", false },
  { "*\n!*.go\nvendor", "vendor/x.go", true },
  { "a\n!a/b\na/b/c", "a/b/c/d", true },
  { "a\n!a/b\na/b/c", "a/b/d", false },
  { "build\n!build/**/*.txt", "build/x/y.txt", false },
  { "build\n!build/**/*.txt", "build/x/y.bin", true },
  { "*.log\n!keep.log\n**/*.log", "keep.log", true },
  /* Comments: '#' only at the very start of a line. */
  { "# comment\nfoo", "# comment", false },
  { "# comment\nfoo", "foo", true },
  { " # not a comment", "# not a comment", true },
  /* Blank lines, white space (Unicode's too), CRLF, a BOM. */
  { "\n\n   \n\tfoo  \n", "foo", true },
  { "foo\r\nbar\r\n", "bar", true },
  { "\xC2\xA0\x66oo\xE3\x80\x80", "foo", true },
  { "\xEF\xBB\xBF\x66oo", "foo", true },
  { "\xEF\xBB\xBF#x\nfoo", "#x", false },
  /* Cleaning: leading '/', "./", trailing '/', "//", "..". */
  { "/foo", "foo", true },
  { "./foo", "foo", true },
  { "foo/", "foo/x", true },
  { "foo//bar", "foo/bar", true },
  { "foo/./bar/", "foo/bar", true },
  { "foo/../bar", "bar", true },
  { "foo/../bar", "foo", false },
  { "../foo", "foo", false },
  { "/../foo", "foo", true },
  { "*\n!/keep", "keep", false },
  { "*\n!  foo", "foo", false },
  /* Docker cleans twice, trimming in between: "a /" becomes "a". */
  { "a /", "a", true },
  /* The matcher treats the Dockerfile and .dockerignore like any path:
   * sending them anyway is the context walker's job. */
  { "Dockerfile", "Dockerfile", true },
  { ".dockerignore", ".dockerignore", true },
  { "*", "Dockerfile", true },
  { ".*", ".dockerignore", true },
  { ".*", "foo", false },
  /* The context root is never excluded. */
  { "*", ".", false },
  { "**", "", false },
  /* Non-ASCII. */
  { "\xC3\xA9*", "\xC3\xA9t\xC3\xA9", true },
  { "*\xC3\xA9", "caf\xC3\xA9", true },
  /* Nothing to match. */
  { "", "foo", false },
  { "# only\n\n", "foo", false },
};

struct error_case
{
  const char *text;
  const char *msg;
};

static const struct error_case error_cases[] = {
  { "[", "'.dockerignore' line 1: bad pattern '[': unterminated character class" },
  { "ok\n\n[a", "'.dockerignore' line 3: bad pattern '[a': unterminated character class" },
  { "a[b-", "'.dockerignore' line 1: bad pattern 'a[b-': unterminated character class" },
  { "[]", "'.dockerignore' line 1: bad pattern '[]': misplaced '-' or ']' in character class" },
  { "[a-]", "'.dockerignore' line 1: bad pattern '[a-]': misplaced '-' or ']' in character class" },
  { "[-a]", "'.dockerignore' line 1: bad pattern '[-a]': misplaced '-' or ']' in character class" },
  { "[z-a]", "'.dockerignore' line 1: bad pattern '[z-a]': reversed range in character class" },
  { "[\xFF]", "'.dockerignore' line 1: bad pattern '[\xFF]': invalid UTF-8 in character class" },
  { "foo\\", "'.dockerignore' line 1: bad pattern 'foo\\': trailing backslash" },
  /* Checked to the end, past a star, as filepath.Match does. */
  { "*[", "'.dockerignore' line 1: bad pattern '*[': unterminated character class" },
  { "**/x/[", "'.dockerignore' line 1: bad pattern '**/x/[': unterminated character class" },
  { "# [\n!", "'.dockerignore' line 2: bad pattern '!': exception '!' with nothing to re-include" },
  { "  !  ", "'.dockerignore' line 1: bad pattern '!': exception '!' with nothing to re-include" },
  /* "!/" is "!" once Docker's matcher cleans it again. */
  { "!/", "'.dockerignore' line 1: bad pattern '!/': exception '!' with nothing to re-include" },
  /* Control bytes are shown escaped. */
  { "a\x01[", "'.dockerignore' line 1: bad pattern 'a\\x01[': unterminated character class" },
};

struct descend_case
{
  const char *text;
  const char *dir;
  bool descend;
};

static const struct descend_case descend_cases[] = {
  { "vendor", "vendor", false },
  { "vendor\n!vendor/keep", "vendor", true },
  { "vendor\n!vendor/keep", "vendor/other", false },
  { "vendor\n!vendor/a/b", "vendor/a", true },
  { "!vendor/keep\nvendor", "vendor", false },
  { "vendor\n!**/keep", "vendor", true },
  { "vendor\n!vendor/*.go", "vendor", true },
  /* hoist: an exception that cannot match below DIR does not make the
   * walk descend (BuildKit descends for any exception with a wildcard);
   * what is sent is the same. */
  { "vendor\n!*.go", "vendor", false },
  { "*\n!src/**", "src", true },
  { "*\n!src/**", "docs", false },
  { "**\n!**/*.txt", "a/b", true },
  { "a\n!b", "a", false },
  { "a\n!a/b/**", "a", true },
  { "a\n!a/b/**", "a/c", false },
  { "x\n![a-c]", "x", false },
  { "x\n!x?/y", "x", false },
  { "x\n!x*/y", "x", true },
  { "x\n!**.txt", "x", true },
  /* Not excluded: the walk descends anyway. */
  { "src", "lib", true },
  { "foo\n!foo", "foo", true },
  { "*", ".", true },
};

static struct builder_ignore *
parse_ok (const char *text, size_t len)
{
  struct builder_ignore *ig = NULL;
  struct hoist_error *err = NULL;

  if (builder_ignore_parse (text, len, &ig, &err) < 0)
    {
      print_error ("unexpected error for %s: %s\n", text, err->msg);
      hoist_error_free (err);
      fail ();
    }
  return ig;
}

static void
test_match_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < sizeof (match_cases) / sizeof (match_cases[0]); i++)
    {
      const struct match_case *c = &match_cases[i];
      struct builder_ignore *ig = parse_ok (c->text, strlen (c->text));

      if (builder_ignore_excluded (ig, c->path) != c->excluded)
        {
          print_error ("case %zu: text '%s' path '%s': expected %s\n", i, c->text, c->path,
                       c->excluded ? "excluded" : "included");
          failures++;
        }
      builder_ignore_free (ig);
    }
  assert_int_equal (failures, 0);
}

static void
test_error_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < sizeof (error_cases) / sizeof (error_cases[0]); i++)
    {
      const struct error_case *c = &error_cases[i];
      struct builder_ignore *ig = NULL;
      struct hoist_error *err = NULL;
      int ret = builder_ignore_parse (c->text, strlen (c->text), &ig, &err);

      if (ret >= 0 || err == NULL || strcmp (err->msg, c->msg) != 0)
        {
          print_error ("case %zu: text '%s': expected \"%s\", got \"%s\"\n", i, c->text, c->msg,
                       err != NULL ? err->msg : "success");
          failures++;
        }
      assert_null (ig);
      builder_ignore_free (ig);
      hoist_error_free (err);
    }
  assert_int_equal (failures, 0);
}

static void
test_descend_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < sizeof (descend_cases) / sizeof (descend_cases[0]); i++)
    {
      const struct descend_case *c = &descend_cases[i];
      struct builder_ignore *ig = parse_ok (c->text, strlen (c->text));

      if (builder_ignore_must_descend (ig, c->dir) != c->descend)
        {
          print_error ("case %zu: text '%s' dir '%s': expected %s\n", i, c->text, c->dir,
                       c->descend ? "descend" : "skip");
          failures++;
        }
      builder_ignore_free (ig);
    }
  assert_int_equal (failures, 0);
}

static void
test_count (void **state)
{
  static const char text[] = "# c\n\nfoo\n  \n!bar\n*.go";
  struct builder_ignore *ig = parse_ok (text, strlen (text));

  (void) state;
  assert_int_equal (builder_ignore_count (ig), 3);
  builder_ignore_free (ig);
  /* An empty file, and no text at all. */
  ig = parse_ok (NULL, 0);
  assert_int_equal (builder_ignore_count (ig), 0);
  assert_false (builder_ignore_excluded (ig, "foo"));
  assert_true (builder_ignore_must_descend (ig, "foo"));
  builder_ignore_free (ig);
}

/* TEXT is LEN bytes and need not be NUL-terminated; a NUL byte is part of
 * its line, and a pattern holding one matches no path. */
static void
test_not_nul_terminated (void **state)
{
  static const char text[] = "foo\0bar\nbaz!!!";
  struct builder_ignore *ig = parse_ok (text, 11);

  (void) state;
  assert_int_equal (builder_ignore_count (ig), 2);
  assert_false (builder_ignore_excluded (ig, "foo"));
  assert_true (builder_ignore_excluded (ig, "baz"));
  assert_false (builder_ignore_excluded (ig, "baz!!!"));
  builder_ignore_free (ig);
}

static char *
repeat (const char *unit, size_t times, const char *tail)
{
  size_t ul = strlen (unit), tl = strlen (tail);
  char *s = malloc (ul * times + tl + 1);

  assert_non_null (s);
  for (size_t i = 0; i < times; i++)
    memcpy (s + i * ul, unit, ul);
  memcpy (s + ul * times, tail, tl + 1);
  return s;
}

static void
test_file_size_cap (void **state)
{
  struct builder_ignore *ig = NULL;
  struct hoist_error *err = NULL;
  /* BUILDER_IGNORE_MAX bytes of comments, then one byte more. */
  char *text = repeat ("#234567\n", BUILDER_IGNORE_MAX / 8, "x");

  (void) state;
  ig = parse_ok (text, BUILDER_IGNORE_MAX);
  assert_int_equal (builder_ignore_count (ig), 0);
  builder_ignore_free (ig);
  ig = NULL;
  assert_true (builder_ignore_parse (text, BUILDER_IGNORE_MAX + 1, &ig, &err) < 0);
  assert_null (ig);
  assert_string_equal (err->msg, "'.dockerignore' is too large: 1048577 bytes (limit 1048576)");
  hoist_error_free (err);
  free (text);
}

static void
test_pattern_length_cap (void **state)
{
  struct builder_ignore *ig = NULL;
  struct hoist_error *err = NULL;
  char *longest = repeat ("a", BUILDER_IGNORE_PATTERN_MAX, "");
  char *too_long = repeat ("a", BUILDER_IGNORE_PATTERN_MAX, "*");
  /* Comment lines are not patterns and have no cap of their own. */
  char *comment = repeat ("#", BUILDER_IGNORE_PATTERN_MAX * 2, "");

  (void) state;
  ig = parse_ok (longest, strlen (longest));
  assert_true (builder_ignore_excluded (ig, longest));
  builder_ignore_free (ig);
  ig = parse_ok (comment, strlen (comment));
  builder_ignore_free (ig);
  ig = NULL;
  assert_true (builder_ignore_parse (too_long, strlen (too_long), &ig, &err) < 0);
  assert_null (ig);
  assert_string_equal (err->msg, "'.dockerignore' line 1: pattern too long: 4097 bytes (limit 4096)");
  hoist_error_free (err);
  free (longest);
  free (too_long);
  free (comment);
}

static void
test_pattern_count_cap (void **state)
{
  struct builder_ignore *ig = NULL;
  struct hoist_error *err = NULL;
  char *most = repeat ("a\n", BUILDER_IGNORE_PATTERNS_MAX, "");
  char *too_many = repeat ("a\n", BUILDER_IGNORE_PATTERNS_MAX, "# still fine\nb\n");

  (void) state;
  ig = parse_ok (most, strlen (most));
  assert_int_equal (builder_ignore_count (ig), BUILDER_IGNORE_PATTERNS_MAX);
  builder_ignore_free (ig);
  ig = NULL;
  assert_true (builder_ignore_parse (too_many, strlen (too_many), &ig, &err) < 0);
  assert_null (ig);
  assert_string_equal (err->msg, "'.dockerignore' line 16386: too many patterns (limit 16384)");
  hoist_error_free (err);
  free (most);
  free (too_many);
}

static double
seconds_since (const struct timespec *t0)
{
  struct timespec t1;

  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A backtracking matcher takes exponential time on these; the automaton
 * takes path length x pattern length.  The bound is generous so that
 * sanitizer builds on a slow machine pass too. */
static void
test_pathological_patterns (void **state)
{
  struct builder_ignore *ig;
  struct timespec t0;
  char *path = repeat ("a", 4000, "");
  char *deep = repeat ("a/", 1500, "c");
  char *stars = repeat ("*a", 1000, "*b");
  char *dstars = repeat ("**/a", 500, "/b");
  char *text = hoist_xasprintf ("*a*a*a*a*a*a*a*a*b\n%s\n%s\n**/**/**/**/**/**/x\na**a**a**a**a**b\na\n!%s", stars,
                                dstars, dstars);

  (void) state;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  ig = parse_ok (text, strlen (text));
  assert_int_equal (builder_ignore_count (ig), 7);
  for (int i = 0; i < 3; i++)
    {
      assert_false (builder_ignore_excluded (ig, path));
      assert_true (builder_ignore_excluded (ig, deep));
      assert_true (builder_ignore_must_descend (ig, deep));
    }
  assert_true (seconds_since (&t0) < 10.0);
  builder_ignore_free (ig);
  free (path);
  free (deep);
  free (stars);
  free (dstars);
  free (text);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_match_table),
    cmocka_unit_test (test_error_table),
    cmocka_unit_test (test_descend_table),
    cmocka_unit_test (test_count),
    cmocka_unit_test (test_not_nul_terminated),
    cmocka_unit_test (test_file_size_cap),
    cmocka_unit_test (test_pattern_length_cap),
    cmocka_unit_test (test_pattern_count_cap),
    cmocka_unit_test (test_pathological_patterns),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
