/* quote.c — outside input as an error message may show it. */
#include "config.h"

#include <string.h>

#include "common/common.h"

char *
hoist_quote (const char *s, size_t n, size_t max, unsigned flags)
{
  static const char hex[] = "0123456789abcdef";
  size_t shown = n < max ? n : max, w = 0;
  char *out = hoist_xmalloc (shown * 4 + 4);

  for (size_t i = 0; i < shown; i++)
    {
      unsigned char c = (unsigned char) s[i];

      if (c < 0x20 || c == 0x7F || (c > 0x7F && (flags & HOIST_QUOTE_ASCII)))
        {
          out[w++] = '\\';
          out[w++] = 'x';
          out[w++] = hex[c >> 4];
          out[w++] = hex[c & 0xF];
        }
      else
        out[w++] = (char) c;
    }
  if (shown < n)
    {
      memcpy (out + w, "...", 3);
      w += 3;
    }
  out[w] = '\0';
  return out;
}
