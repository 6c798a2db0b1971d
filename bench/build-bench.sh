#!/bin/sh
# build-bench.sh — `hoist build` against issue 3's performance targets, in one
# run on one context, beside its peers: `tar | pigz -6`, `tar | zstd -3 -T0`
# and `buildah bud` (vfs, chroot).  Not part of make check.  Run as root
# (buildah needs it); it takes a few minutes.
#
#   bench/build-bench.sh     (RUNS=3 BENCH_DIR=/tmp/hoist-build-bench
#                             HOIST_BUILDDIR=../build-bench BIG=1 BUILDAH=1)
#
# The context is bench/layer-bench.sh's corpus (~230 MB in ~10,000 files:
# /usr/include, /usr/share/perl, 800 small text files, two 25 MiB files of
# /dev/urandom, 35 MiB of shared libraries), copied from that script's
# BENCH_DIR when it is there, made with the same recipe otherwise, plus a
# Dockerfile `FROM scratch` / `COPY . /app`.  The 4x context (for peak RSS)
# is four copies of it.  Both are kept in BENCH_DIR and reused.
#
# Times are the median of RUNS runs, variants interleaved; the page cache is
# warmed once by reading the whole context before the timed runs (the page
# cache cannot be dropped reliably here), so every run reads from memory.
# Every cold hoist build gets a fresh HOIST_HOME, so neither the step cache
# nor the context's digest cache helps it.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOIST_BUILDDIR:-$SRC/../build-bench}
HOIST=$BUILD/hoist
WORK=${BENCH_DIR:-/tmp/hoist-build-bench}
LAYER_WORK=${LAYER_BENCH_DIR:-/tmp/hoist-layer-bench}
RUNS=${RUNS:-3}
BIG=${BIG:-1}
BUILDAH=${BUILDAH:-1}
CTX=$WORK/ctx
BIGCTX=$WORK/ctx4

die () { echo "build-bench: $*" >&2; exit 1; }
note () { echo "build-bench: $*" >&2; }

for tool in pigz zstd tar awk; do
  command -v "$tool" >/dev/null || die "'$tool' not found (hint: apt-get install $tool)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' not found (hint: apt-get install time)"
[ -x "$HOIST" ] || die "no hoist in '$BUILD' (hint: configure and 'make hoist' there, or set HOIST_BUILDDIR)"
if [ "$BUILDAH" = 1 ] && ! command -v buildah >/dev/null; then
  note "buildah not found: skipping the buildah comparison"; BUILDAH=0
fi

# --- the context --------------------------------------------------------
. "$(dirname "$0")/corpus.sh"
make_corpus () {
  rm -rf "$CTX"
  if [ -f "$LAYER_WORK/corpus-done" ]; then
    cp -a "$LAYER_WORK/ctx" "$CTX"
  else
    bench_make_corpus "$CTX" "$WORK"
  fi
  printf 'FROM scratch\nCOPY . /app\n' > "$CTX/Dockerfile"
  touch "$WORK/corpus-done"
}
mkdir -p "$WORK"
[ -f "$WORK/corpus-done" ] || make_corpus
SMALL=$(find "$CTX/small" -type f -name 'f*' | sort | head -n 1)
[ -n "$SMALL" ] || die "no small file in $CTX/small"

files=$(find "$CTX" -type f | wc -l)
bytes=$(du -sb "$CTX" | cut -f1)
warm () { (cd "$1" && tar --sort=name -cf - .) | cat > /dev/null; }   # tar skips reading into /dev/null

# --- helpers ------------------------------------------------------------
T=$WORK/times; rm -rf "$T" "$WORK/out."*; mkdir -p "$T"
# timed NAME CMD...: one run, appended to $T/NAME as "wall user sys maxrss_kB"
timed () {
  n=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$T/last" "$@" > "$T/stdout" 2> "$T/stderr" || {
    cat "$T/stderr" >&2; die "$n failed: $*"; }
  cat "$T/last" >> "$T/$n"
}
median () { sort -n "$T/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cpu_med () { awk '{ print $2 + $3 }' "$T/$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
sys_med () { awk '{ print $3 }' "$T/$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
peak_mb () { sort -n -k4 "$T/$1" | tail -n 1 | awk '{ printf "%.1f", $4 / 1024 }'; }
# the "#4 DONE 1.5s" of the COPY step in the last plain-progress stderr
layer_s () { awk '/COPY/ { s = $1 } $1 == s && $2 == "DONE" { t = $3 } END { sub(/s$/, "", t); print t }' "$T/stderr"; }

hoist_cold () {   # hoist_cold NAME CTX OUT [ARGS...]
  n=$1 c=$2 o=$3; shift 3
  rm -rf "$WORK/home.cold" "$o"
  timed "$n" env HOIST_HOME="$WORK/home.cold" "$HOIST" build --no-cache --progress plain -t bench \
    -o "type=oci,dest=$o" "$@" "$c"
  layer_s >> "$T/$n.layer"
}
peer () {   # peer NAME CTX "COMPRESSOR"
  timed "$1" sh -c "cd '$2' && tar --sort=name -cf - . | $3 > '$WORK/out.$1'"
}
buildah_run () {
  R=$WORK/buildah; rm -rf "$R"; mkdir -p "$R"
  timed buildah buildah bud --root "$R/root" --runroot "$R/run" --storage-driver vfs \
    --isolation chroot -f "$CTX/Dockerfile" -t bench "$CTX"
  buildah --root "$R/root" --runroot "$R/run" --storage-driver vfs rmi -a -f > /dev/null 2>&1 || true
  rm -rf "$R"
  sync   # buildah's writeback must not land on the next timed run
}

LOAD_BEFORE=$(uptime)
warm "$CTX"

# --- cold builds, interleaved ---------------------------------------------
i=0
while [ "$i" -lt "$RUNS" ]; do
  hoist_cold hoist-gzip "$CTX" "$WORK/out.hoist-gzip"
  peer pigz "$CTX" "pigz -6"
  hoist_cold hoist-zstd "$CTX" "$WORK/out.hoist-zstd" --compression zstd
  peer zstd "$CTX" "zstd -q -3 -T0"
  [ "$BUILDAH" = 1 ] && buildah_run
  i=$((i + 1))
done
rm -rf "$WORK/home.cold"

# The cold images are what they say: a gzip and a zstd layer of the same tar.
blob_of () {   # the one layer blob of an OCI layout, from its manifest
  m=$(sed -n 's/.*"digest" *: *"sha256:\([0-9a-f]*\)".*/\1/p' "$1/index.json" | head -n 1)
  l=$(tr ',{' '\n' < "$1/blobs/sha256/$m" | sed -n 's/.*"digest" *: *"sha256:\([0-9a-f]*\)".*/\1/p' | tail -n 1)
  echo "$1/blobs/sha256/$l"
}
gz=$(blob_of "$WORK/out.hoist-gzip"); zs=$(blob_of "$WORK/out.hoist-zstd")
[ "$(gzip -dc "$gz" | sha256sum)" = "$(zstd -q -dc "$zs" | sha256sum)" ] \
  || die "the gzip and zstd layers hold different tars"
gzsize=$(stat -c %s "$gz"); zssize=$(stat -c %s "$zs")
pigzsize=$(stat -c %s "$WORK/out.pigz"); zstdsize=$(stat -c %s "$WORK/out.zstd")

# --- warm rebuilds (same HOIST_HOME, default cache) -----------------------
H=$WORK/home.warm; rm -rf "$H" "$WORK/out.warm"
hb () { timed "$1" env HOIST_HOME="$H" "$HOIST" build --progress plain -t bench -o "type=oci,dest=$WORK/out.warm" "$CTX"; }
hb prime
digest0=$(sed -n 's/^hoist: built \(sha256:[0-9a-f]*\).*/\1/p' "$T/stderr")
i=0
while [ "$i" -lt "$RUNS" ]; do
  hb warm-nochange
  grep -q CACHED "$T/stderr" || die "warm rebuild did not use the cache"
  d=$(sed -n 's/^hoist: built \(sha256:[0-9a-f]*\).*/\1/p' "$T/stderr")
  [ "$d" = "$digest0" ] || die "cached rebuild gave $d, not $digest0"
  i=$((i + 1))
done
cp -p "$SMALL" "$WORK/small.orig"
i=0
while [ "$i" -lt "$RUNS" ]; do
  printf 'build-bench edit %s %s\n' "$i" "$$" >> "$SMALL"   # new content, new size, new mtime
  hb warm-touch1
  layer_s >> "$T/warm-touch1.layer"
  grep -q CACHED "$T/stderr" && die "the rebuild after an edit was served from the cache"
  i=$((i + 1))
done
cp -p "$WORK/small.orig" "$SMALL"   # restore: the context stays what the cold runs saw
rm -f "$WORK/small.orig"
rm -rf "$H" "$WORK/out.warm"

# --- peak RSS with a 4x context ------------------------------------------
BIGFILES='' BIGMB=''
if [ "$BIG" = 1 ]; then
  free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
  if [ ! -f "$WORK/ctx4-done" ] && [ "$free_kb" -lt 5000000 ]; then
    note "only $((free_kb / 1024)) MB free in $WORK: skipping the 4x context"; BIG=0
  fi
fi
if [ "$BIG" = 1 ]; then
  if [ ! -f "$WORK/ctx4-done" ]; then
    rm -rf "$BIGCTX"; mkdir -p "$BIGCTX"
    for k in 1 2 3 4; do
      mkdir -p "$BIGCTX/c$k"
      (cd "$CTX" && tar -cf - --exclude=./Dockerfile .) | (cd "$BIGCTX/c$k" && tar -xf -)
      head -c 25M /dev/urandom > "$BIGCTX/c$k/blobs/random1.bin"   # no copy compresses against another
      head -c 25M /dev/urandom > "$BIGCTX/c$k/blobs/random2.bin"
    done
    cp "$CTX/Dockerfile" "$BIGCTX/Dockerfile"
    touch "$WORK/ctx4-done"
  fi
  BIGFILES=$(find "$BIGCTX" -type f | wc -l)
  BIGMB=$(( $(du -sb "$BIGCTX" | cut -f1) / 1000000 ))
  warm "$BIGCTX"
  hoist_cold hoist-gzip-4x "$BIGCTX" "$WORK/out.big"
  peer pigz-4x "$BIGCTX" "pigz -6"
  rm -rf "$WORK/out.big" "$WORK/out.pigz-4x" "$WORK/home.cold"
fi
LOAD_AFTER=$(uptime)

# --- the table -------------------------------------------------------------
echo
echo "hoist build bench: $(cd "$SRC" && git rev-parse --short HEAD 2>/dev/null || echo '?') (+ working tree), $HOIST"
echo "context: $files files, $((bytes / 1000000)) MB in $CTX; Dockerfile: FROM scratch / COPY . /app"
[ "$BIG" = 1 ] && echo "4x context: $BIGFILES files, $BIGMB MB in $BIGCTX"
echo "$(nproc) CPUs; times: median of $RUNS runs, wall seconds; page cache hot (context read once before the timed runs)"
echo "load before: $LOAD_BEFORE"
echo "load after:  $LOAD_AFTER"
echo
row () {   # row METRIC HOIST PEER RATIO TARGET MET
  printf '%-34s %10s %10s %8s %-22s %s\n' "$@"
}
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met () { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "met" : "NOT met" }'; }
row metric hoist peer ratio target result
row "----------------------------------" ---------- ---------- -------- ---------------------- -------
hg=$(median hoist-gzip) pg=$(median pigz); r=$(ratio "$hg" "$pg")
row "cold build gzip (s) vs tar|pigz -6" "$hg" "$pg" "$r" "ratio <= 1.0" "$(met "$r" "<=" 1.0)"
hz=$(median hoist-zstd) pz=$(median zstd); r=$(ratio "$hz" "$pz")
row "cold build zstd (s) vs tar|zstd -3" "$hz" "$pz" "$r" "ratio <= 1.5" "$(met "$r" "<=" 1.5)"
if [ "$BUILDAH" = 1 ]; then
  bb=$(median buildah); r=$(ratio "$bb" "$hg")
  row "cold gzip (s) vs buildah bud vfs" "$hg" "$bb" "${r}x" "buildah/hoist >= 3" "$(met "$r" ">=" 3)"
fi
wn=$(median warm-nochange)
row "warm rebuild, nothing changed (s)" "$wn" - - "<= 0.5 s" "$(met "$wn" "<=" 0.5)"
wt=$(median warm-touch1); wl=$(sort -n "$T/warm-touch1.layer" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
wo=$(awk -v a="$wt" -v b="$wl" 'BEGIN { printf "%.2f", a - b }')
row "warm rebuild, 1 small file edited" "$wt" - - "<= 0.5 s + layer" "$(met "$wo" "<=" 0.5)"
row "  of which the COPY layer (s)" "$wl" - - "(the layer's work)" ""
row "  outside the layer (s)" "$wo" - - "<= 0.5 s" "$(met "$wo" "<=" 0.5)"
cl=$(sort -n "$T/hoist-gzip.layer" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
row "  (cold COPY layer, for reference)" "$cl" - - "" ""
rg=$(peak_mb hoist-gzip)
row "peak RSS cold gzip (MB) vs pigz" "$rg" "$(peak_mb pigz)" - "<= 64 MB" "$(met "$rg" "<=" 64)"
rz=$(peak_mb hoist-zstd)
row "peak RSS cold zstd (MB) vs zstd" "$rz" "$(peak_mb zstd)" - "<= 64 MB" "$(met "$rz" "<=" 64)"
if [ "$BIG" = 1 ]; then
  rb=$(peak_mb hoist-gzip-4x)
  row "peak RSS cold gzip, 4x ctx (MB)" "$rb" "$(peak_mb pigz-4x)" - "<= 64 MB" "$(met "$rb" "<=" 64)"
  b1=$(median hoist-gzip-4x) b2=$(median pigz-4x)
  row "cold build gzip, 4x ctx (s, 1 run)" "$b1" "$b2" "$(ratio "$b1" "$b2")" "(info)" ""
else
  row "peak RSS cold gzip, 4x ctx (MB)" skipped - - "<= 64 MB" "not measured"
fi
echo
echo "cpu (user+sys, median): hoist gzip $(cpu_med hoist-gzip) s (sys $(sys_med hoist-gzip)), pigz $(cpu_med pigz) s;" \
  "hoist zstd $(cpu_med hoist-zstd) s (sys $(sys_med hoist-zstd)), zstd $(cpu_med zstd) s" \
  "$([ "$BUILDAH" = 1 ] && echo "; buildah $(cpu_med buildah) s (sys $(sys_med buildah))")"
echo "sizes: hoist gzip layer $((gzsize / 1000000)) MB, pigz $((pigzsize / 1000000)) MB;" \
  "hoist zstd layer $((zssize / 1000000)) MB, zstd $((zstdsize / 1000000)) MB"
echo "peers: tar|pigz and tar|zstd write only the compressed tar (to a file); hoist also hashes it and"
echo "writes the OCI layout; buildah copies the files into vfs storage and commits an uncompressed layer."
echo "all runs (wall user sys maxrss_kB) are in $T"
