/* copy.c — COPY and ADD: one instruction into the entries of one layer.
 *
 * builder_copy_resolve checks the request, resolves DEST inside the
 * image, counts what the sources name (several need a DEST ending in
 * '/'), turns each source into entries (copy_tree.c, copy_archive.c,
 * copy_url.c) and finishes the plan: sorted, merged, hard links found.
 * builder_copy_write and builder_copy_digest then read the plan.
 *
 * Where hoist differs from BuildKit, on purpose:
 *  - a source that climbs out of its root ("../x") is refused; BuildKit
 *    reads it as "x" (cleaned under '/'), which hides the mistake;
 *  - a wildcard that matches nothing fails ("'x*' matched no files"), as
 *    the classic builder did; BuildKit's COPY now copies nothing;
 *  - several sources (after wildcards) need DEST to end in '/', as the
 *    documentation says; BuildKit copies them one over the other;
 *  - --exclude also leaves out what a wildcard source matches, as the
 *    documentation's own example does; BuildKit only filters below it;
 *  - names in --chown that the image does not have fail; BuildKit quietly
 *    uses 0;
 *  - what the copy makes up (created directories, heredoc files) gets
 *    SOURCE_DATE_EPOCH or 0, not the time of the build, so the layer is
 *    the same every time;
 *  - directories that already exist in the image are left out of the
 *    layer (the image keeps their metadata); BuildKit's diff writes them
 *    again, unchanged but with a new mtime;
 *  - --link changes nothing but DEST: it is taken as written, not through
 *    the image's symlinks, and its parents are written as new, as in
 *    BuildKit's separate --link layer. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_private.h"

#define HEREDOC_MODE 0644
#define URL_MODE 0600
#define READ_BLOCK (128 * 1024)

/* ---- Requests -------------------------------------------------------------------- */

struct request_priv
{
  char **sources; /* the array only: the strings are the instruction's */
  char **excludes;
};

static int
parse_bool (const struct builder_flag *f, bool *out, struct hoist_error **err)
{
  if (f->value == NULL || f->value[0] == '\0' || strcmp (f->value, "true") == 0)
    *out = true;
  else if (strcmp (f->value, "false") == 0)
    *out = false;
  else
    return hoist_error_set_status (err, EINVAL, "invalid --%s '%s' (hint: true or false)", f->name, f->value);
  return 0;
}

static const char *
nonempty (const char *s)
{
  return s != NULL && s[0] != '\0' ? s : NULL;
}

static int
apply_flag (struct builder_copy_request *req, struct request_priv *pv, const struct builder_flag *f,
            struct hoist_error **err)
{
  bool b = false;

  if (strcmp (f->name, "from") == 0)
    return 0; /* the caller's: it picks the source */
  if (strcmp (f->name, "chown") == 0)
    req->chown = nonempty (f->value);
  else if (strcmp (f->name, "chmod") == 0)
    req->chmod = nonempty (f->value);
  else if (strcmp (f->name, "checksum") == 0)
    req->checksum = nonempty (f->value);
  else if (strcmp (f->name, "exclude") == 0)
    {
      size_t n = hoist_strv_len (pv->excludes);

      pv->excludes = hoist_xreallocarray (pv->excludes, n + 2, sizeof (char *));
      pv->excludes[n] = f->value;
      pv->excludes[n + 1] = NULL;
      req->excludes = pv->excludes;
    }
  else if (strcmp (f->name, "link") == 0 || strcmp (f->name, "parents") == 0 || strcmp (f->name, "keep-git-dir") == 0
           || strcmp (f->name, "unpack") == 0)
    {
      if (parse_bool (f, &b, err) < 0)
        return -1;
      if (f->name[0] == 'l')
        req->link = b;
      else if (f->name[0] == 'p')
        req->parents = b;
      else if (f->name[0] == 'k')
        req->keep_git_dir = b;
      else
        req->unpack = b ? 1 : -1;
    }
  else
    return hoist_error_set_status (err, EINVAL, "unknown flag --%s", f->name);
  return 0;
}

int
builder_copy_request_init (struct builder_copy_request *req, const struct builder_instruction *insn,
                           struct hoist_error **err)
{
  struct request_priv *pv;

  memset (req, 0, sizeof (*req));
  if (insn->keyword != BUILDER_KW_COPY && insn->keyword != BUILDER_KW_ADD)
    return hoist_error_set_status (err, EINVAL, "%s is not COPY or ADD", builder_keyword_name (insn->keyword));
  if (insn->n_args < 2)
    return hoist_error_set_status (err, EINVAL, "%s requires at least two arguments",
                                   builder_keyword_name (insn->keyword));
  pv = hoist_xcalloc (1, sizeof (*pv));
  req->priv_ = pv;
  pv->sources = hoist_xcalloc (insn->n_args, sizeof (char *));
  memcpy (pv->sources, insn->args, (insn->n_args - 1) * sizeof (char *));
  req->sources = pv->sources;
  req->dest = insn->args[insn->n_args - 1];
  req->is_add = insn->keyword == BUILDER_KW_ADD;
  req->workdir = "/";
  req->heredocs = insn->heredocs;
  req->n_heredocs = insn->n_heredocs;
  req->source_date_epoch = -1;
  for (size_t i = 0; i < insn->n_flags; i++)
    if (apply_flag (req, pv, &insn->flags[i], err) < 0)
      {
        builder_copy_request_release (req);
        return hoist_error_wrap (err, "%s", builder_keyword_name (insn->keyword));
      }
  return 0;
}

void
builder_copy_request_release (struct builder_copy_request *req)
{
  struct request_priv *pv = req->priv_;

  if (pv != NULL)
    {
      free (pv->sources);
      free (pv->excludes);
      free (pv);
    }
  memset (req, 0, sizeof (*req));
}

/* ---- Plans ----------------------------------------------------------------------- */

const struct builder_build_dep *
builder_copy_plan_urls (const struct builder_copy_plan *p, size_t *n)
{
  *n = p->n_urls;
  return p->urls;
}

void
builder_copy_plan_free (struct builder_copy_plan *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_urls; i++)
    free (p->urls[i].name);
  free (p->urls);
  for (size_t i = 0; i < p->n; i++)
    copy_entry_release (&p->v[i]);
  free (p->v);
  if (p->temp_fd >= 0)
    {
      char name[32];

      for (uint64_t i = 0; i < p->n_temp; i++)
        {
          snprintf (name, sizeof (name), "%" PRIu64, i);
          unlinkat (p->temp_fd, name, 0);
        }
      close (p->temp_fd);
      rmdir (p->temp_dir);
    }
  free (p->temp_dir);
  if (p->root_fd >= 0)
    close (p->root_fd);
  free (p);
}

size_t
builder_copy_plan_count (const struct builder_copy_plan *p)
{
  return p->n;
}

static void
plan_freep (struct builder_copy_plan **p)
{
  builder_copy_plan_free (*p);
}

/* ---- Resolving --------------------------------------------------------------------- */

static void
state_release (struct copy_state *st)
{
  copy_chmod_release (&st->chmod);
  builder_ignore_free (st->excludes);
  free (st->dest);
  if (st->image_fd >= 0)
    close (st->image_fd);
}

/* The heredoc a "<<NAME" source word stands for; NULL when WORD is not
 * one, or names no body (*IS_HEREDOC tells these apart). */
static const struct builder_heredoc *
heredoc_of (const struct builder_copy_request *req, const char *word, bool *is_heredoc)
{
  const char *p = word;
  size_t len;

  *is_heredoc = false;
  if (strncmp (p, "<<", 2) != 0 || p[2] == '\0')
    return NULL;
  *is_heredoc = true;
  p += 2;
  if (*p == '-')
    p++;
  len = strlen (p);
  if (len >= 2 && (p[0] == '"' || p[0] == '\'') && p[len - 1] == p[0])
    p++, len -= 2;
  for (size_t i = 0; i < req->n_heredocs; i++)
    if (strlen (req->heredocs[i].name) == len && strncmp (req->heredocs[i].name, p, len) == 0)
      return &req->heredocs[i];
  return NULL;
}

static int
add_heredoc (struct copy_state *st, const struct builder_heredoc *h, struct hoist_error **err)
{
  cleanup_free char *body = h->chomp ? builder_heredoc_chomp (h->body) : hoist_xstrdup (h->body);
  cleanup_free char *target = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];
  size_t len = strlen (body);
  cleanup_close int fd = -1;
  struct copy_entry *e;
  uint64_t temp;

  if (h->name[0] == '\0' || strchr (h->name, '/') != NULL || strcmp (h->name, ".") == 0 || strcmp (h->name, "..") == 0)
    return hoist_error_set_status (err, EINVAL, "%s: heredoc name '%s' cannot be a file name", st->cmd, h->name);
  if (hoist_sha256_digest (body, len, digest, err) < 0 || copy_temp_create (st, &fd, &temp, err) < 0
      || copy_write_all (st, fd, body, len, err) < 0)
    return hoist_error_wrap (err, "%s: heredoc '%s'", st->cmd, h->name);
  if (copy_file_target (st, h->name, &target, err) < 0)
    return -1;
  e = copy_add_temp_file (st, steal_pointer (&target), HEREDOC_MODE, temp, (int64_t) len, digest);
  e->mode = copy_chmod_apply (&st->chmod, e->mode);
  return 0;
}

static int
add_url (struct copy_state *st, const char *url, struct hoist_error **err)
{
  cleanup_free char *name = NULL, *target = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];
  int64_t size, mtime;
  struct copy_entry *e;
  cleanup_close int fd = -1;
  uint64_t temp;

  if (copy_url_fetch (st, url, st->req->checksum, &fd, &temp, &size, digest, &mtime, &name, err) < 0)
    return -1;
  st->plan->urls = hoist_xreallocarray (st->plan->urls, st->plan->n_urls + 1, sizeof *st->plan->urls);
  st->plan->urls[st->plan->n_urls] = (struct builder_build_dep){ .name = hoist_xstrdup (url) };
  memcpy (st->plan->urls[st->plan->n_urls++].digest, digest, sizeof digest);
  if (st->req->unpack > 0 && copy_archive_probe (fd) > 0)
    {
      if (lseek (fd, 0, SEEK_SET) < 0)
        return hoist_error_set (err, errno, "ADD: cannot read the download of '%s'", url);
      return copy_archive_add (st, fd, url, st->dest, err);
    }
  if (copy_file_target (st, name, &target, err) < 0)
    return -1;
  e = copy_add_temp_file (st, steal_pointer (&target), URL_MODE, temp, size, digest);
  e->mode = copy_chmod_apply (&st->chmod, e->mode);
  e->mtime.tv_sec = mtime;
  e->mtime.tv_nsec = 0;
  return 0;
}

static int
check_checksum (struct copy_state *st, struct hoist_error **err)
{
  const struct builder_copy_request *req = st->req;
  const char *only = NULL;
  size_t n = 0;
  bool hd;

  if (req->checksum == NULL)
    return 0;
  if (!req->is_add)
    return hoist_error_set_status (err, EINVAL, "COPY: --checksum can only be used with ADD");
  for (size_t i = 0; req->sources[i] != NULL; i++)
    if (heredoc_of (req, req->sources[i], &hd), !hd)
      only = req->sources[i], n++;
  if (n != 1)
    return hoist_error_set_status (err, EINVAL, "ADD: --checksum needs exactly one source, not %zu", n);
  if (copy_is_git (only))
    return hoist_error_set_status (err, ENOTSUP, "ADD of git repositories is not supported yet");
  if (!copy_is_url (only))
    return hoist_error_set_status (err, EINVAL, "ADD: --checksum needs an HTTP(S) URL source, not '%s'", only);
  if (!hoist_digest_valid (req->checksum))
    return hoist_error_set_status (err, EINVAL, "ADD: invalid --checksum '%s' (hint: sha256:<64 lowercase hex digits>)",
                                   req->checksum);
  return 0;
}

static int
parse_excludes (struct copy_state *st, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf text;

  hoist_buf_init (&text, BUILDER_IGNORE_MAX);
  if (st->req->excludes == NULL || st->req->excludes[0] == NULL)
    return 0;
  for (size_t i = 0; st->req->excludes[i] != NULL; i++)
    {
      const char *x = st->req->excludes[i];

      if (strpbrk (x, "\r\n") != NULL)
        return hoist_error_set_status (err, EINVAL, "%s: --exclude '%s' holds a line break", st->cmd, x);
      /* One .dockerignore line each; '#' would start a comment there. */
      if ((x[0] == '#' && hoist_buf_addch (&text, '\\', err) < 0) || hoist_buf_addstr (&text, x, err) < 0
          || hoist_buf_addch (&text, '\n', err) < 0)
        return hoist_error_wrap (err, "%s: --exclude", st->cmd);
    }
  if (builder_ignore_parse (text.data, text.len, &st->excludes, err) < 0)
    return hoist_error_wrap (err, "%s: invalid --exclude", st->cmd);
  return 0;
}

/* DEST against WORKDIR, resolved inside the image (not with --link). */
static int
resolve_dest (struct copy_state *st, struct hoist_error **err)
{
  const struct builder_copy_request *req = st->req;
  const char *d = req->dest[0] != '\0' ? req->dest : "./";
  const char *wd = req->workdir != NULL && req->workdir[0] != '\0' ? req->workdir : "/";
  size_t len = strlen (d);
  cleanup_free char *abs = d[0] == '/' ? hoist_xstrdup (d) : hoist_xasprintf ("%s/%s", wd, d);
  cleanup_free char *clean = copy_path_clean (abs, NULL);

  st->dest_slash = d[len - 1] == '/' || strcmp (d, ".") == 0 || (len >= 2 && strcmp (d + len - 2, "/.") == 0);
  if (st->image_fd < 0)
    {
      st->dest = steal_pointer (&clean);
      return 0;
    }
  if (copy_root_resolve (st->image_fd, clean, true, &st->dest, &st->dest_exists, &st->dest_st, err) < 0)
    return hoist_error_wrap (err, "%s: destination '%s'", st->cmd, req->dest);
  return 0;
}

static int
open_dir (const char *dir, const char *what, int *fd, struct hoist_error **err)
{
  *fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    return hoist_error_set (err, errno, "cannot open %s '%s'", what, dir);
  return 0;
}

static int
setup (struct copy_state *st, const struct builder_copy_source *src, struct hoist_error **err)
{
  const struct builder_copy_request *req = st->req;
  const char *tmp = req->tmp_dir != NULL ? req->tmp_dir : secure_getenv ("TMPDIR");
  cleanup_close int names_fd = -1;

  st->tmp_dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
  st->created.tv_sec = req->source_date_epoch >= 0 ? req->source_date_epoch : 0;
  if ((src->context == NULL) == (src->root_dir == NULL))
    return hoist_error_set_status (err, EINVAL, "%s: give either a build context or a directory to copy from", st->cmd);
  if (req->sources == NULL || req->sources[0] == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: no source files were specified", st->cmd);
  if (req->dest == NULL)
    return hoist_error_set_status (err, EINVAL, "%s: no destination was specified", st->cmd);
  st->src.ctx = src->context;
  st->src.fd = -1;
  if (src->root_dir != NULL && open_dir (src->root_dir, "source directory", &st->plan->root_fd, err) < 0)
    return hoist_error_wrap (err, "%s", st->cmd);
  st->src.fd = st->plan->root_fd;
  if (req->image_root != NULL && open_dir (req->image_root, "image root", &names_fd, err) < 0)
    return hoist_error_wrap (err, "%s", st->cmd);
  if (req->chown != NULL && req->chown[0] != '\0')
    {
      if (copy_chown_parse (req->chown, names_fd, &st->uid, &st->gid, err) < 0)
        return hoist_error_wrap (err, "%s: --chown", st->cmd);
      st->have_chown = true;
    }
  if (req->chmod != NULL && req->chmod[0] != '\0' && copy_chmod_parse (req->chmod, &st->chmod, err) < 0)
    return hoist_error_wrap (err, "%s", st->cmd);
  /* --link: the layer is made apart from the image, DEST included. */
  if (!req->link)
    st->image_fd = steal_fd (&names_fd);
  if (parse_excludes (st, err) < 0 || check_checksum (st, err) < 0)
    return -1;
  return resolve_dest (st, err);
}

enum source_kind
{
  SOURCE_LOCAL,
  SOURCE_HEREDOC,
  SOURCE_URL,
};

static int
classify (struct copy_state *st, const char *s, enum source_kind *kind, const struct builder_heredoc **h,
          struct hoist_error **err)
{
  bool is_heredoc;

  *h = heredoc_of (st->req, s, &is_heredoc);
  if (is_heredoc)
    {
      if (*h == NULL)
        return hoist_error_set_status (err, EINVAL, "%s: heredoc source '%s' has no body", st->cmd, s);
      *kind = SOURCE_HEREDOC;
      return 0;
    }
  if (copy_is_git (s))
    {
      if (!st->req->is_add)
        return hoist_error_set_status (err, EINVAL, "COPY: source '%s' is a git repository (hint: ADD clones them)", s);
      return hoist_error_set_status (err, ENOTSUP, "ADD of git repositories is not supported yet");
    }
  if (copy_is_url (s))
    {
      if (!st->req->is_add)
        return hoist_error_set_status (err, EINVAL, "COPY: source '%s' is a URL (hint: use ADD to download it)", s);
      *kind = SOURCE_URL;
      return 0;
    }
  *kind = SOURCE_LOCAL;
  return 0;
}

static int
resolve_sources (struct copy_state *st, struct hoist_error **err)
{
  const struct builder_copy_request *req = st->req;
  const struct builder_heredoc *h;
  enum source_kind kind;
  size_t total = 0, n;

  /* First what every source names, so that nothing is fetched for an
   * instruction that fails on a later source. */
  for (size_t i = 0; req->sources[i] != NULL; i++)
    {
      st->item = i;
      if (classify (st, req->sources[i], &kind, &h, err) < 0)
        return -1;
      n = 1;
      if (kind == SOURCE_LOCAL && copy_local_count (st, req->sources[i], &n, err) < 0)
        return -1;
      total += n;
    }
  if (total > 1 && !st->dest_slash)
    return hoist_error_set_status (
        err, EINVAL,
        "%s: when using %s with more than one source file, the destination must be a directory "
        "and end with a / (hint: '%s/')",
        st->cmd, st->cmd, req->dest);
  for (size_t i = 0; req->sources[i] != NULL; i++)
    {
      int r;

      st->item = i;
      if (classify (st, req->sources[i], &kind, &h, err) < 0)
        return -1;
      if (kind == SOURCE_HEREDOC)
        r = add_heredoc (st, h, err);
      else if (kind == SOURCE_URL)
        r = add_url (st, req->sources[i], err);
      else
        r = copy_local_source (st, req->sources[i], err);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
builder_copy_resolve (const struct builder_copy_source *src, const struct builder_copy_request *req,
                      struct builder_copy_plan **out, struct hoist_error **err)
{
  __attribute__ ((cleanup (plan_freep))) struct builder_copy_plan *plan = hoist_xcalloc (1, sizeof (*plan));
  struct copy_state st = { .req = req, .cmd = req->is_add ? "ADD" : "COPY", .plan = plan, .image_fd = -1 };
  int ret;

  plan->root_fd = -1;
  plan->temp_fd = -1;
  plan->ctx = src->context;
  plan->epoch = req->source_date_epoch;
  ret = setup (&st, src, err);
  if (ret == 0)
    ret = resolve_sources (&st, err);
  if (ret == 0)
    ret = copy_plan_finish (&st, err);
  state_release (&st);
  if (ret < 0)
    return -1;
  *out = steal_pointer (&plan);
  return 0;
}

/* ---- Reading the plan ------------------------------------------------------------------ */

/* Open the content of regular file E: *FD is positioned at its first
 * byte; *OWNED tells whether the caller closes it. */
static int
open_content (const struct builder_copy_plan *p, const struct copy_entry *e, int *fd, bool *owned,
              struct hoist_error **err)
{
  struct stat s;

  *owned = true;
  switch (e->content)
    {
    case COPY_CONTENT_CONTEXT:
      return builder_context_open_file (p->ctx, e->ce->path, fd, NULL, err);
    case COPY_CONTENT_DIR:
      *fd = copy_open_beneath (p->root_fd, e->src_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
      if (*fd < 0)
        return hoist_error_set (err, errno, "cannot open '/%s'", e->src_path);
      if (fstat (*fd, &s) < 0 || s.st_ino != e->ino || s.st_dev != e->dev || s.st_size != e->size)
        {
          close (*fd);
          return hoist_error_set_status (err, ESTALE, "'/%s' changed during the build", e->src_path);
        }
      return 0;
    case COPY_CONTENT_TEMP:
      return copy_temp_open (p, e->temp, fd, err);
    default:
      *fd = -1;
      return 0;
    }
}

int
builder_copy_write (const struct builder_copy_plan *p, struct builder_layer_writer *w, struct hoist_error **err)
{
  for (size_t i = 0; i < p->n; i++)
    {
      const struct copy_entry *e = &p->v[i];
      struct builder_xattr x = { "security.capability", e->cap, e->cap_len };
      struct builder_layer_entry le = {
        .path = e->path,
        .mode = e->mode,
        .uid = e->uid,
        .gid = e->gid,
        .mtime = e->mtime,
        .size = e->size,
        .fd = -1,
        .link_target = e->link_target,
        .hardlink_target = e->hardlink_target,
        .rdev = e->rdev,
        .xattrs = e->cap_len > 0 ? &x : NULL,
        .n_xattrs = e->cap_len > 0 ? 1 : 0,
      };
      bool owned = false;
      int r;

      if (e->hardlink_target == NULL && S_ISREG (e->mode) && e->size > 0
          && open_content (p, e, &le.fd, &owned, err) < 0)
        return hoist_error_wrap (err, "cannot write '/%s' to the layer", e->path);
      r = builder_layer_add (w, &le, err);
      if (owned && le.fd >= 0)
        close (le.fd);
      if (r < 0)
        return hoist_error_wrap (err, "cannot write '/%s' to the layer", e->path);
    }
  return 0;
}

static int
hash_fd (int fd, char out[HOIST_DIGEST_STR_SIZE], int64_t size, struct hoist_error **err)
{
  cleanup_free char *buf = hoist_xmalloc (READ_BLOCK);
  struct hoist_sha256 h;
  int64_t left = size;

  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  while (left > 0)
    {
      ssize_t n = read (fd, buf, left < READ_BLOCK ? (size_t) left : READ_BLOCK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          hoist_sha256_release (&h);
          return hoist_error_set (err, n < 0 ? errno : ESTALE, "cannot read the file");
        }
      hoist_sha256_update (&h, buf, (size_t) n);
      left -= n;
    }
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
  return 0;
}

static int
content_digest (const struct builder_copy_plan *p, const struct copy_entry *e, char out[HOIST_DIGEST_STR_SIZE],
                struct hoist_error **err)
{
  bool owned;
  int fd, r;

  out[0] = '\0';
  if (!S_ISREG (e->mode) || e->hardlink_target != NULL)
    return 0;
  if (e->content == COPY_CONTENT_TEMP)
    {
      memcpy (out, e->digest, HOIST_DIGEST_STR_SIZE);
      return 0;
    }
  if (e->content == COPY_CONTENT_CONTEXT)
    return builder_context_file_digest (p->ctx, e->ce, out, err);
  if (open_content (p, e, &fd, &owned, err) < 0)
    return -1;
  r = hash_fd (fd, out, e->size, err);
  close (fd);
  return r;
}

/* One field and its NUL: no path or link target can hold a NUL, so the
 * stream reads back one way only. */
static void
hash_field (struct hoist_sha256 *h, const char *s)
{
  hoist_sha256_update (h, s, strlen (s) + 1);
}

static void
hash_entry (struct hoist_sha256 *h, const struct copy_entry *e, int64_t mtime, const char *digest)
{
  static const char hex[] = "0123456789abcdef";
  char cap[2 * COPY_XATTR_MAX + 1] = "";
  char num[128];

  for (size_t k = 0; k < e->cap_len && k < COPY_XATTR_MAX; k++)
    {
      cap[2 * k] = hex[e->cap[k] >> 4];
      cap[2 * k + 1] = hex[e->cap[k] & 15];
      cap[2 * k + 2] = '\0';
    }
  hash_field (h, e->path);
  snprintf (num, sizeof (num), "%o %u %u %lld %llu", (unsigned) e->mode, (unsigned) e->uid, (unsigned) e->gid,
            (long long) mtime, (unsigned long long) e->rdev);
  hash_field (h, num);
  hash_field (h, e->link_target != NULL ? e->link_target : "");
  hash_field (h, e->hardlink_target != NULL ? e->hardlink_target : "");
  hash_field (h, cap);
  hash_field (h, digest);
}

/* The context's files the plan copies, hashed in parallel before the
 * loop below reads their digests in order. */
static void
prefetch_context (const struct builder_copy_plan *p)
{
  cleanup_free const struct builder_context_entry **v = hoist_xcalloc (p->n > 0 ? p->n : 1, sizeof *v);
  size_t n = 0;

  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].content == COPY_CONTENT_CONTEXT && S_ISREG (p->v[i].mode) && p->v[i].hardlink_target == NULL)
      v[n++] = p->v[i].ce;
  builder_context_prefetch_digests (p->ctx, v, n);
}

int
builder_copy_digest (const struct builder_copy_plan *p, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  static const char version[] = "hoist-copy-v1";
  struct hoist_sha256 h;

  if (p->ctx != NULL)
    prefetch_context (p);
  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  hash_field (&h, version);
  for (size_t i = 0; i < p->n; i++)
    {
      const struct copy_entry *e = &p->v[i];
      char digest[HOIST_DIGEST_STR_SIZE];
      int64_t mtime = e->mtime.tv_sec;

      if (content_digest (p, e, digest, err) < 0)
        {
          hoist_sha256_release (&h);
          return hoist_error_wrap (err, "cannot hash '/%s'", e->path);
        }
      /* As the layer writer will write it. */
      if (p->epoch >= 0 && mtime > p->epoch)
        mtime = p->epoch;
      hash_entry (&h, e, mtime, digest);
    }
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
  return 0;
}
