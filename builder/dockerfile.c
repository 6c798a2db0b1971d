/* dockerfile.c — reading a Dockerfile into instructions: parser
 * directives, comments, line continuations and heredoc bodies, as
 * BuildKit's frontend/dockerfile/parser/parser.go reads them, quirk for
 * quirk, because a Dockerfile that builds with `docker build` must mean the
 * same thing here.  Splitting one logical line into keyword, flags and
 * arguments is in dockerfile_line.c; the checks of each instruction in
 * dockerfile_insn.c. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile_private.h"

/* ---------------------------------------------------------------------
 * Freeing
 * ------------------------------------------------------------------- */

void
df_kvs_free (struct df_kv *kvs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kvs[i].key);
      free (kvs[i].value);
    }
  free (kvs);
}

void
df_flags_free (struct builder_flag *flags, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (flags[i].name);
      free (flags[i].value);
    }
  free (flags);
}

void
df_heredocs_free (struct builder_heredoc *h, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (h[i].name);
      free (h[i].body);
    }
  free (h);
}

void
df_insn_release (struct df_insn *in)
{
  free (in->command);
  free (in->original);
  hoist_strv_free (in->flag_words);
  hoist_strv_free (in->words);
  df_kvs_free (in->kvs, in->n_kvs);
  if (in->child != NULL)
    {
      df_insn_release (in->child);
      free (in->child);
    }
  df_heredocs_free (in->heredocs, in->n_heredocs);
  df_flags_free (in->flags, in->n_flags);
  free (in->stage_name);
  free (in->onbuild);
  memset (in, 0, sizeof (*in));
}

void
builder_dockerfile_free (struct builder_dockerfile *df)
{
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->n_insns; i++)
    df_insn_release (&df->insns[i]);
  free (df->insns);
  free (df->stage_from);
  free (df->name);
  free (df->syntax);
  free (df->check);
  free (df);
}

/* canContainHeredoc: RUN, COPY and ADD in shell form, also as the trigger
 * of an ONBUILD. */
static bool
may_have_heredocs (const struct df_insn *in)
{
  enum builder_keyword kw;

  if (df_keyword_lookup (in->command, &kw) && kw == BUILDER_KW_ONBUILD && in->child != NULL)
    in = in->child;
  if (!df_keyword_lookup (in->command, &kw))
    return false;
  if (kw != BUILDER_KW_RUN && kw != BUILDER_KW_COPY && kw != BUILDER_KW_ADD)
    return false;
  return !in->json;
}

/* ---------------------------------------------------------------------
 * The scanner: physical lines, directives, logical lines
 * ------------------------------------------------------------------- */

struct df_parser
{
  struct builder_dockerfile *df;
  const char *p; /* rest of the text */
  size_t left;
  int line;      /* physical lines consumed */
  bool directives_done;
  bool seen_syntax, seen_escape, seen_check;
};

/* Next physical line with its line ending; false at the end. */
static bool
next_line (struct df_parser *ps, const char **line, size_t *len)
{
  const char *nl;

  if (ps->left == 0)
    return false;
  nl = memchr (ps->p, '\n', ps->left);
  *line = ps->p;
  *len = nl != NULL ? (size_t) (nl - ps->p) + 1 : ps->left;
  ps->p += *len;
  ps->left -= *len;
  ps->line++;
  return true;
}

/* bytes.TrimRight(line, "\r\n") */
static size_t
trim_newline (const char *s, size_t n)
{
  while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  return n;
}

static bool
is_comment (const char *s, size_t n)
{
  df_trim_left (&s, &n);
  return n > 0 && s[0] == '#';
}

static bool
go_re_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Trim ASCII blanks (Go's TrimSpace on these values) from [*S, *E). */
static void
trim_ascii (const char **s, const char **e)
{
  while (*s < *e && strchr (" \t\r\n\v\f", **s) != NULL)
    (*s)++;
  while (*e > *s && strchr (" \t\r\n\v\f", (*e)[-1]) != NULL)
    (*e)--;
}

/* BuildKit refuses a build whose check directive it can not read: up to
 * three ';'-separated options, each skip=, experimental= or error=BOOL. */
static int
check_directive_value (const char *value, struct hoist_error **err)
{
  static const char *const bools[] = { "1", "t", "T", "TRUE", "true", "True",
                                       "0", "f", "F", "FALSE", "false", "False" };
  const char *p = value;

  for (int part = 0; part < 3 && p != NULL; part++)
    {
      const char *semi = part < 2 ? strchr (p, ';') : NULL;
      const char *end = semi != NULL ? semi : p + strlen (p);
      const char *eq = memchr (p, '=', (size_t) (end - p));
      const char *k = p, *ke = eq, *v = eq != NULL ? eq + 1 : NULL, *ve = end;
      bool ok = false;

      if (eq == NULL)
        return hoist_error_set (err, 0, "invalid check directive '%s': '%.*s' is not key=value", value,
                                (int) (end - p), p);
      trim_ascii (&k, &ke);
      trim_ascii (&v, &ve);
      if ((ke - k == 4 && memcmp (k, "skip", 4) == 0) || (ke - k == 12 && memcmp (k, "experimental", 12) == 0))
        ok = true;
      else if (ke - k == 5 && memcmp (k, "error", 5) == 0)
        for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
          ok = ok || (strlen (bools[i]) == (size_t) (ve - v) && memcmp (bools[i], v, (size_t) (ve - v)) == 0);
      if (!ok)
        return hoist_error_set (err, 0, "invalid check directive '%s': bad option '%.*s'", value, (int) (end - p),
                                p);
      p = semi != NULL ? semi + 1 : NULL;
    }
  return 0;
}

static int
set_directive (struct df_parser *ps, const char *key, const char *value, struct hoist_error **err)
{
  bool *seen = strcmp (key, "syntax") == 0 ? &ps->seen_syntax
               : strcmp (key, "escape") == 0 ? &ps->seen_escape
                                              : &ps->seen_check;
  if (*seen)
    return hoist_error_set (err, 0, "only one '%s' parser directive can be used", key);
  *seen = true;
  if (strcmp (key, "syntax") == 0)
    ps->df->syntax = hoist_xstrdup (value);
  else if (strcmp (key, "check") == 0)
    {
      if (check_directive_value (value, err) < 0)
        return -1;
      ps->df->check = hoist_xstrdup (value);
    }
  else if (strcmp (value, "\\") != 0 && strcmp (value, "`") != 0)
    return hoist_error_set (err, 0, "invalid escape token '%s' (it must be '\\' or '`')", value);
  else
    {
      ps->df->escape = value[0];
      ps->df->escape_set = true;
    }
  return 0;
}

/* BuildKit's DirectiveParser: `# name = value` lines at the very top; the
 * first line that is not one (an empty line, an instruction, another
 * comment, an unknown name) ends the directives for good. */
static int
directive_line (struct df_parser *ps, const char *s, size_t n, struct hoist_error **err)
{
  size_t k = 0, v, vend;
  cleanup_free char *key = NULL;
  cleanup_free char *value = NULL;

  if (ps->directives_done)
    return 0;
  ps->directives_done = true;
  if (n == 0 || s[0] != '#')
    return 0;
  s++, n--;
  df_trim_left (&s, &n);
  /* ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ */
  if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
    return 0;
  while (k < n && (((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z') || (s[k] >= '0' && s[k] <= '9')))
    k++;
  v = k;
  while (v < n && go_re_space (s[v]))
    v++;
  if (v == n || s[v] != '=')
    return 0;
  v++;
  while (v < n && go_re_space (s[v]))
    v++;
  vend = n;
  while (vend > v && go_re_space (s[vend - 1]))
    vend--;
  if (vend == v)
    return 0;
  key = hoist_xstrndup (s, k);
  for (char *c = key; *c; c++)
    *c = (char) ((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
  if (strcmp (key, "syntax") != 0 && strcmp (key, "escape") != 0 && strcmp (key, "check") != 0)
    return 0;
  value = hoist_xstrndup (s + v, vend - v);
  ps->directives_done = false;
  return set_directive (ps, key, value, err);
}

/* The line-continuation regexp: the escape character, then only blanks,
 * at the end of the line, not itself escaped.  Returns true (and the kept
 * length) when the line continues. */
static bool
continues (const char *s, size_t n, char escape, size_t *keep)
{
  size_t e = n;
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
    e--;
  if (e == 0 || s[e - 1] != escape)
    return false;
  if (e == 1)
    {
      *keep = 0;
      return true;
    }
  if (s[e - 2] == escape)
    return false;
  *keep = e - 1;
  return true;
}

static char
parser_escape (const struct df_parser *ps)
{
  return ps->df->escape_set ? ps->df->escape : '\\';
}

/* Put "NAME:LINE" in front of *ERR; an ONBUILD trigger (no name) leaves
 * the location to its caller. */
static int
located (const struct df_parser *ps, int line, struct hoist_error **err)
{
  if (ps->df->name == NULL)
    return -1;
  return hoist_error_wrap (err, "%s:%d", ps->df->name, line);
}

/* Join the continuation lines of a logical line into B.  Comment lines and
 * blank lines inside a continuation are skipped, as BuildKit does. */
static int
read_continuation (struct df_parser *ps, struct hoist_buf *b, struct hoist_error **err)
{
  const char *raw;
  size_t len;

  while (next_line (ps, &raw, &len))
    {
      size_t n = trim_newline (raw, len), keep;
      const char *t = raw;
      size_t tn = n;

      if (is_comment (raw, n))
        continue;
      df_trim_left (&t, &tn);
      if (tn == 0)
        continue;
      if (continues (raw, n, parser_escape (ps), &keep))
        {
          if (hoist_buf_add (b, raw, keep, err) < 0)
            return -1;
          continue;
        }
      return hoist_buf_add (b, raw, n, err);
    }
  return 0;
}

/* Read the body of heredoc H up to its delimiter line. */
static int
read_heredoc_body (struct df_parser *ps, struct builder_heredoc *h, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf body;
  const char *raw;
  size_t len;

  hoist_buf_init (&body, BUILDER_DOCKERFILE_MAX);
  while (next_line (ps, &raw, &len))
    {
      const char *t = raw;
      size_t tn = trim_newline (raw, len);
      if (h->chomp)
        while (tn > 0 && *t == '\t')
          t++, tn--;
      if (tn == strlen (h->name) && memcmp (t, h->name, tn) == 0)
        {
          h->body = hoist_buf_detach (&body, NULL);
          return 0;
        }
      if (hoist_buf_add (&body, raw, len, err) < 0)
        return -1;
    }
  return hoist_error_set (err, 0, "unterminated heredoc '%s'", h->name);
}

/* Collect the bodies of IN's heredocs from the lines that follow, one
 * after the other in the order the markers appear. */
static int
read_heredocs (struct df_parser *ps, struct df_insn *in, struct hoist_error **err)
{
  cleanup_strv char **words = NULL;

  if (df_heredoc_split (in->original, &words, err) < 0)
    return -1;
  for (size_t i = 0; words[i] != NULL; i++)
    {
      struct builder_heredoc h = { 0 };
      int r = df_heredoc_word (words[i], &h.name, &h.expand, &h.chomp, err);

      if (r <= 0)
        {
          if (r < 0)
            return r;
          continue;
        }
      in->heredocs = df_grow (in->heredocs, in->n_heredocs, sizeof (*in->heredocs));
      in->heredocs[in->n_heredocs++] = h;
      if (read_heredoc_body (ps, &in->heredocs[in->n_heredocs - 1], err) < 0)
        return -1;
    }
  return 0;
}

static struct df_insn *
new_insn (struct builder_dockerfile *df)
{
  df->insns = df_grow (df->insns, df->n_insns, sizeof (*df->insns));
  memset (&df->insns[df->n_insns], 0, sizeof (*df->insns));
  return &df->insns[df->n_insns++];
}

/* One logical line starting with the physical line S (N bytes, newline
 * trimmed, leading blanks removed).  Returns 0 when it held nothing. */
static int
read_logical_line (struct df_parser *ps, const char *s, size_t n, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;
  struct df_insn *in;
  size_t keep;
  int start = ps->line;

  hoist_buf_init (&b, DF_LOGICAL_LINE_MAX);
  if (is_comment (s, n))
    n = 0;
  if (continues (s, n, parser_escape (ps), &keep))
    {
      if (hoist_buf_add (&b, s, keep, err) < 0 || read_continuation (ps, &b, err) < 0)
        return located (ps, start, err);
    }
  else if (n == 0)
    return 0;
  else if (hoist_buf_add (&b, s, n, err) < 0)
    return located (ps, start, err);

  in = new_insn (ps->df);
  in->line = start;
  in->original = hoist_xstrndup (b.data, b.len);
  if (df_node_from_line (in, b.data, b.len, parser_escape (ps), false, err) < 0)
    return located (ps, start, err);
  if (may_have_heredocs (in) && strstr (in->original, "<<") != NULL && read_heredocs (ps, in, err) < 0)
    return located (ps, start, err);
  in->end_line = ps->line;
  return 0;
}

static int
scan_all (struct df_parser *ps, struct hoist_error **err)
{
  const char *raw;
  size_t len;

  while (next_line (ps, &raw, &len))
    {
      size_t n = trim_newline (raw, len);

      if (ps->line == 1 && n >= 3 && memcmp (raw, "\xEF\xBB\xBF", 3) == 0)
        raw += 3, n -= 3;
      df_trim_left (&raw, &n);
      if (directive_line (ps, raw, n, err) < 0)
        return located (ps, ps->line, err);
      if (read_logical_line (ps, raw, n, err) < 0)
        return -1;
    }
  return 0;
}

/* Refuse NUL bytes (hoist keeps Dockerfile text in C strings) and lines
 * longer than BuildKit's scanner takes, before reading anything. */
static int
check_lines (const char *name, const char *text, size_t len, struct hoist_error **err)
{
  const char *p = text, *end = text + len;
  int line = 1;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      const char *stop = nl != NULL ? nl : end;
      if (memchr (p, '\0', (size_t) (stop - p)) != NULL)
        return hoist_error_set (err, 0, "%s:%d: NUL byte in the Dockerfile", name, line);
      if (trim_newline (p, (size_t) (stop - p)) > DF_LINE_MAX)
        return hoist_error_set (err, 0, "%s:%d: line is longer than %d bytes", name, line, DF_LINE_MAX);
      p = stop + 1;
      line++;
    }
  return 0;
}

int
builder_dockerfile_parse (const char *name, const char *text, size_t len, struct builder_dockerfile **out,
                          struct hoist_error **err)
{
  struct builder_dockerfile *df;
  struct df_parser ps = { 0 };

  if (len > BUILDER_DOCKERFILE_MAX)
    return hoist_error_set (err, E2BIG, "%s: the Dockerfile is larger than %u bytes", name,
                            BUILDER_DOCKERFILE_MAX);
  if (check_lines (name, text, len, err) < 0)
    return -1;
  df = hoist_xcalloc (1, sizeof (*df));
  df->name = hoist_xstrdup (name);
  df->escape = '\\';
  ps.df = df;
  ps.p = text;
  ps.left = len;
  if (scan_all (&ps, err) < 0)
    goto fail;
  if (df->n_insns == 0)
    {
      hoist_error_set (err, 0, "%s:%d: the Dockerfile has no instructions", name, ps.line > 0 ? ps.line : 1);
      goto fail;
    }
  if (df_stages_build (df, err) < 0)
    goto fail;
  *out = df;
  return 0;

fail:
  builder_dockerfile_free (df);
  return -1;
}

int
df_parse_trigger (const char *text, struct df_insn *out, struct hoist_error **err)
{
  struct builder_dockerfile df = { .escape = '\\' };
  struct df_parser ps = { .df = &df, .p = text, .left = strlen (text) };
  int ret = -1;

  if (scan_all (&ps, err) < 0)
    goto out;
  if (df.n_insns != 1)
    {
      hoist_error_set (err, 0, "an ONBUILD trigger must be a single instruction");
      goto out;
    }
  if (df_insn_parse (&df.insns[0], err) < 0)
    goto out;
  *out = df.insns[0];
  df.n_insns = 0;
  ret = 0;
out:
  for (size_t i = 0; i < df.n_insns; i++)
    df_insn_release (&df.insns[i]);
  free (df.insns);
  free (df.syntax);
  free (df.check);
  return ret;
}
