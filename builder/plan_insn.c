/* plan_insn.c — one instruction of a needed stage into the plan, with
 * substitution where BuildKit's dispatcher substitutes and nowhere else:
 * ADD/COPY sources, destination, --chown, --chmod (and ADD --checksum);
 * ENV and LABEL keys and values; ARG defaults; EXPOSE, VOLUME, USER,
 * WORKDIR, STOPSIGNAL; the fields of RUN --mount.  RUN, CMD, ENTRYPOINT,
 * SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are kept as written: the
 * shell or a later build expands them. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile_private.h"

/* Arguments that BuildKit never puts in a step's environment. */
static bool
non_env_arg (const char *name)
{
  return strcmp (name, "BUILDKIT_SBOM_SCAN_CONTEXT") == 0 || strcmp (name, "BUILDKIT_SBOM_SCAN_STAGE") == 0;
}

static void
push_arg (struct builder_instruction *out, char *arg)
{
  df_strv_add (&out->args, &out->n_args, arg);
}

static void
copy_common (const struct df_insn *in, struct builder_instruction *out)
{
  out->line = in->line;
  out->end_line = in->end_line;
  out->keyword = in->keyword;
  out->original = hoist_xstrdup (in->original);
  out->exec_form = in->json;
  out->from_stage = -1;
  out->args = hoist_xcalloc (1, sizeof (char *));
  out->flags = hoist_xcalloc (in->n_flags + 1, sizeof (*out->flags));
  for (size_t i = 0; i < in->n_flags; i++)
    {
      out->flags[i].name = hoist_xstrdup (in->flags[i].name);
      out->flags[i].value = hoist_xstrdup (in->flags[i].value);
    }
  out->n_flags = in->n_flags;
  out->heredocs = hoist_xcalloc (in->n_heredocs + 1, sizeof (*out->heredocs));
  for (size_t i = 0; i < in->n_heredocs; i++)
    {
      out->heredocs[i] = in->heredocs[i];
      out->heredocs[i].name = hoist_xstrdup (in->heredocs[i].name);
      out->heredocs[i].body = hoist_xstrdup (in->heredocs[i].body);
    }
  out->n_heredocs = in->n_heredocs;
  out->network = in->network;
  out->security = in->security;
  out->health = in->health;
}

/* Substitute the value of every flag named in NAMES (NULL-terminated). */
static int
expand_flags (struct planner *p, const struct plan_scope *env, struct builder_instruction *out,
              const char *const *names, struct hoist_error **err)
{
  for (size_t i = 0; i < out->n_flags; i++)
    for (const char *const *n = names; *n != NULL; n++)
      if (strcmp (out->flags[i].name, *n) == 0)
        {
          char *v = NULL;
          if (plan_expand (p, env, out->flags[i].value, &v, err) < 0)
            return -1;
          free (out->flags[i].value);
          out->flags[i].value = v;
        }
  return 0;
}

static int
expand_push (struct planner *p, const struct plan_scope *env, const char *word, struct builder_instruction *out,
             struct hoist_error **err)
{
  char *v = NULL;
  if (plan_expand (p, env, word, &v, err) < 0)
    return -1;
  push_arg (out, v);
  return 0;
}

/* ---------------------------------------------------------------------
 * ADD and COPY
 * ------------------------------------------------------------------- */

static bool
is_heredoc_word (const char *w)
{
  char *name = NULL;
  bool expand, chomp;
  int r = df_heredoc_word (w, &name, &expand, &chomp, NULL);
  free (name);
  return r > 0;
}

/* dispatchCopy's own checks, on the substituted values. */
static int
check_copy (const struct builder_instruction *out, const char *const *heredoc, struct hoist_error **err)
{
  cleanup_free char **sources = hoist_xcalloc (out->n_args + 1, sizeof (char *));
  size_t n = 0;

  for (size_t f = 0; f < out->n_flags; f++)
    if (strcmp (out->flags[f].name, "chmod") == 0 && out->flags[f].value[0] != '\0'
        && df_chmod_check (out->flags[f].value, err) < 0)
      return -1;
  for (size_t i = 0; i + 1 < out->n_args; i++)
    if (heredoc[i] == NULL)
      sources[n++] = out->args[i];
  for (size_t f = 0; f < out->n_flags; f++)
    if (strcmp (out->flags[f].name, "checksum") == 0 && out->flags[f].value[0] != '\0'
        && df_checksum_check (sources, n, err) < 0)
      return -1;
  return 0;
}

static int
plan_copy (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
           struct hoist_error **err)
{
  static const char *const add_expanded[] = { "chown", "chmod", "checksum", NULL };
  static const char *const copy_expanded[] = { "chown", "chmod", NULL };
  struct plan_scope *env = &p->st[s].env;
  cleanup_free const char **heredoc = hoist_xcalloc (hoist_strv_len (in->words) + 1, sizeof (char *));

  if (expand_flags (p, env, out, in->keyword == BUILDER_KW_ADD ? add_expanded : copy_expanded, err) < 0)
    return -1;
  for (size_t i = 0; in->words[i] != NULL; i++)
    {
      /* Heredoc sources name a body, not a path: BuildKit leaves them. */
      if (in->words[i + 1] != NULL && is_heredoc_word (in->words[i]))
        {
          heredoc[i] = in->words[i];
          push_arg (out, hoist_xstrdup (in->words[i]));
        }
      else if (expand_push (p, env, in->words[i], out, err) < 0)
        return -1;
    }
  for (size_t f = 0; in->keyword == BUILDER_KW_COPY && f < in->n_flags; f++)
    if (strcmp (in->flags[f].name, "from") == 0)
      {
        char a[32], b[32];
        if (plan_copy_from (p, in->flags[f].value, &out->from_stage, err) < 0)
          return -1;
        if (out->from_stage >= (int) s)
          return hoist_error_set (err, 0, "cannot copy from stage '%s', it needs to be defined before stage '%s'",
                                  plan_stage_label (p, (size_t) out->from_stage, a), plan_stage_label (p, s, b));
      }
  return check_copy (out, heredoc, err);
}

/* ---------------------------------------------------------------------
 * RUN --mount
 * ------------------------------------------------------------------- */

/* Join FIELDS back into one CSV value, quoting where CSV needs it. */
static char *
csv_join (char *const *fields)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (size_t i = 0; fields[i] != NULL; i++)
    {
      const char *f = fields[i];
      bool quote = strpbrk (f, ",\"\r\n") != NULL;
      if ((i > 0 && hoist_buf_addch (&b, ',', NULL) < 0) || (quote && hoist_buf_addch (&b, '"', NULL) < 0))
        abort ();
      for (; *f; f++)
        if ((*f == '"' && quote && hoist_buf_addch (&b, '"', NULL) < 0) || hoist_buf_addch (&b, *f, NULL) < 0)
          abort ();
      if (quote && hoist_buf_addch (&b, '"', NULL) < 0)
        abort ();
    }
  return hoist_buf_detach (&b, NULL);
}

/* Substitute the value of each key=value field, as BuildKit's mount
 * parser does field by field; keys and bare words stay. */
static int
expand_mount_fields (struct planner *p, const struct plan_scope *env, char **fields, struct hoist_error **err)
{
  for (size_t i = 0; fields[i] != NULL; i++)
    {
      char *eq = strchr (fields[i], '=');
      cleanup_free char *v = NULL;
      if (eq == NULL)
        continue;
      if (plan_expand (p, env, eq + 1, &v, err) < 0)
        return -1;
      *eq = '\0';
      char *joined = hoist_xasprintf ("%s=%s", fields[i], v);
      free (fields[i]);
      fields[i] = joined;
    }
  return 0;
}

static int
plan_mount (struct planner *p, size_t s, struct builder_flag *flag, struct builder_instruction *out,
            struct hoist_error **err)
{
  cleanup_strv char **fields = NULL;
  struct builder_mount *m;
  int from_stage = plan_mount_from (p, flag->value, NULL);

  if (df_csv_fields (flag->value, &fields, err) < 0 || expand_mount_fields (p, &p->st[s].env, fields, err) < 0)
    return -1;
  out->mounts = df_grow (out->mounts, out->n_mounts, sizeof (*out->mounts));
  m = &out->mounts[out->n_mounts];
  if (df_mount_decode (fields, m, err) < 0)
    return -1;
  out->n_mounts++;
  m->from_stage = from_stage;
  if (from_stage >= (int) s)
    return hoist_error_set (err, 0, "cannot mount from stage '%s' to '%s', it needs to be defined before this stage",
                            m->from != NULL ? m->from : "", m->target != NULL ? m->target : "");
  free (flag->value);
  flag->value = csv_join (fields);
  return 0;
}

static int
plan_run (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
          struct hoist_error **err)
{
  for (size_t i = 0; i < out->n_flags; i++)
    if (strcmp (out->flags[i].name, "mount") == 0 && plan_mount (p, s, &out->flags[i], out, err) < 0)
      return -1;
  for (size_t i = 0; in->words[i] != NULL; i++)
    push_arg (out, hoist_xstrdup (in->words[i]));
  return 0;
}

/* ---------------------------------------------------------------------
 * ENV, LABEL, ARG
 * ------------------------------------------------------------------- */

/* Every pair is substituted before any is set: `ENV A=1 B=$A` gives B the
 * value A had before this line, as in Docker. */
static int
plan_env_label (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
                struct hoist_error **err)
{
  struct plan_scope *env = &p->st[s].env;
  cleanup_strv char **keys = hoist_xcalloc (1, sizeof (char *));
  cleanup_strv char **values = hoist_xcalloc (1, sizeof (char *));
  size_t nk = 0, nv = 0;

  for (size_t i = 0; i < in->n_kvs; i++)
    {
      char *k = NULL, *v = NULL;
      if (plan_expand (p, env, in->kvs[i].key, &k, err) < 0)
        return -1;
      df_strv_add (&keys, &nk, k);
      if (plan_expand (p, env, in->kvs[i].value, &v, err) < 0)
        return -1;
      df_strv_add (&values, &nv, v);
      push_arg (out, hoist_xasprintf ("%s=%s", k, v));
    }
  for (size_t i = 0; in->keyword == BUILDER_KW_ENV && keys[i] != NULL; i++)
    plan_scope_set (env, keys[i], values[i]);
  return 0;
}

/* dispatchArg: a build arg wins, then the default (substituted in the
 * stage's scope), then the global value when the ARG has neither; the
 * value then joins the stage's environment, over an ENV of that name. */
static int
plan_arg (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
          struct hoist_error **err)
{
  struct plan_scope *env = &p->st[s].env;

  for (size_t i = 0; i < in->n_kvs; i++)
    {
      const char *name = in->kvs[i].key;
      const char *given = plan_scope_get (&p->build_args, name);
      const char *global = plan_scope_get (&p->globals, name);
      cleanup_free char *value = NULL;

      if (given != NULL)
        value = hoist_xstrdup (given);
      else if (in->kvs[i].value != NULL)
        {
          if (plan_expand (p, env, in->kvs[i].value, &value, err) < 0)
            return -1;
        }
      else if (global != NULL)
        value = hoist_xstrdup (global);
      if (value == NULL)
        {
          push_arg (out, hoist_xstrdup (name));
          continue;
        }
      push_arg (out, hoist_xasprintf ("%s=%s", name, value));
      if (!non_env_arg (name))
        plan_scope_set (env, name, value);
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * The rest
 * ------------------------------------------------------------------- */

static int
plan_expose (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
             struct hoist_error **err)
{
  for (size_t i = 0; in->words[i] != NULL; i++)
    {
      cleanup_strv char **ports = NULL;
      if (plan_expand_words (p, &p->st[s].env, in->words[i], &ports, err) < 0)
        return -1;
      for (size_t k = 0; ports[k] != NULL; k++)
        {
          if (df_port_check (ports[k], err) < 0)
            return -1;
          push_arg (out, hoist_xstrdup (ports[k]));
        }
    }
  return 0;
}

static int
plan_words (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
            struct hoist_error **err)
{
  for (size_t i = 0; in->words[i] != NULL; i++)
    if (expand_push (p, &p->st[s].env, in->words[i], out, err) < 0)
      return -1;
  if (in->keyword == BUILDER_KW_VOLUME)
    for (size_t i = 0; i < out->n_args; i++)
      if (out->args[i][0] == '\0')
        return hoist_error_set (err, 0, "VOLUME '%s' expands to an empty string", in->words[i]);
  if (in->keyword == BUILDER_KW_STOPSIGNAL)
    return df_signal_check (out->args[0], err);
  return 0;
}

static void
plan_verbatim (const struct df_insn *in, struct builder_instruction *out)
{
  if (in->keyword == BUILDER_KW_HEALTHCHECK)
    {
      bool none = strcasecmp (in->words[0], "NONE") == 0;
      push_arg (out, hoist_xstrdup (none ? "NONE" : in->json ? "CMD" : "CMD-SHELL"));
      for (size_t i = 1; in->words[i] != NULL; i++)
        push_arg (out, hoist_xstrdup (in->words[i]));
      return;
    }
  if (in->keyword == BUILDER_KW_ONBUILD)
    {
      out->onbuild = hoist_xstrdup (in->onbuild);
      push_arg (out, hoist_xstrdup (in->onbuild));
      return;
    }
  for (size_t i = 0; in->words[i] != NULL; i++)
    push_arg (out, hoist_xstrdup (in->words[i]));
}

int
plan_insn (struct planner *p, size_t s, const struct df_insn *in, struct builder_instruction *out,
           struct hoist_error **err)
{
  copy_common (in, out);
  switch (in->keyword)
    {
    case BUILDER_KW_ADD:
    case BUILDER_KW_COPY:
      return plan_copy (p, s, in, out, err);
    case BUILDER_KW_RUN:
      return plan_run (p, s, in, out, err);
    case BUILDER_KW_ENV:
    case BUILDER_KW_LABEL:
      return plan_env_label (p, s, in, out, err);
    case BUILDER_KW_ARG:
      return plan_arg (p, s, in, out, err);
    case BUILDER_KW_EXPOSE:
      return plan_expose (p, s, in, out, err);
    case BUILDER_KW_VOLUME:
    case BUILDER_KW_USER:
    case BUILDER_KW_WORKDIR:
    case BUILDER_KW_STOPSIGNAL:
      return plan_words (p, s, in, out, err);
    default:
      plan_verbatim (in, out);
      return 0;
    }
}
