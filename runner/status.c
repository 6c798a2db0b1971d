/* status.c — GitHub commit statuses: pending when a job starts an image,
 * success or failure when it ends, each with a link to the job's log.
 * POST {api}/repos/{owner}/{repo}/statuses/{sha}; the API base is
 * configurable for GitHub Enterprise.  Statuses are a courtesy: a failed
 * request is logged and the job goes on. */
#include "config.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runner/job_private.h"

#define STATUS_TIMEOUT_S 15
#define STATUS_REPLY_MAX (64u * 1024)
/* GitHub refuses longer descriptions. */
#define DESCRIPTION_MAX 140

static size_t
keep_reply (char *p, size_t size, size_t n, void *ctx)
{
  struct hoist_buf *b = ctx;

  /* A long reply is cut, not an error: only its start is logged. */
  if (hoist_buf_add (b, p, size * n, NULL) < 0)
    return size * n;
  return size * n;
}

static char *
status_body (const struct job_status *s, const char *state, const char *context, const char *description)
{
  cleanup_free char *desc = hoist_xstrndup (description, DESCRIPTION_MAX);
  json_t *o = json_pack ("{s:s, s:s, s:s}", "state", state, "context", context, "description", desc);
  char *text;

  if (s->target_url != NULL)
    json_object_set_new (o, "target_url", json_string (s->target_url));
  text = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  if (text == NULL)
    abort ();
  return text;
}

/* Send it; returns the HTTP status, or -1 with *WHY set. */
static long
post (const char *url, const char *token, const char *body, struct hoist_buf *reply, const char **why)
{
  cleanup_free char *auth = hoist_xasprintf ("Authorization: Bearer %s", token);
  struct curl_slist *h = NULL;
  CURL *curl = curl_easy_init ();
  CURLcode rc;
  long code = -1;

  if (curl == NULL)
    {
      *why = "cannot start libcurl";
      return -1;
    }
  h = curl_slist_append (h, auth);
  h = curl_slist_append (h, "Accept: application/vnd.github+json");
  h = curl_slist_append (h, "X-GitHub-Api-Version: 2022-11-28");
  h = curl_slist_append (h, "Content-Type: application/json");
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "hoist/" PACKAGE_VERSION);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, (long) STATUS_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, keep_reply);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, reply);
  rc = curl_easy_perform (curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
  else
    *why = curl_easy_strerror (rc);
  curl_slist_free_all (h);
  curl_easy_cleanup (curl);
  return code;
}

void
job_status_post (const struct job_status *s, const char *state, const char *context, const char *description)
{
  cleanup_free char *url = NULL, *body = NULL, *shown = NULL;
  cleanup_buf struct hoist_buf reply;
  const char *why = NULL;
  long code;

  hoist_buf_init (&reply, STATUS_REPLY_MAX);
  if (s->api == NULL || s->api[0] == '\0' || s->token == NULL)
    return;
  url = hoist_xasprintf ("%s%srepos/%s/statuses/%s", s->api, s->api[strlen (s->api) - 1] == '/' ? "" : "/", s->repo,
                         s->sha);
  body = status_body (s, state, context, description);
  code = post (url, s->token, body, &reply, &why);
  if (code >= 200 && code < 300)
    {
      job_log_say (s->log, "status %s: %s", context, state);
      return;
    }
  shown = hoist_quote (reply.data != NULL ? reply.data : "", reply.len, 300, 0);
  if (code < 0)
    job_log_say (s->log, "warning: cannot set the commit status %s (%s): %s", context, state, why);
  else
    job_log_say (s->log, "warning: the commit status %s (%s) was refused: HTTP %ld %s", context, state, code, shown);
}
