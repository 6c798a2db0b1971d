/* step_private.h — private to builder/: what the layer-making steps share
 * (build_step.c for COPY, ADD and WORKDIR; build_run.c for RUN): the cache
 * key of a step, the lookup, the blob of a new layer, and the end of a
 * step.  Not a public API. */
#ifndef HOIST_BUILDER_STEP_PRIVATE_H
#define HOIST_BUILDER_STEP_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "step_private.h is private to builder/"
#endif

#include "builder/build_private.h"

/* Fills a new layer: 0 when it wrote it, 1 when there was nothing to
 * write (no blob is kept), negative on failure. */
typedef int (*layer_fill_fn) (void *data, struct builder_layer_writer *w, struct hoist_error **err);

/* Write one layer through FILL into a new blob of the store: LAYER gets
 * its descriptor and DIFF_ID the tar's digest.  Returns FILL's 1 as is
 * (nothing stored). */
int build_write_layer (struct build *b, layer_fill_fn fill, void *data, struct builder_descriptor *layer,
                       char diff_id[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* The cache key of step IN of S: S's key, the instruction, the build
 * args in scope and EXTRA (what else decides the result). */
int build_step_key (struct build_stage *s, const struct builder_instruction *in, const char *extra,
                    char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* 1 with REC filled when the cache holds KEY (and --no-cache is off). */
int build_step_lookup (struct build *b, const char *key, struct build_cache_record *rec);

/* Record REC (a new step, unless CACHED) and put its layer and history
 * into S; S's key becomes KEY. */
int build_step_end (struct build *b, struct build_stage *s, const char *key, struct build_cache_record *rec,
                    bool cached, struct hoist_error **err) HOIST_WUR;

/* "wrote layer sha256:... 1.2 MB" in the step's progress. */
void build_log_layer (struct build *b, unsigned id, const struct build_cache_record *rec, const char *what);

/* Where COPY --from=FROM (FROM_STAGE: the stage index it names, or -1)
 * finds its sources: the build context (FROM NULL), a stage's or an
 * image's root (materialised), a named context. */
int build_source_of (struct build *b, const char *from, int from_stage, struct builder_copy_source *src,
                     struct hoist_error **err) HOIST_WUR;

/* RUN --mount (run_mounts.c): resolved before the cache lookup (bind
 * sources as copy plans, whose digests go into the key), prepared only
 * for a step that runs.  Everything is owned; release frees it, and
 * removes the bind mounts' private trees. */
struct run_mounts
{
  struct sandbox_mount *v; /* what the sandbox mounts, N of them */
  size_t n;
  char **env;                       /* what the step's environment gets ("SSH_AUTH_SOCK=...") */
  char **owned;                     /* strings V points at */
  struct builder_copy_plan **plans; /* per --mount of the instruction; NULL but for binds */
  size_t n_plans;
  struct build_rootfs **trees; /* the bind mounts' trees */
  size_t n_trees;
  /* A heredoc script run by its #! interpreter: its body, mounted
   * read-only at SCRIPT_TARGET; NULL: none. */
  char *script;
  char *script_target;
  char *script_file; /* on the host, removed by release */
};

int build_run_mounts_resolve (struct build *b, const struct builder_instruction *in, struct run_mounts *m,
                              struct hoist_error **err) HOIST_WUR;
/* Add the bind sources' digests to a step's KEY material. */
int build_run_mounts_key (const struct run_mounts *m, struct hoist_buf *key, struct hoist_error **err) HOIST_WUR;
/* Relative targets are below WORKDIR. */
int build_run_mounts_prepare (struct build *b, const struct builder_instruction *in, const char *workdir,
                              struct run_mounts *m, struct hoist_error **err) HOIST_WUR;
void build_run_mounts_release (struct run_mounts *m);

/* RUN (build_run.c).  Returns 1 when the cache answered, 0 when it ran. */
int build_step_run (struct build *b, struct build_stage *s, const struct builder_instruction *in, unsigned id,
                    struct hoist_error **err) HOIST_WUR;

#endif
