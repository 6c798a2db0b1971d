/* utf8.c — decoding UTF-8 exactly as Go does, because the inputs hoist
 * reads (Dockerfiles, .dockerignore) mean what Go code makes of them. */
#include "config.h"

#include "common.h"

/* Go's utf8.DecodeRune, but reporting an invalid sequence as 0 so that
 * each caller chooses its own stand-in (Go's U+FFFD, a distinct stray
 * byte, one more byte of text). */
size_t
hoist_utf8_decode (const char *s, size_t n, uint32_t *cp)
{
  const unsigned char *u = (const unsigned char *) s;
  unsigned char lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t c;

  if (n == 0)
    return 0;
  if (u[0] < 0x80)
    {
      *cp = u[0];
      return 1;
    }
  if (u[0] >= 0xC2 && u[0] <= 0xDF)
    len = 2;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF)
    len = 3;
  else if (u[0] >= 0xF0 && u[0] <= 0xF4)
    len = 4;
  else
    return 0;
  if (n < len)
    return 0;
  /* The second byte's range is what rules out overlong forms, surrogates
   * and values past U+10FFFF. */
  if (u[0] == 0xE0)
    lo = 0xA0;
  else if (u[0] == 0xED)
    hi = 0x9F;
  else if (u[0] == 0xF0)
    lo = 0x90;
  else if (u[0] == 0xF4)
    hi = 0x8F;
  c = u[0] & (0x7F >> len);
  for (size_t i = 1; i < len; i++)
    {
      /* Stop at the first bad byte: a NUL ends a C string there. */
      if (u[i] < lo || u[i] > hi)
        return 0;
      c = (c << 6) | (u[i] & 0x3F);
      lo = 0x80;
      hi = 0xBF;
    }
  *cp = c;
  return len;
}

bool
hoist_unicode_is_space (uint32_t r)
{
  return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A)
         || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000;
}
