/* test_creds.c — finding, storing and erasing registry credentials.
 *
 * Every test runs with its own temporary HOME, and with DOCKER_CONFIG,
 * REGISTRY_AUTH_FILE and GITHUB_TOKEN unset unless it sets them; the
 * environment is restored after each.  Credential helpers are shell
 * scripts the tests write into a directory put first in PATH (/bin/sh
 * here is a test program: hoist runs the helper from an argv vector). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/registry_private.h"

static const char *const env_names[] = { "HOME", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "GITHUB_TOKEN", "PATH" };
#define N_ENV (sizeof (env_names) / sizeof (env_names[0]))

struct fixture
{
  char *dir;
  char *saved[N_ENV];
};

static struct fixture *fx; /* the running test's */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

/* A path under the test's directory; owned by the caller. */
static char *
tpath (const char *rel)
{
  return hoist_xasprintf ("%s/%s", fx->dir, rel);
}

static int
setup (void **state)
{
  char tmpl[] = "/tmp/hoist-test-creds-XXXXXX";
  cleanup_free char *home = NULL;

  fx = hoist_xcalloc (1, sizeof (*fx));
  if (mkdtemp (tmpl) == NULL)
    return -1;
  fx->dir = hoist_xstrdup (tmpl);
  for (size_t i = 0; i < N_ENV; i++)
    {
      const char *v = getenv (env_names[i]);
      fx->saved[i] = v != NULL ? hoist_xstrdup (v) : NULL;
      if (i < N_ENV - 1)
        unsetenv (env_names[i]);
    }
  home = tpath ("home");
  if (mkdir (home, 0755) < 0 || setenv ("HOME", home, 1) < 0)
    return -1;
  *state = fx;
  return 0;
}

static int
teardown (void **state)
{
  for (size_t i = 0; i < N_ENV; i++)
    {
      if (fx->saved[i] != NULL)
        setenv (env_names[i], fx->saved[i], 1);
      else
        unsetenv (env_names[i]);
      free (fx->saved[i]);
    }
  nftw (fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (fx->dir);
  free (fx);
  fx = NULL;
  return 0;
}

/* Write TEXT to REL (under the test's directory), making its parent. */
static char *
write_file (const char *rel, const char *text, mode_t mode)
{
  char *path = tpath (rel);
  cleanup_free char *parent = hoist_xstrdup (path);
  FILE *f;

  *strrchr (parent, '/') = '\0';
  mkdir (parent, 0700);
  f = fopen (path, "w");
  assert_non_null (f);
  assert_int_equal (fputs (text, f) >= 0, 1);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (chmod (path, mode), 0);
  return path;
}

static char *
read_file (const char *path)
{
  struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_read_file (&b, path, &err), 0);
  return hoist_buf_detach (&b, NULL);
}

static void
assert_creds (const struct registry_creds *c, const char *user, const char *pass, const char *token, const char *source)
{
  const char *want[4] = { user, pass, token, source };
  const char *got[4] = { c->username, c->password, c->identity_token, c->source };

  for (int i = 0; i < 4; i++)
    {
      if ((want[i] == NULL) != (got[i] == NULL) || (want[i] != NULL && strcmp (want[i], got[i]) != 0))
        fail_msg ("field %d: expected '%s', got '%s'", i, want[i] ? want[i] : "(null)", got[i] ? got[i] : "(null)");
    }
}

/* registry_creds_find (HOST, EXPLICIT) must succeed with these. */
static void
find_expect (const char *host, const char *explicit_creds, const char *user, const char *pass, const char *token,
             const char *source)
{
  struct registry_creds c;
  cleanup_error struct hoist_error *err = NULL;

  if (registry_creds_find (host, explicit_creds, &c, &err) < 0)
    fail_msg ("find '%s': %s", host, err->msg);
  assert_creds (&c, user, pass, token, source);
  registry_creds_release (&c);
}

/* registry_creds_find (HOST) must fail with a message holding WANT. */
static void
find_fails (const char *host, const char *explicit_creds, const char *want)
{
  struct registry_creds c;
  cleanup_error struct hoist_error *err = NULL;

  assert_true (registry_creds_find (host, explicit_creds, &c, &err) < 0);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("expected '%s' in '%s'", want, err->msg);
  assert_null (c.username);
  assert_null (c.password);
}

/* ---- config.json, in memory ------------------------------------------- */

struct key_case
{
  const char *auths; /* the "auths" object */
  const char *host;
  const char *user; /* NULL: nothing found */
};

#define E(u) "{\"username\":\"" u "\",\"password\":\"p\"}"

static const struct key_case key_cases[] = {
  { "{\"ghcr.io\":" E ("exact") "}", "ghcr.io", "exact" },
  { "{\"https://ghcr.io\":" E ("url") "}", "ghcr.io", "url" },
  { "{\"http://ghcr.io/v2/\":" E ("url") "}", "ghcr.io", "url" },
  { "{\"https://ghcr.io/v1/\":" E ("url") "}", "ghcr.io", "url" },
  { "{\"ghcr.io/org/repo\":" E ("path") "}", "ghcr.io", "path" },
  { "{\"GHCR.IO\":" E ("upper") "}", "ghcr.io", "upper" },
  { "{\"https://ghcr.io\":" E ("url") ",\"ghcr.io\":" E ("exact") "}", "ghcr.io", "exact" },
  { "{\"ghcr.io\":" E ("exact") ",\"https://ghcr.io\":" E ("url") "}", "ghcr.io", "exact" },
  { "{\"https://ghcr.io\":" E ("first") ",\"http://ghcr.io\":" E ("second") "}", "ghcr.io", "first" },
  { "{\"https://index.docker.io/v1/\":" E ("hub") "}", "docker.io", "hub" },
  { "{\"docker.io\":" E ("plain") "}", "docker.io", "plain" },
  { "{\"docker.io\":" E ("plain") ",\"https://index.docker.io/v1/\":" E ("hub") "}", "docker.io", "hub" },
  { "{\"index.docker.io\":" E ("idx") "}", "docker.io", "idx" },
  { "{\"registry-1.docker.io\":" E ("r1") "}", "docker.io", "r1" },
  { "{\"https://index.docker.io/v1/\":" E ("hub") "}", "index.docker.io", "hub" },
  { "{\"127.0.0.1:5000\":" E ("port") "}", "127.0.0.1:5000", "port" },
  { "{\"http://127.0.0.1:5000/v2/\":" E ("url") "}", "127.0.0.1:5000", "url" },
  { "{\"ghcr.io\":{},\"https://ghcr.io\":" E ("url") "}", "ghcr.io", "url" },
  { "{\"ghcr.io\":null,\"https://ghcr.io\":" E ("url") "}", "ghcr.io", "url" },
  { "{\"ghcr.io\":{\"email\":\"a@b\"}}", "ghcr.io", NULL },
  { "{\"ghcr.io.evil.com\":" E ("evil") "}", "ghcr.io", NULL },
  { "{\"evilghcr.io\":" E ("evil") "}", "ghcr.io", NULL },
  { "{\"https://ghcr.io.evil/\":" E ("evil") "}", "ghcr.io", NULL },
  { "{\"https://ghcr.io:443\":" E ("port") "}", "ghcr.io", NULL },
  { "{\"ftp://ghcr.io\":" E ("ftp") "}", "ghcr.io", NULL },
  { "{\"127.0.0.1\":" E ("noport") "}", "127.0.0.1:5000", NULL },
  { "{\"localhost:5000\":" E ("port") "}", "localhost", NULL },
  { "{\"docker.io\":" E ("hub") "}", "ghcr.io", NULL },
  { "{\"https://index.docker.io/v1/\":" E ("hub") "}", "ghcr.io", NULL },
  { "{}", "ghcr.io", NULL },
};

static void
test_key_table (void **state)
{
  size_t failures = 0;

  for (size_t i = 0; i < sizeof (key_cases) / sizeof (key_cases[0]); i++)
    {
      const struct key_case *k = &key_cases[i];
      cleanup_free char *text = hoist_xasprintf ("{\"auths\":%s}", k->auths);
      cleanup_free char *helper = NULL;
      cleanup_error struct hoist_error *err = NULL;
      struct registry_creds c;

      if (registry_config_parse (text, strlen (text), k->host, &c, &helper, &err) < 0)
        {
          print_error ("case %zu: %s\n", i, err->msg);
          failures++;
          continue;
        }
      if ((k->user == NULL) != (c.username == NULL) || (k->user != NULL && strcmp (k->user, c.username) != 0))
        {
          print_error ("case %zu: %s for '%s': expected '%s', got '%s'\n", i, k->auths, k->host,
                       k->user ? k->user : "(none)", c.username ? c.username : "(none)");
          failures++;
        }
      assert_null (helper);
      registry_creds_release (&c);
    }
  assert_int_equal (failures, 0);
}

struct entry_case
{
  const char *entry;
  const char *user, *pass, *token;
};

static const struct entry_case entry_cases[] = {
  { "{\"auth\":\"dXNlcjpwYXNz\"}", "user", "pass", NULL },
  { "{\"auth\":\"dXNlcjpw\\nYXNz\\r\\n\"}", "user", "pass", NULL },
  { "{\"auth\":\"YTpi\",\"username\":\"ignored\",\"password\":\"ignored\"}", "a", "b", NULL },
  { "{\"auth\":\"dXNlcjpwYXNzOmNvbG9u\"}", "user", "pass:colon", NULL },
  { "{\"username\":\"u\",\"password\":\"p\"}", "u", "p", NULL },
  { "{\"identitytoken\":\"refresh\"}", "", NULL, "refresh" },
  { "{\"auth\":\"dXNlcjo=\",\"identitytoken\":\"refresh\"}", "user", NULL, "refresh" },
  { "{\"auth\":\"dXNlcjpwYXNz\",\"identitytoken\":\"tok\"}", "user", "pass", "tok" },
  { "{\"auth\":\"\",\"email\":\"x@y\"}", NULL, NULL, NULL },
  { "{\"auth\":null,\"username\":null,\"password\":null}", NULL, NULL, NULL },
};

static void
test_entry_table (void **state)
{
  for (size_t i = 0; i < sizeof (entry_cases) / sizeof (entry_cases[0]); i++)
    {
      cleanup_free char *text = hoist_xasprintf ("{\"auths\":{\"ghcr.io\":%s}}", entry_cases[i].entry);
      cleanup_free char *helper = NULL;
      cleanup_error struct hoist_error *err = NULL;
      struct registry_creds c;

      if (registry_config_parse (text, strlen (text), "ghcr.io", &c, &helper, &err) < 0)
        fail_msg ("case %zu: %s", i, err->msg);
      assert_creds (&c, entry_cases[i].user, entry_cases[i].pass, entry_cases[i].token, NULL);
      registry_creds_release (&c);
    }
}

struct bad_config_case
{
  const char *text;
  const char *msg;       /* the whole message */
  const char *forbidden; /* a secret the message must not show, or NULL */
};

static const struct bad_config_case bad_config_cases[] = {
  { "", "not valid JSON: '[' or '{' expected near end of file (line 1, column 0)", NULL },
  { "{", "not valid JSON: string or '}' expected near end of file (line 1, column 1)", NULL },
  { "{\"auths\":{\"x\":{\"auth\":c2VjcmV0LXRva2Vu}}}", "not valid JSON: invalid token (line 1, column 23)",
    "c2VjcmV0" },
  { "{\"auths\":{},\"auths\":{}}", "not valid JSON: duplicate object key (line 1, column 19)", NULL },
  { "[]", "not a JSON object", NULL },
  { "{\"auths\":[]}", "'auths' must be an object", NULL },
  { "{\"auths\":{\"ghcr.io\":\"x\"}}", "'auths'.'ghcr.io' must be an object", NULL },
  { "{\"auths\":{\"a\\u001bb\":1}}", "'auths'.'a\\x1bb' must be an object", NULL },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":5}}}", "'auths'.'ghcr.io'.'auth' must be a string", NULL },
  { "{\"auths\":{\"ghcr.io\":{\"password\":[\"s3cr3t\"]}}}", "'auths'.'ghcr.io'.'password' must be a string",
    "s3cr3t" },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"!!!!s3cr3t\"}}}", "'auths'.'ghcr.io'.'auth' is not valid base64", "s3cr3t" },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXNlcjpwYXN\"}}}", "'auths'.'ghcr.io'.'auth' is not valid base64",
    "dXNlcjpwYXN" },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXNlcjpwYQ=\"}}}", "'auths'.'ghcr.io'.'auth' is not valid base64", NULL },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXNlcnBhc3M=\"}}}",
    "'auths'.'ghcr.io'.'auth' is not base64 of 'user:password'", "userpass" },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"OnBhc3M=\"}}}", "'auths'.'ghcr.io'.'auth' is not base64 of 'user:password'",
    NULL },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXMAZXI6cHc=\"}}}", "'auths'.'ghcr.io'.'auth' holds a NUL byte", NULL },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXNlcjpwYXNzAAA=\"}}}", "'auths'.'ghcr.io'.'auth' holds a NUL byte", NULL },
  { "{\"auths\":{\"ghcr.io\":{\"auth\":\"dXNlcjo=\"}}}", "'auths'.'ghcr.io' has a user but no password", NULL },
  { "{\"auths\":{\"x\":{\"username\":\"u\"}}}", "'auths'.'x' has a user but no password", NULL },
  { "{\"auths\":{\"x\":{\"password\":\"s3cr3t\"}}}", "'auths'.'x' has a password but no user", "s3cr3t" },
  /* Every entry is checked, not only the one asked for. */
  { "{\"auths\":{\"ghcr.io\":" E ("u") ",\"other\":{\"auth\":\"%%%\"}}}", "'auths'.'other'.'auth' is not valid base64",
    NULL },
  { "{\"credHelpers\":[]}", "'credHelpers' must be an object", NULL },
  { "{\"credHelpers\":{\"ghcr.io\":\"../evil\"}}", "'credHelpers'.'ghcr.io' must name a credential helper", NULL },
  { "{\"credHelpers\":{\"ghcr.io\":\"a/b\"}}", "'credHelpers'.'ghcr.io' must name a credential helper", NULL },
  { "{\"credHelpers\":{\"ghcr.io\":3}}", "'credHelpers'.'ghcr.io' must name a credential helper", NULL },
  { "{\"credsStore\":1}", "'credsStore' must be a string", NULL },
  { "{\"credsStore\":\"a b\"}", "'credsStore' must name a credential helper", NULL },
  { "{\"credsStore\":\".hidden\"}", "'credsStore' must name a credential helper", NULL },
};

static void
test_bad_config_table (void **state)
{
  size_t failures = 0;

  for (size_t i = 0; i < sizeof (bad_config_cases) / sizeof (bad_config_cases[0]); i++)
    {
      const struct bad_config_case *b = &bad_config_cases[i];
      cleanup_free char *helper = NULL;
      struct hoist_error *err = NULL;
      struct registry_creds c;
      int ret = registry_config_parse (b->text, strlen (b->text), "ghcr.io", &c, &helper, &err);

      if (ret >= 0 || strcmp (err->msg, b->msg) != 0 || (b->forbidden != NULL && strstr (err->msg, b->forbidden)))
        {
          print_error ("case %zu: %s\n  expected \"%s\"\n  got      \"%s\"\n", i, b->text, b->msg,
                       err != NULL ? err->msg : "success");
          failures++;
        }
      if (c.username != NULL || helper != NULL)
        failures++;
      registry_creds_release (&c);
      hoist_error_free (err);
    }
  assert_int_equal (failures, 0);
}

struct helper_case
{
  const char *text;
  const char *host;
  const char *helper;
};

static const struct helper_case helper_cases[] = {
  { "{\"credsStore\":\"desktop\"}", "ghcr.io", "desktop" },
  { "{\"credHelpers\":{\"ghcr.io\":\"gh\"},\"credsStore\":\"desktop\"}", "ghcr.io", "gh" },
  { "{\"credHelpers\":{\"ghcr.io\":\"gh\"},\"credsStore\":\"desktop\"}", "docker.io", "desktop" },
  { "{\"credHelpers\":{\"https://index.docker.io/v1/\":\"hub\"}}", "docker.io", "hub" },
  { "{\"credHelpers\":{\"https://ghcr.io\":\"url\",\"ghcr.io\":\"exact\"}}", "ghcr.io", "exact" },
  { "{\"credHelpers\":{\"ghcr.io\":\"\"},\"credsStore\":\"d\"}", "ghcr.io", "d" },
  { "{\"credHelpers\":{\"ecr\":\"ecr-login\"}}", "ghcr.io", NULL },
  { "{\"credsStore\":\"\"}", "ghcr.io", NULL },
  { "{\"credsStore\":null,\"credHelpers\":null,\"auths\":null}", "ghcr.io", NULL },
  { "{\"credsStore\":\"secretservice\",\"auths\":{\"ghcr.io\":{}}}", "ghcr.io", "secretservice" },
};

static void
test_helper_table (void **state)
{
  for (size_t i = 0; i < sizeof (helper_cases) / sizeof (helper_cases[0]); i++)
    {
      const struct helper_case *h = &helper_cases[i];
      cleanup_free char *helper = NULL;
      cleanup_error struct hoist_error *err = NULL;
      struct registry_creds c;

      if (registry_config_parse (h->text, strlen (h->text), h->host, &c, &helper, &err) < 0)
        fail_msg ("case %zu: %s", i, err->msg);
      if ((h->helper == NULL) != (helper == NULL) || (helper != NULL && strcmp (helper, h->helper) != 0))
        fail_msg ("case %zu: expected '%s', got '%s'", i, h->helper ? h->helper : "(none)", helper ? helper : "(none)");
      registry_creds_release (&c);
    }
}

struct base64_case
{
  const char *in;
  const char *out; /* NULL: refused */
};

static const struct base64_case base64_cases[] = {
  { "", "" },           { "YQ==", "a" },        { "YWI=", "ab" },
  { "YWJj", "abc" },    { "YWJjZA==", "abcd" }, { "YW\r\nJj\n", "abc" },
  { "YR==", "a" },      { "YQ", NULL },         { "YQ=", NULL },
  { "YQ===", NULL },    { "Y===", NULL },       { "=YQ=", NULL },
  { "YQ==YQ==", NULL }, { "YQ==\n", "a" },      { "YW=j", NULL },
  { "YWJ", NULL },      { "Y", NULL },          { "YW Jj", NULL },
  { "YW-j", NULL },     { "YW_j", NULL },
};

static void
test_base64_table (void **state)
{
  for (size_t i = 0; i < sizeof (base64_cases) / sizeof (base64_cases[0]); i++)
    {
      size_t n = 0;
      cleanup_free char *out = registry_base64_decode (base64_cases[i].in, strlen (base64_cases[i].in), &n);

      if ((out == NULL) != (base64_cases[i].out == NULL)
          || (out != NULL && (n != strlen (base64_cases[i].out) || strcmp (out, base64_cases[i].out) != 0)))
        fail_msg ("case %zu: '%s'", i, base64_cases[i].in);
    }
}

/* ---- Finding: the order of the sources -------------------------------- */

#define CONFIG(user) "{\"auths\":{\"ghcr.io\":{\"username\":\"" user "\",\"password\":\"" user "-pass\"}}}"

static void
test_explicit (void **state)
{
  cleanup_free char *cfg = write_file ("home/.docker/config.json", CONFIG ("file"), 0600);

  setenv ("GITHUB_TOKEN", "gh-token", 1);
  find_expect ("ghcr.io", "me:pass:with:colons", "me", "pass:with:colons", NULL, "--creds");
  find_expect ("ghcr.io", NULL, "file", "file-pass", NULL, cfg);
  find_fails ("ghcr.io", "nocolon-s3cr3t", "bad --creds: expected 'user:password', neither empty");
  find_fails ("ghcr.io", ":s3cr3t", "bad --creds");
  find_fails ("ghcr.io", "user:", "bad --creds");
  find_fails ("", NULL, "bad registry host ''");
  find_fails ("a/b", NULL, "bad registry host 'a/b'");
  find_fails ("a\nb", NULL, "bad registry host 'a\\x0ab'");
}

static void
test_nothing_found (void **state)
{
  find_expect ("ghcr.io", NULL, NULL, NULL, NULL, NULL);
  unsetenv ("HOME");
  find_expect ("ghcr.io", NULL, NULL, NULL, NULL, NULL);
  setenv ("REGISTRY_AUTH_FILE", "/nonexistent/auth.json", 1);
  setenv ("DOCKER_CONFIG", "/nonexistent", 1);
  find_expect ("ghcr.io", NULL, NULL, NULL, NULL, NULL);
  setenv ("HOME", "/dev/null", 1); /* not a directory: no file */
  unsetenv ("DOCKER_CONFIG");
  find_expect ("ghcr.io", NULL, NULL, NULL, NULL, NULL);
}

static void
test_order (void **state)
{
  cleanup_free char *home_cfg = write_file ("home/.docker/config.json", CONFIG ("home"), 0600);
  cleanup_free char *dc_cfg = write_file ("dc/config.json", CONFIG ("dc"), 0600);
  cleanup_free char *dc = tpath ("dc");
  cleanup_free char *auth = write_file ("auth.json", CONFIG ("authfile"), 0600);
  cleanup_free char *other = write_file ("other.json", "{\"auths\":{\"quay.io\":" E ("q") "}}", 0600);

  setenv ("GITHUB_TOKEN", "gh-token-1234", 1);
  find_expect ("ghcr.io", NULL, "home", "home-pass", NULL, home_cfg);
  setenv ("DOCKER_CONFIG", dc, 1);
  find_expect ("ghcr.io", NULL, "dc", "dc-pass", NULL, dc_cfg);
  setenv ("REGISTRY_AUTH_FILE", auth, 1);
  find_expect ("ghcr.io", NULL, "authfile", "authfile-pass", NULL, auth);
  /* An auth file without the host falls through to config.json. */
  setenv ("REGISTRY_AUTH_FILE", other, 1);
  find_expect ("ghcr.io", NULL, "dc", "dc-pass", NULL, dc_cfg);
  find_expect ("quay.io", NULL, "q", "p", NULL, other);
  /* $GITHUB_TOKEN is last, and for ghcr.io only. */
  unsetenv ("DOCKER_CONFIG");
  unsetenv ("REGISTRY_AUTH_FILE");
  unlink (home_cfg);
  find_expect ("ghcr.io", NULL, "x-access-token", "gh-token-1234", NULL, "$GITHUB_TOKEN");
  find_expect ("GHCR.io", NULL, "x-access-token", "gh-token-1234", NULL, "$GITHUB_TOKEN");
  find_expect ("docker.io", NULL, NULL, NULL, NULL, NULL);
  setenv ("GITHUB_TOKEN", "", 1);
  find_expect ("ghcr.io", NULL, NULL, NULL, NULL, NULL);
}

/* A file that exists but is malformed fails, naming it; a secret in it
 * is never shown. */
static void
test_malformed_files (void **state)
{
  cleanup_free char *cfg
      = write_file ("home/.docker/config.json", "{\"auths\":{\"ghcr.io\":{\"auth\":\"!s3cr3t\"}}}", 0600);
  cleanup_free char *want
      = hoist_xasprintf ("bad credentials file '%s': 'auths'.'ghcr.io'.'auth' is not valid base64", cfg);
  cleanup_free char *auth = write_file ("auth.json", "{\"auths\":", 0600);
  cleanup_free char *want_auth = hoist_xasprintf ("bad credentials file '%s': not valid JSON", auth);
  cleanup_free char *dir = tpath ("dir");
  cleanup_free char *big = NULL;

  find_fails ("quay.io", NULL, want);
  setenv ("REGISTRY_AUTH_FILE", auth, 1);
  find_fails ("ghcr.io", NULL, want_auth);
  /* A directory where the file should be, and a file over the limit. */
  mkdir (dir, 0700);
  setenv ("REGISTRY_AUTH_FILE", dir, 1);
  find_fails ("ghcr.io", NULL, dir);
  big = hoist_xmalloc (REGISTRY_CONFIG_MAX + 2);
  memset (big, ' ', REGISTRY_CONFIG_MAX + 1);
  big[REGISTRY_CONFIG_MAX + 1] = '\0';
  free (auth);
  auth = write_file ("big.json", big, 0600);
  setenv ("REGISTRY_AUTH_FILE", auth, 1);
  find_fails ("ghcr.io", NULL, "larger than 4194304 bytes");
}

/* Every secret found goes to the log masker, with the base64 of
 * "user:password". */
static void
test_secrets_masked (void **state)
{
  cleanup_free char *log = tpath ("log");
  cleanup_close int fd = open (log, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cleanup_free char *text = NULL;
  struct registry_creds c;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (registry_creds_find ("ghcr.io", "someone:hunter2-secret", &c, &err), 0);
  hoist_log_set_fd (fd);
  hoist_log (HOIST_LOG_ERROR, "pw=%s basic=c29tZW9uZTpodW50ZXIyLXNlY3JldA== user=%s", c.password, c.username);
  hoist_log_set_fd (2);
  registry_creds_release (&c);
  text = read_file (log);
  assert_string_equal (text, "hoist: error: pw=*** basic=*** user=someone\n");
}

/* ---- Credential helpers ------------------------------------------------ */

/* A docker-credential-NAME in a directory put first in PATH: it records
 * its stdin and answers per server URL. */
static void
install_helper (const char *name)
{
  cleanup_free char *rel = hoist_xasprintf ("bin/docker-credential-%s", name);
  cleanup_free char *seen = tpath ("stdin-seen");
  cleanup_free char *script = hoist_xasprintf (
      "#!/bin/sh\n"
      "[ \"$1\" = get ] || exit 3\n"
      "cat > '%s'\n"
      "case \"$(cat '%s')\" in\n"
      "ghcr.io) printf '{\"ServerURL\":\"ghcr.io\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' ;;\n"
      "https://index.docker.io/v1/) printf '{\"Username\":\"<token>\",\"Secret\":\"refresh-tok\"}' ;;\n"
      "notfound.example) echo 'credentials not found in native keychain'; exit 1 ;;\n"
      "broken.example) echo 'cannot reach the keychain' >&2; exit 1 ;;\n"
      "garbage.example) echo 'not json s3cr3t' ;;\n"
      "empty.example) printf '{\"Username\":\"\",\"Secret\":\"\"}' ;;\n"
      "*) exit 4 ;;\n"
      "esac\n",
      seen, seen);
  cleanup_free char *bin = tpath ("bin");
  cleanup_free char *newpath = hoist_xasprintf ("%s:%s", bin, fx->saved[N_ENV - 1] ? fx->saved[N_ENV - 1] : "/bin");

  free (write_file (rel, script, 0755));
  setenv ("PATH", newpath, 1);
}

static void
assert_stdin_seen (const char *want)
{
  cleanup_free char *seen = tpath ("stdin-seen");
  cleanup_free char *text = read_file (seen);

  assert_string_equal (text, want);
}

static void
test_helper (void **state)
{
  cleanup_free char *cfg = write_file ("home/.docker/config.json",
                                       "{\"credsStore\":\"fake\",\"credHelpers\":{\"ghcr.io\":\"fake\"},"
                                       "\"auths\":{\"ghcr.io\":{},\"quay.io\":" E ("file") "}}",
                                       0600);

  install_helper ("fake");
  find_expect ("ghcr.io", NULL, "helper-user", "helper-secret", NULL, "docker-credential-fake");
  assert_stdin_seen ("ghcr.io");
  find_expect ("docker.io", NULL, "", NULL, "refresh-tok", "docker-credential-fake");
  assert_stdin_seen ("https://index.docker.io/v1/");
  /* An entry with credentials comes before the helper. */
  find_expect ("quay.io", NULL, "file", "p", NULL, cfg);
  /* The helper has nothing: the next source. */
  setenv ("GITHUB_TOKEN", "gh-token", 1);
  find_expect ("notfound.example", NULL, NULL, NULL, NULL, NULL);
  find_expect ("empty.example", NULL, NULL, NULL, NULL, NULL);
  find_fails ("broken.example", NULL,
              "credential helper 'docker-credential-fake' failed for 'broken.example': 'cannot reach the keychain'");
  find_fails ("garbage.example", NULL, "credential helper 'docker-credential-fake' printed no Username and Secret");
}

static void
test_helper_missing (void **state)
{
  cleanup_free char *cfg = write_file ("home/.docker/config.json", "{\"credsStore\":\"nothere\"}", 0600);
  cleanup_free char *want
      = hoist_xasprintf ("credential helper 'docker-credential-nothere' not found in $PATH (hint: '%s' names it)", cfg);
  struct registry_creds c;
  cleanup_error struct hoist_error *err = NULL;

  install_helper ("fake");
  assert_true (registry_creds_find ("ghcr.io", NULL, &c, &err) < 0);
  assert_string_equal (err->msg, want);
  assert_int_equal (err->status, ENOENT);
}

/* ---- Storing and erasing ------------------------------------------------ */

static void
assert_mode (const char *path, mode_t mode)
{
  struct stat st;

  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, mode);
}

static void
test_store_round_trip (void **state)
{
  cleanup_free char *dir = tpath ("home/.docker");
  cleanup_free char *cfg = tpath ("home/.docker/config.json");
  cleanup_free char *text = NULL;
  cleanup_error struct hoist_error *err = NULL;

  umask (022);
  assert_int_equal (registry_creds_store ("ghcr.io", "me", "pa:ss-1", &err), 0);
  assert_mode (dir, 0700);
  assert_mode (cfg, 0600);
  find_expect ("ghcr.io", NULL, "me", "pa:ss-1", NULL, cfg);
  assert_int_equal (registry_creds_store ("docker.io", "hub-user", "hub-pass", &err), 0);
  text = read_file (cfg);
  assert_non_null (strstr (text, "\"https://index.docker.io/v1/\": {\n      \"auth\": \"aHViLXVzZXI6aHViLXBhc3M=\""));
  find_expect ("docker.io", NULL, "hub-user", "hub-pass", NULL, cfg);
  find_expect ("index.docker.io", NULL, "hub-user", "hub-pass", NULL, cfg);
  /* Storing again replaces. */
  assert_int_equal (registry_creds_store ("ghcr.io", "me2", "pass-2", &err), 0);
  find_expect ("ghcr.io", NULL, "me2", "pass-2", NULL, cfg);
  assert_mode (cfg, 0600);
}

static void
test_store_keeps_other_keys (void **state)
{
  static const char before[] = "{\"auths\":{\"quay.io\":{\"auth\":\"YTpi\",\"email\":\"x@y\"},\"https://ghcr.io\":" E (
      "old") "},"
             "\"credsStore\":\"\",\"psFormat\":\"table {{.ID}}\",\"HttpHeaders\":{\"User-Agent\":\"x\"},"
             "\"plugins\":{\"p\":{\"k\":[1,2,{\"n\":null}]}},\"currentContext\":\"default\"}";
  cleanup_free char *cfg = write_file ("home/.docker/config.json", before, 0644);
  cleanup_error struct hoist_error *err = NULL;
  json_auto_t *old = json_loads (before, 0, NULL);
  json_auto_t *now = NULL;
  cleanup_free char *text = NULL;
  const char *key;
  json_t *v;

  assert_int_equal (registry_creds_store ("ghcr.io", "new", "new-pass", &err), 0);
  text = read_file (cfg);
  now = json_loads (text, 0, NULL);
  assert_non_null (now);
  json_object_foreach (old, key, v)
    if (strcmp (key, "auths") != 0)
      assert_true (json_equal (v, json_object_get (now, key)));
  assert_true (json_equal (json_object_get (json_object_get (old, "auths"), "quay.io"),
                           json_object_get (json_object_get (now, "auths"), "quay.io")));
  assert_non_null (json_object_get (json_object_get (now, "auths"), "https://ghcr.io"));
  /* The new entry is the one found, and the file is now private. */
  find_expect ("ghcr.io", NULL, "new", "new-pass", NULL, cfg);
  assert_mode (cfg, 0600);
}

static void
test_store_refusals (void **state)
{
  cleanup_free char *cfg = write_file ("dc/config.json", "{\"auths\":", 0600);
  cleanup_free char *dc = tpath ("dc");
  cleanup_free char *text = NULL;
  cleanup_error struct hoist_error *err = NULL;

  setenv ("DOCKER_CONFIG", dc, 1);
  /* A malformed file is not overwritten. */
  assert_true (registry_creds_store ("ghcr.io", "u", "p-123", &err) < 0);
  assert_non_null (strstr (err->msg, "bad credentials file"));
  text = read_file (cfg);
  assert_string_equal (text, "{\"auths\":");
  unlink (cfg);
  assert_true (registry_creds_store ("ghcr.io", "a:b", "p-123", &err) < 0);
  assert_true (registry_creds_store ("ghcr.io", "", "p-123", &err) < 0);
  assert_true (registry_creds_store ("ghcr.io", "u", "", &err) < 0);
  assert_true (registry_creds_store ("", "u", "p", &err) < 0);
  assert_int_equal (access (cfg, F_OK), -1);
  unsetenv ("DOCKER_CONFIG");
  unsetenv ("HOME");
  assert_true (registry_creds_store ("ghcr.io", "u", "p-123", &err) < 0);
  assert_string_equal (err->msg, "cannot find docker's config: neither $DOCKER_CONFIG nor $HOME is set");
}

/* config.json as a symlink (dotfile managers): the file it names is
 * replaced, the link stays. */
static void
test_store_through_symlink (void **state)
{
  cleanup_free char *target = write_file ("dotfiles/docker.json", "{\"psFormat\":\"x\"}", 0600);
  cleanup_free char *link = tpath ("home/.docker/config.json");
  cleanup_free char *dir = tpath ("home/.docker");
  cleanup_free char *text = NULL;
  cleanup_error struct hoist_error *err = NULL;
  struct stat st;

  mkdir (dir, 0700);
  assert_int_equal (symlink (target, link), 0);
  assert_int_equal (registry_creds_store ("ghcr.io", "u", "p-123", &err), 0);
  assert_int_equal (lstat (link, &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  text = read_file (target);
  assert_non_null (strstr (text, "\"psFormat\": \"x\""));
  find_expect ("ghcr.io", NULL, "u", "p-123", NULL, link);
}

static void
test_erase (void **state)
{
  cleanup_free char *cfg = write_file ("home/.docker/config.json",
                                       "{\"auths\":{\"ghcr.io\":" E ("a") ",\"https://ghcr.io\":" E (
                                           "b") ","
                                                "\"http://ghcr.io/v2/\":" E ("c") ",\"quay.io\":" E ("q") "},\"x\":1}",
                                       0644);
  cleanup_free char *missing = tpath ("nowhere");
  cleanup_free char *text = NULL;
  cleanup_error struct hoist_error *err = NULL;

  setenv ("GITHUB_TOKEN", "gh-token", 1);
  assert_int_equal (registry_creds_erase ("ghcr.io", &err), 1);
  find_expect ("ghcr.io", NULL, "x-access-token", "gh-token", NULL, "$GITHUB_TOKEN");
  find_expect ("quay.io", NULL, "q", "p", NULL, cfg);
  text = read_file (cfg);
  assert_non_null (strstr (text, "\"x\": 1"));
  assert_mode (cfg, 0600);
  assert_int_equal (registry_creds_erase ("ghcr.io", &err), 0);
  assert_int_equal (registry_creds_store ("docker.io", "u", "p-123", &err), 0);
  assert_int_equal (registry_creds_erase ("index.docker.io", &err), 1);
  find_expect ("docker.io", NULL, NULL, NULL, NULL, NULL);
  /* Nothing to erase from: nothing written, no directory made. */
  setenv ("DOCKER_CONFIG", missing, 1);
  assert_int_equal (registry_creds_erase ("ghcr.io", &err), 0);
  assert_int_equal (access (missing, F_OK), -1);
}

static int
group_teardown (void **state)
{
  hoist_log_shutdown ();
  return 0;
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_key_table),
    T (test_entry_table),
    T (test_bad_config_table),
    T (test_helper_table),
    T (test_base64_table),
    T (test_explicit),
    T (test_nothing_found),
    T (test_order),
    T (test_malformed_files),
    T (test_secrets_masked),
    T (test_helper),
    T (test_helper_missing),
    T (test_store_round_trip),
    T (test_store_keeps_other_keys),
    T (test_store_refusals),
    T (test_store_through_symlink),
    T (test_erase),
  };

  return cmocka_run_group_tests (tests, NULL, group_teardown);
}
