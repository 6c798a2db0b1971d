/* sbom_license.c — declared licences as SPDX licence expressions.
 *
 * Package metadata declares licences in many spellings: SPDX expressions
 * (apk, npm, recent Python), Debian's DEP-5 short names ("GPL-2+",
 * "Expat", "BSD-3-clause"), free text ("MIT License").  An SBOM may only
 * put an SPDX expression in licenseDeclared, and CycloneDX's license.id
 * must be a listed identifier, so a declaration is taken when it parses as
 *
 *   expr   := term { ("AND" | "OR") term }
 *   term   := "(" expr ")" | id ["+"] ["WITH" exception]
 *
 * (operators in any case) and every identifier is in the table below, or
 * maps to one of them; anything else stays free text, which the
 * documents carry as a comment or a licence name.  The table holds the
 * licences met in distributions and language registries, not the whole
 * SPDX list: an unlisted one is left as text, never guessed at. */
#define BUILDER_INTERNAL
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

#define EXPR_DEPTH_MAX 16
#define EXPR_TOKENS_MAX 256

/* Each name between single spaces, so that " NAME " finds it. */
static const char licenses[]
    = " 0BSD AFL-2.1 AFL-3.0 AGPL-3.0-only AGPL-3.0-or-later Apache-1.0 Apache-1.1 Apache-2.0 APSL-2.0 "
      "Artistic-1.0 Artistic-1.0-Perl Artistic-2.0 Beerware BitTorrent-1.1 BlueOak-1.0.0 BSD-1-Clause "
      "BSD-2-Clause BSD-2-Clause-Patent BSD-3-Clause BSD-3-Clause-Clear BSD-4-Clause BSD-4-Clause-UC "
      "BSD-Source-Code BSL-1.0 bzip2-1.0.6 CC-BY-3.0 CC-BY-4.0 CC-BY-SA-3.0 CC-BY-SA-4.0 CC0-1.0 CDDL-1.0 "
      "CDDL-1.1 CECILL-2.1 CPL-1.0 curl EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2 FSFAP FSFUL FSFULLR FTL "
      "GFDL-1.1-only GFDL-1.1-or-later GFDL-1.2-only GFDL-1.2-or-later GFDL-1.3-only GFDL-1.3-or-later "
      "GPL-1.0-only GPL-1.0-or-later GPL-2.0-only GPL-2.0-or-later GPL-3.0-only GPL-3.0-or-later HPND ICU "
      "IJG Imlib2 Info-ZIP IPA ISC JSON LGPL-2.0-only LGPL-2.0-or-later LGPL-2.1-only LGPL-2.1-or-later "
      "LGPL-3.0-only LGPL-3.0-or-later Libpng libpng-2.0 libtiff LPPL-1.3c MIT MIT-0 MIT-CMU "
      "MIT-Modern-Variant MPL-1.0 MPL-1.1 MPL-2.0 MPL-2.0-no-copyleft-exception MS-PL MS-RL NCSA Nokia NTP "
      "OFL-1.1 OLDAP-2.8 OpenSSL OSL-3.0 PHP-3.0 PHP-3.01 PostgreSQL PSF-2.0 Python-2.0 Qhull Ruby "
      "SGI-B-2.0 Sleepycat SSPL-1.0 TCL Unicode-3.0 Unicode-DFS-2015 Unicode-DFS-2016 Unlicense UPL-1.0 "
      "Vim W3C WTFPL X11 XFree86-1.1 Zlib zlib-acknowledgement ZPL-2.0 ZPL-2.1 ";

static const char exceptions[]
    = " Autoconf-exception-2.0 Autoconf-exception-3.0 Bison-exception-2.2 Classpath-exception-2.0 "
      "Font-exception-2.0 GCC-exception-2.0 GCC-exception-3.1 Libtool-exception LLVM-exception "
      "OpenJDK-assembly-exception-1.0 openvpn-openssl-exception Qt-GPL-exception-1.0 Qt-LGPL-exception-1.1 "
      "WxWindows-exception-3.1 ";

/* Debian's DEP-5 short names (and a few common spellings) that are not
 * SPDX identifiers, with the one each means. */
static const struct
{
  const char *from, *to;
} aliases[] = {
  { "AGPL-3", "AGPL-3.0-only" },
  { "AGPL-3+", "AGPL-3.0-or-later" },
  { "AGPL-3.0", "AGPL-3.0-only" },
  { "AGPL-3.0+", "AGPL-3.0-or-later" },
  { "Apache-2", "Apache-2.0" },
  { "Apache2", "Apache-2.0" },
  { "Artistic", "Artistic-1.0-Perl" },
  { "BSD-2", "BSD-2-Clause" },
  { "BSD-3", "BSD-3-Clause" },
  { "BSD-4", "BSD-4-Clause" },
  { "Expat", "MIT" },
  { "GFDL-1.2", "GFDL-1.2-only" },
  { "GFDL-1.2+", "GFDL-1.2-or-later" },
  { "GFDL-1.3", "GFDL-1.3-only" },
  { "GFDL-1.3+", "GFDL-1.3-or-later" },
  { "GPL-1", "GPL-1.0-only" },
  { "GPL-1+", "GPL-1.0-or-later" },
  { "GPL-1.0+", "GPL-1.0-or-later" },
  { "GPL-2", "GPL-2.0-only" },
  { "GPL-2+", "GPL-2.0-or-later" },
  { "GPL-2.0", "GPL-2.0-only" },
  { "GPL-2.0+", "GPL-2.0-or-later" },
  { "GPL-3", "GPL-3.0-only" },
  { "GPL-3+", "GPL-3.0-or-later" },
  { "GPL-3.0", "GPL-3.0-only" },
  { "GPL-3.0+", "GPL-3.0-or-later" },
  { "GPLv2", "GPL-2.0-only" },
  { "GPLv2+", "GPL-2.0-or-later" },
  { "GPLv3", "GPL-3.0-only" },
  { "GPLv3+", "GPL-3.0-or-later" },
  { "LGPL-2", "LGPL-2.0-only" },
  { "LGPL-2+", "LGPL-2.0-or-later" },
  { "LGPL-2.0", "LGPL-2.0-only" },
  { "LGPL-2.0+", "LGPL-2.0-or-later" },
  { "LGPL-2.1", "LGPL-2.1-only" },
  { "LGPL-2.1+", "LGPL-2.1-or-later" },
  { "LGPL-3", "LGPL-3.0-only" },
  { "LGPL-3+", "LGPL-3.0-or-later" },
  { "LGPL-3.0", "LGPL-3.0-only" },
  { "LGPL-3.0+", "LGPL-3.0-or-later" },
  { "MPL-1.1+", "MPL-1.1" },
  { "MPL-2", "MPL-2.0" },
  { "PSF", "PSF-2.0" },
  { "Python", "Python-2.0" },
  { "Zope-2.1", "ZPL-2.1" },
};

/* The listed spelling of NAME (LEN bytes, compared without case) in
 * TABLE: a pointer to LEN bytes in TABLE, or NULL. */
static const char *
listed (const char *table, const char *name, size_t len)
{
  if (len == 0 || memchr (name, ' ', len) != NULL)
    return NULL;
  for (const char *p = table; (p = strchr (p, ' ')) != NULL && p[1] != '\0'; p++)
    if (strncasecmp (p + 1, name, len) == 0 && p[1 + len] == ' ')
      return p + 1;
  return NULL;
}

/* ---- Tokens ----------------------------------------------------------------- */

enum tok_kind
{
  TOK_ID,
  TOK_AND,
  TOK_OR,
  TOK_WITH,
  TOK_OPEN,
  TOK_CLOSE,
};

struct tok
{
  enum tok_kind kind;
  const char *s;
  size_t n;
};

static bool
id_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+';
}

/* Split S into tokens; false on a character no expression has. */
static bool
tokenize (const char *s, struct tok *toks, size_t *n)
{
  *n = 0;
  while (*s != '\0')
    {
      struct tok t = { .s = s, .n = 1 };

      if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        {
          s++;
          continue;
        }
      if (*n == EXPR_TOKENS_MAX)
        return false;
      if (*s == '(' || *s == ')')
        t.kind = *s == '(' ? TOK_OPEN : TOK_CLOSE;
      else if (id_char (*s))
        {
          while (id_char (s[t.n]))
            t.n++;
          t.kind = t.n == 3 && strncasecmp (s, "AND", 3) == 0    ? TOK_AND
                   : t.n == 2 && strncasecmp (s, "OR", 2) == 0   ? TOK_OR
                   : t.n == 4 && strncasecmp (s, "WITH", 4) == 0 ? TOK_WITH
                                                                 : TOK_ID;
        }
      else
        return false;
      toks[(*n)++] = t;
      s += t.n;
    }
  return *n > 0;
}

/* ---- Parser ----------------------------------------------------------------- */

struct parser
{
  const struct tok *t;
  size_t n, i;
  struct hoist_buf out;
};

/* A licence identifier: listed, a listed one with '+', or an alias. */
static bool
add_license (struct parser *p, const struct tok *t)
{
  const char *name;
  bool plus = t->n > 1 && t->s[t->n - 1] == '+';

  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strlen (aliases[i].from) == t->n && strncasecmp (aliases[i].from, t->s, t->n) == 0)
      {
        build_buf_addstr (&p->out, aliases[i].to);
        return true;
      }
  name = listed (licenses, t->s, plus ? t->n - 1 : t->n);
  if (name == NULL)
    return false;
  build_buf_add (&p->out, name, plus ? t->n - 1 : t->n);
  if (plus)
    build_buf_addch (&p->out, '+');
  return true;
}

static bool parse_expr (struct parser *p, int depth);

static bool
parse_term (struct parser *p, int depth)
{
  const struct tok *t;

  if (p->i == p->n)
    return false;
  t = &p->t[p->i++];
  if (t->kind == TOK_OPEN)
    {
      build_buf_addch (&p->out, '(');
      if (depth >= EXPR_DEPTH_MAX || !parse_expr (p, depth + 1) || p->i == p->n || p->t[p->i].kind != TOK_CLOSE)
        return false;
      p->i++;
      build_buf_addch (&p->out, ')');
      return true;
    }
  if (t->kind != TOK_ID || !add_license (p, t))
    return false;
  if (p->i < p->n && p->t[p->i].kind == TOK_WITH)
    {
      const char *ex;

      if (p->i + 1 == p->n || p->t[p->i + 1].kind != TOK_ID)
        return false;
      ex = listed (exceptions, p->t[p->i + 1].s, p->t[p->i + 1].n);
      if (ex == NULL)
        return false;
      build_buf_addstr (&p->out, " WITH ");
      build_buf_add (&p->out, ex, p->t[p->i + 1].n);
      p->i += 2;
    }
  return true;
}

static bool
parse_expr (struct parser *p, int depth)
{
  if (!parse_term (p, depth))
    return false;
  while (p->i < p->n && (p->t[p->i].kind == TOK_AND || p->t[p->i].kind == TOK_OR))
    {
      build_buf_addstr (&p->out, p->t[p->i].kind == TOK_AND ? " AND " : " OR ");
      p->i++;
      if (!parse_term (p, depth))
        return false;
    }
  return true;
}

char *
sbom_license_spdx (const char *declared)
{
  struct tok toks[EXPR_TOKENS_MAX];
  struct parser p = { .t = toks };
  if (declared == NULL || strlen (declared) > SBOM_LICENSE_MAX || !tokenize (declared, toks, &p.n))
    return NULL;
  hoist_buf_init (&p.out, HOIST_BUF_NO_LIMIT);
  if (!parse_expr (&p, 0) || p.i != p.n)
    {
      hoist_buf_release (&p.out);
      return NULL;
    }
  return hoist_buf_detach (&p.out, NULL);
}

bool
sbom_license_is_single (const char *expr)
{
  return listed (licenses, expr, strlen (expr)) != NULL;
}
