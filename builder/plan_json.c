/* plan_json.c — the build plan as JSON: what `hoist parse` prints and the
 * front-end tests compare byte for byte, so the key order is fixed.
 *
 *   {
 *     "directives": {"syntax": S, "escape": E, "check": C},  only those set
 *     "target": "name", or the index as a string for an unnamed stage,
 *     "stages": [                      the target and the stages it needs,
 *       {                              in file order
 *         "index": N,                  position in the Dockerfile
 *         "name": "build" | null,
 *         "base": "golang:1.22",       after substitution; "scratch"
 *         "platform": "linux/arm64" | null,
 *         "line": L,                   of the FROM
 *         "instructions": [
 *           {
 *             "line": L,
 *             "keyword": "RUN",
 *             "flags": [{"name": "mount", "value": "type=cache,target=/x"}],
 *             "args": ["go build"],
 *             "exec_form": false,
 *             "heredocs": [{"name": "EOF", "body": "...", "expand": true,
 *                           "chomp": false}]
 *           }
 *         ]
 *       }
 *     ]
 *   }
 *
 * "flags" and "heredocs" are left out when empty; every other key is
 * always there.  Strings that are not valid UTF-8 get U+FFFD for each bad
 * byte, as Go's encoder does. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile_private.h"

static json_t *
jstr (const char *s)
{
  json_t *j = json_string (s);
  if (j == NULL)
    {
      cleanup_free char *clean = df_utf8_sanitize (s, strlen (s));
      j = json_string (clean);
    }
  return j;
}

static json_t *
jstr_or_null (const char *s)
{
  return s != NULL ? jstr (s) : json_null ();
}

static json_t *
directives_json (const struct builder_plan *plan)
{
  json_t *d = json_object ();
  char esc[2] = { plan->escape, '\0' };

  if (plan->syntax != NULL)
    json_object_set_new (d, "syntax", jstr (plan->syntax));
  if (plan->escape_set)
    json_object_set_new (d, "escape", jstr (esc));
  if (plan->check != NULL)
    json_object_set_new (d, "check", jstr (plan->check));
  return d;
}

static json_t *
flags_json (const struct builder_instruction *in)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < in->n_flags; i++)
    {
      json_t *f = json_object ();
      json_object_set_new (f, "name", jstr (in->flags[i].name));
      json_object_set_new (f, "value", jstr (in->flags[i].value));
      json_array_append_new (a, f);
    }
  return a;
}

static json_t *
heredocs_json (const struct builder_instruction *in)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < in->n_heredocs; i++)
    {
      const struct builder_heredoc *h = &in->heredocs[i];
      json_t *o = json_object ();
      json_object_set_new (o, "name", jstr (h->name));
      json_object_set_new (o, "body", jstr (h->body));
      json_object_set_new (o, "expand", json_boolean (h->expand));
      json_object_set_new (o, "chomp", json_boolean (h->chomp));
      json_array_append_new (a, o);
    }
  return a;
}

static json_t *
instruction_json (const struct builder_instruction *in)
{
  json_t *o = json_object ();
  json_t *args = json_array ();

  json_object_set_new (o, "line", json_integer (in->line));
  json_object_set_new (o, "keyword", json_string (builder_keyword_name (in->keyword)));
  if (in->n_flags > 0)
    json_object_set_new (o, "flags", flags_json (in));
  for (size_t i = 0; i < in->n_args; i++)
    json_array_append_new (args, jstr (in->args[i]));
  json_object_set_new (o, "args", args);
  json_object_set_new (o, "exec_form", json_boolean (in->exec_form));
  if (in->n_heredocs > 0)
    json_object_set_new (o, "heredocs", heredocs_json (in));
  return o;
}

static json_t *
stage_json (const struct builder_stage *st)
{
  json_t *o = json_object ();
  json_t *insns = json_array ();

  json_object_set_new (o, "index", json_integer ((json_int_t) st->index));
  json_object_set_new (o, "name", jstr_or_null (st->name));
  json_object_set_new (o, "base", jstr (st->base));
  json_object_set_new (o, "platform", jstr_or_null (st->platform));
  json_object_set_new (o, "line", json_integer (st->line));
  for (size_t i = 0; i < st->n_instructions; i++)
    json_array_append_new (insns, instruction_json (&st->instructions[i]));
  json_object_set_new (o, "instructions", insns);
  return o;
}

json_t *
builder_plan_to_json (const struct builder_plan *plan)
{
  json_t *root = json_object ();
  json_t *stages = json_array ();
  const struct builder_stage *target = &plan->stages[plan->n_stages - 1];
  char idx[32];

  json_object_set_new (root, "directives", directives_json (plan));
  snprintf (idx, sizeof idx, "%zu", plan->target);
  json_object_set_new (root, "target", jstr (target->name != NULL ? target->name : idx));
  for (size_t i = 0; i < plan->n_stages; i++)
    json_array_append_new (stages, stage_json (&plan->stages[i]));
  json_object_set_new (root, "stages", stages);
  return root;
}
