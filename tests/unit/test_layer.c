/* test_layer.c — the layer writer: what real tar, gzip and zstd make of
 * its blobs, what libarchive reads back, digests, reproducibility (thread
 * counts, processes, locales), mtime clamping, refused entries, files that
 * change size, and memory on a large layer. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/builder.h"

static char tmp_root[] = "/tmp/hoist-test-layer-XXXXXX";
static char *const tool_env[] = { "PATH=/usr/bin:/bin", "TZ=UTC", "LC_ALL=C.UTF-8", NULL };

/* A v2 file capability: cap_net_raw, effective. */
static const unsigned char cap_value[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20 };

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static char *
tmp_path (const char *name)
{
  return hoist_xasprintf ("%s/%s", tmp_root, name);
}

/* Run ARGV (in CWD when not NULL); stdout goes to OUT_FD when >= 0, else
 * into OUT when not NULL.  Returns the exit code. */
static int
run (char *const *argv, const char *cwd, int out_fd, struct hoist_buf *out)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_buf struct hoist_buf errbuf;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .envp = tool_env,
    .cwd = cwd,
    .stdin_fd = -1,
    .stdout_mode = out_fd >= 0   ? HOIST_SPAWN_FD
                   : out != NULL ? HOIST_SPAWN_CAPTURE
                                 : HOIST_SPAWN_NULL,
    .stdout_fd = out_fd,
    .stdout_buf = out,
    .stderr_mode = HOIST_SPAWN_CAPTURE,
    .stderr_buf = &errbuf,
    .timeout_ms = 60000,
  };
  struct hoist_spawn_result res;

  hoist_buf_init (&errbuf, 1 << 20);
  if (hoist_spawn (&o, &res, &err) < 0)
    fail_msg ("cannot run %s: %s", argv[0], err->msg);
  if (res.signaled || res.exit_code != 0)
    print_message ("%s: %s", argv[0], errbuf.data);
  return res.signaled ? 128 + res.term_signal : res.exit_code;
}

static void
rm_rf (const char *path)
{
  char *const argv[] = { "rm", "-rf", (char *) path, NULL };

  assert_int_equal (run (argv, NULL, -1, NULL), 0);
}

/* sha256 of a file, read in pieces. */
static void
file_digest (const char *path, char out[HOIST_DIGEST_STR_SIZE])
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct hoist_sha256 h;
  char buf[65536];
  ssize_t n;

  assert_true (fd >= 0);
  assert_int_equal (hoist_sha256_init (&h, NULL), 0);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    hoist_sha256_update (&h, buf, (size_t) n);
  assert_int_equal (n, 0);
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
}

static void
read_whole (const char *path, struct hoist_buf *b)
{
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_read_file (b, path, &err), 0);
}

/* Deterministic filler: text-like (compressible) or noise. */
static uint64_t
next_rand (uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void
fill (unsigned char *p, size_t n, bool text, uint64_t *seed)
{
  static const char *const words[] = { "layer ", "image ", "build ", "hoist ", "tar ", "the ", "of ", "\n" };

  for (size_t i = 0; i < n;)
    {
      if (text)
        {
          const char *w = words[next_rand (seed) % 8];

          for (; *w != '\0' && i < n; w++)
            p[i++] = (unsigned char) *w;
        }
      else
        {
          uint64_t r = next_rand (seed);

          for (int k = 0; k < 8 && i < n; k++)
            p[i++] = (unsigned char) (r >> (8 * k));
        }
    }
}

/* Create NAME under tmp_root with SIZE bytes, text and noise alternating
 * every 300 KiB (or noise alone); returns a read-write fd on it. */
static int
make_file (const char *name, size_t size, uint64_t seed, bool noise)
{
  cleanup_free char *path = tmp_path (name);
  cleanup_free unsigned char *buf = hoist_xmalloc (300 * 1024);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool text = true;

  assert_true (fd >= 0);
  for (size_t done = 0; done < size; text = !text)
    {
      size_t n = size - done < 300 * 1024 ? size - done : 300 * 1024;

      fill (buf, n, text && !noise, &seed);
      assert_int_equal (write (fd, buf, n), (ssize_t) n);
      done += n;
    }
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static int
make_text_file (const char *name, const char *text)
{
  cleanup_free char *path = tmp_path (name);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static struct builder_layer_entry
entry (const char *path, mode_t mode, time_t mtime)
{
  struct builder_layer_entry e = { .path = path, .mode = mode, .mtime = { mtime, 123456789 }, .fd = -1 };

  return e;
}

/* Write ENTRIES as a layer into the file NAME; rewinds the entries' fds. */
static void
write_layer (const char *name, const struct builder_layer_opts *opts, const struct builder_layer_entry *entries,
             size_t n, struct builder_layer_result *res)
{
  cleanup_free char *path = tmp_path (name);
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_layer_writer *w = NULL;

  assert_true (fd >= 0);
  assert_int_equal (builder_layer_writer_new (fd, opts, &w, &err), 0);
  for (size_t i = 0; i < n; i++)
    {
      if (entries[i].fd >= 0)
        assert_int_equal (lseek (entries[i].fd, 0, SEEK_SET), 0);
      if (builder_layer_add (w, &entries[i], &err) < 0)
        fail_msg ("add '%s': %s", entries[i].path, err->msg);
    }
  if (builder_layer_finish (w, res, &err) < 0)
    fail_msg ("finish: %s", err->msg);
  builder_layer_writer_free (w);
}

static void
assert_files_equal (const char *a, const char *b)
{
  cleanup_free char *pa = tmp_path (a);
  cleanup_free char *pb = tmp_path (b);
  cleanup_buf struct hoist_buf x;
  cleanup_buf struct hoist_buf y;

  read_whole (pa, &x);
  read_whole (pb, &y);
  assert_int_equal (x.len, y.len);
  assert_memory_equal (x.data, y.data, x.len);
}

/* Decompress NAME with PROG -dc into NAME.tar; check it against RES. */
static void
check_blob (const char *name, const char *prog, const struct builder_layer_result *res)
{
  cleanup_free char *blob = tmp_path (name);
  cleanup_free char *tar = hoist_xasprintf ("%s.tar", blob);
  cleanup_close int fd = open (tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char *const test_argv[] = { (char *) prog, "-t", blob, NULL };
  char *const cat_argv[] = { (char *) prog, "-dc", blob, NULL };
  char d[HOIST_DIGEST_STR_SIZE];
  struct stat st;

  file_digest (blob, d);
  assert_string_equal (d, res->digest);
  assert_int_equal (stat (blob, &st), 0);
  assert_int_equal (st.st_size, res->size);
  assert_int_equal (run (test_argv, NULL, -1, NULL), 0);
  assert_int_equal (run (cat_argv, NULL, fd, NULL), 0);
  file_digest (tar, d);
  assert_string_equal (d, res->diff_id);
}

static long
max_rss_kb (void)
{
  struct rusage ru;

  assert_int_equal (getrusage (RUSAGE_SELF, &ru), 0);
  return ru.ru_maxrss;
}

/* ---------------------------------------------------------------------
 * A layer of every kind of entry, read back three ways
 * ------------------------------------------------------------------- */

#define UTF8_NAME "caf\xc3\xa9.txt"
#define LONG_DIR "long"
#define LONG_NAME                                                                                                      \
  "long/a-name-well-past-the-hundred-bytes-that-the-old-ustar-name-field-holds-so-that-pax-needs-a-path-record.txt"

static int n_sample_fds;
static int sample_fds[3];

/* Fills E (12 slots) with the sample layer, sorted. */
static size_t
sample_entries (struct builder_layer_entry *e)
{
  static const struct builder_xattr xattrs[] = {
    { "user.comment", "dropped unless asked", 20 },
    { "security.capability", cap_value, sizeof cap_value },
  };
  size_t n = 0;

  sample_fds[0] = make_text_file ("in-data", "hello layer\n");
  sample_fds[1] = make_text_file ("in-tool", "#!/bin/sh\necho tool\n");
  sample_fds[2] = make_text_file ("in-caps", "caps\n");
  n_sample_fds = 3;
  e[n++] = entry ("app", S_IFDIR | 0755, 1700000000);
  e[n] = entry ("app/.wh.gone", S_IFREG | 0644, 1700000000);
  e[n++].size = 0;
  e[n++] = entry ("app/bin", S_IFDIR | 0750, 1700000000);
  e[n] = entry ("app/bin/tool", S_IFREG | 04755, 1700000001);
  e[n].fd = sample_fds[1];
  e[n++].size = 20;
  e[n] = entry ("app/data.txt", S_IFREG | 0640, 1700000002);
  e[n].uid = 1000;
  e[n].gid = 2000;
  e[n].fd = sample_fds[0];
  e[n++].size = 12;
  e[n] = entry ("app/hard", S_IFREG | 0640, 1700000002);
  e[n].uid = 1000;
  e[n].gid = 2000;
  e[n++].hardlink_target = "app/data.txt";
  e[n] = entry ("app/link", S_IFLNK | 0777, 1700000003);
  e[n++].link_target = "data.txt";
  e[n] = entry (UTF8_NAME, S_IFREG | 0600, 1700000004);
  e[n++].size = 0;
  e[n] = entry ("caps", S_IFREG | 0755, 1700000005);
  e[n].fd = sample_fds[2];
  e[n].size = 5;
  e[n].xattrs = xattrs;
  e[n++].n_xattrs = 2;
  e[n++] = entry ("fifo", S_IFIFO | 0600, 1700000006);
  e[n++] = entry (LONG_DIR, S_IFDIR | 0755, 1700000007);
  e[n++] = entry (LONG_NAME, S_IFREG | 0644, 1700000008);
  return n;
}

static void
close_sample_fds (void)
{
  for (int i = 0; i < n_sample_fds; i++)
    close (sample_fds[i]);
  n_sample_fds = 0;
}

static void
write_sample (const char *name, enum builder_compression c, unsigned threads, struct builder_layer_result *res)
{
  struct builder_layer_entry e[12];
  struct builder_layer_opts opts;
  size_t n = sample_entries (e);

  builder_layer_opts_init (&opts);
  opts.compression = c;
  opts.threads = threads;
  write_layer (name, &opts, e, n, res);
  close_sample_fds ();
}

/* TEXT with every run of spaces made one space. */
static void
squeeze (const char *text, struct hoist_buf *out)
{
  hoist_buf_init (out, HOIST_BUF_NO_LIMIT);
  for (const char *p = text; *p != '\0'; p++)
    if (*p != ' ' || (p[1] != ' ' && p[1] != '\0'))
      assert_int_equal (hoist_buf_addch (out, *p, NULL), 0);
}

static void
test_sample_tar_list (void **state)
{
  cleanup_free char *blob = tmp_path ("sample.tar.gz");
  char *const argv[] = { "tar", "-tvf", blob, NULL };
  cleanup_buf struct hoist_buf out;
  cleanup_buf struct hoist_buf words;
  struct builder_layer_result res;

  write_sample ("sample.tar.gz", BUILDER_COMPRESSION_GZIP, 2, &res);
  check_blob ("sample.tar.gz", "gzip", &res);
  hoist_buf_init (&out, 1 << 20);
  assert_int_equal (run (argv, NULL, -1, &out), 0);
  /* tar pads columns to a running width: compare words. */
  squeeze (out.data, &words);
  assert_string_equal (words.data, "drwxr-xr-x 0/0 0 2023-11-14 22:13 app/\n"
                                   "-rw-r--r-- 0/0 0 2023-11-14 22:13 app/.wh.gone\n"
                                   "drwxr-x--- 0/0 0 2023-11-14 22:13 app/bin/\n"
                                   "-rwsr-xr-x 0/0 20 2023-11-14 22:13 app/bin/tool\n"
                                   "-rw-r----- 1000/2000 12 2023-11-14 22:13 app/data.txt\n"
                                   "hrw-r----- 1000/2000 0 2023-11-14 22:13 app/hard link to app/data.txt\n"
                                   "lrwxrwxrwx 0/0 0 2023-11-14 22:13 app/link -> data.txt\n"
                                   "-rw------- 0/0 0 2023-11-14 22:13 " UTF8_NAME "\n"
                                   "-rwxr-xr-x 0/0 5 2023-11-14 22:13 caps\n"
                                   "prw------- 0/0 0 2023-11-14 22:13 fifo\n"
                                   "drwxr-xr-x 0/0 0 2023-11-14 22:13 long/\n"
                                   "-rw-r--r-- 0/0 0 2023-11-14 22:13 " LONG_NAME "\n");
}

/* Root of the initial user namespace: tar can restore owners and file
 * capabilities exactly (in another namespace the kernel rewrites a v2
 * capability as v3). */
static bool
real_root (void)
{
  cleanup_buf struct hoist_buf map;
  unsigned long inside = 1, outside = 1, count = 0;

  hoist_buf_init (&map, 4096);
  if (geteuid () != 0 || hoist_buf_read_file (&map, "/proc/self/uid_map", NULL) < 0)
    return false;
  return sscanf (map.data, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0
         && count == 4294967295ul;
}

static void
assert_stat (const char *dir, const char *name, mode_t mode, uid_t uid, gid_t gid, struct stat *st)
{
  cleanup_free char *path = hoist_xasprintf ("%s/%s", dir, name);

  assert_int_equal (lstat (path, st), 0);
  assert_int_equal (st->st_mode, mode);
  if (real_root ())
    {
      assert_int_equal (st->st_uid, uid);
      assert_int_equal (st->st_gid, gid);
    }
}

static void
assert_content (const char *dir, const char *name, const char *text)
{
  cleanup_free char *path = hoist_xasprintf ("%s/%s", dir, name);
  cleanup_buf struct hoist_buf b;

  read_whole (path, &b);
  assert_string_equal (b.data, text);
}

static void
test_sample_tar_extract (void **state)
{
  cleanup_free char *blob = tmp_path ("sample-x.tar.gz");
  cleanup_free char *dir = tmp_path ("extract");
  char *const argv[] = { "tar", "--xattrs", "--xattrs-include=*", "-xpf", blob, "-C", dir, NULL };
  cleanup_free char *caps = hoist_xasprintf ("%s/caps", dir);
  cleanup_free char *link = hoist_xasprintf ("%s/app/link", dir);
  struct builder_layer_result res;
  struct stat st, st2;
  unsigned char value[64];
  char target[64];

  write_sample ("sample-x.tar.gz", BUILDER_COMPRESSION_GZIP, 1, &res);
  assert_int_equal (mkdir (dir, 0700), 0);
  assert_int_equal (run (argv, NULL, -1, NULL), 0);
  assert_stat (dir, "app", S_IFDIR | 0755, 0, 0, &st);
  assert_int_equal (st.st_mtime, 1700000000);
  assert_stat (dir, "app/.wh.gone", S_IFREG | 0644, 0, 0, &st);
  assert_int_equal (st.st_size, 0);
  assert_stat (dir, "app/bin", S_IFDIR | 0750, 0, 0, &st);
  assert_stat (dir, "app/bin/tool", S_IFREG | 04755, 0, 0, &st);
  assert_content (dir, "app/bin/tool", "#!/bin/sh\necho tool\n");
  assert_stat (dir, "app/data.txt", S_IFREG | 0640, 1000, 2000, &st);
  assert_content (dir, "app/data.txt", "hello layer\n");
  assert_int_equal (st.st_mtime, 1700000002);
  assert_stat (dir, "app/hard", S_IFREG | 0640, 1000, 2000, &st2);
  assert_int_equal (st2.st_ino, st.st_ino);
  assert_stat (dir, "app/link", S_IFLNK | 0777, 0, 0, &st);
  assert_int_equal (readlink (link, target, sizeof target), 8);
  assert_memory_equal (target, "data.txt", 8);
  assert_stat (dir, UTF8_NAME, S_IFREG | 0600, 0, 0, &st);
  assert_stat (dir, "fifo", S_IFIFO | 0600, 0, 0, &st);
  assert_stat (dir, LONG_NAME, S_IFREG | 0644, 0, 0, &st);
  assert_stat (dir, "caps", S_IFREG | 0755, 0, 0, &st);
  assert_content (dir, "caps", "caps\n");
  /* user.comment was dropped; the capability went through (restoring it
   * takes CAP_SETFCAP). */
  assert_int_equal (lgetxattr (caps, "user.comment", value, sizeof value), -1);
  assert_int_equal (errno, ENODATA);
  if (real_root ())
    {
      assert_int_equal (lgetxattr (caps, "security.capability", value, sizeof value), sizeof cap_value);
      assert_memory_equal (value, cap_value, sizeof cap_value);
    }
}

/* Read the blob back with libarchive, as the extractor will. */
static void
test_sample_libarchive (void **state)
{
  cleanup_free char *blob = tmp_path ("sample-la.tar.zst");
  static const char *const names[]
      = { "app/",     "app/.wh.gone", "app/bin/", "app/bin/tool", "app/data.txt", "app/hard",
          "app/link", UTF8_NAME,      "caps",     "fifo",         "long/",        LONG_NAME };
  struct builder_layer_result res;
  struct archive_entry *ae;
  struct archive *a;
  size_t i = 0;
  int r;

  write_sample ("sample-la.tar.zst", BUILDER_COMPRESSION_ZSTD, 2, &res);
  check_blob ("sample-la.tar.zst", "zstd", &res);
  a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_all (a);
  assert_int_equal (archive_read_open_filename (a, blob, 65536), ARCHIVE_OK);
  /* ARCHIVE_WARN: in the C locale, libarchive warns that it cannot
   * convert the UTF-8 name, and gives its bytes as they are. */
  while ((r = archive_read_next_header (a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      const char *name = archive_entry_pathname (ae);
      char data[64];
      la_ssize_t n = archive_read_data (a, data, sizeof data);

      assert_true (i < sizeof names / sizeof *names);
      assert_string_equal (name, names[i]);
      assert_true (archive_entry_uname (ae) == NULL || *archive_entry_uname (ae) == '\0');
      assert_true (archive_entry_gname (ae) == NULL || *archive_entry_gname (ae) == '\0');
      assert_false (archive_entry_atime_is_set (ae));
      assert_false (archive_entry_ctime_is_set (ae));
      assert_int_equal (archive_entry_mtime_nsec (ae), 0);
      if (strcmp (name, "app/bin/tool") == 0)
        {
          assert_int_equal (archive_entry_mode (ae), S_IFREG | 04755);
          assert_int_equal (n, 20);
          assert_memory_equal (data, "#!/bin/sh\necho tool\n", 20);
        }
      else if (strcmp (name, "app/hard") == 0)
        assert_string_equal (archive_entry_hardlink (ae), "app/data.txt");
      else if (strcmp (name, "app/link") == 0)
        assert_string_equal (archive_entry_symlink (ae), "data.txt");
      else if (strcmp (name, "app/data.txt") == 0)
        {
          assert_int_equal (archive_entry_uid (ae), 1000);
          assert_int_equal (archive_entry_gid (ae), 2000);
          assert_int_equal (n, 12);
        }
      else if (strcmp (name, "caps") == 0)
        {
          const char *xname;
          const void *xvalue;
          size_t xlen;

          assert_int_equal (archive_entry_xattr_reset (ae), 1);
          assert_int_equal (archive_entry_xattr_next (ae, &xname, &xvalue, &xlen), ARCHIVE_OK);
          assert_string_equal (xname, "security.capability");
          assert_int_equal (xlen, sizeof cap_value);
          assert_memory_equal (xvalue, cap_value, sizeof cap_value);
        }
      else
        assert_int_equal (archive_entry_xattr_count (ae), 0);
      i++;
    }
  assert_int_equal (i, sizeof names / sizeof *names);
  assert_int_equal (archive_read_free (a), ARCHIVE_OK);
}

static bool
contains (const struct hoist_buf *b, const char *s)
{
  return memmem (b->data, b->len, s, strlen (s)) != NULL;
}

/* The tar's own bytes: only what the layer needs, nothing of the host. */
static void
test_sample_raw_tar (void **state)
{
  cleanup_free char *blob = tmp_path ("sample-raw.tar");
  struct builder_layer_result res;
  cleanup_buf struct hoist_buf b;
  char d[HOIST_DIGEST_STR_SIZE];

  write_sample ("sample-raw.tar", BUILDER_COMPRESSION_NONE, 1, &res);
  assert_string_equal (res.digest, res.diff_id);
  file_digest (blob, d);
  assert_string_equal (d, res.diff_id);
  read_whole (blob, &b);
  assert_int_equal (b.len % 512, 0);
  assert_int_equal (res.size, (int64_t) b.len);
  /* Ends with the two zero blocks, unpadded. */
  for (size_t i = b.len - 1024; i < b.len; i++)
    assert_int_equal (b.data[i], 0);
  assert_true (b.data[b.len - 1025] != 0 || b.data[b.len - 1536] != 0);
  assert_true (contains (&b, "18 path=" UTF8_NAME "\n"));
  assert_true (contains (&b, "SCHILY.xattr.security.capability="));
  assert_true (contains (&b, "PaxHeader/a-name-well-past"));
  assert_false (contains (&b, "PaxHeader."));
  assert_false (contains (&b, "hdrcharset"));
  assert_false (contains (&b, "LIBARCHIVE."));
  assert_false (contains (&b, "atime="));
  assert_false (contains (&b, "ctime="));
  assert_false (contains (&b, "mtime="));
  assert_false (contains (&b, "user.comment"));
  assert_false (contains (&b, "root"));
}

/* A name that is not UTF-8 goes in as its bytes, flagged as binary. */
static void
test_non_utf8_name (void **state)
{
  struct builder_layer_entry e = entry ("b\xff"
                                        "d",
                                        S_IFREG | 0644, 0);
  cleanup_free char *blob = tmp_path ("latin1.tar");
  struct builder_layer_opts opts;
  struct builder_layer_result res;
  cleanup_buf struct hoist_buf b;

  builder_layer_opts_init (&opts);
  opts.compression = BUILDER_COMPRESSION_NONE;
  write_layer ("latin1.tar", &opts, &e, 1, &res);
  read_whole (blob, &b);
  assert_true (contains (&b, "21 hdrcharset=BINARY\n12 path=b\xff"
                             "d\n"));
}

/* ---------------------------------------------------------------------
 * Digests and reproducibility
 * ------------------------------------------------------------------- */

static void
test_gzip_header_and_members (void **state)
{
  static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
  cleanup_free char *blob = tmp_path ("members.tar.gz");
  struct builder_layer_entry e = entry ("big", S_IFREG | 0644, 0);
  struct builder_layer_opts opts;
  struct builder_layer_result res;
  cleanup_buf struct hoist_buf b;
  size_t members = 0;

  e.fd = make_file ("in-members", 3 * 1024 * 1024, 1, true);
  e.size = 3 * 1024 * 1024;
  builder_layer_opts_init (&opts);
  write_layer ("members.tar.gz", &opts, &e, 1, &res);
  close (e.fd);
  check_blob ("members.tar.gz", "gzip", &res);
  read_whole (blob, &b);
  assert_memory_equal (b.data, header, sizeof header);
  /* Noise is stored, not deflated: 17 stored blocks (5 bytes of header
   * each) per 1 MiB chunk, in a member of its own; the last chunk, 512
   * bytes of noise and the 1024 zero bytes that end the tar, shrinks. */
  assert_true (res.size > 3 * (10 + 1048576 + 17 * 5 + 8) + 512);
  assert_true (res.size < 3 * (10 + 1048576 + 17 * 5 + 8) + 1536);
  /* 3 MiB + 1.5 KiB of tar: four chunks. */
  for (const char *p = b.data; (p = memmem (p, b.len - (p - b.data), header, sizeof header)) != NULL; p++)
    members++;
  assert_int_equal (members, 4);
}

static void
test_digests_zstd_and_none (void **state)
{
  struct builder_layer_result gz, zs, none;

  write_sample ("d.tar.gz", BUILDER_COMPRESSION_GZIP, 0, &gz);
  write_sample ("d.tar.zst", BUILDER_COMPRESSION_ZSTD, 0, &zs);
  write_sample ("d.tar", BUILDER_COMPRESSION_NONE, 0, &none);
  check_blob ("d.tar.zst", "zstd", &zs);
  /* One tar, three blobs. */
  assert_string_equal (gz.diff_id, none.diff_id);
  assert_string_equal (zs.diff_id, none.diff_id);
  assert_string_equal (none.digest, none.diff_id);
  assert_string_not_equal (gz.digest, gz.diff_id);
  assert_string_not_equal (zs.digest, gz.digest);
}

/* No entries: the two zero blocks alone, Docker's well-known empty layer. */
static void
test_empty_layer (void **state)
{
  struct builder_layer_opts opts;
  struct builder_layer_result res;

  builder_layer_opts_init (&opts);
  opts.compression = BUILDER_COMPRESSION_NONE;
  write_layer ("empty.tar", &opts, NULL, 0, &res);
  assert_string_equal (res.diff_id, "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  assert_string_equal (res.digest, res.diff_id);
  assert_int_equal (res.size, 1024);
  opts.compression = BUILDER_COMPRESSION_GZIP;
  write_layer ("empty.tar.gz", &opts, NULL, 0, &res);
  check_blob ("empty.tar.gz", "gzip", &res);
  assert_string_equal (res.diff_id, "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
}

/* Large enough for several gzip chunks and several zstd jobs. */
static void
write_mixed (const char *name, enum builder_compression c, unsigned threads, struct builder_layer_result *res)
{
  struct builder_layer_entry e[3] = {
    entry ("a", S_IFDIR | 0755, 10),
    entry ("a/mixed", S_IFREG | 0644, 10),
    entry ("a/tail", S_IFREG | 0644, 10),
  };
  struct builder_layer_opts opts;

  e[1].fd = make_file ("in-mixed", 20 * 1024 * 1024 + 17, 7, false);
  e[1].size = 20 * 1024 * 1024 + 17;
  e[2].fd = make_file ("in-tail", 100 * 1024, 9, false);
  e[2].size = 100 * 1024;
  builder_layer_opts_init (&opts);
  opts.compression = c;
  opts.threads = threads;
  write_layer (name, &opts, e, 3, res);
  close (e[1].fd);
  close (e[2].fd);
}

static void
test_threads_do_not_change_bytes (void **state)
{
  static const enum builder_compression cs[] = { BUILDER_COMPRESSION_GZIP, BUILDER_COMPRESSION_ZSTD };

  for (size_t i = 0; i < 2; i++)
    {
      struct builder_layer_result r1, r2, r3;

      write_mixed ("t1", cs[i], 1, &r1);
      write_mixed ("t2", cs[i], 2, &r2);
      write_mixed ("t3", cs[i], 3, &r3);
      check_blob ("t1", cs[i] == BUILDER_COMPRESSION_GZIP ? "gzip" : "zstd", &r1);
      assert_files_equal ("t1", "t2");
      assert_files_equal ("t1", "t3");
      assert_string_equal (r1.digest, r2.digest);
      assert_string_equal (r1.digest, r3.digest);
      assert_int_equal (r1.size, r3.size);
    }
}

/* Another process (another pid, a later time) in a UTF-8 locale makes
 * the same bytes as this one in the C locale: this program run again with
 * --write-sample (see main). */
static void
test_processes_and_locales_agree (void **state)
{
  char *const argv[] = { "/proc/self/exe", "--write-sample", tmp_root, "p-child.tar.gz", NULL };
  char *const env[] = { "LC_ALL=C.UTF-8", NULL };
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .envp = env,
    .stdin_fd = -1,
    .stdout_mode = HOIST_SPAWN_INHERIT,
    .stderr_mode = HOIST_SPAWN_INHERIT,
  };
  struct hoist_spawn_result sr;
  struct builder_layer_result res;

  write_sample ("p-parent.tar.gz", BUILDER_COMPRESSION_GZIP, 1, &res);
  sleep (1);
  assert_int_equal (hoist_spawn (&o, &sr, &err), 0);
  assert_false (sr.signaled);
  assert_int_equal (sr.exit_code, 0);
  assert_files_equal ("p-parent.tar.gz", "p-child.tar.gz");
}

/* ---------------------------------------------------------------------
 * Entries: clamping, order, refusals, files that change
 * ------------------------------------------------------------------- */

/* The mtimes libarchive reads back from the blob NAME. */
static void
read_mtimes (const char *name, int64_t *out, size_t n)
{
  cleanup_free char *blob = tmp_path (name);
  struct archive *a = archive_read_new ();
  struct archive_entry *ae;
  size_t i = 0;

  archive_read_support_filter_all (a);
  archive_read_support_format_all (a);
  assert_int_equal (archive_read_open_filename (a, blob, 65536), ARCHIVE_OK);
  while (archive_read_next_header (a, &ae) == ARCHIVE_OK)
    {
      assert_true (i < n);
      assert_int_equal (archive_entry_mtime_nsec (ae), 0);
      out[i++] = archive_entry_mtime (ae);
    }
  assert_int_equal (i, n);
  archive_read_free (a);
}

static void
test_mtime_clamp (void **state)
{
  struct builder_layer_entry e[4] = {
    entry ("a", S_IFREG | 0644, 500),
    entry ("b", S_IFREG | 0644, 1000),
    entry ("c", S_IFREG | 0644, 5000),
    entry ("d", S_IFREG | 0644, -20),
  };
  struct builder_layer_opts opts;
  struct builder_layer_result res;
  int64_t m[4];

  builder_layer_opts_init (&opts);
  assert_int_equal (opts.source_date_epoch, -1);
  write_layer ("m-none.tar.gz", &opts, e, 4, &res);
  read_mtimes ("m-none.tar.gz", m, 4);
  assert_int_equal (m[0], 500);
  assert_int_equal (m[1], 1000);
  assert_int_equal (m[2], 5000);
  assert_int_equal (m[3], -20);
  opts.source_date_epoch = 1000;
  write_layer ("m-1000.tar.gz", &opts, e, 4, &res);
  read_mtimes ("m-1000.tar.gz", m, 4);
  assert_int_equal (m[0], 500);
  assert_int_equal (m[1], 1000);
  assert_int_equal (m[2], 1000);
  assert_int_equal (m[3], -20);
  opts.source_date_epoch = 0;
  write_layer ("m-0.tar.gz", &opts, e, 4, &res);
  read_mtimes ("m-0.tar.gz", m, 4);
  assert_int_equal (m[0], 0);
  assert_int_equal (m[2], 0);
  assert_int_equal (m[3], -20);
}

static void
test_path_cmp (void **state)
{
  assert_int_equal (builder_layer_path_cmp ("a", "a"), 0);
  assert_true (builder_layer_path_cmp ("a", "a/b") < 0);
  assert_true (builder_layer_path_cmp ("a/b", "a-c") < 0);
  assert_true (builder_layer_path_cmp ("a-c", "a/b") > 0);
  assert_true (builder_layer_path_cmp ("a/b/c", "a/bc") < 0);
  assert_true (builder_layer_path_cmp ("a.txt", "a/z") > 0);
  assert_true (builder_layer_path_cmp ("B", "a") < 0);
  assert_true (builder_layer_path_cmp ("a\xff", "a/") > 0);
  assert_true (builder_layer_path_cmp ("", "a") < 0);
}

static struct builder_layer_writer *
open_writer (const char *name, int *fd)
{
  cleanup_free char *path = tmp_path (name);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_layer_opts opts;
  struct builder_layer_writer *w = NULL;

  *fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (*fd >= 0);
  builder_layer_opts_init (&opts);
  opts.threads = 1;
  assert_int_equal (builder_layer_writer_new (*fd, &opts, &w, &err), 0);
  return w;
}

/* Add E; expect failure with exactly MSG (NULL: expect success). */
static void
add_expect (struct builder_layer_writer *w, struct builder_layer_entry e, const char *msg)
{
  cleanup_error struct hoist_error *err = NULL;
  int r = builder_layer_add (w, &e, &err);

  if (msg == NULL)
    {
      if (r < 0)
        fail_msg ("add '%s': %s", e.path, err->msg);
      return;
    }
  assert_true (r < 0);
  assert_non_null (err);
  assert_string_equal (err->msg, msg);
}

static void
test_order_refused (void **state)
{
  cleanup_close int fd = -1;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_layer_writer *w = open_writer ("order.tar.gz", &fd);
  struct builder_layer_result res;

  add_expect (w, entry ("a", S_IFDIR | 0755, 0), NULL);
  add_expect (w, entry ("a/b", S_IFREG | 0644, 0), NULL);
  add_expect (w, entry ("a-c", S_IFREG | 0644, 0), NULL);
  add_expect (w, entry ("a/z", S_IFREG | 0644, 0),
              "layer entry 'a/z' out of order: it sorts before 'a-c' (hint: sort with builder_layer_path_cmp)");
  add_expect (w, entry ("a-c", S_IFREG | 0644, 0), "duplicate layer entry 'a-c'");
  /* A refused entry wrote nothing: the writer goes on. */
  add_expect (w, entry ("b", S_IFREG | 0644, 0), NULL);
  assert_int_equal (builder_layer_finish (w, &res, &err), 0);
  add_expect (w, entry ("c", S_IFREG | 0644, 0), "the layer is already finished");
  builder_layer_writer_free (w);
  check_blob ("order.tar.gz", "gzip", &res);
}

static void
test_invalid_entries (void **state)
{
  static const char *const bad_paths[] = { "", "/abs", "./x", "a//b", "a/", "..", "a/../b", "a/." };
  cleanup_close int fd = -1;
  struct builder_layer_writer *w = open_writer ("invalid.tar.gz", &fd);
  struct builder_layer_entry e;

  for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++)
    {
      cleanup_free char *msg
          = hoist_xasprintf ("invalid layer path '%s' (hint: relative, without '.', '..' or '//')", bad_paths[i]);

      add_expect (w, entry (bad_paths[i], S_IFREG | 0644, 0), msg);
    }
  add_expect (w, entry ("sock", S_IFSOCK | 0755, 0), "cannot put socket 'sock' in a layer");
  add_expect (w, entry ("link", S_IFLNK | 0777, 0),
              "layer entry 'link': a symlink needs a target, and only a symlink has one");
  e = entry ("file", S_IFREG | 0644, 0);
  e.link_target = "x";
  add_expect (w, e, "layer entry 'file': a symlink needs a target, and only a symlink has one");
  e = entry ("hard", S_IFREG | 0644, 0);
  e.hardlink_target = "zz";
  add_expect (w, e, "layer entry 'hard': hard link to 'zz', which does not come before it");
  e.hardlink_target = "/etc/passwd";
  add_expect (w, e, "layer entry 'hard': invalid hard link to '/etc/passwd'");
  e = entry ("neg", S_IFREG | 0644, 0);
  e.size = -1;
  add_expect (w, e, "layer entry 'neg': invalid size or descriptor");
  e.size = 3;
  add_expect (w, e, "layer entry 'neg': invalid size or descriptor");
  builder_layer_writer_free (w);
}

static void
test_file_changed_size (void **state)
{
  cleanup_close int fd = -1;
  cleanup_close int in = make_text_file ("in-ten", "0123456789");
  struct builder_layer_writer *w = open_writer ("grow.tar.gz", &fd);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_layer_entry e = entry ("f", S_IFREG | 0644, 0);
  struct builder_layer_result res;

  e.fd = in;
  e.size = 5;
  add_expect (w, e, "'f' changed size while being read: more than 5 bytes");
  add_expect (w, entry ("g", S_IFREG | 0644, 0), "the layer is broken by an earlier error");
  assert_true (builder_layer_finish (w, &res, &err) < 0);
  assert_string_equal (err->msg, "the layer is broken by an earlier error");
  builder_layer_writer_free (w);
  close (fd);

  w = open_writer ("shrink.tar.gz", &fd);
  assert_int_equal (lseek (in, 0, SEEK_SET), 0);
  e.size = 20;
  add_expect (w, e, "'f' changed size while being read: 20 bytes expected, 10 read");
  builder_layer_writer_free (w);
}

static void
test_write_error (void **state)
{
  cleanup_close int full = open ("/dev/full", O_WRONLY | O_CLOEXEC);
  cleanup_close int in = make_file ("in-full", 3 * 1024 * 1024, 3, false);
  cleanup_error struct hoist_error *err = NULL;
  static const enum builder_compression cs[]
      = { BUILDER_COMPRESSION_GZIP, BUILDER_COMPRESSION_ZSTD, BUILDER_COMPRESSION_NONE };

  assert_true (full >= 0);
  for (size_t i = 0; i < 3; i++)
    {
      struct builder_layer_entry e = entry ("f", S_IFREG | 0644, 0);
      struct builder_layer_writer *w = NULL;
      struct builder_layer_opts opts;
      struct builder_layer_result res;
      int r;

      builder_layer_opts_init (&opts);
      opts.compression = cs[i];
      assert_int_equal (builder_layer_writer_new (full, &opts, &w, &err), 0);
      assert_int_equal (lseek (in, 0, SEEK_SET), 0);
      e.fd = in;
      e.size = 3 * 1024 * 1024;
      /* The error shows where the write happens: here or at the end. */
      r = builder_layer_add (w, &e, &err);
      if (r == 0)
        r = builder_layer_finish (w, &res, &err);
      assert_true (r < 0);
      assert_non_null (strstr (err->msg, "cannot write the layer blob: No space left on device"));
      builder_layer_writer_free (w);
    }
}

static void
test_compression_names (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  enum builder_compression c = BUILDER_COMPRESSION_NONE;
  struct builder_layer_opts opts;
  struct builder_layer_writer *w = NULL;

  assert_int_equal (builder_compression_parse ("gzip", &c, &err), 0);
  assert_int_equal (c, BUILDER_COMPRESSION_GZIP);
  assert_int_equal (builder_compression_parse ("zstd", &c, &err), 0);
  assert_int_equal (c, BUILDER_COMPRESSION_ZSTD);
  assert_int_equal (builder_compression_parse ("uncompressed", &c, &err), 0);
  assert_int_equal (c, BUILDER_COMPRESSION_NONE);
  assert_true (builder_compression_parse ("lz4", &c, &err) < 0);
  assert_string_equal (err->msg, "unknown compression 'lz4' (hint: gzip, zstd or uncompressed)");
  assert_int_equal (c, BUILDER_COMPRESSION_NONE);
  assert_string_equal (builder_compression_media_type (BUILDER_COMPRESSION_GZIP),
                       "application/vnd.oci.image.layer.v1.tar+gzip");
  assert_string_equal (builder_compression_media_type (BUILDER_COMPRESSION_ZSTD),
                       "application/vnd.oci.image.layer.v1.tar+zstd");
  assert_string_equal (builder_compression_media_type (BUILDER_COMPRESSION_NONE),
                       "application/vnd.oci.image.layer.v1.tar");
  builder_layer_opts_init (&opts);
  opts.level = 10;
  assert_true (builder_layer_writer_new (1, &opts, &w, &err) < 0);
  assert_string_equal (err->msg, "invalid gzip level 10 (hint: 1 to 9)");
  opts.compression = BUILDER_COMPRESSION_ZSTD;
  opts.level = 20;
  assert_true (builder_layer_writer_new (1, &opts, &w, &err) < 0);
  assert_string_equal (err->msg, "invalid zstd level 20 (hint: 1 to 19)");
  assert_null (w);
}

static void
test_all_xattrs (void **state)
{
  static const struct builder_xattr xattrs[] = {
    { "user.b", "2", 1 },
    { "security.capability", cap_value, sizeof cap_value },
    { "user.a", "", 0 },
  };
  struct builder_layer_entry e = entry ("x", S_IFDIR | 0755, 0);
  cleanup_free char *blob = tmp_path ("xattrs.tar");
  struct builder_layer_opts opts;
  struct builder_layer_result res;
  cleanup_buf struct hoist_buf b;
  const char *a, *bb, *c;

  e.xattrs = xattrs;
  e.n_xattrs = 3;
  builder_layer_opts_init (&opts);
  opts.compression = BUILDER_COMPRESSION_NONE;
  opts.all_xattrs = true;
  write_layer ("xattrs.tar", &opts, &e, 1, &res);
  read_whole (blob, &b);
  /* Sorted by name, whatever order they came in. */
  c = memmem (b.data, b.len, "SCHILY.xattr.security.capability=", 33);
  a = memmem (b.data, b.len, "SCHILY.xattr.user.a=\n", 21);
  bb = memmem (b.data, b.len, "SCHILY.xattr.user.b=2\n", 22);
  assert_non_null (a);
  assert_non_null (bb);
  assert_non_null (c);
  assert_true (c < a && a < bb);
}

/* ---------------------------------------------------------------------
 * Memory: a 50 MB layer must not make the process 50 MB bigger
 * ------------------------------------------------------------------- */

static void
test_big_layer_bounded_memory (void **state)
{
  static const enum builder_compression cs[] = { BUILDER_COMPRESSION_GZIP, BUILDER_COMPRESSION_ZSTD };
  const size_t size = 50 * 1024 * 1024;
  cleanup_close int in = make_file ("in-big", size, 5, false);

  for (size_t i = 0; i < 2; i++)
    {
      struct builder_layer_entry e = entry ("big", S_IFREG | 0644, 0);
      struct builder_layer_opts opts;
      struct builder_layer_result res;
      long before = max_rss_kb ();
      long grown;

      e.fd = in;
      e.size = (int64_t) size;
      builder_layer_opts_init (&opts);
      opts.compression = cs[i];
      opts.threads = 2;
      write_layer ("big.blob", &opts, &e, 1, &res);
      grown = max_rss_kb () - before;
      print_message ("%s: peak RSS grew by %ld KiB\n", i == 0 ? "gzip" : "zstd", grown);
      /* gzip: 4 chunks of 1 MiB in and out, plus the coders; zstd: its
       * jobs.  Far below the 50 MB the layer holds. */
      assert_true (grown < 40 * 1024);
      check_blob ("big.blob", i == 0 ? "gzip" : "zstd", &res);
    }
}

/* ---------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------- */

static int
setup (void **state)
{
  return mkdtemp (tmp_root) != NULL ? 0 : -1;
}

static int
teardown (void **state)
{
  rm_rf (tmp_root);
  return 0;
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    /* First: the peak RSS of a fresh process says the most. */
    cmocka_unit_test (test_big_layer_bounded_memory),
    cmocka_unit_test (test_sample_tar_list),
    cmocka_unit_test (test_sample_tar_extract),
    cmocka_unit_test (test_sample_libarchive),
    cmocka_unit_test (test_sample_raw_tar),
    cmocka_unit_test (test_non_utf8_name),
    cmocka_unit_test (test_gzip_header_and_members),
    cmocka_unit_test (test_digests_zstd_and_none),
    cmocka_unit_test (test_empty_layer),
    cmocka_unit_test (test_threads_do_not_change_bytes),
    cmocka_unit_test (test_processes_and_locales_agree),
    cmocka_unit_test (test_mtime_clamp),
    cmocka_unit_test (test_path_cmp),
    cmocka_unit_test (test_order_refused),
    cmocka_unit_test (test_invalid_entries),
    cmocka_unit_test (test_file_changed_size),
    cmocka_unit_test (test_write_error),
    cmocka_unit_test (test_compression_names),
    cmocka_unit_test (test_all_xattrs),
  };

  /* The other process of test_processes_and_locales_agree. */
  if (argc == 4 && strcmp (argv[1], "--write-sample") == 0)
    {
      struct builder_layer_result res;

      setlocale (LC_ALL, "");
      if (strlen (argv[2]) != strlen (tmp_root))
        return 1;
      memcpy (tmp_root, argv[2], sizeof tmp_root);
      write_sample (argv[3], BUILDER_COMPRESSION_GZIP, 2, &res);
      return 0;
    }
  return cmocka_run_group_tests (tests, setup, teardown);
}
