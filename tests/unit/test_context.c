/* test_context.c — the build context: the sorted walk with .dockerignore,
 * entry types, COPY source matching, opening files without leaving the
 * root, content digests and their cache.
 *
 * Every test builds its context in a fresh temp directory: BASE/ctx is the
 * context, BASE/out a directory outside it that symlinks point at. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/builder.h"

struct fx
{
  char *base;
  char *ctx; /* BASE/ctx */
  char *out; /* BASE/out */
};

/* ---- Helpers ---------------------------------------------------------- */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup (void **state)
{
  char tmpl[] = "/tmp/hoist-test-context-XXXXXX";
  struct fx *f;

  if (mkdtemp (tmpl) == NULL)
    return -1;
  f = hoist_xcalloc (1, sizeof (*f));
  f->base = hoist_xstrdup (tmpl);
  f->ctx = hoist_xasprintf ("%s/ctx", tmpl);
  f->out = hoist_xasprintf ("%s/out", tmpl);
  if (mkdir (f->ctx, 0755) < 0 || mkdir (f->out, 0755) < 0)
    return -1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;

  nftw (f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (f->base);
  free (f->ctx);
  free (f->out);
  free (f);
  return 0;
}

/* ROOT/REL as a new string. */
static char *
at (const char *root, const char *rel)
{
  return hoist_xasprintf ("%s/%s", root, rel);
}

static void
put_file (const char *root, const char *rel, const char *content)
{
  cleanup_free char *p = at (root, rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  assert_int_equal (close (fd), 0);
}

static void
put_dir (const char *root, const char *rel)
{
  cleanup_free char *p = at (root, rel);

  assert_int_equal (mkdir (p, 0755), 0);
}

static void
put_link (const char *root, const char *rel, const char *target)
{
  cleanup_free char *p = at (root, rel);

  assert_int_equal (symlink (target, p), 0);
}

static void
set_mtime (const char *root, const char *rel, time_t sec, long nsec)
{
  cleanup_free char *p = at (root, rel);
  struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

  assert_int_equal (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static struct builder_context *
open_ok (const char *dir, const struct builder_context_opts *opts)
{
  struct builder_context *ctx = NULL;
  struct hoist_error *err = NULL;

  if (builder_context_open (dir, opts, &ctx, &err) < 0)
    fail_msg ("builder_context_open: %s", err->msg);
  return ctx;
}

/* Open DIR expecting failure; returns the message (owned). */
static char *
open_fails (const char *dir)
{
  struct builder_context *ctx = NULL;
  struct hoist_error *err = NULL;
  char *msg;

  assert_true (builder_context_open (dir, NULL, &ctx, &err) < 0);
  assert_null (ctx);
  assert_non_null (err);
  msg = hoist_xstrdup (err->msg);
  hoist_error_free (err);
  return msg;
}

/* Every entry path in walk order, one a line. */
static char *
listing (const struct builder_context *ctx)
{
  cleanup_buf struct hoist_buf b;
  size_t n;
  const struct builder_context_entry *e = builder_context_entries (ctx, &n);

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < n; i++)
    {
      assert_int_equal (hoist_buf_addstr (&b, e[i].path, NULL), 0);
      assert_int_equal (hoist_buf_addch (&b, '\n', NULL), 0);
    }
  return hoist_buf_detach (&b, NULL);
}

/* The paths SOURCE matches, one a line. */
static char *
matches (const struct builder_context *ctx, const char *source)
{
  cleanup_buf struct hoist_buf b;
  const struct builder_context_entry **v = NULL;
  struct hoist_error *err = NULL;
  size_t n = 99;

  if (builder_context_match (ctx, source, &v, &n, &err) < 0)
    fail_msg ("match '%s': %s", source, err->msg);
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  if (n == 0)
    assert_null (v);
  for (size_t i = 0; i < n; i++)
    {
      assert_int_equal (hoist_buf_addf (&b, NULL, "%s\n", v[i]->path[0] != '\0' ? v[i]->path : "(root)"), 0);
    }
  free (v);
  return hoist_buf_detach (&b, NULL);
}

static void
match_fails (const struct builder_context *ctx, const char *source, int status, const char *msg)
{
  const struct builder_context_entry **v = NULL;
  struct hoist_error *err = NULL;
  size_t n = 0;

  assert_true (builder_context_match (ctx, source, &v, &n, &err) < 0);
  assert_null (v);
  assert_int_equal (err->status, status);
  if (msg != NULL)
    assert_string_equal (err->msg, msg);
  hoist_error_free (err);
}

static void
open_file_fails (struct builder_context *ctx, const char *path, int status, const char *msg)
{
  struct hoist_error *err = NULL;
  int fd = -1;

  assert_true (builder_context_open_file (ctx, path, &fd, NULL, &err) < 0);
  assert_int_equal (fd, -1);
  assert_int_equal (err->status, status);
  if (msg != NULL)
    assert_string_equal (err->msg, msg);
  hoist_error_free (err);
}

static void
digest_ok (struct builder_context *ctx, const char *path, char out[HOIST_DIGEST_STR_SIZE])
{
  const struct builder_context_entry *e = builder_context_lookup (ctx, path);
  struct hoist_error *err = NULL;

  assert_non_null (e);
  if (builder_context_file_digest (ctx, e, out, &err) < 0)
    fail_msg ("digest '%s': %s", path, err->msg);
}

static void
sha256_of (const char *s, char out[HOIST_DIGEST_STR_SIZE])
{
  assert_int_equal (hoist_sha256_digest (s, strlen (s), out, NULL), 0);
}

static struct builder_context_stats
stats_of (const struct builder_context *ctx)
{
  struct builder_context_stats s;

  builder_context_stats (ctx, &s);
  return s;
}

/* ---- Walk order ----------------------------------------------------------- */

static void
test_sorted_order (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  cleanup_free char *list = NULL;
  const struct builder_context_entry *first, *a;

  put_dir (f->ctx, "a");
  put_file (f->ctx, "a/b", "ab");
  put_file (f->ctx, "a.b", "");
  put_file (f->ctx, "a-b", "");
  put_file (f->ctx, "A", "");
  put_file (f->ctx, "b", "");
  ctx = open_ok (f->ctx, NULL);
  list = listing (ctx);
  /* Per directory by name, a directory followed by its tree: "a/b"
   * before "a-b" although '-' (0x2d) sorts before '/' (0x2f). */
  assert_string_equal (list, "A\na\na/b\na-b\na.b\nb\n");

  /* The order tar --sort=name writes. */
  {
    cleanup_free char *archive = at (f->base, "t.tar");
    char *argv_c[] = { "tar", "--sort=name", "-cf", archive, "-C", f->ctx, ".", NULL };
    char *argv_t[] = { "tar", "-tf", archive, NULL };
    cleanup_buf struct hoist_buf out;
    struct hoist_spawn_opts o = { .stdout_mode = HOIST_SPAWN_NULL, .stderr_mode = HOIST_SPAWN_INHERIT, .stdin_fd = -1 };
    struct hoist_spawn_result res;

    hoist_buf_init (&out, 1 << 20);
    o.argv = argv_c;
    assert_int_equal (hoist_spawn (&o, &res, NULL), 0);
    assert_int_equal (res.exit_code, 0);
    o.argv = argv_t;
    o.stdout_mode = HOIST_SPAWN_CAPTURE;
    o.stdout_buf = &out;
    assert_int_equal (hoist_spawn (&o, &res, NULL), 0);
    assert_int_equal (res.exit_code, 0);
    assert_string_equal (out.data, "./\n./A\n./a/\n./a/b\n./a-b\n./a.b\n./b\n");
  }

  /* Lookup by binary search in that order. */
  assert_string_equal (builder_context_lookup (ctx, "a-b")->path, "a-b");
  assert_string_equal (builder_context_lookup (ctx, "a/b")->path, "a/b");
  assert_ptr_equal (builder_context_lookup (ctx, ""), builder_context_root (ctx));
  assert_ptr_equal (builder_context_lookup (ctx, "."), builder_context_root (ctx));
  assert_null (builder_context_lookup (ctx, "a/c"));
  assert_null (builder_context_lookup (ctx, "./a"));
  assert_null (builder_context_lookup (ctx, "a/"));
  assert_null (builder_context_lookup (ctx, "/a"));
  a = builder_context_lookup (ctx, "a");
  assert_int_equal (builder_context_below (ctx, a, &first), 1);
  assert_string_equal (first->path, "a/b");
  assert_int_equal (builder_context_below (ctx, builder_context_lookup (ctx, "b"), &first), 0);
  assert_null (first);
  assert_int_equal (builder_context_below (ctx, builder_context_root (ctx), &first), 6);
  assert_string_equal (builder_context_root (ctx)->path, "");
  assert_true (S_ISDIR (builder_context_root (ctx)->mode));
  assert_string_equal (builder_context_dir (ctx), f->ctx);
  assert_int_equal (stats_of (ctx).entries, 6);
  builder_context_free (ctx);
}

/* ---- Entry types ---------------------------------------------------------- */

static void
test_entry_types (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  const struct builder_context_entry *e;
  cleanup_free char *pf = at (f->ctx, "file");
  cleanup_free char *ph1 = at (f->ctx, "h1");
  cleanup_free char *ph2 = at (f->ctx, "sub/h2");
  cleanup_free char *ph0 = at (f->ctx, "0h");
  static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20 };
  bool have_cap;
  struct stat st;
  uid_t uid = 1234;
  gid_t gid = 5678;

  put_file (f->ctx, "file", "twelve bytes");
  /* chown drops the setuid bit and capabilities: it goes first.  Not
   * root: the file keeps the test's own ids. */
  if (chown (pf, 1234, 5678) < 0)
    {
      assert_int_equal (errno, EPERM);
      uid = geteuid ();
      gid = getegid ();
    }
  set_mtime (f->ctx, "file", 1700000000, 123456789);
  put_dir (f->ctx, "sub");
  put_link (f->ctx, "outside", "/etc/passwd");
  put_link (f->ctx, "rel", "sub/../file");
  put_file (f->ctx, "h1", "shared");
  assert_int_equal (link (ph1, ph2), 0);
  assert_int_equal (link (ph1, ph0), 0);
  have_cap = setxattr (pf, "security.capability", cap, sizeof (cap), 0) == 0;
  assert_int_equal (chmod (pf, 04751), 0);
  if (!have_cap)
    print_message ("note: cannot set security.capability here (%s); not checked\n", strerror (errno));
  assert_int_equal (stat (pf, &st), 0);

  ctx = open_ok (f->ctx, NULL);
  {
    cleanup_free char *list = listing (ctx);
    assert_string_equal (list, "0h\nfile\nh1\noutside\nrel\nsub\nsub/h2\n");
  }
  e = builder_context_lookup (ctx, "file");
  assert_int_equal (e->mode, S_IFREG | 04751);
  assert_int_equal (e->uid, uid);
  assert_int_equal (e->gid, gid);
  assert_int_equal (e->size, 12);
  assert_int_equal (e->mtime.tv_sec, 1700000000);
  assert_int_equal (e->mtime.tv_nsec, 123456789);
  assert_int_equal (e->ino, st.st_ino);
  assert_int_equal (e->dev, st.st_dev);
  assert_null (e->link_target);
  assert_null (e->hardlink_target);
  if (have_cap)
    {
      assert_int_equal (e->capability_len, sizeof (cap));
      assert_memory_equal (e->capability, cap, sizeof (cap));
    }
  assert_null (builder_context_lookup (ctx, "sub")->capability);

  /* Symlinks are kept as links, never followed, wherever they point. */
  e = builder_context_lookup (ctx, "outside");
  assert_true (S_ISLNK (e->mode));
  assert_string_equal (e->link_target, "/etc/passwd");
  assert_int_equal (e->size, 0);
  assert_string_equal (builder_context_lookup (ctx, "rel")->link_target, "sub/../file");

  /* Hard links: later paths point at the first in walk order ("0h"). */
  assert_null (builder_context_lookup (ctx, "0h")->hardlink_target);
  assert_string_equal (builder_context_lookup (ctx, "h1")->hardlink_target, "0h");
  assert_string_equal (builder_context_lookup (ctx, "sub/h2")->hardlink_target, "0h");
  assert_int_equal (builder_context_lookup (ctx, "sub/h2")->size, 6);
  assert_int_equal (builder_context_lookup (ctx, "sub/h2")->nlink, 3);
  builder_context_free (ctx);
}

static void
test_socket_refused (void **state)
{
  struct fx *f = *state;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_free char *p = at (f->ctx, "run/app.sock");
  cleanup_free char *msg = NULL;
  int s;

  put_dir (f->ctx, "run");
  assert_true (strlen (p) < sizeof (sa.sun_path));
  memcpy (sa.sun_path, p, strlen (p) + 1);
  s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true (s >= 0);
  assert_int_equal (bind (s, (struct sockaddr *) &sa, sizeof (sa)), 0);
  msg = open_fails (f->ctx);
  assert_string_equal (msg, "build context: 'run/app.sock' is a socket: sockets cannot be copied into an image");

  /* Excluded, it is never looked at. */
  put_file (f->ctx, ".dockerignore", "run\n");
  {
    struct builder_context *ctx = open_ok (f->ctx, NULL);
    cleanup_free char *list = listing (ctx);
    assert_string_equal (list, ".dockerignore\n");
    builder_context_free (ctx);
  }
  close (s);
}

static void
test_fifo_refused (void **state)
{
  struct fx *f = *state;
  cleanup_free char *p = at (f->ctx, "pipe");
  cleanup_free char *msg = NULL;

  assert_int_equal (mkfifo (p, 0644), 0);
  msg = open_fails (f->ctx);
  assert_string_equal (msg, "build context: 'pipe' is a fifo: fifos cannot be copied into an image");
}

static void
test_device_refused (void **state)
{
  struct fx *f = *state;
  cleanup_free char *p = at (f->ctx, "null");
  cleanup_free char *msg = NULL;

  if (mknod (p, S_IFCHR | 0666, makedev (1, 3)) < 0)
    skip ();
  msg = open_fails (f->ctx);
  assert_string_equal (msg, "build context: 'null' is a character device: devices cannot be copied into an image");
}

/* ---- .dockerignore -------------------------------------------------------- */

static void
make_ignore_tree (struct fx *f)
{
  put_dir (f->ctx, "node_modules");
  put_dir (f->ctx, "node_modules/x");
  put_file (f->ctx, "node_modules/x/y.js", "");
  put_file (f->ctx, "a.log", "");
  put_file (f->ctx, "keep.log", "");
  put_dir (f->ctx, "src");
  put_file (f->ctx, "src/main.c", "");
  put_file (f->ctx, "src/debug.log", "");
  put_dir (f->ctx, "build");
  put_file (f->ctx, "build/tmp.o", "");
  put_dir (f->ctx, "build/out");
  put_file (f->ctx, "build/out/app", "");
  put_file (f->ctx, "build/out/other", "");
  put_dir (f->ctx, "cache");
  put_file (f->ctx, "cache/x", "");
  put_file (f->ctx, "Dockerfile", "FROM scratch\n");
}

static void
test_dockerignore (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  const struct builder_context_entry *e;
  struct stat st;
  cleanup_free char *pout = at (f->ctx, "build/out");

  make_ignore_tree (f);
  /* node_modules holds a socket: never descended, so no error. */
  {
    cleanup_free char *p = at (f->ctx, "node_modules/fifo");
    assert_int_equal (mkfifo (p, 0644), 0);
  }
  put_file (f->ctx, ".dockerignore", "# deps\nnode_modules\n*.log\n!keep.log\nbuild\n!build/out/app\ncache/\n");
  assert_int_equal (chmod (pout, 0700), 0);
  assert_int_equal (stat (pout, &st), 0);
  ctx = open_ok (f->ctx, NULL);
  {
    cleanup_free char *list = listing (ctx);
    /* "*.log" is for the root only (Docker's rule); the excluded "build"
     * and "build/out" are sent as parents of the re-included file. */
    assert_string_equal (list, ".dockerignore\nDockerfile\nbuild\nbuild/out\nbuild/out/app\nkeep.log\nsrc\n"
                               "src/debug.log\nsrc/main.c\n");
  }
  e = builder_context_lookup (ctx, "build/out");
  assert_int_equal (e->mode, S_IFDIR | 0700);
  assert_int_equal (e->ino, st.st_ino);
  builder_context_free (ctx);

  /* The Dockerfile and .dockerignore are not special. */
  put_file (f->ctx, ".dockerignore", "*\n!src\n");
  ctx = open_ok (f->ctx, NULL);
  {
    cleanup_free char *list = listing (ctx);
    assert_string_equal (list, "src\nsrc/debug.log\nsrc/main.c\n");
  }
  builder_context_free (ctx);

  /* Patterns given by the caller (<Dockerfile>.dockerignore) win. */
  {
    struct builder_ignore *ig = NULL;
    struct builder_context_opts opts = { 0 };
    const char *text = "*\n!Dockerfile\n!build/out\n";

    assert_int_equal (builder_ignore_parse (text, strlen (text), &ig, NULL), 0);
    opts.ignore = ig;
    ctx = open_ok (f->ctx, &opts);
    {
      cleanup_free char *list = listing (ctx);
      assert_string_equal (list, "Dockerfile\nbuild\nbuild/out\nbuild/out/app\nbuild/out/other\n");
    }
    builder_context_free (ctx);
    builder_ignore_free (ig);
  }
}

static void
test_dockerignore_errors (void **state)
{
  struct fx *f = *state;
  cleanup_free char *msg = NULL;
  cleanup_free char *big = hoist_xmalloc (BUILDER_IGNORE_MAX + 2);

  put_file (f->ctx, ".dockerignore", "ok\n[a\n");
  msg = open_fails (f->ctx);
  {
    const char *want = "build context: '.dockerignore' line 2: bad pattern '[a'";
    assert_true (strncmp (msg, want, strlen (want)) == 0);
  }
  free (msg);

  memset (big, '#', BUILDER_IGNORE_MAX + 1);
  big[BUILDER_IGNORE_MAX + 1] = '\0';
  put_file (f->ctx, ".dockerignore", big);
  msg = open_fails (f->ctx);
  assert_string_equal (msg, "build context: '.dockerignore' is larger than 1048576 bytes");
  free (msg);

  /* A .dockerignore that leads outside the context is not read. */
  {
    cleanup_free char *p = at (f->ctx, ".dockerignore");
    put_file (f->out, "ignore", "*\n");
    assert_int_equal (unlink (p), 0);
    put_link (f->ctx, ".dockerignore", "../out/ignore");
    msg = open_fails (f->ctx);
    assert_true (strstr (msg, "build context: cannot open '.dockerignore'") == msg);
  }

  {
    cleanup_free char *none = at (f->base, "missing");
    struct builder_context *ctx = NULL;
    struct hoist_error *err = NULL;

    assert_true (builder_context_open (none, NULL, &ctx, &err) < 0);
    assert_int_equal (err->status, ENOENT);
    assert_null (ctx);
    hoist_error_free (err);
  }
}

/* ---- COPY sources --------------------------------------------------------- */

static void
test_match (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  const struct builder_context_entry *e = NULL;
  struct hoist_error *err = NULL;

  put_file (f->ctx, "a.txt", "");
  put_file (f->ctx, "b.txt", "");
  put_file (f->ctx, "c.md", "");
  put_dir (f->ctx, "dir");
  put_file (f->ctx, "dir/x.txt", "");
  put_dir (f->ctx, "dir/sub");
  put_file (f->ctx, "dir/sub/y.txt", "");
  put_dir (f->ctx, "dir2");
  put_file (f->ctx, "dir2/x.txt", "");
  put_file (f->ctx, "dir2/x.md", "");
  put_link (f->ctx, "linkdir", "dir");
  put_link (f->ctx, "abslink", "/dir/sub");
  put_link (f->ctx, "etc", "/etc");
  put_link (f->ctx, "hostusr", "/usr");
  put_link (f->ctx, "loop1", "loop2");
  put_link (f->ctx, "loop2", "loop1");
  put_file (f->ctx, "é.txt", "");
  ctx = open_ok (f->ctx, NULL);

#define MATCH(src, want)                                                                                               \
  do                                                                                                                   \
    {                                                                                                                  \
      cleanup_free char *got_ = matches (ctx, src);                                                                    \
      assert_string_equal (got_, want);                                                                                \
    }                                                                                                                  \
  while (0)

  MATCH ("*.txt", "a.txt\nb.txt\né.txt\n");
  MATCH ("?.txt", "a.txt\nb.txt\né.txt\n"); /* '?' is one rune */
  MATCH ("[ab].txt", "a.txt\nb.txt\n");
  MATCH ("[^a].txt", "b.txt\né.txt\n");
  MATCH ("[a-b]*", "a.txt\nabslink\nb.txt\n");
  MATCH ("\\a*.txt", "a.txt\n"); /* '\' quotes */
  MATCH ("dir*", "dir\ndir2\n"); /* a directory stands for its tree */
  MATCH ("*/x.txt", "dir/x.txt\ndir2/x.txt\n");
  MATCH ("*/*", "dir/sub\ndir/x.txt\ndir2/x.md\ndir2/x.txt\n");
  MATCH ("dir/*/*.txt", "dir/sub/y.txt\n");
  MATCH ("linkdir/*.txt", "dir/x.txt\n"); /* the directory part follows links */
  MATCH ("abslink/*", "dir/sub/y.txt\n"); /* an absolute target is context-rooted */
  MATCH ("/dir/../?.md", "c.md\n");
  MATCH ("../../a.txt", "a.txt\n");
  MATCH ("nomatch*", "");
  MATCH (".", "(root)\n");
  MATCH ("/", "(root)\n");
  MATCH ("dir/sub/", "dir/sub\n");
  MATCH ("linkdir", "linkdir\n"); /* the last component is the link itself */
  MATCH ("linkdir/sub/y.txt", "dir/sub/y.txt\n");
  MATCH ("*dir", "dir\nlinkdir\n");
  /* '\' in a part without wildcards is taken literally, as in BuildKit. */
  match_fails (ctx, "\\a.txt", ENOENT, NULL);
  match_fails (ctx, "missing.txt", ENOENT,
               "build context: 'missing.txt' not found (hint: is it excluded by .dockerignore?)");
  match_fails (ctx, "missing/*.txt", ENOENT, NULL);
  match_fails (ctx, "a.txt/*", ENOTDIR, NULL);
  match_fails (ctx, "[a", EINVAL, "build context: bad pattern '[a'");
  match_fails (ctx, "*/[z", EINVAL, NULL);
  match_fails (ctx, "*x\\", EINVAL, NULL);
  match_fails (ctx, "hostusr/bin/*", ENOENT, NULL); /* "/usr" is the context's */
  match_fails (ctx, "etc/passwd", ELOOP, NULL);     /* "/etc" is "etc" itself */
  match_fails (ctx, "loop1/*", ELOOP, NULL);
#undef MATCH

  assert_int_equal (builder_context_resolve (ctx, "linkdir/sub/../x.txt", &e, &err), 0);
  assert_string_equal (e->path, "dir/x.txt");
  assert_int_equal (builder_context_resolve (ctx, "linkdir", &e, &err), 0);
  assert_string_equal (e->path, "dir");
  assert_int_equal (builder_context_resolve (ctx, "/../abslink", &e, &err), 0);
  assert_string_equal (e->path, "dir/sub");
  assert_int_equal (builder_context_resolve (ctx, "loop1", &e, &err), -ELOOP);
  assert_string_equal (err->msg, "build context: 'loop1': too many levels of symbolic links");
  hoist_error_free (err);
  builder_context_free (ctx);
}

/* ---- Opening files -------------------------------------------------------- */

static void
read_fd (int fd, char *buf, size_t size)
{
  ssize_t n = read (fd, buf, size - 1);

  assert_true (n >= 0);
  buf[n] = '\0';
}

static void
test_open_file (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  const struct builder_context_entry *e = NULL;
  struct hoist_error *err = NULL;
  char buf[64];
  int fd = -1;

  put_file (f->ctx, "hello", "hi there");
  put_dir (f->ctx, "dir");
  put_link (f->ctx, "passwd", "/etc/passwd");
  put_link (f->ctx, "etc", "/etc");
  put_link (f->ctx, "up", "..");
  ctx = open_ok (f->ctx, NULL);

  assert_int_equal (builder_context_open_file (ctx, "hello", &fd, &e, &err), 0);
  assert_string_equal (e->path, "hello");
  read_fd (fd, buf, sizeof (buf));
  assert_string_equal (buf, "hi there");
  assert_int_equal (fcntl (fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  assert_int_equal (fcntl (fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
  close (fd);

  open_file_fails (ctx, "../x", EINVAL,
                   "build context: invalid path '../x' (hint: a relative path inside the context, without '.', "
                   "'..' or '//')");
  open_file_fails (ctx, "/etc/passwd", EINVAL, NULL);
  open_file_fails (ctx, "dir/../hello", EINVAL, NULL);
  open_file_fails (ctx, "./hello", EINVAL, NULL);
  open_file_fails (ctx, "dir//hello", EINVAL, NULL);
  open_file_fails (ctx, "", EINVAL, NULL);
  open_file_fails (ctx, "up/ctx/hello", ENOENT, NULL);
  open_file_fails (ctx, "etc/passwd", ENOENT,
                   "build context: 'etc/passwd' not found (hint: is it excluded by .dockerignore?)");
  open_file_fails (ctx, "passwd", EINVAL, "build context: 'passwd' is not a regular file");
  open_file_fails (ctx, "dir", EINVAL, NULL);
  builder_context_free (ctx);
}

/* A directory swapped for a symlink after the walk, pointing at a
 * directory outside that holds the very same inode (a hard link, so size,
 * mtime and ctime all agree): only refusing symlinks on the way stops the
 * open from leaving the root. */
static void
test_open_file_swapped_dir (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  cleanup_free char *in = at (f->ctx, "sub/f");
  cleanup_free char *outf = at (f->out, "f");
  cleanup_free char *sub = at (f->ctx, "sub");
  cleanup_free char *moved = at (f->ctx, "moved");

  put_dir (f->ctx, "sub");
  put_file (f->ctx, "sub/f", "secret");
  assert_int_equal (link (in, outf), 0);
  ctx = open_ok (f->ctx, NULL);
  assert_int_equal (rename (sub, moved), 0);
  assert_int_equal (symlink (f->out, sub), 0);
  open_file_fails (ctx, "sub/f", ESTALE, "build context: 'sub/f' changed during the build");
  builder_context_free (ctx);
}

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef TEST_AUDIT_ARCH
/* Make openat2 fail with ERRNO in this process, as an old kernel (ENOSYS)
 * or a seccomp profile older than openat2 (EPERM) does. */
static int
refuse_openat2 (int errnum)
{
  struct sock_filter filter[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned) errnum),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof (filter) / sizeof (filter[0]), .filter = filter };

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
    return -1;
  return 0;
}

/* The checks of the fallback, run in a child that cannot use openat2.
 * Returns the number of the first check that failed, 0 when all passed. */
static int
fallback_checks (struct fx *f, int errnum)
{
  struct builder_context *ctx = NULL;
  struct hoist_error *err = NULL;
  cleanup_free char *sub = at (f->ctx, "d/sub");
  cleanup_free char *moved = at (f->ctx, "d/moved");
  char buf[64];
  ssize_t n;
  int fd = -1;

  if (refuse_openat2 (errnum) < 0)
    return 1;
  if (syscall (SYS_openat2, AT_FDCWD, ".", NULL, 0) >= 0 || errno != errnum)
    return 2;
  if (builder_context_open (f->ctx, NULL, &ctx, &err) < 0)
    return 3;
  if (builder_context_lookup (ctx, "d/sub/f") == NULL)
    return 4;
  if (builder_context_open_file (ctx, "d/sub/f", &fd, NULL, &err) < 0)
    return 5;
  n = read (fd, buf, sizeof (buf));
  close (fd);
  fd = -1;
  if (n != 6 || memcmp (buf, "secret", 6) != 0)
    return 6;
  /* The swapped directory: refused component by component too. */
  if (rename (sub, moved) < 0 || symlink (f->out, sub) < 0)
    return 7;
  if (builder_context_open_file (ctx, "d/sub/f", &fd, NULL, &err) != -ESTALE || fd != -1)
    return 8;
  if (strcmp (err->msg, "build context: 'd/sub/f' changed during the build") != 0)
    return 9;
  hoist_error_free (err);
  builder_context_free (ctx);
  return 0;
}

static void
test_open_without_openat2 (void **state)
{
  struct fx *f = *state;
  static const int errnums[] = { ENOSYS, EPERM };

  for (size_t i = 0; i < sizeof (errnums) / sizeof (errnums[0]); i++)
    {
      cleanup_free char *in = at (f->ctx, "d/sub/f");
      cleanup_free char *outf = at (f->out, "f");
      cleanup_free char *d = at (f->ctx, "d");
      int status;
      pid_t pid;

      nftw (d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
      unlink (outf);
      put_dir (f->ctx, "d");
      put_dir (f->ctx, "d/sub");
      put_file (f->ctx, "d/sub/f", "secret");
      assert_int_equal (link (in, outf), 0);
      pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        _exit (fallback_checks (f, errnums[i]));
      assert_int_equal (waitpid (pid, &status, 0), pid);
      assert_true (WIFEXITED (status));
      assert_int_equal (WEXITSTATUS (status), 0);
    }
}
#else
static void
test_open_without_openat2 (void **state)
{
  skip ();
}
#endif

static void
test_changed_during_build (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  const struct builder_context_entry *e;
  struct hoist_error *err = NULL;
  char d[HOIST_DIGEST_STR_SIZE];
  cleanup_free char *p = at (f->ctx, "f");

  put_file (f->ctx, "f", "one");
  put_file (f->ctx, "g", "two");
  put_file (f->ctx, "h", "three");
  set_mtime (f->ctx, "g", 1600000000, 5);
  ctx = open_ok (f->ctx, NULL);
  /* Past a tick of a coarse file system clock, so that the changes below
   * get another ctime even on kernels without fine-grained timestamps. */
  {
    struct timespec t = { 0, 50 * 1000 * 1000 };
    nanosleep (&t, NULL);
  }

  /* Another size. */
  put_file (f->ctx, "f", "four");
  open_file_fails (ctx, "f", ESTALE, "build context: 'f' changed during the build");
  e = builder_context_lookup (ctx, "f");
  assert_int_equal (builder_context_file_digest (ctx, e, d, &err), -ESTALE);
  assert_string_equal (err->msg, "build context: 'f' changed during the build");
  hoist_error_free (err);
  err = NULL;

  /* The same size with the mtime put back: ctime still tells. */
  put_file (f->ctx, "g", "TWO");
  set_mtime (f->ctx, "g", 1600000000, 5);
  open_file_fails (ctx, "g", ESTALE, "build context: 'g' changed during the build");

  /* Removed. */
  assert_int_equal (unlink (p), 0);
  put_file (f->ctx, "f", "one");
  open_file_fails (ctx, "f", ESTALE, NULL);
  {
    cleanup_free char *ph = at (f->ctx, "h");
    assert_int_equal (unlink (ph), 0);
    open_file_fails (ctx, "h", ESTALE, NULL);
  }
  builder_context_free (ctx);
}

/* ---- Digests and their cache ---------------------------------------------- */

/* The cache keeps no digest of a file changed less than 2 s before it was
 * read, so the cache tests make their files, then wait that long. */
static void
wait_out_racy_window (void)
{
  struct timespec t = { 2, 100 * 1000 * 1000 };

  while (nanosleep (&t, &t) < 0 && errno == EINTR)
    ;
}

static void
write_cache_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
}

/* A cache file with TEXT as its body and a valid checksum. */
static void
write_framed_cache (const char *path, const char *body)
{
  char sum[HOIST_DIGEST_STR_SIZE];
  cleanup_free char *text = NULL;

  sha256_of (body, sum);
  text = hoist_xasprintf ("%send %s\n", body, sum + 7);
  write_cache_file (path, text);
}

static void
expect_note (struct builder_context *ctx, const char *path, const char *why)
{
  char *note = NULL;
  cleanup_free char *want = why != NULL ? hoist_xasprintf ("digest cache '%s' ignored: %s", path, why) : NULL;

  builder_context_cache_load (ctx, path, &note);
  if (want == NULL)
    assert_null (note);
  else
    {
      assert_non_null (note);
      assert_string_equal (note, want);
    }
  free (note);
}

static void
test_digest_cache (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  cleanup_free char *cache = at (f->base, "ctx.cache");
  cleanup_free char *big = hoist_xmalloc (300 * 1024 + 1);
  cleanup_free char *pf = at (f->ctx, "f");
  cleanup_free char *ph = at (f->ctx, "h");
  char d[HOIST_DIGEST_STR_SIZE], want[HOIST_DIGEST_STR_SIZE], dbig[HOIST_DIGEST_STR_SIZE];
  struct builder_context_stats s;
  struct stat st;

  memset (big, 'x', 300 * 1024);
  big[300 * 1024] = '\0';
  put_file (f->ctx, "f", "hello");
  put_file (f->ctx, "big", big);
  assert_int_equal (link (pf, ph), 0);
  wait_out_racy_window ();

  /* First build: everything read once. */
  ctx = open_ok (f->ctx, NULL);
  expect_note (ctx, cache, NULL); /* no file yet: no note */
  digest_ok (ctx, "f", d);
  sha256_of ("hello", want);
  assert_string_equal (d, want);
  digest_ok (ctx, "f", d);
  digest_ok (ctx, "h", d); /* a hard link of f: not read again */
  assert_string_equal (d, want);
  digest_ok (ctx, "big", dbig);
  sha256_of (big, want);
  assert_string_equal (dbig, want);
  s = stats_of (ctx);
  assert_int_equal (s.files_hashed, 2);
  assert_int_equal (s.bytes_hashed, 5 + 300 * 1024);
  assert_int_equal (s.digests_cached, 2);
  assert_int_equal (s.cache_records, 0);
  assert_int_equal (builder_context_cache_save (ctx, cache, NULL), 0);
  builder_context_free (ctx);

  /* Second build, nothing changed: nothing read. */
  ctx = open_ok (f->ctx, NULL);
  expect_note (ctx, cache, NULL);
  assert_int_equal (stats_of (ctx).cache_records, 2);
  digest_ok (ctx, "f", d);
  sha256_of ("hello", want);
  assert_string_equal (d, want);
  digest_ok (ctx, "big", d);
  assert_string_equal (d, dbig);
  s = stats_of (ctx);
  assert_int_equal (s.files_hashed, 0);
  assert_int_equal (s.digests_cached, 2);
  assert_int_equal (builder_context_cache_save (ctx, cache, NULL), 0);
  builder_context_free (ctx);

  /* f rewritten with the same size and its mtime put back: the cache is
   * not fooled (ctime moved), and the new digest is not cached, being
   * too fresh. */
  assert_int_equal (stat (pf, &st), 0);
  put_file (f->ctx, "f", "HELLO");
  {
    struct timespec ts[2] = { st.st_atim, st.st_mtim };
    assert_int_equal (utimensat (AT_FDCWD, pf, ts, 0), 0);
  }
  ctx = open_ok (f->ctx, NULL);
  expect_note (ctx, cache, NULL);
  assert_int_equal (stats_of (ctx).cache_records, 1);
  digest_ok (ctx, "f", d);
  sha256_of ("HELLO", want);
  assert_string_equal (d, want);
  assert_int_equal (stats_of (ctx).files_hashed, 1);
  assert_int_equal (builder_context_cache_save (ctx, cache, NULL), 0);
  builder_context_free (ctx);

  ctx = open_ok (f->ctx, NULL);
  expect_note (ctx, cache, NULL);
  assert_int_equal (stats_of (ctx).cache_records, 1); /* big only */
  digest_ok (ctx, "f", d);
  assert_string_equal (d, want);
  assert_int_equal (stats_of (ctx).files_hashed, 1);
  builder_context_free (ctx);
}

static void
test_cache_file_checks (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  cleanup_free char *cache = at (f->base, "ctx.cache");
  cleanup_free char *name = NULL;
  cleanup_free char *name2 = NULL;
  cleanup_buf struct hoist_buf text;
  char d[HOIST_DIGEST_STR_SIZE], want[HOIST_DIGEST_STR_SIZE];
  char *rec;

  put_file (f->ctx, "f", "hello");
  wait_out_racy_window ();
  ctx = open_ok (f->ctx, NULL);
  digest_ok (ctx, "f", d);
  assert_int_equal (builder_context_cache_save (ctx, cache, NULL), 0);
  assert_int_equal (builder_context_cache_name (ctx, &name, NULL), 0);
  builder_context_free (ctx);
  assert_int_equal (strlen (name), strlen ("context-") + 64 + strlen (".cache"));
  assert_true (strncmp (name, "context-", 8) == 0);
  sha256_of ("hello", want);

  hoist_buf_init (&text, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_read_file (&text, cache, NULL), 0);
  assert_true (strncmp (text.data, "hoist-context-cache 1\n", 22) == 0);
  rec = text.data + 22;
  assert_true (strncmp (rec, want, strlen (want)) == 0);

  /* One byte of the record's digest changed: the checksum fails, and the
   * file is read again. */
  rec[10] = rec[10] == '0' ? '1' : '0';
  write_cache_file (cache, text.data);
  ctx = open_ok (f->ctx, NULL);
  expect_note (ctx, cache, "checksum mismatch");
  assert_int_equal (stats_of (ctx).cache_records, 0);
  digest_ok (ctx, "f", d);
  assert_string_equal (d, want);
  assert_int_equal (stats_of (ctx).files_hashed, 1);
  assert_int_equal (builder_context_cache_name (ctx, &name2, NULL), 0);
  assert_string_equal (name, name2);

  write_cache_file (cache, "garbage\n");
  expect_note (ctx, cache, "not a hoist digest cache");
  write_cache_file (cache, "hoist-context-cache 1\n");
  expect_note (ctx, cache, "truncated");
  write_framed_cache (cache, "hoist-context-cache 2\n");
  expect_note (ctx, cache, "version 2 is not 1");
  write_framed_cache (cache, "hoist-context-cache 01\n");
  expect_note (ctx, cache, "bad header");
  /* Well framed, but a field is malformed: a leading zero, a negative
   * size, a nanosecond out of range, a path that is not clean, a length
   * that runs past the record. */
  {
    static const char *const bad[] = {
      " 01 2 5 1 0 1 0 1 f\n", " 1 2 -5 1 0 1 0 1 f\n", " 1 2 5 1 1000000000 1 0 1 f\n", " 1 2 5 1 0 1 0 4 ../f\n",
      " 1 2 5 1 0 1 0 9 f\n",  " 1 2 5 1 0 1 0 1 f",    " 1 2 5 1 0 1 0 0 \n",           " 1 2 5 1 0 1 0 1 f\n",
    };

    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        /* The last one has a digest that is not one. */
        const char *digest = i + 1 < sizeof (bad) / sizeof (bad[0]) ? want : "sha256:xyz";
        cleanup_free char *body = hoist_xasprintf ("hoist-context-cache 1\n%s%s", digest, bad[i]);

        write_framed_cache (cache, body);
        expect_note (ctx, cache, "bad record 1");
      }
  }
  {
    cleanup_free char *body
        = hoist_xasprintf ("hoist-context-cache 1\n%s 1 2 5 1 0 1 0 1 g\n%s 1 2 5 1 0 1 0 1 f\n", want, want);
    write_framed_cache (cache, body);
    expect_note (ctx, cache, "record 2 out of order");
  }
  /* Over the size cap: refused before it is read. */
  {
    int fd = open (cache, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_true (fd >= 0);
    assert_int_equal (ftruncate (fd, (off_t) BUILDER_CONTEXT_CACHE_MAX + 1), 0);
    close (fd);
    expect_note (ctx, cache, "larger than 67108864 bytes");
  }
  /* A directory where the file should be. */
  {
    cleanup_free char *dir = at (f->base, "dir.cache");
    assert_int_equal (mkdir (dir, 0700), 0);
    expect_note (ctx, dir, "not a regular file");
  }
  assert_int_equal (stats_of (ctx).cache_records, 0);
  builder_context_free (ctx);
}

static void
test_digest_set (void **state)
{
  struct fx *f = *state;
  struct builder_context *ctx;
  cleanup_free char *other = at (f->base, "other");
  const struct builder_context_entry *root, *two[2];
  char d1[HOIST_DIGEST_STR_SIZE], d2[HOIST_DIGEST_STR_SIZE], d3[HOIST_DIGEST_STR_SIZE];
  struct hoist_error *err = NULL;

  for (int k = 0; k < 2; k++)
    {
      const char *dir = k == 0 ? f->ctx : other;

      if (k == 1)
        assert_int_equal (mkdir (other, 0755), 0);
      put_file (dir, "a.txt", "alpha");
      put_file (dir, "b.txt", "beta");
      put_dir (dir, "sub");
      put_file (dir, "sub/c", "gamma");
      put_link (dir, "l", "a.txt");
      if (k == 1)
        {
          set_mtime (dir, "a.txt", 1000, 0); /* times are not in the digest */
          set_mtime (dir, ".", 2000, 0);
        }
    }
  {
    cleanup_free char *p = at (other, ".");
    cleanup_free char *q = at (f->ctx, ".");
    assert_int_equal (chmod (p, 0755), 0);
    assert_int_equal (chmod (q, 0755), 0);
  }

  ctx = open_ok (f->ctx, NULL);
  root = builder_context_root (ctx);
  assert_int_equal (builder_context_digest_set (ctx, &root, 1, d1, &err), 0);
  two[0] = builder_context_lookup (ctx, "a.txt");
  two[1] = builder_context_lookup (ctx, "b.txt");
  assert_int_equal (builder_context_digest_set (ctx, two, 2, d2, &err), 0);
  assert_string_not_equal (d1, d2);
  two[0] = builder_context_lookup (ctx, "b.txt");
  two[1] = builder_context_lookup (ctx, "a.txt");
  assert_int_equal (builder_context_digest_set (ctx, two, 2, d3, &err), 0);
  assert_string_not_equal (d2, d3); /* order counts */
  builder_context_free (ctx);

  /* The same tree elsewhere, other times: the same digest. */
  ctx = open_ok (other, NULL);
  root = builder_context_root (ctx);
  assert_int_equal (builder_context_digest_set (ctx, &root, 1, d2, &err), 0);
  assert_string_equal (d1, d2);
  builder_context_free (ctx);

  /* Content, mode and link target each change it. */
  {
    cleanup_free char *p = at (other, "sub/c");
    cleanup_free char *l = at (other, "l");

    put_file (other, "sub/c", "GAMMA");
    ctx = open_ok (other, NULL);
    root = builder_context_root (ctx);
    assert_int_equal (builder_context_digest_set (ctx, &root, 1, d2, &err), 0);
    assert_string_not_equal (d1, d2);
    builder_context_free (ctx);

    put_file (other, "sub/c", "gamma");
    assert_int_equal (chmod (p, 0600), 0);
    ctx = open_ok (other, NULL);
    root = builder_context_root (ctx);
    assert_int_equal (builder_context_digest_set (ctx, &root, 1, d2, &err), 0);
    assert_string_not_equal (d1, d2);
    builder_context_free (ctx);

    assert_int_equal (chmod (p, 0644), 0);
    assert_int_equal (unlink (l), 0);
    put_link (other, "l", "b.txt");
    ctx = open_ok (other, NULL);
    root = builder_context_root (ctx);
    assert_int_equal (builder_context_digest_set (ctx, &root, 1, d2, &err), 0);
    assert_string_not_equal (d1, d2);
    builder_context_free (ctx);

    assert_int_equal (unlink (l), 0);
    put_link (other, "l", "a.txt");
    ctx = open_ok (other, NULL);
    root = builder_context_root (ctx);
    assert_int_equal (builder_context_digest_set (ctx, &root, 1, d2, &err), 0);
    assert_string_equal (d1, d2);

    /* An entry of another context is refused. */
    {
      struct builder_context *ctx1 = open_ok (f->ctx, NULL);
      const struct builder_context_entry *foreign = builder_context_lookup (ctx1, "a.txt");

      assert_true (builder_context_digest_set (ctx, &foreign, 1, d2, &err) < 0);
      assert_string_equal (err->msg, "build context: 'a.txt' is not an entry of the build context");
      hoist_error_free (err);
      err = NULL;
      assert_true (builder_context_file_digest (ctx, foreign, d2, &err) < 0);
      hoist_error_free (err);
      err = NULL;
      builder_context_free (ctx1);
    }
    builder_context_free (ctx);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_sorted_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_entry_types, setup, teardown),
    cmocka_unit_test_setup_teardown (test_socket_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fifo_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_device_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dockerignore, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dockerignore_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_match, setup, teardown),
    cmocka_unit_test_setup_teardown (test_open_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_open_file_swapped_dir, setup, teardown),
    cmocka_unit_test_setup_teardown (test_open_without_openat2, setup, teardown),
    cmocka_unit_test_setup_teardown (test_changed_during_build, setup, teardown),
    cmocka_unit_test_setup_teardown (test_digest_cache, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cache_file_checks, setup, teardown),
    cmocka_unit_test_setup_teardown (test_digest_set, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
