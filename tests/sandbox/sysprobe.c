/* sysprobe.c — a tiny static program that test_sandbox copies into a
 * busybox rootfs, to look at the sandbox from inside.
 *
 *   sysprobe syscalls   try each call the sandbox must deny and print
 *                       "NAME RESULT" lines: RESULT is ok, or the errno
 *                       name (EPERM, ENOSYS, ...), or "n/a" when the
 *                       kernel lacks the ABI (i386 and x32 calls)
 *   sysprobe alloc MIB  malloc and touch MIB MiB: exit 0, or 3 when the
 *                       memory cannot be had
 *
 * Built by the test with `gcc -static`; x86_64 only for the compat-ABI
 * probes (int $0x80, x32).  Not part of hoist. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void
show (const char *name, long r)
{
  if (r >= 0)
    printf ("%s ok\n", name);
  else if (errno == EPERM)
    printf ("%s EPERM\n", name);
  else if (errno == ENOSYS)
    printf ("%s ENOSYS\n", name);
  else
    printf ("%s errno%d\n", name, errno);
}

/* Returns a raw kernel result (negative errno) as libc would. */
static long
raw (long r)
{
  if (r < 0 && r > -4096)
    {
      errno = (int) -r;
      return -1;
    }
  return r;
}

#if defined(__x86_64__)
static long
int80 (long nr, long a, long b, long c)
{
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

static long
x32call (long nr, long a, long b, long c)
{
  long ret;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr | 0x40000000L), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

/* Try getpid (NR) through CALL in a child: a kernel without the ABI
 * answers ENOSYS, or SIGSEGV when its emulation is off. */
static bool
abi_works (long (*call) (long, long, long, long), long nr)
{
  int st;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (call (nr, 0, 0, 0) > 0 ? 0 : 1);
  return pid > 0 && waitpid (pid, &st, 0) == pid && WIFEXITED (st) && WEXITSTATUS (st) == 0;
}

static void
compat_abis (void)
{
  /* i386: getpid 20, keyctl 288, unshare 310, mount 21, bpf 357,
   * personality 136; x32: getpid 39, keyctl 250, unshare 272. */
  bool i386 = abi_works (int80, 20);
  bool x32 = abi_works (x32call, 39);

  if (!i386)
    printf ("i386_keyctl n/a\ni386_unshare n/a\ni386_mount n/a\ni386_bpf n/a\ni386_personality n/a\n");
  else
    {
      show ("i386_keyctl", raw (int80 (288, 0, -3, 0)));
      show ("i386_unshare", raw (int80 (310, CLONE_NEWUSER, 0, 0)));
      show ("i386_mount", raw (int80 (21, 0, 0, 0)));
      show ("i386_bpf", raw (int80 (357, 0, 0, 0)));
      show ("i386_personality", raw (int80 (136, 0x0040000, 0, 0)));
    }
  if (!x32)
    printf ("x32_keyctl n/a\nx32_unshare n/a\n");
  else
    {
      show ("x32_keyctl", raw (x32call (250, 0, -3, 0)));
      show ("x32_unshare", raw (x32call (272, CLONE_NEWUSER, 0, 0)));
    }
}
#else
static void
compat_abis (void)
{
}
#endif

/* ptrace(PTRACE_TRACEME) in a child, whose exit code carries errno. */
static long
try_traceme (void)
{
  int st;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (ptrace (PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : errno);
  if (pid < 0 || waitpid (pid, &st, 0) < 0)
    return -1;
  errno = WIFEXITED (st) ? WEXITSTATUS (st) : EIO;
  return errno == 0 ? 0 : -1;
}

static long
try_clone_newuser (void)
{
  long r = syscall (SYS_clone, (long) (CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);

  if (r == 0)
    _exit (0);
  if (r > 0)
    waitpid ((pid_t) r, NULL, 0);
  return r;
}

static long
try_clone3 (void)
{
  struct clone_args args = { .exit_signal = SIGCHLD };
  long r = syscall (SYS_clone3, &args, sizeof args);

  if (r == 0)
    _exit (0);
  if (r > 0)
    waitpid ((pid_t) r, NULL, 0);
  return r;
}

static void
syscalls (void)
{
  char params[120] = { 0 };

  show ("keyctl", syscall (SYS_keyctl, 0L, -3L, 0L));
  show ("add_key", syscall (SYS_add_key, "user", "x", "y", 1L, -3L));
  show ("request_key", syscall (SYS_request_key, "user", "x", NULL, 0L));
  show ("bpf", syscall (SYS_bpf, 0L, NULL, 0L));
  show ("perf_event_open", syscall (SYS_perf_event_open, NULL, 0L, -1L, -1L, 0L));
  show ("userfaultfd", syscall (SYS_userfaultfd, 0L));
  show ("io_uring_setup", syscall (SYS_io_uring_setup, 1L, params));
  show ("unshare_user", unshare (CLONE_NEWUSER));
  show ("unshare_mount", unshare (CLONE_NEWNS));
  show ("clone_newuser", try_clone_newuser ());
  show ("clone3", try_clone3 ());
  show ("setns", setns (-1, 0));
  show ("mount", mount ("none", "/tmp", "tmpfs", 0, NULL));
  show ("umount2", umount2 ("/proc", MNT_DETACH));
  show ("pivot_root", syscall (SYS_pivot_root, "/", "/"));
  show ("open_tree", syscall (SYS_open_tree, AT_FDCWD, "/", 0L));
  show ("fsopen", syscall (SYS_fsopen, "tmpfs", 0L));
  show ("ptrace", try_traceme ());
  show ("tiocsti", ioctl (0, TIOCSTI, "x"));
  show ("open_by_handle_at", syscall (SYS_open_by_handle_at, AT_FDCWD, NULL, 0L));
  show ("name_to_handle_at", syscall (SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0L));
  show ("personality_no_randomize", personality (ADDR_NO_RANDOMIZE));
  show ("personality_read_implies_exec", personality (READ_IMPLIES_EXEC));
  show ("personality_query", personality (0xffffffff));
  show ("personality_linux", personality (PER_LINUX));
  show ("chroot", chroot ("/"));
  show ("getpid", getpid ());
  compat_abis ();
}

static int
alloc (const char *mib)
{
  size_t n = (size_t) strtoul (mib, NULL, 10) << 20;
  char *p = malloc (n);

  if (p == NULL)
    {
      printf ("alloc failed\n");
      return 3;
    }
  memset (p, 1, n);
  printf ("allocated %zu\n", n);
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp (argv[1], "syscalls") == 0)
    syscalls ();
  else if (argc >= 3 && strcmp (argv[1], "alloc") == 0)
    return alloc (argv[2]);
  else
    {
      fprintf (stderr, "usage: sysprobe syscalls | alloc MIB\n");
      return 2;
    }
  return 0;
}
