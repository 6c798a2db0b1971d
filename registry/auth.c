/* auth.c — what goes in the Authorization header.
 *
 * Nothing is sent until the registry asks (a 401 with WWW-Authenticate),
 * as docker does.  Basic: the credentials, base64.  Bearer: a token from
 * the challenge's realm, asked for with the credentials (Basic) when there
 * are any, anonymously otherwise, or with an OAuth2 refresh token when
 * config.json holds an "identitytoken" (POST, grant_type=refresh_token).
 * Tokens are kept per scope set and renewed REGISTRY_TOKEN_MARGIN_S
 * before they expire, or at once when the registry refuses one (a long
 * push can outlive it).  Every secret is registered with the log masker
 * before it can reach a log line. */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/client_private.h"

/* The distribution spec: a token without expires_in lasts 60 s. */
#define TOKEN_LIFETIME_DEFAULT_S 60
#define TOKEN_BODY_MAX (1024u * 1024)
#define TOKENS_MAX 16

static int64_t
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec;
}

static void
token_release (struct registry_token *t)
{
  free (t->scope);
  free (t->value);
  memset (t, 0, sizeof *t);
}

void
auth_release (struct registry_client *c)
{
  for (size_t i = 0; i < c->n_tokens; i++)
    token_release (&c->tokens[i]);
  free (c->tokens);
  c->tokens = NULL;
  c->n_tokens = 0;
  registry_challenge_release (&c->challenge);
  registry_creds_release (&c->creds);
  c->creds_loaded = false;
}

static int
load_creds (struct registry_client *c, struct hoist_error **err)
{
  if (c->creds_loaded)
    return 0;
  if (registry_creds_find (c->ref.domain, c->opts.creds, &c->creds, err) < 0)
    return hoist_error_wrap (err, "cannot find credentials for %s", c->ref.domain);
  c->creds_loaded = true;
  return 0;
}

static char *
basic_value (const struct registry_creds *cr)
{
  cleanup_free char *plain = hoist_xasprintf ("%s:%s", cr->username, cr->password != NULL ? cr->password : "");
  size_t n = strlen (plain);
  cleanup_free unsigned char *enc = hoist_xmalloc (4 * ((n + 2) / 3) + 1);

  EVP_EncodeBlock (enc, (const unsigned char *) plain, (int) n);
  return hoist_xasprintf ("Basic %s", (const char *) enc);
}

static struct registry_token *
token_find (struct registry_client *c, const char *scope)
{
  for (size_t i = 0; i < c->n_tokens; i++)
    if (strcmp (c->tokens[i].scope, scope) == 0)
      return &c->tokens[i];
  return NULL;
}

static void
token_drop (struct registry_client *c, const char *scope)
{
  struct registry_token *t = token_find (c, scope);

  if (t == NULL)
    return;
  token_release (t);
  *t = c->tokens[--c->n_tokens];
}

/* The token endpoint's URL with service and each scope in the query. */
static int
token_url (const struct registry_client *c, const char *scope, char **out, struct hoist_error **err)
{
  CURLU *u = curl_url ();
  CURLUcode rc;
  char *url = NULL;

  if (u == NULL)
    return hoist_error_set (err, ENOMEM, "cannot parse a URL");
  rc = curl_url_set (u, CURLUPART_URL, c->challenge.realm, 0);
  if (rc == CURLUE_OK && c->challenge.service != NULL)
    {
      cleanup_free char *q = hoist_xasprintf ("service=%s", c->challenge.service);
      rc = curl_url_set (u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
    }
  for (const char *p = scope; rc == CURLUE_OK && *p != '\0';)
    {
      size_t n = strcspn (p, " ");

      if (n > 0)
        {
          cleanup_free char *q = hoist_xasprintf ("scope=%.*s", (int) n, p);
          rc = curl_url_set (u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
        }
      p += n;
      p += strspn (p, " ");
    }
  if (rc == CURLUE_OK)
    rc = curl_url_get (u, CURLUPART_URL, &url, 0);
  curl_url_cleanup (u);
  if (rc != CURLUE_OK)
    return hoist_error_set_status (err, EPROTO, "registry %s: invalid token realm '%.200s': %s", c->api_host,
                                   c->challenge.realm, curl_url_strerror (rc));
  *out = hoist_xstrdup (url);
  curl_free (url);
  return 0;
}

static size_t
token_body (char *p, size_t size, size_t nmemb, void *ctx)
{
  return hoist_buf_add (ctx, p, size * nmemb, NULL) < 0 ? 0 : size * nmemb;
}

static void
easy_cleanupp (CURL **c)
{
  curl_easy_cleanup (*c);
}

/* Ask the realm for a token for SCOPE. */
static int
token_fetch (struct registry_client *c, const char *scope, struct hoist_error **err)
{
  __attribute__ ((cleanup (easy_cleanupp))) CURL *curl = curl_easy_init ();
  cleanup_free char *url = NULL, *form = NULL;
  cleanup_buf struct hoist_buf body;
  cleanup_json json_t *doc = NULL;
  const char *value;
  json_int_t expires;
  char errbuf[CURL_ERROR_SIZE] = "";
  struct registry_token *t;
  long status = 0;
  CURLcode rc;

  hoist_buf_init (&body, TOKEN_BODY_MAX);
  if (curl == NULL)
    return hoist_error_set (err, ENOMEM, "cannot start a request");
  if (token_url (c, scope, &url, err) < 0)
    return -1;
  client_curl_defaults (c, curl);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, token_body);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
  if (c->creds.identity_token != NULL)
    {
      /* OAuth2: the refresh token goes in a POST body, never the URL. */
      char *tok = curl_easy_escape (curl, c->creds.identity_token, 0);
      char *svc = curl_easy_escape (curl, c->challenge.service != NULL ? c->challenge.service : "", 0);
      char *scp = curl_easy_escape (curl, scope, 0);

      form = hoist_xasprintf ("grant_type=refresh_token&client_id=hoist&service=%s&scope=%s&refresh_token=%s",
                              svc != NULL ? svc : "", scp != NULL ? scp : "", tok != NULL ? tok : "");
      curl_free (tok);
      curl_free (svc);
      curl_free (scp);
      curl_easy_setopt (curl, CURLOPT_URL, c->challenge.realm);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, form);
    }
  else
    {
      curl_easy_setopt (curl, CURLOPT_URL, url);
      if (c->creds.username != NULL)
        {
          curl_easy_setopt (curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
          curl_easy_setopt (curl, CURLOPT_USERNAME, c->creds.username);
          curl_easy_setopt (curl, CURLOPT_PASSWORD, c->creds.password != NULL ? c->creds.password : "");
        }
    }
  rc = curl_easy_perform (curl);
  if (rc != CURLE_OK)
    return hoist_error_set_status (err, ECONNABORTED, "cannot reach the token service of %s (%s): %s", c->api_host,
                                   c->challenge.realm, errbuf[0] != '\0' ? errbuf : curl_easy_strerror (rc));
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401 || status == 403)
    return hoist_error_set_status (err, EACCES, "the token service of %s refused %s for '%s' (HTTP %ld)%s",
                                   c->api_host, c->creds.username != NULL ? "the credentials" : "anonymous access",
                                   scope, status,
                                   c->creds.username != NULL
                                       ? " (hint: check the credentials and their permissions)"
                                       : " (hint: log in with 'hoist login' or pass --creds user:password)");
  if (status != 200)
    return hoist_error_set_status (err, EPROTO, "the token service of %s answered HTTP %ld", c->api_host, status);
  doc = json_loadb (body.data, body.len, 0, NULL);
  value = json_string_value (json_object_get (doc, "token"));
  if (value == NULL || *value == '\0')
    value = json_string_value (json_object_get (doc, "access_token"));
  if (value == NULL || *value == '\0')
    return hoist_error_set_status (err, EPROTO, "the token service of %s sent no token", c->api_host);
  if (hoist_log_add_secret (value, err) < 0)
    return -1;
  expires = json_integer_value (json_object_get (doc, "expires_in"));
  if (expires < TOKEN_LIFETIME_DEFAULT_S)
    expires = TOKEN_LIFETIME_DEFAULT_S;
  token_drop (c, scope);
  if (c->n_tokens == TOKENS_MAX)
    token_drop (c, c->tokens[0].scope);
  c->tokens = hoist_xrealloc (c->tokens, (c->n_tokens + 1) * sizeof *c->tokens);
  t = &c->tokens[c->n_tokens++];
  t->scope = hoist_xstrdup (scope);
  t->value = hoist_xstrdup (value);
  t->expires = now_s () + (int64_t) expires;
  return 0;
}

int
auth_header (struct registry_client *c, const char *scope, char **out, struct hoist_error **err)
{
  struct registry_token *t;

  *out = NULL;
  if (c->challenge.scheme != REGISTRY_AUTH_NONE && load_creds (c, err) < 0)
    return -1;
  switch (c->challenge.scheme)
    {
    case REGISTRY_AUTH_BASIC:
      /* An identity token alone (username "") is no Basic credential. */
      if (c->creds.username != NULL && c->creds.username[0] != '\0')
        *out = basic_value (&c->creds);
      return 0;
    case REGISTRY_AUTH_BEARER:
      if (scope == NULL)
        scope = "";
      t = token_find (c, scope);
      if (t != NULL && t->expires - REGISTRY_TOKEN_MARGIN_S <= now_s ())
        {
          token_drop (c, scope);
          t = NULL;
        }
      if (t == NULL)
        {
          if (token_fetch (c, scope, err) < 0)
            return -1;
          t = token_find (c, scope);
        }
      *out = hoist_xasprintf ("Bearer %s", t->value);
      return 0;
    case REGISTRY_AUTH_NONE:
    default:
      return 0;
    }
}

int
auth_challenged (struct registry_client *c, const char *scope, const char *www_authenticate, bool had_auth,
                 struct hoist_error **err)
{
  struct registry_challenge ch;

  if (registry_challenge_parse (www_authenticate, &ch, err) < 0)
    return hoist_error_wrap (err, "registry %s sent a challenge hoist cannot read", c->api_host);
  registry_challenge_release (&c->challenge);
  c->challenge = ch;
  if (load_creds (c, err) < 0)
    return -1;
  if (ch.scheme == REGISTRY_AUTH_BASIC)
    {
      if (c->creds.username == NULL || c->creds.username[0] == '\0')
        return hoist_error_set_status (err, EACCES,
                                       "registry %s needs credentials (hint: log in with 'hoist login %s' or pass "
                                       "--creds user:password)",
                                       c->api_host, c->ref.domain);
      if (had_auth)
        return hoist_error_set_status (err, EACCES, "registry %s refused the credentials of '%s' from %s",
                                       c->api_host, c->creds.username, c->creds.source);
      return 0;
    }
  /* Bearer: the token held may have expired, or lack a scope. */
  token_drop (c, scope != NULL ? scope : "");
  return 0;
}
