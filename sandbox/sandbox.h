/* sandbox.h — runs one build step (a RUN instruction) in a root file
 * system, isolated: user, mount, pid, ipc and uts namespaces (and net for
 * --network=none), uid/gid maps, a private mount tree with the rootfs
 * pivot_root'ed, a fresh /proc, a minimal /dev, no_new_privs, a seccomp
 * filter, rlimits and a timeout.  Or, where namespaces cannot be made and
 * hoist runs as root (a dev pod whose seccomp profile forbids unshare),
 * a chroot with the same filter.
 *
 * sandbox/ uses only common/.  Every function that can fail returns 0 (or
 * a documented value) on success and a negative value with *ERR set. */
#ifndef HOIST_SANDBOX_H
#define HOIST_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

enum sandbox_isolation
{
  SANDBOX_ISOLATION_AUTO = 0, /* userns when it can be created, else chroot when root */
  SANDBOX_ISOLATION_USERNS,
  SANDBOX_ISOLATION_CHROOT,
};

enum sandbox_network
{
  SANDBOX_NETWORK_DEFAULT = 0, /* the host's network (as BuildKit's default for RUN) */
  SANDBOX_NETWORK_NONE,        /* a new net namespace with only lo (brought up) */
  SANDBOX_NETWORK_HOST,
};

/* A mount into the step at TARGET (absolute, inside the rootfs; created
 * as an empty file or directory if missing, and removed again afterwards
 * when the sandbox created it): SOURCE (a host path) bound there, or with
 * TMPFS an empty tmpfs of at most TMPFS_SIZE bytes (0: the kernel's
 * default, half of RAM), SOURCE unused. */
struct sandbox_mount
{
  const char *source;
  const char *target;
  bool read_only;
  bool tmpfs;
  uint64_t tmpfs_size;
};

/* One contiguous id mapping: container ids [inside, inside + count) are
 * host ids [outside, outside + count). */
struct sandbox_idmap
{
  uid_t inside;
  uid_t outside;
  uint32_t count;
};

#define SANDBOX_IDMAPS_MAX 5

/* How the calling user's ids can be mapped (sandbox_idmaps_probe). */
struct sandbox_idmaps
{
  struct sandbox_idmap uid[SANDBOX_IDMAPS_MAX];
  size_t n_uid;
  struct sandbox_idmap gid[SANDBOX_IDMAPS_MAX];
  size_t n_gid;
  /* true: written with newuidmap/newgidmap (a range from /etc/subuid and
   * /etc/subgid); false: written directly (root, or a single mapping of
   * the caller's own ids). */
  bool helpers;
  /* true when only container id 0 is mapped (to the caller). */
  bool single;
};

/* Work out the id maps for the calling user: as root, every id of the
 * process's own user namespace onto itself (in the initial namespace all
 * of them; in the one sandbox_userns_enter made, what it mapped); otherwise the caller's own id as 0
 * plus the caller's range from /etc/subuid and /etc/subgid (by name or
 * id) when newuidmap and newgidmap exist; otherwise only 0 -> the caller
 * (SINGLE).  Never fails for a missing subuid entry; fails only when the
 * files exist but cannot be read or parsed. */
int sandbox_idmaps_probe (struct sandbox_idmaps *out, struct hoist_error **err) HOIST_WUR;

struct sandbox_spec
{
  const char *rootfs; /* the step's root directory (absolute) */
  char *const *argv;  /* argv[0] resolved inside the rootfs through PATH of ENVP, as execvpe would */
  char *const *envp;  /* the step's whole environment */
  const char *cwd;    /* inside the rootfs; created (owned by UID:GID) when missing, as BuildKit does */
  uid_t uid;          /* container ids the step runs as */
  gid_t gid;
  const gid_t *groups; /* supplementary groups (container ids), N_GROUPS of them */
  size_t n_groups;
  enum sandbox_isolation isolation;
  enum sandbox_network network;
  const struct sandbox_idmaps *idmaps; /* NULL: probed */
  const struct sandbox_mount *mounts;
  size_t n_mounts;
  /* /etc/resolv.conf and /etc/hosts: bind-mounted read-only from these
   * host files (NULL: the host's /etc/resolv.conf; a generated hosts file
   * with localhost and the step's hostname). */
  const char *resolv_conf;
  const char *hosts;
  const char *hostname;  /* NULL: "buildkitsandbox", as BuildKit names it */
  const char *root_name; /* the root in messages ("the image"); NULL: "'ROOTFS'" */
  unsigned timeout_s;    /* 0: none; the whole step (all its processes) is killed after it */
  uint64_t memory_max;   /* RLIMIT_AS per process; 0: none */
  uint64_t pids_max;     /* RLIMIT_NPROC; 0: 4096 */
  int stdout_fd;         /* the step's stdout and stderr go here (-1: /dev/null) */
  int stderr_fd;
};

struct sandbox_result
{
  int exit_code;                    /* the step's exit status, or 128 + signal */
  int signal;                       /* the signal that ended it, or 0 */
  bool timed_out;                   /* killed by timeout_s */
  enum sandbox_isolation isolation; /* what was used (AUTO resolved) */
  /* Only container id 0 was mapped (rootless with no subordinate range):
   * a chown to any other id failed in the step with EINVAL. */
  bool single_id;
};

/* Run SPEC.  Returns 0 when the step ran (whatever its exit code: see
 * RES), negative when it could not be started; the error then says why
 * and what would allow it ("cannot create a user namespace: Operation not
 * permitted (hint: --isolation=chroot when running as root, or allow
 * unprivileged user namespaces)").  Every process of the step is gone
 * when this returns.  The caller's signal mask, fds and cwd are
 * untouched.
 *
 * What it leaves in the rootfs: the working directory when it was
 * missing (owned by UID:GID, as BuildKit makes it), and what the step
 * did.  Mount points it needs and the rootfs lacks are created before
 * the step and removed after it, when still the same empty entry:
 * proc/, dev/, etc/, etc/resolv.conf, etc/hosts, each mount's target and
 * its missing parents; with chroot isolation and no mount namespace,
 * dev/ and dev/{null,zero,full,random,urandom,tty}.  The times of a
 * parent directory the step left alone are put back, but its ctime
 * cannot be: a snapshot diff should not take a directory's ctime alone
 * for a change. */
int sandbox_run (const struct sandbox_spec *spec, struct sandbox_result *res, struct hoist_error **err) HOIST_WUR;

/* For an unprivileged caller, move this process into a new user and
 * mount namespace in which it is root: container 0 is the caller and
 * 1..N its range from /etc/subuid and /etc/subgid (through newuidmap and
 * newgidmap), or 0 alone without one, as `buildah unshare` does.  A build
 * then extracts its rootfs with the image's owners and its RUN steps can
 * chown to any mapped id.  Call it while the process has one thread.
 * Returns 0 when there is no need (root) or no way (*WHY says why, owned:
 * the process is unchanged), 1 when entered (*WHY is a warning when the
 * range could not be mapped and only 0 was), -1 on an error after which
 * the process cannot go on. */
int sandbox_userns_enter (char **why, struct hoist_error **err) HOIST_WUR;

/* Whether ISOLATION can be used here at all (for AUTO: which one would
 * be), without running anything: creates a user namespace in a child and
 * checks for root and CAP_SYS_CHROOT.  Returns 1 when it can (*RESOLVED
 * says which, *WHY is NULL), 0 when it cannot (*WHY says why and what
 * setting would allow it; owned).  A refusal is the answer, not an
 * error: ERR is left alone. */
int sandbox_isolation_probe (enum sandbox_isolation isolation, enum sandbox_isolation *resolved, char **why,
                             struct hoist_error **err) HOIST_WUR;

#endif
