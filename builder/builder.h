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
int builder_dockerfile_parse (const char *name, const char *text, size_t len,
                              struct builder_dockerfile **out, struct hoist_error **err) HOIST_WUR;
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

/* A RUN --mount, validated and after substitution.  Strings not given are
 * NULL; MODE, UID and GID are -1 when not given. */
struct builder_mount
{
  enum builder_mount_type type;
  char *from;      /* stage name or image; NULL: the build context */
  int from_stage;  /* index of the stage FROM names, or -1 */
  char *source;
  char *target;
  char *id;
  char *env;       /* secret: environment variable to set */
  enum builder_mount_sharing sharing;
  bool readonly;   /* after the defaults: bind, secret and ssh are read-only */
  bool required;
  long long size;  /* tmpfs size in bytes, 0: unlimited */
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
  char *original; /* the instruction as written, continuations joined */
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
  size_t index; /* position in the Dockerfile, 0-based */
  char *name;   /* lowercase; NULL when the stage has no AS name */
  char *base;   /* after substitution; "scratch" for an empty base */
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
 * Layer writer: PAX tar stream -> compression -> blob, digests in one pass
 * ------------------------------------------------------------------- */

/* @@LAYER_API@@ — the layer helper fills this section. */

/* ---------------------------------------------------------------------
 * Content store (OCI image layout) and image config / manifest / index
 * ------------------------------------------------------------------- */

/* @@STORE_API@@ — the store helper fills this section. */

#endif
