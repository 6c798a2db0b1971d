/* test_dockerfile.c — the Dockerfile front end against its data cases.
 *
 * Each directory of $HOIST_TEST_DATA/dockerfile (make check sets it; run
 * by hand the cases are found next to this source file) is one cmocka
 * test named after the directory:
 *   Dockerfile     the input, parsed under the name "Dockerfile";
 *   args           optional: one `hoist parse` option per line
 *                  (--build-arg=K=V, --target=STAGE, --platform=P);
 *   expected.json  what `hoist parse` prints (JSON_INDENT(2) |
 *                  JSON_PRESERVE_ORDER and a final newline), or
 *   expected.err   the error message, one line.
 * Without a --platform line the case runs for linux/amd64, as the CLI test
 * does, so TARGETPLATFORM and friends are the same on every machine.
 * A few behaviours that data files can not show are plain tests below. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/builder.h"

#define CASE_FILE_MAX (1024 * 1024)

struct dcase
{
  char *name;
  char *dir;
};

static char *
read_text (const char *dir, const char *file, bool *found)
{
  cleanup_free char *path = hoist_xasprintf ("%s/%s", dir, file);
  struct hoist_buf b;
  struct hoist_error *err = NULL;

  hoist_buf_init (&b, CASE_FILE_MAX);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    {
      hoist_error_free (err);
      hoist_buf_release (&b);
      *found = false;
      return NULL;
    }
  *found = true;
  return hoist_buf_detach (&b, NULL);
}

/* The case's options; platform defaults to linux/amd64.  Returns 0, or
 * -1 with *PROBLEM set on a line it does not know. */
static int
read_args (const char *dir, struct builder_plan_opts *opts, char ***build_args, char **target, char **platform,
           char **problem)
{
  bool found;
  cleanup_free char *text = read_text (dir, "args", &found);
  char *line, *next;

  *platform = hoist_xstrdup ("linux/amd64");
  for (line = found ? text : NULL; line != NULL; line = next)
    {
      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      if (strncmp (line, "--build-arg=", 12) == 0)
        hoist_strv_push (build_args, line + 12);
      else if (strncmp (line, "--target=", 9) == 0)
        *target = hoist_xstrdup (line + 9);
      else if (strncmp (line, "--platform=", 11) == 0)
        {
          free (*platform);
          *platform = hoist_xstrdup (line + 11);
        }
      else if (*line != '\0')
        {
          *problem = hoist_xasprintf ("%s/args: unknown option line '%s'", dir, line);
          return -1;
        }
    }
  opts->build_args = *build_args;
  opts->target = *target;
  opts->platform = *platform;
  return 0;
}

/* Parse and plan; returns the JSON text, or NULL with *MSG set. */
static char *
run_case (const char *text, size_t len, const struct builder_plan_opts *opts, char **msg)
{
  struct builder_dockerfile *df = NULL;
  struct builder_plan *plan = NULL;
  struct hoist_error *err = NULL;
  char *out = NULL;
  json_t *j;

  if (builder_dockerfile_parse ("Dockerfile", text, len, &df, &err) < 0
      || builder_plan_new (df, opts, &plan, &err) < 0)
    {
      *msg = hoist_xstrdup (err->msg);
      hoist_error_free (err);
      builder_dockerfile_free (df);
      return NULL;
    }
  j = builder_plan_to_json (plan);
  out = json_dumps (j, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  json_decref (j);
  builder_plan_free (plan);
  builder_dockerfile_free (df);
  char *nl = hoist_xasprintf ("%s\n", out);
  free (out);
  return nl;
}

/* Run case C; NULL when it passed, else what went wrong (the caller frees
 * it after everything else is released, so a failing case leaks nothing
 * under the sanitizers). */
static char *
check_case (const struct dcase *c)
{
  struct builder_plan_opts opts = { 0 };
  cleanup_strv char **build_args = NULL;
  cleanup_free char *target = NULL;
  cleanup_free char *platform = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want_json = NULL;
  cleanup_free char *want_err = NULL;
  cleanup_free char *got = NULL;
  cleanup_free char *msg = NULL;
  cleanup_free char *path = hoist_xasprintf ("%s/Dockerfile", c->dir);
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;
  bool has_json, has_err;
  size_t len;

  hoist_buf_init (&b, CASE_FILE_MAX);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    return hoist_xasprintf ("%s: %s", c->name, err->msg);
  text = hoist_buf_detach (&b, &len);
  if (read_args (c->dir, &opts, &build_args, &target, &platform, &msg) < 0)
    return steal_pointer (&msg);
  want_json = read_text (c->dir, "expected.json", &has_json);
  want_err = read_text (c->dir, "expected.err", &has_err);
  if (has_json == has_err)
    return hoist_xasprintf ("%s: needs exactly one of expected.json and expected.err", c->name);
  got = run_case (text, len, &opts, &msg);
  if (has_json && got == NULL)
    return hoist_xasprintf ("%s: failed: %s", c->name, msg);
  if (has_json && strcmp (got, want_json) != 0)
    return hoist_xasprintf ("%s: output differs\n--- expected.json\n%s--- got\n%s", c->name, want_json, got);
  if (has_json)
    return NULL;
  want_err[strcspn (want_err, "\n")] = '\0';
  if (got != NULL)
    return hoist_xasprintf ("%s: succeeded, expected the error\n  %s\n--- got\n%s", c->name, want_err, got);
  if (strcmp (msg, want_err) != 0)
    return hoist_xasprintf ("%s: error differs\n  expected: %s\n  got:      %s", c->name, want_err, msg);
  return NULL;
}

static void
test_case (void **state)
{
  char *problem = check_case (*state);

  if (problem == NULL)
    return;
  print_error ("%s\n", problem);
  free (problem);
  fail ();
}

/* ---------------------------------------------------------------------
 * Plain tests
 * ------------------------------------------------------------------- */

static struct builder_plan *
plan_of (const char *text, const struct builder_plan_opts *opts)
{
  struct builder_dockerfile *df = NULL;
  struct builder_plan *plan = NULL;
  struct hoist_error *err = NULL;

  if (builder_dockerfile_parse ("Dockerfile", text, strlen (text), &df, &err) < 0
      || builder_plan_new (df, opts, &plan, &err) < 0)
    fail_msg ("%s", err->msg);
  builder_dockerfile_free (df);
  return plan;
}

/* `--build-arg K` takes K from the environment (data cases can only show
 * the unset case, which drops the arg). */
static void
test_build_arg_from_env (void **state)
{
  char *args[] = { "HOIST_TEST_FROM_ENV", NULL };
  struct builder_plan_opts opts = { .build_args = args, .platform = "linux/amd64" };
  struct builder_plan *plan;

  setenv ("HOIST_TEST_FROM_ENV", "from-env", 1);
  plan = plan_of ("FROM scratch\nARG HOIST_TEST_FROM_ENV=default\nWORKDIR /$HOIST_TEST_FROM_ENV\n", &opts);
  assert_string_equal (plan->stages[0].instructions[1].args[0], "/from-env");
  builder_plan_free (plan);
  unsetenv ("HOIST_TEST_FROM_ENV");
}

/* NULL options: the host's platform, the last stage. */
static void
test_null_opts (void **state)
{
  struct builder_plan *plan = plan_of ("FROM a AS one\nFROM b\n", NULL);
  assert_int_equal (plan->n_stages, 1);
  assert_int_equal (plan->target, 1);
  assert_null (plan->stages[0].name);
  builder_plan_free (plan);
  builder_plan_free (NULL);
  builder_dockerfile_free (NULL);
}

static void
test_keyword_names (void **state)
{
  assert_string_equal (builder_keyword_name (BUILDER_KW_HEALTHCHECK), "HEALTHCHECK");
  assert_string_equal (builder_keyword_name (BUILDER_KW_WORKDIR), "WORKDIR");
  assert_string_equal (builder_keyword_name (BUILDER_KW_COUNT_), "?");
}

/* The parsed structures the executor reads, beyond the JSON. */
static void
test_struct_details (void **state)
{
  struct builder_plan_opts opts = { .platform = "linux/amd64" };
  struct builder_plan *plan
    = plan_of ("FROM x AS a\nFROM a\nCOPY --from=a /x /y\n"
               "RUN --mount=type=cache,target=/c,sharing=locked,uid=1,mode=0700 --network=none make\n"
               "HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD true\n",
               &opts);
  const struct builder_stage *st = &plan->stages[1];

  assert_int_equal (st->base_stage, 0);
  assert_int_equal (st->instructions[0].from_stage, 0);
  assert_int_equal (st->instructions[1].n_mounts, 1);
  assert_int_equal (st->instructions[1].mounts[0].type, BUILDER_MOUNT_CACHE);
  assert_int_equal (st->instructions[1].mounts[0].sharing, BUILDER_SHARING_LOCKED);
  assert_int_equal (st->instructions[1].mounts[0].uid, 1);
  assert_int_equal (st->instructions[1].mounts[0].gid, -1);
  assert_int_equal (st->instructions[1].mounts[0].mode, 0700);
  assert_false (st->instructions[1].mounts[0].readonly);
  assert_int_equal (st->instructions[1].network, BUILDER_NETWORK_NONE);
  assert_true (st->instructions[2].health.interval == 90000000000LL);
  assert_true (st->instructions[2].health.timeout == 500000000LL);
  assert_int_equal (st->instructions[2].health.retries, 3);
  builder_plan_free (plan);
}

/* A chain of stages over a long ENV list is refused instead of copying the
 * variables into every stage without bound. */
static void
test_inherit_limit (void **state)
{
  struct hoist_buf b;
  struct builder_dockerfile *df = NULL;
  struct builder_plan *plan = NULL;
  struct hoist_error *err = NULL;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_addstr (&b, "FROM scratch AS s0\n", NULL), 0);
  for (int i = 0; i < 1100; i++)
    assert_int_equal (hoist_buf_addf (&b, NULL, "ENV V%d=%d\n", i, i), 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal (hoist_buf_addf (&b, NULL, "FROM s%d AS s%d\n", i, i + 1), 0);
  assert_int_equal (builder_dockerfile_parse ("Dockerfile", b.data, b.len, &df, &err), 0);
  assert_true (builder_plan_new (df, NULL, &plan, &err) < 0);
  assert_non_null (strstr (err->msg, "inherit more than"));
  hoist_error_free (err);
  builder_dockerfile_free (df);
  hoist_buf_release (&b);
}

static void
test_too_large (void **state)
{
  struct builder_dockerfile *df = NULL;
  struct hoist_error *err = NULL;

  assert_true (builder_dockerfile_parse ("Dockerfile", "FROM x\n", BUILDER_DOCKERFILE_MAX + 1, &df, &err) < 0);
  assert_non_null (strstr (err->msg, "larger than"));
  hoist_error_free (err);
}

/* ---------------------------------------------------------------------
 * Enumerating the cases
 * ------------------------------------------------------------------- */

static char *
data_dir (void)
{
  const char *env = getenv ("HOIST_TEST_DATA");
  const char *slash;

  if (env != NULL && *env != '\0')
    return hoist_xasprintf ("%s/dockerfile", env);
  /* By hand: tests/unit/test_dockerfile.c -> tests/data/dockerfile */
  slash = strrchr (__FILE__, '/');
  if (slash == NULL)
    return hoist_xstrdup ("../data/dockerfile");
  return hoist_xasprintf ("%.*s/../data/dockerfile", (int) (slash - __FILE__), __FILE__);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (void)
{
  static const struct CMUnitTest plain[] = {
    cmocka_unit_test (test_build_arg_from_env), cmocka_unit_test (test_null_opts),
    cmocka_unit_test (test_keyword_names),      cmocka_unit_test (test_struct_details),
    cmocka_unit_test (test_too_large),          cmocka_unit_test (test_inherit_limit),
  };
  cleanup_free char *dir = data_dir ();
  cleanup_strv char **names = NULL;
  struct CMUnitTest *tests;
  struct dcase *cases;
  size_t n, nplain = sizeof plain / sizeof plain[0];
  DIR *d = opendir (dir);
  struct dirent *e;
  int failed;

  if (d == NULL)
    {
      fprintf (stderr, "test_dockerfile: cannot open '%s'\n", dir);
      return 1;
    }
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.')
      hoist_strv_push (&names, e->d_name);
  closedir (d);
  n = hoist_strv_len (names);
  if (n > 0)
    qsort (names, n, sizeof (char *), cmp_names);
  tests = hoist_xcalloc (n + nplain, sizeof (*tests));
  cases = hoist_xcalloc (n + 1, sizeof (*cases));
  for (size_t i = 0; i < n; i++)
    {
      cases[i].name = names[i];
      cases[i].dir = hoist_xasprintf ("%s/%s", dir, names[i]);
      tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_case, .initial_state = &cases[i] };
    }
  memcpy (tests + n, plain, sizeof plain);
  failed = _cmocka_run_group_tests ("dockerfile", tests, n + nplain, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (cases[i].dir);
  free (cases);
  free (tests);
  return failed;
}
