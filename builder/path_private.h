/* path_private.h — path helpers shared by more than one of builder's
 * modules (the build context, COPY/ADD sources, the layer writer).  Paths
 * here are '/'-separated and relative.  Not part of builder's API: include
 * builder.h instead. */
#ifndef HOIST_BUILDER_PATH_PRIVATE_H
#define HOIST_BUILDER_PATH_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "path_private.h is private to builder/"
#endif

#include <stdbool.h>
#include <stddef.h>

/* True when PATH is relative, not empty, and has no empty, "." or ".."
 * component (so no leading, doubled or trailing '/'). */
bool builder_path_clean (const char *path);

/* fsutil's containsWildcards: true when the N bytes at S hold an unquoted
 * '*', '?' or '['; '\' quotes the byte after it. */
bool builder_path_has_wildcard (const char *s, size_t n);

/* The length of the leading components of CLEAN that have no wildcard
 * (builder_path_has_wildcard), each with the '/' after it: CLEAN + the
 * result is the first component with a wildcard, or the end of CLEAN
 * when there is none. */
size_t builder_path_literal_prefix (const char *clean);

#endif
