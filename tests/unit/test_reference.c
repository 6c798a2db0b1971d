/* test_reference.c — image reference parsing and printing.
 *
 * The expectations are docker's: the rows follow distribution/reference's
 * documented behaviour (ParseNormalizedNamed + TagNameOnly, its test
 * tables in normalize_test.go and reference_test.go), except the rows
 * marked "hoist:", where hoist deliberately differs (see
 * registry/reference.c).  Every valid row is also printed, parsed again
 * and compared (the round trip). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "registry/registry.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DGST "sha256:" HEX64
#define FFFF64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

struct ok_case
{
  const char *in;
  const char *domain;
  const char *path;
  const char *tag;    /* NULL: none */
  const char *digest; /* NULL: none */
  const char *string; /* registry_ref_string */
};

static const struct ok_case ok_cases[] = {
  /* Docker Hub: the domain is implied, one component gets "library/",
   * no tag means "latest". */
  { "busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
  { "busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36" },
  { "library/busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
  { "docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
  { "docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
  { "index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
  { "index.docker.io/library/debian", "docker.io", "library/debian", "latest", NULL,
    "docker.io/library/debian:latest" },
  { "index.docker.io/docker/docker", "docker.io", "docker/docker", "latest", NULL, "docker.io/docker/docker:latest" },
  { "docker/docker", "docker.io", "docker/docker", "latest", NULL, "docker.io/docker/docker:latest" },
  { "docker.io/docker/docker", "docker.io", "docker/docker", "latest", NULL, "docker.io/docker/docker:latest" },
  { "library/foo/bar", "docker.io", "library/foo/bar", "latest", NULL, "docker.io/library/foo/bar:latest" },
  { "other/library", "docker.io", "other/library", "latest", NULL, "docker.io/other/library:latest" },
  { "docker.io/library", "docker.io", "library/library", "latest", NULL, "docker.io/library/library:latest" },
  { "ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", NULL,
    "docker.io/library/ubuntu-12.04-base:latest" },
  /* Other registries: no "library/". */
  { "ghcr.io/org/app:1.2.3", "ghcr.io", "org/app", "1.2.3", NULL, "ghcr.io/org/app:1.2.3" },
  { "ghcr.io/app", "ghcr.io", "app", "latest", NULL, "ghcr.io/app:latest" },
  { "ghcr.io/org/team/sub/app", "ghcr.io", "org/team/sub/app", "latest", NULL, "ghcr.io/org/team/sub/app:latest" },
  { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL,
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag" },
  { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com",
    NULL, "b.gcr.io/test.example.com/my-app:test.example.com" },
  { "my-registry.local:443/team/app", "my-registry.local:443", "team/app", "latest", NULL,
    "my-registry.local:443/team/app:latest" },
  { "REGISTRY.Example.com/app", "REGISTRY.Example.com", "app", "latest", NULL, "REGISTRY.Example.com/app:latest" },
  /* A domain other than exactly "docker.io" is not Docker Hub. */
  { "Docker.io/foo", "Docker.io", "foo", "latest", NULL, "Docker.io/foo:latest" },
  { "docker.io:443/foo", "docker.io:443", "foo", "latest", NULL, "docker.io:443/foo:latest" },
  /* localhost is a domain only before a '/'. */
  { "localhost/foo", "localhost", "foo", "latest", NULL, "localhost/foo:latest" },
  { "localhost/library/debian", "localhost", "library/debian", "latest", NULL, "localhost/library/debian:latest" },
  { "localhost:5000/foo:bar", "localhost:5000", "foo", "bar", NULL, "localhost:5000/foo:bar" },
  { "localhost:65535/x", "localhost:65535", "x", "latest", NULL, "localhost:65535/x:latest" },
  { "localhost", "docker.io", "library/localhost", "latest", NULL, "docker.io/library/localhost:latest" },
  { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "docker.io/library/localhost:5000" },
  { "example.com", "docker.io", "library/example.com", "latest", NULL, "docker.io/library/example.com:latest" },
  { "test.com:tag", "docker.io", "library/test.com", "tag", NULL, "docker.io/library/test.com:tag" },
  { "test_com", "docker.io", "library/test_com", "latest", NULL, "docker.io/library/test_com:latest" },
  { "foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", NULL, "docker.io/library/foo_bar.com:8080" },
  { "foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", NULL, "docker.io/foo/foo_bar.com:8080" },
  /* IPv4 and ports. */
  { "192.168.0.1", "docker.io", "library/192.168.0.1", "latest", NULL, "docker.io/library/192.168.0.1:latest" },
  { "192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", NULL, "docker.io/library/192.168.0.1:80" },
  { "192.168.1.1/repo", "192.168.1.1", "repo", "latest", NULL, "192.168.1.1/repo:latest" },
  { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL, "192.168.1.1:5000/repo:5050" },
  { "127.0.0.1:5000/private/moonbase", "127.0.0.1:5000", "private/moonbase", "latest", NULL,
    "127.0.0.1:5000/private/moonbase:latest" },
  { "test:5000/repo", "test:5000", "repo", "latest", NULL, "test:5000/repo:latest" },
  /* IPv6 in brackets. */
  { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", NULL, "[2001:db8::1]/repo:latest" },
  { "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL, "[2001:db8::1]:5000/repo:tag" },
  { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL,
    "[2001:db8:1:2:3:4:5:6]/repo:tag" },
  { "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "latest", NULL, "[2001:db8::]:5000/repo:latest" },
  { "[::1]:5000/repo", "[::1]:5000", "repo", "latest", NULL, "[::1]:5000/repo:latest" },
  { "[FC00::A]/repo", "[FC00::A]", "repo", "latest", NULL, "[FC00::A]/repo:latest" },
  /* An uppercase first component is a domain (namespaces never have
   * uppercase): docker's splitDockerDomain. */
  { "Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest" },
  { "DOCKER/docker", "DOCKER", "docker", "latest", NULL, "DOCKER/docker:latest" },
  { "LOCALDOMAIN/library/debian", "LOCALDOMAIN", "library/debian", "latest", NULL,
    "LOCALDOMAIN/library/debian:latest" },
  /* Path component separators. */
  { "dock__er/docker", "docker.io", "dock__er/docker", "latest", NULL, "docker.io/dock__er/docker:latest" },
  { "docker---rules/docker", "docker.io", "docker---rules/docker", "latest", NULL,
    "docker.io/docker---rules/docker:latest" },
  { "x/a.b_c__d-e--f", "docker.io", "x/a.b_c__d-e--f", "latest", NULL, "docker.io/x/a.b_c__d-e--f:latest" },
  { "d/docker", "docker.io", "d/docker", "latest", NULL, "docker.io/d/docker:latest" },
  { "jess/t", "docker.io", "jess/t", "latest", NULL, "docker.io/jess/t:latest" },
  { "0/0", "docker.io", "0/0", "latest", NULL, "docker.io/0/0:latest" },
  { "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
    "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", NULL,
    "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest" },
  /* A 64-hex string is refused only alone. */
  { "docker.io/" HEX64, "docker.io", "library/" HEX64, "latest", NULL, "docker.io/library/" HEX64 ":latest" },
  { HEX64 ":tag", "docker.io", "library/" HEX64, "tag", NULL, "docker.io/library/" HEX64 ":tag" },
  /* "sha256:<hex>" alone is a repository "sha256" with a tag. */
  { DGST, "docker.io", "library/sha256", HEX64, NULL, "docker.io/library/sha256:" HEX64 },
  /* Tags: \w then [\w.-], uppercase allowed. */
  { "lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL,
    "docker.io/library/lowercase:Uppercase" },
  { "busybox:_under", "docker.io", "library/busybox", "_under", NULL, "docker.io/library/busybox:_under" },
  { "busybox:1.0-rc.1_X", "docker.io", "library/busybox", "1.0-rc.1_X", NULL, "docker.io/library/busybox:1.0-rc.1_X" },
  { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL,
    "xn--n3h.com/myimage:xn--n3h.com" },
  /* Digests: no "latest" is added; a tag and a digest are both kept. */
  { "busybox@" DGST, "docker.io", "library/busybox", NULL, DGST, "docker.io/library/busybox@" DGST },
  { "busybox:latest@" DGST, "docker.io", "library/busybox", "latest", DGST, "docker.io/library/busybox:latest@" DGST },
  { "test:5000/repo@sha256:" FFFF64, "test:5000", "repo", NULL, "sha256:" FFFF64, "test:5000/repo@sha256:" FFFF64 },
  { "test:5000/repo:tag@sha256:" FFFF64, "test:5000", "repo", "tag", "sha256:" FFFF64,
    "test:5000/repo:tag@sha256:" FFFF64 },
  { "[2001:db8::1]:5000/repo:tag@" DGST, "[2001:db8::1]:5000", "repo", "tag", DGST,
    "[2001:db8::1]:5000/repo:tag@" DGST },
  { "xn--7o8h.com/myimage:xn--7o8h.com@" DGST, "xn--7o8h.com", "myimage", "xn--7o8h.com", DGST,
    "xn--7o8h.com/myimage:xn--7o8h.com@" DGST },
  { "localhost:5000@" DGST, "docker.io", "library/localhost", "5000", DGST, "docker.io/library/localhost:5000@" DGST },
};

struct bad_case
{
  const char *in;
  const char *why; /* the message after "invalid reference '<in>': " */
};

#define BAD_HOST_NAME "a host name is letters, digits and inner '-', in labels separated by '.'"
#define BAD_PORT "the port must be a number from 1 to 65535"
#define BAD_IPV6 "not an IPv6 address between the brackets"
#define BAD_CHARS "only lowercase letters, digits, '.', '_' and '-' are allowed"
#define BAD_ENDS "it must start and end with a lowercase letter or digit"
#define BAD_SEP "separators are one '.', one or two '_', or any run of '-'"

static const struct bad_case bad_cases[] = {
  { "", "reference is empty" },
  { HEX64, "a 64-digit hex string is an image id, not a repository name" },
  /* Uppercase in the path. */
  { "foo/Bar", "repository name must be lowercase" },
  { "Uppercase:tag", "repository name must be lowercase" },
  { "docker/Docker", "repository name must be lowercase" },
  { "docker.io/docker/Docker", "repository name must be lowercase" },
  { "test:5000/Uppercase/lowercase:tag", "repository name must be lowercase" },
  { "localhost/Foo@" DGST, "repository name must be lowercase" },
  /* A first component taken as a domain for its uppercase, that is no
   * host name but would be a namespace in lowercase. */
  { "Foo_bar/baz", "repository name must be lowercase" },
  { "LOCAL-/foo", "invalid registry host 'LOCAL-': " BAD_HOST_NAME },
  /* Path components. */
  { "-docker", "invalid path component '-docker': " BAD_ENDS },
  { "-docker/docker", "invalid path component '-docker': " BAD_ENDS },
  { "docker-/docker", "invalid path component 'docker-': " BAD_ENDS },
  { "-docker-/docker", "invalid path component '-docker-': " BAD_ENDS },
  { "____/____", "invalid path component '____': " BAD_ENDS },
  { "_docker/_docker", "invalid path component '_docker': " BAD_ENDS },
  { "docker/dock..er", "invalid path component 'dock..er': " BAD_SEP },
  { "docker/dock_.er", "invalid path component 'dock_.er': " BAD_SEP },
  { "docker/dock-.er", "invalid path component 'dock-.er': " BAD_SEP },
  { "dock___er/docker", "invalid path component 'dock___er': " BAD_SEP },
  { "docker/dock.-er", "invalid path component 'dock.-er': " BAD_SEP },
  { "dock..er", "invalid path component 'dock..er': " BAD_SEP },
  /* A first component with a '.' is a host, even one that fails. */
  { "dock..er/docker", "invalid registry host 'dock..er': " BAD_HOST_NAME },
  { "docker/", "invalid path component '': empty path component" },
  { "docker///docker", "invalid path component '': empty path component" },
  { "docker.io/docker///docker", "invalid path component '': empty path component" },
  { "/busybox", "invalid path component '': empty path component" },
  { "aa/asdf$$^/aa", "invalid path component 'asdf$$^': " BAD_CHARS },
  { "foo bar", "invalid path component 'foo bar': " BAD_CHARS },
  { " busybox", "invalid path component ' busybox': " BAD_CHARS },
  { "[fc00::1]", "invalid path component '[fc00': " BAD_CHARS },
  { "[fc00::1]:5000", "invalid path component '[fc00': " BAD_CHARS },
  { "[zzz]/foo", "invalid path component '[zzz]': " BAD_CHARS },
  { "docker.io/", "repository path is empty" },
  { "localhost/", "repository path is empty" },
  { ":justtag", "repository name is missing" },
  { "@" DGST, "repository name is missing" },
  { ":tag@" DGST, "repository name is missing" },
  /* Registry hosts. */
  { "https://github.com/docker/docker", "invalid registry host 'https:': " BAD_PORT },
  { "-docker.io/docker/docker", "invalid registry host '-docker.io': " BAD_HOST_NAME },
  { "a..b.com/foo", "invalid registry host 'a..b.com': " BAD_HOST_NAME },
  { "example.com./foo", "invalid registry host 'example.com.': " BAD_HOST_NAME },
  { "exa$mple.com/foo", "invalid registry host 'exa$mple.com': " BAD_HOST_NAME },
  /* hoist: docker reads this as a path with no domain at all. */
  { "my_reg.local/app", "invalid registry host 'my_reg.local': " BAD_HOST_NAME },
  { "a.b_c__d-e--f/x", "invalid registry host 'a.b_c__d-e--f': " BAD_HOST_NAME },
  { ":5000/foo", "invalid registry host ':5000': empty host name" },
  { "fc00::1:5000/debian", "invalid registry host 'fc00::1:5000': " BAD_PORT },
  { "foo:bar/baz", "invalid registry host 'foo:bar': " BAD_PORT },
  { "ubuntu:1.0/x", "invalid registry host 'ubuntu:1.0': " BAD_PORT },
  { "localhost:/foo", "invalid registry host 'localhost:': " BAD_PORT },
  { "localhost:5x/foo", "invalid registry host 'localhost:5x': " BAD_PORT },
  /* hoist: docker takes any digits as a port. */
  { "localhost:0/foo", "invalid registry host 'localhost:0': " BAD_PORT },
  { "localhost:65536/foo", "invalid registry host 'localhost:65536': " BAD_PORT },
  { "localhost:123456/foo", "invalid registry host 'localhost:123456': " BAD_PORT },
  { "[fe80::1%eth0]:5000/debian", "invalid registry host '[fe80::1%eth0]:5000': " BAD_IPV6 },
  { "[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry host '[2001:db8:3:4::192.0.2.33]:5000': " BAD_IPV6 },
  /* hoist: docker takes any hex digits and colons in brackets. */
  { "[:::]/foo", "invalid registry host '[:::]': " BAD_IPV6 },
  { "[1:2:3:4:5:6:7:8:9]/foo", "invalid registry host '[1:2:3:4:5:6:7:8:9]': " BAD_IPV6 },
  { "[]:5000/foo", "invalid registry host '[]:5000': " BAD_IPV6 },
  { "[::1/foo", "invalid registry host '[::1': '[' without ']'" },
  { "[::1]x:5/foo", "invalid registry host '[::1]x:5': only a ':port' may follow ']'" },
  { "[::1]:/foo", "invalid registry host '[::1]:': " BAD_PORT },
  /* Tags. */
  { "busybox:", "empty tag after ':'" },
  { "busybox:-tag", "tag '-tag' must start with a letter, a digit or '_'" },
  { "busybox:.x", "tag '.x' must start with a letter, a digit or '_'" },
  { "busybox:a$b", "tag 'a$b' may hold only letters, digits, '_', '.' and '-'" },
  { "a:b:c", "tag 'b:c' may hold only letters, digits, '_', '.' and '-'" },
  /* A ':' before a '/' starts no tag. */
  { "localhost:5000/foo:b/r", "invalid path component 'foo:b': " BAD_CHARS },
  /* Digests. */
  { "busybox@", "empty digest after '@'" },
  { "busybox:1@", "empty digest after '@'" },
  { "busybox@sha256", "digest 'sha256' is not algorithm:hex" },
  { "busybox@sha256:", "digest 'sha256:' is not algorithm:hex" },
  { "busybox@:" HEX64, "digest ':" HEX64 "' is not algorithm:hex" },
  { "busybox@SHA256:" HEX64, "digest 'SHA256:" HEX64 "' is not algorithm:hex" },
  { "busybox@sha256-:" HEX64, "digest 'sha256-:" HEX64 "' is not algorithm:hex" },
  { "busybox@" DGST "@x", "digest '" DGST "@x' is not algorithm:hex" },
  { "busybox@sha512:" HEX64 HEX64, "unsupported digest algorithm 'sha512' (only sha256 is supported)" },
  { "validname@invaliddigest:" HEX64, "unsupported digest algorithm 'invaliddigest' (only sha256 is supported)" },
  { "busybox@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    "unsupported digest algorithm 'sha256+b64u' (only sha256 is supported)" },
  { "busybox@sha256:ffff", "sha256 digest 'sha256:ffff' is not 64 lowercase hex digits" },
  { "repo@sha256:ffffffffffffffffffffffffffffffffff",
    "sha256 digest 'sha256:ffffffffffffffffffffffffffffffffff' is not 64 lowercase hex digits" },
  { "busybox@sha256:" HEX64 "0", "sha256 digest '" DGST "0' is not 64 lowercase hex digits" },
  { "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
    "sha256 digest 'sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef' is not 64 "
    "lowercase hex digits" },
  { "busybox@sha256:gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
    "sha256 digest 'sha256:gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg' is not 64 "
    "lowercase hex digits" },
  /* Problems are reported name first, then tag, then digest. */
  { "Foo:-x@sha1:y", "repository name must be lowercase" },
  { "foo:-x@sha1:y", "tag '-x' must start with a letter, a digit or '_'" },
};

static void
expect_fields (size_t i, const char *in, const struct registry_ref *r, const struct ok_case *c, size_t *failures)
{
  cleanup_free char *s = registry_ref_string (r);

  if (strcmp (r->domain, c->domain) != 0 || strcmp (r->path, c->path) != 0 || (r->tag == NULL) != (c->tag == NULL)
      || (c->tag != NULL && strcmp (r->tag, c->tag) != 0) || (r->digest == NULL) != (c->digest == NULL)
      || (c->digest != NULL && strcmp (r->digest, c->digest) != 0) || strcmp (s, c->string) != 0)
    {
      print_error ("case %zu: '%s': got domain '%s' path '%s' tag '%s' digest '%s' string '%s'\n", i, in, r->domain,
                   r->path, r->tag ? r->tag : "(null)", r->digest ? r->digest : "(null)", s);
      (*failures)++;
    }
}

static void
test_valid_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (ok_cases); i++)
    {
      struct registry_ref r;
      struct hoist_error *err = NULL;

      if (registry_ref_parse (ok_cases[i].in, &r, &err) < 0)
        {
          print_error ("case %zu: '%s': unexpected error: %s\n", i, ok_cases[i].in, err->msg);
          hoist_error_free (err);
          failures++;
          continue;
        }
      assert_null (err);
      expect_fields (i, ok_cases[i].in, &r, &ok_cases[i], &failures);
      registry_ref_release (&r);
    }
  assert_int_equal (failures, 0);
}

/* The printed form of every valid row parses to the same reference, and
 * the repository alone to the same name with tag "latest". */
static void
test_round_trip (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (ok_cases); i++)
    {
      const struct ok_case *c = &ok_cases[i];
      struct registry_ref r, repo;
      struct hoist_error *err = NULL;
      cleanup_free char *name = hoist_xasprintf ("%s/%s", c->domain, c->path);
      cleanup_free char *repo_s = NULL;

      if (registry_ref_parse (c->string, &r, &err) < 0)
        {
          print_error ("case %zu: '%s' does not parse again: %s\n", i, c->string, err->msg);
          hoist_error_free (err);
          failures++;
          continue;
        }
      expect_fields (i, c->string, &r, c, &failures);
      repo_s = registry_ref_repository (&r);
      assert_string_equal (repo_s, name);
      assert_int_equal (registry_ref_parse (repo_s, &repo, NULL), 0);
      assert_string_equal (repo.domain, c->domain);
      assert_string_equal (repo.path, c->path);
      assert_string_equal (repo.tag, "latest");
      assert_null (repo.digest);
      registry_ref_release (&repo);
      registry_ref_release (&r);
    }
  assert_int_equal (failures, 0);
}

static bool
check_failure (const char *in, const char *expected, size_t i)
{
  struct registry_ref r;
  struct hoist_error *err = NULL;
  int ret = registry_ref_parse (in, &r, &err);
  bool ok = ret == -EINVAL && err != NULL && err->status == EINVAL && strcmp (err->msg, expected) == 0;

  if (!ok)
    print_error ("case %zu: '%s': expected \"%s\" (-EINVAL), got %d \"%s\"\n", i, in, expected, ret,
                 err != NULL ? err->msg : "success");
  if (ret == 0)
    registry_ref_release (&r);
  else if (r.domain != NULL || r.path != NULL || r.tag != NULL || r.digest != NULL)
    {
      print_error ("case %zu: '%s': output not left empty on failure\n", i, in);
      ok = false;
    }
  hoist_error_free (err);
  return ok;
}

static void
test_invalid_table (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (bad_cases); i++)
    {
      /* The message shows at most the first 128 bytes of the input. */
      cleanup_free char *expected = hoist_xasprintf ("invalid reference '%.128s%s': %s", bad_cases[i].in,
                                                     strlen (bad_cases[i].in) > 128 ? "..." : "", bad_cases[i].why);

      if (!check_failure (bad_cases[i].in, expected, i))
        failures++;
    }
  assert_int_equal (failures, 0);
}

static char *
repeat (char c, size_t n)
{
  char *s = hoist_xmalloc (n + 1);

  memset (s, c, n);
  s[n] = '\0';
  return s;
}

/* REGISTRY_NAME_MAX counts the whole normalised name, host included
 * (hoist: docker now counts the path alone). */
static void
test_name_length (void **state)
{
  struct registry_ref r;
  /* "example.com/" is 12: the path may have 243. */
  cleanup_free char *a243 = repeat ('a', 243);
  cleanup_free char *a244 = repeat ('a', 244);
  /* "docker.io/library/" is 18: one component may have 237. */
  cleanup_free char *a237 = repeat ('a', 237);
  cleanup_free char *a238 = repeat ('a', 238);
  cleanup_free char *longest = hoist_xasprintf ("example.com/%s:tag", a243);
  cleanup_free char *too_long = hoist_xasprintf ("example.com/%s:tag", a244);
  cleanup_free char *too_long_msg = NULL;
  cleanup_free char *hub_too_long_msg = NULL;
  cleanup_free char *s = NULL;

  (void) state;
  assert_int_equal (registry_ref_parse (longest, &r, NULL), 0);
  s = registry_ref_repository (&r);
  assert_int_equal (strlen (s), REGISTRY_NAME_MAX);
  registry_ref_release (&r);
  assert_int_equal (registry_ref_parse (a237, &r, NULL), 0);
  assert_int_equal (strlen (r.domain) + 1 + strlen (r.path), REGISTRY_NAME_MAX);
  registry_ref_release (&r);

  /* The message shows the first 128 bytes of the input. */
  too_long_msg = hoist_xasprintf ("invalid reference 'example.com/%.116s...': full name is 256 characters long "
                                  "(limit 255)",
                                  a244);
  assert_true (check_failure (too_long, too_long_msg, 0));
  hub_too_long_msg
      = hoist_xasprintf ("invalid reference '%.128s...': full name is 256 characters long (limit 255)", a238);
  assert_true (check_failure (a238, hub_too_long_msg, 1));
}

static void
test_tag_length (void **state)
{
  struct registry_ref r;
  cleanup_free char *t128 = repeat ('t', 128);
  cleanup_free char *t129 = repeat ('t', 129);
  cleanup_free char *ok = hoist_xasprintf ("busybox:%s", t128);
  cleanup_free char *bad = hoist_xasprintf ("busybox:%s", t129);
  cleanup_free char *msg
      = hoist_xasprintf ("invalid reference 'busybox:%.120s...': tag is 129 characters long (limit 128)", t129);

  (void) state;
  assert_int_equal (registry_ref_parse (ok, &r, NULL), 0);
  assert_string_equal (r.tag, t128);
  registry_ref_release (&r);
  assert_true (check_failure (bad, msg, 0));
}

/* Bytes outside printable ASCII are shown as \xNN. */
static void
test_error_quoting (void **state)
{
  (void) state;
  assert_true (check_failure ("busybox\n",
                              "invalid reference 'busybox\\x0a': invalid path component "
                              "'busybox\\x0a': " BAD_CHARS,
                              0));
  assert_true (check_failure ("caf\xC3\xA9",
                              "invalid reference 'caf\\xc3\\xa9': invalid path component "
                              "'caf\\xc3\\xa9': " BAD_CHARS,
                              1));
  assert_true (check_failure ("x:\x1b[31m",
                              "invalid reference 'x:\\x1b[31m': tag '\\x1b[31m' must start with a "
                              "letter, a digit or '_'",
                              2));
  assert_true (check_failure ("x@\x7f", "invalid reference 'x@\\x7f': digest '\\x7f' is not algorithm:hex", 3));
}

static void
test_null_and_release (void **state)
{
  struct registry_ref r;
  struct hoist_error *err = NULL;

  (void) state;
  assert_int_equal (registry_ref_parse (NULL, &r, &err), -EINVAL);
  assert_string_equal (err->msg, "invalid reference '': reference is empty");
  hoist_error_free (err);
  /* ERR may be NULL; a failed parse leaves R safe to release, twice. */
  assert_int_equal (registry_ref_parse ("Bad", &r, NULL), -EINVAL);
  registry_ref_release (&r);
  registry_ref_release (&r);
  registry_ref_release (NULL);
}

struct host_case
{
  const char *in;
  const char *api_host;
  bool loopback;
};

static const struct host_case host_cases[] = {
  { "busybox", "registry-1.docker.io", false },
  { "docker.io/library/busybox", "registry-1.docker.io", false },
  { "index.docker.io/foo/bar", "registry-1.docker.io", false },
  { "docker.io:443/foo", "docker.io:443", false },
  { "ghcr.io/org/app", "ghcr.io", false },
  { "localhost/foo", "localhost", true },
  { "localhost:5000/foo", "localhost:5000", true },
  { "LOCALHOST/foo", "LOCALHOST", true },
  { "LocalHost:5000/foo", "LocalHost:5000", true },
  { "127.0.0.1/foo", "127.0.0.1", true },
  { "127.0.0.1:5000/foo", "127.0.0.1:5000", true },
  { "127.255.255.254:5000/foo", "127.255.255.254:5000", true },
  { "127.1.2.3/foo", "127.1.2.3", true },
  { "[::1]/foo", "[::1]", true },
  { "[::1]:5000/foo", "[::1]:5000", true },
  { "[0:0:0:0:0:0:0:1]/foo", "[0:0:0:0:0:0:0:1]", true },
  { "[::ffff:7f00:1]:5000/foo", "[::ffff:7f00:1]:5000", true },
  { "[::ffff:a00:1]/foo", "[::ffff:a00:1]", false },
  { "[::2]/foo", "[::2]", false },
  { "[fe80::1]:5000/foo", "[fe80::1]:5000", false },
  { "128.0.0.1/foo", "128.0.0.1", false },
  { "10.0.0.1:5000/foo", "10.0.0.1:5000", false },
  { "localhost.example.com/foo", "localhost.example.com", false },
  { "mylocalhost:5000/foo", "mylocalhost:5000", false },
  { "127.0.0.1.nip.io/foo", "127.0.0.1.nip.io", false },
  { "127.0.0/foo", "127.0.0", false },
  { "localhost:5000", "registry-1.docker.io", false },
};

static void
test_hosts (void **state)
{
  size_t failures = 0;

  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (host_cases); i++)
    {
      const struct host_case *c = &host_cases[i];
      struct registry_ref r;

      assert_int_equal (registry_ref_parse (c->in, &r, NULL), 0);
      if (strcmp (registry_ref_api_host (&r), c->api_host) != 0 || registry_ref_is_loopback (&r) != c->loopback)
        {
          print_error ("case %zu: '%s': got api host '%s', loopback %d\n", i, c->in, registry_ref_api_host (&r),
                       registry_ref_is_loopback (&r));
          failures++;
        }
      registry_ref_release (&r);
    }
  assert_int_equal (failures, 0);
}

static double
seconds_since (const struct timespec *t0)
{
  struct timespec t1;

  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static char *
repeat_unit (const char *unit, size_t times)
{
  size_t ul = strlen (unit);
  char *s = hoist_xmalloc (ul * times + 1);

  for (size_t i = 0; i < times; i++)
    memcpy (s + i * ul, unit, ul);
  s[ul * times] = '\0';
  return s;
}

/* Megabyte inputs built to hurt a backtracking parser are refused in
 * linear time.  The bound is generous so that sanitizer builds on a slow
 * machine pass too. */
static void
test_hostile_inputs (void **state)
{
  static const char *const units[] = { "a-", "a.", "a/", "a__", "[", ":", "@", "a:", "/", "-", "1", "A", "[:" };
  struct timespec t0;

  (void) state;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < ARRAY_SIZE (units); i++)
    {
      cleanup_free char *s = repeat_unit (units[i], (1024 * 1024) / strlen (units[i]));
      struct registry_ref r;
      struct hoist_error *err = NULL;

      assert_int_equal (registry_ref_parse (s, &r, &err), -EINVAL);
      /* The message quotes no more than 128 bytes of it. */
      assert_true (strlen (err->msg) < 512);
      hoist_error_free (err);
    }
  assert_true (seconds_since (&t0) < 10.0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_valid_table),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_invalid_table),
    cmocka_unit_test (test_name_length),
    cmocka_unit_test (test_tag_length),
    cmocka_unit_test (test_error_quoting),
    cmocka_unit_test (test_null_and_release),
    cmocka_unit_test (test_hosts),
    cmocka_unit_test (test_hostile_inputs),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
