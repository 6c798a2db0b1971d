/* ignore_pattern.h — private to builder/: one .dockerignore pattern,
 * compiled and matched as moby/patternmatcher matches it (see
 * ignore_pattern.c).  dockerignore.c reads the file, normalises each line,
 * keeps the '!' of an exception to itself and calls these.  Not a public
 * API: only builder's own sources define BUILDER_INTERNAL before including
 * it.
 *
 * A pattern's text and the paths it is matched against are byte ranges
 * with a length, not C strings: either may hold NUL bytes.  Paths are
 * '/'-separated and matched as given; the reader decides about the root
 * ("" or ".") itself.  Errors are static strings that name the problem
 * only ("trailing backslash"); the reader adds the line. */
#ifndef HOIST_BUILDER_IGNORE_PATTERN_H
#define HOIST_BUILDER_IGNORE_PATTERN_H

#ifndef BUILDER_INTERNAL
#error "ignore_pattern.h is private to builder/"
#endif

#include "common/common.h"

struct ignore_pattern;

/* Check TEXT (LEN bytes, as the reader cleaned it, without the '!') against
 * filepath.Match's grammar as Docker does, and compile it.  Returns NULL
 * with *OUT a new pattern, which the caller owns and frees with
 * ignore_pattern_free; TEXT is copied.  Otherwise returns why TEXT is
 * malformed (a static string), and *OUT is untouched.  LEN is at most
 * BUILDER_IGNORE_PATTERN_MAX (builder.h), which bounds the matcher's state
 * sets; a longer TEXT is refused. */
const char *ignore_pattern_new (const char *text, size_t len, struct ignore_pattern **out) HOIST_WUR;

/* Free P and all it holds.  P may be NULL. */
void ignore_pattern_free (struct ignore_pattern *p);
void ignore_pattern_freep (struct ignore_pattern **p);
#define cleanup_ignore_pattern __attribute__ ((cleanup (ignore_pattern_freep)))

/* Whether P matches PATH (N bytes) or one of its parent directories, as
 * patternmatcher's MatchesOrParentMatches.  Time is linear in N whatever
 * the pattern; nothing is allocated. */
bool ignore_pattern_matches (const struct ignore_pattern *p, const char *path, size_t n);

/* Whether P could match some path strictly below the directory DIR (N
 * bytes): an exception that cannot is not worth descending into an
 * excluded DIR for.  May answer true for a P that matches nothing there
 * (a class that matches no character at all), never false wrongly. */
bool ignore_pattern_reaches_below (const struct ignore_pattern *p, const char *dir, size_t n);

#endif
