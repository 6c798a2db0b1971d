/* fuzz_sbom.c — fuzz target for the SBOM parsers and the layer scanner.
 *
 * Input: any bytes.  They are given to every parser as the file each
 * reads (dpkg status, DEP-5 copyright, apk installed, package.json,
 * METADATA, os-release, a Go executable: whole, and fed to the Go finder
 * in pieces of a size taken from the last byte), then to the scanner as
 * a layer blob (tar, gzip or zstd) whose packages are written as SPDX and
 * CycloneDX documents.  Invariants, beyond no crash, no leak and no
 * undefined behaviour: every package kept has a name and a version that
 * are printable UTF-8 (so the documents can always be made), and the
 * whole-buffer and piecewise Go searches agree. */
#include "config.h"

#define BUILDER_INTERNAL

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/sbom_private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (1024 * 1024)

static void
check (bool ok)
{
  if (!ok)
    abort ();
}

static void
check_field (const char *s)
{
  cleanup_free char *copy = s != NULL ? sbom_field (s, strlen (s), SIZE_MAX) : NULL;

  check (copy != NULL && strcmp (copy, s) == 0);
}

/* Run FN on the input and check what it kept; returns how many. */
static size_t
parse (void (*fn) (const char *, size_t, struct sbom_pkgs *), const char *p, size_t n)
{
  struct sbom_pkgs l = { 0 };
  size_t count;

  fn (p, n, &l);
  for (size_t i = 0; i < l.n; i++)
    {
      cleanup_free char *purl = sbom_purl (&l.v[i], "debian");

      check_field (l.v[i].name);
      check_field (l.v[i].version);
      check (strncmp (purl, "pkg:", 4) == 0);
      free (sbom_license_spdx (l.v[i].license));
    }
  count = l.n;
  sbom_pkgs_release (&l);
  return count;
}

static void
go_in_pieces (const char *p, size_t n, size_t step, size_t whole)
{
  struct sbom_go g;
  struct sbom_pkgs l = { 0 };

  sbom_go_init (&g);
  sbom_go_reset (&g, 0, true);
  for (size_t off = 0; off < n; off += step)
    if (sbom_go_feed (&g, p + off, step < n - off ? step : n - off))
      break;
  sbom_go_packages (&g, &l);
  check (l.n == whole);
  sbom_pkgs_release (&l);
  sbom_go_release (&g);
}

static void
documents (const struct builder_sbom *sbom)
{
  static const struct builder_sbom_doc doc = {
    .image_name = "fuzz/image:latest",
    .digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    .created = 0,
  };
  cleanup_error struct hoist_error *err = NULL;
  json_t *a = NULL, *b = NULL;

  check (builder_sbom_spdx (sbom, &doc, &a, &err) == 0 && builder_sbom_cyclonedx (sbom, &doc, &b, &err) == 0);
  json_decref (a);
  json_decref (b);
}

static void
as_layer (const uint8_t *data, size_t size)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_sbom_scan *s = NULL;
  struct builder_sbom sbom;
  int fd = memfd_create ("fuzz-sbom-layer", MFD_CLOEXEC);

  check (fd >= 0 && write (fd, data, size) == (ssize_t) size && lseek (fd, 0, SEEK_SET) == 0);
  check (builder_sbom_scan_new (&s, &err) == 0);
  if (builder_sbom_scan_layer_fd (s, fd, &err) < 0)
    check (err != NULL && err->msg != NULL);
  check (builder_sbom_scan_finish (s, &sbom, &err) == 0);
  documents (&sbom);
  builder_sbom_release (&sbom);
  builder_sbom_scan_free (s);
  close (fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data;
  char *id, *like, *lic;
  size_t go;

  if (size > FUZZ_INPUT_MAX)
    return 0;
  (void) parse (sbom_parse_dpkg, p, size);
  (void) parse (sbom_parse_apk, p, size);
  (void) parse (sbom_parse_npm, p, size);
  (void) parse (sbom_parse_python, p, size);
  go = parse (sbom_parse_go, p, size);
  go_in_pieces (p, size, size > 0 ? 1u + data[size - 1] % 64u : 1, go);
  lic = sbom_parse_dpkg_copyright (p, size);
  free (sbom_license_spdx (lic));
  free (lic);
  sbom_os_release (p, size, &id, &like);
  free (id);
  free (like);
  as_layer (data, size);
  return 0;
}
