#!/bin/sh
# snapshot-bench.sh — the RUN diff (builder/snapshot.c) on a 10,000-file
# tree: builder_snapshot_take, a step that appends to a few files, and
# builder_snapshot_diff writing the layer (uncompressed, so that only the
# walk and the tar are measured).  Target: each ≤ 0.3 s, peak RSS small.
# For scale, the same tree walked by `find -printf` with every stat field
# the snapshot records, and `find -newer` finding the changed files.
# Not part of make check.
#
#   bench/snapshot-bench.sh        (RUNS=5 FILES=10000 TOUCH=5 BENCH_DIR=/tmp/hoist-snapshot-bench)
#
# HOIST_BUILDDIR (default ../build-bench) must hold a configured and built
# tree (make builder/libbuilder.a registry/libregistry.a common/libcommon.a):
# the driver links its libraries.  The tree is FILES small files (one in
# ten executable) in directories of 100, made once and kept.  Every variant runs RUNS times,
# interleaved, on a hot page cache; the best time is shown.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
WORK=${BENCH_DIR:-/tmp/hoist-snapshot-bench}
RUNS=${RUNS:-5}
FILES=${FILES:-10000}
TOUCH=${TOUCH:-5}
TREE=$WORK/tree2-$FILES

die () { echo "snapshot-bench: $*" >&2; exit 1; }

for lib in builder/libbuilder.a registry/libregistry.a common/libcommon.a; do
  [ -f "$BUILD/$lib" ] || die "no '$BUILD/$lib' (hint: build it there, or set HOIST_BUILDDIR)"
done
command -v pkg-config >/dev/null || die "'pkg-config' not found"

mkdir -p "$WORK"
if [ ! -f "$TREE.done" ]; then
  rm -rf "$TREE"
  mkdir -p "$TREE"
  i=0
  while [ "$i" -lt "$FILES" ]; do
    d=$TREE/dir$((i / 100))
    [ -d "$d" ] || mkdir "$d"
    echo "file $i" > "$d/file$i"
    # One in ten executable, as in a root file system: their capabilities are read.
    [ $((i % 10)) -ne 0 ] || chmod 755 "$d/file$i"
    i=$((i + 1))
  done
  touch "$TREE.done"
fi

SANDBOX_LIB=
[ -f "$BUILD/sandbox/libsandbox.a" ] && SANDBOX_LIB=$BUILD/sandbox/libsandbox.a
# shellcheck disable=SC2046,SC2086
gcc -std=gnu17 -O2 -pthread -I"$SRC" -I"$BUILD" -o "$WORK/snapshot-bench" "$SRC/bench/snapshot-bench.c" \
  "$BUILD/builder/libbuilder.a" "$BUILD/registry/libregistry.a" $SANDBOX_LIB "$BUILD/common/libcommon.a" \
  $(pkg-config --libs libarchive zlib libzstd libcrypto jansson libcurl) \
  $(pkg-config --libs libdeflate 2>/dev/null || true) $(pkg-config --libs libseccomp 2>/dev/null || true)

# The files the step changes: spread over the tree.
touched=
i=0
while [ "$i" -lt "$TOUCH" ]; do
  n=$(( (i * 7919 + 17) % FILES ))
  touched="$touched dir$((n / 100))/file$n"
  i=$((i + 1))
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $(find "$TREE" | wc -l) entries; the step appends to $TOUCH files"
find "$TREE" -printf '' # warm the dentry and inode caches

best () { sort -n | head -n1; }
: > "$WORK/hoist" ; : > "$WORK/find-stat" ; : > "$WORK/find-newer"
r=0
while [ "$r" -lt "$RUNS" ]; do
  # shellcheck disable=SC2086
  "$WORK/snapshot-bench" "$TREE" "$WORK/layer.tar" $touched >> "$WORK/hoist"
  t0=$(date +%s.%N)
  find "$TREE" -printf '%p %m %U %G %s %T@ %C@ %i %n %l\n' > "$WORK/find.out"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc >> "$WORK/find-stat"
  touch "$WORK/stamp"
  sleep 0.01
  # shellcheck disable=SC2086
  (cd "$TREE" && for f in $touched; do printf + >> "$f"; done)
  t0=$(date +%s.%N)
  find "$TREE" -newer "$WORK/stamp" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc >> "$WORK/find-newer"
  r=$((r + 1))
done

take=$(cut -d' ' -f1 "$WORK/hoist" | best)
diff=$(cut -d' ' -f2 "$WORK/hoist" | best)
last=$(tail -n1 "$WORK/hoist")
printf '%-36s %8s s\n' "builder_snapshot_take" "$take"
printf '%-36s %8s s\n' "builder_snapshot_diff (+ layer)" "$diff"
printf '%-36s %8s s\n' "find -printf (all stat fields)" "$(best < "$WORK/find-stat")"
printf '%-36s %8s s\n' "find -newer" "$(best < "$WORK/find-newer")"
echo "last run: entries=$(echo "$last" | cut -d' ' -f3) changed=$(echo "$last" | cut -d' ' -f5)" \
  "layer=$(echo "$last" | cut -d' ' -f7) B maxrss=$(echo "$last" | cut -d' ' -f8) kB"
echo "target: take and diff ≤ 0.3 s each"
