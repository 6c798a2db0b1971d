/* sbom_dpkg.c — Debian packages: the dpkg database (var/lib/dpkg/status,
 * or distroless's one-file-per-package var/lib/dpkg/status.d/), and the
 * licences of machine-readable usr/share/doc/NAME/copyright files. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

/* Distinct License names kept from one copyright file. */
#define COPYRIGHT_NAMES_MAX 32

/* ---- Status ------------------------------------------------------------------ */

struct stanza
{
  char *package, *version, *arch, *source;
  bool has_status, installed;
};

static void
stanza_release (struct stanza *st)
{
  free (st->package);
  free (st->version);
  free (st->arch);
  free (st->source);
  memset (st, 0, sizeof *st);
}

static void
set (char **field, const struct sbom_kv *kv, size_t max)
{
  free (*field);
  *field = sbom_field (kv->value, kv->value_len, max);
}

/* "want eflag status": installed when the third word is "installed",
 * whatever was wanted ("install", "hold") -- as dpkg-query -W shows it. */
static bool
status_installed (const char *s, size_t n)
{
  const char *third = NULL;
  size_t words = 0, third_len = 0;

  for (size_t i = 0; i < n;)
    {
      size_t start;

      while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
      if (i == n)
        break;
      start = i;
      while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
      if (++words == 3)
        {
          third = s + start;
          third_len = i - start;
        }
    }
  return words == 3 && third_len == 9 && memcmp (third, "installed", 9) == 0;
}

/* The source package's name: "Source: glibc (2.36-9)" is glibc. */
static char *
source_name (const struct sbom_kv *kv)
{
  const char *v = kv->value;
  size_t n = kv->value_len;

  while (n > 0 && (*v == ' ' || *v == '\t'))
    {
      v++;
      n--;
    }
  for (size_t i = 0; i < n; i++)
    if (v[i] == ' ' || v[i] == '(')
      {
        n = i;
        break;
      }
  return sbom_field (v, n, SBOM_NAME_MAX);
}

static void
stanza_field (struct stanza *st, const struct sbom_kv *kv)
{
  if (sbom_kv_is (kv, "Package"))
    set (&st->package, kv, SBOM_NAME_MAX);
  else if (sbom_kv_is (kv, "Version"))
    set (&st->version, kv, SBOM_VERSION_MAX);
  else if (sbom_kv_is (kv, "Architecture"))
    set (&st->arch, kv, SBOM_NAME_MAX);
  else if (sbom_kv_is (kv, "Source"))
    {
      free (st->source);
      st->source = source_name (kv);
    }
  else if (sbom_kv_is (kv, "Status"))
    {
      st->has_status = true;
      st->installed = status_installed (kv->value, kv->value_len);
    }
}

/* A stanza without Status is a distroless status.d entry: installed. */
static void
stanza_end (struct stanza *st, struct sbom_pkgs *out)
{
  if (st->package != NULL && (!st->has_status || st->installed))
    {
      if (st->source != NULL && strcmp (st->source, st->package) == 0)
        {
          free (st->source);
          st->source = NULL;
        }
      (void) sbom_pkgs_add (out, SBOM_DEB, steal_pointer (&st->package), steal_pointer (&st->version),
                            steal_pointer (&st->arch), NULL, steal_pointer (&st->source));
    }
  stanza_release (st);
}

void
sbom_parse_dpkg (const char *data, size_t n, struct sbom_pkgs *out)
{
  const char *p = data, *end = data + n;
  struct stanza st = { 0 };
  struct sbom_kv kv;
  enum sbom_kv_next r;

  while ((r = sbom_kv_next (&p, end, &kv)) != SBOM_KV_END)
    if (r == SBOM_KV_BREAK)
      stanza_end (&st, out);
    else
      stanza_field (&st, &kv);
  stanza_end (&st, out);
}

/* ---- copyright --------------------------------------------------------------- */

/* The first stanza has "Format: .../copyright-format/1.0/" (or the DEP-5
 * draft's address). */
static bool
is_dep5 (const char *data, size_t n)
{
  const char *p = data, *end = data + n;
  struct sbom_kv kv;
  enum sbom_kv_next r;

  while ((r = sbom_kv_next (&p, end, &kv)) == SBOM_KV_FIELD)
    if (sbom_kv_is (&kv, "Format"))
      {
        cleanup_free char *v = sbom_field (kv.value, kv.value_len, 256);

        return v != NULL && (strstr (v, "copyright-format") != NULL || strstr (v, "dep5") != NULL);
      }
  return false;
}

static bool
has_space (const char *s)
{
  return strpbrk (s, " \t") != NULL;
}

char *
sbom_parse_dpkg_copyright (const char *data, size_t n)
{
  const char *p = data, *end = data + n;
  cleanup_strv char **names = NULL;
  struct hoist_buf b;
  struct sbom_kv kv;
  enum sbom_kv_next r;
  size_t count = 0;

  if (!is_dep5 (data, n))
    return NULL;
  while ((r = sbom_kv_next (&p, end, &kv)) != SBOM_KV_END && count < COPYRIGHT_NAMES_MAX)
    {
      char *name;
      bool seen = false;

      if (r != SBOM_KV_FIELD || !sbom_kv_is (&kv, "License"))
        continue;
      name = sbom_field (kv.value, kv.value_len, 128);
      if (name == NULL)
        continue;
      for (size_t i = 0; i < count && !seen; i++)
        seen = strcmp (names[i], name) == 0;
      if (seen)
        free (name);
      else
        {
          hoist_strv_push_take (&names, name);
          count++;
        }
    }
  if (count == 0)
    return NULL;
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; i < count; i++)
    {
      bool group = count > 1 && has_space (names[i]);

      if (i > 0)
        build_buf_addstr (&b, " AND ");
      build_buf_addstr (&b, group ? "(" : "");
      build_buf_addstr (&b, names[i]);
      build_buf_addstr (&b, group ? ")" : "");
    }
  if (b.len > SBOM_LICENSE_MAX)
    {
      hoist_buf_release (&b);
      return NULL;
    }
  return hoist_buf_detach (&b, NULL);
}
