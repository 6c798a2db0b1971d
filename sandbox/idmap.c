/* idmap.c — the user namespace: whether one can be made here, and
 * which host ids the step's container ids are.
 *
 * Whether is found by trying: a throw-away clone with the flags the step
 * will get.  Where it fails (a container whose seccomp profile forbids
 * it, a sysctl that turns user namespaces off) and hoist is root, chroot
 * isolation is the fallback for AUTO; the error otherwise names the
 * setting that would allow it.
 *
 * As root, hoist maps every id of its own user namespace onto itself, so
 * a rootfs extracted by root (file owners as the image says) looks the
 * same inside.  Unprivileged, the kernel lets a process map only its
 * own uid and gid, and only after giving up setgroups(2) ("deny"); a
 * wider range needs the setuid helpers newuidmap and newgidmap (the
 * shadow-utils "uidmap" package), which check it against /etc/subuid
 * and /etc/subgid.  Then the caller is container 0 and its subordinate
 * range starts at container 1, as podman and buildah map rootless users.
 *
 * /etc/subuid is outside input as far as we are concerned: a line that
 * does not parse is skipped, never trusted and never fatal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_INTERNAL
#include "sandbox/sandbox_private.h"

#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"

/* The root range: what a base image's ids fit in (as Docker's and
 * buildah's rootful defaults). */
#define ROOT_RANGE 65536u

/* /etc/subuid of a real system is a few lines; anything near this is
 * not one. */
#define SUBID_FILE_MAX (1024 * 1024)

/* The helpers and the proc files are quick; a hung helper should not
 * hang the build. */
#define HELPER_TIMEOUT_MS 10000

/* ---------------------------------------------------------------------
 * /etc/subuid and /etc/subgid
 * ------------------------------------------------------------------- */

/* A decimal number of N bytes (digits only, no sign) that fits 32 bits. */
static bool
parse_u32 (const char *s, size_t n, uint32_t *out)
{
  uint64_t v = 0;

  if (n == 0 || n > 10)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return false;
      v = v * 10 + (uint64_t) (s[i] - '0');
    }
  if (v > UINT32_MAX)
    return false;
  *out = (uint32_t) v;
  return true;
}

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static bool
name_matches (const char *field, size_t n, const char *user, unsigned long id)
{
  uint32_t num;

  if (user != NULL && strlen (user) == n && memcmp (field, user, n) == 0)
    return true;
  return parse_u32 (field, n, &num) && num == id;
}

/* One line, without its newline: "name:start:count", blanks around it
 * allowed. */
static bool
line_matches (const char *p, size_t n, const char *user, unsigned long id, uint32_t *start, uint32_t *count)
{
  const char *f[3];
  size_t flen[3];
  const char *end;
  size_t nf = 0;

  while (n > 0 && is_blank (*p))
    p++, n--;
  while (n > 0 && is_blank (p[n - 1]))
    n--;
  if (n == 0 || *p == '#')
    return false;
  end = p + n;
  while (nf < 3)
    {
      const char *colon = memchr (p, ':', (size_t) (end - p));
      f[nf] = p;
      flen[nf] = (size_t) ((colon != NULL ? colon : end) - p);
      nf++;
      if (colon == NULL)
        break;
      p = colon + 1;
    }
  if (nf != 3 || f[2] + flen[2] != end)
    return false; /* too few or too many fields */
  if (!name_matches (f[0], flen[0], user, id) || !parse_u32 (f[1], flen[1], start) || !parse_u32 (f[2], flen[2], count))
    return false;
  return *count > 0 && (uint64_t) *start + *count <= (uint64_t) UINT32_MAX + 1;
}

bool
sandbox_subid_find (const char *text, size_t len, const char *user, unsigned long id, uint32_t *start, uint32_t *count)
{
  const char *p = text;
  const char *end = text + len;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      const char *eol = nl != NULL ? nl : end;
      uint32_t s, c;

      /* A NUL in a line makes it garbage, not a shorter line. */
      if (memchr (p, '\0', (size_t) (eol - p)) == NULL && line_matches (p, (size_t) (eol - p), user, id, &s, &c))
        {
          *start = s;
          *count = c;
          return true;
        }
      p = eol + 1;
    }
  return false;
}

/* Look up the caller's range in PATH.  A missing file is no range. */
static int
subid_lookup (const char *path, const char *user, unsigned long id, bool *found, uint32_t *start, uint32_t *count,
              struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;
  cleanup_close int fd = -1;

  *found = false;
  hoist_buf_init (&b, SUBID_FILE_MAX);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s'", path);
  if (hoist_buf_read_fd (&b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '%s'", path);
  *found = sandbox_subid_find (b.data, b.len, user, id, start, count);
  return 0;
}

/* ---------------------------------------------------------------------
 * The probe
 * ------------------------------------------------------------------- */

/* Root's container ids: the ids this process's own user namespace has,
 * each onto itself.  In the initial namespace that is every id; in the
 * namespace a rootless build runs in (sandbox_userns_enter) it is the
 * caller as 0 and its subordinate range as 1..N, or 0 alone.  PATH is
 * /proc/self/uid_map or gid_map ("inside outside count" lines); NULL, a
 * missing file or one with no line that parses gives the root range. */
static int
own_ids (const char *path, struct sandbox_idmap *v, size_t *n, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;
  cleanup_close int fd = -1;
  const char *p, *end;

  *n = 0;
  hoist_buf_init (&b, 4096);
  fd = path != NULL ? open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
  if (fd < 0 && path != NULL && errno != ENOENT)
    return hoist_error_set (err, errno, "cannot open '%s'", path);
  if (fd >= 0 && hoist_buf_read_fd (&b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '%s'", path);
  p = b.data != NULL ? b.data : "";
  end = p + b.len;
  while (p < end && *n < SANDBOX_IDMAPS_MAX)
    {
      const char *eol = memchr (p, '\n', (size_t) (end - p));
      uint32_t f[3];
      size_t nf = 0;

      if (eol == NULL)
        eol = end;
      while (nf < 3)
        {
          const char *q;

          while (p < eol && is_blank (*p))
            p++;
          for (q = p; q < eol && !is_blank (*q); q++)
            ;
          if (!parse_u32 (p, (size_t) (q - p), &f[nf]))
            break;
          nf++;
          p = q;
        }
      if (nf == 3 && f[2] > 0)
        v[(*n)++] = (struct sandbox_idmap){ .inside = f[0], .outside = f[0], .count = f[2] };
      p = eol + 1;
    }
  if (*n == 0)
    {
      v[0] = (struct sandbox_idmap){ .inside = 0, .outside = 0, .count = ROOT_RANGE };
      *n = 1;
    }
  return 0;
}

static void
single_map (struct sandbox_idmap *m, uid_t outside)
{
  *m = (struct sandbox_idmap){ .inside = 0, .outside = outside, .count = 1 };
}

int
sandbox_idmaps_probe_from (const struct sandbox_idmap_source *src, struct sandbox_idmaps *out, struct hoist_error **err)
{
  uint32_t ustart = 0, ucount = 0, gstart = 0, gcount = 0;
  bool ufound = false, gfound = false;

  memset (out, 0, sizeof *out);
  if (src->uid == 0)
    {
      if (own_ids (src->uid_map_path, out->uid, &out->n_uid, err) < 0
          || own_ids (src->gid_map_path, out->gid, &out->n_gid, err) < 0)
        return -1;
      out->single = out->n_uid == 1 && out->uid[0].count == 1;
      return 0;
    }
  single_map (&out->uid[0], src->uid);
  single_map (&out->gid[0], src->gid);
  out->n_uid = out->n_gid = 1;
  out->single = true;
  if (!src->have_helpers)
    return 0;
  if (subid_lookup (src->subuid_path, src->user, src->uid, &ufound, &ustart, &ucount, err) < 0
      || subid_lookup (src->subgid_path, src->user, src->uid, &gfound, &gstart, &gcount, err) < 0)
    return -1;
  if (!ufound || !gfound)
    return 0;
  /* Container ids past UINT32_MAX - 1 do not exist ((uid_t) -1 is
   * "no id"): the range starts at 1, so it holds at most that many. */
  out->uid[1] = (struct sandbox_idmap){ .inside = 1,
                                        .outside = ustart,
                                        .count = ucount < UINT32_MAX - 1 ? ucount : UINT32_MAX - 1 };
  out->gid[1] = (struct sandbox_idmap){ .inside = 1,
                                        .outside = gstart,
                                        .count = gcount < UINT32_MAX - 1 ? gcount : UINT32_MAX - 1 };
  out->n_uid = out->n_gid = 2;
  out->single = false;
  out->helpers = true;
  return 0;
}

int
sandbox_idmaps_probe (struct sandbox_idmaps *out, struct hoist_error **err)
{
  struct sandbox_idmap_source src = {
    .uid = getuid (),
    .gid = getgid (),
    .subuid_path = "/etc/subuid",
    .subgid_path = "/etc/subgid",
    .have_helpers = access (NEWUIDMAP, X_OK) == 0 && access (NEWGIDMAP, X_OK) == 0,
    .uid_map_path = "/proc/self/uid_map",
    .gid_map_path = "/proc/self/gid_map",
  };
  struct passwd pw, *found = NULL;
  char pwbuf[4096];

  if (src.uid != 0 && getpwuid_r (src.uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found != NULL)
    src.user = found->pw_name;
  return sandbox_idmaps_probe_from (&src, out, err);
}

/* ---------------------------------------------------------------------
 * Checking the step's ids against the maps
 * ------------------------------------------------------------------- */

static bool
id_mapped (const struct sandbox_idmap *v, size_t n, uint32_t id)
{
  for (size_t i = 0; i < n; i++)
    if (id >= v[i].inside && (uint64_t) id < (uint64_t) v[i].inside + v[i].count)
      return true;
  return false;
}

static int
unmapped (const struct sandbox_idmaps *m, const char *what, unsigned long id, struct hoist_error **err)
{
  if (m->single)
    return hoist_error_set_status (err, EINVAL,
                                   "cannot run the step as %s %lu: only container id 0 is mapped to the calling "
                                   "user (hint: give the user ranges in /etc/subuid and /etc/subgid and install "
                                   "newuidmap and newgidmap, Debian package uidmap)",
                                   what, id);
  return hoist_error_set_status (err, EINVAL, "cannot run the step as %s %lu: it is outside the mapped ids", what, id);
}

int
sandbox_idmaps_check (const struct sandbox_idmaps *m, const struct sandbox_spec *spec, struct hoist_error **err)
{
  if (!id_mapped (m->uid, m->n_uid, spec->uid))
    return unmapped (m, "uid", spec->uid, err);
  if (!id_mapped (m->gid, m->n_gid, spec->gid))
    return unmapped (m, "gid", spec->gid, err);
  for (size_t i = 0; i < spec->n_groups; i++)
    if (!id_mapped (m->gid, m->n_gid, spec->groups[i]))
      return unmapped (m, "supplementary group", spec->groups[i], err);
  if (m->single && spec->n_groups > 0)
    return hoist_error_set_status (err, EINVAL,
                                   "cannot give the step supplementary groups: with a single id mapping the kernel "
                                   "forbids setgroups (hint: install newuidmap and newgidmap with subordinate ids)");
  return 0;
}

/* ---------------------------------------------------------------------
 * Writing the maps
 * ------------------------------------------------------------------- */

static int
write_proc_file (pid_t pid, const char *name, const char *text, struct hoist_error **err)
{
  cleanup_free char *path = hoist_xasprintf ("/proc/%ld/%s", (long) pid, name);
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen (text);
  ssize_t n;

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s'", path);
  /* The kernel takes a map in one write, or not at all. */
  do
    n = write (fd, text, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return hoist_error_set (err, errno, "cannot write '%s'", path);
  if ((size_t) n != len)
    return hoist_error_set (err, EIO, "cannot write '%s': short write", path);
  return 0;
}

static int
map_text (const struct sandbox_idmap *v, size_t n, struct hoist_buf *b, struct hoist_error **err)
{
  for (size_t i = 0; i < n; i++)
    if (hoist_buf_addf (b, err, "%lu %lu %lu\n", (unsigned long) v[i].inside, (unsigned long) v[i].outside,
                        (unsigned long) v[i].count)
        < 0)
      return -1;
  return 0;
}

static int
write_direct (pid_t pid, const struct sandbox_idmaps *m, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf uid;
  cleanup_buf struct hoist_buf gid;

  hoist_buf_init (&uid, 4096); /* the kernel's own limit for a map */
  hoist_buf_init (&gid, 4096);
  if (map_text (m->uid, m->n_uid, &uid, err) < 0 || map_text (m->gid, m->n_gid, &gid, err) < 0)
    return -1;
  if (write_proc_file (pid, "uid_map", uid.data, err) < 0)
    return -1;
  /* Unprivileged, gid_map can only be written once setgroups is denied:
   * otherwise dropping a group with setgroups could gain access that a
   * "negative" group permission denied on the host. */
  if (m->single && write_proc_file (pid, "setgroups", "deny", err) < 0 && (*err)->status != ENOENT)
    return -1;
  return write_proc_file (pid, "gid_map", gid.data, err);
}

static int
run_helper (const char *helper, pid_t pid, const struct sandbox_idmap *v, size_t n, struct hoist_error **err)
{
  cleanup_strv char **argv = NULL;
  cleanup_buf struct hoist_buf errbuf;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts o = {
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_NULL,
    .stderr_mode = HOIST_SPAWN_CAPTURE,
    .stderr_buf = &errbuf,
    .timeout_ms = HELPER_TIMEOUT_MS,
  };

  hoist_buf_init (&errbuf, 4096);
  hoist_strv_push (&argv, helper);
  hoist_strv_push_take (&argv, hoist_xasprintf ("%ld", (long) pid));
  for (size_t i = 0; i < n; i++)
    {
      hoist_strv_push_take (&argv, hoist_xasprintf ("%lu", (unsigned long) v[i].inside));
      hoist_strv_push_take (&argv, hoist_xasprintf ("%lu", (unsigned long) v[i].outside));
      hoist_strv_push_take (&argv, hoist_xasprintf ("%lu", (unsigned long) v[i].count));
    }
  o.argv = argv;
  if (hoist_spawn (&o, &res, err) < 0)
    return -1;
  if (res.signaled || res.exit_code != 0)
    {
      cleanup_free char *msg = NULL;

      while (errbuf.len > 0 && (errbuf.data[errbuf.len - 1] == '\n' || errbuf.data[errbuf.len - 1] == ' '))
        errbuf.data[--errbuf.len] = '\0';
      msg = hoist_quote (errbuf.data, errbuf.len, 300, 0);
      return hoist_error_set_status (err, EPERM, "'%s' failed: %s (hint: check /etc/subuid and /etc/subgid)", helper,
                                     errbuf.len > 0 ? msg : "no message");
    }
  return 0;
}

int
sandbox_idmaps_write (pid_t pid, const struct sandbox_idmaps *m, struct hoist_error **err)
{
  int ret;

  if (m->helpers)
    ret = run_helper (NEWUIDMAP, pid, m->uid, m->n_uid, err) < 0
                  || run_helper (NEWGIDMAP, pid, m->gid, m->n_gid, err) < 0
              ? -1
              : 0;
  else
    ret = write_direct (pid, m, err);
  if (ret < 0)
    return hoist_error_wrap (err, "cannot map the step's user and group ids");
  return 0;
}

/* ---------------------------------------------------------------------
 * Which isolation
 * ------------------------------------------------------------------- */

/* clone3 gives a pidfd too; seccomp profiles (Docker's) answer ENOSYS to
 * clone3 so that callers fall back to clone. */
pid_t
sandbox_raw_clone (unsigned long flags, int *pidfd)
{
  struct clone_args args = {
    .flags = flags | (pidfd != NULL ? CLONE_PIDFD : 0),
    .pidfd = (uint64_t) (uintptr_t) pidfd,
    .exit_signal = SIGCHLD,
  };
  long r = syscall (SYS_clone3, &args, sizeof args);

  if (r >= 0 || errno != ENOSYS)
    return (pid_t) r;
#if defined(__s390__) || defined(__s390x__)
  r = syscall (SYS_clone, 0L, flags | SIGCHLD);
#else
  r = syscall (SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
#endif
  if (r > 0 && pidfd != NULL)
    *pidfd = (int) syscall (SYS_pidfd_open, (pid_t) r, 0U);
  return (pid_t) r;
}

/* Whether a process can be cloned with FLAGS here: 0 or the errno. */
static int
probe_clone (unsigned long flags)
{
  sigset_t all, old;
  pid_t pid;
  int saved, st;

  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pid = sandbox_raw_clone (flags, NULL);
  if (pid == 0)
    _exit (0);
  saved = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (pid < 0)
    return saved;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  return 0;
}

static bool
chroot_allowed (void)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];

  if (geteuid () != 0 || syscall (SYS_capget, &hdr, data) < 0)
    return false;
  return (data[CAP_TO_INDEX (CAP_SYS_CHROOT)].effective & CAP_TO_MASK (CAP_SYS_CHROOT)) != 0;
}

/* The first byte of a sysctl file is C. */
static bool
sysctl_is (const char *path, char c)
{
  char b = 0;
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);

  return fd >= 0 && read (fd, &b, 1) == 1 && b == c;
}

/* The setting that would allow a user namespace here. */
static const char *
userns_hint (void)
{
  bool root = geteuid () == 0;

  if (!root && sysctl_is ("/proc/sys/kernel/unprivileged_userns_clone", '0'))
    return "sysctl kernel.unprivileged_userns_clone=1, or --isolation=chroot when running as root";
  if (sysctl_is ("/proc/sys/user/max_user_namespaces", '0'))
    return "sysctl user.max_user_namespaces=15000, or --isolation=chroot when running as root";
  if (!root && sysctl_is ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", '1'))
    return "sysctl kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for hoist, or "
           "--isolation=chroot when running as root";
  return "--isolation=chroot when running as root, or allow unprivileged user namespaces (in a container: a "
         "seccomp profile that allows clone and unshare with CLONE_NEWUSER)";
}

int
sandbox_mode_resolve (enum sandbox_isolation want, bool net_none, struct sandbox_mode *m, char **why)
{
  unsigned long flags = SANDBOX_NS_FLAGS | (net_none ? CLONE_NEWNET : 0);
  int e;

  *why = NULL;
  if (want == SANDBOX_ISOLATION_AUTO || want == SANDBOX_ISOLATION_USERNS)
    {
      e = probe_clone (flags | CLONE_NEWUSER);
      if (e == 0)
        {
          *m = (struct sandbox_mode){ .isolation = SANDBOX_ISOLATION_USERNS,
                                      .clone_flags = flags | CLONE_NEWUSER,
                                      .userns = true };
          return 0;
        }
      if (want == SANDBOX_ISOLATION_USERNS || (e != EPERM && e != ENOSPC && e != EINVAL) || !chroot_allowed ())
        {
          *why = hoist_xasprintf ("cannot create a user namespace: %s (hint: %s)", strerror (e), userns_hint ());
          return -e;
        }
    }
  else if (want != SANDBOX_ISOLATION_CHROOT)
    {
      *why = hoist_xasprintf ("cannot run the step: unknown isolation %d", (int) want);
      return -EINVAL;
    }
  if (!chroot_allowed ())
    {
      *why = hoist_xstrdup ("cannot use chroot isolation: it needs root with CAP_SYS_CHROOT (hint: "
                            "--isolation=userns)");
      return -EPERM;
    }
  if (probe_clone (flags) == 0)
    {
      *m = (struct sandbox_mode){ .isolation = SANDBOX_ISOLATION_CHROOT, .clone_flags = flags };
      return 0;
    }
  if (net_none)
    {
      *why = hoist_xstrdup ("cannot give the step no network: no network namespace can be made here (hint: "
                            "--network=default, or allow namespaces)");
      return -EPERM;
    }
  *m = (struct sandbox_mode){ .isolation = SANDBOX_ISOLATION_CHROOT, .bare = true };
  return 0;
}

int
sandbox_isolation_probe (enum sandbox_isolation isolation, enum sandbox_isolation *resolved, char **why,
                         struct hoist_error **err)
{
  struct sandbox_mode m;

  (void) err;
  if (sandbox_mode_resolve (isolation, false, &m, why) < 0)
    return 0;
  *resolved = m.isolation;
  return 1;
}
