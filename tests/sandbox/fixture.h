/* fixture.h — test_sandbox's fixture: a busybox rootfs built once per
 * run by tests/sandbox/mkroot.sh, steps run with their output captured,
 * and processes counted on the host.  Static functions for the one test
 * that includes it, after cmocka.h and the sandbox headers. */
#ifndef HOIST_TESTS_SANDBOX_FIXTURE_H
#define HOIST_TESTS_SANDBOX_FIXTURE_H

static char *tmpdir; /* holds root/ and whatever a test makes */
static char *root;   /* the full busybox rootfs */
static bool have_sysprobe;

static char *envp_default[] = { "PATH=/bin", NULL };

/* ---- fixture --------------------------------------------------------------- */

static int
run_host (char *const *argv)
{
  static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  struct hoist_spawn_opts o = {
    .argv = argv, .envp = env, .stdin_fd = -1, .stdout_mode = HOIST_SPAWN_INHERIT, .stderr_mode = HOIST_SPAWN_INHERIT
  };
  struct hoist_spawn_result res;
  struct hoist_error *err = NULL;
  int ret = hoist_spawn (&o, &res, &err);

  if (ret < 0)
    fprintf (stderr, "%s\n", err->msg);
  hoist_error_free (err);
  return ret < 0 || res.signaled || res.exit_code != 0 ? -1 : 0;
}

static char *
mkroot_script (void)
{
  const char *src = getenv ("HOIST_SRCDIR");

  if (src != NULL)
    return hoist_xasprintf ("%s/tests/sandbox/mkroot.sh", src);
  return hoist_xasprintf ("%.*s/tests/sandbox/mkroot.sh", (int) (strstr (__FILE__, "/tests/sandbox/") - __FILE__),
                          __FILE__);
}

static char *
make_root (const char *name, const char *kind)
{
  cleanup_free char *script = mkroot_script ();
  char *dir = hoist_xasprintf ("%s/%s", tmpdir, name);
  char *argv[] = { "/bin/sh", script, dir, (char *) kind, NULL };

  if (run_host (argv) < 0)
    fail_msg ("cannot build the rootfs '%s'", dir);
  return dir;
}

static int
group_setup (void **state)
{
  char tmpl[] = "/tmp/hoist-sandbox-XXXXXX";
  cleanup_free char *probe = NULL;

  (void) state;
  if (access ("/bin/busybox", X_OK) < 0 || mkdtemp (tmpl) == NULL)
    return 0; /* every test skips */
  tmpdir = hoist_xstrdup (tmpl);
  chmod (tmpdir, 0755); /* the unprivileged test walks through it */
  root = make_root ("root", "full");
  probe = hoist_xasprintf ("%s/bin/sysprobe", root);
  have_sysprobe = access (probe, X_OK) == 0;
  return 0;
}

static int
group_teardown (void **state)
{
  char *argv[] = { "/bin/rm", "-rf", tmpdir, NULL };

  (void) state;
  if (tmpdir != NULL)
    run_host (argv);
  free (root);
  free (tmpdir);
  return 0;
}

static void
need_root (void)
{
  if (root == NULL || geteuid () != 0)
    skip ();
}

/* ---- running a step -------------------------------------------------------- */

static struct sandbox_spec
spec_for (char *const *argv)
{
  return (struct sandbox_spec){ .rootfs = root, .argv = argv, .envp = envp_default, .cwd = "/", .timeout_s = 60 };
}

/* Run SPEC with stdout and stderr into a memfd; *OUT gets the text. */
static int
run_capture (struct sandbox_spec *spec, char **out, struct sandbox_result *res, struct hoist_error **err)
{
  cleanup_close int fd = memfd_create ("step-output", MFD_CLOEXEC);
  cleanup_buf struct hoist_buf b;
  int ret;

  assert_true (fd >= 0);
  hoist_buf_init (&b, 1 << 20);
  spec->stdout_fd = spec->stderr_fd = fd;
  ret = sandbox_run (spec, res, err);
  if (ret < 0)
    print_message ("sandbox_run: %s\n", (*err)->msg);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  assert_int_equal (hoist_buf_read_fd (&b, fd, NULL), 0);
  *out = hoist_buf_detach (&b, NULL);
  spec->stdout_fd = spec->stderr_fd = -1; /* closed on return */
  return ret;
}

/* Run SPEC, which must start; returns its output (owned). */
static char *
run_spec (struct sandbox_spec *spec, struct sandbox_result *res)
{
  cleanup_error struct hoist_error *err = NULL;
  char *out = NULL;

  if (run_capture (spec, &out, res, &err) < 0)
    fail_msg ("step '%s' did not start: %s", spec->argv[spec->argv[1] != NULL], err->msg);
  return out;
}

/* Run the shell script SCRIPT as UID:GID; must start; returns its output. */
static char *
run_sh (const char *script, uid_t uid, gid_t gid, struct sandbox_result *res)
{
  char *const argv[] = { "sh", "-c", (char *) script, NULL };
  struct sandbox_spec spec = spec_for (argv);

  spec.uid = uid;
  spec.gid = gid;
  return run_spec (&spec, res);
}

/* REL, inside the fixture's rootfs, belongs to UID:GID. */
static void
assert_owner (const char *rel, uid_t uid, gid_t gid)
{
  cleanup_free char *path = hoist_xasprintf ("%s/%s", root, rel);
  struct stat st;

  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_uid, uid);
  assert_int_equal (st.st_gid, gid);
}

/* Processes on the host whose real uid is UID, or with UID (uid_t) -1,
 * in a pid namespace other than ours (what a sandbox runs). */
static int
count_uid (uid_t uid)
{
  char self_ns[64] = "", ns[64];
  DIR *d = opendir ("/proc");
  struct dirent *e;
  int n = 0;

  assert_non_null (d);
  assert_true (readlink ("/proc/self/ns/pid", self_ns, sizeof self_ns - 1) > 0);
  while ((e = readdir (d)) != NULL)
    {
      char path[300], line[256];
      ssize_t len;
      FILE *f;

      if (e->d_name[0] < '0' || e->d_name[0] > '9')
        continue;
      snprintf (path, sizeof path, "/proc/%s/ns/pid", e->d_name);
      if (uid == (uid_t) -1)
        {
          if ((len = readlink (path, ns, sizeof ns - 1)) > 0 && (ns[len] = '\0', strcmp (ns, self_ns) != 0))
            n++;
          continue;
        }
      snprintf (path, sizeof path, "/proc/%s/status", e->d_name);
      if ((f = fopen (path, "r")) == NULL)
        continue;
      while (fgets (line, sizeof line, f) != NULL)
        if (strncmp (line, "Uid:", 4) == 0)
          {
            if (strtoul (line + 4, NULL, 10) == uid)
              n++;
            break;
          }
      fclose (f);
    }
  closedir (d);
  return n;
}

static void
assert_err_has (const struct hoist_error *err, const char *text)
{
  assert_non_null (err);
  if (strstr (err->msg, text) == NULL)
    fail_msg ("'%s' is not in the error '%s'", text, err->msg);
}

static void
assert_no_children (void)
{
  assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
  assert_int_equal (errno, ECHILD);
}

static uint64_t
elapsed_ms (const struct timespec *since)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (uint64_t) (now.tv_sec - since->tv_sec) * 1000 + (uint64_t) ((now.tv_nsec - since->tv_nsec) / 1000000);
}

struct sampler
{
  uid_t uid;
  volatile bool stop;
  int max;
};

static void *
sample_main (void *arg)
{
  struct sampler *s = arg;

  while (!s->stop)
    {
      int n = count_uid (s->uid);
      if (n > s->max)
        s->max = n;
    }
  return NULL;
}

/* Check the "NAME RESULT" lines of `sysprobe syscalls`: everything
 * denied (EPERM, ENOSYS; n/a for an ABI the kernel lacks) but getpid,
 * the personality query and PER_LINUX, and chroot when allowed. */
static void
check_probe_output (const char *out, bool chroot_allowed)
{
  static const char *const allowed[] = { "getpid", "personality_query", "personality_linux" };
  int lines = 0;

  for (const char *p = out; *p != '\0'; lines++)
    {
      const char *nl = strchr (p, '\n');
      cleanup_free char *line = hoist_xstrndup (p, nl != NULL ? (size_t) (nl - p) : strlen (p));
      char *sp = strchr (line, ' ');
      bool ok_expected = false;

      assert_non_null (sp);
      *sp++ = '\0';
      for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        ok_expected |= strcmp (line, allowed[i]) == 0;
      if (strcmp (line, "chroot") == 0)
        ok_expected = chroot_allowed;
      if (ok_expected)
        assert_string_equal (sp, "ok");
      else if (strcmp (line, "clone3") == 0)
        assert_string_equal (sp, "ENOSYS");
      else if (strcmp (sp, "EPERM") != 0 && strcmp (sp, "ENOSYS") != 0 && strcmp (sp, "n/a") != 0)
        fail_msg ("%s was not denied: %s", line, sp);
      p = nl != NULL ? nl + 1 : p + strlen (p);
    }
  assert_true (lines >= 27);
}

/* Make this process unable to create namespaces, as Docker's seccomp
 * profile does in short: clone3 ENOSYS, clone and unshare with any
 * CLONE_NEW* flag EPERM.  Returns 0 or -1. */
static int
forbid_namespaces (void)
{
  static const unsigned long ns[]
      = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP };
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  int r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);

  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    {
      struct scmp_arg_cmp c = SCMP_A0 (SCMP_CMP_MASKED_EQ, ns[i], ns[i]);
      r |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1, c);
      r |= seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (unshare), 1, c);
    }
  r |= seccomp_load (ctx);
  seccomp_release (ctx);
  return r != 0 ? -1 : 0;
}

#endif
