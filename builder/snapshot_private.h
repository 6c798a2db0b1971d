/* snapshot_private.h — private to builder/: what a RUN step changed in a
 * root file system, as an OCI layer.  Before the step, builder_snapshot_take
 * records every entry's metadata; after it, builder_snapshot_diff walks
 * again and writes the additions, modifications and deletions (whiteouts)
 * to a layer writer.  Not a public API. */
#ifndef HOIST_BUILDER_SNAPSHOT_PRIVATE_H
#define HOIST_BUILDER_SNAPSHOT_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "snapshot_private.h is private to builder/"
#endif

#include "builder/builder.h"

struct builder_snapshot;

struct builder_snapshot_stats
{
  size_t entries; /* walked after the step */
  size_t added;   /* new paths */
  size_t changed; /* content or metadata */
  size_t removed; /* whiteouts written */
  size_t opaque;  /* opaque directories written */
  uint64_t bytes; /* file content written */
};

/* Record the tree under ROOT (an absolute directory; never followed
 * through symlinks, never leaving its file system): for every entry its
 * path, type, mode, uid, gid, size, mtime and ctime (ns), inode, device
 * (of a device node), link target and security.capability.  *OUT is the
 * caller's (builder_snapshot_free).  Fails on an unreadable directory. */
int builder_snapshot_take (const char *root, struct builder_snapshot **out, struct hoist_error **err) HOIST_WUR;
void builder_snapshot_free (struct builder_snapshot *s);

/* Walk ROOT again and add to W, in layer order (builder_layer_path_cmp),
 * what changed since BEFORE:
 *  - a new path, or one whose type, content (size, mtime or ctime), mode,
 *    owner, link target, device or security.capability changed: the entry
 *    (a regular file with its content; a directory with its metadata);
 *  - a path gone: a whiteout ".wh.NAME" in its parent (one for a whole
 *    removed directory, none for what was below it);
 *  - a directory that replaced another (new inode) or a non-directory:
 *    the directory, then ".wh..wh..opq" in it, then all it holds;
 *  - files of one inode written in this layer: the first as a file, the
 *    others as hard links to it.
 * A parent directory of a changed path is written too when it changed
 * itself (as Docker's diff does); an unchanged parent is not.  Owners are
 * the ids stat gives: a rootless build runs in a user namespace whose ids
 * are the container's (sandbox_userns_enter).  STATS may be NULL. */
int builder_snapshot_diff (const struct builder_snapshot *before, const char *root, struct builder_layer_writer *w,
                           struct builder_snapshot_stats *stats, struct hoist_error **err) HOIST_WUR;

#endif
