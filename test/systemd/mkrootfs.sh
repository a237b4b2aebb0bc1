#!/usr/bin/env bash
# mkrootfs.sh: prints the path of a Debian bookworm root filesystem with
# systemd, D-Bus (system and user bus), logind and uidmap, and a user
# `tester` (uid 1001) with subordinate ids; builds it with debootstrap the
# first time (about 80 s and 300 MB) and keeps it under
# $HAKO_TEST_CACHE (default /var/cache/hako-test), keyed by a hash of the
# suite, the package list, the masked units and $recipe (bump it when the
# set-up below changes), so that such a change builds a new one (older
# ones are then removed).
#
# The Debian mirror is the first one of /etc/apt/sources.list.d/*.sources
# or /etc/apt/sources.list that serves bookworm (or $DEBIAN_MIRROR). The
# rootfs is never booted read-write: run.sh puts an overlay on it.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "mkrootfs.sh: must run as root" >&2
	exit 1
fi
cache=${HAKO_TEST_CACHE:-/var/cache/hako-test}
suite=bookworm
packages=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,uidmap,procps
# Units that would reach out of the container into the host (kernel
# settings, modules, binfmt) or wait for hardware: masked, never run here.
masked=(systemd-sysctl.service systemd-modules-load.service systemd-udevd.service
	systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
	systemd-binfmt.service proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount
	sys-kernel-tracing.mount sys-kernel-config.mount dev-hugepages.mount
	systemd-random-seed.service getty@tty1.service console-getty.service
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer)
recipe=2
key=$(echo "$suite|$packages|${masked[*]}|$recipe" | sha256sum | cut -c1-12)
dest=$cache/systemd-rootfs-$key

if [ -f "$dest/.hako-complete" ]; then
	echo "$dest"
	exit 0
fi

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if ! command -v debootstrap >/dev/null; then
	echo "mkrootfs.sh: installing debootstrap" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

# mirror: the URI of the first apt source that serves $suite.
mirror() {
	local f uri
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas: URIs: and Suites: in the same paragraph.
		uri=$(awk -v s="$suite" '
			/^[[:space:]]*$/ { if (u != "" && ok) { print u; exit } u = ""; ok = 0; next }
			tolower($1) == "uris:" { u = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			END { if (u != "" && ok) print u }' "$f" | head -n1)
		if [ -n "$uri" ]; then
			echo "$uri"
			return
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == s) { print $i; exit } }' "$f")
		if [ -n "$uri" ]; then
			echo "$uri"
			return
		fi
	done
	echo "mkrootfs.sh: no apt source for $suite in /etc/apt (set DEBIAN_MIRROR)" >&2
	return 1
}
url=$(mirror)

mkdir -p "$cache"
exec 9>"$cache/.systemd-rootfs.lock"
flock 9
if [ -f "$dest/.hako-complete" ]; then # built meanwhile
	echo "$dest"
	exit 0
fi
tmp=$(mktemp -d "$cache/.systemd-rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"

echo "mkrootfs.sh: debootstrap $suite ($packages), about 80 s" >&2
keyring=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
log=$tmp.log
trap 'rm -rf "$tmp" "$log"' EXIT
# In a mount namespace of its own: the mounts debootstrap makes in the
# target (proc, sys) cannot outlive an interrupted run. The log is not
# kept, and the mirror's address is not repeated in what is printed.
start=$(date +%s)
if ! unshare --mount --propagation private \
	debootstrap --variant=minbase --include="$packages" "${keyring[@]}" "$suite" "$tmp" "$url" >"$log" 2>&1; then
	echo "mkrootfs.sh: debootstrap failed; its last lines:" >&2
	tail -n 15 "$log" | sed "s#$url#<mirror>#g" >&2
	exit 1
fi
echo "mkrootfs.sh: debootstrap took $(($(date +%s) - start)) s" >&2
# The rootfs does not need, and does not keep, the mirror's address.
printf '# emptied by hako test/systemd/mkrootfs.sh\n' >"$tmp/etc/apt/sources.list"
rm -f "$tmp/var/log/bootstrap.log"

in_root() { unshare --mount --propagation private chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root useradd -m -u 1001 -s /bin/bash tester
grep -q '^tester:' "$tmp/etc/subuid" 2>/dev/null || echo 'tester:100000:65536' >>"$tmp/etc/subuid"
grep -q '^tester:' "$tmp/etc/subgid" 2>/dev/null || echo 'tester:100000:65536' >>"$tmp/etc/subgid"
in_root passwd -d root >/dev/null
echo hako-systemd >"$tmp/etc/hostname"
# A new machine id at every boot (the overlay makes it transient).
: >"$tmp/etc/machine-id"
for u in "${masked[@]}"; do
	ln -sfn /dev/null "$tmp/etc/systemd/system/$u"
done
rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
touch "$tmp/.hako-complete"
rm -f "$log"

# Older rootfs of this tier (another key) are replaced by this one.
for old in "$cache"/systemd-rootfs-*; do
	[ -d "$old" ] && [ "$old" != "$dest" ] && rm -rf "$old"
done
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
