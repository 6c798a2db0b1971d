# busybox_base DIR — the build context of a small base image made from
# Debian's busybox-static (one static binary, a whole userland): /bin with
# the applets the tests use, /etc/passwd and /etc/group with root, /tmp,
# and a Dockerfile that copies it all.  Sourced by the RUN tests.
busybox_base () {
  local dir=$1 t
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" || return 1
  cp /bin/busybox "$dir/bin/busybox" || return 1
  for t in sh ls cat echo mkdir rm ln chmod chown touch mv cp id adduser addgroup test true false sleep printf grep mount wc sed; do
    ln -s busybox "$dir/bin/$t" || return 1
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
  printf 'root:x:0:\n' >"$dir/etc/group"
  printf 'FROM scratch\nCOPY . /\nENV PATH=/bin\nCMD ["/bin/sh"]\n' >"$dir/Dockerfile"
}
