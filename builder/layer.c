/* layer.c — the layer writer: sorted entries in, a PAX tar stream out
 * through libarchive into the compression sink (compress.c).
 *
 * libarchive's restricted pax format writes plain ustar headers and adds a
 * pax extended header only where ustar cannot hold a field (long or
 * non-ASCII names, large ids, xattrs).  Checked in libarchive 3.6's
 * writer: the extended header's own name is "dir/PaxHeader/base" (no pid:
 * the pid variant is compiled out), its uid, gid, mode and mtime are the
 * entry's, and atime and ctime are only written in the full pax format,
 * never in the restricted one.  So what is left to pin down here is:
 *  - the fields hoist sets: no uname/gname, no atime/ctime/birthtime, mtime
 *    in whole seconds (in the restricted format a sub-second mtime would
 *    appear only in entries that need an extended header for another
 *    reason), and xattrs sorted by name in SCHILY records alone (as Go's
 *    archive/tar writes them; libarchive's own LIBARCHIVE.xattr copy is
 *    off);
 *  - the locale: libarchive converts names from the current locale's
 *    charset to UTF-8, and when that fails (any non-ASCII byte in the C
 *    locale) writes the raw bytes with hdrcharset=BINARY instead.  The
 *    calls into libarchive run under C.UTF-8 (uselocale, this thread only)
 *    so that valid UTF-8 names become plain pax "path" records and the
 *    bytes never depend on the process's locale;
 *  - blocking: output is unblocked (no 10240-byte records), so the tar
 *    ends with the two zero blocks that end every tar, as Go's writer's do.
 */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/compress_private.h"
#include "builder/path_private.h"

/* File contents are read in pieces of this size. */
#define READ_SIZE (256u * 1024)

/* The one xattr kept by default: without it, files given capabilities by
 * setcap (ping, ...) lose them in the image. */
#define XATTR_CAPABILITY "security.capability"

struct builder_layer_writer
{
  struct builder_layer_opts opts;
  struct archive *a;
  struct builder_sink *sink;
  /* A sink failure seen inside libarchive's write callback: reported in
   * place of libarchive's copy of the message. */
  struct hoist_error *sink_err;
  locale_t utf8; /* (locale_t) 0 when C.UTF-8 is missing */
  char *prev;    /* the last path added, for the order check */
  unsigned char *buf;
  bool broken; /* a half-written entry: the tar stream is unusable */
  bool finished;
  bool dropping; /* being freed: the write callback refuses everything */
};

void
builder_layer_opts_init (struct builder_layer_opts *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->compression = BUILDER_COMPRESSION_GZIP;
  opts->source_date_epoch = -1;
}

int
builder_layer_path_cmp (const char *a, const char *b)
{
  const unsigned char *p = (const unsigned char *) a;
  const unsigned char *q = (const unsigned char *) b;

  while (*p != '\0' && *p == *q)
    p++, q++;
  if (*p == *q)
    return 0;
  /* Rank '/' just above the end of the string and below every other byte:
   * that is comparing one component at a time. */
  {
    unsigned rp = *p == '\0' ? 0 : *p == '/' ? 1 : (unsigned) *p + 1;
    unsigned rq = *q == '\0' ? 0 : *q == '/' ? 1 : (unsigned) *q + 1;

    return rp < rq ? -1 : 1;
  }
}

static bool
has_non_ascii (const char *s)
{
  for (; s != NULL && *s != '\0'; s++)
    if ((unsigned char) *s >= 0x80)
      return true;
  return false;
}

static la_ssize_t
layer_write_cb (struct archive *a, void *data, const void *buf, size_t n)
{
  struct builder_layer_writer *w = data;

  if (w->dropping)
    {
      archive_set_error (a, ECANCELED, "the layer is being dropped");
      return -1;
    }
  if (builder_sink_write (w->sink, buf, n, &w->sink_err) < 0)
    {
      archive_set_error (a, EIO, "%s", w->sink_err->msg);
      return -1;
    }
  return (la_ssize_t) n;
}

/* Report a failure inside libarchive and mark the stream broken. */
static int
archive_fail (struct builder_layer_writer *w, const char *path, struct hoist_error **err)
{
  w->broken = true;
  if (w->sink_err != NULL)
    hoist_error_set (err, 0, "%s", w->sink_err->msg);
  else
    hoist_error_set (err, 0, "%s", archive_error_string (w->a));
  if (path != NULL)
    return hoist_error_wrap (err, "cannot add '%s' to the layer", path);
  return hoist_error_wrap (err, "cannot end the layer");
}

int
builder_layer_writer_new (int out_fd, const struct builder_layer_opts *opts, struct builder_layer_writer **out,
                          struct hoist_error **err)
{
  struct builder_layer_writer *w = NULL;
  int level = opts->level;
  unsigned threads = opts->threads;

  if (builder_sink_resolve (opts->compression, &level, &threads, err) < 0)
    return -1;
  w = hoist_xcalloc (1, sizeof *w);
  w->opts = *opts;
  w->opts.level = level;
  w->opts.threads = threads;
  w->utf8 = newlocale (LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
  w->buf = hoist_xmalloc (READ_SIZE);
  if (builder_sink_new (out_fd, opts->compression, level, threads, &w->sink, err) < 0)
    goto fail;
  w->a = archive_write_new ();
  if (w->a == NULL)
    {
      hoist_error_set (err, ENOMEM, "cannot create a tar writer");
      goto fail;
    }
  if (archive_write_set_format_pax_restricted (w->a) != ARCHIVE_OK
      || archive_write_set_format_option (w->a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK
      || archive_write_set_bytes_per_block (w->a, 0) != ARCHIVE_OK
      || archive_write_open2 (w->a, w, NULL, layer_write_cb, NULL, NULL) != ARCHIVE_OK)
    {
      hoist_error_set (err, 0, "cannot set up the tar writer: %s", archive_error_string (w->a));
      goto fail;
    }
  *out = w;
  return 0;

fail:
  builder_layer_writer_free (w);
  return -1;
}

static int
check_order (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct hoist_error **err)
{
  int c;

  if (w->prev == NULL)
    return 0;
  c = builder_layer_path_cmp (e->path, w->prev);
  if (c == 0)
    return hoist_error_set (err, 0, "duplicate layer entry '%s'", e->path);
  if (c < 0)
    return hoist_error_set (err, 0,
                            "layer entry '%s' out of order: it sorts before '%s' (hint: sort with "
                            "builder_layer_path_cmp)",
                            e->path, w->prev);
  return 0;
}

static int
check_entry (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct hoist_error **err)
{
  mode_t type = e->mode & S_IFMT;

  if (e->path == NULL || !builder_path_clean (e->path))
    return hoist_error_set (err, 0, "invalid layer path '%s' (hint: relative, without '.', '..' or '//')",
                            e->path != NULL ? e->path : "");
  if (check_order (w, e, err) < 0)
    return -1;
  if (type == S_IFSOCK)
    return hoist_error_set (err, 0, "cannot put socket '%s' in a layer", e->path);
  if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFIFO && type != S_IFCHR && type != S_IFBLK)
    return hoist_error_set (err, 0, "layer entry '%s' has an unknown file type 0%o", e->path, (unsigned) type);
  if (e->hardlink_target == NULL && (type == S_IFLNK) != (e->link_target != NULL && e->link_target[0] != '\0'))
    return hoist_error_set (err, 0, "layer entry '%s': a symlink needs a target, and only a symlink has one", e->path);
  if (e->hardlink_target != NULL && e->link_target != NULL)
    return hoist_error_set (err, 0, "layer entry '%s': both a hard link and a symlink", e->path);
  if (e->hardlink_target != NULL)
    {
      if (type == S_IFDIR || !builder_path_clean (e->hardlink_target))
        return hoist_error_set (err, 0, "layer entry '%s': invalid hard link to '%s'", e->path, e->hardlink_target);
      /* Readers create the target first: it must be an earlier entry. */
      if (builder_layer_path_cmp (e->hardlink_target, e->path) >= 0)
        return hoist_error_set (err, 0, "layer entry '%s': hard link to '%s', which does not come before it", e->path,
                                e->hardlink_target);
    }
  if (type == S_IFREG && e->hardlink_target == NULL && (e->size < 0 || (e->size > 0 && e->fd < 0)))
    return hoist_error_set (err, 0, "layer entry '%s': invalid size or descriptor", e->path);
  if (w->utf8 == (locale_t) 0
      && (has_non_ascii (e->path) || has_non_ascii (e->link_target) || has_non_ascii (e->hardlink_target)))
    return hoist_error_set (err, 0, "cannot write the non-ASCII name '%s' reproducibly: the C.UTF-8 locale is missing",
                            e->path);
  return 0;
}

static int
xattr_cmp (const void *a, const void *b)
{
  const struct builder_xattr *const *x = a;
  const struct builder_xattr *const *y = b;

  return strcmp ((*x)->name, (*y)->name);
}

/* The xattrs to keep, sorted by name: listxattr's order is the file
 * system's, and must not reach the bytes. */
static int
add_xattrs (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct archive_entry *ae,
            struct hoist_error **err)
{
  cleanup_free const struct builder_xattr **keep = NULL;
  size_t n = 0;

  if (e->n_xattrs == 0)
    return 0;
  keep = hoist_xcalloc (e->n_xattrs, sizeof *keep);
  for (size_t i = 0; i < e->n_xattrs; i++)
    {
      const struct builder_xattr *x = &e->xattrs[i];

      if (x->name == NULL || x->name[0] == '\0' || (x->value == NULL && x->len > 0))
        return hoist_error_set (err, 0, "layer entry '%s': invalid xattr", e->path);
      if (w->opts.all_xattrs || strcmp (x->name, XATTR_CAPABILITY) == 0)
        keep[n++] = x;
    }
  qsort (keep, n, sizeof *keep, xattr_cmp);
  for (size_t i = 1; i < n; i++)
    if (strcmp (keep[i - 1]->name, keep[i]->name) == 0)
      return hoist_error_set (err, 0, "layer entry '%s': xattr '%s' given twice", e->path, keep[i]->name);
  /* libarchive puts each new xattr in front of the others (3.6's
   * archive_entry_xattr_add_entry) and writes them from the front: add
   * them last first so that the records come out sorted. */
  for (size_t i = n; i-- > 0;)
    archive_entry_xattr_add_entry (ae, keep[i]->name, keep[i]->value, keep[i]->len);
  return 0;
}

/* The tar header of E, as described at the top of the file. */
static int
make_entry (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct archive_entry **out,
            struct hoist_error **err)
{
  struct archive_entry *ae = archive_entry_new ();
  mode_t type = e->mode & S_IFMT;
  int64_t mtime = e->mtime.tv_sec;

  if (ae == NULL)
    return hoist_error_set (err, ENOMEM, "cannot create a tar entry");
  if (type == S_IFDIR)
    {
      cleanup_free char *name = hoist_xasprintf ("%s/", e->path);

      archive_entry_copy_pathname (ae, name);
    }
  else
    archive_entry_copy_pathname (ae, e->path);
  archive_entry_set_mode (ae, e->mode);
  archive_entry_set_uid (ae, e->uid);
  archive_entry_set_gid (ae, e->gid);
  if (w->opts.source_date_epoch >= 0 && mtime > w->opts.source_date_epoch)
    mtime = w->opts.source_date_epoch;
  archive_entry_set_mtime (ae, (time_t) mtime, 0);
  if (e->hardlink_target != NULL)
    archive_entry_copy_hardlink (ae, e->hardlink_target);
  else if (type == S_IFLNK)
    archive_entry_copy_symlink (ae, e->link_target);
  else if (type == S_IFCHR || type == S_IFBLK)
    archive_entry_set_rdev (ae, e->rdev);
  archive_entry_set_size (ae, type == S_IFREG && e->hardlink_target == NULL ? e->size : 0);
  if (add_xattrs (w, e, ae, err) < 0)
    {
      archive_entry_free (ae);
      return -1;
    }
  *out = ae;
  return 0;
}

/* libarchive converts names under the current locale: pin it. */
static int
write_header (struct builder_layer_writer *w, struct archive_entry *ae)
{
  locale_t old = (locale_t) 0;
  int r;

  if (w->utf8 != (locale_t) 0)
    old = uselocale (w->utf8);
  r = archive_write_header (w->a, ae);
  if (w->utf8 != (locale_t) 0)
    uselocale (old);
  /* ARCHIVE_WARN: a name that is not valid UTF-8 went in as raw bytes. */
  return r == ARCHIVE_OK || r == ARCHIVE_WARN ? 0 : -1;
}

/* Copy exactly E->size bytes of E->fd into the entry. */
static int
copy_content (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct hoist_error **err)
{
  int64_t left = e->size;
  ssize_t got;

  while (left > 0)
    {
      size_t want = left < (int64_t) READ_SIZE ? (size_t) left : READ_SIZE;

      got = read (e->fd, w->buf, want);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          w->broken = true;
          return hoist_error_set (err, errno, "cannot read '%s'", e->path);
        }
      if (got == 0)
        {
          w->broken = true;
          return hoist_error_set (err, 0,
                                  "'%s' changed size while being read: %" PRId64 " bytes expected, %" PRId64 " read",
                                  e->path, e->size, e->size - left);
        }
      if (archive_write_data (w->a, w->buf, (size_t) got) != got)
        return archive_fail (w, e->path, err);
      left -= got;
    }
  if (e->fd < 0)
    return 0;
  /* One byte more means the file grew while it was read. */
  do
    got = read (e->fd, w->buf, 1);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    {
      w->broken = true;
      return hoist_error_set (err, errno, "cannot read '%s'", e->path);
    }
  if (got > 0)
    {
      w->broken = true;
      return hoist_error_set (err, 0, "'%s' changed size while being read: more than %" PRId64 " bytes", e->path,
                              e->size);
    }
  return 0;
}

static int
writer_usable (struct builder_layer_writer *w, struct hoist_error **err)
{
  if (w->finished)
    return hoist_error_set (err, 0, "the layer is already finished");
  if (w->broken)
    return hoist_error_set (err, 0, "the layer is broken by an earlier error");
  return 0;
}

int
builder_layer_add (struct builder_layer_writer *w, const struct builder_layer_entry *e, struct hoist_error **err)
{
  struct archive_entry *ae = NULL;
  int r;

  if (writer_usable (w, err) < 0 || check_entry (w, e, err) < 0 || make_entry (w, e, &ae, err) < 0)
    return -1;
  r = write_header (w, ae);
  archive_entry_free (ae);
  if (r < 0)
    return archive_fail (w, e->path, err);
  if ((e->mode & S_IFMT) == S_IFREG && e->hardlink_target == NULL && copy_content (w, e, err) < 0)
    return -1;
  if (archive_write_finish_entry (w->a) != ARCHIVE_OK)
    return archive_fail (w, e->path, err);
  free (w->prev);
  w->prev = hoist_xstrdup (e->path);
  return 0;
}

int
builder_layer_finish (struct builder_layer_writer *w, struct builder_layer_result *res, struct hoist_error **err)
{
  if (writer_usable (w, err) < 0)
    return -1;
  w->finished = true;
  if (archive_write_close (w->a) != ARCHIVE_OK)
    return archive_fail (w, NULL, err);
  if (builder_sink_finish (w->sink, res, err) < 0)
    return hoist_error_wrap (err, "cannot end the layer");
  return 0;
}

void
builder_layer_writer_free (struct builder_layer_writer *w)
{
  if (w == NULL)
    return;
  if (w->a != NULL)
    {
      /* Close even a failed or unfinished archive: libarchive 3.6 frees
       * its output state only in close (archive_write_fail would leak it).
       * The end of an unfinished archive goes nowhere. */
      w->dropping = true;
      archive_write_close (w->a);
      archive_write_free (w->a);
    }
  builder_sink_free (w->sink);
  if (w->utf8 != (locale_t) 0)
    freelocale (w->utf8);
  hoist_error_free (w->sink_err);
  free (w->prev);
  free (w->buf);
  free (w);
}
