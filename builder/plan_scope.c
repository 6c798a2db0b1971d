/* plan_scope.c — the variables a Dockerfile instruction is substituted
 * with: a string map with O(1) lookups and updates.  A hostile Dockerfile
 * can hold hundreds of thousands of ENV and ARG names, so a list searched
 * on every set would make planning quadratic. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile_private.h"

/* FNV-1a */
static size_t
name_hash (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 0x100000001b3ull;
  return (size_t) h;
}

/* The slot holding NAME, or the empty slot where it would go. */
static size_t
find_slot (const struct plan_scope *s, const char *name)
{
  size_t mask = s->n_slots - 1;
  size_t i = name_hash (name) & mask;

  while (s->slots[i] != 0 && strcmp (s->names[s->slots[i] - 1], name) != 0)
    i = (i + 1) & mask;
  return i;
}

/* Keep the table at most half full so probes stay short. */
static void
rehash (struct plan_scope *s)
{
  size_t want = 16;

  while (want < (s->n + 1) * 2)
    want *= 2;
  if (want <= s->n_slots)
    return;
  free (s->slots);
  s->slots = hoist_xcalloc (want, sizeof (size_t));
  s->n_slots = want;
  for (size_t k = 0; k < s->n; k++)
    s->slots[find_slot (s, s->names[k])] = k + 1;
}

const char *
plan_scope_get (const struct plan_scope *s, const char *name)
{
  size_t i;

  if (s->n == 0)
    return NULL;
  i = find_slot (s, name);
  return s->slots[i] != 0 ? s->values[s->slots[i] - 1] : NULL;
}

void
plan_scope_set (struct plan_scope *s, const char *name, const char *value)
{
  size_t i;

  rehash (s);
  i = find_slot (s, name);
  if (s->slots[i] != 0)
    {
      free (s->values[s->slots[i] - 1]);
      s->values[s->slots[i] - 1] = hoist_xstrdup (value);
      return;
    }
  s->names = df_grow (s->names, s->n, sizeof (char *));
  s->values = df_grow (s->values, s->n, sizeof (char *));
  s->names[s->n] = hoist_xstrdup (name);
  s->values[s->n] = hoist_xstrdup (value);
  s->slots[i] = ++s->n;
}

void
plan_scope_copy (struct plan_scope *dst, const struct plan_scope *src)
{
  for (size_t k = 0; k < src->n; k++)
    plan_scope_set (dst, src->names[k], src->values[k]);
}

void
plan_scope_release (struct plan_scope *s)
{
  for (size_t k = 0; k < s->n; k++)
    {
      free (s->names[k]);
      free (s->values[k]);
    }
  free (s->names);
  free (s->values);
  free (s->slots);
  memset (s, 0, sizeof (*s));
}
