#!/bin/bash
# Rootless RUN: the whole of test_run.sh again as an unprivileged user
# that has a subordinate id range (made by this test, as
# `useradd` + /etc/subuid give one on Debian), so that the same layers —
# chown to 1001:1002 recorded as such, the service image's files owned by
# 1001 — come out of a build that never had root.  Then a user with no
# range: a step's files are root's in the layer (never the host's uid) and
# a chown to another id fails with the hint that says how to get a range.
#
# Making users needs root: CI runs make check as root.  The users this
# test makes it removes again.
set -u
: "${HOIST:?run through make check}"
: "${HOIST_SRCDIR:?run through make check}"

if [ "$(id -u)" -ne 0 ]; then
  echo "skip: this test makes its own unprivileged users, which needs root (CI runs it as root)"
  exit 77
fi
for tool in useradd userdel usermod runuser newuidmap newgidmap umoci python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skip: $tool is not installed (apt-get install passwd util-linux uidmap umoci python3)"
    exit 77
  fi
done
if [ ! -x /bin/busybox ]; then
  echo "skip: /bin/busybox is not there (apt-get install busybox-static)"
  exit 77
fi

pass=0
fail=0
ranged=hoist-test-range
single=hoist-test-single
made=()
tmp=$(mktemp -d)
cleanup () {
  rm -rf "$tmp"
  for u in "${made[@]}"; do userdel -r "$u" >/dev/null 2>&1; done
  for f in /etc/subuid /etc/subgid; do sed -i "/^$ranged:/d; /^$single:/d" "$f"; done
}
trap cleanup EXIT

ok () { pass=$((pass + 1)); echo "ok - $1"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect_eq () { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "wanted: $2" "got:    $1"; fi; }

# The users; their ranges are what this test says, whatever useradd did.
for u in "$ranged" "$single"; do
  if ! id "$u" >/dev/null 2>&1; then
    useradd -m -s /bin/sh "$u" || { echo "cannot make user $u"; exit 1; }
    made+=("$u")
  fi
  for f in /etc/subuid /etc/subgid; do sed -i "/^$u:/d" "$f"; done
done
echo "$ranged:300000:65536" >>/etc/subuid
echo "$ranged:300000:65536" >>/etc/subgid

# What the users run, where they can read it: the binary, the scripts.
chmod 0755 "$tmp"
mkdir -p "$tmp/src/tests/integration" "$tmp/single"
cp "$HOIST" "$tmp/hoist"
cp "$HOIST_SRCDIR/tests/integration/test_run.sh" "$HOIST_SRCDIR/tests/integration/busybox_base.sh" \
  "$HOIST_SRCDIR/tests/integration/ocilayout.py" "$tmp/src/tests/integration/"
cp -R "$HOIST_SRCDIR/examples" "$tmp/src/"
chmod -R a+rX "$tmp"
chown "$single" "$tmp/single"

as_user () {
  local u=$1
  shift
  runuser -u "$u" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$(getent passwd "$u" | cut -d: -f6)" \
    HOIST="$tmp/hoist" HOIST_SRCDIR="$tmp/src" TMPDIR=/tmp "$@"
}

# --- a user with a range: every RUN check of test_run.sh -----------------------------
as_user "$ranged" bash "$tmp/src/tests/integration/test_run.sh" >"$tmp/ranged.log" 2>&1
st=$?
sed 's/^/# ranged: /' "$tmp/ranged.log" | grep -E '^# ranged: (not ok|#)' | head -40
summary=$(tail -n 1 "$tmp/ranged.log")
if [ "$st" -eq 0 ] && grep -q '^ok - svc: chown -R gave the files to app (1001)' "$tmp/ranged.log"; then
  ok "as $ranged (subordinate range): test_run.sh passes ($summary)"
else
  not_ok "as $ranged (subordinate range): test_run.sh passes" "exit $st: $summary"
fi
if grep -q '^ok - run: chown to 1001:1002 is in the layer' "$tmp/ranged.log"; then
  ok "as $ranged: a step's chown to 1001:1002 is in the layer"
else not_ok "as $ranged: a step's chown to 1001:1002 is in the layer"; fi

# --- a user with no range: only container id 0 ----------------------------------------
w=$tmp/single
as_user "$single" bash -c '
  . "$HOIST_SRCDIR/tests/integration/busybox_base.sh"
  export HOIST_HOME='"$w"'/home
  busybox_base '"$w"'/base
  "$HOIST" build -q -t bb -o type=oci,dest='"$w"'/bb '"$w"'/base >/dev/null || exit 1
  mkdir -p '"$w"'/ctx
  printf "FROM bb\nRUN echo made >/made && mkdir /d && touch /d/f\n" >'"$w"'/ctx/Dockerfile
  "$HOIST" build --build-context bb=oci-layout://'"$w"'/bb:bb:latest -t made -o type=oci,dest='"$w"'/made '"$w"'/ctx \
    >'"$w"'/made.log 2>&1 || { cat '"$w"'/made.log; exit 2; }
  printf "FROM bb\nRUN chown 1001 /bin\n" >'"$w"'/ctx/Dockerfile.chown
  "$HOIST" build --build-context bb=oci-layout://'"$w"'/bb:bb:latest -f '"$w"'/ctx/Dockerfile.chown '"$w"'/ctx \
    >'"$w"'/chown.log 2>&1
  echo "chown exit $?"
' >"$tmp/single.log" 2>&1
expect_eq "$(grep -c '^chown exit 1$' "$tmp/single.log")" 1 "as $single (no range): a RUN builds, and a chown to 1001 fails"
owners=$(python3 - "$w/made" "$HOIST_SRCDIR/tests/integration" <<'EOF'
import sys, tarfile
sys.path.insert(0, sys.argv[2])
import ocilayout
layout = sys.argv[1]
m = ocilayout.image_manifest(layout)[1]
with tarfile.open(layout + "/blobs/sha256/" + m["layers"][-1]["digest"][7:]) as t:
    print(" ".join(sorted("%s=%d:%d" % (e.name.rstrip("/"), e.uid, e.gid) for e in t.getmembers())))
EOF
)
expect_eq "$owners" "d/f=0:0 d=0:0 made=0:0" "as $single: the step's files are root's in the layer, not the host user's"
if grep -q "maps only container id 0.*usermod --add-subuids" "$w/chown.log" 2>/dev/null; then
  ok "as $single: the failed chown says how to get a range"
else not_ok "as $single: the failed chown says how to get a range" "$(cat "$tmp/single.log" "$w/chown.log" 2>&1 | tail -5)"; fi
expect_eq "$(stat -c %U "$w/made/index.json" 2>&1)" "$single" "as $single: the output belongs to the user"
leaked=$(find /tmp -maxdepth 1 -name 'hoist-build-*' -user "$single" 2>/dev/null | head -3)
expect_eq "$leaked" "" "as $single: no build directory is left in /tmp"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
