/* test_sbom.c — the SBOM parsers, purls, licences and documents: each
 * parser on real-shaped input and on hostile input (truncated, NUL bytes,
 * huge or missing fields: skipped, never a crash); Go build information in
 * a synthetic ELF, whole and fed in small pieces; the SPDX and CycloneDX
 * documents.  The layer rules and the drivers are test_sbom_scan.c's.
 *
 *   test_sbom --write DIR   writes DIR/spdx.json and DIR/cyclonedx.json
 *                           for a fixture (tests/integration/test_sbom_schema.sh
 *                           validates them against the published schemas). */
#include "config.h"

#define BUILDER_INTERNAL

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/sbom_private.h"

#define GO_MAGIC "\xff Go buildinf:"
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef void (*parse_fn) (const char *data, size_t n, struct sbom_pkgs *out);

/* What FN finds in the N bytes at TEXT, one line per package:
 * "NAME VERSION" then " arch=A", " license=L", " upstream=U" as set. */
static char **
parse_n (parse_fn fn, const char *text, size_t n)
{
  struct sbom_pkgs l = { 0 };
  char **out = hoist_xcalloc (1, sizeof (char *));

  fn (text, n, &l);
  for (size_t i = 0; i < l.n; i++)
    {
      const struct sbom_pkg *p = &l.v[i];

      hoist_strv_push_take (&out, hoist_xasprintf ("%s %s%s%s%s%s%s%s", p->name, p->version, p->arch ? " arch=" : "",
                                                   p->arch ? p->arch : "", p->license ? " license=" : "",
                                                   p->license ? p->license : "", p->upstream ? " upstream=" : "",
                                                   p->upstream ? p->upstream : ""));
    }
  sbom_pkgs_release (&l);
  return out;
}

static char **
parse (parse_fn fn, const char *text)
{
  return parse_n (fn, text, strlen (text));
}

static void
expect (char **got, const char *const *want)
{
  size_t i;

  for (i = 0; want[i] != NULL || got[i] != NULL; i++)
    if (want[i] == NULL || got[i] == NULL || strcmp (want[i], got[i]) != 0)
      fail_msg ("package %zu: got '%s', want '%s'", i, got[i] ? got[i] : "(none)", want[i] ? want[i] : "(none)");
  hoist_strv_free (got);
}

#define EXPECT(got, ...)                                                                                               \
  do                                                                                                                   \
    {                                                                                                                  \
      const char *const want_[] = { __VA_ARGS__, NULL };                                                               \
      expect (got, want_);                                                                                             \
    }                                                                                                                  \
  while (0)
#define NOTHING NULL

/* ---- dpkg ------------------------------------------------------------------------ */

static const char dpkg_status[] = "Package: libc6\n"
                                  "Status: install ok installed\n"
                                  "Priority: optional\n"
                                  "Architecture: amd64\n"
                                  "Multi-Arch: same\n"
                                  "Source: glibc (2.36-9+deb12u4)\n"
                                  "Version: 2.36-9+deb12u4\n"
                                  "Description: GNU C Library: Shared libraries\n"
                                  " Contains the standard libraries that are used by nearly all programs on\n"
                                  " the system.\n"
                                  "\n"
                                  "Package: old-conf\n"
                                  "Status: deinstall ok config-files\n"
                                  "Architecture: all\n"
                                  "Version: 1.0\n"
                                  "\n"
                                  "Package: held\r\n"
                                  "Status: hold ok installed\r\n"
                                  "Architecture: amd64\r\n"
                                  "Version: 1:2.4.47-2+b1\r\n"
                                  "\r\n"
                                  "Package: half\n"
                                  "Status: install reinstreq half-installed\n"
                                  "Version: 3\n"
                                  "\n\n\n"
                                  "Package: noversion\n"
                                  "Status: install ok installed\n"
                                  "\n"
                                  "Package: bash\n"
                                  "Status: install ok installed\n"
                                  "Source: bash\n"
                                  "Version: 5.2.15-2+b2\n"
                                  "Architecture: amd64\n";

static void
test_dpkg_status (void **state)
{
  EXPECT (parse (sbom_parse_dpkg, dpkg_status), "libc6 2.36-9+deb12u4 arch=amd64 upstream=glibc",
          "held 1:2.4.47-2+b1 arch=amd64", "bash 5.2.15-2+b2 arch=amd64");
  /* A distroless status.d file has no Status: installed. */
  EXPECT (parse (sbom_parse_dpkg, "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"),
          "tzdata 2024a-0+deb12u1 arch=all");
  /* Field names are not case-sensitive; a later one wins. */
  EXPECT (parse (sbom_parse_dpkg, "package: a\nVERSION: 1\nVersion: 2\n"), "a 2");
}

static void
test_dpkg_hostile (void **state)
{
  static const char nul[] = "Package: a\0b\nVersion: 1\n\nPackage: ok\nVersion: 2\n";
  cleanup_free char *huge = hoist_xmalloc (200000);
  struct hoist_buf b;

  EXPECT (parse_n (sbom_parse_dpkg, nul, sizeof nul - 1), "ok 2");
  /* Truncated anywhere: what is whole is read, the rest skipped. */
  for (size_t n = 0; n < sizeof dpkg_status - 1; n++)
    hoist_strv_free (parse_n (sbom_parse_dpkg, dpkg_status, n));
  EXPECT (parse_n (sbom_parse_dpkg, dpkg_status, 40), NOTHING);
  EXPECT (parse (sbom_parse_dpkg, ""), NOTHING);
  EXPECT (parse (sbom_parse_dpkg, ":\n:::\n \n\t\nno colon\nPackage:\nVersion:\n"), NOTHING);
  EXPECT (parse (sbom_parse_dpkg, "Package: bad\x01name\nVersion: 1\n"), NOTHING);
  EXPECT (parse (sbom_parse_dpkg, "Package: bad\xff\xfe\nVersion: 1\n"), NOTHING);
  /* A huge name is dropped with its package. */
  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_addstr (&b, "Package: ", NULL), 0);
  memset (huge, 'x', 199999);
  huge[199999] = '\0';
  assert_int_equal (hoist_buf_addf (&b, NULL, "%s\nVersion: 1\n\nPackage: after\nVersion: 2\n", huge), 0);
  EXPECT (parse (sbom_parse_dpkg, b.data), "after 2");
  hoist_buf_release (&b);
}

static void
test_dpkg_copyright (void **state)
{
  static const char dep5[] = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                             "Upstream-Name: x\n\n"
                             "Files: *\nCopyright: 2020 A\nLicense: GPL-2+\n\n"
                             "Files: lib/*\nCopyright: 2021 B\nLicense: BSD-3-clause\n\n"
                             "Files: doc/*\nLicense: GPL-2+ or Artistic\n\n"
                             "License: GPL-2+\n This program is free software...\n .\n more\n";
  cleanup_free char *got = sbom_parse_dpkg_copyright (dep5, sizeof dep5 - 1);
  cleanup_free char *spdx = NULL;

  assert_string_equal (got, "GPL-2+ AND BSD-3-clause AND (GPL-2+ or Artistic)");
  spdx = sbom_license_spdx (got);
  assert_string_equal (spdx, "GPL-2.0-or-later AND BSD-3-Clause AND (GPL-2.0-or-later OR Artistic-1.0-Perl)");
  /* Not machine-readable: no licence. */
  assert_null (sbom_parse_dpkg_copyright ("This is the Debian package of x.\nLicense: GPL\n", 47));
  assert_null (sbom_parse_dpkg_copyright ("Format: whatever\n\nLicense: MIT\n", 31));
  assert_null (sbom_parse_dpkg_copyright ("Format: https://x/copyright-format/1.0/\n\nFiles: *\n", 50));
  for (size_t n = 0; n < sizeof dep5 - 1; n++)
    free (sbom_parse_dpkg_copyright (dep5, n));
}

/* ---- apk, npm, Python -------------------------------------------------------------- */

static void
test_apk (void **state)
{
  static const char db[] = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\n"
                           "U:https://musl.libc.org/\nL:MIT\no:musl\nm:Maintainer <m@x>\nt:1700000000\n"
                           "p:so:libc.musl-x86_64.so.1=1\nF:lib\nR:ld-musl-x86_64.so.1\n\n"
                           "P:libcrypto3\nV:3.1.4-r1\nA:x86_64\nL:Apache-2.0\no:openssl\n\n"
                           "P:noversion\nA:x86_64\n\n"
                           "p:provides-only\nV:1\n";

  EXPECT (parse (sbom_parse_apk, db), "musl 1.2.4-r2 arch=x86_64 license=MIT",
          "libcrypto3 3.1.4-r1 arch=x86_64 license=Apache-2.0 upstream=openssl");
  for (size_t n = 0; n < sizeof db - 1; n++)
    hoist_strv_free (parse_n (sbom_parse_apk, db, n));
  EXPECT (parse_n (sbom_parse_apk, "P:a\0\nV:1\n", 9), NOTHING);
}

static void
test_npm (void **state)
{
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"left-pad\",\"version\":\"1.3.0\",\"license\":\"WTFPL\"}"),
          "left-pad 1.3.0 license=WTFPL");
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"@babel/core\",\"version\":\"7.23.2\",\"license\":{\"type\":\"MIT\"}}"),
          "@babel/core 7.23.2 license=MIT");
  EXPECT (parse (sbom_parse_npm,
                 "{\"name\":\"old\",\"version\":\"0.1.0\",\"licenses\":[{\"type\":\"MIT\"},\"Apache-2.0\",7]}"),
          "old 0.1.0 license=MIT OR Apache-2.0");
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"nover\"}"), NOTHING);
  EXPECT (parse (sbom_parse_npm, "{\"name\":7,\"version\":\"1\"}"), NOTHING);
  EXPECT (parse (sbom_parse_npm, "[\"name\",\"version\"]"), NOTHING);
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"a\",\"version\":\"1\""), NOTHING);
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"a\\u0000b\",\"version\":\"1\"}"), NOTHING);
  EXPECT (parse (sbom_parse_npm, "{\"name\":\"a\\nb\",\"version\":\"1\"}"), NOTHING);
  EXPECT (parse_n (sbom_parse_npm, "{\"name\":\"a\",\0\"version\":\"1\"}", 30), NOTHING);
}

static void
test_python (void **state)
{
  static const char meta[] = "Metadata-Version: 2.1\nName: Foo_Bar.baz\nVersion: 2.31.0\n"
                             "Summary: x\nLicense: Apache 2.0\n"
                             "Classifier: Development Status :: 5 - Production/Stable\n"
                             "Classifier: License :: OSI Approved :: MIT License\n"
                             "Classifier: License :: OSI Approved :: Apache Software License\n"
                             "Requires-Dist: idna (<4,>=2.5)\n\n"
                             "Name: not-a-header\nLicense: body\n";

  EXPECT (parse (sbom_parse_python, meta), "Foo_Bar.baz 2.31.0 license=MIT");
  EXPECT (parse (sbom_parse_python, "Name: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: X\n"),
          "a 1 license=MIT OR Apache-2.0");
  EXPECT (parse (sbom_parse_python, "Name: b\nVersion: 1\nLicense: BSD-3-Clause\n"
                                    "Classifier: License :: OSI Approved :: MIT License\n"),
          "b 1 license=BSD-3-Clause");
  EXPECT (parse (sbom_parse_python, "Name: c\nVersion: 1\nLicense: UNKNOWN\n"), "c 1");
  /* A licence text in License is not a declaration. */
  EXPECT (parse (sbom_parse_python, "Name: d\nVersion: 1\nLicense: Copyright (c) someone\n    all rights\n"), "d 1");
  EXPECT (parse (sbom_parse_python, "Name: e\nVersion: 1\nLicense: BSD\n"), "e 1 license=BSD");
  EXPECT (parse (sbom_parse_python, "Version: 1\n"), NOTHING);
  EXPECT (parse (sbom_parse_python, "\nName: late\nVersion: 1\n"), NOTHING);
  for (size_t n = 0; n < sizeof meta - 1; n++)
    hoist_strv_free (parse_n (sbom_parse_python, meta, n));
}

/* ---- Go build information -------------------------------------------------------- */

static size_t
put_uvarint (unsigned char *p, uint64_t v)
{
  size_t n = 0;

  while (v >= 0x80)
    {
      p[n++] = (unsigned char) (v | 0x80);
      v >>= 7;
    }
  p[n++] = (unsigned char) v;
  return n;
}

static const char go_mods[] = "path\texample.com/app/cmd/app\n"
                              "mod\texample.com/app\tv1.4.0\th1:abc=\n"
                              "dep\tgithub.com/Azure/go-autorest\tv14.2.0+incompatible\th1:x=\n"
                              "dep\tgolang.org/x/sys\tv0.1.0\th1:y=\n"
                              "=>\tgolang.org/x/sys\tv0.2.0\th1:z=\n"
                              "dep\texample.com/local\tv0.0.0\n"
                              "=>\t../local\t(devel)\t\n"
                              "build\t-compiler=gc\n";

/* A 64-bit ELF-looking image of SIZE bytes with Go build information at
 * AT (FLAGS in the header; MODS framed as the linker frames it), and two
 * decoys before it: the magic unaligned, and aligned with a bad header. */
static unsigned char *
go_image (size_t size, size_t at, unsigned flags, const char *mods)
{
  unsigned char *b = hoist_xcalloc (1, size), *p = b + at + 32;
  size_t mlen = strlen (mods);

  memcpy (b, "\177ELF\x02\x01\x01", 7);
  memcpy (b + at - 200, GO_MAGIC, 14);
  memcpy (b + at - 96, GO_MAGIC "\x08\x00", 16);
  memcpy (b + at, GO_MAGIC, 14);
  b[at + 14] = 8;
  b[at + 15] = (unsigned char) flags;
  p += put_uvarint (p, 8);
  memcpy (p, "go1.22.1", 8);
  p += 8;
  p += put_uvarint (p, mlen + 32);
  memset (p, 0x30, 16);
  memcpy (p + 16, mods, mlen);
  memset (p + 16 + mlen, 0xf9, 16);
  return b;
}

static const char *const go_want[] = {
  "example.com/app v1.4.0",
  "github.com/Azure/go-autorest v14.2.0+incompatible",
  "golang.org/x/sys v0.2.0",
  "example.com/local (devel)",
  NULL,
};

static void
test_go_buildinfo (void **state)
{
  size_t size = 8192;
  unsigned char *img = go_image (size, 4096, 2, go_mods);

  expect (parse_n (sbom_parse_go, (char *) img, size), go_want);
  /* Fed in pieces of every size up to 33 bytes: the same. */
  for (size_t step = 1; step <= 33; step++)
    {
      struct sbom_go g;
      struct sbom_pkgs l = { 0 };
      size_t off = 0;

      sbom_go_init (&g);
      sbom_go_reset (&g, 0, true);
      while (off < size && !sbom_go_feed (&g, img + off, step < size - off ? step : size - off))
        off += step;
      assert_int_equal (g.state, SBOM_GO_FOUND);
      assert_string_equal (g.version, "go1.22.1");
      sbom_go_packages (&g, &l);
      assert_int_equal (l.n, 4);
      sbom_pkgs_release (&l);
      sbom_go_release (&g);
    }
  /* Truncated anywhere: found whole or not at all. */
  for (size_t n = 0; n < 4096 + 32 + 9 + 2 + sizeof go_mods + 32; n += 7)
    {
      char **got = parse_n (sbom_parse_go, (char *) img, n);

      assert_true (hoist_strv_len (got) == 0 || hoist_strv_len (got) == 4);
      hoist_strv_free (got);
    }
  /* Not ELF. */
  img[0] = 'M';
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  free (img);
}

static void
test_go_hostile (void **state)
{
  size_t size = 8192;
  unsigned char *img = go_image (size, 4096, 0, go_mods);

  /* Go 1.17 and before: pointers, not read. */
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  free (img);
  /* Unaligned: not build information. */
  img = go_image (size, 4104, 2, go_mods);
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  free (img);
  /* A version string that is not one; lengths past any limit. */
  img = go_image (size, 4096, 2, go_mods);
  memcpy (img + 4096 + 33, "xx", 2);
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  memcpy (img + 4096 + 32, "\xff\xff\xff\xff\x7f", 5);
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  free (img);
  /* Unframed module information: the version alone, no modules. */
  img = go_image (size, 4096, 2, "mod\ta\tv1\n");
  img[4096 + 32 + 9 + 1 + 16 + 8] = 'X';
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), NOTHING);
  free (img);
  /* Lines that are not module lines; a field with a control byte. */
  img = go_image (size, 4096, 2, "mod\n=>\tx\tv1\ndep\t\tv1\ndep\ta\x01\tv1\ndep\tok\tv2\n=>\t\x02\tv3\n");
  EXPECT (parse_n (sbom_parse_go, (char *) img, size), "ok v2");
  free (img);
  /* A magic every 16 bytes, each a candidate that fails late. */
  img = hoist_xcalloc (1, 1 << 20);
  memcpy (img, "\177ELF", 4);
  for (size_t at = 16; at + 48 < (1 << 20); at += 16)
    {
      memcpy (img + at, GO_MAGIC "\x08\x02", 16);
      img[at + 32] = 8;
      memcpy (img + at + 33, "yo1.22.1", 8);
    }
  EXPECT (parse_n (sbom_parse_go, (char *) img, 1 << 20), NOTHING);
  free (img);
}

/* ---- purls and licences ---------------------------------------------------------- */

static void
check_purl (enum sbom_type type, const char *name, const char *version, const char *arch, const char *upstream,
            const char *vendor, const char *want)
{
  struct sbom_pkg p = { .type = type,
                        .name = (char *) name,
                        .version = (char *) version,
                        .arch = (char *) arch,
                        .upstream = (char *) upstream };
  cleanup_free char *got = sbom_purl (&p, vendor);

  assert_string_equal (got, want);
}

static void
test_purl (void **state)
{
  check_purl (SBOM_DEB, "attr", "1:2.4.47-2+b1", "amd64", NULL, "debian",
              "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64");
  check_purl (SBOM_DEB, "libc6", "2.36-9", "amd64", "glibc", "ubuntu",
              "pkg:deb/ubuntu/libc6@2.36-9?arch=amd64&upstream=glibc");
  check_purl (SBOM_APK, "musl", "1.2.4-r2", "x86_64", NULL, "alpine", "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
  check_purl (SBOM_NPM, "@Babel/Core", "7.0.0-beta.1", NULL, NULL, NULL, "pkg:npm/%40babel/core@7.0.0-beta.1");
  check_purl (SBOM_NPM, "left-pad", "1.3.0", NULL, NULL, NULL, "pkg:npm/left-pad@1.3.0");
  check_purl (SBOM_PYPI, "Foo_Bar..baz", "2.0", NULL, NULL, NULL, "pkg:pypi/foo-bar-baz@2.0");
  check_purl (SBOM_GOLANG, "github.com/Azure/go-autorest", "v14.2.0+incompatible", NULL, NULL, NULL,
              "pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible");
  check_purl (SBOM_GOLANG, "example.com/app", "(devel)", NULL, NULL, NULL, "pkg:golang/example.com/app");
  check_purl (SBOM_GOLANG, "gopkg.in/yaml.v3", "v3.0.1", NULL, NULL, NULL, "pkg:golang/gopkg.in/yaml.v3@v3.0.1");
  check_purl (SBOM_DEB, "x", "1 2?#@%", "a&b", NULL, "debian", "pkg:deb/debian/x@1%202%3F%23%40%25?arch=a%26b");
}

static void
check_license (const char *declared, const char *want)
{
  cleanup_free char *got = sbom_license_spdx (declared);

  if (want == NULL && got != NULL)
    fail_msg ("'%s' read as '%s'", declared, got);
  if (want != NULL && (got == NULL || strcmp (got, want) != 0))
    fail_msg ("'%s' read as '%s', want '%s'", declared, got ? got : "(not SPDX)", want);
}

static void
test_os_release (void **state)
{
  static const char text[] = "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE='debian linux'\nVERSION_ID=\"22.04\"\n";
  char *id, *like;

  sbom_os_release (text, sizeof text - 1, &id, &like);
  assert_string_equal (id, "ubuntu");
  assert_string_equal (like, "debian linux");
  free (id);
  free (like);
  sbom_os_release ("ID=\"Bad Id\"\nID_LIKE=\"a  b\"\n", 27, &id, &like);
  assert_null (id);
  assert_null (like);
  sbom_os_release ("ID=\"\"\nID=x\"\nID_LIKE= a\n", 23, &id, &like);
  assert_null (id);
  assert_null (like);
}

static void
test_license (void **state)
{
  check_license ("MIT", "MIT");
  check_license ("mit", "MIT");
  check_license ("Expat", "MIT");
  check_license ("GPL-2+", "GPL-2.0-or-later");
  check_license ("apache-2.0 or mit", "Apache-2.0 OR MIT");
  check_license ("(MIT OR Apache-2.0) AND BSD-3-clause", "(MIT OR Apache-2.0) AND BSD-3-Clause");
  check_license ("GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0");
  check_license ("LGPL-2.1+", "LGPL-2.1-or-later");
  check_license ("Apache-1.1+", "Apache-1.1+");
  check_license ("MIT License", NULL);
  check_license ("Apache 2.0", NULL);
  check_license ("public-domain", NULL);
  check_license ("LicenseRef-foo", NULL);
  check_license ("MIT AND", NULL);
  check_license ("(MIT", NULL);
  check_license ("MIT)", NULL);
  check_license ("MIT WITH MIT", NULL);
  check_license ("", NULL);
  check_license ("((((((((((((((((((((MIT))))))))))))))))))))", NULL);
  assert_true (sbom_license_is_single ("GPL-2.0-only"));
  assert_false (sbom_license_is_single ("MIT OR X11"));
}

/* ---- Documents ------------------------------------------------------------------------ */

static struct builder_sbom_package fixture_pkgs[] = {
  { "deb", "libc6", "2.36-9", "pkg:deb/debian/libc6@2.36-9?arch=amd64", "GPL-2+ AND LGPL-2.1+", "amd64",
    "/var/lib/dpkg/status" },
  { "deb", "tzdata", "2024a", "pkg:deb/debian/tzdata@2024a?arch=all", "public-domain", "all", "/var/lib/dpkg/status" },
  { "golang", "example.com/app", "(devel)", "pkg:golang/example.com/app", NULL, NULL, "/usr/bin/app" },
  { "npm", "@babel/core", "7.23.2", "pkg:npm/%40babel/core@7.23.2", "MIT", NULL,
    "/app/node_modules/@babel/core/package.json" },
};

static const struct builder_sbom fixture = { .v = fixture_pkgs, .n = 4 };
static const struct builder_sbom_doc fixture_doc = {
  .image_name = "ghcr.io/org/app:1.2",
  .digest = DIGEST,
  .created = 1700000000,
};

static void
test_spdx (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_json json_t *doc = NULL, *again = NULL;
  cleanup_free char *a = NULL, *b = NULL;
  json_t *pkgs, *p;

  assert_int_equal (builder_sbom_spdx (&fixture, &fixture_doc, &doc, &err), 0);
  assert_string_equal (json_string_value (json_object_get (doc, "spdxVersion")), "SPDX-2.3");
  assert_string_equal (json_string_value (json_object_get (doc, "documentNamespace")),
                       "https://hoist.dev/spdx/ghcr.io/org/app:1.2-0123456789abcdef0123456789abcdef0123456789abcdef"
                       "0123456789abcdef");
  assert_string_equal (json_string_value (json_object_get (json_object_get (doc, "creationInfo"), "created")),
                       "2023-11-14T22:13:20Z");
  pkgs = json_object_get (doc, "packages");
  assert_int_equal (json_array_size (pkgs), 5);
  p = json_array_get (pkgs, 0);
  assert_string_equal (json_string_value (json_object_get (p, "primaryPackagePurpose")), "CONTAINER");
  p = json_array_get (pkgs, 1);
  assert_string_equal (json_string_value (json_object_get (p, "SPDXID")), "SPDXRef-Package-deb-libc6-1");
  assert_string_equal (json_string_value (json_object_get (p, "licenseDeclared")),
                       "GPL-2.0-or-later AND LGPL-2.1-or-later");
  assert_string_equal (json_string_value (json_object_get (p, "sourceInfo")), "found in /var/lib/dpkg/status");
  p = json_array_get (pkgs, 2);
  assert_string_equal (json_string_value (json_object_get (p, "licenseDeclared")), "NOASSERTION");
  assert_non_null (strstr (json_string_value (json_object_get (p, "licenseComments")), "public-domain"));
  p = json_array_get (pkgs, 4);
  assert_string_equal (json_string_value (json_object_get (p, "SPDXID")), "SPDXRef-Package-npm--babel-core-4");
  assert_int_equal (json_array_size (json_object_get (doc, "relationships")), 5);
  /* The same inputs, the same bytes. */
  assert_int_equal (builder_sbom_spdx (&fixture, &fixture_doc, &again, &err), 0);
  a = builder_json_canonical (doc, NULL);
  b = builder_json_canonical (again, NULL);
  assert_string_equal (a, b);
}

static void
test_cyclonedx (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  cleanup_json json_t *doc = NULL, *other = NULL;
  struct builder_sbom_doc d2 = fixture_doc;
  const char *serial;
  json_t *c;

  assert_int_equal (builder_sbom_cyclonedx (&fixture, &fixture_doc, &doc, &err), 0);
  serial = json_string_value (json_object_get (doc, "serialNumber"));
  assert_int_equal (strlen (serial), 45);
  assert_int_equal (serial[23], '5'); /* version 5 */
  assert_string_equal (json_string_value (json_object_get (json_object_get (doc, "metadata"), "timestamp")),
                       "2023-11-14T22:13:20Z");
  c = json_object_get (json_object_get (doc, "metadata"), "component");
  assert_string_equal (json_string_value (json_object_get (c, "type")), "container");
  assert_string_equal (json_string_value (json_object_get (c, "purl")),
                       "pkg:oci/app@" DIGEST "?repository_url=ghcr.io/org/app&tag=1.2");
  c = json_object_get (doc, "components");
  assert_int_equal (json_array_size (c), 4);
  assert_string_equal (json_string_value (json_object_get (
                           json_array_get (json_object_get (json_array_get (c, 0), "licenses"), 0), "expression")),
                       "GPL-2.0-or-later AND LGPL-2.1-or-later");
  assert_string_equal (
      json_string_value (json_object_get (
          json_object_get (json_array_get (json_object_get (json_array_get (c, 1), "licenses"), 0), "license"),
          "name")),
      "public-domain");
  assert_null (json_object_get (json_array_get (c, 2), "licenses"));
  assert_string_equal (
      json_string_value (json_object_get (
          json_object_get (json_array_get (json_object_get (json_array_get (c, 3), "licenses"), 0), "license"), "id")),
      "MIT");
  /* Another image, another serial number. */
  d2.digest = "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  assert_int_equal (builder_sbom_cyclonedx (&fixture, &d2, &other, &err), 0);
  assert_string_not_equal (serial, json_string_value (json_object_get (other, "serialNumber")));
}

static void
test_documents_refuse (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sbom_doc d = fixture_doc;
  json_t *doc = NULL;

  d.digest = "sha256:xyz";
  assert_int_equal (builder_sbom_spdx (&fixture, &d, &doc, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "digest"));
  d = fixture_doc;
  d.image_name = "bad\nname";
  assert_int_equal (builder_sbom_cyclonedx (&fixture, &d, &doc, &err), -EINVAL);
  d = fixture_doc;
  d.created = -5;
  assert_true (builder_sbom_spdx (&fixture, &d, &doc, &err) < 0);
  assert_null (doc);
}

/* ---- --write DIR ------------------------------------------------------------------------ */

static int
write_documents (const char *dir)
{
  struct hoist_error *err = NULL;
  json_t *spdx = NULL, *cdx = NULL;
  cleanup_free char *a = hoist_xasprintf ("%s/spdx.json", dir), *b = hoist_xasprintf ("%s/cyclonedx.json", dir);
  int r = -1;

  if (builder_sbom_spdx (&fixture, &fixture_doc, &spdx, &err) == 0
      && builder_sbom_cyclonedx (&fixture, &fixture_doc, &cdx, &err) == 0
      && json_dump_file (spdx, a, JSON_INDENT (2) | JSON_SORT_KEYS) == 0
      && json_dump_file (cdx, b, JSON_INDENT (2) | JSON_SORT_KEYS) == 0)
    r = 0;
  if (err != NULL)
    fprintf (stderr, "test_sbom: %s\n", err->msg);
  hoist_error_free (err);
  json_decref (spdx);
  json_decref (cdx);
  return r;
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dpkg_status),
    cmocka_unit_test (test_dpkg_hostile),
    cmocka_unit_test (test_dpkg_copyright),
    cmocka_unit_test (test_apk),
    cmocka_unit_test (test_npm),
    cmocka_unit_test (test_python),
    cmocka_unit_test (test_go_buildinfo),
    cmocka_unit_test (test_go_hostile),
    cmocka_unit_test (test_purl),
    cmocka_unit_test (test_os_release),
    cmocka_unit_test (test_license),
    cmocka_unit_test (test_spdx),
    cmocka_unit_test (test_cyclonedx),
    cmocka_unit_test (test_documents_refuse),
  };

  if (argc == 3 && strcmp (argv[1], "--write") == 0)
    return write_documents (argv[2]) == 0 ? 0 : 1;
  return cmocka_run_group_tests (tests, NULL, NULL);
}
