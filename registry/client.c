/* client.c — a registry client for one repository: where requests go
 * and the state they share (the connection, the challenge, the tokens).
 *
 * HTTPS first, verified (with --tls-verify=false, not verified).  Plain
 * HTTP only when the TLS handshake fails and the registry is on loopback
 * (docker lets localhost be insecure) or verification is off.  Unlike
 * docker, a loopback registry's bad certificate is an error, not a
 * reason to ignore it. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "registry/client_private.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init (void)
{
  curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

int
registry_client_new (const struct registry_ref *ref, const struct registry_opts *opts, struct registry_client **out,
                     struct hoist_error **err)
{
  struct registry_client *c;

  pthread_once (&curl_once, curl_init);
  if (curl_init_code != CURLE_OK)
    return hoist_error_set (err, 0, "cannot start libcurl: %s", curl_easy_strerror (curl_init_code));
  c = hoist_xcalloc (1, sizeof *c);
  c->curl = curl_easy_init ();
  if (c->curl == NULL)
    {
      free (c);
      return hoist_error_set (err, ENOMEM, "cannot start a request");
    }
  c->ref.domain = hoist_xstrdup (ref->domain);
  c->ref.path = hoist_xstrdup (ref->path);
  c->ref.tag = ref->tag != NULL ? hoist_xstrdup (ref->tag) : NULL;
  c->ref.digest = ref->digest != NULL ? hoist_xstrdup (ref->digest) : NULL;
  if (opts != NULL)
    c->opts = *opts;
  c->opts.creds = NULL;
  c->opts.ca_file = NULL;
  if (opts != NULL && opts->creds != NULL)
    c->explicit_creds = hoist_xstrdup (opts->creds);
  c->opts.creds = c->explicit_creds;
  if (opts != NULL && opts->ca_file != NULL)
    c->ca_file = hoist_xstrdup (opts->ca_file);
  c->api_host = hoist_xstrdup (registry_ref_api_host (ref));
  c->repository = hoist_xstrdup (ref->path);
  /* HTTPS always comes first; a loopback registry, or any with
   * --tls-verify=false, may answer in plain HTTP instead (client_ping). */
  c->plain_allowed = registry_ref_is_loopback (ref) || c->opts.tls_verify_off;
  c->base = hoist_xasprintf ("https://%s", c->api_host);
  *out = c;
  return 0;
}

void
registry_client_free (struct registry_client *c)
{
  if (c == NULL)
    return;
  auth_release (c);
  if (c->curl != NULL)
    curl_easy_cleanup (c->curl);
  registry_ref_release (&c->ref);
  free (c->base);
  free (c->repository);
  free (c->api_host);
  free (c->ca_file);
  free (c->explicit_creds);
  free (c);
}

int
registry_login_check (const char *host, const struct registry_opts *opts, struct hoist_error **err)
{
  struct registry_ref ref = { .domain = (char *) host, .path = (char *) "hoist/login-check" };
  struct registry_client *c = NULL;
  cleanup_free char *url = NULL;
  struct http_req req = { .method = "GET", .body_fd = -1, .resp_fd = -1 };
  struct http_resp resp;
  int ret;

  if (registry_client_new (&ref, opts, &c, err) < 0)
    return -1;
  ret = client_ping (c, err);
  if (ret == 0)
    {
      url = hoist_xasprintf ("%s/v2/", c->base);
      req.url = url;
      ret = http_do (c, &req, &resp, err);
      if (ret == 0 && resp.status != 200)
        ret = http_fail (c, "login to", &resp, NULL, err);
      http_resp_release (&resp);
    }
  registry_client_free (c);
  return ret;
}

void
registry_client_will_push (struct registry_client *c)
{
  c->pushing = true;
}

void
registry_client_set_progress (struct registry_client *c, registry_progress_fn fn, void *ctx)
{
  c->progress = fn;
  c->progress_ctx = ctx;
}
