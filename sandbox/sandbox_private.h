/* sandbox_private.h — private to sandbox/: how its four files share the
 * work of one step.
 *
 *   run.c      the fixed sequence: the parent (prepare, clone, write
 *              the id maps, wait, time out) and the child (the sandbox's
 *              init and the step itself)
 *   idmap.c    the user namespace: whether one can be made here (else
 *              chroot isolation), and which ids map where (/etc/subuid,
 *              uid_map, newuidmap)
 *   mounts.c   the step's file system: mount points made in the rootfs
 *              (and removed again), /proc, /dev, binds, pivot_root, cwd,
 *              and the program looked up in it
 *   seccomp.c  what the step may do and hold: capabilities, ids,
 *              rlimits, no_new_privs, fds, and the syscall filter
 *
 * Functions marked "child:" run between clone and exec in a copy of a
 * possibly multi-threaded process: they make async-signal-safe calls
 * only (no malloc, no stdio, no locks) and report failures through a
 * struct sandbox_report instead of a struct hoist_error.
 *
 * Not a public API: only sandbox's own sources and its unit test define
 * SANDBOX_INTERNAL before including it. */
#ifndef HOIST_SANDBOX_PRIVATE_H
#define HOIST_SANDBOX_PRIVATE_H

#ifndef SANDBOX_INTERNAL
#error "sandbox_private.h is private to sandbox/"
#endif

#include <linux/filter.h>
#include <sched.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "sandbox/sandbox.h"

/* ---------------------------------------------------------------------
 * Child reports: what the parent learns through the close-on-exec pipe
 * ------------------------------------------------------------------- */

/* The step of the sequence that failed (or, for the last two, what the
 * sandbox's init tells the parent). */
enum sandbox_stage
{
  SANDBOX_STAGE_NONE = 0,
  SANDBOX_STAGE_SYNC,      /* waiting for the parent's id maps */
  SANDBOX_STAGE_NS_ROOT,   /* becoming root of the user namespace */
  SANDBOX_STAGE_PRIVATE,   /* MS_REC|MS_PRIVATE on / */
  SANDBOX_STAGE_ROOT,      /* the rootfs bound onto itself */
  SANDBOX_STAGE_PROC,      /* a fresh /proc */
  SANDBOX_STAGE_PROC_MASK, /* read-only or hidden /proc paths */
  SANDBOX_STAGE_DEV,       /* the minimal /dev */
  SANDBOX_STAGE_BIND,      /* resolv.conf, hosts, the spec's mounts */
  SANDBOX_STAGE_PIVOT,     /* pivot_root + detach the old root */
  SANDBOX_STAGE_CHROOT,    /* chroot isolation without a mount namespace */
  SANDBOX_STAGE_HOSTNAME,
  SANDBOX_STAGE_NETWORK, /* lo up in the new net namespace */
  SANDBOX_STAGE_FORK,    /* init forking the step */
  SANDBOX_STAGE_STDIO,
  SANDBOX_STAGE_CWD,
  SANDBOX_STAGE_CAPS,
  SANDBOX_STAGE_GROUPS,
  SANDBOX_STAGE_GID,
  SANDBOX_STAGE_UID,
  SANDBOX_STAGE_RLIMIT,
  SANDBOX_STAGE_NO_NEW_PRIVS,
  SANDBOX_STAGE_SECCOMP,
  SANDBOX_STAGE_EXEC,
  SANDBOX_STAGE_STARTED, /* not a failure: VALUE is the step's pid */
  SANDBOX_STAGE_EXITED,  /* not a failure: VALUE is its wait status */
};

/* One record, written whole (well under PIPE_BUF, so atomically). */
struct sandbox_report
{
  int32_t stage;
  int32_t errnum;
  int64_t value;
  char detail[240]; /* a path or name, NUL-terminated, maybe cut */
};

/* child: fill R with STAGE, errno and DETAIL (may be NULL); returns -1.
 * Leaves errno as it was. */
int sandbox_fail (struct sandbox_report *r, enum sandbox_stage stage, const char *detail);

/* child: copy S into DST of SIZE bytes, cut if needed, NUL-terminated. */
void sandbox_strlcpy (char *dst, const char *s, size_t size);

/* child and parent: clone as fork does it, without libc's fork (no
 * atfork handlers, no locks), into the namespaces of FLAGS.  PIDFD, when
 * not NULL, gets a pidfd of the child (or -1).  Returns as fork. */
pid_t sandbox_raw_clone (unsigned long flags, int *pidfd);

/* ---------------------------------------------------------------------
 * Isolation and id maps (idmap.c)
 * ------------------------------------------------------------------- */

/* The namespaces of every sandboxed step (the user namespace aside). */
#define SANDBOX_NS_FLAGS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

/* How the step is isolated: the spec's isolation, resolved. */
struct sandbox_mode
{
  enum sandbox_isolation isolation; /* USERNS or CHROOT */
  unsigned long clone_flags;
  bool userns; /* CLONE_NEWUSER, with id maps */
  bool bare;   /* chroot only: no namespace could be made */
};

/* Resolve WANT (NET_NONE: a net namespace is needed too) by trying
 * throw-away clones.  Returns 0, or a negative errno with *WHY (owned)
 * saying why not and what setting would allow it. */
int sandbox_mode_resolve (enum sandbox_isolation want, bool net_none, struct sandbox_mode *m, char **why);

/* Find the range of USER (by name) or ID (decimal) in the text of an
 * /etc/subuid or /etc/subgid file: lines "name:start:count".  Comments
 * (#), blank lines and malformed lines (bad numbers, a zero count, a
 * range past 2^32) are skipped; the first good match wins.  Returns true
 * and fills *START and *COUNT when found. */
bool sandbox_subid_find (const char *text, size_t len, const char *user, unsigned long id, uint32_t *start,
                         uint32_t *count);

/* What sandbox_idmaps_probe looks at, so tests can point it elsewhere. */
struct sandbox_idmap_source
{
  uid_t uid; /* the caller's ids */
  gid_t gid;
  const char *user;        /* the caller's name, or NULL */
  const char *subuid_path; /* "/etc/subuid" */
  const char *subgid_path;
  bool have_helpers; /* newuidmap and newgidmap are installed */
  /* For uid 0: the process's own maps, "/proc/self/uid_map" and
   * gid_map; NULL: container ids 0-65535. */
  const char *uid_map_path;
  const char *gid_map_path;
};

int sandbox_idmaps_probe_from (const struct sandbox_idmap_source *src, struct sandbox_idmaps *out,
                               struct hoist_error **err) HOIST_WUR;

/* Fails unless the step's uid, gid and groups are container ids that M
 * maps, with a message that says how to map them. */
int sandbox_idmaps_check (const struct sandbox_idmaps *m, const struct sandbox_spec *spec,
                          struct hoist_error **err) HOIST_WUR;

/* Write M for the process PID (just cloned into a new user namespace):
 * newuidmap/newgidmap when M->helpers, else /proc/PID/uid_map, then
 * "deny" to setgroups for a single mapping, then gid_map. */
int sandbox_idmaps_write (pid_t pid, const struct sandbox_idmaps *m, struct hoist_error **err) HOIST_WUR;

/* ---------------------------------------------------------------------
 * The file system of the step (mounts.c)
 * ------------------------------------------------------------------- */

/* A bind mount as the child makes it: both sides resolved beforehand. */
struct sandbox_bind
{
  const char *source; /* host path: borrowed from the spec, or the tree's; NULL for a tmpfs */
  char *target;       /* inside the rootfs ("/etc/hosts"), owned */
  bool read_only;
  char *tmpfs_opts; /* a tmpfs's mount options, made before the clone; NULL: a bind; owned */
  /* Below /dev: the mount point is made in the step's own /dev (a tmpfs)
   * by the child, as a directory when DIR, else an empty file. */
  bool in_dev;
  bool dir;
};

/* A path the parent created in the rootfs for a mount point, to be
 * removed after the step when it is still the same, empty entry. */
struct sandbox_made
{
  char *path; /* relative, owned */
  dev_t dev;
  ino_t ino;
  mode_t type; /* S_IFDIR, S_IFREG or S_IFCHR */
  /* The parent directory's times before the entry was made, and its
   * mtime just after: when the step left the parent alone, removing
   * the entry puts the times back, so a snapshot diff of the rootfs
   * sees only the ctime. */
  struct timespec parent_before[2];
  struct timespec parent_after;
  bool parent_known;
};

struct sandbox_tree
{
  const char *rootfs; /* borrowed from the spec */
  int root_fd;        /* O_PATH|O_DIRECTORY on the rootfs, for the parent's *at() calls */
  struct sandbox_bind *binds;
  size_t n_binds;
  struct sandbox_made *made; /* in creation order */
  size_t n_made;
  char *hosts_path; /* a generated hosts file on the host, unlinked at release */
};

/* openat2 of PATH inside ROOT_FD (RESOLVE_IN_ROOT | RESOLVE, O_CLOEXEC
 * added): a system call, usable in the child. */
int sandbox_open_in_root (int root_fd, const char *path, int flags, uint64_t resolve);

void sandbox_tree_init (struct sandbox_tree *t);
/* Open the rootfs (it must be an existing directory). */
int sandbox_tree_open (struct sandbox_tree *t, const char *rootfs, struct hoist_error **err) HOIST_WUR;
/* Make sure every mount point exists in the rootfs (proc, dev,
 * etc/resolv.conf, etc/hosts, the spec's targets), creating what is
 * missing, and fill the bind list.  Every path is resolved inside the
 * rootfs (openat2 RESOLVE_IN_ROOT), so a symlink in the image cannot
 * send a mount point outside. */
int sandbox_tree_prepare (struct sandbox_tree *t, const struct sandbox_spec *spec, const char *hostname,
                          struct hoist_error **err) HOIST_WUR;
/* For bare chroot isolation (no mount namespace): make the device nodes
 * of /dev that the rootfs lacks (null, zero, full, random, urandom,
 * tty), when allowed to. */
int sandbox_tree_prepare_bare (struct sandbox_tree *t, struct hoist_error **err) HOIST_WUR;
/* Remove what prepare created (when unchanged), the hosts file, and
 * close the root fd. */
void sandbox_tree_release (struct sandbox_tree *t);

/* child: in a new mount namespace, build the step's tree on the rootfs
 * (private propagation, the rootfs bound onto itself, /proc, /dev, the
 * binds) and pivot_root into it.  PID_MAX, when not 0, is written to the
 * new pid namespace's kernel.pid_max before /proc/sys is made read-only. */
int sandbox_tree_enter (const struct sandbox_tree *t, uint64_t pid_max, struct sandbox_report *r);
/* child: chroot isolation without a mount namespace: chroot and chdir. */
int sandbox_tree_chroot (const struct sandbox_tree *t, struct sandbox_report *r);
/* child: execvpe in the new root, but through PATH of ENVP (glibc's
 * looks at the caller's environment), absolute entries only.  Returns
 * with errno on failure: ENOENT when found nowhere, else why a file that
 * was found could not run. */
void sandbox_exec_in_root (char *const *argv, char *const *envp);
/* child: chdir to CWD inside the new root, creating missing directories
 * owned by UID:GID (as BuildKit does for WORKDIR). */
int sandbox_enter_cwd (const char *cwd, uid_t uid, gid_t gid, struct sandbox_report *r);

/* ---------------------------------------------------------------------
 * Privileges and the syscall filter (seccomp.c)
 * ------------------------------------------------------------------- */

/* Who the step runs as, and with what limits. */
struct sandbox_creds
{
  uid_t uid; /* ids as the step's namespace sees them */
  gid_t gid;
  const gid_t *groups;
  size_t n_groups;
  bool setgroups_denied; /* single id mapping: keep the groups */
  bool bare;             /* no mount namespace: CAP_SYS_CHROOT goes too */
  uint64_t pids_max;     /* RLIMIT_NPROC */
  uint64_t memory_max;   /* RLIMIT_AS; 0: none */
};

/* child: while still privileged, limit the capability bounding set to
 * Docker's default set (less CAP_MKNOD; less CAP_SYS_CHROOT when bare),
 * clear the inheritable and ambient sets; then set the groups, gid and
 * uid, the rlimits (RLIMIT_CORE 0 too) and no_new_privs. */
int sandbox_creds_apply (const struct sandbox_creds *c, struct sandbox_report *r);
/* child: setresgid, then setresuid, to GID and UID, as raw syscalls.
 * glibc's wrappers, in a process it believes multi-threaded, signal
 * every other thread to change its ids too, under a lock: in a child
 * cloned from such a process those threads do not exist, and the lock
 * may have been copied held.  (setgroups likewise.)  -1 with errno. */
int sandbox_set_ids (uid_t uid, gid_t gid);
/* child: make SRC[0], SRC[1], SRC[2] fds 0, 1 and 2.  Returns -1 with
 * errno. */
int sandbox_setup_stdio (const int src[3]);
/* child: close every fd from FROM up but KEEP (close_range, or a loop
 * up to MAX_FD). */
void sandbox_close_fds (int keep, int max_fd, int from);

struct sandbox_filter
{
  struct sock_filter *insns; /* owned */
  unsigned short len;
};

/* Compile the filter with libseccomp in the parent (libseccomp
 * allocates, so it cannot run in the child).  BARE: chroot isolation
 * without namespaces, where chroot(2) is blocked too. */
int sandbox_filter_build (bool bare, struct sandbox_filter *f, struct hoist_error **err) HOIST_WUR;
void sandbox_filter_release (struct sandbox_filter *f);
/* child: load F (needs no_new_privs).  Returns -1 with errno. */
int sandbox_filter_load (const struct sandbox_filter *f);

#endif
