/* test_copy.c — COPY and ADD: Docker's source and destination rules, as
 * layers.  Each case builds a small context (and, where it matters, an
 * image root file system) in a temp directory, resolves one request,
 * writes the layer uncompressed and reads it back with libarchive, and
 * compares the whole entry list, one line per entry:
 *   "path type+mode uid:gid" and "=content" (files), "-> target"
 *   (symlinks) or "=> target" (hard links).
 * Archives for ADD are made with the system tar and compressors; hostile
 * ones with libarchive; URLs are served by python3's http.server on a
 * free loopback port. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/builder.h"

#define FIXED_MTIME 1000000000

struct fx
{
  char *base;
  char *ctx; /* BASE/ctx: the build context */
  char *img; /* BASE/img: the image's root file system */
  char *tmp; /* BASE/tmp: temp files of the plan */
};

/* ---- Files -------------------------------------------------------------------- */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup (void **state)
{
  char tmpl[] = "/tmp/hoist-test-copy-XXXXXX";
  struct fx *f;

  if (mkdtemp (tmpl) == NULL)
    return -1;
  f = hoist_xcalloc (1, sizeof (*f));
  f->base = hoist_xstrdup (tmpl);
  f->ctx = hoist_xasprintf ("%s/ctx", tmpl);
  f->img = hoist_xasprintf ("%s/img", tmpl);
  f->tmp = hoist_xasprintf ("%s/tmp", tmpl);
  if (mkdir (f->ctx, 0755) < 0 || mkdir (f->img, 0755) < 0 || mkdir (f->tmp, 0700) < 0)
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
  free (f->img);
  free (f->tmp);
  free (f);
  return 0;
}

static char *
at (const char *dir, const char *rel)
{
  return hoist_xasprintf ("%s/%s", dir, rel);
}

static void
put_file (const char *dir, const char *rel, const char *content, size_t len, mode_t mode)
{
  cleanup_free char *p = at (dir, rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, len), (ssize_t) len);
  assert_int_equal (close (fd), 0);
  assert_int_equal (chmod (p, mode), 0);
}

static void
set_mtime (const char *dir, const char *rel, time_t t)
{
  cleanup_free char *p = at (dir, rel);
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };

  assert_int_equal (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* Build a tree in DIR from SPEC, one line each:
 *   "d PATH MODE", "f PATH MODE CONTENT" ("\n" in CONTENT is a newline),
 *   "l PATH TARGET", "h PATH EXISTING".
 * Every mtime is FIXED_MTIME. */
static void
build_tree (const char *dir, const char *spec)
{
  cleanup_strv char **done = NULL;

  for (const char *line = spec; line != NULL && *line != '\0';)
    {
      const char *end = line + strcspn (line, "\n");
      cleanup_free char *l = hoist_xstrndup (line, (size_t) (end - line));
      char *path = l + 2, *arg = strchr (path, ' ');
      cleanup_free char *p = NULL;

      assert_non_null (arg);
      *arg++ = '\0';
      p = at (dir, path);
      switch (l[0])
        {
        case 'd':
          assert_int_equal (mkdir (p, 0700), 0);
          assert_int_equal (chmod (p, (mode_t) strtoul (arg, NULL, 8)), 0);
          break;
        case 'f':
          {
            char *content = strchr (arg, ' ');
            cleanup_free char *body = NULL;
            char *o;

            content = content != NULL ? content + 1 : arg + strlen (arg);
            body = hoist_xstrdup (content);
            o = body;
            for (const char *c = content; *c != '\0'; c++)
              {
                if (c[0] == '\\' && c[1] == 'n')
                  *o++ = '\n', c++;
                else if (c[0] == '\\' && c[1] == 't')
                  *o++ = '\t', c++;
                else
                  *o++ = *c;
              }
            *o = '\0';
            put_file (dir, path, body, strlen (body), (mode_t) strtoul (arg, NULL, 8));
            break;
          }
        case 'l':
          assert_int_equal (symlink (arg, p), 0);
          break;
        case 'h':
          {
            cleanup_free char *q = at (dir, arg);
            assert_int_equal (link (q, p), 0);
            break;
          }
        default:
          fail_msg ("bad spec line '%s'", l);
        }
      hoist_strv_push (&done, path);
      line = *end == '\n' ? end + 1 : end;
    }
  /* Times last: creating a file changes its directory's mtime. */
  for (size_t i = 0; done != NULL && done[i] != NULL; i++)
    set_mtime (dir, done[i], FIXED_MTIME);
}

static void
run_argv (const char *cwd, char *const *argv, int out_fd)
{
  struct hoist_spawn_opts o = { 0 };
  struct hoist_spawn_result res;
  struct hoist_error *err = NULL;
  cleanup_buf struct hoist_buf errbuf;
  char *const envp[] = { "PATH=/usr/bin:/bin", NULL };

  hoist_buf_init (&errbuf, 1 << 20);
  o.argv = argv;
  o.envp = envp;
  o.cwd = cwd;
  o.stdin_fd = -1;
  o.stdout_mode = out_fd >= 0 ? HOIST_SPAWN_FD : HOIST_SPAWN_NULL;
  o.stdout_fd = out_fd;
  o.stderr_mode = HOIST_SPAWN_CAPTURE;
  o.stderr_buf = &errbuf;
  o.timeout_ms = 60000;
  if (hoist_spawn (&o, &res, &err) < 0)
    fail_msg ("%s: %s", argv[0], err->msg);
  if (res.signaled || res.exit_code != 0)
    fail_msg ("%s failed: %s", argv[0], errbuf.data);
}

/* ---- Running a request and reading the layer back ----------------------------------- */

/* Printable content as is (newlines as "\n"), else its length. */
static char *
show_content (const char *buf, size_t n, int64_t size)
{
  struct hoist_buf b;
  struct hoist_error *err = NULL;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) buf[i];

      if (c == '\n')
        assert_int_equal (hoist_buf_addstr (&b, "\\n", &err), 0);
      else if (c == '\t')
        assert_int_equal (hoist_buf_addstr (&b, "\\t", &err), 0);
      else if (c < 0x20 || c >= 0x7f)
        {
          hoist_buf_reset (&b);
          assert_int_equal (hoist_buf_addf (&b, &err, "<%lld bytes>", (long long) size), 0);
          break;
        }
      else
        assert_int_equal (hoist_buf_addch (&b, (char) c, &err), 0);
    }
  return hoist_buf_detach (&b, NULL);
}

static bool show_mtime;

static char *
entry_line (struct archive *a, struct archive_entry *e)
{
  mode_t type = archive_entry_filetype (e);
  char t = type == AE_IFDIR ? 'd' : type == AE_IFLNK ? 'l' : type == AE_IFREG ? 'f' : '?';
  cleanup_free char *tail = NULL;
  cleanup_free char *when = show_mtime ? hoist_xasprintf (" @%lld", (long long) archive_entry_mtime (e)) : NULL;

  if (archive_entry_hardlink (e) != NULL)
    {
      t = 'h';
      tail = hoist_xasprintf (" => %s", archive_entry_hardlink (e));
    }
  else if (type == AE_IFLNK)
    tail = hoist_xasprintf (" -> %s", archive_entry_symlink (e));
  else if (type == AE_IFREG)
    {
      char buf[256];
      la_ssize_t n = archive_read_data (a, buf, sizeof (buf));
      cleanup_free char *c = NULL;

      assert_true (n >= 0);
      c = show_content (buf, (size_t) n, archive_entry_size (e));
      tail = hoist_xasprintf (" =%s", c);
    }
  return hoist_xasprintf ("%s %c%04o %lld:%lld%s%s", archive_entry_pathname (e), t, (unsigned) archive_entry_perm (e),
                          (long long) archive_entry_uid (e), (long long) archive_entry_gid (e),
                          when != NULL ? when : "", tail != NULL ? tail : "");
}

/* Write P as an uncompressed layer (mtimes clamped to EPOCH when it is
 * not negative, as the executor will) and list it. */
static char **
layer_lines (struct fx *f, const struct builder_copy_plan *p, int64_t epoch)
{
  cleanup_free char *path = at (f->base, "layer.tar");
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  struct builder_layer_opts o;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_result res;
  struct hoist_error *err = NULL;
  struct archive *a;
  struct archive_entry *e;
  char **lines = hoist_xcalloc (1, sizeof (char *));
  int r;

  assert_true (fd >= 0);
  builder_layer_opts_init (&o);
  o.compression = BUILDER_COMPRESSION_NONE;
  o.threads = 1;
  o.source_date_epoch = epoch;
  assert_int_equal (builder_layer_writer_new (fd, &o, &w, &err), 0);
  if (builder_copy_write (p, w, &err) < 0)
    fail_msg ("write: %s", err->msg);
  assert_int_equal (builder_layer_finish (w, &res, &err), 0);
  builder_layer_writer_free (w);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  a = archive_read_new ();
  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_fd (a, fd, 10240), ARCHIVE_OK);
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    hoist_strv_push_take (&lines, entry_line (a, e));
  assert_int_equal (r, ARCHIVE_EOF);
  archive_read_free (a);
  close (fd);
  return lines;
}

static void
assert_lines (char *const *got, const char *const *want)
{
  size_t i = 0;
  bool same = true;

  for (; want[i] != NULL || got[i] != NULL; i++)
    if (want[i] == NULL || got[i] == NULL || strcmp (want[i], got[i]) != 0)
      same = false;
  if (same)
    return;
  print_message ("want:\n");
  for (i = 0; want[i] != NULL; i++)
    print_message ("  \"%s\",\n", want[i]);
  print_message ("got:\n");
  for (i = 0; got[i] != NULL; i++)
    print_message ("  \"%s\",\n", got[i]);
  fail_msg ("layer differs");
}

static void
context_freep (struct builder_context **c)
{
  builder_context_free (*c);
}

#define cleanup_context __attribute__ ((cleanup (context_freep)))

/* Resolve REQ against F's context (or DIR when not NULL); the layer's
 * lines, or NULL with *ERRMSG (owned) set. */
static char **
run_copy (struct fx *f, const char *dir, struct builder_copy_request *req, char **errmsg)
{
  cleanup_context struct builder_context *ctx = NULL;
  struct builder_copy_source src = { 0 };
  struct builder_copy_plan *plan = NULL;
  struct hoist_error *err = NULL;
  char **lines;

  *errmsg = NULL;
  if (dir == NULL)
    {
      if (builder_context_open (f->ctx, NULL, &ctx, &err) < 0)
        fail_msg ("context: %s", err->msg);
      src.context = ctx;
    }
  else
    src.root_dir = dir;
  if (req->tmp_dir == NULL)
    req->tmp_dir = f->tmp;
  if (builder_copy_resolve (&src, req, &plan, &err) < 0)
    {
      *errmsg = hoist_xstrdup (err->msg);
      hoist_error_free (err);
      return NULL;
    }
  lines = layer_lines (f, plan, req->source_date_epoch);
  builder_copy_plan_free (plan);
  return lines;
}

/* Run REQ and check its layer against WANT. */
static void
expect_layer (struct fx *f, const char *dir, struct builder_copy_request *req, const char *const *want)
{
  cleanup_free char *msg = NULL;
  cleanup_strv char **lines = run_copy (f, dir, req, &msg);

  if (lines == NULL)
    fail_msg ("unexpected error: %s", msg);
  assert_lines (lines, want);
}

/* Run REQ and check it fails with exactly WANT. */
static void
expect_error (struct fx *f, const char *dir, struct builder_copy_request *req, const char *want)
{
  cleanup_free char *msg = NULL;
  cleanup_strv char **lines = run_copy (f, dir, req, &msg);

  if (lines != NULL)
    fail_msg ("expected the error \"%s\", got a layer", want);
  assert_string_equal (msg, want);
}

/* ---- The table: Docker's documented COPY/ADD behaviour --------------------------------- */

#define ABC "f a.txt 644 A\nf b.txt 644 B\nf c.md 644 C"
#define TREE "d src 750\nf src/x 600 X\nd src/sub 700\nf src/sub/y 644 Y"
#define USERS                                                                                                          \
  "d etc 755\nf etc/passwd 644 root:x:0:0::/root:/bin/sh\\napp:x:1000:1001::/home/app:/bin/sh\\n"                      \
  "\nf etc/group 644 root:x:0:\\nstaff:x:50:app\\n"
#define ZEROS "sha256:0000000000000000000000000000000000000000000000000000000000000000"

struct copy_case
{
  const char *name;
  const char *ctx; /* context tree (build_tree) */
  const char *img; /* image tree */
  bool add;
  const char *src[6];
  const char *dest;
  const char *workdir;
  const char *chown;
  const char *chmod;
  const char *excl[4];
  bool parents;
  bool link;
  const char *checksum;
  const char *error; /* set: the request fails with exactly this */
  const char *want[16];
};

static const struct copy_case cases[] = {
  { "file to file", ABC, NULL, false, { "a.txt" }, "/b.txt", .want = { "b.txt f0644 0:0 =A" } },
  { "file into dir/", ABC, NULL, false, { "a.txt" }, "/dir/", .want = { "dir/ d0755 0:0", "dir/a.txt f0644 0:0 =A" } },
  { "file into a directory of the image",
    ABC,
    "d opt 755",
    false,
    { "a.txt" },
    "/opt",
    .want = { "opt/a.txt f0644 0:0 =A" } },
  { "directory contents",
    TREE,
    NULL,
    false,
    { "src" },
    "/app",
    .want = { "app/ d0755 0:0", "app/sub/ d0700 0:0", "app/sub/y f0644 0:0 =Y", "app/x f0600 0:0 =X" } },
  { "directory with ./ and trailing slashes",
    TREE,
    NULL,
    false,
    { "./src/" },
    "/app/",
    .want = { "app/ d0755 0:0", "app/sub/ d0700 0:0", "app/sub/y f0644 0:0 =Y", "app/x f0600 0:0 =X" } },
  { "the whole context into /",
    "f a.txt 644 A\nd d 755\nf d/e 644 E",
    NULL,
    false,
    { "." },
    "/",
    .want = { "a.txt f0644 0:0 =A", "d/ d0755 0:0", "d/e f0644 0:0 =E" } },
  { "an empty directory", "d e 755", NULL, false, { "e" }, "/e2", .want = { "e2/ d0755 0:0" } },
  { "wildcard *",
    ABC,
    NULL,
    false,
    { "*.txt" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/a.txt f0644 0:0 =A", "d/b.txt f0644 0:0 =B" } },
  { "wildcard ?",
    "f index.js 644 J\nf index.ts 644 T\nf index.css 644 S",
    NULL,
    false,
    { "index.?s" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/index.js f0644 0:0 =J", "d/index.ts f0644 0:0 =T" } },
  { "wildcard [ab]",
    "f a.c 644 1\nf b.c 644 2\nf c.c 644 3",
    NULL,
    false,
    { "[ab].c" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/a.c f0644 0:0 =1", "d/b.c f0644 0:0 =2" } },
  { "wildcard below a directory",
    "d s 755\nf s/a.txt 644 A\nf s/b.md 644 B",
    NULL,
    false,
    { "s/*.txt" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/a.txt f0644 0:0 =A" } },
  { "several sources into dir/",
    ABC,
    NULL,
    false,
    { "a.txt", "c.md" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/a.txt f0644 0:0 =A", "d/c.md f0644 0:0 =C" } },
  { "several sources, destination not a dir",
    ABC,
    NULL,
    false,
    { "a.txt", "c.md" },
    "/d",
    .error = "COPY: when using COPY with more than one source file, the destination must be a directory and end "
             "with a / (hint: '/d/')" },
  { "wildcard matching several, destination not a dir",
    ABC,
    NULL,
    false,
    { "*.txt" },
    "/d",
    .error = "COPY: when using COPY with more than one source file, the destination must be a directory and end "
             "with a / (hint: '/d/')" },
  { "destination relative to WORKDIR",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "rel/",
    "/usr/src/app",
    .want = { "usr/ d0755 0:0", "usr/src/ d0755 0:0", "usr/src/app/ d0755 0:0", "usr/src/app/rel/ d0755 0:0",
              "usr/src/app/rel/a.txt f0644 0:0 =A" } },
  { "destination . is WORKDIR",
    ABC,
    NULL,
    false,
    { "a.txt" },
    ".",
    "/w",
    .want = { "w/ d0755 0:0", "w/a.txt f0644 0:0 =A" } },
  { "parents of the destination created",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/a/b/c.txt",
    .want = { "a/ d0755 0:0", "a/b/ d0755 0:0", "a/b/c.txt f0644 0:0 =A" } },
  { "--chown uid:gid",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/d/",
    .chown = "10:11",
    .want = { "d/ d0755 10:11", "d/a.txt f0644 10:11 =A" } },
  { "--chown uid alone: gid the same",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "7",
    .want = { "a.txt f0644 7:7 =A" } },
  { "--chown user name: primary group",
    ABC,
    USERS,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "app",
    .want = { "a.txt f0644 1000:1001 =A" } },
  { "--chown user:group names",
    ABC,
    USERS,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "app:staff",
    .want = { "a.txt f0644 1000:50 =A" } },
  { "--chown uid:group name",
    ABC,
    USERS,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "1000:staff",
    .want = { "a.txt f0644 1000:50 =A" } },
  { "--chown root needs no lookup",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "root:root",
    .want = { "a.txt f0644 0:0 =A" } },
  { "--chown unknown user",
    ABC,
    USERS,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "bob",
    .error = "COPY: --chown: unknown user 'bob' (no such user in /etc/passwd of the image)" },
  { "--chown unknown group",
    ABC,
    USERS,
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "app:wheel",
    .error = "COPY: --chown: unknown group 'wheel' (no such group in /etc/group of the image)" },
  { "--chown name without /etc/passwd",
    ABC,
    "d etc 755",
    false,
    { "a.txt" },
    "/a.txt",
    .chown = "app",
    .error = "COPY: --chown: unknown user 'app': the image has no '/etc/passwd'" },
  { "--chmod octal on files and directories",
    TREE,
    NULL,
    false,
    { "src" },
    "/app/",
    .chmod = "0750",
    .want = { "app/ d0750 0:0", "app/sub/ d0750 0:0", "app/sub/y f0750 0:0 =Y", "app/x f0750 0:0 =X" } },
  { "--chmod octal on created parents (BuildKit)",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/new/a.txt",
    .chmod = "640",
    .want = { "new/ d0640 0:0", "new/a.txt f0640 0:0 =A" } },
  { "--chmod symbolic",
    "f a 666 A\nd dd 700\nf dd/x 600 X",
    NULL,
    false,
    { "a", "dd" },
    "/s/",
    .chmod = "u+x,go-w",
    .want = { "s/ d0755 0:0", "s/a f0744 0:0 =A", "s/x f0700 0:0 =X" } },
  { "--chmod symbolic X",
    "f a 644 A\nf b 755 B\nd dd 700\nd dd/sub 700",
    NULL,
    false,
    { "a", "b", "dd" },
    "/s/",
    .chmod = "a=rX",
    .want = { "s/ d0755 0:0", "s/a f0444 0:0 =A", "s/b f0555 0:0 =B", "s/sub/ d0555 0:0" } },
  { "--exclude with an exception",
    "d src 755\nf src/a.txt 644 A\nf src/b.log 644 B\nf src/keep.log 644 K\nd src/sub 755\nf src/sub/c.log 644 C",
    NULL,
    false,
    { "src" },
    "/app/",
    .excl = { "*.log", "!keep.log" },
    .want = { "app/ d0755 0:0", "app/a.txt f0644 0:0 =A", "app/keep.log f0644 0:0 =K", "app/sub/ d0755 0:0",
              "app/sub/c.log f0644 0:0 =C" } },
  { "--exclude a directory, re-include below it",
    "d src 755\nd src/sub 750\nf src/sub/keep 644 K\nf src/sub/drop 644 D\nf src/x 644 X",
    NULL,
    false,
    { "src" },
    "/app/",
    .excl = { "sub", "!sub/keep" },
    .want = { "app/ d0755 0:0", "app/sub/ d0750 0:0", "app/sub/keep f0644 0:0 =K", "app/x f0644 0:0 =X" } },
  { "--exclude what a wildcard matches",
    "f home.txt 644 H\nf homer.md 644 M",
    NULL,
    false,
    { "hom*" },
    "/mydir/",
    .excl = { "*.txt" },
    .want = { "mydir/ d0755 0:0", "mydir/homer.md f0644 0:0 =M" } },
  { "--exclude everything", TREE, NULL, false, { "src" }, "/app", .excl = { "*" }, .want = { "app/ d0755 0:0" } },
  { "--parents",
    "d x 755\nf x/a.txt 644 XA\nd y 750\nf y/a.txt 644 YA",
    NULL,
    false,
    { "x/a.txt", "y/a.txt" },
    "/parents/",
    .parents = true,
    .want = { "parents/ d0755 0:0", "parents/x/ d0755 0:0", "parents/x/a.txt f0644 0:0 =XA", "parents/y/ d0750 0:0",
              "parents/y/a.txt f0644 0:0 =YA" } },
  { "without --parents the later file wins",
    "d x 755\nf x/a.txt 644 XA\nd y 750\nf y/a.txt 600 YA",
    NULL,
    false,
    { "x/a.txt", "y/a.txt" },
    "/no_parents/",
    .want = { "no_parents/ d0755 0:0", "no_parents/a.txt f0600 0:0 =YA" } },
  { "--parents with a ./ pivot",
    "d x 755\nd x/y 755\nf x/y/a.txt 644 A\nf x/y/b.txt 644 B\nf x/y/c.md 644 C",
    NULL,
    false,
    { "./x/./y/*.txt" },
    "/parents/",
    .parents = true,
    .want = { "parents/ d0755 0:0", "parents/y/ d0755 0:0", "parents/y/a.txt f0644 0:0 =A",
              "parents/y/b.txt f0644 0:0 =B" } },
  { "--parents with **",
    "d src 755\nf src/a.txt 644 A\nd src/x 755\nf src/x/b.txt 644 B\nd src/x/y 755\nf src/x/y/c.txt 644 C\n"
    "f src/x/y/d.md 644 D",
    NULL,
    false,
    { "./src/**/*.txt" },
    "/parents/",
    .parents = true,
    .want
    = { "parents/ d0755 0:0", "parents/src/ d0755 0:0", "parents/src/a.txt f0644 0:0 =A", "parents/src/x/ d0755 0:0",
        "parents/src/x/b.txt f0644 0:0 =B", "parents/src/x/y/ d0755 0:0", "parents/src/x/y/c.txt f0644 0:0 =C" } },
  { "--parents of a missing path",
    ABC,
    NULL,
    false,
    { "x/nope" },
    "/p/",
    .parents = true,
    .error = "COPY: source 'x/nope' not found in the build context (hint: is it excluded by .dockerignore?)" },
  { "symlinks inside a directory are kept",
    "d src 755\nf src/t 644 T\nl src/l t\nl src/abs /etc/passwd",
    NULL,
    false,
    { "src" },
    "/app/",
    .want = { "app/ d0755 0:0", "app/abs l0777 0:0 -> /etc/passwd", "app/l l0777 0:0 -> t", "app/t f0644 0:0 =T" } },
  { "a symlink source is followed",
    "f t 644 T\nl link t",
    NULL,
    false,
    { "link" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/link f0644 0:0 =T" } },
  { "a symlink to a directory is followed",
    "d real 755\nf real/f 644 F\nl ln real",
    NULL,
    false,
    { "ln" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/f f0644 0:0 =F" } },
  { "hard links are kept",
    "d src 755\nf src/a 644 H\nh src/b src/a",
    NULL,
    false,
    { "src" },
    "/app/",
    .want = { "app/ d0755 0:0", "app/a f0644 0:0 =H", "app/b h0644 0:0 => app/a" } },
  { "missing source",
    ABC,
    NULL,
    false,
    { "nope" },
    "/d/",
    .error = "COPY: source 'nope' not found in the build context (hint: is it excluded by .dockerignore?)" },
  { "source outside the context",
    ABC,
    NULL,
    false,
    { "../x" },
    "/d/",
    .error = "COPY: source '../x' is outside the build context (hint: sources are relative to its root)" },
  { "wildcard matching nothing",
    ABC,
    NULL,
    false,
    { "x*" },
    "/d/",
    .error = "COPY: source 'x*' matched no files in the build context" },
  { "whiteout names",
    "f .wh.x 644 W",
    NULL,
    false,
    { ".wh.x" },
    "/d/",
    .error = "COPY: cannot copy '/d/.wh.x' from '.wh.x': names starting with '.wh.' would delete files of the image" },
  { "destination through a symlink of the image",
    ABC,
    "d usr 755\nd usr/bin 755\nl bin usr/bin",
    false,
    { "a.txt" },
    "/bin/",
    .want = { "usr/bin/a.txt f0644 0:0 =A" } },
  { "--link: destination taken as written",
    ABC,
    "d usr 755\nd usr/bin 755\nl bin usr/bin",
    false,
    { "a.txt" },
    "/bin/",
    .link = true,
    .want = { "bin/ d0755 0:0", "bin/a.txt f0644 0:0 =A" } },
  { "directory over a file of the image",
    "d src 755\nf src/x 644 X",
    "d etc 755\nf etc/hosts 644 H",
    false,
    { "src" },
    "/etc/hosts/",
    .error = "COPY: cannot create directory '/etc/hosts': it is a file in the image" },
  { "file over a directory of the image",
    ABC,
    "d opt 755\nd opt/a.txt 755",
    false,
    { "a.txt" },
    "/opt/",
    .error = "COPY: cannot copy 'a.txt' to '/opt/a.txt': it is a directory in the image" },
  { "a directory and a file at one path",
    "d s1 755\nd s1/x 755\nf s1/x/y 644 Y\nd s2 755\nf s2/x 644 X",
    NULL,
    false,
    { "s1", "s2" },
    "/d/",
    .error = "COPY: '/d/x' would be both a directory (from 's1') and a file (from 's2')" },
  { "a later source replaces a file",
    "d s1 755\nf s1/x 644 1\nd s2 755\nf s2/x 600 2",
    NULL,
    false,
    { "s1", "s2" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/x f0600 0:0 =2" } },
  { "COPY of a URL",
    ABC,
    NULL,
    false,
    { "http://example.com/x" },
    "/d/",
    .error = "COPY: source 'http://example.com/x' is a URL (hint: use ADD to download it)" },
  { "ADD of a git repository",
    ABC,
    NULL,
    true,
    { "https://github.com/moby/buildkit.git" },
    "/b/",
    .error = "ADD of git repositories is not supported yet" },
  { "ADD --checksum of a local file",
    ABC,
    NULL,
    true,
    { "a.txt" },
    "/d/",
    .checksum = ZEROS,
    .error = "ADD: --checksum needs an HTTP(S) URL source, not 'a.txt'" },
  { "COPY --checksum",
    ABC,
    NULL,
    false,
    { "a.txt" },
    "/d/",
    .checksum = ZEROS,
    .error = "COPY: --checksum can only be used with ADD" },
  { "ADD of a file that only looks like an archive",
    "f fake.tar.gz 644 not an archive",
    NULL,
    true,
    { "fake.tar.gz" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/fake.tar.gz f0644 0:0 =not an archive" } },
  { "ADD of plain files is COPY",
    ABC,
    NULL,
    true,
    { "a.txt" },
    "/d/",
    .want = { "d/ d0755 0:0", "d/a.txt f0644 0:0 =A" } },
};

static void
test_cases (void **state)
{
  struct fx *f = *state;

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      const struct copy_case *c = &cases[i];
      cleanup_free char *dir = hoist_xasprintf ("%s/case%zu", f->base, i);
      struct fx sub = { .base = dir };
      cleanup_free char *ctx = at (dir, "ctx"), *img = at (dir, "img"), *tmp = at (dir, "tmp");
      struct builder_copy_request req = { 0 };

      print_message ("case: %s\n", c->name);
      sub.ctx = ctx;
      sub.img = img;
      sub.tmp = tmp;
      assert_int_equal (mkdir (dir, 0755), 0);
      assert_int_equal (mkdir (ctx, 0755), 0);
      assert_int_equal (mkdir (img, 0755), 0);
      assert_int_equal (mkdir (tmp, 0700), 0);
      build_tree (ctx, c->ctx);
      build_tree (img, c->img);
      req.is_add = c->add;
      req.sources = (char *const *) c->src;
      req.dest = c->dest;
      req.workdir = c->workdir;
      req.chown = c->chown;
      req.chmod = c->chmod;
      req.excludes = c->excl[0] != NULL ? (char *const *) c->excl : NULL;
      req.parents = c->parents;
      req.link = c->link;
      req.checksum = c->checksum;
      req.image_root = img;
      req.source_date_epoch = -1;
      if (c->error != NULL)
        expect_error (&sub, NULL, &req, c->error);
      else
        expect_layer (&sub, NULL, &req, c->want);
    }
}

/* A request copying SOURCES (NULL-terminated) to DEST, image root IMG. */
static struct builder_copy_request
request (const struct fx *f, char *const *sources, const char *dest)
{
  struct builder_copy_request req = { 0 };

  req.sources = sources;
  req.dest = dest;
  req.image_root = f->img;
  req.tmp_dir = f->tmp;
  req.source_date_epoch = -1;
  return req;
}

/* ---- Heredocs ------------------------------------------------------------------------ */

static void
test_heredoc (void **state)
{
  struct fx *f = *state;
  struct builder_heredoc h[2]
      = { { "EOF", "hello\n\tworld\n", true, false }, { "two", "\tsecond\n\t\tline\n", false, true } };
  char *one[] = { "<<EOF", NULL };
  char *both[] = { "<<EOF", "<<-\"two\"", NULL };
  char *missing[] = { "<<NOPE", NULL };
  struct builder_copy_request req = request (f, one, "/h.txt");

  req.heredocs = h;
  req.n_heredocs = 2;
  expect_layer (f, NULL, &req, (const char *const[]){ "h.txt f0644 0:0 =hello\\n\\tworld\\n", NULL });

  /* Named after the heredoc inside a directory; <<- strips leading tabs. */
  req.sources = both;
  req.dest = "/d/";
  req.chmod = "0755";
  expect_layer (f, NULL, &req,
                (const char *const[]){ "d/ d0755 0:0", "d/EOF f0755 0:0 =hello\\n\\tworld\\n",
                                       "d/two f0755 0:0 =second\\nline\\n", NULL });

  /* What the copy makes up gets SOURCE_DATE_EPOCH. */
  req.chmod = NULL;
  req.sources = one;
  req.dest = "/x/h";
  req.source_date_epoch = 1234;
  show_mtime = true;
  expect_layer (f, NULL, &req,
                (const char *const[]){ "x/ d0755 0:0 @1234", "x/h f0644 0:0 @1234 =hello\\n\\tworld\\n", NULL });
  show_mtime = false;

  req.sources = missing;
  expect_error (f, NULL, &req, "COPY: heredoc source '<<NOPE' has no body");
}

/* ---- ADD of local archives ------------------------------------------------------------ */

static void
make_payload_tar (struct fx *f, const char *tar_path, const char *owner, const char *group)
{
  cleanup_free char *payload = at (f->base, "payload");
  cleanup_free char *o = hoist_xasprintf ("--owner=%s", owner), *g = hoist_xasprintf ("--group=%s", group);
  char *const argv[]
      = { "tar", "--sort=name", "--numeric-owner", o, g, "-C", payload, "-cf", (char *) tar_path, ".", NULL };
  struct stat st;

  if (stat (payload, &st) < 0)
    {
      assert_int_equal (mkdir (payload, 0755), 0);
      build_tree (payload, "f top.txt 644 T\nd sub 750\nf sub/s.txt 600 S\nl sub/l s.txt\nh sub/h sub/s.txt");
    }
  run_argv (f->base, argv, -1);
}

static void
compress_to (struct fx *f, const char *prog, const char *in, const char *out)
{
  int fd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char *const argv[] = { (char *) prog, "-c", (char *) in, NULL };

  assert_true (fd >= 0);
  run_argv (f->base, argv, fd);
  close (fd);
}

static void
test_add_archives (void **state)
{
  struct fx *f = *state;
  cleanup_free char *tar = at (f->ctx, "a.tar");
  static const char *const progs[][2]
      = { { "gzip", "a.tar.gz" }, { "bzip2", "a.tar.bz2" }, { "xz", "a.tar.xz" }, { "zstd", "a.tar.zst" } };
  static const char *const want[] = { "x/ d0755 0:0",
                                      "x/sub/ d0750 5:6",
                                      "x/sub/h f0600 5:6 =S",
                                      "x/sub/l l0777 5:6 -> s.txt",
                                      "x/sub/s.txt h0600 5:6 => x/sub/h",
                                      "x/top.txt f0644 5:6 =T",
                                      NULL };

  make_payload_tar (f, tar, "5", "6");
  for (size_t i = 0; i < 4; i++)
    {
      cleanup_free char *out = at (f->ctx, progs[i][1]);
      compress_to (f, progs[i][0], tar, out);
    }
  for (size_t i = 0; i < 5; i++)
    {
      char *src[] = { (char *) (i == 0 ? "a.tar" : progs[i - 1][1]), NULL };
      struct builder_copy_request req = request (f, src, "/x/");

      print_message ("archive: %s\n", src[0]);
      req.is_add = true;
      expect_layer (f, NULL, &req, want);
      /* Unpacked into DEST whether or not it ends in '/'. */
      req.dest = "/x";
      expect_layer (f, NULL, &req, want);
    }
  {
    char *src[] = { "a.tar.gz", NULL };
    struct builder_copy_request req = request (f, src, "/x/");

    /* --chown applies to the members, --chmod does not (BuildKit). */
    req.is_add = true;
    req.chown = "1:2";
    req.chmod = "0700";
    expect_layer (f, NULL, &req,
                  (const char *const[]){ "x/ d0755 1:2", "x/sub/ d0750 1:2", "x/sub/h f0600 1:2 =S",
                                         "x/sub/l l0777 1:2 -> s.txt", "x/sub/s.txt h0600 1:2 => x/sub/h",
                                         "x/top.txt f0644 1:2 =T", NULL });
  }
}

static void
test_add_not_unpacked (void **state)
{
  struct fx *f = *state;
  cleanup_free char *dir = at (f->ctx, "dir"), *tar = at (f->ctx, "dir/a.tar"), *top = at (f->ctx, "a.tar");
  cleanup_free char *line_d = NULL, *line_top = NULL;
  char *in_dir[] = { "dir", NULL };
  char *plain[] = { "a.tar", NULL };
  struct builder_copy_request req = request (f, in_dir, "/d/");
  struct stat st;

  assert_int_equal (mkdir (dir, 0755), 0);
  make_payload_tar (f, tar, "0", "0");
  make_payload_tar (f, top, "0", "0");
  assert_int_equal (stat (tar, &st), 0);
  line_d = hoist_xasprintf ("d/a.tar f0644 0:0 =<%lld bytes>", (long long) st.st_size);
  line_top = hoist_xasprintf ("d/a.tar f0644 0:0 =<%lld bytes>", (long long) st.st_size);

  /* Only a source named by ADD is unpacked, not an archive inside it. */
  req.is_add = true;
  expect_layer (f, NULL, &req, (const char *const[]){ "d/ d0755 0:0", line_d, NULL });
  /* ADD --unpack=false copies it. */
  req.sources = plain;
  req.unpack = -1;
  expect_layer (f, NULL, &req, (const char *const[]){ "d/ d0755 0:0", line_top, NULL });
  /* COPY never unpacks. */
  req.is_add = false;
  req.unpack = 0;
  expect_layer (f, NULL, &req, (const char *const[]){ "d/ d0755 0:0", line_top, NULL });
}

/* Write a tar at PATH with libarchive: SPEC lines "f NAME BODY",
 * "d NAME", "l NAME TARGET", "h NAME TARGET". */
static void
write_tar (const char *path, const char *spec)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();

  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (const char *line = spec; *line != '\0';)
    {
      const char *end = line + strcspn (line, "\n");
      cleanup_free char *l = hoist_xstrndup (line, (size_t) (end - line));
      char *name = l + 2, *arg = strchr (name, ' ');

      if (arg != NULL)
        *arg++ = '\0';
      archive_entry_clear (e);
      archive_entry_set_pathname (e, name);
      archive_entry_set_mtime (e, FIXED_MTIME, 0);
      archive_entry_set_perm (e, 0644);
      switch (l[0])
        {
        case 'f':
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_size (e, (la_int64_t) strlen (arg));
          break;
        case 'd':
          archive_entry_set_filetype (e, AE_IFDIR);
          break;
        case 'l':
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, arg);
          break;
        default:
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_hardlink (e, arg);
          break;
        }
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      if (l[0] == 'f')
        assert_int_equal (archive_write_data (a, arg, strlen (arg)), (la_ssize_t) strlen (arg));
      line = *end == '\n' ? end + 1 : end;
    }
  archive_entry_free (e);
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

static void
test_add_hostile (void **state)
{
  struct fx *f = *state;
  static const char *const bad[][2] = {
    { "f ../evil x", "ADD: cannot unpack 'evil.tar': member '../evil' is outside the destination (hint: absolute "
                     "names and '..' are refused)" },
    { "f /abs x",
      "ADD: cannot unpack 'evil.tar': member '/abs' is outside the destination (hint: absolute names and '..' are "
      "refused)" },
    { "f a/../../b x", "ADD: cannot unpack 'evil.tar': member 'a/../../b' is outside the destination (hint: "
                       "absolute names and '..' are refused)" },
    { "l l ../../outside", "ADD: cannot unpack 'evil.tar': symlink 'l' points outside the destination "
                           "('../../outside')" },
    { "d a\nl a/l ../../x", "ADD: cannot unpack 'evil.tar': symlink 'a/l' points outside the destination "
                            "('../../x')" },
    { "h h ../x", "ADD: cannot unpack 'evil.tar': hard link 'h' points to '../x', which is not a file earlier in "
                  "the archive" },
    { "h h later\nf later x", "ADD: cannot unpack 'evil.tar': hard link 'h' points to 'later', which is not a file "
                              "earlier in the archive" },
    { "f .wh.passwd x", "ADD: cannot copy '/x/.wh.passwd' from 'evil.tar': names starting with '.wh.' would delete "
                        "files of the image" },
    { "l dir /etc\nf dir/passwd x", "ADD: cannot unpack 'evil.tar': member 'dir/passwd' is below 'dir', which is "
                                    "not a directory" },
    { "f dir x\nf dir/passwd x", "ADD: cannot unpack 'evil.tar': member 'dir/passwd' is below 'dir', which is not "
                                 "a directory" },
  };
  char *src[] = { "evil.tar", NULL };
  cleanup_free char *path = at (f->ctx, "evil.tar");

  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      struct builder_copy_request req = request (f, src, "/x/");

      print_message ("hostile: %s\n", bad[i][0]);
      write_tar (path, bad[i][0]);
      req.is_add = true;
      expect_error (f, NULL, &req, bad[i][1]);
    }
  {
    /* What Docker allows: absolute symlink targets, relative ones that
     * stay inside, hard links to earlier files. */
    struct builder_copy_request req = request (f, src, "/x/");

    write_tar (path, "d a\nl a/up ../b\nl a/abs /etc/passwd\nf b x\nh a/c b");
    req.is_add = true;
    expect_layer (f, NULL, &req,
                  (const char *const[]){ "x/ d0755 0:0", "x/a/ d0644 0:0", "x/a/abs l0644 0:0 -> /etc/passwd",
                                         "x/a/c f0644 0:0 =x", "x/a/up l0644 0:0 -> ../b", "x/b h0644 0:0 => x/a/c",
                                         NULL });
  }
}

/* ---- ADD of URLs ------------------------------------------------------------------------ */

static int
free_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof (a);
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  assert_true (s >= 0);
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  assert_int_equal (bind (s, (struct sockaddr *) &a, sizeof (a)), 0);
  assert_int_equal (getsockname (s, (struct sockaddr *) &a, &len), 0);
  close (s);
  return ntohs (a.sin_port);
}

static bool
port_open (int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok;

  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ok = connect (s, (struct sockaddr *) &a, sizeof (a)) == 0;
  close (s);
  return ok;
}

/* python3 -m http.server serving DIR on 127.0.0.1:PORT; killed when this
 * process dies, whatever happens to the test. */
static pid_t
start_server (const char *dir, int port)
{
  char portstr[16];
  pid_t pid;

  snprintf (portstr, sizeof (portstr), "%d", port);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR);

      prctl (PR_SET_PDEATHSIG, SIGKILL);
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
      execl ("/usr/bin/python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, portstr,
             (char *) NULL);
      _exit (127);
    }
  for (int i = 0; i < 200 && !port_open (port); i++)
    usleep (50 * 1000);
  assert_true (port_open (port));
  return pid;
}

static void
stop_server (pid_t pid)
{
  kill (pid, SIGTERM);
  waitpid (pid, NULL, 0);
}

static void
test_add_url (void **state)
{
  struct fx *f = *state;
  cleanup_free char *www = at (f->base, "www");
  int port = free_port ();
  pid_t server;
  char digest[HOIST_DIGEST_STR_SIZE];
  struct hoist_error *err = NULL;
  cleanup_free char *url = NULL, *missing = NULL, *tgz_url = NULL, *mismatch = NULL, *tar = NULL, *tgz = NULL;

  if (access ("/usr/bin/python3", X_OK) != 0)
    skip (); /* the loopback server is python3's http.server */
  assert_int_equal (mkdir (www, 0755), 0);
  put_file (www, "file.txt", "hello url\n", 10, 0644);
  set_mtime (www, "file.txt", 1500000000);
  tar = at (f->base, "p.tar");
  tgz = at (www, "p.tar.gz");
  make_payload_tar (f, tar, "0", "0");
  compress_to (f, "gzip", tar, tgz);
  assert_int_equal (hoist_sha256_digest ("hello url\n", 10, digest, &err), 0);
  url = hoist_xasprintf ("http://127.0.0.1:%d/file.txt", port);
  missing = hoist_xasprintf ("http://127.0.0.1:%d/missing", port);
  tgz_url = hoist_xasprintf ("http://127.0.0.1:%d/p.tar.gz", port);
  mismatch = hoist_xasprintf ("ADD: checksum mismatch for '%s': expected " ZEROS ", got %s", url, digest);
  server = start_server (www, port);
  {
    char *src[] = { url, NULL };
    char *src404[] = { missing, NULL };
    char *srctgz[] = { tgz_url, NULL };
    cleanup_free char *err404 = hoist_xasprintf ("ADD: cannot download '%s': HTTP status 404", missing);
    struct builder_copy_request req = request (f, src, "/dl/");

    req.is_add = true;
    /* Named after the URL's path, mode 0600, mtime from Last-Modified. */
    req.checksum = digest;
    show_mtime = true;
    expect_layer (f, NULL, &req,
                  (const char *const[]){ "dl/ d0755 0:0 @0", "dl/file.txt f0600 0:0 @1500000000 =hello url\\n", NULL });
    show_mtime = false;
    /* DEST without '/' is the file's name; --chown and --chmod apply. */
    req.dest = "/dl/renamed";
    req.checksum = NULL;
    req.chown = "1:2";
    req.chmod = "644";
    expect_layer (f, NULL, &req, (const char *const[]){ "dl/ d0644 1:2", "dl/renamed f0644 1:2 =hello url\\n", NULL });
    req.chown = NULL;
    req.chmod = NULL;
    req.dest = "/dl/";
    req.checksum = ZEROS;
    expect_error (f, NULL, &req, mismatch);
    req.checksum = NULL;
    req.sources = src404;
    expect_error (f, NULL, &req, err404);
    /* A remote archive is not unpacked unless --unpack=true. */
    req.sources = srctgz;
    {
      cleanup_free char *msg = NULL;
      cleanup_strv char **lines = run_copy (f, NULL, &req, &msg);

      assert_non_null (lines);
      assert_string_equal (lines[0], "dl/ d0755 0:0");
      assert_true (strncmp (lines[1], "dl/p.tar.gz f0600 0:0 =<", strlen ("dl/p.tar.gz f0600 0:0 =<")) == 0);
      assert_null (lines[2]);
    }
    req.unpack = 1;
    req.dest = "/u";
    expect_layer (f, NULL, &req,
                  (const char *const[]){ "u/ d0755 0:0", "u/sub/ d0750 0:0", "u/sub/h f0600 0:0 =S",
                                         "u/sub/l l0777 0:0 -> s.txt", "u/sub/s.txt h0600 0:0 => u/sub/h",
                                         "u/top.txt f0644 0:0 =T", NULL });
  }
  stop_server (server);
}

/* ---- COPY --from: a directory tree on disk ------------------------------------------------- */

static void
test_copy_from_dir (void **state)
{
  struct fx *f = *state;
  cleanup_free char *stage = at (f->base, "stage");
  cleanup_free char *tool = at (stage, "app/tool"), *etc = at (stage, "app/etc");
  char *s_tool[] = { "/app/tool", NULL };
  char *s_so[] = { "/app/*.so", NULL };
  char *s_cur[] = { "app/cur", NULL };
  char *s_etc[] = { "/app/etc", NULL };
  char *s_nope[] = { "/app/nope", NULL };
  char *s_out[] = { "../../etc/passwd", NULL };
  struct builder_copy_request req = request (f, s_tool, "/usr/local/bin/");

  assert_int_equal (mkdir (stage, 0755), 0);
  build_tree (stage, "d app 755\nf app/tool 755 T\nf app/lib.so 644 L\nf app/b.so 644 B\nl app/cur /app/tool\n"
                     "d app/etc 700\nf app/etc/conf 600 C");
  assert_int_equal (chown (tool, 1234, 1235), 0);
  assert_int_equal (chown (etc, 42, 43), 0);

  /* Owners are kept without --chown. */
  expect_layer (f, stage, &req,
                (const char *const[]){ "usr/ d0755 0:0", "usr/local/ d0755 0:0", "usr/local/bin/ d0755 0:0",
                                       "usr/local/bin/tool f0755 1234:1235 =T", NULL });
  req.sources = s_so;
  req.dest = "/lib/";
  expect_layer (f, stage, &req,
                (const char *const[]){ "lib/ d0755 0:0", "lib/b.so f0644 0:0 =B", "lib/lib.so f0644 0:0 =L", NULL });
  /* An absolute symlink is followed inside the stage's root. */
  req.sources = s_cur;
  req.dest = "/x";
  expect_layer (f, stage, &req, (const char *const[]){ "x f0755 1234:1235 =T", NULL });
  req.sources = s_etc;
  req.dest = "/etc2";
  req.chown = "7:8";
  expect_layer (f, stage, &req, (const char *const[]){ "etc2/ d0755 7:8", "etc2/conf f0600 7:8 =C", NULL });
  req.chown = NULL;
  req.sources = s_nope;
  expect_error (f, stage, &req, "COPY: source '/app/nope' not found in the source root file system");
  req.sources = s_out;
  expect_error (f, stage, &req,
                "COPY: source '../../etc/passwd' is outside the source root file system (hint: sources are relative "
                "to its root)");
}

/* ---- The cache key ------------------------------------------------------------------------ */

static void
plan_digest (struct fx *f, struct builder_copy_request *req, char out[HOIST_DIGEST_STR_SIZE], size_t *count)
{
  cleanup_context struct builder_context *ctx = NULL;
  struct builder_copy_source src = { 0 };
  struct builder_copy_plan *plan = NULL;
  struct hoist_error *err = NULL;

  assert_int_equal (builder_context_open (f->ctx, NULL, &ctx, &err), 0);
  src.context = ctx;
  if (builder_copy_resolve (&src, req, &plan, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (builder_copy_digest (plan, out, &err), 0);
  if (count != NULL)
    *count = builder_copy_plan_count (plan);
  builder_copy_plan_free (plan);
}

static void
test_digest (void **state)
{
  struct fx *f = *state;
  char *src[] = { "a.txt", "b.txt", NULL };
  struct builder_copy_request req = request (f, src, "/d/");
  char d1[HOIST_DIGEST_STR_SIZE], d2[HOIST_DIGEST_STR_SIZE], d3[HOIST_DIGEST_STR_SIZE];
  size_t n;

  build_tree (f->ctx, ABC);
  plan_digest (f, &req, d1, &n);
  assert_int_equal (n, 3);
  assert_true (hoist_digest_valid (d1));
  plan_digest (f, &req, d2, NULL);
  assert_string_equal (d1, d2);
  /* Owners, modes and content are in the key. */
  req.chown = "1:1";
  plan_digest (f, &req, d2, NULL);
  assert_string_not_equal (d1, d2);
  req.chown = NULL;
  req.chmod = "600";
  plan_digest (f, &req, d2, NULL);
  assert_string_not_equal (d1, d2);
  req.chmod = NULL;
  put_file (f->ctx, "b.txt", "X", 1, 0644);
  set_mtime (f->ctx, "b.txt", FIXED_MTIME);
  plan_digest (f, &req, d2, NULL);
  assert_string_not_equal (d1, d2);
  /* The mtime as the layer holds it: clamped to SOURCE_DATE_EPOCH. */
  req.source_date_epoch = 100;
  plan_digest (f, &req, d2, NULL);
  set_mtime (f->ctx, "b.txt", FIXED_MTIME + 5);
  plan_digest (f, &req, d3, NULL);
  assert_string_equal (d2, d3);
  req.source_date_epoch = -1;
  plan_digest (f, &req, d2, NULL);
  set_mtime (f->ctx, "b.txt", FIXED_MTIME + 6);
  plan_digest (f, &req, d3, NULL);
  assert_string_not_equal (d2, d3);
}

/* ---- Times --------------------------------------------------------------------------------- */

static void
test_mtimes (void **state)
{
  struct fx *f = *state;
  char *src[] = { "src", NULL };
  struct builder_copy_request req = request (f, src, "/a/b/");

  build_tree (f->ctx, "d src 755\nf src/x 644 X");
  show_mtime = true;
  /* Sources keep theirs; what the copy makes is 0 without an epoch. */
  expect_layer (
      f, NULL, &req,
      (const char *const[]){ "a/ d0755 0:0 @0", "a/b/ d0755 0:0 @0", "a/b/x f0644 0:0 @1000000000 =X", NULL });
  req.source_date_epoch = 500;
  expect_layer (f, NULL, &req,
                (const char *const[]){ "a/ d0755 0:0 @500", "a/b/ d0755 0:0 @500", "a/b/x f0644 0:0 @500 =X", NULL });
  show_mtime = false;
}

/* A file changed between resolve and write fails the layer. */
static void
test_changed_file (void **state)
{
  struct fx *f = *state;
  char *src[] = { "a.txt", NULL };
  struct builder_copy_request req = request (f, src, "/d/");
  cleanup_context struct builder_context *ctx = NULL;
  struct builder_copy_source s = { 0 };
  struct builder_copy_plan *plan = NULL;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_opts o;
  struct hoist_error *err = NULL;
  cleanup_free char *out = at (f->base, "l.tar");
  int fd = open (out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  build_tree (f->ctx, ABC);
  assert_int_equal (builder_context_open (f->ctx, NULL, &ctx, &err), 0);
  s.context = ctx;
  assert_int_equal (builder_copy_resolve (&s, &req, &plan, &err), 0);
  put_file (f->ctx, "a.txt", "longer", 6, 0644);
  builder_layer_opts_init (&o);
  o.compression = BUILDER_COMPRESSION_NONE;
  assert_int_equal (builder_layer_writer_new (fd, &o, &w, &err), 0);
  assert_true (builder_copy_write (plan, w, &err) < 0);
  assert_non_null (strstr (err->msg, "changed during the build"));
  hoist_error_free (err);
  builder_layer_writer_free (w);
  builder_copy_plan_free (plan);
  close (fd);
}

/* ---- Requests from instructions --------------------------------------------------------------- */

static void
test_request_init (void **state)
{
  struct builder_flag flags[]
      = { { "from", "build" },    { "chown", "1:2" }, { "chmod", "755" },    { "exclude", "*.md" },
          { "exclude", "*.txt" }, { "link", "true" }, { "parents", "false" } };
  char *args[] = { "a", "b", "/d/", NULL };
  struct builder_instruction insn
      = { .keyword = BUILDER_KW_COPY, .flags = flags, .n_flags = 7, .args = args, .n_args = 3 };
  struct builder_copy_request req;
  struct hoist_error *err = NULL;

  assert_int_equal (builder_copy_request_init (&req, &insn, &err), 0);
  assert_false (req.is_add);
  assert_string_equal (req.sources[0], "a");
  assert_string_equal (req.sources[1], "b");
  assert_null (req.sources[2]);
  assert_string_equal (req.dest, "/d/");
  assert_string_equal (req.chown, "1:2");
  assert_string_equal (req.chmod, "755");
  assert_string_equal (req.excludes[0], "*.md");
  assert_string_equal (req.excludes[1], "*.txt");
  assert_null (req.excludes[2]);
  assert_true (req.link);
  assert_false (req.parents);
  assert_int_equal (req.source_date_epoch, -1);
  builder_copy_request_release (&req);

  insn.keyword = BUILDER_KW_ADD;
  flags[0] = (struct builder_flag){ "unpack", "false" };
  insn.n_flags = 1;
  assert_int_equal (builder_copy_request_init (&req, &insn, &err), 0);
  assert_true (req.is_add);
  assert_int_equal (req.unpack, -1);
  builder_copy_request_release (&req);

  flags[0] = (struct builder_flag){ "link", "maybe" };
  assert_true (builder_copy_request_init (&req, &insn, &err) < 0);
  assert_string_equal (err->msg, "ADD: invalid --link 'maybe' (hint: true or false)");
  hoist_error_free (err);
  err = NULL;
  flags[0] = (struct builder_flag){ "bogus", "1" };
  assert_true (builder_copy_request_init (&req, &insn, &err) < 0);
  assert_string_equal (err->msg, "ADD: unknown flag --bogus");
  hoist_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_cases, setup, teardown),
    cmocka_unit_test_setup_teardown (test_heredoc, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_archives, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_not_unpacked, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_hostile, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_url, setup, teardown),
    cmocka_unit_test_setup_teardown (test_copy_from_dir, setup, teardown),
    cmocka_unit_test_setup_teardown (test_digest, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mtimes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_changed_file, setup, teardown),
    cmocka_unit_test (test_request_init),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
