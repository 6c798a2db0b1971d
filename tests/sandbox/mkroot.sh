#!/bin/sh
# mkroot.sh ROOT [full|minimal] — a busybox root file system for
# tests/unit/test_sandbox.c, from Debian's busybox-static.
#
#   full     bin/ with busybox and a symlink per applet, etc/ (passwd,
#            empty resolv.conf and hosts), proc/, dev/, root/, tmp/ (1777),
#            and bin/sysprobe (tests/sandbox/sysprobe.c built static) when
#            gcc and a static libc are installed
#   minimal  bin/ only: the sandbox must make its mount points, and remove
#            them again
set -eu

root=$1
kind=${2:-full}
busybox=${BUSYBOX:-/bin/busybox}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$root/bin"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	case $applet in
	busybox | */*) ;;
	*) ln -sf busybox "$root/bin/$applet" ;;
	esac
done
[ "$kind" = minimal ] && exit 0

mkdir -p "$root/etc" "$root/proc" "$root/dev" "$root/root" "$root/tmp"
chmod 1777 "$root/tmp"
: >"$root/etc/resolv.conf"
: >"$root/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"

if command -v gcc >/dev/null 2>&1; then
	libc=/usr/lib/$(gcc -print-multiarch 2>/dev/null)/libc.a
	if [ -e "$libc" ] && ! gcc -static -O1 -o "$root/bin/sysprobe" "$here/sysprobe.c"; then
		echo "mkroot.sh: sysprobe not built: its tests will skip" >&2
	fi
fi
