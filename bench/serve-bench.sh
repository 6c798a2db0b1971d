#!/bin/bash
# serve-bench.sh — issue 7's targets for `hoist serve`, in one run, on
# loopback, with the peers and floors beside them:
#   1. idle RSS of hoist serve (target <= 16 MB);
#   2. webhook intake: signed push deliveries with unique ids by wrk (Lua),
#      each stored durably (SQLite WAL, synchronous=FULL) before its 202
#      (target >= 1,000/s, p99 <= 20 ms); beside it the disk's floor, the
#      rate of single 4 KiB fsync'd writes (dd oflag=dsync), since one
#      fsync per delivery could not go faster;
#   3. from webhook received to bump commit pushed, a small image on
#      loopback (git daemon, docker-registry) (target <= 2 s); beside it
#      the chain hoist replaces, run here by hand: buildah bud + buildah
#      push, then git clone, sed, git commit, git push.
# Not part of make check.  Run as root (buildah); needs wrk, buildah,
# docker-registry, git, skopeo, python3, curl.
#
#   bench/serve-bench.sh   (HOIST_BUILDDIR=../build-bench RUNS=3 DURATION=10
#                           CONNECTIONS=32 BUILDAH=1)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
HOIST=$BUILD/hoist
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
BUILDAH=${BUILDAH:-1}

die () { echo "serve-bench: $*" >&2; [ -z "${tmp:-}" ] || tail -20 "$tmp/serve.log" >&2 2>/dev/null; exit 1; }
note () { echo "serve-bench: $*" >&2; }
for tool in wrk git skopeo docker-registry python3 curl; do
  command -v "$tool" >/dev/null || die "'$tool' not found (hint: apt-get install $tool)"
done
[ -x "$HOIST" ] || die "no hoist in '$BUILD' (hint: configure and 'make hoist' there, or set HOIST_BUILDDIR)"
if [ "$BUILDAH" = 1 ] && ! command -v buildah >/dev/null; then note "no buildah: skipping the chain"; BUILDAH=0; fi

tmp=$(mktemp -d /tmp/hoist-serve-bench.XXXXXX)
serve_pid=
git_pid=
cleanup () {
  for p in $serve_pid $git_pid $(cat "$tmp/gitd.pid" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  registry_stop 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
REGISTRY_NO_TRAP=1
. "$SRC/tests/registry/lib.sh"
trap cleanup EXIT
export HOIST_HOME=$tmp/home
free_port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median () { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now () { date +%s.%N; }
uptime | sed 's/^/serve-bench: load:/' >&2

registry_start anon >/dev/null || die "cannot start docker-registry"
R=$REGISTRY_ADDR

# --- a repository on git daemon -------------------------------------------------
mkdir -p "$tmp/srv"
git init -q --bare -b main "$tmp/srv/app.git"
gport=$(free_port)
git daemon --reuseaddr --pid-file="$tmp/gitd.pid" --base-path="$tmp/srv" --export-all --enable=receive-pack --listen=127.0.0.1 \
  --port="$gport" "$tmp/srv" 2>/dev/null &
git_pid=$!
url=git://127.0.0.1:$gport/app.git
for _ in $(seq 50); do git ls-remote "$url" >/dev/null 2>&1 && break; sleep 0.1; done
dev=$tmp/dev
git init -q -b main "$dev"
git -C "$dev" config user.name Dev
git -C "$dev" config user.email dev@example.test
git -C "$dev" remote add origin "$url"
mkdir -p "$dev/app" "$dev/deploy"
printf 'FROM scratch\nCOPY . /srv/\n' >"$dev/app/Dockerfile"
head -c 65536 /dev/urandom | base64 >"$dev/app/data.txt"
echo 1 >"$dev/app/version"
printf 'images:\n  - name: app\n    newName: %s/bench/app\n    newTag: initial\n' "$R" >"$dev/deploy/kustomization.yaml"
git -C "$dev" add -A && git -C "$dev" commit -q -m first && git -C "$dev" push -q origin main 2>/dev/null

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
hport=$(free_port)
cat >"$tmp/hoist.yml" <<EOF
listen: 127.0.0.1:$hport
state_dir: $tmp/state
webhook_secret_file: $tmp/secret
status_api: ""
concurrency: 1
repositories:
  - name: bench/app
    url: $url
    images:
      - name: $R/bench/app
        context: app
        deploy:
          - kustomization: deploy/kustomization.yaml
            image: app
  - name: bench/intake
    url: file:///nonexistent/intake.git
    images:
      - name: $R/bench/intake
EOF
HOIST_LOG_LEVEL=warn "$HOIST" serve --config "$tmp/hoist.yml" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$hport/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$hport/health" >/dev/null || die "hoist serve did not start: $(tail -5 "$tmp/serve.log")"

# --- 1. idle RSS -----------------------------------------------------------------
sleep 2
idle_rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$serve_pid/status")

# --- 2. intake ---------------------------------------------------------------------
python3 - "$tmp/body.json" <<'PYX'
import json, sys
A, B = "1" * 40, "2" * 40
json.dump({"ref": "refs/heads/main", "before": A, "after": B, "created": False, "deleted": False, "forced": False,
           "repository": {"full_name": "bench/intake", "clone_url": "file:///nonexistent/intake.git"},
           "head_commit": {"message": "change"},
           "commits": [{"committer": {"email": "dev@example.test"}, "added": [], "modified": ["app/x"], "removed": []}]},
          open(sys.argv[1], "w"))
PYX
sig=sha256=$(openssl dgst -sha256 -hmac "$(cat "$tmp/secret")" -r "$tmp/body.json" | cut -d' ' -f1)
rate_runs=() p99_runs=()
for run in $(seq "$RUNS"); do
  BENCH_BODY=$tmp/body.json BENCH_SIG=$sig BENCH_RUN=$run wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" \
    -s "$SRC/bench/webhook.lua" "http://127.0.0.1:$hport/webhook" >"$tmp/wrk.$run" 2>&1
  line=$(grep '^BENCH ' "$tmp/wrk.$run") || die "wrk said: $(tail -5 "$tmp/wrk.$run")"
  eval "$(echo "$line" | sed 's/^BENCH //')"
  [ "$not202" = 0 ] || die "run $run: $not202 answers were not 202"
  rate_runs+=("$(echo "$requests $seconds" | awk '{ printf "%.0f", $1 / $2 }')")
  p99_runs+=("$p99_ms")
  stored=$(curl -sf "http://127.0.0.1:$hport/metrics" | awk '/result="accepted"/ { print $2 }')
  note "run $run: $requests deliveries in ${seconds}s, p99 ${p99_ms} ms; accepted so far: $stored"
done
rate=$(printf '%s\n' "${rate_runs[@]}" | median)
p99=$(printf '%s\n' "${p99_runs[@]}" | median)
total=$(for r in $(seq "$RUNS"); do sed -n 's/^BENCH requests=\([0-9]*\).*/\1/p' "$tmp/wrk.$r"; done | awk '{ s += $1 } END { print s }')
accepted=$(curl -sf "http://127.0.0.1:$hport/metrics" | awk '/result="accepted"/ { print $2 }')
# wrk counts the requests answered within the time; those still in flight
# at its end were answered too, so hoist accepted at least as many.
[ "$accepted" -ge "$total" ] || die "wrk had $total deliveries answered 202, hoist counted $accepted"
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from deliveries where id like 'bench-%'\").fetchone()[0])" "$tmp/state/hoist.db")
[ "$rows" = "$accepted" ] || die "$accepted deliveries answered 202, $rows in the store"
dd if=/dev/zero of="$tmp/state/fsync-probe" bs=4k count=500 oflag=dsync 2>"$tmp/dd.err"
fsyncs=$(sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p' "$tmp/dd.err" | awk '{ printf "%.0f", 500 / $1 }')
rm -f "$tmp/state/fsync-probe"

# --- 3. webhook to bump -----------------------------------------------------------
bump_runs=()
for run in $(seq "$RUNS"); do
  echo "run $run $(date +%s%N)" >"$dev/app/version"
  git -C "$dev" commit -q -am "app: $run"
  before=$(git -C "$dev" rev-parse HEAD~1)
  git -C "$dev" pull -q --rebase origin main 2>/dev/null || true
  before=$(git -C "$dev" rev-parse origin/main)
  git -C "$dev" push -q origin main 2>/dev/null
  after=$(git -C "$dev" rev-parse HEAD)
  # The payload is made and signed first: the clock starts as GitHub would
  # send it.
  "$SRC/tests/integration/webhook.py" "http://127.0.0.1:$hport/webhook" "$tmp/secret" body "$dev" bench/app \
    refs/heads/main "$before" "$after" >"$tmp/push.$run.json"
  psig=sha256=$(openssl dgst -sha256 -hmac "$(cat "$tmp/secret")" -r "$tmp/push.$run.json" | cut -d' ' -f1)
  t0=$(now)
  curl -s -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: bump-$run-$$" \
    -H "X-Hub-Signature-256: $psig" --data-binary @"$tmp/push.$run.json" "http://127.0.0.1:$hport/webhook" >"$tmp/hook.$run"
  for _ in $(seq 3000); do
    [ "$(git ls-remote "$url" refs/heads/main | cut -f1)" != "$after" ] && break
    sleep 0.01
  done
  t1=$(now)
  [ "$(git ls-remote "$url" refs/heads/main | cut -f1)" != "$after" ] || die "no bump after run $run: $(cat "$tmp/hook.$run")"
  bump_runs+=("$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')")
  git -C "$dev" pull -q --rebase origin main 2>/dev/null
done
bump=$(printf '%s\n' "${bump_runs[@]}" | median)
last_job=$(curl -sf "http://127.0.0.1:$hport/jobs?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
curl -sf "http://127.0.0.1:$hport/jobs/$last_job/log" | grep ' hoist: ' >&2 || true
serve_rss=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$serve_pid/status")

chain=n/a
if [ "$BUILDAH" = 1 ]; then
  chain_runs=()
  for run in $(seq "$RUNS"); do
    root=$tmp/buildah.$run
    t0=$(now)
    (
      set -e
      git clone -q "$url" "$tmp/chain.$run"
      cd "$tmp/chain.$run"
      sha=$(git rev-parse HEAD)
      buildah --root "$root/root" --runroot "$root/run" --storage-driver vfs bud -q --isolation chroot \
        -t "$R/bench/chain:$sha" app >/dev/null
      buildah --root "$root/root" --runroot "$root/run" --storage-driver vfs push -q --tls-verify=false \
        "$R/bench/chain:$sha" >/dev/null
      sed -i "s|    newTag: .*|    newTag: chain-$sha|" deploy/kustomization.yaml
      git -c user.name=ci -c user.email=ci@example.test commit -q -am "chore: bump [skip ci]"
      git push -q origin HEAD:main 2>/dev/null
    ) || die "the buildah chain failed"
    t1=$(now)
    chain_runs+=("$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')")
    rm -rf "$root" "$tmp/chain.$run"
    git -C "$dev" pull -q --rebase origin main 2>/dev/null
  done
  chain=$(printf '%s\n' "${chain_runs[@]}" | median)
fi

printf '\n| metric | hoist serve | peer / floor, same run | ratio | target |\n|---|---|---|---|---|\n'
printf '| idle RSS | %s MB | | | <= 16 MB |\n' "$idle_rss"
printf '| webhook intake, %d connections, %d x %ds | %s deliveries/s, p99 %s ms, all %s stored before 202 | one fsync per write: %s/s | %sx | >= 1,000/s, p99 <= 20 ms |\n' \
  "$CONNECTIONS" "$RUNS" "$DURATION" "$rate" "$p99" "$accepted" "$fsyncs" "$(echo "$rate $fsyncs" | awk '{ printf "%.1f", $1 / $2 }')"
printf '| webhook -> bump commit pushed (small image) | %s s | buildah bud + push + git clone/sed/commit/push: %s s | %s | <= 2 s |\n' \
  "$bump" "$chain" "$( [ "$chain" = n/a ] && echo n/a || echo "$chain $bump" | awk '{ printf "%.1fx", $1 / $2 }')"
printf '| peak RSS of hoist serve over the run | %s MB | | | |\n' "$serve_rss"
