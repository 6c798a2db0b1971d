/* mask.c — the streaming secret masker.
 *
 * Incoming bytes are appended to a pending buffer, which is then scanned
 * from the left.  At each position the longest secret that matches there
 * is replaced by "***".  Scanning stops at the first position where the
 * pending bytes are a proper prefix of some secret: those bytes (fewer than
 * the longest secret) are held back until more input or a flush decides.
 * Deciding at the leftmost position first, and holding back even when a
 * shorter secret already matches, is what makes the result independent of
 * how the stream was split into writes. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MASK_REPLACEMENT "***"
#define MASK_MIN_SECRET 4

/* Input is taken in slices of this size so a huge write does not make an
 * equally huge copy in the pending buffer. */
#define MASK_SLICE 65536

struct masker_secret
{
  char *s;
  size_t len;
};

struct hoist_masker
{
  hoist_masker_sink sink;
  void *ctx;
  struct masker_secret *secrets;
  size_t n_secrets;
  size_t max_len;
  struct hoist_buf pending; /* held-back bytes plus the slice being scanned */
};

struct hoist_masker *
hoist_masker_new (hoist_masker_sink sink, void *ctx)
{
  struct hoist_masker *m = hoist_xcalloc (1, sizeof (*m));

  m->sink = sink;
  m->ctx = ctx;
  hoist_buf_init (&m->pending, HOIST_BUF_NO_LIMIT);
  return m;
}

/* Secrets must not linger in freed heap memory. */
static void
buf_wipe_release (struct hoist_buf *b)
{
  if (b->alloc != 0)
    explicit_bzero (b->data, b->alloc);
  hoist_buf_release (b);
}

void
hoist_masker_free (struct hoist_masker *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n_secrets; i++)
    {
      explicit_bzero (m->secrets[i].s, m->secrets[i].len);
      free (m->secrets[i].s);
    }
  free (m->secrets);
  buf_wipe_release (&m->pending);
  free (m);
}

int
hoist_masker_add_secret (struct hoist_masker *m, const char *secret, struct hoist_error **err)
{
  size_t len = strlen (secret);

  if (len < MASK_MIN_SECRET)
    return hoist_error_set (err, EINVAL, "cannot mask a secret shorter than %d bytes", MASK_MIN_SECRET);
  for (size_t i = 0; i < m->n_secrets; i++)
    if (m->secrets[i].len == len && memcmp (m->secrets[i].s, secret, len) == 0)
      return 0;

  m->secrets = hoist_xreallocarray (m->secrets, m->n_secrets + 1, sizeof (*m->secrets));
  m->secrets[m->n_secrets].s = hoist_xstrndup (secret, len);
  m->secrets[m->n_secrets].len = len;
  m->n_secrets++;
  if (len > m->max_len)
    m->max_len = len;
  return 0;
}

/* Length of the longest secret that matches completely at P (AVAIL bytes
 * are available), or 0.  *PARTIAL is set when the available bytes are a
 * proper prefix of some secret, so more input could still change the
 * answer. */
static size_t
longest_match (const struct hoist_masker *m, const char *p, size_t avail, bool *partial)
{
  size_t best = 0;

  *partial = false;
  for (size_t i = 0; i < m->n_secrets; i++)
    {
      const struct masker_secret *s = &m->secrets[i];
      if (s->len <= avail)
        {
          if (s->len > best && memcmp (p, s->s, s->len) == 0)
            best = s->len;
        }
      else if (memcmp (p, s->s, avail) == 0)
        *partial = true;
    }
  return best;
}

static int
emit (struct hoist_masker *m, const char *p, size_t n)
{
  if (n == 0)
    return 0;
  return m->sink (m->ctx, p, n);
}

/* Emit the plain run [RUN, POS) of the pending bytes, then, when MATCH is
 * not 0, the replacement for the secret that starts at POS. */
static int
emit_up_to (struct hoist_masker *m, size_t run, size_t pos, size_t match)
{
  int ret = emit (m, m->pending.data + run, pos - run);

  if (ret < 0 || match == 0)
    return ret;
  return emit (m, MASK_REPLACEMENT, strlen (MASK_REPLACEMENT));
}

/* Send out what can be decided of the pending bytes and keep the rest.
 * With FINAL, nothing is held back.  When the sink fails, the pending
 * bytes are dropped: re-sending them later would duplicate output. */
static int
masker_drain (struct hoist_masker *m, bool final)
{
  const char *data = m->pending.data;
  size_t len = m->pending.len;
  size_t run = 0; /* start of the plain run not yet emitted */
  size_t pos = 0;
  int ret = 0;

  while (pos < len)
    {
      bool partial;
      size_t match = longest_match (m, data + pos, len - pos, &partial);

      if (partial && !final)
        break;
      if (match == 0)
        {
          pos++;
          continue;
        }
      ret = emit_up_to (m, run, pos, match);
      if (ret < 0)
        break;
      pos += match;
      run = pos;
    }

  if (ret >= 0)
    ret = emit_up_to (m, run, pos, 0);
  if (ret < 0)
    pos = len;
  memmove (m->pending.data, data + pos, len - pos);
  m->pending.len = len - pos;
  if (m->pending.alloc != 0)
    {
      /* What is left past the kept bytes may hold secrets: scrub it. */
      explicit_bzero (m->pending.data + m->pending.len, len - m->pending.len);
      m->pending.data[m->pending.len] = '\0';
    }
  return ret < 0 ? ret : 0;
}

int
hoist_masker_write (struct hoist_masker *m, const char *p, size_t n)
{
  /* Nothing to look for: pass the bytes through untouched. */
  if (m->n_secrets == 0 && m->pending.len == 0)
    return emit (m, p, n);

  while (n > 0)
    {
      size_t slice = n < MASK_SLICE ? n : MASK_SLICE;
      int ret;

      /* The pending buffer has no limit, so adding cannot fail. */
      if (hoist_buf_add (&m->pending, p, slice, NULL) < 0)
        abort ();
      ret = masker_drain (m, false);
      if (ret < 0)
        return ret;
      p += slice;
      n -= slice;
    }
  return 0;
}

int
hoist_masker_flush (struct hoist_masker *m)
{
  return masker_drain (m, true);
}
