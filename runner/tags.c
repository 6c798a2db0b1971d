/* tags.c — the tag templates of an image: "{sha}", "{branch}-{short_sha}",
 * "v{major}.{minor}"... expanded for one push, each result a valid OCI
 * tag. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "runner/pipeline.h"

#define TAG_MAX 128

static const char *const known[] = { "sha", "short_sha", "branch", "tag", "version", "major", "minor", "patch" };

struct semver
{
  char major[24], minor[24], patch[24];
  bool ok;
};

/* "v1.2.3", "1.2.3-rc.1", "1.2.3+build": the numbers, when it is one. */
static struct semver
semver_parse (const char *tag)
{
  struct semver v = { .ok = false };
  const char *p = tag != NULL && (tag[0] == 'v' || tag[0] == 'V') ? tag + 1 : tag;
  char *fields[3] = { v.major, v.minor, v.patch };

  if (p == NULL)
    return v;
  for (int i = 0; i < 3; i++)
    {
      size_t n = strspn (p, "0123456789");

      if (n == 0 || n >= sizeof v.major || (n > 1 && p[0] == '0'))
        return v;
      memcpy (fields[i], p, n);
      fields[i][n] = '\0';
      p += n;
      if (i < 2 && *p++ != '.')
        return v;
    }
  v.ok = *p == '\0' || *p == '-' || *p == '+';
  return v;
}

static bool
tag_valid (const char *s)
{
  size_t n = strlen (s);

  if (n == 0 || n > TAG_MAX || !(isalnum ((unsigned char) s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

/* The value of variable NAME (LEN bytes) for VARS: a pointer into VARS
 * or SV, NULL when this push lacks it; *KNOWN false for an unknown name. */
static const char *
lookup (const char *name, size_t len, const struct runner_tag_vars *vars, const struct semver *sv, char *scratch,
        bool *is_known)
{
  *is_known = true;
#define IS(s) (len == strlen (s) && strncmp (name, s, len) == 0)
  if (IS ("sha"))
    return vars->sha;
  if (IS ("short_sha"))
    {
      if (vars->sha == NULL)
        return NULL;
      memcpy (scratch, vars->sha, 7);
      scratch[7] = '\0';
      return scratch;
    }
  if (IS ("branch"))
    {
      size_t n = vars->branch != NULL ? strlen (vars->branch) : 0;

      if (vars->branch == NULL || n >= TAG_MAX + 1)
        return vars->branch;
      for (size_t i = 0; i <= n; i++)
        scratch[i] = vars->branch[i] == '/' ? '-' : vars->branch[i];
      return scratch;
    }
  if (IS ("tag"))
    return vars->tag;
  if (IS ("version"))
    return vars->tag == NULL ? NULL : vars->tag[0] == 'v' || vars->tag[0] == 'V' ? vars->tag + 1 : vars->tag;
  if (IS ("major"))
    return sv->ok ? sv->major : NULL;
  if (IS ("minor"))
    return sv->ok ? sv->minor : NULL;
  if (IS ("patch"))
    return sv->ok ? sv->patch : NULL;
#undef IS
  *is_known = false;
  return NULL;
}

bool
runner_tag_template_valid (const char *t, const char **why)
{
  for (const char *p = t; *p != '\0'; p++)
    {
      const char *close;
      bool found = false;

      if (*p == '}')
        {
          *why = "'}' without '{'";
          return false;
        }
      if (*p != '{')
        continue;
      close = strchr (p, '}');
      if (close == NULL)
        {
          *why = "'{' without '}'";
          return false;
        }
      for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        found |= (size_t) (close - p - 1) == strlen (known[i]) && strncmp (p + 1, known[i], strlen (known[i])) == 0;
      if (!found)
        {
          *why = "unknown variable (known: {sha} {short_sha} {branch} {tag} {version} {major} {minor} {patch})";
          return false;
        }
      p = close;
    }
  if (*t == '\0')
    {
      *why = "an empty tag";
      return false;
    }
  return true;
}

int
runner_tag_expand (const char *t, const struct runner_tag_vars *vars, char **out, struct hoist_error **err)
{
  struct semver sv = semver_parse (vars->tag);
  cleanup_buf struct hoist_buf b;
  const char *why;

  *out = NULL;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  if (!runner_tag_template_valid (t, &why))
    return hoist_error_set (err, 0, "tag template '%s': %s", t, why);
  for (const char *p = t; *p != '\0'; p++)
    {
      char scratch[TAG_MAX + 2];
      const char *close = *p == '{' ? strchr (p, '}') : NULL, *v;
      bool is_known;

      if (close == NULL)
        {
          if (hoist_buf_addch (&b, *p, err) < 0)
            return -1;
          continue;
        }
      v = lookup (p + 1, (size_t) (close - p - 1), vars, &sv, scratch, &is_known);
      if (v == NULL)
        return 0; /* this push lacks the value: no such tag */
      if (hoist_buf_addstr (&b, v, err) < 0)
        return -1;
      p = close;
    }
  if (hoist_buf_addch (&b, '\0', err) < 0)
    return -1;
  if (!tag_valid (b.data))
    {
      cleanup_free char *shown = hoist_quote (b.data, strlen (b.data), 160, 0);
      return hoist_error_set (err, 0,
                              "tag template '%s' gives '%s', which is not a valid tag ([A-Za-z0-9_.-], 128 "
                              "at most, not starting with '.' or '-')",
                              t, shown);
    }
  *out = hoist_buf_detach (&b, NULL);
  return 1;
}
