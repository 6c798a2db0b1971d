/* test_spawn.c — hoist_spawn: capture, exit status, errors, timeout,
 * environment, cwd, descriptor hygiene, limits.
 *
 * /bin/sh appears below only as a test program that writes to stderr or
 * kills itself; hoist itself never runs a shell. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* Run ARGV with stdout and stderr captured into OUT and ERRBUF. */
static int
run_capture (char *const *argv, char *const *envp, struct hoist_buf *out, struct hoist_buf *errbuf,
             struct hoist_spawn_result *res, struct hoist_error **err)
{
  struct hoist_spawn_opts o = {
    .argv = argv,
    .envp = envp,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = out,
    .stderr_mode = HOIST_SPAWN_CAPTURE,
    .stderr_buf = errbuf,
  };

  return hoist_spawn (&o, res, err);
}

static uint64_t
elapsed_ms (const struct timespec *since)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (uint64_t) (now.tv_sec - since->tv_sec) * 1000 + (uint64_t) ((now.tv_nsec - since->tv_nsec) / 1000000);
}

static void
test_spawn_echo (void **state)
{
  char *const argv[] = { "/bin/echo", "hello", "two words", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_buf struct hoist_buf errbuf;
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_result res;

  hoist_buf_init (&out, 1024);
  hoist_buf_init (&errbuf, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &errbuf, &res, &err), 0);
  assert_null (err);
  assert_string_equal (out.data, "hello two words\n");
  assert_int_equal (out.len, 16);
  assert_string_equal (errbuf.data, "");
  assert_false (res.signaled);
  assert_false (res.timed_out);
  assert_int_equal (res.exit_code, 0);
}

static void
test_spawn_path_lookup (void **state)
{
  char *const argv[] = { "echo", "found", NULL };
  char *const env_nopath[] = { "A=1", NULL };
  char *const env_badpath[] = { "PATH=/nonexistent:relative/bin:", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_error struct hoist_error *err = NULL;

  /* no PATH in envp: the parent's */
  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, env_nopath, &out, &out, NULL, &err), 0);
  assert_string_equal (out.data, "found\n");

  /* PATH of envp wins, and relative or empty entries are not searched */
  hoist_buf_reset (&out);
  assert_int_equal (run_capture (argv, env_badpath, &out, &out, NULL, &err), -ENOENT);
  assert_string_equal (err->msg, "cannot run 'echo': No such file or directory");
  assert_int_equal (out.len, 0);
}

static void
test_spawn_stderr_and_exit_code (void **state)
{
  char *const argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_buf struct hoist_buf errbuf;
  struct hoist_spawn_result res;

  hoist_buf_init (&out, 1024);
  hoist_buf_init (&errbuf, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &errbuf, &res, NULL), 0);
  assert_string_equal (out.data, "out\n");
  assert_string_equal (errbuf.data, "err\n");
  assert_false (res.signaled);
  assert_int_equal (res.exit_code, 3);
}

static void
test_spawn_signaled (void **state)
{
  char *const argv[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
  cleanup_buf struct hoist_buf out;
  struct hoist_spawn_result res;

  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, &res, NULL), 0);
  assert_true (res.signaled);
  assert_int_equal (res.term_signal, SIGKILL);
  assert_false (res.timed_out);
}

static void
test_spawn_not_found (void **state)
{
  char *const argv[] = { "hoist-no-such-program", NULL };
  char *const abs_argv[] = { "/nonexistent/prog", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, NULL, &err), -ENOENT);
  assert_int_equal (err->status, ENOENT);
  assert_string_equal (err->msg, "cannot run 'hoist-no-such-program': No such file or directory");

  /* with a '/', the failure comes from the child's execve, via the pipe */
  assert_int_equal (run_capture (abs_argv, NULL, &out, &out, NULL, &err), -ENOENT);
  assert_int_equal (err->status, ENOENT);
  assert_string_equal (err->msg, "cannot run '/nonexistent/prog': No such file or directory");
  assert_int_equal (out.len, 0);
}

static void
test_spawn_exec_fails_in_child (void **state)
{
  char path[] = "/tmp/hoist-noexec-XXXXXX";
  int fd = mkstemp (path);
  char *const argv[] = { path, NULL };
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *want = NULL;
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1 };

  assert_true (fd >= 0);
  assert_int_equal (write (fd, "#!/bin/sh\n", 10), 10);
  close (fd); /* mode 0600: not executable */
  assert_int_equal (hoist_spawn (&o, NULL, &err), -EACCES);
  want = hoist_xasprintf ("cannot run '%s': Permission denied", path);
  assert_string_equal (err->msg, want);
  unlink (path);
}

static void
test_spawn_timeout (void **state)
{
  char *const argv[] = { "sleep", "5", NULL };
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1, .timeout_ms = 200 };
  struct timespec start;
  uint64_t took;

  clock_gettime (CLOCK_MONOTONIC, &start);
  assert_int_equal (hoist_spawn (&o, &res, &err), -ETIMEDOUT);
  took = elapsed_ms (&start);
  assert_true (took >= 200);
  assert_true (took < 1500);
  assert_true (res.timed_out);
  assert_true (res.signaled);
  assert_int_equal (res.term_signal, SIGKILL);
  assert_int_equal (err->status, ETIMEDOUT);
  assert_string_equal (err->msg, "'sleep' did not finish within 200 ms and was killed");
}

static void
test_spawn_timeout_not_hit (void **state)
{
  char *const argv[] = { "/bin/echo", "quick", NULL };
  cleanup_buf struct hoist_buf out;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = &out,
    .timeout_ms = 5000,
  };

  hoist_buf_init (&out, 64);
  assert_int_equal (hoist_spawn (&o, &res, NULL), 0);
  assert_false (res.timed_out);
  assert_int_equal (res.exit_code, 0);
  assert_string_equal (out.data, "quick\n");
}

static void
test_spawn_env_exact (void **state)
{
  char *const argv[] = { "/usr/bin/env", NULL };
  char *const envp[] = { "A=1", "B=two words", "EMPTY=", NULL };
  cleanup_buf struct hoist_buf out;

  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, envp, &out, &out, NULL, NULL), 0);
  assert_string_equal (out.data, "A=1\nB=two words\nEMPTY=\n");
}

static void
test_spawn_env_empty (void **state)
{
  char *const argv[] = { "/usr/bin/env", NULL };
  cleanup_buf struct hoist_buf out;
  struct hoist_spawn_result res;

  assert_non_null (getenv ("PATH"));
  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, &res, NULL), 0);
  assert_int_equal (res.exit_code, 0);
  assert_string_equal (out.data, "");
}

static void
test_spawn_cwd (void **state)
{
  char dir[] = "/tmp/hoist-cwd-XXXXXX";
  char *const argv[] = { "/bin/pwd", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_free char *want = NULL;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = &out,
  };

  assert_non_null (mkdtemp (dir));
  o.cwd = dir;
  hoist_buf_init (&out, 1024);
  assert_int_equal (hoist_spawn (&o, NULL, NULL), 0);
  want = hoist_xasprintf ("%s\n", dir);
  assert_string_equal (out.data, want);
  rmdir (dir);
}

static void
test_spawn_cwd_missing (void **state)
{
  char *const argv[] = { "/bin/pwd", NULL };
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1, .cwd = "/nonexistent/dir" };

  assert_int_equal (hoist_spawn (&o, NULL, &err), -ENOENT);
  assert_string_equal (err->msg, "cannot run '/bin/pwd' in '/nonexistent/dir': No such file or directory");
}

/* The child sees 0, 1, 2 and nothing else: ls's own directory fd is 3. */
static void
test_spawn_no_fd_leak (void **state)
{
  char *const argv[] = { "ls", "/proc/self/fd", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_close int leaky = open ("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
  int high = -1;

  assert_true (leaky >= 0);
  high = dup2 (leaky, 77);
  assert_int_equal (high, 77);
  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, NULL, NULL), 0);
  assert_string_equal (out.data, "0\n1\n2\n3\n");
  close (high);
}

static void
test_spawn_capture_limit (void **state)
{
  /* yes never stops: only the kill on overflow ends it */
  char *const argv[] = { "yes", "spam", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = &out,
    .timeout_ms = 10000,
  };
  struct timespec start;

  hoist_buf_init (&out, 1000);
  clock_gettime (CLOCK_MONOTONIC, &start);
  assert_int_equal (hoist_spawn (&o, &res, &err), -E2BIG);
  assert_true (elapsed_ms (&start) < 5000);
  assert_int_equal (err->status, E2BIG);
  assert_string_equal (err->msg, "stdout of 'yes' is too large: data exceeds the limit of "
                                 "1000 bytes: Argument list too long");
  assert_true (out.len <= 1000);
  assert_false (res.timed_out);
}

static void
test_spawn_stdin_from_file (void **state)
{
  char path[] = "/tmp/hoist-stdin-XXXXXX";
  int fd = mkstemp (path);
  char *const argv[] = { "cat", NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_close int in = -1;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = &out,
  };

  assert_true (fd >= 0);
  assert_int_equal (write (fd, "from a file\nline 2\n", 19), 19);
  close (fd);
  in = open (path, O_RDONLY | O_CLOEXEC);
  assert_true (in >= 0);
  o.stdin_fd = in;
  hoist_buf_init (&out, 1024);
  assert_int_equal (hoist_spawn (&o, NULL, NULL), 0);
  assert_string_equal (out.data, "from a file\nline 2\n");
  unlink (path);
}

static void
test_spawn_stdin_null (void **state)
{
  char *const argv[] = { "cat", NULL };
  cleanup_buf struct hoist_buf out;
  struct hoist_spawn_result res;

  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, &res, NULL), 0);
  assert_int_equal (res.exit_code, 0);
  assert_int_equal (out.len, 0);
}

/* FD mode, with stdout and stderr both sent to one file. */
static void
test_spawn_output_to_fd (void **state)
{
  char path[] = "/tmp/hoist-out-XXXXXX";
  cleanup_close int fd = mkstemp (path);
  char *const argv[] = { "/bin/sh", "-c", "echo one; echo two >&2", NULL };
  cleanup_buf struct hoist_buf got;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_FD,
    .stderr_mode = HOIST_SPAWN_FD,
  };

  assert_true (fd >= 0);
  o.stdout_fd = fd;
  o.stderr_fd = fd;
  assert_int_equal (hoist_spawn (&o, NULL, NULL), 0);
  /* the fd stays the caller's */
  assert_true (fcntl (fd, F_GETFD) >= 0);
  hoist_buf_init (&got, 1024);
  assert_int_equal (hoist_buf_read_file (&got, path, NULL), 0);
  assert_string_equal (got.data, "one\ntwo\n");
  unlink (path);
}

/* Sources that are themselves 0, 1 or 2, crossed: the child's stdout goes
 * to our fd 2 and its stderr to our fd 1.  Our 1 and 2 point at two files
 * for the duration. */
static void
test_spawn_stdio_swap (void **state)
{
  char path_a[] = "/tmp/hoist-a-XXXXXX";
  char path_b[] = "/tmp/hoist-b-XXXXXX";
  cleanup_close int a = mkstemp (path_a);
  cleanup_close int b = mkstemp (path_b);
  cleanup_close int saved1 = dup (1);
  cleanup_close int saved2 = dup (2);
  char *const argv[] = { "/bin/sh", "-c", "echo out; echo err >&2", NULL };
  cleanup_buf struct hoist_buf got_a;
  cleanup_buf struct hoist_buf got_b;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_FD,
    .stdout_fd = 2,
    .stderr_mode = HOIST_SPAWN_FD,
    .stderr_fd = 1,
  };
  int ret;

  assert_true (a >= 0 && b >= 0 && saved1 >= 0 && saved2 >= 0);
  fflush (stdout);
  dup2 (a, 1);
  dup2 (b, 2);
  ret = hoist_spawn (&o, NULL, NULL);
  dup2 (saved1, 1);
  dup2 (saved2, 2);

  assert_int_equal (ret, 0);
  hoist_buf_init (&got_a, 1024);
  hoist_buf_init (&got_b, 1024);
  assert_int_equal (hoist_buf_read_file (&got_a, path_a, NULL), 0);
  assert_int_equal (hoist_buf_read_file (&got_b, path_b, NULL), 0);
  unlink (path_a);
  unlink (path_b);
  assert_string_equal (got_a.data, "err\n");
  assert_string_equal (got_b.data, "out\n");
}

/* State letter of /proc/PID/stat, or 0 when the process is gone. */
static char
proc_state (pid_t pid)
{
  cleanup_free char *path = hoist_xasprintf ("/proc/%d/stat", (int) pid);
  cleanup_buf struct hoist_buf stat;
  const char *paren;

  hoist_buf_init (&stat, 4096);
  if (hoist_buf_read_file (&stat, path, NULL) < 0)
    return 0;
  paren = strrchr (stat.data, ')');
  return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

/* When the process that called hoist_spawn dies, the child is killed. */
static void
test_spawn_dies_with_parent (void **state)
{
  char *const argv[] = { "/bin/sh", "-c", "echo $$; exec sleep 30", NULL };
  int p[2];
  char line[32] = "";
  ssize_t n;
  pid_t helper, grandchild;
  char st;

  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  helper = fork ();
  assert_true (helper >= 0);
  if (helper == 0)
    {
      struct hoist_spawn_opts o = {
        .argv = argv,
        .stdin_fd = -1,
        .stdout_mode = HOIST_SPAWN_FD,
        .stdout_fd = p[1],
        .stderr_mode = HOIST_SPAWN_INHERIT,
      };
      _exit (hoist_spawn (&o, NULL, NULL) == 0 ? 0 : 1);
    }
  close (p[1]);
  n = read (p[0], line, sizeof line - 1);
  close (p[0]);
  assert_true (n > 1 && line[n - 1] == '\n');
  line[n - 1] = '\0';
  grandchild = (pid_t) strtol (line, NULL, 10);
  assert_true (grandchild > 1);
  st = proc_state (grandchild);
  assert_true (st != 0 && st != 'Z'); /* alive */

  kill (helper, SIGKILL);
  assert_int_equal (waitpid (helper, NULL, 0), helper);
  /* gone, or a zombie waiting for init to reap it */
  for (int i = 0; i < 200 && (st = proc_state (grandchild)) != 0 && st != 'Z'; i++)
    usleep (10000);
  if (st != 0 && st != 'Z')
    kill (grandchild, SIGKILL);
  assert_true (st == 0 || st == 'Z');
}

/* The child starts with default dispositions and an empty signal mask,
 * whatever the parent has. */
static void
test_spawn_signals_reset (void **state)
{
  char *const argv[] = { "grep", "^Sig[BI]", "/proc/self/status", NULL };
  cleanup_buf struct hoist_buf out;
  struct sigaction ign = { .sa_handler = SIG_IGN };
  struct sigaction old_pipe, old_term;
  sigset_t block, old_mask;

  sigaction (SIGPIPE, &ign, &old_pipe);
  sigaction (SIGTERM, &ign, &old_term);
  sigemptyset (&block);
  sigaddset (&block, SIGUSR1);
  sigprocmask (SIG_BLOCK, &block, &old_mask);

  hoist_buf_init (&out, 1024);
  assert_int_equal (run_capture (argv, NULL, &out, &out, NULL, NULL), 0);

  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  sigaction (SIGPIPE, &old_pipe, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  /* Signals 32 and 33 are glibc's own: a parent (make's test driver does)
   * may hand them down ignored and glibc's sigaction cannot touch them, so
   * only the standard signals 1-31 are checked. */
  assert_non_null (strstr (out.data, "SigBlk:\t0000000000000000\n"));
  const char *sigign = strstr (out.data, "SigIgn:\t");
  assert_non_null (sigign);
  unsigned long long mask = strtoull (sigign + 8, NULL, 16);
  assert_int_equal (mask & 0x7fffffffULL, 0);
}

static void
test_spawn_bad_opts (void **state)
{
  char *const empty[] = { NULL };
  char *const argv[] = { "/bin/echo", NULL };
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_opts o = { .argv = empty, .stdin_fd = -1 };

  assert_int_equal (hoist_spawn (&o, NULL, &err), -EINVAL);
  assert_string_equal (err->msg, "cannot run a program: argv is empty: Invalid argument");

  o.argv = argv;
  o.stdout_mode = HOIST_SPAWN_CAPTURE;
  assert_int_equal (hoist_spawn (&o, NULL, &err), -EINVAL);
  assert_string_equal (err->msg, "cannot run '/bin/echo': no buffer given to capture stdout: Invalid argument");

  o.stdout_mode = HOIST_SPAWN_FD;
  o.stdout_fd = -1;
  assert_int_equal (hoist_spawn (&o, NULL, &err), -EBADF);
  assert_string_equal (err->msg, "cannot run '/bin/echo': no fd given for stdout: Bad file descriptor");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_spawn_echo),
    cmocka_unit_test (test_spawn_path_lookup),
    cmocka_unit_test (test_spawn_stderr_and_exit_code),
    cmocka_unit_test (test_spawn_signaled),
    cmocka_unit_test (test_spawn_not_found),
    cmocka_unit_test (test_spawn_exec_fails_in_child),
    cmocka_unit_test (test_spawn_timeout),
    cmocka_unit_test (test_spawn_timeout_not_hit),
    cmocka_unit_test (test_spawn_env_exact),
    cmocka_unit_test (test_spawn_env_empty),
    cmocka_unit_test (test_spawn_cwd),
    cmocka_unit_test (test_spawn_cwd_missing),
    cmocka_unit_test (test_spawn_no_fd_leak),
    cmocka_unit_test (test_spawn_capture_limit),
    cmocka_unit_test (test_spawn_stdin_from_file),
    cmocka_unit_test (test_spawn_stdin_null),
    cmocka_unit_test (test_spawn_output_to_fd),
    cmocka_unit_test (test_spawn_stdio_swap),
    cmocka_unit_test (test_spawn_dies_with_parent),
    cmocka_unit_test (test_spawn_signals_reset),
    cmocka_unit_test (test_spawn_bad_opts),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
