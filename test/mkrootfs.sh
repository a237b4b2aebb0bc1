#!/usr/bin/env bash
# mkrootfs.sh DIR: builds a minimal busybox root filesystem in DIR from
# Debian's static busybox (package busybox-static): bin/busybox, a symlink
# per applet, the usual mount points and a few users and groups the tests
# rely on. Idempotent; does nothing when DIR/bin/busybox is already the same
# file as /bin/busybox.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
	echo "mkrootfs.sh: $busybox not found: install busybox-static (test/deps.sh)" >&2
	exit 1
fi
if ! "$busybox" --list >/dev/null 2>&1; then
	echo "mkrootfs.sh: $busybox does not run" >&2
	exit 1
fi
# A dynamically linked busybox would need its libraries in the rootfs.
if LC_ALL=C head -c 4096 "$busybox" | LC_ALL=C grep -aq 'ld-linux'; then
	echo "mkrootfs.sh: $busybox is dynamically linked: install busybox-static" >&2
	exit 1
fi

if [ -f "$dir/bin/busybox" ] && [ -f "$dir/etc/group" ] && cmp -s "$busybox" "$dir/bin/busybox"; then
	exit 0
fi

mkdir -p "$dir"
chmod 0755 "$dir"
cd "$dir"
mkdir -p bin dev proc sys tmp etc root
chmod 0755 bin dev proc sys etc
chmod 1777 tmp
chmod 0700 root

install -m 0755 "$busybox" bin/busybox.new
mv -f bin/busybox.new bin/busybox
for applet in $(bin/busybox --list); do
	[ "$applet" = busybox ] && continue
	ln -sfn busybox "bin/$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
tty:x:5:
tester:x:1000:
extra:x:2000:
nogroup:x:65534:
GROUP
echo hako >etc/hostname
chmod 0644 etc/passwd etc/group etc/hostname
