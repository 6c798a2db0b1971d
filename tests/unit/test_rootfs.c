/* test_rootfs.c — the layer writer (rootfs_write.c) through
 * build_rootfs_apply: layers are made here with libarchive (pax, plain,
 * gzip or zstd; raw ustar where libarchive will not write the name),
 * stored in a store, and applied to a fresh root inside a temp directory
 * that also holds a sentinel file and a sentinel directory next to the
 * root.  After every layer, hostile or not, the sentinels must be as they
 * were (content, mode, times, link count, ctime), the temp directory must
 * hold nothing new, and no "hoist-escaped" may exist in /tmp or /.
 *
 * Root-only behaviour (owners, device nodes, security.capability) is
 * checked when the tests run as root; the non-root path runs in a child
 * that drops to nobody. */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/build_private.h"

#define MTIME 1000000000
#define SENTINEL_MTIME 1234567890
#define SENTINEL_TEXT "sentinel\n"
#define ESCAPED "hoist-escaped"

struct fx
{
  char *base; /* /tmp/hoist-test-rootfs-XXXXXX */
  struct builder_store *store;
  struct build_rootfs *r;
  int rootfd;
  struct stat sentinel, sentdir, inner, passwd;
};

static struct fx *F;

/* ---- Files ------------------------------------------------------------------------- */

static char *
at (const char *rel)
{
  return hoist_xasprintf ("%s/%s", build_rootfs_path (F->r), rel);
}

static bool
exists (const char *rel)
{
  cleanup_free char *p = at (rel);
  struct stat st;

  return lstat (p, &st) == 0;
}

static struct stat
lst (const char *rel)
{
  cleanup_free char *p = at (rel);
  struct stat st;

  if (lstat (p, &st) < 0)
    fail_msg ("'%s' is missing: %s", rel, strerror (errno));
  return st;
}

static char *
content (const char *rel)
{
  cleanup_free char *p = at (rel);
  struct hoist_buf b;

  hoist_buf_init (&b, 1 << 20);
  if (hoist_buf_read_file (&b, p, NULL) < 0)
    fail_msg ("cannot read '%s'", rel);
  return hoist_buf_detach (&b, NULL);
}

static void
assert_content (const char *rel, const char *want)
{
  cleanup_free char *got = content (rel);
  assert_string_equal (got, want);
}

static char *
link_of (const char *rel)
{
  cleanup_free char *p = at (rel);
  char buf[4096];
  ssize_t n = readlink (p, buf, sizeof buf - 1);

  if (n < 0)
    fail_msg ("'%s' is not a symlink", rel);
  buf[n] = '\0';
  return hoist_xstrdup (buf);
}

static void
assert_link (const char *rel, const char *want)
{
  cleanup_free char *got = link_of (rel);
  assert_string_equal (got, want);
}

static void
write_file (const char *path, const char *text, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  assert_int_equal (chmod (path, mode), 0);
}

static void
set_mtime (const char *path, time_t t)
{
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };
  assert_int_equal (utimensat (AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static bool
same_stat (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid
         && a->st_nlink == b->st_nlink && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in DIR, sorted, joined with ' '. */
static char *
listing (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  char **v = NULL;
  struct hoist_buf b;

  assert_non_null (d);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      hoist_strv_push (&v, strncmp (de->d_name, "rootfs-", 7) == 0 ? "rootfs" : de->d_name);
  closedir (d);
  if (v != NULL)
    qsort (v, hoist_strv_len (v), sizeof (char *), cmp_str);
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    build_buf_addf (&b, "%s%s", i > 0 ? " " : "", v[i]);
  hoist_strv_free (v);
  return hoist_buf_detach (&b, NULL);
}

/* Everything outside the root is as setup left it. */
static void
check_outside (void)
{
  cleanup_free char *sentinel = hoist_xasprintf ("%s/sentinel", F->base);
  cleanup_free char *sentdir = hoist_xasprintf ("%s/sentdir", F->base);
  cleanup_free char *inner = hoist_xasprintf ("%s/sentdir/inner", F->base);
  cleanup_free char *top = listing (F->base);
  cleanup_free char *in_dir = listing (sentdir);
  struct hoist_buf b;
  struct stat st;

  assert_int_equal (lstat (sentinel, &st), 0);
  assert_true (same_stat (&st, &F->sentinel));
  assert_int_equal (lstat (sentdir, &st), 0);
  assert_true (same_stat (&st, &F->sentdir));
  assert_int_equal (lstat (inner, &st), 0);
  assert_true (same_stat (&st, &F->inner));
  assert_int_equal (lstat ("/etc/passwd", &st), 0);
  assert_true (same_stat (&st, &F->passwd));
  hoist_buf_init (&b, 4096);
  assert_int_equal (hoist_buf_read_file (&b, sentinel, NULL), 0);
  assert_string_equal (b.data, SENTINEL_TEXT);
  hoist_buf_release (&b);
  assert_string_equal (top, "rootfs sentdir sentinel store");
  assert_string_equal (in_dir, "inner");
  assert_int_equal (lstat ("/tmp/" ESCAPED, &st), -1);
  assert_int_equal (lstat ("/" ESCAPED, &st), -1);
  assert_int_equal (lstat ("/etc/" ESCAPED, &st), -1);
}

/* ---- Fixture ------------------------------------------------------------------------ */

static int
setup (void **state)
{
  char tmpl[] = "/tmp/hoist-test-rootfs-XXXXXX";
  cleanup_free char *sentinel = NULL;
  cleanup_free char *sentdir = NULL;
  cleanup_free char *inner = NULL;
  cleanup_free char *store = NULL;
  struct hoist_error *err = NULL;

  if (mkdtemp (tmpl) == NULL)
    return -1;
  F = hoist_xcalloc (1, sizeof *F);
  F->base = hoist_xstrdup (tmpl);
  sentinel = hoist_xasprintf ("%s/sentinel", tmpl);
  sentdir = hoist_xasprintf ("%s/sentdir", tmpl);
  inner = hoist_xasprintf ("%s/sentdir/inner", tmpl);
  store = hoist_xasprintf ("%s/store", tmpl);
  write_file (sentinel, SENTINEL_TEXT, 0640);
  set_mtime (sentinel, SENTINEL_MTIME);
  assert_int_equal (mkdir (sentdir, 0750), 0);
  write_file (inner, "inner\n", 0600);
  set_mtime (inner, SENTINEL_MTIME);
  set_mtime (sentdir, SENTINEL_MTIME);
  assert_int_equal (chmod (sentdir, 0750), 0);
  if (builder_store_open (store, true, &F->store, &err) < 0 || build_rootfs_new (tmpl, &F->r, &err) < 0)
    fail_msg ("%s", err->msg);
  F->rootfd = open (build_rootfs_path (F->r), O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal (lstat (sentinel, &F->sentinel), 0);
  assert_int_equal (lstat (sentdir, &F->sentdir), 0);
  assert_int_equal (lstat (inner, &F->inner), 0);
  assert_int_equal (lstat ("/etc/passwd", &F->passwd), 0);
  *state = F;
  return 0;
}

static int
teardown (void **state)
{
  struct hoist_error *err = NULL;

  (void) state;
  check_outside ();
  close (F->rootfd);
  build_rootfs_free (F->r);
  builder_store_free (F->store);
  if (hoist_rmtree_at (AT_FDCWD, F->base, &err) < 0)
    fail_msg ("%s", err->msg);
  free (F->base);
  free (F);
  F = NULL;
  return 0;
}

static void
set_limits (uint64_t entries, uint64_t bytes, uint64_t name_bytes)
{
  struct build_layer_limits lim = BUILD_LAYER_LIMITS_DEFAULT;

  if (entries != 0)
    lim.max_entries = entries;
  if (bytes != 0)
    lim.max_bytes = bytes;
  if (name_bytes != 0)
    lim.max_name_bytes = name_bytes;
  build_rootfs_set_limits (F->r, &lim);
}

/* ---- Layers ---------------------------------------------------------------------- */

enum filter
{
  PLAIN,
  GZIP,
  ZSTD
};

struct layer
{
  struct archive *a;
  struct builder_blob_ingest *ing;
  struct hoist_sha256 h;
};

static la_ssize_t
layer_write_cb (struct archive *a, void *data, const void *buf, size_t n)
{
  struct layer *l = data;
  int fd = builder_blob_ingest_fd (l->ing);

  (void) a;
  for (size_t done = 0; done < n;)
    {
      ssize_t w = write (fd, (const char *) buf + done, n - done);
      if (w <= 0)
        return -1;
      done += (size_t) w;
    }
  hoist_sha256_update (&l->h, buf, n);
  return (la_ssize_t) n;
}

static struct layer *
layer_new (enum filter filter)
{
  struct layer *l = hoist_xcalloc (1, sizeof *l);

  assert_int_equal (builder_store_blob_begin (F->store, &l->ing, NULL), 0);
  assert_int_equal (hoist_sha256_init (&l->h, NULL), 0);
  l->a = archive_write_new ();
  archive_write_set_format_pax (l->a);
  /* No zeros after a compressed stream (a zstd reader takes them for a
   * frame); layers are not padded. */
  archive_write_set_bytes_in_last_block (l->a, 1);
  if (filter == GZIP)
    archive_write_add_filter_gzip (l->a);
  else if (filter == ZSTD)
    archive_write_add_filter_zstd (l->a);
  assert_int_equal (archive_write_open (l->a, l, NULL, layer_write_cb, NULL), ARCHIVE_OK);
  return l;
}

static struct archive_entry *
entry_new (const char *path, mode_t type, mode_t perm)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, perm);
  archive_entry_set_mtime (e, MTIME, 0);
  return e;
}

/* Write E (freed here) with LEN bytes of DATA. */
static void
put (struct layer *l, struct archive_entry *e, const void *data, size_t len)
{
  if (archive_write_header (l->a, e) != ARCHIVE_OK)
    fail_msg ("cannot write '%s': %s", archive_entry_pathname (e), archive_error_string (l->a));
  if (len > 0)
    assert_int_equal (archive_write_data (l->a, data, len), (la_ssize_t) len);
  archive_entry_free (e);
}

static void
add_dir (struct layer *l, const char *path, mode_t perm)
{
  put (l, entry_new (path, AE_IFDIR, perm), NULL, 0);
}

static void
add_file (struct layer *l, const char *path, mode_t perm, const char *text)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, perm);

  archive_entry_set_size (e, (la_int64_t) strlen (text));
  put (l, e, text, strlen (text));
}

static void
add_symlink (struct layer *l, const char *path, const char *target)
{
  struct archive_entry *e = entry_new (path, AE_IFLNK, 0777);

  archive_entry_set_symlink (e, target);
  put (l, e, NULL, 0);
}

static void
add_hardlink (struct layer *l, const char *path, const char *target)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, 0644);

  archive_entry_set_hardlink (e, target);
  put (l, e, NULL, 0);
}

static void
add_node (struct layer *l, const char *path, mode_t type, mode_t perm, unsigned maj, unsigned min)
{
  struct archive_entry *e = entry_new (path, type, perm);

  archive_entry_set_rdevmajor (e, maj);
  archive_entry_set_rdevminor (e, min);
  put (l, e, NULL, 0);
}

/* Finish L (freed) into the store, apply it: 0, or minus the error's
 * status (-1 when it has none), with its message in *MSG. */
static int
apply (struct layer *l, char **msg)
{
  struct builder_descriptor d;
  struct hoist_error *err = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];
  int ret;

  assert_int_equal (archive_write_close (l->a), ARCHIVE_OK);
  archive_write_free (l->a);
  hoist_sha256_final (&l->h, digest);
  hoist_sha256_release (&l->h);
  assert_int_equal (builder_store_blob_commit (F->store, l->ing, digest, BUILDER_BLOB_NO_SYNC, NULL, &err), 0);
  free (l);
  builder_descriptor_init (&d);
  builder_descriptor_set (&d, "application/vnd.oci.image.layer.v1.tar", digest, 0);
  ret = build_rootfs_apply (F->r, F->store, &d, &err);
  builder_descriptor_release (&d);
  *msg = err != NULL ? hoist_xstrdup (err->msg) : NULL;
  if (ret < 0)
    {
      assert_non_null (err);
      ret = err->status != 0 ? -err->status : -1;
    }
  hoist_error_free (err);
  check_outside ();
  return ret;
}

static void
apply_ok (struct layer *l)
{
  cleanup_free char *msg = NULL;

  if (apply (l, &msg) < 0)
    fail_msg ("layer refused: %s", msg);
}

/* The layer fails with STATUS and a message holding WANT. */
static void
apply_fails (struct layer *l, int status, const char *want)
{
  cleanup_free char *msg = NULL;
  int ret = apply (l, &msg);

  if (ret >= 0)
    fail_msg ("layer accepted, wanted '%s'", want);
  if (status != 0)
    assert_int_equal (ret, -status);
  if (strstr (msg, want) == NULL)
    fail_msg ("message '%s' does not say '%s'", msg, want);
}

/* Apply the LEN bytes at P as a layer, as apply does. */
static int
apply_bytes (const void *p, size_t len, char **msg)
{
  struct builder_blob_ingest *ing = NULL;
  struct builder_descriptor d;
  struct hoist_error *err = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];
  int ret;

  assert_int_equal (builder_store_blob_begin (F->store, &ing, NULL), 0);
  assert_int_equal (write (builder_blob_ingest_fd (ing), p, len), (ssize_t) len);
  assert_int_equal (hoist_sha256_digest (p, len, digest, NULL), 0);
  assert_int_equal (builder_store_blob_commit (F->store, ing, digest, BUILDER_BLOB_NO_SYNC, NULL, NULL), 0);
  builder_descriptor_init (&d);
  builder_descriptor_set (&d, "application/vnd.oci.image.layer.v1.tar", digest, 0);
  ret = build_rootfs_apply (F->r, F->store, &d, &err);
  builder_descriptor_release (&d);
  *msg = err != NULL ? hoist_xstrdup (err->msg) : NULL;
  hoist_error_free (err);
  check_outside ();
  return ret;
}

/* A raw ustar header (for names libarchive will not write) into BLOCK. */
static void
raw_header (char block[512], const char *name, char typeflag, unsigned long size)
{
  unsigned sum = 0;

  memset (block, 0, 512);
  memcpy (block, name, strlen (name));
  memcpy (block + 100, "0000644", 8);
  memcpy (block + 108, "0000000", 8);
  memcpy (block + 116, "0000000", 8);
  snprintf (block + 124, 12, "%011lo", size);
  memcpy (block + 136, "07346545000", 12);
  memset (block + 148, ' ', 8);
  block[156] = typeflag;
  memcpy (block + 257, "ustar", 6);
  memcpy (block + 263, "00", 2);
  for (int i = 0; i < 512; i++)
    sum += (unsigned char) block[i];
  snprintf (block + 148, 8, "%06o", sum);
}

/* ---- A normal layer ----------------------------------------------------------------- */

/* VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_BIND_SERVICE. */
static const unsigned char CAP[20] = { 0x01, 0, 0, 0x02, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

static void
test_normal_layer (void **state)
{
  struct layer *l = layer_new (GZIP);
  struct archive_entry *e;
  struct stat st;
  bool root = geteuid () == 0;

  (void) state;
  add_dir (l, "./", 0700);
  add_dir (l, "a/", 0755);
  add_dir (l, "a/private", 0700);
  add_dir (l, "tmp", 01777);
  e = entry_new ("a/f", AE_IFREG, 0640);
  archive_entry_set_uid (e, 1000);
  archive_entry_set_gid (e, 1001);
  archive_entry_set_size (e, 6);
  archive_entry_set_mtime (e, MTIME, 123456789);
  put (l, e, "hello\n", 6);
  add_file (l, "a/suid", 04755, "#!/bin/sh\n");
  add_symlink (l, "a/rel", "f");
  add_symlink (l, "a/abs", "/a/f");
  add_hardlink (l, "a/hard", "a/f");
  add_node (l, "a/fifo", AE_IFIFO, 0620, 0, 0);
  add_node (l, "a/null", AE_IFCHR, 0666, 1, 3);
  e = entry_new ("a/cap", AE_IFREG, 0755);
  archive_entry_set_size (e, 3);
  archive_entry_xattr_add_entry (e, "security.capability", CAP, sizeof CAP);
  archive_entry_xattr_add_entry (e, "user.other", "x", 1);
  put (l, e, "bin", 3);
  add_file (l, "deep/er/file", 0644, "deep\n"); /* parents not listed */
  add_dir (l, "ro", 0555);
  add_file (l, "ro/child", 0444, "child\n");
  add_dir (l, "a/", 0751); /* again: the later metadata wins */
  apply_ok (l);

  assert_int_equal (build_rootfs_layers (F->r), 1);
  assert_int_equal (lst ("").st_mode & 07777, 0755); /* "./" leaves the root alone */
  assert_int_equal (lst ("a").st_mode, S_IFDIR | 0751);
  assert_int_equal (lst ("a").st_mtime, MTIME);
  assert_int_equal (lst ("a/private").st_mode, S_IFDIR | 0700);
  assert_int_equal (lst ("tmp").st_mode, S_IFDIR | 01777);
  st = lst ("a/f");
  assert_int_equal (st.st_mode, S_IFREG | 0640);
  assert_int_equal (st.st_mtim.tv_sec, MTIME);
  assert_int_equal (st.st_mtim.tv_nsec, 123456789);
  assert_int_equal (st.st_nlink, 2);
  assert_int_equal (st.st_ino, lst ("a/hard").st_ino);
  assert_int_equal (st.st_uid, root ? 1000 : geteuid ());
  assert_int_equal (st.st_gid, root ? 1001 : getegid ());
  assert_content ("a/f", "hello\n");
  assert_int_equal (lst ("a/suid").st_mode, S_IFREG | 04755);
  assert_link ("a/rel", "f");
  assert_link ("a/abs", "/a/f");
  assert_int_equal (lst ("a/abs").st_mtime, MTIME);
  assert_int_equal (lst ("a/fifo").st_mode, S_IFIFO | 0620);
  if (root)
    {
      cleanup_free char *cap = at ("a/cap");
      unsigned char buf[64];

      st = lst ("a/null");
      assert_int_equal (st.st_mode, S_IFCHR | 0666);
      assert_int_equal (st.st_rdev, makedev (1, 3));
      assert_int_equal (getxattr (cap, "security.capability", buf, sizeof buf), (ssize_t) sizeof CAP);
      assert_memory_equal (buf, CAP, sizeof CAP);
      assert_int_equal (getxattr (cap, "user.other", buf, sizeof buf), -1);
    }
  else
    assert_false (exists ("a/null"));
  assert_int_equal (lst ("deep").st_mode, S_IFDIR | 0755);
  assert_int_equal (lst ("deep/er").st_mode, S_IFDIR | 0755);
  assert_content ("deep/er/file", "deep\n");
  assert_int_equal (lst ("ro").st_mode, S_IFDIR | 0555);
  assert_int_equal (lst ("ro").st_mtime, MTIME);
  assert_content ("ro/child", "child\n");
  /* Lookups resolve symlinks inside the root. */
  assert_int_equal (build_rootfs_stat (F->r, "/a/abs", &st), 1);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (build_rootfs_stat (F->r, "/a/nothing", &st), 0);
}

static void
test_compressions (void **state)
{
  struct layer *l;

  (void) state;
  l = layer_new (ZSTD);
  add_file (l, "z", 0644, "zstd\n");
  apply_ok (l);
  l = layer_new (PLAIN);
  add_file (l, "p", 0644, "plain\n");
  apply_ok (l);
  assert_content ("z", "zstd\n");
  assert_content ("p", "plain\n");
  assert_int_equal (build_rootfs_layers (F->r), 2);
}

static void
test_sparse_file (void **state)
{
  struct layer *l = layer_new (PLAIN);
  struct archive_entry *e = entry_new ("sparse", AE_IFREG, 0644);
  cleanup_free char *text = NULL;
  cleanup_free char *data = hoist_xcalloc (1, 1 << 20);

  (void) state;
  /* The writer takes the whole file and stores the data regions only. */
  memcpy (data + 512 * 1024, "data", 4);
  archive_entry_set_size (e, 1 << 20);
  archive_entry_sparse_add_entry (e, 512 * 1024, 4);
  put (l, e, data, 1 << 20);
  apply_ok (l);
  assert_int_equal (lst ("sparse").st_size, 1 << 20);
  text = content ("sparse");
  assert_memory_equal (text + 512 * 1024, "data", 4);
  assert_int_equal (text[0], 0);
}

/* An old GNU sparse entry whose map puts its 5 bytes a gigabyte past
 * the size it declares (100): libarchive passes the map on as is. */
static void
test_sparse_past_size (void **state)
{
  char tar[4 * 512] = { 0 };
  char *msg = NULL;
  unsigned sum = 0;

  (void) state;
  memcpy (tar, "sparse", 6);
  memcpy (tar + 100, "0000644", 8);
  memcpy (tar + 108, "0000000", 8);
  memcpy (tar + 116, "0000000", 8);
  snprintf (tar + 124, 12, "%011o", 5);
  memcpy (tar + 136, "07346545000", 12);
  tar[156] = 'S';
  memcpy (tar + 257, "ustar  ", 8);
  snprintf (tar + 386, 12, "%011o", 1000000000); /* offset */
  snprintf (tar + 398, 12, "%011o", 5);          /* length */
  snprintf (tar + 483, 12, "%011o", 100);        /* real size */
  memset (tar + 148, ' ', 8);
  for (int i = 0; i < 512; i++)
    sum += (unsigned char) tar[i];
  snprintf (tar + 148, 8, "%06o", sum);
  memcpy (tar + 512, "hello", 5);
  assert_true (apply_bytes (tar, sizeof tar, &msg) < 0);
  assert_non_null (strstr (msg, "data past its size"));
  free (msg);
}

/* ---- Whiteouts over two layers -------------------------------------------------------- */

static void
lower_tree (void)
{
  struct layer *l = layer_new (GZIP);

  add_dir (l, "a", 0755);
  add_file (l, "a/x", 0644, "x");
  add_file (l, "a/+old", 0644, "old");
  add_dir (l, "a/sub", 0755);
  add_file (l, "a/sub/z", 0644, "z");
  add_dir (l, "b", 0755);
  add_file (l, "b/p", 0644, "p");
  add_file (l, "c", 0644, "c");
  add_dir (l, "e", 0755);
  add_file (l, "e/q", 0644, "q");
  add_symlink (l, "s", "e");
  apply_ok (l);
}

static void
test_whiteout (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (GZIP);
  add_file (l, ".wh.c", 0644, "");
  add_file (l, "b/.wh.p", 0644, "");
  add_file (l, ".wh.e", 0644, "");
  add_file (l, ".wh.s", 0644, ""); /* the symlink, not what it points to */
  add_file (l, ".wh.missing", 0644, "");
  add_file (l, "nodir/.wh.x", 0644, "");
  apply_ok (l);
  assert_false (exists ("c"));
  assert_false (exists ("b/p"));
  assert_true (S_ISDIR (lst ("b").st_mode));
  assert_false (exists ("e"));
  assert_false (exists ("s"));
  assert_false (exists ("nodir"));
  assert_content ("a/x", "x");
}

static void
test_opaque_marker_first (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (GZIP);
  add_dir (l, "a", 0755);
  add_file (l, "a/.wh..wh..opq", 0644, "");
  add_dir (l, "a/sub", 0755);
  add_file (l, "a/sub/n", 0644, "n");
  add_file (l, "a/new", 0644, "new");
  apply_ok (l);
  assert_false (exists ("a/x"));
  assert_false (exists ("a/+old"));
  assert_false (exists ("a/sub/z"));
  assert_content ("a/sub/n", "n");
  assert_content ("a/new", "new");
  assert_content ("b/p", "p");
}

/* A marker after some of its directory's entries (a sorted tar puts "+"
 * before "."): it hides the lower layers only. */
static void
test_opaque_marker_last (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (GZIP);
  add_dir (l, "a", 0700);
  add_file (l, "a/+keep", 0644, "keep");
  add_file (l, "a/sub/n", 0644, "n"); /* a/sub itself not listed */
  add_file (l, "a/.wh..wh..opq", 0644, "");
  apply_ok (l);
  assert_content ("a/+keep", "keep");
  assert_content ("a/sub/n", "n");
  assert_false (exists ("a/x"));
  assert_false (exists ("a/+old"));
  assert_false (exists ("a/sub/z"));
  assert_int_equal (lst ("a").st_mode, S_IFDIR | 0700);
}

static void
test_opaque_root (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (PLAIN);
  add_file (l, "mine", 0644, "mine");
  add_file (l, ".wh..wh..opq", 0644, "");
  apply_ok (l);
  {
    cleanup_free char *names = listing (build_rootfs_path (F->r));
    assert_string_equal (names, "mine");
  }
}

/* A whiteout never hides what its own layer wrote. */
static void
test_whiteout_same_layer (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (PLAIN);
  add_file (l, "c", 0644, "new c");
  add_file (l, ".wh.c", 0644, "");
  add_file (l, "e/n", 0644, "n");
  add_file (l, ".wh.e", 0644, "");
  apply_ok (l);
  assert_content ("c", "new c");
  assert_content ("e/n", "n");
  assert_false (exists ("e/q"));
}

/* Markers again and again, over a tree the layer wrote: each directory
 * is walked once (thousands of markers over thousands of entries would
 * otherwise take minutes); a directory made anew is pruned anew. */
static void
test_many_markers (void **state)
{
  struct layer *l;
  char name[64];

  (void) state;
  lower_tree ();
  l = layer_new (GZIP);
  add_file (l, "a/.wh..wh..opq", 0644, "");
  for (int i = 0; i < 3000; i++)
    {
      snprintf (name, sizeof name, "a/sub/f%04d", i);
      add_file (l, name, 0644, "");
      add_file (l, "a/.wh..wh..opq", 0644, "");
      add_file (l, ".wh..wh..opq", 0644, "");
    }
  add_file (l, "a/sub/.wh..wh..opq", 0644, "");
  add_file (l, "a/.wh.sub", 0644, "");
  apply_ok (l);
  assert_false (exists ("a/x"));
  assert_false (exists ("a/sub/z"));
  assert_false (exists ("b"));
  assert_true (exists ("a/sub/f0000"));
  assert_true (exists ("a/sub/f2999"));
}

static void
test_replace_across_layers (void **state)
{
  struct layer *l;

  (void) state;
  lower_tree ();
  l = layer_new (GZIP);
  add_file (l, "a", 0600, "a is a file now");
  add_dir (l, "c", 0711);
  add_file (l, "c/g", 0644, "g");
  add_dir (l, "s", 0755); /* was a symlink to e */
  add_symlink (l, "b", "/e");
  apply_ok (l);
  assert_int_equal (lst ("a").st_mode, S_IFREG | 0600);
  assert_content ("a", "a is a file now");
  assert_int_equal (lst ("c").st_mode, S_IFDIR | 0711);
  assert_content ("c/g", "g");
  assert_true (S_ISDIR (lst ("s").st_mode));
  assert_content ("e/q", "q");
  assert_link ("b", "/e");
}

static void
test_existing_dir_metadata (void **state)
{
  struct layer *l;
  struct archive_entry *e;

  (void) state;
  lower_tree ();
  l = layer_new (PLAIN);
  e = entry_new ("b", AE_IFDIR, 0700);
  archive_entry_set_uid (e, 123);
  archive_entry_set_gid (e, 456);
  archive_entry_set_mtime (e, MTIME + 5, 0);
  put (l, e, NULL, 0);
  apply_ok (l);
  assert_int_equal (lst ("b").st_mode, S_IFDIR | 0700);
  assert_int_equal (lst ("b").st_mtime, MTIME + 5);
  if (geteuid () == 0)
    assert_int_equal (lst ("b").st_uid, 123);
  assert_content ("b/p", "p");
}

/* ---- Hostile names ------------------------------------------------------------------- */

static void
refuse_file (const char *path, const char *want)
{
  struct layer *l = layer_new (PLAIN);

  add_file (l, path, 04777, "escaped\n");
  apply_fails (l, EINVAL, want);
}

static void
test_dotdot (void **state)
{
  struct layer *l;

  (void) state;
  refuse_file ("../" ESCAPED, "'..' in the name");
  refuse_file ("a/../../" ESCAPED, "'..' in the name");
  refuse_file ("./../" ESCAPED, "'..' in the name");
  refuse_file ("../sentinel", "'..' in the name");
  refuse_file ("a/b/../../../../../../tmp/" ESCAPED, "'..' in the name");
  l = layer_new (PLAIN);
  add_dir (l, "..", 0777);
  apply_fails (l, EINVAL, "'..'");
  l = layer_new (PLAIN);
  add_symlink (l, "../" ESCAPED, "/");
  apply_fails (l, EINVAL, "'..'");
}

static void
test_absolute (void **state)
{
  struct layer *l;

  (void) state;
  refuse_file ("/" ESCAPED, "absolute name");
  refuse_file ("/etc/passwd", "absolute name");
  refuse_file ("//tmp/" ESCAPED, "absolute name");
  l = layer_new (PLAIN);
  add_symlink (l, "/", "/tmp");
  apply_fails (l, EINVAL, "absolute name");
  assert_false (exists ("tmp"));
}

/* A symlink to '/' (or above the root) is the root itself to whatever
 * is written through it. */
static void
test_symlink_to_root (void **state)
{
  struct layer *l = layer_new (GZIP);

  (void) state;
  add_symlink (l, "link", "/");
  add_file (l, "link/" ESCAPED, 04777, "inside\n");
  add_symlink (l, "up", "../../..");
  add_file (l, "up/" ESCAPED "2", 0644, "inside too\n");
  add_file (l, "link/etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n");
  add_dir (l, "tmp", 01777);
  add_symlink (l, "t", "/tmp");
  add_file (l, "t/" ESCAPED, 0644, "in the root's /tmp\n");
  apply_ok (l);
  assert_content (ESCAPED, "inside\n");
  assert_int_equal (lst (ESCAPED).st_mode, S_IFREG | 04777);
  assert_content (ESCAPED "2", "inside too\n");
  assert_content ("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  assert_content ("tmp/" ESCAPED, "in the root's /tmp\n"); /* made in the root's tmp */
  assert_link ("t", "/tmp");
}

static void
test_replace_root (void **state)
{
  struct layer *l;
  cleanup_free char *msg = NULL;

  (void) state;
  l = layer_new (PLAIN);
  add_symlink (l, ".", "/");
  apply_fails (l, EINVAL, "replace the root");
  l = layer_new (PLAIN);
  add_file (l, "./.", 0644, "x");
  apply_fails (l, EINVAL, "replace the root");
  {
    char tar[3 * 512] = { 0 };

    raw_header (tar, "", '0', 0);
    assert_true (apply_bytes (tar, sizeof tar, &msg) < 0);
    assert_non_null (strstr (msg, "empty"));
  }
  assert_true (S_ISDIR (lst ("").st_mode));
}

static void
test_hardlink_escapes (void **state)
{
  struct layer *l;

  (void) state;
  l = layer_new (PLAIN);
  add_hardlink (l, "h", "../sentinel");
  apply_fails (l, EINVAL, "'..' in the name");
  l = layer_new (PLAIN);
  add_hardlink (l, "h", "/etc/passwd");
  apply_fails (l, EINVAL, "absolute name");
  /* Through symlinks: looked up inside the root, where there is nothing. */
  l = layer_new (PLAIN);
  add_symlink (l, "esc", "../..");
  add_hardlink (l, "h", "esc/sentinel");
  apply_fails (l, ENOENT, "has no target in the image");
  l = layer_new (PLAIN);
  add_symlink (l, "e", "/etc");
  add_hardlink (l, "h2", "e/passwd");
  apply_fails (l, ENOENT, "has no target in the image");
  l = layer_new (PLAIN);
  add_symlink (l, "etc", "/etc"); /* the root's /etc: itself */
  add_hardlink (l, "h2", "etc/passwd");
  apply_fails (l, ELOOP, "has no target in the image");
  l = layer_new (PLAIN);
  add_symlink (l, "sd", "../sentdir");
  add_hardlink (l, "h3", "sd/inner");
  apply_fails (l, ENOENT, "has no target in the image");
  assert_false (exists ("h"));
  assert_false (exists ("h2"));
  assert_false (exists ("h3"));
}

static void
test_hardlink_inside (void **state)
{
  struct layer *l = layer_new (PLAIN);

  (void) state;
  add_dir (l, "etc", 0755);
  add_file (l, "etc/passwd", 0644, "image passwd\n");
  add_symlink (l, "e", "/etc");
  add_hardlink (l, "h", "e/passwd"); /* the root's /etc/passwd */
  add_symlink (l, "sl", "/nowhere");
  add_hardlink (l, "hsl", "sl"); /* the symlink itself */
  apply_ok (l);
  l = layer_new (PLAIN);
  add_hardlink (l, "h2", "e/../etc/passwd");
  apply_fails (l, EINVAL, "'..' in the name");
  l = layer_new (PLAIN);
  add_hardlink (l, "h", "etc/passwd"); /* again: already that file */
  apply_ok (l);
  assert_int_equal (lst ("h").st_ino, lst ("etc/passwd").st_ino);
  assert_int_equal (lst ("etc/passwd").st_nlink, 2);
  assert_int_equal (lst ("hsl").st_ino, lst ("sl").st_ino);
  assert_link ("hsl", "/nowhere");
  assert_false (exists ("h2"));
}

static void
test_hardlink_to_directory (void **state)
{
  struct layer *l = layer_new (PLAIN);

  (void) state;
  add_dir (l, "d", 0755);
  add_hardlink (l, "h", "d");
  apply_fails (l, EINVAL, "a directory");
  l = layer_new (PLAIN);
  add_hardlink (l, "h", ".");
  apply_fails (l, EINVAL, "the root is a directory");
  l = layer_new (PLAIN);
  add_symlink (l, "up", "..");
  add_hardlink (l, "h", "up/sentdir");
  apply_fails (l, ENOENT, "no target");
}

/* A directory replaced by a symlink that leads out, then written under:
 * nothing outside changes, not even a mode. */
static void
test_dir_replaced_by_symlink (void **state)
{
  struct layer *l;

  (void) state;
  /* Out through "../sentdir" is the root's own /sentdir: not there. */
  l = layer_new (PLAIN);
  add_dir (l, "d", 0755);
  add_file (l, "d/a", 0644, "a");
  add_symlink (l, "d", "../sentdir");
  add_file (l, "d/inner", 04777, "pwned\n");
  apply_fails (l, EEXIST, "cannot create a parent directory of 'd/inner'");
  /* Up to the root itself: written inside. */
  l = layer_new (PLAIN);
  add_dir (l, "u", 0755);
  add_symlink (l, "u", "../..");
  add_file (l, "u/" ESCAPED, 04777, "inside\n");
  add_dir (l, "u/" ESCAPED "-dir", 0777);
  apply_ok (l);
  assert_int_equal (lst (ESCAPED).st_mode, S_IFREG | 04777);
  assert_int_equal (lst (ESCAPED "-dir").st_mode, S_IFDIR | 0777);
  /* A directory entry for a symlink replaces the symlink; the mode of
   * the earlier directory of that name is not set through the symlink. */
  l = layer_new (PLAIN);
  add_dir (l, "x", 0700);
  add_symlink (l, "x", "/");
  add_dir (l, "y", 0700);
  add_symlink (l, "y", "../sentdir");
  add_dir (l, "y", 0777);
  apply_ok (l);
  assert_int_equal (lst ("").st_mode & 07777, 0755);
  assert_link ("x", "/");
  assert_int_equal (lst ("y").st_mode, S_IFDIR | 0777);
}

static void
test_whiteout_through_symlink (void **state)
{
  struct layer *l = layer_new (PLAIN);

  (void) state;
  add_file (l, "x", 0644, "x");
  add_dir (l, "etc", 0755);
  add_file (l, "etc/passwd", 0644, "image passwd\n");
  add_symlink (l, "s", "../sentdir");
  add_symlink (l, "e", "/etc");
  apply_ok (l);
  l = layer_new (PLAIN);
  add_symlink (l, "link", "..");
  add_file (l, "link/.wh.x", 0644, "");           /* the root's x */
  add_file (l, "link/.wh.sentinel", 0644, "");    /* nothing: not in the root */
  add_file (l, "link/../.wh.sentinel", 0644, ""); /* refused before that */
  apply_fails (l, EINVAL, "'..'");
  assert_false (exists ("x"));
  l = layer_new (PLAIN);
  add_file (l, "s/.wh.inner", 0644, "");
  add_file (l, "e/.wh.passwd", 0644, "");
  add_file (l, ".wh.s", 0644, "");
  apply_ok (l);
  assert_false (exists ("etc/passwd"));
  assert_false (exists ("s"));
  assert_true (S_ISDIR (lst ("etc").st_mode));
}

static void
test_reserved_whiteouts (void **state)
{
  (void) state;
  refuse_file (".wh..wh.foo", "reserved whiteout name");
  refuse_file ("a/.wh..wh.plnk", "reserved whiteout name");
  refuse_file (".wh.", "a whiteout of no name");
  refuse_file ("a/.wh..", "a whiteout of no name");
  refuse_file (".wh...", "a whiteout of no name");
  refuse_file ("a/.wh.b/c", "a whiteout used as a directory");
  refuse_file (".wh..wh..opq/x", "a whiteout used as a directory");
  assert_false (exists ("a"));
}

static void
test_long_names (void **state)
{
  struct hoist_buf b;
  cleanup_free char *longname = NULL;
  cleanup_free char *ok = NULL;
  struct layer *l;

  (void) state;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  while (b.len < 5000)
    build_buf_addstr (&b, "component/");
  longname = hoist_buf_detach (&b, NULL);
  longname[4999] = 'x';
  longname[5000] = '\0';
  l = layer_new (PLAIN);
  add_file (l, longname, 0644, "x");
  apply_fails (l, E2BIG, "longer than 4096 bytes (path length limit)");
  l = layer_new (PLAIN);
  add_symlink (l, "s", longname);
  apply_fails (l, E2BIG, "path length limit");
  l = layer_new (PLAIN);
  add_hardlink (l, "h", longname);
  apply_fails (l, E2BIG, "path length limit");
  /* Just within: 4089 bytes, 409 levels (too long a path to check
   * from '/'). */
  ok = hoist_xstrndup (longname, 4089);
  l = layer_new (PLAIN);
  add_file (l, ok, 0644, "deep");
  apply_ok (l);
  {
    struct stat st;
    assert_int_equal (fstatat (F->rootfd, ok, &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal (st.st_size, 4);
  }
  /* One component longer than the file system takes. */
  memset (ok, 'n', 300);
  ok[300] = '\0';
  l = layer_new (PLAIN);
  add_file (l, ok, 0644, "x");
  apply_fails (l, ENAMETOOLONG, "File name too long");
}

static void
test_bad_owner (void **state)
{
  struct layer *l = layer_new (PLAIN);
  struct archive_entry *e = entry_new ("f", AE_IFREG, 0644);

  (void) state;
  archive_entry_set_uid (e, 4294967295LL);
  put (l, e, NULL, 0);
  apply_fails (l, EINVAL, "an owner out of range");
}

static void
test_garbage (void **state)
{
  char tar[2 * 512];
  char *msg = NULL;

  (void) state;
  assert_true (apply_bytes ("this is not a tar file, not even close to one", 45, &msg) < 0);
  free (msg);
  /* A header that promises more than comes. */
  raw_header (tar, "f", '0', 100000);
  memcpy (tar + 512, "short", 5);
  assert_true (apply_bytes (tar, sizeof tar, &msg) < 0);
  assert_non_null (strstr (msg, "cannot read"));
  free (msg);
  /* A bad checksum. */
  raw_header (tar, "f", '0', 0);
  tar[0] = 'g';
  assert_true (apply_bytes (tar, sizeof tar, &msg) < 0);
  free (msg);
}

/* ---- Limits ------------------------------------------------------------------------- */

/* A gzip layer whose file of zeros is far past the size limit: refused
 * at its header, before any of it is decompressed or written. */
static void
test_gzip_bomb (void **state)
{
  static char zeros[1 << 16];
  struct layer *l;
  struct archive_entry *e;

  (void) state;
  set_limits (0, 1 << 20, 0);
  l = layer_new (GZIP);
  e = entry_new ("bomb", AE_IFREG, 0644);
  archive_entry_set_size (e, 64 << 20);
  if (archive_write_header (l->a, e) != ARCHIVE_OK)
    fail_msg ("header");
  archive_entry_free (e);
  for (int i = 0; i < (64 << 20) / (int) sizeof zeros; i++)
    assert_int_equal (archive_write_data (l->a, zeros, sizeof zeros), (la_ssize_t) sizeof zeros);
  apply_fails (l, E2BIG, "is larger than 1048576 bytes uncompressed (size limit)");
  assert_false (exists ("bomb"));
  /* Content never written (a whiteout's) counts too. */
  l = layer_new (GZIP);
  e = entry_new (".wh.bomb", AE_IFREG, 0644);
  archive_entry_set_size (e, 8 << 20);
  if (archive_write_header (l->a, e) != ARCHIVE_OK)
    fail_msg ("header");
  archive_entry_free (e);
  for (int i = 0; i < (8 << 20) / (int) sizeof zeros; i++)
    assert_int_equal (archive_write_data (l->a, zeros, sizeof zeros), (la_ssize_t) sizeof zeros);
  apply_fails (l, E2BIG, "size limit");
  /* Many small files add up. */
  l = layer_new (GZIP);
  for (int i = 0; i < 600; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "f%03d", i);
      e = entry_new (name, AE_IFREG, 0644);
      archive_entry_set_size (e, 4096);
      put (l, e, zeros, 4096);
    }
  apply_fails (l, E2BIG, "size limit");
  assert_true (exists ("f000"));
  assert_false (exists ("f599"));
}

static void
test_entry_limit (void **state)
{
  struct layer *l;
  struct hoist_buf b;
  cleanup_free char *deep = NULL;

  (void) state;
  set_limits (1000, 0, 0);
  l = layer_new (GZIP);
  for (int i = 0; i < 1001; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "d/f%04d", i);
      add_file (l, name, 0644, "");
    }
  apply_fails (l, E2BIG, "has more than 1000 entries (entry limit)");
  /* One entry under 1200 directories it does not list. */
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (int i = 0; i < 1200; i++)
    build_buf_addstr (&b, "d/");
  build_buf_addstr (&b, "f");
  deep = hoist_buf_detach (&b, NULL);
  l = layer_new (PLAIN);
  add_file (l, deep, 0644, "");
  apply_fails (l, E2BIG, "entry limit");
  /* Within the limit. */
  l = layer_new (GZIP);
  for (int i = 0; i < 998; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "e/f%04d", i);
      add_file (l, name, 0644, "");
    }
  apply_ok (l);
  assert_true (exists ("e/f0997"));
}

static void
test_name_limit (void **state)
{
  struct layer *l;
  char name[256];

  (void) state;
  set_limits (0, 0, 20000);
  l = layer_new (PLAIN);
  for (int i = 0; i < 200; i++)
    {
      snprintf (name, sizeof name, "%0200d", i);
      add_dir (l, name, 0755);
    }
  apply_fails (l, E2BIG, "bytes of names (name limit)");
}

/* ---- Without root -------------------------------------------------------------------- */

/* Store L and open its blob. */
static int
layer_open (struct layer *l)
{
  char digest[HOIST_DIGEST_STR_SIZE];
  int fd = -1;

  assert_int_equal (archive_write_close (l->a), ARCHIVE_OK);
  archive_write_free (l->a);
  hoist_sha256_final (&l->h, digest);
  hoist_sha256_release (&l->h);
  assert_int_equal (builder_store_blob_commit (F->store, l->ing, digest, BUILDER_BLOB_NO_SYNC, NULL, NULL), 0);
  free (l);
  assert_int_equal (builder_store_blob_open (F->store, digest, &fd, NULL, NULL), 0);
  return fd;
}

/* The writer as nobody: no owners, no devices, fifos made, read-only
 * directories still filled (modes set at the end), and removed.  (A
 * later layer cannot yet write into a read-only directory: rootless
 * extraction is for later.)  The
 * layers are applied in a child that drops its ids; it reaches the root
 * only through the rootfs's fd (the temp directory is root's, 0700). */
static void
test_not_root (void **state)
{
  struct layer *l;
  struct archive_entry *e;
  int fd1, fd2, status;
  pid_t pid;

  (void) state;
  if (geteuid () != 0)
    skip ();
  assert_int_equal (chown (build_rootfs_path (F->r), 65534, 65534), 0);
  l = layer_new (PLAIN);
  e = entry_new ("f", AE_IFREG, 0644);
  archive_entry_set_uid (e, 1000);
  put (l, e, NULL, 0);
  add_node (l, "null", AE_IFCHR, 0666, 1, 3);
  add_node (l, "fifo", AE_IFIFO, 0600, 0, 0);
  add_dir (l, "ro", 0555);
  add_file (l, "ro/child", 0444, "c");
  add_dir (l, "none", 0);
  add_file (l, "none/child", 0444, "c");
  fd1 = layer_open (l);
  l = layer_new (PLAIN);
  add_file (l, ".wh.none", 0644, "");
  fd2 = layer_open (l);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      if (setgroups (0, NULL) < 0 || setresgid (65534, 65534, 65534) < 0 || setresuid (65534, 65534, 65534) < 0)
        _exit (10);
      if (build_rootfs_apply_fd (F->r, fd1, "one", NULL) < 0)
        _exit (11);
      if (build_rootfs_apply_fd (F->r, fd2, "two", NULL) < 0)
        _exit (12);
      _exit (0);
    }
  close (fd1);
  close (fd2);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_int_equal (lst ("f").st_uid, 65534);
  assert_false (exists ("null"));
  assert_int_equal (lst ("fifo").st_mode, S_IFIFO | 0600);
  assert_int_equal (lst ("ro").st_mode, S_IFDIR | 0555);
  assert_content ("ro/child", "c");
  assert_false (exists ("none"));
  check_outside ();
}

static void
test_not_a_root (void **state)
{
  struct hoist_error *err = NULL;
  cleanup_close int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  struct build_layer_limits lim = BUILD_LAYER_LIMITS_DEFAULT;

  (void) state;
  assert_true (build_layer_write (fd, fd, "sha256:x", &lim, &err) < 0);
  assert_non_null (strstr (err->msg, "cannot open the root"));
  hoist_error_free (err);
}

/* A kernel without openat2 (before 5.6), as a seccomp filter makes it
 * look: the writer stops at once, saying so. */
static void
test_no_openat2 (void **state)
{
  struct sock_filter insns[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof insns / sizeof insns[0], .filter = insns };
  int status;
  pid_t pid;

  (void) state;
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct build_layer_limits lim = BUILD_LAYER_LIMITS_DEFAULT;
      struct hoist_error *err = NULL;

      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        _exit (10);
      if (build_layer_write (F->rootfd, -1, "sha256:old", &lim, &err) == 0 || err->status != ENOSYS)
        _exit (11);
      if (strstr (err->msg, "cannot write layer 'sha256:old': the kernel has no usable openat2 (hint: Linux 5.6 or "
                            "later is needed)")
          == NULL)
        _exit (12);
      _exit (0);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_normal_layer, setup, teardown),
    cmocka_unit_test_setup_teardown (test_compressions, setup, teardown),
    cmocka_unit_test_setup_teardown (test_sparse_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_sparse_past_size, setup, teardown),
    cmocka_unit_test_setup_teardown (test_whiteout, setup, teardown),
    cmocka_unit_test_setup_teardown (test_opaque_marker_first, setup, teardown),
    cmocka_unit_test_setup_teardown (test_opaque_marker_last, setup, teardown),
    cmocka_unit_test_setup_teardown (test_opaque_root, setup, teardown),
    cmocka_unit_test_setup_teardown (test_whiteout_same_layer, setup, teardown),
    cmocka_unit_test_setup_teardown (test_many_markers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replace_across_layers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_existing_dir_metadata, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dotdot, setup, teardown),
    cmocka_unit_test_setup_teardown (test_absolute, setup, teardown),
    cmocka_unit_test_setup_teardown (test_symlink_to_root, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replace_root, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hardlink_escapes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hardlink_inside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hardlink_to_directory, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dir_replaced_by_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_whiteout_through_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reserved_whiteouts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_long_names, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_owner, setup, teardown),
    cmocka_unit_test_setup_teardown (test_garbage, setup, teardown),
    cmocka_unit_test_setup_teardown (test_gzip_bomb, setup, teardown),
    cmocka_unit_test_setup_teardown (test_entry_limit, setup, teardown),
    cmocka_unit_test_setup_teardown (test_name_limit, setup, teardown),
    cmocka_unit_test_setup_teardown (test_not_root, setup, teardown),
    cmocka_unit_test (test_not_a_root),
    cmocka_unit_test_setup_teardown (test_no_openat2, setup, teardown),
  };

  hoist_log_set_level (HOIST_LOG_WARN);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
