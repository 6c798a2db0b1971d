/* sbom_private.h — private to builder/: the packages in an image's final
 * file system, and their SBOM documents (SPDX 2.3 and CycloneDX 1.5 JSON).
 *
 * The scanner is fed the image as it is stored: its layer blobs, bottom
 * first, each read once as a stream (builder_sbom_scan_layer_fd), or a
 * root file system on disk (builder_sbom_scan_dir).  Nothing is extracted.
 * What it finds is kept by the path of the file it came from, so the OCI
 * layer rules are simple: a later entry at a path replaces what was found
 * there (and below it, for a non-directory), a whiteout ".wh.NAME" removes
 * what lower layers had at and below NAME, an opaque marker ".wh..wh..opq"
 * what they had below its directory.  Symlinks are never followed.
 *
 * Sources (builder/sbom_*.c): sbom_scan.c the findings and the result,
 * sbom_source.c the candidates and the two drivers, sbom_dpkg.c,
 * sbom_apk.c, sbom_npm.c, sbom_python.c and sbom_go.c the parsers,
 * sbom_util.c fields, stanzas, purls, os-release and a string map,
 * sbom_license.c SPDX licence expressions, sbom_json.c the documents.  The first block below is what the build
 * and push will use; the rest is shared between those files. */
#ifndef HOIST_BUILDER_SBOM_PRIVATE_H
#define HOIST_BUILDER_SBOM_PRIVATE_H

#ifndef BUILDER_INTERNAL
#error "sbom_private.h is private to builder/"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/builder.h"

/* ---------------------------------------------------------------------
 * The scanner and its result
 * ------------------------------------------------------------------- */

/* More packages than this in one image is refused (E2BIG). */
#define BUILDER_SBOM_PACKAGES_MAX (1u << 20)

/* One package found.  Every string is owned by the builder_sbom holding
 * it; all are valid UTF-8 without control characters. */
struct builder_sbom_package
{
  char *type;     /* "deb", "apk", "npm", "pypi", "golang" */
  char *name;     /* as the package manager spells it */
  char *version;  /* "(devel)" for a Go main module built from a checkout */
  char *purl;     /* "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64" */
  char *license;  /* as declared (not necessarily SPDX); NULL: none declared */
  char *arch;     /* deb and apk; NULL otherwise */
  char *location; /* the file it was found in: "/var/lib/dpkg/status" */
};

/* Sorted by (type, name, version, location, arch), no two alike. */
struct builder_sbom
{
  struct builder_sbom_package *v;
  size_t n;
};

/* Free every package; SBOM is left empty. */
void builder_sbom_release (struct builder_sbom *sbom);

/* Accumulates what the layers of one image hold.  Used by one thread. */
struct builder_sbom_scan;

/* A scanner with nothing found yet; *OUT is the caller's
 * (builder_sbom_scan_free).  Fails only on allocation, which aborts. */
int builder_sbom_scan_new (struct builder_sbom_scan **out, struct hoist_error **err) HOIST_WUR;
void builder_sbom_scan_free (struct builder_sbom_scan *s);

/* Read one layer blob from FD (not closed; tar, tar+gzip or tar+zstd, as
 * the layer media types allow) in one pass, on top of the layers scanned
 * before.  Only candidate files are read: package databases and manifests
 * of at most their size limit, and executables, whose bytes are streamed
 * through the Go build-info finder (at most SBOM_GO_SCAN_MAX bytes each).
 * Entries with ".." or no name are skipped.  Fails when the stream is not
 * a readable tar; what was found in the layer before the failure is kept,
 * so the caller should drop the scanner. */
int builder_sbom_scan_layer_fd (struct builder_sbom_scan *s, int fd, struct hoist_error **err) HOIST_WUR;

/* Scan the root file system under ROOT as one more layer (with no
 * whiteouts).  The walk never follows a symlink (each name is opened with
 * O_NOFOLLOW relative to its directory), stays on ROOT's file system, and
 * skips what it cannot read.  Fails when ROOT cannot be opened, on a read
 * error of a directory, or on a tree deeper than SBOM_DIR_DEPTH_MAX. */
int builder_sbom_scan_dir (struct builder_sbom_scan *s, const char *root, struct hoist_error **err) HOIST_WUR;

/* The packages found, with their purls (the deb and apk vendor is the ID
 * of the final etc/os-release or usr/lib/os-release) and, for deb
 * packages, the licence of a machine-readable usr/share/doc/NAME/copyright.
 * *OUT is the caller's (builder_sbom_release); S stays usable.  Fails with
 * E2BIG over BUILDER_SBOM_PACKAGES_MAX packages. */
int builder_sbom_scan_finish (struct builder_sbom_scan *s, struct builder_sbom *out,
                              struct hoist_error **err) HOIST_WUR;

/* ---------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------- */

/* What a document says of the image it describes.  Borrowed. */
struct builder_sbom_doc
{
  const char *image_name;   /* "ghcr.io/org/app:1.2" */
  const char *digest;       /* the image manifest's: "sha256:<64 hex>" */
  int64_t created;          /* seconds since the epoch: SOURCE_DATE_EPOCH when the build has it */
  const char *tool_name;    /* NULL: "hoist" */
  const char *tool_version; /* NULL: PACKAGE_VERSION */
};

/* The SPDX 2.3 document of SBOM: the image as the root package (purpose
 * CONTAINER, described by the document), then each package, contained in
 * the image, with its purl as a PACKAGE-MANAGER reference.  The same
 * inputs give the same document (documentNamespace is made of the name
 * and the digest).  *OUT is a new reference.  Fails (EINVAL) on a digest
 * that is not "sha256:<64 lowercase hex>" or an empty name, and on a time
 * before 1970 or after 9999. */
int builder_sbom_spdx (const struct builder_sbom *sbom, const struct builder_sbom_doc *doc, json_t **out,
                       struct hoist_error **err) HOIST_WUR;

/* The CycloneDX 1.5 document of SBOM: the image as metadata.component
 * (type container), each package a component of type library; the
 * serial number a UUID (version 5) of the name and digest.  As
 * builder_sbom_spdx otherwise. */
int builder_sbom_cyclonedx (const struct builder_sbom *sbom, const struct builder_sbom_doc *doc, json_t **out,
                            struct hoist_error **err) HOIST_WUR;

/* ---------------------------------------------------------------------
 * Shared by the scanner's sources
 * ------------------------------------------------------------------- */

/* Size limits of the files read whole. */
#define SBOM_DB_MAX (64u << 20)      /* var/lib/dpkg/status, lib/apk/db/installed */
#define SBOM_MANIFEST_MAX (1u << 20) /* package.json, METADATA, a status.d file */
#define SBOM_COPYRIGHT_MAX (256u << 10)
#define SBOM_OS_RELEASE_MAX (64u << 10)
/* Bytes of one executable searched for Go build information. */
#define SBOM_GO_SCAN_MAX (256u << 20)
/* Field lengths kept. */
#define SBOM_NAME_MAX 512
#define SBOM_VERSION_MAX 256
#define SBOM_LICENSE_MAX 1024
#define SBOM_DIR_DEPTH_MAX 256

enum sbom_type
{
  SBOM_DEB = 0,
  SBOM_APK,
  SBOM_NPM,
  SBOM_PYPI,
  SBOM_GOLANG,
};

/* "deb", "apk", ... */
const char *sbom_type_name (enum sbom_type t);

/* A package as a parser read it; the purl is made at the end, when the
 * distribution is known.  Strings owned. */
struct sbom_pkg
{
  enum sbom_type type;
  char *name;
  char *version;
  char *arch;     /* or NULL */
  char *license;  /* or NULL */
  char *upstream; /* deb Source, apk origin, when not the name; or NULL */
};

struct sbom_pkgs
{
  struct sbom_pkg *v;
  size_t n;
  size_t alloc;
};

/* Add a package made of the given strings, which it takes (NULL allowed
 * but for NAME and VERSION: without them nothing is added and all are
 * freed).  Returns true when added. */
bool sbom_pkgs_add (struct sbom_pkgs *l, enum sbom_type type, char *name, char *version, char *arch, char *license,
                    char *upstream);
void sbom_pkgs_release (struct sbom_pkgs *l);

/* A hash map from strings to indexes: open addressing, linear probing.
 * It owns its keys when OWNS is set (a key put twice is then freed, the
 * first kept), else borrows them.  Zero-initialised is empty. */
struct sbom_map
{
  char **keys;
  size_t *vals;
  size_t cap, n;
  bool owns;
};

bool sbom_map_get (const struct sbom_map *m, const char *key, size_t *val);
void sbom_map_put (struct sbom_map *m, char *key, size_t val);
void sbom_map_del (struct sbom_map *m, const char *key);
void sbom_map_release (struct sbom_map *m);

/* A copy of the N bytes at S without surrounding blanks, when what is left
 * is a usable field: 1 to MAX bytes of valid UTF-8 with no control
 * character.  NULL otherwise. */
char *sbom_field (const char *s, size_t n, size_t max);

/* deb822 / RFC 822 headers.  One field of a stanza: NAME: VALUE, VALUE
 * the rest of the first line, and MORE set when continuation lines (that
 * start with a blank) follow it. */
struct sbom_kv
{
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
  bool more;
};

enum sbom_kv_next
{
  SBOM_KV_END = 0, /* no more data */
  SBOM_KV_FIELD,   /* *KV is a field */
  SBOM_KV_BREAK,   /* a blank line: the stanza ended */
};

/* The next field at *P (before END), moving *P past it and its
 * continuation lines.  Lines without ':' are skipped; "\r\n" is read as
 * "\n"; NUL bytes are ordinary bytes (sbom_field refuses them). */
enum sbom_kv_next sbom_kv_next (const char **p, const char *end, struct sbom_kv *kv);
/* True when KV's name is NAME, compared without case. */
bool sbom_kv_is (const struct sbom_kv *kv, const char *name);

/* The purl of P: pkg:TYPE/[NAMESPACE/]NAME[@VERSION][?QUALIFIERS], each
 * part percent-encoded as the purl specification says (A-Z a-z 0-9 . - _ ~
 * and ':' as they are, every other byte %XX).  VENDOR is the deb or apk
 * namespace ("debian", "ubuntu", "alpine"). */
char *sbom_purl (const struct sbom_pkg *p, const char *vendor);
/* The purl specification's percent-encoding of S, appended to B:
 * alphanumerics, ". - _ ~" and ':' (which is never encoded) stay, every
 * other byte is %XX; with KEEP_SLASH '/' stays too (namespace segments,
 * URLs); with LOWER, A-Z become a-z first. */
void sbom_encode (struct hoist_buf *b, const char *s, bool lower, bool keep_slash);
/* pkg:oci/NAME@DIGEST?repository_url=REPO&tag=TAG of an image name as
 * given ("ghcr.io/org/app:1.2"). */
char *sbom_purl_oci (const char *image_name, const char *digest);
/* PEP 503: lowercase, each run of '-', '_' and '.' one '-'. */
char *sbom_pep503 (const char *name);

/* ID and ID_LIKE of an os-release file (N bytes at DATA): *ID gets the ID
 * when it is well formed (lowercase letters, digits, '.', '_', '-'), else
 * NULL; *ID_LIKE likewise (space-separated IDs).  Both the caller's. */
void sbom_os_release (const char *data, size_t n, char **id, char **id_like);

/* Parsers: each reads N bytes at DATA (any bytes: NUL, no final newline,
 * a truncated record) and appends what it can read to OUT, skipping
 * records without a name or version. */
/* var/lib/dpkg/status or a status.d file: stanzas whose Status, when
 * there is one, says "installed" (the third word, as dpkg-query's
 * ${db:Status-Status}). */
void sbom_parse_dpkg (const char *data, size_t n, struct sbom_pkgs *out);
/* usr/share/doc/NAME/copyright: the License short names of a
 * machine-readable (DEP-5) file, joined with " AND "; NULL when it is not
 * one or names none. */
char *sbom_parse_dpkg_copyright (const char *data, size_t n);
/* lib/apk/db/installed. */
void sbom_parse_apk (const char *data, size_t n, struct sbom_pkgs *out);
/* node_modules/[@SCOPE/]NAME/package.json. */
void sbom_parse_npm (const char *data, size_t n, struct sbom_pkgs *out);
/* *.dist-info/METADATA, *.egg-info/PKG-INFO. */
void sbom_parse_python (const char *data, size_t n, struct sbom_pkgs *out);

/* ---- Go build information (sbom_go.c) ----
 *
 * Go 1.18 and later put, 16-byte aligned in an executable's data, a
 * 32-byte header: "\xff Go buildinf:", pointer size, flags; with flag 2
 * ("inline strings") it is followed by the Go version and the module
 * information as uvarint-length-prefixed strings.  The finder looks for it
 * in a stream, in bounded memory. */

enum sbom_go_state
{
  SBOM_GO_SEARCHING = 0,
  SBOM_GO_FOUND,
  SBOM_GO_NONE, /* not ELF, no build information, or too much read */
};

struct sbom_go
{
  struct hoist_buf win; /* the unread part of the stream; limit SBOM_GO_WINDOW */
  uint64_t base;        /* stream offset of win.data[0] */
  size_t pos;           /* next candidate in WIN: (base + pos) % 16 == 0 */
  uint64_t fed;
  bool check_elf;
  enum sbom_go_state state;
  char *version; /* FOUND: "go1.22.1" */
  char *modinfo; /* FOUND: the module lines, framing removed ("" when none) */
};

void sbom_go_init (struct sbom_go *g);
/* Start a stream at file offset START (0: the file's start, whose first
 * bytes must then be the ELF magic when CHECK_ELF). */
void sbom_go_reset (struct sbom_go *g, uint64_t start, bool check_elf);
/* Feed the next N bytes.  Returns true once the search is over (STATE is
 * FOUND or NONE): the rest of the file need not be read. */
bool sbom_go_feed (struct sbom_go *g, const void *data, size_t n);
void sbom_go_release (struct sbom_go *g);
/* After FOUND: the main module (when there is one) and every dependency,
 * replacements applied. */
void sbom_go_packages (const struct sbom_go *g, struct sbom_pkgs *out);
/* The whole-buffer form, for tests and the fuzzer. */
void sbom_parse_go (const char *data, size_t n, struct sbom_pkgs *out);

/* For the file at FD of SIZE bytes: 1 with *OFF and *LEN the extent of
 * its .go.buildinfo section (the search starts at *OFF); 0 when it is not
 * ELF, or its section headers show it is not a Go executable; -1 when they
 * cannot tell (none, or unreadable): the whole file is then searched. */
int sbom_elf_go_section (int fd, uint64_t size, uint64_t *off, uint64_t *len);

/* ---- Licences (sbom_license.c) ---- */

/* DECLARED as an SPDX licence expression, when it reads as one whose
 * licences and exceptions are all listed ones (Debian's short names, as
 * "GPL-2+" or "Expat", mapped; case and "and"/"or"/"with" normalised):
 * a new string, else NULL. */
char *sbom_license_spdx (const char *declared);
/* True when EXPR (from sbom_license_spdx) is a single listed licence. */
bool sbom_license_is_single (const char *expr);

/* ---- The scanner's core (sbom_scan.c), for the drivers ---- */

/* What a file at a path is to the scanner. */
enum sbom_kind
{
  SBOM_KIND_NONE = 0,
  SBOM_KIND_DPKG,
  SBOM_KIND_DPKG_COPYRIGHT,
  SBOM_KIND_APK,
  SBOM_KIND_NPM,
  SBOM_KIND_PYTHON,
  SBOM_KIND_OS_RELEASE,
  SBOM_KIND_EXEC, /* an executable: searched for Go build information */
};

/* The kind of the regular file at PATH (clean, relative) of MODE and
 * SIZE; *MAX gets the most bytes to read of it.  NONE for a candidate
 * over its limit. */
enum sbom_kind sbom_classify (const char *path, mode_t mode, int64_t size, uint64_t *max);

/* RAW (a tar entry name: "./a//b/", "/a/b", "a/b") as a clean relative
 * path, new; NULL when it names the root or has a ".." component. */
char *sbom_path_clean (const char *raw);

/* Layer events, in the order of the stream.  PATH clean and relative. */
void sbom_scan_begin_layer (struct builder_sbom_scan *s);
/* A directory at PATH: a non-directory found there is gone. */
void sbom_scan_put_dir (struct builder_sbom_scan *s, const char *path);
/* A non-directory at PATH: what was found at and below it is gone. */
void sbom_scan_put_file (struct builder_sbom_scan *s, const char *path);
/* ".wh.NAME": what lower layers had at and below PATH is gone. */
void sbom_scan_whiteout (struct builder_sbom_scan *s, const char *path);
/* ".wh..wh..opq" in DIR ("" for the root): lower layers' finds below it. */
void sbom_scan_opaque (struct builder_sbom_scan *s, const char *dir);
/* A hard link PATH to TARGET: PATH holds what TARGET held, when PATH is
 * a candidate of the same kind.  (sbom_scan_put_file first.) */
int sbom_scan_link (struct builder_sbom_scan *s, const char *path, const char *target, mode_t mode,
                    struct hoist_error **err) HOIST_WUR;
/* The content of the file at PATH, of KIND (not EXEC), read whole. */
int sbom_scan_content (struct builder_sbom_scan *s, const char *path, enum sbom_kind kind, const char *data, size_t n,
                       struct hoist_error **err) HOIST_WUR;
/* The Go finder, for a driver to reset and feed; then sbom_scan_go_done. */
struct sbom_go *sbom_scan_go (struct builder_sbom_scan *s);
int sbom_scan_go_done (struct builder_sbom_scan *s, const char *path, struct hoist_error **err) HOIST_WUR;
/* A buffer for a driver to read content into (emptied, its limit set). */
struct hoist_buf *sbom_scan_buf (struct builder_sbom_scan *s, size_t limit);

#endif
