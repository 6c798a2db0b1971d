/* plan.c — from a parsed Dockerfile to the build plan, as BuildKit's
 * dockerfile2llb does it before it builds anything: the automatic platform
 * ARGs and the global ARGs, the FROM lines (substituted with the global
 * scope only), the stage graph (FROM <stage>, COPY --from, RUN --mount
 * from=), the target and the stages it needs, and then, stage by stage in
 * file order, ARG/ENV scoping and substitution in exactly the instructions
 * BuildKit substitutes in.  The instruction-by-instruction part is in
 * plan_insn.c. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile_private.h"

/* ---------------------------------------------------------------------
 * Substitution
 * ------------------------------------------------------------------- */

static const char *
scope_lookup (void *ctx, const char *name)
{
  return plan_scope_get (ctx, name);
}

int
plan_expand (const struct planner *p, const struct plan_scope *scope, const char *word, char **out,
             struct hoist_error **err)
{
  struct builder_lexer lx = { .escape = p->df->escape, .lookup = scope_lookup, .ctx = (void *) scope };
  return builder_shell_word (&lx, word, out, err);
}

int
plan_expand_words (const struct planner *p, const struct plan_scope *scope, const char *text, char ***out,
                   struct hoist_error **err)
{
  struct builder_lexer lx = { .escape = p->df->escape, .lookup = scope_lookup, .ctx = (void *) scope };
  return builder_shell_words (&lx, text, out, err);
}

/* ---------------------------------------------------------------------
 * Stage lookups
 * ------------------------------------------------------------------- */

const char *
plan_stage_label (const struct planner *p, size_t i, char buf[32])
{
  if (p->st[i].name != NULL)
    return p->st[i].name;
  snprintf (buf, 32, "stage-%zu", i);
  return buf;
}

/* Named stages sorted by (name, index), so that name lookups cost a
 * binary search even in a Dockerfile with a hundred thousand stages. */
static int
cmp_stage_names (const void *a, const void *b)
{
  const struct plan_named *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

static void
index_stage_names (struct planner *p)
{
  p->by_name = hoist_xcalloc (p->df->n_stages + 1, sizeof (*p->by_name));
  for (size_t i = 0; i < p->df->n_stages; i++)
    if (p->st[i].name != NULL)
      p->by_name[p->n_by_name++] = (struct plan_named){ p->st[i].name, i };
  qsort (p->by_name, p->n_by_name, sizeof (*p->by_name), cmp_stage_names);
}

/* The last stage before BEFORE whose name is exactly NAME, or -1. */
static int
stage_named_before (const struct planner *p, const char *name, size_t before)
{
  size_t lo = 0, hi = p->n_by_name;

  /* First entry after every (NAME, index < BEFORE). */
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (p->by_name[mid].name, name);
      if (c < 0 || (c == 0 && p->by_name[mid].index < before))
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == 0 || strcmp (p->by_name[lo - 1].name, name) != 0)
    return -1;
  return (int) p->by_name[lo - 1].index;
}

/* findStateByName: case-insensitive (stage names are lowercase); a later
 * stage of the same name shadows an earlier one.  -1 when none has NAME. */
int
plan_stage_by_name (const struct planner *p, const char *name)
{
  cleanup_free char *lower = hoist_xstrdup (name);

  for (char *c = lower; *c; c++)
    *c = (char) ((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
  return stage_named_before (p, lower, p->df->n_stages);
}

/* strconv.Atoi: optional sign and decimal digits that fit. */
static bool
go_atoi (const char *s, long long *out)
{
  const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
  char *end;

  if (!(*d >= '0' && *d <= '9'))
    return false;
  for (const char *c = d; *c; c++)
    if (!(*c >= '0' && *c <= '9'))
      return false;
  errno = 0;
  *out = strtoll (s, &end, 10);
  return errno == 0 && *end == '\0';
}

/* The stage COPY --from=FROM names: by index or by name; -1 for an image.
 * Variables are refused, since the stage graph is fixed before any stage
 * scope exists. */
int
plan_copy_from (const struct planner *p, const char *from, int *stage, struct hoist_error **err)
{
  struct plan_scope empty = { 0 };
  cleanup_free char *plain = NULL;
  long long idx;

  if (plan_expand (p, &empty, from, &plain, err) < 0)
    return -1;
  if (strcmp (plain, from) != 0)
    return hoist_error_set (err, 0,
                            "--from='%s' cannot use variables (hint: name the image in a stage's FROM, "
                            "where global ARGs work, and copy from that stage)",
                            from);
  if (go_atoi (from, &idx))
    {
      if (idx < 0 || (size_t) idx >= p->df->n_stages)
        return hoist_error_set (err, 0, "--from=%s names no stage (the Dockerfile has %zu)", from, p->df->n_stages);
      *stage = (int) idx;
      return 0;
    }
  *stage = plan_stage_by_name (p, from);
  return 0;
}

/* The stage a --mount value's from= names (its raw, parse-time value; by
 * name only, as BuildKit), or -1. */
int
plan_mount_from (const struct planner *p, const char *mount, struct hoist_error **err)
{
  cleanup_strv char **fields = NULL;
  const char *from = NULL;

  if (df_csv_fields (mount, &fields, err) < 0)
    return -1;
  for (size_t i = 0; fields[i] != NULL; i++)
    if (strncasecmp (fields[i], "from=", 5) == 0)
      from = fields[i] + 5;
  if (from == NULL || *from == '\0')
    return -1;
  return plan_stage_by_name (p, from);
}

/* ---------------------------------------------------------------------
 * Build args, automatic args, global args
 * ------------------------------------------------------------------- */

static void
read_build_args (struct planner *p)
{
  for (char *const *a = p->opts->build_args; a != NULL && *a != NULL; a++)
    {
      const char *eq = strchr (*a, '=');
      if (eq != NULL)
        {
          cleanup_free char *k = hoist_xstrndup (*a, (size_t) (eq - *a));
          plan_scope_set (&p->build_args, k, eq + 1);
        }
      else if (getenv (*a) != NULL)
        plan_scope_set (&p->build_args, *a, getenv (*a));
      /* K alone and not in the environment: dropped, as docker does. */
    }
}

static void
platform_args (struct planner *p, const char *prefix, const char *platform)
{
  const char *slash = strchr (platform, '/');
  const char *slash2 = strchr (slash + 1, '/');
  cleanup_free char *os = hoist_xstrndup (platform, (size_t) (slash - platform));
  cleanup_free char *arch = slash2 != NULL ? hoist_xstrndup (slash + 1, (size_t) (slash2 - slash - 1))
                                           : hoist_xstrdup (slash + 1);
  const char *values[] = { platform, os, "", arch, slash2 != NULL ? slash2 + 1 : "" };
  const char *names[] = { "PLATFORM", "OS", "OSVERSION", "ARCH", "VARIANT" };

  for (size_t i = 0; i < 5; i++)
    {
      cleanup_free char *name = hoist_xasprintf ("%s%s", prefix, names[i]);
      const char *override = plan_scope_get (&p->build_args, name);
      plan_scope_set (&p->globals, name, override != NULL ? override : values[i]);
    }
}

/* BuildKit's defaultArgs: the build and target platforms and the target
 * stage name, each of which a build arg may override. */
static int
automatic_args (struct planner *p, struct hoist_error **err)
{
  cleanup_free char *build = df_platform_host ();
  cleanup_free char *target = NULL;
  const char *stage = p->opts->target;
  const char *override;

  if (p->opts->platform == NULL)
    target = hoist_xstrdup (build);
  else if (df_platform_normalize (p->opts->platform, true, &target, err) < 0)
    return -1;
  platform_args (p, "BUILD", build);
  platform_args (p, "TARGET", target);
  if (stage == NULL)
    stage = p->st[p->df->n_stages - 1].name;
  if (stage == NULL || *stage == '\0')
    stage = "default";
  override = plan_scope_get (&p->build_args, "TARGETSTAGE");
  plan_scope_set (&p->globals, "TARGETSTAGE", override != NULL ? override : stage);
  return 0;
}

/* Each global ARG once, in the order first declared, with its last value. */
static void
global_arg_record (struct planner *p, const char *name, const char *value)
{
  struct builder_plan *plan = p->plan;
  const char *known = plan_scope_get (&p->global_index, name);
  char idx[32];

  if (known != NULL)
    {
      struct builder_arg *a = &plan->global_args[strtoul (known, NULL, 10)];
      if (value != NULL)
        {
          free (a->value);
          a->value = hoist_xstrdup (value);
        }
      return;
    }
  snprintf (idx, sizeof idx, "%zu", plan->n_global_args);
  plan_scope_set (&p->global_index, name, idx);
  plan->global_args = df_grow (plan->global_args, plan->n_global_args, sizeof (*plan->global_args));
  plan->global_args[plan->n_global_args].name = hoist_xstrdup (name);
  plan->global_args[plan->n_global_args++].value = value != NULL ? hoist_xstrdup (value) : NULL;
}

/* buildMetaArgs: a build arg wins; else the default, substituted with the
 * global scope so far; an ARG with neither stays unset. */
static int
meta_args (struct planner *p, struct hoist_error **err)
{
  for (size_t i = 0; i < p->df->n_meta; i++)
    {
      const struct df_insn *in = &p->df->insns[i];
      for (size_t k = 0; k < in->n_kvs; k++)
        {
          const char *name = in->kvs[k].key;
          const char *given = plan_scope_get (&p->build_args, name);
          cleanup_free char *value = NULL;

          if (given != NULL)
            value = hoist_xstrdup (given);
          else if (in->kvs[k].value != NULL && plan_expand (p, &p->globals, in->kvs[k].value, &value, err) < 0)
            return hoist_error_wrap (err, "%s:%d", p->df->name, in->line);
          if (value != NULL)
            plan_scope_set (&p->globals, name, value);
          global_arg_record (p, name, value);
        }
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * Stages: FROM lines, the graph, the target
 * ------------------------------------------------------------------- */

static int
stage_platform (struct planner *p, struct plan_stage *st, const struct df_insn *from, struct hoist_error **err)
{
  const char *raw = NULL;
  cleanup_free char *value = NULL;

  for (size_t f = 0; f < from->n_flags; f++)
    if (strcmp (from->flags[f].name, "platform") == 0)
      raw = from->flags[f].value;
  if (raw == NULL)
    return 0;
  if (plan_expand (p, &p->globals, raw, &value, err) < 0)
    return -1;
  if (*value == '\0')
    return hoist_error_set (err, 0, "--platform='%s' expands to an empty value", raw);
  return df_platform_normalize (value, false, &st->platform, err);
}

/* Substitute every stage's FROM (BuildKit does it for all stages, needed
 * or not) and find the stage each one builds on. */
static int
resolve_froms (struct planner *p, struct hoist_error **err)
{
  for (size_t i = 0; i < p->df->n_stages; i++)
    {
      const struct df_insn *from = &p->df->insns[p->df->stage_from[i]];
      struct plan_stage *st = &p->st[i];

      st->name = from->stage_name;
      st->base_stage = -1;
      if (plan_expand (p, &p->globals, from->words[0], &st->base, err) < 0 || stage_platform (p, st, from, err) < 0)
        return hoist_error_wrap (err, "%s:%d", p->df->name, from->line);
      if (*st->base == '\0')
        return hoist_error_set (err, 0, "%s:%d: FROM '%s' expands to an empty image name", p->df->name, from->line,
                                from->words[0]);
      st->base_stage = stage_named_before (p, st->base, i);
    }
  return 0;
}

static int
find_target (struct planner *p, struct hoist_error **err)
{
  const char *t = p->opts->target;
  long long idx;
  int i;

  if (t == NULL)
    {
      p->target = p->df->n_stages - 1;
      return 0;
    }
  i = plan_stage_by_name (p, t);
  if (i < 0 && go_atoi (t, &idx) && idx >= 0 && (size_t) idx < p->df->n_stages)
    i = (int) idx;
  if (i < 0)
    return hoist_error_set (err, 0, "unknown target stage '%s'", t);
  p->target = (size_t) i;
  return 0;
}

static int insn_deps (struct planner *p, size_t s, const struct df_insn *in, int line, struct hoist_error **err);

static void
add_dep (struct plan_stage *st, int stage, int line)
{
  if (stage < 0)
    return;
  st->deps = df_grow (st->deps, st->n_deps, sizeof (*st->deps));
  st->deps[st->n_deps].stage = (size_t) stage;
  st->deps[st->n_deps++].line = line;
}

/* toCommand for every instruction of every stage: the stages that COPY
 * --from and RUN --mount from= name. */
static int
collect_deps (struct planner *p, struct hoist_error **err)
{
  for (size_t s = 0; s < p->df->n_stages; s++)
    {
      size_t first = p->df->stage_from[s] + 1;
      size_t end = s + 1 < p->df->n_stages ? p->df->stage_from[s + 1] : p->df->n_insns;

      for (size_t i = first; i < end; i++)
        {
          const struct df_insn *in = &p->df->insns[i];
          if (insn_deps (p, s, in, in->line, err) < 0)
            return hoist_error_wrap (err, "%s:%d", p->df->name, in->line);
        }
    }
  return 0;
}

/* validateCircularDependency over the COPY/mount edges: a depth-first
 * walk with its own stack, since a hostile chain of stages is deeper than
 * the C stack.  Returns the line of the first instruction of a cycle
 * found from START, or 0. */
struct visit_frame
{
  size_t stage;
  size_t next_dep;
};

static int
find_cycle (struct planner *p, size_t start, unsigned char *state, struct visit_frame *stack)
{
  size_t depth = 0;

  if (state[start] != 0)
    return 0;
  stack[depth++] = (struct visit_frame){ start, 0 };
  state[start] = 1; /* on the path */
  while (depth > 0)
    {
      struct visit_frame *f = &stack[depth - 1];
      const struct plan_stage *st = &p->st[f->stage];

      if (f->next_dep == st->n_deps)
        {
          state[f->stage] = 2; /* done */
          depth--;
          continue;
        }
      size_t t = st->deps[f->next_dep++].stage;
      if (state[t] == 1)
        return p->st[stack[0].stage].deps[stack[0].next_dep - 1].line;
      if (state[t] == 0)
        {
          state[t] = 1;
          stack[depth++] = (struct visit_frame){ t, 0 };
        }
    }
  return 0;
}

static int
check_cycles (struct planner *p, struct hoist_error **err)
{
  cleanup_free unsigned char *state = hoist_xcalloc (p->df->n_stages, 1);
  cleanup_free struct visit_frame *stack = hoist_xcalloc (p->df->n_stages, sizeof (*stack));

  for (size_t s = 0; s < p->df->n_stages; s++)
    {
      char buf[32];
      int line = find_cycle (p, s, state, stack);
      if (line != 0)
        return hoist_error_set (err, 0, "%s:%d: circular dependency detected on stage '%s'", p->df->name, line,
                                plan_stage_label (p, s, buf));
    }
  return 0;
}

/* The stages one instruction depends on: COPY --from, RUN --mount from=. */
static int
insn_deps (struct planner *p, size_t s, const struct df_insn *in, int line, struct hoist_error **err)
{
  for (size_t f = 0; f < in->n_flags; f++)
    {
      int stage = -1;
      if (in->keyword == BUILDER_KW_COPY && strcmp (in->flags[f].name, "from") == 0
          && plan_copy_from (p, in->flags[f].value, &stage, err) < 0)
        return -1;
      if (in->keyword == BUILDER_KW_RUN && strcmp (in->flags[f].name, "mount") == 0)
        stage = plan_mount_from (p, in->flags[f].value, NULL);
      add_dep (&p->st[s], stage, line);
    }
  return 0;
}

/* BuildKit runs the ONBUILD triggers of a stage at the start of every
 * needed stage built on it; they may need further stages. */
static int
load_triggers (struct planner *p, size_t s, struct hoist_error **err)
{
  struct plan_stage *st = &p->st[s];
  size_t b = (size_t) st->base_stage;
  size_t first = p->df->stage_from[b] + 1;
  size_t end = b + 1 < p->df->n_stages ? p->df->stage_from[b + 1] : p->df->n_insns;
  int line = p->df->insns[p->df->stage_from[s]].line;

  for (size_t i = first; i < end; i++)
    {
      struct df_insn *t;
      if (p->df->insns[i].keyword != BUILDER_KW_ONBUILD)
        continue;
      st->triggers = df_grow (st->triggers, st->n_triggers, sizeof (*st->triggers));
      t = &st->triggers[st->n_triggers];
      memset (t, 0, sizeof (*t));
      if (df_parse_trigger (p->df->insns[i].onbuild, t, err) < 0)
        return hoist_error_wrap (err, "%s:%d: ONBUILD trigger from line %d", p->df->name, line, p->df->insns[i].line);
      st->n_triggers++;
      t->line = t->end_line = line;
      if (insn_deps (p, s, t, line, err) < 0)
        return hoist_error_wrap (err, "%s:%d", p->df->name, line);
    }
  return 0;
}

/* allReachableStages: the target and, transitively, the stages it builds
 * on or takes files from, including through ONBUILD triggers; iterative
 * for the same reason as find_cycle. */
static int
mark_reachable (struct planner *p, size_t target, struct hoist_error **err)
{
  cleanup_free size_t *todo = hoist_xcalloc (p->df->n_stages, sizeof (size_t));
  size_t n = 0;

  p->st[target].reachable = true;
  todo[n++] = target;
  while (n > 0)
    {
      size_t s = todo[--n];
      struct plan_stage *st = &p->st[s];

      if (st->base_stage >= 0 && load_triggers (p, s, err) < 0)
        return -1;
      if (st->base_stage >= 0 && !p->st[st->base_stage].reachable)
        {
          p->st[st->base_stage].reachable = true;
          todo[n++] = (size_t) st->base_stage;
        }
      for (size_t d = 0; d < st->n_deps; d++)
        if (!p->st[st->deps[d].stage].reachable)
          {
            p->st[st->deps[d].stage].reachable = true;
            todo[n++] = st->deps[d].stage;
          }
    }
  return 0;
}

/* ---------------------------------------------------------------------
 * The plan
 * ------------------------------------------------------------------- */

static void
instruction_release (struct builder_instruction *in)
{
  free (in->original);
  df_flags_free (in->flags, in->n_flags);
  hoist_strv_free (in->args);
  df_heredocs_free (in->heredocs, in->n_heredocs);
  free (in->onbuild);
  for (size_t i = 0; i < in->n_mounts; i++)
    df_mount_release (&in->mounts[i]);
  free (in->mounts);
}

void
builder_plan_free (struct builder_plan *plan)
{
  if (plan == NULL)
    return;
  for (size_t s = 0; s < plan->n_stages; s++)
    {
      struct builder_stage *st = &plan->stages[s];
      for (size_t i = 0; i < st->n_instructions; i++)
        instruction_release (&st->instructions[i]);
      free (st->instructions);
      free (st->name);
      free (st->base);
      free (st->platform);
    }
  free (plan->stages);
  for (size_t i = 0; i < plan->n_global_args; i++)
    {
      free (plan->global_args[i].name);
      free (plan->global_args[i].value);
    }
  free (plan->global_args);
  free (plan->syntax);
  free (plan->check);
  free (plan);
}

/* Dispatch stage S into the plan: its environment starts from the stage
 * it builds on, or from the default PATH BuildKit gives a base without
 * one (an image's own environment is not known before it is pulled). */
static int
plan_stage (struct planner *p, size_t s, struct hoist_error **err)
{
  struct plan_stage *st = &p->st[s];
  struct builder_stage *out;
  size_t first = p->df->stage_from[s] + 1;
  size_t end = s + 1 < p->df->n_stages ? p->df->stage_from[s + 1] : p->df->n_insns;

  if (st->base_stage >= 0)
    {
      p->inherited += p->st[st->base_stage].env.n;
      if (p->inherited > PLAN_INHERITED_MAX)
        return hoist_error_set (err, 0, "%s:%d: stages built on stages inherit more than %u variables in all",
                                p->df->name, p->df->insns[p->df->stage_from[s]].line, PLAN_INHERITED_MAX);
      plan_scope_copy (&st->env, &p->st[st->base_stage].env);
    }
  else
    plan_scope_set (&st->env, "PATH", PLAN_DEFAULT_PATH);
  p->plan->stages = df_grow (p->plan->stages, p->plan->n_stages, sizeof (*p->plan->stages));
  out = &p->plan->stages[p->plan->n_stages++];
  memset (out, 0, sizeof (*out));
  out->index = s;
  out->name = st->name != NULL ? hoist_xstrdup (st->name) : NULL;
  out->base = hoist_xstrdup (st->base);
  out->platform = st->platform != NULL ? hoist_xstrdup (st->platform) : NULL;
  out->base_stage = st->base_stage;
  out->line = p->df->insns[p->df->stage_from[s]].line;
  out->instructions = hoist_xcalloc (st->n_triggers + end - first + 1, sizeof (*out->instructions));
  for (size_t i = 0; i < st->n_triggers; i++)
    {
      struct builder_instruction *bi = &out->instructions[out->n_instructions++];
      if (plan_insn (p, s, &st->triggers[i], bi, err) < 0)
        return hoist_error_wrap (err, "%s:%d", p->df->name, st->triggers[i].line);
    }
  for (size_t i = first; i < end; i++)
    {
      struct builder_instruction *bi = &out->instructions[out->n_instructions++];
      if (plan_insn (p, s, &p->df->insns[i], bi, err) < 0)
        return hoist_error_wrap (err, "%s:%d", p->df->name, p->df->insns[i].line);
    }
  return 0;
}

static void
planner_release (struct planner *p)
{
  plan_scope_release (&p->build_args);
  plan_scope_release (&p->globals);
  plan_scope_release (&p->global_index);
  free (p->by_name);
  for (size_t i = 0; p->st != NULL && i < p->df->n_stages; i++)
    {
      free (p->st[i].base);
      free (p->st[i].platform);
      free (p->st[i].deps);
      for (size_t t = 0; t < p->st[i].n_triggers; t++)
        df_insn_release (&p->st[i].triggers[t]);
      free (p->st[i].triggers);
      plan_scope_release (&p->st[i].env);
    }
  free (p->st);
  builder_plan_free (p->plan);
}

int
builder_plan_new (const struct builder_dockerfile *df, const struct builder_plan_opts *opts,
                  struct builder_plan **out, struct hoist_error **err)
{
  static const struct builder_plan_opts no_opts = { 0 };
  struct planner p = { .df = df, .opts = opts != NULL ? opts : &no_opts };
  int ret = -1;

  p.st = hoist_xcalloc (df->n_stages, sizeof (*p.st));
  p.plan = hoist_xcalloc (1, sizeof (*p.plan));
  p.plan->syntax = df->syntax != NULL ? hoist_xstrdup (df->syntax) : NULL;
  p.plan->check = df->check != NULL ? hoist_xstrdup (df->check) : NULL;
  p.plan->escape = df->escape;
  p.plan->escape_set = df->escape_set;
  for (size_t i = 0; i < df->n_stages; i++)
    p.st[i].name = df->insns[df->stage_from[i]].stage_name;
  index_stage_names (&p);
  read_build_args (&p);
  if (automatic_args (&p, err) < 0 || meta_args (&p, err) < 0 || resolve_froms (&p, err) < 0
      || find_target (&p, err) < 0 || collect_deps (&p, err) < 0 || check_cycles (&p, err) < 0)
    goto out;
  if (mark_reachable (&p, p.target, err) < 0)
    goto out;
  for (size_t s = 0; s < df->n_stages; s++)
    if (p.st[s].reachable && plan_stage (&p, s, err) < 0)
      goto out;
  p.plan->target = p.target;
  *out = steal_pointer (&p.plan);
  ret = 0;
out:
  planner_release (&p);
  return ret;
}
