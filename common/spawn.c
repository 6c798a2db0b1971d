/* spawn.c — run a program from argv and env vectors, never a shell.
 *
 * Everything that allocates or can fail in an interesting way (resolving
 * the program through PATH, opening /dev/null, making pipes) happens
 * before fork.  Between fork and exec the child makes only
 * async-signal-safe calls: the parent may have other threads, one of which
 * could hold the malloc lock at the moment of fork.  When the child fails
 * before or at exec it writes its stage and errno to a close-on-exec
 * "report" pipe; a successful exec closes that pipe, so the parent reads
 * either a report or EOF.
 *
 * The child is started as posix_spawn does: clone(CLONE_VM | CLONE_VFORK)
 * on a stack of its own, so the parent's page tables are not copied and
 * its other threads do not fault on copy-on-write pages afterwards (hoist
 * serve spawns git and builds while its HTTP threads answer webhooks).
 * The child shares the parent's memory until exec, so it writes nothing
 * but its own stack; the calling thread waits until the exec.  Sanitizer
 * builds use fork (ASan does not follow a clone onto a foreign stack).
 *
 * The parent reads the report pipe and the capture pipes in one poll()
 * loop, together with a pidfd for the child's exit when the kernel has
 * pidfd_open, so one deadline covers the whole run. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* confstr (_CS_PATH) on glibc, for a parent without PATH. */
#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Without pidfd_open, how often the parent polls for the child's exit. */
#define SPAWN_REAP_TICK_MS 10

/* Indices of the pipes the parent reads. */
enum
{
  SPAWN_REPORT = 0,
  SPAWN_STDOUT = 1,
  SPAWN_STDERR = 2,
  SPAWN_NPIPES = 3,
};

/* Where the child failed, sent with its errno through the report pipe. */
enum child_stage
{
  STAGE_PREPARE = 1,
  STAGE_STDIO,
  STAGE_CHDIR,
  STAGE_EXEC,
};

struct child_report
{
  int stage;
  int errnum;
};

/* All the child needs, prepared by the parent before fork. */
struct spawn_child
{
  const char *path; /* resolved program */
  char *const *argv;
  char *const *envp; /* never NULL */
  const char *cwd;   /* NULL: stay */
  int src_fd[3];     /* becomes fd 0, 1, 2; -1: keep the inherited one */
  int report_fd;
  pid_t parent;
  int max_fd; /* bound for the close loop when close_range is missing */
};

struct spawn_reader
{
  int fd; /* read end; -1 after EOF */
  struct hoist_buf *buf;
};

/* The parent's side of one run.  spawn_state_release() closes every fd and
 * kills and reaps a child that is still there, so no error path leaks a
 * process or a descriptor. */
struct spawn_state
{
  const char *name; /* argv[0] as given, for messages */
  pid_t pid;
  int pidfd;
  bool reaped;
  int status;
  uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: no timeout */
  int devnull;
  int child_end[SPAWN_NPIPES]; /* write ends, closed in the parent after fork */
  struct spawn_reader reader[SPAWN_NPIPES];
  struct hoist_buf report;
};

static const char *const stream_name[SPAWN_NPIPES] = { "report", "stdout", "stderr" };

/* ---------------------------------------------------------------------
 * Resolving the program (parent, before fork)
 * ------------------------------------------------------------------- */

static const char *
path_variable (char *const *envp)
{
  const char *p;

  for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
    if (strncmp (envp[i], "PATH=", 5) == 0)
      return envp[i] + 5;
  p = getenv ("PATH");
  return p != NULL ? p : SPAWN_DEFAULT_PATH;
}

/* 0 when PATH names an executable regular file, else the errno exec would
 * give for it. */
static int
check_executable (const char *path)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return errno;
  if (!S_ISREG (st.st_mode))
    return EACCES;
  if (access (path, X_OK) < 0)
    return errno;
  return 0;
}

/* Search NAME in the PATH of ENVP (or of the parent).  Entries that are
 * not absolute are skipped: an empty entry means the current directory,
 * which would let a build context plant programs, and a relative entry
 * would name another directory once the child has changed to CWD.  As
 * execvp does, EACCES is reported when only unusable candidates exist. */
static int
resolve_program (const char *name, char *const *envp, char **out, struct hoist_error **err)
{
  const char *p = path_variable (envp);
  int errnum = ENOENT;

  if (strchr (name, '/') != NULL)
    {
      *out = hoist_xstrdup (name);
      return 0;
    }
  while (*name != '\0')
    {
      const char *end = strchrnul (p, ':');

      if (*p == '/')
        {
          cleanup_free char *cand = hoist_xasprintf ("%.*s/%s", (int) (end - p), p, name);
          int e = check_executable (cand);
          if (e == 0)
            {
              *out = steal_pointer (&cand);
              return 0;
            }
          if (e == EACCES)
            errnum = EACCES;
        }
      if (*end == '\0')
        break;
      p = end + 1;
    }
  return hoist_error_set (err, errnum, "cannot run '%s'", name);
}

/* ---------------------------------------------------------------------
 * Descriptors (parent, before fork)
 * ------------------------------------------------------------------- */

static void
spawn_state_init (struct spawn_state *s, const char *name)
{
  memset (s, 0, sizeof (*s));
  s->name = name;
  s->pid = -1;
  s->pidfd = -1;
  s->devnull = -1;
  for (int i = 0; i < SPAWN_NPIPES; i++)
    {
      s->child_end[i] = -1;
      s->reader[i].fd = -1;
    }
  /* The child writes one struct child_report; anything more is garbage. */
  hoist_buf_init (&s->report, sizeof (struct child_report));
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static int
reap (struct spawn_state *s, int flags, struct hoist_error **err)
{
  pid_t r;

  do
    r = waitpid (s->pid, &s->status, flags);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return hoist_error_set (err, errno, "cannot wait for '%s'", s->name);
  if (r == s->pid)
    s->reaped = true;
  return 0;
}

/* Only a child not yet reaped is killed: once reaped, its pid may already
 * belong to another process. */
static void
kill_and_reap (struct spawn_state *s)
{
  if (s->pid <= 0 || s->reaped)
    return;
  kill (s->pid, SIGKILL);
  if (reap (s, 0, NULL) < 0)
    s->reaped = true; /* ECHILD: someone else reaped it; nothing left to wait for */
}

static void
spawn_state_release (struct spawn_state *s)
{
  kill_and_reap (s);
  close_fd (&s->pidfd);
  close_fd (&s->devnull);
  for (int i = 0; i < SPAWN_NPIPES; i++)
    {
      close_fd (&s->child_end[i]);
      close_fd (&s->reader[i].fd);
    }
  hoist_buf_release (&s->report);
}

#define cleanup_spawn_state __attribute__ ((cleanup (spawn_state_release)))

static int
open_devnull (struct spawn_state *s, int *src, struct hoist_error **err)
{
  if (s->devnull < 0)
    s->devnull = open ("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (s->devnull < 0)
    return hoist_error_set (err, errno, "cannot open '/dev/null' to run '%s'", s->name);
  *src = s->devnull;
  return 0;
}

/* A close-on-exec pipe whose read end the parent polls (non-blocking, so
 * one read per wake-up can never stall the loop). */
static int
open_pipe (struct spawn_state *s, int idx, struct hoist_buf *buf, int *src, struct hoist_error **err)
{
  int p[2];

  if (pipe2 (p, O_CLOEXEC) < 0)
    return hoist_error_set (err, errno, "cannot create the %s pipe for '%s'", stream_name[idx], s->name);
  s->reader[idx].fd = p[0];
  s->reader[idx].buf = buf;
  s->child_end[idx] = p[1];
  if (fcntl (p[0], F_SETFL, O_NONBLOCK) < 0)
    return hoist_error_set (err, errno, "cannot set up the %s pipe for '%s'", stream_name[idx], s->name);
  *src = p[1];
  return 0;
}

static int
prepare_output (struct spawn_state *s, int idx, enum hoist_spawn_io mode, int fd, struct hoist_buf *buf, int *src,
                struct hoist_error **err)
{
  switch (mode)
    {
    case HOIST_SPAWN_NULL:
      return open_devnull (s, src, err);
    case HOIST_SPAWN_INHERIT:
      *src = -1;
      return 0;
    case HOIST_SPAWN_FD:
      if (fd < 0)
        return hoist_error_set (err, EBADF, "cannot run '%s': no fd given for %s", s->name, stream_name[idx]);
      *src = fd;
      return 0;
    case HOIST_SPAWN_CAPTURE:
      if (buf == NULL)
        return hoist_error_set (err, EINVAL, "cannot run '%s': no buffer given to capture %s", s->name,
                                stream_name[idx]);
      return open_pipe (s, idx, buf, src, err);
    }
  return hoist_error_set (err, EINVAL, "cannot run '%s': unknown mode %d for %s", s->name, (int) mode,
                          stream_name[idx]);
}

static int
prepare_child (struct spawn_state *s, const struct hoist_spawn_opts *opts, struct spawn_child *c,
               struct hoist_error **err)
{
  static char *const empty_env[] = { NULL };
  long max_fd = sysconf (_SC_OPEN_MAX);
  int ret = 0;

  c->argv = opts->argv;
  c->envp = opts->envp != NULL ? opts->envp : empty_env;
  c->cwd = opts->cwd;
  c->parent = getpid ();
  c->max_fd = max_fd > 0 && max_fd < INT_MAX ? (int) max_fd : 65536;

  c->src_fd[0] = opts->stdin_fd;
  if (opts->stdin_fd < 0)
    ret = open_devnull (s, &c->src_fd[0], err);
  if (ret == 0)
    ret = prepare_output (s, SPAWN_STDOUT, opts->stdout_mode, opts->stdout_fd, opts->stdout_buf, &c->src_fd[1], err);
  if (ret == 0)
    ret = prepare_output (s, SPAWN_STDERR, opts->stderr_mode, opts->stderr_fd, opts->stderr_buf, &c->src_fd[2], err);
  if (ret == 0)
    ret = open_pipe (s, SPAWN_REPORT, &s->report, &c->report_fd, err);
  return ret;
}

/* ---------------------------------------------------------------------
 * The child: async-signal-safe calls only, from fork to exec
 * ------------------------------------------------------------------- */

static _Noreturn void
child_fail (int report_fd, int stage)
{
  struct child_report r = { stage, errno };
  ssize_t n;

  do
    n = write (report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  _exit (127);
}

/* The program starts with default dispositions and nothing blocked,
 * whatever the parent had: an ignored SIGPIPE, say, would otherwise be
 * inherited through exec. */
static void
child_reset_signals (void)
{
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigset_t none;

  /* Signals that cannot be changed (SIGKILL, SIGSTOP, glibc's own) just
   * fail with EINVAL. */
  for (int sig = 1; sig < NSIG; sig++)
    sigaction (sig, &dfl, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

/* Every source is first copied above 2, so no dup2 below can overwrite
 * the source of another stream (stdout and stderr swapped, or a source
 * that is itself 0, 1 or 2). */
static int
child_setup_stdio (const int src[3])
{
  int high[3];

  for (int i = 0; i < 3; i++)
    {
      high[i] = -1;
      if (src[i] >= 0 && (high[i] = fcntl (src[i], F_DUPFD_CLOEXEC, 3)) < 0)
        return -1;
    }
  for (int i = 0; i < 3; i++)
    if (high[i] >= 0 && dup2 (high[i], i) < 0)
      return -1;
  return 0;
}

/* Close every fd above 2 except KEEP (the report pipe, itself above 2 and
 * close-on-exec). */
static void
child_close_fds (int keep, int max_fd)
{
#ifdef SYS_close_range
  if ((keep == 3 || syscall (SYS_close_range, 3U, (unsigned) keep - 1, 0U) == 0)
      && syscall (SYS_close_range, (unsigned) keep + 1, ~0U, 0U) == 0)
    return;
#endif
  for (int fd = 3; fd < max_fd; fd++)
    if (fd != keep)
      close (fd);
}

static _Noreturn void
child_run (const struct spawn_child *c)
{
  int report = c->report_fd;

  /* A parent with 0, 1 or 2 closed may have got the report pipe there;
   * move it out of the way of the stdio set-up. */
  if (report <= 2 && (report = fcntl (report, F_DUPFD_CLOEXEC, 3)) < 0)
    _exit (127);
  child_reset_signals ();
  /* Die with the parent.  The signal follows the parent *thread*, which
   * is the one blocked in hoist_spawn() for the child's whole life. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    child_fail (report, STAGE_PREPARE);
  /* The parent may have died before prctl: then nobody would kill us. */
  if (getppid () != c->parent)
    _exit (127);
  if (child_setup_stdio (c->src_fd) < 0)
    child_fail (report, STAGE_STDIO);
  if (c->cwd != NULL && chdir (c->cwd) < 0)
    child_fail (report, STAGE_CHDIR);
  child_close_fds (report, c->max_fd);
  execve (c->path, c->argv, c->envp);
  child_fail (report, STAGE_EXEC);
}

/* ---------------------------------------------------------------------
 * The parent: fork, then read pipes and wait under one deadline
 * ------------------------------------------------------------------- */

/* Nanoseconds, so that a timeout never fires early through rounding. */
static uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAWN_USE_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SPAWN_USE_FORK 1
#endif
#endif

/* The child's stack until exec: the signal resets and the report need
 * little, but a page fault in a guard page is better than a silent
 * overrun of the parent's memory. */
#define CHILD_STACK_SIZE (256 * 1024)

#ifndef SPAWN_USE_FORK
static int
child_entry (void *arg)
{
  child_run (arg);
}
#endif

/* Start the child (see the file's head).  Returns its pid, or -1 with
 * errno. */
static pid_t
start_child (const struct spawn_child *c)
{
#ifdef SPAWN_USE_FORK
  pid_t pid = fork ();

  if (pid == 0)
    child_run (c);
  return pid;
#else
  void *stack = mmap (NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t pid;
  int saved;

  if (stack == MAP_FAILED)
    return -1;
  /* The stack grows down on every architecture hoist builds for. */
  pid = clone (child_entry, (char *) stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *) c);
  saved = errno;
  munmap (stack, CHILD_STACK_SIZE);
  errno = saved;
  return pid;
#endif
}

/* Start the child with every signal blocked, so none of the parent's
 * handlers can run in it before it resets them. */
static int
spawn_fork (struct spawn_state *s, const struct spawn_child *c, struct hoist_error **err)
{
  sigset_t all, old;
  int saved;

  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  s->pid = start_child (c);
  saved = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (s->pid < 0)
    return hoist_error_set (err, saved, "cannot fork to run '%s'", s->name);

  /* The write ends belong to the child now; EOF on the pipes needs them
   * closed here. */
  for (int i = 0; i < SPAWN_NPIPES; i++)
    close_fd (&s->child_end[i]);
  close_fd (&s->devnull);
#ifdef SYS_pidfd_open
  s->pidfd = (int) syscall (SYS_pidfd_open, s->pid, 0U);
  if (s->pidfd < 0)
    s->pidfd = -1; /* older kernel: poll waitpid instead */
#endif
  return 0;
}

static bool
readers_done (const struct spawn_state *s)
{
  for (int i = 0; i < SPAWN_NPIPES; i++)
    if (s->reader[i].fd >= 0)
      return false;
  return true;
}

static int
poll_timeout (const struct spawn_state *s)
{
  int timeout = -1;

  if (s->deadline_ns != 0)
    {
      uint64_t now = now_ns ();
      uint64_t left = s->deadline_ns > now ? s->deadline_ns - now : 0;
      uint64_t left_ms = (left + 999999) / 1000000; /* round up: no busy loop */
      timeout = left_ms > INT_MAX ? INT_MAX : (int) left_ms;
    }
  if (!s->reaped && s->pidfd < 0 && (timeout < 0 || timeout > SPAWN_REAP_TICK_MS))
    timeout = SPAWN_REAP_TICK_MS;
  return timeout;
}

/* One read per wake-up; EOF closes the reader.  Going over the buffer's
 * limit fails with E2BIG. */
static int
reader_read (struct spawn_state *s, int idx, struct hoist_error **err)
{
  struct spawn_reader *r = &s->reader[idx];
  char chunk[16384];
  ssize_t n = read (r->fd, chunk, sizeof chunk);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n < 0)
    return hoist_error_set (err, errno, "cannot read the %s of '%s'", stream_name[idx], s->name);
  if (n == 0)
    {
      close_fd (&r->fd);
      return 0;
    }
  if (hoist_buf_add (r->buf, chunk, (size_t) n, err) < 0)
    return hoist_error_wrap (err, "%s of '%s' is too large", stream_name[idx], s->name);
  return 0;
}

/* Gather the descriptors to poll into FDS; IDX[i] says which reader
 * fds[i] is, or -1 for the pidfd. */
static nfds_t
collect_pollfds (const struct spawn_state *s, struct pollfd *fds, int *idx)
{
  nfds_t n = 0;

  for (int i = 0; i < SPAWN_NPIPES; i++)
    if (s->reader[i].fd >= 0)
      {
        fds[n] = (struct pollfd){ .fd = s->reader[i].fd, .events = POLLIN };
        idx[n++] = i;
      }
  if (!s->reaped && s->pidfd >= 0)
    {
      fds[n] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
      idx[n++] = -1;
    }
  return n;
}

/* Read every pipe to EOF and reap the child.  Returns -ETIMEDOUT
 * (without setting *ERR) when the deadline passes first. */
static int
spawn_wait (struct spawn_state *s, struct hoist_error **err)
{
  for (;;)
    {
      struct pollfd fds[SPAWN_NPIPES + 1];
      int idx[SPAWN_NPIPES + 1];
      nfds_t n;

      if (!s->reaped && s->pidfd < 0 && reap (s, WNOHANG, err) < 0)
        return -1;
      if (s->reaped && readers_done (s))
        return 0;
      /* Checked on every turn, not only when poll times out: a child
       * that floods its output would otherwise never time out. */
      if (s->deadline_ns != 0 && now_ns () >= s->deadline_ns)
        return -ETIMEDOUT;
      n = collect_pollfds (s, fds, idx);
      if (poll (fds, n, poll_timeout (s)) < 0)
        {
          if (errno == EINTR)
            continue;
          return hoist_error_set (err, errno, "cannot wait for '%s'", s->name);
        }
      for (nfds_t i = 0; i < n; i++)
        {
          int ret = 0;
          if (fds[i].revents == 0)
            continue;
          if (idx[i] < 0)
            ret = reap (s, WNOHANG, err);
          else
            ret = reader_read (s, idx[i], err);
          if (ret < 0)
            return ret;
        }
    }
}

static void
fill_result (const struct spawn_state *s, struct hoist_spawn_result *res)
{
  if (!s->reaped)
    return;
  if (WIFSIGNALED (s->status))
    {
      res->signaled = true;
      res->term_signal = WTERMSIG (s->status);
    }
  else if (WIFEXITED (s->status))
    res->exit_code = WEXITSTATUS (s->status);
}

/* Turn the child's report, if it sent one, into the error. */
static int
check_report (const struct spawn_state *s, const char *cwd, struct hoist_error **err)
{
  struct child_report r;

  if (s->report.len == 0)
    return 0;
  if (s->report.len != sizeof r)
    return hoist_error_set (err, EIO, "cannot run '%s': garbled report from the child", s->name);
  memcpy (&r, s->report.data, sizeof r);
  switch (r.stage)
    {
    case STAGE_STDIO:
      return hoist_error_set (err, r.errnum, "cannot set up stdin, stdout and stderr for '%s'", s->name);
    case STAGE_CHDIR:
      return hoist_error_set (err, r.errnum, "cannot run '%s' in '%s'", s->name, cwd);
    case STAGE_PREPARE:
      return hoist_error_set (err, r.errnum, "cannot prepare the process for '%s'", s->name);
    default:
      return hoist_error_set (err, r.errnum, "cannot run '%s'", s->name);
    }
}

static int
timed_out (struct spawn_state *s, unsigned timeout_ms, struct hoist_spawn_result *res, struct hoist_error **err)
{
  kill_and_reap (s);
  fill_result (s, res);
  res->timed_out = true;
  hoist_error_set (err, 0, "'%s' did not finish within %u ms and was killed", s->name, timeout_ms);
  if (err != NULL)
    (*err)->status = ETIMEDOUT;
  return -ETIMEDOUT;
}

int
hoist_spawn (const struct hoist_spawn_opts *opts, struct hoist_spawn_result *res, struct hoist_error **err)
{
  cleanup_spawn_state struct spawn_state s;
  cleanup_free char *path = NULL;
  struct spawn_child c = { 0 };
  struct hoist_spawn_result scratch;
  int ret;

  spawn_state_init (&s, opts->argv != NULL ? opts->argv[0] : NULL);
  if (res == NULL)
    res = &scratch;
  *res = (struct hoist_spawn_result){ .exit_code = -1 };
  if (s.name == NULL)
    return hoist_error_set (err, EINVAL, "cannot run a program: argv is empty");
  if (opts->timeout_ms != 0)
    s.deadline_ns = now_ns () + (uint64_t) opts->timeout_ms * 1000000;

  ret = resolve_program (s.name, opts->envp, &path, err);
  if (ret < 0)
    return ret;
  c.path = path;
  ret = prepare_child (&s, opts, &c, err);
  if (ret < 0)
    return ret;
  ret = spawn_fork (&s, &c, err);
  if (ret < 0)
    return ret;

  ret = spawn_wait (&s, err);
  if (ret == -ETIMEDOUT)
    return timed_out (&s, opts->timeout_ms, res, err);
  if (ret < 0)
    return ret;
  fill_result (&s, res);
  return check_report (&s, opts->cwd, err);
}
