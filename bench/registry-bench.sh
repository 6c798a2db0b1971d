#!/bin/bash
# registry-bench.sh — hoist's registry client against issue 4's targets, in
# one run, beside its peers, on a loopback registry (Debian's
# docker-registry, anonymous, started by tests/registry/lib.sh): push and
# pull of the build benchmark's image (~230 MB in one layer) against
# `skopeo copy`, and `hoist build --push` against `buildah bud` +
# `buildah push`.  Not part of make check.  Run as root (buildah).
#
#   bench/registry-bench.sh   (RUNS=3 BENCH_DIR=/tmp/hoist-build-bench
#                              HOIST_BUILDDIR=../build-bench BUILDAH=1)
#
# The context is build-bench.sh's (made by bench/corpus.sh when missing).
# Each run starts a registry of its own (a new port): skopeo and buildah
# remember where blobs were pushed (containers/image's blob-info cache)
# and would mount them from an earlier run's repository instead of
# sending them.  Every push goes to a repository of its own, every pull to
# an empty store or directory.  Times are medians of RUNS runs, hoist and
# its peer interleaved.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
HOIST=$BUILD/hoist
WORK=${BENCH_DIR:-/tmp/hoist-build-bench}
RUNS=${RUNS:-3}
BUILDAH=${BUILDAH:-1}
CTX=$WORK/ctx
R=$WORK/registry-bench

die () { echo "registry-bench: $*" >&2; exit 1; }
note () { echo "registry-bench: $*" >&2; }

for tool in skopeo docker-registry python3 curl; do
  command -v "$tool" >/dev/null || die "'$tool' not found (hint: apt-get install $tool)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' not found (hint: apt-get install time)"
[ -x "$HOIST" ] || die "no hoist in '$BUILD' (hint: configure and 'make hoist' there, or set HOIST_BUILDDIR)"
if [ "$BUILDAH" = 1 ] && ! command -v buildah >/dev/null; then
  note "buildah not found: skipping the buildah comparison"; BUILDAH=0
fi

. "$SRC/bench/corpus.sh"
if [ ! -f "$WORK/corpus-done" ]; then
  mkdir -p "$WORK"
  rm -rf "$CTX"
  bench_make_corpus "$CTX" "$WORK"
  printf 'FROM scratch\nCOPY . /app\n' > "$CTX/Dockerfile"
  touch "$WORK/corpus-done"
fi

rm -rf "$R"
mkdir -p "$R/t"
T=$R/t
export HOIST_HOME=$R/home
export REGISTRY_WAIT=30
HOIST_SRCDIR=$SRC
# shellcheck source=tests/registry/lib.sh
. "$SRC/tests/registry/lib.sh"

timed () {
  local n=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$T/last" "$@" > "$T/stdout" 2> "$T/stderr" || {
    cat "$T/stderr" >&2; die "$n failed: $*"; }
  cat "$T/last" >> "$T/$n"
}
median () { sort -n "$T/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
peak_mb () { sort -n -k4 "$T/$1" | tail -n 1 | awk '{ printf "%.1f", $4 / 1024 }'; }
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# The image, once: into the store (for hoist push) and an OCI layout (for skopeo).
"$HOIST" build -q -t bench:1 "$CTX" > /dev/null
"$HOIST" build -q -t bench:1 -o "type=oci,dest=$R/layout" "$CTX" > /dev/null
size=$(python3 -c 'import json,sys,os
d=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"].split(":")[1]
m=json.load(open(sys.argv[1]+"/blobs/sha256/"+d))
print(sum(l["size"] for l in m["layers"]))' "$R/layout")

for i in $(seq "$RUNS"); do
  registry_start anon
  REG=$REGISTRY_ADDR
  timed push.hoist "$HOIST" push -q bench:1 "$REG/hoist$i/app:1"
  timed push.skopeo skopeo copy --quiet --dest-tls-verify=false "oci:$R/layout:bench:1" "docker://$REG/skopeo$i/app:1"
  timed repush.hoist "$HOIST" push bench:1 "$REG/hoist$i/app:1"
  grep -q ': pushed in' "$T/stderr" && die "the second push sent a blob again"
  rm -rf "$R/pull-hoist" "$R/pull-skopeo"
  timed pull.hoist env HOIST_HOME="$R/pull-hoist" "$HOIST" pull -q "$REG/hoist$i/app:1"
  timed pull.skopeo skopeo copy --quiet --src-tls-verify=false "docker://$REG/hoist$i/app:1" "oci:$R/pull-skopeo:x"
  registry_stop
done

if [ "$BUILDAH" = 1 ]; then
  for i in $(seq "$RUNS"); do
    registry_start anon
    REG=$REGISTRY_ADDR
    rm -rf "$R/bh"
    timed e2e.hoist env HOIST_HOME="$R/e2e-home$i" "$HOIST" build -q --no-cache -t "$REG/e2e-hoist$i/app:1" --push "$CTX"
    timed e2e.buildah sh -c "buildah --root '$R/bh/root' --runroot '$R/bh/run' --storage-driver vfs bud --isolation chroot -q -t bench-e2e '$CTX' >/dev/null &&
      buildah --root '$R/bh/root' --runroot '$R/bh/run' --storage-driver vfs push --tls-verify=false bench-e2e docker://$REG/e2e-buildah$i/app:1"
    registry_stop
  done
  rm -rf "$R/bh"
fi

row () { printf '%-36s %10s %10s %8s %-22s %s\n' "$@"; }
met () { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0) ? "met" : "MISSED" }'; }
echo
echo "hoist registry bench: $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), $HOIST"
echo "image: $(du -sh "$CTX" | cut -f1) context, one layer of $((size / 1000000)) MB (gzip); registry: docker-registry on 127.0.0.1, a new one each run"
echo "$(nproc) CPUs; times: median of $RUNS runs, wall seconds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
row metric hoist peer ratio target result
row ---------------------------------- ---------- ---------- -------- ---------------------- -------
p=$(ratio "$(median push.hoist)" "$(median push.skopeo)")
row "first push (s) vs skopeo copy" "$(median push.hoist)" "$(median push.skopeo)" "$p" "ratio <= 1.0" "$(met "$p" 1.0)"
rp=$(median repush.hoist)
row "second push, nothing sent (s)" "$rp" - - "<= 0.3 s" "$(met "$rp" 0.3)"
p=$(ratio "$(median pull.hoist)" "$(median pull.skopeo)")
row "pull (s) vs skopeo copy" "$(median pull.hoist)" "$(median pull.skopeo)" "$p" "ratio <= 1.0" "$(met "$p" 1.0)"
if [ "$BUILDAH" = 1 ]; then
  p=$(ratio "$(median e2e.hoist)" "$(median e2e.buildah)")
  row "build --push (s) vs buildah bud+push" "$(median e2e.hoist)" "$(median e2e.buildah)" "$p" "ratio <= 0.5" "$(met "$p" 0.5)"
fi
row "peak RSS push / pull (MB)" "$(peak_mb push.hoist) / $(peak_mb pull.hoist)" "$(peak_mb push.skopeo) / $(peak_mb pull.skopeo)" - "(info)" ""
echo
echo "all runs (wall user sys maxrss_kB) are in $T"
