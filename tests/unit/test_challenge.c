/* test_challenge.c — reading WWW-Authenticate headers.
 *
 * The valid rows are what registries send (Docker Hub, GHCR, Quay,
 * GitLab, Harbor, ECR, distribution) and what RFC 7235 allows around
 * them; the malformed rows check the whole message, so that each names
 * its problem and where it is. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/registry_private.h"

#define BEARER REGISTRY_AUTH_BEARER
#define BASIC REGISTRY_AUTH_BASIC

struct ok_case
{
  const char *header;
  enum registry_auth_scheme scheme;
  const char *realm, *service, *scope, *error;
};

static const struct ok_case ok_cases[] = {
  /* What registries send. */
  { "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
    "scope=\"repository:library/busybox:pull\"",
    BEARER, "https://auth.docker.io/token", "registry.docker.io", "repository:library/busybox:pull", NULL },
  { "Basic realm=\"Registry Realm\"", BASIC, "Registry Realm", NULL, NULL, NULL },
  { "Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:user/image:pull\"", BEARER,
    "https://ghcr.io/token", "ghcr.io", "repository:user/image:pull", NULL },
  { "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
    "scope=\"repository:samalba/my-app:pull,push\",error=\"insufficient_scope\"",
    BEARER, "https://auth.docker.io/token", "registry.docker.io", "repository:samalba/my-app:pull,push",
    "insufficient_scope" },
  { "Bearer realm=\"https://quay.io/v2/auth\",service=\"quay.io\"", BEARER, "https://quay.io/v2/auth", "quay.io", NULL,
    NULL },
  { "Bearer realm=\"https://gitlab.com/jwt/auth\",service=\"container_registry\",scope=\"repository:g/p:push,pull\"",
    BEARER, "https://gitlab.com/jwt/auth", "container_registry", "repository:g/p:push,pull", NULL },
  { "Bearer realm=\"https://harbor.example.com/service/token\",service=\"harbor-registry\"", BEARER,
    "https://harbor.example.com/service/token", "harbor-registry", NULL, NULL },
  { "Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\",service=\"ecr.amazonaws.com\"", BASIC,
    "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", "ecr.amazonaws.com", NULL, NULL },
  { "Bearer realm=\"https://r.example/token\",error=\"invalid_token\",error_description=\"The token expired\"", BEARER,
    "https://r.example/token", NULL, NULL, "invalid_token" },
  /* Several scopes in one value, separated by spaces. */
  { "Bearer realm=\"https://r/token\",scope=\"repository:a/b:pull repository:c/d:pull,push\"", BEARER,
    "https://r/token", NULL, "repository:a/b:pull repository:c/d:pull,push", NULL },
  /* Quoted strings: escapes, commas, spaces, tabs, UTF-8. */
  { "Basic realm=\"say \\\"hi\\\"\"", BASIC, "say \"hi\"", NULL, NULL, NULL },
  { "Basic realm=\"a\\\\b\"", BASIC, "a\\b", NULL, NULL, NULL },
  { "Basic realm=\"\\a\\b\\c\"", BASIC, "abc", NULL, NULL, NULL },
  { "Basic realm=\"a, b = c\"", BASIC, "a, b = c", NULL, NULL, NULL },
  { "Basic realm=\"a\tb\"", BASIC, "a\tb", NULL, NULL, NULL },
  { "Basic realm=\"caf\xC3\xA9\"", BASIC, "caf\xC3\xA9", NULL, NULL, NULL },
  { "Bearer realm=\"r\",service=\"\"", BEARER, "r", "", NULL, NULL },
  { "Basic realm=\"\\\"\"", BASIC, "\"", NULL, NULL, NULL },
  /* Tokens as values. */
  { "Bearer realm=abc,service=svc", BEARER, "abc", "svc", NULL, NULL },
  { "Bearer realm=a.b-c_d~e!#$%&'*+^`|", BEARER, "a.b-c_d~e!#$%&'*+^`|", NULL, NULL, NULL },
  { "Bearer realm='single'", BEARER, "'single'", NULL, NULL, NULL },
  /* Case. */
  { "bearer realm=\"r\"", BEARER, "r", NULL, NULL, NULL },
  { "BASIC realm=x", BASIC, "x", NULL, NULL, NULL },
  { "BeArEr REALM=\"r\",Service=\"s\",ScOpE=\"x\",ERROR=invalid_token", BEARER, "r", "s", "x", "invalid_token" },
  /* White space around '=' and ',', empty list elements. */
  { "Bearer realm = \"r\" , service= \"s\" ,scope =\"x\"", BEARER, "r", "s", "x", NULL },
  { "Bearer\trealm=\"r\",\tservice=\"s\"", BEARER, "r", "s", NULL, NULL },
  { "  Bearer realm=\"r\"  ", BEARER, "r", NULL, NULL, NULL },
  { ", Bearer realm=\"r\",, ,service=\"s\",", BEARER, "r", "s", NULL, NULL },
  { "Bearer , realm=\"r\"", BEARER, "r", NULL, NULL, NULL },
  /* Unknown parameters, repeated or not, are ignored. */
  { "Bearer realm=\"r\",foo=\"bar\",charset=UTF-8", BEARER, "r", NULL, NULL, NULL },
  { "Bearer realm=\"r\",foo=1,foo=\"\\\"2\\\"\"", BEARER, "r", NULL, NULL, NULL },
  { "Basic realm=\"x\", charset=\"UTF-8\"", BASIC, "x", NULL, NULL, NULL },
  /* Several challenges: the first Bearer, else the first Basic. */
  { "Basic realm=\"b\", Bearer realm=\"r\",service=\"s\"", BEARER, "r", "s", NULL, NULL },
  { "Bearer realm=\"one\", Bearer realm=\"two\"", BEARER, "one", NULL, NULL, NULL },
  { "Basic realm=\"one\", Basic realm=\"two\"", BASIC, "one", NULL, NULL, NULL },
  { "Negotiate abc==, Bearer realm=\"r\"", BEARER, "r", NULL, NULL, NULL },
  { "Negotiate  YII= , Basic realm=x", BASIC, "x", NULL, NULL, NULL },
  { "Negotiate a+/b~c, Basic realm=x", BASIC, "x", NULL, NULL, NULL },
  { "Digest realm=\"d\", nonce=\"n\", qop=\"auth\", Basic realm=\"b\"", BASIC, "b", NULL, NULL, NULL },
  { "Negotiate, NTLM, Basic realm=\"b\"", BASIC, "b", NULL, NULL, NULL },
  /* Parameters of a scheme hoist ignores stay with it, repeats too. */
  { "Digest realm=a, realm=b, Basic realm=c", BASIC, "c", NULL, NULL, NULL },
  { "Foo realm=\"x\", Basic", BASIC, NULL, NULL, NULL, NULL },
  { "Basic realm=\"b\", Foo, scope=\"s\"", BASIC, "b", NULL, NULL, NULL },
  /* Basic needs no realm. */
  { "Basic", BASIC, NULL, NULL, NULL, NULL },
  /* A Bearer challenge's parameters after a Basic one. */
  { "Basic realm=\"b\", Bearer realm=\"r\", Basic realm=\"c\", Bearer realm=\"z\"", BEARER, "r", NULL, NULL, NULL },
};

struct bad_case
{
  const char *header;
  const char *msg;
};

#define BAD "bad WWW-Authenticate header "

static const struct bad_case bad_cases[] = {
  { "", BAD "'': no Basic or Bearer challenge" },
  { "   ", BAD "'   ': no Basic or Bearer challenge" },
  { ",,", BAD "',,': no Basic or Bearer challenge" },
  { "Negotiate abc", BAD "'Negotiate abc': no Basic or Bearer challenge" },
  { "Digest realm=\"x\"", BAD "'Digest realm=\"x\"': no Basic or Bearer challenge" },
  { "Bearer", BAD "'Bearer': Bearer challenge without a realm" },
  { "Bearer service=\"s\"", BAD "'Bearer service=\"s\"': Bearer challenge without a realm" },
  { "Bearer realm=\"\"", BAD "'Bearer realm=\"\"': Bearer challenge without a realm" },
  { "Basic realm=\"a\", Bearer service=\"x\"",
    BAD "'Basic realm=\"a\", Bearer service=\"x\"': Bearer challenge without a realm" },
  { "Bearer service=x, Bearer realm=y", BAD "'Bearer service=x, Bearer realm=y': Bearer challenge without a realm" },
  { "Bearer realm=\"unterminated",
    BAD "'Bearer realm=\"unterminated': parameter 'realm' at offset 7 has an unterminated quoted string" },
  { "Bearer realm=\"abc\\",
    BAD "'Bearer realm=\"abc\\': parameter 'realm' at offset 7 has an unterminated quoted string" },
  { "Bearer realm=\"a\\\"",
    BAD "'Bearer realm=\"a\\\"': parameter 'realm' at offset 7 has an unterminated quoted string" },
  { "Bearer realm", BAD "'Bearer realm': parameter 'realm' at offset 7 is missing '='" },
  { "Bearer realm \"x\"", BAD "'Bearer realm \"x\"': parameter 'realm' at offset 7 is missing '='" },
  { "Bearer realm, service=\"s\"", BAD "'Bearer realm, service=\"s\"': parameter 'realm' at offset 7 is missing '='" },
  { "Bearer a b", BAD "'Bearer a b': parameter 'a' at offset 7 is missing '='" },
  { "Basic abc==", BAD "'Basic abc==': parameter 'abc' at offset 6 has no value" },
  { "Bearer realm=", BAD "'Bearer realm=': parameter 'realm' at offset 7 has no value" },
  { "Bearer realm=,service=x", BAD "'Bearer realm=,service=x': parameter 'realm' at offset 7 has no value" },
  { "Bearer realm=\"a\",realm=\"b\"",
    BAD "'Bearer realm=\"a\",realm=\"b\"': parameter 'realm' at offset 17 is repeated" },
  { "Bearer REALM=\"a\", realm=\"b\"",
    BAD "'Bearer REALM=\"a\", realm=\"b\"': parameter 'realm' at offset 18 is repeated" },
  { "Basic realm=a, service=b, Service=c",
    BAD "'Basic realm=a, service=b, Service=c': parameter 'Service' at offset 26 is repeated" },
  { "Bearer realm=r,scope=a,scope=b",
    BAD "'Bearer realm=r,scope=a,scope=b': parameter 'scope' at offset 23 is repeated" },
  { "realm=\"x\"", BAD "'realm=\"x\"': parameter 'realm' at offset 0 comes before any auth scheme" },
  { "Bearer realm=\"a\" service=\"b\"",
    BAD "'Bearer realm=\"a\" service=\"b\"': expected ',' or the end, found 's' at offset 17" },
  { "Bearer realm=\"a\"x", BAD "'Bearer realm=\"a\"x': expected ',' or the end, found 'x' at offset 16" },
  { "Bearer realm=a\"b\"", BAD "'Bearer realm=a\"b\"': expected ',' or the end, found '\"' at offset 14" },
  { "Bearer\"x\"", BAD "'Bearer\"x\"': expected white space or ',' after the auth scheme, found '\"' at offset 6" },
  { "Bearer\x01", BAD "'Bearer\\x01': expected white space or ',' after the auth scheme, found '\\x01' at offset 6" },
  { "=Bearer", BAD "'=Bearer': expected an auth scheme or a parameter, found '=' at offset 0" },
  { "Bearer realm=\"r\", @",
    BAD "'Bearer realm=\"r\", @': expected an auth scheme or a parameter, found '@' at offset 18" },
  { "Bearer realm=\"a\",,=x",
    BAD "'Bearer realm=\"a\",,=x': expected an auth scheme or a parameter, found '=' at offset 18" },
  { "Bearer @", BAD "'Bearer @': expected a parameter name, found '@' at offset 7" },
  { "Bearer realm=\"a\x01z\"",
    BAD "'Bearer realm=\"a\\x01z\"': parameter 'realm' at offset 7 has a control character in its quoted value" },
  { "Bearer realm=\"a\nb\"",
    BAD "'Bearer realm=\"a\\x0ab\"': parameter 'realm' at offset 7 has a control character in its quoted value" },
  { "Bearer realm=\"a\\\x7f\"",
    BAD "'Bearer realm=\"a\\\\x7f\"': parameter 'realm' at offset 7 has a control character in its quoted value" },
  { "Basic realm=\"x\"\r\n", BAD "'Basic realm=\"x\"\\x0d\\x0a': expected ',' or the end, found '\\x0d' at offset 15" },
  { "Bearer realm=r\x80", BAD "'Bearer realm=r\x80': expected ',' or the end, found '\x80' at offset 14" },
};

static void
test_ok_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < sizeof (ok_cases) / sizeof (ok_cases[0]); i++)
    {
      const struct ok_case *c = &ok_cases[i];
      const char *want[4] = { c->realm, c->service, c->scope, c->error };
      struct registry_challenge ch;
      struct hoist_error *err = NULL;
      const char *got[4];
      bool same;

      if (registry_challenge_parse (c->header, &ch, &err) < 0)
        {
          print_error ("case %zu: '%s': unexpected error: %s\n", i, c->header, err->msg);
          hoist_error_free (err);
          failures++;
          continue;
        }
      got[0] = ch.realm, got[1] = ch.service, got[2] = ch.scope, got[3] = ch.error;
      same = ch.scheme == c->scheme;
      for (int k = 0; k < 4; k++)
        if ((want[k] == NULL) != (got[k] == NULL) || (want[k] != NULL && strcmp (want[k], got[k]) != 0))
          {
            print_error ("case %zu: '%s': field %d: expected '%s', got '%s'\n", i, c->header, k,
                         want[k] != NULL ? want[k] : "(null)", got[k] != NULL ? got[k] : "(null)");
            same = false;
          }
      if (!same)
        failures++;
      registry_challenge_release (&ch);
    }
  assert_int_equal (failures, 0);
}

static void
test_bad_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < sizeof (bad_cases) / sizeof (bad_cases[0]); i++)
    {
      const struct bad_case *c = &bad_cases[i];
      struct registry_challenge ch;
      struct hoist_error *err = NULL;
      int ret = registry_challenge_parse (c->header, &ch, &err);

      if (ret != -EINVAL || err == NULL || err->status != EINVAL || strcmp (err->msg, c->msg) != 0)
        {
          print_error ("case %zu: '%s':\n  expected \"%s\"\n  got      \"%s\"\n", i, c->header, c->msg,
                       err != NULL ? err->msg : "success");
          failures++;
        }
      if (ch.scheme != REGISTRY_AUTH_NONE || ch.realm != NULL || ch.service != NULL || ch.scope != NULL
          || ch.error != NULL)
        {
          print_error ("case %zu: output not empty after an error\n", i);
          failures++;
        }
      registry_challenge_release (&ch);
      hoist_error_free (err);
    }
  assert_int_equal (failures, 0);
}

static void
test_null_header (void **state)
{
  struct registry_challenge ch;
  cleanup_error struct hoist_error *err = NULL;

  (void) state;
  assert_int_equal (registry_challenge_parse (NULL, &ch, &err), -EINVAL);
  assert_string_equal (err->msg, "no WWW-Authenticate header");
  assert_int_equal (ch.scheme, REGISTRY_AUTH_NONE);
  registry_challenge_release (NULL);
}

/* PREFIX, TIMES copies of UNIT, SUFFIX. */
static char *
repeat (const char *prefix, const char *unit, size_t times, const char *suffix)
{
  size_t p = strlen (prefix), u = strlen (unit), s = strlen (suffix);
  char *out = hoist_xmalloc (p + u * times + s + 1);

  memcpy (out, prefix, p);
  for (size_t i = 0; i < times; i++)
    memcpy (out + p + i * u, unit, u);
  memcpy (out + p + u * times, suffix, s + 1);
  return out;
}

static void
test_value_limit (void **state)
{
  cleanup_free char *at_limit = repeat ("Bearer realm=\"", "a", REGISTRY_CHALLENGE_VALUE_MAX, "\"");
  cleanup_free char *over = repeat ("Bearer realm=\"", "a", REGISTRY_CHALLENGE_VALUE_MAX + 1, "\"");
  cleanup_free char *token_over = repeat ("Bearer realm=r, foo=", "b", REGISTRY_CHALLENGE_VALUE_MAX + 1, "");
  /* The limit counts bytes after unquoting: 4096 escaped bytes fit. */
  cleanup_free char *escaped = repeat ("Basic realm=\"", "\\x", REGISTRY_CHALLENGE_VALUE_MAX, "\"");
  struct registry_challenge ch;
  cleanup_error struct hoist_error *err = NULL;

  (void) state;
  assert_int_equal (registry_challenge_parse (at_limit, &ch, &err), 0);
  assert_int_equal (strlen (ch.realm), REGISTRY_CHALLENGE_VALUE_MAX);
  registry_challenge_release (&ch);
  assert_int_equal (registry_challenge_parse (escaped, &ch, &err), 0);
  assert_int_equal (strlen (ch.realm), REGISTRY_CHALLENGE_VALUE_MAX);
  assert_int_equal (strspn (ch.realm, "x"), REGISTRY_CHALLENGE_VALUE_MAX);
  registry_challenge_release (&ch);

  assert_int_equal (registry_challenge_parse (over, &ch, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "': parameter 'realm' at offset 7 has a value over 4096 bytes"));
  assert_null (ch.realm);
  assert_int_equal (registry_challenge_parse (token_over, &ch, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "': parameter 'foo' at offset 16 has a value over 4096 bytes"));
}

/* A long hostile header is quoted in part, control bytes escaped. */
static void
test_message_is_bounded (void **state)
{
  cleanup_free char *header = repeat ("Bearer realm=\"", "\x1b", 10000, "");
  struct registry_challenge ch;
  cleanup_error struct hoist_error *err = NULL;

  (void) state;
  assert_int_equal (registry_challenge_parse (header, &ch, &err), -EINVAL);
  assert_true (strlen (err->msg) < 512);
  assert_null (strchr (err->msg, '\x1b'));
  assert_non_null (strstr (err->msg, "\\x1b\\x1b...': parameter 'realm' at offset 7 has a control character"));
}

static double
seconds_since (const struct timespec *t0)
{
  struct timespec t1;

  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Headers of a few MiB, each shaped to be slow for a reader that goes
 * back over what it read. */
static void
test_linear_time (void **state)
{
  enum
  {
    N = 1 << 19
  };
  char *ok[] = {
    repeat ("Bearer realm=r", ",", 8 * N, ""),
    repeat ("Bearer realm=r", ",x=\"\\\"\"", N, ""),
    repeat ("Bearer realm=r", ", B a=b", N, ""),
    repeat ("Basic realm=x, Negotiate ", "a", 8 * N, "=="),
    repeat ("Basic realm=x, Negotiate a", ", N b", N, ""),
  };
  char *bad[] = {
    repeat ("Basic realm=x, Negotiate ", "a", 8 * N, " b"),
    repeat ("Basic realm=x, Negotiate ", " ", 8 * N, "="),
    repeat ("Bearer realm=\"", "a", 8 * N, ""),
    repeat ("Bearer realm=\"", "\\\"", 2 * N, "\""),
  };
  struct timespec t0;

  (void) state;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < sizeof (ok) / sizeof (ok[0]) + sizeof (bad) / sizeof (bad[0]); i++)
    {
      bool good = i < sizeof (ok) / sizeof (ok[0]);
      char *header = good ? ok[i] : bad[i - sizeof (ok) / sizeof (ok[0])];
      struct registry_challenge ch;
      cleanup_error struct hoist_error *err = NULL;

      if ((registry_challenge_parse (header, &ch, &err) == 0) != good)
        fail_msg ("header %zu: %s", i, err != NULL ? err->msg : "accepted");
      registry_challenge_release (&ch);
      free (header);
    }
  assert_true (seconds_since (&t0) < 10.0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ok_table),           cmocka_unit_test (test_bad_table),
    cmocka_unit_test (test_null_header),        cmocka_unit_test (test_value_limit),
    cmocka_unit_test (test_message_is_bounded), cmocka_unit_test (test_linear_time),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
