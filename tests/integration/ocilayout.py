"""The image of an OCI layout, as the tests read it.

A tag of a layout hoist wrote points at an image index (the platforms'
images and BuildKit-style attestation manifests) or at one image manifest.
image_manifest() follows the index to the first image that is not an
attestation; the command line prints what the shell tests need:

    ocilayout.py manifest LAYOUT [TAG]   the image manifest's digest
    ocilayout.py layers LAYOUT [TAG]     the path of each layer blob
    ocilayout.py root LAYOUT [TAG]       the digest the tag points at
"""
import json
import sys

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


def blob(layout, digest):
    with open(layout + "/blobs/sha256/" + digest[7:]) as f:
        return json.load(f)


def root(layout, tag=None):
    with open(layout + "/index.json") as f:
        idx = json.load(f)
    for e in idx["manifests"]:
        name = e.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if tag is None or name == tag or (name or "").endswith(":" + tag):
            return e
    raise SystemExit("no '%s' in %s" % (tag, layout))


def image_manifest(layout, tag=None):
    d = root(layout, tag)
    while d["mediaType"] in INDEX_TYPES:
        entries = [e for e in blob(layout, d["digest"])["manifests"]
                   if "vnd.docker.reference.type" not in e.get("annotations", {})]
        d = entries[0]
    return d["digest"], blob(layout, d["digest"])


def main():
    what, layout = sys.argv[1], sys.argv[2]
    tag = sys.argv[3] if len(sys.argv) > 3 else None
    if what == "root":
        print(root(layout, tag)["digest"])
    elif what == "manifest":
        print(image_manifest(layout, tag)[0])
    elif what == "layers":
        for l in image_manifest(layout, tag)[1]["layers"]:
            print(layout + "/blobs/sha256/" + l["digest"][7:])
    else:
        raise SystemExit("unknown request '%s'" % what)


if __name__ == "__main__":
    main()
