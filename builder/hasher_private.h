/* hasher_private.h — private to builder/: the layer sink's ordered
 * digest-and-write thread (see hasher.c).  Not a public API. */
#ifndef HOIST_BUILDER_HASHER_PRIVATE_H
#define HOIST_BUILDER_HASHER_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "hasher_private.h is private to builder/"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "builder/builder.h"

/* What the thread does with a span: TAR goes into the diff_id; BLOB into
 * the blob's digest and size, then to the file descriptor.  Both at once
 * for an uncompressed layer. */
#define HASHER_TAR 1u
#define HASHER_BLOB 2u

struct hasher;

/* Start the thread.  Blob spans are written to FD (borrowed).  Without
 * BLOB_DIGEST the blob is the tar and the diff_id serves as its digest. */
int hasher_new (int fd, bool blob_digest, struct hasher **out, struct hoist_error **err) HOIST_WUR;

/* Queue N bytes at P (WHAT: HASHER_TAR and/or HASHER_BLOB).  P must stay
 * unchanged until hasher_wait returns for the ticket returned (or a later
 * one).  Blocks while the queue is full; never fails: a write error is
 * reported by hasher_wait. */
uint64_t hasher_push (struct hasher *h, unsigned what, const void *p, size_t n);

/* Wait until every span up to TICKET is done (0: nothing to wait for).
 * Fails if a write has failed. */
int hasher_wait (struct hasher *h, uint64_t ticket, struct hoist_error **err) HOIST_WUR;

/* Wait for everything queued and fill RES's diff_id, digest and size. */
int hasher_finish (struct hasher *h, struct builder_layer_result *res, struct hoist_error **err) HOIST_WUR;

/* Stop the thread, dropping what is still queued.  NULL is allowed. */
void hasher_free (struct hasher *h);

#endif
