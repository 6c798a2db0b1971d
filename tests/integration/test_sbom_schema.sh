#!/bin/sh
# test_sbom_schema.sh — the SBOM documents hoist writes, validated against
# the published JSON schemas: SPDX 2.3 (spdx-2.3/spdx-schema.json) and
# CycloneDX 1.5 (cyclonedx/bom-1.5.schema.json, which refers to
# spdx.schema.json and jsf-0.82.schema.json beside it).  Two sets:
#   test_sbom --write DIR       a fixture with every kind of licence
#   test_sbom_scan --write DIR  a scanned image: layer fixtures and this
#                               machine's dpkg database with its copyrights
# Beyond the schemas: SPDX identifiers unique and well formed, every
# relationship and dependency naming an element of the document, bom-refs
# unique.
#
# The schemas are in $HOIST_SCHEMAS_ROOT, by default ../shared/schemas
# beside the source tree; without them the test is skipped, unless
# HOIST_REQUIRE_SCHEMAS=1 (CI), which makes that a failure.
set -u
: "${HOIST_SRCDIR:?run through make check}"
: "${HOIST_BUILDDIR:?run through make check}"

schemas=${HOIST_SCHEMAS_ROOT:-$HOIST_SRCDIR/../shared/schemas}
missing () {
  if [ "${HOIST_REQUIRE_SCHEMAS:-}" = 1 ]; then
    echo "not ok - $1"
    exit 1
  fi
  echo "skip: $1"
  exit 77
}
[ -f "$schemas/spdx-2.3/spdx-schema.json" ] && [ -f "$schemas/cyclonedx/bom-1.5.schema.json" ] ||
  missing "SPDX and CycloneDX schemas not found in '$schemas' (hint: set HOIST_SCHEMAS_ROOT)"
python3 -c 'import jsonschema' 2>/dev/null ||
  missing "python3 jsonschema is not installed (apt-get install python3-jsonschema)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/fixture" "$tmp/scan"
status=0
"$HOIST_BUILDDIR/tests/unit/test_sbom" --write "$tmp/fixture" || status=1
"$HOIST_BUILDDIR/tests/unit/test_sbom_scan" --write "$tmp/scan" || status=1
if [ $status -ne 0 ]; then
  echo "not ok - writing the documents"
  exit 1
fi

python3 - "$schemas" "$tmp/fixture" "$tmp/scan" <<'EOF'
import json
import os
import re
import sys
import urllib.parse
import warnings

import jsonschema

schemas, dirs = sys.argv[1], sys.argv[2:]
SPDXID = re.compile(r"\ASPDXRef-[A-Za-z0-9.\-]+\Z")
failed = False


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(path):
    """A validator whose references resolve to the files beside PATH
    (the CycloneDX schema names its neighbours by their http URLs)."""
    here = os.path.dirname(os.path.abspath(path))

    def local(uri):
        return load(os.path.join(here, os.path.basename(urllib.parse.urlparse(uri).path)))

    schema = load(path)
    cls = jsonschema.validators.validator_for(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(base_uri="file://" + here + "/", referrer=schema,
                                          handlers={"http": local, "https": local})
        return cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())


def report(name, errors):
    global failed
    if errors:
        failed = True
        print("not ok - %s" % name)
        for e in errors[:20]:
            print("#   %s" % e)
    else:
        print("ok - %s" % name)


def schema_errors(v, doc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ["%s: %s" % ("/".join(str(p) for p in e.path) or "<root>", e.message)
                for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path))]


def spdx_checks(doc):
    errors = []
    ids = [p.get("SPDXID") for p in doc.get("packages", [])] + [doc.get("SPDXID")]
    errors += ["bad SPDXID %r" % i for i in ids if not (isinstance(i, str) and SPDXID.match(i))]
    if len(set(ids)) != len(ids):
        errors.append("SPDXIDs are not unique")
    for r in doc.get("relationships", []):
        for k in ("spdxElementId", "relatedSpdxElement"):
            if r.get(k) not in ids:
                errors.append("relationship names %r, not in the document" % r.get(k))
    ns = urllib.parse.urlparse(doc.get("documentNamespace", ""))
    if ns.scheme != "https" or ns.fragment or "#" in doc["documentNamespace"]:
        errors.append("documentNamespace is not an absolute URI without '#'")
    return errors


def cdx_checks(doc):
    errors = []
    refs = [c.get("bom-ref") for c in doc.get("components", [])]
    refs.append(doc["metadata"]["component"]["bom-ref"])
    if len(set(refs)) != len(refs):
        errors.append("bom-refs are not unique")
    for d in doc.get("dependencies", []):
        for r in [d["ref"]] + d.get("dependsOn", []):
            if r not in refs:
                errors.append("dependency names %r, not in the document" % r)
    return errors


spdx = validator(os.path.join(schemas, "spdx-2.3", "spdx-schema.json"))
cdx = validator(os.path.join(schemas, "cyclonedx", "bom-1.5.schema.json"))
for d in dirs:
    name = os.path.basename(d)
    doc = load(os.path.join(d, "spdx.json"))
    report("SPDX 2.3 %s (%d packages)" % (name, len(doc["packages"])), schema_errors(spdx, doc) + spdx_checks(doc))
    doc = load(os.path.join(d, "cyclonedx.json"))
    report("CycloneDX 1.5 %s (%d components)" % (name, len(doc["components"])),
           schema_errors(cdx, doc) + cdx_checks(doc))
sys.exit(1 if failed else 0)
EOF
