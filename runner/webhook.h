/* webhook.h — GitHub's push webhook: the signature over the raw body,
 * the push event's fields the runner needs, and the rules that decide a
 * push builds nothing.  Part of runner/librunner.a.  The body is
 * untrusted: parsing bounds every string and list it keeps. */
#ifndef HOIST_RUNNER_WEBHOOK_H
#define HOIST_RUNNER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"
#include "runner/pipeline.h"

/* GitHub caps webhook payloads at 25 MB. */
#define RUNNER_WEBHOOK_MAX_BODY ((size_t) 25 << 20)
/* The most changed paths kept from one payload; past it the list counts
 * as incomplete (the job then asks git). */
#define RUNNER_WEBHOOK_MAX_FILES 10000
/* Commit lists this long may have been cut by GitHub. */
#define RUNNER_WEBHOOK_COMMITS_CAP 20

/* Whether HEADER (X-Hub-Signature-256: "sha256=<64 hex>") is the
 * HMAC-SHA256 of BODY under SECRET.  The comparison takes the same time
 * wherever the digests differ; a missing, "sha1=" or malformed header is
 * false. */
bool runner_webhook_signature_ok (const void *secret, size_t secret_len, const void *body, size_t len,
                                  const char *header);
/* "sha256=<hex>" of BODY under SECRET (malloc'd): what GitHub sends. */
char *runner_webhook_sign (const void *secret, size_t secret_len, const void *body, size_t len);

/* Whether a delivery id (X-GitHub-Delivery) is acceptable to store: 1 to
 * 128 bytes of [A-Za-z0-9._-]. */
bool runner_webhook_delivery_valid (const char *id);

/* A push event's fields (every string owned, control bytes refused). */
struct runner_push
{
  char *repo;      /* repository.full_name */
  char *clone_url; /* repository.clone_url, or NULL */
  char *ref;       /* "refs/heads/main" */
  char *before;    /* 40 hex */
  char *after;     /* 40 hex */
  bool created;
  bool deleted;
  bool forced;
  char *message;       /* head_commit.message, or NULL */
  char **files;        /* changed paths of every commit (added, modified, removed), sorted, unique */
  bool files_complete; /* false when GitHub or hoist may have cut the lists */
  char **committers;   /* each commit's committer email, in order */
};

void runner_push_release (struct runner_push *p);

/* Parse a push event BODY (LEN bytes of JSON) into *P.  Returns 0, or
 * negative with *ERR saying which field is missing or wrong (the server
 * answers 400). */
int runner_push_parse (const char *body, size_t len, struct runner_push *p, struct hoist_error **err) HOIST_WUR;

/* Why push P to REPO builds nothing, or NULL when it may build: a deleted
 * ref, a ref REPO does not build; for branch pushes also a skip marker in the head commit's
 * message ([skip ci], [ci skip], [no ci], [skip actions], [actions skip],
 * a "skip-checks: true" trailer), hoist's own bump (every commit by
 * CFG's git identity touching only deploy files), or — when the file list
 * is complete and the push neither created the ref nor was forced — no
 * changed path matching an image.  Static strings. */
const char *runner_push_skip_reason (const struct runner_config *cfg, const struct runner_repo *repo,
                                     const struct runner_push *p);

/* Whether commit MESSAGE asks CI to skip it (the markers above). */
bool runner_message_skips_ci (const char *message);

/* The images of REPO that FILES (NULL-terminated) touch, as a bitmap of
 * REPO->images indices in *WANTED (REPO->n_images entries); returns how
 * many. */
size_t runner_images_touched (const struct runner_repo *repo, char *const *files, bool *wanted);

#endif
