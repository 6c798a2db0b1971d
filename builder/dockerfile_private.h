/* dockerfile_private.h — private to builder/: the parsed Dockerfile that
 * builder_dockerfile_parse makes and builder_plan_new reads, and the
 * helpers the front-end files share.  Not a public API: only builder's own
 * sources define BUILDER_INTERNAL before including it. */
#ifndef HOIST_BUILDER_DOCKERFILE_PRIVATE_H
#define HOIST_BUILDER_DOCKERFILE_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "dockerfile_private.h is private to builder/"
#endif

#include "builder/builder.h"
#include "builder/shell_words.h"

/* Longest physical line, as BuildKit's line scanner (64 KiB buffer). */
#define DF_LINE_MAX 65535
/* A logical line (continuations joined) can not outgrow the file. */
#define DF_LOGICAL_LINE_MAX BUILDER_DOCKERFILE_MAX

/* A key/value pair of ENV and LABEL (VALUE never NULL; LEGACY for the old
 * `ENV k v` form) or of ARG (VALUE NULL when there is no '='). */
struct df_kv
{
  char *key;
  char *value;
  bool legacy;
};

/* One instruction.  The line-level fields are set by dockerfile.c, the
 * checked ones by df_insn_parse (dockerfile_insn.c). */
struct df_insn
{
  int line;
  int end_line;
  /* line level */
  char *command;     /* the keyword as written ("copy") */
  char *original;    /* the logical line, continuations joined */
  char **flag_words; /* "--name[=value]" with quotes and escapes removed */
  char **words;      /* arguments as the line parser split them */
  bool json;         /* WORDS came from a JSON array */
  struct df_kv *kvs; /* ENV, LABEL (line level) and ARG (checked) */
  size_t n_kvs;
  struct df_insn *child; /* ONBUILD: the trigger, line level only */
  struct builder_heredoc *heredocs;
  size_t n_heredocs;
  /* checked */
  enum builder_keyword keyword;
  struct builder_flag *flags;
  size_t n_flags;
  char *stage_name; /* FROM ... AS NAME, lowercased */
  char *onbuild;    /* ONBUILD: the trigger text for the image config */
  struct builder_healthcheck health;
  enum builder_network network;
  enum builder_security security;
};

struct builder_dockerfile
{
  char *name;
  char *syntax;
  char *check;
  char escape;
  bool escape_set;
  struct df_insn *insns;
  size_t n_insns;
  size_t n_meta;      /* INSNS[0 .. n_meta) are the global ARGs */
  size_t *stage_from; /* index in INSNS of each stage's FROM */
  size_t n_stages;
};

/* dockerfile_line.c */

/* Make room for element N of an array that grows one element at a time
 * (beyond its first four elements it must only ever grow through here):
 * the capacity doubles, so appending stays amortized O(1).  A realloc per
 * element, or hoist_strv_push (which walks the vector each time), turns
 * quadratic on a hostile Dockerfile with millions of words. */
void *df_grow (void *p, size_t n, size_t size);
/* Append S (owned) to the NULL-terminated vector *V of *N strings. */
void df_strv_add (char ***v, size_t *n, char *s);

/* Byte length of the whitespace character (as Go's unicode.IsSpace sees
 * it) that starts at P with N bytes left, or 0 when there is none. */
size_t df_space_at (const char *p, size_t n);
/* Go's unicode.IsSpace on a single byte taken as a rune: BuildKit scans
 * some fields byte by byte, so 0x85 and 0xA0 count as blanks there. */
bool df_byte_space (unsigned char c);
/* A copy of S (LEN bytes) with every invalid UTF-8 byte replaced by
 * U+FFFD, as Go does when it turns bytes into runes. */
char *df_utf8_sanitize (const char *s, size_t len);

/* Trim Go-style whitespace from the start (and end) of *S, *N bytes. */
void df_trim_left (const char **s, size_t *n);
void df_trim_space (const char **s, size_t *n);

/* Split the logical line LINE (LEN bytes) into IN's command, flag words
 * and arguments (or key/value pairs, or an ONBUILD trigger), as BuildKit's
 * line parsers do.  ESCAPE is the escape character; NESTED is set for an
 * ONBUILD trigger.  Errors are bare problems. */
int df_node_from_line (struct df_insn *in, const char *line, size_t len, char escape, bool nested,
                       struct hoist_error **err) HOIST_WUR;

/* Split LINE into words as BuildKit's shell lexer does when it looks for
 * heredoc markers (quotes and escapes kept; "<<" keeps the blanks after
 * it).  No words when the quoting is broken. */
int df_heredoc_split (const char *line, char ***out, struct hoist_error **err) HOIST_WUR;

/* dockerfile.c */

void df_insn_release (struct df_insn *in);

/* Parse the text of an ONBUILD trigger (struct df_insn.onbuild) as the
 * one-instruction Dockerfile BuildKit makes of it when a stage is built on
 * the stage that holds it.  Errors are bare problems. */
int df_parse_trigger (const char *text, struct df_insn *out, struct hoist_error **err) HOIST_WUR;
void df_kvs_free (struct df_kv *kvs, size_t n);
void df_flags_free (struct builder_flag *flags, size_t n);
void df_heredocs_free (struct builder_heredoc *h, size_t n);

/* Keyword of COMMAND (case-insensitive); false when unknown. */
bool df_keyword_lookup (const char *command, enum builder_keyword *kw);

/* If WORD is a heredoc marker ("<<EOF", "<<-'EOF'", "2<<EOF"), fill *NAME
 * (owned), *EXPAND and *CHOMP and return 1; return 0 when it is not one,
 * negative with *ERR set when its quoting is broken. */
int df_heredoc_word (const char *word, char **name, bool *expand, bool *chomp, struct hoist_error **err);

/* dockerfile_insn.c */

/* Check IN as BuildKit's instructions package does and fill its checked
 * fields.  Errors are bare problems; the caller adds "NAME:LINE: ". */
int df_insn_parse (struct df_insn *in, struct hoist_error **err) HOIST_WUR;

/* Check every instruction of DF in order and group them into the global
 * ARGs and the stages.  Errors are complete ("NAME:LINE: problem"). */
int df_stages_build (struct builder_dockerfile *df, struct hoist_error **err) HOIST_WUR;

/* Go's time.ParseDuration into nanoseconds. */
int df_parse_duration (const char *s, long long *ns, struct hoist_error **err) HOIST_WUR;

/* Split a --mount value into fields as CSV (Go's encoding/csv rules for
 * one record).  *OUT is a NULL-terminated vector. */
int df_csv_fields (const char *s, char ***out, struct hoist_error **err) HOIST_WUR;

/* plan_values.c: checks of values known only after substitution */

/* Decode the --mount FIELDS (values already substituted) into *M and
 * check them as BuildKit does.  *M is released by df_mount_release. */
int df_mount_decode (char *const *fields, struct builder_mount *m, struct hoist_error **err) HOIST_WUR;
void df_mount_release (struct builder_mount *m);

/* Parse an "os[/arch[/variant]]" platform as containerd's platforms.Parse
 * does (FROM --platform), and with TARGET also normalize it as BuildKit
 * does the build's target platform; *OUT ("os/arch[/variant]") is owned
 * by the caller. */
int df_platform_normalize (const char *spec, bool target, char **out, struct hoist_error **err) HOIST_WUR;
/* The host's platform, normalized. */
char *df_platform_host (void);

/* A STOPSIGNAL value: a non-zero number or a signal name (SIG optional). */
int df_signal_check (const char *sig, struct hoist_error **err) HOIST_WUR;

/* An EXPOSE word: [ip:][hostport:]port[-end][/tcp|udp|sctp]. */
int df_port_check (const char *port, struct hoist_error **err) HOIST_WUR;

/* A --chmod value: octal up to 07777, or a symbolic mode such as u+x. */
int df_chmod_check (const char *mode, struct hoist_error **err) HOIST_WUR;
/* The sources (N of them, heredocs excluded) of an ADD --checksum. */
int df_checksum_check (char *const *sources, size_t n, struct hoist_error **err) HOIST_WUR;

/* plan.c / plan_insn.c: the planner's state */

/* The PATH BuildKit puts in a stage whose base has none. */
#define PLAN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Variables by name (plan_scope.c); setting one again replaces its value.
 * All zero is an empty scope. */
struct plan_scope
{
  char **names; /* in the order first set */
  char **values;
  size_t n;
  size_t *slots; /* hash table of index + 1 into NAMES, 0 for empty */
  size_t n_slots;
};

/* How many variables the stages built on other stages may inherit in all:
 * each inherits a copy of its base's variables, and a hostile chain of
 * stages over a long ENV list would otherwise copy without bound. */
#define PLAN_INHERITED_MAX (1024u * 1024)

struct plan_stage
{
  const char *name; /* borrowed from the FROM instruction */
  char *base;       /* FROM's image after substitution */
  char *platform;
  int base_stage;
  bool reachable;
  struct
  {
    size_t stage;
    int line;
  } *deps; /* COPY --from and RUN --mount from= stages */
  size_t n_deps;
  /* ONBUILD triggers of the base stage, run first in this one */
  struct df_insn *triggers;
  size_t n_triggers;
  struct plan_scope env; /* ENV and ARG values once dispatched */
};

struct plan_named
{
  const char *name;
  size_t index;
};

struct planner
{
  const struct builder_dockerfile *df;
  const struct builder_plan_opts *opts;
  struct plan_scope build_args;
  struct plan_scope globals;       /* automatic ARGs and global ARGs */
  struct plan_scope global_index;  /* global ARG name -> index in plan->global_args */
  struct plan_stage *st;           /* one per stage of DF */
  struct plan_named *by_name;      /* named stages sorted by (name, index) */
  size_t n_by_name;
  size_t inherited;                /* variables copied into stages so far */
  size_t target;
  struct builder_plan *plan;
};

const char *plan_scope_get (const struct plan_scope *s, const char *name);
void plan_scope_set (struct plan_scope *s, const char *name, const char *value);
void plan_scope_copy (struct plan_scope *dst, const struct plan_scope *src);
void plan_scope_release (struct plan_scope *s);

/* Docker's ProcessWord / ProcessWords over SCOPE, with DF's escape. */
int plan_expand (const struct planner *p, const struct plan_scope *scope, const char *word, char **out,
                 struct hoist_error **err) HOIST_WUR;
int plan_expand_words (const struct planner *p, const struct plan_scope *scope, const char *text, char ***out,
                       struct hoist_error **err) HOIST_WUR;

/* "name", or "stage-N" for a stage without one (BUF holds it). */
const char *plan_stage_label (const struct planner *p, size_t i, char buf[32]);
int plan_stage_by_name (const struct planner *p, const char *name);
int plan_copy_from (const struct planner *p, const char *from, int *stage, struct hoist_error **err) HOIST_WUR;
int plan_mount_from (const struct planner *p, const char *mount, struct hoist_error **err);

/* Dispatch instruction IN of stage S into OUT (zeroed by the caller). */
int plan_insn (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
               struct hoist_error **err) HOIST_WUR;

#endif
