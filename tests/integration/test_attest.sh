#!/bin/bash
# Attestations end to end: an image built with this machine's own dpkg
# database in it gets an SBOM that lists exactly what dpkg-query lists,
# and SLSA v1 provenance; both are in-toto statements about the image
# manifest, in the image index as BuildKit puts them and, after a push to
# Debian's docker-registry (Distribution 2.8, no referrers API), as OCI
# 1.1 referrers listed by the sha256-<hex> tag — read back with skopeo
# byte for byte.  The predicates are validated against the SPDX 2.3 and
# CycloneDX 1.5 schemas.
set -u
: "${HOIST:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

for tool in docker-registry skopeo python3 dpkg-query openssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install docker-registry skopeo python3 dpkg openssl)"
    exit 77
  fi
done
schemas=${HOIST_SCHEMAS_ROOT:-$HOIST_SRCDIR/../shared/schemas}
if [ ! -f "$schemas/spdx-2.3/spdx-schema.json" ] || ! python3 -c 'import jsonschema' 2>/dev/null; then
  if [ "${HOIST_REQUIRE_SCHEMAS:-}" = 1 ]; then
    echo "not ok - the SPDX and CycloneDX schemas (in '$schemas') and python3-jsonschema are required"
    exit 1
  fi
  schemas=
  echo "# the SPDX/CycloneDX schemas or python3-jsonschema are missing: schema checks skipped"
fi

# shellcheck source=tests/registry/lib.sh
. "$HOIST_SRCDIR/tests/registry/lib.sh"

pass=0
fail=0
tmp=$(mktemp -d)
REGISTRY_NO_TRAP=1
trap 'registry_stop; rm -rf "$tmp"' EXIT
export HOIST_HOME=$tmp/home
unset SOURCE_DATE_EPOCH BUILDX_NO_DEFAULT_ATTESTATIONS HOIST_INVOCATION_ID
lib=$HOIST_SRCDIR/tests/integration

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_in () {
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(head -c 800 "$1")"; fi
}

build () {
  local name=$1 want=$2
  shift 2
  "$HOIST" build "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "build $name (exit $want)"; else
    not_ok "build $name" "exit $got, wanted $want" "$(tail -15 "$tmp/$name.err")"
  fi
}

# statements LAYOUT — for the image of the layout's tag: one line per
# statement in its attestation manifest, "PREDICATE_TYPE FILE", each
# statement written to FILE; checks the in-toto rules on the way.
statements () {
  python3 - "$1" "$lib" "$tmp" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
import ocilayout
layout, out = sys.argv[1], sys.argv[3]
root = ocilayout.root(layout)
idx = ocilayout.blob(layout, root["digest"])
image = ocilayout.image_manifest(layout)[0]
att = [m for m in idx["manifests"] if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
assert len(att) == 1, "one attestation manifest"
a = att[0]
assert a["annotations"]["vnd.docker.reference.digest"] == image, "it names the image"
assert a["platform"] == {"architecture": "unknown", "os": "unknown"}, a["platform"]
m = ocilayout.blob(layout, a["digest"])
for i, l in enumerate(m["layers"]):
    assert l["mediaType"] == "application/vnd.in-toto+json"
    st = ocilayout.blob(layout, l["digest"])
    assert st["_type"] == "https://in-toto.io/Statement/v1", st["_type"]
    assert st["predicateType"] == l["annotations"]["in-toto.io/predicate-type"]
    assert [s["digest"] for s in st["subject"]] == [{"sha256": image[7:]}], st["subject"]
    path = "%s/statement-%d.json" % (out, i)
    json.dump(st["predicate"], open(path, "w"))
    print(st["predicateType"], path)
EOF
}

# schema FILE SCHEMA — validate FILE against SCHEMA (relative to $schemas).
schema () {
  [ -n "$schemas" ] || return 0
  python3 - "$1" "$schemas" "$2" <<'EOF'
import json, sys, warnings
import jsonschema
doc, root, rel = sys.argv[1], sys.argv[2], sys.argv[3]
warnings.simplefilter("ignore", DeprecationWarning)
store = {}
for name in ("cyclonedx/spdx.schema.json", "cyclonedx/jsf-0.82.schema.json"):
    s = json.load(open(root + "/" + name))
    store[name.split("/")[1]] = s
    if "$id" in s:
        store[s["$id"]] = s
s = json.load(open(root + "/" + rel))
resolver = jsonschema.RefResolver.from_schema(s, store=store)
jsonschema.validators.validator_for(s)(s, resolver=resolver).validate(json.load(open(doc)))
EOF
}

# --- an image with this machine's dpkg database ---------------------------------------
ctx=$tmp/ctx
mkdir -p "$ctx/var/lib/dpkg"
cp /var/lib/dpkg/status "$ctx/var/lib/dpkg/status"
printf 'FROM scratch\nARG VERSION\nARG API_TOKEN\nCOPY var/ /var/\n' >"$ctx/Dockerfile"
build oci 0 -t app:1 --build-arg VERSION=1.2 --build-arg API_TOKEN=hunter2 --provenance=mode=max \
  -o "type=oci,dest=$tmp/oci" "$ctx"
statements "$tmp/oci" >"$tmp/statements" 2>"$tmp/statements.err" || not_ok "the statements follow the in-toto rules" "$(cat "$tmp/statements.err")"
expect_eq "$(cut -d' ' -f1 "$tmp/statements" | tr '\n' ' ')" "https://spdx.dev/Document https://slsa.dev/provenance/v1 " \
  "index: an attestation manifest with the SBOM and the provenance"
expect_eq "$(python3 - "$tmp/oci" "$lib" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
import ocilayout
layout = sys.argv[1]
image = ocilayout.image_manifest(layout)[0]
refs = [e for e in json.load(open(layout + "/index.json"))["manifests"] if "org.opencontainers.image.ref.name" not in e.get("annotations", {})]
print(" ".join(sorted(e["artifactType"] for e in refs)), all(ocilayout.blob(layout, e["digest"])["subject"]["digest"] == image for e in refs))
EOF
)" "application/spdx+json application/vnd.in-toto+json True" "layout: the referrers are listed in index.json, their subject the image"
if python3 "$HOIST_SRCDIR/tests/oci/validate.py" layout "$tmp/oci" >"$tmp/validate.err" 2>&1; then ok "layout: valid by the OCI schemas, referrers and all"; else
  not_ok "layout: valid by the OCI schemas, referrers and all" "$(tail -5 "$tmp/validate.err")"; fi
build archive 0 -t app:1 -o "type=oci,dest=$tmp/app.tar" "$ctx"
mkdir -p "$tmp/app-tar" && tar -xf "$tmp/app.tar" -C "$tmp/app-tar"
expect_eq "$(python3 - "$tmp/app-tar" <<'EOF'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))["manifests"]
refs = [e for e in idx if "artifactType" in e]
blobs = all(os.path.exists(d + "/blobs/sha256/" + json.load(open(d + "/blobs/sha256/" + e["digest"][7:]))["layers"][0]["digest"][7:]) for e in refs)
print(len(idx), len(refs), blobs)
EOF
)" "3 2 True" "archive: the OCI archive lists the referrers too, with their blobs"
if skopeo inspect "oci-archive:$tmp/app.tar:app:1" >/dev/null 2>"$tmp/skopeo.err"; then ok "archive: skopeo reads it"; else
  not_ok "archive: skopeo reads it" "$(cat "$tmp/skopeo.err")"; fi
spdx=$(awk '$1 == "https://spdx.dev/Document" {print $2}' "$tmp/statements")
prov=$(awk '$1 == "https://slsa.dev/provenance/v1" {print $2}' "$tmp/statements")

dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\n' | awk '$1 == "installed" {print $2, $3}' | sort -u >"$tmp/dpkg.want"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["packages"][1:]:
    if any(r["referenceLocator"].startswith("pkg:deb/") for r in p.get("externalRefs", [])):
        print(p["name"], p["versionInfo"])' "$spdx" | sort -u >"$tmp/dpkg.got"
if cmp -s "$tmp/dpkg.want" "$tmp/dpkg.got"; then
  ok "sbom: exactly the $(wc -l <"$tmp/dpkg.want") packages dpkg-query lists, same versions"
else
  not_ok "sbom: exactly the packages dpkg-query lists" "$(diff "$tmp/dpkg.want" "$tmp/dpkg.got" | head -5)"
fi
if schema "$spdx" spdx-2.3/spdx-schema.json 2>"$tmp/schema.err"; then ok "sbom: valid SPDX 2.3"; else
  not_ok "sbom: valid SPDX 2.3" "$(tail -3 "$tmp/schema.err")"; fi

python3 - "$prov" "$(python3 "$lib/ocilayout.py" manifest "$tmp/oci")" >"$tmp/prov.txt" 2>&1 <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
bd, rd = p["buildDefinition"], p["runDetails"]
print(bd["buildType"])
print(sorted(bd["externalParameters"]["buildArgs"].items()))
print(bd["externalParameters"]["dockerfile"], bd["externalParameters"]["platform"])
print("steps", len(bd["internalParameters"]["steps"]), "dockerfile" if "ARG API_TOKEN" in bd["internalParameters"]["dockerfileContent"] else "-")
print(rd["builder"]["id"].startswith("https://hoist.dev/hoist@"), bool(rd["metadata"]["invocationId"]), "startedOn" in rd["metadata"])
EOF
expect_eq "$(cat "$tmp/prov.txt")" "https://hoist.dev/buildtypes/dockerfile/v1
[('VERSION', '1.2')]
Dockerfile linux/amd64
steps 3 dockerfile
True True True" "provenance: buildType, build args without the secret-looking one, mode=max steps and Dockerfile"
if grep -q hunter2 "$tmp"/statement-*.json; then not_ok "provenance: the API_TOKEN value is nowhere"; else ok "provenance: the API_TOKEN value is nowhere"; fi

# ADD of a URL: in resolvedDependencies with the digest of what it gave.
mkdir -p "$tmp/www" "$tmp/addctx"
printf 'served by the test\n' >"$tmp/www/file.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null 2>&1 &
http_pid=$!
for _ in $(seq 50); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null && break; sleep 0.1; done
printf 'FROM scratch\nADD http://127.0.0.1:%s/file.txt /f\n' "$port" >"$tmp/addctx/Dockerfile"
build add-url 0 -t app:add --sbom=false -o "type=oci,dest=$tmp/add" "$tmp/addctx"
kill "$http_pid" 2>/dev/null
statements "$tmp/add" >"$tmp/add.statements" 2>&1
expect_eq "$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1].split()[1]))
print([(d["uri"], d["digest"]["sha256"]) for d in p["buildDefinition"]["resolvedDependencies"]])' "$(cat "$tmp/add.statements")" 2>&1)" \
  "[('http://127.0.0.1:$port/file.txt', '$(sha256sum "$tmp/www/file.txt" | cut -d' ' -f1)')]" \
  "provenance: an ADD URL with the digest of what it gave"

# The package list is cached per image; a cache file that does not read
# back is ignored, and the layers scanned again.
cached=$(ls "$HOIST_HOME"/cache/sbom/*.json 2>/dev/null | head -1)
if [ -n "$cached" ]; then ok "sbom: the package list is cached"; else not_ok "sbom: the package list is cached"; fi
[ -n "$cached" ] && printf '[{"type": 5}]' >"$cached"
build cdx 0 -t app:2 --sbom-format cyclonedx --provenance=false -o "type=oci,dest=$tmp/cdx" "$ctx"
statements "$tmp/cdx" >"$tmp/cdx.statements" 2>&1
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for c in d["components"] if c["purl"].startswith("pkg:deb/")))' "$(cut -d' ' -f2 "$tmp/cdx.statements")" 2>&1)" \
  "$(wc -l <"$tmp/dpkg.want")" "sbom: a broken cache file is ignored: every package again"
expect_eq "$(cut -d' ' -f1 "$tmp/cdx.statements")" "https://cyclonedx.org/bom" "--sbom-format cyclonedx --provenance=false: the CycloneDX SBOM alone"
if schema "$(cut -d' ' -f2 "$tmp/cdx.statements")" cyclonedx/bom-1.5.schema.json 2>"$tmp/schema.err"; then
  ok "sbom: valid CycloneDX 1.5"; else not_ok "sbom: valid CycloneDX 1.5" "$(tail -3 "$tmp/schema.err")"; fi

build none 0 -t app:3 --sbom=false --provenance=false -o "type=oci,dest=$tmp/none" "$ctx"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["mediaType"])' "$tmp/none")" \
  "application/vnd.oci.image.manifest.v1+json" "--sbom=false --provenance=false: the tag names the image manifest itself"
build bad 2 --provenance=mode=everything "$ctx"
expect_in "$tmp/bad.err" "--provenance must be true, false, mode=min or mode=max" "a bad --provenance is a usage error"

# Reproducible with SOURCE_DATE_EPOCH: the whole index, attestations included.
SOURCE_DATE_EPOCH=1700000000 build repro1 0 -q --no-cache -t app:r "$ctx"
SOURCE_DATE_EPOCH=1700000000 build repro2 0 -q --no-cache -t app:r "$ctx"
expect_eq "$(cat "$tmp/repro2.out")" "$(cat "$tmp/repro1.out")" "SOURCE_DATE_EPOCH: the same index digest, attestations and all"

# --- pushed: the index, and the referrers through the tag fallback --------------------
registry_start anon
reg=$REGISTRY_ADDR
SOURCE_DATE_EPOCH=1700000000 build push 0 -t "$reg/app/att:1" --push "$ctx"
expect_in "$tmp/push.err" "pushed 2 referrers" "push: two referrers"
requests=$(sed -n 's/^pushed 2 referrers in \([0-9]*\) requests$/\1/p' "$tmp/push.err")
if [ -n "$requests" ] && [ "$requests" -le 4 ]; then ok "push: the 2 referrers took $requests requests (at most 2 each)"; else
  not_ok "push: the 2 referrers take at most 2 requests each" "took: '$requests'"; fi
skopeo inspect --raw --tls-verify=false "docker://$reg/app/att:1" >"$tmp/index.json"
image=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([m["digest"] for m in d["manifests"] if m["platform"]["os"] != "unknown"][0])' "$tmp/index.json")
expect_eq "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
a = [m for m in d["manifests"] if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
print(len(a), a[0]["annotations"]["vnd.docker.reference.digest"])' "$tmp/index.json")" "1 $image" \
  "push: the index holds the attestation manifest of the image"
skopeo inspect --raw --tls-verify=false "docker://$reg/app/att:sha256-${image#sha256:}" >"$tmp/referrers.json" 2>"$tmp/skopeo.err"
expect_eq "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(m["artifactType"] + "=" + m["annotations"]["in-toto.io/predicate-type"] for m in d["manifests"])))' "$tmp/referrers.json" 2>&1)" \
  "application/spdx+json=https://spdx.dev/Document application/vnd.in-toto+json=https://slsa.dev/provenance/v1" \
  "push: the referrers tag lists the SBOM and the provenance by artifactType"
same=0
total=0
for d in $(python3 -c 'import json,sys; print(" ".join(m["digest"] for m in json.load(open(sys.argv[1]))["manifests"]))' "$tmp/referrers.json"); do
  total=$((total + 1))
  skopeo inspect --raw --tls-verify=false "docker://$reg/app/att@$d" >"$tmp/ref.json" 2>/dev/null
  if cmp -s "$tmp/ref.json" "$HOIST_HOME/store/blobs/sha256/${d#sha256:}" &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["subject"]["digest"] == sys.argv[2]' "$tmp/ref.json" "$image"; then
    same=$((same + 1))
  fi
done
expect_eq "$same/$total" "2/2" "push: each referrer reads back byte for byte, its subject the image"
# The same build pushed again (reproducible: the same referrers) adds no duplicate.
SOURCE_DATE_EPOCH=1700000000 build push-again 0 -t "$reg/app/att:1" --push "$ctx"
skopeo inspect --raw --tls-verify=false "docker://$reg/app/att:sha256-${image#sha256:}" >"$tmp/referrers2.json" 2>/dev/null
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["manifests"]))' "$tmp/referrers2.json")" 2 \
  "push: pushing again adds no duplicate to the referrers tag"

# Built into hoist's store, pushed later: the referrers go along.
SOURCE_DATE_EPOCH=1700000000 build stored 0 -t "app:stored" "$ctx"
"$HOIST" push --tls-verify=false app:stored "$reg/app/stored:1" >"$tmp/push-stored.out" 2>"$tmp/push-stored.err"
expect_in "$tmp/push-stored.err" "pushed 2 referrers" "push from the store: the attestations' referrers go along"
skopeo inspect --raw --tls-verify=false "docker://$reg/app/stored:sha256-${image#sha256:}" >"$tmp/referrers3.json" 2>/dev/null
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["manifests"]))' "$tmp/referrers3.json" 2>&1)" 2 \
  "push from the store: the referrers tag lists both"

# Read back by hoist itself.
"$HOIST" inspect --tls-verify=false --sbom "$reg/app/att:1" >"$tmp/inspect-sbom.json" 2>"$tmp/inspect.err"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["spdxVersion"], len(d["packages"]) - 1)' "$tmp/inspect-sbom.json" 2>&1)" \
  "SPDX-2.3 $(wc -l <"$tmp/dpkg.want")" "inspect --sbom: the SPDX document, every package"
"$HOIST" inspect --tls-verify=false --provenance "$reg/app/att:1" >"$tmp/inspect-prov.json" 2>"$tmp/inspect.err"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["buildDefinition"]["buildType"])' "$tmp/inspect-prov.json" 2>&1)" \
  "https://hoist.dev/buildtypes/dockerfile/v1" "inspect --provenance: the SLSA predicate"
build push-plain 0 -t "$reg/app/plain:1" --push --sbom=false --provenance=false "$ctx"
"$HOIST" inspect --tls-verify=false --sbom "$reg/app/plain:1" >/dev/null 2>"$tmp/inspect-none.err"
expect_in "$tmp/inspect-none.err" "has no attestations (hint:" "inspect --sbom of an image without: a clear error"

# --- signatures: cosign's key-based format -----------------------------------------------
openssl ecparam -genkey -name prime256v1 -noout -out "$tmp/ec.pem" 2>/dev/null
openssl pkcs8 -topk8 -in "$tmp/ec.pem" -out "$tmp/enc.pem" -passout pass:s3cret-pass 2>/dev/null
openssl ec -in "$tmp/ec.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out "$tmp/other.pem" 2>/dev/null
openssl ec -in "$tmp/other.pem" -pubout -out "$tmp/other.pub" 2>/dev/null
openssl ecparam -genkey -name secp384r1 -noout -out "$tmp/p384.pem" 2>/dev/null
build sign-nopass 1 -t "$reg/app/signed:1" --push --sign-key "$tmp/enc.pem" "$ctx"
expect_in "$tmp/sign-nopass.err" "is encrypted and no passphrase is set (hint: set HOIST_SIGN_PASSWORD or COSIGN_PASSWORD)" \
  "sign: an encrypted key without a passphrase says which variable to set"
build sign-p384 1 -t "$reg/app/signed:1" --push --sign-key "$tmp/p384.pem" "$ctx"
expect_in "$tmp/sign-p384.err" "is not an ECDSA P-256 key: its curve is secp384r1" "sign: a P-384 key is refused, naming its curve"
HOIST_SIGN_PASSWORD=s3cret-pass build sign 0 -t "$reg/app/signed:1" --push --sign-key "$tmp/enc.pem" "$ctx"
if grep -q s3cret-pass "$tmp/sign.err" "$tmp/sign.out"; then not_ok "sign: the passphrase is not in the output"; else ok "sign: the passphrase is not in the output"; fi
"$HOIST" verify --tls-verify=false --key "$tmp/pub.pem" "$reg/app/signed:1" >"$tmp/verify.out" 2>"$tmp/verify.err"
expect_eq "$?" 0 "verify: the signed image verifies with its key"
expect_in "$tmp/verify.out" "verified: $reg/app/signed@sha256:" "verify: says what was verified"
"$HOIST" verify --tls-verify=false --key "$tmp/other.pub" "$reg/app/signed:1" >/dev/null 2>"$tmp/verify-other.err"
expect_eq "$?" 1 "verify: another key is refused"
expect_in "$tmp/verify-other.err" "the signature does not verify with the key '$tmp/other.pub'" "verify: the error says the key does not match"
"$HOIST" verify --tls-verify=false --key "$tmp/pub.pem" "$reg/app/att:1" >/dev/null 2>"$tmp/verify-none.err"
expect_in "$tmp/verify-none.err" "no signature of sha256:" "verify: an unsigned image: no signature found"

"$HOIST" inspect --tls-verify=false --signatures "$reg/app/signed:1" >"$tmp/sigs.json" 2>"$tmp/sigs.err"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d), d[0]["payload"]["critical"]["image"]["docker-manifest-digest"] == d[0]["digest"])' "$tmp/sigs.json" 2>&1)" \
  "1 True" "inspect --signatures: the signature and its payload"

# The signature read back with skopeo, checked by openssl itself.
signed=$(skopeo inspect --raw --tls-verify=false "docker://$reg/app/signed:1" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
skopeo inspect --raw --tls-verify=false "docker://$reg/app/signed:sha256-$signed.sig" >"$tmp/sig.json" 2>"$tmp/skopeo.err"
python3 - "$tmp/sig.json" "$tmp" <<'EOF'
import base64, json, sys
m = json.load(open(sys.argv[1]))
l = m["layers"][0]
assert l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json", l["mediaType"]
open(sys.argv[2] + "/sig.der", "wb").write(base64.b64decode(l["annotations"]["dev.cosignproject.cosign/signature"]))
open(sys.argv[2] + "/payload.digest", "w").write(l["digest"])
EOF
skopeo copy --quiet --tls-verify=false "docker://$reg/app/signed:sha256-$signed.sig" "oci:$tmp/siglayout:sig" >/dev/null 2>&1
payload=$(cat "$tmp/payload.digest" 2>/dev/null)
cp "$tmp/siglayout/blobs/sha256/${payload#sha256:}" "$tmp/payload.json" 2>/dev/null
expect_eq "$(openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig.der" "$tmp/payload.json" 2>&1)" "Verified OK" \
  "sign: openssl dgst -verify accepts the signature of the payload"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["critical"]["image"]["docker-manifest-digest"], d["critical"]["type"])' "$tmp/payload.json" 2>&1)" \
  "sha256:$signed cosign container image signature" "sign: the payload names the pushed digest"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
