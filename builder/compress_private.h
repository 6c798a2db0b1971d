/* compress_private.h — private to builder/: the byte sink under the layer
 * writer.  Tar bytes go in; the compressed blob goes to a file descriptor;
 * the tar's digest (diff_id), the blob's digest and the blob's size come
 * out, all computed in the same pass.  Not a public API: only builder's own
 * sources define BUILDER_INTERNAL before including it. */
#ifndef HOIST_BUILDER_COMPRESS_PRIVATE_H
#define HOIST_BUILDER_COMPRESS_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "compress_private.h is private to builder/"
#endif

#include "builder/builder.h"

/* gzip layers are cut into chunks of this many tar bytes, each compressed
 * on its own into one gzip member.  Only the tar bytes decide where a cut
 * falls, so the blob does not depend on the number of threads.  1 MiB
 * costs under 0.1% of ratio against one stream and keeps memory small. */
#define BUILDER_GZIP_CHUNK (1024u * 1024)

/* Largest number of compression threads a sink starts. */
#define BUILDER_COMPRESS_THREADS_MAX 64u

struct builder_sink;

/* Start a sink that writes the blob to OUT_FD (borrowed: never closed,
 * written from its current offset).  LEVEL and THREADS must already be
 * resolved (builder_sink_resolve).  On success *OUT is owned by the caller
 * and its threads are running. */
int builder_sink_new (int out_fd, enum builder_compression compression, int level, unsigned threads,
                      struct builder_sink **out, struct hoist_error **err) HOIST_WUR;

/* Turn the caller's options into the values a sink runs with: level 0
 * becomes the default of the algorithm, threads 0 the number of online
 * CPUs.  Fails on a level the algorithm does not offer. */
int builder_sink_resolve (enum builder_compression compression, int *level, unsigned *threads,
                          struct hoist_error **err) HOIST_WUR;

/* Feed N tar bytes.  Blocks while the compression threads are all busy
 * (that is what bounds memory).  After a failure every later call fails
 * with the same message. */
int builder_sink_write (struct builder_sink *s, const void *p, size_t n, struct hoist_error **err) HOIST_WUR;

/* Compress and write what is left, and fill RES.  The sink can only be
 * freed after, whatever the result. */
int builder_sink_finish (struct builder_sink *s, struct builder_layer_result *res, struct hoist_error **err) HOIST_WUR;

/* Stop the threads and free everything; what was not yet written is
 * dropped.  NULL is allowed. */
void builder_sink_free (struct builder_sink *s);

#endif
