/* shell_pattern.h — private to builder/: the glob patterns of Docker's
 * ${VAR#p} ${VAR%p} ${VAR/p/r}, matched as the Go regexps BuildKit makes
 * of them (see shell_pattern.c).  shell_words.c scans the word and calls
 * these.  Not a public API: only builder's own sources define
 * BUILDER_INTERNAL before including it.
 *
 * A PATTERN is text as the lexer kept it for a pattern (escape chars
 * kept): '*' is any run of characters but '\n', '?' one character but
 * '\n', "\*" "\?" "\\" are literal, '\' before '}' or '/' is dropped, and
 * any other character after '\' is an error.
 *
 * Errors: the matching functions fail with a message that names the
 * problem only, and the caller adds which input it was (shell_words.c
 * makes it "PROBLEM in 'WORD'"):
 *   "invalid escape in pattern 'PATTERN'"  status 0, returns -1;
 *   "pattern matching needs more than N steps"  status E2BIG, -E2BIG;
 *   "word longer than N bytes" (N is OUT's limit)  status E2BIG, -E2BIG.
 *
 * Work limit: *STEPS is the matching work spent so far (in) and after the
 * call (out), so one count can cover every pattern of a word; a call that
 * would take it past BUILDER_SHELL_MATCH_STEPS_MAX (shell_words.h) fails
 * with E2BIG. */
#ifndef HOIST_BUILDER_SHELL_PATTERN_H
#define HOIST_BUILDER_SHELL_PATTERN_H

#ifndef BUILDER_INTERNAL
#error "shell_pattern.h is private to builder/"
#endif

#include "common/common.h"

/* ${VAR#p} ${VAR##p} (SUFFIX false) and ${VAR%p} ${VAR%%p} (SUFFIX true):
 * append to OUT the VALUE without the shortest (or, when GREEDY, the
 * longest) match of PATTERN at its start (or end); VALUE unchanged when
 * nothing matches.  VALUE and PATTERN are borrowed.  Returns 0, or
 * negative with *ERR set as above; OUT may then hold part of the result. */
int builder_pattern_trim (const char *value, const char *pattern, bool suffix, bool greedy, size_t *steps,
                          struct hoist_buf *out, struct hoist_error **err) HOIST_WUR;

/* ${VAR/p/r} (ALL false): append to OUT the VALUE with its first match of
 * PATTERN replaced by REP taken literally.  ${VAR//p/r} (ALL true): every
 * match replaced as Go's Regexp.ReplaceAllString does, REP expanded as a
 * template ("$$" is '$', "$0" and "${0}" the match, other references
 * nothing).  Stars take the longest run.  Strings are borrowed.  Returns
 * 0, or negative with *ERR set as above; OUT may then hold part of the
 * result. */
int builder_pattern_replace (const char *value, const char *pattern, const char *rep, bool all, size_t *steps,
                             struct hoist_buf *out, struct hoist_error **err) HOIST_WUR;

#endif
