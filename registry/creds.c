/* creds.c — finding registry credentials as docker does (--creds, the
 * containers auth file, docker's config.json and its credential helpers,
 * $GITHUB_TOKEN for ghcr.io), and writing config.json as `docker login`
 * and `docker logout` do.
 *
 * A config file is read whole (capped), parsed by jansson and checked
 * before it is searched; a credential helper runs from an argv vector
 * with the server URL on stdin.  Every secret found goes to the log
 * masker, with the base64 "user:password" a Basic Authorization header
 * carries; no error message quotes a secret or the text of a config file.
 *
 * Deliberate differences from docker (cli/config/configfile, credentials):
 *  - an "auths" entry that holds credentials is used before a helper
 *    ("credHelpers", "credsStore"), which docker asks instead: so `hoist
 *    login` works where config.json names a helper, and a helper that
 *    has nothing falls through to the next source;
 *  - a missing or failing helper is an error naming it (docker's pull goes
 *    on anonymously);
 *  - duplicate JSON keys, a user with neither password nor identity token,
 *    a password without a user and NUL bytes in "auth" are refused (docker
 *    keeps the last key, takes them as they are, trims the NULs);
 *  - keys match in a fixed order (registry_config_lookup) where docker's
 *    follows Go's map order, host names case-insensitively, and docker.io
 *    also matches index.docker.io and registry-1.docker.io;
 *  - erasing removes every key a lookup would match, not the four
 *    spellings docker logout tries.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "registry/registry_private.h"

/* What a helper prints when it has nothing for the server. */
#define HELPER_NOT_FOUND "credentials not found in native keychain"
/* The user name a helper gives when the secret is an identity token. */
#define HELPER_TOKEN_USER "<token>"
/* How much of outside text (a key, a helper's complaint) a message shows. */
#define QUOTE_MAX 64
#define HELPER_MESSAGE_MAX 200

extern char **environ;

/* ---------------------------------------------------------------------
 * base64
 * ------------------------------------------------------------------- */

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
registry_base64_decode (const char *in, size_t n, size_t *out_len)
{
  cleanup_free char *out = hoist_xmalloc (n / 4 * 3 + 4);
  int v[4];
  size_t q = 0, pads = 0, w = 0;
  bool done = false;

  for (size_t i = 0; i < n; i++)
    {
      const char *digit = in[i] != '\0' ? strchr (base64_alphabet, in[i]) : NULL;

      if (in[i] == '\r' || in[i] == '\n')
        continue;
      if (done || (in[i] == '=' ? q < 2 : digit == NULL || pads > 0))
        return NULL;
      pads += in[i] == '=';
      v[q++] = digit != NULL ? (int) (digit - base64_alphabet) : 0;
      if (q < 4)
        continue;
      out[w++] = (char) (v[0] << 2 | v[1] >> 4);
      if (pads < 2)
        out[w++] = (char) ((v[1] & 0xF) << 4 | v[2] >> 2);
      if (pads < 1)
        out[w++] = (char) ((v[2] & 0x3) << 6 | v[3]);
      done = pads > 0;
      q = 0;
    }
  if (q != 0)
    return NULL;
  out[w] = '\0';
  *out_len = w;
  return steal_pointer (&out);
}

/* base64 of "USER:PASSWORD"; owned by the caller. */
static char *
basic_auth_base64 (const char *user, const char *password)
{
  cleanup_free char *plain = hoist_xasprintf ("%s:%s", user, password);
  size_t n = strlen (plain);
  char *out = hoist_xmalloc ((n + 2) / 3 * 4 + 1);

  EVP_EncodeBlock ((unsigned char *) out, (const unsigned char *) plain, (int) n);
  explicit_bzero (plain, n);
  return out;
}

/* ---------------------------------------------------------------------
 * Which key is whose
 * ------------------------------------------------------------------- */

static bool
host_is_hub (const char *s, size_t n)
{
  static const char *const names[] = { "docker.io", "index.docker.io", "registry-1.docker.io" };

  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strlen (names[i]) == n && strncasecmp (s, names[i], n) == 0)
      return true;
  return false;
}

const char *
registry_config_key (const char *host)
{
  return host_is_hub (host, strlen (host)) ? REGISTRY_DOCKER_HUB_KEY : host;
}

/* How well a key names a host; lower is better. */
enum key_rank
{
  RANK_KEY = 0, /* registry_config_key (host) */
  RANK_HOST,    /* the host itself */
  RANK_URL,     /* a URL or path whose host part is the host */
  RANK_NONE,
};

static enum key_rank
key_rank (const char *key, const char *host)
{
  const char *h = key;
  size_t n;

  if (strcmp (key, registry_config_key (host)) == 0)
    return RANK_KEY;
  if (strcmp (key, host) == 0)
    return RANK_HOST;
  if (strncmp (h, "https://", 8) == 0)
    h += 8;
  else if (strncmp (h, "http://", 7) == 0)
    h += 7;
  n = strcspn (h, "/");
  if (host_is_hub (host, strlen (host)) ? host_is_hub (h, n) : strlen (host) == n && strncasecmp (h, host, n) == 0)
    return RANK_URL;
  return RANK_NONE;
}

/* ---------------------------------------------------------------------
 * Reading a config file
 * ------------------------------------------------------------------- */

/* A problem with SECTION.KEY, or SECTION.KEY.FIELD when FIELD is not
 * NULL: the key is shown, never a value. */
static int
bad_key (const char *section, const char *key, const char *field, const char *problem, struct hoist_error **err)
{
  cleanup_free char *quoted = hoist_quote (key, strlen (key), QUOTE_MAX, 0);

  return hoist_error_set_status (err, EINVAL, "'%s'.'%s'%s%s%s %s", section, quoted, field != NULL ? ".'" : "",
                                 field != NULL ? field : "", field != NULL ? "'" : "", problem);
}

/* A helper is the program docker-credential-NAME: a NAME that could
 * leave that name ("../x", "a/b") is refused. */
static bool
helper_name_ok (const json_t *name)
{
  static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  const char *s = json_string_value (name);

  return s != NULL && s[0] != '.' && s[strspn (s, ok)] == '\0';
}

static bool
is_absent (const json_t *v)
{
  return v == NULL || json_is_null (v);
}

int
registry_config_load (const char *text, size_t len, json_t **out, struct hoist_error **err)
{
  json_error_t jerr;
  json_auto_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  const json_t *helpers = json_object_get (j, "credHelpers"), *store = json_object_get (j, "credsStore"), *v;
  const char *key;
  char *near;

  *out = NULL;
  if (j == NULL)
    {
      /* jansson quotes the token it stopped at: it may be a secret. */
      if ((near = strstr (jerr.text, " near '")) != NULL)
        *near = '\0';
      return hoist_error_set_status (err, EINVAL, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                                     jerr.column);
    }
  if (!json_is_object (j))
    return hoist_error_set_status (err, EINVAL, "not a JSON object");
  if (!is_absent (json_object_get (j, "auths")) && !json_is_object (json_object_get (j, "auths")))
    return hoist_error_set_status (err, EINVAL, "'auths' must be an object");
  if (!is_absent (helpers) && !json_is_object (helpers))
    return hoist_error_set_status (err, EINVAL, "'credHelpers' must be an object");
  json_object_foreach ((json_t *) helpers, key, v)
    if (!json_is_string (v) || (json_string_length (v) > 0 && !helper_name_ok (v)))
      return bad_key ("credHelpers", key, NULL, "must name a credential helper", err);
  if (!is_absent (store) && !json_is_string (store))
    return hoist_error_set_status (err, EINVAL, "'credsStore' must be a string");
  if (json_string_length (store) > 0 && !helper_name_ok (store))
    return hoist_error_set_status (err, EINVAL, "'credsStore' must name a credential helper");
  *out = steal_pointer (&j);
  return 0;
}

/* ENTRY's FIELD: NULL when absent, null or empty. */
static int
entry_string (const json_t *entry, const char *key, const char *field, const char **out, struct hoist_error **err)
{
  const json_t *v = json_object_get (entry, field);

  *out = json_string_length (v) > 0 ? json_string_value (v) : NULL;
  if (!is_absent (v) && !json_is_string (v))
    return bad_key ("auths", key, field, "must be a string", err);
  return 0;
}

/* "user:password", decoded from AUTH, into OUT. */
static int
decode_auth (const char *key, const char *auth, struct registry_creds *out, struct hoist_error **err)
{
  size_t n = 0;
  cleanup_free char *plain = registry_base64_decode (auth, strlen (auth), &n);
  const char *colon = plain != NULL ? memchr (plain, ':', n) : NULL;
  int ret = 0;

  if (plain == NULL)
    return bad_key ("auths", key, "auth", "is not valid base64", err);
  if (colon == NULL || colon == plain)
    ret = bad_key ("auths", key, "auth", "is not base64 of 'user:password'", err);
  else if (strlen (plain) != n)
    ret = bad_key ("auths", key, "auth", "holds a NUL byte", err);
  else
    {
      out->username = hoist_xstrndup (plain, (size_t) (colon - plain));
      out->password = colon[1] != '\0' ? hoist_xstrdup (colon + 1) : NULL;
    }
  explicit_bzero (plain, n);
  return ret;
}

/* The credentials of one "auths" entry, checked as docker checks them;
 * OUT->username NULL when it holds none. */
static int
entry_creds (const char *key, const json_t *entry, struct registry_creds *out, struct hoist_error **err)
{
  const char *auth, *user, *pass, *token, *problem;

  *out = (struct registry_creds){ 0 };
  if (json_is_null (entry))
    return 0;
  if (!json_is_object (entry))
    return bad_key ("auths", key, NULL, "must be an object", err);
  if (entry_string (entry, key, "auth", &auth, err) < 0 || entry_string (entry, key, "username", &user, err) < 0
      || entry_string (entry, key, "password", &pass, err) < 0
      || entry_string (entry, key, "identitytoken", &token, err) < 0)
    return -1;
  if (auth != NULL && decode_auth (key, auth, out, err) < 0)
    return -1;
  if (auth == NULL)
    {
      out->username = user != NULL ? hoist_xstrdup (user) : NULL;
      out->password = pass != NULL ? hoist_xstrdup (pass) : NULL;
    }
  out->identity_token = token != NULL ? hoist_xstrdup (token) : NULL;
  if (token != NULL && out->username == NULL && out->password == NULL)
    out->username = hoist_xstrdup ("");
  if (out->username != NULL && out->password == NULL && out->identity_token == NULL)
    problem = "has a user but no password";
  else if (out->username == NULL && out->password != NULL)
    problem = "has a password but no user";
  else
    return 0;
  registry_creds_release (out);
  return bad_key ("auths", key, NULL, problem, err);
}

/* The helper named in OBJ ("credHelpers") under the key that names HOST
 * best, or NULL. */
static const char *
best_helper (const json_t *obj, const char *host)
{
  enum key_rank best = RANK_NONE;
  const char *found = NULL, *key;
  const json_t *v;

  json_object_foreach ((json_t *) obj, key, v)
    if (key_rank (key, host) < best && json_string_length (v) > 0)
      {
        best = key_rank (key, host);
        found = json_string_value (v);
      }
  return found;
}

int
registry_config_lookup (const json_t *config, const char *host, struct registry_creds *out, char **helper,
                        struct hoist_error **err)
{
  const json_t *store = json_object_get (config, "credsStore"), *entry;
  enum key_rank best = RANK_NONE;
  const char *key, *name;

  *out = (struct registry_creds){ 0 };
  *helper = NULL;
  /* Every entry is checked, as docker checks them all on loading. */
  json_object_foreach ((json_t *) json_object_get (config, "auths"), key, entry)
    {
      struct registry_creds c;

      if (entry_creds (key, entry, &c, err) < 0)
        {
          registry_creds_release (out);
          return -1;
        }
      if (c.username != NULL && key_rank (key, host) < best)
        {
          best = key_rank (key, host);
          registry_creds_release (out);
          *out = c;
        }
      else
        registry_creds_release (&c);
    }
  name = best_helper (json_object_get (config, "credHelpers"), host);
  if (name == NULL && json_string_length (store) > 0)
    name = json_string_value (store);
  *helper = name != NULL ? hoist_xstrdup (name) : NULL;
  return 0;
}

int
registry_config_parse (const char *text, size_t len, const char *host, struct registry_creds *out, char **helper,
                       struct hoist_error **err)
{
  json_auto_t *config = NULL;

  *out = (struct registry_creds){ 0 };
  *helper = NULL;
  if (registry_config_load (text, len, &config, err) < 0)
    return -1;
  return registry_config_lookup (config, host, out, helper, err);
}

/* ---------------------------------------------------------------------
 * Changing a config file
 * ------------------------------------------------------------------- */

int
registry_config_set_auth (json_t *config, const char *host, const char *user, const char *password,
                          struct hoist_error **err)
{
  json_t *auths = json_object_get (config, "auths");
  cleanup_free char *b64 = NULL;
  int ret;

  if (user[0] == '\0' || strchr (user, ':') != NULL || password[0] == '\0')
    return hoist_error_set_status (
        err, EINVAL, "cannot store credentials: the user is empty or holds ':', or the password is empty");
  if (!json_is_object (auths))
    {
      auths = json_object ();
      if (json_object_set_new (config, "auths", auths) < 0)
        return hoist_error_set_status (err, EINVAL, "cannot store credentials: the config is not a JSON object");
    }
  b64 = basic_auth_base64 (user, password);
  ret = json_object_set_new (auths, registry_config_key (host), json_pack ("{s:s}", "auth", b64));
  explicit_bzero (b64, strlen (b64));
  if (ret < 0)
    return hoist_error_set_status (err, EINVAL, "cannot store credentials: the host is not valid UTF-8");
  return 0;
}

size_t
registry_config_erase_auth (json_t *config, const char *host)
{
  json_t *auths = json_object_get (config, "auths"), *v;
  const char *key;
  void *next;
  size_t n = 0;

  json_object_foreach_safe (auths, next, key,
                            v) if (key_rank (key, host) != RANK_NONE && json_object_del (auths, key) == 0) n++;
  return n;
}

char *
registry_config_dump (const json_t *config)
{
  cleanup_free char *text = json_dumps (config, JSON_INDENT (2));

  if (text == NULL)
    abort (); /* jansson fails only to allocate */
  return hoist_xasprintf ("%s\n", text);
}

/* ---------------------------------------------------------------------
 * Credential helpers
 * ------------------------------------------------------------------- */

/* A pipe's read end that yields TEXT then EOF. */
static int
stdin_with (const char *text, int *out, struct hoist_error **err)
{
  int fds[2], e;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return hoist_error_set (err, errno, "cannot make a pipe");
  e = hoist_write_all (fds[1], text, strlen (text)) < 0 ? errno : 0;
  close (fds[1]);
  *out = fds[0];
  return e != 0 ? hoist_error_set (err, e, "cannot write to a pipe") : 0;
}

/* Whether OUT is HELPER_NOT_FOUND, white space around it aside. */
static bool
helper_not_found (const struct hoist_buf *out)
{
  const char *s = out->data + strspn (out->data, " \t\r\n");
  size_t n = strlen (HELPER_NOT_FOUND);

  return strncmp (s, HELPER_NOT_FOUND, n) == 0 && s[n + strspn (s + n, " \t\r\n")] == '\0';
}

/* {"ServerURL", "Username", "Secret"} as a helper prints it. */
static int
helper_output (const char *prog, const struct hoist_buf *o, struct registry_creds *out, struct hoist_error **err)
{
  json_auto_t *j = json_loadb (o->data, o->len, 0, NULL);
  const char *user = json_string_value (json_object_get (j, "Username"));
  const char *secret = json_string_value (json_object_get (j, "Secret"));

  if (user == NULL || secret == NULL || (user[0] == '\0' && secret[0] != '\0'))
    return hoist_error_set_status (err, EINVAL, "credential helper '%s' printed no Username and Secret", prog);
  if (secret[0] == '\0')
    return 0;
  if (strcmp (user, HELPER_TOKEN_USER) == 0)
    {
      out->username = hoist_xstrdup ("");
      out->identity_token = hoist_xstrdup (secret);
      return 0;
    }
  out->username = hoist_xstrdup (user);
  out->password = hoist_xstrdup (secret);
  return 0;
}

/* Ask docker-credential-NAME for HOST's credentials; none is success with
 * OUT->username NULL.  PATH (the config file that names it) is for
 * messages. */
static int
run_helper (const char *name, const char *host, const char *path, struct registry_creds *out, struct hoist_error **err)
{
  cleanup_free char *prog = hoist_xasprintf ("docker-credential-%s", name);
  char *const argv[] = { prog, (char *) "get", NULL };
  cleanup_close int in = -1;
  cleanup_buf struct hoist_buf o;
  cleanup_buf struct hoist_buf e;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts opts = {
    .argv = argv,
    .envp = environ,
    .stdout_mode = HOIST_SPAWN_CAPTURE,
    .stdout_buf = &o,
    .stderr_mode = HOIST_SPAWN_CAPTURE,
    .stderr_buf = &e,
    .timeout_ms = REGISTRY_HELPER_TIMEOUT_MS,
  };
  int ret;

  hoist_buf_init (&o, REGISTRY_HELPER_OUTPUT_MAX);
  hoist_buf_init (&e, REGISTRY_HELPER_OUTPUT_MAX);
  if (stdin_with (registry_config_key (host), &in, err) < 0)
    return -1;
  opts.stdin_fd = in;
  ret = hoist_spawn (&opts, &res, err);
  if (ret == -ENOENT)
    return hoist_error_set_status (err, ENOENT, "credential helper '%s' not found in $PATH (hint: '%s' names it)", prog,
                                   path);
  if (ret < 0)
    return hoist_error_wrap (err, "credential helper '%s' (named in '%s')", prog, path);
  if (!res.signaled && res.exit_code == 0)
    ret = helper_output (prog, &o, out, err);
  else if (!helper_not_found (&o))
    {
      const struct hoist_buf *b = e.len > 0 ? &e : &o;
      cleanup_free char *why = hoist_quote (b->data, strcspn (b->data, "\r\n"), HELPER_MESSAGE_MAX, 0);

      ret = hoist_error_set_status (err, EIO, "credential helper '%s' failed for '%s': '%s'", prog, host, why);
    }
  explicit_bzero (o.data, o.len);
  return ret;
}

/* ---------------------------------------------------------------------
 * Finding credentials
 * ------------------------------------------------------------------- */

/* What creds->source points to when it names a file or a helper: kept,
 * once each, as long as the process lives. */
static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;
static char **sources;

static const char *
source_intern (const char *s)
{
  size_t i = 0;

  pthread_mutex_lock (&sources_lock);
  while (sources != NULL && sources[i] != NULL && strcmp (sources[i], s) != 0)
    i++;
  if (sources == NULL || sources[i] == NULL)
    hoist_strv_push (&sources, s);
  s = sources[i];
  pthread_mutex_unlock (&sources_lock);
  return s;
}

/* Read PATH into B; *MISSING when there is no such file. */
static int
read_config_file (const char *path, struct hoist_buf *b, bool *missing, struct hoist_error **err)
{
  cleanup_error struct hoist_error *e = NULL;

  *missing = false;
  if (hoist_buf_read_file (b, path, &e) == 0)
    return 0;
  *missing = e->status == ENOENT || e->status == ENOTDIR;
  if (*missing)
    return 0;
  if (e->status == E2BIG)
    return hoist_error_set_status (err, E2BIG, "cannot read '%s': larger than %d bytes", path, REGISTRY_CONFIG_MAX);
  return hoist_error_set_status (err, e->status, "%s", e->msg);
}

static int
creds_from_file (const char *path, const char *host, struct registry_creds *out, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;
  cleanup_free char *helper = NULL;
  cleanup_free char *prog = NULL;
  bool missing;
  int ret;

  hoist_buf_init (&b, REGISTRY_CONFIG_MAX);
  if (read_config_file (path, &b, &missing, err) < 0 || missing)
    return missing ? 0 : -1;
  ret = registry_config_parse (b.data, b.len, host, out, &helper, err);
  explicit_bzero (b.data, b.len);
  if (ret < 0)
    return hoist_error_wrap (err, "bad credentials file '%s'", path);
  if (out->username != NULL)
    out->source = source_intern (path);
  if (out->username != NULL || helper == NULL)
    return 0;
  if (run_helper (helper, host, path, out, err) < 0)
    return -1;
  prog = hoist_xasprintf ("docker-credential-%s", helper);
  out->source = out->username != NULL ? source_intern (prog) : NULL;
  return 0;
}

static const char *
env_nonempty (const char *name)
{
  const char *v = getenv (name);

  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* $DOCKER_CONFIG, else $HOME/.docker, else NULL; owned by the caller. */
static char *
docker_config_dir (void)
{
  const char *dir = env_nonempty ("DOCKER_CONFIG"), *home = env_nonempty ("HOME");

  if (dir != NULL)
    return hoist_xstrdup (dir);
  return home != NULL ? hoist_xasprintf ("%s/.docker", home) : NULL;
}

static int
creds_from_sources (const char *host, const char *explicit_creds, struct registry_creds *out, struct hoist_error **err)
{
  const char *colon = explicit_creds != NULL ? strchr (explicit_creds, ':') : NULL;
  const char *auth_file = env_nonempty ("REGISTRY_AUTH_FILE"), *token = env_nonempty ("GITHUB_TOKEN");
  cleanup_free char *dir = docker_config_dir ();
  cleanup_free char *path = dir != NULL ? hoist_xasprintf ("%s/config.json", dir) : NULL;

  if (explicit_creds != NULL && (colon == NULL || colon == explicit_creds || colon[1] == '\0'))
    return hoist_error_set_status (err, EINVAL, "bad --creds: expected 'user:password', neither empty");
  if (explicit_creds != NULL)
    {
      out->username = hoist_xstrndup (explicit_creds, (size_t) (colon - explicit_creds));
      out->password = hoist_xstrdup (colon + 1);
      out->source = "--creds";
      return 0;
    }
  if (auth_file != NULL && creds_from_file (auth_file, host, out, err) < 0)
    return -1;
  if (out->username == NULL && path != NULL && creds_from_file (path, host, out, err) < 0)
    return -1;
  if (out->username == NULL && token != NULL && strcasecmp (host, "ghcr.io") == 0)
    {
      out->username = hoist_xstrdup ("x-access-token");
      out->password = hoist_xstrdup (token);
      out->source = "$GITHUB_TOKEN";
    }
  return 0;
}

/* The secrets of C, and the base64 a Basic Authorization header carries,
 * to the log masker.  One too short to mask (it would shred ordinary
 * output) is refused by the masker, and let through. */
static void
mask_creds (const struct registry_creds *c)
{
  cleanup_free char *b64 = NULL;
  const char *secrets[3] = { c->password, c->identity_token, NULL };

  if (c->username != NULL && c->password != NULL)
    secrets[2] = b64 = basic_auth_base64 (c->username, c->password);
  for (size_t i = 0; i < 3; i++)
    if (secrets[i] != NULL && hoist_log_add_secret (secrets[i], NULL) < 0)
      {
        /* too short */
      }
}

static int
check_host (const char *host, struct hoist_error **err)
{
  size_t n = host != NULL ? strlen (host) : 0;
  cleanup_free char *quoted = NULL;

  if (n > 0 && n <= REGISTRY_NAME_MAX && strcspn (host, "/ \t\r\n\x7f") == n)
    return 0;
  quoted = hoist_quote (host != NULL ? host : "", n, QUOTE_MAX, 0);
  return hoist_error_set_status (err, EINVAL, "bad registry host '%s'", quoted);
}

int
registry_creds_find (const char *host, const char *explicit_creds, struct registry_creds *out, struct hoist_error **err)
{
  *out = (struct registry_creds){ 0 };
  if (check_host (host, err) < 0)
    return -1;
  if (creds_from_sources (host, explicit_creds, out, err) < 0)
    {
      registry_creds_release (out);
      return -1;
    }
  mask_creds (out);
  return 0;
}

static void
free_secret (char *s)
{
  if (s != NULL)
    explicit_bzero (s, strlen (s));
  free (s);
}

void
registry_creds_release (struct registry_creds *c)
{
  if (c == NULL)
    return;
  free (c->username);
  free_secret (c->password);
  free_secret (c->identity_token);
  *c = (struct registry_creds){ 0 };
}

/* ---------------------------------------------------------------------
 * Writing config.json
 * ------------------------------------------------------------------- */

/* Where config.json is and what it holds: *PATH (the file a symlink
 * names: docker writes through one) and *CONFIG, an empty object when
 * the file is missing.  CREATE: make its directory (0700) if missing. */
static int
load_docker_config (bool create, char **path, json_t **config, struct hoist_error **err)
{
  cleanup_free char *dir = docker_config_dir ();
  cleanup_free char *file = dir != NULL ? hoist_xasprintf ("%s/config.json", dir) : NULL;
  cleanup_free char *real = NULL;
  cleanup_buf struct hoist_buf b;
  struct stat st;
  bool missing;

  hoist_buf_init (&b, REGISTRY_CONFIG_MAX);
  if (dir == NULL)
    return hoist_error_set_status (err, ENOENT, "cannot find docker's config: neither $DOCKER_CONFIG nor $HOME is set");
  if (create && mkdir (dir, 0700) < 0 && errno != EEXIST)
    return hoist_error_set (err, errno, "cannot create directory '%s'", dir);
  if (lstat (file, &st) == 0 && S_ISLNK (st.st_mode) && (real = realpath (file, NULL)) == NULL)
    return hoist_error_set (err, errno, "cannot follow the symlink '%s'", file);
  if (real != NULL)
    {
      free (file);
      file = steal_pointer (&real);
    }
  if (read_config_file (file, &b, &missing, err) < 0)
    return -1;
  if (missing)
    *config = json_object ();
  else if (registry_config_load (b.data, b.len, config, err) < 0)
    return hoist_error_wrap (err, "bad credentials file '%s'", file);
  explicit_bzero (b.data, b.len);
  *path = steal_pointer (&file);
  return 0;
}

int
registry_creds_store (const char *host, const char *user, const char *password, struct hoist_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  json_auto_t *config = NULL;
  int ret;

  if (check_host (host, err) < 0 || load_docker_config (true, &path, &config, err) < 0
      || registry_config_set_auth (config, host, user, password, err) < 0)
    return -1;
  text = registry_config_dump (config);
  ret = hoist_replace_file (path, text, strlen (text), 0600, err);
  explicit_bzero (text, strlen (text));
  return ret;
}

int
registry_creds_erase (const char *host, struct hoist_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  json_auto_t *config = NULL;

  if (check_host (host, err) < 0 || load_docker_config (false, &path, &config, err) < 0)
    return -1;
  if (registry_config_erase_auth (config, host) == 0)
    return 0;
  text = registry_config_dump (config);
  return hoist_replace_file (path, text, strlen (text), 0600, err) < 0 ? -1 : 1;
}
