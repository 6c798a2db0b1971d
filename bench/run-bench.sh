#!/bin/bash
# run-bench.sh — issue 5's RUN target: a Dockerfile of 5 RUN steps on a
# ~230 MB base (busybox-static plus build-bench.sh's corpus), built by
# hoist and by `buildah bud --storage-driver vfs --isolation chroot` in the
# same run, each cold (fresh HOIST_HOME / fresh buildah root), plus hoist's
# peak RSS.  Not part of make check.  Run as root.
#
#   bench/run-bench.sh   (RUNS=3 BENCH_DIR=/tmp/hoist-build-bench HOIST_BUILDDIR=../build-bench)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
HOIST=$BUILD/hoist
WORK=${BENCH_DIR:-/tmp/hoist-build-bench}
RUNS=${RUNS:-3}
CTX=$WORK/ctx
R=$WORK/run-bench

die () { echo "run-bench: $*" >&2; exit 1; }
for tool in buildah; do command -v "$tool" >/dev/null || die "'$tool' not found (hint: apt-get install $tool)"; done
[ -x /usr/bin/time ] || die "'/usr/bin/time' not found (hint: apt-get install time)"
[ -x /bin/busybox ] || die "/bin/busybox not found (hint: apt-get install busybox-static)"
[ -x "$HOIST" ] || die "no hoist in '$BUILD' (hint: configure and 'make hoist' there, or set HOIST_BUILDDIR)"

. "$SRC/bench/corpus.sh"
if [ ! -f "$WORK/corpus-done" ]; then
  mkdir -p "$WORK"; rm -rf "$CTX"; bench_make_corpus "$CTX" "$WORK"
  printf 'FROM scratch\nCOPY . /app\n' > "$CTX/Dockerfile"; touch "$WORK/corpus-done"
fi

rm -rf "$R"; mkdir -p "$R/t" "$R/base/bin" "$R/base/etc"
T=$R/t
cp /bin/busybox "$R/base/bin/"
for t in sh echo cp mkdir rm chmod touch cat ls; do ln -s busybox "$R/base/bin/$t"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/base/etc/passwd"
cp -a "$CTX" "$R/base/app"
rm -f "$R/base/app/Dockerfile"
printf 'FROM scratch\nCOPY . /\nENV PATH=/bin\n' > "$R/base/Dockerfile"
HOIST_HOME=$R/basehome "$HOIST" build -q -t base -o "type=oci,dest=$R/layout" "$R/base" > /dev/null

mkdir -p "$R/ctx"
cat > "$R/ctx/Dockerfile" <<'EOF'
FROM base
RUN echo one > /one && mkdir -p /work && cp /bin/busybox /work/bb
RUN chmod 0700 /work && touch /app/touched
RUN rm -f /app/small/faaa /app/small/faab && echo two >> /one
RUN mkdir -p /out && cat /one > /out/result && ls /app | cat > /out/list
RUN rm /work/bb && echo done > /out/done
EOF

timed () {
  local n=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$T/last" "$@" > "$T/stdout" 2> "$T/stderr" || {
    tail -20 "$T/stderr" >&2; die "$n failed"; }
  cat "$T/last" >> "$T/$n"
}
median () { sort -n "$T/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
peak_mb () { sort -n -k4 "$T/$1" | tail -n 1 | awk '{ printf "%.1f", $4 / 1024 }'; }

for i in $(seq "$RUNS"); do
  rm -rf "$R/home" "$R/bh"
  timed hoist env HOIST_HOME="$R/home" "$HOIST" build -q --no-cache \
    --build-context "base=oci-layout://$R/layout:base:latest" -t run -o "type=oci,dest=$R/out-hoist" "$R/ctx"
  sed 's|^FROM base|FROM oci:'"$R"'/layout:base:latest|' "$R/ctx/Dockerfile" > "$R/ctx/Dockerfile.buildah"
  timed buildah buildah --root "$R/bh/root" --runroot "$R/bh/run" --storage-driver vfs bud --isolation chroot \
    -q -f "$R/ctx/Dockerfile.buildah" -t run "$R/ctx"
done
rm -rf "$R/bh"

# ROOTLESS_USER=NAME (a user with a subordinate id range): hoist again, run
# by that user, so the row shows what the user namespace of a rootless
# build costs.
if [ -n "${ROOTLESS_USER:-}" ]; then
  cp "$HOIST" "$R/hoist-rootless"
  chmod -R a+rX "$R"
  for i in $(seq "$RUNS"); do
    rm -rf "$R/rl"; mkdir -p "$R/rl"; chown "$ROOTLESS_USER" "$R/rl"
    timed rootless runuser -u "$ROOTLESS_USER" -- env HOIST_HOME="$R/rl/home" "$R/hoist-rootless" build -q --no-cache \
      --build-context "base=oci-layout://$R/layout:base:latest" -t run -o "type=oci,dest=$R/rl/out" "$R/ctx"
  done
  rm -rf "$R/rl"
fi

h=$(median hoist); b=$(median buildah)
echo
echo "hoist RUN bench: $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), $HOIST"
echo "base: busybox + $(du -sh "$R/base/app" | cut -f1) in $(find "$R/base" | wc -l) entries; 5 RUN steps; $(nproc) CPUs; median of $RUNS; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %8s %8s %8s %s\n' metric hoist buildah speedup target
printf '%-40s %8s %8s %8s %s\n' "cold build, 5 RUN steps (s)" "$h" "$b" "$(awk -v a="$h" -v b="$b" 'BEGIN { printf "%.1fx", b / a }')" ">= 3x"
printf '%-40s %8s %8s %8s %s\n' "peak RSS (MB)" "$(peak_mb hoist)" "$(peak_mb buildah)" - "<= 64 MB"
if [ -n "${ROOTLESS_USER:-}" ]; then
  r=$(median rootless)
  printf '%-40s %8s %8s %8s %s\n' "cold build, rootless as $ROOTLESS_USER (s)" "$r" "$b" \
    "$(awk -v a="$r" -v b="$b" 'BEGIN { printf "%.1fx", b / a }')" ">= 3x"
  printf '%-40s %8s %8s %8s %s\n' "peak RSS, rootless (MB)" "$(peak_mb rootless)" "$(peak_mb buildah)" - "<= 64 MB"
fi
echo "all runs (wall user sys maxrss_kB) are in $T"
