#!/usr/bin/env python3
"""Write a tiny OCI image layout for the registry tests, without hoist.

    mkimage.py DIR TAG [--size N] [--layers K] [--seed S] [--raw]

DIR gets (or, if it is a layout already, has added) an image tagged TAG:
K layers (default 1), each a tar of hello-<i>.txt plus, with --size, a
data-<i>.bin of N pseudo-random bytes (seeded by --seed and the tag, so
the same call gives the same digests; random bytes do not compress, so a
layer is about N bytes).  Layers are gzip'd (level 1) unless --raw.
Prints the manifest digest.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
    return "sha256:" + digest


def layer_tar(i, tag, size, seed):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = [("hello-%d.txt" % i, ("hello from layer %d of %s\n" % (i, tag)).encode())]
        if size:
            rnd = random.Random("%s/%s/%d" % (seed, tag, i))
            files.append(("data-%d.bin" % i, rnd.randbytes(size)))
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tag")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seed", default="hoist")
    ap.add_argument("--raw", action="store_true")
    a = ap.parse_args()

    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    layers, diff_ids = [], []
    for i in range(a.layers):
        tar = layer_tar(i, a.tag, a.size, a.seed)
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        if a.raw:
            data, mt = tar, "application/vnd.oci.image.layer.v1.tar"
        else:
            data = gzip.compress(tar, compresslevel=1, mtime=0)
            mt = "application/vnd.oci.image.layer.v1.tar+gzip"
        layers.append({"mediaType": mt, "digest": blob(a.dir, data), "size": len(data)})

    config = json.dumps({
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/true"], "Labels": {"hoist.test": a.tag}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py layer %d" % i}
                    for i in range(a.layers)],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": blob(a.dir, config), "size": len(config)},
        "layers": layers,
    }, sort_keys=True).encode()
    mdigest = blob(a.dir, manifest)

    index_path = os.path.join(a.dir, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    ref = "org.opencontainers.image.ref.name"
    index["manifests"] = [m for m in index.get("manifests", [])
                          if m.get("annotations", {}).get(ref) != a.tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": mdigest, "size": len(manifest),
                               "annotations": {ref: a.tag}})
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, sort_keys=True)
    os.rename(index_path + ".tmp", index_path)
    print(mdigest)


if __name__ == "__main__":
    main()
