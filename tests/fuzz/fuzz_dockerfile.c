/* fuzz_dockerfile.c — libFuzzer target for the Dockerfile front end: parse,
 * plan for the default target and for a named one, and render the JSON.
 * Inputs are capped at 64 KiB: larger ones only slow the fuzzer down, the
 * parser's own limits are tested by the unit tests. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "builder/builder.h"

#define FUZZ_INPUT_MAX (64 * 1024)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
plan_and_render (const struct builder_dockerfile *df, const char *target)
{
  static char *const build_args[] = { "A=1", "TARGETARCH=arm64", "HOIST_FUZZ_UNSET", NULL };
  struct builder_plan_opts opts = { .build_args = build_args, .target = target, .platform = "linux/amd64" };
  struct builder_plan *plan = NULL;
  struct hoist_error *err = NULL;
  json_t *j;
  char *s;

  if (builder_plan_new (df, &opts, &plan, &err) < 0)
    {
      hoist_error_free (err);
      return;
    }
  j = builder_plan_to_json (plan);
  s = json_dumps (j, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (s == NULL)
    abort (); /* the plan must always render */
  free (s);
  json_decref (j);
  builder_plan_free (plan);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct builder_dockerfile *df = NULL;
  struct hoist_error *err = NULL;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  if (builder_dockerfile_parse ("Dockerfile", (const char *) data, size, &df, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort (); /* a failure always says why */
      hoist_error_free (err);
      return 0;
    }
  plan_and_render (df, NULL);
  plan_and_render (df, "build");
  plan_and_render (df, "0");
  builder_dockerfile_free (df);
  return 0;
}
