/* test_sbom_scan.c — the SBOM scanner fed layer tars (written here with
 * libarchive: plain, gzip, zstd) and root file systems on disk: the OCI
 * layer rules (a later file replaces, a whiteout removes a node_modules
 * package and all below it, an opaque directory hides what lower layers
 * had), candidates and non-candidates, symlinks never followed, hostile
 * entries; this machine's own dpkg database against dpkg-query; and a Go
 * executable built here when the go command is installed. */
#include "config.h"

#define BUILDER_INTERNAL

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/sbom_private.h"

#define GO_MAGIC "\xff Go buildinf:"

static char tmp_dir[] = "/tmp/hoist-test-sbom-XXXXXX";
static unsigned case_no;

/* One layer entry: 'f' file, 'd' directory, 'l' symlink, 'h' hard link
 * (DATA the target), 'g' a Go executable (DATA its module lines), 'c' a
 * copy of the file at DATA. */
struct ent
{
  const char *name;
  char type;
  const char *data;
  unsigned mode; /* 0: 0644, 0755 for 'g' and 'd' */
};

#define F(n, d)                                                                                                        \
  {                                                                                                                    \
    n, 'f', d, 0                                                                                                       \
  }
#define D(n)                                                                                                           \
  {                                                                                                                    \
    n, 'd', NULL, 0                                                                                                    \
  }
#define L(n, t)                                                                                                        \
  {                                                                                                                    \
    n, 'l', t, 0                                                                                                       \
  }
#define H(n, t)                                                                                                        \
  {                                                                                                                    \
    n, 'h', t, 0755                                                                                                    \
  }
#define G(n, m, mode)                                                                                                  \
  {                                                                                                                    \
    n, 'g', m, mode                                                                                                    \
  }
#define END                                                                                                            \
  {                                                                                                                    \
    NULL, 0, NULL, 0                                                                                                   \
  }

static const char go_mods[] = "path\texample.com/app\nmod\texample.com/app\tv1.4.0\th1:a=\n"
                              "dep\tgolang.org/x/sys\tv0.1.0\th1:b=\n";

static size_t
put_uvarint (unsigned char *p, uint64_t v)
{
  size_t n = 0;

  for (; v >= 0x80; v >>= 7)
    p[n++] = (unsigned char) (v | 0x80);
  p[n++] = (unsigned char) v;
  return n;
}

/* A 64-bit ELF-looking file of 8 KiB with build information at 4096. */
static char *
go_exe (const char *mods, size_t *size)
{
  unsigned char *b = hoist_xcalloc (1, 8192), *p = b + 4096 + 32;
  size_t n = strlen (mods);

  memcpy (b, "\177ELF\x02\x01\x01", 7);
  memcpy (b + 4096, GO_MAGIC "\x08\x02", 16);
  p += put_uvarint (p, 8);
  memcpy (p, "go1.22.1", 8);
  p += 8;
  p += put_uvarint (p, n + 32);
  memcpy (p + 16, mods, n);
  *size = 8192;
  return (char *) b;
}

static const char *
content (const struct ent *e, size_t *n, char **owned)
{
  struct hoist_buf b;

  *owned = NULL;
  if (e->type == 'g')
    return *owned = go_exe (e->data, n);
  if (e->type == 'c')
    {
      hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
      assert_int_equal (hoist_buf_read_file (&b, e->data, NULL), 0);
      return *owned = hoist_buf_detach (&b, n);
    }
  *n = e->data != NULL ? strlen (e->data) : 0;
  return e->data;
}

static unsigned
mode_of (const struct ent *e)
{
  return e->mode != 0 ? e->mode : (e->type == 'g' || e->type == 'd') ? 0755 : 0644;
}

/* ---- Writing layers and trees -------------------------------------------------------- */

static const char *
new_path (const char *what)
{
  static char buf[8][512];
  static unsigned next;
  char *b = buf[next++ % 8];

  snprintf (b, sizeof buf[0], "%s/%u-%s", tmp_dir, ++case_no, what);
  return b;
}

/* A layer of ENTS with FILTER ("gzip", "zstd" or NULL) at a new path. */
static const char *
write_layer (const struct ent *ents, const char *filter)
{
  const char *path = new_path ("layer.tar");
  struct archive *a = archive_write_new ();

  archive_write_set_format_pax_restricted (a);
  if (filter != NULL && strcmp (filter, "gzip") == 0)
    archive_write_add_filter_gzip (a);
  else if (filter != NULL)
    archive_write_add_filter_zstd (a);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (const struct ent *e = ents; e->name != NULL; e++)
    {
      struct archive_entry *ae = archive_entry_new ();
      cleanup_free char *owned = NULL;
      size_t n;
      const char *data = content (e, &n, &owned);

      archive_entry_set_pathname (ae, e->name);
      archive_entry_set_perm (ae, mode_of (e));
      archive_entry_set_filetype (ae, e->type == 'd' ? AE_IFDIR : e->type == 'l' ? AE_IFLNK : AE_IFREG);
      if (e->type == 'l')
        archive_entry_set_symlink (ae, e->data);
      else if (e->type == 'h')
        archive_entry_set_hardlink (ae, e->data);
      else if (e->type != 'd')
        archive_entry_set_size (ae, (la_int64_t) n);
      /* A name that is not UTF-8 is written as is, with a warning. */
      assert_true (archive_write_header (a, ae) >= ARCHIVE_WARN);
      if (e->type == 'f' || e->type == 'g' || e->type == 'c')
        assert_int_equal (archive_write_data (a, data, n), (la_ssize_t) n);
      archive_entry_free (ae);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
  return path;
}

static void
mkdirs (char *path)
{
  for (char *s = strchr (path + 1, '/'); s != NULL; s = strchr (s + 1, '/'))
    {
      *s = '\0';
      (void) mkdir (path, 0755);
      *s = '/';
    }
}

/* The same entries as a tree on disk under a new directory. */
static const char *
write_tree (const struct ent *ents)
{
  const char *root = new_path ("root");

  assert_int_equal (mkdir (root, 0755), 0);
  for (const struct ent *e = ents; e->name != NULL; e++)
    {
      cleanup_free char *p = hoist_xasprintf ("%s/%s", root, e->name);
      cleanup_free char *owned = NULL;
      size_t n;
      const char *data = content (e, &n, &owned);
      int fd;

      mkdirs (p);
      if (e->type == 'd')
        assert_int_equal (mkdir (p, mode_of (e)), 0);
      else if (e->type == 'l')
        assert_int_equal (symlink (e->data, p), 0);
      else if (e->type == 'h')
        {
          cleanup_free char *t = hoist_xasprintf ("%s/%s", root, e->data);

          assert_int_equal (link (t, p), 0);
        }
      else
        {
          fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_of (e));
          assert_true (fd >= 0);
          assert_int_equal (write (fd, data, n), (ssize_t) n);
          assert_int_equal (fchmod (fd, mode_of (e)), 0);
          close (fd);
        }
    }
  return root;
}

/* ---- Results ---------------------------------------------------------------------------- */

/* "TYPE NAME VERSION PURL LICENSE|- LOCATION" of each package found. */
static char **
render (const struct builder_sbom *sbom)
{
  char **out = hoist_xcalloc (1, sizeof (char *));

  for (size_t i = 0; i < sbom->n; i++)
    {
      const struct builder_sbom_package *p = &sbom->v[i];

      hoist_strv_push_take (&out, hoist_xasprintf ("%s %s %s %s %s %s", p->type, p->name, p->version, p->purl,
                                                   p->license ? p->license : "-", p->location));
    }
  return out;
}

static void
expect (char **got, const char *const *want)
{
  for (size_t i = 0; want[i] != NULL || got[i] != NULL; i++)
    if (want[i] == NULL || got[i] == NULL || strcmp (want[i], got[i]) != 0)
      fail_msg ("package %zu:\n got  '%s'\n want '%s'", i, got[i] ? got[i] : "(none)", want[i] ? want[i] : "(none)");
  hoist_strv_free (got);
}

#define EXPECT(got, ...)                                                                                               \
  do                                                                                                                   \
    {                                                                                                                  \
      const char *const want_[] = { __VA_ARGS__, NULL };                                                               \
      expect (got, want_);                                                                                             \
    }                                                                                                                  \
  while (0)

static void
scan_layer (struct builder_sbom_scan *s, const char *path)
{
  cleanup_error struct hoist_error *err = NULL;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  assert_true (fd >= 0);
  if (builder_sbom_scan_layer_fd (s, fd, &err) < 0)
    fail_msg ("%s", err->msg);
  close (fd);
}

static char **
finish (struct builder_sbom_scan *s)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sbom sbom;
  char **out;

  assert_int_equal (builder_sbom_scan_finish (s, &sbom, &err), 0);
  out = render (&sbom);
  builder_sbom_release (&sbom);
  return out;
}

static struct builder_sbom_scan *
scanner (void)
{
  struct builder_sbom_scan *s = NULL;

  assert_int_equal (builder_sbom_scan_new (&s, NULL), 0);
  return s;
}

/* ---- The layers -------------------------------------------------------------------------- */

#define DEP5 "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
#define NPM(n, v) "{\"name\":\"" n "\",\"version\":\"" v "\"}"
#define DPKG(n, v) "Package: " n "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " v "\n\n"

static const struct ent base_layer[] = {
  F ("./etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n"),
  /* A stanza repeated: one package. */
  F ("var/lib/dpkg/status", DPKG ("base-files", "12.4") DPKG ("zlib1g", "1:1.2.13.dfsg-1") DPKG ("base-files", "12.4")),
  F ("usr/share/doc/zlib1g/copyright", DEP5 "Files: *\nLicense: Zlib\n"),
  F ("/app/node_modules/a/package.json", "{\"name\":\"a\",\"version\":\"1.0.0\",\"license\":\"MIT\"}"),
  F ("app/node_modules/@s/b/package.json", NPM ("@s/b", "2.0.0")),
  F ("app/node_modules/c/package.json", NPM ("c", "3.0.0")),
  F ("app/node_modules/c/test/package.json", NPM ("fixture", "9")),
  F ("app/node_modules/c/node_modules/d/package.json", NPM ("d", "4.0.0")),
  F ("app/package.json", NPM ("the-app", "1")),
  F ("app/vendor/node_modules/e/package.json", NPM ("e", "5.0.0")),
  F ("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
     "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"),
  G ("usr/bin/app", go_mods, 0755),
  H ("usr/bin/app-link", "usr/bin/app"),
  G ("usr/bin/noexec", go_mods, 0644),
  { "usr/bin/script", 'f', "#!/bin/sh\necho this is a script, of no interest to the scanner at all\n", 0755 },
  END,
};

#define BASE_DEB                                                                                                       \
  "deb base-files 12.4 pkg:deb/ubuntu/base-files@12.4?arch=amd64 - /var/lib/dpkg/status",                              \
      "deb zlib1g 1:1.2.13.dfsg-1 pkg:deb/ubuntu/zlib1g@1:1.2.13.dfsg-1?arch=amd64 Zlib /var/lib/dpkg/status"
#define GO_AT(p)                                                                                                       \
  "golang example.com/app v1.4.0 pkg:golang/example.com/app@v1.4.0 - " p,                                              \
      "golang golang.org/x/sys v0.1.0 pkg:golang/golang.org/x/sys@v0.1.0 - " p
#define BASE_NPM                                                                                                       \
  "npm @s/b 2.0.0 pkg:npm/%40s/b@2.0.0 - /app/node_modules/@s/b/package.json",                                         \
      "npm a 1.0.0 pkg:npm/a@1.0.0 MIT /app/node_modules/a/package.json",                                              \
      "npm c 3.0.0 pkg:npm/c@3.0.0 - /app/node_modules/c/package.json",                                                \
      "npm d 4.0.0 pkg:npm/d@4.0.0 - /app/node_modules/c/node_modules/d/package.json",                                 \
      "npm e 5.0.0 pkg:npm/e@5.0.0 - /app/vendor/node_modules/e/package.json"
#define BASE_PYPI                                                                                                      \
  "pypi requests 2.31.0 pkg:pypi/requests@2.31.0 Apache 2.0 "                                                          \
  "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"

static void
test_base_layer (void **state)
{
  static const char *const filters[] = { NULL, "gzip", "zstd" };

  for (int i = 0; i < 3; i++)
    {
      struct builder_sbom_scan *s = scanner ();

      scan_layer (s, write_layer (base_layer, filters[i]));
      /* golang sorts the app's two paths: /usr/bin/app < /usr/bin/app-link. */
      EXPECT (finish (s), BASE_DEB, "golang example.com/app v1.4.0 pkg:golang/example.com/app@v1.4.0 - /usr/bin/app",
              "golang example.com/app v1.4.0 pkg:golang/example.com/app@v1.4.0 - /usr/bin/app-link",
              "golang golang.org/x/sys v0.1.0 pkg:golang/golang.org/x/sys@v0.1.0 - /usr/bin/app",
              "golang golang.org/x/sys v0.1.0 pkg:golang/golang.org/x/sys@v0.1.0 - /usr/bin/app-link", BASE_NPM,
              BASE_PYPI);
      builder_sbom_scan_free (s);
    }
}

static const struct ent second_layer[] = {
  F ("app/node_modules/a/package.json", NPM ("a", "1.1.0")),
  /* A whiteout removes the package and everything below it. */
  F ("app/node_modules/.wh.c", ""),
  /* An opaque directory hides the lower layers' content, not its own. */
  F ("app/vendor/node_modules/f/package.json", NPM ("f", "6.0.0")),
  F ("app/vendor/node_modules/.wh..wh..opq", ""),
  F ("usr/bin/.wh.app-link", ""),
  /* A whiteout of what a lower layer never had, and format names. */
  F ("nothing/.wh.here", ""),
  F (".wh..wh.plnk", ""),
  END,
};

static const struct ent third_layer[] = {
  /* A directory replaced by a symlink: nothing below it is left. */
  L ("usr/lib/python3/dist-packages", "/elsewhere"),
  F ("var/lib/dpkg/status", DPKG ("base-files", "12.5")),
  /* A symlink at a candidate's path is not read, and replaces it. */
  L ("usr/share/doc/zlib1g/copyright", "../libz/copyright"),
  END,
};

static void
test_layer_rules (void **state)
{
  struct builder_sbom_scan *s = scanner ();

  scan_layer (s, write_layer (base_layer, NULL));
  scan_layer (s, write_layer (second_layer, "gzip"));
  EXPECT (finish (s), BASE_DEB, GO_AT ("/usr/bin/app"),
          "npm @s/b 2.0.0 pkg:npm/%40s/b@2.0.0 - /app/node_modules/@s/b/package.json",
          "npm a 1.1.0 pkg:npm/a@1.1.0 - /app/node_modules/a/package.json",
          "npm f 6.0.0 pkg:npm/f@6.0.0 - /app/vendor/node_modules/f/package.json", BASE_PYPI);
  scan_layer (s, write_layer (third_layer, "zstd"));
  EXPECT (finish (s), "deb base-files 12.5 pkg:deb/ubuntu/base-files@12.5?arch=amd64 - /var/lib/dpkg/status",
          GO_AT ("/usr/bin/app"), "npm @s/b 2.0.0 pkg:npm/%40s/b@2.0.0 - /app/node_modules/@s/b/package.json",
          "npm a 1.1.0 pkg:npm/a@1.1.0 - /app/node_modules/a/package.json",
          "npm f 6.0.0 pkg:npm/f@6.0.0 - /app/vendor/node_modules/f/package.json");
  builder_sbom_scan_free (s);
}

static void
test_whole_dirs (void **state)
{
  static const struct ent gone[] = {
    F ("app/.wh.node_modules", ""), /* every package below */
    F ("etc/.wh.os-release", ""),   /* the vendor falls back to debian */
    D ("usr/bin/app"),              /* a file replaced by a directory */
    END,
  };
  static const struct ent opaque_root[] = {
    F (".wh..wh..opq", ""),
    F ("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n"),
    F ("usr/lib/os-release", "ID=alpine\n"),
    END,
  };
  struct builder_sbom_scan *s = scanner ();

  scan_layer (s, write_layer (base_layer, NULL));
  scan_layer (s, write_layer (gone, NULL));
  EXPECT (finish (s), "deb base-files 12.4 pkg:deb/debian/base-files@12.4?arch=amd64 - /var/lib/dpkg/status",
          "deb zlib1g 1:1.2.13.dfsg-1 pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64 Zlib /var/lib/dpkg/status",
          GO_AT ("/usr/bin/app-link"), "npm e 5.0.0 pkg:npm/e@5.0.0 - /app/vendor/node_modules/e/package.json",
          BASE_PYPI);
  scan_layer (s, write_layer (opaque_root, "zstd"));
  EXPECT (finish (s), "apk musl 1.2.4-r2 pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64 MIT /lib/apk/db/installed");
  builder_sbom_scan_free (s);
}

static void
test_dir_driver (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  const char *outside = write_tree ((const struct ent[]){
      F ("pkg/package.json", NPM ("outside", "1.0.0")),
      F ("status", DPKG ("outside", "1")),
      END,
  });
  cleanup_free char *pkg = hoist_xasprintf ("%s/pkg", outside), *json = hoist_xasprintf ("%s/package.json", pkg);
  cleanup_free char *status = hoist_xasprintf ("%s/status", outside);
  const struct ent links[] = {
    /* Symlinks out of the root, to a package directory and to files. */
    L ("app/node_modules/evil", pkg),
    L ("app/node_modules/linked/package.json", json),
    L ("srv/var/lib/dpkg/status", status),
    END,
  };
  const char *root = write_tree (base_layer);
  struct builder_sbom_scan *s = scanner ();
  cleanup_free char *more = NULL;

  for (const struct ent *e = links; e->name != NULL; e++)
    {
      cleanup_free char *p = hoist_xasprintf ("%s/%s", root, e->name);

      mkdirs (p);
      assert_int_equal (symlink (e->data, p), 0);
    }
  assert_int_equal (builder_sbom_scan_dir (s, root, &err), 0);
  EXPECT (finish (s), BASE_DEB, "golang example.com/app v1.4.0 pkg:golang/example.com/app@v1.4.0 - /usr/bin/app",
          "golang example.com/app v1.4.0 pkg:golang/example.com/app@v1.4.0 - /usr/bin/app-link",
          "golang golang.org/x/sys v0.1.0 pkg:golang/golang.org/x/sys@v0.1.0 - /usr/bin/app",
          "golang golang.org/x/sys v0.1.0 pkg:golang/golang.org/x/sys@v0.1.0 - /usr/bin/app-link", BASE_NPM, BASE_PYPI);
  builder_sbom_scan_free (s);
  /* A missing root is an error. */
  s = scanner ();
  more = hoist_xasprintf ("%s/none", root);
  assert_true (builder_sbom_scan_dir (s, more, &err) < 0);
  assert_non_null (strstr (err->msg, "none"));
  builder_sbom_scan_free (s);
}

static void
test_hostile_layer (void **state)
{
  static const struct ent bad[] = {
    F ("../etc/os-release", "ID=evil\n"),
    F ("a/../../node_modules/x/package.json", NPM ("escape", "1")),
    F ("node_modules/\xff\xfe/package.json", NPM ("badpath", "1")),
    H ("node_modules/ok/package.json", "../../etc/passwd"),
    F ("node_modules/.bin/package.json", NPM ("hidden", "1")),
    F ("node_modules/@/package.json", NPM ("noscope", "1")),
    F ("node_modules/good/package.json", NPM ("good", "1")),
    D ("./"),
    D ("/"),
    F ("x/.wh.", ""),
    F ("x/.wh..", ""),
    END,
  };
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sbom_scan *s = scanner ();
  const char *garbage = new_path ("garbage.gz");
  int fd = open (garbage, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  scan_layer (s, write_layer (bad, NULL));
  EXPECT (finish (s), "npm good 1 pkg:npm/good@1 - /node_modules/good/package.json");
  /* A broken stream: an error, with the message of libarchive. */
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "\x1f\x8b\x08\x00garbage that is not gzip at all", 36), 36);
  close (fd);
  fd = open (garbage, O_RDONLY | O_CLOEXEC);
  assert_true (builder_sbom_scan_layer_fd (s, fd, &err) < 0);
  assert_non_null (strstr (err->msg, "SBOM"));
  close (fd);
  builder_sbom_scan_free (s);
}

static void
test_size_limits (void **state)
{
  uint64_t max;

  assert_int_equal (sbom_classify ("var/lib/dpkg/status", 0644, SBOM_DB_MAX, &max), SBOM_KIND_DPKG);
  assert_int_equal (sbom_classify ("var/lib/dpkg/status", 0644, SBOM_DB_MAX + 1LL, &max), SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("a/node_modules/x/package.json", 0644, SBOM_MANIFEST_MAX + 1LL, &max),
                    SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("var/lib/dpkg/status.d/base", 0644, 10, &max), SBOM_KIND_DPKG);
  assert_int_equal (sbom_classify ("var/lib/dpkg/status.d/base.md5sums", 0644, 10, &max), SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("var/lib/dpkg/status.d/x/y", 0644, 10, &max), SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("usr/share/doc/bash/copyright", 0644, 10, &max), SBOM_KIND_DPKG_COPYRIGHT);
  assert_int_equal (sbom_classify ("usr/share/doc/a/b/copyright", 0644, 10, &max), SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("usr/lib/python3/x-1.egg-info/PKG-INFO", 0644, 10, &max), SBOM_KIND_PYTHON);
  assert_int_equal (sbom_classify ("usr/lib/python3/x-1.egg-info", 0644, 10, &max), SBOM_KIND_PYTHON);
  assert_int_equal (sbom_classify ("usr/lib/python3/x-1.dist-info/RECORD", 0644, 10, &max), SBOM_KIND_NONE);
  assert_int_equal (sbom_classify ("package.json", 0755, 100, &max), SBOM_KIND_EXEC);
  assert_int_equal (sbom_classify ("bin/x", 0755, 63, &max), SBOM_KIND_NONE);
  assert_null (sbom_path_clean ("./"));
  assert_null (sbom_path_clean ("a/../b"));
  {
    cleanup_free char *p = sbom_path_clean ("//./a//b/./c/");

    assert_string_equal (p, "a/b/c");
  }
}

/* ---- This machine's dpkg database -------------------------------------------------------- */

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Sorted, duplicates removed (multi-arch packages: one line per arch). */
static char **
sorted_set (char **v)
{
  size_t n = hoist_strv_len (v), w = 0;

  if (n == 0)
    return v;
  qsort (v, n, sizeof (char *), cmp_str);
  for (size_t r = 1; r < n; r++)
    if (strcmp (v[w], v[r]) == 0)
      free (v[r]);
    else
      v[++w] = v[r];
  v[w + 1] = NULL;
  return v;
}

static void
test_host_dpkg (void **state)
{
  char *argv[] = { "dpkg-query", "-W", "-f", "${db:Status-Status} ${Package} ${Version}\\n", NULL };
  char *envp[] = { "PATH=/usr/bin:/bin", NULL };
  struct hoist_buf out;
  struct hoist_spawn_opts o
      = { .argv = argv, .envp = envp, .stdin_fd = -1, .stdout_mode = HOIST_SPAWN_CAPTURE, .stdout_buf = &out };
  struct hoist_spawn_result res;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_strv char **want = hoist_xcalloc (1, sizeof (char *)), **got = hoist_xcalloc (1, sizeof (char *));
  struct builder_sbom_scan *s;
  struct builder_sbom sbom;
  const char *root;
  struct hoist_buf status;
  cleanup_free char *copy = NULL;

  if (access ("/var/lib/dpkg/status", R_OK) != 0 || access ("/usr/bin/dpkg-query", X_OK) != 0)
    {
      print_message ("skip: no dpkg database on this machine\n");
      skip ();
    }
  hoist_buf_init (&out, 64 << 20);
  assert_int_equal (hoist_spawn (&o, &res, &err), 0);
  assert_int_equal (res.exit_code, 0);
  for (char *line = out.data, *nl; (nl = strchr (line, '\n')) != NULL; line = nl + 1)
    {
      *nl = '\0';
      if (strncmp (line, "installed ", 10) == 0)
        hoist_strv_push (&want, line + 10);
    }
  hoist_buf_release (&out);
  /* The database as an image would hold it: a root with the file. */
  root = write_tree ((const struct ent[]){ F ("var/lib/dpkg/x", ""), END });
  hoist_buf_init (&status, SBOM_DB_MAX);
  assert_int_equal (hoist_buf_read_file (&status, "/var/lib/dpkg/status", &err), 0);
  copy = hoist_xasprintf ("%s/var/lib/dpkg/status", root);
  {
    int fd = open (copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    assert_true (fd >= 0);
    assert_int_equal (write (fd, status.data, status.len), (ssize_t) status.len);
    close (fd);
  }
  hoist_buf_release (&status);
  s = scanner ();
  assert_int_equal (builder_sbom_scan_dir (s, root, &err), 0);
  assert_int_equal (builder_sbom_scan_finish (s, &sbom, &err), 0);
  for (size_t i = 0; i < sbom.n; i++)
    if (strcmp (sbom.v[i].type, "deb") == 0)
      hoist_strv_push_take (&got, hoist_xasprintf ("%s %s", sbom.v[i].name, sbom.v[i].version));
  builder_sbom_release (&sbom);
  builder_sbom_scan_free (s);
  want = sorted_set (want);
  got = sorted_set (got);
  print_message ("dpkg-query: %zu installed packages; the scanner: %zu\n", hoist_strv_len (want), hoist_strv_len (got));
  assert_true (hoist_strv_len (want) > 0);
  expect (steal_pointer (&got), (const char *const *) want);
}

/* ---- A Go executable built here ---------------------------------------------------------- */

static void
put_file (const char *dir, const char *rel, const char *text)
{
  cleanup_free char *p = hoist_xasprintf ("%s/%s", dir, rel);
  int fd;

  mkdirs (p);
  fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
}

static void
test_go_binary (void **state)
{
  const char *src = new_path ("gosrc"), *root = new_path ("goroot");
  cleanup_free char *exe = hoist_xasprintf ("%s/usr/local/bin/hello", root);
  cleanup_free char *cache = NULL, *gopath = hoist_xasprintf ("GOPATH=%s/gopath", src);
  char *argv[] = { "go", "build", "-trimpath", "-o", exe, ".", NULL };
  char *envp[] = { "PATH=/usr/local/go/bin:/usr/bin:/bin",
                   NULL,
                   gopath,
                   "GOPROXY=off",
                   "GOFLAGS=-mod=mod",
                   "CGO_ENABLED=0",
                   "GOTOOLCHAIN=local",
                   NULL };
  struct hoist_spawn_opts o = { .argv = argv,
                                .envp = envp,
                                .cwd = src,
                                .stdin_fd = -1,
                                .stdout_mode = HOIST_SPAWN_INHERIT,
                                .stderr_mode = HOIST_SPAWN_INHERIT,
                                .timeout_ms = 300000 };
  struct hoist_spawn_result res;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sbom_scan *s;

  if (access ("/usr/bin/go", X_OK) != 0 && access ("/usr/local/go/bin/go", X_OK) != 0)
    {
      print_message ("skip: go is not installed: the Go parser is tested on a synthetic executable only\n");
      skip ();
    }
  /* The build cache: the user's when there is one, so reruns are quick. */
  cache = getenv ("HOME") != NULL ? hoist_xasprintf ("GOCACHE=%s/.cache/go-build", getenv ("HOME"))
                                  : hoist_xasprintf ("GOCACHE=%s/gocache", src);
  envp[1] = cache;
  put_file (src, "go.mod",
            "module example.com/hello\n\ngo 1.18\n\nrequire example.com/dep v1.2.3\n\n"
            "replace example.com/dep => ./dep\n");
  put_file (src, "dep/go.mod", "module example.com/dep\n\ngo 1.18\n");
  put_file (src, "dep/dep.go", "package dep\n\nfunc Hello() string { return \"hi\" }\n");
  put_file (src, "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/dep\"\n)\n\n"
            "func main() { fmt.Println(dep.Hello()) }\n");
  mkdirs (exe);
  assert_int_equal (hoist_spawn (&o, &res, &err), 0);
  assert_int_equal (res.exit_code, 0);
  /* On disk: the .go.buildinfo section found from the section headers. */
  s = scanner ();
  assert_int_equal (builder_sbom_scan_dir (s, root, &err), 0);
  EXPECT (finish (s), "golang example.com/dep (devel) pkg:golang/example.com/dep - /usr/local/bin/hello",
          "golang example.com/hello (devel) pkg:golang/example.com/hello - /usr/local/bin/hello");
  builder_sbom_scan_free (s);
  /* In a layer: the whole stream searched. */
  s = scanner ();
  scan_layer (s, write_layer ((const struct ent[]){ { "usr/local/bin/hello", 'c', exe, 0755 }, END }, "gzip"));
  EXPECT (finish (s), "golang example.com/dep (devel) pkg:golang/example.com/dep - /usr/local/bin/hello",
          "golang example.com/hello (devel) pkg:golang/example.com/hello - /usr/local/bin/hello");
  builder_sbom_scan_free (s);
}

static int
rm_rf (const char *path)
{
  char *const argv[] = { "rm", "-rf", (char *) path, NULL };
  struct hoist_spawn_opts o = { .argv = argv, .stdin_fd = -1 };
  struct hoist_spawn_result res;
  cleanup_error struct hoist_error *err = NULL;

  return hoist_spawn (&o, &res, &err) == 0 && res.exit_code == 0 ? 0 : -1;
}

/* ---- --write DIR ------------------------------------------------------------------------ */

/* A root holding a copy of this machine's dpkg database and the
 * copyright files of its packages (what is not there is left out). */
static const char *
host_root (void)
{
  const char *root = write_tree ((const struct ent[]){ F ("var/lib/dpkg/x", ""), END });
  cleanup_strv char **names = NULL;
  DIR *d = opendir ("/usr/share/doc");
  struct dirent *de;

  while (d != NULL && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      hoist_strv_push (&names, de->d_name);
  if (d != NULL)
    closedir (d);
  hoist_strv_push_take (&names, hoist_xstrdup (".."));
  for (size_t i = 0; names[i] != NULL; i++)
    {
      bool status = strcmp (names[i], "..") == 0;
      cleanup_free char *from
          = status ? hoist_xstrdup ("/var/lib/dpkg/status") : hoist_xasprintf ("/usr/share/doc/%s/copyright", names[i]);
      cleanup_free char *to = status ? hoist_xasprintf ("%s/var/lib/dpkg/status", root)
                                     : hoist_xasprintf ("%s/usr/share/doc/%s/copyright", root, names[i]);
      struct hoist_buf b;
      struct stat st;
      int fd;

      hoist_buf_init (&b, SBOM_DB_MAX);
      if (lstat (from, &st) == 0 && S_ISREG (st.st_mode) && hoist_buf_read_file (&b, from, NULL) == 0)
        {
          mkdirs (to);
          fd = open (to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
          if (fd >= 0 && write (fd, b.data, b.len) != (ssize_t) b.len)
            fprintf (stderr, "test_sbom_scan: cannot write '%s'\n", to);
          if (fd >= 0)
            close (fd);
        }
      hoist_buf_release (&b);
    }
  return root;
}

/* DIR/spdx.json and DIR/cyclonedx.json of the base and second layers
 * with this machine's dpkg database on top. */
static int
write_documents (const char *dir)
{
  static const struct builder_sbom_doc doc = {
    .image_name = "localhost:5000/hoist/test-sbom:latest",
    .digest = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
    .created = 1700000000,
  };
  struct hoist_error *err = NULL;
  struct builder_sbom_scan *s = scanner ();
  struct builder_sbom sbom = { 0 };
  json_t *spdx = NULL, *cdx = NULL;
  cleanup_free char *a = hoist_xasprintf ("%s/spdx.json", dir), *b = hoist_xasprintf ("%s/cyclonedx.json", dir);
  int r = -1;

  scan_layer (s, write_layer (base_layer, "gzip"));
  scan_layer (s, write_layer (second_layer, "zstd"));
  if (builder_sbom_scan_dir (s, host_root (), &err) == 0 && builder_sbom_scan_finish (s, &sbom, &err) == 0
      && builder_sbom_spdx (&sbom, &doc, &spdx, &err) == 0 && builder_sbom_cyclonedx (&sbom, &doc, &cdx, &err) == 0
      && json_dump_file (spdx, a, JSON_INDENT (2) | JSON_SORT_KEYS) == 0
      && json_dump_file (cdx, b, JSON_INDENT (2) | JSON_SORT_KEYS) == 0)
    r = 0;
  if (err != NULL)
    fprintf (stderr, "test_sbom_scan: %s\n", err->msg);
  hoist_error_free (err);
  json_decref (spdx);
  json_decref (cdx);
  builder_sbom_release (&sbom);
  builder_sbom_scan_free (s);
  return r;
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_base_layer), cmocka_unit_test (test_layer_rules),   cmocka_unit_test (test_whole_dirs),
    cmocka_unit_test (test_dir_driver), cmocka_unit_test (test_hostile_layer), cmocka_unit_test (test_size_limits),
    cmocka_unit_test (test_host_dpkg),  cmocka_unit_test (test_go_binary),
  };
  int r;

  umask (022);
  if (mkdtemp (tmp_dir) == NULL)
    return 1;
  if (argc == 3 && strcmp (argv[1], "--write") == 0)
    r = write_documents (argv[2]) == 0 ? 0 : 1;
  else
    r = cmocka_run_group_tests (tests, NULL, NULL);
  (void) rm_rf (tmp_dir);
  return r;
}
