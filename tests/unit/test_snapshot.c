/* test_snapshot.c — the RUN diff: a tree, a snapshot, a change, and the
 * exact list of entries of the layer written, read back with libarchive;
 * then a round trip through umoci (base layer + diff layer unpacked must
 * give the changed tree).  What needs root (chown, devices, capabilities,
 * a mount) is left out or skipped without it. */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/snapshot_private.h"

/* A v2 file capability: cap_net_raw, effective. */
static const unsigned char cap_value[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20 };

static char tmp_dir[] = "/tmp/hoist-test-snapshot-XXXXXX";
static char *root;  /* the tree of the current test */
static char *layer; /* its layer */
static unsigned case_no;

/* ROOT/REL, in one of a few rotating buffers (tests are single-threaded). */
static const char *
P (const char *rel)
{
  static char bufs[8][8192];
  static unsigned next;
  char *b = bufs[next++ % 8];

  snprintf (b, sizeof bufs[0], "%s/%s", root, rel);
  return b;
}

static void
put (const char *rel, const char *content, mode_t mode)
{
  int fd = open (P (rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  assert_int_equal (fchmod (fd, mode), 0);
  close (fd);
}

static void
mkd (const char *rel)
{
  assert_int_equal (mkdir (P (rel), 0755), 0);
}

static int
rm_rf (const char *path)
{
  char *const argv[] = { "rm", "-rf", (char *) path, NULL };
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1 };
  struct hoist_spawn_result res;
  cleanup_error struct hoist_error *err = NULL;

  return hoist_spawn (&o, &res, &err) == 0 && res.exit_code == 0 ? 0 : -1;
}

/* Diff BEFORE against the tree at DIR into the layer file. */
static int
diff_at (const struct builder_snapshot *before, const char *dir, struct builder_snapshot_stats *st,
         struct builder_layer_result *res, struct hoist_error **err)
{
  struct builder_layer_opts o;
  struct builder_layer_writer *w = NULL;
  struct builder_layer_result ignored;
  int fd = open (layer, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int r;

  assert_true (fd >= 0);
  builder_layer_opts_init (&o);
  o.compression = BUILDER_COMPRESSION_NONE;
  o.threads = 1;
  assert_int_equal (builder_layer_writer_new (fd, &o, &w, err), 0);
  r = builder_snapshot_diff (before, dir, w, st, err);
  if (r == 0)
    r = builder_layer_finish (w, res != NULL ? res : &ignored, err);
  builder_layer_writer_free (w);
  close (fd);
  return r;
}

/* One line per layer entry:
 *   "d PATH/ MODE", "f PATH MODE SIZE", "w PATH" (a whiteout: empty, mode 0,
 *   0:0), "h PATH -> TARGET", "l PATH -> TARGET", "p PATH MODE",
 *   "c PATH MAJOR,MINOR"; then " UID:GID" with OWNERS, " cap=N" for a
 *   security.capability of N bytes. */
static char **
list_layer (bool owners)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *ae;
  char **out = hoist_xcalloc (1, sizeof (char *));
  int r;

  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_filename (a, layer, 65536), ARCHIVE_OK);
  while ((r = archive_read_next_header (a, &ae)) == ARCHIVE_OK)
    {
      const char *path = archive_entry_pathname (ae), *slash = strrchr (path, '/');
      mode_t mode = archive_entry_mode (ae), perm = mode & 07777;
      char line[16384];
      const char *xname;
      const void *xvalue;
      size_t xlen, n;

      if (archive_entry_hardlink (ae) != NULL)
        n = (size_t) snprintf (line, sizeof line, "h %s -> %s", path, archive_entry_hardlink (ae));
      else if (S_ISDIR (mode))
        n = (size_t) snprintf (line, sizeof line, "d %s %04o", path, perm);
      else if (S_ISLNK (mode))
        n = (size_t) snprintf (line, sizeof line, "l %s -> %s", path, archive_entry_symlink (ae));
      else if (S_ISFIFO (mode))
        n = (size_t) snprintf (line, sizeof line, "p %s %04o", path, perm);
      else if (S_ISCHR (mode))
        n = (size_t) snprintf (line, sizeof line, "c %s %u,%u", path, major (archive_entry_rdev (ae)),
                               minor (archive_entry_rdev (ae)));
      else if (strncmp (slash != NULL ? slash + 1 : path, ".wh.", 4) == 0 && perm == 0 && archive_entry_size (ae) == 0
               && archive_entry_uid (ae) == 0 && archive_entry_gid (ae) == 0)
        n = (size_t) snprintf (line, sizeof line, "w %s", path);
      else
        n = (size_t) snprintf (line, sizeof line, "f %s %04o %lld", path, perm, (long long) archive_entry_size (ae));
      if (owners)
        n += (size_t) snprintf (line + n, sizeof line - n, " %lld:%lld", (long long) archive_entry_uid (ae),
                                (long long) archive_entry_gid (ae));
      if (archive_entry_xattr_reset (ae) > 0)
        {
          assert_int_equal (archive_entry_xattr_next (ae, &xname, &xvalue, &xlen), ARCHIVE_OK);
          assert_string_equal (xname, "security.capability");
          snprintf (line + n, sizeof line - n, " cap=%zu", xlen);
        }
      hoist_strv_push (&out, line);
    }
  assert_int_equal (r, ARCHIVE_EOF);
  archive_read_free (a);
  return out;
}

/* The layer must hold exactly WANT (NULL-terminated). */
static void
expect_layer (bool owners, const char *const *want)
{
  cleanup_strv char **got = list_layer (owners);
  size_t i;

  for (i = 0; want[i] != NULL && got[i] != NULL; i++)
    if (strcmp (want[i], got[i]) != 0)
      break;
  if (want[i] != NULL || got[i] != NULL)
    {
      for (size_t j = 0; got[j] != NULL; j++)
        print_message ("  got  [%zu] %s\n", j, got[j]);
      for (size_t j = 0; want[j] != NULL; j++)
        print_message ("  want [%zu] %s\n", j, want[j]);
      fail_msg ("layer differs at entry %zu", i);
    }
}

#define EXPECT(...) expect_layer (false, (const char *const[]){ __VA_ARGS__, NULL })

static void
base_tree (void)
{
  mkd ("d");
  put ("d/f", "aaaa", 0644);
  mkd ("d/sub");
  put ("d/sub/x", "x", 0644);
  mkd ("d/sub/deep");
  put ("d/sub/deep/y", "y", 0644);
  put ("top", "top", 0755);
  assert_int_equal (symlink ("d/f", P ("link")), 0);
}

/* The tree BASE makes (when not NULL), and its snapshot. */
static struct builder_snapshot *
start (void (*base) (void))
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_snapshot *s = NULL;

  if (base != NULL)
    base ();
  if (builder_snapshot_take (root, &s, &err) < 0)
    fail_msg ("snapshot: %s", err->msg);
  return s;
}

/* The diff from S (freed) into the layer: it must succeed. */
static void
finish (struct builder_snapshot *s, struct builder_snapshot_stats *st)
{
  cleanup_error struct hoist_error *err = NULL;

  if (diff_at (s, root, st, NULL, &err) < 0)
    fail_msg ("diff: %s", err->msg);
  builder_snapshot_free (s);
}

static int
setup_case (void **state)
{
  root = hoist_xasprintf ("%s/root-%u", tmp_dir, case_no);
  layer = hoist_xasprintf ("%s/layer-%u.tar", tmp_dir, case_no++);
  assert_int_equal (mkdir (root, 0755), 0);
  return 0;
}

static int
teardown_case (void **state)
{
  (void) rm_rf (root);
  unlink (layer);
  free (root);
  free (layer);
  return 0;
}

/* ---- Cases ---------------------------------------------------------------------- */

static void
test_nothing_changed (void **state)
{
  struct builder_snapshot_stats st;

  finish (start (base_tree), &st);
  expect_layer (false, (const char *const[]){ NULL });
  assert_int_equal (st.entries, 8);
  assert_int_equal (st.added + st.changed + st.removed + st.opaque, 0);
}

static void
test_file_added (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct builder_snapshot_stats st;

  put ("d/new", "hello", 0640);
  put ("anew", "x", 0644);
  finish (s, &st);
  /* d's mtime moved (a new name), the root is never written. */
  EXPECT ("f anew 0644 1", "d d/ 0755", "f d/new 0640 5");
  assert_int_equal (st.added, 2);
  assert_int_equal (st.changed, 1);
  assert_int_equal (st.bytes, 6);
}

static void
test_content_changed (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct timespec old[2];
  struct stat sb;
  int fd = open (P ("d/f"), O_WRONLY | O_CLOEXEC);

  assert_int_equal (fstat (fd, &sb), 0);
  old[0] = sb.st_atim;
  old[1] = sb.st_mtim;
  assert_int_equal (pwrite (fd, "bbbb", 4, 0), 4);
  /* Size and mtime as they were: only the ctime tells. */
  assert_int_equal (futimens (fd, old), 0);
  close (fd);
  finish (s, NULL);
  EXPECT ("f d/f 0644 4");
}

static void
test_chmod_chown (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  bool as_root = geteuid () == 0;

  assert_int_equal (chmod (P ("d/sub/x"), 04711) | chmod (P ("d/sub"), 0700), 0);
  if (as_root)
    assert_int_equal (lchown (P ("d/sub/deep/y"), 1234, 5678) | lchown (P ("link"), 42, 43), 0);
  finish (s, NULL);
  if (as_root)
    expect_layer (true, (const char *const[]){ "d d/sub/ 0700 0:0", "f d/sub/deep/y 0644 1 1234:5678",
                                               "f d/sub/x 4711 1 0:0", "l link -> d/f 42:43", NULL });
  else
    EXPECT ("d d/sub/ 0700", "f d/sub/x 4711 1");
}

static void
test_deleted (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct builder_snapshot_stats st;

  assert_int_equal (unlink (P ("d/f")) | unlink (P ("top")) | rm_rf (P ("d/sub")), 0);
  finish (s, &st);
  /* One whiteout for the whole of d/sub; the root itself is not written. */
  EXPECT ("w .wh.top", "d d/ 0755", "w d/.wh.f", "w d/.wh.sub");
  assert_int_equal (st.removed, 3);
}

static void
test_whiteouts_sorted (void **state)
{
  struct builder_snapshot *s = start (base_tree);

  assert_int_equal (unlink (P ("d/f")), 0);
  put ("d/-dash", "", 0644);
  put ("d/a", "", 0644);
  put ("d/.hidden", "", 0644);
  finish (s, NULL);
  EXPECT ("d d/ 0755", "f d/-dash 0644 0", "f d/.hidden 0644 0", "w d/.wh.f", "f d/a 0644 0");
}

static void
replace_dir (void)
{
  assert_int_equal (rm_rf (P ("d/sub")), 0);
  mkd ("d/sub");
  put ("d/sub/x", "x", 0644); /* same name and content as before: written anyway */
  put ("d/sub/-first", "", 0644);
}

static void
test_dir_replaced_opaque (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct builder_snapshot_stats st;

  replace_dir ();
  finish (s, &st);
  /* The marker sits at its sorted place: "-first" sorts before it. */
  EXPECT ("d d/ 0755", "d d/sub/ 0755", "f d/sub/-first 0644 0", "w d/sub/.wh..wh..opq", "f d/sub/x 0644 1");
  assert_int_equal (st.opaque, 1);
  assert_int_equal (st.removed, 0);
}

static void
test_type_changes (void **state)
{
  struct builder_snapshot *s = start (base_tree);

  assert_int_equal (unlink (P ("top")), 0); /* file -> directory */
  mkd ("top");
  put ("top/in", "i", 0644);
  assert_int_equal (rm_rf (P ("d/sub")), 0); /* directory -> file */
  put ("d/sub", "now a file", 0600);
  assert_int_equal (unlink (P ("d/f")), 0); /* file -> symlink */
  assert_int_equal (symlink ("sub", P ("d/f")), 0);
  assert_int_equal (unlink (P ("link")), 0); /* symlink target */
  assert_int_equal (symlink ("elsewhere", P ("link")), 0);
  finish (s, NULL);
  EXPECT ("d d/ 0755", "l d/f -> sub", "f d/sub 0600 10", "l link -> elsewhere", "d top/ 0755", "w top/.wh..wh..opq",
          "f top/in 0644 1");
}

static void
add_links (void)
{
  put ("d/b", "two", 0644);
  assert_int_equal (link (P ("d/b"), P ("d/a")), 0);
  /* New names for an old file: every name is written. */
  assert_int_equal (link (P ("top"), P ("d/top2")), 0);
  assert_int_equal (link (P ("top"), P ("a-first")), 0);
}

static void
test_hardlinks (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct builder_snapshot_stats st;

  add_links ();
  finish (s, &st);
  EXPECT ("f a-first 0755 3", "d d/ 0755", "f d/a 0644 3", "h d/b -> d/a", "h d/top2 -> a-first", "h top -> a-first");
  assert_int_equal (st.bytes, 6);
}

static void
deep_tree (void)
{
  mkd ("d1");
  mkd ("d1/d2");
  mkd ("d1/d2/d3");
  put ("d1/d2/d3/old", "o", 0644);
  put ("d1/d2/other", "o", 0644);
}

static void
deep_add (void)
{
  put ("d1/d2/d3/new", "n", 0644);
  put ("d1/d2/other", "p", 0644); /* in place: d2 does not change */
}

static void
test_deep_parents_not_written (void **state)
{
  struct builder_snapshot *s = start (deep_tree);

  deep_add ();
  finish (s, NULL);
  EXPECT ("d d1/d2/d3/ 0755", "f d1/d2/d3/new 0644 1", "f d1/d2/other 0644 1");
}

static void
test_capability (void **state)
{
  const char *cap = "security.capability";
  struct builder_snapshot *s;

  if (geteuid () != 0)
    skip ();
  put ("kept", "k", 0755);
  put ("dropped", "d", 0755);
  assert_int_equal (setxattr (P ("kept"), cap, cap_value, 20, 0) | setxattr (P ("dropped"), cap, cap_value, 20, 0), 0);
  s = start (base_tree);
  put ("ping", "elf", 0755);
  assert_int_equal (setxattr (P ("ping"), cap, cap_value, 20, 0) | setxattr (P ("top"), cap, cap_value, 20, 0), 0);
  assert_int_equal (removexattr (P ("dropped"), cap), 0);
  finish (s, NULL);
  EXPECT ("f dropped 0755 1", "f ping 0755 3 cap=20", "f top 0755 3 cap=20");
}

static void
test_fifo_device_socket (void **state)
{
  struct builder_snapshot *s = start (base_tree);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct builder_snapshot_stats st;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  assert_int_equal (mkfifo (P ("fifo"), 0640), 0);
  assert_true ((size_t) snprintf (sa.sun_path, sizeof sa.sun_path, "%s", P ("d/sock")) < sizeof sa.sun_path);
  assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  close (fd);
  if (geteuid () == 0)
    assert_int_equal (mknod (P ("null"), S_IFCHR | 0666, makedev (1, 3)), 0);
  finish (s, &st);
  /* The socket is left out, its directory's new mtime is not. */
  if (geteuid () == 0)
    EXPECT ("d d/ 0755", "p fifo 0640", "c null 1,3");
  else
    EXPECT ("d d/ 0755", "p fifo 0640");
  assert_int_equal (st.entries, 8 + 1 + (geteuid () == 0));
}

static void
odd_names (void)
{
  put ("d/new\nline", "n", 0644);
  put ("d/na\xc3\xafve \xe2\x9c\x93", "u", 0644);
  put ("d/sp ace", "s", 0644);
}

static void
test_odd_names (void **state)
{
  struct builder_snapshot *s = start (base_tree);

  odd_names ();
  finish (s, NULL);
  EXPECT ("d d/ 0755", "f d/na\xc3\xafve \xe2\x9c\x93 0644 1", "f d/new\nline 0644 1", "f d/sp ace 0644 1");
}

static void
test_whiteout_name_refused (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_snapshot *s = start (base_tree);

  put ("d/.wh.x", "", 0644);
  assert_true (diff_at (s, root, NULL, NULL, &err) < 0);
  assert_int_equal (err->status, EINVAL);
  assert_non_null (strstr (err->msg, "cannot put '/d/.wh.x' in the layer: a name starting with '.wh.' would"));
  builder_snapshot_free (s);
}

static void
test_long_paths (void **state)
{
  struct builder_snapshot *s = start (NULL);
  cleanup_strv char **got = NULL;
  cleanup_free char *want = NULL;
  char rel[1024] = "";

  for (int i = 0; i < 6; i++)
    {
      snprintf (rel + strlen (rel), sizeof rel - strlen (rel), "%s%060d", i > 0 ? "/" : "", i);
      mkd (rel);
    }
  strcat (rel, "/file");
  put (rel, "deep", 0644);
  finish (s, NULL);
  got = list_layer (false);
  want = hoist_xasprintf ("f %s 0644 4", rel);
  assert_true (hoist_strv_len (got) == 7 && strlen (rel) > 255);
  assert_string_equal (got[6], want);
}

static void
test_many_entries (void **state)
{
  struct builder_snapshot_stats st;
  struct builder_snapshot *s;
  char rel[64];

  for (int i = 0; i < 10000; i++)
    {
      snprintf (rel, sizeof rel, "dir%03d", i / 100);
      if (i % 100 == 0)
        mkd (rel);
      snprintf (rel, sizeof rel, "dir%03d/file%03d", i / 100, i % 100);
      put (rel, "content", 0644);
    }
  s = start (NULL);
  put ("dir042/file017", "CONTENT", 0644);
  finish (s, &st);
  EXPECT ("f dir042/file017 0644 7");
  assert_int_equal (st.entries, 10100);
  assert_int_equal (st.changed, 1);
}

static void
test_mount_point_skipped (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_snapshot *s;
  int r;

  mkd ("mnt");
  put ("mnt/under", "u", 0644);
  s = start (base_tree);
  if (geteuid () != 0 || mount ("tmpfs", P ("mnt"), "tmpfs", 0, NULL) < 0)
    {
      builder_snapshot_free (s);
      skip ();
    }
  put ("mnt/on-tmpfs", "t", 0644);
  put ("d/new", "n", 0644);
  r = diff_at (s, root, NULL, NULL, &err);
  umount2 (P ("mnt"), MNT_DETACH);
  builder_snapshot_free (s);
  assert_int_equal (r, 0);
  /* Nothing of the mount, and no whiteout for what it hides. */
  EXPECT ("d d/ 0755", "f d/new 0644 1");
}

/* ---- Round trip: base layer + diff layer unpacked by umoci = the changed tree ---- */

static char **tree_lines; /* list_tree's */
static size_t tree_skip;  /* bytes of the walked directory and '/' */

static int
tree_line (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  char data[256] = "";
  ssize_t len = 0;
  int fd = S_ISREG (st->st_mode) ? open (path, O_RDONLY | O_CLOEXEC) : -1;

  if (ftw->level == 0)
    return 0;
  if (S_ISLNK (st->st_mode))
    len = readlink (path, data, sizeof data - 1);
  else if (S_ISREG (st->st_mode))
    len = fd < 0 ? -1 : read (fd, data, sizeof data - 1);
  close (fd);
  assert_true (len >= 0);
  data[len] = '\0';
  hoist_strv_push_take (&tree_lines,
                        hoist_xasprintf ("%s %07o %u %u:%u %lld [%s]", path + tree_skip, st->st_mode,
                                         S_ISDIR (st->st_mode) ? 0 : (unsigned) st->st_nlink,
                                         geteuid () == 0 ? st->st_uid : 0, geteuid () == 0 ? st->st_gid : 0,
                                         S_ISDIR (st->st_mode) ? 0 : (long long) st->st_size, data));
  return 0;
}

static int
str_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* One line per entry below DIR, sorted: path, mode, link count, owner (as
 * root), size, and content (small files) or link target. */
static char **
list_tree (const char *dir)
{
  tree_lines = hoist_xcalloc (1, sizeof (char *));
  tree_skip = strlen (dir) + 1;
  assert_int_equal (nftw (dir, tree_line, 16, FTW_PHYS), 0);
  qsort (tree_lines, hoist_strv_len (tree_lines), sizeof (char *), str_cmp);
  return steal_pointer (&tree_lines);
}

/* Move the layer file into the layout's blobs; its descriptor to *DESC. */
static void
add_layer_blob (const char *oci, const struct builder_layer_result *res, char **desc)
{
  cleanup_free char *blob = hoist_xasprintf ("%s/blobs/sha256/%s", oci, res->digest + 7);

  assert_string_equal (res->digest, res->diff_id);
  assert_int_equal (rename (layer, blob), 0);
  *desc = hoist_xasprintf ("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%lld}",
                           res->digest, (long long) res->size);
}

/* TEXT as OCI/NAME, or as a blob when NAME is NULL (its digest to DIGEST). */
static void
add_file (const char *oci, const char *name, const char *text, char digest[HOIST_DIGEST_STR_SIZE])
{
  cleanup_free char *path = NULL;
  FILE *f;

  if (name == NULL)
    assert_int_equal (hoist_sha256_digest (text, strlen (text), digest, NULL), 0);
  path = name != NULL ? hoist_xasprintf ("%s/%s", oci, name) : hoist_xasprintf ("%s/blobs/sha256/%s", oci, digest + 7);
  f = fopen (path, "we");
  assert_non_null (f);
  assert_true (fputs (text, f) >= 0);
  assert_int_equal (fclose (f), 0);
}

static void
write_layout (const char *oci, const struct builder_layer_result res[2], char *layers[2])
{
  cleanup_free char *config = NULL, *manifest = NULL, *index = NULL;
  char cdigest[HOIST_DIGEST_STR_SIZE], mdigest[HOIST_DIGEST_STR_SIZE];

  config = hoist_xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":"
                            "\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
                            res[0].diff_id, res[1].diff_id);
  add_file (oci, NULL, config, cdigest);
  manifest = hoist_xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                              "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
                              "\"%s\",\"size\":%zu},\"layers\":[%s,%s]}",
                              cdigest, strlen (config), layers[0], layers[1]);
  add_file (oci, NULL, manifest, mdigest);
  index = hoist_xasprintf ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
                           "manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org."
                           "opencontainers.image.ref.name\":\"t\"}}]}",
                           mdigest, strlen (manifest));
  add_file (oci, "index.json", index, NULL);
  add_file (oci, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", NULL);
}

static void
round_trip_base (void)
{
  base_tree ();
  deep_tree ();
  mkd ("gone");
  put ("gone/a", "a", 0644);
  put ("todir", "t", 0644);
  mkd ("tofile");
  put ("tofile/c", "c", 0644);
}

/* Every kind of change at once. */
static void
round_trip_change (void)
{
  assert_int_equal (unlink (P ("d/f")) | rm_rf (P ("gone")) | unlink (P ("todir")) | rm_rf (P ("tofile")), 0);
  replace_dir ();
  mkd ("todir");
  put ("todir/in", "i", 0644);
  put ("tofile", "f", 0600);
  assert_int_equal (unlink (P ("link")), 0);
  assert_int_equal (symlink ("elsewhere", P ("link")), 0);
  add_links ();
  deep_add ();
  assert_int_equal (chmod (P ("d1/d2/other"), 0600), 0);
  assert_int_equal (mkfifo (P ("fifo"), 0640), 0);
  odd_names ();
}

static void
test_umoci_round_trip (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *empty = hoist_xasprintf ("%s/empty", root), *oci = hoist_xasprintf ("%s.oci", root);
  cleanup_free char *bundle = hoist_xasprintf ("%s.bundle", root), *blobs = hoist_xasprintf ("%s/blobs", oci);
  cleanup_free char *sha = hoist_xasprintf ("%s/sha256", blobs), *image = hoist_xasprintf ("%s:t", oci);
  cleanup_free char *rootfs = hoist_xasprintf ("%s/rootfs", bundle);
  cleanup_strv char **want = NULL, **got = NULL;
  char *argv[] = { "umoci", "unpack", "--image", image, bundle, geteuid () != 0 ? "--rootless" : NULL, NULL };
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1, .stderr_mode = HOIST_SPAWN_INHERIT };
  struct builder_layer_result res[2];
  struct hoist_spawn_result sres;
  struct builder_snapshot *s;
  char *layers[2];

  if (access ("/usr/bin/umoci", X_OK) != 0)
    skip ();
  assert_int_equal (mkdir (oci, 0755) | mkdir (blobs, 0755) | mkdir (sha, 0755), 0);
  /* The base layer: the tree against an empty one. */
  assert_int_equal (mkdir (empty, 0755), 0);
  assert_int_equal (builder_snapshot_take (empty, &s, &err), 0);
  assert_int_equal (rmdir (empty), 0);
  round_trip_base ();
  assert_int_equal (diff_at (s, root, NULL, &res[0], &err), 0);
  builder_snapshot_free (s);
  add_layer_blob (oci, &res[0], &layers[0]);
  /* The step's layer. */
  s = start (NULL);
  round_trip_change ();
  assert_int_equal (diff_at (s, root, NULL, &res[1], &err), 0);
  builder_snapshot_free (s);
  add_layer_blob (oci, &res[1], &layers[1]);
  write_layout (oci, res, layers);
  free (layers[0]);
  free (layers[1]);
  assert_int_equal (hoist_spawn (&o, &sres, &err), 0);
  assert_int_equal (sres.exit_code, 0);
  want = list_tree (root);
  got = list_tree (rootfs);
  for (size_t i = 0; want[i] != NULL || got[i] != NULL; i++)
    if (want[i] == NULL || got[i] == NULL || strcmp (want[i], got[i]) != 0)
      fail_msg ("unpacked tree differs at %zu: got '%s', want '%s'", i, got[i] ? got[i] : "(end)",
                want[i] ? want[i] : "(end)");
  (void) rm_rf (oci);
  (void) rm_rf (bundle);
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup_case, teardown_case)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_nothing_changed),
    T (test_file_added),
    T (test_content_changed),
    T (test_chmod_chown),
    T (test_deleted),
    T (test_whiteouts_sorted),
    T (test_dir_replaced_opaque),
    T (test_type_changes),
    T (test_hardlinks),
    T (test_deep_parents_not_written),
    T (test_capability),
    T (test_fifo_device_socket),
    T (test_odd_names),
    T (test_whiteout_name_refused),
    T (test_long_paths),
    T (test_many_entries),
    T (test_mount_point_skipped),
    T (test_umoci_round_trip),
  };
  int r;

  setlocale (LC_ALL, "C.UTF-8");
  umask (022);
  if (mkdtemp (tmp_dir) == NULL)
    return 1;
  r = cmocka_run_group_tests (tests, NULL, NULL);
  (void) rm_rf (tmp_dir);
  return r;
}
