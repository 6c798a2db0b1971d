/* seccomp.c — what the step may do and hold: its capabilities, ids and
 * limits, its file descriptors (0, 1, 2 and nothing else), and what it
 * may ask of the kernel.
 *
 * The syscall filter is in the spirit of Docker's default profile, read
 * as a deny list: everything is allowed except what a build step has no
 * business doing and what has been the way out of containers —
 * keyrings (not namespaced), bpf, perf_event_open, userfaultfd and
 * io_uring (kernel attack surface), ptrace and process_vm_* (the
 * sandbox's init is the step's parent), kernel modules and kexec, every
 * way of mounting (old and new mount API) or of making namespaces
 * (unshare and clone with CLONE_NEW*, setns; clone3 answers ENOSYS, as
 * in Docker, because its flags sit in memory a filter cannot read, and
 * libc then falls back to clone), TIOCSTI/TIOCLINUX (typing into a
 * terminal), file handles (open_by_handle_at was the "shocker" escape),
 * the clock, swap, reboot, acct, and the personality flags Docker
 * refuses.  Denied calls fail with EPERM.
 *
 * The same rules are added for the compat ABIs (i386 and x32 on x86_64,
 * arm on arm64): a filter for the native ABI alone is bypassed with
 * `int $0x80`, whose syscall numbers differ.
 *
 * libseccomp allocates, so the filter is compiled here, in the parent,
 * to a plain BPF program; the child only hands it to the kernel.
 *
 * The capability bounding set is cut to Docker's default set too, less
 * CAP_MKNOD (no device cgroup guards device nodes here), and less
 * CAP_SYS_CHROOT where a chroot is the only wall (chroot isolation
 * without a mount namespace: a second chroot is the classic way out of
 * the first). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

/* Syscalls denied outright (names unknown to this libseccomp or to every
 * architecture of the filter are skipped). */
static const char *const denied_syscalls[] = {
  /* keyrings are not namespaced */
  "keyctl",
  "add_key",
  "request_key",
  /* kernel attack surface */
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "fanotify_init",
  "lookup_dcookie",
  /* other processes */
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "kcmp",
  "pidfd_getfd",
  "process_madvise",
  /* the kernel itself */
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "get_kernel_syms",
  "query_module",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "iopl",
  "ioperm",
  "syslog",
  "quotactl",
  "quotactl_fd",
  "nfsservctl",
  "_sysctl",
  "sysfs",
  "uselib",
  "ustat",
  "vm86",
  "vm86old",
  "vhangup",
  /* the clock is the host's */
  "settimeofday",
  "stime",
  "clock_settime",
  "clock_settime64",
  "clock_adjtime",
  "clock_adjtime64",
  /* mounts, old and new API */
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "move_mount",
  "open_tree",
  "mount_setattr",
  /* namespaces */
  "setns",
  /* file handles bypass path checks ("shocker") */
  "open_by_handle_at",
  "name_to_handle_at",
  /* names of the host (no uts namespace in bare chroot isolation) */
  "sethostname",
  "setdomainname",
};

/* Namespace flags refused to clone and unshare. */
static const unsigned long ns_flags[] = {
  CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
  CLONE_NEWTIME,
#endif
};

/* The personalities Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
 * UNAME26|PER_LINUX32, and the query 0xffffffff. */
#define PERSONA_ALLOWED_BITS (0x0008u | 0x20000u)
#define PERSONA_QUERY 0xffffffffu

#define DENY SCMP_ACT_ERRNO (EPERM)

static int
add_rule (scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n_args, const struct scmp_arg_cmp *args,
          const char *name, struct hoist_error **err)
{
  int r = seccomp_rule_add_array (ctx, action, nr, n_args, args);

  if (r < 0)
    return hoist_error_set (err, -r, "cannot add the seccomp rule for '%s'", name);
  return 0;
}

static int
deny_names (scmp_filter_ctx ctx, struct hoist_error **err)
{
  for (size_t i = 0; i < sizeof denied_syscalls / sizeof *denied_syscalls; i++)
    {
      int nr = seccomp_syscall_resolve_name (denied_syscalls[i]);

      if (nr == __NR_SCMP_ERROR)
        continue;
      if (add_rule (ctx, DENY, nr, 0, NULL, denied_syscalls[i], err) < 0)
        return -1;
    }
  return 0;
}

/* clone and unshare with any CLONE_NEW* flag: one rule per flag, as a
 * rule cannot test "any of these bits". */
static int
deny_namespaces (scmp_filter_ctx ctx, struct hoist_error **err)
{
#if defined(__s390__) || defined(__s390x__)
  const unsigned clone_flags_arg = 1; /* s390 swaps clone's first two arguments */
#else
  const unsigned clone_flags_arg = 0;
#endif

  for (size_t i = 0; i < sizeof ns_flags / sizeof *ns_flags; i++)
    {
      struct scmp_arg_cmp c = { clone_flags_arg, SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i] };
      struct scmp_arg_cmp u = { 0, SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i] };

      if (add_rule (ctx, DENY, SCMP_SYS (clone), 1, &c, "clone", err) < 0
          || add_rule (ctx, DENY, SCMP_SYS (unshare), 1, &u, "unshare", err) < 0)
        return -1;
    }
  /* clone3's flags are in memory: make libc fall back to clone. */
  return add_rule (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0, NULL, "clone3", err);
}

/* ioctl's request is an unsigned int to the kernel: compare the low 32
 * bits only, or garbage in the high bits would slip past. */
static int
deny_ioctls (scmp_filter_ctx ctx, struct hoist_error **err)
{
  static const unsigned long requests[] = { TIOCSTI, TIOCLINUX };

  for (size_t i = 0; i < sizeof requests / sizeof *requests; i++)
    {
      struct scmp_arg_cmp c = { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, requests[i] };
      if (add_rule (ctx, DENY, SCMP_SYS (ioctl), 1, &c, "ioctl", err) < 0)
        return -1;
    }
  return 0;
}

/* Allow only the personalities Docker does.  A rule tests one comparison
 * per argument and cannot say "not one of", so: bit 31 is a witness.
 * Clear, any bit outside PERSONA_ALLOWED_BITS denies; set, any clear bit
 * denies (so only 0xffffffff passes).  Bits above 31 are ignored by the
 * kernel (persona is an unsigned int), and so by the masks. */
static int
deny_personalities (scmp_filter_ctx ctx, struct hoist_error **err)
{
  const uint64_t witness = 0x80000000u;

  for (unsigned bit = 0; bit < 31; bit++)
    {
      uint64_t b = (uint64_t) 1 << bit;
      struct scmp_arg_cmp other = { 0, SCMP_CMP_MASKED_EQ, b | witness, b };
      struct scmp_arg_cmp not_query = { 0, SCMP_CMP_MASKED_EQ, b | witness, witness };

      if ((b & PERSONA_ALLOWED_BITS) == 0
          && add_rule (ctx, DENY, SCMP_SYS (personality), 1, &other, "personality", err) < 0)
        return -1;
      if (add_rule (ctx, DENY, SCMP_SYS (personality), 1, &not_query, "personality", err) < 0)
        return -1;
    }
  return 0;
}

static int
add_compat_arches (scmp_filter_ctx ctx, struct hoist_error **err)
{
  static const uint32_t arches[] = {
#if defined(__x86_64__)
    SCMP_ARCH_X86,
    SCMP_ARCH_X32,
#elif defined(__aarch64__)
    SCMP_ARCH_ARM,
#endif
    0,
  };

  for (size_t i = 0; arches[i] != 0; i++)
    {
      int r = seccomp_arch_add (ctx, arches[i]);
      if (r < 0 && r != -EEXIST)
        return hoist_error_set (err, -r, "cannot add a compat architecture to the seccomp filter");
    }
  return 0;
}

/* libseccomp writes the program to a file descriptor: a memfd, read back
 * whole. */
static int
export_bpf (scmp_filter_ctx ctx, struct sandbox_filter *f, struct hoist_error **err)
{
  cleanup_close int fd = memfd_create ("hoist-seccomp", MFD_CLOEXEC);
  struct stat st;
  size_t size;
  int r;

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot create a memfd for the seccomp filter");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return hoist_error_set (err, -r, "cannot compile the seccomp filter");
  if (fstat (fd, &st) < 0)
    return hoist_error_set (err, errno, "cannot read the seccomp filter");
  size = (size_t) st.st_size;
  if (size == 0 || size % sizeof (struct sock_filter) != 0 || size / sizeof (struct sock_filter) > BPF_MAXINSNS)
    return hoist_error_set (err, E2BIG, "cannot load a seccomp filter of %zu bytes", size);
  f->insns = hoist_xmalloc (size);
  if (pread (fd, f->insns, size, 0) != (ssize_t) size)
    {
      sandbox_filter_release (f);
      return hoist_error_set (err, errno != 0 ? errno : EIO, "cannot read the seccomp filter");
    }
  f->len = (unsigned short) (size / sizeof (struct sock_filter));
  return 0;
}

static void
seccomp_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}

int
sandbox_filter_build (bool bare, struct sandbox_filter *f, struct hoist_error **err)
{
  __attribute__ ((cleanup (seccomp_releasep))) scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);

  memset (f, 0, sizeof *f);
  if (ctx == NULL)
    return hoist_error_set (err, ENOMEM, "cannot create the seccomp filter");
  /* The child sets no_new_privs itself, right before loading. */
  if (seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
    return hoist_error_set (err, EINVAL, "cannot set up the seccomp filter");
  if (add_compat_arches (ctx, err) < 0 || deny_names (ctx, err) < 0 || deny_namespaces (ctx, err) < 0
      || deny_ioctls (ctx, err) < 0 || deny_personalities (ctx, err) < 0)
    return -1;
  if (bare && add_rule (ctx, DENY, SCMP_SYS (chroot), 0, NULL, "chroot", err) < 0)
    return -1;
  return export_bpf (ctx, f, err);
}

void
sandbox_filter_release (struct sandbox_filter *f)
{
  free (f->insns);
  f->insns = NULL;
  f->len = 0;
}

int
sandbox_filter_load (const struct sandbox_filter *f)
{
  struct sock_fprog prog = { .len = f->len, .filter = f->insns };

  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &prog) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  return prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0L, 0L);
}

/* ---------------------------------------------------------------------
 * Capabilities
 * ------------------------------------------------------------------- */

/* Docker's default set, less CAP_MKNOD. */
static const uint64_t caps_kept = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER)
                                  | (1ULL << CAP_FSETID) | (1ULL << CAP_KILL) | (1ULL << CAP_SETGID)
                                  | (1ULL << CAP_SETUID) | (1ULL << CAP_SETPCAP) | (1ULL << CAP_NET_BIND_SERVICE)
                                  | (1ULL << CAP_NET_RAW) | (1ULL << CAP_SYS_CHROOT) | (1ULL << CAP_AUDIT_WRITE)
                                  | (1ULL << CAP_SETFCAP);

static int
caps_limit (bool bare)
{
  uint64_t keep = caps_kept & ~(bare ? 1ULL << CAP_SYS_CHROOT : 0);
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];

  /* Root's permitted set after execve is the bounding set: this is the
   * cut that lasts. */
  for (unsigned cap = 0; cap < 64; cap++)
    if ((keep & (1ULL << cap)) == 0 && prctl (PR_CAPBSET_DROP, (unsigned long) cap, 0L, 0L, 0L) < 0)
      {
        if (errno == EINVAL)
          break; /* past the kernel's last capability */
        return -1;
      }
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0 && errno != EINVAL)
    return -1;
  if (syscall (SYS_capget, &hdr, data) < 0)
    return -1;
  for (int i = 0; i < 2; i++)
    {
      uint32_t k = (uint32_t) (keep >> (32 * i));
      data[i].permitted &= k;
      data[i].effective &= k;
      data[i].inheritable = 0;
    }
  return (int) syscall (SYS_capset, &hdr, data);
}

/* ---------------------------------------------------------------------
 * Ids and limits
 * ------------------------------------------------------------------- */

static int
set_limit (int resource, uint64_t value)
{
  struct rlimit cur, want;

  if (getrlimit (resource, &cur) < 0)
    return -1;
  /* Never above the hard limit hoist itself got: raising it needs
   * CAP_SYS_RESOURCE in the host's namespace. */
  want.rlim_max = cur.rlim_max != RLIM_INFINITY && cur.rlim_max < value ? cur.rlim_max : (rlim_t) value;
  want.rlim_cur = want.rlim_max;
  return setrlimit (resource, &want);
}

/* The 32-bit-id calls where the ABI has both (i386, arm). */
#ifdef SYS_setresuid32
#define SYS_SETRESUID SYS_setresuid32
#define SYS_SETRESGID SYS_setresgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETRESUID SYS_setresuid
#define SYS_SETRESGID SYS_setresgid
#define SYS_SETGROUPS SYS_setgroups
#endif

int
sandbox_set_ids (uid_t uid, gid_t gid)
{
  if (syscall (SYS_SETRESGID, gid, gid, gid) < 0)
    return -1;
  return (int) syscall (SYS_SETRESUID, uid, uid, uid);
}

int
sandbox_creds_apply (const struct sandbox_creds *c, struct sandbox_report *r)
{
  /* Capabilities first, while CAP_SETPCAP is there to drop them. */
  if (caps_limit (c->bare) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_CAPS, NULL);
  /* Groups before setuid, which would take the right to set them. */
  if (!c->setgroups_denied && syscall (SYS_SETGROUPS, c->n_groups, c->groups) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_GROUPS, NULL);
  if (syscall (SYS_SETRESGID, c->gid, c->gid, c->gid) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_GID, NULL);
  if (syscall (SYS_SETRESUID, c->uid, c->uid, c->uid) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_UID, NULL);
  /* RLIMIT_NPROC counts the processes of the step's uid in its user
   * namespace; the kernel does not apply it to host root. */
  if (set_limit (RLIMIT_NPROC, c->pids_max) < 0 || (c->memory_max != 0 && set_limit (RLIMIT_AS, c->memory_max) < 0)
      || set_limit (RLIMIT_CORE, 0) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_RLIMIT, NULL);
  /* No privilege from set-uid files or file capabilities, ever; also
   * what lets an unprivileged process load a seccomp filter. */
  if (prctl (PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
    return sandbox_fail (r, SANDBOX_STAGE_NO_NEW_PRIVS, NULL);
  return 0;
}

/* ---------------------------------------------------------------------
 * File descriptors
 * ------------------------------------------------------------------- */

void
sandbox_close_fds (int keep, int max_fd, int from)
{
  if ((keep == from || syscall (SYS_close_range, (unsigned) from, (unsigned) keep - 1, 0U) == 0)
      && syscall (SYS_close_range, (unsigned) keep + 1, ~0U, 0U) == 0)
    return;
  for (int fd = from; fd < max_fd; fd++)
    if (fd != keep)
      close (fd);
}

/* Sources are moved above 2 first, so no dup2 overwrites another's. */
int
sandbox_setup_stdio (const int src[3])
{
  int high[3];

  for (int i = 0; i < 3; i++)
    if ((high[i] = fcntl (src[i], F_DUPFD_CLOEXEC, 3)) < 0)
      return -1;
  for (int i = 0; i < 3; i++)
    if (dup2 (high[i], i) < 0)
      return -1;
  return 0;
}
