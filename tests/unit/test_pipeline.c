/* test_pipeline.c — hoist.yml, GitHub's filter patterns and the tag
 * templates.
 *
 * tests/data/config/<case>/ holds hoist.yml and expected: "ok", or every
 * error the configuration has, each with its line, exactly as
 * `hoist serve --check` prints them. */
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
#include <time.h>

#include "runner/pipeline.h"

static char *
slurp (const char *path, size_t *len)
{
  struct hoist_buf b;
  struct hoist_error *err = NULL;

  hoist_buf_init (&b, 1 << 20);
  if (hoist_buf_read_file (&b, path, &err) < 0)
    fail_msg ("%s", err->msg);
  return hoist_buf_detach (&b, len);
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
  snprintf (dir, sizeof dir, "%s/config", data);
  d = opendir (dir);
  assert_non_null (d);
  while ((de = readdir (d)) != NULL)
    {
      char path[4096 + 600];
      struct runner_config cfg;
      struct hoist_error *err = NULL;
      char *text, *want;
      size_t len;
      int ret;

      if (de->d_name[0] == '.')
        continue;
      snprintf (path, sizeof path, "%s/%s/hoist.yml", dir, de->d_name);
      text = slurp (path, &len);
      snprintf (path, sizeof path, "%s/%s/expected", dir, de->d_name);
      want = slurp (path, NULL);
      if (want[0] != '\0' && want[strlen (want) - 1] == '\n')
        want[strlen (want) - 1] = '\0';
      ret = runner_config_parse (text, len, "hoist.yml", &cfg, &err);
      if (strcmp (want, "ok") == 0)
        {
          if (ret < 0)
            fail_msg ("%s: %s", de->d_name, err->msg);
          runner_config_release (&cfg);
        }
      else
        {
          if (ret == 0)
            fail_msg ("%s: parsed, wanted:\n%s", de->d_name, want);
          if (strcmp (err->msg, want) != 0)
            fail_msg ("%s: got\n%s\n---- wanted\n%s", de->d_name, err->msg, want);
          assert_null (cfg.repos);
          hoist_error_free (err);
        }
      free (text);
      free (want);
      n++;
    }
  closedir (d);
  assert_true (n >= 20);
}

static void
test_defaults (void **state)
{
  static const char text[] = "webhook_secret_file: /etc/hoist/secret\n"
                             "repositories:\n"
                             "  - name: acme/shop\n"
                             "    url: https://github.com/acme/shop.git\n"
                             "    images:\n"
                             "      - name: ghcr.io/acme/api\n"
                             "        context: api\n"
                             "      - name: ghcr.io/acme/root\n";
  struct runner_config cfg;
  struct hoist_error *err = NULL;
  const struct runner_repo *repo;

  assert_int_equal (runner_config_parse (text, strlen (text), "t", &cfg, &err), 0);
  assert_string_equal (cfg.listen, "127.0.0.1:8080");
  assert_string_equal (cfg.state_dir, "/var/lib/hoist");
  assert_string_equal (cfg.git_name, "hoist");
  assert_string_equal (cfg.git_email, "hoist@localhost");
  assert_string_equal (cfg.status_api, "https://api.github.com");
  assert_string_equal (cfg.commit_message, "chore: update {image} image to {tag} [skip ci]");
  assert_int_equal (cfg.concurrency, 1);
  assert_int_equal (cfg.bump_retries, 5);
  assert_int_equal (cfg.job_timeout, 3600);
  assert_null (cfg.token_file);
  repo = runner_config_repo (&cfg, "ACME/Shop");
  assert_non_null (repo);
  assert_null (runner_config_repo (&cfg, "acme/other"));
  assert_string_equal (repo->branches[0], "main");
  assert_string_equal (repo->deploy_branch, "main");
  assert_string_equal (repo->images[0].dockerfile, "api/Dockerfile");
  assert_string_equal (repo->images[0].paths[0], "api/**");
  assert_string_equal (repo->images[0].tags[0], "{sha}");
  assert_string_equal (repo->images[1].context, ".");
  assert_string_equal (repo->images[1].dockerfile, "Dockerfile");
  assert_string_equal (repo->images[1].paths[0], "**");
  assert_true (runner_repo_wants_ref (repo, "refs/heads/main"));
  assert_false (runner_repo_wants_ref (repo, "refs/heads/dev"));
  assert_false (runner_repo_wants_ref (repo, "refs/tags/v1"));
  runner_config_release (&cfg);
}

static void
test_example (void **state)
{
  const char *src = getenv ("HOIST_SRCDIR");
  char path[4096];
  struct runner_config cfg;
  struct hoist_error *err = NULL;
  const struct runner_repo *repo;
  const struct runner_image *api;

  if (src == NULL)
    skip ();
  snprintf (path, sizeof path, "%s/deploy/hoist.yml", src);
  if (runner_config_load (path, &cfg, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (cfg.concurrency, 2);
  assert_int_equal (cfg.job_timeout, 3600);
  repo = runner_config_repo (&cfg, "acme/shop");
  assert_non_null (repo);
  assert_true (runner_repo_wants_ref (repo, "refs/heads/release/1.2"));
  assert_true (runner_repo_wants_ref (repo, "refs/tags/v1.2.3"));
  api = &repo->images[0];
  assert_string_equal (api->target, "runtime");
  assert_string_equal (api->build_args[0], "GO_VERSION=1.22");
  assert_int_equal (api->n_deploy, 1);
  assert_int_equal (api->deploy[0].kind, RUNNER_DEPLOY_KUSTOMIZE);
  assert_true (api->deploy[0].pin_digest);
  assert_string_equal (api->deploy[0].image, "shop-api");
  assert_int_equal (repo->images[1].deploy[0].kind, RUNNER_DEPLOY_YAML);
  assert_string_equal (repo->images[1].deploy[0].key, "web.image.tag");
  assert_true (runner_paths_match (api->paths, "api/main.go"));
  assert_true (runner_paths_match (api->paths, "go.mod"));
  assert_false (runner_paths_match (api->paths, "api/docs/README.md"));
  runner_config_release (&cfg);
}

struct glob_case
{
  const char *pattern, *path;
  bool match;
};

/* GitHub's "Filter pattern cheat sheet" rows, and the edges around them. */
static const struct glob_case globs[] = {
  { "feature/*", "feature/my-branch", true },
  { "feature/*", "feature/your-branch", true },
  { "feature/*", "feature/a/b", false },
  { "feature/**", "feature/beta-a/my-branch", true },
  { "main", "main", true },
  { "main", "mains", false },
  { "releases/mona-the-octocat", "releases/mona-the-octocat", true },
  { "*", "main", true },
  { "*", "releases/x", false },
  { "**", "all/the/branches", true },
  { "'*'", "'x'", true },
  { "*feature", "mona-feature", true },
  { "*feature", "feature", true },
  { "ver*", "ver-10", true },
  { "v2*", "v2-beta", true },
  { "v[12].[0-9]+.[0-9]+", "v1.10.1", true },
  { "v[12].[0-9]+.[0-9]+", "v2.0.9", true },
  { "v[12].[0-9]+.[0-9]+", "v3.0.0", false },
  { "v[12].[0-9]+.[0-9]+", "v1..1", false },
  { "*.js", "app.js", true },
  { "*.js", "js/index.js", false },
  { "**.js", "js/index.js", true },
  { "docs/*", "docs/README.md", true },
  { "docs/*", "docs/a/b.md", false },
  { "docs/**", "docs/mona/octocat.txt", true },
  { "docs/**/*.md", "docs/README.md", true },
  { "docs/**/*.md", "docs/a/b/c.md", true },
  { "**/docs/**", "a/b/docs/x/y", true },
  { "**/docs/**", "docs/x", true },
  { "**/README.md", "README.md", true },
  { "**/README.md", "a/README.md", true },
  { "**/*src/**", "a/b/src/x", true },
  { "**/*-post.md", "my-post.md", true },
  { "**/*-post.md", "path/their-post.md", true },
  { "**/migrate-*.sql", "my/migrate-10909.sql", true },
  { "*.md", "README.md", true },
  { "*.jsx?", "page.js", true },
  { "*.jsx?", "page.jsx", true },
  { "*.jsx?", "page.jsxx", false },
  { "\\*.md", "*.md", true },
  { "\\*.md", "a.md", false },
};

static void
test_globs (void **state)
{
  for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
    if (runner_glob_match (globs[i].pattern, globs[i].path) != globs[i].match)
      fail_msg ("'%s' against '%s': wanted %s", globs[i].pattern, globs[i].path, globs[i].match ? "a match" : "none");
}

static void
test_glob_lists (void **state)
{
  char *ordered[] = { "api/**", "!api/**/*.md", "api/CHANGES.md", NULL };
  char *only_negative[] = { "!docs/**", NULL };
  const char *why = NULL;

  assert_true (runner_paths_match (ordered, "api/x.go"));
  assert_false (runner_paths_match (ordered, "api/docs/x.md"));
  /* The last matching pattern wins: a later positive pattern re-includes. */
  assert_true (runner_paths_match (ordered, "api/CHANGES.md"));
  assert_false (runner_paths_match (only_negative, "src/a.c"));
  assert_false (runner_paths_match (NULL, "a"));
  assert_false (runner_glob_valid ("[abc", &why));
  assert_false (runner_glob_valid ("a***", &why));
  assert_false (runner_glob_valid ("+a", &why));
  assert_false (runner_glob_valid ("a\\", &why));
  assert_false (runner_glob_valid ("", &why));
  assert_true (runner_glob_valid ("a/**/b?c+[x-z]", &why));
}

/* A pattern that makes backtracking matchers exponential is linear here. */
static void
test_glob_time (void **state)
{
  char path[4001];
  clock_t t0 = clock ();

  memset (path, 'a', 4000);
  path[4000] = '\0';
  for (int i = 0; i < 20; i++)
    assert_false (runner_glob_match ("**a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
  assert_true ((double) (clock () - t0) / CLOCKS_PER_SEC < 5.0);
}

struct tag_case
{
  const char *tmpl;
  const char *branch, *tag;
  int ret;
  const char *out;
};

#define SHA "0123456789abcdef0123456789abcdef01234567"

static const struct tag_case tags[] = {
  { "{sha}", "main", NULL, 1, SHA },
  { "{branch}-{short_sha}", "feature/login", NULL, 1, "feature-login-0123456" },
  { "{tag}", "main", NULL, 0, NULL },
  { "{version}", NULL, "v1.2.3", 1, "1.2.3" },
  { "{major}.{minor}", NULL, "v1.2.3", 1, "1.2" },
  { "v{major}", NULL, "1.20.3-rc.1", 1, "v1" },
  { "{patch}", NULL, "v1.2.3+build.5", 1, "3" },
  { "{major}", NULL, "latest", 0, NULL },
  { "{major}", NULL, "v01.2.3", 0, NULL },
  { "{tag}", NULL, "v1.0.0", 1, "v1.0.0" },
  { "stable", "main", NULL, 1, "stable" },
  { "{branch}", "a+b", NULL, -1, NULL },
  { "-{sha}", "main", NULL, -1, NULL },
  { "{nope}", "main", NULL, -1, NULL },
};

static void
test_tags (void **state)
{
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
    {
      struct runner_tag_vars vars = { .sha = SHA, .branch = tags[i].branch, .tag = tags[i].tag };
      struct hoist_error *err = NULL;
      char *out = NULL;
      int ret = runner_tag_expand (tags[i].tmpl, &vars, &out, &err);

      if ((ret < 0 ? -1 : ret) != tags[i].ret)
        fail_msg ("'%s': returned %d, wanted %d (%s)", tags[i].tmpl, ret, tags[i].ret, err ? err->msg : "");
      if (tags[i].out != NULL)
        assert_string_equal (out, tags[i].out);
      else
        assert_null (out);
      free (out);
      hoist_error_free (err);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_data_cases), cmocka_unit_test (test_defaults),   cmocka_unit_test (test_example),
    cmocka_unit_test (test_globs),      cmocka_unit_test (test_glob_lists), cmocka_unit_test (test_glob_time),
    cmocka_unit_test (test_tags),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
