#!/bin/bash
# RUN end to end: Dockerfiles with RUN steps on a busybox base made by the
# test from Debian's busybox-static, built by hoist in its sandbox, written
# as an OCI layout, unpacked with umoci and compared with what the steps
# did (created, changed, chmod'ed, chown'ed, hard-linked, symlinked,
# deleted, directories replaced), then run.  Plus a multi-stage Dockerfile
# in the shape of real service Dockerfiles (adduser, chown -R, USER).
set -u
: "${HOIST:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

for tool in umoci skopeo python3 unshare; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install umoci skopeo python3 util-linux)"
    exit 77
  fi
done
# Debian's busybox-static: one static binary, a whole userland.
busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
  echo "skip: $busybox is not there (apt-get install busybox-static)"
  exit 77
fi

pass=0
fail=0
tmp=$(mktemp -d)
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export HOIST_HOME=$tmp/home
unset SOURCE_DATE_EPOCH

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }
expect_in () {
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3" "'$2' not in $(basename "$1"):" "$(head -c 800 "$1")"; fi
}

# build NAME WANT ARGS... — hoist build, output in $tmp/NAME.{out,err}.
build () {
  local name=$1 want=$2
  shift 2
  "$HOIST" build "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "build $name (exit $want)"; else
    not_ok "build $name" "exit $got, wanted $want" "$(tail -15 "$tmp/$name.err")"
  fi
}

# unpack LAYOUT TAG DIR — umoci's view of the image.
# The layout's tag is an index (the image and its attestations): skopeo
# copies this platform's image out, which umoci unpacks.
unpack () {
  rm -rf "$3" "$3.img"
  { skopeo copy --quiet "oci:$1:$2:latest" "oci:$3.img:img" && umoci unpack --rootless --image "$3.img:img" "$3"; } \
    >/dev/null 2>"$tmp/umoci.err" || not_ok "umoci unpack $1:$2" "$(cat "$tmp/umoci.err")"
}

# owner FILE MEMBER — uid:gid of MEMBER as the layer tars of LAYOUT record it.
tar_owner () {
  python3 - "$1" "$2" "$HOIST_SRCDIR/tests/integration" <<'EOF'
import sys, tarfile
sys.path.insert(0, sys.argv[3])
import ocilayout
layout, member = sys.argv[1], sys.argv[2]
owner = "absent"
for l in ocilayout.image_manifest(layout)[1]["layers"]:
    with tarfile.open(layout + "/blobs/sha256/" + l["digest"][7:]) as t:
        for e in t.getmembers():
            if e.name.rstrip("/") == member:
                owner = "%d:%d" % (e.uid, e.gid)
print(owner)
EOF
}

# --- the base: busybox-static, /etc/passwd and /etc/group -------------------------
. "$HOIST_SRCDIR/tests/integration/busybox_base.sh"
base=$tmp/base
busybox_base "$base" || { echo "cannot make the busybox base in $base"; exit 1; }
build base 0 -t busybox -o "type=oci,dest=$tmp/bb" "$base"
bbctx="busybox=oci-layout://$tmp/bb:busybox:latest"

# --- one RUN per kind of change ----------------------------------------------------
ctx=$tmp/ctx
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'EOF'
FROM busybox
RUN mkdir -p /data/sub /data/gone /data/replaced && echo one >/data/file && echo keep >/data/sub/keep \
 && echo x >/data/gone/x && echo old >/data/replaced/old && echo f >/data/tofile && ln -s file /data/link
RUN echo two >>/data/file && chmod 0751 /data/sub && chown 1001:1002 /data/sub/keep \
 && ln /data/file /data/hard && ln -sf sub /data/link && rm -rf /data/gone \
 && rm -rf /data/replaced && mkdir /data/replaced && echo new >/data/replaced/new \
 && rm /data/tofile && mkdir /data/tofile
RUN true
CMD ["/bin/cat", "/data/file"]
EOF
build run 0 --build-context "$bbctx" -t run -o "type=oci,dest=$tmp/run" "$ctx"
unpack "$tmp/run" run "$tmp/run-un"
r=$tmp/run-un/rootfs
expect_eq "$(cat "$r/data/file" 2>&1)" "$(printf 'one\ntwo')" "run: appended content"
expect_eq "$(stat -c %a "$r/data/sub" 2>&1)" 751 "run: chmod"
expect_eq "$(tar_owner "$tmp/run" data/sub/keep)" "1001:1002" "run: chown to 1001:1002 is in the layer"
expect_eq "$(stat -c %i "$r/data/file")" "$(stat -c %i "$r/data/hard" 2>&1)" "run: hard link"
expect_eq "$(readlink "$r/data/link" 2>&1)" sub "run: symlink retargeted"
if [ -e "$r/data/gone" ]; then not_ok "run: deleted directory is gone (whiteout)"; else ok "run: deleted directory is gone (whiteout)"; fi
if [ -e "$r/data/replaced/old" ] || [ ! -e "$r/data/replaced/new" ]; then
  not_ok "run: replaced directory holds only the new file (opaque)" "$(ls -la "$r/data/replaced" 2>&1)"
else ok "run: replaced directory holds only the new file (opaque)"; fi
if [ -d "$r/data/tofile" ]; then ok "run: file replaced by a directory"; else not_ok "run: file replaced by a directory"; fi
layers=$(python3 "$HOIST_SRCDIR/tests/integration/ocilayout.py" layers "$tmp/run" | wc -l)
expect_eq "$layers" 3 "run: a RUN that changes nothing adds no layer"
if [ -e "$r/etc/resolv.conf" ] && [ ! -s "$r/etc/resolv.conf" ]; then
  not_ok "run: the sandbox's mount points are not in the image"
else ok "run: the sandbox's mount points are not in the image"; fi
if unshare -Urmpf --mount-proc chroot "$r" /bin/cat /data/file >"$tmp/run.cat" 2>&1; then
  expect_eq "$(cat "$tmp/run.cat")" "$(printf 'one\ntwo')" "run: the image runs"
else not_ok "run: the image runs" "$(cat "$tmp/run.cat")"; fi

# A cached rebuild runs nothing and gives the same image.
build run-again 0 --build-context "$bbctx" -t run -o "type=oci,dest=$tmp/run2" "$ctx"
expect_in "$tmp/run-again.err" "CACHED" "run: the rebuild is cached"
expect_eq "$(python3 "$HOIST_SRCDIR/tests/integration/ocilayout.py" manifest "$tmp/run2")" \
  "$(python3 "$HOIST_SRCDIR/tests/integration/ocilayout.py" manifest "$tmp/run")" \
  "run: the cached rebuild is the same image"

# --- failures ------------------------------------------------------------------------
printf 'FROM busybox\nRUN echo about to fail && false\n' >"$ctx/Dockerfile.fail"
build fail 1 --build-context "$bbctx" -f "$ctx/Dockerfile.fail" -t fail "$ctx"
expect_in "$tmp/fail.err" 'Dockerfile.fail:2: process "/bin/sh -c echo about to fail && false" did not complete successfully: exit code: 1' \
  "fail: the error names the line, the process and the exit code"
expect_in "$tmp/fail.err" "about to fail" "fail: the step's output is in the log"
mkdir -p "$tmp/noshell"
printf 'FROM scratch\nCOPY Dockerfile /\nRUN true\n' >"$tmp/noshell/Dockerfile"
build noshell 1 -t noshell "$tmp/noshell"
expect_in "$tmp/noshell.err" "cannot run '/bin/sh' in the image: No such file or directory (hint: the shell form runs /bin/sh -c" \
  "fail: an image without a shell: the error says so, not where the build keeps its files"
printf 'FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen && cat /run/secrets/tok\n' >"$ctx/Dockerfile.secret"
printf 's3cr3t-value\n' >"$tmp/secret.txt"
build secret 0 --build-context "$bbctx" -f "$ctx/Dockerfile.secret" --secret id=tok,src="$tmp/secret.txt" -t secret -o "type=oci,dest=$tmp/secret" "$ctx"
unpack "$tmp/secret" secret "$tmp/secret-un"
expect_eq "$(cat "$tmp/secret-un/rootfs/seen" 2>&1)" s3cr3t-value "secret: the step read the secret"
if [ -e "$tmp/secret-un/rootfs/run/secrets/tok" ]; then not_ok "secret: the secret is not in the image"; else ok "secret: the secret is not in the image"; fi

# --- RUN --mount: tmpfs, bind (context, stage, rw), ssh ------------------------------------
mnt=$tmp/mnt
mkdir -p "$mnt/src"
printf 'module example.com/app\n' >"$mnt/go.mod"
printf 'a\n' >"$mnt/src/a"
printf 'not for the build\n' >"$mnt/private.key"
printf 'private.key\n' >"$mnt/.dockerignore"
cat >"$mnt/Dockerfile" <<'EOF'
FROM busybox AS build
RUN mkdir -p /out && echo v1 >/out/VERSION

FROM busybox
WORKDIR /w
RUN --mount=type=tmpfs,target=/scratch echo x >/scratch/f && cat /scratch/f >/tmpfs-seen && grep -c ' /scratch tmpfs ' /proc/mounts >/tmpfs-count
RUN --mount=type=bind,source=go.mod,target=go.mod --mount=type=bind,target=/ctx \
    cat /w/go.mod >/seen && ls -A /ctx >/ctx-ls && if echo x >/ctx/new 2>/dev/null; then echo writable >/ro; else echo read-only >/ro; fi
RUN --mount=type=bind,source=src,target=/s,rw echo changed >/s/a && cat /s/a >/rw-seen
RUN --mount=type=bind,from=build,source=/out,target=/o cp /o/VERSION /from-stage
EOF
build mounts 0 --build-context "$bbctx" -t mounts -o "type=oci,dest=$tmp/mounts" "$mnt"
unpack "$tmp/mounts" mounts "$tmp/mounts-un"
m=$tmp/mounts-un/rootfs
expect_eq "$(cat "$m/tmpfs-seen" 2>&1)/$(cat "$m/tmpfs-count" 2>&1)" "x/1" "mount: tmpfs at its target"
if [ -e "$m/scratch" ]; then not_ok "mount: nothing of the tmpfs in the image" "$(ls -la "$m/scratch")"; else ok "mount: nothing of the tmpfs in the image"; fi
expect_eq "$(cat "$m/seen" 2>&1)" "module example.com/app" "mount: a bind of one context file, relative to WORKDIR"
expect_eq "$(tr '\n' ' ' <"$m/ctx-ls" 2>&1)" ".dockerignore Dockerfile go.mod src " "mount: the context as .dockerignore leaves it"
expect_eq "$(cat "$m/ro" 2>&1)" read-only "mount: a bind is read-only by default"
expect_eq "$(cat "$m/rw-seen" 2>&1)" changed "mount: rw lets the step write"
expect_eq "$(cat "$mnt/src/a")" a "mount: what a step writes into an rw bind stays out of the context"
expect_eq "$(cat "$m/from-stage" 2>&1)" v1 "mount: a bind from another stage"
if [ -e "$m/ctx" ] || [ -e "$m/s" ] || [ -e "$m/o" ] || [ -e "$m/w/go.mod" ]; then
  not_ok "mount: no bind mount point is left in the image" "$(ls -la "$m" "$m/w")"
else ok "mount: no bind mount point is left in the image"; fi
build mounts-again 0 --build-context "$bbctx" -t mounts -o "type=oci,dest=$tmp/mounts2" "$mnt"
expect_eq "$(grep -c CACHED "$tmp/mounts-again.err")" 6 "mount: an unchanged rebuild is cached"
printf 'module example.com/other\n' >"$mnt/go.mod"
build mounts-changed 0 --build-context "$bbctx" -t mounts -o "type=oci,dest=$tmp/mounts3" "$mnt"
expect_in "$tmp/mounts-changed.err" "cat /w/go.mod" "mount: a changed bind source reruns the step"
expect_eq "$(grep -c CACHED "$tmp/mounts-changed.err")" 3 "mount: only the steps from the changed bind on run again"

# An agent socket (made by python; the step only needs to see it).
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/agent.sock"
printf 'FROM busybox\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" >/agent\n' >"$mnt/Dockerfile.ssh"
build ssh 0 --build-context "$bbctx" -f "$mnt/Dockerfile.ssh" --ssh default="$tmp/agent.sock" -t ssh -o "type=oci,dest=$tmp/ssh" "$mnt"
unpack "$tmp/ssh" ssh "$tmp/ssh-un"
expect_eq "$(cat "$tmp/ssh-un/rootfs/agent" 2>&1)" /run/buildkit/ssh_agent.0 "ssh: the agent socket and SSH_AUTH_SOCK"
printf 'FROM busybox\nRUN --mount=type=ssh,required=true true\n' >"$mnt/Dockerfile.ssh2"
build ssh-missing 1 --build-context "$bbctx" -f "$mnt/Dockerfile.ssh2" -t ssh2 "$mnt"
expect_in "$tmp/ssh-missing.err" "no ssh agent 'default' (hint: --ssh default" "ssh: a required agent that is not given is named"

# --- heredoc RUNs, as BuildKit runs them ---------------------------------------------------
hd=$tmp/hd
mkdir -p "$hd"
cat >"$hd/Dockerfile" <<'EOF'
FROM busybox
RUN <<EOT
echo a >/a
echo b >/b
EOT
RUN cat <<EOT >/f
home $HOME
EOT
RUN <<A cat >/x && <<B cat >/y
xa
A
yb
B
RUN <<-EOT
	echo tabbed >/t
	EOT
RUN <<EOT
#!/bin/sh -e
echo "script $0" >/shebang
EOT
EOF
build heredoc 0 --build-context "$bbctx" -t hd -o "type=oci,dest=$tmp/hd-out" "$hd"
unpack "$tmp/hd-out" hd "$tmp/hd-un"
h=$tmp/hd-un/rootfs
expect_eq "$(cat "$h/a" "$h/b" 2>&1 | tr '\n' ' ')" "a b " "heredoc: a RUN that is only a heredoc runs it as a script"
expect_eq "$(cat "$h/f" 2>&1)" "home /root" "heredoc: a command reads its heredoc; HOME is root's"
expect_eq "$(cat "$h/x" "$h/y" 2>&1 | tr '\n' ' ')" "xa yb " "heredoc: two heredocs in one command"
expect_eq "$(cat "$h/t" 2>&1)" tabbed "heredoc: <<- strips the tabs"
expect_eq "$(cat "$h/shebang" 2>&1)" "script /dev/pipes/EOT" "heredoc: a #! script runs by its interpreter"
if [ -e "$h/dev/pipes" ]; then not_ok "heredoc: nothing of /dev/pipes in the image"; else ok "heredoc: nothing of /dev/pipes in the image"; fi

# --- a service-shaped multi-stage Dockerfile ---------------------------------------------
svc=$tmp/svc
mkdir -p "$svc/src"
printf '#!/bin/sh\necho serving\n' >"$svc/src/server.sh"
cat >"$svc/Dockerfile" <<'EOF'
FROM busybox AS build
WORKDIR /src
COPY src/ ./
RUN mkdir -p /out && cp server.sh /out/server && chmod 0755 /out/server && echo built >/out/VERSION

FROM busybox
# Debian's busybox-static has no adduser: what it would write.
RUN echo 'app:x:1001:' >>/etc/group && echo 'app:x:1001:1001::/app:/bin/sh' >>/etc/passwd && mkdir -p /app
WORKDIR /app
COPY --from=build /out/ /app/
RUN chown -R app:app /app
USER app
RUN id -u >/app/whoami && echo "$HOME" >>/app/whoami
HEALTHCHECK CMD ["/app/server"]
CMD ["/app/server"]
EOF
build svc 0 --build-context "$bbctx" -t svc -o "type=oci,dest=$tmp/svc-out" "$svc"
expect_eq "$(tar_owner "$tmp/svc-out" app/server)" "1001:1001" "svc: chown -R gave the files to app (1001)"
unpack "$tmp/svc-out" svc "$tmp/svc-un"
expect_in "$tmp/svc-un/rootfs/etc/passwd" "app:x:1001:1001" "svc: the step wrote /etc/passwd"
expect_eq "$(tr '\n' ' ' <"$tmp/svc-un/rootfs/app/whoami" 2>&1)" "1001 /app " "svc: a RUN after USER runs as app, HOME from /etc/passwd"
expect_eq "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["process"]; print(c["user"]["uid"])' "$tmp/svc-un/config.json")" 1001 "svc: the image runs as app"

# --- the README's RUN example ----------------------------------------------------------------
bbx=$tmp/bbx
mkdir -p "$bbx/bin"
cp /bin/busybox "$bbx/bin/"
for a in $("$bbx/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$bbx/bin/$a"; done
printf 'FROM scratch\nCOPY bin/ /bin/\nCMD ["/bin/sh"]\n' >"$bbx/Dockerfile"
build readme-base 0 -t busybox -o "type=oci,dest=$tmp/bbx-layout" "$bbx"
build readme-run 0 -t site-run -f "$HOIST_SRCDIR/examples/Dockerfile.run" \
  --build-context "busybox=oci-layout://$tmp/bbx-layout:busybox:latest" -o "type=oci,dest=$tmp/site-run" "$HOIST_SRCDIR/examples"
expect_eq "$(tar_owner "$tmp/site-run" var/www/index.html)" "1001:1001" "readme: the site belongs to web (1001)"
unpack "$tmp/site-run" site-run "$tmp/site-run-un"
expect_in "$tmp/site-run-un/rootfs/var/www/index.html" "<footer>built by hoist</footer>" "readme: the heredoc script stamped the pages"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
