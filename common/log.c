/* log.c — hoist's one logger: level filter, optional timestamps, and the
 * global secret masker every line passes through.
 *
 * A line is assembled and masked into a buffer, then written with one
 * write loop, so lines from different threads do not interleave and a
 * secret is never held back in the masker between calls.  One mutex guards
 * all state: the webhook server logs from several threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum hoist_log_level log_level = HOIST_LOG_INFO;
static int log_fd = STDERR_FILENO;
static bool log_timestamps;
static struct hoist_masker *log_masker; /* created by the first secret */
static struct hoist_buf log_line = { NULL, 0, 0, HOIST_BUF_NO_LIMIT };

void
hoist_log_set_level (enum hoist_log_level level)
{
  pthread_mutex_lock (&log_lock);
  log_level = level;
  pthread_mutex_unlock (&log_lock);
}

enum hoist_log_level
hoist_log_get_level (void)
{
  enum hoist_log_level level;

  pthread_mutex_lock (&log_lock);
  level = log_level;
  pthread_mutex_unlock (&log_lock);
  return level;
}

void
hoist_log_set_fd (int fd)
{
  pthread_mutex_lock (&log_lock);
  log_fd = fd;
  pthread_mutex_unlock (&log_lock);
}

void
hoist_log_set_timestamps (bool on)
{
  pthread_mutex_lock (&log_lock);
  log_timestamps = on;
  pthread_mutex_unlock (&log_lock);
}

/* Masker sink: collect the masked line; called with log_lock held. */
static int
line_sink (void *ctx, const char *p, size_t n)
{
  return hoist_buf_add (ctx, p, n, NULL);
}

/* Called with log_lock held. */
static void
line_buf_ready (void)
{
  if (log_line.data == NULL)
    hoist_buf_init (&log_line, HOIST_BUF_NO_LIMIT);
}

int
hoist_log_add_secret (const char *secret, struct hoist_error **err)
{
  int ret;

  pthread_mutex_lock (&log_lock);
  line_buf_ready ();
  if (log_masker == NULL)
    log_masker = hoist_masker_new (line_sink, &log_line);
  ret = hoist_masker_add_secret (log_masker, secret, err);
  pthread_mutex_unlock (&log_lock);
  return ret;
}

static const char *
level_prefix (enum hoist_log_level level)
{
  switch (level)
    {
    case HOIST_LOG_ERROR:
      return "hoist: error: ";
    case HOIST_LOG_WARN:
      return "hoist: warning: ";
    case HOIST_LOG_INFO:
      return "hoist: ";
    case HOIST_LOG_DEBUG:
    default:
      return "hoist: debug: ";
    }
}

/* "2026-11-22T10:00:00Z " into OUT, or "" if the clock cannot be read. */
static void
format_timestamp (char *out, size_t size)
{
  struct tm tm;
  time_t now = time (NULL);

  out[0] = '\0';
  if (gmtime_r (&now, &tm) == NULL)
    return;
  if (strftime (out, size, "%Y-%m-%dT%H:%M:%SZ ", &tm) == 0)
    out[0] = '\0';
}

/* Logging must not fail its caller: a line that cannot be written is
 * dropped. */
static void
write_all (int fd, const char *p, size_t n)
{
  if (hoist_write_all (fd, p, n) < 0)
    return;
}

/* Called with log_lock held.  The masker's sink appends to log_line, and
 * the flush at the end leaves nothing held back for the next call. */
static void
emit_line (const char *text, size_t len)
{
  line_buf_ready ();
  hoist_buf_reset (&log_line);
  if (log_masker == NULL)
    {
      write_all (log_fd, text, len);
      return;
    }
  if (hoist_masker_write (log_masker, text, len) < 0 || hoist_masker_flush (log_masker) < 0)
    return;
  write_all (log_fd, log_line.data, log_line.len);
}

/* Prefix MSG (N bytes) with PREFIX, end it with a newline, and write it
 * out masked. */
static void
log_message (const char *prefix, const char *msg, int n)
{
  char stamp[64] = "";
  cleanup_free char *line = NULL;
  size_t len;

  pthread_mutex_lock (&log_lock);
  if (log_timestamps)
    format_timestamp (stamp, sizeof stamp);
  line = hoist_xasprintf ("%s%s%s%s", stamp, prefix, msg, (n > 0 && msg[n - 1] == '\n') ? "" : "\n");
  len = strlen (line);
  emit_line (line, len);
  pthread_mutex_unlock (&log_lock);
  explicit_bzero (line, len);
}

void
hoist_logv (enum hoist_log_level level, const char *fmt, va_list ap)
{
  /* Callers log and then report errno; logging must not change it. */
  int saved_errno = errno;
  cleanup_free char *msg = NULL;
  int n;

  if (level <= hoist_log_get_level ())
    {
      n = vasprintf (&msg, fmt, ap);
      if (n < 0)
        abort ();
      log_message (level_prefix (level), msg, n);
      explicit_bzero (msg, (size_t) n);
    }
  errno = saved_errno;
}

void
hoist_log_print (const char *fmt, ...)
{
  int saved_errno = errno;
  cleanup_free char *msg = NULL;
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (n < 0)
    abort ();
  log_message ("", msg, n);
  explicit_bzero (msg, (size_t) n);
  errno = saved_errno;
}

void
hoist_log (enum hoist_log_level level, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  hoist_logv (level, fmt, ap);
  va_end (ap);
}

void
hoist_log_shutdown (void)
{
  pthread_mutex_lock (&log_lock);
  hoist_masker_free (log_masker);
  log_masker = NULL;
  if (log_line.data != NULL)
    hoist_buf_release (&log_line);
  pthread_mutex_unlock (&log_lock);
}
