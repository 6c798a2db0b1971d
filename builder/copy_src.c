/* copy_src.c — what a COPY or ADD source names, behind one interface for
 * its two kinds: the build context (whose walk is already done: see
 * builder_context_*) and a directory tree on disk (the root file system
 * of an earlier stage or an image, for COPY --from), read here.
 *
 * A directory tree is read as the context is: relative to the root's fd,
 * never through a symlink (copy_open_beneath), each directory's names
 * sorted bytewise so that the walk comes in the layer's order.  Symlinks
 * are followed only where BuildKit follows them (the source path itself),
 * and then inside the root (copy_root_resolve).  Wildcards are matched
 * one component at a time with fnmatch, which reads '*', '?', "[a-z]",
 * "[^a]" and '\' as Go's filepath.Match does. */
#define BUILDER_INTERNAL
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/copy_private.h"
#include "builder/path_private.h"

#define XATTR_CAPABILITY "security.capability"

void
copy_node_release (struct copy_node *n)
{
  free (n->own_path);
  free (n->own_link);
  free (n->own_cap);
  memset (n, 0, sizeof (*n));
}

void
copy_nodes_free (struct copy_node *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    copy_node_release (&v[i]);
  free (v);
}

const char *
copy_src_name (const struct copy_src *s)
{
  return s->ctx != NULL ? "the build context" : "the source root file system";
}

struct node_list
{
  struct copy_node *v;
  size_t n;
  size_t alloc;
};

static struct copy_node *
node_push (struct node_list *l)
{
  if (l->n == l->alloc)
    {
      l->alloc = l->alloc == 0 ? 8 : l->alloc * 2;
      l->v = hoist_xreallocarray (l->v, l->alloc, sizeof (*l->v));
    }
  memset (&l->v[l->n], 0, sizeof (l->v[0]));
  return &l->v[l->n++];
}

static void
node_list_release (struct node_list *l)
{
  copy_nodes_free (l->v, l->n);
}

/* ---- The build context ------------------------------------------------------ */

static void
node_from_entry (const struct builder_context_entry *e, struct copy_node *n)
{
  memset (n, 0, sizeof (*n));
  n->path = e->path;
  n->st.st_mode = e->mode;
  n->st.st_uid = e->uid;
  n->st.st_gid = e->gid;
  n->st.st_size = (off_t) e->size;
  n->st.st_mtim = e->mtime;
  n->st.st_dev = e->dev;
  n->st.st_ino = e->ino;
  n->st.st_nlink = e->nlink;
  n->link_target = e->link_target;
  n->cap = e->capability;
  n->cap_len = e->capability_len;
  n->ce = e;
}

static int
ctx_match (const struct copy_src *s, const char *clean, struct copy_node **out, size_t *n, struct hoist_error **err)
{
  cleanup_free const struct builder_context_entry **v = NULL;
  size_t count = 0;

  if (builder_context_match (s->ctx, clean, &v, &count, err) < 0)
    return -1;
  *out = hoist_xcalloc (count > 0 ? count : 1, sizeof (**out));
  for (size_t i = 0; i < count; i++)
    node_from_entry (v[i], &(*out)[i]);
  *n = count;
  return 0;
}

static int
ctx_walk (const struct copy_src *s, const struct copy_node *dir, copy_walk_fn fn, void *ud, struct hoist_error **err)
{
  const struct builder_context_entry *first;
  size_t n = builder_context_below (s->ctx, dir->ce, &first);

  for (size_t i = 0; i < n; i++)
    {
      const struct builder_context_entry *sub;
      struct copy_node node;
      int r;

      node_from_entry (&first[i], &node);
      r = fn (ud, &node, err);
      if (r < 0)
        return -1;
      if (r > 0)
        i += builder_context_below (s->ctx, &first[i], &sub);
    }
  return 0;
}

/* ---- A directory tree on disk ---------------------------------------------- */

/* Fill N for PATH below the root, ST its lstat: the symlink target, and
 * the security.capability of a regular file, read through an fd of that
 * very file. */
static int
dir_node (const struct copy_src *s, const char *path, const struct stat *st, struct copy_node *n,
          struct hoist_error **err)
{
  memset (n, 0, sizeof (*n));
  n->own_path = hoist_xstrdup (path);
  n->path = n->own_path;
  n->st = *st;
  if (S_ISLNK (st->st_mode))
    {
      const char *slash = strrchr (path, '/');
      cleanup_free char *dir = hoist_xstrndup (path, slash != NULL ? (size_t) (slash - path) : 0);
      cleanup_close int dfd = copy_open_beneath (s->fd, dir, O_PATH | O_DIRECTORY);
      char *buf = hoist_xmalloc (COPY_PATH_MAX + 2);
      ssize_t len = dfd < 0 ? -1 : readlinkat (dfd, copy_path_base (path), buf, COPY_PATH_MAX + 1);

      n->own_link = buf;
      n->link_target = buf;
      if (len < 0 || (size_t) len > COPY_PATH_MAX)
        return hoist_error_set (err, len < 0 ? errno : ENAMETOOLONG, "cannot read symlink '/%s'", path);
      buf[len] = '\0';
    }
  else if (S_ISREG (st->st_mode))
    {
      cleanup_close int fd = copy_open_beneath (s->fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
      unsigned char cap[COPY_XATTR_MAX];
      ssize_t len;

      if (fd < 0)
        return hoist_error_set (err, errno, "cannot open '/%s'", path);
      len = fgetxattr (fd, XATTR_CAPABILITY, cap, sizeof (cap));
      if (len > 0)
        {
          n->own_cap = hoist_xmalloc ((size_t) len);
          memcpy (n->own_cap, cap, (size_t) len);
          n->cap = n->own_cap;
          n->cap_len = (size_t) len;
        }
    }
  return 0;
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in directory REL, sorted, "." and ".." left out; *ST gets
 * each one's lstat.  Both arrays are owned by the caller. */
static int
read_dir (const struct copy_src *s, const char *rel, char ***names, struct stat **sts, size_t *n,
          struct hoist_error **err)
{
  int fd = copy_open_beneath (s->fd, rel, O_RDONLY | O_DIRECTORY);
  cleanup_strv char **v = NULL;
  DIR *d;
  struct dirent *de;
  size_t count = 0;

  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open directory '/%s'", rel);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return hoist_error_set (err, errno, "cannot read directory '/%s'", rel);
    }
  for (;;)
    {
      errno = 0;
      de = readdir (d);
      if (de == NULL)
        break;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      hoist_strv_push (&v, de->d_name);
      count++;
    }
  if (errno != 0)
    {
      int e = errno;
      closedir (d);
      return hoist_error_set (err, e, "cannot read directory '/%s'", rel);
    }
  if (count > 0)
    qsort (v, count, sizeof (*v), name_cmp);
  *sts = hoist_xcalloc (count > 0 ? count : 1, sizeof (**sts));
  for (size_t i = 0; i < count; i++)
    if (fstatat (dirfd (d), v[i], &(*sts)[i], AT_SYMLINK_NOFOLLOW) < 0)
      {
        int e = errno;
        closedir (d);
        free (*sts);
        *sts = NULL;
        return hoist_error_set (err, e, "cannot stat '/%s/%s'", rel, v[i]);
      }
  closedir (d);
  *names = v != NULL ? steal_pointer (&v) : hoist_xcalloc (1, sizeof (char *));
  *n = count;
  return 0;
}

static int
dir_walk_rec (const struct copy_src *s, const char *rel, copy_walk_fn fn, void *ud, struct hoist_error **err)
{
  cleanup_strv char **names = NULL;
  cleanup_free struct stat *sts = NULL;
  size_t n;

  if (read_dir (s, rel, &names, &sts, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *path = copy_path_join (rel, names[i]);
      struct copy_node node;
      int r;

      /* A socket cannot be held in a tar: tar itself skips them. */
      if (S_ISSOCK (sts[i].st_mode))
        continue;
      if (strlen (path) > COPY_PATH_MAX)
        return hoist_error_set_status (err, ENAMETOOLONG, "path '/%.64s...' is longer than %u bytes", path,
                                       COPY_PATH_MAX);
      r = dir_node (s, path, &sts[i], &node, err);
      if (r == 0)
        r = fn (ud, &node, err);
      copy_node_release (&node);
      if (r < 0)
        return -1;
      if (r == 0 && S_ISDIR (sts[i].st_mode) && dir_walk_rec (s, path, fn, ud, err) < 0)
        return -1;
    }
  return 0;
}

/* Every path below directory REL whose components match COMPS[I..K-1]. */
static int
dir_match_rec (const struct copy_src *s, const char *rel, char **comps, size_t k, size_t i, struct node_list *out,
               struct hoist_error **err)
{
  cleanup_strv char **names = NULL;
  cleanup_free struct stat *sts = NULL;
  size_t n;

  if (read_dir (s, rel, &names, &sts, &n, err) < 0)
    return -1;
  for (size_t j = 0; j < n; j++)
    {
      cleanup_free char *path = NULL;

      if (fnmatch (comps[i], names[j], 0) != 0 || S_ISSOCK (sts[j].st_mode))
        continue;
      path = copy_path_join (rel, names[j]);
      if (i + 1 == k)
        {
          if (dir_node (s, path, &sts[j], node_push (out), err) < 0)
            return -1;
        }
      else if (S_ISDIR (sts[j].st_mode) && dir_match_rec (s, path, comps, k, i + 1, out, err) < 0)
        return -1;
    }
  return 0;
}

static int
dir_match (const struct copy_src *s, const char *clean, struct copy_node **out, size_t *n, struct hoist_error **err)
{
  __attribute__ ((cleanup (node_list_release))) struct node_list list = { 0 };
  cleanup_strv char **comps = NULL;
  cleanup_free char *prefix = NULL, *real = NULL;
  size_t plen = builder_path_literal_prefix (clean), k = 0;
  const char *p = clean + plen;
  struct stat st;
  bool exists;

  if (*p == '\0')
    {
      /* No wildcard: the directories followed, the last name as it is. */
      const char *slash = strrchr (clean, '/');
      cleanup_free char *parent = hoist_xstrndup (clean, slash != NULL ? (size_t) (slash - clean) : 0);
      cleanup_free char *path = NULL;

      if (copy_root_resolve (s->fd, clean[0] == '\0' ? "" : parent, true, &real, &exists, &st, err) < 0)
        return -1;
      if (!exists || !S_ISDIR (st.st_mode))
        return hoist_error_set_status (err, ENOENT, "'%s' not found", clean);
      path = clean[0] == '\0' ? hoist_xstrdup ("") : copy_path_join (real, copy_path_base (clean));
      if (copy_lstat_beneath (s->fd, path, &st) < 0)
        return hoist_error_set (err, errno, "'%s' not found", clean);
      if (dir_node (s, path, &st, node_push (&list), err) < 0)
        return -1;
    }
  else
    {
      prefix = hoist_xstrndup (clean, plen > 0 ? plen - 1 : 0);
      for (const char *q = p; *q != '\0';)
        {
          size_t len = strcspn (q, "/");

          hoist_strv_push_take (&comps, hoist_xstrndup (q, len));
          k++;
          q += len;
          if (*q == '/')
            q++;
        }
      if (copy_root_resolve (s->fd, prefix, true, &real, &exists, &st, err) < 0)
        return -1;
      if (!exists || !S_ISDIR (st.st_mode))
        return hoist_error_set_status (err, ENOENT, "'%s' not found", prefix);
      if (dir_match_rec (s, real, comps, k, 0, &list, err) < 0)
        return -1;
    }
  *n = list.n;
  *out = list.n > 0 ? steal_pointer (&list.v) : hoist_xcalloc (1, sizeof (**out));
  list.n = 0;
  return 0;
}

/* ---- The interface ----------------------------------------------------------- */

int
copy_src_match (const struct copy_src *s, const char *clean, struct copy_node **out, size_t *n,
                struct hoist_error **err)
{
  if (s->ctx != NULL)
    return ctx_match (s, clean, out, n, err);
  return dir_match (s, clean, out, n, err);
}

int
copy_src_follow (const struct copy_src *s, const char *clean, struct copy_node *out, struct hoist_error **err)
{
  cleanup_free char *real = NULL;
  struct stat st;
  bool exists;

  if (s->ctx != NULL)
    {
      const struct builder_context_entry *e;

      if (builder_context_resolve (s->ctx, clean, &e, err) < 0)
        return -1;
      node_from_entry (e, out);
      return 0;
    }
  if (copy_root_resolve (s->fd, clean, true, &real, &exists, &st, err) < 0)
    return -1;
  if (!exists)
    return hoist_error_set_status (err, ENOENT, "'%s' not found", clean);
  if (S_ISSOCK (st.st_mode))
    return hoist_error_set_status (err, EINVAL, "'%s' is a socket: sockets cannot be copied into an image", clean);
  return dir_node (s, real, &st, out, err);
}

int
copy_src_walk (const struct copy_src *s, const struct copy_node *dir, copy_walk_fn fn, void *ud,
               struct hoist_error **err)
{
  if (s->ctx != NULL)
    return ctx_walk (s, dir, fn, ud, err);
  return dir_walk_rec (s, dir->path, fn, ud, err);
}
