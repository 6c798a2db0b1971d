/* client_private.h — the registry client's internals, shared by http.c
 * (requests, retries, errors), auth.c (credentials and tokens), blob.c
 * and manifest.c.  Not a public API: include registry/registry.h. */
#ifndef HOIST_REGISTRY_CLIENT_PRIVATE_H
#define HOIST_REGISTRY_CLIENT_PRIVATE_H

#include <curl/curl.h>
#include <jansson.h>

#include "registry/registry.h"

static inline void
registry_json_decrefp (json_t **j)
{
  json_decref (*j);
}
#define cleanup_json __attribute__ ((cleanup (registry_json_decrefp)))

#define REGISTRY_ATTEMPTS_DEFAULT 5

/* A token is renewed this long before the registry says it expires. */
#define REGISTRY_TOKEN_MARGIN_S 10
/* Bodies read into memory: manifests, token answers, error documents. */
#define REGISTRY_SMALL_BODY_MAX (4u * 1024 * 1024)

struct registry_token
{
  char *scope; /* the scopes it was asked for, space separated */
  char *value;
  int64_t expires; /* CLOCK_MONOTONIC seconds */
};

struct registry_client
{
  struct registry_ref ref;
  char *base;       /* "https://host" or "http://host" */
  char *repository; /* the path: "library/busybox" */
  char *api_host;   /* host[:port] requests go to, for the Authorization check */
  struct registry_opts opts;
  char *explicit_creds; /* opts.creds points here */
  char *ca_file;
  bool plain_allowed; /* HTTP when HTTPS fails: loopback or --tls-verify=false */
  bool pinged;        /* GET /v2/ done: BASE's scheme is known */
  bool pushing;       /* registry_client_will_push: ask for pull,push tokens */
  struct registry_creds creds;
  bool creds_loaded;
  CURL *curl;
  /* What the registry asked for: NONE until the first 401. */
  struct registry_challenge challenge;
  struct registry_token *tokens;
  size_t n_tokens;
  registry_progress_fn progress;
  void *progress_ctx;
  /* The blob being moved, for progress: its digest and size. */
  const char *transfer_digest;
  int64_t transfer_size;
};

/* One request.  The body is BODY/BODY_LEN, or BODY_LEN bytes of BODY_FD
 * from BODY_OFF (re-read from there on a retry). */
struct http_req
{
  const char *method;
  const char *url;
  const char *scope; /* the token scope this request needs */
  const char *accept;
  const char *content_type;
  const char *content_range;
  const void *body;
  size_t body_len;
  int body_fd; /* -1: none */
  int64_t body_off;
  int64_t body_fd_len;
  /* The response body: into RESP (bounded; error answers too), or into
   * RESP_FD hashed into RESP_HASH, or dropped when both are unset. */
  struct hoist_buf *resp;
  int resp_fd; /* -1: none */
  struct hoist_sha256 *resp_hash;
  int64_t expect_size; /* a download of known size: more is refused (0: unknown) */
  bool follow;  /* follow a redirect (blob GET), without credentials to another host */
  bool no_retry; /* fail at once (the caller retries a larger unit) */
  bool want_errors; /* return 4xx and 5xx answers instead of failing */
};

struct http_resp
{
  long status;
  char *location;
  char *docker_digest;
  char *content_type;
  char *range;
  char *oci_subject;
  int64_t content_length;
  long retry_after; /* seconds Retry-After asked for, or -1 */
};

void http_resp_release (struct http_resp *r);

/* Run REQ with authentication, retries and backoff.  Returns 0 with
 * RESP->status set for any answer the caller must look at (2xx, 404,
 * 3xx when not followed); fails with the registry's own error (code and
 * message) for the rest, and with a clear message when the network or
 * the credentials fail. */
int http_do (struct registry_client *c, const struct http_req *req, struct http_resp *resp,
             struct hoist_error **err) HOIST_WUR;

/* The error for an answer the caller did not expect: the registry's
 * "errors" document when it sent one, else the status.  Its status is
 * EAGAIN for answers worth another try (408, 429, 5xx), EACCES for 401
 * and 403, ENOENT for 404, EPROTO otherwise. */
int http_fail (const struct registry_client *c, const char *what, const struct http_resp *resp,
               const struct hoist_buf *body, struct hoist_error **err);

/* "BASE/v2/REPO/SUFFIX".  Owned by the caller. */
char *client_url (const struct registry_client *c, const char *suffix);

/* Resolve LOCATION (absolute, or relative to the registry) and add
 * QUERY_ADD ("digest=...", already encoded) to its query. */
int client_resolve_location (const struct registry_client *c, const char *location, const char *query_add,
                             char **out, struct hoist_error **err) HOIST_WUR;

/* The Authorization header value for SCOPE: "Bearer ...", "Basic ...",
 * or NULL (anonymous).  Fetches a token when the challenge is Bearer and
 * none is held for SCOPE.  Owned by the caller. */
int auth_header (struct registry_client *c, const char *scope, char **out, struct hoist_error **err) HOIST_WUR;

/* A 401 arrived with WWW_AUTHENTICATE: remember the challenge, and drop
 * the token for SCOPE (it expired or lacks a scope).  Fails when no
 * retry can help: no credentials to offer, or the same credentials were
 * just refused. */
int auth_challenged (struct registry_client *c, const char *scope, const char *www_authenticate, bool had_auth,
                     struct hoist_error **err) HOIST_WUR;

void auth_release (struct registry_client *c);

/* Wait before retry number N: RETRY_S seconds when the registry said so
 * (Retry-After, >= 0), else exponential backoff with jitter. */
void client_backoff (const struct registry_client *c, unsigned n, long retry_s);

/* GET /v2/ once: settle HTTPS or HTTP, and take up the challenge early
 * (one round trip less per scope). */
int client_ping (struct registry_client *c, struct hoist_error **err) HOIST_WUR;

/* Set the TLS, timeout and protocol options every request shares. */
void client_curl_defaults (const struct registry_client *c, CURL *curl);

#endif
