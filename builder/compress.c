/* compress.c — the byte sink under the layer writer: tar bytes in, a
 * gzip, zstd or plain blob out to a file descriptor, with the sha256 of
 * both sides computed in the same pass.
 *
 * gzip: the tar is cut into BUILDER_GZIP_CHUNK-byte chunks and each chunk
 * becomes one complete gzip member (RFC 1952 allows any number in a row;
 * gzip -d, Go's compress/gzip, pigz and containerd read them as one
 * stream).  Chunks are independent, so a pool of threads compresses them
 * in parallel, and the caller's thread writes them out in order.  Where a
 * chunk is cut depends on the tar bytes alone, so the blob is the same
 * whatever the number of threads.  A ring of two chunks per thread bounds
 * memory: when the ring is full, the writer waits for the oldest chunk.
 * The deflate coder is libdeflate when the build has it (about twice as
 * fast as zlib at level 6, and a slightly better ratio), zlib otherwise;
 * the two make different bytes, so a build uses one or the other.
 *
 * zstd: libzstd's own streaming compressor with at least one worker
 * thread.  zstd's output is the same for every nbWorkers >= 1 but differs
 * with nbWorkers 0, so 0 is never used.
 *
 * Uncompressed: the tar is the blob, and one digest serves as both.
 *
 * Both digests and the write of the blob run on the hasher's thread
 * (hasher.c), in order, so the caller's thread only reads files and
 * builds the tar.  The tar bytes are hashed where they already sit: in
 * the gzip chunks, or in a ring of stages for zstd and plain. */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

#include "builder/compress_private.h"
#include "builder/hasher_private.h"

#define GZIP_LEVEL_DEFAULT 6
#define ZSTD_LEVEL_DEFAULT 3

#define ZSTD_JOB_SIZE (2 * 1024 * 1024)
#define ZSTD_OVERLAP_LOG 8

#define GZIP_HEADER_SIZE 10
#define GZIP_TRAILER_SIZE 8
/* A stored deflate block holds at most this much. */
#define STORED_BLOCK_MAX 65535u

/* The incompressible-chunk test: a level-1 pass over this many samples of
 * this size, spread over the chunk.  Already compressed files (images,
 * archives, many binaries' sections) are a large share of real layers;
 * deflating them at level 6 costs as much as text and gains nothing. */
#define TRIAL_SAMPLES 4
#define TRIAL_SAMPLE_SIZE (32u * 1024)

/* Bytes the plain and zstd sinks gather before a write(2) or a call into
 * libzstd: tar headers come 512 bytes at a time. */
#define STAGE_SIZE (128u * 1024)

/* Stages and zstd output buffers in flight on the hasher's thread. */
#define STAGES 8
#define ZOUTS 8

/* ---------------------------------------------------------------------
 * The deflate coder: one per worker thread, never shared
 * ------------------------------------------------------------------- */

struct deflater
{
#ifdef HAVE_LIBDEFLATE
  struct libdeflate_compressor *full;
  struct libdeflate_compressor *trial;
#else
  z_stream full;
  z_stream trial;
  bool full_ready;
  bool trial_ready;
#endif
  unsigned char *scratch; /* TRIAL_SAMPLE_SIZE bytes for the trial's output */
};

static int
deflater_init (struct deflater *d, int level, struct hoist_error **err)
{
  d->scratch = hoist_xmalloc (TRIAL_SAMPLE_SIZE);
#ifdef HAVE_LIBDEFLATE
  d->full = libdeflate_alloc_compressor (level);
  d->trial = libdeflate_alloc_compressor (1);
  if (d->full == NULL || d->trial == NULL)
    return hoist_error_set (err, ENOMEM, "cannot create a deflate compressor");
#else
  /* Raw deflate (negative window bits): the gzip framing is ours. */
  if (deflateInit2 (&d->full, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return hoist_error_set (err, ENOMEM, "cannot create a deflate compressor");
  d->full_ready = true;
  if (deflateInit2 (&d->trial, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return hoist_error_set (err, ENOMEM, "cannot create a deflate compressor");
  d->trial_ready = true;
#endif
  return 0;
}

static void
deflater_release (struct deflater *d)
{
#ifdef HAVE_LIBDEFLATE
  libdeflate_free_compressor (d->full);
  libdeflate_free_compressor (d->trial);
#else
  if (d->full_ready)
    deflateEnd (&d->full);
  if (d->trial_ready)
    deflateEnd (&d->trial);
#endif
  free (d->scratch);
  memset (d, 0, sizeof *d);
}

/* Raw-deflate IN into at most CAP bytes of OUT.  Returns the size, or 0
 * when it does not fit: the caller then stores the data instead. */
static size_t
deflate_into (struct deflater *d, bool trial, const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
#ifdef HAVE_LIBDEFLATE
  return libdeflate_deflate_compress (trial ? d->trial : d->full, in, n, out, cap);
#else
  z_stream *z = trial ? &d->trial : &d->full;

  /* Chunks are far below 4 GiB, so the uInt counts cannot overflow. */
  deflateReset (z);
  z->next_in = (Bytef *) in;
  z->avail_in = (uInt) n;
  z->next_out = out;
  z->avail_out = (uInt) cap;
  if (deflate (z, Z_FINISH) != Z_STREAM_END)
    return 0;
  return cap - z->avail_out;
#endif
}

static uint32_t
crc32_of (const unsigned char *p, size_t n)
{
#ifdef HAVE_LIBDEFLATE
  return libdeflate_crc32 (0, p, n);
#else
  return (uint32_t) crc32 (0L, p, (uInt) n);
#endif
}

/* What N bytes take as stored deflate blocks (a 5-byte header each). */
static size_t
stored_size (size_t n)
{
  size_t blocks = n == 0 ? 1 : (n + STORED_BLOCK_MAX - 1) / STORED_BLOCK_MAX;

  return n + 5 * blocks;
}

static size_t
store_into (const unsigned char *in, size_t n, unsigned char *out)
{
  unsigned char *o = out;

  do
    {
      size_t len = n < STORED_BLOCK_MAX ? n : STORED_BLOCK_MAX;

      /* BFINAL on the last block, BTYPE 00; a stored block starts on a
       * byte boundary, so the rest of the first byte is padding. */
      *o++ = len == n ? 1 : 0;
      *o++ = len & 0xff;
      *o++ = len >> 8;
      *o++ = ~len & 0xff;
      *o++ = (~len >> 8) & 0xff;
      memcpy (o, in, len);
      o += len;
      in += len;
      n -= len;
    }
  while (n > 0);
  return o - out;
}

/* True when some sample shrinks by at least 1/32 at level 1. */
static bool
worth_deflating (struct deflater *d, const unsigned char *in, size_t n)
{
  for (size_t i = 0; i < TRIAL_SAMPLES; i++)
    {
      size_t off = n / TRIAL_SAMPLES * i;
      size_t len = n - off < TRIAL_SAMPLE_SIZE ? n - off : TRIAL_SAMPLE_SIZE;

      if (len > 0 && deflate_into (d, true, in + off, len, d->scratch, len - len / 32) > 0)
        return true;
    }
  return false;
}

static void
put_le32 (unsigned char *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

/* OUT must hold gzip_member_bound (N).  The header is fixed, as gzip -n
 * writes it but with OS 255 ("unknown"), so no field depends on the
 * machine: no name, mtime 0, XFL as zlib sets it for the level. */
static size_t
gzip_member (struct deflater *d, int level, const unsigned char *in, size_t n, unsigned char *out)
{
  unsigned char *body = out + GZIP_HEADER_SIZE;
  size_t cap = stored_size (n);
  size_t len = 0;

  out[0] = 0x1f;
  out[1] = 0x8b;
  out[2] = 8; /* deflate */
  out[3] = 0; /* no flags */
  put_le32 (out + 4, 0);
  out[8] = level >= 9 ? 2 : level == 1 ? 4 : 0;
  out[9] = 255;
  if (worth_deflating (d, in, n))
    len = deflate_into (d, false, in, n, body, cap);
  if (len == 0)
    len = store_into (in, n, body);
  put_le32 (body + len, crc32_of (in, n));
  put_le32 (body + len + 4, (uint32_t) n);
  return GZIP_HEADER_SIZE + len + GZIP_TRAILER_SIZE;
}

static size_t
gzip_member_bound (size_t n)
{
  return GZIP_HEADER_SIZE + stored_size (n) + GZIP_TRAILER_SIZE;
}

/* ---------------------------------------------------------------------
 * The gzip chunk pool
 * ------------------------------------------------------------------- */

enum job_state
{
  JOB_FREE = 0, /* being filled by the writer, or empty */
  JOB_QUEUED,
  JOB_RUNNING,
  JOB_DONE, /* compressed, waiting to be written */
};

struct gz_job
{
  unsigned char *in; /* BUILDER_GZIP_CHUNK bytes, allocated on first use */
  size_t in_len;
  unsigned char *out; /* gzip_member_bound (BUILDER_GZIP_CHUNK) bytes */
  size_t out_len;
  enum job_state state; /* under the pool's lock */
  uint64_t tar_ticket;  /* the hasher is done with IN after this */
  uint64_t blob_ticket; /* the hasher is done with OUT after this */
};

struct gz_worker
{
  struct gz_pool *pool;
  struct deflater deflater;
  pthread_t thread;
  bool started;
};

struct gz_pool
{
  pthread_mutex_t lock;
  pthread_cond_t queued; /* a job was queued, or stop was set */
  pthread_cond_t done;   /* a job is done */
  bool stop;
  int level;
  /* A ring, filled and written in order: the job after the one being
   * filled is always the oldest one in flight. */
  struct gz_job *jobs;
  size_t n_jobs;
  size_t fill; /* the job the writer fills; the writer's alone */
  size_t take; /* the next job a worker takes; under the lock */
  struct gz_worker *workers;
  size_t n_workers;
};

static void *
gz_worker_main (void *arg)
{
  struct gz_worker *wk = arg;
  struct gz_pool *pool = wk->pool;

  for (;;)
    {
      struct gz_job *job;

      pthread_mutex_lock (&pool->lock);
      while (!pool->stop && pool->jobs[pool->take].state != JOB_QUEUED)
        pthread_cond_wait (&pool->queued, &pool->lock);
      if (pool->stop)
        {
          pthread_mutex_unlock (&pool->lock);
          return NULL;
        }
      job = &pool->jobs[pool->take];
      pool->take = (pool->take + 1) % pool->n_jobs;
      job->state = JOB_RUNNING;
      pthread_mutex_unlock (&pool->lock);

      job->out_len = gzip_member (&wk->deflater, pool->level, job->in, job->in_len, job->out);

      pthread_mutex_lock (&pool->lock);
      job->state = JOB_DONE;
      pthread_cond_broadcast (&pool->done);
      pthread_mutex_unlock (&pool->lock);
    }
}

static void
gz_pool_free (struct gz_pool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->lock);
  pool->stop = true;
  pthread_cond_broadcast (&pool->queued);
  pthread_mutex_unlock (&pool->lock);
  for (size_t i = 0; i < pool->n_workers; i++)
    {
      if (pool->workers[i].started)
        pthread_join (pool->workers[i].thread, NULL);
      deflater_release (&pool->workers[i].deflater);
    }
  for (size_t i = 0; i < pool->n_jobs; i++)
    {
      free (pool->jobs[i].in);
      free (pool->jobs[i].out);
    }
  free (pool->jobs);
  free (pool->workers);
  pthread_cond_destroy (&pool->queued);
  pthread_cond_destroy (&pool->done);
  pthread_mutex_destroy (&pool->lock);
  free (pool);
}

static int
gz_pool_new (int level, unsigned threads, struct gz_pool **out, struct hoist_error **err)
{
  struct gz_pool *pool = hoist_xcalloc (1, sizeof *pool);

  pthread_mutex_init (&pool->lock, NULL);
  pthread_cond_init (&pool->queued, NULL);
  pthread_cond_init (&pool->done, NULL);
  pool->level = level;
  /* Two chunks per thread: one being compressed, one queued behind it
   * (or waiting to be written) so no thread idles while the writer fills. */
  pool->n_jobs = 2 * (size_t) threads;
  pool->jobs = hoist_xcalloc (pool->n_jobs, sizeof *pool->jobs);
  pool->n_workers = threads;
  pool->workers = hoist_xcalloc (threads, sizeof *pool->workers);
  for (size_t i = 0; i < pool->n_workers; i++)
    {
      struct gz_worker *wk = &pool->workers[i];
      int r;

      wk->pool = pool;
      if (deflater_init (&wk->deflater, level, err) < 0)
        {
          gz_pool_free (pool);
          return -1;
        }
      r = pthread_create (&wk->thread, NULL, gz_worker_main, wk);
      if (r != 0)
        {
          gz_pool_free (pool);
          return hoist_error_set (err, r, "cannot start a compression thread");
        }
      wk->started = true;
    }
  *out = pool;
  return 0;
}

/* ---------------------------------------------------------------------
 * The sink
 * ------------------------------------------------------------------- */

struct builder_sink
{
  enum builder_compression compression;
  struct hasher *hasher;
  struct hoist_error *failed; /* the first failure; every later call repeats it */
  struct gz_pool *gz;
  ZSTD_CCtx *zstd;
  /* plain and zstd input: a ring of STAGE_SIZE buffers, filled in turn */
  unsigned char *stage[STAGES];
  uint64_t stage_ticket[STAGES];
  size_t stage_cur;
  size_t stage_len;
  /* zstd output: a ring of zout_size buffers, filled in turn */
  unsigned char *zout[ZOUTS];
  uint64_t zout_ticket[ZOUTS];
  size_t zout_cur;
  size_t zout_pos;
  size_t zout_size;
};

int
builder_compression_parse (const char *name, enum builder_compression *out, struct hoist_error **err)
{
  if (strcmp (name, "gzip") == 0)
    *out = BUILDER_COMPRESSION_GZIP;
  else if (strcmp (name, "zstd") == 0)
    *out = BUILDER_COMPRESSION_ZSTD;
  else if (strcmp (name, "uncompressed") == 0 || strcmp (name, "none") == 0)
    *out = BUILDER_COMPRESSION_NONE;
  else
    return hoist_error_set (err, 0, "unknown compression '%s' (hint: gzip, zstd or uncompressed)", name);
  return 0;
}

const char *
builder_compression_media_type (enum builder_compression c)
{
  switch (c)
    {
    case BUILDER_COMPRESSION_ZSTD:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case BUILDER_COMPRESSION_NONE:
      return "application/vnd.oci.image.layer.v1.tar";
    case BUILDER_COMPRESSION_GZIP:
    default:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    }
}

int
builder_sink_resolve (enum builder_compression compression, int *level, unsigned *threads, struct hoist_error **err)
{
  int max = 0;

  switch (compression)
    {
    case BUILDER_COMPRESSION_GZIP:
      max = BUILDER_GZIP_LEVEL_MAX;
      if (*level == 0)
        *level = GZIP_LEVEL_DEFAULT;
      break;
    case BUILDER_COMPRESSION_ZSTD:
      max = BUILDER_ZSTD_LEVEL_MAX;
      if (*level == 0)
        *level = ZSTD_LEVEL_DEFAULT;
      break;
    case BUILDER_COMPRESSION_NONE:
      max = 0;
      *level = 0;
      break;
    default:
      return hoist_error_set (err, 0, "unknown compression %d", (int) compression);
    }
  if (*level < 0 || *level > max)
    return hoist_error_set (err, 0, "invalid %s level %d (hint: 1 to %d)",
                            compression == BUILDER_COMPRESSION_GZIP ? "gzip" : "zstd", *level, max);
  if (*threads == 0)
    {
      long n = sysconf (_SC_NPROCESSORS_ONLN);

      *threads = n > 0 ? (unsigned) n : 1;
    }
  if (*threads > BUILDER_COMPRESS_THREADS_MAX)
    *threads = BUILDER_COMPRESS_THREADS_MAX;
  return 0;
}

/* Latch a failure (the first one wins) so that every later call reports
 * it: a blob with a hole in it must never look finished. */
static void
sink_latch (struct builder_sink *s, int status, const char *msg)
{
  if (s->failed != NULL)
    return;
  s->failed = hoist_xcalloc (1, sizeof *s->failed);
  s->failed->status = status;
  s->failed->msg = hoist_xstrdup (msg);
}

static int
sink_fail (struct builder_sink *s, struct hoist_error **err)
{
  const struct hoist_error *e = err != NULL ? *err : NULL;

  sink_latch (s, e != NULL ? e->status : 0, e != NULL ? e->msg : "cannot write the layer");
  return e != NULL && e->status != 0 ? -e->status : -1;
}

static int
sink_failed (struct builder_sink *s, struct hoist_error **err)
{
  hoist_error_set (err, 0, "%s", s->failed->msg);
  if (err != NULL && *err != NULL)
    (*err)->status = s->failed->status;
  return s->failed->status != 0 ? -s->failed->status : -1;
}

/* Wait for JOB to be compressed, queue its member for the blob, and make
 * it free. */
static int
gz_drain (struct builder_sink *s, struct gz_job *job, struct hoist_error **err)
{
  struct gz_pool *pool = s->gz;

  pthread_mutex_lock (&pool->lock);
  if (job->state == JOB_FREE)
    {
      pthread_mutex_unlock (&pool->lock);
      return 0;
    }
  while (job->state != JOB_DONE)
    pthread_cond_wait (&pool->done, &pool->lock);
  /* Back to the writer: workers only look at QUEUED jobs. */
  job->state = JOB_FREE;
  pthread_mutex_unlock (&pool->lock);
  job->in_len = 0;
  job->blob_ticket = hasher_push (s->hasher, HASHER_BLOB, job->out, job->out_len);
  return 0;
}

/* Queue the job being filled, and make the next one ready to fill (it is
 * the oldest in flight: write it first). */
static int
gz_submit (struct builder_sink *s, struct hoist_error **err)
{
  struct gz_pool *pool = s->gz;
  struct gz_job *job = &pool->jobs[pool->fill];

  /* The worker will overwrite OUT, which the hasher may still be reading. */
  if (hasher_wait (s->hasher, job->blob_ticket, err) < 0)
    return -1;
  job->tar_ticket = hasher_push (s->hasher, HASHER_TAR, job->in, job->in_len);
  pthread_mutex_lock (&pool->lock);
  job->state = JOB_QUEUED;
  pthread_cond_broadcast (&pool->queued);
  pthread_mutex_unlock (&pool->lock);
  pool->fill = (pool->fill + 1) % pool->n_jobs;
  return gz_drain (s, &pool->jobs[pool->fill], err);
}

static int
gz_write (struct builder_sink *s, const unsigned char *p, size_t n, struct hoist_error **err)
{
  struct gz_pool *pool = s->gz;

  while (n > 0)
    {
      struct gz_job *job = &pool->jobs[pool->fill];
      size_t room;

      if (job->in == NULL)
        {
          job->in = hoist_xmalloc (BUILDER_GZIP_CHUNK);
          job->out = hoist_xmalloc (gzip_member_bound (BUILDER_GZIP_CHUNK));
        }
      if (job->in_len == 0 && hasher_wait (s->hasher, job->tar_ticket, err) < 0)
        return -1;
      room = BUILDER_GZIP_CHUNK - job->in_len;
      if (room > n)
        room = n;
      memcpy (job->in + job->in_len, p, room);
      job->in_len += room;
      p += room;
      n -= room;
      if (job->in_len == BUILDER_GZIP_CHUNK && gz_submit (s, err) < 0)
        return -1;
    }
  return 0;
}

static int
gz_finish (struct builder_sink *s, struct hoist_error **err)
{
  struct gz_pool *pool = s->gz;

  if (pool->jobs[pool->fill].in_len > 0 && gz_submit (s, err) < 0)
    return -1;
  /* From the oldest job in flight to the newest. */
  for (size_t i = 0; i < pool->n_jobs; i++)
    if (gz_drain (s, &pool->jobs[(pool->fill + i) % pool->n_jobs], err) < 0)
      return -1;
  return 0;
}

static int
zstd_start (struct builder_sink *s, int level, unsigned threads, struct hoist_error **err)
{
  size_t r;

  s->zstd = ZSTD_createCCtx ();
  if (s->zstd == NULL)
    return hoist_error_set (err, ENOMEM, "cannot create a zstd compressor");
  r = ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError (r))
    r = ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError (r))
    return hoist_error_set (err, 0, "cannot set up zstd: %s", ZSTD_getErrorName (r));
  /* Never 0 workers: that mode makes other bytes than every other count. */
  r = ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_nbWorkers, (int) threads);
  if (ZSTD_isError (r))
    return hoist_error_set (err, 0, "cannot use zstd with threads: %s (hint: libzstd must be built with threads)",
                            ZSTD_getErrorName (r));
  /* Jobs of 2 MiB instead of the level's default (8 MiB at level 3) keep
   * libzstd near 6 MiB + 5 MiB per thread; a larger overlap with the
   * previous job (1/2 window) wins back more ratio than the smaller jobs
   * lose: on the benchmark the blob is 0.7% smaller than `zstd -3 -T0`'s.
   * Both are set explicitly so that no default changes the bytes. */
  r = ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_jobSize, ZSTD_JOB_SIZE);
  if (!ZSTD_isError (r))
    r = ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_overlapLog, ZSTD_OVERLAP_LOG);
  if (ZSTD_isError (r))
    return hoist_error_set (err, 0, "cannot set up zstd: %s", ZSTD_getErrorName (r));
  s->zout_size = ZSTD_CStreamOutSize ();
  for (size_t i = 0; i < ZOUTS; i++)
    s->zout[i] = hoist_xmalloc (s->zout_size);
  return 0;
}

/* Queue the output buffer being filled and take the next one. */
static int
zout_next (struct builder_sink *s, struct hoist_error **err)
{
  s->zout_ticket[s->zout_cur] = hasher_push (s->hasher, HASHER_BLOB, s->zout[s->zout_cur], s->zout_pos);
  s->zout_cur = (s->zout_cur + 1) % ZOUTS;
  s->zout_pos = 0;
  return hasher_wait (s->hasher, s->zout_ticket[s->zout_cur], err);
}

/* Compress the stage; with END, end the frame too. */
static int
zstd_flush_stage (struct builder_sink *s, bool end, struct hoist_error **err)
{
  ZSTD_inBuffer in = { s->stage[s->stage_cur], s->stage_len, 0 };
  ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;

  for (;;)
    {
      ZSTD_outBuffer out = { s->zout[s->zout_cur], s->zout_size, s->zout_pos };
      size_t left = ZSTD_compressStream2 (s->zstd, &out, &in, mode);

      if (ZSTD_isError (left))
        return hoist_error_set (err, 0, "cannot compress the layer: %s", ZSTD_getErrorName (left));
      s->zout_pos = out.pos;
      if (s->zout_pos == s->zout_size && zout_next (s, err) < 0)
        return -1;
      /* libzstd blocks inside the call while its workers are all busy,
       * so this loop does not spin. */
      if (end ? left == 0 : in.pos == in.size)
        break;
    }
  if (end && s->zout_pos > 0)
    return zout_next (s, err);
  return 0;
}

/* Hand the stage to the hasher (and for zstd to libzstd, which copies
 * it), and take the next one once the hasher is done with it. */
static int
stage_flush (struct builder_sink *s, bool end, struct hoist_error **err)
{
  size_t cur = s->stage_cur;
  unsigned what = s->compression == BUILDER_COMPRESSION_NONE ? HASHER_TAR | HASHER_BLOB : HASHER_TAR;

  if (s->stage_len > 0)
    s->stage_ticket[cur] = hasher_push (s->hasher, what, s->stage[cur], s->stage_len);
  if (s->compression == BUILDER_COMPRESSION_ZSTD && zstd_flush_stage (s, end, err) < 0)
    return -1;
  s->stage_cur = (cur + 1) % STAGES;
  s->stage_len = 0;
  return hasher_wait (s->hasher, s->stage_ticket[s->stage_cur], err);
}

static int
stage_write (struct builder_sink *s, const unsigned char *p, size_t n, struct hoist_error **err)
{
  while (n > 0)
    {
      size_t room = STAGE_SIZE - s->stage_len;

      if (room > n)
        room = n;
      memcpy (s->stage[s->stage_cur] + s->stage_len, p, room);
      s->stage_len += room;
      p += room;
      n -= room;
      if (s->stage_len == STAGE_SIZE && stage_flush (s, false, err) < 0)
        return -1;
    }
  return 0;
}

int
builder_sink_new (int out_fd, enum builder_compression compression, int level, unsigned threads,
                  struct builder_sink **out, struct hoist_error **err)
{
  struct builder_sink *s = hoist_xcalloc (1, sizeof *s);
  int r = 0;

  s->compression = compression;
  if (hasher_new (out_fd, compression != BUILDER_COMPRESSION_NONE, &s->hasher, err) < 0)
    goto fail;
  if (compression == BUILDER_COMPRESSION_GZIP)
    r = gz_pool_new (level, threads, &s->gz, err);
  else
    {
      for (size_t i = 0; i < STAGES; i++)
        s->stage[i] = hoist_xmalloc (STAGE_SIZE);
      if (compression == BUILDER_COMPRESSION_ZSTD)
        r = zstd_start (s, level, threads, err);
    }
  if (r < 0)
    goto fail;
  *out = s;
  return 0;

fail:
  builder_sink_free (s);
  return -1;
}

int
builder_sink_write (struct builder_sink *s, const void *p, size_t n, struct hoist_error **err)
{
  int r;

  if (s->failed != NULL)
    return sink_failed (s, err);
  if (s->gz != NULL)
    r = gz_write (s, p, n, err);
  else
    r = stage_write (s, p, n, err);
  return r < 0 ? sink_fail (s, err) : 0;
}

int
builder_sink_finish (struct builder_sink *s, struct builder_layer_result *res, struct hoist_error **err)
{
  int r;

  if (s->failed != NULL)
    return sink_failed (s, err);
  if (s->gz != NULL)
    r = gz_finish (s, err);
  else
    r = stage_flush (s, true, err);
  if (r == 0)
    r = hasher_finish (s->hasher, res, err);
  if (r < 0)
    return sink_fail (s, err);
  /* The digests are final: nothing more may be written. */
  sink_latch (s, 0, "the layer is already finished");
  return 0;
}

void
builder_sink_free (struct builder_sink *s)
{
  if (s == NULL)
    return;
  /* The threads first: they read the buffers. */
  hasher_free (s->hasher);
  gz_pool_free (s->gz);
  ZSTD_freeCCtx (s->zstd);
  hoist_error_free (s->failed);
  for (size_t i = 0; i < STAGES; i++)
    free (s->stage[i]);
  for (size_t i = 0; i < ZOUTS; i++)
    free (s->zout[i]);
  free (s);
}
