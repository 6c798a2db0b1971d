/* http.c — one registry request over libcurl, with what every request
 * needs: the Authorization header (auth.c), a retry on 401 after taking
 * up the challenge, bounded retries with exponential backoff and jitter
 * on 408, 429 (Retry-After honoured), 500, 502, 503, 504 and on broken
 * connections, redirects followed by hand so that credentials never go to
 * another host, and the registry's own error document in the message.
 *
 * Headers are read with curl_easy_header (libcurl parses them); URLs are
 * built and resolved with libcurl's URL API. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry/client_private.h"

#define BACKOFF_DEFAULT_MS 500
#define BACKOFF_MAX_DEFAULT_MS 30000
/* Retry-After is honoured up to this; a registry asking for more is
 * waited for this long. */
#define RETRY_AFTER_MAX_S 60
#define REDIRECTS_MAX 5
/* 401s taken up in a row before the credentials count as refused. */
#define AUTH_ROUNDS_MAX 2
#define CONNECT_TIMEOUT_S 30L
/* A transfer that moves less than a byte a second for this long fails
 * (and is retried). */
#define STALL_TIMEOUT_S 60L
#define ERROR_BODY_MAX (64u * 1024)

void
http_resp_release (struct http_resp *r)
{
  free (r->location);
  free (r->docker_digest);
  free (r->content_type);
  free (r->range);
  free (r->oci_subject);
  memset (r, 0, sizeof *r);
  r->retry_after = -1;
}

void
client_curl_defaults (const struct registry_client *c, CURL *curl)
{
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "hoist/" PACKAGE_VERSION);
  if (c->ca_file != NULL)
    curl_easy_setopt (curl, CURLOPT_CAINFO, c->ca_file);
  if (c->opts.tls_verify_off)
    {
      curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

char *
client_url (const struct registry_client *c, const char *suffix)
{
  return hoist_xasprintf ("%s/v2/%s/%s", c->base, c->repository, suffix);
}

int
client_resolve_location (const struct registry_client *c, const char *location, const char *query_add, char **out,
                         struct hoist_error **err)
{
  CURLU *u = curl_url ();
  CURLUcode rc;
  char *url = NULL;

  if (u == NULL)
    return hoist_error_set (err, ENOMEM, "cannot parse a URL");
  rc = curl_url_set (u, CURLUPART_URL, c->base, 0);
  if (rc == CURLUE_OK)
    rc = curl_url_set (u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME);
  if (rc == CURLUE_OK && query_add != NULL)
    rc = curl_url_set (u, CURLUPART_QUERY, query_add, CURLU_APPENDQUERY);
  if (rc == CURLUE_OK)
    rc = curl_url_get (u, CURLUPART_URL, &url, 0);
  curl_url_cleanup (u);
  if (rc != CURLUE_OK)
    return hoist_error_set_status (err, EPROTO, "registry %s sent an invalid Location '%.200s': %s", c->api_host,
                                   location, curl_url_strerror (rc));
  *out = hoist_xstrdup (url);
  curl_free (url);
  return 0;
}

/* "host[:port]" of URL, or NULL. */
static char *
url_authority (const char *url)
{
  CURLU *u = curl_url ();
  char *host = NULL, *port = NULL, *out = NULL;

  if (u == NULL)
    return NULL;
  if (curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
      if (curl_url_get (u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        out = hoist_xasprintf ("%s:%s", host, port);
      else
        out = hoist_xstrdup (host);
    }
  curl_free (host);
  curl_free (port);
  curl_url_cleanup (u);
  return out;
}

/* ---- One attempt ------------------------------------------------------ */

struct transfer
{
  const struct http_req *req;
  CURL *curl;
  int64_t sent; /* body bytes handed to libcurl */
  int64_t received;
  struct hoist_buf *errbody; /* the body of an error answer */
  int failed_errno;          /* the response fd could not be written */
  bool too_big;
  struct registry_client *c;
};

static size_t
read_body (char *p, size_t size, size_t nmemb, void *ctx)
{
  struct transfer *t = ctx;
  const struct http_req *req = t->req;
  size_t want = size * nmemb;

  if (req->body_fd < 0)
    {
      size_t left = req->body_len - (size_t) t->sent;

      if (want > left)
        want = left;
      memcpy (p, (const char *) req->body + t->sent, want);
      t->sent += (int64_t) want;
      return want;
    }
  if ((int64_t) want > req->body_fd_len - t->sent)
    want = (size_t) (req->body_fd_len - t->sent);
  if (want == 0)
    return 0;
  for (;;)
    {
      ssize_t n = pread (req->body_fd, p, want, req->body_off + t->sent);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          t->failed_errno = n < 0 ? errno : ESTALE;
          return CURL_READFUNC_ABORT;
        }
      t->sent += n;
      if (t->c->progress != NULL && t->c->transfer_digest != NULL)
        t->c->progress (t->c->progress_ctx, t->c->transfer_digest, req->body_off + t->sent, t->c->transfer_size);
      return (size_t) n;
    }
}

static size_t
write_body (char *p, size_t size, size_t nmemb, void *ctx)
{
  struct transfer *t = ctx;
  const struct http_req *req = t->req;
  size_t n = size * nmemb;
  long status = 0;

  curl_easy_getinfo (t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300 && req->resp == NULL)
    {
      /* An error or a redirect: keep the start for the message. */
      size_t room = ERROR_BODY_MAX - t->errbody->len;

      if (room > 0 && hoist_buf_add (t->errbody, p, n < room ? n : room, NULL) < 0)
        return 0;
      return n;
    }
  if (req->resp != NULL)
    {
      if (hoist_buf_add (req->resp, p, n, NULL) < 0)
        {
          t->too_big = true;
          return 0;
        }
    }
  else if (req->resp_fd >= 0)
    {
      size_t done = 0;

      if (req->expect_size > 0 && t->received + (int64_t) n > req->expect_size)
        {
          t->too_big = true;
          return 0;
        }

      while (done < n)
        {
          ssize_t w = pwrite (req->resp_fd, p + done, n - done, t->received + (int64_t) done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              t->failed_errno = errno;
              return 0;
            }
          done += (size_t) w;
        }
      if (req->resp_hash != NULL)
        hoist_sha256_update (req->resp_hash, p, n);
      if (t->c->progress != NULL && t->c->transfer_digest != NULL)
        t->c->progress (t->c->progress_ctx, t->c->transfer_digest, t->received + (int64_t) n, t->c->transfer_size);
    }
  t->received += (int64_t) n;
  return n;
}

static char *
header_value (CURL *curl, const char *name)
{
  struct curl_header *h = NULL;

  if (curl_easy_header (curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL)
    return NULL;
  return hoist_xstrdup (h->value);
}

/* Every instance of NAME joined with ", ", as RFC 9110 allows a list
 * header to be split: a registry may send Basic and Bearer challenges on
 * two lines. */
static char *
header_list (CURL *curl, const char *name)
{
  struct curl_header *h = NULL;
  char *out = NULL;

  for (size_t i = 0; curl_easy_header (curl, name, i, CURLH_HEADER, -1, &h) == CURLHE_OK && h != NULL; i++)
    {
      char *more = hoist_xasprintf ("%s%s%s", out != NULL ? out : "", out != NULL ? ", " : "", h->value);

      free (out);
      out = more;
      if (i + 1 >= h->amount)
        break;
    }
  return out;
}

/* Seconds Retry-After asks for (a number or an HTTP date), or -1. */
static long
retry_after (CURL *curl)
{
  cleanup_free char *v = header_value (curl, "Retry-After");
  char *end;
  long s;

  if (v == NULL)
    return -1;
  errno = 0;
  s = strtol (v, &end, 10);
  if (end != v && *end == '\0' && errno == 0 && s >= 0)
    return s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
  {
    time_t when = curl_getdate (v, NULL);
    time_t now = time (NULL);

    if (when < 0)
      return -1;
    s = when > now ? (long) (when - now) : 0;
    return s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
  }
}

static struct curl_slist *
add_header (struct curl_slist *l, const char *name, const char *value)
{
  cleanup_free char *line = NULL;
  struct curl_slist *n;

  if (value == NULL)
    return l;
  line = hoist_xasprintf ("%s: %s", name, value);
  n = curl_slist_append (l, line);
  if (n == NULL)
    {
      /* As hoist_xmalloc does: nothing sensible is left to do. */
      hoist_log (HOIST_LOG_ERROR, "out of memory");
      abort ();
    }
  return n;
}

/* Perform REQ once against URL.  Fills RESP and *WWW_AUTH; *CODE is
 * libcurl's result. */
static void
attempt (struct registry_client *c, const struct http_req *req, const char *url, const char *auth,
         struct transfer *t, struct http_resp *resp, char **www_auth, long *retry_s, CURLcode *code, char *errbuf)
{
  CURL *curl = c->curl;
  struct curl_slist *headers = NULL;
  curl_off_t len = -1;

  curl_easy_reset (curl);
  client_curl_defaults (c, curl);
  errbuf[0] = '\0';
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, req->method);
  if (strcmp (req->method, "HEAD") == 0)
    curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
  headers = add_header (headers, "Authorization", auth);
  headers = add_header (headers, "Accept", req->accept);
  headers = add_header (headers, "Content-Range", req->content_range);
  if (strcmp (req->method, "PUT") == 0 || strcmp (req->method, "POST") == 0 || strcmp (req->method, "PATCH") == 0)
    {
      len = req->body_fd >= 0 ? req->body_fd_len : (curl_off_t) req->body_len;
      headers = add_header (headers, "Content-Type", req->content_type != NULL ? req->content_type
                                                                               : "application/octet-stream");
      /* A zero-length upload is still an upload; no Expect round trip. */
      headers = add_header (headers, "Expect", "");
      curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, len);
      curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt (curl, CURLOPT_READDATA, t);
    }
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, t);

  *code = curl_easy_perform (curl);
  curl_slist_free_all (headers);
  if (*code != CURLE_OK)
    return;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &resp->status);
  resp->location = header_value (curl, "Location");
  resp->docker_digest = header_value (curl, "Docker-Content-Digest");
  resp->content_type = header_value (curl, "Content-Type");
  resp->range = header_value (curl, "Range");
  resp->oci_subject = header_value (curl, "OCI-Subject");
  {
    curl_off_t cl = -1;

    curl_easy_getinfo (curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    resp->content_length = cl;
  }
  *www_auth = header_list (curl, "WWW-Authenticate");
  *retry_s = retry_after (curl);
  resp->retry_after = *retry_s;
}

/* ---- Retries ---------------------------------------------------------- */

static bool
retryable_status (long status)
{
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool
retryable_code (CURLcode code)
{
  switch (code)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
    }
}

static void
sleep_ms (uint64_t ms)
{
  struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* The delay before retry number N (1, 2, ...): exponential, capped, and
 * with up to half of it random so that many clients do not retry in step. */
static uint64_t
backoff_ms (const struct registry_client *c, unsigned n)
{
  uint64_t base = c->opts.backoff_ms != 0 ? c->opts.backoff_ms : BACKOFF_DEFAULT_MS;
  uint64_t cap = c->opts.backoff_max_ms != 0 ? c->opts.backoff_max_ms : BACKOFF_MAX_DEFAULT_MS;
  uint64_t d = base;

  for (unsigned i = 1; i < n && d < cap; i++)
    d *= 2;
  if (d > cap)
    d = cap;
  return d / 2 + arc4random_uniform ((uint32_t) (d / 2 + 1));
}

void
client_backoff (const struct registry_client *c, unsigned n, long retry_s)
{
  sleep_ms (retry_s >= 0 ? (uint64_t) retry_s * 1000 : backoff_ms (c, n));
}

static void
reset_response (const struct http_req *req, struct transfer *t, struct http_resp *resp, struct hoist_error **err)
{
  http_resp_release (resp);
  hoist_buf_reset (t->errbody);
  t->sent = 0;
  t->received = 0;
  t->failed_errno = 0;
  t->too_big = false;
  if (req->resp != NULL)
    hoist_buf_reset (req->resp);
  if (req->resp_fd >= 0 && ftruncate (req->resp_fd, 0) < 0)
    hoist_log (HOIST_LOG_DEBUG, "cannot truncate a download: %s", strerror (errno));
  if (req->resp_hash != NULL)
    {
      hoist_sha256_release (req->resp_hash);
      if (hoist_sha256_init (req->resp_hash, err) < 0)
        hoist_log (HOIST_LOG_DEBUG, "cannot reset a digest");
    }
}

/* ---- The first contact -------------------------------------------------- */

static size_t
drop_body (char *p, size_t size, size_t nmemb, void *ctx)
{
  (void) p;
  (void) ctx;
  return size * nmemb;
}

/* A failure that means "this server does not speak TLS here". */
static bool
not_tls (CURLcode code)
{
  return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING;
}

static CURLcode
ping_once (struct registry_client *c, const char *base, long *status, char **www, char *errbuf)
{
  cleanup_free char *url = hoist_xasprintf ("%s/v2/", base);
  CURLcode code;

  curl_easy_reset (c->curl);
  client_curl_defaults (c, c->curl);
  errbuf[0] = '\0';
  curl_easy_setopt (c->curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c->curl, CURLOPT_URL, url);
  curl_easy_setopt (c->curl, CURLOPT_WRITEFUNCTION, drop_body);
  code = curl_easy_perform (c->curl);
  if (code == CURLE_OK)
    {
      curl_easy_getinfo (c->curl, CURLINFO_RESPONSE_CODE, status);
      *www = header_list (c->curl, "WWW-Authenticate");
    }
  return code;
}

int
client_ping (struct registry_client *c, struct hoist_error **err)
{
  unsigned max = c->opts.max_attempts != 0 ? c->opts.max_attempts : REGISTRY_ATTEMPTS_DEFAULT;
  char errbuf[CURL_ERROR_SIZE];

  if (c->pinged)
    return 0;
  for (unsigned tries = 1;; tries++)
    {
      cleanup_free char *www = NULL;
      long status = 0;
      CURLcode code = ping_once (c, c->base, &status, &www, errbuf);

      if (code != CURLE_OK && not_tls (code) && c->plain_allowed && strncmp (c->base, "https:", 6) == 0)
        {
          cleanup_free char *plain = hoist_xasprintf ("http://%s", c->api_host);

          free (www);
          www = NULL;
          if (ping_once (c, plain, &status, &www, errbuf) == CURLE_OK)
            {
              free (c->base);
              c->base = steal_pointer (&plain);
              code = CURLE_OK;
            }
        }
      if (code == CURLE_OK)
        {
          struct registry_challenge ch;

          c->pinged = true;
          hoist_log (HOIST_LOG_DEBUG, "registry %s: %s, /v2/ answered %ld", c->api_host, c->base, status);
          if (status == 401 && www != NULL && registry_challenge_parse (www, &ch, NULL) == 0)
            {
              registry_challenge_release (&c->challenge);
              c->challenge = ch;
            }
          return 0;
        }
      if (!retryable_code (code) || tries >= max)
        return hoist_error_set_status (err, ECONNABORTED, "cannot reach registry %s: %s%s", c->api_host,
                                       errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code),
                                       code == CURLE_PEER_FAILED_VERIFICATION
                                           ? " (hint: --tls-verify=false, or a CA file with --cert-dir/--ca-file)"
                                           : "");
      sleep_ms (backoff_ms (c, tries));
    }
}

int
http_do (struct registry_client *c, const struct http_req *req, struct http_resp *resp, struct hoist_error **err)
{
  unsigned max = c->opts.max_attempts != 0 ? c->opts.max_attempts : REGISTRY_ATTEMPTS_DEFAULT;
  cleanup_buf struct hoist_buf errbody;
  cleanup_free char *url = hoist_xstrdup (req->url);
  cleanup_free char *host = url_authority (req->url);
  struct transfer t = { .req = req, .curl = c->curl, .errbody = &errbody, .c = c };
  unsigned tries = 0, auth_rounds = 0, redirects = 0;
  char errbuf[CURL_ERROR_SIZE];

  hoist_buf_init (&errbody, ERROR_BODY_MAX + 1);
  memset (resp, 0, sizeof *resp);
  if (client_ping (c, err) < 0)
    return -1;
  for (;;)
    {
      cleanup_free char *auth = NULL;
      cleanup_free char *www = NULL;
      bool own_host = host != NULL && strcmp (host, c->api_host) == 0;
      long retry_s = -1;
      CURLcode code;

      if (own_host && auth_header (c, req->scope, &auth, err) < 0)
        return -1;
      reset_response (req, &t, resp, err);
      tries++;
      attempt (c, req, url, auth, &t, resp, &www, &retry_s, &code, errbuf);
      if (t.failed_errno != 0)
        return hoist_error_set (err, t.failed_errno, "%s %s: cannot %s the local file", req->method, url,
                                req->body_fd >= 0 ? "read" : "write");
      if (t.too_big)
        return hoist_error_set_status (err, EFBIG, "registry %s: the answer to %s %s is too large", c->api_host,
                                       req->method, url);
      if (code != CURLE_OK)
        {
          if (retryable_code (code) && tries < max && !req->no_retry)
            {
              hoist_log (HOIST_LOG_INFO, "%s %s failed (%s): retrying", req->method, c->api_host,
                         errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code));
              sleep_ms (backoff_ms (c, tries));
              continue;
            }
          return hoist_error_set_status (err, ECONNABORTED, "cannot reach registry %s (%s %s): %s%s", c->api_host,
                                         req->method, url, errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code),
                                         tries > 1 ? " (gave up after retries)" : "");
        }
      if (resp->status == 401 && own_host && auth_rounds < AUTH_ROUNDS_MAX)
        {
          auth_rounds++;
          if (www == NULL)
            return http_fail (c, "authentication", resp, req->resp != NULL ? req->resp : &errbody, err);
          if (auth_challenged (c, req->scope, www, auth != NULL, err) < 0)
            return -1;
          tries--; /* taking up a challenge is not a failed attempt */
          continue;
        }
      if (retryable_status (resp->status) && tries < max && !req->no_retry)
        {
          uint64_t delay = retry_s >= 0 ? (uint64_t) retry_s * 1000 : backoff_ms (c, tries);

          hoist_log (HOIST_LOG_INFO, "%s %s: registry answered %ld, retrying in %.1f s", req->method, c->api_host,
                     resp->status, (double) delay / 1000);
          sleep_ms (delay);
          continue;
        }
      if (req->follow && resp->status >= 300 && resp->status < 400 && resp->location != NULL)
        {
          char *next = NULL;

          if (++redirects > REDIRECTS_MAX)
            return hoist_error_set_status (err, ELOOP, "registry %s: too many redirects for %s", c->api_host, url);
          if (client_resolve_location (c, resp->location, NULL, &next, err) < 0)
            return -1;
          free (url);
          url = next;
          free (host);
          host = url_authority (url);
          continue;
        }
      if (resp->status >= 400 && resp->status != 404 && !req->want_errors)
        return http_fail (c, req->method, resp, req->resp != NULL ? req->resp : &errbody, err);
      return 0;
    }
}

/* ---- Errors ----------------------------------------------------------- */

int
http_fail (const struct registry_client *c, const char *what, const struct http_resp *resp,
           const struct hoist_buf *body, struct hoist_error **err)
{
  cleanup_json json_t *doc = NULL;
  json_t *first;
  const char *hint = "";
  int status = resp->status == 401 || resp->status == 403 ? EACCES
               : resp->status == 404                        ? ENOENT
               : retryable_status (resp->status)            ? EAGAIN
                                                            : EPROTO;

  if (resp->status == 401)
    hint = c->creds.username == NULL ? " (hint: log in with 'hoist login' or pass --creds user:password)"
                                     : " (hint: check the credentials)";
  else if (resp->status == 403)
    hint = " (hint: the credentials lack the permission for this repository)";
  if (body != NULL && body->len > 0)
    doc = json_loadb (body->data, body->len, 0, NULL);
  first = json_array_get (json_object_get (doc, "errors"), 0);
  if (json_is_object (first))
    {
      const char *code = json_string_value (json_object_get (first, "code"));
      const char *msg = json_string_value (json_object_get (first, "message"));

      return hoist_error_set_status (err, status, "registry %s: %s %s: %ld %s: %s%s", c->api_host, what,
                                     c->repository, resp->status, code != NULL ? code : "ERROR",
                                     msg != NULL ? msg : "(no message)", hint);
    }
  return hoist_error_set_status (err, status, "registry %s: %s %s: HTTP %ld%s", c->api_host, what, c->repository,
                                 resp->status, hint);
}
