#!/bin/bash
# `hoist build` end to end, checked with the real tools: every image is
# read back by umoci (unpacked tree: paths, contents, modes, symlinks,
# hard links), skopeo (config, history) and the OCI schemas
# (tests/oci/validate.py), owners are read from the layer tars, and a
# busybox image is run.  Fixtures: tests/data/build/.
set -u
: "${HOIST:?run through make check}"
: "${HOIST_TEST_DATA:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

for tool in skopeo umoci python3 tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install skopeo umoci python3-jsonschema)"
    exit 77
  fi
done

pass=0
fail=0
tmp=$(mktemp -d)
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
data=$HOIST_TEST_DATA/build
export HOIST_HOME=$tmp/home
unset SOURCE_DATE_EPOCH HOIST_SOURCE HOIST_REVISION TMPDIR

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check () { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi; }

# build NAME EXPECTED_EXIT ARGS... — runs hoist build, output in $tmp/NAME.{out,err}.
build () {
  local name=$1 want=$2
  shift 2
  "$HOIST" build "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then
    ok "build $name (exit $want)"
  else
    not_ok "build $name" "exit $got, wanted $want" "$(tail -5 "$tmp/$name.err")"
  fi
}

expect_in () {
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(head -c 600 "$1")"; fi
}

expect_eq () {
  if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi
}

# json FILE EXPR — a Python expression over the JSON document `d`.
json () { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

validate () {
  if python3 "$HOIST_SRCDIR/tests/oci/validate.py" layout "$1" >"$tmp/validate.err" 2>&1; then
    ok "$2: layout valid against the OCI schemas"
  else
    not_ok "$2: layout valid against the OCI schemas" "$(head -20 "$tmp/validate.err")"
  fi
}

# unpack LAYOUT TAG DIR — umoci's rootless unpack into DIR/rootfs, of the
# image for this platform (skopeo copies it out of the index, which also
# holds the attestations; umoci takes one image).
unpack () {
  rm -rf "$3" "$3.img"
  if skopeo copy --quiet "oci:$1:$2" "oci:$3.img:img" >"$tmp/umoci.err" 2>&1 &&
    umoci unpack --rootless --image "$3.img:img" "$3" >"$tmp/umoci.err" 2>&1; then
    ok "umoci unpacks $2"
  else
    not_ok "umoci unpacks $2" "$(tail -5 "$tmp/umoci.err")"
  fi
}

# tree ROOT — "TYPE MODE PATH [-> TARGET]" of every entry, sorted.
tree () {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %P\t%l\n') | sed -e 's/\t$//' -e 's/\t/ -> /' | sort -k3
}

# owners LAYOUT TAG — "UID/GID PATH" of every entry of every layer.
owners () {
  local m
  m=$(python3 "$HOIST_SRCDIR/tests/integration/ocilayout.py" layers "$1" "$2")
  for blob in $m; do tar --numeric-owner -tvf "$blob"; done | awk '{print $2, $6}' | sort -k2
}

# ---------------------------------------------------------------------------
# 1. A context with every metadata instruction and the COPY cases
# ---------------------------------------------------------------------------
# Copies are made writable: under make distcheck the source tree is not.
# make dist turns symlinks into copies and a read-only tree keeps its
# modes through cp -a, so the fixture's links and modes are made here.
cp -a "$data/basic" "$tmp/basic"
find "$tmp/basic" -type d -exec chmod 755 {} +
find "$tmp/basic" -type f -exec chmod 644 {} +
chmod 755 "$tmp/basic/app/main.sh"
mkdir -p "$tmp/basic/app/bin"
ln -s ../main.sh "$tmp/basic/app/bin/start"
ln -s app/main.sh "$tmp/basic/link"
ln "$tmp/basic/app/lib/util.txt" "$tmp/basic/app/hard"
build basic 0 -t basic -o "type=oci,dest=$tmp/out" "$tmp/basic"
expect_in "$tmp/basic.err" "#1 [internal] load build definition from Dockerfile" "progress names the build definition"
expect_in "$tmp/basic.err" "[3/6] COPY app/ ./" "progress numbers the steps as BuildKit"
expect_in "$tmp/basic.err" "DONE" "progress says DONE"
validate "$tmp/out" basic
build basic-result 0 -t basic -q --iidfile "$tmp/iid" --metadata-file "$tmp/meta.json" \
  -o "type=oci,dest=$tmp/out2" "$tmp/basic"
expect_eq "$(cat "$tmp/iid")" "$(skopeo inspect --raw "oci:$tmp/out2:basic:latest" | sha256sum | sed 's/^/sha256:/; s/ .*//')" \
  "--iidfile holds the digest of the image written"
expect_eq "$(json "$tmp/meta.json" "d['containerimage.digest'], d['image.name'], d['hoist.pushed']")" \
  "$(cat "$tmp/iid") basic:latest False" "--metadata-file: digest, names, pushed as buildx writes them"
unpack "$tmp/out" basic:latest "$tmp/bundle"
got=$(tree "$tmp/bundle/rootfs")
expect_eq "$got" "$(cat "$data/basic/expected.tree")" "unpacked tree: paths, types, modes, symlink targets"
expect_eq "$(stat -c %i "$tmp/bundle/rootfs/opt/app/hard")" "$(stat -c %i "$tmp/bundle/rootfs/opt/app/lib/util.txt")" \
  "hard link stays a hard link"
check "file content copied" cmp -s "$tmp/bundle/rootfs/opt/app/main.sh" "$data/basic/app/main.sh"
check "a source symlink is followed (COPY link)" cmp -s "$tmp/bundle/rootfs/opt/app/link" "$data/basic/app/main.sh"
expect_eq "$(cat "$tmp/bundle/rootfs/opt/app/version.txt")" "version 1.0" "heredoc body with \${VERSION} expanded"
check ".dockerignore keeps docs/ out" test ! -e "$tmp/bundle/rootfs/opt/app/docs"
expect_eq "$(owners "$tmp/out" basic:latest)" "$(sort -k2 "$data/basic/expected.owners")" "uid/gid of every layer entry"

skopeo inspect --config "oci:$tmp/out:basic:latest" >"$tmp/config.json" 2>"$tmp/skopeo.err"
check "skopeo reads the config" test -s "$tmp/config.json"
expect_eq "$(json "$tmp/config.json" "d['config']['Env']")" "['PATH=/opt/app/bin:/usr/bin', 'APP_HOME=/opt/app']" "Env: PATH replaced in place"
expect_eq "$(json "$tmp/config.json" "d['config']['Entrypoint'], d['config']['Cmd']")" "['/opt/app/main.sh'] ['--serve']" "Entrypoint and Cmd"
expect_eq "$(json "$tmp/config.json" "d['config']['WorkingDir'], d['config']['User'], d['config']['StopSignal']")" "/opt/app 1000:1000 SIGTERM" "WorkingDir, User, StopSignal"
expect_eq "$(json "$tmp/config.json" "sorted(d['config']['ExposedPorts']), sorted(d['config']['Volumes'])")" "['8080/tcp', '9000/udp'] ['/data']" "ExposedPorts and Volumes"
expect_eq "$(json "$tmp/config.json" "d['config']['Labels']['org.example.version'], d['config']['Labels']['org.example.suite']")" "1.0 hoist tests" "Labels"
expect_eq "$(json "$tmp/config.json" "'org.opencontainers.image.created' in d['config']['Labels']")" "True" "org.opencontainers.image.created label"
expect_eq "$(json "$tmp/config.json" "len(d['history']), sum(1 for h in d['history'] if not h.get('empty_layer')), len(d['rootfs']['diff_ids'])")" "14 5 5" "one history entry per step, one layer per COPY/WORKDIR"
expect_eq "$(json "$tmp/config.json" "[h['created_by'] for h in d['history']][4]")" "COPY app/ ./ # buildkit" "history created_by as BuildKit writes it"
expect_eq "$(json "$tmp/config.json" "[h['created_by'] for h in d['history']][8]")" "EXPOSE map[8080/tcp:{} 9000/udp:{}]" "EXPOSE history line"

# ---------------------------------------------------------------------------
# 2. The step cache: a second build reuses every step, same digest
# ---------------------------------------------------------------------------
build cache1 0 --progress plain -t cached "$tmp/basic"
build cache2 0 --progress plain -t cached "$tmp/basic"
expect_eq "$(grep -c ' CACHED$' "$tmp/cache2.err")" "5" "second build: every layer step CACHED"
d1=$(grep -o 'built sha256:[0-9a-f]*' "$tmp/cache1.err")
d2=$(grep -o 'built sha256:[0-9a-f]*' "$tmp/cache2.err")
expect_eq "$d2" "$d1" "cached rebuild gives the same image digest"
echo "changed" >"$tmp/basic/app/lib/util.txt"
build cache3 0 --progress plain -t cached "$tmp/basic"
expect_eq "$(grep -c ' CACHED$' "$tmp/cache3.err")" "1" "a changed file: only the steps before it are CACHED"
build nocache 0 --progress plain --no-cache -t cached "$tmp/basic"
expect_eq "$(grep -c ' CACHED$' "$tmp/nocache.err")" "0" "--no-cache reuses nothing"
printf 'shared helper\n' >"$tmp/basic/app/lib/util.txt"

# ---------------------------------------------------------------------------
# 3. Reproducible: other directory, other mtimes, 1 or 2 threads, gzip or zstd
# ---------------------------------------------------------------------------
cp -a "$tmp/basic" "$tmp/copy1"
cp -a "$tmp/basic" "$tmp/copy2"
find "$tmp/copy1" -exec touch -h -d '2024-03-01 10:00:00' {} +
find "$tmp/copy2" -exec touch -h -d '2025-06-15 18:30:00' {} +
export SOURCE_DATE_EPOCH=1700000000
for c in gzip zstd; do
  build "repro-$c-1" 0 --progress quiet --no-cache --compression "$c" --compression-threads 1 "$tmp/copy1"
  build "repro-$c-2" 0 --progress quiet --no-cache --compression "$c" --compression-threads 2 "$tmp/copy2"
  expect_eq "$(cat "$tmp/repro-$c-2.out")" "$(cat "$tmp/repro-$c-1.out")" \
    "$c: same manifest digest from two copies, other mtimes, 1 vs 2 threads"
done
build repro-epoch 0 --progress quiet -o "type=oci,dest=$tmp/repro" -t r "$tmp/copy1"
skopeo inspect --config "oci:$tmp/repro:r:latest" >"$tmp/repro.json"
expect_eq "$(json "$tmp/repro.json" "d['created'], d['config']['Labels']['org.opencontainers.image.created'], d['history'][0]['created']")" \
  "2023-11-14T22:13:20Z 2023-11-14T22:13:20Z 2023-11-14T22:13:20Z" "SOURCE_DATE_EPOCH sets created, history and the label"
unset SOURCE_DATE_EPOCH

# ---------------------------------------------------------------------------
# 4. Outputs: the store and hoist images, an OCI archive
# ---------------------------------------------------------------------------
build store 0 -t demo --label team=infra "$tmp/basic"
"$HOIST" images >"$tmp/images.out" 2>&1
expect_in "$tmp/images.out" "REPOSITORY" "hoist images prints a header"
expect_in "$tmp/images.out" "demo" "hoist images lists the tag"
"$HOIST" images --format json >"$tmp/images.json"
expect_eq "$(json "$tmp/images.json" "[i['tag'] for i in d if i['repository'] == 'demo']")" "['latest']" "hoist images --format json"
"$HOIST" images --format xml >/dev/null 2>&1
expect_eq "$?" "2" "hoist images --format checks its value"
"$HOIST" images --help >"$tmp/images.help" 2>&1
expect_in "$tmp/images.help" "usage: hoist images" "hoist images --help"
build archive 0 -t arch:1 -o "type=oci,dest=$tmp/image.tar" "$tmp/basic"
skopeo inspect "oci-archive:$tmp/image.tar:arch:1" >"$tmp/archive.json" 2>"$tmp/skopeo.err"
expect_eq "$(json "$tmp/archive.json" "len(d['Layers'])")" "5" "skopeo reads the OCI archive"
validate "$HOIST_HOME/store" store
build badtag 2 -t Demo "$tmp/basic"
build badtag2 2 -t "demo@sha256:$(printf '%064d' 0)" "$tmp/basic"
build badoutput 3 -o type=docker "$tmp/basic"
build badoutput2 2 -o type=oci "$tmp/basic"

# ---------------------------------------------------------------------------
# 5. Bad input: exit 1 with FILE:LINE, and no tag written
# ---------------------------------------------------------------------------
cp -a "$data/bad" "$tmp/bad"
find "$tmp/bad" -type d -exec chmod 755 {} +
find "$tmp/bad" -type f -exec chmod 644 {} +
# A gzip stream that is whole around a tar cut off inside a member.
mkdir -p "$tmp/tarsrc/d" && seq 1 50000 >"$tmp/tarsrc/d/numbers"
tar -C "$tmp/tarsrc" -cf - d | head -c 30000 | gzip >"$tmp/bad/broken.tar.gz"
for case in missing:3 outside:2 nostage:3 nouser:2 brokentar:3; do
  name=${case%%:*}
  line=${case##*:}
  build "bad-$name" 1 -t "bad-$name" -f "$tmp/bad/$name.Dockerfile" "$tmp/bad"
  expect_in "$tmp/bad-$name.err" "$name.Dockerfile:$line:" "bad $name: the error names file and line"
done
# FROM scratch has no shell: the RUN fails, naming the line and the program.
build bad-run 1 -t bad-run -f "$tmp/bad/run.Dockerfile" "$tmp/bad"
expect_in "$tmp/bad-run.err" "run.Dockerfile:3: cannot run '/bin/sh'" "RUN without a shell in the image names line and program"
# No network here: the pull fails at once, naming the registry and the line.
build bad-registry 1 -t bad-registry -f "$tmp/bad/registry.Dockerfile" "$tmp/bad"
expect_in "$tmp/bad-registry.err" "registry.Dockerfile:1: FROM 'alpine:3.20': cannot pull 'alpine:3.20': cannot reach registry registry-1.docker.io" "an unreachable registry base is a clear error"
"$HOIST" images --format json >"$tmp/images.json"
expect_eq "$(json "$tmp/images.json" "[i['name'] for i in d if i['name'].startswith('bad-')]")" "[]" "no failed build left a tag"

# ---------------------------------------------------------------------------
# 6. Stages and named contexts
# ---------------------------------------------------------------------------
build multistage 0 -t ms -o "type=oci,dest=$tmp/ms" --build-context "extra=$data/multistage/extra" "$data/multistage"
unpack "$tmp/ms" ms:latest "$tmp/msb"
check "COPY --from=stage copies the directory's contents" cmp -s "$tmp/msb/rootfs/dist/hello.txt" "$data/multistage/src/hello.txt"
check "COPY --from=stage of one file" cmp -s "$tmp/msb/rootfs/hello.txt" "$data/multistage/src/hello.txt"
check "COPY --from=NAME reads a directory context" cmp -s "$tmp/msb/rootfs/dist/notes/notes.txt" "$data/multistage/extra/notes.txt"
# A stage's file system keeps owners only when hoist can chown (root).
if [ "$(id -u)" -eq 0 ]; then
  expect_eq "$(owners "$tmp/ms" ms:latest | grep 'dist/hello.txt')" "5/6 dist/hello.txt" "COPY --from keeps the owner set in the stage"
fi

# ---------------------------------------------------------------------------
# 7. A busybox base image, a derived image from --build-context, and a run
# ---------------------------------------------------------------------------
# Debian's busybox-static: one static binary, so it runs in a chroot alone.
busybox=/bin/busybox
if [ -x "$busybox" ]; then
  mkdir -p "$tmp/bb/bin" "$tmp/bb/etc"
  cp "$busybox" "$tmp/bb/bin/busybox"
  ln -s busybox "$tmp/bb/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$tmp/bb/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\n' >"$tmp/bb/etc/group"
  printf 'FROM scratch\nCOPY bin/ /bin/\nCOPY etc/ /etc/\nONBUILD LABEL built.on=busybox\nCMD ["/bin/sh"]\n' >"$tmp/bb/Dockerfile"
  build busybox 0 -t busybox:base -o "type=oci,dest=$tmp/bblayout" "$tmp/bb"
  mkdir -p "$tmp/app"
  printf 'echo "hello from $(id -un) in $PWD"\n' >"$tmp/app/hello.sh"
  printf 'FROM busybox\nUSER app\nWORKDIR /home/app\nCOPY --chown=app:app hello.sh .\nCMD ["/bin/sh", "hello.sh"]\n' >"$tmp/app/Dockerfile"
  build derived 0 -t app -o "type=oci,dest=$tmp/applayout" \
    --build-context "busybox=oci-layout://$tmp/bblayout:busybox:base" "$tmp/app"
  validate "$tmp/applayout" derived
  expect_eq "$(owners "$tmp/applayout" app:latest | grep 'home/app/')" "1000/1000 home/app/
1000/1000 home/app/hello.sh" "WORKDIR and --chown=app:app resolve the image's /etc/passwd"
  skopeo inspect --config "oci:$tmp/applayout:app:latest" >"$tmp/app.json"
  expect_eq "$(json "$tmp/app.json" "d['config']['Labels'].get('built.on'), d['config'].get('OnBuild')")" "busybox None" \
    "the base's ONBUILD trigger ran and is not inherited"
  printf 'FROM docker.io/library/busybox:latest\n' >"$tmp/app/Dockerfile.full"
  build familiar 0 --progress quiet -f "$tmp/app/Dockerfile.full" \
    --build-context "busybox=oci-layout://$tmp/bblayout:busybox:base" "$tmp/app"
  unpack "$tmp/applayout" app:latest "$tmp/appb"
  if unshare -Urmpf --mount-proc true 2>/dev/null; then
    cmd=$(json "$tmp/app.json" "' '.join(d['config']['Cmd'])")
    out=$(cd "$tmp" && unshare -Urmpf --mount-proc chroot "$tmp/appb/rootfs" /bin/sh -c "cd /home/app && $cmd" 2>&1)
    expect_eq "$out" "hello from root in /home/app" "the image runs its CMD"
  else
    echo "# skip running the image: unshare -Urmpf is not allowed here"
  fi
else
  echo "# skip busybox image: install busybox-static"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
