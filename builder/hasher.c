/* hasher.c — the layer sink's ordered digest-and-write thread.
 *
 * A layer's bytes are hashed twice (the tar for the diff_id, the blob for
 * the digest) and the blob is written out.  SHA-256 cannot be split across
 * threads, and on the caller's thread it costs as much as reading the
 * files: the caller was the bottleneck while the compression threads
 * idled.  So both digests and the write run here, on one thread of their
 * own, in the order the caller queues them.
 *
 * The caller queues spans of its own memory and gets a ticket for each; a
 * span must stay unchanged until hasher_wait has returned for its ticket
 * (or any later one: tickets complete in order).  The queue is a small
 * ring: hasher_push blocks while it is full, which bounds how far the
 * caller runs ahead.  A failed write is kept; the spans queued after it are
 * skipped, and every later wait reports it. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/hasher_private.h"

#define RING 64

struct span
{
  const unsigned char *p;
  size_t n;
  unsigned what; /* HASHER_TAR | HASHER_BLOB */
};

struct hasher
{
  pthread_mutex_t lock;
  pthread_cond_t queued; /* a span was queued, or stop was set */
  pthread_cond_t done;   /* a span is done */
  pthread_t thread;
  bool started;
  bool stop; /* hasher_free: drop what is queued and end */
  struct span ring[RING];
  uint64_t pushed; /* tickets handed out; under the lock */
  uint64_t finished; /* tickets done; under the lock */
  int fd;
  bool blob_digest; /* false: the blob is the tar, one digest serves */
  struct hoist_sha256 tar;
  struct hoist_sha256 blob;
  bool digests_ready;
  int64_t size;
  int write_errno; /* the first failed write; under the lock once set */
};

static int
write_all (int fd, const unsigned char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return errno;
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

static void *
hasher_main (void *arg)
{
  struct hasher *h = arg;

  for (;;)
    {
      struct span sp;
      int failed;

      pthread_mutex_lock (&h->lock);
      while (!h->stop && h->finished == h->pushed)
        pthread_cond_wait (&h->queued, &h->lock);
      /* Stopping drops what is left: the layer is being abandoned. */
      if (h->stop)
        {
          pthread_mutex_unlock (&h->lock);
          return NULL;
        }
      sp = h->ring[h->finished % RING];
      failed = h->write_errno;
      pthread_mutex_unlock (&h->lock);

      if (failed == 0)
        {
          if (sp.what & HASHER_TAR)
            hoist_sha256_update (&h->tar, sp.p, sp.n);
          if (sp.what & HASHER_BLOB)
            {
              if (h->blob_digest)
                hoist_sha256_update (&h->blob, sp.p, sp.n);
              h->size += (int64_t) sp.n;
              failed = write_all (h->fd, sp.p, sp.n);
            }
        }

      pthread_mutex_lock (&h->lock);
      if (failed != 0 && h->write_errno == 0)
        h->write_errno = failed;
      h->finished++;
      pthread_cond_broadcast (&h->done);
      pthread_mutex_unlock (&h->lock);
    }
}

int
hasher_new (int fd, bool blob_digest, struct hasher **out, struct hoist_error **err)
{
  struct hasher *h = hoist_xcalloc (1, sizeof *h);
  int r;

  pthread_mutex_init (&h->lock, NULL);
  pthread_cond_init (&h->queued, NULL);
  pthread_cond_init (&h->done, NULL);
  h->fd = fd;
  h->blob_digest = blob_digest;
  if (hoist_sha256_init (&h->tar, err) < 0)
    goto fail;
  if (hoist_sha256_init (&h->blob, err) < 0)
    {
      hoist_sha256_release (&h->tar);
      goto fail;
    }
  h->digests_ready = true;
  r = pthread_create (&h->thread, NULL, hasher_main, h);
  if (r != 0)
    {
      hoist_error_set (err, r, "cannot start the digest thread");
      goto fail;
    }
  h->started = true;
  *out = h;
  return 0;

fail:
  hasher_free (h);
  return -1;
}

uint64_t
hasher_push (struct hasher *h, unsigned what, const void *p, size_t n)
{
  uint64_t ticket;

  pthread_mutex_lock (&h->lock);
  while (h->pushed - h->finished == RING)
    pthread_cond_wait (&h->done, &h->lock);
  h->ring[h->pushed % RING] = (struct span){ p, n, what };
  ticket = ++h->pushed;
  pthread_cond_signal (&h->queued);
  pthread_mutex_unlock (&h->lock);
  return ticket;
}

int
hasher_wait (struct hasher *h, uint64_t ticket, struct hoist_error **err)
{
  int failed;

  pthread_mutex_lock (&h->lock);
  while (h->finished < ticket)
    pthread_cond_wait (&h->done, &h->lock);
  failed = h->write_errno;
  pthread_mutex_unlock (&h->lock);
  if (failed != 0)
    return hoist_error_set (err, failed, "cannot write the layer blob");
  return 0;
}

int
hasher_finish (struct hasher *h, struct builder_layer_result *res, struct hoist_error **err)
{
  uint64_t last;

  pthread_mutex_lock (&h->lock);
  last = h->pushed;
  pthread_mutex_unlock (&h->lock);
  if (hasher_wait (h, last, err) < 0)
    return -1;
  hoist_sha256_final (&h->tar, res->diff_id);
  if (h->blob_digest)
    hoist_sha256_final (&h->blob, res->digest);
  else
    memcpy (res->digest, res->diff_id, sizeof res->digest);
  res->size = h->size;
  return 0;
}

void
hasher_free (struct hasher *h)
{
  if (h == NULL)
    return;
  if (h->started)
    {
      pthread_mutex_lock (&h->lock);
      h->stop = true;
      pthread_cond_signal (&h->queued);
      pthread_mutex_unlock (&h->lock);
      pthread_join (h->thread, NULL);
    }
  if (h->digests_ready)
    {
      hoist_sha256_release (&h->tar);
      hoist_sha256_release (&h->blob);
    }
  pthread_cond_destroy (&h->queued);
  pthread_cond_destroy (&h->done);
  pthread_mutex_destroy (&h->lock);
  free (h);
}
