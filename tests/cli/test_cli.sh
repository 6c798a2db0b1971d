#!/bin/bash
# The hoist command line as a user meets it: dispatch, usage errors, exit
# codes, help text, and `hoist parse` over every Dockerfile case in
# tests/data (the same cases the unit tests run through the library).
set -u
: "${HOIST:?run through make check}"
: "${HOIST_TEST_DATA:?run through make check}"

pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# run NAME EXPECTED_EXIT ARGS... — runs hoist, keeps stdout/stderr in $tmp.
run () {
  local name=$1 want=$2
  shift 2
  "$HOIST" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "$name (exit $want)"; else not_ok "$name" "exit $got, wanted $want" "stderr: $(head -c 400 "$tmp/err")"; fi
}

# expect_in FILE TEXT NAME — FILE contains TEXT literally.
expect_in () {
  if grep -qF -- "$2" "$tmp/$1"; then ok "$3"; else not_ok "$3" "'$2' not in $1:" "$(head -c 400 "$tmp/$1")"; fi
}

# expect_eq FILE TEXT NAME — FILE is exactly TEXT (plus newline).
expect_eq () {
  if [ "$(cat "$tmp/$1")" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $(head -c 400 "$tmp/$1")"; fi
}

# --- dispatch and usage ---------------------------------------------------
run "no arguments is a usage error" 2
expect_in err "usage: hoist" "no arguments prints usage"
run "--help" 0 --help
for cmd in build parse version serve bump jobs job; do expect_in out "  $cmd " "--help lists '$cmd'"; done
expect_in out "2  usage error" "--help documents exit codes"
run "unknown command" 2 frobnicate
expect_eq err "hoist: error: unknown command 'frobnicate' (see 'hoist --help')" "unknown command message"
run "unknown global option" 2 --frobnicate
expect_in err "unknown option '--frobnicate'" "unknown option message"

# --- version ----------------------------------------------------------------
run "version" 0 version
expect_in out "hoist " "version names hoist"
expect_in out "commit: " "version names the commit"
expect_in out "built: " "version names the build date"
run "--version" 0 --version
run "version rejects arguments" 2 version extra

# --- build flags ------------------------------------------------------------
run "build --help" 0 build --help
for flag in "-f, --file" "-t, --tag" "--build-arg" "--target" "--platform" "--label" "--no-cache" \
            "--push" "-o, --output" "--build-context" "--progress"; do
  expect_in out "$flag" "build --help lists '$flag'"
done
run "build unknown flag" 2 build --squash
expect_eq err "hoist: error: unknown option '--squash' (see 'hoist build --help')" "build unknown flag message"
run "build flag without value" 2 build --target
expect_in err "option '--target' needs a value" "missing value message"

mkdir -p "$tmp/ctx"
printf 'FROM scratch\nCOPY a /a\n' >"$tmp/ctx/Dockerfile"
run "build --push without a tag" 2 build --push "$tmp/ctx"
expect_in err "--push needs an image name" "push without tag says what to add"
echo a >"$tmp/ctx/a"
HOIST_HOME="$tmp/home" run "build --push to a closed port fails" 1 build --push --retry 0 -t 127.0.0.1:1/x:1 "$tmp/ctx"
expect_in err "cannot reach registry 127.0.0.1:1" "the unreachable registry is named"
run "build --platform with an empty entry" 2 build --platform linux/amd64, "$tmp/ctx"
run "build --platform twice the same" 2 build --platform linux/amd64,linux/amd64 "$tmp/ctx"
expect_in err "names 'linux/amd64' twice" "a repeated platform is named"
HOIST_HOME="$tmp/home" run "build for two platforms" 0 build -q --platform linux/amd64,linux/arm64 -t multi:1 "$tmp/ctx"
HOIST_HOME="$tmp/home" run "images lists the index" 0 images
expect_in out "multi " "the index is tagged"
run "push --help" 0 push --help
run "push needs SRC" 2 push
HOIST_HOME="$tmp/home" run "push of an image not in the store" 1 push nothere:1
expect_in err "nothere:1" "the missing image is named"
run "push --tls-verify checks its value" 2 push --tls-verify=maybe x:1
run "login needs --password-stdin" 2 login -u me example.com
run "pull needs a name" 2 pull
run "inspect --platform needs OS/ARCH" 2 inspect --platform amd64 x
run "build -o type=registry needs a name, as --push does" 2 build -o type=registry "$tmp/ctx"
expect_in err "--push needs an image name" "-o type=registry is --push"
run "build -o type=registry takes only name=" 2 build -o type=registry,dest=x "$tmp/ctx"
expect_in err "type=registry takes only name=NAME" "a registry output with other attributes is refused"
run "build -o type=docker is refused until it exists" 3 build -o type=docker "$tmp/ctx"
expect_in err "output type 'docker' is not supported yet" "output refusal names the missing capability"
run "build --progress checks its value" 2 build --progress fancy "$tmp/ctx"
run "build --label needs K=V" 2 build --label novalue "$tmp/ctx"
echo a >"$tmp/ctx/a"
HOIST_HOME="$tmp/home" run "build of a valid Dockerfile builds it" 0 build --progress quiet -t app:1 "$tmp/ctx"
expect_in out "sha256:" "build --progress quiet prints the manifest digest"
HOIST_HOME="$tmp/home" run "build -q is docker's quiet" 0 build -q -t app:1 "$tmp/ctx"
expect_in out "sha256:" "build -q prints the manifest digest"
printf 'FROM scratch\nRUN true\n' >"$tmp/ctx/Dockerfile.run"
HOIST_HOME="$tmp/home" run "build with RUN on scratch fails: no shell" 1 build -f "$tmp/ctx/Dockerfile.run" "$tmp/ctx"
expect_in err "Dockerfile.run:2: cannot run '/bin/sh'" "RUN failure names file, line and program"
run "build two contexts" 2 build "$tmp/ctx" "$tmp/ctx"
printf 'FROM scratch\nCOPPY a /a\n' >"$tmp/ctx/Dockerfile.bad"
run "build reports Dockerfile errors first" 1 build -f "$tmp/ctx/Dockerfile.bad" "$tmp/ctx"
expect_in err "Dockerfile.bad:2: unknown instruction" "build error names file and line"

# --- parse --------------------------------------------------------------------
run "parse --help" 0 parse --help
run "parse missing file" 1 parse -f "$tmp/nope/Dockerfile"
expect_in err "cannot open '$tmp/nope/Dockerfile'" "missing file is named"
printf 'FROM busybox AS one\nRUN echo hi\n' | "$HOIST" parse -f - >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ]; then ok "parse reads stdin with -f -"; else not_ok "parse reads stdin with -f -" "$(cat "$tmp/err")"; fi
expect_in out '"base": "busybox"' "stdin plan names the base"
run "parse unknown target" 1 parse -f "$tmp/ctx/Dockerfile" --target nope
expect_in err "nope" "unknown target is named"

# Every data case through the CLI: stdout must be expected.json, or stderr
# "hoist: error: " + expected.err.  Cases without --platform in their args
# get linux/amd64, as the unit harness does.
cases=0
for dir in "$HOIST_TEST_DATA"/dockerfile/*/; do
  name=$(basename "$dir")
  args=()
  if [ -f "$dir/args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      [ -n "$line" ] && args+=("$line")
    done <"$dir/args"
  fi
  case " ${args[*]-} " in *--platform*) ;; *) args+=("--platform=linux/amd64") ;; esac
  (cd "$dir" && "$HOIST" parse -f Dockerfile ${args[@]+"${args[@]}"}) >"$tmp/out" 2>"$tmp/err"
  code=$?
  cases=$((cases + 1))
  if [ -f "$dir/expected.json" ]; then
    if [ $code -eq 0 ] && cmp -s "$tmp/out" "$dir/expected.json"; then
      ok "parse case $name"
    else
      not_ok "parse case $name" "exit $code" "$(diff "$dir/expected.json" "$tmp/out" | head -20)" "$(head -c 300 "$tmp/err")"
    fi
  elif [ -f "$dir/expected.err" ]; then
    want="hoist: error: $(cat "$dir/expected.err")"
    if [ $code -eq 1 ] && [ "$(cat "$tmp/err")" = "$want" ]; then
      ok "parse case $name (error)"
    else
      not_ok "parse case $name (error)" "exit $code" "wanted: $want" "got:    $(head -c 300 "$tmp/err")"
    fi
  else
    not_ok "parse case $name" "no expected.json or expected.err"
  fi
done
if [ $cases -ge 150 ]; then ok "at least 150 Dockerfile cases ($cases)"; else not_ok "at least 150 Dockerfile cases" "found $cases"; fi

# --- the runner's commands: serve, bump, jobs, job, and hoist as GIT_ASKPASS --
run "serve without --config is a usage error" 2 serve
expect_in err "--config FILE is required" "serve names the missing --config"
run "serve --drain-timeout takes seconds" 2 serve --config x.yml --drain-timeout soon
run "serve --check of the example" 0 serve --check --config "$HOIST_SRCDIR/deploy/hoist.yml"
expect_in out "ok (1 repository, 2 images)" "deploy/hoist.yml is a valid configuration"
python3 -c 'import sys, yaml; d = [x for x in yaml.safe_load_all(open(sys.argv[1])) if x["kind"] == "ConfigMap"][0]; print(d["data"]["hoist.yml"], end="")' \
  "$HOIST_SRCDIR/deploy/kubernetes/hoist.yaml" >"$tmp/k8s-hoist.yml" 2>/dev/null
if [ -s "$tmp/k8s-hoist.yml" ]; then
  run "serve --check of the Kubernetes ConfigMap's hoist.yml" 0 serve --check --config "$tmp/k8s-hoist.yml"
else
  echo "# skip the Kubernetes ConfigMap check: python3-yaml is not installed"
fi
printf 'repositories: [\n' >"$tmp/bad.yml"
run "serve --check of a broken file fails" 1 serve --check --config "$tmp/bad.yml"
expect_in err "bad.yml:2: not valid YAML" "the error names the file and line"
run "serve --check of a missing file" 1 serve --check --config "$tmp/missing.yml"
expect_in err "cannot read the configuration" "a missing file is named"

printf 'images:\n  - name: api   # the API\n    newTag: "1.0"\n' >"$tmp/kustomization.yaml"
cp "$tmp/kustomization.yaml" "$tmp/k.orig"
run "bump --dry-run" 0 bump --dry-run "$tmp/kustomization.yaml" api=:1.1
expect_eq out 'images:
  - name: api   # the API
    newTag: "1.1"' "bump --dry-run prints the edited file"
cmp -s "$tmp/kustomization.yaml" "$tmp/k.orig" && ok "bump --dry-run writes nothing" || not_ok "bump --dry-run writes nothing"
run "bump edits in place" 0 bump "$tmp/kustomization.yaml" api=ghcr.io/acme/api:1.2
expect_in kustomization.yaml '    newTag: "1.2"' "bump wrote the tag, quoted as before"
expect_in kustomization.yaml '    newName: ghcr.io/acme/api' "bump added newName"
run "bump again" 0 bump "$tmp/kustomization.yaml" api=ghcr.io/acme/api:1.2
expect_in err "already up to date" "a second bump says it is up to date"
printf 'image:\n  tag: old  # set by CI\n' >"$tmp/values.yaml"
run "bump --key" 0 bump --key image.tag "$tmp/values.yaml" 2.0
expect_eq values.yaml 'image:
  tag: "2.0"  # set by CI' "bump --key quotes a tag YAML would read as a number"
run "bump without a spec is a usage error" 2 bump "$tmp/values.yaml"
run "bump with a bad spec" 1 bump "$tmp/kustomization.yaml" api=:-x
expect_in err "is not a valid tag" "a bad tag is named"

mkdir -p "$tmp/nostate"
run "jobs without a store" 1 jobs --state-dir "$tmp/nostate"
expect_in err "no job store in" "jobs says there is no store"
test ! -e "$tmp/nostate/hoist.db" && ok "jobs creates no store" || not_ok "jobs creates no store"
run "job without an ID is a usage error" 2 job --state-dir "$tmp/nostate"
run "job with a bad ID is a usage error" 2 job --state-dir "$tmp/nostate" x1
run "jobs --limit 0 is a usage error" 2 jobs --limit 0

printf 'ghp_askpassToken\n' >"$tmp/token"
out=$(HOIST_ASKPASS_TOKEN_FILE="$tmp/token" "$HOIST" "Username for 'https://github.com': ")
expect_eq_str () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_eq_str "$out" "x-access-token" "as GIT_ASKPASS, hoist answers the user name GitHub takes for tokens"
out=$(HOIST_ASKPASS_TOKEN_FILE="$tmp/token" "$HOIST" "Password for 'https://x-access-token@github.com': ")
expect_eq_str "$out" "ghp_askpassToken" "... and the password from the token file"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
