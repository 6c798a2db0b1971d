/* build_private.h — internals shared by the stage executor's sources:
 * build.c (the stage loop, the final image), build_step.c (COPY, ADD,
 * WORKDIR: the steps that make layers), build_config.c (metadata
 * instructions and their history lines), build_base.c (bases: scratch,
 * stages, OCI layouts; named contexts), build_output.c (tags, -o), cache.c
 * (the step cache) and rootfs.c (materialised file systems).  Not part of
 * builder's API: include builder.h instead. */
#ifndef HOIST_BUILDER_BUILD_PRIVATE_H
#define HOIST_BUILDER_BUILD_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "build_private.h is internal to builder/"
#endif

#include <sys/stat.h>
#include <sys/types.h>

#include "builder/builder.h"

/* The history comment BuildKit's Dockerfile frontend writes: tools that
 * read history (docker history, dive) key on it. */
#define BUILD_HISTORY_COMMENT "buildkit.dockerfile.v0"
/* The PATH BuildKit gives an image whose config has none. */
#define BUILD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- Materialised root file systems (rootfs.c, rootfs_write.c) ---------- */

/* A directory holding an image's file system, extracted layer by layer
 * from the store: what COPY --from reads, where --chown names and
 * existing destinations are looked up, and the root RUN steps run in.
 * Held as an O_PATH directory fd; removed by build_rootfs_free. */
struct build_rootfs;

/* What one layer may hold.  A layer beyond any of them is refused (status
 * E2BIG) with an error naming the layer and the limit, before the entry
 * that crosses it is written. */
struct build_layer_limits
{
  /* Entries, counting the directories made for entries whose parents
   * the layer does not list (so one deep name cannot make thousands). */
  uint64_t max_entries;
  /* Bytes of the uncompressed tar stream, headers and content, checked
   * at each header against the size the entry declares.  This is the
   * decompression-bomb guard: it bounds both what is written and how far
   * a small compressed blob may expand.  There is no ratio check: a file
   * of zeros honestly compresses a thousandfold. */
  uint64_t max_bytes;
  /* Bytes of one entry's name, symlink target or hard link target. */
  size_t max_path;
  /* Bytes of all names and link targets together: bounds what the writer
   * keeps in memory for the layer (directories waiting for their modes). */
  uint64_t max_name_bytes;
};

#define BUILD_LAYER_MAX_ENTRIES 500000
#define BUILD_LAYER_MAX_BYTES (16ull << 30) /* 16 GiB */
#define BUILD_LAYER_MAX_PATH 4096
#define BUILD_LAYER_MAX_NAME_BYTES (256ull << 20)
#define BUILD_LAYER_LIMITS_DEFAULT                                                                                     \
  {                                                                                                                    \
    BUILD_LAYER_MAX_ENTRIES, BUILD_LAYER_MAX_BYTES, BUILD_LAYER_MAX_PATH, BUILD_LAYER_MAX_NAME_BYTES                   \
  }

/* Make an empty root in a new directory under PARENT, with the default
 * limits.  Run as root, the root holds the image's set-id files and
 * device nodes as the image has them: PARENT must be out of other users'
 * reach (the build's temp directory is mkdtemp's, 0700). */
int build_rootfs_new (const char *parent, struct build_rootfs **out, struct hoist_error **err) HOIST_WUR;
/* Remove the tree and free R.  NULL is allowed. */
void build_rootfs_free (struct build_rootfs *r);
/* Borrowed: valid until R is freed. */
const char *build_rootfs_path (const struct build_rootfs *r);
/* Number of layers applied so far. */
size_t build_rootfs_layers (const struct build_rootfs *r);
/* Count a layer that was made in the root itself (a RUN step's changes,
 * already there) as applied. */
void build_rootfs_note_layer (struct build_rootfs *r);
/* Use LIMITS (copied) for the layers applied from now on (tests and the
 * fuzz target make them small). */
void build_rootfs_set_limits (struct build_rootfs *r, const struct build_layer_limits *limits);
/* Write LAYER (a blob of STORE: tar, tar+gzip or tar+zstd) on top of what
 * is there with build_layer_write.  After a failure R is in an unknown
 * state (inside its directory) and must be freed. */
int build_rootfs_apply (struct build_rootfs *r, struct builder_store *store, const struct builder_descriptor *layer,
                        struct hoist_error **err) HOIST_WUR;
/* The same from FD (read from where it is, not closed), named NAME in
 * errors. */
int build_rootfs_apply_fd (struct build_rootfs *r, int fd, const char *name, struct hoist_error **err) HOIST_WUR;
/* Look PATH (absolute, inside the image) up with symlinks resolved inside
 * the root.  Returns 1 and fills *ST when it exists, 0 when not. */
int build_rootfs_stat (const struct build_rootfs *r, const char *path, struct stat *st);
/* Resolve USER ("name" or "uid", optionally ":group") through the
 * image's /etc/passwd and /etc/group, as BuildKit does for the owner of
 * WORKDIR directories.  R may be NULL (scratch): numeric ids only.  A
 * user without a group takes its passwd entry's group when named, and
 * its own number when numeric (BuildKit's rule). */
/* The home directory /etc/passwd of R gives UID, or NULL.  Owned. */
char *build_rootfs_home (const struct build_rootfs *r, uid_t uid);
int build_rootfs_user (const struct build_rootfs *r, const char *user, uid_t *uid, gid_t *gid,
                       struct hoist_error **err) HOIST_WUR;

/* Write the layer tar read from FD into the root ROOTFD (a directory fd,
 * O_PATH will do), applying OCI whiteouts (".wh.NAME" removes NAME of the
 * lower layers; ".wh..wh..opq" empties its directory of them; neither
 * touches what this layer writes, wherever the marker comes).  Every
 * name is resolved with openat2 inside ROOTFD (symlinks followed as the
 * image sees them, never out of it, never across a mount) and made with
 * O_EXCL | O_NOFOLLOW; see rootfs_write.c.  Refuses (EINVAL) absolute
 * names, "..", empty names, ".wh..wh." names other than the opaque marker,
 * hard links to directories, owners past 2^32-2, file data past the size
 * its entry declares; hard links to nothing in the root fail (ENOENT);
 * E2BIG past LIMITS (the status is in *ERR, the return value negative);
 * ENOSYS (or the probe's errno) without openat2 (Linux < 5.6).  Owners,
 * device nodes and security.capability are written only as root (skipped
 * otherwise, with a note in the log); sockets are skipped.  NAME (the
 * digest) is for messages.  On failure the root holds part of the layer. */
int build_layer_write (int rootfd, int fd, const char *name, const struct build_layer_limits *limits,
                       struct hoist_error **err) HOIST_WUR;

/* Clean RAW, a name from a layer (not empty): "./a//b/" -> "a/b" into
 * *OUT (the caller's; "" for the root).  Returns NULL, or why the name is
 * refused (*OUT then NULL): absolute, a ".." component, or a whiteout
 * (BUILD_WHITEOUT_PREFIX) as a directory. */
#define BUILD_WHITEOUT_PREFIX ".wh."
const char *build_layer_name_clean (const char *raw, char **out);

/* openat2 (Linux 5.6) with O_CLOEXEC added, retried on EAGAIN.  Returns
 * the fd, or -1 with errno (ENOSYS on an older kernel). */
int build_openat2 (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) HOIST_WUR;

/* What build_prune_at does with an entry. */
enum build_prune
{
  BUILD_PRUNE_REMOVE,  /* remove it whole */
  BUILD_PRUNE_KEEP,    /* keep it, and all below it */
  BUILD_PRUNE_DESCEND, /* keep it, and prune inside (a directory) */
};
typedef enum build_prune (*build_prune_fn) (const struct stat *st, void *data);
/* Ask DECIDE about every entry of the directory DIRFD (never following a
 * symlink): remove (with hoist_rmtree_at), keep, or keep and do the same
 * inside. */
int build_prune_at (int dirfd, build_prune_fn decide, void *data, struct hoist_error **err) HOIST_WUR;

/* Directory modes and times to set once a tree is written: children
 * would change the times, and a read-only mode would stop them.  Each is
 * set only on the directory found again under its path (resolved inside
 * the root, the last component not followed) with the inode it had. */
struct build_dir_fixup
{
  char *path; /* relative to the root */
  size_t seq;
  ino_t ino;
  mode_t mode;
  struct timespec times[2]; /* atime, mtime */
};

struct build_dir_fixups
{
  struct build_dir_fixup *v;
  size_t n, alloc;
};

/* Zero-initialise F; PATH is copied. */
void build_dir_fixups_add (struct build_dir_fixups *f, const char *path, ino_t ino, mode_t mode,
                           const struct timespec times[2]);
/* Set them all below ROOTFD, deepest first; a directory gone or replaced
 * since is left alone.  Fails on the first that cannot be set. */
int build_dir_fixups_apply (struct build_dir_fixups *f, int rootfd, struct hoist_error **err) HOIST_WUR;
void build_dir_fixups_release (struct build_dir_fixups *f);

/* A set of inode numbers (of one file system), each with a few flag bits
 * (never 0).  Zero-initialise; release with build_ino_set_release. */
struct build_ino_set
{
  uint64_t *keys;
  unsigned char *flags;
  size_t n, cap;
};

/* The flags of INO; 0 when it is not in the set. */
unsigned build_ino_set_get (const struct build_ino_set *s, uint64_t ino);
/* Add FLAGS (not 0) to those of INO, or with REPLACE make them its only ones. */
void build_ino_set_put (struct build_ino_set *s, uint64_t ino, unsigned flags, bool replace);
void build_ino_set_release (struct build_ino_set *s);

/* ---- Step cache (cache.c) ---------------------------------------------- */

/* A cache key under construction: a sha256 over length-prefixed fields,
 * so no two field lists hash alike. */
struct build_key
{
  struct hoist_sha256 h;
};

int build_key_init (struct build_key *k, const char *kind, struct hoist_error **err) HOIST_WUR;
void build_key_add (struct build_key *k, const char *field, const char *value);
void build_key_add_int (struct build_key *k, const char *field, long long value);
/* Finish into OUT ("sha256:<hex>") and release the hash. */
void build_key_final (struct build_key *k, char out[HOIST_DIGEST_STR_SIZE]);
void build_key_release (struct build_key *k);

/* What a step left behind: its layer (when it made one) and its history
 * entry. */
struct build_cache_record
{
  bool has_layer;
  struct builder_descriptor layer;
  char diff_id[HOIST_DIGEST_STR_SIZE];
  char *created;
  char *created_by;
  bool empty_layer;
};

void build_cache_record_init (struct build_cache_record *rec);
void build_cache_record_release (struct build_cache_record *rec);

/* The steps directory under HOME/cache.  Never fails: a cache that cannot
 * be used is no cache. */
struct build_cache;

struct build_cache *build_cache_new (const char *home);
void build_cache_free (struct build_cache *c);
/* Look KEY up.  Returns 1 and fills REC (initialised here) on a hit whose
 * layer blob (if any) is still in STORE; 0 on a miss.  A malformed record
 * is a miss. */
int build_cache_lookup (struct build_cache *c, const char *key, struct builder_store *store,
                        struct build_cache_record *rec);
/* Record REC under KEY (atomically).  Failing to record is not an error
 * of the build: it returns negative with *ERR set for the caller to log. */
int build_cache_store (struct build_cache *c, const char *key, const struct build_cache_record *rec,
                       struct hoist_error **err) HOIST_WUR;

/* ---- Stage state --------------------------------------------------------- */

/* One stage being built, or an image used as a source. */
struct build_stage
{
  const struct builder_stage *stage; /* NULL for an image */
  struct builder_image_config *cfg;
  struct builder_descriptor *layers; /* the manifest's layers, base first */
  size_t n_layers;
  size_t n_base_layers;
  /* The cache chain: the key of the last step (or of the base). */
  char key[HOIST_DIGEST_STR_SIZE];
  /* "NAME=VALUE" of the ARGs seen so far: part of every step's key. */
  char **args;
  bool cmd_set; /* CMD given in this stage: ENTRYPOINT keeps it */
  /* Directories known to exist (absolute, clean), and the destinations
   * of this build's layers: WORKDIR only materialises the root when a
   * path may lie below one of those. */
  char **known_dirs;
  char **dests;
  struct build_rootfs *rootfs; /* NULL until needed */
  char *last_created;          /* created of the newest history entry */
  bool built;
};

/* A --build-context. */
struct build_named
{
  char *name;                           /* familiar form */
  char *dir;                            /* a directory context; NULL for oci-layout */
  char *layout;                         /* oci-layout path */
  char *ref;                            /* tag or digest in the layout; NULL: "latest" or the only one */
  struct builder_context *ctx;          /* the directory, opened on first use */
  struct build_stage *image;            /* the layout's image, loaded on first use */
  char *pulled;                         /* a registry image: the name it was pulled by */
  char resolved[HOIST_DIGEST_STR_SIZE]; /* what that name pointed at (an index or the manifest) */
};

struct build
{
  const struct builder_build_opts *opts;
  struct builder_store *store;
  struct build_cache *cache;     /* NULL: no cache */
  struct builder_context *ctx;   /* opened on first use */
  struct builder_ignore *ignore; /* Dockerfile.dockerignore, when there is one */
  struct build_stage *stages;    /* parallel to plan->stages */
  struct build_named *named;
  size_t n_named;
  char *tmp_dir;             /* removed at the end */
  char *os, *arch, *variant; /* the default platform */
  unsigned next_id;          /* progress step numbers */
  size_t cached, run;
  struct builder_build_dep *url_deps; /* what ADD fetched, for provenance */
  size_t n_url_deps;
};

/* "NAME:LINE" for errors. */
const char *build_df_name (const struct build *b);

/* ---- Progress (build.c) ---------------------------------------------------- */

unsigned build_progress_start (struct build *b, const char *fmt, ...) HOIST_PRINTF (2, 3);
void build_progress_log (struct build *b, unsigned id, const char *fmt, ...) HOIST_PRINTF (3, 4);
void build_progress_end (struct build *b, unsigned id, bool cached, double seconds);
double build_now (void);
/* "1.2MB" style, as BuildKit prints sizes. */
void build_format_size (int64_t size, char *out, size_t n);

/* Appending to a buffer without a limit (HOIST_BUF_NO_LIMIT) can only
 * fail by aborting; these helpers are for such buffers only. */
void build_buf_add (struct hoist_buf *b, const void *p, size_t n);
void build_buf_addstr (struct hoist_buf *b, const char *s);
void build_buf_addch (struct hoist_buf *b, char c);
void build_buf_addf (struct hoist_buf *b, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* ---- Steps (build_step.c, build_config.c) --------------------------------- */

/* The time a new step gets: SOURCE_DATE_EPOCH or now, RFC 3339. */
int build_time_now (const struct build *b, char out[BUILDER_TIME_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* Apply one metadata instruction (not COPY/ADD/WORKDIR/RUN/FROM) to S's
 * config, and give the history line it makes in *CREATED_BY (NULL when
 * it makes none, as ONBUILD). */
int build_config_apply (struct build *b, struct build_stage *s, const struct builder_instruction *insn,
                        char **created_by, struct hoist_error **err) HOIST_WUR;
/* Add what the key of INSN needs beyond keyword and args (flags, heredocs). */
void build_key_add_insn (struct build_key *k, const struct builder_instruction *insn);
/* Go's "%q" of a string, appended to B. */
void build_go_quote (struct hoist_buf *b, const char *s);

/* Run a COPY, ADD or WORKDIR step of stage SI, using and feeding the
 * step cache.  Returns 1 when it was answered from the cache, 0 when it
 * ran. */
int build_step_layer (struct build *b, size_t si, const struct builder_instruction *insn, unsigned id,
                      struct hoist_error **err) HOIST_WUR;
/* Run a metadata step (ENV, CMD, ...) of S: the config change, and a
 * history entry whose time comes from the step cache when it has one. */
int build_step_meta (struct build *b, struct build_stage *s, const struct builder_instruction *insn,
                     struct hoist_error **err) HOIST_WUR;
/* The build context, opened (and its digest cache loaded) on first use. */
int build_main_context (struct build *b, struct builder_context **out, struct hoist_error **err) HOIST_WUR;
/* Add a layer (already committed to the store) and its history entry to S. */
int build_stage_add_layer (struct build_stage *s, const struct builder_descriptor *layer, const char *diff_id,
                           const char *created, const char *created_by, struct hoist_error **err) HOIST_WUR;
/* Bring S's root file system up to date with its layers, making it first
 * when needed. */
int build_stage_rootfs (struct build *b, struct build_stage *s, struct hoist_error **err) HOIST_WUR;
/* Write a layer of the directories in DIRS (absolute, clean, parents
 * first), each 0755 and owned by UID:GID, into the store. */
int build_write_dirs_layer (struct build *b, char *const *dirs, uid_t uid, gid_t gid, struct builder_descriptor *layer,
                            char diff_id[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* ---- Bases (build_base.c) ------------------------------------------------ */

/* Parse the --build-context values into B->named. */
int build_named_parse (struct build *b, struct hoist_error **err) HOIST_WUR;
void build_named_release (struct build *b);
/* The named context REF (any form) stands for; NULL when none. */
struct build_named *build_named_find (struct build *b, const char *ref);
/* Load the image of the oci-layout context N (once): its blobs are
 * ingested into the store. */
int build_named_image (struct build *b, struct build_named *n, struct hoist_error **err) HOIST_WUR;
/* Open the directory context N (once). */
int build_named_context (struct build *b, struct build_named *n, struct hoist_error **err) HOIST_WUR;
/* Start stage SI from its base: config, layers, cache key.  *TRIGGERS
 * gets the ONBUILD triggers of a base image that the caller must run
 * first (NULL: none). */
int build_stage_start (struct build *b, size_t si, char ***triggers, struct hoist_error **err) HOIST_WUR;
/* Check that every base and COPY --from of the plan can be had, before
 * any step runs. */
int build_check_sources (struct build *b, struct hoist_error **err) HOIST_WUR;
void build_stage_release (struct build_stage *s);
/* Split "os/arch[/variant]" (a missing arch is amd64, a missing variant
 * NULL); all three are the caller's. */

#endif
