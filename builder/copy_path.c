/* copy_path.c — paths for COPY and ADD: cleaning, opening below a root
 * without following symlinks, resolving a path inside a root file system
 * as BuildKit's RootPath does, the --chown and --chmod values, and the
 * plan's temp files.
 *
 * Every open below a root is relative to the root's fd: openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or, where openat2 is missing, one
 * component at a time with O_NOFOLLOW.  Symlinks are followed only by
 * copy_root_resolve, which reads each link and goes on from the root or
 * the link's directory itself, so a link can never lead outside. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/copy_private.h"

/* ---- Paths ----------------------------------------------------------------- */

char *
copy_path_clean (const char *p, bool *escapes)
{
  size_t n = strlen (p);
  char *out = hoist_xmalloc (n + 1);
  size_t len = 0;

  if (escapes != NULL)
    *escapes = false;
  while (*p != '\0')
    {
      size_t c = strcspn (p, "/");

      if (c == 0 || (c == 1 && p[0] == '.'))
        ;
      else if (c == 2 && p[0] == '.' && p[1] == '.')
        {
          if (len == 0 && escapes != NULL)
            *escapes = true;
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
        }
      else
        {
          if (len > 0)
            out[len++] = '/';
          memcpy (out + len, p, c);
          len += c;
        }
      p += c;
      if (*p == '/')
        p++;
    }
  out[len] = '\0';
  return out;
}

char *
copy_path_join (const char *a, const char *b)
{
  if (a[0] == '\0')
    return hoist_xstrdup (b);
  if (b[0] == '\0')
    return hoist_xstrdup (a);
  return hoist_xasprintf ("%s/%s", a, b);
}

const char *
copy_path_base (const char *p)
{
  const char *s = strrchr (p, '/');

  return s != NULL ? s + 1 : p;
}

/* ---- Errors and temp files ------------------------------------------------------ */

int
copy_temp_create (struct copy_state *st, int *fd, uint64_t *temp, struct hoist_error **err)
{
  struct builder_copy_plan *p = st->plan;
  char name[32];

  if (p->temp_fd < 0)
    {
      cleanup_free char *tmpl = hoist_xasprintf ("%s/hoist-copy-XXXXXX", st->tmp_dir);

      if (mkdtemp (tmpl) == NULL)
        return hoist_error_set (err, errno, "cannot create a temp directory in '%s'", st->tmp_dir);
      p->temp_fd = open (tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (p->temp_fd < 0)
        {
          int e = errno;
          rmdir (tmpl);
          return hoist_error_set (err, e, "cannot open temp directory '%s'", tmpl);
        }
      p->temp_dir = steal_pointer (&tmpl);
    }
  snprintf (name, sizeof (name), "%" PRIu64, p->n_temp);
  *fd = openat (p->temp_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (*fd < 0)
    return hoist_error_set (err, errno, "cannot create a temp file in '%s'", p->temp_dir);
  *temp = p->n_temp++;
  return 0;
}

int
copy_temp_open (const struct builder_copy_plan *p, uint64_t temp, int *fd, struct hoist_error **err)
{
  char name[32];

  snprintf (name, sizeof (name), "%" PRIu64, temp);
  *fd = openat (p->temp_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (*fd < 0)
    return hoist_error_set (err, errno, "cannot open temp file '%s/%s'", p->temp_dir, name);
  return 0;
}

int
copy_write_all (struct copy_state *st, int fd, const void *buf, size_t len, struct hoist_error **err)
{
  const char *b = buf;

  while (len > 0)
    {
      ssize_t w = write (fd, b, len);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return hoist_error_set (err, w < 0 ? errno : EIO, "cannot write a temp file in '%s'", st->plan->temp_dir);
      b += w;
      len -= (size_t) w;
    }
  return 0;
}

/* ---- Opening below a root ---------------------------------------------------- */

/* The fallback: one component at a time, never through a symlink. */
static int
open_by_components (int dirfd, const char *path, int flags)
{
  cleanup_free char *copy = hoist_xstrdup (path);
  cleanup_close int cur = -1;
  char *save = copy;

  for (;;)
    {
      char *slash = strchr (save, '/');
      int fd;

      if (slash != NULL)
        *slash = '\0';
      if (save[0] == '\0' || strcmp (save, ".") == 0 || strcmp (save, "..") == 0)
        {
          errno = EXDEV;
          return -1;
        }
      if (slash == NULL)
        return openat (cur >= 0 ? cur : dirfd, save, flags | O_NOFOLLOW | O_CLOEXEC);
      fd = openat (cur >= 0 ? cur : dirfd, save, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return -1;
      if (cur >= 0)
        close (cur);
      cur = fd;
      save = slash + 1;
    }
}

int
copy_open_beneath (int dirfd, const char *path, int flags)
{
  static int no_openat2;
  struct open_how how = { 0 };
  long fd;

  if (path[0] == '\0')
    return openat (dirfd, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);
  if (!__atomic_load_n (&no_openat2, __ATOMIC_RELAXED))
    {
      how.flags = (uint64_t) (flags | O_CLOEXEC);
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      fd = syscall (SYS_openat2, dirfd, path, &how, sizeof (how));
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return (int) fd;
      /* Missing, or refused by a seccomp profile: fall back for good. */
      __atomic_store_n (&no_openat2, 1, __ATOMIC_RELAXED);
    }
  return open_by_components (dirfd, path, flags);
}

int
copy_lstat_beneath (int dirfd, const char *path, struct stat *st)
{
  cleanup_close int fd = copy_open_beneath (dirfd, path, O_PATH | O_NOFOLLOW);

  if (fd < 0)
    return -1;
  return fstat (fd, st);
}

/* ---- Resolving inside a root ---------------------------------------------------- */

static char *
read_link_beneath (int root_fd, const char *path)
{
  const char *slash = strrchr (path, '/');
  cleanup_free char *dir = hoist_xstrndup (path, slash != NULL ? (size_t) (slash - path) : 0);
  cleanup_close int dfd = copy_open_beneath (root_fd, dir, O_PATH | O_DIRECTORY);
  char *buf;
  ssize_t n;

  if (dfd < 0)
    return NULL;
  buf = hoist_xmalloc (COPY_PATH_MAX + 2);
  n = readlinkat (dfd, copy_path_base (path), buf, COPY_PATH_MAX + 1);
  if (n < 0 || (size_t) n > COPY_PATH_MAX)
    {
      if (n >= 0)
        errno = ENAMETOOLONG;
      free (buf);
      return NULL;
    }
  buf[n] = '\0';
  return buf;
}

int
copy_root_resolve (int root_fd, const char *path, bool follow_last, char **out, bool *exists, struct stat *st,
                   struct hoist_error **err)
{
  cleanup_free char *rest = hoist_xstrdup (path);
  cleanup_free char *cur = hoist_xstrdup ("");
  int links = 0;

  *exists = true;
  if (fstat (root_fd, st) < 0)
    return hoist_error_set (err, errno, "cannot stat the root");
  while (rest[0] != '\0')
    {
      size_t len = strcspn (rest, "/");
      const char *after = rest[len] == '/' ? rest + len + 1 : rest + len;
      cleanup_free char *comp = hoist_xstrndup (rest, len);
      cleanup_free char *next = NULL;
      char *tmp;

      if (len == 0 || strcmp (comp, ".") == 0)
        ;
      else if (strcmp (comp, "..") == 0)
        {
          char *slash = strrchr (cur, '/');

          *(slash != NULL ? slash : cur) = '\0';
          if (copy_lstat_beneath (root_fd, cur, st) < 0)
            return hoist_error_set (err, errno, "cannot stat '/%s'", cur);
        }
      else
        {
          next = copy_path_join (cur, comp);
          if (copy_lstat_beneath (root_fd, next, st) < 0)
            {
              if (errno != ENOENT)
                return hoist_error_set (err, errno, "cannot stat '/%s'", next);
              /* The rest does not exist: it is taken as written, its ".."
               * applied from here and stopping at the root. */
              tmp = hoist_xasprintf ("%s/%s", next, after);
              free (cur);
              cur = copy_path_clean (tmp, NULL);
              free (tmp);
              *exists = false;
              break;
            }
          if (S_ISLNK (st->st_mode) && (*after != '\0' || follow_last))
            {
              cleanup_free char *target = read_link_beneath (root_fd, next);

              if (target == NULL)
                return hoist_error_set (err, errno, "cannot read symlink '/%s'", next);
              if (++links > COPY_LINKS_MAX)
                return hoist_error_set (err, ELOOP, "cannot resolve '/%s'", path);
              if (target[0] == '/')
                cur[0] = '\0';
              tmp = hoist_xasprintf ("%s/%s", target, after);
              free (rest);
              rest = tmp;
              continue;
            }
          if (*after != '\0' && !S_ISDIR (st->st_mode))
            return hoist_error_set_status (err, ENOTDIR, "cannot resolve '/%s': '/%s' is not a directory", path, next);
          free (cur);
          cur = steal_pointer (&next);
        }
      tmp = hoist_xstrdup (after);
      free (rest);
      rest = tmp;
    }
  if (strlen (cur) > COPY_PATH_MAX)
    return hoist_error_set_status (err, ENAMETOOLONG, "path '/%.64s...' is too long", cur);
  *out = steal_pointer (&cur);
  return 0;
}

/* ---- --chown ---------------------------------------------------------------------- */

/* A decimal id, as BuildKit's parseUID (strconv.ParseInt, 32 bits), but
 * never negative; "root" is 0 without looking it up. */
static bool
parse_id (const char *s, uint32_t *out)
{
  unsigned long long v = 0;

  if (strcmp (s, "root") == 0)
    {
      *out = 0;
      return true;
    }
  if (*s == '\0')
    return false;
  for (; *s != '\0'; s++)
    {
      if (*s < '0' || *s > '9')
        return false;
      v = v * 10 + (unsigned) (*s - '0');
      if (v > INT32_MAX)
        return false;
    }
  *out = (uint32_t) v;
  return true;
}

/* Read IMAGE/etc/NAME (resolved inside the image) into BUF. */
static int
read_user_file (int image_fd, const char *name, struct hoist_buf *buf, struct hoist_error **err)
{
  cleanup_free char *real = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  bool exists;

  if (copy_root_resolve (image_fd, name, true, &real, &exists, &st, err) < 0)
    return hoist_error_wrap (err, "cannot read '/%s' of the image", name);
  if (!exists)
    return hoist_error_set_status (err, ENOENT, "the image has no '/%s'", name);
  fd = copy_open_beneath (image_fd, real, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '/%s' of the image", name);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return hoist_error_set (err, 0, "'/%s' of the image is not a regular file", name);
  if (hoist_buf_read_fd (buf, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '/%s' of the image", name);
  return 0;
}

/* Find NAME in the colon-separated TEXT (passwd or group): field 2 (the
 * id) and, when WANT_GID, field 3 (the primary group). */
static bool
find_name (const char *text, const char *name, uint32_t *id, uint32_t *gid)
{
  size_t nlen = strlen (name);

  for (const char *line = text; *line != '\0';)
    {
      const char *end = line + strcspn (line, "\n");

      if (strncmp (line, name, nlen) == 0 && line[nlen] == ':')
        {
          cleanup_free char *copy = hoist_xstrndup (line, (size_t) (end - line));
          char *f[4] = { NULL };
          char *p = copy;

          for (int i = 0; i < 4 && p != NULL; i++)
            {
              f[i] = p;
              p = strchr (p, ':');
              if (p != NULL)
                *p++ = '\0';
            }
          if (f[2] != NULL && parse_id (f[2], id) && (gid == NULL || (f[3] != NULL && parse_id (f[3], gid))))
            return true;
        }
      line = *end == '\n' ? end + 1 : end;
    }
  return false;
}

static int
lookup_name (int image_fd, const char *file, const char *what, const char *name, uint32_t *id, uint32_t *gid,
             struct hoist_error **err)
{
  cleanup_buf struct hoist_buf text;

  hoist_buf_init (&text, COPY_USER_FILE_MAX);
  if (image_fd < 0)
    return hoist_error_set_status (err, ENOENT,
                                   "unknown %s '%s' (hint: the image has no %s to look names up in; use a numeric id)",
                                   what, name, file);
  if (read_user_file (image_fd, file, &text, err) < 0)
    return hoist_error_wrap (err, "unknown %s '%s'", what, name);
  if (memchr (text.data, '\0', text.len) != NULL)
    return hoist_error_set_status (err, EINVAL, "unknown %s '%s': '/%s' of the image holds a NUL byte", what, name,
                                   file);
  if (!find_name (text.data, name, id, gid))
    return hoist_error_set_status (err, ENOENT, "unknown %s '%s' (no such %s in /%s of the image)", what, name, what,
                                   file);
  return 0;
}

int
copy_chown_parse (const char *spec, int image_fd, uid_t *uid, gid_t *gid, struct hoist_error **err)
{
  const char *colon = strchr (spec, ':');
  cleanup_free char *user = hoist_xstrndup (spec, colon != NULL ? (size_t) (colon - spec) : strlen (spec));
  uint32_t u, g;

  if (user[0] == '\0' || (colon != NULL && colon[1] == '\0'))
    return hoist_error_set_status (err, EINVAL, "invalid --chown '%s' (hint: user, user:group, uid or uid:gid)", spec);
  if (parse_id (user, &u))
    g = u;
  else if (lookup_name (image_fd, "etc/passwd", "user", user, &u, &g, err) < 0)
    return -1;
  if (colon != NULL && !parse_id (colon + 1, &g)
      && lookup_name (image_fd, "etc/group", "group", colon + 1, &g, NULL, err) < 0)
    return -1;
  *uid = (uid_t) u;
  *gid = (gid_t) g;
  return 0;
}

/* ---- --chmod ------------------------------------------------------------------------ */

void
copy_chmod_release (struct copy_chmod *c)
{
  free (c->clauses);
  memset (c, 0, sizeof (*c));
}

static mode_t
who_bits (char w)
{
  switch (w)
    {
    case 'u':
      return S_ISUID | S_IRWXU;
    case 'g':
      return S_ISGID | S_IRWXG;
    case 'o':
      return S_ISVTX | S_IRWXO;
    default:
      return 07777;
    }
}

static mode_t
perm_bits (char p)
{
  switch (p)
    {
    case 'r':
      return 0444;
    case 'w':
      return 0222;
    case 'x':
      return 0111;
    case 's':
      return S_ISUID | S_ISGID;
    case 't':
      return S_ISVTX;
    default:
      return 0;
    }
}

static int
parse_symbolic (const char *spec, struct copy_chmod *out, struct hoist_error **err)
{
  const char *s = spec;

  for (;;)
    {
      mode_t who = 0;

      for (; *s != '\0' && strchr ("ugoa", *s) != NULL; s++)
        who |= who_bits (*s);
      if (who == 0)
        who = 07777; /* no class: all of them, the umask being 0 */
      if (*s == '\0' || strchr ("+-=", *s) == NULL)
        return hoist_error_set_status (err, EINVAL, "invalid --chmod '%s' (it must be an octal or a symbolic mode)",
                                       spec);
      while (*s != '\0' && strchr ("+-=", *s) != NULL)
        {
          struct copy_chmod_clause c = { .who = who, .op = *s++ };

          if (*s != '\0' && strchr ("ugo", *s) != NULL)
            c.copy = *s++;
          else
            for (; *s != '\0' && strchr ("rwxXst", *s) != NULL; s++)
              {
                c.perm |= perm_bits (*s);
                c.cap_x |= *s == 'X';
              }
          out->clauses = hoist_xreallocarray (out->clauses, out->n + 1, sizeof (*out->clauses));
          out->clauses[out->n++] = c;
        }
      if (*s == '\0')
        return 0;
      if (*s++ != ',')
        return hoist_error_set_status (err, EINVAL, "invalid --chmod '%s' (it must be an octal or a symbolic mode)",
                                       spec);
    }
}

int
copy_chmod_parse (const char *spec, struct copy_chmod *out, struct hoist_error **err)
{
  unsigned long v = 0;
  const char *p = spec;

  memset (out, 0, sizeof (*out));
  if (*p >= '0' && *p <= '9')
    {
      for (; *p >= '0' && *p <= '7'; p++)
        {
          v = v * 8 + (unsigned long) (*p - '0');
          if (v > 07777)
            return hoist_error_set_status (err, EINVAL, "invalid --chmod '%s' (an octal mode is at most 07777)", spec);
        }
      if (*p != '\0')
        return hoist_error_set_status (err, EINVAL, "invalid --chmod '%s' (it must be an octal or a symbolic mode)",
                                       spec);
      out->set = true;
      out->octal = (mode_t) v;
      return 0;
    }
  if (parse_symbolic (spec, out, err) < 0)
    {
      copy_chmod_release (out);
      return -1;
    }
  out->set = true;
  out->symbolic = true;
  return 0;
}

/* The rwx bits of class C ('u', 'g', 'o') of M, as 0-7. */
static mode_t
class_bits (mode_t m, char c)
{
  return c == 'u' ? (m >> 6) & 7 : c == 'g' ? (m >> 3) & 7 : m & 7;
}

static mode_t
apply_clause (const struct copy_chmod_clause *c, mode_t m, bool dir)
{
  mode_t v;

  if (c->copy != 0)
    {
      mode_t b = class_bits (m, c->copy);

      v = (b << 6) | (b << 3) | b;
    }
  else
    {
      v = c->perm;
      /* 'X': execute only for directories and files some class may
       * already execute. */
      if (c->cap_x && (dir || (m & 0111) != 0))
        v |= 0111;
    }
  v &= c->who;
  switch (c->op)
    {
    case '+':
      return m | v;
    case '-':
      return m & ~v;
    default:
      /* '=' sets the class's rwx (and s/t for u, g, o as named). */
      return (m & ~(c->who & 07777)) | v;
    }
}

mode_t
copy_chmod_apply (const struct copy_chmod *c, mode_t mode)
{
  mode_t type = mode & S_IFMT, m = mode & 07777;

  if (!c->set || S_ISLNK (mode))
    return mode;
  if (!c->symbolic)
    return type | c->octal;
  for (size_t i = 0; i < c->n; i++)
    m = apply_clause (&c->clauses[i], m, S_ISDIR (mode));
  return type | m;
}
