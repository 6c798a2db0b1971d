/* copy_private.h — internals shared by the COPY/ADD sources:
 *  copy.c          the API: requests, the resolve driver, write, digest;
 *  copy_tree.c     sources to entries (files, directory contents, --parents,
 *                  --exclude), and the final sort, merge and hard links;
 *  copy_src.c      what a source names: the build context or a directory
 *                  tree on disk, behind one interface;
 *  copy_path.c     paths, opens beneath a root, --chown and --chmod;
 *  copy_archive.c  ADD of tar archives;
 *  copy_url.c      ADD of http(s) URLs.
 * Not part of builder's API: include builder.h instead. */
#ifndef HOIST_BUILDER_COPY_PRIVATE_H
#define HOIST_BUILDER_COPY_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "copy_private.h is private to builder/"
#endif

#include <stdint.h>
#include <sys/stat.h>

#include "builder/builder.h"

/* As Linux's MAXSYMLINKS: how many symlinks one resolution may follow. */
#define COPY_LINKS_MAX 40
/* Longest path of an entry, in bytes (what one openat2 call takes). */
#define COPY_PATH_MAX 4095u
/* Most entries one COPY or ADD may produce. */
#define COPY_ENTRIES_MAX 1000000u
/* Largest /etc/passwd or /etc/group read for --chown (as BuildKit). */
#define COPY_USER_FILE_MAX (10u * 1024 * 1024)
/* Largest security.capability value kept. */
#define COPY_XATTR_MAX 256u

/* Where a regular file's content is read from when the layer is written. */
enum copy_content
{
  COPY_CONTENT_NONE = 0, /* not a regular file, or a hard link */
  COPY_CONTENT_CONTEXT,  /* a build context entry */
  COPY_CONTENT_DIR,      /* a file below the source directory */
  COPY_CONTENT_TEMP,     /* a temp file of the plan */
};

/* One entry of the layer being planned.  Every pointer is owned. */
struct copy_entry
{
  char *path; /* relative, clean; never "" */
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
  int64_t size;
  dev_t rdev;
  char *link_target;
  char *hardlink_target; /* set when the plan is finished */
  unsigned char *cap;    /* security.capability, or NULL */
  size_t cap_len;
  enum copy_content content;
  const struct builder_context_entry *ce; /* CONTEXT */
  char *src_path;                         /* DIR: below the source root, no symlink in it */
  dev_t dev;                              /* DIR: what lstat saw */
  ino_t ino;
  uint64_t temp;                      /* TEMP: its name in the plan's temp directory */
  char digest[HOIST_DIGEST_STR_SIZE]; /* TEMP: the content's; "" otherwise */
  /* Files with the same non-zero key are one inode: hard links. */
  uint64_t link_key[3];
  /* A directory the copy creates (a parent of DEST, or DEST): it never
   * replaces an entry of the same path, whatever came first. */
  bool implicit;
  /* From an archive: replaces what the image has, as tar -x does. */
  bool from_archive;
  /* A source directory kept only as the parent of something copied (an
   * excluded one, or one --parents did not match): dropped when nothing
   * below it is. */
  bool lazy;
  size_t seq;  /* order of creation: of two entries with one path, the later wins */
  size_t item; /* the source it comes from, for errors */
};

struct builder_copy_plan
{
  struct copy_entry *v;
  size_t n;
  size_t alloc;
  struct builder_context *ctx; /* borrowed */
  int root_fd;                 /* the source directory; -1 */
  /* What the copy makes up or unpacks, one file each (the layer writer
   * reads a file to its end): files "0", "1", ... in a directory of its
   * own, made when first needed, removed by builder_copy_plan_free. */
  char *temp_dir;
  int temp_fd; /* O_PATH of TEMP_DIR; -1 */
  uint64_t n_temp;
  int64_t epoch; /* source_date_epoch, negative when unset */
  /* ADD of URLs: each URL and the digest of what it gave, for provenance. */
  struct builder_build_dep *urls;
  size_t n_urls;
};

/* ---- copy_src.c: sources -------------------------------------------------- */

struct copy_src
{
  struct builder_context *ctx; /* the build context, or NULL */
  int fd;                      /* else: the directory tree's root, O_PATH */
};

/* One file, directory or symlink of a source.  Borrowed fields point into
 * the context or into the OWN_ members, which copy_node_release frees. */
struct copy_node
{
  const char *path; /* relative to the source root; "" for the root */
  struct stat st;
  const char *link_target;
  const unsigned char *cap;
  size_t cap_len;
  const struct builder_context_entry *ce; /* context nodes */
  char *own_path;
  char *own_link;
  unsigned char *own_cap;
};

void copy_node_release (struct copy_node *n);
void copy_nodes_free (struct copy_node *v, size_t n);

/* "the build context" or "the source root file system": errors say it. */
const char *copy_src_name (const struct copy_src *s);

/* The nodes SOURCE names (see builder_context_match): without wildcards
 * one node, its directories resolved, the last component taken as it is;
 * with wildcards every match, in walk order, possibly none.  CLEAN is the
 * source cleaned (copy_path_clean).  *OUT is owned by the caller
 * (copy_nodes_free).  ENOENT when a plain source or the directory part is
 * missing. */
int copy_src_match (const struct copy_src *s, const char *clean, struct copy_node **out, size_t *n,
                    struct hoist_error **err) HOIST_WUR;

/* CLEAN with every symlink followed inside the source, the last one's
 * included.  ENOENT when it leads nowhere. */
int copy_src_follow (const struct copy_src *s, const char *clean, struct copy_node *out,
                     struct hoist_error **err) HOIST_WUR;

typedef int (*copy_walk_fn) (void *ud, const struct copy_node *n, struct hoist_error **err);

/* Call FN for every node below directory DIR, in walk order (parents
 * first, names sorted bytewise), symlinks not followed.  FN's nodes are
 * valid for the call only.  FN returns 0, 1 to skip what is below the
 * directory it was given, or negative to stop the walk. */
int copy_src_walk (const struct copy_src *s, const struct copy_node *dir, copy_walk_fn fn, void *ud,
                   struct hoist_error **err) HOIST_WUR;

/* ---- copy_path.c: paths, roots, owners, modes ----------------------------- */

/* P cleaned as if it were under '/': no leading or trailing '/', no "."
 * or empty component, ".." applied; "" for the root.  *ESCAPES (when not
 * NULL) is set when a ".." would have climbed above the root. */
char *copy_path_clean (const char *p, bool *escapes);
/* A and B joined with '/', either may be "". */
char *copy_path_join (const char *a, const char *b);
/* The last component of a clean path. */
const char *copy_path_base (const char *p);

/* openat2 (DIRFD, PATH, FLAGS) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
 * or one component at a time with O_NOFOLLOW where openat2 is missing.
 * PATH "" opens DIRFD itself.  Returns the fd, or -1 with errno set. */
int copy_open_beneath (int dirfd, const char *path, int flags);
/* lstat of PATH below DIRFD, no symlink followed on the way. */
int copy_lstat_beneath (int dirfd, const char *path, struct stat *st);

/* Follow the clean PATH below ROOT_FD as BuildKit's RootPath does: every
 * symlink on the way (the last one's only when FOLLOW_LAST) resolved
 * inside the root, ".." stopping at it, at most COPY_LINKS_MAX links; the
 * part after a missing component is taken as it is.  *OUT (owned) gets
 * the clean real path; *EXISTS whether it is there, and then *ST its
 * lstat.  Fails on too many links and on a component that is not a
 * directory. */
int copy_root_resolve (int root_fd, const char *path, bool follow_last, char **out, bool *exists, struct stat *st,
                       struct hoist_error **err) HOIST_WUR;

/* --chown: "user[:group]", each a name or a decimal id.  Names are looked
 * up in IMAGE_FD's /etc/passwd and /etc/group (-1: no image, names fail
 * but "root").  A user alone takes the user's primary group, or the same
 * id when given as a number. */
int copy_chown_parse (const char *spec, int image_fd, uid_t *uid, gid_t *gid, struct hoist_error **err) HOIST_WUR;

struct copy_chmod_clause
{
  mode_t who; /* bits the clause may touch */
  char op;    /* '+', '-', '=' */
  char copy;  /* 'u', 'g', 'o' to copy that class's bits; 0 */
  mode_t perm;
  bool cap_x; /* 'X' */
};

struct copy_chmod
{
  bool set;
  bool symbolic;
  mode_t octal;
  struct copy_chmod_clause *clauses;
  size_t n;
};

/* --chmod: octal up to 07777 or symbolic (chmod(1), umask 0).  *OUT is
 * released with copy_chmod_release. */
int copy_chmod_parse (const char *spec, struct copy_chmod *out, struct hoist_error **err) HOIST_WUR;
void copy_chmod_release (struct copy_chmod *c);
/* MODE (type and permission bits) with C applied: symlinks unchanged. */
mode_t copy_chmod_apply (const struct copy_chmod *c, mode_t mode);

/* ---- copy_tree.c: entries ------------------------------------------------- */

/* What one resolve works with; lives for the call. */
struct copy_state
{
  const struct builder_copy_request *req;
  const char *cmd; /* "COPY" or "ADD" */
  struct builder_copy_plan *plan;
  struct copy_src src;
  int image_fd; /* the image root; -1 without one, or with --link */
  bool have_chown;
  uid_t uid;
  gid_t gid;
  struct copy_chmod chmod;
  struct builder_ignore *excludes; /* NULL: none */
  char *dest;                      /* DEST resolved in the image: clean, "" for the root */
  bool dest_slash;                 /* DEST ends in '/' (or "/.", or is ".") */
  bool dest_exists;
  struct stat dest_st;
  struct timespec created; /* mtime of what the copy makes up */
  size_t seq;
  size_t item;
  const char *tmp_dir;
};

void copy_entry_release (struct copy_entry *e);
/* A new zeroed entry at PATH (taken) for the current item. */
struct copy_entry *copy_entry_push (struct copy_state *st, char *path);
/* The directories PATH needs that the image lacks, PATH included when
 * WITH_SELF: implicit, 0755 (or the octal --chmod when CHMOD), owned by the
 * --chown ids or 0:0. */
int copy_add_parents (struct copy_state *st, const char *path, bool with_self, bool chmod,
                      struct hoist_error **err) HOIST_WUR;
/* A regular file at PATH (taken) whose content is temp file TEMP, LEN
 * bytes, digest DIGEST. */
struct copy_entry *copy_add_temp_file (struct copy_state *st, char *path, mode_t mode, uint64_t temp, int64_t len,
                                       const char *digest);

/* The target of a file named NAME: inside DEST when DEST is a directory,
 * else DEST itself.  Adds the parents.  *OUT is owned by the caller. */
int copy_file_target (struct copy_state *st, const char *name, char **out, struct hoist_error **err) HOIST_WUR;

/* Copy what the local SOURCE (as written) names: files, directory
 * contents, --parents, --exclude; ADD archives are handed to
 * copy_archive_add. */
int copy_local_source (struct copy_state *st, const char *source, struct hoist_error **err) HOIST_WUR;
/* How many items SOURCE names (matches), for the several-sources rule. */
int copy_local_count (struct copy_state *st, const char *source, size_t *n, struct hoist_error **err) HOIST_WUR;

/* Sort, merge entries with one path, check them against the image, and
 * link files of one inode. */
int copy_plan_finish (struct copy_state *st, struct hoist_error **err) HOIST_WUR;

/* A new temp file of the plan, open for reading and writing: *FD is the
 * caller's to close, *TEMP its name. */
int copy_temp_create (struct copy_state *st, int *fd, uint64_t *temp, struct hoist_error **err) HOIST_WUR;
/* Open temp file TEMP of P for reading. */
int copy_temp_open (const struct builder_copy_plan *p, uint64_t temp, int *fd, struct hoist_error **err) HOIST_WUR;
/* Write LEN bytes of BUF to FD (a temp file). */
int copy_write_all (struct copy_state *st, int fd, const void *buf, size_t len, struct hoist_error **err) HOIST_WUR;

/* ---- copy_archive.c ------------------------------------------------------- */

/* 1 when FD (read from its start) is a tar archive, plain or compressed
 * (gzip, bzip2, xz, zstd) with at least one entry; 0 when not. */
int copy_archive_probe (int fd);
/* Unpack the archive FD (named NAME in errors) into DIR. */
int copy_archive_add (struct copy_state *st, int fd, const char *name, const char *dir,
                      struct hoist_error **err) HOIST_WUR;

/* ---- copy_url.c ----------------------------------------------------------- */

bool copy_is_url (const char *s);
bool copy_is_git (const char *s);

/* Download URL into temp file *TEMP of the plan: *FD (the caller's to
 * close) holds its *SIZE bytes; *DIGEST their sha256; *MTIME the
 * Last-Modified time or 0; *NAME (owned) the file name from the URL's
 * path ("__unnamed__" when it has none).  Checks CHECKSUM when set. */
int copy_url_fetch (struct copy_state *st, const char *url, const char *checksum, int *fd, uint64_t *temp,
                    int64_t *size, char digest[HOIST_DIGEST_STR_SIZE], int64_t *mtime, char **name,
                    struct hoist_error **err) HOIST_WUR;

#endif
