/* pipeline.h — what `hoist serve` builds: the runner's configuration
 * (hoist.yml, read with libyaml), GitHub's path filters and the tag
 * templates.  Part of runner/librunner.a; the command line and the
 * tests use it, nothing outside runner/ does. */
#ifndef HOIST_RUNNER_PIPELINE_H
#define HOIST_RUNNER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

/* The largest hoist.yml read, and the most errors one --check reports. */
#define RUNNER_CONFIG_MAX_BYTES (1u << 20)
#define RUNNER_CONFIG_MAX_ERRORS 50

enum runner_deploy_kind
{
  RUNNER_DEPLOY_KUSTOMIZE, /* kustomization.yaml: images[] entry by name */
  RUNNER_DEPLOY_YAML,      /* any YAML file: the scalar at a key path */
};

/* Where a new tag is committed. */
struct runner_deploy
{
  enum runner_deploy_kind kind;
  char *file;      /* path in the repository, relative, no ".." component */
  char *key;       /* YAML: dotted key path ("image.tag"); NULL for kustomize */
  char *image;     /* kustomize: the images[].name to set; default the image's name */
  char *new_name;  /* kustomize: newName to write, or NULL to keep/omit it */
  bool pin_digest; /* kustomize: write digest: too (YAML: value TAG@DIGEST) */
  unsigned line;   /* line of the entry in hoist.yml */
};

/* One image a repository builds. */
struct runner_image
{
  char *name;        /* repository to push to: "localhost:5000/org/api" (no tag) */
  char *context;     /* directory in the repository; default "." */
  char *dockerfile;  /* path in the repository; default CONTEXT/Dockerfile */
  char *target;      /* stage, or NULL */
  char **paths;      /* GitHub path filters, in order; default: all of CONTEXT */
  char **tags;       /* tag templates; default { "{sha}" } */
  char **platforms;  /* "linux/amd64"...; NULL: the host's */
  char **build_args; /* "KEY=VALUE" */
  struct runner_deploy *deploy;
  size_t n_deploy;
  unsigned line;
};

struct runner_repo
{
  char *name;           /* "owner/name", matched to the payload's repository.full_name */
  char *url;            /* clone URL (https://, git://, file path) */
  char **branches;      /* branch globs that build; default { "main" } */
  char **tag_patterns;  /* tag globs that build ("v*"); NULL: tag pushes build nothing */
  char *deploy_branch;  /* branch bumps go to on tag pushes; default branches[0] */
  char *token_file;     /* token for this repository's git and status API, or NULL */
  char *commit_message; /* bump message template; NULL: the config's */
  struct runner_image *images;
  size_t n_images;
  unsigned line;
};

struct runner_config
{
  char *listen;          /* "127.0.0.1:8080" (default), "[::1]:9000", ":8080" */
  char *state_dir;       /* queue, mirrors, logs; default /var/lib/hoist */
  char *secret_file;     /* webhook secret (required) */
  char *token_file;      /* GitHub token for git and statuses, or NULL */
  char *git_name;        /* bump commits' author and committer; default "hoist" */
  char *git_email;       /* default "hoist@localhost" */
  char *status_api;      /* default "https://api.github.com"; "" turns statuses off */
  char *public_url;      /* base of target_url links, or NULL */
  char *commit_message;  /* default "chore: update {image} image to {tag} [skip ci]" */
  unsigned concurrency;  /* jobs at once; default 1 */
  unsigned bump_retries; /* pushes tried per bump; default 5 */
  unsigned job_timeout;  /* seconds; default 3600 */
  struct runner_repo *repos;
  size_t n_repos;
};

/* Parse hoist.yml TEXT (LEN bytes; NAME is used in messages).  On success
 * fills CFG (release with runner_config_release) and returns 0.  On
 * failure returns negative with *ERR holding every error found, one per
 * line, each "NAME:LINE: problem" (at most RUNNER_CONFIG_MAX_ERRORS), and
 * CFG left empty.  Checks: unknown keys, wrong types, missing required
 * keys, duplicate repositories/images, template variables, path globs,
 * relative paths without "..", URLs and refs without control bytes. */
int runner_config_parse (const char *text, size_t len, const char *name, struct runner_config *cfg,
                         struct hoist_error **err) HOIST_WUR;
/* Read PATH (at most RUNNER_CONFIG_MAX_BYTES) and parse it. */
int runner_config_load (const char *path, struct runner_config *cfg, struct hoist_error **err) HOIST_WUR;
void runner_config_release (struct runner_config *cfg);

/* The repository configured as FULL_NAME (case-insensitive as GitHub's
 * names are), or NULL.  Borrowed: valid while CFG lives. */
const struct runner_repo *runner_config_repo (const struct runner_config *cfg, const char *full_name);
/* Whether a push to REF ("refs/heads/main", "refs/tags/v1.2.3") of REPO
 * builds: its branch matches a branch glob or its tag a tag glob. */
bool runner_repo_wants_ref (const struct runner_repo *repo, const char *ref);

/* GitHub Actions' path filter rules: PATTERNS are tried in order, a
 * pattern starting with '!' excludes what it matches, the last match
 * wins; '*' matches within one path component, '**' across '/', '?' makes
 * the character before it optional and '+' repeats it, '[...]' is a class
 * (ranges a-z, A-Z, 0-9).  A list of only negations matches nothing. */
bool runner_paths_match (char *const *patterns, const char *path);
/* Whether PATTERN is a valid glob (for --check); on false *WHY says why. */
bool runner_glob_valid (const char *pattern, const char **why);
/* fnmatch-like match of one glob against a whole string ('*' stops at '/'). */
bool runner_glob_match (const char *pattern, const char *s);

/* The values a tag template can use; NULL members are unavailable. */
struct runner_tag_vars
{
  const char *sha;    /* 40 hex */
  const char *branch; /* branch pushes */
  const char *tag;    /* tag pushes: the tag name */
};

/* Expand TEMPLATE: {sha}, {short_sha} (7), {branch} ('/' → '-'), {tag},
 * {version} (tag without a leading 'v'), {major}, {minor}, {patch} (from a
 * semver tag).  Returns 1 with *OUT (malloc'd) a valid OCI tag; 0 with *OUT
 * NULL when the template uses a value this push lacks (tag on a branch
 * push, {major} of a non-semver tag); negative with *ERR for an unknown
 * variable or a result that is not a valid tag. */
int runner_tag_expand (const char *template_, const struct runner_tag_vars *vars, char **out,
                       struct hoist_error **err) HOIST_WUR;
/* Whether TEMPLATE names only known variables (for --check). */
bool runner_tag_template_valid (const char *template_, const char **why);

#endif
