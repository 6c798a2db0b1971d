/* copy_tree.c — from COPY and ADD sources to the entries of the layer,
 * as BuildKit's file copier (tonistiigi/fsutil copy, with the Dockerfile
 * frontend's options) lays them out in the image:
 *  - a file goes to DEST, or inside it when DEST is a directory;
 *  - a directory's contents go into DEST, which is created (0755, or the
 *    octal --chmod) when the image lacks it; directories below it are
 *    copied with their own metadata;
 *  - --exclude patterns (.dockerignore syntax) are matched against paths
 *    relative to the source; an excluded directory is still walked when
 *    an exception ("!x") may re-include something below it, and written
 *    only when something below it is;
 *  - --parents copies a source the way rsync --relative does: the part
 *    after "/./" (or the whole source) is a pattern matched below the part
 *    before it (or the root), and the directories on the way are kept.
 * Entries pile up in the order sources are read; copy_plan_finish sorts
 * them, lets a later copy of a path replace an earlier one as the copier
 * does on disk, and refuses what the copier refuses: a directory over a
 * file, a file over a directory. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_private.h"
#include "builder/path_private.h"

#define WHITEOUT_PREFIX ".wh."

/* ---- Entries and temp files --------------------------------------------------- */

void
copy_entry_release (struct copy_entry *e)
{
  free (e->path);
  free (e->link_target);
  free (e->hardlink_target);
  free (e->cap);
  free (e->src_path);
  memset (e, 0, sizeof (*e));
}

struct copy_entry *
copy_entry_push (struct copy_state *st, char *path)
{
  struct builder_copy_plan *p = st->plan;
  struct copy_entry *e;

  if (p->n == p->alloc)
    {
      p->alloc = p->alloc == 0 ? 64 : p->alloc * 2;
      p->v = hoist_xreallocarray (p->v, p->alloc, sizeof (*p->v));
    }
  e = &p->v[p->n++];
  memset (e, 0, sizeof (*e));
  e->path = path;
  e->seq = st->seq++;
  e->item = st->item;
  return e;
}

static int
check_room (struct copy_state *st, struct hoist_error **err)
{
  if (st->plan->n >= COPY_ENTRIES_MAX)
    return hoist_error_set_status (err, E2BIG, "%s: '%s' gives more than %u files", st->cmd, st->req->sources[st->item],
                                   COPY_ENTRIES_MAX);
  return 0;
}

/* ---- Owners, parents, targets ------------------------------------------------------- */

static void
own (const struct copy_state *st, struct copy_entry *e, uid_t uid, gid_t gid)
{
  e->uid = st->have_chown ? st->uid : uid;
  e->gid = st->have_chown ? st->gid : gid;
}

int
copy_add_parents (struct copy_state *st, const char *path, bool with_self, bool chmod, struct hoist_error **err)
{
  size_t len = strlen (path);

  for (size_t i = 1; i <= len; i++)
    {
      cleanup_free char *prefix = NULL;
      struct copy_entry *e;
      struct stat s;

      if ((path[i] != '/' && path[i] != '\0') || (path[i] == '\0' && !with_self))
        continue;
      prefix = hoist_xstrndup (path, i);
      if (st->image_fd >= 0)
        {
          if (copy_lstat_beneath (st->image_fd, prefix, &s) == 0)
            {
              /* There already: the image keeps its own metadata.  A
               * symlink is where an archive's member goes through. */
              if (S_ISDIR (s.st_mode) || S_ISLNK (s.st_mode))
                continue;
              return hoist_error_set_status (
                  err, ENOTDIR, "%s: cannot create directory '/%s': it is a file in the image", st->cmd, prefix);
            }
          if (errno == ELOOP)
            continue;
          if (errno != ENOENT)
            return hoist_error_set (err, errno, "%s: cannot stat '/%s' in the image", st->cmd, prefix);
        }
      if (check_room (st, err) < 0)
        return -1;
      e = copy_entry_push (st, steal_pointer (&prefix));
      /* BuildKit's MkdirAll: the octal --chmod, or 0755. */
      e->mode = S_IFDIR | (chmod && st->chmod.set && !st->chmod.symbolic ? (st->chmod.octal & 0777) : 0755);
      own (st, e, 0, 0);
      e->mtime = st->created;
      e->implicit = true;
    }
  return 0;
}

int
copy_file_target (struct copy_state *st, const char *name, char **out, struct hoist_error **err)
{
  bool inside = st->dest_slash || (st->dest_exists && S_ISDIR (st->dest_st.st_mode));

  if (copy_add_parents (st, st->dest, inside, true, err) < 0)
    return -1;
  *out = inside ? copy_path_join (st->dest, name) : hoist_xstrdup (st->dest);
  if ((*out)[0] == '\0')
    {
      free (*out);
      *out = NULL;
      return hoist_error_set_status (err, EINVAL, "%s: cannot copy '%s' over the root directory", st->cmd, name);
    }
  return 0;
}

struct copy_entry *
copy_add_temp_file (struct copy_state *st, char *path, mode_t mode, uint64_t temp, int64_t len, const char *digest)
{
  struct copy_entry *e = copy_entry_push (st, path);

  e->mode = S_IFREG | (mode & 07777);
  own (st, e, 0, 0);
  e->mtime = st->created;
  e->size = len;
  e->content = COPY_CONTENT_TEMP;
  e->temp = temp;
  memcpy (e->digest, digest, HOIST_DIGEST_STR_SIZE);
  return e;
}

/* An entry at TARGET (taken) for source node N. */
static struct copy_entry *
entry_from_node (struct copy_state *st, const struct copy_node *n, char *target)
{
  struct copy_entry *e = copy_entry_push (st, target);

  e->mode = copy_chmod_apply (&st->chmod, n->st.st_mode);
  /* Context files are 0:0, as BuildKit's context transfer sends them;
   * a stage's or image's files keep their owners. */
  own (st, e, st->src.ctx != NULL ? 0 : n->st.st_uid, st->src.ctx != NULL ? 0 : n->st.st_gid);
  e->mtime = n->st.st_mtim;
  if (S_ISLNK (n->st.st_mode))
    e->link_target = hoist_xstrdup (n->link_target);
  else if (S_ISCHR (n->st.st_mode) || S_ISBLK (n->st.st_mode))
    e->rdev = n->st.st_rdev;
  else if (S_ISREG (n->st.st_mode))
    {
      e->size = (int64_t) n->st.st_size;
      e->content = st->src.ctx != NULL ? COPY_CONTENT_CONTEXT : COPY_CONTENT_DIR;
      e->ce = n->ce;
      if (st->src.ctx == NULL)
        e->src_path = hoist_xstrdup (n->path);
      e->dev = n->st.st_dev;
      e->ino = n->st.st_ino;
      if (n->cap_len > 0)
        {
          e->cap = hoist_xmalloc (n->cap_len);
          memcpy (e->cap, n->cap, n->cap_len);
          e->cap_len = n->cap_len;
        }
      if (n->st.st_nlink > 1)
        {
          e->link_key[0] = st->src.ctx != NULL ? 1 : 2;
          e->link_key[1] = (uint64_t) n->st.st_dev;
          e->link_key[2] = (uint64_t) n->st.st_ino;
        }
    }
  return e;
}

/* ---- Directory trees ------------------------------------------------------------- */

struct tree_walk
{
  struct copy_state *st;
  size_t skip;                          /* bytes of the source path before the relative path */
  const char *target;                   /* where the tree goes */
  const struct builder_ignore *include; /* --parents: what to copy; NULL: all */
};

static int
tree_node (void *ud, const struct copy_node *n, struct hoist_error **err)
{
  struct tree_walk *w = ud;
  struct copy_state *st = w->st;
  const char *rel = n->path + w->skip;
  bool dir = S_ISDIR (n->st.st_mode), keep = true;
  struct copy_entry *e;

  if (w->include != NULL && !builder_ignore_excluded (w->include, rel))
    keep = false;
  if (st->excludes != NULL && builder_ignore_excluded (st->excludes, rel))
    {
      keep = false;
      if (dir && !builder_ignore_must_descend (st->excludes, rel))
        return 1;
    }
  if (!keep && !dir)
    return 0;
  if (check_room (st, err) < 0)
    return -1;
  e = entry_from_node (st, n, copy_path_join (w->target, rel));
  e->lazy = !keep;
  return 0;
}

/* The contents of directory D into TARGET. */
static int
copy_tree (struct copy_state *st, const struct copy_node *d, const char *target, const struct builder_ignore *include,
           struct hoist_error **err)
{
  struct tree_walk w = { .st = st, .target = target, .include = include };

  w.skip = d->path[0] != '\0' ? strlen (d->path) + 1 : 0;
  if (copy_add_parents (st, target, true, true, err) < 0)
    return -1;
  if (copy_src_walk (&st->src, d, tree_node, &w, err) < 0)
    return hoist_error_wrap (err, "%s: cannot copy '%s'", st->cmd, st->req->sources[st->item]);
  return 0;
}

/* ---- Local sources ------------------------------------------------------------------ */

static bool
has_wildcard (const char *s)
{
  return builder_path_has_wildcard (s, strlen (s));
}

static int
not_found (struct copy_state *st, const char *source, struct hoist_error **err)
{
  if (err == NULL || *err == NULL || (*err)->status != ENOENT)
    return hoist_error_wrap (err, "%s: source '%s'", st->cmd, source);
  if (st->src.ctx != NULL)
    return hoist_error_set_status (err, ENOENT,
                                   "%s: source '%s' not found in the build context (hint: is it excluded by "
                                   ".dockerignore?)",
                                   st->cmd, source);
  return hoist_error_set_status (err, ENOENT, "%s: source '%s' not found in the source root file system", st->cmd,
                                 source);
}

static char *
clean_source (struct copy_state *st, const char *source, struct hoist_error **err)
{
  bool escapes;
  char *clean = copy_path_clean (source, &escapes);

  if (escapes)
    {
      free (clean);
      hoist_error_set_status (err, EINVAL, "%s: source '%s' is outside %s (hint: sources are relative to its root)",
                              st->cmd, source, copy_src_name (&st->src));
      return NULL;
    }
  return clean;
}

/* Open regular file N of the source; *FD is owned by the caller. */
static int
open_node (struct copy_state *st, const struct copy_node *n, int *fd, struct hoist_error **err)
{
  struct stat s;

  if (st->src.ctx != NULL)
    return builder_context_open_file (st->src.ctx, n->path, fd, NULL, err);
  *fd = copy_open_beneath (st->src.fd, n->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (*fd < 0)
    return hoist_error_set (err, errno, "cannot open '/%s'", n->path);
  if (fstat (*fd, &s) < 0 || s.st_ino != n->st.st_ino || s.st_dev != n->st.st_dev)
    {
      close (*fd);
      *fd = -1;
      return hoist_error_set_status (err, ESTALE, "'/%s' changed during the build", n->path);
    }
  return 0;
}

/* ADD of a regular file: unpacked when it is an archive.  1 when it was. */
static int
try_unpack (struct copy_state *st, const struct copy_node *f, struct hoist_error **err)
{
  cleanup_close int fd = -1;
  int r;

  if (!st->req->is_add || st->req->unpack < 0 || !S_ISREG (f->st.st_mode))
    return 0;
  if (open_node (st, f, &fd, err) < 0)
    return hoist_error_wrap (err, "%s: cannot read '%s'", st->cmd, st->req->sources[st->item]);
  r = copy_archive_probe (fd);
  if (r <= 0)
    return 0;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return hoist_error_set (err, errno, "%s: cannot read '%s'", st->cmd, st->req->sources[st->item]);
  if (copy_archive_add (st, fd, st->req->sources[st->item], st->dest, err) < 0)
    return -1;
  return 1;
}

/* One match N of a source: its link followed, then copied. */
static int
copy_match (struct copy_state *st, const struct copy_node *n, struct hoist_error **err)
{
  struct copy_node followed = { 0 };
  const struct copy_node *f = n;
  cleanup_free char *target = NULL;
  int r = 0;

  if (S_ISLNK (n->st.st_mode))
    {
      /* BuildKit follows the source path itself (FollowSymlinks). */
      if (copy_src_follow (&st->src, n->path, &followed, err) < 0)
        return not_found (st, st->req->sources[st->item], err);
      f = &followed;
    }
  if (S_ISDIR (f->st.st_mode))
    r = copy_tree (st, f, st->dest, NULL, err);
  else
    {
      r = try_unpack (st, f, err);
      if (r == 0)
        {
          r = copy_file_target (st, copy_path_base (n->path), &target, err);
          if (r == 0)
            r = check_room (st, err);
          if (r == 0)
            entry_from_node (st, f, steal_pointer (&target));
        }
    }
  copy_node_release (&followed);
  return r < 0 ? -1 : 0;
}

/* The last K components of PATH. */
static const char *
last_components (const char *path, size_t k)
{
  const char *p = path + strlen (path);

  while (p > path)
    {
      if (p[-1] == '/' && --k == 0)
        break;
      p--;
    }
  return p;
}

static int
parse_include (struct copy_state *st, const char *pattern, struct builder_ignore **out, struct hoist_error **err)
{
  /* One line of .dockerignore syntax: '#' and '!' quoted, as the
   * pattern is meant literally. */
  cleanup_free char *line = hoist_xasprintf ("%s%s", pattern[0] == '#' || pattern[0] == '!' ? "\\" : "", pattern);

  if (strchr (pattern, '\n') != NULL || strchr (pattern, '\r') != NULL)
    return hoist_error_set_status (err, EINVAL, "%s: --parents source '%s' holds a line break", st->cmd, pattern);
  if (builder_ignore_parse (line, strlen (line), out, err) < 0)
    return hoist_error_wrap (err, "%s: bad source pattern '%s'", st->cmd, pattern);
  return 0;
}

static void
ignore_freep (struct builder_ignore **ig)
{
  builder_ignore_free (*ig);
}

/* --parents: SOURCE is [DIR/./]PATTERN. */
static int
copy_parents (struct copy_state *st, const char *source, struct hoist_error **err)
{
  const char *pivot = strstr (source, "/./");
  cleanup_free char *raw = hoist_xstrndup (source, pivot != NULL ? (size_t) (pivot - source) : 0);
  cleanup_free char *dir = clean_source (st, raw, err);
  cleanup_free char *pattern = dir != NULL ? clean_source (st, pivot != NULL ? pivot + 3 : source, err) : NULL;
  __attribute__ ((cleanup (ignore_freep))) struct builder_ignore *include = NULL;
  struct copy_node base = { 0 };
  int r;

  if (pattern == NULL)
    return -1;
  if (copy_src_follow (&st->src, dir, &base, err) < 0)
    return not_found (st, source, err);
  if (!S_ISDIR (base.st.st_mode))
    {
      copy_node_release (&base);
      return hoist_error_set_status (err, ENOTDIR, "%s: source '%s': '%s' is not a directory", st->cmd, source, dir);
    }
  if (!has_wildcard (dir) && !has_wildcard (pattern) && pattern[0] != '\0')
    {
      /* A plain path must be there (BuildKit's RequiredPaths). */
      cleanup_free char *whole = copy_path_join (dir, pattern);
      struct copy_node *v = NULL;
      size_t n = 0;

      r = copy_src_match (&st->src, whole, &v, &n, err);
      copy_nodes_free (v, n);
      if (r < 0)
        {
          copy_node_release (&base);
          return not_found (st, source, err);
        }
    }
  r = pattern[0] != '\0' ? parse_include (st, pattern, &include, err) : 0;
  if (r == 0)
    r = copy_tree (st, &base, st->dest, include, err);
  copy_node_release (&base);
  return r;
}

int
copy_local_count (struct copy_state *st, const char *source, size_t *n, struct hoist_error **err)
{
  cleanup_free char *clean = NULL;
  struct copy_node *v = NULL;

  *n = 1;
  if (st->req->parents)
    return 0;
  clean = clean_source (st, source, err);
  if (clean == NULL)
    return -1;
  if (copy_src_match (&st->src, clean, &v, n, err) < 0)
    return not_found (st, source, err);
  copy_nodes_free (v, *n);
  if (*n == 0)
    return hoist_error_set_status (err, ENOENT, "%s: source '%s' matched no files in %s", st->cmd, source,
                                   copy_src_name (&st->src));
  return 0;
}

int
copy_local_source (struct copy_state *st, const char *source, struct hoist_error **err)
{
  cleanup_free char *clean = NULL;
  struct copy_node *v = NULL;
  size_t n = 0, k = 0;
  bool wild;
  int r = 0;

  if (st->req->parents)
    return copy_parents (st, source, err);
  clean = clean_source (st, source, err);
  if (clean == NULL)
    return -1;
  if (copy_src_match (&st->src, clean, &v, &n, err) < 0)
    return not_found (st, source, err);
  wild = has_wildcard (clean);
  if (wild)
    {
      /* K: components of the pattern from the first with a wildcard. */
      const char *p = clean;

      while (*p != '\0')
        {
          size_t len = strcspn (p, "/");
          cleanup_free char *comp = hoist_xstrndup (p, len);

          if (has_wildcard (comp))
            break;
          p += len + (p[len] == '/');
        }
      for (k = 1; *p != '\0'; p++)
        k += *p == '/';
    }
  for (size_t i = 0; i < n && r == 0; i++)
    {
      /* Docker's documentation: what a wildcard matches is left out when
       * an --exclude pattern matches it (relative to the pattern's
       * directory); a source named plainly is always copied. */
      if (wild && st->excludes != NULL && builder_ignore_excluded (st->excludes, last_components (v[i].path, k)))
        continue;
      r = copy_match (st, &v[i], err);
    }
  copy_nodes_free (v, n);
  return r;
}

/* ---- Finishing the plan -------------------------------------------------------------- */

static int
entry_cmp (const void *a, const void *b)
{
  const struct copy_entry *x = a, *y = b;
  int c = builder_layer_path_cmp (x->path, y->path);

  if (c != 0)
    return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool
is_below (const char *path, const char *dir)
{
  size_t n = strlen (dir);

  return strncmp (path, dir, n) == 0 && path[n] == '/';
}

static const char *
item_name (const struct copy_state *st, const struct copy_entry *e)
{
  return st->req->sources[e->item];
}

/* Entries with one path become one: the last that is not an implicit
 * directory, as the later copy replaces the earlier on disk. */
static int
merge_same_paths (struct copy_state *st, struct hoist_error **err)
{
  struct builder_copy_plan *p = st->plan;
  size_t out = 0;

  for (size_t i = 0; i < p->n;)
    {
      size_t j = i, win = (size_t) -1;
      bool needed = false;

      while (j + 1 < p->n && strcmp (p->v[j + 1].path, p->v[i].path) == 0)
        j++;
      for (size_t k = i; k <= j; k++)
        {
          if (S_ISDIR (p->v[k].mode) != S_ISDIR (p->v[i].mode))
            {
              const struct copy_entry *d = S_ISDIR (p->v[k].mode) ? &p->v[k] : &p->v[i];
              const struct copy_entry *f = d == &p->v[k] ? &p->v[i] : &p->v[k];

              return hoist_error_set_status (err, EEXIST,
                                             "%s: '/%s' would be both a directory (from '%s') and a file (from '%s')",
                                             st->cmd, p->v[i].path, item_name (st, d), item_name (st, f));
            }
          needed |= !p->v[k].lazy;
          if (!p->v[k].implicit)
            win = k;
        }
      if (win == (size_t) -1)
        win = i;
      p->v[win].lazy = !needed;
      for (size_t k = i; k <= j; k++)
        if (k != win)
          copy_entry_release (&p->v[k]);
      p->v[out++] = p->v[win];
      i = j + 1;
    }
  p->n = out;
  return 0;
}

/* Lazy directories stay only when something kept is below them; what is
 * below a directory comes right after it. */
static void
drop_unused_lazy (struct builder_copy_plan *p)
{
  size_t next = (size_t) -1, out;
  bool *drop = hoist_xcalloc (p->n > 0 ? p->n : 1, sizeof (bool));

  for (size_t i = p->n; i-- > 0;)
    {
      if (p->v[i].lazy && (next == (size_t) -1 || !is_below (p->v[next].path, p->v[i].path)))
        drop[i] = true;
      else
        next = i;
    }
  out = 0;
  for (size_t i = 0; i < p->n; i++)
    {
      if (drop[i])
        copy_entry_release (&p->v[i]);
      else
        p->v[out++] = p->v[i];
    }
  p->n = out;
  free (drop);
}

/* What the copier refuses on disk: a directory where the image has a
 * file, a file where it has a directory.  Archives replace, as tar does. */
static int
check_image (struct copy_state *st, const struct copy_entry *e, struct hoist_error **err)
{
  struct stat s;

  if (st->image_fd < 0 || e->implicit || e->from_archive || copy_lstat_beneath (st->image_fd, e->path, &s) < 0)
    return 0;
  if (S_ISDIR (e->mode) && !S_ISDIR (s.st_mode))
    return hoist_error_set_status (err, ENOTDIR, "%s: cannot copy '%s' to '/%s': it is not a directory in the image",
                                   st->cmd, item_name (st, e), e->path);
  if (!S_ISDIR (e->mode) && S_ISDIR (s.st_mode))
    return hoist_error_set_status (err, EISDIR, "%s: cannot copy '%s' to '/%s': it is a directory in the image",
                                   st->cmd, item_name (st, e), e->path);
  return 0;
}

static int
path_key_cmp (const void *key, const void *elem)
{
  return builder_layer_path_cmp (key, ((const struct copy_entry *) elem)->path);
}

/* Nothing may be below a symlink or a file: extracting the layer would
 * write through it. */
static int
check_parent (struct copy_state *st, const struct copy_entry *e, struct hoist_error **err)
{
  const char *slash = strrchr (e->path, '/');
  cleanup_free char *parent = NULL;
  const struct copy_entry *p;

  if (slash == NULL)
    return 0;
  parent = hoist_xstrndup (e->path, (size_t) (slash - e->path));
  p = bsearch (parent, st->plan->v, st->plan->n, sizeof (*st->plan->v), path_key_cmp);
  if (p != NULL && !S_ISDIR (p->mode))
    return hoist_error_set_status (err, ENOTDIR, "%s: cannot copy '/%s' from '%s': '/%s' is not a directory", st->cmd,
                                   e->path, item_name (st, e), parent);
  return 0;
}

static int
check_entry (struct copy_state *st, const struct copy_entry *e, struct hoist_error **err)
{
  if (strncmp (copy_path_base (e->path), WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
    return hoist_error_set_status (err, EINVAL,
                                   "%s: cannot copy '/%s' from '%s': names starting with '" WHITEOUT_PREFIX
                                   "' would delete files of the image",
                                   st->cmd, e->path, item_name (st, e));
  if (strlen (e->path) > COPY_PATH_MAX)
    return hoist_error_set_status (err, ENAMETOOLONG, "%s: path '/%.64s...' is longer than %u bytes", st->cmd, e->path,
                                   COPY_PATH_MAX);
  if (check_parent (st, e, err) < 0)
    return -1;
  return check_image (st, e, err);
}

struct link_pair
{
  uint64_t key[3];
  size_t i;
};

static int
link_pair_cmp (const void *a, const void *b)
{
  const struct link_pair *x = a, *y = b;

  for (int k = 0; k < 3; k++)
    if (x->key[k] != y->key[k])
      return x->key[k] < y->key[k] ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Files of one inode: the first in layer order keeps the content, the
 * others become hard links to it. */
static void
link_files (struct builder_copy_plan *p)
{
  cleanup_free struct link_pair *v = hoist_xcalloc (p->n > 0 ? p->n : 1, sizeof (*v));
  size_t n = 0;

  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].link_key[0] != 0 && S_ISREG (p->v[i].mode))
      {
        memcpy (v[n].key, p->v[i].link_key, sizeof (v[n].key));
        v[n++].i = i;
      }
  if (n < 2)
    return;
  qsort (v, n, sizeof (*v), link_pair_cmp);
  for (size_t k = 1, lead = 0; k < n; k++)
    {
      struct copy_entry *e = &p->v[v[k].i];

      if (memcmp (v[k].key, v[lead].key, sizeof (v[k].key)) != 0)
        {
          lead = k;
          continue;
        }
      e->hardlink_target = hoist_xstrdup (p->v[v[lead].i].path);
      e->content = COPY_CONTENT_NONE;
      e->size = 0;
      e->digest[0] = '\0';
    }
}

int
copy_plan_finish (struct copy_state *st, struct hoist_error **err)
{
  struct builder_copy_plan *p = st->plan;

  if (p->n > 1)
    qsort (p->v, p->n, sizeof (*p->v), entry_cmp);
  if (merge_same_paths (st, err) < 0)
    return -1;
  drop_unused_lazy (p);
  for (size_t i = 0; i < p->n; i++)
    if (check_entry (st, &p->v[i], err) < 0)
      return -1;
  link_files (p);
  return 0;
}
