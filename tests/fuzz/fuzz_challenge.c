/* fuzz_challenge.c — fuzz target for the WWW-Authenticate reader.
 *
 * Input: one header value (up to the first NUL byte).  Besides "no
 * crash, no leak, no undefined behaviour", it checks what
 * registry_challenge_parse promises: a failure leaves the output empty
 * and sets a bounded, printable EINVAL message; a success is Basic or
 * Bearer (Bearer with a realm), with values in bounds and free of control
 * bytes; the challenge written back out reads the same; and another
 * challenge before (of a scheme hoist ignores) or after (Basic) changes
 * nothing. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (64 * 1024)
/* The quoted header prefix, the problem and its offset fit in this. */
#define FUZZ_MESSAGE_MAX 1024

static void
check_value (const char *v)
{
  if (v == NULL)
    return;
  if (strlen (v) > REGISTRY_CHALLENGE_VALUE_MAX)
    abort ();
  for (const unsigned char *p = (const unsigned char *) v; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7F)
      abort ();
}

static bool
same_value (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

static bool
same (const struct registry_challenge *a, const struct registry_challenge *b)
{
  return a->scheme == b->scheme && same_value (a->realm, b->realm) && same_value (a->service, b->service)
         && same_value (a->scope, b->scope) && same_value (a->error, b->error);
}

/* NAME="VALUE" with '"' and '\' escaped, after a ", " unless FIRST. */
static void
add_param (struct hoist_buf *b, bool *first, const char *name, const char *value)
{
  if (value == NULL)
    return;
  if (hoist_buf_addf (b, NULL, "%s%s=\"", *first ? " " : ", ", name) < 0)
    abort ();
  for (const char *p = value; *p != '\0'; p++)
    {
      if ((*p == '"' || *p == '\\') && hoist_buf_addch (b, '\\', NULL) < 0)
        abort ();
      if (hoist_buf_addch (b, *p, NULL) < 0)
        abort ();
    }
  if (hoist_buf_addch (b, '"', NULL) < 0)
    abort ();
  *first = false;
}

static char *
write_back (const struct registry_challenge *c)
{
  struct hoist_buf b;
  bool first = true;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  if (hoist_buf_addstr (&b, c->scheme == REGISTRY_AUTH_BEARER ? "Bearer" : "Basic", NULL) < 0)
    abort ();
  add_param (&b, &first, "realm", c->realm);
  add_param (&b, &first, "service", c->service);
  add_param (&b, &first, "scope", c->scope);
  add_param (&b, &first, "error", c->error);
  return hoist_buf_detach (&b, NULL);
}

/* HEADER must read as WANT. */
static void
check_reads_as (const char *header, const struct registry_challenge *want)
{
  struct registry_challenge c;
  cleanup_error struct hoist_error *err = NULL;

  if (registry_challenge_parse (header, &c, &err) < 0 || !same (&c, want))
    abort ();
  registry_challenge_release (&c);
}

static void
check_failure (int ret, const struct hoist_error *err, const struct registry_challenge *c)
{
  if (ret != -EINVAL || err == NULL || err->msg == NULL || err->status != EINVAL)
    abort ();
  if (strlen (err->msg) > FUZZ_MESSAGE_MAX)
    abort ();
  for (const unsigned char *p = (const unsigned char *) err->msg; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7F)
      abort ();
  if (c->scheme != REGISTRY_AUTH_NONE || c->realm != NULL || c->service != NULL || c->scope != NULL || c->error != NULL)
    abort ();
}

static void
check_success (const char *header, const struct registry_challenge *c)
{
  cleanup_free char *back = write_back (c);
  cleanup_free char *before = hoist_xasprintf ("Negotiate abc==, %s", header);
  cleanup_free char *after_basic = hoist_xasprintf ("%s, Basic realm=\"zz\"", header);
  cleanup_free char *after_bearer = hoist_xasprintf ("%s, Bearer realm=\"zz\"", header);

  if (c->scheme != REGISTRY_AUTH_BASIC && c->scheme != REGISTRY_AUTH_BEARER)
    abort ();
  if (c->scheme == REGISTRY_AUTH_BEARER && (c->realm == NULL || c->realm[0] == '\0'))
    abort ();
  check_value (c->realm);
  check_value (c->service);
  check_value (c->scope);
  check_value (c->error);
  check_reads_as (back, c);
  check_reads_as (before, c);
  check_reads_as (after_basic, c);
  if (c->scheme == REGISTRY_AUTH_BEARER)
    check_reads_as (after_bearer, c);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  cleanup_free char *header = NULL;
  cleanup_error struct hoist_error *err = NULL;
  struct registry_challenge c;
  int ret;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  header = hoist_xstrndup ((const char *) data, size);
  ret = registry_challenge_parse (header, &c, &err);
  if (ret < 0)
    check_failure (ret, err, &c);
  else if (ret != 0 || err != NULL)
    abort ();
  else
    check_success (header, &c);
  registry_challenge_release (&c);
  return 0;
}
