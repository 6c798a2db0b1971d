/* http.c — the webhook server of `hoist serve` (libmicrohttpd, a thread
 * per connection, so a webhook waiting for the queue's group commit
 * holds only its own connection).
 *
 *   POST /webhook        GitHub's push and ping events
 *   GET  /health         {"ok", "version", "queue_depth", ...}
 *   GET  /metrics        Prometheus text
 *   GET  /jobs           the newest jobs (?limit=N, at most 500)
 *   GET  /jobs/ID        one job
 *   GET  /jobs/ID/log    its log (secrets were masked as it was written)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/serve.h"
#include "runner/webhook.h"

/* A header or body slower than this closes the connection. */
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 1024
#define JOBS_LIST_MAX 500

struct runner_http
{
  struct MHD_Daemon *daemon;
  struct runner_service *svc;
};

/* One request's state across libmicrohttpd's calls. */
struct request
{
  struct hoist_buf body;
  bool too_large;
};

static enum MHD_Result
respond (struct MHD_Connection *c, unsigned status, const char *type, char *text)
{
  struct MHD_Response *r = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE);
  enum MHD_Result ret;

  MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  ret = MHD_queue_response (c, status, r);
  MHD_destroy_response (r);
  return ret;
}

/* Answer STATUS with JSON DOC (taken). */
static enum MHD_Result
respond_json (struct MHD_Connection *c, unsigned status, json_t *doc)
{
  char *text = json_dumps (doc, JSON_COMPACT | JSON_SORT_KEYS);
  size_t n;

  json_decref (doc);
  if (text == NULL)
    abort ();
  n = strlen (text);
  text = hoist_xrealloc (text, n + 2);
  memcpy (text + n, "\n", 2);
  return respond (c, status, "application/json", text);
}

static enum MHD_Result
respond_error (struct MHD_Connection *c, unsigned status, const char *msg)
{
  return respond_json (c, status, json_pack ("{s:s}", "error", msg));
}

/* Count the webhook's answer and give it. */
static enum MHD_Result
hook_answer (struct runner_http *h, struct MHD_Connection *c, enum runner_webhook_result r, unsigned status,
             json_t *doc)
{
  atomic_fetch_add (&h->svc->metrics.webhooks[r], 1);
  return respond_json (c, status, doc);
}

static enum MHD_Result
hook_error (struct runner_http *h, struct MHD_Connection *c, enum runner_webhook_result r, unsigned status,
            const char *msg)
{
  hoist_log (HOIST_LOG_INFO, "webhook: %u: %s", status, msg);
  return hook_answer (h, c, r, status, json_pack ("{s:s}", "error", msg));
}

static const char *
header (struct MHD_Connection *c, const char *name)
{
  return MHD_lookup_connection_value (c, MHD_HEADER_KIND, name);
}

/* A push that builds: its job, durably queued before the answer. */
static enum MHD_Result
enqueue_push (struct runner_http *h, struct MHD_Connection *c, const char *delivery, const struct runner_repo *repo,
              struct runner_push *p)
{
  struct runner_job job = { 0 };
  cleanup_error struct hoist_error *err = NULL;
  int64_t id = 0;
  json_t *files = NULL;
  int ret;

  job.repo = repo->name;
  job.ref = p->ref;
  job.before = p->before;
  job.after = p->after;
  job.created = p->created;
  job.forced = p->forced;
  if (p->files_complete)
    {
      files = json_array ();
      for (size_t i = 0; p->files != NULL && p->files[i] != NULL; i++)
        json_array_append_new (files, json_string (p->files[i]));
      job.files = json_dumps (files, JSON_COMPACT);
      json_decref (files);
    }
  ret = runner_queue_enqueue (h->svc->queue, delivery, &job, &id, &err);
  free (job.files);
  if (ret < 0)
    {
      hoist_log (HOIST_LOG_ERROR, "webhook: cannot queue delivery %s: %s", delivery, err->msg);
      return hook_error (h, c, RUNNER_HOOK_UNAVAILABLE, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot store the job");
    }
  if (ret == 1)
    return hook_answer (h, c, RUNNER_HOOK_DUPLICATE, MHD_HTTP_OK,
                        json_pack ("{s:b, s:s}", "duplicate", 1, "delivery", delivery));
  runner_service_notify (h->svc);
  hoist_log (HOIST_LOG_INFO, "job %lld queued: %s %s %.12s (delivery %s)", (long long) id, repo->name, p->ref, p->after,
             delivery);
  return hook_answer (h, c, RUNNER_HOOK_ACCEPTED, MHD_HTTP_ACCEPTED,
                      json_pack ("{s:I, s:s}", "job", (json_int_t) id, "status", "queued"));
}

/* Remember a delivery that builds nothing, so its redelivery is known. */
static enum MHD_Result
skip_push (struct runner_http *h, struct MHD_Connection *c, const char *delivery, const char *why)
{
  cleanup_error struct hoist_error *err = NULL;
  int ret = runner_queue_enqueue (h->svc->queue, delivery, NULL, NULL, &err);

  if (ret < 0)
    {
      hoist_log (HOIST_LOG_ERROR, "webhook: cannot record delivery %s: %s", delivery, err->msg);
      return hook_error (h, c, RUNNER_HOOK_UNAVAILABLE, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot store the delivery");
    }
  if (ret == 1)
    return hook_answer (h, c, RUNNER_HOOK_DUPLICATE, MHD_HTTP_OK,
                        json_pack ("{s:b, s:s}", "duplicate", 1, "delivery", delivery));
  return hook_answer (h, c, RUNNER_HOOK_SKIPPED, MHD_HTTP_OK, json_pack ("{s:s}", "skipped", why));
}

static enum MHD_Result
handle_push (struct runner_http *h, struct MHD_Connection *c, const char *delivery, const struct hoist_buf *body)
{
  struct runner_push p;
  cleanup_error struct hoist_error *err = NULL;
  const struct runner_repo *repo;
  const char *why;
  enum MHD_Result ret;

  if (runner_push_parse (body->data, body->len, &p, &err) < 0)
    return hook_error (h, c, RUNNER_HOOK_BAD_REQUEST, MHD_HTTP_BAD_REQUEST, err->msg);
  repo = runner_config_repo (h->svc->cfg, p.repo);
  if (repo == NULL)
    {
      cleanup_free char *msg = hoist_xasprintf ("repository '%s' is not configured", p.repo);
      runner_push_release (&p);
      return hook_error (h, c, RUNNER_HOOK_NOT_FOUND, MHD_HTTP_NOT_FOUND, msg);
    }
  why = runner_push_skip_reason (h->svc->cfg, repo, &p);
  if (why != NULL)
    {
      hoist_log (HOIST_LOG_INFO, "webhook: %s %s %.12s builds nothing: %s", p.repo, p.ref, p.after, why);
      ret = skip_push (h, c, delivery, why);
    }
  else
    ret = enqueue_push (h, c, delivery, repo, &p);
  runner_push_release (&p);
  return ret;
}

static enum MHD_Result
handle_webhook (struct runner_http *h, struct MHD_Connection *c, const struct hoist_buf *body)
{
  const char *event = header (c, "X-GitHub-Event"), *delivery = header (c, "X-GitHub-Delivery");
  bool draining;

  if (!runner_webhook_signature_ok (h->svc->secret, h->svc->secret_len, body->data, body->len,
                                    header (c, "X-Hub-Signature-256")))
    return hook_error (h, c, RUNNER_HOOK_UNAUTHORIZED, MHD_HTTP_UNAUTHORIZED,
                       "signature does not match (X-Hub-Signature-256, HMAC-SHA256 with the webhook secret)");
  if (event == NULL)
    return hook_error (h, c, RUNNER_HOOK_BAD_REQUEST, MHD_HTTP_BAD_REQUEST, "no X-GitHub-Event header");
  if (strcmp (event, "ping") == 0)
    return hook_answer (h, c, RUNNER_HOOK_PING, MHD_HTTP_OK, json_pack ("{s:b}", "pong", 1));
  if (strcmp (event, "push") != 0)
    return hook_answer (h, c, RUNNER_HOOK_IGNORED, MHD_HTTP_OK, json_pack ("{s:s}", "ignored", "not a push event"));
  if (!runner_webhook_delivery_valid (delivery))
    return hook_error (h, c, RUNNER_HOOK_BAD_REQUEST, MHD_HTTP_BAD_REQUEST,
                       "X-GitHub-Delivery is missing or not an id");
  pthread_mutex_lock (&h->svc->lock);
  draining = h->svc->draining;
  pthread_mutex_unlock (&h->svc->lock);
  if (draining)
    return hook_error (h, c, RUNNER_HOOK_UNAVAILABLE, MHD_HTTP_SERVICE_UNAVAILABLE, "hoist is shutting down");
  return handle_push (h, c, delivery, body);
}

/* ---------------------------------------------------------------------
 * Reading: health, metrics, jobs
 * ------------------------------------------------------------------- */

static enum MHD_Result
handle_health (struct runner_http *h, struct MHD_Connection *c)
{
  cleanup_error struct hoist_error *err = NULL;
  int64_t counts[RUNNER_JOB_STATE_MAX] = { 0 };

  if (runner_queue_counts (h->svc->queue, counts, &err) < 0)
    return respond_json (c, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack ("{s:b, s:s}", "ok", 0, "error", err->msg));
  return respond_json (c, MHD_HTTP_OK,
                       json_pack ("{s:b, s:s, s:I, s:I}", "ok", 1, "version", PACKAGE_VERSION, "queue_depth",
                                  (json_int_t) counts[RUNNER_JOB_QUEUED], "running",
                                  (json_int_t) counts[RUNNER_JOB_RUNNING]));
}

static enum MHD_Result
handle_metrics (struct runner_http *h, struct MHD_Connection *c)
{
  cleanup_error struct hoist_error *err = NULL;
  int64_t counts[RUNNER_JOB_STATE_MAX] = { 0 };

  if (runner_queue_counts (h->svc->queue, counts, &err) < 0)
    return respond_error (c, MHD_HTTP_SERVICE_UNAVAILABLE, err->msg);
  return respond (c, MHD_HTTP_OK, "text/plain; version=0.0.4", runner_metrics_text (&h->svc->metrics, counts));
}

static enum MHD_Result
handle_jobs (struct runner_http *h, struct MHD_Connection *c)
{
  const char *limit_s = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "limit");
  cleanup_error struct hoist_error *err = NULL;
  struct runner_job *jobs = NULL;
  size_t n = 0, limit = 50;
  json_t *a;

  if (limit_s != NULL)
    {
      char *end;
      unsigned long v = strtoul (limit_s, &end, 10);

      if (*limit_s == '\0' || *end != '\0' || v == 0 || v > JOBS_LIST_MAX)
        return respond_error (c, MHD_HTTP_BAD_REQUEST, "limit must be 1 to 500");
      limit = v;
    }
  if (runner_queue_list (h->svc->queue, limit, &jobs, &n, &err) < 0)
    return respond_error (c, MHD_HTTP_SERVICE_UNAVAILABLE, err->msg);
  a = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_array_append_new (a, runner_job_to_json (&jobs[i]));
      runner_job_release (&jobs[i]);
    }
  free (jobs);
  return respond_json (c, MHD_HTTP_OK, a);
}

static enum MHD_Result
respond_log (struct MHD_Connection *c, const struct runner_job *job)
{
  struct MHD_Response *r;
  struct stat st;
  enum MHD_Result ret;
  int fd;

  if (job->log_path == NULL)
    return respond_error (c, MHD_HTTP_NOT_FOUND, "the job has not started: no log yet");
  fd = open (job->log_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      if (fd >= 0)
        close (fd);
      return respond_error (c, MHD_HTTP_NOT_FOUND, "the job's log is gone");
    }
  r = MHD_create_response_from_fd ((uint64_t) st.st_size, fd);
  MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  ret = MHD_queue_response (c, MHD_HTTP_OK, r);
  MHD_destroy_response (r);
  return ret;
}

/* /jobs/ID and /jobs/ID/log. */
static enum MHD_Result
handle_job (struct runner_http *h, struct MHD_Connection *c, const char *rest)
{
  cleanup_error struct hoist_error *err = NULL;
  struct runner_job job = { 0 };
  enum MHD_Result ret;
  char *end;
  long long id = strtoll (rest, &end, 10);
  bool log = strcmp (end, "/log") == 0;
  int found;

  if (*rest < '1' || *rest > '9' || (*end != '\0' && !log))
    return respond_error (c, MHD_HTTP_NOT_FOUND, "no such path");
  found = runner_queue_get (h->svc->queue, id, &job, &err);
  if (found < 0)
    return respond_error (c, MHD_HTTP_SERVICE_UNAVAILABLE, err->msg);
  if (found == 0)
    return respond_error (c, MHD_HTTP_NOT_FOUND, "no such job");
  ret = log ? respond_log (c, &job) : respond_json (c, MHD_HTTP_OK, runner_job_to_json (&job));
  runner_job_release (&job);
  return ret;
}

/* ---------------------------------------------------------------------
 * libmicrohttpd's callbacks
 * ------------------------------------------------------------------- */

static enum MHD_Result
route_get (struct runner_http *h, struct MHD_Connection *c, const char *url)
{
  if (strcmp (url, "/health") == 0 || strcmp (url, "/healthz") == 0)
    return handle_health (h, c);
  if (strcmp (url, "/metrics") == 0)
    return handle_metrics (h, c);
  if (strcmp (url, "/jobs") == 0)
    return handle_jobs (h, c);
  if (strncmp (url, "/jobs/", 6) == 0)
    return handle_job (h, c, url + 6);
  return respond_error (c, MHD_HTTP_NOT_FOUND, "no such path");
}

/* The first call for a POST: refuse a declared body over the limit
 * before reading any of it. */
static enum MHD_Result
begin_post (struct runner_http *h, struct MHD_Connection *c, void **con_cls)
{
  const char *length = header (c, MHD_HTTP_HEADER_CONTENT_LENGTH);
  struct request *req;

  if (length != NULL && strtoull (length, NULL, 10) > RUNNER_WEBHOOK_MAX_BODY)
    return hook_error (h, c, RUNNER_HOOK_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE,
                       "body is larger than GitHub's 25 MB webhook limit");
  req = hoist_xcalloc (1, sizeof *req);
  hoist_buf_init (&req->body, RUNNER_WEBHOOK_MAX_BODY);
  *con_cls = req;
  return MHD_YES;
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
            const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  struct runner_http *h = cls;
  struct request *req = *con_cls;

  if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0)
    return route_get (h, c, url);
  if (strcmp (method, "POST") != 0)
    return respond_error (c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
  if (strcmp (url, "/webhook") != 0)
    return respond_error (c, MHD_HTTP_NOT_FOUND, "no such path (webhooks go to /webhook)");
  if (req == NULL)
    return begin_post (h, c, con_cls);
  if (*upload_data_size > 0)
    {
      /* Past the limit the rest is read and dropped: never buffered. */
      if (!req->too_large && hoist_buf_add (&req->body, upload_data, *upload_data_size, NULL) < 0)
        req->too_large = true;
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (req->too_large)
    return hook_error (h, c, RUNNER_HOOK_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE,
                       "body is larger than GitHub's 25 MB webhook limit");
  return handle_webhook (h, c, &req->body);
}

static void
on_completed (void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct request *req = *con_cls;

  if (req == NULL)
    return;
  hoist_buf_release (&req->body);
  free (req);
  *con_cls = NULL;
}

/* "host:port", "[v6]:port" or ":port" into an address. */
static int
parse_listen (const char *listen, struct sockaddr_storage *ss, socklen_t *len, struct hoist_error **err)
{
  const char *colon = strrchr (listen, ':');
  cleanup_free char *host = NULL;
  char *end;
  unsigned long port;

  if (colon == NULL)
    return hoist_error_set (err, 0, "listen address '%s' has no port (hint: 127.0.0.1:8080)", listen);
  port = strtoul (colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || port > 65535)
    return hoist_error_set (err, 0, "listen address '%s' has a bad port", listen);
  host = hoist_xstrndup (listen, (size_t) (colon - listen));
  memset (ss, 0, sizeof *ss);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;

      host[strlen (host) - 1] = '\0';
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons ((uint16_t) port);
      *len = sizeof *a6;
      if (inet_pton (AF_INET6, host + 1, &a6->sin6_addr) == 1)
        return 0;
    }
  else
    {
      struct sockaddr_in *a4 = (struct sockaddr_in *) ss;

      a4->sin_family = AF_INET;
      a4->sin_port = htons ((uint16_t) port);
      *len = sizeof *a4;
      if (host[0] == '\0')
        return 0; /* ":8080": every IPv4 address */
      if (inet_pton (AF_INET, host, &a4->sin_addr) == 1)
        return 0;
    }
  return hoist_error_set (err, 0, "listen address '%s' is not an IP address and port", listen);
}

int
runner_http_start (struct runner_service *svc, const char *listen, struct runner_http **out, unsigned *port,
                   struct hoist_error **err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  struct runner_http *h;
  const union MHD_DaemonInfo *info;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

  if (parse_listen (listen, &ss, &len, err) < 0)
    return -1;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  h = hoist_xcalloc (1, sizeof *h);
  h->svc = svc;
  h->daemon = MHD_start_daemon (flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT_S,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned) CONNECTION_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
                                on_completed, h, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024, MHD_OPTION_END);
  if (h->daemon == NULL)
    {
      int e = errno;
      free (h);
      return hoist_error_set (err, e, "cannot listen on '%s'", listen);
    }
  info = MHD_get_daemon_info (h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *port = info != NULL ? info->port : 0;
  *out = h;
  return 0;
}

void
runner_http_stop (struct runner_http *h)
{
  if (h == NULL)
    return;
  MHD_stop_daemon (h->daemon);
  free (h);
}
