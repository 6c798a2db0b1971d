/* job_log.c — a job's log: hoist's own lines and the output of what the
 * job runs (git, builds), through a masker so no token or secret reaches
 * the file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/job_private.h"

static int
log_sink (void *ctx, const char *p, size_t n)
{
  struct job_log *log = ctx;

  return hoist_write_all (log->fd, p, n) < 0 ? -errno : 0;
}

int
job_log_open (struct job_log *log, const char *path, char *const *secrets, struct hoist_error **err)
{
  memset (log, 0, sizeof *log);
  log->fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log->fd < 0)
    return hoist_error_set (err, errno, "cannot open the job log '%s'", path);
  log->masker = hoist_masker_new (log_sink, log);
  for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++)
    if (hoist_masker_add_secret (log->masker, secrets[i], err) < 0)
      {
        job_log_close (log);
        return hoist_error_wrap (err, "cannot mask a secret in the job log");
      }
  pthread_mutex_init (&log->lock, NULL);
  return 0;
}

void
job_log_close (struct job_log *log)
{
  if (log->masker != NULL)
    {
      (void) hoist_masker_flush (log->masker);
      hoist_masker_free (log->masker);
      pthread_mutex_destroy (&log->lock);
    }
  if (log->fd >= 0)
    close (log->fd);
  memset (log, 0, sizeof *log);
  log->fd = -1;
}

static void
log_write (struct job_log *log, const char *p, size_t n, bool flush)
{
  pthread_mutex_lock (&log->lock);
  (void) hoist_masker_write (log->masker, p, n);
  if (flush)
    (void) hoist_masker_flush (log->masker);
  pthread_mutex_unlock (&log->lock);
}

void
job_log_say (struct job_log *log, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  cleanup_free char *line = NULL;
  struct timespec ts;
  struct tm tm;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  line = hoist_xasprintf ("%02d:%02d:%02d.%03ld hoist: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                          msg);
  log_write (log, line, strlen (line), true);
}

struct pump
{
  struct job_log *log;
  int fd;
};

/* Copy a child's output into the log until every writer closed it. */
static void *
pump_main (void *p)
{
  struct pump *pump = p;
  char buf[8192];

  for (;;)
    {
      ssize_t n = read (pump->fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      log_write (pump->log, buf, (size_t) n, false);
    }
  log_write (pump->log, "", 0, true);
  return NULL;
}

int
job_log_run (struct job_log *log, char *const *argv, char *const *envp, const char *cwd, unsigned timeout_ms,
             struct hoist_buf *out, struct hoist_spawn_result *res, struct hoist_error **err)
{
  struct hoist_spawn_opts o = { .argv = argv, .envp = envp, .cwd = cwd, .stdin_fd = -1, .timeout_ms = timeout_ms };
  struct pump pump = { .log = log };
  pthread_t thread;
  int fds[2], ret, e;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return hoist_error_set (err, errno, "cannot make a pipe for '%s'", argv[0]);
  pump.fd = fds[0];
  e = pthread_create (&thread, NULL, pump_main, &pump);
  if (e != 0)
    {
      close (fds[0]);
      close (fds[1]);
      return hoist_error_set (err, e, "cannot start a thread for '%s'", argv[0]);
    }
  o.stderr_mode = HOIST_SPAWN_FD;
  o.stderr_fd = fds[1];
  o.stdout_mode = out != NULL ? HOIST_SPAWN_CAPTURE : HOIST_SPAWN_FD;
  o.stdout_fd = fds[1];
  o.stdout_buf = out;
  ret = hoist_spawn (&o, res, err);
  close (fds[1]);
  pthread_join (thread, NULL);
  close (fds[0]);
  return ret;
}
