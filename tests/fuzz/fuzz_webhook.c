/* fuzz_webhook.c — fuzz target for the push webhook reader.
 *
 * Input: a webhook body.  Besides "no crash, no leak, no undefined
 * behaviour", it checks what runner_push_parse promises: a failure leaves
 * the event empty with a printable message; a success has a repository,
 * a full ref and two 40-hex commit ids, strings free of control bytes
 * (newlines only in the message), a sorted list of unique paths no longer
 * than the cap; the same body reads the same twice; and the signature
 * check of the body under a fixed secret accepts its own signature and
 * refuses it for the body with one byte more. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/webhook.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (256 * 1024)

static void
check_clean (const char *s, bool newlines)
{
  if (s == NULL)
    return;
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    if ((*p < 0x20 && !(newlines && (*p == '\n' || *p == '\r' || *p == '\t'))) || *p == 0x7f)
      abort ();
}

static void
check_hex40 (const char *s)
{
  if (s == NULL || strlen (s) != 40 || strspn (s, "0123456789abcdef") != 40)
    abort ();
}

static void
check_push (const struct runner_push *p)
{
  size_t n = hoist_strv_len (p->files);

  if (p->repo == NULL || p->ref == NULL || strncmp (p->ref, "refs/", 5) != 0)
    abort ();
  check_hex40 (p->before);
  check_hex40 (p->after);
  check_clean (p->repo, false);
  check_clean (p->ref, false);
  check_clean (p->clone_url, false);
  check_clean (p->message, true);
  if (n > RUNNER_WEBHOOK_MAX_FILES)
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      check_clean (p->files[i], false);
      if (p->files[i][0] == '\0' || (i > 0 && strcmp (p->files[i - 1], p->files[i]) >= 0))
        abort ();
    }
}

static bool
same (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

static void
check_signature (const uint8_t *data, size_t size)
{
  static const char secret[] = "fuzz-secret";
  char *sig = runner_webhook_sign (secret, sizeof secret - 1, data, size);
  uint8_t *more = malloc (size + 1);

  if (!runner_webhook_signature_ok (secret, sizeof secret - 1, data, size, sig))
    abort ();
  memcpy (more, data, size);
  more[size] = 'x';
  if (runner_webhook_signature_ok (secret, sizeof secret - 1, more, size + 1, sig))
    abort ();
  /* The body as a header: never accepted, never a crash. */
  if (size < 200)
    {
      char *h = strndup ((const char *) data, size);
      if (runner_webhook_signature_ok (secret, sizeof secret - 1, data, size, h) && strcmp (h, sig) != 0)
        abort ();
      free (h);
    }
  free (more);
  free (sig);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct hoist_error *err = NULL, *err2 = NULL;
  struct runner_push p, q;
  int r1, r2;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  check_signature (data, size);
  r1 = runner_push_parse ((const char *) data, size, &p, &err);
  r2 = runner_push_parse ((const char *) data, size, &q, &err2);
  if (r1 != r2)
    abort ();
  if (r1 < 0)
    {
      if (err == NULL || p.repo != NULL || p.files != NULL || strlen (err->msg) > 1024)
        abort ();
      check_clean (err->msg, false);
      hoist_error_free (err);
      hoist_error_free (err2);
      return 0;
    }
  check_push (&p);
  if (!same (p.repo, q.repo) || !same (p.ref, q.ref) || !same (p.message, q.message)
      || hoist_strv_len (p.files) != hoist_strv_len (q.files) || p.files_complete != q.files_complete)
    abort ();
  (void) runner_message_skips_ci (p.message);
  runner_push_release (&p);
  runner_push_release (&q);
  return 0;
}
