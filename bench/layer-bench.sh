#!/bin/sh
# layer-bench.sh — the layer writer against its peers, in one run on one
# corpus: `tar | pigz -6`, `tar | zstd -3 -T0`, and bench/layer-bench.c
# (the layer writer, gzip and zstd) on a build context of ~230 MB in
# ~10,000 files.  Not part of make check.
#
#   bench/layer-bench.sh            (RUNS=3 BENCH_DIR=/tmp/hoist-layer-bench)
#
# The corpus: /usr/include and /usr/share/perl (many small text files),
# 800 small files cut from the Debian copyright texts, two 25 MiB files of
# /dev/urandom (already compressed data) and 35 MiB of shared libraries
# (compressible binaries).  It is made once and kept in BENCH_DIR.
#
# Each variant runs RUNS times, interleaved; the best wall time is shown
# with its CPU time (on a busy machine the best run is the fairest).
# Peak RSS is the largest of all runs (for a pipeline: its largest
# process).  gzip uses libdeflate when pkg-config finds it, as the build
# does once configure checks for it; zlib otherwise (or with CODER_WANTED=zlib).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-layer}
WORK=${BENCH_DIR:-/tmp/hoist-layer-bench}
RUNS=${RUNS:-3}
CTX=$WORK/ctx

die () { echo "layer-bench: $*" >&2; exit 1; }

for tool in pigz zstd tar gcc pkg-config; do
  command -v "$tool" >/dev/null || die "'$tool' not found (hint: apt-get install $tool)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' not found (hint: apt-get install time)"
[ -f "$BUILD/config.h" ] || die "no config.h in '$BUILD' (hint: configure a build there, or set HOIST_BUILDDIR)"

. "$(dirname "$0")/corpus.sh"
make_corpus () {
  bench_make_corpus "$CTX" "$WORK"
  touch "$WORK/corpus-done"
}

mkdir -p "$WORK"
[ -f "$WORK/corpus-done" ] || make_corpus

# The driver, built from the sources as the library is.
DEFLATE_CFLAGS= DEFLATE_LIBS= CODER=zlib
if [ "${CODER_WANTED:-}" != zlib ] && pkg-config --exists libdeflate; then
  DEFLATE_CFLAGS="-DHAVE_LIBDEFLATE $(pkg-config --cflags libdeflate)"
  DEFLATE_LIBS=$(pkg-config --libs libdeflate)
  CODER=libdeflate
fi
# shellcheck disable=SC2046,SC2086
gcc -std=gnu17 -O2 -pthread -I"$SRC" -I"$BUILD" -DHAVE_CONFIG_H $DEFLATE_CFLAGS \
  $(pkg-config --cflags libarchive zlib libzstd libcrypto) \
  -o "$WORK/layer-bench" "$SRC"/common/*.c "$SRC/builder/layer.c" "$SRC/builder/compress.c" \
  "$SRC/bench/layer-bench.c" $(pkg-config --libs libarchive zlib libzstd libcrypto) $DEFLATE_LIBS

files=$(find "$CTX" -type f | wc -l)
bytes=$(du -sb "$CTX" | cut -f1)
# Warm the page cache (GNU tar skips reading when it writes to /dev/null).
(cd "$CTX" && tar --sort=name -cf - .) | cat > /dev/null
tarbytes=$( (cd "$CTX" && tar --sort=name -cf - .) | wc -c)

VARIANTS="pigz zstd hoist-gzip hoist-zstd"
run_variant () {
  out=$WORK/out.$1
  case $1 in
    pigz) set -- sh -c "cd '$CTX' && tar --sort=name -cf - . | pigz -6 > '$out'" ;;
    zstd) set -- sh -c "cd '$CTX' && tar --sort=name -cf - . | zstd -q -3 -T0 > '$out'" ;;
    hoist-gzip) set -- "$WORK/layer-bench" "$CTX" "$out" gzip ;;
    hoist-zstd) set -- "$WORK/layer-bench" "$CTX" "$out" zstd ;;
  esac
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" > "$WORK/digests"
  cat "$WORK/time"
}

for v in $VARIANTS; do : > "$WORK/times.$v"; done
i=0
while [ "$i" -lt "$RUNS" ]; do
  for v in $VARIANTS; do
    run_variant "$v" >> "$WORK/times.$v"
    case $v in hoist-*) cat "$WORK/digests" >> "$WORK/digests.$v.$i" ;; esac
  done
  i=$((i + 1))
done

# Every run wrote the same blob, and it holds the same tar the digests say.
for v in hoist-gzip hoist-zstd; do
  sort -u "$WORK"/digests."$v".* | wc -l | grep -qx 1 || die "$v: runs wrote different blobs"
  rm -f "$WORK"/digests."$v".*
done
gzip -t "$WORK/out.hoist-gzip"
zstd -q -t "$WORK/out.hoist-zstd"
diff_id=sha256:$(gzip -dc "$WORK/out.hoist-gzip" | sha256sum | cut -d' ' -f1)
[ "$diff_id" = "sha256:$(zstd -q -dc "$WORK/out.hoist-zstd" | sha256sum | cut -d' ' -f1)" ] \
  || die "the gzip and zstd blobs hold different tars"

echo "corpus: $files files, $((bytes / 1000000)) MB in $CTX (tar: $((tarbytes / 1000000)) MB);" \
  "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); hoist gzip coder: $CODER"
printf '%-22s %8s %8s %8s %10s\n' variant "wall s" "cpu s" ratio "peak MB"
best () { sort -n "$WORK/times.$1" | head -n 1; }
peak () { sort -n -k4 "$WORK/times.$1" | tail -n 1 | cut -d' ' -f4; }
for v in $VARIANTS; do
  set -- $(best "$v")
  size=$(stat -c %s "$WORK/out.$v")
  awk -v v="$v" -v w="$1" -v u="$2" -v s="$3" -v m="$(peak "$v")" -v z="$size" -v t="$tarbytes" \
    'BEGIN { printf "%-22s %8.2f %8.2f %8.4f %10.1f\n", v, w, u + s, z / t, m / 1024 }'
done
wall () { best "$1" | cut -d' ' -f1; }
awk -v a="$(wall hoist-gzip)" -v b="$(wall pigz)" -v c="$(wall hoist-zstd)" -v d="$(wall zstd)" \
  'BEGIN { printf "hoist gzip / pigz: %.2fx (target <= 1.0)   hoist zstd / zstd -T0: %.2fx (target <= 1.5)\n", a / b, c / d }'
