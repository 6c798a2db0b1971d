/* copy_archive.c — ADD of a local tar archive: its members become entries
 * below DEST, as Docker's ADD unpacks it (go-archive's Untar), read with
 * libarchive.
 *
 * What counts as an archive is decided by content, as BuildKit does: a
 * tar stream, plain or compressed with gzip, bzip2, xz or zstd, whose
 * first header reads.  An empty tar, a zip or a text file named x.tar.gz
 * is copied as a file.
 *
 * The archive is untrusted.  A member name that is absolute or has a ".."
 * component, a hard link to a name not earlier in the archive, a symlink
 * whose relative target climbs out of DEST, a socket, more than
 * COPY_ENTRIES_MAX members or more than COPY_UNPACK_MAX bytes of content
 * fail the whole ADD: nothing is written.  (Docker strips a leading '/'
 * instead of refusing it; such archives are rare and usually a mistake.)
 * Absolute symlink targets are kept, as Docker keeps them: they are
 * resolved inside the container when it runs.
 *
 * Members come in archive order and the layer needs its own order, so
 * file contents are copied into the plan's temp file (hashed on the way)
 * and read back from there when the layer is written. */
#define BUILDER_INTERNAL
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_private.h"

/* Most bytes of content one archive may unpack to: a bound on what a
 * compression bomb can fill the temp directory with. */
#define COPY_UNPACK_MAX (32LL * 1024 * 1024 * 1024)
#define READ_BLOCK (64 * 1024)

static struct archive *
reader_new (void)
{
  struct archive *a = archive_read_new ();

  if (a == NULL)
    abort ();
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  return a;
}

static void
reader_freep (struct archive **a)
{
  if (*a != NULL)
    archive_read_free (*a);
}

int
copy_archive_probe (int fd)
{
  __attribute__ ((cleanup (reader_freep))) struct archive *a = reader_new ();
  struct archive_entry *e;
  int r;

  if (lseek (fd, 0, SEEK_SET) < 0 || archive_read_open_fd (a, fd, READ_BLOCK) != ARCHIVE_OK)
    return 0;
  r = archive_read_next_header (a, &e);
  return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

/* ---- Names already unpacked, for hard links ------------------------------------ */

struct member
{
  char *name;   /* clean, relative to DEST */
  size_t entry; /* index in the plan */
  mode_t type;  /* S_IFREG, S_IFDIR, ... */
};

struct member_set
{
  struct member *v; /* open addressing; NAME NULL: free slot */
  size_t cap;
  size_t n;
};

static uint64_t
name_hash (const char *s)
{
  uint64_t h = 1469598103934665603ULL;

  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return h;
}

static struct member *
member_find (struct member_set *m, const char *name)
{
  if (m->cap == 0)
    return NULL;
  for (size_t i = name_hash (name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
    {
      if (m->v[i].name == NULL)
        return NULL;
      if (strcmp (m->v[i].name, name) == 0)
        return &m->v[i];
    }
}

static void
member_put (struct member_set *m, const char *name, size_t entry, mode_t type)
{
  struct member *slot = member_find (m, name);

  if (slot != NULL)
    {
      slot->entry = entry;
      slot->type = type;
      return;
    }
  if (2 * (m->n + 1) > m->cap)
    {
      struct member_set bigger = { .cap = m->cap == 0 ? 64 : m->cap * 2 };

      bigger.v = hoist_xcalloc (bigger.cap, sizeof (*bigger.v));
      for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].name != NULL)
          {
            size_t j = name_hash (m->v[i].name) & (bigger.cap - 1);

            while (bigger.v[j].name != NULL)
              j = (j + 1) & (bigger.cap - 1);
            bigger.v[j] = m->v[i];
          }
      free (m->v);
      m->v = bigger.v;
      m->cap = bigger.cap;
    }
  for (size_t i = name_hash (name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
    if (m->v[i].name == NULL)
      {
        m->v[i] = (struct member){ hoist_xstrdup (name), entry, type };
        m->n++;
        return;
      }
}

static void
member_set_release (struct member_set *m)
{
  for (size_t i = 0; i < m->cap; i++)
    free (m->v[i].name);
  free (m->v);
}

/* ---- Unpacking ------------------------------------------------------------------ */

struct unpack
{
  struct copy_state *st;
  struct archive *a;
  const char *name; /* the source, for errors */
  const char *dir;  /* DEST */
  struct member_set members;
  char *last_parent; /* the parent directory added last */
  int64_t total;
};

static int fail (struct unpack *u, struct hoist_error **err, int status, const char *fmt, ...) HOIST_PRINTF (4, 5);

static int
fail (struct unpack *u, struct hoist_error **err, int status, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (n < 0)
    abort ();
  return hoist_error_set_status (err, status, "%s: cannot unpack '%s': %s", u->st->cmd, u->name, msg);
}

/* RAW, a member name or hard link target, as a path below DEST; NULL when
 * it is absolute or has a ".." component. */
static char *
member_path (const char *raw)
{
  const char *p = raw;

  if (raw[0] == '/')
    return NULL;
  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");

      if (len == 2 && p[0] == '.' && p[1] == '.')
        return NULL;
      p += len + (p[len] == '/');
    }
  return copy_path_clean (raw, NULL);
}

/* The directories between DEST and member NAME that the archive did not
 * list: 0755, as tar -x makes them. */
static int
add_member_parents (struct unpack *u, const char *name, struct hoist_error **err)
{
  const char *slash = strrchr (name, '/');
  cleanup_free char *parent = NULL;

  if (slash == NULL)
    return 0;
  parent = hoist_xstrndup (name, (size_t) (slash - name));
  if (u->last_parent != NULL && strcmp (parent, u->last_parent) == 0)
    return 0;
  for (size_t i = 1; parent[i - 1] != '\0'; i++)
    {
      cleanup_free char *prefix = NULL;
      cleanup_free char *path = NULL;
      struct copy_entry *e;
      struct stat s;

      if (parent[i] != '/' && parent[i] != '\0')
        continue;
      prefix = hoist_xstrndup (parent, i);
      {
        const struct member *m = member_find (&u->members, prefix);

        /* Below a symlink or a file of the archive: what tar -x would
         * write through the link, outside DEST. */
        if (m != NULL && m->type != S_IFDIR)
          return fail (u, err, EINVAL, "member '%s' is below '%s', which is not a directory", name, prefix);
        if (m != NULL)
          continue;
      }
      path = copy_path_join (u->dir, prefix);
      if (u->st->image_fd >= 0 && copy_lstat_beneath (u->st->image_fd, path, &s) == 0)
        continue;
      e = copy_entry_push (u->st, steal_pointer (&path));
      e->mode = S_IFDIR | 0755;
      e->uid = u->st->have_chown ? u->st->uid : 0;
      e->gid = u->st->have_chown ? u->st->gid : 0;
      e->mtime = u->st->created;
      e->implicit = true;
      member_put (&u->members, prefix, u->st->plan->n - 1, S_IFDIR);
    }
  free (u->last_parent);
  u->last_parent = steal_pointer (&parent);
  return 0;
}

/* Copy the current member's data to a temp file: *TEMP, *SIZE and
 * DIGEST get which, how long and its sha256. */
static int
spill_data (struct unpack *u, uint64_t *temp, int64_t *size, char digest[HOIST_DIGEST_STR_SIZE], const char *member,
            struct hoist_error **err)
{
  cleanup_free char *buf = hoist_xmalloc (READ_BLOCK);
  cleanup_close int fd = -1;
  struct hoist_sha256 h;
  int ret = 0;

  if (copy_temp_create (u->st, &fd, temp, err) < 0 || hoist_sha256_init (&h, err) < 0)
    return -1;
  *size = 0;
  for (;;)
    {
      la_ssize_t n = archive_read_data (u->a, buf, READ_BLOCK);

      if (n == 0)
        break;
      if (n < 0)
        {
          ret = fail (u, err, EIO, "member '%s': %s", member, archive_error_string (u->a));
          break;
        }
      u->total += n;
      if (u->total > COPY_UNPACK_MAX)
        {
          ret = fail (u, err, E2BIG, "it unpacks to more than %lld GiB", COPY_UNPACK_MAX >> 30);
          break;
        }
      hoist_sha256_update (&h, buf, (size_t) n);
      if (copy_write_all (u->st, fd, buf, (size_t) n, err) < 0)
        {
          ret = -1;
          break;
        }
      *size += n;
    }
  if (ret == 0)
    hoist_sha256_final (&h, digest);
  hoist_sha256_release (&h);
  return ret;
}

/* A symlink TARGET at NAME must not climb out of DEST (go-archive's
 * breakout check); absolute targets are the container's business. */
static bool
link_escapes (const char *name, const char *target)
{
  const char *slash = strrchr (name, '/');
  cleanup_free char *dir = hoist_xstrndup (name, slash != NULL ? (size_t) (slash - name) : 0);
  cleanup_free char *joined = NULL, *clean = NULL;
  bool escapes;

  if (target[0] == '/')
    return false;
  joined = hoist_xasprintf ("%s/%s", dir, target);
  clean = copy_path_clean (joined, &escapes);
  return escapes;
}

static void
entry_xattrs (struct archive_entry *ae, struct copy_entry *e)
{
  const char *name;
  const void *value;
  size_t len;

  archive_entry_xattr_reset (ae);
  while (archive_entry_xattr_next (ae, &name, &value, &len) == ARCHIVE_OK)
    if (strcmp (name, "security.capability") == 0 && len > 0 && len <= COPY_XATTR_MAX)
      {
        free (e->cap);
        e->cap = hoist_xmalloc (len);
        memcpy (e->cap, value, len);
        e->cap_len = len;
      }
}

static int
add_member (struct unpack *u, struct archive_entry *ae, struct hoist_error **err)
{
  struct copy_state *st = u->st;
  const char *raw = archive_entry_pathname (ae);
  const char *hl = archive_entry_hardlink (ae);
  cleanup_free char *name = NULL;
  struct copy_entry *e;
  mode_t type = archive_entry_filetype (ae);
  la_int64_t uid = archive_entry_uid (ae), gid = archive_entry_gid (ae);
  char digest[HOIST_DIGEST_STR_SIZE] = "";
  int64_t size = 0;
  uint64_t temp = 0;

  if (raw == NULL)
    return fail (u, err, EINVAL, "a member has no name");
  name = member_path (raw);
  if (name == NULL)
    return fail (u, err, EINVAL, "member '%s' is outside the destination (hint: absolute names and '..' are refused)",
                 raw);
  if (name[0] == '\0')
    return 0; /* "./": the destination itself, which is kept as it is */
  if (strlen (name) + strlen (u->dir) + 1 > COPY_PATH_MAX)
    return fail (u, err, ENAMETOOLONG, "member '%.64s...' has too long a name", raw);
  if (st->plan->n >= COPY_ENTRIES_MAX)
    return fail (u, err, E2BIG, "it has more than %u members", COPY_ENTRIES_MAX);
  if (uid < 0 || uid > (la_int64_t) UINT32_MAX - 1 || gid < 0 || gid > (la_int64_t) UINT32_MAX - 1)
    return fail (u, err, EINVAL, "member '%s' has an invalid owner", raw);
  if (add_member_parents (u, name, err) < 0)
    return -1;
  if (hl != NULL)
    {
      cleanup_free char *target = member_path (hl);
      struct member *m = target != NULL ? member_find (&u->members, target) : NULL;
      struct copy_entry *lead;

      if (m == NULL || m->type != S_IFREG)
        return fail (u, err, EINVAL, "hard link '%s' points to '%s', which is not a file earlier in the archive", raw,
                     hl);
      /* Pushing may move the plan's array: find the lead after it. */
      e = copy_entry_push (st, copy_path_join (u->dir, name));
      lead = &st->plan->v[m->entry];
      e->mode = lead->mode;
      e->size = lead->size;
      e->content = COPY_CONTENT_TEMP;
      e->temp = lead->temp;
      memcpy (e->digest, lead->digest, sizeof (e->digest));
      if (lead->link_key[0] == 0)
        {
          lead->link_key[0] = 3;
          lead->link_key[1] = st->item;
          lead->link_key[2] = m->entry;
        }
      memcpy (e->link_key, lead->link_key, sizeof (e->link_key));
      e->uid = lead->uid;
      e->gid = lead->gid;
      e->mtime = lead->mtime;
      if (lead->cap_len > 0)
        {
          e->cap = hoist_xmalloc (lead->cap_len);
          memcpy (e->cap, lead->cap, lead->cap_len);
          e->cap_len = lead->cap_len;
        }
      e->from_archive = true;
      member_put (&u->members, name, st->plan->n - 1, S_IFREG);
      return 0;
    }
  switch (type)
    {
    case AE_IFREG:
      if (spill_data (u, &temp, &size, digest, raw, err) < 0)
        return -1;
      e = copy_add_temp_file (st, copy_path_join (u->dir, name), 0, temp, size, digest);
      break;
    case AE_IFDIR:
    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      e = copy_entry_push (st, copy_path_join (u->dir, name));
      e->rdev = type == AE_IFCHR || type == AE_IFBLK ? archive_entry_rdev (ae) : 0;
      break;
    case AE_IFLNK:
      if (archive_entry_symlink (ae) == NULL || archive_entry_symlink (ae)[0] == '\0')
        return fail (u, err, EINVAL, "symlink '%s' has no target", raw);
      if (link_escapes (name, archive_entry_symlink (ae)))
        return fail (u, err, EINVAL, "symlink '%s' points outside the destination ('%s')", raw,
                     archive_entry_symlink (ae));
      e = copy_entry_push (st, copy_path_join (u->dir, name));
      e->link_target = hoist_xstrdup (archive_entry_symlink (ae));
      break;
    default:
      return fail (u, err, EINVAL, "member '%s' is of a type that cannot be unpacked", raw);
    }
  e->mode = type | (archive_entry_perm (ae) & 07777);
  /* Members keep the archive's owners unless --chown is given. */
  e->uid = st->have_chown ? st->uid : (uid_t) uid;
  e->gid = st->have_chown ? st->gid : (gid_t) gid;
  e->mtime.tv_sec = archive_entry_mtime (ae);
  e->mtime.tv_nsec = archive_entry_mtime_nsec (ae);
  e->from_archive = true;
  entry_xattrs (ae, e);
  member_put (&u->members, name, st->plan->n - 1, type);
  return 0;
}

int
copy_archive_add (struct copy_state *st, int fd, const char *name, const char *dir, struct hoist_error **err)
{
  __attribute__ ((cleanup (reader_freep))) struct archive *a = reader_new ();
  struct unpack u = { .st = st, .a = a, .name = name, .dir = dir };
  int ret = 0;

  /* BuildKit makes DEST itself 0755 (no --chmod), owned by --chown. */
  if (copy_add_parents (st, dir, true, false, err) < 0)
    return -1;
  if (archive_read_open_fd (a, fd, READ_BLOCK) != ARCHIVE_OK)
    return hoist_error_set_status (err, EIO, "%s: cannot unpack '%s': %s", st->cmd, name, archive_error_string (a));
  for (;;)
    {
      struct archive_entry *ae;
      int r = archive_read_next_header (a, &ae);

      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        {
          ret = hoist_error_set_status (err, EIO, "%s: cannot unpack '%s': %s", st->cmd, name,
                                        archive_error_string (a));
          break;
        }
      ret = add_member (&u, ae, err);
      if (ret < 0)
        break;
    }
  member_set_release (&u.members);
  free (u.last_parent);
  return ret;
}
