/* reference.c — image references ("busybox", "ghcr.io/org/app:1.2",
 * "localhost:5000/x@sha256:...") read as docker reads them
 * (distribution/reference: ParseNormalizedNamed, then TagNameOnly) into a
 * registry host, a repository path, a tag and a digest, and written back.
 *
 * The input is cut at fixed separators first (the first '@' starts the
 * digest, the first ':' after the last '/' starts the tag, the first '/'
 * may end a registry host), then each part is checked by a small scanner
 * of its own.  No regular expressions, no recursion, no backtracking:
 * every step is one bounded pass, so time is linear in the input however
 * hostile it is.  Nothing is allocated until the whole reference is known
 * to be good.
 *
 * Where hoist deliberately differs from docker:
 *  - Digests: only "sha256:" with 64 lowercase hex digits.  Docker takes
 *    any algorithm it has registered (sha384, sha512); hoist verifies
 *    content with SHA-256 alone, so it refuses the others up front.
 *  - The 255-character limit counts the whole normalised name, host
 *    included ("docker.io/library/busybox"), as docker did before
 *    distribution/reference v0.6.0; since then it counts the path alone.
 *  - A port must be 1 to 65535; docker takes any run of digits.
 *  - An IPv6 host must be an address inet_pton(3) reads; docker takes any
 *    run of hex digits and colons between the brackets ("[:::]").
 *  - A first component with '.' in it that is not a valid host name but
 *    is a valid path component ("my_reg.local/app") is refused.  Docker
 *    falls back to reading it as part of a path with no host at all, a
 *    reference it cannot pull.
 *  - Messages name the part that is wrong, not only "invalid reference
 *    format".
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/registry.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define DOCKER_HUB_API_HOST "registry-1.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
#define LOCALHOST "localhost"

#define SHA256_ALGORITHM "sha256"
#define PORT_MAX 65535

/* How much of the input an error message shows. */
#define QUOTE_MAX 128

/* A part of the input: not NUL-terminated. */
struct span
{
  const char *p;
  size_t n;
};

/* The input cut at its separators, before any part is checked. */
struct ref_parts
{
  struct span domain; /* empty when docker.io is implied */
  struct span path;   /* as given: without the "library/" docker.io adds */
  struct span tag;
  struct span digest;
  bool has_tag;
  bool has_digest;
  bool default_domain;  /* the domain is docker.io */
  bool official;        /* the path gets "library/" */
  bool domain_for_case; /* the first component is the domain only for its uppercase */
};

/* ---------------------------------------------------------------------
 * Characters and spans
 * ------------------------------------------------------------------- */

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
is_lower (char c)
{
  return c >= 'a' && c <= 'z';
}

static bool
is_upper (char c)
{
  return c >= 'A' && c <= 'Z';
}

static bool
is_alnum (char c)
{
  return is_digit (c) || is_lower (c) || is_upper (c);
}

static bool
is_hex (char c)
{
  return is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Go's \w: [0-9A-Za-z_]. */
static bool
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

static bool
span_equals (struct span s, const char *lit)
{
  size_t n = strlen (lit);

  return s.n == n && memcmp (s.p, lit, n) == 0;
}

static bool
span_has_upper (struct span s)
{
  for (size_t i = 0; i < s.n; i++)
    if (is_upper (s.p[i]))
      return true;
  return false;
}

static struct span
span_prefix (struct span s, const char *end)
{
  return (struct span){ s.p, (size_t) (end - s.p) };
}

static struct span
span_after (struct span s, const char *sep)
{
  return (struct span){ sep + 1, s.n - (size_t) (sep + 1 - s.p) };
}

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

/* Input as an error message shows it: at most QUOTE_MAX bytes, anything
 * outside printable ASCII as \xNN, so that hostile input cannot garble a
 * terminal or a log.  A reference never holds such bytes when valid. */
static char *
quote_span (struct span s)
{
  return hoist_quote (s.p, s.n, QUOTE_MAX, HOIST_QUOTE_ASCII);
}

static int ref_fail (struct hoist_error **err, const char *s, const char *fmt, ...) HOIST_PRINTF (3, 4);

/* Fail with EINVAL: "invalid reference 'S': WHY". */
static int
ref_fail (struct hoist_error **err, const char *s, const char *fmt, ...)
{
  cleanup_free char *quoted = quote_span ((struct span){ s, strlen (s) });
  cleanup_free char *why = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&why, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return hoist_error_set_status (err, EINVAL, "invalid reference '%s': %s", quoted, why);
}

/* ---------------------------------------------------------------------
 * Repository path: components of [a-z0-9]+ joined by '.', '_', '__' or
 * a run of '-', separated by '/'
 * ------------------------------------------------------------------- */

static bool
is_path_alnum (char c, bool fold_case)
{
  return is_digit (c) || is_lower (c) || (fold_case && is_upper (c));
}

static bool
separator_ok (struct span sep)
{
  if (sep.n == 1)
    return sep.p[0] == '.' || sep.p[0] == '_' || sep.p[0] == '-';
  if (span_equals (sep, "__"))
    return true;
  for (size_t i = 0; i < sep.n; i++)
    if (sep.p[i] != '-')
      return false;
  return true;
}

/* What is wrong with path component C, or NULL.  With FOLD_CASE,
 * uppercase letters count as their lowercase. */
static const char *
component_problem (struct span c, bool fold_case)
{
  size_t i = 0;

  if (c.n == 0)
    return "empty path component";
  for (i = 0; i < c.n; i++)
    if (!is_path_alnum (c.p[i], fold_case) && c.p[i] != '.' && c.p[i] != '_' && c.p[i] != '-')
      return "only lowercase letters, digits, '.', '_' and '-' are allowed";
  if (!is_path_alnum (c.p[0], fold_case) || !is_path_alnum (c.p[c.n - 1], fold_case))
    return "it must start and end with a lowercase letter or digit";
  for (i = 0; i < c.n;)
    {
      size_t j = i;

      while (j < c.n && !is_path_alnum (c.p[j], fold_case))
        j++;
      if (j > i && !separator_ok ((struct span){ c.p + i, j - i }))
        return "separators are one '.', one or two '_', or any run of '-'";
      while (j < c.n && is_path_alnum (c.p[j], fold_case))
        j++;
      i = j;
    }
  return NULL;
}

static int
check_path (const char *s, struct span path, struct hoist_error **err)
{
  struct span rest = path;

  if (path.n == 0)
    return ref_fail (err, s, "repository path is empty");
  if (span_has_upper (path))
    return ref_fail (err, s, "repository name must be lowercase");
  for (;;)
    {
      const char *slash = memchr (rest.p, '/', rest.n);
      struct span c = slash != NULL ? span_prefix (rest, slash) : rest;
      const char *why = component_problem (c, false);

      if (why != NULL)
        {
          cleanup_free char *q = quote_span (c);

          return ref_fail (err, s, "invalid path component '%s': %s", q, why);
        }
      if (slash == NULL)
        return 0;
      rest = span_after (rest, slash);
    }
}

/* ---------------------------------------------------------------------
 * Registry host: a DNS-like name, an IPv4 address, or an IPv6 address in
 * brackets; then an optional ":port"
 * ------------------------------------------------------------------- */

/* Labels of letters, digits and inner '-', separated by '.'. */
static bool
host_name_ok (struct span h)
{
  size_t i = 0;

  while (i < h.n)
    {
      size_t start = i;

      while (i < h.n && (is_alnum (h.p[i]) || h.p[i] == '-'))
        i++;
      if (i == start || h.p[start] == '-' || h.p[i - 1] == '-')
        return false;
      if (i == h.n)
        return true;
      if (h.p[i] != '.')
        return false;
      i++;
    }
  return false; /* empty, or a final '.' */
}

/* The inside of "[...]", as docker's grammar allows it ([0-9A-Fa-f:]+,
 * so no zone and no dotted IPv4 tail) and as inet_pton reads it.  *ADDR
 * gets the address when not NULL. */
static bool
ipv6_ok (struct span a, struct in6_addr *addr)
{
  char buf[INET6_ADDRSTRLEN];
  struct in6_addr scratch;

  if (a.n == 0 || a.n >= sizeof (buf))
    return false;
  for (size_t i = 0; i < a.n; i++)
    if (!is_hex (a.p[i]) && a.p[i] != ':')
      return false;
  memcpy (buf, a.p, a.n);
  buf[a.n] = '\0';
  return inet_pton (AF_INET6, buf, addr != NULL ? addr : &scratch) == 1;
}

static bool
port_ok (struct span p)
{
  unsigned long v = 0;

  if (p.n == 0 || p.n > 5)
    return false;
  for (size_t i = 0; i < p.n; i++)
    {
      if (!is_digit (p.p[i]))
        return false;
      v = v * 10 + (unsigned long) (p.p[i] - '0');
    }
  return v >= 1 && v <= PORT_MAX;
}

/* Cut D into its host (brackets included) and what follows it: "" or
 * ":port".  Returns false on a '[' with no ']'. */
static bool
domain_split_host (struct span d, struct span *host, struct span *tail)
{
  const char *end;

  if (d.n > 0 && d.p[0] == '[')
    {
      end = memchr (d.p, ']', d.n);
      if (end == NULL)
        return false;
      end++;
    }
  else
    {
      end = memchr (d.p, ':', d.n);
      if (end == NULL)
        end = d.p + d.n;
    }
  *host = span_prefix (d, end);
  *tail = (struct span){ end, d.n - host->n };
  return true;
}

/* What is wrong with domain D, or NULL. */
static const char *
domain_problem (struct span d)
{
  struct span host, tail;

  if (!domain_split_host (d, &host, &tail))
    return "'[' without ']'";
  if (host.n > 0 && host.p[0] == '[')
    {
      if (!ipv6_ok ((struct span){ host.p + 1, host.n - 2 }, NULL))
        return "not an IPv6 address between the brackets";
    }
  else if (host.n == 0)
    return "empty host name";
  else if (!host_name_ok (host))
    return "a host name is letters, digits and inner '-', in labels separated by '.'";
  if (tail.n == 0)
    return NULL;
  if (tail.p[0] != ':')
    return "only a ':port' may follow ']'";
  if (!port_ok ((struct span){ tail.p + 1, tail.n - 1 }))
    return "the port must be a number from 1 to 65535";
  return NULL;
}

static int
check_domain (const char *s, const struct ref_parts *parts, struct hoist_error **err)
{
  const char *why;
  cleanup_free char *q = NULL;

  if (parts->default_domain)
    return 0;
  why = domain_problem (parts->domain);
  if (why == NULL)
    return 0;
  /* "Foo_bar/x" is a host only because of its uppercase; had it been in
   * lowercase it would have been a namespace, which is the likelier
   * intent (docker says the same). */
  if (parts->domain_for_case && component_problem (parts->domain, true) == NULL)
    return ref_fail (err, s, "repository name must be lowercase");
  q = quote_span (parts->domain);
  return ref_fail (err, s, "invalid registry host '%s': %s", q, why);
}

/* ---------------------------------------------------------------------
 * Tag and digest
 * ------------------------------------------------------------------- */

static int
check_tag (const char *s, struct span tag, struct hoist_error **err)
{
  cleanup_free char *q = NULL;

  if (tag.n == 0)
    return ref_fail (err, s, "empty tag after ':'");
  if (tag.n > REGISTRY_TAG_MAX)
    return ref_fail (err, s, "tag is %zu characters long (limit %d)", tag.n, REGISTRY_TAG_MAX);
  q = quote_span (tag);
  if (!is_word (tag.p[0]))
    return ref_fail (err, s, "tag '%s' must start with a letter, a digit or '_'", q);
  for (size_t i = 1; i < tag.n; i++)
    if (!is_word (tag.p[i]) && tag.p[i] != '.' && tag.p[i] != '-')
      return ref_fail (err, s, "tag '%s' may hold only letters, digits, '_', '.' and '-'", q);
  return 0;
}

/* The OCI image spec's algorithm: [a-z0-9]+ joined by one of [+._-]. */
static bool
digest_algorithm_ok (struct span a)
{
  bool want_alnum = true;

  for (size_t i = 0; i < a.n; i++)
    {
      if (is_lower (a.p[i]) || is_digit (a.p[i]))
        want_alnum = false;
      else if (!want_alnum && (a.p[i] == '+' || a.p[i] == '.' || a.p[i] == '_' || a.p[i] == '-'))
        want_alnum = true;
      else
        return false;
    }
  return !want_alnum;
}

/* The OCI image spec's encoded part: [a-zA-Z0-9=_-]+. */
static bool
digest_encoded_ok (struct span e)
{
  if (e.n == 0)
    return false;
  for (size_t i = 0; i < e.n; i++)
    if (!is_alnum (e.p[i]) && e.p[i] != '=' && e.p[i] != '_' && e.p[i] != '-')
      return false;
  return true;
}

static bool
sha256_hex_ok (struct span e)
{
  if (e.n != HOIST_SHA256_HEX_LEN)
    return false;
  for (size_t i = 0; i < e.n; i++)
    if (!is_digit (e.p[i]) && !(e.p[i] >= 'a' && e.p[i] <= 'f'))
      return false;
  return true;
}

static int
check_digest (const char *s, struct span digest, struct hoist_error **err)
{
  const char *colon = memchr (digest.p, ':', digest.n);
  cleanup_free char *q = quote_span (digest);
  struct span alg, enc;

  if (digest.n == 0)
    return ref_fail (err, s, "empty digest after '@'");
  if (colon == NULL)
    return ref_fail (err, s, "digest '%s' is not algorithm:hex", q);
  alg = span_prefix (digest, colon);
  enc = span_after (digest, colon);
  if (!digest_algorithm_ok (alg) || !digest_encoded_ok (enc))
    return ref_fail (err, s, "digest '%s' is not algorithm:hex", q);
  if (!span_equals (alg, SHA256_ALGORITHM))
    {
      cleanup_free char *qa = quote_span (alg);

      return ref_fail (err, s, "unsupported digest algorithm '%s' (only sha256 is supported)", qa);
    }
  if (!sha256_hex_ok (enc))
    return ref_fail (err, s, "sha256 digest '%s' is not 64 lowercase hex digits", q);
  return 0;
}

/* ---------------------------------------------------------------------
 * Cutting the input
 * ------------------------------------------------------------------- */

/* Docker refuses a bare 64-hex string: it reads as an image id. */
static bool
is_identifier (const char *s)
{
  size_t n = strnlen (s, HOIST_SHA256_HEX_LEN + 1);

  return n == HOIST_SHA256_HEX_LEN && sha256_hex_ok ((struct span){ s, n });
}

/* Docker's splitDockerDomain, on the name (tag and digest cut off): the
 * first of several components is the host when it is "localhost", has a
 * '.' or ':', or has an uppercase letter (namespaces never do). */
static void
split_domain (struct span name, struct ref_parts *parts)
{
  const char *slash = memchr (name.p, '/', name.n);
  struct span first;

  parts->path = name;
  parts->default_domain = true;
  if (slash != NULL)
    {
      first = span_prefix (name, slash);
      if (span_equals (first, LEGACY_DEFAULT_DOMAIN))
        parts->path = span_after (name, slash);
      else if (span_equals (first, LOCALHOST) || memchr (first.p, '.', first.n) != NULL
               || memchr (first.p, ':', first.n) != NULL || span_has_upper (first))
        {
          parts->domain = first;
          parts->path = span_after (name, slash);
          parts->default_domain = span_equals (first, DEFAULT_DOMAIN);
          parts->domain_for_case = !span_equals (first, LOCALHOST) && memchr (first.p, '.', first.n) == NULL
                                   && memchr (first.p, ':', first.n) == NULL;
        }
    }
  parts->official = parts->default_domain && memchr (parts->path.p, '/', parts->path.n) == NULL;
}

/* Cut S at '@' (the digest: neither name nor tag may hold one), then at
 * the first ':' after the last '/' (the tag: a port comes before a '/'),
 * then the name at its first '/'. */
static void
split_reference (const char *s, struct ref_parts *parts)
{
  struct span rest = { s, strlen (s) };
  const char *at = memchr (rest.p, '@', rest.n);
  const char *slash, *colon;

  memset (parts, 0, sizeof (*parts));
  if (at != NULL)
    {
      parts->has_digest = true;
      parts->digest = span_after (rest, at);
      rest = span_prefix (rest, at);
    }
  slash = memrchr (rest.p, '/', rest.n);
  colon = slash != NULL ? memchr (slash, ':', rest.n - (size_t) (slash - rest.p)) : memchr (rest.p, ':', rest.n);
  if (colon != NULL)
    {
      parts->has_tag = true;
      parts->tag = span_after (rest, colon);
      rest = span_prefix (rest, colon);
    }
  split_domain (rest, parts);
}

static size_t
full_name_len (const struct ref_parts *parts)
{
  size_t domain_len = parts->default_domain ? strlen (DEFAULT_DOMAIN) : parts->domain.n;

  return domain_len + 1 + (parts->official ? strlen (OFFICIAL_PREFIX) : 0) + parts->path.n;
}

static int
check_parts (const char *s, const struct ref_parts *parts, struct hoist_error **err)
{
  size_t name_len;

  if (parts->domain.p == NULL && parts->path.n == 0)
    return ref_fail (err, s, "repository name is missing");
  if (check_domain (s, parts, err) < 0 || check_path (s, parts->path, err) < 0)
    return -EINVAL;
  name_len = full_name_len (parts);
  if (name_len > REGISTRY_NAME_MAX)
    return ref_fail (err, s, "full name is %zu characters long (limit %d)", name_len, REGISTRY_NAME_MAX);
  if (parts->has_tag && check_tag (s, parts->tag, err) < 0)
    return -EINVAL;
  if (parts->has_digest && check_digest (s, parts->digest, err) < 0)
    return -EINVAL;
  return 0;
}

/* ---------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------- */

/* On failure *OUT is left all NULL, so releasing it is harmless. */
int
registry_ref_parse (const char *s, struct registry_ref *out, struct hoist_error **err)
{
  struct ref_parts parts;

  memset (out, 0, sizeof (*out));
  if (s == NULL || s[0] == '\0')
    return ref_fail (err, "", "reference is empty");
  if (is_identifier (s))
    return ref_fail (err, s, "a 64-digit hex string is an image id, not a repository name");
  split_reference (s, &parts);
  if (check_parts (s, &parts, err) < 0)
    return -EINVAL;

  if (parts.default_domain)
    out->domain = hoist_xstrdup (DEFAULT_DOMAIN);
  else
    out->domain = hoist_xstrndup (parts.domain.p, parts.domain.n);
  /* The path is at most REGISTRY_NAME_MAX long by now: it fits an int. */
  out->path = hoist_xasprintf ("%s%.*s", parts.official ? OFFICIAL_PREFIX : "", (int) parts.path.n, parts.path.p);
  if (parts.has_tag)
    out->tag = hoist_xstrndup (parts.tag.p, parts.tag.n);
  else if (!parts.has_digest)
    out->tag = hoist_xstrdup (DEFAULT_TAG);
  if (parts.has_digest)
    out->digest = hoist_xstrndup (parts.digest.p, parts.digest.n);
  return 0;
}

void
registry_ref_release (struct registry_ref *ref)
{
  if (ref == NULL)
    return;
  free (ref->domain);
  free (ref->path);
  free (ref->tag);
  free (ref->digest);
  memset (ref, 0, sizeof (*ref));
}

char *
registry_ref_string (const struct registry_ref *ref)
{
  return hoist_xasprintf ("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag != NULL ? ":" : "",
                          ref->tag != NULL ? ref->tag : "", ref->digest != NULL ? "@" : "",
                          ref->digest != NULL ? ref->digest : "");
}

char *
registry_ref_repository (const struct registry_ref *ref)
{
  return hoist_xasprintf ("%s/%s", ref->domain, ref->path);
}

const char *
registry_ref_api_host (const struct registry_ref *ref)
{
  if (strcmp (ref->domain, DEFAULT_DOMAIN) == 0)
    return DOCKER_HUB_API_HOST;
  return ref->domain;
}

/* Docker lets 127.0.0.0/8 and ::1 (as its insecure-registry CIDRs) and
 * whatever resolves to them use plain HTTP.  Without resolving names,
 * that is "localhost" (any case: DNS names are case-insensitive), an
 * IPv4 address in 127.0.0.0/8, and [::1] or an IPv4-mapped 127.x.x.x. */
bool
registry_ref_is_loopback (const struct registry_ref *ref)
{
  struct span d, host, tail;
  char buf[INET_ADDRSTRLEN];
  struct in_addr a4;
  struct in6_addr a6;

  if (ref == NULL || ref->domain == NULL)
    return false;
  d = (struct span){ ref->domain, strlen (ref->domain) };
  if (!domain_split_host (d, &host, &tail))
    return false;
  if (host.n == strlen (LOCALHOST) && strncasecmp (host.p, LOCALHOST, host.n) == 0)
    return true;
  if (host.n > 0 && host.p[0] == '[')
    {
      if (!ipv6_ok ((struct span){ host.p + 1, host.n - 2 }, &a6))
        return false;
      return IN6_IS_ADDR_LOOPBACK (&a6) || (IN6_IS_ADDR_V4MAPPED (&a6) && a6.s6_addr[12] == 127);
    }
  if (host.n >= sizeof (buf))
    return false;
  memcpy (buf, host.p, host.n);
  buf[host.n] = '\0';
  return inet_pton (AF_INET, buf, &a4) == 1 && ((const unsigned char *) &a4.s_addr)[0] == 127;
}
