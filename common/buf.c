/* buf.c — the owned byte buffer.  Invariants in common.h: data is never
 * NULL after init, data[len] == '\0', len <= limit. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* Shared empty storage so an initialised buffer costs no allocation; it is
 * never written (every writer allocates first), so threads may share it. */
static char buf_empty[1];

void
hoist_buf_init (struct hoist_buf *b, size_t limit)
{
  b->data = buf_empty;
  b->len = 0;
  b->alloc = 0;
  b->limit = limit;
}

void
hoist_buf_release (struct hoist_buf *b)
{
  if (b->alloc != 0)
    free (b->data);
  hoist_buf_init (b, b->limit);
}

void
hoist_buf_freep (struct hoist_buf *b)
{
  hoist_buf_release (b);
}

void
hoist_buf_reset (struct hoist_buf *b)
{
  b->len = 0;
  if (b->alloc != 0)
    b->data[0] = '\0';
}

/* Make room for N more bytes plus the NUL; fails when over the limit. */
static int
buf_grow (struct hoist_buf *b, size_t n, struct hoist_error **err)
{
  size_t want;

  if (n > b->limit - b->len)
    return hoist_error_set (err, E2BIG, "data exceeds the limit of %zu bytes", b->limit);
  want = b->len + n + 1;
  if (want <= b->alloc)
    return 0;
  size_t alloc = b->alloc ? b->alloc : 64;
  while (alloc < want)
    alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
  if (b->alloc == 0)
    {
      b->data = hoist_xmalloc (alloc);
      b->data[0] = '\0';
    }
  else
    b->data = hoist_xrealloc (b->data, alloc);
  b->alloc = alloc;
  return 0;
}

int
hoist_buf_add (struct hoist_buf *b, const void *p, size_t n, struct hoist_error **err)
{
  if (n == 0)
    return 0;
  if (buf_grow (b, n, err) < 0)
    return -E2BIG;
  memcpy (b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int
hoist_buf_addstr (struct hoist_buf *b, const char *s, struct hoist_error **err)
{
  return hoist_buf_add (b, s, strlen (s), err);
}

int
hoist_buf_addch (struct hoist_buf *b, char c, struct hoist_error **err)
{
  return hoist_buf_add (b, &c, 1, err);
}

int
hoist_buf_vaddf (struct hoist_buf *b, struct hoist_error **err, const char *fmt, va_list ap)
{
  cleanup_free char *s = NULL;
  int n = vasprintf (&s, fmt, ap);

  if (n < 0)
    abort ();
  return hoist_buf_add (b, s, (size_t) n, err);
}

int
hoist_buf_addf (struct hoist_buf *b, struct hoist_error **err, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = hoist_buf_vaddf (b, err, fmt, ap);
  va_end (ap);
  return ret;
}

void
hoist_buf_rtrim (struct hoist_buf *b)
{
  while (b->len > 0 && strchr (" \t\r\n", b->data[b->len - 1]) != NULL)
    b->len--;
  if (b->alloc != 0)
    b->data[b->len] = '\0';
}

char *
hoist_buf_detach (struct hoist_buf *b, size_t *len)
{
  char *p = b->alloc != 0 ? b->data : hoist_xstrdup ("");
  if (len != NULL)
    *len = b->len;
  hoist_buf_init (b, b->limit);
  return p;
}

int
hoist_buf_read_fd (struct hoist_buf *b, int fd, struct hoist_error **err)
{
  char chunk[16384];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return hoist_error_set (err, errno, "read failed");
      if (n == 0)
        return 0;
      if (hoist_buf_add (b, chunk, (size_t) n, err) < 0)
        return -E2BIG;
    }
}

int
hoist_buf_read_file (struct hoist_buf *b, const char *path, struct hoist_error **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return hoist_error_set (err, errno, "cannot open '%s'", path);
  if (hoist_buf_read_fd (b, fd, err) < 0)
    return hoist_error_wrap (err, "cannot read '%s'", path);
  return 0;
}
