/* run.c — one build step in a sandbox: the fixed sequence.
 *
 * Parent (the calling thread of a possibly multi-threaded hoist):
 *   1. resolve the isolation (idmap.c: AUTO falls back to chroot as root)
 *   2. prepare everything that allocates: id maps, mount points in the
 *      rootfs (mounts.c), the compiled seccomp filter (seccomp.c), pipes
 *   3. clone into new user, mount, pid, ipc, uts and cgroup namespaces
 *      (and net for SANDBOX_NETWORK_NONE); the child is pid 1 there
 *   4. write uid_map and gid_map (idmap.c), then let the child go
 *   5. wait under the timeout; on expiry SIGKILL the child: as pid 1 of
 *      the namespace, its death takes every process of the step along
 *   6. remove what step 2 made in the rootfs
 * Child, the sandbox's init (pid 1):
 *   7. become the namespace's root, build the tree and pivot_root into
 *      it (mounts.c), hostname, lo up
 *   8. fork the step, then only reap; report the step's wait status and
 *      exit with it (128 + signal when killed), as tini does
 * The step (init's child):
 *   9. new session, stdio, cwd, then capabilities, groups, gid, uid,
 *      rlimits and no_new_privs (seccomp.c), every other fd closed, the
 *      seccomp filter last, execve through PATH of the step's own env
 *
 * Chroot isolation is the same sequence without the user namespace, for
 * root.  Where root may not make namespaces either (a container that
 * forbids unshare) the step is only chrooted ("bare"): no /proc, a /dev
 * of device nodes made in the rootfs (removed after), no bind mounts,
 * chroot(2) itself denied, and since no pid namespace takes the step's
 * processes along, init is a child subreaper that kills them all.
 *
 * Between clone and execve only async-signal-safe calls are made (see
 * sandbox_private.h).  Every failure there is written as a struct
 * sandbox_report to a close-on-exec pipe, naming the step of the
 * sequence, a path where there is one, and errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

#define DEFAULT_HOSTNAME "buildkitsandbox"
#define DEFAULT_PIDS_MAX 4096

/* Without a pidfd, how often the parent looks for the child's exit. */
#define REAP_TICK_MS 10
/* After a timeout in bare chroot isolation, how long init may take to
 * kill the step's tree before it is killed itself. */
#define KILL_GRACE_MS 5000

/* All the child needs, prepared before clone. */
struct run_child
{
  const struct sandbox_tree *tree;
  const struct sandbox_filter *filter;
  const struct sandbox_mode *mode;
  struct sandbox_creds creds;
  char *const *argv;
  char *const *envp; /* never NULL */
  const char *cwd;
  const char *hostname;
  int sync_fd;   /* read end: one byte when the maps are written */
  int report_fd; /* write end */
  int stdio[3];  /* sources of fds 0, 1, 2 */
  int max_fd;    /* bound for the close loop without close_range */
};

/* ---------------------------------------------------------------------
 * Child helpers (async-signal-safe)
 * ------------------------------------------------------------------- */

void
sandbox_strlcpy (char *dst, const char *s, size_t size)
{
  size_t i = 0;

  if (size == 0)
    return;
  for (; s != NULL && s[i] != '\0' && i + 1 < size; i++)
    dst[i] = s[i];
  dst[i] = '\0';
}

int
sandbox_fail (struct sandbox_report *r, enum sandbox_stage stage, const char *detail)
{
  int saved = errno;

  r->stage = (int32_t) stage;
  r->errnum = saved;
  r->value = 0;
  sandbox_strlcpy (r->detail, detail, sizeof r->detail);
  errno = saved;
  return -1;
}

static void
send_report (int fd, const struct sandbox_report *r)
{
  ssize_t n;

  do
    n = write (fd, r, sizeof *r);
  while (n < 0 && errno == EINTR);
}

static _Noreturn void
child_die (const struct run_child *c, const struct sandbox_report *r)
{
  send_report (c->report_fd, r);
  _exit (127);
}

static _Noreturn void
child_fail (const struct run_child *c, enum sandbox_stage stage, const char *detail)
{
  struct sandbox_report r = { 0 };

  sandbox_fail (&r, stage, detail);
  child_die (c, &r);
}

/* lo exists, down, in a new net namespace. */
static int
lo_up (void)
{
  struct ifreq ifr;
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int r;

  if (s < 0)
    return -1;
  memset (&ifr, 0, sizeof ifr);
  sandbox_strlcpy (ifr.ifr_name, "lo", sizeof ifr.ifr_name);
  r = ioctl (s, SIOCGIFFLAGS, &ifr);
  if (r == 0)
    {
      ifr.ifr_flags |= IFF_UP;
      r = ioctl (s, SIOCSIFFLAGS, &ifr);
    }
  close (s);
  return r;
}

/* ---------------------------------------------------------------------
 * The step: init's child
 * ------------------------------------------------------------------- */

static _Noreturn void
step_main (const struct run_child *c)
{
  struct sandbox_report r = { 0 };
  sigset_t none;

  /* 9a. Die with init (in bare chroot isolation nothing else would),
   *     and leave hoist's session and terminal. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || setsid () < 0)
    child_fail (c, SANDBOX_STAGE_FORK, NULL);
  if (c->mode->bare && sandbox_tree_chroot (c->tree, &r) < 0)
    child_die (c, &r);
  /* 9b. stdin from /dev/null, stdout and stderr to the spec's fds. */
  if (sandbox_setup_stdio (c->stdio) < 0)
    child_fail (c, SANDBOX_STAGE_STDIO, NULL);
  /* 9c. The working directory, made for the step's user if missing. */
  if (sandbox_enter_cwd (c->cwd, c->creds.uid, c->creds.gid, &r) < 0)
    child_die (c, &r);
  /* 9d. Capabilities, ids, rlimits, no_new_privs. */
  if (sandbox_creds_apply (&c->creds, &r) < 0)
    child_die (c, &r);
  /* 9e. Only 0, 1, 2 stay (and the report pipe, until execve). */
  sandbox_close_fds (c->report_fd, c->max_fd, 3);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* 9f. The filter last: nothing above needs a call it denies. */
  if (sandbox_filter_load (c->filter) < 0)
    child_fail (c, SANDBOX_STAGE_SECCOMP, NULL);
  sandbox_exec_in_root (c->argv, c->envp);
  child_fail (c, SANDBOX_STAGE_EXEC, c->argv[0]);
}

/* ---------------------------------------------------------------------
 * The sandbox's init
 * ------------------------------------------------------------------- */

/* "/proc/self/task/<tid>/children" into BUF (init has one thread). */
static void
children_path (char buf[64])
{
  static const char head[] = "/proc/self/task/", tail[] = "/children";
  pid_t tid = (pid_t) syscall (SYS_gettid);
  char digits[12];
  size_t n = 0, len = sizeof head - 1;

  memcpy (buf, head, len);
  do
    digits[n++] = (char) ('0' + tid % 10);
  while ((tid /= 10) != 0);
  while (n > 0)
    buf[len++] = digits[--n];
  memcpy (buf + len, tail, sizeof tail);
}

/* SIGKILL every pid listed in the file at PATH ("12 345 "). */
static void
kill_listed (const char *path)
{
  char buf[1024];
  long v = 0;
  bool in = false;
  ssize_t got;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return;
  while ((got = read (fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < got; i++)
      {
        if (buf[i] >= '0' && buf[i] <= '9')
          {
            v = v * 10 + (buf[i] - '0');
            in = true;
            continue;
          }
        if (in)
          kill ((pid_t) v, SIGKILL);
        v = 0;
        in = false;
      }
  if (in)
    kill ((pid_t) v, SIGKILL);
  close (fd);
}

/* Bare chroot isolation has no pid namespace to take every process
 * along: kill init's children until none is left.  Init is a child
 * subreaper, so each kill makes the victim's children init's, for the
 * next round.  Bounded (5 s), in case something will not die. */
static void
kill_children (pid_t step)
{
  const struct timespec tick = { 0, 10 * 1000 * 1000 };
  char path[64];

  children_path (path);
  kill (-step, SIGKILL);
  for (int round = 0; round < 500; round++)
    {
      kill_listed (path);
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      if (waitpid (-1, NULL, WNOHANG) < 0 && errno == ECHILD)
        return;
      nanosleep (&tick, NULL);
    }
}

/* Reap everything until the step itself exits, then tell the parent how
 * it ended and exit the same way.  In a pid namespace, init's exit kills
 * whatever the step left behind. */
static _Noreturn void
init_reap (const struct run_child *c, pid_t step)
{
  struct sandbox_report r = { .stage = SANDBOX_STAGE_EXITED };
  int status = 0;

  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, 0);

      if (p < 0 && errno == EINTR)
        continue;
      if (p < 0)
        break; /* ECHILD: cannot happen before the step is reaped */
      if (p == step)
        {
          status = st;
          break;
        }
    }
  if (c->mode->bare)
    kill_children (step);
  r.value = status;
  send_report (c->report_fd, &r);
  _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
}

static _Noreturn void
init_main (const struct run_child *c)
{
  struct sandbox_report r = { 0 };
  struct pollfd pfd = { .fd = c->sync_fd, .events = POLLIN };
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  char go;
  pid_t step;

  /* 7a. Die with the parent thread; no handler of the parent's may run
   *     here (every signal stays blocked in init); wait for the go, sent
   *     after the id maps.  EOF: the parent failed or died.  If it died
   *     between its go and our prctl, its end is closed now: POLLHUP. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    child_fail (c, SANDBOX_STAGE_SYNC, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    sigaction (sig, &dfl, NULL);
  umask (022);
  if (read (c->sync_fd, &go, 1) != 1)
    _exit (127);
  if (poll (&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP) != 0)
    _exit (127);
  close (c->sync_fd);
  /* 7b. Become the user namespace's root: the ids we were cloned with
   *     need not be mapped (host root's, when container 0 is host
   *     100000; files made with them fail, EOVERFLOW).  Init is a copy
   *     of hoist, secrets in memory included: not dumpable, its
   *     /proc/1/mem and environ stay closed to the step. */
  if (c->mode->userns && sandbox_set_ids (0, 0) < 0)
    child_fail (c, SANDBOX_STAGE_NS_ROOT, NULL);
  if (prctl (PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0)
    child_fail (c, SANDBOX_STAGE_NS_ROOT, NULL);

  /* 7c. The tree (with pid_max for init and the step's processes), then
   *     the names of this little world. */
  if (!c->mode->bare)
    {
      if (sandbox_tree_enter (c->tree, c->creds.pids_max + 2, &r) < 0)
        child_die (c, &r);
      if (sethostname (c->hostname, strlen (c->hostname)) < 0)
        child_fail (c, SANDBOX_STAGE_HOSTNAME, c->hostname);
      if ((c->mode->clone_flags & CLONE_NEWNET) != 0 && lo_up () < 0)
        child_fail (c, SANDBOX_STAGE_NETWORK, NULL);
    }
  else if (prctl (PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) < 0)
    child_fail (c, SANDBOX_STAGE_FORK, NULL);

  /* 8. The step, then only reaping; init keeps nothing but the pipe. */
  step = sandbox_raw_clone (0, NULL);
  if (step == 0)
    step_main (c);
  if (step < 0)
    child_fail (c, SANDBOX_STAGE_FORK, NULL);
  r = (struct sandbox_report){ .stage = SANDBOX_STAGE_STARTED, .value = step };
  send_report (c->report_fd, &r);
  sandbox_close_fds (c->report_fd, c->max_fd, 0);
  init_reap (c, step);
}

/* ---------------------------------------------------------------------
 * Parent: preparing
 * ------------------------------------------------------------------- */

struct run_state
{
  struct sandbox_mode mode;
  struct sandbox_idmaps maps;
  struct sandbox_tree tree;
  struct sandbox_filter filter;
  pid_t pid; /* init */
  int pidfd;
  bool reaped;
  int status; /* init's */
  int sync_r, sync_w, report_r, report_w, devnull;
  char rbuf[4 * sizeof (struct sandbox_report)];
  size_t rlen;
  pid_t step;  /* from SANDBOX_STAGE_STARTED */
  bool exited; /* SANDBOX_STAGE_EXITED came */
  int step_status;
  bool failed; /* a failure report came: the first is kept */
  struct sandbox_report failure;
  bool timed_out;
};

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
run_state_init (struct run_state *s)
{
  memset (s, 0, sizeof *s);
  sandbox_tree_init (&s->tree);
  s->pid = -1;
  s->pidfd = s->sync_r = s->sync_w = s->report_r = s->report_w = s->devnull = -1;
}

/* Kill the step: in a pid namespace, killing init is enough. */
static void
kill_step (struct run_state *s)
{
  if (s->mode.bare && s->step > 0)
    kill (-s->step, SIGKILL);
  else
    kill (s->pid, SIGKILL);
}

static int
reap (struct run_state *s, int flags)
{
  pid_t r;

  do
    r = waitpid (s->pid, &s->status, flags);
  while (r < 0 && errno == EINTR);
  if (r == s->pid || (r < 0 && errno == ECHILD))
    s->reaped = true;
  return r < 0 && errno != ECHILD ? -1 : 0;
}

static void
run_state_release (struct run_state *s)
{
  if (s->pid > 0 && !s->reaped)
    {
      kill_step (s);
      kill (s->pid, SIGKILL);
      reap (s, 0);
    }
  close_fd (&s->pidfd);
  close_fd (&s->sync_r);
  close_fd (&s->sync_w);
  close_fd (&s->report_r);
  close_fd (&s->report_w);
  close_fd (&s->devnull);
  /* Only now, with every process of the step gone. */
  sandbox_tree_release (&s->tree);
  sandbox_filter_release (&s->filter);
}

#define cleanup_run_state __attribute__ ((cleanup (run_state_release)))

/* Keep the child's fds above 2, where its stdio set-up cannot clobber
 * them. */
static int
fd_above_stdio (int *fd)
{
  int high;

  if (*fd > 2)
    return 0;
  high = fcntl (*fd, F_DUPFD_CLOEXEC, 3);
  if (high < 0)
    return -1;
  close (*fd);
  *fd = high;
  return 0;
}

static int
make_pipe (int *r, int *w, struct hoist_error **err)
{
  int p[2];

  if (pipe2 (p, O_CLOEXEC) < 0)
    return hoist_error_set (err, errno, "cannot make a pipe for the sandbox");
  *r = p[0];
  *w = p[1];
  if (fd_above_stdio (r) < 0 || fd_above_stdio (w) < 0)
    return hoist_error_set (err, errno, "cannot make a pipe for the sandbox");
  return 0;
}

static bool
hostname_valid (const char *h)
{
  size_t n = strlen (h);

  return n > 0 && n <= 64 && strspn (h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

static int
check_spec (const struct sandbox_spec *spec, struct hoist_error **err)
{
  if (spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
    return hoist_error_set (err, EINVAL, "cannot run a step: argv is empty");
  if (spec->cwd != NULL && spec->cwd[0] != '/')
    return hoist_error_set (err, EINVAL, "cannot run a step in '%s': the working directory must be absolute",
                            spec->cwd);
  if (spec->hostname != NULL && !hostname_valid (spec->hostname))
    return hoist_error_set (err, EINVAL, "cannot use '%s' as the step's hostname", spec->hostname);
  if ((spec->stdout_fd >= 0 && fcntl (spec->stdout_fd, F_GETFD) < 0)
      || (spec->stderr_fd >= 0 && fcntl (spec->stderr_fd, F_GETFD) < 0))
    return hoist_error_set (err, EBADF, "cannot give the step its stdout and stderr");
  return 0;
}

static int
prepare_ids (struct run_state *s, const struct sandbox_spec *spec, struct run_child *c, struct hoist_error **err)
{
  c->creds = (struct sandbox_creds){
    .uid = spec->uid,
    .gid = spec->gid,
    .groups = spec->groups,
    .n_groups = spec->n_groups,
    .bare = s->mode.bare,
    .pids_max = spec->pids_max != 0 ? spec->pids_max : DEFAULT_PIDS_MAX,
    .memory_max = spec->memory_max,
  };
  if (!s->mode.userns)
    return 0;
  if (spec->idmaps != NULL)
    s->maps = *spec->idmaps;
  else if (sandbox_idmaps_probe (&s->maps, err) < 0)
    return -1;
  c->creds.setgroups_denied = s->maps.single;
  return sandbox_idmaps_check (&s->maps, spec, err);
}

static int
prepare (struct run_state *s, const struct sandbox_spec *spec, struct run_child *c, struct hoist_error **err)
{
  static char *const empty_env[] = { NULL };
  long max_fd = sysconf (_SC_OPEN_MAX);

  c->argv = spec->argv;
  c->envp = spec->envp != NULL ? spec->envp : empty_env;
  c->cwd = spec->cwd != NULL ? spec->cwd : "/";
  c->hostname = spec->hostname != NULL ? spec->hostname : DEFAULT_HOSTNAME;
  c->mode = &s->mode;
  c->tree = &s->tree;
  c->filter = &s->filter;
  c->max_fd = max_fd > 0 && max_fd < INT_MAX ? (int) max_fd : 65536;
  if (prepare_ids (s, spec, c, err) < 0)
    return -1;
  if (sandbox_tree_open (&s->tree, spec->rootfs, err) < 0)
    return -1;
  if (s->mode.bare && spec->n_mounts > 0)
    return hoist_error_set_status (err, ENOTSUP,
                                   "cannot bind-mount into the step: chroot isolation here has no mount namespace");
  if (s->mode.bare ? sandbox_tree_prepare_bare (&s->tree, err) < 0
                   : sandbox_tree_prepare (&s->tree, spec, c->hostname, err) < 0)
    return -1;
  if (sandbox_filter_build (s->mode.bare, &s->filter, err) < 0)
    return -1;
  s->devnull = open ("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (s->devnull < 0 || fd_above_stdio (&s->devnull) < 0 || fd_above_stdio (&s->tree.root_fd) < 0)
    return hoist_error_set (err, errno, "cannot open '/dev/null' for the step");
  if (make_pipe (&s->sync_r, &s->sync_w, err) < 0 || make_pipe (&s->report_r, &s->report_w, err) < 0)
    return -1;
  if (fcntl (s->report_r, F_SETFL, O_NONBLOCK) < 0)
    return hoist_error_set (err, errno, "cannot set up the sandbox's report pipe");
  c->sync_fd = s->sync_r;
  c->report_fd = s->report_w;
  c->stdio[0] = s->devnull;
  c->stdio[1] = spec->stdout_fd >= 0 ? spec->stdout_fd : s->devnull;
  c->stdio[2] = spec->stderr_fd >= 0 ? spec->stderr_fd : s->devnull;
  return 0;
}

/* ---------------------------------------------------------------------
 * Parent: starting and waiting
 * ------------------------------------------------------------------- */

/* Steps 3 and 4.  Every signal is blocked across the clone, so none of
 * the parent's handlers can run in the child before init resets them. */
static int
start (struct run_state *s, const struct run_child *c, struct hoist_error **err)
{
  sigset_t all, old;
  int saved;

  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  s->pid = sandbox_raw_clone (s->mode.clone_flags, &s->pidfd);
  if (s->pid == 0)
    init_main (c);
  saved = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (s->pid < 0)
    return hoist_error_set (err, saved, "cannot create the sandbox's namespaces");
  close_fd (&s->sync_r);
  close_fd (&s->report_w);
  if (s->mode.userns && sandbox_idmaps_write (s->pid, &s->maps, err) < 0)
    return -1;
  if (write (s->sync_w, "x", 1) != 1)
    return hoist_error_set (err, errno, "cannot start the sandbox");
  return 0;
}

static void
take_report (struct run_state *s, const struct sandbox_report *r)
{
  if (r->stage == SANDBOX_STAGE_STARTED)
    s->step = (pid_t) r->value;
  else if (r->stage == SANDBOX_STAGE_EXITED)
    {
      s->exited = true;
      s->step_status = (int) r->value;
    }
  else if (!s->failed)
    {
      s->failed = true;
      s->failure = *r;
      s->failure.detail[sizeof s->failure.detail - 1] = '\0';
    }
}

/* Read what the pipe holds now; at EOF close it. */
static void
read_reports (struct run_state *s)
{
  while (s->report_r >= 0)
    {
      ssize_t n = read (s->report_r, s->rbuf + s->rlen, sizeof s->rbuf - s->rlen);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return; /* EAGAIN */
      if (n == 0)
        {
          close_fd (&s->report_r);
          return;
        }
      s->rlen += (size_t) n;
      while (s->rlen >= sizeof (struct sandbox_report))
        {
          struct sandbox_report r;

          memcpy (&r, s->rbuf, sizeof r);
          take_report (s, &r);
          s->rlen -= sizeof r;
          memmove (s->rbuf, s->rbuf + sizeof r, s->rlen);
        }
    }
}

static uint64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int
until (uint64_t when, uint64_t now)
{
  uint64_t left = when > now ? when - now : 0;
  return left > INT_MAX ? INT_MAX : (int) left;
}

/* Step 5: wait for init, reading its reports; kill on the deadline. */
static int
wait_step (struct run_state *s, unsigned timeout_s, struct hoist_error **err)
{
  /* The deadline; after it, how long init may take to clean up. */
  uint64_t next = timeout_s != 0 ? now_ms () + (uint64_t) timeout_s * 1000 : 0;

  for (;;)
    {
      struct pollfd fds[2];
      nfds_t n = 0;
      int wait_ms = s->pidfd < 0 ? REAP_TICK_MS : -1;
      uint64_t now;

      read_reports (s);
      if (reap (s, WNOHANG) < 0)
        return hoist_error_set (err, errno, "cannot wait for the sandbox");
      if (s->reaped)
        break;
      now = now_ms ();
      if (next != 0 && now >= next && s->timed_out)
        {
          kill (s->pid, SIGKILL);
          next = 0;
        }
      else if (next != 0 && now >= next)
        {
          s->timed_out = true;
          kill_step (s);
          next = now + KILL_GRACE_MS;
        }
      if (next != 0 && (wait_ms < 0 || until (next, now) < wait_ms))
        wait_ms = until (next, now);
      if (s->report_r >= 0)
        fds[n++] = (struct pollfd){ .fd = s->report_r, .events = POLLIN };
      if (s->pidfd >= 0)
        fds[n++] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
      if (poll (fds, n, wait_ms) < 0 && errno != EINTR)
        return hoist_error_set (err, errno, "cannot wait for the sandbox");
    }
  read_reports (s);
  return 0;
}

/* ---------------------------------------------------------------------
 * Parent: the outcome
 * ------------------------------------------------------------------- */

static const char *const stage_what[] = {
  [SANDBOX_STAGE_SYNC] = "wait for the id maps",
  [SANDBOX_STAGE_NS_ROOT] = "become root in the user namespace",
  [SANDBOX_STAGE_PRIVATE] = "make the mount tree private",
  [SANDBOX_STAGE_ROOT] = "bind-mount the root file system",
  [SANDBOX_STAGE_PROC] = "mount a fresh proc file system on",
  [SANDBOX_STAGE_PROC_MASK] = "protect the /proc path",
  [SANDBOX_STAGE_DEV] = "set up",
  [SANDBOX_STAGE_BIND] = "bind-mount onto",
  [SANDBOX_STAGE_PIVOT] = "pivot_root into the root file system",
  [SANDBOX_STAGE_CHROOT] = "chroot into",
  [SANDBOX_STAGE_HOSTNAME] = "set the hostname to",
  [SANDBOX_STAGE_NETWORK] = "bring up the loopback interface",
  [SANDBOX_STAGE_FORK] = "start the step's process",
  [SANDBOX_STAGE_STDIO] = "set up stdin, stdout and stderr",
  [SANDBOX_STAGE_CWD] = "create or enter the working directory",
  [SANDBOX_STAGE_CAPS] = "limit capabilities",
  [SANDBOX_STAGE_GROUPS] = "set the supplementary groups",
  [SANDBOX_STAGE_GID] = "switch to the step's gid",
  [SANDBOX_STAGE_UID] = "switch to the step's uid",
  [SANDBOX_STAGE_RLIMIT] = "set resource limits",
  [SANDBOX_STAGE_NO_NEW_PRIVS] = "set no_new_privs",
  [SANDBOX_STAGE_SECCOMP] = "load the seccomp filter",
};

static int
failure_error (const struct sandbox_report *r, const struct sandbox_spec *spec, struct hoist_error **err)
{
  cleanup_free char *detail = hoist_quote (r->detail, strlen (r->detail), 200, 0);
  cleanup_free char *rootfs
      = spec->root_name != NULL ? hoist_xstrdup (spec->root_name) : hoist_xasprintf ("'%s'", spec->rootfs);
  bool known
      = r->stage > 0 && (size_t) r->stage < sizeof stage_what / sizeof *stage_what && stage_what[r->stage] != NULL;

  if (r->stage == SANDBOX_STAGE_EXEC)
    return hoist_error_set (err, r->errnum, "cannot run '%s' in %s", detail, rootfs);
  return hoist_error_set (err, r->errnum, "cannot start the step in %s: cannot %s%s%s%s", rootfs,
                          known ? stage_what[r->stage] : "get going", detail[0] != '\0' ? " '" : "", detail,
                          detail[0] != '\0' ? "'" : "");
}

static void
fill_status (struct sandbox_result *res, int status)
{
  if (WIFSIGNALED (status))
    {
      res->signal = WTERMSIG (status);
      res->exit_code = 128 + res->signal;
    }
  else
    res->exit_code = WEXITSTATUS (status);
}

static int
finish (struct run_state *s, const struct sandbox_spec *spec, struct sandbox_result *res, struct hoist_error **err)
{
  res->timed_out = s->timed_out;
  if (s->failed)
    return failure_error (&s->failure, spec, err);
  if (s->exited)
    fill_status (res, s->step_status);
  else if (s->timed_out)
    fill_status (res, s->status); /* init killed: SIGKILL */
  else
    {
      cleanup_free char *how = WIFSIGNALED (s->status) ? hoist_xasprintf ("killed by signal %d", WTERMSIG (s->status))
                                                       : hoist_xasprintf ("exit code %d", WEXITSTATUS (s->status));
      return hoist_error_set (err, EIO, "the sandbox of the step in '%s' ended unexpectedly (%s)", spec->rootfs, how);
    }
  return 0;
}

int
sandbox_run (const struct sandbox_spec *spec, struct sandbox_result *res, struct hoist_error **err)
{
  cleanup_run_state struct run_state s;
  cleanup_free char *why = NULL;
  struct run_child c;
  int ret;

  run_state_init (&s);
  memset (&c, 0, sizeof c);
  *res = (struct sandbox_result){ .exit_code = -1 };
  if (check_spec (spec, err) < 0)
    return -1;
  ret = sandbox_mode_resolve (spec->isolation, spec->network == SANDBOX_NETWORK_NONE, &s.mode, &why);
  if (ret < 0)
    return hoist_error_set_status (err, -ret, "%s", why);
  res->isolation = s.mode.isolation;
  if (prepare (&s, spec, &c, err) < 0)
    return -1;
  res->single_id = s.mode.userns && s.maps.single;
  if (start (&s, &c, err) < 0 || wait_step (&s, spec->timeout_s, err) < 0)
    return -1;
  return finish (&s, spec, res, err);
}
