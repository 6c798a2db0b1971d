/* blob.c — blobs: HEAD to see whether the repository has one, and the
 * upload, as the distribution spec describes it and GHCR and Distribution
 * accept it:
 *  - with a mount source, POST ?mount=&from= first: 201 means the
 *    registry linked the blob from the other repository, no bytes sent;
 *  - else (or when the registry answers the mount with a session instead)
 *    one monolithic PUT of the whole blob, streamed from the file with
 *    Content-Length, to the session's Location (used as given: relative
 *    or absolute, its query kept) plus digest=;
 *  - when that PUT is refused for its size (413, or 400 with
 *    SIZE_INVALID/BLOB_UPLOAD_INVALID), chunks of at most
 *    REGISTRY_CHUNK_MAX bytes by PATCH, then an empty PUT;
 *  - when a transfer breaks, GET the session to learn where the registry
 *    stands (its Range) and go on from there with chunks; when the
 *    session is gone, start over.  Bounded by the client's attempts. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "registry/client_private.h"

/* The token scope: ACTIONS on the repository (pull,push for every request
 * of a client that pushes, so that one token serves the whole push), and
 * pull on MOUNT_FROM. */
static char *
scope_for (const struct registry_client *c, const char *actions, const char *mount_from)
{
  if (c->pushing)
    actions = "pull,push";
  if (mount_from != NULL)
    return hoist_xasprintf ("repository:%s:%s repository:%s:pull", c->repository, actions, mount_from);
  return hoist_xasprintf ("repository:%s:%s", c->repository, actions);
}

int
registry_blob_exists (struct registry_client *c, const char *digest, struct hoist_error **err)
{
  cleanup_free char *suffix = hoist_xasprintf ("blobs/%s", digest);
  cleanup_free char *url = NULL;
  cleanup_free char *scope = scope_for (c, "pull", NULL);
  struct http_req req = { .method = "HEAD", .scope = scope, .body_fd = -1, .resp_fd = -1 };
  struct http_resp resp;
  int ret;

  if (client_ping (c, err) < 0)
    return -1;
  url = client_url (c, suffix);
  req.url = url;
  if (http_do (c, &req, &resp, err) < 0)
    return -1;
  ret = resp.status == 200 ? 1 : 0;
  if (resp.status != 200 && resp.status != 404)
    ret = http_fail (c, "HEAD blob", &resp, NULL, err);
  http_resp_release (&resp);
  return ret;
}

int
registry_blob_get (struct registry_client *c, const char *digest, int64_t size, int fd, struct hoist_error **err)
{
  cleanup_free char *suffix = hoist_xasprintf ("blobs/%s", digest);
  cleanup_free char *scope = scope_for (c, "pull", NULL);
  cleanup_free char *url = NULL;
  struct hoist_sha256 h;
  struct http_req req = { .method = "GET", .scope = scope, .body_fd = -1, .resp_fd = fd, .resp_hash = &h,
                          .follow = true };
  struct http_resp resp;
  char got[HOIST_DIGEST_STR_SIZE];
  int ret = 0;

  if (client_ping (c, err) < 0)
    return -1;
  if (hoist_sha256_init (&h, err) < 0)
    return -1;
  url = client_url (c, suffix);
  req.url = url;
  req.expect_size = size;
  c->transfer_digest = digest;
  c->transfer_size = size;
  ret = http_do (c, &req, &resp, err);
  c->transfer_digest = NULL;
  if (ret == 0 && resp.status == 404)
    ret = hoist_error_set_status (err, ENOENT, "registry %s has no blob %s in %s", c->api_host, digest,
                                  c->repository);
  else if (ret == 0 && resp.status != 200)
    ret = http_fail (c, "blob GET from", &resp, NULL, err);
  hoist_sha256_final (&h, got);
  hoist_sha256_release (&h);
  if (ret == 0 && strcmp (got, digest) != 0)
    ret = hoist_error_set_status (err, EBADMSG, "registry %s sent blob %s with content that hashes to %s",
                                  c->api_host, digest, got);
  http_resp_release (&resp);
  if (ret < 0)
    return hoist_error_wrap (err, "cannot get blob %s from %s/%s", digest, c->ref.domain, c->repository);
  return 0;
}

/* ---- Upload sessions ---------------------------------------------------- */

struct upload
{
  struct registry_client *c;
  const char *digest;
  int64_t size;
  int fd;
  char *scope;
  char *location; /* the session, as the registry last named it */
  long retry_s;   /* Retry-After of the last refusal, or -1 */
};

/* POST a new session (with a mount request when FROM is set).  Returns 1
 * when the registry mounted the blob, 0 with U->location set. */
static int
upload_start (struct upload *u, const char *from, struct hoist_error **err)
{
  struct registry_client *c = u->c;
  cleanup_free char *suffix = NULL;
  cleanup_free char *url = NULL;
  cleanup_buf struct hoist_buf body;
  struct http_req req = { .method = "POST", .scope = u->scope, .body_fd = -1, .resp_fd = -1 };
  struct http_resp resp;
  int ret = 0;

  hoist_buf_init (&body, REGISTRY_SMALL_BODY_MAX);
  if (from != NULL)
    {
      char *d = curl_easy_escape (c->curl, u->digest, 0);
      char *f = curl_easy_escape (c->curl, from, 0);

      suffix = hoist_xasprintf ("blobs/uploads/?mount=%s&from=%s", d != NULL ? d : "", f != NULL ? f : "");
      curl_free (d);
      curl_free (f);
    }
  else
    suffix = hoist_xstrdup ("blobs/uploads/");
  url = client_url (c, suffix);
  req.url = url;
  req.resp = &body;
  if (http_do (c, &req, &resp, err) < 0)
    return -1;
  if (from != NULL && resp.status == 201)
    ret = 1;
  else if (resp.status != 202 || resp.location == NULL)
    ret = http_fail (c, "start of a blob upload to", &resp, &body, err);
  else
    {
      free (u->location);
      u->location = NULL;
      ret = client_resolve_location (c, resp.location, NULL, &u->location, err);
    }
  http_resp_release (&resp);
  return ret;
}

/* Where the registry stands in the session: the next offset, or -1 when
 * the session is gone. */
static int64_t
upload_offset (struct upload *u, struct hoist_error **err)
{
  struct http_req req = { .method = "GET", .url = u->location, .scope = u->scope, .body_fd = -1, .resp_fd = -1,
                          .no_retry = true };
  struct http_resp resp;
  int64_t off = -1;

  if (http_do (u->c, &req, &resp, err) < 0)
    return -1;
  if (resp.status == 204)
    {
      uint64_t lo = 0, hi = 0;

      off = 0;
      /* Distribution says "0-0" for an empty session as for one byte:
       * take it as empty (a wrong guess fails the digest, and the caller
       * starts over). */
      if (resp.range != NULL && sscanf (resp.range, "%" SCNu64 "-%" SCNu64, &lo, &hi) == 2 && hi > 0)
        off = (int64_t) hi + 1;
      if (resp.location != NULL)
        {
          char *next = NULL;

          if (client_resolve_location (u->c, resp.location, NULL, &next, NULL) == 0)
            {
              free (u->location);
              u->location = next;
            }
        }
    }
  http_resp_release (&resp);
  return off;
}

/* PUT ?digest= with BYTES bytes of the file from OFF (0: the closing
 * empty PUT).  Returns 0 done, 1 when the registry refused the size
 * (chunks may work), or -1. */
static int
upload_put (struct upload *u, int64_t off, int64_t bytes, struct hoist_error **err)
{
  cleanup_free char *q = NULL;
  cleanup_free char *url = NULL;
  cleanup_buf struct hoist_buf body;
  char *d = curl_easy_escape (u->c->curl, u->digest, 0);
  struct http_req req = { .method = "PUT", .scope = u->scope, .body_fd = bytes > 0 ? u->fd : -1, .resp_fd = -1 };
  struct http_resp resp;
  int ret = 0;

  hoist_buf_init (&body, REGISTRY_SMALL_BODY_MAX);
  q = hoist_xasprintf ("digest=%s", d != NULL ? d : "");
  curl_free (d);
  if (client_resolve_location (u->c, u->location, q, &url, err) < 0)
    return -1;
  req.url = url;
  req.body_off = off;
  req.body_fd_len = bytes;
  req.resp = &body;
  /* A broken upload is retried by the caller from where it stands. */
  req.no_retry = bytes > 0;
  req.want_errors = true;
  if (http_do (u->c, &req, &resp, err) < 0)
    return -1;
  if (resp.status == 201)
    ret = 0;
  else if (resp.status == 413
           || (resp.status == 400 && (strstr (body.data, "SIZE_INVALID") || strstr (body.data, "BLOB_UPLOAD_INVALID"))))
    ret = 1;
  else
    {
      u->retry_s = resp.retry_after;
      ret = http_fail (u->c, "blob upload to", &resp, &body, err);
    }
  http_resp_release (&resp);
  return ret;
}

/* PATCH the file from OFF to the end in chunks. */
static int
upload_chunks (struct upload *u, int64_t off, struct hoist_error **err)
{
  while (off < u->size)
    {
      int64_t n = u->size - off < REGISTRY_CHUNK_MAX ? u->size - off : REGISTRY_CHUNK_MAX;
      cleanup_free char *range = hoist_xasprintf ("%" PRId64 "-%" PRId64, off, off + n - 1);
      cleanup_buf struct hoist_buf body;
      struct http_req req = { .method = "PATCH", .url = u->location, .scope = u->scope, .body_fd = u->fd,
                              .body_off = off, .body_fd_len = n, .content_range = range, .resp_fd = -1,
                              .resp = &body, .no_retry = true, .want_errors = true };
      struct http_resp resp;
      char *next = NULL;
      int r;

      hoist_buf_init (&body, REGISTRY_SMALL_BODY_MAX);
      if (http_do (u->c, &req, &resp, err) < 0)
        return -1;
      if (resp.status != 202 || resp.location == NULL)
        {
          u->retry_s = resp.retry_after;
          r = http_fail (u->c, "blob chunk upload to", &resp, &body, err);
          http_resp_release (&resp);
          return r;
        }
      r = client_resolve_location (u->c, resp.location, NULL, &next, err);
      http_resp_release (&resp);
      if (r < 0)
        return -1;
      free (u->location);
      u->location = next;
      off += n;
    }
  switch (upload_put (u, 0, 0, err))
    {
    case 0:
      return 0;
    case 1:
      return hoist_error_set_status (err, EPROTO, "registry %s refused the closing PUT of blob %s", u->c->api_host,
                                     u->digest);
    default:
      return -1;
    }
}

/* Worth another try: a broken transfer, or a registry (or proxy) that
 * said "not now" (http_fail gives those EAGAIN). */
static bool
transient (const struct hoist_error *e)
{
  return e != NULL && (e->status == ECONNABORTED || e->status == EAGAIN);
}

int
registry_blob_push (struct registry_client *c, const char *digest, int64_t size, int fd, const char *mount_from,
                    struct hoist_error **err)
{
  unsigned max = c->opts.max_attempts != 0 ? c->opts.max_attempts : REGISTRY_ATTEMPTS_DEFAULT;
  struct upload u = { .c = c, .digest = digest, .size = size, .fd = fd, .retry_s = -1 };
  bool chunked = false, need_session = false, resumed = false;
  int64_t off = 0;
  int ret;

  if (client_ping (c, err) < 0)
    return -1;
  c->transfer_digest = digest;
  c->transfer_size = size;
  u.scope = scope_for (c, "pull,push", mount_from);
  ret = upload_start (&u, mount_from, err);
  for (unsigned tries = 1; ret == 0; tries++)
    {
      struct hoist_error *e = NULL;
      int r = need_session ? upload_start (&u, NULL, &e) : 0;

      if (r == 0)
        {
          need_session = false;
          r = chunked || off > 0 ? upload_chunks (&u, off, &e) : upload_put (&u, 0, size, &e);
          if (r == 1)
            {
              /* Too big in one piece: the same session, in chunks. */
              hoist_log (HOIST_LOG_INFO, "registry %s refused blob %.19s in one piece: sending chunks",
                         c->api_host, digest);
              chunked = true;
              tries--;
              continue;
            }
          if (r == 0)
            break;
          /* A resumed session the registry holds other bytes in: start
           * over, once. */
          if (resumed && e != NULL && strstr (e->msg, "DIGEST_INVALID") != NULL && tries < max)
            {
              hoist_log (HOIST_LOG_INFO, "blob %.19s: the resumed upload did not match; starting over", digest);
              hoist_error_free (e);
              resumed = false;
              need_session = true;
              off = 0;
              continue;
            }
        }
      if (!transient (e) || tries >= max)
        {
          if (tries >= max && transient (e))
            hoist_error_wrap (&e, "gave up after %u attempts", tries);
          *err = e;
          ret = -1;
          break;
        }
      hoist_log (HOIST_LOG_INFO, "blob %.19s: %s; trying again", digest, e->msg);
      hoist_error_free (e);
      client_backoff (c, tries, u.retry_s);
      u.retry_s = -1;
      /* Where does the registry stand?  Go on from there, or start over. */
      off = need_session ? -1 : upload_offset (&u, NULL);
      resumed = off >= 0;
      if (off < 0 || off > size)
        {
          off = 0;
          resumed = false;
          need_session = true;
        }
    }
  free (u.scope);
  free (u.location);
  c->transfer_digest = NULL;
  if (ret < 0)
    return hoist_error_wrap (err, "cannot push blob %s to %s/%s", digest, c->ref.domain, c->repository);
  return ret;
}
