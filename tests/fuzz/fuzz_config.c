/* fuzz_config.c — fuzz target for reading docker config files
 * (config.json, containers auth.json) and for the edits `hoist login`
 * and `hoist logout` make to them.
 *
 * Input: a config file's text.  For each of a few hosts it checks, besides
 * "no crash, no leak, no undefined behaviour", what registry_config_parse
 * promises: a failure leaves nothing behind and its message shows no
 * control byte, no text jansson stopped at and no secret of the file; a
 * success gives credentials that make sense (a user with a password or an
 * identity token) and a helper name that cannot leave docker-credential-;
 * the same text reads the same twice; credentials set for the host are
 * the ones read back, and after erasing the host nothing is. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (256 * 1024)

static const char *const hosts[] = { "ghcr.io", "docker.io", "127.0.0.1:5000", "localhost" };

#define FUZZ_USER "fuzz-user"
#define FUZZ_PASS "fuzz:pass word"

static bool
same_str (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

/* The fixed words of registry_config_parse's messages. */
static const char message_words[]
    = "'auths'.'credHelpers'.'credsStore'.'auth'.'username'.'password'.'identitytoken' must be an object "
      "must be a string is not valid base64 is not base64 of 'user:password' holds a NUL byte has a user but no "
      "password has a password but no user must name a credential helper not a JSON object not valid JSON";

/* No secret of CONFIG's "auths" shows in MSG, unless it is also part of a
 * key (keys are named in messages) or of the messages' fixed words. */
static void
check_no_secret (const json_t *config, const char *msg)
{
  static const char *const fields[] = { "auth", "password", "identitytoken" };
  const json_t *auths = json_object_get (config, "auths"), *entry, *other;
  const char *key, *key2;

  json_object_foreach ((json_t *) auths, key, entry)
    for (size_t i = 0; i < sizeof (fields) / sizeof (fields[0]); i++)
      {
        const char *s = json_string_value (json_object_get (entry, fields[i]));
        bool in_key = s != NULL && strstr (message_words, s) != NULL;

        if (s == NULL || strlen (s) < 8)
          continue;
        json_object_foreach ((json_t *) auths, key2, other)
          in_key = in_key || strstr (key2, s) != NULL;
        if (!in_key && strstr (msg, s) != NULL)
          abort ();
      }
}

static void
check_failure (const char *text, size_t len, const struct hoist_error *err, const struct registry_creds *c,
               const char *helper)
{
  json_auto_t *config = NULL;

  if (err == NULL || err->msg == NULL || c->username != NULL || c->password != NULL || c->identity_token != NULL
      || helper != NULL)
    abort ();
  for (const unsigned char *p = (const unsigned char *) err->msg; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7F)
      abort ();
  if (strstr (err->msg, " near '") != NULL)
    abort ();
  if (registry_config_load (text, len, &config, NULL) == 0)
    check_no_secret (config, err->msg);
}

static void
check_creds (const struct registry_creds *c, const char *helper)
{
  static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

  if (c->source != NULL)
    abort ();
  if (c->username != NULL && c->password == NULL && c->identity_token == NULL)
    abort ();
  if (c->username == NULL && (c->password != NULL || c->identity_token != NULL))
    abort ();
  if ((c->password != NULL && c->password[0] == '\0') || (c->identity_token != NULL && c->identity_token[0] == '\0'))
    abort ();
  if (helper != NULL && (helper[0] == '\0' || helper[0] == '.' || helper[strspn (helper, ok)] != '\0'))
    abort ();
}

/* TEXT must read for HOST as USER with PASSWORD (NULL: nothing). */
static void
check_reads_as (const char *text, const char *host, const char *user, const char *password)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *helper = NULL;
  struct registry_creds c;

  if (registry_config_parse (text, strlen (text), host, &c, &helper, &err) < 0)
    abort ();
  if (!same_str (c.username, user) || !same_str (c.password, password) || (user != NULL && c.identity_token != NULL))
    abort ();
  registry_creds_release (&c);
}

/* Set, read back, erase, read back. */
static void
check_edits (const char *text, size_t len, const char *host)
{
  json_auto_t *config = NULL;
  cleanup_free char *set = NULL;
  cleanup_free char *erased = NULL;

  if (registry_config_load (text, len, &config, NULL) < 0)
    abort ();
  if (registry_config_set_auth (config, host, FUZZ_USER, FUZZ_PASS, NULL) < 0)
    abort ();
  set = registry_config_dump (config);
  check_reads_as (set, host, FUZZ_USER, FUZZ_PASS);
  if (registry_config_erase_auth (config, host) == 0)
    abort ();
  erased = registry_config_dump (config);
  check_reads_as (erased, host, NULL, NULL);
}

static void
check_host (const char *text, size_t len, const char *host)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *helper = NULL;
  cleanup_free char *helper2 = NULL;
  struct registry_creds c, again;

  if (registry_config_parse (text, len, host, &c, &helper, &err) < 0)
    {
      check_failure (text, len, err, &c, helper);
      return;
    }
  check_creds (&c, helper);
  if (registry_config_parse (text, len, host, &again, &helper2, NULL) < 0 || !same_str (c.username, again.username)
      || !same_str (c.password, again.password) || !same_str (c.identity_token, again.identity_token)
      || !same_str (helper, helper2))
    abort ();
  registry_creds_release (&c);
  registry_creds_release (&again);
  check_edits (text, len, host);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > FUZZ_INPUT_MAX)
    return 0;
  for (size_t i = 0; i < sizeof (hosts) / sizeof (hosts[0]); i++)
    check_host ((const char *) data, size, hosts[i]);
  return 0;
}
