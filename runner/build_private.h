/* build_private.h — private to runner/: what `hoist build`'s flag
 * handling (cmd_build.c) and its execution (build_exec.c) share.  Not a
 * public API. */
#ifndef HOIST_RUNNER_BUILD_PRIVATE_H
#define HOIST_RUNNER_BUILD_PRIVATE_H

#include "builder/builder.h"
#include "registry/registry.h"
#include "runner/runner.h"

struct build_flags
{
  const char *file;
  const char *context;
  const char *progress;
  char **tags;
  char **build_args;
  char **labels;
  char **outputs;
  char **build_contexts;
  char **secret_specs;
  char **ssh_specs;
  const char *isolation;
  const char *target;
  const char *platform;
  const char *compression;
  const char *level;
  const char *threads;
  const char *provenance;    /* --provenance: true, false, mode=min, mode=max */
  const char *sbom;          /* --sbom: true, false */
  const char *sbom_format;   /* --sbom-format: spdx, cyclonedx */
  const char *sign_key;      /* --sign-key: sign what --push pushes */
  const char *iidfile;       /* --iidfile: the image digest goes there */
  const char *metadata_file; /* --metadata-file: the result as JSON */
  bool no_cache;
  bool push;
  struct registry_opts registry;
};

struct progress_out
{
  bool quiet;
  bool started;
};

struct build_run
{
  struct builder_build_opts opts;
  struct builder_output *outputs;
  char **tags;
  char *home;
  struct builder_store *store;
  struct builder_dockerfile *df;
  struct builder_plan *plan;
  char *dockerfile;
  char *dockerfile_text; /* for provenance mode=max */
  char **platforms;      /* --platform A,B,...: each; NULL for one */
  struct builder_secret *secrets;
  struct builder_secret *ssh;
  char **secret_strings; /* what SECRETS and SSH point at */
};

/* build_exec.c: build every platform, attest, name the result (tags or
 * -o outputs), push.  Returns the exit code. */
int runner_build_execute (const struct build_flags *f, struct build_run *r);

/* --provenance as buildx takes it (true, false, mode=min, mode=max; unset:
 * min unless BUILDX_NO_DEFAULT_ATTESTATIONS is set).  Returns 0 or the
 * exit code of a usage error. */
int runner_provenance_mode (const char *value, enum builder_provenance_mode *out);
/* --sbom (true, false; unset: true unless BUILDX_NO_DEFAULT_ATTESTATIONS
 * is set) and --sbom-format (spdx, the default, or cyclonedx). */
int runner_sbom_format (const char *sbom, const char *format, enum builder_sbom_format *out);

#endif
