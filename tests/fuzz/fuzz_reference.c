/* fuzz_reference.c — fuzz target for image reference parsing.
 *
 * Input: one reference, up to the first NUL byte.  Besides "no crash, no
 * leak, no undefined behaviour", it checks what registry_ref_parse
 * promises: a failure sets an EINVAL error that quotes the input and
 * leaves the output empty; a success is normalised (a host, a lowercase
 * path within the length limit, a tag or a sha256 digest) and is a fixed
 * point: its printed form parses to the same reference and prints the
 * same again (the round trip), and its repository alone parses to the
 * same name with the tag "latest". */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Anything longer fails the length limits; a little slack past them
 * still reaches every check. */
#define FUZZ_INPUT_MAX 4096

static bool
str_eq (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

static bool
ref_equal (const struct registry_ref *a, const struct registry_ref *b)
{
  return str_eq (a->domain, b->domain) && str_eq (a->path, b->path) && str_eq (a->tag, b->tag)
         && str_eq (a->digest, b->digest);
}

static void
check_failure (const struct registry_ref *ref, const struct hoist_error *err, int ret)
{
  if (ret != -EINVAL || err == NULL || err->msg == NULL || err->status != EINVAL)
    abort ();
  if (strncmp (err->msg, "invalid reference '", strlen ("invalid reference '")) != 0)
    abort ();
  if (ref->domain != NULL || ref->path != NULL || ref->tag != NULL || ref->digest != NULL)
    abort ();
}

static void
check_shape (const struct registry_ref *ref)
{
  if (ref->domain == NULL || ref->path == NULL || ref->domain[0] == '\0' || ref->path[0] == '\0')
    abort ();
  if (ref->tag == NULL && ref->digest == NULL)
    abort (); /* "latest" is added when neither was given */
  if (strlen (ref->domain) + 1 + strlen (ref->path) > REGISTRY_NAME_MAX)
    abort ();
  if (ref->tag != NULL && (ref->tag[0] == '\0' || strlen (ref->tag) > REGISTRY_TAG_MAX))
    abort ();
  if (ref->digest != NULL && !hoist_digest_valid (ref->digest))
    abort ();
  if (strpbrk (ref->path, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:@") != NULL || strpbrk (ref->domain, "/@") != NULL)
    abort ();
  if (strcmp (ref->domain, "docker.io") == 0 && strchr (ref->path, '/') == NULL)
    abort (); /* one-component Hub names get "library/" */
  if (strcmp (ref->domain, "index.docker.io") == 0)
    abort ();
}

/* Printed, REF parses back to itself and prints the same. */
static void
check_round_trip (const struct registry_ref *ref)
{
  cleanup_free char *s = registry_ref_string (ref);
  cleanup_free char *s2 = NULL;
  cleanup_free char *repo = registry_ref_repository (ref);
  struct registry_ref again, bare;

  if (registry_ref_parse (s, &again, NULL) < 0)
    abort ();
  s2 = registry_ref_string (&again);
  if (!ref_equal (ref, &again) || strcmp (s, s2) != 0)
    abort ();
  registry_ref_release (&again);

  if (strncmp (s, repo, strlen (repo)) != 0)
    abort ();
  if (registry_ref_parse (repo, &bare, NULL) < 0)
    abort ();
  if (!str_eq (bare.domain, ref->domain) || !str_eq (bare.path, ref->path) || !str_eq (bare.tag, "latest")
      || bare.digest != NULL)
    abort ();
  registry_ref_release (&bare);
}

static void
check_hosts (const struct registry_ref *ref)
{
  const char *api = registry_ref_api_host (ref);

  if (api == NULL || (strcmp (ref->domain, "docker.io") != 0 && strcmp (api, ref->domain) != 0))
    abort ();
  (void) registry_ref_is_loopback (ref);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  cleanup_free char *s = NULL;
  cleanup_error struct hoist_error *err = NULL;
  struct registry_ref ref;
  int ret;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  s = hoist_xstrndup ((const char *) data, size);
  ret = registry_ref_parse (s, &ref, &err);
  if (ret < 0)
    {
      check_failure (&ref, err, ret);
      registry_ref_release (&ref);
      return 0;
    }
  if (ret != 0 || err != NULL)
    abort ();
  check_shape (&ref);
  check_round_trip (&ref);
  check_hosts (&ref);
  registry_ref_release (&ref);
  return 0;
}
