#!/bin/sh
# sbom-bench.sh — the SBOM scanner (builder/sbom_*.c) on a root file system
# of about 10,000 files holding 300 packages: a dpkg database of 200
# packages with their DEP-5 copyright files, 100 npm packages in
# node_modules (each with a few files of its own), 40 executables copied
# from /usr/bin (searched for Go build information), and plain files in
# directories of 100 to make up the count.  It is scanned by the
# directory driver, and as one layer blob by the layer driver: gzip'd
# (as registries serve layers) and uncompressed.  Target: each ≤ 0.5 s.
# Peer: syft, when installed (`syft scan dir:TREE -o spdx-json`).
# Not part of make check.
#
#   bench/sbom-bench.sh        (RUNS=5 FILES=10000 BENCH_DIR=/tmp/hoist-sbom-bench)
#
# HOIST_BUILDDIR (default ../build-bench) must hold a configured and built
# tree (make builder/libbuilder.a registry/libregistry.a common/libcommon.a):
# the driver links its libraries.  The tree and the layers are made once
# and kept; every variant runs RUNS times on a hot page cache, and the
# best time is shown.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
WORK=${BENCH_DIR:-/tmp/hoist-sbom-bench}
RUNS=${RUNS:-5}
FILES=${FILES:-10000}
DEBS=200
NPMS=100
EXES=40
TREE=$WORK/tree-$FILES

die () { echo "sbom-bench: $*" >&2; exit 1; }

for lib in builder/libbuilder.a registry/libregistry.a common/libcommon.a; do
  [ -f "$BUILD/$lib" ] || die "no '$BUILD/$lib' (hint: build it there, or set HOIST_BUILDDIR)"
done
command -v pkg-config >/dev/null || die "'pkg-config' not found"

make_tree () {
  rm -rf "$TREE"
  mkdir -p "$TREE/var/lib/dpkg" "$TREE/etc" "$TREE/usr/bin" "$TREE/app/node_modules"
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' > "$TREE/etc/os-release"
  i=0
  while [ "$i" -lt "$DEBS" ]; do
    mkdir -p "$TREE/usr/share/doc/pkg$i"
    printf 'Package: pkg%d\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 1%03d\nMaintainer: Debian <debian@example.org>\nArchitecture: amd64\nSource: src%d\nVersion: 1:%d.2.3-4+b1\nDepends: libc6 (>= 2.34)\nDescription: package %d of the benchmark\n a long description\n .\n over lines\n\n' \
      "$i" "$i" "$((i / 3))" "$i" "$i" >> "$TREE/var/lib/dpkg/status"
    printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: pkg%d\n\nFiles: *\nCopyright: 2024 Someone\nLicense: GPL-2+\n\nFiles: lib/*\nCopyright: 2024 Else\nLicense: MIT\n\nLicense: GPL-2+\n This program is free software.\n' \
      "$i" > "$TREE/usr/share/doc/pkg$i/copyright"
    i=$((i + 1))
  done
  i=0
  while [ "$i" -lt "$NPMS" ]; do
    d=$TREE/app/node_modules/mod$i
    [ $((i % 4)) -ne 0 ] || d=$TREE/app/node_modules/@scope$((i % 7))/mod$i
    mkdir -p "$d/lib" "$d/test"
    printf '{"name":"%s","version":"%d.0.%d","license":"MIT","main":"lib/index.js"}\n' \
      "$(echo "$d" | sed 's|.*/node_modules/||')" "$i" "$((i % 10))" > "$d/package.json"
    printf '{"name":"fixture","version":"0.0.0"}\n' > "$d/test/package.json"
    echo "module.exports = $i;" > "$d/lib/index.js"
    echo "# mod$i" > "$d/README.md"
    i=$((i + 1))
  done
  n=0
  for exe in /usr/bin/*; do
    [ "$n" -lt "$EXES" ] || break
    [ -f "$exe" ] && [ ! -L "$exe" ] && [ -x "$exe" ] || continue
    cp "$exe" "$TREE/usr/bin/" && n=$((n + 1))
  done
  have=$(find "$TREE" -type f | wc -l)
  i=0
  while [ "$have" -lt "$FILES" ]; do
    d=$TREE/srv/dir$((i / 100))
    [ -d "$d" ] || mkdir -p "$d"
    echo "file $i" > "$d/file$i"
    i=$((i + 1))
    have=$((have + 1))
  done
  tar -C "$TREE" -cf "$WORK/layer.tar" .
  gzip -6 -c "$WORK/layer.tar" > "$WORK/layer.tar.gz"
  touch "$TREE.done"
}

mkdir -p "$WORK"
[ -f "$TREE.done" ] || make_tree

SANDBOX_LIB=
[ -f "$BUILD/sandbox/libsandbox.a" ] && SANDBOX_LIB=$BUILD/sandbox/libsandbox.a
# shellcheck disable=SC2046,SC2086
gcc -std=gnu17 -O2 -pthread -I"$SRC" -I"$BUILD" -o "$WORK/sbom-bench" "$SRC/bench/sbom-bench.c" \
  "$BUILD/builder/libbuilder.a" "$BUILD/registry/libregistry.a" $SANDBOX_LIB "$BUILD/common/libcommon.a" \
  $(pkg-config --libs libarchive zlib libzstd libcrypto jansson libcurl) \
  $(pkg-config --libs libdeflate 2>/dev/null || true) $(pkg-config --libs libseccomp 2>/dev/null || true)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $(find "$TREE" -type f | wc -l) files, $(find "$TREE" | wc -l) entries;" \
  "layer $(du -k "$WORK/layer.tar" | cut -f1) kB, gzip'd $(du -k "$WORK/layer.tar.gz" | cut -f1) kB"
find "$TREE" -printf '' # warm the dentry and inode caches
cat "$WORK/layer.tar" "$WORK/layer.tar.gz" > /dev/null

best () { sort -n | head -n1; }
: > "$WORK/hoist"
: > "$WORK/syft"
r=0
while [ "$r" -lt "$RUNS" ]; do
  "$WORK/sbom-bench" "$TREE" "$WORK/layer.tar.gz" "$WORK/layer.tar" >> "$WORK/hoist"
  if command -v syft >/dev/null 2>&1; then
    t0=$(date +%s.%N)
    syft scan "dir:$TREE" -q -o spdx-json > /dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc >> "$WORK/syft"
  fi
  r=$((r + 1))
done

last=$(tail -n1 "$WORK/hoist")
printf '%-44s %8s s\n' "directory driver (builder_sbom_scan_dir)" "$(cut -d' ' -f1 "$WORK/hoist" | best)"
printf '%-44s %8s s\n' "layer driver, tar+gzip" "$(cut -d' ' -f3 "$WORK/hoist" | best)"
printf '%-44s %8s s\n' "layer driver, tar" "$(cut -d' ' -f4 "$WORK/hoist" | best)"
if [ -s "$WORK/syft" ]; then
  printf '%-44s %8s s\n' "syft scan dir: (peer)" "$(best < "$WORK/syft")"
else
  echo "peer: syft is not installed; no peer figure"
fi
echo "packages found: $(echo "$last" | cut -d' ' -f2); maxrss $(echo "$last" | cut -d' ' -f5) kB"
echo "target: each ≤ 0.5 s"
