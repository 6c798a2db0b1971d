/* path.c — path helpers shared by builder's modules (see path_private.h). */
#define BUILDER_INTERNAL
#include "config.h"

#include <string.h>

#include "builder/path_private.h"

bool
builder_path_clean (const char *path)
{
  const char *p = path;

  if (*p == '\0')
    return false;
  for (;;)
    {
      size_t len = strcspn (p, "/");

      if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        return false;
      if (p[len] == '\0')
        return true;
      p += len + 1;
    }
}

bool
builder_path_has_wildcard (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\')
        i++;
      else if (s[i] == '*' || s[i] == '?' || s[i] == '[')
        return true;
    }
  return false;
}

size_t
builder_path_literal_prefix (const char *clean)
{
  const char *p = clean;

  while (*p != '\0')
    {
      size_t len = strcspn (p, "/");

      if (builder_path_has_wildcard (p, len))
        break;
      p += len;
      if (*p == '/')
        p++;
    }
  return (size_t) (p - clean);
}
