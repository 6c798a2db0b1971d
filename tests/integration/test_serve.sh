#!/bin/bash
# hoist serve end to end, against real servers on loopback: a bare
# repository served by `git daemon --enable=receive-pack`, Debian's
# docker-registry, a stand-in for GitHub's status API, and hoist serve
# itself, fed webhooks signed as GitHub signs them.  Checks what reaches
# the registry (skopeo), what reaches the repository (git), and what the
# status API heard; then the hard cases: replays, bad signatures, sizes,
# bodies; two quick pushes; a commit pushed by someone else between
# hoist's fetch and push; kill -9 during a build and a restart.
set -u
: "${HOIST:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

pass=0
fail=0
tmp=$(mktemp -d)
ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_in () { if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(tail -c 800 "$1")"; fi; }
expect_not_in () { if grep -qF -- "$2" "$1"; then not_ok "$3" "'$2' found in $(basename "$1")"; else ok "$3"; fi; }

for tool in git skopeo curl python3 docker-registry; do
  command -v "$tool" >/dev/null || { echo "# skip: $tool is not installed"; exit 77; }
done

serve_pid=
git_pid=
status_pid=
cleanup () {
  # git daemon forks: its pid file names the server.
  for p in $serve_pid $git_pid $status_pid $(cat "$tmp/gitd.pid" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  registry_stop 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
REGISTRY_NO_TRAP=1
. "$HOIST_SRCDIR/tests/registry/lib.sh"
. "$HOIST_SRCDIR/tests/integration/busybox_base.sh"
trap cleanup EXIT
lib=$HOIST_SRCDIR/tests/integration
export HOIST_HOME=$tmp/home
unset SOURCE_DATE_EPOCH BUILDX_NO_DEFAULT_ATTESTATIONS HOIST_INVOCATION_ID HOIST_SOURCE HOIST_REVISION

free_port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json () { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

registry_start anon || { echo "Bail out! cannot start docker-registry"; exit 1; }
R=$REGISTRY_ADDR

# --- the repository, served by git daemon ------------------------------------
mkdir -p "$tmp/srv" "$tmp/bin"
git init -q --bare -b main "$tmp/srv/shop.git"
gport=$(free_port)
git daemon --reuseaddr --pid-file="$tmp/gitd.pid" --base-path="$tmp/srv" --export-all --enable=receive-pack --listen=127.0.0.1 \
  --port="$gport" "$tmp/srv" 2>"$tmp/git-daemon.log" &
git_pid=$!
url=git://127.0.0.1:$gport/shop.git
for _ in $(seq 50); do git ls-remote "$url" >/dev/null 2>&1 && break; sleep 0.1; done

dev=$tmp/dev
git init -q -b main "$dev"
git -C "$dev" config user.name Dev
git -C "$dev" config user.email dev@acme.test
git -C "$dev" remote add origin "$url"
mkdir -p "$dev/api" "$dev/web" "$dev/deploy"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$dev/api/Dockerfile"
echo v1 >"$dev/api/hello.txt"
printf 'FROM scratch\nCOPY index.html /index.html\n' >"$dev/web/Dockerfile"
echo '<h1>shop</h1>' >"$dev/web/index.html"
cat >"$dev/deploy/kustomization.yaml" <<EOF
# shop, production
resources:
  - deployment.yaml   # the app

images:
  - name: api   # the API
    newName: $R/acme/api
    newTag: "initial"
  - name: web
    newName: $R/acme/web
    newTag: initial
EOF
cat >"$dev/deploy/values.yaml" <<EOF
web:
  image:
    repository: $R/acme/web
    tag: initial  # set by hoist
  replicas: 2
EOF
git -C "$dev" add -A
git -C "$dev" commit -q -m "shop: first"
git -C "$dev" push -q origin main 2>/dev/null

# --- hoist serve ---------------------------------------------------------------
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
echo "ghp_hoistTestToken0123456789" >"$tmp/token"
"$lib/status_server.py" "$tmp/status.port" "$tmp/status.log" &
status_pid=$!
for _ in $(seq 50); do [ -s "$tmp/status.port" ] && break; sleep 0.1; done
hport=$(free_port)
hook=http://127.0.0.1:$hport
cat >"$tmp/hoist.yml" <<EOF
listen: 127.0.0.1:$hport
state_dir: $tmp/state
webhook_secret_file: $tmp/secret
github_token_file: $tmp/token
status_api: http://127.0.0.1:$(cat "$tmp/status.port")
public_url: $hook
git:
  name: hoist
  email: hoist@localhost
repositories:
  - name: acme/shop
    url: $url
    branches: [main]
    tags: ["v*"]
    images:
      - name: $R/acme/api
        context: api
        tags: ["{version}", "{sha}", "{branch}-{short_sha}"]
        deploy:
          - kustomization: deploy/kustomization.yaml
            image: api
      - name: $R/acme/web
        context: web
        deploy:
          - file: deploy/values.yaml
            key: web.image.tag
EOF
"$HOIST" serve --config "$tmp/hoist.yml" --check >"$tmp/check.out" 2>&1
expect_in "$tmp/check.out" "ok (1 repository, 2 images)" "serve --check accepts the configuration"

# A git on PATH that, once armed, pushes someone else's commit just before
# hoist's push: the race between hoist's fetch and its push, made certain.
cat >"$tmp/bin/git" <<EOF
#!/bin/bash
for a in "\$@"; do
  if [ "\$a" = push ] && [ -e "$tmp/race.armed" ]; then
    rm -f "$tmp/race.armed"
    (cd "$tmp/other" && /usr/bin/git pull -q --rebase origin main && echo racer >>RACE && /usr/bin/git add RACE \
      && /usr/bin/git commit -q -m "someone else" && /usr/bin/git push -q origin HEAD:main) >/dev/null 2>&1
    break
  fi
done
exec /usr/bin/git "\$@"
EOF
chmod +x "$tmp/bin/git"

start_serve () {
  PATH=$tmp/bin:$PATH "$HOIST" serve --config "$tmp/hoist.yml" >>"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 100); do curl -sf "$hook/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "# hoist serve did not answer:"; tail -20 "$tmp/serve.log" | sed 's/^/#   /'
  return 1
}
start_serve || { echo "Bail out! hoist serve did not start"; exit 1; }
ok "hoist serve answers /health"

# push_hook NAME [DELIVERY] — webhook for the last push of $dev (BEFORE..HEAD).
push_hook () {
  "$lib/webhook.py" "$hook/webhook" "$tmp/secret" push "$dev" acme/shop refs/heads/main "$before" "$(git -C "$dev" rev-parse HEAD)" ${2:+"$2"} >"$tmp/$1.hook"
}
# wait_job ID — until the job ends; prints its state.
wait_job () {
  local s
  for _ in $(seq 600); do
    s=$(curl -sf "$hook/jobs/$1" | json 'd["state"]' 2>/dev/null)
    case $s in succeeded|failed|skipped|superseded) echo "$s"; return 0 ;; esac
    sleep 0.2
  done
  echo "timeout($s)"
}
job_count () { curl -sf "$hook/jobs?limit=500" | json 'len(d)'; }
commit_change () { echo "$2" >"$dev/$1"; git -C "$dev" commit -q -am "$3"; }
push_dev () { before=$(git -C "$dev" rev-parse origin/main); git -C "$dev" push -q origin main 2>/dev/null; }
main_file () { git -C "$dev" fetch -q origin && git -C "$dev" show "origin/main:$1"; }

# --- 1. a push that changes api/ --------------------------------------------------
commit_change api/hello.txt v2 "api: v2"
push_dev
sha=$(git -C "$dev" rev-parse HEAD)
push_hook api1 delivery-api-1
expect_eq "$(cut -d' ' -f1 "$tmp/api1.hook")" 202 "a signed push webhook is accepted (202)"
job=$(cut -d' ' -f2- "$tmp/api1.hook" | json 'd["job"]')
expect_eq "$(wait_job "$job")" succeeded "the job succeeds"
skopeo inspect --tls-verify=false "docker://$R/acme/api:$sha" >"$tmp/api.inspect" 2>"$tmp/skopeo.err"
expect_in "$tmp/api.inspect" '"Digest"' "the api image is in the registry, tagged with the commit"
skopeo inspect --tls-verify=false "docker://$R/acme/api:main-${sha:0:7}" >/dev/null 2>&1 && ok "... and with {branch}-{short_sha}" || not_ok "... and with {branch}-{short_sha}"
if skopeo list-tags --tls-verify=false "docker://$R/acme/web" >/dev/null 2>&1; then not_ok "the web image, untouched, is not built"; else ok "the web image, untouched, is not built"; fi
skopeo inspect --raw --tls-verify=false "docker://$R/acme/api:$sha" >"$tmp/api.index"
expect_eq "$(json '[m.get("annotations",{}).get("vnd.docker.reference.type") for m in d["manifests"]].count("attestation-manifest")' <"$tmp/api.index")" 1 "the image has its attestations (SBOM, provenance)"
skopeo inspect --config --tls-verify=false "docker://$R/acme/api:$sha" >"$tmp/api.config"
expect_eq "$(json 'd["config"]["Labels"]["org.opencontainers.image.revision"]' <"$tmp/api.config")" "$sha" "label org.opencontainers.image.revision is the commit"
expect_eq "$(json 'd["created"][:19]' <"$tmp/api.config")" "$(TZ=UTC git -C "$dev" log -1 --date=format-local:%Y-%m-%dT%H:%M:%S --format=%cd "$sha")" "created is the commit's time (SOURCE_DATE_EPOCH)"

git -C "$dev" fetch -q origin
expect_eq "$(git -C "$dev" rev-list --count "$sha..origin/main")" 1 "main has one new commit"
expect_in <(git -C "$dev" log -1 --format=%B origin/main) "[skip ci]" "the bump commit says [skip ci]"
expect_eq "$(git -C "$dev" log -1 --format='%an <%ae>' origin/main)" "hoist <hoist@localhost>" "the bump is by the configured identity"
sed "s|    newTag: \"initial\"|    newTag: \"$sha\"|" <(git -C "$dev" show "$sha:deploy/kustomization.yaml") >"$tmp/kust.want"
git -C "$dev" show origin/main:deploy/kustomization.yaml >"$tmp/kust.got"
if cmp -s "$tmp/kust.want" "$tmp/kust.got"; then ok "the kustomization changed in the one newTag line, byte for byte"; else not_ok "the kustomization changed in the one newTag line" "$(diff "$tmp/kust.want" "$tmp/kust.got")"; fi
expect_eq "$(git -C "$dev" diff --numstat "$sha" origin/main)" "$(printf '1\t1\tdeploy/kustomization.yaml')" "the bump's diff is one line"

# The bump's own webhook builds nothing.
git -C "$dev" merge -q --ff-only origin/main
before=$sha
jobs_before=$(job_count)
push_hook bump1
expect_eq "$(cat "$tmp/bump1.hook")" '200 {"skipped":"hoist'"'"'s own tag bump"}' "the webhook of hoist's own bump builds nothing"
expect_eq "$(job_count)" "$jobs_before" "... and queues no job"

# --- 2. what the webhook refuses -------------------------------------------------
"$lib/webhook.py" "$hook/webhook" "$tmp/secret" body "$dev" acme/shop refs/heads/main "$before" "$(git -C "$dev" rev-parse HEAD)" >"$tmp/body.json"
"$lib/webhook.py" "$hook/webhook" "$tmp/secret" push "$dev" acme/shop refs/heads/main "$(git -C "$dev" rev-parse HEAD~1)" "$sha" delivery-api-1 >"$tmp/replay.hook"
expect_eq "$(cut -d' ' -f1 "$tmp/replay.hook")" 200 "a replayed delivery is answered 200"
expect_in "$tmp/replay.hook" '"duplicate":true' "... as a duplicate"
h () { "$lib/webhook.py" "$hook/webhook" "$tmp/secret" raw "$@" | cut -d' ' -f1; }
expect_eq "$(h push "$tmp/body.json" bad-1 sha256=0000000000000000000000000000000000000000000000000000000000000000)" 401 "a wrong signature: 401"
expect_eq "$(h push "$tmp/body.json" bad-2 none)" 401 "no signature: 401"
expect_eq "$(h push "$tmp/body.json" bad-3 sha1=0123456789abcdef0123456789abcdef01234567)" 401 "a sha1= signature only: 401"
expect_eq "$(h push "$tmp/body.json" bad-4 sha256=xyz)" 401 "a malformed signature: 401"
printf '{"ref": "refs/heads/main", ' >"$tmp/broken.json"
expect_eq "$(h push "$tmp/broken.json" bad-5)" 400 "malformed JSON, signed: 400"
expect_eq "$(h ping "$tmp/body.json" ping-1)" 200 "ping: 200"
head -c $((26 * 1024 * 1024)) /dev/zero >"$tmp/big.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: big-1' \
  -H 'X-Hub-Signature-256: sha256=00' --data-binary @"$tmp/big.json" "$hook/webhook")
expect_eq "$code" 413 "a body over 25 MB: 413"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: big-2' \
  -H 'Transfer-Encoding: chunked' -H 'X-Hub-Signature-256: sha256=00' --data-binary @"$tmp/big.json" "$hook/webhook")
expect_eq "$code" 413 "a chunked body over 25 MB: 413"
expect_eq "$(job_count)" "$jobs_before" "none of them queued a job"

curl -sf "$hook/metrics" >"$tmp/metrics"
expect_in "$tmp/metrics" 'hoist_webhooks_total{result="accepted"} 1' "metrics count accepted webhooks"
expect_in "$tmp/metrics" 'hoist_webhooks_total{result="unauthorized"} 4' "metrics count refused signatures"
expect_in "$tmp/metrics" 'hoist_jobs{state="succeeded"} 1' "metrics count jobs by state"
expect_in "$tmp/metrics" 'hoist_job_duration_seconds_count 1' "metrics have the job duration histogram"
curl -sf "$hook/health" >"$tmp/health"
expect_eq "$(json 'd["ok"], d["queue_depth"]' <"$tmp/health")" "True 0" "/health: ok, queue depth"

# The status API heard pending then success for hoist/api, with the token.
python3 - "$tmp/status.log" "$sha" "$hook/jobs/$job/log" >"$tmp/status.check" <<'PYX'
import json, sys
log, sha, target = sys.argv[1:4]
es = [json.loads(l) for l in open(log)]
mine = [e for e in es if e["path"] == f"/repos/acme/shop/statuses/{sha}"]
if any("state" not in e["body"] for e in mine):
    print(mine)
print([e["body"].get("state") for e in mine], {e["body"].get("context") for e in mine},
      {e["authorization"] for e in mine}, {e["body"].get("target_url") == target for e in mine})
PYX
expect_eq "$(cat "$tmp/status.check")" "['pending', 'success'] {'hoist/api'} {'Bearer ghp_hoistTestToken0123456789'} {True}" "commit statuses: pending then success, per image, with the token and the log link"
curl -sf "$hook/jobs/$job/log" >"$tmp/job.log"
expect_in "$tmp/job.log" "bumped $R/acme/api" "the job log tells the bump"
expect_not_in "$tmp/job.log" "ghp_hoistTestToken0123456789" "the job log does not show the token"
"$HOIST" jobs --state-dir "$tmp/state" >"$tmp/jobs.out" 2>&1
expect_in "$tmp/jobs.out" "succeeded" "hoist jobs lists the job"

# --- 3. two pushes in quick succession: the newer tag wins ----------------------------
commit_change web/index.html '<h1>shop 2</h1>' "web: 2"
push_dev
push_hook web1
commit_change web/index.html '<h1>shop 3</h1>' "web: 3"
push_dev
newest=$(git -C "$dev" rev-parse HEAD)
push_hook web2
job=$(cut -d' ' -f2- "$tmp/web2.hook" | json 'd["job"]')
expect_eq "$(wait_job "$job")" succeeded "the newer push's job succeeds"
first=$(cut -d' ' -f2- "$tmp/web1.hook" | json 'd["job"]')
st=$(wait_job "$first")
case $st in succeeded|superseded) ok "the older push's job ended ($st)" ;; *) not_ok "the older push's job ended" "state: $st" ;; esac
expect_in <(main_file deploy/values.yaml) "    tag: $newest  # set by hoist" "values.yaml holds the newer commit's tag, its comment kept"
git -C "$dev" merge -q --ff-only origin/main

# --- 4. someone else pushes between hoist's fetch and push ------------------------------
git clone -q "$url" "$tmp/other"
git -C "$tmp/other" config user.name Other
git -C "$tmp/other" config user.email other@acme.test
touch "$tmp/race.armed"
commit_change api/hello.txt v3 "api: v3"
push_dev
sha3=$(git -C "$dev" rev-parse HEAD)
push_hook api3
job=$(cut -d' ' -f2- "$tmp/api3.hook" | json 'd["job"]')
expect_eq "$(wait_job "$job")" succeeded "the job succeeds though the branch moved under it"
git -C "$dev" fetch -q origin
check () { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi; }
check "the racing commit is kept" test "$(git -C "$dev" log --format=%s origin/main | grep -c '^someone else$')" = 1
expect_in <(main_file deploy/kustomization.yaml) "newTag: \"$sha3\"" "... and the bump landed on top of it"
curl -sf "$hook/jobs/$job/log" >"$tmp/job3.log"
expect_in "$tmp/job3.log" "rejected" "the log tells of the rejected push and the retry"
git -C "$dev" merge -q --ff-only origin/main

# --- 5. a tag push builds every image and bumps the deploy branch ----------------
git -C "$dev" tag v1.2.3
git -C "$dev" push -q origin v1.2.3 2>/dev/null
tagged=$(git -C "$dev" rev-parse HEAD)
"$lib/webhook.py" "$hook/webhook" "$tmp/secret" push "$dev" acme/shop refs/tags/v1.2.3 \
  0000000000000000000000000000000000000000 "$tagged" >"$tmp/tag.hook"
job=$(cut -d' ' -f2- "$tmp/tag.hook" | json 'd["job"]')
expect_eq "$(wait_job "$job")" succeeded "a tag push's job succeeds"
skopeo inspect --tls-verify=false "docker://$R/acme/api:1.2.3" >/dev/null 2>&1 && ok "the api image is tagged {version} = 1.2.3" || not_ok "the api image is tagged {version} = 1.2.3"
skopeo inspect --tls-verify=false "docker://$R/acme/web:$tagged" >/dev/null 2>&1 && ok "a tag push builds every image (web too)" || not_ok "a tag push builds every image (web too)"
expect_in <(main_file deploy/kustomization.yaml) 'newTag: "1.2.3"' "the tag's version is bumped into main"
git -C "$dev" merge -q --ff-only origin/main

# --- 6. kill -9 during a build, then a restart -------------------------------------------
busybox_base "$tmp/bb"
"$HOIST" build -q -t "$R/base/busybox:1" --push "$tmp/bb" >/dev/null 2>"$tmp/bb.err" || not_ok "push a busybox base" "$(tail -3 "$tmp/bb.err")"
printf 'FROM %s/base/busybox:1\nRUN sleep 3\nCOPY hello.txt /hello.txt\n' "$R" >"$dev/api/Dockerfile"
git -C "$dev" commit -q -am "api: slow build"
push_dev
sha4=$(git -C "$dev" rev-parse HEAD)
push_hook api4
job=$(cut -d' ' -f2- "$tmp/api4.hook" | json 'd["job"]')
# Until the build is in its RUN step (slow under sanitizers and a busy machine).
for _ in $(seq 600); do grep -q "RUN sleep 3" "$tmp/state/logs/$job.log" 2>/dev/null && break; sleep 0.1; done
grep -q "RUN sleep 3" "$tmp/state/logs/$job.log" 2>/dev/null || not_ok "the slow build reached its RUN step" "$(tail -5 "$tmp/state/logs/$job.log" 2>/dev/null)"
sleep 1
kill -9 "$serve_pid"
wait "$serve_pid" 2>/dev/null
expect_eq "$(git ls-remote "$url" refs/heads/main | cut -f1)" "$sha4" "killed mid-build: nothing was bumped"
start_serve && ok "hoist serve starts again on the same state"
expect_eq "$(wait_job "$job")" succeeded "the job that was running is run again and succeeds"
expect_eq "$(curl -sf "$hook/jobs/$job" | json 'd["attempts"]')" 2 "... on its second attempt"
git -C "$dev" fetch -q origin
expect_eq "$(git -C "$dev" log --format=%s "$sha4..origin/main" | grep -c "$sha4")" 1 "exactly one bump commit for it"
expect_in "$tmp/serve.log" "1 job was running when hoist stopped: queued again" "the restart says so"

# --- 7. SIGTERM drains ---------------------------------------------------------------------
kill -TERM "$serve_pid"
for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$serve_pid" 2>/dev/null; then not_ok "SIGTERM stops hoist serve"; else ok "SIGTERM stops hoist serve"; fi
wait "$serve_pid"
expect_eq "$?" 0 "... with exit 0"
expect_in "$tmp/serve.log" "draining" "... after a drain"
serve_pid=

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
