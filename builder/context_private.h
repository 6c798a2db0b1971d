/* context_private.h — internals shared by the build context's sources:
 * context.c (open, walk, lookup, open_file), context_match.c (COPY source
 * resolution and wildcards) and context_digest.c (content digests and
 * their cache).  Not part of builder's API: include builder.h instead. */
#ifndef HOIST_BUILDER_CONTEXT_PRIVATE_H
#define HOIST_BUILDER_CONTEXT_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "context_private.h is private to builder/"
#endif

#include <sys/stat.h>

#include "builder/builder.h"
#include "builder/path_private.h"

/* What is known of an entry's content digest. */
enum ctx_digest_state
{
  CTX_DIGEST_NONE = 0,
  CTX_DIGEST_CACHED,   /* from a cache record that matched the walk */
  CTX_DIGEST_COMPUTED, /* read here, and safe to write to the cache */
  CTX_DIGEST_RACY,     /* read here, but too soon after a change to cache */
};

struct ctx_digest
{
  char digest[HOIST_DIGEST_STR_SIZE];
  unsigned char state; /* enum ctx_digest_state */
};

struct builder_context
{
  int root_fd;    /* O_PATH | O_DIRECTORY, held from open to free */
  char *dir;      /* as given */
  char *real_dir; /* realpath (dir) at open, for the cache name */
  struct builder_context_entry root;
  struct builder_context_entry *entries; /* walk order */
  size_t n;
  struct ctx_digest *digests; /* N of them, parallel to ENTRIES */
  struct builder_context_stats stats;
};

/* Position of E in CTX->entries, or (size_t) -1 when E is not one of them
 * (the root included). */
size_t ctx_entry_index (const struct builder_context *ctx, const struct builder_context_entry *e);

/* Open the regular file E for reading, as builder_context_open_file does
 * once it has found E. */
int ctx_open_entry (struct builder_context *ctx, const struct builder_context_entry *e, int *fd,
                    struct hoist_error **err) HOIST_WUR;

/* True when ST still describes the file E: same inode, type, size, mtime
 * and ctime. */
bool ctx_entry_unchanged (const struct builder_context_entry *e, const struct stat *st);

/* The standard refusal for a file that is no longer what the walk saw. */
int ctx_changed (struct hoist_error **err, const char *path);

#endif
