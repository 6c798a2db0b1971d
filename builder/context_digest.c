/* context_digest.c — content digests of the build context's files, the
 * cache that keeps them across builds, and the digest of a set of entries
 * that keys a COPY in the build cache.
 *
 * The cache trusts a recorded digest only for a file whose path, size,
 * mtime, ctime, inode and device are all what the walk saw.  ctime is the
 * one that matters: no one can set it, and every write moves it, so
 * content rewritten to the same size with its mtime put back is still
 * seen.  What the check cannot see is a change within one tick of the file
 * system's clock (coarse: jiffies, or whole seconds on some file systems)
 * of the ctime recorded, so, as git does for its index, a digest read from
 * a file changed less than RACY_NS before the read began is used for this
 * build but never written to the cache.
 *
 * The cache file is not trusted either: it is read whole under a size cap,
 * its checksum and every field are checked, and any fault makes it
 * ignored whole (a note says why), so the worst a bad cache can do is cost
 * a re-read.  Format, version 1 (text, one record a line, paths
 * length-prefixed since a name may hold any byte but NUL and '/'):
 *   hoist-context-cache 1
 *   sha256:<hex> <dev> <ino> <size> <mtime s> <ns> <ctime s> <ns> <len> <path>
 *   ...
 *   end <hex of the sha256 of every byte above>
 * Records are in walk order, each path once. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/context_private.h"

/* File contents are hashed in reads of this size. */
#define READ_CHUNK (128u * 1024)
/* A file changed this recently before it was read is not cached: above a
 * clock tick, and above the 1 s (2 s on FAT) timestamps of some file
 * systems. */
#define RACY_NS (2 * 1000000000LL)
#define CACHE_MAGIC "hoist-context-cache "
#define CACHE_END "end "
/* "end " + 64 hex + '\n' */
#define CACHE_END_LEN (sizeof (CACHE_END) - 1 + HOIST_SHA256_HEX_LEN + 1)
#define DIGEST_PREFIX_LEN 7 /* "sha256:" */
#define NSEC_PER_SEC 1000000000L
/* Most threads builder_context_prefetch_digests starts. */
#define PREFETCH_THREADS_MAX 8

static void
sha256_releasep (struct hoist_sha256 *h)
{
  hoist_sha256_release (h);
}

#define cleanup_sha256 __attribute__ ((cleanup (sha256_releasep)))

/* ---- One file's digest ---------------------------------------------------- */

/* Whether T + RACY_NS is after START. */
static bool
too_recent (const struct timespec *t, const struct timespec *start)
{
  long long t_ns_hi = (long long) t->tv_sec + RACY_NS / NSEC_PER_SEC;

  if (t_ns_hi != (long long) start->tv_sec)
    return t_ns_hi > (long long) start->tv_sec;
  return t->tv_nsec > start->tv_nsec;
}

/* Read E and hash it into OUT; *RACY says whether it changed too shortly
 * before the read to be cached.  Counts into STATS; touches nothing else
 * of CTX, so threads may call it for different entries. */
static int
hash_entry (struct builder_context *ctx, const struct builder_context_entry *e, char out[HOIST_DIGEST_STR_SIZE],
            bool *racy, struct builder_context_stats *stats, struct hoist_error **err)
{
  cleanup_free unsigned char *buf = hoist_xmalloc (READ_CHUNK);
  cleanup_sha256 struct hoist_sha256 h = { NULL };
  cleanup_close int fd = -1;
  struct timespec start;
  struct stat st;
  int64_t total = 0;
  int ret;

  /* Taken before the open: any write after the read begins gets a ctime
   * no earlier than this, less one tick of the file system's clock. */
  if (clock_gettime (CLOCK_REALTIME, &start) < 0)
    return hoist_error_set (err, errno, "cannot read the clock");
  if ((ret = ctx_open_entry (ctx, e, &fd, err)) < 0 || (ret = hoist_sha256_init (&h, err)) < 0)
    return ret;
  for (;;)
    {
      ssize_t n = read (fd, buf, READ_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return hoist_error_set (err, errno, "build context: cannot read '%s'", e->path);
      if (n == 0)
        break;
      total += n;
      if (total > e->size)
        return ctx_changed (err, e->path);
      hoist_sha256_update (&h, buf, (size_t) n);
    }
  if (total != e->size)
    return ctx_changed (err, e->path);
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "build context: cannot stat '%s'", e->path);
  if (!ctx_entry_unchanged (e, &st))
    return ctx_changed (err, e->path);
  hoist_sha256_final (&h, out);
  *racy = too_recent (&e->ctime, &start);
  stats->files_hashed++;
  stats->bytes_hashed += (uint64_t) total;
  return 0;
}

int
builder_context_file_digest (struct builder_context *ctx, const struct builder_context_entry *e,
                             char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  size_t i = ctx_entry_index (ctx, e);
  struct ctx_digest *d;
  bool racy = false;
  int ret;

  if (i == (size_t) -1 || !S_ISREG (e->mode))
    return hoist_error_set_status (err, EINVAL, "build context: '%s' is not a regular file of the build context",
                                   e->path);
  /* A hard link has its first path's content: hash the inode once. */
  if (e->hardlink_target != NULL)
    {
      const struct builder_context_entry *t = builder_context_lookup (ctx, e->hardlink_target);

      if (t != NULL && S_ISREG (t->mode))
        {
          e = t;
          i = ctx_entry_index (ctx, t);
        }
    }
  d = &ctx->digests[i];
  if (d->state != CTX_DIGEST_NONE)
    {
      memcpy (out, d->digest, HOIST_DIGEST_STR_SIZE);
      ctx->stats.digests_cached++;
      return 0;
    }
  if ((ret = hash_entry (ctx, e, d->digest, &racy, &ctx->stats, err)) < 0)
    return ret;
  d->state = racy ? CTX_DIGEST_RACY : CTX_DIGEST_COMPUTED;
  memcpy (out, d->digest, HOIST_DIGEST_STR_SIZE);
  return 0;
}

/* ---- Many files at once ------------------------------------------------- */

struct prefetch
{
  struct builder_context *ctx;
  const size_t *todo; /* entry indices, each once */
  size_t n;
  pthread_mutex_t lock;
  size_t next; /* under the lock */
};

static void *
prefetch_main (void *arg)
{
  struct prefetch *p = arg;
  struct builder_context_stats stats = { 0 };

  for (;;)
    {
      struct hoist_error *err = NULL;
      struct ctx_digest *d;
      char digest[HOIST_DIGEST_STR_SIZE];
      bool racy = false;
      size_t i;

      pthread_mutex_lock (&p->lock);
      i = p->next < p->n ? p->todo[p->next++] : (size_t) -1;
      pthread_mutex_unlock (&p->lock);
      if (i == (size_t) -1)
        break;
      /* A failure is left for builder_context_file_digest to meet again,
       * in order, and report. */
      if (hash_entry (p->ctx, &p->ctx->entries[i], digest, &racy, &stats, &err) < 0)
        {
          hoist_error_free (err);
          continue;
        }
      d = &p->ctx->digests[i];
      memcpy (d->digest, digest, HOIST_DIGEST_STR_SIZE);
      d->state = racy ? CTX_DIGEST_RACY : CTX_DIGEST_COMPUTED;
    }
  pthread_mutex_lock (&p->lock);
  p->ctx->stats.files_hashed += stats.files_hashed;
  p->ctx->stats.bytes_hashed += stats.bytes_hashed;
  pthread_mutex_unlock (&p->lock);
  return NULL;
}

void
builder_context_prefetch_digests (struct builder_context *ctx, const struct builder_context_entry *const *entries,
                                  size_t n)
{
  cleanup_free size_t *todo = hoist_xcalloc (n > 0 ? n : 1, sizeof *todo);
  cleanup_free bool *seen = hoist_xcalloc (ctx->n > 0 ? ctx->n : 1, sizeof *seen);
  struct prefetch p = { .ctx = ctx, .todo = todo };
  pthread_t threads[PREFETCH_THREADS_MAX];
  size_t started = 0, want;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);

  /* Regular files of CTX without a digest, each inode once. */
  for (size_t k = 0; k < n; k++)
    {
      const struct builder_context_entry *e = entries[k];
      size_t i = ctx_entry_index (ctx, e);

      if (i == (size_t) -1 || !S_ISREG (e->mode) || e->hardlink_target != NULL)
        continue;
      if (ctx->digests[i].state != CTX_DIGEST_NONE || seen[i])
        continue;
      seen[i] = true;
      todo[p.n++] = i;
    }
  if (p.n < 2 || cpus < 2)
    return;
  want = (size_t) cpus < PREFETCH_THREADS_MAX ? (size_t) cpus : PREFETCH_THREADS_MAX;
  pthread_mutex_init (&p.lock, NULL);
  for (; started < want; started++)
    if (pthread_create (&threads[started], NULL, prefetch_main, &p) != 0)
      break;
  /* No thread at all: the caller's serial pass does the work. */
  for (size_t t = 0; t < started; t++)
    pthread_join (threads[t], NULL);
  pthread_mutex_destroy (&p.lock);
}

/* ---- The digest of a set of entries ------------------------------------- */

static void
hash_field (struct hoist_sha256 *h, const char *s)
{
  /* NUL ends each field: no path, target or number holds one. */
  hoist_sha256_update (h, s != NULL ? s : "", (s != NULL ? strlen (s) : 0) + 1);
}

static int
hash_record (struct builder_context *ctx, struct hoist_sha256 *h, const struct builder_context_entry *e,
             struct hoist_error **err)
{
  static const char hex[] = "0123456789abcdef";
  char num[3 * 24];
  char digest[HOIST_DIGEST_STR_SIZE] = "";
  cleanup_free char *cap = hoist_xmalloc (2 * e->capability_len + 1);
  int ret;

  if (S_ISREG (e->mode) && (ret = builder_context_file_digest (ctx, e, digest, err)) < 0)
    return ret;
  for (size_t i = 0; i < e->capability_len; i++)
    {
      cap[2 * i] = hex[e->capability[i] >> 4];
      cap[2 * i + 1] = hex[e->capability[i] & 0xf];
    }
  cap[2 * e->capability_len] = '\0';
  snprintf (num, sizeof (num), "%o %ju %ju", (unsigned) e->mode, (uintmax_t) e->uid, (uintmax_t) e->gid);
  hash_field (h, e->path);
  hash_field (h, num);
  hash_field (h, e->link_target);
  hash_field (h, e->hardlink_target);
  hash_field (h, digest);
  hash_field (h, cap);
  return 0;
}

int
builder_context_digest_set (struct builder_context *ctx, const struct builder_context_entry *const *entries, size_t n,
                            char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  cleanup_sha256 struct hoist_sha256 h = { NULL };
  int ret;

  if ((ret = hoist_sha256_init (&h, err)) < 0)
    return ret;
  hash_field (&h, "hoist-context-set 1");
  for (size_t i = 0; i < n; i++)
    {
      const struct builder_context_entry *e = entries[i], *first;
      size_t below;

      if (e != builder_context_root (ctx) && ctx_entry_index (ctx, e) == (size_t) -1)
        return hoist_error_set_status (err, EINVAL, "build context: '%s' is not an entry of the build context",
                                       e->path);
      if ((ret = hash_record (ctx, &h, e, err)) < 0)
        return ret;
      below = builder_context_below (ctx, e, &first);
      for (size_t j = 0; j < below; j++)
        if ((ret = hash_record (ctx, &h, &first[j], err)) < 0)
          return ret;
    }
  hoist_sha256_final (&h, out);
  return 0;
}

/* ---- The cache file ----------------------------------------------------- */

int
builder_context_cache_name (const struct builder_context *ctx, char **out, struct hoist_error **err)
{
  char d[HOIST_DIGEST_STR_SIZE];
  int ret;

  if ((ret = hoist_sha256_digest (ctx->real_dir, strlen (ctx->real_dir), d, err)) < 0)
    return ret;
  *out = hoist_xasprintf ("context-%s.cache", d + DIGEST_PREFIX_LEN);
  return 0;
}

/* One record as read, pointing into the file's text. */
struct cache_record
{
  char digest[HOIST_DIGEST_STR_SIZE];
  uint64_t dev, ino, size;
  struct timespec mtime, ctime;
  char *path; /* NUL-terminated in place of its '\n' */
};

/* A cursor over the file's text. */
struct cursor
{
  char *p;
  char *end;
};

/* A decimal without sign, leading zero or overflow, below or at MAX. */
static bool
read_u64 (struct cursor *c, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  char *start = c->p;

  while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
    {
      unsigned d = (unsigned) (*c->p - '0');

      if (v > (max - d) / 10)
        return false;
      v = v * 10 + d;
      c->p++;
    }
  if (c->p == start || (*start == '0' && c->p - start > 1))
    return false;
  *out = v;
  return true;
}

static bool
read_i64 (struct cursor *c, int64_t *out)
{
  bool neg = c->p < c->end && *c->p == '-';
  uint64_t v;

  if (neg)
    c->p++;
  if (!read_u64 (c, neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX, &v) || (neg && v == 0))
    return false;
  *out = neg ? (int64_t) (0 - v) : (int64_t) v;
  return true;
}

static bool
read_byte (struct cursor *c, char ch)
{
  if (c->p >= c->end || *c->p != ch)
    return false;
  c->p++;
  return true;
}

static bool
read_time (struct cursor *c, struct timespec *t)
{
  int64_t sec;
  uint64_t nsec;

  if (!read_i64 (c, &sec) || !read_byte (c, ' ') || !read_u64 (c, NSEC_PER_SEC - 1, &nsec))
    return false;
  t->tv_sec = (time_t) sec;
  t->tv_nsec = (long) nsec;
  return true;
}

static bool
read_record (struct cursor *c, struct cache_record *r)
{
  const size_t dlen = HOIST_DIGEST_STR_SIZE - 1;
  uint64_t len;

  if ((size_t) (c->end - c->p) < dlen + 1)
    return false;
  memcpy (r->digest, c->p, dlen);
  r->digest[dlen] = '\0';
  c->p += dlen;
  if (!hoist_digest_valid (r->digest) || !read_byte (c, ' ') || !read_u64 (c, UINT64_MAX, &r->dev)
      || !read_byte (c, ' ') || !read_u64 (c, UINT64_MAX, &r->ino) || !read_byte (c, ' ')
      || !read_u64 (c, INT64_MAX, &r->size) || !read_byte (c, ' ') || !read_time (c, &r->mtime) || !read_byte (c, ' ')
      || !read_time (c, &r->ctime) || !read_byte (c, ' ') || !read_u64 (c, BUILDER_CONTEXT_PATH_MAX, &len)
      || !read_byte (c, ' '))
    return false;
  if ((uint64_t) (c->end - c->p) < len + 1 || c->p[len] != '\n' || memchr (c->p, '\0', len) != NULL)
    return false;
  r->path = c->p;
  r->path[len] = '\0';
  c->p += len + 1;
  return builder_path_clean (r->path);
}

/* Check the header and the checksum; *C is left over the records. */
static char *
check_frame (char *text, size_t len, struct cursor *c)
{
  char sum[HOIST_DIGEST_STR_SIZE];
  uint64_t version;

  c->p = text;
  c->end = text + len;
  if (len < sizeof (CACHE_MAGIC) - 1 || memcmp (text, CACHE_MAGIC, sizeof (CACHE_MAGIC) - 1) != 0)
    return hoist_xstrdup ("not a hoist digest cache");
  c->p += sizeof (CACHE_MAGIC) - 1;
  if (!read_u64 (c, UINT32_MAX, &version) || !read_byte (c, '\n'))
    return hoist_xstrdup ("bad header");
  if (version != BUILDER_CONTEXT_CACHE_VERSION)
    return hoist_xasprintf ("version %" PRIu64 " is not %d", version, BUILDER_CONTEXT_CACHE_VERSION);
  if ((size_t) (c->end - c->p) < CACHE_END_LEN)
    return hoist_xstrdup ("truncated");
  c->end -= CACHE_END_LEN;
  if (memcmp (c->end, CACHE_END, sizeof (CACHE_END) - 1) != 0 || text[len - 1] != '\n')
    return hoist_xstrdup ("truncated");
  if (hoist_sha256_digest (text, (size_t) (c->end - text), sum, NULL) < 0)
    return hoist_xstrdup ("cannot compute its checksum");
  if (!hoist_ct_equal (sum + DIGEST_PREFIX_LEN, c->end + sizeof (CACHE_END) - 1, HOIST_SHA256_HEX_LEN))
    return hoist_xstrdup ("checksum mismatch");
  return NULL;
}

static bool
record_matches (const struct cache_record *r, const struct builder_context_entry *e)
{
  return e != NULL && S_ISREG (e->mode) && e->hardlink_target == NULL && r->dev == (uint64_t) e->dev
         && r->ino == (uint64_t) e->ino && r->size == (uint64_t) e->size && r->mtime.tv_sec == e->mtime.tv_sec
         && r->mtime.tv_nsec == e->mtime.tv_nsec && r->ctime.tv_sec == e->ctime.tv_sec
         && r->ctime.tv_nsec == e->ctime.tv_nsec;
}

/* Parse TEXT whole before using any of it: one bad record and the file is
 * ignored.  Returns NULL, or why the file was ignored (owned). */
static char *
apply_cache (struct builder_context *ctx, char *text, size_t len)
{
  cleanup_free struct cache_record *recs = NULL;
  size_t n = 0, alloc = 0;
  struct cursor c;
  char *why = check_frame (text, len, &c);

  if (why != NULL)
    return why;
  while (c.p < c.end)
    {
      if (n == alloc)
        {
          alloc = alloc == 0 ? 64 : alloc * 2;
          recs = hoist_xreallocarray (recs, alloc, sizeof (*recs));
        }
      if (!read_record (&c, &recs[n]) || c.p > c.end)
        return hoist_xasprintf ("bad record %zu", n + 1);
      if (n > 0 && builder_layer_path_cmp (recs[n - 1].path, recs[n].path) >= 0)
        return hoist_xasprintf ("record %zu out of order", n + 1);
      n++;
    }
  for (size_t i = 0; i < n; i++)
    {
      const struct builder_context_entry *e = builder_context_lookup (ctx, recs[i].path);
      struct ctx_digest *d;

      if (!record_matches (&recs[i], e))
        continue;
      d = &ctx->digests[ctx_entry_index (ctx, e)];
      if (d->state != CTX_DIGEST_NONE)
        continue;
      memcpy (d->digest, recs[i].digest, HOIST_DIGEST_STR_SIZE);
      d->state = CTX_DIGEST_CACHED;
      ctx->stats.cache_records++;
    }
  return NULL;
}

/* Returns NULL when the cache was read or is missing, else why not. */
static char *
load_cache (struct builder_context *ctx, const char *path)
{
  cleanup_buf struct hoist_buf text;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_close int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;

  hoist_buf_init (&text, BUILDER_CONTEXT_CACHE_MAX);
  if (fd < 0)
    return errno == ENOENT ? NULL : hoist_xasprintf ("cannot open it: %s", strerror (errno));
  if (fstat (fd, &st) < 0)
    return hoist_xasprintf ("cannot stat it: %s", strerror (errno));
  if (!S_ISREG (st.st_mode))
    return hoist_xstrdup ("not a regular file");
  if (st.st_size > (off_t) BUILDER_CONTEXT_CACHE_MAX)
    return hoist_xasprintf ("larger than %u bytes", BUILDER_CONTEXT_CACHE_MAX);
  if (hoist_buf_read_fd (&text, fd, &err) < 0)
    return hoist_xasprintf ("cannot read it: %s", err != NULL ? err->msg : "error");
  return apply_cache (ctx, text.data, text.len);
}

void
builder_context_cache_load (struct builder_context *ctx, const char *path, char **note)
{
  cleanup_free char *why = load_cache (ctx, path);

  if (note != NULL)
    *note = why != NULL ? hoist_xasprintf ("digest cache '%s' ignored: %s", path, why) : NULL;
}

static int
format_record (struct hoist_buf *rec, const struct builder_context_entry *e, const struct ctx_digest *d)
{
  size_t len = strlen (e->path);

  hoist_buf_reset (rec);
  if (hoist_buf_addf (rec, NULL, "%s %ju %ju %" PRId64 " %lld %ld %lld %ld %zu ", d->digest, (uintmax_t) e->dev,
                      (uintmax_t) e->ino, e->size, (long long) e->mtime.tv_sec, e->mtime.tv_nsec,
                      (long long) e->ctime.tv_sec, e->ctime.tv_nsec, len)
          < 0
      || hoist_buf_add (rec, e->path, len, NULL) < 0 || hoist_buf_addch (rec, '\n', NULL) < 0)
    return -1;
  return 0;
}

/* Write TEXT to a temp file beside PATH and rename it over PATH.  No
 * fsync: a file torn by a crash fails its checksum and is ignored. */
static int
write_atomic (const char *path, const struct hoist_buf *text, struct hoist_error **err)
{
  cleanup_free char *tmp = hoist_xasprintf ("%s.tmp-XXXXXX", path);
  int fd = mkostemp (tmp, O_CLOEXEC);
  int ret, e;

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot create a temp file for '%s'", path);
  ret = hoist_write_all (fd, text->data, text->len);
  e = errno;
  if (close (fd) < 0 && ret == 0)
    {
      ret = -1;
      e = errno;
    }
  if (ret == 0 && rename (tmp, path) == 0)
    return 0;
  if (ret == 0)
    e = errno;
  unlink (tmp);
  return hoist_error_set (err, e, "cannot write the digest cache '%s'", path);
}

int
builder_context_cache_save (const struct builder_context *ctx, const char *path, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf text;
  cleanup_buf struct hoist_buf rec;
  char sum[HOIST_DIGEST_STR_SIZE];
  int ret;

  hoist_buf_init (&text, BUILDER_CONTEXT_CACHE_MAX);
  hoist_buf_init (&rec, HOIST_BUF_NO_LIMIT);
  if ((ret = hoist_buf_addf (&text, err, CACHE_MAGIC "%d\n", BUILDER_CONTEXT_CACHE_VERSION)) < 0)
    return ret;
  for (size_t i = 0; i < ctx->n; i++)
    {
      const struct ctx_digest *d = &ctx->digests[i];

      if (d->state != CTX_DIGEST_CACHED && d->state != CTX_DIGEST_COMPUTED)
        continue;
      if (format_record (&rec, &ctx->entries[i], d) < 0)
        return hoist_error_set (err, 0, "cannot format the digest cache");
      /* Past the cap the rest is left out: a smaller cache, still valid. */
      if (text.len + rec.len + CACHE_END_LEN > BUILDER_CONTEXT_CACHE_MAX)
        break;
      if ((ret = hoist_buf_add (&text, rec.data, rec.len, err)) < 0)
        return ret;
    }
  if ((ret = hoist_sha256_digest (text.data, text.len, sum, err)) < 0
      || (ret = hoist_buf_addf (&text, err, CACHE_END "%s\n", sum + DIGEST_PREFIX_LEN)) < 0)
    return ret;
  return write_atomic (path, &text, err);
}

void
builder_context_stats (const struct builder_context *ctx, struct builder_context_stats *out)
{
  *out = ctx->stats;
}
