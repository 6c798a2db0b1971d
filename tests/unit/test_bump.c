/* test_bump.c — the tag bump's in-place edit, compared byte for byte.
 *
 * Every case under tests/data/bump/<case>/ has input.yaml, args (one
 * line: "image SPEC" for a kustomization, "key KEY.PATH VALUE" for any
 * YAML file) and expected.yaml, the whole file as it must be after the
 * edit, or expected.err, the start of the error.  Each case is also run
 * a second time over its own output, which must change nothing. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/bump.h"

static char *
slurp (const char *dir, const char *name, size_t *len)
{
  char path[4096];
  struct hoist_buf b;
  struct hoist_error *err = NULL;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  hoist_buf_init (&b, 1 << 20);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    {
      hoist_error_free (err);
      hoist_buf_release (&b);
      return NULL;
    }
  return hoist_buf_detach (&b, len);
}

/* Run ARGS over TEXT ("image SPEC..." applies each spec in turn): 0 with
 * *OUT, or -1 with *ERR. */
static int
run_args (const char *args, const char *text, size_t len, char **out, size_t *out_len, bool *changed,
          struct hoist_error **err)
{
  char verb[16], a[512], b[512];
  int n = sscanf (args, "%15s %511s %511s", verb, a, b);

  if (n >= 2 && strcmp (verb, "image") == 0)
    {
      char *cur = hoist_xstrndup (text, len), *words = hoist_xstrdup (args + strlen ("image"));
      size_t cur_len = len;
      bool any = false;
      int ret = 0;

      for (char *w = words, *end; ret == 0 && *(w += strspn (w, " \n")) != '\0'; w = end)
        {
          struct runner_bump_image img;
          char *buf = NULL, *next = NULL;
          size_t next_len = 0;
          bool ch = false;

          end = w + strcspn (w, " \n");
          if (*end != '\0')
            *end++ = '\0';
          ret = runner_bump_parse_spec (w, &img, &buf, err);
          if (ret == 0)
            ret = runner_bump_kustomization (cur, cur_len, &img, &next, &next_len, &ch, err);
          free (buf);
          if (ret == 0)
            {
              free (cur);
              cur = next;
              cur_len = next_len;
              any |= ch;
            }
        }
      free (words);
      if (ret < 0)
        {
          free (cur);
          return ret;
        }
      *out = cur;
      *out_len = cur_len;
      *changed = any;
      return 0;
    }
  if (n == 3 && strcmp (verb, "key") == 0)
    return runner_bump_yaml (text, len, a, b, out, out_len, changed, err);
  fail_msg ("bad args line: %s", args);
  return -1;
}

static void
run_case (const char *dir, const char *name)
{
  size_t len = 0, want_len = 0, out_len = 0, again_len = 0;
  char *input = slurp (dir, "input.yaml", &len), *args = slurp (dir, "args", NULL);
  char *want = slurp (dir, "expected.yaml", &want_len), *want_err = slurp (dir, "expected.err", NULL);
  char *out = NULL, *again = NULL;
  struct hoist_error *err = NULL;
  bool changed = false, changed2 = true;
  int ret;

  assert_non_null (input);
  assert_non_null (args);
  ret = run_args (args, input, len, &out, &out_len, &changed, &err);
  if (want_err != NULL)
    {
      want_err[strcspn (want_err, "\n")] = '\0';
      if (ret == 0)
        fail_msg ("%s: succeeded, wanted the error '%s'", name, want_err);
      if (strncmp (err->msg, want_err, strlen (want_err)) != 0)
        fail_msg ("%s: error '%s', wanted '%s'", name, err->msg, want_err);
      hoist_error_free (err);
    }
  else
    {
      if (ret < 0)
        fail_msg ("%s: %s", name, err->msg);
      assert_non_null (want);
      if (out_len != want_len || memcmp (out, want, want_len) != 0)
        fail_msg ("%s: got\n%s\n---- wanted\n%s", name, out, want);
      assert_int_equal (changed, want_len != len || memcmp (input, want, len) != 0);
      /* Bumping again to the same values changes nothing. */
      ret = run_args (args, out, out_len, &again, &again_len, &changed2, &err);
      if (ret < 0)
        fail_msg ("%s (again): %s", name, err->msg);
      if (changed2 || again_len != out_len || memcmp (again, out, out_len) != 0)
        fail_msg ("%s: a second bump changed the file:\n%s", name, again);
    }
  free (input);
  free (args);
  free (want);
  free (want_err);
  free (out);
  free (again);
}

static void
test_data_cases (void **state)
{
  const char *data = getenv ("HOIST_TEST_DATA");
  char dir[4096];
  struct dirent *de;
  DIR *d;
  size_t n = 0;

  if (data == NULL)
    skip ();
  snprintf (dir, sizeof dir, "%s/bump", data);
  d = opendir (dir);
  assert_non_null (d);
  while ((de = readdir (d)) != NULL)
    {
      char sub[4096 + 512];

      if (de->d_name[0] == '.')
        continue;
      snprintf (sub, sizeof sub, "%s/%s", dir, de->d_name);
      run_case (sub, de->d_name);
      n++;
    }
  closedir (d);
  assert_true (n >= 30);
}

struct spec_case
{
  const char *spec;
  const char *name, *new_name, *new_tag, *digest;
  const char *error;
};

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct spec_case specs[] = {
  { "api=ghcr.io/acme/api:1.2@" DG, "api", "ghcr.io/acme/api", "1.2", DG, NULL },
  { "api=localhost:5000/acme/api:v2", "api", "localhost:5000/acme/api", "v2", NULL, NULL },
  { "api=localhost:5000/acme/api", "api", "localhost:5000/acme/api", NULL, NULL, NULL },
  { "api=:v3", "api", NULL, "v3", NULL, NULL },
  { "api:v4", "api", NULL, "v4", NULL, NULL },
  { "localhost:5000/api:v5", "localhost:5000/api", NULL, "v5", NULL, NULL },
  { "api@" DG, "api", NULL, NULL, DG, NULL },
  { "api", NULL, NULL, NULL, NULL, "image spec 'api' sets nothing" },
  { "=x:1", NULL, NULL, NULL, NULL, "image spec '=x:1' has no image name" },
  { "api=:-bad", NULL, NULL, NULL, NULL, "'-bad' is not a valid tag" },
  { "api@sha256:abc", NULL, NULL, NULL, NULL, "'sha256:abc' is not a digest" },
  { "api=:v1\nx", NULL, NULL, NULL, NULL, "image spec holds spaces or control characters" },
};

static void
check_field (const char *what, const char *got, const char *want, const char *spec)
{
  if ((got == NULL) != (want == NULL) || (got != NULL && strcmp (got, want) != 0))
    fail_msg ("%s: %s is '%s', wanted '%s'", spec, what, got ? got : "(null)", want ? want : "(null)");
}

static void
test_specs (void **state)
{
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    {
      struct runner_bump_image img;
      struct hoist_error *err = NULL;
      char *buf = NULL;
      int ret = runner_bump_parse_spec (specs[i].spec, &img, &buf, &err);

      if (specs[i].error != NULL)
        {
          assert_true (ret < 0);
          if (strncmp (err->msg, specs[i].error, strlen (specs[i].error)) != 0)
            fail_msg ("%s: '%s', wanted '%s'", specs[i].spec, err->msg, specs[i].error);
          hoist_error_free (err);
        }
      else
        {
          assert_int_equal (ret, 0);
          check_field ("name", img.name, specs[i].name, specs[i].spec);
          check_field ("newName", img.new_name, specs[i].new_name, specs[i].spec);
          check_field ("newTag", img.new_tag, specs[i].new_tag, specs[i].spec);
          check_field ("digest", img.digest, specs[i].digest, specs[i].spec);
        }
      free (buf);
    }
}

static void
test_hostile (void **state)
{
  struct runner_bump_image img = { .name = "api", .new_tag = "v1" };
  struct hoist_error *err = NULL;
  char *out = NULL, *deep = malloc (100001);
  size_t n;
  bool changed;

  /* Deep nesting is refused before it costs stack. */
  memset (deep, '[', 100000);
  deep[100000] = '\0';
  assert_true (runner_bump_kustomization (deep, 100000, &img, &out, &n, &changed, &err) < 0);
  hoist_error_free (err);
  err = NULL;
  /* Two documents. */
  assert_true (runner_bump_yaml ("a: 1\n---\nb: 2\n", 14, "a", "2", &out, &n, &changed, &err) < 0);
  hoist_error_free (err);
  err = NULL;
  /* Bad key paths. */
  assert_true (runner_bump_yaml ("a: 1\n", 5, "a..b", "2", &out, &n, &changed, &err) < 0);
  hoist_error_free (err);
  free (deep);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_data_cases),
    cmocka_unit_test (test_specs),
    cmocka_unit_test (test_hostile),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
