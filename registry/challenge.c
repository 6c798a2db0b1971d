/* challenge.c — reading a WWW-Authenticate header (RFC 7235) as
 * registries send it, and picking the challenge hoist answers.
 *
 * The header is a comma-separated list whose elements are either the
 * start of a challenge ("Bearer", "Bearer realm=x", "Negotiate abc==")
 * or one more parameter of the challenge before it ("service=y"); empty
 * elements are allowed.  One left-to-right pass with no backtracking
 * beyond a token68 probe reads it, so the cost is linear in its length.
 *
 * Deliberate differences from docker (distribution's
 * registry/client/auth/challenge): docker reads one challenge per header
 * value, allows no white space around '=', and stops silently at the
 * first thing it does not understand, keeping what it read so far (a
 * repeated parameter overwrites the earlier one).  hoist reads every
 * challenge in the value, allows the white space RFC 7235 allows, and
 * refuses a malformed header or a repeated known parameter with a message
 * naming the problem, instead of guessing which realm was meant.  A
 * Bearer challenge with an empty realm counts as one without a realm.
 * Unknown parameters (and their repeats) are ignored, as is every
 * parameter of a scheme other than Basic and Bearer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_private.h"

/* How much of the header an error message shows. */
#define QUOTE_MAX 64

/* The parameters hoist keeps, as bits of struct chal_parser.seen. */
enum chal_param
{
  PARAM_REALM = 0,
  PARAM_SERVICE,
  PARAM_SCOPE,
  PARAM_ERROR,
  PARAM_COUNT,
};

static const char *const param_names[PARAM_COUNT] = { "realm", "service", "scope", "error" };

struct chal_parser
{
  const char *s; /* the header, NUL-terminated */
  size_t len;
  size_t pos;
  bool open;                        /* a challenge has started */
  struct registry_challenge cur;    /* scheme NONE: one hoist ignores */
  unsigned seen;                    /* known parameters of CUR so far */
  struct registry_challenge bearer; /* the first complete Bearer one */
  struct registry_challenge basic;  /* the first complete Basic one */
  struct hoist_buf value;           /* the value being read; limited */
};

/* ---------------------------------------------------------------------
 * Characters (RFC 9110 section 5.6)
 * ------------------------------------------------------------------- */

static bool
is_alnum (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_tchar (unsigned char c)
{
  return is_alnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token68_char (unsigned char c)
{
  return is_alnum (c) || (c != '\0' && strchr ("-._~+/", c) != NULL);
}

/* What may stand in a quoted string, escaped or not: HTAB, SP, VCHAR and
 * obs-text; no other control byte. */
static bool
is_qtext (unsigned char c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static bool
ascii_ieq (const char *s, size_t n, const char *lit)
{
  if (strlen (lit) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      unsigned char a = (unsigned char) s[i], b = (unsigned char) lit[i];

      if (a >= 'A' && a <= 'Z')
        a = (unsigned char) (a - 'A' + 'a');
      if (a != b)
        return false;
    }
  return true;
}

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

static int
bad_header (const struct chal_parser *p, const char *why, struct hoist_error **err)
{
  cleanup_free char *quoted = hoist_quote (p->s, p->len, QUOTE_MAX, 0);

  return hoist_error_set_status (err, EINVAL, "bad WWW-Authenticate header '%s': %s", quoted, why);
}

/* "WHAT at offset N", for a problem at the parser's position. */
static int
bad_at (const struct chal_parser *p, const char *what, struct hoist_error **err)
{
  cleanup_free char *why = hoist_xasprintf ("%s at offset %zu", what, p->pos);

  return bad_header (p, why, err);
}

/* A problem with the parameter NAME (N bytes, inside the header), which
 * the message locates. */
static int
bad_param (const struct chal_parser *p, const char *name, size_t n, const char *what, struct hoist_error **err)
{
  cleanup_free char *quoted = hoist_quote (name, n, QUOTE_MAX, 0);
  cleanup_free char *why = hoist_xasprintf ("parameter '%s' at offset %zu %s", quoted, (size_t) (name - p->s), what);

  return bad_header (p, why, err);
}

static int
unexpected (const struct chal_parser *p, const char *expected, struct hoist_error **err)
{
  cleanup_free char *c = hoist_quote (p->s + p->pos, 1, QUOTE_MAX, 0);
  cleanup_free char *why = hoist_xasprintf ("expected %s, found '%s'", expected, c);

  return bad_at (p, why, err);
}

/* ---------------------------------------------------------------------
 * Scanning
 * ------------------------------------------------------------------- */

static int
peek (const struct chal_parser *p)
{
  return p->pos < p->len ? (unsigned char) p->s[p->pos] : -1;
}

static bool
at_element_end (const struct chal_parser *p)
{
  return p->pos == p->len || p->s[p->pos] == ',';
}

/* Skip OWS; returns whether anything was skipped. */
static bool
skip_ows (struct chal_parser *p)
{
  size_t start = p->pos;

  while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
    p->pos++;
  return p->pos > start;
}

/* The token at the position (possibly empty); moves past it. */
static size_t
scan_token (struct chal_parser *p, const char **tok)
{
  size_t start = p->pos;

  while (p->pos < p->len && is_tchar ((unsigned char) p->s[p->pos]))
    p->pos++;
  *tok = p->s + start;
  return p->pos - start;
}

static int
value_add (struct chal_parser *p, const char *s, size_t n, const char *name, size_t name_len, struct hoist_error **err)
{
  cleanup_free char *what = NULL;

  if (hoist_buf_add (&p->value, s, n, NULL) == 0)
    return 0;
  what = hoist_xasprintf ("has a value over %d bytes", REGISTRY_CHALLENGE_VALUE_MAX);
  return bad_param (p, name, name_len, what, err);
}

/* A quoted string, the position at its opening quote, into p->value. */
static int
scan_quoted (struct chal_parser *p, const char *name, size_t name_len, struct hoist_error **err)
{
  p->pos++;
  while (p->pos < p->len && p->s[p->pos] != '"')
    {
      size_t run = p->pos;

      if (p->s[p->pos] == '\\')
        {
          if (++p->pos == p->len)
            break;
          run = p->pos++;
        }
      else
        while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\'
               && is_qtext ((unsigned char) p->s[p->pos]))
          p->pos++;
      if (p->pos == run || !is_qtext ((unsigned char) p->s[run]))
        return bad_param (p, name, name_len, "has a control character in its quoted value", err);
      if (value_add (p, p->s + run, p->pos - run, name, name_len, err) < 0)
        return -EINVAL;
    }
  if (p->pos == p->len)
    return bad_param (p, name, name_len, "has an unterminated quoted string", err);
  p->pos++;
  return 0;
}

/* A token or a quoted string, after '=' and its white space. */
static int
scan_value (struct chal_parser *p, const char *name, size_t name_len, struct hoist_error **err)
{
  const char *tok;
  size_t n;

  hoist_buf_reset (&p->value);
  if (peek (p) == '"')
    return scan_quoted (p, name, name_len, err);
  n = scan_token (p, &tok);
  if (n == 0)
    return bad_param (p, name, name_len, "has no value", err);
  return value_add (p, tok, n, name, name_len, err);
}

/* A token68 and the white space after it, if that is all the element
 * holds; otherwise the position is left alone. */
static bool
skip_token68 (struct chal_parser *p)
{
  size_t start = p->pos;

  while (p->pos < p->len && is_token68_char ((unsigned char) p->s[p->pos]))
    p->pos++;
  if (p->pos > start)
    while (p->pos < p->len && p->s[p->pos] == '=')
      p->pos++;
  skip_ows (p);
  if (p->pos > start && at_element_end (p))
    return true;
  p->pos = start;
  return false;
}

/* ---------------------------------------------------------------------
 * Challenges
 * ------------------------------------------------------------------- */

static char **
param_slot (struct registry_challenge *c, enum chal_param which)
{
  switch (which)
    {
    case PARAM_REALM:
      return &c->realm;
    case PARAM_SERVICE:
      return &c->service;
    case PARAM_SCOPE:
      return &c->scope;
    default:
      return &c->error;
    }
}

/* The challenge read so far is complete: keep it if it is the first of
 * its scheme. */
static void
finish_challenge (struct chal_parser *p)
{
  struct registry_challenge *keep = NULL;

  if (p->cur.scheme == REGISTRY_AUTH_BEARER && p->bearer.scheme == REGISTRY_AUTH_NONE)
    keep = &p->bearer;
  else if (p->cur.scheme == REGISTRY_AUTH_BASIC && p->basic.scheme == REGISTRY_AUTH_NONE)
    keep = &p->basic;
  if (keep != NULL)
    *keep = p->cur;
  else
    registry_challenge_release (&p->cur);
  p->cur = (struct registry_challenge){ 0 };
  p->seen = 0;
  p->open = false;
}

static void
start_challenge (struct chal_parser *p, const char *scheme, size_t n)
{
  finish_challenge (p);
  p->open = true;
  if (ascii_ieq (scheme, n, "bearer"))
    p->cur.scheme = REGISTRY_AUTH_BEARER;
  else if (ascii_ieq (scheme, n, "basic"))
    p->cur.scheme = REGISTRY_AUTH_BASIC;
}

/* NAME (N bytes) = value, the position at the '='. */
static int
read_param (struct chal_parser *p, const char *name, size_t n, struct hoist_error **err)
{
  p->pos++;
  skip_ows (p);
  if (scan_value (p, name, n, err) < 0)
    return -EINVAL;
  if (p->cur.scheme == REGISTRY_AUTH_NONE)
    return 0;
  for (int i = 0; i < PARAM_COUNT; i++)
    if (ascii_ieq (name, n, param_names[i]))
      {
        if (p->seen & (1u << i))
          return bad_param (p, name, n, "is repeated", err);
        p->seen |= 1u << i;
        *param_slot (&p->cur, (enum chal_param) i) = hoist_buf_detach (&p->value, NULL);
      }
  return 0;
}

/* The element after an auth scheme and its white space: nothing, a
 * token68 (for a scheme hoist ignores: Basic and Bearer take parameters
 * only), or the challenge's first parameter. */
static int
read_after_scheme (struct chal_parser *p, struct hoist_error **err)
{
  const char *name;
  size_t n;

  if (at_element_end (p))
    return 0;
  if (p->cur.scheme == REGISTRY_AUTH_NONE && skip_token68 (p))
    return 0;
  n = scan_token (p, &name);
  if (n == 0)
    return unexpected (p, "a parameter name", err);
  skip_ows (p);
  if (peek (p) != '=')
    return bad_param (p, name, n, "is missing '='", err);
  return read_param (p, name, n, err);
}

/* One list element: a new challenge, or a parameter of the open one. */
static int
read_element (struct chal_parser *p, struct hoist_error **err)
{
  const char *tok;
  size_t n = scan_token (p, &tok);
  bool space;
  int ret;

  if (n == 0)
    return unexpected (p, "an auth scheme or a parameter", err);
  space = skip_ows (p);
  if (peek (p) == '=')
    {
      if (!p->open)
        return bad_param (p, tok, n, "comes before any auth scheme", err);
      ret = read_param (p, tok, n, err);
    }
  else
    {
      start_challenge (p, tok, n);
      if (!space && !at_element_end (p))
        return unexpected (p, "white space or ',' after the auth scheme", err);
      ret = read_after_scheme (p, err);
    }
  if (ret < 0)
    return ret;
  skip_ows (p);
  if (!at_element_end (p))
    return unexpected (p, "',' or the end", err);
  return 0;
}

static void
parser_release (struct chal_parser *p)
{
  registry_challenge_release (&p->cur);
  registry_challenge_release (&p->bearer);
  registry_challenge_release (&p->basic);
  hoist_buf_release (&p->value);
}

static int
parse_all (struct chal_parser *p, struct hoist_error **err)
{
  int ret;

  for (;;)
    {
      while (p->pos < p->len && (p->s[p->pos] == ',' || p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
      if (p->pos == p->len)
        break;
      ret = read_element (p, err);
      if (ret < 0)
        return ret;
    }
  finish_challenge (p);
  if (p->bearer.scheme == REGISTRY_AUTH_NONE && p->basic.scheme == REGISTRY_AUTH_NONE)
    return bad_header (p, "no Basic or Bearer challenge", err);
  if (p->bearer.scheme != REGISTRY_AUTH_NONE && (p->bearer.realm == NULL || p->bearer.realm[0] == '\0'))
    return bad_header (p, "Bearer challenge without a realm", err);
  return 0;
}

int
registry_challenge_parse (const char *header, struct registry_challenge *out, struct hoist_error **err)
{
  struct chal_parser p = { .s = header };
  int ret;

  *out = (struct registry_challenge){ 0 };
  if (header == NULL)
    return hoist_error_set_status (err, EINVAL, "no WWW-Authenticate header");
  p.len = strlen (header);
  hoist_buf_init (&p.value, REGISTRY_CHALLENGE_VALUE_MAX);
  ret = parse_all (&p, err);
  if (ret == 0)
    {
      struct registry_challenge *win = p.bearer.scheme != REGISTRY_AUTH_NONE ? &p.bearer : &p.basic;

      *out = *win;
      *win = (struct registry_challenge){ 0 };
    }
  parser_release (&p);
  return ret;
}

void
registry_challenge_release (struct registry_challenge *c)
{
  if (c == NULL)
    return;
  free (c->realm);
  free (c->service);
  free (c->scope);
  free (c->error);
  *c = (struct registry_challenge){ 0 };
}
