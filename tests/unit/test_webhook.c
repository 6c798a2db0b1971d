/* test_webhook.c — GitHub's push webhook as hoist reads it: the
 * signature (RFC 4231's HMAC-SHA256 vectors and GitHub's documented
 * example), the push event's fields, hostile payloads, and the rules
 * that make a push build nothing. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/webhook.h"

#define SHA_A "1111111111111111111111111111111111111111"
#define SHA_B "2222222222222222222222222222222222222222"
#define ZERO "0000000000000000000000000000000000000000"

/* ---- signature ------------------------------------------------------ */

static void
test_signature_rfc4231 (void **state)
{
  /* RFC 4231 test case 2. */
  const char *key = "Jefe", *data = "what do ya want for nothing?";
  const char *want = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  char *got = runner_webhook_sign (key, 4, data, strlen (data));

  assert_string_equal (got, want);
  assert_true (runner_webhook_signature_ok (key, 4, data, strlen (data), want));
  free (got);
}

static void
test_signature_github_example (void **state)
{
  /* The example of GitHub's "Validating webhook deliveries". */
  const char *secret = "It's a Secret to Everybody", *body = "Hello, World!";
  const char *want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  assert_true (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), want));
}

static void
test_signature_refused (void **state)
{
  const char *secret = "s3cret-webhook", *body = "{\"zen\":\"x\"}";
  char *good = runner_webhook_sign (secret, strlen (secret), body, strlen (body));
  char *upper = strdup (good), *flipped = strdup (good), *shorter = strndup (good, 70);
  char *longer = NULL;

  assert_true (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), good));
  /* Hex digits in upper case are the same bytes. */
  for (char *p = upper + 7; *p != '\0'; p++)
    if (*p >= 'a' && *p <= 'f')
      *p = (char) (*p - 'a' + 'A');
  assert_true (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), upper));
  flipped[70] = flipped[70] == '0' ? '1' : '0';
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), flipped));
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), shorter));
  assert_true (asprintf (&longer, "%s0", good) > 0);
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), longer));
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), NULL));
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body), ""));
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body),
                                             "sha1=0123456789012345678901234567890123456789"));
  /* Right length, not hex. */
  assert_false (
      runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body),
                                   "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  /* Another secret, another body. */
  assert_false (runner_webhook_signature_ok ("other", 5, body, strlen (body), good));
  assert_false (runner_webhook_signature_ok (secret, strlen (secret), body, strlen (body) - 1, good));
  free (good);
  free (upper);
  free (flipped);
  free (shorter);
  free (longer);
}

static void
test_delivery_ids (void **state)
{
  char long_id[130];

  assert_true (runner_webhook_delivery_valid ("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
  assert_false (runner_webhook_delivery_valid (NULL));
  assert_false (runner_webhook_delivery_valid (""));
  assert_false (runner_webhook_delivery_valid ("a b"));
  assert_false (runner_webhook_delivery_valid ("a\nb"));
  assert_false (runner_webhook_delivery_valid ("../x"));
  memset (long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  assert_false (runner_webhook_delivery_valid (long_id));
}

/* ---- the push event ------------------------------------------------- */

static const char push_json[]
    = "{\"ref\":\"refs/heads/main\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B "\","
      "\"created\":false,\"deleted\":false,\"forced\":false,"
      "\"repository\":{\"full_name\":\"acme/shop\",\"clone_url\":\"https://github.com/acme/shop.git\"},"
      "\"head_commit\":{\"message\":\"api: faster\\n\\nmore words\"},"
      "\"commits\":["
      "{\"committer\":{\"email\":\"dev@acme.test\"},\"added\":[\"api/new.go\"],\"modified\":[\"api/main.go\","
      "\"README.md\"],\"removed\":[]},"
      "{\"committer\":{\"email\":\"dev@acme.test\"},\"added\":[],\"modified\":[\"api/main.go\"],\"removed\":[\"old."
      "txt\"]}]}";

static void
test_push_fields (void **state)
{
  struct hoist_error *err = NULL;
  struct runner_push p;

  assert_int_equal (runner_push_parse (push_json, strlen (push_json), &p, &err), 0);
  assert_string_equal (p.repo, "acme/shop");
  assert_string_equal (p.clone_url, "https://github.com/acme/shop.git");
  assert_string_equal (p.ref, "refs/heads/main");
  assert_string_equal (p.before, SHA_A);
  assert_string_equal (p.after, SHA_B);
  assert_false (p.created || p.deleted || p.forced);
  assert_string_equal (p.message, "api: faster\n\nmore words");
  assert_true (p.files_complete);
  /* Sorted, repeats gone, removed files included. */
  assert_int_equal (hoist_strv_len (p.files), 4);
  assert_string_equal (p.files[0], "README.md");
  assert_string_equal (p.files[1], "api/main.go");
  assert_string_equal (p.files[2], "api/new.go");
  assert_string_equal (p.files[3], "old.txt");
  assert_int_equal (hoist_strv_len (p.committers), 2);
  runner_push_release (&p);
}

struct bad_case
{
  const char *json;
  const char *message;
};

static const struct bad_case bad_pushes[] = {
  { "", "push event is not JSON" },
  { "[]", "push event is not a JSON object" },
  { "{\"ref\":\"refs/heads/main\"}", "push event has no 'repository' object" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"before\":\"" SHA_A "\",\"after\":\"" SHA_B "\"}",
    "push event has no 'ref'" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"main\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B "\"}",
    "push event's 'ref' is not a full ref: 'main'" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"abc\",\"after\":\"" SHA_B "\"}",
    "push event's 'before' and 'after' must be 40 lowercase hex digits" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\\r\\nX: y\",\"before\":\"" SHA_A
    "\",\"after\":\"" SHA_B "\"}",
    "push event's 'ref' is too long or holds control characters" },
  { "{\"repository\":{\"full_name\":\"a/b\\u0000c\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A
    "\",\"after\":\"" SHA_B "\"}",
    "push event is not JSON: \\u0000 is not allowed" },
  { "{\"repository\":{\"full_name\":1},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B "\"}",
    "push event's 'repository.full_name' is not a string" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B
    "\",\"forced\":\"yes\"}",
    "push event's 'forced' is not a boolean" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B
    "\",\"commits\":{}}",
    "push event's 'commits' is not a list" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B
    "\",\"commits\":[{\"added\":[7]}]}",
    "push event's 'commits[0].added[0]' is not a path" },
  { "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A "\",\"after\":\"" SHA_B
    "\",\"ref\":\"refs/heads/y\"}",
    "push event is not JSON" },
};

static void
test_push_malformed (void **state)
{
  for (size_t i = 0; i < sizeof bad_pushes / sizeof bad_pushes[0]; i++)
    {
      struct hoist_error *err = NULL;
      struct runner_push p;

      assert_int_equal (runner_push_parse (bad_pushes[i].json, strlen (bad_pushes[i].json), &p, &err), -1);
      assert_non_null (err);
      if (strncmp (err->msg, bad_pushes[i].message, strlen (bad_pushes[i].message)) != 0)
        fail_msg ("case %zu: '%s', wanted '%s'", i, err->msg, bad_pushes[i].message);
      for (const char *c = err->msg; *c != '\0'; c++)
        assert_true ((unsigned char) *c >= 0x20);
      assert_null (p.repo);
      hoist_error_free (err);
    }
}

static void
test_push_hostile_sizes (void **state)
{
  struct hoist_error *err = NULL;
  struct runner_push p;
  char *big;
  size_t n;
  FILE *f = open_memstream (&big, &n);

  /* More paths than kept: the list is marked incomplete, never grows past the cap. */
  fprintf (f, "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A
              "\",\"after\":\"" SHA_B "\",\"commits\":[{\"added\":[");
  for (int i = 0; i < RUNNER_WEBHOOK_MAX_FILES + 10; i++)
    fprintf (f, "%s\"f%d\"", i ? "," : "", i);
  fprintf (f, "]}]}");
  fclose (f);
  assert_int_equal (runner_push_parse (big, n, &p, &err), 0);
  assert_false (p.files_complete);
  assert_int_equal (hoist_strv_len (p.files), RUNNER_WEBHOOK_MAX_FILES);
  runner_push_release (&p);
  free (big);

  /* Deep nesting is refused by jansson's depth limit, not the stack. */
  big = malloc (400001);
  memset (big, '[', 400000);
  big[400000] = '\0';
  assert_int_equal (runner_push_parse (big, 400000, &p, &err), -1);
  hoist_error_free (err);
  free (big);
}

static void
test_commit_cap_is_incomplete (void **state)
{
  struct hoist_error *err = NULL;
  struct runner_push p;
  char *json;
  size_t n;
  FILE *f = open_memstream (&json, &n);

  fprintf (f, "{\"repository\":{\"full_name\":\"a/b\"},\"ref\":\"refs/heads/x\",\"before\":\"" SHA_A
              "\",\"after\":\"" SHA_B "\",\"commits\":[");
  for (int i = 0; i < RUNNER_WEBHOOK_COMMITS_CAP; i++)
    fprintf (f, "%s{\"added\":[],\"modified\":[\"a\"],\"removed\":[]}", i ? "," : "");
  fprintf (f, "]}");
  fclose (f);
  assert_int_equal (runner_push_parse (json, n, &p, &err), 0);
  assert_false (p.files_complete);
  runner_push_release (&p);
  free (json);
}

/* ---- skip rules ----------------------------------------------------- */

static void
test_skip_markers (void **state)
{
  static const char *const skip[] = {
    "fix [skip ci]",
    "[ci skip] fix",
    "x [no ci]",
    "[SKIP CI]",
    "y [skip actions]",
    "[actions skip]",
    "fix\n\nskip-checks: true",
    "fix\n\nSigned-off-by: a <a@b>\nskip-checks:true\n",
  };
  static const char *const build[] = {
    "fix", "skip ci", "[skip-ci]", "fix\n\nskip-checks: false", "skip-checks: true is how you skip\n\nbody", NULL,
  };

  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (!runner_message_skips_ci (skip[i]))
      fail_msg ("should skip: %s", skip[i]);
  for (size_t i = 0; i < sizeof build / sizeof build[0]; i++)
    if (runner_message_skips_ci (build[i]))
      fail_msg ("should build: %s", build[i] ? build[i] : "(null)");
}

static char *api_paths[] = { "api/**", NULL };
static char *web_paths[] = { "web/**", "!web/**/*.md", NULL };
static char *main_branch[] = { "main", NULL };
static char *tag_globs[] = { "v*", NULL };

static struct runner_deploy deploys[] = {
  { .kind = RUNNER_DEPLOY_KUSTOMIZE, .file = "deploy/kustomization.yaml" },
};

static struct runner_image images[] = {
  { .name = "localhost:5000/api",
    .context = "api",
    .dockerfile = "api/Dockerfile",
    .paths = api_paths,
    .deploy = deploys,
    .n_deploy = 1 },
  { .name = "localhost:5000/web", .context = "web", .dockerfile = "docker/web.Dockerfile", .paths = web_paths },
};

static struct runner_repo repo = {
  .name = "acme/shop",
  .url = "git://127.0.0.1/shop.git",
  .branches = main_branch,
  .images = images,
  .n_images = 2,
};

static struct runner_config cfg = {
  .git_email = "hoist@localhost",
  .repos = &repo,
  .n_repos = 1,
};

static const char *
reason (const char *ref, const char *message, bool deleted, char **files, char **committers, bool complete)
{
  struct runner_push p = { .repo = "acme/shop",
                           .ref = (char *) ref,
                           .before = SHA_A,
                           .after = SHA_B,
                           .deleted = deleted,
                           .message = (char *) message,
                           .files = files,
                           .committers = committers,
                           .files_complete = complete };

  return runner_push_skip_reason (&cfg, &repo, &p);
}

static void
test_skip_rules (void **state)
{
  char *api[] = { "api/main.go", NULL }, *docs[] = { "README.md", "web/notes.md", NULL };
  char *web_dockerfile[] = { "docker/web.Dockerfile", NULL };
  char *deploy[] = { "deploy/kustomization.yaml", NULL };
  char *dev[] = { "dev@acme.test", NULL }, *hoist[] = { "hoist@localhost", NULL };

  assert_null (reason ("refs/heads/main", "api change", false, api, dev, true));
  assert_string_equal (reason ("refs/heads/main", "x", true, api, dev, true), "the ref was deleted");
  assert_string_equal (reason ("refs/heads/dev", "x", false, api, dev, true), "the ref is not configured to build");
  assert_string_equal (reason ("refs/tags/v1", "x", false, api, dev, true), "the ref is not configured to build");
  /* A tag of hoist's own bump commit builds: releases are made on purpose. */
  repo.tag_patterns = tag_globs;
  assert_null (reason ("refs/tags/v1", "chore: update api [skip ci]", false, deploy, hoist, true));
  repo.tag_patterns = NULL;
  assert_string_equal (reason ("refs/heads/main", "x [skip ci]", false, api, dev, true),
                       "the head commit asks to skip CI");
  assert_string_equal (reason ("refs/heads/main", "docs", false, docs, dev, true), "no changed path matches an image");
  /* An incomplete list never skips: the job asks git. */
  assert_null (reason ("refs/heads/main", "docs", false, docs, dev, false));
  /* A Dockerfile outside the context counts for its image. */
  assert_null (reason ("refs/heads/main", "x", false, web_dockerfile, dev, true));
  /* hoist's own bump: its identity, only deploy files; without the marker too. */
  assert_string_equal (reason ("refs/heads/main", "chore: update api", false, deploy, hoist, true),
                       "hoist's own tag bump");
  /* The same files by someone else: builds nothing either (no image path), but not as hoist's bump. */
  assert_string_equal (reason ("refs/heads/main", "manual edit", false, deploy, dev, true),
                       "no changed path matches an image");
}

static void
test_images_touched (void **state)
{
  char *files[] = { "api/x.go", "web/a.md", NULL };
  char *both[] = { "api/x.go", "web/index.html", NULL };
  bool wanted[2];

  assert_int_equal (runner_images_touched (&repo, files, wanted), 1);
  assert_true (wanted[0]);
  assert_false (wanted[1]);
  assert_int_equal (runner_images_touched (&repo, both, wanted), 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_signature_rfc4231),  cmocka_unit_test (test_signature_github_example),
    cmocka_unit_test (test_signature_refused),  cmocka_unit_test (test_delivery_ids),
    cmocka_unit_test (test_push_fields),        cmocka_unit_test (test_push_malformed),
    cmocka_unit_test (test_push_hostile_sizes), cmocka_unit_test (test_commit_cap_is_incomplete),
    cmocka_unit_test (test_skip_markers),       cmocka_unit_test (test_skip_rules),
    cmocka_unit_test (test_images_touched),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
