/* error.c — hoist's one error type, with context wrapping. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int
negative_status (int status)
{
  if (status == 0)
    return -1;
  return status > 0 ? -status : status;
}

static void
error_replace (struct hoist_error **err, int status, char *msg)
{
  if (err == NULL)
    {
      free (msg);
      return;
    }
  if (*err == NULL)
    *err = hoist_xcalloc (1, sizeof (**err));
  else
    free ((*err)->msg);
  (*err)->status = status;
  (*err)->msg = msg;
}

int
hoist_error_set (struct hoist_error **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;
  int saved = errnum;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);

  if (errnum != 0)
    {
      char *full = hoist_xasprintf ("%s: %s", msg, strerror (errnum < 0 ? -errnum : errnum));
      free (msg);
      msg = full;
    }
  error_replace (err, saved < 0 ? -saved : saved, msg);
  return negative_status (saved);
}

int
hoist_error_set_status (struct hoist_error **err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  error_replace (err, status, msg);
  return status > 0 ? -status : -1;
}

int
hoist_error_wrap (struct hoist_error **err, const char *fmt, ...)
{
  va_list ap;
  char *ctx = NULL;
  char *msg;
  int status = 0;

  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    abort ();
  va_end (ap);

  if (err != NULL && *err != NULL)
    {
      status = (*err)->status;
      msg = hoist_xasprintf ("%s: %s", ctx, (*err)->msg);
      free (ctx);
    }
  else
    msg = ctx;
  error_replace (err, status, msg);
  return negative_status (status);
}

int
hoist_error_hint (struct hoist_error **err, const char *fmt, ...)
{
  va_list ap;
  char *hint = NULL;
  int status;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&hint, fmt, ap) < 0)
    abort ();
  va_end (ap);
  status = (*err)->status;
  error_replace (err, status, hoist_xasprintf ("%s (hint: %s)", (*err)->msg, hint));
  free (hint);
  return negative_status (status);
}

void
hoist_error_free (struct hoist_error *err)
{
  if (err == NULL)
    return;
  free (err->msg);
  free (err);
}

void
hoist_error_freep (struct hoist_error **err)
{
  hoist_error_free (*err);
}
