/* test_sandbox.c — sandbox/: steps run in a busybox rootfs (built by
 * tests/sandbox/mkroot.sh), looked at from inside (ids, fds, /proc, env,
 * hostname, network, the syscalls seccomp denies via tests/sandbox/
 * sysprobe.c) and from outside (owners of files made, processes left,
 * timeouts, limits, paths left in the rootfs); the compiled filter run
 * through a small BPF interpreter for the compat ABIs this kernel may
 * not offer; the /etc/subuid parser and the id map probe.
 *
 * Namespace tests need root (as CI runs them) and skip otherwise. */
#include "config.h"

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

#include "tests/sandbox/fixture.h"
#include "tests/sandbox/bpf_sim.h"

/* ---- inside the step --------------------------------------------------------- */

static void
test_echo_and_status (void **state)
{
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;

  (void) state;
  need_root ();
  out = run_sh ("echo hi", 0, 0, &res);
  assert_string_equal (out, "hi\n");
  assert_int_equal (res.exit_code, 0);
  assert_int_equal (res.signal, 0);
  assert_false (res.timed_out);
  assert_int_equal (res.isolation, SANDBOX_ISOLATION_USERNS); /* what AUTO is here */
  a = run_sh ("exit 3", 0, 0, &res);
  assert_int_equal (res.exit_code, 3);
  assert_int_equal (res.signal, 0);
  b = run_sh ("kill -TERM $$", 0, 0, &res);
  assert_int_equal (res.signal, SIGTERM);
  assert_int_equal (res.exit_code, 128 + SIGTERM);
  assert_no_children ();
}

static void
test_ids_and_owner (void **state)
{
  char *const argv[] = { "sh", "-c", "id -u; id -g; id -G; touch /tmp/owned", NULL };
  const gid_t groups[] = { 1003 };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_free char *out = NULL;

  (void) state;
  need_root ();
  spec.uid = 1001;
  spec.gid = 1002;
  spec.groups = groups;
  spec.n_groups = 1;
  out = run_spec (&spec, &res);
  assert_string_equal (out, "1001\n1002\n1002 1003\n");
  assert_owner ("tmp/owned", 1001, 1002);
}

/* Container 0-65535 onto host 100000-165535: a file made by container
 * uid 5 belongs to host uid 100005. */
static void
test_custom_idmap (void **state)
{
  char *const argv[] = { "sh", "-c", "id -u; touch /tmp/mapped", NULL };
  struct sandbox_idmaps maps
      = { .uid = { { 0, 100000, 65536 } }, .n_uid = 1, .gid = { { 0, 100000, 65536 } }, .n_gid = 1 };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;

  (void) state;
  need_root ();
  spec.uid = spec.gid = 5;
  spec.idmaps = &maps;
  spec.cwd = "/tmp";
  out = run_spec (&spec, &res);
  assert_string_equal (out, "5\n");
  assert_owner ("tmp/mapped", 100005, 100005);
  /* an id outside the map is refused before anything starts */
  spec.uid = 70000;
  assert_true (sandbox_run (&spec, &res, &err) < 0);
  assert_err_has (err, "uid 70000");
}

static void
test_fds_and_stdin (void **state)
{
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  int extra = open ("/dev/null", O_RDONLY); /* not close-on-exec: must not leak */

  (void) state;
  need_root ();
  out = run_sh ("ls /proc/self/fd | tr '\\n' ' '; readlink /proc/self/fd/0", 0, 0, &res);
  close (extra);
  assert_string_equal (out, "0 1 2 3 /dev/null\n");
}

static void
test_pid_namespace (void **state)
{
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  cleanup_free char *me = hoist_xasprintf (" %ld ", (long) getpid ());
  cleanup_free char *secret = NULL;

  (void) state;
  need_root ();
  /* init is 1, the shell 2; ls and the rest of the pipe follow */
  out = run_sh ("echo \" $$ \"; ls /proc | grep '^[0-9]*$' | tr '\\n' ' '", 0, 0, &res);
  assert_true (strncmp (out, " 2 \n1 2 ", 8) == 0);
  assert_null (strstr (out, me));
  assert_true (strlen (out) < 24); /* a handful of small pids, nothing else */
  /* init is a copy of hoist: its memory and environment are closed */
  secret = run_sh ("cat /proc/1/environ /proc/1/maps 2>&- | wc -c; head -c 1 /proc/1/mem 2>&- | wc -c", 0, 0, &res);
  assert_string_equal (secret, "0\n0\n");
}

/* The environment is exactly envp; the working directory is made for
 * the step's user. */
static void
test_env_and_cwd (void **state)
{
  char *env[] = { "PATH=/bin", "FOO=bar baz", "EMPTY=", NULL };
  char *const argv[] = { "env", NULL };
  char *const pwd[] = { "pwd", NULL };
  char *rm[] = { "/bin/rm", "-rf", NULL, NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  cleanup_free char *out2 = NULL;
  cleanup_free char *top = NULL;

  (void) state;
  need_root ();
  spec.envp = env;
  spec.cwd = "/work//deep/dir/";
  spec.uid = spec.gid = 1001;
  out = run_spec (&spec, &res);
  assert_string_equal (out, "PATH=/bin\nFOO=bar baz\nEMPTY=\n");
  spec.argv = pwd;
  out2 = run_spec (&spec, &res);
  assert_string_equal (out2, "/work/deep/dir\n");
  assert_owner ("work", 1001, 1001);
  assert_owner ("work/deep/dir", 1001, 1001);
  rm[2] = top = hoist_xasprintf ("%s/work", root);
  run_host (rm);
}

static void
test_hostname_and_hosts (void **state)
{
  char *const argv[]
      = { "sh", "-c", "hostname; grep -c hoist-test /etc/hosts; (echo >> /etc/hosts) 2>&-||echo ro", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *dflt = NULL;

  (void) state;
  need_root ();
  spec.hostname = "hoist-test";
  out = run_spec (&spec, &res);
  assert_string_equal (out, "hoist-test\n1\nro\n");
  dflt = run_sh ("hostname", 0, 0, &res);
  assert_string_equal (dflt, "buildkitsandbox\n");
  spec.hostname = "bad name";
  assert_true (sandbox_run (&spec, &res, &err) < 0);
}

static void
test_network_none (void **state)
{
  char *const argv[]
      = { "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ping -c1 -W1 127.0.0.1 >&- && echo up",
          NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_free char *out = NULL;

  (void) state;
  need_root ();
  spec.network = SANDBOX_NETWORK_NONE;
  out = run_spec (&spec, &res);
  assert_string_equal (out, "lo\nup\n");
}

static void
test_dev_and_proc (void **state)
{
  struct sandbox_result res;
  cleanup_free char *out = NULL;

  (void) state;
  need_root ();
  out = run_sh ("ls /dev | tr '\\n' ' '; echo; head -c 5 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok; "
                "(echo 1 > /proc/sys/kernel/pid_max) 2>&- || echo sys-ro; cat /proc/kcore 2>&- | wc -c",
                0, 0, &res);
  assert_string_equal (out, "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n5\nnull-ok\n"
                            "sys-ro\n0\n");
}

/* ---- what the step may not do ------------------------------------------------- */

static void
test_seccomp_denies (void **state)
{
  struct sandbox_result res;
  cleanup_free char *out = NULL;

  (void) state;
  need_root ();
  if (!have_sysprobe)
    skip ();
  out = run_sh ("sysprobe syscalls", 0, 0, &res);
  assert_int_equal (res.exit_code, 0);
  check_probe_output (out, true);
}

#define EPERM_RET (SECCOMP_RET_ERRNO | EPERM)
#define ALLOW_RET SECCOMP_RET_ALLOW

static void
test_seccomp_bpf (void **state)
{
  struct sandbox_filter f;
  cleanup_error struct hoist_error *err = NULL;
  const uint32_t x64 = AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386;
  const int x32 = 0x40000000;

  (void) state;
#ifndef __x86_64__
  skip ();
#endif
  assert_int_equal (sandbox_filter_build (false, &f, &err), 0);
  assert_int_equal (bpf_run (&f, x64, 39, 0, 0), ALLOW_RET);               /* getpid */
  assert_int_equal (bpf_run (&f, x64, 250, 0, 0), EPERM_RET);              /* keyctl */
  assert_int_equal (bpf_run (&f, i386, 20, 0, 0), ALLOW_RET);              /* getpid */
  assert_int_equal (bpf_run (&f, i386, 288, 0, 0), EPERM_RET);             /* keyctl */
  assert_int_equal (bpf_run (&f, i386, 21, 0, 0), EPERM_RET);              /* mount */
  assert_int_equal (bpf_run (&f, i386, 357, 0, 0), EPERM_RET);             /* bpf */
  assert_int_equal (bpf_run (&f, i386, 26, 0, 0), EPERM_RET);              /* ptrace */
  assert_int_equal (bpf_run (&f, i386, 425, 0, 0), EPERM_RET);             /* io_uring_setup */
  assert_int_equal (bpf_run (&f, i386, 310, CLONE_NEWUSER, 0), EPERM_RET); /* unshare */
  assert_int_equal (bpf_run (&f, i386, 310, CLONE_FILES, 0), ALLOW_RET);
  assert_int_equal (bpf_run (&f, i386, 120, CLONE_NEWUSER | SIGCHLD, 0), EPERM_RET); /* clone */
  assert_int_equal (bpf_run (&f, i386, 120, SIGCHLD, 0), ALLOW_RET);
  assert_int_equal (bpf_run (&f, i386, 136, 0x40000, 0), EPERM_RET);              /* personality */
  assert_int_equal (bpf_run (&f, i386, 54, 0, TIOCSTI), EPERM_RET);               /* ioctl */
  assert_int_equal (bpf_run (&f, x64, x32 | 250, 0, 0), EPERM_RET);               /* x32 keyctl */
  assert_int_equal (bpf_run (&f, x64, x32 | 39, 0, 0), ALLOW_RET);                /* x32 getpid */
  assert_int_equal (bpf_run (&f, x64, x32 | 272, CLONE_NEWUSER, 0), EPERM_RET);   /* x32 unshare */
  assert_int_equal (bpf_run (&f, x64, 435, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);    /* clone3 */
  assert_int_equal (bpf_run (&f, x64, 56, CLONE_NEWNS | SIGCHLD, 0), EPERM_RET);  /* clone */
  assert_int_equal (bpf_run (&f, x64, 16, 0, TIOCSTI | (1ULL << 32)), EPERM_RET); /* ioctl, high bits */
  assert_int_equal (bpf_run (&f, x64, 16, 0, TCGETS), ALLOW_RET);
  /* personality: Docker's five values pass, the rest does not */
  {
    const uint64_t pass[] = { 0, 8, 0x20000, 0x20008, 0xffffffff, 1ULL << 32 };
    const uint64_t deny[] = { 0x40000, 0x400000, 0x80000000, 0xfffffffe, 1, 0x20009 };
    for (size_t i = 0; i < 6; i++)
      {
        assert_int_equal (bpf_run (&f, x64, 135, pass[i], 0), ALLOW_RET);
        assert_int_equal (bpf_run (&f, x64, 135, deny[i], 0), EPERM_RET);
      }
  }
  assert_int_equal (bpf_run (&f, x64, 161, 0, 0), ALLOW_RET); /* chroot: allowed with namespaces */
  sandbox_filter_release (&f);
  assert_int_equal (sandbox_filter_build (true, &f, &err), 0);
  assert_int_equal (bpf_run (&f, x64, 161, 0, 0), EPERM_RET); /* chroot: denied when bare */
  sandbox_filter_release (&f);
}

/* ---- limits and the end of the step ------------------------------------------ */

static void
test_timeout_kills_all (void **state)
{
  char *const argv[] = { "sh", "-c", "sleep 100 & setsid sleep 100 & sleep 100", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  struct timespec t0;

  (void) state;
  need_root ();
  spec.uid = spec.gid = 1007;
  spec.timeout_s = 1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  assert_int_equal (sandbox_run (&spec, &res, &err), 0);
  assert_true (elapsed_ms (&t0) < 2500);
  assert_true (res.timed_out);
  assert_int_equal (res.signal, SIGKILL);
  assert_int_equal (res.exit_code, 128 + SIGKILL);
  assert_int_equal (count_uid (1007), 0);
  assert_no_children ();
}

/* A fork bomb as UID under PIDS_MAX: never more than LIMIT processes
 * of that uid (for uid 0, in other pid namespaces), ended by the
 * timeout, nothing left. */
static void
fork_bomb (uid_t uid, uint64_t pids_max, int limit)
{
  char *const argv[] = { "sh", "-c", "b() { b | b & }; b; sleep 100", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  struct sampler s = { .uid = uid != 0 ? uid : (uid_t) -1 };
  pthread_t thread;

  spec.uid = spec.gid = uid;
  spec.pids_max = pids_max;
  spec.timeout_s = 3;
  assert_int_equal (pthread_create (&thread, NULL, sample_main, &s), 0);
  assert_int_equal (sandbox_run (&spec, &res, &err), 0);
  s.stop = true;
  pthread_join (thread, NULL);
  assert_true (res.exit_code != 0);
  assert_true (s.max > 1);
  print_message ("fork bomb as uid %u under pids_max %lu: at most %d processes seen\n", (unsigned) uid,
                 (unsigned long) pids_max, s.max);
  if (s.max > limit)
    fail_msg ("%d processes of uid %d, limit %d", s.max, (int) s.uid, limit);
  assert_int_equal (count_uid (s.uid), 0);
  assert_no_children ();
  if (fork () == 0) /* the host can still fork */
    _exit (0);
  assert_true (wait (NULL) > 0);
}

static void
test_fork_bomb (void **state)
{
  (void) state;
  need_root ();
  /* RLIMIT_NPROC holds a non-root step to pids_max */
  fork_bomb (1008, 64, 64);
  /* container root is host root here, which RLIMIT_NPROC exempts: the
   * pid namespace's pid_max (at least 301) holds it where the kernel has
   * one per namespace (6.14+); init and the host's own churn aside */
  fork_bomb (0, 64, 301);
}

static void
test_memory_max (void **state)
{
  char *const big[] = { "sysprobe", "alloc", "256", NULL };
  char *const small[] = { "sysprobe", "alloc", "8", NULL };
  struct sandbox_spec spec = spec_for (big);
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  cleanup_free char *out2 = NULL;

  (void) state;
  need_root ();
  if (!have_sysprobe)
    skip ();
  spec.memory_max = 64 << 20;
  out = run_spec (&spec, &res);
  assert_int_equal (res.exit_code, 3);
  assert_string_equal (out, "alloc failed\n");
  spec.argv = small;
  out2 = run_spec (&spec, &res);
  assert_int_equal (res.exit_code, 0);
}

/* ---- isolation ------------------------------------------------------------------- */

static void
test_isolation_probe (void **state)
{
  enum sandbox_isolation resolved = SANDBOX_ISOLATION_AUTO;
  cleanup_free char *why = NULL;

  (void) state;
  need_root ();
  assert_int_equal (sandbox_isolation_probe (SANDBOX_ISOLATION_AUTO, &resolved, &why, NULL), 1);
  assert_int_equal (resolved, SANDBOX_ISOLATION_USERNS);
  assert_int_equal (sandbox_isolation_probe (SANDBOX_ISOLATION_CHROOT, &resolved, &why, NULL), 1);
  assert_int_equal (resolved, SANDBOX_ISOLATION_CHROOT);
  assert_null (why);
}

/* As root, with namespaces but no user namespace. */
static void
test_chroot_isolation (void **state)
{
  char *const argv[] = { "sh", "-c", "echo $$; id -u; grep NoNewPrivs /proc/self/status; hostname", NULL };
  char *const probe[] = { "sysprobe", "syscalls", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_free char *out = NULL;
  cleanup_free char *out2 = NULL;

  (void) state;
  need_root ();
  spec.isolation = SANDBOX_ISOLATION_CHROOT;
  spec.uid = 1001;
  out = run_spec (&spec, &res);
  assert_int_equal (res.isolation, SANDBOX_ISOLATION_CHROOT);
  assert_string_equal (out, "2\n1001\nNoNewPrivs:\t1\nbuildkitsandbox\n");
  if (!have_sysprobe)
    return;
  spec.uid = 0;
  spec.argv = probe;
  out2 = run_spec (&spec, &res);
  check_probe_output (out2, true);
}

/* Where no namespace can be made (a container), AUTO falls back to bare
 * chroot as root: still every process of the step goes, the filter holds
 * (chroot denied too), /dev has its nodes (and they go again), bind
 * mounts are refused.  Returns a failure as an exit code. */
static int
bare_child (void)
{
  char *const argv[] = { "sh", "-c", "sleep 100 & setsid sleep 100 & echo x > /dev/null && echo started", NULL };
  char *const probe[] = { "sysprobe", "syscalls", NULL };
  struct sandbox_mount m = { .source = "/tmp", .target = "/mnt" };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *out2 = NULL;
  cleanup_free char *null = hoist_xasprintf ("%s/dev/null", root);

  if (forbid_namespaces () < 0)
    return 10;
  spec.uid = spec.gid = 1009;
  out = run_spec (&spec, &res);
  if (res.isolation != SANDBOX_ISOLATION_CHROOT || strcmp (out, "started\n") != 0 || res.exit_code != 0)
    return fprintf (stderr, "isolation %d, exit %d, output '%s'\n", (int) res.isolation, res.exit_code, out), 11;
  if (count_uid (1009) != 0 || access (null, F_OK) == 0)
    return 12;
  spec.uid = spec.gid = 0;
  if (have_sysprobe)
    {
      spec.argv = probe;
      out2 = run_spec (&spec, &res);
      check_probe_output (out2, false);
    }
  spec.mounts = &m;
  spec.n_mounts = 1;
  if (sandbox_run (&spec, &res, &err) >= 0 || strstr (err->msg, "no mount namespace") == NULL)
    return 13;
  /* asked for by name, a user namespace is an error that says why */
  spec.n_mounts = 0;
  spec.isolation = SANDBOX_ISOLATION_USERNS;
  if (sandbox_run (&spec, &res, &err) >= 0
      || strncmp (err->msg, "cannot create a user namespace: Operation not permitted (hint: ", 63) != 0)
    return fprintf (stderr, "got '%s'\n", err != NULL ? err->msg : "no error"), 14;
  return 0;
}

/* As nobody, with no /etc/subuid entry: a single mapping; the step runs
 * as container root, and may not run as anyone else. */
static int
unprivileged_child (void)
{
  char *const argv[] = { "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *out = NULL;

  /* a process that changed its ids is not dumpable, and its /proc files
   * (uid_map of its children too) belong to root; hoist started by a
   * user is dumpable */
  if (setgroups (0, NULL) < 0 || setgid (65534) < 0 || setuid (65534) < 0 || prctl (PR_SET_DUMPABLE, 1L) < 0)
    return 20;
  out = run_spec (&spec, &res);
  if (strcmp (out, "0\n 0 65534 1\n") != 0 || res.isolation != SANDBOX_ISOLATION_USERNS)
    return fprintf (stderr, "got '%s'\n", out), 21;
  spec.uid = 5;
  if (sandbox_run (&spec, &res, &err) >= 0 || strstr (err->msg, "only container id 0 is mapped") == NULL)
    return 22;
  spec.uid = 0;
  spec.isolation = SANDBOX_ISOLATION_CHROOT;
  if (sandbox_run (&spec, &res, &err) >= 0 || strstr (err->msg, "chroot isolation: it needs root") == NULL)
    return 23;
  return 0;
}

static void
run_in_child (int (*fn) (void))
{
  int st;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (fn ());
  assert_int_equal (waitpid (pid, &st, 0), pid);
  assert_true (WIFEXITED (st));
  assert_int_equal (WEXITSTATUS (st), 0);
}

static void
test_bare_chroot (void **state)
{
  (void) state;
  need_root ();
  run_in_child (bare_child);
  assert_int_equal (count_uid (1009), 0);
}

static void
test_unprivileged (void **state)
{
  (void) state;
  need_root ();
  run_in_child (unprivileged_child);
}

/* ---- errors, and what is left behind ------------------------------------------ */

static void
test_start_errors (void **state)
{
  char *const argv[] = { "no-such-program", NULL };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *want = hoist_xasprintf ("cannot run 'no-such-program' in '%s': No such file or directory", root);

  (void) state;
  need_root ();
  assert_true (sandbox_run (&spec, &res, &err) < 0);
  assert_string_equal (err->msg, want);
  assert_int_equal (err->status, ENOENT);
  assert_no_children ();
  spec.rootfs = "/nonexistent/rootfs";
  assert_true (sandbox_run (&spec, &res, &err) < 0);
  assert_string_equal (err->msg, "cannot use '/nonexistent/rootfs' as the root file system: No such file or directory");
  assert_int_equal (res.exit_code, -1);
  assert_no_children ();
}

/* A rootfs with only bin/: the sandbox makes proc, dev, etc/resolv.conf,
 * etc/hosts and the mount targets, and removes every one of them. */
static void
test_rootfs_left_clean (void **state)
{
  char *const argv[] = { "sh", "-c", "echo hi > /mnt/data/f; (echo x > /mnt/ro/g) 2>&- || echo ro; ls /", NULL };
  cleanup_free char *min = make_root ("minimal", "minimal");
  cleanup_free char *data = hoist_xasprintf ("%s/data", tmpdir);
  cleanup_free char *written = hoist_xasprintf ("%s/f", data);
  cleanup_free char *out = NULL;
  struct sandbox_mount mounts[]
      = { { .source = data, .target = "/mnt/data" }, { .source = data, .target = "/mnt/ro", .read_only = true } };
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;
  struct stat before, after;
  struct dirent *e;
  DIR *d;

  (void) state;
  need_root ();
  assert_int_equal (mkdir (data, 0755), 0);
  spec.rootfs = min;
  spec.mounts = mounts;
  spec.n_mounts = 2;
  assert_int_equal (stat (min, &before), 0);
  out = run_spec (&spec, &res);
  assert_string_equal (out, "ro\nbin\ndev\netc\nmnt\nproc\n");
  assert_int_equal (access (written, F_OK), 0);
  d = opendir (min);
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      assert_string_equal (e->d_name, "bin");
  closedir (d);
  /* the root's times are put back: only its ctime shows the visit */
  assert_int_equal (stat (min, &after), 0);
  assert_int_equal (after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  assert_int_equal (after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

/* An image's "etc -> /some/host/dir" symlink resolves inside the rootfs:
 * the host's directory gets nothing. */
static void
test_symlinked_etc (void **state)
{
  char *const argv[] = { "cat", "/etc/hosts", NULL };
  cleanup_free char *r = make_root ("symlinked", "minimal");
  cleanup_free char *hostdir = hoist_xasprintf ("%s/hostdir", tmpdir);
  cleanup_free char *inside = hoist_xasprintf ("%s%s", r, hostdir);
  cleanup_free char *etc = hoist_xasprintf ("%s/etc", r);
  cleanup_free char *leaked = hoist_xasprintf ("%s/hosts", hostdir);
  cleanup_free char *made = hoist_xasprintf ("%s/hosts", inside);
  cleanup_free char *out = NULL;
  struct sandbox_spec spec = spec_for (argv);
  struct sandbox_result res;

  (void) state;
  need_root ();
  assert_int_equal (mkdir (hostdir, 0755), 0);
  assert_int_equal (run_host ((char *[]){ "/bin/mkdir", "-p", inside, NULL }), 0);
  assert_int_equal (symlink (hostdir, etc), 0);
  spec.rootfs = r;
  out = run_spec (&spec, &res);
  assert_non_null (strstr (out, "localhost"));
  assert_int_equal (access (leaked, F_OK), -1);
  assert_int_equal (access (made, F_OK), -1); /* made inside, and removed */
}

/* ---- /etc/subuid and the id map probe ------------------------------------------- */

static void
test_subid_parse (void **state)
{
  static const char text[] = "# comment\n"
                             "\n"
                             "   \t\n"
                             "alice:100000:65536\n"
                             "bob:abc:10\n"            /* bad number */
                             "bob:5:0\n"               /* zero count */
                             "bob:4294967295:2\n"      /* past 2^32 */
                             "bob:1:2:3\n"             /* too many fields */
                             "bob:99999999999:1\n"     /* too large */
                             "bob:-5:10\n"             /* a sign */
                             "bob\n"                   /* too few */
                             "  bob:200000:1000  \r\n" /* blanks around: fine */
                             "1001:300000:500\n"
                             "alice:1:1\n"; /* the first match wins */
  uint32_t start = 0, count = 0;

  (void) state;
  assert_true (sandbox_subid_find (text, sizeof text - 1, "alice", 999, &start, &count));
  assert_int_equal (start, 100000);
  assert_int_equal (count, 65536);
  assert_true (sandbox_subid_find (text, sizeof text - 1, "bob", 999, &start, &count));
  assert_int_equal (start, 200000);
  assert_int_equal (count, 1000);
  assert_true (sandbox_subid_find (text, sizeof text - 1, "carol", 1001, &start, &count));
  assert_int_equal (start, 300000);
  assert_true (sandbox_subid_find (text, sizeof text - 1, NULL, 1001, &start, &count));
  assert_false (sandbox_subid_find (text, sizeof text - 1, "carol", 1002, &start, &count));
  assert_false (sandbox_subid_find ("", 0, "alice", 0, &start, &count));
  assert_false (sandbox_subid_find ("ali\0ce:1:2\n", 11, "ali", 0, &start, &count));
  assert_true (sandbox_subid_find ("x:4294967294:2", 14, "x", 0, &start, &count)); /* ends at 2^32 */
}

static char *
write_tmp (const char *name, const char *text)
{
  char *path = hoist_xasprintf ("%s/%s", tmpdir, name);
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  return path;
}

static void
test_idmaps_probe (void **state)
{
  cleanup_free char *subuid = NULL;
  cleanup_free char *subgid = NULL;
  cleanup_free char *map = NULL;
  struct sandbox_idmaps m;
  cleanup_error struct hoist_error *err = NULL;
  struct sandbox_idmap_source src = { .uid = 0, .gid = 0 };

  (void) state;
  if (tmpdir == NULL)
    skip ();
  subuid = write_tmp ("subuid", "junk\nalice:100000:65536\n");
  subgid = write_tmp ("subgid", "1000:200000:1000\n");
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_int_equal (m.n_uid, 1);
  assert_int_equal (m.uid[0].count, 65536);
  assert_false (m.single);
  /* Root in the initial namespace: every id onto itself. */
  map = write_tmp ("uid_map", "         0          0 4294967295\n");
  src.uid_map_path = src.gid_map_path = map;
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_int_equal (m.n_uid, 1);
  assert_int_equal (m.uid[0].outside, 0);
  assert_int_equal (m.uid[0].count, 4294967295u);
  assert_false (m.single);
  assert_false (m.helpers);
  /* Root in a rootless build's namespace: the caller and its range. */
  free (map);
  map = write_tmp ("uid_map_range", "0 1000 1\n1 100000 65536\ngarbage\n");
  src.uid_map_path = src.gid_map_path = map;
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_int_equal (m.n_uid, 2);
  assert_int_equal (m.uid[1].inside, 1);
  assert_int_equal (m.uid[1].outside, 1);
  assert_int_equal (m.uid[1].count, 65536);
  assert_false (m.single);
  /* ... or the caller alone. */
  free (map);
  map = write_tmp ("uid_map_single", "0 1000 1\n");
  src.uid_map_path = src.gid_map_path = map;
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_int_equal (m.n_gid, 1);
  assert_true (m.single);
  src = (struct sandbox_idmap_source){ 1000, 1000, "alice", subuid, subgid, true, NULL, NULL };
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_true (m.helpers);
  assert_int_equal (m.n_uid, 2);
  assert_int_equal (m.uid[0].outside, 1000);
  assert_int_equal (m.uid[1].inside, 1);
  assert_int_equal (m.uid[1].outside, 100000);
  assert_int_equal (m.gid[1].outside, 200000); /* by id */
  assert_int_equal (m.gid[1].count, 1000);
  src.have_helpers = false; /* no newuidmap: single */
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_true (m.single);
  assert_int_equal (m.n_uid, 1);
  src.have_helpers = true;
  src.user = "bob"; /* no entry */
  src.uid = 1001;
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  assert_true (m.single);
  src.subuid_path = "/nonexistent/subuid"; /* missing: no range, no error */
  assert_int_equal (sandbox_idmaps_probe_from (&src, &m, &err), 0);
  src.subuid_path = tmpdir; /* a directory: cannot be read */
  assert_true (sandbox_idmaps_probe_from (&src, &m, &err) < 0);
  assert_non_null (strstr (err->msg, tmpdir));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_echo_and_status),    cmocka_unit_test (test_ids_and_owner),
    cmocka_unit_test (test_custom_idmap),       cmocka_unit_test (test_fds_and_stdin),
    cmocka_unit_test (test_pid_namespace),      cmocka_unit_test (test_env_and_cwd),
    cmocka_unit_test (test_hostname_and_hosts), cmocka_unit_test (test_network_none),
    cmocka_unit_test (test_dev_and_proc),       cmocka_unit_test (test_seccomp_denies),
    cmocka_unit_test (test_seccomp_bpf),        cmocka_unit_test (test_timeout_kills_all),
    cmocka_unit_test (test_fork_bomb),          cmocka_unit_test (test_memory_max),
    cmocka_unit_test (test_isolation_probe),    cmocka_unit_test (test_chroot_isolation),
    cmocka_unit_test (test_bare_chroot),        cmocka_unit_test (test_unprivileged),
    cmocka_unit_test (test_start_errors),       cmocka_unit_test (test_rootfs_left_clean),
    cmocka_unit_test (test_symlinked_etc),      cmocka_unit_test (test_subid_parse),
    cmocka_unit_test (test_idmaps_probe),
  };

  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
