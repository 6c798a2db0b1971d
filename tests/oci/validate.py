#!/usr/bin/env python3
"""Validate OCI documents against the image-spec JSON schemas.

usage: validate.py [--schemas DIR] layout LAYOUT_DIR
       validate.py [--schemas DIR] KIND FILE...     KIND: manifest, index, config

The schemas directory is --schemas, else $HOIST_SCHEMAS, else
../shared/schemas/image-spec beside the source tree.  Beyond the schemas
(draft-04, whose digest pattern admits any algorithm and case), every digest
must be exactly "sha256:" + 64 lowercase hex, and every date RFC 3339.

`layout` checks a whole OCI image layout: oci-layout, index.json, and every
manifest, index and config reachable from it, each blob hashing to its name
and having the size its descriptor gives.  Exit status 0: valid; 1: invalid
(reasons on stderr); 2: usage or environment error.
"""
import hashlib
import json
import os
import re
import sys
import urllib.parse
import warnings

try:
    import jsonschema
except ImportError:
    sys.stderr.write("validate.py: python3 jsonschema is missing: apt-get install python3-jsonschema\n")
    sys.exit(2)

DIGEST = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
RFC3339 = re.compile(
    r"\A\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)\Z")

SCHEMA_FILES = {
    "manifest": "image-manifest-schema.json",
    "index": "image-index-schema.json",
    "config": "config-schema.json",
    "layout": "image-layout-schema.json",
    "descriptor": "content-descriptor.json",
}
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json",
                "application/vnd.docker.container.image.v1+json")


def find_schemas(arg):
    candidates = [arg, os.environ.get("HOIST_SCHEMAS")]
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "..", "shared", "schemas", "image-spec"))
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "image-manifest-schema.json")):
            return os.path.abspath(c)
    # A user's clone has no ../shared: the hoist-side checks (digests,
    # sizes, blob hashes) still run, and the schema check is skipped with a
    # note.  CI sets HOIST_REQUIRE_SCHEMAS=1 so it can never be skipped there.
    if os.environ.get("HOIST_REQUIRE_SCHEMAS"):
        sys.stderr.write("validate.py: OCI schemas not found (give --schemas DIR or set HOIST_SCHEMAS)\n")
        sys.exit(2)
    sys.stderr.write("validate.py: note: OCI schemas not found, schema check skipped (set HOIST_SCHEMAS)\n")
    return None


class Validator:
    def __init__(self, schema_dir):
        self.dir = schema_dir
        self.errors = []

    def _load_local(self, uri):
        # The schemas name each other relative to their "id"
        # (https://opencontainers.org/schema/...), which is not fetched:
        # every reference resolves to the file of that name here.
        name = os.path.basename(urllib.parse.urlparse(uri).path)
        if not name.endswith(".json"):
            name += ".json"
        with open(os.path.join(self.dir, name), encoding="utf-8") as f:
            return json.load(f)

    def schema_check(self, kind, doc, where):
        if self.dir is None:
            return
        path = os.path.join(self.dir, SCHEMA_FILES[kind])
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            resolver = jsonschema.RefResolver(
                base_uri="file://" + self.dir + "/", referrer=schema,
                handlers={"http": self._load_local, "https": self._load_local})
            validator = jsonschema.Draft4Validator(schema, resolver=resolver)
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                loc = "/".join(str(p) for p in e.path)
                self.fail(where, "schema (%s): %s: %s" % (kind, loc or "<root>", e.message))

    def fail(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    def strict(self, doc, where, path=""):
        """Digests and dates, wherever they appear."""
        if isinstance(doc, dict):
            for k, v in doc.items():
                p = path + "/" + k
                if k == "digest" and not (isinstance(v, str) and DIGEST.match(v)):
                    self.fail(where, "%s: not a sha256 digest: %r" % (p, v))
                elif k == "diff_ids":
                    for i, d in enumerate(v if isinstance(v, list) else [v]):
                        if not (isinstance(d, str) and DIGEST.match(d)):
                            self.fail(where, "%s/%d: not a sha256 digest: %r" % (p, i, d))
                elif k == "created" and not (isinstance(v, str) and RFC3339.match(v)):
                    self.fail(where, "%s: not an RFC 3339 date: %r" % (p, v))
                else:
                    self.strict(v, where, p)
        elif isinstance(doc, list):
            for i, v in enumerate(doc):
                self.strict(v, where, "%s/%d" % (path, i))

    def document(self, kind, doc, where):
        self.schema_check(kind, doc, where)
        self.strict(doc, where)

    # ---- whole layouts ----

    def blob(self, layout, desc, where):
        """Bytes of the blob DESC names, checked against its digest and size."""
        digest = desc.get("digest", "")
        if not DIGEST.match(str(digest)):
            return None
        path = os.path.join(layout, "blobs", "sha256", digest[7:])
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            self.fail(where, "blob %s: %s" % (digest, e.strerror))
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            self.fail(where, "blob %s: content does not match its digest" % digest)
        if desc.get("size") != len(data):
            self.fail(where, "blob %s: %d bytes, descriptor says %r" % (digest, len(data), desc.get("size")))
        return data

    def walk(self, layout, desc, where, depth=0):
        if depth > 4:
            self.fail(where, "indexes nest too deep")
            return
        mt = desc.get("mediaType")
        if mt not in MANIFEST_TYPES + INDEX_TYPES:
            self.blob(layout, desc, where)
            return
        data = self.blob(layout, desc, where)
        if data is None:
            return
        name = "%s -> %s" % (where, desc["digest"][:19])
        doc = json.loads(data)
        if doc.get("mediaType", mt) != mt:
            self.fail(name, "mediaType %r, descriptor says %r" % (doc.get("mediaType"), mt))
        if mt in INDEX_TYPES:
            self.document("index", doc, name)
            for i, d in enumerate(doc.get("manifests", [])):
                self.walk(layout, d, "%s manifests[%d]" % (name, i), depth + 1)
            return
        self.document("manifest", doc, name)
        cfg = doc.get("config", {})
        cdata = self.blob(layout, cfg, name + " config")
        if cdata is not None and cfg.get("mediaType") in CONFIG_TYPES:
            self.document("config", json.loads(cdata), name + " config")
        for i, layer in enumerate(doc.get("layers", [])):
            self.blob(layout, layer, "%s layers[%d]" % (name, i))

    def layout(self, layout):
        with open(os.path.join(layout, "oci-layout"), encoding="utf-8") as f:
            self.document("layout", json.load(f), "oci-layout")
        with open(os.path.join(layout, "index.json"), encoding="utf-8") as f:
            index = json.load(f)
        self.document("index", index, "index.json")
        for i, d in enumerate(index.get("manifests", [])):
            self.walk(layout, d, "index.json manifests[%d]" % i)


def main(argv):
    args = argv[1:]
    schemas = None
    if len(args) >= 2 and args[0] == "--schemas":
        schemas, args = args[1], args[2:]
    if args == ["have-schemas"]:
        return 0 if find_schemas(schemas) else 77
    if len(args) < 2 or args[0] not in ("layout", "manifest", "index", "config"):
        sys.stderr.write(__doc__)
        return 2
    v = Validator(find_schemas(schemas))
    try:
        if args[0] == "layout":
            v.layout(args[1])
        else:
            for path in args[1:]:
                with open(path, encoding="utf-8") as f:
                    v.document(args[0], json.load(f), path)
    except (OSError, ValueError) as e:
        sys.stderr.write("validate.py: %s\n" % e)
        return 1
    for e in v.errors:
        sys.stderr.write("invalid: %s\n" % e)
    return 1 if v.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
