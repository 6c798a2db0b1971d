/* alloc.c — allocation that aborts on exhaustion, cleanup helpers, string
 * vectors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static void __attribute__ ((noreturn))
out_of_memory (size_t n)
{
  /* Async-signal-safe enough and allocation-free: we are out of memory. */
  static const char msg[] = "hoist: fatal: out of memory\n";
  (void) n;
  if (write (STDERR_FILENO, msg, sizeof (msg) - 1) < 0)
    {
      /* nothing more can be done */
    }
  abort ();
}

void *
hoist_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    out_of_memory (n);
  return p;
}

void *
hoist_xcalloc (size_t nmemb, size_t size)
{
  void *p = calloc (nmemb ? nmemb : 1, size ? size : 1);
  if (p == NULL)
    out_of_memory (nmemb * size);
  return p;
}

void *
hoist_xrealloc (void *p, size_t n)
{
  void *q = realloc (p, n ? n : 1);
  if (q == NULL)
    out_of_memory (n);
  return q;
}

void *
hoist_xreallocarray (void *p, size_t nmemb, size_t size)
{
  if (size != 0 && nmemb > SIZE_MAX / size)
    out_of_memory (SIZE_MAX);
  return hoist_xrealloc (p, nmemb * size);
}

char *
hoist_xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    out_of_memory (strlen (s));
  return p;
}

char *
hoist_xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);
  if (p == NULL)
    out_of_memory (n);
  return p;
}

char *
hoist_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p = NULL;

  va_start (ap, fmt);
  if (vasprintf (&p, fmt, ap) < 0)
    out_of_memory (0);
  va_end (ap);
  return p;
}

void
hoist_freep (void *p)
{
  free (*(void **) p);
}

void
hoist_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

void
hoist_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
}

size_t
hoist_strv_len (char *const *v)
{
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

void
hoist_strv_push_take (char ***v, char *s)
{
  size_t n = hoist_strv_len (*v);
  *v = hoist_xreallocarray (*v, n + 2, sizeof (char *));
  (*v)[n] = s;
  (*v)[n + 1] = NULL;
}

void
hoist_strv_push (char ***v, const char *s)
{
  hoist_strv_push_take (v, hoist_xstrdup (s));
}

void
hoist_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

void
hoist_strv_freep (char ***v)
{
  hoist_strv_free (*v);
}
