# corpus.sh — sourced by the benchmarks: the ~230 MB, ~10,000-file build
# context of issue 3 (many small text files, two incompressible 25 MB
# blobs, a 35 MB compressible one, header and Perl trees).
#
# bench_make_corpus DIR SCRATCH — (re)create the context in DIR; SCRATCH is
# a directory for temporary files.
bench_make_corpus () {
  local dir=$1 scratch=$2
  rm -rf "$dir"
  mkdir -p "$dir/small" "$dir/blobs" "$scratch"
  cp -a /usr/include "$dir/include"
  cp -a /usr/share/perl "$dir/perl"
  find /usr/share/doc -name copyright -type f | sort | head -n 2000 | xargs cat 2>/dev/null | head -c 1600k > "$scratch/pool"
  (cd "$dir/small" && split -a 3 -b 2k "$scratch/pool" f)
  head -c 25M /dev/urandom > "$dir/blobs/random1.bin"
  head -c 25M /dev/urandom > "$dir/blobs/random2.bin"
  find /usr/lib/x86_64-linux-gnu /usr/lib -maxdepth 1 -name '*.so*' -type f -size +1M 2>/dev/null | sort \
    | xargs cat 2>/dev/null | head -c 35M > "$dir/blobs/libs.bin"
}
