/* registry.h — hoist's OCI distribution client: image references,
 * credentials, the auth challenge, pull and push over libcurl.
 *
 * registry/ uses only common/.  Every function that can fail returns 0 (or
 * a documented positive value) on success and a negative value with *ERR
 * set on failure, as common/ does. */
#ifndef HOIST_REGISTRY_H
#define HOIST_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ---------------------------------------------------------------------
 * References: Docker's normalisation and the distribution spec's grammar
 * ------------------------------------------------------------------- */

/* The limits of the distribution reference grammar. */
#define REGISTRY_NAME_MAX 255 /* domain + "/" + path */
#define REGISTRY_TAG_MAX 128

/* A parsed, normalised reference: "busybox" is domain "docker.io", path
 * "library/busybox", tag "latest". */
struct registry_ref
{
  char *domain; /* "docker.io", "ghcr.io", "127.0.0.1:5000", "localhost" */
  char *path;   /* "library/busybox", "org/app": lowercase components */
  char *tag;    /* NULL when only a digest was given */
  char *digest; /* "sha256:<64 hex>", or NULL */
};

/* Parse S as docker does (distribution/reference ParseNormalizedNamed +
 * TagNameOnly): a first component with '.' or ':', with an upper-case
 * letter, or equal to "localhost" is the domain, else the domain is
 * docker.io (so "localhost:5000" alone is the image localhost, tag
 * 5000); "index.docker.io" becomes docker.io; a one-component docker.io
 * path gets "library/"; with neither tag nor digest the tag is "latest";
 * "name:tag@digest" keeps both.
 * Refused with a message naming the problem and the offending part:
 * empty, uppercase in the path, a component or tag or digest outside the
 * grammar, a name over REGISTRY_NAME_MAX, a 64-hex string alone (it reads
 * as an image id), a digest algorithm other than sha256 or a sha256 whose
 * hex is not 64 lowercase hex digits.  On success *OUT is the caller's to
 * release; on failure it is left empty (releasing it is safe). */
int registry_ref_parse (const char *s, struct registry_ref *out, struct hoist_error **err) HOIST_WUR;
void registry_ref_release (struct registry_ref *ref);

/* "domain/path[:tag][@digest]", the normalised full form.  Owned by the
 * caller. */
char *registry_ref_string (const struct registry_ref *ref);

/* "domain/path", the repository's full name.  Owned by the caller. */
char *registry_ref_repository (const struct registry_ref *ref);

/* The host the API is served from: "registry-1.docker.io" for docker.io,
 * the domain otherwise.  Borrowed from REF or static. */
const char *registry_ref_api_host (const struct registry_ref *ref);

/* Whether the domain is a loopback name docker lets use plain HTTP:
 * "localhost", "127.0.0.0/8" or "[::1]", with any port. */
bool registry_ref_is_loopback (const struct registry_ref *ref);

/* ---------------------------------------------------------------------
 * The auth challenge: WWW-Authenticate (RFC 7235)
 * ------------------------------------------------------------------- */

enum registry_auth_scheme
{
  REGISTRY_AUTH_NONE = 0,
  REGISTRY_AUTH_BASIC,
  REGISTRY_AUTH_BEARER,
};

struct registry_challenge
{
  enum registry_auth_scheme scheme;
  char *realm;   /* Bearer: the token endpoint URL; Basic: the realm; or NULL */
  char *service; /* or NULL */
  char *scope;   /* as given (several scopes separated by spaces), or NULL */
  char *error;   /* "insufficient_scope", "invalid_token"..., or NULL */
};

/* Parse the value of one WWW-Authenticate header.  Accepts what RFC 7235
 * allows and registries send: the scheme case-insensitive, parameters as
 * token=token or token="quoted string" (backslash escapes, commas and
 * spaces inside quotes), optional whitespace around '=' and ',', empty
 * list elements, parameter names case-insensitive, unknown parameters
 * ignored.  Several challenges in one header: the first Bearer one wins,
 * else the first Basic one.  Fails (EINVAL, message naming the problem)
 * on an unterminated quote, a missing '=', a repeated parameter, a value
 * over 4 KiB, no Basic or Bearer challenge, or Bearer without a realm.
 * On success *OUT is the caller's to release. */
int registry_challenge_parse (const char *header, struct registry_challenge *out,
                              struct hoist_error **err) HOIST_WUR;
void registry_challenge_release (struct registry_challenge *c);

/* ---------------------------------------------------------------------
 * Credentials
 * ------------------------------------------------------------------- */

struct registry_creds
{
  char *username; /* NULL: anonymous */
  char *password; /* the secret: registered with the log masker */
  char *identity_token; /* config.json "identitytoken" (an OAuth refresh token), or NULL */
  const char *source;   /* where they came from, for messages: "--creds", "$GITHUB_TOKEN", a file path */
};

/* Find credentials for registry host HOST (as in a reference's domain:
 * "docker.io", "ghcr.io", "127.0.0.1:5000"), in docker's order:
 *  1. EXPLICIT "user:pass" (--creds), when not NULL;
 *  2. $REGISTRY_AUTH_FILE (containers-auth.json, same "auths" format);
 *  3. $DOCKER_CONFIG/config.json, else ~/.docker/config.json:
 *     "auths"."<host>"."auth" (base64 "user:pass"), or "username" and
 *     "password", or "identitytoken"; docker.io also matches the key
 *     "https://index.docker.io/v1/"; keys given as URLs
 *     ("https://ghcr.io", "http://host:port/v2/") match their host;
 *  4. for ghcr.io only, $GITHUB_TOKEN with user "x-access-token".
 * No credentials is success with username NULL.  A file that exists but
 * is malformed (bad JSON, bad base64, "auth" without ':') fails with its
 * path in the message; a missing file is skipped.  Every secret found is
 * added to the log masker.  *OUT is the caller's to release. */
int registry_creds_find (const char *host, const char *explicit_creds, struct registry_creds *out,
                         struct hoist_error **err) HOIST_WUR;
void registry_creds_release (struct registry_creds *c);

/* Store USER and PASSWORD for HOST in the docker config file
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) as
 * `docker login` does: "auths"."<host>"."auth" = base64 "user:pass",
 * every other key of the file kept, written to a temp file (mode 0600)
 * and renamed over it.  docker.io is stored under
 * "https://index.docker.io/v1/" as docker does. */
int registry_creds_store (const char *host, const char *user, const char *password,
                          struct hoist_error **err) HOIST_WUR;

/* Remove HOST's entry, as `docker logout` does.  Returns 1 when there was
 * one, 0 when not. */
int registry_creds_erase (const char *host, struct hoist_error **err) HOIST_WUR;

/* ---------------------------------------------------------------------
 * The client: one repository of one registry
 * ------------------------------------------------------------------- */

/* Media types the client asks for and sends. */
#define REGISTRY_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REGISTRY_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REGISTRY_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct registry_opts
{
  const char *creds;     /* "user:pass" (--creds), or NULL to look them up */
  bool tls_verify_off;   /* --tls-verify=false: plain HTTP, or HTTPS without checks */
  const char *ca_file;   /* PEM bundle to trust, or NULL */
  unsigned max_attempts; /* per request; 0: 5 */
  unsigned backoff_ms;   /* the first retry's delay, doubled each time, with jitter; 0: 500 */
  unsigned backoff_max_ms; /* 0: 30000 */
};

/* Progress of one blob transfer: DONE of TOTAL bytes. */
typedef void (*registry_progress_fn) (void *ctx, const char *digest, int64_t done, int64_t total);

struct registry_client;

/* A client for REF's repository.  HTTPS, except plain HTTP for a loopback
 * registry (as docker allows) or with tls_verify_off.  Credentials are
 * looked up (registry_creds_find) when the registry first asks. */
int registry_client_new (const struct registry_ref *ref, const struct registry_opts *opts,
                         struct registry_client **out, struct hoist_error **err) HOIST_WUR;
void registry_client_free (struct registry_client *c);
void registry_client_set_progress (struct registry_client *c, registry_progress_fn fn, void *ctx);
/* What `docker login` checks before it stores anything: that registry
 * HOST answers GET /v2/ with the credentials of OPTS (a token fetched
 * with them when the registry uses tokens).  Fails with the registry's
 * or the token service's refusal. */
int registry_login_check (const char *host, const struct registry_opts *opts, struct hoist_error **err) HOIST_WUR;

/* Say that this client pushes: every token it asks for then covers pull
 * and push, so one token serves the HEADs, uploads and manifests. */
void registry_client_will_push (struct registry_client *c);

/* Whether the repository holds blob DIGEST: 1 yes, 0 no. */
int registry_blob_exists (struct registry_client *c, const char *digest, struct hoist_error **err) HOIST_WUR;

/* Upload SIZE bytes of FD (read with pread from offset 0) as DIGEST.
 * With MOUNT_FROM (another repository of the same registry), first asks
 * the registry to mount the blob from there.  Monolithic PUT first; if
 * the registry refuses that, chunks of at most REGISTRY_CHUNK_MAX bytes.
 * A failed transfer resumes where the registry says it stands.  Returns
 * 1 when mounted, 0 when uploaded. */
#define REGISTRY_CHUNK_MAX (4 * 1024 * 1024)
int registry_blob_push (struct registry_client *c, const char *digest, int64_t size, int fd, const char *mount_from,
                        struct hoist_error **err) HOIST_WUR;

/* PUT the LEN bytes of a manifest or index of MEDIA_TYPE under REFERENCE
 * (a tag or the digest of the bytes).  With SUBJECT_SEEN not NULL, says
 * whether the registry answered with OCI-Subject. */
int registry_manifest_put (struct registry_client *c, const char *reference, const char *media_type,
                           const void *bytes, size_t len, bool *subject_seen, struct hoist_error **err) HOIST_WUR;

/* GET manifest REFERENCE (a tag or a digest), asking for OCI and Docker
 * manifests and indexes.  OUT (initialised by the caller; its limit
 * bounds the size) gets the bytes, *MEDIA_TYPE (owned by the caller) the
 * Content-Type without parameters, DIGEST the sha256 of the bytes.  Fails
 * closed when the bytes do not hash to a REFERENCE digest or to the
 * registry's Docker-Content-Digest; ENOENT when there is no such
 * manifest. */
int registry_manifest_get (struct registry_client *c, const char *reference, struct hoist_buf *out,
                           char **media_type, char digest[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;

/* GET blob DIGEST into FD (written with pwrite from offset 0; truncated
 * on a retry), following redirects (credentials only ever go to the
 * registry's own host), and check its sha256 and, when SIZE > 0, that it
 * is not longer.  The caller throws FD's content away on failure. */
int registry_blob_get (struct registry_client *c, const char *digest, int64_t size, int fd,
                       struct hoist_error **err) HOIST_WUR;

#endif
