/* sbom_json.c — an image's packages as SPDX 2.3 and CycloneDX 1.5 JSON.
 *
 * Both documents depend only on their inputs: packages come sorted, the
 * time is the one given (SOURCE_DATE_EPOCH when the build has it), and
 * what must be unique per document (SPDX's documentNamespace, CycloneDX's
 * serialNumber) is made of the image's name and digest.  A declared
 * licence that reads as an SPDX expression of listed licences
 * (sbom_license_spdx) is given as one; any other stays text: an SPDX
 * licenseComments beside NOASSERTION, a CycloneDX licence name. */
#define BUILDER_INTERNAL
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build_private.h"
#include "builder/sbom_private.h"

#define NAMESPACE_PREFIX "https://hoist.dev/spdx/"
/* Bytes of a package name kept in an SPDX identifier. */
#define ID_NAME_MAX 64

/* Name-based UUIDs (RFC 4122 version 5) of hoist's CycloneDX documents
 * live in this namespace (a random UUID, fixed once). */
static const unsigned char uuid_namespace[16] = {
  0x3b, 0x8e, 0x52, 0x0d, 0x6a, 0x41, 0x4f, 0x27, 0x9c, 0x15, 0xd2, 0x7a, 0x60, 0xe4, 0x18, 0xb9,
};

/* ---- Shared -------------------------------------------------------------------- */

struct doc_info
{
  char created[BUILDER_TIME_STR_SIZE];
  const char *hex; /* of the digest */
  char *tool;      /* "hoist-0.1.0" */
  char *tool_name, *tool_version;
  char *oci_purl;
};

static void
doc_info_release (struct doc_info *d)
{
  free (d->tool);
  free (d->tool_name);
  free (d->tool_version);
  free (d->oci_purl);
}

static int
doc_info_init (struct doc_info *d, const struct builder_sbom_doc *doc, struct hoist_error **err)
{
  cleanup_free char *name = NULL;

  memset (d, 0, sizeof *d);
  name = doc->image_name != NULL ? sbom_field (doc->image_name, strlen (doc->image_name), 1024) : NULL;
  if (name == NULL || strcmp (name, doc->image_name) != 0)
    return hoist_error_set_status (err, EINVAL, "SBOM: image name is empty or not printable UTF-8");
  if (doc->digest == NULL || !hoist_digest_valid (doc->digest))
    return hoist_error_set_status (err, EINVAL, "SBOM: image digest '%s' is not sha256:<64 hex>",
                                   doc->digest != NULL ? doc->digest : "");
  if (builder_format_time (doc->created, d->created, err) < 0)
    return hoist_error_wrap (err, "SBOM");
  d->hex = doc->digest + strlen ("sha256:");
  d->tool_name = hoist_xstrdup (doc->tool_name != NULL ? doc->tool_name : "hoist");
  d->tool_version = hoist_xstrdup (doc->tool_version != NULL ? doc->tool_version : PACKAGE_VERSION);
  d->tool = hoist_xasprintf ("%s-%s", d->tool_name, d->tool_version);
  d->oci_purl = sbom_purl_oci (doc->image_name, doc->digest);
  return 0;
}

/* "Package-deb-libc6-12": unique by N, made of [A-Za-z0-9.-] only. */
static char *
package_ref (const struct builder_sbom_package *p, size_t n)
{
  char name[ID_NAME_MAX + 1];
  size_t i;

  for (i = 0; i < ID_NAME_MAX && p->name[i] != '\0'; i++)
    {
      char c = p->name[i];

      name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'
                    ? c
                    : '-';
    }
  name[i] = '\0';
  return hoist_xasprintf ("Package-%s-%s-%zu", p->type, name, n);
}

static int
built (json_t *doc, json_t **out, struct hoist_error **err)
{
  if (doc == NULL)
    return hoist_error_set_status (err, EINVAL, "SBOM: cannot build the document (a string is not UTF-8)");
  *out = doc;
  return 0;
}

/* ---- SPDX 2.3 -------------------------------------------------------------------- */

static json_t *
purl_ref (const char *purl)
{
  return json_pack ("[{s:s, s:s, s:s}]", "referenceCategory", "PACKAGE-MANAGER", "referenceType", "purl",
                    "referenceLocator", purl);
}

static json_t *
spdx_package (const struct builder_sbom_package *p, const char *id)
{
  cleanup_free char *spdx = p->license != NULL ? sbom_license_spdx (p->license) : NULL;
  cleanup_free char *comment = NULL, *source = hoist_xasprintf ("found in %s", p->location);

  if (p->license != NULL && spdx == NULL)
    comment = hoist_xasprintf ("declared licence, not an SPDX expression: %s", p->license);
  return json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s*, s:s, s:o}", "SPDXID", id, "name", p->name,
                    "versionInfo", p->version, "downloadLocation", "NOASSERTION", "filesAnalyzed", 0,
                    "licenseConcluded", "NOASSERTION", "licenseDeclared", spdx != NULL ? spdx : "NOASSERTION",
                    "copyrightText", "NOASSERTION", "licenseComments", comment, "sourceInfo", source, "externalRefs",
                    purl_ref (p->purl));
}

static json_t *
spdx_image (const struct builder_sbom_doc *doc, const struct doc_info *d)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:o}", "SPDXID", "SPDXRef-Image",
                    "name", doc->image_name, "versionInfo", doc->digest, "downloadLocation", "NOASSERTION",
                    "filesAnalyzed", 0, "primaryPackagePurpose", "CONTAINER", "licenseConcluded", "NOASSERTION",
                    "licenseDeclared", "NOASSERTION", "copyrightText", "NOASSERTION", "checksums", "algorithm",
                    "SHA256", "checksumValue", d->hex, "externalRefs", purl_ref (d->oci_purl));
}

static json_t *
relationship (const char *from, const char *type, const char *to)
{
  return json_pack ("{s:s, s:s, s:s}", "spdxElementId", from, "relationshipType", type, "relatedSpdxElement", to);
}

static char *
spdx_namespace (const struct builder_sbom_doc *doc, const struct doc_info *d)
{
  struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  build_buf_addstr (&b, NAMESPACE_PREFIX);
  sbom_encode (&b, doc->image_name, false, true);
  build_buf_addch (&b, '-');
  build_buf_addstr (&b, d->hex);
  return hoist_buf_detach (&b, NULL);
}

int
builder_sbom_spdx (const struct builder_sbom *sbom, const struct builder_sbom_doc *doc, json_t **out,
                   struct hoist_error **err)
{
  cleanup_json json_t *packages = json_array (), *rels = json_array ();
  cleanup_free char *ns = NULL, *creator = NULL;
  struct doc_info d;
  json_t *root;
  int r = doc_info_init (&d, doc, err);

  if (r < 0)
    return r;
  json_array_append_new (packages, spdx_image (doc, &d));
  json_array_append_new (rels, relationship ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
  for (size_t i = 0; i < sbom->n; i++)
    {
      cleanup_free char *ref = package_ref (&sbom->v[i], i + 1);
      cleanup_free char *id = hoist_xasprintf ("SPDXRef-%s", ref);

      json_array_append_new (packages, spdx_package (&sbom->v[i], id));
      json_array_append_new (rels, relationship ("SPDXRef-Image", "CONTAINS", id));
    }
  ns = spdx_namespace (doc, &d);
  creator = hoist_xasprintf ("Tool: %s", d.tool);
  root = json_array_size (packages) == sbom->n + 1 && json_array_size (rels) == sbom->n + 1
             ? json_pack ("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:O, s:O}", "spdxVersion", "SPDX-2.3",
                          "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name", doc->image_name,
                          "documentNamespace", ns, "creationInfo", "created", d.created, "creators", creator,
                          "packages", packages, "relationships", rels)
             : NULL;
  doc_info_release (&d);
  return built (root, out, err);
}

/* ---- CycloneDX 1.5 ------------------------------------------------------------------ */

/* urn:uuid: of the SHA-1 name-based UUID of NAME. */
static char *
uuid5 (const char *name)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  size_t n = strlen (name);
  cleanup_free unsigned char *in = hoist_xmalloc (sizeof uuid_namespace + n);

  memcpy (in, uuid_namespace, sizeof uuid_namespace);
  memcpy (in + sizeof uuid_namespace, name, n);
  if (EVP_Digest (in, sizeof uuid_namespace + n, md, &md_len, EVP_sha1 (), NULL) != 1 || md_len < 16)
    abort ();
  md[6] = (unsigned char) ((md[6] & 0x0f) | 0x50);
  md[8] = (unsigned char) ((md[8] & 0x3f) | 0x80);
  return hoist_xasprintf ("urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
                          md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13],
                          md[14], md[15]);
}

static json_t *
cdx_licenses (const char *declared)
{
  cleanup_free char *spdx = declared != NULL ? sbom_license_spdx (declared) : NULL;

  if (declared == NULL)
    return NULL;
  if (spdx != NULL && sbom_license_is_single (spdx))
    return json_pack ("[{s:{s:s}}]", "license", "id", spdx);
  if (spdx != NULL)
    return json_pack ("[{s:s}]", "expression", spdx);
  return json_pack ("[{s:{s:s}}]", "license", "name", declared);
}

static json_t *
cdx_component (const struct builder_sbom_package *p, const char *ref)
{
  json_t *props = json_pack ("[{s:s, s:s}]", "name", "hoist:location", "value", p->location);

  if (props != NULL && p->arch != NULL)
    json_array_append_new (props, json_pack ("{s:s, s:s}", "name", "hoist:arch", "value", p->arch));
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:o*, s:o}", "type", "library", "bom-ref", ref, "name", p->name,
                    "version", p->version, "purl", p->purl, "licenses", cdx_licenses (p->license), "properties", props);
}

static json_t *
cdx_metadata (const struct builder_sbom_doc *doc, const struct doc_info *d)
{
  return json_pack ("{s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s, s:s, s:s, s:s, s:s}}", "timestamp", d->created, "tools",
                    "components", "type", "application", "name", d->tool_name, "version", d->tool_version, "component",
                    "type", "container", "bom-ref", "image", "name", doc->image_name, "version", doc->digest, "purl",
                    d->oci_purl);
}

int
builder_sbom_cyclonedx (const struct builder_sbom *sbom, const struct builder_sbom_doc *doc, json_t **out,
                        struct hoist_error **err)
{
  cleanup_json json_t *components = json_array (), *refs = json_array ();
  cleanup_free char *serial = NULL, *key = NULL;
  struct doc_info d;
  json_t *root;
  int r = doc_info_init (&d, doc, err);

  if (r < 0)
    return r;
  for (size_t i = 0; i < sbom->n; i++)
    {
      cleanup_free char *ref = package_ref (&sbom->v[i], i + 1);

      json_array_append_new (components, cdx_component (&sbom->v[i], ref));
      json_array_append_new (refs, json_string (ref));
    }
  key = hoist_xasprintf ("%s@%s", doc->image_name, doc->digest);
  serial = uuid5 (key);
  root = json_array_size (components) == sbom->n
             ? json_pack ("{s:s, s:s, s:s, s:i, s:o, s:O, s:[{s:s, s:O}]}", "bomFormat", "CycloneDX", "specVersion",
                          "1.5", "serialNumber", serial, "version", 1, "metadata", cdx_metadata (doc, &d), "components",
                          components, "dependencies", "ref", "image", "dependsOn", refs)
             : NULL;
  doc_info_release (&d);
  return built (root, out, err);
}
