#!/usr/bin/env bash
# test/vm/run.sh: hako's VM tier. Runs the checks that need every cgroup v2
# controller (memory, pids, cpu limits, OOM events, update, rootless limits
# in a systemd-delegated subtree) in a Debian 12 VM under QEMU, since the
# host's unified hierarchy has none of them (see /work/shared/MACHINE.md).
# Run as root; idempotent.
#
#   test/vm/run.sh                 build or reuse the image, boot, test
#   HAKO_VM_TIMEOUT=1200 test/vm/run.sh
#   HAKO_VM_TESTS=FILE test/vm/run.sh   run FILE in the VM instead of
#                                  test/vm/tests.sh (debugging)
#
# 1. The image (cached in $HAKO_VM_CACHE, default /var/cache/hako-vm, under
#    a hash of the package list, the kernel package and version, the
#    initramfs modules, provision.sh, the files in test/vm/image/ and the
#    build functions below): debootstrap --variant=minbase of bookworm with
#    systemd, provision.sh --image (user tester, uid 1001, subordinate ids,
#    lingering, user@.service delegating cpu cpuset io memory pids), the
#    Debian 6.1 kernel from its package (apt-get download, dpkg -x, its
#    modules in the image), a busybox initramfs that loads virtio and ext4
#    and switch_roots to systemd, and a 4 GiB ext4 disk made with
#    mkfs.ext4 -d. The disk is booted with snapshot=on: it never changes.
# 2. The share (a temporary directory, 9p tag hostshare): bin/hako from
#    `make build`, the busybox rootfs of test/mkrootfs.sh, tests.sh.
# 3. The boot: QEMU with TCG (no KVM here), 2 CPUs, 2 GiB, no network. In
#    the guest, hako-vm-tests.service (test/vm/image/) runs tests.sh once
#    the system is up, with its output on the second serial port, a file
#    here that this script prints as it grows, then powers off. The VM is
#    killed (by its pid) after $HAKO_VM_TIMEOUT seconds (default 900).
#
# The output is one line per check (PASS/FAIL) and a last line
# "N passed, M failed"; the exit status is non-zero iff M > 0 (a VM that
# does not finish counts as one failure more). The last run's serial logs
# stay in $HAKO_VM_CACHE/last-run/. Temporary directories and QEMU are
# cleaned up on every exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HAKO_VM_CACHE:-/var/cache/hako-vm}
timeout=${HAKO_VM_TIMEOUT:-900}
tests=${HAKO_VM_TESTS:-$here/tests.sh}
suite=bookworm
user=tester

# The image's packages (debootstrap --include). No Go: the tests run the
# static bin/hako and busybox. kmod for depmod and modprobe (9p), udev for
# the device modules, jq for the tests; podman (with conmon, catatonit and
# netavark, which it looks for even with --network none) as a client of
# hako with the systemd cgroup manager.
image_packages=(systemd systemd-sysv dbus dbus-user-session libpam-systemd uidmap
	procps iproute2 busybox-static kmod udev jq
	podman conmon catatonit netavark)
# What the initramfs loads to mount /dev/vda (with their dependencies from
# modules.dep; the ones built into the kernel are skipped).
initramfs_modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci virtio_blk crc32c_generic crc16 mbcache jbd2 ext4)
host_packages=(qemu-system-x86 debootstrap busybox-static e2fsprogs)

log() { printf 'hako-vm: %s\n' "$*" >&2; }
# die reports a failure of the tier itself (no check ran) in the summary's
# form, so a caller that only reads the last line sees it.
die() {
	log "ERROR: $*"
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root"

# Temporary state, removed on exit; qemu is killed by its pid.
share="" build_tmp="" run_dir="" qpid="" bpid=""
# kill_tree PID: PID and every process below it (stopped first, so that it
# starts no new ones meanwhile).
kill_tree() {
	local c
	kill -STOP "$1" 2>/dev/null || return 0
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null || true
	kill -CONT "$1" 2>/dev/null || true
}
# remove_build DIR: an image build's directory. debootstrap may have died
# with proc, sys or dev still mounted in its target: unmount whatever is
# mounted below DIR first, and never cross into another file system.
remove_build() {
	local m
	for m in $(awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$1"
}
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		for _ in 1 2 3 4 5; do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
		kill -9 "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	qpid=""
	if [ -n "$bpid" ]; then
		kill_tree "$bpid"
		wait "$bpid" 2>/dev/null || true
		sleep 1
	fi
	[ -z "$build_tmp" ] || remove_build "$build_tmp"
	[ -z "$share" ] || rm -rf "$share"
	[ -z "$run_dir" ] || rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- host tools ----------------------------------------------------------

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }
missing=()
for p in "${host_packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi

# The Debian mirror the machine's apt uses (never written anywhere).
mirror() {
	local m
	m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $1; exit}')
	[ -n "$m" ] || m=$(awk -v s="$suite" '$1=="deb" && $3==s {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	echo "$m"
}

# The current Debian 6.1 kernel: what linux-image-amd64 depends on, else
# the highest ABI number.
kernel_package() {
	local p
	p=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1=="Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ {print $2; exit}')
	[ -n "$p" ] || p=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -n1)
	echo "$p"
}
kpkg=$(kernel_package)
if [ -z "$kpkg" ]; then
	apt-get update -qq >&2
	kpkg=$(kernel_package)
fi
[ -n "$kpkg" ] || die "no linux-image-6.1.0-N-amd64 package in the apt lists"
kver=$(apt-cache show --no-all-versions "$kpkg" | awk '/^Version:/ {print $2; exit}')
kabi=${kpkg#linux-image-}

# --- the image -------------------------------------------------------------

# make_initramfs ROOTFS OUT: a gzip'd newc cpio with the image's static
# busybox, test/vm/image/init and the modules of initramfs_modules.
make_initramfs() {
	local rootfs=$1 out=$2 dir moddir list=() m
	moddir=$rootfs/lib/modules/$kabi
	dir=$(mktemp -d "$build_tmp/initramfs.XXXXXX")
	mkdir -p "$dir/bin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/newroot" "$dir/lib/modules"
	install -m 0755 "$rootfs/bin/busybox" "$dir/bin/busybox"
	install -m 0755 "$here/image/init" "$dir/init"
	# add PATH: a module (path relative to moddir) after its dependencies.
	add() {
		local p=$1 deps d i
		for d in "${list[@]}"; do [ "$d" != "$p" ] || return 0; done
		deps=$(awk -v p="$p:" '$1==p {$1=""; print; exit}' "$moddir/modules.dep")
		read -r -a deps <<<"$deps"
		# modprobe loads a dependency list from its end.
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add "${deps[i]}"; done
		list+=("$p")
	}
	for m in "${initramfs_modules[@]}"; do
		local path
		path=$(awk -F: -v m="$m" '{n=$1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n)} n==m {print $1; exit}' "$moddir/modules.dep")
		if [ -z "$path" ]; then
			grep -Eq "/$m\.ko$" "$moddir/modules.builtin" || die "module $m: neither in modules.dep nor built into $kabi"
			continue
		fi
		add "$path"
	done
	: >"$dir/modules"
	for m in "${list[@]}"; do
		local base=${m##*/}
		case $base in
		*.ko) cp "$moddir/$m" "$dir/lib/modules/$base" ;;
		*.ko.xz) xz -dc "$moddir/$m" >"$dir/lib/modules/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$moddir/$m" >"$dir/lib/modules/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$moddir/$m" >"$dir/lib/modules/${base%.gz}"; base=${base%.gz} ;;
		*) die "module $m: unknown compression" ;;
		esac
		echo "$base" >>"$dir/modules"
	done
	(cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$out"
	log "initramfs: $(tr '\n' ' ' <"$dir/modules")"
}

# build_image OUT: the whole image into the empty directory OUT.
build_image() {
	local out=$1 rootfs=$build_tmp/rootfs kdir=$build_tmp/kernel deb unit src
	src=$(mirror)
	[ -n "$src" ] || die "cannot find the Debian mirror in the apt sources"
	log "debootstrap $suite (minbase, ${#image_packages[@]} extra packages)"
	# In the background: a signal to this script is handled at once
	# (bash runs traps only between foreground commands), and cleanup
	# stops debootstrap and its children.
	debootstrap --variant=minbase --include="$(IFS=,; echo "${image_packages[*]}")" \
		"$suite" "$rootfs" "$src" >"$build_tmp/debootstrap.log" 2>&1 &
	bpid=$!
	wait "$bpid" || { tail -n 20 "$build_tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	bpid=""

	log "kernel $kpkg $kver"
	(cd "$build_tmp" && apt-get download -q "$kpkg=$kver" >/dev/null 2>&1) || die "apt-get download $kpkg=$kver failed"
	deb=$(ls "$build_tmp/${kpkg}_"*.deb)
	dpkg -x "$deb" "$kdir"
	mkdir -p "$rootfs/lib/modules"
	cp -a "$kdir/lib/modules/$kabi" "$rootfs/lib/modules/"
	chroot "$rootfs" depmod -a "$kabi"
	install -m 0644 "$kdir/boot/vmlinuz-$kabi" "$out/vmlinuz"

	# The test user and the delegation, as on a Vagrant machine.
	install -m 0755 "$here/provision.sh" "$rootfs/tmp/provision.sh"
	chroot "$rootfs" /bin/bash /tmp/provision.sh --image "$user" >&2
	rm -f "$rootfs/tmp/provision.sh"

	# The test unit.
	install -m 0755 "$here/image/hako-vm-tests" "$rootfs/usr/local/sbin/hako-vm-tests"
	install -m 0644 "$here/image/hako-vm-tests.service" "$rootfs/etc/systemd/system/"
	mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
	ln -sfn ../hako-vm-tests.service "$rootfs/etc/systemd/system/multi-user.target.wants/hako-vm-tests.service"

	# A quiet, quick boot: a machine id (no first-boot units), a root
	# without password on the serial console, no timers, no e2scrub_reap
	# (9 s of CPU at boot), no getty on the absent screen.
	echo hako-vm >"$rootfs/etc/hostname"
	chroot "$rootfs" systemd-machine-id-setup >/dev/null 2>&1
	chroot "$rootfs" passwd -d root >/dev/null
	for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer systemd-timesyncd.service getty@tty1.service; do
		ln -sfn /dev/null "$rootfs/etc/systemd/system/$unit"
	done
	rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*

	make_initramfs "$rootfs" "$out/initrd.img"
	log "mkfs.ext4 -d (4G)"
	mkfs.ext4 -q -F -L hako-vm -d "$rootfs" "$out/disk.img" 4G >/dev/null || die "mkfs.ext4 failed"
	{
		echo "kernel: $kpkg $kver"
		echo "packages: ${image_packages[*]}"
		echo "built: $(date -u +%FT%TZ)"
	} >"$out/info"
}

mkdir -p "$cache"
chmod 0700 "$cache"
# One run at a time: a concurrent run would build the same image.
exec 9>"$cache/.lock"
flock 9
# What a killed build left (nobody else builds while we hold the lock).
for old in "$cache"/build.*; do
	[ ! -e "$old" ] || remove_build "$old"
done

key=$(
	{
		printf '%s\n' "${image_packages[@]}" "--" "$kpkg $kver" "--" "${initramfs_modules[@]}" "--"
		cat "$here/provision.sh" "$here/image/init" "$here/image/hako-vm-tests.service" "$here/image/hako-vm-tests"
		declare -f make_initramfs build_image
	} | sha256sum | cut -c1-16
)
image=$cache/image-$key
t0=$(date +%s)
if [ -f "$image/disk.img" ] && [ -f "$image/vmlinuz" ] && [ -f "$image/initrd.img" ]; then
	log "image $key cached ($kpkg $kver)"
	image_time=0
else
	log "building image $key in $cache"
	build_tmp=$(mktemp -d "$cache/build.XXXXXX")
	mkdir "$build_tmp/out"
	build_image "$build_tmp/out"
	rm -rf "$image"
	mv "$build_tmp/out" "$image"
	remove_build "$build_tmp"
	build_tmp=""
	# Older images are of no use any more.
	for old in "$cache"/image-*; do
		[ "$old" = "$image" ] || rm -rf "$old"
	done
	image_time=$(($(date +%s) - t0))
	log "image built in ${image_time}s ($(du -sh --apparent-size "$image/disk.img" | cut -f1) disk, $(du -sh "$image/disk.img" | cut -f1) used)"
fi

# --- the share -------------------------------------------------------------

t1=$(date +%s)
export PATH=/usr/local/go/bin:$PATH
make -C "$repo" build >&2 || die "make build failed"
share=$(mktemp -d /tmp/hako-vm-share.XXXXXX)
chmod 0755 "$share"
install -m 0755 "$repo/bin/hako" "$share/hako"
"$repo/test/mkrootfs.sh" "$share/rootfs" || die "test/mkrootfs.sh failed"
install -m 0755 "$tests" "$share/tests.sh"
# The guest stops the tests a little before the host stops the VM, so a
# hang still ends with results.
echo $((timeout > 120 ? timeout - 60 : timeout)) >"$share/timeout"

# --- the boot --------------------------------------------------------------

run_dir=$(mktemp -d /tmp/hako-vm-run.XXXXXX)
results=$run_dir/results.log
console=$run_dir/console.log
: >"$results"
log "booting (timeout ${timeout}s)"
t2=$(date +%s)
# snapshot=on keeps the disk's changes in a temporary file: in run_dir.
TMPDIR=$run_dir qemu-system-x86_64 -accel tcg -m 2G -smp 2 \
	-display none -monitor none -no-reboot -nic none \
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw cgroup_no_v1=all quiet panic=-1" \
	-drive "file=$image/disk.img,format=raw,if=virtio,snapshot=on" \
	-virtfs "local,path=$share,mount_tag=hostshare,security_model=none" \
	-serial "file:$console" -serial "file:$results" \
	</dev/null >"$run_dir/qemu.log" 2>&1 &
qpid=$!

# Print the results as they come (complete lines only).
printed=0
print_new() {
	local n
	n=$(wc -l <"$results")
	if [ "$n" -gt "$printed" ]; then
		sed -n "$((printed + 1)),${n}p" "$results" | tr -d '\r'
		printed=$n
	fi
}
timed_out=false
while kill -0 "$qpid" 2>/dev/null; do
	if [ $(($(date +%s) - t2)) -ge "$timeout" ]; then
		timed_out=true
		log "timeout: the VM ran ${timeout}s, killing qemu (pid $qpid)"
		kill "$qpid" 2>/dev/null || true
		sleep 2
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
	print_new
	sleep 1
done
qrc=0
wait "$qpid" || qrc=$?
qpid=""
print_new
t3=$(date +%s)

mkdir -p "$cache/last-run"
tr -d '\r' <"$console" >"$cache/last-run/console.log"
tr -d '\r' <"$results" >"$cache/last-run/results.log"
cp "$run_dir/qemu.log" "$cache/last-run/qemu.log"

# --- the summary -------------------------------------------------------------

out=$(tr -d '\r' <"$results")
passed=$(grep -c '^PASS' <<<"$out" || true)
failed=$(grep -c '^FAIL' <<<"$out" || true)
if ! grep -q '^hako-vm: end$' <<<"$out" || ! grep -Eq '^[0-9]+ passed, [0-9]+ failed' <<<"$out"; then
	failed=$((failed + 1))
	if $timed_out; then
		echo "FAIL vm: the VM did not finish within ${timeout}s"
	else
		echo "FAIL vm: the VM stopped before the tests finished (qemu exit status $qrc)"
	fi
	log "last lines of the console ($cache/last-run/console.log):"
	tail -n 30 "$cache/last-run/console.log" | sed 's/^/  | /' >&2
	grep -v '^$' "$run_dir/qemu.log" | sed 's/^/  qemu: /' >&2 || true
fi
log "times: image $([ "$image_time" = 0 ] && echo cached || echo "built in ${image_time}s"), build and share $((t2 - t1))s, boot and tests $((t3 - t2))s, total $((t3 - t0))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
