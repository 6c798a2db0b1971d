#!/bin/bash
# hoist's registry client against the real registry (Debian's
# docker-registry, Distribution 2.8.2) started by tests/registry/lib.sh in
# each auth mode, checked with skopeo: build --push, push, pull, inspect,
# FROM a registry image, cross-repository mounts, credentials from every
# source, TLS with a test CA, and a fault proxy (429 with Retry-After,
# 503, connections reset mid-upload, tokens expiring mid-push, redirects
# to another host, persistent faults).
set -u
: "${HOIST:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

for tool in docker-registry skopeo python3 openssl curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install docker-registry skopeo python3 openssl curl)"
    exit 77
  fi
done

# shellcheck source=tests/registry/lib.sh
. "$HOIST_SRCDIR/tests/registry/lib.sh"

pass=0
fail=0
tmp=$(mktemp -d)
REGISTRY_NO_TRAP=1
trap 'registry_stop; rm -rf "$tmp"' EXIT
export HOIST_HOME=$tmp/home
export DOCKER_CONFIG=$tmp/docker
unset REGISTRY_AUTH_FILE GITHUB_TOKEN SOURCE_DATE_EPOCH
export HOME=$tmp/nohome

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_in () {
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(head -c 800 "$1")"; fi
}
expect_not_in () {
  if grep -qF -- "$2" "$1"; then not_ok "$3" "'$2' in $(basename "$1")"; else ok "$3"; fi
}

# run NAME WANT ARGS... — hoist ARGS, output in $tmp/NAME.{out,err}.
run () {
  local name=$1 want=$2
  shift 2
  "$HOIST" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then
    ok "$name (exit $want)"
  else
    not_ok "$name" "exit $got, wanted $want" "$(tail -5 "$tmp/$name.err")"
  fi
}

count () { registry_log_count "$1" "$2"; }

# skopeo flags for the current mode: TLS and credentials.
skopeo_flags () {
  local dir=$1
  case "$REGISTRY_SCHEME" in
    https) echo "--${dir}-cert-dir=$REGISTRY_CERT_DIR" ;;
    *) echo "--${dir}-tls-verify=false" ;;
  esac
  if [ -n "${REGISTRY_USER:-}" ]; then echo "--${dir}-creds=$REGISTRY_USER:$REGISTRY_PASS"; fi
}

# The digest skopeo sees for REF.
skopeo_digest () {
  # shellcheck disable=SC2046
  skopeo inspect $(skopeo_flags src | sed 's/--src-/--/') "docker://$1" 2>"$tmp/skopeo.err" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}

# Copy REF back into an OCI layout with skopeo, the whole index (the
# image and its attestations); print the digest the tag points at.
skopeo_back () {
  local ref=$1 dir=$2
  # shellcheck disable=SC2046
  skopeo copy --quiet --all $(skopeo_flags src) "docker://$ref" "oci:$dir:back" >"$tmp/skopeo.err" 2>&1 || return 1
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$dir/index.json"
}

ctx=$tmp/ctx
mkdir -p "$ctx"
printf 'hello\n' >"$ctx/hello.txt"
head -c 300000 /dev/urandom >"$ctx/random.bin"
printf 'FROM scratch\nCOPY hello.txt random.bin /\n' >"$ctx/Dockerfile"

# --- anonymous --------------------------------------------------------------------------
registry_start anon
reg=$REGISTRY_ADDR
run "anon: build --push" 0 build -t "$reg/app/one:1" --push "$ctx"
digest=$(sed -n 's/^pushed .*@\(sha256:[0-9a-f]*\)$/\1/p' "$tmp/anon: build --push.err")
expect_eq "$(skopeo_digest "$reg/app/one:1")" "$digest" "anon: skopeo sees the pushed digest"
expect_eq "$(skopeo_back "$reg/app/one:1" "$tmp/back1")" "$digest" "anon: skopeo copies it back with the same digest"

run "anon: second push sends no blob" 0 push "$reg/app/one:1"
expect_in "$tmp/anon: second push sends no blob.err" "already there" "anon: existing blobs are skipped (HEAD)"
expect_not_in "$tmp/anon: second push sends no blob.err" ": pushed in" "anon: no blob is uploaded again"

run "anon: push to another repository" 0 push "$reg/app/one:1" "docker://$reg/app/two:1"
expect_eq "$(skopeo_digest "$reg/app/two:1")" "$digest" "anon: push SRC DEST keeps the digest"

run "anon: push from an OCI layout" 0 push -q "oci:$tmp/back1:back" "$reg/app/three:x"
expect_eq "$(cat "$tmp/anon: push from an OCI layout.out")" "$digest" "anon: push -q prints the digest"

HOIST_HOME=$tmp/home2 run "anon: pull" 0 pull "$reg/app/one:1"
HOIST_HOME=$tmp/home2 run "anon: images lists the pulled image" 0 images --format json
expect_in "$tmp/anon: images lists the pulled image.out" "$reg/app/one:1" "anon: the pull is tagged with its name"
HOIST_HOME=$tmp/home2 run "anon: second pull fetches nothing" 0 pull "$reg/app/one:1"
expect_in "$tmp/anon: second pull fetches nothing.err" "(0 blobs fetched, 2 already here)" "anon: a pull reuses the store's blobs"

run "anon: inspect" 0 inspect "$reg/app/one:1"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["digest"], len(d["layers"]))' "$tmp/anon: inspect.out")" \
  "$digest 1" "anon: inspect shows the digest and the layers"

# FROM a registry image, then a push to another repository of the same
# registry: the base's layer is mounted, not sent.
mkdir -p "$tmp/ctx2"
printf 'world\n' >"$tmp/ctx2/world.txt"
printf 'FROM %s\nCOPY world.txt /\n' "$reg/app/one:1" >"$tmp/ctx2/Dockerfile"
run "anon: build FROM a registry image" 0 build -t "$reg/app/derived:1" --push "$tmp/ctx2"
expect_in "$tmp/anon: build FROM a registry image.err" "resolve $reg/app/one:1@$digest" "anon: FROM resolves the tag"
expect_in "$tmp/anon: build FROM a registry image.err" "mounted" "anon: the base layer is mounted from the base's repository"
rm -rf "$tmp/un"
# This platform's image alone (no --all): what umoci unpacks.
skopeo copy --quiet $(skopeo_flags src) "docker://$reg/app/derived:1" "oci:$tmp/back2:back" >"$tmp/skopeo.err" 2>&1
if umoci unpack --rootless --image "$tmp/back2:back" "$tmp/un" >/dev/null 2>&1 &&
  [ "$(cat "$tmp/un/rootfs/hello.txt" "$tmp/un/rootfs/world.txt")" = "$(printf 'hello\nworld')" ]; then
  ok "anon: the derived image holds the base's files and its own"
else
  not_ok "anon: the derived image holds the base's files and its own"
fi

# Several platforms: an OCI index, from which pulls and FROM pick theirs.
run "anon: build for two platforms" 0 build --platform linux/amd64,linux/arm64 -t "$reg/multi/base:1" --push "$ctx"
skopeo inspect --raw --tls-verify=false "docker://$reg/multi/base:1" >"$tmp/index.json" 2>"$tmp/skopeo.err"
expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["mediaType"], sorted(m["platform"]["architecture"] for m in d["manifests"] if "vnd.docker.reference.type" not in m.get("annotations", {})))' "$tmp/index.json")" \
  "application/vnd.oci.image.index.v1+json ['amd64', 'arm64']" "anon: the pushed image is an index of both platforms"
expect_eq "$(python3 -c '
import json,sys
d = json.load(open(sys.argv[1]))
images = {m["digest"] for m in d["manifests"] if m["platform"]["os"] != "unknown"}
att = [m["annotations"]["vnd.docker.reference.digest"] for m in d["manifests"] if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
print(len(att), set(att) == images)' "$tmp/index.json")" "2 True" "anon: each platform has its attestation manifest in the index"
printf 'FROM %s\nCOPY world.txt /\n' "$reg/multi/base:1" >"$tmp/ctx2/Dockerfile.multi"
run "anon: build FROM an index for two platforms" 0 build --platform linux/arm64,linux/amd64 -f "$tmp/ctx2/Dockerfile.multi" -t "$reg/multi/derived:1" --push "$tmp/ctx2"
for arch in arm64 amd64; do
  HOIST_HOME=$tmp/home5 run "anon: inspect --platform linux-$arch" 0 inspect --platform "linux/$arch" "$reg/multi/derived:1"
  expect_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["config"]["architecture"], len(d["layers"]), len(d["platforms"]))' "$tmp/anon: inspect --platform linux-$arch.out")" \
    "$arch 2 2" "anon: linux/$arch gets its own image, on its own base"
done
HOIST_HOME=$tmp/home5 run "anon: a platform the index lacks" 1 pull --platform linux/s390x "$reg/multi/base:1"
expect_in "$tmp/anon: a platform the index lacks.err" "no image for platform linux/s390x" "anon: the missing platform is named"

run "anon: a missing image is a clear error" 1 pull "$reg/app/nothere:1"
expect_in "$tmp/anon: a missing image is a clear error.err" "no manifest '1'" "anon: the error names the missing manifest"
run "anon: a bad reference is refused" 1 pull "$reg/App/Upper:1"
registry_stop

# A registry that answers with relative Location URLs.
registry_start anon relative
run "relative Location: push" 0 push "$reg/app/one:1" "$REGISTRY_ADDR/rel/app:1"
expect_eq "$(skopeo_digest "$REGISTRY_ADDR/rel/app:1")" "$digest" "relative Location: the push completes with the same digest"
registry_stop

# --- htpasswd (Basic) ---------------------------------------------------------------------
registry_start htpasswd
reg=$REGISTRY_ADDR
run "basic: push without credentials fails" 1 build -t "$reg/b/app:1" --push "$ctx"
expect_in "$tmp/basic: push without credentials fails.err" "hoist login" "basic: the error says how to log in"
run "basic: --creds" 0 build -t "$reg/b/app:1" --push --creds "$REGISTRY_USER:$REGISTRY_PASS" "$ctx"
expect_not_in "$tmp/basic: --creds.err" "$REGISTRY_PASS" "basic: the password is not in the log"
run "basic: wrong --creds are refused" 1 push --creds "$REGISTRY_USER:wrong" "$reg/b/app:1"
expect_in "$tmp/basic: wrong --creds are refused.err" "refused the credentials" "basic: the refusal is named"
printf 'wrong\n' | "$HOIST" login -u "$REGISTRY_USER" --password-stdin "$reg" >"$tmp/login-bad.out" 2>&1
expect_eq "$?" 1 "basic: hoist login with a wrong password fails"
expect_in "$tmp/login-bad.out" "refused the credentials" "basic: the refusal is named"
if [ -e "$DOCKER_CONFIG/config.json" ]; then not_ok "basic: a refused login stores nothing"; else ok "basic: a refused login stores nothing"; fi
printf '%s\n' "$REGISTRY_PASS" | "$HOIST" login -u "$REGISTRY_USER" --password-stdin "$reg" >"$tmp/login.out" 2>&1
expect_eq "$?" 0 "basic: hoist login"
expect_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "basic: config.json is 0600"
run "basic: push with config.json" 0 push "$reg/b/app:1" "$reg/b/copy:1"
expect_eq "$(skopeo_digest "$reg/b/copy:1")" "$(skopeo_digest "$reg/b/app:1")" "basic: the copy has the same digest"
run "basic: logout" 0 logout "$reg"
run "basic: push after logout fails" 1 push "$reg/b/app:1" "$reg/b/copy:2"
python3 -c 'import base64,json,sys; json.dump({"auths": {sys.argv[1]: {"auth": base64.b64encode(sys.argv[2].encode()).decode()}}}, open(sys.argv[3], "w"))' \
  "$reg" "$REGISTRY_USER:$REGISTRY_PASS" "$tmp/auth.json"
REGISTRY_AUTH_FILE=$tmp/auth.json run "basic: push with REGISTRY_AUTH_FILE" 0 push "$reg/b/app:1" "$reg/b/copy:3"
registry_stop

# --- token (Bearer) ---------------------------------------------------------------------------
registry_start token
reg=$REGISTRY_ADDR
run "token: anonymous push is refused" 1 build -t "$reg/t/app:1" --push "$ctx"
run "token: push with --creds" 0 build -t "$reg/t/app:1" --push --creds "$REGISTRY_USER:$REGISTRY_PASS" "$ctx"
expect_eq "$(skopeo_digest "$reg/t/app:1")" "$(sed -n 's/^pushed .*@\(sha256:[0-9a-f]*\)$/\1/p' "$tmp/token: push with --creds.err")" \
  "token: skopeo sees the pushed digest"
if [ "$(count "$TOKEN_LOG" '"repository:t/app:pull,push" in e.get("scopes", [])')" -ge 1 ]; then
  ok "token: a pull,push token was asked for t/app"
else
  not_ok "token: a pull,push token was asked for t/app" "$(tail -3 "$TOKEN_LOG")"
fi
run "token: wrong credentials are refused" 1 push --creds "$REGISTRY_USER:nope" "$reg/t/app:1" "$reg/t/other:1"
expect_in "$tmp/token: wrong credentials are refused.err" "token service" "token: the token service's refusal is named"
printf 'nope\n' | "$HOIST" login -u "$REGISTRY_USER" --password-stdin "$reg" >"$tmp/login-tok-bad.out" 2>&1
expect_eq "$?" 1 "token: hoist login with a wrong password fails"
printf '%s\n' "$REGISTRY_PASS" | "$HOIST" login -u "$REGISTRY_USER" --password-stdin "$reg" >"$tmp/login-tok.out" 2>&1
expect_eq "$?" 0 "token: hoist login checks the credentials with the token service"
run "token: push with the stored login" 0 push "$reg/t/app:1" "$reg/t/login:1"
run "token: logout" 0 logout "$reg"
run "token: push to another repository mounts" 0 push --creds "$REGISTRY_USER:$REGISTRY_PASS" "$reg/t/app:1" "$reg/t/other:1"
registry_stop

# --- TLS with a test CA -----------------------------------------------------------------------
registry_start tls
reg=$REGISTRY_ADDR
run "tls: push without the CA fails" 1 build -t "$reg/s/app:1" --push "$ctx"
expect_in "$tmp/tls: push without the CA fails.err" "--tls-verify=false" "tls: the certificate error has a hint"
run "tls: push with --ca-file" 0 push --ca-file "$REGISTRY_CA" "$reg/s/app:1"
run "tls: push with --tls-verify=false" 0 push --tls-verify=false "$reg/s/app:1" "$reg/s/app:2"
expect_eq "$(skopeo_digest "$reg/s/app:2")" "$(skopeo_digest "$reg/s/app:1")" "tls: both pushes are the same image"
registry_stop

# --- faults, through the fault proxy --------------------------------------------------------
# plan NAME JSON — start a fault proxy with JSON in front of the registry.
plan () { printf '%s\n' "$2" >"$tmp/plan-$1.json"; proxy_start "$tmp/plan-$1.json"; }
pushed_ok () { # NAME REF — the push finished and skopeo reads the same digest
  local d
  d=$(sed -n 's/^pushed .*@\(sha256:[0-9a-f]*\)$/\1/p' "$tmp/$1.err")
  expect_eq "$(skopeo_digest "$2")" "${d:-none}" "$1: skopeo reads what was pushed"
}

registry_start htpasswd
creds="$REGISTRY_USER:$REGISTRY_PASS"
plan 429 '[{"method": "PUT", "path": "/v2/*/blobs/uploads/*", "nth": 1, "action": "status", "status": 429, "headers": {"Retry-After": "1"}}]'
run "fault 429" 0 build -t "$PROXY_ADDR/f/a:1" --push --creds "$creds" "$ctx"
src=$PROXY_ADDR/f/a:1 # its name in the store
pushed_ok "fault 429" "$REGISTRY_ADDR/f/a:1"
expect_eq "$(count "$PROXY_LOG" 'e["status"] == 429')" 1 "fault 429: the proxy answered 429 once"
plan 503 '[{"method": ["PUT", "PATCH"], "path": "/v2/*/blobs/uploads/*", "first": 2, "action": "status", "status": 503}]'
run "fault 503" 0 push --creds "$creds" "$src" "$PROXY_ADDR/f/b:1"
pushed_ok "fault 503" "$REGISTRY_ADDR/f/b:1"
plan reset '[{"method": "PUT", "path": "/v2/*/blobs/uploads/*", "nth": 1, "action": "reset", "after_bytes": 100000}]'
run "fault reset mid-upload" 0 push --creds "$creds" "$src" "$PROXY_ADDR/f/c:1"
pushed_ok "fault reset mid-upload" "$REGISTRY_ADDR/f/c:1"
expect_eq "$(count "$PROXY_LOG" 'e.get("reset")')" 1 "fault reset mid-upload: the connection was reset once"
plan chunks '[{"method": "PUT", "path": "/v2/*/blobs/uploads/*", "query": "*digest=*", "auth": true, "nth": 1, "action": "status", "status": 413}]'
run "fault 413: chunks" 0 push --creds "$creds" "$src" "$PROXY_ADDR/f/chunks:1"
pushed_ok "fault 413: chunks" "$REGISTRY_ADDR/f/chunks:1"
if [ "$(count "$PROXY_LOG" 'e["method"] == "PATCH" and e["status"] == 202')" -ge 1 ] &&
  [ "$(count "$PROXY_LOG" 'e["method"] == "PATCH" and e["req_bytes"] > 4 * 1024 * 1024')" -eq 0 ]; then
  ok "fault 413: the blob went in PATCH chunks of at most 4 MiB"
else
  not_ok "fault 413: the blob went in PATCH chunks of at most 4 MiB" "$(grep PATCH "$PROXY_LOG" | head -3)"
fi
plan persistent '[{"method": "PUT", "path": "/v2/*/blobs/uploads/*", "action": "status", "status": 503}]'
run "fault persistent 503" 1 push --retry 1 --creds "$creds" "$src" "$PROXY_ADDR/f/d:1"
expect_in "$tmp/fault persistent 503.err" "gave up after 2 attempts" "fault persistent 503: the error says it gave up"
plan redirect '[{"method": "GET", "path": "/v2/*/blobs/sha256:*", "action": "redirect", "status": 307, "reject_auth": true}]'
HOIST_HOME=$tmp/home3 run "fault redirect: pull" 0 pull --creds "$creds" "$PROXY_ADDR/f/a:1"
if [ "$(count "$PROXY_LOG" 'e["server"] == "redirect"')" -ge 1 ] &&
  [ "$(count "$PROXY_LOG" 'e["server"] == "redirect" and e["auth"]')" -eq 0 ]; then
  ok "fault redirect: the other host got no Authorization"
else
  not_ok "fault redirect: the other host got no Authorization" "$(grep redirect "$PROXY_LOG" | head -3)"
fi
plan corrupt '[{"method": "GET", "path": "/v2/*/blobs/sha256:*", "action": "status", "status": 200, "body": "not the blob"}]'
HOIST_HOME=$tmp/home4 run "fault corrupt blob" 1 pull --creds "$creds" "$PROXY_ADDR/f/a:1"
expect_in "$tmp/fault corrupt blob.err" "hashes to" "fault corrupt blob: a wrong digest is refused"
mdigest=$(skopeo_digest "$REGISTRY_ADDR/f/a:1")
plan badmanifest '[{"method": "GET", "path": "/v2/*/manifests/sha256:*", "action": "status", "status": 200, "headers": {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, "body": {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "size": 2}, "layers": []}}]'
HOIST_HOME=$tmp/home4 run "fault manifest by digest" 1 pull --creds "$creds" "$PROXY_ADDR/f/a@$mdigest"
expect_in "$tmp/fault manifest by digest.err" "with bytes that hash to" "fault manifest by digest: other bytes are refused"
registry_stop

registry_start token expires=60
creds="$REGISTRY_USER:$REGISTRY_PASS"
# The HEADs take 2 s, so the upload's token is older than the 1 s the
# proxy then allows: the registry says invalid_token mid-push.
plan expiry '[{"method": "HEAD", "path": "/v2/*/blobs/*", "nth": 1, "action": "delay", "seconds": 2},
              {"method": ["POST", "PUT", "PATCH"], "action": "token_max_age", "seconds": 1, "first": 1}]'
run "fault token expiry" 0 build -t "$PROXY_ADDR/e/a:1" --push --creds "$creds" "$ctx"
pushed_ok "fault token expiry" "$REGISTRY_ADDR/e/a:1"
expect_eq "$(count "$PROXY_LOG" 'e.get("action") == "token_max_age" and e["status"] == 401')" 1 \
  "fault token expiry: one request met an expired token"
registry_stop

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
