/* builder.h — hoist's image builder: the one public header of builder/.
 *
 * So far: the Dockerfile front end (parse a Dockerfile into instructions,
 * then resolve it into a build plan for a target with build args) and the
 * .dockerignore matcher the build-context walk uses.
 */
#ifndef HOIST_BUILDER_H
#define HOIST_BUILDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"
#include "registry/registry.h"
#include "sandbox/sandbox.h"

/* ---------------------------------------------------------------------
 * Dockerfile front end
 * ------------------------------------------------------------------- */

/* Largest Dockerfile hoist reads: far above any real one. */
#define BUILDER_DOCKERFILE_MAX (4u * 1024 * 1024)

/* A parsed Dockerfile: parser directives and the instructions as written
 * (continuations joined, heredoc bodies collected), before any variable
 * substitution.  Opaque; see builder_plan_new. */
struct builder_dockerfile;

/* Parse TEXT (LEN bytes, need not be NUL-terminated) as BuildKit's
 * Dockerfile frontend does: parser directives, comments, continuations,
 * heredocs, and every instruction's flags and argument count.  NAME is the
 * file name used in errors ("NAME:LINE: problem", LINE the first line of
 * the instruction).  On success *OUT is owned by the caller.  Fails on
 * syntax errors: unknown instruction, bad flag, missing arguments,
 * unterminated heredoc, repeated or invalid directive, an instruction
 * before the first FROM, no FROM at all, a NUL byte, a line longer than
 * 64 KiB, LEN above BUILDER_DOCKERFILE_MAX. */
int builder_dockerfile_parse (const char *name, const char *text, size_t len, struct builder_dockerfile **out,
                              struct hoist_error **err) HOIST_WUR;
void builder_dockerfile_free (struct builder_dockerfile *df);

struct builder_plan_opts
{
  /* "K=V", or "K" alone to take the value from hoist's environment as
   * docker build does.  NULL-terminated; may be NULL. */
  char *const *build_args;
  const char *target;   /* stage name or index; NULL: the last stage */
  const char *platform; /* "os/arch[/variant]"; NULL: the host's */
};

/* The build plan: what the stage executor runs.  Every string and array
 * below is owned by the plan and freed by builder_plan_free; pointers
 * handed out are borrowed and valid until then. */

enum builder_keyword
{
  BUILDER_KW_ADD = 0,
  BUILDER_KW_ARG,
  BUILDER_KW_CMD,
  BUILDER_KW_COPY,
  BUILDER_KW_ENTRYPOINT,
  BUILDER_KW_ENV,
  BUILDER_KW_EXPOSE,
  BUILDER_KW_FROM,
  BUILDER_KW_HEALTHCHECK,
  BUILDER_KW_LABEL,
  BUILDER_KW_MAINTAINER,
  BUILDER_KW_ONBUILD,
  BUILDER_KW_RUN,
  BUILDER_KW_SHELL,
  BUILDER_KW_STOPSIGNAL,
  BUILDER_KW_USER,
  BUILDER_KW_VOLUME,
  BUILDER_KW_WORKDIR,
  BUILDER_KW_COUNT_ /* not a keyword */
};

/* "RUN", "COPY", ...; "?" for a value out of range. */
const char *builder_keyword_name (enum builder_keyword kw);

/* One instruction flag, without its leading "--".  Bool flags hold "true"
 * or "false"; --chown, --chmod, --checksum and --mount values are after
 * substitution, the others as written. */
struct builder_flag
{
  char *name;
  char *value;
};

/* A heredoc body collected after the instruction (`<<EOF`, `<<-EOF`).
 * BODY is kept exactly as written, line endings included; EXPAND is true
 * when the delimiter was not quoted (the body's variables are to be
 * expanded when it is used), CHOMP when it was `<<-` (leading tabs of each
 * line are to be stripped). */
struct builder_heredoc
{
  char *name;
  char *body;
  bool expand;
  bool chomp;
};

/* BODY with each line's leading tabs removed, as <<- has it.  Owned. */
char *builder_heredoc_chomp (const char *body);

enum builder_mount_type
{
  BUILDER_MOUNT_BIND = 0,
  BUILDER_MOUNT_CACHE,
  BUILDER_MOUNT_TMPFS,
  BUILDER_MOUNT_SECRET,
  BUILDER_MOUNT_SSH,
};

enum builder_mount_sharing
{
  BUILDER_SHARING_DEFAULT = 0, /* not given: shared */
  BUILDER_SHARING_SHARED,
  BUILDER_SHARING_PRIVATE,
  BUILDER_SHARING_LOCKED,
};

/* "bind", "cache", "tmpfs", "secret" or "ssh". */
const char *builder_mount_type_name (enum builder_mount_type t);

/* A RUN --mount, validated and after substitution.  Strings not given are
 * NULL; MODE, UID and GID are -1 when not given. */
struct builder_mount
{
  enum builder_mount_type type;
  char *from;     /* stage name or image; NULL: the build context */
  int from_stage; /* index of the stage FROM names, or -1 */
  char *source;
  char *target;
  char *id;
  char *env; /* secret: environment variable to set */
  enum builder_mount_sharing sharing;
  bool readonly; /* after the defaults: bind, secret and ssh are read-only */
  bool required;
  long long size; /* tmpfs size in bytes, 0: unlimited */
  long long mode;
  long long uid;
  long long gid;
};

enum builder_network
{
  BUILDER_NETWORK_DEFAULT = 0,
  BUILDER_NETWORK_NONE,
  BUILDER_NETWORK_HOST,
};

enum builder_security
{
  BUILDER_SECURITY_SANDBOX = 0,
  BUILDER_SECURITY_INSECURE,
};

/* HEALTHCHECK settings; durations in nanoseconds, 0 when not given. */
struct builder_healthcheck
{
  long long interval;
  long long timeout;
  long long start_period;
  long long start_interval;
  int retries;
};

struct builder_instruction
{
  int line;     /* first line of the instruction */
  int end_line; /* last line, heredoc bodies included */
  enum builder_keyword keyword;
  char *original;             /* the instruction as written, continuations joined */
  struct builder_flag *flags; /* in the order written */
  size_t n_flags;
  /* Arguments, NULL-terminated, N_ARGS long:
   *  RUN, CMD, ENTRYPOINT, SHELL: the exec-form array, or one string with
   *    the shell-form command line as written (no substitution);
   *  HEALTHCHECK: "NONE", or "CMD" + the array, or "CMD-SHELL" + the line;
   *  ENV, LABEL: "KEY=VALUE" pairs after substitution;
   *  ARG: "NAME=VALUE" with the value in effect (build arg, default after
   *    substitution, or the global value), or "NAME" when it has none;
   *  ADD, COPY: sources then destination after substitution (heredoc
   *    sources such as "<<EOF" as written);
   *  EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL: after substitution;
   *  MAINTAINER: as written;  ONBUILD: the trigger (see ONBUILD below). */
  char **args;
  size_t n_args;
  bool exec_form; /* JSON array form */
  struct builder_heredoc *heredocs;
  size_t n_heredocs;
  /* ONBUILD: the trigger instruction as it goes into the image config,
   * heredoc bodies appended; never substituted.  NULL otherwise. */
  char *onbuild;
  /* COPY --from naming a stage: its index; -1 otherwise (no --from, or an
   * image reference, whose name is the "from" flag). */
  int from_stage;
  /* RUN only. */
  struct builder_mount *mounts;
  size_t n_mounts;
  enum builder_network network;
  enum builder_security security;
  /* HEALTHCHECK only. */
  struct builder_healthcheck health;
};

struct builder_stage
{
  size_t index;   /* position in the Dockerfile, 0-based */
  char *name;     /* lowercase; NULL when the stage has no AS name */
  char *base;     /* after substitution; "scratch" for an empty base */
  char *platform; /* normalized os/arch[/variant]; NULL unless --platform */
  int base_stage; /* index of the earlier stage BASE names, or -1 */
  int line;       /* line of the FROM */
  struct builder_instruction *instructions;
  size_t n_instructions;
};

/* A global ARG (declared before the first FROM) and its value after
 * build args and substitution; VALUE is NULL when it has none. */
struct builder_arg
{
  char *name;
  char *value;
};

struct builder_plan
{
  /* The target and the stages it needs, transitively, in file order; the
   * target is the last. */
  struct builder_stage *stages;
  size_t n_stages;
  struct builder_arg *global_args;
  size_t n_global_args;
  size_t target; /* original index of the target stage */
  /* Parser directives; NULL when not given. */
  char *syntax;
  char *check;
  char escape; /* '\\' or '`' */
  bool escape_set;
};

/* Resolve DF into the plan for OPTS: global ARGs, per-stage ARG/ENV
 * scoping, substitution in exactly the instructions Docker substitutes in,
 * the target stage and only the stages it depends on.  *OUT is owned by
 * the caller.  Fails with "NAME:LINE: problem" (bad substitution such as
 * ${V:?msg}, FROM that expands to nothing, COPY --from a later stage, a
 * circular dependency, a bad --mount field or STOPSIGNAL, ...), or with a
 * bare message for a bad option ("unknown target stage 'x'", "invalid
 * platform 'x'").
 *
 * Substitution sees the Dockerfile's own values: build args, ARG and ENV,
 * and those of the stage a stage is built on.  The environment of a base
 * image is not known before it is pulled, so a stage starts with only the
 * PATH BuildKit gives a base that has none. */
int builder_plan_new (const struct builder_dockerfile *df, const struct builder_plan_opts *opts,
                      struct builder_plan **out, struct hoist_error **err) HOIST_WUR;
void builder_plan_free (struct builder_plan *plan);

/* The plan as JSON (what `hoist parse` prints).  Returns a new reference. */
json_t *builder_plan_to_json (const struct builder_plan *plan);

/* ---------------------------------------------------------------------
 * .dockerignore
 * ------------------------------------------------------------------- */

/* Matching follows Docker's moby/patternmatcher with its ignorefile
 * reader, as BuildKit uses them:
 *  - a line is a comment when it starts with '#' (before any trimming);
 *    blank lines are skipped; a UTF-8 BOM at the start of the file is
 *    dropped; Unicode white space is trimmed from both ends;
 *  - '!' makes the pattern an exception that re-includes what it matches;
 *  - a pattern is cleaned as Go's filepath.Clean does ("//", "./", "..",
 *    a trailing '/') and one leading '/' is dropped: "/a/./b/" is "a/b";
 *  - within a pattern, '*' is any run of characters but '/', '?' one
 *    character but '/', "[a-z]" a class ("[^...]" negated; it may match
 *    '/'), '\' quotes the next character, and "**" matches any number of
 *    directories, none included: "**" then "/foo", "foo/" then "**",
 *    "a/" "**" "/b"; "**" elsewhere means what Docker makes of it (a
 *    pattern that starts with "**" and has no other wildcard is a plain
 *    suffix test, so "**foo" also matches "barfoo");
 *  - a pattern matches a path when it matches the path or one of its
 *    parent directories, and the last pattern that matches decides.
 * The few places where hoist keeps filepath.Match's meaning rather than
 * copy a quirk of Docker's regexp translation ('\' before a letter, '|')
 * are listed at the top of builder/dockerignore.c.
 * The matcher treats every path alike: that the Dockerfile and the
 * .dockerignore itself are always sent whatever the patterns say is the
 * context walker's rule, not this one's.
 * A parsed set is immutable: any number of threads may match against it. */

/* Largest .dockerignore hoist reads: far above any real one. */
#define BUILDER_IGNORE_MAX (1024u * 1024)
/* Longest pattern (a line after trimming), in bytes: above PATH_MAX. */
#define BUILDER_IGNORE_PATTERN_MAX 4096u
/* Most patterns one .dockerignore may hold. */
#define BUILDER_IGNORE_PATTERNS_MAX 16384u

/* A parsed .dockerignore.  Opaque. */
struct builder_ignore;

/* Parse TEXT (LEN bytes, need not be NUL-terminated; NULL with LEN 0 is an
 * empty file).  On success *OUT is owned by the caller (builder_ignore_free).
 * Fails, with *OUT untouched, when LEN is over BUILDER_IGNORE_MAX, a
 * pattern is over BUILDER_IGNORE_PATTERN_MAX, there are more than
 * BUILDER_IGNORE_PATTERNS_MAX patterns, or a pattern is malformed:
 * "'.dockerignore' line 3: bad pattern '[a': unterminated character class"
 * (what Docker rejects: a lone '!', a bad or unterminated '[...]', a
 * trailing '\', and a reversed range "[z-a]", which fails Docker's build
 * at the first match rather than when read). */
int builder_ignore_parse (const char *text, size_t len, struct builder_ignore **out,
                          struct hoist_error **err) HOIST_WUR;
void builder_ignore_free (struct builder_ignore *ig);

/* PATH is slash-separated, relative to the context root and clean (no
 * "." or ".." segment, no empty segment, no leading or trailing '/').
 * True when the file is excluded: the last pattern that matches PATH or
 * one of its parent directories is not an exception.  The root itself
 * ("" or ".") is never excluded. */
bool builder_ignore_excluded (const struct builder_ignore *ig, const char *path);

/* DIR as PATH above.  False only when the walk may skip everything below
 * DIR: DIR is excluded and no exception after the pattern that excludes it
 * can match anything below it.  True otherwise, including for a DIR that
 * is not excluded (the walk descends into that anyway).  May say true
 * where nothing ends up re-included (a wildcard exception is only known
 * to match some path), never false where something would be. */
bool builder_ignore_must_descend (const struct builder_ignore *ig, const char *dir);

/* Number of patterns read (comments and blank lines not counted), for
 * diagnostics. */
size_t builder_ignore_count (const struct builder_ignore *ig);

/* ---------------------------------------------------------------------
 * Build context: sorted walk with .dockerignore, content digests cached
 * ------------------------------------------------------------------- */

/* The build context is the directory that COPY and ADD read from.  It is
 * walked once, when it is opened, into an array of entries; after that,
 * every file is opened relative to the root fd held since the open, never
 * through a symlink, so nothing in the context can make a read land
 * outside it.
 *
 * Walk order: each directory is read and sorted by name, byte-wise
 * (strcmp), and a directory is followed at once by what is below it.  So
 * "a", "a/b", "a-b", "a.b" ("a/b" before "a-b" although '-' < '/'): the
 * order of `tar --sort=name`, of BuildKit's context transfer and of
 * builder_layer_path_cmp, so COPY can hand entries to the layer writer as
 * they come.
 *
 * .dockerignore: excluded entries are left out; an excluded directory is
 * walked only when builder_ignore_must_descend says an exception may
 * re-include something below it, and is listed only when something below
 * it is (BuildKit sends the parent directories of what it sends).  The
 * Dockerfile and .dockerignore are not special: as in BuildKit's context
 * transfer, they are left out when the patterns exclude them (the caller
 * reads the Dockerfile on its own).
 *
 * Types: regular files, directories and symlinks (kept as links, never
 * followed).  A second path to a regular file already seen (same st_dev
 * and st_ino) is a hard link to the first path in walk order; a symlink
 * with several links is listed as a symlink at each path.  Mount points
 * inside the context are walked into, as Docker does.
 * A socket, fifo or device fails the open: "build context: 'run/x.sock' is
 * a socket: sockets cannot be copied into an image".  An entry that is
 * excluded is never looked at, so a socket in an excluded directory is no
 * error.
 *
 * A context is used by one thread at a time (digests are cached in it). */

#include <time.h>

/* Most entries a context may hold (about 200 bytes each, plus paths). */
#define BUILDER_CONTEXT_ENTRIES_MAX 1000000u
/* Most bytes of all entry paths together. */
#define BUILDER_CONTEXT_PATH_BYTES_MAX (128u * 1024 * 1024)
/* Longest relative path, in bytes: what one openat2 call can take. */
#define BUILDER_CONTEXT_PATH_MAX 4095u
/* Largest security.capability value read (a v3 one is 24 bytes). */
#define BUILDER_CONTEXT_XATTR_MAX 256u
/* Largest digest cache file read; a larger one is ignored, and a save
 * writes no more records than fit. */
#define BUILDER_CONTEXT_CACHE_MAX (64u * 1024 * 1024)
/* Version of the cache file format; a file of another version is ignored. */
#define BUILDER_CONTEXT_CACHE_VERSION 1

/* One file, directory or symlink of the context, as lstat saw it during
 * the walk.  Every pointer is owned by the context. */
struct builder_context_entry
{
  /* Relative to the root, clean ('/'-separated, no "." or ".." or empty
   * component); "" for the root itself (builder_context_root). */
  char *path;
  mode_t mode; /* file type and permission bits */
  uid_t uid;
  gid_t gid;
  int64_t size; /* regular files; 0 for the others */
  struct timespec mtime;
  struct timespec ctime;
  dev_t dev;
  ino_t ino;
  nlink_t nlink;         /* link count lstat saw */
  char *link_target;     /* symlinks: the target as readlink gives it; else NULL */
  char *hardlink_target; /* an earlier entry's path for a second link; else NULL */
  /* The security.capability xattr of a regular file; NULL when none. */
  unsigned char *capability;
  size_t capability_len;
};

struct builder_context;

struct builder_context_opts
{
  /* Patterns to use instead of DIR/.dockerignore (as BuildKit uses
   * <Dockerfile>.dockerignore); borrowed for the call.  NULL: read
   * DIR/.dockerignore when there is one. */
  const struct builder_ignore *ignore;
};

/* Open DIR (symlinks in DIR itself are followed; none below it) and walk
 * it as above.  OPTS may be NULL.  On success *OUT is owned by the caller
 * (builder_context_free).  Fails with "build context: ..." on a
 * .dockerignore over BUILDER_IGNORE_MAX or malformed, an entry of a type
 * that cannot be copied, more than BUILDER_CONTEXT_ENTRIES_MAX entries or
 * BUILDER_CONTEXT_PATH_BYTES_MAX path bytes, a path longer than
 * BUILDER_CONTEXT_PATH_MAX, a file that cannot be opened (its
 * security.capability is read through an fd), or a directory replaced
 * while it was being walked. */
int builder_context_open (const char *dir, const struct builder_context_opts *opts, struct builder_context **out,
                          struct hoist_error **err) HOIST_WUR;
void builder_context_free (struct builder_context *ctx);

/* DIR as given to builder_context_open.  Borrowed: valid until CTX is freed. */
const char *builder_context_dir (const struct builder_context *ctx);
/* All entries in walk order, the root not included; *N gets their number.
 * Borrowed: valid (and never moved) until CTX is freed. */
const struct builder_context_entry *builder_context_entries (const struct builder_context *ctx, size_t *n);
/* The root directory itself, path "".  Borrowed, as above. */
const struct builder_context_entry *builder_context_root (const struct builder_context *ctx);
/* The entry at PATH (clean and relative, as an entry's path; "" or "."
 * for the root), symlinks not followed; NULL when the walk did not list
 * it (absent, excluded, or PATH not clean).  Borrowed, as above. */
const struct builder_context_entry *builder_context_lookup (const struct builder_context *ctx, const char *path);
/* The entries below directory E (for the root: all of them), which come
 * right after E in walk order: *FIRST gets the first, and their number is
 * returned; 0 (and *FIRST NULL) when E is not a directory or is empty. */
size_t builder_context_below (const struct builder_context *ctx, const struct builder_context_entry *e,
                              const struct builder_context_entry **first);

/* Follow PATH inside the context as BuildKit resolves a COPY source: PATH
 * is cleaned as if the root were '/' ("../a" is "a", a leading '/' is the
 * root), and every symlink on the way, the last component's included, is
 * followed within the context (an absolute target starts at the root,
 * ".." stops at it), at most 40 links.  *OUT gets the entry reached
 * (borrowed).  Fails with ENOENT when PATH leads nowhere ("build context:
 * 'x' not found (hint: is it excluded by .dockerignore?)"), ELOOP after
 * too many links. */
int builder_context_resolve (const struct builder_context *ctx, const char *path,
                             const struct builder_context_entry **out, struct hoist_error **err) HOIST_WUR;

/* The entries one COPY or ADD source names, as BuildKit finds them.
 * SOURCE is cleaned as in builder_context_resolve.  Without wildcards it
 * names one entry: its directories are resolved as there, and its last
 * component is taken as it is.  With wildcards, the components before
 * the first one with a wildcard are resolved to a directory, and each
 * entry below it whose components match the rest of the pattern one by
 * one (Go's filepath.Match: '*', '?', "[a-z]", "[^a]", '\' quoting; no
 * "**") is listed, in walk order.  A listed directory stands for itself
 * and everything below it (builder_context_below), which is not listed.
 * A listed symlink is the link itself: BuildKit's COPY copies what a
 * source symlink points to, under the link's name, which the caller
 * finds with builder_context_resolve.  *OUT (NULL when *N is 0) is an
 * array of borrowed entries that the caller frees with free().  A pattern
 * that matches nothing gives *N 0 and succeeds (BuildKit's COPY allows an
 * empty wildcard); a source whose directory part or, without wildcards,
 * whose last component is missing fails with ENOENT, a malformed pattern
 * with EINVAL "build context: bad pattern '[a'". */
int builder_context_match (const struct builder_context *ctx, const char *source,
                           const struct builder_context_entry ***out, size_t *n, struct hoist_error **err) HOIST_WUR;

/* Open the regular file at PATH (clean and relative, as an entry's path)
 * for reading: *FD (O_RDONLY, close-on-exec) is owned by the caller and
 * *ENTRY (when ENTRY is not NULL) gets the entry (borrowed).  The open is
 * relative to the root fd with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so
 * no symlink is followed and nothing outside the root reached, whatever
 * was changed since the walk.  Fails on a PATH that is absolute, not clean
 * or leaves the context ("build context: invalid path '../x' (hint: ...)"),
 * one the walk did not list (ENOENT), one that is not a regular file, and
 * with ESTALE "build context: 'x' changed during the build" when the file
 * is no longer the one the walk saw (inode, size, mtime or ctime). */
int builder_context_open_file (struct builder_context *ctx, const char *path, int *fd,
                               const struct builder_context_entry **entry, struct hoist_error **err) HOIST_WUR;

/* The sha256 of regular file E's content ("sha256:<hex>").  Answered from
 * the digest cache when a loaded record has E's path, size, mtime, ctime,
 * inode and device, or when it was computed earlier through this context;
 * otherwise the file is read (builder_context_open_file, 128 KiB at a
 * time) and the result kept.  A hard link takes its first path's digest.
 * Fails on an entry that is not a regular file of CTX, on a read error,
 * and with ESTALE "... changed during the build" when the file is not
 * exactly as walked before or after it is read. */
int builder_context_file_digest (struct builder_context *ctx, const struct builder_context_entry *e,
                                 char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* Compute, with a thread per CPU, the digests builder_context_file_digest
 * would compute one by one for the regular files among the N ENTRIES
 * (not what is below a directory).  Only an optimisation: a file that
 * fails is left for builder_context_file_digest to meet and report. */
void builder_context_prefetch_digests (struct builder_context *ctx, const struct builder_context_entry *const *entries,
                                       size_t n);

/* One digest over the N entries of ENTRIES, in that order, each one with
 * everything below it when it is a directory: for the build cache key of
 * a COPY or ADD.  It covers each entry's path, type and mode bits, uid,
 * gid, symlink target, hard link target, security.capability and, for
 * regular files, the content digest (builder_context_file_digest); not
 * times, inode numbers or devices.  Fails as builder_context_file_digest. */
int builder_context_digest_set (struct builder_context *ctx, const struct builder_context_entry *const *entries,
                                size_t n, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* The digest cache lives in a file the caller names, one per context
 * directory: builder_context_cache_name gives "context-<hex>.cache", the
 * hex being the sha256 of the context's real path, for the caller to put
 * in its cache directory.  *OUT is owned by the caller. */
int builder_context_cache_name (const struct builder_context *ctx, char **out, struct hoist_error **err) HOIST_WUR;

/* Read the digest cache at PATH: each record that matches an entry of the
 * walk exactly (path, size, mtime, ctime, inode, device) gives that
 * entry's digest.  Never fails: a missing file is no cache (*NOTE NULL);
 * a file that cannot be read, is over BUILDER_CONTEXT_CACHE_MAX, has
 * another version, a bad checksum or any malformed field is ignored whole,
 * and *NOTE (owned by the caller, when NOTE is not NULL) says why:
 * "digest cache '...' ignored: checksum mismatch".  Nothing is printed. */
void builder_context_cache_load (struct builder_context *ctx, const char *path, char **note);

/* Write the digests known to CTX (computed, or loaded and still matching)
 * to PATH, atomically (a temp file in PATH's directory renamed over it).
 * A digest computed from a file changed less than two seconds before it
 * was read is not written: a change within the file system's timestamp
 * granularity could not be told apart later.  The directory must exist. */
int builder_context_cache_save (const struct builder_context *ctx, const char *path,
                                struct hoist_error **err) HOIST_WUR;

struct builder_context_stats
{
  size_t entries;          /* listed by the walk, the root not included */
  size_t cache_records;    /* records loaded from the cache file that matched */
  uint64_t digests_cached; /* digest requests answered without reading */
  uint64_t files_hashed;   /* files read to compute a digest */
  uint64_t bytes_hashed;
};

/* Counters since CTX was opened: how tests (and --debug) see what the
 * cache saved. */
void builder_context_stats (const struct builder_context *ctx, struct builder_context_stats *out);

/* ---------------------------------------------------------------------
 * COPY and ADD: Docker's source/destination semantics -> layer entries
 * ------------------------------------------------------------------- */

/* One COPY or ADD instruction becomes one layer: builder_copy_resolve
 * works out, as Docker (BuildKit's Dockerfile frontend) does, which files
 * go where with which owner and mode, and builder_copy_write streams them
 * into a layer writer.  Resolving reads metadata only (and, for ADD, the
 * archives and URLs it must unpack or fetch, into temp files); nothing is
 * written anywhere but TMP_DIR until builder_copy_write, and a failure
 * anywhere writes nothing to the layer.
 *
 * The semantics (details and the few deliberate differences are listed at
 * the top of builder/copy.c):
 *  - a source is relative to the root of its source ('/' and "./" prefixes
 *    ignored); one that climbs out of it with ".." is refused ("COPY:
 *    source '../x' is outside the build context"), where BuildKit cleans
 *    it into the root and then reports "not found";
 *  - '*', '?' and "[...]" in a source match names in that source, sorted;
 *    no match is an error naming the pattern;
 *  - a directory source copies its contents, not itself; the source path
 *    itself is followed when it is a symlink (within its root), symlinks
 *    below it are copied as symlinks; hard links among the copied files
 *    stay hard links;
 *  - DEST is relative to WORKDIR; a file goes inside DEST when DEST ends
 *    in '/' or is a directory in IMAGE_ROOT; several sources (after
 *    wildcards) need DEST to end in '/';
 *  - missing parent directories of DEST (and DEST itself for a directory
 *    source) are created 0755 (an octal --chmod instead, as BuildKit),
 *    owned by the --chown ids (0:0 without); directories that already
 *    exist in IMAGE_ROOT are not written, so they keep the image's
 *    metadata (symlinks in DEST are resolved inside IMAGE_ROOT);
 *  - owner: the --chown ids; without --chown 0:0 for the build context
 *    and the ids on disk for a ROOT_DIR source (COPY --from keeps them);
 *    --chmod (octal, or symbolic as chmod(1)) replaces the permission
 *    bits of every file and directory copied, an octal one also those of
 *    the directories the copy creates (BuildKit's rule); never of
 *    symlinks or of unpacked archive members;
 *  - mtimes are the source's (the layer writer clamps them); heredoc
 *    files and created directories get SOURCE_DATE_EPOCH, or 0 when it is
 *    not set (BuildKit: the build time);
 *  - ADD also unpacks a local tar archive (plain, gzip, bzip2, xz, zstd;
 *    told by content) named as a source into DEST, refusing absolute
 *    names, ".." and links that leave DEST; and fetches http(s) URLs
 *    (redirects followed, at most BUILDER_COPY_URL_MAX bytes, mode 0600,
 *    mtime from Last-Modified or 0), checked against --checksum;
 *  - names starting with ".wh." are refused anywhere: in a layer they
 *    would delete files of the image below. */

/* Largest file ADD downloads from a URL. */
#define BUILDER_COPY_URL_MAX (1024LL * 1024 * 1024)

struct builder_context;
struct builder_layer_writer;
struct builder_build_dep;

/* Where the sources are: the build context, or a directory on disk (the
 * root file system of an earlier stage or an image, for COPY --from).
 * Exactly one is set.  Both are borrowed for the plan's life. */
struct builder_copy_source
{
  struct builder_context *context;
  const char *root_dir;
};

/* Every pointer is borrowed for the duration of builder_copy_resolve. */
struct builder_copy_request
{
  bool is_add;           /* ADD rather than COPY: error prefix, unpack, URLs */
  char *const *sources;  /* NULL-terminated, at least one; heredocs as "<<EOF" */
  const char *dest;      /* as written, after substitution */
  const char *workdir;   /* the image's WORKDIR; NULL or "": "/" */
  const char *chown;     /* --chown: "user[:group]", names or ids; NULL: none */
  const char *chmod;     /* --chmod: octal ("0755") or symbolic ("u+x"); NULL: none */
  char *const *excludes; /* --exclude patterns (.dockerignore syntax); NULL: none */
  bool parents;          /* --parents */
  bool link;             /* --link: DEST not resolved through IMAGE_ROOT */
  const char *checksum;  /* ADD --checksum "sha256:<hex>"; NULL: none */
  bool keep_git_dir;     /* ADD --keep-git-dir (git sources are refused) */
  int unpack;            /* ADD --unpack: 1 true, -1 false, 0 not given (local archives) */
  /* The destination image's root file system as materialised so far
   * (every earlier layer of the stage applied), to resolve --chown names
   * (IMAGE_ROOT/etc/passwd, /etc/group) and DEST (existing directories
   * and symlinks).  NULL: names fail but "root", numeric ids work, DEST
   * is taken literally; for scratch an empty directory is better, so a
   * COPY sees the directories an earlier one made. */
  const char *image_root;
  /* Bodies of the "<<NAME" sources: the content as it must be written
   * (the caller expands variables when EXPAND is set); a body whose CHOMP
   * is set has its lines' leading tabs stripped here.  Mode 0644. */
  const struct builder_heredoc *heredocs;
  size_t n_heredocs;
  int64_t source_date_epoch; /* negative: not set */
  const char *tmp_dir;       /* heredocs, downloads, unpacked archives; NULL: $TMPDIR or /tmp */
  void *priv_;               /* owned by builder_copy_request_init; leave NULL */
};

/* Fill REQ (zeroed here) from INSN, an ADD or COPY of a resolved plan:
 * sources, dest, flags and heredocs, the strings borrowed from INSN (the
 * vectors are owned by REQ: builder_copy_request_release).  The caller
 * then sets workdir, image_root, source_date_epoch and tmp_dir, and picks
 * the source from the "from" flag.  Fails on an unknown flag or a bad
 * boolean, and on fewer than two arguments. */
int builder_copy_request_init (struct builder_copy_request *req, const struct builder_instruction *insn,
                               struct hoist_error **err) HOIST_WUR;
void builder_copy_request_release (struct builder_copy_request *req);

/* The resolved entries, sorted (builder_layer_path_cmp), parents first.
 * Opaque; owns its temp files (heredocs, downloads, unpacked archive
 * members: one directory below TMP_DIR), removed by
 * builder_copy_plan_free.  It borrows the build context it was resolved
 * from, which must outlive it. */
struct builder_copy_plan;

/* Resolve REQ against SRC.  On success *OUT is owned by the caller.
 * Errors start with "COPY: " or "ADD: " and name the source: "COPY: no
 * source files were specified", "COPY: source 'x*' matched no files in
 * the build context", "COPY: source 'a' not found in the build context
 * (hint: is it excluded by .dockerignore?)", "COPY: --chown: unknown
 * user 'bob' (no such user in /etc/passwd of the image)", "ADD: checksum
 * mismatch for 'URL': expected sha256:..., got sha256:...", "ADD: cannot
 * unpack 'a.tar': member '../x' is outside the destination (hint: ...)",
 * "ADD of git repositories is not supported yet". */
int builder_copy_resolve (const struct builder_copy_source *src, const struct builder_copy_request *req,
                          struct builder_copy_plan **out, struct hoist_error **err) HOIST_WUR;

/* The cache key of the layer P writes: a sha256 over every entry's path,
 * type, mode, uid, gid, mtime as the layer will hold it (clamped to
 * SOURCE_DATE_EPOCH when set), symlink and hard link targets,
 * security.capability and content digest (context files through the
 * context's digest cache, other files read).  Same key, same tar. */
int builder_copy_digest (const struct builder_copy_plan *p, char out[HOIST_DIGEST_STR_SIZE],
                         struct hoist_error **err) HOIST_WUR;

/* Add P's entries to W, in order.  W is borrowed; the caller finishes it.
 * Fails when a source file changed since it was resolved. */
int builder_copy_write (const struct builder_copy_plan *p, struct builder_layer_writer *w,
                        struct hoist_error **err) HOIST_WUR;

/* Number of entries P writes (parents included), for logs. */
size_t builder_copy_plan_count (const struct builder_copy_plan *p);

/* The URLs an ADD of P fetched, each with the digest of what it gave
 * (builder_build_dep.name is the URL).  Borrowed: valid with P. */
const struct builder_build_dep *builder_copy_plan_urls (const struct builder_copy_plan *p, size_t *n);

/* NULL is allowed. */
void builder_copy_plan_free (struct builder_copy_plan *p);

/* ---------------------------------------------------------------------
 * Layer writer: PAX tar stream -> compression -> blob, digests in one pass
 * ------------------------------------------------------------------- */

/* A layer is a PAX tar stream (libarchive's restricted pax: plain ustar
 * headers, a pax extended header only where ustar cannot say it) that is
 * compressed and written to a file in one pass, with both digests computed
 * on the way.  Nothing is held whole: memory is a few MiB per compression
 * thread whatever the size of the layer.
 *
 * Reproducible: the bytes depend only on the entries and the options, not
 * on the machine, the locale, the pid, the time or the number of threads.
 * Entries carry numeric uid/gid with empty user and group names, mtime in
 * whole seconds (clamped to source_date_epoch when that is set), no atime
 * or ctime.  Directory names end in '/' as Docker and BuildKit write them;
 * non-ASCII names are written as UTF-8 pax records (raw bytes with
 * hdrcharset=BINARY when they are not valid UTF-8).  gzip blobs are a
 * series of gzip members, one per 1 MiB of tar, each with the fixed header
 * mtime 0, OS 255, which `gzip -d` and every OCI runtime read as one
 * stream.  The compressor library's version can change the compressed
 * bytes (never the diff_id). */

#include <time.h>

enum builder_compression
{
  BUILDER_COMPRESSION_GZIP = 0, /* the default */
  BUILDER_COMPRESSION_ZSTD,
  BUILDER_COMPRESSION_NONE,
};

/* NAME is "gzip", "zstd" or "uncompressed" (BuildKit's word; "none" too).
 * Fails with "unknown compression 'NAME'" and *OUT untouched. */
int builder_compression_parse (const char *name, enum builder_compression *out, struct hoist_error **err) HOIST_WUR;

/* The OCI media type of a layer so compressed (a static string):
 * "application/vnd.oci.image.layer.v1.tar+gzip", "...tar+zstd", "...tar". */
const char *builder_compression_media_type (enum builder_compression c);

/* Highest compression level offered: gzip 1-9, zstd 1-19. */
#define BUILDER_GZIP_LEVEL_MAX 9
#define BUILDER_ZSTD_LEVEL_MAX 19

struct builder_layer_opts
{
  enum builder_compression compression;
  int level;        /* 0: the default (gzip 6, zstd 3) */
  unsigned threads; /* compression threads; 0: the number of online CPUs */
  /* Seconds since the epoch; every mtime above it is lowered to it.
   * Negative: not set, mtimes are kept. */
  int64_t source_date_epoch;
  /* xattrs other than security.capability are dropped unless this is set. */
  bool all_xattrs;
};

/* Defaults: gzip at its default level, one thread per CPU, no epoch. */
void builder_layer_opts_init (struct builder_layer_opts *opts);

struct builder_xattr
{
  const char *name;  /* "security.capability", "user.x", ... */
  const void *value; /* LEN bytes, need not be text */
  size_t len;
};

/* One entry; every pointer is borrowed for the duration of the call. */
struct builder_layer_entry
{
  /* Relative and clean: no leading '/' or "./", no trailing '/', no empty,
   * "." or ".." component. */
  const char *path;
  mode_t mode; /* file type and permission bits (setuid etc. included) */
  uid_t uid;
  gid_t gid;
  struct timespec mtime; /* tv_nsec is dropped */
  /* Regular files: the content is SIZE bytes read from FD from its
   * current offset (FD is borrowed, never closed).  FD may be -1 when SIZE
   * is 0 (whiteouts). */
  int64_t size;
  int fd;
  const char *link_target;     /* symlinks: the target, as is */
  const char *hardlink_target; /* hard links: an earlier path of this layer */
  dev_t rdev;                  /* character and block devices */
  const struct builder_xattr *xattrs;
  size_t n_xattrs;
};

struct builder_layer_result
{
  char diff_id[HOIST_DIGEST_STR_SIZE]; /* sha256 of the tar */
  char digest[HOIST_DIGEST_STR_SIZE];  /* sha256 of the blob as written */
  int64_t size;                        /* bytes of the blob */
};

/* The order entries must come in: parents before their contents, and
 * names compared bytewise one path component at a time ("a", "a/b", "a-c"),
 * which is the order of a walk that reads each directory sorted, as
 * Docker's and BuildKit's do.  Returns <0, 0 or >0 as strcmp. */
int builder_layer_path_cmp (const char *a, const char *b);

struct builder_layer_writer;

/* Start a layer written to OUT_FD (borrowed: never closed; the blob is
 * written from its current offset, and nothing else may write to it until
 * builder_layer_finish returns).  OPTS is copied.  On success *OUT is
 * owned by the caller (builder_layer_writer_free).  Fails on a bad level. */
int builder_layer_writer_new (int out_fd, const struct builder_layer_opts *opts, struct builder_layer_writer **out,
                              struct hoist_error **err) HOIST_WUR;

/* Append E.  Refuses, leaving the writer usable, an entry that is not
 * valid or does not sort after the previous one (builder_layer_path_cmp),
 * a hard link whose target does not sort before it, or a socket.  Fails
 * when a regular file's content is not exactly E->size bytes ("'path'
 * changed size while being read"), or on a read, write or compression
 * error; after such a failure the layer is broken and every later call
 * fails. */
int builder_layer_add (struct builder_layer_writer *w, const struct builder_layer_entry *e,
                       struct hoist_error **err) HOIST_WUR;

/* End the tar stream, flush the blob to OUT_FD and fill RES.  Does not
 * fsync: the store does that before it renames the blob into place.
 * Nothing can be added after, whatever the result. */
int builder_layer_finish (struct builder_layer_writer *w, struct builder_layer_result *res,
                          struct hoist_error **err) HOIST_WUR;

/* Stops the compression threads.  NULL is allowed. */
void builder_layer_writer_free (struct builder_layer_writer *w);

/* ---------------------------------------------------------------------
 * Content store (OCI image layout) and image config / manifest / index
 * ------------------------------------------------------------------- */

/* Media types hoist writes (OCI) and reads (OCI and Docker v2 schema 2). */
#define BUILDER_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BUILDER_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BUILDER_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BUILDER_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define BUILDER_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BUILDER_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define BUILDER_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BUILDER_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BUILDER_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BUILDER_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The annotation that names a tag in a layout's index.json. */
#define BUILDER_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define BUILDER_ANNOTATION_CREATED "org.opencontainers.image.created"

/* Largest manifest, index or image config hoist reads: they come from
 * registries and base images, so they are untrusted; real ones are a few
 * KiB (registries themselves cap manifests at 4 MiB). */
#define BUILDER_JSON_BLOB_MAX (4u * 1024 * 1024)
/* Largest index.json of a layout: one entry per tag, a few hundred bytes
 * each. */
#define BUILDER_LAYOUT_INDEX_MAX (16u * 1024 * 1024)
/* Most entries in any one list or map of an image config (Env, Labels,
 * ExposedPorts, Volumes, Cmd, history, ...). */
#define BUILDER_CONFIG_ITEMS_MAX 10000u
/* Most layers of one image (rootfs.diff_ids, manifest layers): far above
 * what any runtime mounts (overlayfs stops near 128). */
#define BUILDER_LAYERS_MAX 1000u
/* Most manifests in one image index, and most tags in one layout. */
#define BUILDER_INDEX_ENTRIES_MAX 10000u
/* "2006-01-02T15:04:05Z" + NUL: what builder_format_time writes. */
#define BUILDER_TIME_STR_SIZE 21

/* json_decref at the end of the scope, as jansson's json_auto_t. */
void builder_json_decrefp (json_t **j);
#define cleanup_json __attribute__ ((cleanup (builder_json_decrefp)))

/* JSON as hoist hashes it: compact, keys sorted, no final newline, so the
 * same document always gives the same bytes and digest.  Returns a string
 * the caller frees, its length in *LEN (when LEN is not NULL). */
char *builder_json_canonical (const json_t *doc, size_t *len);

/* Write EPOCH (seconds since 1970, UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ".
 * Fails (EOVERFLOW) before 1970 or after 9999. */
int builder_format_time (int64_t epoch, char out[BUILDER_TIME_STR_SIZE], struct hoist_error **err) HOIST_WUR;
/* True when S is an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS", optional
 * fraction, then "Z" or "+HH:MM"/"-HH:MM" ('t' and 'z' accepted). */
bool builder_time_valid (const char *s);

/* A string map kept sorted by key, keys unique: annotations and labels.
 * Every key and value is owned by the map.  Zero-initialised is empty. */
struct builder_kv
{
  char *key;
  char *value;
};

struct builder_map
{
  struct builder_kv *items;
  size_t n;
};

/* Set KEY to VALUE (both copied), replacing an existing value. */
void builder_map_set (struct builder_map *map, const char *key, const char *value);
/* Borrowed: valid until the map is changed or released.  NULL: absent. */
const char *builder_map_get (const struct builder_map *map, const char *key);
/* True when KEY was there. */
bool builder_map_remove (struct builder_map *map, const char *key);
void builder_map_copy (struct builder_map *dst, const struct builder_map *src);
/* Free the items; the map is empty again. */
void builder_map_release (struct builder_map *map);

/* The platform of an image index entry. */
struct builder_platform
{
  char *architecture; /* never NULL in a parsed or built platform */
  char *os;           /* never NULL in a parsed or built platform */
  char *variant;      /* NULL: none */
  char *os_version;   /* NULL: none */
  char **os_features; /* NULL-terminated; NULL: none */
};

void builder_platform_free (struct builder_platform *p);
/* Whether P is OS/ARCH and, when both name one, VARIANT.  P may be NULL
 * (no match). */
bool builder_platform_matches (const struct builder_platform *p, const char *os, const char *arch, const char *variant);
struct builder_platform *builder_platform_copy (const struct builder_platform *p);

/* An OCI content descriptor.  Every pointer is owned by the descriptor
 * and freed by builder_descriptor_release; optional members are NULL (or
 * empty) when absent.  builder_descriptor_init zeroes it: an empty
 * digest, size 0.  A descriptor may be copied only with
 * builder_descriptor_copy. */
struct builder_descriptor
{
  char *media_type;
  char digest[HOIST_DIGEST_STR_SIZE]; /* "sha256:<64 hex>" */
  int64_t size;
  struct builder_map annotations;
  char *artifact_type;
  char **urls;                       /* NULL-terminated; foreign layers */
  struct builder_platform *platform; /* image index entries only */
};

void builder_descriptor_init (struct builder_descriptor *d);
void builder_descriptor_release (struct builder_descriptor *d);
/* DST gets deep copies; DST must be released (or fresh) first. */
void builder_descriptor_copy (struct builder_descriptor *dst, const struct builder_descriptor *src);
/* Fill D (init first) from MEDIA_TYPE (copied), DIGEST and SIZE. */
void builder_descriptor_set (struct builder_descriptor *d, const char *media_type, const char *digest, int64_t size);
/* New reference: {mediaType, digest, size, ...} with the optional members
 * present only when set. */
json_t *builder_descriptor_to_json (const struct builder_descriptor *d);
/* Parse and check J (untrusted): mediaType, digest (sha256 only) and size
 * required and well-typed, optional members typed.  WHAT names the
 * document and FIELD the member in errors: "image manifest: 'layers[2].size'
 * must be a non-negative integer".  OUT is initialised here; on failure
 * it is left released. */
int builder_descriptor_from_json (const json_t *j, const char *what, const char *field, struct builder_descriptor *out,
                                  struct hoist_error **err) HOIST_WUR;

/* ---- Content store: an OCI image layout directory -------------------
 *
 * DIR/oci-layout, DIR/index.json, DIR/blobs/sha256/<hex>: readable as is
 * by skopeo (oci:DIR:tag), umoci and anything else that reads the OCI
 * image layout.  Blobs are immutable and named by their digest, so
 * several processes may write blobs at once; index.json is changed under
 * an flock on DIR/index.json.lock and replaced atomically, so concurrent
 * tags are never lost and readers never see half a file.  Every write is
 * fsync'd before it is renamed into place.  A store is used by one thread
 * at a time; several stores (or processes) may share one directory. */
struct builder_store;

/* Open the layout at DIR.  With CREATE, a missing DIR (and its parents)
 * or an empty DIR is made into a layout.  Fails, touching nothing in DIR,
 * when DIR holds other files but no oci-layout ("'DIR' is not an OCI image
 * layout: it has no oci-layout file and is not empty (hint: choose a new or
 * empty directory)"), when its imageLayoutVersion is not 1.x (-ENOTSUP),
 * and without CREATE when DIR is missing or has no oci-layout (-ENOENT).
 * *OUT is owned by the caller. */
int builder_store_open (const char *dir, bool create, struct builder_store **out, struct hoist_error **err) HOIST_WUR;
void builder_store_free (struct builder_store *store);
/* Borrowed: valid until STORE is freed. */
const char *builder_store_path (const struct builder_store *store);

/* Blob ingest: write into a temp file inside the layout (same file
 * system, so the commit is a rename), hashing as you write, then commit
 * it under its digest. */
struct builder_blob_ingest;

/* Start a blob.  *OUT is owned by the caller until it is passed to
 * builder_store_blob_commit or builder_store_blob_abort, which both free
 * it. */
int builder_store_blob_begin (struct builder_store *store, struct builder_blob_ingest **out,
                              struct hoist_error **err) HOIST_WUR;
/* The temp file, open for reading and writing.  Borrowed: valid until the
 * ingest is committed or aborted; do not close it. */
int builder_blob_ingest_fd (const struct builder_blob_ingest *ing);

enum
{
  /* Re-read the temp file and check it hashes to DIGEST: for blobs whose
   * digest came from elsewhere (a registry, a descriptor). */
  BUILDER_BLOB_VERIFY = 1 << 0,
  /* Do not wait for the disk (no fsync): for copies made for the user,
   * as cp makes them; the store's own blobs are always synced. */
  BUILDER_BLOB_NO_SYNC = 1 << 1,
};

/* Move the blob to blobs/sha256/<hex of DIGEST> after fsync.  DIGEST is
 * what the caller computed while writing (or, with BUILDER_BLOB_VERIFY,
 * what the content must hash to).  When a blob with that digest is
 * already there it is kept and the temp file removed.  *SIZE (when SIZE
 * is not NULL) gets the blob's size.  Frees ING whatever the result; on
 * failure the temp file is removed.  Fails on an invalid digest or, with
 * VERIFY, "blob content does not match digest 'sha256:...' (got '...')". */
int builder_store_blob_commit (struct builder_store *store, struct builder_blob_ingest *ing, const char *digest,
                               unsigned flags, int64_t *size, struct hoist_error **err) HOIST_WUR;
/* Remove the temp file and free ING.  ING may be NULL. */
void builder_store_blob_abort (struct builder_store *store, struct builder_blob_ingest *ing);

/* False for a digest that is not "sha256:<64 lowercase hex>". */
bool builder_store_has_blob (struct builder_store *store, const char *digest);
/* Open the blob for reading: *FD (close-on-exec) is owned by the caller,
 * *SIZE (when not NULL) gets its size.  Refuses any DIGEST that is not
 * "sha256:<64 lowercase hex>" ("invalid digest '...'"), so a digest from
 * outside can never name a path outside blobs/sha256.  -ENOENT when the
 * blob is not there.  The content is not verified (streaming readers hash
 * as they go). */
int builder_store_blob_open (struct builder_store *store, const char *digest, int *fd, int64_t *size,
                             struct hoist_error **err) HOIST_WUR;

/* Store DOC as a blob of its canonical bytes (builder_json_canonical) and
 * fill OUT (initialised here) with MEDIA_TYPE, digest and size. */
int builder_store_put_json (struct builder_store *store, const json_t *doc, const char *media_type,
                            struct builder_descriptor *out, struct hoist_error **err) HOIST_WUR;
/* Read the JSON blob DIGEST, at most LIMIT bytes (0: BUILDER_JSON_BLOB_MAX),
 * check that it hashes to DIGEST, and parse it (duplicate keys refused).
 * *OUT is a new reference.  Fails with E2BIG over the limit, EBADMSG when
 * the content does not match the digest. */
int builder_store_read_json (struct builder_store *store, const char *digest, size_t limit, json_t **out,
                             struct hoist_error **err) HOIST_WUR;

/* True when TAG is a valid org.opencontainers.image.ref.name: components
 * of [A-Za-z0-9]+ joined by one of -._:@+ or "--", separated by '/',
 * at most 255 bytes. */
bool builder_store_tag_valid (const char *tag);
/* Point TAG at DESC (a manifest or an index already in the store): its
 * index.json entry is DESC plus the ref.name annotation; an entry with the
 * same tag is replaced, every other entry kept. */
int builder_store_tag (struct builder_store *store, const char *tag, const struct builder_descriptor *desc,
                       struct hoist_error **err) HOIST_WUR;
/* Remove TAG's entry.  -ENOENT (with *ERR set) when it is not there. */
int builder_store_untag (struct builder_store *store, const char *tag, struct hoist_error **err) HOIST_WUR;
/* Fill OUT (initialised here) with TAG's descriptor, ref.name annotation
 * included.  -ENOENT when the tag is not in the layout. */
int builder_store_resolve (struct builder_store *store, const char *tag, struct builder_descriptor *out,
                           struct hoist_error **err) HOIST_WUR;

/* One tagged image, for `hoist images`. */
struct builder_store_image
{
  char *tag;
  struct builder_descriptor desc; /* its index.json entry */
  /* "created" of the image config (of the first manifest for an index);
   * NULL when unknown or the blobs are missing. */
  char *created;
};

/* Every tagged entry of index.json, sorted by tag (untagged entries are
 * skipped).  *OUT (an array of *N) is owned by the caller:
 * builder_store_images_free.  Fails when index.json cannot be read or a
 * tagged entry is not a valid descriptor. */
int builder_store_list (struct builder_store *store, struct builder_store_image **out, size_t *n,
                        struct hoist_error **err) HOIST_WUR;
void builder_store_images_free (struct builder_store_image *images, size_t n);

/* Copy the image TAG (its manifest or index, and recursively every blob it
 * reaches: manifests, configs, layers) into the layout DEST_DIR (created
 * if missing; an existing layout keeps its other images), verifying every
 * digest on the way, and tag it there DEST_TAG (NULL: TAG). */
int builder_store_export_layout (struct builder_store *store, const char *tag, const char *dest_dir,
                                 const char *dest_tag, struct hoist_error **err) HOIST_WUR;
/* OCI 1.1 referrers in a layout: each of the N manifests REFS (with a
 * subject; artifactType and annotations as the referrers API lists them)
 * gets an untagged index.json entry, unless one has its digest. */
int builder_store_add_referrers (struct builder_store *store, const struct builder_descriptor *refs, size_t n,
                                 struct hoist_error **err) HOIST_WUR;
/* The referrers index.json of STORE lists (untagged entries with an
 * artifactType) whose subject is one of SUBJECTS (NULL-terminated):
 * *OUT (N of them) is the caller's, each descriptor to release. */
int builder_store_referrers (struct builder_store *store, char *const *subjects, struct builder_descriptor **out,
                             size_t *n, struct hoist_error **err) HOIST_WUR;
/* Copy REFS and their blobs from STORE into the layout DEST_DIR, listed
 * there as builder_store_add_referrers does. */
int builder_store_export_referrers (struct builder_store *store, const struct builder_descriptor *refs, size_t n,
                                    const char *dest_dir, struct hoist_error **err) HOIST_WUR;
/* The same as an OCI archive: a tar at DEST_FILE holding oci-layout,
 * index.json (with only that image, tagged DEST_TAG or TAG) and blobs/.
 * Reproducible: entries in a fixed order (blobs sorted by digest), mtime
 * 0, owner 0:0, modes 0644/0755.  Written to a temp file beside DEST_FILE
 * and renamed, so a failure leaves no partial archive. */
/* The same with the N_REFS referrers REFS (and their blobs) listed in the
 * archive's index.json after the image. */
int builder_store_export_archive_referrers (struct builder_store *store, const char *tag,
                                            const struct builder_descriptor *refs, size_t n_refs, const char *dest_file,
                                            const char *dest_tag, struct hoist_error **err) HOIST_WUR;
int builder_store_export_archive (struct builder_store *store, const char *tag, const char *dest_file,
                                  const char *dest_tag, struct hoist_error **err) HOIST_WUR;

/* ---- Image config ----------------------------------------------------
 *
 * The OCI image config with Docker's extension keys (Healthcheck, Shell,
 * OnBuild), as hoist reads it from a base image and writes it for a
 * build.  Every pointer is owned by the config; optional members are NULL
 * (vectors: NULL-terminated, NULL when absent).  Members may be changed
 * directly (free the old value); the helpers below keep the invariants of
 * the sets (sorted, unique), of Env (ordered, one entry per key) and of
 * the layers (one diff_id per non-empty history entry). */

struct builder_image_healthcheck
{
  char **test;      /* ["NONE"], ["CMD", args...] or ["CMD-SHELL", line] */
  int64_t interval; /* nanoseconds; 0: inherit the default */
  int64_t timeout;
  int64_t start_period;
  int64_t start_interval;
  int retries;
};

struct builder_history
{
  char *created; /* RFC 3339 */
  char *author;
  char *created_by;
  char *comment;
  bool empty_layer;
};

struct builder_image_config
{
  char *architecture; /* required when serialised */
  char *os;           /* required when serialised */
  char *variant;
  char *os_version;
  char **os_features;
  char *created; /* RFC 3339 */
  char *author;
  struct
  {
    char *user;
    char **exposed_ports; /* sorted set: "80/tcp" */
    char **env;           /* "K=V", in order */
    char **entrypoint;
    char **cmd;
    char **volumes; /* sorted set */
    char *working_dir;
    struct builder_map labels;
    char *stop_signal;
    struct builder_image_healthcheck *healthcheck;
    char **shell;
    char **on_build;
    bool args_escaped; /* Windows only; kept for round trips */
  } config;
  char **diff_ids; /* rootfs.diff_ids: "sha256:..." of each uncompressed layer */
  struct builder_history *history;
  size_t n_history;
};

/* An empty config for OS/ARCHITECTURE (copied). */
struct builder_image_config *builder_image_config_new (const char *os, const char *architecture);
void builder_image_config_free (struct builder_image_config *cfg);
/* Parse J, a base image's config (untrusted): every member type-checked,
 * lists capped at BUILDER_CONFIG_ITEMS_MAX entries and layers at
 * BUILDER_LAYERS_MAX, digests and dates checked; null is taken as absent
 * (as Go writes nil slices); unknown members are dropped.  Errors name the
 * member: "image config: 'config.Env' must be an array of strings".
 * *OUT is owned by the caller. */
int builder_image_config_from_json (const json_t *j, struct builder_image_config **out,
                                    struct hoist_error **err) HOIST_WUR;
/* New reference.  Empty lists and maps are left out, as Docker writes
 * them; rootfs is always there.  Through builder_json_canonical the same
 * config always gives the same bytes. */
json_t *builder_image_config_to_json (const struct builder_image_config *cfg);

/* Env: set KEY to VALUE, replacing KEY's entry in place or appending. */
void builder_image_config_set_env (struct builder_image_config *cfg, const char *key, const char *value);
/* Borrowed: valid until the env is changed.  NULL: KEY not set. */
const char *builder_image_config_get_env (const struct builder_image_config *cfg, const char *key);
void builder_image_config_add_port (struct builder_image_config *cfg, const char *port);
void builder_image_config_add_volume (struct builder_image_config *cfg, const char *path);
/* Replace a vector member (entrypoint, cmd, shell, ...) with a copy of
 * V (NULL: unset). */
void builder_strv_replace (char ***field, char *const *v);
/* Append a layer: DIFF_ID to rootfs.diff_ids and a history entry (strings
 * copied; NULL: left out).  Fails on a DIFF_ID that is not a sha256 digest
 * or past BUILDER_LAYERS_MAX. */
int builder_image_config_add_layer (struct builder_image_config *cfg, const char *diff_id, const char *created,
                                    const char *created_by, const char *comment, struct hoist_error **err) HOIST_WUR;
/* Append a history entry with no layer (ENV, CMD, ...). */
void builder_image_config_add_history (struct builder_image_config *cfg, const char *created, const char *created_by,
                                       const char *comment, bool empty_layer);

/* ---- Manifest and index ---------------------------------------------- */

struct builder_manifest
{
  char *media_type; /* BUILDER_MT_OCI_MANIFEST or BUILDER_MT_DOCKER_MANIFEST */
  char *artifact_type;
  struct builder_descriptor config;
  struct builder_descriptor *layers;
  size_t n_layers;
  struct builder_descriptor *subject; /* NULL: none */
  struct builder_map annotations;
};

/* An empty OCI manifest (no config yet: set m->config). */
struct builder_manifest *builder_manifest_new (void);
void builder_manifest_free (struct builder_manifest *m);
/* Append a copy of LAYER. */
void builder_manifest_add_layer (struct builder_manifest *m, const struct builder_descriptor *layer);
/* New reference: schemaVersion 2, mediaType, config, layers, and
 * artifactType, subject and annotations when set. */
json_t *builder_manifest_to_json (const struct builder_manifest *m);
/* Parse J (untrusted): an OCI image manifest or a Docker v2 schema 2
 * manifest (a missing mediaType is taken as OCI).  schemaVersion must be
 * 2, config and every layer valid descriptors, at most BUILDER_LAYERS_MAX
 * layers; an index is refused ("image manifest: is an image index").
 * *OUT is owned by the caller. */
int builder_manifest_from_json (const json_t *j, struct builder_manifest **out, struct hoist_error **err) HOIST_WUR;

struct builder_index
{
  char *media_type; /* BUILDER_MT_OCI_INDEX or BUILDER_MT_DOCKER_LIST */
  char *artifact_type;
  struct builder_descriptor *manifests; /* with platform where known */
  size_t n_manifests;
  struct builder_descriptor *subject; /* NULL: none */
  struct builder_map annotations;
};

/* An empty OCI image index. */
struct builder_index *builder_index_new (void);
void builder_index_free (struct builder_index *idx);
/* Append a copy of DESC (its platform included). */
void builder_index_add (struct builder_index *idx, const struct builder_descriptor *desc);
json_t *builder_index_to_json (const struct builder_index *idx);
/* Parse J (untrusted): an OCI image index or a Docker manifest list;
 * platforms checked (architecture and os required), at most
 * BUILDER_INDEX_ENTRIES_MAX entries.  *OUT is owned by the caller. */
int builder_index_from_json (const json_t *j, struct builder_index **out, struct hoist_error **err) HOIST_WUR;

/* True for the media types of a manifest and of an index (OCI or Docker). */
bool builder_media_type_is_manifest (const char *media_type);
bool builder_media_type_is_index (const char *media_type);

/* ---------------------------------------------------------------------
 * Stage executor: a plan, a context and bases -> an image in the store
 * ------------------------------------------------------------------- */

/* builder_build runs a plan: for each needed stage in order it starts
 * from the base (scratch, an earlier stage, or a local OCI layout named
 * with --build-context), applies every instruction, and writes the
 * target's config and manifest into the store.  COPY and ADD become
 * layers straight from the context (builder_copy_*); metadata
 * instructions change the image config and add history entries as
 * BuildKit writes them ("COPY a /b # buildkit", empty_layer for the
 * others); RUN is refused until the sandbox exists.  Nothing is tagged
 * until everything succeeded, so a failed build leaves no tag behind (the
 * blobs it wrote stay: they are content-addressed and harmless).
 *
 * Every step is recorded in the step cache under HOME/cache/steps (see
 * builder/cache.c); a step whose key is known and whose blob is still in
 * the store is reused without reading or compressing anything.
 *
 * Library code never prints: progress goes to the sink in the options as
 * structured events that the caller formats. */

/* -o / --output: "type=oci,dest=PATH[,tar=true|false]".  A DEST ending in
 * ".tar" (or tar=true) is an OCI archive, otherwise a layout directory. */
enum builder_output_type
{
  BUILDER_OUTPUT_OCI_DIR = 0,
  BUILDER_OUTPUT_OCI_ARCHIVE,
};

struct builder_output
{
  enum builder_output_type type;
  char *dest;
};

enum builder_progress_kind
{
  BUILDER_PROGRESS_START = 0, /* a new step: TEXT names it */
  BUILDER_PROGRESS_LOG,       /* a detail line of step ID: TEXT */
  BUILDER_PROGRESS_CACHED,    /* step ID was answered from the cache */
  BUILDER_PROGRESS_DONE,      /* step ID finished after SECONDS */
  BUILDER_PROGRESS_ERROR,     /* step ID failed: TEXT is the message */
};

/* One progress event; every pointer is borrowed for the call. */
struct builder_progress
{
  enum builder_progress_kind kind;
  unsigned id; /* the step number, from 1, as BuildKit's "#N" */
  const char *text;
  double seconds;
};

typedef void (*builder_progress_fn) (void *data, const struct builder_progress *ev);

/* Most --build-context, --label and -t values one build takes. */
#define BUILDER_BUILD_LIST_MAX 1000u

struct builder_build_opts
{
  const struct builder_plan *plan; /* borrowed */
  /* The build context directory, and the Dockerfile's name as given to
   * builder_dockerfile_parse (used in errors: "NAME:LINE: problem", and
   * for NAME.dockerignore, which replaces CONTEXT/.dockerignore when it
   * exists, as BuildKit does). */
  const char *context_dir;
  const char *dockerfile_path;
  struct builder_store *store; /* borrowed: where blobs, config and manifest go */
  /* hoist's home: HOME/cache holds the step cache and the context digest
   * caches.  NULL: no cache at all (nothing looked up or recorded). */
  const char *home;
  /* Image names, each normalised (builder_tag_normalize).  Without
   * OUTPUTS they tag the image in the store; with OUTPUTS they name it
   * there instead (as buildx: -o does not load the image), and the store
   * only keeps its blobs.  Written only after the build succeeded.
   * NULL-terminated; may be NULL. */
  char *const *tags;
  /* -o destinations (builder_output_parse); N_OUTPUTS of them. */
  const struct builder_output *outputs;
  size_t n_outputs;
  /* --label "K=V" values, set on the target's config last. */
  char *const *labels;
  /* --build-context "NAME=SRC": SRC is oci-layout:///path[:tag|@digest]
   * (a base image or a COPY --from source) or a directory (a COPY --from
   * source).  NAME matches a FROM or --from reference in its familiar
   * form: "alpine", "alpine:latest" and "docker.io/library/alpine" are
   * one name. */
  char *const *build_contexts;
  /* The build args given (K=V or K): they key the cache and plan a base
   * image's ONBUILD triggers (their effect on the Dockerfile's own
   * instructions is already in the plan). */
  char *const *build_args;
  enum builder_compression compression;
  int level;        /* 0: the default of the algorithm */
  unsigned threads; /* compression threads; 0: one per CPU */
  bool no_cache;    /* look nothing up in the step cache (steps are still recorded) */
  /* Seconds since the epoch (SOURCE_DATE_EPOCH): history and config times
   * and org.opencontainers.image.created, and the clamp for every mtime.
   * Negative: not set; new steps then get the time they ran. */
  int64_t source_date_epoch;
  /* org.opencontainers.image.source and .revision labels; NULL: left out. */
  const char *source;
  const char *revision;
  /* "os/arch[/variant]" for stages without FROM --platform; NULL: the
   * host's. */
  const char *platform;
  /* How bases are pulled from registries; NULL: the defaults. */
  const struct registry_opts *registry;
  /* RUN: how steps are isolated, the secrets RUN --mount=type=secret may
   * name (--secret id=ID,src=FILE), and a time limit per step (0: none). */
  enum sandbox_isolation isolation;
  const struct builder_secret *secrets;
  size_t n_secrets;
  /* RUN --mount=type=ssh,id=ID: agent sockets (--ssh ID=SOCKET; SRC is
   * the socket's path). */
  const struct builder_secret *ssh;
  size_t n_ssh;
  unsigned run_timeout_s;
  builder_progress_fn progress; /* NULL: no progress */
  void *progress_data;
};

/* A build secret: RUN --mount=type=secret,id=ID reads the file SRC.  Its
 * content never goes into a layer, the cache key or the log. */
struct builder_secret
{
  const char *id;
  const char *src;
};

/* What a build made: the target's manifest (a descriptor owned by the
 * result) and config, both blobs of the store. */
struct builder_build_result
{
  struct builder_descriptor manifest; /* with the platform set */
  char config_digest[HOIST_DIGEST_STR_SIZE];
  size_t n_layers;
  size_t steps_cached; /* steps answered from the step cache */
  size_t steps_run;    /* steps that ran */
  char **bases;        /* the registry images pulled, as named; NULL when none */
  /* Every image the build read (FROM and COPY --from of registry images
   * and of oci-layout contexts), for provenance: N_DEPS of them. */
  struct builder_build_dep *deps;
  size_t n_deps;
};

/* An image a build read: NAME as the Dockerfile or --build-context gave
 * it ("alpine:3.19", "oci-layout:///path:tag"), DIGEST its manifest's
 * digest, PULLED whether it came from a registry. */
struct builder_build_dep
{
  char *name;
  char digest[HOIST_DIGEST_STR_SIZE];
  bool pulled;
};

/* Run OPTS->plan.  On success RES (initialised here; release it with
 * builder_build_result_release) describes the image, which is in the
 * store and tagged with every OPTS->tags entry.  Errors name the
 * Dockerfile and line: "Dockerfile:3: COPY: source 'x' not found in the
 * build context".  A capability hoist does not have yet fails with status
 * ENOTSUP: "Dockerfile:4: RUN is not supported yet: ...", "FROM 'alpine':
 * pulling images from registries is not supported yet (hint: ...)"; this
 * is checked for the whole plan before any step runs. */
int builder_build (const struct builder_build_opts *opts, struct builder_build_result *res,
                   struct hoist_error **err) HOIST_WUR;
void builder_build_result_release (struct builder_build_result *res);

/* ---------------------------------------------------------------------
 * Attestations: in-toto statements about an image (provenance.c)
 * ------------------------------------------------------------------- */

#define BUILDER_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define BUILDER_MT_IN_TOTO "application/vnd.in-toto+json"
#define BUILDER_PREDICATE_SLSA_V1 "https://slsa.dev/provenance/v1"
/* hoist's buildType: what its externalParameters mean is written down in
 * docs/provenance.md. */
#define BUILDER_BUILD_TYPE "https://hoist.dev/buildtypes/dockerfile/v1"
#define BUILDER_DEFAULT_BUILDER_ID "https://hoist.dev/hoist@" PACKAGE_VERSION

enum builder_provenance_mode
{
  BUILDER_PROVENANCE_OFF = 0,
  BUILDER_PROVENANCE_MIN,
  BUILDER_PROVENANCE_MAX, /* adds the Dockerfile and its steps */
};

/* What the provenance of one built image says, besides the build result.
 * Strings are borrowed; NULL ones are left out. */
struct builder_provenance_info
{
  enum builder_provenance_mode mode;
  const char *builder_id;      /* NULL: BUILDER_DEFAULT_BUILDER_ID */
  const char *invocation_id;   /* a job's id, or a UUID */
  const char *source;          /* the git repository's URL */
  const char *ref;             /* the git ref built ("refs/heads/main") */
  const char *revision;        /* the commit */
  const char *dockerfile_path; /* relative to the context */
  const char *dockerfile_text; /* max mode only */
  const char *target;
  const char *platform;            /* "os/arch[/variant]" of this image */
  char *const *build_args;         /* "K=V"; secret-looking names are left out */
  const struct builder_plan *plan; /* max mode: its steps */
  int64_t started_on;              /* seconds since the epoch; negative: left out */
  int64_t finished_on;
  int64_t source_date_epoch; /* negative: not set */
};

/* Whether a build arg named NAME (LEN bytes) looks like a secret (TOKEN,
 * SECRET, PASSWORD, PASSWD, CREDENTIAL or KEY in it, any case). */
bool builder_build_arg_is_secret (const char *name, size_t len);

/* The SLSA v1 provenance predicate of the build that gave RES: a new
 * reference in *OUT. */
int builder_provenance (const struct builder_provenance_info *p, const struct builder_build_result *res, json_t **out,
                        struct hoist_error **err) HOIST_WUR;

/* An in-toto v1 statement about one subject: PREDICATE is stolen.  A new
 * reference. */
json_t *builder_intoto_statement (const char *predicate_type, const char *subject_name, const char *subject_digest,
                                  json_t *predicate);

/* ---- attest.c: statements attached to images ------------------------ */

/* One built image to attest. */
struct builder_attest_image
{
  struct builder_descriptor manifest;     /* its index entry (platform set); borrowed */
  const char *platform;                   /* "os/arch[/variant]" */
  const struct builder_build_result *res; /* what it was built from */
  const struct builder_plan *plan;
};

enum builder_sbom_format
{
  BUILDER_SBOM_NONE = 0,
  BUILDER_SBOM_SPDX,      /* SPDX 2.3 JSON, predicate https://spdx.dev/Document */
  BUILDER_SBOM_CYCLONEDX, /* CycloneDX 1.5 JSON, predicate https://cyclonedx.org/bom */
};

struct builder_attest_opts
{
  /* The SBOM of each image, from the packages its layers hold (dpkg, apk,
   * npm, Python, Go binaries; builder/sbom_*.c).  NONE: no SBOM. */
  enum builder_sbom_format sbom;
  const char *image_name;                    /* the SBOM's name for the image; NULL: "image" */
  int64_t sbom_created;                      /* the SBOM's creation time (seconds) */
  const char *sbom_cache_dir;                /* package lists per image manifest (HOME/cache/sbom); NULL: none */
  const char *subject_name;                  /* the statements' subject name ("pkg:docker/app@1.0"); NULL: "image" */
  const char *created;                       /* the referrers' org.opencontainers.image.created; NULL: none */
  struct builder_provenance_info provenance; /* mode OFF: none; platform and plan are per image */
};

struct builder_attest_result
{
  struct builder_descriptor root;       /* the image index: images and attestation manifests */
  struct builder_descriptor *referrers; /* OCI 1.1 referrers (subject set), in the store */
  size_t n_referrers;
};

/* Make the statements about each of the N IMAGES (SBOM, provenance), store them, and store
 * the index that holds the images and their attestation manifests
 * (BuildKit's layout) and a referrer artifact per statement.  OUT is
 * initialised here; release it with builder_attest_result_release. */
int builder_attest (struct builder_store *store, const struct builder_attest_image *images, size_t n,
                    const struct builder_attest_opts *o, struct builder_attest_result *out,
                    struct hoist_error **err) HOIST_WUR;
void builder_attest_result_release (struct builder_attest_result *r);

/* Normalise an image name given with -t as docker build does: a name
 * without a tag gets ":latest" ("demo" -> "demo:latest"); the repository
 * must be lowercase.  A digest ("name@sha256:...") is refused, as is any
 * name that is not a valid reference.  *OUT is owned by the caller. */
int builder_tag_normalize (const char *name, char **out, struct hoist_error **err) HOIST_WUR;

/* Split a normalised tag into repository and tag at the last ':' after
 * the last '/'.  Both are owned by the caller; *TAG is "" when there is
 * none. */
void builder_tag_split (const char *name, char **repository, char **tag);

/* The familiar form of an image reference, as BuildKit matches named
 * contexts: "docker.io/library/alpine:latest" -> "alpine",
 * "index.docker.io/x/y:1" -> "x/y:1", "ghcr.io/a/b" -> "ghcr.io/a/b".
 * The caller owns the result. */
char *builder_ref_familiar (const char *ref);

/* Parse SPEC into OUT (owned: builder_output_release).  Fails with EINVAL
 * on a malformed spec or a missing dest, and with ENOTSUP on an output
 * type hoist does not write yet ("docker", "image", "registry", "local",
 * "tar": "output type 'local' is not supported yet (hint: ...)"). */
int builder_output_parse (const char *spec, struct builder_output *out, struct hoist_error **err) HOIST_WUR;
void builder_output_release (struct builder_output *out);

/* Write the image DESC (a manifest or index in STORE) and the N_REFS
 * referrers REFS about it to OUT, tagged TAG there (an OCI layout may get
 * several calls, one per tag; an archive holds the one tag).  The store's
 * export functions work on tags, so the image carries a temporary tag in
 * STORE meanwhile ("hoist-export-PID-N:tmp"), removed whatever the
 * result. */
int builder_output_write (struct builder_store *store, const struct builder_descriptor *desc,
                          const struct builder_descriptor *refs, size_t n_refs, const struct builder_output *out,
                          const char *tag, struct hoist_error **err) HOIST_WUR;

/* Name the image DESC of STORE, with the N_REFS referrers REFS about it
 * beside it: with no outputs, tag it in STORE with each of TAGS (the
 * referrers listed there); else write it to each output (named with each
 * tag, or "latest").  NOTE (may be NULL) hears a line for each. */
int builder_publish (struct builder_store *store, const struct builder_descriptor *desc,
                     const struct builder_descriptor *refs, size_t n_refs, char *const *tags,
                     const struct builder_output *outputs, size_t n_outputs, void (*note) (void *ctx, const char *line),
                     void *ctx, struct hoist_error **err) HOIST_WUR;

/* HOIST_HOME, else $XDG_DATA_HOME/hoist, else $HOME/.local/share/hoist.
 * The caller owns the result.  Fails when none of them is set. */
int builder_home_dir (char **out, struct hoist_error **err) HOIST_WUR;
/* Open hoist's own store, HOME/store (created when CREATE); *HOME (when
 * not NULL) gets the home directory.  Both are the caller's. */
int builder_home_store (bool create, char **home, struct builder_store **out, struct hoist_error **err) HOIST_WUR;

/* ---------------------------------------------------------------------
 * Push: an image of the store to a registry
 * ------------------------------------------------------------------- */

struct builder_push_opts
{
  struct registry_opts registry;
  bool quiet;                    /* no progress lines */
  registry_progress_fn progress; /* each blob's bytes as they go; NULL: none */
  void *progress_ctx;
  /* Images (names, as in FROM) whose blobs the registry may already hold:
   * a blob is mounted from the first one on the destination's registry
   * rather than uploaded, when the registry agrees.  NULL-terminated. */
  char *const *mount_from;
};

struct builder_push_result
{
  char digest[HOIST_DIGEST_STR_SIZE]; /* of the manifest or index pushed */
  size_t blobs_pushed;
  size_t blobs_skipped; /* the repository had them */
  size_t blobs_mounted; /* linked from another repository of the registry */
  int64_t bytes_pushed;
  size_t round_trips; /* builder_push_referrers: the requests it made */
};

/* Push TAG of STORE to DEST ("host/repo:tag", docker's normalisation):
 * blobs the repository lacks, the manifests an index holds, then the
 * root under DEST's tag (or its digest, which must be TAG's).  Progress
 * lines go to the log's print channel unless quiet. */
int builder_push (struct builder_store *store, const char *tag, const char *dest, const struct builder_push_opts *o,
                  struct builder_push_result *res, struct hoist_error **err) HOIST_WUR;

/* Push the N referrer manifests REFS of STORE (OCI 1.1 artifacts whose
 * subject is IMAGE, just pushed, or one of its manifests) to DEST's
 * repository, by digest; blobs IMAGE's push sent are not asked about
 * again.  When the registry does not answer a referrer's PUT with
 * OCI-Subject (it has no referrers API: Distribution 2.8, GHCR), the
 * referrers tag "sha256-<hex>" of each subject is updated as the
 * distribution spec's fallback says: its index keeps what it listed and
 * gains REFS. */
int builder_push_referrers (struct builder_store *store, const struct builder_descriptor *image,
                            const struct builder_descriptor *refs, size_t n, const char *dest,
                            const struct builder_push_opts *o, struct builder_push_result *res,
                            struct hoist_error **err) HOIST_WUR;

/* The host's platform, as OCI names it. */
void builder_host_platform (char **os, char **arch, char **variant);
/* Split "os/arch[/variant]" (a missing arch is amd64, a missing variant
 * NULL); all three are the caller's. */
void builder_platform_split (const char *p, char **os, char **arch, char **variant);

/* Pull: an image from a registry into the store. */
struct builder_pull_opts
{
  struct registry_opts registry;
  const char *os;      /* the platform to pick from an index: "linux" */
  const char *arch;    /* "amd64" */
  const char *variant; /* "v8", or NULL: any */
  bool quiet;
  bool documents_only;           /* the manifests and the config, not the layers */
  registry_progress_fn progress; /* each blob's bytes as they come; NULL: none */
  void *progress_ctx;
};

struct builder_pull_result
{
  struct builder_descriptor root;     /* what the name points at: a manifest or an index */
  struct builder_descriptor manifest; /* the platform's manifest (ROOT when that is one) */
  size_t blobs_pulled;
  size_t blobs_present; /* already in the store */
  int64_t bytes_pulled;
};

/* Pull NAME (docker's normalisation; a tag or a digest) into STORE: the
 * root document, the platform's manifest, its config and layers, each
 * checked against its digest.  Nothing is tagged.  RES is the caller's to
 * release (builder_pull_result_release) on success. */
int builder_pull (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
                  struct builder_pull_result *res, struct hoist_error **err) HOIST_WUR;
void builder_pull_result_release (struct builder_pull_result *res);

/* The same for the image IMAGE (a manifest or index in STORE). */
int builder_push_image (struct builder_store *store, const struct builder_descriptor *image, const char *dest,
                        const struct builder_push_opts *o, struct builder_push_result *res,
                        struct hoist_error **err) HOIST_WUR;

/* The in-toto statement (a new reference in *OUT) of one of
 * PREDICATE_TYPES (NULL-terminated, the first named in errors) about the
 * image NAME resolves to, for O's platform: from the attestation manifest
 * the image index holds for it, as BuildKit and builder_attest attach
 * them.  Fails with ENOENT when there is none. */
int builder_pull_statement (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
                            const char *const *predicate_types, json_t **out, struct hoist_error **err) HOIST_WUR;

/* ---- sign.c: cosign's key-based image signatures --------------------- */

#define BUILDER_MT_COSIGN_PAYLOAD "application/vnd.dev.cosign.simplesigning.v1+json"
#define BUILDER_COSIGN_SIGNATURE "dev.cosignproject.cosign/signature"

struct builder_sign_key;

/* Load an ECDSA P-256 key from the PEM file PATH: a private key (EC,
 * PKCS#8, or encrypted PKCS#8 with the passphrase in $HOIST_SIGN_PASSWORD
 * or $COSIGN_PASSWORD) or, unless PRIVATE_KEY, a public key.  Other key
 * types and curves are refused, saying which. */
int builder_sign_key_load (const char *path, bool private_key, struct builder_sign_key **out,
                           struct hoist_error **err) HOIST_WUR;
void builder_sign_key_free (struct builder_sign_key *k);
/* cosign's simple-signing payload for DIGEST of REPOSITORY ("host/path"),
 * compact JSON.  Owned by the caller. */
char *builder_sign_payload (const char *repository, const char *digest);
/* The base64 of the DER ECDSA-SHA256 signature of the LEN bytes of DATA. */
int builder_sign_bytes (const struct builder_sign_key *k, const void *data, size_t len, char **b64,
                        struct hoist_error **err) HOIST_WUR;
/* Check B64 against PAYLOAD (LEN bytes, from outside) with K, then that
 * the payload is a simple-signing document naming DIGEST and, when not
 * NULL, REPOSITORY.  The error says which check failed. */
int builder_sign_check (const struct builder_sign_key *k, const void *payload, size_t len, const char *b64,
                        const char *digest, const char *repository, struct hoist_error **err) HOIST_WUR;
/* Sign DIGEST of REPOSITORY: the payload, the config and the signature
 * manifest into STORE; OUT (initialised here) describes the manifest, to
 * be pushed under the tag "sha256-<hex>.sig". */
int builder_sign_image (struct builder_store *store, const struct builder_sign_key *k, const char *repository,
                        const char *digest, struct builder_descriptor *out, struct hoist_error **err) HOIST_WUR;
/* Where cosign keeps the signatures of DIGEST in REPOSITORY: the tag
 * "REPOSITORY:sha256-<hex>.sig".  Owned by the caller. */
char *builder_sign_tag (const char *repository, const char *digest);
/* Pull NAME (an image reference) into STORE as IMG, then its signature
 * manifest (builder_sign_tag of the digest NAME resolved to) as SIG, with
 * its payloads; *REPOSITORY (owned) gets NAME's repository.  Fails saying
 * which signature tag it looked for when the image has none.  IMG and SIG
 * are the caller's to release (also on failure). */
int builder_pull_signature (struct builder_store *store, const char *name, const struct builder_pull_opts *o,
                            struct builder_pull_result *img, struct builder_pull_result *sig, char **repository,
                            struct hoist_error **err) HOIST_WUR;
/* Verify the signature manifest SIG_MANIFEST of STORE (its payloads
 * there too) for DIGEST of REPOSITORY: *VERIFIED gets how many of its
 * signatures hold; fails when none does, naming each failure. */
int builder_sign_verify (struct builder_store *store, const struct builder_sign_key *k, const char *sig_manifest,
                         const char *digest, const char *repository, size_t *verified,
                         struct hoist_error **err) HOIST_WUR;

#endif
