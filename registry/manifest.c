/* manifest.c — manifests and indexes: the PUT of the exact bytes whose
 * digest the caller computed (never re-serialised), under a tag or that
 * digest, and the GET, asking for every OCI and Docker type.  The
 * registry's Docker-Content-Digest must agree with the bytes, and a GET
 * by digest must return bytes of that digest, or it fails closed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry/client_private.h"

int
registry_manifest_put (struct registry_client *c, const char *reference, const char *media_type, const void *bytes,
                       size_t len, bool *subject_seen, struct hoist_error **err)
{
  cleanup_free char *suffix = hoist_xasprintf ("manifests/%s", reference);
  cleanup_free char *scope = hoist_xasprintf ("repository:%s:pull,push", c->repository);
  cleanup_free char *url = NULL;
  cleanup_buf struct hoist_buf body;
  char digest[HOIST_DIGEST_STR_SIZE];
  struct http_req req = { .method = "PUT", .scope = scope, .content_type = media_type, .body = bytes,
                          .body_len = len, .body_fd = -1, .resp_fd = -1 };
  struct http_resp resp;
  int ret = 0;

  hoist_buf_init (&body, REGISTRY_SMALL_BODY_MAX);
  if (hoist_sha256_digest (bytes, len, digest, err) < 0)
    return -1;
  if (client_ping (c, err) < 0)
    return -1;
  url = client_url (c, suffix);
  req.url = url;
  req.resp = &body;
  if (http_do (c, &req, &resp, err) < 0)
    return hoist_error_wrap (err, "cannot push manifest %s to %s/%s:%s", digest, c->ref.domain, c->repository,
                             reference);
  if (resp.status != 201)
    ret = http_fail (c, "manifest PUT to", &resp, &body, err);
  else if (resp.docker_digest != NULL && strcmp (resp.docker_digest, digest) != 0)
    ret = hoist_error_set_status (err, EBADMSG,
                                  "registry %s stored manifest %s:%s as %s, but its bytes hash to %s: refusing it",
                                  c->api_host, c->repository, reference, resp.docker_digest, digest);
  if (ret == 0 && subject_seen != NULL)
    *subject_seen = resp.oci_subject != NULL;
  http_resp_release (&resp);
  return ret;
}

int
registry_manifest_get (struct registry_client *c, const char *reference, struct hoist_buf *out, char **media_type,
                       char digest[HOIST_DIGEST_STR_SIZE], struct hoist_error **err)
{
  cleanup_free char *suffix = hoist_xasprintf ("manifests/%s", reference);
  cleanup_free char *scope = hoist_xasprintf ("repository:%s:%s", c->repository, c->pushing ? "pull,push" : "pull");
  cleanup_free char *url = NULL;
  struct http_req req = { .method = "GET", .scope = scope, .body_fd = -1, .resp_fd = -1,
                          .accept = REGISTRY_MT_OCI_INDEX ", " REGISTRY_MT_OCI_MANIFEST ", " REGISTRY_MT_DOCKER_LIST
                                    ", " REGISTRY_MT_DOCKER_MANIFEST };
  struct http_resp resp;
  bool by_digest = strncmp (reference, "sha256:", 7) == 0;
  int ret = 0;

  *media_type = NULL;
  if (client_ping (c, err) < 0)
    return -1;
  url = client_url (c, suffix);
  req.url = url;
  req.resp = out;
  if (http_do (c, &req, &resp, err) < 0)
    return hoist_error_wrap (err, "cannot get manifest %s/%s:%s", c->ref.domain, c->repository, reference);
  if (resp.status == 404)
    ret = hoist_error_set_status (err, ENOENT, "%s/%s: no manifest '%s' (hint: check the name and tag)",
                                  c->ref.domain, c->repository, reference);
  else if (resp.status != 200)
    ret = http_fail (c, "manifest GET from", &resp, out, err);
  if (ret == 0)
    ret = hoist_sha256_digest (out->data, out->len, digest, err);
  if (ret == 0 && by_digest && strcmp (digest, reference) != 0)
    ret = hoist_error_set_status (err, EBADMSG, "registry %s sent manifest %s/%s@%s with bytes that hash to %s",
                                  c->api_host, c->repository, reference, reference, digest);
  if (ret == 0 && resp.docker_digest != NULL && strcmp (resp.docker_digest, digest) != 0)
    ret = hoist_error_set_status (err, EBADMSG,
                                  "registry %s says manifest %s:%s is %s, but its bytes hash to %s: refusing it",
                                  c->api_host, c->repository, reference, resp.docker_digest, digest);
  if (ret == 0)
    {
      /* "type/subtype; charset=..." -> "type/subtype" */
      const char *ct = resp.content_type != NULL ? resp.content_type : "";
      *media_type = hoist_xstrndup (ct, strcspn (ct, "; \t"));
    }
  http_resp_release (&resp);
  return ret;
}
